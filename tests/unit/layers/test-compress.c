/* Compressing uncompressed layers on export (layers/compress.h): results
 * that decompress to the diff_ids, the same bytes as the layer writer and
 * whatever the parallelism, the store's map and its gc, refusals. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/util.h"
#include "layers/compress.h"
#include "layers/store.h"
#include "tests/tap.h"

static char tmp[256];

/* A small tree DIR/N with a few files of n KiB each. */
static void make_tree(const char *dir, int n)
{
	mkdir(dir, 0755);
	char *buf = xmalloc((size_t)n * 1024);
	uint64_t x = 88172645463325252ull + (uint64_t)n;
	for (int f = 0; f < 4; f++) {
		for (int i = 0; i < n * 1024; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[i] = (char)(x % 5 == 0 ? (char)x : 'a' + (char)(i % 7));
		}
		char p[512];
		snprintf(p, sizeof(p), "%s/f%d", dir, f);
		int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		write_all(fd, buf, (size_t)n * 1024);
		close(fd);
	}
	free(buf);
}

/* Write DIR as a layer with comp into s. */
static struct layer_result write_layer(struct store *s, const char *dir,
				       enum layer_compression comp)
{
	struct layer_write_opts o;
	layer_write_opts_init(&o);
	o.compression = comp;
	o.source_date_epoch = 0;
	struct layer_result lr;
	struct err *err = NULL;
	if (layer_write_dir(store_cas(s), dir, &o, &lr, &err) < 0)
		diag("%s", err_msg(err));
	err_free(err);
	return lr;
}

/* An image of the uncompressed layers of trees a, b, and a again, tagged
 * name (mt: the manifest's media type); *raw gets its manifest. */
