/* .dockerignore patterns as moby/patternmatcher reads and matches them:
 * ignorefile.ReadAll's line rules, New's cleaning and filepath.Match syntax
 * check, and the match type (exact, prefix `x**`, suffix `**x`, or a Go
 * regexp). For the regexp, bale writes the text patternmatcher writes and
 * reads it with Go's regexp/syntax rules into tokens that parser/match.c
 * evaluates; docs/dockerignore.md tells the user what that means. */
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

/* ignorefile.ReadAll reads lines with a bufio.Scanner, whose longest
 * token is 64 KiB with its newline. */
#define IGNORE_MAX_LINE 65535

struct ipattern {
	char *text; /* cleaned, without the '!' */
	bool exclusion;
	enum match_type type;
	struct cf_pattern *alts; /* M_REGEXP: Go's top-level alternatives */
	size_t nalts;
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

/* filepath.Match's getEsc: one class character, maybe escaped; -1 for a
 * bad pattern. *pos moves past it. */
static int32_t fp_class_char(const char *c, size_t n, size_t *pos)
{
	size_t p = *pos, w;
	if (p == n || c[p] == '-' || c[p] == ']')
		return -1;
	if (c[p] == '\\' && ++p == n)
		return -1;
	int32_t r = cf_utf8_decode(c + p, n - p, &w);
	p += w;
	*pos = p;
	return (r == CF_RUNE_ERROR && w == 1) || p == n ? -1 : r;
}

/* filepath.Match's matchChunk: whether the star-free chunk c[0..n)
 * matches the start of s[0..sn) (*rest: what is left of s). The whole
 * chunk is read even once it fails, so a bad chunk is always -1. */
static int fp_match_chunk(const char *c, size_t n, const char *s, size_t sn, size_t *rest)
{
	bool failed = false;
	size_t p = 0, sp = 0, w;
	while (p < n) {
		if (!failed && sp == sn)
			failed = true;
		if (c[p] == '[') {
			int32_t r = 0;
			if (!failed) {
				r = cf_utf8_decode(s + sp, sn - sp, &w);
				sp += w;
			}
			p++;
			bool negated = p < n && c[p] == '^';
			p += negated;
			bool match = false;
			for (size_t nrange = 0;; nrange++) {
				if (p < n && c[p] == ']' && nrange > 0) {
					p++;
					break;
				}
				int32_t lo = fp_class_char(c, n, &p), hi = lo;
				if (lo < 0)
					return -1;
				if (c[p] == '-' && (p++, hi = fp_class_char(c, n, &p)) < 0)
					return -1;
				match |= lo <= r && r <= hi;
			}
			failed |= match == negated;
		} else if (c[p] == '?') {
			if (!failed) {
				failed = s[sp] == '/';
				cf_utf8_decode(s + sp, sn - sp, &w);
				sp += w;
			}
			p++;
		} else {
			if (c[p] == '\\' && ++p == n)
				return -1;
			if (!failed) {
				failed = c[p] != s[sp];
				sp++;
			}
			p++;
		}
	}
	*rest = sp;
	return !failed;
}

/* filepath.Match(pattern, name): 1, 0, or -1 for ErrBadPattern. Only the
 * chunks it reaches are checked: a bad class after the first chunk that
 * fails to match is no error (`a[` is, `x*a[` against "." is not). */
static int fp_match(const char *pat, const char *name)
{
	size_t n = strlen(pat), p = 0, nn = strlen(name);
	while (p < n) {
		bool star = false;
		while (p < n && pat[p] == '*')
			p++, star = true;
		bool inrange = false;
		size_t e = p;
		for (; e < n; e++) {
			if (pat[e] == '\\' && e + 1 < n)
				e++;
			else if (pat[e] == '[')
				inrange = true;
			else if (pat[e] == ']')
				inrange = false;
			else if (pat[e] == '*' && !inrange)
				break;
		}
		const char *chunk = pat + p;
		size_t cn = e - p, rest = 0;
		p = e;
		if (star && cn == 0)
			return memchr(name, '/', nn) == NULL;
		int ok = fp_match_chunk(chunk, cn, name, nn, &rest);
		if (ok > 0 && (rest == nn || p < n)) {
			name += rest, nn -= rest;
			continue;
		}
		if (ok < 0)
			return -1;
		bool next = false;
		for (size_t i = 0; star && !next && i < nn && name[i] != '/'; i++) {
			ok = fp_match_chunk(chunk, cn, name + i + 1, nn - i - 1, &rest);
			if (ok > 0 && !(p == n && rest < nn - i - 1)) {
				name += i + 1 + rest, nn -= i + 1 + rest;
				next = true;
			} else if (ok < 0) {
				return -1;
			}
		}
		if (!next)
			return 0;
	}
	return nn == 0;
}

/* Go's \x41 or \x{10FFFF}, s[*pos] just past the x; -1 when invalid. */
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

/* Go's POSIX classes inside brackets, `[:alpha:]` (ASCII only). */
static const int32_t *posix_class(const char *name, size_t len, uint32_t *n)
{
	static const int32_t alnum[] = { '0', '9', 'A', 'Z', 'a', 'z' };
	static const int32_t alpha[] = { 'A', 'Z', 'a', 'z' };
	static const int32_t ascii[] = { 0, 0x7F };
	static const int32_t blank[] = { '\t', '\t', ' ', ' ' };
	static const int32_t cntrl[] = { 0, 0x1F, 0x7F, 0x7F };
	static const int32_t digit[] = { '0', '9' };
	static const int32_t graph[] = { '!', '~' };
	static const int32_t lower[] = { 'a', 'z' };
	static const int32_t print[] = { ' ', '~' };
	static const int32_t punct[] = { '!', '/', ':', '@', '[', '`', '{', '~' };
	static const int32_t space[] = { '\t', '\r', ' ', ' ' };
	static const int32_t upper[] = { 'A', 'Z' };
	static const int32_t word[] = { '0', '9', 'A', 'Z', '_', '_', 'a', 'z' };
	static const int32_t xdigit[] = { '0', '9', 'A', 'F', 'a', 'f' };
	static const struct {
		const char *name;
		const int32_t *r;
		uint32_t n;
	} tab[] = {
		{ "alnum", alnum, 3 }, { "alpha", alpha, 2 }, { "ascii", ascii, 1 }, { "blank", blank, 2 },
		{ "cntrl", cntrl, 2 }, { "digit", digit, 1 }, { "graph", graph, 1 }, { "lower", lower, 1 },
		{ "print", print, 1 }, { "punct", punct, 4 }, { "space", space, 2 }, { "upper", upper, 1 },
		{ "word", word, 4 },   { "xdigit", xdigit, 3 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (strlen(tab[i].name) == len && memcmp(tab[i].name, name, len) == 0) {
			*n = tab[i].n;
			return tab[i].r;
		}
	return NULL;
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

/* Add sorted disjoint ranges r[0..n) to t, or their complement. */
static void class_add_set(struct cf_ptok *t, size_t *cap, const int32_t *r, uint32_t n, bool negate)
{
	int32_t next = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!negate)
			class_add(t, cap, r[2 * i], r[2 * i + 1]);
		else if (r[2 * i] > next)
			class_add(t, cap, next, r[2 * i] - 1);
		next = r[2 * i + 1] + 1;
	}
	if (negate && next <= 0x10FFFF)
		class_add(t, cap, next, 0x10FFFF);
}

/* ---------------------------------------------------------------- regexp
 * patternmatcher turns a pattern into a Go regexp (`*` -> `[^/]*`, `?` ->
 * `[^/]`, `**` -> an optional group "any run then a slash", or `.*` at the
 * end, `\c` copied, `.+()$` escaped, and every other character copied raw,
 * `|` `{` `}` `[` `]` `^` included) and calls regexp.Compile on "^...$". bale writes that same text, then reads
 * it with Go's syntax rules (regexp/syntax, Perl flags) into alternatives
 * of matcher tokens: alternation, repetition `* + ? {n} {n,} {n,m}`,
 * classes, escapes, `^ $ \A \z \b \B`. What Go refuses is refused, with
 * Go's reason. */

/* Tokens one alternative may expand to through `{n,m}`. Go's own cap is
 * about 3.3 million instructions; bale's matcher keeps its failure memo,
 * (tokens x path length) bits, for paths up to 16 KiB only below this. */
#define IGNORE_MAX_TOKENS 16384

struct rx {
	const char *s; /* the regexp text */
	size_t n, pos;
	struct ipattern *ip;
	struct cf_pattern *cur; /* the alternative being read */
	size_t atom;            /* first token of the last atom, SIZE_MAX: none */
	size_t last_repeat;     /* where the previous repetition began, SIZE_MAX: none */
	bool unsupported;       /* the refusal is bale's, not Go's */
};

static void rx_add(struct rx *x, uint8_t kind, int32_t rune)
{
	x->atom = x->cur->n;
	struct cf_ptok t = { .kind = kind, .rune = rune, .greedy = true };
	cf_pattern_add(x->cur, t);
}

static void rx_new_alt(struct rx *x)
{
	struct ipattern *ip = x->ip;
	ip->alts = xreallocarray(ip->alts, ip->nalts + 1, sizeof(*ip->alts));
	memset(&ip->alts[ip->nalts], 0, sizeof(ip->alts[0]));
	x->cur = &ip->alts[ip->nalts++];
	x->atom = SIZE_MAX;
}

static struct cf_ptok tok_copy(const struct cf_ptok *t)
{
	struct cf_ptok c = *t;
	if (t->ranges != NULL) {
		c.ranges = xreallocarray(NULL, t->nranges * 2, sizeof(int32_t));
		memcpy(c.ranges, t->ranges, t->nranges * 2 * sizeof(int32_t));
	}
	return c;
}

/* Append a copy of the atom that stood at index from, its optional
 * groups' skips moved along. */
static void atom_copy(struct cf_pattern *re, const struct cf_ptok *atom, size_t len, size_t from)
{
	size_t shift = re->n - from;
	for (size_t k = 0; k < len; k++) {
		struct cf_ptok t = tok_copy(&atom[k]);
		if (t.kind == CF_PT_OPT)
			t.skip += (uint32_t)shift;
		cf_pattern_add(re, t);
	}
}

static bool tok_empty_width(const struct cf_ptok *t)
{
	return t->kind == CF_PT_BOL || t->kind == CF_PT_EOT || t->kind == CF_PT_WORDB;
}

/* Go's repeat(): the operator s[op..x->pos) applies to the last atom, read
 * as min..max copies (max -1: no bound). NULL or why Go refuses it. */
static char *rx_repeat(struct rx *x, size_t op, int min, int max)
{
	if (x->pos < x->n && x->s[x->pos] == '?')
		x->pos++; /* non-greedy: the same set of matches */
	if (x->last_repeat != SIZE_MAX)
		return xasprintf("invalid nested repetition operator: `%.*s`", (int)(x->pos - x->last_repeat),
				 x->s + x->last_repeat);
	if (x->atom == SIZE_MAX)
		return xasprintf("missing argument to repetition operator: `%.*s`", (int)(x->pos - op), x->s + op);
	struct cf_pattern *re = x->cur;
	size_t a = x->atom, len = re->n - a;
	struct cf_ptok *atom = xreallocarray(NULL, len, sizeof(*atom));
	memcpy(atom, re->t + a, len * sizeof(*atom));
	re->n = a;
	char *why = NULL;
	size_t extra = max < 0 ? 1 : (size_t)(max - min) * (len + 1);
	if (len == 0) {
		/* `^{0}\Q\E{2}`: nothing repeated is nothing */
	} else if (len == 1 && tok_empty_width(&atom[0])) {
		/* an assertion holds once or any number of times alike */
		if (min > 0)
			cf_pattern_add(re, tok_copy(&atom[0]));
	} else if (re->n + (size_t)min * len + extra > IGNORE_MAX_TOKENS) {
		x->unsupported = true;
		why = xasprintf("repetition `%.*s` expands past %d tokens, more than bale matches",
				(int)(x->pos - op), x->s + op, IGNORE_MAX_TOKENS);
	} else if (max < 0 && len != 1) {
		/* `a{2}\Q\E{2,}`: Go repeats the repetition (\Q\E in between
		 * is no nesting), which needs a loop over several tokens */
		x->unsupported = true;
		why = xasprintf("unsupported repetition `%.*s` of a group", (int)(x->pos - op), x->s + op);
	} else {
		for (int i = 0; i < min; i++)
			atom_copy(re, atom, len, a);
		if (max < 0) {
			struct cf_ptok t = tok_copy(&atom[0]);
			t.star = true;
			cf_pattern_add(re, t);
		} else {
			/* x{2,4} is xx(x(x)?)?: each optional copy skips to the end */
			size_t end = re->n + extra;
			for (int i = min; i < max; i++) {
				struct cf_ptok opt = { .kind = CF_PT_OPT, .skip = (uint32_t)end };
				cf_pattern_add(re, opt);
				atom_copy(re, atom, len, a);
			}
		}
	}
	for (size_t k = 0; k < len; k++)
		free(atom[k].ranges);
	free(atom);
	x->atom = a; /* `\Q\E{2}` may repeat this whole expansion */
	x->last_repeat = op;
	return why;
}

/* Go's parseRepeat on s[*pos] == '{': {n} {n,} {n,m}, numbers without
 * leading zeros; false when it is not one (the `{` is then a literal).
 * A number of more than 8 digits gives -1 (too big). */
static bool rx_parse_braces(const char *s, size_t n, size_t *pos, int *min, int *max)
{
	size_t p = *pos + 1;
	int v[2] = { 0, 0 };
	for (int k = 0; k < 2; k++) {
		if (p == n || s[p] < '0' || s[p] > '9')
			return false;
		if (p + 1 < n && s[p] == '0' && s[p + 1] >= '0' && s[p + 1] <= '9')
			return false;
		for (; p < n && s[p] >= '0' && s[p] <= '9'; p++)
			v[k] = v[k] < 0 || v[k] >= 100000000 ? -1 : v[k] * 10 + (s[p] - '0');
		if (k == 0) {
			if (p == n)
				return false;
			if (s[p] != ',') {
				v[1] = v[0];
				break;
			}
			if (++p == n)
				return false;
			if (s[p] == '}') {
				v[1] = -2; /* no bound */
				break;
			}
		} else if (v[1] < 0) {
			v[0] = -1;
		}
	}
	if (p == n || s[p] != '}')
		return false;
	*pos = p + 1;
	*min = v[0];
	*max = v[1];
	return true;
}

/* One class character as Go reads it; -1 when Go refuses it. */
static int32_t rx_class_char(const char *s, size_t n, size_t *pos)
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

static char *unicode_class_refused(struct rx *x, const char *s)
{
	x->unsupported = true;
	return xasprintf("Go's Unicode classes `\\%c` are not supported by bale (supported: \\d \\D \\s "
			 "\\S \\w \\W, the POSIX classes such as [[:alpha:]], \\b \\B \\A \\z, \\Q...\\E)",
			 s[1]);
}

/* Go's parseClass at s[x->pos] == '['. */
static char *rx_class(struct rx *x)
{
	const char *s = x->s;
	size_t n = x->n, start = x->pos, pos = start + 1, cap = 0;
	struct cf_ptok t = { .kind = CF_PT_CLASS, .greedy = true };
	char *why = NULL;
	if (pos < n && s[pos] == '^') {
		t.negated = true;
		pos++;
	}
	for (bool first = true; why == NULL && (pos == n || s[pos] != ']' || first); first = false) {
		if (pos == n) {
			why = xasprintf("missing closing ]: `%.*s`", (int)(n - start), s + start);
			break;
		}
		if (n - pos > 2 && s[pos] == '[' && s[pos + 1] == ':') {
			/* Go looks for the closing ":]" anywhere after */
			const char *e = memmem(s + pos + 2, n - pos - 2, ":]", 2);
			if (e != NULL) {
				const char *name = s + pos + 2;
				size_t len = (size_t)(e - name);
				bool neg = len > 0 && name[0] == '^';
				uint32_t nr;
				const int32_t *r = posix_class(name + neg, len - neg, &nr);
				if (r == NULL) {
					why = xasprintf("invalid character class range: `%.*s`", (int)(len + 4), s + pos);
					break;
				}
				class_add_set(&t, &cap, r, nr, neg);
				pos += len + 4;
				continue;
			}
		}
		if (s[pos] == '\\' && pos + 1 < n && (s[pos + 1] == 'p' || s[pos + 1] == 'P')) {
			why = unicode_class_refused(x, s + pos);
			break;
		}
		uint32_t nr;
		const int32_t *pr = s[pos] == '\\' && pos + 1 < n ? perl_class((unsigned char)s[pos + 1], &nr) : NULL;
		if (pr != NULL) {
			class_add_set(&t, &cap, pr, nr, false);
			pos += 2;
			continue;
		}
		size_t at = pos;
		int32_t lo = rx_class_char(s, n, &pos), hi = lo;
		if (lo >= 0 && n - pos >= 2 && s[pos] == '-' && s[pos + 1] != ']') {
			pos++;
			hi = rx_class_char(s, n, &pos);
		}
		if (lo < 0 || hi < 0)
			why = xasprintf("invalid escape sequence in class `%.*s`", (int)(pos - start), s + start);
		else if (hi < lo)
			why = xasprintf("invalid character class range: `%.*s`", (int)(pos - at), s + at);
		else
			class_add(&t, &cap, lo, hi);
	}
	if (why != NULL) {
		free(t.ranges);
		return why;
	}
	x->pos = pos + 1;
	x->atom = x->cur->n;
	cf_pattern_add(x->cur, t);
	return NULL;
}

/* Go's escapes outside a class, s[x->pos] == '\\'. */
static char *rx_escape(struct rx *x)
{
	const char *s = x->s;
	size_t n = x->n, start = x->pos, w;
	if (start + 1 == n)
		return xstrdup("trailing backslash at end of expression");
	x->pos++;
	int32_t c = cf_utf8_decode(s + x->pos, n - x->pos, &w);
	x->pos += w;
	uint32_t nr;
	const int32_t *ranges = perl_class(c, &nr);
	if (ranges != NULL) {
		struct cf_ptok t = { .kind = CF_PT_CLASS, .greedy = true };
		size_t cap = 0;
		class_add_set(&t, &cap, ranges, nr, false);
		x->atom = x->cur->n;
		cf_pattern_add(x->cur, t);
		return NULL;
	}
	switch (c) {
	case 'A': rx_add(x, CF_PT_BOL, 0); return NULL;
	case 'z': rx_add(x, CF_PT_EOT, 0); return NULL;
	case 'b': case 'B':
		rx_add(x, CF_PT_WORDB, 0);
		x->cur->t[x->cur->n - 1].negated = c == 'B';
		return NULL;
	case 'p': case 'P':
		return unicode_class_refused(x, s + start);
	case 'Q': {
		/* literal up to \E or the end */
		const char *e = memmem(s + x->pos, n - x->pos, "\\E", 2);
		size_t end = e != NULL ? (size_t)(e - s) : n;
		while (x->pos < end) {
			rx_add(x, CF_PT_LIT, cf_utf8_decode(s + x->pos, end - x->pos, &w));
			x->pos += w;
		}
		x->pos = e != NULL ? end + 2 : n;
		return NULL;
	}
	default: {
		int32_t lit = escape_rune(c, s, n, &x->pos);
		if (lit < 0)
			return xasprintf("invalid escape sequence: `%.*s`", (int)(x->pos - start), s + start);
		rx_add(x, CF_PT_LIT, lit);
		return NULL;
	}
	}
}

/* Read the regexp text s[0..n) into ip->alts. NULL, or why Go's
 * regexp.Compile refuses it (the caller frees). */
static char *rx_parse(struct ipattern *ip, const char *s, size_t n, bool *unsupported)
{
	struct rx x = { .s = s, .n = n, .ip = ip, .last_repeat = SIZE_MAX };
	rx_new_alt(&x);
	char *why = NULL;
	while (why == NULL && x.pos < n) {
		size_t op = x.pos, last = x.last_repeat;
		x.last_repeat = SIZE_MAX;
		int min, max;
		switch (s[x.pos]) {
		case '|':
			rx_new_alt(&x);
			x.pos++;
			break;
		case '(':
			/* patternmatcher escapes `(`: only the group of `**` is raw */
			if (n - x.pos < 5 || memcmp(s + x.pos, "(.*/)", 5) != 0) {
				x.unsupported = true;
				why = xasprintf("unsupported group `%.*s`", (int)(n - x.pos), s + x.pos);
				break;
			}
			x.atom = x.cur->n;
			struct cf_ptok any = { .kind = CF_PT_ANY, .greedy = true, .star = true };
			cf_pattern_add(x.cur, any);
			struct cf_ptok slash = { .kind = CF_PT_LIT, .rune = '/', .greedy = true };
			cf_pattern_add(x.cur, slash);
			x.pos += 5;
			break;
		case ')':
			why = xasprintf("unexpected ): `%.*s`", (int)n, s);
			break;
		case '^': rx_add(&x, CF_PT_BOL, 0); x.pos++; break;
		case '$': rx_add(&x, CF_PT_EOT, 0); x.pos++; break;
		case '.': rx_add(&x, CF_PT_ANY, 0); x.pos++; break;
		case '[': why = rx_class(&x); break;
		case '\\': why = rx_escape(&x); break;
		case '*': case '+': case '?':
			x.pos++;
			x.last_repeat = last;
			why = rx_repeat(&x, op, s[op] == '+' ? 1 : 0, s[op] == '?' ? 1 : -1);
			break;
		case '{':
			if (!rx_parse_braces(s, n, &x.pos, &min, &max)) {
				rx_add(&x, CF_PT_LIT, '{');
				x.pos++;
				break;
			}
			if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) {
				why = xasprintf("invalid repeat count: `%.*s`", (int)(x.pos - op), s + op);
				break;
			}
			x.last_repeat = last;
			why = rx_repeat(&x, op, min, max == -2 ? -1 : max);
			break;
		default: {
			size_t w;
			rx_add(&x, CF_PT_LIT, cf_utf8_decode(s + x.pos, n - x.pos, &w));
			x.pos += w;
			break;
		}
		}
	}
	*unsupported = x.unsupported;
	return why;
}

static void text_add_rune(struct buf *b, int32_t r)
{
	cf_utf8_add(b, r, NULL);
}

/* patternmatcher's compile(): the match type and, for a regexp, its text
 * ("^...$"), which the caller reads with rx_parse. */
static enum match_type translate(const char *s, struct buf *re)
{
	size_t n = strlen(s), pos = 0;
	enum match_type type = M_EXACT;
	buf_addch(re, '^', NULL);
	/* text/scanner drops a BOM that starts its input */
	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	for (size_t i = 0; pos < n; i++) {
		size_t w;
		int32_t ch = cf_utf8_decode(s + pos, n - pos, &w);
		pos += w;
		if (ch == '*' && pos < n && s[pos] == '*') {
			pos++;
			if (pos < n && s[pos] == '/')
				pos++;
			if (pos == n && type == M_EXACT) {
				type = M_PREFIX;
			} else {
				buf_addstr(re, pos == n ? ".*" : "(.*/)?", NULL);
				type = M_REGEXP;
			}
			if (i == 0)
				type = M_SUFFIX;
		} else if (ch == '*' || ch == '?') {
			buf_addstr(re, ch == '*' ? "[^/]*" : "[^/]", NULL);
			type = M_REGEXP;
		} else if (ch > 0 && ch < 0x80 && strchr(".+()$", (int)ch) != NULL) {
			/* patternmatcher's escape table misses `|{}` (its bitmap
			 * drops every byte from 64 up), so only these are quoted */
			buf_addch(re, '\\', NULL);
			buf_addch(re, (char)ch, NULL);
		} else if (ch == '\\') {
			buf_addch(re, '\\', NULL);
			if (pos < n) {
				text_add_rune(re, cf_utf8_decode(s + pos, n - pos, &w));
				pos += w;
				type = M_REGEXP;
			}
		} else if (ch == '[' || ch == ']') {
			buf_addch(re, (char)ch, NULL);
			type = M_REGEXP;
		} else {
			text_add_rune(re, ch);
		}
	}
	buf_addch(re, '$', NULL);
	return type;
}

/* NULL, or why the pattern is refused (caller frees): Go's
 * regexp.Compile refuses it, or *unsupported when bale cannot match it. */
static char *compile(struct ipattern *ip, bool *unsupported)
{
	struct buf re;
	/* at most 5 bytes of regexp per byte of pattern, plus "^$" */
	buf_init(&re, 6 * strlen(ip->text) + 2);
	ip->type = translate(ip->text, &re);
	char *why = NULL;
	if (ip->type == M_REGEXP) {
		why = rx_parse(ip, re.data, re.len, unsupported);
		if (why != NULL) {
			char *full = *unsupported ? xasprintf("%s, in its Go regexp `%s`", why, buf_str(&re))
						  : xasprintf("Go's regexp.Compile refuses `%s`: %s", buf_str(&re), why);
			free(why);
			why = full;
		}
	}
	buf_release(&re);
	return why;
}

/* regexp.MatchString: a match of any alternative anywhere in the path
 * (the first one starts with `^`, the last one ends with `$`). */
static bool regexp_match(const struct ipattern *ip, const char *path, size_t len)
{
	for (size_t a = 0; a < ip->nalts; a++) {
		const struct cf_pattern *re = &ip->alts[a];
		struct cf_matcher m;
		cf_matcher_init(&m, re, path, len, false);
		size_t start;
		bool at0 = re->n > 0 && re->t[0].kind == CF_PT_BOL;
		bool ok = at0 ? cf_match_at(&m, 0) >= 0 : cf_match_find(&m, 0, &start) >= 0;
		cf_matcher_release(&m);
		if (ok)
			return true;
	}
	return false;
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
	case M_REGEXP:
		return regexp_match(ip, path, len);
	}
	return false;
}

