#include "config.h"

#include "common/json.h"

#include <inttypes.h>
#include <math.h>

#include "common/limits.h"
#include "common/util.h"

/* ---------------------------------------------------------------- loading */

/* jansson quotes the input near the error; keep control characters out of
 * messages that end up in logs and terminals. */
static void scrub_controls(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int load_error(const json_error_t *je, const char *name, struct err **err)
{
	enum json_error_code code = json_error_code(je);
	if (code == json_error_out_of_memory)
		return err_set(err, ERR_FAIL, "%s: out of memory", name);

	char text[JSON_ERROR_TEXT_LENGTH];
	/* jansson's own wording names its flag; say what is wrong instead. */
	if (code == json_error_null_character)
		str_copy(text, "\\u0000 is not allowed in strings", sizeof(text));
	else
		str_copy(text, je->text, sizeof(text));
	scrub_controls(text);

	if (je->line < 1)
		return err_set(err, ERR_INVALID, "%s: %s", name, text);
	/* jansson says column 0 when it stopped right after a newline (at the
	 * end of the input); the position meant is the start of that line. */
	int col = je->column < 1 ? 1 : je->column;
	return err_set(err, ERR_INVALID, "%s:%d:%d: %s", name, je->line, col, text);
}

int jx_load_buffer(json_t **out, const void *data, size_t len, const char *name, unsigned flags,
		   struct err **err)
{
	size_t jflags = JSON_REJECT_DUPLICATES;
	if (flags & JX_ALLOW_NUL)
		jflags |= JSON_ALLOW_NUL;
	if (flags & JX_DECODE_ANY)
		jflags |= JSON_DECODE_ANY;
	if (name == NULL)
		name = "(json)";

	json_error_t je;
	json_t *j = json_loadb(data != NULL ? data : "", len, jflags, &je);
	if (j == NULL)
		return load_error(&je, name, err);
	*out = j;
	return 0;
}

int jx_load_fd(json_t **out, int fd, const char *name, size_t max, unsigned flags,
	       struct err **err)
{
	cleanup_buf struct buf b;
	buf_init(&b, max != 0 ? max : BALE_MAX_JSON);
	int rc = buf_read_fd(&b, fd, name, err);
	if (rc < 0)
		return rc;
	return jx_load_buffer(out, b.data, b.len, name, flags, err);
}

int jx_load_file(json_t **out, int dirfd, const char *path, size_t max, unsigned flags,
		 struct err **err)
{
	cleanup_buf struct buf b;
	buf_init(&b, max != 0 ? max : BALE_MAX_JSON);
	int rc = buf_read_file(&b, dirfd, path, err);
	if (rc < 0)
		return rc;
	return jx_load_buffer(out, b.data, b.len, path, flags, err);
}

/* ---------------------------------------------------------------- getters */

const char *jx_type_name(json_type type)
{
	switch (type) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "an unknown value";
}

char *jx_path_key(const char *path, const char *key)
{
	if (path == NULL || path[0] == '\0')
		return xstrdup(key);
	return xasprintf("%s.%s", path, key);
}

char *jx_path_index(const char *path, size_t index)
{
	return xasprintf("%s[%zu]", path != NULL ? path : "", index);
}

static bool is_root(const char *path)
{
	return path == NULL || path[0] == '\0';
}

/* "field 'x' must be a string, not an integer" */
static int type_error(const json_t *j, const char *want, const char *path, struct err **err)
{
	const char *got = jx_type_name(json_typeof(j));
	if (is_root(path))
		return err_set(err, ERR_INVALID, "the document must be %s, not %s", want, got);
	return err_set(err, ERR_INVALID, "field '%s' must be %s, not %s", path, want, got);
}

int jx_expect(const json_t *j, json_type type, const char *path, struct err **err)
{
	if (j == NULL)
		return err_set(err, ERR_INVALID, "missing required field '%s'", path ? path : "");
	/* true and false are one type to callers. */
	if (json_typeof(j) == type ||
	    (json_is_boolean(j) && (type == JSON_TRUE || type == JSON_FALSE)))
		return 0;
	return type_error(j, jx_type_name(type), path, err);
}

/* Find obj[key] for a getter. Returns 1 with *out set when there is a
 * value to convert, 0 when it is absent or null and not required, or an
 * error. want names the expected type for the null case. */
static int field_lookup(json_t **out, const json_t *obj, const char *key, bool required,
			const char *want, const char *path, struct err **err)
{
	int rc = jx_expect(obj, JSON_OBJECT, path, err);
	if (rc < 0)
		return rc;
	json_t *v = json_object_get(obj, key);
	if (v != NULL && !json_is_null(v)) {
		*out = v;
		return 1;
	}
	if (!required)
		return 0;
	cleanup_free char *full = jx_path_key(path, key);
	if (v == NULL)
		return err_set(err, ERR_INVALID, "missing required field '%s'", full);
	return type_error(v, want, full, err);
}

/* The value at obj[key] must have the given type; see field_lookup. */
static int field_typed(json_t **out, const json_t *obj, const char *key, bool required,
		       json_type type, const char *path, struct err **err)
{
	json_t *v;
	int rc = field_lookup(&v, obj, key, required, jx_type_name(type), path, err);
	if (rc <= 0)
		return rc;
	cleanup_free char *full = jx_path_key(path, key);
	rc = jx_expect(v, type, full, err);
	if (rc < 0)
		return rc;
	*out = v;
	return 1;
}

/* A string value as a C string, refusing embedded NULs (possible only
 * with JX_ALLOW_NUL): "sha256:abc\u0000x" must not pass as "sha256:abc". */
static int string_value(const char **out, const json_t *v, const char *full, struct err **err)
{
	if (!json_is_string(v))
		return type_error(v, "a string", full, err);
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return err_set(err, ERR_INVALID, "field '%s' must not contain NUL characters",
			       full);
	*out = s;
	return 0;
}

int jx_get_string(const char **out, const json_t *obj, const char *key, bool required,
		  const char *path, struct err **err)
{
	json_t *v;
	int rc = field_lookup(&v, obj, key, required, "a string", path, err);
	if (rc <= 0)
		return rc;
	cleanup_free char *full = jx_path_key(path, key);
	return string_value(out, v, full, err);
}

int jx_get_int64(int64_t *out, const json_t *obj, const char *key, bool required, int64_t min,
		 int64_t max, const char *path, struct err **err)
{
	json_t *v;
	int rc = field_typed(&v, obj, key, required, JSON_INTEGER, path, err);
	if (rc <= 0)
		return rc;
	json_int_t n = json_integer_value(v);
	if (n < min || n > max) {
		cleanup_free char *full = jx_path_key(path, key);
		return err_set(err, ERR_INVALID,
			       "field '%s' must be an integer from %" PRId64 " to %" PRId64
			       ", not %" JSON_INTEGER_FORMAT,
			       full, min, max, n);
	}
	*out = (int64_t)n;
	return 0;
}

int jx_get_size(uint64_t *out, const json_t *obj, const char *key, bool required,
		const char *path, struct err **err)
{
	json_t *v;
	int rc = field_typed(&v, obj, key, required, JSON_INTEGER, path, err);
	if (rc <= 0)
		return rc;
	json_int_t n = json_integer_value(v);
	if (n < 0) {
		cleanup_free char *full = jx_path_key(path, key);
		return err_set(err, ERR_INVALID,
			       "field '%s' must not be negative, not %" JSON_INTEGER_FORMAT, full,
			       n);
	}
	*out = (uint64_t)n;
	return 0;
}

int jx_get_bool(bool *out, const json_t *obj, const char *key, bool required, const char *path,
		struct err **err)
{
	json_t *v;
	int rc = field_typed(&v, obj, key, required, JSON_TRUE, path, err);
	if (rc <= 0)
		return rc;
	*out = json_is_true(v);
	return 0;
}

int jx_get_object(json_t **out, const json_t *obj, const char *key, bool required,
		  const char *path, struct err **err)
{
	json_t *v;
	int rc = field_typed(&v, obj, key, required, JSON_OBJECT, path, err);
	if (rc <= 0)
		return rc;
	*out = v;
	return 0;
}

int jx_get_array(json_t **out, const json_t *obj, const char *key, bool required,
		 const char *path, struct err **err)
{
	json_t *v;
	int rc = field_typed(&v, obj, key, required, JSON_ARRAY, path, err);
	if (rc <= 0)
		return rc;
	*out = v;
	return 0;
}

int jx_get_strv(char ***out, const json_t *obj, const char *key, bool required,
		const char *path, struct err **err)
{
	json_t *arr;
	int rc = field_typed(&arr, obj, key, required, JSON_ARRAY, path, err);
	if (rc <= 0)
		return rc;
	cleanup_free char *full = jx_path_key(path, key);
	size_t n = json_array_size(arr);
	cleanup_strv char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *elem = jx_path_index(full, i);
		const char *s;
		rc = string_value(&s, json_array_get(arr, i), elem, err);
		if (rc < 0)
			return rc;
		v[i] = xstrdup(s);
	}
	*out = steal_pointer(&v);
	return 0;
}

