#!/bin/sh
# The Debian package: built with dpkg-buildpackage from the dist tree (what
# `make distdir` copies, not this build directory), with the libraries bale
# dlopen()s in Depends, the units and the example config inside; installed,
# run and purged when running as root on a machine without a bale package,
# else unpacked and run from a temp directory. Takes a minute or two.
. "$top_srcdir/tests/integration/lib.sh"

command -v dpkg-buildpackage >/dev/null 2>&1 || skip_all "dpkg-buildpackage is not installed (Debian package dpkg-dev)"
command -v dh >/dev/null 2>&1 || skip_all "dh is not installed (Debian package debhelper)"
MAKE=${MAKE:-make}
unset MAKEFLAGS MFLAGS MAKELEVEL

VERSION=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$top_builddir/config.h")
SRC="$T_TMP/bale-$VERSION"
run $MAKE -s -C "$top_builddir" distdir distdir="$SRC"
is "$T_RC" 0 "make distdir copies the tree"
[ "$T_RC" -eq 0 ] || { diag "$T_ERR"; done_testing; exit 1; }
missing=$(cd "$SRC" && dpkg-checkbuilddeps 2>&1) ||
	skip_all "build dependencies missing: $(echo "$missing" | sed 's/.*Unmet build dependencies: //')"

# -b: binary only; parallel build on every CPU, the smoke test in
# debian/rules (bale version) runs.
start=$(date +%s)
(cd "$SRC" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
	>"$T_TMP/build.log" 2>&1
rc=$?
is "$rc" 0 "dpkg-buildpackage -us -uc -b builds the package"
[ "$rc" -eq 0 ] && diag "built in $(($(date +%s) - start)) s" || diag "$(tail -n 30 "$T_TMP/build.log")"
# The package's version is debian/changelog's; bale's own (from git) starts
# with its upstream part.
DEBVER=$(cd "$SRC" && dpkg-parsechangelog -S Version)
case "$VERSION" in "${DEBVER%-*}"*) t_ok 0 "bale $VERSION is debian/changelog's $DEBVER" ;;
*) t_ok 1 "bale $VERSION is debian/changelog's $DEBVER" ;; esac
DEB=$(ls "$T_TMP"/bale_"$DEBVER"_*.deb 2>/dev/null | head -n 1)
t_ok "$([ -f "$DEB" ]; echo $?)" "bale_${DEBVER}_*.deb produced"
[ -f "$DEB" ] || { done_testing; exit 1; }
t_ok "$(grep -q 'debian/rules override_dh_auto_test' "$T_TMP/build.log" &&
	grep -q '^  libmicrohttpd ' "$T_TMP/build.log"; echo $?)" \
	"the build's smoke test ran bale version"

