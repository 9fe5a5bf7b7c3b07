/* JWT bearer tokens and the /token endpoint (see token.h). */
#include "config.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/reference.h"
#include "common/limits.h"
#include "common/util.h"
#include "registry/server-internal.h"
#include "registry/token.h"

/* A key file we read. */
#define REG_MAX_KEY_FILE (64u << 10)
/* Scopes honoured in one token request. */
#define REG_MAX_SCOPES 8

enum jwt_alg { JWT_RS256, JWT_ES256, JWT_EDDSA };

struct reg_token {
	EVP_PKEY *key;
	enum jwt_alg alg;
	char *issuer;
	char *service;
	int64_t ttl;
	char kid[48];
};

static const char *alg_name(enum jwt_alg a)
{
	return a == JWT_RS256 ? "RS256" : a == JWT_ES256 ? "ES256" : "EdDSA";
}

/* ---- base64url ---- */

static char *b64url(const void *data, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

/* Decode base64url text of length n; NULL when malformed. */
static unsigned char *b64url_decode(const char *s, size_t n, size_t *len)
{
	if (n > REG_MAX_TOKEN)
		return NULL;
	size_t padded = (n + 3) / 4 * 4;
	cleanup_free char *tmp = xmalloc(padded + 1);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+' || c == '/' || c == '=')
			return NULL;
		tmp[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	for (size_t i = n; i < padded; i++)
		tmp[i] = '=';
	tmp[padded] = '\0';
	unsigned char *out = xmalloc(padded / 4 * 3 + 1);
	int got = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)padded);
	if (got < 0 || n % 4 == 1) {
		free(out);
		return NULL;
	}
	*len = (size_t)got - (padded - n);
	out[*len] = '\0';
	return out;
}

/* ---- key ---- */

int reg_token_new(struct reg_token **out, const char *key_path, const char *issuer,
                  const char *service, int64_t ttl, struct err **err)
{
	cleanup_buf struct buf b;
	buf_init(&b, REG_MAX_KEY_FILE);
	if (key_path == NULL)
		return err_set(err, ERR_INVALID, "%s",
		               "token auth needs a signing key (auth.token.key)");
	if (buf_read_file(&b, AT_FDCWD, key_path, err) < 0)
		return err_wrap(err, "token key");
	BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key == NULL)
		return err_set(err, ERR_INVALID, "token key '%s': not a PEM private key", key_path);
	struct reg_token *t = xcalloc(1, sizeof(*t));
	t->key = key;
	if (EVP_PKEY_is_a(key, "RSA")) {
		t->alg = JWT_RS256;
	} else if (EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == 256) {
		t->alg = JWT_ES256;
	} else if (EVP_PKEY_is_a(key, "ED25519")) {
		t->alg = JWT_EDDSA;
	} else {
		reg_token_free(t);
		return err_set(err, ERR_UNSUPPORTED,
		               "token key '%s': want an RSA, EC P-256 or Ed25519 key", key_path);
	}
	/* kid: a short hash of the public key, so rotated keys are told apart */
	unsigned char *der = NULL;
	int dlen = i2d_PUBKEY(key, &der);
	struct digest d;
	digest_buffer(&d, DIGEST_SHA256, der, dlen > 0 ? (size_t)dlen : 0);
	OPENSSL_free(der);
	cleanup_free char *kid = b64url(d.bytes, 18);
	str_copy(t->kid, kid, sizeof(t->kid));
	t->issuer = xstrdup(issuer != NULL ? issuer : "bale");
	t->service = xstrdup(service != NULL ? service : "bale");
	t->ttl = ttl > 0 ? ttl : 300;
	*out = t;
	return 0;
}

void reg_token_free(struct reg_token *t)
{
	if (t == NULL)
		return;
	EVP_PKEY_free(t->key);
	free(t->issuer);
	free(t->service);
	free(t);
}

int64_t reg_token_ttl(const struct reg_token *t)
{
	return t->ttl;
}

/* ---- signatures ---- */

