/* Internal to layers/: what store.c and store-extract.c share. */
#ifndef BALE_LAYERS_STORE_INTERNAL_H
#define BALE_LAYERS_STORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "layers/store.h"

typedef bool (*store_live_fn)(const struct digest *diff_id, void *ctx);

/* Remove the extracted dirs whose diff_id live() rejects and whose mtime is
 * not after cutoff, and the temp dirs of processes that died. Run by
 * store_gc with the gc lock held exclusively (no other process has the
 * store open, so no dir is a mounted lower). */
void store_extracted_sweep(struct store *s, store_live_fn live, void *ctx, int64_t cutoff);

#endif
