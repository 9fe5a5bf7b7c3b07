/* Image archives in and out of the local store: `bale import` (a rootfs
 * tarball as a one-layer image), `bale save` (docker-archive as `docker
 * load` reads it, or oci-archive: a tar of an OCI layout as skopeo writes
 * it) and `bale load` (what `docker save` and `skopeo copy ...
 * oci-archive:` write). */
#ifndef BALE_LAYERS_ARCHIVE_H
#define BALE_LAYERS_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "layers/layer.h"
#include "layers/store.h"

enum archive_format {
	ARCHIVE_FORMAT_DOCKER = 0, /* docker save / docker load */
	ARCHIVE_FORMAT_OCI = 1,    /* oci-archive */
};

/* "docker-archive"/"docker" or "oci-archive"/"oci". ERR_INVALID otherwise. */
int store_archive_format_parse(const char *s, enum archive_format *out, struct err **err);

/* Make a one-layer image from the rootfs tar read from fd (none, gzip or
 * zstd), compressed with o->compression, tagged name (NULL: dangling).
 * created is the image's creation time (seconds; use SOURCE_DATE_EPOCH or
 * now). *out (if not NULL) gets the manifest descriptor (release it).
 * Errors: as layer_import_tar() and store_commit_image(). */
int store_import(struct store *s, int fd, const char *name, const struct layer_write_opts *o,
		 int64_t created, struct oci_descriptor *out, struct err **err);

/* Write the images refs[0..n-1] (names or ids, as store_lookup()) as one
 * archive to fd, a stream (a pipe is fine). docker-archive layers are
 * written uncompressed (layer.tar hashes to the diff_id, as docker load
 * checks; a layer stored uncompressed is copied as it is); oci-archive
 * blobs are written as stored. Errors: ERR_NOTFOUND
 * (an image or blob), ERR_IO. */
int store_save(struct store *s, char *const *refs, size_t n, enum archive_format fmt, int fd,
	       struct err **err);

/* What store_save_with() writes. */
struct store_save_opts {
	enum archive_format format;
	/* Keep an image that is an index whole: the index, every manifest it
	 * lists and their blobs (oci-archive only: index.json names the index,
	 * as `skopeo copy --all ... oci-archive:` writes it). false: an index
	 * is resolved to this machine's platform, as store_load() does. */
	bool all;
	/* oci-archive: the org.opencontainers.image.ref.name of the one image
	 * saved, written as given (skopeo's oci-archive:FILE:NAME looks the
	 * name up verbatim, e.g. "v1"). NULL: the image's store name. Only
	 * with n == 1. */
	const char *ref_name;
	/* oci-archive: compress the uncompressed layers of every image saved
	 * (layers/compress.h, remembered in the store's map) with this, at
	 * compression_level (0: the default), rewriting their manifests (and
	 * an index kept whole, to name them); LAYER_COMPRESS_NONE writes the
	 * blobs as stored. docker-archive layers are uncompressed anyway. */
	enum layer_compression compression;
	int compression_level;
};

/* store_save() with options. Errors: as store_save(), plus ERR_UNSUPPORTED
 * for all with a docker-archive and an image that is an index (the format
 * holds one platform per image), ERR_INVALID for ref_name with n != 1. */
int store_save_with(struct store *s, char *const *refs, size_t n, const struct store_save_opts *o,
		    int fd, struct err **err);

/* Read a docker-archive or oci-archive from fd (a stream), storing its
 * blobs (verified against their names where the archive names them by
 * digest) and tagging its images. *names (if not NULL) gets a
 * NULL-terminated list of what was loaded: the names, or "sha256:..."
 * digests of unnamed images (caller frees with strv_free). An oci-archive
 * entry is named by its io.containerd.image.name annotation, else its
 * org.opencontainers.image.ref.name normalized as store_name_normalize()
 * does (skopeo's "v1" is stored as "v1:latest"); an entry that is an image
 * index is stored whole (all platforms). Errors:
 * ERR_INVALID (not an archive we know, bad manifest), ERR_DIGEST, ERR_IO. */
int store_load_archive(struct store *s, int fd, char ***names, struct err **err);

#endif
