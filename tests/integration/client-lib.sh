# Helpers for the registry client's integration tests (source after lib.sh):
# real distribution registries (Debian's docker-registry) on 127.0.0.1,
# plain, htpasswd or TLS; OCI layouts made byte by byte; the fault proxy.
# Everything started here is stopped by its pid on exit.

REGC_PIDS=""
trap 'regc_cleanup; rm -rf "$T_TMP"' EXIT

regc_cleanup() {
	for p in $REGC_PIDS; do kill "$p" 2>/dev/null; done
	for p in $REGC_PIDS; do wait "$p" 2>/dev/null; done
	REGC_PIDS=""
}

regc_need() { # regc_need PROGRAM PACKAGE
	command -v "$1" >/dev/null 2>&1 || skip_all "$1 not installed (Debian package $2)"
}

regc_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nobody listens on (the registry then binds it; a lost race makes
# regc_registry retry with another).
regc_pick_port() {
	local p
	while :; do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		regc_port_free "$p" && { echo "$p"; return; }
	done
}

regc_wait_http() { # regc_wait_http URL [CURL-ARGS...]: until it answers at all
	local url=$1 i
	shift
	for i in $(seq 1 100); do
		curl -s -o /dev/null "$@" "$url" && return 0
		sleep 0.1
	done
	return 1
}

# regc_registry NAME [plain|htpasswd|tls]: start a registry; sets
# REG_<NAME>_PORT, REG_<NAME>_PID, REG_<NAME>_DIR. htpasswd: user "alice",
# password "s3cret". tls: certificate for 127.0.0.1 signed by
# $T_TMP/ca/ca.crt (see regc_make_ca).
regc_registry() {
	local name=$1 kind=${2:-plain} dir="$T_TMP/reg-$1" port try extra=""
	mkdir -p "$dir/data"
	case $kind in
	htpasswd)
		htpasswd -Bbn alice s3cret >"$dir/htpasswd" 2>/dev/null
		extra="auth:
  htpasswd:
    realm: bale-test
    path: $dir/htpasswd"
		;;
	tls)
		regc_make_cert "$dir"
		;;
	esac
	for try in 1 2 3 4 5; do
		port=$(regc_pick_port)
		{
			echo "version: 0.1"
			echo "log: {level: error, accesslog: {disabled: true}}"
			echo "storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}"
			echo "http:"
			echo "  addr: 127.0.0.1:$port"
			echo "  secret: bale-test-secret"
			[ "$kind" = tls ] && printf '  tls: {certificate: %s, key: %s}\n' \
				"$dir/server.crt" "$dir/server.key"
			[ -n "$extra" ] && echo "$extra"
		} >"$dir/config.yml"
		docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
		local pid=$!
		local scheme=http
		[ "$kind" = tls ] && scheme=https
		if regc_wait_http "$scheme://127.0.0.1:$port/v2/" -k && kill -0 "$pid" 2>/dev/null; then
			REGC_PIDS="$REGC_PIDS $pid"
			eval "REG_${name}_PORT=$port REG_${name}_PID=$pid REG_${name}_DIR=$dir"
			return 0
		fi
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	diag "cannot start docker-registry:" "$(cat "$dir/log")"
	return 1
}

# regc_restart_registry NAME: start it again on the same port and storage.
regc_restart_registry() {
	local name=$1 dir port
	eval "dir=\$REG_${name}_DIR port=\$REG_${name}_PORT"
	docker-registry serve "$dir/config.yml" >>"$dir/log" 2>&1 &
	local pid=$!
	REGC_PIDS="$REGC_PIDS $pid"
	eval "REG_${name}_PID=$pid"
	regc_wait_http "http://127.0.0.1:$port/v2/" -k
}

# A test CA in $T_TMP/ca (once).
regc_make_ca() {
	[ -f "$T_TMP/ca/ca.crt" ] && return 0
	mkdir -p "$T_TMP/ca"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bale test CA" \
		-keyout "$T_TMP/ca/ca.key" -out "$T_TMP/ca/ca.crt" >/dev/null 2>&1
}

regc_make_cert() { # regc_make_cert DIR: DIR/server.{crt,key} for 127.0.0.1
	local d=$1
	regc_make_ca
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/ext.cnf"
	openssl x509 -req -in "$d/server.csr" -CA "$T_TMP/ca/ca.crt" -CAkey "$T_TMP/ca/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/server.crt" >/dev/null 2>&1
}

# ---- OCI layouts made by hand (no peer needed to create test images) ----

regc_sha() { sha256sum "$1" | cut -d' ' -f1; }

# regc_blob DIR FILE: move FILE into DIR's blobs, print "sha256:HEX SIZE".
regc_blob() {
	local dir=$1 f=$2 h s
	h=$(regc_sha "$f")
	s=$(stat -c %s "$f")
	mkdir -p "$dir/blobs/sha256"
	mv "$f" "$dir/blobs/sha256/$h"
	echo "sha256:$h $s"
}

