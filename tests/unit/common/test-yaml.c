/* common/yaml: node tree with positions, strictness (duplicates, aliases,
 * documents, depth, size), typed scalars and their positioned errors. */
#include "config.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/yaml.h"
#include "tests/tap.h"

static struct ynode *load(const char *s)
{
	struct ynode *root = NULL;
	struct err *e = NULL;
	if (yml_load_buffer(&root, s, strlen(s), "r.yml", &e) < 0) {
		diag("fixture: %s", err_msg(e));
		err_free(e);
		exit(1);
	}
	return root;
}

/* The load error message for s, or NULL. */
static char *load_msg_n(const char *s, size_t len, int *code)
{
	struct ynode *root = NULL;
	struct err *e = NULL;
	*code = yml_load_buffer(&root, s, len, "r.yml", &e);
	ynode_free(root);
	char *msg = e != NULL ? xstrdup(err_msg(e)) : NULL;
	err_free(e);
	return msg;
}

static void load_fails(const char *s, const char *want, const char *what)
{
	int code;
	char *msg = load_msg_n(s, strlen(s), &code);
	is_str(msg, want, "load error: %s", what);
	is_int(code, ERR_INVALID, "load error code: %s", what);
	free(msg);
}

/* Run one call with a local `err`; keep its message in msg_var. */
#define CALL_MSG(rc_var, msg_var, call)                                                 \
	do {                                                                           \
		struct err *e_ = NULL;                                                 \
		struct err **err = &e_;                                                \
		rc_var = (call);                                                       \
		free(msg_var);                                                         \
		msg_var = e_ != NULL ? xstrdup(err_msg(e_)) : NULL;                    \
		err_free(e_);                                                          \
	} while (0)

static const char config[] = "version: 0.1\n"
			     "log:\n"
			     "  level: info\n"
			     "storage:\n"
			     "  filesystem:\n"
			     "    rootdirectory: /var/lib/registry\n"
			     "  delete:\n"
			     "    enabled: true\n"
			     "http:\n"
			     "  addr: \":5000\"\n"
			     "  hosts: [a.example, \"b.example\"]\n"
			     "  secret:\n";

static void test_tree(void)
{
	struct ynode *root = load(config);
	ok(root->kind == YNODE_MAP && root->n == 4, "root mapping with 4 keys");
	is_int(root->line, 1, "root line");
	is_int(root->col, 1, "root col");
	is_str(root->file, "r.yml", "file name kept");
	is_str(root->keys[2]->text, "storage", "keys in document order");

	const struct ynode *storage = ynode_get(root, "storage");
	ok(storage != NULL && storage->kind == YNODE_MAP, "storage is a mapping");
	is_int(storage->line, 5, "mapping value starts at its first key: line");
	is_int(storage->col, 3, "mapping value starts at its first key: col");
	const struct ynode *rd = ynode_get(ynode_get(storage, "filesystem"), "rootdirectory");
	ok(rd != NULL && rd->kind == YNODE_SCALAR, "nested scalar");
	is_str(rd->text, "/var/lib/registry", "scalar text");
	is_int(rd->line, 6, "scalar line");
	is_int(rd->col, 20, "scalar col");
	char *path = ynode_path(rd);
	is_str(path, "storage.filesystem.rootdirectory", "key path");
	free(path);

	const struct ynode *http = ynode_get(root, "http");
	const struct ynode *hosts = ynode_get(http, "hosts");
	ok(hosts != NULL && hosts->kind == YNODE_SEQ && hosts->n == 2, "flow sequence");
	ok(!hosts->items[0]->quoted && hosts->items[1]->quoted, "quoted flag");
	path = ynode_path(hosts->items[1]);
	is_str(path, "http.hosts[1]", "sequence item path");
	free(path);
	is_int(hosts->items[1]->col, 22, "sequence item col");
	path = ynode_path(root);
	is_str(path, "", "root path is empty");
	free(path);

	const struct ynode *secret = ynode_get(http, "secret");
	ok(secret != NULL && ynode_is_null(secret), "empty value is null");
	is_int(secret->line, 12, "null value line");
	is_int(secret->col, 10, "null value col (just after the colon)");
	ok(ynode_get(root, "nope") == NULL, "absent key");
	ok(ynode_get(rd, "x") == NULL, "ynode_get on a scalar");
	ok(ynode_get(NULL, "x") == NULL, "ynode_get on NULL");
	ynode_free(root);
	ynode_free(NULL);
}

