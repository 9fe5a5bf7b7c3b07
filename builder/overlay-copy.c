/* The copy fallback for machines where overlayfs cannot be mounted in the
 * user namespace: the union of the layers is copied into a plain directory
 * (sbx_copy_layers), the step runs there, and what it changed is written
 * back in the overlay format (sbx_copy_diff), so the builder diffs the
 * same kind of upper directory either way. Slower: each step copies the
 * whole image and walks it twice.
 *
 * Change detection compares type, mode, owner, size, mtime (ns) and
 * symlink targets, as Docker's naive diff does; a step that rewrites a
 * file keeping its size and mtime is not seen. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/sandbox-internal.h"
#include "common/limits.h"
#include "common/util.h"

#define OPAQUE_USER "user.overlay.opaque"
#define OPAQUE_TRUSTED "trusted.overlay.opaque"
/* Directory depth we follow (a path of BALE_MAX_PATH bytes cannot be
 * deeper than this). */
#define COPY_MAX_DEPTH (BALE_MAX_PATH / 2)

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int parent, const char *name)
{
	char v[4];
	cleanup_close int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = fgetxattr(fd, OPAQUE_USER, v, sizeof v);
	if (n < 0)
		n = fgetxattr(fd, OPAQUE_TRUSTED, v, sizeof v);
	return n == 1 && v[0] == 'y';
}

/* ---- rm -rf */

static int remove_at(int parent, const char *name, int depth)
{
	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth > COPY_MAX_DEPTH)
		return -ELOOP;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -ENOMEM;
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = remove_at(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	if (r == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

int sbx_remove_tree(const char *path, struct err **err)
{
	int r = remove_at(AT_FDCWD, path, 0);
	if (r < 0)
		return err_sys(err, ERR_IO, -r, "cannot remove '%s'", path);
	return 0;
}

/* ---- copying one entry */

static void copy_xattrs(int src, int dst)
{
	char names[4096], val[4096];
	ssize_t n = flistxattr(src, names, sizeof names);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *k = names + i;
		if (strncmp(k, "user.overlay.", 13) == 0 || strncmp(k, "trusted.overlay.", 16) == 0)
			continue;
		ssize_t vn = fgetxattr(src, k, val, sizeof val);
		if (vn >= 0)
			fsetxattr(dst, k, val, (size_t)vn, 0); /* security.* may be refused */
	}
}

static int copy_data(int in, int out, off_t size)
{
	while (size > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)size, 0);
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
			char buf[65536];
			n = read(in, buf, sizeof buf);
			if (n > 0 && write_all(out, buf, (size_t)n) < 0)
				return -errno;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		size -= n;
	}
	return 0;
}

