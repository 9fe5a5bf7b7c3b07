#!/bin/sh
# Escape attempts from inside a step, each failing with the expected error,
# as root and as an unprivileged user with a subordinate id range. The
# attempts are made by tests/unit/builder/sandbox-probe (static) in a
# busybox rootfs run with `bale run --rootfs`.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/sandbox-lib.sh"

[ -x "$PROBE" ] || skip_all "sandbox-probe not built"
R=$T_TMP/rootfs
sbx_rootfs "$R"
MARK=$T_TMP/marker
echo host-original >"$MARK"
chmod 755 "$T_TMP"
chmod 644 "$MARK"
USER_SUB=bale-sbx-esc

# probe AS CHECK...: run the probe's checks in the sandbox (AS: root or a
# user name), output in $T_OUT.
probe() {
	who=$1
	shift
	if [ "$who" = root ]; then
		run "$BALE" run --rootfs "$R" probe "$@"
	else
		run runuser -u "$who" -- "$BALE" run --rootfs "$R" probe "$@"
	fi
}

escapes() { # escapes AS LABEL
	who=$1 l=$2
	probe "$who" shadow init-root
	is "$T_RC" 0 "$l: the probe runs"
	like "$T_OUT" "^shadow: 13 bytes: image-shadow" "$l: /etc/shadow is the image's, not the host's"
	like "$T_OUT" "init-root: (EACCES|EPERM)" "$l: the host's files are not reachable through /proc/1/root"

	probe "$who" write-outside "$MARK" chroot-escape "$MARK"
	like "$T_OUT" "write-outside: ENOENT" "$l: a host path does not exist inside"
	like "$T_OUT" "chroot-escape: ENOENT" "$l: the chroot escape stays in the rootfs"
	is "$(cat "$MARK")" host-original "$l: the host file is untouched"

	probe "$who" sysrq kcore
	if [ -e /proc/sysrq-trigger ]; then
		like "$T_OUT" "sysrq: (EROFS|EACCES)" "$l: /proc/sysrq-trigger is read-only"
	else
		like "$T_OUT" "sysrq: ENOENT" "$l: /proc/sysrq-trigger (absent on this kernel) is not writable"
	fi
	if [ -e /proc/kcore ]; then
		like "$T_OUT" "kcore: 0 bytes" "$l: /proc/kcore reads nothing (masked)"
	else
		like "$T_OUT" "kcore: (ENOENT|0 bytes)" "$l: /proc/kcore (absent on this kernel) reads nothing"
	fi

	probe "$who" mount unshare
	like "$T_OUT" "mount: EPERM" "$l: mount is refused"
	like "$T_OUT" "unshare: EPERM" "$l: new namespaces are refused"

	probe "$who" ptrace-host $$ ptrace-init
	like "$T_OUT" "ptrace-host: ESRCH" "$l: a host process cannot be seen to ptrace it"
	like "$T_OUT" "ptrace-init: EPERM" "$l: the step's init cannot be ptraced"

	probe "$who" fds init-fds
	like "$T_OUT" "^fds: 0 1 2$" "$l: no fd but stdio is inherited"
	like "$T_OUT" "init-fds: (EACCES|EPERM)" "$l: the fds of the step's init are not reachable"
	if [ "$who" = root ]; then
		run "$BALE" run --rootfs "$R" -w /proc/self/fd/0 true
	else
		run runuser -u "$who" -- "$BALE" run --rootfs "$R" -w /proc/self/fd/0 true
	fi
	is "$T_RC" 126 "$l: a working directory through /proc/self/fd/N is refused"
	like "$T_ERR" "invalid working directory '/proc/self/fd/0'" "$l: and named"

	probe "$who" module keyctl
	like "$T_OUT" "init_module: EPERM" "$l: init_module is refused"
	like "$T_OUT" "finit_module: EPERM" "$l: finit_module is refused"
	like "$T_OUT" "keyctl: EPERM" "$l: keyctl is refused (seccomp)"

	probe "$who" capset
	like "$T_OUT" "capset: EPERM" "$l: CAP_SYS_ADMIN cannot be raised"
	if [ "$who" = root ]; then
		run "$BALE" run --rootfs "$R" sh -c 'grep -E "^(CapBnd|CapEff|NoNewPrivs|Seccomp):" /proc/self/status'
	else
		run runuser -u "$who" -- "$BALE" run --rootfs "$R" sh -c 'grep -E "^(CapBnd|CapEff|NoNewPrivs|Seccomp):" /proc/self/status'
	fi
	like "$T_OUT" "CapBnd:	00000000a80425fb" "$l: the bounding set is Docker's default"
	like "$T_OUT" "CapEff:	00000000a80425fb" "$l: root's effective set is Docker's default"
	like "$T_OUT" "NoNewPrivs:	1" "$l: no_new_privs is set"
	like "$T_OUT" "Seccomp:	2" "$l: a seccomp filter is loaded"

	# TIOCSTI needs a terminal on stdin: script(1) gives the step one.
	if command -v script >/dev/null; then
		if [ "$who" = root ]; then
			run script -qec "$BALE run --rootfs $R probe tiocsti sid" /dev/null
		else
			run script -qec "runuser -u $who -- $BALE run --rootfs $R probe tiocsti sid" /dev/null
		fi
		like "$T_OUT" "isatty: 1" "$l: the step's stdin is the terminal"
		like "$T_OUT" "tiocsti: (EPERM|EIO)" "$l: TIOCSTI cannot push input into it"
		like "$T_OUT" "sid-is-self: 1" "$l: the step runs in a new session"
	fi
}

escapes root root
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null && command -v newuidmap >/dev/null &&
	sbx_user $USER_SUB yes; then
	trap 'sbx_user_del $USER_SUB; rm -rf "$T_TMP"' EXIT
	chmod -R a+rX "$T_TMP"
	# The rootfs belongs to the user (it maps to root inside).
	chown -R "$USER_SUB" "$R"
	chown -h 1000:1000 "$R/home/user" 2>/dev/null
	escapes $USER_SUB "rootless"
fi
done_testing
