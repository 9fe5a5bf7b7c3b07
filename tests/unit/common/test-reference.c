#include "config.h"

#include "common/limits.h"
#include "common/reference.h"
#include "common/util.h"
#include "tests/tap.h"

#define F64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define D256 "sha256:" F64
#define D512 "sha512:" F64 F64
#define BB "86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"

/* ---- strict parsing (reference.Parse) ---- */

struct strict_case {
	const char *in;
	int code; /* 0 = must parse */
	const char *domain, *path, *tag, *digest;
	const char *reason; /* substring of the error message */
};

#define BAD(in, code, reason) { in, code, NULL, NULL, NULL, NULL, reason }
static const struct strict_case strict_cases[] = {
	/* from distribution's reference_test.go */
	{ "test_com", 0, NULL, "test_com", NULL, NULL, NULL },
	{ "test.com:tag", 0, NULL, "test.com", "tag", NULL, NULL },
	{ "test.com:5000", 0, NULL, "test.com", "5000", NULL, NULL },
	{ "test.com/repo:tag", 0, "test.com", "repo", "tag", NULL, NULL },
	{ "test:5000/repo", 0, "test:5000", "repo", NULL, NULL, NULL },
	{ "test:5000/repo:tag", 0, "test:5000", "repo", "tag", NULL, NULL },
	{ "test:5000/repo@" D256, 0, "test:5000", "repo", NULL, D256, NULL },
	{ "test:5000/repo:tag@" D256, 0, "test:5000", "repo", "tag", D256, NULL },
	{ "lowercase:Uppercase", 0, NULL, "lowercase", "Uppercase", NULL, NULL },
	/* docker's quirk: an uppercase first component is a valid domain */
	{ "Uppercase/lowercase:tag", 0, "Uppercase", "lowercase", "tag", NULL, NULL },
	{ "sub-dom1.foo.com/bar/baz/quux:some-long-tag", 0, "sub-dom1.foo.com", "bar/baz/quux",
	  "some-long-tag", NULL, NULL },
	{ "b.gcr.io/test.example.com/my-app:test.example.com", 0, "b.gcr.io", "test.example.com/my-app",
	  "test.example.com", NULL, NULL },
	{ "xn--n3h.com/myimage:xn--n3h.com", 0, "xn--n3h.com", "myimage", "xn--n3h.com", NULL, NULL },
	{ "xn--7o8h.com/myimage:xn--7o8h.com@" D512, 0, "xn--7o8h.com", "myimage", "xn--7o8h.com",
	  D512, NULL },
	{ "foo_bar.com:8080", 0, NULL, "foo_bar.com", "8080", NULL, NULL },
	{ "foo/foo_bar.com:8080", 0, "foo", "foo_bar.com", "8080", NULL, NULL },
	{ "192.168.1.1", 0, NULL, "192.168.1.1", NULL, NULL, NULL },
	{ "192.168.1.1:tag", 0, NULL, "192.168.1.1", "tag", NULL, NULL },
	{ "192.168.1.1/repo", 0, "192.168.1.1", "repo", NULL, NULL, NULL },
	{ "192.168.1.1:5000/repo:5050", 0, "192.168.1.1:5000", "repo", "5050", NULL, NULL },
	{ "[2001:db8::1]/repo", 0, "[2001:db8::1]", "repo", NULL, NULL, NULL },
	{ "[2001:db8:1:2:3:4:5:6]/repo:tag", 0, "[2001:db8:1:2:3:4:5:6]", "repo", "tag", NULL, NULL },
	{ "[2001:db8::1]:5000/repo:tag@" D256, 0, "[2001:db8::1]:5000", "repo", "tag", D256, NULL },
	{ "[2001:db8::]:5000/repo", 0, "[2001:db8::]:5000", "repo", NULL, NULL, NULL },
	{ "[::1]:5000/foo:tag", 0, "[::1]:5000", "foo", "tag", NULL, NULL },
	{ "localhost:5000/foo", 0, "localhost:5000", "foo", NULL, NULL, NULL },
	{ "localhost:5000", 0, NULL, "localhost", "5000", NULL, NULL },
	{ "host:5000/a/b:tag@" D256, 0, "host:5000", "a/b", "tag", D256, NULL },
	{ "busybox@" D256, 0, NULL, "busybox", NULL, D256, NULL },
	{ "a__b", 0, NULL, "a__b", NULL, NULL, NULL },
	{ "a---b.c_d", 0, NULL, "a---b.c_d", NULL, NULL, NULL },
	{ "a/b/c/d", 0, "a", "b/c/d", NULL, NULL, NULL },
	{ "a_b/c", 0, NULL, "a_b/c", NULL, NULL, NULL },
	{ "x:_", 0, NULL, "x", "_", NULL, NULL },

	BAD("", ERR_INVALID, "reference '' is invalid: it is empty"),
	BAD(":justtag", ERR_INVALID, "repository name is missing"),
	BAD("@" D256, ERR_INVALID, "repository name is missing"),
	BAD("repo@sha256:ffffffffffffffffffffffffffffffffff", ERR_INVALID, "must be 64 characters, not 34"),
	BAD("validname@invaliddigest:" F64, ERR_UNSUPPORTED, "'invaliddigest' is not supported"),
	BAD("repo@sha256:" BB "A", ERR_INVALID, "lowercase hex"),
	BAD("repo@SHA256:" BB, ERR_INVALID, "algorithm must be lowercase"),
	BAD("repo@", ERR_INVALID, "digest after '@' is empty"),
	BAD("repo:tag@", ERR_INVALID, "digest after '@' is empty"),
	BAD("repo@" D256 "@" D256, ERR_INVALID, "invalid character '@'"),
	BAD("Uppercase:tag", ERR_INVALID, "repository name must be lowercase"),
	BAD("test:5000/Uppercase/lowercase:tag", ERR_INVALID, "must be lowercase"),
	BAD("aa/asdf$$^/aa", ERR_INVALID, "path component 'asdf$$^' contains invalid character '$'"),
	BAD("[2001:db8::1]", ERR_INVALID, "IPv6 domain must be followed by '/'"),
	BAD("[2001:db8::1]:5000", ERR_INVALID, "IPv6 domain must be followed by '/'"),
	BAD("[2001:db8::1]:tag", ERR_INVALID, "IPv6 domain must be followed by '/'"),
	BAD("[fe80::1%eth0]:5000/repo", ERR_INVALID, "contains invalid character '%'"),
	BAD("[fe80::1%@invalidzone]:5000/repo", ERR_INVALID, "IPv6 domain must be followed by '/'"),
	BAD("[::1/foo", ERR_INVALID, "'[' without ']'"),
	BAD("[]/foo", ERR_INVALID, "empty IPv6 address"),
	BAD("[::1]x/foo", ERR_INVALID, "characters after the IPv6 address"),
	BAD("[::1]:/foo", ERR_INVALID, "empty port"),
	BAD("host:/foo", ERR_INVALID, "domain 'host:' has an empty port"),
	BAD("host:50a0/foo", ERR_INVALID, "port of domain 'host:50a0' must be decimal digits"),
	BAD("host:5000:1/foo", ERR_INVALID, "must be decimal digits"),
	BAD("exa_mple.com:5000/foo", ERR_INVALID, "domain 'exa_mple.com:5000' contains invalid character '_'"),
	BAD("-host.com:5000/foo", ERR_INVALID, "does not start and end with a letter or digit"),
	BAD("a..b", ERR_INVALID, "path component 'a..b' has an invalid separator '..'"),
	BAD("a___b", ERR_INVALID, "invalid separator '___'"),
	BAD("a_.b", ERR_INVALID, "invalid separator '_.'"),
	BAD("a-.b", ERR_INVALID, "invalid separator '-.'"),
	BAD("-a", ERR_INVALID, "path component '-a' must start with a lowercase letter or digit"),
	BAD("a-", ERR_INVALID, "path component 'a-' must end with a lowercase letter or digit"),
	BAD("_a", ERR_INVALID, "must start with"),
	BAD("a/b-/c", ERR_INVALID, "'b-' must end with"),
	BAD("a//b", ERR_INVALID, "has an empty component"),
	BAD("a/b/", ERR_INVALID, "has an empty component"),
	BAD("a/", ERR_INVALID, "repository path is empty"),
	BAD("/a", ERR_INVALID, "has an empty component"),
	BAD("foo:", ERR_INVALID, "tag is empty"),
	BAD("foo:-x", ERR_INVALID, "tag '-x' must start with a letter, digit or '_'"),
	BAD("foo:.x", ERR_INVALID, "must start with"),
	BAD("foo:bar:baz", ERR_INVALID, "tag 'bar:baz' contains invalid character ':'"),
	BAD("foo:ta g", ERR_INVALID, "invalid character ' '"),
	BAD("foo bar", ERR_INVALID, "invalid character ' '"),
	BAD("foo\tbar", ERR_INVALID, "invalid character '\\x09'"),
	BAD("f\xc3\xa9", ERR_INVALID, "'\\xc3'"),
	BAD("https://github.com/docker/docker", ERR_INVALID, "domain 'https:' has an empty port"),
};

