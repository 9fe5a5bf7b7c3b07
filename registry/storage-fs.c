/* The filesystem storage driver: blobs in the layers/ CAS, links in plain
 * files beside it (a layout close to distribution's, so operators can read
 * it):
 *
 *   <root>/blobs/, <root>/ingest/               the CAS (layers/cas.h)
 *   <root>/repositories/<name>/
 *       _layers/<algo>/<hex>                    empty: blob linked here
 *       _manifests/revisions/<algo>/<hex>       "<media type>\n<size>\n<subject>\n"
 *       _manifests/tags/<tag>                   "<digest>\n"
 *       _referrers/<algo>/<subject hex>/<algo>-<hex>   descriptor JSON
 *       _uploads/<id>                           "<start time>\n": a session
 *
 * Repository components start with [a-z0-9], so the "_" directories never
 * collide with a nested repository. Files that change (tags, manifest
 * links) are written to ".tmp-*" beside their target and renamed over it;
 * a crash leaves only those temp files, removed at start.
 *
 * Upload sessions keep their CAS writer open between requests (a table of
 * at most FS_MAX_OPEN_UPLOADS), so a chunked upload is hashed once; after
 * a restart, or once evicted, the writer is resumed (the CAS rehashes). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/util.h"
#include "layers/cas.h"
#include "registry/routes.h"
#include "registry/storage-internal.h"
#include "registry/storage.h"

/* Upload sessions kept in memory (each with its writer open) between
 * requests; the idlest are closed beyond this. */
#define FS_MAX_OPEN_UPLOADS 256
/* A link or metadata file we read. */
#define FS_MAX_LINK 4096
/* A referrer descriptor file. */
#define FS_MAX_REFERRER (64u << 10)

struct fs_session {
	char id[REG_UPLOAD_ID_LEN + 1];
	char *repo;
	pthread_mutex_t wlock;
	struct cas_writer *w; /* NULL when closed (resumed on next open); wlock */
	uint64_t gen;         /* the owning request's generation; wlock */
	/* Bytes the writer holds, readable without wlock so a status query
	 * never waits for a writer (or one being torn down); valid once
	 * size_known is set (after the writer was first opened). */
	_Atomic uint64_t size;
	_Atomic bool size_known;
	unsigned refs; /* handles alive; fs->lock */
	bool linked;   /* in fs->sessions; fs->lock */
	int64_t last_used;
	struct fs_session *next;
};

struct fs_storage {
	struct reg_storage base;
	struct cas *cas;
	int rootfd; /* borrowed from cas */
	char *root;
	pthread_mutex_t lock;
	struct fs_session *sessions;
	size_t nopen;
};

struct fs_upload {
	struct reg_upload base;
	struct fs_storage *fs;
	struct fs_session *sess;
	uint64_t gen; /* generation this handle owns */
};

static struct fs_storage *fs_of(struct reg_storage *s)
{
	return (struct fs_storage *)s;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* ---- small file helpers on the root fd ---- */

static int map_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR: return ERR_NOTFOUND;
	case EACCES:
	case EPERM:
	case EROFS: return ERR_DENIED;
	case EEXIST: return ERR_EXISTS;
	default: return ERR_IO;
	}
}

/* mkdir -p of a path relative to rootfd (all components are ours or
 * validated repository names: no "..", no absolute parts). */
static int mkdirs_at(int rootfd, const char *rel, struct err **err)
{
	char path[BALE_MAX_PATH];
	if (str_copy(path, rel, sizeof(path)) >= sizeof(path))
		return err_set(err, ERR_TOOBIG, "path '%s' too long", rel);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdirat(rootfd, path, 0755) < 0 && errno != EEXIST)
			return err_sys(err, map_errno(errno), errno, "cannot create '%s'", path);
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

static int mkdirs_parent_at(int rootfd, const char *rel, struct err **err)
{
	cleanup_free char *dir = xstrdup(rel);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	*slash = '\0';
	return mkdirs_at(rootfd, dir, err);
}

/* Read a small file into b. */
static int read_small(struct buf *b, int rootfd, const char *rel, size_t max, struct err **err)
{
	buf_init(b, max);
	int fd = openat(rootfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, map_errno(errno), errno, "cannot open '%s'", rel);
	int rc = buf_read_fd(b, fd, rel, err);
	close(fd);
	return rc;
}

/* Write data to rel atomically: a temp file beside it, renamed over it.
 * Parents are created. With sync, the file is on disk before the rename
 * and the rename before the return: a crash leaves the old or the new
 * content, never an empty file, and what was acknowledged stays. */
