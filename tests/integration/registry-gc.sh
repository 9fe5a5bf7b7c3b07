#!/bin/sh
# bale gc on a live `bale serve` store: tagged images, indexes, referrers and
# upload sessions survive; untagged manifests go only with
# --delete-untagged; orphan blobs and links go; --dry-run removes nothing;
# the grace period spares recent writes.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/registry-lib.sh"

ROOT="$T_TMP/root"
start_registry --root "$ROOT" || exit 1
OCI_M=application/vnd.oci.image.manifest.v1+json
MA=$(mk_oci "$T_TMP/a" a 2 5000); MB=$(mk_oci "$T_TMP/b" b 2 5000); MC=$(mk_oci "$T_TMP/c" c 1 5000)
is "$(push_image gc/app v1 "$T_TMP/a" "$MA")" 201 "push image A as v1"
is "$(push_image gc/app v2 "$T_TMP/b" "$MB")" 201 "push image B as v2"
is "$(push_image gc/app v2 "$T_TMP/c" "$MC")" 201 "retag v2 to image C (B untagged)"
BBLOB=$(jq -r '.layers[0].digest' "$T_TMP/b/blobs/sha256/${MB#sha256:}")
# an index of A (tagged) and a referrer of A
SA=$(stat -c %s "$T_TMP/a/blobs/sha256/${MA#sha256:}")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"%s","digest":"%s","size":%s}]}' "$OCI_M" "$MA" "$SA" > "$T_TMP/idx"
is "$(push_manifest gc/app multi "$T_TMP/idx" application/vnd.oci.image.index.v1+json)" 201 "push an index"
printf '{}' > "$T_TMP/e"; DE=$(push_blob gc/app "$T_TMP/e")
printf '{"schemaVersion":2,"mediaType":"%s","artifactType":"x/sig","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[],"subject":{"mediaType":"%s","digest":"%s","size":%s}}' "$OCI_M" "$DE" "$OCI_M" "$MA" "$SA" > "$T_TMP/ref"
DR=$(sha "$T_TMP/ref")
is "$(push_manifest gc/app "$DR" "$T_TMP/ref" "$OCI_M")" 201 "push a referrer of A"
# an orphan blob and an upload in progress
head -c 3000 /dev/urandom > "$T_TMP/orphan"; DO=$(push_blob gc/app "$T_TMP/orphan")
req POST /v2/gc/app/blobs/uploads/
LOC=$(hdr Location)
printf 'partial-' > "$T_TMP/p1"; printf 'upload' > "$T_TMP/p2"; cat "$T_TMP/p1" "$T_TMP/p2" > "$T_TMP/pw"
req PATCH "$LOC" --data-binary @"$T_TMP/p1"

run "$BALE" gc --root "$ROOT"
is "$T_RC" 0 "gc with the default grace runs"
like "$T_OUT" "removed 0 manifests, 0 blobs" "default grace spares everything just written"

run "$BALE" gc --root "$ROOT" --grace 0 --dry-run --delete-untagged
like "$T_OUT" "would remove manifest gc/app@$MB" "dry run lists the untagged manifest"
like "$T_OUT" "would remove blob $DO" "dry run lists the orphan blob"
req GET "/v2/gc/app/manifests/$MB" -H "Accept: $OCI_M"
is "$ST" 200 "dry run removed nothing"

run "$BALE" gc --root "$ROOT" --grace 0
is "$T_RC" 0 "gc (keeping untagged) runs"
like "$T_OUT" "removed link gc/app@$DO" "orphan link removed"
req GET "/v2/gc/app/blobs/$DO"
is "$ST" 404 "orphan blob gone"
req GET "/v2/gc/app/manifests/$MB" -H "Accept: $OCI_M"
is "$ST" 200 "untagged manifest kept without --delete-untagged"
is "$(image_ok gc/app "$MB")" ok "its blobs too"

run "$BALE" gc --root "$ROOT" --grace 0 --delete-untagged
is "$T_RC" 0 "gc --delete-untagged runs"
sleep 1.2 # the server caches manifests it served for up to 1 s
req GET "/v2/gc/app/manifests/$MB" -H "Accept: $OCI_M"
is "$ST" 404 "untagged manifest removed"
req GET "/v2/gc/app/blobs/$BBLOB"
is "$ST" 404 "its unique layer removed"
is "$(image_ok gc/app v1)" ok "tagged image A intact"
is "$(image_ok gc/app v2)" ok "tagged image C intact"
is "$(image_ok gc/app multi)" ok "index and its child intact"
req GET "/v2/gc/app/manifests/$DR" -H "Accept: $OCI_M"
is "$ST" 200 "referrer of a tagged manifest kept"
req GET "/v2/gc/app/referrers/$MA"
is "$(printf '%s' "$BODY" | jq -r '.manifests[0].digest')" "$DR" "referrers list intact"
req PUT "$LOC?digest=$(sha "$T_TMP/pw")" --data-binary @"$T_TMP/p2"
is "$ST" 201 "upload in progress completes after gc"

done_testing
