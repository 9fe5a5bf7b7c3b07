/* The content-addressed blob store (CAS): blobs named by their digest
 * (sha256 or sha512), shared by the local image store and the registry's
 * filesystem storage.
 *
 * Layout under the store root (so that the local store is also a valid OCI
 * image layout):
 *
 *   blobs/<algo>/<hex>      verified blobs, read-only (0444)
 *   ingest/tmp-<random>     a writer's temp file (anonymous writer)
 *   ingest/up-<id>          a resumable upload's temp file (named writer)
 *
 * A blob never becomes visible unverified or partial: a writer streams into
 * a temp file in ingest/ (same filesystem), hashing as it writes; commit
 * checks size and digest, fsyncs the file, renames it into blobs/ and fsyncs
 * the directory. Two processes committing the same blob at once both
 * succeed (the second rename replaces identical bytes). Every writer holds
 * an flock on its temp file, so cas_new() can tell abandoned anonymous temp
 * files (their process died) from live ones and removes only the former.
 * Named (resumable) temp files are left alone by cas_new(): they belong to
 * an upload session and go away on commit, abort or cas_purge_uploads().
 *
 * Thread safety: a struct cas may be used from several threads at once; a
 * struct cas_writer by one thread at a time.
 *
 * Errors: ERR_NOTFOUND (no such blob or upload), ERR_INVALID (malformed
 * digest or upload id), ERR_UNSUPPORTED (a digest algorithm we do not
 * hash), ERR_DIGEST (content does not match the expected digest or size),
 * ERR_BUSY (an upload is held by another writer), ERR_IO (system calls),
 * ERR_DENIED (permissions).
 */
#ifndef BALE_LAYERS_CAS_H
#define BALE_LAYERS_CAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/digest.h"
#include "common/error.h"

/* Longest upload id accepted by the named writers ([A-Za-z0-9_-]). */
#define CAS_MAX_UPLOAD_ID 128

struct cas;
struct cas_writer;

/* ---- the store ---- */

/* Open the store at root, creating root and blobs/sha256 (mode 0755) when
 * missing, and removing anonymous temp files no live writer holds (left by
 * a crash). ingest/ is created by the first writer and blobs/sha512 by the
 * first sha512 blob, so opening a user's OCI layout adds nothing it does
 * not need. *out is a new store the caller
 * frees with cas_free(). Errors: ERR_IO, ERR_DENIED. */
int cas_new(struct cas **out, const char *root, struct err **err);
/* Close the store. NULL is fine. Writers must be finished first. */
void cas_free(struct cas *c);
/* The root path given to cas_new() (borrowed). */
const char *cas_root(const struct cas *c);
/* An O_DIRECTORY fd of the root, owned by the store (do not close). */
int cas_root_fd(const struct cas *c);

/* Open a blob for reading (O_RDONLY|O_CLOEXEC; pread/sendfile friendly).
 * *fd is the caller's to close; *size (if not NULL) gets the blob's size.
 * ERR_NOTFOUND when absent. */
int cas_open(const struct cas *c, const struct digest *d, int *fd, uint64_t *size,
	     struct err **err);
/* Size of a blob, or ERR_NOTFOUND. size may be NULL (existence check). */
int cas_stat(const struct cas *c, const struct digest *d, uint64_t *size, struct err **err);
/* Whether the blob exists (errors count as absent). */
bool cas_has(const struct cas *c, const struct digest *d);
/* Remove a blob. ERR_NOTFOUND when it was not there. */
int cas_delete(const struct cas *c, const struct digest *d, struct err **err);
/* Path of a blob relative to the root ("blobs/sha256/<hex>"), whether or not
 * it exists. The caller frees the string. */
char *cas_blob_relpath(const struct digest *d);
/* Rehash a stored blob and compare. ERR_DIGEST when its bytes no longer
 * match its name (disk corruption), ERR_NOTFOUND when absent. */
int cas_verify(const struct cas *c, const struct digest *d, struct err **err);

