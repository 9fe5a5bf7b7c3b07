/* From bytes to instructions, the way BuildKit's parser.Parse reads a
 * Dockerfile: physical lines, directives at the top, comments, escape-char
 * continuations (comments and blank lines inside them skipped), the
 * per-instruction argument parsers, then heredoc bodies. */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/util.h"
#include "parser/expand.h"
#include "parser/parser-internal.h"
#include "parser/parser.h"

/* ------------------------------------------------------------ arena */

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	char data[];
};

struct cf_arena {
	struct arena_block *head;
};

#define ARENA_BLOCK (64u * 1024)

struct cf_arena *cf_arena_new(void)
{
	return xcalloc(1, sizeof(struct cf_arena));
}

void cf_arena_free(struct cf_arena *a)
{
	if (a == NULL)
		return;
	struct arena_block *b = a->head;
	while (b != NULL) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	free(a);
}

void *cf_arena_alloc(struct cf_arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	struct arena_block *b = a->head;
	if (b == NULL || b->size - b->used < n) {
		size_t size = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
		struct arena_block *nb = xmalloc(sizeof(*nb) + size);
		nb->used = 0;
		nb->size = size;
		if (size == n && b != NULL) {
			/* A big one-off: keep filling the current block. */
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *cf_arena_strndup(struct cf_arena *a, const char *s, size_t n)
{
	char *p = cf_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *cf_arena_strdup(struct cf_arena *a, const char *s)
{
	return cf_arena_strndup(a, s, strlen(s));
}

static void strs_add(struct cf_strs *s, char *str)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xreallocarray(s->v, s->cap, sizeof(char *));
	}
	s->v[s->n++] = str;
}

void cf_strs_push(struct cf_strs *s, char *owned)
{
	if (s->arena == NULL) {
		strs_add(s, owned);
		return;
	}
	strs_add(s, cf_arena_strdup(s->arena, owned));
	free(owned);
}

void cf_strs_pushn(struct cf_strs *s, const char *p, size_t n)
{
	strs_add(s, s->arena ? cf_arena_strndup(s->arena, p, n) : xstrndup(p, n));
}

void cf_strs_clear(struct cf_strs *s)
{
	if (s->arena == NULL)
		for (size_t i = 0; i < s->n; i++)
			free(s->v[i]);
	s->n = 0;
}

char **cf_strs_to_arena(struct cf_strs *s, struct cf_arena *a, size_t *n)
{
	char **v = cf_arena_alloc(a, (s->n + 1) * sizeof(char *));
	for (size_t i = 0; i < s->n; i++)
		v[i] = s->arena == a ? s->v[i] : cf_arena_strdup(a, s->v[i]);
	*n = s->n;
	if (s->arena == a)
		s->n = 0;
	else
		cf_strs_clear(s);
	return v;
}

/* ------------------------------------------------------------ kinds */

static const char *const kind_names[] = {
	[CF_UNKNOWN] = "",
	[CF_ADD] = "ADD",
	[CF_ARG] = "ARG",
	[CF_CMD] = "CMD",
	[CF_COPY] = "COPY",
	[CF_ENTRYPOINT] = "ENTRYPOINT",
	[CF_ENV] = "ENV",
	[CF_EXPOSE] = "EXPOSE",
	[CF_FROM] = "FROM",
	[CF_HEALTHCHECK] = "HEALTHCHECK",
	[CF_LABEL] = "LABEL",
	[CF_MAINTAINER] = "MAINTAINER",
	[CF_ONBUILD] = "ONBUILD",
	[CF_RUN] = "RUN",
	[CF_SHELL] = "SHELL",
	[CF_STOPSIGNAL] = "STOPSIGNAL",
	[CF_USER] = "USER",
	[CF_VOLUME] = "VOLUME",
	[CF_WORKDIR] = "WORKDIR",
};

const char *cf_kind_name(enum cf_kind kind)
{
	if ((size_t)kind >= ARRAY_SIZE(kind_names))
		return "";
	return kind_names[kind];
}

enum cf_kind cf_kind_lookup(const char *word, size_t len)
{
	for (size_t k = 1; k < ARRAY_SIZE(kind_names); k++) {
		const char *name = kind_names[k];
		if (strlen(name) != len)
			continue;
		size_t i = 0;
		while (i < len && (word[i] == name[i] || word[i] == name[i] + ('a' - 'A')))
			i++;
		if (i == len)
			return (enum cf_kind)k;
	}
	return CF_UNKNOWN;
}

bool cf_kind_expands(enum cf_kind kind)
{
	switch (kind) {
	case CF_ADD: case CF_COPY: case CF_ENV: case CF_EXPOSE: case CF_FROM:
	case CF_LABEL: case CF_STOPSIGNAL: case CF_USER: case CF_VOLUME:
	case CF_WORKDIR: case CF_ONBUILD: case CF_ARG: case CF_RUN:
		return true;
	default:
		return false;
	}
}

/* ------------------------------------------------------------ the parser */

struct dirparser {
	bool done;
	bool seen[3];
};

struct parser {
	const char *name;
	const char *data;
	size_t len, pos;
	unsigned int lineno;
	char escape;
	struct dirparser dp;
	struct buf line;
	struct cf_file *f;
	size_t cap;
	struct cf_strs args, flags;
	struct err **err;
};

__attribute__((format(printf, 4, 5))) static int perr(struct parser *p, unsigned int line,
						       unsigned int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	return err_set(p->err, ERR_INVALID, "%s:%u:%u: %s", p->name, line, col, msg);
}

/* The next physical line, '\n' included (bufio.Scanner with scanLines). */
static bool next_line(struct parser *p, const char **s, size_t *n)
{
	if (p->pos >= p->len)
		return false;
	const char *start = p->data + p->pos;
	const char *nl = memchr(start, '\n', p->len - p->pos);
	size_t l = nl != NULL ? (size_t)(nl - start) + 1 : p->len - p->pos;
	p->pos += l;
	*s = start;
	*n = l;
	p->lineno++;
	return true;
}

static size_t trim_newline(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return n;
}

static bool is_comment(const char *s, size_t n)
{
	size_t i = cf_trim_left(s, n);
	return i < n && s[i] == '#';
}

static bool is_re_space(char c) /* RE2's \s */
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int set_escape(struct parser *p, const char *v, size_t n, unsigned int line)
{
	if (n == 1 && (v[0] == '`' || v[0] == '\\')) {
		p->escape = v[0];
		p->f->escape = v[0];
		return 0;
	}
	return perr(p, line, 1, "invalid escape token '%.*s' does not match ` or \\", (int)n, v);
}

static void add_directive(struct parser *p, const char *k, const char *v, size_t vn, unsigned int line)
{
	struct cf_file *f = p->f;
	f->directives = xreallocarray(f->directives, f->ndirectives + 1, sizeof(*f->directives));
	struct cf_directive *d = &f->directives[f->ndirectives++];
	d->name = cf_arena_strdup(f->arena, k);
	d->value = cf_arena_strndup(f->arena, v, vn);
	d->line = line;
}

static const char *const directive_names[] = { "syntax", "escape", "check" };

/* The match of BuildKit's DirectiveParser.ParseLine on one line (newline
 * already trimmed): `#`, Go spaces, then ^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$
 * with the name one of directive_names. Returns the name's index and the
 * value in s[*vs..*ve), or -1 when the line is not a directive. */
static int directive_match(const char *s, size_t n, size_t *vs_out, size_t *ve_out)
{
	if (n == 0 || s[0] != '#')
		return -1;
	size_t i = 1 + cf_trim_left(s + 1, n - 1);
	size_t ks = i;
	if (i >= n || !is_alpha(s[i]))
		return -1;
	while (i < n && (is_alpha(s[i]) || (s[i] >= '0' && s[i] <= '9')))
		i++;
	size_t ke = i;
	while (i < n && is_re_space(s[i]))
		i++;
	if (i >= n || s[i] != '=')
		return -1;
	i++;
	size_t vs = i;
	while (vs < n && is_re_space(s[vs]))
		vs++;
	size_t ve = n;
	while (ve > vs && is_re_space(s[ve - 1]))
		ve--;
	if (ve == vs) {
		/* `.+?` needs a character: it takes the last blank, if any. */
		if (n == i)
			return -1;
		vs = n - 1;
		ve = n;
	}
	char key[16];
	size_t kl = ke - ks;
	if (kl >= sizeof(key))
		return -1;
	for (size_t k = 0; k < kl; k++)
		key[k] = (char)(s[ks + k] | 0x20);
	key[kl] = '\0';
	for (int k = 0; k < (int)ARRAY_SIZE(directive_names); k++)
		if (strcmp(key, directive_names[k]) == 0) {
			*vs_out = vs;
			*ve_out = ve;
			return k;
		}
	return -1;
}

/* BuildKit's DirectiveParser.ParseLine as parser.Parse drives it: anything
 * that is not a directive ends the directive section. */
static int directive_line(struct parser *p, const char *s, size_t n)
{
	if (p->dp.done)
		return 0;
	size_t vs = 0, ve = 0;
	int which = directive_match(s, n, &vs, &ve);
	if (which < 0) {
		p->dp.done = true;
		return 0;
	}
	if (p->dp.seen[which])
		return perr(p, p->lineno, 1, "only one %s parser directive can be used", directive_names[which]);
	p->dp.seen[which] = true;
	if (which == 1 && set_escape(p, s + vs, ve - vs, p->lineno) < 0)
		return ERR_INVALID;
	add_directive(p, directive_names[which], s + vs, ve - vs, p->lineno);
	return 0;
}

static bool go_bool_word(const char *s, size_t n)
{
	static const char *const words[] = { "1", "t", "T", "TRUE", "true", "True",
					     "0", "f", "F", "FALSE", "false", "False" };
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strlen(words[i]) == n && memcmp(words[i], s, n) == 0)
			return true;
	return false;
}

/* "invalid check option %q" */
static int check_option_invalid(struct parser *p, unsigned int line, const char *a, size_t an)
{
	cleanup_free char *qa = xstrndup(a, an);
	cleanup_free char *ga = cf_go_quote_str(qa);
	return perr(p, line, 1, "failed to parse check options: invalid check option %s", ga);
}

/* One key=value option of linter.ParseLintOptions. */
static int check_option(struct parser *p, const char *o, size_t n, unsigned int line)
{
	const char *eq = memchr(o, '=', n);
	if (eq == NULL)
		return check_option_invalid(p, line, o, n);
	size_t ks = cf_trim_left(o, (size_t)(eq - o));
	size_t kl = cf_trim_right(o + ks, (size_t)(eq - o) - ks);
	const char *k = o + ks;
	if ((kl == 4 && memcmp(k, "skip", 4) == 0) || (kl == 12 && memcmp(k, "experimental", 12) == 0))
		return 0;
	if (kl == 5 && memcmp(k, "error", 5) == 0) {
		const char *v = eq + 1;
		size_t vn = n - (size_t)(v - o);
		size_t vs = cf_trim_left(v, vn);
		size_t vl = cf_trim_right(v + vs, vn - vs);
		if (go_bool_word(v + vs, vl))
			return 0;
		cleanup_free char *qo = xstrndup(o, n);
		cleanup_free char *go = cf_go_quote_str(qo);
		cleanup_free char *qb = xstrndup(v + vs, vl);
		cleanup_free char *gb = cf_go_quote_str(qb);
		return perr(p, line, 1,
			    "failed to parse check options: failed to parse check option %s: strconv.ParseBool: parsing %s: invalid syntax",
			    go, gb);
	}
	return check_option_invalid(p, line, k, kl);
}

/* linter.ParseLintOptions on the `# check=` value: trimmed, split in at
 * most three on ';' (the last part keeps any further ';'), each part a
 * key=value with key skip, experimental (any value) or error (a Go bool).
 * Returns 0, or ERR_INVALID with BuildKit's message. */
static int check_options(struct parser *p, const char *v, size_t n, unsigned int line)
{
	size_t a = cf_trim_left(v, n);
	v += a;
	n = cf_trim_right(v, n - a);
	if (n == 0)
		return 0;
	for (int part = 0;; part++) {
		const char *semi = part < 2 ? memchr(v, ';', n) : NULL;
		size_t pl = semi ? (size_t)(semi - v) : n;
		int rc = check_option(p, v, pl, line);
		if (rc < 0 || semi == NULL)
			return rc;
		v = semi + 1;
		n -= pl + 1;
	}
}

/* The `# check=` directive as BuildKit's frontend reads it before parsing
 * (parser.ParseDirective): a UTF-8 BOM and a first `#!` line are skipped,
 * lines are not left-trimmed, and the value is cut at its first space.
 * A value linter.ParseLintOptions refuses fails the build. */
static int check_directive(struct parser *p)
{
	const char *s = p->data;
	size_t n = p->len;
	unsigned int line = 0;
	bool seen[ARRAY_SIZE(directive_names)] = { false };
	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3, n -= 3;
	if (n >= 2 && s[0] == '#' && s[1] == '!') {
		const char *nl = memchr(s, '\n', n);
		size_t l = nl ? (size_t)(nl - s) + 1 : n;
		s += l, n -= l, line++;
	}
	while (n > 0) {
		const char *nl = memchr(s, '\n', n);
		size_t l = nl ? (size_t)(nl - s) : n;
		size_t t = l > 0 && s[l - 1] == '\r' ? l - 1 : l;
		line++;
		size_t vs = 0, ve = 0;
		int which = directive_match(s, t, &vs, &ve);
		if (which < 0 || seen[which])
			return 0; /* ParseAll stops; a repeat is parse.Parse's error */
		seen[which] = true;
		if (which == 2) {
			const char *sp = memchr(s + vs, ' ', ve - vs);
			size_t vl = sp ? (size_t)(sp - (s + vs)) : ve - vs;
			return check_options(p, s + vs, vl, line);
		}
		if (nl == NULL)
			break;
		s += l + 1, n -= l + 1;
	}
	return 0;
}

/* The continuation regex ([^E])E[ \t]*$|^E[ \t]*$ and its replacement by
 * the first group. */
static bool trim_continuation(const char *s, size_t *n, char e)
{
	size_t m = *n;
	while (m > 0 && (s[m - 1] == ' ' || s[m - 1] == '\t'))
		m--;
	if (m == 0 || s[m - 1] != e)
		return false;
	if (m == 1) {
		*n = 0;
		return true;
	}
	if (s[m - 2] == e)
		return false;
	*n = m - 1;
	return true;
}

static int line_add(struct parser *p, const char *s, size_t n, unsigned int start)
{
	if (buf_add(&p->line, s, n, NULL) < 0)
		return err_set(p->err, ERR_TOOBIG, "%s:%u:1: instruction longer than %u bytes", p->name,
			       start, (unsigned)BALE_MAX_LINE);
	return 0;
}

/* ---- argument parsers (BuildKit's line_parsers.go) ---- */

/* parseWords: words split on spaces, quotes and escapes kept as written. */
/* A word being built: never longer than the text it comes from, so one
 * allocation of that size and no bound checks per byte. */
struct word {
	char *data;
	size_t len;
};

static void word_add(struct word *w, const char *s, size_t n)
{
	memcpy(w->data + w->len, s, n);
	w->len += n;
}

/* parseWords decodes runes and writes them back (WriteRune), so a byte
 * that is not valid UTF-8 comes out as U+FFFD: `ENV a=\xff` gives a the
 * value "\uFFFD" in BuildKit, and here. */
static void word_add_rune(struct word *w, const char *s, size_t width, int32_t ch)
{
	if (ch == CF_RUNE_ERROR && width == 1)
		word_add(w, "\xEF\xBF\xBD", 3);
	else
		word_add(w, s, width);
}

static void parse_words(const char *s, size_t n, char esc, struct cf_strs *out)
{
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	/* An invalid byte grows to three (word_add_rune). */
	struct word w = { .data = xmalloc(3 * n + 1), .len = 0 };
	int32_t quote = 0;
	bool blank_ok = false;
	size_t width = 0;
	for (size_t pos = 0; pos <= n; pos += width) {
		int32_t ch = 0;
		width = 0;
		if (pos != n)
			ch = cf_utf8_decode(s + pos, n - pos, &width);
		if (phase == IN_SPACES) {
			if (pos == n)
				break;
			if (cf_is_space(ch))
				continue;
			phase = IN_WORD;
		}
		if (pos == n) {
			if (blank_ok || w.len > 0)
				cf_strs_pushn(out, w.data, w.len);
			break;
		}
		if (phase == IN_WORD) {
			if (cf_is_space(ch)) {
				phase = IN_SPACES;
				if (blank_ok || w.len > 0)
					cf_strs_pushn(out, w.data, w.len);
				w.len = 0;
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = IN_QUOTE;
			}
			if (ch == esc) {
				if (pos + width == n)
					continue; /* an escape at the very end is dropped */
				word_add(&w, s + pos, width);
				pos += width;
				ch = cf_utf8_decode(s + pos, n - pos, &width);
			}
			word_add_rune(&w, s + pos, width, ch);
			continue;
		}
		/* IN_QUOTE */
		if (ch == quote)
			phase = IN_WORD;
		if (ch == esc && quote != '\'') {
			if (pos + width == n) {
				phase = IN_WORD;
				continue;
			}
			word_add(&w, s + pos, width);
			pos += width;
			ch = cf_utf8_decode(s + pos, n - pos, &width);
		}
		word_add_rune(&w, s + pos, width, ch);
	}
	free(w.data);
}

/* parseStringsWhitespaceDelimited on an already trimmed string. */
static void split_ws(const char *s, size_t n, struct cf_strs *out)
{
	if (n == 0)
		return;
	size_t i = 0;
	for (;;) {
		size_t j = i;
		while (j < n && !cf_is_split_space((unsigned char)s[j]))
			j++;
		cf_strs_pushn(out, s + i, j - i);
		if (j == n)
			break;
		while (j < n && cf_is_split_space((unsigned char)s[j]))
			j++;
		i = j;
	}
}

/* BuildKit's flag loop reads bytes but appends each one as a rune
 * (WriteRune(rune(line[pos]))), so a byte >= 0x80 comes out as the UTF-8
 * of U+0080..U+00FF: `--chown=josé` yields "--chown=josÃ©". docker build
 * users get that value, so bale keeps it too. */
static void flag_add_byte(struct word *w, unsigned char ch)
{
	if (ch < 0x80) {
		w->data[w->len++] = (char)ch;
		return;
	}
	w->data[w->len++] = (char)(0xC0 | (ch >> 6));
	w->data[w->len++] = (char)(0x80 | (ch & 0x3F));
}

/* extractBuilderFlags: leading --words, with quotes and escapes processed;
 * returns the offset where the arguments start. Byte-wise like BuildKit's
 * loop, so bytes 0x85 and 0xA0 count as blanks here. */
static size_t extract_flags(const char *s, size_t n, char esc, struct cf_strs *flags)
{
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	/* Each byte yields at most two (flag_add_byte). */
	struct word w = { .data = xmalloc(2 * n + 1), .len = 0 };
	char quote = 0;
	bool blank_ok = false;
	size_t rest = n;
	for (size_t pos = 0; pos <= n; pos++) {
		unsigned char ch = pos < n ? (unsigned char)s[pos] : 0;
		if (phase == IN_SPACES) {
			if (pos == n)
				break;
			if (cf_is_space_byte(ch))
				continue;
			if (ch != '-' || pos + 1 == n || s[pos + 1] != '-') {
				rest = pos;
				goto out;
			}
			phase = IN_WORD;
		}
		if (pos == n) {
			if (!(w.len == 2 && memcmp(w.data, "--", 2) == 0) && (blank_ok || w.len > 0))
				cf_strs_pushn(flags, w.data, w.len);
			break;
		}
		if (phase == IN_WORD) {
			if (cf_is_space_byte(ch)) {
				phase = IN_SPACES;
				if (w.len == 2 && memcmp(w.data, "--", 2) == 0) {
					rest = pos;
					goto out;
				}
				if (blank_ok || w.len > 0)
					cf_strs_pushn(flags, w.data, w.len);
				w.len = 0;
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = (char)ch;
				blank_ok = true;
				phase = IN_QUOTE;
				continue;
			}
			if (ch == (unsigned char)esc) {
				if (pos + 1 == n)
					continue;
				pos++;
				ch = (unsigned char)s[pos];
			}
			flag_add_byte(&w, ch);
			continue;
		}
		if (ch == (unsigned char)quote) {
			phase = IN_WORD;
			continue;
		}
		if (ch == (unsigned char)esc) {
			if (pos + 1 == n) {
				phase = IN_WORD;
				continue;
			}
			pos++;
			ch = (unsigned char)s[pos];
		}
		flag_add_byte(&w, ch);
	}
out:
	free(w.data);
	return rest;
}

struct node {
	enum cf_kind kind;
	bool json;
	const char *cmd;
	size_t cmdlen;
};

static int json_args(struct parser *p, const char *s, size_t n, bool *json, unsigned int line,
		     unsigned int col)
{
	size_t lead = cf_trim_left(s, n);
	char **v = NULL;
	size_t cnt = 0;
	*json = false;
	if (lead >= n || s[lead] != '[')
		return 1;
	enum cf_json_result r = cf_json_string_array(s + lead, n - lead, &v, &cnt);
	if (r == CF_JSON_NOT_STRINGS)
		return perr(p, line, col,
			    "when using JSON array syntax, arrays must be comprised of strings only");
	if (r == CF_JSON_NUL)
		return perr(p, line, col, "invalid NUL character (\\u0000) in JSON array");
	if (r == CF_JSON_NOT_JSON)
		return 1;
	for (size_t i = 0; i < cnt; i++)
		cf_strs_push(&p->args, v[i]);
	free(v);
	*json = true;
	return 0;
}

static int parse_name_val(struct parser *p, struct cf_instruction *ins, const char *s, size_t n,
			  unsigned int col)
{
	parse_words(s, n, p->escape, &p->args);
	if (p->args.n == 0)
		return 0;
	struct cf_arena *a = p->f->arena;
	if (strchr(p->args.v[0], '=') == NULL) {
		/* Legacy `ENV key value`: the rest of the line is the value. */
		cf_strs_clear(&p->args);
		size_t k = 0;
		while (k < n && !cf_is_split_space((unsigned char)s[k]))
			k++;
		size_t v = k;
		while (v < n && cf_is_split_space((unsigned char)s[v]))
			v++;
		if (k == n)
			return perr(p, ins->line, col, "%s must have two arguments", cf_kind_name(ins->kind));
		ins->pairs = cf_arena_alloc(a, sizeof(struct cf_pair));
		ins->npairs = 1;
		ins->pairs[0].key = cf_arena_strndup(a, s, k);
		ins->pairs[0].value = cf_arena_strndup(a, s + v, n - v);
		ins->pairs[0].sep = "";
		cf_strs_pushn(&p->args, s, k);
		cf_strs_pushn(&p->args, s + v, n - v);
		return 0;
	}
	ins->pairs = cf_arena_alloc(a, p->args.n * sizeof(struct cf_pair));
	for (size_t i = 0; i < p->args.n; i++) {
		const char *word = p->args.v[i];
		const char *eq = strchr(word, '=');
		if (eq == NULL) {
			cleanup_free char *q = cf_go_quote_str(word);
			return perr(p, ins->line, col,
				    "Syntax error - can't find = in %s. Must be of the form: name=value", q);
		}
		ins->pairs[i].key = cf_arena_strndup(a, word, (size_t)(eq - word));
		ins->pairs[i].value = cf_arena_strdup(a, eq + 1);
		ins->pairs[i].sep = "=";
	}
	ins->npairs = p->args.n;
	return 0;
}

static int parse_node(struct parser *p, const char *text, size_t n, struct cf_instruction *ins,
		      unsigned int col, int depth);

static int parse_args(struct parser *p, struct cf_instruction *ins, const char *s, size_t n,
		      unsigned int col, int depth)
{
	bool json = false;
	int rc = 0;
	switch (ins->kind) {
	case CF_ADD:
	case CF_COPY:
	case CF_VOLUME:
		rc = json_args(p, s, n, &json, ins->line, col);
		if (rc == 1) {
			rc = 0;
			split_ws(s, n, &p->args);
		}
		break;
	case CF_ARG:
		parse_words(s, n, p->escape, &p->args);
		break;
	case CF_CMD:
	case CF_ENTRYPOINT:
	case CF_RUN:
	case CF_SHELL:
		if (n == 0)
			break;
		rc = json_args(p, s, n, &json, ins->line, col);
		if (rc == 1) {
			rc = 0;
			cf_strs_pushn(&p->args, s, n);
		}
		break;
	case CF_ENV:
	case CF_LABEL:
		rc = parse_name_val(p, ins, s, n, col);
		break;
	case CF_EXPOSE:
	case CF_FROM:
		split_ws(s, n, &p->args);
		break;
	case CF_HEALTHCHECK: {
		size_t sep = 0;
		while (sep < n && !cf_is_space_byte((unsigned char)s[sep]))
			sep++;
		size_t nx = sep;
		while (nx < n && cf_is_space_byte((unsigned char)s[nx]))
			nx++;
		if (sep == 0)
			break;
		cf_strs_pushn(&p->args, s, sep);
		if (nx == n)
			break;
		rc = json_args(p, s + nx, n - nx, &json, ins->line, col);
		if (rc == 1) {
			rc = 0;
			cf_strs_pushn(&p->args, s + nx, n - nx);
		}
		break;
	}
	case CF_MAINTAINER:
	case CF_STOPSIGNAL:
	case CF_USER:
	case CF_WORKDIR:
		if (n > 0)
			cf_strs_pushn(&p->args, s, n);
		break;
	case CF_ONBUILD: {
		if (n == 0)
			break;
		if (depth >= 1)
			break; /* ONBUILD ONBUILD: refused by cf_validate(); do not
				* recurse down a hostile chain */
		struct cf_instruction *t = cf_arena_alloc(p->f->arena, sizeof(*t));
		t->line = ins->line;
		t->end_line = ins->end_line;
		t->col = col;
		ins->trigger = t;
		return parse_node(p, s, n, t, col, depth + 1);
	}
	case CF_UNKNOWN:
		/* BuildKit's parseIgnore drops the arguments and leaves one
		 * empty node: an ONBUILD trigger dumps as (foo ""). */
		cf_strs_pushn(&p->args, "", 0);
		break;
	}
	if (rc < 0)
		return rc;
	ins->form = json ? CF_FORM_EXEC : CF_FORM_SHELL;
	return 0;
}


/* newNodeFromLine: split the command word, its flags and its arguments. */
static int parse_node(struct parser *p, const char *text, size_t n, struct cf_instruction *ins,
		      unsigned int col, int depth)
{
	struct cf_arena *a = p->f->arena;
	size_t lead = cf_trim_left(text, n);
	text += lead;
	n = cf_trim_right(text, n - lead);
	size_t c = 0;
	while (c < n && !cf_is_split_space((unsigned char)text[c]))
		c++;
	const char *args = text + n;
	size_t nargs = 0;
	cf_strs_clear(&p->flags);
	if (c < n) {
		size_t r = c;
		while (r < n && cf_is_split_space((unsigned char)text[r]))
			r++;
		size_t off = extract_flags(text + r, n - r, p->escape, &p->flags);
		args = text + r + off;
		nargs = n - r - off;
		size_t l = cf_trim_left(args, nargs);
		args += l;
		nargs = cf_trim_right(args, nargs - l);
	}
	ins->kind = cf_kind_lookup(text, c);
	ins->keyword = ins->kind == CF_UNKNOWN ? cf_arena_strndup(a, text, c) : cf_kind_name(ins->kind);
	ins->flags = cf_strs_to_arena(&p->flags, a, &ins->nflags);
	if (depth > 0)
		ins->expression = cf_arena_strndup(a, text, n);
	cf_strs_clear(&p->args);
	int rc = parse_args(p, ins, args, nargs, col, depth);
	if (rc < 0)
		return rc;
	if (ins->args == NULL)
		ins->args = cf_strs_to_arena(&p->args, a, &ins->nargs);
	return 0;
}

/* ---- heredocs ---- */

int cf_heredoc_parse_word(const char *word, struct cf_heredoc *h, struct err **err)
{
	const char *s = word;
	while (*s >= '0' && *s <= '9')
		s++;
	if (s[0] != '<' || s[1] != '<')
		return 0;
	const char *digits_end = s;
	s += 2;
	bool chomp = *s == '-';
	if (chomp)
		s++;
	while (is_re_space(*s))
		s++;
	if (*s == '\0' || strchr(s, '<') != NULL)
		return 0;
	uint64_t fd = 0;
	for (const char *d = word; d < digits_end; d++) {
		if (fd > (UINT64_MAX - 9) / 10) {
			fd = UINT64_MAX; /* strconv.ParseUint saturates on overflow */
			break;
		}
		fd = fd * 10 + (uint64_t)(*d - '0');
	}
	struct cf_lex lx = { .escape = '\\', .skip_unset = true };
	char **words = NULL, **raw = NULL;
	int rc = cf_expand_words(&lx, s, NULL, &words, err);
	if (rc < 0)
		return rc;
	if (strv_len(words) != 1) {
		strv_free(words);
		return 0;
	}
	lx.raw_quotes = true;
	rc = cf_expand_words(&lx, s, NULL, &raw, err);
	if (rc < 0) {
		strv_free(words);
		return rc;
	}
	size_t q1 = 0, q2 = 0;
	for (const char *c = words[0]; *c; c++)
		q1 += *c == '\'' || *c == '"';
	for (size_t i = 0; raw[i] != NULL; i++)
		for (const char *c = raw[i]; *c; c++)
			q2 += *c == '\'' || *c == '"';
	bool same_count = strv_len(raw) == 1;
	strv_free(raw);
	if (!same_count) {
		strv_free(words);
		return err_set(err, ERR_INVALID,
			       "internal lexing of heredoc produced inconsistent results: %s", s);
	}
	h->name = xstrdup(words[0]);
	strv_free(words);
	h->content = NULL;
	h->expand = q1 == q2;
	h->chomp = chomp;
	h->fd = fd;
	return 1;
}

static bool can_contain_heredoc(const struct cf_instruction *ins)
{
	if (ins->kind == CF_ONBUILD && ins->trigger != NULL)
		ins = ins->trigger;
	return (ins->kind == CF_RUN || ins->kind == CF_COPY || ins->kind == CF_ADD) &&
	       ins->form != CF_FORM_EXEC;
}

static void free_heredocs(struct cf_heredoc *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].content);
	}
	free(h);
}

