/* `bale serve`: lifecycle (listen socket, libmicrohttpd daemon, storage,
 * auth) and the dispatch of requests to the API handlers, with the
 * authorization check in front of every one. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/limits.h"
#include "common/util.h"
#include "registry/http-internal.h"
#include "registry/server-internal.h"
#include "registry/storage-internal.h"
#include "layers/cas.h"

/* Per-connection buffer of libmicrohttpd: headers plus the slice of body
 * handed to each access-handler call. libmicrohttpd 0.9.75 zeroes the
 * whole pool at every request of a kept-alive connection, so its size is
 * paid per request: 256 KiB cost 35 us of CPU per blob HEAD (a third of it
 * in memset), 64 KiB 23 us, while an upload's CPU per MiB grew only from
 * 1.25 to 1.29 ms (smaller body slices). */
#define REG_CONN_MEMORY (64u << 10)
/* An idle connection is closed after this many seconds. */
#define REG_CONN_TIMEOUT 300

/* ---- authorization ---- */

static bool identify(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	if (r->who.authenticated || !reg_auth_enabled(r->srv->auth))
		return true;
	const char *h = reg_req_header(r, "Authorization");
	return reg_auth_identify(r->srv->auth, h, &r->who, &e) == 0;
}

/* Whether r may do `actions` on repo (NULL: the registry itself); replies
 * 401 or 403 when not. Denials look the same whether or not the
 * repository exists: this runs before any storage lookup. */
static bool authorize(struct reg_req *r, const char *repo, unsigned actions)
{
	struct reg_auth *a = r->srv->auth;
	bool ok_creds = identify(r);
	if (ok_creds && (reg_auth_allowed(a, &r->who, repo) & actions) == actions)
		return true;
	const struct reg_config *cfg = r->srv->cfg;
	bool token = cfg->auth == REG_AUTH_TOKEN;
	if (!ok_creds || !r->who.authenticated || token) {
		const char *why = !ok_creds              ? "invalid_token"
		                  : r->who.authenticated ? "insufficient_scope"
		                                         : NULL;
		cleanup_free char *ch = reg_auth_challenge(a, repo, actions, token ? why : NULL);
		if (ch != NULL)
			reg_reply_header(r, "WWW-Authenticate", ch);
		reg_reply_error(r, 401, API_UNAUTHORIZED, NULL);
		return false;
	}
	reg_reply_error(r, 403, API_DENIED, NULL);
	return false;
}

/* ---- dispatch ---- */

static bool is_body_request(const struct reg_req *r)
{
	switch (r->route.kind) {
	case REG_ROUTE_UPLOAD_NEW: return r->method == REG_M_POST;
	case REG_ROUTE_UPLOAD: return r->method == REG_M_PATCH || r->method == REG_M_PUT;
	case REG_ROUTE_MANIFEST: return r->method == REG_M_PUT;
	default: return false;
	}
}

static unsigned actions_needed(const struct reg_req *r)
{
	switch (r->route.kind) {
	case REG_ROUTE_UPLOAD_NEW:
	case REG_ROUTE_UPLOAD: return REG_ACT_PUSH;
	case REG_ROUTE_MANIFEST:
	case REG_ROUTE_BLOB:
		if (r->method == REG_M_PUT)
			return REG_ACT_PUSH;
		if (r->method == REG_M_DELETE)
			return REG_ACT_DELETE;
		return REG_ACT_PULL;
	default: return REG_ACT_PULL;
	}
}

static void reply_not_found(struct reg_req *r)
{
	static const char text[] = "404 page not found\n";
	reg_reply_bytes(r, 404, "text/plain; charset=utf-8", text, sizeof(text) - 1);
}

static void reply_method(struct reg_req *r, const char *allow)
{
	reg_reply_header(r, "Allow", allow);
	reg_reply_error(r, 405, API_UNSUPPORTED, "method not allowed for this endpoint");
}