static void test_nulls(void)
{
	struct ynode *root = load("a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: ''\ng: !!str ~\n"
				  "h: nil\ni: !!null null\n");
	const char *keys_null[] = {"a", "b", "c", "d", "e", "i"};
	for (size_t i = 0; i < ARRAY_SIZE(keys_null); i++)
		ok(ynode_is_null(ynode_get(root, keys_null[i])), "null: %s", keys_null[i]);
	ok(!ynode_is_null(ynode_get(root, "f")), "quoted empty is a string");
	ok(!ynode_is_null(ynode_get(root, "g")), "!!str ~ is a string");
	ok(!ynode_is_null(ynode_get(root, "h")), "nil is a string");
	ok(ynode_is_null(NULL), "NULL is null");
	ynode_free(root);

	root = load("");
	ok(root != NULL && ynode_is_null(root), "empty input is one null document");
	is_int(root->line, 1, "empty document line");
	ynode_free(root);
	root = load("---\n...\n");
	ok(root != NULL && ynode_is_null(root), "explicit empty document is null");
	ynode_free(root);
	root = load("# only a comment\n");
	ok(ynode_is_null(root), "comment-only file is null");
	ynode_free(root);
}

static void test_syntax_errors(void)
{
	load_fails("a: b: c", "r.yml:1:5: mapping values are not allowed in this context",
		   "mapping in a plain scalar");
	load_fails("a:\n\tb: 1",
		   "r.yml:2:1: found character that cannot start any token (while scanning for "
		   "the next token at line 2, column 1)",
		   "tab indentation");
	load_fails("a: [1, 2\nb: 3",
		   "r.yml:2:2: did not find expected ',' or ']' (while parsing a flow sequence at "
		   "line 1, column 4)",
		   "unclosed flow sequence");
	load_fails("a: \"abc",
		   "r.yml:1:8: found unexpected end of stream (while scanning a quoted scalar at "
		   "line 1, column 4)",
		   "truncated quoted scalar");
	load_fails("a:\n  - x\n y: 1",
		   "r.yml:3:2: did not find expected key (while parsing a block mapping at line "
		   "1, column 1)",
		   "bad indentation");
	load_fails("a: 1\nb: \xff", "r.yml:2:4: invalid leading UTF-8 octet (0xFF)",
		   "invalid UTF-8");
	load_fails("a: 1\r\nb: \xff", "r.yml:2:4: invalid leading UTF-8 octet (0xFF)",
		   "invalid UTF-8 after CRLF");
	load_fails("\xc3\xa9\xc3\xa9: \xc3", "r.yml:1:5: incomplete UTF-8 octet sequence",
		   "cut UTF-8 sequence, column in characters");
	load_fails("a: \"x\x01\"", "r.yml:1:6: control characters are not allowed (0x01)",
		   "control character");
	int code;
	char *msg = load_msg_n("a: 1\n\0", 6, &code);
	is_str(msg, "r.yml:2:1: control characters are not allowed (0x00)", "NUL byte");
	free(msg);
	load_fails("\xc3\xa9: *x", "r.yml:1:4: unknown anchor 'x'",
		   "columns count characters, not bytes");
}

