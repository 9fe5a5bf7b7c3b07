#!/bin/bash
# bale's registry client side by side with skopeo (Debian's), against the
# same distribution registry (Debian's docker-registry) on 127.0.0.1, in
# one run: push, re-push and pull of a single-layer image (512 MiB by
# default) and of a 200-layer image (200 x 256 KiB). Both tools copy
# between the same OCI layout and the registry, so they read and write the
# same bytes. Prints wall time, CPU time and peak RSS of each run (median
# of REPEAT runs) and the ratios skopeo/bale (throughput: > 1 means bale is
# faster) and bale/skopeo for RSS.
#
# Run from a build directory configured without sanitizers:
#   ../configure CFLAGS=-O2 && make bale && bash ../bench/client.sh
# Environment: BALE (default ./bale), BIG_MIB (512), LAYERS (200),
# LAYER_KIB (256), REPEAT (3). Needs docker-registry and skopeo.
# Goals (issue 8): pulls >= 3x, pushes >= 2x, 200 layers >= 3x,
# re-push >= 5x, peak RSS <= 0.5x.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export BALE=${BALE:-$PWD/bale}
export top_srcdir=${top_srcdir:-$here/..} top_builddir=${top_builddir:-$PWD}
BIG_MIB=${BIG_MIB:-512}
LAYERS=${LAYERS:-200}
LAYER_KIB=${LAYER_KIB:-256}
REPEAT=${REPEAT:-3}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/client-lib.sh"
command -v skopeo >/dev/null || { echo "bench: skopeo not installed"; exit 1; }
command -v docker-registry >/dev/null || { echo "bench: docker-registry not installed"; exit 1; }
regc_registry B || { echo "bench: cannot start docker-registry"; exit 1; }
R=127.0.0.1:$REG_B_PORT
export DOCKER_CONFIG="$T_TMP/docker" BALE_ROOT="$T_TMP/store"
# --preserve-digests: skopeo moves the same bytes as bale (the layers are
# labelled gzip, so neither tool compresses anything on the way)
SK="--src-tls-verify=false --dest-tls-verify=false --preserve-digests"

echo "bench: making the images (${BIG_MIB} MiB single layer, $LAYERS x $LAYER_KIB KiB)"
read -r BD BS <<EOF
$(regc_oci_image "$T_TMP/big" amd64 1 $((BIG_MIB * 1024)))
EOF
regc_oci_tag "$T_TMP/big" v1 application/vnd.oci.image.manifest.v1+json "$BD" "$BS"
read -r MD MS <<EOF
$(regc_oci_image "$T_TMP/many" amd64 "$LAYERS" "$LAYER_KIB")
EOF
regc_oci_tag "$T_TMP/many" v1 application/vnd.oci.image.manifest.v1+json "$MD" "$MS"

# measure NAME CMD...: one run; appends "wall cpu rss_kib" to $T_TMP/NAME
measure() {
	local name=$1
	shift
	# wall time from $EPOCHREALTIME (time's %e counts in 10 ms steps,
	# coarser than a re-push), CPU and peak RSS from time
	local t0=$EPOCHREALTIME
	/usr/bin/time -f "%U %S %M" -o "$T_TMP/time" "$@" >/dev/null 2>"$T_TMP/cmd.err" || {
		echo "bench: '$*' failed:"; cat "$T_TMP/cmd.err"; exit 1; }
	local t1=$EPOCHREALTIME
	read -r usr sys rss <"$T_TMP/time"
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $(echo "$usr + $sys" | bc) $rss" >>"$T_TMP/$name"
}

median() { # median FILE COLUMN
	cut -d' ' -f"$2" "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# One case, REPEAT times, each tool into a fresh repository or directory.
run_case() { # run_case CASE IMAGE
	local case=$1 img=$2 i
	for i in $(seq 1 "$REPEAT"); do
		for tool in bale skopeo; do
			local repo="$R/$tool-$case-$i/app:1" dir="$T_TMP/pull-$tool-$case-$i"
			if [ "$tool" = bale ]; then
				measure "$case-push-$tool" "$BALE" copy -q "oci:$T_TMP/$img:v1" "$repo"
				measure "$case-repush-$tool" "$BALE" copy -q "oci:$T_TMP/$img:v1" "$repo"
				measure "$case-pull-$tool" "$BALE" copy -q "$repo" "oci:$dir:v1"
			else
				measure "$case-push-$tool" skopeo copy -q $SK "oci:$T_TMP/$img:v1" "docker://$repo"
				measure "$case-repush-$tool" skopeo copy -q $SK "oci:$T_TMP/$img:v1" "docker://$repo"
				measure "$case-pull-$tool" skopeo copy -q $SK "docker://$repo" "oci:$dir:v1"
			fi
			rm -rf "$dir"
		done
		# keep the registry's disk use bounded
		rm -rf "$REG_B_DIR/data/docker/registry/v2/repositories"/*-"$case"-"$i"
	done
}

echo "bench: registry $R, $REPEAT runs each, medians"
run_case big big
run_case many many
printf '\n%-14s %10s %10s %10s %10s %12s %12s %8s %8s\n' case bale_s skopeo_s bale_cpu skopeo_cpu bale_rss_KiB skopeo_rss_KiB speed rss
for c in big many; do
	for op in push repush pull; do
		f=$T_TMP/$c-$op
		bw=$(median "$f-bale" 1) sw=$(median "$f-skopeo" 1)
		bc_=$(median "$f-bale" 2) sc=$(median "$f-skopeo" 2)
		br=$(median "$f-bale" 3) sr=$(median "$f-skopeo" 3)
		printf '%-14s %10s %10s %10s %10s %12s %12s %7.1fx %7.2fx\n' "$c-$op" "$bw" "$sw" "$bc_" "$sc" \
			"$br" "$sr" "$(echo "$sw / $bw" | bc -l)" "$(echo "$br / $sr" | bc -l)"
	done
done
echo "(speed = skopeo time / bale time; rss = bale peak RSS / skopeo peak RSS)"
