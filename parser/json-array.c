/* The exec form: a JSON array of strings, accepted exactly when Go's
 * encoding/json would accept it (BuildKit decodes it with json.Unmarshal).
 *
 * jansson is stricter than Go in ways users would notice (it rejects invalid
 * UTF-8 inside strings, which Go replaces with U+FFFD, and \u0000), so this
 * is a small validator/decoder of its own: validate the whole text first
 * (any JSON value may appear inside the array), then decode the elements. */
#include "config.h"

#include <string.h>

#include "common/util.h"
#include "parser/parser-internal.h"

/* encoding/json gives up past this nesting depth. */
#define JSON_MAX_DEPTH 10000

struct jscan {
	const char *s;
	size_t n, pos;
};

static void skip_ws(struct jscan *j)
{
	while (j->pos < j->n) {
		char c = j->s[j->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		j->pos++;
	}
}

static bool scan_string(struct jscan *j)
{
	j->pos++; /* opening quote */
	while (j->pos < j->n) {
		unsigned char c = (unsigned char)j->s[j->pos];
		if (c == '"') {
			j->pos++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\') {
			j->pos++;
			continue;
		}
		if (j->pos + 1 >= j->n)
			return false;
		char e = j->s[j->pos + 1];
		if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
			j->pos += 2;
		} else if (e == 'u') {
			if (j->pos + 6 > j->n)
				return false;
			for (size_t k = 2; k < 6; k++)
				if (hex_digit_value(j->s[j->pos + k]) < 0)
					return false;
			j->pos += 6;
		} else {
			return false;
		}
	}
	return false;
}

