/* Manifest endpoints: GET/HEAD with content negotiation, PUT with
 * validation (media type, referenced blobs and manifests, subject), DELETE
 * by digest or tag. The bytes pushed are the bytes served. */
#include "config.h"

#include <microhttpd.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/log.h"
#include "common/limits.h"
#include "common/util.h"
#include "registry/server-internal.h"

#define MT_SCHEMA1        "application/vnd.docker.distribution.manifest.v1+json"
#define MT_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
/* Descriptors one manifest may reference. */
#define REG_MAX_MANIFEST_REFS 10000

/* ---- validation ---- */

void reg_manifest_info_release(struct reg_manifest_info *info)
{
	free(info->refs);
	free(info->artifact_type);
	free(info->annotations);
	memset(info, 0, sizeof(*info));
}

/* The media type part of a Content-Type ("a/b; charset=x" -> "a/b"). */
static void media_type_only(char *out, size_t size, const char *ct)
{
	size_t n = strcspn(ct, "; \t");
	if (n >= size)
		n = size - 1;
	memcpy(out, ct, n);
	out[n] = '\0';
}

static int parse_desc(struct reg_desc *out, const json_t *obj, const char *path, struct err **err)
{
	const char *mt = NULL, *dg = NULL;
	json_t *urls = NULL;
	if (jx_expect(obj, JSON_OBJECT, path, err) < 0 ||
	    jx_get_string(&mt, obj, "mediaType", true, path, err) < 0 ||
	    jx_get_string(&dg, obj, "digest", true, path, err) < 0 ||
	    jx_get_size(&out->size, obj, "size", true, path, err) < 0 ||
	    jx_get_array(&urls, obj, "urls", false, path, err) < 0)
		return ERR_INVALID;
	if (digest_parse(&out->digest, dg, err) < 0)
		return err_wrap(err, "field '%s.digest'", path[0] != '\0' ? path : "descriptor");
	out->external = urls != NULL && json_array_size(urls) > 0;
	return 0;
}

static int parse_refs(struct reg_manifest_info *out, const json_t *arr, const char *key,
                      struct err **err)
{
	size_t n = json_array_size(arr);
	if (n + out->nrefs > REG_MAX_MANIFEST_REFS)
		return err_set(err, ERR_INVALID, "more than %d descriptors", REG_MAX_MANIFEST_REFS);
	out->refs = xreallocarray(out->refs, out->nrefs + n + 1, sizeof(*out->refs));
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *p = jx_path_index(key, i);
		if (parse_desc(&out->refs[out->nrefs], json_array_get(arr, i), p, err) < 0)
			return ERR_INVALID;
		out->nrefs++;
	}
	return 0;
}

static int parse_subject(struct reg_manifest_info *out, const json_t *doc, struct err **err)
{
	json_t *subj = NULL;
	struct reg_desc d;
	if (jx_get_object(&subj, doc, "subject", false, "", err) < 0)
		return ERR_INVALID;
	if (subj == NULL)
		return 0;
	if (parse_desc(&d, subj, "subject", err) < 0)
		return ERR_INVALID;
	out->has_subject = true;
	out->subject = d.digest;
	return 0;
}

/* Decide the media type from the body and the Content-Type. */
static int pick_media_type(struct reg_manifest_info *out, const json_t *doc, const char *ct,
                           struct err **err)
{
	const char *body_mt = NULL;
	char hdr[256] = "";
	if (jx_get_string(&body_mt, doc, "mediaType", false, "", err) < 0)
		return ERR_INVALID;
	if (ct != NULL)
		media_type_only(hdr, sizeof(hdr), ct);
	if (str_eq(hdr, MT_SCHEMA1) || str_eq(hdr, MT_SCHEMA1_SIGNED) ||
	    str_eq(body_mt, MT_SCHEMA1) || str_eq(body_mt, MT_SCHEMA1_SIGNED))
		goto schema1;
	if (body_mt != NULL && hdr[0] != '\0' && !str_eq(body_mt, hdr))
		return err_set(
		        err, ERR_INVALID,
		        "Content-Type '%.100s' does not match the manifest's mediaType '%.100s'",
		        hdr, body_mt);
	const char *mt = body_mt != NULL ? body_mt : hdr;
	if (mt[0] == '\0')
		mt = json_object_get(doc, "manifests") != NULL ? MT_OCI_INDEX : MT_OCI_MANIFEST;
	if (!str_eq(mt, MT_OCI_MANIFEST) && !str_eq(mt, MT_OCI_INDEX) &&
	    !str_eq(mt, MT_DOCKER_MANIFEST) && !str_eq(mt, MT_DOCKER_LIST))
		return err_set(err, ERR_UNSUPPORTED, "unsupported manifest media type '%.100s'",
		               mt);
	str_copy(out->media_type, mt, sizeof(out->media_type));
	out->is_index = str_eq(mt, MT_OCI_INDEX) || str_eq(mt, MT_DOCKER_LIST);
	return 0;
schema1:
	return err_set(err, ERR_UNSUPPORTED, "%s",
	               "Docker schema1 manifests are not supported; push with a client that writes "
	               "schema2 or OCI manifests");
}