/* Called by cas_walk() for each blob; a negative return stops the walk and
 * is returned by cas_walk() (fill err yourself for a message). mtime is
 * the blob's modification time in seconds (a commit of an existing blob
 * refreshes it, so garbage collectors can spare blobs just written). */
typedef int (*cas_walk_fn)(const struct digest *d, uint64_t size, int64_t mtime, void *ctx,
			   struct err **err);
/* Call fn for every blob of every algorithm, in no particular order. Files
 * under blobs/ whose names are not valid digests are skipped. Blobs added
 * or deleted during the walk may or may not be seen. */
int cas_walk(const struct cas *c, cas_walk_fn fn, void *ctx, struct err **err);

/* ---- ingest: the streaming writer ----
 *
 * Typical one-shot use:
 *     cas_writer_new(&w, cas, DIGEST_SHA256, NULL, err);
 *     while (...) cas_writer_write(w, buf, n, err);
 *     cas_writer_commit(w, expected_or_NULL, expected_size_or_-1, &got, err);
 *
 * Resumable (the registry's chunked uploads, which may span requests and
 * server restarts): create with an id, append, cas_writer_close() between
 * requests (the temp file stays), cas_writer_resume() with the same id
 * later (it rehashes what is already there, so no hash state is saved),
 * cas_writer_size() gives the current offset (the Range header), and commit
 * with the digest the client sends. */

/* Start a writer. algo is the digest computed while writing (0 means
 * sha256); a commit against a digest of another algorithm rehashes the
 * temp file once. id NULL makes an anonymous writer (its temp file dies
 * with the writer or the process); a non-NULL id ([A-Za-z0-9_-], at most
 * CAS_MAX_UPLOAD_ID chars) makes a resumable one. *out is freed by commit,
 * abort or close. Errors: ERR_INVALID (id), ERR_EXISTS (an upload with
 * this id exists), ERR_IO. */
int cas_writer_new(struct cas_writer **out, struct cas *c, enum digest_algo algo, const char *id,
		   struct err **err);
/* Reopen the named upload id at its current end, rehashing its content.
 * Errors: ERR_NOTFOUND (no such upload), ERR_BUSY (another writer holds
 * it), ERR_INVALID (id), ERR_IO. */
int cas_writer_resume(struct cas_writer **out, struct cas *c, enum digest_algo algo,
		      const char *id, struct err **err);
/* Append n bytes. ERR_IO (ENOSPC...); the writer stays usable for abort. */
int cas_writer_write(struct cas_writer *w, const void *data, size_t n, struct err **err);
/* Append everything readable from fd up to EOF, or at most max bytes when
 * max > 0 (ERR_TOOBIG if fd has more). *copied (if not NULL) gets the bytes
 * appended by this call. Errors: ERR_IO, ERR_TOOBIG. */
int cas_writer_write_fd(struct cas_writer *w, int fd, uint64_t max, uint64_t *copied,
			struct err **err);
/* Hash behind the writes, in a thread of the writer's own that reads the
 * written bytes back from the page cache (and starts their writeback), so
 * that a caller receiving a large blob does not wait for the hashing: on
 * two cores the two overlap. Worth it for blobs of many MiB. Nothing else
 * changes: commit still checks every byte against the digest, then
 * fsyncs. Anonymous writers only (a named one is left as it is); when no
 * thread can be started the writer hashes inline as before. */
void cas_writer_hash_behind(struct cas_writer *w);
/* Bytes written so far (for a resumed upload, including earlier sessions). */
uint64_t cas_writer_size(const struct cas_writer *w);
/* The upload id, or NULL for an anonymous writer (borrowed). */
const char *cas_writer_id(const struct cas_writer *w);
/* Digest of the bytes so far with the writer's algorithm, without ending
 * the writer. */
void cas_writer_digest(const struct cas_writer *w, struct digest *out);