/* NULL, or why the pattern is refused (the caller frees it). */
static char *ignore_add(struct cf_ignore *ig, const char *pattern, bool *unsupported)
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
	char *why = compile(ip, unsupported);
	ig->exceptions |= ip->exclusion;
	return why;
}

/* One line of the file through ReadAll then New; NULL when skipped. */
/* Check and add one cleaned pattern as New does; errors start with where
 * ("FILE:LINE"). Returns 0, ERR_INVALID or ERR_UNSUPPORTED. */
static int add_pattern(struct cf_ignore *ig, const char *pat, const char *where, struct err **err)
{
	if (strcmp(pat, "!") == 0)
		return err_set(err, ERR_INVALID, "%s: illegal exclusion pattern: \"!\"", where);
	if (fp_match(pat[0] == '!' ? pat + 1 : pat, ".") < 0)
		return err_set(err, ERR_INVALID, "%s: syntax error in pattern '%s'", where, pat);
	bool unsupported = false;
	cleanup_free char *why = ignore_add(ig, pat, &unsupported);
	if (why == NULL)
		return 0;
	if (unsupported)
		return err_set(err, ERR_UNSUPPORTED, "%s: pattern '%s' is not supported: %s", where, pat, why);
	return err_set(err, ERR_INVALID, "%s: syntax error in pattern '%s': %s", where, pat, why);
}

