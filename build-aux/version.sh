#!/bin/sh
# Print bale's version for AC_INIT, without a newline.
#
# In a git checkout the version is what the newest v* tag gives:
# `v0.2.0` on the tagged commit prints 0.2.0; 14 commits later it prints
# 0.2.0-14-g<commit>, with -dirty when the work tree has changes. A dist
# tarball has no .git: it carries the version in .tarball-version (written
# by `make dist`). A clone without tags (a shallow CI clone) falls back to
# the newest release named in CHANGELOG.md plus -untagged-g<commit>, so the
# version never claims a release it is not.
set -eu
cd "$(dirname "$0")/.."

if [ -f .tarball-version ]; then
	version=$(cat .tarball-version)
elif version=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
	version=${version#v}
else
	release=$(sed -n 's/^## \[\{0,1\}\([0-9][0-9.]*\)\]\{0,1\}.*/\1/p' CHANGELOG.md 2>/dev/null | head -n 1)
	commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
	version=${release:-0.0.0}-untagged-g$commit
fi
printf '%s' "$version"
