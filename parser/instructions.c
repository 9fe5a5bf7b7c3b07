/* The second pass: what BuildKit's instructions package refuses when it
 * turns the tree into commands (argument counts, flags, --mount values,
 * HEALTHCHECK durations, stage names, instructions before the first FROM),
 * with the same messages, and the stage list. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "parser/parser-internal.h"
#include "parser/parser.h"

/* ------------------------------------------------------------ flags */

enum fl_type { FL_BOOL, FL_STRING, FL_STRINGS };

struct flag_spec {
	const char *name;
	enum fl_type type;
};

#define FLAGS_MAX 8

struct flag_vals {
	bool used[FLAGS_MAX];
	const char *value[FLAGS_MAX]; /* last value given (strings: last one) */
};

static const struct flag_spec no_flags[] = { { NULL, FL_BOOL } };
static const struct flag_spec from_flags[] = { { "platform", FL_STRING }, { NULL, FL_BOOL } };
static const struct flag_spec run_flags[] = {
	{ "mount", FL_STRINGS }, { "network", FL_STRING }, { "security", FL_STRING },
	{ "device", FL_STRINGS }, { NULL, FL_BOOL },
};
static const struct flag_spec copy_flags[] = {
	{ "chown", FL_STRING }, { "from", FL_STRING }, { "chmod", FL_STRING },
	{ "link", FL_BOOL }, { "exclude", FL_STRINGS }, { "parents", FL_BOOL },
	{ NULL, FL_BOOL },
};
static const struct flag_spec add_flags[] = {
	{ "chown", FL_STRING }, { "chmod", FL_STRING }, { "link", FL_BOOL },
	{ "keep-git-dir", FL_BOOL }, { "checksum", FL_STRING }, { "unpack", FL_BOOL },
	{ "exclude", FL_STRINGS }, { NULL, FL_BOOL },
};
static const struct flag_spec health_flags[] = {
	{ "interval", FL_STRING }, { "timeout", FL_STRING }, { "start-period", FL_STRING },
	{ "start-interval", FL_STRING }, { "retries", FL_STRING }, { NULL, FL_BOOL },
};

/* suggest.Search: the closest option under distance 3, first one wins. */
static const char *suggest(const char *val, const char *const *opts, size_t n, bool nocase)
{
	cleanup_free char *v = xstrdup(val);
	if (nocase)
		for (char *c = v; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	const char *best = NULL;
	size_t mind = 3;
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *o = xstrdup(opts[i]);
		if (nocase)
			for (char *c = o; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		if (strcmp(v, o) == 0)
			return NULL;
		size_t d = cf_levenshtein(v, o);
		if (d < mind) {
			best = opts[i];
			mind = d;
		}
	}
	return best;
}

static int unknown_flag(const struct flag_spec *spec, const char *flag, size_t namelen,
			struct err **err)
{
	const char *opts[FLAGS_MAX];
	size_t n = 0;
	for (; spec[n].name != NULL; n++)
		opts[n] = spec[n].name;
	cleanup_free char *arg = xstrndup(flag + 2, namelen - 2);
	const char *s = suggest(arg, opts, n, false);
	if (s != NULL)
		return err_set(err, ERR_INVALID, "unknown flag: %.*s (did you mean %s?)", (int)namelen,
			       flag, s);
	return err_set(err, ERR_INVALID, "unknown flag: %.*s", (int)namelen, flag);
}

static bool str_eq_lower(const char *s, const char *lower)
{
	return str_eq_nocase(s, lower);
}

/* BFlags.Parse. */
static int parse_flags(const struct cf_instruction *ins, const struct flag_spec *spec,
		       struct flag_vals *v, struct err **err)
{
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < ins->nflags; i++) {
		const char *a = ins->flags[i];
		if (strcmp(a, "--") == 0)
			return 0;
		if (strncmp(a, "--", 2) != 0)
			return err_set(err, ERR_INVALID, "arg should start with -- : %s", a);
		const char *eq = strchr(a, '=');
		size_t namelen = eq ? (size_t)(eq - a) : strlen(a);
		const char *value = eq ? eq + 1 : "";
		size_t k = 0;
		while (spec[k].name != NULL &&
		       !(strlen(spec[k].name) == namelen - 2 && memcmp(spec[k].name, a + 2, namelen - 2) == 0))
			k++;
		if (spec[k].name == NULL)
			return unknown_flag(spec, a, namelen, err);
		if (v->used[k] && spec[k].type != FL_STRINGS)
			return err_set(err, ERR_INVALID, "duplicate flag specified: %.*s", (int)namelen, a);
		v->used[k] = true;
		switch (spec[k].type) {
		case FL_BOOL:
			if (eq != NULL && *value == '\0')
				return err_set(err, ERR_INVALID, "missing a value on flag: %.*s", (int)namelen, a);
			if (*value == '\0' || str_eq_lower(value, "true"))
				v->value[k] = "true";
			else if (str_eq_lower(value, "false"))
				v->value[k] = "false";
			else
				return err_set(err, ERR_INVALID, "expecting boolean value for flag %.*s, not: %s",
					       (int)namelen, a, value);
			break;
		case FL_STRING:
		case FL_STRINGS:
			if (eq == NULL)
				return err_set(err, ERR_INVALID, "missing a value on flag: %.*s", (int)namelen, a);
			v->value[k] = value;
			break;
		}
	}
	return 0;
}

