/* The registry server's internals: the request object the HTTP layer
 * (http.c, over libmicrohttpd) hands to the API handlers (server-*.c), and
 * the helpers they answer with. Internal to registry/ and its tests. */
#ifndef BALE_REGISTRY_SERVER_INTERNAL_H
#define BALE_REGISTRY_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/digest.h"
#include "registry/auth.h"
#include "registry/serve-config.h"
#include "registry/metrics.h"
#include "registry/routes.h"
#include "registry/server.h"
#include "registry/storage.h"

struct MHD_Connection;
struct MHD_Daemon;

/* Response headers a handler sets before replying. */
#define REG_MAX_RESP_HEADERS 16

enum reg_method {
	REG_M_OTHER = 0,
	REG_M_GET,
	REG_M_HEAD,
	REG_M_POST,
	REG_M_PUT,
	REG_M_PATCH,
	REG_M_DELETE,
	REG_M_COUNT_,
};

/* API error codes of the distribution spec (and their default status). */
enum reg_api_error {
	API_BLOB_UNKNOWN,
	API_BLOB_UPLOAD_INVALID,
	API_BLOB_UPLOAD_UNKNOWN,
	API_DIGEST_INVALID,
	API_MANIFEST_BLOB_UNKNOWN,
	API_MANIFEST_INVALID,
	API_MANIFEST_UNKNOWN,
	API_NAME_INVALID,
	API_NAME_UNKNOWN,
	API_SIZE_INVALID,
	API_UNAUTHORIZED,
	API_DENIED,
	API_UNSUPPORTED,
	API_TOOMANYREQUESTS,
	API_RANGE_INVALID,
	API_PAGINATION_NUMBER_INVALID,
	API_INTERNAL,
};

struct reg_mcache;

struct reg_server {
	struct reg_config *cfg;
	struct reg_mcache *mcache; /* recently served manifests (server-manifests.c) */
	struct reg_storage *storage;
	struct reg_auth *auth;
	struct reg_metrics metrics;
	struct MHD_Daemon *daemon;
	int listen_fd;
	unsigned port;
	char *tls_cert; /* PEM text, kept alive for libmicrohttpd */
	char *tls_key;
	char id_prefix[9]; /* random per process, so request ids are unique */
	unsigned uploads;  /* blob uploads in flight (atomic) */
};

/* One request: created when libmicrohttpd sees its request line, freed
 * when the connection is done with it. */
struct reg_req {
	struct reg_server *srv;
	struct MHD_Connection *conn;
	enum reg_method method;
	const char *method_name;
	char *uri;  /* raw request target, as received */
	char *path; /* decoded path; route strings point into it */
	struct reg_route route;
	struct reg_query query;
	int target_error; /* malformed target: answered with 400 */
	char id[32];
	int64_t start_ns;
	bool started; /* first call of the access handler done */
	bool replied;
	bool has_body; /* the handler consumes a request body */
	bool counted;  /* holds one of the server's upload slots */
	unsigned status;
	uint64_t bytes_in, bytes_out;
	struct reg_identity who;

	/* response headers gathered before the reply */
	size_t nhdr;
	const char *hdr_name[REG_MAX_RESP_HEADERS];
	char *hdr_value[REG_MAX_RESP_HEADERS];

	/* body handling (uploads, manifest PUT) */
	int (*on_data)(struct reg_req *r, const char *data, size_t n);
	void (*on_end)(struct reg_req *r);
	struct reg_upload *upload;
	char *batch; /* upload bytes not yet written */
	size_t batch_len, batch_cap;
	uint64_t chunk_start; /* Content-Range start, for PATCH checks */
	int64_t chunk_len;    /* Content-Range length, -1 when none */
	struct buf body;      /* manifest bodies */
	int body_error;       /* 0, or the API error to answer at the end */
	char *body_error_msg;
	unsigned body_error_status;
	int64_t upload_started;
};

/* ---- request accessors (http.c) ---- */

/* A request header, or NULL. Borrowed for the request's life. */
const char *reg_req_header(struct reg_req *r, const char *name);
/* A query parameter, or NULL. */
const char *reg_req_param(struct reg_req *r, const char *name);
/* "http" or "https" and the Host the client used, for absolute URLs. */
const char *reg_req_scheme(struct reg_req *r);

/* ---- replies (http.c); each queues the response once ---- */

