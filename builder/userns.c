/* Entering bale's user + mount namespace (sandbox.h, level 1).
 *
 * The process unshares itself; helpers forked before the unshare write the
 * id maps from outside once it has happened: newuidmap and newgidmap (both
 * at once) for a subordinate range, plain writes to /proc/PID/[ug]id_map
 * for real root. A single-id mapping needs no helper: a process may map its
 * own id. Entering in place rather than re-executing keeps bale one process
 * (no second exec of a binary linked against a dozen libraries), so the
 * namespaces die with it however it dies. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/sandbox-internal.h"
#include "common/buf.h"
#include "common/util.h"

static struct sbx_userns state;
static char limits_msg[1024];

const struct sbx_userns *sbx_userns_get(void)
{
	return &state;
}

const char *sbx_userns_limits(void)
{
	return state.mode == SBX_IDMAP_SINGLE ? limits_msg : NULL;
}

char *sbx_userns_describe(char *buf, size_t size)
{
	switch (state.mode) {
	case SBX_IDMAP_IDENTITY:
		snprintf(buf, size, "identity (real root: every id maps to itself)");
		break;
	case SBX_IDMAP_SUBID:
		snprintf(buf, size,
			 "subordinate ids: uid 0 -> %u, 1-%u -> %u-%u; gid 0 -> %u, 1-%u -> %u-%u",
			 (unsigned)state.host_uid, state.subuid_count, state.subuid_start,
			 state.subuid_start + state.subuid_count - 1, (unsigned)state.host_gid,
			 state.subgid_count, state.subgid_start,
			 state.subgid_start + state.subgid_count - 1);
		break;
	case SBX_IDMAP_SINGLE:
		snprintf(buf, size, "single id: uid 0 -> %u, gid 0 -> %u (no subordinate range)",
			 (unsigned)state.host_uid, (unsigned)state.host_gid);
		break;
	default:
		snprintf(buf, size, "not entered");
	}
	return buf;
}

/* ---- /etc/subuid */

static bool subid_owner_matches(const char *owner, size_t len, const char *name, uint32_t id)
{
	if (name != NULL && strlen(name) == len && memcmp(owner, name, len) == 0)
		return true;
	char num[16];
	int n = snprintf(num, sizeof num, "%u", id);
	return n > 0 && (size_t)n == len && memcmp(owner, num, len) == 0;
}

static int subid_parse_u32(const char *s, size_t len, uint32_t *out)
{
	char tmp[16];
	uint64_t v;
	if (len == 0 || len >= sizeof tmp)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (str_to_u64(tmp, &v) < 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int sbx_subid_find(const char *text, const char *name, uint32_t id, uint32_t *start,
		   uint32_t *count, struct err **err)
{
	unsigned line = 0;
	for (const char *p = text; *p != '\0';) {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		line++;
		const char *c1 = memchr(p, ':', len);
		const char *c2 = c1 != NULL ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p)) : NULL;
		if (len > 0 && p[0] != '#' && c1 != NULL && c2 != NULL &&
		    subid_owner_matches(p, (size_t)(c1 - p), name, id)) {
			uint32_t s, n;
			if (subid_parse_u32(c1 + 1, (size_t)(c2 - c1 - 1), &s) < 0 ||
			    subid_parse_u32(c2 + 1, len - (size_t)(c2 + 1 - p), &n) < 0)
				return err_set(err, ERR_INVALID, "line %u: bad range", line);
			if (n > 0) {
				*start = s;
				*count = n;
				return 0;
			}
		}
		p += len + (eol != NULL);
	}
	return ERR_NOTFOUND;
}

static int subid_lookup(const char *file, const char *name, uint32_t id, uint32_t *start,
			uint32_t *count, struct err **err)
{
	cleanup_buf struct buf b;
	buf_init(&b, SBX_MAX_ID_FILE);
	int r = buf_read_file(&b, AT_FDCWD, file, err);
	if (r < 0)
		return r;
	r = sbx_subid_find(buf_str(&b), name, id, start, count, err);
	if (r < 0 && r != ERR_NOTFOUND)
		err_wrap(err, "%s", file);
	return r;
}

/* ---- helpers */

/* The directory newuidmap lives in, or NULL. */
static const char *find_idmap_tools(void)
{
	static const char *const dirs[] = { "/usr/bin", "/bin", "/usr/sbin", "/usr/local/bin" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		char a[64], b[64];
		snprintf(a, sizeof a, "%s/newuidmap", dirs[i]);
		snprintf(b, sizeof b, "%s/newgidmap", dirs[i]);
		if (access(a, X_OK) == 0 && access(b, X_OK) == 0)
			return dirs[i];
	}
	return NULL;
}