static void test_strictness(void)
{
	load_fails("a: 1\n---\nb: 2", "r.yml:2:1: only one document is allowed, this is the second",
		   "second document");
	load_fails("a: 1\nb: 2\na: 3", "r.yml:3:1: duplicate key 'a' (first at line 1, column 1)",
		   "duplicate key");
	load_fails("s:\n  x: 1\n  'x': 2",
		   "r.yml:3:3: duplicate key 's.x' (first at line 2, column 3)",
		   "duplicate nested key, quoting does not matter");
	load_fails("b: 1\na: 1\na: 2\nb: 2",
		   "r.yml:3:1: duplicate key 'a' (first at line 2, column 1)",
		   "the earliest repeat is reported");
	load_fails("l:\n  - {k: 1, j: 2, k: 3}",
		   "r.yml:2:18: duplicate key 'l[0].k' (first at line 2, column 6)",
		   "duplicate in a flow mapping");
	load_fails("? [a]\n: 1", "r.yml:1:3: mapping keys must be scalars, not a sequence",
		   "sequence as a key");
	load_fails("{{a: 1}: 2}", "r.yml:1:2: mapping keys must be scalars, not a mapping",
		   "mapping as a key");
	load_fails("base: &b {x: 1}\nm:\n  <<: *b",
		   "r.yml:3:3: merge keys ('<<') are not supported", "merge key");
	load_fails("a: *x", "r.yml:1:4: unknown anchor 'x'", "unknown anchor");
	load_fails("a: &x [1, *x]", "r.yml:1:11: alias '*x' is inside the node it names",
		   "recursive alias");

	load_fails("m: {!!merge x: 1}", "r.yml:1:5: merge keys ('<<') are not supported",
		   "!!merge tag");

	/* Quoted or !!str "<<" is an ordinary key. */
	struct ynode *root = load("'<<': 1\n");
	ok(ynode_get(root, "<<") != NULL, "quoted << is a plain key");
	ynode_free(root);
	root = load("!!str <<: 1\n");
	ok(ynode_get(root, "<<") != NULL, "!!str << is a plain key");
	ynode_free(root);
}

static void test_aliases(void)
{
	struct ynode *root = load("base: &b\n  x: 1\n  l: [p, q]\nuse: *b\nk: &k key\n*k : v\n");
	const struct ynode *use = ynode_get(root, "use");
	ok(use != NULL && use->kind == YNODE_MAP && use->n == 2, "alias copies a mapping");
	const struct ynode *x = ynode_get(use, "x");
	ok(x != NULL && str_eq(x->text, "1"), "copied value");
	is_int(x->line, 2, "copy keeps the anchored position");
	char *path = ynode_path(ynode_get(use, "l")->items[1]);
	is_str(path, "use.l[1]", "copy has its own path");
	free(path);
	ok(ynode_get(root, "key") != NULL, "alias as a key");
	ynode_free(root);

	/* The classic bomb: 9^9 strings from a few hundred bytes. */
	struct buf b;
	buf_init(&b, 1 << 20);
	buf_addstr(&b, "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n", NULL);
	for (char c = 'b'; c <= 'i'; c++) {
		buf_addf(&b, NULL, "%c: &%c [", c, c);
		for (int i = 0; i < 9; i++)
			buf_addf(&b, NULL, "%s*%c", i ? "," : "", c - 1);
		buf_addstr(&b, "]\n", NULL);
	}
	clock_t t0 = clock();
	int code;
	char *msg = load_msg_n(b.data, b.len, &code);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	like(msg, "aliases expand to more than 4194304 bytes", "alias bomb refused");
	like(msg, "r.yml:", "alias bomb error has a position");
	is_int(code, ERR_INVALID, "alias bomb is ERR_INVALID");
	ok(secs < 2.0, "alias bomb refused quickly (%.3fs)", secs);
	free(msg);
	buf_release(&b);

	/* Many aliases of a small node are fine. */
	buf_init(&b, 1 << 20);
	buf_addstr(&b, "a: &a {x: 1}\nl:\n", NULL);
	for (int i = 0; i < 1000; i++)
		buf_addstr(&b, "  - *a\n", NULL);
	struct ynode *r = NULL;
	struct err *e = NULL;
	is_int(yml_load_buffer(&r, b.data, b.len, "r.yml", &e), 0, "1000 small aliases load");
	is_int(ynode_get(r, "l")->n, 1000, "all copies there");
	ynode_free(r);
	buf_release(&b);

	buf_init(&b, 1 << 20);
	for (int i = 0; i <= YML_MAX_ANCHORS; i++)
		buf_addf(&b, NULL, "k%d: &a%d v\n", i, i);
	msg = load_msg_n(b.data, b.len, &code);
	is_str(msg, "r.yml:1025:8: more than 1024 anchors", "anchor cap");
	free(msg);
	buf_release(&b);
}