/* A key taken from the document, for a message: control characters as
 * \xNN and cut to 100 bytes (never inside a UTF-8 sequence). */
static char *message_key(const char *k)
{
	struct buf b;
	buf_init(&b, 1024);
	size_t len = strlen(k), n = len > 100 ? 100 : len;
	while (n < len && n > 0 && ((unsigned char)k[n] & 0xc0) == 0x80)
		n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		if (c < 0x20 || c == 0x7f)
			buf_addf(&b, NULL, "\\x%02X", c);
		else
			buf_addch(&b, (char)c, NULL);
	}
	if (n < len)
		buf_addstr(&b, "...", NULL);
	return buf_detach(&b, NULL);
}

int jx_get_strmap(json_t **out, const json_t *obj, const char *key, bool required,
		  const char *path, struct err **err)
{
	json_t *map;
	int rc = field_typed(&map, obj, key, required, JSON_OBJECT, path, err);
	if (rc <= 0)
		return rc;
	cleanup_free char *full = jx_path_key(path, key);
	const char *k;
	json_t *v;
	json_object_foreach (map, k, v) {
		cleanup_free char *shown = message_key(k);
		cleanup_free char *entry = jx_path_key(full, shown);
		const char *s;
		rc = string_value(&s, v, entry, err);
		if (rc < 0)
			return rc;
	}
	*out = map;
	return 0;
}

