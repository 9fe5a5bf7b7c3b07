/* The copy engine behind pull, push and copy: endpoints (registry, local
 * store, OCI layout), platform choice, parallel blob transfers, and the
 * final naming step. See copy.h. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/json.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/reference.h"
#include "common/util.h"
#include "layers/archive.h"
#include "layers/cas.h"
#include "layers/compress.h"
#include "layers/image.h"
#include "layers/store.h"
#include "registry/client-internal.h"
#include "registry/copy.h"

enum ep_kind { EP_REGISTRY, EP_LOCAL, EP_OCI, EP_OCI_ARCHIVE, EP_DOCKER_ARCHIVE };

struct ep {
	enum ep_kind kind;
	char *spec;
	/* registry */
	struct ref ref;
	struct regc_repo *repo;
	char *ref_str; /* tag or digest to GET/PUT */
	/* local store */
	struct store *store;
	char *name; /* store name; NULL: the source's */
	/* OCI layout */
	char *dir;
	char *tag;
	struct cas *cas; /* local: the store's; oci: owned */
	bool own_cas;
	/* archives: a temporary store the archive is loaded into or saved
	 * from (the endpoint then works as EP_LOCAL on it) */
	enum ep_kind archive; /* EP_OCI_ARCHIVE, EP_DOCKER_ARCHIVE or 0 */
	char *archive_path;
	bool archive_all; /* copy --all: save a whole index */
	char *tmp_dir;
	struct store *tmp_store;
};

/* A new directory under $TMPDIR; the caller frees the path. */
static int make_tmp_dir(char **out, const char *what, struct err **err)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/bale-%s-XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp", what);
	if (mkdtemp(dir) == NULL) {
		int e = errno;
		free(dir);
		return err_sys(err, err_code_from_errno(e), e, "cannot create a temporary directory");
	}
	*out = dir;
	return 0;
}

static void ep_release(struct ep *e)
{
	free(e->spec);
	ref_release(&e->ref);
	regc_repo_free(e->repo);
	free(e->ref_str);
	free(e->name);
	free(e->dir);
	free(e->tag);
	if (e->own_cas)
		cas_free(e->cas);
	store_free(e->tmp_store);
	remove_tree(e->tmp_dir);
	free(e->tmp_dir);
	free(e->archive_path);
	memset(e, 0, sizeof(*e));
}

bool regc_copy_needs_store(const char *endpoint)
{
	return str_has_prefix(endpoint, "local:");
}

static int ep_registry(struct ep *e, struct regc *c, const char *ref, bool push, struct err **err)
{
	e->kind = EP_REGISTRY;
	if (ref_parse_normalized(&e->ref, ref, err) < 0)
		return err_code(*err);
	e->ref_str = xstrdup(e->ref.tag != NULL ? e->ref.tag : e->ref.digest);
	regc_repo_open(&e->repo, c, e->ref.domain, e->ref.path, push);
	return 0;
}

/* "DIR[:TAG]" split at the first ':' as skopeo does. */
static void split_path_tag(struct ep *e, const char *rest)
{
	const char *colon = strchr(rest, ':');
	e->dir = colon != NULL ? xstrndup(rest, (size_t)(colon - rest)) : xstrdup(rest);
	e->tag = colon != NULL && colon[1] != '\0' ? xstrdup(colon + 1) : NULL;
}

static int ep_archive(struct ep *e, const char *spec, bool dst, struct err **err);

static int ep_parse(struct ep *e, struct regc *c, struct store *store, const char *spec, bool dst,
		    struct err **err)
{
	memset(e, 0, sizeof(*e));
	e->spec = xstrdup(spec);
	if (str_has_prefix(spec, "docker://"))
		return ep_registry(e, c, spec + 9, dst, err);
	if (str_has_prefix(spec, "local:")) {
		if (store == NULL)
			return err_set(err, ERR_INVALID, "'%s': no local store open", spec);
		e->kind = EP_LOCAL;
		e->store = store;
		e->cas = store_cas(store);
		if (spec[6] != '\0' && store_name_normalize(&e->name, spec + 6, NULL) < 0)
			e->name = xstrdup(spec + 6); /* an id or digest (source only) */
		return 0;
	}
	if (str_has_prefix(spec, "oci:")) {
		e->kind = EP_OCI;
		split_path_tag(e, spec + 4);
		if (e->dir[0] == '\0')
			return err_set(err, ERR_INVALID, "'%s': missing directory", spec);
		if (e->tag != NULL && !ref_tag_valid(e->tag) && !digest_valid(e->tag))
			return err_set(err, ERR_INVALID, "'%s': invalid tag '%s'", spec, e->tag);
		return 0;
	}
	if (str_has_prefix(spec, "oci-archive:") || str_has_prefix(spec, "docker-archive:"))
		return ep_archive(e, spec, dst, err);
	if (strchr(spec, ':') != NULL && strstr(spec, "://") != NULL)
		return err_set(err, ERR_INVALID, "'%s': unknown transport", spec);
	return ep_registry(e, c, spec, dst, err);
}

/* ---- archives, through a temporary store (layers/archive.h) ---- */

