/* BuildKit's shell lexer (frontend/dockerfile/shell/lex.go), rune for rune:
 * the same special characters, the same escapes inside and outside double
 * quotes, the same ${...} modifiers and the same error messages. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/util.h"
#include "parser/expand.h"
#include "parser/match-internal.h"
#include "parser/parser-internal.h"

/* ${a:-${b:-${c...}}} nests a call per level; Go's stacks grow, ours do not. */
#define MAX_NESTING 512

/* ------------------------------------------------------------ environment */

struct cf_env {
	char **keys;
	char **values;
	size_t n, cap;
};

struct cf_env *cf_env_new(void)
{
	return xcalloc(1, sizeof(struct cf_env));
}

void cf_env_free(struct cf_env *env)
{
	if (env == NULL)
		return;
	for (size_t i = 0; i < env->n; i++) {
		free(env->keys[i]);
		free(env->values[i]);
	}
	free(env->keys);
	free(env->values);
	free(env);
}

static ssize_t env_find(const struct cf_env *env, const char *key)
{
	for (size_t i = env->n; i > 0; i--)
		if (strcmp(env->keys[i - 1], key) == 0)
			return (ssize_t)(i - 1);
	return -1;
}

void cf_env_set(struct cf_env *env, const char *key, const char *value)
{
	ssize_t i = env_find(env, key);
	if (i >= 0) {
		free(env->values[i]);
		env->values[i] = xstrdup(value);
		return;
	}
	if (env->n == env->cap) {
		env->cap = env->cap ? env->cap * 2 : 8;
		env->keys = xreallocarray(env->keys, env->cap, sizeof(char *));
		env->values = xreallocarray(env->values, env->cap, sizeof(char *));
	}
	env->keys[env->n] = xstrdup(key);
	env->values[env->n] = xstrdup(value);
	env->n++;
}

void cf_env_put(struct cf_env *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (eq == NULL) {
		cf_env_set(env, kv, "");
		return;
	}
	cleanup_free char *key = xstrndup(kv, (size_t)(eq - kv));
	cf_env_set(env, key, eq + 1);
}

const char *cf_env_get(const struct cf_env *env, const char *key)
{
	if (env == NULL)
		return NULL;
	ssize_t i = env_find(env, key);
	return i >= 0 ? env->values[i] : NULL;
}

/* ------------------------------------------------------------ the lexer */

struct words {
	struct buf cur;
	bool in_word;
	char **v;
	size_t n, cap;
};

struct lexer {
	const struct cf_lex *opt;
	const struct cf_env *env;
	const char *s;
	size_t n, pos;
	int32_t escape;
	bool raw_escapes;
	int nesting;
	char *msg; /* the error, replaced as it travels up like BuildKit's */
};

__attribute__((format(printf, 2, 3))) static int fail(struct lexer *lx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(lx->msg);
	lx->msg = xvasprintf(fmt, ap);
	va_end(ap);
	return -1;
}

static int too_big(struct lexer *lx)
{
	return fail(lx, "expansion exceeds %u bytes", (unsigned)CF_MAX_EXPANSION);
}

static int32_t peek(struct lexer *lx)
{
	size_t w;
	return cf_utf8_decode(lx->s + lx->pos, lx->n - lx->pos, &w);
}

static int32_t next(struct lexer *lx)
{
	size_t w;
	int32_t r = cf_utf8_decode(lx->s + lx->pos, lx->n - lx->pos, &w);
	lx->pos += w;
	return r;
}

static void out_init(struct buf *b)
{
	buf_init(b, CF_MAX_EXPANSION);
}

static int add_rune(struct lexer *lx, struct buf *b, int32_t r)
{
	return cf_utf8_add(b, r, NULL) < 0 ? too_big(lx) : 0;
}

static int add_bytes(struct lexer *lx, struct buf *b, const char *s, size_t n)
{
	return buf_add(b, s, n, NULL) < 0 ? too_big(lx) : 0;
}

