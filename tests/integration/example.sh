#!/bin/sh
# The README's quickstart flow on testdata/examples/: bases made with
# make-bases.sh (bale import of the host's busybox and gcc), the multi-stage
# example built, pushed to `bale serve`, removed, pulled back, run with bale
# run (and with docker when an engine answers), and carried across an "air
# gap" in an oci-archive. The program's output names the build argument,
# the toolchain's compiler and the runtime user, so the checks see that the
# right stages, config and bytes arrived.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/registry-lib.sh"

ex=$top_srcdir/testdata/examples
export BALE_ROOT="$T_TMP/root"
command -v gcc >/dev/null 2>&1 || skip_all "no gcc (apt-get install build-essential)"
DOCKER=/usr/bin/docker
docker_up=0
if [ -x "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1; then docker_up=1; fi

BALE="$BALE" sh "$ex/make-bases.sh" "$T_TMP/bases" >"$T_TMP/bases.out" 2>&1
case $? in
0) t_ok 0 "make-bases.sh imports example/busybox:1 and example/toolchain:1" ;;
77) skip_all "$(tail -n 1 "$T_TMP/bases.out")" ;;
*) t_ok 1 "make-bases.sh imports the bases"; diag "$(cat "$T_TMP/bases.out")" ;;
esac
run env BALE="$BALE" sh "$ex/make-bases.sh" "$T_TMP/bases"
is "$T_OUT" "example/busybox:1: up to date ($(du -h "$T_TMP/bases/busybox.tar" | cut -f1) tarball)
example/toolchain:1: up to date ($(du -h "$T_TMP/bases/toolchain.tar" | cut -f1) tarball)" \
	"a second make-bases.sh imports nothing (same tarballs)"
run "$BALE" run --rm --network none example/toolchain:1 gcc -dumpfullversion
is "$T_OUT" "$(gcc -dumpfullversion)" "the toolchain image has the host's gcc"

# The build: the version build argument and the compiler reach the binary.
gccv=$(gcc -dumpfullversion)
want="hello 2.5, built by gcc $gccv, statically linked
running as uid 65534 on bale ($(uname -m))"
run "$BALE" build --network none --progress plain --build-arg VERSION=2.5 -t example/hello:1 "$ex"
is "$T_RC" 0 "bale build of the example"
[ "$T_RC" -eq 0 ] || diag "$T_ERR"
like "$T_ERR" 'Hello, builder!' "its RUN step ran the static binary in the toolchain stage"
run "$BALE" build --network none --progress plain --build-arg VERSION=2.5 -t example/hello:1 "$ex"
like "$T_ERR" '\(0 steps, [1-9][0-9]* cached\)' "a second build takes every step from the cache"
run "$BALE" inspect example/hello:1
is "$(printf '%s' "$T_OUT" | jq -c '.[0].Config.config | [.User, .Entrypoint, .Cmd, .Labels["org.opencontainers.image.version"]]')" \
	'["nobody",["/usr/local/bin/hello"],["world"],"2.5"]' "config: user, entrypoint, cmd, version label"
is "$(printf '%s' "$T_OUT" | jq '.[0].Layers | length')" 2 \
	"two layers: busybox and the binary (the toolchain stays behind)"

start_registry --root "$T_TMP/reg" || { t_ok 1 "bale serve starts"; done_testing; exit 1; }
ref=$REG/example/hello:1
trap 'stop_registry; [ "$docker_up" = 1 ] && "$DOCKER" rmi -f "$ref" >/dev/null 2>&1; rm -rf "$T_TMP"' EXIT
run "$BALE" push -q example/hello:1 "$ref"
is "$T_RC" 0 "bale push to bale serve"
pushed=$T_OUT
is "$(image_ok example/hello 1)" ok "the registry serves every blob with its digest"
run "$BALE" rmi example/hello:1
is "$T_RC" 0 "bale rmi"
run "$BALE" pull -q "$ref"
is "$T_OUT" "$pushed" "bale pull gets the pushed manifest back"
run "$BALE" run --rm "$ref"
is "$T_OUT" "Hello, world!
$want" "bale run prints the greeting, the build and the runtime user"
run "$BALE" run --rm "$ref" tester
like "$T_OUT" '^Hello, tester!' "arguments replace CMD"

# Air gap: registry -> oci-archive -> another repository.
run "$BALE" copy -q --all "$ref" "oci-archive:$T_TMP/app.tar"
is "$T_RC" 0 "bale copy to an oci-archive"
run "$BALE" copy -q --all "oci-archive:$T_TMP/app.tar" "$REG/airgap/hello:1"
is "$T_OUT" "$pushed" "and from it into the registry, same digest"

if [ "$docker_up" = 1 ]; then
	"$DOCKER" rmi -f "$ref" >/dev/null 2>&1
	run "$DOCKER" pull -q "$ref"
	is "$T_RC" 0 "docker pulls the example from bale serve"
	[ "$T_RC" -eq 0 ] || diag "$T_ERR"
	run "$DOCKER" run --rm --network none --hostname bale "$ref"
	is "$T_OUT" "Hello, world!
$want" "and runs it with the same output"
else
	echo "ok $((T_COUNT + 1)) # SKIP dockerd does not answer (start-dockerd.sh)"
	T_COUNT=$((T_COUNT + 1))
fi

done_testing
