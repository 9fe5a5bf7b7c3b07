#!/bin/sh
# Build a minimal busybox rootfs from the host's static busybox (Debian
# package busybox-static) at test time, so no binaries are committed:
#   make-busybox-rootfs.sh DIR            -> a rootfs tree in DIR
#   make-busybox-rootfs.sh DIR OUT.tar    -> also a tarball of it
# Exits 77 (skip) when no static busybox is installed. Times are fixed so the
# tarball is the same on every run with the same busybox.
set -eu
dir=${1:?usage: make-busybox-rootfs.sh DIR [OUT.tar]}
out=${2:-}
bb=${BUSYBOX:-/bin/busybox}
if [ ! -x "$bb" ] || ! file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
	# `file` may be missing: fall back to ldd saying "not a dynamic executable".
	if ! { [ -x "$bb" ] && ldd "$bb" 2>&1 | grep -q 'not a dynamic'; }; then
		echo "make-busybox-rootfs.sh: no static busybox at $bb (apt-get install busybox-static)" >&2
		exit 77
	fi
fi
rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/sbin" "$dir/usr/bin" "$dir/usr/sbin" "$dir/etc" "$dir/tmp" \
	"$dir/root" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/var"
chmod 1777 "$dir/tmp"
chmod 700 "$dir/root"
cp "$bb" "$dir/bin/busybox"
chmod 755 "$dir/bin/busybox"
for applet in $("$bb" --list-full 2>/dev/null || "$bb" --list | sed 's|^|bin/|'); do
	case $applet in bin/busybox) continue ;; esac
	[ -e "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
done
cat >"$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat >"$dir/etc/group" <<'G'
root:x:0:
nogroup:x:65534:
G
find "$dir" -exec touch -h -d @1700000000 {} +
if [ -n "$out" ]; then
	tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@1700000000 \
		-C "$dir" -cf "$out" .
fi