/* Go's string(rune): EOF (-1) prints as U+FFFD. */
static void rune_str(char out[5], int32_t r)
{
	struct buf b;
	buf_init(&b, 4);
	cf_utf8_add(&b, r, NULL);
	memcpy(out, buf_str(&b), b.len + 1);
	buf_release(&b);
}

static void words_push(struct words *w)
{
	if (w->n + 2 > w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->v = xreallocarray(w->v, w->cap, sizeof(char *));
	}
	w->v[w->n++] = buf_detach(&w->cur, NULL);
	w->v[w->n] = NULL;
}

static int words_add_raw(struct lexer *lx, struct words *w, const char *s, size_t n)
{
	w->in_word = true;
	return add_bytes(lx, &w->cur, s, n);
}

static int words_add_raw_rune(struct lexer *lx, struct words *w, int32_t r)
{
	w->in_word = true;
	return add_rune(lx, &w->cur, r);
}

/* An unquoted rune: a space ends the current word, if it has anything. */
static int words_add_rune(struct lexer *lx, struct words *w, int32_t r)
{
	if (cf_is_space(r)) {
		if (w->in_word && w->cur.len != 0) {
			words_push(w);
			w->in_word = false;
		}
		return 0;
	}
	return words_add_raw_rune(lx, w, r);
}

/* The value of a variable goes through word splitting rune by rune. */
static int words_add_string(struct lexer *lx, struct words *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t wd;
		int32_t r = cf_utf8_decode(s + i, n - i, &wd);
		if (words_add_rune(lx, w, r) < 0)
			return -1;
		i += wd;
	}
	return 0;
}

static int stop_on(struct lexer *lx, int32_t stop, bool raw, struct buf *res, struct words *w);

static const char *get_env(struct lexer *lx, const char *name)
{
	return cf_env_get(lx->env, name);
}

/* $ followed by a name: letters, digits, '_'; or one special parameter;
 * or a run of digits. */
static int process_name(struct lexer *lx, struct buf *name)
{
	while (peek(lx) != CF_EOF) {
		int32_t ch = peek(lx);
		if (name->len == 0 && cf_is_digit(ch)) {
			while (peek(lx) != CF_EOF && cf_is_digit(peek(lx)))
				if (add_rune(lx, name, next(lx)) < 0)
					return -1;
			return 0;
		}
		if (name->len == 0 && strchr("@*#?-$!0", (int)ch) != NULL && ch != 0 && ch < 0x80)
			return add_rune(lx, name, next(lx));
		if (!cf_is_letter(ch) && !cf_is_digit(ch) && ch != '_')
			break;
		if (add_rune(lx, name, next(lx)) < 0)
			return -1;
	}
	return 0;
}

static int process_single_quote(struct lexer *lx, struct buf *out)
{
	int32_t ch = next(lx);
	if (lx->opt->raw_quotes && add_rune(lx, out, ch) < 0)
		return -1;
	for (;;) {
		ch = next(lx);
		if (ch == CF_EOF)
			return fail(lx, "unexpected end of statement while looking for matching single-quote");
		if (ch == '\'') {
			if (lx->opt->raw_quotes)
				return add_rune(lx, out, ch);
			return 0;
		}
		if (add_rune(lx, out, ch) < 0)
			return -1;
	}
}

static int process_dollar(struct lexer *lx, struct buf *out);

static int process_double_quote(struct lexer *lx, struct buf *out)
{
	int32_t ch = next(lx);
	if (lx->opt->raw_quotes && add_rune(lx, out, ch) < 0)
		return -1;
	for (;;) {
		int32_t p = peek(lx);
		if (p == CF_EOF)
			return fail(lx, "unexpected end of statement while looking for matching double-quote");
		if (p == '"') {
			ch = next(lx);
			return lx->opt->raw_quotes ? add_rune(lx, out, ch) : 0;
		}
		if (p == '$') {
			if (process_dollar(lx, out) < 0)
				return -1;
			continue;
		}
		ch = next(lx);
		if (ch == lx->escape) {
			if (lx->raw_escapes && add_rune(lx, out, ch) < 0)
				return -1;
			p = peek(lx);
			if (p == CF_EOF)
				continue; /* a trailing escape is dropped; EOF fails above */
			if (p == '"' || p == '$' || p == lx->escape)
				ch = next(lx);
		}
		if (add_rune(lx, out, ch) < 0)
			return -1;
	}
}

