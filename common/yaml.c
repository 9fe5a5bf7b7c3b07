#include "config.h"

#include "common/yaml.h"

#include <fcntl.h>
#include <inttypes.h>
#include <strings.h>
#include <yaml.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/util.h"

/* Bytes of one key or value quoted in a message. */
#define QUOTE_MAX 100

/* ---------------------------------------------------------------- text for messages */

/* Append up to QUOTE_MAX bytes of s, control characters as \xNN and "..."
 * when cut, never cutting a UTF-8 sequence (libyaml checked the UTF-8). */
static void add_clean(struct buf *b, const char *s, size_t len)
{
	size_t n = len;
	if (n > QUOTE_MAX) {
		n = QUOTE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			buf_addf(b, NULL, "\\x%02X", c);
		else
			buf_addch(b, (char)c, NULL);
	}
	if (n < len)
		buf_addstr(b, "...", NULL);
}

static void path_add(struct buf *b, const struct ynode *n)
{
	const struct ynode *p = n->parent;
	if (p == NULL)
		return;
	path_add(b, p);
	if (p->kind == YNODE_SEQ) {
		buf_addf(b, NULL, "[%zu]", n->index);
		return;
	}
	if (b->len > 0)
		buf_addch(b, '.', NULL);
	const struct ynode *key = p->keys[n->index];
	add_clean(b, key->text, key->text_len);
}

char *ynode_path(const struct ynode *n)
{
	struct buf b;
	buf_init(&b, 1u << 20);
	if (n != NULL)
		path_add(&b, n);
	return buf_detach(&b, NULL);
}

/* "'storage.cache'", or "the document" for the root. */
static char *subject(const struct ynode *n)
{
	cleanup_free char *path = ynode_path(n);
	if (path[0] == '\0')
		return xstrdup("the document");
	return xasprintf("'%s'", path);
}

const char *ynode_kind_name(enum ynode_kind kind)
{
	switch (kind) {
	case YNODE_SCALAR: return "a scalar";
	case YNODE_SEQ: return "a sequence";
	case YNODE_MAP: return "a mapping";
	}
	return "an unknown node";
}

/* What n is, for "must be X, not <this>": the quoted text of a scalar. */
static char *describe(const struct ynode *n)
{
	if (ynode_is_null(n))
		return xstrdup("null");
	if (n->kind != YNODE_SCALAR)
		return xstrdup(ynode_kind_name(n->kind));
	struct buf b;
	buf_init(&b, 1u << 20);
	buf_addch(&b, '\'', NULL);
	add_clean(&b, n->text, n->text_len);
	buf_addch(&b, '\'', NULL);
	return buf_detach(&b, NULL);
}

int ynode_err(struct err **err, int code, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (n == NULL)
		return err_set(err, code, "%s", msg);
	return err_set(err, code, "%s:%u:%u: %s", n->file, n->line, n->col, msg);
}

/* "<subject> must be <want>, not <what n is>" at n. */
static int must_be(const struct ynode *n, const char *want, struct err **err)
{
	cleanup_free char *subj = subject(n);
	cleanup_free char *what = describe(n);
	return ynode_err(err, ERR_INVALID, n, "%s must be %s, not %s", subj, want, what);
}

/* ---------------------------------------------------------------- nodes */

static struct ynode *node_new(enum ynode_kind kind, const yaml_mark_t *mark, const char *file)
{
	struct ynode *n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->line = (unsigned)mark->line + 1;
	n->col = (unsigned)mark->column + 1;
	n->file = file;
	return n;
}

static void node_free(struct ynode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++) {
		node_free(n->items[i]);
		if (n->keys != NULL)
			node_free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->text);
	free(n->tag);
	free(n);
}

void ynode_free(struct ynode *root)
{
	if (root == NULL)
		return;
	char *file = (char *)root->file;
	node_free(root);
	free(file);
}

