/* The local image store: $BALE_ROOT is itself an OCI image layout
 *
 *   oci-layout            {"imageLayoutVersion":"1.0.0"}
 *   index.json            one manifest descriptor per image, named by the
 *                         org.opencontainers.image.ref.name annotation in
 *                         docker's short form ("app:1", "busybox:latest",
 *                         "reg.local:5000/team/app:1"), so
 *                         `skopeo copy oci:$BALE_ROOT:app:1 ...` and umoci
 *                         find images by the names users type;
 *                         an entry without a name is a dangling image
 *   blobs/<algo>/<hex>    the content store (layers/cas.h)
 *   ingest/               the store's temp files
 *   index.lock, gc.lock   flock(2) files (see below)
 *   compressed/           what uncompressed layers were compressed into for
 *                         a push or an export (store_zmap_get below)
 *
 * Concurrency: index.json is replaced atomically (temp file, fsync, rename)
 * under an exclusive flock of index.lock, so concurrent tags never lose each
 * other's updates. Every open store holds a shared flock of gc.lock for its
 * lifetime; garbage collection (removing unreferenced blobs) needs it
 * exclusive, so it never deletes the blobs of an image another process is
 * still writing and has not tagged yet.
 */
#ifndef BALE_LAYERS_STORE_H
#define BALE_LAYERS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "layers/cas.h"
#include "layers/image.h"
#include "layers/layer.h"

struct store;

/* The root a command uses: `root` (--root) when not NULL, else $BALE_ROOT
 * when set and not empty, else /var/lib/bale for euid 0, else
 * $XDG_DATA_HOME/bale, else $HOME/.local/share/bale. The caller frees the
 * string. ERR_INVALID only when none of these can be determined (no HOME). */
int store_root_resolve(char **out, const char *root, struct err **err);

/* Open (creating when missing) the store at root. *out is freed with
 * store_free(). Errors: ERR_IO, ERR_DENIED, ERR_INVALID (a corrupt
 * index.json or oci-layout). */
int store_open(struct store **out, const char *root, struct err **err);
void store_free(struct store *s);
/* store_root_resolve(root) then store_open(): what every command does with
 * its --root. */
int store_open_root(struct store **out, const char *root, struct err **err);
/* The content store inside (owned by the store). */
struct cas *store_cas(struct store *s);
const char *store_root(const struct store *s);

/* One image in index.json. */
struct store_image {
	char *name; /* ref.name annotation ("app:1"), NULL for a dangling image */
	struct oci_descriptor desc;
};
void store_image_release(struct store_image *im);
void store_images_free(struct store_image *v, size_t n);

/* Every entry of index.json, in file order. *out (freed with
 * store_images_free) and *n. Errors: ERR_INVALID (corrupt index.json), ERR_IO. */
int store_list(struct store *s, struct store_image **out, size_t *n, struct err **err);

/* The name under which `ref` is stored: docker's short form of the
 * normalized reference ("busybox" -> "busybox:latest",
 * "docker.io/library/x:1" -> "x:1"). The caller frees. ERR_INVALID. */
int store_name_normalize(char **out, const char *ref, struct err **err);

/* Find an image by name (normalized as above), by full config or manifest
 * digest ("sha256:..."), or by a unique prefix of at least 4 hex digits of
 * its image id (the config digest, as docker's IMAGE ID column) or its
 * manifest digest. *out gets a copy (release with store_image_release).
 * Errors: ERR_NOTFOUND, ERR_INVALID (ambiguous prefix, bad name). */
int store_lookup(struct store *s, const char *ref, struct store_image *out, struct err **err);

/* Point name at desc (adding or moving the name; a manifest that loses its
 * last name stays as a dangling entry). desc must be in the CAS. Errors:
 * ERR_INVALID (name), ERR_NOTFOUND (desc not in the store), ERR_IO. */
int store_tag(struct store *s, const char *name, const struct oci_descriptor *desc,
	      struct err **err);
/* Add desc without a name (a dangling image, e.g. a build without -t)
 * unless it is already in the index. */
int store_add(struct store *s, const struct oci_descriptor *desc, struct err **err);
/* Remove a name. *removed_last (if not NULL) tells whether no other name
 * points at the same manifest any more (the entry itself is then removed).
 * ERR_NOTFOUND when the name is not there. */
int store_untag(struct store *s, const char *name, bool *removed_last, struct err **err);
/* Remove every entry pointing at manifest digest d (all its names).
 * ERR_NOTFOUND when there is none. */
int store_remove(struct store *s, const struct digest *d, struct err **err);
/* Remove the entries without a name. *n gets how many. */
int store_remove_dangling(struct store *s, size_t *n, struct err **err);

/* Layers to keep besides those of the images (the build cache's): each
 * blob, and the extracted dir of each diff_id. */
struct store_gc_keep {
	const struct digest *blobs;
	size_t n_blobs;
	const struct digest *diff_ids;
	size_t n_diff_ids;
};

