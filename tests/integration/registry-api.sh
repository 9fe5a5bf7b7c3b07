#!/bin/sh
# The distribution API of `bale serve`, endpoint by endpoint, with curl:
# statuses, headers, error codes, chunked/monolithic/streamed uploads,
# Range, mounts, manifests of every media type, referrers, pagination,
# deletion, restart of upload sessions and a TLS hello on the plain port.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/registry-lib.sh"

ROOT="$T_TMP/root"
start_registry --root "$ROOT" || { t_ok 1 "server starts"; done_testing; exit 1; }

# ---- base, unknown paths, bad names and digests
req GET /v2/
is "$ST" 200 "GET /v2/ is 200"
is "$(hdr Docker-Distribution-API-Version)" "registry/2.0" "API version header"
is "$BODY" "{}" "GET /v2/ body"
req HEAD /v2/
is "$ST" 200 "HEAD /v2/ is 200"
req GET /v2/nope
is "$ST" 404 "unknown path is 404"
req GET /nothing/here
is "$ST" 404 "path outside /v2/ is 404"
req GET /v2/UPPER/tags/list
is "$ST/$(errcode)" 400/NAME_INVALID "uppercase name is 400 NAME_INVALID"
req GET "/v2/a//b/tags/list"
is "$ST/$(errcode)" 400/NAME_INVALID "empty name component is 400 NAME_INVALID"
req GET "/v2/a/../b/manifests/latest" --path-as-is
is "$ST/$(errcode)" 400/NAME_INVALID "'..' in a name is 400 NAME_INVALID"
req GET /v2/a/blobs/sha256:xyz
is "$ST/$(errcode)" 400/DIGEST_INVALID "malformed digest is 400 DIGEST_INVALID"
req GET "/v2/a/blobs/md5:d41d8cd98f00b204e9800998ecf8427e"
is "$ST/$(errcode)" 400/DIGEST_INVALID "unsupported algorithm is 400 DIGEST_INVALID"
req GET "/v2/a/blobs/sha256:%zz"
is "$ST" 400 "malformed percent-escape is 400"
long=$(head -c 9000 /dev/zero | tr '\0' a)
req GET "/v2/$long/tags/list"
is "$ST" 414 "over-long target is 414"
req POST /v2/a/tags/list
is "$ST/$(errcode)" 405/UNSUPPORTED "POST on tags is 405 UNSUPPORTED"

# ---- blobs: unknown, monolithic upload, GET/HEAD, Range
printf 'hello world' > "$T_TMP/b1"
D1=$(sha "$T_TMP/b1")
req HEAD "/v2/team/app/blobs/$D1"
is "$ST" 404 "HEAD unknown blob is 404"
req GET "/v2/team/app/blobs/$D1"
is "$ST/$(errcode)" 404/BLOB_UNKNOWN "GET unknown blob is 404 BLOB_UNKNOWN"
req POST "/v2/team/app/blobs/uploads/?digest=$D1" --data-binary @"$T_TMP/b1"
is "$ST" 201 "monolithic POST is 201"
is "$(hdr Location)" "/v2/team/app/blobs/$D1" "monolithic POST Location"
is "$(hdr Docker-Content-Digest)" "$D1" "monolithic POST Docker-Content-Digest"
req GET "/v2/team/app/blobs/$D1"
is "$ST:$BODY" "200:hello world" "GET blob returns its bytes"
is "$(hdr Docker-Content-Digest)" "$D1" "GET blob Docker-Content-Digest"
is "$(hdr Content-Type)" "application/octet-stream" "GET blob Content-Type"
is "$(hdr Accept-Ranges)" "bytes" "GET blob Accept-Ranges"
req HEAD "/v2/team/app/blobs/$D1"
is "$ST:$(hdr Content-Length):$BODY" "200:11:" "HEAD blob: Content-Length, no body"
req GET "/v2/team/app/blobs/$(echo "$D1" | sed 's/:/%3A/')"
is "$ST" 200 "percent-encoded ':' in a digest works"
req GET "/v2/team/app/blobs/$D1" -H 'Range: bytes=0-4'
is "$ST:$BODY:$(hdr Content-Range)" "206:hello:bytes 0-4/11" "Range 0-4 is 206"
req GET "/v2/team/app/blobs/$D1" -H 'Range: bytes=6-'
is "$ST:$BODY:$(hdr Content-Range)" "206:world:bytes 6-10/11" "open-ended Range"
req GET "/v2/team/app/blobs/$D1" -H 'Range: bytes=-3'
is "$ST:$BODY:$(hdr Content-Range)" "206:rld:bytes 8-10/11" "suffix Range"
req GET "/v2/team/app/blobs/$D1" -H 'Range: bytes=5-100'
is "$ST:$(hdr Content-Range)" "206:bytes 5-10/11" "Range past the end is clamped"
req GET "/v2/team/app/blobs/$D1" -H 'Range: bytes=11-20'
is "$ST:$(hdr Content-Range)" "416:bytes */11" "unsatisfiable Range is 416"
req GET "/v2/team/app/blobs/$D1" -H 'Range: bytes=0-1,3-4'
is "$ST:$BODY" "200:hello world" "multiple ranges: whole blob"
req GET "/v2/team/app/blobs/$D1" -H 'Range: bytes=5-2'
is "$ST" 200 "invalid range-spec is ignored"
req GET "/v2/other/blobs/$D1"
is "$ST/$(errcode)" 404/BLOB_UNKNOWN "blob not linked in another repository is 404"
req POST "/v2/team/app/blobs/uploads/?digest=$D1&digest=$D1" --data-binary @"$T_TMP/b1"
is "$ST/$(errcode)" 400/DIGEST_INVALID "repeated digest parameter is 400"
req POST "/v2/team/app/blobs/uploads/?digest=sha256:0000000000000000000000000000000000000000000000000000000000000000" --data-binary @"$T_TMP/b1"
is "$ST/$(errcode)" 400/DIGEST_INVALID "monolithic POST with wrong digest is 400 DIGEST_INVALID"

