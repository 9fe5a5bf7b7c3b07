/* HTTP over libcurl for the registry client: see transport.h. */
#include <config.h>

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "registry/transport.h"

/* Buffers of 128 KiB down and 256 KiB up: a syscall pair costs ~3 us
 * here (DESIGN.md), so 512 MiB take 4096 recv() or 2048 send() calls,
 * about 10 ms; larger buffers win nothing measurable and each one is
 * resident per parallel transfer (curl's 2 MiB maximum up made 2 MiB of
 * a push's peak RSS). */
#define REGC_RECV_BUFFER (128L << 10)
#define REGC_SEND_BUFFER (256L << 10)
/* Easy handles kept for reuse (each holds its live connections). */
#define REGC_POOL_MAX 16
/* CA bundles collected from certs.d directories, at most. */
#define REGC_MAX_CA_BUNDLE (4u << 20)

struct ca_entry {
	char *host_port;
	char *pem;        /* concatenated *.crt, NULL when none */
	size_t pem_len;
	char *client_cert; /* paths, NULL when none */
	char *client_key;
};

struct regc_http {
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t lock; /* pool and ca cache */
	CURL *pool[REGC_POOL_MAX];
	size_t n_pool;
	char **certs_dirs;
	char *user_agent;
	struct ca_entry *cas;
	size_t n_cas;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void curl_init_once(void)
{
	curl_init_code = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *ctx)
{
	struct regc_http *h = ctx;
	(void)c;
	(void)access;
	pthread_mutex_lock(&h->share_locks[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *ctx)
{
	struct regc_http *h = ctx;
	(void)c;
	pthread_mutex_unlock(&h->share_locks[data]);
}

int regc_http_new(struct regc_http **out, char *const *certs_dirs, const char *user_agent,
		  struct err **err)
{
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_code != CURLE_OK)
		return err_set(err, ERR_FAIL, "cannot initialize libcurl: %s",
			       curl_easy_strerror(curl_init_code));
	struct regc_http *h = xcalloc(1, sizeof(*h));
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	pthread_mutex_init(&h->lock, NULL);
	h->share = curl_share_init();
	if (h->share == NULL) {
		regc_http_free(h);
		return err_set(err, ERR_FAIL, "cannot initialize libcurl: %s", "no share handle");
	}
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	for (size_t i = 0; certs_dirs != NULL && certs_dirs[i] != NULL; i++)
		strv_push(&h->certs_dirs, certs_dirs[i]);
	h->user_agent = xstrdup(user_agent != NULL ? user_agent : "bale");
	*out = h;
	return 0;
}

void regc_http_free(struct regc_http *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->n_pool; i++)
		curl_easy_cleanup(h->pool[i]);
	if (h->share != NULL)
		curl_share_cleanup(h->share);
	for (size_t i = 0; i < h->n_cas; i++) {
		free(h->cas[i].host_port);
		free(h->cas[i].pem);
		free(h->cas[i].client_cert);
		free(h->cas[i].client_key);
	}
	free(h->cas);
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->share_locks[i]);
	pthread_mutex_destroy(&h->lock);
	strv_free(h->certs_dirs);
	free(h->user_agent);
	free(h);
}

/* ---- certs.d ---- */

static void ca_add_dir(struct ca_entry *e, struct buf *pem, const char *dir)
{
	cleanup_dir DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		cleanup_free char *path = xasprintf("%s/%s", dir, name);
		if (str_has_suffix(name, ".crt")) {
			size_t before = pem->len;
			if (buf_read_file(pem, AT_FDCWD, path, NULL) < 0)
				buf_truncate(pem, before);
			else
				(void)buf_addch(pem, '\n', NULL);
		} else if (str_has_suffix(name, ".cert") && e->client_cert == NULL) {
			cleanup_free char *stem = xstrndup(name, strlen(name) - 5);
			cleanup_free char *key = xasprintf("%s/%s.key", dir, stem);
			if (access(key, R_OK) == 0) {
				e->client_cert = steal_pointer(&path);
				e->client_key = steal_pointer(&key);
			}
		}
	}
}

/* The trust settings of host_port, read once from every certs.d root. The
 * entry stays in h until regc_http_free(). Called with h->lock held. */