/* Answer what is wrong with the target itself; true when it did. */
static bool reject_target(struct reg_req *r)
{
	const struct reg_route *rt = &r->route;
	if (r->target_error == ERR_TOOBIG) {
		reg_reply_error(r, 414, API_UNSUPPORTED, "request target too long");
		return true;
	}
	if (r->target_error != 0) {
		reg_reply_error(r, 400, API_UNSUPPORTED, "malformed request target");
		return true;
	}
	if (rt->kind == REG_ROUTE_NONE) {
		reply_not_found(r);
		return true;
	}
	if (rt->name_error != 0) {
		reg_reply_error(r, 0, API_NAME_INVALID, NULL);
		return true;
	}
	if (rt->ref_error == 0)
		return false;
	if (rt->kind == REG_ROUTE_UPLOAD) {
		reg_reply_error(r, 0, API_BLOB_UPLOAD_UNKNOWN, NULL);
	} else if (rt->ref_is_digest) {
		reg_reply_error(r, 0, API_DIGEST_INVALID,
		                rt->ref_error == ERR_UNSUPPORTED ? "unsupported digest algorithm"
		                                                 : "invalid digest");
	} else if (r->method == REG_M_PUT) {
		reg_reply_error(r, 0, API_MANIFEST_INVALID, "invalid tag");
	} else {
		reg_reply_error(r, 0, API_MANIFEST_UNKNOWN, NULL);
	}
	return true;
}

/* Route + method to a handler; replies 405 for other methods. */
static void dispatch_repo(struct reg_req *r)
{
	enum reg_method m = r->method;
	switch (r->route.kind) {
	case REG_ROUTE_TAGS:
		if (m == REG_M_GET || m == REG_M_HEAD)
			return reg_tags_get(r);
		return reply_method(r, "GET, HEAD");
	case REG_ROUTE_MANIFEST:
		if (m == REG_M_GET || m == REG_M_HEAD)
			return reg_manifest_get(r);
		if (m == REG_M_DELETE)
			return reg_manifest_delete_req(r);
		return reply_method(r, "GET, HEAD, PUT, DELETE");
	case REG_ROUTE_BLOB:
		if (m == REG_M_GET || m == REG_M_HEAD)
			return reg_blob_get(r);
		if (m == REG_M_DELETE)
			return reg_blob_delete(r);
		return reply_method(r, "GET, HEAD, DELETE");
	case REG_ROUTE_UPLOAD_NEW: return reply_method(r, "POST");
	case REG_ROUTE_UPLOAD:
		if (m == REG_M_GET)
			return reg_upload_status(r);
		if (m == REG_M_DELETE)
			return reg_upload_cancel(r);
		return reply_method(r, "GET, PATCH, PUT, DELETE");
	case REG_ROUTE_REFERRERS:
		if (m == REG_M_GET || m == REG_M_HEAD)
			return reg_referrers_get(r);
		return reply_method(r, "GET");
	default: return reply_not_found(r);
	}
}

/* limits.max_uploads: a blob upload beyond it is refused with 429 and
 * Retry-After, before its body is read. */
static bool take_upload_slot(struct reg_req *r)
{
	unsigned max = r->srv->cfg->max_uploads;
	if (max == 0)
		return true;
	if (__atomic_add_fetch(&r->srv->uploads, 1, __ATOMIC_RELAXED) > max) {
		__atomic_sub_fetch(&r->srv->uploads, 1, __ATOMIC_RELAXED);
		reg_reply_header(r, "Retry-After", "1");
		reg_reply_error(r, 429, API_TOOMANYREQUESTS,
		                "too many uploads in progress; retry later");
		return false;
	}
	r->counted = true;
	return true;
}

void reg_handle_begin(struct reg_req *r)
{
	if (r->route.kind == REG_ROUTE_TOKEN && r->method == REG_M_POST && r->target_error == 0)
		return reg_token_post_begin(r);
	if (!is_body_request(r))
		return; /* answered on the next call, keeping the connection */
	if (reject_target(r))
		return;
	if (!authorize(r, r->route.name, actions_needed(r)))
		return;
	r->has_body = true;
	if (r->route.kind != REG_ROUTE_MANIFEST && !take_upload_slot(r))
		return;
	switch (r->route.kind) {
	case REG_ROUTE_UPLOAD_NEW: return reg_upload_post(r);
	case REG_ROUTE_UPLOAD:
		if (r->method == REG_M_PATCH)
			return reg_upload_patch_begin(r);
		return reg_upload_put_begin(r);
	default: return reg_manifest_put_begin(r);
	}
}

