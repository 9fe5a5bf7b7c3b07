/* sbx_info_probe(): what this machine offers the sandbox, for `bale info`.
 * Each feature is probed by using it, not by reading version numbers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/sandbox-internal.h"
#include "common/buf.h"
#include "common/util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

void sbx_info_release(struct sbx_info *info)
{
	free(info->kernel);
	free(info->userns_detail);
	free(info->overlay_detail);
	free(info->seccomp_detail);
	free(info->cgroups);
	memset(info, 0, sizeof *info);
}

/* In a forked child with its own mount namespace: mount a tmpfs and an
 * overlayfs with userxattr on it. Returns 0 or an errno. */
static int probe_overlay(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return errno;
	pid_t pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0) {
		int e = 0;
		char why[256];
		int fds[1];
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0 ||
		    mkdir("/tmp/l", 0755) < 0 || mkdir("/tmp/u", 0755) < 0 ||
		    mkdir("/tmp/w", 0755) < 0 || mkdir("/tmp/m", 0755) < 0)
			e = errno;
		int l = e == 0 ? open("/tmp/l", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		int u = e == 0 ? open("/tmp/u", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		int w = e == 0 ? open("/tmp/w", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		fds[0] = l;
		if (e == 0 && (l < 0 || u < 0 || w < 0))
			e = errno;
		if (e == 0) {
			int r = sbx_overlay_mount("/tmp/m", fds, 1, u, w, why, sizeof why);
			e = r < 0 ? -r : 0;
		}
		(void)!write(p[1], &e, sizeof e);
		_exit(0);
	}
	close(p[1]);
	int e = EIO;
	if (read(p[0], &e, sizeof e) != (ssize_t)sizeof e)
		e = EIO;
	close(p[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return e;
}

static char *cgroups_mode(void)
{
	struct statfs fs;
	if (statfs("/sys/fs/cgroup", &fs) < 0)
		return xstrdup("none");
	if (fs.f_type == CGROUP2_SUPER_MAGIC)
		return xstrdup("v2 (unified)");
	if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		return xstrdup("v1 (hybrid)");
	return xstrdup("v1");
}

static char *seccomp_detail(bool *ok)
{
	const struct scmp_version *v = seccomp_version();
	*ok = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	const struct sock_fprog *prog;
	struct err *e = NULL;
	bool built = sbx_seccomp_program(&prog, &e) == 0;
	char *s;
	if (!*ok)
		s = xasprintf("the kernel has no seccomp (libseccomp %u.%u.%u)", v->major, v->minor,
			      v->micro);
	else if (!built)
		s = xasprintf("libseccomp %u.%u.%u cannot build the filter: %s", v->major, v->minor,
			      v->micro, err_msg(e));
	else
		s = xasprintf("Docker's default profile, %u BPF instructions (libseccomp %u.%u.%u)",
			      (unsigned)prog->len, v->major, v->minor, v->micro);
	*ok = *ok && built;
	err_free(e);
	return s;
}

int sbx_info_probe(struct sbx_info *out, struct err **err)
{
	memset(out, 0, sizeof *out);
	struct utsname u;
	out->kernel = xstrdup(uname(&u) == 0 ? u.release : "unknown");
	out->newuidmap = access("/usr/bin/newuidmap", X_OK) == 0 &&
			 access("/usr/bin/newgidmap", X_OK) == 0;
	out->cgroups = cgroups_mode();
	out->seccomp_detail = seccomp_detail(&out->seccomp);
	struct err *e = NULL;
	if (sbx_userns_enter(&e) < 0) {
		out->userns_detail = xstrdup(err_msg(e));
		out->overlay_detail = xstrdup("not probed: no user namespace");
		err_free(e);
		return 0;
	}
	char buf[256];
	out->userns = true;
	out->userns_detail = xstrdup(sbx_userns_describe(buf, sizeof buf));
	int oe = probe_overlay();
	out->overlay = oe == 0;
	out->overlay_detail = oe == 0 ? xstrdup("kernel overlayfs in the user namespace (userxattr)")
				      : xasprintf("copy fallback: overlayfs does not mount here (%s)",
						  strerror(oe));
	(void)err;
	return 0;
}