static int parse_image(struct reg_manifest_info *out, const json_t *doc, struct err **err)
{
	json_t *config = NULL, *layers = NULL;
	const char *at = NULL, *cfg_mt = NULL;
	if (json_object_get(doc, "manifests") != NULL)
		return err_set(err, ERR_INVALID, "an image manifest has no 'manifests' field");
	if (jx_get_object(&config, doc, "config", true, "", err) < 0 ||
	    jx_get_array(&layers, doc, "layers", true, "", err) < 0 ||
	    jx_get_string(&at, doc, "artifactType", false, "", err) < 0)
		return ERR_INVALID;
	out->refs = xcalloc(1, sizeof(*out->refs));
	if (parse_desc(&out->refs[0], config, "config", err) < 0)
		return ERR_INVALID;
	out->nrefs = 1;
	if (jx_get_string(&cfg_mt, config, "mediaType", true, "config", err) < 0)
		return ERR_INVALID;
	if (parse_refs(out, layers, "layers", err) < 0)
		return ERR_INVALID;
	/* the referrers API's artifactType: the field, else the config's type */
	out->artifact_type = xstrdup(at != NULL ? at : cfg_mt);
	return 0;
}

static int parse_index(struct reg_manifest_info *out, const json_t *doc, struct err **err)
{
	json_t *manifests = NULL;
	const char *at = NULL;
	if (json_object_get(doc, "layers") != NULL || json_object_get(doc, "config") != NULL)
		return err_set(err, ERR_INVALID, "an index has no 'config' or 'layers' field");
	if (jx_get_array(&manifests, doc, "manifests", true, "", err) < 0 ||
	    jx_get_string(&at, doc, "artifactType", false, "", err) < 0)
		return ERR_INVALID;
	if (parse_refs(out, manifests, "manifests", err) < 0)
		return ERR_INVALID;
	out->artifact_type = at != NULL ? xstrdup(at) : NULL;
	return 0;
}

int reg_manifest_parse(struct reg_manifest_info *out, const void *data, size_t len,
                       const char *content_type, struct err **err)
{
	cleanup_json json_t *doc = NULL;
	int64_t version = 0;
	json_t *ann = NULL;
	memset(out, 0, sizeof(*out));
	if (jx_load_buffer(&doc, data, len, "manifest", 0, err) < 0)
		return ERR_INVALID;
	if (jx_expect(doc, JSON_OBJECT, "", err) < 0 ||
	    jx_get_int64(&version, doc, "schemaVersion", true, 0, 100, "", err) < 0)
		return ERR_INVALID;
	if (version == 1)
		return err_set(
		        err, ERR_UNSUPPORTED, "%s",
		        "Docker schema1 manifests are not supported; push with a client that "
		        "writes schema2 or OCI manifests");
	if (version != 2)
		return err_set(err, ERR_INVALID, "schemaVersion must be 2, not %lld",
		               (long long)version);
	int rc = pick_media_type(out, doc, content_type, err);
	if (rc < 0)
		return rc;
	rc = out->is_index ? parse_index(out, doc, err) : parse_image(out, doc, err);
	if (rc < 0)
		return rc;
	if (parse_subject(out, doc, err) < 0 ||
	    jx_get_strmap(&ann, doc, "annotations", false, "", err) < 0)
		return ERR_INVALID;
	if (ann != NULL)
		return jx_dump(&out->annotations, NULL, ann, JX_SORT_KEYS, err) < 0 ? ERR_INVALID
		                                                                    : 0;
	return 0;
}

