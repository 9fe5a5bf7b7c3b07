#include "config.h"

#include "common/path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#ifdef HAVE_LINUX_OPENAT2_H
#include <linux/openat2.h>
#else
/* Stable kernel ABI (Linux 5.6), for headers older than the kernel. */
struct open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT       0x10
#endif
#ifndef RESOLVE_CACHED
#define RESOLVE_CACHED 0x20 /* Linux 5.12; older kernels say EINVAL */
#endif

#include "common/buf.h"
#include "common/limits.h"
#include "common/path-internal.h"
#include "common/util.h"

/* How often a lookup is restarted when the tree was renamed under it
 * (EAGAIN), before giving up with ERR_BUSY. */
#define PATH_RETRIES 32

/* Inode number of the procfs root: its symlinks (self, thread-self, mounts,
 * net) are ordinary ones; every symlink below it is treated as magic. */
#define PROC_ROOT_INO 1

/* A resolved path is made of pieces of the path and of at most
 * BALE_MAX_SYMLINKS link targets, so it can never be longer than this. */
#define WALK_MAX_RESOLVED ((BALE_MAX_SYMLINKS + 1) * (size_t)BALE_MAX_PATH)

/* Set once openat2 turned out to be missing or filtered, so that later
 * lookups go straight to the walk. */
static atomic_bool openat2_missing;

/* The checks both implementations make before any lookup, so that they
 * agree with each other and with the kernel's PATH_MAX. */
static int path_check(const char *path)
{
	if (path == NULL)
		return -EINVAL;
	if (path[0] == '\0')
		return -ENOENT;
	if (strnlen(path, BALE_MAX_PATH) >= BALE_MAX_PATH)
		return -ENAMETOOLONG;
	return 0;
}

static bool is_dot(const char *name)
{
	return name[0] == '.' && name[1] == '\0';
}

static bool is_dotdot(const char *name)
{
	return name[0] == '.' && name[1] == '.' && name[2] == '\0';
}

/* Whether an fd opened with O_PATH|O_NOFOLLOW is a symlink: 1, 0 or -errno. */
static int fd_is_symlink(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	return S_ISLNK(st.st_mode);
}

/* ---- openat2 ---- */

/* Why an ELOOP from openat2 is checked before it is believed: the kernel
 * counts the symlinks of a lookup in its nameidata, which lives for the
 * whole syscall. When a lookup in RCU-walk mode has to be abandoned
 * (-ECHILD: a mount or unmount anywhere on the machine, a rename of a
 * dentry on the path, ...), do_filp_open() starts it again in ref-walk mode
 * without resetting that count, so the links followed before the abort are
 * counted twice (fs/namei.c, seen on 6.18, plain openat too): on a busy
 * machine a path of more than MAXSYMLINKS / 2 links fails now and then
 * with ELOOP. Asked again with RESOLVE_CACHED, the kernel has to finish in
 * RCU-walk mode or answer EAGAIN: it never restarts, so its ELOOP is real. */

#ifdef SYS_openat2
static int openat2_call(int rootfd, const char *path, const struct open_how *how)
{
	long fd = syscall(SYS_openat2, rootfd, path, how, sizeof(*how));
	return fd < 0 ? -errno : (int)fd;
}

/* Whether the kernel confirms an ELOOP of openat2 for `flags`, by looking
 * the path up again with RESOLVE_CACHED and O_PATH, which opens nothing for
 * real (a FIFO or a device would notice), following a final symlink when
 * `flags` does: that lookup fails with ELOOP where the open did, or finds
 * the final symlink that the open refuses (O_NOFOLLOW without O_PATH; not
 * O_CREAT|O_EXCL, which says EEXIST). Not confirmed when the ELOOP was not
 * real, nor when the kernel cannot tell: the lookup has to sleep (a magic
 * link, a name not in the dcache, an atime to update) or the kernel
 * predates RESOLVE_CACHED. The caller then opens again. */
