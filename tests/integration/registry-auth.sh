#!/bin/sh
# Configuration errors, htpasswd (bcrypt) auth, access rules, the token
# service and its JWTs, driven with curl against `bale serve`. A refused
# request must look the same whether or not what it names exists.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/registry-lib.sh"
command -v htpasswd >/dev/null 2>&1 || skip_all "htpasswd is not installed (Debian package apache2-utils)"
command -v openssl >/dev/null 2>&1 || skip_all "openssl is not installed (Debian package openssl)"

cd "$T_TMP" || exit 1
htpasswd -Bbc htpasswd alice wonderland 2>/dev/null
htpasswd -Bb htpasswd bob builder 2>/dev/null

# ---- configuration checking
printf 'listen: 127.0.0.1:0\nstorag:\n  x: 1\n' > typo.yml
run "$BALE" serve --check -c typo.yml
is "$T_RC" 1 "--check fails on a bad file"
like "$T_ERR" "typo.yml:2:1: unknown key 'storag'" "error names file:line:col"
printf 'limits:\n  manifest_size: lots\n' > size.yml
run "$BALE" serve --check -c size.yml
like "$T_ERR" "size.yml:2:18: " "bad size value located"
printf 'auth:\n  htpasswd:\n    path: nowhere\n' > nofile.yml
run "$BALE" serve --check -c nofile.yml
like "$T_ERR" "nowhere" "missing htpasswd file named"
printf 'auth:\n  token:\n    realm: http://x/token\n    key: k.pem\n' > notoken.yml
run "$BALE" serve --check -c notoken.yml
like "$T_ERR" "notoken.yml:3:5: 'auth.token' needs 'auth.htpasswd'" "token without users refused"
printf 'tls:\n  cert: c.pem\n' > halftls.yml
run "$BALE" serve --check -c halftls.yml
like "$T_ERR" "needs both 'cert' and 'key'" "half a TLS config refused"
run "$BALE" serve --check
is "$T_RC" 2 "--check without -c is a usage error"

# ---- htpasswd + rules
cat > basic.yml <<EOF
root: r1
auth:
  htpasswd:
    path: htpasswd
    realm: bale-auth-test
groups:
  builders: [bob]
access:
  - repositories: "alice/*"
    users: [alice]
    actions: [pull, push, delete]
  - repositories: "shared/*"
    groups: [builders]
    users: [alice]
    actions: [pull, push]
EOF
run "$BALE" serve --check -c basic.yml
is "$T_RC:$T_OUT" "0:basic.yml: configuration is valid" "--check accepts a good file"
start_registry -c basic.yml || exit 1
A="-u alice:wonderland"; B="-u bob:builder"
req GET /v2/
is "$ST:$(errcode)" "401:UNAUTHORIZED" "anonymous /v2/ is 401 UNAUTHORIZED"
is "$(hdr WWW-Authenticate)" 'Basic realm="bale-auth-test"' "Basic challenge with the realm"
req GET /v2/ $A
is "$ST" 200 "valid credentials: 200"
req GET /v2/ -u alice:wrong
is "$ST" 401 "wrong password: 401"
req GET /v2/ -u nobody:x
is "$ST" 401 "unknown user: 401"
printf 'x' > blob; D=$(sha blob)
req POST "/v2/alice/app/blobs/uploads/?digest=$D" $A --data-binary @blob
is "$ST" 201 "alice pushes to alice/*"
req POST "/v2/alice/app/blobs/uploads/?digest=$D" $B --data-binary @blob
is "$ST:$(errcode)" "403:DENIED" "bob may not push to alice/*"
req GET "/v2/alice/app/blobs/$D" $B
S1="$ST:$BODY"
req GET "/v2/alice/nothing/blobs/$D" $B
is "$ST:$BODY" "$S1" "denied pull looks the same for an existing and a missing repository"
req GET "/v2/alice/app/blobs/$D"
S2="$ST:$BODY"
req GET "/v2/alice/nothing/blobs/$D"
is "$ST:$BODY" "$S2" "anonymous refusal looks the same too"
is "$ST" 401 "anonymous pull without anonymous_pull is 401"
req POST "/v2/shared/x/blobs/uploads/?digest=$D" $B --data-binary @blob
is "$ST" 201 "group member pushes to shared/*"
req POST "/v2/shared/x/blobs/uploads/?mount=$D&from=alice/app" $B
is "$ST" 202 "mount from a repository bob may not pull is not honoured (202)"
req POST "/v2/shared/y/blobs/uploads/?mount=$D&from=alice/app" $A
is "$ST" 201 "alice may mount from alice/app"
req GET /v2/_catalog $B
is "$(printf '%s' "$BODY" | jq -r '.repositories | join(",")')" "shared/x,shared/y" "catalog shows only what bob may pull"
req GET /v2/_catalog
is "$ST" 401 "anonymous catalog is 401"
req DELETE "/v2/alice/app/blobs/$D" $B
is "$ST" 403 "bob may not delete"
req DELETE "/v2/shared/x/blobs/$D" $A
is "$ST" 403 "alice may not delete in shared/* (no delete action)"
req DELETE "/v2/alice/app/blobs/$D" $A
is "$ST" 202 "alice deletes in alice/*"
stop_registry

