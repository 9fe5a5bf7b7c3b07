#include "config.h"

#include "common/reference.h"

#include <stdarg.h>
#include <string.h>

#include "common/digest.h"
#include "common/limits.h"
#include "common/util.h"

/* Longest piece of a hostile input we quote back in an error message. */

#define LIBRARY_PREFIX "library/"

/* A piece of the input: parsing never copies until it has succeeded. */
struct span {
	const char *p;
	size_t n;
};

struct parts {
	struct span name; /* domain and path, not yet split */
	struct span tag;
	struct span digest;
	bool has_tag;
	bool has_digest;
};

/* ---- error messages ---- */

/* "<what> '<part>' <why>"; quoting only when someone reads the message. */
static int bad_part(struct err **err, const char *what, const char *p, size_t n, const char *why)
{
	if (err == NULL)
		return ERR_INVALID;
	cleanup_free char *q = str_quote(p, n);
	return err_set(err, ERR_INVALID, "%s '%s' %s", what, q, why);
}

static int bad_char(struct err **err, const char *what, const char *p, size_t n, const char *c)
{
	if (err == NULL)
		return ERR_INVALID;
	cleanup_free char *q = str_quote(p, n);
	cleanup_free char *qc = str_quote(c, 1);
	return err_set(err, ERR_INVALID, "%s '%s' contains invalid character '%s'", what, q, qc);
}

/* ---- character classes (ASCII only, locale independent) ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c);
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || is_upper(c);
}

/* Go's \w, which the tag grammar uses. */
static bool is_word(char c)
{
	return is_alnum(c) || c == '_';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_path_sep(char c)
{
	return c == '.' || c == '_' || c == '-';
}

static bool has_char(struct span s, char c)
{
	return memchr(s.p, c, s.n) != NULL;
}

static bool has_upper(struct span s)
{
	for (size_t i = 0; i < s.n; i++) {
		if (is_upper(s.p[i]))
			return true;
	}
	return false;
}

static bool span_eq(struct span s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* docker's "identifier": a 64-hex image ID, never a repository name. */
static bool is_identifier(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	}
	return true;
}

/* ---- tag ---- */

static int tag_check(struct span t, struct err **err)
{
	if (t.n == 0)
		return err_set(err, ERR_INVALID, "tag is empty");
	if (t.n > BALE_MAX_TAG)
		return bad_part(err, "tag", t.p, t.n, "is longer than 128 characters");
	if (!is_word(t.p[0]))
		return bad_part(err, "tag", t.p, t.n, "must start with a letter, digit or '_'");
	for (size_t i = 1; i < t.n; i++) {
		if (!is_word(t.p[i]) && t.p[i] != '.' && t.p[i] != '-')
			return bad_char(err, "tag", t.p, t.n, t.p + i);
	}
	return 0;
}

/* ---- repository path ---- */

/* "." | "_" | "__" | "-"+: one period, one or two underscores, any dashes. */
static bool separator_ok(const char *p, size_t n)
{
	if (n == 1)
		return true;
	if (n == 2 && p[0] == '_' && p[1] == '_')
		return true;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '-')
			return false;
	}
	return true;
}

static int component_check(struct span c, struct err **err)
{
	static const char what[] = "path component";
	if (!is_lower_alnum(c.p[0])) {
		if (is_path_sep(c.p[0]))
			return bad_part(err, what, c.p, c.n, "must start with a lowercase letter or digit");
		return bad_char(err, what, c.p, c.n, c.p);
	}
	size_t i = 0;
	while (i < c.n) {
		while (i < c.n && is_lower_alnum(c.p[i]))
			i++;
		if (i == c.n)
			break;
		size_t start = i;
		while (i < c.n && is_path_sep(c.p[i]))
			i++;
		if (i == start)
			return bad_char(err, what, c.p, c.n, c.p + i);
		if (!separator_ok(c.p + start, i - start)) {
			if (err == NULL)
				return ERR_INVALID;
			cleanup_free char *q = str_quote(c.p, c.n);
			cleanup_free char *qs = str_quote(c.p + start, i - start);
			return err_set(err, ERR_INVALID, "%s '%s' has an invalid separator '%s'", what, q, qs);
		}
		if (i == c.n)
			return bad_part(err, what, c.p, c.n, "must end with a lowercase letter or digit");
	}
	return 0;
}