/* Append item (and key, for a mapping) to collection c, which owns them. */
static void node_append(struct ynode *c, struct ynode *key, struct ynode *item)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 4;
		c->items = xreallocarray(c->items, c->cap, sizeof(*c->items));
		if (c->kind == YNODE_MAP)
			c->keys = xreallocarray(c->keys, c->cap, sizeof(*c->keys));
	}
	c->items[c->n] = item;
	item->parent = c;
	item->index = c->n;
	if (key != NULL) {
		c->keys[c->n] = key;
		key->parent = c;
		key->index = c->n;
	}
	c->n++;
}

/* ---------------------------------------------------------------- loading */

struct anchor {
	char *name;
	struct ynode *node;
	bool done; /* false while the anchored collection is still open */
};

struct loader {
	yaml_parser_t parser;
	const unsigned char *data;
	size_t len;
	char *file;         /* document name; the root takes it on success */
	struct ynode *root;
	struct ynode *open[YML_MAX_DEPTH]; /* collections being filled */
	struct ynode *key[YML_MAX_DEPTH];  /* mapping key waiting for its value */
	size_t depth;
	struct anchor *anchors;
	size_t nanchors;
	size_t alias_bytes; /* charged for alias copies */
	unsigned docs;
};

/* `file:line:col: message` at a libyaml mark (0-based). */
__attribute__((format(printf, 4, 5)))
static int mark_err(struct loader *l, struct err **err, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	return err_set(err, ERR_INVALID, "%s:%zu:%zu: %s", l->file, m->line + 1, m->column + 1,
		       msg);
}

/* Line and column of a byte offset, for reader errors, which libyaml
 * reports by offset only. */
static void offset_position(const unsigned char *s, size_t len, size_t off, size_t *line,
			    size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= len || s[i + 1] != '\n'))) {
			(*line)++;
			*col = 1;
		} else if ((s[i] & 0xc0) != 0x80 && s[i] != '\r') {
			(*col)++;
		}
	}
}

static int parser_error(struct loader *l, struct err **err)
{
	yaml_parser_t *p = &l->parser;
	if (p->error == YAML_MEMORY_ERROR)
		return err_set(err, ERR_FAIL, "%s: out of memory", l->file);
	const char *problem = p->problem != NULL ? p->problem : "syntax error";
	if (p->error == YAML_READER_ERROR) {
		size_t line, col;
		offset_position(l->data, l->len, p->problem_offset, &line, &col);
		if (p->problem_value == -1)
			return err_set(err, ERR_INVALID, "%s:%zu:%zu: %s", l->file, line, col,
				       problem);
		return err_set(err, ERR_INVALID, "%s:%zu:%zu: %s (0x%02X)", l->file, line, col,
			       problem, (unsigned)p->problem_value);
	}
	if (p->context == NULL)
		return mark_err(l, err, &p->problem_mark, "%s", problem);
	return mark_err(l, err, &p->problem_mark, "%s (%s at line %zu, column %zu)", problem,
			p->context, p->context_mark.line + 1, p->context_mark.column + 1);
}

/* A plain untagged << or anything tagged !!merge; '<<' and !!str << are
 * ordinary keys. */
static bool is_merge_key(const struct ynode *k)
{
	if (k->tag != NULL)
		return str_eq(k->tag, "tag:yaml.org,2002:merge");
	return !k->quoted && strcmp(k->text, "<<") == 0;
}

/* Hang a finished or just-started node where the parser is: the root, a
 * sequence item, a mapping key or a mapping value. Takes ownership of n. */
static int attach(struct loader *l, struct ynode *n, struct err **err)
{
	if (l->depth == 0) {
		l->root = n;
		return 0;
	}
	struct ynode *c = l->open[l->depth - 1];
	if (c->kind == YNODE_SEQ) {
		node_append(c, NULL, n);
		return 0;
	}
	struct ynode **key = &l->key[l->depth - 1];
	if (*key != NULL) {
		node_append(c, *key, n);
		*key = NULL;
		return 0;
	}
	int rc = 0;
	if (n->kind != YNODE_SCALAR)
		rc = ynode_err(err, ERR_INVALID, n, "mapping keys must be scalars, not %s",
			       ynode_kind_name(n->kind));
	else if (is_merge_key(n))
		rc = ynode_err(err, ERR_INVALID, n, "merge keys ('<<') are not supported");
	if (rc < 0) {
		node_free(n);
		return rc;
	}
	*key = n;
	return 0;
}

