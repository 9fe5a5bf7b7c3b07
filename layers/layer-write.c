/* The layer writer: a directory tree to a PAX tar, through the compression
 * pipeline, into the CAS (layer.h). */
#include "config.h"

#include "layers/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/util.h"
#include "layers/image.h"
#include "layers/layer-pipe.h"

#define READ_CHUNK (128u << 10) /* stays in L2 from read to page cache */
#define XATTR_LIST_MAX_BYTES 65536

int layer_compression_parse(const char *s, enum layer_compression *out, struct err **err)
{
	if (str_eq(s, "none") || str_eq(s, "uncompressed"))
		*out = LAYER_COMPRESS_NONE;
	else if (str_eq(s, "gzip"))
		*out = LAYER_COMPRESS_GZIP;
	else if (str_eq(s, "zstd"))
		*out = LAYER_COMPRESS_ZSTD;
	else
		return err_set(err, ERR_INVALID, "unknown compression '%s': use none, gzip or zstd",
			       s ? s : "");
	return 0;
}

const char *layer_compression_name(enum layer_compression c)
{
	return c == LAYER_COMPRESS_GZIP ? "gzip" : c == LAYER_COMPRESS_ZSTD ? "zstd" : "none";
}

const char *layer_media_type(enum layer_compression c)
{
	return c == LAYER_COMPRESS_GZIP	  ? OCI_MT_LAYER_GZIP
	       : c == LAYER_COMPRESS_ZSTD ? OCI_MT_LAYER_ZSTD
					  : OCI_MT_LAYER;
}

void layer_write_opts_init(struct layer_write_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->compression = LAYER_COMPRESS_ZSTD;
	o->source_date_epoch = -1;
}

/* ---- hard links: (dev, ino) -> first name written ---- */

struct hl_entry {
	dev_t dev;
	ino_t ino;
	char *name;
	struct hl_entry *next;
};

struct hl_map {
	struct hl_entry **b;
	size_t nb;
};

static const char *hl_find_or_add(struct hl_map *m, const struct stat *st, const char *name)
{
	if (m->b == NULL) {
		m->nb = 1024;
		m->b = xcalloc(m->nb, sizeof(*m->b));
	}
	size_t h = ((size_t)st->st_ino * 2654435761u ^ (size_t)st->st_dev) % m->nb;
	for (struct hl_entry *e = m->b[h]; e != NULL; e = e->next)
		if (e->dev == st->st_dev && e->ino == st->st_ino)
			return e->name;
	struct hl_entry *e = xcalloc(1, sizeof(*e));
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->name = xstrdup(name);
	e->next = m->b[h];
	m->b[h] = e;
	return NULL;
}

static void hl_free(struct hl_map *m)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct hl_entry *e = m->b[i], *n; e != NULL; e = n) {
			n = e->next;
			free(e->name);
			free(e);
		}
	free(m->b);
}

/* ---- the walk ---- */

struct lw {
	const struct layer_write_opts *o;
	struct archive *a;
	struct archive_entry *e;
	struct lpipe *pipe;
	struct hl_map hl;
	char *buf;
	struct err *err; /* first error from a callback */
};

static la_ssize_t lw_archive_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
	struct lw *w = ctx;
	(void)a;
	if (lpipe_write(w->pipe, buf, n, &w->err) < 0)
		return -1;
	return (la_ssize_t)n;
}

static int lw_archive_fail(struct lw *w, const char *name, struct err **err)
{
	if (w->err != NULL) {
		err_move(err, &w->err);
		return err_wrap(err, "cannot write layer entry '%s'", name);
	}
	return err_set(err, ERR_IO, "cannot write layer entry '%s': %s", name,
		       archive_error_string(w->a));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names in dirfd, sorted bytewise (tar --sort=name order). */
static int list_sorted(int dirfd, char ***out, size_t *n, const char *rel, struct err **err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, ERR_IO, errno, "cannot open '%s'", rel);
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return err_sys(err, ERR_IO, errno, "cannot read '%s'", rel);
	}
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (str_eq(de->d_name, ".") || str_eq(de->d_name, ".."))
			continue;
		if (cnt + 1 >= cap) {
			cap = cap ? cap * 2 : 32;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[cnt++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	v[cnt] = NULL;
	qsort(v, cnt, sizeof(*v), cmp_names);
	*out = v;
	*n = cnt;
	return 0;
}

static bool xattr_wanted(const char *name)
{
	if (str_has_prefix(name, "user.overlay.") || str_has_prefix(name, "trusted."))
		return false;
	return str_eq(name, "security.capability") || str_has_prefix(name, "user.");
}

static void add_xattrs(struct lw *w, int fd)
{
	char list[XATTR_LIST_MAX_BYTES];
	ssize_t n = flistxattr(fd, list, sizeof(list));
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(list + i) + 1) {
		const char *name = list + i;
		if (!xattr_wanted(name))
			continue;
		char val[XATTR_LIST_MAX_BYTES];
		ssize_t vn = fgetxattr(fd, name, val, sizeof(val));
		if (vn >= 0)
			archive_entry_xattr_add_entry(w->e, name, val, (size_t)vn);
	}
}

