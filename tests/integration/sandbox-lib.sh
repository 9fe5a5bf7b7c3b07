# Helpers of the sandbox tests (source after lib.sh).

PROBE=$top_builddir/tests/unit/builder/sandbox-probe

# sbx_rootfs DIR: a busybox rootfs with the escape probe, a user 1000 and
# a shadow file of its own. Skips the whole test without a static busybox.
sbx_rootfs() {
	[ -x /bin/busybox ] || skip_all "no /bin/busybox (Debian package busybox-static)"
	mkdir -p "$1/bin" "$1/etc" "$1/tmp" "$1/root" "$1/home/user" "$1/data"
	chmod 1777 "$1/tmp" "$1/data"
	cp /bin/busybox "$1/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$1/bin/$a" ] || ln -s busybox "$1/bin/$a"
	done
	[ -x "$PROBE" ] && cp "$PROBE" "$1/bin/probe"
	printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$1/etc/passwd"
	printf 'root:x:0:\nusers:x:100:user\nuser:x:1000:\nnogroup:x:65534:\n' >"$1/etc/group"
	echo 'image-shadow' >"$1/etc/shadow"
	chown 1000:1000 "$1/home/user"
}

# sbx_user NAME yes|no: create a system user for the test, with or without
# a subordinate id range. Needs root.
sbx_user() {
	id "$1" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$1" || return 1
	sed -i "/^$1:/d" /etc/subuid /etc/subgid
	if [ "$2" = yes ]; then
		# A range no other test user overlaps with.
		base=$(( 300000 + ($(id -u "$1") % 1000) * 65536 ))
		echo "$1:$base:65536" >>/etc/subuid
		echo "$1:$base:65536" >>/etc/subgid
	fi
}

sbx_user_del() {
	sed -i "/^$1:/d" /etc/subuid /etc/subgid 2>/dev/null
	userdel "$1" 2>/dev/null || true
}
