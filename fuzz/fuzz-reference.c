/* Fuzz the image reference parsers.
 *
 * Invariants (a violation aborts):
 * - a failure is ERR_INVALID, ERR_UNSUPPORTED or ERR_TOOBIG with a short
 *   "reference '...' is invalid: ..." message free of control bytes, and
 *   leaves the struct zeroed;
 * - ref_parse is exact: ref_string() gives the input back, and each part
 *   passes its own validator;
 * - ref_parse_normalized always fills domain and path and one of tag or
 *   digest; its string parses strictly to the same parts, normalizes to
 *   itself again, and its familiar form normalizes back to it. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/limits.h"
#include "common/reference.h"
#include "common/util.h"

/* The quoted input (<= 403 chars) plus a quoted part and the reason. */
#define MAX_MESSAGE 1500

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool ref_same(const struct ref *a, const struct ref *b)
{
	return same(a->domain, b->domain) && same(a->path, b->path) && same(a->tag, b->tag) &&
	       same(a->digest, b->digest);
}

static void check_message(const char *m, const char *prefix)
{
	size_t n = strlen(m);
	if (n > MAX_MESSAGE || strncmp(m, prefix, strlen(prefix)) != 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)m[i] < 0x20 || (unsigned char)m[i] == 0x7f)
			abort();
	}
}

static void check_failure(int rc, struct err *e, const struct ref *r)
{
	if (rc != ERR_INVALID && rc != ERR_UNSUPPORTED && rc != ERR_TOOBIG)
		abort();
	if (e == NULL || err_code(e) != rc)
		abort();
	check_message(err_msg(e), "reference '");
	if (r->domain != NULL || r->path != NULL || r->tag != NULL || r->digest != NULL)
		abort();
}

static void check_parts(const struct ref *r)
{
	if (r->path == NULL || !ref_repo_name_valid(r->path))
		abort();
	if (r->domain != NULL && !ref_domain_valid(r->domain))
		abort();
	if (r->tag != NULL && !ref_tag_valid(r->tag))
		abort();
	if (r->digest != NULL && !digest_valid(r->digest))
		abort();
}

static void check_strict(const char *s)
{
	cleanup_ref struct ref r = { 0 };
	struct err *e = NULL;
	int rc = ref_parse(&r, s, &e);
	if (rc < 0) {
		check_failure(rc, e, &r);
		err_free(e);
		return;
	}
	check_parts(&r);
	cleanup_free char *str = ref_string(&r);
	if (strcmp(str, s) != 0)
		abort();
	cleanup_ref struct ref again = { 0 };
	if (ref_parse(&again, str, NULL) != 0 || !ref_same(&r, &again))
		abort();
}

static void check_normalized(const char *s)
{
	cleanup_ref struct ref r = { 0 };
	struct err *e = NULL;
	int rc = ref_parse_normalized(&r, s, &e);
	if (rc < 0) {
		check_failure(rc, e, &r);
		err_free(e);
		return;
	}
	check_parts(&r);
	if (r.domain == NULL || (r.tag == NULL && r.digest == NULL))
		abort();

	cleanup_free char *full = ref_string(&r);
	if (strlen(full) > BALE_MAX_REFERENCE)
		abort();
	cleanup_ref struct ref strict = { 0 };
	if (ref_parse(&strict, full, NULL) != 0 || !ref_same(&r, &strict))
		abort();
	cleanup_ref struct ref again = { 0 };
	if (ref_parse_normalized(&again, full, NULL) != 0 || !ref_same(&r, &again))
		abort();

	cleanup_free char *fam = ref_familiar(&r);
	cleanup_ref struct ref back = { 0 };
	if (ref_parse_normalized(&back, fam, NULL) != 0 || !ref_same(&r, &back))
		abort();
}

/* The single-part validators must agree with themselves and never crash. */
static void check_parts_alone(const char *s)
{
	struct err *e = NULL;
	if ((ref_repo_name_check(s, &e) == 0) != ref_repo_name_valid(s))
		abort();
	if (e != NULL)
		check_message(err_msg(e), "repository name '");
	err_freep(&e);
	if ((ref_tag_check(s, &e) == 0) != ref_tag_valid(s))
		abort();
	if (e != NULL)
		check_message(err_msg(e), "tag");
	err_freep(&e);
	if ((ref_domain_check(s, &e) == 0) != ref_domain_valid(s))
		abort();
	if (e != NULL)
		check_message(err_msg(e), "");
	err_freep(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* C strings end at the first NUL, as they would for any caller */
	cleanup_free char *s = xstrndup((const char *)data, size);
	check_strict(s);
	check_normalized(s);
	check_parts_alone(s);
	return 0;
}
