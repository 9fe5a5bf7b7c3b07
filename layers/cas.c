/* The content-addressed blob store: see cas.h for the layout and the
 * guarantees. */
#include "config.h"

#include "layers/cas.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

/* Chunk size for copying and rehashing: large, because a syscall pair costs
 * about 3 us here and SHA-256 runs at 1.5 GiB/s. */
#define CAS_CHUNK (1u << 20)

#define TMP_PREFIX "tmp-"
/* Slots indexed by enum digest_algo (0 unused, sha256, sha512). */
#define N_ALGOS 3
#define UP_PREFIX "up-"

struct cas {
	char *root;
	int rootfd;
	int ingestfd;
	int blobfd[N_ALGOS]; /* indexed by enum digest_algo */
};

/* Hashing behind the writes (cas_writer_hash_behind): a thread reads back
 * from the page cache what the writer wrote and hashes it, so that the
 * caller's receiving and writing and the hashing run on two cores. */
#define BEHIND_CHUNK (128u << 10)
/* The thread is woken when this much is waiting for it... */
#define BEHIND_WAKE (4u << 20)
/* ...and starts the writeback of every span of this size it hashed, so
 * the fsync of commit finds most of the blob on disk already. */
#define BEHIND_WRITEBACK (8u << 20)

struct behind {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fd;
	struct hasher *h; /* the writer's; only the thread touches it until joined */
	char *chunk;      /* allocated here, so the thread needs no malloc arena */
	uint64_t written; /* bytes in the file (the writer's side) */
	uint64_t hashed;  /* bytes hashed (the thread's side) */
	bool done;        /* no more writes: hash up to written, then end */
	bool cancel;      /* end now */
	bool idle;        /* the thread waits for more */
	int error;        /* errno of a failed read */
};

struct cas_writer {
	struct cas *cas;
	int fd;
	char *name; /* temp file name inside ingest/ */
	char *id;   /* upload id, NULL when anonymous */
	enum digest_algo algo;
	struct hasher *h;
	uint64_t size;
	struct behind *behind; /* NULL: hashed inline */
	bool verified;         /* cas_writer_verify() passed: got is the digest */
	struct digest got;
};

static int sys_code(int e)
{
	switch (e) {
	case ENOENT:
		return ERR_NOTFOUND;
	case EACCES:
	case EPERM:
	case EROFS:
		return ERR_DENIED;
	case EEXIST:
		return ERR_EXISTS;
	default:
		return ERR_IO;
	}
}

static int mkdir_open(int dirfd, const char *name, const char *what, struct err **err)
{
	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return err_sys(err, sys_code(errno), errno, "cannot create '%s'", what);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, sys_code(errno), errno, "cannot open '%s'", what);
	return fd;
}

/* Whether the open file fd is still linked as name in dirfd (a cleaner may
 * have unlinked it between our open and our flock). */
