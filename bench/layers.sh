#!/bin/sh
# Layer commit and apply, side by side with tar | zstd -3, tar | gzip -6 and
# tar -xf, in one run on the same generated tree (page cache warm: each
# command runs once untimed first, then the best of RUNS timed runs).
#   bench/layers.sh [BUILDDIR]     (BUILDDIR: where `make check` built
#                                   tests/unit/layers/layer-tool; default .)
# Environment: NFILES (20000), BYTES (200 MB), BIG_BYTES (2 GiB; 0 skips the
# peak-RSS run), MANY (100000 empty files: the applier's peak RSS must not
# grow with the number of entries; 0 skips), RUNS (3), WORK (a temp dir).
# Prints wall seconds, CPU seconds (user+system, children included), ratios
# bale/peer (at most 1.0 is the goal) and peak RSS in MiB (GNU time). On a
# busy machine wall times swing a lot between runs; CPU times do not.
set -eu
B=${1:-.}
TOOL=$(cd "$B" && pwd)/tests/unit/layers/layer-tool
[ -x "$TOOL" ] || { echo "build $TOOL first (make check)" >&2; exit 1; }
NFILES=${NFILES:-20000}
BYTES=${BYTES:-200000000}
BIG_BYTES=${BIG_BYTES:-2147483648}
MANY=${MANY:-100000}
RUNS=${RUNS:-3}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/var/tmp}/layers-bench.XXXXXX")}
trap 'rm -rf "$WORK"' EXIT
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }

# best wall time and its peak RSS over RUNS runs of "$@": sets T and M.
# $PRE (if set) runs untimed before each run.
best() {
	${PRE:+sh -c "$PRE"}
	"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
	T=999999; M=0; C=0
	i=0
	while [ $i -lt "$RUNS" ]; do
		${PRE:+sh -c "$PRE"}
		$TIME -f '%e %M %U %S' -o "$WORK/t" "$@" >/dev/null 2>&1
		read -r t m u s <"$WORK/t"
		if awk "BEGIN{exit !($t < $T)}"; then T=$t; M=$m; C=$(awk "BEGIN{print $u + $s}"); fi
		i=$((i + 1))
	done
}
ratio() { awk "BEGIN{printf \"%.2f\", $1 / $2}"; }
mib() { awk "BEGIN{printf \"%.1f\", $1 / 1024}"; }
row() { printf '%-34s %8ss wall %8ss cpu %8s MiB\n' "$1" "$2" "$4" "$(mib "$3")"; }

echo "tree: $NFILES files, $BYTES bytes; $(nproc) CPUs; best of $RUNS"
"$TOOL" gen "$WORK/tree" "$NFILES" "$BYTES"
cd "$WORK"

best sh -c "tar --sort=name -cf - tree | zstd -3 -q -c >peer.tar.zst"
PZ=$T; PZC=$C; row "tar --sort=name | zstd -3" "$T" "$M" "$C"
best "$TOOL" write tree bale.tar.zst zstd
BZ=$T; BZC=$C; row "bale layer (zstd 3)" "$T" "$M" "$C"
best sh -c "tar --sort=name -cf - tree | gzip -6 -c >peer.tar.gz"
PG=$T; PGC=$C; row "tar --sort=name | gzip -6" "$T" "$M" "$C"
best "$TOOL" write tree bale.tar.gz gzip
BG=$T; BGC=$C; row "bale layer (gzip 6)" "$T" "$M" "$C"
# Each apply goes into a new directory, all removed at the end: ext4 skips
# inodes freed in the last 30 s or so when it allocates new ones, so
# extracting right after removing the previous tree measures that scan
# (seconds of system time) more than the extraction.
best sh -c 'd=$(mktemp -d "$0/x.XXXXXX") && tar -xf peer.tar.zst -C "$d"' "$WORK"
PA=$T; PAC=$C; row "tar -xf (zstd layer)" "$T" "$M" "$C"
best sh -c 'd=$(mktemp -u "$0/y.XXXXXX") && "$1" apply bale.tar.zst "$d"' "$WORK" "$TOOL"
BA=$T; BAC=$C; row "bale apply (zstd layer)" "$T" "$M" "$C"
echo "sizes: peer zstd $(stat -c %s peer.tar.zst) bale zstd $(stat -c %s bale.tar.zst)" \
	"peer gzip $(stat -c %s peer.tar.gz) bale gzip $(stat -c %s bale.tar.gz)"
echo "ratios (bale / peer): commit zstd $(ratio "$BZ" "$PZ"), commit gzip $(ratio "$BG" "$PG")," \
	"apply $(ratio "$BA" "$PA")"
echo "cpu ratios (bale / peer): commit zstd $(ratio "$BZC" "$PZC"), commit gzip $(ratio "$BGC" "$PGC")," \
	"apply $(ratio "$BAC" "$PAC")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf tree "$WORK"/x.* "$WORK"/y.* peer.* bale.*

if [ "$BIG_BYTES" -gt 0 ]; then
	"$TOOL" gen big 200 "$BIG_BYTES"
	RUNS=1
	best "$TOOL" write big big.tar.zst zstd
	row "bale layer 2 GiB (zstd): peak RSS" "$T" "$M" "$C"
	PRE="rm -rf bigx" best "$TOOL" apply big.tar.zst bigx
	row "bale apply 2 GiB (zstd): peak RSS" "$T" "$M" "$C"
fi

if [ "$MANY" -gt 0 ]; then
	"$TOOL" gen many "$MANY" 1
	"$TOOL" write many many.tar none >/dev/null
	rm -rf many
	RUNS=1
	PRE="rm -rf manyx" best "$TOOL" apply many.tar manyx
	row "bale apply $MANY entries: peak RSS" "$T" "$M" "$C"
	rm -rf manyx many.tar
fi
