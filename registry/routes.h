/* The registry's request router and the header grammars it needs, as pure
 * functions over bytes (no sockets, no storage), so they can be fuzzed and
 * unit-tested alone.
 *
 * Paths are matched from the right, as distribution's router does, because
 * repository names nest and may themselves contain "blobs" or "manifests"
 * as components: /v2/a/blobs/blobs/<digest> is blob <digest> of "a/blobs".
 * Internal to registry/, its tests and fuzzers. */
#ifndef BALE_REGISTRY_ROUTES_H
#define BALE_REGISTRY_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"

/* A request target longer than this is refused with 414 before parsing. */
#define REG_MAX_URI 8192
/* Query parameters kept per request; more is a 400. */
#define REG_MAX_QUERY_PARAMS 32
/* Upload session ids we issue and accept: 32 hex characters. */
#define REG_UPLOAD_ID_LEN 32

enum reg_route_kind {
	REG_ROUTE_NONE = 0,   /* no such endpoint: 404 */
	REG_ROUTE_BASE,       /* /v2/ */
	REG_ROUTE_CATALOG,    /* /v2/_catalog */
	REG_ROUTE_TAGS,       /* /v2/<name>/tags/list */
	REG_ROUTE_MANIFEST,   /* /v2/<name>/manifests/<reference> */
	REG_ROUTE_BLOB,       /* /v2/<name>/blobs/<digest> */
	REG_ROUTE_UPLOAD_NEW, /* /v2/<name>/blobs/uploads/ */
	REG_ROUTE_UPLOAD,     /* /v2/<name>/blobs/uploads/<uuid> */
	REG_ROUTE_REFERRERS,  /* /v2/<name>/referrers/<digest> */
	REG_ROUTE_TOKEN,      /* /token */
	REG_ROUTE_METRICS,    /* /metrics */
	REG_ROUTE_HEALTH,     /* /healthz */
	REG_ROUTE_COUNT_,
};

/* What the path names. Strings point into the decoded path the caller
 * owns (reg_route_parse writes NULs into it). */
struct reg_route {
	enum reg_route_kind kind;
	const char *name;      /* repository, or NULL */
	const char *reference; /* manifest tag or digest, blob digest, upload id */
	/* errors found while matching: the request is answered with them */
	int name_error;     /* 0, or ERR_INVALID: NAME_INVALID */
	int ref_error;      /* 0, ERR_INVALID or ERR_UNSUPPORTED: DIGEST_INVALID / TAG_INVALID */
	bool ref_is_digest; /* reference parsed as a digest (into .digest) */
	struct digest digest;
};

/* Short stable name of a route for metrics and logs ("blob", "manifest"). */
const char *reg_route_name(enum reg_route_kind kind);

/* Decode %XX escapes of a path in place. A '/' written as %2F or a NUL as
 * %00 is refused, as are malformed escapes: ERR_INVALID. */
int reg_path_decode(char *path, struct err **err);

/* Match a decoded path (no query string; it is modified). Never fails: an
 * unknown path is REG_ROUTE_NONE, and a known shape with a bad name or
 * reference sets name_error/ref_error, so the caller can answer
 * NAME_INVALID or DIGEST_INVALID rather than 404. */
void reg_route_parse(struct reg_route *out, char *path);

/* Query string parameters, decoded ('+' is a space, %XX a byte). */
struct reg_query {
	size_t n;
	char *keys[REG_MAX_QUERY_PARAMS];
	char *values[REG_MAX_QUERY_PARAMS];
};

/* Parse "a=1&b=&c" (no leading '?'), keeping the decoded keys and values
 * in q; a key without '=' has the value "". ERR_INVALID for malformed
 * escapes or a decoded NUL, ERR_TOOBIG past REG_MAX_QUERY_PARAMS. The
 * caller frees q with reg_query_release() in all cases. */
int reg_query_parse(struct reg_query *q, const char *query, struct err **err);
void reg_query_release(struct reg_query *q);
/* The first value of key, or NULL. Borrowed from q. */
const char *reg_query_get(const struct reg_query *q, const char *key);
/* Number of values of key (a repeated `digest=` is a 400). */
size_t reg_query_count(const struct reg_query *q, const char *key);

/* The Range request header against a resource of `size` bytes (RFC 9110
 * 14.2). A registry serves a single range only. Results: */
enum reg_range_result {
	REG_RANGE_NONE = 0,          /* no usable Range: send the whole body (200) */
	REG_RANGE_OK = 1,            /* satisfiable: [*first, *first + *len) as 206 */
	REG_RANGE_UNSATISFIABLE = 2, /* 416 with "Content-Range: bytes * /size" */
};
/* value may be NULL (no header). Syntactically invalid values and
 * multiple ranges are REG_RANGE_NONE, as RFC 9110 lets a server ignore
 * them. */
enum reg_range_result reg_range_parse(const char *value, uint64_t size, uint64_t *first,
                                      uint64_t *len);

/* The Content-Range header of a PATCH chunk: "<start>-<end>" as the
 * distribution spec writes it, also accepting "bytes <start>-<end>" and
 * "bytes <start>-<end>/<total|*>". end is inclusive. 0 or ERR_INVALID
 * (malformed, end < start, numbers over 2^63). */
int reg_content_range_parse(const char *value, uint64_t *start, uint64_t *end, struct err **err);

/* Accept header: whether media type `type` is acceptable (present in the
 * list, or the list has a wildcard that covers it, or value is NULL or
 * empty). Parameters (";q=0.5") are ignored except q=0, which refuses. */
bool reg_accept_allows(const char *value, const char *type);

#endif