static const char *or_null(const char *s)
{
	return s != NULL ? s : "(null)";
}

static void test_strict_table(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(strict_cases); i++) {
		const struct strict_case *c = &strict_cases[i];
		cleanup_ref struct ref r = { 0 };
		cleanup_err struct err *e = NULL;
		int rc = ref_parse(&r, c->in, &e);
		if (c->code != 0) {
			is_int(rc, c->code, "parse '%s' fails: %s", tap_esc(c->in), err_msg(e));
			if (c->reason != NULL)
				like(err_msg(e), c->reason, "reason for '%s'", tap_esc(c->in));
			ok(r.path == NULL && r.domain == NULL && r.tag == NULL && r.digest == NULL,
			   "output zeroed after '%s'", tap_esc(c->in));
			continue;
		}
		if (!ok(rc == 0, "parse '%s'", tap_esc(c->in))) {
			diag("  %s", err_msg(e));
			continue;
		}
		ok(str_eq(or_null(r.domain), or_null(c->domain)) && str_eq(r.path, c->path) &&
			   str_eq(or_null(r.tag), or_null(c->tag)) &&
			   str_eq(or_null(r.digest), or_null(c->digest)),
		   "'%s' -> domain %s path %s tag %s digest %s", tap_esc(c->in), or_null(r.domain),
		   or_null(r.path), or_null(r.tag), or_null(r.digest));
		cleanup_free char *s = ref_string(&r);
		is_str(s, c->in, "'%s' formats back exactly", tap_esc(c->in));
	}
}

