/* Fuzz manifest validation (reg_manifest_parse in registry/server-
 * manifests.c): what `PUT /v2/<name>/manifests/<ref>` accepts. The first
 * byte picks the Content-Type sent along, the rest is the body.
 *
 * Invariants (a violation aborts):
 * - errors are ERR_INVALID or ERR_UNSUPPORTED with a message;
 * - an accepted manifest has one of the four supported media types, an
 *   image manifest has at least its config descriptor, and every
 *   descriptor digest formats and parses back;
 * - a subject is only reported with a valid digest. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "registry/server-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
        NULL,
        MT_OCI_MANIFEST,
        MT_OCI_INDEX,
        MT_DOCKER_MANIFEST,
        MT_DOCKER_LIST,
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/json; charset=utf-8",
        "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1u << 20))
		return 0;
	const char *ct = types[data[0] % ARRAY_SIZE(types)];
	struct reg_manifest_info info;
	struct err *e = NULL;
	int rc = reg_manifest_parse(&info, data + 1, size - 1, ct, &e);
	if (rc < 0) {
		if ((rc != ERR_INVALID && rc != ERR_UNSUPPORTED) || e == NULL ||
		    err_msg(e)[0] == '\0')
			abort();
	} else {
		if (e != NULL)
			abort();
		if (!str_eq(info.media_type, MT_OCI_MANIFEST) &&
		    !str_eq(info.media_type, MT_OCI_INDEX) &&
		    !str_eq(info.media_type, MT_DOCKER_MANIFEST) &&
		    !str_eq(info.media_type, MT_DOCKER_LIST))
			abort();
		if (!info.is_index && info.nrefs < 1)
			abort();
		for (size_t i = 0; i < info.nrefs; i++) {
			char out[DIGEST_MAX_STRING];
			if (!digest_valid(digest_format(&info.refs[i].digest, out)))
				abort();
		}
		if (info.has_subject) {
			char out[DIGEST_MAX_STRING];
			if (!digest_valid(digest_format(&info.subject, out)))
				abort();
		}
	}
	reg_manifest_info_release(&info);
	err_free(e);
	return 0;
}
