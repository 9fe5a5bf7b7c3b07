#!/bin/sh
# build-aux/version.sh: the version AC_INIT takes is what the newest v* tag
# gives, in a throwaway repository holding the script and a CHANGELOG.md.
. "$top_srcdir/tests/integration/lib.sh"

command -v git >/dev/null || skip_all "git is not installed"

repo="$T_TMP/repo"
mkdir -p "$repo/build-aux"
cp "$top_srcdir/build-aux/version.sh" "$repo/build-aux/"
printf '# Changelog\n\n## [Unreleased]\n\n## [2.3.0] - 2026-01-02\n\n## [2.2.9] - 2025-12-01\n' \
	>"$repo/CHANGELOG.md"
g() { git -C "$repo" -c user.name=t -c user.email=t@example.invalid "$@" >/dev/null 2>&1; }
g init -q
g add -A
g commit -q -m one
head=$(git -C "$repo" rev-parse --short=12 HEAD)

run "$repo/build-aux/version.sh"
is "$T_OUT" "2.3.0-untagged-g$head" "no tag: CHANGELOG's newest release, marked untagged"

g tag -a v2.3.0 -m 2.3.0
run "$repo/build-aux/version.sh"
is "$T_OUT" "2.3.0" "on the tagged commit: the tag without its v"

g tag other-tag
echo x >"$repo/file"
g add file
g commit -q -m two
head=$(git -C "$repo" rev-parse --short HEAD)
run "$repo/build-aux/version.sh"
like "$T_OUT" "^2\.3\.0-1-g[0-9a-f]{7,}$" "one commit later: tag, count and commit"
case "$T_OUT" in *"$head"*) t_ok 0 "names the current commit" ;; *) t_ok 1 "names the current commit" ;; esac

echo y >"$repo/file"
run "$repo/build-aux/version.sh"
like "$T_OUT" "^2\.3\.0-1-g[0-9a-f]+-dirty$" "uncommitted changes: -dirty"

printf '9.9.9\n' >"$repo/.tarball-version"
run "$repo/build-aux/version.sh"
is "$T_OUT" "9.9.9" "a tarball's .tarball-version wins"

run "$BALE" version --short
version=$T_OUT
run "$BALE" version
like "$T_OUT" "^bale $version" "bale version names the same version as --short"

done_testing