static char *repeat(const char *unit, size_t times, const char *suffix)
{
	size_t u = strlen(unit), sl = strlen(suffix);
	char *s = xmalloc(u * times + sl + 1);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * u, unit, u);
	memcpy(s + u * times, suffix, sl + 1);
	return s;
}

static void test_lengths(void)
{
	cleanup_err struct err *e = NULL;
	struct ref r = { 0 };

	/* path of exactly 255 after the domain "a" */
	cleanup_free char *p255 = repeat("a/", 128, "a:tag");
	is_int(ref_parse(&r, p255, &e), 0, "path of 255 characters is fine");
	is_int(r.path != NULL ? strlen(r.path) : 0, 255, "path length 255");
	ref_release(&r);
	ok(r.path == NULL, "ref_release zeroes");

	cleanup_free char *p256 = repeat("a", 256, "");
	cleanup_free char *in = xasprintf("domain/%s:tag", p256);
	is_int(ref_parse(&r, in, &e), ERR_INVALID, "path of 256 characters rejected");
	like(err_msg(e), "must not be more than 255 characters (it has 256)", "too long reason");
	like(err_msg(e), "...' is invalid", "long input truncated in the message");
	err_freep(&e);

	/* the domain does not count (current distribution; docker 20.10 counted it) */
	cleanup_free char *p255b = repeat("a", 255, "");
	cleanup_free char *in2 = xasprintf("example.com/%s:tag", p255b);
	is_int(ref_parse(&r, in2, &e), 0, "name of 267 with a path of 255 is fine");
	ref_release(&r);

	cleanup_free char *t128 = repeat("t", 128, "");
	cleanup_free char *in3 = xasprintf("foo:%s", t128);
	is_int(ref_parse(&r, in3, NULL), 0, "tag of 128 characters");
	is_int(r.tag != NULL ? strlen(r.tag) : 0, 128, "tag kept whole");
	ref_release(&r);
	cleanup_free char *in4 = xasprintf("foo:%st", t128);
	is_int(ref_parse(&r, in4, &e), ERR_INVALID, "tag of 129 characters rejected");
	like(err_msg(e), "is longer than 128 characters", "tag length reason");
	err_freep(&e);

	cleanup_free char *huge = repeat("a", BALE_MAX_REFERENCE + 1, "");
	is_int(ref_parse(&r, huge, &e), ERR_TOOBIG, "reference over BALE_MAX_REFERENCE");
	like(err_msg(e), "longer than 4096 bytes", "cap reason");
	ok(strlen(err_msg(e)) < 200, "message short (%zu)", strlen(err_msg(e)));
	err_freep(&e);
	is_int(ref_parse_normalized(&r, huge, NULL), ERR_TOOBIG, "normalized: over the cap");

	/* a normalized reference must still fit the cap once formatted */
	cleanup_free char *dom = repeat("a.", 2044, "com/x");
	ok(strlen(dom) <= BALE_MAX_REFERENCE, "long domain input fits (%zu)", strlen(dom));
	is_int(ref_parse(&r, dom, NULL), 0, "strict: long domain parses");
	ref_release(&r);
	is_int(ref_parse_normalized(&r, dom, &e), ERR_TOOBIG, "normalized: ':latest' would overflow");
	like(err_msg(e), "normalized, it would be longer than 4096 bytes", "overflow reason");
	err_freep(&e);
}

