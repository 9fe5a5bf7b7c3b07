/* `bale parse` output: the JSON of docs/parse-json.md, and a text form
 * that reads like BuildKit's AST dump. Written by hand into a struct buf so
 * that key order and layout are fixed (jq-style, two-space indent). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "parser/parser-internal.h"
#include "parser/parser.h"

struct out {
	struct buf *b;
	int rc;
	struct err **err;
};

static void put(struct out *o, const char *s)
{
	if (o->rc == 0)
		o->rc = buf_addstr(o->b, s, o->err);
}

static void put_str(struct out *o, const char *s)
{
	if (o->rc == 0)
		o->rc = cf_json_add_string(o->b, s, strlen(s), o->err);
}

static void put_indent(struct out *o, int level)
{
	static const char spaces[] = "                                ";
	while (level > 0 && o->rc == 0) {
		int n = level > 16 ? 16 : level;
		o->rc = buf_add(o->b, spaces, (size_t)n * 2, o->err);
		level -= n;
	}
}

/* "key": at the given level, with a comma before it unless first. */
static void put_key(struct out *o, int level, const char *key, bool first)
{
	put(o, first ? "\n" : ",\n");
	put_indent(o, level);
	put_str(o, key);
	put(o, ": ");
}

static void put_uint(struct out *o, uint64_t v)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	put(o, tmp);
}

static void put_str_or_null(struct out *o, const char *s)
{
	if (s == NULL)
		put(o, "null");
	else
		put_str(o, s);
}

/* A JSON array of n elements of size bytes at v, one per line at level + 1,
 * each printed by elem (given that level). */
typedef void put_elem_fn(struct out *o, int level, const void *elem);

static void put_array(struct out *o, int level, const void *v, size_t n, size_t size,
		      put_elem_fn *elem)
{
	if (n == 0) {
		put(o, "[]");
		return;
	}
	put(o, "[");
	for (size_t i = 0; i < n; i++) {
		put(o, i ? ",\n" : "\n");
		put_indent(o, level + 1);
		elem(o, level + 1, (const char *)v + i * size);
	}
	put(o, "\n");
	put_indent(o, level);
	put(o, "]");
}

/* The end of an object opened at level. */
static void put_close(struct out *o, int level)
{
	put(o, "\n");
	put_indent(o, level);
	put(o, "}");
}

static void put_string_elem(struct out *o, int level, const void *v)
{
	(void)level;
	put_str(o, *(char *const *)v);
}

static void put_heredoc(struct out *o, int level, const void *v)
{
	const struct cf_heredoc *h = v;
	put(o, "{");
	put_key(o, level + 1, "name", true);
	put_str(o, h->name);
	put_key(o, level + 1, "content", false);
	put_str(o, h->content);
	put_key(o, level + 1, "expand", false);
	put(o, h->expand ? "true" : "false");
	put_key(o, level + 1, "chomp", false);
	put(o, h->chomp ? "true" : "false");
	put_key(o, level + 1, "fd", false);
	put_uint(o, h->fd);
	put_close(o, level);
}

static void put_pair(struct out *o, int level, const void *v)
{
	const struct cf_pair *p = v;
	put(o, "{");
	put_key(o, level + 1, "key", true);
	put_str(o, p->key);
	put_key(o, level + 1, "value", false);
	put_str(o, p->value);
	put_key(o, level + 1, "sep", false);
	put_str(o, p->sep);
	put_close(o, level);
}

static char *upper(const char *s)
{
	char *r = xstrdup(s);
	for (char *c = r; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 32);
	return r;
}

static void put_instruction(struct out *o, int level, const void *v)
{
	const struct cf_instruction *ins = v;
	cleanup_free char *name = upper(ins->keyword);
	put(o, "{");
	put_key(o, level + 1, "instruction", true);
	put_str(o, name);
	put_key(o, level + 1, "line", false);
	put_uint(o, ins->line);
	put_key(o, level + 1, "end_line", false);
	put_uint(o, ins->end_line);
	put_key(o, level + 1, "flags", false);
	put_array(o, level + 1, ins->flags, ins->nflags, sizeof(*ins->flags), put_string_elem);
	put_key(o, level + 1, "form", false);
	put_str(o, ins->form == CF_FORM_EXEC ? "exec" : "shell");
	put_key(o, level + 1, "args", false);
	put_array(o, level + 1, ins->args, ins->nargs, sizeof(*ins->args), put_string_elem);
	put_key(o, level + 1, "heredocs", false);
	put_array(o, level + 1, ins->heredocs, ins->nheredocs, sizeof(*ins->heredocs), put_heredoc);
	if (ins->kind == CF_ENV || ins->kind == CF_LABEL) {
		put_key(o, level + 1, "pairs", false);
		put_array(o, level + 1, ins->pairs, ins->npairs, sizeof(*ins->pairs), put_pair);
	}
	if (ins->kind == CF_ONBUILD) {
		put_key(o, level + 1, "trigger", false);
		if (ins->trigger != NULL)
			put_instruction(o, level + 1, ins->trigger);
		else
			put(o, "null");
	}
	put_close(o, level);
}

