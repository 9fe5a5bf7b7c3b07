/* Listing endpoints: tags, _catalog (both paginated with n/last and a
 * Link header) and the referrers API. */
#include "config.h"

#include <string.h>

#include "common/json.h"
#include "common/limits.h"
#include "common/util.h"
#include "registry/server-internal.h"

/* Largest page we return; a larger n is clamped to it. */
#define REG_MAX_PAGE 1000

/* Parse ?n= (absent: `dflt`); replies 400 when it is not a number. */
static bool page_size(struct reg_req *r, size_t dflt, size_t *out)
{
	const char *ns = reg_req_param(r, "n");
	unsigned n;
	if (ns == NULL) {
		*out = dflt;
		return true;
	}
	if (str_to_uint(ns, 0xffffffffu, &n) < 0) {
		reg_reply_error(r, 400, API_PAGINATION_NUMBER_INVALID, "n must be a number");
		return false;
	}
	*out = n > REG_MAX_PAGE ? REG_MAX_PAGE : n;
	return true;
}

/* Percent-encode a query value (tags and names are mostly safe anyway). */
static char *query_escape(const char *s)
{
	struct buf b;
	buf_init(&b, BALE_MAX_HEADER);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
			buf_addch(&b, (char)c, NULL);
		else
			buf_addf(&b, NULL, "%%%02X", c);
	}
	return buf_detach(&b, NULL);
}

/* Emit list[start..] up to n entries into arr; set the Link header when
 * more remain. base is the path without query. */
static void paginate(struct reg_req *r, json_t *arr, char **list, size_t n, bool limited,
                     const char *base)
{
	const char *last = reg_req_param(r, "last");
	size_t i = 0, count = 0, total = strv_len(list);
	if (last != NULL)
		while (i < total && strcmp(list[i], last) <= 0)
			i++;
	for (; i < total && (!limited || count < n); i++, count++)
		json_array_append_new(arr, json_string(list[i]));
	if (limited && i < total && count > 0) {
		cleanup_free char *esc = query_escape(list[i - 1]);
		reg_reply_headerf(r, "Link", "<%s?n=%zu&last=%s>; rel=\"next\"", base, n, esc);
	}
}

static void reply_json(struct reg_req *r, const char *content_type, json_t *doc)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (jx_dump(&text, &len, doc, JX_NEWLINE, NULL) < 0)
		return reg_reply_error(r, 500, API_INTERNAL, NULL);
	reg_reply_bytes(r, 200, content_type, text, len);
}

void reg_tags_get(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	cleanup_strv char **tags = NULL;
	size_t n = 0;
	if (!page_size(r, 0, &n))
		return;
	if (reg_tags_list(r->srv->storage, r->route.name, &tags, &e) < 0)
		return reg_reply_from_err(r, e, API_NAME_UNKNOWN);
	cleanup_json json_t *doc = json_object();
	json_t *arr = json_array();
	json_object_set_new(doc, "name", json_string(r->route.name));
	json_object_set_new(doc, "tags", arr);
	cleanup_free char *base = xasprintf("/v2/%s/tags/list", r->route.name);
	paginate(r, arr, tags, n, reg_req_param(r, "n") != NULL, base);
	reply_json(r, "application/json", doc);
}

void reg_catalog_get(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	cleanup_strv char **repos = NULL;
	size_t n = 0;
	if (!page_size(r, REG_MAX_PAGE, &n))
		return;
	if (reg_repos_list(r->srv->storage, &repos, &e) < 0)
		return reg_reply_from_err(r, e, API_NAME_UNKNOWN);
	/* Only what the caller may pull: a catalog must not reveal names. */
	size_t w = 0;
	for (size_t i = 0; repos[i] != NULL; i++) {
		if (reg_auth_allowed(r->srv->auth, &r->who, repos[i]) & REG_ACT_PULL)
			repos[w++] = repos[i];
		else
			free(repos[i]);
	}
	repos[w] = NULL;
	cleanup_json json_t *doc = json_object();
	json_t *arr = json_array();
	json_object_set_new(doc, "repositories", arr);
	paginate(r, arr, repos, n, true, "/v2/_catalog");
	reply_json(r, "application/json", doc);
}

static int cmp_referrer(const void *a, const void *b)
{
	const struct reg_referrer *x = a, *y = b;
	return memcmp(x->digest.bytes, y->digest.bytes, DIGEST_MAX_BYTES);
}

void reg_referrers_get(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	struct reg_referrer *list = NULL;
	size_t n = 0;
	char ds[DIGEST_MAX_STRING];
	const char *filter = reg_req_param(r, "artifactType");
	if (reg_referrers_list(r->srv->storage, r->route.name, &r->route.digest, &list, &n, &e) < 0)
		return reg_reply_from_err(r, e, API_MANIFEST_UNKNOWN);
	if (n > 1)
		qsort(list, n, sizeof(*list), cmp_referrer);
	cleanup_json json_t *doc = json_object();
	json_t *arr = json_array();
	json_object_set_new(doc, "schemaVersion", json_integer(2));
	json_object_set_new(doc, "mediaType", json_string(MT_OCI_INDEX));
	json_object_set_new(doc, "manifests", arr);
	for (size_t i = 0; i < n; i++) {
		if (filter != NULL && !str_eq(filter, list[i].artifact_type))
			continue;
		json_t *d = json_object();
		json_object_set_new(d, "mediaType", json_string(list[i].media_type));
		json_object_set_new(d, "digest", json_string(digest_format(&list[i].digest, ds)));
		json_object_set_new(d, "size", json_integer((json_int_t)list[i].size));
		if (list[i].artifact_type != NULL)
			json_object_set_new(d, "artifactType", json_string(list[i].artifact_type));
		json_t *ann = NULL;
		if (list[i].annotations != NULL &&
		    jx_load_buffer(&ann, list[i].annotations, strlen(list[i].annotations),
		                   "annotations", 0, NULL) == 0)
			json_object_set_new(d, "annotations", ann);
		json_array_append_new(arr, d);
	}
	reg_referrers_free(list, n);
	if (filter != NULL)
		reg_reply_header(r, "OCI-Filters-Applied", "artifactType");
	reply_json(r, MT_OCI_INDEX, doc);
}