static int add_anchor(struct loader *l, const yaml_char_t *name, struct ynode *n, bool done,
		      const yaml_mark_t *m, struct err **err)
{
	if (name == NULL)
		return 0;
	if (l->nanchors == YML_MAX_ANCHORS)
		return mark_err(l, err, m, "more than %d anchors", YML_MAX_ANCHORS);
	l->anchors = xreallocarray(l->anchors, l->nanchors + 1, sizeof(*l->anchors));
	l->anchors[l->nanchors].name = xstrdup((const char *)name);
	l->anchors[l->nanchors].node = n;
	l->anchors[l->nanchors].done = done;
	l->nanchors++;
	return 0;
}

static char *tag_dup(const yaml_char_t *tag)
{
	return tag != NULL ? xstrdup((const char *)tag) : NULL;
}

static int on_scalar(struct loader *l, const yaml_event_t *ev, struct err **err)
{
	struct ynode *n = node_new(YNODE_SCALAR, &ev->start_mark, l->file);
	n->text_len = ev->data.scalar.length;
	n->text = xmalloc(n->text_len + 1);
	memcpy(n->text, ev->data.scalar.value, n->text_len);
	n->text[n->text_len] = '\0';
	n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	n->tag = tag_dup(ev->data.scalar.tag);
	int rc = attach(l, n, err);
	if (rc < 0)
		return rc;
	return add_anchor(l, ev->data.scalar.anchor, n, true, &ev->start_mark, err);
}