/* Read each heredoc's body: the lines after the instruction up to one that
 * equals the delimiter (after stripping leading tabs with <<-). */
static int read_heredoc_bodies(struct parser *p, struct cf_heredoc *docs, size_t n,
			       unsigned int start, unsigned int col)
{
	for (size_t i = 0; i < n; i++) {
		struct buf body;
		buf_init(&body, BALE_MAX_CONTAINERFILE);
		bool terminated = false;
		const char *s;
		size_t len;
		size_t nlen = strlen(docs[i].name);
		while (next_line(p, &s, &len)) {
			size_t t = trim_newline(s, len);
			size_t lead = 0;
			if (docs[i].chomp)
				while (lead < t && s[lead] == '\t')
					lead++;
			if (t - lead == nlen && memcmp(s + lead, docs[i].name, nlen) == 0) {
				terminated = true;
				break;
			}
			buf_add(&body, s, len, NULL);
		}
		if (!terminated) {
			buf_release(&body);
			return perr(p, start, col, "unterminated heredoc");
		}
		docs[i].content = buf_detach(&body, NULL);
	}
	return 0;
}

static int parse_heredocs(struct parser *p, struct cf_instruction *ins, const char *line, size_t n,
			  unsigned int col)
{
	if (!can_contain_heredoc(ins) || memmem(line, n, "<<", 2) == NULL)
		return 0;
	struct cf_lex lx = { .escape = '\\', .raw_quotes = true, .raw_escapes = true, .skip_unset = true };
	char **words = NULL;
	cleanup_free char *text = xstrndup(line, n);
	if (cf_expand_words(&lx, text, NULL, &words, NULL) < 0)
		return 0; /* BuildKit ignores lexing errors here: no heredocs */
	struct cf_heredoc *docs = NULL;
	size_t nd = 0;
	int rc = 0;
	for (size_t i = 0; words[i] != NULL && rc == 0; i++) {
		struct cf_heredoc h = { 0 };
		struct err *e = NULL;
		rc = cf_heredoc_parse_word(words[i], &h, &e);
		if (rc < 0) {
			rc = perr(p, ins->line, col, "%s", err_msg(e));
			err_free(e);
		} else if (rc == 1) {
			docs = xreallocarray(docs, nd + 1, sizeof(*docs));
			docs[nd++] = h;
			rc = 0;
		}
	}
	strv_free(words);
	if (rc == 0)
		rc = read_heredoc_bodies(p, docs, nd, ins->line, col);
	if (rc == 0 && nd > 0) {
		struct cf_instruction *target = ins->kind == CF_ONBUILD ? ins->trigger : ins;
		struct cf_arena *a = p->f->arena;
		target->heredocs = cf_arena_alloc(a, nd * sizeof(struct cf_heredoc));
		target->nheredocs = nd;
		for (size_t i = 0; i < nd; i++) {
			target->heredocs[i] = docs[i];
			target->heredocs[i].name = cf_arena_strdup(a, docs[i].name);
			target->heredocs[i].content = cf_arena_strdup(a, docs[i].content);
		}
	}
	free_heredocs(docs, nd);
	return rc;
}

