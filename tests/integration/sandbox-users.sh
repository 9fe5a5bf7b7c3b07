#!/bin/sh
# Files a step creates as uid 0, 1000 and 65534 come out with those owners
# in the layer, run as root, as an unprivileged user with a subordinate id
# range and as one without (where only uid 0 can work, and a step as 1000
# must fail saying why). The checks are tests/unit/builder/test-sandbox,
# run here as each user; its TAP lines are renumbered into this plan.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/sandbox-lib.sh"

T=$top_builddir/tests/unit/builder/test-sandbox
[ -x "$T" ] || skip_all "test-sandbox not built"
[ -x /bin/busybox ] || skip_all "no /bin/busybox (Debian package busybox-static)"
[ "$(id -u)" -eq 0 ] || skip_all "needs root to create the test users"
command -v runuser >/dev/null || skip_all "no runuser (util-linux)"
command -v newuidmap >/dev/null || skip_all "no newuidmap (Debian package uidmap)"

SUB=bale-sbx-sub NOSUB=bale-sbx-nosub
trap 'sbx_user_del $SUB; sbx_user_del $NOSUB; rm -rf "$T_TMP"' EXIT
sbx_user $SUB yes && sbx_user $NOSUB no || skip_all "cannot create test users (useradd)"
chmod 755 "$T_TMP"
cp "$T" "$T_TMP/test-sandbox"

# as USER: run test-sandbox as USER, adding its results to this plan.
as() {
	who=$1
	shift
	"$@" env TMPDIR=/tmp "$T_TMP/test-sandbox" >"$T_TMP/tap" 2>"$T_TMP/stderr"
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) t_ok 0 "$who: ${line#* - }" ;;
		"not ok "*) t_ok 1 "$who: ${line#* - }" ;;
		"1..0"*) t_ok 1 "$who: skipped: $line" ;;
		"#"*) echo "$line" ;;
		esac
	done <"$T_TMP/tap"
	is "$rc" 0 "$who: test-sandbox exits 0"
	[ "$rc" -eq 0 ] || diag "$(tail -n 20 "$T_TMP/stderr")"
}

as root
as "user with a subuid range" runuser -u $SUB --
as "user without a subuid range" runuser -u $NOSUB --

# The store's extracted layers hold the image's owners as subordinate ids:
# rmi, run as that user, still removes them all.
R=$T_TMP/rootfs
sbx_rootfs "$R"
mkdir "$R/srv"
echo n >"$R/srv/nobody"
chown 65534:65534 "$R/srv/nobody"
echo 'PS1=$ ' >"$R/home/user/.profile"
chown 1000:1000 "$R/home/user/.profile"
chmod 0700 "$R/home/user"
tar --numeric-owner -C "$R" -cf "$T_TMP/rootfs.tar" .
cp "$BALE" "$T_TMP/bale"
S=$T_TMP/store-sub
mkdir "$S" && chown $SUB "$S"
sub() { runuser -u $SUB -- env -u BALE_ROOT "$T_TMP/bale" --root "$S" "$@"; }
run sub import "$T_TMP/rootfs.tar" owners:1
is "$T_RC" 0 "subuid user: import an image with files of uid 1000 and 65534"
run sub run owners:1 stat -c '%u %U' /home/user /srv/nobody
is "$T_OUT" "1000 user
65534 nobody" "  bale run sees their owners"
base=$(sed -n "s/^$SUB:\([0-9]*\):.*/\1/p" /etc/subuid)
is "$(stat -c %u "$S"/extracted/sha256/*/srv/nobody)" "$((base + 65533))" \
	"  the extracted layer holds them as subordinate ids"
run sub rmi owners:1
is "$T_RC" 0 "  rmi as the user"
is "$(find "$S/extracted/sha256" "$S/extracted/tmp" -mindepth 1 | wc -l)" 0 \
	"  removes the extracted layer entirely"
done_testing
