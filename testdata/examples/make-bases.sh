#!/bin/sh
# Make the two base images of the example (testdata/examples/Containerfile)
# from what this Debian machine has installed, with no network, the way an
# air-gapped site makes its bases:
#   example/busybox:1    the static busybox rootfs (make-busybox-rootfs.sh)
#   example/toolchain:1  that rootfs plus gcc, binutils and libc6-dev: the
#                        files dpkg lists for the Depends/Pre-Depends closure
#                        of gcc and libc6-dev, less what a C build never
#                        opens (documentation, locales, LTO, sanitizers...)
#
#   make-bases.sh [WORKDIR]
#
# $BALE is the bale binary (default: bale on PATH); the store is bale's
# (--root through $BALE_ROOT). The tarballs are made the same on every run
# with the same packages, and an image already holding the same tarball is
# not imported again. Exits 77 when busybox-static or gcc is missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bale=${BALE:-bale}
work=${1:-}
if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/bale-bases.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
# Fixed times: the same packages give the same tarballs and the same images.
epoch=1700000000

for pkg in gcc libc6-dev; do
	if ! dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii'; then
		echo "make-bases.sh: package $pkg is not installed (apt-get install build-essential)" >&2
		exit 77
	fi
done

# The Debian packages gcc and libc6-dev need, by Pre-Depends and Depends
# (an alternative or virtual package resolves to the installed one).
closure() {
	arch=$(dpkg --print-architecture)
	dpkg-query -W -f='${Package}\t${Architecture}\t${db:Status-Abbrev}\t${Provides}\t${Pre-Depends}, ${Depends}\n' |
		awk -F '\t' -v arch="$arch" -v roots="$*" '
		function name(s) { sub(/^ +/, "", s); sub(/[ (].*$/, "", s); sub(/:.*$/, "", s); return s }
		$3 ~ /^ii/ && ($2 == arch || $2 == "all") {
			inst[$1] = 1; deps[$1] = $5
			n = split($4, p, ",")
			for (i = 1; i <= n; i++) { v = name(p[i]); if (v != "" && !(v in prov)) prov[v] = $1 }
		}
		function resolve(alt,   n, a, i, v) {
			n = split(alt, a, "|")
			for (i = 1; i <= n; i++) {
				v = name(a[i]); if (v in inst) return v; if (v in prov) return prov[v]
			}
			return ""
		}
		END {
			n = split(roots, q, " ")
			for (i = 1; i <= n; i++) seen[q[i]] = 1
			for (h = 1; h <= n; h++) {
				m = split(deps[q[h]], d, ",")
				for (j = 1; j <= m; j++) {
					if (d[j] ~ /^ *$/) continue
					r = resolve(d[j])
					if (r == "") { printf "make-bases.sh: %s: no installed package for \"%s\"\n", q[h], d[j] > "/dev/stderr"; exit 1 }
					if (!(r in seen)) { seen[r] = 1; q[++n] = r }
				}
			}
			for (i = 1; i <= n; i++) print q[i]
		}'
}

# import TAR NAME [bale import options]: import unless NAME already is
# exactly this tarball (its one layer's DiffID is the tarball's digest).
import() {
	tar=$1 name=$2
	shift 2
	want="sha256:$(sha256sum "$tar" | cut -d' ' -f1)"
	have=$("$bale" inspect "$name" 2>/dev/null | sed -n 's/.*"DiffID": "\(.*\)".*/\1/p')
	if [ "$have" = "$want" ]; then
		echo "$name: up to date ($(du -h "$tar" | cut -f1) tarball)"
		return 0
	fi
	SOURCE_DATE_EPOCH=$epoch "$bale" import "$@" "$tar" "$name" >/dev/null
	echo "$name: imported ($(du -h "$tar" | cut -f1) tarball)"
}

# The runtime base.
sh "$here/../rootfs/make-busybox-rootfs.sh" "$work/busybox" "$work/busybox.tar"

# The toolchain: busybox for the shell RUN steps need, the packages' files
# on top (replacing busybox applets of the same name, such as ar).
pkgs=$(closure gcc libc6-dev)
# shellcheck disable=SC2086 # one argument per package
dpkg-query -L $pkgs | grep '^/.' |
	# a merged-/usr host lists /lib/... for /usr/lib/...: name the real place
	while IFS= read -r path; do
		case $path in
		/bin/* | /sbin/* | /lib/* | /lib32/* | /lib64/* | /libx32/*)
			top=${path#/}
			top=${top%%/*}
			[ -L "/$top" ] && path="/usr$path"
			;;
		/bin | /sbin | /lib | /lib32 | /lib64 | /libx32)
			[ -L "$path" ] && path="/usr$path"
			;;
		esac
		printf '%s\n' "${path#/}"
	done |
	grep -Ev '^usr/share/(doc|doc-base|man|info|locale|lintian|bug|gcc|gdb)(/|$)' |
	grep -Ev '^usr/lib/[^/]*/gconv(/|$)' |
	grep -Ev '/(lto1|([^/]*-)?lto-dump(-[0-9]+)?)$' |
	grep -Ev '/lib(a|hwa|l|t|ub)san[^/]*$|/gprofng(/|$)|/libgprofng[^/]*$|/[^/]*gp-[^/]*$' |
	grep -Ev '/([^/]*-)?(ld\.gold|gold|dwp|gprofng)$' |
	sort -u >"$work/toolchain.list"
rm -rf "$work/toolchain"
cp -a "$work/busybox" "$work/toolchain"
tar -C / --no-recursion -cf - -T "$work/toolchain.list" | tar -C "$work/toolchain" -xf -
for top in lib lib32 lib64 libx32; do
	# merged /usr: the ELF interpreter is /lib64/ld-linux-x86-64.so.2
	if [ -L "/$top" ] && [ -d "$work/toolchain/usr/$top" ]; then
		ln -s "usr/$top" "$work/toolchain/$top"
	fi
done
[ -e "$work/toolchain/usr/bin/cc" ] || ln -s gcc "$work/toolchain/usr/bin/cc"
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@$epoch \
	-C "$work/toolchain" -cf "$work/toolchain.tar" .

import "$work/busybox.tar" example/busybox:1
# zstd: the toolchain never leaves this machine, and zstd is ~6x faster.
import "$work/toolchain.tar" example/toolchain:1 --compression zstd
