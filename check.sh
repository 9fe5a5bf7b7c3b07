#!/bin/sh
# Second command of the README (and what .ci/run calls): build bale with
# -Werror and ASan+UBSan in _build/check and run the whole test suite, then
# print one line `N passed, N failed, N skipped` counted from the TAP results.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
build="$src/_build/check"
jobs=$(nproc 2>/dev/null || echo 2)

cd "$src"
[ -x configure ] || autoreconf -fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
	"$src/configure" --enable-werror --enable-sanitizers >configure.out ||
		{ cat configure.out; exit 1; }
fi
make -j"$jobs" >make.out 2>&1 || { tail -n 60 make.out; exit 1; }

status=0
make -j"$jobs" check >check.out 2>&1 || status=$?
grep -E '^(PASS|FAIL|XFAIL|XPASS|SKIP|ERROR):' check.out | grep -vE '^PASS:' || true

# Count individual TAP results from every test's .trs file.
passed=0 failed=0 skipped=0
for trs in $(find . -name '*.trs'); do
	while read -r _ result _; do
		case "$result" in
		PASS|XFAIL) passed=$((passed + 1)) ;;
		FAIL|XPASS|ERROR) failed=$((failed + 1)) ;;
		SKIP) skipped=$((skipped + 1)) ;;
		esac
	done <<EOT
$(grep '^:test-result:' "$trs")
EOT
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	# The harness itself failed (a crash before any TAP line, a build error).
	tail -n 40 check.out
	failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
