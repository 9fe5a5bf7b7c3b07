/* --output: an OCI image layout directory, an oci-archive or
 * docker-archive (through layers/archive.h), the final rootfs into a
 * directory, or a push. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "common/json.h"
#include "common/util.h"
#include "layers/archive.h"
#include "layers/compress.h"
#include "layers/layer.h"

int build_output_parse(struct build_output *out, const char *spec, struct err **err)
{
	memset(out, 0, sizeof *out);
	out->type = BUILD_OUTPUT_LOCAL;
	if (strchr(spec, '=') == NULL) {
		out->dest = xstrdup(spec);
		return 0;
	}
	cleanup_strv char **parts = str_split(spec, ',');
	for (char **p = parts; *p != NULL; p++) {
		if (str_has_prefix(*p, "type=")) {
			const char *t = *p + 5;
			if (strcmp(t, "oci") == 0)
				out->type = BUILD_OUTPUT_OCI;
			else if (strcmp(t, "oci-archive") == 0)
				out->type = BUILD_OUTPUT_OCI_ARCHIVE;
			else if (strcmp(t, "docker-archive") == 0 || strcmp(t, "docker") == 0)
				out->type = BUILD_OUTPUT_DOCKER_ARCHIVE;
			else if (strcmp(t, "local") == 0)
				out->type = BUILD_OUTPUT_LOCAL;
			else if (strcmp(t, "registry") == 0 || strcmp(t, "image") == 0)
				out->type = BUILD_OUTPUT_REGISTRY;
			else {
				build_output_release(out);
				return err_set(err, ERR_INVALID, "--output: unknown type '%s'", t);
			}
		} else if (str_has_prefix(*p, "dest=")) {
			free(out->dest);
			out->dest = xstrdup(*p + 5);
		} else {
			build_output_release(out);
			return err_set(err, ERR_INVALID, "--output: unknown key in '%s'", *p);
		}
	}
	if (out->dest == NULL && out->type != BUILD_OUTPUT_REGISTRY) {
		build_output_release(out);
		return err_set(err, ERR_INVALID, "--output '%s': dest= is required", spec);
	}
	return 0;
}

void build_output_release(struct build_output *out)
{
	free(out->dest);
	out->dest = NULL;
}

static int copy_blob(struct build_ctx *b, const struct digest *d, const char *dir,
		     struct err **err)
{
	char hex[DIGEST_MAX_STRING];
	digest_hex(d, hex);
	cleanup_free char *path = xasprintf("%s/blobs/%s/%s", dir, digest_algo_name(d->algo), hex);
	if (access(path, F_OK) == 0)
		return 0;
	cleanup_close int in = -1;
	if (cas_open(b->cas, d, &in, NULL, err) < 0)
		return ERR_NOTFOUND;
	cleanup_free char *tmp = xasprintf("%s.tmp", path);
	cleanup_close int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", tmp);
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, ERR_IO, errno, "cannot read blob");
		if (n == 0)
			break;
		if (write_all(out, buf, (size_t)n) < 0)
			return err_sys(err, ERR_IO, errno, "cannot write '%s'", tmp);
	}
	if (rename(tmp, path) < 0)
		return err_sys(err, ERR_IO, errno, "cannot rename '%s'", tmp);
	return 0;
}

static int write_text(const char *path, const char *text, size_t n, struct err **err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", path);
	int r = write_all(fd, text, n);
	close(fd);
	return r < 0 ? err_sys(err, ERR_IO, -r, "cannot write '%s'", path) : 0;
}

/* How layers leave the machine: --compression when given (none keeps
 * them as stored), else gzip, as a push does. */
static enum layer_compression export_compression(const struct build_ctx *b)
{
	return b->o->compression_set ? b->o->compression : LAYER_COMPRESS_GZIP;
}

