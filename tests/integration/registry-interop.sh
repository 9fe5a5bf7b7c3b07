#!/bin/bash
# `bale serve` with the real clients on 127.0.0.1: skopeo (incl. copy
# --all of an index), podman, buildah, docker (dockerd must be running, e.g.
# started by ../shared/scripts/start-dockerd.sh) and containerd's ctr;
# without auth, with htpasswd, with the token service, and over TLS with a
# test CA. A client that is not installed has its checks skipped, saying
# which Debian package provides it.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/registry-lib.sh"

skip() { # skip N REASON: N skipped checks
	local i
	for i in $(seq 1 "$1"); do T_COUNT=$((T_COUNT + 1)); echo "ok $T_COUNT # SKIP $2"; done
}
have() { command -v "$1" >/dev/null 2>&1; }
have skopeo || skip_all "skopeo is not installed (Debian package skopeo)"
have openssl || skip_all "openssl is not installed (Debian package openssl)"
have htpasswd || skip_all "htpasswd is not installed (Debian package apache2-utils)"

export DOCKER_CONFIG="$T_TMP/docker-config"
export REGISTRY_AUTH_FILE="$T_TMP/containers-auth.json"
mkdir -p "$DOCKER_CONFIG"
echo '{}' > "$REGISTRY_AUTH_FILE"
DOCKER=no
if have docker && docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then DOCKER=yes; fi
CTR_SOCK=
for s in /run/containerd/containerd.sock /var/run/docker/containerd/containerd.sock; do
	# (a socket file can outlive its daemon: ask it)
	[ -S "$s" ] && have ctr && ctr -a "$s" version >/dev/null 2>&1 && CTR_SOCK=$s && break
done
CERTS_D=

cleanup_all() {
	stop_registry
	[ -n "$CERTS_D" ] && rm -rf "$CERTS_D"
	if [ "$DOCKER" = yes ]; then
		docker images --format '{{.Repository}}:{{.Tag}}' | grep "^127.0.0.1:" |
			xargs -r docker rmi -f >/dev/null 2>&1
		docker rmi -f bale-interop:1 >/dev/null 2>&1
	fi
	[ -n "$CTR_SOCK" ] && ctr -a "$CTR_SOCK" -n bale-interop images ls -q 2>/dev/null |
		xargs -r ctr -a "$CTR_SOCK" -n bale-interop images rm >/dev/null 2>&1
	rm -rf "$T_TMP"
}
trap cleanup_all EXIT

SRC="$T_TMP/src"
MD=$(mk_oci "$SRC" v1 3 300000)

