/* The layer applier and import (layer.h). The compressed stream is
 * decompressed here rather than by libarchive's filters, so the
 * uncompressed bytes can be hashed (diff_id) and capped (decompression
 * bombs) exactly. */
#include "config.h"

#include "layers/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/path.h"
#include "common/util.h"
#include "layers/layer-pipe.h"

#define IN_CHUNK (1u << 20)
#define OUT_CHUNK (1u << 20)

enum layer_compression layer_detect(const unsigned char *m, size_t n)
{
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return LAYER_COMPRESS_GZIP;
	if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return LAYER_COMPRESS_ZSTD;
	return LAYER_COMPRESS_NONE;
}

void layer_apply_opts_init(struct layer_apply_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->allow_devices = geteuid() == 0;
	o->set_owner = geteuid() == 0;
}

/* ---- decompressing reader ---- */

#define ASYNC_SLOTS 4

struct lr_async {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *buf[ASYNC_SLOTS];
	size_t len[ASYNC_SLOTS];
	size_t rd;     /* next slot to hand out */
	size_t filled; /* slots ready, from rd on */
	bool held;     /* the slot before rd is still libarchive's */
	bool eof, failed, stop;
	bool running; /* th not joined yet */
};

struct lreader {
	struct lr_async *as; /* NULL: synchronous */
	int fd;
	bool seekable;
	off_t off;
	enum layer_compression comp;
	unsigned char *in;
	size_t in_len, in_pos;
	bool in_eof;
	unsigned char *out;
	z_stream zs;
	bool zs_init;
	ZSTD_DStream *zd;
	struct hasher *h; /* diff_id, NULL when not wanted */
	uint64_t total;   /* uncompressed bytes produced */
	uint64_t max;
	struct err *err;
};

