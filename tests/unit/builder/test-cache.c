/* Cache keys: stable for the same parts, different for anything that
 * changes a step (order, NULL vs "", the parent). */
#include "config.h"

#include "builder/build-internal.h"
#include "common/util.h"
#include "layers/store.h"
#include "tests/tap.h"

static void key_of(struct digest *out, const struct digest *parent, const char *const *parts,
		   size_t n)
{
	struct cache_key k;
	cache_key_init(&k, parent, "RUN");
	for (size_t i = 0; i < n; i++)
		cache_key_add(&k, parts[i]);
	cache_key_final(&k, out);
}

int main(void)
{
	struct digest a, b, c, p1, p2;
	const char *one[] = { "echo hi", "PATH=/bin" };
	const char *swapped[] = { "PATH=/bin", "echo hi" };
	const char *joined[] = { "echo hiPATH=/bin" };
	const char *with_null[] = { "echo hi", NULL };
	const char *with_empty[] = { "echo hi", "" };
	key_of(&a, NULL, one, 2);
	key_of(&b, NULL, one, 2);
	ok(digest_equal(&a, &b), "the same parts give the same key");
	key_of(&c, NULL, swapped, 2);
	ok(!digest_equal(&a, &c), "order matters");
	key_of(&c, NULL, joined, 1);
	ok(!digest_equal(&a, &c), "parts are length-prefixed (no concatenation collisions)");
	key_of(&b, NULL, with_null, 2);
	key_of(&c, NULL, with_empty, 2);
	ok(!digest_equal(&b, &c), "an absent value differs from an empty one");
	key_of(&p1, NULL, one, 1);
	key_of(&p2, &p1, one, 2);
	ok(!digest_equal(&a, &p2), "the parent's key is part of the key");
	char s[DIGEST_MAX_STRING];
	digest_format(&a, s);
	ok(str_has_prefix(s, "sha256:") && strlen(s) == 71, "keys are sha256 digests");
	return tap_done();
}
