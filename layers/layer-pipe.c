/* The compression pipeline (layer-pipe.h).
 *
 * The producer (the tar writer) fills 1 MiB chunks in a ring. gzip: worker
 * threads deflate chunks independently (raw deflate, the previous chunk's
 * last 32 KiB as dictionary, Z_SYNC_FLUSH between chunks), and the sink
 * thread writes them in order inside one gzip member, combining CRCs: a
 * standard gzip stream made on all cores, as pigz makes it. zstd: the sink
 * thread feeds one stream whose compression the library spreads over its
 * own workers. none: the sink writes the chunks as they are. The ring bounds
 * memory whatever the layer size. */
#include "config.h"

#include "layers/layer-pipe.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/util.h"

#define CHUNK_SIZE (1u << 20)
#define DICT_SIZE 32768u
/* An uncompressed tar: writes this large skip the ring and go straight to
 * the sink, so file data is copied once (into the page cache) while it is
 * still in the CPU's cache; smaller ones (headers) are gathered. */
#define DIRECT_MIN (64u << 10)

enum slot_state { SLOT_FREE, SLOT_FILLED, SLOT_BUSY, SLOT_DONE };

struct slot {
	enum slot_state state;
	unsigned char *in;
	size_t in_len;
	unsigned char *out;
	size_t out_len, out_cap;
	unsigned char *dict;
	size_t dict_len;
	uint32_t crc;
	bool last;
};

struct lpipe {
	enum layer_compression comp;
	int level;
	struct cas_writer *w;
	int fd;
	struct hasher *tar_h;
	struct hasher *blob_h; /* fd sink only; the CAS writer hashes itself */
	uint64_t tar_size, blob_size;

	struct slot *ring;
	size_t nring;
	uint64_t fill_seq;  /* slot the producer fills */
	uint64_t work_seq;  /* next slot a gzip worker takes */
	uint64_t write_seq; /* next slot the sink writes */
	bool done;          /* producer finished (last slot queued) */
	bool stop;
	struct err *error;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t *workers;
	int nworkers;
	pthread_t sink;
	bool sink_started;

	ZSTD_CCtx *zc;
	unsigned char *zout;
	uint32_t crc;
	uint64_t isize;
};

int layer_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static void pipe_fail(struct lpipe *p, struct err *e)
{
	pthread_mutex_lock(&p->mu);
	if (p->error == NULL)
		p->error = e;
	else
		err_free(e);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static int sink_write(struct lpipe *p, const void *data, size_t n)
{
	struct err *e = NULL;
	if (n == 0)
		return 0;
	p->blob_size += n;
	if (p->w != NULL) {
		if (cas_writer_write(p->w, data, n, &e) < 0) {
			pipe_fail(p, e);
			return -1;
		}
		return 0;
	}
	hasher_update(p->blob_h, data, n);
	int r = write_all(p->fd, data, n);
	if (r < 0) {
		err_sys(&e, ERR_IO, -r, "cannot write layer");
		pipe_fail(p, e);
		return -1;
	}
	return 0;
}

/* ---- gzip ---- */

static void gzip_compress(z_stream *zs, struct slot *s)
{
	size_t bound = deflateBound(zs, (uLong)s->in_len) + 64;
	if (s->out_cap < bound) {
		free(s->out);
		s->out = xmalloc(bound);
		s->out_cap = bound;
	}
	deflateReset(zs);
	if (s->dict_len > 0)
		deflateSetDictionary(zs, s->dict, (uInt)s->dict_len);
	zs->next_in = s->in;
	zs->avail_in = (uInt)s->in_len;
	zs->next_out = s->out;
	zs->avail_out = (uInt)s->out_cap;
	deflate(zs, s->last ? Z_FINISH : Z_SYNC_FLUSH);
	s->out_len = s->out_cap - zs->avail_out;
	s->crc = (uint32_t)crc32(0, s->in, (uInt)s->in_len);
}

static void *gzip_worker(void *arg)
{
	struct lpipe *p = arg;
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, p->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct slot *s = NULL;
		while (!p->stop) {
			s = &p->ring[p->work_seq % p->nring];
			if (p->work_seq < p->fill_seq && s->state == SLOT_FILLED)
				break;
			s = NULL;
			if (p->done && p->work_seq >= p->fill_seq)
				break;
			pthread_cond_wait(&p->cv, &p->mu);
		}
		if (s == NULL)
			break;
		p->work_seq++;
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&p->mu);
		gzip_compress(&zs, s);
		pthread_mutex_lock(&p->mu);
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	deflateEnd(&zs);
	return NULL;
}

static int gzip_sink_slot(struct lpipe *p, struct slot *s)
{
	p->crc = (uint32_t)crc32_combine(p->crc, s->crc, (z_off_t)s->in_len);
	p->isize += s->in_len;
	if (sink_write(p, s->out, s->out_len) < 0)
		return -1;
	if (!s->last)
		return 0;
	unsigned char t[8];
	for (int i = 0; i < 4; i++) {
		t[i] = (unsigned char)(p->crc >> (8 * i));
		t[4 + i] = (unsigned char)(p->isize >> (8 * i));
	}
	return sink_write(p, t, sizeof(t));
}