static int lr_fill(struct lreader *r)
{
	if (r->in_pos < r->in_len || r->in_eof)
		return 0;
	ssize_t n;
	do
		n = r->seekable ? pread(r->fd, r->in, IN_CHUNK, r->off) : read(r->fd, r->in, IN_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_sys(&r->err, ERR_IO, errno, "cannot read layer");
	r->off += n;
	r->in_len = (size_t)n;
	r->in_pos = 0;
	r->in_eof = n == 0;
	return 0;
}

static ssize_t lr_gzip(struct lreader *r, unsigned char *dst)
{
	for (;;) {
		if (lr_fill(r) < 0)
			return -1;
		if (r->in_eof && r->in_pos >= r->in_len)
			return 0;
		r->zs.next_in = r->in + r->in_pos;
		r->zs.avail_in = (uInt)(r->in_len - r->in_pos);
		r->zs.next_out = dst;
		r->zs.avail_out = OUT_CHUNK;
		int z = inflate(&r->zs, Z_NO_FLUSH);
		r->in_pos = r->in_len - r->zs.avail_in;
		size_t got = OUT_CHUNK - r->zs.avail_out;
		if (z == Z_STREAM_END)
			inflateReset(&r->zs); /* a next gzip member may follow */
		else if (z != Z_OK && z != Z_BUF_ERROR)
			return err_set(&r->err, ERR_INVALID, "corrupt gzip stream: %s",
				       r->zs.msg ? r->zs.msg : "inflate failed");
		if (got > 0)
			return (ssize_t)got;
	}
}

static ssize_t lr_zstd(struct lreader *r, unsigned char *dst)
{
	for (;;) {
		if (lr_fill(r) < 0)
			return -1;
		if (r->in_eof && r->in_pos >= r->in_len)
			return 0;
		ZSTD_inBuffer in = { r->in, r->in_len, r->in_pos };
		ZSTD_outBuffer out = { dst, OUT_CHUNK, 0 };
		size_t z = ZSTD_decompressStream(r->zd, &out, &in);
		r->in_pos = in.pos;
		if (ZSTD_isError(z))
			return err_set(&r->err, ERR_INVALID, "corrupt zstd stream: %s", ZSTD_getErrorName(z));
		if (out.pos > 0)
			return (ssize_t)out.pos;
	}
}

/* Count, cap and hash n bytes just produced. */
static int lr_account(struct lreader *r, const void *buf, size_t n)
{
	r->total += (uint64_t)n;
	if (r->total > r->max)
		return err_set(&r->err, ERR_TOOBIG, "layer decompresses to more than %llu bytes",
			       (unsigned long long)r->max);
	if (r->h != NULL)
		hasher_update(r->h, buf, n);
	return 0;
}

/* Produce the next piece of the uncompressed stream: into dst when given
 * (the async thread's slots), else into r->out or, for plain tar, straight
 * from the input buffer. 0 at the end, -1 on error (r->err). */
static ssize_t lr_produce(struct lreader *r, unsigned char *dst, const void **buf)
{
	ssize_t n;
	if (r->comp == LAYER_COMPRESS_GZIP || r->comp == LAYER_COMPRESS_ZSTD) {
		unsigned char *o = dst != NULL ? dst : r->out;
		n = r->comp == LAYER_COMPRESS_GZIP ? lr_gzip(r, o) : lr_zstd(r, o);
		*buf = o;
	} else {
		if (lr_fill(r) < 0)
			return -1;
		n = (ssize_t)(r->in_len - r->in_pos);
		*buf = r->in + r->in_pos;
		if (dst != NULL && n > 0) {
			memcpy(dst, *buf, (size_t)n);
			*buf = dst;
		}
		r->in_pos = r->in_len;
	}
	if (n > 0 && lr_account(r, *buf, (size_t)n) < 0)
		return -1;
	return n;
}

/* ---- reading ahead on another thread: decompression and hashing run
 * beside extraction, as `tar -xf` runs zstd in a second process ---- */

static void *lr_thread(void *arg)
{
	struct lreader *r = arg;
	struct lr_async *as = r->as;
	for (;;) {
		pthread_mutex_lock(&as->mu);
		while (!as->stop && as->filled + (as->held ? 1 : 0) >= ASYNC_SLOTS)
			pthread_cond_wait(&as->cv, &as->mu);
		size_t idx = (as->rd + as->filled) % ASYNC_SLOTS;
		bool stop = as->stop;
		pthread_mutex_unlock(&as->mu);
		if (stop)
			return NULL;
		const void *b;
		ssize_t n = lr_produce(r, as->buf[idx], &b);
		pthread_mutex_lock(&as->mu);
		if (n < 0)
			as->failed = true;
		else if (n == 0)
			as->eof = true;
		else {
			as->len[idx] = (size_t)n;
			as->filled++;
		}
		pthread_cond_broadcast(&as->cv);
		pthread_mutex_unlock(&as->mu);
		if (n <= 0)
			return NULL;
	}
}

static ssize_t lr_async_read(struct lreader *r, const void **buf)
{
	struct lr_async *as = r->as;
	pthread_mutex_lock(&as->mu);
	if (as->held) {
		as->held = false;
		pthread_cond_broadcast(&as->cv);
	}
	while (as->filled == 0 && !as->eof && !as->failed)
		pthread_cond_wait(&as->cv, &as->mu);
	ssize_t n = 0;
	if (as->filled > 0) {
		size_t idx = as->rd;
		as->rd = (as->rd + 1) % ASYNC_SLOTS;
		as->filled--;
		as->held = true;
		*buf = as->buf[idx];
		n = (ssize_t)as->len[idx];
	} else if (as->failed) {
		n = -1;
	}
	pthread_mutex_unlock(&as->mu);
	return n;
}

static la_ssize_t lr_read(struct archive *a, void *ctx, const void **buf)
{
	struct lreader *r = ctx;
	(void)a;
	if (r->as != NULL)
		return lr_async_read(r, buf);
	return lr_produce(r, NULL, buf);
}

/* Skipping is only possible (and only asked for) on plain tar without a
 * hasher: the header-scan pass of an uncompressed layer. */
static la_int64_t lr_skip(struct archive *a, void *ctx, la_int64_t request)
{
	struct lreader *r = ctx;
	(void)a;
	if (r->as != NULL || r->comp != LAYER_COMPRESS_NONE || r->h != NULL || !r->seekable)
		return 0;
	size_t buffered = r->in_len - r->in_pos;
	if ((uint64_t)request <= buffered) {
		r->in_pos += (size_t)request;
	} else {
		r->off += request - (la_int64_t)buffered;
		r->in_pos = r->in_len = 0;
	}
	r->total += (uint64_t)request;
	return request;
}

static int lr_init(struct lreader *r, int fd, bool seekable, uint64_t max, bool hash, bool async,
		   struct err **err)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->seekable = seekable;
	r->max = max;
	r->in = xmalloc(IN_CHUNK);
	if (lr_fill(r) < 0) {
		err_move(err, &r->err);
		return ERR_IO;
	}
	r->comp = layer_detect(r->in, r->in_len);
	if (r->comp != LAYER_COMPRESS_NONE)
		r->out = xmalloc(OUT_CHUNK);
	if (r->comp == LAYER_COMPRESS_GZIP) {
		if (inflateInit2(&r->zs, 15 + 16) != Z_OK)
			abort();
		r->zs_init = true;
	} else if (r->comp == LAYER_COMPRESS_ZSTD) {
		r->zd = ZSTD_createDStream();
		ZSTD_initDStream(r->zd);
	}
	if (hash)
		r->h = hasher_new(DIGEST_SHA256);
	if (async) {
		struct lr_async *as = xcalloc(1, sizeof(*as));
		pthread_mutex_init(&as->mu, NULL);
		pthread_cond_init(&as->cv, NULL);
		for (size_t i = 0; i < ASYNC_SLOTS; i++)
			as->buf[i] = xmalloc(OUT_CHUNK > IN_CHUNK ? OUT_CHUNK : IN_CHUNK);
		r->as = as;
		if (pthread_create(&as->th, NULL, lr_thread, r) != 0)
			abort();
		as->running = true;
	}
	return 0;
}

/* Stop the read-ahead thread (idempotent), so r->err is ours to read. */
static void lr_stop(struct lreader *r)
{
	struct lr_async *as = r->as;
	if (as == NULL || !as->running)
		return;
	pthread_mutex_lock(&as->mu);
	as->stop = true;
	pthread_cond_broadcast(&as->cv);
	pthread_mutex_unlock(&as->mu);
	pthread_join(as->th, NULL);
	as->running = false;
}