/* Remove blobs no index entry reaches (manifests, their configs and
 * layers, indexes and their children, the compressed variants of kept
 * layers) and keep does not name (keep may be NULL), nor any other blob
 * written in the last grace_seconds, then the compressed/ entries whose
 * source or blob is gone. Needs the gc lock exclusively: ERR_BUSY (nothing
 * removed) when another bale process has the store open and wait is false.
 * *removed and *bytes (if not NULL) get the count and total size. */
int store_gc(struct store *s, int64_t grace_seconds, bool wait, const struct store_gc_keep *keep,
	     size_t *removed, uint64_t *bytes, struct err **err);

/* ---- compressed variants of layers ----
 *
 * Builds store layers uncompressed; a push or an OCI export compresses
 * them (layers/compress.h) and remembers the result, so that the next push
 * compresses nothing: the compressed blob is in the CAS, and one file per
 * (source, algorithm, level),
 *   compressed/<gzip|zstd>-<level>/<algo>-<hex of the uncompressed blob>
 * holds {"digest":"sha256:...","size":N}, written atomically. Concurrent
 * writers of one entry write the same bytes (compression is
 * deterministic). store_gc() keeps an entry's blob while its source blob
 * is kept, and drops entries whose source or blob is gone. */

/* The compressed blob recorded for src with algo (GZIP or ZSTD) at level
 * (the effective level: 1-9 for gzip, 1-19 for zstd). 0 with *blob and
 * *size when an entry exists and its blob is in the store with that size;
 * ERR_NOTFOUND otherwise (a stale or unreadable entry counts as absent). */
int store_zmap_get(struct store *s, const struct digest *src, enum layer_compression algo,
		   int level, struct digest *blob, uint64_t *size);
/* Record that src compresses to blob (already in the store) of size bytes.
 * Errors: ERR_IO, ERR_DENIED. */
int store_zmap_put(struct store *s, const struct digest *src, enum layer_compression algo,
		   int level, const struct digest *blob, uint64_t size, struct err **err);

/* ---- reading images ---- */

/* A resolved single-platform image: manifest and config parsed, plus their
 * raw bytes (which define the digests). */
struct store_loaded {
	struct digest manifest_digest;
	char *manifest_raw;
	size_t manifest_len;
	struct oci_manifest manifest;
	char *config_raw;
	size_t config_len;
	struct oci_config config;
};
void store_loaded_release(struct store_loaded *l);

/* Load the image desc points at. An index is resolved to the entry for
 * this machine's platform (linux/<GOARCH>), or its only entry. Errors:
 * ERR_NOTFOUND (a blob missing), ERR_DIGEST, ERR_INVALID, ERR_UNSUPPORTED
 * (no matching platform). */
int store_load(struct store *s, const struct oci_descriptor *desc, struct store_loaded *out,
	       struct err **err);

/* Write a manifest and config to the CAS and tag (name may be NULL: add as
 * dangling): the last step of build, import and load. *out (if not NULL)
 * gets the manifest's descriptor. */
int store_commit_image(struct store *s, const char *name, const struct oci_manifest *m,
		       const struct oci_config *cfg, struct oci_descriptor *out, struct err **err);

/* ---- extracted layers ----
 *
 * extracted/<algo>/<hex of diff_id>: one layer applied in overlay lower
 * format (whiteouts as char 0/0 devices, opaque dirs marked with
 * user.overlay.opaque), shared by every build and `bale run` and stacked
 * with overlayfs (userxattr) as lower dirs. A dir is complete once it has
 * its name: it is extracted to extracted/tmp/ (same filesystem), its diff_id
 * checked, then renamed. store_gc removes the dirs no image's config lists.
 * Call these inside the sandbox's user namespace (sbx_userns_enter): owners
 * and device nodes are set as the namespace's root. */

/* The extracted dir of a layer (desc: its blob; diff_id: what the image's
 * config says the uncompressed tar hashes to), extracting it when missing.
 * A layer whose tar does not hash to diff_id is refused (ERR_DIGEST) and
 * nothing is kept. *dir is the caller's. */
int store_layer_dir(struct store *s, const struct oci_descriptor *desc,
		    const struct digest *diff_id, char **dir, struct err **err);

/* An empty directory (0755) to stack below the layers of an image that has
 * none: overlayfs needs a lower dir. *dir is the caller's. */
int store_empty_layer_dir(struct store *s, char **dir, struct err **err);

/* Take dir (on the store's filesystem, already in overlay lower format:
 * the upper dir of the step that wrote the layer with this diff_id) as the
 * layer's extracted dir. Returns true when it was moved; false when the
 * layer has one already (dir is left where it is). */
bool store_layer_dir_adopt(struct store *s, const struct digest *diff_id, const char *dir);

/* Go's GOARCH for this machine ("amd64", "arm64", ...). */
const char *store_goarch(void);

static inline void store_freep(struct store **s)
{
	store_free(*s);
}
#define cleanup_store __attribute__((cleanup(store_freep)))

#endif