# sha512
D512="sha512:$(sha512sum "$T_TMP/b1" | cut -d' ' -f1)"
req POST "/v2/team/app/blobs/uploads/?digest=$D512" --data-binary @"$T_TMP/b1"
is "$ST" 201 "sha512 monolithic upload is 201"
req GET "/v2/team/app/blobs/$D512"
is "$ST:$BODY" "200:hello world" "GET sha512 blob"

# ---- chunked upload
req POST /v2/team/app/blobs/uploads/
is "$ST" 202 "POST starts an upload (202)"
LOC=$(hdr Location); UUID=$(hdr Docker-Upload-UUID)
like "$LOC" "^/v2/team/app/blobs/uploads/$UUID\$" "Location names the session"
is "$(hdr Range)" "0-0" "new session Range 0-0"
is "$(hdr Content-Length)" "0" "POST Content-Length 0"
printf 'chunk-one|' > "$T_TMP/c1"; printf 'chunk-two|' > "$T_TMP/c2"; printf 'last' > "$T_TMP/c3"
req PATCH "$LOC" -H 'Content-Type: application/octet-stream' -H 'Content-Range: 0-9' --data-binary @"$T_TMP/c1"
is "$ST:$(hdr Range)" "202:0-9" "PATCH first chunk: 202, Range 0-9"
is "$(hdr Docker-Upload-UUID)" "$UUID" "PATCH Docker-Upload-UUID"
req PATCH "$LOC" -H 'Content-Range: 20-29' --data-binary @"$T_TMP/c2"
is "$ST/$(errcode)" 416/BLOB_UPLOAD_INVALID "out-of-order chunk is 416"
is "$(hdr Range)" "0-9" "416 tells the current Range"
req PATCH "$LOC" -H 'Content-Range: 5-14' --data-binary @"$T_TMP/c2"
is "$ST" 416 "overlapping chunk is 416"
req PATCH "$LOC" -H 'Content-Range: 10-30' --data-binary @"$T_TMP/c2"
is "$ST/$(errcode)" 400/SIZE_INVALID "Content-Range length unlike Content-Length is 400 SIZE_INVALID"
req PATCH "$LOC" -H 'Content-Range: bogus' --data-binary @"$T_TMP/c2"
is "$ST" 416 "malformed Content-Range is 416"
req GET "$LOC"
is "$ST:$(hdr Range):$(hdr Docker-Upload-UUID)" "204:0-9:$UUID" "GET status is 204 with Range"
req PATCH "$LOC" -H 'Transfer-Encoding: chunked' --data-binary @"$T_TMP/c2"
is "$ST:$(hdr Range)" "202:0-19" "streamed PATCH (chunked, no Content-Range)"
cat "$T_TMP/c1" "$T_TMP/c2" "$T_TMP/c3" > "$T_TMP/whole"
DW=$(sha "$T_TMP/whole")
req PUT "$LOC?digest=$DW" -H 'Content-Range: 20-23' --data-binary @"$T_TMP/c3"
is "$ST" 201 "PUT with the final chunk is 201"
is "$(hdr Location):$(hdr Docker-Content-Digest)" "/v2/team/app/blobs/$DW:$DW" "PUT Location and digest"
req GET "/v2/team/app/blobs/$DW"
is "$BODY" "chunk-one|chunk-two|last" "chunked blob content"
req GET "$LOC"
is "$ST/$(errcode)" 404/BLOB_UPLOAD_UNKNOWN "finished session is gone"