static void handle_base(struct reg_req *r)
{
	if (r->method != REG_M_GET && r->method != REG_M_HEAD)
		return reply_method(r, "GET, HEAD");
	/* With auth on, /v2/ asks every anonymous client to authenticate:
	 * that is how docker learns the realm, even when pulls are open. */
	if (reg_auth_enabled(r->srv->auth)) {
		bool ok = identify(r);
		if (!ok || !r->who.authenticated) {
			cleanup_free char *ch = reg_auth_challenge(
			        r->srv->auth, NULL, 0,
			        !ok && r->srv->cfg->auth == REG_AUTH_TOKEN ? "invalid_token"
			                                                   : NULL);
			if (ch != NULL)
				reg_reply_header(r, "WWW-Authenticate", ch);
			reg_reply_error(r, 401, API_UNAUTHORIZED, NULL);
			return;
		}
	}
	reg_reply_bytes(r, 200, "application/json", "{}", 2);
}

static void handle_health(struct reg_req *r)
{
	if (r->method != REG_M_GET && r->method != REG_M_HEAD)
		return reply_method(r, "GET, HEAD");
	reg_reply_bytes(r, 200, "application/json", "{\"status\":\"ok\"}\n", 16);
}

void reg_handle_end(struct reg_req *r)
{
	if (r->target_error == 0) {
		switch (r->route.kind) {
		case REG_ROUTE_BASE: return handle_base(r);
		case REG_ROUTE_HEALTH: return handle_health(r);
		case REG_ROUTE_METRICS: return reg_metrics_get(r);
		case REG_ROUTE_TOKEN: return reg_token_get(r);
		case REG_ROUTE_CATALOG:
			if (r->method != REG_M_GET && r->method != REG_M_HEAD)
				return reply_method(r, "GET");
			if (reg_auth_enabled(r->srv->auth) && !authorize(r, NULL, REG_ACT_CATALOG))
				return;
			return reg_catalog_get(r);
		default: break;
		}
	}
	if (reject_target(r))
		return;
	if (!authorize(r, r->route.name, actions_needed(r)))
		return;
	if (r->method == REG_M_DELETE && !r->srv->cfg->delete_enabled &&
	    r->route.kind != REG_ROUTE_UPLOAD) {
		reg_reply_error(r, 405, API_UNSUPPORTED, "deletion is disabled on this registry");
		return;
	}
	dispatch_repo(r);
}

/* ---- listen socket ---- */

/* Split "host:port" / "[v6]:port" / ":port". */
static int split_listen(const char *listen, char **host, char **port, struct err **err)
{
	const char *colon = strrchr(listen, ':');
	if (colon == NULL)
		return err_set(err, ERR_INVALID, "listen address '%s' has no port (want HOST:PORT)",
		               listen);
	const char *h = listen, *he = colon;
	if (*h == '[') {
		if (he == h || he[-1] != ']')
			return err_set(err, ERR_INVALID, "malformed listen address '%s'", listen);
		h++;
		he--;
	}
	unsigned p;
	if (str_to_uint(colon + 1, 65535, &p) < 0)
		return err_set(err, ERR_INVALID, "bad port in listen address '%s'", listen);
	*host = he > h ? xstrndup(h, (size_t)(he - h)) : xstrdup("0.0.0.0");
	*port = xstrdup(colon + 1);
	return 0;
}

