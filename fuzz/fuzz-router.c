/* Fuzz the registry's request router: percent-decoding, route matching
 * from the right, and query-string parsing (registry/routes.h).
 *
 * Invariants (a violation aborts):
 * - nothing crashes, leaks or reads out of bounds on any target;
 * - a route with a repository has a name that is a valid repository name
 *   exactly when name_error is 0;
 * - a digest reference without ref_error formats back to the same text;
 * - an upload id without ref_error is 32 lowercase hex characters;
 * - every query key and value is a NUL-free string, and lookups agree
 *   with the counts. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/reference.h"
#include "common/util.h"
#include "registry/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_route(const struct reg_route *rt)
{
	if (rt->name != NULL && (rt->name_error == 0) != ref_repo_name_valid(rt->name))
		abort();
	if (rt->kind != REG_ROUTE_NONE && rt->kind >= REG_ROUTE_TAGS &&
	    rt->kind <= REG_ROUTE_REFERRERS && rt->name == NULL)
		abort();
	if (rt->ref_is_digest && rt->ref_error == 0) {
		char out[DIGEST_MAX_STRING];
		if (strcmp(digest_format(&rt->digest, out), rt->reference) != 0)
			abort();
	}
	if (rt->kind == REG_ROUTE_UPLOAD && rt->ref_error == 0 &&
	    strlen(rt->reference) != REG_UPLOAD_ID_LEN)
		abort();
	if (rt->kind == REG_ROUTE_MANIFEST && !rt->ref_is_digest && rt->ref_error == 0 &&
	    !ref_tag_valid(rt->reference))
		abort();
}

static void check_query(const char *q)
{
	struct reg_query query;
	struct err *e = NULL;
	int rc = reg_query_parse(&query, q, &e);
	if (rc < 0 && (e == NULL || (rc != ERR_INVALID && rc != ERR_TOOBIG)))
		abort();
	if (rc == 0 && e != NULL)
		abort();
	for (size_t i = 0; i < query.n; i++) {
		if (reg_query_get(&query, query.keys[i]) == NULL ||
		    reg_query_count(&query, query.keys[i]) == 0)
			abort();
	}
	reg_query_release(&query);
	err_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > REG_MAX_URI)
		return 0;
	cleanup_free char *s = xstrndup((const char *)data, size);
	char *q = strchr(s, '?');
	if (q != NULL)
		*q++ = '\0';
	if (reg_path_decode(s, NULL) == 0) {
		struct reg_route rt;
		reg_route_parse(&rt, s);
		check_route(&rt);
	}
	if (q != NULL)
		check_query(q);
	return 0;
}