static void lr_release(struct lreader *r)
{
	struct lr_async *as = r->as;
	if (as != NULL) {
		lr_stop(r);
		for (size_t i = 0; i < ASYNC_SLOTS; i++)
			free(as->buf[i]);
		pthread_mutex_destroy(&as->mu);
		pthread_cond_destroy(&as->cv);
		free(as);
	}
	free(r->in);
	free(r->out);
	if (r->zs_init)
		inflateEnd(&r->zs);
	ZSTD_freeDStream(r->zd);
	hasher_free(r->h);
	err_free(r->err);
}

/* Drain what libarchive did not read (padding after the end blocks), so the
 * diff_id covers the whole tar. */
static int lr_drain(struct lreader *r)
{
	for (;;) {
		const void *b;
		la_ssize_t n = lr_read(NULL, r, &b);
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
	}
}

static int ar_fail(struct lreader *r, struct archive *a, const char *what, struct err **err)
{
	lr_stop(r);
	if (r->err != NULL) {
		int code = r->err->code;
		err_move(err, &r->err);
		return code;
	}
	return err_set(err, ERR_INVALID, "%s: %s", what,
		       a != NULL && archive_error_string(a) ? archive_error_string(a) : "not a tar archive");
}

/* Start reading the layer in fd (from offset 0) as a tar: on success *a
 * reads through r, and the caller releases both with ar_close(). On an
 * error nothing is left to release. */
static int ar_open(struct lreader *r, struct archive **a, int fd, uint64_t max, bool hash,
		   bool async, struct err **err)
{
	int rc = lr_init(r, fd, true, max, hash, async, err);
	if (rc < 0)
		return rc;
	*a = archive_read_new();
	archive_read_support_format_tar(*a);
	archive_read_set_read_callback(*a, lr_read);
	archive_read_set_skip_callback(*a, lr_skip);
	archive_read_set_callback_data(*a, r);
	if (archive_read_open1(*a) == ARCHIVE_OK)
		return 0;
	archive_read_free(*a);
	*a = NULL;
	rc = ar_fail(r, NULL, "cannot read layer", err);
	lr_release(r);
	return rc;
}

static void ar_close(struct lreader *r, struct archive *a)
{
	archive_read_free(a);
	lr_release(r);
}

/* ---- pass 1: check every header before writing anything ---- */

struct entry_info {
	char *path; /* clean relative path */
	char *link; /* clean hardlink target, or NULL */
};

/* Check one name of entry `entry` (its path, or its hard link target raw):
 * "layer entry 'link': hard link target '../x' leaves the root". */
static int check_name(const char *entry, const char *raw, const char *what, char **clean,
		      struct err **err)
{
	bool own = entry == raw;
	if (strlen(raw) >= LAYER_MAX_ENTRY_PATH)
		return own ? err_set(err, ERR_TOOBIG, "layer entry '%.100s...': %s is too long", raw, what)
			   : err_set(err, ERR_TOOBIG, "layer entry '%.100s': %s '%.100s...' is too long",
				     entry, what, raw);
	const char *why = raw[0] == '/' ? "is absolute" : NULL;
	struct err *e = NULL;
	if (why == NULL && path_rel_safe(raw, clean, &e) < 0) {
		err_free(e);
		why = "leaves the root";
	}
	if (why == NULL)
		return 0;
	if (own)
		return err_set(err, ERR_INVALID, "layer entry '%s': %s %s", raw, what, why);
	return err_set(err, ERR_INVALID, "layer entry '%s': %s '%s' %s", entry, what, raw, why);
}

static int entry_check(struct archive_entry *e, const struct layer_apply_opts *o,
		       struct entry_info *info, struct err **err)
{
	const char *name = archive_entry_pathname(e);
	if (name == NULL)
		return err_set(err, ERR_INVALID, "layer entry without a name");
	int r = check_name(name, name, "path", &info->path, err);
	if (r < 0)
		return r;
	const char *base = strrchr(info->path, '/');
	base = base ? base + 1 : info->path;
	if (str_has_prefix(base, ".wh.") && !str_eq(base, ".wh..wh..opq")) {
		const char *victim = base + 4;
		if (victim[0] == '\0' || str_eq(victim, ".") || str_eq(victim, "..") ||
		    str_has_prefix(victim, ".wh."))
			return err_set(err, ERR_INVALID, "layer entry '%s': invalid whiteout", name);
	}
	const char *hl = archive_entry_hardlink(e);
	if (hl != NULL && (r = check_name(name, hl, "hard link target", &info->link, err)) < 0)
		return r;
	mode_t t = archive_entry_filetype(e);
	if (hl == NULL && (t == AE_IFCHR || t == AE_IFBLK) && !o->allow_devices)
		return err_set(err, ERR_DENIED, "layer entry '%s': device nodes are not allowed here",
			       name);
	if (hl == NULL && t != AE_IFREG && t != AE_IFDIR && t != AE_IFLNK && t != AE_IFCHR &&
	    t != AE_IFBLK && t != AE_IFIFO && t != AE_IFSOCK)
		return err_set(err, ERR_INVALID, "layer entry '%s': unknown file type", name);
	const char *sl = archive_entry_symlink(e);
	if (sl != NULL && strlen(sl) >= LAYER_MAX_ENTRY_PATH)
		return err_set(err, ERR_TOOBIG, "layer entry '%s': symlink target is too long", name);
	return 0;
}

static void info_release(struct entry_info *i)
{
	free(i->path);
	free(i->link);
	i->path = i->link = NULL;
}