# An OCI layout holding an index of two images, for copy --all.
mk_index() {
	local dir=$1 a b da sa db sb idx di si
	a=$(mk_oci "$T_TMP/ia" a 1 1000); b=$(mk_oci "$T_TMP/ib" b 2 1000)
	mkdir -p "$dir/blobs/sha256"
	cp "$T_TMP"/ia/blobs/sha256/* "$T_TMP"/ib/blobs/sha256/* "$dir/blobs/sha256/"
	cp "$T_TMP/ia/oci-layout" "$dir/"
	sa=$(stat -c %s "$dir/blobs/sha256/${a#sha256:}"); sb=$(stat -c %s "$dir/blobs/sha256/${b#sha256:}")
	idx="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$a\",\"size\":$sa,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$b\",\"size\":$sb,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}}]}"
	printf '%s' "$idx" > "$dir/tmp"; di=$(sha256sum "$dir/tmp" | cut -d' ' -f1); si=$(stat -c %s "$dir/tmp")
	mv "$dir/tmp" "$dir/blobs/sha256/$di"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"multi"}}]}' "$di" "$si" > "$dir/index.json"
	echo "sha256:$di"
}
MI=$(mk_index "$T_TMP/idx")

# skopeo inspect spells the source flags without --src-: map them, so
# every round can use the same $SK_SRC.
skopeo() {
	if [ "$1" = inspect ]; then
		shift
		set -- inspect $(printf '%s\n' "$@" | sed 's/^--src-/--/' | tr '\n' ' ')
	fi
	command skopeo "$@"
}

blobs_of() { ls "$1/blobs/sha256" | sort | tr '\n' ' '; }

# ---- every client against one server; $1 = mode label, $2.. = creds/TLS flags
# SK_DEST / SK_SRC: skopeo flags; PD: podman/buildah flags; TRANSPORT: http|https
interop_round() {
	local mode=$1 r
	r="$REG/$mode"
	# skopeo: push, exact digest, pull back, index with --all
	run skopeo copy $SK_DEST "oci:$SRC:v1" "docker://$r/skopeo:v1"
	t_ok "$T_RC" "[$mode] skopeo copy oci -> registry"; [ "$T_RC" = 0 ] || diag "$T_ERR"
	run skopeo inspect $SK_SRC --raw "docker://$r/skopeo:v1"
	printf '%s' "$T_OUT" > "$T_TMP/raw"
	is "$(sha "$T_TMP/raw")" "$MD" "[$mode] skopeo reads the manifest bytes it pushed"
	rm -rf "$T_TMP/back"
	run skopeo copy $SK_SRC "docker://$r/skopeo:v1" "oci:$T_TMP/back:v1"
	is "$T_RC:$(blobs_of "$T_TMP/back")" "0:$(blobs_of "$SRC")" "[$mode] skopeo pull gives the same blobs"
	run skopeo copy --all $SK_DEST "oci:$T_TMP/idx:multi" "docker://$r/multi:1"
	t_ok "$T_RC" "[$mode] skopeo copy --all of an index"; [ "$T_RC" = 0 ] || diag "$T_ERR"
	run skopeo inspect $SK_SRC --raw "docker://$r/multi:1"
	printf '%s' "$T_OUT" > "$T_TMP/raw"
	is "$(sha "$T_TMP/raw"):$(jq -r '.manifests | length' "$T_TMP/raw")" "$MI:2" "[$mode] index served as pushed"
	rm -rf "$T_TMP/idxback"
	run skopeo copy --all $SK_SRC "docker://$r/multi:1" "oci:$T_TMP/idxback:multi"
	is "$T_RC:$(blobs_of "$T_TMP/idxback")" "0:$(blobs_of "$T_TMP/idx")" "[$mode] skopeo copy --all back gives every blob"

	# podman and buildah
	if have podman; then
		run podman pull $PD "$r/skopeo:v1"
		t_ok "$T_RC" "[$mode] podman pull"; [ "$T_RC" = 0 ] || diag "$T_ERR"
		run podman push $PD "$r/skopeo:v1" "docker://$r/podman:1"
		t_ok "$T_RC" "[$mode] podman push"; [ "$T_RC" = 0 ] || diag "$T_ERR"
		run podman rmi -f "$r/skopeo:v1"
	else
		skip 2 "podman is not installed (Debian package podman)"
	fi
	if have buildah; then
		run buildah pull $PD "$r/podman:1"
		run buildah push $PD "$r/podman:1" "docker://$r/buildah:1"
		t_ok "$T_RC" "[$mode] buildah push"; [ "$T_RC" = 0 ] || diag "$T_ERR"
		buildah rmi -f "$r/podman:1" >/dev/null 2>&1
	else
		skip 1 "buildah is not installed (Debian package buildah)"
	fi

	# docker: push, mount into a second repository, pull
	if [ "$DOCKER" = yes ]; then
		docker tag bale-interop:1 "$r/docker:1"
		run docker push "$r/docker:1"
		t_ok "$T_RC" "[$mode] docker push"; [ "$T_RC" = 0 ] || diag "$T_OUT $T_ERR"
		docker tag bale-interop:1 "$r/docker2:1"
		run docker push "$r/docker2:1"
		like "$T_OUT" "Mounted from $mode/docker" "[$mode] docker mounts into a second repository"
		docker rmi -f "$r/docker:1" "$r/docker2:1" >/dev/null 2>&1
		run docker pull "$r/docker:1"
		t_ok "$T_RC" "[$mode] docker pull"; [ "$T_RC" = 0 ] || diag "$T_OUT $T_ERR"
	else
		skip 3 "no dockerd answering (start it with ../shared/scripts/start-dockerd.sh; Debian package docker.io)"
	fi

	# containerd
	if [ -n "$CTR_SOCK" ]; then
		run ctr -a "$CTR_SOCK" -n bale-interop images pull $CTR "$r/skopeo:v1"
		t_ok "$T_RC" "[$mode] ctr pull"; [ "$T_RC" = 0 ] || diag "$T_OUT $T_ERR"
		ctr -a "$CTR_SOCK" -n bale-interop images tag --force "$r/skopeo:v1" "$r/ctr:1" >/dev/null 2>&1
		run ctr -a "$CTR_SOCK" -n bale-interop images push $CTR "$r/ctr:1"
		t_ok "$T_RC" "[$mode] ctr push"; [ "$T_RC" = 0 ] || diag "$T_OUT $T_ERR"
		run skopeo inspect $SK_SRC --raw "docker://$r/ctr:1"
		printf '%s' "$T_OUT" > "$T_TMP/raw"
		is "$(sha "$T_TMP/raw")" "$MD" "[$mode] ctr pushed the same manifest"
	else
		skip 3 "containerd is not answering (start dockerd with ../shared/scripts/start-dockerd.sh, or Debian package containerd)"
	fi
}

if [ "$DOCKER" = yes ]; then
	mkdir -p "$T_TMP/rootfs"; echo hello > "$T_TMP/rootfs/hello"
	tar -C "$T_TMP/rootfs" -c . | docker import - bale-interop:1 >/dev/null
fi

# ---- 1. no auth, plain HTTP
start_registry --root "$T_TMP/r-open" || exit 1
SK_DEST="--dest-tls-verify=false"; SK_SRC="--src-tls-verify=false"
PD="--tls-verify=false"; CTR="--plain-http"
interop_round open
stop_registry

# ---- 2. htpasswd
printf 'bob:$apr1$x$y\n' > "$T_TMP/md5.htpasswd"
cat > "$T_TMP/md5.yml" <<EOF
auth:
  htpasswd:
    path: md5.htpasswd
EOF
run "$BALE" serve --check -c "$T_TMP/md5.yml"
like "$T_ERR" "md5.htpasswd:1: user 'bob': only bcrypt" "non-bcrypt htpasswd lines are refused with file:line"
htpasswd -Bbc "$T_TMP/htpasswd" alice 's3cret!' 2>/dev/null
htpasswd -Bbc -C 5 "$T_TMP/htpasswd2" carol other 2>/dev/null; cat "$T_TMP/htpasswd2" >> "$T_TMP/htpasswd"
cat > "$T_TMP/basic.yml" <<EOF
root: r-basic
auth:
  htpasswd:
    path: htpasswd
    realm: bale-test
access:
  - repositories: "basic/*"
    users: [alice]
    actions: [pull, push]
  - repositories: "basic/*"
    users: ["*"]
    actions: [pull]
EOF
start_registry -c "$T_TMP/basic.yml" || exit 1
run skopeo copy --dest-tls-verify=false "oci:$SRC:v1" "docker://$REG/basic/anon:v1"
t_ok $((T_RC == 0)) "htpasswd: anonymous push is refused"
run skopeo copy --dest-tls-verify=false --dest-creds carol:other "oci:$SRC:v1" "docker://$REG/basic/carol:v1"
like "$T_ERR" "denied|unauthorized" "htpasswd: push by a user without the push rule is denied"
run skopeo copy --dest-tls-verify=false --dest-creds alice:wrong "oci:$SRC:v1" "docker://$REG/basic/x:v1"
t_ok $((T_RC == 0)) "htpasswd: wrong password is refused"
SK_DEST="--dest-tls-verify=false --dest-creds alice:s3cret!"; SK_SRC="--src-tls-verify=false --src-creds alice:s3cret!"
PD="--tls-verify=false --creds alice:s3cret!"; CTR="--plain-http --user alice:s3cret!"
if [ "$DOCKER" = yes ]; then
	run docker login -u alice --password 's3cret!' "$REG"
	t_ok "$T_RC" "docker login with htpasswd"
else
	skip 1 "no dockerd answering"
fi
interop_round basic
[ "$DOCKER" = yes ] && docker logout "$REG" >/dev/null 2>&1
stop_registry

# ---- 3. token service
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T_TMP/token.key" 2>/dev/null
PORT3=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 15099)
cat > "$T_TMP/token.yml" <<EOF
root: r-token
listen: 127.0.0.1:$PORT3
auth:
  htpasswd:
    path: htpasswd
  token:
    realm: http://127.0.0.1:$PORT3/token
    service: bale-interop
    key: token.key
  anonymous_pull: true
access:
  - repositories: "token/*"
    users: [alice]
    actions: [pull, push]
EOF
"$BALE" serve -c "$T_TMP/token.yml" 2>>"$REG_LOG" &
REG_PID=$!; REG="127.0.0.1:$PORT3"
for i in $(seq 1 100); do curl -s -o /dev/null "http://$REG/healthz" && break; sleep 0.05; done
req GET /v2/
like "$(hdr WWW-Authenticate)" "^Bearer realm=\"http://$REG/token\",service=\"bale-interop\"" "token: /v2/ challenges with Bearer"
run skopeo copy --dest-tls-verify=false "oci:$SRC:v1" "docker://$REG/token/anon:v1"
t_ok $((T_RC == 0)) "token: anonymous push is refused"
if [ "$DOCKER" = yes ]; then
	run docker login -u alice --password 's3cret!' "$REG"
	t_ok "$T_RC" "docker login with the token service"
else
	skip 1 "no dockerd answering"
fi
interop_round token
if [ "$DOCKER" = yes ]; then
	docker logout "$REG" >/dev/null 2>&1
	docker rmi -f "$REG/token/docker:1" >/dev/null 2>&1
	run docker pull "$REG/token/docker:1"
	t_ok "$T_RC" "token: docker pulls anonymously when anonymous_pull is on"
else
	skip 1 "no dockerd answering"
fi
stop_registry

# ---- 4. TLS with a test CA
TLS="$T_TMP/tls"; mkdir -p "$TLS"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS/ca.key" -out "$TLS/ca.crt" -days 2 -subj /CN=bale-test-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$TLS/srv.key" -out "$TLS/srv.csr" -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$TLS/ext"
openssl x509 -req -in "$TLS/srv.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
	-out "$TLS/srv.crt" -days 2 -extfile "$TLS/ext" 2>/dev/null
printf 'root: r-tls\ntls:\n  cert: tls/srv.crt\n  key: tls/srv.key\n' > "$T_TMP/tls.yml"
start_registry -c "$T_TMP/tls.yml" || exit 1
like "$(cat "$REG_LOG")" "(https)" "TLS server announces https"
run curl -sf --cacert "$TLS/ca.crt" "https://$REG/v2/"
is "$T_RC:$T_OUT" "0:{}" "TLS: curl verifies the certificate"
run curl -s -m 3 "http://$REG/v2/"
t_ok $((T_RC == 0)) "TLS: plain HTTP on the TLS port fails"
CERTS="$T_TMP/certs"; mkdir -p "$CERTS"; cp "$TLS/ca.crt" "$CERTS/ca.crt"
SK_DEST="--dest-cert-dir $CERTS"; SK_SRC="--src-cert-dir $CERTS"
PD="--cert-dir $CERTS"
# ctr talks plain HTTP to 127.0.0.1 unless a hosts.toml says otherwise
mkdir -p "$T_TMP/hosts/$REG"
printf 'server = "https://%s"\n[host."https://%s"]\n  ca = "%s"\n' "$REG" "$REG" "$TLS/ca.crt" \
	> "$T_TMP/hosts/$REG/hosts.toml"
CTR="--hosts-dir $T_TMP/hosts"
if [ "$DOCKER" = yes ]; then
	CERTS_D="/etc/docker/certs.d/$REG"
	mkdir -p "$CERTS_D" && cp "$TLS/ca.crt" "$CERTS_D/ca.crt"
fi
interop_round tls
stop_registry

done_testing
