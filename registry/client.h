/* The registry client: pull images from any OCI/Docker registry into the
 * local store, push them from it, and copy images between registries, the
 * local store, OCI layout directories and archives (registry/copy.h).
 *
 * A client holds the connections, the credentials found and the tokens
 * obtained, so one client should serve a whole command (the builder keeps
 * one for all its base images). Blobs move in parallel (opts.jobs), each
 * streamed once and checked against its digest and size before it becomes
 * visible; a transfer cut by the network resumes where it stopped.
 *
 * Thread safety: one client may be used by one thread at a time; it runs
 * its own worker threads inside pull/push/copy. */
#ifndef BALE_REGISTRY_CLIENT_H
#define BALE_REGISTRY_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/progress.h"
#include "layers/layer.h"
#include "layers/store.h"

struct regc;

struct regc_opts {
	/* false: do not verify TLS certificates (--tls-verify=false); such
	 * registries are also tried over plain HTTP. localhost and 127.0.0.1
	 * are always tried over TLS first, then plain HTTP. */
	bool tls_verify;
	/* Extra certs.d root (DIR/HOST:PORT/ca.crt) searched before docker's
	 * /etc/docker/certs.d, /etc/containers/certs.d and
	 * $XDG_CONFIG_HOME/containers/certs.d (~/.config/...). NULL: none. */
	const char *certs_dir;
	/* docker config.json to read credentials from; NULL: $DOCKER_CONFIG/
	 * config.json or ~/.docker/config.json. */
	const char *auth_file;
	/* Credentials that override the file's for every registry (--creds);
	 * both NULL to use the file. */
	const char *username;
	const char *password;
	/* Blobs moved at once; 0 means 4. */
	unsigned jobs;
	/* Upload blobs larger than this many bytes in PATCH chunks of it (for
	 * a proxy that limits request bodies); 0: each blob in one request. */
	uint64_t chunk_size;
	/* Where to report per-blob progress; NULL for none. Borrowed. */
	struct progress *progress;
};

/* A new client. opts is copied (progress stays borrowed). The caller frees
 * *out with regc_free(). Errors: ERR_FAIL (libcurl cannot start). */
int regc_new(struct regc **out, const struct regc_opts *opts, struct err **err);
void regc_free(struct regc *c);

/* Pull ref ("busybox", "reg:5000/team/app:1", "app@sha256:...") into the
 * store and tag it under its short name (store_name_normalize). An index
 * is resolved to platform ("os/arch[/variant]"; NULL: this machine's), or
 * kept whole with all its platforms when all is true. Nothing is tagged
 * until every blob is in the store, verified. *out (if not NULL) gets the
 * descriptor of what was tagged (oci_descriptor_release).
 * Errors: ERR_NOTFOUND (no such image or platform), ERR_UNAUTHORIZED /
 * ERR_DENIED (with the credentials tried), ERR_DIGEST (content did not
 * match), ERR_INVALID (bad reference or manifest), ERR_PROTOCOL, ERR_IO. */
int regc_pull(struct regc *c, struct store *s, const char *ref, const char *platform, bool all,
	      struct oci_descriptor *out, struct err **err);

/* Push the stored image named image (a name, id or digest, as
 * store_lookup) to dest (a reference; NULL: image's own name). Blobs the
 * registry has are skipped, others mounted from another repository of the
 * same registry when possible, the rest uploaded. *digest (if not NULL)
 * gets the pushed manifest's digest. Errors as regc_pull. */
int regc_push(struct regc *c, struct store *s, const char *image, const char *dest,
	      struct digest *digest, struct err **err);

/* What a push or copy does with layers stored uncompressed (builds store
 * them so): set false means the destination's default, which is gzip for
 * registries and OCI layouts and archives, and keeping them for the local
 * store (registry/copy.h); set true means algo (LAYER_COMPRESS_NONE keeps
 * them uncompressed) at level (0: the default). Compressed layers are
 * never recompressed. */
struct regc_compress {
	bool set;
	enum layer_compression algo;
	int level;
};

/* regc_push() compressing uncompressed layers as z says (NULL: the
 * default, gzip); the compressed blobs stay in the store, remembered, so a
 * second push compresses nothing. Errors as regc_pull, plus ERR_UNSUPPORTED
 * (zstd asked for a Docker manifest). */
int regc_push_with(struct regc *c, struct store *s, const char *image, const char *dest,
		   const struct regc_compress *z, struct digest *digest, struct err **err);

/* Check that the credentials work: authenticate against domain's /v2/
 * with username/password (NULL: anonymous). Errors: ERR_UNAUTHORIZED
 * (refused), ERR_IO/ERR_PROTOCOL (cannot reach it). */
int regc_login_check(struct regc *c, const char *domain, const char *username,
		     const char *password, struct err **err);

#endif