/* Finish hashing: *out gets the digest of every byte written (the
 * writer's algorithm), and no more bytes may be written. The writer stays
 * the caller's, to commit (which then checks expected against this
 * digest, without hashing again) or abort. For producers that need the
 * digest before they commit, such as an uncompressed layer whose blob
 * digest is its diff_id. Errors: ERR_IO (hash-behind could not read back). */
int cas_writer_seal(struct cas_writer *w, struct digest *out, struct err **err);

/* Verify and publish. expected (may be NULL: accept whatever was written)
 * is checked against the content, expected_size (-1: any) against the
 * size. On success the blob is in the store, *out (if not NULL) gets its
 * digest (expected's algorithm when given, else the writer's) and *size
 * (if not NULL) its size. The writer is freed in all cases; on failure the
 * temp file is removed too. Errors: ERR_DIGEST (mismatch: the message
 * gives both digests or sizes), ERR_IO. */
int cas_writer_commit(struct cas_writer *w, const struct digest *expected, int64_t expected_size,
		      struct digest *out, uint64_t *size, struct err **err);
/* Check now, publish later: verify the content as commit does (same
 * errors; on failure the writer is freed and its temp file removed) and
 * start writing it to disk, but leave it unnamed, so that several blobs
 * can then be published at once by cas_writers_commit() (or one by
 * cas_writer_commit(), which then checks expected against the digest
 * found). */
int cas_writer_verify(struct cas_writer *w, const struct digest *expected, int64_t expected_size,
		      struct err **err);
/* Publish n verified writers: each is fsynced and renamed into blobs/,
 * then each blob directory touched is fsynced once (one journal commit
 * for all the names, where commit pays one per blob). Every writer is
 * freed and the slots set to NULL; after a failure the rest are aborted.
 * Errors: ERR_IO, ERR_INVALID (a writer that was not verified). */
int cas_writers_commit(struct cas_writer **w, size_t n, struct err **err);
/* Drop the writer and its temp file (named uploads included). NULL is fine. */
void cas_writer_abort(struct cas_writer *w);
/* Free the writer object. A named upload's temp file stays for a later
 * cas_writer_resume(); an anonymous one is removed (same as abort). */
void cas_writer_close(struct cas_writer *w);

/* Remove the named upload id (ERR_NOTFOUND if none, ERR_BUSY if a live
 * writer holds it). */
int cas_upload_delete(struct cas *c, const char *id, struct err **err);
/* Remove named uploads not written to for older_than seconds and not held
 * by a live writer; *removed (if not NULL) gets how many. */
int cas_purge_uploads(struct cas *c, int64_t older_than, unsigned *removed, struct err **err);

/* ---- one-shot helpers ---- */

/* Ingest everything from fd (to EOF) as cas_writer_commit() would check it.
 * Errors as the writer's. */
int cas_ingest_fd(struct cas *c, int fd, const struct digest *expected, int64_t expected_size,
		  struct digest *out, uint64_t *size, struct err **err);
/* Ingest a buffer (manifests, configs) hashed with algo (0: sha256). */
int cas_ingest_buffer(struct cas *c, const void *data, size_t n, enum digest_algo algo,
		      struct digest *out, struct err **err);
/* Read a whole blob into a new buffer of at most max bytes, verifying its
 * digest as it reads. *data (NUL-terminated, the caller frees) and *len.
 * Errors: ERR_NOTFOUND, ERR_TOOBIG, ERR_DIGEST, ERR_IO. */
int cas_read_all(const struct cas *c, const struct digest *d, size_t max, char **data, size_t *len,
		 struct err **err);

static inline void cas_freep(struct cas **c)
{
	cas_free(*c);
}
static inline void cas_writer_closep(struct cas_writer **w)
{
	cas_writer_close(*w);
}
#define cleanup_cas __attribute__((cleanup(cas_freep)))
/* A writer not committed by scope end is closed (anonymous: removed). */
#define cleanup_cas_writer __attribute__((cleanup(cas_writer_closep)))

#endif