static const struct ca_entry *ca_lookup(struct regc_http *h, const char *host_port)
{
	for (size_t i = 0; i < h->n_cas; i++)
		if (str_eq(h->cas[i].host_port, host_port))
			return &h->cas[i];
	struct ca_entry e = { .host_port = xstrdup(host_port) };
	struct buf pem;
	buf_init(&pem, REGC_MAX_CA_BUNDLE);
	for (size_t i = 0; h->certs_dirs != NULL && h->certs_dirs[i] != NULL; i++) {
		if (strchr(host_port, '/') != NULL || host_port[0] == '.')
			break; /* never a path outside the certs.d root */
		cleanup_free char *dir = xasprintf("%s/%s", h->certs_dirs[i], host_port);
		ca_add_dir(&e, &pem, dir);
	}
	if (pem.len > 0)
		e.pem = buf_detach(&pem, &e.pem_len);
	buf_release(&pem);
	h->cas = xreallocarray(h->cas, h->n_cas + 1, sizeof(*h->cas));
	h->cas[h->n_cas] = e;
	return &h->cas[h->n_cas++];
}

/* ---- easy handle pool ---- */

static CURL *pool_take(struct regc_http *h)
{
	CURL *c = NULL;
	pthread_mutex_lock(&h->lock);
	if (h->n_pool > 0)
		c = h->pool[--h->n_pool];
	pthread_mutex_unlock(&h->lock);
	if (c == NULL)
		c = curl_easy_init();
	else
		curl_easy_reset(c);
	return c;
}

static void pool_give(struct regc_http *h, CURL *c)
{
	pthread_mutex_lock(&h->lock);
	if (h->n_pool < REGC_POOL_MAX) {
		h->pool[h->n_pool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	if (c != NULL)
		curl_easy_cleanup(c);
}

/* ---- responses ---- */

void regc_http_resp_init(struct regc_http_resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, REGC_MAX_BODY);
	r->content_length = -1;
}

static void resp_clear_headers(struct regc_http_resp *r)
{
	free(r->location);
	free(r->content_type);
	free(r->docker_content_digest);
	free(r->range);
	free(r->content_range);
	free(r->retry_after);
	free(r->link);
	strv_free(r->www_authenticate);
	r->location = r->content_type = r->docker_content_digest = NULL;
	r->range = r->content_range = r->retry_after = r->link = NULL;
	r->www_authenticate = NULL;
	r->content_length = -1;
}

void regc_http_resp_release(struct regc_http_resp *r)
{
	resp_clear_headers(r);
	buf_release(&r->body);
	r->status = 0;
	r->received = 0;
	r->transient = false;
}

struct xfer {
	const struct regc_http_req *req;
	struct regc_http_resp *resp;
	uint64_t sent;
	int sink_code;
	struct err *sink_err;
	bool too_big;
};

static void header_set(char **slot, const char *v, size_t n)
{
	free(*slot);
	*slot = xstrndup(v, n);
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ctx)
{
	struct xfer *x = ctx;
	struct regc_http_resp *r = x->resp;
	size_t n = size * nitems;
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue or a redirect): start over. */
		resp_clear_headers(r);
		const char *sp = memchr(data, ' ', n);
		r->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
		return n;
	}
	const char *colon = memchr(data, ':', n);
	if (colon == NULL)
		return n;
	size_t klen = (size_t)(colon - data);
	const char *v = colon + 1;
	size_t vlen = n - klen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if (vlen > BALE_MAX_HEADER)
		return n; /* not one we can use; the caller sees it as absent */
	cleanup_free char *key = xstrndup(data, klen);
	if (str_eq_nocase(key, "Location"))
		header_set(&r->location, v, vlen);
	else if (str_eq_nocase(key, "Content-Type"))
		header_set(&r->content_type, v, vlen);
	else if (str_eq_nocase(key, "Docker-Content-Digest"))
		header_set(&r->docker_content_digest, v, vlen);
	else if (str_eq_nocase(key, "Range"))
		header_set(&r->range, v, vlen);
	else if (str_eq_nocase(key, "Content-Range"))
		header_set(&r->content_range, v, vlen);
	else if (str_eq_nocase(key, "Retry-After"))
		header_set(&r->retry_after, v, vlen);
	else if (str_eq_nocase(key, "Link"))
		header_set(&r->link, v, vlen);
	else if (str_eq_nocase(key, "WWW-Authenticate") && strv_len(r->www_authenticate) < 16) {
		cleanup_free char *val = xstrndup(v, vlen);
		strv_push(&r->www_authenticate, val);
	} else if (str_eq_nocase(key, "Content-Length")) {
		cleanup_free char *val = xstrndup(v, vlen);
		int64_t cl;
		if (str_to_i64(val, &cl) == 0 && cl >= 0)
			r->content_length = cl;
	}
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	struct regc_http_resp *r = x->resp;
	size_t n = size * nmemb;
	r->received += n;
	if (x->req->sink != NULL && r->status < 300) {
		int rc = x->req->sink(x->req->sink_ctx, data, n, &x->sink_err);
		if (rc < 0) {
			x->sink_code = rc;
			return CURL_WRITEFUNC_ERROR;
		}
		return n;
	}
	if (buf_add(&r->body, data, n, NULL) < 0) {
		x->too_big = true;
		return CURL_WRITEFUNC_ERROR;
	}
	return n;
}

