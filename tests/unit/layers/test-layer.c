/* The layer writer and applier: digests, determinism, round trips, overlay
 * whiteouts. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/util.h"
#include "layers/cas.h"
#include "layers/layer.h"
#include "tests/tap.h"

static char work[256];

static int sh(const char *cmd)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void put(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
	write_all(fd, data, strlen(data));
	fchmod(fd, mode);
	close(fd);
}

static void make_tree(const char *t)
{
	char p[600];
	mkdir(t, 0755);
	snprintf(p, sizeof(p), "%s/a", t), mkdir(p, 0750);
	snprintf(p, sizeof(p), "%s/a/file", t), put(p, "hello\n", 0644);
	setxattr(p, "user.test", "v1", 2, 0);
	char q[600];
	snprintf(q, sizeof(q), "%s/a/hl", t), link(p, q);
	snprintf(p, sizeof(p), "%s/a/exec", t), put(p, "#!/bin/sh\n", 04755);
	snprintf(p, sizeof(p), "%s/a/sym", t), symlink("file", p);
	snprintf(p, sizeof(p), "%s/fifo", t), mkfifo(p, 0600);
	snprintf(p, sizeof(p), "%s/b", t), mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/b/z", t), put(p, "z", 0600);
	snprintf(p, sizeof(p), "%s/b/A", t), put(p, "A", 0600);
	snprintf(p, sizeof(p), "%s/sock", t);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	str_copy(sa.sun_path, p, sizeof(sa.sun_path));
	bind(s, (struct sockaddr *)&sa, sizeof(sa));
	close(s);
	snprintf(p, sizeof(p), "touch -h -d @1600000000 $(find %s)", t);
	sh(p);
}

/* Entry names of a tar blob in order, joined by ' '. */
static char *names_of(struct cas *c, const struct digest *d)
{
	int fd = -1;
	cas_open(c, d, &fd, NULL, NULL);
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_open_fd(a, fd, 65536);
	struct archive_entry *e;
	char *out = xstrdup("");
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char *t = xasprintf("%s%s%s", out, out[0] ? " " : "", archive_entry_pathname(e));
		free(out);
		out = t;
	}
	archive_read_free(a);
	close(fd);
	return out;
}

/* A tar at path with the entries given in order as "NAME" (a file holding
 * its own name), "NAME/" (a directory, mode 0750, mtime 1600000000); NULL
 * ends the list. */
static void make_tar(const char *path, ...)
{
	/* (through an fd: bale reaches libarchive through common/lazy-archive.c,
	 * which forwards only the functions bale uses) */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open_fd(a, fd);
	struct archive_entry *e = archive_entry_new();
	va_list ap;
	va_start(ap, path);
	for (const char *n; (n = va_arg(ap, const char *)) != NULL;) {
		archive_entry_clear(e);
		archive_entry_copy_pathname(e, n);
		archive_entry_set_mtime(e, 1600000000, 0);
		bool dir = n[strlen(n) - 1] == '/';
		archive_entry_set_mode(e, dir ? (AE_IFDIR | 0750) : (AE_IFREG | 0644));
		archive_entry_set_size(e, dir ? 0 : (la_int64_t)strlen(n));
		archive_write_header(a, e);
		if (!dir)
			archive_write_data(a, n, strlen(n));
	}
	va_end(ap);
	archive_entry_free(e);
	archive_write_free(a);
	close(fd);
}

static int apply_file(const char *layer, const char *target, struct err **err)
{
	int fd = open(layer, O_RDONLY | O_CLOEXEC);
	int r = layer_apply_fd(fd, target, NULL, NULL, err);
	close(fd);
	return r;
}

/* Paths under dir that exist (1) or not (0), as "name=1 name=0". */
static char *exist(const char *dir, const char *const *names)
{
	char *out = xstrdup("");
	for (size_t i = 0; names[i] != NULL; i++) {
		char p[700];
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		char *t = xasprintf("%s%s%s=%d", out, i ? " " : "", names[i], access(p, F_OK) == 0);
		free(out);
		out = t;
	}
	return out;
}