static int open_listen(const char *addr, int *fd_out, unsigned *port_out, struct err **err)
{
	cleanup_free char *host = NULL, *port = NULL;
	int rc = split_listen(addr, &host, &port, err);
	if (rc < 0)
		return rc;
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(host, port, &hints, &ai);
	if (g != 0)
		return err_set(err, ERR_INVALID, "cannot resolve listen address '%s': %s", addr,
		               gai_strerror(g));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return err_sys(err, e == EACCES ? ERR_DENIED : ERR_IO, e, "cannot listen on '%s'",
		               addr);
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                           : ((struct sockaddr_in *)&ss)->sin_port);
	*fd_out = fd;
	return 0;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("http: %s", line);
}

static int load_tls(struct reg_server *s, struct err **err)
{
	const struct reg_config *cfg = s->cfg;
	if (cfg->tls_cert == NULL)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return err_set(err, ERR_UNSUPPORTED, "%s",
		               "this libmicrohttpd was built without TLS support");
	struct buf b;
	buf_init(&b, 1u << 20);
	if (buf_read_file(&b, AT_FDCWD, cfg->tls_cert, err) < 0) {
		buf_release(&b);
		return err_wrap(err, "tls certificate");
	}
	s->tls_cert = buf_detach(&b, NULL);
	buf_init(&b, 1u << 20);
	if (buf_read_file(&b, AT_FDCWD, cfg->tls_key, err) < 0) {
		buf_release(&b);
		return err_wrap(err, "tls key");
	}
	s->tls_key = buf_detach(&b, NULL);
	return 0;
}

static unsigned pool_size(const struct reg_config *cfg)
{
	if (cfg->threads > 0)
		return cfg->threads;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static int start_daemon(struct reg_server *s, struct err **err)
{
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[16];
	size_t n = 0;
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, s->listen_fd, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, pool_size(s->cfg), NULL};
	opts[n++] =
	        (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)reg_http_uri_cb, s};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
	                                    (intptr_t)reg_http_completed, s};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, s};
	opts[n++] =
	        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, REG_CONN_MEMORY, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, REG_CONN_TIMEOUT, NULL};
	opts[n++] =
	        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, s->cfg->max_connections, NULL};
	if (s->tls_cert != NULL) {
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, reg_http_access, s, MHD_OPTION_ARRAY,
	                             opts, MHD_OPTION_END);
	if (s->daemon == NULL)
		return err_set(err, ERR_IO, "cannot start the HTTP server on '%s'%s",
		               s->cfg->listen,
		               s->tls_cert != NULL ? " (check the TLS certificate and key)" : "");
	s->listen_fd = -1; /* the daemon owns it now */
	return 0;
}

int reg_server_start(struct reg_server **out, struct reg_config *cfg, struct err **err)
{
	struct reg_server *s = xcalloc(1, sizeof(*s));
	s->cfg = cfg;
	s->listen_fd = -1;
	reg_metrics_init(&s->metrics);
	s->mcache = reg_mcache_new();
	unsigned char rnd[4];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	snprintf(s->id_prefix, sizeof(s->id_prefix), "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
	         rnd[3]);
	int rc = reg_auth_new(&s->auth, cfg, err);
	if (rc == 0)
		rc = load_tls(s, err);
	if (rc == 0)
		rc = reg_storage_fs_new(&s->storage, cfg->root, err);
	if (rc == 0 && cfg->upload_purge_age > 0) {
		unsigned removed = 0;
		cas_purge_uploads(reg_storage_fs_cas(s->storage), cfg->upload_purge_age, &removed,
		                  NULL);
	}
	if (rc == 0)
		rc = open_listen(cfg->listen, &s->listen_fd, &s->port, err);
	if (rc == 0)
		rc = start_daemon(s, err);
	if (rc < 0) {
		reg_server_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

unsigned reg_server_port(const struct reg_server *s)
{
	return s->port;
}

void reg_server_free(struct reg_server *s)
{
	if (s == NULL)
		return;
	if (s->daemon != NULL)
		MHD_stop_daemon(s->daemon);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	reg_storage_free(s->storage);
	reg_mcache_free(s->mcache);
	reg_auth_free(s->auth);
	free(s->tls_cert);
	free(s->tls_key);
	free(s);
}
