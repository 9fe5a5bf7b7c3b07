/* Request routing and header grammars (see routes.h). */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "common/reference.h"
#include "common/util.h"
#include "registry/routes.h"

static const char *const route_names[REG_ROUTE_COUNT_] = {
        [REG_ROUTE_NONE] = "none",
        [REG_ROUTE_BASE] = "base",
        [REG_ROUTE_CATALOG] = "catalog",
        [REG_ROUTE_TAGS] = "tags",
        [REG_ROUTE_MANIFEST] = "manifest",
        [REG_ROUTE_BLOB] = "blob",
        [REG_ROUTE_UPLOAD_NEW] = "upload_new",
        [REG_ROUTE_UPLOAD] = "upload",
        [REG_ROUTE_REFERRERS] = "referrers",
        [REG_ROUTE_TOKEN] = "token",
        [REG_ROUTE_METRICS] = "metrics",
        [REG_ROUTE_HEALTH] = "health",
};

const char *reg_route_name(enum reg_route_kind kind)
{
	if ((int)kind < 0 || kind >= REG_ROUTE_COUNT_)
		return "none";
	return route_names[kind];
}

/* Decode %XX (and '+' as space when plus is set) in place. */
static int decode_inplace(char *s, bool plus, bool slash_ok, struct err **err)
{
	char *w = s;
	for (const char *r = s; *r != '\0'; r++) {
		if (*r == '+' && plus) {
			*w++ = ' ';
			continue;
		}
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		int hi = hex_digit_value(r[1]), lo = hi >= 0 ? hex_digit_value(r[2]) : -1;
		if (hi < 0 || lo < 0)
			return err_set(err, ERR_INVALID,
			               "malformed percent-escape in request target");
		char c = (char)(hi * 16 + lo);
		if (c == '\0' || (c == '/' && !slash_ok))
			return err_set(err, ERR_INVALID, "escaped %s in request target",
			               c == '\0' ? "NUL" : "'/'");
		*w++ = c;
		r += 2;
	}
	*w = '\0';
	return 0;
}

int reg_path_decode(char *path, struct err **err)
{
	return decode_inplace(path, false, false, err);
}

/* Split the part of the path after "/v2/" at its last `n` components into
 * comps (comps[0] is the last); returns how many were found (at most n)
 * and cuts the string before them, leaving the name at the front. */
static size_t split_tail(char *p, char **comps, size_t n)
{
	size_t found = 0;
	while (found < n) {
		char *slash = strrchr(p, '/');
		if (slash == NULL)
			break;
		comps[found++] = slash + 1;
		*slash = '\0';
	}
	return found;
}

static void set_name(struct reg_route *out, const char *name)
{
	out->name = name;
	out->name_error = ref_repo_name_valid(name) ? 0 : ERR_INVALID;
}

static void set_digest_ref(struct reg_route *out, const char *ref)
{
	out->reference = ref;
	out->ref_is_digest = true;
	out->ref_error = digest_parse(&out->digest, ref, NULL);
}

static void set_manifest_ref(struct reg_route *out, const char *ref)
{
	if (strchr(ref, ':') != NULL) {
		set_digest_ref(out, ref);
		return;
	}
	out->reference = ref;
	out->ref_error = ref_tag_valid(ref) ? 0 : ERR_INVALID;
}

static bool upload_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n != REG_UPLOAD_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
			return false;
	return true;
}

