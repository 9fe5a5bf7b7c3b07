/* Garbage collection of a filesystem registry store (`bale gc`): mark
 * everything reachable, sweep the rest.
 *
 * Kept: every tagged manifest, what an index kept references, manifests
 * whose subject is kept (referrers), the config and layers of every kept
 * manifest, and, unless delete_untagged, every manifest a repository
 * holds. Anything written or linked less than `grace` seconds ago is kept
 * too, so a push in progress while gc runs (blobs uploaded, manifest not
 * yet) loses nothing: gc may run while the server serves. Upload sessions
 * live outside the blob store and are never touched. */
#ifndef BALE_REGISTRY_GC_H
#define BALE_REGISTRY_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"

struct reg_gc_opts {
	bool dry_run;
	bool delete_untagged;
	int64_t grace; /* seconds */
};

struct reg_gc_stats {
	uint64_t repositories;
	uint64_t manifests_kept, manifests_removed;
	uint64_t blobs_kept, blobs_removed, bytes_removed;
	uint64_t links_removed;
};

/* Called for everything removed (or that would be, in a dry run): kind is
 * "manifest", "blob" or "link"; repo is NULL for blobs. */
typedef void (*reg_gc_report_fn)(void *ctx, const char *kind, const char *repo,
                                 const struct digest *d, uint64_t size);

/* Collect garbage in the store at root. *stats gets the counts. Errors:
 * ERR_IO, ERR_DENIED; a manifest that cannot be parsed is kept, with its
 * blobs, and reported as a warning through the log. */
int reg_gc_run(const char *root, const struct reg_gc_opts *opts, reg_gc_report_fn report, void *ctx,
               struct reg_gc_stats *stats, struct err **err);

#endif
