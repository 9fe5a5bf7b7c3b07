/* The image model: parsing and stable serialization (see image.h). */
#include "config.h"

#include "layers/image.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "common/util.h"

bool oci_media_type_is_manifest(const char *mt)
{
	return str_eq(mt, OCI_MT_MANIFEST) || str_eq(mt, DOCKER_MT_MANIFEST);
}

bool oci_media_type_is_index(const char *mt)
{
	return str_eq(mt, OCI_MT_INDEX) || str_eq(mt, DOCKER_MT_LIST);
}

const char *oci_layer_media_type_as(const char *mt, bool docker)
{
	static const char *const pairs[][2] = {
		{ OCI_MT_LAYER, DOCKER_MT_LAYER },
		{ OCI_MT_LAYER_GZIP, DOCKER_MT_LAYER_GZIP },
	};
	for (size_t i = 0; mt != NULL && i < ARRAY_SIZE(pairs); i++)
		if (str_eq(mt, pairs[i][0]) || str_eq(mt, pairs[i][1]))
			return pairs[i][docker ? 1 : 0];
	return mt;
}

bool oci_media_type_is_layer(const char *mt)
{
	return mt != NULL && (str_has_prefix(mt, "application/vnd.oci.image.layer.") ||
			      str_has_prefix(mt, "application/vnd.docker.image.rootfs."));
}

/* ---- small helpers ---- */

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static char **strv_dup(char *const *v)
{
	if (v == NULL)
		return NULL;
	size_t n = strv_len(v);
	char **r = xcalloc(n + 1, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = xstrdup(v[i]);
	return r;
}

static json_t *strv_to_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of a string map with keys inserted in byte order: Go writes maps
 * sorted, and jx_dump keeps insertion order. */
static json_t *sorted_map(const json_t *m)
{
	size_t n = json_object_size(m);
	const char **keys = xcalloc(n + 1, sizeof(*keys));
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)m, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	json_t *r = json_object();
	for (i = 0; i < n; i++)
		json_object_set(r, keys[i], json_object_get(m, keys[i]));
	free(keys);
	return r;
}

/* A sorted set ({"80/tcp":{}}) from a strv. */
static json_t *set_to_json(char *const *v)
{
	cleanup_strv char **s = strv_dup(v);
	size_t n = strv_len(s);
	qsort(s, n, sizeof(*s), cmp_str);
	json_t *r = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(r, s[i], json_object());
	return r;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL && v[0] != '\0')
		json_object_set_new(o, k, json_string(v));
}

static void set_map(json_t *o, const char *k, const json_t *m)
{
	if (m != NULL && json_object_size(m) > 0)
		json_object_set_new(o, k, sorted_map(m));
}

static int get_strmap_copy(json_t **out, const json_t *o, const char *key, const char *path,
			   struct err **err)
{
	json_t *m = NULL;
	int r = jx_get_strmap(&m, o, key, false, path, err);
	if (r < 0)
		return r;
	*out = m != NULL ? json_incref(m) : NULL;
	return 0;
}

static int get_str_copy(char **out, const json_t *o, const char *key, bool required,
			const char *path, struct err **err)
{
	const char *s = NULL;
	int r = jx_get_string(&s, o, key, required, path, err);
	if (r < 0)
		return r;
	*out = dup_or_null(s);
	return 0;
}

/* Keys of an object as a sorted strv ("ExposedPorts", "Volumes"). */
static int get_set(char ***out, const json_t *o, const char *key, const char *path,
		   struct err **err)
{
	json_t *m = NULL;
	int r = jx_get_object(&m, o, key, false, path, err);
	if (r < 0)
		return r;
	if (m == NULL)
		return 0;
	if (!json_is_object(m)) {
		cleanup_free char *p = jx_path_key(path, key);
		return jx_expect(m, JSON_OBJECT, p, err);
	}
	char **v = xcalloc(json_object_size(m) + 1, sizeof(*v));
	size_t i = 0;
	const char *k;
	json_t *x;
	json_object_foreach(m, k, x)
		v[i++] = xstrdup(k);
	qsort(v, i, sizeof(*v), cmp_str);
	*out = v;
	return 0;
}

/* ---- platform and descriptors ---- */

