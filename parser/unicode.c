/* Go's view of text: UTF-8 decoding, character classes, %q quoting. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "parser/parser-internal.h"
#include "parser/parser.h"

struct cf_range {
	int32_t lo, hi;
};

#include "parser/unicode-tables.h"

int32_t cf_utf8_decode(const char *str, size_t n, size_t *width)
{
	const unsigned char *s = (const unsigned char *)str;
	if (n == 0) {
		*width = 0;
		return CF_EOF;
	}
	unsigned char c = s[0];
	*width = 1;
	if (c < 0x80)
		return c;
	int32_t r;
	size_t len;
	int32_t min;
	if (c >= 0xC2 && c <= 0xDF) {
		r = c & 0x1F;
		len = 2;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		r = c & 0x0F;
		len = 3;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		r = c & 0x07;
		len = 4;
		min = 0x10000;
	} else {
		return CF_RUNE_ERROR;
	}
	if (n < len)
		return CF_RUNE_ERROR;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return CF_RUNE_ERROR;
		r = (r << 6) | (s[i] & 0x3F);
	}
	if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		return CF_RUNE_ERROR;
	*width = len;
	return r;
}

size_t cf_utf8_len(int32_t r)
{
	if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		return 3;
	if (r < 0x80)
		return 1;
	if (r < 0x800)
		return 2;
	if (r < 0x10000)
		return 3;
	return 4;
}

int cf_utf8_add(struct buf *b, int32_t r, struct err **err)
{
	unsigned char tmp[4];
	if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		r = CF_RUNE_ERROR;
	if (r < 0x80)
		return buf_addch(b, (char)r, err);
	size_t len;
	if (r < 0x800) {
		tmp[0] = (unsigned char)(0xC0 | (r >> 6));
		tmp[1] = (unsigned char)(0x80 | (r & 0x3F));
		len = 2;
	} else if (r < 0x10000) {
		tmp[0] = (unsigned char)(0xE0 | (r >> 12));
		tmp[1] = (unsigned char)(0x80 | ((r >> 6) & 0x3F));
		tmp[2] = (unsigned char)(0x80 | (r & 0x3F));
		len = 3;
	} else {
		tmp[0] = (unsigned char)(0xF0 | (r >> 18));
		tmp[1] = (unsigned char)(0x80 | ((r >> 12) & 0x3F));
		tmp[2] = (unsigned char)(0x80 | ((r >> 6) & 0x3F));
		tmp[3] = (unsigned char)(0x80 | (r & 0x3F));
		len = 4;
	}
	return buf_add(b, tmp, len, err);
}

bool cf_is_space(int32_t r)
{
	switch (r) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202F: case 0x205F: case 0x3000:
		return true;
	}
	return r >= 0x2000 && r <= 0x200A;
}

static bool in_ranges(const struct cf_range *t, size_t n, int32_t r)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r < t[mid].lo)
			hi = mid;
		else if (r > t[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

bool cf_is_letter(int32_t r)
{
	if (r < 0x80)
		return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
	return in_ranges(cf_letter_ranges, ARRAY_SIZE(cf_letter_ranges), r);
}

bool cf_is_digit(int32_t r)
{
	if (r < 0x80)
		return r >= '0' && r <= '9';
	return in_ranges(cf_digit_ranges, ARRAY_SIZE(cf_digit_ranges), r);
}

size_t cf_trim_left(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t w;
		int32_t r = cf_utf8_decode(s + i, n - i, &w);
		if (!cf_is_space(r))
			break;
		i += w;
	}
	return i;
}

/* Go's TrimRightFunc decodes the last rune backwards; an invalid byte is
 * U+FFFD there too, which is not a space. */
