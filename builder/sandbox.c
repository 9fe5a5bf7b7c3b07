/* sbx_run(): one step in its own namespaces (sandbox.h, level 2).
 *
 * Three processes: the caller (bale, in its user namespace), the step's
 * pid 1 ("init", cloned into new pid, mount, ipc, uts and optionally net
 * namespaces), and the command, forked by init. Init builds the rootfs and
 * pivots into it, then reaps and forwards signals until the command exits,
 * and reports the command's wait status over the message pipe. The command
 * drops privileges and execs. Either child reports a setup failure as a
 * struct sbx_msg on the same pipe (close-on-exec, so an exec closes it). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/passwd.h"
#include "builder/sandbox-internal.h"
#include "common/buf.h"
#include "common/limits.h"
#include "common/path.h"
#include "common/util.h"

/* Where init stages the rootfs: a tmpfs it mounts over /tmp in its own
 * mount namespace (everything outside was opened as fds before), as
 * bubblewrap does. It vanishes with the step. */
#define STAGE "/tmp"
#define STAGE_ROOT STAGE "/root"
#define STAGE_LAYER STAGE "/layer"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Exit statuses of a command that could not be started (Docker's). */
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127
/* Init could not set the step up. */
#define EXIT_SETUP 125

/* Host files copied for the step's /etc (SBX_NETWORK_HOST). */
#define SBX_MAX_ETC_FILE (1u << 20)

/* Everything init needs, prepared by the caller before the clone. */
struct run_ctx {
	const struct sbx_spec *spec;
	const struct sock_fprog *seccomp;
	int msg_w, msg_r;   /* message pipe */
	int go_r, go_w;     /* caller -> init: "go" (EOF: the caller died) */
	int *lower_fds;     /* topmost first */
	size_t n_lowers;
	int upper_fd, work_fd; /* -1: tmpfs upper */
	int dir_fd;         /* plain directory rootfs, or -1 */
	const char *dir;
	bool copy;          /* copy the layers into the stage (copy fallback) */
	int *bind_fds;
	char *hosts, *resolv, *hostname;
};

/* ---------------------------------------------------------------- messages */

void sbx_msg_sendv(int fd, int kind, int code, int errnum, const char *fmt, va_list ap)
{
	struct sbx_msg m;
	memset(&m, 0, sizeof m);
	m.kind = kind;
	m.code = code;
	m.errnum = errnum;
	vsnprintf(m.text, sizeof m.text, fmt, ap);
	(void)!write(fd, &m, sizeof m);
}

void sbx_msg_send(int fd, int kind, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sbx_msg_sendv(fd, kind, code, errnum, fmt, ap);
	va_end(ap);
}

/* Report *err (or a generic message) to the caller and exit. */
__attribute__((noreturn)) static void child_fail(const struct run_ctx *c, struct err *e,
						 int status)
{
	struct sbx_msg m;
	memset(&m, 0, sizeof m);
	m.kind = SBX_MSG_ERROR;
	m.code = err_code(e);
	m.errnum = e != NULL ? e->errnum : 0;
	m.status = status;
	str_copy(m.text, err_msg(e), sizeof m.text);
	(void)!write(c->msg_w, &m, sizeof m);
	_exit(status);
}

/* ---------------------------------------------------------------- command */

static void reset_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL); /* EINVAL for SIGKILL, SIGSTOP, RT internals */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Put the caller's stdio fds on 0, 1, 2 (-1: /dev/null). Init kept them
 * open and their numbers may overlap 0-2, so they are first moved up. */
static int setup_stdio(const int in[3], struct err **err)
{
	int tmp[3];
	for (int i = 0; i < 3; i++) {
		tmp[i] = in[i] >= 0 ? fcntl(in[i], F_DUPFD_CLOEXEC, 10)
				    : open("/dev/null", O_RDWR | O_CLOEXEC);
		if (tmp[i] < 0)
			return err_sys(err, ERR_IO, errno, "cannot set up stdio");
	}
	for (int i = 0; i < 3; i++) {
		if (dup2(tmp[i], i) < 0)
			return err_sys(err, ERR_IO, errno, "cannot set up stdio");
		close(tmp[i]);
	}
	return 0;
}

