/* import, save and load (archive.h). */
#include "config.h"

#include "layers/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/path.h"
#include "common/util.h"
#include "layers/compress.h"

#define COPY_CHUNK (1u << 20)

int store_archive_format_parse(const char *s, enum archive_format *out, struct err **err)
{
	if (str_eq(s, "docker-archive") || str_eq(s, "docker"))
		*out = ARCHIVE_FORMAT_DOCKER;
	else if (str_eq(s, "oci-archive") || str_eq(s, "oci"))
		*out = ARCHIVE_FORMAT_OCI;
	else
		return err_set(err, ERR_INVALID,
			       "unknown archive format '%s': use docker-archive or oci-archive", s ? s : "");
	return 0;
}

/* ---- import ---- */

int store_import(struct store *s, int fd, const char *name, const struct layer_write_opts *o,
		 int64_t created, struct oci_descriptor *out, struct err **err)
{
	struct layer_result lr;
	int r = layer_import_tar(store_cas(s), fd, o, &lr, err);
	if (r < 0)
		return err_wrap(err, "cannot import rootfs");
	char ts[32];
	oci_time_format(created, ts, sizeof(ts));
	cleanup_config struct oci_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.created = xstrdup(ts);
	cfg.platform.architecture = xstrdup(store_goarch());
	cfg.platform.os = xstrdup("linux");
	oci_config_add_diff_id(&cfg, &lr.diff_id);
	oci_config_add_history(&cfg, ts, "bale import", "imported from a rootfs tarball", false);
	struct oci_descriptor layer;
	memset(&layer, 0, sizeof(layer));
	layer.media_type = (char *)lr.media_type;
	layer.digest = lr.blob;
	layer.size = (int64_t)lr.blob_size;
	struct oci_manifest m;
	memset(&m, 0, sizeof(m));
	m.media_type = (char *)OCI_MT_MANIFEST;
	m.layers = &layer;
	m.n_layers = 1;
	return store_commit_image(s, name, &m, &cfg, out, err);
}

/* ---- save ---- */

struct saver {
	struct store *s;
	const struct store_save_opts *o;
	struct archive *a;
	struct archive_entry *e;
	char **written; /* entry names already in the archive */
	char *buf;
};

static int sv_fail(struct saver *w, const char *name, struct err **err)
{
	return err_set(err, ERR_IO, "cannot write '%s' to the archive: %s", name,
		       archive_error_string(w->a));
}

