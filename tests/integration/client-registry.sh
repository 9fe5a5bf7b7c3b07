#!/bin/sh
# (bash for $RANDOM and /dev/tcp in client-lib.sh)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# bale push/pull/copy against the real distribution registry, checked with
# skopeo: OCI and Docker media types, a multi-platform index, many layers,
# a 1 GiB layer, skipping and mounting, OCI layouts and archives.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/client-lib.sh"

regc_need docker-registry docker-registry
regc_need skopeo skopeo
regc_registry A || skip_all "docker-registry does not start here"
R=127.0.0.1:$REG_A_PORT
export BALE_ROOT="$T_TMP/store"
export DOCKER_CONFIG="$T_TMP/docker"
SK="--tls-verify=false"

# ---- OCI image, several layers: bale pushes from an OCI dir, skopeo reads back
O="$T_TMP/oci"
read -r MD MS <<EOF
$(regc_oci_image "$O" amd64 3 64)
EOF
regc_oci_tag "$O" v1 application/vnd.oci.image.manifest.v1+json "$MD" "$MS"
run "$BALE" copy -q "oci:$O:v1" "$R/team/app:1"
is "$T_RC" 0 "copy oci: -> registry exits 0"
is "$T_OUT" "$MD" "copy prints the manifest digest"
is "$(regc_remote_digest "docker://$R/team/app:1" $SK)" "$MD" "skopeo sees the same manifest bytes"

run "$BALE" pull -q "$R/team/app:1"
is "$T_RC" 0 "pull exits 0"
is "$T_OUT" "$MD" "pull prints the digest"
run "$BALE" images
like "$T_OUT" "$R/team/app +1 " "the pulled image is tagged in the store"
run skopeo inspect --raw "oci:$BALE_ROOT:$R/team/app:1"
is "$(printf '%s' "$T_OUT" | sha256sum | cut -d' ' -f1)" "${MD#sha256:}" "skopeo reads the pulled image from the store"

# push back under another name: all blobs mounted or skipped, same digest
run "$BALE" push --progress plain "$R/team/app:1" "$R/other/app:2"
is "$T_RC" 0 "push to another repository exits 0"
is "$T_OUT" "$MD" "push prints the same digest"
like "$T_ERR" "mounted" "blobs are mounted from the source repository"
is "$(regc_remote_digest "docker://$R/other/app:2" $SK)" "$MD" "the pushed manifest is byte-identical"

# re-push: the registry has the manifest, nothing is uploaded
run "$BALE" push --progress plain "$R/team/app:1"
is "$T_RC" 0 "re-push exits 0"
like "$T_OUT" "$MD" "re-push prints the digest"
if printf '%s' "$T_ERR" | grep -q "pushed ("; then t_ok 1 "re-push uploads nothing"; else t_ok 0 "re-push uploads nothing"; fi

# ---- Docker media types (skopeo converts to schema2), bale pulls and re-pushes
D="$T_TMP/dock"
read -r DD DS <<EOF
$(regc_oci_image "$D" amd64 2 32)
EOF
regc_oci_tag "$D" v1 application/vnd.oci.image.manifest.v1+json "$DD" "$DS"
skopeo copy -q --dest-tls-verify=false --format v2s2 "oci:$D:v1" "docker://$R/dock/app:1" 2>"$T_TMP/sk.err"
DREG=$(regc_remote_digest "docker://$R/dock/app:1" $SK)
run "$BALE" pull -q "$R/dock/app:1"
is "$T_RC" 0 "pull of a Docker schema2 image exits 0"
is "$T_OUT" "$DREG" "its digest is the registry's"
run "$BALE" push -q "$R/dock/app:1" "$R/dock/copy:1"
is "$T_OUT" "$DREG" "pushing it back keeps the Docker manifest bytes"
run skopeo inspect --raw $SK "docker://$R/dock/copy:1"
like "$T_OUT" "vnd.docker.distribution.manifest.v2" "the media type stays Docker's"