static int switch_user(const struct sbx_user *u, struct err **err)
{
	const struct sbx_userns *ns = sbx_userns_get();
	if (u->uid > ns->max_uid || u->gid > ns->max_gid)
		return err_set(err, ERR_INVALID, "user %u:%u does not exist in the sandbox: %s",
			       (unsigned)u->uid, (unsigned)u->gid,
			       sbx_userns_limits() != NULL ? sbx_userns_limits()
							   : "outside the subordinate id range");
	if (ns->setgroups_allowed && setgroups(u->n_groups, u->groups) < 0)
		return err_sys(err, ERR_INVALID, errno, "cannot set the supplementary groups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return err_sys(err, ERR_INVALID, errno, "cannot switch to gid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return err_sys(err, ERR_INVALID, errno, "cannot switch to uid %u", (unsigned)u->uid);
	return 0;
}

/* The working directory: created (as root, before the user switch) when
 * missing, entered as the user, and checked to be inside the rootfs. */
static int open_cwd(int rootfd, const char *cwd, struct err **err)
{
	if (cwd == NULL || cwd[0] == '\0')
		cwd = "/";
	int fd = path_mkdir_in_root(rootfd, cwd, 0755, err);
	if (fd < 0)
		return err_wrap(err, "invalid working directory '%s'", cwd);
	return fd;
}

static int enter_cwd(int rootfd, int cwdfd, const char *cwd, struct err **err)
{
	if (fchdir(cwdfd) < 0)
		return err_sys(err, errno == EACCES ? ERR_DENIED : ERR_IO, errno,
			       "cannot enter the working directory '%s'", cwd != NULL ? cwd : "/");
	/* runc CVE-2024-21626: a leaked fd of the host could have been the
	 * cwd; whatever happened, the cwd must be below the root now. */
	if (path_fd_is_within(rootfd, AT_FDCWD, NULL) != 1)
		return err_set(err, ERR_INVALID, "working directory '%s' is outside the rootfs",
			       cwd != NULL ? cwd : "/");
	return 0;
}

static bool env_has(char *const *env, const char *key)
{
	size_t n = strlen(key);
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
			return true;
	return false;
}

static char **build_env(char *const *env, const char *home)
{
	char **out = NULL;
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		strv_push(&out, env[i]);
	if (!env_has(env, "PATH"))
		strv_push(&out, DEFAULT_PATH);
	if (!env_has(env, "HOME")) {
		char *h = xasprintf("HOME=%s", home);
		strv_push(&out, h);
		free(h);
	}
	if (out == NULL)
		out = xcalloc(1, sizeof *out);
	return out;
}

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);
	for (size_t i = 0; env[i] != NULL; i++)
		if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

/* execve argv[0], searched in the step's PATH when it has no slash. Only
 * returns on failure, with the most telling errno (EACCES over ENOENT). */