static int on_start(struct loader *l, const yaml_event_t *ev, struct err **err)
{
	bool map = ev->type == YAML_MAPPING_START_EVENT;
	if (l->depth == YML_MAX_DEPTH)
		return mark_err(l, err, &ev->start_mark, "nested deeper than %d levels",
				YML_MAX_DEPTH);
	struct ynode *n = node_new(map ? YNODE_MAP : YNODE_SEQ, &ev->start_mark, l->file);
	n->tag = tag_dup(map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
	int rc = attach(l, n, err);
	if (rc < 0)
		return rc;
	l->open[l->depth] = n;
	l->key[l->depth] = NULL;
	l->depth++;
	const yaml_char_t *anchor =
		map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	return add_anchor(l, anchor, n, false, &ev->start_mark, err);
}

static bool same_text(const struct ynode *a, const struct ynode *b)
{
	return a->text_len == b->text_len && memcmp(a->text, b->text, a->text_len) == 0;
}

/* By text, then by position in the mapping. */
static int key_cmp(const void *pa, const void *pb)
{
	const struct ynode *a = *(const struct ynode *const *)pa;
	const struct ynode *b = *(const struct ynode *const *)pb;
	int c = memcmp(a->text, b->text, a->text_len < b->text_len ? a->text_len : b->text_len);
	if (c == 0 && a->text_len != b->text_len)
		c = a->text_len < b->text_len ? -1 : 1;
	if (c == 0)
		c = a->index < b->index ? -1 : a->index > b->index;
	return c;
}

/* Sorting finds duplicates in n log n (a hostile file may have 100k keys).
 * The one reported is the earliest second occurrence of any key. */
static int check_duplicates(const struct ynode *map, struct err **err)
{
	if (map->n < 2)
		return 0;
	cleanup_free struct ynode **k = xreallocarray(NULL, map->n, sizeof(*k));
	memcpy(k, map->keys, map->n * sizeof(*k));
	qsort(k, map->n, sizeof(*k), key_cmp);
	const struct ynode *dup = NULL, *first = NULL;
	for (size_t i = 1; i < map->n; i++) {
		bool second = same_text(k[i], k[i - 1]) && (i == 1 || !same_text(k[i - 2], k[i]));
		if (second && (dup == NULL || k[i]->index < dup->index)) {
			dup = k[i];
			first = k[i - 1];
		}
	}
	if (dup == NULL)
		return 0;
	cleanup_free char *path = ynode_path(dup);
	return ynode_err(err, ERR_INVALID, dup, "duplicate key '%s' (first at line %u, column %u)",
			 path, first->line, first->col);
}

static int on_end(struct loader *l, struct err **err)
{
	struct ynode *n = l->open[--l->depth];
	for (size_t i = l->nanchors; i > 0; i--)
		if (l->anchors[i - 1].node == n)
			l->anchors[i - 1].done = true;
	return n->kind == YNODE_MAP ? check_duplicates(n, err) : 0;
}

/* Deep copy of src for an alias, charging alias_bytes; level is how deep
 * the copy lands. */
static int node_copy(struct ynode **out, struct loader *l, const struct ynode *src, size_t level,
		     const yaml_mark_t *m, struct err **err)
{
	if (src->kind != YNODE_SCALAR && ++level > YML_MAX_DEPTH)
		return mark_err(l, err, m, "alias nests deeper than %d levels", YML_MAX_DEPTH);
	size_t cost = sizeof(*src) + src->text_len + (src->tag ? strlen(src->tag) : 0) +
		      src->n * 2 * sizeof(void *);
	l->alias_bytes += cost;
	if (l->alias_bytes > YML_MAX_ALIAS_BYTES)
		return mark_err(l, err, m, "aliases expand to more than %u bytes",
				YML_MAX_ALIAS_BYTES);
	struct ynode *n = xcalloc(1, sizeof(*n));
	*n = *src;
	n->parent = NULL;
	n->n = n->cap = 0;
	n->items = n->keys = NULL;
	n->tag = tag_dup((const yaml_char_t *)src->tag);
	if (src->text != NULL) {
		n->text = xmalloc(src->text_len + 1);
		memcpy(n->text, src->text, src->text_len + 1);
	}
	*out = n;
	for (size_t i = 0; i < src->n; i++) {
		struct ynode *item = NULL, *key = NULL;
		int rc = node_copy(&item, l, src->items[i], level, m, err);
		if (rc == 0 && src->keys != NULL)
			rc = node_copy(&key, l, src->keys[i], level, m, err);
		if (rc < 0) {
			node_free(item);
			node_free(key);
			return rc;
		}
		node_append(n, key, item);
	}
	return 0;
}

static int on_alias(struct loader *l, const yaml_event_t *ev, struct err **err)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct anchor *a = NULL;
	for (size_t i = l->nanchors; i > 0 && a == NULL; i--)
		if (strcmp(l->anchors[i - 1].name, name) == 0)
			a = &l->anchors[i - 1];
	if (a == NULL)
		return mark_err(l, err, &ev->start_mark, "unknown anchor '%s'", name);
	if (!a->done)
		return mark_err(l, err, &ev->start_mark, "alias '*%s' is inside the node it names",
				name);
	struct ynode *copy = NULL;
	int rc = node_copy(&copy, l, a->node, l->depth, &ev->start_mark, err);
	if (rc < 0) {
		node_free(copy);
		return rc;
	}
	return attach(l, copy, err);
}

static int on_event(struct loader *l, const yaml_event_t *ev, struct err **err)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++l->docs > 1)
			return mark_err(l, err, &ev->start_mark,
					"only one document is allowed, this is the second");
		return 0;
	case YAML_SCALAR_EVENT: return on_scalar(l, ev, err);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: return on_start(l, ev, err);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: return on_end(l, err);
	case YAML_ALIAS_EVENT: return on_alias(l, ev, err);
	default: return 0;
	}
}

static int parse_events(struct loader *l, struct err **err)
{
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&l->parser, &ev))
			return parser_error(l, err);
		int rc = on_event(l, &ev, err);
		bool end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (rc < 0 || end)
			return rc;
	}
}

static void loader_release(struct loader *l)
{
	yaml_parser_delete(&l->parser);
	for (size_t i = 0; i < l->nanchors; i++)
		free(l->anchors[i].name);
	free(l->anchors);
	for (size_t i = 0; i < l->depth; i++)
		node_free(l->key[i]);
	node_free(l->root);
	free(l->file);
}

