/* Fuzz the digest parser and the hashers.
 *
 * Invariants (a violation aborts):
 * - parsing either succeeds or fails with ERR_INVALID/ERR_UNSUPPORTED and a
 *   short message free of control bytes;
 * - only the canonical form parses: formatting what was parsed gives the
 *   input back byte for byte, and that parses to an equal digest;
 * - digest_parse (NUL-terminated) agrees with digest_parse_n;
 * - hashing the input in two pieces equals hashing it at once. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/util.h"

/* Messages quote at most 100 input bytes (4 chars each when escaped) twice. */
#define MAX_MESSAGE 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int rc, struct err *e)
{
	if (rc != ERR_INVALID && rc != ERR_UNSUPPORTED)
		abort();
	if (e == NULL || err_code(e) != rc)
		abort();
	const char *m = err_msg(e);
	size_t n = strlen(m);
	if (n > MAX_MESSAGE || strncmp(m, "digest '", 8) != 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)m[i] < 0x20 || (unsigned char)m[i] == 0x7f)
			abort();
	}
}

static void check_parsed(const struct digest *d, const char *s, size_t n)
{
	char out[DIGEST_MAX_STRING];
	struct digest again;
	digest_format(d, out);
	if (strlen(out) != n || memcmp(out, s, n) != 0)
		abort();
	if (digest_parse(&again, out, NULL) != 0 || !digest_equal(d, &again))
		abort();
	if (!digest_valid(out))
		abort();
}

static void check_hashing(const uint8_t *data, size_t size)
{
	static const enum digest_algo algos[] = { DIGEST_SHA256, DIGEST_SHA512 };
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++) {
		struct digest whole, pieces;
		digest_buffer(&whole, algos[i], data, size);
		cleanup_hasher struct hasher *h = hasher_new(algos[i]);
		hasher_update(h, data, cut);
		hasher_update(h, data + cut, size - cut);
		if (hasher_size(h) != size)
			abort();
		hasher_final(h, &pieces);
		if (!digest_equal(&whole, &pieces))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct digest d;
	struct err *e = NULL;

	int rc = digest_parse_n(&d, s, size, &e);
	if (rc < 0)
		check_error(rc, e);
	else if (e != NULL)
		abort();
	else
		check_parsed(&d, s, size);
	err_free(e);

	if (memchr(s, '\0', size) == NULL) {
		cleanup_free char *copy = xstrndup(s, size);
		struct digest d2;
		if (digest_parse(&d2, copy, NULL) != rc)
			abort();
		if (rc == 0 && !digest_equal(&d, &d2))
			abort();
	}

	check_hashing(data, size);
	return 0;
}