static int exec_command(char *const *argv, char **env)
{
	const char *cmd = argv[0];
	if (strchr(cmd, '/') != NULL) {
		execve(cmd, argv, env);
		return errno;
	}
	const char *path = env_get(env, "PATH");
	int best = ENOENT;
	char buf[BALE_MAX_PATH];
	for (const char *p = path != NULL ? path : ""; ; ) {
		const char *colon = strchr(p, ':');
		size_t len = colon != NULL ? (size_t)(colon - p) : strlen(p);
		int n = snprintf(buf, sizeof buf, "%.*s%s%s", (int)len, p, len > 0 ? "/" : "", cmd);
		if (n > 0 && (size_t)n < sizeof buf) {
			execve(buf, argv, env);
			if (errno == EACCES || errno == ENOEXEC || errno == EPERM)
				best = errno;
		}
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	return best;
}

__attribute__((noreturn)) static void command_main(const struct run_ctx *c, int rootfd,
						   const struct sbx_user *u, char **env)
{
	struct err *e = NULL;
	const struct sbx_spec *s = c->spec;
	reset_signals();
	/* A new session: no controlling terminal, so no TIOCSTI into the
	 * caller's (cannot fail: a forked child leads no group). */
	(void)setsid();
	if (setup_stdio(s->stdio, &e) < 0)
		child_fail(c, e, EXIT_CANNOT_EXEC);
	int cwdfd = open_cwd(rootfd, s->cwd, &e);
	if (cwdfd < 0)
		child_fail(c, e, EXIT_CANNOT_EXEC);
	int r = sbx_caps_bound(sbx_caps_default);
	if (r < 0) {
		err_sys(&e, ERR_IO, -r, "cannot drop capabilities");
		child_fail(c, e, EXIT_CANNOT_EXEC);
	}
	if (switch_user(u, &e) < 0)
		child_fail(c, e, EXIT_CANNOT_EXEC);
	/* Root keeps Docker's set; another user had them cleared by the
	 * kernel at the uid switch, and gets none. */
	if ((r = sbx_caps_set(u->uid == 0 ? sbx_caps_default : 0)) < 0) {
		err_sys(&e, ERR_IO, -r, "cannot set capabilities");
		child_fail(c, e, EXIT_CANNOT_EXEC);
	}
	if (enter_cwd(rootfd, cwdfd, s->cwd, &e) < 0)
		child_fail(c, e, EXIT_CANNOT_EXEC);
	close(cwdfd);
	close(rootfd);
	umask(022);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err_sys(&e, ERR_IO, errno, "cannot set no_new_privs");
		child_fail(c, e, EXIT_CANNOT_EXEC);
	}
	/* Every fd but 0-2 closes at exec (the message pipe included, which
	 * tells the caller the exec happened). */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3; fd < 65536; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	if ((r = sbx_seccomp_load(c->seccomp)) < 0) {
		err_sys(&e, ERR_IO, -r, "cannot load the seccomp filter");
		child_fail(c, e, EXIT_CANNOT_EXEC);
	}
	int errnum = exec_command(s->argv, env);
	if (errnum == ENOENT && strchr(s->argv[0], '/') == NULL)
		err_set(&e, ERR_NOTFOUND, "exec: '%s': executable file not found in $PATH",
			s->argv[0]);
	else
		err_sys(&e, errnum == ENOENT ? ERR_NOTFOUND : ERR_DENIED, errnum, "exec: '%s'",
			s->argv[0]);
	child_fail(c, e, errnum == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* ---------------------------------------------------------------- init */

/* The scratch lower layer above the image's: /etc/hosts, resolv.conf and
 * hostname exist there as empty files, so the bind mounts on them never
 * create anything in the upper dir; likewise /proc, /dev and /sys when no
 * layer has them. */
static int make_scratch_layer(const struct run_ctx *c, int *out, struct err **err)
{
	static const char *const dirs[] = { "proc", "dev", "sys" };
	if (mkdir(STAGE_LAYER, 0755) < 0 || mkdir(STAGE_LAYER "/etc", 0755) < 0)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", STAGE_LAYER);
	static const char *const files[] = { "hosts", "resolv.conf", "hostname" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char p[64];
		snprintf(p, sizeof p, STAGE_LAYER "/etc/%s", files[i]);
		int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			return err_sys(err, ERR_IO, errno, "cannot create '%s'", p);
		close(fd);
	}
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		bool found = false;
		for (size_t l = 0; l < c->n_lowers && !found; l++) {
			struct stat st;
			found = fstatat(c->lower_fds[l], dirs[i], &st, AT_SYMLINK_NOFOLLOW) == 0;
		}
		char p[64];
		snprintf(p, sizeof p, STAGE_LAYER "/%s", dirs[i]);
		if (!found && mkdir(p, 0755) < 0)
			return err_sys(err, ERR_IO, errno, "cannot create '%s'", p);
	}
	*out = open(STAGE_LAYER, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*out < 0)
		return err_sys(err, ERR_IO, errno, "cannot open '%s'", STAGE_LAYER);
	return 0;
}

static int mount_overlay_root(const struct run_ctx *c, struct err **err)
{
	int scratch = -1;
	int r = make_scratch_layer(c, &scratch, err);
	if (r < 0)
		return r;
	int upper = c->upper_fd, work = c->work_fd;
	if (upper < 0) {
		if (mkdir(STAGE "/upper", 0755) < 0 || mkdir(STAGE "/work", 0755) < 0 ||
		    (upper = open(STAGE "/upper", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
		    (work = open(STAGE "/work", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return err_sys(err, ERR_IO, errno, "cannot create the upper directory");
	}
	int *fds = xcalloc(c->n_lowers + 1, sizeof *fds);
	fds[0] = scratch;
	memcpy(fds + 1, c->lower_fds, c->n_lowers * sizeof *fds);
	char why[512];
	r = sbx_overlay_mount(STAGE_ROOT, fds, c->n_lowers + 1, upper, work, why, sizeof why);
	free(fds);
	if (r < 0) {
		/* Not an error yet: the caller may fall back to a copy. */
		sbx_msg_send(c->msg_w, SBX_MSG_NO_OVERLAY, ERR_UNSUPPORTED, -r, "%s", why);
		_exit(EXIT_SETUP);
	}
	return 0;
}

static int mount_dir_root(const struct run_ctx *c, struct err **err)
{
	char fp[32];
	snprintf(fp, sizeof fp, "/proc/self/fd/%d", c->dir_fd);
	if (mount(fp, STAGE_ROOT, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_sys(err, ERR_IO, errno, "cannot bind the rootfs directory");
	return 0;
}

/* Copy fallback without an upper dir: the union of the layers is copied
 * into the stage tmpfs and thrown away with it. */
static int copy_root(const struct run_ctx *c, struct err **err)
{
	if (mount(STAGE_ROOT, STAGE_ROOT, NULL, MS_BIND, NULL) < 0)
		return err_sys(err, ERR_IO, errno, "cannot bind '%s'", STAGE_ROOT);
	char **paths = xcalloc(c->n_lowers + 1, sizeof *paths);
	for (size_t i = 0; i < c->n_lowers; i++)
		paths[i] = xasprintf("/proc/self/fd/%d", c->lower_fds[i]);
	cleanup_close int dst = open(STAGE_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dst < 0 ? err_sys(err, ERR_IO, errno, "cannot open '%s'", STAGE_ROOT)
			: sbx_copy_layers(dst, (const char *const *)paths, c->n_lowers, err);
	strv_free(paths);
	return r;
}

static int bring_lo_up(struct err **err)
{
	cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	str_copy(ifr.ifr_name, "lo", sizeof ifr.ifr_name);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return err_sys(err, ERR_IO, errno, "cannot read the flags of 'lo'");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return err_sys(err, ERR_IO, errno, "cannot bring 'lo' up");
	return 0;
}

/* Replace fd (opened by the caller, so on a mount of the caller's mount
 * namespace) with the same path opened here: overlayfs and bind mounts
 * only take mounts of the current namespace. */
static int reopen(int fd, const char *path, int flags, struct err **err)
{
	int n = open(path, flags | O_CLOEXEC);
	if (n < 0)
		return err_sys(err, ERR_IO, errno, "cannot open '%s'", path);
	if (dup3(n, fd, O_CLOEXEC) < 0) {
		close(n);
		return err_sys(err, ERR_IO, errno, "cannot open '%s'", path);
	}
	close(n);
	return 0;
}

static int init_reopen(const struct run_ctx *c, struct err **err)
{
	const struct sbx_spec *s = c->spec;
	const struct sbx_rootfs *rf = &s->rootfs;
	const int dflags = O_PATH | O_DIRECTORY;
	int r = 0;
	for (size_t i = 0; r == 0 && i < c->n_lowers; i++)
		r = reopen(c->lower_fds[i], rf->lowers[i], dflags, err);
	if (r == 0 && c->upper_fd >= 0)
		r = reopen(c->upper_fd, rf->upper, dflags, err);
	if (r == 0 && c->work_fd >= 0)
		r = reopen(c->work_fd, rf->work, dflags, err);
	if (r == 0 && c->dir_fd >= 0)
		r = reopen(c->dir_fd, c->dir, dflags, err);
	for (size_t i = 0; r == 0 && i < s->n_binds; i++)
		r = reopen(c->bind_fds[i], s->binds[i].source, O_PATH, err);
	return r;
}

static int init_setup(const struct run_ctx *c, struct err **err)
{
	const struct sbx_spec *s = c->spec;
	int r = init_reopen(c, err);
	if (r < 0)
		return r;
	if (mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
		return err_sys(err, ERR_IO, errno, "cannot mount the staging tmpfs on '%s'", STAGE);
	if (mkdir(STAGE_ROOT, 0755) < 0)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", STAGE_ROOT);
	r = c->dir_fd >= 0 ? mount_dir_root(c, err)
		: c->copy      ? copy_root(c, err)
			       : mount_overlay_root(c, err);
	if (r < 0)
		return r;
	struct sbx_mount_ctx mc = {
		.spec = s,
		.stage = STAGE,
		.root = STAGE_ROOT,
		.bind_fds = c->bind_fds,
		.netns = s->network == SBX_NETWORK_NONE,
		.hosts = c->hosts,
		.resolv = c->resolv,
		.hostname = c->hostname,
	};
	if ((r = sbx_mount_system(&mc, err)) < 0)
		return r;
	if ((r = sbx_mount_pivot(STAGE_ROOT, err)) < 0)
		return r;
	const char *hn = s->hostname != NULL && s->hostname[0] != '\0' ? s->hostname : "bale";
	if (sethostname(hn, strlen(hn)) < 0)
		return err_sys(err, ERR_IO, errno, "cannot set the hostname");
	if (s->network == SBX_NETWORK_NONE && (r = bring_lo_up(err)) < 0)
		return r;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Close every fd of init but the message pipe, the new root and the stdio
 * fds the command gets: the layers, binds, the caller's own fds (a leaked
 * one included), so that no host file stays open in the step's pid 1. */
static void init_close_fds(const struct run_ctx *c, int rootfd)
{
	int keep[6] = { c->msg_w, rootfd, c->spec->stdio[0], c->spec->stdio[1], c->spec->stdio[2],
			2 };
	qsort(keep, ARRAY_SIZE(keep), sizeof keep[0], cmp_int);
	unsigned int from = 3;
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned int)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0U);
		from = (unsigned int)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0U);
}

/* Pid 1: reap everything, forward signals to the command, and report its
 * status once it exits (the kernel then kills what is left in the pid
 * namespace). */
__attribute__((noreturn)) static void init_reap(const struct run_ctx *c, pid_t cmd)
{
	sigset_t all;
	sigfillset(&all);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(cmd, sig);
			continue;
		}
		int st;
		pid_t p;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
			if (p == cmd) {
				struct sbx_msg m;
				memset(&m, 0, sizeof m);
				m.kind = SBX_MSG_STATUS;
				m.status = st;
				(void)!write(c->msg_w, &m, sizeof m);
				_exit(0);
			}
		}
	}
}

__attribute__((noreturn)) static void init_main(struct run_ctx *c)
{
	struct err *e = NULL;
	close(c->msg_r);
	close(c->go_w);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	char go;
	if (read(c->go_r, &go, 1) != 1)
		_exit(EXIT_SETUP);
	close(c->go_r);
	/* Out of the caller's process group: a Ctrl-C on the terminal reaches
	 * bale, which forwards it once, not also init. */
	setpgid(0, 0);
	/* Not dumpable: a step cannot ptrace init, which still holds every
	 * capability of the user namespace, nor open its /proc files. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (init_setup(c, &e) < 0)
		child_fail(c, e, EXIT_SETUP);
	cleanup_close int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		err_sys(&e, ERR_IO, errno, "cannot open the new root");
		child_fail(c, e, EXIT_SETUP);
	}
	init_close_fds(c, rootfd);
	struct sbx_user u;
	if (sbx_user_resolve(&u, rootfd, c->spec->user, &e) < 0)
		child_fail(c, e, EXIT_CANNOT_EXEC);
	char **env = build_env(c->spec->env, u.home);
	pid_t cmd = fork();
	if (cmd < 0) {
		err_sys(&e, ERR_IO, errno, "cannot fork");
		child_fail(c, e, EXIT_SETUP);
	}
	if (cmd == 0)
		command_main(c, rootfd, &u, env);
	init_reap(c, cmd);
}

/* ---------------------------------------------------------------- caller */

static volatile sig_atomic_t fwd_pid;
static volatile sig_atomic_t fwd_count;
static volatile sig_atomic_t fwd_killed;

static void forward_handler(int sig)
{
	int saved = errno;
	if (fwd_pid > 0) {
		if ((sig == SIGINT || sig == SIGTERM) && ++fwd_count >= 3) {
			kill(fwd_pid, SIGKILL);
			fwd_killed = 1;
		} else {
			kill(fwd_pid, sig);
		}
	}
	errno = saved;
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

static void forward_install(struct sigaction *old)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward_handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &sa, &old[i]);
}

static void forward_restore(const struct sigaction *old)
{
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &old[i], NULL);
}

static int open_dir(const char *path, const char *what, struct err **err)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, errno,
			       "cannot open %s '%s'", what, path);
	return fd;
}

static char *read_host_file(const char *path, const char *fallback)
{
	struct buf b;
	struct err *e = NULL;
	buf_init(&b, SBX_MAX_ETC_FILE);
	if (buf_read_file(&b, AT_FDCWD, path, &e) < 0) {
		err_free(e);
		buf_release(&b);
		return xstrdup(fallback);
	}
	return buf_detach(&b, NULL);
}

static void ctx_release(struct run_ctx *c)
{
	for (size_t i = 0; c->lower_fds != NULL && i < c->n_lowers; i++)
		if (c->lower_fds[i] >= 0)
			close(c->lower_fds[i]);
	for (size_t i = 0; c->bind_fds != NULL && i < c->spec->n_binds; i++)
		if (c->bind_fds[i] >= 0)
			close(c->bind_fds[i]);
	int fds[] = { c->upper_fd, c->work_fd, c->dir_fd, c->msg_r, c->msg_w, c->go_r, c->go_w };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(c->lower_fds);
	free(c->bind_fds);
	free(c->hosts);
	free(c->resolv);
	free(c->hostname);
}

static int ctx_prepare(struct run_ctx *c, const struct sbx_spec *s, const char *dir,
		       bool use_upper, struct err **err)
{
	const struct sbx_rootfs *rf = &s->rootfs;
	c->dir = dir;
	if (dir != NULL) {
		if ((c->dir_fd = open_dir(dir, "rootfs directory", err)) < 0)
			return c->dir_fd;
	} else {
		c->n_lowers = rf->n_lowers;
		c->lower_fds = xcalloc(rf->n_lowers + 1, sizeof *c->lower_fds);
		for (size_t i = 0; i < rf->n_lowers; i++)
			c->lower_fds[i] = -1;
		for (size_t i = 0; i < rf->n_lowers; i++)
			if ((c->lower_fds[i] = open_dir(rf->lowers[i], "layer", err)) < 0)
				return c->lower_fds[i];
		if (use_upper && rf->upper != NULL) {
			if ((c->upper_fd = open_dir(rf->upper, "upper directory", err)) < 0)
				return c->upper_fd;
			if ((c->work_fd = open_dir(rf->work, "work directory", err)) < 0)
				return c->work_fd;
		}
	}
	c->bind_fds = xcalloc(s->n_binds + 1, sizeof *c->bind_fds);
	for (size_t i = 0; i < s->n_binds; i++)
		c->bind_fds[i] = -1;
	for (size_t i = 0; i < s->n_binds; i++) {
		c->bind_fds[i] = open(s->binds[i].source, O_PATH | O_CLOEXEC);
		if (c->bind_fds[i] < 0)
			return err_sys(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, errno,
				       "cannot open bind source '%s'", s->binds[i].source);
	}
	const char *hn = s->hostname != NULL && s->hostname[0] != '\0' ? s->hostname : "bale";
	if (s->network == SBX_NETWORK_HOST) {
		c->hosts = read_host_file("/etc/hosts", "127.0.0.1\tlocalhost\n");
		c->resolv = read_host_file("/etc/resolv.conf", "");
	} else {
		c->hosts = xstrdup("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
		c->resolv = xstrdup("");
	}
	char *h = xasprintf("%s127.0.0.1\t%s\n", c->hosts, hn);
	free(c->hosts);
	c->hosts = h;
	c->hostname = xasprintf("%s\n", hn);
	int msg[2], go[2];
	if (pipe2(msg, O_CLOEXEC) < 0)
		return err_sys(err, ERR_IO, errno, "cannot create a pipe");
	c->msg_r = msg[0];
	c->msg_w = msg[1];
	if (pipe2(go, O_CLOEXEC) < 0)
		return err_sys(err, ERR_IO, errno, "cannot create a pipe");
	c->go_r = go[0];
	c->go_w = go[1];
	return 0;
}

/* Read the children's messages until every writer is gone. Returns the
 * first error message's code (with *err), 1 when overlayfs refused, or 0
 * with *status set. */
static int collect(int fd, int *status, bool *have_status, int *exit_code, struct err **err)
{
	int r = 0;
	for (;;) {
		struct sbx_msg m;
		ssize_t n = read(fd, &m, sizeof m);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((size_t)n != sizeof m)
			continue;
		m.text[sizeof m.text - 1] = '\0';
		if (m.kind == SBX_MSG_STATUS) {
			*status = m.status;
			*have_status = true;
		} else if (m.kind == SBX_MSG_NO_OVERLAY && r == 0) {
			err_set(err, ERR_UNSUPPORTED, "%s", m.text);
			r = 1;
		} else if (m.kind == SBX_MSG_ERROR && r == 0) {
			err_set(err, m.code < 0 ? m.code : ERR_FAIL, "%s", m.text);
			if (err != NULL && *err != NULL)
				(*err)->errnum = m.errnum;
			*exit_code = m.status;
			r = m.code < 0 ? m.code : ERR_FAIL;
		}
	}
	return r;
}

/* One attempt: clone init, wait, collect. Returns 1 when overlayfs could
 * not be mounted (with *err explaining), else 0 or an error code. */
static int run_once(const struct sbx_spec *s, const char *dir, bool copy, bool use_upper,
		    const struct sock_fprog *prog, struct sbx_result *res, struct err **err)
{
	struct run_ctx c = {
		.spec = s, .seccomp = prog, .msg_r = -1, .msg_w = -1, .go_r = -1, .go_w = -1,
		.upper_fd = -1, .work_fd = -1, .dir_fd = -1, .copy = copy,
	};
	int r = ctx_prepare(&c, s, dir, use_upper, err);
	if (r < 0) {
		ctx_release(&c);
		return r;
	}
	int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
	if (s->network == SBX_NETWORK_NONE)
		flags |= CLONE_NEWNET;
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	/* A raw clone works like fork here (no stack: copy-on-write), and puts
	 * the child in the new pid namespace as pid 1. */
	pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)flags, NULL, NULL, NULL, NULL);
	if (pid == 0)
		init_main(&c);
	int clone_errno = errno;
	struct sigaction oldsa[ARRAY_SIZE(forwarded)];
	if (pid > 0 && s->forward_signals) {
		fwd_pid = pid;
		fwd_count = 0;
		fwd_killed = 0;
		forward_install(oldsa);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		ctx_release(&c);
		return err_sys(err, clone_errno == EPERM || clone_errno == EINVAL ? ERR_UNSUPPORTED : ERR_IO,
			       clone_errno, "cannot create the step's namespaces");
	}
	close(c.msg_w);
	c.msg_w = -1;
	close(c.go_r);
	c.go_r = -1;
	(void)!write(c.go_w, "g", 1);
	int status = 0;
	bool have_status = false;
	r = collect(c.msg_r, &status, &have_status, &res->exit_code, err);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (s->forward_signals) {
		forward_restore(oldsa);
		fwd_pid = 0;
		res->canceled = fwd_killed != 0;
	}
	ctx_release(&c);
	if (r != 0)
		return r;
	if (!have_status) {
		/* init died without a word: killed (our third Ctrl-C, the OOM
		 * killer) or crashed. */
		if (WIFSIGNALED(st)) {
			res->signal = WTERMSIG(st);
			return 0;
		}
		return err_set(err, ERR_FAIL, "the step's init exited with status %d", WEXITSTATUS(st));
	}
	if (WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
		res->core_dumped = WCOREDUMP(status);
	} else {
		res->exit_code = WEXITSTATUS(status);
	}
	return 0;
}