/* ECDSA: DER (what OpenSSL makes) <-> r||s (what JWS wants). */
static bool ecdsa_der_to_raw(const unsigned char *der, size_t len, unsigned char raw[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (sig == NULL)
		return false;
	const BIGNUM *r, *s;
	ECDSA_SIG_get0(sig, &r, &s);
	bool ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
	ECDSA_SIG_free(sig);
	return ok;
}

static unsigned char *ecdsa_raw_to_der(const unsigned char *raw, size_t *len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
	if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return NULL;
	}
	unsigned char *der = NULL;
	int n = i2d_ECDSA_SIG(sig, &der);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return NULL;
	*len = (size_t)n;
	return der;
}

static int sign(struct reg_token *t, const char *input, char **sig_b64, struct err **err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = 0;
	const EVP_MD *md = t->alg == JWT_EDDSA ? NULL : EVP_sha256();
	unsigned char *sig = NULL;
	int ok = EVP_DigestSignInit(ctx, NULL, md, NULL, t->key) == 1 &&
	         EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)input, strlen(input)) == 1;
	if (ok) {
		sig = xmalloc(len);
		ok = EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input, strlen(input)) ==
		     1;
	}
	EVP_MD_CTX_free(ctx);
	if (ok && t->alg == JWT_ES256) {
		unsigned char raw[64];
		ok = ecdsa_der_to_raw(sig, len, raw);
		if (ok) {
			memcpy(sig, raw, 64);
			len = 64;
		}
	}
	if (!ok) {
		free(sig);
		return err_set(err, ERR_FAIL, "%s", "cannot sign token");
	}
	*sig_b64 = b64url(sig, len);
	free(sig);
	return 0;
}

static bool verify_sig(struct reg_token *t, const char *input, size_t ilen,
                       const unsigned char *sig, size_t slen)
{
	cleanup_free unsigned char *der = NULL;
	if (t->alg == JWT_ES256) {
		if (slen != 64)
			return false;
		der = ecdsa_raw_to_der(sig, &slen);
		if (der == NULL)
			return false;
		sig = der;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = t->alg == JWT_EDDSA ? NULL : EVP_sha256();
	bool ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, t->key) == 1 &&
	          EVP_DigestVerify(ctx, sig, slen, (const unsigned char *)input, ilen) == 1;
	EVP_MD_CTX_free(ctx);
	if (der != NULL)
		OPENSSL_free(steal_pointer(&der));
	return ok;
}

/* ---- mint / verify ---- */

static json_t *access_claim(const struct reg_identity *who)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < who->ngrants; i++) {
		json_t *acts = json_array();
		unsigned a = who->grants[i].actions;
		if (a & REG_ACT_PULL)
			json_array_append_new(acts, json_string("pull"));
		if (a & REG_ACT_PUSH)
			json_array_append_new(acts, json_string("push"));
		if (a & REG_ACT_DELETE)
			json_array_append_new(acts, json_string("delete"));
		json_t *o = json_object();
		json_object_set_new(o, "type", json_string("repository"));
		json_object_set_new(o, "name", json_string(who->grants[i].repo));
		json_object_set_new(o, "actions", acts);
		json_array_append_new(arr, o);
	}
	if (who->catalog_grant) {
		json_t *o = json_object();
		json_object_set_new(o, "type", json_string("registry"));
		json_object_set_new(o, "name", json_string("catalog"));
		json_object_set_new(o, "actions", json_pack("[s]", "*"));
		json_array_append_new(arr, o);
	}
	return arr;
}

static char *b64_json(json_t *j)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (jx_dump(&text, &len, j, 0, NULL) < 0)
		return NULL;
	return b64url(text, len);
}

