/* .dockerignore patterns as moby/patternmatcher reads and matches them:
 * ignorefile.ReadAll's line rules, New's cleaning and filepath.Match syntax
 * check, and the pattern-to-regexp translation (exact, prefix `x**`,
 * suffix `**x`, or a full match) evaluated by parser/match.c. */
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

/* patternmatcher's compile(): the same walk, building tokens instead of a
 * regexp string. */
static void compile(struct ipattern *ip)
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
				int32_t e = cf_utf8_decode(s + pos, n - pos, &w);
				pos += w;
				add(&ip->re, CF_PT_LIT, e);
				type = M_REGEXP;
			} else {
				add(&ip->re, CF_PT_LIT, '$'); /* the regexp "\\$" */
			}
		} else if (ch == '[') {
			struct cf_ptok t = { .kind = CF_PT_CLASS };
			const char *e = parse_class(s + pos, &t);
			if (e != NULL) {
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
		cf_matcher_init(&m, &ip->re, path, len, true);
		bool ok = cf_match_at(&m, 0) >= 0;
		cf_matcher_release(&m);
		return ok;
	}
	}
	return false;
}

static void ignore_add(struct cf_ignore *ig, const char *pattern)
{
	ig->p = xreallocarray(ig->p, ig->n + 1, sizeof(*ig->p));
	ig->shown = xreallocarray(ig->shown, ig->n + 2, sizeof(char *));
	struct ipattern *ip = &ig->p[ig->n];
	memset(ip, 0, sizeof(*ip));
	ip->exclusion = pattern[0] == '!';
	ip->text = xstrdup(pattern + (ip->exclusion ? 1 : 0));
	ig->exceptions |= ip->exclusion;
	compile(ip);
	ig->shown[ig->n] = xstrdup(pattern);
	ig->shown[ig->n + 1] = NULL;
	ig->n++;
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
		ignore_add(ig, pat);
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