void oci_platform_release(struct oci_platform *p)
{
	if (p == NULL)
		return;
	free(p->architecture);
	free(p->os);
	free(p->os_version);
	strv_free(p->os_features);
	free(p->variant);
	memset(p, 0, sizeof(*p));
}

static void platform_copy(struct oci_platform *dst, const struct oci_platform *src)
{
	dst->architecture = dup_or_null(src->architecture);
	dst->os = dup_or_null(src->os);
	dst->os_version = dup_or_null(src->os_version);
	dst->os_features = strv_dup(src->os_features);
	dst->variant = dup_or_null(src->variant);
}

static int platform_parse(struct oci_platform *p, const json_t *o, const char *path,
			  struct err **err)
{
	if (get_str_copy(&p->architecture, o, "architecture", false, path, err) < 0 ||
	    get_str_copy(&p->os, o, "os", false, path, err) < 0 ||
	    get_str_copy(&p->os_version, o, "os.version", false, path, err) < 0 ||
	    jx_get_strv(&p->os_features, o, "os.features", false, path, err) < 0 ||
	    get_str_copy(&p->variant, o, "variant", false, path, err) < 0)
		return ERR_INVALID;
	return 0;
}

/* The platform fields in image-spec's order, into o (an object being built;
 * the config inlines them, a descriptor nests them). */
static void platform_fields(json_t *o, const struct oci_platform *p, bool always)
{
	if (always || p->architecture != NULL)
		json_object_set_new(o, "architecture", json_string(p->architecture ? p->architecture : ""));
	if (always || p->os != NULL)
		json_object_set_new(o, "os", json_string(p->os ? p->os : ""));
	set_str(o, "os.version", p->os_version);
	if (p->os_features != NULL && p->os_features[0] != NULL)
		json_object_set_new(o, "os.features", strv_to_json(p->os_features));
	set_str(o, "variant", p->variant);
}

void oci_descriptor_release(struct oci_descriptor *d)
{
	if (d == NULL)
		return;
	free(d->media_type);
	strv_free(d->urls);
	json_decref(d->annotations);
	if (d->platform != NULL) {
		oci_platform_release(d->platform);
		free(d->platform);
	}
	free(d->artifact_type);
	memset(d, 0, sizeof(*d));
}

void oci_descriptor_copy(struct oci_descriptor *dst, const struct oci_descriptor *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->media_type = dup_or_null(src->media_type);
	dst->digest = src->digest;
	dst->size = src->size;
	dst->urls = strv_dup(src->urls);
	dst->annotations = src->annotations != NULL ? json_deep_copy(src->annotations) : NULL;
	if (src->platform != NULL) {
		dst->platform = xcalloc(1, sizeof(*dst->platform));
		platform_copy(dst->platform, src->platform);
	}
	dst->artifact_type = dup_or_null(src->artifact_type);
}

const char *oci_descriptor_annotation(const struct oci_descriptor *d, const char *key)
{
	if (d->annotations == NULL)
		return NULL;
	return json_string_value(json_object_get(d->annotations, key));
}

void oci_descriptor_annotate(struct oci_descriptor *d, const char *key, const char *value)
{
	if (value == NULL) {
		if (d->annotations != NULL)
			json_object_del(d->annotations, key);
		return;
	}
	if (d->annotations == NULL)
		d->annotations = json_object();
	json_object_set_new(d->annotations, key, json_string(value));
}

