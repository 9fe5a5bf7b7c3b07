/* The local store: layout files, names, lookups, locks and gc. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"
#include "layers/archive.h"
#include "layers/layer.h"
#include "layers/store.h"
#include "tests/tap.h"

static char root[256];

static int make_image(struct store *s, const char *name, const char *layer, struct oci_descriptor *out)
{
	struct err *err = NULL;
	struct oci_manifest m;
	memset(&m, 0, sizeof(m));
	struct oci_config c;
	memset(&c, 0, sizeof(c));
	c.platform.architecture = xstrdup("amd64");
	c.platform.os = xstrdup("linux");
	struct oci_descriptor l;
	memset(&l, 0, sizeof(l));
	l.media_type = (char *)OCI_MT_LAYER;
	l.size = (int64_t)strlen(layer);
	cas_ingest_buffer(store_cas(s), layer, strlen(layer), 0, &l.digest, &err);
	oci_config_add_diff_id(&c, &l.digest);
	m.layers = &l;
	m.n_layers = 1;
	int r = store_commit_image(s, name, &m, &c, out, &err);
	if (r < 0)
		diag("%s", err_msg(err));
	err_free(err);
	oci_config_release(&c);
	return r;
}

static int count_blobs(void)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/blobs/sha256", root);
	DIR *d = opendir(p);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A 2-platform index (this machine's and s390x-or-riscv64) tagged name. */
static void make_index(struct store *s, const char *name, struct oci_descriptor *ix_out,
		       struct oci_descriptor *host_out)
{
	struct oci_descriptor m[2];
	struct oci_platform p[2] = {
		{ .architecture = (char *)store_goarch(), .os = (char *)"linux" },
		{ .architecture = (char *)(str_eq(store_goarch(), "s390x") ? "riscv64" : "s390x"),
		  .os = (char *)"linux" },
	};
	make_image(s, NULL, "layer of the host image", &m[0]);
	make_image(s, NULL, "layer of the other image", &m[1]);
	m[0].platform = &p[0];
	m[1].platform = &p[1];
	struct oci_index ix = { .media_type = (char *)OCI_MT_INDEX, .manifests = m, .n_manifests = 2 };
	char *text = NULL;
	size_t len = 0;
	struct err *err = NULL;
	oci_index_dump(&text, &len, &ix, &err);
	memset(ix_out, 0, sizeof(*ix_out));
	ix_out->media_type = xstrdup(OCI_MT_INDEX);
	ix_out->size = (int64_t)len;
	cas_ingest_buffer(store_cas(s), text, len, DIGEST_SHA256, &ix_out->digest, &err);
	ok(store_tag(s, name, ix_out, &err) == 0, "tag a 2-platform index");
	free(text);
	err_free(err);
	m[0].platform = m[1].platform = NULL;
	*host_out = m[0];
	oci_descriptor_release(&m[1]);
}

/* Save with opts, load into a new store at sub, look up want there. */
static int save_load(struct store *s, const char *ref, const struct store_save_opts *o,
		     const char *sub, const char *want, struct store_image *im, char ***names)
{
	char path[512], dir[512];
	snprintf(path, sizeof(path), "%s/%s.tar", root, sub);
	snprintf(dir, sizeof(dir), "%s/%s", root, sub);
	struct err *err = NULL;
	char *refs[] = { (char *)ref, NULL };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = store_save_with(s, refs, 1, o, fd, &err);
	close(fd);
	struct store *t = NULL;
	if (r == 0 && (r = store_open(&t, dir, &err)) == 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		r = store_load_archive(t, fd, names, &err);
		close(fd);
		if (r == 0)
			r = store_lookup(t, want, im, &err);
		store_free(t);
	}
	if (r < 0)
		diag("%s", err_msg(err));
	err_free(err);
	return r;
}