static int spec_check(const struct sbx_spec *s, struct err **err)
{
	const struct sbx_rootfs *rf = &s->rootfs;
	if (sbx_userns_get()->mode == SBX_IDMAP_NONE)
		return err_set(err, ERR_INVALID, "the sandbox needs sbx_userns_enter() first");
	if (s->argv == NULL || s->argv[0] == NULL || s->argv[0][0] == '\0')
		return err_set(err, ERR_INVALID, "no command to run");
	if ((rf->dir != NULL) == (rf->n_lowers > 0))
		return err_set(err, ERR_INVALID, "a rootfs needs either layers or a directory");
	if (rf->n_lowers > SBX_MAX_LAYERS)
		return err_set(err, ERR_TOOBIG, "%zu layers: overlayfs stacks at most %d",
			       rf->n_lowers, SBX_MAX_LAYERS);
	if ((rf->upper == NULL) != (rf->work == NULL))
		return err_set(err, ERR_INVALID, "an upper directory needs a work directory");
	for (size_t i = 0; i < s->n_binds; i++)
		if (s->binds[i].target == NULL || s->binds[i].target[0] != '/')
			return err_set(err, ERR_INVALID, "bind target '%s' is not absolute",
				       s->binds[i].target != NULL ? s->binds[i].target : "");
	return 0;
}