static bool openat2_eloop_confirmed(int rootfd, const char *path, int flags, uint64_t resolve)
{
	bool excl = (flags & O_CREAT) && (flags & O_EXCL);
	bool nofollow = (flags & O_NOFOLLOW) || excl;
	struct open_how check = {
	        .flags = (uint64_t)(unsigned int)(O_PATH | O_CLOEXEC | (flags & O_DIRECTORY) |
	                                          (nofollow ? O_NOFOLLOW : 0)),
	        .resolve = resolve | RESOLVE_CACHED,
	};
	int fd = openat2_call(rootfd, path, &check);
	if (fd < 0)
		return fd == -ELOOP;
	bool refused = nofollow && !excl && !(flags & O_PATH) && fd_is_symlink(fd) == 1;
	close(fd);
	return refused;
}
#endif

int path_open_in_root_openat2(int rootfd, const char *path, int flags, mode_t mode)
{
#ifdef SYS_openat2
	int r = path_check(path);
	if (r < 0)
		return r;
	/* openat silently drops what O_PATH ignores, openat2 says EINVAL. */
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
	struct open_how how = {
	        .flags = (uint64_t)(unsigned int)(flags | O_CLOEXEC),
	        /* openat2 refuses a mode without O_CREAT/O_TMPFILE and stray
	         * bits, where openat ignores them: mask like openat. */
	        .mode = creates ? (mode & 07777) : 0,
	        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	/* Opening again after ELOOP is safe with O_CREAT: links are counted
	 * while they are followed, before anything is created. */
	unsigned int busy = 0, loops = 0;
	for (;;) {
		int fd = openat2_call(rootfd, path, &how);
		if (fd == -ELOOP) {
			if (openat2_eloop_confirmed(rootfd, path, flags, how.resolve) ||
			    ++loops >= PATH_RETRIES)
				return fd;
			continue;
		}
		/* EAGAIN: a rename or mount raced with ".." resolution. */
		if (fd != -EAGAIN && fd != -EINTR)
			return fd;
		if (++busy >= PATH_RETRIES)
			return -EAGAIN;
	}
#else
	(void)rootfd;
	(void)path;
	(void)flags;
	(void)mode;
	return -ENOSYS;
#endif
}

/* ---- the user-space walk ---- */

enum walk_mode {
	WALK_OPEN,    /* open the final component with the caller's flags */
	WALK_MKDIR,   /* every component is a directory, created if missing */
	WALK_RESOLVE, /* only compute the resolved path */
};

struct walk {
	enum walk_mode mode;
	mode_t mkdir_mode;
	int rootfd;         /* borrowed */
	int dirfd;          /* O_PATH fd of the directory reached, owned */
	char *todo;         /* what is left to resolve, owned */
	size_t pos;         /* todo + pos is the rest: "" or starting with '/' */
	struct buf at;      /* dirfd's path from the root: "" or "/a/b" */
	size_t missing;     /* trailing components of `at` that do not exist */
	unsigned int links; /* symlinks followed so far */
};

struct comp {
	char name[NAME_MAX + 1];
	bool none;  /* nothing but slashes was left */
	bool last;  /* nothing but slashes follows */
	bool slash; /* a slash follows (on the last one: a trailing slash) */
};

static int open_root(int rootfd)
{
	int fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int walk_init(struct walk *w, enum walk_mode mode, int rootfd, const char *path)
{
	*w = (struct walk){.mode = mode, .rootfd = rootfd, .dirfd = -1};
	buf_init(&w->at, WALK_MAX_RESOLVED);
	w->dirfd = open_root(rootfd);
	if (w->dirfd < 0)
		return w->dirfd;
	w->todo = xstrdup(path);
	return 0;
}

static void walk_release(struct walk *w)
{
	if (w->dirfd >= 0)
		close(w->dirfd);
	w->dirfd = -1;
	free(w->todo);
	w->todo = NULL;
	buf_release(&w->at);
}

static void walk_set_dir(struct walk *w, int fd)
{
	close(w->dirfd);
	w->dirfd = fd;
}

/* Take the next component off the rest of w->todo. */
static int walk_take(struct walk *w, struct comp *c)
{
	const char *p = w->todo + w->pos;
	while (*p == '/')
		p++;
	*c = (struct comp){.none = *p == '\0'};
	if (c->none) {
		w->pos = (size_t)(p - w->todo);
		return 0;
	}
	const char *end = strchrnul(p, '/');
	size_t len = (size_t)(end - p);
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(c->name, p, len);
	c->name[len] = '\0';
	const char *q = end;
	while (*q == '/')
		q++;
	c->last = *q == '\0';
	c->slash = *end == '/';
	w->pos = (size_t)(end - w->todo);
	return 0;
}

static int walk_push(struct walk *w, const char *name)
{
	if (buf_addch(&w->at, '/', NULL) < 0 || buf_addstr(&w->at, name, NULL) < 0)
		return -ENAMETOOLONG;
	return 0;
}

static void walk_pop(struct walk *w)
{
	const char *slash = strrchr(buf_str(&w->at), '/');
	buf_truncate(&w->at, slash != NULL ? (size_t)(slash - w->at.data) : 0);
}

/* Go back to the root: an absolute symlink target starts there. */
static int walk_to_root(struct walk *w)
{
	int fd = open_root(w->rootfd);
	if (fd < 0)
		return fd;
	walk_set_dir(w, fd);
	buf_reset(&w->at);
	w->missing = 0;
	return 0;
}

/* Reopen w->at from the root, one component at a time without following
 * anything. This is how ".." is done: openat(dirfd, "..") would leave the
 * root if dirfd had been moved out of it meanwhile, while every component
 * of w->at is a directory we already stepped into from the root. */
static int walk_reopen(struct walk *w)
{
	cleanup_close int fd = open_root(w->rootfd);
	if (fd < 0)
		return fd;
	const char *p = buf_str(&w->at);
	while (*p == '/') {
		p++;
		const char *end = strchrnul(p, '/');
		char name[NAME_MAX + 1];
		memcpy(name, p, (size_t)(end - p));
		name[end - p] = '\0';
		int next = openat(fd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		if (next < 0)
			/* It was a directory a moment ago: the tree is changing. */
			return errno == ENOENT || errno == ENOTDIR ? -EAGAIN : -errno;
		close(fd);
		fd = next;
		p = end;
	}
	walk_set_dir(w, steal_fd(&fd));
	return 0;
}

/* ".." : the parent of where we are, never above the root. */
static int walk_up(struct walk *w)
{
	if (w->missing > 0) {
		w->missing--;
		walk_pop(w);
		return 0;
	}
	if (w->at.len == 0)
		return 0;
	walk_pop(w);
	return walk_reopen(w);
}

/* A symlink inside procfs below its root is a magic link (fd/N, root,
 * cwd, exe, ns/..., map_files/...): their targets are kernel objects, not
 * paths, and may lie outside any root, so openat2 refuses them with
 * RESOLVE_NO_MAGICLINKS and so do we. Returns -ELOOP for one, -EINVAL when
 * name is not a symlink there, 0 when the directory is not such a place. */
static int walk_check_magic(struct walk *w, const char *name)
{
	struct statfs sfs;
	struct stat st;
	if (fstatfs(w->dirfd, &sfs) < 0)
		return -errno;
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return 0;
	if (fstat(w->dirfd, &st) < 0)
		return -errno;
	if (st.st_ino == PROC_ROOT_INO)
		return 0;
	if (fstatat(w->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL;
}

/* Follow the symlink `name` in w->dirfd: its target takes the place of the
 * component in what is left to resolve. Returns 0, -EINVAL when name is not
 * a symlink (so the caller reports its own error), or -errno. */
static int walk_follow(struct walk *w, const char *name)
{
	char target[BALE_MAX_PATH];
	int r = walk_check_magic(w, name);
	if (r < 0)
		return r;
	ssize_t n = readlinkat(w->dirfd, name, target, sizeof(target));
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	if (n == 0)
		return -ENOENT;
	target[n] = '\0';
	/* Counted as the kernel counts (MAXSYMLINKS): the 41st link fails. */
	if (w->links >= BALE_MAX_SYMLINKS)
		return -ELOOP;
	w->links++;
	char *todo = xasprintf("%s%s", target, w->todo + w->pos);
	free(w->todo);
	w->todo = todo;
	w->pos = 0;
	return target[0] == '/' ? walk_to_root(w) : 0;
}

/* In resolve mode, a missing component and everything after it is kept as
 * a name only: there is nothing to follow. */
static int walk_push_missing(struct walk *w, const char *name)
{
	w->missing++;
	return walk_push(w, name);
}

/* Step into the directory `name`, following it if it is a symlink. */
static int walk_dir(struct walk *w, const char *name)
{
	if (w->missing > 0)
		return walk_push_missing(w, name);
	for (unsigned int i = 0; i < PATH_RETRIES; i++) {
		int fd = openat(w->dirfd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			walk_set_dir(w, fd);
			return walk_push(w, name);
		}
		int e = errno;
		/* O_DIRECTORY|O_NOFOLLOW answers ENOTDIR for a symlink too. */
		if (e == ENOTDIR) {
			int r = walk_follow(w, name);
			return r == -EINVAL ? -ENOTDIR : r;
		}
		if (e != ENOENT || w->mode == WALK_OPEN)
			return -e;
		if (w->mode == WALK_RESOLVE)
			return walk_push_missing(w, name);
		/* EEXIST: created meanwhile, maybe as a symlink: look again. */
		if (mkdirat(w->dirfd, name, w->mkdir_mode) < 0 && errno != EEXIST)
			return -errno;
	}
	return -EAGAIN;
}

/* The final component in resolve mode: a symlink is followed, anything
 * else (or nothing) ends the path. */
static int walk_resolve_last(struct walk *w, const char *name)
{
	if (w->missing > 0)
		return walk_push_missing(w, name);
	int r = walk_follow(w, name);
	if (r == -EINVAL)
		return walk_push(w, name);
	if (r == -ENOENT)
		return walk_push_missing(w, name);
	return r;
}

/* Open the final component with the caller's flags. Sets *again when it was
 * a symlink whose target now has to be walked. Returns the fd or -errno. */
static int walk_open_last(struct walk *w, const struct comp *c, int flags, mode_t mode, bool *again)
{
	*again = false;
	flags |= O_CLOEXEC;
	if (c->none || is_dot(c->name) || is_dotdot(c->name)) {
		if (!c->none && is_dotdot(c->name)) {
			int r = walk_up(w);
			if (r < 0)
				return r;
		}
		int fd = openat(w->dirfd, ".", flags, mode);
		return fd < 0 ? -errno : fd;
	}
	/* As the kernel: creating "name/" is refused before any lookup. */
	if (c->slash && (flags & O_CREAT))
		return -EISDIR;
	/* A trailing slash makes the kernel follow even with O_NOFOLLOW. */
	bool follow = c->slash || !(flags & O_NOFOLLOW);
	if (!follow) {
		int fd = openat(w->dirfd, c->name, flags, mode);
		return fd < 0 ? -errno : fd;
	}
	/* Never let openat follow: a symlink comes back as ELOOP (ENOTDIR
	 * with O_DIRECTORY), or as itself with O_PATH, and is walked here.
	 * EEXIST from O_CREAT|O_EXCL is final: the kernel does not follow. */
	int fd = openat(w->dirfd, c->name, flags | O_NOFOLLOW | (c->slash ? O_DIRECTORY : 0), mode);
	int e = errno;
	if (fd >= 0) {
		if (!(flags & O_PATH))
			return fd;
		int link = fd_is_symlink(fd);
		if (link == 0)
			return fd;
		close(fd);
		if (link < 0)
			return link;
		e = ELOOP;
	} else if (e != ELOOP && e != ENOTDIR) {
		return -e;
	}
	int r = walk_follow(w, c->name);
	if (r == -EINVAL)
		return -e;
	*again = r == 0;
	return r;
}

static int walk_open(struct walk *w, int flags, mode_t mode)
{
	for (;;) {
		struct comp c;
		int r = walk_take(w, &c);
		if (r < 0)
			return r;
		if (c.none || c.last) {
			bool again;
			r = walk_open_last(w, &c, flags, mode, &again);
			if (!again)
				return r;
			continue;
		}
		if (is_dot(c.name))
			continue;
		r = is_dotdot(c.name) ? walk_up(w) : walk_dir(w, c.name);
		if (r < 0)
			return r;
	}
}

/* The loop of mkdir and resolve modes. Returns 0 once the path is used up
 * (w->dirfd and w->at then describe where it led), or -errno. */
static int walk_all(struct walk *w)
{
	for (;;) {
		struct comp c;
		int r = walk_take(w, &c);
		if (r < 0)
			return r;
		if (c.none)
			return 0;
		if (is_dot(c.name))
			continue;
		if (is_dotdot(c.name))
			r = walk_up(w);
		else if (w->mode == WALK_RESOLVE && c.last && !c.slash)
			r = walk_resolve_last(w, c.name);
		else
			r = walk_dir(w, c.name);
		if (r < 0)
			return r;
	}
}

/* Run a fresh walk until it does not race with renames (EAGAIN). On
 * success with keep != NULL, the finished walk is handed to the caller. */
static int walk_run(enum walk_mode mode, int rootfd, const char *path, int flags, mode_t fmode,
                    struct walk *keep)
{
	int r = path_check(path);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < PATH_RETRIES; i++) {
		struct walk w;
		r = walk_init(&w, mode, rootfd, path);
		w.mkdir_mode = fmode;
		if (r == 0)
			r = mode == WALK_OPEN ? walk_open(&w, flags, fmode) : walk_all(&w);
		if (r >= 0 && keep != NULL) {
			*keep = w;
			return r;
		}
		walk_release(&w);
		if (r != -EAGAIN)
			return r;
	}
	return -EAGAIN;
}

int path_open_in_root_walk(int rootfd, const char *path, int flags, mode_t mode)
{
	return walk_run(WALK_OPEN, rootfd, path, flags, mode, NULL);
}

/* ---- public API ---- */

/* A seccomp profile that does not know openat2 answers every call with
 * EPERM (older Docker) or ENOSYS; a real EPERM (an immutable file opened
 * for writing) would not also refuse an O_PATH open of the root. */
static bool openat2_filtered(int rootfd)
{
	int fd = path_open_in_root_openat2(rootfd, ".", O_PATH, 0);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return fd == -EPERM || fd == -ENOSYS;
}

static int open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
	if (!atomic_load_explicit(&openat2_missing, memory_order_relaxed)) {
		int fd = path_open_in_root_openat2(rootfd, path, flags, mode);
		if (fd != -ENOSYS && fd != -EPERM)
			return fd;
		if (fd == -EPERM && !openat2_filtered(rootfd))
			return fd;
		atomic_store_explicit(&openat2_missing, true, memory_order_relaxed);
	}
	return path_open_in_root_walk(rootfd, path, flags, mode);
}

int path_open_in_root(int rootfd, const char *path, int flags, mode_t mode, struct err **err)
{
	int fd = open_in_root(rootfd, path, flags, mode);
	if (fd < 0)
		return err_sys(err, err_code_from_errno(-fd), -fd, "cannot open '%s' in root",
		               path != NULL ? path : "(null)");
	return fd;
}

/* The walk is used even when openat2 exists: it has to stop at each
 * missing directory anyway, and every step is a single-component openat
 * with O_NOFOLLOW on a directory already inside the root. */
int path_mkdir_in_root(int rootfd, const char *path, mode_t mode, struct err **err)
{
	struct walk w;
	int r = walk_run(WALK_MKDIR, rootfd, path, 0, mode, &w);
	if (r == 0) {
		r = openat(w.dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r < 0)
			r = -errno;
		walk_release(&w);
	}
	if (r < 0)
		return err_sys(err, err_code_from_errno(-r), -r, "cannot create directory '%s' in root",
		               path != NULL ? path : "(null)");
	return r;
}

int path_resolve_in_root(int rootfd, const char *path, char **resolved, struct err **err)
{
	struct walk w;
	int r = walk_run(WALK_RESOLVE, rootfd, path, 0, 0, &w);
	if (r == 0) {
		if (w.at.len >= BALE_MAX_PATH)
			r = -ENAMETOOLONG;
		else
			*resolved = w.at.len > 0 ? buf_detach(&w.at, NULL) : xstrdup("/");
		walk_release(&w);
	}
	if (r < 0)
		return err_sys(err, err_code_from_errno(-r), -r, "cannot resolve '%s' in root",
		               path != NULL ? path : "(null)");
	return 0;
}

/* ---- is an fd inside the root ---- */

struct ident {
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	uint64_t mnt;
	bool has_mnt;
};

static int ident_of(int fd, struct ident *id)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_MNT_ID, &stx) < 0)
		return -errno;
	*id = (struct ident){
	        .dev_major = stx.stx_dev_major,
	        .dev_minor = stx.stx_dev_minor,
	        .ino = stx.stx_ino,
	        .mnt = stx.stx_mnt_id,
	        .has_mnt = (stx.stx_mask & STATX_MNT_ID) != 0,
	};
	return 0;
}

