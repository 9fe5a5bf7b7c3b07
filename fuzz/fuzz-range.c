/* Fuzz the Range, Content-Range and Accept parsers of the registry
 * (registry/routes.h). The first 8 bytes are the resource size, the rest
 * the header value.
 *
 * Invariants (a violation aborts):
 * - a satisfiable Range lies inside the resource and is not empty;
 * - an unsatisfiable one only happens for a size the range misses;
 * - a parsed Content-Range has start <= end;
 * - the Accept check never crashes and accepts everything for "*" + "/" + "*". */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "registry/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t total = 0;
	if (size < 8)
		return 0;
	memcpy(&total, data, 8);
	total %= UINT64_C(1) << 62;
	cleanup_free char *v = xstrndup((const char *)data + 8, size - 8);
	uint64_t first = 0, len = 0;
	switch (reg_range_parse(v, total, &first, &len)) {
	case REG_RANGE_OK:
		if (len == 0 || first >= total || len > total - first)
			abort();
		break;
	case REG_RANGE_UNSATISFIABLE:
	case REG_RANGE_NONE: break;
	default: abort();
	}
	uint64_t start = 0, end = 0;
	if (reg_content_range_parse(v, &start, &end, NULL) == 0 && start > end)
		abort();
	(void)reg_accept_allows(v, "application/vnd.oci.image.manifest.v1+json");
	if (!reg_accept_allows("*/*", v))
		abort();
	return 0;
}