static size_t flag_index(const struct flag_spec *spec, const char *name)
{
	size_t k = 0;
	while (spec[k].name != NULL && strcmp(spec[k].name, name) != 0)
		k++;
	return k;
}

const char *cf_instruction_flag(const struct cf_instruction *ins, const char *name)
{
	size_t l = strlen(name);
	const char *found = NULL;
	for (size_t i = 0; i < ins->nflags; i++) {
		const char *a = ins->flags[i];
		if (strcmp(a, "--") == 0)
			break;
		if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, name, l) == 0) {
			if (a[2 + l] == '=')
				found = a + 3 + l;
			else if (a[2 + l] == '\0')
				found = "";
		}
	}
	return found;
}

/* ------------------------------------------------------------ values */

static bool go_parse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* strconv.ParseUint(s, base, 32) without prefixes or underscores. */
static bool go_parse_u32(const char *s, unsigned base, uint64_t *out)
{
	if (*s == '\0')
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (*s < '0' || d >= base)
			return false;
		v = v * base + d;
		if (v > UINT32_MAX)
			return false;
	}
	*out = v;
	return true;
}

/* docker/go-units RAMInBytes: ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$ */
static bool ram_in_bytes(const char *s, int64_t *out)
{
	const char *p = s;
	if (*p < '0' || *p > '9')
		return false;
	int dots = 0;
	while ((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')) {
		dots += *p == '.';
		p++;
	}
	if (dots > 1)
		return false; /* matches the regex but ParseFloat refuses it */
	cleanup_free char *num = xstrndup(s, (size_t)(p - s));
	if (*p == ' ')
		p++;
	double mult = 1;
	const char *units = "kmgtp";
	const char *u = *p ? strchr(units, *p | 0x20) : NULL;
	if (u != NULL && *p != '\0') {
		for (const char *c = units; c <= u; c++)
			mult *= 1024;
		p++;
	}
	if (*p == 'i' || *p == 'I')
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0')
		return false;
	double v = strtod(num, NULL) * mult;
	if (!(v < 9.2e18))
		v = 9.2e18;
	*out = (int64_t)v;
	return true;
}

static int go_parse_int32(const char *s, int64_t *out, struct err **err)
{
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p == '\0') {
		cleanup_free char *q = cf_go_quote_str(s);
		return err_set(err, ERR_INVALID, "strconv.ParseInt: parsing %s: invalid syntax", q);
	}
	int64_t v = 0;
	bool range = false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9') {
			cleanup_free char *q = cf_go_quote_str(s);
			return err_set(err, ERR_INVALID, "strconv.ParseInt: parsing %s: invalid syntax", q);
		}
		if (v <= 1LL << 32)
			v = v * 10 + (*p - '0');
		if (v > (neg ? (1LL << 31) : (1LL << 31) - 1))
			range = true;
	}
	if (range) {
		cleanup_free char *q = cf_go_quote_str(s);
		return err_set(err, ERR_INVALID, "strconv.ParseInt: parsing %s: value out of range", q);
	}
	*out = neg ? -v : v;
	return 0;
}

static int dur_err(struct err **err, const char *what, const char *orig)
{
	cleanup_free char *q = cf_go_quote_str(orig);
	return err_set(err, ERR_INVALID, "time: %s %s", what, q);
}

