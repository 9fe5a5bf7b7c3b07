/* The mounts of a step, made by its pid 1 between "the rootfs is mounted"
 * and pivot_root (sandbox-internal.h): /proc, a minimal /dev, /sys
 * read-only, bind mounts, the paths runc masks or makes read-only, and
 * /etc/hosts, /etc/resolv.conf, /etc/hostname. Every path inside the rootfs
 * is resolved with common/path.h on a held root fd and mounted on through
 * /proc/self/fd/N, so a symlink in the image cannot redirect a mount to the
 * host. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "builder/sandbox-internal.h"
#include "common/path.h"
#include "common/util.h"

/* moby's oci.DefaultSpec() MaskedPaths and ReadonlyPaths. */
static const char *const masked_paths[] = {
	"/proc/asound",      "/proc/acpi",        "/proc/interrupts", "/proc/kcore",
	"/proc/keys",        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi",        "/sys/firmware",    "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
/* runc's default devices, bound from the host (mknod is not allowed in a
 * user namespace, and nodes on a tmpfs mounted there would not work). */
static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };

static const struct {
	const char *target;
	const char *name;
} dev_links[] = {
	{ "/proc/self/fd", "fd" },       { "/proc/self/fd/0", "stdin" },
	{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
	{ "pts/ptmx", "ptmx" },
};

#define FDPATH_MAX 32
static const char *fdpath(char *buf, int fd)
{
	snprintf(buf, FDPATH_MAX, "/proc/self/fd/%d", fd);
	return buf;
}

static int mount_err(struct err **err, int errnum, const char *what, const char *path)
{
	return err_sys(err, errnum == EPERM || errnum == EACCES ? ERR_DENIED : ERR_IO, errnum,
		       "cannot mount %s on '%s'", what, path);
}

/* Mount on the directory `rel` of the rootfs (created when missing). */
static int mount_dir(int rootfd, const char *rel, const char *src, const char *fstype,
		     unsigned long flags, const char *data, struct err **err)
{
	char fp[FDPATH_MAX];
	cleanup_close int fd = path_mkdir_in_root(rootfd, rel, 0755, err);
	if (fd < 0)
		return err_wrap(err, "cannot create mount point '%s'", rel);
	if (mount(src, fdpath(fp, fd), fstype, flags, data) < 0)
		return mount_err(err, errno, fstype != NULL ? fstype : src, rel);
	return 0;
}

/* Make the mount at rel (and every mount below it) read-only. */
static int make_readonly(int rootfd, const char *rel, struct err **err)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};
	cleanup_close int fd = path_open_in_root(rootfd, rel, O_PATH | O_NOFOLLOW, 0, err);
	if (fd < 0)
		return err_wrap(err, "cannot open '%s'", rel);
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0)
		return 0;
	if (errno != ENOSYS)
		return err_sys(err, ERR_IO, errno, "cannot make '%s' read-only", rel);
	/* Before Linux 5.12: the top mount only. */
	char fp[FDPATH_MAX];
	if (mount(NULL, fdpath(fp, fd), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		return err_sys(err, ERR_IO, errno, "cannot make '%s' read-only", rel);
	return 0;
}

static int setup_dev(int rootfd, struct err **err)
{
	char fp[FDPATH_MAX], name[64];
	int r = mount_dir(rootfd, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
			  "mode=755,size=65536k", err);
	if (r < 0)
		return r;
	cleanup_close int dev = path_open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, 0, err);
	if (dev < 0)
		return err_wrap(err, "cannot open '/dev'");
	for (size_t i = 0; i < ARRAY_SIZE(devices); i++) {
		snprintf(name, sizeof name, "/dev/%s", devices[i]);
		cleanup_close int fd = openat(dev, devices[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
					      0666);
		if (fd < 0)
			return err_sys(err, ERR_IO, errno, "cannot create '%s'", name);
		if (mount(name, fdpath(fp, fd), NULL, MS_BIND, NULL) < 0)
			return mount_err(err, errno, name, name);
	}
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 0755) < 0 ||
	    mkdirat(dev, "mqueue", 0755) < 0)
		return err_sys(err, ERR_IO, errno, "cannot create directories in '/dev'");
	/* gid=5 (tty) exists only when the namespace maps it. */
	r = mount_dir(rootfd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
		      "newinstance,ptmxmode=0666,mode=0620,gid=5", NULL);
	if (r < 0 && (r = mount_dir(rootfd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
				    "newinstance,ptmxmode=0666,mode=0620", err)) < 0)
		return r;
	r = mount_dir(rootfd, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		      "mode=1777,size=65536k", err);
	if (r < 0)
		return r;
	/* Best effort, as the ipc namespace's message queues are rarely used
	 * and some kernels lack mqueue. */
	mount_dir(rootfd, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
		  NULL);
	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i].target, dev, dev_links[i].name) < 0)
			return err_sys(err, ERR_IO, errno, "cannot create '/dev/%s'", dev_links[i].name);
	return 0;
}

