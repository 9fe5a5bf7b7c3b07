/* The build cache: a step's key (its parent filesystem's key, the
 * instruction after expansion, the build args and environment it sees, the
 * content of what it copies or mounts) maps to the layer it produced. The
 * index is one small JSON file per key under <root>/build/cache/, written
 * atomically; the layers themselves are blobs of the store. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/util.h"

void cache_key_init(struct cache_key *k, const struct digest *parent, const char *kind)
{
	sha256_init(&k->sha);
	/* A version, so a change of what keys cover invalidates old entries. */
	cache_key_add(k, "bale-build-cache-v1");
	if (parent != NULL)
		cache_key_add_n(k, parent->bytes, digest_algo_size(DIGEST_SHA256));
	cache_key_add(k, kind);
}

void cache_key_add_n(struct cache_key *k, const void *p, size_t n)
{
	uint64_t len = n;
	sha256_update(&k->sha, &len, sizeof len);
	sha256_update(&k->sha, p, n);
}

void cache_key_add(struct cache_key *k, const char *s)
{
	cache_key_add_n(k, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
	/* NULL and "" differ. */
	sha256_update(&k->sha, s != NULL ? "s" : "n", 1);
}

void cache_key_final(struct cache_key *k, struct digest *out)
{
	memset(out, 0, sizeof(*out));
	out->algo = DIGEST_SHA256;
	sha256_final(&k->sha, out->bytes);
}

static char *entry_path(const struct build_ctx *b, const struct digest *key)
{
	char hex[DIGEST_MAX_STRING];
	digest_hex(key, hex);
	return xasprintf("%s/cache/%.2s/%s", b->work, hex, hex + 2);
}

/* The layer an entry names: 0 with *desc (the caller releases it) and
 * *diff_id, or -1 for a malformed entry. */
static int entry_layer(json_t *j, struct oci_descriptor *desc, struct digest *diff_id)
{
	json_t *dj = json_object_get(j, "layer");
	const char *ds = json_string_value(json_object_get(j, "diff_id"));
	if (dj == NULL || ds == NULL || oci_descriptor_parse(desc, dj, "layer", NULL) < 0)
		return -1;
	if (digest_parse(diff_id, ds, NULL) < 0) {
		oci_descriptor_release(desc);
		return -1;
	}
	return 0;
}

int cache_lookup(struct build_ctx *b, const struct digest *key, struct blayer *l,
		 struct err **err)
{
	cleanup_free char *path = entry_path(b, key);
	json_t *j = NULL;
	struct err *e = NULL;
	if (jx_load_file(&j, AT_FDCWD, path, BUILD_MAX_CACHE_ENTRY, 0, &e) < 0) {
		int code = err_code(e);
		err_free(e);
		return code == ERR_NOTFOUND ? ERR_NOTFOUND
					    : err_set(err, ERR_NOTFOUND, "cache entry unreadable");
	}
	memset(l, 0, sizeof *l);
	int r = ERR_NOTFOUND;
	if (entry_layer(j, &l->desc, &l->diff_id) == 0) {
		if (cas_has(b->cas, &l->desc.digest))
			r = 0;
		else
			oci_descriptor_release(&l->desc);
	}
	json_decref(j);
	return r;
}

int cache_store(struct build_ctx *b, const struct digest *key, const struct blayer *l,
		struct err **err)
{
	cleanup_free char *path = entry_path(b, key);
	cleanup_free char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", dir);
	char ds[DIGEST_MAX_STRING];
	json_t *j = json_object();
	json_object_set_new(j, "layer", oci_descriptor_to_json(&l->desc, false));
	json_object_set_new(j, "diff_id", json_string(digest_format(&l->diff_id, ds)));
	cleanup_free char *text = NULL;
	size_t len = 0;
	int r = jx_dump(&text, &len, j, 0, err);
	json_decref(j);
	if (r < 0)
		return r;
	return file_write_atomic(AT_FDCWD, path, text, len, 0644, err);
}

/* ---------------------------------------------------------------- gc */

/* Call fn for every entry file <root>/build/cache/XX/NAME; stops at the
 * first negative return. */
static int cache_walk(const char *root, int (*fn)(int dirfd, const char *name, void *ctx), void *ctx)
{
	cleanup_free char *top = xasprintf("%s/build/cache", root);
	DIR *d = opendir(top);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	int r = 0;
	struct dirent *de;
	while (r >= 0 && (de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 2 || de->d_name[0] == '.')
			continue;
		int sfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		DIR *sd = sfd < 0 ? NULL : fdopendir(sfd);
		if (sd == NULL) {
			if (sfd >= 0)
				close(sfd);
			continue;
		}
		struct dirent *e;
		while (r >= 0 && (e = readdir(sd)) != NULL)
			if (e->d_name[0] != '.')
				r = fn(dirfd(sd), e->d_name, ctx);
		closedir(sd);
	}
	closedir(d);
	return r;
}

struct cache_layers {
	struct digest *blobs, *diff_ids;
	size_t n, cap;
};

static int add_entry_layer(int dirfd, const char *name, void *ctx)
{
	struct cache_layers *cl = ctx;
	json_t *j = NULL;
	struct err *e = NULL;
	if (jx_load_file(&j, dirfd, name, BUILD_MAX_CACHE_ENTRY, 0, &e) < 0) {
		err_free(e);
		return 0;
	}
	struct oci_descriptor desc;
	struct digest diff;
	if (entry_layer(j, &desc, &diff) == 0) {
		if (cl->n == cl->cap) {
			cl->cap = cl->cap > 0 ? 2 * cl->cap : 64;
			cl->blobs = xreallocarray(cl->blobs, cl->cap, sizeof(*cl->blobs));
			cl->diff_ids = xreallocarray(cl->diff_ids, cl->cap, sizeof(*cl->diff_ids));
		}
		cl->blobs[cl->n] = desc.digest;
		cl->diff_ids[cl->n++] = diff;
		oci_descriptor_release(&desc);
	}
	json_decref(j);
	return 0;
}

void build_cache_layers(const char *root, struct digest **blobs, struct digest **diff_ids,
			size_t *n)
{
	struct cache_layers cl = { 0 };
	(void)cache_walk(root, add_entry_layer, &cl);
	*blobs = cl.blobs;
	*diff_ids = cl.diff_ids;
	*n = cl.n;
}

static int remove_entry(int dirfd, const char *name, void *ctx)
{
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	(*(size_t *)ctx)++;
	return 0;
}

int build_cache_clear(const char *root, size_t *n, struct err **err)
{
	size_t count = 0;
	int r = cache_walk(root, remove_entry, &count);
	if (n != NULL)
		*n = count;
	if (r < 0)
		return err_sys(err, ERR_IO, -r, "cannot clear the build cache of '%s'", root);
	return 0;
}