static bool is_opaque(int fd)
{
	char v[4];
	ssize_t n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v));
	if (n < 0)
		n = fgetxattr(fd, "user.overlay.opaque", v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

static int map_ids(struct lw *w, const struct stat *st, const char *name, struct err **err)
{
	uint32_t uid = st->st_uid, gid = st->st_gid;
	if (w->o->map_id != NULL) {
		int r = w->o->map_id(w->o->map_ctx, false, st->st_uid, &uid);
		if (r == 0)
			r = w->o->map_id(w->o->map_ctx, true, st->st_gid, &gid);
		if (r < 0)
			return err_set(err, ERR_INVALID, "cannot map the owner %u:%u of '%s'",
				       (unsigned)st->st_uid, (unsigned)st->st_gid, name);
	}
	archive_entry_set_uid(w->e, uid);
	archive_entry_set_gid(w->e, gid);
	return 0;
}

/* Common header fields; name is the entry name. */
static int entry_base(struct lw *w, const char *name, const struct stat *st, struct err **err)
{
	archive_entry_clear(w->e);
	archive_entry_copy_pathname(w->e, name);
	archive_entry_set_mode(w->e, st->st_mode);
	int64_t mt = st->st_mtim.tv_sec;
	if (w->o->source_date_epoch >= 0 && mt > w->o->source_date_epoch)
		mt = w->o->source_date_epoch;
	archive_entry_set_mtime(w->e, mt, 0);
	return map_ids(w, st, name, err);
}

static int write_header(struct lw *w, const char *name, struct err **err)
{
	if (archive_write_header(w->a, w->e) != ARCHIVE_OK)
		return lw_archive_fail(w, name, err);
	return 0;
}

/* An empty regular file entry (whiteouts). */
static int write_marker(struct lw *w, const char *name, const struct stat *st, struct err **err)
{
	struct stat m = *st;
	m.st_mode = S_IFREG | 0600;
	int r = entry_base(w, name, &m, err);
	if (r < 0)
		return r;
	archive_entry_set_size(w->e, 0);
	return write_header(w, name, err);
}

static int write_file_data(struct lw *w, int fd, uint64_t size, const char *name, struct err **err)
{
	uint64_t left = size;
	while (left > 0) {
		size_t want = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
		ssize_t n = read(fd, w->buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, ERR_IO, errno, "cannot read '%s'", name);
		if (n == 0)
			break; /* shrank while read: libarchive pads with zeros */
		if (archive_write_data(w->a, w->buf, (size_t)n) < 0)
			return lw_archive_fail(w, name, err);
		left -= (uint64_t)n;
	}
	return 0;
}

static int walk_dir(struct lw *w, int dirfd, const char *prefix, struct err **err);

static int write_regular(struct lw *w, int dirfd, const char *base, const char *name,
			 const struct stat *st, struct err **err)
{
	int r = entry_base(w, name, st, err);
	if (r < 0)
		return r;
	if (st->st_nlink > 1) {
		const char *first = hl_find_or_add(&w->hl, st, name);
		if (first != NULL) {
			archive_entry_set_hardlink(w->e, first);
			archive_entry_set_size(w->e, 0);
			return write_header(w, name, err);
		}
	}
	cleanup_close int fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, ERR_IO, errno, "cannot open '%s'", name);
	add_xattrs(w, fd);
	archive_entry_set_size(w->e, st->st_size);
	if ((r = write_header(w, name, err)) < 0)
		return r;
	return write_file_data(w, fd, (uint64_t)st->st_size, name, err);
}

static int write_dir(struct lw *w, int dirfd, const char *base, const char *name,
		     const struct stat *st, struct err **err)
{
	cleanup_close int fd = openat(dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, ERR_IO, errno, "cannot open '%s'", name);
	cleanup_free char *dname = xasprintf("%s/", name);
	int r = entry_base(w, dname, st, err);
	if (r < 0)
		return r;
	add_xattrs(w, fd);
	if ((r = write_header(w, dname, err)) < 0)
		return r;
	if (w->o->overlay_upper && is_opaque(fd)) {
		cleanup_free char *opq = xasprintf("%s/.wh..wh..opq", name);
		if ((r = write_marker(w, opq, st, err)) < 0)
			return r;
	}
	return walk_dir(w, fd, name, err);
}