static int sv_header(struct saver *w, const char *name, int64_t size, mode_t type,
		     struct err **err)
{
	archive_entry_clear(w->e);
	archive_entry_copy_pathname(w->e, name);
	archive_entry_set_filetype(w->e, type);
	archive_entry_set_perm(w->e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(w->e, type == AE_IFDIR ? 0 : size);
	if (archive_write_header(w->a, w->e) != ARCHIVE_OK)
		return sv_fail(w, name, err);
	return 0;
}

static bool sv_seen(struct saver *w, const char *name)
{
	for (size_t i = 0; w->written != NULL && w->written[i] != NULL; i++)
		if (str_eq(w->written[i], name))
			return true;
	strv_push(&w->written, name);
	return false;
}

static int sv_buffer(struct saver *w, const char *name, const void *data, size_t n,
		     struct err **err)
{
	if (sv_seen(w, name))
		return 0;
	int r = sv_header(w, name, (int64_t)n, AE_IFREG, err);
	if (r < 0)
		return r;
	if (n > 0 && archive_write_data(w->a, data, n) < 0)
		return sv_fail(w, name, err);
	return 0;
}

static int sv_dir(struct saver *w, const char *name, struct err **err)
{
	if (sv_seen(w, name))
		return 0;
	return sv_header(w, name, 0, AE_IFDIR, err);
}

static int sv_copy_fd(struct saver *w, const char *name, int fd, uint64_t size, struct err **err)
{
	int r = sv_header(w, name, (int64_t)size, AE_IFREG, err);
	if (r < 0)
		return r;
	uint64_t left = size;
	while (left > 0) {
		ssize_t n = read(fd, w->buf, left < COPY_CHUNK ? (size_t)left : COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(err, ERR_IO, n < 0 ? errno : EIO, "cannot read '%s'", name);
		if (archive_write_data(w->a, w->buf, (size_t)n) < 0)
			return sv_fail(w, name, err);
		left -= (uint64_t)n;
	}
	return 0;
}

static int sv_blob(struct saver *w, const char *name, const struct digest *d, struct err **err)
{
	if (sv_seen(w, name))
		return 0;
	cleanup_close int fd = -1;
	uint64_t size = 0;
	int r = cas_open(store_cas(w->s), d, &fd, &size, err);
	if (r < 0)
		return r;
	return sv_copy_fd(w, name, fd, size, err);
}

/* Decompress a layer blob into an unlinked temp file in the store (docker
 * load wants layer.tar uncompressed: it checks its sha256 against the
 * diff_id), then copy it in. */
static int sv_layer_tar(struct saver *w, const char *name, const struct digest *d,
			struct err **err)
{
	if (sv_seen(w, name))
		return 0;
	cleanup_close int in = -1;
	int r = cas_open(store_cas(w->s), d, &in, NULL, err);
	if (r < 0)
		return r;
	/* Unnamed, in the store's root: no directory the store may not have. */
	cleanup_close int tmp = openat(cas_root_fd(store_cas(w->s)), ".",
				       O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tmp < 0)
		return err_sys(err, ERR_IO, errno, "cannot create a temp file");
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	struct archive_entry *e;
	if (archive_read_open_fd(a, in, COPY_CHUNK) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		r = err_set(err, ERR_INVALID, "cannot read layer: %s", archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, w->buf, COPY_CHUNK);
		if (n < 0) {
			r = err_set(err, ERR_INVALID, "cannot decompress layer: %s", archive_error_string(a));
			break;
		}
		if (n == 0)
			break;
		if ((r = write_all(tmp, w->buf, (size_t)n)) < 0) {
			r = err_sys(err, ERR_IO, -r, "cannot write a temp file");
			break;
		}
	}
	archive_read_free(a);
	if (r < 0)
		return r;
	struct stat st;
	if (fstat(tmp, &st) < 0 || lseek(tmp, 0, SEEK_SET) < 0)
		return err_sys(err, ERR_IO, errno, "cannot read a temp file");
	return sv_copy_fd(w, name, tmp, (uint64_t)st.st_size, err);
}

static int save_docker_one(struct saver *w, const struct store_loaded *l, const char *name,
			   json_t *manifest, struct err **err)
{
	char hex[200], dhex[200];
	cleanup_free char *cfgname = xasprintf("%s.json", digest_hex(&l->manifest.config.digest, hex));
	json_t *layers = json_array();
	json_t *entry = json_object();
	json_object_set_new(entry, "Config", json_string(cfgname));
	json_t *tags = json_array();
	if (name != NULL)
		json_array_append_new(tags, json_string(name));
	json_object_set_new(entry, "RepoTags", tags);
	json_object_set_new(entry, "Layers", layers);
	json_array_append_new(manifest, entry);
	if (l->manifest.n_layers != l->config.n_diff_ids)
		return err_set(err, ERR_INVALID, "image has %zu layers but %zu diff_ids",
			       l->manifest.n_layers, l->config.n_diff_ids);
	for (size_t i = 0; i < l->manifest.n_layers; i++) {
		digest_hex(&l->config.diff_ids[i], dhex);
		cleanup_free char *ltar = xasprintf("%s/layer.tar", dhex);
		json_array_append_new(layers, json_string(ltar));
		int r = sv_dir(w, dhex, err);
		/* A layer stored uncompressed (as builds store them) is its own
		 * layer.tar. */
		if (r == 0 && digest_equal(&l->manifest.layers[i].digest, &l->config.diff_ids[i]))
			r = sv_blob(w, ltar, &l->manifest.layers[i].digest, err);
		else if (r == 0)
			r = sv_layer_tar(w, ltar, &l->manifest.layers[i].digest, err);
		if (r < 0)
			return r;
	}
	return sv_buffer(w, cfgname, l->config_raw, l->config_len, err);
}

/* The manifest raw with its uncompressed layers compressed as o asks
 * (layers/compress.h; the results are remembered in the store's map):
 * *zraw (the caller frees) stays NULL when nothing changes. */
static int sv_compress(struct saver *w, const char *raw, size_t len, char **zraw, size_t *zlen,
		       struct err **err)
{
	*zraw = NULL;
	if (w->o->compression == LAYER_COMPRESS_NONE)
		return 0;
	struct layer_compress_opts zo = {
		.algo = w->o->compression,
		.level = w->o->compression_level,
		.src = store_cas(w->s),
		.dst = store_cas(w->s),
		.map = w->s,
	};
	return layer_compress_manifest(&zo, raw, len, zraw, zlen, err);
}

static int save_oci_one(struct saver *w, const struct store_loaded *l, const char *name,
			json_t *manifests, struct err **err)
{
	cleanup_free char *zraw = NULL;
	size_t zlen = 0;
	cleanup_manifest struct oci_manifest zm = { 0 };
	int r = sv_compress(w, l->manifest_raw, l->manifest_len, &zraw, &zlen, err);
	if (r == 0 && zraw != NULL)
		r = oci_manifest_parse(&zm, zraw, zlen, err);
	const struct oci_manifest *m = zraw != NULL ? &zm : &l->manifest;
	const char *mraw = zraw != NULL ? zraw : l->manifest_raw;
	size_t mlen = zraw != NULL ? zlen : l->manifest_len;
	struct digest md = l->manifest_digest;
	if (zraw != NULL)
		digest_buffer(&md, DIGEST_SHA256, zraw, zlen);
	if (r == 0)
		r = sv_dir(w, "blobs", err);
	if (r == 0)
		r = sv_dir(w, "blobs/sha256", err);
	for (size_t i = 0; r == 0 && i < m->n_layers; i++) {
		cleanup_free char *p = cas_blob_relpath(&m->layers[i].digest);
		r = sv_blob(w, p, &m->layers[i].digest, err);
	}
	cleanup_free char *cp = cas_blob_relpath(&m->config.digest);
	cleanup_free char *mp = cas_blob_relpath(&md);
	if (r == 0)
		r = sv_buffer(w, cp, l->config_raw, l->config_len, err);
	if (r == 0)
		r = sv_buffer(w, mp, mraw, mlen, err);
	if (r < 0)
		return r;
	struct oci_descriptor d;
	memset(&d, 0, sizeof(d));
	d.media_type = (char *)(m->media_type ? m->media_type : OCI_MT_MANIFEST);
	d.digest = md;
	d.size = (int64_t)mlen;
	if (name != NULL)
		d.annotations = json_pack("{ss}", OCI_ANNOT_REF_NAME, name);
	json_array_append_new(manifests, oci_descriptor_to_json(&d, false));
	json_decref(d.annotations);
	return 0;
}

/* Nested indexes deeper than this are refused (a loop of indexes cannot
 * exist with content addressing, but a deep chain could still be huge). */
#define SAVE_MAX_INDEX_DEPTH 4

static int save_oci_tree(struct saver *w, const struct oci_descriptor *d, int depth,
			 struct digest *digest, int64_t *size, struct err **err);

static int save_oci_manifest_blobs(struct saver *w, const char *raw, size_t len,
				   struct err **err)
{
	cleanup_manifest struct oci_manifest m = { 0 };
	int r = oci_manifest_parse(&m, raw, len, err);
	if (r < 0)
		return r;
	cleanup_free char *cp = cas_blob_relpath(&m.config.digest);
	if ((r = sv_blob(w, cp, &m.config.digest, err)) < 0)
		return r;
	for (size_t i = 0; i < m.n_layers; i++) {
		cleanup_free char *p = cas_blob_relpath(&m.layers[i].digest);
		if ((r = sv_blob(w, p, &m.layers[i].digest, err)) < 0)
			return r;
	}
	return 0;
}

static int save_oci_index_children(struct saver *w, char **raw, size_t *len, int depth,
				   struct err **err)
{
	if (depth >= SAVE_MAX_INDEX_DEPTH)
		return err_set(err, ERR_INVALID, "indexes nested deeper than %d",
			       SAVE_MAX_INDEX_DEPTH);
	cleanup_index struct oci_index ix = { 0 };
	int r = oci_index_parse(&ix, *raw, *len, err);
	/* Children saved under another digest (their layers compressed). */
	struct oci_descriptor *to = xcalloc(ix.n_manifests + 1, sizeof(*to));
	size_t changed = 0;
	for (size_t i = 0; r == 0 && i < ix.n_manifests; i++) {
		const char *mt = ix.manifests[i].media_type;
		/* Anything else (artifacts) is not copied into the store either. */
		if (!oci_media_type_is_manifest(mt) && !oci_media_type_is_index(mt))
			continue;
		to[i].digest = ix.manifests[i].digest;
		to[i].size = ix.manifests[i].size;
		r = save_oci_tree(w, &ix.manifests[i], depth + 1, &to[i].digest, &to[i].size, err);
		changed += r == 0 && !digest_equal(&to[i].digest, &ix.manifests[i].digest);
	}
	if (r == 0 && changed > 0) {
		cleanup_free char *out = NULL;
		size_t n = 0;
		r = layer_compress_index_update(*raw, *len, ix.manifests, to, ix.n_manifests, &out, &n,
						err);
		if (r == 0) {
			free(*raw);
			*raw = steal_pointer(&out);
			*len = n;
		}
	}
	free(to);
	return r;
}

/* Write the manifest or index d and everything it reaches, as stored or,
 * with o->compression, with the uncompressed layers compressed (indexes
 * then point at the new manifests). *digest and *size get what was
 * written. */
static int save_oci_tree(struct saver *w, const struct oci_descriptor *d, int depth,
			 struct digest *digest, int64_t *size, struct err **err)
{
	cleanup_free char *raw = NULL;
	size_t len = 0;
	int r = cas_read_all(store_cas(w->s), &d->digest, BALE_MAX_MANIFEST, &raw, &len, err);
	if (r < 0)
		return r;
	const char *mt = d->media_type != NULL ? d->media_type : oci_detect_media_type(raw, len);
	if (oci_media_type_is_index(mt)) {
		r = save_oci_index_children(w, &raw, &len, depth, err);
	} else {
		cleanup_free char *zraw = NULL;
		size_t zlen = 0;
		r = sv_compress(w, raw, len, &zraw, &zlen, err);
		if (r == 0 && zraw != NULL) {
			free(raw);
			raw = steal_pointer(&zraw);
			len = zlen;
		}
		if (r == 0)
			r = save_oci_manifest_blobs(w, raw, len, err);
	}
	if (r < 0)
		return r;
	/* The bytes read were verified against d->digest: hashing them again
	 * gives it back unless they changed. */
	digest_buffer(digest, d->digest.algo, raw, len);
	*size = (int64_t)len;
	cleanup_free char *path = cas_blob_relpath(digest);
	return sv_buffer(w, path, raw, len, err);
}

/* An index saved whole: its descriptor in index.json names it. */
static int save_oci_index(struct saver *w, const struct oci_descriptor *top, const char *mt,
			  const char *name, json_t *manifests, struct err **err)
{
	struct oci_descriptor d;
	memset(&d, 0, sizeof(d));
	int r = sv_dir(w, "blobs", err);
	if (r == 0)
		r = sv_dir(w, "blobs/sha256", err);
	if (r == 0)
		r = save_oci_tree(w, top, 0, &d.digest, &d.size, err);
	if (r < 0)
		return r;
	d.media_type = (char *)mt;
	if (name != NULL)
		d.annotations = json_pack("{ss}", OCI_ANNOT_REF_NAME, name);
	json_array_append_new(manifests, oci_descriptor_to_json(&d, false));
	json_decref(d.annotations);
	return 0;
}

/* The media type of the stored image desc: its own, else its bytes'
 * (NULL when unreadable). */
static const char *desc_media_type(struct store *s, const struct oci_descriptor *desc)
{
	if (desc->media_type != NULL)
		return desc->media_type;
	cleanup_free char *raw = NULL;
	size_t len = 0;
	if (cas_read_all(store_cas(s), &desc->digest, BALE_MAX_MANIFEST, &raw, &len, NULL) < 0)
		return NULL;
	return oci_detect_media_type(raw, len);
}

static int save_one(struct saver *w, const char *ref, json_t *list, struct err **err)
{
	struct store_image im;
	struct store_loaded l;
	enum archive_format fmt = w->o->format;
	int r = store_lookup(w->s, ref, &im, err);
	if (r < 0)
		return r;
	/* A name given by id saves without a name, as docker does. */
	cleanup_free char *norm = NULL;
	const char *name = NULL;
	if (store_name_normalize(&norm, ref, NULL) == 0 && str_eq(norm, im.name))
		name = im.name;
	if (w->o->ref_name != NULL && fmt == ARCHIVE_FORMAT_OCI)
		name = w->o->ref_name;
	const char *mt = w->o->all ? desc_media_type(w->s, &im.desc) : NULL;
	bool whole = oci_media_type_is_index(mt);
	if (whole && fmt == ARCHIVE_FORMAT_DOCKER)
		r = err_set(err, ERR_UNSUPPORTED,
			    "a docker-archive holds one platform per image: use oci-archive to "
			    "keep every platform of the index, or choose one platform");
	else if (whole)
		r = save_oci_index(w, &im.desc, mt, name, list, err);
	else if ((r = store_load(w->s, &im.desc, &l, err)) == 0) {
		r = fmt == ARCHIVE_FORMAT_DOCKER ? save_docker_one(w, &l, name, list, err)
						 : save_oci_one(w, &l, name, list, err);
		store_loaded_release(&l);
	}
	store_image_release(&im);
	return r;
}

static int save_all(struct saver *w, char *const *refs, size_t n, struct err **err)
{
	enum archive_format fmt = w->o->format;
	cleanup_json json_t *list = json_array();
	int r = 0;
	if (fmt == ARCHIVE_FORMAT_OCI)
		r = sv_buffer(w, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		if ((r = save_one(w, refs[i], list, err)) < 0)
			err_wrap(err, "cannot save '%s'", refs[i]);
	if (r < 0)
		return r;
	cleanup_free char *js = NULL;
	size_t len = 0;
	if (fmt == ARCHIVE_FORMAT_DOCKER) {
		if ((r = jx_dump(&js, &len, list, 0, err)) < 0)
			return r;
		return sv_buffer(w, "manifest.json", js, len, err);
	}
	cleanup_json json_t *ix = json_object();
	json_object_set_new(ix, "schemaVersion", json_integer(2));
	json_object_set_new(ix, "mediaType", json_string(OCI_MT_INDEX));
	json_object_set(ix, "manifests", list);
	if ((r = jx_dump(&js, &len, ix, 0, err)) < 0)
		return r;
	return sv_buffer(w, "index.json", js, len, err);
}

int store_save(struct store *s, char *const *refs, size_t n, enum archive_format fmt, int fd,
	       struct err **err)
{
	struct store_save_opts o = { .format = fmt };
	return store_save_with(s, refs, n, &o, fd, err);
}

int store_save_with(struct store *s, char *const *refs, size_t n, const struct store_save_opts *o,
		    int fd, struct err **err)
{
	if (o->ref_name != NULL && n != 1)
		return err_set(err, ERR_INVALID, "one name ('%s') for %zu images", o->ref_name, n);
	struct saver w = { .s = s, .o = o };
	w.a = archive_write_new();
	w.e = archive_entry_new();
	w.buf = xmalloc(COPY_CHUNK);
	archive_write_set_format_pax_restricted(w.a);
	int r;
	if (archive_write_open_fd(w.a, fd) != ARCHIVE_OK)
		r = err_set(err, ERR_IO, "cannot write archive: %s", archive_error_string(w.a));
	else
		r = save_all(&w, refs, n, err);
	if (r == 0 && archive_write_close(w.a) != ARCHIVE_OK)
		r = err_set(err, ERR_IO, "cannot write archive: %s", archive_error_string(w.a));
	archive_write_free(w.a);
	archive_entry_free(w.e);
	strv_free(w.written);
	free(w.buf);
	return r;
}

/* ---- load ---- */

struct lfile {
	char *name;    /* clean path in the archive */
	char *data;    /* small metadata kept in memory, or NULL */
	size_t len;
	struct digest digest; /* ingested into the CAS when data is NULL */
	uint64_t size;
};

struct loader {
	struct store *s;
	struct lfile *files;
	size_t n, cap;
	char **names;
};

static bool keep_in_memory(const char *name, int64_t size)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (size > (int64_t)BALE_MAX_CONFIG)
		return false;
	if (str_has_prefix(name, "blobs/"))
		return false;
	return str_has_suffix(base, ".json") || str_eq(base, "oci-layout") || str_eq(base, "VERSION") ||
	       str_eq(base, "repositories") || str_eq(base, "json");
}

/* A blobs/<algo>/<hex> path names its digest: verify against it. */
static bool blob_path_digest(const char *name, struct digest *d)
{
	if (!str_has_prefix(name, "blobs/"))
		return false;
	const char *p = name + 6;
	const char *slash = strchr(p, '/');
	if (slash == NULL || strchr(slash + 1, '/') != NULL)
		return false;
	cleanup_free char *s = xasprintf("%.*s:%s", (int)(slash - p), p, slash + 1);
	return digest_parse(d, s, NULL) == 0;
}

static int ld_entry(struct loader *l, struct archive *a, struct archive_entry *e, struct err **err)
{
	if (archive_entry_filetype(e) != AE_IFREG)
		return 0;
	cleanup_free char *name = NULL;
	if (path_rel_safe(archive_entry_pathname(e), &name, err) < 0)
		return err_wrap(err, "archive entry");
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->files = xreallocarray(l->files, l->cap, sizeof(*l->files));
	}
	struct lfile *f = &l->files[l->n];
	memset(f, 0, sizeof(*f));
	int64_t size = archive_entry_size(e);
	if (keep_in_memory(name, size)) {
		f->data = xmalloc((size_t)size + 1);
		la_ssize_t got = archive_read_data(a, f->data, (size_t)size);
		if (got != size) {
			free(f->data);
			return err_set(err, ERR_IO, "cannot read '%s' from the archive", name);
		}
		f->data[size] = '\0';
		f->len = (size_t)size;
	} else {
		struct cas_writer *w = NULL;
		struct digest want;
		bool named = blob_path_digest(name, &want);
		int r = cas_writer_new(&w, store_cas(l->s), named ? want.algo : DIGEST_SHA256, NULL, err);
		if (r < 0)
			return r;
		char *buf = xmalloc(COPY_CHUNK);
		for (;;) {
			la_ssize_t n = archive_read_data(a, buf, COPY_CHUNK);
			if (n < 0) {
				r = err_set(err, ERR_IO, "cannot read '%s' from the archive: %s", name,
					    archive_error_string(a));
				break;
			}
			if (n == 0)
				break;
			if ((r = cas_writer_write(w, buf, (size_t)n, err)) < 0)
				break;
		}
		free(buf);
		if (r < 0) {
			cas_writer_abort(w);
			return r;
		}
		if ((r = cas_writer_commit(w, named ? &want : NULL, size, &f->digest, &f->size, err)) < 0)
			return err_wrap(err, "archive entry '%s'", name);
	}
	f->name = steal_pointer(&name);
	l->n++;
	return 0;
}

static struct lfile *ld_find(struct loader *l, const char *name)
{
	cleanup_free char *clean = NULL;
	if (path_rel_safe(name, &clean, NULL) < 0)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (str_eq(l->files[i].name, clean))
			return &l->files[i];
	return NULL;
}

static void ld_loaded(struct loader *l, const char *name, const struct digest *d)
{
	char s[DIGEST_MAX_STRING];
	strv_push(&l->names, name != NULL ? name : digest_format(d, s));
}

/* A file of the archive as a CAS blob (ingesting it if it was kept in
 * memory). */
static int ld_blob(struct loader *l, const char *path, struct digest *d, uint64_t *size,
		   struct err **err)
{
	struct lfile *f = ld_find(l, path);
	if (f == NULL)
		return err_set(err, ERR_INVALID, "'%s' is missing from the archive", path);
	if (f->data != NULL) {
		int r = cas_ingest_buffer(store_cas(l->s), f->data, f->len, DIGEST_SHA256, d, err);
		*size = f->len;
		return r;
	}
	*d = f->digest;
	*size = f->size;
	return 0;
}

static const char *layer_type_of(struct store *s, const struct digest *d)
{
	unsigned char m[4] = { 0 };
	cleanup_close int fd = -1;
	if (cas_open(store_cas(s), d, &fd, NULL, NULL) == 0)
		(void)!read(fd, m, sizeof(m));
	return layer_media_type(layer_detect(m, sizeof(m)));
}

static int ld_docker_image(struct loader *l, json_t *ent, size_t idx, struct err **err)
{
	cleanup_free char *path = jx_path_index("manifest.json", idx);
	const char *cfg = NULL;
	json_t *layers = NULL, *tags = NULL;
	int r;
	if ((r = jx_get_string(&cfg, ent, "Config", true, path, err)) < 0 ||
	    (r = jx_get_array(&layers, ent, "Layers", true, path, err)) < 0 ||
	    (r = jx_get_array(&tags, ent, "RepoTags", false, path, err)) < 0)
		return r;
	struct oci_manifest m;
	memset(&m, 0, sizeof(m));
	uint64_t sz = 0;
	if ((r = ld_blob(l, cfg, &m.config.digest, &sz, err)) < 0)
		return r;
	m.media_type = (char *)OCI_MT_MANIFEST;
	m.config.media_type = (char *)OCI_MT_CONFIG;
	m.config.size = (int64_t)sz;
	m.n_layers = json_array_size(layers);
	m.layers = xcalloc(m.n_layers + 1, sizeof(*m.layers));
	for (size_t i = 0; r == 0 && i < m.n_layers; i++) {
		const char *lp = json_string_value(json_array_get(layers, i));
		if (lp == NULL) {
			r = err_set(err, ERR_INVALID, "%s.Layers[%zu] must be a string", path, i);
			break;
		}
		if ((r = ld_blob(l, lp, &m.layers[i].digest, &sz, err)) < 0)
			break;
		m.layers[i].size = (int64_t)sz;
		m.layers[i].media_type = (char *)layer_type_of(l->s, &m.layers[i].digest);
	}
	cleanup_free char *mj = NULL;
	size_t mlen = 0;
	if (r == 0)
		r = oci_manifest_dump(&mj, &mlen, &m, err);
	free(m.layers);
	if (r < 0)
		return r;
	struct oci_descriptor d;
	memset(&d, 0, sizeof(d));
	d.media_type = (char *)OCI_MT_MANIFEST;
	d.size = (int64_t)mlen;
	if ((r = cas_ingest_buffer(store_cas(l->s), mj, mlen, DIGEST_SHA256, &d.digest, err)) < 0)
		return r;
	size_t nt = json_array_size(tags);
	for (size_t i = 0; r == 0 && i < nt; i++) {
		const char *t = json_string_value(json_array_get(tags, i));
		if (t == NULL)
			continue;
		if ((r = store_tag(l->s, t, &d, err)) == 0) {
			cleanup_free char *norm = NULL;
			store_name_normalize(&norm, t, NULL);
			ld_loaded(l, norm, &d.digest);
		}
	}
	if (r == 0 && nt == 0 && (r = store_add(l->s, &d, err)) == 0)
		ld_loaded(l, NULL, &d.digest);
	return r;
}

static int ld_docker(struct loader *l, struct lfile *mf, struct err **err)
{
	cleanup_json json_t *j = NULL;
	int r = jx_load_buffer(&j, mf->data, mf->len, "manifest.json", 0, err);
	if (r < 0)
		return r;
	if ((r = jx_expect(j, JSON_ARRAY, "", err)) < 0)
		return err_wrap(err, "manifest.json");
	for (size_t i = 0; r == 0 && i < json_array_size(j); i++) {
		json_t *ent = json_array_get(j, i);
		if ((r = jx_expect(ent, JSON_OBJECT, "manifest.json[i]", err)) == 0)
			r = ld_docker_image(l, ent, i, err);
	}
	return r;
}

static int ld_missing(const struct digest *d, struct err **err)
{
	char s[DIGEST_MAX_STRING];
	return err_set(err, ERR_INVALID, "blob '%s' is missing from the archive",
		       digest_format(d, s));
}

/* Every blob the manifest or index d reaches is in the store now, so no
 * image is tagged that cannot be read back (skopeo writes an index's
 * children; an archive cut short would not have them). */
static int ld_check_tree(struct loader *l, const struct oci_descriptor *d, int depth,
			 struct err **err)
{
	struct cas *cas = store_cas(l->s);
	cleanup_free char *raw = NULL;
	size_t len = 0;
	if (!cas_has(cas, &d->digest))
		return ld_missing(&d->digest, err);
	int r = cas_read_all(cas, &d->digest, BALE_MAX_MANIFEST, &raw, &len, err);
	if (r < 0)
		return r;
	const char *mt = d->media_type != NULL ? d->media_type : oci_detect_media_type(raw, len);
	if (oci_media_type_is_index(mt)) {
		if (depth >= SAVE_MAX_INDEX_DEPTH)
			return err_set(err, ERR_INVALID, "indexes nested deeper than %d",
				       SAVE_MAX_INDEX_DEPTH);
		cleanup_index struct oci_index ix = { 0 };
		r = oci_index_parse(&ix, raw, len, err);
		for (size_t i = 0; r == 0 && i < ix.n_manifests; i++) {
			const char *cmt = ix.manifests[i].media_type;
			if (oci_media_type_is_manifest(cmt) || oci_media_type_is_index(cmt))
				r = ld_check_tree(l, &ix.manifests[i], depth + 1, err);
		}
		return r;
	}
	cleanup_manifest struct oci_manifest m = { 0 };
	if ((r = oci_manifest_parse(&m, raw, len, err)) < 0)
		return r;
	if (!cas_has(cas, &m.config.digest))
		return ld_missing(&m.config.digest, err);
	for (size_t i = 0; i < m.n_layers; i++)
		if (!cas_has(cas, &m.layers[i].digest))
			return ld_missing(&m.layers[i].digest, err);
	return 0;
}

static int ld_oci(struct loader *l, struct lfile *ixf, struct err **err)
{
	cleanup_index struct oci_index ix;
	int r = oci_index_parse(&ix, ixf->data, ixf->len, err);
	if (r < 0)
		return err_wrap(err, "index.json");
	for (size_t i = 0; r == 0 && i < ix.n_manifests; i++) {
		struct oci_descriptor *d = &ix.manifests[i];
		if ((r = ld_check_tree(l, d, 0, err)) < 0)
			return err_wrap(err, "index.json[%zu]", i);
		const char *name = oci_descriptor_annotation(d, "io.containerd.image.name");
		if (name == NULL)
			name = oci_descriptor_annotation(d, OCI_ANNOT_REF_NAME);
		struct oci_descriptor plain;
		oci_descriptor_copy(&plain, d);
		json_decref(plain.annotations);
		plain.annotations = NULL;
		cleanup_free char *norm = NULL;
		if (name != NULL && store_name_normalize(&norm, name, NULL) == 0) {
			if ((r = store_tag(l->s, norm, &plain, err)) == 0)
				ld_loaded(l, norm, &d->digest);
		} else if ((r = store_add(l->s, &plain, err)) == 0) {
			ld_loaded(l, NULL, &d->digest);
		}
		oci_descriptor_release(&plain);
	}
	return r;
}

static int ld_read_all(struct loader *l, int fd, struct err **err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int r = 0;
	if (archive_read_open_fd(a, fd, COPY_CHUNK) != ARCHIVE_OK) {
		r = err_set(err, ERR_INVALID, "not an image archive: %s", archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	struct archive_entry *e;
	for (;;) {
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = err_set(err, ERR_INVALID, "not an image archive: %s", archive_error_string(a));
			break;
		}
		if ((r = ld_entry(l, a, e, err)) < 0)
			break;
	}
	archive_read_free(a);
	return r;
}

int store_load_archive(struct store *s, int fd, char ***names, struct err **err)
{
	struct loader l = { .s = s };
	int r = ld_read_all(&l, fd, err);
	if (r == 0) {
		struct lfile *mf = ld_find(&l, "manifest.json");
		struct lfile *ixf = ld_find(&l, "index.json");
		if (mf != NULL && mf->data != NULL)
			r = ld_docker(&l, mf, err);
		else if (ixf != NULL && ixf->data != NULL)
			r = ld_oci(&l, ixf, err);
		else
			r = err_set(err, ERR_INVALID,
				    "not an image archive: neither manifest.json nor index.json found");
	}
	for (size_t i = 0; i < l.n; i++) {
		free(l.files[i].name);
		free(l.files[i].data);
	}
	free(l.files);
	if (r == 0 && names != NULL)
		*names = steal_pointer(&l.names);
	strv_free(l.names);
	return r;
}
