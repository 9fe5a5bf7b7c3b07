#!/bin/sh
# make install / make uninstall with DESTDIR and prefix=/usr: the files a
# package gets, units that systemd-analyze accepts, an example registry
# configuration that `bale serve` runs with (TLS, htpasswd, access rules),
# and an uninstall that leaves no file behind.
. "$top_srcdir/tests/integration/lib.sh"

command -v openssl >/dev/null 2>&1 || skip_all "openssl is not installed (Debian package openssl)"
command -v htpasswd >/dev/null 2>&1 || skip_all "htpasswd is not installed (Debian package apache2-utils)"
command -v curl >/dev/null 2>&1 || skip_all "curl is not installed (Debian package curl)"
MAKE=${MAKE:-make}
# Not the make check's own flags (-j, jobserver, TESTS=...).
unset MAKEFLAGS MFLAGS MAKELEVEL

D="$T_TMP/dest"
run $MAKE -s -C "$top_builddir" install DESTDIR="$D" prefix=/usr
is "$T_RC" 0 "make install DESTDIR prefix=/usr succeeds"
[ "$T_RC" -eq 0 ] || diag "$T_ERR"

# ---- what was installed
t_ok "$(test -x "$D/usr/bin/bale"; echo $?)" "binary in /usr/bin"
run "$D/usr/bin/bale" version --short
is "$T_OUT" "$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$top_builddir/config.h")" \
	"installed binary runs"
EX="$D/usr/share/doc/bale/examples"
t_ok "$(test -f "$EX/registry.yml" && test -f "$EX/README.md"; echo $?)" \
	"registry.yml and README.md in the documentation's examples"
t_ok "$(test ! -e "$D/etc"; echo $?)" "nothing installed under /etc"

# The unit directory comes from configure (pkg-config systemd or the prefix).
UNITS=$(find "$D" -name bale-serve.service)
UNITDIR=$(dirname "${UNITS:-/nonexistent/x}")
is "$(echo "$UNITS" | grep -c .)" 1 "one bale-serve.service installed"
like "$UNITDIR" "/lib/systemd/system\$" "units in a systemd system unit directory"
t_ok "$(test -f "$UNITDIR/bale-gc.service" && test -f "$UNITDIR/bale-gc.timer"; echo $?)" \
	"bale-gc.service and bale-gc.timer installed"
SYSUSERS=$(find "$D" -path '*/sysusers.d/bale.conf')
like "$SYSUSERS" "/lib/sysusers.d/bale.conf\$" "sysusers.d file installed"
like "$(grep '^u ' "$SYSUSERS")" "^u bale-registry " "sysusers.d creates bale-registry"
is "$(grep -h '^ExecStart' "$UNITDIR"/bale-serve.service "$UNITDIR"/bale-gc.service)" \
	"ExecStartPre=/usr/bin/bale serve --check -c /etc/bale/registry.yml
ExecStart=/usr/bin/bale serve -c /etc/bale/registry.yml
ExecStart=/usr/bin/bale gc -c /etc/bale/registry.yml" "units run the prefix's binary"
t_ok "$(! grep -l '@[a-z]*@' "$UNITDIR"/bale-*; echo $?)" "no @variable@ left in the units"
like "$(grep '^Documentation' "$UNITDIR/bale-serve.service")" \
	"file:/usr/share/doc/bale/examples/README.md" "units point at the installed notes"
is "$(sed -n 's/^User=//p' "$UNITDIR/bale-serve.service")" "bale-registry" \
	"service runs as the sysusers.d user"

# ---- systemd-analyze verify: it wants the binary of ExecStart= to exist
# and --root= wants a whole system, so verify copies whose binary is the
# DESTDIR's (man pages are not checked: the DESTDIR is not on MANPATH).
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$T_TMP/verify"
	for u in bale-serve.service bale-gc.service bale-gc.timer; do
		sed "s|/usr/bin/bale|$D/usr/bin/bale|g" "$UNITDIR/$u" >"$T_TMP/verify/$u"
	done
	run systemd-analyze verify --man=no "$T_TMP/verify/bale-serve.service" \
		"$T_TMP/verify/bale-gc.service" "$T_TMP/verify/bale-gc.timer"
	is "$T_RC" 0 "systemd-analyze verify accepts the units"
	is "$T_ERR" "" "systemd-analyze verify has no complaint"
else
	echo "ok $((T_COUNT + 1)) # SKIP systemd-analyze is not installed (Debian package systemd)"
	T_COUNT=$((T_COUNT + 1))
fi

# ---- the example configuration, with its paths moved under $T_TMP
C="$T_TMP/conf"
mkdir -p "$C/tls" "$T_TMP/state"
sed -e "s|/etc/bale/|$C/|g" -e "s|/var/lib/bale-registry|$T_TMP/state|g" \
	"$EX/registry.yml" >"$C/registry.yml"
is "$(grep -E '/etc/|/var/lib' "$C/registry.yml" | grep -v '^ *#')" "" \
	"every path of the example was moved"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$C/tls/registry.key" -out "$C/tls/registry.crt" 2>/dev/null
htpasswd -Bbc "$C/htpasswd" ci ci-secret 2>/dev/null
htpasswd -Bb "$C/htpasswd" bob bob-secret 2>/dev/null
run "$D/usr/bin/bale" serve --check -c "$C/registry.yml"
is "$T_RC" 0 "bale serve --check accepts the example"
[ "$T_RC" -eq 0 ] || diag "$T_ERR"

LOG="$T_TMP/serve.log"
"$D/usr/bin/bale" serve -c "$C/registry.yml" --listen 127.0.0.1:0 2>"$LOG" &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$T_TMP"' EXIT
PORT=
for i in $(seq 1 100); do
	PORT=$(sed -n 's/.*listening on .* port \([0-9]*\) (https).*/\1/p' "$LOG")
	[ -n "$PORT" ] && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.05
done
t_ok "$([ -n "$PORT" ]; echo $?)" "bale serve runs with the example over https"
[ -n "$PORT" ] || diag "$(cat "$LOG")"
U="https://127.0.0.1:$PORT/v2"
st() { curl -s -o /dev/null -w '%{http_code}' --cacert "$C/tls/registry.crt" "$@"; }
is "$(st "$U/")" 401 "anonymous request refused"
is "$(st -u bob:wrong "$U/")" 401 "wrong password refused"
is "$(st -u bob:bob-secret "$U/")" 200 "signed-in user accepted"
is "$(st -u bob:bob-secret "$U/team/app/tags/list")" 404 "signed-in user may pull (unknown repository)"
is "$(st -u bob:bob-secret -X POST "$U/team/app/blobs/uploads/")" 403 "other users may not push"
is "$(st -u ci:ci-secret -X POST "$U/team/app/blobs/uploads/")" 202 "the CI user may push"
kill "$PID"
wait "$PID" 2>/dev/null

# ---- uninstall
run $MAKE -s -C "$top_builddir" uninstall DESTDIR="$D" prefix=/usr
is "$T_RC" 0 "make uninstall succeeds"
is "$(find "$D" ! -type d)" "" "make uninstall leaves no files"

done_testing
