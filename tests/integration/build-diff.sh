#!/bin/sh
# Differential test of `bale build` against the real `docker build`
# (BuildKit, DOCKER_BUILDKIT=1 with the Debian client): every case in
# testdata/build/diff/ is built by both from the same busybox base; bale's
# image goes through `bale build --output type=docker-archive` and `docker
# load`, then both images are compared through docker itself: the files of
# `docker export` (path, type, mode, owner, content hash, link target), the
# config fields users rely on, and the number of layers.
#
# A case is a directory with a Dockerfile and its context; an optional
# `flags` file holds extra build options for both builders (one line).
# BUILD_DIFF_CASES="name ..." limits the run to some cases.
. "$top_srcdir/tests/integration/lib.sh"

DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || skip_all "no Debian docker client at $DOCKER (apt-get install docker.io)"
DOCKER_BUILDKIT=1 "$DOCKER" info >/dev/null 2>&1 ||
	skip_all "dockerd does not answer (start it with start-dockerd.sh)"
command -v python3 >/dev/null || skip_all "python3 is needed to list image files"
DIFF="$top_srcdir/testdata/build/diff"
LIST="$top_srcdir/testdata/build/fslist.py"
ID=$$
NS="bale-build-diff-$ID"
export BALE_ROOT="$T_TMP/root"

sh "$top_srcdir/testdata/rootfs/make-busybox-rootfs.sh" "$T_TMP/rootfs" "$T_TMP/rootfs.tar" >/dev/null 2>&1
case $? in 0) ;; 77) skip_all "no static busybox (apt-get install busybox-static)" ;; *) exit 1 ;; esac

cleanup_docker() {
	"$DOCKER" ps -aq --filter "label=bale-build-diff=$ID" | xargs -r "$DOCKER" rm -f >/dev/null 2>&1
	"$DOCKER" images --format '{{.Repository}}:{{.Tag}}' | grep "^$NS/" |
		xargs -r "$DOCKER" rmi -f >/dev/null 2>&1
	rm -rf "$T_TMP"
}
trap cleanup_docker EXIT

run "$BALE" import "$T_TMP/rootfs.tar" "$NS/base:1"
is "$T_RC" 0 "bale import of the busybox base"
run "$DOCKER" import "$T_TMP/rootfs.tar" "$NS/base:1"
is "$T_RC" 0 "docker import of the same base"

FIELDS='{{json .Config.Env}}|{{json .Config.Cmd}}|{{json .Config.Entrypoint}}|{{json .Config.WorkingDir}}|{{json .Config.User}}|{{json .Config.ExposedPorts}}|{{json .Config.Volumes}}|{{json .Config.Labels}}|{{json .Config.StopSignal}}|{{json .Config.Healthcheck}}|{{json .Config.OnBuild}}|{{json .Config.Shell}}|{{len .RootFS.Layers}}'

# describe IMAGE DIR: config fields and the file list of the image
describe() {
	"$DOCKER" inspect --format "$FIELDS" "$1" | tr '|' '\n' >"$2.config"
	cid=$("$DOCKER" create --label "bale-build-diff=$ID" "$1" /bin/true) || return 1
	"$DOCKER" export "$cid" | python3 "$LIST" >"$2.files"
	"$DOCKER" rm -f "$cid" >/dev/null
}

cases=${BUILD_DIFF_CASES:-$(ls "$DIFF")}
for c in $cases; do
	dir="$DIFF/$c"
	[ -f "$dir/Dockerfile" ] || continue
	sed "s|@BASE@|$NS/base:1|g" "$dir/Dockerfile" >"$T_TMP/$c.Dockerfile"
	flags=$(cat "$dir/flags" 2>/dev/null || true)
	# shellcheck disable=SC2086
	DOCKER_BUILDKIT=1 "$DOCKER" build -q --network none -f "$T_TMP/$c.Dockerfile" \
		-t "$NS/docker-$c:1" $flags "$dir" >"$T_TMP/$c.docker.log" 2>&1
	drc=$?
	# shellcheck disable=SC2086
	"$BALE" build -q --network none -f "$T_TMP/$c.Dockerfile" -t "$NS/bale-$c:1" $flags \
		--output "type=docker-archive,dest=$T_TMP/$c.tar" "$dir" >"$T_TMP/$c.bale.log" 2>&1
	brc=$?
	if [ "$drc" -ne 0 ]; then
		is "$brc" "$drc" "$c: both builders refuse it"
		continue
	fi
	is "$brc" 0 "$c: bale builds it"
	if [ "$brc" -ne 0 ]; then
		diag "$(tail -5 "$T_TMP/$c.bale.log")"
		continue
	fi
	"$DOCKER" load -i "$T_TMP/$c.tar" >/dev/null 2>&1
	t_ok $? "$c: docker loads bale's image"
	describe "$NS/docker-$c:1" "$T_TMP/$c.d" && describe "$NS/bale-$c:1" "$T_TMP/$c.b"
	if cmp -s "$T_TMP/$c.d.config" "$T_TMP/$c.b.config"; then
		t_ok 0 "$c: same config and layer count"
	else
		t_ok 1 "$c: same config and layer count"
		diag "$(diff "$T_TMP/$c.d.config" "$T_TMP/$c.b.config")"
	fi
	if cmp -s "$T_TMP/$c.d.files" "$T_TMP/$c.b.files"; then
		t_ok 0 "$c: same files"
	else
		t_ok 1 "$c: same files"
		diag "$(diff "$T_TMP/$c.d.files" "$T_TMP/$c.b.files" | head -20)"
	fi
done

done_testing