/* time.ParseDuration. */
int cf_parse_duration(const char *orig, int64_t *ns, struct err **err)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xC2\xB5s", 1000 }, { "\xCE\xBCs", 1000 },
		{ "ms", 1000000 }, { "s", 1000000000ULL }, { "m", 60000000000ULL },
		{ "h", 3600000000000ULL },
	};
	const char *s = orig;
	uint64_t d = 0;
	bool neg = false;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*s == '\0')
		return dur_err(err, "invalid duration", orig);
	while (*s != '\0') {
		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return dur_err(err, "invalid duration", orig);
		uint64_t v = 0, f = 0;
		double scale = 1;
		const char *st = s;
		while (*s >= '0' && *s <= '9') {
			if (v > (UINT64_MAX / 2) / 10)
				return dur_err(err, "invalid duration", orig);
			v = v * 10 + (uint64_t)(*s++ - '0');
			if (v > (uint64_t)1 << 63)
				return dur_err(err, "invalid duration", orig);
		}
		bool pre = s != st, post = false;
		if (*s == '.') {
			s++;
			const char *fs = s;
			bool overflow = false;
			while (*s >= '0' && *s <= '9') {
				if (!overflow) {
					if (f > (((uint64_t)1 << 63) - 1) / 10) {
						overflow = true;
					} else {
						f = f * 10 + (uint64_t)(*s - '0');
						scale *= 10;
					}
				}
				s++;
			}
			post = s != fs;
		}
		if (!pre && !post)
			return dur_err(err, "invalid duration", orig);
		size_t i = 0;
		while (s[i] != '\0' && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9'))
			i++;
		if (i == 0)
			return dur_err(err, "missing unit in duration", orig);
		uint64_t unit = 0;
		for (size_t k = 0; k < ARRAY_SIZE(units); k++)
			if (strlen(units[k].name) == i && memcmp(units[k].name, s, i) == 0)
				unit = units[k].ns;
		if (unit == 0) {
			cleanup_free char *u = xstrndup(s, i);
			cleanup_free char *qu = cf_go_quote_str(u);
			cleanup_free char *q = cf_go_quote_str(orig);
			return err_set(err, ERR_INVALID, "time: unknown unit %s in duration %s", qu, q);
		}
		s += i;
		if (v > ((uint64_t)1 << 63) / unit)
			return dur_err(err, "invalid duration", orig);
		v *= unit;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > (uint64_t)1 << 63)
				return dur_err(err, "invalid duration", orig);
		}
		d += v;
		if (d > (uint64_t)1 << 63)
			return dur_err(err, "invalid duration", orig);
	}
	if (neg) {
		*ns = d == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > (uint64_t)INT64_MAX)
		return dur_err(err, "invalid duration", orig);
	*ns = (int64_t)d;
	return 0;
}

/* ------------------------------------------------------------ --mount */

static const char *const mount_types[] = { "bind", "cache", "tmpfs", "secret", "ssh" };
static const char *const share_modes[] = { "shared", "private", "locked" };

const char *cf_mount_type_name(enum cf_mount_type t)
{
	return (size_t)t < ARRAY_SIZE(mount_types) ? mount_types[t] : "";
}

void cf_mount_release(struct cf_mount *m)
{
	free(m->from);
	free(m->source);
	free(m->target);
	free(m->id);
	free(m->sharing);
	free(m->env);
	memset(m, 0, sizeof(*m));
}

/* One CSV record as tonistiigi/go-csvvalue reads it (encoding/csv rules:
 * quoted fields, "" inside quotes; a trailing newline is allowed; an empty
 * record is io.EOF), with the same messages and columns. `what` names the
 * flag in the message ("mounts", "devices"). */
static int csv_error(struct err **err, const char *what, size_t off, const char *why)
{
	return err_set(err, ERR_INVALID, "failed to parse csv %s: parse error on line 1, column %zu: %s", what,
		       off + 1, why);
}

static int csv_fields(const char *s, const char *what, struct cf_strs *out, struct err **err)
{
	static const char quote_err[] = "extraneous or missing \" in quoted-field";
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == '\n')
		n -= n > 1 && s[n - 2] == '\r' ? 2 : 1;
	if (n == 0)
		return err_set(err, ERR_INVALID, "failed to parse csv %s: EOF", what);
	struct buf f;
	buf_init(&f, (size_t)-1 / 2);
	size_t pos = 0;
	int rc = 0;
	for (;;) {
		buf_reset(&f);
		if (pos == n || s[pos] != '"') {
			size_t e = pos;
			while (e < n && s[e] != ',')
				e++;
			const char *q = memchr(s + pos, '"', e - pos);
			if (q != NULL) {
				rc = csv_error(err, what, (size_t)(q - s), "bare \" in non-quoted-field");
				break;
			}
			cf_strs_pushn(out, s + pos, e - pos);
			if (e == n)
				break;
			pos = e + 1;
			continue;
		}
		pos++; /* the opening quote */
		bool next_field = false;
		for (;;) {
			const char *q = memchr(s + pos, '"', n - pos);
			if (q == NULL) {
				rc = csv_error(err, what, pos, quote_err);
				break;
			}
			buf_add(&f, s + pos, (size_t)(q - (s + pos)), NULL);
			pos = (size_t)(q - s) + 1;
			if (pos < n && s[pos] == '"') {
				buf_addch(&f, '"', NULL);
				pos++;
			} else if (pos < n && s[pos] == ',') {
				pos++;
				next_field = true;
				break;
			} else if (pos == n) {
				break;
			} else {
				rc = csv_error(err, what, pos - 1, quote_err);
				break;
			}
		}
		if (rc < 0)
			break;
		cf_strs_pushn(out, buf_str(&f), f.len);
		if (!next_field)
			break;
	}
	buf_release(&f);
	return rc;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static int mount_key_error(struct err **err, const char *key, const struct cf_mount *m)
{
	return err_set(err, ERR_INVALID, "unexpected key '%s' for mount type '%s'", key,
		       cf_mount_type_name(m->type));
}