int oci_descriptor_parse(struct oci_descriptor *out, const json_t *j, const char *path,
			 struct err **err)
{
	memset(out, 0, sizeof(*out));
	const char *dg = NULL;
	uint64_t size = 0;
	json_t *plat = NULL;
	int r;
	if ((r = jx_expect(j, JSON_OBJECT, path, err)) < 0)
		return r;
	if ((r = get_str_copy(&out->media_type, j, "mediaType", true, path, err)) < 0 ||
	    (r = jx_get_string(&dg, j, "digest", true, path, err)) < 0 ||
	    (r = jx_get_size(&size, j, "size", true, path, err)) < 0 ||
	    (r = jx_get_strv(&out->urls, j, "urls", false, path, err)) < 0 ||
	    (r = get_strmap_copy(&out->annotations, j, "annotations", path, err)) < 0 ||
	    (r = jx_get_object(&plat, j, "platform", false, path, err)) < 0 ||
	    (r = get_str_copy(&out->artifact_type, j, "artifactType", false, path, err)) < 0)
		goto fail;
	if (size > INT64_MAX) {
		r = err_set(err, ERR_INVALID, "field '%s.size' is out of range", path ? path : "");
		goto fail;
	}
	out->size = (int64_t)size;
	if ((r = digest_parse(&out->digest, dg, err)) < 0) {
		err_wrap(err, "field '%s%sdigest'", path ? path : "", path && *path ? "." : "");
		goto fail;
	}
	if (plat != NULL) {
		cleanup_free char *pp = jx_path_key(path, "platform");
		out->platform = xcalloc(1, sizeof(*out->platform));
		if ((r = jx_expect(plat, JSON_OBJECT, pp, err)) < 0 ||
		    (r = platform_parse(out->platform, plat, pp, err)) < 0)
			goto fail;
	}
	return 0;
fail:
	oci_descriptor_release(out);
	return r;
}

json_t *oci_descriptor_to_json(const struct oci_descriptor *d, bool docker_order)
{
	char s[DIGEST_MAX_STRING];
	json_t *o = json_object();
	json_object_set_new(o, "mediaType", json_string(d->media_type ? d->media_type : ""));
	if (docker_order)
		json_object_set_new(o, "size", json_integer(d->size));
	json_object_set_new(o, "digest", json_string(digest_format(&d->digest, s)));
	if (!docker_order)
		json_object_set_new(o, "size", json_integer(d->size));
	if (d->urls != NULL && d->urls[0] != NULL)
		json_object_set_new(o, "urls", strv_to_json(d->urls));
	set_map(o, "annotations", d->annotations);
	if (d->platform != NULL) {
		json_t *p = json_object();
		platform_fields(p, d->platform, true);
		json_object_set_new(o, "platform", p);
	}
	set_str(o, "artifactType", d->artifact_type);
	return o;
}