/* Opaque markers and directory times whatever the order of the entries. */
static void test_apply_order(void)
{
	char base[300], tar[300], p[700];
	struct err *err = NULL;
	struct stat st;
	snprintf(base, sizeof(base), "%s/order", work);
	snprintf(tar, sizeof(tar), "%s/order.tar", work);
	mkdir(base, 0755);
	snprintf(p, sizeof(p), "%s/opq", base), mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/opq/old", base), put(p, "x", 0644);
	snprintf(p, sizeof(p), "%s/opq/sub", base), mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/opq/sub/old", base), put(p, "x", 0644);
	snprintf(p, sizeof(p), "%s/keep", base), put(p, "x", 0644);
	/* "-early" sorts before ".wh..wh..opq", as Go's archive/tar writers
	 * emit it; "a.txt" sorts between "a" and "a/x" as whole paths */
	make_tar(tar, "opq/", "opq/-early", "opq/.wh..wh..opq", "opq/late", "opq/sub/new", "a/",
		 "a.txt", "a/x", NULL);
	ok(apply_file(tar, base, &err) == 0, "apply a layer with a late opaque marker");
	if (err)
		diag("%s", err_msg(err));
	char *got = exist(base, (const char *const[]){ "opq/old", "opq/sub/old", "opq/-early",
							"opq/late", "opq/sub/new", "keep", NULL });
	is_str(got, "opq/old=0 opq/sub/old=0 opq/-early=1 opq/late=1 opq/sub/new=1 keep=1",
	       "lower content hidden, every entry of the layer kept");
	free(got);
	snprintf(p, sizeof(p), "%s/a", base);
	ok(stat(p, &st) == 0 && st.st_mtime == 1600000000 && (st.st_mode & 07777) == 0750,
	   "directory entered again keeps its mode and mtime");

	/* an opaque root hides everything below but the layer's own */
	make_tar(tar, "new", ".wh..wh..opq", "z/", "z/f", NULL);
	ok(apply_file(tar, base, &err) == 0, "apply a layer with an opaque root");
	got = exist(base, (const char *const[]){ "keep", "opq", "a.txt", "new", "z/f", NULL });
	is_str(got, "keep=0 opq=0 a.txt=0 new=1 z/f=1", "opaque root");
	free(got);

	/* into an empty target the marker hides nothing: every entry stays */
	snprintf(p, sizeof(p), "rm -rf %s", base);
	sh(p);
	make_tar(tar, "d/", "d/-a", "d/.wh..wh..opq", "d/b", NULL);
	ok(apply_file(tar, base, &err) == 0, "apply into a new directory");
	got = exist(base, (const char *const[]){ "d/-a", "d/b", NULL });
	is_str(got, "d/-a=1 d/b=1", "opaque marker into a new directory keeps the layer's files");
	free(got);
	err_free(err);
}