static bool still_linked(int dirfd, const char *name, int fd)
{
	struct stat a, b;
	if (fstat(fd, &a) < 0 || fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Remove ingest/<name> if no live writer holds it. Returns true if removed. */
static bool remove_if_unlocked(int dirfd, const char *name)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return false;
	if (!still_linked(dirfd, name, fd))
		return false;
	return unlinkat(dirfd, name, 0) == 0;
}

/* The fd of the subdirectory path of the root, kept in *slot: opened (and
 * created when create is true) on first need, so an OCI layout opened as
 * a CAS (oci:DIR) gets no ingest/ or blobs/sha512 it does not use. Writer
 * threads may race here: the first fd stored wins. Returns the fd, or -1
 * with errno set (ENOENT: missing and create is false). */
static int lazy_dir(const struct cas *c, int *slot, const char *path, bool create)
{
	int fd = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (fd >= 0)
		return fd;
	if (create && mkdirat(c->rootfd, path, 0755) < 0 && errno != EEXIST)
		return -1;
	fd = openat(c->rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int expected = -1;
	if (!__atomic_compare_exchange_n(slot, &expected, fd, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		close(fd);
		return expected;
	}
	return fd;
}

/* The slots are filled lazily behind a const handle: readers of a CAS
 * still see a directory another process created after we opened. */
static int ingest_dir(const struct cas *c, bool create)
{
	return lazy_dir(c, (int *)&c->ingestfd, "ingest", create);
}

static int algo_dir(const struct cas *c, enum digest_algo algo, bool create)
{
	const char *path = algo == DIGEST_SHA512 ? "blobs/sha512" : "blobs/sha256";
	return lazy_dir(c, (int *)&c->blobfd[algo], path, create);
}

static void clean_ingest(struct cas *c)
{
	if (c->ingestfd < 0)
		return;
	int dfd = dup(c->ingestfd);
	if (dfd < 0)
		return;
	cleanup_dir DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (str_has_prefix(de->d_name, TMP_PREFIX))
			remove_if_unlocked(c->ingestfd, de->d_name);
}

static int cas_open_dirs(struct cas *c, struct err **err)
{
	if (mkdir(c->root, 0755) < 0 && errno != EEXIST)
		return err_sys(err, sys_code(errno), errno, "cannot create '%s'", c->root);
	c->rootfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->rootfd < 0)
		return err_sys(err, sys_code(errno), errno, "cannot open '%s'", c->root);
	cleanup_close int blobs = mkdir_open(c->rootfd, "blobs", "blobs", err);
	if (blobs < 0)
		return blobs;
	c->blobfd[DIGEST_SHA256] = mkdir_open(blobs, "sha256", "blobs/sha256", err);
	if (c->blobfd[DIGEST_SHA256] < 0)
		return c->blobfd[DIGEST_SHA256];
	/* blobs/sha512 and ingest/ only when there already (else on first
	 * need): a missing one is not an error. */
	(void)algo_dir(c, DIGEST_SHA512, false);
	(void)ingest_dir(c, false);
	return 0;
}

int cas_new(struct cas **out, const char *root, struct err **err)
{
	struct cas *c = xcalloc(1, sizeof(*c));
	c->rootfd = c->ingestfd = -1;
	for (size_t i = 0; i < ARRAY_SIZE(c->blobfd); i++)
		c->blobfd[i] = -1;
	c->root = xstrdup(root);
	int r = cas_open_dirs(c, err);
	if (r < 0) {
		err_wrap(err, "cannot open content store '%s'", root);
		cas_free(c);
		return r;
	}
	clean_ingest(c);
	*out = c;
	return 0;
}

void cas_free(struct cas *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(c->blobfd); i++)
		closep(&c->blobfd[i]);
	closep(&c->ingestfd);
	closep(&c->rootfd);
	free(c->root);
	free(c);
}

const char *cas_root(const struct cas *c)
{
	return c->root;
}

int cas_root_fd(const struct cas *c)
{
	return c->rootfd;
}

static int blob_dirfd(const struct cas *c, const struct digest *d, struct err **err)
{
	char s[DIGEST_MAX_STRING];
	if (d->algo != DIGEST_SHA256 && d->algo != DIGEST_SHA512)
		return err_set(err, ERR_UNSUPPORTED, "unsupported digest algorithm");
	int fd = algo_dir(c, d->algo, false);
	if (fd < 0)
		return err_sys(err, sys_code(errno), errno, "cannot open blob '%s'",
			       digest_format(d, s));
	return fd;
}

char *cas_blob_relpath(const struct digest *d)
{
	char hex[DIGEST_MAX_BYTES * 2 + 1];
	return xasprintf("blobs/%s/%s", digest_algo_name(d->algo), digest_hex(d, hex));
}

int cas_open(const struct cas *c, const struct digest *d, int *fd, uint64_t *size,
	     struct err **err)
{
	char hex[DIGEST_MAX_BYTES * 2 + 1], s[DIGEST_MAX_STRING];
	int dfd = blob_dirfd(c, d, err);
	if (dfd < 0)
		return dfd;
	cleanup_close int f = openat(dfd, digest_hex(d, hex), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0)
		return err_sys(err, sys_code(errno), errno, "cannot open blob '%s'", digest_format(d, s));
	if (size != NULL) {
		struct stat st;
		if (fstat(f, &st) < 0)
			return err_sys(err, ERR_IO, errno, "cannot stat blob '%s'", digest_format(d, s));
		*size = (uint64_t)st.st_size;
	}
	*fd = steal_fd(&f);
	return 0;
}

int cas_stat(const struct cas *c, const struct digest *d, uint64_t *size, struct err **err)
{
	char hex[DIGEST_MAX_BYTES * 2 + 1], s[DIGEST_MAX_STRING];
	int dfd = blob_dirfd(c, d, err);
	if (dfd < 0)
		return dfd;
	struct stat st;
	if (fstatat(dfd, digest_hex(d, hex), &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, sys_code(errno), errno, "cannot stat blob '%s'", digest_format(d, s));
	if (!S_ISREG(st.st_mode))
		return err_set(err, ERR_IO, "blob '%s' is not a regular file", digest_format(d, s));
	if (size != NULL)
		*size = (uint64_t)st.st_size;
	return 0;
}

bool cas_has(const struct cas *c, const struct digest *d)
{
	return cas_stat(c, d, NULL, NULL) == 0;
}

int cas_delete(const struct cas *c, const struct digest *d, struct err **err)
{
	char hex[DIGEST_MAX_BYTES * 2 + 1], s[DIGEST_MAX_STRING];
	int dfd = blob_dirfd(c, d, err);
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, digest_hex(d, hex), 0) < 0)
		return err_sys(err, sys_code(errno), errno, "cannot delete blob '%s'",
			       digest_format(d, s));
	return 0;
}