static void test_limits(void)
{
	char *s = tap_brackets(YML_MAX_DEPTH);
	struct ynode *root = load(s);
	ok(root->kind == YNODE_SEQ, "64 levels load");
	ynode_free(root);
	free(s);

	s = tap_brackets(100000);
	load_fails(s, "r.yml:1:65: nested deeper than 64 levels", "deep flow nesting");
	free(s);

	struct buf b;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 70; i++)
		buf_addf(&b, NULL, "%*sk:\n", i, "");
	load_fails(b.data, "r.yml:65:65: nested deeper than 64 levels", "deep block nesting");
	buf_release(&b);

	/* An anchored 40-level node copied 30 levels down would be 70 deep. */
	buf_init(&b, 1 << 20);
	buf_addstr(&b, "a: &deep ", NULL);
	for (int i = 0; i < 40; i++)
		buf_addch(&b, '[', NULL);
	for (int i = 0; i < 40; i++)
		buf_addch(&b, ']', NULL);
	buf_addstr(&b, "\nb: ", NULL);
	for (int i = 0; i < 30; i++)
		buf_addch(&b, '[', NULL);
	buf_addstr(&b, "*deep", NULL);
	for (int i = 0; i < 30; i++)
		buf_addch(&b, ']', NULL);
	buf_addch(&b, '\n', NULL);
	load_fails(b.data, "r.yml:2:34: alias nests deeper than 64 levels", "deep alias copy");
	buf_release(&b);

	char *big = xmalloc(BALE_MAX_YAML + 1);
	memset(big, '#', BALE_MAX_YAML + 1);
	int code;
	char *msg = load_msg_n(big, BALE_MAX_YAML + 1, &code);
	is_int(code, ERR_TOOBIG, "size cap");
	is_str(msg, "'r.yml' is larger than 1048576 bytes", "size cap message");
	free(msg);
	free(big);

	/* Many keys: duplicate detection must not be quadratic. */
	buf_init(&b, BALE_MAX_YAML);
	for (int i = 0; i < 60000; i++)
		buf_addf(&b, NULL, "k%d: 1\n", i);
	buf_addstr(&b, "k7: 2\n", NULL);
	clock_t t0 = clock();
	msg = load_msg_n(b.data, b.len, &code);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	is_str(msg, "r.yml:60001:1: duplicate key 'k7' (first at line 8, column 1)",
	       "duplicate among 60000 keys");
	ok(secs < 5.0, "60000 keys checked quickly (%.3fs)", secs);
	free(msg);
	buf_release(&b);
}

static void test_files(void)
{
	char dir[] = "/tmp/test-yaml-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	char *path = xasprintf("%s/registry.yml", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && write_all(fd, config, strlen(config)) == 0, "write fixture");
	close(fd);

	struct ynode *root = NULL;
	struct err *e = NULL;
	is_int(yml_load_file(&root, path, &e), 0, "load file");
	is_str(root->file, path, "file name is the path");
	static const char *const allowed[] = {"version", "log", "storage", NULL};
	is_int(ynode_check_keys(root, allowed, &e), ERR_INVALID, "unknown key in a file");
	char *want = xasprintf("%s:9:1: unknown key 'http'", path);
	is_str(err_msg(e), want, "file:line:col from a file");
	free(want);
	err_free(e);
	e = NULL;
	ynode_free(root);

	char *missing = xasprintf("%s/nope.yml", dir);
	is_int(yml_load_file(&root, missing, &e), ERR_NOTFOUND, "missing file");
	like(err_msg(e), "cannot open", "missing file message");
	err_free(e);
	free(missing);
	unlink(path);
	rmdir(dir);
	free(path);
}