# ---- a status query neither disturbs a live upload nor waits for a cut one
head -c 3000000 /dev/urandom > "$T_TMP/live"
req POST /v2/team/app/blobs/uploads/
LOC=$(hdr Location); UUID=$(hdr Docker-Upload-UUID)
curl -s -o /dev/null -w '%{http_code}' --limit-rate 2M -X PATCH --data-binary @"$T_TMP/live" \
	"http://$REG$LOC" > "$T_TMP/live.st" &
LIVE=$!
sleep 0.5
req GET "$LOC"
is "$ST:$(hdr Docker-Upload-UUID)" "204:$UUID" "status during a live PATCH is 204"
like "$(hdr Range)" '^0-[0-9][0-9]*$' "status during a live PATCH tells the bytes so far"
wait $LIVE
is "$(cat "$T_TMP/live.st")" 202 "the live PATCH still succeeds after a status query"
req GET "$LOC"
is "$ST:$(hdr Range)" "204:0-2999999" "status after it counts every byte"
curl -s -o /dev/null --max-time 0.6 --limit-rate 2M -X PATCH -H 'Content-Range: 3000000-5999999' \
	--data-binary @"$T_TMP/live" "http://$REG$LOC"
req GET "$LOC"
is "$ST:$(hdr Docker-Upload-UUID)" "204:$UUID" "status right after a client cut mid-body is 204"
sleep 0.3 # the server has dropped the cut request by now
req GET "$LOC"
END=$(hdr Range); END=${END#0-}
[ "$END" -ge 2999999 ] 2>/dev/null; t_ok $? "status after the cut tells a usable offset ($END)"
tail -c +$((END + 2 - 3000000)) "$T_TMP/live" > "$T_TMP/live.rest"
req PATCH "$LOC" -H "Content-Range: $((END + 1))-5999999" --data-binary @"$T_TMP/live.rest"
is "$ST:$(hdr Range)" "202:0-5999999" "the client resumes at that offset after the cut"
cat "$T_TMP/live" "$T_TMP/live" > "$T_TMP/live2"
req PUT "$LOC?digest=$(sha "$T_TMP/live2")"
is "$ST" 201 "the resumed upload completes with the right digest"

# PUT without a body, wrong digest, missing digest, cancel
req POST /v2/team/app/blobs/uploads/
LOC=$(hdr Location)
req PATCH "$LOC" --data-binary @"$T_TMP/c1"
req PUT "$LOC"
is "$ST/$(errcode)" 400/DIGEST_INVALID "PUT without digest is 400 DIGEST_INVALID"
req PUT "$LOC?digest=$D1"
is "$ST/$(errcode)" 400/DIGEST_INVALID "PUT with a wrong digest is 400 DIGEST_INVALID"
req GET "$LOC"
is "$ST/$(errcode)" 404/BLOB_UPLOAD_UNKNOWN "a failed PUT ends the session"
req POST /v2/team/app/blobs/uploads/
LOC=$(hdr Location)
req DELETE "$LOC"
is "$ST" 204 "DELETE cancels an upload"
req DELETE "$LOC"
is "$ST/$(errcode)" 404/BLOB_UPLOAD_UNKNOWN "cancelled upload is unknown"
req PATCH /v2/team/app/blobs/uploads/0123456789abcdef0123456789abcdef --data-binary x
is "$ST/$(errcode)" 404/BLOB_UPLOAD_UNKNOWN "unknown upload id is 404"
req PATCH /v2/team/app/blobs/uploads/not-an-id --data-binary x
is "$ST/$(errcode)" 404/BLOB_UPLOAD_UNKNOWN "malformed upload id is 404"
req POST /v2/team/app/blobs/uploads/
LOC=$(hdr Location)
req GET "$(echo "$LOC" | sed 's#/team/app/#/team/other/#')"
is "$ST/$(errcode)" 404/BLOB_UPLOAD_UNKNOWN "a session is unknown in another repository"
printf '' > "$T_TMP/empty"
DE=$(sha "$T_TMP/empty")
req PUT "$LOC?digest=$DE"
is "$ST" 201 "empty blob via POST+PUT"

# a new PATCH or PUT takes a session over from one still running (a
# client whose connection died before the server noticed); the old one
# stops. A status query is read-only: it takes nothing over.
req POST /v2/team/app/blobs/uploads/
LOC=$(hdr Location)
head -c 3000000 /dev/urandom > "$T_TMP/slow"
curl -s -o /dev/null --limit-rate 400k -X PATCH --data-binary @"$T_TMP/slow" "http://$REG$LOC" &
SLOW=$!
sleep 1
req GET "$LOC"
is "$ST" 204 "status of a session whose PATCH still runs is answered"
req PATCH "$LOC" -H 'Content-Range: 99999999-99999999' --data-binary x
is "$ST" 416 "a misplaced PATCH takes the session over and tells where it stands"
R1=$(hdr Range)
wait $SLOW
req GET "$LOC"
is "$(hdr Range)" "$R1" "the overtaken PATCH wrote nothing more"
# "0-0" is an empty session here: the old PATCH may not have filled one
# write batch (REG_UPLOAD_BATCH) yet
NEXT=$((${R1#0-} + 1)); [ "$R1" = "0-0" ] && NEXT=0
tail -c +$((NEXT + 1)) "$T_TMP/slow" > "$T_TMP/slow-rest"
req PUT "$LOC?digest=$(sha "$T_TMP/slow")" -H "Content-Range: $NEXT-2999999" --data-binary @"$T_TMP/slow-rest"
is "$ST" 201 "the upload completes from where the registry said it stood"

# ---- cross-repository mount
req POST "/v2/team/copy/blobs/uploads/?mount=$D1&from=team/app"
is "$ST:$(hdr Location):$(hdr Docker-Content-Digest)" "201:/v2/team/copy/blobs/$D1:$D1" "mount from a repository holding the blob is 201"
req GET "/v2/team/copy/blobs/$D1"
is "$ST:$BODY" "200:hello world" "mounted blob is served"
req POST "/v2/team/copy2/blobs/uploads/?mount=$D1&from=team/empty"
is "$ST" 202 "mount from a repository without the blob starts an upload"
req POST "/v2/team/copy3/blobs/uploads/?mount=$D1"
is "$ST" 202 "mount without from starts an upload"
req POST "/v2/team/copy4/blobs/uploads/?mount=$D1&from=Bad..Name"
is "$ST" 202 "mount with an invalid from starts an upload"

# ---- manifests
mkdir -p "$T_TMP/img"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' > "$T_TMP/cfg"
DC=$(push_blob team/app "$T_TMP/cfg")
SC=$(stat -c %s "$T_TMP/cfg")
SL=$(stat -c %s "$T_TMP/b1")
cat > "$T_TMP/m1" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$DC","size":$SC},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$D1","size":$SL}]}
EOF
DM1=$(sha "$T_TMP/m1")
OCI_M=application/vnd.oci.image.manifest.v1+json
req PUT /v2/team/app/manifests/v1 -H "Content-Type: $OCI_M" --data-binary @"$T_TMP/m1"
is "$ST" 201 "PUT OCI manifest by tag is 201"
is "$(hdr Location):$(hdr Docker-Content-Digest)" "/v2/team/app/manifests/$DM1:$DM1" "manifest PUT Location and digest"
req GET /v2/team/app/manifests/v1 -H "Accept: $OCI_M"
is "$ST:$(hdr Content-Type):$(hdr Docker-Content-Digest)" "200:$OCI_M:$DM1" "GET by tag: type and digest"
is "$(sha "$T_TMP/body")" "$DM1" "GET serves the pushed bytes exactly"
req HEAD "/v2/team/app/manifests/$DM1"
is "$ST:$(hdr Content-Length):$(hdr Docker-Content-Digest)" "200:$(stat -c %s "$T_TMP/m1"):$DM1" "HEAD by digest"
req GET /v2/team/app/manifests/v1 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'
is "$ST/$(errcode)" 404/MANIFEST_UNKNOWN "GET with an Accept that excludes the type is 404"
req GET /v2/team/app/manifests/v1 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' -H "Accept: $OCI_M"
is "$ST" 200 "several Accept headers are all honoured"
req GET /v2/team/app/manifests/v1 -H 'Accept: */*'
is "$ST" 200 "Accept */* takes anything"
req GET /v2/team/app/manifests/nosuchtag
is "$ST/$(errcode)" 404/MANIFEST_UNKNOWN "unknown tag is 404 MANIFEST_UNKNOWN"
req GET "/v2/team/app/manifests/sha256:$(printf %064d 0)"
is "$ST/$(errcode)" 404/MANIFEST_UNKNOWN "unknown digest is 404 MANIFEST_UNKNOWN"
req GET "/v2/team/nothere/manifests/v1"
is "$ST/$(errcode)" 404/MANIFEST_UNKNOWN "manifest of an unknown repository is 404"
req PUT /v2/team/app/manifests/bad%20tag -H "Content-Type: $OCI_M" --data-binary @"$T_TMP/m1"
is "$ST/$(errcode)" 400/MANIFEST_INVALID "PUT with an invalid tag is 400"
req PUT "/v2/team/app/manifests/$DM1" -H "Content-Type: $OCI_M" --data-binary @"$T_TMP/m1"
is "$ST" 201 "PUT by matching digest is 201"
DM512="sha512:$(sha512sum "$T_TMP/m1" | cut -d' ' -f1)"
req PUT "/v2/team/app/manifests/$DM512" -H "Content-Type: $OCI_M" --data-binary @"$T_TMP/m1"
is "$ST:$(hdr Docker-Content-Digest)" "201:$DM512" "PUT by a sha512 digest is 201"
req GET "/v2/team/app/manifests/$DM512"
is "$ST:$(sha "$T_TMP/body")" "200:$DM1" "GET by the sha512 digest serves the same bytes"
req PUT "/v2/team/app/manifests/$D1" -H "Content-Type: $OCI_M" --data-binary @"$T_TMP/m1"
is "$ST/$(errcode)" 400/DIGEST_INVALID "PUT by a different digest is 400 DIGEST_INVALID"
req PUT /v2/team/copy3/manifests/v1 -H "Content-Type: $OCI_M" --data-binary @"$T_TMP/m1"
is "$ST/$(errcode)" 400/MANIFEST_BLOB_UNKNOWN "manifest with blobs missing from the repository is 400 MANIFEST_BLOB_UNKNOWN"
printf '{"schemaVersion":2,' > "$T_TMP/bad"
req PUT /v2/team/app/manifests/bad -H "Content-Type: $OCI_M" --data-binary @"$T_TMP/bad"
is "$ST/$(errcode)" 400/MANIFEST_INVALID "malformed JSON is 400 MANIFEST_INVALID"
printf '{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}' > "$T_TMP/s1"
req PUT /v2/team/app/manifests/s1 -H "Content-Type: application/vnd.docker.distribution.manifest.v1+prettyjws" --data-binary @"$T_TMP/s1"
is "$ST/$(errcode)" 400/MANIFEST_INVALID "schema1 is refused"
like "$(printf '%s' "$BODY" | jq -r '.errors[0].message')" "schema1" "schema1 error says why"
req PUT /v2/team/app/manifests/ct -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary @"$T_TMP/m1"
is "$ST/$(errcode)" 400/MANIFEST_INVALID "Content-Type unlike mediaType is 400"
sed "s/\"size\":$SL/\"size\":$((SL + 1))/" "$T_TMP/m1" > "$T_TMP/m1bad"
req PUT /v2/team/app/manifests/sz -H "Content-Type: $OCI_M" --data-binary @"$T_TMP/m1bad"
is "$ST/$(errcode)" 400/MANIFEST_INVALID "descriptor size unlike the blob is 400"
head -c 5000000 /dev/zero | tr '\0' ' ' > "$T_TMP/huge"
req PUT /v2/team/app/manifests/huge -H "Content-Type: $OCI_M" --data-binary @"$T_TMP/huge"
is "$ST" 413 "manifest over 4 MiB is 413"

# docker schema2 and a manifest list / OCI index of it
DOCKER_M=application/vnd.docker.distribution.manifest.v2+json
cat > "$T_TMP/m2" <<EOF
{"schemaVersion":2,"mediaType":"$DOCKER_M","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"$DC","size":$SC},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"$D1","size":$SL}]}
EOF
DM2=$(sha "$T_TMP/m2"); SM2=$(stat -c %s "$T_TMP/m2"); SM1=$(stat -c %s "$T_TMP/m1")
req PUT /v2/team/app/manifests/docker -H "Content-Type: $DOCKER_M" --data-binary @"$T_TMP/m2"
is "$ST" 201 "PUT docker schema2 manifest"
req GET /v2/team/app/manifests/docker -H "Accept: $DOCKER_M"
is "$ST:$(hdr Content-Type)" "200:$DOCKER_M" "GET docker schema2 keeps its type"
LIST_M=application/vnd.docker.distribution.manifest.list.v2+json
cat > "$T_TMP/l1" <<EOF
{"schemaVersion":2,"mediaType":"$LIST_M","manifests":[{"mediaType":"$DOCKER_M","digest":"$DM2","size":$SM2,"platform":{"architecture":"amd64","os":"linux"}}]}
EOF
req PUT /v2/team/app/manifests/list -H "Content-Type: $LIST_M" --data-binary @"$T_TMP/l1"
is "$ST" 201 "PUT docker manifest list"
INDEX_M=application/vnd.oci.image.index.v1+json
cat > "$T_TMP/i1" <<EOF
{"schemaVersion":2,"mediaType":"$INDEX_M","manifests":[{"mediaType":"$OCI_M","digest":"$DM1","size":$SM1,"platform":{"architecture":"amd64","os":"linux"}}]}
EOF
req PUT /v2/team/app/manifests/index -H "Content-Type: $INDEX_M" --data-binary @"$T_TMP/i1"
is "$ST" 201 "PUT OCI index"
req GET /v2/team/app/manifests/index -H "Accept: $INDEX_M"
is "$ST:$(hdr Content-Type)" "200:$INDEX_M" "GET OCI index"
sed "s/$DM1/$D1/" "$T_TMP/i1" > "$T_TMP/i2"
req PUT /v2/team/app/manifests/index2 -H "Content-Type: $INDEX_M" --data-binary @"$T_TMP/i2"
is "$ST/$(errcode)" 400/MANIFEST_BLOB_UNKNOWN "index naming an unknown manifest is 400"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":%s}]}' "$OCI_M" "$DM1" "$SM1" > "$T_TMP/i3"
req PUT /v2/team/app/manifests/index3 -H "Content-Type: $INDEX_M" --data-binary @"$T_TMP/i3"
is "$ST" 201 "OCI index without mediaType field, typed by Content-Type"

# artifact with subject, empty config; referrers
printf '{}' > "$T_TMP/emptycfg"
DEC=$(push_blob team/app "$T_TMP/emptycfg")
cat > "$T_TMP/a1" <<EOF
{"schemaVersion":2,"mediaType":"$OCI_M","artifactType":"application/vnd.example.sbom","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"$DEC","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"$DEC","size":2}],"subject":{"mediaType":"$OCI_M","digest":"$DM1","size":$SM1},"annotations":{"org.example":"yes"}}
EOF
DA1=$(sha "$T_TMP/a1")
req PUT "/v2/team/app/manifests/$DA1" -H "Content-Type: $OCI_M" --data-binary @"$T_TMP/a1"
is "$ST:$(hdr OCI-Subject)" "201:$DM1" "artifact PUT is 201 with OCI-Subject"
cat > "$T_TMP/a2" <<EOF
{"schemaVersion":2,"mediaType":"$OCI_M","config":{"mediaType":"application/vnd.example.sig","digest":"$DEC","size":2},"layers":[],"subject":{"mediaType":"$OCI_M","digest":"$DM1","size":$SM1}}
EOF
DA2=$(sha "$T_TMP/a2")
req PUT "/v2/team/app/manifests/$DA2" -H "Content-Type: $OCI_M" --data-binary @"$T_TMP/a2"
is "$ST" 201 "second referrer (artifactType from its config)"
req GET "/v2/team/app/referrers/$DM1"
is "$ST:$(hdr Content-Type)" "200:$INDEX_M" "referrers is an OCI index"
is "$(printf '%s' "$BODY" | jq -r '.manifests | length')" 2 "both referrers listed"
is "$(printf '%s' "$BODY" | jq -r ".manifests[] | select(.digest==\"$DA1\") | .artifactType + \" \" + .annotations[\"org.example\"]")" \
	"application/vnd.example.sbom yes" "referrer descriptor has artifactType and annotations"