/* "<<" and the blanks after it stay together, so that `<< EOF` is one word
 * for heredoc detection. */
static int process_possible_heredoc(struct lexer *lx, struct buf *out)
{
	next(lx);
	if (peek(lx) != '<')
		return add_bytes(lx, out, "<", 1);
	next(lx);
	if (add_bytes(lx, out, "<<", 2) < 0)
		return -1;
	while (peek(lx) == '\t' || peek(lx) == '\r' || peek(lx) == ' ')
		if (add_rune(lx, out, next(lx)) < 0)
			return -1;
	return 0;
}

/* ---- patterns of ${v#p} ${v%p} ${v/p/r} ---- */

/* BuildKit's convertShellPatternToRegex: '*' any run, '?' any rune, '\'
 * escapes only *, ? and \ (and is dropped before } and /). */
static int compile_shell_pattern(struct lexer *lx, const char *pat, bool greedy, struct cf_pattern *p)
{
	size_t n = strlen(pat), i = 0;
	/* text/scanner skips a byte order mark at the very start. */
	if (n >= 3 && memcmp(pat, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < n) {
		size_t w;
		int32_t tok = cf_utf8_decode(pat + i, n - i, &w);
		i += w;
		struct cf_ptok t = { .kind = CF_PT_LIT, .rune = tok };
		if (tok == '*') {
			t.kind = CF_PT_STAR;
			t.greedy = greedy;
		} else if (tok == '?') {
			t.kind = CF_PT_ANY;
		} else if (tok == '\\') {
			int32_t nx = cf_utf8_decode(pat + i, n - i, &w);
			if (nx == '}' || nx == '/')
				continue;
			i += w;
			if (nx != '*' && nx != '?' && nx != '\\') {
				char c[5];
				rune_str(c, nx);
				return fail(lx, "invalid escape '\\%s'", c);
			}
			t.rune = nx;
		}
		cf_pattern_add(p, t);
	}
	return 0;
}

static int compile_or_fail(struct lexer *lx, const char *pat, bool greedy, struct cf_pattern *p)
{
	if (compile_shell_pattern(lx, pat, greedy, p) == 0)
		return 0;
	cleanup_free char *inner = lx->msg;
	lx->msg = NULL;
	return fail(lx, "invalid pattern (%s) in substitution: %s", pat, inner);
}

/* Decode into runes (invalid bytes become U+FFFD, as Go's []rune does). */
static int32_t *to_runes(const char *s, size_t *count)
{
	size_t n = strlen(s), k = 0;
	int32_t *r = xcalloc(n + 1, sizeof(int32_t));
	for (size_t i = 0; i < n;) {
		size_t w;
		r[k++] = cf_utf8_decode(s + i, n - i, &w);
		i += w;
	}
	*count = k;
	return r;
}

static char *from_runes(const int32_t *r, size_t k)
{
	struct buf b;
	buf_init(&b, (size_t)-1 / 2);
	for (size_t i = 0; i < k; i++)
		cf_utf8_add(&b, r[i], NULL);
	return buf_detach(&b, NULL);
}

static char *reverse_string(const char *s)
{
	size_t k;
	cleanup_free int32_t *r = to_runes(s, &k);
	for (size_t i = 0; i < k / 2; i++) {
		int32_t t = r[i];
		r[i] = r[k - 1 - i];
		r[k - 1 - i] = t;
	}
	return from_runes(r, k);
}

/* Reverse a pattern but keep each escape before the rune it escapes. */
static char *reverse_pattern(const char *s)
{
	size_t k;
	cleanup_free int32_t *in = to_runes(s, &k);
	cleanup_free int32_t *out = xcalloc(k + 1, sizeof(int32_t));
	for (size_t i = 0; i < k;) {
		size_t o = k - 1 - i;
		if (in[i] == '\\' && i != k - 1) {
			out[o - 1] = in[i];
			out[o] = in[i + 1];
			i += 2;
		} else {
			out[o] = in[i];
			i++;
		}
	}
	return from_runes(out, k);
}

static int trim_prefix(struct lexer *lx, const char *pat, const char *value, bool greedy, char **res)
{
	struct cf_pattern p = { 0 };
	if (compile_or_fail(lx, pat, greedy, &p) < 0) {
		cf_pattern_release(&p);
		return -1;
	}
	struct cf_matcher m;
	size_t n = strlen(value);
	cf_matcher_init(&m, &p, value, n, false);
	ssize_t end = cf_match_at(&m, 0);
	cf_matcher_release(&m);
	cf_pattern_release(&p);
	*res = xstrdup(value + (end > 0 ? end : 0));
	return 0;
}

/* The shortest/longest rightmost match, found as a leftmost one on the
 * reversed value with the reversed pattern. */
static int trim_suffix(struct lexer *lx, const char *pat, const char *value, bool greedy, char **res)
{
	cleanup_free char *rpat = reverse_pattern(pat);
	cleanup_free char *rval = reverse_string(value);
	cleanup_free char *trimmed = NULL;
	if (trim_prefix(lx, rpat, rval, greedy, &trimmed) < 0)
		return -1;
	*res = reverse_string(trimmed);
	return 0;
}

/* Go's Regexp.Expand for ReplaceAllString: $$ is '$', $0/${0} the match,
 * any other $name is empty (the pattern has no groups), a malformed $ is
 * kept. */
static void expand_template(struct buf *b, const char *tpl, const char *match, size_t mlen)
{
	while (*tpl != '\0') {
		const char *d = strchr(tpl, '$');
		if (d == NULL) {
			buf_addstr(b, tpl, NULL);
			return;
		}
		buf_add(b, tpl, (size_t)(d - tpl), NULL);
		tpl = d + 1;
		if (*tpl == '$') {
			buf_addch(b, '$', NULL);
			tpl++;
			continue;
		}
		bool brace = *tpl == '{';
		const char *p = brace ? tpl + 1 : tpl;
		const char *name = p;
		while (*p != '\0') {
			size_t w;
			int32_t r = cf_utf8_decode(p, strlen(p), &w);
			if (!cf_is_letter(r) && !cf_is_digit(r) && r != '_')
				break;
			p += w;
		}
		size_t nlen = (size_t)(p - name);
		if (nlen == 0 || (brace && *p != '}')) {
			buf_addch(b, '$', NULL);
			continue;
		}
		if (brace)
			p++;
		if (nlen == 1 && name[0] == '0')
			buf_add(b, match, mlen, NULL);
		tpl = p;
	}
}

static int replace(struct lexer *lx, const char *pat, const char *repl, const char *value, bool all,
		   char **res)
{
	struct cf_pattern p = { 0 };
	if (compile_or_fail(lx, pat, true, &p) < 0) {
		cf_pattern_release(&p);
		return -1;
	}
	size_t n = strlen(value);
	struct cf_matcher m;
	cf_matcher_init(&m, &p, value, n, false);
	struct buf b;
	buf_init(&b, CF_MAX_EXPANSION);
	size_t start;
	int rc = 0;
	if (!all) {
		ssize_t end = cf_match_find(&m, 0, &start);
		if (end < 0) {
			buf_addstr(&b, value, NULL);
		} else {
			buf_add(&b, value, start, NULL);
			buf_addstr(&b, repl, NULL);
			buf_addstr(&b, value + end, NULL);
		}
	} else {
		/* Go's ReplaceAllString loop, empty-match rules included. */
		size_t search = 0, last = 0;
		while (search <= n && rc == 0) {
			ssize_t e = cf_match_find(&m, search, &start);
			if (e < 0)
				break;
			size_t end = (size_t)e;
			buf_add(&b, value + last, start - last, NULL);
			if (end > last || start == 0)
				expand_template(&b, repl, value + start, end - start);
			last = end;
			size_t w = 0;
			if (search < n)
				cf_utf8_decode(value + search, n - search, &w);
			if (search + w > end)
				search += w;
			else if (search + 1 > end)
				search++;
			else
				search = end;
			if (b.len >= CF_MAX_EXPANSION)
				rc = too_big(lx);
		}
		buf_addstr(&b, value + last, NULL);
	}
	cf_matcher_release(&m);
	cf_pattern_release(&p);
	if (rc == 0 && b.len >= CF_MAX_EXPANSION)
		rc = too_big(lx);
	if (rc < 0) {
		buf_release(&b);
		return rc;
	}
	*res = buf_detach(&b, NULL);
	return 0;
}

/* ---- ${...} ---- */

/* A nested word ended without its closing character: BuildKit reports the
 * missing delimiter rather than the inner error when input ran out. */
static int nested(struct lexer *lx, int32_t stop, bool raw, struct buf *word, const char *missing)
{
	if (stop_on(lx, stop, raw, word, NULL) == 0)
		return 0;
	if (peek(lx) == CF_EOF)
		return fail(lx, "%s", missing);
	return -1;
}

static int modifier(struct lexer *lx, struct buf *out, const char *name, int32_t ch, bool null_unset,
		    const char *chs)
{
	bool raw = ch == '#' || ch == '%';
	if (null_unset && raw)
		return fail(lx, "unsupported modifier (%s) in substitution", chs);
	struct buf word;
	out_init(&word);
	if (nested(lx, '}', raw, &word, "syntax error: missing '}'") < 0) {
		buf_release(&word);
		return -1;
	}
	const char *w = buf_str(&word);
	const char *value = get_env(lx, name);
	bool set = value != NULL;
	int rc = 0;
	if (lx->opt->skip_unset && !set) {
		rc = add_bytes(lx, out, "${", 2);
		if (rc == 0) {
			cleanup_free char *s = xasprintf("%s%s%s}", name, chs, w);
			rc = add_bytes(lx, out, s, strlen(s));
		}
		buf_release(&word);
		return rc;
	}
	bool empty = !set || (null_unset && value[0] == '\0');
	switch (ch) {
	case '-':
		rc = empty ? add_bytes(lx, out, w, word.len) : add_bytes(lx, out, value, strlen(value));
		break;
	case '+':
		rc = empty ? 0 : add_bytes(lx, out, w, word.len);
		break;
	case '?':
		if (!set)
			rc = fail(lx, "%s: %s", name, w[0] ? w : "is not allowed to be unset");
		else if (null_unset && value[0] == '\0')
			rc = fail(lx, "%s: %s", name, w[0] ? w : "is not allowed to be empty");
		else
			rc = add_bytes(lx, out, value, strlen(value));
		break;
	case '%':
	case '#': {
		bool greedy = w[0] == (char)ch;
		char *res = NULL;
		if (ch == '%')
			rc = trim_suffix(lx, greedy ? w + 1 : w, value ? value : "", greedy, &res);
		else
			rc = trim_prefix(lx, greedy ? w + 1 : w, value ? value : "", greedy, &res);
		if (rc == 0)
			rc = add_bytes(lx, out, res, strlen(res));
		free(res);
		break;
	}
	default:
		rc = fail(lx, "unsupported modifier (%s) in substitution", chs);
	}
	buf_release(&word);
	return rc;
}

static int substitute(struct lexer *lx, struct buf *out, const char *name)
{
	bool all = peek(lx) == '/';
	if (all)
		next(lx);
	struct buf pat, repl;
	out_init(&pat);
	out_init(&repl);
	int rc = nested(lx, '/', true, &pat, "syntax error: missing '/' in ${}");
	if (rc == 0)
		rc = nested(lx, '}', true, &repl, "syntax error: missing '}'");
	if (rc == 0) {
		const char *value = get_env(lx, name);
		if (lx->opt->skip_unset && value == NULL) {
			cleanup_free char *s = xasprintf("${%s/%s/%s}", name, buf_str(&pat), buf_str(&repl));
			rc = add_bytes(lx, out, s, strlen(s));
		} else {
			char *res = NULL;
			rc = replace(lx, buf_str(&pat), buf_str(&repl), value ? value : "", all, &res);
			if (rc == 0)
				rc = add_bytes(lx, out, res, strlen(res));
			free(res);
		}
	}
	buf_release(&pat);
	buf_release(&repl);
	return rc;
}

static int simple_var(struct lexer *lx, struct buf *out)
{
	struct buf name;
	out_init(&name);
	int rc = process_name(lx, &name);
	if (rc == 0 && name.len == 0) {
		rc = add_bytes(lx, out, "$", 1);
	} else if (rc == 0) {
		const char *value = get_env(lx, buf_str(&name));
		if (value == NULL && lx->opt->skip_unset) {
			rc = add_bytes(lx, out, "$", 1);
			if (rc == 0)
				rc = add_bytes(lx, out, name.data, name.len);
		} else if (value != NULL) {
			rc = add_bytes(lx, out, value, strlen(value));
		}
	}
	buf_release(&name);
	return rc;
}

static int braced_var(struct lexer *lx, struct buf *out)
{
	next(lx); /* '{' */
	int32_t p = peek(lx);
	if (p == CF_EOF)
		return fail(lx, "syntax error: missing '}'");
	if (p == '{' || p == '}' || p == ':')
		return fail(lx, "syntax error: bad substitution");
	struct buf name;
	out_init(&name);
	if (process_name(lx, &name) < 0) {
		buf_release(&name);
		return -1;
	}
	const char *nm = buf_str(&name);
	int32_t ch = next(lx);
	char chs[12];
	rune_str(chs, ch);
	int rc;
	switch (ch) {
	case '}': {
		const char *value = get_env(lx, nm);
		if (value == NULL && lx->opt->skip_unset) {
			cleanup_free char *s = xasprintf("${%s}", nm);
			rc = add_bytes(lx, out, s, strlen(s));
		} else {
			rc = value ? add_bytes(lx, out, value, strlen(value)) : 0;
		}
		break;
	}
	case ':':
		ch = next(lx);
		rune_str(chs + 1, ch);
		rc = modifier(lx, out, nm, ch, true, chs);
		break;
	case '+':
	case '-':
	case '?':
	case '#':
	case '%':
		rc = modifier(lx, out, nm, ch, false, chs);
		break;
	case '/':
		rc = substitute(lx, out, nm);
		break;
	default:
		rc = fail(lx, "unsupported modifier (%s) in substitution", chs);
	}
	buf_release(&name);
	return rc;
}

static int process_dollar(struct lexer *lx, struct buf *out)
{
	next(lx); /* '$' */
	if (peek(lx) != '{')
		return simple_var(lx, out);
	if (lx->nesting >= MAX_NESTING)
		return fail(lx, "substitutions nested deeper than %d levels", MAX_NESTING);
	lx->nesting++;
	int rc = braced_var(lx, out);
	lx->nesting--;
	return rc;
}

static bool is_special(struct lexer *lx, int32_t ch)
{
	if (ch == '$' || ch == '<')
		return true;
	return !lx->opt->skip_quotes && (ch == '\'' || ch == '"');
}

static int special(struct lexer *lx, int32_t ch, struct buf *tmp)
{
	switch (ch) {
	case '$':
		return process_dollar(lx, tmp);
	case '<':
		return process_possible_heredoc(lx, tmp);
	case '\'':
		return process_single_quote(lx, tmp);
	default:
		return process_double_quote(lx, tmp);
	}
}

/* processStopOn: lex until stop (or the end when stop is CF_EOF), into res
 * and, at the top level, into words. */
static int stop_on(struct lexer *lx, int32_t stop, bool raw, struct buf *res, struct words *w)
{
	bool saved = lx->raw_escapes;
	lx->raw_escapes = raw;
	int rc = 0;
	while (rc == 0 && peek(lx) != CF_EOF) {
		int32_t ch = peek(lx);
		if (stop != CF_EOF && ch == stop) {
			next(lx);
			goto out;
		}
		if (is_special(lx, ch)) {
			struct buf tmp;
			out_init(&tmp);
			rc = special(lx, ch, &tmp);
			if (rc == 0)
				rc = add_bytes(lx, res, buf_str(&tmp), tmp.len);
			if (rc == 0 && w != NULL)
				rc = ch == '$' ? words_add_string(lx, w, buf_str(&tmp), tmp.len)
					       : words_add_raw(lx, w, buf_str(&tmp), tmp.len);
			buf_release(&tmp);
			continue;
		}
		ch = next(lx);
		if (ch == lx->escape) {
			if (lx->raw_escapes) {
				if (w != NULL && words_add_raw_rune(lx, w, ch) < 0)
					rc = -1;
				if (rc == 0)
					rc = add_rune(lx, res, ch);
			}
			ch = next(lx);
			if (ch == CF_EOF)
				break;
			if (rc == 0 && w != NULL)
				rc = words_add_raw_rune(lx, w, ch);
		} else if (w != NULL) {
			rc = words_add_rune(lx, w, ch);
		}
		if (rc == 0)
			rc = add_rune(lx, res, ch);
	}
	if (rc == 0 && stop != CF_EOF) {
		char c[5];
		rune_str(c, stop);
		rc = fail(lx, "unexpected end of statement while looking for matching %s", c);
	}
out:
	lx->raw_escapes = saved;
	return rc;
}

static int process(const struct cf_lex *opt, const char *text, const struct cf_env *env,
		   struct buf *res, struct words *w, struct err **err)
{
	struct lexer lx = {
		.opt = opt,
		.env = env,
		.s = text,
		.n = strlen(text),
		.escape = (unsigned char)(opt->escape ? opt->escape : '\\'),
		.raw_escapes = opt->raw_escapes,
	};
	/* text/scanner skips a byte order mark at the very start. */
	if (lx.n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		lx.pos = 3;
	out_init(res);
	int rc = stop_on(&lx, CF_EOF, opt->raw_escapes, res, w);
	if (rc == 0 && w != NULL && w->cur.len > 0)
		words_push(w);
	if (rc < 0) {
		cleanup_free char *q = cf_go_quote_str(text);
		err_set(err, ERR_INVALID, "failed to process %s: %s", q, lx.msg ? lx.msg : "error");
		buf_release(res);
	}
	free(lx.msg);
	return rc < 0 ? ERR_INVALID : 0;
}

int cf_expand_word(const struct cf_lex *lex, const char *word, const struct cf_env *env,
		   char **out, struct err **err)
{
	struct buf res;
	int rc = process(lex, word, env, &res, NULL, err);
	if (rc < 0)
		return rc;
	*out = buf_detach(&res, NULL);
	return 0;
}

int cf_expand_words(const struct cf_lex *lex, const char *text, const struct cf_env *env,
		    char ***out, struct err **err)
{
	struct buf res;
	struct words w = { .in_word = false };
	buf_init(&w.cur, CF_MAX_EXPANSION);
	int rc = process(lex, text, env, &res, &w, err);
	buf_release(&w.cur);
	if (rc < 0) {
		strv_free(w.v);
		return rc;
	}
	buf_release(&res);
	*out = w.v != NULL ? w.v : xcalloc(1, sizeof(char *));
	return 0;
}