/* The store name for an archive's TAG/REF part: a docker-archive names a
 * reference, an oci-archive a bare tag (skopeo's convention) that we store
 * as "TAG" normalized. */
static char *archive_name(const char *tag)
{
	char *n = NULL;
	if (tag == NULL || store_name_normalize(&n, tag, NULL) < 0)
		return NULL;
	return n;
}

static int ep_archive(struct ep *e, const char *spec, bool dst, struct err **err)
{
	bool oci = str_has_prefix(spec, "oci-archive:");
	e->archive = oci ? EP_OCI_ARCHIVE : EP_DOCKER_ARCHIVE;
	split_path_tag(e, spec + (oci ? 12 : 15));
	e->archive_path = steal_pointer(&e->dir);
	if (e->archive_path[0] == '\0')
		return err_set(err, ERR_INVALID, "'%s': missing file name", spec);
	if (make_tmp_dir(&e->tmp_dir, "archive", err) < 0 ||
	    store_open(&e->tmp_store, e->tmp_dir, err) < 0)
		return err_code(*err);
	e->kind = EP_LOCAL;
	e->store = e->tmp_store;
	e->cas = store_cas(e->tmp_store);
	if (!dst) {
		cleanup_close int fd = open(e->archive_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return err_sys(err, err_code_from_errno(errno), errno, "cannot open '%s'",
				       e->archive_path);
		cleanup_strv char **names = NULL;
		if (store_load_archive(e->tmp_store, fd, &names, err) < 0)
			return err_wrap(err, "'%s'", e->archive_path);
		e->name = archive_name(e->tag);
		if (e->name == NULL && strv_len(names) == 1)
			e->name = xstrdup(names[0]);
		if (e->name == NULL)
			return err_set(err, ERR_INVALID, "'%s' holds %zu images: say which with :NAME",
				       e->archive_path, strv_len(names));
	} else {
		e->name = archive_name(e->tag);
	}
	return 0;
}

/* Write the destination archive from its temporary store, atomically:
 * the image named ref there (a name, or a digest for an unnamed one). */
static int archive_save(struct ep *e, const char *ref, struct err **err)
{
	cleanup_free char *tmp = xasprintf("%s.tmp-XXXXXX", e->archive_path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, err_code_from_errno(errno), errno, "cannot write '%s'",
			       e->archive_path);
	char *refs[] = { (char *)ref, NULL };
	/* An oci-archive names the image by the :TAG as typed, which is what
	 * skopeo's oci-archive:FILE:TAG looks up. */
	struct store_save_opts so = {
		.format = e->archive == EP_OCI_ARCHIVE ? ARCHIVE_FORMAT_OCI : ARCHIVE_FORMAT_DOCKER,
		.all = e->archive_all,
		.ref_name = e->archive == EP_OCI_ARCHIVE ? e->tag : NULL,
	};
	int r = store_save_with(e->tmp_store, refs, 1, &so, fd, err);
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = err_sys(err, ERR_IO, errno, "cannot write '%s'", e->archive_path);
	if (r == 0 && fsync(fd) < 0)
		r = err_sys(err, ERR_IO, errno, "cannot write '%s'", e->archive_path);
	close(fd);
	if (r == 0 && rename(tmp, e->archive_path) < 0)
		r = err_sys(err, err_code_from_errno(errno), errno, "cannot write '%s'",
			    e->archive_path);
	if (r < 0)
		unlink(tmp);
	return r;
}

/* ---- OCI layout endpoint ---- */

static int oci_open(struct ep *e, bool create, struct err **err)
{
	if (e->cas != NULL)
		return 0;
	if (!create) {
		cleanup_free char *layout = xasprintf("%s/oci-layout", e->dir);
		if (access(layout, F_OK) < 0)
			return err_sys(err, ERR_NOTFOUND, errno, "'%s' is not an OCI layout", e->dir);
	}
	if (create && mkdir(e->dir, 0755) < 0 && errno != EEXIST)
		return err_sys(err, err_code_from_errno(errno), errno, "cannot create '%s'", e->dir);
	if (cas_new(&e->cas, e->dir, err) < 0)
		return err_code(*err);
	e->own_cas = true;
	return 0;
}

static int oci_read_index(struct oci_index *ix, const char *dir, struct err **err)
{
	cleanup_free char *path = xasprintf("%s/index.json", dir);
	cleanup_buf struct buf b;
	buf_init(&b, BALE_MAX_JSON);
	int r = buf_read_file(&b, AT_FDCWD, path, err);
	if (r < 0)
		return r;
	if (oci_index_parse(ix, b.data, b.len, err) < 0)
		return err_wrap(err, "%s", path);
	return 0;
}

/* The descriptor named tag in an OCI layout (or its only one). */
static int oci_find(struct oci_descriptor *out, const struct ep *e, struct err **err)
{
	cleanup_index struct oci_index ix = { 0 };
	if (oci_read_index(&ix, e->dir, err) < 0)
		return err_code(*err);
	const struct oci_descriptor *hit = NULL;
	for (size_t i = 0; i < ix.n_manifests; i++) {
		const char *n = oci_descriptor_annotation(&ix.manifests[i], OCI_ANNOT_REF_NAME);
		if (e->tag != NULL && str_eq(n, e->tag))
			hit = &ix.manifests[i];
	}
	if (e->tag == NULL && ix.n_manifests == 1)
		hit = &ix.manifests[0];
	if (hit == NULL)
		return err_set(err, ERR_NOTFOUND, "no image %s%s%s in '%s'", e->tag ? "'" : "",
			       e->tag ? e->tag : "without a tag (there are several)", e->tag ? "'" : "",
			       e->dir);
	oci_descriptor_copy(out, hit);
	return 0;
}

/* Name desc in the layout's index.json (replacing an entry of that name). */
static int oci_commit(struct ep *e, const struct oci_descriptor *desc, struct err **err)
{
	cleanup_index struct oci_index ix = { 0 };
	struct err *re = NULL;
	if (oci_read_index(&ix, e->dir, &re) < 0) {
		if (err_code(re) != ERR_NOTFOUND) {
			err_move(err, &re);
			return err_code(*err);
		}
		err_free(re);
		oci_index_release(&ix);
		memset(&ix, 0, sizeof(ix));
	}
	if (ix.media_type == NULL)
		ix.media_type = xstrdup(OCI_MT_INDEX);
	for (size_t i = 0; i < ix.n_manifests;) {
		const char *n = oci_descriptor_annotation(&ix.manifests[i], OCI_ANNOT_REF_NAME);
		if ((e->tag != NULL && str_eq(n, e->tag)) ||
		    (n == NULL && digest_equal(&ix.manifests[i].digest, &desc->digest))) {
			oci_descriptor_release(&ix.manifests[i]);
			memmove(&ix.manifests[i], &ix.manifests[i + 1],
				(ix.n_manifests - i - 1) * sizeof(*ix.manifests));
			ix.n_manifests--;
		} else {
			i++;
		}
	}
	ix.manifests = xreallocarray(ix.manifests, ix.n_manifests + 1, sizeof(*ix.manifests));
	struct oci_descriptor *d = &ix.manifests[ix.n_manifests++];
	oci_descriptor_copy(d, desc);
	if (e->tag != NULL)
		oci_descriptor_annotate(d, OCI_ANNOT_REF_NAME, e->tag);
	cleanup_free char *text = NULL;
	size_t len;
	if (oci_index_dump(&text, &len, &ix, err) < 0)
		return err_code(*err);
	cleanup_free char *layout = xasprintf("%s/oci-layout", e->dir);
	static const char layout_json[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (file_write_atomic(AT_FDCWD, layout, layout_json, strlen(layout_json), 0644, err) < 0)
		return err_code(*err);
	cleanup_free char *path = xasprintf("%s/index.json", e->dir);
	return file_write_atomic(AT_FDCWD, path, text, len, 0644, err);
}

/* cas_new() leaves an ingest/ and blobs/sha512 an OCI layout does not need. */
static void oci_tidy(const struct ep *e)
{
	cleanup_free char *ingest = xasprintf("%s/ingest", e->dir);
	cleanup_free char *s512 = xasprintf("%s/blobs/sha512", e->dir);
	(void)rmdir(ingest);
	(void)rmdir(s512);
}

/* ---- reading manifests from a source ---- */

struct blob_text {
	char *data;
	size_t len;
	char *mt;
	struct digest digest;
};

static void blob_text_release(struct blob_text *t)
{
	free(t->data);
	free(t->mt);
	memset(t, 0, sizeof(*t));
}

static int cas_text(struct blob_text *t, struct cas *cas, const struct oci_descriptor *d,
		    struct err **err)
{
	if (cas_read_all(cas, &d->digest, BALE_MAX_MANIFEST, &t->data, &t->len, err) < 0)
		return err_code(*err);
	t->digest = d->digest;
	const char *mt = d->media_type != NULL ? d->media_type :
						oci_detect_media_type(t->data, t->len);
	if (mt == NULL)
		mt = oci_detect_media_type(t->data, t->len);
	t->mt = xstrdup(mt != NULL ? mt : OCI_MT_MANIFEST);
	return 0;
}

/* The top manifest or index of the source. */
static int src_top(struct ep *s, struct blob_text *t, struct err **err)
{
	switch (s->kind) {
	case EP_REGISTRY:
		return regc_manifest_get(s->repo, s->ref_str, &t->data, &t->len, &t->mt, &t->digest,
					 err);
	case EP_LOCAL: {
		struct store_image im = { 0 };
		if (s->name == NULL)
			return err_set(err, ERR_INVALID, "'%s': which image?", s->spec);
		if (store_lookup(s->store, s->name, &im, err) < 0)
			return err_code(*err);
		int r = cas_text(t, s->cas, &im.desc, err);
		store_image_release(&im);
		return r;
	}
	case EP_OCI: {
		if (oci_open(s, false, err) < 0)
			return err_code(*err);
		struct oci_descriptor d = { 0 };
		if (oci_find(&d, s, err) < 0)
			return err_code(*err);
		int r = cas_text(t, s->cas, &d, err);
		oci_descriptor_release(&d);
		return r;
	}
	default:
		return err_set(err, ERR_UNSUPPORTED, "'%s': unsupported source", s->spec);
	}
}

static int src_child(struct ep *s, const struct oci_descriptor *d, struct blob_text *t,
		     struct err **err)
{
	if (s->kind == EP_REGISTRY) {
		char ds[DIGEST_MAX_STRING];
		return regc_manifest_get(s->repo, digest_format(&d->digest, ds), &t->data, &t->len,
					 &t->mt, &t->digest, err);
	}
	return cas_text(t, s->cas, d, err);
}

/* ---- platforms ---- */

static bool platform_matches(const struct oci_platform *p, const char *os, const char *arch,
			     const char *variant)
{
	if (p == NULL || !str_eq(p->os, os) || !str_eq(p->architecture, arch))
		return false;
	if (variant != NULL)
		return str_eq(p->variant, variant) ||
		       (p->variant == NULL && str_eq(arch, "arm64") && str_eq(variant, "v8"));
	return true;
}

static int pick_platform(const struct oci_index *ix, const char *platform, size_t *out,
			 struct err **err)
{
	cleanup_free char *def = xasprintf("linux/%s", store_goarch());
	const char *want = platform != NULL ? platform : def;
	cleanup_strv char **parts = str_split(want, '/');
	size_t n = strv_len(parts);
	if (n < 2 || n > 3 || parts[0][0] == '\0' || parts[1][0] == '\0')
		return err_set(err, ERR_INVALID, "invalid platform '%s' (want os/arch[/variant])",
			       want);
	for (size_t i = 0; i < ix->n_manifests; i++) {
		const struct oci_descriptor *d = &ix->manifests[i];
		if (oci_media_type_is_manifest(d->media_type) &&
		    platform_matches(d->platform, parts[0], parts[1], n == 3 ? parts[2] : NULL)) {
			*out = i;
			return 0;
		}
	}
	if (platform == NULL && ix->n_manifests == 1) {
		*out = 0;
		return 0;
	}
	return err_set(err, ERR_NOTFOUND, "no image for platform '%s' in the index", want);
}

/* ---- blob transfers ---- */

struct copy {
	struct regc *c;
	struct ep *src;
	struct ep *dst;
	char *mount_from; /* a repository on dst's host that may have the blobs */
	pthread_mutex_t lock;
	char *spool_dir;  /* temp CAS for registry-to-registry copies, and
			   * layers compressed from a source not a store */
	struct cas *spool;
	enum layer_compression zalgo; /* for uncompressed layers (copy_compress) */
	int zlevel;
};

static int spool_get(struct copy *cx, struct cas **out, struct err **err)
{
	pthread_mutex_lock(&cx->lock);
	int r = 0;
	if (cx->spool == NULL) {
		r = make_tmp_dir(&cx->spool_dir, "copy", err);
		if (r == 0)
			r = cas_new(&cx->spool, cx->spool_dir, err);
	}
	*out = cx->spool;
	pthread_mutex_unlock(&cx->lock);
	return r;
}

static void spool_free(struct copy *cx)
{
	cas_free(cx->spool);
	remove_tree(cx->spool_dir);
	free(cx->spool_dir);
}

/* An fd on the blob's bytes from a source that is not a registry, or
 * through the spool for one. */
static int src_blob_fd(struct copy *cx, const struct oci_descriptor *d, struct progress_item *it,
		       int *fd, struct err **err)
{
	struct cas *cas = cx->src->cas;
	/* Blobs the copy made (compressed layers) are in the spool. */
	if (cx->src->kind != EP_REGISTRY && cx->spool != NULL && cas_has(cx->spool, &d->digest))
		cas = cx->spool;
	else if (cx->src->kind == EP_REGISTRY) {
		if (spool_get(cx, &cas, err) < 0)
			return err_code(*err);
		if (!cas_has(cas, &d->digest) &&
		    regc_blob_fetch(cx->src->repo, &d->digest, d->size, cas, it, err) < 0)
			return err_code(*err);
		progress_item_update(it, 0);
	}
	return cas_open(cas, &d->digest, fd, NULL, err);
}

static int copy_to_registry(struct copy *cx, const struct oci_descriptor *d,
			    struct progress_item *it, struct err **err)
{
	struct regc_repo *dr = cx->dst->repo;
	bool mounted = false;
	/* Same registry, other repository: let the registry link it. */
	const char *from = NULL;
	if (cx->src->kind == EP_REGISTRY && cx->src->repo->host == dr->host &&
	    !str_eq(cx->src->repo->name, dr->name))
		from = cx->src->repo->name;
	else if (cx->mount_from != NULL && !str_eq(cx->mount_from, dr->name))
		from = cx->mount_from;
	if (from != NULL) {
		struct err *e = NULL;
		if (regc_blob_upload(dr, &d->digest, -1, (uint64_t)d->size, from, it, &mounted, &e) ==
			    0 &&
		    mounted) {
			progress_item_done(it, "mounted");
			return 0;
		}
		log_debug("mount from '%s' failed: %s", from, err_msg(e));
		err_free(e);
	}
	cleanup_close int fd = -1;
	if (src_blob_fd(cx, d, it, &fd, err) < 0)
		return err_code(*err);
	if (regc_blob_upload(dr, &d->digest, fd, (uint64_t)d->size, NULL, it, NULL, err) < 0)
		return err_code(*err);
	progress_item_done(it, "pushed");
	return 0;
}

/* Verified blobs a transfer thread publishes together (cas_writers_commit). */
struct batch {
	struct cas_writer *w[REGC_COMMIT_BATCH];
	size_t n;
};

static int batch_commit(struct batch *b, struct err **err)
{
	int r = cas_writers_commit(b->w, b->n, err);
	b->n = 0;
	return r;
}

static int copy_to_cas(struct copy *cx, const struct oci_descriptor *d, struct progress_item *it,
		       struct batch *b, struct err **err)
{
	struct cas *dcas = cx->dst->cas;
	/* A registry source, unless the blob was made here (a compressed
	 * layer spooled in cx->spool). */
	bool fetch = cx->src->kind == EP_REGISTRY &&
		     (cx->spool == NULL || !cas_has(cx->spool, &d->digest));
	if (fetch && d->size < REGC_HASH_BEHIND_MIN) {
		struct cas_writer *w = NULL;
		if (regc_blob_fetch_verified(cx->src->repo, &d->digest, d->size, dcas, it, &w, err) < 0)
			return err_code(*err);
		b->w[b->n++] = w;
		progress_item_done(it, "pulled");
		return b->n == ARRAY_SIZE(b->w) ? batch_commit(b, err) : 0;
	}
	if (fetch) {
		if (regc_blob_fetch(cx->src->repo, &d->digest, d->size, dcas, it, err) < 0)
			return err_code(*err);
		progress_item_done(it, "pulled");
		return 0;
	}
	cleanup_close int fd = -1;
	if (src_blob_fd(cx, d, it, &fd, err) < 0)
		return err_code(*err);
	if (cas_ingest_fd(dcas, fd, &d->digest, d->size, NULL, NULL, err) < 0)
		return err_code(*err);
	progress_item_done(it, "copied");
	return 0;
}

static int dst_has_blob(struct copy *cx, const struct oci_descriptor *d, struct err **err)
{
	if (cx->dst->kind != EP_REGISTRY)
		return cas_has(cx->dst->cas, &d->digest) ? 0 : ERR_NOTFOUND;
	return regc_blob_exists(cx->dst->repo, &d->digest, err);
}

static int copy_blob(struct copy *cx, const struct oci_descriptor *d, const char *label,
		     struct batch *b, struct err **err)
{
	char ds[DIGEST_MAX_STRING], hex[129];
	digest_format(&d->digest, ds);
	digest_hex(&d->digest, hex);
	hex[12] = '\0';
	if (d->size < 0)
		return err_set(err, ERR_INVALID, "blob %s has a negative size", ds);
	if (cx->src->kind != EP_REGISTRY && cx->src->cas == cx->dst->cas)
		return 0;
	int r = dst_has_blob(cx, d, err);
	if (r == 0) {
		struct progress_item *it = progress_item_add(cx->c->progress, hex, label, (uint64_t)d->size);
		progress_item_done(it, "exists");
		return 0;
	}
	if (r != ERR_NOTFOUND)
		return r;
	struct progress_item *it = progress_item_add(cx->c->progress, hex, label, (uint64_t)d->size);
	r = cx->dst->kind == EP_REGISTRY ? copy_to_registry(cx, d, it, err) :
					   copy_to_cas(cx, d, it, b, err);
	if (r < 0)
		progress_item_fail(it, err_msg(*err));
	return r;
}

struct job {
	const struct oci_descriptor *desc;
	const char *label;
};

struct pool {
	struct copy *cx;
	const struct job *jobs;
	size_t n;
	size_t next;
	int rc;
	struct err *err;
	pthread_mutex_t lock;
};

static void pool_fail(struct pool *p, int r, struct err **e)
{
	pthread_mutex_lock(&p->lock);
	if (p->rc == 0) {
		p->rc = r;
		p->err = steal_pointer(e);
	}
	pthread_mutex_unlock(&p->lock);
	err_free(*e);
	*e = NULL;
}

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	struct batch b = { .n = 0 };
	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->rc < 0 || p->next >= p->n) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		const struct job *j = &p->jobs[p->next++];
		pthread_mutex_unlock(&p->lock);
		struct err *e = NULL;
		int r = copy_blob(p->cx, j->desc, j->label, &b, &e);
		if (r < 0)
			pool_fail(p, r, &e);
	}
	/* What this thread verified is published even when another failed:
	 * it is good, and a retry finds it there. */
	struct err *e = NULL;
	int r = batch_commit(&b, &e);
	if (r < 0)
		pool_fail(p, r, &e);
	return NULL;
}