/* ---- normalized parsing (ParseNormalizedNamed + latest) ---- */

struct norm_case {
	const char *in;
	int code;
	const char *full;     /* ref_string */
	const char *familiar; /* ref_familiar */
	const char *reason;
};

#undef BAD
#define BAD(in, code, reason) { in, code, NULL, NULL, reason }
static const struct norm_case norm_cases[] = {
	{ "busybox", 0, "docker.io/library/busybox:latest", "busybox:latest", NULL },
	{ "busybox:1.36", 0, "docker.io/library/busybox:1.36", "busybox:1.36", NULL },
	{ "docker.io/busybox", 0, "docker.io/library/busybox:latest", "busybox:latest", NULL },
	{ "docker.io/library/busybox", 0, "docker.io/library/busybox:latest", "busybox:latest", NULL },
	{ "index.docker.io/library/x", 0, "docker.io/library/x:latest", "x:latest", NULL },
	{ "index.docker.io/x", 0, "docker.io/library/x:latest", "x:latest", NULL },
	{ "index.docker.io/user/x:2", 0, "docker.io/user/x:2", "user/x:2", NULL },
	{ "library/ubuntu", 0, "docker.io/library/ubuntu:latest", "ubuntu:latest", NULL },
	{ "library/foo/bar", 0, "docker.io/library/foo/bar:latest", "library/foo/bar:latest", NULL },
	{ "user/app:1", 0, "docker.io/user/app:1", "user/app:1", NULL },
	{ "other/library", 0, "docker.io/other/library:latest", "other/library:latest", NULL },
	{ "ubuntu-12.04-base", 0, "docker.io/library/ubuntu-12.04-base:latest", "ubuntu-12.04-base:latest", NULL },
	{ "localhost/foo", 0, "localhost/foo:latest", "localhost/foo:latest", NULL },
	{ "localhost/library/debian", 0, "localhost/library/debian:latest", "localhost/library/debian:latest", NULL },
	{ "localhost:5000/foo", 0, "localhost:5000/foo:latest", "localhost:5000/foo:latest", NULL },
	{ "localhost", 0, "docker.io/library/localhost:latest", "localhost:latest", NULL },
	{ "localhost:5000", 0, "docker.io/library/localhost:5000", "localhost:5000", NULL },
	{ "192.168.0.1", 0, "docker.io/library/192.168.0.1:latest", "192.168.0.1:latest", NULL },
	{ "192.168.0.1:80", 0, "docker.io/library/192.168.0.1:80", "192.168.0.1:80", NULL },
	{ "127.0.0.1:5000/docker/docker", 0, "127.0.0.1:5000/docker/docker:latest",
	  "127.0.0.1:5000/docker/docker:latest", NULL },
	{ "reg.local:5000/team/app:1", 0, "reg.local:5000/team/app:1", "reg.local:5000/team/app:1", NULL },
	{ "[::1]:5000/foo:tag", 0, "[::1]:5000/foo:tag", "[::1]:5000/foo:tag", NULL },
	{ "[fc00:1:2:3:4:5:6:7]:5000/library/debian", 0, "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest",
	  "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest", NULL },
	{ "host:5000/a/b:tag@" D256, 0, "host:5000/a/b:tag@" D256, "host:5000/a/b:tag@" D256, NULL },
	{ "Foo/bar", 0, "Foo/bar:latest", "Foo/bar:latest", NULL },
	{ "LOCALDOMAIN/library/debian", 0, "LOCALDOMAIN/library/debian:latest",
	  "LOCALDOMAIN/library/debian:latest", NULL },
	{ "busybox@sha256:" BB, 0, "docker.io/library/busybox@sha256:" BB, "busybox@sha256:" BB, NULL },
	{ "busybox:latest@sha256:" BB, 0, "docker.io/library/busybox:latest@sha256:" BB,
	  "busybox:latest@sha256:" BB, NULL },
	{ "user/app@" D512, 0, "docker.io/user/app@" D512, "user/app@" D512, NULL },
	{ "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", 0,
	  "docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest",
	  "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest", NULL },
	{ "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9", 0,
	  "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest",
	  "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest", NULL },
	{ "dock__er/docker", 0, "docker.io/dock__er/docker:latest", "dock__er/docker:latest", NULL },
	{ "docker---rules/docker", 0, "docker.io/docker---rules/docker:latest", "docker---rules/docker:latest", NULL },
	{ "d/docker", 0, "docker.io/d/docker:latest", "d/docker:latest", NULL },
	/* familiar keeps docker.io where dropping it would name another registry */
	{ "docker.io/foo.bar/x", 0, "docker.io/foo.bar/x:latest", "docker.io/foo.bar/x:latest", NULL },
	{ "docker.io/localhost/x", 0, "docker.io/localhost/x:latest", "docker.io/localhost/x:latest", NULL },
	{ "docker.io/library/foo.bar", 0, "docker.io/library/foo.bar:latest", "foo.bar:latest", NULL },

	BAD("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", ERR_INVALID,
	    "is an image ID, not a repository name"),
	BAD("foo/Bar", ERR_INVALID, "repository name must be lowercase"),
	BAD("docker/Docker", ERR_INVALID, "repository name must be lowercase"),
	BAD("FOO", ERR_INVALID, "repository name must be lowercase"),
	BAD("docker.io/docker/Docker", ERR_INVALID, "must be lowercase"),
	BAD("https://github.com/docker/docker", ERR_INVALID, "empty port"),
	BAD("-docker", ERR_INVALID, "must start with a lowercase letter or digit"),
	BAD("-docker/docker", ERR_INVALID, "must start with"),
	BAD("docker-/docker", ERR_INVALID, "must end with"),
	BAD("-docker.io/docker/docker", ERR_INVALID, "does not start and end with"),
	BAD("docker///docker", ERR_INVALID, "empty component"),
	BAD("docker.io/docker///docker", ERR_INVALID, "empty component"),
	BAD("____/____", ERR_INVALID, "must start with"),
	BAD("dock..er/docker", ERR_INVALID, "domain 'dock..er' has an empty component"),
	BAD("dock_.er/docker", ERR_INVALID, "domain 'dock_.er' contains invalid character '_'"),
	BAD("docker/", ERR_INVALID, "has an empty component"),
	BAD("docker.io/", ERR_INVALID, "repository path is empty"),
	BAD("[fc00::1]", ERR_INVALID, "IPv6"),
	BAD("[fc00::1]:5000", ERR_INVALID, "IPv6"),
	BAD("fc00::1:5000/debian", ERR_INVALID, "domain 'fc00::1:5000'"),
	BAD("[fe80::1%eth0]:5000/debian", ERR_INVALID, "'%'"),
	BAD("[2001:db8:3:4::192.0.2.33]:5000/debian", ERR_INVALID, "invalid character '.'"),
	BAD("foo_bar.com/x", ERR_INVALID, "domain 'foo_bar.com' contains invalid character '_'"),
	BAD("a..b/c", ERR_INVALID, "domain 'a..b' has an empty component"),
	BAD("", ERR_INVALID, "it is empty"),
	BAD(":tag", ERR_INVALID, "repository name is missing"),
	BAD("@" D256, ERR_INVALID, "repository name is missing"),
	BAD("busybox@sha256:" BB "0", ERR_INVALID, "not 65"),
	BAD("busybox@foo:" F64, ERR_UNSUPPORTED, "'foo' is not supported"),
	BAD("this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_"
	    "namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_"
	    "lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_"
	    "255/docker",
	    ERR_INVALID, "must not be more than 255 characters"),
};