/* Entries replacing what is there, and sparse files. */
static void test_apply_replace(void)
{
	char base[300], tar[300], p[700], q[700], cmd[1600];
	struct err *err = NULL;
	struct stat st;
	snprintf(base, sizeof(base), "%s/replace", work);
	snprintf(tar, sizeof(tar), "%s/replace.tar", work);
	mkdir(base, 0755);
	snprintf(p, sizeof(p), "%s/old", base), put(p, "old", 0644);
	snprintf(q, sizeof(q), "%s/f", base), link(p, q);
	snprintf(p, sizeof(p), "%s/victim", work), put(p, "victim", 0644);
	snprintf(q, sizeof(q), "%s/s", base), symlink(p, q);
	make_tar(tar, "f", "s", NULL);
	ok(apply_file(tar, base, &err) == 0, "apply over a hard link and a symlink");
	char buf[16] = { 0 };
	snprintf(p, sizeof(p), "%s/f", base);
	int fd = open(p, O_RDONLY);
	read(fd, buf, sizeof(buf) - 1);
	close(fd);
	is_str(buf, "f", "the entry replaced the file");
	snprintf(p, sizeof(p), "%s/old", base);
	ok(stat(p, &st) == 0 && st.st_size == 3 && st.st_nlink == 1,
	   "its other hard link kept the old content");
	snprintf(p, sizeof(p), "%s/s", base);
	ok(lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 1, "the symlink was replaced");
	snprintf(p, sizeof(p), "%s/victim", work);
	ok(stat(p, &st) == 0 && st.st_size == 6, "not written through");

	/* a sparse file ending with a hole keeps its size and data */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && rm -rf sp && mkdir sp && printf data | dd of=sp/holes bs=1 seek=1048576 "
		 "conv=notrunc 2>/dev/null && truncate -s 3M sp/holes && "
		 "tar --sparse --format=posix -cf sparse.tar -C sp holes",
		 work);
	if (sh(cmd) != 0) {
		diag("GNU tar cannot write a sparse file here");
		err_free(err);
		return;
	}
	snprintf(p, sizeof(p), "%s/sparse.tar", work);
	snprintf(q, sizeof(q), "%s/sparse-out", work);
	ok(apply_file(p, q, &err) == 0, "apply a sparse file");
	snprintf(p, sizeof(p), "%s/sparse-out/holes", work);
	memset(buf, 0, sizeof(buf));
	fd = open(p, O_RDONLY);
	ok(fstat(fd, &st) == 0 && st.st_size == 3 << 20, "sparse file size kept");
	ok(pread(fd, buf, 4, 1 << 20) == 4 && str_eq(buf, "data"), "sparse file data in place");
	close(fd);
	err_free(err);
}