is "$(printf '%s' "$BODY" | jq -r ".manifests[] | select(.digest==\"$DA2\") | .artifactType")" \
	"application/vnd.example.sig" "artifactType falls back to the config media type"
req GET "/v2/team/app/referrers/$DM1?artifactType=application/vnd.example.sig"
is "$(printf '%s' "$BODY" | jq -r '[.manifests[].digest] | join(",")'):$(hdr OCI-Filters-Applied)" "$DA2:artifactType" "artifactType filter"
req GET "/v2/team/app/referrers/$D1"
is "$ST:$(printf '%s' "$BODY" | jq -r '.manifests | length')" "200:0" "no referrers: empty index"
req GET "/v2/team/app/referrers/sha256:abc"
is "$ST/$(errcode)" 400/DIGEST_INVALID "referrers with a bad digest is 400"

# ---- tags list and catalog with pagination
for t in a b c d; do push_manifest team/app "t$t" "$T_TMP/m1" "$OCI_M" >/dev/null; done
req GET /v2/team/app/tags/list
is "$ST:$(printf '%s' "$BODY" | jq -c '.name')" '200:"team/app"' "tags list names the repository"
is "$(printf '%s' "$BODY" | jq -r '.tags | join(",")')" "docker,index,index3,list,ta,tb,tc,td,v1" "all tags, sorted"
req GET "/v2/team/app/tags/list?n=2"
is "$(printf '%s' "$BODY" | jq -r '.tags | join(",")')" "docker,index" "n=2 gives two"
is "$(hdr Link)" '</v2/team/app/tags/list?n=2&last=index>; rel="next"' "Link header to the next page"
req GET "/v2/team/app/tags/list?n=3&last=tb"
is "$(printf '%s' "$BODY" | jq -r '.tags | join(",")'):$(hdr Link)" "tc,td,v1:" "last page has no Link"
req GET "/v2/team/app/tags/list?n=0"
is "$(printf '%s' "$BODY" | jq -r '.tags | length')" 0 "n=0 gives none"
req GET "/v2/team/app/tags/list?n=100000"
is "$ST:$(printf '%s' "$BODY" | jq -r '.tags | length')" "200:9" "large n is clamped"
req GET "/v2/team/app/tags/list?n=x"
is "$ST/$(errcode)" 400/PAGINATION_NUMBER_INVALID "non-numeric n is 400"
req GET /v2/no/such/repo/tags/list
is "$ST/$(errcode)" 404/NAME_UNKNOWN "tags of an unknown repository is 404 NAME_UNKNOWN"
req GET /v2/_catalog
like "$(printf '%s' "$BODY" | jq -r '.repositories | join(",")')" "^team/app,team/copy" "catalog lists repositories, sorted"
req GET "/v2/_catalog?n=1"
is "$(printf '%s' "$BODY" | jq -r '.repositories | join(",")'):$(hdr Link)" 'team/app:</v2/_catalog?n=1&last=team/app>; rel="next"' "catalog pagination"
req GET "/v2/_catalog?n=1&last=team/app"
is "$(printf '%s' "$BODY" | jq -r '.repositories[0]')" "team/copy" "catalog second page"