static void test_normalized_table(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(norm_cases); i++) {
		const struct norm_case *c = &norm_cases[i];
		cleanup_ref struct ref r = { 0 };
		cleanup_err struct err *e = NULL;
		int rc = ref_parse_normalized(&r, c->in, &e);
		if (c->code != 0) {
			is_int(rc, c->code, "normalized '%s' fails: %s", tap_esc(c->in), err_msg(e));
			if (c->reason != NULL)
				like(err_msg(e), c->reason, "reason for '%s'", tap_esc(c->in));
			continue;
		}
		if (!ok(rc == 0, "normalized '%s'", tap_esc(c->in))) {
			diag("  %s", err_msg(e));
			continue;
		}
		cleanup_free char *full = ref_string(&r);
		cleanup_free char *fam = ref_familiar(&r);
		is_str(full, c->full, "'%s' normalizes", tap_esc(c->in));
		is_str(fam, c->familiar, "'%s' familiar form", tap_esc(c->in));

		/* the familiar form reads back as the same reference */
		cleanup_ref struct ref back = { 0 };
		is_int(ref_parse_normalized(&back, fam, NULL), 0, "familiar '%s' parses", fam);
		cleanup_free char *full2 = back.path != NULL ? ref_string(&back) : NULL;
		is_str(full2, c->full, "familiar '%s' round trips", fam);

		/* the full form parses strictly to the same parts */
		cleanup_ref struct ref strict = { 0 };
		is_int(ref_parse(&strict, full, NULL), 0, "full '%s' parses strictly", full);
		ok(str_eq(strict.domain, r.domain) && str_eq(strict.path, r.path),
		   "strict split of '%s' agrees", full);
	}
}