# ---- contents and metadata
LIST=$(dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./|/|')
for f in /usr/bin/bale /usr/share/doc/bale/examples/registry.yml \
	/usr/share/doc/bale/examples/README.md /usr/lib/sysusers.d/bale.conf; do
	like "$LIST" "^$f\$" "package ships $f"
done
for u in bale-serve.service bale-gc.service bale-gc.timer; do
	like "$LIST" "^(/usr)?/lib/systemd/system/$u\$" "package ships $u"
done
is "$(echo "$LIST" | grep '^/etc/')" "" "package ships nothing in /etc"
# Every library bale opens lazily: the package shipping its soname on this
# machine (found here independently of configure) must be in Depends.
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
for so in $(sed -n 's/^#define BALE_SONAME_[A-Z0-9]* "\(.*\)"/\1/p' "$top_builddir/config.h"); do
	path=$(ldconfig -p | awk -v s="$so" '$1 == s { print $NF; exit }')
	pkg=$(dpkg-query -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
	like "$DEPENDS" "(^|, )$pkg( |,|\$)" "Depends names $pkg for the dlopen()ed $so"
done
# Installing must not enable or start anything.
dpkg-deb -e "$DEB" "$T_TMP/control"
is "$(grep -c 'deb-systemd-helper enable' "$T_TMP/control/postinst")" \
	"$(grep -c 'if deb-systemd-helper --quiet was-enabled' "$T_TMP/control/postinst")" \
	"postinst enables a unit only if it was enabled before"
t_ok "$(grep -q 'systemd-sysusers.*bale.conf' "$T_TMP/control/postinst"; echo $?)" \
	"postinst creates the bale-registry user"

if command -v lintian >/dev/null 2>&1; then
	run lintian --no-tag-display-limit "$DEB"
	diag "lintian:" "$T_OUT"
	is "$(echo "$T_OUT" | grep '^E:')" "" "lintian reports no error"
else
	diag "lintian is not installed: not run"
fi

# ---- install, run, purge (root, no bale package yet) or unpack and run
if [ "$(id -u)" -eq 0 ] && ! dpkg-query -W bale >/dev/null 2>&1; then
	had_user=no
	getent passwd bale-registry >/dev/null && had_user=yes
	run dpkg -i "$DEB"
	is "$T_RC" 0 "dpkg -i installs the package"
	[ "$T_RC" -eq 0 ] || diag "$T_ERR"
	run /usr/bin/bale version
	is "$T_RC" 0 "/usr/bin/bale version runs (and loads every lazy library)"
	like "$T_OUT" "^bale $VERSION" "installed bale reports $VERSION"
	UNITDIR=$(dirname "$(dpkg -L bale | grep '/bale-serve.service$')")
	if command -v systemd-analyze >/dev/null 2>&1; then
		run systemd-analyze verify --man=no "$UNITDIR/bale-serve.service" \
			"$UNITDIR/bale-gc.service" "$UNITDIR/bale-gc.timer"
		is "$T_RC:$T_ERR" "0:" "systemd-analyze verify accepts the installed units"
	else
		echo "ok $((T_COUNT + 1)) # SKIP systemd-analyze is not installed (Debian package systemd)"
		T_COUNT=$((T_COUNT + 1))
	fi
	# The manual pages the units name must be in the package, once it has any.
	MANS=$(dpkg -L bale | grep '^/usr/share/man/')
	if [ -n "$MANS" ]; then
		for m in $(sed -n 's/^Documentation=//p' "$UNITDIR"/bale-* | tr ' ' '\n' |
			sed -n 's/^man:\(.*\)(\([0-9]\))$/\1.\2/p' | sort -u); do
			like "$MANS" "/$m(\\.gz)?\$" "package has the manual page $m the units name"
		done
	else
		diag "the package has no manual pages yet: the units' man: references are not checked"
	fi
	if command -v systemd-sysusers >/dev/null 2>&1; then
		t_ok "$(getent passwd bale-registry >/dev/null; echo $?)" "postinst created the user bale-registry"
	fi
	t_ok "$(! systemctl is-enabled bale-serve.service >/dev/null 2>&1; echo $?)" \
		"bale-serve.service is not enabled by installing"
	run dpkg --purge bale
	is "$T_RC" 0 "dpkg --purge removes the package"
	t_ok "$([ ! -e /usr/bin/bale ] && ! dpkg-query -W bale >/dev/null 2>&1; echo $?)" \
		"purged: no /usr/bin/bale, no package"
	# leave the machine as found (Debian keeps system users on purge)
	[ "$had_user" = no ] && getent passwd bale-registry >/dev/null && userdel bale-registry
else
	diag "not root or a bale package is installed: unpacking instead of installing"
	dpkg-deb -x "$DEB" "$T_TMP/root"
	run "$T_TMP/root/usr/bin/bale" version
	is "$T_RC" 0 "unpacked bale version runs (and loads every lazy library)"
	like "$T_OUT" "^bale $VERSION" "unpacked bale reports $VERSION"
fi

done_testing