static int setup_sys(int rootfd, bool netns, struct err **err)
{
	unsigned long fl = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	/* A fresh sysfs needs a network namespace owned by our user
	 * namespace; with the host's network, bind the host's read-only. */
	if (netns && mount_dir(rootfd, "/sys", "sysfs", "sysfs", fl, NULL, NULL) == 0)
		return 0;
	int r = mount_dir(rootfd, "/sys", "/sys", NULL, MS_BIND | MS_REC, NULL, err);
	if (r == 0)
		r = make_readonly(rootfd, "/sys", err);
	return r;
}

static int setup_proc(int rootfd, struct err **err)
{
	return mount_dir(rootfd, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			 err);
}

/* O_PATH fd of rel in the rootfs without following a final symlink, or
 * ERR_NOTFOUND (err left untouched: an absent path needs no masking), or
 * another negative code with err set. */
static int open_if_present(int rootfd, const char *rel, struct err **err)
{
	struct err *e = NULL;
	int fd = path_open_in_root(rootfd, rel, O_PATH | O_NOFOLLOW, 0, &e);
	if (fd >= 0 || err_code(e) == ERR_NOTFOUND) {
		err_free(e);
		return fd >= 0 ? fd : ERR_NOTFOUND;
	}
	int code = err_code(e);
	err_move(err, &e);
	return code;
}

