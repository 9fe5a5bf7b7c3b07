/* .dockerignore patterns as moby/patternmatcher reads and matches them:
 * ignorefile.ReadAll's line rules, New's cleaning and filepath.Match syntax
 * check, and the pattern-to-regexp translation (exact, prefix `x**`,
 * suffix `**x`, or a full match) evaluated by parser/match.c. A backslash
 * escape is copied into that regexp, so it is read with Go's RE2 rules. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/util.h"
#include "parser/ignore.h"
#include "parser/match-internal.h"
#include "parser/parser-internal.h"

enum match_type { M_EXACT, M_PREFIX, M_SUFFIX, M_REGEXP };

struct ipattern {
	char *text; /* cleaned, without the '!' */
	bool exclusion;
	enum match_type type;
	bool unanchored; /* a \Q without \E made the final `$` literal */
	struct cf_pattern re;
};

struct cf_ignore {
	struct ipattern *p;
	size_t n;
	char **shown; /* as listed by cf_ignore_pattern() */
	bool exceptions;
};

char *cf_path_clean(const char *path)
{
	size_t n = strlen(path);
	if (n == 0)
		return xstrdup(".");
	bool rooted = path[0] == '/';
	char *out = xmalloc(n + 2);
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && path[r] != '/')
				out[w++] = path[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

/* filepath.Match's getEsc: one class character, maybe escaped. */
static const char *class_char(const char *s, int32_t *r)
{
	if (*s == '\0' || *s == '-' || *s == ']')
		return NULL;
	if (*s == '\\') {
		s++;
		if (*s == '\0')
			return NULL;
	}
	size_t w;
	*r = cf_utf8_decode(s, strlen(s), &w);
	if (*r == CF_RUNE_ERROR && w == 1)
		return NULL;
	s += w;
	return *s == '\0' ? NULL : s;
}

/* Parse [...] at s (just past '['); returns the end or NULL when
 * filepath.Match would call the pattern malformed. */
static const char *parse_class(const char *s, struct cf_ptok *t)
{
	if (*s == '^') {
		t->negated = true;
		s++;
	}
	size_t cap = 0;
	for (;;) {
		if (*s == ']' && t->nranges > 0)
			return s + 1;
		int32_t lo, hi;
		if ((s = class_char(s, &lo)) == NULL)
			return NULL;
		hi = lo;
		if (*s == '-' && (s = class_char(s + 1, &hi)) == NULL)
			return NULL;
		if (t->nranges == cap) {
			cap = cap ? cap * 2 : 4;
			t->ranges = xreallocarray(t->ranges, cap * 2, sizeof(int32_t));
		}
		t->ranges[2 * t->nranges] = lo;
		t->ranges[2 * t->nranges + 1] = hi;
		t->nranges++;
	}
}

/* filepath.Match(p, ".") only fails on syntax: classes and escapes. */
static bool valid_pattern(const char *p)
{
	while (*p != '\0') {
		if (*p == '\\') {
			if (p[1] == '\0')
				return false;
			p += 2;
		} else if (*p == '[') {
			struct cf_ptok t = { .kind = CF_PT_CLASS };
			const char *e = parse_class(p + 1, &t);
			free(t.ranges);
			if (e == NULL)
				return false;
			p = e;
		} else {
			p++;
		}
	}
	return true;
}

static void add(struct cf_pattern *re, uint8_t kind, int32_t rune)
{
	struct cf_ptok t = { .kind = kind, .rune = rune, .greedy = true };
	cf_pattern_add(re, t);
}

static void add_class(struct cf_pattern *re, const int32_t *ranges, uint32_t nranges, bool negated)
{
	struct cf_ptok t = { .kind = CF_PT_CLASS, .negated = negated, .nranges = nranges };
	t.ranges = xreallocarray(NULL, nranges * 2, sizeof(int32_t));
	memcpy(t.ranges, ranges, nranges * 2 * sizeof(int32_t));
	cf_pattern_add(re, t);
}

/* Go's \x41 or \x{10FFFF}, s[*pos] just past the x; -1 when invalid.
 * Hex digits and braces reach the regexp unchanged, so the pattern text
 * can be read directly. */
static int32_t escape_hex(const char *s, size_t n, size_t *pos)
{
	size_t p = *pos;
	if (p < n && s[p] == '{') {
		int32_t v = 0;
		size_t digits = 0;
		for (p++; p < n && s[p] != '}'; p++, digits++) {
			int h = hex_digit_value(s[p]);
			if (h < 0 || (v = v * 16 + h) > 0x10FFFF)
				return -1;
		}
		if (p == n || digits == 0)
			return -1;
		*pos = p + 1;
		return v;
	}
	if (n - p < 2 || hex_digit_value(s[p]) < 0 || hex_digit_value(s[p + 1]) < 0)
		return -1;
	*pos = p + 2;
	return hex_digit_value(s[p]) * 16 + hex_digit_value(s[p + 1]);
}

/* Go's octal escape, c the first digit; -1 for \1..\7 alone (Go reads
 * those as unsupported backreferences). */
static int32_t escape_octal(char c, const char *s, size_t n, size_t *pos)
{
	bool octal_next = *pos < n && s[*pos] >= '0' && s[*pos] <= '7';
	if (c != '0' && !octal_next)
		return -1;
	int32_t v = c - '0';
	for (int i = 1; i < 3 && *pos < n && s[*pos] >= '0' && s[*pos] <= '7'; i++)
		v = v * 8 + (s[(*pos)++] - '0');
	return v;
}

struct runes {
	int32_t *r;
	size_t n, cap;
};

static void runes_add(struct runes *b, const char *ascii, int32_t r)
{
	for (;;) {
		int32_t c = ascii != NULL ? (unsigned char)*ascii++ : r;
		if (c == 0 && ascii != NULL)
			return;
		if (b->n == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 32;
			b->r = xreallocarray(b->r, b->cap, sizeof(*b->r));
		}
		b->r[b->n++] = c;
		if (ascii == NULL)
			return;
	}
}

/* Append the regexp text patternmatcher writes for the token at s[*pos],
 * once the pattern is already a regexp (so `**` at the end is ".*"). */
static void regexp_text(struct runes *out, const char *s, size_t n, size_t *pos)
{
	size_t w;
	int32_t ch = cf_utf8_decode(s + *pos, n - *pos, &w);
	*pos += w;
	if (ch == '*' && *pos < n && s[*pos] == '*') {
		(*pos)++;
		if (*pos < n && s[*pos] == '/')
			(*pos)++;
		runes_add(out, *pos == n ? ".*" : "(.*/)?", 0);
	} else if (ch == '*') {
		runes_add(out, "[^/]*", 0);
	} else if (ch == '?') {
		runes_add(out, "[^/]", 0);
	} else if (ch > 0 && ch < 0x80 && strchr(".+()$", (int)ch) != NULL) {
		runes_add(out, NULL, '\\');
		runes_add(out, NULL, ch);
	} else if (ch == '\\' && *pos < n) {
		runes_add(out, NULL, '\\');
		runes_add(out, NULL, cf_utf8_decode(s + *pos, n - *pos, &w));
		*pos += w;
	} else {
		runes_add(out, NULL, ch);
	}
}

/* Go reads the regexp text after \Q up to the first \E (or to its end,
 * the closing `$` included) as literal runes; s[*pos] is past the Q. */
static void compile_quote(struct ipattern *ip, const char *s, size_t n, size_t *pos)
{
	struct runes text = { 0 };
	size_t lit = SIZE_MAX;
	while (lit == SIZE_MAX && *pos < n) {
		size_t from = text.n > 0 ? text.n - 1 : 0;
		regexp_text(&text, s, n, pos);
		for (size_t i = from; i + 1 < text.n && lit == SIZE_MAX; i++)
			if (text.r[i] == '\\' && text.r[i + 1] == 'E')
				lit = i;
	}
	if (lit == SIZE_MAX) {
		runes_add(&text, NULL, '$');
		lit = text.n;
		ip->unanchored = true;
	}
	for (size_t i = 0; i < lit; i++)
		add(&ip->re, CF_PT_LIT, text.r[i]);
	free(text.r);
}

/* Go's \d \s \w and their negations as ranges (ASCII, like RE2's Perl
 * classes); NULL for any other letter. */
static const int32_t *perl_class(int32_t c, uint32_t *n)
{
	static const int32_t d[] = { '0', '9' };
	static const int32_t nd[] = { 0, '0' - 1, '9' + 1, 0x10FFFF };
	static const int32_t sp[] = { '\t', '\n', '\f', '\r', ' ', ' ' };
	static const int32_t nsp[] = { 0, 8, 11, 11, 14, 31, 33, 0x10FFFF };
	static const int32_t w[] = { '0', '9', 'A', 'Z', '_', '_', 'a', 'z' };
	static const int32_t nw[] = { 0, '0' - 1, '9' + 1, 'A' - 1, 'Z' + 1, '_' - 1, '_' + 1, 'a' - 1, 'z' + 1, 0x10FFFF };
	switch (c) {
	case 'd': *n = 1; return d;
	case 'D': *n = 2; return nd;
	case 's': *n = 3; return sp;
	case 'S': *n = 4; return nsp;
	case 'w': *n = 4; return w;
	case 'W': *n = 5; return nw;
	default: return NULL;
	}
}

/* Go's parseEscape for c (s[*pos] just past it): control characters, hex,
 * octal and escaped punctuation; -1 for anything Go refuses there. */
static int32_t escape_rune(int32_t c, const char *s, size_t n, size_t *pos)
{
	switch (c) {
	case 'a': return 7;
	case 'f': return '\f';
	case 't': return '\t';
	case 'n': return '\n';
	case 'r': return '\r';
	case 'v': return '\v';
	case 'x': return escape_hex(s, n, pos);
	case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
		return escape_octal((char)c, s, n, pos);
	default:
		/* an escaped ASCII non-word character is itself */
		if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return c;
		return -1;
	}
}

static void class_add(struct cf_ptok *t, size_t *cap, int32_t lo, int32_t hi)
{
	if (t->nranges == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		t->ranges = xreallocarray(t->ranges, *cap * 2, sizeof(int32_t));
	}
	t->ranges[2 * t->nranges] = lo;
	t->ranges[2 * t->nranges + 1] = hi;
	t->nranges++;
}

/* One class character as Go reads it; -1 when Go refuses it. */
static int32_t go_class_char(const char *s, size_t n, size_t *pos)
{
	size_t w;
	int32_t c = cf_utf8_decode(s + *pos, n - *pos, &w);
	*pos += w;
	if (c != '\\')
		return c;
	if (*pos == n)
		return -1;
	c = cf_utf8_decode(s + *pos, n - *pos, &w);
	*pos += w;
	return escape_rune(c, s, n, pos);
}

/* A [...] holding a backslash, read as Go's regexp reads what
 * patternmatcher copies (s just past the '[', n up to and with its ']').
 * 0; 1 when Go's class would not end where filepath.Match's does (the
 * caller keeps filepath's reading); or an error text in *why. */
static int go_class(const char *s, size_t n, struct cf_ptok *t, char **why)
{
	size_t pos = 0, cap = 0;
	if (pos < n && s[pos] == '^') {
		t->negated = true;
		pos++;
	}
	for (bool first = true; pos < n && (s[pos] != ']' || first); first = false) {
		uint32_t nr;
		const int32_t *pr = NULL;
		if (s[pos] == '\\' && pos + 1 < n)
			pr = perl_class((unsigned char)s[pos + 1], &nr);
		if (pr != NULL) {
			for (uint32_t i = 0; i < nr; i++)
				class_add(t, &cap, pr[2 * i], pr[2 * i + 1]);
			pos += 2;
			continue;
		}
		if (s[pos] == '\\' && pos + 1 < n && (s[pos + 1] == 'p' || s[pos + 1] == 'P')) {
			*why = xasprintf("unsupported escape '\\%c': Unicode classes are not implemented", s[pos + 1]);
			return -1;
		}
		size_t at = pos;
		int32_t lo = go_class_char(s, n, &pos), hi = lo;
		if (lo >= 0 && pos + 1 < n && s[pos] == '-' && s[pos + 1] != ']') {
			pos++;
			hi = go_class_char(s, n, &pos);
		}
		if (lo < 0 || hi < 0) {
			*why = xasprintf("invalid escape sequence in class '[%.*s'", (int)n, s);
			return -1;
		}
		if (hi < lo) {
			*why = xasprintf("invalid character class range '%.*s'", (int)(pos - at), s + at);
			return -1;
		}
		class_add(t, &cap, lo, hi);
	}
	return pos + 1 == n ? 0 : 1;
}

/* patternmatcher copies "\c" into its regexp, so after a backslash the
 * pattern means what Go's regexp syntax (RE2) gives it; s[*pos] is the
 * escaped character. NULL, or why regexp.Compile refuses it (caller
 * frees). */
static char *compile_escape(struct ipattern *ip, const char *s, size_t n, size_t *pos)
{
	struct cf_pattern *re = &ip->re;
	size_t start = *pos, w;
	int32_t c = cf_utf8_decode(s + start, n - start, &w);
	*pos += w;
	int32_t lit = -1;
	uint32_t nr;
	const int32_t *ranges = perl_class(c, &nr);
	if (ranges != NULL) {
		add_class(re, ranges, nr, false);
		return NULL;
	}
	switch (c) {
	case 'b': case 'B': {
		struct cf_ptok t = { .kind = CF_PT_WORDB, .negated = c == 'B' };
		cf_pattern_add(re, t);
		return NULL;
	}
	case 'A':
		add(re, CF_PT_BOL, 0);
		return NULL;
	case 'z':
		add(re, CF_PT_EOT, 0);
		return NULL;
	case 'p': case 'P':
		return xasprintf("unsupported escape '\\%c': Unicode classes are not implemented", (char)c);
	case 'Q':
		compile_quote(ip, s, n, pos);
		return NULL;
	default:
		lit = escape_rune(c, s, n, pos);
		break;
	}
	if (lit < 0)
		return xasprintf("invalid escape sequence '\\%.*s'", (int)(*pos - start), s + start);
	add(re, CF_PT_LIT, lit);
	return NULL;
}

/* Reread a filepath-valid class with Go's rules when it holds escapes
 * (and none of the characters patternmatcher rewrites inside it). */
static char *go_class_maybe(const char *s, size_t n, struct cf_ptok *t)
{
	if (memchr(s, '\\', n) == NULL || memchr(s, '*', n) != NULL || memchr(s, '?', n) != NULL ||
	    memchr(s, '[', n) != NULL)
		return NULL;
	struct cf_ptok g = { .kind = CF_PT_CLASS };
	char *why = NULL;
	int rc = go_class(s, n, &g, &why);
	if (rc != 0) {
		free(g.ranges);
		return why;
	}
	free(t->ranges);
	*t = g;
	return NULL;
}

/* patternmatcher's compile(): the same walk, building tokens instead of a
 * regexp string. NULL, or why Go's regexp.Compile would refuse the
 * pattern (the caller frees it). */
static char *compile(struct ipattern *ip)
{
	const char *s = ip->text;
	size_t n = strlen(s), pos = 0;
	enum match_type type = M_EXACT;
	for (size_t i = 0; pos < n; i++) {
		size_t w;
		int32_t ch = cf_utf8_decode(s + pos, n - pos, &w);
		pos += w;
		if (ch == '*') {
			if (pos < n && s[pos] == '*') {
				pos++;
				if (pos < n && s[pos] == '/')
					pos++;
				if (pos == n) {
					if (type == M_EXACT) {
						type = M_PREFIX;
					} else {
						add(&ip->re, CF_PT_STAR, 0);
						type = M_REGEXP;
					}
				} else {
					/* the optional group "any run, then a slash" */
					struct cf_ptok opt = { .kind = CF_PT_OPT, .skip = (uint32_t)ip->re.n + 3 };
					cf_pattern_add(&ip->re, opt);
					add(&ip->re, CF_PT_STAR, 0);
					add(&ip->re, CF_PT_LIT, '/');
					type = M_REGEXP;
				}
				if (i == 0)
					type = M_SUFFIX;
			} else {
				add(&ip->re, CF_PT_STAR_NOSLASH, 0);
				type = M_REGEXP;
			}
		} else if (ch == '?') {
			add(&ip->re, CF_PT_ANY_NOSLASH, 0);
			type = M_REGEXP;
		} else if (ch == '\\') {
			if (pos < n) {
				char *why = compile_escape(ip, s, n, &pos);
				if (why != NULL)
					return why;
				type = M_REGEXP;
			} else {
				add(&ip->re, CF_PT_LIT, '$'); /* the regexp "\\$" */
			}
		} else if (ch == '[') {
			struct cf_ptok t = { .kind = CF_PT_CLASS };
			const char *e = parse_class(s + pos, &t);
			if (e != NULL) {
				char *why = go_class_maybe(s + pos, (size_t)(e - s) - pos, &t);
				if (why != NULL) {
					free(t.ranges);
					return why;
				}
				pos = (size_t)(e - s);
				cf_pattern_add(&ip->re, t);
			} else {
				free(t.ranges);
				add(&ip->re, CF_PT_LIT, '[');
			}
			type = M_REGEXP;
		} else if (ch == ']') {
			add(&ip->re, CF_PT_LIT, ']');
			type = M_REGEXP;
		} else if (ch == '^') {
			add(&ip->re, CF_PT_BOL, 0);
		} else {
			add(&ip->re, CF_PT_LIT, ch);
		}
	}
	ip->type = type;
	return NULL;
}

static bool pattern_match(const struct ipattern *ip, const char *path, size_t len)
{
	size_t tl = strlen(ip->text);
	switch (ip->type) {
	case M_EXACT:
		return len == tl && memcmp(path, ip->text, len) == 0;
	case M_PREFIX:
		return len >= tl - 2 && memcmp(path, ip->text, tl - 2) == 0;
	case M_SUFFIX: {
		const char *suf = ip->text + 2;
		size_t sl = tl - 2;
		if (len >= sl && memcmp(path + len - sl, suf, sl) == 0)
			return true;
		return sl > 0 && suf[0] == '/' && len == sl - 1 && memcmp(path, suf + 1, len) == 0;
	}
	case M_REGEXP: {
		struct cf_matcher m;
		cf_matcher_init(&m, &ip->re, path, len, !ip->unanchored);
		bool ok = cf_match_at(&m, 0) >= 0;
		cf_matcher_release(&m);
		return ok;
	}
	}
	return false;
}

/* NULL, or why the pattern is refused (the caller frees it). */
static char *ignore_add(struct cf_ignore *ig, const char *pattern)
{
	ig->p = xreallocarray(ig->p, ig->n + 1, sizeof(*ig->p));
	ig->shown = xreallocarray(ig->shown, ig->n + 2, sizeof(char *));
	struct ipattern *ip = &ig->p[ig->n];
	memset(ip, 0, sizeof(*ip));
	ip->exclusion = pattern[0] == '!';
	ip->text = xstrdup(pattern + (ip->exclusion ? 1 : 0));
	ig->shown[ig->n] = xstrdup(pattern);
	ig->shown[ig->n + 1] = NULL;
	ig->n++;
	char *why = compile(ip);
	ig->exceptions |= ip->exclusion;
	return why;
}

/* One line of the file through ReadAll then New; NULL when skipped. */
static char *clean_line(const char *line, size_t len)
{
	if (len > 0 && line[0] == '#')
		return NULL;
	size_t lead = cf_trim_left(line, len);
	size_t end = lead + cf_trim_right(line + lead, len - lead);
	if (end == lead)
		return NULL;
	bool invert = line[lead] == '!';
	if (invert) {
		lead++;
		lead += cf_trim_left(line + lead, end - lead);
	}
	cleanup_free char *pat = xstrndup(line + lead, end - lead);
	if (*pat != '\0') {
		char *c = cf_path_clean(pat);
		free(pat);
		pat = c;
		if (strlen(pat) > 1 && pat[0] == '/')
			memmove(pat, pat + 1, strlen(pat));
	}
	char *res = xasprintf("%s%s", invert ? "!" : "", pat);
	/* New(): trimmed and cleaned once more (a no-op for most lines). */
	char *again = cf_path_clean(res);
	free(res);
	return again;
}

int cf_ignore_parse(const char *data, size_t len, const char *name, struct cf_ignore **out,
		    struct err **err)
{
	struct cf_ignore *ig = xcalloc(1, sizeof(*ig));
	ig->shown = xcalloc(1, sizeof(char *));
	size_t pos = 0;
	unsigned int lineno = 0;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *s = data + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos;
		pos += l + (nl ? 1 : 0);
		lineno++;
		if (l > 0 && s[l - 1] == '\r')
			l--;
		cleanup_free char *pat = clean_line(s, l);
		if (pat == NULL)
			continue;
		if (strcmp(pat, "!") == 0 || !valid_pattern(pat[0] == '!' ? pat + 1 : pat)) {
			cf_ignore_free(ig);
			if (strcmp(pat, "!") == 0)
				return err_set(err, ERR_INVALID, "%s:%u: illegal exclusion pattern: \"!\"", name, lineno);
			return err_set(err, ERR_INVALID, "%s:%u: syntax error in pattern '%s'", name, lineno, pat);
		}
		cleanup_free char *why = ignore_add(ig, pat);
		if (why != NULL) {
			cf_ignore_free(ig);
			return err_set(err, ERR_INVALID, "%s:%u: %s in pattern '%s'", name, lineno, why, pat);
		}
	}
	*out = ig;
	return 0;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int cf_ignore_load(const char *context_dir, const char *containerfile, struct cf_ignore **out,
		   char **path, struct err **err)
{
	char *cands[4] = { NULL, NULL, NULL, NULL };
	size_t nc = 0;
	if (containerfile != NULL && strcmp(containerfile, "-") != 0) {
		cands[nc++] = xasprintf("%s.containerignore", containerfile);
		cands[nc++] = xasprintf("%s.dockerignore", containerfile);
	}
	cands[nc++] = xasprintf("%s/.containerignore", context_dir);
	cands[nc++] = xasprintf("%s/.dockerignore", context_dir);
	char *found = NULL;
	for (size_t i = 0; i < nc; i++) {
		if (found == NULL && exists(cands[i]))
			found = cands[i];
		else
			free(cands[i]);
	}
	if (path != NULL)
		*path = NULL;
	if (found == NULL) {
		*out = xcalloc(1, sizeof(struct cf_ignore));
		(*out)->shown = xcalloc(1, sizeof(char *));
		return 0;
	}
	struct buf b;
	buf_init(&b, BALE_MAX_CONTAINERFILE);
	int rc = buf_read_file(&b, AT_FDCWD, found, err);
	if (rc == 0)
		rc = cf_ignore_parse(buf_str(&b), b.len, found, out, err);
	buf_release(&b);
	if (rc == 0 && path != NULL)
		*path = found;
	else
		free(found);
	return rc;
}

/* filepath.Dir's split of a cleaned relative path: each parent in turn. */
bool cf_ignore_matches(const struct cf_ignore *ig, const char *path)
{
	cleanup_free char *file = cf_path_clean(path);
	const char *f = file;
	while (*f == '/' && f[1] != '\0')
		f++;
	if (strcmp(f, ".") == 0 || strcmp(f, "/") == 0)
		return false;
	size_t len = strlen(f);
	const char *last = strrchr(f, '/');
	size_t plen = last ? (size_t)(last - f) : 0; /* parent: f[0..plen) */
	bool matched = false;
	for (size_t i = 0; i < ig->n; i++) {
		const struct ipattern *ip = &ig->p[i];
		if (ip->exclusion != matched)
			continue;
		bool m = pattern_match(ip, f, len);
		for (size_t j = 0; !m && last != NULL && j <= plen; j++)
			if (j == plen || f[j] == '/')
				m = pattern_match(ip, f, j);
		if (m)
			matched = !ip->exclusion;
	}
	return matched;
}

size_t cf_ignore_count(const struct cf_ignore *ig)
{
	return ig->n;
}

const char *cf_ignore_pattern(const struct cf_ignore *ig, size_t i)
{
	return i < ig->n ? ig->shown[i] : NULL;
}

bool cf_ignore_has_exceptions(const struct cf_ignore *ig)
{
	return ig->exceptions;
}

void cf_ignore_free(struct cf_ignore *ig)
{
	if (ig == NULL)
		return;
	for (size_t i = 0; i < ig->n; i++) {
		free(ig->p[i].text);
		cf_pattern_release(&ig->p[i].re);
	}
	free(ig->p);
	strv_free(ig->shown);
	free(ig);
}