/* The mount id (Linux 5.8) tells a directory from the same directory
 * bind-mounted elsewhere, and a mount root from its mountpoint's parent
 * when a directory is bind-mounted below itself. */
static bool ident_eq(const struct ident *a, const struct ident *b)
{
	return a->dev_major == b->dev_major && a->dev_minor == b->dev_minor && a->ino == b->ino &&
	       (!a->has_mnt || !b->has_mnt || a->mnt == b->mnt);
}

static int fd_within(int rootfd, int fd)
{
	struct ident root, cur, up;
	int r = ident_of(rootfd, &root);
	if (r < 0)
		return r;
	cleanup_close int dir = openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	/* Each step goes one level up, so a path of BALE_MAX_PATH bytes is at
	 * most this deep; deeper is refused rather than walked forever. */
	for (unsigned int depth = 0; depth <= BALE_MAX_PATH / 2; depth++) {
		if ((r = ident_of(dir, &cur)) < 0)
			return r;
		if (ident_eq(&cur, &root))
			return 1;
		cleanup_close int parent = openat(dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0)
			return -errno;
		if ((r = ident_of(parent, &up)) < 0)
			return r;
		/* ".." of the top (of the namespace, of our root, or of a
		 * detached mount) is itself. */
		if (ident_eq(&up, &cur))
			return 0;
		close(dir);
		dir = steal_fd(&parent);
	}
	return -ENAMETOOLONG;
}

