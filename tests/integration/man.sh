#!/bin/sh
# The man pages: one per command `bale --help` lists, plus bale(1) and
# bale-registry.yml(5); each formats without a groff warning; `bale help
# CMD` and `bale CMD --help` print the same text.
. "$top_srcdir/tests/integration/lib.sh"

command -v groff >/dev/null 2>&1 || skip_all "groff is not installed (Debian package groff-base)"

# A page built here (from git) or shipped in the tarball (srcdir).
page() {
	if [ -f "$top_builddir/man/$1" ]; then echo "$top_builddir/man/$1"; else echo "$top_srcdir/man/$1"; fi
}

run "$BALE" --help
cmds=$(printf '%s\n' "$T_OUT" | sed -n '/^Commands:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
is "$(printf '%s\n' "$cmds" | wc -l | tr -d ' ')" "$(ls "$top_srcdir"/man/bale-*.1.scd | wc -l | tr -d ' ')" \
	"bale --help lists as many commands as man/ has command pages"

pages="bale.1 bale-registry.yml.5"
for c in $cmds; do
	pages="$pages bale-$c.1"
	run "$BALE" help "$c"
	help_rc=$T_RC help_out=$T_OUT
	run "$BALE" "$c" --help
	is "$help_rc/$T_RC" "0/0" "bale help $c and bale $c --help exit 0"
	is "$T_OUT" "$help_out" "bale help $c is bale $c --help"
	like "$T_OUT" "^usage: bale $c" "bale $c --help starts with its usage"
	run "$BALE" "$c" -h
	is "$T_OUT" "$help_out" "bale $c -h is the same"
done

for p in $pages; do
	f=$(page "$p")
	test -s "$f"; t_ok $? "$p exists"
	warnings=$(LC_ALL=C.UTF-8 groff -man -ww -z "$f" 2>&1)
	is "$warnings" "" "$p formats without warnings"
	name=${p%.*}
	sec=${p##*.}
	like "$(sed -n '/^\.TH/p' "$f")" "^\.TH \"$name\" \"$sec\"" "$p has its name and section in .TH"
done

# The text of a page is its NAME summary in bale --help, and its options.
run "$BALE" --help
like "$T_OUT" "  build +build an image from a Containerfile" "bale --help takes summaries from NAME"
run "$BALE" help build
like "$T_OUT" "^  --no-cache$" "an option line is indented by two spaces"
like "$T_OUT" "^      Run every step, ignoring cache hits\.$" "its description by six"
like "$T_OUT" "^EXAMPLES$" "headings at column 0"

done_testing
