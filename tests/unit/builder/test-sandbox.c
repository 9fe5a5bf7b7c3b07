/* The sandbox end to end, on a busybox rootfs made here: exit statuses,
 * owners of what steps write (uid 0, 1000, 65534) as the layer writer sees
 * them, whiteouts, /etc files kept out of the upper dir, USER/WORKDIR/ENV,
 * networking, many layers, the copy fallback giving the same upper dir.
 *
 * Runs as whoever starts it: tests/integration/sandbox-users.sh runs it as
 * root, as a user with a subordinate id range and as one without. With a
 * single-id mapping, a step as uid 1000 must fail with a message saying
 * why, and uid 0 must still work. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "builder/sandbox-internal.h"
#include "builder/sandbox.h"
#include "common/buf.h"
#include "common/util.h"
#include "layers/layer.h"
#include "tests/tap.h"

static char base[256];
static char busybox[] = "/bin/busybox";

static char *in_base(const char *name)
{
	return xasprintf("%s/%s", base, name);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	char buf[65536];
	ssize_t n;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write_all(out, buf, (size_t)n) < 0)
			break;
	if (in < 0 || out < 0) {
		printf("Bail out! cannot copy %s\n", src);
		exit(1);
	}
	close(in);
	close(out);
}

/* The image's first layer: busybox, its applets, passwd/group with a
 * user 1000 and nobody, a world-writable /data, and a file to delete. */
static void make_base_layer(const char *dir)
{
	static const char *const applets[] = { "sh", "id", "touch", "chown", "rm", "cat", "ls",
					       "echo", "mkdir", "sleep", "kill", "test", "pwd",
					       "stat", "env", "hostname" };
	char *p;
	mkdir(dir, 0755);
	const char *subdirs[] = { "bin", "etc", "data", "tmp", "home" };
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		p = xasprintf("%s/%s", dir, subdirs[i]);
		mkdir(p, 0755);
		free(p);
	}
	p = xasprintf("%s/data", dir);
	chmod(p, 01777);
	free(p);
	p = xasprintf("%s/bin/busybox", dir);
	copy_file(busybox, p);
	free(p);
	for (size_t i = 0; i < ARRAY_SIZE(applets); i++) {
		p = xasprintf("%s/bin/%s", dir, applets[i]);
		if (symlink("busybox", p) < 0) {
			printf("Bail out! symlink %s: %s\n", p, strerror(errno));
			exit(1);
		}
		free(p);
	}
	p = xasprintf("%s/etc/passwd", dir);
	write_text(p, "root:x:0:0:root:/root:/bin/sh\n"
		      "user:x:1000:1000:user:/home/user:/bin/sh\n"
		      "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
	free(p);
	p = xasprintf("%s/etc/group", dir);
	write_text(p, "root:x:0:\nusers:x:100:user\nuser:x:1000:\nnogroup:x:65534:\n");
	free(p);
	p = xasprintf("%s/etc/doomed", dir);
	write_text(p, "delete me\n");
	free(p);
}

struct step {
	const char *const *lowers;
	size_t n_lowers;
	const char *upper, *work;
	const char *user, *cwd;
	char *const *env;
	enum sbx_network network;
	enum sbx_rootfs_mode mode;
	int out_fd;
};

static int run_step(const struct step *st, const char *script, struct sbx_result *res,
		    struct err **err)
{
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)script, NULL };
	struct sbx_spec spec = {
		.rootfs = { .lowers = st->lowers, .n_lowers = st->n_lowers, .upper = st->upper,
			    .work = st->work, .mode = st->mode },
		.argv = argv,
		.env = st->env,
		.cwd = st->cwd,
		.user = st->user,
		.network = st->network,
		.stdio = { -1, st->out_fd >= 0 ? st->out_fd : STDERR_FILENO, STDERR_FILENO },
	};
	return sbx_run(&spec, res, err);
}

/* Run and expect exit 0; returns whether it did. */
static bool step_ok(const struct step *st, const char *script, const char *what)
{
	struct sbx_result res;
	struct err *err = NULL;
	int r = run_step(st, script, &res, &err);
	bool pass = r == 0 && res.signal == 0 && res.exit_code == 0;
	ok(pass, "%s", what);
	if (!pass)
		diag("  rc %d exit %d signal %d: %s", r, res.exit_code, res.signal, err_msg(err));
	err_free(err);
	return pass;
}