# ---- deletion
req DELETE /v2/team/app/manifests/ta
is "$ST" 202 "DELETE a tag is 202"
req GET /v2/team/app/manifests/ta
is "$ST" 404 "deleted tag is gone"
req GET /v2/team/app/manifests/tb
is "$ST" 200 "other tags of the same manifest stay"
req DELETE "/v2/team/app/manifests/$DA2"
is "$ST" 202 "DELETE a manifest by digest is 202"
req GET "/v2/team/app/manifests/$DA2"
is "$ST/$(errcode)" 404/MANIFEST_UNKNOWN "deleted manifest is 404"
req GET "/v2/team/app/referrers/$DM1"
is "$(printf '%s' "$BODY" | jq -r '.manifests | length')" 1 "deleted referrer leaves the list"
req DELETE "/v2/team/app/manifests/$DA2"
is "$ST/$(errcode)" 404/MANIFEST_UNKNOWN "deleting twice is 404"
req DELETE "/v2/team/copy/blobs/$D1"
is "$ST" 202 "DELETE a blob link is 202"
req GET "/v2/team/copy/blobs/$D1"
is "$ST/$(errcode)" 404/BLOB_UNKNOWN "deleted blob link is 404"
req GET "/v2/team/app/blobs/$D1"
is "$ST" 200 "the blob stays in the repository that still links it"

