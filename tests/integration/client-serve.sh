#!/bin/sh
# bale's client against bale's own registry (`bale serve`) with token
# auth: the bearer flow with scopes, a cross-repository mount under a
# token that must cover both repositories, and what a 403 says.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/client-lib.sh"

"$BALE" help serve >/dev/null 2>&1 || skip_all "bale serve is not built"
regc_need htpasswd apache2-utils
regc_need openssl openssl
regc_need skopeo skopeo
export BALE_ROOT="$T_TMP/store" DOCKER_CONFIG="$T_TMP/docker"

S="$T_TMP/serve"
mkdir -p "$S"
htpasswd -Bbn alice s3cret >"$S/htpasswd" 2>/dev/null
htpasswd -Bbn bob hunter2 >>"$S/htpasswd" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$S/key.pem" >/dev/null 2>&1
started=""
for try in 1 2 3 4 5; do
	PORT=$(regc_pick_port)
	cat >"$S/config.yml" <<EOF
listen: 127.0.0.1:$PORT
root: $S/data
auth:
  htpasswd: {path: $S/htpasswd}
  token: {realm: "http://127.0.0.1:$PORT/token", service: bale-test, key: $S/key.pem}
access:
  - repositories: "team/*"
    users: [alice]
    actions: [pull, push]
  - repositories: "team/*"
    users: [bob]
    actions: [pull]
EOF
	"$BALE" serve -c "$S/config.yml" >"$S/log" 2>&1 &
	SPID=$!
	if regc_wait_http "http://127.0.0.1:$PORT/v2/" && kill -0 "$SPID" 2>/dev/null; then
		REGC_PIDS="$REGC_PIDS $SPID"
		started=1
		break
	fi
	regc_stop "$SPID"
done
[ -n "$started" ] || skip_all "bale serve does not start: $(tail -3 "$S/log")"
R=127.0.0.1:$PORT

O="$T_TMP/oci"
read -r MD MS <<EOF
$(regc_oci_image "$O" amd64 3 256)
EOF
regc_oci_tag "$O" v1 application/vnd.oci.image.manifest.v1+json "$MD" "$MS"

run "$BALE" copy -q "oci:$O:v1" "$R/team/app:1"
is "$T_RC" 1 "anonymous push to a token registry fails"
like "$T_ERR" "credentials tried: none found" "and says no credentials were found"

run sh -c "echo s3cret | '$BALE' login -u alice --password-stdin $R"
is "$T_RC" 0 "login through the token service"
run sh -c "echo nope | '$BALE' login -u alice --password-stdin $R"
is "$T_RC" 1 "a wrong password is refused by the token service"

run "$BALE" copy -q "oci:$O:v1" "$R/team/app:1"
is "$T_RC" 0 "push with a bearer token"
is "$T_OUT" "$MD" "prints the digest"
run "$BALE" pull -q "$R/team/app:1"
is "$T_OUT" "$MD" "pull with a bearer token"

run "$BALE" --log-level debug push --progress plain "$R/team/app:1" "$R/team/other:1"
is "$T_RC" 0 "push into a second repository"
like "$T_ERR" "mounted" "its blobs are mounted across repositories"
run skopeo inspect --tls-verify=false --creds alice:s3cret --raw "docker://$R/team/other:1"
is "$(printf '%s' "$T_OUT" | sha256sum | cut -d' ' -f1)" "${MD#sha256:}" "skopeo reads the mounted image"

run "$BALE" copy -q --creds bob:hunter2 "$R/team/app:1" "oci:$T_TMP/bob:v1"
is "$T_RC" 0 "a pull-only user pulls"
run "$BALE" copy -q --creds bob:hunter2 "oci:$O:v1" "$R/team/bob:1"
is "$T_RC" 1 "a pull-only user cannot push"
like "$T_ERR" "user 'bob' from the command line" "the refusal names the credentials tried"

# ---- a chunked upload cut mid-PATCH resumes where bale serve says it stands
BIG="$T_TMP/big"
read -r BD BS <<EOF
$(regc_oci_image "$BIG" amd64 1 $((80 * 1024)))
EOF
regc_oci_tag "$BIG" v1 application/vnd.oci.image.manifest.v1+json "$BD" "$BS"
regc_proxy "$PORT" "PATCH:/blobs/uploads/:cutreq:10000000"
run "$BALE" --log-level info copy -q --chunk-size 16 --creds alice:s3cret "oci:$BIG:v1" \
	"127.0.0.1:$PROXY_PORT/team/big:1"
is "$T_RC" 0 "a push whose PATCH is cut succeeds"
is "$T_OUT" "$BD" "with the right digest"
like "$T_ERR" "resumes at byte [1-9]" "the upload resumes at the offset the registry reports"
regc_stop "$PROXY_PID"

# ---- the same blob in one PUT, cut after 30 MB: resumed, not restarted
BIGLAYER=$(ls -S "$BIG/blobs/sha256" | head -1)
regc_proxy "$PORT" "PUT:$BIGLAYER:cutreq:30000000"
run "$BALE" --log-level info copy -q --creds alice:s3cret "oci:$BIG:v1" "127.0.0.1:$PROXY_PORT/team/big2:1"
is "$T_RC" 0 "a push whose one PUT is cut succeeds"
is "$T_OUT" "$BD" "with the right digest"
like "$T_ERR" "resumes at byte [1-9]" "it resumes at the offset the registry reports"
if printf '%s' "$T_ERR" | grep -q "starting over"; then t_ok 1 "without a new session"; else
	t_ok 0 "without a new session"; fi
regc_stop "$PROXY_PID"

done_testing