# ---- a multi-platform index: --all keeps it, otherwise one platform
M="$T_TMP/multi"
read -r ID IS <<EOF
$(regc_oci_multiarch "$M" multi 16)
EOF
run "$BALE" copy -q --all "oci:$M:multi" "$R/multi/app:1"
is "$T_RC" 0 "copy --all of an index exits 0"
is "$(regc_remote_digest "docker://$R/multi/app:1" $SK)" "$ID" "the registry holds the same index"
run skopeo inspect $SK --raw "docker://$R/multi/app:1"
ARM=$(printf '%s' "$T_OUT" | grep -o '"digest":"[^"]*"' | sed -n 2p | cut -d'"' -f4)
run skopeo inspect $SK --override-arch arm64 "docker://$R/multi/app:1"
is "$T_RC" 0 "skopeo reads the arm64 image through the index"
run "$BALE" copy -q --platform linux/arm64 "$R/multi/app:1" "oci:$T_TMP/arm:x"
is "$T_OUT" "$ARM" "--platform linux/arm64 picks the arm64 manifest"
run "$BALE" pull -q --all "$R/multi/app:1"
is "$T_OUT" "$ID" "pull --all stores the index"
run "$BALE" copy -q --all "$R/multi/app:1" "oci-archive:$T_TMP/multi.tar:multi"
is "$T_RC" 0 "copy --all to an oci-archive exits 0"
diag "$T_ERR"

# ---- many layers
N="$T_TMP/many"
read -r ND NS <<EOF
$(regc_oci_image "$N" amd64 60 4)
EOF
regc_oci_tag "$N" v1 application/vnd.oci.image.manifest.v1+json "$ND" "$NS"
run "$BALE" copy -q -j 8 "oci:$N:v1" "$R/many/app:1"
is "$T_OUT" "$ND" "an image of 60 layers is pushed"
rm -rf "$T_TMP/many2"
run "$BALE" copy -q "$R/many/app:1" "oci:$T_TMP/many2:v1"
is "$T_RC" 0 "and copied back"
is "$(ls "$T_TMP/many2/blobs/sha256" | wc -l)" 62 "with its 60 layers, config and manifest"
run skopeo copy -q "oci:$T_TMP/many2:v1" "oci:$T_TMP/many3:v1"
is "$T_RC" 0 "skopeo reads bale's OCI layout"

# ---- archives
run "$BALE" copy -q "$R/team/app:1" "docker-archive:$T_TMP/d.tar:team/app:1"
is "$T_RC" 0 "copy to a docker-archive exits 0"
run skopeo inspect "docker-archive:$T_TMP/d.tar"
is "$T_RC" 0 "skopeo reads the docker-archive"
# A docker-archive holds plain tars: what comes back is the same image (its
# config, the image id), its layers compressed again on the way.
run "$BALE" copy -q "docker-archive:$T_TMP/d.tar" "$R/fromarchive/app:1"
is "$T_RC" 0 "copy from a docker-archive exits 0"
config_of() { skopeo inspect --raw $SK "docker://$1" | sed 's/.*"config":{[^}]*"digest":"\([^"]*\)".*/\1/'; }
C1=$(config_of "$R/team/app:1")
like "$C1" '^sha256:[0-9a-f]{64}$' "the original's config digest"
is "$(config_of "$R/fromarchive/app:1")" "$C1" "copy from a docker-archive gives back the same image"
run skopeo inspect --raw $SK "docker://$R/fromarchive/app:1"
like "$T_OUT" '"mediaType":"application/vnd.oci.image.layer.v1.tar\+gzip"' "with gzip layers"

# ---- a 1 GiB layer: streamed once, verified, no buffering
G="$T_TMP/giga"
read -r GD GS <<EOF
$(regc_oci_image "$G" amd64 1 1048576)
EOF
regc_oci_tag "$G" v1 application/vnd.oci.image.manifest.v1+json "$GD" "$GS"
run "$BALE" copy -q "oci:$G:v1" "$R/giga/app:1"
is "$T_OUT" "$GD" "a 1 GiB layer is pushed"
rm -rf "$G"
run "$BALE" pull -q "$R/giga/app:1"
is "$T_OUT" "$GD" "and pulled back"
LAYER=$(skopeo inspect $SK "docker://$R/giga/app:1" | grep -o 'sha256:[0-9a-f]*' | tail -1)
is "$(sha256sum "$BALE_ROOT/blobs/sha256/${LAYER#sha256:}" | cut -d' ' -f1)" "${LAYER#sha256:}" "the stored layer hashes to its digest"

# ---- errors with the registry's own words
run "$BALE" pull -q "$R/team/app:nope"
is "$T_RC" 1 "pulling a missing tag fails"
like "$T_ERR" "MANIFEST_UNKNOWN" "the registry's error code is shown"

done_testing
