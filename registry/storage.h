/* The registry's storage driver interface (DESIGN.md "Storage").
 *
 * A driver keeps three things: blobs (content-addressed, shared by every
 * repository), per-repository links (which blobs and manifests a
 * repository holds, its tags, its referrers) and upload sessions. The
 * HTTP handlers only speak this interface, so an S3-compatible driver can
 * stand in for the filesystem one (storage-fs.c, on layers/cas.h).
 *
 * Visibility rules every driver keeps:
 *   - a blob is served in a repository only when it was pushed or mounted
 *     there (its link exists), never merely because the store holds it;
 *   - a tag or link changes atomically: a reader sees the old or the new
 *     target, never a partial file;
 *   - nothing half-written becomes visible: blobs only after their digest
 *     was verified, manifests only after their bytes are stored;
 *   - upload sessions survive a restart of the server.
 *
 * Errors: ERR_NOTFOUND (absent blob, manifest, tag, repository, upload),
 * ERR_INVALID (malformed input), ERR_DIGEST (content does not match its
 * digest or size), ERR_RANGE (a chunk does not start at the upload's end),
 * ERR_BUSY (an upload is in use by another request), ERR_IO.
 *
 * Thread safety: every function may be called from several threads at
 * once, except that one struct reg_upload is used by one thread at a time.
 */
#ifndef BALE_REGISTRY_STORAGE_H
#define BALE_REGISTRY_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"

struct reg_storage;
struct reg_upload;

/* A stored manifest's metadata, kept beside its link so GET needs no JSON
 * parsing. */
struct reg_manifest_meta {
	struct digest digest;
	uint64_t size;
	char media_type[256];
};

/* A descriptor in a referrers list. Strings are owned by the list. */
struct reg_referrer {
	struct digest digest;
	uint64_t size;
	char *media_type;
	char *artifact_type; /* may be NULL */
	char *annotations;   /* JSON object text, or NULL */
};

struct reg_storage_ops {
	void (*free)(struct reg_storage *s);
	/* blobs */
	int (*blob_stat)(struct reg_storage *s, const char *repo, const struct digest *d,
	                 uint64_t *size, struct err **err);
	int (*blob_open)(struct reg_storage *s, const char *repo, const struct digest *d, int *fd,
	                 uint64_t *size, struct err **err);
	int (*blob_link)(struct reg_storage *s, const char *repo, const struct digest *d,
	                 struct err **err);
	int (*blob_unlink)(struct reg_storage *s, const char *repo, const struct digest *d,
	                   struct err **err);
	/* uploads */
	int (*upload_new)(struct reg_storage *s, const char *repo, char *id_out, struct err **err);
	int (*upload_open)(struct reg_storage *s, const char *repo, const char *id,
	                   struct reg_upload **out, struct err **err);
	int (*upload_write)(struct reg_upload *u, const void *data, size_t n, struct err **err);
	uint64_t (*upload_size)(const struct reg_upload *u);
	int (*upload_commit)(struct reg_upload *u, const struct digest *expected, uint64_t *size,
	                     struct err **err);
	void (*upload_close)(struct reg_upload *u, bool cancel);
	int (*upload_started)(struct reg_storage *s, const char *repo, const char *id,
	                      int64_t *started, struct err **err);
	int (*upload_status)(struct reg_storage *s, const char *repo, const char *id,
	                     uint64_t *size, struct err **err);
	/* manifests */
	int (*manifest_resolve)(struct reg_storage *s, const char *repo, const char *tag,
	                        struct digest *out, struct err **err);
	int (*manifest_meta)(struct reg_storage *s, const char *repo, const struct digest *d,
	                     struct reg_manifest_meta *out, struct err **err);
	int (*manifest_open)(struct reg_storage *s, const char *repo, const struct digest *d,
	                     int *fd, struct reg_manifest_meta *meta, struct err **err);
	int (*manifest_put)(struct reg_storage *s, const char *repo, const char *tag,
	                    const void *data, size_t len, const struct reg_manifest_meta *meta,
	                    const struct reg_referrer *as_referrer, const struct digest *subject,
	                    struct err **err);
	int (*manifest_delete)(struct reg_storage *s, const char *repo, const struct digest *d,
	                       struct err **err);
	int (*tag_delete)(struct reg_storage *s, const char *repo, const char *tag,
	                  struct err **err);
	/* listings: sorted NULL-terminated arrays the caller frees (strv_free) */
	int (*tags_list)(struct reg_storage *s, const char *repo, char ***out, struct err **err);
	int (*repos_list)(struct reg_storage *s, char ***out, struct err **err);
	int (*referrers_list)(struct reg_storage *s, const char *repo, const struct digest *subject,
	                      struct reg_referrer **out, size_t *n, struct err **err);
};

struct reg_storage {
	const struct reg_storage_ops *ops;
};

/* Drivers embed this first in their upload object. */
struct reg_upload {
	struct reg_storage *storage;
};

/* The filesystem driver rooted at root (created when missing): blobs in
 * the layers/ CAS at root, links under root/repositories. Removes temp
 * files left by a crash. *out is freed with reg_storage_free(). Errors:
 * ERR_IO, ERR_DENIED. */
