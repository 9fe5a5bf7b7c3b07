/* HTTP for the registry client, over libcurl (registry/ owns <curl/curl.h>;
 * nothing outside transport.c includes it).
 *
 * One struct regc_http is shared by every thread of a client: it keeps a
 * pool of easy handles (each keeps its connections alive between requests)
 * and a share handle for DNS, TLS sessions and the connection cache, so
 * the parallel blob transfers of one push reuse each other's connections.
 * HTTP/1.1 only: registries stream blobs, and one connection per transfer
 * is what they are tuned for.
 *
 * TLS is verified unless the request says otherwise. Per-host trust comes
 * from docker's and containers' certs.d layout: DIR/HOST[:PORT]/ *.crt are
 * CAs added to the system's, client.cert + client.key (or *.cert/ *.key) a
 * client certificate. */
#ifndef BALE_REGISTRY_TRANSPORT_H
#define BALE_REGISTRY_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

/* Caps of the client (module-specific). */
/* A response body kept in memory (errors, tokens, manifests go through
 * their own, smaller caps first). */
#define REGC_MAX_BODY (16u << 20)

struct regc_http;

enum regc_method {
	REGC_GET = 0,
	REGC_HEAD,
	REGC_PUT,
	REGC_POST,
	REGC_PATCH,
	REGC_DELETE,
};

/* Receives body bytes as they arrive; a negative return aborts the
 * transfer (the request then fails with that code and the sink's error). */
typedef int (*regc_sink_fn)(void *ctx, const void *data, size_t n, struct err **err);

/* Called from time to time with the request body bytes sent so far. */
typedef void (*regc_upload_progress_fn)(void *ctx, uint64_t sent);

struct regc_http_req {
	enum regc_method method;
	const char *url;
	const char *const *headers; /* "Name: value", NULL-terminated; may be NULL */
	/* Request body: data/len, or len bytes of fd from offset (pread), or
	 * none (len 0, data NULL, fd < 0). */
	const void *data;
	int fd;
	uint64_t offset;
	uint64_t len;
	regc_upload_progress_fn upload_progress;
	void *upload_ctx;
	/* Response body: into sink when set, else into the response's buffer
	 * (up to body_max, 0: REGC_MAX_BODY; more is ERR_TOOBIG). The body of
	 * an error status (>= 400) always goes to the buffer, not the sink,
	 * so the registry's error can be shown. */
	regc_sink_fn sink;
	void *sink_ctx;
	size_t body_max;
	/* TLS */
	bool insecure;         /* skip certificate verification */
	const char *host_port; /* for the certs.d lookup ("reg:5000"); NULL: none */
};

struct regc_http_resp {
	long status;
	struct buf body;
	/* Headers the client needs (the last one wins), NULL when absent. */
	char *location;
	char *content_type;
	char *docker_content_digest;
	char *range;
	char *content_range;
	char *retry_after;
	char *link;
	int64_t content_length; /* -1 when absent */
	char **www_authenticate; /* every WWW-Authenticate header, NULL-terminated */
	uint64_t received;       /* body bytes received (sink or buffer) */
	bool transient;          /* the failure was the network's: worth a retry */
};

void regc_http_resp_init(struct regc_http_resp *r);
void regc_http_resp_release(struct regc_http_resp *r);

/* A new transport. certs_dirs is a NULL-terminated list of certs.d roots
 * (copied; NULL: none); user_agent is copied. The caller frees *out with
 * regc_http_free(). Errors: ERR_FAIL when libcurl cannot start. */
int regc_http_new(struct regc_http **out, char *const *certs_dirs, const char *user_agent,
		  struct err **err);
void regc_http_free(struct regc_http *h);

/* Perform one request; thread-safe. On return 0, resp holds the status and
 * headers of the final response (any status: the caller decides what a 404
 * means) and the body as described above. Errors (resp->status 0 or what
 * was received): ERR_IO for network failures (connection refused or reset,
 * timeout, a body cut short) — transient, worth a retry; ERR_PROTOCOL for a
 * TLS handshake with a plain-HTTP server and other protocol breakage;
 * ERR_DENIED for a certificate that does not verify; ERR_TOOBIG for a
 * response body over its cap; whatever the sink returned. resp->transient
 * tells the network failures worth a retry (refused, reset, timeout, short
 * body) from the others. resp must have
 * been initialized; it is reset first. */
int regc_http_do(struct regc_http *h, const struct regc_http_req *req, struct regc_http_resp *resp,
		 struct err **err);

/* Percent-encode s for a query value (RFC 3986 unreserved kept). The
 * caller frees. */
char *regc_url_escape(const char *s);

/* Base64 of n bytes (for Basic auth). The caller frees. */
char *regc_base64_encode(const void *data, size_t n);
/* Decode standard base64 (padding optional). *out (NUL-terminated, the
 * caller frees) and *len. ERR_INVALID on bad input. */
int regc_base64_decode(char **out, size_t *len, const char *s, struct err **err);

#endif