# regc_oci_image DIR ARCH NLAYERS LAYER_KIB [MEDIA=oci|docker]: an image
# of NLAYERS random layers in the OCI layout DIR (not yet in index.json);
# prints "DIGEST SIZE" of its manifest. The layers are labelled gzip, as
# registry images are, so that copies keep every digest (an uncompressed
# layer would be compressed on its way to a registry or OCI layout); the
# tests using them move bytes and never decompress them.
regc_oci_image() {
	local dir=$1 arch=$2 n=$3 kib=$4 media=${5:-oci} i layers="" diffs="" d s
	local mt_m mt_c mt_l
	if [ "$media" = docker ]; then
		mt_m=application/vnd.docker.distribution.manifest.v2+json
		mt_c=application/vnd.docker.container.image.v1+json
		mt_l=application/vnd.docker.image.rootfs.diff.tar.gzip
	else
		mt_m=application/vnd.oci.image.manifest.v1+json
		mt_c=application/vnd.oci.image.config.v1+json
		mt_l=application/vnd.oci.image.layer.v1.tar+gzip
	fi
	mkdir -p "$dir/blobs/sha256"
	[ -f "$dir/oci-layout" ] || echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	for i in $(seq 1 "$n"); do
		head -c $((kib * 1024)) /dev/urandom >"$dir/l.tmp"
		read -r d s <<EOF2
$(regc_blob "$dir" "$dir/l.tmp")
EOF2
		layers="$layers${layers:+,}{\"mediaType\":\"$mt_l\",\"digest\":\"$d\",\"size\":$s}"
		diffs="$diffs${diffs:+,}\"$d\""
	done
	printf '{"architecture":"%s","os":"linux","config":{"Env":["N=%s"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$arch" "$RANDOM$RANDOM" "$diffs" >"$dir/c.tmp"
	read -r d s <<EOF2
$(regc_blob "$dir" "$dir/c.tmp")
EOF2
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%s},"layers":[%s]}' \
		"$mt_m" "$mt_c" "$d" "$s" "$layers" >"$dir/m.tmp"
	regc_blob "$dir" "$dir/m.tmp"
}

# regc_oci_tag DIR TAG MEDIATYPE DIGEST SIZE [PLATFORM-JSON]: name it in
# index.json (one entry per call, appended).
regc_oci_tag() {
	local dir=$1 tag=$2 mt=$3 d=$4 s=$5 entries=""
	[ -f "$dir/entries" ] && entries=$(cat "$dir/entries")
	entries="$entries${entries:+,}{\"mediaType\":\"$mt\",\"digest\":\"$d\",\"size\":$s,\"annotations\":{\"org.opencontainers.image.ref.name\":\"$tag\"}}"
	echo "$entries" >"$dir/entries"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' \
		"$entries" >"$dir/index.json"
}

# regc_oci_multiarch DIR TAG KIB: an index of linux/amd64 and linux/arm64
# images (2 layers each) tagged TAG; prints the index "DIGEST SIZE".
regc_oci_multiarch() {
	local dir=$1 tag=$2 kib=$3 a_d a_s b_d b_s
	read -r a_d a_s <<EOF2
$(regc_oci_image "$dir" amd64 2 "$kib")
EOF2
	read -r b_d b_s <<EOF2
$(regc_oci_image "$dir" arm64 2 "$kib")
EOF2
	local mt=application/vnd.oci.image.manifest.v1+json
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"%s","digest":"%s","size":%s,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"%s","digest":"%s","size":%s,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}' \
		"$mt" "$a_d" "$a_s" "$mt" "$b_d" "$b_s" >"$dir/i.tmp"
	local out
	out=$(regc_blob "$dir" "$dir/i.tmp")
	regc_oci_tag "$dir" "$tag" application/vnd.oci.image.index.v1+json $out
	echo "$out"
}

# The digest a registry holds for REPO:TAG (skopeo, a peer, tells).
regc_remote_digest() { # regc_remote_digest docker://... [skopeo flags]
	local ref=$1
	shift
	skopeo inspect --raw "$@" "$ref" 2>/dev/null | sha256sum | sed 's/^/sha256:/; s/ .*//'
}

# Start the fault proxy in front of PORT with RULEs; sets PROXY_PORT.
regc_proxy() {
	local up=$1
	shift
	rm -f "$T_TMP/proxy.port"
	"$top_builddir/tests/integration/client-proxy" "$T_TMP/proxy.port" "$up" "$@" &
	PROXY_PID=$!
	REGC_PIDS="$REGC_PIDS $PROXY_PID"
	local i
	for i in $(seq 1 50); do
		[ -s "$T_TMP/proxy.port" ] && break
		sleep 0.1
	done
	PROXY_PORT=$(cat "$T_TMP/proxy.port")
}

regc_stop() { # regc_stop PID
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