static void put_stage(struct out *o, int level, const void *v)
{
	const struct cf_stage *st = v;
	put(o, "{");
	put_key(o, level + 1, "index", true);
	put_uint(o, st->index);
	put_key(o, level + 1, "name", false);
	put_str_or_null(o, st->name);
	put_key(o, level + 1, "base", false);
	put_str(o, st->base);
	put_key(o, level + 1, "platform", false);
	put_str_or_null(o, st->platform);
	put_key(o, level + 1, "first_line", false);
	put_uint(o, st->first_line);
	put_key(o, level + 1, "last_line", false);
	put_uint(o, st->last_line);
	put_close(o, level);
}

int cf_file_to_json(const struct cf_file *f, struct buf *b, struct err **err)
{
	struct out o = { .b = b, .rc = 0, .err = err };
	put(&o, "{");
	put_key(&o, 1, "directives", true);
	if (f->ndirectives == 0) {
		put(&o, "{}");
	} else {
		put(&o, "{");
		for (size_t i = 0; i < f->ndirectives; i++) {
			put_key(&o, 2, f->directives[i].name, i == 0);
			put_str(&o, f->directives[i].value);
		}
		put(&o, "\n  }");
	}
	put_key(&o, 1, "instructions", false);
	put_array(&o, 1, f->instructions, f->ninstructions, sizeof(*f->instructions), put_instruction);
	put_key(&o, 1, "stages", false);
	put_array(&o, 1, f->stages, f->nstages, sizeof(*f->stages), put_stage);
	put(&o, "\n}\n");
	return o.rc;
}

/* ---- text: BuildKit's Node.Dump ---- */

static void put_go_quoted(struct out *o, const char *s)
{
	if (o->rc == 0)
		cf_go_quote(o->b, s, strlen(s));
}

/* The keyword as strings.ToLower gives it: a byte that is not valid UTF-8
 * becomes U+FFFD (only an unknown ONBUILD trigger can hold one). Letters
 * outside ASCII keep their case. */
static void put_keyword(struct out *o, const char *kw)
{
	struct buf b;
	buf_init(&b, (size_t)-1 / 2);
	size_t n = strlen(kw);
	for (size_t i = 0; i < n;) {
		size_t w;
		int32_t r = cf_utf8_decode(kw + i, n - i, &w);
		if (r == CF_RUNE_ERROR && w == 1)
			buf_addstr(&b, "\xEF\xBF\xBD", NULL);
		else if (r >= 'A' && r <= 'Z')
			buf_addch(&b, (char)(r + 32), NULL);
		else
			buf_add(&b, kw + i, w, NULL);
		i += w;
	}
	put(o, buf_str(&b));
	buf_release(&b);
}

static void dump_node(struct out *o, const struct cf_instruction *ins)
{
	put_keyword(o, ins->keyword);
	if (ins->nflags > 0) {
		put(o, " [");
		for (size_t i = 0; i < ins->nflags; i++) {
			if (i)
				put(o, " ");
			put_go_quoted(o, ins->flags[i]);
		}
		put(o, "]");
	}
	if (ins->npairs > 0) {
		for (size_t i = 0; i < ins->npairs; i++) {
			put(o, " ");
			put_go_quoted(o, ins->pairs[i].key);
			put(o, " ");
			put_go_quoted(o, ins->pairs[i].value);
			put(o, " ");
			put_go_quoted(o, ins->pairs[i].sep);
		}
	} else {
		for (size_t i = 0; i < ins->nargs; i++) {
			put(o, " ");
			put_go_quoted(o, ins->args[i]);
		}
	}
	if (ins->trigger != NULL) {
		put(o, " (");
		dump_node(o, ins->trigger);
		put(o, ")");
	}
}

int cf_file_to_text(const struct cf_file *f, struct buf *b, struct err **err)
{
	struct out o = { .b = b, .rc = 0, .err = err };
	for (size_t i = 0; i < f->ninstructions; i++) {
		put(&o, "(");
		dump_node(&o, &f->instructions[i]);
		put(&o, ")\n");
	}
	return o.rc;
}

char *cf_heredoc_chomped(const struct cf_heredoc *h)
{
	if (!h->chomp)
		return xstrdup(h->content);
	struct buf b;
	buf_init(&b, (size_t)-1 / 2);
	bool bol = true;
	for (const char *c = h->content; *c; c++) {
		if (bol && *c == '\t')
			continue;
		bol = *c == '\n';
		buf_addch(&b, *c, NULL);
	}
	return buf_detach(&b, NULL);
}
