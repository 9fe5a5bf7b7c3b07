/* The image model: OCI image manifest and index, Docker schema2 manifest and
 * manifest list, and the image config (OCI fields plus Docker's Healthcheck,
 * OnBuild and Shell), parsed from and written to JSON.
 *
 * Parsing accepts both OCI and Docker documents (their shapes are the same;
 * mediaType tells them apart) and keeps the media type. Writing produces
 * stable bytes: fields in the order the Go structs of image-spec / docker
 * declare them, maps (labels, annotations, ExposedPorts, Volumes) with
 * sorted keys, omitted when empty, through jx_dump (Go's encoding/json
 * output), so the same image always hashes the same.
 *
 * Ownership: every struct here owns its strings, arrays and json_t
 * references; *_release() frees them and zeroes the struct. Arrays of
 * strings are NULL-terminated (strv); NULL means "absent" (omitted), an
 * empty strv means "present and empty" where the format tells them apart
 * (Cmd/Entrypoint).
 */
#ifndef BALE_LAYERS_IMAGE_H
#define BALE_LAYERS_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/json.h"

#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define OCI_MT_EMPTY "application/vnd.oci.empty.v1+json"
#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define DOCKER_MT_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define DOCKER_MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define DOCKER_MT_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

#define OCI_ANNOT_REF_NAME "org.opencontainers.image.ref.name"
#define OCI_ANNOT_CREATED "org.opencontainers.image.created"
#define OCI_ANNOT_BASE_NAME "org.opencontainers.image.base.name"
#define OCI_ANNOT_BASE_DIGEST "org.opencontainers.image.base.digest"

/* Whether a media type is a single-image manifest (OCI or Docker), an index
 * (OCI index or Docker list), or a layer (any tar, compressed or not). */
bool oci_media_type_is_manifest(const char *mt);
bool oci_media_type_is_index(const char *mt);
bool oci_media_type_is_layer(const char *mt);
/* A layer's media type as an image of the other format names it: OCI's
 * tar and tar+gzip and Docker's diff.tar and diff.tar.gzip map to each
 * other (docker: true gives Docker's); any other type (zstd, foreign,
 * non-distributable) comes back unchanged. */
const char *oci_layer_media_type_as(const char *mt, bool docker);

struct oci_platform {
	char *architecture;
	char *os;
	char *os_version;   /* NULL: absent */
	char **os_features; /* NULL: absent */
	char *variant;      /* NULL: absent */
};

struct oci_descriptor {
	char *media_type;
	struct digest digest;
	int64_t size;
	char **urls;                   /* NULL: absent */
	json_t *annotations;           /* object of strings, NULL: absent */
	struct oci_platform *platform; /* NULL: absent */
	char *artifact_type;           /* NULL: absent */
};

/* An image manifest, OCI or Docker schema2 (media_type says which; NULL for
 * an OCI manifest that omits it). */
struct oci_manifest {
	char *media_type;
	char *artifact_type;
	struct oci_descriptor config;
	struct oci_descriptor *layers;
	size_t n_layers;
	struct oci_descriptor *subject; /* NULL: absent */
	json_t *annotations;
};

/* An OCI index or Docker manifest list. */
struct oci_index {
	char *media_type;
	char *artifact_type;
	struct oci_descriptor *manifests;
	size_t n_manifests;
	struct oci_descriptor *subject;
	json_t *annotations;
};

/* Docker's health check (durations in nanoseconds, 0: inherit). */
struct oci_healthcheck {
	char **test; /* ["NONE"], ["CMD", ...], ["CMD-SHELL", "..."] */
	int64_t interval;
	int64_t timeout;
	int64_t start_period;
	int64_t start_interval;
	int64_t retries;
};

/* The execution parameters ("config" in the image config). */
struct oci_exec_config {
	char *user;
	char **exposed_ports; /* "80/tcp", sorted set; NULL: absent */
	char **env;
	char **entrypoint;
	char **cmd;
	char **volumes; /* sorted set of paths */
	char *working_dir;
	json_t *labels; /* object of strings */
	char *stop_signal;
	bool args_escaped;
	struct oci_healthcheck *healthcheck;
	char **on_build;
	char **shell;
};