static char *read_fd_text(int fd)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	lseek(fd, 0, SEEK_SET);
	buf_read_fd(&b, fd, "output", NULL);
	char *s = buf_detach(&b, NULL);
	ftruncate(fd, 0);
	lseek(fd, 0, SEEK_SET);
	return str_trim(s) == s ? s : s;
}

static void check_owner(const char *upper, const char *rel, unsigned uid, unsigned gid)
{
	char *p = xasprintf("%s/%s", upper, rel);
	struct stat st;
	int r = lstat(p, &st);
	ok(r == 0 && st.st_uid == uid && st.st_gid == gid, "%s is owned by %u:%u in the upper dir",
	   rel, uid, gid);
	if (r == 0 && (st.st_uid != uid || st.st_gid != gid))
		diag("  owned by %u:%u", (unsigned)st.st_uid, (unsigned)st.st_gid);
	free(p);
}

/* Write the upper dir as an uncompressed layer with the layers module and
 * find the owners of `names` in the tar. */
static void check_layer_owners(const char *upper, const char *const *names, const unsigned *uids,
			       size_t n)
{
	char *tarpath = in_base("layer.tar");
	int fd = open(tarpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct layer_write_opts o;
	layer_write_opts_init(&o);
	o.compression = LAYER_COMPRESS_NONE;
	o.overlay_upper = true;
	struct layer_result lr;
	struct err *err = NULL;
	int r = layer_write_dir_fd(fd, upper, &o, &lr, &err);
	ok(r == 0, "the upper dir is written as a layer");
	if (r < 0)
		diag("  %s", err_msg(err));
	err_free(err);
	close(fd);
	unsigned found[16] = { 0 };
	bool seen[16] = { false };
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	struct archive_entry *e;
	int tfd = open(tarpath, O_RDONLY | O_CLOEXEC);
	if (tfd >= 0 && archive_read_open_fd(a, tfd, 65536) == ARCHIVE_OK) {
		while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
			const char *name = archive_entry_pathname(e);
			for (size_t i = 0; i < n; i++)
				if (strcmp(name, names[i]) == 0) {
					seen[i] = true;
					found[i] = (unsigned)archive_entry_uid(e);
				}
		}
	}
	archive_read_free(a);
	if (tfd >= 0)
		close(tfd);
	for (size_t i = 0; i < n; i++) {
		ok(seen[i] && found[i] == uids[i], "the layer has %s owned by uid %u", names[i],
		   uids[i]);
		if (!seen[i])
			diag("  not in the layer");
		else if (found[i] != uids[i])
			diag("  owned by %u", found[i]);
	}
	free(tarpath);
}