static void test_names(void)
{
	cleanup_ref struct ref r = { 0 };
	is_int(ref_parse_normalized(&r, "busybox", NULL), 0, "parse busybox");
	cleanup_free char *name = ref_name(&r);
	is_str(name, "docker.io/library/busybox", "ref_name");
	is_str(r.domain, "docker.io", "domain");
	is_str(r.path, "library/busybox", "path");
	is_str(r.tag, "latest", "default tag");
	ok(r.digest == NULL, "no digest");

	cleanup_ref struct ref s = { 0 };
	is_int(ref_parse(&s, "busybox", NULL), 0, "strict busybox");
	ok(s.domain == NULL && s.tag == NULL, "strict adds nothing");
	cleanup_free char *n2 = ref_name(&s);
	is_str(n2, "busybox", "ref_name without domain");
	cleanup_free char *f2 = ref_familiar(&s);
	is_str(f2, "busybox", "familiar without domain");

	cleanup_ref struct ref d = { 0 };
	is_int(ref_parse_normalized(&d, "app@" D256, NULL), 0, "digest-only normalized");
	ok(d.tag == NULL, "no latest when a digest is given");
	is_str(d.digest, D256, "digest kept");

	cleanup_ref struct ref h = { 0 };
	is_int(ref_parse(&h, "docker.io/library/" BB, NULL), 0, "strict hex path");
	cleanup_free char *fh = ref_familiar(&h);
	is_str(fh, "library/" BB, "familiar of a bare hex name keeps library/");
	cleanup_ref struct ref hb = { 0 };
	is_int(ref_parse_normalized(&hb, fh, NULL), 0, "and it parses back");
}