/* A key=value field; roauto is cleared by explicit ro/rw. */
static int mount_field(struct cf_mount *m, const char *key, const char *field, const char *value,
		       bool *roauto, struct err **err)
{
	bool b;
	if (strcmp(key, "type") == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(mount_types); i++)
			if (str_eq_nocase(value, mount_types[i])) {
				m->type = (enum cf_mount_type)i;
				return 0;
			}
		const char *s = suggest(value, mount_types, ARRAY_SIZE(mount_types), false);
		if (s != NULL)
			return err_set(err, ERR_INVALID, "unsupported mount type \"%s\" (did you mean %s?)", value, s);
		return err_set(err, ERR_INVALID, "unsupported mount type \"%s\"", value);
	}
	if (strcmp(key, "from") == 0)
		set_str(&m->from, value);
	else if (strcmp(key, "source") == 0 || strcmp(key, "src") == 0)
		set_str(&m->source, value);
	else if (strcmp(key, "target") == 0 || strcmp(key, "dst") == 0 || strcmp(key, "destination") == 0)
		set_str(&m->target, value);
	else if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0 || strcmp(key, "readwrite") == 0 ||
		 strcmp(key, "rw") == 0) {
		if (!go_parse_bool(value, &b))
			return err_set(err, ERR_INVALID, "invalid value for %s: %s", key, value);
		bool ro = strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0;
		m->readonly = ro ? b : !b;
		*roauto = false;
	} else if (strcmp(key, "required") == 0) {
		if (m->type != CF_MOUNT_SECRET && m->type != CF_MOUNT_SSH)
			return mount_key_error(err, key, m);
		if (!go_parse_bool(value, &m->required))
			return err_set(err, ERR_INVALID, "invalid value for %s: %s", key, value);
	} else if (strcmp(key, "size") == 0) {
		if (m->type != CF_MOUNT_TMPFS)
			return mount_key_error(err, key, m);
		if (!ram_in_bytes(value, &m->size))
			return err_set(err, ERR_INVALID, "invalid value for %s: %s", key, value);
		m->has_size = true;
	} else if (strcmp(key, "id") == 0) {
		set_str(&m->id, value);
	} else if (strcmp(key, "sharing") == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(share_modes); i++)
			if (str_eq_nocase(value, share_modes[i])) {
				set_str(&m->sharing, share_modes[i]);
				return 0;
			}
		const char *s = suggest(value, share_modes, ARRAY_SIZE(share_modes), false);
		if (s != NULL)
			return err_set(err, ERR_INVALID, "unsupported sharing value \"%s\" (did you mean %s?)", value, s);
		return err_set(err, ERR_INVALID, "unsupported sharing value \"%s\"", value);
	} else if (strcmp(key, "mode") == 0) {
		if (!go_parse_u32(value, 8, &m->mode))
			return err_set(err, ERR_INVALID, "invalid value %s for mode", value);
		m->has_mode = true;
	} else if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
		uint64_t id;
		if (!go_parse_u32(value, 10, &id))
			return err_set(err, ERR_INVALID, "invalid value %s for %s", value, key);
		if (key[0] == 'u')
			m->uid = id, m->has_uid = true;
		else
			m->gid = id, m->has_gid = true;
	} else if (strcmp(key, "env") == 0) {
		set_str(&m->env, value);
	} else {
		static const char *const keys[] = {
			"type", "from", "source", "target", "readonly", "id", "sharing", "required",
			"size", "mode", "uid", "gid", "src", "dst", "destination", "ro", "rw",
			"readwrite", "env",
		};
		const char *s = suggest(key, keys, ARRAY_SIZE(keys), false);
		if (s != NULL)
			return err_set(err, ERR_INVALID, "unexpected key '%s' in '%s' (did you mean %s?)", key, field, s);
		return err_set(err, ERR_INVALID, "unexpected key '%s' in '%s'", key, field);
	}
	return 0;
}

static int mount_flag_only(struct cf_mount *m, const char *key, const char *field, bool *roauto,
			   struct err **err)
{
	if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0) {
		m->readonly = true;
		*roauto = false;
	} else if (strcmp(key, "readwrite") == 0 || strcmp(key, "rw") == 0) {
		m->readonly = false;
		*roauto = false;
	} else if (strcmp(key, "required") == 0) {
		if (m->type != CF_MOUNT_SECRET && m->type != CF_MOUNT_SSH)
			return mount_key_error(err, key, m);
		m->required = true;
	} else {
		return err_set(err, ERR_INVALID, "invalid field '%s' must be a key=value pair", field);
	}
	return 0;
}