static bool scan_digits(struct jscan *j)
{
	size_t start = j->pos;
	while (j->pos < j->n && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
		j->pos++;
	return j->pos > start;
}

static bool scan_number(struct jscan *j)
{
	if (j->s[j->pos] == '-')
		j->pos++;
	if (j->pos >= j->n)
		return false;
	if (j->s[j->pos] == '0')
		j->pos++;
	else if (!scan_digits(j))
		return false;
	if (j->pos < j->n && j->s[j->pos] == '.') {
		j->pos++;
		if (!scan_digits(j))
			return false;
	}
	if (j->pos < j->n && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
		j->pos++;
		if (j->pos < j->n && (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
			j->pos++;
		if (!scan_digits(j))
			return false;
	}
	return true;
}

static bool scan_literal(struct jscan *j, const char *lit)
{
	size_t l = strlen(lit);
	if (j->n - j->pos < l || memcmp(j->s + j->pos, lit, l) != 0)
		return false;
	j->pos += l;
	return true;
}

static bool scan_value(struct jscan *j, int depth);

/* Arrays and objects: open, values separated by commas, close. */
static bool scan_container(struct jscan *j, int depth, char close)
{
	if (depth > JSON_MAX_DEPTH)
		return false;
	j->pos++;
	skip_ws(j);
	if (j->pos < j->n && j->s[j->pos] == close) {
		j->pos++;
		return true;
	}
	for (;;) {
		if (close == '}') {
			skip_ws(j);
			if (j->pos >= j->n || j->s[j->pos] != '"' || !scan_string(j))
				return false;
			skip_ws(j);
			if (j->pos >= j->n || j->s[j->pos] != ':')
				return false;
			j->pos++;
		}
		if (!scan_value(j, depth))
			return false;
		skip_ws(j);
		if (j->pos >= j->n)
			return false;
		if (j->s[j->pos] == close) {
			j->pos++;
			return true;
		}
		if (j->s[j->pos] != ',')
			return false;
		j->pos++;
	}
}

static bool scan_value(struct jscan *j, int depth)
{
	skip_ws(j);
	if (j->pos >= j->n)
		return false;
	switch (j->s[j->pos]) {
	case '"':
		return scan_string(j);
	case '[':
		return scan_container(j, depth + 1, ']');
	case '{':
		return scan_container(j, depth + 1, '}');
	case 't':
		return scan_literal(j, "true");
	case 'f':
		return scan_literal(j, "false");
	case 'n':
		return scan_literal(j, "null");
	default:
		if (j->s[j->pos] == '-' || (j->s[j->pos] >= '0' && j->s[j->pos] <= '9'))
			return scan_number(j);
		return false;
	}
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;
	/* The scanner already checked that these are four hex digits. */
	for (int k = 0; k < 4; k++)
		v = v << 4 | (unsigned)hex_digit_value(p[k]);
	return v;
}

/* Decode an already validated string literal at s (opening quote) the way
 * Go's unquote does: lone surrogates and invalid UTF-8 become U+FFFD. */
static char *decode_string(const char *s, size_t n, size_t *consumed, bool *nul)
{
	struct buf b;
	buf_init(&b, (size_t)-1 / 2);
	size_t i = 1;
	for (;;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"') {
			i++;
			break;
		}
		if (c == '\\') {
			char e = s[i + 1];
			if (e != 'u') {
				char out = e;
				switch (e) {
				case 'b': out = '\b'; break;
				case 'f': out = '\f'; break;
				case 'n': out = '\n'; break;
				case 'r': out = '\r'; break;
				case 't': out = '\t'; break;
				}
				buf_addch(&b, out, NULL);
				i += 2;
				continue;
			}
			unsigned r = hex4(s + i + 2);
			i += 6;
			if (r >= 0xD800 && r < 0xDC00 && s[i] == '\\' && s[i + 1] == 'u') {
				unsigned r2 = hex4(s + i + 2);
				if (r2 >= 0xDC00 && r2 < 0xE000) {
					r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
					i += 6;
				}
			}
			if (r == 0)
				*nul = true;
			cf_utf8_add(&b, (int32_t)r, NULL); /* lone surrogates: U+FFFD */
			continue;
		}
		if (c < 0x80) {
			buf_addch(&b, (char)c, NULL);
			i++;
			continue;
		}
		size_t w;
		int32_t r = cf_utf8_decode(s + i, n - i, &w);
		if (r == CF_RUNE_ERROR && w == 1)
			cf_utf8_add(&b, r, NULL);
		else
			buf_add(&b, s + i, w, NULL);
		i += w;
	}
	*consumed = i;
	return buf_detach(&b, NULL);
}

enum cf_json_result cf_json_string_array(const char *s, size_t n, char ***out, size_t *nout)
{
	struct jscan j = { .s = s, .n = n, .pos = 0 };
	skip_ws(&j);
	if (j.pos >= n || s[j.pos] != '[')
		return CF_JSON_NOT_JSON;
	if (!scan_value(&j, 0))
		return CF_JSON_NOT_JSON;
	skip_ws(&j);
	if (j.pos != n)
		return CF_JSON_NOT_JSON;

	/* Valid JSON (so no raw control bytes, and every string closed): walk
	 * the top-level elements. */
	size_t cap = 8, cnt = 0;
	bool nul = false;
	char **v = xcalloc(cap, sizeof(char *));
	struct jscan k = { .s = s, .n = n, .pos = 0 };
	skip_ws(&k);
	k.pos++; /* '[' */
	for (;;) {
		skip_ws(&k);
		if (s[k.pos] == ']')
			break;
		if (s[k.pos] != '"') {
			strv_free(v);
			return CF_JSON_NOT_STRINGS;
		}
		size_t used;
		char *str = decode_string(s + k.pos, n - k.pos, &used, &nul);
		k.pos += used;
		if (cnt + 2 > cap) {
			cap *= 2;
			v = xreallocarray(v, cap, sizeof(char *));
		}
		v[cnt++] = str;
		v[cnt] = NULL;
		skip_ws(&k);
		if (s[k.pos] == ',')
			k.pos++;
	}
	if (nul) {
		strv_free(v);
		return CF_JSON_NUL;
	}
	*out = v;
	*nout = cnt;
	return CF_JSON_OK;
}
