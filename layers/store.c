/* The local image store: an OCI image layout with file locks (store.h). */
#include "config.h"

#include "layers/store.h"
#include "layers/store-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/reference.h"
#include "common/util.h"

#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
/* The compressed-variant map (store_zmap_get) and the cap of one entry. */
#define ZMAP_DIR "compressed"
#define ZMAP_MAX_ENTRY 1024

struct store {
	char *root;
	struct cas *cas;
	int gclock; /* held LOCK_SH while open */
};

int store_root_resolve(char **out, const char *root, struct err **err)
{
	if (root != NULL && root[0] != '\0') {
		*out = xstrdup(root);
		return 0;
	}
	const char *env = getenv("BALE_ROOT");
	if (env != NULL && env[0] != '\0') {
		*out = xstrdup(env);
		return 0;
	}
	if (geteuid() == 0) {
		*out = xstrdup("/var/lib/bale");
		return 0;
	}
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg != NULL && xdg[0] == '/') {
		*out = xasprintf("%s/bale", xdg);
		return 0;
	}
	const char *home = getenv("HOME");
	if (home == NULL || home[0] != '/') {
		struct passwd *pw = getpwuid(geteuid());
		home = pw != NULL ? pw->pw_dir : NULL;
	}
	if (home == NULL || home[0] != '/')
		return err_set(err, ERR_INVALID,
			       "cannot find a store directory: set --root, $BALE_ROOT or $HOME");
	*out = xasprintf("%s/.local/share/bale", home);
	return 0;
}

static int lock_file(int dirfd, const char *name, int op, struct err **err)
{
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return err_sys(err, errno == EACCES || errno == EROFS ? ERR_DENIED : ERR_IO, errno,
			       "cannot open lock file '%s'", name);
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return err_sys(err, e == EWOULDBLOCK ? ERR_BUSY : ERR_IO, e, "cannot lock '%s'", name);
	}
	return fd;
}

static int ensure_layout(struct store *s, struct err **err)
{
	int dfd = cas_root_fd(s->cas);
	cleanup_close int lk = lock_file(dfd, "index.lock", LOCK_EX, err);
	if (lk < 0)
		return lk;
	if (faccessat(dfd, "oci-layout", F_OK, 0) < 0) {
		int r = file_write_atomic(dfd, "oci-layout", OCI_LAYOUT_JSON, strlen(OCI_LAYOUT_JSON), 0644, err);
		if (r < 0)
			return r;
	}
	if (faccessat(dfd, "index.json", F_OK, 0) < 0) {
		static const char empty[] =
			"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":[]}";
		return file_write_atomic(dfd, "index.json", empty, strlen(empty), 0644, err);
	}
	return 0;
}