/* ---- the main loop ---- */

static struct cf_instruction *new_instruction(struct parser *p)
{
	struct cf_file *f = p->f;
	if (f->ninstructions == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		f->instructions = xreallocarray(f->instructions, p->cap, sizeof(*f->instructions));
	}
	struct cf_instruction *ins = &f->instructions[f->ninstructions];
	memset(ins, 0, sizeof(*ins));
	return ins;
}

/* The rest of a logical line after its first physical line. */
static int read_continuation(struct parser *p, unsigned int start)
{
	const char *s;
	size_t n;
	bool cont = true;
	while (cont && next_line(p, &s, &n)) {
		size_t t = trim_newline(s, n);
		int rc = directive_line(p, s, t);
		if (rc < 0)
			return rc;
		if (is_comment(s, n))
			continue;
		if (cf_trim_left(s, t) == t)
			continue; /* empty continuation line (BuildKit warns) */
		cont = trim_continuation(s, &t, p->escape);
		if (line_add(p, s, t, start) < 0)
			return ERR_TOOBIG;
	}
	return 0;
}

/* One instruction starting at physical line s; 1 when the line holds none. */
static int parse_one(struct parser *p, const char *s, size_t n)
{
	if (p->lineno == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		n -= 3;
	}
	size_t t = trim_newline(s, n);
	size_t lead = cf_trim_left(s, t);
	const char *text = s + lead;
	t -= lead;
	int rc = directive_line(p, text, t);
	if (rc < 0)
		return rc;
	if (t > 0 && text[0] == '#')
		t = 0;
	bool cont = trim_continuation(text, &t, p->escape);
	if (!cont && t == 0)
		return 1;
	unsigned int start = p->lineno;
	unsigned int col = (unsigned int)lead + 1;
	buf_reset(&p->line);
	if (line_add(p, text, t, start) < 0)
		return ERR_TOOBIG;
	if (cont && (rc = read_continuation(p, start)) < 0)
		return rc;

	struct cf_instruction *ins = new_instruction(p);
	ins->line = start;
	ins->col = col;
	ins->end_line = p->lineno;
	rc = parse_node(p, buf_str(&p->line), p->line.len, ins, col, 0);
	if (rc == 0)
		rc = parse_heredocs(p, ins, buf_str(&p->line), p->line.len, col);
	if (rc < 0)
		return rc;
	ins->end_line = p->lineno;
	if (ins->trigger != NULL) {
		ins->trigger->end_line = p->lineno;
		if (ins->trigger->nheredocs > 0) {
			/* BuildKit's Expression: the text, then each body and
			 * its delimiter on the following lines. */
			struct buf e;
			buf_init(&e, (size_t)-1 / 2);
			buf_addstr(&e, ins->trigger->expression, NULL);
			for (size_t i = 0; i < ins->trigger->nheredocs; i++) {
				buf_addch(&e, '\n', NULL);
				buf_addstr(&e, ins->trigger->heredocs[i].content, NULL);
				buf_addstr(&e, ins->trigger->heredocs[i].name, NULL);
			}
			ins->trigger->expression = cf_arena_strndup(p->f->arena, buf_str(&e), e.len);
			buf_release(&e);
		}
	}
	p->f->ninstructions++;
	return 0;
}

