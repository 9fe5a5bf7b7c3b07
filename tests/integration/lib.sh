# TAP helpers for integration tests: source this, call the checks, end with
# `done_testing`. Every test runs the real binary ($BALE) in a private temp
# directory that is removed on exit.
set -u

: "${BALE:?BALE must point to the bale binary (make check sets it)}"
T_COUNT=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bale-it.XXXXXX")
trap 'rm -rf "$T_TMP"' EXIT

t_ok() { # t_ok STATUS DESCRIPTION
	T_COUNT=$((T_COUNT + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_COUNT - $2"
	else
		T_FAILED=$((T_FAILED + 1))
		echo "not ok $T_COUNT - $2"
	fi
}

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# run CMD...: run a command capturing stdout, stderr and exit status into
# $T_OUT, $T_ERR and $T_RC.
run() {
	"$@" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
	T_OUT=$(cat "$T_TMP/out")
	T_ERR=$(cat "$T_TMP/err")
}

is() { # is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then t_ok 0 "$3"; else
		t_ok 1 "$3"; diag "got:  '$1'" "want: '$2'"; fi
}

like() { # like TEXT PATTERN(grep -E) DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then t_ok 0 "$3"; else
		t_ok 1 "$3"; diag "text: '$1'" "does not match: '$2'"; fi
}

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

done_testing() {
	echo "1..$T_COUNT"
	[ "$T_FAILED" -eq 0 ]
}