/* ---------------------------------------------------------------- writing */

static const char hex_digits[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at s (n bytes available) and its code
 * point, or 0 when it is invalid (overlong, surrogate, > U+10FFFF, cut). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* The escape Go writes for an ASCII byte, or NULL when it is written as
 * is. esc must hold 7 bytes. */
static const char *ascii_escape(unsigned char c, char *esc)
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	}
	if (c >= 0x20 && c != '<' && c != '>' && c != '&')
		return NULL;
	esc[0] = '\\';
	esc[1] = 'u';
	esc[2] = '0';
	esc[3] = '0';
	esc[4] = hex_digits[c >> 4];
	esc[5] = hex_digits[c & 0xf];
	esc[6] = '\0';
	return esc;
}

/* Write s[0..n) as a JSON string. Runs of bytes that need no escape are
 * appended in one go. */
static int write_string(struct buf *b, const char *str, size_t n, struct err **err)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t start = 0, i = 0;
	int rc = buf_addch(b, '"', err);
	while (rc == 0 && i < n) {
		char esc[7];
		const char *e = NULL;
		size_t step = 1;
		if (s[i] < 0x80) {
			e = ascii_escape(s[i], esc);
		} else {
			uint32_t cp;
			step = utf8_decode(s + i, n - i, &cp);
			if (step == 0)
				return err_set(err, ERR_INVALID,
					       "cannot write JSON: invalid UTF-8 at byte %zu"
					       " of a string",
					       i);
			if (cp == 0x2028 || cp == 0x2029)
				e = cp == 0x2028 ? "\\u2028" : "\\u2029";
		}
		if (e != NULL) {
			rc = buf_add(b, s + start, i - start, err);
			if (rc == 0)
				rc = buf_addstr(b, e, err);
			start = i + step;
		}
		i += step;
	}
	if (rc == 0)
		rc = buf_add(b, s + start, n - start, err);
	if (rc == 0)
		rc = buf_addch(b, '"', err);
	return rc;
}

