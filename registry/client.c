/* The registry client core: hosts (scheme, auth kind, credentials,
 * tokens), the authenticated request loop with retries, registry errors,
 * and manifests. Blobs are in client-blob.c, images in copy.c. */
#include <config.h>

#include <errno.h>
#include <time.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "layers/image.h"
#include "registry/bearer.h"
#include "registry/challenge.h"
#include "registry/client-internal.h"

const char *const regc_manifest_accept =
	"Accept: " OCI_MT_MANIFEST ", " OCI_MT_INDEX ", " DOCKER_MT_MANIFEST ", " DOCKER_MT_LIST;

int64_t regc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool regc_is_local_host(const char *host_port)
{
	size_t n = strcspn(host_port, ":");
	if (host_port[0] == '[')
		return str_has_prefix(host_port, "[::1]");
	return (n == 9 && strncmp(host_port, "localhost", 9) == 0) ||
	       str_has_prefix(host_port, "127.");
}

/* ---- client ---- */

static void add_default_certs_dirs(char ***dirs)
{
	strv_push(dirs, "/etc/docker/certs.d");
	strv_push(dirs, "/etc/containers/certs.d");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	if (xdg != NULL && xdg[0] == '/') {
		cleanup_free char *d = xasprintf("%s/containers/certs.d", xdg);
		strv_push(dirs, d);
	} else if (home != NULL && home[0] == '/') {
		cleanup_free char *d = xasprintf("%s/.config/containers/certs.d", home);
		strv_push(dirs, d);
	}
	if (home != NULL && home[0] == '/') {
		cleanup_free char *d = xasprintf("%s/.docker/certs.d", home);
		strv_push(dirs, d);
	}
}

int regc_new(struct regc **out, const struct regc_opts *opts, struct err **err)
{
	cleanup_strv char **dirs = NULL;
	if (opts->certs_dir != NULL)
		strv_push(&dirs, opts->certs_dir);
	add_default_certs_dirs(&dirs);
	struct regc *c = xcalloc(1, sizeof(*c));
	cleanup_free char *ua = xasprintf("bale/%s", PACKAGE_VERSION);
	if (regc_http_new(&c->http, dirs, ua, err) < 0) {
		free(c);
		return err_code(*err);
	}
	c->tls_verify = opts->tls_verify;
	c->auth_file = opts->auth_file != NULL ? xstrdup(opts->auth_file) : NULL;
	c->username = opts->username != NULL ? xstrdup(opts->username) : NULL;
	c->password = opts->password != NULL ? xstrdup(opts->password) : NULL;
	c->jobs = opts->jobs > 0 ? opts->jobs : 4;
	c->chunk_size = opts->chunk_size;
	c->progress = opts->progress;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

static void host_free(struct regc_host *h)
{
	free(h->domain);
	free(h->api);
	free(h->base);
	free(h->realm);
	free(h->service);
	regc_cred_release(&h->cred);
	for (size_t i = 0; i < h->n_tokens; i++) {
		free(h->tokens[i].scopes);
		free(h->tokens[i].token);
	}
	free(h->tokens);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void regc_free(struct regc *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_hosts; i++)
		host_free(c->hosts[i]);
	free(c->hosts);
	regc_http_free(c->http);
	free(c->auth_file);
	free(c->username);
	if (c->password != NULL)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct regc_host *host_get(struct regc *c, const char *domain)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_hosts; i++) {
		if (str_eq(c->hosts[i]->domain, domain)) {
			pthread_mutex_unlock(&c->lock);
			return c->hosts[i];
		}
	}
	struct regc_host *h = xcalloc(1, sizeof(*h));
	h->domain = xstrdup(domain);
	h->api = xstrdup(str_eq(domain, "docker.io") ? "registry-1.docker.io" : domain);
	pthread_mutex_init(&h->lock, NULL);
	c->hosts = xreallocarray(c->hosts, c->n_hosts + 1, sizeof(*c->hosts));
	c->hosts[c->n_hosts++] = h;
	pthread_mutex_unlock(&c->lock);
	return h;
}