/* The copy fallback with an upper dir: copy the layers into work/copy,
 * run there, then write what changed into upper. */
static int run_copied(const struct sbx_spec *s, const struct sock_fprog *prog,
		      struct sbx_result *res, struct err **err)
{
	static const char *const skip[] = { "etc/hosts", "etc/resolv.conf", "etc/hostname",
					    "proc", "dev", "sys", NULL };
	const struct sbx_rootfs *rf = &s->rootfs;
	res->copied = true;
	if (rf->upper == NULL)
		return run_once(s, NULL, true, false, prog, res, err);
	cleanup_free char *copy = xasprintf("%s/copy", rf->work);
	if (mkdir(copy, 0755) < 0)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", copy);
	cleanup_close int copyfd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = copyfd < 0 ? err_sys(err, ERR_IO, errno, "cannot open '%s'", copy)
			   : sbx_copy_layers(copyfd, rf->lowers, rf->n_lowers, err);
	if (r == 0)
		r = run_once(s, copy, false, false, prog, res, err);
	if (r == 0) {
		cleanup_close int upfd = open(rf->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = upfd < 0 ? err_sys(err, ERR_IO, errno, "cannot open '%s'", rf->upper)
			     : sbx_copy_diff(upfd, copyfd, rf->lowers, rf->n_lowers, skip, err);
	}
	struct err *e = NULL;
	if (sbx_remove_tree(copy, &e) < 0 && r == 0) {
		err_move(err, &e);
		r = ERR_IO;
	}
	err_free(e);
	return r;
}

int sbx_run(const struct sbx_spec *s, struct sbx_result *res, struct err **err)
{
	memset(res, 0, sizeof *res);
	int r = spec_check(s, err);
	if (r < 0)
		return r;
	const struct sock_fprog *prog;
	if ((r = sbx_seccomp_program(&prog, err)) < 0)
		return r;
	const struct sbx_rootfs *rf = &s->rootfs;
	if (rf->dir != NULL)
		return run_once(s, rf->dir, false, false, prog, res, err);
	if (rf->mode == SBX_ROOTFS_COPY)
		return run_copied(s, prog, res, err);
	struct err *why = NULL;
	r = run_once(s, NULL, false, true, prog, res, &why);
	if (r != 1) {
		err_move(err, &why);
		return r;
	}
	if (rf->mode == SBX_ROOTFS_OVERLAY) {
		err_move(err, &why);
		return ERR_UNSUPPORTED;
	}
	err_free(why);
	return run_copied(s, prog, res, err);
}