static size_t on_read(char *out, size_t size, size_t nitems, void *ctx)
{
	struct xfer *x = ctx;
	const struct regc_http_req *q = x->req;
	size_t want = size * nitems;
	uint64_t left = q->len - x->sent;
	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (q->data != NULL) {
		memcpy(out, (const char *)q->data + x->sent, want);
	} else {
		ssize_t got;
		do
			got = pread(q->fd, out, want, (off_t)(q->offset + x->sent));
		while (got < 0 && errno == EINTR);
		if (got <= 0) /* the file shrank under us, or EIO */
			return CURL_READFUNC_ABORT;
		want = (size_t)got;
	}
	x->sent += want;
	return want;
}

/* curl rewinds the body to resend it on a fresh connection when a reused
 * one turns out to be dead. */
static int on_seek(void *ctx, curl_off_t offset, int origin)
{
	struct xfer *x = ctx;
	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->req->len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->sent = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static int on_xferinfo(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = ctx;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	if (x->req->upload_progress != NULL && ulnow > 0)
		x->req->upload_progress(x->req->upload_ctx, (uint64_t)ulnow);
	return 0;
}

static const char *method_name(enum regc_method m)
{
	static const char *const names[] = { "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE" };
	return (unsigned)m < ARRAY_SIZE(names) ? names[m] : "GET";
}

static void setup_tls(struct regc_http *h, CURL *c, const struct regc_http_req *q)
{
	if (q->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (q->host_port == NULL || h->certs_dirs == NULL || !str_has_prefix(q->url, "https:"))
		return;
	pthread_mutex_lock(&h->lock);
	const struct ca_entry *e = ca_lookup(h, q->host_port);
	if (e->pem != NULL) {
		/* curl copies the blob; the system CAs stay in use beside it. */
		struct curl_blob blob = { .data = e->pem, .len = e->pem_len,
					  .flags = CURL_BLOB_COPY };
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (e->client_cert != NULL) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->client_cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->client_key);
	}
	pthread_mutex_unlock(&h->lock);
}

static void setup_method(CURL *c, const struct regc_http_req *q)
{
	bool has_body = q->len > 0;
	switch (q->method) {
	case REGC_GET:
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		/* Blob GETs may redirect to a storage backend; curl drops our
		 * Authorization header when the host changes. */
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
		break;
	case REGC_HEAD:
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		break;
	case REGC_DELETE:
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
		break;
	case REGC_PUT:
	case REGC_POST:
	case REGC_PATCH:
		if (q->method == REGC_POST && !has_body) {
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		} else {
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->len);
			if (q->method != REGC_PUT)
				curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method_name(q->method));
		}
		break;
	}
}

