#!/bin/sh
# bale login/logout and authenticated push/pull against the distribution
# registry: htpasswd (Basic), TLS with a per-registry CA in certs.d,
# --tls-verify=false, docker's config.json and credential helpers, and
# what a 401 says.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/client-lib.sh"

regc_need docker-registry docker-registry
regc_need htpasswd apache2-utils
regc_need openssl openssl
regc_need skopeo skopeo
regc_registry H htpasswd || skip_all "docker-registry does not start here"
regc_registry T tls || skip_all "docker-registry does not start with TLS here"
H=127.0.0.1:$REG_H_PORT
T=127.0.0.1:$REG_T_PORT
export BALE_ROOT="$T_TMP/store"
export DOCKER_CONFIG="$T_TMP/docker"

O="$T_TMP/oci"
read -r MD MS <<EOF
$(regc_oci_image "$O" amd64 2 32)
EOF
regc_oci_tag "$O" v1 application/vnd.oci.image.manifest.v1+json "$MD" "$MS"

# ---- htpasswd
run "$BALE" copy -q "oci:$O:v1" "$H/app:1"
is "$T_RC" 1 "push without credentials fails"
like "$T_ERR" "401" "the registry's status is shown"
like "$T_ERR" "credentials tried: none found for '$H'" "the error says no credentials were found"

run sh -c "echo wrong | '$BALE' login -u alice --password-stdin $H"
is "$T_RC" 1 "login with a wrong password fails"
like "$T_ERR" "refused the login of alice" "and says so"
[ ! -e "$DOCKER_CONFIG/config.json" ]
t_ok $? "nothing is stored after a failed login"

run sh -c "echo s3cret | '$BALE' login -u alice --password-stdin $H"
is "$T_RC" 0 "login exits 0"
is "$T_OUT" "Login Succeeded" "login says so"
AUTH=$(printf 'alice:s3cret' | base64)
like "$(tr -d ' \n' <"$DOCKER_CONFIG/config.json")" "\"$H\":\\{\"auth\":\"$AUTH\"\\}" "config.json holds docker's auth entry"
is "$(stat -c %a "$DOCKER_CONFIG/config.json")" 600 "config.json is private"
run skopeo inspect --tls-verify=false --authfile "$DOCKER_CONFIG/config.json" "docker://$H/nothing:1"
like "$T_ERR" "manifest unknown|name unknown" "skopeo authenticates with what bale stored"

run "$BALE" copy -q "oci:$O:v1" "$H/app:1"
is "$T_RC" 0 "push with the stored credentials works"
is "$T_OUT" "$MD" "and prints the digest"
run "$BALE" pull -q "$H/app:1"
is "$T_OUT" "$MD" "pull with the stored credentials works"

# credentials given as docker writes them for other tools: a file we did not write
cat >"$T_TMP/other.json" <<EOF
{"auths":{"http://$H/v1/":{"auth":"$AUTH","email":""}},"HttpHeaders":{"User-Agent":"x"}}
EOF
run "$BALE" copy -q --authfile "$T_TMP/other.json" "$H/app:1" "oci:$T_TMP/o2:v1"
is "$T_RC" 0 "an auths key with scheme and path matches the registry"

run "$BALE" copy -q --creds alice:bad "$H/app:1" "oci:$T_TMP/o3:v1"
is "$T_RC" 1 "--creds overrides the file (a wrong password fails)"
like "$T_ERR" "user 'alice' from the command line" "the 401 names the credentials tried"

run "$BALE" logout "$H"
is "$T_RC" 0 "logout exits 0"
if grep -q "$H" "$DOCKER_CONFIG/config.json"; then t_ok 1 "logout removes the entry"; else t_ok 0 "logout removes the entry"; fi
run "$BALE" logout "$H"
is "$T_RC" 1 "a second logout fails"