int store_open(struct store **out, const char *root, struct err **err)
{
	struct store *s = xcalloc(1, sizeof(*s));
	s->gclock = -1;
	s->root = xstrdup(root);
	int r = cas_new(&s->cas, root, err);
	if (r < 0)
		goto fail;
	if ((r = ensure_layout(s, err)) < 0)
		goto fail;
	if ((r = s->gclock = lock_file(cas_root_fd(s->cas), "gc.lock", LOCK_SH, err)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	err_wrap(err, "cannot open image store '%s'", root);
	store_free(s);
	return r;
}

int store_open_root(struct store **out, const char *root, struct err **err)
{
	cleanup_free char *dir = NULL;
	int r = store_root_resolve(&dir, root, err);
	if (r < 0)
		return r;
	return store_open(out, dir, err);
}

void store_free(struct store *s)
{
	if (s == NULL)
		return;
	closep(&s->gclock);
	cas_free(s->cas);
	free(s->root);
	free(s);
}

struct cas *store_cas(struct store *s)
{
	return s->cas;
}

const char *store_root(const struct store *s)
{
	return s->root;
}

void store_image_release(struct store_image *im)
{
	if (im == NULL)
		return;
	free(im->name);
	oci_descriptor_release(&im->desc);
	memset(im, 0, sizeof(*im));
}

void store_images_free(struct store_image *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_image_release(&v[i]);
	free(v);
}

/* ---- index.json ---- */

static int index_read(struct store *s, struct oci_index *ix, struct err **err)
{
	cleanup_buf struct buf b;
	buf_init(&b, BALE_MAX_JSON);
	int r = buf_read_file(&b, cas_root_fd(s->cas), "index.json", err);
	if (r < 0)
		return err_wrap(err, "cannot read '%s/index.json'", s->root);
	if ((r = oci_index_parse(ix, b.data, b.len, err)) < 0)
		return err_wrap(err, "'%s/index.json'", s->root);
	return 0;
}

static int index_write(struct store *s, struct oci_index *ix, struct err **err)
{
	if (ix->media_type == NULL)
		ix->media_type = xstrdup(OCI_MT_INDEX);
	cleanup_free char *data = NULL;
	size_t len = 0;
	int r = oci_index_dump(&data, &len, ix, err);
	if (r < 0)
		return r;
	return file_write_atomic(cas_root_fd(s->cas), "index.json", data, len, 0644, err);
}

int store_list(struct store *s, struct store_image **out, size_t *n, struct err **err)
{
	cleanup_index struct oci_index ix;
	int r = index_read(s, &ix, err);
	if (r < 0)
		return r;
	struct store_image *v = xcalloc(ix.n_manifests + 1, sizeof(*v));
	for (size_t i = 0; i < ix.n_manifests; i++) {
		const char *name = oci_descriptor_annotation(&ix.manifests[i], OCI_ANNOT_REF_NAME);
		v[i].name = name != NULL ? xstrdup(name) : NULL;
		oci_descriptor_copy(&v[i].desc, &ix.manifests[i]);
	}
	*out = v;
	*n = ix.n_manifests;
	return 0;
}

int store_name_normalize(char **out, const char *ref, struct err **err)
{
	cleanup_ref struct ref r;
	if (ref_parse_normalized(&r, ref, err) < 0)
		return ERR_INVALID;
	*out = ref_familiar(&r);
	return 0;
}

static void index_remove_at(struct oci_index *ix, size_t i)
{
	oci_descriptor_release(&ix->manifests[i]);
	memmove(&ix->manifests[i], &ix->manifests[i + 1],
		(ix->n_manifests - i - 1) * sizeof(*ix->manifests));
	ix->n_manifests--;
}

static ssize_t index_find_name(const struct oci_index *ix, const char *name)
{
	for (size_t i = 0; i < ix->n_manifests; i++)
		if (str_eq(oci_descriptor_annotation(&ix->manifests[i], OCI_ANNOT_REF_NAME), name))
			return (ssize_t)i;
	return -1;
}

static bool index_has_digest(const struct oci_index *ix, const struct digest *d)
{
	for (size_t i = 0; i < ix->n_manifests; i++)
		if (digest_equal(&ix->manifests[i].digest, d))
			return true;
	return false;
}

static void index_append(struct oci_index *ix, const struct oci_descriptor *desc, const char *name)
{
	ix->manifests = xreallocarray(ix->manifests, ix->n_manifests + 1, sizeof(*ix->manifests));
	struct oci_descriptor *d = &ix->manifests[ix->n_manifests++];
	oci_descriptor_copy(d, desc);
	oci_descriptor_annotate(d, OCI_ANNOT_REF_NAME, name);
}

/* Remove unnamed entries for d (once it gets a name, the dangling entry is
 * redundant). */
static void index_drop_dangling_of(struct oci_index *ix, const struct digest *d)
{
	for (size_t i = ix->n_manifests; i-- > 0;)
		if (digest_equal(&ix->manifests[i].digest, d) &&
		    oci_descriptor_annotation(&ix->manifests[i], OCI_ANNOT_REF_NAME) == NULL)
			index_remove_at(ix, i);
}

/* Read-modify-write of index.json under the index lock. */
typedef int (*index_edit_fn)(struct oci_index *ix, void *ctx, struct err **err);

static int index_edit(struct store *s, index_edit_fn fn, void *ctx, struct err **err)
{
	cleanup_close int lk = lock_file(cas_root_fd(s->cas), "index.lock", LOCK_EX, err);
	if (lk < 0)
		return lk;
	cleanup_index struct oci_index ix;
	int r = index_read(s, &ix, err);
	if (r < 0)
		return r;
	if ((r = fn(&ix, ctx, err)) < 0)
		return r;
	return index_write(s, &ix, err);
}

struct tag_ctx {
	const char *name;
	const struct oci_descriptor *desc;
	bool removed_last;
	const struct digest *digest;
	size_t count;
};

static int edit_tag(struct oci_index *ix, void *p, struct err **err)
{
	struct tag_ctx *c = p;
	ssize_t at = index_find_name(ix, c->name);
	if (at >= 0) {
		struct oci_descriptor old;
		oci_descriptor_copy(&old, &ix->manifests[at]);
		index_remove_at(ix, (size_t)at);
		/* The image the name moved away from stays, as docker keeps
		 * it, as a dangling entry (bale prune removes it). */
		if (!digest_equal(&old.digest, &c->desc->digest) && !index_has_digest(ix, &old.digest))
			index_append(ix, &old, NULL);
		oci_descriptor_release(&old);
	}
	index_drop_dangling_of(ix, &c->desc->digest);
	index_append(ix, c->desc, c->name);
	return 0;
}

int store_tag(struct store *s, const char *name, const struct oci_descriptor *desc,
	      struct err **err)
{
	cleanup_free char *norm = NULL;
	int r = store_name_normalize(&norm, name, err);
	if (r < 0)
		return r;
	if (!cas_has(s->cas, &desc->digest)) {
		char d[DIGEST_MAX_STRING];
		return err_set(err, ERR_NOTFOUND, "manifest '%s' is not in the store",
			       digest_format(&desc->digest, d));
	}
	struct tag_ctx c = { .name = norm, .desc = desc };
	return index_edit(s, edit_tag, &c, err);
}

static int edit_add(struct oci_index *ix, void *p, struct err **err)
{
	struct tag_ctx *c = p;
	if (!index_has_digest(ix, &c->desc->digest))
		index_append(ix, c->desc, NULL);
	return 0;
}

int store_add(struct store *s, const struct oci_descriptor *desc, struct err **err)
{
	struct tag_ctx c = { .desc = desc };
	return index_edit(s, edit_add, &c, err);
}

static int edit_untag(struct oci_index *ix, void *p, struct err **err)
{
	struct tag_ctx *c = p;
	ssize_t at = index_find_name(ix, c->name);
	if (at < 0)
		return err_set(err, ERR_NOTFOUND, "no image named '%s'", c->name);
	struct digest d = ix->manifests[at].digest;
	index_remove_at(ix, (size_t)at);
	c->removed_last = !index_has_digest(ix, &d);
	return 0;
}

int store_untag(struct store *s, const char *name, bool *removed_last, struct err **err)
{
	cleanup_free char *norm = NULL;
	int r = store_name_normalize(&norm, name, err);
	if (r < 0)
		return r;
	struct tag_ctx c = { .name = norm };
	if ((r = index_edit(s, edit_untag, &c, err)) < 0)
		return r;
	if (removed_last != NULL)
		*removed_last = c.removed_last;
	return 0;
}

static int edit_remove(struct oci_index *ix, void *p, struct err **err)
{
	struct tag_ctx *c = p;
	for (size_t i = ix->n_manifests; i-- > 0;)
		if (c->digest == NULL ? oci_descriptor_annotation(&ix->manifests[i], OCI_ANNOT_REF_NAME) == NULL
				      : digest_equal(&ix->manifests[i].digest, c->digest)) {
			index_remove_at(ix, i);
			c->count++;
		}
	if (c->digest != NULL && c->count == 0) {
		char d[DIGEST_MAX_STRING];
		return err_set(err, ERR_NOTFOUND, "no image '%s'", digest_format(c->digest, d));
	}
	return 0;
}

int store_remove(struct store *s, const struct digest *d, struct err **err)
{
	struct tag_ctx c = { .digest = d };
	return index_edit(s, edit_remove, &c, err);
}

int store_remove_dangling(struct store *s, size_t *n, struct err **err)
{
	struct tag_ctx c = { 0 };
	int r = index_edit(s, edit_remove, &c, err);
	if (r == 0 && n != NULL)
		*n = c.count;
	return r;
}

/* ---- loading ---- */

const char *store_goarch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__i386__)
	return "386";
#elif defined(__arm__)
	return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "unknown";
#endif
}