/* Copy the blobs in parallel (cx->c->jobs at once); the first error wins
 * and stops the others from starting new blobs. */
static int copy_blobs(struct copy *cx, const struct job *jobs, size_t n, struct err **err)
{
	struct pool p = { .cx = cx, .jobs = jobs, .n = n };
	pthread_mutex_init(&p.lock, NULL);
	run_on_threads(cx->c->jobs < n ? cx->c->jobs : n, pool_worker, &p);
	pthread_mutex_destroy(&p.lock);
	if (p.rc < 0)
		err_move(err, &p.err);
	return p.rc;
}

/* ---- manifests ---- */

static int dst_put_manifest(struct copy *cx, const struct blob_text *t, const char *ref,
			    struct err **err)
{
	if (cx->dst->kind == EP_REGISTRY)
		return regc_manifest_put(cx->dst->repo, ref, t->data, t->len, t->mt, err);
	struct digest got;
	if (cas_ingest_buffer(cx->dst->cas, t->data, t->len, t->digest.algo, &got, err) < 0)
		return err_code(*err);
	return 0;
}

/* Whether a registry destination has t under ref (a tag or digest that
 * resolves to t's digest). Having it by digest means having all its blobs
 * too, as registries check them on PUT. */
static bool dst_has_manifest(struct copy *cx, const struct blob_text *t, const char *ref)
{
	if (cx->dst->kind != EP_REGISTRY)
		return false;
	struct digest d;
	bool has = false;
	struct err *e = NULL;
	int r = regc_manifest_head(cx->dst->repo, ref, &d, &has, &e);
	err_free(e);
	/* A registry that does not say the digest: only a HEAD by digest counts. */
	if (r == 0 && !has)
		return digest_valid(ref);
	return r == 0 && digest_equal(&d, &t->digest);
}