static void test_keys(void)
{
	struct ynode *root = load("version: 1\nstorag:\n  filesystm: {}\n"
				  "\"tab\\tkey\": 1\nzzzzzz: 1\n");
	static const char *const top[] = {"version", "storage", "http", NULL};
	static const char *const top2[] = {"version", "storag", "http", NULL};
	static const char *const top3[] = {"version", "storag", "zzzzzz", "tab\tkey", NULL};
	static const char *const storage[] = {"filesystem", "s3", NULL};
	char *msg = NULL;
	int rc;

	CALL_MSG(rc, msg, ynode_check_keys(root, top, err));
	is_str(msg, "r.yml:2:1: unknown key 'storag' (did you mean 'storage'?)", "unknown key");
	CALL_MSG(rc, msg, ynode_check_keys(ynode_get(root, "storag"), storage, err));
	is_str(msg, "r.yml:3:3: unknown key 'storag.filesystm' (did you mean 'filesystem'?)",
	       "unknown nested key with its path");
	CALL_MSG(rc, msg, ynode_check_keys(root, top2, err));
	is_str(msg, "r.yml:4:1: unknown key 'tab\\x09key'", "control characters shown escaped");
	CALL_MSG(rc, msg, ynode_check_keys(root, top3, err));
	is_str(msg, NULL, "all keys allowed");
	is_int(rc, 0, "all keys allowed: 0");
	CALL_MSG(rc, msg, ynode_check_keys(NULL, top, err));
	is_int(rc, 0, "no mapping, no unknown keys");
	ynode_free(root);

	struct buf b;
	buf_init(&b, 4096);
	buf_addch(&b, 'k', NULL);
	for (int i = 0; i < 200; i++)
		buf_addch(&b, 'x', NULL);
	buf_addstr(&b, ": 1\n", NULL);
	root = load(b.data);
	CALL_MSG(rc, msg, ynode_check_keys(root, top, err));
	like(msg, "r.yml:1:1: unknown key 'kxxxxxxxx", "long key");
	like(msg, "xxx...'", "long key cut");
	ok(msg != NULL && strlen(msg) < 140, "long key message is short");
	ynode_free(root);
	buf_release(&b);
	free(msg);
}

static void test_require_expect(void)
{
	struct ynode *root = load("storage:\nhttp:\n  addr: x\nlist: [1]\n");
	const struct ynode *v = NULL;
	char *msg = NULL;
	int rc;

	CALL_MSG(rc, msg, ynode_require(&v, root, "auth", err));
	is_str(msg, "r.yml:1:1: missing required key 'auth'", "missing top-level key");
	CALL_MSG(rc, msg, ynode_require(&v, ynode_get(root, "http"), "tls", err));
	is_str(msg, "r.yml:3:3: missing required key 'http.tls'", "missing nested key");
	CALL_MSG(rc, msg, ynode_require(&v, root, "storage", err));
	is_str(msg, "r.yml:1:9: 'storage' must have a value", "null value");
	CALL_MSG(rc, msg, ynode_require(&v, ynode_get(root, "storage"), "filesystem", err));
	is_str(msg, "r.yml:1:9: missing required key 'storage.filesystem'",
	       "missing key under a null section");
	CALL_MSG(rc, msg, ynode_require(&v, ynode_get(root, "http"), "addr", err));
	ok(rc == 0 && str_eq(v->text, "x"), "required key present");
	CALL_MSG(rc, msg, ynode_require(&v, ynode_get(ynode_get(root, "http"), "addr"), "y", err));
	is_str(msg, "r.yml:3:9: 'http.addr' must be a mapping, not 'x'", "require on a scalar");

	CALL_MSG(rc, msg, ynode_expect(ynode_get(root, "list"), YNODE_MAP, err));
	is_str(msg, "r.yml:4:7: 'list' must be a mapping, not a sequence", "expect mapping");
	CALL_MSG(rc, msg, ynode_expect(root, YNODE_SEQ, err));
	is_str(msg, "r.yml:1:1: the document must be a sequence, not a mapping", "expect at root");
	CALL_MSG(rc, msg, ynode_expect(ynode_get(root, "storage"), YNODE_MAP, err));
	is_int(rc, 0, "null passes as an empty section");
	CALL_MSG(rc, msg, ynode_expect(NULL, YNODE_MAP, err));
	is_int(rc, 0, "absent passes");
	is_str(ynode_kind_name(YNODE_SEQ), "a sequence", "kind name");

	CALL_MSG(rc, msg, ynode_err(err, ERR_UNSUPPORTED, ynode_get(root, "list"),
				    "storage driver '%s' is not supported", "s4"));
	is_str(msg, "r.yml:4:7: storage driver 's4' is not supported", "ynode_err positions");
	is_int(rc, ERR_UNSUPPORTED, "ynode_err returns the code");
	CALL_MSG(rc, msg, ynode_err(err, ERR_INVALID, NULL, "plain"));
	is_str(msg, "plain", "ynode_err without a node");
	free(msg);
	ynode_free(root);
}