static int descriptors_parse(struct oci_descriptor **out, size_t *n, const json_t *o,
			     const char *key, bool required, struct err **err)
{
	json_t *a = NULL;
	int r = jx_get_array(&a, o, key, required, "", err);
	*out = NULL;
	*n = 0;
	if (r < 0 || a == NULL)
		return r;
	if ((r = jx_expect(a, JSON_ARRAY, key, err)) < 0)
		return r;
	size_t cnt = json_array_size(a);
	struct oci_descriptor *v = xcalloc(cnt + 1, sizeof(*v));
	for (size_t i = 0; i < cnt; i++) {
		cleanup_free char *p = jx_path_index(key, i);
		if ((r = oci_descriptor_parse(&v[i], json_array_get(a, i), p, err)) < 0) {
			for (size_t k = 0; k < i; k++)
				oci_descriptor_release(&v[k]);
			free(v);
			return r;
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

static void descriptors_free(struct oci_descriptor *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		oci_descriptor_release(&v[i]);
	free(v);
}

static int subject_parse(struct oci_descriptor **out, const json_t *o, struct err **err)
{
	json_t *s = NULL;
	int r = jx_get_object(&s, o, "subject", false, "", err);
	if (r < 0 || s == NULL)
		return r;
	*out = xcalloc(1, sizeof(**out));
	return oci_descriptor_parse(*out, s, "subject", err);
}

static void subject_free(struct oci_descriptor *d)
{
	if (d != NULL) {
		oci_descriptor_release(d);
		free(d);
	}
}

/* ---- manifests ---- */

static int check_schema2(const json_t *o, struct err **err)
{
	int64_t v = 0;
	int r = jx_get_int64(&v, o, "schemaVersion", true, 0, INT64_MAX, "", err);
	if (r < 0)
		return r;
	if (v != 2)
		return err_set(err, ERR_UNSUPPORTED, "unsupported schemaVersion %lld", (long long)v);
	return 0;
}

static int manifest_fill(struct oci_manifest *m, const json_t *o, struct err **err)
{
	json_t *cfg = NULL;
	int r;
	if ((r = check_schema2(o, err)) < 0 ||
	    (r = get_str_copy(&m->media_type, o, "mediaType", false, "", err)) < 0 ||
	    (r = get_str_copy(&m->artifact_type, o, "artifactType", false, "", err)) < 0)
		return r;
	if (oci_media_type_is_index(m->media_type) || json_object_get(o, "manifests") != NULL)
		return err_set(err, ERR_UNSUPPORTED, "document is an index, not a manifest");
	if ((r = jx_get_object(&cfg, o, "config", true, "", err)) < 0 ||
	    (r = oci_descriptor_parse(&m->config, cfg, "config", err)) < 0 ||
	    (r = descriptors_parse(&m->layers, &m->n_layers, o, "layers", true, err)) < 0 ||
	    (r = subject_parse(&m->subject, o, err)) < 0 ||
	    (r = get_strmap_copy(&m->annotations, o, "annotations", "", err)) < 0)
		return r;
	return 0;
}

int oci_manifest_parse(struct oci_manifest *out, const void *data, size_t len, struct err **err)
{
	memset(out, 0, sizeof(*out));
	cleanup_json json_t *o = NULL;
	int r = jx_load_buffer(&o, data, len, "manifest", 0, err);
	if (r < 0)
		return r;
	if ((r = jx_expect(o, JSON_OBJECT, "", err)) < 0 || (r = manifest_fill(out, o, err)) < 0) {
		oci_manifest_release(out);
		return err_wrap(err, "invalid manifest");
	}
	return 0;
}

int oci_manifest_dump(char **out, size_t *len, const struct oci_manifest *m, struct err **err)
{
	bool docker = str_eq(m->media_type, DOCKER_MT_MANIFEST);
	cleanup_json json_t *o = json_object();
	json_object_set_new(o, "schemaVersion", json_integer(2));
	set_str(o, "mediaType", m->media_type);
	set_str(o, "artifactType", m->artifact_type);
	json_object_set_new(o, "config", oci_descriptor_to_json(&m->config, docker));
	json_t *a = json_array();
	for (size_t i = 0; i < m->n_layers; i++)
		json_array_append_new(a, oci_descriptor_to_json(&m->layers[i], docker));
	json_object_set_new(o, "layers", a);
	if (m->subject != NULL)
		json_object_set_new(o, "subject", oci_descriptor_to_json(m->subject, false));
	set_map(o, "annotations", m->annotations);
	return jx_dump(out, len, o, 0, err);
}

void oci_manifest_release(struct oci_manifest *m)
{
	if (m == NULL)
		return;
	free(m->media_type);
	free(m->artifact_type);
	oci_descriptor_release(&m->config);
	descriptors_free(m->layers, m->n_layers);
	subject_free(m->subject);
	json_decref(m->annotations);
	memset(m, 0, sizeof(*m));
}

/* ---- indexes ---- */

static int index_fill(struct oci_index *ix, const json_t *o, struct err **err)
{
	int r;
	if ((r = check_schema2(o, err)) < 0 ||
	    (r = get_str_copy(&ix->media_type, o, "mediaType", false, "", err)) < 0 ||
	    (r = get_str_copy(&ix->artifact_type, o, "artifactType", false, "", err)) < 0)
		return r;
	if (oci_media_type_is_manifest(ix->media_type))
		return err_set(err, ERR_UNSUPPORTED, "document is a manifest, not an index");
	if ((r = descriptors_parse(&ix->manifests, &ix->n_manifests, o, "manifests", true, err)) < 0 ||
	    (r = subject_parse(&ix->subject, o, err)) < 0 ||
	    (r = get_strmap_copy(&ix->annotations, o, "annotations", "", err)) < 0)
		return r;
	return 0;
}

int oci_index_parse(struct oci_index *out, const void *data, size_t len, struct err **err)
{
	memset(out, 0, sizeof(*out));
	cleanup_json json_t *o = NULL;
	int r = jx_load_buffer(&o, data, len, "index", 0, err);
	if (r < 0)
		return r;
	if ((r = jx_expect(o, JSON_OBJECT, "", err)) < 0 || (r = index_fill(out, o, err)) < 0) {
		oci_index_release(out);
		return err_wrap(err, "invalid index");
	}
	return 0;
}

int oci_index_dump(char **out, size_t *len, const struct oci_index *ix, struct err **err)
{
	bool docker = str_eq(ix->media_type, DOCKER_MT_LIST);
	cleanup_json json_t *o = json_object();
	json_object_set_new(o, "schemaVersion", json_integer(2));
	set_str(o, "mediaType", ix->media_type);
	set_str(o, "artifactType", ix->artifact_type);
	json_t *a = json_array();
	for (size_t i = 0; i < ix->n_manifests; i++)
		json_array_append_new(a, oci_descriptor_to_json(&ix->manifests[i], docker));
	json_object_set_new(o, "manifests", a);
	if (ix->subject != NULL)
		json_object_set_new(o, "subject", oci_descriptor_to_json(ix->subject, false));
	set_map(o, "annotations", ix->annotations);
	return jx_dump(out, len, o, 0, err);
}

void oci_index_release(struct oci_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->media_type);
	free(ix->artifact_type);
	descriptors_free(ix->manifests, ix->n_manifests);
	subject_free(ix->subject);
	json_decref(ix->annotations);
	memset(ix, 0, sizeof(*ix));
}

/* ---- config ---- */

static void healthcheck_free(struct oci_healthcheck *h)
{
	if (h != NULL) {
		strv_free(h->test);
		free(h);
	}
}

static int healthcheck_parse(struct oci_healthcheck **out, const json_t *o, struct err **err)
{
	json_t *hj = NULL;
	int r = jx_get_object(&hj, o, "Healthcheck", false, "config", err);
	if (r < 0 || hj == NULL)
		return r;
	if ((r = jx_expect(hj, JSON_OBJECT, "config.Healthcheck", err)) < 0)
		return r;
	const char *p = "config.Healthcheck";
	struct oci_healthcheck *h = xcalloc(1, sizeof(*h));
	if ((r = jx_get_strv(&h->test, hj, "Test", false, p, err)) < 0 ||
	    (r = jx_get_int64(&h->interval, hj, "Interval", false, 0, INT64_MAX, p, err)) < 0 ||
	    (r = jx_get_int64(&h->timeout, hj, "Timeout", false, 0, INT64_MAX, p, err)) < 0 ||
	    (r = jx_get_int64(&h->start_period, hj, "StartPeriod", false, 0, INT64_MAX, p, err)) < 0 ||
	    (r = jx_get_int64(&h->start_interval, hj, "StartInterval", false, 0, INT64_MAX, p, err)) < 0 ||
	    (r = jx_get_int64(&h->retries, hj, "Retries", false, 0, INT64_MAX, p, err)) < 0) {
		healthcheck_free(h);
		return r;
	}
	*out = h;
	return 0;
}

static int exec_config_parse(struct oci_exec_config *c, const json_t *o, struct err **err)
{
	const char *p = "config";
	int r;
	if ((r = get_str_copy(&c->user, o, "User", false, p, err)) < 0 ||
	    (r = get_set(&c->exposed_ports, o, "ExposedPorts", p, err)) < 0 ||
	    (r = jx_get_strv(&c->env, o, "Env", false, p, err)) < 0 ||
	    (r = jx_get_strv(&c->entrypoint, o, "Entrypoint", false, p, err)) < 0 ||
	    (r = jx_get_strv(&c->cmd, o, "Cmd", false, p, err)) < 0 ||
	    (r = get_set(&c->volumes, o, "Volumes", p, err)) < 0 ||
	    (r = get_str_copy(&c->working_dir, o, "WorkingDir", false, p, err)) < 0 ||
	    (r = get_strmap_copy(&c->labels, o, "Labels", p, err)) < 0 ||
	    (r = get_str_copy(&c->stop_signal, o, "StopSignal", false, p, err)) < 0 ||
	    (r = jx_get_bool(&c->args_escaped, o, "ArgsEscaped", false, p, err)) < 0 ||
	    (r = healthcheck_parse(&c->healthcheck, o, err)) < 0 ||
	    (r = jx_get_strv(&c->on_build, o, "OnBuild", false, p, err)) < 0 ||
	    (r = jx_get_strv(&c->shell, o, "Shell", false, p, err)) < 0)
		return r;
	return 0;
}

static int history_parse(struct oci_config *c, const json_t *o, struct err **err)
{
	json_t *a = NULL;
	int r = jx_get_array(&a, o, "history", false, "", err);
	if (r < 0 || a == NULL)
		return r;
	if ((r = jx_expect(a, JSON_ARRAY, "history", err)) < 0)
		return r;
	size_t n = json_array_size(a);
	c->history = xcalloc(n + 1, sizeof(*c->history));
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *p = jx_path_index("history", i);
		json_t *h = json_array_get(a, i);
		struct oci_history *e = &c->history[i];
		c->n_history = i + 1;
		if ((r = jx_expect(h, JSON_OBJECT, p, err)) < 0 ||
		    (r = get_str_copy(&e->created, h, "created", false, p, err)) < 0 ||
		    (r = get_str_copy(&e->created_by, h, "created_by", false, p, err)) < 0 ||
		    (r = get_str_copy(&e->author, h, "author", false, p, err)) < 0 ||
		    (r = get_str_copy(&e->comment, h, "comment", false, p, err)) < 0 ||
		    (r = jx_get_bool(&e->empty_layer, h, "empty_layer", false, p, err)) < 0)
			return r;
	}
	return 0;
}

static int rootfs_parse(struct oci_config *c, const json_t *o, struct err **err)
{
	json_t *rfs = NULL, *ids = NULL;
	int r = jx_get_object(&rfs, o, "rootfs", false, "", err);
	if (r < 0 || rfs == NULL)
		return r;
	if ((r = jx_expect(rfs, JSON_OBJECT, "rootfs", err)) < 0 ||
	    (r = jx_get_array(&ids, rfs, "diff_ids", false, "rootfs", err)) < 0 || ids == NULL)
		return r;
	if ((r = jx_expect(ids, JSON_ARRAY, "rootfs.diff_ids", err)) < 0)
		return r;
	size_t n = json_array_size(ids);
	c->diff_ids = xcalloc(n + 1, sizeof(*c->diff_ids));
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(ids, i));
		if (s == NULL || digest_parse(&c->diff_ids[i], s, err) < 0)
			return err_set(err, ERR_INVALID, "field 'rootfs.diff_ids[%zu]' is not a digest", i);
		c->n_diff_ids = i + 1;
	}
	return 0;
}