/* Match "<name>/<tail>" where rest is everything after "/v2/". */
static void route_repo(struct reg_route *out, char *rest)
{
	char *c[3] = {NULL, NULL, NULL};
	size_t len = strlen(rest);
	/* "/v2/<name>/blobs/uploads/": the empty last component matters. */
	if (len > 0 && rest[len - 1] == '/') {
		rest[len - 1] = '\0';
		if (split_tail(rest, c, 2) == 2 && str_eq(c[0], "uploads") &&
		    str_eq(c[1], "blobs")) {
			out->kind = REG_ROUTE_UPLOAD_NEW;
			set_name(out, rest);
		}
		return;
	}
	size_t n = split_tail(rest, c, 3);
	if (n >= 3 && str_eq(c[1], "uploads") && str_eq(c[2], "blobs")) {
		out->kind = REG_ROUTE_UPLOAD;
		out->reference = c[0];
		out->ref_error = upload_id_valid(c[0]) ? 0 : ERR_INVALID;
		set_name(out, rest);
		return;
	}
	/* Not an upload: put the third component back into the name. */
	if (n == 3)
		c[2][-1] = '/';
	if (n >= 2 && str_eq(c[0], "uploads") && str_eq(c[1], "blobs")) {
		out->kind = REG_ROUTE_UPLOAD_NEW; /* POST without the trailing slash */
		set_name(out, rest);
		return;
	}
	if (n < 2 || c[0][0] == '\0' || rest[0] == '\0')
		return;
	if (str_eq(c[1], "tags") && str_eq(c[0], "list")) {
		out->kind = REG_ROUTE_TAGS;
	} else if (str_eq(c[1], "manifests")) {
		out->kind = REG_ROUTE_MANIFEST;
		set_manifest_ref(out, c[0]);
	} else if (str_eq(c[1], "blobs")) {
		out->kind = REG_ROUTE_BLOB;
		set_digest_ref(out, c[0]);
	} else if (str_eq(c[1], "referrers")) {
		out->kind = REG_ROUTE_REFERRERS;
		set_digest_ref(out, c[0]);
	} else {
		return;
	}
	set_name(out, rest);
}

void reg_route_parse(struct reg_route *out, char *path)
{
	memset(out, 0, sizeof(*out));
	if (str_eq(path, "/v2/") || str_eq(path, "/v2")) {
		out->kind = REG_ROUTE_BASE;
	} else if (str_eq(path, "/v2/_catalog")) {
		out->kind = REG_ROUTE_CATALOG;
	} else if (str_eq(path, "/token")) {
		out->kind = REG_ROUTE_TOKEN;
	} else if (str_eq(path, "/metrics")) {
		out->kind = REG_ROUTE_METRICS;
	} else if (str_eq(path, "/healthz") || str_eq(path, "/health")) {
		out->kind = REG_ROUTE_HEALTH;
	} else if (str_has_prefix(path, "/v2/")) {
		route_repo(out, path + 4);
	}
}

/* ---- query strings ---- */

void reg_query_release(struct reg_query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->keys[i]);
		free(q->values[i]);
	}
	q->n = 0;
}

static int query_add(struct reg_query *q, const char *s, size_t len, struct err **err)
{
	if (len == 0)
		return 0; /* "a=1&&b=2" */
	if (q->n == REG_MAX_QUERY_PARAMS)
		return err_set(err, ERR_TOOBIG, "more than %d query parameters",
		               REG_MAX_QUERY_PARAMS);
	const char *eq = memchr(s, '=', len);
	size_t klen = eq != NULL ? (size_t)(eq - s) : len;
	cleanup_free char *k = xstrndup(s, klen);
	cleanup_free char *v = eq != NULL ? xstrndup(eq + 1, len - klen - 1) : xstrdup("");
	if (decode_inplace(k, true, true, err) < 0 || decode_inplace(v, true, true, err) < 0)
		return ERR_INVALID;
	q->keys[q->n] = steal_pointer(&k);
	q->values[q->n] = steal_pointer(&v);
	q->n++;
	return 0;
}

int reg_query_parse(struct reg_query *q, const char *query, struct err **err)
{
	memset(q, 0, sizeof(*q));
	if (query == NULL)
		return 0;
	const char *p = query;
	for (;;) {
		const char *amp = strchr(p, '&');
		size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		int rc = query_add(q, p, len, err);
		if (rc < 0)
			return rc;
		if (amp == NULL)
			return 0;
		p = amp + 1;
	}
}

const char *reg_query_get(const struct reg_query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->keys[i], key) == 0)
			return q->values[i];
	return NULL;
}

size_t reg_query_count(const struct reg_query *q, const char *key)
{
	size_t n = 0;
	for (size_t i = 0; i < q->n; i++)
		n += strcmp(q->keys[i], key) == 0;
	return n;
}

/* ---- Range / Content-Range ---- */

/* Digits at *p into *out (at most 2^63-1); advances *p. False if none or
 * too big. */