struct oci_history {
	char *created; /* RFC 3339 */
	char *created_by;
	char *author;
	char *comment;
	bool empty_layer;
};

struct oci_config {
	char *created;
	char *author;
	struct oci_platform platform;
	struct oci_exec_config config;
	struct digest *diff_ids;
	size_t n_diff_ids;
	struct oci_history *history;
	size_t n_history;
};

/* ---- descriptors ---- */

/* Deep copy of src into *dst (which must not hold anything). */
void oci_descriptor_copy(struct oci_descriptor *dst, const struct oci_descriptor *src);
void oci_descriptor_release(struct oci_descriptor *d);
void oci_platform_release(struct oci_platform *p);
/* A descriptor annotation value (borrowed), or NULL. */
const char *oci_descriptor_annotation(const struct oci_descriptor *d, const char *key);
/* Set (value non-NULL) or remove (NULL) an annotation. */
void oci_descriptor_annotate(struct oci_descriptor *d, const char *key, const char *value);
/* Parse one descriptor object found at path (for messages). ERR_INVALID. */
int oci_descriptor_parse(struct oci_descriptor *out, const json_t *j, const char *path,
			 struct err **err);
/* Build the JSON of a descriptor; docker_order puts size before digest as
 * Docker's distribution structs do. Returns a new reference. */
json_t *oci_descriptor_to_json(const struct oci_descriptor *d, bool docker_order);

/* ---- manifests ---- */

/* Parse a manifest (OCI or Docker schema2; schemaVersion must be 2).
 * ERR_INVALID naming the field; ERR_UNSUPPORTED for an index or a schema1
 * manifest. *out is released by the caller with oci_manifest_release(). */
int oci_manifest_parse(struct oci_manifest *out, const void *data, size_t len, struct err **err);
/* Serialize; *out is a new string the caller frees. */
int oci_manifest_dump(char **out, size_t *len, const struct oci_manifest *m, struct err **err);
void oci_manifest_release(struct oci_manifest *m);

/* ---- indexes ---- */

int oci_index_parse(struct oci_index *out, const void *data, size_t len, struct err **err);
int oci_index_dump(char **out, size_t *len, const struct oci_index *ix, struct err **err);
void oci_index_release(struct oci_index *ix);

/* ---- image config ---- */

int oci_config_parse(struct oci_config *out, const void *data, size_t len, struct err **err);
int oci_config_dump(char **out, size_t *len, const struct oci_config *c, struct err **err);
void oci_config_release(struct oci_config *c);
/* Deep copy (the builder starts a stage from its base's config). */
void oci_config_copy(struct oci_config *dst, const struct oci_config *src);
/* Append a diff_id / a history entry (fields copied; NULL allowed). */
void oci_config_add_diff_id(struct oci_config *c, const struct digest *diff_id);
void oci_config_add_history(struct oci_config *c, const char *created, const char *created_by,
			    const char *comment, bool empty_layer);

/* The media type that peers expect for the top-level JSON: reads only the
 * "mediaType" field, and falls back on the shape ("manifests" -> index,
 * "config" -> manifest). Returns a static string or NULL when unknown. */
const char *oci_detect_media_type(const void *data, size_t len);

/* RFC 3339 UTC time with seconds ("2024-01-02T03:04:05Z") into buf (at
 * least 32 bytes), as Go's time.Time marshals a whole-second UTC time. */
char *oci_time_format(int64_t unix_seconds, char *buf, size_t size);
/* Parse RFC 3339 (fractions and offsets allowed) into seconds. ERR_INVALID. */
int oci_time_parse(const char *s, int64_t *out, struct err **err);

static inline void oci_manifest_releasep(struct oci_manifest *m)
{
	oci_manifest_release(m);
}
static inline void oci_index_releasep(struct oci_index *ix)
{
	oci_index_release(ix);
}
static inline void oci_config_releasep(struct oci_config *c)
{
	oci_config_release(c);
}
#define cleanup_manifest __attribute__((cleanup(oci_manifest_releasep)))
#define cleanup_index __attribute__((cleanup(oci_index_releasep)))
#define cleanup_config __attribute__((cleanup(oci_config_releasep)))

#endif
