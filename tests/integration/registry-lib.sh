# Helpers for the registry integration tests (sourced after lib.sh): start
# and stop `bale serve` on a free port, make OCI layouts, and do HTTP
# requests with curl capturing status, headers and body.

command -v curl >/dev/null 2>&1 || skip_all "curl is not installed (Debian package curl)"
command -v jq >/dev/null 2>&1 || skip_all "jq is not installed (Debian package jq)"

REG_PID=
REG_PORT=
REG_LOG="$T_TMP/serve.log"

# start_registry [bale serve args...]: start on 127.0.0.1:0, wait for the
# "listening" line, set REG_PORT and REG (host:port).
start_registry() {
	: > "$REG_LOG"
	"$BALE" serve --listen 127.0.0.1:0 "$@" 2>>"$REG_LOG" &
	REG_PID=$!
	local i
	for i in $(seq 1 100); do
		REG_PORT=$(sed -n 's/.*listening on .* port \([0-9]*\).*/\1/p' "$REG_LOG" | tail -n 1)
		[ -n "$REG_PORT" ] && break
		kill -0 "$REG_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$REG_PORT" ]; then
		diag "bale serve did not start:"; diag "$(cat "$REG_LOG")"
		return 1
	fi
	REG="127.0.0.1:$REG_PORT"
	return 0
}

stop_registry() {
	if [ -n "$REG_PID" ]; then
		kill "$REG_PID" 2>/dev/null
		wait "$REG_PID" 2>/dev/null
	fi
	REG_PID=
}

kill9_registry() {
	if [ -n "$REG_PID" ]; then
		kill -9 "$REG_PID" 2>/dev/null
		wait "$REG_PID" 2>/dev/null
	fi
	REG_PID=
}

trap 'stop_registry; rm -rf "$T_TMP"' EXIT

# req METHOD URLPATH [curl args...]: sets ST (status), HDR (headers, CR
# stripped), BODY. URLPATH is relative to http://$REG unless it starts with
# http.
req() {
	local m=$1 p=$2 url
	shift 2
	case $p in http*) url=$p ;; *) url="http://$REG$p" ;; esac
	if [ "$m" = HEAD ]; then set -- -I "$@"; else set -- -X "$m" "$@"; fi
	ST=$(curl -s -o "$T_TMP/body" -D "$T_TMP/hdr" -w '%{http_code}' "$@" "$url")
	HDR=$(tr -d '\r' < "$T_TMP/hdr")
	# curl -I writes the headers where the body would go
	if [ "$m" = HEAD ]; then BODY=; : > "$T_TMP/body"; else BODY=$(cat "$T_TMP/body"); fi
}

# hdr NAME: value of a response header of the last req (case-insensitive).
hdr() {
	printf '%s\n' "$HDR" | grep -i "^$1:" | head -n 1 | sed 's/^[^:]*: *//'
}

# errcode: the first error code of the last JSON error body.
errcode() {
	printf '%s' "$BODY" | jq -r '.errors[0].code' 2>/dev/null
}

sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
sha_str() { printf '%s' "$1" | sha256sum | sed 's/^\([0-9a-f]*\).*/sha256:\1/'; }

# push_blob REPO FILE: monolithic upload; prints the digest.
push_blob() {
	local d
	d=$(sha "$2")
	curl -sf -X POST --data-binary @"$2" -H 'Content-Type: application/octet-stream' \
		"http://$REG/v2/$1/blobs/uploads/?digest=$d" >/dev/null || return 1
	echo "$d"
}

# push_manifest REPO REF FILE MEDIATYPE: PUT; prints the status.
push_manifest() {
	curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: $4" \
		--data-binary @"$3" "http://$REG/v2/$1/manifests/$2"
}

# mk_oci DIR TAG NLAYERS LAYER_BYTES: an OCI image layout with NLAYERS
# gzip tar layers of random bytes (clients copy compressed layers as they
# are). Prints the manifest digest.
mk_oci() {
	local dir=$1 tag=$2 n=$3 bytes=$4 i d s layers="" diffids="" cfg cd cs m md ms
	mkdir -p "$dir/blobs/sha256"
	printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
	for i in $(seq 1 "$n"); do
		# a real tar.gz (clients unpack it), of random bytes so every
		# layer differs and gzip cannot shrink it
		head -c "$bytes" /dev/urandom > "$dir/data$i"
		tar -C "$dir" -c "data$i" > "$dir/tar"
		diffids="$diffids${diffids:+,}\"$(sha "$dir/tar")\""
		gzip -1 -n < "$dir/tar" > "$dir/tmp"
		rm -f "$dir/data$i" "$dir/tar"
		d=$(sha256sum "$dir/tmp" | cut -d' ' -f1); s=$(stat -c %s "$dir/tmp")
		mv "$dir/tmp" "$dir/blobs/sha256/$d"
		layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$s}"
	done
	cfg="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diffids]}}"
	printf '%s' "$cfg" > "$dir/tmp"
	cd=$(sha256sum "$dir/tmp" | cut -d' ' -f1); cs=$(stat -c %s "$dir/tmp")
	mv "$dir/tmp" "$dir/blobs/sha256/$cd"
	m="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cd\",\"size\":$cs},\"layers\":[$layers]}"
	printf '%s' "$m" > "$dir/tmp"
	md=$(sha256sum "$dir/tmp" | cut -d' ' -f1); ms=$(stat -c %s "$dir/tmp")
	mv "$dir/tmp" "$dir/blobs/sha256/$md"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
		"$md" "$ms" "$tag" > "$dir/index.json"
	echo "sha256:$md"
}

# push_image REPO TAG LAYOUT MANIFEST_DIGEST: push an image of an OCI
# layout made by mk_oci with curl: its blobs, then its manifest by tag.
push_image() {
	local repo=$1 tag=$2 dir=$3 md=$4 d
	for d in $(jq -r '.config.digest, .layers[].digest' "$dir/blobs/sha256/${md#sha256:}"); do
		push_blob "$repo" "$dir/blobs/sha256/${d#sha256:}" >/dev/null || return 1
	done
	push_manifest "$repo" "$tag" "$dir/blobs/sha256/${md#sha256:}" \
		application/vnd.oci.image.manifest.v1+json
}

# image_ok REPO REF: every blob of the manifest REF is served with its
# digest; prints "ok" or what failed.
image_ok() {
	local m="$T_TMP/image_ok.json" d got
	curl -sf -H 'Accept: */*' -o "$m" "http://$REG/v2/$1/manifests/$2" || { echo "manifest $2 missing"; return; }
	for d in $(jq -r '(.config.digest // empty), (.layers // [] | .[].digest), (.manifests // [] | .[].digest)' "$m"); do
		if jq -e '.manifests' "$m" >/dev/null 2>&1; then
			got=$(image_ok "$1" "$d"); [ "$got" = ok ] || { echo "$got"; return; }
			continue
		fi
		got=$(curl -sf "http://$REG/v2/$1/blobs/$d" | sha256sum | sed 's/^\([0-9a-f]*\).*/sha256:\1/')
		[ "$got" = "$d" ] || { echo "blob $d of $1:$2 is broken"; return; }
	done
	echo ok
}