static int path_check(struct span p, struct err **err)
{
	if (p.n == 0)
		return err_set(err, ERR_INVALID, "repository path is empty");
	if (p.n > BALE_MAX_REPO_NAME)
		return err_set(err, ERR_INVALID,
			       "repository name must not be more than %d characters (it has %zu)",
			       BALE_MAX_REPO_NAME, p.n);
	if (has_upper(p))
		return err_set(err, ERR_INVALID, "repository name must be lowercase");
	const char *end = p.p + p.n;
	for (const char *c = p.p;; ) {
		const char *slash = memchr(c, '/', (size_t)(end - c));
		struct span comp = { c, (size_t)((slash != NULL ? slash : end) - c) };
		if (comp.n == 0)
			return bad_part(err, "repository path", p.p, p.n, "has an empty component");
		int rc = component_check(comp, err);
		if (rc < 0)
			return rc;
		if (slash == NULL)
			return 0;
		c = slash + 1;
	}
}

/* ---- domain ---- */

static int domain_name_check(struct span d, struct span host, struct err **err)
{
	static const char what[] = "domain";
	if (host.n == 0)
		return bad_part(err, what, d.p, d.n, "has an empty host name");
	const char *end = host.p + host.n;
	for (const char *c = host.p;; ) {
		const char *dot = memchr(c, '.', (size_t)(end - c));
		size_t n = (size_t)((dot != NULL ? dot : end) - c);
		if (n == 0)
			return bad_part(err, what, d.p, d.n, "has an empty component");
		for (size_t i = 0; i < n; i++) {
			if (!is_alnum(c[i]) && c[i] != '-')
				return bad_char(err, what, d.p, d.n, c + i);
		}
		if (c[0] == '-' || c[n - 1] == '-')
			return bad_part(err, what, d.p, d.n,
					"has a component that does not start and end with a letter or digit");
		if (dot == NULL)
			return 0;
		c = dot + 1;
	}
}

/* "[" [a-fA-F0-9:]+ "]": no zone ids, no embedded IPv4, as distribution. */
static int ipv6_check(struct span d, struct span host, struct err **err)
{
	static const char what[] = "domain";
	if (host.n < 2 || host.p[host.n - 1] != ']')
		return bad_part(err, what, d.p, d.n, "has '[' without ']'");
	if (host.n == 2)
		return bad_part(err, what, d.p, d.n, "has an empty IPv6 address");
	for (size_t i = 1; i + 1 < host.n; i++) {
		if (!is_hex(host.p[i]) && host.p[i] != ':')
			return bad_char(err, "IPv6 address of domain", d.p, d.n, host.p + i);
	}
	return 0;
}

static int port_check(struct span d, struct span port, struct err **err)
{
	if (port.n == 0)
		return bad_part(err, "domain", d.p, d.n, "has an empty port");
	for (size_t i = 0; i < port.n; i++) {
		if (!is_digit(port.p[i]))
			return bad_part(err, "port of domain", d.p, d.n, "must be decimal digits");
	}
	return 0;
}

static int domain_check(struct span d, struct err **err)
{
	if (d.n == 0)
		return err_set(err, ERR_INVALID, "domain is empty");
	const char *end = d.p + d.n;
	const char *host_end;
	int rc;
	if (d.p[0] == '[') {
		const char *close = memchr(d.p, ']', d.n);
		host_end = close != NULL ? close + 1 : end;
		rc = ipv6_check(d, (struct span){ d.p, (size_t)(host_end - d.p) }, err);
		if (rc == 0 && host_end < end && *host_end != ':')
			rc = bad_part(err, "domain", d.p, d.n, "has characters after the IPv6 address");
	} else {
		host_end = memchr(d.p, ':', d.n);
		if (host_end == NULL)
			host_end = end;
		rc = domain_name_check(d, (struct span){ d.p, (size_t)(host_end - d.p) }, err);
	}
	if (rc < 0 || host_end == end)
		return rc;
	return port_check(d, (struct span){ host_end + 1, (size_t)(end - host_end - 1) }, err);
}

/* ---- splitting ---- */

/* Cut s into name, tag and digest. The digest starts at the first '@' (no
 * other part may hold one); the tag at the first ':' after the last '/' of
 * what precedes, since a ':' before a '/' can only be a domain's port. */
