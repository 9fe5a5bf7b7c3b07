/* Fuzz the WWW-Authenticate parser (registry/challenge.h): the header comes
 * from any registry the client talks to.
 *
 * Invariants (a violation aborts):
 * - a failure is ERR_INVALID or ERR_TOOBIG with a message free of control
 *   bytes, and appends nothing;
 * - a success gives at most REGC_MAX_CHALLENGES challenges, each with a
 *   non-empty lowercase scheme, at most REGC_MAX_CHALLENGE_PARAMS
 *   parameters with non-empty lowercase keys, and values that are C
 *   strings no longer than the input;
 * - parsing the same bytes twice appends the same count again. */
#include <config.h>

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "registry/challenge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_lower(const char *s)
{
	if (s == NULL || s[0] == '\0')
		abort();
	for (const char *p = s; *p != '\0'; p++)
		if (isupper((unsigned char)*p))
			abort();
}

static void check_ok(const struct regc_challenge *v, size_t n, size_t size)
{
	if (n > REGC_MAX_CHALLENGES)
		abort();
	for (size_t i = 0; i < n; i++) {
		check_lower(v[i].scheme);
		if (v[i].n_params > REGC_MAX_CHALLENGE_PARAMS)
			abort();
		for (size_t k = 0; k < v[i].n_params; k++) {
			check_lower(v[i].keys[k]);
			if (strlen(v[i].values[k]) > size)
				abort();
			if (regc_challenge_param(&v[i], v[i].keys[k]) == NULL)
				abort();
		}
		if (v[i].token68 != NULL && strlen(v[i].token68) > size)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct regc_challenge *v = NULL;
	size_t n = 0;
	struct err *err = NULL;
	int r = regc_challenges_parse(&v, &n, (const char *)data, size, &err);
	if (r < 0) {
		if ((r != ERR_INVALID && r != ERR_TOOBIG) || n != 0 || err == NULL)
			abort();
		for (const char *p = err_msg(err); *p != '\0'; p++)
			if ((unsigned char)*p < 0x20)
				abort();
		err_free(err);
		regc_challenges_free(v, n);
		return 0;
	}
	check_ok(v, n, size);
	size_t first = n;
	struct err *err2 = NULL;
	int r2 = regc_challenges_parse(&v, &n, (const char *)data, size, &err2);
	if (r2 == 0 ? n != 2 * first : (r2 != ERR_TOOBIG || n != first))
		abort();
	err_free(err2);
	regc_challenges_free(v, n);
	return 0;
}