void store_loaded_release(struct store_loaded *l)
{
	if (l == NULL)
		return;
	free(l->manifest_raw);
	oci_manifest_release(&l->manifest);
	free(l->config_raw);
	oci_config_release(&l->config);
	memset(l, 0, sizeof(*l));
}

static int pick_platform(const struct oci_index *ix, const struct oci_descriptor **out,
			 struct err **err)
{
	const struct oci_descriptor *only = NULL;
	size_t nman = 0;
	for (size_t i = 0; i < ix->n_manifests; i++) {
		const struct oci_descriptor *d = &ix->manifests[i];
		if (!oci_media_type_is_manifest(d->media_type))
			continue;
		nman++;
		only = d;
		if (d->platform != NULL && str_eq(d->platform->os, "linux") &&
		    str_eq(d->platform->architecture, store_goarch())) {
			*out = d;
			return 0;
		}
	}
	if (nman == 1) {
		*out = only;
		return 0;
	}
	return err_set(err, ERR_UNSUPPORTED, "no image for platform linux/%s in the index",
		       store_goarch());
}

int store_load(struct store *s, const struct oci_descriptor *desc, struct store_loaded *out,
	       struct err **err)
{
	memset(out, 0, sizeof(*out));
	struct oci_descriptor cur;
	oci_descriptor_copy(&cur, desc);
	int r = 0;
	for (int depth = 0; r == 0; depth++) {
		char *raw = NULL;
		size_t len = 0;
		if (depth > 4) {
			r = err_set(err, ERR_INVALID, "indexes nested too deeply");
			break;
		}
		if ((r = cas_read_all(s->cas, &cur.digest, BALE_MAX_MANIFEST, &raw, &len, err)) < 0)
			break;
		const char *mt = cur.media_type;
		if (!oci_media_type_is_index(mt) && !oci_media_type_is_manifest(mt))
			mt = oci_detect_media_type(raw, len);
		if (oci_media_type_is_index(mt)) {
			cleanup_index struct oci_index ix;
			const struct oci_descriptor *pick = NULL;
			r = oci_index_parse(&ix, raw, len, err);
			free(raw);
			if (r == 0 && (r = pick_platform(&ix, &pick, err)) == 0) {
				oci_descriptor_release(&cur);
				oci_descriptor_copy(&cur, pick);
			}
			continue;
		}
		out->manifest_raw = raw;
		out->manifest_len = len;
		out->manifest_digest = cur.digest;
		if ((r = oci_manifest_parse(&out->manifest, raw, len, err)) < 0)
			break;
		if ((r = cas_read_all(s->cas, &out->manifest.config.digest, BALE_MAX_CONFIG,
				      &out->config_raw, &out->config_len, err)) < 0)
			break;
		r = oci_config_parse(&out->config, out->config_raw, out->config_len, err);
		break;
	}
	oci_descriptor_release(&cur);
	if (r < 0)
		store_loaded_release(out);
	return r;
}