int main(void)
{
	snprintf(work, sizeof(work), "/tmp/test-layer.XXXXXX");
	mkdtemp(work);
	char tree[300], store[300], out[300], cmd[2048];
	snprintf(tree, sizeof(tree), "%s/tree", work);
	snprintf(store, sizeof(store), "%s/store", work);
	make_tree(tree);
	struct err *err = NULL;
	struct cas *c = NULL;
	cas_new(&c, store, &err);

	struct layer_write_opts o;
	layer_write_opts_init(&o);
	struct layer_result rz, rg, rn, rz2, rg1;
	o.compression = LAYER_COMPRESS_ZSTD;
	ok(layer_write_dir(c, tree, &o, &rz, &err) == 0, "write zstd layer");
	if (err)
		diag("%s", err_msg(err));
	is_str(rz.media_type, "application/vnd.oci.image.layer.v1.tar+zstd", "zstd media type");
	o.compression = LAYER_COMPRESS_GZIP;
	ok(layer_write_dir(c, tree, &o, &rg, &err) == 0, "write gzip layer");
	o.threads = 1;
	ok(layer_write_dir(c, tree, &o, &rg1, &err) == 0 && digest_equal(&rg.blob, &rg1.blob),
	   "gzip blob is the same with 1 thread or all");
	{
		/* zstd too, over several of its 2 MiB jobs: the layer digest
		 * must not depend on the machine's CPU count */
		char big[300], f[400];
		snprintf(big, sizeof(big), "%s/big", work);
		mkdir(big, 0755);
		snprintf(f, sizeof(f), "%s/data", big);
		int bfd = open(f, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		char line[64];
		uint32_t x = 1;
		for (int i = 0; i < 300000; i++) {
			x = x * 1103515245u + 12345u;
			int n = snprintf(line, sizeof(line), "line %d value %u\n", i, (x >> 16) % 1000);
			write_all(bfd, line, (size_t)n);
		}
		close(bfd);
		struct layer_write_opts zo;
		layer_write_opts_init(&zo);
		zo.source_date_epoch = 0;
		struct layer_result z1, z2, z3;
		zo.threads = 1;
		int r1 = layer_write_dir(c, big, &zo, &z1, &err);
		zo.threads = 2;
		int r2 = layer_write_dir(c, big, &zo, &z2, &err);
		zo.threads = 3;
		int r3 = layer_write_dir(c, big, &zo, &z3, &err);
		ok(r1 == 0 && r2 == 0 && r3 == 0 && z1.tar_size > (4u << 20) &&
			   digest_equal(&z1.blob, &z2.blob) && digest_equal(&z1.blob, &z3.blob),
		   "zstd blob is the same with 1, 2 or 3 threads");
	}
	o.threads = 0;
	o.compression = LAYER_COMPRESS_NONE;
	ok(layer_write_dir(c, tree, &o, &rn, &err) == 0, "write uncompressed layer");
	ok(digest_equal(&rz.diff_id, &rg.diff_id) && digest_equal(&rz.diff_id, &rn.diff_id),
	   "same diff_id whatever the compression");
	ok(digest_equal(&rn.blob, &rn.diff_id), "uncompressed: blob digest is the diff_id");
	ok(cas_verify(c, &rz.blob, &err) == 0 && cas_verify(c, &rg.blob, &err) == 0,
	   "stored blobs match their digests");
	uint64_t sz = 0;
	cas_stat(c, &rz.blob, &sz, NULL);
	is_int(sz, rz.blob_size, "blob size");

	char *names = names_of(c, &rn.blob);
	is_str(names, "a/ a/exec a/file a/hl a/sym b/ b/A b/z fifo",
	       "entries sorted, dirs with '/', socket skipped");
	free(names);

	/* external tools read what we write */
	{
		char hex[200];
		digest_hex(&rg.diff_id, hex);
		char *r2 = cas_blob_relpath(&rg.blob);
		snprintf(cmd, sizeof(cmd), "gzip -dc %s/%s | sha256sum | grep -q %s", store, r2, hex);
		free(r2);
		is_int(sh(cmd), 0, "gzip -dc of the blob hashes to the diff_id");
		r2 = cas_blob_relpath(&rz.blob);
		snprintf(cmd, sizeof(cmd),
			 "command -v zstd >/dev/null || exit 0; zstd -dc %s/%s | sha256sum | grep -q %s",
			 store, r2, hex);
		free(r2);
		is_int(sh(cmd), 0, "zstd -dc of the blob hashes to the diff_id");
	}

	/* determinism and SOURCE_DATE_EPOCH */
	o.compression = LAYER_COMPRESS_ZSTD;
	ok(layer_write_dir(c, tree, &o, &rz2, &err) == 0 && digest_equal(&rz.blob, &rz2.blob),
	   "same tree, same blob digest");
	o.source_date_epoch = 1500000000;
	struct layer_result e1, e2;
	layer_write_dir(c, tree, &o, &e1, &err);
	snprintf(cmd, sizeof(cmd), "touch -h $(find %s)", tree);
	sh(cmd);
	layer_write_dir(c, tree, &o, &e2, &err);
	ok(digest_equal(&e1.blob, &e2.blob), "SOURCE_DATE_EPOCH: touching files keeps the digest");
	ok(!digest_equal(&e1.blob, &rz.blob), "clamped layer differs from unclamped");

	/* apply round trip */
	snprintf(out, sizeof(out), "%s/out", work);
	int fd = -1;
	cas_open(c, &rz.blob, &fd, NULL, NULL);
	struct digest did;
	ok(layer_apply_fd(fd, out, NULL, &did, &err) == 0, "apply zstd layer");
	if (err)
		diag("%s", err_msg(err));
	close(fd);
	ok(digest_equal(&did, &rz.diff_id), "applier computes the same diff_id");
	char p[700], q[700];
	struct stat s1, s2;
	snprintf(p, sizeof(p), "%s/a/file", out);
	snprintf(q, sizeof(q), "%s/a/hl", out);
	ok(stat(p, &s1) == 0 && stat(q, &s2) == 0 && s1.st_ino == s2.st_ino, "hard link kept");
	char v[16] = { 0 };
	ok(getxattr(p, "user.test", v, sizeof(v)) == 2 && memcmp(v, "v1", 2) == 0, "xattr kept");
	is_int(s1.st_mtime, 1600000000, "mtime kept");
	snprintf(p, sizeof(p), "%s/a/exec", out);
	stat(p, &s1);
	is_int(s1.st_mode & 07777, 04755, "setuid mode kept");
	snprintf(p, sizeof(p), "%s/a", out);
	stat(p, &s1);
	is_int(s1.st_mode & 07777, 0750, "dir mode kept");
	is_int(s1.st_mtime, 1600000000, "dir mtime set after its children");
	snprintf(p, sizeof(p), "%s/a/sym", out);
	char lt[64] = { 0 };
	ok(readlink(p, lt, sizeof(lt)) == 4 && str_eq(lt, "file"), "symlink kept");
	snprintf(p, sizeof(p), "%s/fifo", out);
	ok(stat(p, &s1) == 0 && S_ISFIFO(s1.st_mode), "fifo kept");

	/* overlay upper: whiteouts and opaque dirs */
	char up[300];
	snprintf(up, sizeof(up), "%s/upper", work);
	mkdir(up, 0755);
	snprintf(p, sizeof(p), "%s/gone", up);
	bool can_wh = mknod(p, S_IFCHR, makedev(0, 0)) == 0;
	snprintf(p, sizeof(p), "%s/opq", up);
	mkdir(p, 0755);
	bool can_opq = setxattr(p, "trusted.overlay.opaque", "y", 1, 0) == 0 ||
		       setxattr(p, "user.overlay.opaque", "y", 1, 0) == 0;
	snprintf(p, sizeof(p), "%s/opq/new", up);
	put(p, "new", 0644);
	if (!can_wh || !can_opq) {
		diag("cannot create whiteouts here; skipping overlay checks");
	} else {
		struct layer_result ru;
		o.overlay_upper = true;
		o.compression = LAYER_COMPRESS_NONE;
		ok(layer_write_dir(c, up, &o, &ru, &err) == 0, "write layer from an overlay upper dir");
		names = names_of(c, &ru.blob);
		is_str(names, ".wh.gone opq/ opq/.wh..wh..opq opq/new", "whiteout and opaque markers");
		free(names);
		/* apply onto a tree that has gone and opq/old */
		char base[300];
		snprintf(base, sizeof(base), "%s/base", work);
		mkdir(base, 0755);
		snprintf(p, sizeof(p), "%s/gone", base), put(p, "x", 0644);
		snprintf(p, sizeof(p), "%s/opq", base), mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/opq/old", base), put(p, "x", 0644);
		cas_open(c, &ru.blob, &fd, NULL, NULL);
		ok(layer_apply_fd(fd, base, NULL, NULL, &err) == 0, "apply the diff");
		close(fd);
		snprintf(p, sizeof(p), "%s/gone", base);
		ok(access(p, F_OK) != 0, "whiteout deleted the file");
		snprintf(p, sizeof(p), "%s/opq/old", base);
		ok(access(p, F_OK) != 0, "opaque marker emptied the dir");
		snprintf(p, sizeof(p), "%s/opq/new", base);
		ok(access(p, F_OK) == 0, "the layer's own files stay");
		/* overlay lower extraction */
		char low[300];
		snprintf(low, sizeof(low), "%s/lower", work);
		struct layer_apply_opts ao;
		layer_apply_opts_init(&ao);
		ao.mode = LAYER_APPLY_OVERLAY;
		cas_open(c, &ru.blob, &fd, NULL, NULL);
		ok(layer_apply_fd(fd, low, &ao, NULL, &err) == 0, "extract as an overlay lower dir");
		close(fd);
		snprintf(p, sizeof(p), "%s/gone", low);
		ok(lstat(p, &s1) == 0 && S_ISCHR(s1.st_mode) && s1.st_rdev == makedev(0, 0),
		   "whiteout became a char 0/0");
		snprintf(p, sizeof(p), "%s/opq", low);
		ok(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y',
		   "opaque marker became the overlay xattr");
	}
	test_apply_order();
	test_apply_replace();
	err_free(err);
	cas_free(c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
	sh(cmd);
	return tap_done();
}