/* Add a response header (copied). */
void reg_reply_header(struct reg_req *r, const char *name, const char *value);
void reg_reply_headerf(struct reg_req *r, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* A reply with no body (Content-Length: 0). */
void reg_reply_empty(struct reg_req *r, unsigned status);
/* A reply with a body (copied). */
void reg_reply_bytes(struct reg_req *r, unsigned status, const char *content_type, const void *data,
                     size_t len);
/* A reply with a body the reply takes over (malloc'ed; freed by it). */
void reg_reply_take(struct reg_req *r, unsigned status, const char *content_type, char *data,
                    size_t len);
/* A reply from a file: len bytes at off; fd is taken over (closed). For
 * HEAD only the headers go out. */
void reg_reply_fd(struct reg_req *r, unsigned status, const char *content_type, int fd,
                  uint64_t off, uint64_t len);
/* The spec's JSON error body, with its default status (or `status` when
 * not 0). detail may be NULL. */
void reg_reply_error(struct reg_req *r, unsigned status, enum reg_api_error code,
                     const char *message);
/* Map a storage or validation error to the API error `fallback` names
 * (NOTFOUND -> fallback, IO -> 500, ...), using e's message. */
void reg_reply_from_err(struct reg_req *r, struct err *e, enum reg_api_error notfound);

/* ---- handlers (server-*.c) ---- */

/* Called on the request's first call, with headers known and the route
 * parsed and authorized. A handler either replies at once or, for bodies,
 * sets on_data/on_end (and has_body); handlers without body reply from
 * reg_handle_end(). */
void reg_handle_begin(struct reg_req *r);
/* Called once the whole body was received (or at once for GET). */
void reg_handle_end(struct reg_req *r);

void reg_blob_get(struct reg_req *r);
void reg_blob_delete(struct reg_req *r);
void reg_upload_post(struct reg_req *r);
void reg_upload_patch_begin(struct reg_req *r);
void reg_upload_put_begin(struct reg_req *r);
void reg_upload_status(struct reg_req *r);
void reg_upload_cancel(struct reg_req *r);
void reg_manifest_get(struct reg_req *r);
void reg_manifest_put_begin(struct reg_req *r);
void reg_manifest_delete_req(struct reg_req *r);
void reg_tags_get(struct reg_req *r);
void reg_catalog_get(struct reg_req *r);
void reg_referrers_get(struct reg_req *r);
void reg_token_get(struct reg_req *r);
/* POST /token: takes the form body; replies at its end. */
void reg_token_post_begin(struct reg_req *r);
void reg_metrics_get(struct reg_req *r);

/* Upload bodies arrive in pieces no larger than libmicrohttpd's
 * connection buffer; they are gathered up to this size before one write
 * and one hash update, so a pushed MiB costs a few system calls instead
 * of one per piece (the connection buffer stays small, which keeps short
 * requests fast). */
#define REG_UPLOAD_BATCH (1u << 20)
/* Write the gathered upload bytes of r (if any) to its session; false
 * (with the error set for the reply) when that failed. */
bool reg_upload_flush(struct reg_req *r);

/* Set a deferred error for a body handler: the body is drained and the
 * error answered when it ends. */
void reg_req_fail(struct reg_req *r, unsigned status, enum reg_api_error code, const char *msg);

/* ---- the manifest cache (server-manifests.c) ----
 * GET/HEAD of a manifest by tag or digest is the hottest request a
 * registry serves; answering it from memory saves the three file opens it
 * otherwise costs. Entries live REG_MCACHE_TTL_MS at most, so changes made
 * by another process (gc, a second server on the same store) show within
 * that time; this process's own PUT/DELETE drop the repository's entries
 * at once. */
#define REG_MCACHE_TTL_MS 1000
struct reg_mcache *reg_mcache_new(void);
void reg_mcache_free(struct reg_mcache *c);
/* Drop every entry of repo. */
void reg_mcache_forget(struct reg_mcache *c, const char *repo);

/* ---- manifest validation (server-manifests.c) ---- */

#define MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"

/* A descriptor a manifest references. */
struct reg_desc {
	struct digest digest;
	uint64_t size;
	bool external; /* has urls: a foreign layer we do not hold */
};

struct reg_manifest_info {
	char media_type[256];
	bool is_index;
	struct reg_desc *refs; /* config then layers, or the index's manifests */
	size_t nrefs;
	bool has_subject;
	struct digest subject;
	char *artifact_type; /* for the referrers API, or NULL */
	char *annotations;   /* JSON object text, or NULL */
};

/* Validate a pushed manifest. content_type is the request's Content-Type
 * (NULL if none; parameters are ignored). Fills *out (release with
 * reg_manifest_info_release, also after errors). ERR_INVALID with a
 * message for the client (MANIFEST_INVALID), ERR_UNSUPPORTED for schema1
 * and unknown media types. */
int reg_manifest_parse(struct reg_manifest_info *out, const void *data, size_t len,
                       const char *content_type, struct err **err);
void reg_manifest_info_release(struct reg_manifest_info *info);

/* "/v2/<name>/blobs/<digest>" style Location values. Caller frees. */
char *reg_location(const char *name, const char *kind, const char *ref);

#endif
