/* Compressing uncompressed layers on export (compress.h). */
#include "config.h"

#include "layers/compress.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "common/json.h"
#include "common/util.h"
#include "layers/layer-pipe.h"

#define READ_CHUNK (1u << 20)

int layer_compress_level(enum layer_compression algo, int level)
{
	if (level > 0)
		return level;
	return algo == LAYER_COMPRESS_GZIP ? 6 : algo == LAYER_COMPRESS_ZSTD ? 3 : 0;
}

bool layer_media_type_is_uncompressed(const char *mt)
{
	return str_eq(mt, OCI_MT_LAYER) || str_eq(mt, DOCKER_MT_LAYER);
}

/* One distinct uncompressed layer of the manifest and what it became. */
struct zlayer {
	const struct oci_descriptor *src;
	struct digest blob;
	uint64_t size;
	bool done; /* found in the map, or compressed */
};

struct zpool {
	const struct layer_compress_opts *o;
	struct zlayer *v;
	size_t n, next;
	int threads; /* compression threads of each layer */
	int rc;
	struct err *err;
	pthread_mutex_t lock;
};

static int read_chunk(int fd, unsigned char *buf, size_t n, ssize_t *got, struct err **err)
{
	for (;;) {
		*got = read(fd, buf, n);
		if (*got >= 0)
			return 0;
		if (errno != EINTR)
			return err_sys(err, ERR_IO, errno, "cannot read layer");
	}
}

/* Stream the source blob through the pipeline into a CAS writer. */
static int compress_stream(const struct layer_compress_opts *o, int threads, int fd,
			   struct cas_writer *w, struct progress_item *it, struct layer_result *lr,
			   struct err **err)
{
	int level = layer_compress_level(o->algo, o->level);
	struct lpipe *p = lpipe_new(o->algo, level, threads, w, -1);
	cleanup_free unsigned char *buf = xmalloc(READ_CHUNK);
	int r = 0;
	for (;;) {
		ssize_t n = 0;
		if ((r = read_chunk(fd, buf, READ_CHUNK, &n, err)) < 0 || n == 0)
			break;
		if ((r = lpipe_write(p, buf, (size_t)n, err)) < 0)
			break;
		progress_item_advance(it, (uint64_t)n);
	}
	if (r == 0)
		r = lpipe_finish(p, lr, err);
	lpipe_free(p);
	return r;
}

static int compress_one(const struct layer_compress_opts *o, int threads, struct zlayer *z,
			struct err **err)
{
	const struct oci_descriptor *src = z->src;
	char ds[DIGEST_MAX_STRING], hex[DIGEST_MAX_STRING];
	digest_format(&src->digest, ds);
	digest_hex(&src->digest, hex);
	hex[12] = '\0';
	struct progress_item *it = progress_item_add(o->progress, hex, "compress",
						     src->size > 0 ? (uint64_t)src->size : 0);
	cleanup_close int fd = -1;
	int r = o->open != NULL ? o->open(o->open_ctx, src, &fd, err) :
				  cas_open(o->src, &src->digest, &fd, NULL, err);
	struct cas_writer *w = NULL;
	if (r == 0)
		r = cas_writer_new(&w, o->dst, DIGEST_SHA256, NULL, err);
	struct layer_result lr;
	memset(&lr, 0, sizeof(lr));
	if (r == 0)
		r = compress_stream(o, threads, fd, w, it, &lr, err);
	/* The bytes read are the tar the digest names: check them, so that a
	 * corrupt store never turns into a registry blob with a wrong diff_id. */
	if (r == 0 && (lr.tar_size != (uint64_t)src->size ||
		       (src->digest.algo == DIGEST_SHA256 && !digest_equal(&lr.diff_id, &src->digest)))) {
		char gs[DIGEST_MAX_STRING];
		r = err_set(err, ERR_DIGEST, "layer %s: its content (%s, %llu bytes) does not match", ds,
			    digest_format(&lr.diff_id, gs), (unsigned long long)lr.tar_size);
	}
	if (r < 0) {
		cas_writer_abort(w);
		progress_item_fail(it, err_msg(*err));
		return err_wrap(err, "cannot compress layer %s", ds);
	}
	if ((r = cas_writer_commit(w, NULL, (int64_t)lr.blob_size, &z->blob, &z->size, err)) < 0 ||
	    (o->map != NULL && (r = store_zmap_put(o->map, &src->digest, o->algo,
						   layer_compress_level(o->algo, o->level), &z->blob,
						   z->size, err)) < 0)) {
		progress_item_fail(it, err_msg(*err));
		return err_wrap(err, "cannot compress layer %s", ds);
	}
	z->done = true;
	progress_item_done(it, layer_compression_name(o->algo));
	return 0;
}

static void *zpool_worker(void *arg)
{
	struct zpool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->rc == 0 && p->next < p->n && p->v[p->next].done)
			p->next++;
		if (p->rc < 0 || p->next >= p->n) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		struct zlayer *z = &p->v[p->next++];
		pthread_mutex_unlock(&p->lock);
		struct err *e = NULL;
		if (compress_one(p->o, p->threads, z, &e) < 0) {
			pthread_mutex_lock(&p->lock);
			if (p->rc == 0) {
				p->rc = err_code(e);
				p->err = steal_pointer(&e);
			}
			pthread_mutex_unlock(&p->lock);
			err_free(e);
		}
	}
}

