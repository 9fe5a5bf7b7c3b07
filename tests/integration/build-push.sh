#!/bin/sh
# `bale build --push` into `bale serve`, then docker pulls the image and
# runs it: the pushed image is one docker takes and runs as built.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/registry-lib.sh"

DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || skip_all "no Debian docker client at $DOCKER (apt-get install docker.io)"
"$DOCKER" info >/dev/null 2>&1 || skip_all "dockerd does not answer (start it with start-dockerd.sh)"
export BALE_ROOT="$T_TMP/root"
sh "$top_srcdir/testdata/rootfs/make-busybox-rootfs.sh" "$T_TMP/rootfs" "$T_TMP/rootfs.tar" >/dev/null 2>&1
case $? in 0) ;; 77) skip_all "no static busybox (apt-get install busybox-static)" ;; *) exit 1 ;; esac

start_registry --root "$T_TMP/reg" || skip_all "bale serve did not start"
REF="$REG/bale-build-push-$$/app:1"
trap 'stop_registry; "$DOCKER" rmi -f "$REF" >/dev/null 2>&1; rm -rf "$T_TMP"' EXIT

"$BALE" import "$T_TMP/rootfs.tar" base:1 >/dev/null
mkdir -p "$T_TMP/ctx"
echo "hello from bale" >"$T_TMP/ctx/msg"
cat >"$T_TMP/ctx/Containerfile" <<'E'
FROM base:1 AS build
RUN echo built > /built
FROM base:1
COPY msg /msg
COPY --from=build /built /built
ENV WHO=docker
CMD ["/bin/sh", "-c", "cat /msg /built; echo $WHO"]
E
for fmt in oci docker; do
	run "$BALE" build -q --network none --format "$fmt" -t "$REF" --push "$T_TMP/ctx"
	is "$T_RC" 0 "[$fmt] build --push"
	[ "$T_RC" -eq 0 ] || diag "$T_ERR"
	"$DOCKER" rmi -f "$REF" >/dev/null 2>&1
	run "$DOCKER" pull -q "$REF"
	is "$T_RC" 0 "[$fmt] docker pulls it"
	[ "$T_RC" -eq 0 ] || diag "$T_ERR"
	run "$DOCKER" run --rm --network none "$REF"
	is "$T_OUT" "hello from bale
built
docker" "[$fmt] and runs it"
done

done_testing
