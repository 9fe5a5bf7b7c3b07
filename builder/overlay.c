/* Mounting a step's rootfs with kernel overlayfs inside the user namespace.
 *
 * mount(2) takes its options in one page, which holds about 40 lower dirs
 * at the path lengths of a store under $HOME. The layers are therefore
 * passed as open directory fds named relative to /proc/self/fd (the mount
 * runs with that as its cwd): "lowerdir=12:11:10" costs 3-4 bytes a layer,
 * so overlayfs' own limit of 500 layers is reached first. This works on
 * every kernel with unprivileged overlayfs (5.11+), unlike the "lowerdir+"
 * keys of the new mount API (6.8+). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "builder/sandbox-internal.h"
#include "common/buf.h"
#include "common/util.h"

/* The option page of mount(2). */
#define OVERLAY_OPTS_MAX 4095

int sbx_overlay_mount(const char *target, const int *lower_fds, size_t n_lowers, int upper_fd,
		      int work_fd, char *errbuf, size_t errsize)
{
	char opts[OVERLAY_OPTS_MAX + 1];
	size_t len = 0;
	int n = snprintf(opts, sizeof opts, "lowerdir=");
	len = (size_t)n;
	for (size_t i = 0; i < n_lowers; i++) {
		n = snprintf(opts + len, sizeof opts - len, "%s%d", i > 0 ? ":" : "", lower_fds[i]);
		if (n < 0 || (size_t)n >= sizeof opts - len) {
			snprintf(errbuf, errsize, "%zu layers do not fit in the mount options", n_lowers);
			return -E2BIG;
		}
		len += (size_t)n;
	}
	/* userxattr: whiteouts and opaque markers in user.overlay.*, the only
	 * xattrs a user namespace may set. */
	n = snprintf(opts + len, sizeof opts - len, ",upperdir=%d,workdir=%d,userxattr", upper_fd,
		     work_fd);
	if (n < 0 || (size_t)n >= sizeof opts - len) {
		snprintf(errbuf, errsize, "%zu layers do not fit in the mount options", n_lowers);
		return -E2BIG;
	}
	cleanup_close int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (chdir("/proc/self/fd") < 0) {
		snprintf(errbuf, errsize, "cannot enter '/proc/self/fd': %s", strerror(errno));
		return -errno;
	}
	int r = mount("overlay", target, "overlay", 0, opts);
	int saved = errno;
	if (cwd >= 0 && fchdir(cwd) < 0)
		saved = r < 0 ? saved : errno;
	if (r < 0) {
		snprintf(errbuf, errsize, "cannot mount overlayfs on '%s': %s", target,
			 strerror(saved));
		return -saved;
	}
	return 0;
}