# ---- health, metrics, request ids, access log
req GET /healthz
is "$ST" 200 "health endpoint"
req GET /metrics
like "$BODY" 'bale_registry_requests_total\{route="blob",method="GET",status="200"\} [0-9]+' "metrics count requests"
like "$BODY" 'bale_registry_received_bytes_total [1-9]' "metrics count bytes in"
like "$BODY" 'bale_registry_upload_duration_seconds_count [1-9]' "metrics count uploads"
like "$(hdr X-Request-Id)" '^[0-9a-f]{8}-[0-9]+$' "responses carry a request id"
like "$(cat "$REG_LOG")" "id=$(hdr X-Request-Id) method=GET uri=/metrics status=200" "access log line with the request id"

# ---- a TLS ClientHello on the plain port is dropped, the server goes on
printf '\026\003\001\002\000\001\000\001\374\003\003' > "$T_TMP/hello"
curl -s -m 2 -o /dev/null "telnet://$REG" < "$T_TMP/hello" 2>/dev/null
curl -s -m 5 -o /dev/null --cacert /dev/null "https://$REG/v2/" 2>/dev/null
req GET /v2/
is "$ST" 200 "server still serves after TLS attempts on the plain port"

# ---- upload sessions survive a restart (and a kill -9)
req POST /v2/team/app/blobs/uploads/
LOC=$(hdr Location)
req PATCH "$LOC" --data-binary @"$T_TMP/c1"
kill9_registry
start_registry --root "$ROOT"
req GET "$LOC"
is "$ST:$(hdr Range)" "204:0-9" "session survives kill -9 with its Range"
req PATCH "$LOC" -H 'Content-Range: 10-19' --data-binary @"$T_TMP/c2"
is "$ST" 202 "session continues after restart"
req PUT "$LOC?digest=$DW" --data-binary @"$T_TMP/c3"
is "$ST" 201 "session completes after restart"
req GET /v2/team/app/manifests/v1
is "$ST" 200 "manifests survive restart"
find "$ROOT" -name '.tmp-*' > "$T_TMP/tmps"
is "$(wc -l < "$T_TMP/tmps")" 0 "no temp files after restart"