int yml_load_buffer(struct ynode **out, const void *data, size_t len, const char *name,
		    struct err **err)
{
	if (name == NULL)
		name = "(yaml)";
	if (len > BALE_MAX_YAML)
		return err_set(err, ERR_TOOBIG, "'%s' is larger than %u bytes", name,
			       BALE_MAX_YAML);
	struct loader l = {.data = data != NULL ? data : (const void *)"", .len = len};
	if (!yaml_parser_initialize(&l.parser))
		return err_set(err, ERR_FAIL, "%s: out of memory", name);
	l.file = xstrdup(name);
	yaml_parser_set_input_string(&l.parser, l.data, len);
	/* Configs are UTF-8; not guessing UTF-16 keeps offsets in bytes. */
	yaml_parser_set_encoding(&l.parser, YAML_UTF8_ENCODING);

	int rc = parse_events(&l, err);
	if (rc == 0 && l.root == NULL) { /* no document at all: one null */
		yaml_mark_t start = {0};
		l.root = node_new(YNODE_SCALAR, &start, l.file);
		l.root->text = xstrdup("");
	}
	if (rc == 0) {
		*out = steal_pointer(&l.root);
		l.file = NULL; /* now (*out)->file */
	}
	loader_release(&l);
	return rc;
}

int yml_load_file(struct ynode **out, const char *path, struct err **err)
{
	cleanup_buf struct buf b;
	buf_init(&b, BALE_MAX_YAML);
	int rc = buf_read_file(&b, AT_FDCWD, path, err);
	if (rc < 0)
		return rc;
	return yml_load_buffer(out, b.data, b.len, path, err);
}

/* ---------------------------------------------------------------- lookups */

bool ynode_is_null(const struct ynode *n)
{
	if (n == NULL)
		return true;
	if (n->kind != YNODE_SCALAR || n->quoted)
		return false;
	if (n->tag != NULL && !str_eq(n->tag, "tag:yaml.org,2002:null"))
		return false;
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
		if (strcmp(n->text, nulls[i]) == 0 && strlen(n->text) == n->text_len)
			return true;
	return false;
}

static bool key_is(const struct ynode *k, const char *key)
{
	size_t len = strlen(key);
	return k->text_len == len && memcmp(k->text, key, len) == 0;
}