static void test_scalars_str_bool(void)
{
	struct ynode *root = load("s: hello\nq: \"8080\"\nnul: \"a\\0b\"\nm: {a: 1}\n"
				  "b1: true\nb2: Off\nb3: YES\nb4: 'on'\nb5: y\nb6: tRue\n");
	const char *s = "default";
	bool b = false;
	char *msg = NULL;
	int rc;

	CALL_MSG(rc, msg, ynode_as_str(&s, ynode_get(root, "s"), err));
	ok(rc == 0 && str_eq(s, "hello"), "string");
	s = "default";
	CALL_MSG(rc, msg, ynode_as_str(&s, ynode_get(root, "absent"), err));
	ok(rc == 0 && str_eq(s, "default"), "absent keeps the default");
	CALL_MSG(rc, msg, ynode_as_str(&s, ynode_get(root, "nul"), err));
	is_str(msg, "r.yml:3:6: 'nul' must not contain NUL characters", "NUL refused");
	CALL_MSG(rc, msg, ynode_as_str(&s, ynode_get(root, "m"), err));
	is_str(msg, "r.yml:4:4: 'm' must be a string, not a mapping", "mapping is not a string");

	CALL_MSG(rc, msg, ynode_as_bool(&b, ynode_get(root, "b1"), err));
	ok(rc == 0 && b, "true");
	CALL_MSG(rc, msg, ynode_as_bool(&b, ynode_get(root, "b2"), err));
	ok(rc == 0 && !b, "Off");
	CALL_MSG(rc, msg, ynode_as_bool(&b, ynode_get(root, "b3"), err));
	ok(rc == 0 && b, "YES");
	CALL_MSG(rc, msg, ynode_as_bool(&b, ynode_get(root, "b4"), err));
	ok(rc == 0 && b, "quoted 'on' reads as a boolean too");
	CALL_MSG(rc, msg, ynode_as_bool(&b, ynode_get(root, "b5"), err));
	is_str(msg, "r.yml:9:5: 'b5' must be true or false, not 'y'", "y refused");
	CALL_MSG(rc, msg, ynode_as_bool(&b, ynode_get(root, "b6"), err));
	is_str(msg, "r.yml:10:5: 'b6' must be true or false, not 'tRue'", "mixed case refused");
	CALL_MSG(rc, msg, ynode_as_bool(&b, ynode_get(root, "m"), err));
	is_str(msg, "r.yml:4:4: 'm' must be true or false, not a mapping", "mapping as bool");
	free(msg);
	ynode_free(root);
}