/* BuildKit reads the file with a bufio.Scanner whose buffer stops at 64 KiB:
 * a line longer than that (newline excluded) fails the build. */
#define CF_MAX_PHYSICAL_LINE 65535u

/* The checks on raw bytes: NUL bytes (bale refuses them; BuildKit would
 * carry them into arguments) and over-long physical lines. */
static int check_bytes(struct parser *p)
{
	const char *z = memchr(p->data, '\0', p->len);
	size_t upto = z ? (size_t)(z - p->data) : p->len;
	unsigned int line = 1;
	const char *ls = p->data;
	for (;;) {
		size_t left = (size_t)(p->data + upto - ls);
		const char *nl = memchr(ls, '\n', left);
		size_t l = nl ? (size_t)(nl - ls) : left;
		if (l > CF_MAX_PHYSICAL_LINE)
			return perr(p, line, 1, "dockerfile line greater than max allowed size of %u",
				    CF_MAX_PHYSICAL_LINE);
		if (nl == NULL)
			break;
		ls = nl + 1;
		line++;
	}
	if (z != NULL)
		return perr(p, line, (unsigned int)(z - ls) + 1, "invalid NUL byte");
	return 0;
}

void cf_file_free(struct cf_file *f)
{
	if (f == NULL)
		return;
	free(f->directives);
	free(f->instructions);
	free(f->stages);
	free(f->meta_args);
	cf_arena_free(f->arena);
	free(f);
}