static int mount_check(struct cf_mount *m, bool roauto, struct err **err)
{
	bool fileinfo = m->type == CF_MOUNT_SECRET || m->type == CF_MOUNT_SSH || m->type == CF_MOUNT_CACHE;
	const char *t = cf_mount_type_name(m->type);
	if (!fileinfo && m->has_mode)
		return err_set(err, ERR_INVALID, "mode not allowed for \"%s\" type mounts", t);
	if (!fileinfo && m->has_uid)
		return err_set(err, ERR_INVALID, "uid not allowed for \"%s\" type mounts", t);
	if (!fileinfo && m->has_gid)
		return err_set(err, ERR_INVALID, "gid not allowed for \"%s\" type mounts", t);
	if (roauto)
		m->readonly = !(m->type == CF_MOUNT_CACHE || m->type == CF_MOUNT_TMPFS);
	bool has_src = m->source && *m->source, has_id = m->id && *m->id;
	if (m->type == CF_MOUNT_SECRET) {
		if (m->from && *m->from)
			return err_set(err, ERR_INVALID, "secret mount should not have a from");
		if (m->sharing)
			return err_set(err, ERR_INVALID, "secret mount should not define sharing");
		if (!has_src && !(m->target && *m->target) && !has_id)
			return err_set(err, ERR_INVALID, "invalid secret mount. one of source, target required");
		if (has_src && has_id)
			return err_set(err, ERR_INVALID, "both source and id can't be set");
	}
	if (m->sharing && m->type != CF_MOUNT_CACHE)
		return err_set(err, ERR_INVALID, "invalid cache sharing set for %s mount", t);
	return 0;
}