# ---- delete disabled, upload limit
stop_registry
cat > "$T_TMP/nodelete.yml" <<EOF
delete: false
limits:
  max_uploads: 1
EOF
start_registry --root "$ROOT" -c "$T_TMP/nodelete.yml"
req DELETE /v2/team/app/manifests/tb
is "$ST/$(errcode)" 405/UNSUPPORTED "DELETE when disabled is 405 UNSUPPORTED"
req GET /v2/team/app/manifests/tb
is "$ST" 200 "nothing deleted"
req POST /v2/team/app/blobs/uploads/
LOC=$(hdr Location)
curl -s -o /dev/null --limit-rate 400k -X PATCH --data-binary @"$T_TMP/slow" "http://$REG$LOC" &
SLOW=$!
sleep 1
req POST "/v2/team/app/blobs/uploads/?digest=$D1" --data-binary @"$T_TMP/b1"
is "$ST/$(errcode):$(hdr Retry-After)" "429/TOOMANYREQUESTS:1" "an upload over limits.max_uploads is 429 TOOMANYREQUESTS"
req GET /v2/team/app/manifests/tb
is "$ST" 200 "pulls are not limited"
kill $SLOW 2>/dev/null; wait $SLOW 2>/dev/null
sleep 0.5
req POST "/v2/team/app/blobs/uploads/?digest=$D1" --data-binary @"$T_TMP/b1"
is "$ST" 201 "the slot is free again once the upload ends"

done_testing
