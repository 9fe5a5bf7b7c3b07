#!/bin/sh
# bale build vs buildah (Debian's), side by side on the same inputs:
#   small    a 5-step Containerfile (ENV, RUN, COPY, RUN)
#   multi    a three-stage build with COPY --from
#   copy20k  a 20,000-file / 200 MB COPY with a .dockerignore
#   run300   a RUN writing 300 MB, then a RUN deleting half and editing some
# For each: cold (no cache), fully cached rebuild, and (copy20k) a rebuild
# after touching one copied file's content. Prints medians of BENCH_RUNS runs
# (default 3), the ratios bale/buildah and peak RSS.
#   usage: bench/build.sh [BALE]   (default ./bale; run as root for buildah)
set -eu
BALE=${1:-./bale}
BALE=$(cd "$(dirname "$BALE")" && pwd)/$(basename "$BALE")
RUNS=${BENCH_RUNS:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /var/tmp/bale-bench.XXXXXX)
trap 'rm -rf "$W"; buildah rmi -f $(buildah images -q --filter reference=localhost/bench-* 2>/dev/null) >/dev/null 2>&1 || true' EXIT
command -v buildah >/dev/null || { echo "buildah missing (apt-get install buildah)"; exit 77; }
export BALE_ROOT="$W/bale-root"
# crun refuses cgroup v1 hybrid hosts (DESIGN.md): use runc when present.
if [ -z "${BUILDAH_ISOLATION+x}" ]; then
	BUILDAH_ISOLATION=
	command -v runc >/dev/null && BUILDAH_ISOLATION="--runtime $(command -v runc)"
fi

sh "$SRC/testdata/rootfs/make-busybox-rootfs.sh" "$W/rootfs" "$W/rootfs.tar" >/dev/null
"$BALE" import "$W/rootfs.tar" localhost/bench-base:1 >/dev/null
"$BALE" save -o "$W/base-oci.tar" --format oci-archive localhost/bench-base:1
id=$(buildah pull -q "oci-archive:$W/base-oci.tar")
buildah tag "$id" localhost/bench-base:1

mkdir -p "$W/small" "$W/multi" "$W/copy20k" "$W/run300"
echo app >"$W/small/app.txt"
cat >"$W/small/Containerfile" <<'E'
FROM localhost/bench-base:1
ENV APP=/app LEVEL=3
RUN mkdir -p /app && echo built > /app/stamp
COPY app.txt /app/
RUN wc -c /app/app.txt > /app/size
E
cp "$W/small/app.txt" "$W/multi/"
cat >"$W/multi/Containerfile" <<'E'
FROM localhost/bench-base:1 AS a
RUN mkdir /out && echo a > /out/a
FROM localhost/bench-base:1 AS b
COPY app.txt /in/
RUN cat /in/app.txt > /b
FROM localhost/bench-base:1
COPY --from=a /out /out
COPY --from=b /b /b
CMD ["cat", "/b"]
E
python3 - "$W/copy20k" <<'E'
import os, sys
root = sys.argv[1]
blob = os.urandom(10 * 1024)
for d in range(200):
    p = os.path.join(root, "tree", "d%03d" % d)
    os.makedirs(p)
    for f in range(100):
        with open(os.path.join(p, "f%03d.dat" % f), "wb") as fh:
            fh.write(blob[: 10 * 1024 - (f % 7)] + bytes([d % 256, f % 256]))
os.makedirs(os.path.join(root, "ignored"))
for f in range(100):
    with open(os.path.join(root, "ignored", "junk%d" % f), "wb") as fh:
        fh.write(blob)
E
printf 'ignored\n*.tmp\n' >"$W/copy20k/.dockerignore"
cat >"$W/copy20k/Containerfile" <<'E'
FROM localhost/bench-base:1
COPY tree /tree
RUN ls /tree | wc -l > /count
E
cat >"$W/run300/Containerfile" <<'E'
FROM localhost/bench-base:1
RUN mkdir /data && for i in $(seq 1 300); do head -c 1048576 /dev/urandom > /data/f$i; done
RUN for i in $(seq 1 150); do rm /data/f$i; done && for i in $(seq 151 160); do echo edit >> /data/f$i; done
E

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# measure TOOL KIND CASE: prints "seconds rss_kb" of one run
one() {
	tool=$1 okind=$2 c=$3
	nc=
	[ "$okind" = cold ] && nc=--no-cache
	case $tool in
	bale)
		set -- "$BALE" build -q $nc --network none -t "bench-$c:1" "$W/$c" ;;
	buildah)
		set -- buildah build --quiet --layers $BUILDAH_ISOLATION $nc --network none -t "localhost/bench-$c:1" "$W/$c" ;;
	esac
	# wall time from the clock in ms precision (time's %e has 10 ms steps,
	# coarser than a cached rebuild); peak RSS from time's %M
	t0=$(date +%s%N)
	/usr/bin/time -f '%M' -o "$W/time" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; return 1; }
	t1=$(date +%s%N)
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') $(cat "$W/time")"
}
report() { # TOOL KIND CASE
	: >"$W/t"
	: >"$W/m"
	i=0
	while [ $i -lt "$RUNS" ]; do
		[ "$2" = touch ] && echo "$i" >>"$W/$3/tree/d000/f000.dat"
		k=$2
		[ "$k" = touch ] && k=warm
		r=$(one "$1" "$k" "$3")
		echo "$r" | cut -d' ' -f1 >>"$W/t"
		echo "$r" | cut -d' ' -f2 >>"$W/m"
		i=$((i + 1))
	done
	echo "$(median <"$W/t") $(sort -n "$W/m" | tail -1)"
}

printf '%-8s %-6s %10s %10s %8s %10s %10s %8s\n' case kind bale_s buildah_s ratio bale_rss buildah_rss rss_ratio
for c in small multi copy20k run300; do
	for kind in cold cached touch; do
		[ "$kind" = touch ] && [ "$c" != copy20k ] && continue
		if [ "$kind" != cold ]; then one bale warm "$c" >/dev/null; one buildah warm "$c" >/dev/null; fi
		b=$(report bale "$kind" "$c")
		h=$(report buildah "$kind" "$c")
		set -- $b $h
		printf '%-8s %-6s %10s %10s %8.3f %10s %10s %8.2f\n' "$c" "$kind" "$1" "$3" \
			"$(awk "BEGIN{print ($3>0)?$1/$3:0}")" "$2" "$4" "$(awk "BEGIN{print ($4>0)?$2/$4:0}")"
	done
done