static int parse_all(struct parser *p)
{
	const char *s;
	size_t n;
	int rc = check_bytes(p);
	if (rc == 0)
		rc = check_directive(p);
	while (rc >= 0 && next_line(p, &s, &n))
		rc = parse_one(p, s, n);
	if (rc < 0)
		return rc;
	if (p->f->ninstructions == 0)
		return perr(p, p->lineno > 0 ? p->lineno : 1, 1, "file with no instructions");
	return 0;
}

int cf_parse(const char *data, size_t len, const char *name, struct cf_file **out, struct err **err)
{
	if (len > BALE_MAX_CONTAINERFILE)
		return err_set(err, ERR_TOOBIG, "%s:1:1: file larger than %u bytes", name,
			       (unsigned)BALE_MAX_CONTAINERFILE);
	struct cf_file *f = xcalloc(1, sizeof(*f));
	f->arena = cf_arena_new();
	f->escape = '\\';
	struct parser p = {
		.name = name,
		.data = data,
		.len = len,
		.escape = '\\',
		.f = f,
		.err = err,
	};
	buf_init(&p.line, BALE_MAX_LINE);
	p.args.arena = f->arena;
	p.flags.arena = f->arena;
	int rc = parse_all(&p);
	buf_release(&p.line);
	free(p.args.v);
	free(p.flags.v);
	size_t where = 0;
	if (rc == 0 && (rc = cf_validate(f, &where, err)) < 0) {
		const struct cf_instruction *ins = &f->instructions[where];
		err_wrap(err, "%s:%u:%u", name, ins->line, ins->col);
	}
	if (rc == 0)
		rc = cf_build_stages(f);
	if (rc == 0 && f->nstages == 0) {
		/* Only global ARGs: BuildKit's frontend refuses to build it. */
		const struct cf_instruction *ins = &f->instructions[0];
		rc = err_set(err, ERR_INVALID, "%s:%u:%u: dockerfile contains no stages to build", name,
			     ins->line, ins->col);
	}
	if (rc < 0) {
		cf_file_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int cf_parse_file(const char *path, struct cf_file **out, struct err **err)
{
	struct buf b;
	buf_init(&b, BALE_MAX_CONTAINERFILE);
	int rc;
	if (strcmp(path, "-") == 0)
		rc = buf_read_fd(&b, 0, "-", err);
	else
		rc = buf_read_file(&b, AT_FDCWD, path, err);
	if (rc == 0)
		rc = cf_parse(buf_str(&b), b.len, strcmp(path, "-") == 0 ? "<stdin>" : path, out, err);
	buf_release(&b);
	return rc;
}
