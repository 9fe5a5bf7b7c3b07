#!/bin/sh
# Parse a 1 MiB Containerfile: median time and peak memory of cf_parse()
# (bench/bench-parse), then `bale parse` end to end. Run from a build
# directory configured without sanitizers, e.g.
#   ../configure CFLAGS=-O2 && make bale bench/bench-parse && sh ../bench/bench-parse.sh
# Target: median under 20 ms, memory under 10x the input.
# BuildKit's parser is not measured side by side: that needs a Go toolchain.
set -eu
builddir=${builddir:-.}
size=${1:-1048576}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bale-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$builddir/bench/bench-parse" --generate "$size" -o "$tmp/Containerfile"
"$builddir/bench/bench-parse" -n 31 "$tmp/Containerfile"
if [ -x "$builddir/bale" ]; then
	for out in json text; do
		/usr/bin/time -f "bale parse --format $out: %e s wall, %M KiB max RSS" \
			"$builddir/bale" parse -f "$tmp/Containerfile" --format $out >/dev/null
	done
fi