static void test_save_index(struct store *s)
{
	struct oci_descriptor ix, host;
	make_index(s, "multi:1", &ix, &host);
	struct store_image im = { 0 };
	char **names = NULL;
	struct store_save_opts o = { .format = ARCHIVE_FORMAT_OCI, .all = true, .ref_name = "v1" };
	ok(save_load(s, "multi:1", &o, "all", "v1:latest", &im, &names) == 0,
	   "save --all as v1, load: found as v1:latest");
	ok(digest_equal(&im.desc.digest, &ix.digest), "the whole index came back");
	is_str(names != NULL ? names[0] : NULL, "v1:latest", "load reports the name");
	store_image_release(&im);
	strv_free(names);
	names = NULL;
	o.all = false;
	o.ref_name = NULL;
	ok(save_load(s, "multi:1", &o, "one", "multi:1", &im, &names) == 0,
	   "save without all keeps the store name");
	ok(digest_equal(&im.desc.digest, &host.digest), "and one platform: this machine's");
	store_image_release(&im);
	strv_free(names);

	struct err *err = NULL;
	char *refs[] = { (char *)"multi:1", (char *)"multi:1", NULL };
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	o.format = ARCHIVE_FORMAT_DOCKER;
	o.all = true;
	is_int(store_save_with(s, refs, 1, &o, fd, &err), ERR_UNSUPPORTED,
	       "docker-archive refuses a whole index");
	like(err_msg(err), "docker-archive holds one platform", "and says why");
	err_freep(&err);
	o.all = false;
	ok(store_save_with(s, refs, 1, &o, fd, &err) == 0, "docker-archive of one platform is fine");
	o.format = ARCHIVE_FORMAT_OCI;
	o.ref_name = "v1";
	is_int(store_save_with(s, refs, 2, &o, fd, &err), ERR_INVALID, "one ref_name for two images");
	err_freep(&err);
	close(fd);
	oci_descriptor_release(&ix);
	oci_descriptor_release(&host);
}

static bool exists(const char *dir, const char *name)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static int count_entries(const char *sub)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, sub);
	DIR *d = opendir(p);
	int n = 0;
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

/* Extracted layers: made once, checked against the config's diff_id,
 * adopted from an upper dir, swept by gc with the images. */