static void test_parts(void)
{
	cleanup_err struct err *e = NULL;
	static const char *good_repos[] = { "a", "library/busybox", "a__b/c-d.e", "0/1/2", "a---b" };
	static const char *bad_repos[] = { "", "Foo", "a//b", "a/", "/a", "localhost:5000/foo", "a___b",
					   "a..b", "-a", "a b", "a@b" };
	for (size_t i = 0; i < ARRAY_SIZE(good_repos); i++)
		ok(ref_repo_name_valid(good_repos[i]), "repository name '%s' valid", good_repos[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad_repos); i++)
		ok(!ref_repo_name_valid(bad_repos[i]), "repository name '%s' invalid", bad_repos[i]);
	cleanup_free char *r255 = repeat("ab/", 85, "");
	r255[254] = 'c';
	ok(ref_repo_name_valid(r255), "repository name of 255");
	cleanup_free char *r256 = xasprintf("%sd", r255);
	is_int(ref_repo_name_check(r256, &e), ERR_INVALID, "repository name of 256");
	like(err_msg(e), "(it has 256)", "length reported");
	err_freep(&e);
	is_int(ref_repo_name_check("team/App", &e), ERR_INVALID, "uppercase repository");
	like(err_msg(e), "repository name 'team/App' is invalid: repository name must be lowercase",
	     "uppercase reason");
	err_freep(&e);

	static const char *good_tags[] = { "latest", "_x", "v1.0-rc.1", "A", "0", "a_b.c-d" };
	static const char *bad_tags[] = { "", "-x", ".x", "a/b", "a:b", "a@b", "é" };
	for (size_t i = 0; i < ARRAY_SIZE(good_tags); i++)
		ok(ref_tag_valid(good_tags[i]), "tag '%s' valid", good_tags[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad_tags); i++)
		ok(!ref_tag_valid(bad_tags[i]), "tag '%s' invalid", bad_tags[i]);
	cleanup_free char *t128 = repeat("x", 128, "");
	cleanup_free char *t129 = repeat("x", 129, "");
	ok(ref_tag_valid(t128), "tag of 128");
	is_int(ref_tag_check(t129, &e), ERR_INVALID, "tag of 129");
	like(err_msg(e), "longer than 128", "tag length reason");
	err_freep(&e);

	static const char *good_domains[] = { "localhost", "reg.local:5000", "[::1]:5000", "[::1]",
					      "A-b.c", "127.0.0.1:80", "xn--n3h.com" };
	static const char *bad_domains[] = { "", "host:", "ho_st", "[::1", ".a", "a.", "-a.com",
					     "a-.com", "[::1]:", "[::1]5", "h:1:2", "[1::g]" };
	for (size_t i = 0; i < ARRAY_SIZE(good_domains); i++)
		ok(ref_domain_valid(good_domains[i]), "domain '%s' valid", good_domains[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad_domains); i++)
		ok(!ref_domain_valid(bad_domains[i]), "domain '%s' invalid", bad_domains[i]);
}

static void test_error_shape(void)
{
	cleanup_err struct err *e = NULL;
	struct ref r = { 0 };
	is_int(ref_parse_normalized(&r, "foo@sha256:" F64 "F", &e), ERR_INVALID, "bad digest");
	like(err_msg(e), "reference 'foo@sha256:", "message names the reference");
	like(err_msg(e), "is invalid: digest 'sha256:", "then the digest");
	like(err_msg(e), "encoded part must be lowercase hex", "then the cause");
	err_freep(&e);

	is_int(ref_parse(&r, "foo\n\x1b[2J", &e), ERR_INVALID, "control bytes");
	ok(strchr(err_msg(e), '\n') == NULL && strchr(err_msg(e), '\x1b') == NULL,
	   "no raw control bytes in the message: %s", err_msg(e));
}

int main(void)
{
	test_strict_table();
	test_lengths();
	test_normalized_table();
	test_names();
	test_parts();
	test_error_shape();
	return tap_done();
}