static int mask_paths(int rootfd, struct err **err)
{
	char fp[FDPATH_MAX], nullp[FDPATH_MAX];
	cleanup_close int null = path_open_in_root(rootfd, "/dev/null", O_PATH, 0, err);
	if (null < 0)
		return err_wrap(err, "cannot open '/dev/null'");
	for (size_t i = 0; i < ARRAY_SIZE(masked_paths); i++) {
		cleanup_close int fd = open_if_present(rootfd, masked_paths[i], err);
		if (fd == ERR_NOTFOUND)
			continue;
		if (fd < 0)
			return err_wrap(err, "cannot mask '%s'", masked_paths[i]);
		struct stat st;
		if (fstat(fd, &st) < 0)
			return err_sys(err, ERR_IO, errno, "cannot stat '%s'", masked_paths[i]);
		int r = S_ISDIR(st.st_mode)
				? mount("tmpfs", fdpath(fp, fd), "tmpfs",
					MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=1")
				: mount(fdpath(nullp, null), fdpath(fp, fd), NULL, MS_BIND, NULL);
		if (r < 0)
			return mount_err(err, errno, "a mask", masked_paths[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(readonly_paths); i++) {
		cleanup_close int fd = open_if_present(rootfd, readonly_paths[i], err);
		if (fd == ERR_NOTFOUND)
			continue;
		if (fd < 0)
			return err_wrap(err, "cannot make '%s' read-only", readonly_paths[i]);
		if (mount(fdpath(fp, fd), fdpath(nullp, fd), NULL, MS_BIND | MS_REC, NULL) < 0)
			return mount_err(err, errno, "a bind", readonly_paths[i]);
		if (make_readonly(rootfd, readonly_paths[i], err) < 0)
			return ERR_IO;
	}
	return 0;
}

/* A file of the rootfs to mount on: created (empty) when missing. */
static int open_file_target(int rootfd, const char *rel, struct err **err)
{
	struct err *e = NULL;
	int fd = path_open_in_root(rootfd, rel, O_PATH, 0, &e);
	if (fd >= 0 || err_code(e) != ERR_NOTFOUND) {
		err_move(err, &e);
		return fd;
	}
	err_free(e);
	cleanup_free char *dir = xstrdup(rel);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		cleanup_close int d = path_mkdir_in_root(rootfd, dir, 0755, err);
		if (d < 0)
			return d;
	}
	return path_open_in_root(rootfd, rel, O_CREAT | O_WRONLY | O_NOFOLLOW, 0644, err);
}

/* Write text to stage/name and bind it on rel. */
static int provide_file(const struct sbx_mount_ctx *c, int rootfd, const char *name,
			const char *rel, const char *text, struct err **err)
{
	char fp[FDPATH_MAX], src[FDPATH_MAX + 64];
	snprintf(src, sizeof src, "%s/%s", c->stage, name);
	cleanup_close int fd = open(src, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
		return err_sys(err, ERR_IO, errno, "cannot write '%s'", src);
	cleanup_close int dst = open_file_target(rootfd, rel, err);
	if (dst < 0)
		return err_wrap(err, "cannot provide '%s'", rel);
	if (mount(src, fdpath(fp, dst), NULL, MS_BIND, NULL) < 0)
		return mount_err(err, errno, src, rel);
	return 0;
}

static int setup_binds(const struct sbx_mount_ctx *c, int rootfd, struct err **err)
{
	char sp[FDPATH_MAX], tp[FDPATH_MAX];
	for (size_t i = 0; i < c->spec->n_binds; i++) {
		const struct sbx_bind *b = &c->spec->binds[i];
		struct stat st;
		if (fstat(c->bind_fds[i], &st) < 0)
			return err_sys(err, ERR_IO, errno, "cannot stat '%s'", b->source);
		cleanup_close int dst = S_ISDIR(st.st_mode)
						? path_mkdir_in_root(rootfd, b->target, 0755, err)
						: open_file_target(rootfd, b->target, err);
		if (dst < 0)
			return err_wrap(err, "cannot create mount point '%s'", b->target);
		if (mount(fdpath(sp, c->bind_fds[i]), fdpath(tp, dst), NULL, MS_BIND | MS_REC, NULL) < 0)
			return mount_err(err, errno, b->source, b->target);
		if (b->readonly && make_readonly(rootfd, b->target, err) < 0)
			return ERR_IO;
	}
	return 0;
}

int sbx_mount_system(const struct sbx_mount_ctx *c, struct err **err)
{
	cleanup_close int rootfd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys(err, ERR_IO, errno, "cannot open '%s'", c->root);
	int r = setup_proc(rootfd, err);
	if (r == 0)
		r = setup_dev(rootfd, err);
	if (r == 0)
		r = setup_sys(rootfd, c->netns, err);
	if (r == 0)
		r = provide_file(c, rootfd, "hosts", "/etc/hosts", c->hosts, err);
	if (r == 0)
		r = provide_file(c, rootfd, "resolv.conf", "/etc/resolv.conf", c->resolv, err);
	if (r == 0)
		r = provide_file(c, rootfd, "hostname", "/etc/hostname", c->hostname, err);
	if (r == 0)
		r = setup_binds(c, rootfd, err);
	/* Last, so that nothing mounted later covers a mask. */
	if (r == 0)
		r = mask_paths(rootfd, err);
	return r;
}

int sbx_mount_pivot(const char *root, struct err **err)
{
	if (chdir(root) < 0)
		return err_sys(err, ERR_IO, errno, "cannot enter '%s'", root);
	/* pivot_root(".", "."): the old root ends up stacked under the new
	 * one and is detached at once, leaving no path back to the host. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_sys(err, ERR_IO, errno, "cannot pivot_root into '%s'", root);
	if (umount2(".", MNT_DETACH) < 0)
		return err_sys(err, ERR_IO, errno, "cannot detach the old root");
	if (chdir("/") < 0)
		return err_sys(err, ERR_IO, errno, "cannot enter '/'");
	return 0;
}