/* ---- the cache ---- */

/* Slots of the direct-mapped cache, and the largest manifest kept. */
#define MCACHE_SLOTS    1024
#define MCACHE_MAX_BODY (64u << 10)

struct mcache_entry {
	char *key; /* "<repo>\n<tag or digest>", NULL when empty */
	size_t repo_len;
	struct digest digest;
	char media_type[256];
	char *body;
	size_t len;
	int64_t expires_ms;
};

struct reg_mcache {
	pthread_mutex_t lock;
	struct mcache_entry e[MCACHE_SLOTS];
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct reg_mcache *reg_mcache_new(void)
{
	struct reg_mcache *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void entry_clear(struct mcache_entry *e)
{
	free(e->key);
	free(e->body);
	memset(e, 0, sizeof(*e));
}

void reg_mcache_free(struct reg_mcache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < MCACHE_SLOTS; i++)
		entry_clear(&c->e[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void reg_mcache_forget(struct reg_mcache *c, const char *repo)
{
	size_t n = strlen(repo);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < MCACHE_SLOTS; i++)
		if (c->e[i].key != NULL && c->e[i].repo_len == n &&
		    memcmp(c->e[i].key, repo, n) == 0)
			entry_clear(&c->e[i]);
	pthread_mutex_unlock(&c->lock);
}

static size_t key_slot(const char *repo, const char *ref)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (const char *p = repo; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ '\n') * 1099511628211ull;
	for (const char *p = ref; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return (size_t)(h % MCACHE_SLOTS);
}

static bool key_is(const struct mcache_entry *e, const char *repo, const char *ref)
{
	size_t n = strlen(repo);
	return e->key != NULL && e->repo_len == n && memcmp(e->key, repo, n) == 0 &&
	       e->key[n] == '\n' && strcmp(e->key + n + 1, ref) == 0;
}

/* A copy of the cached manifest (body malloc'ed for the caller). */
static bool mcache_get(struct reg_mcache *c, const char *repo, const char *ref,
                       struct reg_manifest_meta *meta, char **body)
{
	struct mcache_entry *e = &c->e[key_slot(repo, ref)];
	bool hit = false;
	pthread_mutex_lock(&c->lock);
	if (key_is(e, repo, ref) && e->expires_ms > mono_ms()) {
		meta->digest = e->digest;
		meta->size = e->len;
		memcpy(meta->media_type, e->media_type, sizeof(meta->media_type));
		*body = xmalloc(e->len + 1);
		memcpy(*body, e->body, e->len);
		hit = true;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

static void mcache_put(struct reg_mcache *c, const char *repo, const char *ref,
                       const struct reg_manifest_meta *meta, const char *body)
{
	if (meta->size > MCACHE_MAX_BODY)
		return;
	struct mcache_entry fresh = {
	        .key = xasprintf("%s\n%s", repo, ref),
	        .repo_len = strlen(repo),
	        .digest = meta->digest,
	        .body = xmalloc(meta->size + 1),
	        .len = meta->size,
	        .expires_ms = mono_ms() + REG_MCACHE_TTL_MS,
	};
	memcpy(fresh.media_type, meta->media_type, sizeof(fresh.media_type));
	memcpy(fresh.body, body, meta->size);
	struct mcache_entry *e = &c->e[key_slot(repo, ref)];
	pthread_mutex_lock(&c->lock);
	struct mcache_entry old = *e;
	*e = fresh;
	pthread_mutex_unlock(&c->lock);
	free(old.key);
	free(old.body);
}

/* Read a manifest into memory (small ones only) to cache it. */
static char *read_body(int fd, uint64_t size)
{
	if (size > MCACHE_MAX_BODY)
		return NULL;
	char *b = xmalloc(size + 1);
	if (pread(fd, b, size, 0) != (ssize_t)size) {
		free(b);
		return NULL;
	}
	return b;
}

/* ---- GET / HEAD ---- */

/* Every Accept header joined by commas: docker sends one per type, and
 * libmicrohttpd's lookup returns only the first. */
struct accept_ctx {
	struct buf b;
};

static enum MHD_Result collect_accept(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
	struct accept_ctx *a = cls;
	if (key != NULL && value != NULL && str_eq_nocase(key, "Accept")) {
		if (a->b.len > 0)
			buf_addch(&a->b, ',', NULL);
		buf_addstr(&a->b, value, NULL);
	}
	return MHD_YES;
}

/* The digest a manifest route names (resolving a tag); replies when
 * unknown. */
static bool resolve(struct reg_req *r, struct digest *d)
{
	cleanup_err struct err *e = NULL;
	if (r->route.ref_is_digest) {
		*d = r->route.digest;
		return true;
	}
	if (reg_manifest_resolve(r->srv->storage, r->route.name, r->route.reference, d, &e) < 0) {
		reg_reply_from_err(r, e, API_MANIFEST_UNKNOWN);
		return false;
	}
	return true;
}

static bool accept_ok(struct reg_req *r, const char *media_type)
{
	struct accept_ctx a;
	buf_init(&a.b, BALE_MAX_HEADER * 4);
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_accept, &a);
	bool ok = reg_accept_allows(a.b.len > 0 ? buf_str(&a.b) : NULL, media_type);
	buf_release(&a.b);
	if (!ok) {
		cleanup_free char *msg = xasprintf(
		        "manifest is '%s', which the request's Accept header does not accept",
		        media_type);
		reg_reply_error(r, 404, API_MANIFEST_UNKNOWN, msg);
	}
	return ok;
}

static void reply_manifest(struct reg_req *r, const struct reg_manifest_meta *meta, char *body)
{
	char ds[DIGEST_MAX_STRING];
	digest_format(&meta->digest, ds);
	reg_reply_header(r, "Docker-Content-Digest", ds);
	reg_reply_headerf(r, "ETag", "\"%s\"", ds);
	reg_reply_take(r, 200, meta->media_type, body, meta->size);
}

void reg_manifest_get(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	struct reg_manifest_meta meta;
	struct digest d;
	char *body = NULL;
	int fd = -1;
	struct reg_mcache *c = r->srv->mcache;
	if (mcache_get(c, r->route.name, r->route.reference, &meta, &body)) {
		if (!accept_ok(r, meta.media_type)) {
			free(body);
			return;
		}
		return reply_manifest(r, &meta, body);
	}
	if (!resolve(r, &d))
		return;
	if (reg_manifest_open(r->srv->storage, r->route.name, &d, &fd, &meta, &e) < 0)
		return reg_reply_from_err(r, e, API_MANIFEST_UNKNOWN);
	if (!accept_ok(r, meta.media_type)) {
		close(fd);
		return;
	}
	body = read_body(fd, meta.size);
	if (body != NULL) {
		close(fd);
		mcache_put(c, r->route.name, r->route.reference, &meta, body);
		return reply_manifest(r, &meta, body);
	}
	char ds[DIGEST_MAX_STRING];
	digest_format(&d, ds);
	reg_reply_header(r, "Docker-Content-Digest", ds);
	reg_reply_headerf(r, "ETag", "\"%s\"", ds);
	reg_reply_fd(r, 200, meta.media_type, fd, 0, meta.size);
}

/* ---- PUT ---- */

static int manifest_data(struct reg_req *r, const char *data, size_t n)
{
	if (buf_add(&r->body, data, n, NULL) < 0) {
		reg_req_fail(r, 413, API_MANIFEST_INVALID, "manifest too large");
		return -1;
	}
	return 0;
}

/* Every descriptor the manifest references must be in the repository;
 * replies (MANIFEST_BLOB_UNKNOWN / MANIFEST_INVALID) when one is not. */
static bool check_refs(struct reg_req *r, const struct reg_manifest_info *info)
{
	char ds[DIGEST_MAX_STRING];
	for (size_t i = 0; i < info->nrefs; i++) {
		const struct reg_desc *d = &info->refs[i];
		uint64_t size = 0;
		int rc;
		if (d->external)
			continue;
		if (info->is_index) {
			struct reg_manifest_meta m;
			rc = reg_manifest_meta(r->srv->storage, r->route.name, &d->digest, &m,
			                       NULL);
			size = m.size;
		} else {
			rc = reg_blob_stat(r->srv->storage, r->route.name, &d->digest, &size, NULL);
		}
		digest_format(&d->digest, ds);
		if (rc < 0) {
			cleanup_free char *msg =
			        xasprintf("%s %s is unknown to this repository",
			                  info->is_index ? "manifest" : "blob", ds);
			reg_reply_error(r, 400, API_MANIFEST_BLOB_UNKNOWN, msg);
			return false;
		}
		if (size != d->size) {
			cleanup_free char *msg = xasprintf(
			        "descriptor of %s says size %llu, but it has %llu bytes", ds,
			        (unsigned long long)d->size, (unsigned long long)size);
			reg_reply_error(r, 400, API_MANIFEST_INVALID, msg);
			return false;
		}
	}
	return true;
}

static void manifest_put_end(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	struct reg_manifest_info info;
	struct reg_manifest_meta meta;
	char ds[DIGEST_MAX_STRING];
	const void *data = r->body.data != NULL ? r->body.data : "";
	int rc =
	        reg_manifest_parse(&info, data, r->body.len, reg_req_header(r, "Content-Type"), &e);
	if (rc < 0) {
		reg_manifest_info_release(&info);
		return reg_reply_error(r, 400, API_MANIFEST_INVALID, err_msg(e));
	}
	memset(&meta, 0, sizeof(meta));
	enum digest_algo algo = r->route.ref_is_digest ? r->route.digest.algo : DIGEST_SHA256;
	digest_buffer(&meta.digest, algo, data, r->body.len);
	if (r->route.ref_is_digest && !digest_equal(&meta.digest, &r->route.digest)) {
		reg_manifest_info_release(&info);
		return reg_reply_error(r, 400, API_DIGEST_INVALID,
		                       "manifest content does not match the digest in the path");
	}
	if (!check_refs(r, &info)) {
		reg_manifest_info_release(&info);
		return;
	}
	meta.size = r->body.len;
	str_copy(meta.media_type, info.media_type, sizeof(meta.media_type));
	struct reg_referrer self = {
	        .digest = meta.digest,
	        .size = meta.size,
	        .media_type = info.media_type,
	        .artifact_type = info.artifact_type,
	        .annotations = info.annotations,
	};
	reg_mcache_forget(r->srv->mcache, r->route.name);
	rc = reg_manifest_put(r->srv->storage, r->route.name,
	                      r->route.ref_is_digest ? NULL : r->route.reference, data, r->body.len,
	                      &meta, &self, info.has_subject ? &info.subject : NULL, &e);
	/* again: a GET may have cached the old tag while we were writing */
	reg_mcache_forget(r->srv->mcache, r->route.name);
	if (rc < 0) {
		reg_manifest_info_release(&info);
		return reg_reply_from_err(r, e, API_MANIFEST_INVALID);
	}
	digest_format(&meta.digest, ds);
	cleanup_free char *loc = reg_location(r->route.name, "manifests", ds);
	reg_reply_header(r, "Location", loc);
	reg_reply_header(r, "Docker-Content-Digest", ds);
	if (info.has_subject)
		reg_reply_header(r, "OCI-Subject", digest_format(&info.subject, ds));
	reg_manifest_info_release(&info);
	reg_reply_empty(r, 201);
}

void reg_manifest_put_begin(struct reg_req *r)
{
	const char *cl = reg_req_header(r, "Content-Length");
	uint64_t n = 0;
	if (cl != NULL && str_to_u64(cl, &n) == 0 && n > r->srv->cfg->max_manifest) {
		reg_reply_error(r, 413, API_MANIFEST_INVALID, "manifest too large");
		return;
	}
	r->on_data = manifest_data;
	r->on_end = manifest_put_end;
}

/* ---- DELETE ---- */

void reg_manifest_delete_req(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	reg_mcache_forget(r->srv->mcache, r->route.name);
	int rc = r->route.ref_is_digest
	                 ? reg_manifest_delete(r->srv->storage, r->route.name, &r->route.digest, &e)
	                 : reg_tag_delete(r->srv->storage, r->route.name, r->route.reference, &e);
	reg_mcache_forget(r->srv->mcache, r->route.name);
	if (rc < 0)
		return reg_reply_from_err(r, e, API_MANIFEST_UNKNOWN);
	reg_reply_empty(r, 202);
}