/* Caps seen in the headers: the bytes between the previous entry's data and
 * this entry's data are its headers (a pax header beyond LAYER_MAX_PAX is
 * refused), and the declared size must fit under the decompressed cap
 * before a byte of it is read. */
static int header_check(struct archive *a, struct archive_entry *e, int64_t prev_end, uint64_t max,
			struct err **err)
{
	const char *name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "?";
	int64_t pos = archive_filter_bytes(a, 0);
	if (pos - prev_end > (int64_t)LAYER_MAX_PAX + 8192)
		return err_set(err, ERR_TOOBIG, "layer entry '%s': headers of %lld bytes exceed %u", name,
			       (long long)(pos - prev_end), LAYER_MAX_PAX);
	if (archive_entry_size(e) > 0 && (uint64_t)pos + (uint64_t)archive_entry_size(e) > max)
		return err_set(err, ERR_TOOBIG,
			       "layer entry '%s': layer decompresses to more than %llu bytes", name,
			       (unsigned long long)max);
	return 0;
}

/* Where the next entry's headers start: the data end, padded to 512. */
static int64_t data_end(struct archive *a)
{
	int64_t p = archive_filter_bytes(a, 0);
	return p + (512 - p % 512) % 512;
}

/* ---- opaque directories: found by the scan pass, emptied in pass 2 ---- */

struct opq {
	char *path;   /* clean relative path of a directory with a marker */
	bool emptied; /* its lower content was removed already */
};

/* An open-addressing set of the directories a layer marks opaque. */
struct opq_set {
	struct opq *v;
	size_t cap, n;
	size_t bytes; /* counted against LAYER_MAX_OPAQUE */
};

static size_t opq_hash(const char *p, size_t len)
{
	size_t h = 14695981039346656037u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211u;
	return h;
}

static struct opq *opq_find(const struct opq_set *s, const char *p, size_t len)
{
	if (s == NULL || s->n == 0)
		return NULL;
	for (size_t i = opq_hash(p, len) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		struct opq *o = &s->v[i];
		if (o->path == NULL)
			return NULL;
		if (strncmp(o->path, p, len) == 0 && o->path[len] == '\0')
			return o;
	}
}

static int opq_add(struct opq_set *s, const char *dir, const char *entry, struct err **err)
{
	size_t len = strlen(dir);
	if (opq_find(s, dir, len) != NULL)
		return 0;
	s->bytes += len + 1 + sizeof(struct opq);
	if (s->bytes > LAYER_MAX_OPAQUE)
		return err_set(err, ERR_TOOBIG,
			       "layer entry '%s': opaque directories exceed %u bytes of names", entry,
			       LAYER_MAX_OPAQUE);
	if (2 * (s->n + 1) > s->cap) {
		struct opq_set t = { .cap = s->cap ? 2 * s->cap : 64 };
		t.v = xcalloc(t.cap, sizeof(*t.v));
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i].path != NULL) {
				size_t j = opq_hash(s->v[i].path, strlen(s->v[i].path)) & (t.cap - 1);
				while (t.v[j].path != NULL)
					j = (j + 1) & (t.cap - 1);
				t.v[j] = s->v[i];
			}
		free(s->v);
		s->v = t.v;
		s->cap = t.cap;
	}
	size_t i = opq_hash(dir, len) & (s->cap - 1);
	while (s->v[i].path != NULL)
		i = (i + 1) & (s->cap - 1);
	s->v[i].path = xstrdup(dir);
	s->n++;
	return 0;
}

static void opq_release(struct opq_set *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->v[i].path);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* If the entry at the clean path `path` is an opaque marker, add its
 * directory to s. */
static int opq_note(struct opq_set *s, const char *path, struct err **err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!str_eq(base, ".wh..wh..opq"))
		return 0;
	cleanup_free char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	return opq_add(s, dir, path, err);
}

/* The next entry of the layer, its header and names checked: 1 with *e
 * and *info filled (info_release it), 0 at the end, or an error.
 * *prev_end is where the previous entry's data ended (the caller sets it
 * with data_end after reading or skipping that data). */
static int next_entry(struct lreader *r, struct archive *a, const struct layer_apply_opts *o,
		      uint64_t max, int64_t prev_end, struct archive_entry **e,
		      struct entry_info *info, struct err **err)
{
	memset(info, 0, sizeof(*info));
	int ar = archive_read_next_header(a, e);
	if (ar == ARCHIVE_EOF)
		return 0;
	if (ar < ARCHIVE_WARN)
		return ar_fail(r, a, "cannot read layer", err);
	int rc = header_check(a, *e, prev_end, max, err);
	if (rc == 0)
		rc = entry_check(*e, o, info, err);
	return rc < 0 ? rc : 1;
}

/* Check every header; with opq, also collect the opaque directories. */
static int scan_layer(int fd, const struct layer_apply_opts *o, uint64_t max, struct opq_set *opq,
		      struct err **err)
{
	struct lreader r;
	struct archive *a;
	int rc = ar_open(&r, &a, fd, max, false, false, err);
	if (rc < 0)
		return rc;
	struct archive_entry *e;
	struct entry_info info;
	int64_t prev_end = 0;
	while ((rc = next_entry(&r, a, o, max, prev_end, &e, &info, err)) > 0) {
		rc = opq != NULL ? opq_note(opq, info.path, err) : 0;
		info_release(&info);
		if (rc < 0)
			break;
		if (archive_read_data_skip(a) < ARCHIVE_WARN) {
			rc = ar_fail(&r, a, "cannot read layer", err);
			break;
		}
		prev_end = data_end(a);
	}
	if (rc < 0)
		info_release(&info);
	ar_close(&r, a);
	return rc;
}