int reg_token_mint(struct reg_token *t, const struct reg_identity *who, char **out,
                   struct err **err)
{
	int64_t now = (int64_t)time(NULL);
	unsigned char jti[16];
	RAND_bytes(jti, sizeof(jti));
	cleanup_free char *jti_s = b64url(jti, sizeof(jti));
	cleanup_json json_t *hdr =
	        json_pack("{s:s,s:s,s:s}", "typ", "JWT", "alg", alg_name(t->alg), "kid", t->kid);
	cleanup_json json_t *claims = json_pack(
	        "{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:o}", "iss", t->issuer, "sub", who->user, "aud",
	        t->service, "exp", (json_int_t)(now + t->ttl), "nbf", (json_int_t)(now - 10), "iat",
	        (json_int_t)now, "jti", jti_s, "access", access_claim(who));
	cleanup_free char *h = b64_json(hdr), *c = b64_json(claims);
	if (h == NULL || c == NULL)
		return err_set(err, ERR_FAIL, "%s", "cannot encode token");
	cleanup_free char *input = xasprintf("%s.%s", h, c);
	cleanup_free char *sig = NULL;
	if (sign(t, input, &sig, err) < 0)
		return ERR_FAIL;
	*out = xasprintf("%s.%s", input, sig);
	return 0;
}

static void grants_from_claim(const json_t *access, struct reg_identity *who)
{
	size_t i;
	json_t *e;
	json_array_foreach(access, i, e)
	{
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *name = json_string_value(json_object_get(e, "name"));
		json_t *acts = json_object_get(e, "actions");
		if (type == NULL || name == NULL || !json_is_array(acts))
			continue;
		if (str_eq(type, "registry") && str_eq(name, "catalog")) {
			who->catalog_grant = true;
			continue;
		}
		if (!str_eq(type, "repository") || who->ngrants == ARRAY_SIZE(who->grants) ||
		    strlen(name) >= sizeof(who->grants[0].repo))
			continue;
		unsigned bits = 0;
		size_t j;
		json_t *a;
		json_array_foreach(acts, j, a)
		{
			const char *s = json_string_value(a);
			bits |= str_eq(s, "pull")     ? REG_ACT_PULL
			        : str_eq(s, "push")   ? REG_ACT_PUSH
			        : str_eq(s, "delete") ? REG_ACT_DELETE
			        : str_eq(s, "*") ? (REG_ACT_PULL | REG_ACT_PUSH | REG_ACT_DELETE)
			                         : 0;
		}
		str_copy(who->grants[who->ngrants].repo, name, sizeof(who->grants[0].repo));
		who->grants[who->ngrants].actions = bits;
		who->ngrants++;
	}
}

static int check_claims(struct reg_token *t, const json_t *c, struct reg_identity *who)
{
	int64_t now = (int64_t)time(NULL);
	json_int_t exp = json_integer_value(json_object_get(c, "exp"));
	json_int_t nbf = json_integer_value(json_object_get(c, "nbf"));
	const char *iss = json_string_value(json_object_get(c, "iss"));
	const char *aud = json_string_value(json_object_get(c, "aud"));
	const char *sub = json_string_value(json_object_get(c, "sub"));
	if (!str_eq(iss, t->issuer) || !str_eq(aud, t->service) || exp < now || nbf > now + 60 ||
	    sub == NULL || strlen(sub) >= sizeof(who->user))
		return -1;
	str_copy(who->user, sub, sizeof(who->user));
	who->authenticated = sub[0] != '\0';
	who->from_token = true;
	json_t *access = json_object_get(c, "access");
	if (json_is_array(access))
		grants_from_claim(access, who);
	return 0;
}