void regc_repo_open(struct regc_repo **out, struct regc *c, const char *domain, const char *name,
		    bool push)
{
	struct regc_repo *r = xcalloc(1, sizeof(*r));
	r->c = c;
	r->host = host_get(c, domain);
	r->name = xstrdup(name);
	r->push = push;
	*out = r;
}

void regc_repo_free(struct regc_repo *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r);
}

/* ---- credentials and tokens (host lock held) ---- */

static int host_load_cred(struct regc *c, struct regc_host *h, struct err **err)
{
	if (h->cred_loaded)
		return 0;
	if (c->username != NULL) {
		h->cred.username = xstrdup(c->username);
		h->cred.password = xstrdup(c->password != NULL ? c->password : "");
		h->cred.source = xstrdup("the command line");
		h->have_cred = true;
		h->cred_loaded = true;
		return 0;
	}
	struct err *e = NULL;
	int r = regc_creds_get(&h->cred, c->auth_file, h->domain, &e);
	if (r == ERR_NOTFOUND) {
		log_debug("no credentials for '%s': %s", h->domain, err_msg(e));
		err_free(e);
	} else if (r < 0) {
		err_move(err, &e);
		return err_wrap(err, "cannot read credentials for '%s'", h->domain);
	} else {
		h->have_cred = true;
	}
	h->cred_loaded = true;
	return 0;
}

/* "user 'x' from /root/.docker/config.json" or "none (anonymous)". The
 * caller frees. */
