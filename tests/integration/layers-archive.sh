#!/bin/sh
# (bash for $RANDOM and /dev/tcp in client-lib.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# oci-archive and docker-archive with multi-platform images, against real
# skopeo and the distribution registry: `copy --all` carries a whole index
# into an oci-archive and back (the air-gap round trip), the archive's
# ref.name is the :TAG as typed (what skopeo's oci-archive:FILE:TAG looks
# up), bale reads what skopeo writes, and a docker-archive refuses --all.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/client-lib.sh"

regc_need docker-registry docker-registry
regc_need skopeo skopeo
regc_registry A || skip_all "docker-registry does not start here"
R=127.0.0.1:$REG_A_PORT
export BALE_ROOT="$T_TMP/store"
export DOCKER_CONFIG="$T_TMP/docker"
SK="--tls-verify=false"

# index.json of an archive, on one line
ixjson() { tar -xOf "$1" index.json; }
raw_digest() { sha256sum | sed 's/^/sha256:/; s/ .*//'; }

M="$T_TMP/multi"
read -r ID IS <<EOF
$(regc_oci_multiarch "$M" multi 16)
EOF
run "$BALE" copy -q --all "oci:$M:multi" "$R/multi/app:1"
is "$T_RC" 0 "a 2-platform index is in the registry"

# ---- registry -> oci-archive with --all: the whole index, named as typed
A="$T_TMP/all.tar"
run "$BALE" copy -q --all "$R/multi/app:1" "oci-archive:$A:v1"
is "$T_RC" 0 "copy --all registry -> oci-archive exits 0"
is "$T_ERR" "" "without a warning"
is "$T_OUT" "$ID" "it prints the index digest"
like "$(ixjson "$A")" '"mediaType":"application/vnd.oci.image.index.v1\+json"' \
	"index.json names the image index"
like "$(ixjson "$A")" "\"digest\":\"$ID\"" "by its digest"
like "$(ixjson "$A")" '"org.opencontainers.image.ref.name":"v1"' "with ref.name = the tag as typed"
is "$(tar -tf "$A" | grep -c '^blobs/sha256/.')" 9 "index, 2 manifests, 2 configs, 4 layers"
run skopeo inspect --raw "oci-archive:$A:v1"
is "$(printf '%s' "$T_OUT" | raw_digest)" "$ID" "skopeo finds oci-archive:FILE:v1, the same index"
run skopeo inspect --override-arch arm64 "oci-archive:$A:v1"
like "$T_OUT" '"Architecture": "arm64"' "skopeo reads the arm64 image from it"
run skopeo inspect --override-arch amd64 "oci-archive:$A:v1"
like "$T_OUT" '"Architecture": "amd64"' "and the amd64 image"

# ---- and back: oci-archive -> registry with --all
run "$BALE" copy -q --all "oci-archive:$A:v1" "$R/back/app:1"
is "$T_RC" 0 "copy --all oci-archive -> registry exits 0"
is "$(regc_remote_digest "docker://$R/back/app:1" $SK)" "$ID" "the registry gets the same index back"
run skopeo inspect $SK --override-arch arm64 "docker://$R/back/app:1"
is "$T_RC" 0 "with its arm64 image"
ARM=$(tar -xOf "$A" "blobs/sha256/${ID#sha256:}" | grep -o '"digest":"[^"]*"' | sed -n 2p | cut -d'"' -f4)
run "$BALE" copy -q --platform linux/arm64 "oci-archive:$A:v1" "oci:$T_TMP/arm:x"
is "$T_OUT" "$ARM" "without --all, --platform picks one manifest of the archive's index"

# ---- without --all: one platform, a manifest in index.json
O="$T_TMP/one.tar"
run "$BALE" copy -q --platform linux/arm64 "$R/multi/app:1" "oci-archive:$O:v2"
is "$T_OUT" "$ARM" "copy without --all writes the chosen platform"
like "$(ixjson "$O")" '"mediaType":"application/vnd.oci.image.manifest.v1\+json"' \
	"index.json names a manifest"
run skopeo inspect "oci-archive:$O:v2"
like "$T_OUT" '"Architecture": "arm64"' "skopeo reads it by its tag"