static int output_oci_dir(struct build_ctx *b, const char *dir, const struct oci_descriptor *desc,
			  struct err **err)
{
	cleanup_free char *blobs = xasprintf("%s/blobs", dir);
	cleanup_free char *sha = xasprintf("%s/blobs/sha256", dir);
	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) || (mkdir(blobs, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(sha, 0755) < 0 && errno != EEXIST))
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", dir);
	struct store_loaded ld;
	if (store_load(b->store, desc, &ld, err) < 0)
		return ERR_IO;
	/* The manifest written: the stored one, or one naming compressed
	 * layers (kept in the store, remembered for the next export). */
	struct layer_compress_opts zo = {
		.algo = export_compression(b),
		.src = b->cas,
		.dst = b->cas,
		.map = b->store,
		.progress = b->o->progress,
	};
	cleanup_free char *zraw = NULL;
	size_t zlen = 0;
	cleanup_manifest struct oci_manifest zm = { 0 };
	int r = layer_compress_manifest(&zo, ld.manifest_raw, ld.manifest_len, &zraw, &zlen, err);
	if (r == 0 && zraw != NULL)
		r = oci_manifest_parse(&zm, zraw, zlen, err);
	const struct oci_manifest *m = zraw != NULL ? &zm : &ld.manifest;
	struct oci_descriptor d;
	oci_descriptor_copy(&d, desc);
	if (r == 0 && zraw != NULL) {
		digest_buffer(&d.digest, DIGEST_SHA256, zraw, zlen);
		d.size = (int64_t)zlen;
		char hex[DIGEST_MAX_STRING];
		cleanup_free char *mp = xasprintf("%s/%s", sha, digest_hex(&d.digest, hex));
		r = write_text(mp, zraw, zlen, err);
	} else if (r == 0) {
		r = copy_blob(b, &desc->digest, dir, err);
	}
	if (r == 0)
		r = copy_blob(b, &m->config.digest, dir, err);
	for (size_t i = 0; r == 0 && i < m->n_layers; i++)
		r = copy_blob(b, &m->layers[i].digest, dir, err);
	store_loaded_release(&ld);
	cleanup_free char *layout = xasprintf("%s/oci-layout", dir);
	const char *lt = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (r == 0)
		r = write_text(layout, lt, strlen(lt), err);
	struct oci_index ix;
	memset(&ix, 0, sizeof ix);
	ix.media_type = (char *)OCI_MT_INDEX;
	if (b->o->tags != NULL && b->o->tags[0] != NULL)
		oci_descriptor_annotate(&d, OCI_ANNOT_REF_NAME, b->o->tags[0]);
	ix.manifests = &d;
	ix.n_manifests = 1;
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (r == 0)
		r = oci_index_dump(&text, &len, &ix, err);
	oci_descriptor_release(&d);
	if (r < 0)
		return r;
	cleanup_free char *index = xasprintf("%s/index.json", dir);
	return write_text(index, text, len, err);
}

static int output_archive(struct build_ctx *b, const char *dest, enum archive_format fmt,
			  const struct oci_descriptor *desc, struct err **err)
{
	char ds[DIGEST_MAX_STRING];
	digest_format(&desc->digest, ds);
	char *refs[] = { ds, NULL };
	if (b->o->tags != NULL && b->o->tags[0] != NULL)
		refs[0] = b->o->tags[0];
	int fd = strcmp(dest, "-") == 0 ? STDOUT_FILENO
					 : open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", dest);
	/* docker-archive layers are plain tars whatever --compression says. */
	struct store_save_opts so = {
		.format = fmt,
		.compression = fmt == ARCHIVE_FORMAT_OCI ? export_compression(b) : LAYER_COMPRESS_NONE,
	};
	int r = store_save_with(b->store, refs, 1, &so, fd, err);
	if (fd != STDOUT_FILENO)
		close(fd);
	return r < 0 ? err_wrap(err, "--output '%s'", dest) : 0;
}

static int output_local(struct build_ctx *b, const char *dest, const struct bstage *st,
			struct err **err)
{
	if (mkdir(dest, 0755) < 0 && errno != EEXIST)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", dest);
	for (size_t i = 0; i < st->n_layers; i++) {
		cleanup_close int fd = -1;
		if (cas_open(b->cas, &st->layers[i].desc.digest, &fd, NULL, err) < 0)
			return ERR_NOTFOUND;
		struct layer_apply_opts ao;
		layer_apply_opts_init(&ao);
		ao.mode = LAYER_APPLY_DIR;
		if (layer_apply_fd(fd, dest, &ao, NULL, err) < 0)
			return err_wrap(err, "--output '%s'", dest);
	}
	return 0;
}

int output_write(struct build_ctx *b, const struct build_output *out,
		 const struct oci_descriptor *desc, const struct bstage *st, struct err **err)
{
	switch (out->type) {
	case BUILD_OUTPUT_STORE:
		return 0;
	case BUILD_OUTPUT_OCI:
		return output_oci_dir(b, out->dest, desc, err);
	case BUILD_OUTPUT_OCI_ARCHIVE:
		return output_archive(b, out->dest, ARCHIVE_FORMAT_OCI, desc, err);
	case BUILD_OUTPUT_DOCKER_ARCHIVE:
		return output_archive(b, out->dest, ARCHIVE_FORMAT_DOCKER, desc, err);
	case BUILD_OUTPUT_LOCAL:
		return output_local(b, out->dest, st, err);
	case BUILD_OUTPUT_REGISTRY:
		return 0; /* pushed with --push (build_run) */
	}
	return 0;
}