size_t cf_trim_right(const char *s, size_t n)
{
	while (n > 0) {
		size_t start = n - 1;
		while (start > 0 && n - start < 4 && ((unsigned char)s[start] & 0xC0) == 0x80)
			start--;
		size_t w;
		int32_t r = cf_utf8_decode(s + start, n - start, &w);
		if (start + w != n) {
			/* The trailing bytes do not form one rune: the last byte
			 * alone is an invalid rune. */
			r = CF_RUNE_ERROR;
			start = n - 1;
		}
		if (!cf_is_space(r))
			break;
		n = start;
	}
	return n;
}

/* unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the
 * ASCII space (what strconv.Quote prints as is). */
static bool go_is_print(int32_t r)
{
	if (r < 0x80)
		return r >= 0x20 && r < 0x7F;
	return in_ranges(cf_print_ranges, ARRAY_SIZE(cf_print_ranges), r);
}

void cf_go_quote(struct buf *b, const char *s, size_t n)
{
	char tmp[16];
	buf_addch(b, '"', NULL);
	for (size_t i = 0; i < n;) {
		size_t w;
		int32_t r = cf_utf8_decode(s + i, n - i, &w);
		if (r == CF_RUNE_ERROR && w == 1) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", (unsigned char)s[i]);
			buf_addstr(b, tmp, NULL);
		} else if (r == '"' || r == '\\') {
			buf_addch(b, '\\', NULL);
			buf_addch(b, (char)r, NULL);
		} else if (go_is_print(r)) {
			buf_add(b, s + i, w, NULL);
		} else {
			const char *e = NULL;
			switch (r) {
			case '\a': e = "\\a"; break;
			case '\b': e = "\\b"; break;
			case '\f': e = "\\f"; break;
			case '\n': e = "\\n"; break;
			case '\r': e = "\\r"; break;
			case '\t': e = "\\t"; break;
			case '\v': e = "\\v"; break;
			}
			if (e != NULL)
				buf_addstr(b, e, NULL);
			else if (r < 0x80)
				snprintf(tmp, sizeof(tmp), "\\x%02x", (unsigned)r);
			else if (r < 0x10000)
				snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)r);
			else
				snprintf(tmp, sizeof(tmp), "\\U%08x", (unsigned)r);
			if (e == NULL)
				buf_addstr(b, tmp, NULL);
		}
		i += w;
	}
	buf_addch(b, '"', NULL);
}

char *cf_go_quote_str(const char *s)
{
	struct buf b;
	buf_init(&b, (size_t)-1 / 2);
	cf_go_quote(&b, s, strlen(s));
	return buf_detach(&b, NULL);
}

int cf_json_add_string(struct buf *b, const char *s, size_t n, struct err **err)
{
	static const char hex[] = "0123456789abcdef";
	int rc = buf_addch(b, '"', err);
	size_t run = 0; /* bytes copied verbatim, flushed in one go */
	for (size_t i = 0; i < n && rc == 0;) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run++;
			i++;
			continue;
		}
		size_t w = 1;
		int32_t r = c < 0x80 ? c : cf_utf8_decode(s + i, n - i, &w);
		bool plain = c >= 0x80 && !(r == CF_RUNE_ERROR && w == 1) && r != 0x2028 && r != 0x2029;
		if (plain) {
			run += w;
			i += w;
			continue;
		}
		rc = buf_add(b, s + i - run, run, err);
		run = 0;
		if (rc < 0)
			break;
		char esc[7] = { '\\', 0, 0, 0, 0, 0, 0 };
		size_t elen = 2;
		switch (r) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[2] = hex[(r >> 12) & 0xF];
			esc[3] = hex[(r >> 8) & 0xF];
			esc[4] = hex[(r >> 4) & 0xF];
			esc[5] = hex[r & 0xF];
			elen = 6;
		}
		rc = buf_add(b, esc, elen, err);
		i += w;
	}
	if (rc == 0 && run > 0)
		rc = buf_add(b, s + n - run, run, err);
	if (rc == 0)
		rc = buf_addch(b, '"', err);
	return rc;
}

size_t cf_levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = xcalloc(lb + 1, sizeof(size_t));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	size_t d = row[lb];
	free(row);
	return d;
}