static int split(const char *s, size_t n, struct parts *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	const char *at = memchr(s, '@', n);
	size_t nt = at != NULL ? (size_t)(at - s) : n;
	if (at != NULL) {
		out->has_digest = true;
		out->digest = (struct span){ at + 1, n - nt - 1 };
	}
	const char *slash = memrchr(s, '/', nt);
	const char *start = slash != NULL ? slash + 1 : s;
	const char *colon = memchr(start, ':', (size_t)(s + nt - start));
	if (slash == NULL && nt > 0 && s[0] == '[')
		return err_set(err, ERR_INVALID,
			       "an IPv6 domain must be followed by '/' and a repository path");
	out->name = (struct span){ s, (size_t)((colon != NULL ? colon : s + nt) - s) };
	if (colon != NULL) {
		out->has_tag = true;
		out->tag = (struct span){ colon + 1, (size_t)(s + nt - colon - 1) };
	}
	if (out->name.n == 0)
		return err_set(err, ERR_INVALID, "repository name is missing");
	return 0;
}

/* reference.Parse: the first of several components is the domain whenever
 * it is one (the regexp prefers the optional domain group). */
static int name_strict(struct span name, struct span *domain, struct span *path, struct err **err)
{
	const char *slash = memchr(name.p, '/', name.n);
	*domain = (struct span){ NULL, 0 };
	*path = name;
	if (slash != NULL) {
		struct span first = { name.p, (size_t)(slash - name.p) };
		if (domain_check(first, NULL) == 0) {
			*domain = first;
			*path = (struct span){ slash + 1, name.n - first.n - 1 };
		} else if (has_char(first, ':') || has_char(first, '[')) {
			/* only a domain may hold these: say what is wrong with it */
			return domain_check(first, err);
		}
	}
	return path_check(*path, err);
}

/* splitDockerDomain: which first components docker takes for a domain. */
static bool docker_domain_like(struct span first)
{
	return span_eq(first, "localhost") || has_char(first, '.') || has_char(first, ':') ||
	       has_upper(first);
}

/* ParseNormalizedNamed's split; *path_out is allocated because docker.io
 * names may need "library/" in front. */
static int name_normalized(struct span name, char **domain_out, char **path_out, struct err **err)
{
	const char *slash = memchr(name.p, '/', name.n);
	struct span first = { name.p, slash != NULL ? (size_t)(slash - name.p) : 0 };
	struct span path = name;
	const char *domain = REF_DEFAULT_DOMAIN;
	bool own_domain = false;

	if (slash != NULL && span_eq(first, "index.docker.io")) {
		path = (struct span){ slash + 1, name.n - first.n - 1 };
	} else if (slash != NULL && docker_domain_like(first)) {
		int rc = domain_check(first, err);
		if (rc < 0)
			return rc;
		own_domain = true;
		path = (struct span){ slash + 1, name.n - first.n - 1 };
	}
	bool library = !own_domain || span_eq(first, REF_DEFAULT_DOMAIN);
	if (library && path.n > 0 && !has_char(path, '/'))
		*path_out = xasprintf(LIBRARY_PREFIX "%.*s", (int)path.n, path.p);
	else
		*path_out = xstrndup(path.p, path.n);
	int rc = path_check((struct span){ *path_out, strlen(*path_out) }, err);
	if (rc < 0)
		return rc;
	*domain_out = own_domain ? xstrndup(first.p, first.n) : xstrdup(domain);
	return 0;
}

static int tag_and_digest(struct ref *out, const struct parts *pt, struct err **err)
{
	if (pt->has_tag) {
		int rc = tag_check(pt->tag, err);
		if (rc < 0)
			return rc;
		out->tag = xstrndup(pt->tag.p, pt->tag.n);
	}
	if (pt->has_digest) {
		struct digest d;
		if (pt->digest.n == 0)
			return err_set(err, ERR_INVALID, "digest after '@' is empty");
		int rc = digest_parse_n(&d, pt->digest.p, pt->digest.n, err);
		if (rc < 0)
			return rc;
		out->digest = xstrndup(pt->digest.p, pt->digest.n);
	}
	return 0;
}

static size_t formatted_len(const struct ref *r)
{
	size_t n = strlen(r->path);
	if (r->domain != NULL)
		n += strlen(r->domain) + 1;
	if (r->tag != NULL)
		n += strlen(r->tag) + 1;
	if (r->digest != NULL)
		n += strlen(r->digest) + 1;
	return n;
}