static int mount_fields(struct cf_strs *fields, cf_word_expander expand, void *ctx, bool defer,
			struct cf_mount *m, struct err **err)
{
	bool roauto = true;
	for (size_t i = 0; i < fields->n; i++) {
		const char *field = fields->v[i];
		const char *eq = strchr(field, '=');
		cleanup_free char *key = xstrndup(field, eq ? (size_t)(eq - field) : strlen(field));
		for (char *c = key; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		int rc = 0;
		if (eq == NULL) {
			if (!defer)
				rc = mount_flag_only(m, key, field, &roauto, err);
		} else if (defer) {
			const char *d = strchr(eq + 1, '$');
			if (strcmp(key, "from") == 0 && d != NULL && d[1] != '\0')
				rc = err_set(err, ERR_INVALID,
					     "'%s' doesn't support variable expansion, define alias stage instead", key);
		} else if (expand != NULL) {
			cleanup_free char *v = NULL;
			rc = expand(ctx, eq + 1, &v, err);
			if (rc == 0)
				rc = mount_field(m, key, field, v, &roauto, err);
		} else {
			rc = mount_field(m, key, field, eq + 1, &roauto, err);
		}
		if (rc < 0)
			return rc;
	}
	return defer ? 0 : mount_check(m, roauto, err);
}

int cf_mount_parse(const char *value, cf_word_expander expand, void *ctx, struct cf_mount *m,
		   struct err **err)
{
	memset(m, 0, sizeof(*m));
	struct cf_strs fields = { 0 };
	int rc = csv_fields(value, "mounts", &fields, err);
	/* Without an expander a value that expansion could change is judged
	 * at build time, as BuildKit does; plain values are judged now. */
	bool defer = expand == NULL && strpbrk(value, "$\\'\"`") != NULL;
	if (rc == 0)
		rc = mount_fields(&fields, expand, ctx, defer, m, err);
	cf_strs_clear(&fields);
	free(fields.v);
	if (rc < 0)
		cf_mount_release(m);
	return rc;
}

/* ------------------------------------------------------------ --device */

/* BuildKit's ParseDevice, which runs at parse time on the raw value: a
 * bare first field is the name, `required` alone or required=BOOL, name=X.
 * *name is the name so far ("" for none). */
static int device_field(const char *field, const char **name, struct err **err)
{
	static const char *const keys[] = { "name", "required" };
	const char *eq = strchr(field, '=');
	cleanup_free char *key = xstrndup(field, eq ? (size_t)(eq - field) : strlen(field));
	for (char *c = key; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	bool b;
	if (strcmp(key, "required") == 0) {
		if (eq != NULL && !go_parse_bool(eq + 1, &b))
			return err_set(err, ERR_INVALID, "invalid value for %s: %s", key, eq + 1);
		return 0;
	}
	if (eq != NULL && strcmp(key, "name") == 0) {
		if (**name != '\0')
			return err_set(err, ERR_INVALID, "device name already set to %s", *name);
		*name = eq + 1;
		return 0;
	}
	if (**name == '\0') {
		*name = field;
		return 0;
	}
	if (eq == NULL)
		return err_set(err, ERR_INVALID, "invalid field '%s' must be a key=value pair", field);
	const char *s = suggest(key, keys, ARRAY_SIZE(keys), false);
	if (s != NULL)
		return err_set(err, ERR_INVALID, "unexpected key '%s' in '%s' (did you mean %s?)", key, field, s);
	return err_set(err, ERR_INVALID, "unexpected key '%s' in '%s'", key, field);
}

static int device_check(const char *value, struct err **err)
{
	struct cf_strs fields = { 0 };
	int rc = csv_fields(value, "devices", &fields, err);
	const char *name = "";
	for (size_t i = 0; rc == 0 && i < fields.n; i++)
		rc = device_field(fields.v[i], &name, err);
	cf_strs_clear(&fields);
	free(fields.v);
	return rc;
}

/* ------------------------------------------------------------ instructions */

static int exactly_one(const struct cf_instruction *ins, struct err **err)
{
	if (ins->nargs != 1)
		return err_set(err, ERR_INVALID, "%s requires exactly one argument", ins->keyword);
	return 0;
}

static int at_least_one(const struct cf_instruction *ins, struct err **err)
{
	if (ins->nargs == 0)
		return err_set(err, ERR_INVALID, "%s requires at least one argument", ins->keyword);
	return 0;
}

static int check_pairs(const struct cf_instruction *ins, struct err **err)
{
	if (ins->npairs == 0)
		return err_set(err, ERR_INVALID, "%s requires at least one argument", ins->keyword);
	for (size_t i = 0; i < ins->npairs; i++)
		if (ins->pairs[i].key[0] == '\0')
			return err_set(err, ERR_INVALID, "%s names can not be blank", ins->keyword);
	return 0;
}

static int check_copy(const struct cf_instruction *ins, const struct flag_spec *spec, struct err **err)
{
	struct flag_vals v;
	if (ins->nargs < 2)
		return err_set(err, ERR_INVALID,
			       "%s requires at least two arguments, but only one was provided. Destination could not be determined",
			       ins->keyword);
	int rc = parse_flags(ins, spec, &v, err);
	if (rc < 0)
		return rc;
	struct cf_heredoc h = { 0 };
	rc = cf_heredoc_parse_word(ins->args[ins->nargs - 1], &h, NULL);
	free(h.name);
	if (rc == 1)
		return err_set(err, ERR_INVALID, "%s cannot accept a heredoc as a destination", ins->keyword);
	return 0;
}

static bool valid_stage_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static char *lower_dup(const char *s)
{
	char *r = xstrdup(s);
	for (char *c = r; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	return r;
}

static int check_from(const struct cf_instruction *ins, struct err **err)
{
	struct flag_vals v;
	if (ins->nargs == 3 && str_eq_nocase(ins->args[1], "as")) {
		cleanup_free char *name = lower_dup(ins->args[2]);
		if (!valid_stage_name(name)) {
			cleanup_free char *q = cf_go_quote_str(ins->args[2]);
			return err_set(err, ERR_INVALID,
				       "invalid name for build stage: %s, name can't start with a number or contain symbols", q);
		}
	} else if (ins->nargs != 1) {
		return err_set(err, ERR_INVALID, "FROM requires either one or three arguments");
	}
	return parse_flags(ins, from_flags, &v, err);
}

static int check_run(const struct cf_instruction *ins, struct err **err)
{
	struct flag_vals v;
	int rc = parse_flags(ins, run_flags, &v, err);
	/* BuildKit's post-parse hooks run in this order: devices, mounts,
	 * network, security. */
	for (size_t i = 0; rc == 0 && i < ins->nflags; i++) {
		const char *a = ins->flags[i];
		if (strcmp(a, "--") == 0)
			break;
		if (strncmp(a, "--device=", 9) == 0)
			rc = device_check(a + 9, err);
	}
	for (size_t i = 0; rc == 0 && i < ins->nflags; i++) {
		const char *a = ins->flags[i];
		if (strcmp(a, "--") == 0)
			break;
		if (strncmp(a, "--mount=", 8) == 0) {
			struct cf_mount m;
			rc = cf_mount_parse(a + 8, NULL, NULL, &m, err);
			if (rc == 0)
				cf_mount_release(&m);
		}
	}
	if (rc < 0)
		return rc;
	const char *net = v.used[flag_index(run_flags, "network")] ? v.value[flag_index(run_flags, "network")] : "default";
	if (strcmp(net, "default") != 0 && strcmp(net, "none") != 0 && strcmp(net, "host") != 0)
		return err_set(err, ERR_INVALID, "invalid network mode \"%s\"", net);
	const char *sec = v.used[flag_index(run_flags, "security")] ? v.value[flag_index(run_flags, "security")] : "sandbox";
	if (strcmp(sec, "insecure") != 0 && strcmp(sec, "sandbox") != 0)
		return err_set(err, ERR_INVALID, "security \"%s\" is not valid", sec);
	return 0;
}

static int check_interval(const struct flag_vals *v, const char *name, struct err **err)
{
	size_t k = flag_index(health_flags, name);
	if (!v->used[k] || v->value[k][0] == '\0')
		return 0;
	int64_t d;
	int rc = cf_parse_duration(v->value[k], &d, err);
	if (rc < 0)
		return rc;
	if (d != 0 && d < 1000000)
		return err_set(err, ERR_INVALID, "Interval \"%s\" cannot be less than 1ms", name);
	return 0;
}

static int check_healthcheck(const struct cf_instruction *ins, struct err **err)
{
	struct flag_vals v;
	int rc = at_least_one(ins, err);
	if (rc < 0)
		return rc;
	cleanup_free char *typ = xstrdup(ins->args[0]);
	for (char *c = typ; *c; c++)
		*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
	if ((rc = parse_flags(ins, health_flags, &v, err)) < 0)
		return rc;
	if (strcmp(typ, "NONE") == 0) {
		if (ins->nargs != 1)
			return err_set(err, ERR_INVALID, "HEALTHCHECK NONE takes no arguments");
		return 0;
	}
	if (strcmp(typ, "CMD") != 0) {
		cleanup_free char *q = cf_go_quote_str(typ);
		return err_set(err, ERR_INVALID, "Unknown type %s in HEALTHCHECK (try CMD)", q);
	}
	if (ins->nargs == 1)
		return err_set(err, ERR_INVALID, "Missing command after HEALTHCHECK CMD");
	static const char *const intervals[] = { "interval", "timeout", "start-period", "start-interval" };
	for (size_t i = 0; i < ARRAY_SIZE(intervals); i++)
		if ((rc = check_interval(&v, intervals[i], err)) < 0)
			return rc;
	size_t k = flag_index(health_flags, "retries");
	if (v.used[k] && v.value[k][0] != '\0') {
		int64_t r = 0;
		if ((rc = go_parse_int32(v.value[k], &r, err)) < 0)
			return rc;
		if (r < 0)
			return err_set(err, ERR_INVALID, "--retries cannot be negative (%lld)", (long long)r);
	}
	return 0;
}

static int check_onbuild(const struct cf_instruction *ins, struct err **err)
{
	struct flag_vals v;
	if (ins->trigger == NULL)
		return err_set(err, ERR_INVALID, "ONBUILD requires at least one argument");
	int rc = parse_flags(ins, no_flags, &v, err);
	if (rc < 0)
		return rc;
	switch (ins->trigger->kind) {
	case CF_ONBUILD:
		return err_set(err, ERR_INVALID, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
	case CF_MAINTAINER:
	case CF_FROM:
		return err_set(err, ERR_INVALID, "%s isn't allowed as an ONBUILD trigger", ins->trigger->keyword);
	default:
		return 0;
	}
}

static int check_volume(const struct cf_instruction *ins, struct err **err)
{
	struct flag_vals v;
	int rc = at_least_one(ins, err);
	if (rc == 0)
		rc = parse_flags(ins, no_flags, &v, err);
	for (size_t i = 0; rc == 0 && i < ins->nargs; i++) {
		const char *a = ins->args[i];
		size_t l = strlen(a);
		if (cf_trim_left(a, l) == l)
			return err_set(err, ERR_INVALID, "VOLUME specified can not be an empty string");
	}
	return rc;
}

static int check_arg(const struct cf_instruction *ins, struct err **err)
{
	struct flag_vals v;
	int rc = at_least_one(ins, err);
	if (rc == 0)
		rc = parse_flags(ins, no_flags, &v, err);
	for (size_t i = 0; rc == 0 && i < ins->nargs; i++)
		if (ins->args[i][0] == '=')
			return err_set(err, ERR_INVALID, "ARG names can not be blank");
	return rc;
}

static int check_shell(const struct cf_instruction *ins, struct err **err)
{
	struct flag_vals v;
	int rc = parse_flags(ins, no_flags, &v, err);
	if (rc == 0 && ins->nargs == 0)
		rc = err_set(err, ERR_INVALID, "SHELL requires at least one argument");
	if (rc == 0 && ins->form != CF_FORM_EXEC)
		rc = err_set(err, ERR_INVALID, "SHELL requires the arguments to be in JSON form");
	return rc;
}

/* matchCase: the suggestion in the case the word was written in. */
static char *match_case(const char *word, const char *name)
{
	bool lower = true, upper = true;
	for (const char *c = word; *c; c++) {
		lower &= !(*c >= 'A' && *c <= 'Z');
		upper &= !(*c >= 'a' && *c <= 'z');
	}
	char *r = xstrdup(name);
	for (char *c = r; *c; c++)
		*c = (char)(upper && !lower ? *c : (*c >= 'A' && *c <= 'Z' ? *c + 32 : *c));
	return r;
}

static int check_unknown(const struct cf_instruction *ins, struct err **err)
{
	const char *names[CF_WORKDIR];
	for (int k = CF_ADD; k <= CF_WORKDIR; k++)
		names[k - 1] = cf_kind_name((enum cf_kind)k);
	const char *s = suggest(ins->keyword, names, ARRAY_SIZE(names), true);
	if (s != NULL) {
		cleanup_free char *m = match_case(ins->keyword, s);
		return err_set(err, ERR_INVALID, "unknown instruction: %s (did you mean %s?)", ins->keyword, m);
	}
	return err_set(err, ERR_INVALID, "unknown instruction: %s", ins->keyword);
}

static int check_instruction(const struct cf_instruction *ins, struct err **err)
{
	struct flag_vals v;
	int rc;
	switch (ins->kind) {
	case CF_ENV:
	case CF_LABEL:
		rc = parse_flags(ins, no_flags, &v, err);
		return rc < 0 ? rc : check_pairs(ins, err);
	case CF_MAINTAINER:
	case CF_WORKDIR:
	case CF_USER:
	case CF_STOPSIGNAL:
		rc = exactly_one(ins, err);
		return rc < 0 ? rc : parse_flags(ins, no_flags, &v, err);
	case CF_ADD:
		return check_copy(ins, add_flags, err);
	case CF_COPY:
		return check_copy(ins, copy_flags, err);
	case CF_FROM:
		return check_from(ins, err);
	case CF_ONBUILD:
		return check_onbuild(ins, err);
	case CF_RUN:
		return check_run(ins, err);
	case CF_CMD:
	case CF_ENTRYPOINT:
		return parse_flags(ins, no_flags, &v, err);
	case CF_HEALTHCHECK:
		return check_healthcheck(ins, err);
	case CF_EXPOSE:
		rc = at_least_one(ins, err);
		return rc < 0 ? rc : parse_flags(ins, no_flags, &v, err);
	case CF_VOLUME:
		return check_volume(ins, err);
	case CF_ARG:
		return check_arg(ins, err);
	case CF_SHELL:
		return check_shell(ins, err);
	case CF_UNKNOWN:
		return check_unknown(ins, err);
	}
	return 0;
}

int cf_validate(struct cf_file *f, size_t *where, struct err **err)
{
	bool in_stage = false;
	for (size_t i = 0; i < f->ninstructions; i++) {
		const struct cf_instruction *ins = &f->instructions[i];
		*where = i;
		int rc = check_instruction(ins, err);
		if (rc < 0)
			return rc;
		if (ins->kind == CF_FROM)
			in_stage = true;
		else if (!in_stage && ins->kind != CF_ARG)
			return err_set(err, ERR_INVALID, "no build stage in current context");
	}
	return 0;
}

int cf_build_stages(struct cf_file *f)
{
	size_t n = 0, nmeta = 0;
	for (size_t i = 0; i < f->ninstructions; i++) {
		if (f->instructions[i].kind == CF_FROM)
			n++;
		else if (n == 0)
			nmeta++;
	}
	f->stages = xcalloc(n ? n : 1, sizeof(*f->stages));
	f->meta_args = xcalloc(nmeta ? nmeta : 1, sizeof(size_t));
	for (size_t i = 0; i < f->ninstructions; i++) {
		struct cf_instruction *ins = &f->instructions[i];
		if (ins->kind != CF_FROM) {
			if (f->nstages == 0)
				f->meta_args[f->nmeta_args++] = i;
			else
				f->stages[f->nstages - 1].count++;
			if (f->nstages > 0)
				f->stages[f->nstages - 1].last_line = ins->end_line;
			continue;
		}
		struct cf_stage *st = &f->stages[f->nstages];
		st->index = f->nstages++;
		st->base = ins->args[0];
		if (ins->nargs == 3) {
			st->name = cf_arena_strdup(f->arena, ins->args[2]);
			for (char *c = st->name; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		}
		const char *plat = cf_instruction_flag(ins, "platform");
		/* BuildKit's Stage.Platform is a string: "" means none. */
		st->platform = plat && *plat ? cf_arena_strdup(f->arena, plat) : NULL;
		st->first_line = ins->line;
		st->last_line = ins->end_line;
		st->first = i;
		st->count = 1;
	}
	return 0;
}
