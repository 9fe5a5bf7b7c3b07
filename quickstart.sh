#!/bin/sh
# First command of the README: on a fresh Debian 12 machine as root, install
# what bale needs, build it into _build/release, then show its main job end
# to end on its embedded defaults, with no network:
#   make two base images with `bale import` (testdata/examples/make-bases.sh),
#   build the multi-stage example testdata/examples/Containerfile,
#   start `bale serve` (127.0.0.1:5000, or a free port when another program
#   has that one), push the image to it, remove it,
#   pull it back (with bale, and with docker when an engine answers), run it.
# It can be run again: the bases are kept and the build is cached. Images go
# to bale's default store ($BALE_ROOT, else /var/lib/bale), where the README's
# tour finds them.
set -eu
cd "$(dirname "$0")"
src=$(pwd)
start=$(date +%s)
registry=127.0.0.1:5000
image=example/hello:1
remote=$registry/$image

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run me as root: I install Debian packages with apt-get"

step "installing the Debian packages of .ci/packages (apt-get)"
.ci/install-packages

step "building bale into _build/release"
[ -x configure ] || autoreconf -fi
mkdir -p _build/release
(
	cd _build/release
	[ -f Makefile ] || ../../configure >configure.out || { cat configure.out; exit 1; }
	make -j"$(nproc)" >make.out 2>&1 || { tail -n 40 make.out; exit 1; }
)
bale=$src/_build/release/bale
"$bale" version

step "making the base images example/busybox:1 and example/toolchain:1 (bale import, from this machine's packages)"
BALE=$bale sh testdata/examples/make-bases.sh

step "building $image from testdata/examples/Containerfile"
"$bale" build --network none --progress plain -t "$image" testdata/examples

# start_serve [ARGS...]: bale serve in the background; 0 once it listens,
# 2 when its port is taken, else fail.
start_serve() {
	"$bale" serve "$@" 2>"$serve_log" &
	serve_pid=$!
	i=0
	until grep -q 'listening on' "$serve_log"; do
		if ! kill -0 "$serve_pid" 2>/dev/null; then
			wait "$serve_pid" 2>/dev/null || true
			grep -q 'in use' "$serve_log" && return 2
			cat "$serve_log" >&2
			fail "bale serve did not start (log above, also in $serve_log)"
		fi
		i=$((i + 1))
		[ "$i" -lt 100 ] || fail "bale serve did not say it listens within 10 s (log: $serve_log)"
		sleep 0.1
	done
}

step "starting bale serve on its defaults ($registry)"
serve_log=$src/_build/quickstart-serve.log
serve_pid=
trap '[ -z "$serve_pid" ] || { kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; } || true' EXIT
trap 'exit 130' INT TERM
if ! start_serve; then
	# Another program has port 5000 (ss -ltnp 'sport = :5000' says which):
	# take any free port rather than stop the tour.
	printf 'port 5000 of 127.0.0.1 is taken by another program; using a free port instead\n'
	start_serve --listen 127.0.0.1:0 || fail "bale serve found no free port (log: $serve_log)"
	port=$(sed -n 's/.*listening on .* port \([0-9]*\).*/\1/p' "$serve_log")
	registry=127.0.0.1:$port
	remote=$registry/$image
fi
sed -n '/listening on/p' "$serve_log"

step "pushing $image to $remote"
"$bale" push --progress quiet "$image" "$remote"

step "removing it from the local store, then pulling it back"
"$bale" rmi "$image"
"$bale" rmi "$remote" 2>/dev/null || true # left by an earlier run
"$bale" pull --progress quiet "$remote"

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
	step "docker: pulling $remote and running it"
	docker pull -q "$remote"
	docker run --rm "$remote"
else
	step "docker: no engine answers 'docker info', skipping docker pull and run"
fi

step "bale run $remote"
"$bale" run --rm "$remote"

printf '\nquickstart: OK in %ss: bale built, %s built from two imported bases,\n' "$(($(date +%s) - start))" "$image"
printf 'served by bale serve, pushed, pulled and run. The binary is %s;\n' "_build/release/bale"
printf 'the README goes on from here.\n'