int cas_verify(const struct cas *c, const struct digest *d, struct err **err)
{
	char s[DIGEST_MAX_STRING], g[DIGEST_MAX_STRING];
	cleanup_close int fd = -1;
	int r = cas_open(c, d, &fd, NULL, err);
	if (r < 0)
		return r;
	struct digest got;
	if ((r = digest_fd(&got, NULL, d->algo, fd, err)) < 0)
		return err_wrap(err, "blob '%s'", digest_format(d, s));
	if (!digest_equal(&got, d))
		return err_set(err, ERR_DIGEST, "blob '%s' is corrupt: its content hashes to '%s'",
			       digest_format(d, s), digest_format(&got, g));
	return 0;
}

static int walk_dir(const struct cas *c, enum digest_algo algo, cas_walk_fn fn, void *ctx,
		    struct err **err)
{
	int bfd = algo_dir(c, algo, false);
	if (bfd < 0 && errno == ENOENT)
		return 0; /* no blob of that algorithm yet */
	int dfd = bfd < 0 ? -1 : dup(bfd);
	if (dfd < 0)
		return err_sys(err, ERR_IO, errno, "cannot walk blobs");
	cleanup_dir DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return err_sys(err, ERR_IO, errno, "cannot walk blobs");
	}
	rewinddir(d);
	const char *an = digest_algo_name(algo);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char s[DIGEST_MAX_STRING + 8];
		struct digest dg;
		struct stat st;
		if (de->d_name[0] == '.' || strlen(de->d_name) > 128)
			continue;
		snprintf(s, sizeof(s), "%s:%.128s", an, de->d_name);
		if (digest_parse(&dg, s, NULL) < 0)
			continue;
		if (fstatat(bfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		int r = fn(&dg, (uint64_t)st.st_size, (int64_t)st.st_mtime, ctx, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int cas_walk(const struct cas *c, cas_walk_fn fn, void *ctx, struct err **err)
{
	int r = walk_dir(c, DIGEST_SHA256, fn, ctx, err);
	if (r < 0)
		return r;
	return walk_dir(c, DIGEST_SHA512, fn, ctx, err);
}

/* ---- writers ---- */

static int check_id(const char *id, struct err **err)
{
	size_t n = strlen(id);
	if (n == 0 || n > CAS_MAX_UPLOAD_ID)
		return err_set(err, ERR_INVALID, "invalid upload id: must be 1 to %d characters",
			       CAS_MAX_UPLOAD_ID);
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-'))
			return err_set(err, ERR_INVALID, "invalid upload id '%.*s'", 64, id);
	}
	return 0;
}

static char *random_name(void)
{
	unsigned char b[12];
	char hex[sizeof(b) * 2 + 1];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* No entropy (very early boot): pid and clock are unique enough
		 * with O_EXCL retrying. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		return xasprintf(TMP_PREFIX "%d-%lld-%ld", (int)getpid(), (long long)ts.tv_sec,
				 ts.tv_nsec);
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	return xasprintf(TMP_PREFIX "%s", hex);
}

static struct cas_writer *writer_alloc(struct cas *c, enum digest_algo algo)
{
	struct cas_writer *w = xcalloc(1, sizeof(*w));
	w->cas = c;
	w->fd = -1;
	w->algo = algo != 0 ? algo : DIGEST_SHA256;
	w->h = hasher_new(w->algo);
	return w;
}

static void *behind_main(void *arg)
{
	struct behind *b = arg;
	char *chunk = b->chunk;
	uint64_t synced = 0;
	pthread_mutex_lock(&b->lock);
	for (;;) {
		while (!b->cancel && !b->done && b->written - b->hashed < BEHIND_WAKE) {
			b->idle = true;
			pthread_cond_wait(&b->cond, &b->lock);
			b->idle = false;
		}
		if (b->cancel || (b->done && b->hashed == b->written))
			break;
		uint64_t from = b->hashed, to = b->written;
		pthread_mutex_unlock(&b->lock);
		int error = 0;
		while (from < to) {
			size_t want = to - from < BEHIND_CHUNK ? (size_t)(to - from) : BEHIND_CHUNK;
			ssize_t n = pread(b->fd, chunk, want, (off_t)from);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				error = n < 0 ? errno : EIO; /* the file shrank under us */
				break;
			}
			hasher_update(b->h, chunk, (size_t)n);
			from += (uint64_t)n;
			if (from - synced >= BEHIND_WRITEBACK) {
				/* Only a hint: the commit's fsync is what counts. */
				(void)sync_file_range(b->fd, (off_t)synced, (off_t)(from - synced),
						      SYNC_FILE_RANGE_WRITE);
				synced = from;
			}
		}
		pthread_mutex_lock(&b->lock);
		b->hashed = from;
		if (error != 0) {
			b->error = error;
			break;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

void cas_writer_hash_behind(struct cas_writer *w)
{
	if (w->behind != NULL || w->id != NULL)
		return;
	struct behind *b = xcalloc(1, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->fd = w->fd;
	b->h = w->h;
	b->written = b->hashed = w->size; /* what was written so far is hashed */
	b->chunk = xmalloc(BEHIND_CHUNK);
	if (pthread_create(&b->thread, NULL, behind_main, b) != 0) {
		/* No thread: hash inline, as without the call. */
		pthread_cond_destroy(&b->cond);
		pthread_mutex_destroy(&b->lock);
		free(b->chunk);
		free(b);
		return;
	}
	w->behind = b;
}

/* Stop the thread: after hashing everything (finish) or at once. Returns
 * the errno of a failed read-back, 0 when all was hashed. */
static int behind_stop(struct cas_writer *w, bool finish)
{
	struct behind *b = w->behind;
	if (b == NULL)
		return 0;
	pthread_mutex_lock(&b->lock);
	b->done = true;
	b->cancel = !finish;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	int error = b->error;
	if (error == 0 && finish && b->hashed != b->written)
		error = EIO;
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b->chunk);
	free(b);
	w->behind = NULL;
	return error;
}

static void writer_free(struct cas_writer *w)
{
	(void)behind_stop(w, false);
	closep(&w->fd);
	hasher_free(w->h);
	free(w->name);
	free(w->id);
	free(w);
}

/* Create ingest/<name> exclusively and lock it; retries when a cleaner
 * removed it between create and lock. */
static int writer_create(struct cas_writer *w, struct err **err)
{
	if (ingest_dir(w->cas, true) < 0)
		return err_sys(err, sys_code(errno), errno, "cannot create '%s/ingest'", w->cas->root);
	for (int tries = 0; tries < 100; tries++) {
		if (w->id == NULL) {
			free(w->name);
			w->name = random_name();
		}
		int fd = openat(w->cas->ingestfd, w->name,
				O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0) {
			if (errno == EEXIST && w->id == NULL)
				continue;
			if (errno == EEXIST)
				return err_set(err, ERR_EXISTS, "upload '%s' already exists", w->id);
			return err_sys(err, sys_code(errno), errno, "cannot create temp file in '%s/ingest'",
				       w->cas->root);
		}
		if (flock(fd, LOCK_EX) < 0) {
			int e = errno;
			close(fd);
			return err_sys(err, ERR_IO, e, "cannot lock temp file");
		}
		if (still_linked(w->cas->ingestfd, w->name, fd)) {
			w->fd = fd;
			return 0;
		}
		close(fd);
	}
	return err_set(err, ERR_IO, "cannot create temp file in '%s/ingest'", w->cas->root);
}

int cas_writer_new(struct cas_writer **out, struct cas *c, enum digest_algo algo, const char *id,
		   struct err **err)
{
	if (id != NULL && check_id(id, err) < 0)
		return ERR_INVALID;
	struct cas_writer *w = writer_alloc(c, algo);
	if (id != NULL) {
		w->id = xstrdup(id);
		w->name = xasprintf(UP_PREFIX "%s", id);
	}
	int r = writer_create(w, err);
	if (r < 0) {
		writer_free(w);
		return r;
	}
	*out = w;
	return 0;
}

/* Hash the temp file from the start with algo into *out; size too. */
static int rehash_file(int fd, enum digest_algo algo, struct digest *out, uint64_t *size,
		       struct err **err)
{
	cleanup_hasher struct hasher *h = hasher_new(algo);
	cleanup_free char *chunk = xmalloc(CAS_CHUNK);
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, chunk, CAS_CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, ERR_IO, errno, "cannot read temp file");
		if (n == 0)
			break;
		hasher_update(h, chunk, (size_t)n);
		off += n;
	}
	hasher_final(h, out);
	if (size != NULL)
		*size = (uint64_t)off;
	return 0;
}

/* Lock the upload's temp file and feed the hasher with what is there: no
 * hash state needs to be persisted between sessions. */
static int writer_reopen(struct cas_writer *w, struct err **err)
{
	const char *id = w->id;
	int ifd = ingest_dir(w->cas, false);
	w->fd = ifd < 0 ? -1 : openat(ifd, w->name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (w->fd < 0)
		return err_sys(err, sys_code(errno), errno, "cannot open upload '%s'", id);
	if (flock(w->fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? err_set(err, ERR_BUSY, "upload '%s' is in use", id)
					    : err_sys(err, ERR_IO, errno, "cannot lock upload '%s'", id);
	if (!still_linked(w->cas->ingestfd, w->name, w->fd))
		return err_set(err, ERR_NOTFOUND, "upload '%s' was removed", id);
	cleanup_free char *chunk = xmalloc(CAS_CHUNK);
	for (;;) {
		ssize_t n = read(w->fd, chunk, CAS_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, ERR_IO, errno, "cannot read upload '%s'", id);
		if (n == 0)
			return 0;
		hasher_update(w->h, chunk, (size_t)n);
		w->size += (uint64_t)n;
	}
}

int cas_writer_resume(struct cas_writer **out, struct cas *c, enum digest_algo algo,
		      const char *id, struct err **err)
{
	if (check_id(id, err) < 0)
		return ERR_INVALID;
	struct cas_writer *w = writer_alloc(c, algo);
	w->id = xstrdup(id);
	w->name = xasprintf(UP_PREFIX "%s", id);
	int r = writer_reopen(w, err);
	if (r < 0) {
		writer_free(w);
		return r;
	}
	*out = w;
	return 0;
}

int cas_writer_write(struct cas_writer *w, const void *data, size_t n, struct err **err)
{
	if (w->verified)
		return err_set(err, ERR_INVALID, "blob written after it was sealed");
	int r = write_all(w->fd, data, n);
	if (r < 0)
		return err_sys(err, ERR_IO, -r, "cannot write temp file in '%s/ingest'", w->cas->root);
	w->size += n;
	struct behind *b = w->behind;
	if (b == NULL) {
		hasher_update(w->h, data, n);
		return 0;
	}
	pthread_mutex_lock(&b->lock);
	b->written = w->size;
	if (b->idle && b->written - b->hashed >= BEHIND_WAKE)
		pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

int cas_writer_write_fd(struct cas_writer *w, int fd, uint64_t max, uint64_t *copied,
			struct err **err)
{
	cleanup_free char *chunk = xmalloc(CAS_CHUNK);
	uint64_t total = 0;
	if (copied != NULL)
		*copied = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, CAS_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, ERR_IO, errno, "cannot read blob data");
		if (n == 0)
			return 0;
		if (max > 0 && total + (uint64_t)n > max)
			return err_set(err, ERR_TOOBIG, "blob data exceeds %llu bytes",
				       (unsigned long long)max);
		int r = cas_writer_write(w, chunk, (size_t)n, err);
		if (r < 0)
			return r;
		total += (uint64_t)n;
		if (copied != NULL)
			*copied = total;
	}
}

uint64_t cas_writer_size(const struct cas_writer *w)
{
	return w->size;
}

const char *cas_writer_id(const struct cas_writer *w)
{
	return w->id;
}

void cas_writer_digest(const struct cas_writer *w, struct digest *out)
{
	/* The running hasher cannot be copied, so hash the file again. */
	if (rehash_file(w->fd, w->algo, out, NULL, NULL) < 0)
		memset(out, 0, sizeof(*out));
}

/* Everything after the content checks: durability, then the rename. */
static int writer_publish(struct cas_writer *w, const struct digest *d, bool sync_dir,
			  struct err **err)
{
	char hex[DIGEST_MAX_BYTES * 2 + 1], s[DIGEST_MAX_STRING];
	int dfd = algo_dir(w->cas, d->algo, true);
	if (dfd < 0)
		return err_sys(err, sys_code(errno), errno, "cannot create '%s/blobs/%s'",
			       w->cas->root, digest_algo_name(d->algo));
	digest_hex(d, hex);
	struct stat st;
	/* Already there (another process, an earlier build): keep that copy,
	 * refresh its mtime so a concurrent prune's grace period spares it. */
	if (fstatat(dfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == w->size) {
		utimensat(dfd, hex, NULL, AT_SYMLINK_NOFOLLOW);
		unlinkat(w->cas->ingestfd, w->name, 0);
		return 0;
	}
	/* Read-only, as cas.h promises: a blob is never written in place. */
	if (fchmod(w->fd, 0444) < 0)
		return err_sys(err, ERR_IO, errno, "cannot store blob '%s'", digest_format(d, s));
	if (fsync(w->fd) < 0)
		return err_sys(err, ERR_IO, errno, "cannot sync blob '%s'", digest_format(d, s));
	if (renameat(w->cas->ingestfd, w->name, dfd, hex) < 0)
		return err_sys(err, sys_code(errno), errno, "cannot store blob '%s'", digest_format(d, s));
	if (sync_dir && fsync(dfd) < 0)
		return err_sys(err, ERR_IO, errno, "cannot sync blob directory");
	return 0;
}

static int writer_check(struct cas_writer *w, const struct digest *expected, int64_t expected_size,
			struct digest *got, struct err **err)
{
	char a[DIGEST_MAX_STRING], b[DIGEST_MAX_STRING];
	if (expected_size >= 0 && (uint64_t)expected_size != w->size)
		return err_set(err, ERR_DIGEST, "size mismatch: expected %lld bytes, got %llu",
			       (long long)expected_size, (unsigned long long)w->size);
	int e = behind_stop(w, true);
	if (e != 0)
		return err_sys(err, ERR_IO, e, "cannot read back temp file in '%s/ingest'",
			       w->cas->root);
	hasher_final(w->h, got);
	if (expected == NULL)
		return 0;
	if (expected->algo != DIGEST_SHA256 && expected->algo != DIGEST_SHA512)
		return err_set(err, ERR_UNSUPPORTED, "unsupported digest algorithm");
	if (expected->algo != w->algo) {
		int r = rehash_file(w->fd, expected->algo, got, NULL, err);
		if (r < 0)
			return r;
	}
	if (!digest_equal(expected, got))
		return err_set(err, ERR_DIGEST, "digest mismatch: expected '%s', got '%s'",
			       digest_format(expected, a), digest_format(got, b));
	return 0;
}

int cas_writer_seal(struct cas_writer *w, struct digest *out, struct err **err)
{
	if (!w->verified) {
		int r = writer_check(w, NULL, -1, &w->got, err);
		if (r < 0)
			return r;
		w->verified = true;
	}
	*out = w->got;
	return 0;
}

int cas_writer_verify(struct cas_writer *w, const struct digest *expected, int64_t expected_size,
		      struct err **err)
{
	int r = w->verified ? 0 : writer_check(w, expected, expected_size, &w->got, err);
	if (r < 0) {
		cas_writer_abort(w);
		return r;
	}
	w->verified = true;
	/* Start writing it out; the fsync of the commit then waits less. */
	(void)sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
}

int cas_writers_commit(struct cas_writer **ws, size_t n, struct err **err)
{
	int r = 0;
	bool dirs[N_ALGOS] = { false };
	struct cas *c = NULL;
	for (size_t i = 0; i < n; i++) {
		struct cas_writer *w = ws[i];
		ws[i] = NULL;
		if (r == 0 && !w->verified)
			r = err_set(err, ERR_INVALID, "blob committed unverified");
		if (r == 0)
			r = writer_publish(w, &w->got, false, err);
		if (r < 0) {
			cas_writer_abort(w);
			continue;
		}
		dirs[w->got.algo] = true;
		c = w->cas;
		writer_free(w);
	}
	/* The renames are durable once their directories are: one fsync for
	 * all of them. */
	for (size_t a = 0; c != NULL && a < N_ALGOS; a++) {
		int dfd = dirs[a] ? algo_dir(c, (enum digest_algo)a, false) : -1;
		if (dfd >= 0 && fsync(dfd) < 0 && r == 0)
			r = err_sys(err, ERR_IO, errno, "cannot sync blob directory");
	}
	return r;
}

int cas_writer_commit(struct cas_writer *w, const struct digest *expected, int64_t expected_size,
		      struct digest *out, uint64_t *size, struct err **err)
{
	struct digest got;
	int r = w->verified ? 0 : writer_check(w, expected, expected_size, &got, err);
	if (w->verified) {
		got = w->got;
		if ((expected != NULL && !digest_equal(expected, &got)) ||
		    (expected_size >= 0 && (uint64_t)expected_size != w->size))
			r = err_set(err, ERR_DIGEST, "blob verified against another digest or size");
	}
	if (r == 0)
		r = writer_publish(w, &got, true, err);
	if (r < 0) {
		cas_writer_abort(w);
		return r;
	}
	if (out != NULL)
		*out = got;
	if (size != NULL)
		*size = w->size;
	writer_free(w);
	return 0;
}

void cas_writer_abort(struct cas_writer *w)
{
	if (w == NULL)
		return;
	/* Unlink while still holding the lock, so no resumer sees a half-gone
	 * file. */
	unlinkat(w->cas->ingestfd, w->name, 0);
	writer_free(w);
}

void cas_writer_close(struct cas_writer *w)
{
	if (w == NULL)
		return;
	if (w->id == NULL) {
		cas_writer_abort(w);
		return;
	}
	writer_free(w);
}

int cas_upload_delete(struct cas *c, const char *id, struct err **err)
{
	if (check_id(id, err) < 0)
		return ERR_INVALID;
	cleanup_free char *name = xasprintf(UP_PREFIX "%s", id);
	int ifd = ingest_dir(c, false);
	cleanup_close int fd = ifd < 0 ? -1 : openat(ifd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_sys(err, sys_code(errno), errno, "cannot open upload '%s'", id);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return err_set(err, ERR_BUSY, "upload '%s' is in use", id);
	if (unlinkat(c->ingestfd, name, 0) < 0)
		return err_sys(err, sys_code(errno), errno, "cannot delete upload '%s'", id);
	return 0;
}

int cas_purge_uploads(struct cas *c, int64_t older_than, unsigned *removed, struct err **err)
{
	unsigned n = 0;
	if (removed != NULL)
		*removed = 0;
	int ifd = ingest_dir(c, false);
	if (ifd < 0 && errno == ENOENT)
		return 0; /* nothing was ever uploaded */
	int dfd = ifd < 0 ? -1 : dup(ifd);
	if (dfd < 0)
		return err_sys(err, ERR_IO, errno, "cannot list uploads");
	cleanup_dir DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return err_sys(err, ERR_IO, errno, "cannot list uploads");
	}
	rewinddir(d);
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (!str_has_prefix(de->d_name, UP_PREFIX))
			continue;
		if (fstatat(c->ingestfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if ((int64_t)(now - st.st_mtime) < older_than)
			continue;
		if (remove_if_unlocked(c->ingestfd, de->d_name))
			n++;
	}
	if (removed != NULL)
		*removed = n;
	return 0;
}

int cas_ingest_fd(struct cas *c, int fd, const struct digest *expected, int64_t expected_size,
		  struct digest *out, uint64_t *size, struct err **err)
{
	struct cas_writer *w = NULL;
	int r = cas_writer_new(&w, c, expected != NULL ? expected->algo : DIGEST_SHA256, NULL, err);
	if (r < 0)
		return r;
	r = cas_writer_write_fd(w, fd, 0, NULL, err);
	if (r < 0) {
		cas_writer_abort(w);
		return r;
	}
	return cas_writer_commit(w, expected, expected_size, out, size, err);
}

int cas_ingest_buffer(struct cas *c, const void *data, size_t n, enum digest_algo algo,
		      struct digest *out, struct err **err)
{
	struct cas_writer *w = NULL;
	int r = cas_writer_new(&w, c, algo, NULL, err);
	if (r < 0)
		return r;
	r = cas_writer_write(w, data, n, err);
	if (r < 0) {
		cas_writer_abort(w);
		return r;
	}
	return cas_writer_commit(w, NULL, -1, out, NULL, err);
}

int cas_read_all(const struct cas *c, const struct digest *d, size_t max, char **data, size_t *len,
		 struct err **err)
{
	char s[DIGEST_MAX_STRING], g[DIGEST_MAX_STRING];
	cleanup_close int fd = -1;
	uint64_t size;
	int r = cas_open(c, d, &fd, &size, err);
	if (r < 0)
		return r;
	if (size > max)
		return err_set(err, ERR_TOOBIG, "blob '%s' is %llu bytes, more than %zu",
			       digest_format(d, s), (unsigned long long)size, max);
	cleanup_free char *buf = xmalloc((size_t)size + 1);
	ssize_t n = read_full(fd, buf, (size_t)size);
	if (n < 0)
		return err_sys(err, ERR_IO, (int)-n, "cannot read blob '%s'", digest_format(d, s));
	if ((uint64_t)n != size)
		return err_set(err, ERR_IO, "blob '%s' changed while read", digest_format(d, s));
	buf[n] = '\0';
	struct digest got;
	digest_buffer(&got, d->algo, buf, (size_t)n);
	if (!digest_equal(&got, d))
		return err_set(err, ERR_DIGEST, "blob '%s' is corrupt: its content hashes to '%s'",
			       digest_format(d, s), digest_format(&got, g));
	*data = steal_pointer(&buf);
	if (len != NULL)
		*len = (size_t)n;
	return 0;
}
