/* The local store: layout files, names, lookups, locks and gc. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"
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
	ok(store_gc(s, 0, false, &removed, NULL, &err) == 0 && removed == 0, "gc keeps referenced blobs");
	ok(store_untag(s, "app:2", &last, &err) == 0 && last, "untag the last name");
	ok(store_gc(s, 0, false, &removed, NULL, &err) == 0 && removed == 3, "gc removes manifest, config, layer");
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
	is_int(store_gc(s, 0, false, NULL, NULL, &err), ERR_BUSY, "gc refuses while another process has the store open");
	err_freep(&err);
	ok(store_gc(s, 0, true, NULL, NULL, &err) == 0, "gc waits for it when asked");
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
	oci_descriptor_release(&d1);
	oci_descriptor_release(&d2);
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
