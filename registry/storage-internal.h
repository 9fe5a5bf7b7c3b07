/* Pieces of the filesystem storage driver shared with gc.c and the unit
 * tests (internal to registry/). */
#ifndef BALE_REGISTRY_STORAGE_INTERNAL_H
#define BALE_REGISTRY_STORAGE_INTERNAL_H

#include "common/digest.h"
#include "registry/storage.h"

struct cas;

/* Paths relative to the storage root of a blob link and of a manifest
 * link ("repositories/<repo>/_layers/sha256/<hex>", ...). Caller frees. */
char *reg_fs_layer_link(const char *repo, const struct digest *d);
char *reg_fs_revision_link(const char *repo, const struct digest *d);

/* reg_storage_fs_new(), sweeping the temp files a crash left only when
 * sweep is set: gc opens a store a live server may be writing to. */
int reg_storage_fs_open(struct reg_storage **out, const char *root, bool sweep, struct err **err);

/* The CAS under a filesystem storage (borrowed). */
struct cas *reg_storage_fs_cas(struct reg_storage *s);

#endif
