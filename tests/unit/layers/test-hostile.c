/* Every layer in testdata/hostile/: refuse-* must be refused naming the
 * entry, leaving the target exactly as it was; contain-* may apply but must
 * not touch anything outside the target. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/util.h"
#include "layers/layer.h"
#include "tests/tap.h"

static char work[256];

/* The names in dir, sorted, joined by ','. */
static char *listing(const char *dir)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			strv_push(&v, de->d_name);
	if (d != NULL)
		closedir(d);
	size_t n = strv_len(v);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	char *out = xstrdup("");
	for (size_t i = 0; i < n; i++) {
		char *t = xasprintf("%s%s%s", out, i ? "," : "", v[i]);
		free(out);
		out = t;
	}
	strv_free(v);
	return out;
}

static const char *expect_entry(const char *f)
{
	static const struct { const char *file, *msg; } t[] = {
		{ "refuse-dotdot.tar", "layer entry '../evil': path leaves the root" },
		{ "refuse-dotdot.tar.gz", "layer entry '../evil': path leaves the root" },
		{ "refuse-dotdot-nested.tar", "layer entry 'a/b/../../../evil': path leaves the root" },
		{ "refuse-absolute.tar", "layer entry '/tmp/bale-hostile-evil': path is absolute" },
		{ "refuse-hardlink-dotdot.tar",
		  "layer entry 'link': hard link target '../../../etc/passwd' leaves the root" },
		{ "refuse-hardlink-absolute.tar", "layer entry 'link': hard link target '/etc/passwd' is absolute" },
		{ "refuse-whiteout-dotdot.tar", "layer entry 'a/.wh..': invalid whiteout" },
		{ "refuse-device.tar", "layer entry 'dev/evil': device nodes are not allowed" },
		{ "refuse-longname.tar", "is too long" },
		{ "refuse-pax-huge.tar.gz", "layer entry 'big-pax': headers of" },
		{ "refuse-bomb.tar.gz", "layer entry 'zeros.bin': layer decompresses to more than" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (str_eq(f, t[i].file))
			return t[i].msg;
	return "layer entry";
}

static void one(const char *dir, const char *f)
{
	char path[1024], target[512];
	snprintf(path, sizeof(path), "%s/%s", dir, f);
	snprintf(target, sizeof(target), "%s/target", work);
	remove_tree(target);
	mkdir(target, 0755);
	char before[600];
	snprintf(before, sizeof(before), "%s/before.txt", target);
	int bfd = open(before, O_CREAT | O_WRONLY, 0644);
	close(bfd);
	remove_tree("/tmp/bale-hostile-out");
	unlink("/tmp/bale-hostile-evil");

	struct layer_apply_opts o;
	layer_apply_opts_init(&o);
	o.allow_devices = false; /* as an unprivileged user */
	o.max_bytes = 16u << 20;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct err *err = NULL;
	int r = layer_apply_fd(fd, target, &o, NULL, &err);
	close(fd);
	char *ls = listing(target);
	if (str_has_prefix(f, "refuse-")) {
		ok(r < 0, "%s: refused", f);
		like(err_msg(err), expect_entry(f), "%s: message names the entry", f);
		is_str(ls, "before.txt", "%s: target left as it was", f);
		/* into a missing directory (one pass, undone on refusal) */
		char fresh[600];
		snprintf(fresh, sizeof(fresh), "%s/fresh", work);
		remove_tree(fresh);
		err_freep(&err);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		r = layer_apply_fd(fd, fresh, &o, NULL, &err);
		close(fd);
		ok(r < 0, "%s: refused into a new directory", f);
		like(err_msg(err), expect_entry(f), "%s: naming the entry", f);
		ok(access(fresh, F_OK) != 0, "%s: the new directory is not left behind", f);
		ok(access("/tmp/bale-hostile-evil", F_OK) != 0, "%s: nothing written outside", f);
	} else {
		struct stat st, pw;
		char stolen[600];
		snprintf(stolen, sizeof(stolen), "%s/stolen", target);
		ok(access("/tmp/bale-hostile-out", F_OK) != 0, "%s: nothing created outside", f);
		ok(stat(stolen, &st) != 0 || stat("/etc/passwd", &pw) != 0 || st.st_ino != pw.st_ino,
		   "%s: no hard link to a file outside", f);
		if (str_has_prefix(f, "contain-xattr")) {
			char d[700], v[16];
			ok(r == 0, "%s: applied", f);
			snprintf(d, sizeof(d), "%s/d", target);
			ok(getxattr(d, "trusted.overlay.opaque", v, sizeof(v)) < 0,
			   "%s: trusted.overlay.opaque not set", f);
			snprintf(d, sizeof(d), "%s/d/f", target);
			ok(getxattr(d, "user.overlay.redirect", v, sizeof(v)) < 0,
			   "%s: user.overlay.redirect not set", f);
			ok(getxattr(d, "user.ok", v, sizeof(v)) == 1, "%s: other user xattrs are", f);
		}
		if (r == 0 && str_has_prefix(f, "contain-symlink")) {
			char in[700];
			snprintf(in, sizeof(in), "%s/tmp/bale-hostile-out/evil", target);
			ok(access(in, F_OK) == 0, "%s: the write through the symlink stayed inside", f);
		}
	}
	free(ls);
	err_free(err);
}

int main(void)
{
	const char *src = getenv("top_srcdir");
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/testdata/hostile", src ? src : TOP_SRCDIR);
	DIR *d = opendir(dir);
	if (d == NULL)
		tap_skip_all("no testdata/hostile at %s", dir);
	snprintf(work, sizeof(work), "/tmp/test-hostile.XXXXXX");
	mkdtemp(work);
	char **files = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (str_has_prefix(de->d_name, "refuse-") || str_has_prefix(de->d_name, "contain-"))
			strv_push(&files, de->d_name);
	closedir(d);
	for (size_t i = 0; files != NULL && files[i] != NULL; i++)
		one(dir, files[i]);
	strv_free(files);
	remove_tree(work);
	return tap_done();
}