int store_commit_image(struct store *s, const char *name, const struct oci_manifest *m,
		       const struct oci_config *cfg, struct oci_descriptor *out, struct err **err)
{
	cleanup_free char *cj = NULL, *mj = NULL;
	size_t clen = 0, mlen = 0;
	int r = oci_config_dump(&cj, &clen, cfg, err);
	if (r < 0)
		return r;
	struct oci_manifest copy = *m;
	struct oci_descriptor cd = m->config;
	bool docker = str_eq(m->media_type, DOCKER_MT_MANIFEST);
	cd.media_type = (char *)(docker ? DOCKER_MT_CONFIG : OCI_MT_CONFIG);
	cd.size = (int64_t)clen;
	if ((r = cas_ingest_buffer(s->cas, cj, clen, DIGEST_SHA256, &cd.digest, err)) < 0)
		return r;
	copy.config = cd;
	if ((r = oci_manifest_dump(&mj, &mlen, &copy, err)) < 0)
		return r;
	struct oci_descriptor md;
	memset(&md, 0, sizeof(md));
	md.media_type = xstrdup(m->media_type != NULL ? m->media_type : OCI_MT_MANIFEST);
	md.size = (int64_t)mlen;
	if ((r = cas_ingest_buffer(s->cas, mj, mlen, DIGEST_SHA256, &md.digest, err)) == 0)
		r = name != NULL ? store_tag(s, name, &md, err) : store_add(s, &md, err);
	if (r == 0 && out != NULL)
		*out = md;
	else
		oci_descriptor_release(&md);
	return r;
}