static int parse_parts(struct ref *out, const char *s, size_t n, bool normalize, struct err **err)
{
	struct parts pt;
	int rc = split(s, n, &pt, err);
	if (rc < 0)
		return rc;
	if (normalize) {
		if (is_identifier(s, n))
			return err_set(err, ERR_INVALID,
				       "a 64-character hexadecimal string is an image ID, not a repository name");
		rc = name_normalized(pt.name, &out->domain, &out->path, err);
	} else {
		struct span domain, path;
		rc = name_strict(pt.name, &domain, &path, err);
		if (rc == 0) {
			out->domain = domain.p != NULL ? xstrndup(domain.p, domain.n) : NULL;
			out->path = xstrndup(path.p, path.n);
		}
	}
	if (rc < 0)
		return rc;
	rc = tag_and_digest(out, &pt, err);
	if (rc < 0)
		return rc;
	if (normalize && out->tag == NULL && out->digest == NULL)
		out->tag = xstrdup(REF_DEFAULT_TAG);
	if (formatted_len(out) > BALE_MAX_REFERENCE)
		return err_set(err, ERR_TOOBIG, "normalized, it would be longer than %d bytes",
			       BALE_MAX_REFERENCE);
	return 0;
}

static int parse(struct ref *out, const char *s, bool normalize, struct err **err)
{
	memset(out, 0, sizeof(*out));
	size_t n = strnlen(s, BALE_MAX_REFERENCE + 1);
	int rc;
	if (n > BALE_MAX_REFERENCE)
		rc = err_set(err, ERR_TOOBIG, "it is longer than %d bytes", BALE_MAX_REFERENCE);
	else if (n == 0)
		rc = err_set(err, ERR_INVALID, "it is empty");
	else
		rc = parse_parts(out, s, n, normalize, err);
	if (rc < 0) {
		ref_release(out);
		if (err != NULL) {
			cleanup_free char *q = str_quote(s, n);
			err_wrap(err, "reference '%s' is invalid", q);
		}
	}
	return rc;
}

int ref_parse(struct ref *out, const char *s, struct err **err)
{
	return parse(out, s, false, err);
}

int ref_parse_normalized(struct ref *out, const char *s, struct err **err)
{
	return parse(out, s, true, err);
}

/* ---- formatting ---- */

static char *format(const char *domain, const char *path, const char *tag, const char *digest)
{
	return xasprintf("%s%s%s%s%s%s%s", domain != NULL ? domain : "", domain != NULL ? "/" : "",
			 path, tag != NULL ? ":" : "", tag != NULL ? tag : "",
			 digest != NULL ? "@" : "", digest != NULL ? digest : "");
}

char *ref_string(const struct ref *r)
{
	return format(r->domain, r->path, r->tag, r->digest);
}

char *ref_name(const struct ref *r)
{
	return format(r->domain, r->path, NULL, NULL);
}

char *ref_familiar(const struct ref *r)
{
	if (r->domain == NULL || strcmp(r->domain, REF_DEFAULT_DOMAIN) != 0)
		return ref_string(r);
	const char *path = r->path;
	const char *rest = path + strlen(LIBRARY_PREFIX);
	/* "library/x" -> "x", unless x alone would read as an image ID */
	if (str_has_prefix(path, LIBRARY_PREFIX) && strchr(rest, '/') == NULL &&
	    !(r->tag == NULL && r->digest == NULL && is_identifier(rest, strlen(rest))))
		path = rest;
	/* without the domain, would the first component be taken for one? */
	const char *slash = strchr(path, '/');
	if (slash != NULL && docker_domain_like((struct span){ path, (size_t)(slash - path) }))
		return ref_string(r);
	return format(NULL, path, r->tag, r->digest);
}

void ref_release(struct ref *r)
{
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

/* ---- single parts ---- */

int ref_repo_name_check(const char *name, struct err **err)
{
	size_t n = strlen(name);
	int rc = path_check((struct span){ name, n }, err);
	if (rc < 0 && err != NULL) {
		cleanup_free char *q = str_quote(name, n);
		err_wrap(err, "repository name '%s' is invalid", q);
	}
	return rc;
}

bool ref_repo_name_valid(const char *name)
{
	return ref_repo_name_check(name, NULL) == 0;
}

int ref_tag_check(const char *tag, struct err **err)
{
	return tag_check((struct span){ tag, strnlen(tag, BALE_MAX_TAG + 1) }, err);
}

bool ref_tag_valid(const char *tag)
{
	return ref_tag_check(tag, NULL) == 0;
}

int ref_domain_check(const char *domain, struct err **err)
{
	size_t n = strnlen(domain, BALE_MAX_REFERENCE + 1);
	if (n > BALE_MAX_REFERENCE)
		return err_set(err, ERR_INVALID, "domain is longer than %d bytes", BALE_MAX_REFERENCE);
	return domain_check((struct span){ domain, n }, err);
}

bool ref_domain_valid(const char *domain)
{
	return ref_domain_check(domain, NULL) == 0;
}