/* ---- pass 2: extraction ---- */

/* The mode and mtime of a directory of the layer, set once its children
 * are written (creating them changes the mtime; a read-only mode would
 * stop them). */
struct dir_fix {
	size_t len; /* of its path: a prefix of ax.stack_path */
	mode_t mode;
	int64_t mtime;
	long mtime_ns;
};

/* Directories the extraction left, kept for a while in case a later entry
 * goes back into one (a layer whose names are sorted as whole paths has
 * "a", "a.txt", "a/x"). */
#define DIR_RECENT 16

struct ax {
	const struct layer_apply_opts *o;
	int root;
	char *parent_path; /* cached parent */
	int parent_fd;
	/* Directories of the layer whose subtree is being written, each an
	 * ancestor of the next, so memory is bounded by the depth of a path
	 * (as GNU tar's delayed_set_stat), not by the number of entries. */
	struct dir_fix *stack;
	size_t nstack, capstack;
	char *stack_path; /* path of the deepest one */
	struct {
		char *path;
		struct dir_fix fix;
	} recent[DIR_RECENT];
	size_t nrecent; /* total ever left; recent[i % DIR_RECENT] */
	/* opaque directories (found by the scan pass), NULL when the target
	 * was empty: then there is no lower content to hide */
	struct opq_set *opq;
	char *buf;
};

static int rm_rf_at(int dirfd, const char *name);

static int rm_children(int fd)
{
	int dfd = dup(fd);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return -errno;
	}
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d)) != NULL) {
		if (str_eq(de->d_name, ".") || str_eq(de->d_name, ".."))
			continue;
		if (rm_rf_at(fd, de->d_name) < 0)
			r = -errno;
	}
	closedir(d);
	return r;
}

static int rm_rf_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rm_children(fd);
	close(fd);
	return unlinkat(dirfd, name, AT_REMOVEDIR) == 0 ? 0 : -errno;
}

static void split_path(const char *path, char **parent, const char **base)
{
	const char *s = strrchr(path, '/');
	if (s == NULL) {
		*parent = xstrdup(".");
		*base = path;
	} else {
		*parent = xstrndup(path, (size_t)(s - path));
		*base = s + 1;
	}
}

static int parent_fd(struct ax *x, const char *parent, struct err **err)
{
	if (x->parent_path != NULL && str_eq(x->parent_path, parent))
		return x->parent_fd;
	closep(&x->parent_fd);
	free(x->parent_path);
	x->parent_path = NULL;
	int fd = str_eq(parent, ".") ? dup(x->root) : path_mkdir_in_root(x->root, parent, 0755, err);
	if (fd < 0)
		return fd;
	x->parent_fd = fd;
	x->parent_path = xstrdup(parent);
	return fd;
}

static uint32_t map_id(const struct ax *x, bool gid, int64_t id)
{
	uint32_t out = (uint32_t)id;
	if (x->o->map_id != NULL && x->o->map_id(x->o->map_ctx, gid, (uint32_t)id, &out) < 0)
		out = (uint32_t)id;
	return out;
}

/* Empty the directory dir (its content from lower layers) before the first
 * entry of this layer below it is written, so nothing of this layer is
 * removed wherever the marker comes among the directory's entries. */
static int empty_opaque(struct ax *x, const char *dir, const char *name, struct err **err)
{
	struct err *e = NULL;
	int fd = path_open_in_root(x->root, dir, O_RDONLY | O_DIRECTORY, 0, &e);
	if (fd < 0) {
		bool missing = e != NULL && e->code == ERR_NOTFOUND;
		err_free(e);
		if (missing)
			return 0;
		return err_set(err, ERR_IO, "layer entry '%s': cannot open opaque directory '%s'", name,
			       dir);
	}
	int r = rm_children(fd);
	close(fd);
	/* a cached parent may have been below it */
	closep(&x->parent_fd);
	free(x->parent_path);
	x->parent_path = NULL;
	if (r < 0)
		return err_sys(err, ERR_IO, -r, "layer entry '%s': cannot empty directory", name);
	return 0;
}

static int opaque_one(struct ax *x, const char *dir, size_t len, const char *name,
		      struct err **err)
{
	struct opq *o = opq_find(x->opq, dir, len);
	if (o == NULL || o->emptied)
		return 0;
	o->emptied = true;
	return empty_opaque(x, o->path, name, err);
}

/* Before writing the entry at path: empty its opaque ancestors ("." and
 * each directory above it) not emptied yet. */
static int opaque_before(struct ax *x, const char *path, const char *name, struct err **err)
{
	if (x->opq == NULL || x->opq->n == 0)
		return 0;
	int r = opaque_one(x, ".", 1, name, err);
	for (const char *p = strchr(path, '/'); r == 0 && p != NULL; p = strchr(p + 1, '/'))
		r = opaque_one(x, path, (size_t)(p - path), name, err);
	return r;
}