int reg_storage_fs_new(struct reg_storage **out, const char *root, struct err **err);

/* The root directory of a filesystem storage (borrowed), for gc. */
const char *reg_storage_fs_root(const struct reg_storage *s);

void reg_storage_free(struct reg_storage *s);

/* Blob `d` as linked in repo: size (may be NULL). ERR_NOTFOUND when the
 * repository has no link to it or the store lost the bytes. */
int reg_blob_stat(struct reg_storage *s, const char *repo, const struct digest *d, uint64_t *size,
                  struct err **err);
/* Open a linked blob for reading; *fd is the caller's. ERR_NOTFOUND. */
int reg_blob_open(struct reg_storage *s, const char *repo, const struct digest *d, int *fd,
                  uint64_t *size, struct err **err);
/* Link an existing blob into repo (cross-repository mount, or a blob
 * pushed again). ERR_NOTFOUND when the store does not hold it. */
int reg_blob_link(struct reg_storage *s, const char *repo, const struct digest *d,
                  struct err **err);
/* Remove repo's link to the blob (the bytes stay for gc). ERR_NOTFOUND. */
int reg_blob_unlink(struct reg_storage *s, const char *repo, const struct digest *d,
                    struct err **err);

/* Start an upload session in repo; id_out (REG_UPLOAD_ID_LEN + 1 bytes)
 * gets its id. */
int reg_upload_new(struct reg_storage *s, const char *repo, char *id_out, struct err **err);
/* Open session id of repo for this request. ERR_NOTFOUND when there is
 * no such session in this repository, ERR_BUSY when another request holds
 * it. Close with reg_upload_close(). */
int reg_upload_open(struct reg_storage *s, const char *repo, const char *id,
                    struct reg_upload **out, struct err **err);
int reg_upload_write(struct reg_upload *u, const void *data, size_t n, struct err **err);
/* Bytes received so far (over every request of the session). */
uint64_t reg_upload_size(const struct reg_upload *u);
/* Verify against expected, publish the blob, link it into the session's
 * repository and end the session; *size gets the blob's size. On
 * ERR_DIGEST the session is gone too (the client starts over, as the spec
 * says). u is freed in every case. */
int reg_upload_commit(struct reg_upload *u, const struct digest *expected, uint64_t *size,
                      struct err **err);
/* Release u; cancel also deletes the session and its bytes. NULL is fine. */
void reg_upload_close(struct reg_upload *u, bool cancel);
/* Bytes session id of repo holds, without taking it over from a request
 * writing to it and without waiting for one. ERR_NOTFOUND; ERR_BUSY only
 * when it cannot be reopened (another process holds it). */
int reg_upload_query(struct reg_storage *s, const char *repo, const char *id, uint64_t *size,
                     struct err **err);
/* When the session started (seconds since the epoch), for metrics and
 * purging. ERR_NOTFOUND. */
int reg_upload_started(struct reg_storage *s, const char *repo, const char *id, int64_t *started,
                       struct err **err);

/* Digest a tag points to. ERR_NOTFOUND when repo has no such tag. */
int reg_manifest_resolve(struct reg_storage *s, const char *repo, const char *tag,
                         struct digest *out, struct err **err);
/* Metadata of a manifest held by repo. ERR_NOTFOUND. */
int reg_manifest_meta(struct reg_storage *s, const char *repo, const struct digest *d,
                      struct reg_manifest_meta *out, struct err **err);
/* Open a manifest's bytes (exactly as pushed) and its metadata. */
int reg_manifest_open(struct reg_storage *s, const char *repo, const struct digest *d, int *fd,
                      struct reg_manifest_meta *meta, struct err **err);
/* Store a validated manifest: its bytes, its link in repo with meta, the
 * tag when not NULL (replaced atomically), and when subject is not NULL a
 * referrers entry `as_referrer` under the subject. */
int reg_manifest_put(struct reg_storage *s, const char *repo, const char *tag, const void *data,
                     size_t len, const struct reg_manifest_meta *meta,
                     const struct reg_referrer *as_referrer, const struct digest *subject,
                     struct err **err);
/* Remove a manifest from repo: its link, every tag pointing at it and its
 * referrers entry. ERR_NOTFOUND. */
int reg_manifest_delete(struct reg_storage *s, const char *repo, const struct digest *d,
                        struct err **err);
/* Remove one tag. ERR_NOTFOUND. */
int reg_tag_delete(struct reg_storage *s, const char *repo, const char *tag, struct err **err);

/* Sorted tags of repo. ERR_NOTFOUND when the repository does not exist. */
int reg_tags_list(struct reg_storage *s, const char *repo, char ***out, struct err **err);
/* Sorted names of every repository. */
int reg_repos_list(struct reg_storage *s, char ***out, struct err **err);
/* Manifests of repo whose subject is `subject`; *out (n entries) is freed
 * with reg_referrers_free(). An unknown subject gives an empty list. */
int reg_referrers_list(struct reg_storage *s, const char *repo, const struct digest *subject,
                       struct reg_referrer **out, size_t *n, struct err **err);
void reg_referrers_free(struct reg_referrer *list, size_t n);

#endif
