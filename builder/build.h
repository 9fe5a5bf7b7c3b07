/* bale build: a Containerfile and a build context to an OCI image in the
 * local store (or an OCI layout, an archive, a rootfs directory), with
 * Docker's semantics (the Dockerfile reference; BuildKit is the referee).
 *
 * The build runs in this process: the caller must call sbx_userns_enter()
 * (builder/sandbox.h) before any thread exists and before build_run(), so
 * that layers can be extracted with their owners and overlayfs mounted. */
#ifndef BALE_BUILDER_BUILD_H
#define BALE_BUILDER_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "builder/sandbox.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/progress.h"
#include "layers/layer.h"

/* Module caps (builder-specific, so here rather than common/limits.h). */
/* A cache index entry read back from $BALE_ROOT/build/cache. */
#define BUILD_MAX_CACHE_ENTRY (64u << 10)
/* A build context read as a tar from stdin, decompressed. */
#define BUILD_MAX_CONTEXT_TAR (16ull << 30)
/* A file downloaded by ADD <url>. */
#define BUILD_MAX_DOWNLOAD (8ull << 30)

enum build_output_type {
	BUILD_OUTPUT_STORE = 0,   /* tag into the local store (default) */
	BUILD_OUTPUT_OCI,         /* an OCI image layout directory */
	BUILD_OUTPUT_OCI_ARCHIVE, /* a tar of an OCI layout */
	BUILD_OUTPUT_DOCKER_ARCHIVE, /* what `docker load` reads */
	BUILD_OUTPUT_LOCAL,       /* the final rootfs into a directory */
	BUILD_OUTPUT_REGISTRY,    /* push (needs -t) */
};

struct build_output {
	enum build_output_type type;
	char *dest; /* path ("-": stdout for archives), or NULL */
};

struct build_opts {
	const char *root;         /* store root (--root), NULL: the default */
	const char *file;         /* -f; NULL: CONTEXT/Containerfile, else
				   * CONTEXT/Dockerfile; "-": stdin */
	const char *context;      /* directory, "-" (tar on stdin), or git URL */
	char **tags;              /* -t, NULL-terminated, may be NULL */
	char **build_args;        /* "K=V" or "K" (value from the environment) */
	char **labels;            /* "K=V" added to the final image */
	char **secrets;           /* "id=ID,src=PATH" (or env=VAR) */
	const char *target;       /* --target stage name or index; NULL: last */
	bool no_cache;
	bool pull;                /* always pull image bases */
	bool push;                /* push every -t after tagging */
	bool quiet;
	enum sbx_network network;
	bool docker_format;       /* Docker schema2 media types */
	/* Layers are stored uncompressed, and compressed (gzip) when the image
	 * leaves: --push, --output type=oci|oci-archive. compression_set
	 * (--compression) stores them compressed with compression instead,
	 * and exports them so (none: uncompressed everywhere). */
	enum layer_compression compression;
	bool compression_set;
	struct build_output *outputs;
	size_t n_outputs;
	const char *iidfile;      /* write the image id (config digest) here */
	int64_t source_date_epoch; /* < 0: none */
	struct progress *progress; /* borrowed; NULL: no step lines */
	int progress_fd;          /* the fd progress writes to (plain step
				   * lines are written there directly) */
	int log_fd;               /* where RUN output goes (-1: /dev/null) */
};

/* Defaults: uncompressed layers, host network, no epoch, log_fd and
 * progress_fd stderr. */
void build_opts_init(struct build_opts *o);

struct build_result {
	struct digest manifest; /* the image's manifest digest */
	struct digest config;   /* its config digest (docker's image id) */
	unsigned steps, cached; /* layer steps run / taken from the cache */
};

/* Build. On success *res describes the image, which is tagged with every
 * o->tags name (or added untagged) and written to every output. Nothing
 * is tagged when any step fails. Errors: ERR_INVALID (the Containerfile
 * or an argument; the message names file:line), ERR_NOTFOUND (a base
 * image, a source file), ERR_FAIL (a RUN step exited non-zero: the
 * message has the line, the command and its status), ERR_UNSUPPORTED,
 * ERR_CANCELED, ERR_IO. */
int build_run(const struct build_opts *o, struct build_result *res, struct err **err);

/* The build cache of the store at root (<root>/build/cache/): the layers
 * its entries name, for store_gc() to keep (so that removing an image
 * leaves the cache usable, as docker's rmi leaves BuildKit's). *blobs and
 * *diff_ids (n each; the caller frees both) are NULL when there is none.
 * Unreadable entries are skipped: they are misses anyway. */
void build_cache_layers(const char *root, struct digest **blobs, struct digest **diff_ids,
			size_t *n);
/* Remove every entry of the build cache of the store at root; *n (if not
 * NULL) gets how many. Errors: ERR_IO. */
int build_cache_clear(const char *root, size_t *n, struct err **err);

/* Parse one --output value ("type=oci,dest=dir", "dest=dir" means local,
 * a bare path also means local). *out owns dest (build_output_release). */
int build_output_parse(struct build_output *out, const char *spec, struct err **err);
void build_output_release(struct build_output *out);

#endif