/* What patternmatcher.New does to each pattern: trim, then filepath.Clean.
 * NULL for a blank one. */
static char *clean_pattern(const char *p, size_t len)
{
	size_t lead = cf_trim_left(p, len);
	cleanup_free char *trimmed = xstrndup(p + lead, cf_trim_right(p + lead, len - lead));
	if (*trimmed == '\0')
		return NULL;
	return cf_path_clean(trimmed);
}

/* What ignorefile.ReadAll does to a line (comments, `!` with spaces after
 * it, a leading `/`), then New's clean_pattern. NULL: nothing to add. */
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
	cleanup_free char *res = xasprintf("%s%s", invert ? "!" : "", pat);
	/* New(): trimmed and cleaned once more (a no-op for most lines, but
	 * `x\ /` is `x\ ` after ReadAll and `x\` after New) */
	return clean_pattern(res, strlen(res));
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
	size_t bom = pos; /* ReadAll drops it after the scanner read the line */
	while (pos < len) {
		const char *s = data + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos;
		pos += l + (nl ? 1 : 0);
		lineno++;
		if (l + (lineno == 1 ? bom : 0) > IGNORE_MAX_LINE) {
			cf_ignore_free(ig);
			return err_set(err, ERR_INVALID, "%s:%u: line longer than %d bytes (BuildKit: bufio.Scanner: token too long)",
				       name, lineno, IGNORE_MAX_LINE);
		}
		if (l > 0 && s[l - 1] == '\r')
			l--;
		cleanup_free char *pat = clean_line(s, l);
		cleanup_free char *where = xasprintf("%s:%u", name, lineno);
		int r = pat != NULL ? add_pattern(ig, pat, where, err) : 0;
		if (r < 0) {
			cf_ignore_free(ig);
			return r;
		}
	}
	*out = ig;
	return 0;
}

int cf_ignore_from_patterns(char *const *patterns, size_t n, const char *name,
			    struct cf_ignore **out, struct err **err)
{
	struct cf_ignore *ig = xcalloc(1, sizeof(*ig));
	ig->shown = xcalloc(1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *pat = clean_pattern(patterns[i], strlen(patterns[i]));
		int r = pat != NULL ? add_pattern(ig, pat, name, err) : 0;
		if (r < 0) {
			cf_ignore_free(ig);
			return r;
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
		for (size_t a = 0; a < ig->p[i].nalts; a++)
			cf_pattern_release(&ig->p[i].alts[a]);
		free(ig->p[i].alts);
	}
	free(ig->p);
	strv_free(ig->shown);
	free(ig);
}