int reg_token_verify(struct reg_token *t, const char *token, struct reg_identity *who,
                     struct err **err)
{
	size_t n = strlen(token);
	const char *d1 = strchr(token, '.');
	const char *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	if (n > REG_MAX_TOKEN || d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
		return err_set(err, ERR_UNAUTHORIZED, "%s", "malformed token");
	size_t hl = 0, cl = 0, sl = 0;
	cleanup_free unsigned char *h = b64url_decode(token, (size_t)(d1 - token), &hl);
	cleanup_free unsigned char *c = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &cl);
	cleanup_free unsigned char *s = b64url_decode(d2 + 1, strlen(d2 + 1), &sl);
	cleanup_json json_t *hj = NULL;
	cleanup_json json_t *cj = NULL;
	if (h == NULL || c == NULL || s == NULL ||
	    jx_load_buffer(&hj, h, hl, "token", 0, NULL) < 0 ||
	    jx_load_buffer(&cj, c, cl, "token", 0, NULL) < 0 ||
	    !str_eq(json_string_value(json_object_get(hj, "alg")), alg_name(t->alg)))
		return err_set(err, ERR_UNAUTHORIZED, "%s", "malformed token");
	if (!verify_sig(t, token, (size_t)(d2 - token), s, sl))
		return err_set(err, ERR_UNAUTHORIZED, "%s", "bad token signature");
	memset(who, 0, sizeof(*who));
	if (check_claims(t, cj, who) < 0) {
		memset(who, 0, sizeof(*who));
		return err_set(err, ERR_UNAUTHORIZED, "%s",
		               "token expired or not for this registry");
	}
	return 0;
}

/* ---- the /token endpoint ---- */

/* Add the grant for one "repository:<name>:<actions>" scope. */
static void grant_scope(struct reg_req *r, struct reg_identity *who, const char *scope)
{
	struct reg_auth *a = r->srv->auth;
	const char *user = who->authenticated ? who->user : NULL;
	if (str_eq(scope, "registry:catalog:*")) {
		who->catalog_grant = user != NULL || r->srv->cfg->anonymous_pull;
		return;
	}
	if (!str_has_prefix(scope, "repository:"))
		return;
	const char *name = scope + 11;
	const char *colon = strrchr(name, ':');
	if (colon == NULL || who->ngrants == ARRAY_SIZE(who->grants))
		return;
	cleanup_free char *repo = xstrndup(name, (size_t)(colon - name));
	unsigned want = 0;
	if (!ref_repo_name_valid(repo) || reg_actions_parse(colon + 1, true, &want, NULL) < 0)
		return;
	unsigned got = want & reg_auth_rules_grant(a, user, repo);
	str_copy(who->grants[who->ngrants].repo, repo, sizeof(who->grants[0].repo));
	who->grants[who->ngrants].actions = got;
	who->ngrants++;
}

/* Mint a token for who with every "scope" of q (each may hold several,
 * space-separated, as docker sends them) and reply with it. */
static void token_reply(struct reg_req *r, struct reg_identity *who, const struct reg_query *q)
{
	cleanup_err struct err *e = NULL;
	const char *service = reg_query_get(q, "service");
	if (service != NULL && !str_eq(service, r->srv->cfg->token_service))
		return reg_reply_error(r, 400, API_UNSUPPORTED, "unknown service");
	for (size_t i = 0; i < q->n; i++) {
		if (!str_eq(q->keys[i], "scope"))
			continue;
		cleanup_strv char **parts = str_split(q->values[i], ' ');
		for (size_t j = 0; parts[j] != NULL; j++)
			grant_scope(r, who, parts[j]);
	}
	cleanup_free char *tok = NULL;
	if (reg_token_mint(reg_auth_token(r->srv->auth), who, &tok, &e) < 0)
		return reg_reply_error(r, 500, API_INTERNAL, NULL);
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cleanup_json json_t *doc =
	        json_pack("{s:s,s:s,s:I,s:s}", "token", tok, "access_token", tok, "expires_in",
	                  (json_int_t)r->srv->cfg->token_ttl, "issued_at", when);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (jx_dump(&text, &len, doc, JX_NEWLINE, NULL) < 0)
		return reg_reply_error(r, 500, API_INTERNAL, NULL);
	reg_reply_header(r, "Cache-Control", "no-store");
	reg_reply_bytes(r, 200, "application/json", text, len);
}

static bool token_service_on(struct reg_req *r)
{
	if (r->srv->cfg->auth == REG_AUTH_TOKEN)
		return true;
	reg_reply_error(r, 404, API_UNSUPPORTED, "no token service on this registry");
	return false;
}