static int src_blob_open(void *ctx, const struct oci_descriptor *d, int *fd, struct err **err)
{
	return src_blob_fd(ctx, d, NULL, fd, err);
}

/* Compress t's uncompressed layers as cx->zalgo says (layers/compress.h),
 * t then being the manifest that names them. From a store the compressed
 * blobs go into it, remembered for the next copy; else into the spool. */
static int copy_compress(struct copy *cx, struct blob_text *t, struct err **err)
{
	if (cx->zalgo == LAYER_COMPRESS_NONE)
		return 0;
	struct layer_compress_opts zo = { .algo = cx->zalgo, .level = cx->zlevel,
					  .jobs = cx->c->jobs, .open = src_blob_open,
					  .open_ctx = cx, .progress = cx->c->progress };
	if (cx->src->kind == EP_LOCAL) {
		zo.dst = cx->src->cas;
		zo.map = cx->src->store;
	} else if (spool_get(cx, &zo.dst, err) < 0) {
		return err_code(*err);
	}
	char *raw = NULL;
	size_t len = 0;
	if (layer_compress_manifest(&zo, t->data, t->len, &raw, &len, err) < 0)
		return err_wrap(err, "manifest of '%s'", cx->src->spec);
	if (raw != NULL) {
		free(t->data);
		t->data = raw;
		t->len = len;
		digest_buffer(&t->digest, DIGEST_SHA256, raw, len);
	}
	return 0;
}

