/* Internal to the registry client (client*.c, copy*.c and their tests):
 * hosts, repositories, the authenticated request loop with retries, and
 * the blob and manifest operations of the distribution API. */
#ifndef BALE_REGISTRY_CLIENT_INTERNAL_H
#define BALE_REGISTRY_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/progress.h"
#include "layers/cas.h"
#include "layers/image.h"
#include "registry/client.h"
#include "registry/credentials.h"
#include "registry/transport.h"

/* Attempts for a request that fails transiently (reset, 5xx, 429), and
 * the first backoff delay, doubled each time up to the max. */
#define REGC_MAX_ATTEMPTS 6
#define REGC_BACKOFF_MS 250
#define REGC_BACKOFF_MAX_MS 8000
/* A download gathers the body into writes of this size. */
#define REGC_FETCH_BUFFER (128u << 10)
/* Blobs from this size on are hashed in a thread of their own while they
 * are received (cas_writer_hash_behind). */
#define REGC_HASH_BEHIND_MIN (16ll << 20)
/* A pull publishes the blobs under this size in batches of this many
 * per transfer thread: one fsync of the directory and, mostly, one
 * journal commit per batch instead of two per blob. */
#define REGC_COMMIT_BATCH 8
/* Restarts of an upload session the registry lost. */
#define REGC_MAX_UPLOAD_RESTARTS 3

/* A cached bearer token. */
struct regc_token {
	char *scopes; /* sorted, space-separated: the cache key */
	char *token;
	int64_t expires; /* CLOCK_MONOTONIC seconds */
};

struct regc_host {
	char *domain; /* as in references: "reg:5000", "docker.io" */
	char *api;    /* host the API lives on: "registry-1.docker.io" for docker.io */
	pthread_mutex_t lock;
	bool pinged;
	char *base;   /* "https://reg:5000" */
	bool insecure;
	/* auth as the ping found it */
	bool basic;
	char *realm;
	char *service;
	struct regc_cred cred;
	bool cred_loaded;
	bool have_cred;
	struct regc_token *tokens;
	size_t n_tokens;
};

struct regc {
	struct regc_http *http;
	bool tls_verify;
	char *auth_file;
	char *username;
	char *password;
	unsigned jobs;
	uint64_t chunk_size; /* 0: one request per blob */
	struct progress *progress;
	pthread_mutex_t lock; /* hosts */
	struct regc_host **hosts;
	size_t n_hosts;
};

/* A repository on a host, with the access we need to it. */
struct regc_repo {
	struct regc *c;
	struct regc_host *host;
	char *name;      /* "team/app", "library/busybox" */
	bool push;       /* ask for pull,push */
};

/* Open name on domain (the host is created or reused). The caller frees
 * *out with regc_repo_free(). */
void regc_repo_open(struct regc_repo **out, struct regc *c, const char *domain, const char *name,
		    bool push);
void regc_repo_free(struct regc_repo *r);

/* Flags of regc_repo_do(). */
enum {
	REGC_NO_RETRY = 1u << 0, /* one attempt (the caller resumes itself) */
};

/* A request on the repository's host with authentication, and retries
 * (with backoff, Retry-After honoured) of transient failures. path starts
 * with "/v2/" or is an absolute URL (upload Locations). extra_scope (may
 * be NULL) is added to the token's scopes (cross-repository mount).
 * Returns 0 with any final status in resp (the caller maps 4xx), or a
 * negative code for what the transport reported. */
int regc_repo_do(struct regc_repo *r, struct regc_http_req *req, const char *path,
		 const char *extra_scope, unsigned flags, struct regc_http_resp *resp,
		 struct err **err);

/* The error for an unexpected status, with the registry's own code and
 * message, and for 401/403 the credentials that were tried. what says what
 * was asked ("manifest 'app:1'"). Codes: ERR_UNAUTHORIZED, ERR_DENIED,
 * ERR_NOTFOUND, ERR_DIGEST, ERR_RANGE, ERR_PROTOCOL. */
int regc_status_error(struct regc_repo *r, const struct regc_http_resp *resp, const char *what,
		      struct err **err);

/* ---- the distribution API ---- */

/* Media types asked for when fetching manifests. */
extern const char *const regc_manifest_accept;

/* GET a manifest by tag or digest: *data (the caller frees), *len, *mt (the
 * Content-Type, or what the body says; the caller frees) and *digest (of
 * the bytes; checked against ref when it is a digest). Errors:
 * ERR_NOTFOUND, ERR_DIGEST, ERR_TOOBIG (over BALE_MAX_MANIFEST), as
 * regc_status_error. */
int regc_manifest_get(struct regc_repo *r, const char *ref, char **data, size_t *len, char **mt,
		      struct digest *digest, struct err **err);
/* HEAD a manifest: 0 with *digest (when the registry says it) or
 * ERR_NOTFOUND. */
int regc_manifest_head(struct regc_repo *r, const char *ref, struct digest *digest, bool *has_digest,
		       struct err **err);
/* PUT a manifest under ref (tag or digest) with media type mt. */
int regc_manifest_put(struct regc_repo *r, const char *ref, const void *data, size_t len,
		      const char *mt, struct err **err);

/* HEAD a blob: 0 when the repository has it, ERR_NOTFOUND when not. */
int regc_blob_exists(struct regc_repo *r, const struct digest *d, struct err **err);

/* Download a blob into cas, verified against d and size (-1: any), with
 * Range resume after a cut. item (may be NULL) gets the progress. */
int regc_blob_fetch(struct regc_repo *r, const struct digest *d, int64_t size, struct cas *cas,
		    struct progress_item *item, struct err **err);

/* The same, but the verified blob is not published yet: *out is a
 * verified writer (cas_writer_verify) for cas_writers_commit(), which the
 * caller owns. */
int regc_blob_fetch_verified(struct regc_repo *r, const struct digest *d, int64_t size,
			     struct cas *cas, struct progress_item *item, struct cas_writer **out,
			     struct err **err);

/* Upload size bytes of fd (pread from offset 0) as blob d: mount from
 * mount_from (a repository name on the same host; NULL: none) when the
 * registry can, else monolithic or chunked, resuming from the offset the
 * registry reports after a cut. *mounted (if not NULL) tells whether the
 * mount worked. */
int regc_blob_upload(struct regc_repo *r, const struct digest *d, int fd, uint64_t size,
		     const char *mount_from, struct progress_item *item, bool *mounted,
		     struct err **err);

/* Whether host_port is this machine (localhost, 127.0.0.0/8, [::1]): such
 * registries are tried over TLS first, then plain HTTP. */
bool regc_is_local_host(const char *host_port);

/* Monotonic clock in milliseconds. */
int64_t regc_now_ms(void);

#endif