static int apply_whiteout(struct ax *x, int pfd, const char *base, const char *name,
			  struct err **err)
{
	if (str_eq(base, ".wh..wh..opq")) {
		if (x->o->mode == LAYER_APPLY_OVERLAY) {
			const char *key = x->o->user_xattr ? "user.overlay.opaque" : "trusted.overlay.opaque";
			if (fsetxattr(pfd, key, "y", 1, 0) < 0)
				return err_sys(err, ERR_IO, errno, "layer entry '%s': cannot mark opaque", name);
			return 0;
		}
		/* emptied by opaque_before(), or nothing to hide */
		return 0;
	}
	const char *victim = base + 4;
	if (rm_rf_at(pfd, victim) < 0)
		return err_sys(err, ERR_IO, errno, "layer entry '%s': cannot remove '%s'", name, victim);
	if (x->o->mode == LAYER_APPLY_OVERLAY && mknodat(pfd, victim, S_IFCHR | 0, makedev(0, 0)) < 0)
		return err_sys(err, ERR_IO, errno, "layer entry '%s': cannot create whiteout", name);
	return 0;
}

/* xattrs a layer may set: file capabilities, ACLs and user.* data. Never
 * the overlay's own (user.overlay.*, trusted.*: an opaque or redirect xattr
 * smuggled into a lower dir would change what the mounted rootfs shows) nor
 * security labels of this host. */
static bool xattr_allowed(const char *name)
{
	if (str_has_prefix(name, "user.overlay."))
		return false;
	return str_eq(name, "security.capability") || str_has_prefix(name, "user.") ||
	       str_eq(name, "system.posix_acl_access") || str_eq(name, "system.posix_acl_default");
}

static void set_meta_fd(struct ax *x, int fd, struct archive_entry *e, bool is_dir)
{
	if (x->o->set_owner)
		(void)!fchown(fd, map_id(x, false, archive_entry_uid(e)), map_id(x, true, archive_entry_gid(e)));
	const char *xn;
	const void *xv;
	size_t xs;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK)
		if (xattr_allowed(xn))
			fsetxattr(fd, xn, xv, xs, 0);
	if (!is_dir) {
		fchmod(fd, archive_entry_mode(e) & 07777);
		struct timespec ts[2] = {
			{ archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
			{ archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
		};
		futimens(fd, ts);
	}
}

static int write_data(struct archive *a, struct archive_entry *e, int fd, const char *name,
		      struct err **err)
{
	int64_t total = archive_entry_size(e);
	const void *buf;
	size_t size;
	la_int64_t off;
	int64_t end = 0;
	bool sparse = false;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return -1;
		if (off != end) {
			sparse = true;
			if (lseek(fd, off, SEEK_SET) < 0)
				return err_sys(err, ERR_IO, errno, "layer entry '%s': cannot seek", name);
		}
		int w = write_all(fd, buf, size);
		if (w < 0)
			return err_sys(err, ERR_IO, -w, "layer entry '%s': cannot write", name);
		end = off + (int64_t)size;
	}
	/* The file was created empty: written in one run, it has its size
	 * already. A sparse one may end with a hole: its size is the entry's
	 * (header_check held it under the decompressed cap). */
	if (sparse || end != total) {
		if (total < end)
			total = end;
		if (ftruncate(fd, total) < 0)
			return err_sys(err, ERR_IO, errno, "layer entry '%s': cannot truncate", name);
	}
	return 0;
}

/* ---- directory modes and times, set when the extraction leaves them ---- */

static void dir_apply(struct ax *x, const char *path, const struct dir_fix *d)
{
	int fd = path_open_in_root(x->root, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, NULL);
	if (fd < 0)
		return;
	fchmod(fd, d->mode);
	struct timespec ts[2] = { { d->mtime, d->mtime_ns }, { d->mtime, d->mtime_ns } };
	futimens(fd, ts);
	close(fd);
}

static void dirs_push(struct ax *x, const char *path, const struct dir_fix *f)
{
	if (x->nstack == x->capstack) {
		x->capstack = x->capstack ? 2 * x->capstack : 32;
		x->stack = xreallocarray(x->stack, x->capstack, sizeof(*x->stack));
	}
	if (x->stack_path == NULL)
		x->stack_path = xmalloc(LAYER_MAX_ENTRY_PATH);
	size_t len = strlen(path); /* < LAYER_MAX_ENTRY_PATH: entry_check */
	memcpy(x->stack_path, path, len + 1);
	x->stack[x->nstack] = *f;
	x->stack[x->nstack++].len = len;
}

/* Set the mode and time of the directories the entry at path is not in
 * (all of them for ""), deepest first, and remember them a while. */
static void dirs_leave(struct ax *x, const char *path)
{
	while (x->nstack > 0) {
		struct dir_fix *d = &x->stack[x->nstack - 1];
		if (strncmp(x->stack_path, path, d->len) == 0 && path[d->len] == '/')
			break;
		x->stack_path[d->len] = '\0';
		dir_apply(x, x->stack_path, d);
		size_t k = x->nrecent++ % DIR_RECENT;
		free(x->recent[k].path);
		x->recent[k].path = xstrdup(x->stack_path);
		x->recent[k].fix = *d;
		x->nstack--;
	}
	if (x->nstack > 0)
		x->stack_path[x->stack[x->nstack - 1].len] = '\0';
}