/* Copy one image manifest: its blobs, then itself (by digest when ref is
 * NULL, else under ref). Uncompressed layers are compressed first
 * (copy_compress), t becoming the manifest written. A re-push whose tag
 * already names this manifest costs one HEAD. */
static int copy_manifest(struct copy *cx, struct blob_text *t, const char *ref, struct err **err)
{
	char ds[DIGEST_MAX_STRING];
	digest_format(&t->digest, ds);
	if (copy_compress(cx, t, err) < 0)
		return err_code(*err);
	if (ref != NULL && str_eq(ref, ds))
		ref = NULL; /* by digest: the new one */
	digest_format(&t->digest, ds);
	cleanup_manifest struct oci_manifest m = { 0 };
	if (oci_manifest_parse(&m, t->data, t->len, err) < 0)
		return err_wrap(err, "manifest of '%s'", cx->src->spec);
	if (ref != NULL && !str_eq(ref, ds) && dst_has_manifest(cx, t, ref))
		return 0;
	if (!dst_has_manifest(cx, t, ds)) {
		struct job *jobs = xcalloc(m.n_layers + 1, sizeof(*jobs));
		jobs[0] = (struct job){ .desc = &m.config, .label = "config" };
		for (size_t i = 0; i < m.n_layers; i++)
			jobs[i + 1] = (struct job){ .desc = &m.layers[i], .label = "layer" };
		int r = copy_blobs(cx, jobs, m.n_layers + 1, err);
		free(jobs);
		if (r < 0)
			return r;
	} else if (ref == NULL || str_eq(ref, ds)) {
		return 0;
	}
	return dst_put_manifest(cx, t, ref != NULL ? ref : ds, err);
}