/* Whether this process is in the initial user namespace with all ids. */
static bool in_initial_userns(void)
{
	char buf[128];
	cleanup_close int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	unsigned a, b, c;
	return sscanf(buf, " %u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295u;
}

static int write_file(const char *path, const char *text)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	if (w < 0)
		return -errno;
	return (size_t)w == n ? 0 : -EIO;
}

/* Choose the mapping: identity for real root, else the subordinate
 * ranges, else a single id (filling limits_msg). */
static void choose_mapping(const char **tooldir)
{
	state.host_uid = getuid();
	state.host_gid = getgid();
	*tooldir = NULL;
	if (geteuid() == 0 && in_initial_userns()) {
		state.mode = SBX_IDMAP_IDENTITY;
		state.max_uid = state.max_gid = UINT32_MAX - 1;
		state.setgroups_allowed = true;
		return;
	}
	struct passwd *pw = getpwuid(state.host_uid);
	const char *name = pw != NULL ? pw->pw_name : NULL;
	char who[128];
	if (name != NULL)
		snprintf(who, sizeof who, "'%s' (uid %u)", name, (unsigned)state.host_uid);
	else
		snprintf(who, sizeof who, "uid %u", (unsigned)state.host_uid);
	*tooldir = find_idmap_tools();
	struct err *e = NULL;
	const char *why = NULL;
	if (*tooldir == NULL)
		why = "newuidmap and newgidmap are not installed (Debian package uidmap)";
	else if (subid_lookup("/etc/subuid", name, state.host_uid, &state.subuid_start,
			      &state.subuid_count, &e) < 0)
		why = "no range in /etc/subuid";
	else if (subid_lookup("/etc/subgid", name, state.host_gid, &state.subgid_start,
			      &state.subgid_count, &e) < 0 &&
		 (name == NULL || subid_lookup("/etc/subgid", name, state.host_uid,
					       &state.subgid_start, &state.subgid_count, &e) < 0))
		why = "no range in /etc/subgid";
	err_free(e);
	if (why == NULL) {
		state.mode = SBX_IDMAP_SUBID;
		state.max_uid = state.subuid_count;
		state.max_gid = state.subgid_count;
		state.setgroups_allowed = true;
		return;
	}
	state.mode = SBX_IDMAP_SINGLE;
	state.max_uid = state.max_gid = 0;
	state.setgroups_allowed = false;
	snprintf(limits_msg, sizeof limits_msg,
		 "%s for %s: only uid 0 and gid 0 exist in the sandbox, so steps that switch "
		 "to another user or give files other owners fail; add a range with "
		 "`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s`",
		 why, who, name != NULL ? name : "USER");
}

/* A helper forked before the unshare: waits for one byte on `go` (EOF:
 * the unshare failed, exit quietly), then maps the parent's ids. */
static void helper_run(int go, int errfd, pid_t target, const char *tool, const char *tooldir)
{
	char c;
	if (read(go, &c, 1) != 1)
		_exit(0);
	char pidstr[16];
	snprintf(pidstr, sizeof pidstr, "%d", (int)target);
	if (tool == NULL) {
		/* Real root: write both maps itself. */
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/uid_map", (int)target);
		int r = write_file(path, "0 0 4294967295\n");
		snprintf(path, sizeof path, "/proc/%d/gid_map", (int)target);
		if (r == 0)
			r = write_file(path, "0 0 4294967295\n");
		if (r < 0)
			dprintf(errfd, "cannot write '%s': %s\n", path, strerror(-r));
		_exit(r < 0);
	}
	bool uid = strcmp(tool, "newuidmap") == 0;
	char prog[128], host[16], start[16], count[16];
	snprintf(prog, sizeof prog, "%s/%s", tooldir, tool);
	snprintf(host, sizeof host, "%u", uid ? (unsigned)state.host_uid : (unsigned)state.host_gid);
	snprintf(start, sizeof start, "%u", uid ? state.subuid_start : state.subgid_start);
	snprintf(count, sizeof count, "%u", uid ? state.subuid_count : state.subgid_count);
	dup2(errfd, STDERR_FILENO);
	dup2(errfd, STDOUT_FILENO);
	execl(prog, tool, pidstr, "0", host, "1", "1", start, count, (char *)NULL);
	dprintf(errfd, "cannot run '%s': %s\n", prog, strerror(errno));
	_exit(127);
}

