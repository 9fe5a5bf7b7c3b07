#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/path-internal.h"
#include "common/path.h"
#include "common/util.h"
#include "tests/tap.h"

/* ---- fixture: a hostile root with decoys next to it ----
 *
 *   <top>/secret, <top>/dir/file, <top>/etc/passwd   decoys outside the root
 *   <top>/root/                                     the root
 *
 * Every successful open is checked by device and inode against the object
 * inside the root, so reaching a decoy (or the host's /etc) fails the test
 * even when the names match. */

struct fixture {
	char *top;
	int topfd;
	int rootfd;
};

__attribute__((noreturn)) static void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static void mk_dir(int dfd, const char *path)
{
	if (mkdirat(dfd, path, 0755) < 0)
		bail(path);
}

static void mk_file(int dfd, const char *path, const char *content)
{
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, content, strlen(content)) < 0)
		bail(path);
	close(fd);
}

static void mk_link(int dfd, const char *target, const char *path)
{
	if (symlinkat(target, dfd, path) < 0)
		bail(path);
}

/* A chain of n symlinks prefix0 -> prefix1 -> ... -> prefix<n-1> -> end. */
static void mk_chain(int dfd, const char *prefix, int n, const char *end)
{
	for (int i = 0; i < n; i++) {
		cleanup_free char *name = xasprintf("%s%d", prefix, i);
		cleanup_free char *next =
		        i + 1 < n ? xasprintf("%s%d", prefix, i + 1) : xstrdup(end);
		mk_link(dfd, next, name);
	}
}

