/* Layers: writing a directory (a full tree or an overlayfs upper dir) as a
 * tar layer into the content store, and applying a layer onto a directory.
 *
 * Writer: PAX tar (libarchive), entries in byte order of their names,
 * directories named "dir/" as docker writes them, hard links as links,
 * symlinks, device nodes and fifos as they are, sockets skipped, xattrs
 * security.capability and user.* (not the overlay's own), mtimes truncated
 * to seconds and clamped to SOURCE_DATE_EPOCH when given, no user/group
 * names, ids mapped through an optional callback. From an overlay upper
 * dir, whiteouts (char 0/0) become ".wh.NAME" and opaque directories get a
 * ".wh..wh..opq" entry. One pass: the tar is hashed (diff_id) while it is
 * compressed on other threads, and the compressed stream is hashed (blob
 * digest) while it streams into a CAS writer. Memory stays bounded
 * (a few MiB of chunks) whatever the layer size.
 *
 * Applier: layers in none/gzip/zstd (detected from the magic bytes). A
 * refused layer leaves the target exactly as it was, and the error names
 * the offending entry: into a non-empty directory every header is checked
 * in a first pass before anything is written; into a missing or empty one
 * the layer is applied in one pass and the directory emptied (or removed)
 * again on a refusal. Refused: absolute names, ".." climbing
 * out, hard links to such names, device nodes when not allowed, more than
 * LAYER_MAX_ENTRY_PATH bytes of name, pax headers over LAYER_MAX_PAX, and
 * more than opts.max_bytes of decompressed tar (default LAYER_MAX_BYTES).
 * Then every path is resolved inside the target with openat2
 * (RESOLVE_IN_ROOT, through common/path.h), so symlinks in the tree or in
 * the layer never lead outside it. Memory does not grow with the number of
 * entries: directory modes and times are set as the extraction leaves each
 * directory (as GNU tar does), and an opaque directory is emptied of its
 * lower content before the layer's first entry below it, so only the names
 * of the opaque directories are held (LAYER_MAX_OPAQUE).
 */
#ifndef BALE_LAYERS_LAYER_H
#define BALE_LAYERS_LAYER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/digest.h"
#include "common/error.h"
#include "layers/cas.h"

/* Caps of the applier (module-specific, so here rather than in
 * common/limits.h). */
/* Decompressed tar bytes of one layer (a decompression bomb stops here). */
#define LAYER_MAX_BYTES (64ull << 30)
/* The headers of one entry (pax records: names, xattrs), held in memory;
 * libarchive itself stops at 1 MiB. */
#define LAYER_MAX_PAX (512u << 10)
/* One entry name or link target. */
#define LAYER_MAX_ENTRY_PATH 4096
/* The names of the directories one layer marks opaque (.wh..wh..opq),
 * held while it is applied onto a non-empty directory (each counted with
 * a small overhead); real layers have a handful. Everything else the
 * applier holds is bounded by the depth of one path, whatever the number
 * of entries. */
#define LAYER_MAX_OPAQUE (4u << 20)

enum layer_compression {
	LAYER_COMPRESS_NONE = 0,
	LAYER_COMPRESS_GZIP = 1,
	LAYER_COMPRESS_ZSTD = 2,
};

/* "none"/"gzip"/"zstd" <-> enum. Parse returns ERR_INVALID for others. */
int layer_compression_parse(const char *s, enum layer_compression *out, struct err **err);
const char *layer_compression_name(enum layer_compression c);
/* The OCI media type of a layer with this compression. */
const char *layer_media_type(enum layer_compression c);

/* Maps an id found on disk back to the id the image should record (a
 * rootless build's subordinate ids back to 0..N). Return 0 and set *out, or
 * a negative err_code to fail the layer. */
typedef int (*layer_id_map_fn)(void *ctx, bool is_gid, uint32_t host, uint32_t *out);

struct layer_write_opts {
	enum layer_compression compression;
	int level;                 /* 0: default (gzip 6, zstd 3) */
	int threads;               /* compression threads, 0: online CPUs */
	bool overlay_upper;        /* the source is an overlayfs upper dir */
	int64_t source_date_epoch; /* < 0: none; else clamp mtimes to it */
	layer_id_map_fn map_id;    /* NULL: ids as on disk */
	void *map_ctx;
};

struct layer_result {
	struct digest diff_id; /* sha256 of the uncompressed tar */
	struct digest blob;    /* sha256 of the stored (compressed) blob */
	uint64_t tar_size;
	uint64_t blob_size;
	const char *media_type; /* static */
};

/* Initialize opts with the defaults (zstd level 3, all CPUs, no epoch).
 * $SOURCE_DATE_EPOCH is not read here: cmd/ and the builder decide. */
void layer_write_opts_init(struct layer_write_opts *o);

/* Write the tree at dir (a full tree, or an upper dir with
 * o->overlay_upper) as a layer blob into cas. *out gets both digests.
 * Errors: ERR_IO (reading the tree, writing the blob), ERR_NOTFOUND (dir),
 * ERR_INVALID (an id the map refused), ERR_DENIED. */
int layer_write_dir(struct cas *cas, const char *dir, const struct layer_write_opts *o,
		    struct layer_result *out, struct err **err);

/* The same, writing the compressed stream to fd instead of the CAS (bench,
 * export); out->blob is still computed. */
int layer_write_dir_fd(int fd, const char *dir, const struct layer_write_opts *o,
		       struct layer_result *out, struct err **err);

/* Compress and store an existing tar stream (bale import): reads fd (a
 * tar, or gzip/zstd which is decompressed first; a pipe is fine) and stores
 * its bytes unchanged as a layer with o->compression (only compression,
 * level and threads of o are used). Entries are not checked here: the
 * applier checks them whenever the layer is extracted. */
int layer_import_tar(struct cas *cas, int fd, const struct layer_write_opts *o,
		     struct layer_result *out, struct err **err);

enum layer_apply_mode {
	LAYER_APPLY_DIR = 0, /* whiteouts delete, opaque markers empty dirs */
	LAYER_APPLY_OVERLAY = 1, /* an overlay lower dir: whiteouts become
				  * char 0/0 devices, opaque markers the opaque
				  * xattr (trusted. as root, user. otherwise) */
};

struct layer_apply_opts {
	enum layer_apply_mode mode;
	bool allow_devices;  /* create device nodes (default: only when euid 0) */
	bool set_owner;      /* chown entries (default: when euid 0) */
	bool user_xattr;     /* overlay: use user.overlay.opaque (userxattr mounts) */
	uint64_t max_bytes;  /* decompressed cap, 0: LAYER_MAX_BYTES */
	layer_id_map_fn map_id; /* image ids -> on-disk ids; NULL: as is */
	void *map_ctx;
};

void layer_apply_opts_init(struct layer_apply_opts *o);

/* Apply the layer readable from fd (seekable: read twice from offset 0;
 * none/gzip/zstd) onto the directory target. On a refusal nothing was
 * written and the message names the entry:
 *   "layer entry '../etc/passwd': path leaves the root"
 * *diff_id (if not NULL) gets the sha256 of the uncompressed tar. Errors:
 * ERR_INVALID (a hostile or malformed layer), ERR_TOOBIG (caps),
 * ERR_DENIED (a device node not allowed), ERR_IO. */
int layer_apply_fd(int fd, const char *target, const struct layer_apply_opts *o,
		   struct digest *diff_id, struct err **err);

/* Detect the compression of a stream from its first bytes (at least 4):
 * gzip 1f 8b, zstd 28 b5 2f fd, else none. */
enum layer_compression layer_detect(const unsigned char *magic, size_t n);

#endif