static void test_scalars_u64(void)
{
	struct ynode *root = load("port: 5000\nq: '443'\nhex: 0x10\nbig: 70000\nneg: -1\n"
				  "max: 18446744073709551615\nover: 18446744073709551616\n");
	uint64_t u = 7;
	char *msg = NULL;
	int rc;
	CALL_MSG(rc, msg, ynode_as_u64(&u, ynode_get(root, "port"), 1, 65535, err));
	ok(rc == 0 && u == 5000, "port");
	CALL_MSG(rc, msg, ynode_as_u64(&u, ynode_get(root, "q"), 1, 65535, err));
	ok(rc == 0 && u == 443, "quoted number");
	CALL_MSG(rc, msg, ynode_as_u64(&u, ynode_get(root, "hex"), 1, 65535, err));
	is_str(msg, "r.yml:3:6: 'hex' must be an integer from 1 to 65535, not '0x10'", "hex");
	CALL_MSG(rc, msg, ynode_as_u64(&u, ynode_get(root, "big"), 1, 65535, err));
	is_str(msg, "r.yml:4:6: 'big' must be an integer from 1 to 65535, not '70000'",
	       "out of range");
	CALL_MSG(rc, msg, ynode_as_u64(&u, ynode_get(root, "neg"), 0, 10, err));
	is_str(msg, "r.yml:5:6: 'neg' must be an integer from 0 to 10, not '-1'", "negative");
	CALL_MSG(rc, msg, ynode_as_u64(&u, ynode_get(root, "max"), 0, UINT64_MAX, err));
	ok(rc == 0 && u == UINT64_MAX, "UINT64_MAX");
	CALL_MSG(rc, msg, ynode_as_u64(&u, ynode_get(root, "over"), 0, UINT64_MAX, err));
	like(msg, "r.yml:7:7: 'over' must be an integer from 0 to 18446744073709551615",
	     "overflow");
	is_int(u, UINT64_MAX, "untouched on error");
	free(msg);
	ynode_free(root);
}

static void duration_is(const char *text, int64_t want)
{
	char *doc = xasprintf("d: %s\n", text);
	struct ynode *root = load(doc);
	int64_t ns = -1;
	struct err *e = NULL;
	int rc = ynode_as_duration(&ns, ynode_get(root, "d"), &e);
	if (rc < 0)
		diag("%s", err_msg(e));
	ok(rc == 0 && ns == want, "duration %s = %lld", text, (long long)want);
	err_free(e);
	ynode_free(root);
	free(doc);
}

static void duration_bad(const char *text)
{
	char *doc = xasprintf("d: %s\n", text);
	struct ynode *root = load(doc);
	int64_t ns = -1;
	struct err *e = NULL;
	is_int(ynode_as_duration(&ns, ynode_get(root, "d"), &e), ERR_INVALID, "bad duration %s",
	       text);
	char *want = xasprintf(
		"r.yml:1:4: 'd' must be a duration such as 30s, 5m or 1h30m, not '%s'", text);
	if (text[0] != '"')
		is_str(err_msg(e), want, "duration message %s", text);
	is_int(ns, -1, "untouched: %s", text);
	free(want);
	err_free(e);
	ynode_free(root);
	free(doc);
}

static void test_durations(void)
{
	const int64_t s = 1000000000;
	duration_is("30s", 30 * s);
	duration_is("5m", 300 * s);
	duration_is("1h30m", 5400 * s);
	duration_is("1.5h", 5400 * s);
	duration_is("300ms", 300000000);
	duration_is("1us", 1000);
	duration_is("1\xc2\xb5s", 1000);
	duration_is("1\xce\xbcs", 1000);
	duration_is("7ns", 7);
	duration_is("0", 0);
	duration_is("+2s", 2 * s);
	duration_is(".5s", s / 2);
	duration_is("5.s", 5 * s);
	duration_is("1h1h", 7200 * s);
	duration_is("0.000000001s", 1);
	duration_is("1.0000000009s", s); /* digits past the 9th are dropped */
	duration_is("'45s'", 45 * s);
	duration_is("2562047h47m16.854775807s", INT64_MAX);
	duration_bad("2562047h47m16.854775808s");
	duration_bad("9223372036854775808ns");
	duration_bad("99999999999999999999h");
	duration_bad("10");
	duration_bad("1.5");
	duration_bad("-5s");
	duration_bad("5x");
	duration_bad("1h 30m");
	duration_bad("s");
	duration_bad(".s");
	duration_bad("5S");
	duration_bad("\"\"");

	struct ynode *root = load("d:\n");
	int64_t ns = 42;
	struct err *e = NULL;
	ok(ynode_as_duration(&ns, ynode_get(root, "d"), &e) == 0 && ns == 42,
	   "null duration keeps the default");
	ynode_free(root);
}

