#!/bin/sh
# The registry client when the network or the registry fails: connections
# cut mid-upload and mid-download (by a proxy of ours in front of the real
# distribution registry), a registry serving wrong bytes, and a registry
# killed in the middle of a push and started again.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/client-lib.sh"

regc_need docker-registry docker-registry
regc_need skopeo skopeo
regc_registry A || skip_all "docker-registry does not start here"
export DOCKER_CONFIG="$T_TMP/docker"
SK="--tls-verify=false"

O="$T_TMP/oci"
read -r MD MS <<EOF
$(regc_oci_image "$O" amd64 2 3072)
EOF
regc_oci_tag "$O" v1 application/vnd.oci.image.manifest.v1+json "$MD" "$MS"
LAYER=$(ls -S "$O/blobs/sha256" | head -1) # a 3 MiB layer

# ---- upload cut after 1 MB of a monolithic PUT (the PUT's URL names the
# layer's digest), then a PATCH cut (chunked)
regc_proxy "$REG_A_PORT" "PUT:$LAYER:cutreq:1000000"
P=127.0.0.1:$PROXY_PORT
run "$BALE" --log-level info copy -q "oci:$O:v1" "$P/cut/up:1"
is "$T_RC" 0 "a push whose upload is cut succeeds"
is "$T_OUT" "$MD" "with the right digest"
like "$T_ERR" "upload" "the log tells about the broken upload"
is "$(regc_remote_digest "docker://127.0.0.1:$REG_A_PORT/cut/up:1" $SK)" "$MD" "the registry holds the image"
run skopeo copy -q $SK "docker://127.0.0.1:$REG_A_PORT/cut/up:1" "oci:$T_TMP/check:v1"
is "$T_RC" 0 "skopeo verifies every blob of it"
regc_stop "$PROXY_PID"

# ---- the answer to the final PUT lost: the registry stored the blob, so
# nothing is sent again
regc_proxy "$REG_A_PORT" "PUT:$LAYER:noresp:0"
P=127.0.0.1:$PROXY_PORT
run "$BALE" --log-level info copy -q "oci:$O:v1" "$P/lost/answer:1"
is "$T_RC" 0 "a push whose final answer is lost succeeds"
like "$T_ERR" "has blob sha256:$LAYER now" "it sees that the registry stored the blob"
if printf '%s' "$T_ERR" | grep -q "starting over"; then t_ok 1 "without sending it again"; else
	t_ok 0 "without sending it again"; fi
is "$(regc_remote_digest "docker://127.0.0.1:$REG_A_PORT/lost/answer:1" $SK)" "$MD" "the registry holds the image"
regc_stop "$PROXY_PID"

BIG="$T_TMP/big"
read -r BD BS <<EOF
$(regc_oci_image "$BIG" amd64 1 $((80 * 1024)))
EOF
regc_oci_tag "$BIG" v1 application/vnd.oci.image.manifest.v1+json "$BD" "$BS"
regc_proxy "$REG_A_PORT" "PATCH:/blobs/uploads/:cutreq:10000000"
P=127.0.0.1:$PROXY_PORT
run "$BALE" --log-level info copy -q --chunk-size 16 "oci:$BIG:v1" "$P/cut/big:1"
is "$T_RC" 0 "a chunked push whose PATCH is cut succeeds"
is "$T_OUT" "$BD" "with the right digest"
like "$T_ERR" "resumes at byte|starting over" "it resumed or restarted the session as the registry said"
regc_stop "$PROXY_PID"

# ---- download cut after 1 MB: resumed with Range
regc_proxy "$REG_A_PORT" "GET:$LAYER:cutresp:1000000"
P=127.0.0.1:$PROXY_PORT
export BALE_ROOT="$T_TMP/store1"
run "$BALE" --log-level info pull -q "$P/cut/up:1"
is "$T_RC" 0 "a pull whose download is cut succeeds"
is "$T_OUT" "$MD" "with the right digest"
like "$T_ERR" "resuming at byte 1000000" "it resumed at the byte where the cut happened"
regc_stop "$PROXY_PID"

# ---- wrong bytes served: refused, nothing stored, nothing tagged
regc_proxy "$REG_A_PORT" "GET:$LAYER:flip:4096"
P=127.0.0.1:$PROXY_PORT
export BALE_ROOT="$T_TMP/store2"
run "$BALE" pull -q "$P/cut/up:1"
is "$T_RC" 1 "a pull of a corrupted blob fails"
like "$T_ERR" "served a wrong blob" "the error says the registry served a wrong blob"
like "$T_ERR" "sha256:" "and names the digests"
run "$BALE" images
if printf '%s' "$T_OUT" | grep -q "cut/up"; then t_ok 1 "nothing is tagged"; else t_ok 0 "nothing is tagged"; fi
BAD=$(find "$BALE_ROOT/blobs" -type f | while read -r f; do
	[ "sha256:$(regc_sha "$f")" = "sha256:$(basename "$f")" ] || echo "$f"
done)
is "$BAD" "" "no blob in the store mismatches its name"
is "$(find "$BALE_ROOT/ingest" -type f 2>/dev/null | wc -l)" 0 "no partial file is left behind"
regc_stop "$PROXY_PID"

# ---- the registry killed mid-push, started again
export BALE_ROOT="$T_TMP/store3"
"$BALE" --log-level info copy -q "oci:$BIG:v1" "127.0.0.1:$REG_A_PORT/killed/app:1" \
	>"$T_TMP/kill.out" 2>"$T_TMP/kill.err" &
PUSH=$!
sleep 1
kill -9 "$REG_A_PID"
wait "$REG_A_PID" 2>/dev/null
sleep 1
regc_restart_registry A
wait "$PUSH"
is "$?" 0 "a push survives the registry being killed and restarted"
is "$(cat "$T_TMP/kill.out")" "$BD" "with the right digest"
is "$(regc_remote_digest "docker://127.0.0.1:$REG_A_PORT/killed/app:1" $SK)" "$BD" "the registry holds the image"

done_testing