static int unshare_error(int errnum, struct err **err)
{
	const char *why;
	switch (errnum) {
	case EPERM:
		why = "the kernel does not allow this user to create user namespaces "
		      "(sysctl kernel.unprivileged_userns_clone, "
		      "kernel.apparmor_restrict_unprivileged_userns, or a seccomp filter)";
		break;
	case ENOSPC:
		why = "no user namespace left (sysctl user.max_user_namespaces)";
		break;
	case EINVAL:
		why = "the process already has threads";
		break;
	default:
		why = "unshare failed";
	}
	return err_sys(err, errnum == EPERM || errnum == ENOSPC ? ERR_UNSUPPORTED : ERR_IO, errnum,
		       "cannot create a user namespace: %s", why);
}

static int map_single(struct err **err)
{
	char line[64];
	int r = write_file("/proc/self/setgroups", "deny\n");
	if (r == 0) {
		snprintf(line, sizeof line, "0 %u 1\n", (unsigned)state.host_uid);
		r = write_file("/proc/self/uid_map", line);
	}
	if (r == 0) {
		snprintf(line, sizeof line, "0 %u 1\n", (unsigned)state.host_gid);
		r = write_file("/proc/self/gid_map", line);
	}
	if (r < 0)
		return err_sys(err, ERR_IO, -r, "cannot map ids in the user namespace");
	return 0;
}

struct helpers {
	pid_t pid[2];
	int n;
	int go[2];
	int out[2];
};

static int helpers_start(struct helpers *h, const char *tooldir, struct err **err)
{
	pid_t self = getpid();
	if (pipe2(h->go, O_CLOEXEC) < 0 || pipe2(h->out, O_CLOEXEC) < 0)
		return err_sys(err, ERR_IO, errno, "cannot create a pipe");
	const char *tools[2] = { "newuidmap", "newgidmap" };
	int want = state.mode == SBX_IDMAP_SUBID ? 2 : 1;
	for (int i = 0; i < want; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return err_sys(err, ERR_IO, errno, "cannot fork");
		if (pid == 0) {
			close(h->go[1]);
			close(h->out[0]);
			helper_run(h->go[0], h->out[1], self, want == 2 ? tools[i] : NULL, tooldir);
		}
		h->pid[h->n++] = pid;
	}
	close(h->go[0]);
	close(h->out[1]);
	h->go[0] = h->out[1] = -1;
	return 0;
}

/* Let the helpers go (ok) or stop them (!ok), wait, and collect errors. */
static int helpers_finish(struct helpers *h, bool ok, struct err **err)
{
	if (ok) {
		char go[2] = { 'x', 'x' };
		if (write(h->go[1], go, (size_t)h->n) != h->n)
			ok = false;
	}
	close(h->go[1]);
	h->go[1] = -1;
	bool failed = false;
	for (int i = 0; i < h->n; i++) {
		int st;
		while (waitpid(h->pid[i], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = true;
	}
	cleanup_buf struct buf out;
	buf_init(&out, SBX_MAX_HELPER_OUTPUT);
	struct err *ignored = NULL;
	buf_read_fd(&out, h->out[0], "newuidmap output", &ignored);
	err_free(ignored);
	close(h->out[0]);
	h->out[0] = -1;
	if (ok && failed)
		return err_set(err, ERR_FAIL, "cannot map ids in the user namespace: %s",
			       str_trim(out.data != NULL ? out.data : (char *)"helper failed"));
	return 0;
}

int sbx_userns_enter(struct err **err)
{
	if (state.mode != SBX_IDMAP_NONE)
		return 0;
	const char *tooldir;
	choose_mapping(&tooldir);
	struct helpers h = { .n = 0, .go = { -1, -1 }, .out = { -1, -1 } };
	int r = 0;
	if (state.mode != SBX_IDMAP_SINGLE && (r = helpers_start(&h, tooldir, err)) < 0) {
		if (h.go[1] >= 0)
			helpers_finish(&h, false, NULL);
		state.mode = SBX_IDMAP_NONE;
		return r;
	}
	int un = unshare(CLONE_NEWUSER | CLONE_NEWNS);
	int unerr = errno;
	if (state.mode != SBX_IDMAP_SINGLE)
		r = helpers_finish(&h, un == 0, err);
	if (un < 0) {
		state.mode = SBX_IDMAP_NONE;
		return unshare_error(unerr, err);
	}
	if (r == 0 && state.mode == SBX_IDMAP_SINGLE)
		r = map_single(err);
	/* Our mounts never propagate to the host, nor the host's to us. */
	if (r == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		r = err_sys(err, ERR_IO, errno, "cannot make the mounts private");
	if (r < 0) {
		/* Half in: the process cannot go back, and must not go on. */
		state.mode = SBX_IDMAP_NONE;
		return r;
	}
	return 0;
}