/* The destination's own name for the top manifest: a tag or the digest. */
static const char *dst_top_ref(const struct copy *cx, const char *digest_str)
{
	if (cx->dst->kind == EP_REGISTRY && cx->dst->ref.tag != NULL)
		return cx->dst->ref.tag;
	return digest_str;
}

/* Point the index t at the manifests its children were copied as. */
static int index_update(struct blob_text *t, const struct oci_descriptor *from,
			const struct oci_descriptor *to, size_t n, struct err **err)
{
	char *raw = NULL;
	size_t len = 0;
	if (n == 0)
		return 0;
	if (layer_compress_index_update(t->data, t->len, from, to, n, &raw, &len, err) < 0)
		return err_code(*err);
	free(t->data);
	t->data = raw;
	t->len = len;
	digest_buffer(&t->digest, DIGEST_SHA256, raw, len);
	return 0;
}

static int copy_index(struct copy *cx, struct blob_text *t, struct err **err)
{
	cleanup_index struct oci_index ix = { 0 };
	if (oci_index_parse(&ix, t->data, t->len, err) < 0)
		return err_wrap(err, "index of '%s'", cx->src->spec);
	char ds[DIGEST_MAX_STRING];
	const char *ref = dst_top_ref(cx, digest_format(&t->digest, ds));
	if (dst_has_manifest(cx, t, ref))
		return 0; /* the registry has the index, so all it refers to */
	/* Children whose layers were compressed, as they were and became. */
	struct oci_descriptor *from = xcalloc(ix.n_manifests + 1, sizeof(*from));
	struct oci_descriptor *to = xcalloc(ix.n_manifests + 1, sizeof(*to));
	size_t nz = 0;
	int r = 0;
	for (size_t i = 0; r == 0 && i < ix.n_manifests; i++) {
		const struct oci_descriptor *d = &ix.manifests[i];
		if (!oci_media_type_is_manifest(d->media_type))
			continue; /* nested indexes and artifacts: not copied */
		struct blob_text child = { 0 };
		r = src_child(cx->src, d, &child, err);
		if (r == 0)
			r = copy_manifest(cx, &child, NULL, err);
		if (r == 0 && !digest_equal(&child.digest, &d->digest)) {
			from[nz].digest = d->digest;
			to[nz].digest = child.digest;
			to[nz++].size = (int64_t)child.len;
		}
		blob_text_release(&child);
	}
	if (r == 0)
		r = index_update(t, from, to, nz, err);
	free(from);
	free(to);
	if (r < 0)
		return r;
	return dst_put_manifest(cx, t, dst_top_ref(cx, digest_format(&t->digest, ds)), err);
}