static void make_image(struct store *s, const char *name, const char *mt, char **raw,
		       size_t *len, struct layer_result *lr)
{
	struct oci_manifest m;
	memset(&m, 0, sizeof(m));
	m.media_type = (char *)mt;
	struct oci_config c;
	memset(&c, 0, sizeof(c));
	c.platform.architecture = xstrdup("amd64");
	c.platform.os = xstrdup("linux");
	struct oci_descriptor l[3];
	memset(l, 0, sizeof(l));
	bool docker = str_eq(mt, DOCKER_MT_MANIFEST);
	for (int i = 0; i < 3; i++) {
		const struct layer_result *r = &lr[i == 2 ? 0 : i];
		l[i].media_type = (char *)(docker ? DOCKER_MT_LAYER : OCI_MT_LAYER);
		l[i].digest = r->blob;
		l[i].size = (int64_t)r->blob_size;
		oci_config_add_diff_id(&c, &r->diff_id);
	}
	m.layers = l;
	m.n_layers = 3;
	struct oci_descriptor d;
	struct err *err = NULL;
	if (store_commit_image(s, name, &m, &c, &d, &err) < 0)
		diag("%s", err_msg(err));
	cas_read_all(store_cas(s), &d.digest, 1 << 20, raw, len, &err);
	err_free(err);
	oci_descriptor_release(&d);
	oci_config_release(&c);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

static int opens;

/* An open callback that counts, reading from the store. */
static int counting_open(void *ctx, const struct oci_descriptor *d, int *fd, struct err **err)
{
	opens++;
	return cas_open(store_cas(ctx), &d->digest, fd, NULL, err);
}

/* An open callback giving other bytes than the descriptor names. */
static int lying_open(void *ctx, const struct oci_descriptor *d, int *fd, struct err **err)
{
	(void)d;
	char p[512];
	snprintf(p, sizeof(p), "%s/lie", (const char *)ctx);
	*fd = open(p, O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? err_sys(err, ERR_IO, errno, "open") : 0;
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "%s/bale-compress-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmp) == NULL)
		tap_skip_all("no temp dir");
	struct err *err = NULL;
	char p[512], q[512];
	snprintf(p, sizeof(p), "%s/a", tmp);
	make_tree(p, 1500);
	snprintf(q, sizeof(q), "%s/b", tmp);
	make_tree(q, 3);

	snprintf(p, sizeof(p), "%s/s1", tmp);
	struct store *s1 = NULL;
	ok(store_open(&s1, p, &err) == 0, "open a store");
	snprintf(p, sizeof(p), "%s/a", tmp);
	struct layer_result lr[2];
	lr[0] = write_layer(s1, p, LAYER_COMPRESS_NONE);
	lr[1] = write_layer(s1, q, LAYER_COMPRESS_NONE);
	ok(digest_equal(&lr[0].blob, &lr[0].diff_id), "an uncompressed layer's digest is its diff_id");
	cleanup_free char *raw = NULL;
	size_t len = 0;
	make_image(s1, "app:1", OCI_MT_MANIFEST, &raw, &len, lr);

	/* gzip, one layer at a time, one thread each. */
	opens = 0;
	struct layer_compress_opts o = { .algo = LAYER_COMPRESS_GZIP, .jobs = 1, .open = counting_open,
					 .open_ctx = s1, .dst = store_cas(s1), .map = s1 };
	cleanup_free char *z1 = NULL;
	size_t z1len = 0;
	ok(layer_compress_manifest(&o, raw, len, &z1, &z1len, &err) == 0 && z1 != NULL,
	   "compress a manifest's layers");
	is_int(opens, 2, "each distinct layer is read once (one is there twice)");
	struct oci_manifest m;
	memset(&m, 0, sizeof(m));
	ok(oci_manifest_parse(&m, z1, z1len, NULL) == 0, "the new manifest parses");
	int gz = 0, match = 0;
	for (size_t i = 0; i < m.n_layers; i++) {
		gz += str_eq(m.layers[i].media_type, OCI_MT_LAYER_GZIP);
		cleanup_close int fd = -1;
		struct digest diff;
		snprintf(p, sizeof(p), "%s/x%zu", tmp, i);
		if (cas_open(store_cas(s1), &m.layers[i].digest, &fd, NULL, NULL) == 0 &&
		    layer_apply_fd(fd, p, NULL, &diff, NULL) == 0)
			match += digest_equal(&diff, &lr[i == 2 ? 0 : i].diff_id);
	}
	is_int(gz, 3, "its layers are gzip");
	is_int(match, 3, "and decompress to the diff_ids");
	like(z1, "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\"",
	     "the config is kept");

	/* The layer writer makes the same gzip bytes. */
	snprintf(p, sizeof(p), "%s/a", tmp);
	struct layer_result w = write_layer(s1, p, LAYER_COMPRESS_GZIP);
	ok(digest_equal(&w.blob, &m.layers[0].digest), "the same blob as a layer written gzip");

	/* Again: the map answers, nothing is read. */
	opens = 0;
	cleanup_free char *z2 = NULL;
	size_t z2len = 0;
	ok(layer_compress_manifest(&o, raw, len, &z2, &z2len, &err) == 0 && z2 != NULL &&
		   z2len == z1len && memcmp(z1, z2, z1len) == 0,
	   "a second export gives the same manifest");
	is_int(opens, 0, "from the map, without reading a layer");
	snprintf(p, sizeof(p), "%s/s1/compressed/gzip-6", tmp);
	is_int(count_files(p), 2, "the map has one entry per layer");

	/* Another store, all layers at once: the same bytes. */
	snprintf(p, sizeof(p), "%s/s2", tmp);
	struct store *s2 = NULL;
	store_open(&s2, p, &err);
	snprintf(p, sizeof(p), "%s/a", tmp);
	struct layer_result lr2[2];
	lr2[0] = write_layer(s2, p, LAYER_COMPRESS_NONE);
	lr2[1] = write_layer(s2, q, LAYER_COMPRESS_NONE);
	cleanup_free char *raw2 = NULL;
	size_t len2 = 0;
	make_image(s2, "app:1", OCI_MT_MANIFEST, &raw2, &len2, lr2);
	struct layer_compress_opts o2 = { .algo = LAYER_COMPRESS_GZIP, .jobs = 8,
					  .src = store_cas(s2), .dst = store_cas(s2) };
	cleanup_free char *z3 = NULL;
	size_t z3len = 0;
	ok(layer_compress_manifest(&o2, raw2, len2, &z3, &z3len, &err) == 0 && z3len == z1len &&
		   memcmp(z1, z3, z1len) == 0,
	   "in parallel, without a map: the same manifest");
	snprintf(p, sizeof(p), "%s/s2/compressed", tmp);
	ok(access(p, F_OK) != 0, "no map without o.map");

	/* zstd, then gc. */
	uint64_t bsize = 0;
	o.algo = LAYER_COMPRESS_ZSTD;
	cleanup_free char *z4 = NULL;
	size_t z4len = 0;
	ok(layer_compress_manifest(&o, raw, len, &z4, &z4len, &err) == 0 && z4 != NULL &&
		   strstr(z4, OCI_MT_LAYER_ZSTD) != NULL,
	   "zstd");
	snprintf(p, sizeof(p), "%s/s1/compressed/gzip-6/junk.tmp", tmp);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	struct digest unused;
	cas_ingest_buffer(store_cas(s1), "unused", 6, 0, &unused, NULL);
	size_t removed = 0;
	ok(store_gc(s1, 0, false, NULL, &removed, NULL, &err) == 0, "gc");
	is_int(removed, 1, "keeps the compressed blobs of a kept image (removes an unused blob)");
	ok(store_zmap_get(s1, &lr[0].blob, LAYER_COMPRESS_ZSTD, 3, &unused, &bsize) == 0,
	   "the map still answers");
	snprintf(p, sizeof(p), "%s/s1/compressed/gzip-6", tmp);
	is_int(count_files(p), 2, "keeps their entries, drops junk");
	bool last = false;
	store_untag(s1, "app:1", &last, NULL);
	ok(store_gc(s1, 0, false, NULL, &removed, NULL, &err) == 0, "gc after the image went");
	snprintf(p, sizeof(p), "%s/s1/blobs/sha256", tmp);
	is_int(count_files(p), 0, "every blob is gone, compressed ones too");
	snprintf(p, sizeof(p), "%s/s1/compressed/gzip-6", tmp);
	snprintf(q, sizeof(q), "%s/s1/compressed/zstd-3", tmp);
	is_int(count_files(p) + count_files(q), 0, "and every map entry");
	struct digest blob;
	is_int(store_zmap_get(s1, &lr[0].blob, LAYER_COMPRESS_GZIP, 6, &blob, &bsize), ERR_NOTFOUND,
	       "a lookup finds nothing");

	/* Refusals. */
	cleanup_free char *draw = NULL;
	size_t dlen = 0;
	make_image(s2, "docker:1", DOCKER_MT_MANIFEST, &draw, &dlen, lr2);
	o2.algo = LAYER_COMPRESS_ZSTD;
	cleanup_free char *z5 = NULL;
	size_t z5len = 0;
	is_int(layer_compress_manifest(&o2, draw, dlen, &z5, &z5len, &err), ERR_UNSUPPORTED,
	       "zstd in a Docker manifest is refused");
	like(err_msg(err), "Docker manifest", "saying why");
	err_free(err);
	err = NULL;
	o2.algo = LAYER_COMPRESS_GZIP;
	ok(layer_compress_manifest(&o2, draw, dlen, &z5, &z5len, &err) == 0 &&
		   strstr(z5, DOCKER_MT_LAYER_GZIP) != NULL,
	   "gzip in a Docker manifest: Docker's gzip media type");
	free(z5);
	z5 = NULL;
	snprintf(p, sizeof(p), "%s/lie", tmp);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	o2.open = lying_open;
	o2.open_ctx = tmp;
	o2.algo = LAYER_COMPRESS_ZSTD;
	is_int(layer_compress_manifest(&o2, raw2, len2, &z5, &z5len, &err), ERR_DIGEST,
	       "a layer whose bytes do not match its digest is refused");
	err_free(err);
	err = NULL;
	o2.algo = LAYER_COMPRESS_NONE;
	ok(layer_compress_manifest(&o2, raw2, len2, &z5, &z5len, &err) == 0 && z5 == NULL,
	   "none changes nothing");

	oci_manifest_release(&m);
	store_free(s1);
	store_free(s2);
	remove_tree(tmp);
	return tap_done();
}