static char *cred_describe(struct regc *c, struct regc_host *h)
{
	if (!h->have_cred) {
		cleanup_free char *path = NULL;
		if (c->auth_file == NULL && regc_creds_path(&path, NULL) < 0)
			path = xstrdup("the docker config");
		return xasprintf("none found for '%s' in '%s' (anonymous)", h->domain,
				 c->auth_file != NULL ? c->auth_file : path);
	}
	if (h->cred.username == NULL)
		return xasprintf("identity token from %s", h->cred.source);
	return xasprintf("user '%s' from %s", h->cred.username, h->cred.source);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The scopes a request on r needs, sorted; the caller frees. */
static char **repo_scopes(const struct regc_repo *r, const char *extra, const char *challenged)
{
	char **v = NULL;
	cleanup_free char *mine = xasprintf("repository:%s:%s", r->name, r->push ? "pull,push" : "pull");
	strv_push(&v, mine);
	if (extra != NULL)
		strv_push(&v, extra);
	if (challenged != NULL && !str_eq(challenged, mine) && !str_eq(challenged, extra))
		strv_push(&v, challenged);
	qsort(v, strv_len(v), sizeof(*v), cmp_str);
	return v;
}

static char *scopes_key(char *const *scopes)
{
	struct buf b;
	buf_init(&b, 1u << 20);
	for (size_t i = 0; scopes[i] != NULL; i++)
		(void)buf_addf(&b, NULL, "%s%s", i > 0 ? " " : "", scopes[i]);
	return buf_detach(&b, NULL);
}

static struct regc_token *token_find(struct regc_host *h, const char *key)
{
	for (size_t i = 0; i < h->n_tokens; i++)
		if (str_eq(h->tokens[i].scopes, key))
			return &h->tokens[i];
	return NULL;
}

/* A valid token for scopes (cached, or fetched now): *authz gets the
 * Authorization header line. Host lock held. */
static int host_token(struct regc *c, struct regc_host *h, char *const *scopes, bool force,
		      char **authz, bool *transient, struct err **err)
{
	cleanup_free char *key = scopes_key(scopes);
	struct regc_token *t = token_find(h, key);
	int64_t now = regc_now_ms() / 1000;
	if (t != NULL && !force && t->expires > now + 10) {
		*authz = xasprintf("Authorization: Bearer %s", t->token);
		return 0;
	}
	if (host_load_cred(c, h, err) < 0)
		return err_code(*err);
	cleanup_free char *realm_hp = NULL;
	const char *p = strstr(h->realm, "://");
	if (p != NULL)
		realm_hp = xstrndup(p + 3, strcspn(p + 3, "/?"));
	struct regc_bearer_req q = {
		.realm = h->realm,
		.service = h->service,
		.scopes = scopes,
		.cred = h->have_cred ? &h->cred : NULL,
		.insecure = h->insecure,
		.host_port = realm_hp,
	};
	char *token = NULL;
	int64_t expires_in = 60;
	if (regc_bearer_fetch(c->http, &q, &token, &expires_in, transient, err) < 0)
		return err_code(*err);
	if (t == NULL) {
		h->tokens = xreallocarray(h->tokens, h->n_tokens + 1, sizeof(*h->tokens));
		t = &h->tokens[h->n_tokens++];
		t->scopes = steal_pointer(&key);
	} else {
		free(t->token);
	}
	t->token = token;
	t->expires = now + expires_in;
	*authz = xasprintf("Authorization: Bearer %s", t->token);
	return 0;
}

static char *basic_header(const struct regc_cred *cred)
{
	cleanup_free char *pair = xasprintf("%s:%s", cred->username, cred->password);
	cleanup_free char *b64 = regc_base64_encode(pair, strlen(pair));
	return xasprintf("Authorization: Basic %s", b64);
}

/* Take what a 401's challenges say. Returns true when there is something
 * new to try. Host lock held. */
static bool host_learn_challenge(struct regc_host *h, char *const *www, char **scope_out)
{
	struct regc_challenge *v = NULL;
	size_t n = 0;
	for (size_t i = 0; www != NULL && www[i] != NULL; i++) {
		struct err *e = NULL;
		if (regc_challenges_parse(&v, &n, www[i], strlen(www[i]), &e) < 0)
			log_debug("registry '%s': %s", h->domain, err_msg(e));
		err_free(e);
	}
	bool learned = false;
	const struct regc_challenge *b = regc_challenge_find(v, n, "bearer");
	if (b != NULL && regc_challenge_param(b, "realm") != NULL) {
		const char *realm = regc_challenge_param(b, "realm");
		const char *service = regc_challenge_param(b, "service");
		const char *scope = regc_challenge_param(b, "scope");
		if (!str_eq(h->realm, realm)) {
			free(h->realm);
			h->realm = xstrdup(realm);
			learned = true;
		}
		free(h->service);
		h->service = service != NULL ? xstrdup(service) : NULL;
		if (scope != NULL && scope_out != NULL)
			*scope_out = xstrdup(scope);
		h->basic = false;
	} else if (regc_challenge_find(v, n, "basic") != NULL && !h->basic) {
		h->basic = true;
		learned = true;
	}
	regc_challenges_free(v, n);
	return learned;
}

/* ---- ping: scheme and auth kind (host lock held) ---- */

/* GET /v2/ over scheme; attempts > 1 retries transient failures with
 * backoff (a registry restarting). */
static int ping_once(struct regc *c, struct regc_host *h, const char *scheme, int attempts,
		     struct regc_http_resp *resp, struct err **err)
{
	cleanup_free char *url = xasprintf("%s://%s/v2/", scheme, h->api);
	struct regc_http_req req = {
		.method = REGC_GET,
		.url = url,
		.fd = -1,
		.body_max = 1u << 20,
		.insecure = h->insecure,
		.host_port = h->api,
	};
	int64_t delay = REGC_BACKOFF_MS;
	for (int attempt = 1;; attempt++) {
		struct err *e = NULL;
		int r = regc_http_do(c->http, &req, resp, &e);
		if (r == 0 && resp->status < 500) {
			err_free(e);
			return 0;
		}
		bool again = (r < 0 && resp->transient) || (r == 0 && resp->status >= 500);
		if (!again || attempt >= attempts) {
			if (r == 0)
				r = err_set(&e, ERR_PROTOCOL, "GET %s: status %ld", url, resp->status);
			err_move(err, &e);
			return r;
		}
		log_info("registry '%s' not answering (%s); retrying in %lld ms", h->domain,
			 r < 0 ? err_msg(e) : "server error", (long long)delay);
		err_free(e);
		sleep_ms(delay);
		delay = delay * 2 > REGC_BACKOFF_MAX_MS ? REGC_BACKOFF_MAX_MS : delay * 2;
	}
}

static int host_ping(struct regc *c, struct regc_host *h, struct err **err)
{
	if (h->pinged)
		return 0;
	h->insecure = !c->tls_verify;
	/* This machine's registries are tried over plain HTTP first: a TLS
	 * probe of a plain port costs loading the system's CA bundle (~30 ms,
	 * most of a re-push), and a TLS registry answers the plain GET (which
	 * carries no credentials) with an error that sends us to TLS. */
	bool local = regc_is_local_host(h->api);
	const char *schemes[2] = { local ? "http" : "https", NULL };
	if (local)
		schemes[1] = "https";
	else if (h->insecure)
		schemes[1] = "http";
	struct regc_http_resp resp;
	regc_http_resp_init(&resp);
	struct err *first = NULL;
	int r = ERR_FAIL;
	for (size_t i = 0; i < ARRAY_SIZE(schemes) && schemes[i] != NULL; i++) {
		struct err *e = NULL;
		/* A TLS probe of a host that may speak plain HTTP gets one try:
		 * its failure means "try HTTP", not "wait for the registry". */
		bool last = i + 1 == ARRAY_SIZE(schemes) || schemes[i + 1] == NULL;
		r = ping_once(c, h, schemes[i], last ? REGC_MAX_ATTEMPTS : 1, &resp, &e);
		if (r == 0 && !last && resp.status != 200 && resp.status != 401) {
			/* e.g. 400 "Client sent an HTTP request to an HTTPS server" */
			r = err_set(&e, ERR_PROTOCOL, "GET %s://%s/v2/: status %ld", schemes[i], h->api,
				    resp.status);
		}
		if (r == 0) {
			free(h->base);
			h->base = xasprintf("%s://%s", schemes[i], h->api);
			err_free(e);
			break;
		}
		/* Report the first failure, unless a later one is about trust. */
		if (first == NULL || r == ERR_DENIED) {
			err_free(first);
			first = steal_pointer(&e);
		}
		err_free(e);
		if (r == ERR_DENIED)
			break; /* a certificate that does not verify: never downgrade */
	}
	if (r < 0) {
		regc_http_resp_release(&resp);
		err_move(err, &first);
		if (r == ERR_DENIED)
			return err_wrap(err, "registry '%s' (use --tls-verify=false or put its CA "
					     "in certs.d/%s/ca.crt)", h->domain, h->api);
		return err_wrap(err, "cannot reach registry '%s'", h->domain);
	}
	err_free(first);
	if (resp.status == 401)
		host_learn_challenge(h, resp.www_authenticate, NULL);
	else if (resp.status != 200)
		log_debug("registry '%s': /v2/ answered %ld", h->domain, resp.status);
	regc_http_resp_release(&resp);
	h->pinged = true;
	return 0;
}

/* The Authorization header for the next request on r (NULL: none). */
static int repo_authz(struct regc_repo *r, const char *extra_scope, const char *challenged,
		      bool force, char **authz, bool *transient, struct err **err)
{
	struct regc_host *h = r->host;
	*authz = NULL;
	if (h->realm != NULL) {
		cleanup_strv char **scopes = repo_scopes(r, extra_scope, challenged);
		return host_token(r->c, h, scopes, force, authz, transient, err);
	}
	if (h->basic) {
		if (host_load_cred(r->c, h, err) < 0)
			return err_code(*err);
		if (h->have_cred && h->cred.username != NULL)
			*authz = basic_header(&h->cred);
	}
	return 0;
}

static int64_t retry_after_ms(const struct regc_http_resp *resp, int64_t fallback)
{
	uint64_t secs;
	if (resp->retry_after != NULL && str_to_u64(resp->retry_after, &secs) == 0)
		return secs > 60 ? 60000 : (int64_t)secs * 1000;
	return fallback;
}

static bool status_retryable(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

int regc_repo_do(struct regc_repo *r, struct regc_http_req *req, const char *path,
		 const char *extra_scope, unsigned flags, struct regc_http_resp *resp,
		 struct err **err)
{
	struct regc_host *h = r->host;
	pthread_mutex_lock(&h->lock);
	int rc = host_ping(r->c, h, err);
	pthread_mutex_unlock(&h->lock);
	if (rc < 0)
		return rc;
	cleanup_free char *url = str_has_prefix(path, "http://") || str_has_prefix(path, "https://") ?
					 xstrdup(path) : xasprintf("%s%s", h->base, path);
	const char *headers[20];
	size_t nh = 0;
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL && nh < 18; i++)
		headers[nh++] = req->headers[i];
	const char *const *saved_headers = req->headers;
	req->url = url;
	req->insecure = h->insecure;
	req->host_port = h->api;
	req->headers = headers;
	cleanup_free char *challenged = NULL;
	bool force = false, reauthed = false;
	int64_t delay = REGC_BACKOFF_MS;
	for (int attempt = 1;; attempt++) {
		cleanup_free char *authz = NULL;
		bool transient = false;
		struct err *ae = NULL;
		pthread_mutex_lock(&h->lock);
		rc = repo_authz(r, extra_scope, challenged, force, &authz, &transient, &ae);
		pthread_mutex_unlock(&h->lock);
		force = false;
		if (rc < 0 && !(transient && attempt < REGC_MAX_ATTEMPTS)) {
			err_move(err, &ae);
			break;
		}
		if (rc < 0) {
			log_info("%s; retrying in %lld ms", err_msg(ae), (long long)delay);
			err_free(ae);
		} else {
			headers[nh] = authz;
			headers[nh + 1] = NULL;
			struct err *e = NULL;
			rc = regc_http_do(r->c->http, req, resp, &e);
			transient = rc < 0 && resp->transient;
			if (rc < 0 && (!transient || (flags & REGC_NO_RETRY) ||
				       attempt >= REGC_MAX_ATTEMPTS)) {
				err_move(err, &e);
				break;
			}
			if (rc < 0)
				log_info("%s; retrying in %lld ms", err_msg(e), (long long)delay);
			err_free(e);
		}
		if (rc == 0 && resp->status == 401 && !reauthed) {
			/* A token that lost its scope or expired early, or a
			 * registry that wants auth only for this operation. */
			reauthed = true;
			pthread_mutex_lock(&h->lock);
			free(challenged);
			challenged = NULL;
			bool learned = host_learn_challenge(h, resp->www_authenticate, &challenged);
			pthread_mutex_unlock(&h->lock);
			if (learned || h->realm != NULL) {
				force = true;
				continue;
			}
			break;
		}
		if (rc == 0 && (!status_retryable(resp->status) || (flags & REGC_NO_RETRY) ||
				attempt >= REGC_MAX_ATTEMPTS))
			break;
		int64_t wait = rc == 0 ? retry_after_ms(resp, delay) : delay;
		if (rc == 0)
			log_info("registry '%s' answered %ld to %s; retrying in %lld ms", h->domain,
				 resp->status, url, (long long)wait);
		sleep_ms(wait);
		delay = delay * 2 > REGC_BACKOFF_MAX_MS ? REGC_BACKOFF_MAX_MS : delay * 2;
	}
	req->headers = saved_headers;
	req->url = NULL;
	return rc;
}

int regc_status_error(struct regc_repo *r, const struct regc_http_resp *resp, const char *what,
		      struct err **err)
{
	cleanup_free char *why = regc_error_body_describe(resp->body.data, resp->body.len);
	cleanup_free char *ecode = regc_error_body_code(resp->body.data, resp->body.len);
	int code;
	switch (resp->status) {
	case 401:
		code = ERR_UNAUTHORIZED;
		break;
	case 403:
		code = ERR_DENIED;
		break;
	case 404:
		code = ERR_NOTFOUND;
		break;
	case 416:
		code = ERR_RANGE;
		break;
	default:
		code = str_eq(ecode, "DIGEST_INVALID") || str_eq(ecode, "SIZE_INVALID") ? ERR_DIGEST :
		       str_eq(ecode, "UNSUPPORTED") ? ERR_UNSUPPORTED : ERR_PROTOCOL;
	}
	if (code == ERR_UNAUTHORIZED || code == ERR_DENIED) {
		pthread_mutex_lock(&r->host->lock);
		cleanup_free char *creds = cred_describe(r->c, r->host);
		pthread_mutex_unlock(&r->host->lock);
		return err_set(err, code, "registry '%s' refused %s of '%s' (%ld %s); credentials tried: %s",
			       r->host->domain, what, r->name, resp->status,
			       why != NULL ? why : (code == ERR_DENIED ? "denied" : "unauthorized"),
			       creds);
	}
	return err_set(err, code, "registry '%s': %s of '%s': %ld %s", r->host->domain, what, r->name,
		       resp->status, why != NULL ? why : "(no error details)");
}

/* ---- manifests ---- */

static char *media_type_of(const char *content_type, const char *data, size_t len)
{
	if (content_type != NULL) {
		size_t n = strcspn(content_type, "; ");
		cleanup_free char *mt = xstrndup(content_type, n);
		if (oci_media_type_is_manifest(mt) || oci_media_type_is_index(mt))
			return steal_pointer(&mt);
	}
	const char *d = oci_detect_media_type(data, len);
	return d != NULL ? xstrdup(d) : NULL;
}

int regc_manifest_get(struct regc_repo *r, const char *ref, char **data, size_t *len, char **mt,
		      struct digest *digest, struct err **err)
{
	cleanup_free char *path = xasprintf("/v2/%s/manifests/%s", r->name, ref);
	const char *headers[] = { regc_manifest_accept, NULL };
	struct regc_http_req req = { .method = REGC_GET, .headers = headers, .fd = -1,
				     .body_max = BALE_MAX_MANIFEST };
	struct regc_http_resp resp;
	regc_http_resp_init(&resp);
	int rc = regc_repo_do(r, &req, path, NULL, 0, &resp, err);
	if (rc == ERR_TOOBIG) {
		regc_http_resp_release(&resp);
		return err_wrap(err, "manifest '%s' of '%s' is larger than %u bytes", ref, r->name,
				BALE_MAX_MANIFEST);
	}
	if (rc == 0 && resp.status != 200) {
		cleanup_free char *what = xasprintf("manifest '%s'", ref);
		rc = regc_status_error(r, &resp, "GET", err);
		err_wrap(err, "%s", what);
	}
	if (rc < 0) {
		regc_http_resp_release(&resp);
		return rc;
	}
	struct digest want;
	bool by_digest = digest_parse(&want, ref, NULL) == 0;
	digest_buffer(digest, by_digest ? want.algo : DIGEST_SHA256, resp.body.data, resp.body.len);
	if (by_digest && !digest_equal(&want, digest)) {
		char got[DIGEST_MAX_STRING];
		regc_http_resp_release(&resp);
		return err_set(err, ERR_DIGEST,
			       "registry '%s' served manifest '%s' of '%s' with digest %s", r->host->domain,
			       ref, r->name, digest_format(digest, got));
	}
	*mt = media_type_of(resp.content_type, resp.body.data, resp.body.len);
	if (*mt == NULL) {
		regc_http_resp_release(&resp);
		return err_set(err, ERR_UNSUPPORTED, "manifest '%s' of '%s' has an unknown media type",
			       ref, r->name);
	}
	*data = buf_detach(&resp.body, len);
	regc_http_resp_release(&resp);
	return 0;
}

int regc_manifest_head(struct regc_repo *r, const char *ref, struct digest *digest, bool *has_digest,
		       struct err **err)
{
	cleanup_free char *path = xasprintf("/v2/%s/manifests/%s", r->name, ref);
	const char *headers[] = { regc_manifest_accept, NULL };
	struct regc_http_req req = { .method = REGC_HEAD, .headers = headers, .fd = -1 };
	struct regc_http_resp resp;
	regc_http_resp_init(&resp);
	int rc = regc_repo_do(r, &req, path, NULL, 0, &resp, err);
	if (rc == 0 && resp.status == 404)
		rc = err_set(err, ERR_NOTFOUND, "manifest '%s' not found in '%s'", ref, r->name);
	else if (rc == 0 && resp.status != 200)
		rc = regc_status_error(r, &resp, "HEAD manifest", err);
	if (rc == 0) {
		*has_digest = resp.docker_content_digest != NULL &&
			      digest_parse(digest, resp.docker_content_digest, NULL) == 0;
	}
	regc_http_resp_release(&resp);
	return rc;
}

int regc_manifest_put(struct regc_repo *r, const char *ref, const void *data, size_t len,
		      const char *mt, struct err **err)
{
	cleanup_free char *path = xasprintf("/v2/%s/manifests/%s", r->name, ref);
	cleanup_free char *ct = xasprintf("Content-Type: %s", mt);
	const char *headers[] = { ct, NULL };
	struct regc_http_req req = { .method = REGC_PUT, .headers = headers, .data = data,
				     .len = len, .fd = -1 };
	struct regc_http_resp resp;
	regc_http_resp_init(&resp);
	int rc = regc_repo_do(r, &req, path, NULL, 0, &resp, err);
	if (rc == 0 && resp.status != 201 && resp.status != 200) {
		cleanup_free char *what = xasprintf("PUT manifest '%s'", ref);
		rc = regc_status_error(r, &resp, what, err);
	}
	regc_http_resp_release(&resp);
	return rc;
}

int regc_login_check(struct regc *c, const char *domain, const char *username,
		     const char *password, struct err **err)
{
	struct regc_host *h = host_get(c, domain);
	pthread_mutex_lock(&h->lock);
	int rc = host_ping(c, h, err);
	if (rc == 0) {
		regc_cred_release(&h->cred);
		h->cred_loaded = true;
		h->have_cred = username != NULL;
		if (username != NULL) {
			h->cred.username = xstrdup(username);
			h->cred.password = xstrdup(password != NULL ? password : "");
			h->cred.source = xstrdup("the login command");
		}
	}
	if (rc == 0 && h->realm != NULL) {
		/* A token without scope proves the credentials, as docker login does. */
		char *const none[] = { NULL };
		cleanup_free char *authz = NULL;
		bool transient;
		rc = host_token(c, h, none, true, &authz, &transient, err);
	} else if (rc == 0 && h->basic) {
		cleanup_free char *url = xasprintf("%s/v2/", h->base);
		cleanup_free char *authz = h->have_cred ? basic_header(&h->cred) : NULL;
		const char *headers[] = { authz, NULL };
		struct regc_http_req req = { .method = REGC_GET, .url = url, .headers = headers,
					     .fd = -1, .insecure = h->insecure, .host_port = h->api };
		struct regc_http_resp resp;
		regc_http_resp_init(&resp);
		rc = regc_http_do(c->http, &req, &resp, err);
		if (rc == 0 && resp.status != 200) {
			cleanup_free char *why = regc_error_body_describe(resp.body.data, resp.body.len);
			rc = err_set(err, resp.status == 401 ? ERR_UNAUTHORIZED : ERR_PROTOCOL,
				     "registry '%s' refused the login of %s%s%s (%ld)", domain,
				     username != NULL ? username : "anonymous",
				     why != NULL ? ": " : "", why != NULL ? why : "", resp.status);
		}
		regc_http_resp_release(&resp);
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}