static void test_owners(const char *l0, bool single)
{
	char *up = in_base("up-owners"), *wk = in_base("wk-owners");
	mkdir(up, 0755);
	mkdir(wk, 0755);
	const char *lowers[] = { l0 };
	struct step st = { .lowers = lowers, .n_lowers = 1, .upper = up, .work = wk, .out_fd = -1 };
	step_ok(&st, "touch /data/f0 && echo x >> /etc/hosts && rm /etc/doomed", "a step as root");
	check_owner(up, "data/f0", 0, 0);
	struct stat sb;
	char *p = xasprintf("%s/etc/hosts", up);
	ok(lstat(p, &sb) < 0 && errno == ENOENT, "/etc/hosts written by the step is not in the upper dir");
	free(p);
	p = xasprintf("%s/etc/doomed", up);
	ok(lstat(p, &sb) == 0 && S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(0, 0),
	   "a deleted file is a whiteout in the upper dir");
	free(p);

	if (single) {
		struct sbx_result res;
		struct err *err = NULL;
		st.user = "user";
		int r = run_step(&st, "touch /data/f1000", &res, &err);
		is_int(r, ERR_INVALID, "single-id mapping: a step as uid 1000 fails");
		like(err_msg(err), "does not exist in the sandbox", "  saying the user does not exist");
		like(err_msg(err), "subuid", "  and what to configure");
		err_free(err);
		st.user = NULL;
		struct err *e2 = NULL;
		r = run_step(&st, "chown 1000:1000 /data/f0", &res, &e2);
		ok(r == 0 && res.exit_code != 0, "single-id mapping: chown to 1000 fails in the step");
		err_free(e2);
		const char *names[] = { "data/f0" };
		const unsigned uids[] = { 0 };
		check_layer_owners(up, names, uids, 1);
	} else {
		st.user = "user";
		step_ok(&st, "touch /data/f1000", "a step as user (1000)");
		st.user = "65534";
		step_ok(&st, "touch /data/f65534", "a step as uid 65534");
		st.user = NULL;
		step_ok(&st, "touch /data/chowned && chown 1000:100 /data/chowned", "root chowns to 1000:100");
		check_owner(up, "data/f1000", 1000, 1000);
		check_owner(up, "data/f65534", 65534, 65534);
		check_owner(up, "data/chowned", 1000, 100);
		const char *names[] = { "data/f0", "data/f1000", "data/f65534", "data/chowned" };
		const unsigned uids[] = { 0, 1000, 65534, 1000 };
		check_layer_owners(up, names, uids, 4);

		/* The same steps through the copy fallback: the same upper dir. */
		char *cup = in_base("up-copy"), *cwk = in_base("wk-copy");
		mkdir(cup, 0755);
		mkdir(cwk, 0755);
		struct step cs = st;
		cs.upper = cup;
		cs.work = cwk;
		cs.mode = SBX_ROOTFS_COPY;
		step_ok(&cs, "touch /data/f0 && echo x >> /etc/hosts && rm /etc/doomed",
			"copy fallback: a step as root");
		cs.user = "user";
		step_ok(&cs, "touch /data/f1000", "copy fallback: a step as user");
		check_owner(cup, "data/f0", 0, 0);
		check_owner(cup, "data/f1000", 1000, 1000);
		p = xasprintf("%s/etc/doomed", cup);
		ok(lstat(p, &sb) == 0 && S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(0, 0),
		   "copy fallback: a deleted file is a whiteout");
		free(p);
		p = xasprintf("%s/etc/hosts", cup);
		ok(lstat(p, &sb) < 0, "copy fallback: /etc/hosts is not in the upper dir");
		free(p);
		p = xasprintf("%s/bin", cup);
		ok(lstat(p, &sb) < 0, "copy fallback: unchanged directories are not in the upper dir");
		free(p);
		p = xasprintf("%s/copy", cwk);
		ok(lstat(p, &sb) < 0, "copy fallback: the copy is removed");
		free(p);
		free(cup);
		free(cwk);
	}
	free(up);
	free(wk);
}

