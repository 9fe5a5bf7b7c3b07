/* Compressing an image's uncompressed layers on its way out.
 *
 * Builds store their layers uncompressed (a plain tar, whose digest is its
 * diff_id), as docker's and buildah's local stores do: compressing is the
 * slow part of a commit, and a local image is only ever extracted again.
 * When an image leaves the machine (a push, a copy to an OCI layout or
 * archive, `bale build --output type=oci`), each uncompressed layer is
 * compressed and the manifest's layer descriptors are rewritten (media
 * type, digest, size); the config does not change, as its diff_ids are the
 * digests of the uncompressed tars.
 *
 * Layers compress in parallel (o->jobs at once, the CPUs shared among
 * them) through the same pipeline as the layer writer (layers/layer.h),
 * streaming with bounded memory. The output is deterministic: the same tar,
 * algorithm and level give the same bytes whatever the number of threads,
 * so a layer compressed on export is the very blob `bale build
 * --compression gzip` would have stored. With o->map the results are
 * remembered in the store (store_zmap_get): a second push compresses
 * nothing. */
#ifndef BALE_LAYERS_COMPRESS_H
#define BALE_LAYERS_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/progress.h"
#include "layers/cas.h"
#include "layers/image.h"
#include "layers/layer.h"
#include "layers/store.h"

/* Opens the uncompressed blob d for reading from the start (an fd the
 * caller closes). Return 0 or a negative err_code with *err set. */
typedef int (*layer_blob_open_fn)(void *ctx, const struct oci_descriptor *d, int *fd,
				  struct err **err);

struct layer_compress_opts {
	enum layer_compression algo; /* GZIP or ZSTD; NONE changes nothing */
	int level;                   /* 0: the default (gzip 6, zstd 3) */
	unsigned jobs;               /* layers compressed at once; 0: 4 */
	struct cas *src;             /* where the uncompressed blobs are */
	layer_blob_open_fn open;     /* instead of src when not NULL */
	void *open_ctx;
	struct cas *dst;             /* where the compressed blobs go */
	struct store *map;           /* NULL, or the store whose map is used
				      * and filled (dst is then its CAS) */
	struct progress *progress;   /* one item per layer compressed */
};

/* The effective level of algo for level 0 (the default) or as given. */
int layer_compress_level(enum layer_compression algo, int level);

/* Whether mt is the media type of an uncompressed layer (OCI's
 * ".layer.v1.tar" or Docker's ".rootfs.diff.tar"). */
bool layer_media_type_is_uncompressed(const char *mt);

/* Compress the uncompressed layers of the image manifest raw (len bytes,
 * OCI or Docker schema2) into o->dst, and write the manifest that names
 * them to *out (the caller frees; *out_len its length): the JSON is edited,
 * so every other field stays. *out is NULL when the manifest has no
 * uncompressed layer (or o->algo is NONE). A compressed blob already in
 * the map is reused, not made again. Errors: ERR_INVALID (the manifest),
 * ERR_UNSUPPORTED (zstd in a Docker manifest, which has no media type for
 * it), ERR_DIGEST (a layer does not hash to its digest), ERR_NOTFOUND (a
 * layer missing), ERR_IO. */
int layer_compress_manifest(const struct layer_compress_opts *o, const char *raw, size_t len,
			    char **out, size_t *out_len, struct err **err);

/* The index (or manifest list) raw with each entry of manifests whose
 * digest is from[i].digest pointing at to[i] instead (digest, size and,
 * when to[i] has one, media type), other fields kept. *out (the caller
 * frees) and *out_len. Errors: ERR_INVALID. */
int layer_compress_index_update(const char *raw, size_t len, const struct oci_descriptor *from,
				const struct oci_descriptor *to, size_t n, char **out,
				size_t *out_len, struct err **err);

#endif