void reg_token_get(struct reg_req *r)
{
	struct reg_auth *a = r->srv->auth;
	struct reg_identity who;
	cleanup_err struct err *e = NULL;
	memset(&who, 0, sizeof(who));
	if (r->method != REG_M_GET) {
		reg_reply_header(r, "Allow", "GET, POST");
		return reg_reply_error(r, 405, API_UNSUPPORTED, "use GET or POST");
	}
	if (!token_service_on(r))
		return;
	const char *h = reg_req_header(r, "Authorization");
	if (h != NULL) {
		while (*h == ' ')
			h++;
		if (strncasecmp(h, "Basic ", 6) != 0 || reg_auth_basic(a, h + 6, &who, &e) < 0) {
			reg_reply_headerf(r, "WWW-Authenticate", "Basic realm=\"%s\"",
			                  r->srv->cfg->token_service);
			return reg_reply_error(r, 401, API_UNAUTHORIZED,
			                       "invalid username or password");
		}
	}
	token_reply(r, &who, &r->query);
}

/* ---- POST /token: the OAuth2 form (RFC 6749 section 4.3) that
 * containerd and docker send when they hold a username and password.
 * Only the password grant: this service hands out no refresh tokens, so
 * a refresh_token grant is refused and clients fall back to it. */

/* The form is tiny; anything larger is not a token request. */
#define REG_MAX_TOKEN_FORM 8192

static int token_form_data(struct reg_req *r, const char *data, size_t n)
{
	if (r->body.len + n > REG_MAX_TOKEN_FORM || buf_add(&r->body, data, n, NULL) < 0) {
		reg_req_fail(r, 413, API_UNSUPPORTED, "token request too large");
		return -1;
	}
	return 0;
}

/* Parse an application/x-www-form-urlencoded body: the query syntax, with
 * '+' for a space. */
static int form_parse(struct reg_query *q, const char *body, struct err **err)
{
	cleanup_free char *text = xstrdup(body);
	cleanup_buf struct buf b;
	buf_init(&b, 3 * REG_MAX_TOKEN_FORM + 1);
	for (const char *p = text; *p != '\0'; p++)
		if ((*p == '+' ? buf_addstr(&b, "%20", err) : buf_addch(&b, *p, err)) < 0)
			return ERR_INVALID;
	return reg_query_parse(q, buf_str(&b), err);
}

/* OAuth2's error body (RFC 6749 section 5.2). */
static void oauth_error(struct reg_req *r, unsigned status, const char *code, const char *what)
{
	cleanup_json json_t *doc = json_pack("{s:s,s:s}", "error", code, "error_description", what);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (doc == NULL || jx_dump(&text, &len, doc, JX_NEWLINE, NULL) < 0)
		return reg_reply_error(r, 500, API_INTERNAL, NULL);
	reg_reply_header(r, "Cache-Control", "no-store");
	reg_reply_bytes(r, status, "application/json", text, len);
}

static void token_post_end(struct reg_req *r)
{
	struct reg_identity who;
	cleanup_err struct err *e = NULL;
	struct reg_query form = {0};
	memset(&who, 0, sizeof(who));
	if (form_parse(&form, buf_str(&r->body), &e) < 0) {
		reg_query_release(&form);
		return oauth_error(r, 400, "invalid_request", "malformed form");
	}
	const char *grant = reg_query_get(&form, "grant_type");
	const char *user = reg_query_get(&form, "username");
	const char *password = reg_query_get(&form, "password");
	if (grant == NULL || !str_eq(grant, "password")) {
		reg_query_release(&form);
		return oauth_error(r, 400, "unsupported_grant_type",
		                   "only the password grant is supported");
	}
	if (user == NULL || password == NULL || strlen(user) >= sizeof(who.user) ||
	    reg_auth_password(r->srv->auth, user, password, &e) < 0) {
		reg_query_release(&form);
		return oauth_error(r, 401, "invalid_grant", "invalid username or password");
	}
	str_copy(who.user, user, sizeof(who.user));
	who.authenticated = true;
	token_reply(r, &who, &form);
	reg_query_release(&form);
}

void reg_token_post_begin(struct reg_req *r)
{
	if (!token_service_on(r))
		return;
	r->on_data = token_form_data;
	r->on_end = token_post_end;
}