const struct ynode *ynode_get(const struct ynode *map, const char *key)
{
	if (map == NULL || map->kind != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (key_is(map->keys[i], key))
			return map->items[i];
	return NULL;
}

int ynode_expect(const struct ynode *n, enum ynode_kind kind, struct err **err)
{
	if (ynode_is_null(n) || n->kind == kind)
		return 0;
	return must_be(n, ynode_kind_name(kind), err);
}

int ynode_require(const struct ynode **out, const struct ynode *map, const char *key,
		  struct err **err)
{
	int rc = ynode_expect(map, YNODE_MAP, err);
	if (rc < 0)
		return rc;
	const struct ynode *v = ynode_get(map, key);
	if (v == NULL) {
		cleanup_free char *path = ynode_path(map);
		return ynode_err(err, ERR_INVALID, map, "missing required key '%s%s%s'", path,
				 path[0] != '\0' ? "." : "", key);
	}
	if (ynode_is_null(v)) {
		cleanup_free char *subj = subject(v);
		return ynode_err(err, ERR_INVALID, v, "%s must have a value", subj);
	}
	*out = v;
	return 0;
}

/* Edit distance of short ASCII words, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char *suggest(const char *key, const char *const *allowed)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	for (size_t i = 0; allowed[i] != NULL; i++) {
		size_t d = edit_distance(key, allowed[i]);
		if (d < best_d) {
			best_d = d;
			best = allowed[i];
		}
	}
	return best_d <= 2 && best_d * 2 <= strlen(key) ? best : NULL;
}

static bool key_allowed(const struct ynode *k, const char *const *allowed)
{
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (key_is(k, allowed[i]))
			return true;
	return false;
}

int ynode_check_keys(const struct ynode *map, const char *const *allowed, struct err **err)
{
	if (map == NULL || map->kind != YNODE_MAP)
		return 0;
	for (size_t i = 0; i < map->n; i++) {
		const struct ynode *k = map->keys[i];
		if (key_allowed(k, allowed))
			continue;
		cleanup_free char *path = ynode_path(k);
		const char *hint = suggest(k->text, allowed);
		if (hint != NULL)
			return ynode_err(err, ERR_INVALID, k,
					 "unknown key '%s' (did you mean '%s'?)", path, hint);
		return ynode_err(err, ERR_INVALID, k, "unknown key '%s'", path);
	}
	return 0;
}

/* ---------------------------------------------------------------- scalars */

/* Common start of the ynode_as_* helpers: 0 when there is nothing to
 * convert (absent or null), 1 when n is a scalar to read, or an error. */
static int scalar_of(const struct ynode *n, const char *want, struct err **err)
{
	if (ynode_is_null(n))
		return 0;
	if (n->kind != YNODE_SCALAR)
		return must_be(n, want, err);
	if (strlen(n->text) != n->text_len) {
		cleanup_free char *subj = subject(n);
		return ynode_err(err, ERR_INVALID, n, "%s must not contain NUL characters", subj);
	}
	return 1;
}

int ynode_as_str(const char **out, const struct ynode *n, struct err **err)
{
	int rc = scalar_of(n, "a string", err);
	if (rc <= 0)
		return rc;
	*out = n->text;
	return 0;
}

static bool word_in(const char *s, const char *const *words)
{
	for (size_t i = 0; words[i] != NULL; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

int ynode_as_bool(bool *out, const struct ynode *n, struct err **err)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
					  "YES",  "on",   "On",   "ON",  NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No",
					 "NO",    "off",   "Off",   "OFF", NULL};
	int rc = scalar_of(n, "true or false", err);
	if (rc <= 0)
		return rc;
	if (word_in(n->text, yes))
		*out = true;
	else if (word_in(n->text, no))
		*out = false;
	else
		return must_be(n, "true or false", err);
	return 0;
}

int ynode_as_u64(uint64_t *out, const struct ynode *n, uint64_t min, uint64_t max,
		 struct err **err)
{
	cleanup_free char *want =
		xasprintf("an integer from %" PRIu64 " to %" PRIu64, min, max);
	int rc = scalar_of(n, want, err);
	if (rc <= 0)
		return rc;
	uint64_t v;
	if (str_to_u64(n->text, &v) < 0 || v < min || v > max)
		return must_be(n, want, err);
	*out = v;
	return 0;
}

/* A number with an optional fraction at *s ("10", "1.5", ".5", "5."):
 * whole part, and the fraction as frac/scale with at most 9 digits kept
 * (finer than a nanosecond of an hour or a byte of a PiB needs). ERR_RANGE
 * when the whole part overflows, ERR_INVALID without digits. */
struct decimal {
	uint64_t whole, frac, scale;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int decimal_parse(struct decimal *d, const char **s)
{
	const char *p = *s;
	bool digits = false;
	*d = (struct decimal){.scale = 1};
	for (; is_digit(*p); p++, digits = true) {
		unsigned dg = (unsigned)(*p - '0');
		if (d->whole > (UINT64_MAX - dg) / 10)
			return ERR_RANGE;
		d->whole = d->whole * 10 + dg;
	}
	if (*p == '.') {
		for (p++; is_digit(*p); p++, digits = true) {
			if (d->scale < 1000000000) {
				d->frac = d->frac * 10 + (uint64_t)(*p - '0');
				d->scale *= 10;
			}
		}
	}
	*s = p;
	return digits ? 0 : ERR_INVALID;
}

/* d * unit, truncated, exactly: frac/scale * unit is split as
 * frac * (unit / scale) + frac * (unit % scale) / scale, which cannot
 * overflow because frac < scale <= 10^9. ERR_RANGE above max. */
static int decimal_times(const struct decimal *d, uint64_t unit, uint64_t max, uint64_t *out)
{
	if (d->whole != 0 && unit > max / d->whole)
		return ERR_RANGE;
	uint64_t v = d->whole * unit;
	uint64_t f = d->frac * (unit / d->scale) + d->frac * (unit % d->scale) / d->scale;
	if (f > max - v)
		return ERR_RANGE;
	*out = v + f;
	return 0;
}

struct unit {
	const char *name;
	uint64_t mult;
};

static const struct unit duration_units[] = {
	{"ns", 1},
	{"us", 1000},
	{"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
	{"\xce\xbcs", 1000}, /* U+03BC greek mu */
	{"ms", 1000000},
	{"s", 1000000000},
	{"m", 60000000000},
	{"h", 3600000000000},
};

static const struct unit *unit_find(const struct unit *u, size_t n, const char *name,
				    size_t len, bool nocase)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(u[i].name) != len)
			continue;
		if (nocase ? strncasecmp(u[i].name, name, len) == 0
			   : strncmp(u[i].name, name, len) == 0)
			return &u[i];
	}
	return NULL;
}