static int set_meta(int dirfd, const char *name, const struct stat *st)
{
	if (fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISLNK(st->st_mode) && fchmodat(dirfd, name, st->st_mode & 07777, 0) < 0)
		return -errno;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* Copy a non-directory entry (regular, symlink, device, fifo). */
static int copy_leaf(int sdir, int ddir, const char *name, const struct stat *st)
{
	if (S_ISREG(st->st_mode)) {
		cleanup_close int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			return -errno;
		cleanup_close int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (out < 0)
			return -errno;
		int r = copy_data(in, out, st->st_size);
		if (r < 0)
			return r;
		copy_xattrs(in, out);
	} else if (S_ISLNK(st->st_mode)) {
		char target[BALE_MAX_PATH];
		ssize_t n = readlinkat(sdir, name, target, sizeof target - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (symlinkat(target, ddir, name) < 0)
			return -errno;
	} else if (mknodat(ddir, name, st->st_mode, st->st_rdev) < 0) {
		/* Device nodes cannot be made in a user namespace; overlayfs
		 * lower dirs could not hold them either. */
		return errno == EPERM ? 1 : -errno;
	}
	return set_meta(ddir, name, st);
}

/* ---- sbx_copy_layers */

static int copy_tree(int sdir, int ddir, int depth);

static int copy_entry(int sdir, int ddir, const char *name, int depth)
{
	struct stat st, dst;
	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	bool exists = fstatat(ddir, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;
	if (is_whiteout(&st))
		return exists ? remove_at(ddir, name, 0) : 0;
	int r;
	if (S_ISDIR(st.st_mode)) {
		if (exists && (!S_ISDIR(dst.st_mode) || is_opaque(sdir, name))) {
			if ((r = remove_at(ddir, name, 0)) < 0)
				return r;
			exists = false;
		}
		if (!exists && mkdirat(ddir, name, 0700) < 0)
			return -errno;
		cleanup_close int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		cleanup_close int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return -errno;
		if ((r = copy_tree(s, d, depth + 1)) < 0)
			return r;
		copy_xattrs(s, d);
		return set_meta(ddir, name, &st);
	}
	if (exists && (r = remove_at(ddir, name, 0)) < 0)
		return r;
	r = copy_leaf(sdir, ddir, name, &st);
	return r > 0 ? 0 : r;
}

static int copy_tree(int sdir, int ddir, int depth)
{
	if (depth > COPY_MAX_DEPTH)
		return -ELOOP;
	int fd = dup(sdir);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -ENOMEM;
	}
	rewinddir(d);
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = copy_entry(sdir, ddir, de->d_name, depth);
	closedir(d);
	return r;
}

int sbx_copy_layers(int dst_fd, const char *const *lowers, size_t n_lowers, struct err **err)
{
	for (size_t i = n_lowers; i-- > 0;) {
		cleanup_close int s = open(lowers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s < 0)
			return err_sys(err, ERR_IO, errno, "cannot open layer '%s'", lowers[i]);
		int r = copy_tree(s, dst_fd, 0);
		if (r < 0)
			return err_sys(err, ERR_IO, -r, "cannot copy layer '%s'", lowers[i]);
	}
	return 0;
}

/* ---- sbx_copy_diff */

struct diff {
	int *lower_fds;
	size_t n;
	const char *const *skip;
};

/* The entry rel of the union of the layers: 1 with *st, 0 when absent. */
static int union_lstat(const struct diff *d, const char *rel, struct stat *st)
{
	for (size_t l = 0; l < d->n; l++) {
		if (fstatat(d->lower_fds[l], rel, st, AT_SYMLINK_NOFOLLOW) == 0)
			return is_whiteout(st) ? 0 : 1;
		/* Missing here: does this layer hide the deeper ones (a parent
		 * that is a whiteout, not a directory, or opaque)? */
		cleanup_free char *p = xstrdup(rel);
		for (char *slash = strchr(p, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			struct stat ps;
			bool hides = false;
			if (fstatat(d->lower_fds[l], p, &ps, AT_SYMLINK_NOFOLLOW) == 0) {
				char *last = strrchr(p, '/');
				cleanup_close int parent = -1;
				const char *base = p;
				if (last != NULL) {
					*last = '\0';
					parent = openat(d->lower_fds[l], p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
					base = last + 1;
				}
				hides = !S_ISDIR(ps.st_mode) ||
					is_opaque(parent >= 0 ? parent : d->lower_fds[l], base);
				if (last != NULL)
					*last = '/';
			}
			*slash = '/';
			if (hides)
				return 0;
		}
	}
	return 0;
}

static bool skipped(const struct diff *d, const char *rel)
{
	for (size_t i = 0; d->skip != NULL && d->skip[i] != NULL; i++)
		if (strcmp(d->skip[i], rel) == 0)
			return true;
	return false;
}

static bool same_entry(int mdir, const char *name, const struct stat *m, const struct diff *d,
		       const char *rel, const struct stat *u)
{
	if ((m->st_mode & S_IFMT) != (u->st_mode & S_IFMT) || m->st_uid != u->st_uid ||
	    m->st_gid != u->st_gid)
		return false;
	if (!S_ISLNK(m->st_mode) && (m->st_mode & 07777) != (u->st_mode & 07777))
		return false;
	if (S_ISDIR(m->st_mode))
		return true;
	if (m->st_size != u->st_size || m->st_mtim.tv_sec != u->st_mtim.tv_sec ||
	    m->st_mtim.tv_nsec != u->st_mtim.tv_nsec)
		return false;
	if (S_ISLNK(m->st_mode)) {
		char a[BALE_MAX_PATH], b[BALE_MAX_PATH];
		ssize_t na = readlinkat(mdir, name, a, sizeof a);
		ssize_t nb = -1;
		for (size_t l = 0; l < d->n && nb < 0; l++)
			nb = readlinkat(d->lower_fds[l], rel, b, sizeof b);
		return na == nb && na >= 0 && memcmp(a, b, (size_t)na) == 0;
	}
	if (S_ISCHR(m->st_mode) || S_ISBLK(m->st_mode))
		return m->st_rdev == u->st_rdev;
	return true;
}

/* Make sure upper/rel's parent chain exists, with the merged metadata. */
static int upper_dir(int upper, int merged, const char *rel)
{
	if (rel[0] == '\0')
		return 0;
	cleanup_free char *p = xstrdup(rel);
	for (char *s = p;; s++) {
		bool end = *s == '\0';
		if (*s == '/' || end) {
			char saved = *s;
			*s = '\0';
			struct stat st;
			if (fstatat(upper, p, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (fstatat(merged, p, &st, AT_SYMLINK_NOFOLLOW) < 0)
					return -errno;
				if (mkdirat(upper, p, 0700) < 0)
					return -errno;
				int r = set_meta(upper, p, &st);
				if (r < 0)
					return r;
			}
			*s = saved;
		}
		if (end)
			break;
	}
	return 0;
}

static int diff_dir(const struct diff *d, int upper, int merged, const char *rel, int depth);

static int open_rel(int base, const char *rel)
{
	return openat(base, rel[0] != '\0' ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int diff_entry(const struct diff *d, int upper, int merged, int mdir, const char *rel,
		      const char *name, int depth)
{
	if (skipped(d, rel))
		return 0;
	struct stat m, u;
	if (fstatat(mdir, name, &m, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	bool in_lower = union_lstat(d, rel, &u) == 1;
	bool same = in_lower && same_entry(mdir, name, &m, d, rel, &u);
	if (S_ISDIR(m.st_mode)) {
		if (!same) {
			const char *slash = strrchr(rel, '/');
			cleanup_free char *parent = xstrndup(rel, slash != NULL ? (size_t)(slash - rel) : 0);
			int r = upper_dir(upper, merged, parent);
			if (r < 0)
				return r;
			if (in_lower && !S_ISDIR(u.st_mode))
				in_lower = false; /* a directory replacing a file */
			if (mkdirat(upper, rel, 0700) < 0 && errno != EEXIST)
				return -errno;
			if ((r = set_meta(upper, rel, &m)) < 0)
				return r;
		}
		return diff_dir(d, upper, merged, rel, depth + 1);
	}
	if (same)
		return 0;
	const char *slash = strrchr(rel, '/');
	cleanup_free char *parent = xstrndup(rel, slash != NULL ? (size_t)(slash - rel) : 0);
	int r = upper_dir(upper, merged, parent);
	if (r < 0)
		return r;
	cleanup_close int udir = open_rel(upper, parent);
	if (udir < 0)
		return -errno;
	remove_at(udir, name, 0);
	r = copy_leaf(mdir, udir, name, &m);
	return r > 0 ? 0 : r;
}

/* Names the union of the layers has in directory rel. */
static char **union_names(const struct diff *d, const char *rel)
{
	char **names = NULL, **gone = NULL;
	struct stat st;
	for (size_t l = 0; l < d->n; l++) {
		int fd = open_rel(d->lower_fds[l], rel);
		if (fd < 0) {
			if (fstatat(d->lower_fds[l], rel[0] ? rel : ".", &st, AT_SYMLINK_NOFOLLOW) == 0)
				break; /* not a directory here: hides the rest */
			continue;
		}
		DIR *dir = fdopendir(fd);
		if (dir == NULL) {
			close(fd);
			break;
		}
		struct dirent *de;
		while ((de = readdir(dir)) != NULL) {
			const char *n = de->d_name;
			bool seen = strcmp(n, ".") == 0 || strcmp(n, "..") == 0;
			for (size_t i = 0; !seen && names != NULL && names[i] != NULL; i++)
				seen = strcmp(names[i], n) == 0;
			for (size_t i = 0; !seen && gone != NULL && gone[i] != NULL; i++)
				seen = strcmp(gone[i], n) == 0;
			if (seen)
				continue;
			if (fstatat(dirfd(dir), n, &st, AT_SYMLINK_NOFOLLOW) == 0 && is_whiteout(&st))
				strv_push(&gone, n);
			else
				strv_push(&names, n);
		}
		closedir(dir);
		const char *slash = strrchr(rel, '/');
		cleanup_free char *parent = xstrndup(rel, slash != NULL ? (size_t)(slash - rel) : 0);
		cleanup_close int pfd = open_rel(d->lower_fds[l], parent);
		if (rel[0] != '\0' && pfd >= 0 && is_opaque(pfd, slash != NULL ? slash + 1 : rel))
			break;
	}
	strv_free(gone);
	return names;
}

static int write_whiteout(int upper, int merged, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	cleanup_free char *parent = xstrndup(rel, slash != NULL ? (size_t)(slash - rel) : 0);
	int r = upper_dir(upper, merged, parent);
	if (r < 0)
		return r;
	if (mknodat(upper, rel, S_IFCHR | 0000, makedev(0, 0)) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int diff_dir(const struct diff *d, int upper, int merged, const char *rel, int depth)
{
	if (depth > COPY_MAX_DEPTH)
		return -ELOOP;
	int fd = open_rel(merged, rel);
	if (fd < 0)
		return -errno;
	DIR *dir = fdopendir(fd);
	if (dir == NULL) {
		close(fd);
		return -ENOMEM;
	}
	char **present = NULL;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		strv_push(&present, de->d_name);
		char *child = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		r = diff_entry(d, upper, merged, dirfd(dir), child, de->d_name, depth);
		free(child);
	}
	closedir(dir);
	char **was = r == 0 ? union_names(d, rel) : NULL;
	for (size_t i = 0; r == 0 && was != NULL && was[i] != NULL; i++) {
		bool still = false;
		for (size_t j = 0; !still && present != NULL && present[j] != NULL; j++)
			still = strcmp(present[j], was[i]) == 0;
		char *child = rel[0] ? xasprintf("%s/%s", rel, was[i]) : xstrdup(was[i]);
		if (!still && !skipped(d, child))
			r = write_whiteout(upper, merged, child);
		free(child);
	}
	strv_free(was);
	strv_free(present);
	return r;
}

int sbx_copy_diff(int upper_fd, int merged_fd, const char *const *lowers, size_t n_lowers,
		  const char *const *skip, struct err **err)
{
	struct diff d = { .n = n_lowers, .skip = skip };
	d.lower_fds = xcalloc(n_lowers + 1, sizeof *d.lower_fds);
	int r = 0;
	for (size_t i = 0; i < n_lowers && r == 0; i++) {
		d.lower_fds[i] = open(lowers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d.lower_fds[i] < 0)
			r = err_sys(err, ERR_IO, errno, "cannot open layer '%s'", lowers[i]);
	}
	if (r == 0 && (r = diff_dir(&d, upper_fd, merged_fd, "", 0)) < 0)
		r = err_sys(err, ERR_IO, -r, "cannot write the step's changes");
	for (size_t i = 0; i < n_lowers; i++)
		if (d.lower_fds[i] > 0)
			close(d.lower_fds[i]);
	free(d.lower_fds);
	return r;
}