static int write_atomic(int rootfd, const char *rel, const void *data, size_t len, bool sync,
                        struct err **err)
{
	unsigned char rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return err_sys(err, ERR_IO, errno, "%s", "getrandom failed");
	cleanup_free char *dir = xstrdup(rel);
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	cleanup_free char *tmp = xasprintf("%s/.tmp-%02x%02x%02x%02x%02x%02x%02x%02x", dir, rnd[0],
	                                   rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	int fd = openat(rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT) {
		if (mkdirs_at(rootfd, dir, err) < 0)
			return ERR_IO;
		fd = openat(rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return err_sys(err, map_errno(errno), errno, "cannot create '%s'", tmp);
	int wr = write_all(fd, data, len);
	if (wr == 0 && sync && fsync(fd) < 0)
		wr = -errno;
	close(fd);
	if (wr < 0 || renameat(rootfd, tmp, rootfd, rel) < 0) {
		int e = wr < 0 ? -wr : errno;
		unlinkat(rootfd, tmp, 0);
		return err_sys(err, ERR_IO, e, "cannot write '%s'", rel);
	}
	int r = sync ? fsync_parent_dir(rootfd, rel) : 0;
	if (r < 0)
		return err_sys(err, ERR_IO, -r, "cannot sync the directory of '%s'", rel);
	return 0;
}

/* Create an empty file (a link whose existence is the information). */
static int touch_at(int rootfd, const char *rel, struct err **err)
{
	int fd = openat(rootfd, rel, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT) {
		if (mkdirs_parent_at(rootfd, rel, err) < 0)
			return ERR_IO;
		fd = openat(rootfd, rel, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return err_sys(err, map_errno(errno), errno, "cannot create '%s'", rel);
	close(fd);
	return 0;
}

/* ---- paths ---- */

char *reg_fs_layer_link(const char *repo, const struct digest *d)
{
	char hex[DIGEST_MAX_BYTES * 2 + 1];
	return xasprintf("repositories/%s/_layers/%s/%s", repo, digest_algo_name(d->algo),
	                 digest_hex(d, hex));
}

char *reg_fs_revision_link(const char *repo, const struct digest *d)
{
	char hex[DIGEST_MAX_BYTES * 2 + 1];
	return xasprintf("repositories/%s/_manifests/revisions/%s/%s", repo,
	                 digest_algo_name(d->algo), digest_hex(d, hex));
}

static char *tag_path(const char *repo, const char *tag)
{
	return xasprintf("repositories/%s/_manifests/tags/%s", repo, tag);
}

static char *referrers_dir(const char *repo, const struct digest *subject)
{
	char hex[DIGEST_MAX_BYTES * 2 + 1];
	return xasprintf("repositories/%s/_referrers/%s/%s", repo, digest_algo_name(subject->algo),
	                 digest_hex(subject, hex));
}

static char *referrer_path(const char *repo, const struct digest *subject, const struct digest *d)
{
	char hex[DIGEST_MAX_BYTES * 2 + 1];
	cleanup_free char *dir = referrers_dir(repo, subject);
	return xasprintf("%s/%s-%s", dir, digest_algo_name(d->algo), digest_hex(d, hex));
}

static char *session_path(const char *repo, const char *id)
{
	return xasprintf("repositories/%s/_uploads/%s", repo, id);
}

/* ---- blobs ---- */

static int fs_blob_stat(struct reg_storage *s, const char *repo, const struct digest *d,
                        uint64_t *size, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	cleanup_free char *link = reg_fs_layer_link(repo, d);
	struct stat st;
	if (fstatat(fs->rootfd, link, &st, 0) < 0)
		return err_set(err, ERR_NOTFOUND, "blob unknown to repository");
	return cas_stat(fs->cas, d, size, err);
}

static int fs_blob_open(struct reg_storage *s, const char *repo, const struct digest *d, int *fd,
                        uint64_t *size, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	cleanup_free char *link = reg_fs_layer_link(repo, d);
	struct stat st;
	if (fstatat(fs->rootfd, link, &st, 0) < 0)
		return err_set(err, ERR_NOTFOUND, "blob unknown to repository");
	return cas_open(fs->cas, d, fd, size, err);
}

static int fs_blob_link(struct reg_storage *s, const char *repo, const struct digest *d,
                        struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	if (!cas_has(fs->cas, d))
		return err_set(err, ERR_NOTFOUND, "blob unknown to registry");
	cleanup_free char *link = reg_fs_layer_link(repo, d);
	return touch_at(fs->rootfd, link, err);
}

static int fs_blob_unlink(struct reg_storage *s, const char *repo, const struct digest *d,
                          struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	cleanup_free char *link = reg_fs_layer_link(repo, d);
	if (unlinkat(fs->rootfd, link, 0) < 0)
		return err_sys(err, map_errno(errno), errno, "%s", "cannot delete blob link");
	return 0;
}

/* ---- upload sessions ----
 *
 * A session is used by one request at a time, but a client whose request
 * died (a cut connection the server has not noticed yet) comes back at
 * once with a new one: the newer request takes the session over. Every
 * takeover bumps the session's generation; a request holding an older one
 * can no longer write, so nothing it still receives lands in the blob.
 * Handles are counted, and a session is freed once it has left the table
 * and no handle is left. Locks: fs->lock guards the table, refs and
 * last_used; the session's wlock guards its writer and generation. */

static struct fs_session *session_find(struct fs_storage *fs, const char *id)
{
	for (struct fs_session *x = fs->sessions; x != NULL; x = x->next)
		if (strcmp(x->id, id) == 0)
			return x;
	return NULL;
}

/* Remove from the table (fs->lock held). */
static void session_unlink(struct fs_storage *fs, struct fs_session *sess)
{
	for (struct fs_session **pp = &fs->sessions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == sess) {
			*pp = sess->next;
			break;
		}
	}
	sess->linked = false;
	fs->nopen--;
}

static struct fs_session *session_alloc(const char *id, const char *repo)
{
	struct fs_session *sess = xcalloc(1, sizeof(*sess));
	str_copy(sess->id, id, sizeof(sess->id));
	sess->repo = xstrdup(repo);
	pthread_mutex_init(&sess->wlock, NULL);
	return sess;
}

static void session_free(struct fs_session *sess)
{
	cas_writer_close(sess->w);
	pthread_mutex_destroy(&sess->wlock);
	free(sess->repo);
	free(sess);
}

/* Close the writer of the idlest unused session when too many are open
 * (fs->lock held). Its temp file stays; the next open resumes it. */
static void sessions_evict(struct fs_storage *fs)
{
	while (fs->nopen > FS_MAX_OPEN_UPLOADS) {
		struct fs_session *oldest = NULL;
		for (struct fs_session *x = fs->sessions; x != NULL; x = x->next)
			if (x->refs == 0 && (oldest == NULL || x->last_used < oldest->last_used))
				oldest = x;
		if (oldest == NULL)
			return;
		session_unlink(fs, oldest);
		session_free(oldest);
	}
}

static int fs_upload_new(struct reg_storage *s, const char *repo, char *id_out, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	unsigned char rnd[REG_UPLOAD_ID_LEN / 2];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return err_sys(err, ERR_IO, errno, "%s", "getrandom failed");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id_out + 2 * i, 3, "%02x", rnd[i]);
	struct cas_writer *w = NULL;
	int rc = cas_writer_new(&w, fs->cas, DIGEST_SHA256, id_out, err);
	if (rc < 0)
		return rc;
	cleanup_free char *path = session_path(repo, id_out);
	cleanup_free char *when = xasprintf("%lld\n", (long long)now_s());
	rc = write_atomic(fs->rootfd, path, when, strlen(when), false, err);
	if (rc < 0) {
		cas_writer_abort(w);
		return rc;
	}
	struct fs_session *sess = session_alloc(id_out, repo);
	sess->w = w;
	sess->size_known = true;
	sess->last_used = now_s();
	pthread_mutex_lock(&fs->lock);
	sess->next = fs->sessions;
	sess->linked = true;
	fs->sessions = sess;
	fs->nopen++;
	sessions_evict(fs);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* Find (or create) the session entry for id and take a handle on it. */
static int session_take(struct fs_storage *fs, const char *repo, const char *id,
                        struct fs_session **out, struct err **err)
{
	pthread_mutex_lock(&fs->lock);
	struct fs_session *sess = session_find(fs, id);
	if (sess != NULL && strcmp(sess->repo, repo) != 0) {
		pthread_mutex_unlock(&fs->lock);
		return err_set(err, ERR_NOTFOUND, "upload unknown");
	}
	if (sess == NULL) {
		sess = session_alloc(id, repo);
		sess->next = fs->sessions;
		sess->linked = true;
		fs->sessions = sess;
		fs->nopen++;
	}
	sess->refs++;
	pthread_mutex_unlock(&fs->lock);
	*out = sess;
	return 0;
}

/* Give a handle back; frees the session when it left the table and this
 * was the last handle. */
static void session_release(struct fs_storage *fs, struct fs_session *sess)
{
	pthread_mutex_lock(&fs->lock);
	bool gone = --sess->refs == 0 && !sess->linked;
	sess->last_used = now_s();
	if (!gone)
		sessions_evict(fs);
	pthread_mutex_unlock(&fs->lock);
	if (gone)
		session_free(sess);
}

/* Take the session out of the table, so later requests no longer find
 * it in memory. */
static void session_retire(struct fs_storage *fs, struct fs_session *sess)
{
	pthread_mutex_lock(&fs->lock);
	if (sess->linked)
		session_unlink(fs, sess);
	pthread_mutex_unlock(&fs->lock);
}

/* Reopen the session's writer when it is closed (wlock held). */
static int session_resume(struct fs_storage *fs, struct fs_session *sess, struct err **err)
{
	int rc = 0;
	if (sess->w != NULL)
		return 0;
	cleanup_free char *path = session_path(sess->repo, sess->id);
	struct stat st;
	if (fstatat(fs->rootfd, path, &st, 0) < 0)
		rc = err_set(err, ERR_NOTFOUND, "upload unknown");
	else
		rc = cas_writer_resume(&sess->w, fs->cas, DIGEST_SHA256, sess->id, err);
	if (rc == ERR_NOTFOUND)
		unlinkat(fs->rootfd, path, 0);
	if (rc == 0) {
		sess->size = cas_writer_size(sess->w);
		sess->size_known = true;
	}
	return rc;
}

static int fs_upload_open(struct reg_storage *s, const char *repo, const char *id,
                          struct reg_upload **out, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	struct fs_session *sess = NULL;
	int rc = session_take(fs, repo, id, &sess, err);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&sess->wlock);
	uint64_t gen = ++sess->gen; /* take over from any older request */
	rc = session_resume(fs, sess, err);
	pthread_mutex_unlock(&sess->wlock);
	if (rc < 0) {
		if (rc == ERR_NOTFOUND)
			session_retire(fs, sess);
		session_release(fs, sess);
		return rc;
	}
	struct fs_upload *u = xcalloc(1, sizeof(*u));
	u->base.storage = s;
	u->fs = fs;
	u->sess = sess;
	u->gen = gen;
	*out = &u->base;
	return 0;
}

static int superseded(struct err **err)
{
	return err_set(err, ERR_BUSY, "%s", "upload taken over by a newer request");
}

static int fs_upload_write(struct reg_upload *up, const void *data, size_t n, struct err **err)
{
	struct fs_upload *u = (struct fs_upload *)up;
	struct fs_session *sess = u->sess;
	pthread_mutex_lock(&sess->wlock);
	int rc = u->gen == sess->gen && sess->w != NULL ? cas_writer_write(sess->w, data, n, err)
	                                                : superseded(err);
	if (rc == 0)
		sess->size = cas_writer_size(sess->w);
	pthread_mutex_unlock(&sess->wlock);
	return rc;
}

static uint64_t fs_upload_size(const struct reg_upload *up)
{
	const struct fs_upload *u = (const struct fs_upload *)up;
	struct fs_session *sess = u->sess;
	return sess->size;
}

/* A status query: the session's size without taking it over and, while
 * its writer is open, without its lock: a request writing to it (or one
 * whose client is gone, being torn down) must not make the client's
 * "where am I" wait or fail. */
static int fs_upload_status(struct reg_storage *s, const char *repo, const char *id, uint64_t *size,
                            struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	struct fs_session *sess = NULL;
	int rc = session_take(fs, repo, id, &sess, err);
	if (rc < 0)
		return rc;
	if (!sess->size_known) {
		/* first use since a restart or an eviction: open it (the
		 * lock is only held by another opener meanwhile) */
		pthread_mutex_lock(&sess->wlock);
		rc = session_resume(fs, sess, err);
		pthread_mutex_unlock(&sess->wlock);
		if (rc == ERR_NOTFOUND)
			session_retire(fs, sess);
	}
	if (rc == 0)
		*size = sess->size;
	session_release(fs, sess);
	return rc;
}

static void remove_session_file(struct fs_storage *fs, const struct fs_session *sess)
{
	cleanup_free char *path = session_path(sess->repo, sess->id);
	unlinkat(fs->rootfd, path, 0);
}

/* Take the writer away from the session if u still owns it. */
static struct cas_writer *take_writer(struct fs_upload *u)
{
	struct fs_session *sess = u->sess;
	struct cas_writer *w = NULL;
	pthread_mutex_lock(&sess->wlock);
	if (u->gen == sess->gen) {
		w = sess->w;
		sess->w = NULL;
		sess->gen++;
	}
	pthread_mutex_unlock(&sess->wlock);
	return w;
}

static int fs_upload_commit(struct reg_upload *up, const struct digest *expected, uint64_t *size,
                            struct err **err)
{
	struct fs_upload *u = (struct fs_upload *)up;
	struct fs_storage *fs = u->fs;
	struct fs_session *sess = u->sess;
	struct digest got;
	int rc;
	struct cas_writer *w = take_writer(u);
	if (w == NULL) {
		rc = superseded(err);
	} else {
		/* the session stays in the table while the blob is verified
		 * and published (fsync can take a while), so status queries
		 * keep their answer until it is gone */
		rc = cas_writer_commit(w, expected, -1, &got, size, err);
		if (rc == 0) {
			cleanup_free char *link = reg_fs_layer_link(sess->repo, &got);
			rc = touch_at(fs->rootfd, link, err);
		}
		remove_session_file(fs, sess);
		session_retire(fs, sess);
	}
	session_release(fs, sess);
	free(u);
	return rc;
}

static void fs_upload_close(struct reg_upload *up, bool cancel)
{
	struct fs_upload *u = (struct fs_upload *)up;
	struct fs_storage *fs = u->fs;
	struct fs_session *sess = u->sess;
	if (cancel) {
		struct cas_writer *w = NULL;
		pthread_mutex_lock(&sess->wlock);
		bool owner = u->gen == sess->gen;
		pthread_mutex_unlock(&sess->wlock);
		if (owner) {
			w = take_writer(u);
			session_retire(fs, sess);
			if (w != NULL)
				cas_writer_abort(w);
			else
				cas_upload_delete(fs->cas, sess->id, NULL);
			remove_session_file(fs, sess);
		}
	}
	session_release(fs, sess);
	free(u);
}

static int fs_upload_started(struct reg_storage *s, const char *repo, const char *id,
                             int64_t *started, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	cleanup_free char *path = session_path(repo, id);
	cleanup_buf struct buf b;
	int rc = read_small(&b, fs->rootfd, path, 64, err);
	if (rc < 0)
		return rc == ERR_NOTFOUND ? err_set(err, ERR_NOTFOUND, "upload unknown") : rc;
	*started = strtoll(buf_str(&b), NULL, 10);
	return 0;
}

/* ---- manifests ---- */

static int parse_digest_text(struct digest *out, const char *text, struct err **err)
{
	size_t n = strcspn(text, "\n");
	return digest_parse_n(out, text, n, err);
}

static int fs_manifest_resolve(struct reg_storage *s, const char *repo, const char *tag,
                               struct digest *out, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	cleanup_free char *path = tag_path(repo, tag);
	cleanup_buf struct buf b;
	if (read_small(&b, fs->rootfd, path, FS_MAX_LINK, NULL) < 0)
		return err_set(err, ERR_NOTFOUND, "manifest unknown");
	return parse_digest_text(out, buf_str(&b), err);
}

/* Parse "<media type>\n<size>\n<subject>\n". */
static int parse_meta(struct reg_manifest_meta *out, const char *text, const struct digest *d,
                      struct err **err)
{
	const char *nl = strchr(text, '\n');
	if (nl == NULL || (size_t)(nl - text) >= sizeof(out->media_type))
		return err_set(err, ERR_IO, "corrupt manifest link");
	memcpy(out->media_type, text, (size_t)(nl - text));
	out->media_type[nl - text] = '\0';
	out->size = strtoull(nl + 1, NULL, 10);
	out->digest = *d;
	return 0;
}

static int fs_manifest_meta(struct reg_storage *s, const char *repo, const struct digest *d,
                            struct reg_manifest_meta *out, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	cleanup_free char *path = reg_fs_revision_link(repo, d);
	cleanup_buf struct buf b;
	if (read_small(&b, fs->rootfd, path, FS_MAX_LINK, NULL) < 0)
		return err_set(err, ERR_NOTFOUND, "manifest unknown");
	return parse_meta(out, buf_str(&b), d, err);
}

static int fs_manifest_open(struct reg_storage *s, const char *repo, const struct digest *d,
                            int *fd, struct reg_manifest_meta *meta, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	int rc = fs_manifest_meta(s, repo, d, meta, err);
	if (rc < 0)
		return rc;
	rc = cas_open(fs->cas, d, fd, &meta->size, err);
	if (rc == ERR_NOTFOUND)
		return err_set(err, ERR_NOTFOUND, "manifest unknown");
	return rc;
}

static int write_referrer(struct fs_storage *fs, const char *repo, const struct digest *subject,
                          const struct reg_referrer *r, struct err **err)
{
	char ds[DIGEST_MAX_STRING];
	cleanup_json json_t *o = json_object();
	json_object_set_new(o, "mediaType", json_string(r->media_type));
	json_object_set_new(o, "digest", json_string(digest_format(&r->digest, ds)));
	json_object_set_new(o, "size", json_integer((json_int_t)r->size));
	if (r->artifact_type != NULL)
		json_object_set_new(o, "artifactType", json_string(r->artifact_type));
	if (r->annotations != NULL) {
		json_t *a = NULL;
		if (jx_load_buffer(&a, r->annotations, strlen(r->annotations), "annotations", 0,
		                   err) < 0)
			return ERR_INVALID;
		json_object_set_new(o, "annotations", a);
	}
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (jx_dump(&text, &len, o, 0, err) < 0)
		return ERR_INVALID;
	cleanup_free char *path = referrer_path(repo, subject, &r->digest);
	return write_atomic(fs->rootfd, path, text, len, true, err);
}

static int fs_manifest_put(struct reg_storage *s, const char *repo, const char *tag,
                           const void *data, size_t len, const struct reg_manifest_meta *meta,
                           const struct reg_referrer *as_referrer, const struct digest *subject,
                           struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	struct digest got;
	char ds[DIGEST_MAX_STRING], ss[DIGEST_MAX_STRING] = "";
	int rc = cas_ingest_buffer(fs->cas, data, len, meta->digest.algo, &got, err);
	if (rc < 0)
		return rc;
	if (!digest_equal(&got, &meta->digest))
		return err_set(err, ERR_DIGEST, "manifest digest mismatch");
	if (subject != NULL) {
		digest_format(subject, ss);
		rc = write_referrer(fs, repo, subject, as_referrer, err);
		if (rc < 0)
			return rc;
	}
	cleanup_free char *link = reg_fs_revision_link(repo, &meta->digest);
	cleanup_free char *text =
	        xasprintf("%s\n%llu\n%s\n", meta->media_type, (unsigned long long)len, ss);
	/* The manifest blob is durable (the CAS syncs it): so are its links,
	 * before the client is told 201. */
	rc = write_atomic(fs->rootfd, link, text, strlen(text), true, err);
	if (rc < 0 || tag == NULL)
		return rc;
	cleanup_free char *tpath = tag_path(repo, tag);
	cleanup_free char *line = xasprintf("%s\n", digest_format(&meta->digest, ds));
	return write_atomic(fs->rootfd, tpath, line, strlen(line), true, err);
}

/* Remove every tag of repo that points at d. */
static void untag_all(struct fs_storage *fs, const char *repo, const struct digest *d)
{
	cleanup_free char *dir = xasprintf("repositories/%s/_manifests/tags", repo);
	int dfd = openat(fs->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	cleanup_dir DIR *dh = fdopendir(dfd);
	if (dh == NULL) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		cleanup_buf struct buf b;
		struct digest t;
		buf_init(&b, FS_MAX_LINK);
		int fd = openat(dirfd(dh), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		int rc = buf_read_fd(&b, fd, de->d_name, NULL);
		close(fd);
		if (rc == 0 && parse_digest_text(&t, buf_str(&b), NULL) == 0 && digest_equal(&t, d))
			unlinkat(dirfd(dh), de->d_name, 0);
	}
}

static int fs_manifest_delete(struct reg_storage *s, const char *repo, const struct digest *d,
                              struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	cleanup_free char *link = reg_fs_revision_link(repo, d);
	cleanup_buf struct buf b;
	if (read_small(&b, fs->rootfd, link, FS_MAX_LINK, NULL) < 0)
		return err_set(err, ERR_NOTFOUND, "manifest unknown");
	/* third line: the subject, whose referrers entry goes too */
	const char *p = strchr(buf_str(&b), '\n');
	p = p != NULL ? strchr(p + 1, '\n') : NULL;
	struct digest subject;
	if (p != NULL && parse_digest_text(&subject, p + 1, NULL) == 0) {
		cleanup_free char *rp = referrer_path(repo, &subject, d);
		unlinkat(fs->rootfd, rp, 0);
	}
	untag_all(fs, repo, d);
	if (unlinkat(fs->rootfd, link, 0) < 0)
		return err_sys(err, map_errno(errno), errno, "%s", "cannot delete manifest link");
	return 0;
}

static int fs_tag_delete(struct reg_storage *s, const char *repo, const char *tag, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	cleanup_free char *path = tag_path(repo, tag);
	if (unlinkat(fs->rootfd, path, 0) < 0)
		return err_set(err, ERR_NOTFOUND, "manifest unknown");
	return 0;
}

/* ---- listings ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strv_sort(char **v)
{
	qsort(v, strv_len(v), sizeof(char *), cmp_str);
}

static bool repo_exists(struct fs_storage *fs, const char *repo)
{
	struct stat st;
	cleanup_free char *m = xasprintf("repositories/%s/_manifests", repo);
	cleanup_free char *l = xasprintf("repositories/%s/_layers", repo);
	return fstatat(fs->rootfd, m, &st, 0) == 0 || fstatat(fs->rootfd, l, &st, 0) == 0;
}

static int fs_tags_list(struct reg_storage *s, const char *repo, char ***out, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	char **v = xcalloc(1, sizeof(char *));
	cleanup_free char *dir = xasprintf("repositories/%s/_manifests/tags", repo);
	int dfd = openat(fs->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (!repo_exists(fs, repo)) {
			strv_free(v);
			return err_set(err, ERR_NOTFOUND, "repository name not known to registry");
		}
		*out = v;
		return 0;
	}
	DIR *dh = fdopendir(dfd);
	if (dh == NULL) {
		close(dfd);
		strv_free(v);
		return err_sys(err, ERR_IO, errno, "cannot list '%s'", dir);
	}
	struct dirent *de;
	while ((de = readdir(dh)) != NULL)
		if (de->d_name[0] != '.')
			strv_push(&v, de->d_name);
	closedir(dh);
	strv_sort(v);
	*out = v;
	return 0;
}

/* Collect repositories under rel (a directory relative to rootfd) whose
 * names start with prefix. Depth is bounded by the name length cap. */
static void collect_repos(int rootfd, const char *rel, const char *prefix, char ***v, int depth)
{
	if (depth > BALE_MAX_REPO_NAME / 2)
		return;
	int dfd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	cleanup_dir DIR *dh = fdopendir(dfd);
	if (dh == NULL) {
		close(dfd);
		return;
	}
	bool is_repo = false;
	struct dirent *de;
	char **subs = NULL;
	while ((de = readdir(dh)) != NULL) {
		if (str_eq(de->d_name, "_manifests") || str_eq(de->d_name, "_layers"))
			is_repo = true;
		else if (de->d_name[0] != '.' && de->d_name[0] != '_')
			strv_push(&subs, de->d_name);
	}
	if (is_repo && prefix[0] != '\0')
		strv_push(v, prefix);
	for (size_t i = 0; subs != NULL && subs[i] != NULL; i++) {
		cleanup_free char *sub = xasprintf("%s/%s", rel, subs[i]);
		cleanup_free char *name =
		        prefix[0] != '\0' ? xasprintf("%s/%s", prefix, subs[i]) : xstrdup(subs[i]);
		collect_repos(rootfd, sub, name, v, depth + 1);
	}
	strv_free(subs);
}

static int fs_repos_list(struct reg_storage *s, char ***out, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	char **v = xcalloc(1, sizeof(char *));
	collect_repos(fs->rootfd, "repositories", "", &v, 0);
	strv_sort(v);
	*out = v;
	return 0;
}

static int load_referrer(struct reg_referrer *r, int dfd, const char *name)
{
	cleanup_buf struct buf b;
	cleanup_json json_t *j = NULL;
	const char *mt = NULL, *dg = NULL, *at = NULL;
	json_t *ann = NULL;
	if (read_small(&b, dfd, name, FS_MAX_REFERRER, NULL) < 0 ||
	    jx_load_buffer(&j, b.data, b.len, name, 0, NULL) < 0)
		return -1;
	if (jx_get_string(&mt, j, "mediaType", true, "", NULL) < 0 ||
	    jx_get_string(&dg, j, "digest", true, "", NULL) < 0 ||
	    jx_get_size(&r->size, j, "size", true, "", NULL) < 0 ||
	    jx_get_string(&at, j, "artifactType", false, "", NULL) < 0 ||
	    jx_get_object(&ann, j, "annotations", false, "", NULL) < 0 ||
	    digest_parse(&r->digest, dg, NULL) < 0)
		return -1;
	r->media_type = xstrdup(mt);
	r->artifact_type = at != NULL ? xstrdup(at) : NULL;
	if (ann != NULL)
		jx_dump(&r->annotations, NULL, ann, 0, NULL);
	return 0;
}

static int fs_referrers_list(struct reg_storage *s, const char *repo, const struct digest *subject,
                             struct reg_referrer **out, size_t *n, struct err **err)
{
	struct fs_storage *fs = fs_of(s);
	cleanup_free char *dir = referrers_dir(repo, subject);
	*out = NULL;
	*n = 0;
	int dfd = openat(fs->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	cleanup_dir DIR *dh = fdopendir(dfd);
	if (dh == NULL) {
		close(dfd);
		return err_sys(err, ERR_IO, errno, "cannot list '%s'", dir);
	}
	struct dirent *de;
	size_t cap = 0;
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = xreallocarray(*out, cap, sizeof(**out));
		}
		struct reg_referrer *r = &(*out)[*n];
		struct reg_manifest_meta m;
		memset(r, 0, sizeof(*r));
		/* an entry whose manifest was deleted since is skipped */
		if (load_referrer(r, dirfd(dh), de->d_name) == 0 &&
		    fs_manifest_meta(s, repo, &r->digest, &m, NULL) == 0) {
			(*n)++;
			continue;
		}
		free(r->media_type);
		free(r->artifact_type);
		free(r->annotations);
	}
	return 0;
}

/* ---- lifecycle ---- */

/* Remove ".tmp-*" files left by a crash, below rel. */
static void sweep_temp(int rootfd, const char *rel, int depth)
{
	if (depth > BALE_MAX_REPO_NAME)
		return;
	int dfd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	cleanup_dir DIR *dh = fdopendir(dfd);
	if (dh == NULL) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dh)) != NULL) {
		if (str_eq(de->d_name, ".") || str_eq(de->d_name, ".."))
			continue;
		if (str_has_prefix(de->d_name, ".tmp-")) {
			unlinkat(dirfd(dh), de->d_name, 0);
			continue;
		}
		if (de->d_type == DT_DIR) {
			cleanup_free char *sub = xasprintf("%s/%s", rel, de->d_name);
			sweep_temp(rootfd, sub, depth + 1);
		}
	}
}

