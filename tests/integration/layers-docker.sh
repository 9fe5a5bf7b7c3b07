#!/bin/sh
# docker load reads what bale save writes, and bale load reads what docker
# save writes, against a real docker engine (../shared/scripts/start-dockerd.sh
# starts one; CI installs docker.io).
. "$top_srcdir/tests/integration/lib.sh"

command -v docker >/dev/null || skip_all "no docker client"
docker info >/dev/null 2>&1 || skip_all "no docker engine answering"
export BALE_ROOT="$T_TMP/root"
export SOURCE_DATE_EPOCH=1700000000
sh "$top_srcdir/testdata/rootfs/make-busybox-rootfs.sh" "$T_TMP/rootfs" "$T_TMP/rootfs.tar"
[ $? -eq 77 ] && skip_all "no static busybox (apt-get install busybox-static)"
NAME=bale-it-$$/busybox:1
trap 'docker rmi -f "$NAME" >/dev/null 2>&1; rm -rf "$T_TMP"' EXIT

for c in gzip zstd; do
	docker rmi -f "$NAME" >/dev/null 2>&1
	run "$BALE" import --compression $c "$T_TMP/rootfs.tar" "$NAME"
	t_ok $T_RC "import ($c)"
	run "$BALE" save -o "$T_TMP/s.tar" "$NAME"
	t_ok $T_RC "save ($c layer)"
	run docker load -i "$T_TMP/s.tar"
	is "$T_OUT" "Loaded image: $NAME" "docker load accepts bale save ($c layer)"
	ID=$("$BALE" inspect "$NAME" | sed -n 's/.*"Id": "\(.*\)",/\1/p')
	is "$(docker image inspect --format '{{.Id}}' "$NAME")" "$ID" "docker sees the same image id"
	run docker run --rm --network none "$NAME" /bin/sh -c 'echo hi from $(uname -s)'
	is "$T_OUT" "hi from Linux" "docker runs the image"
done

run docker save -o "$T_TMP/d.tar" "$NAME"
t_ok $T_RC "docker save"
run "$BALE" --root "$T_TMP/r2" load -i "$T_TMP/d.tar"
is "$T_OUT" "Loaded image: $NAME" "bale load accepts docker save"
ID2=$("$BALE" --root "$T_TMP/r2" inspect "$NAME" | sed -n 's/.*"Id": "\(.*\)",/\1/p')
is "$ID2" "$ID" "same image id as docker's"
run "$BALE" --root "$T_TMP/r2" save -o "$T_TMP/again.tar" "$NAME"
docker rmi -f "$NAME" >/dev/null 2>&1
run docker load -i "$T_TMP/again.tar"
is "$T_OUT" "Loaded image: $NAME" "and docker loads it back"
done_testing
