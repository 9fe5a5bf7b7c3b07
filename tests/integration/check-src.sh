#!/bin/sh
# make check-src: the tree is clean, and a banned call is caught with its
# file and line while the same name in a comment is not.
. "$top_srcdir/tests/integration/lib.sh"

run sh "$top_srcdir/build-aux/check-src" "$top_srcdir"
is "$T_RC" 0 "the source tree uses no banned function"
like "$T_OUT" "files clean" "and says how many files it read"

mkdir -p "$T_TMP/tree/common"
cat >"$T_TMP/tree/common/bad.c" <<'EOC'
void f(char *b, const char *s)
{
	/* strcpy(b, s) would overflow: not a call */
	sprintf(b, "%s", s);
	int n = atoi(s);
	(void)n;
}
EOC
run sh "$top_srcdir/build-aux/check-src" "$T_TMP/tree"
is "$T_RC" 1 "a banned call fails the check"
like "$T_OUT" "common/bad.c:4:" "sprintf is reported with file and line"
like "$T_OUT" "common/bad.c:5:" "atoi is reported with file and line"
case "$T_OUT" in *"bad.c:3:"*) t_ok 1 "a banned name inside a comment is not reported" ;;
*) t_ok 0 "a banned name inside a comment is not reported" ;; esac

done_testing