static int parse_duration(const char *s, int64_t *out)
{
	if (*s == '+')
		s++;
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (*s == '\0')
		return ERR_INVALID;
	uint64_t total = 0;
	while (*s != '\0') {
		struct decimal d;
		int rc = decimal_parse(&d, &s);
		if (rc < 0)
			return rc;
		size_t len = 0;
		while (s[len] != '\0' && s[len] != '.' && !is_digit(s[len]))
			len++;
		const struct unit *u =
			unit_find(duration_units, ARRAY_SIZE(duration_units), s, len, false);
		if (u == NULL)
			return ERR_INVALID;
		s += len;
		uint64_t v;
		if (decimal_times(&d, u->mult, INT64_MAX, &v) < 0 || v > INT64_MAX - total)
			return ERR_RANGE;
		total += v;
	}
	*out = (int64_t)total;
	return 0;
}

int ynode_as_duration(int64_t *out_ns, const struct ynode *n, struct err **err)
{
	static const char want[] = "a duration such as 30s, 5m or 1h30m";
	int rc = scalar_of(n, want, err);
	if (rc <= 0)
		return rc;
	int64_t v;
	if (parse_duration(n->text, &v) < 0)
		return must_be(n, want, err);
	*out_ns = v;
	return 0;
}

static const struct unit size_units[] = {
	{"", 1},
	{"b", 1},
	{"kb", 1000},
	{"mb", 1000000},
	{"gb", 1000000000},
	{"tb", 1000000000000},
	{"pb", 1000000000000000},
	{"kib", 1ull << 10},
	{"mib", 1ull << 20},
	{"gib", 1ull << 30},
	{"tib", 1ull << 40},
	{"pib", 1ull << 50},
};

static int parse_size(const char *s, uint64_t *out)
{
	struct decimal d;
	int rc = decimal_parse(&d, &s);
	if (rc < 0)
		return rc;
	if (*s == ' ' && s[1] != '\0')
		s++;
	const struct unit *u = unit_find(size_units, ARRAY_SIZE(size_units), s, strlen(s), true);
	if (u == NULL)
		return ERR_INVALID;
	return decimal_times(&d, u->mult, UINT64_MAX, out);
}

int ynode_as_size(uint64_t *out, const struct ynode *n, struct err **err)
{
	static const char want[] = "a size such as 1024, 512KiB, 10MiB or 1GB";
	int rc = scalar_of(n, want, err);
	if (rc <= 0)
		return rc;
	uint64_t v;
	if (parse_size(n->text, &v) < 0)
		return must_be(n, want, err);
	*out = v;
	return 0;
}

int ynode_as_strv(char ***out, const struct ynode *n, struct err **err)
{
	if (ynode_is_null(n))
		return 0;
	if (n->kind != YNODE_SEQ)
		return must_be(n, "a sequence of strings", err);
	cleanup_strv char **v = xcalloc(n->n + 1, sizeof(char *));
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *item = n->items[i];
		const char *s = NULL;
		int rc = ynode_is_null(item) ? must_be(item, "a string", err)
					     : ynode_as_str(&s, item, err);
		if (rc < 0)
			return rc;
		v[i] = xstrdup(s);
	}
	*out = steal_pointer(&v);
	return 0;
}