/* Shortest decimal digits of a finite, non-negative double: n digits in d,
 * d[0] being the digit at 10^exp (so 12.5 is "125", exp 1). printf rounds correctly, so for each length the closest decimal
 * is tried first; when it does not read back (possible only next to a
 * power of two, where the gap below is half the gap above) its two
 * neighbours of the same length are tried, which is how Go picks its
 * digits too. The checks parse "digits e exponent" without a decimal
 * point, so the locale's radix character never matters. */
struct decimal {
	char d[20];
	int n;
	int exp;
};

static bool decimal_reads_back(const struct decimal *dec, double v)
{
	char s[48];
	snprintf(s, sizeof(s), "%.*se%d", dec->n, dec->d, dec->exp - (dec->n - 1));
	return strtod(s, NULL) == v;
}

/* Add delta (+1 or -1) at the last digit, keeping n digits. */
static void decimal_step(struct decimal *dec, int delta)
{
	int i = dec->n - 1;
	if (delta > 0) {
		while (i >= 0 && dec->d[i] == '9')
			dec->d[i--] = '0';
		if (i >= 0) {
			dec->d[i]++;
			return;
		}
		dec->d[0] = '1'; /* 99.9 -> 100 */
		dec->exp++;
		return;
	}
	while (i >= 0 && dec->d[i] == '0')
		dec->d[i--] = '9';
	if (i < 0) /* 0 has no lower neighbour; callers never ask */
		return;
	dec->d[i]--;
	if (dec->d[0] == '0') { /* 100 -> 99.9: one more digit below */
		memset(dec->d, '9', (size_t)dec->n);
		dec->exp--;
	}
}

/* Parse printf's "%.*e" output ("1.25e+02", any radix character). */
static void decimal_from_printf(struct decimal *dec, const char *s)
{
	dec->n = 0;
	for (; *s != 'e'; s++)
		if (*s >= '0' && *s <= '9' && dec->n < (int)sizeof(dec->d) - 1)
			dec->d[dec->n++] = *s;
	dec->d[dec->n] = '\0';
	dec->exp = (int)strtol(s + 1, NULL, 10);
}

static void shortest_decimal(struct decimal *dec, double v)
{
	for (int prec = 1; prec <= 17; prec++) {
		char s[48];
		snprintf(s, sizeof(s), "%.*e", prec - 1, v);
		decimal_from_printf(dec, s);
		if (decimal_reads_back(dec, v) || prec == 17)
			return;
		struct decimal up = *dec, down = *dec;
		decimal_step(&up, +1);
		decimal_step(&down, -1);
		if (decimal_reads_back(&up, v)) {
			*dec = up;
			return;
		}
		if (decimal_reads_back(&down, v)) {
			*dec = down;
			return;
		}
	}
}

static int add_zeros(struct buf *b, int n, struct err **err)
{
	int rc = 0;
	for (; rc == 0 && n > 0; n--)
		rc = buf_addch(b, '0', err);
	return rc;
}

/* Plain notation of dec: "100", "12.5", "0.0125". */
static int write_plain(struct buf *b, const struct decimal *dec, struct err **err)
{
	int rc;
	if (dec->exp >= dec->n - 1) {
		rc = buf_add(b, dec->d, (size_t)dec->n, err);
		return rc < 0 ? rc : add_zeros(b, dec->exp - (dec->n - 1), err);
	}
	if (dec->exp >= 0)
		return buf_addf(b, err, "%.*s.%s", dec->exp + 1, dec->d, dec->d + dec->exp + 1);
	rc = buf_addstr(b, "0.", err);
	if (rc == 0)
		rc = add_zeros(b, -dec->exp - 1, err);
	return rc < 0 ? rc : buf_addstr(b, dec->d, err);
}

/* strconv.FormatFloat(v, 'f' or 'e', -1, 64) as encoding/json uses it. */
static int write_real(struct buf *b, double v, struct err **err)
{
	if (!isfinite(v))
		return err_set(err, ERR_INVALID, "cannot write JSON: %f is not a JSON number", v);
	struct decimal dec;
	double a = fabs(v);
	shortest_decimal(&dec, a);
	int rc = signbit(v) ? buf_addch(b, '-', err) : 0;
	if (rc < 0)
		return rc;
	if (a == 0 || (a >= 1e-6 && a < 1e21))
		return write_plain(b, &dec, err);
	/* 1.5e-7, 1e+21: Go trims "e-07" to "e-7" but writes "e+21". */
	return buf_addf(b, err, "%c%s%se%c%d", dec.d[0], dec.n > 1 ? "." : "", dec.d + 1,
			dec.exp < 0 ? '-' : '+', abs(dec.exp));
}