static int config_fill(struct oci_config *c, const json_t *o, struct err **err)
{
	json_t *ec = NULL;
	int r;
	if ((r = get_str_copy(&c->created, o, "created", false, "", err)) < 0 ||
	    (r = get_str_copy(&c->author, o, "author", false, "", err)) < 0 ||
	    (r = platform_parse(&c->platform, o, "", err)) < 0 ||
	    (r = jx_get_object(&ec, o, "config", false, "", err)) < 0)
		return r;
	if (ec != NULL && ((r = jx_expect(ec, JSON_OBJECT, "config", err)) < 0 ||
			   (r = exec_config_parse(&c->config, ec, err)) < 0))
		return r;
	if ((r = rootfs_parse(c, o, err)) < 0 || (r = history_parse(c, o, err)) < 0)
		return r;
	return 0;
}

int oci_config_parse(struct oci_config *out, const void *data, size_t len, struct err **err)
{
	memset(out, 0, sizeof(*out));
	cleanup_json json_t *o = NULL;
	int r = jx_load_buffer(&o, data, len, "image config", 0, err);
	if (r < 0)
		return r;
	if ((r = jx_expect(o, JSON_OBJECT, "", err)) < 0 || (r = config_fill(out, o, err)) < 0) {
		oci_config_release(out);
		return err_wrap(err, "invalid image config");
	}
	return 0;
}

