#!/bin/sh
# bale parse through the real binary: the case files of testdata/parser,
# exit codes, error format, --expand/--expand-words, stdin.
. "$top_srcdir/tests/integration/lib.sh"

cases="$top_srcdir/testdata/parser/cases"
n_ok=0
n_err=0
for dir in "$cases"/*/; do
	name=$(basename "$dir")
	run "$BALE" parse -f "$dir/Containerfile"
	if [ -f "$dir/expected.json" ]; then
		if [ "$T_RC" -eq 0 ] && printf '%s\n' "$T_OUT" | cmp -s - "$dir/expected.json"; then
			n_ok=$((n_ok + 1))
		else
			t_ok 1 "$name: output is expected.json"
			diag "rc=$T_RC $T_ERR"
		fi
	else
		want="bale: $dir/Containerfile${T_ERR#bale: *Containerfile}"
		if [ "$T_RC" -eq 1 ] && [ "$T_ERR" = "bale: $dir/Containerfile:$(cut -d: -f2- "$dir/error.txt")" ]; then
			n_err=$((n_err + 1))
		else
			t_ok 1 "$name: fails as error.txt"
			diag "rc=$T_RC got: $T_ERR" "want: $(cat "$dir/error.txt")"
		fi
	fi
done
t_ok 0 "$n_ok cases parse to their expected.json"
t_ok 0 "$n_err cases fail with exit 1 and their error.txt"

printf 'FROM alpine\nRUN true\n' >"$T_TMP/Containerfile"
cd "$T_TMP" || exit 1
run "$BALE" parse
is "$T_RC" 0 "Containerfile in the current directory by default"
like "$T_OUT" '"instruction": "RUN"' "JSON by default"
run sh -c "printf 'FROM a\nCMD x\n' | '$BALE' parse -f - --format text"
is "$T_OUT" '(from "a")
(cmd "x")' "stdin and the text format"
run sh -c "printf 'FROM a\nONBUILD FOO bar\n' | '$BALE' parse -f - --format text"
is "$T_OUT" '(from "a")
(onbuild (foo ""))' "an unknown ONBUILD trigger dumps as BuildKit's (its arguments dropped)"
run "$BALE" parse -f missing
is "$T_RC" 1 "a missing file fails"
like "$T_ERR" "^bale: cannot open 'missing'" "and says why"
run "$BALE" parse --format yaml
is "$T_RC" 2 "an unknown format is a usage error"
run "$BALE" parse --bogus
is "$T_RC" 2 "an unknown option is a usage error"
printf 'FROM a\nRUN <<EOF\nx\n' >bad
run "$BALE" parse -f bad
is "$T_RC" 1 "a parse error exits 1"
is "$T_ERR" "bale: bad:2:1: unterminated heredoc" "as FILE:LINE:COL: message"

run "$BALE" parse --expand '${A:-x}/$B' --env B=b
is "$T_OUT" '{"value": "x/b"}' "--expand prints the value"
run "$BALE" parse --expand-words 'a "b c" $W' --env 'W=d e'
is "$T_OUT" '{"words": ["a", "b c", "d", "e"]}' "--expand-words prints the words"
run "$BALE" parse --expand '${X:?is required}'
is "$T_RC" 1 "an expansion error exits 1"
like "$T_ERR" 'X: is required' "with the message"
run "$BALE" parse --expand '"open'
is "$T_RC" 1 "an unterminated quote exits 1"
run "$BALE" parse --expand 'a`$b' --escape '`' --env b=B
is "$T_OUT" '{"value": "a$b"}' "--escape sets the escape character"
run "$BALE" parse --help
like "$T_OUT" "^usage: bale parse" "--help"
done_testing