/* ---- naming the result ---- */

static int dst_commit(struct copy *cx, const struct blob_text *top, struct err **err)
{
	struct oci_descriptor d = { .media_type = top->mt, .digest = top->digest,
				    .size = (int64_t)top->len };
	switch (cx->dst->kind) {
	case EP_LOCAL: {
		int r = cx->dst->name == NULL ? store_add(cx->dst->store, &d, err) :
						store_tag(cx->dst->store, cx->dst->name, &d, err);
		if (r == 0 && cx->dst->archive != 0) {
			/* Without :NAME the archive holds it unnamed, as skopeo does. */
			char ds[DIGEST_MAX_STRING];
			r = archive_save(cx->dst, cx->dst->name != NULL ? cx->dst->name :
						  digest_format(&top->digest, ds), err);
		}
		return r;
	}
	case EP_OCI:
		return oci_commit(cx->dst, &d, err);
	default:
		return 0; /* registries: the tag was the last manifest PUT */
	}
}

/* The store name an image from src gets when dst names none. */
static char *default_local_name(const struct ep *src)
{
	if (src->kind == EP_REGISTRY)
		return ref_familiar(&src->ref);
	if (src->kind == EP_LOCAL && src->name != NULL)
		return xstrdup(src->name);
	return NULL;
}

/* A repository on the destination's host the image may already be in:
 * the registry part of the local image's name. */
static char *guess_mount_from(const struct ep *src, const struct ep *dst)
{
	if (src->kind != EP_LOCAL || dst->kind != EP_REGISTRY || src->name == NULL)
		return NULL;
	cleanup_ref struct ref r = { 0 };
	if (ref_parse_normalized(&r, src->name, NULL) < 0)
		return NULL;
	if (!str_eq(r.domain, dst->ref.domain))
		return NULL;
	return xstrdup(r.path);
}

static int copy_run(struct copy *cx, const struct regc_copy_opts *o, struct digest *out,
		    struct err **err)
{
	struct blob_text top = { 0 };
	int r = src_top(cx->src, &top, err);
	if (r < 0)
		return r;
	if (cx->dst->kind == EP_OCI && (r = oci_open(cx->dst, true, err)) < 0)
		goto out;
	if (oci_media_type_is_index(top.mt) && !o->all) {
		cleanup_index struct oci_index ix = { 0 };
		size_t pick = 0;
		if ((r = oci_index_parse(&ix, top.data, top.len, err)) < 0 ||
		    (r = pick_platform(&ix, o->platform, &pick, err)) < 0)
			goto out;
		struct blob_text child = { 0 };
		r = src_child(cx->src, &ix.manifests[pick], &child, err);
		blob_text_release(&top);
		top = child;
		if (r < 0)
			goto out;
	}
	char ds[DIGEST_MAX_STRING];
	digest_format(&top.digest, ds);
	if (oci_media_type_is_index(top.mt) && cx->dst->archive == EP_DOCKER_ARCHIVE) {
		r = err_set(err, ERR_UNSUPPORTED,
			    "'%s': a docker-archive holds one platform per image; use oci-archive: "
			    "to keep every platform, or drop --all (--platform chooses one)",
			    cx->dst->spec);
		goto out;
	}
	cx->dst->archive_all = o->all;
	if (oci_media_type_is_index(top.mt))
		r = copy_index(cx, &top, err);
	else
		r = copy_manifest(cx, &top, dst_top_ref(cx, ds), err);
	if (r == 0)
		r = dst_commit(cx, &top, err);
	if (r == 0 && out != NULL)
		*out = top.digest;
	if (cx->dst->kind == EP_OCI)
		oci_tidy(cx->dst);
out:
	blob_text_release(&top);
	return r;
}