static int write_other(struct lw *w, int dirfd, const char *base, const char *name,
		       const struct stat *st, struct err **err)
{
	int r = entry_base(w, name, st, err);
	if (r < 0)
		return r;
	if (S_ISLNK(st->st_mode)) {
		char target[BALE_MAX_PATH];
		ssize_t n = readlinkat(dirfd, base, target, sizeof(target) - 1);
		if (n < 0)
			return err_sys(err, ERR_IO, errno, "cannot read link '%s'", name);
		target[n] = '\0';
		archive_entry_copy_symlink(w->e, target);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		archive_entry_set_rdevmajor(w->e, major(st->st_rdev));
		archive_entry_set_rdevminor(w->e, minor(st->st_rdev));
	}
	return write_header(w, name, err);
}

static int write_one(struct lw *w, int dirfd, const char *base, const char *prefix,
		     struct err **err)
{
	cleanup_free char *name = prefix[0] ? xasprintf("%s/%s", prefix, base) : xstrdup(base);
	struct stat st;
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, ERR_IO, errno, "cannot stat '%s'", name);
	if (S_ISSOCK(st.st_mode))
		return 0;
	if (w->o->overlay_upper && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
		cleanup_free char *wh = prefix[0] ? xasprintf("%s/.wh.%s", prefix, base)
						  : xasprintf(".wh.%s", base);
		return write_marker(w, wh, &st, err);
	}
	if (S_ISREG(st.st_mode))
		return write_regular(w, dirfd, base, name, &st, err);
	if (S_ISDIR(st.st_mode))
		return write_dir(w, dirfd, base, name, &st, err);
	return write_other(w, dirfd, base, name, &st, err);
}

static int walk_dir(struct lw *w, int dirfd, const char *prefix, struct err **err)
{
	cleanup_strv char **names = NULL;
	size_t n = 0;
	int r = list_sorted(dirfd, &names, &n, prefix[0] ? prefix : ".", err);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = write_one(w, dirfd, names[i], prefix, err);
	return r;
}

static int lw_run(struct lw *w, const char *dir, struct err **err)
{
	cleanup_close int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return err_sys(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, errno, "cannot open '%s'",
			       dir);
	w->a = archive_write_new();
	w->e = archive_entry_new();
	w->buf = xmalloc(READ_CHUNK);
	archive_write_set_format_pax_restricted(w->a);
	/* No blocking: the pipeline buffers, and the archive ends with the two
	 * zero blocks only, as Go's archive/tar writes it. */
	archive_write_set_bytes_per_block(w->a, 0);
	if (archive_write_open(w->a, w, NULL, lw_archive_write, NULL) != ARCHIVE_OK)
		return err_set(err, ERR_IO, "cannot start tar: %s", archive_error_string(w->a));
	int r = walk_dir(w, root, "", err);
	if (r == 0 && archive_write_close(w->a) != ARCHIVE_OK)
		r = lw_archive_fail(w, "(end)", err);
	return r;
}

static void lw_release(struct lw *w)
{
	if (w->a != NULL)
		archive_write_free(w->a);
	archive_entry_free(w->e);
	hl_free(&w->hl);
	free(w->buf);
	err_free(w->err);
}

static int write_dir_to(struct cas_writer *cw, int fd, const char *dir,
			const struct layer_write_opts *o, struct layer_result *out, struct err **err)
{
	struct lw w;
	memset(&w, 0, sizeof(w));
	w.o = o;
	w.pipe = lpipe_new(o->compression, o->level, o->threads, cw, fd);
	int r = lw_run(&w, dir, err);
	if (r == 0)
		r = lpipe_finish(w.pipe, out, err);
	lpipe_free(w.pipe);
	lw_release(&w);
	if (r < 0)
		return err_wrap(err, "cannot write layer from '%s'", dir);
	return 0;
}

int layer_write_dir(struct cas *cas, const char *dir, const struct layer_write_opts *o,
		    struct layer_result *out, struct err **err)
{
	struct cas_writer *cw = NULL;
	int r = cas_writer_new(&cw, cas, DIGEST_SHA256, NULL, err);
	if (r < 0)
		return r;
	if ((r = write_dir_to(cw, -1, dir, o, out, err)) < 0) {
		cas_writer_abort(cw);
		return r;
	}
	return cas_writer_commit(cw, NULL, (int64_t)out->blob_size, &out->blob, NULL, err);
}

int layer_write_dir_fd(int fd, const char *dir, const struct layer_write_opts *o,
		       struct layer_result *out, struct err **err)
{
	return write_dir_to(NULL, fd, dir, o, out, err);
}