static void set_strv(json_t *o, const char *k, char *const *v)
{
	if (v != NULL)
		json_object_set_new(o, k, strv_to_json(v));
}

static json_t *healthcheck_to_json(const struct oci_healthcheck *h)
{
	json_t *o = json_object();
	set_strv(o, "Test", h->test);
	if (h->interval)
		json_object_set_new(o, "Interval", json_integer(h->interval));
	if (h->timeout)
		json_object_set_new(o, "Timeout", json_integer(h->timeout));
	if (h->start_period)
		json_object_set_new(o, "StartPeriod", json_integer(h->start_period));
	if (h->start_interval)
		json_object_set_new(o, "StartInterval", json_integer(h->start_interval));
	if (h->retries)
		json_object_set_new(o, "Retries", json_integer(h->retries));
	return o;
}

/* image-spec's ImageConfig order, then Docker's extra fields. */
static json_t *exec_config_to_json(const struct oci_exec_config *c)
{
	json_t *o = json_object();
	set_str(o, "User", c->user);
	if (c->exposed_ports != NULL && c->exposed_ports[0] != NULL)
		json_object_set_new(o, "ExposedPorts", set_to_json(c->exposed_ports));
	if (c->env != NULL && c->env[0] != NULL)
		json_object_set_new(o, "Env", strv_to_json(c->env));
	if (c->entrypoint != NULL && c->entrypoint[0] != NULL)
		json_object_set_new(o, "Entrypoint", strv_to_json(c->entrypoint));
	if (c->cmd != NULL && c->cmd[0] != NULL)
		json_object_set_new(o, "Cmd", strv_to_json(c->cmd));
	if (c->volumes != NULL && c->volumes[0] != NULL)
		json_object_set_new(o, "Volumes", set_to_json(c->volumes));
	set_str(o, "WorkingDir", c->working_dir);
	set_map(o, "Labels", c->labels);
	set_str(o, "StopSignal", c->stop_signal);
	if (c->args_escaped)
		json_object_set_new(o, "ArgsEscaped", json_true());
	if (c->healthcheck != NULL)
		json_object_set_new(o, "Healthcheck", healthcheck_to_json(c->healthcheck));
	if (c->on_build != NULL && c->on_build[0] != NULL)
		json_object_set_new(o, "OnBuild", strv_to_json(c->on_build));
	if (c->shell != NULL && c->shell[0] != NULL)
		json_object_set_new(o, "Shell", strv_to_json(c->shell));
	return o;
}