/* Map a curl failure to our codes; sets resp->transient. */
static int curl_failure(struct xfer *x, CURLcode rc, const char *errbuf, struct err **err)
{
	const struct regc_http_req *q = x->req;
	const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
	log_debug("%s %s: libcurl error %d", method_name(q->method), q->url, (int)rc);
	if (rc == CURLE_WRITE_ERROR && x->sink_code < 0) {
		err_move(err, &x->sink_err);
		return x->sink_code;
	}
	if (rc == CURLE_WRITE_ERROR && x->too_big)
		return err_set(err, ERR_TOOBIG, "%s %s: response body larger than %zu bytes",
			       method_name(q->method), q->url, x->resp->body.max);
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return err_set(err, ERR_DENIED, "%s %s: %s", method_name(q->method), q->url, why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_WEIRD_SERVER_REPLY:
		return err_set(err, ERR_PROTOCOL, "%s %s: %s", method_name(q->method), q->url, why);
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_FAIL_REWIND:
	case CURLE_READ_ERROR:
	case CURLE_ABORTED_BY_CALLBACK:
		x->resp->transient = rc != CURLE_READ_ERROR && rc != CURLE_ABORTED_BY_CALLBACK;
		return err_set(err, ERR_IO, "%s %s: %s", method_name(q->method), q->url, why);
	default:
		return err_set(err, ERR_IO, "%s %s: %s", method_name(q->method), q->url, why);
	}
}

int regc_http_do(struct regc_http *h, const struct regc_http_req *q, struct regc_http_resp *resp,
		 struct err **err)
{
	regc_http_resp_release(resp);
	buf_init(&resp->body, q->body_max > 0 ? q->body_max : REGC_MAX_BODY);
	CURL *c = pool_take(h);
	if (c == NULL)
		return err_set(err, ERR_FAIL, "cannot create a libcurl handle");
	struct xfer x = { .req = q, .resp = resp };
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	for (size_t i = 0; q->headers != NULL && q->headers[i] != NULL; i++)
		hdrs = curl_slist_append(hdrs, q->headers[i]);
	/* No 100-continue round trip: we authenticate before sending bodies. */
	hdrs = curl_slist_append(hdrs, "Expect:");

	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled peer (no byte for a minute) is a failed transfer. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, REGC_RECV_BUFFER);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, REGC_SEND_BUFFER);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &x);
	curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
	curl_easy_setopt(c, CURLOPT_SEEKDATA, &x);
	if (q->upload_progress != NULL) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	setup_method(c, q);
	setup_tls(h, c, q);

	CURLcode rc = curl_easy_perform(c);
	int r = 0;
	if (rc != CURLE_OK)
		r = curl_failure(&x, rc, errbuf, err);
	else if (q->method != REGC_HEAD && resp->content_length >= 0 && resp->status < 300 &&
		 resp->received < (uint64_t)resp->content_length) {
		resp->transient = true;
		r = err_set(err, ERR_IO, "%s %s: body cut short", method_name(q->method), q->url);
	}
	err_free(x.sink_err);
	curl_slist_free_all(hdrs);
	pool_give(h, c);
	return r;
}

char *regc_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			out[j++] = (char)ch;
		} else {
			out[j++] = '%';
			out[j++] = hex[ch >> 4];
			out[j++] = hex[ch & 15];
		}
	}
	out[j] = '\0';
	return out;
}

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *regc_base64_encode(const void *data, size_t n)
{
	const unsigned char *p = data;
	char *out = xmalloc((n + 2) / 3 * 4 + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[j++] = b64_alphabet[(v >> 18) & 63];
		out[j++] = b64_alphabet[(v >> 12) & 63];
		out[j++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		out[j++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
	}
	out[j] = '\0';
	return out;
}

int regc_base64_decode(char **out, size_t *len, const char *s, struct err **err)
{
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '=')
		n--;
	char *r = xmalloc(n / 4 * 3 + 4);
	size_t j = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		const char *pos = s[i] != '\0' ? strchr(b64_alphabet, s[i]) : NULL;
		if (pos == NULL) {
			free(r);
			return err_set(err, ERR_INVALID, "invalid base64 at offset %zu", i);
		}
		acc = (acc << 6) | (uint32_t)(pos - b64_alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			r[j++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (n % 4 == 1) {
		free(r);
		return err_set(err, ERR_INVALID, "invalid base64: truncated");
	}
	r[j] = '\0';
	*out = r;
	*len = j;
	return 0;
}