/* Compress the layers not done yet, o->jobs at once sharing the CPUs. */
static int compress_all(const struct layer_compress_opts *o, struct zlayer *v, size_t n,
			struct err **err)
{
	size_t todo = 0;
	for (size_t i = 0; i < n; i++)
		todo += !v[i].done;
	if (todo == 0)
		return 0;
	size_t jobs = o->jobs > 0 ? o->jobs : 4;
	if (jobs > todo)
		jobs = todo;
	int cpus = layer_online_cpus();
	struct zpool p = { .o = o, .v = v, .n = n, .threads = cpus / (int)jobs };
	if (p.threads < 1)
		p.threads = 1;
	pthread_mutex_init(&p.lock, NULL);
	run_on_threads(jobs, zpool_worker, &p);
	pthread_mutex_destroy(&p.lock);
	if (p.rc < 0)
		err_move(err, &p.err);
	return p.rc;
}

/* The media type a layer of type mt gets once compressed with algo, or
 * NULL when the manifest format has none. */
static const char *compressed_media_type(const char *mt, enum layer_compression algo)
{
	if (str_eq(mt, DOCKER_MT_LAYER))
		return algo == LAYER_COMPRESS_GZIP ? DOCKER_MT_LAYER_GZIP : NULL;
	return layer_media_type(algo);
}

/* Write the results into the manifest's JSON. */
static int rewrite_manifest(const struct layer_compress_opts *o, const char *raw, size_t len,
			    const struct zlayer *v, size_t n, char **out, size_t *out_len,
			    struct err **err)
{
	cleanup_json json_t *j = NULL;
	if (jx_load_buffer(&j, raw, len, "manifest", 0, err) < 0)
		return err_code(*err);
	json_t *layers = json_object_get(j, "layers");
	for (size_t i = 0; i < json_array_size(layers); i++) {
		json_t *l = json_array_get(layers, i);
		const char *mt = json_string_value(json_object_get(l, "mediaType"));
		const char *ds = json_string_value(json_object_get(l, "digest"));
		struct digest d;
		if (!layer_media_type_is_uncompressed(mt) || ds == NULL || digest_parse(&d, ds, NULL) < 0)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (!digest_equal(&v[k].src->digest, &d))
				continue;
			char bs[DIGEST_MAX_STRING];
			json_object_set_new(l, "mediaType",
					    json_string(compressed_media_type(mt, o->algo)));
			json_object_set_new(l, "digest", json_string(digest_format(&v[k].blob, bs)));
			json_object_set_new(l, "size", json_integer((json_int_t)v[k].size));
			break;
		}
	}
	return jx_dump(out, out_len, j, 0, err);
}

int layer_compress_manifest(const struct layer_compress_opts *o, const char *raw, size_t len,
			    char **out, size_t *out_len, struct err **err)
{
	*out = NULL;
	*out_len = 0;
	if (o->algo == LAYER_COMPRESS_NONE)
		return 0;
	cleanup_manifest struct oci_manifest m = { 0 };
	if (oci_manifest_parse(&m, raw, len, err) < 0)
		return err_code(*err);
	/* One entry per distinct uncompressed layer (a manifest may repeat one). */
	struct zlayer *v = xcalloc(m.n_layers + 1, sizeof(*v));
	size_t n = 0;
	int r = 0;
	int level = layer_compress_level(o->algo, o->level);
	for (size_t i = 0; r == 0 && i < m.n_layers; i++) {
		const struct oci_descriptor *l = &m.layers[i];
		if (!layer_media_type_is_uncompressed(l->media_type))
			continue;
		if (compressed_media_type(l->media_type, o->algo) == NULL) {
			r = err_set(err, ERR_UNSUPPORTED,
				    "a Docker manifest has no media type for %s layers: build with "
				    "--format oci, or use gzip",
				    layer_compression_name(o->algo));
			break;
		}
		if (l->size < 0) {
			r = err_set(err, ERR_INVALID, "manifest: layer %zu has a negative size", i);
			break;
		}
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = digest_equal(&v[k].src->digest, &l->digest);
		if (seen)
			continue;
		v[n].src = l;
		v[n].done = o->map != NULL && store_zmap_get(o->map, &l->digest, o->algo, level,
							     &v[n].blob, &v[n].size) == 0;
		n++;
	}
	if (r == 0 && n > 0 && (r = compress_all(o, v, n, err)) == 0)
		r = rewrite_manifest(o, raw, len, v, n, out, out_len, err);
	free(v);
	return r;
}

int layer_compress_index_update(const char *raw, size_t len, const struct oci_descriptor *from,
				const struct oci_descriptor *to, size_t n, char **out,
				size_t *out_len, struct err **err)
{
	*out = NULL;
	cleanup_json json_t *j = NULL;
	if (jx_load_buffer(&j, raw, len, "index", 0, err) < 0)
		return err_code(*err);
	json_t *list = json_object_get(j, "manifests");
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *e = json_array_get(list, i);
		const char *ds = json_string_value(json_object_get(e, "digest"));
		struct digest d;
		if (ds == NULL || digest_parse(&d, ds, NULL) < 0)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (!digest_equal(&from[k].digest, &d))
				continue;
			char ts[DIGEST_MAX_STRING];
			if (to[k].media_type != NULL)
				json_object_set_new(e, "mediaType", json_string(to[k].media_type));
			json_object_set_new(e, "digest", json_string(digest_format(&to[k].digest, ts)));
			json_object_set_new(e, "size", json_integer((json_int_t)to[k].size));
			break;
		}
	}
	return jx_dump(out, out_len, j, 0, err);
}