/* ---- zstd ---- */

static int zstd_sink_slot(struct lpipe *p, struct slot *s)
{
	ZSTD_inBuffer in = { s->in, s->in_len, 0 };
	ZSTD_EndDirective mode = s->last ? ZSTD_e_end : ZSTD_e_continue;
	for (;;) {
		ZSTD_outBuffer out = { p->zout, CHUNK_SIZE, 0 };
		size_t rem = ZSTD_compressStream2(p->zc, &out, &in, mode);
		if (ZSTD_isError(rem)) {
			struct err *e = NULL;
			err_set(&e, ERR_IO, "zstd: %s", ZSTD_getErrorName(rem));
			pipe_fail(p, e);
			return -1;
		}
		if (sink_write(p, p->zout, out.pos) < 0)
			return -1;
		if (s->last ? rem == 0 : in.pos == in.size)
			return 0;
	}
}

static void *sink_thread(void *arg)
{
	struct lpipe *p = arg;
	enum slot_state ready = p->comp == LAYER_COMPRESS_GZIP ? SLOT_DONE : SLOT_FILLED;
	if (p->comp == LAYER_COMPRESS_GZIP) {
		static const unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff };
		if (sink_write(p, hdr, sizeof(hdr)) < 0)
			return NULL;
	}
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct slot *s = &p->ring[p->write_seq % p->nring];
		while (!p->stop && !(p->write_seq < p->fill_seq && s->state == ready) &&
		       !(p->done && p->write_seq >= p->fill_seq))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop || (p->done && p->write_seq >= p->fill_seq))
			break;
		pthread_mutex_unlock(&p->mu);
		int r;
		if (p->comp == LAYER_COMPRESS_GZIP)
			r = gzip_sink_slot(p, s);
		else if (p->comp == LAYER_COMPRESS_ZSTD)
			r = zstd_sink_slot(p, s);
		else
			r = sink_write(p, s->in, s->in_len);
		pthread_mutex_lock(&p->mu);
		if (r < 0)
			break;
		s->state = SLOT_FREE;
		p->write_seq++;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct lpipe *lpipe_new(enum layer_compression comp, int level, int threads, struct cas_writer *w,
			int fd)
{
	struct lpipe *p = xcalloc(1, sizeof(*p));
	p->comp = comp;
	p->w = w;
	p->fd = fd;
	/* Uncompressed, the blob is the tar: one hash gives both digests
	 * (the CAS writer's own, or blob_h for an fd). */
	if (comp != LAYER_COMPRESS_NONE)
		p->tar_h = hasher_new(DIGEST_SHA256);
	if (w == NULL)
		p->blob_h = hasher_new(DIGEST_SHA256);
	if (threads <= 0)
		threads = layer_online_cpus();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (comp == LAYER_COMPRESS_GZIP) {
		p->level = level > 0 ? level : 6;
		p->nworkers = threads;
	} else if (comp == LAYER_COMPRESS_ZSTD) {
		p->level = level > 0 ? level : 3;
		p->zc = ZSTD_createCCtx();
		ZSTD_CCtx_setParameter(p->zc, ZSTD_c_compressionLevel, p->level);
		/* At least one worker, even on one CPU: the library's
		 * single-threaded mode cuts the frame differently, so the
		 * layer digest would depend on the machine. Its multi-threaded
		 * output is the same for any number of workers. */
		ZSTD_CCtx_setParameter(p->zc, ZSTD_c_nbWorkers, threads);
		/* Smaller jobs than zstd's default (4 windows, 8 MiB at level 3)
		 * keep peak memory well under 64 MiB with all workers busy; the
		 * ratio loss is a fraction of a percent. */
		ZSTD_CCtx_setParameter(p->zc, ZSTD_c_jobSize, 2 << 20);
		p->zout = xmalloc(CHUNK_SIZE);
	}
	p->nring = (size_t)(comp == LAYER_COMPRESS_GZIP ? 2 * p->nworkers + 2 : 1);
	p->ring = xcalloc(p->nring, sizeof(*p->ring));
	for (size_t i = 0; i < p->nring; i++) {
		p->ring[i].in = xmalloc(CHUNK_SIZE);
		if (comp == LAYER_COMPRESS_GZIP)
			p->ring[i].dict = xmalloc(DICT_SIZE);
	}
	p->workers = xcalloc((size_t)p->nworkers + 1, sizeof(*p->workers));
	for (int i = 0; i < p->nworkers; i++)
		if (pthread_create(&p->workers[i], NULL, gzip_worker, p) != 0)
			abort();
	/* zstd compresses on its own workers and a plain tar needs no work:
	 * the producer writes those itself, as every thread handoff costs a
	 * wakeup (milliseconds on a busy machine). gzip needs the ordered
	 * writer beside its workers. */
	if (comp == LAYER_COMPRESS_GZIP) {
		if (pthread_create(&p->sink, NULL, sink_thread, p) != 0)
			abort();
		p->sink_started = true;
	}
	return p;
}