/* The entry at path goes into a directory the extraction left a moment
 * ago: take it back (writable again) until the extraction leaves it again. */
static void dirs_reenter(struct ax *x, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return;
	size_t len = (size_t)(slash - path);
	if (x->nstack > 0 && x->stack[x->nstack - 1].len == len)
		return; /* still in it */
	for (size_t i = 0; i < DIR_RECENT; i++) {
		char *p = x->recent[i].path;
		if (p == NULL || strncmp(p, path, len) != 0 || p[len] != '\0')
			continue;
		struct dir_fix f = x->recent[i].fix;
		int fd = path_open_in_root(x->root, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, NULL);
		if (fd >= 0) {
			fchmod(fd, f.mode | 0700);
			close(fd);
		}
		dirs_push(x, p, &f);
		free(p);
		x->recent[i].path = NULL;
		return;
	}
}

static void dirs_release(struct ax *x)
{
	dirs_leave(x, "");
	for (size_t i = 0; i < DIR_RECENT; i++)
		free(x->recent[i].path);
	free(x->stack);
	free(x->stack_path);
}

static int extract_dir(struct ax *x, int pfd, const char *base, const char *path,
		       struct archive_entry *e, struct err **err)
{
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
		rm_rf_at(pfd, base);
	if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST)
		return err_sys(err, ERR_IO, errno, "layer entry '%s': cannot create directory", path);
	cleanup_close int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, ERR_IO, errno, "layer entry '%s': cannot open directory", path);
	set_meta_fd(x, fd, e, true);
	dirs_push(x, path,
		  &(struct dir_fix){ 0, archive_entry_mode(e) & 07777, archive_entry_mtime(e),
				     archive_entry_mtime_nsec(e) });
	return 0;
}

static int extract_file(struct ax *x, struct archive *a, int pfd, const char *base,
			const char *path, struct archive_entry *e, struct err **err)
{
	/* O_EXCL: never through a symlink or into an existing file (its other
	 * hard links); what is there goes first, only when something is. */
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	cleanup_close int fd = openat(pfd, base, flags, 0600);
	if (fd < 0 && errno == EEXIST) {
		rm_rf_at(pfd, base);
		fd = openat(pfd, base, flags, 0600);
	}
	if (fd < 0)
		return err_sys(err, ERR_IO, errno, "layer entry '%s': cannot create", path);
	int r = write_data(a, e, fd, path, err);
	if (r < 0)
		return r;
	set_meta_fd(x, fd, e, false);
	return 0;
}

static int extract_link(struct ax *x, int pfd, const char *base, const char *path,
			const struct entry_info *info, struct err **err)
{
	cleanup_free char *tparent = NULL;
	const char *tbase;
	split_path(info->link, &tparent, &tbase);
	cleanup_close int tfd = path_open_in_root(x->root, tparent, O_PATH | O_DIRECTORY, 0, err);
	if (tfd < 0)
		return err_wrap(err, "layer entry '%s': hard link target '%s'", path, info->link);
	rm_rf_at(pfd, base);
	if (linkat(tfd, tbase, pfd, base, 0) < 0)
		return err_sys(err, ERR_IO, errno, "layer entry '%s': cannot link to '%s'", path, info->link);
	return 0;
}