# ---- a docker-archive holds one platform: --all of an index is refused
run "$BALE" copy -q --all "$R/multi/app:1" "docker-archive:$T_TMP/d.tar:app:1"
is "$T_RC" 1 "copy --all to a docker-archive fails"
like "$T_ERR" "docker-archive holds one platform" "and says why"
test ! -e "$T_TMP/d.tar"
t_ok $? "no archive is written"
run "$BALE" copy -q --platform linux/arm64 "$R/multi/app:1" "docker-archive:$T_TMP/d.tar:app:1"
is "$T_RC" 0 "a docker-archive of one platform is fine"

# ---- what skopeo writes, bale reads
S="$T_TMP/sk-all.tar"
skopeo copy -q --all "oci:$M:multi" "oci-archive:$S:v3"
SID=$(ixjson "$S" | grep -o '"digest":"[^"]*"' | cut -d'"' -f4)
run "$BALE" copy -q --all "oci-archive:$S:v3" "$R/sk/app:1"
is "$T_RC" 0 "copy --all of skopeo's --all oci-archive exits 0"
is "$(regc_remote_digest "docker://$R/sk/app:1" $SK)" "$SID" "the registry gets skopeo's index"
run "$BALE" load -i "$S"
is "$T_OUT" "Loaded image: v3:latest" "bale load names skopeo's tag v3 as v3:latest"
run "$BALE" copy -q --all local:v3 "oci:$T_TMP/sk-dir:x"
is "$T_OUT" "$SID" "the store keeps the whole index"
S1="$T_TMP/sk-one.tar"
skopeo --override-arch arm64 copy -q "oci:$M:multi" "oci-archive:$S1:v4"
S1D=$(ixjson "$S1" | grep -o '"digest":"[^"]*"' | cut -d'"' -f4)
run "$BALE" copy -q "oci-archive:$S1:v4" "oci:$T_TMP/sk1:x"
is "$T_OUT" "$S1D" "bale reads skopeo's one-platform oci-archive by its tag"
like "$(skopeo inspect "oci:$T_TMP/sk1:x")" '"Architecture": "arm64"' "the arm64 image skopeo wrote"

# ---- what bale load reads from bale's own --all archive
run "$BALE" load -i "$A"
is "$T_RC" 0 "bale load of a --all archive exits 0"
run "$BALE" copy -q --all local:v1 "oci:$T_TMP/v1:x"
is "$T_OUT" "$ID" "it loads the whole index"
run "$BALE" copy -q --platform linux/arm64 local:v1 "oci:$T_TMP/v1a:x"
is "$T_OUT" "$ARM" "with both platforms"

# ---- bale save --all keeps the index; a docker-archive cannot
run "$BALE" save --all --format oci-archive -o "$T_TMP/saved.tar" v1
is "$T_RC" 0 "bale save --all writes an oci-archive of an index"
run "$BALE" --root "$T_TMP/saveroot" load -i "$T_TMP/saved.tar"
run "$BALE" --root "$T_TMP/saveroot" copy -q --platform linux/arm64 local:v1 "oci:$T_TMP/v1s:x"
is "$T_OUT" "$ARM" "  and loading it back gives both platforms"
run "$BALE" save --all -o "$T_TMP/saved-d.tar" v1
is "$T_RC" 1 "bale save --all to a docker-archive is refused"
like "$T_ERR" "one platform" "  saying the format holds one platform"
test ! -e "$T_TMP/saved-d.tar"
t_ok $? "  and writes no file"

# ---- an archive whose index lacks a child is refused, nothing tagged
mkdir -p "$T_TMP/cut" && tar -C "$T_TMP/cut" -xf "$A"
rm "$T_TMP/cut/blobs/sha256/${ARM#sha256:}"
tar -C "$T_TMP/cut" -cf "$T_TMP/cut.tar" oci-layout index.json blobs
run "$BALE" --root "$T_TMP/cutroot" load -i "$T_TMP/cut.tar"
is "$T_RC" 1 "load of an archive missing a manifest of its index fails"
like "$T_ERR" "${ARM#sha256:}' is missing from the archive" "and names the blob"
! grep -q "ref.name" "$T_TMP/cutroot/index.json"
t_ok $? "nothing is tagged"

# ---- an OCI layout bale writes gets no ingest/ nor blobs/sha512
test ! -e "$T_TMP/arm/ingest" && test ! -e "$T_TMP/arm/blobs/sha512"
t_ok $? "oci:DIR has no ingest/ and no blobs/sha512"
is "$(stat -c %a "$T_TMP/arm/blobs/sha256/${ARM#sha256:}")" 444 "its blobs are read-only"

done_testing