static bool parse_num(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_C(0x7fffffffffffffff) - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return true;
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

enum reg_range_result reg_range_parse(const char *value, uint64_t size, uint64_t *first,
                                      uint64_t *len)
{
	uint64_t a = 0, b = 0;
	bool has_a, has_b;
	if (value == NULL)
		return REG_RANGE_NONE;
	const char *p = skip_ows(value);
	if (strncasecmp(p, "bytes", 5) != 0)
		return REG_RANGE_NONE;
	p = skip_ows(p + 5);
	if (*p++ != '=')
		return REG_RANGE_NONE;
	p = skip_ows(p);
	has_a = parse_num(&p, &a);
	if (*p++ != '-')
		return REG_RANGE_NONE;
	has_b = parse_num(&p, &b);
	p = skip_ows(p);
	if (*p != '\0' || (!has_a && !has_b))
		return REG_RANGE_NONE; /* a list of ranges, or garbage */
	if (!has_a) {
		/* suffix range: the last b bytes */
		if (b == 0)
			return REG_RANGE_UNSATISFIABLE;
		if (size == 0)
			return REG_RANGE_UNSATISFIABLE;
		*first = b >= size ? 0 : size - b;
		*len = size - *first;
		return REG_RANGE_OK;
	}
	if (has_b && b < a)
		return REG_RANGE_NONE; /* invalid range-spec: ignored */
	if (a >= size)
		return REG_RANGE_UNSATISFIABLE;
	if (!has_b || b >= size)
		b = size - 1;
	*first = a;
	*len = b - a + 1;
	return REG_RANGE_OK;
}

int reg_content_range_parse(const char *value, uint64_t *start, uint64_t *end, struct err **err)
{
	uint64_t a, b, total;
	const char *p = value != NULL ? skip_ows(value) : "";
	if (strncasecmp(p, "bytes", 5) == 0) {
		p = skip_ows(p + 5);
		if (*p == '=')
			p = skip_ows(p + 1);
	}
	if (!parse_num(&p, &a) || *p++ != '-' || !parse_num(&p, &b))
		goto bad;
	if (*p == '/') {
		p++;
		if (*p == '*')
			p++;
		else if (!parse_num(&p, &total) || total <= b)
			goto bad;
	}
	p = skip_ows(p);
	if (*p != '\0' || b < a)
		goto bad;
	*start = a;
	*end = b;
	return 0;
bad:
	return err_set(err, ERR_INVALID, "malformed Content-Range (want '<start>-<end>')");
}

/* ---- Accept ---- */

/* Whether one media-range (already trimmed, without parameters) covers
 * type. */
static bool media_range_covers(const char *range, size_t n, const char *type)
{
	if (n == 3 && memcmp(range, "*/*", 3) == 0)
		return true;
	if (n >= 2 && range[n - 1] == '*' && range[n - 2] == '/')
		return strncasecmp(range, type, n - 1) == 0;
	return strlen(type) == n && strncasecmp(range, type, n) == 0;
}

/* True when the parameters of one element say q=0. */
static bool params_refuse(const char *p, const char *end)
{
	while (p < end) {
		p = skip_ows(p + 1);
		if ((*p == 'q' || *p == 'Q') && p[1] == '=') {
			const char *v = p + 2;
			while (v < end && (*v == '0' || *v == '.'))
				v++;
			return v == end || *v == ';' || *v == ' ';
		}
		const char *semi = memchr(p, ';', (size_t)(end - p));
		p = semi != NULL ? semi : end;
	}
	return false;
}

bool reg_accept_allows(const char *value, const char *type)
{
	if (value == NULL || *skip_ows(value) == '\0')
		return true;
	const char *p = value;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		const char *end = comma != NULL ? comma : p + strlen(p);
		const char *s = skip_ows(p);
		const char *semi = memchr(s, ';', (size_t)(end - s));
		const char *tend = semi != NULL ? semi : end;
		while (tend > s && (tend[-1] == ' ' || tend[-1] == '\t'))
			tend--;
		if (media_range_covers(s, (size_t)(tend - s), type) &&
		    !(semi != NULL && params_refuse(semi, end)))
			return true;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return false;
}