static void fixture_init(struct fixture *f)
{
	const char *tmp = getenv("TMPDIR");
	f->top = xasprintf("%s/bale-test-path-XXXXXX", tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(f->top) == NULL)
		bail("mkdtemp");
	f->topfd = open(f->top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->topfd < 0)
		bail(f->top);
	mk_file(f->topfd, "secret", "decoy");
	mk_dir(f->topfd, "dir");
	mk_file(f->topfd, "dir/file", "decoy");
	mk_dir(f->topfd, "etc");
	mk_file(f->topfd, "etc/passwd", "decoy");
	mk_dir(f->topfd, "root");
	f->rootfd = openat(f->topfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd < 0)
		bail("root");

	int r = f->rootfd;
	mk_file(r, "secret", "inside");
	mk_file(r, "file", "inside");
	mk_dir(r, "etc");
	mk_file(r, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
	mk_dir(r, "dir");
	mk_file(r, "dir/file", "inside");
	mk_dir(r, "dir/sub");
	mk_file(r, "dir/sub/deep", "inside");
	mk_link(r, "../../secret", "dir/sub/back");
	mk_link(r, "/", "dir/sub/rootlink");
	mk_link(r, "/etc/passwd", "dir/sub/abspw");
	mk_link(r, "../../..", "escape");
	mk_link(r, "..", "up");
	mk_link(r, "/etc", "abs");
	mk_link(r, "loop", "loop");
	mk_link(r, "b", "a");
	mk_link(r, "c", "b");
	mk_link(r, "secret", "c");
	mk_link(r, "dir", "linkdir");
	mk_link(r, "/dir", "absdir");
	mk_link(r, "dir/sub", "deeplink");
	mk_link(r, "dir/sub/../../secret", "reldotdot");
	mk_link(r, "./dir/./sub//deep", "dots");
	mk_link(r, "/outside", "dangling");
	mk_link(r, "../../created-rel", "dangling-rel");
	mk_link(r, "/newdir/", "danglingdir");
	mk_link(r, "../../../../../../../../secret", "deepesc");
	mk_link(r, ".", "selfdir");
	mk_link(r, "file", "tofile");
	mk_link(r, "/proc/self/root", "procesc");
	cleanup_free char *hostabs = xasprintf("%s/secret", f->top);
	mk_link(r, hostabs, "hostabs");
	mk_chain(r, "k", BALE_MAX_SYMLINKS, "secret");     /* exactly the cap */
	mk_chain(r, "m", BALE_MAX_SYMLINKS + 1, "secret"); /* one over */
	mk_chain(r, "d", BALE_MAX_SYMLINKS, "dir");        /* the cap, mid-path */
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void fixture_release(struct fixture *f)
{
	close(f->rootfd);
	close(f->topfd);
	nftw(f->top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->top);
}

/* Nothing may appear next to the root, and the decoys stay untouched. */
static void check_outside(const struct fixture *f, const char *impl)
{
	const char *allowed[] = {"root", "secret", "dir", "etc"};
	cleanup_dir DIR *d = opendir(f->top);
	struct dirent *de;
	int extra = 0;
	while (d != NULL && (de = readdir(d)) != NULL) {
		bool known = str_eq(de->d_name, ".") || str_eq(de->d_name, "..");
		for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
			known = known || str_eq(de->d_name, allowed[i]);
		if (!known) {
			diag("unexpected '%s' next to the root", de->d_name);
			extra++;
		}
	}
	is_int(extra, 0, "%s: nothing was created outside the root", impl);
	struct stat st;
	ok(fstatat(f->topfd, "dir/sub", &st, 0) < 0 && fstatat(f->topfd, "created-rel", &st, 0) < 0,
	   "%s: no directory or file appeared beside the decoys", impl);
}

/* ---- the open table ---- */

typedef int (*open_fn)(int rootfd, const char *path, int flags, mode_t mode);

struct open_case {
	const char *path;
	int flags;
	int want_errno;   /* 0: must succeed */
	const char *want; /* on success: the object inside the root it must be */
};

/* Lookups only: nothing is created. */
static const struct open_case lookup_cases[] = {
        {"secret", O_RDONLY, 0, "secret"},
        {"/secret", O_RDONLY, 0, "secret"},
        {"../secret", O_RDONLY, 0, "secret"},
        {"../../../../secret", O_RDONLY, 0, "secret"},
        {"/../../secret", O_RDONLY, 0, "secret"},
        {"dir/../../secret", O_RDONLY, 0, "secret"},
        {"escape/secret", O_RDONLY, 0, "secret"},
        {"escape/dir/file", O_RDONLY, 0, "dir/file"},
        {"up/up/up/secret", O_RDONLY, 0, "secret"},
        {"deepesc", O_RDONLY, 0, "secret"},
        {"abs/passwd", O_RDONLY, 0, "etc/passwd"},
        {"/etc/passwd", O_RDONLY, 0, "etc/passwd"},
        {"hostabs", O_RDONLY, ENOENT, NULL},
        {"procesc", O_RDONLY, ENOENT, NULL},
        {"a", O_RDONLY, 0, "secret"},
        {"linkdir/file", O_RDONLY, 0, "dir/file"},
        {"absdir/sub/deep", O_RDONLY, 0, "dir/sub/deep"},
        {"reldotdot", O_RDONLY, 0, "secret"},
        {"dots", O_RDONLY, 0, "dir/sub/deep"},
        {"//dir//./sub/.//deep", O_RDONLY, 0, "dir/sub/deep"},
        {"dir/sub/back", O_RDONLY, 0, "secret"},
        {"dir/sub/rootlink/secret", O_RDONLY, 0, "secret"},
        {"dir/sub/abspw", O_RDONLY, 0, "etc/passwd"},
        {"dir/sub/rootlink/../../secret", O_RDONLY, 0, "secret"},
        /* ".." after a symlink is the link target's parent, not lexical. */
        {"deeplink/../file", O_RDONLY, 0, "dir/file"},
        {"linkdir/sub/../../etc/passwd", O_RDONLY, 0, "etc/passwd"},
        {"loop", O_RDONLY, ELOOP, NULL},
        {"loop/x", O_RDONLY, ELOOP, NULL},
        {"k0", O_RDONLY, 0, "secret"},
        {"m0", O_RDONLY, ELOOP, NULL},
        {"d0/file", O_RDONLY, 0, "dir/file"},
        {"d0/sub/back", O_RDONLY, ELOOP, NULL},
        {"file/x", O_RDONLY, ENOTDIR, NULL},
        {"file/", O_RDONLY, ENOTDIR, NULL},
        {"tofile/", O_RDONLY, ENOTDIR, NULL},
        {"dir/file/..", O_RDONLY, ENOTDIR, NULL},
        {"secret", O_RDONLY | O_DIRECTORY, ENOTDIR, NULL},
        {"missing", O_RDONLY, ENOENT, NULL},
        {"missing/..", O_RDONLY, ENOENT, NULL},
        {"dir/missing/x", O_RDONLY, ENOENT, NULL},
        {"", O_RDONLY, ENOENT, NULL},
        {".", O_RDONLY, 0, "."},
        {"/", O_RDONLY, 0, "."},
        {"..", O_RDONLY, 0, "."},
        {"/..", O_RDONLY | O_DIRECTORY, 0, "."},
        {"selfdir", O_RDONLY, 0, "."},
        {"escape", O_RDONLY, 0, "."},
        {"up/", O_RDONLY, 0, "."},
        {"dir/", O_RDONLY, 0, "dir"},
        {"linkdir/", O_RDONLY, 0, "dir"},
        {"linkdir", O_RDONLY | O_DIRECTORY, 0, "dir"},
        {"a", O_RDONLY | O_NOFOLLOW, ELOOP, NULL},
        {"a", O_PATH | O_NOFOLLOW, 0, "a"},
        {"linkdir/", O_RDONLY | O_NOFOLLOW, 0, "dir"},
        {"linkdir/file", O_RDONLY | O_NOFOLLOW, 0, "dir/file"},
        {"a", O_PATH, 0, "secret"},
        {"escape", O_PATH, 0, "."},
        {"dangling", O_RDONLY, ENOENT, NULL},
        {"dangling", O_PATH | O_NOFOLLOW, 0, "dangling"},
};

/* Creation: run after the lookups, in table order. */
static const struct open_case create_cases[] = {
        {"newfile", O_WRONLY | O_CREAT, 0, "newfile"},
        {"dangling", O_WRONLY | O_CREAT | O_EXCL, EEXIST, NULL},
        {"dangling", O_WRONLY | O_CREAT, 0, "outside"},
        {"dangling-rel", O_WRONLY | O_CREAT, 0, "created-rel"},
        {"escape/newfile3", O_WRONLY | O_CREAT, 0, "newfile3"},
        {"../../dir/newfile4", O_WRONLY | O_CREAT, 0, "dir/newfile4"},
        {"secret", O_WRONLY | O_CREAT | O_EXCL, EEXIST, NULL},
        {"a", O_RDWR | O_CREAT, 0, "secret"},
        {"a", O_RDWR | O_CREAT | O_NOFOLLOW, ELOOP, NULL},
        {"newdir/", O_WRONLY | O_CREAT, EISDIR, NULL},
        {"danglingdir", O_WRONLY | O_CREAT, EISDIR, NULL},
        {"dir", O_WRONLY | O_CREAT, EISDIR, NULL},
        {"dir/", O_RDONLY | O_CREAT, EISDIR, NULL},
        {".", O_RDONLY | O_CREAT, EISDIR, NULL},
        {"..", O_RDONLY | O_CREAT | O_EXCL, EEXIST, NULL},
        {"hostabs", O_WRONLY | O_CREAT, ENOENT, NULL},
        {"loop", O_WRONLY | O_CREAT, ELOOP, NULL},
        {"missing/new", O_WRONLY | O_CREAT, ENOENT, NULL},
        {"file/new", O_WRONLY | O_CREAT, ENOTDIR, NULL},
};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static void run_case(const char *impl, open_fn fn, int rootfd, const struct open_case *c,
                     const char *label)
{
	if (label == NULL)
		label = c->path;
	int fd = fn(rootfd, c->path, c->flags, 0644);
	if (c->want_errno != 0) {
		is_int(fd < 0 ? -fd : 0, c->want_errno, "%s: '%s' (flags %#o) fails with %s", impl,
		       label, c->flags, strerror(c->want_errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!ok(fd >= 0, "%s: '%s' (flags %#o) opens root/%s", impl, label, c->flags, c->want)) {
		diag("  error: %s", strerror(-fd));
		return;
	}
	struct stat got, want;
	bool same = fstat(fd, &got) == 0 &&
	            fstatat(rootfd, c->want, &want, AT_SYMLINK_NOFOLLOW) == 0 &&
	            same_file(&got, &want);
	int fdflags = fcntl(fd, F_GETFD);
	ok(same && fdflags >= 0 && (fdflags & FD_CLOEXEC),
	   "%s: '%s' is root/%s (by inode), close-on-exec", impl, label, c->want);
	close(fd);
}

/* Long names, built at run time. */
static void run_long_cases(const char *impl, open_fn fn, int rootfd)
{
	char *p = xmalloc(BALE_MAX_PATH + 2);
	/* The longest accepted path: slashes then the name. */
	memset(p, '/', BALE_MAX_PATH - 1);
	memcpy(p + BALE_MAX_PATH - 1 - strlen("secret"), "secret", strlen("secret"));
	p[BALE_MAX_PATH - 1] = '\0';
	run_case(impl, fn, rootfd, &(struct open_case){p, O_RDONLY, 0, "secret"},
	         "///...secret (BALE_MAX_PATH-1 bytes)");
	memset(p, '/', BALE_MAX_PATH);
	memcpy(p + BALE_MAX_PATH - strlen("secret"), "secret", strlen("secret"));
	p[BALE_MAX_PATH] = '\0';
	run_case(impl, fn, rootfd, &(struct open_case){p, O_RDONLY, ENAMETOOLONG, NULL},
	         "///...secret (BALE_MAX_PATH bytes)");
	memset(p, 'a', BALE_MAX_PATH + 1);
	p[BALE_MAX_PATH + 1] = '\0';
	run_case(impl, fn, rootfd, &(struct open_case){p, O_RDONLY, ENAMETOOLONG, NULL},
	         "aaa... (BALE_MAX_PATH+1 bytes)");
	memset(p, 'a', NAME_MAX + 1);
	p[NAME_MAX + 1] = '\0';
	run_case(impl, fn, rootfd, &(struct open_case){p, O_RDONLY, ENAMETOOLONG, NULL},
	         "aaa... (a component of NAME_MAX+1 bytes)");
	free(p);
}

/* Magic links must not be followed, ordinary procfs links must. */
static void run_proc_cases(const char *impl, open_fn fn)
{
	static const struct open_case proc_cases[] = {
	        {"self/status", O_RDONLY, 0, "self/status"},
	        {"thread-self/comm", O_RDONLY, 0, "thread-self/comm"},
	        {"mounts", O_RDONLY, 0, "self/mounts"},
	        {"self/root", O_PATH, ELOOP, NULL},
	        {"self/root/etc/passwd", O_RDONLY, ELOOP, NULL},
	        {"self/cwd/", O_PATH, ELOOP, NULL},
	        {"self/fd/0", O_RDONLY, ELOOP, NULL},
	        {"self/exe", O_PATH, ELOOP, NULL},
	        {"self/ns/mnt", O_RDONLY, ELOOP, NULL},
	        {"self/root", O_PATH | O_NOFOLLOW, 0, "self/root"},
	};
	int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0) {
		ok(true, "# SKIP %s: no /proc here", impl);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(proc_cases); i++)
		run_case(impl, fn, procfd, &proc_cases[i], NULL);
	close(procfd);
}

static bool openat2_works(void)
{
	int fd = path_open_in_root_openat2(AT_FDCWD, ".", O_PATH, 0);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

static void run_table(const char *impl, open_fn fn)
{
	struct fixture f;
	fixture_init(&f);
	for (size_t i = 0; i < ARRAY_SIZE(lookup_cases); i++)
		run_case(impl, fn, f.rootfd, &lookup_cases[i], NULL);
	for (size_t i = 0; i < ARRAY_SIZE(create_cases); i++)
		run_case(impl, fn, f.rootfd, &create_cases[i], NULL);
	run_long_cases(impl, fn, f.rootfd);
	check_outside(&f, impl);
	fixture_release(&f);
	run_proc_cases(impl, fn);
}

static void test_open_table(void)
{
	if (openat2_works())
		run_table("openat2", path_open_in_root_openat2);
	else
		ok(true, "# SKIP openat2: the kernel or a seccomp filter refuses it here");
	run_table("walk", path_open_in_root_walk);
}

/* Random paths over the hostile root's names, through the kernel and the
 * walk: same errno, or the same inode. O_PATH lookups are also checked
 * against path_resolve_in_root(). A fixed seed keeps failures
 * reproducible. */
static const char *const rand_names[] = {
        "secret",  "dir",      "sub",         "deep",    "file",    "escape",   "up",
        "abs",     "loop",     "a",           "c",       "linkdir", "absdir",   "deeplink",
        "dots",    "dangling", "danglingdir", "deepesc", "selfdir", "tofile",   "procesc",
        "hostabs", "k0",       "m0",          "d0",      "back",    "rootlink", "abspw",
        "etc",     "passwd",   "..",          ".",       "",        "missing",  "reldotdot",
};

static const int rand_flags[] = {
        O_RDONLY,
        O_PATH,
        O_PATH | O_NOFOLLOW,
        O_RDONLY | O_NOFOLLOW,
        O_RDONLY | O_DIRECTORY,
        O_PATH | O_DIRECTORY | O_NOFOLLOW,
};

static uint64_t rand_state = 0x9e3779b97f4a7c15u;

static unsigned int rand_below(unsigned int n)
{
	/* xorshift64: deterministic and good enough to pick names. */
	rand_state ^= rand_state << 13;
	rand_state ^= rand_state >> 7;
	rand_state ^= rand_state << 17;
	return (unsigned int)(rand_state % n);
}

static char *rand_path(void)
{
	struct buf b;
	buf_init(&b, BALE_MAX_PATH);
	if (rand_below(3) == 0)
		buf_addch(&b, '/', NULL);
	unsigned int n = 1 + rand_below(4);
	for (unsigned int i = 0; i < n; i++) {
		if (i > 0)
			buf_addch(&b, '/', NULL);
		buf_addstr(&b, rand_names[rand_below(ARRAY_SIZE(rand_names))], NULL);
	}
	if (rand_below(4) == 0)
		buf_addch(&b, '/', NULL);
	return buf_detach(&b, NULL);
}

/* -errno, or the inode (>= 0) of what was opened. */
static long long open_result(open_fn fn, int rootfd, const char *path, int flags)
{
	int fd = fn(rootfd, path, flags, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	long long r = fstat(fd, &st) == 0 ? (long long)st.st_ino : -1000;
	close(fd);
	return r;
}

static long long resolve_result(int rootfd, const char *path)
{
	char *resolved = NULL;
	struct err *err = NULL;
	long long r;
	if (path_resolve_in_root(rootfd, path, &resolved, &err) < 0) {
		r = -err->errnum;
	} else {
		struct stat st;
		const char *rel = resolved[1] != '\0' ? resolved + 1 : ".";
		r = fstatat(rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (long long)st.st_ino
		                                                        : -ENOENT;
	}
	free(resolved);
	err_free(err);
	return r;
}

static void test_random_differential(void)
{
	if (!openat2_works()) {
		ok(true, "# SKIP differential: openat2 is refused here");
		return;
	}
	struct fixture f;
	fixture_init(&f);
	int mismatches = 0, resolve_mismatches = 0, successes = 0;
	for (int i = 0; i < 20000; i++) {
		cleanup_free char *p = rand_path();
		int flags = rand_flags[rand_below(ARRAY_SIZE(rand_flags))];
		long long k = open_result(path_open_in_root_openat2, f.rootfd, p, flags);
		long long w = open_result(path_open_in_root_walk, f.rootfd, p, flags);
		successes += k >= 0;
		if (k != w && mismatches++ < 5)
			diag("  '%s' flags %#o: openat2 %lld, walk %lld", p, flags, k, w);
		/* resolve follows a final symlink and accepts missing tails,
		 * so compare it where the kernel found something. */
		if (flags == O_PATH && k >= 0) {
			long long r = resolve_result(f.rootfd, p);
			if (r != k && resolve_mismatches++ < 5)
				diag("  resolve '%s': %lld, openat2 %lld", p, r, k);
		}
	}
	is_int(mismatches, 0, "20000 random paths: the walk agrees with openat2 (%d opened)",
	       successes);
	is_int(resolve_mismatches, 0, "path_resolve_in_root names what openat2 opens");
	check_outside(&f, "differential");
	fixture_release(&f);
}

/* Where an fd points, relative to the fixture's top ("root/x"), or
 * "error <errno>". Used to compare twin fixtures. */
static char *where(const struct fixture *f, int fd)
{
	if (fd < 0)
		return xasprintf("error %d", -fd);
	char link[64], target[BALE_MAX_PATH];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	close(fd);
	if (n < 0)
		return xstrdup("unreadable");
	target[n] = '\0';
	size_t len = strlen(f->top);
	if (strncmp(target, f->top, len) == 0 && target[len] == '/')
		return xstrdup(target + len + 1);
	return xasprintf("OUTSIDE %s", target);
}

/* O_CREAT on random paths, the kernel on one copy of the root and the walk
 * on a twin: the same files must be created at the same places. */
static void test_random_create(void)
{
	static const int create_flags[] = {
	        O_WRONLY | O_CREAT,
	        O_WRONLY | O_CREAT | O_EXCL,
	        O_RDONLY | O_CREAT,
	        O_WRONLY | O_CREAT | O_NOFOLLOW,
	};
	static const char *const new_names[] = {"n1", "n2", "dangling", "dangling-rel",
	                                        "danglingdir"};
	if (!openat2_works()) {
		ok(true, "# SKIP differential: openat2 is refused here");
		return;
	}
	struct fixture fk, fw;
	fixture_init(&fk);
	fixture_init(&fw);
	int mismatches = 0, outside = 0, opened = 0;
	for (int i = 0; i < 3000; i++) {
		cleanup_free char *p = rand_path();
		if (rand_below(2) == 0) {
			/* end in a name that does not exist yet, or a dangling link */
			char *q =
			        xasprintf("%s/%s", p, new_names[rand_below(ARRAY_SIZE(new_names))]);
			free(p);
			p = q;
		}
		int flags = create_flags[rand_below(ARRAY_SIZE(create_flags))];
		cleanup_free char *k =
		        where(&fk, path_open_in_root_openat2(fk.rootfd, p, flags, 0600));
		cleanup_free char *w =
		        where(&fw, path_open_in_root_walk(fw.rootfd, p, flags, 0600));
		outside += str_has_prefix(w, "OUTSIDE");
		opened += !str_has_prefix(k, "error");
		if (!str_eq(k, w) && mismatches++ < 5)
			diag("  '%s' flags %#o: openat2 %s, walk %s", p, flags, k, w);
	}
	is_int(mismatches, 0,
	       "3000 random O_CREAT opens: the walk creates what openat2 creates (%d opened)",
	       opened);
	is_int(outside, 0, "no random O_CREAT open lands outside the root");
	check_outside(&fk, "differential openat2");
	check_outside(&fw, "differential walk");
	fixture_release(&fk);
	fixture_release(&fw);
}

/* Both implementations on the same path, racing a thread that keeps moving
 * a directory between the root and the decoy side: a ".." taken from the
 * moved directory would land next to the decoy. */
struct race {
	struct fixture *f;
	volatile bool stop;
};

static void *race_mover(void *arg)
{
	struct race *r = arg;
	while (!r->stop) {
		renameat(r->f->rootfd, "r1/r2", r->f->topfd, "dir/r2");
		renameat(r->f->topfd, "dir/r2", r->f->rootfd, "r1/r2");
	}
	return NULL;
}

static void test_rename_race(void)
{
	struct fixture f;
	fixture_init(&f);
	mk_dir(f.rootfd, "r1");
	mk_dir(f.rootfd, "r1/r2");
	mk_dir(f.rootfd, "r1/r2/r3");
	mk_file(f.rootfd, "r1/file", "inside");
	struct race r = {.f = &f};
	pthread_t t;
	if (pthread_create(&t, NULL, race_mover, &r) != 0)
		bail("pthread_create");
	struct stat want, decoy;
	fstatat(f.rootfd, "r1/file", &want, 0);
	fstatat(f.topfd, "dir/file", &decoy, 0);
	int wrong = 0, opened = 0;
	open_fn fns[] = {path_open_in_root_walk, path_open_in_root_openat2};
	for (int i = 0; i < 4000; i++) {
		int fd = fns[i % 2](f.rootfd, "r1/r2/r3/../../file", O_RDONLY, 0);
		if (fd == -ENOSYS || fd == -EPERM)
			continue;
		if (fd < 0)
			continue;
		struct stat st;
		fstat(fd, &st);
		opened++;
		if (!same_file(&st, &want))
			wrong++;
		close(fd);
	}
	r.stop = true;
	pthread_join(t, NULL);
	is_int(wrong, 0, "racing renames never lead a lookup out of the root (%d opened)", opened);
	fixture_release(&f);
}

/* When an RCU-walk lookup is aborted (a mount, an unmount, a rename on its
 * path), the kernel restarts it without resetting its symlink count, so the
 * links followed before the abort count twice and a chain of more than 20
 * links fails with ELOOP now and then on a busy machine. Swapping the links
 * of a chain with identical twins changes nothing a lookup can see but
 * aborts the RCU walks going through them: the 40-link chain must open
 * every time, from the kernel path and from path_open_in_root(). */
struct swap {
	int rootfd;
	volatile bool stop;
	long swaps;
};

static void *link_swapper(void *arg)
{
	struct swap *s = arg;
	for (unsigned int i = 0; !s->stop; i = (i + 1) % BALE_MAX_SYMLINKS) {
		char name[16], twin[16];
		snprintf(name, sizeof(name), "k%u", i);
		snprintf(twin, sizeof(twin), "k%utwin", i);
		if (renameat2(s->rootfd, name, s->rootfd, twin, RENAME_EXCHANGE) == 0)
			s->swaps++;
	}
	return NULL;
}

/* path_open_in_root() as an open_fn: a new fd or -errno. */
static int open_public(int rootfd, const char *path, int flags, mode_t mode)
{
	struct err *err = NULL;
	int fd = path_open_in_root(rootfd, path, flags, mode, &err);
	if (fd < 0) {
		fd = -err->errnum;
		err_free(err);
	}
	return fd;
}

static void test_link_count_under_churn(void)
{
	static const int flags[] = {O_RDONLY, O_PATH, O_WRONLY | O_CREAT};
	static const char *const names[] = {"openat2", "path_open_in_root"};
	open_fn fns[] = {path_open_in_root_openat2, open_public};
	if (!openat2_works()) {
		ok(true, "# SKIP link count: openat2 is refused here");
		return;
	}
	struct fixture f;
	fixture_init(&f);
	for (int i = 0; i < BALE_MAX_SYMLINKS; i++) {
		cleanup_free char *twin = xasprintf("k%dtwin", i);
		cleanup_free char *next =
		        i + 1 < BALE_MAX_SYMLINKS ? xasprintf("k%d", i + 1) : xstrdup("secret");
		mk_link(f.rootfd, next, twin);
	}
	struct stat want;
	if (fstatat(f.rootfd, "secret", &want, 0) < 0)
		bail("secret");
	struct swap s = {.rootfd = f.rootfd};
	pthread_t t;
	if (pthread_create(&t, NULL, link_swapper, &s) != 0)
		bail("pthread_create");
	int bad[2] = {0, 0};
	for (int i = 0; i < 16000; i++) {
		int fl = flags[i / 2 % ARRAY_SIZE(flags)];
		long long r = open_result(fns[i % 2], f.rootfd, "k0", fl);
		if (r != (long long)want.st_ino && bad[i % 2]++ < 5)
			diag("  %s 'k0' flags %#o: %lld", names[i % 2], fl, r);
	}
	s.stop = true;
	pthread_join(t, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
		is_int(bad[i], 0, "%s: %d chained links open while swapped (%ld swaps)", names[i],
		       BALE_MAX_SYMLINKS, s.swaps);
	fixture_release(&f);
}

/* ---- the public wrapper: errors and the fallback switch ---- */

static void test_public_errors(void)
{
	struct fixture f;
	fixture_init(&f);
	struct err *err = NULL;
	int fd = path_open_in_root(f.rootfd, "escape/secret", O_RDONLY, 0, &err);
	char buf[16] = "";
	ok(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == 6 && str_eq(buf, "inside"),
	   "path_open_in_root reads the file inside the root");
	if (fd >= 0)
		close(fd);

	fd = path_open_in_root(f.rootfd, "missing/x", O_RDONLY, 0, &err);
	is_int(fd, ERR_NOTFOUND, "ENOENT is ERR_NOTFOUND");
	is_str(err_msg(err), "cannot open 'missing/x' in root: No such file or directory",
	       "message: subject quoted, cause last");
	ok(err != NULL && err->errnum == ENOENT, "errno is kept");
	err_freep(&err);

	is_int(path_open_in_root(f.rootfd, "loop", O_RDONLY, 0, &err), ERR_INVALID,
	       "ELOOP is ERR_INVALID");
	ok(err != NULL && err->errnum == ELOOP, "ELOOP kept");
	err_freep(&err);
	is_int(path_open_in_root(f.rootfd, "file/x", O_RDONLY, 0, &err), ERR_INVALID,
	       "ENOTDIR is ERR_INVALID");
	err_freep(&err);
	is_int(path_open_in_root(f.rootfd, "secret", O_CREAT | O_EXCL | O_WRONLY, 0600, &err),
	       ERR_EXISTS, "EEXIST is ERR_EXISTS");
	err_freep(&err);
	is_int(path_open_in_root(f.rootfd, "", O_RDONLY, 0, NULL), ERR_NOTFOUND,
	       "empty path, no err");
	char *longp = xmalloc(BALE_MAX_PATH + 2);
	memset(longp, 'a', BALE_MAX_PATH + 1);
	longp[BALE_MAX_PATH + 1] = '\0';
	is_int(path_open_in_root(f.rootfd, longp, O_RDONLY, 0, &err), ERR_TOOBIG,
	       "a path of BALE_MAX_PATH+1 bytes is ERR_TOOBIG");
	ok(err != NULL && err->errnum == ENAMETOOLONG, "ENAMETOOLONG kept");
	err_freep(&err);
	free(longp);
	fixture_release(&f);
}

/* EACCES must come back as ERR_DENIED from both implementations. As root
 * that needs a child that gave up root. */
static void test_denied(void)
{
	struct fixture f;
	fixture_init(&f);
	mk_dir(f.rootfd, "locked");
	mk_file(f.rootfd, "locked/x", "inside");
	fchmodat(f.rootfd, "locked", 0, 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) < 0)
			_exit(99);
		int bad = 0;
		struct err *err = NULL;
		if (path_open_in_root(f.rootfd, "locked/x", O_RDONLY, 0, &err) != ERR_DENIED ||
		    err->errnum != EACCES)
			bad |= 1;
		err_free(err);
		if (path_open_in_root_walk(f.rootfd, "locked/x", O_RDONLY, 0) != -EACCES)
			bad |= 2;
		_exit(bad);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
	       "EACCES is ERR_DENIED, from the kernel and from the walk");
	fchmodat(f.rootfd, "locked", 0755, 0);
	fixture_release(&f);
}

/* Under a seccomp filter that refuses openat2 (EPERM as older Docker
 * profiles, ENOSYS as newer ones), path_open_in_root must switch to the
 * walk and still give answers inside the root. */
static void test_fallback_switch(int errnum, const char *what)
{
	struct fixture f;
	fixture_init(&f);
	pid_t pid = fork();
	if (pid == 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		if (ctx == NULL ||
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(errnum), SCMP_SYS(openat2), 0) < 0 ||
		    seccomp_load(ctx) < 0)
			_exit(99);
		seccomp_release(ctx);
		int bad = 0;
		if (path_open_in_root_openat2(f.rootfd, ".", O_PATH, 0) != -errnum)
			bad |= 1;
		struct stat want, got;
		fstatat(f.rootfd, "secret", &want, 0);
		int fd = path_open_in_root(f.rootfd, "escape/../abs/../secret", O_RDONLY, 0, NULL);
		if (fd < 0 || fstat(fd, &got) < 0 || !same_file(&got, &want))
			bad |= 2;
		if (path_open_in_root(f.rootfd, "loop", O_RDONLY, 0, NULL) != ERR_INVALID)
			bad |= 4;
		fd = path_open_in_root(f.rootfd, "dangling", O_WRONLY | O_CREAT, 0600, NULL);
		if (fd < 0 || fstatat(f.rootfd, "outside", &want, 0) < 0)
			bad |= 8;
		_exit(bad);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (code == 99)
		ok(true, "# SKIP cannot load a seccomp filter here");
	else
		is_int(code, 0, "openat2 refused with %s: path_open_in_root falls back to the walk",
		       what);
	fixture_release(&f);
}

/* ---- mkdir ---- */

static void check_mkdir(int rootfd, const char *path, const char *want, int want_code,
                        int want_errno)
{
	struct err *err = NULL;
	int fd = path_mkdir_in_root(rootfd, path, 0755, &err);
	if (want_code != 0) {
		is_int(fd, want_code, "mkdir '%s' fails with %s", path, err_code_name(want_code));
		ok(err != NULL && err->errnum == want_errno, "mkdir '%s': errno %s (%s)", path,
		   strerror(want_errno), err_msg(err));
		if (fd >= 0)
			close(fd);
		err_free(err);
		return;
	}
	if (!ok(fd >= 0, "mkdir '%s' succeeds", path)) {
		diag("  %s", err_msg(err));
		err_free(err);
		return;
	}
	struct stat got, exp;
	int fl = fcntl(fd, F_GETFL);
	ok(fstat(fd, &got) == 0 && fstatat(rootfd, want, &exp, AT_SYMLINK_NOFOLLOW) == 0 &&
	           same_file(&got, &exp) && S_ISDIR(got.st_mode) && !(fl & O_PATH) &&
	           (fl & O_ACCMODE) == O_RDONLY,
	   "mkdir '%s' returns a readable fd of root/%s", path, want);
	close(fd);
}

static void test_mkdir(void)
{
	struct fixture f;
	fixture_init(&f);
	mk_link(f.rootfd, "/ghost", "dangling2");
	check_mkdir(f.rootfd, "newdir/a/b", "newdir/a/b", 0, 0);
	check_mkdir(f.rootfd, "newdir/a/b", "newdir/a/b", 0, 0);
	check_mkdir(f.rootfd, "escape/made", "made", 0, 0);
	check_mkdir(f.rootfd, "../../made2//x/./", "made2/x", 0, 0);
	check_mkdir(f.rootfd, "abs/made", "etc/made", 0, 0);
	check_mkdir(f.rootfd, "dangling2/sub", "ghost/sub", 0, 0);
	check_mkdir(f.rootfd, "p/../q", "q", 0, 0);
	check_mkdir(f.rootfd, "deeplink/../new", "dir/new", 0, 0);
	check_mkdir(f.rootfd, "/", ".", 0, 0);
	check_mkdir(f.rootfd, "dir", "dir", 0, 0);
	check_mkdir(f.rootfd, "d0/sub", "dir/sub", 0, 0);
	check_mkdir(f.rootfd, "file/x", NULL, ERR_INVALID, ENOTDIR);
	check_mkdir(f.rootfd, "secret", NULL, ERR_INVALID, ENOTDIR);
	check_mkdir(f.rootfd, "tofile", NULL, ERR_INVALID, ENOTDIR);
	check_mkdir(f.rootfd, "loop/x", NULL, ERR_INVALID, ELOOP);
	check_mkdir(f.rootfd, "m0", NULL, ERR_INVALID, ELOOP);
	check_mkdir(f.rootfd, "", NULL, ERR_NOTFOUND, ENOENT);
	struct stat st;
	ok(fstatat(f.rootfd, "p", &st, 0) == 0 && S_ISDIR(st.st_mode), "mkdir 'p/../q' made p too");
	ok(stat("/ghost", &st) < 0, "no /ghost on the host");
	check_outside(&f, "mkdir");
	fixture_release(&f);
}

/* ---- resolve ---- */

static void check_resolve(int rootfd, const char *path, const char *want, int want_errno)
{
	struct err *err = NULL;
	char *got = NULL;
	int r = path_resolve_in_root(rootfd, path, &got, &err);
	if (want_errno != 0)
		ok(r < 0 && err != NULL && err->errnum == want_errno,
		   "resolve '%s' fails with %s (%s)", path, strerror(want_errno), err_msg(err));
	else if (!ok(r == 0, "resolve '%s' succeeds", path))
		diag("  %s", err_msg(err));
	else
		is_str(got, want, "resolve '%s'", path);
	free(got);
	err_free(err);
}

static void test_resolve(void)
{
	struct fixture f;
	fixture_init(&f);
	check_resolve(f.rootfd, "a", "/secret", 0);
	check_resolve(f.rootfd, "abs", "/etc", 0);
	check_resolve(f.rootfd, "abs/passwd", "/etc/passwd", 0);
	check_resolve(f.rootfd, "escape/dir/sub/back", "/secret", 0);
	check_resolve(f.rootfd, "deeplink/../file", "/dir/file", 0);
	check_resolve(f.rootfd, "dots", "/dir/sub/deep", 0);
	check_resolve(f.rootfd, "dir/sub/rootlink", "/", 0);
	check_resolve(f.rootfd, "linkdir/", "/dir", 0);
	check_resolve(f.rootfd, "dangling", "/outside", 0);
	check_resolve(f.rootfd, "dangling-rel/x", "/created-rel/x", 0);
	check_resolve(f.rootfd, "missing/x/../y", "/missing/y", 0);
	check_resolve(f.rootfd, "missing/../../../dir/sub/back", "/secret", 0);
	check_resolve(f.rootfd, "missing/", "/missing", 0);
	check_resolve(f.rootfd, "k0", "/secret", 0);
	check_resolve(f.rootfd, "/", "/", 0);
	check_resolve(f.rootfd, ".", "/", 0);
	check_resolve(f.rootfd, "../..", "/", 0);
	cleanup_free char *host = xasprintf("%s/secret", f.top);
	check_resolve(f.rootfd, "hostabs", host, 0);
	check_resolve(f.rootfd, "loop", NULL, ELOOP);
	check_resolve(f.rootfd, "m0", NULL, ELOOP);
	check_resolve(f.rootfd, "file/x", NULL, ENOTDIR);
	check_resolve(f.rootfd, "tofile/", NULL, ENOTDIR);
	check_resolve(f.rootfd, "", NULL, ENOENT);
	fixture_release(&f);
}

/* ---- is an fd inside the root ---- */

static void test_fd_is_within(void)
{
	struct fixture f;
	fixture_init(&f);
	mk_dir(f.rootfd, "dir/sub/moving");
	struct err *err = NULL;
	is_int(path_fd_is_within(f.rootfd, f.rootfd, NULL), 1, "the root is within itself");
	int sub = path_open_in_root(f.rootfd, "dir/sub", O_PATH | O_DIRECTORY, 0, NULL);
	is_int(path_fd_is_within(f.rootfd, sub, NULL), 1, "a directory below the root is within");
	is_int(path_fd_is_within(f.rootfd, f.topfd, NULL), 0, "the root's parent is not within");
	int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	is_int(path_fd_is_within(f.rootfd, slash, NULL), 0, "/ is not within");
	is_int(path_fd_is_within(slash, sub, NULL), 1, "everything is within /");
	int decoy = openat(f.topfd, "dir", O_PATH | O_DIRECTORY | O_CLOEXEC);
	is_int(path_fd_is_within(f.rootfd, decoy, NULL), 0, "a sibling of the root is not within");
	int file = openat(f.rootfd, "secret", O_RDONLY | O_CLOEXEC);
	is_int(path_fd_is_within(f.rootfd, file, &err), ERR_INVALID, "a file fd is refused");
	ok(err != NULL && err->errnum == ENOTDIR, "with ENOTDIR");
	err_freep(&err);

	/* The CVE-2024-21626 shape: a directory fd we hold is moved away. */
	int moving = openat(f.rootfd, "dir/sub/moving", O_PATH | O_DIRECTORY | O_CLOEXEC);
	is_int(path_fd_is_within(f.rootfd, moving, NULL), 1, "held directory inside the root");
	if (renameat(f.rootfd, "dir/sub/moving", f.topfd, "moved") < 0)
		bail("rename");
	is_int(path_fd_is_within(f.rootfd, moving, NULL), 0, "the same fd after it was moved out");
	renameat(f.topfd, "moved", f.rootfd, "dir/sub/moving");

	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fchdir(sub) == 0) {
		is_int(path_fd_is_within(f.rootfd, AT_FDCWD, NULL), 1,
		       "AT_FDCWD checks the cwd (inside)");
		if (fchdir(f.topfd) == 0)
			is_int(path_fd_is_within(f.rootfd, AT_FDCWD, NULL), 0, "the cwd outside");
		if (fchdir(cwd) < 0)
			bail("fchdir back");
	}
	close(cwd);
	close(moving);
	close(file);
	close(decoy);
	close(slash);
	close(sub);
	fixture_release(&f);
}

/* ---- lexical helpers ---- */

static void test_clean(void)
{
	/* The cases of Go's path.Clean tests, which this function follows. */
	static const char *const cases[][2] = {
	        {"", "."},
	        {"abc", "abc"},
	        {"abc/def", "abc/def"},
	        {"a/b/c", "a/b/c"},
	        {".", "."},
	        {"..", ".."},
	        {"../..", "../.."},
	        {"../../abc", "../../abc"},
	        {"/abc", "/abc"},
	        {"/", "/"},
	        {"abc/", "abc"},
	        {"abc/def/", "abc/def"},
	        {"./", "."},
	        {"../", ".."},
	        {"../../", "../.."},
	        {"/abc/", "/abc"},
	        {"abc//def//ghi", "abc/def/ghi"},
	        {"//abc", "/abc"},
	        {"///abc", "/abc"},
	        {"//abc//", "/abc"},
	        {"abc//", "abc"},
	        {"abc/./def", "abc/def"},
	        {"/./abc/def", "/abc/def"},
	        {"abc/.", "abc"},
	        {"abc/def/ghi/../jkl", "abc/def/jkl"},
	        {"abc/def/../ghi/../jkl", "abc/jkl"},
	        {"abc/def/..", "abc"},
	        {"abc/def/../..", "."},
	        {"/abc/def/../..", "/"},
	        {"abc/def/../../..", ".."},
	        {"/abc/def/../../..", "/"},
	        {"abc/def/../../../ghi/jkl/../../../mno", "../../mno"},
	        {"abc/./../def", "def"},
	        {"abc//./../def", "def"},
	        {"abc/../../././../def", "../../def"},
	        {"/..", "/"},
	        {"/../..", "/"},
	        {"..a/b", "..a/b"},
	        {".../..", "."},
	        {"a/..b/.", "a/..b"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = path_clean(cases[i][0]);
		is_str(got, cases[i][1], "path_clean('%s')", cases[i][0]);
		free(got);
	}
}

static void test_is_within(void)
{
	static const struct {
		const char *path;
		bool within;
	} cases[] = {
	        {"", true},       {".", true},     {"a", true},          {"a/b/..", true},
	        {"a/../b", true}, {"..a", true},   {"a/..", true},       {"./a/./b/", true},
	        {"..", false},    {"../a", false}, {"a/../..", false},   {"a/../../b", false},
	        {"/a", false},    {"./..", false}, {"a//..//..", false}, {"a/b/../../..", false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(path_is_within(cases[i].path), cases[i].within, "path_is_within('%s')",
		       cases[i].path);
}

static void test_rel_safe(void)
{
	static const struct {
		const char *name;
		const char *want; /* NULL: rejected */
	} cases[] = {
	        {"etc/passwd", "etc/passwd"},
	        {"/etc/passwd", "etc/passwd"},
	        {"///etc//passwd/", "etc/passwd"},
	        {"./usr/./bin/", "usr/bin"},
	        {"usr/../etc", "etc"},
	        {"/", "."},
	        {"./", "."},
	        {"a/..", "."},
	        {"..", NULL},
	        {"../etc", NULL},
	        {"a/../../etc", NULL},
	        {"/../etc", NULL},
	        {"", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = NULL;
		struct err *err = NULL;
		int r = path_rel_safe(cases[i].name, &got, &err);
		if (cases[i].want != NULL)
			ok(r == 0 && str_eq(got, cases[i].want), "path_rel_safe('%s') is '%s'",
			   cases[i].name, cases[i].want);
		else
			ok(r == ERR_INVALID && got == NULL, "path_rel_safe('%s') is refused",
			   cases[i].name);
		free(got);
		err_free(err);
	}
	struct err *err = NULL;
	char *got = NULL;
	path_rel_safe("a/../../etc", &got, &err);
	is_str(err_msg(err), "invalid entry name 'a/../../etc': it leaves the root",
	       "rel_safe message");
	err_freep(&err);
	char *longp = xmalloc(BALE_MAX_PATH + 1);
	memset(longp, 'a', BALE_MAX_PATH);
	longp[BALE_MAX_PATH] = '\0';
	is_int(path_rel_safe(longp, &got, NULL), ERR_TOOBIG,
	       "a name of BALE_MAX_PATH bytes is too big");
	free(longp);
}

int main(void)
{
	struct stat st;
	bool had_outside = stat("/outside", &st) == 0 || stat("/newdir", &st) == 0 ||
	                   stat("/created-rel", &st) == 0;
	test_open_table();
	test_random_differential();
	test_random_create();
	test_rename_race();
	test_link_count_under_churn();
	test_public_errors();
	test_denied();
	test_fallback_switch(EPERM, "EPERM");
	test_fallback_switch(ENOSYS, "ENOSYS");
	test_mkdir();
	test_resolve();
	test_fd_is_within();
	test_clean();
	test_is_within();
	test_rel_safe();
	if (!had_outside)
		ok(stat("/outside", &st) < 0 && stat("/newdir", &st) < 0 &&
		           stat("/created-rel", &st) < 0,
		   "nothing was created at the host's /");
	return tap_done();
}
