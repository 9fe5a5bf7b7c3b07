/* Internal to layers/: the compression pipeline shared by the layer writer
 * and import. Bytes of an uncompressed tar go in (hashed: the diff_id);
 * they are cut into chunks compressed on worker threads (gzip: independent
 * deflate blocks chained by a 32 KiB dictionary, as pigz does; zstd: the
 * library's own workers) and written in order to a CAS writer or an fd,
 * hashed again (the blob digest). */
#ifndef BALE_LAYERS_LAYER_PIPE_H
#define BALE_LAYERS_LAYER_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "layers/cas.h"
#include "layers/layer.h"

struct lpipe;

/* Start a pipeline writing into w (if not NULL) or fd. */
struct lpipe *lpipe_new(enum layer_compression comp, int level, int threads, struct cas_writer *w,
			int fd);
/* Feed tar bytes. Fails (returning the first error of any thread) once the
 * sink failed. */
int lpipe_write(struct lpipe *p, const void *data, size_t n, struct err **err);
/* Flush everything, stop the threads, fill the digests and sizes. */
int lpipe_finish(struct lpipe *p, struct layer_result *out, struct err **err);
/* Stop the threads and free (after finish, or to abandon). NULL is fine. */
void lpipe_free(struct lpipe *p);

/* Online CPUs, at least 1. */
int layer_online_cpus(void);

#endif
