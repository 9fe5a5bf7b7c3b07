/* WWW-Authenticate parsing: the forms registries send (distribution,
 * Docker Hub, GitHub, Quay, Harbor), RFC 7235's corner cases, and hostile
 * headers that must fail cleanly. */
#include <config.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/util.h"
#include "registry/challenge.h"
#include "tests/tap.h"

static int parse(struct regc_challenge **v, size_t *n, const char *h, struct err **err)
{
	*v = NULL;
	*n = 0;
	return regc_challenges_parse(v, n, h, strlen(h), err);
}

static void test_bearer(void)
{
	struct regc_challenge *v;
	size_t n;
	struct err *err = NULL;
	int r = parse(&v, &n,
		      "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
		      "scope=\"repository:samalba/my-app:pull,push\"",
		      &err);
	is_int(r, 0, "docker hub challenge parses");
	is_int(n, 1, "one challenge");
	is_str(v[0].scheme, "bearer", "scheme is lowercased");
	is_str(regc_challenge_param(&v[0], "realm"), "https://auth.docker.io/token", "realm");
	is_str(regc_challenge_param(&v[0], "SERVICE"), "registry.docker.io", "keys match case-insensitively");
	is_str(regc_challenge_param(&v[0], "scope"), "repository:samalba/my-app:pull,push",
	       "a comma inside quotes stays in the value");
	ok(regc_challenge_param(&v[0], "error") == NULL, "absent parameter is NULL");
	regc_challenges_free(v, n);
	err_free(err);
}

static void test_forms(void)
{
	struct regc_challenge *v;
	size_t n;
	struct err *err = NULL;

	is_int(parse(&v, &n, "Basic realm=\"Registry Realm\"", &err), 0, "basic parses");
	is_str(v[0].scheme, "basic", "basic scheme");
	is_str(regc_challenge_param(&v[0], "realm"), "Registry Realm", "space inside quotes kept");
	regc_challenges_free(v, n);

	is_int(parse(&v, &n, "Bearer realm=ghcr-token, service=ghcr.io , scope = x", &err), 0,
	       "tokens without quotes and whitespace around '=' and ','");
	is_str(regc_challenge_param(&v[0], "realm"), "ghcr-token", "token value");
	is_str(regc_challenge_param(&v[0], "scope"), "x", "BWS around '='");
	regc_challenges_free(v, n);

	is_int(parse(&v, &n, "Basic realm=\"a\", Bearer realm=\"b\",service=\"s\"", &err), 0,
	       "two challenges in one header");
	is_int(n, 2, "both are found");
	ok(regc_challenge_find(v, n, "BEARER") == &v[1], "find by scheme");
	is_str(regc_challenge_param(&v[1], "service"), "s", "second challenge's params");
	regc_challenges_free(v, n);

	is_int(parse(&v, &n, "Bearer realm=\"x\\\"y\\\\z\"", &err), 0, "quoted-pair escapes");
	is_str(regc_challenge_param(&v[0], "realm"), "x\"y\\z", "escapes are undone");
	regc_challenges_free(v, n);

	is_int(parse(&v, &n, "Negotiate abc+/def==, Basic", &err), 0, "token68 then a bare scheme");
	is_int(n, 2, "two challenges");
	is_str(v[0].token68, "abc+/def==", "token68 kept");
	is_str(v[1].scheme, "basic", "bare scheme");
	regc_challenges_free(v, n);

	is_int(parse(&v, &n, ", ,Bearer realm=\"r\",,  ,", &err), 0, "empty list elements are allowed");
	is_int(n, 1, "one challenge");
	regc_challenges_free(v, n);

	is_int(parse(&v, &n, "", &err), 0, "an empty header is no challenge");
	is_int(n, 0, "none");
	regc_challenges_free(v, n);

	/* two headers accumulate */
	v = NULL;
	n = 0;
	regc_challenges_parse(&v, &n, "Basic realm=a", 13, &err);
	regc_challenges_parse(&v, &n, "Bearer realm=b", 14, &err);
	is_int(n, 2, "challenges of several headers accumulate");
	regc_challenges_free(v, n);
	err_free(err);
}

static void test_bad(void)
{
	static const char *const bad[] = {
		"Bearer realm=\"unterminated",
		"Bearer realm=\"ctl\x01\"",
		"=x",
		"Bearer realm=\"a\" service=\"b\"",
		"Bearer a b",
		"Bearer realm=\"a\"\"b\"",
		"Bearer realm=\"\\",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct regc_challenge *v;
		size_t n;
		struct err *err = NULL;
		int r = parse(&v, &n, bad[i], &err);
		is_int(r, ERR_INVALID, "rejected: %zu", i);
		like(err_msg(err), "WWW-Authenticate", "message names the header (%zu)", i);
		is_int(n, 0, "nothing appended (%zu)", i);
		regc_challenges_free(v, n);
		err_free(err);
	}

	/* NUL inside the counted bytes */
	struct regc_challenge *v = NULL;
	size_t n = 0;
	struct err *err = NULL;
	is_int(regc_challenges_parse(&v, &n, "Basic\0realm=x", 13, &err), ERR_INVALID, "NUL byte refused");
	err_freep(&err);

	/* caps */
	struct buf b;
	buf_init(&b, 1u << 20);
	buf_addstr(&b, "Bearer ", NULL);
	for (int i = 0; i < REGC_MAX_CHALLENGE_PARAMS + 1; i++)
		buf_addf(&b, NULL, "%sk%d=v", i ? "," : "", i);
	is_int(regc_challenges_parse(&v, &n, b.data, b.len, &err), ERR_TOOBIG, "too many parameters");
	err_freep(&err);
	buf_reset(&b);
	for (int i = 0; i < REGC_MAX_CHALLENGES + 1; i++)
		buf_addf(&b, NULL, "%sBasic", i ? "," : "");
	is_int(regc_challenges_parse(&v, &n, b.data, b.len, &err), ERR_TOOBIG, "too many challenges");
	err_freep(&err);
	buf_reset(&b);
	for (int i = 0; i < BALE_MAX_HEADER + 1; i++)
		buf_addch(&b, 'a', NULL);
	is_int(regc_challenges_parse(&v, &n, b.data, b.len, &err), ERR_TOOBIG, "over BALE_MAX_HEADER");
	err_freep(&err);
	buf_release(&b);
	regc_challenges_free(v, n);
}

int main(void)
{
	test_bearer();
	test_forms();
	test_bad();
	return tap_done();
}