# ---- a credential helper (docker's protocol), named by credHelpers
mkdir -p "$T_TMP/bin"
cat >"$T_TMP/bin/docker-credential-baletest" <<'EOF'
#!/bin/sh
# docker's helper protocol over a directory of files
d="$BALE_TEST_HELPER_DIR"
mkdir -p "$d"
case "$1" in
get) k=$(cat | tr '/:' '__'); [ -f "$d/$k" ] && cat "$d/$k" || { echo "credentials not found in native keychain"; exit 1; } ;;
store) j=$(cat); k=$(printf '%s' "$j" | sed 's/.*"ServerURL":"\([^"]*\)".*/\1/' | tr '/:' '__'); printf '%s' "$j" >"$d/$k" ;;
erase) k=$(cat | tr '/:' '__'); rm "$d/$k" ;;
esac
EOF
chmod +x "$T_TMP/bin/docker-credential-baletest"
export BALE_TEST_HELPER_DIR="$T_TMP/helper"
printf '{"credHelpers":{"%s":"baletest"}}\n' "$H" >"$DOCKER_CONFIG/config.json"
run env PATH="$T_TMP/bin:$PATH" sh -c "echo s3cret | '$BALE' login -u alice --password-stdin $H"
is "$T_RC" 0 "login through a credential helper"
like "$T_ERR" "docker-credential-baletest" "says where the credentials went"
if grep -q s3cret "$DOCKER_CONFIG/config.json"; then t_ok 1 "the secret is not in config.json"; else t_ok 0 "the secret is not in config.json"; fi
run env PATH="$T_TMP/bin:$PATH" "$BALE" pull -q "$H/app:1"
is "$T_OUT" "$MD" "pull with credentials from the helper"
run env PATH="$T_TMP/bin:$PATH" "$BALE" logout "$H"
is "$T_RC" 0 "logout erases from the helper"
is "$(ls "$BALE_TEST_HELPER_DIR" | wc -l)" 0 "the helper holds nothing any more"

# ---- docker login writes, bale reads (when a docker engine answers here)
if docker info >/dev/null 2>&1; then
	rm -f "$DOCKER_CONFIG/config.json"
	echo s3cret | docker login -u alice --password-stdin "$H" >/dev/null 2>&1
	is "$?" 0 "docker login to the htpasswd registry"
	run "$BALE" pull -q "$H/app:1"
	is "$T_OUT" "$MD" "bale pulls with the credentials docker login stored"
else
	diag "no docker engine answers: docker login interop not checked"
fi

# ---- TLS with a private CA
run "$BALE" copy -q "oci:$O:v1" "$T/app:1"
is "$T_RC" 1 "a registry whose CA we do not know is refused"
like "$T_ERR" "certificate|SSL" "because of its certificate"
like "$T_ERR" "tls-verify=false|certs.d" "and the error says how to trust it"
mkdir -p "$T_TMP/certs.d/$T"
cp "$T_TMP/ca/ca.crt" "$T_TMP/certs.d/$T/ca.crt"
run "$BALE" copy -q --cert-dir "$T_TMP/certs.d" "oci:$O:v1" "$T/app:1"
is "$T_RC" 0 "with its CA in certs.d/HOST:PORT/ca.crt the push works"
is "$T_OUT" "$MD" "and prints the digest"
run env HOME="$T_TMP/home" "$BALE" pull -q "$T/app:1"
is "$T_RC" 1 "without the CA the pull fails"
mkdir -p "$T_TMP/home/.config/containers/certs.d/$T"
cp "$T_TMP/ca/ca.crt" "$T_TMP/home/.config/containers/certs.d/$T/"
run env HOME="$T_TMP/home" XDG_CONFIG_HOME= "$BALE" pull -q "$T/app:1"
is "$T_OUT" "$MD" "~/.config/containers/certs.d is searched"
run "$BALE" pull -q --tls-verify=false "$T/app:1"
is "$T_OUT" "$MD" "--tls-verify=false skips verification"

done_testing