static void fs_free(struct reg_storage *s)
{
	struct fs_storage *fs = fs_of(s);
	while (fs->sessions != NULL) {
		struct fs_session *x = fs->sessions;
		fs->sessions = x->next;
		session_free(x);
	}
	cas_free(fs->cas);
	pthread_mutex_destroy(&fs->lock);
	free(fs->root);
	free(fs);
}

static const struct reg_storage_ops fs_ops = {
        .free = fs_free,
        .blob_stat = fs_blob_stat,
        .blob_open = fs_blob_open,
        .blob_link = fs_blob_link,
        .blob_unlink = fs_blob_unlink,
        .upload_new = fs_upload_new,
        .upload_open = fs_upload_open,
        .upload_write = fs_upload_write,
        .upload_size = fs_upload_size,
        .upload_commit = fs_upload_commit,
        .upload_close = fs_upload_close,
        .upload_started = fs_upload_started,
        .upload_status = fs_upload_status,
        .manifest_resolve = fs_manifest_resolve,
        .manifest_meta = fs_manifest_meta,
        .manifest_open = fs_manifest_open,
        .manifest_put = fs_manifest_put,
        .manifest_delete = fs_manifest_delete,
        .tag_delete = fs_tag_delete,
        .tags_list = fs_tags_list,
        .repos_list = fs_repos_list,
        .referrers_list = fs_referrers_list,
};