# ---- token service
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out token.key 2>/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 15098)
cat > token.yml <<EOF
root: r2
listen: 127.0.0.1:$PORT
auth:
  htpasswd:
    path: htpasswd
  token:
    realm: http://127.0.0.1:$PORT/token
    service: bale-auth
    key: token.key
    expiration: 2s
access:
  - repositories: "alice/*"
    users: [alice]
    actions: [pull, push]
EOF
"$BALE" serve -c token.yml 2>>"$REG_LOG" &
REG_PID=$!; REG="127.0.0.1:$PORT"
for i in $(seq 1 100); do curl -s -o /dev/null "http://$REG/healthz" && break; sleep 0.05; done
req GET /v2/
is "$ST:$(hdr WWW-Authenticate)" "401:Bearer realm=\"http://$REG/token\",service=\"bale-auth\"" "Bearer challenge"
req GET "/v2/alice/app/tags/list"
is "$(hdr WWW-Authenticate)" "Bearer realm=\"http://$REG/token\",service=\"bale-auth\",scope=\"repository:alice/app:pull\"" "challenge names the scope"
req GET "/token?service=bale-auth&scope=repository:alice/app:pull,push" -u alice:nope
is "$ST" 401 "token service refuses a wrong password"
req GET "/token?service=other&scope=repository:alice/app:pull" $A
is "$ST" 400 "token service refuses another service"
req GET "/token?service=bale-auth&scope=repository:alice/app:pull,push" $A
is "$ST" 200 "token for alice"
TOK=$(printf '%s' "$BODY" | jq -r .token)
is "$(printf '%s' "$BODY" | jq -r '.access_token == .token and .expires_in == 2')" true "token response fields"
CLAIMS=$(printf '%s' "$TOK" | cut -d. -f2 | tr '_-' '/+' | sed 's/$/===/' | base64 -d 2>/dev/null)
is "$(printf '%s' "$CLAIMS" | jq -c '.access')" '[{"type":"repository","name":"alice/app","actions":["pull","push"]}]' "token grants the requested scope"
req POST "/v2/alice/app/blobs/uploads/?digest=$D" -H "Authorization: Bearer $TOK" --data-binary @blob
is "$ST" 201 "push with the token"
req GET "/v2/alice/other/blobs/$D" -H "Authorization: Bearer $TOK"
is "$ST" 401 "token does not open another repository"
like "$(hdr WWW-Authenticate)" 'error="insufficient_scope"' "insufficient_scope in the challenge"
req GET "/token?service=bale-auth&scope=repository:alice/app:pull,push" $B
TOKB=$(printf '%s' "$BODY" | jq -r .token)
CLAIMS=$(printf '%s' "$TOKB" | cut -d. -f2 | tr '_-' '/+' | sed 's/$/===/' | base64 -d 2>/dev/null)
is "$(printf '%s' "$CLAIMS" | jq -c '.access[0].actions')" '[]' "bob's token grants nothing on alice/app"
req GET "/v2/alice/app/blobs/$D" -H "Authorization: Bearer $TOKB"
is "$ST" 401 "bob's token cannot pull"
SIG=${TOK##*.}
case $SIG in A*) SIG2="B${SIG#?}" ;; *) SIG2="A${SIG#?}" ;; esac
BAD="${TOK%.*}.$SIG2"
req GET "/v2/alice/app/blobs/$D" -H "Authorization: Bearer $BAD"
is "$ST" 401 "tampered token refused"
like "$(hdr WWW-Authenticate)" 'error="invalid_token"' "invalid_token in the challenge"
req GET "/token?service=bale-auth&scope=repository:alice/app:pull"
is "$ST" 200 "anonymous token request is answered"
sleep 3
req GET "/v2/alice/app/blobs/$D" -H "Authorization: Bearer $TOK"
is "$ST" 401 "expired token refused"

# ---- POST /token: the OAuth2 password grant containerd and docker send
req POST /token --data-urlencode grant_type=password --data-urlencode username=alice \
	--data-urlencode password=wonderland --data-urlencode service=bale-auth \
	--data-urlencode 'scope=repository:alice/app:pull,push repository:alice/other:pull' \
	--data-urlencode client_id=test
is "$ST" 200 "POST /token with the password grant is 200"
TOKP=$(printf '%s' "$BODY" | jq -r .access_token)
CLAIMS=$(printf '%s' "$TOKP" | cut -d. -f2 | tr '_-' '/+' | sed 's/$/===/' | base64 -d 2>/dev/null)
is "$(printf '%s' "$CLAIMS" | jq -c '[.access[].name]')" '["alice/app","alice/other"]' "POST /token grants every space-separated scope"
req HEAD "/v2/alice/app/blobs/$D" -H "Authorization: Bearer $TOKP"
is "$ST" 200 "the POSTed token pulls"
req POST /token -d 'grant_type=password&username=alice&password=nope&service=bale-auth'
is "$ST:$(printf '%s' "$BODY" | jq -r .error)" "401:invalid_grant" "POST /token refuses a wrong password"
req POST /token -d 'grant_type=refresh_token&refresh_token=x&service=bale-auth'
is "$ST:$(printf '%s' "$BODY" | jq -r .error)" "400:unsupported_grant_type" "POST /token has no refresh grant"
req POST /token -d 'grant_type=password&username=alice&password=wonderland&service=other'
is "$ST" 400 "POST /token refuses another service"
req PUT /token $A
is "$ST" 405 "PUT /token is 405"

done_testing