static void size_is(const char *text, uint64_t want)
{
	char *doc = xasprintf("z: %s\n", text);
	struct ynode *root = load(doc);
	uint64_t v = 7;
	struct err *e = NULL;
	int rc = ynode_as_size(&v, ynode_get(root, "z"), &e);
	if (rc < 0)
		diag("%s", err_msg(e));
	ok(rc == 0 && v == want, "size %s = %llu", text, (unsigned long long)want);
	err_free(e);
	ynode_free(root);
	free(doc);
}

static void size_bad(const char *text)
{
	char *doc = xasprintf("z: %s\n", text);
	struct ynode *root = load(doc);
	uint64_t v = 7;
	struct err *e = NULL;
	is_int(ynode_as_size(&v, ynode_get(root, "z"), &e), ERR_INVALID, "bad size %s", text);
	char *want = xasprintf(
		"r.yml:1:4: 'z' must be a size such as 1024, 512KiB, 10MiB or 1GB, not '%s'", text);
	is_str(err_msg(e), want, "size message %s", text);
	is_int(v, 7, "untouched: %s", text);
	free(want);
	err_free(e);
	ynode_free(root);
	free(doc);
}

static void test_sizes(void)
{
	size_is("1024", 1024);
	size_is("0", 0);
	size_is("10MiB", 10485760);
	size_is("1GB", 1000000000);
	size_is("1.5 GiB", 1610612736);
	size_is("512kib", 524288);
	size_is("2kB", 2000);
	size_is("3b", 3);
	size_is("1TiB", 1ull << 40);
	size_is("1PB", 1000000000000000ull);
	size_is("0.1KiB", 102);
	size_is("0.5B", 0);
	size_is("18446744073709551615", UINT64_MAX);
	size_is("15PiB", 15ull << 50);
	size_bad("10M");
	size_bad("1K");
	size_bad("18446744073709551616");
	size_bad("17179869184GiB");
	size_bad("16384PiB");
	size_bad("1e3");
	size_bad("-1");
	size_bad("MiB");
	size_bad("10  MiB");
	size_bad("1EiB");
}

static void test_strv(void)
{
	struct ynode *root = load("hosts: [a, \"b\"]\nbad: [a, [b]]\nnul: [a, ~]\none: a\n"
				  "empty: []\n");
	char **v = NULL;
	char *msg = NULL;
	int rc;
	CALL_MSG(rc, msg, ynode_as_strv(&v, ynode_get(root, "hosts"), err));
	ok(rc == 0 && strv_len(v) == 2 && str_eq(v[1], "b"), "string sequence");
	strv_free(v);
	v = NULL;
	CALL_MSG(rc, msg, ynode_as_strv(&v, ynode_get(root, "bad"), err));
	is_str(msg, "r.yml:2:10: 'bad[1]' must be a string, not a sequence", "nested sequence");
	ok(v == NULL, "untouched on error");
	CALL_MSG(rc, msg, ynode_as_strv(&v, ynode_get(root, "nul"), err));
	is_str(msg, "r.yml:3:10: 'nul[1]' must be a string, not null", "null item");
	CALL_MSG(rc, msg, ynode_as_strv(&v, ynode_get(root, "one"), err));
	is_str(msg, "r.yml:4:6: 'one' must be a sequence of strings, not 'a'", "scalar");
	CALL_MSG(rc, msg, ynode_as_strv(&v, ynode_get(root, "empty"), err));
	ok(rc == 0 && v != NULL && v[0] == NULL, "empty sequence");
	strv_free(v);
	v = NULL;
	CALL_MSG(rc, msg, ynode_as_strv(&v, ynode_get(root, "absent"), err));
	ok(rc == 0 && v == NULL, "absent keeps NULL");
	free(msg);
	ynode_free(root);
}

static void test_cleanup(void)
{
	cleanup_ynode struct ynode *root = load("a: 1\n");
	ok(root != NULL, "cleanup_ynode frees (ASan checks the leak)");
}

int main(void)
{
	test_tree();
	test_nulls();
	test_syntax_errors();
	test_strictness();
	test_aliases();
	test_limits();
	test_files();
	test_keys();
	test_require_expect();
	test_scalars_str_bool();
	test_scalars_u64();
	test_durations();
	test_sizes();
	test_strv();
	test_cleanup();
	return tap_done();
}
