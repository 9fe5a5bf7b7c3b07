#!/bin/bash
# bench/registry.sh: `bale serve` side by side with the distribution
# registry (Debian's docker-registry) and nginx serving the same manifest
# and blob bytes as static files (the ceiling for this machine).
#
#   wrk, 64 connections: manifest GET by tag, blob HEAD, 1 MiB blob GET
#   curl: upload of a 512 MiB blob (POST+PUT) and of 200 small blobs
#   skopeo: push and pull of a 512 MiB layer and of 200 small layers
#   server CPU per MiB pushed, RSS under load (peak)
#
# usage: bench/registry.sh [BALE]   (default: ./bale, or $BALE)
# env:   DURATION=10 (seconds per wrk run), BIG_MIB=512, SMALL_N=200
# Needs: wrk, ab (apache2-utils), curl, jq, skopeo, nginx, docker-registry (each missing peer
# is reported and its column left empty).
set -u
BALE=${1:-${BALE:-./bale}}
DURATION=${DURATION:-10}
BIG_MIB=${BIG_MIB:-512}
SMALL_N=${SMALL_N:-200}
CONNS=64
command -v wrk >/dev/null || { echo "bench: wrk is needed (Debian package wrk)" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench: jq is needed (Debian package jq)" >&2; exit 1; }
[ -x "$BALE" ] || { echo "bench: no bale binary at '$BALE'" >&2; exit 1; }

W=$(mktemp -d /tmp/bale-bench.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
TICK=$(getconf CLK_TCK)
wait_http() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; return 1; }

# ---- test data: a small image (manifest + config + 1 MiB layer)
mkdir -p "$W/data"
head -c 1048576 /dev/urandom > "$W/data/layer"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' \
	"$(sha "$W/data/layer")" > "$W/data/config"
LD=$(sha "$W/data/layer"); CD=$(sha "$W/data/config")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":1048576}]}' \
	"$CD" "$(stat -c %s "$W/data/config")" "$LD" > "$W/data/manifest"
MT=application/vnd.oci.image.manifest.v1+json

# OCI layouts for skopeo: one big layer, SMALL_N small layers
mk_layout() { # DIR NLAYERS BYTES
	local dir=$1 n=$2 bytes=$3 i d layers="" diff=""
	mkdir -p "$dir/blobs/sha256"
	printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
	for i in $(seq 1 "$n"); do
		head -c "$bytes" /dev/urandom > "$dir/data"
		tar -C "$dir" -c data > "$dir/t"; diff="$diff${diff:+,}\"$(sha "$dir/t")\""
		gzip -1 -n < "$dir/t" > "$dir/g"; d=$(sha "$dir/g")
		layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"$d\",\"size\":$(stat -c %s "$dir/g")}"
		mv "$dir/g" "$dir/blobs/sha256/${d#sha256:}"
	done
	rm -f "$dir/data" "$dir/t"
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[%s]}}' "$diff" > "$dir/c"
	d=$(sha "$dir/c"); mv "$dir/c" "$dir/blobs/sha256/${d#sha256:}"
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
		"$MT" "$d" "$(stat -c %s "$dir/blobs/sha256/${d#sha256:}")" "$layers" > "$dir/m"
	d=$(sha "$dir/m"); mv "$dir/m" "$dir/blobs/sha256/${d#sha256:}"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
		"$MT" "$d" "$(stat -c %s "$dir/blobs/sha256/${d#sha256:}")" > "$dir/index.json"
}
echo "bench: preparing data (${BIG_MIB} MiB blob, $SMALL_N small blobs, skopeo layouts)" >&2
head -c $((BIG_MIB * 1048576)) /dev/urandom > "$W/data/big"
BIGD=$(sha "$W/data/big")
mkdir -p "$W/data/small"
for i in $(seq 1 "$SMALL_N"); do head -c 4096 /dev/urandom > "$W/data/small/$i"; done
HAVE_SKOPEO=no
if command -v skopeo >/dev/null; then
	HAVE_SKOPEO=yes
	mk_layout "$W/oci-big" 1 $((BIG_MIB * 1048576))
	mk_layout "$W/oci-small" "$SMALL_N" 4096
fi

# ---- servers
declare -A PID PORT
start_bale() {
	PORT[bale]=$(free_port)
	printf 'log:\n  access_log: false\n' > "$W/bale.yml"
	"$BALE" serve --listen "127.0.0.1:${PORT[bale]}" --root "$W/bale-root" -c "$W/bale.yml" 2>"$W/bale.log" &
	PID[bale]=$!; PIDS+=("$!")
	wait_http "http://127.0.0.1:${PORT[bale]}/v2/"
}
start_distribution() {
	command -v docker-registry >/dev/null || { echo "bench: docker-registry missing (Debian package docker-registry)" >&2; return 1; }
	PORT[dist]=$(free_port)
	cat > "$W/dist.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/dist-root
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${PORT[dist]}
EOF
	docker-registry serve "$W/dist.yml" >"$W/dist.log" 2>&1 &
	PID[dist]=$!; PIDS+=("$!")
	wait_http "http://127.0.0.1:${PORT[dist]}/v2/"
}
start_nginx() {
	command -v nginx >/dev/null || { echo "bench: nginx missing (Debian package nginx)" >&2; return 1; }
	PORT[nginx]=$(free_port)
	local www="$W/www/v2/bench/app"
	mkdir -p "$www/manifests" "$www/blobs"
	cp "$W/data/manifest" "$www/manifests/v1"
	cp "$W/data/layer" "$www/blobs/$LD"
	chmod -R a+rX "$W/www"
	cat > "$W/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:${PORT[nginx]};
		root $W/www;
		location /v2/bench/app/manifests/ { default_type $MT; }
	}
}
EOF
	nginx -c "$W/nginx.conf" &
	PID[nginx]=$!; PIDS+=("$!")
	wait_http "http://127.0.0.1:${PORT[nginx]}/v2/bench/app/manifests/v1"
}