static void test_extracted(struct store *s)
{
	struct err *err = NULL;
	char tree[512];
	snprintf(tree, sizeof(tree), "%s/tree", root);
	mkdir(tree, 0755);
	char f[600];
	snprintf(f, sizeof(f), "%s/hello", tree);
	int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	write_all(fd, "hi\n", 3);
	close(fd);
	struct layer_write_opts wo;
	layer_write_opts_init(&wo);
	wo.compression = LAYER_COMPRESS_GZIP;
	struct layer_result lr;
	ok(layer_write_dir(store_cas(s), tree, &wo, &lr, &err) == 0, "write a gzip layer");
	struct oci_descriptor desc = { .media_type = (char *)OCI_MT_LAYER_GZIP,
				       .digest = lr.blob, .size = (int64_t)lr.blob_size };

	char *dir = NULL;
	struct digest wrong = lr.blob; /* the compressed digest: not the diff_id */
	is_int(store_layer_dir(s, &desc, &wrong, &dir, &err), ERR_DIGEST,
	       "a config diff_id the tar does not hash to is refused");
	like(err_msg(err), "the image config says", "  saying which digests differ");
	err_freep(&err);
	is_int(count_entries("extracted/sha256") + count_entries("extracted/tmp"), 0,
	       "  and nothing is kept");

	ok(store_layer_dir(s, &desc, &lr.diff_id, &dir, &err) == 0, "extract a layer");
	ok(dir != NULL && exists(dir, "hello"), "  its files are there");
	struct stat st1, st2;
	stat(dir, &st1);
	char *again = NULL;
	ok(store_layer_dir(s, &desc, &lr.diff_id, &again, &err) == 0 && str_eq(dir, again),
	   "the second call finds the same dir");
	stat(again, &st2);
	ok(st1.st_ino == st2.st_ino, "  without extracting again");
	free(again);

	/* Adopt: an upper dir becomes the extracted dir of its layer. */
	char upper[512];
	snprintf(upper, sizeof(upper), "%s/upper", root);
	mkdir(upper, 0755);
	struct digest other;
	digest_buffer(&other, DIGEST_SHA256, "other", 5);
	ok(store_layer_dir_adopt(s, &other, upper), "adopt an upper dir");
	ok(access(upper, F_OK) < 0, "  it moved");
	mkdir(upper, 0755);
	ok(!store_layer_dir_adopt(s, &lr.diff_id, upper), "a layer with a dir keeps it");
	ok(access(upper, F_OK) == 0, "  the offered dir stays where it was");
	rmdir(upper);

	/* gc: dirs no image lists go (the layer's blob is not in an image);
	 * a dir of a tagged image's diff_id stays. */
	is_int(count_entries("extracted/sha256"), 2, "two extracted dirs");
	ok(store_gc(s, 0, false, NULL, NULL, NULL, &err) == 0, "gc");
	is_int(count_entries("extracted/sha256"), 0, "  removes the dirs no image lists");
	/* (and the layer's blob: write it again) */
	ok(layer_write_dir(store_cas(s), tree, &wo, &lr, &err) == 0, "write the layer again");
	struct oci_descriptor im;
	struct oci_manifest m = { .layers = &desc, .n_layers = 1 };
	struct oci_config c;
	memset(&c, 0, sizeof(c));
	c.platform.architecture = xstrdup("amd64");
	c.platform.os = xstrdup("linux");
	oci_config_add_diff_id(&c, &lr.diff_id);
	ok(store_commit_image(s, "extracted:1", &m, &c, &im, &err) == 0, "tag an image of the layer");
	free(dir);
	dir = NULL;
	ok(store_layer_dir(s, &desc, &lr.diff_id, &dir, &err) == 0, "extract it again");
	ok(store_gc(s, 0, false, NULL, NULL, NULL, &err) == 0 && dir != NULL && exists(dir, "hello"),
	   "gc keeps the dir of a tagged image's layer");
	bool last;
	store_untag(s, "extracted:1", &last, &err);
	ok(store_gc(s, 0, false, NULL, NULL, NULL, &err) == 0 && dir != NULL && access(dir, F_OK) < 0,
	   "and removes it with the image");
	free(dir);
	oci_config_release(&c);
	oci_descriptor_release(&im);
	err_free(err);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/test-store.XXXXXX");
	mkdtemp(root);
	struct err *err = NULL;
	struct store *s = NULL;
	ok(store_open(&s, root, &err) == 0, "open a new store");
	struct buf b;
	buf_init(&b, 4096);
	char p[512];
	snprintf(p, sizeof(p), "%s/oci-layout", root);
	buf_read_file(&b, AT_FDCWD, p, NULL);
	is_str(buf_str(&b), "{\"imageLayoutVersion\":\"1.0.0\"}", "oci-layout written");
	buf_release(&b);

	struct oci_descriptor d1, d2;
	ok(make_image(s, "app:1", "layer-one", &d1) == 0, "commit app:1");
	ok(make_image(s, "docker.io/library/busybox", "layer-two", &d2) == 0, "commit busybox");
	snprintf(p, sizeof(p), "%s/index.json", root);
	buf_init(&b, 1 << 20);
	buf_read_file(&b, AT_FDCWD, p, NULL);
	like(buf_str(&b), "\"org.opencontainers.image.ref.name\":\"app:1\"", "index.json names app:1");
	like(buf_str(&b), "\"org.opencontainers.image.ref.name\":\"busybox:latest\"",
	     "normalized names are stored in short form");
	buf_release(&b);

	struct store_image im;
	ok(store_lookup(s, "busybox", &im, &err) == 0 && digest_equal(&im.desc.digest, &d2.digest),
	   "lookup by short name");
	store_image_release(&im);
	ok(store_lookup(s, "docker.io/library/busybox:latest", &im, &err) == 0, "lookup by full name");
	store_image_release(&im);
	struct store_loaded l;
	ok(store_load(s, &d1, &l, &err) == 0, "load");
	char hex[200];
	digest_hex(&l.manifest.config.digest, hex);
	hex[12] = '\0';
	ok(store_lookup(s, hex, &im, &err) == 0 && str_eq(im.name, "app:1"), "lookup by image id prefix");
	store_image_release(&im);
	store_loaded_release(&l);
	is_int(store_lookup(s, "nope:1", &im, &err), ERR_NOTFOUND, "unknown name");
	err_freep(&err);

	ok(store_tag(s, "app:2", &d1, &err) == 0, "tag");
	bool last = true;
	ok(store_untag(s, "app:1", &last, &err) == 0 && !last, "untag one of two names");
	int before = count_blobs();
	size_t removed = 0;
	ok(store_gc(s, 0, false, NULL, &removed, NULL, &err) == 0 && removed == 0, "gc keeps referenced blobs");
	ok(store_untag(s, "app:2", &last, &err) == 0 && last, "untag the last name");
	ok(store_gc(s, 0, false, NULL, &removed, NULL, &err) == 0 && removed == 3, "gc removes manifest, config, layer");
	is_int(count_blobs(), before - 3, "blobs gone from disk");

	/* a name moving leaves the old image dangling */
	ok(make_image(s, "busybox", "layer-three", NULL) == 0, "retag busybox to a new image");
	struct store_image *v = NULL;
	size_t n = 0;
	store_list(s, &v, &n, &err);
	is_int(n, 2, "two entries");
	ok(v[0].name == NULL || v[1].name == NULL, "the old one is dangling");
	store_images_free(v, n);
	ok(store_remove_dangling(s, &n, &err) == 0 && n == 1, "remove dangling");

	/* another process holding the store blocks gc */
	pid_t pid = fork();
	if (pid == 0) {
		struct store *s2 = NULL;
		store_open(&s2, root, NULL);
		sleep(2);
		store_free(s2);
		_exit(0);
	}
	usleep(500000);
	is_int(store_gc(s, 0, false, NULL, NULL, NULL, &err), ERR_BUSY, "gc refuses while another process has the store open");
	err_freep(&err);
	ok(store_gc(s, 0, true, NULL, NULL, NULL, &err) == 0, "gc waits for it when asked");
	waitpid(pid, NULL, 0);

	/* concurrent tagging from several processes loses nothing */
	store_lookup(s, "busybox", &im, &err);
	oci_descriptor_release(&d2);
	oci_descriptor_copy(&d2, &im.desc);
	store_image_release(&im);
	for (int i = 0; i < 8; i++) {
		if (fork() == 0) {
			struct store *s2 = NULL;
			char name[32];
			snprintf(name, sizeof(name), "conc:%d", i);
			if (store_open(&s2, root, NULL) < 0 || store_tag(s2, name, &d2, NULL) < 0)
				_exit(1);
			store_free(s2);
			_exit(0);
		}
	}
	int fails = 0, st;
	while (wait(&st) > 0)
		fails += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	is_int(fails, 0, "8 processes tag at once");
	store_list(s, &v, &n, &err);
	int conc = 0;
	for (size_t i = 0; i < n; i++)
		conc += v[i].name != NULL && str_has_prefix(v[i].name, "conc:");
	is_int(conc, 8, "all 8 names are in index.json");
	store_images_free(v, n);
	test_extracted(s);
	oci_descriptor_release(&d1);
	oci_descriptor_release(&d2);
	test_save_index(s);
	store_free(s);

	char *r = NULL;
	setenv("BALE_ROOT", "/x/y", 1);
	store_root_resolve(&r, NULL, NULL);
	is_str(r, "/x/y", "BALE_ROOT is honoured");
	free(r);
	store_root_resolve(&r, "/flag", NULL);
	is_str(r, "/flag", "--root wins over BALE_ROOT");
	free(r);
	unsetenv("BALE_ROOT");
	store_root_resolve(&r, NULL, NULL);
	is_str(r, geteuid() == 0 ? "/var/lib/bale" : r, "default root");
	free(r);
	if (fork() == 0) {
		execlp("rm", "rm", "-rf", root, (char *)NULL);
		_exit(1);
	}
	wait(NULL);
	return tap_done();
}
