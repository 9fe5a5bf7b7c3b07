/* Copying images between transports (`bale copy SRC DST`):
 *
 *   [docker://]REF          a registry (a plain reference means this)
 *   local:NAME              the local store (layers/store.h)
 *   oci:DIR[:TAG]           an OCI image layout directory
 *   oci-archive:FILE[:TAG]  the same as a tar file
 *   docker-archive:FILE[:REF]  `docker save` format
 *
 * An index is copied whole (every platform, the index itself kept) with
 * all, else resolved to one platform whose manifest becomes the copy.
 * Uncompressed layers (as builds store them) are compressed on the way to
 * a registry, an OCI layout or an oci-archive (gzip unless opts say
 * otherwise, as skopeo does), the manifests (and an index) rewritten to
 * name them; the local store keeps them as they are unless opts say, and
 * a docker-archive holds uncompressed layers anyway. The
 * destination's name (tag, store name, ref.name) is set only after every
 * blob and manifest is there, so an interrupted copy never leaves a half
 * image named. */
#ifndef BALE_REGISTRY_COPY_H
#define BALE_REGISTRY_COPY_H

#include <stdbool.h>

#include "common/digest.h"
#include "common/error.h"
#include "layers/store.h"
#include "registry/client.h"

struct regc_copy_opts {
	bool all;             /* keep a whole index */
	const char *platform; /* "os/arch[/variant]"; NULL: this machine's */
	struct regc_compress compress; /* see registry/client.h */
};

/* Copy src to dst. store is the local store for local: endpoints (may be
 * NULL when neither end is one). *digest (if not NULL) gets the digest of
 * the manifest or index written. Errors: ERR_INVALID (an endpoint that
 * does not parse), ERR_UNSUPPORTED (a transport not available), and those
 * of regc_pull(). */
int regc_copy(struct regc *c, struct store *store, const char *src, const char *dst,
	      const struct regc_copy_opts *opts, struct digest *digest, struct err **err);

/* Whether an endpoint names the local store (so the caller knows to open
 * it). */
bool regc_copy_needs_store(const char *endpoint);

#endif