# POST + PUT of one file; prints nothing, fails like curl -f
upload_blob() { # BASEURL REPO FILE
	local b=$1 loc sep d
	d=$(sha "$3")
	loc=$(curl -s -D - -o /dev/null -X POST "$b/v2/$2/blobs/uploads/" | tr -d '\r' | sed -n 's/^Location: //Ip')
	case $loc in http*) ;; *) loc="$b$loc" ;; esac
	case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
	curl -sf -X PUT --data-binary @"$3" -H 'Content-Type: application/octet-stream' \
		"$loc${sep}digest=$d" -o /dev/null
}

push_small_image() { # BASEURL
	local b=$1 f
	for f in layer config; do
		upload_blob "$b" bench/app "$W/data/$f" || return 1
	done
	curl -sf -X PUT -H "Content-Type: $MT" --data-binary @"$W/data/manifest" "$b/v2/bench/app/manifests/v1" -o /dev/null
}

# children of nginx's master count too (its workers do the work)
tree_pids() { echo "$1"; pgrep -P "$1"; }
tree_rss_kib() { local s=0 p; for p in $(tree_pids "$1"); do s=$((s + $(rss_kib "$p"))); done; echo $s; }

declare -A R
wrk_run() { # NAME URL [wrk args]
	local name=$1 url=$2 out rps tput
	shift 2
	out=$(wrk -t2 -c$CONNS -d"${DURATION}s" "$@" "$url" 2>&1)
	rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	tput=$(echo "$out" | awk '/Transfer\/sec/ {print $2}')
	echo "$rps $tput"
}
# wrk waits for a body after HEAD; ab -i does HEAD with keep-alive
ab_head() { # URL
	command -v ab >/dev/null || { echo "- -"; return; }
	ab -q -k -i -c $CONNS -t "$DURATION" -n 10000000 "$1" 2>/dev/null |
		awk '/Requests per second/ {print $4, "-"}'
}

bench_reads() { # KEY BASEURL
	local k=$1 b=$2 peak
	R[$k,manifest]=$(wrk_run manifest "$b/v2/bench/app/manifests/v1" -H "Accept: $MT")
	R[$k,head]=$(ab_head "$b/v2/bench/app/blobs/$LD")
	R[$k,blob]=$(wrk_run blob "$b/v2/bench/app/blobs/$LD")
	R[$k,rss]=$(( $(tree_rss_kib "${PID[$k]}") / 1024 ))
}

bench_writes() { # KEY BASEURL
	local k=$1 b=$2 t0 t1 c0 c1 i
	c0=$(cpu_ticks "${PID[$k]}"); t0=$(date +%s.%N)
	upload_blob "$b" bench/big "$W/data/big" || echo "bench: $k: big upload failed" >&2
	t1=$(date +%s.%N); c1=$(cpu_ticks "${PID[$k]}")
	R[$k,big_s]=$(awk "BEGIN{printf \"%.2f\", $t1-$t0}")
	R[$k,cpu_mib]=$(awk "BEGIN{printf \"%.2f\", ($c1-$c0)*1000/$TICK/$BIG_MIB}")
	R[$k,rss_push]=$(( $(hwm_kib "${PID[$k]}") / 1024 ))
	t0=$(date +%s.%N)
	for i in $(seq 1 "$SMALL_N"); do
		upload_blob "$b" bench/small "$W/data/small/$i" || echo "bench: $k: small upload failed" >&2
	done
	t1=$(date +%s.%N)
	R[$k,small_s]=$(awk "BEGIN{printf \"%.2f\", $t1-$t0}")
	if [ "$HAVE_SKOPEO" = yes ]; then
		local r="127.0.0.1:${PORT[$k]}"
		for what in big small; do
			t0=$(date +%s.%N)
			skopeo copy -q --dest-tls-verify=false "oci:$W/oci-$what:v1" "docker://$r/sk/$what:v1" ||
				echo "bench: $k: skopeo push $what failed" >&2
			t1=$(date +%s.%N)
			R[$k,sk_push_$what]=$(awk "BEGIN{printf \"%.2f\", $t1-$t0}")
			rm -rf "$W/pull-$k-$what"
			t0=$(date +%s.%N)
			skopeo copy -q --src-tls-verify=false "docker://$r/sk/$what:v1" "oci:$W/pull-$k-$what:v1" ||
				echo "bench: $k: skopeo pull $what failed" >&2
			t1=$(date +%s.%N)
			R[$k,sk_pull_$what]=$(awk "BEGIN{printf \"%.2f\", $t1-$t0}")
			rm -rf "$W/pull-$k-$what"
		done
	fi
}