int oci_config_dump(char **out, size_t *len, const struct oci_config *c, struct err **err)
{
	char s[DIGEST_MAX_STRING];
	cleanup_json json_t *o = json_object();
	set_str(o, "created", c->created);
	set_str(o, "author", c->author);
	platform_fields(o, &c->platform, true);
	json_t *ec = exec_config_to_json(&c->config);
	if (json_object_size(ec) > 0)
		json_object_set_new(o, "config", ec);
	else
		json_decref(ec);
	json_t *rfs = json_object();
	json_object_set_new(rfs, "type", json_string("layers"));
	json_t *ids = json_array();
	for (size_t i = 0; i < c->n_diff_ids; i++)
		json_array_append_new(ids, json_string(digest_format(&c->diff_ids[i], s)));
	json_object_set_new(rfs, "diff_ids", ids);
	json_object_set_new(o, "rootfs", rfs);
	if (c->n_history > 0) {
		json_t *a = json_array();
		for (size_t i = 0; i < c->n_history; i++) {
			const struct oci_history *h = &c->history[i];
			json_t *e = json_object();
			set_str(e, "created", h->created);
			set_str(e, "created_by", h->created_by);
			set_str(e, "author", h->author);
			set_str(e, "comment", h->comment);
			if (h->empty_layer)
				json_object_set_new(e, "empty_layer", json_true());
			json_array_append_new(a, e);
		}
		json_object_set_new(o, "history", a);
	}
	return jx_dump(out, len, o, 0, err);
}

static void exec_config_release(struct oci_exec_config *c)
{
	free(c->user);
	strv_free(c->exposed_ports);
	strv_free(c->env);
	strv_free(c->entrypoint);
	strv_free(c->cmd);
	strv_free(c->volumes);
	free(c->working_dir);
	json_decref(c->labels);
	free(c->stop_signal);
	healthcheck_free(c->healthcheck);
	strv_free(c->on_build);
	strv_free(c->shell);
	memset(c, 0, sizeof(*c));
}

static void history_release(struct oci_history *h)
{
	free(h->created);
	free(h->created_by);
	free(h->author);
	free(h->comment);
}

void oci_config_release(struct oci_config *c)
{
	if (c == NULL)
		return;
	free(c->created);
	free(c->author);
	oci_platform_release(&c->platform);
	exec_config_release(&c->config);
	free(c->diff_ids);
	for (size_t i = 0; i < c->n_history; i++)
		history_release(&c->history[i]);
	free(c->history);
	memset(c, 0, sizeof(*c));
}