/* The sink's first error, for the producer's caller. */
static int sink_error(struct lpipe *p, struct err **err)
{
	int r = err_code(p->error);
	if (err != NULL && p->error != NULL)
		err_set(err, r, "%s", err_msg(p->error));
	return r;
}

/* Without a sink thread: process the filled slot right here. */
static int inline_slot(struct lpipe *p, bool last, struct err **err)
{
	struct slot *s = &p->ring[0];
	s->last = last;
	int r = p->comp == LAYER_COMPRESS_ZSTD ? zstd_sink_slot(p, s) : sink_write(p, s->in, s->in_len);
	s->in_len = 0;
	return r < 0 ? sink_error(p, err) : 0;
}

/* Hand the slot being filled to the threads and take the next free one. */
static int queue_slot(struct lpipe *p, bool last, struct err **err)
{
	if (!p->sink_started)
		return inline_slot(p, last, err);
	pthread_mutex_lock(&p->mu);
	struct slot *s = &p->ring[p->fill_seq % p->nring];
	s->last = last;
	s->state = SLOT_FILLED;
	p->fill_seq++;
	if (last)
		p->done = true;
	pthread_cond_broadcast(&p->cv);
	struct slot *n = &p->ring[p->fill_seq % p->nring];
	while (!last && !p->stop && n->state != SLOT_FREE)
		pthread_cond_wait(&p->cv, &p->mu);
	int r = 0;
	if (p->stop) {
		r = err_code(p->error);
		if (err != NULL && p->error != NULL)
			err_set(err, r, "%s", err_msg(p->error));
	}
	pthread_mutex_unlock(&p->mu);
	if (r == 0 && !last && p->comp == LAYER_COMPRESS_GZIP) {
		/* The dictionary is the tail of the data just queued: that slot
		 * is not reused before n is written, so it is still intact. */
		size_t k = s->in_len < DICT_SIZE ? s->in_len : DICT_SIZE;
		memcpy(n->dict, s->in + s->in_len - k, k);
		n->dict_len = k;
	}
	if (!last)
		n->in_len = 0;
	return r;
}

int lpipe_write(struct lpipe *p, const void *data, size_t n, struct err **err)
{
	const unsigned char *d = data;
	p->tar_size += n;
	if (p->comp == LAYER_COMPRESS_NONE && n >= DIRECT_MIN) {
		int r = p->ring[0].in_len > 0 ? inline_slot(p, false, err) : 0;
		if (r == 0 && sink_write(p, data, n) < 0)
			r = sink_error(p, err);
		return r;
	}
	if (p->tar_h != NULL)
		hasher_update(p->tar_h, data, n);
	while (n > 0) {
		struct slot *s = &p->ring[p->fill_seq % p->nring];
		size_t k = CHUNK_SIZE - s->in_len;
		if (k > n)
			k = n;
		memcpy(s->in + s->in_len, d, k);
		s->in_len += k;
		d += k;
		n -= k;
		if (s->in_len == CHUNK_SIZE) {
			int r = queue_slot(p, false, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static void join_all(struct lpipe *p)
{
	for (int i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	p->nworkers = 0;
	if (p->sink_started)
		pthread_join(p->sink, NULL);
	p->sink_started = false;
}

int lpipe_finish(struct lpipe *p, struct layer_result *out, struct err **err)
{
	int r = queue_slot(p, true, err);
	join_all(p);
	if (r == 0 && p->error != NULL) {
		r = err_code(p->error);
		err_set(err, r, "%s", err_msg(p->error));
	}
	if (r < 0)
		return r;
	out->tar_size = p->tar_size;
	out->blob_size = p->blob_size;
	if (p->blob_h != NULL)
		hasher_final(p->blob_h, &out->blob);
	else if (p->comp == LAYER_COMPRESS_NONE && (r = cas_writer_seal(p->w, &out->blob, err)) < 0)
		return r;
	if (p->comp == LAYER_COMPRESS_NONE)
		out->diff_id = out->blob;
	else
		hasher_final(p->tar_h, &out->diff_id);
	out->media_type = layer_media_type(p->comp);
	return 0;
}

void lpipe_free(struct lpipe *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	join_all(p);
	for (size_t i = 0; i < p->nring; i++) {
		free(p->ring[i].in);
		free(p->ring[i].out);
		free(p->ring[i].dict);
	}
	free(p->ring);
	free(p->workers);
	ZSTD_freeCCtx(p->zc);
	free(p->zout);
	hasher_free(p->tar_h);
	hasher_free(p->blob_h);
	err_free(p->error);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