KEYS=()
echo "bench: bale serve" >&2
start_bale && push_small_image "http://127.0.0.1:${PORT[bale]}" && KEYS+=(bale)
if start_distribution && push_small_image "http://127.0.0.1:${PORT[dist]}"; then KEYS+=(dist); fi
start_nginx && KEYS+=(nginx)
for k in "${KEYS[@]}"; do
	echo "bench: reads: $k" >&2
	bench_reads "$k" "http://127.0.0.1:${PORT[$k]}"
done
for k in "${KEYS[@]}"; do
	[ "$k" = nginx ] && continue
	echo "bench: writes: $k" >&2
	bench_writes "$k" "http://127.0.0.1:${PORT[$k]}"
done

col() { local v=${R[$1,$2]:-}; echo "${v:--}"; }
field() { echo "${1:--}" | awk -v n="$2" '{print $n}'; }
echo
echo "bale serve vs distribution ($(docker-registry --version 2>/dev/null | awk '{print $NF}')) vs nginx $(nginx -v 2>&1 | sed 's/.*\///'); wrk -t2 -c$CONNS -d${DURATION}s; $(nproc) CPUs"
printf '%-34s %14s %14s %14s\n' "" "bale" "distribution" "nginx"
printf '%-34s %14s %14s %14s\n' "manifest GET by tag (req/s)" "$(field "$(col bale manifest)" 1)" "$(field "$(col dist manifest)" 1)" "$(field "$(col nginx manifest)" 1)"
printf '%-34s %14s %14s %14s\n' "blob HEAD (req/s, ab -k)" "$(field "$(col bale head)" 1)" "$(field "$(col dist head)" 1)" "$(field "$(col nginx head)" 1)"
printf '%-34s %14s %14s %14s\n' "1 MiB blob GET (req/s)" "$(field "$(col bale blob)" 1)" "$(field "$(col dist blob)" 1)" "$(field "$(col nginx blob)" 1)"
printf '%-34s %14s %14s %14s\n' "1 MiB blob GET (transfer/s)" "$(field "$(col bale blob)" 2)" "$(field "$(col dist blob)" 2)" "$(field "$(col nginx blob)" 2)"
printf '%-34s %14s %14s %14s\n' "RSS after the read runs (MiB)" "$(col bale rss)" "$(col dist rss)" "$(col nginx rss)"
printf '%-34s %14s %14s %14s\n' "curl ${BIG_MIB} MiB POST+PUT (s)" "$(col bale big_s)" "$(col dist big_s)" "n/a"
printf '%-34s %14s %14s %14s\n' "server CPU per MiB pushed (ms)" "$(col bale cpu_mib)" "$(col dist cpu_mib)" "n/a"
printf '%-34s %14s %14s %14s\n' "peak RSS incl. pushes (MiB)" "$(col bale rss_push)" "$(col dist rss_push)" "n/a"
printf '%-34s %14s %14s %14s\n' "curl $SMALL_N small blobs POST+PUT (s)" "$(col bale small_s)" "$(col dist small_s)" "n/a"
printf '%-34s %14s %14s %14s\n' "skopeo push ${BIG_MIB} MiB layer (s)" "$(col bale sk_push_big)" "$(col dist sk_push_big)" "n/a"
printf '%-34s %14s %14s %14s\n' "skopeo pull ${BIG_MIB} MiB layer (s)" "$(col bale sk_pull_big)" "$(col dist sk_pull_big)" "n/a"
printf '%-34s %14s %14s %14s\n' "skopeo push $SMALL_N layers (s)" "$(col bale sk_push_small)" "$(col dist sk_push_small)" "n/a"
printf '%-34s %14s %14s %14s\n' "skopeo pull $SMALL_N layers (s)" "$(col bale sk_pull_small)" "$(col dist sk_pull_small)" "n/a"