int path_fd_is_within(int rootfd, int fd, struct err **err)
{
	int r = fd_within(rootfd, fd);
	if (r < 0)
		return err_sys(err, err_code_from_errno(-r), -r,
		               "cannot check that a directory is inside the root");
	return r;
}

/* ---- lexical helpers ---- */

char *path_clean(const char *p)
{
	size_t n = strlen(p);
	char *out = xmalloc(n + 2);
	bool rooted = p[0] == '/';
	size_t len = 0;
	/* out[0..floor) cannot be removed by "..": the leading "/" or the
	 * leading ".." components of a relative path. */
	size_t floor = 0;
	if (rooted)
		out[len++] = '/';
	floor = len;
	for (size_t i = 0; i < n;) {
		while (p[i] == '/')
			i++;
		size_t start = i;
		while (i < n && p[i] != '/')
			i++;
		size_t clen = i - start;
		if (clen == 0 || (clen == 1 && p[start] == '.'))
			continue;
		if (clen == 2 && p[start] == '.' && p[start + 1] == '.') {
			if (len > floor) {
				while (len > floor && out[len - 1] != '/')
					len--;
				if (len > floor)
					len--;
			} else if (!rooted) {
				if (len > 0)
					out[len++] = '/';
				out[len++] = '.';
				out[len++] = '.';
				floor = len;
			}
			continue;
		}
		if (len > 0 && out[len - 1] != '/')
			out[len++] = '/';
		memcpy(out + len, p + start, clen);
		len += clen;
	}
	if (len == 0)
		out[len++] = '.';
	out[len] = '\0';
	return out;
}

bool path_is_within(const char *rel)
{
	if (rel[0] == '/')
		return false;
	size_t depth = 0;
	for (const char *p = rel; *p != '\0';) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (depth == 0)
				return false;
			depth--;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			depth++;
		}
		p = *end == '/' ? end + 1 : end;
	}
	return true;
}

int path_rel_safe(const char *name, char **clean, struct err **err)
{
	if (name == NULL || name[0] == '\0')
		return err_set(err, ERR_INVALID, "invalid entry name '': it is empty");
	if (strnlen(name, BALE_MAX_PATH) >= BALE_MAX_PATH)
		return err_set(err, ERR_TOOBIG,
		               "invalid entry name '%.64s...': longer than %d bytes", name,
		               BALE_MAX_PATH - 1);
	const char *rel = name;
	while (*rel == '/')
		rel++;
	if (!path_is_within(rel))
		return err_set(err, ERR_INVALID, "invalid entry name '%s': it leaves the root",
		               name);
	*clean = path_clean(rel);
	return 0;
}