void oci_config_copy(struct oci_config *dst, const struct oci_config *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->created = dup_or_null(src->created);
	dst->author = dup_or_null(src->author);
	platform_copy(&dst->platform, &src->platform);
	const struct oci_exec_config *s = &src->config;
	struct oci_exec_config *d = &dst->config;
	d->user = dup_or_null(s->user);
	d->exposed_ports = strv_dup(s->exposed_ports);
	d->env = strv_dup(s->env);
	d->entrypoint = strv_dup(s->entrypoint);
	d->cmd = strv_dup(s->cmd);
	d->volumes = strv_dup(s->volumes);
	d->working_dir = dup_or_null(s->working_dir);
	d->labels = s->labels != NULL ? json_deep_copy(s->labels) : NULL;
	d->stop_signal = dup_or_null(s->stop_signal);
	d->args_escaped = s->args_escaped;
	if (s->healthcheck != NULL) {
		d->healthcheck = xcalloc(1, sizeof(*d->healthcheck));
		*d->healthcheck = *s->healthcheck;
		d->healthcheck->test = strv_dup(s->healthcheck->test);
	}
	d->on_build = strv_dup(s->on_build);
	d->shell = strv_dup(s->shell);
	dst->diff_ids = xcalloc(src->n_diff_ids + 1, sizeof(*dst->diff_ids));
	memcpy(dst->diff_ids, src->diff_ids, src->n_diff_ids * sizeof(*dst->diff_ids));
	dst->n_diff_ids = src->n_diff_ids;
	dst->history = xcalloc(src->n_history + 1, sizeof(*dst->history));
	for (size_t i = 0; i < src->n_history; i++) {
		const struct oci_history *h = &src->history[i];
		dst->history[i] = (struct oci_history){
			.created = dup_or_null(h->created),
			.created_by = dup_or_null(h->created_by),
			.author = dup_or_null(h->author),
			.comment = dup_or_null(h->comment),
			.empty_layer = h->empty_layer,
		};
	}
	dst->n_history = src->n_history;
}

void oci_config_add_diff_id(struct oci_config *c, const struct digest *diff_id)
{
	c->diff_ids = xreallocarray(c->diff_ids, c->n_diff_ids + 1, sizeof(*c->diff_ids));
	c->diff_ids[c->n_diff_ids++] = *diff_id;
}

void oci_config_add_history(struct oci_config *c, const char *created, const char *created_by,
			    const char *comment, bool empty_layer)
{
	c->history = xreallocarray(c->history, c->n_history + 1, sizeof(*c->history));
	c->history[c->n_history++] = (struct oci_history){
		.created = dup_or_null(created),
		.created_by = dup_or_null(created_by),
		.comment = dup_or_null(comment),
		.empty_layer = empty_layer,
	};
}

const char *oci_detect_media_type(const void *data, size_t len)
{
	cleanup_json json_t *o = NULL;
	if (jx_load_buffer(&o, data, len, "document", 0, NULL) < 0 || !json_is_object(o))
		return NULL;
	const char *mt = json_string_value(json_object_get(o, "mediaType"));
	static const char *const known[] = { OCI_MT_MANIFEST, OCI_MT_INDEX, DOCKER_MT_MANIFEST,
					     DOCKER_MT_LIST };
	for (size_t i = 0; mt != NULL && i < ARRAY_SIZE(known); i++)
		if (strcmp(mt, known[i]) == 0)
			return known[i];
	if (mt != NULL)
		return NULL;
	if (json_object_get(o, "manifests") != NULL)
		return OCI_MT_INDEX;
	if (json_object_get(o, "config") != NULL)
		return OCI_MT_MANIFEST;
	return NULL;
}

char *oci_time_format(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int oci_time_parse(const char *s, int64_t *out, struct err **err)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return err_set(err, ERR_INVALID, "invalid time '%.64s'", s);
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
		off = (int64_t)(hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return err_set(err, ERR_INVALID, "invalid time '%.64s'", s);
	}
	if (*p != '\0')
		return err_set(err, ERR_INVALID, "invalid time '%.64s'", s);
	*out = (int64_t)timegm(&tm) - off;
	return 0;
}