/* What uncompressed layers become on the way to dst, as containers/image
 * decides it for skopeo: registries and OCI layouts (directory or archive)
 * want them compressed, the local store takes them as they are (as
 * containers-storage does), a docker-archive holds plain tars anyway. */
static enum layer_compression copy_zalgo(const struct ep *dst, const struct regc_compress *z)
{
	if (dst->archive == EP_DOCKER_ARCHIVE)
		return LAYER_COMPRESS_NONE;
	if (z->set)
		return z->algo;
	if (dst->kind == EP_REGISTRY || dst->kind == EP_OCI || dst->archive == EP_OCI_ARCHIVE)
		return LAYER_COMPRESS_GZIP;
	return LAYER_COMPRESS_NONE;
}

static int copy_eps(struct regc *c, struct ep *src, struct ep *dst,
		    const struct regc_copy_opts *o, struct digest *out, struct err **err)
{
	struct copy cx = { .c = c, .src = src, .dst = dst };
	cx.zalgo = copy_zalgo(dst, &o->compress);
	cx.zlevel = o->compress.level;
	pthread_mutex_init(&cx.lock, NULL);
	if (dst->kind == EP_LOCAL && dst->name == NULL)
		dst->name = default_local_name(src);
	cx.mount_from = guess_mount_from(src, dst);
	int r = copy_run(&cx, o, out, err);
	spool_free(&cx);
	free(cx.mount_from);
	pthread_mutex_destroy(&cx.lock);
	return r;
}

int regc_copy(struct regc *c, struct store *store, const char *src, const char *dst,
	      const struct regc_copy_opts *opts, struct digest *digest, struct err **err)
{
	struct regc_copy_opts none = { 0 };
	struct ep s, d;
	int r = ep_parse(&s, c, store, src, false, err);
	if (r == 0)
		r = ep_parse(&d, c, store, dst, true, err);
	else
		memset(&d, 0, sizeof(d));
	if (r == 0)
		r = copy_eps(c, &s, &d, opts != NULL ? opts : &none, digest, err);
	ep_release(&s);
	ep_release(&d);
	return r;
}

int regc_pull(struct regc *c, struct store *s, const char *ref, const char *platform, bool all,
	      struct oci_descriptor *out, struct err **err)
{
	struct ep src = { 0 }, dst = { .kind = EP_LOCAL, .store = s, .cas = store_cas(s) };
	int r = ep_registry(&src, c, ref, false, err);
	struct digest dg;
	struct regc_copy_opts o = { .all = all, .platform = platform };
	if (r == 0)
		r = copy_eps(c, &src, &dst, &o, &dg, err);
	if (r == 0 && out != NULL) {
		struct store_image im = { 0 };
		r = store_lookup(s, dst.name, &im, err);
		if (r == 0) {
			*out = im.desc;
			memset(&im.desc, 0, sizeof(im.desc));
		}
		store_image_release(&im);
	}
	if (r < 0)
		err_wrap(err, "cannot pull '%s'", ref);
	ep_release(&src);
	ep_release(&dst);
	return r;
}

int regc_push(struct regc *c, struct store *s, const char *image, const char *dest,
	      struct digest *digest, struct err **err)
{
	return regc_push_with(c, s, image, dest, NULL, digest, err);
}

int regc_push_with(struct regc *c, struct store *s, const char *image, const char *dest,
		   const struct regc_compress *z, struct digest *digest, struct err **err)
{
	struct ep src = { .kind = EP_LOCAL, .store = s, .cas = store_cas(s) };
	struct ep dst;
	memset(&dst, 0, sizeof(dst));
	src.spec = xstrdup(image);
	if (store_name_normalize(&src.name, image, NULL) < 0)
		src.name = xstrdup(image);
	/* Without a destination, push to the name the image has. */
	struct store_image im = { 0 };
	int r = 0;
	cleanup_free char *target = NULL;
	if (dest == NULL) {
		r = store_lookup(s, src.name, &im, err);
		if (r == 0 && im.name == NULL)
			r = err_set(err, ERR_INVALID, "image '%s' has no name to push to", image);
		if (r == 0)
			target = xstrdup(im.name);
		store_image_release(&im);
	}
	if (r == 0)
		r = ep_registry(&dst, c, dest != NULL ? dest : target, true, err);
	struct regc_copy_opts o = { .all = true };
	if (z != NULL)
		o.compress = *z;
	if (r == 0)
		r = copy_eps(c, &src, &dst, &o, digest, err);
	if (r < 0)
		err_wrap(err, "cannot push '%s'", image);
	ep_release(&src);
	ep_release(&dst);
	return r;
}