int reg_storage_fs_new(struct reg_storage **out, const char *root, struct err **err)
{
	return reg_storage_fs_open(out, root, true, err);
}

int reg_storage_fs_open(struct reg_storage **out, const char *root, bool sweep, struct err **err)
{
	struct cas *cas = NULL;
	int rc = cas_new(&cas, root, err);
	if (rc < 0)
		return err_wrap(err, "registry storage '%s'", root);
	struct fs_storage *fs = xcalloc(1, sizeof(*fs));
	fs->base.ops = &fs_ops;
	fs->cas = cas;
	fs->rootfd = cas_root_fd(cas);
	fs->root = xstrdup(root);
	pthread_mutex_init(&fs->lock, NULL);
	if (mkdirat(fs->rootfd, "repositories", 0755) < 0 && errno != EEXIST) {
		rc = err_sys(err, map_errno(errno), errno, "cannot create '%s/repositories'", root);
		fs_free(&fs->base);
		return rc;
	}
	if (sweep)
		sweep_temp(fs->rootfd, "repositories", 0);
	*out = &fs->base;
	return 0;
}

const char *reg_storage_fs_root(const struct reg_storage *s)
{
	return ((const struct fs_storage *)s)->root;
}

struct cas *reg_storage_fs_cas(struct reg_storage *s)
{
	return fs_of(s)->cas;
}
