#!/bin/bash
# Side by side: median wall time of one sandboxed `true`, the per-step cost
# a build pays before its command starts.
#
#   bale run IMAGE true           (the image imported into a scratch store)
#   bale run --rootfs DIR true    (the same files as a directory)
#   podman run --rm IMAGE true    (the same tarball imported into podman)
#   bwrap ... DIR true            (the same directory, read-only)
#
# usage: bench/sandbox.sh [BALE] [RUNS]   (defaults: ./bale, 30)
# Needs /bin/busybox (busybox-static); podman and bwrap are skipped when
# missing. Run it as root or as a user with a subordinate id range; a
# sanitizer build of bale measures the sanitizers.
set -u
BALE=${1:-./bale}
RUNS=${2:-30}
[ -x /bin/busybox ] || { echo "bench/sandbox.sh: needs /bin/busybox (busybox-static)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/bale-bench.XXXXXX")
trap 'rm -rf "$T"; [ -n "${PODMAN_IMG:-}" ] && podman rmi -f "$PODMAN_IMG" >/dev/null 2>&1' EXIT

R=$T/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/proc" "$R/dev" "$R/sys"
cp /bin/busybox "$R/bin/"
for a in $(/bin/busybox --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
tar --numeric-owner -C "$R" -cf "$T/rootfs.tar" .

# median_ms CMD...: run CMD $RUNS times (after 3 warm-up runs), print the
# median and the minimum wall time in milliseconds.
median_ms() {
	local i t0 t1
	for i in 1 2 3; do "$@" >/dev/null 2>&1; done
	for ((i = 0; i < RUNS; i++)); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1
		t1=$EPOCHREALTIME
		echo "$t0 $t1"
	done | awk '{ print ($2 - $1) * 1000 }' | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.1f %.1f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1] }'
}

declare -A MED MIN
measure() { # measure NAME CMD...
	local name=$1 out
	shift
	if ! "$@" >/dev/null 2>"$T/err"; then
		echo "# $name: does not run here: $(head -c 300 "$T/err" | tr '\n' ' ')"
		return
	fi
	out=$(median_ms "$@")
	MED[$name]=${out% *}
	MIN[$name]=${out#* }
	printf '%-34s median %8.1f ms   min %8.1f ms\n' "$name" "${MED[$name]}" "${MIN[$name]}"
}

STORE=$T/store
"$BALE" --root "$STORE" import --compression none "$T/rootfs.tar" bench:1 >/dev/null ||
	{ echo "bench/sandbox.sh: bale import failed" >&2; exit 1; }
echo "# $RUNS runs each, $(nproc) CPUs, kernel $(uname -r); bale: $BALE"
"$BALE" info | sed 's/^/# /'
# bale's own start is part of every run: shown apart. (libarchive, libcurl,
# libgit2, libmicrohttpd and libcrypto load on first use; `run IMAGE` loads
# libarchive only to extract a layer the store does not have yet.)
measure "bale version --short (no sandbox)" "$BALE" version --short
measure "bale run IMAGE true" "$BALE" --root "$STORE" run bench:1 true
measure "bale run --rootfs DIR true" "$BALE" run --rootfs "$R" true
measure "bale run --network none IMAGE true" "$BALE" --root "$STORE" run --network none bench:1 true

if command -v podman >/dev/null; then
	PODMAN_IMG=localhost/bale-bench:$$
	podman import "$T/rootfs.tar" "$PODMAN_IMG" >/dev/null 2>&1
	# crun refuses cgroup v1 hybrid hosts and podman's default rlimits
	# need CAP_SYS_RESOURCE: try the plain command first, then runc and
	# the current limits.
	P=(podman run --rm "$PODMAN_IMG" true)
	if ! "${P[@]}" >/dev/null 2>&1; then
		P=(podman --runtime runc run --rm --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)"
		   --ulimit nproc=32768:32768 "$PODMAN_IMG" true)
		echo "# podman: using: ${P[*]}"
	fi
	measure "podman run --rm IMAGE true" "${P[@]}"
else
	echo "# podman: not installed"
fi

if command -v bwrap >/dev/null; then
	measure "bwrap (same rootfs, read-only) true" bwrap --unshare-all --share-net \
		--ro-bind "$R" / --proc /proc --dev /dev --tmpfs /tmp --new-session \
		--die-with-parent --cap-drop ALL true
else
	echo "# bwrap: not installed"
fi

b=${MED["bale run IMAGE true"]:-}
if [ -n "$b" ]; then
	p=${MED["podman run --rm IMAGE true"]:-}
	w=${MED["bwrap (same rootfs, read-only) true"]:-}
	[ -n "$p" ] && awk -v b="$b" -v p="$p" 'BEGIN { printf "bale / podman: %.3fx (goal: at most 0.2x)\n", b / p }'
	[ -n "$w" ] && awk -v b="$b" -v w="$w" 'BEGIN { printf "bale / bwrap:  %.2fx (goal: within 2x)\n", b / w }'
fi