static void test_status_and_env(const char *l0, int out, bool single)
{
	const char *lowers[] = { l0 };
	struct step st = { .lowers = lowers, .n_lowers = 1, .out_fd = out };
	struct sbx_result res;
	struct err *err = NULL;
	is_int(run_step(&st, "exit 3", &res, &err), 0, "a failing step is not an error");
	is_int(res.exit_code, 3, "  its exit status comes back");
	is_int(run_step(&st, "kill -KILL $$", &res, &err), 0, "a step killed by a signal");
	is_int(res.signal, 9, "  is reported as such");
	is_int(run_step(&st, "sleep 5 & exit 4", &res, &err), 0,
	       "a step leaving a background process");
	is_int(res.exit_code, 4, "  ends when its main process does");

	char *env[] = { (char *)"FOO=bar baz", NULL };
	st.env = env;
	st.cwd = single ? "/root/work" : "/home/user/work";
	st.user = single ? "root" : "user";
	step_ok(&st, "echo \"$(id -u):$(id -g):$HOME:$(pwd):$FOO:$PATH\"", "USER, WORKDIR and ENV");
	char *got = read_fd_text(out);
	is_str(got, single ? "0:0:/root:/root/work:bar baz:"
			     "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
			   : "1000:1000:/home/user:/home/user/work:bar baz:"
			     "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	       "  uid, gid, HOME, cwd, env, default PATH");
	free(got);
	if (!single) {
		step_ok(&st, "id -G", "supplementary groups");
		got = read_fd_text(out);
		is_str(got, "1000 100", "  from the image's /etc/group");
		free(got);
	}
	st.env = NULL;
	st.cwd = NULL;
	st.user = NULL;

	st.network = SBX_NETWORK_NONE;
	step_ok(&st, "ls /sys/class/net", "--network none");
	got = read_fd_text(out);
	is_str(got, "lo", "  only lo exists");
	free(got);
	st.network = SBX_NETWORK_HOST;

	char *argv[] = { (char *)"nosuchcommand", NULL };
	struct sbx_spec spec = { .rootfs = { .lowers = lowers, .n_lowers = 1 }, .argv = argv,
				 .stdio = { -1, -1, -1 } };
	err = NULL;
	is_int(sbx_run(&spec, &res, &err), ERR_NOTFOUND, "a missing command is ERR_NOTFOUND");
	like(err_msg(err), "executable file not found in $PATH", "  with Docker's words");
	is_int(res.exit_code, 127, "  and exit code 127");
	err_free(err);
	err = NULL;
	st.cwd = "/proc/self/fd/0";
	is_int(run_step(&st, "true", &res, &err), ERR_INVALID,
	       "a working directory through a magic link is refused");
	err_free(err);
	err = NULL;
	st.cwd = NULL;
	st.user = "nosuch";
	is_int(run_step(&st, "true", &res, &err), ERR_NOTFOUND, "an unknown USER is ERR_NOTFOUND");
	like(err_msg(err), "unable to find user 'nosuch'", "  naming the user");
	err_free(err);
}

/* More layers than one mount option page holds at these path lengths. */
static void test_many_layers(const char *l0)
{
	enum { N = 120 };
	char *dir = in_base("layers-with-a-rather-long-directory-name-to-fill-the-option-page");
	mkdir(dir, 0755);
	const char *lowers[N + 1];
	size_t total = 0;
	for (int i = 0; i < N; i++) {
		char *l = xasprintf("%s/layer-%03d-padding-padding-padding", dir, i);
		mkdir(l, 0755);
		char *f = xasprintf("%s/file-%03d", l, i);
		write_text(f, "x\n");
		free(f);
		lowers[N - 1 - i] = l; /* topmost first */
		total += strlen(l) + 1;
	}
	lowers[N] = l0;
	diag("%d layers, %zu bytes of paths", N + 1, total + strlen(l0));
	struct step st = { .lowers = lowers, .n_lowers = N + 1, .out_fd = -1 };
	step_ok(&st, "test -f /file-000 && test -f /file-119 && test -x /bin/sh",
		"121 layers with 15k of paths mount");
	for (int i = 0; i < N; i++)
		free((char *)lowers[i]);
	free(dir);
}

static void test_layers_stack(const char *l0)
{
	/* A previous step's upper dir as a layer: its whiteout hides the file. */
	char *up = in_base("up-owners");
	const char *lowers[] = { up, l0 };
	struct step st = { .lowers = lowers, .n_lowers = 2, .out_fd = -1 };
	step_ok(&st, "test ! -e /etc/doomed && test -e /data/f0",
		"an upper dir stacked as a layer applies its whiteouts");
	free(up);
}

int main(void)
{
	if (access(busybox, X_OK) < 0)
		tap_skip_all("no %s (Debian package busybox-static)", busybox);
	struct err *err = NULL;
	if (sbx_userns_enter(&err) < 0) {
		if (err_code(err) == ERR_UNSUPPORTED)
			tap_skip_all("%s", err_msg(err));
		printf("Bail out! %s\n", err_msg(err));
		return 1;
	}
	char desc[256];
	diag("host uid %u, mapping: %s", (unsigned)sbx_userns_get()->host_uid,
	     sbx_userns_describe(desc, sizeof desc));
	bool single = sbx_userns_get()->mode == SBX_IDMAP_SINGLE;
	const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	snprintf(base, sizeof base, "%s/bale-sbx.XXXXXX", tmp);
	if (mkdtemp(base) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	char *l0 = in_base("l0");
	make_base_layer(l0);
	char *outp = in_base("out");
	int out = open(outp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	test_owners(l0, single);
	test_status_and_env(l0, out, single);
	test_many_layers(l0);
	if (!single)
		test_layers_stack(l0);

	close(out);
	free(outp);
	free(l0);
	ok(sbx_remove_tree(base, NULL) == 0, "every temp file can be removed");
	return tap_done();
}