/* ---- lookup ---- */

static bool is_hex(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* The config digest (docker's image id) of an index entry. */
static int image_id(struct store *s, const struct oci_descriptor *d, struct digest *out)
{
	struct store_loaded l;
	if (store_load(s, d, &l, NULL) < 0)
		return -1;
	*out = l.manifest.config.digest;
	store_loaded_release(&l);
	return 0;
}

static int lookup_id(struct store *s, const char *ref, struct store_image *v, size_t n,
		     struct store_image *out, struct err **err)
{
	const char *hex = str_has_prefix(ref, "sha256:") ? ref + 7 : ref;
	ssize_t found = -1;
	struct digest fd;
	for (size_t i = 0; i < n; i++) {
		char a[DIGEST_MAX_STRING], b[DIGEST_MAX_STRING];
		struct digest id;
		bool hit = str_has_prefix(digest_hex(&v[i].desc.digest, a), hex);
		if (!hit && image_id(s, &v[i].desc, &id) == 0)
			hit = str_has_prefix(digest_hex(&id, b), hex);
		if (!hit)
			continue;
		if (found >= 0 && !digest_equal(&fd, &v[i].desc.digest))
			return err_set(err, ERR_INVALID, "image id prefix '%s' is ambiguous", ref);
		if (found < 0) {
			found = (ssize_t)i;
			fd = v[i].desc.digest;
		}
	}
	if (found < 0)
		return err_set(err, ERR_NOTFOUND, "no such image: '%s'", ref);
	out->name = v[found].name != NULL ? xstrdup(v[found].name) : NULL;
	oci_descriptor_copy(&out->desc, &v[found].desc);
	return 0;
}

int store_lookup(struct store *s, const char *ref, struct store_image *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	struct store_image *v = NULL;
	size_t n = 0;
	int r = store_list(s, &v, &n, err);
	if (r < 0)
		return r;
	cleanup_free char *norm = NULL;
	struct err *nerr = NULL;
	if (store_name_normalize(&norm, ref, &nerr) == 0) {
		for (size_t i = 0; i < n; i++)
			if (str_eq(v[i].name, norm)) {
				out->name = xstrdup(norm);
				oci_descriptor_copy(&out->desc, &v[i].desc);
				store_images_free(v, n);
				return 0;
			}
	}
	const char *hex = str_has_prefix(ref, "sha256:") ? ref + 7 : ref;
	if (is_hex(hex) && strlen(hex) >= 4 && strlen(hex) <= 64)
		r = lookup_id(s, ref, v, n, out, err);
	else if (nerr != NULL)
		r = err_set(err, ERR_INVALID, "invalid image name '%s': %s", ref, err_msg(nerr));
	else
		r = err_set(err, ERR_NOTFOUND, "no such image: '%s'", norm);
	err_free(nerr);
	store_images_free(v, n);
	return r;
}

/* ---- compressed variants of layers ---- */

static char *zmap_subdir(enum layer_compression algo, int level)
{
	return xasprintf(ZMAP_DIR "/%s-%d", layer_compression_name(algo), level);
}

/* "sha256-<hex>": the entry file name of a source digest. */
static char *zmap_name(const struct digest *src)
{
	char hex[DIGEST_MAX_STRING];
	return xasprintf("%s-%s", digest_algo_name(src->algo), digest_hex(src, hex));
}

/* The source digest an entry file name stands for. */
static int zmap_name_parse(const char *name, struct digest *src)
{
	const char *dash = strchr(name, '-');
	if (dash == NULL || name[0] == '.')
		return ERR_INVALID;
	cleanup_free char *ds = xasprintf("%.*s:%s", (int)(dash - name), name, dash + 1);
	return digest_parse(src, ds, NULL);
}

static int zmap_read(int dirfd, const char *path, struct digest *blob, uint64_t *size)
{
	cleanup_json json_t *j = NULL;
	const char *ds = NULL;
	if (jx_load_file(&j, dirfd, path, ZMAP_MAX_ENTRY, 0, NULL) < 0 ||
	    jx_get_string(&ds, j, "digest", true, "", NULL) < 0 ||
	    jx_get_size(size, j, "size", true, "", NULL) < 0 || digest_parse(blob, ds, NULL) < 0)
		return ERR_NOTFOUND;
	return 0;
}

int store_zmap_get(struct store *s, const struct digest *src, enum layer_compression algo,
		   int level, struct digest *blob, uint64_t *size)
{
	cleanup_free char *dir = zmap_subdir(algo, level);
	cleanup_free char *name = zmap_name(src);
	cleanup_free char *path = xasprintf("%s/%s", dir, name);
	uint64_t want = 0, got = 0;
	if (zmap_read(cas_root_fd(s->cas), path, blob, &want) < 0 ||
	    cas_stat(s->cas, blob, &got, NULL) < 0 || got != want)
		return ERR_NOTFOUND;
	*size = got;
	return 0;
}

int store_zmap_put(struct store *s, const struct digest *src, enum layer_compression algo,
		   int level, const struct digest *blob, uint64_t size, struct err **err)
{
	int root = cas_root_fd(s->cas);
	cleanup_free char *dir = zmap_subdir(algo, level);
	if ((mkdirat(root, ZMAP_DIR, 0755) < 0 && errno != EEXIST) ||
	    (mkdirat(root, dir, 0755) < 0 && errno != EEXIST))
		return err_sys(err, err_code_from_errno(errno), errno, "cannot create '%s/%s'",
			       s->root, dir);
	cleanup_free char *name = zmap_name(src);
	cleanup_free char *path = xasprintf("%s/%s", dir, name);
	char ds[DIGEST_MAX_STRING];
	cleanup_free char *text = xasprintf("{\"digest\":\"%s\",\"size\":%llu}\n",
					    digest_format(blob, ds), (unsigned long long)size);
	return file_write_atomic(root, path, text, strlen(text), 0644, err);
}

/* Called for every file under compressed/<variant>/: its directory and
 * name, and the source and blob it records (ok false when the file is not
 * a readable entry: a crash's temp file, junk). */
typedef void (*zmap_walk_fn)(void *ctx, int dirfd, const char *name, bool ok,
			     const struct digest *src, const struct digest *blob);

static void zmap_walk(struct store *s, zmap_walk_fn fn, void *ctx)
{
	int top = openat(cas_root_fd(s->cas), ZMAP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return;
	cleanup_dir DIR *d = fdopendir(top);
	if (d == NULL) {
		close(top);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		int sub = openat(top, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub < 0)
			continue;
		cleanup_dir DIR *sd = fdopendir(sub);
		if (sd == NULL) {
			close(sub);
			continue;
		}
		struct dirent *e;
		while ((e = readdir(sd)) != NULL) {
			if (str_eq(e->d_name, ".") || str_eq(e->d_name, ".."))
				continue;
			struct digest src, blob;
			uint64_t size;
			bool ok = zmap_name_parse(e->d_name, &src) == 0 &&
				  zmap_read(sub, e->d_name, &blob, &size) == 0;
			fn(ctx, sub, e->d_name, ok, &src, &blob);
		}
	}
}

/* ---- garbage collection ---- */

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct mark {
	char **v;
	size_t n, cap;
};

static void mark_add(struct mark *m, const struct digest *d)
{
	char s[DIGEST_MAX_STRING];
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->v = xreallocarray(m->v, m->cap, sizeof(*m->v));
	}
	m->v[m->n++] = xstrdup(digest_format(d, s));
}

static bool mark_has(const struct mark *m, const struct digest *d)
{
	char s[DIGEST_MAX_STRING];
	digest_format(d, s);
	const char *key = s;
	return m->n > 0 && bsearch(&key, m->v, m->n, sizeof(*m->v), cmp_strp) != NULL;
}

/* The diff_ids a config lists: their extracted dirs stay. */
static void mark_diff_ids(struct store *s, struct mark *ids, const struct digest *config)
{
	cleanup_free char *raw = NULL;
	size_t len = 0;
	if (cas_read_all(s->cas, config, BALE_MAX_CONFIG, &raw, &len, NULL) < 0)
		return;
	cleanup_config struct oci_config c;
	if (oci_config_parse(&c, raw, len, NULL) < 0)
		return;
	for (size_t i = 0; i < c.n_diff_ids; i++)
		mark_add(ids, &c.diff_ids[i]);
}

static void mark_desc(struct store *s, struct mark *m, struct mark *ids,
		      const struct oci_descriptor *d, int depth)
{
	mark_add(m, &d->digest);
	if (depth > 4 || (!oci_media_type_is_manifest(d->media_type) &&
			  !oci_media_type_is_index(d->media_type)))
		return;
	cleanup_free char *raw = NULL;
	size_t len = 0;
	if (cas_read_all(s->cas, &d->digest, BALE_MAX_MANIFEST, &raw, &len, NULL) < 0)
		return;
	if (oci_media_type_is_index(d->media_type)) {
		cleanup_index struct oci_index ix;
		if (oci_index_parse(&ix, raw, len, NULL) < 0)
			return;
		for (size_t i = 0; i < ix.n_manifests; i++)
			mark_desc(s, m, ids, &ix.manifests[i], depth + 1);
		return;
	}
	cleanup_manifest struct oci_manifest man;
	if (oci_manifest_parse(&man, raw, len, NULL) < 0)
		return;
	mark_add(m, &man.config.digest);
	mark_diff_ids(s, ids, &man.config.digest);
	for (size_t i = 0; i < man.n_layers; i++)
		mark_add(m, &man.layers[i].digest);
}

static void mark_sort(struct mark *m)
{
	if (m->n > 0)
		qsort(m->v, m->n, sizeof(*m->v), cmp_strp);
}

static bool mark_live(const struct digest *d, void *ctx)
{
	return mark_has(ctx, d);
}

static void mark_release(struct mark *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
}

struct zmark {
	struct mark *m;
	struct digest *keep;
	size_t n;
};

/* An entry whose source is kept keeps its blob (marked after the scan, as
 * the marks are searched sorted). */
static void zmap_mark_one(void *ctx, int dirfd, const char *name, bool ok,
			  const struct digest *src, const struct digest *blob)
{
	struct zmark *z = ctx;
	(void)dirfd;
	(void)name;
	if (!ok || !mark_has(z->m, src))
		return;
	z->keep = xreallocarray(z->keep, z->n + 1, sizeof(*z->keep));
	z->keep[z->n++] = *blob;
}

/* After the sweep: an entry whose source or blob is gone, or that is no
 * entry at all, goes (no other process has the store open). */
static void zmap_drop_one(void *ctx, int dirfd, const char *name, bool ok,
			  const struct digest *src, const struct digest *blob)
{
	struct store *s = ctx;
	if (!ok || !cas_has(s->cas, src) || !cas_has(s->cas, blob))
		unlinkat(dirfd, name, 0);
}

struct sweep {
	struct cas *cas;
	struct mark *m;
	int64_t cutoff;
	size_t removed;
	uint64_t bytes;
};

static int sweep_one(const struct digest *d, uint64_t size, int64_t mtime, void *ctx,
		     struct err **err)
{
	struct sweep *sw = ctx;
	if (mark_has(sw->m, d) || mtime > sw->cutoff)
		return 0;
	if (cas_delete(sw->cas, d, NULL) == 0) {
		sw->removed++;
		sw->bytes += size;
	}
	return 0;
}

/* Take the gc lock exclusively (converting our shared hold), polling for up
 * to 30 s when wait is set. */
static int gc_lock(struct store *s, bool wait, struct err **err)
{
	for (int i = 0; i < (wait ? 600 : 1); i++) {
		if (flock(s->gclock, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return err_sys(err, ERR_IO, errno, "cannot lock '%s/gc.lock'", s->root);
		if (wait)
			usleep(50000);
	}
	flock(s->gclock, LOCK_SH);
	return err_set(err, ERR_BUSY, "the store is in use by another bale process");
}

int store_gc(struct store *s, int64_t grace_seconds, bool wait, const struct store_gc_keep *keep,
	     size_t *removed, uint64_t *bytes, struct err **err)
{
	int r = gc_lock(s, wait, err);
	if (r < 0)
		return r;
	struct mark m = { 0 }, ids = { 0 };
	struct store_image *v = NULL;
	size_t n = 0;
	if ((r = store_list(s, &v, &n, err)) == 0) {
		for (size_t i = 0; i < n; i++)
			mark_desc(s, &m, &ids, &v[i].desc, 0);
		store_images_free(v, n);
		for (size_t i = 0; keep != NULL && i < keep->n_blobs; i++)
			mark_add(&m, &keep->blobs[i]);
		for (size_t i = 0; keep != NULL && i < keep->n_diff_ids; i++)
			mark_add(&ids, &keep->diff_ids[i]);
		mark_sort(&m);
		mark_sort(&ids);
		struct zmark z = { .m = &m };
		zmap_walk(s, zmap_mark_one, &z);
		for (size_t i = 0; i < z.n; i++)
			mark_add(&m, &z.keep[i]);
		free(z.keep);
		if (z.n > 0)
			mark_sort(&m);
		struct sweep sw = { .cas = s->cas, .m = &m, .cutoff = (int64_t)time(NULL) - grace_seconds };
		r = cas_walk(s->cas, sweep_one, &sw, err);
		if (r == 0)
			zmap_walk(s, zmap_drop_one, s);
		store_extracted_sweep(s, mark_live, &ids, sw.cutoff);
		if (removed != NULL)
			*removed = sw.removed;
		if (bytes != NULL)
			*bytes = sw.bytes;
	}
	mark_release(&m);
	mark_release(&ids);
	flock(s->gclock, LOCK_SH);
	return r;
}