static int write_value(struct buf *b, const json_t *j, unsigned flags, int depth,
		       struct err **err);

struct member {
	const char *key;
	size_t len;
	json_t *value;
};

static int member_cmp(const void *pa, const void *pb)
{
	const struct member *a = pa, *b = pb;
	int c = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);
	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* jansson iterates in insertion order; JX_SORT_KEYS sorts bytewise as Go
 * sorts map keys. Iterating needs a non-const object but changes nothing. */
static struct member *object_members(const json_t *obj, unsigned flags, size_t *n)
{
	json_t *o = (json_t *)obj;
	struct member *m = xcalloc(json_object_size(o) + 1, sizeof(*m));
	size_t i = 0;
	for (void *it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it)) {
		m[i].key = json_object_iter_key(it);
		m[i].len = json_object_iter_key_len(it);
		m[i].value = json_object_iter_value(it);
		i++;
	}
	if (flags & JX_SORT_KEYS)
		qsort(m, i, sizeof(*m), member_cmp);
	*n = i;
	return m;
}

static int write_object(struct buf *b, const json_t *obj, unsigned flags, int depth,
			struct err **err)
{
	size_t n;
	cleanup_free struct member *m = object_members(obj, flags, &n);
	int rc = buf_addch(b, '{', err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i > 0)
			rc = buf_addch(b, ',', err);
		if (rc == 0)
			rc = write_string(b, m[i].key, m[i].len, err);
		if (rc == 0)
			rc = buf_addch(b, ':', err);
		if (rc == 0)
			rc = write_value(b, m[i].value, flags, depth + 1, err);
	}
	return rc < 0 ? rc : buf_addch(b, '}', err);
}

static int write_array(struct buf *b, const json_t *arr, unsigned flags, int depth,
		       struct err **err)
{
	int rc = buf_addch(b, '[', err);
	for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
		if (i > 0)
			rc = buf_addch(b, ',', err);
		if (rc == 0)
			rc = write_value(b, json_array_get(arr, i), flags, depth + 1, err);
	}
	return rc < 0 ? rc : buf_addch(b, ']', err);
}

static int write_value(struct buf *b, const json_t *j, unsigned flags, int depth,
		       struct err **err)
{
	if (j == NULL)
		return err_set(err, ERR_INVALID, "cannot write JSON: missing value");
	if (depth > JX_MAX_DEPTH)
		return err_set(err, ERR_INVALID,
			       "cannot write JSON: nested deeper than %d levels (a cycle?)",
			       JX_MAX_DEPTH);
	switch (json_typeof(j)) {
	case JSON_OBJECT: return write_object(b, j, flags, depth, err);
	case JSON_ARRAY: return write_array(b, j, flags, depth, err);
	case JSON_STRING:
		return write_string(b, json_string_value(j), json_string_length(j), err);
	case JSON_INTEGER:
		return buf_addf(b, err, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
	case JSON_REAL: return write_real(b, json_real_value(j), err);
	case JSON_TRUE: return buf_addstr(b, "true", err);
	case JSON_FALSE: return buf_addstr(b, "false", err);
	case JSON_NULL: return buf_addstr(b, "null", err);
	}
	return err_set(err, ERR_INVALID, "cannot write JSON: unknown value type");
}

int jx_dump_buf(struct buf *b, const json_t *j, unsigned flags, struct err **err)
{
	int rc = write_value(b, j, flags, 1, err);
	if (rc == 0 && (flags & JX_NEWLINE))
		rc = buf_addch(b, '\n', err);
	return rc;
}

int jx_dump(char **out, size_t *len, const json_t *j, unsigned flags, struct err **err)
{
	cleanup_buf struct buf b;
	buf_init(&b, SIZE_MAX - 1);
	*out = NULL;
	int rc = jx_dump_buf(&b, j, flags, err);
	if (rc < 0)
		return rc;
	*out = buf_detach(&b, len);
	return 0;
}