static int extract_special(struct ax *x, int pfd, const char *base, const char *path,
			   struct archive_entry *e, struct err **err)
{
	mode_t t = archive_entry_filetype(e);
	rm_rf_at(pfd, base);
	int r;
	if (t == AE_IFLNK)
		r = symlinkat(archive_entry_symlink(e), pfd, base);
	else
		r = mknodat(pfd, base, t | (archive_entry_mode(e) & 07777), archive_entry_rdev(e));
	if (r < 0)
		return err_sys(err, ERR_IO, errno, "layer entry '%s': cannot create", path);
	if (x->o->set_owner)
		(void)!fchownat(pfd, base, map_id(x, false, archive_entry_uid(e)),
				map_id(x, true, archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW);
	if (t != AE_IFLNK && fchmodat(pfd, base, archive_entry_mode(e) & 07777, 0) < 0)
		return err_sys(err, ERR_IO, errno, "layer entry '%s': cannot set its mode", path);
	struct timespec ts[2] = { { archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
				  { archive_entry_mtime(e), archive_entry_mtime_nsec(e) } };
	utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int extract_entry(struct ax *x, struct archive *a, struct archive_entry *e,
			 const struct entry_info *info, struct err **err)
{
	if (str_eq(info->path, "."))
		return 0;
	mode_t t = archive_entry_filetype(e);
	if (t == AE_IFSOCK)
		return 0;
	dirs_leave(x, info->path);
	dirs_reenter(x, info->path);
	int r = opaque_before(x, info->path, archive_entry_pathname(e), err);
	if (r < 0)
		return r;
	cleanup_free char *parent = NULL;
	const char *base;
	split_path(info->path, &parent, &base);
	int pfd = parent_fd(x, parent, err);
	if (pfd < 0)
		return err_wrap(err, "layer entry '%s'", archive_entry_pathname(e));
	if (str_has_prefix(base, ".wh."))
		return apply_whiteout(x, pfd, base, archive_entry_pathname(e), err);
	if (info->link != NULL)
		return extract_link(x, pfd, base, info->path, info, err);
	if (t == AE_IFDIR)
		return extract_dir(x, pfd, base, info->path, e, err);
	if (t == AE_IFREG)
		return extract_file(x, a, pfd, base, info->path, e, err);
	return extract_special(x, pfd, base, info->path, e, err);
}

static int extract_layer(int fd, int root, const struct layer_apply_opts *o, uint64_t max,
			 struct opq_set *opq, struct digest *diff_id, struct err **err)
{
	struct lreader r;
	struct archive *a;
	int rc = ar_open(&r, &a, fd, max, true, true, err);
	if (rc < 0)
		return rc;
	struct ax x = { .o = o, .root = root, .parent_fd = -1, .opq = opq };
	struct archive_entry *e;
	struct entry_info info;
	int64_t prev_end = 0;
	while ((rc = next_entry(&r, a, o, max, prev_end, &e, &info, err)) > 0) {
		rc = extract_entry(&x, a, e, &info, err);
		if (rc == 0 && archive_read_data_skip(a) < ARCHIVE_WARN)
			rc = ar_fail(&r, a, "cannot read layer", err);
		prev_end = data_end(a);
		info_release(&info);
		if (rc < 0)
			break;
	}
	if (rc < 0)
		info_release(&info);
	if (rc == 0 && lr_drain(&r) < 0)
		rc = ar_fail(&r, NULL, "cannot read layer", err);
	if (rc == 0 && diff_id != NULL)
		hasher_final(r.h, diff_id);
	dirs_release(&x);
	closep(&x.parent_fd);
	free(x.parent_path);
	ar_close(&r, a);
	return rc;
}

/* Whether dir is missing (1: *created tells the caller to create it) or an
 * empty directory (1), else 0. */
static int target_is_fresh(const char *dir, bool *missing)
{
	*missing = false;
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*missing = errno == ENOENT;
		return *missing;
	}
	DIR *d = fdopendir(fd);
	if (d == NULL)
		return 0;
	fd = -1;
	struct dirent *de;
	int fresh = 1;
	while (fresh && (de = readdir(d)) != NULL)
		fresh = str_eq(de->d_name, ".") || str_eq(de->d_name, "..");
	closedir(d);
	return fresh;
}

int layer_apply_fd(int fd, const char *target, const struct layer_apply_opts *o,
		   struct digest *diff_id, struct err **err)
{
	struct layer_apply_opts def;
	if (o == NULL) {
		layer_apply_opts_init(&def);
		o = &def;
	}
	uint64_t max = o->max_bytes > 0 ? o->max_bytes : LAYER_MAX_BYTES;
	/* Into a missing or empty directory (each layer in its own overlay
	 * lower dir, a first layer), putting the target back as it was is
	 * just emptying it, so one pass suffices. Otherwise every header is
	 * checked first, so a refusal writes nothing. */
	bool missing = false;
	bool fresh = target_is_fresh(target, &missing) == 1;
	/* Opaque markers hide lower content: only a non-empty target has
	 * any, and only a plain directory removes it (an overlay lower dir
	 * gets the opaque xattr instead). */
	struct opq_set opq = { 0 };
	struct opq_set *want = o->mode == LAYER_APPLY_DIR ? &opq : NULL;
	int r;
	if (!fresh && (r = scan_layer(fd, o, max, want, err)) < 0) {
		opq_release(&opq);
		return err_wrap(err, "cannot apply layer to '%s'", target);
	}
	if (mkdir(target, 0755) < 0 && errno != EEXIST) {
		opq_release(&opq);
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", target);
	}
	cleanup_close int root = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		opq_release(&opq);
		return err_sys(err, ERR_IO, errno, "cannot open '%s'", target);
	}
	r = extract_layer(fd, root, o, max, fresh ? NULL : want, diff_id, err);
	opq_release(&opq);
	if (r < 0 && fresh) {
		rm_children(root);
		if (missing)
			rmdir(target);
	}
	if (r < 0)
		return err_wrap(err, "cannot apply layer to '%s'", target);
	return 0;
}

/* ---- import: any tar stream recompressed into the CAS ---- */

int layer_import_tar(struct cas *cas, int fd, const struct layer_write_opts *o,
		     struct layer_result *out, struct err **err)
{
	struct lreader r;
	int rc = lr_init(&r, fd, false, LAYER_MAX_BYTES, false, true, err);
	if (rc < 0)
		return rc;
	struct cas_writer *cw = NULL;
	if ((rc = cas_writer_new(&cw, cas, DIGEST_SHA256, NULL, err)) < 0) {
		lr_release(&r);
		return rc;
	}
	struct lpipe *p = lpipe_new(o->compression, o->level, o->threads, cw, -1);
	for (;;) {
		const void *b;
		la_ssize_t n = lr_read(NULL, &r, &b);
		if (n < 0) {
			rc = ar_fail(&r, NULL, "cannot read tar", err);
			break;
		}
		if (n == 0)
			break;
		if ((rc = lpipe_write(p, b, (size_t)n, err)) < 0)
			break;
	}
	if (rc == 0)
		rc = lpipe_finish(p, out, err);
	lpipe_free(p);
	lr_release(&r);
	if (rc < 0) {
		cas_writer_abort(cw);
		return rc;
	}
	return cas_writer_commit(cw, NULL, (int64_t)out->blob_size, &out->blob, NULL, err);
}
