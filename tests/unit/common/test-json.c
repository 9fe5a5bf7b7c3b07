/* common/json: strict loading with positions, typed getters, and the
 * Go-compatible serializer. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <unistd.h>

#include "common/json.h"
#include "common/util.h"
#include "tests/tap.h"

/* Load s (strlen bytes) as "m.json"; return the error message, or NULL
 * when it loaded. *code gets the return code. */
static char *load_msg(const char *s, size_t len, unsigned flags, int *code)
{
	json_t *j = NULL;
	struct err *e = NULL;
	int rc = jx_load_buffer(&j, s, len, "m.json", flags, &e);
	if (code != NULL)
		*code = rc;
	json_decref(j);
	char *msg = e != NULL ? xstrdup(err_msg(e)) : NULL;
	err_free(e);
	return msg;
}

static void load_fails(const char *s, const char *want, const char *what)
{
	int code;
	char *msg = load_msg(s, strlen(s), 0, &code);
	is_str(msg, want, "load error: %s", what);
	is_int(code, ERR_INVALID, "load error code: %s", what);
	free(msg);
}

static void test_load_ok(void)
{
	json_t *j = NULL;
	struct err *e = NULL;
	const char *s = "{\"a\": [1, \"x\", true, null, 1.5], \"b\": {}}";
	is_int(jx_load_buffer(&j, s, strlen(s), "m.json", 0, &e), 0, "valid document loads");
	ok(json_is_object(j) && json_array_size(json_object_get(j, "a")) == 5, "values are there");
	json_decref(j);

	j = NULL;
	is_int(jx_load_buffer(&j, "1", 1, "m.json", JX_DECODE_ANY, &e), 0, "JX_DECODE_ANY: scalar");
	ok(json_is_integer(j) && json_integer_value(j) == 1, "scalar value");
	json_decref(j);

	j = NULL;
	is_int(jx_load_buffer(&j, "{\"a\":\"x\\u0000y\"}", 16, "m.json", JX_ALLOW_NUL, &e), 0,
	       "JX_ALLOW_NUL: \\u0000 accepted");
	is_int(json_string_length(json_object_get(j, "a")), 3, "NUL kept in the string");
	json_decref(j);

	j = NULL;
	s = "[9223372036854775807, -9223372036854775808]";
	is_int(jx_load_buffer(&j, s, strlen(s), "m.json", 0, &e), 0, "int64 limits load");
	ok(json_integer_value(json_array_get(j, 0)) == INT64_MAX &&
		   json_integer_value(json_array_get(j, 1)) == INT64_MIN,
	   "int64 limits exact");
	json_decref(j);
	ok(e == NULL, "no error recorded");
}

static void test_load_errors(void)
{
	load_fails("{\"a\":1,}", "m.json:1:8: string or '}' expected near '}'", "trailing comma");
	load_fails("{\"a\":1,\"a\":2}", "m.json:1:10: duplicate object key near '\"a\"'",
		   "duplicate key");
	load_fails("{\"a\":{\"b\":1,\n \"b\":2}}", "m.json:2:4: duplicate object key near '\"b\"'",
		   "nested duplicate key");
	load_fails("{\n  \"a\": tru\n}", "m.json:2:10: invalid token near 'tru'", "bad literal");
	load_fails("", "m.json:1:1: '[' or '{' expected near end of file", "empty input");
	load_fails("{\"a\":1", "m.json:1:6: '}' expected near end of file", "truncated object");
	load_fails("[1,\n2,\n", "m.json:3:1: ']' expected near end of file",
		   "truncated after a newline");
	load_fails("{\"a\":\"abc", "m.json:1:9: premature end of input near '\"abc'",
		   "truncated string");
	load_fails("{\"a\":\"\\u0000\"}", "m.json:1:13: \\u0000 is not allowed in strings",
		   "\\u0000 refused by default");
	load_fails("{\"a\":\"\x01\"}", "m.json:1:6: control character 0x1 near '\"'",
		   "raw control character");
	load_fails("{\"a\":\"\xff\"}", "m.json:1:6: unable to decode byte 0xff near '\"'",
		   "invalid UTF-8");
	load_fails("[\"\xc0\x80\"]", "m.json:1:2: unable to decode byte 0xc0 near '\"'",
		   "overlong UTF-8");
	load_fails("{\"\xc3\xa9\": x}", "m.json:1:7: invalid token near 'x'",
		   "columns count characters, not bytes");
	load_fails("[1] x", "m.json:1:5: end of file expected near 'x'", "trailing data");
	load_fails("[18446744073709551616]",
		   "m.json:1:21: too big integer near '18446744073709551616'", "integer > uint64");
	load_fails("[9223372036854775808]",
		   "m.json:1:20: too big integer near '9223372036854775808'", "integer > int64");
	load_fails("[1e400]", "m.json:1:6: real number overflow near '1e400'", "real overflow");
	load_fails("[\"\\ud800\"]", "m.json:1:9: invalid Unicode '\\uD800' near '\"\\ud800\"'",
		   "lone surrogate");
	load_fails("1", "m.json:1:1: '[' or '{' expected near '1'", "scalar document refused");
	load_fails("\xef\xbb\xbf{}", "m.json:1:1: '[' or '{' expected near '\xef\xbb\xbf'",
		   "byte order mark refused");
	load_fails("[\"a\nb\"]", "m.json:1:3: unexpected newline near '\"a'", "newline in string");

	int code;
	char *msg = load_msg("{\"a\":1}\0", 8, 0, &code);
	is_str(msg, "m.json:1:8: end of file expected near end of file", "NUL byte after document");
	free(msg);

	msg = load_msg("{\"k\\u0000\":1}", 13, JX_ALLOW_NUL, &code);
	is_str(msg, "m.json:1:10: NUL byte in object key not supported near '\"k\\u0000\"'",
	       "NUL in a key refused even with JX_ALLOW_NUL");
	free(msg);

	json_t *j = NULL;
	struct err *e = NULL;
	is_int(jx_load_buffer(&j, NULL, 0, NULL, 0, &e), ERR_INVALID, "NULL buffer, no name");
	is_str(err_msg(e), "(json):1:1: '[' or '{' expected near end of file",
	       "default document name");
	err_free(e);
}

static void test_load_hostile(void)
{
	char *s = tap_brackets(100000);
	int code;
	char *msg = load_msg(s, strlen(s), 0, &code);
	is_str(msg, "m.json:1:2049: maximum parsing depth reached near '['",
	       "deep nesting refused");
	free(msg);
	free(s);

	s = tap_brackets(JX_MAX_DEPTH);
	json_t *j = NULL;
	struct err *e = NULL;
	is_int(jx_load_buffer(&j, s, strlen(s), "m.json", 0, &e), 0, "2048 levels load");
	char *out = NULL;
	is_int(jx_dump(&out, NULL, j, 0, &e), 0, "2048 levels dump");
	is_str(out, s, "2048 levels round-trip");
	free(out);
	json_decref(j);
	free(s);

	/* A long run of digits is one token, not a bignum. */
	struct buf b;
	buf_init(&b, 1 << 20);
	buf_addch(&b, '[', NULL);
	for (int i = 0; i < 100000; i++)
		buf_addch(&b, '9', NULL);
	buf_addch(&b, ']', NULL);
	msg = load_msg(b.data, b.len, 0, &code);
	like(msg, "m.json:1:", "huge number refused with a position");
	is_int(code, ERR_INVALID, "huge number is ERR_INVALID");
	free(msg);
	buf_release(&b);
}

static void test_load_fd_file(void)
{
	char dir[] = "/tmp/test-json-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	char *path = xasprintf("%s/index.json", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	const char *doc = "{\"schemaVersion\": 2,\n \"manifests\": [}\n";
	ok(fd >= 0 && write_all(fd, doc, strlen(doc)) == 0, "write fixture");
	close(fd);

	json_t *j = NULL;
	struct err *e = NULL;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	is_int(jx_load_file(&j, dirfd, "index.json", 0, 0, &e), ERR_INVALID, "bad file");
	is_str(err_msg(e), "index.json:2:16: unexpected token near '}'",
	       "file errors name the path as given");
	err_free(e);
	e = NULL;

	is_int(jx_load_file(&j, dirfd, "index.json", 10, 0, &e), ERR_TOOBIG, "cap applies");
	like(err_msg(e), "'index.json' is larger than 10 bytes", "cap message");
	err_free(e);
	e = NULL;

	is_int(jx_load_file(&j, dirfd, "nope.json", 0, 0, &e), ERR_NOTFOUND, "missing file");
	like(err_msg(e), "cannot open 'nope.json'", "missing file message");
	err_free(e);
	e = NULL;

	int p[2];
	ok(pipe(p) == 0, "pipe");
	ok(write_all(p[1], "{\"a\":1}", 7) == 0, "write to pipe");
	close(p[1]);
	is_int(jx_load_fd(&j, p[0], "stdin", 0, 0, &e), 0, "load from fd");
	is_int(json_integer_value(json_object_get(j, "a")), 1, "fd content");
	json_decref(j);
	close(p[0]);

	unlink(path);
	close(dirfd);
	rmdir(dir);
	free(path);
}

static json_t *parse(const char *s)
{
	json_t *j = NULL;
	struct err *e = NULL;
	if (jx_load_buffer(&j, s, strlen(s), "t.json", JX_ALLOW_NUL, &e) < 0) {
		diag("fixture: %s", err_msg(e));
		err_free(e);
		exit(1);
	}
	return j;
}

/* Run one getter call; return its message (or NULL) and free the error. */
#define GET_MSG(rc_var, msg_var, call)                                                  \
	do {                                                                           \
		struct err *e_ = NULL;                                                 \
		struct err **err = &e_;                                                \
		rc_var = (call);                                                       \
		free(msg_var);                                                         \
		msg_var = e_ != NULL ? xstrdup(err_msg(e_)) : NULL;                    \
		err_free(e_);                                                          \
	} while (0)

static void test_getters_string(void)
{
	json_t *m = parse("{\"mediaType\":\"x\",\"config\":{\"digest\":5,\"size\":null},"
			  "\"nul\":\"a\\u0000b\",\"n\":null}");
	json_t *cfg = json_object_get(m, "config");
	const char *s = "default";
	char *msg = NULL;
	int rc;

	GET_MSG(rc, msg, jx_get_string(&s, m, "mediaType", true, "", err));
	ok(rc == 0 && str_eq(s, "x"), "string read");
	s = "default";
	GET_MSG(rc, msg, jx_get_string(&s, m, "absent", false, NULL, err));
	ok(rc == 0 && str_eq(s, "default"), "optional absent keeps the default");
	GET_MSG(rc, msg, jx_get_string(&s, m, "n", false, NULL, err));
	ok(rc == 0 && str_eq(s, "default"), "optional null keeps the default");
	GET_MSG(rc, msg, jx_get_string(&s, m, "absent", true, NULL, err));
	is_str(msg, "missing required field 'absent'", "required absent");
	is_int(rc, ERR_INVALID, "required absent is ERR_INVALID");
	GET_MSG(rc, msg, jx_get_string(&s, cfg, "digest", true, "config", err));
	is_str(msg, "field 'config.digest' must be a string, not an integer", "wrong type");
	GET_MSG(rc, msg, jx_get_string(&s, cfg, "size", true, "config", err));
	is_str(msg, "field 'config.size' must be a string, not null", "required null");
	GET_MSG(rc, msg, jx_get_string(&s, m, "nul", true, NULL, err));
	is_str(msg, "field 'nul' must not contain NUL characters", "embedded NUL refused");
	ok(str_eq(s, "default"), "output untouched on error");

	GET_MSG(rc, msg, jx_get_string(&s, cfg, "digest", false, "config", err));
	is_str(msg, "field 'config.digest' must be a string, not an integer",
	       "optional field of the wrong type is still an error");
	struct err *e = NULL;
	jx_get_string(&s, cfg, "digest", true, "config", &e);
	err_wrap(&e, "%s", "manifest.json");
	is_str(err_msg(e), "manifest.json: field 'config.digest' must be a string, not an integer",
	       "callers add the document name");
	err_free(e);

	json_t *arr = json_array();
	GET_MSG(rc, msg, jx_get_string(&s, arr, "x", false, "", err));
	is_str(msg, "the document must be an object, not an array", "getter on a non-object");
	GET_MSG(rc, msg, jx_get_string(&s, NULL, "x", false, "layers[0]", err));
	is_str(msg, "missing required field 'layers[0]'", "getter on NULL");
	json_decref(arr);
	free(msg);
	json_decref(m);
}

static void test_getters_numbers(void)
{
	json_t *m = parse("{\"v\":1,\"r\":1.0,\"big\":9223372036854775807,\"neg\":-1,"
			  "\"t\":true,\"f\":false,\"s\":\"yes\"}");
	char *msg = NULL;
	int rc;
	int64_t i = -7;
	uint64_t u = 7;
	bool b = false;

	GET_MSG(rc, msg, jx_get_int64(&i, m, "v", true, 2, 2, "", err));
	is_str(msg, "field 'v' must be an integer from 2 to 2, not 1", "int64 below range");
	is_int(i, -7, "untouched on range error");
	GET_MSG(rc, msg, jx_get_int64(&i, m, "v", true, INT64_MIN, INT64_MAX, "", err));
	ok(rc == 0 && i == 1, "int64 in range");
	GET_MSG(rc, msg, jx_get_int64(&i, m, "r", true, 0, 10, "", err));
	is_str(msg, "field 'r' must be an integer, not a real number", "real is not an integer");
	GET_MSG(rc, msg, jx_get_int64(&i, m, "big", true, 0, 1000, "", err));
	is_str(msg, "field 'big' must be an integer from 0 to 1000, not 9223372036854775807",
	       "int64 above range");

	GET_MSG(rc, msg, jx_get_size(&u, m, "big", true, "", err));
	ok(rc == 0 && u == (uint64_t)INT64_MAX, "size up to INT64_MAX");
	GET_MSG(rc, msg, jx_get_size(&u, m, "neg", true, "layers[3]", err));
	is_str(msg, "field 'layers[3].neg' must not be negative, not -1", "negative size");
	GET_MSG(rc, msg, jx_get_size(&u, m, "s", true, "", err));
	is_str(msg, "field 's' must be an integer, not a string", "size of a string");

	GET_MSG(rc, msg, jx_get_bool(&b, m, "t", true, "", err));
	ok(rc == 0 && b, "true");
	GET_MSG(rc, msg, jx_get_bool(&b, m, "f", true, "", err));
	ok(rc == 0 && !b, "false");
	GET_MSG(rc, msg, jx_get_bool(&b, m, "s", true, "", err));
	is_str(msg, "field 's' must be a boolean, not a string", "\"yes\" is not a boolean");
	GET_MSG(rc, msg, jx_get_bool(&b, m, "v", true, "", err));
	is_str(msg, "field 'v' must be a boolean, not an integer", "1 is not a boolean");
	free(msg);
	json_decref(m);
}

static void test_getters_containers(void)
{
	json_t *m = parse("{\"config\":{\"Env\":[\"A=1\",2],\"Cmd\":[\"sh\",\"-c\"],"
			  "\"Entrypoint\":null,"
			  "\"Volumes\":[],\"Labels\":{\"a\":\"1\",\"b\":\"2\"}},"
			  "\"annotations\":{\"org.x\":{}},\"layers\":[{\"size\":1},\"x\"]}");
	json_t *cfg = NULL, *o = NULL;
	char **v = NULL;
	char *msg = NULL;
	int rc;

	GET_MSG(rc, msg, jx_get_object(&cfg, m, "config", true, "", err));
	ok(rc == 0 && json_is_object(cfg), "object");
	GET_MSG(rc, msg, jx_get_array(&o, m, "config", true, "", err));
	is_str(msg, "field 'config' must be an array, not an object", "array of an object");
	GET_MSG(rc, msg, jx_get_object(&o, m, "layers", true, "", err));
	is_str(msg, "field 'layers' must be an object, not an array", "object of an array");

	GET_MSG(rc, msg, jx_get_strv(&v, cfg, "Cmd", true, "config", err));
	ok(rc == 0 && strv_len(v) == 2 && str_eq(v[0], "sh") && str_eq(v[1], "-c"), "strv");
	strv_free(v);
	v = NULL;
	GET_MSG(rc, msg, jx_get_strv(&v, cfg, "Env", true, "config", err));
	is_str(msg, "field 'config.Env[1]' must be a string, not an integer", "strv element");
	ok(v == NULL, "strv untouched on error");
	GET_MSG(rc, msg, jx_get_strv(&v, cfg, "Entrypoint", false, "config", err));
	ok(rc == 0 && v == NULL, "null strv is absent");
	GET_MSG(rc, msg, jx_get_strv(&v, cfg, "Volumes", false, "config", err));
	ok(rc == 0 && v != NULL && v[0] == NULL, "empty array gives an empty strv");
	strv_free(v);

	GET_MSG(rc, msg, jx_get_strmap(&o, cfg, "Labels", true, "config", err));
	ok(rc == 0 && json_object_size(o) == 2, "string map");
	GET_MSG(rc, msg, jx_get_strmap(&o, m, "annotations", true, "", err));
	is_str(msg, "field 'annotations.org.x' must be a string, not an object",
	       "string map value");
	json_t *evil = parse("{\"a\":{\"k\\n\\u001b[31m\":1}}");
	GET_MSG(rc, msg, jx_get_strmap(&o, evil, "a", true, "", err));
	is_str(msg, "field 'a.k\\x0A\\x1B[31m' must be a string, not an integer",
	       "control characters of keys are escaped in messages");
	json_decref(evil);

	json_t *layers = json_object_get(m, "layers");
	char *p0 = jx_path_index("layers", 0);
	char *p1 = jx_path_index("layers", 1);
	is_str(p0, "layers[0]", "index path");
	GET_MSG(rc, msg, jx_expect(json_array_get(layers, 0), JSON_OBJECT, p0, err));
	is_int(rc, 0, "jx_expect ok");
	GET_MSG(rc, msg, jx_expect(json_array_get(layers, 1), JSON_OBJECT, p1, err));
	is_str(msg, "field 'layers[1]' must be an object, not a string", "jx_expect on an element");
	GET_MSG(rc, msg, jx_expect(m, JSON_ARRAY, "", err));
	is_str(msg, "the document must be an array, not an object", "jx_expect at the root");
	free(p0);
	free(p1);

	char *k = jx_path_key("", "a");
	is_str(k, "a", "key path at the root");
	free(k);
	k = jx_path_key("config", "Env");
	is_str(k, "config.Env", "key path nested");
	free(k);
	is_str(jx_type_name(JSON_FALSE), "a boolean", "type name");
	free(msg);
	json_decref(m);
}

/* Serialize j and compare with want. */
static void dumps(const json_t *j, unsigned flags, const char *want, const char *what)
{
	char *out = NULL;
	size_t len = 0;
	struct err *e = NULL;
	int rc = jx_dump(&out, &len, j, flags, &e);
	if (rc < 0)
		diag("dump failed: %s", err_msg(e));
	is_str(out, want, "dump: %s", what);
	ok(out == NULL || len == strlen(want), "dump length: %s", what);
	free(out);
	err_free(e);
}

static void dump_string(const char *s, size_t n, const char *want, const char *what)
{
	json_t *j = json_stringn(s, n);
	if (j == NULL)
		j = json_stringn_nocheck(s, n);
	dumps(j, 0, want, what);
	json_decref(j);
}

static void test_dump_strings(void)
{
	dump_string("plain", 5, "\"plain\"", "plain ASCII");
	dump_string("<a href=\"x\">&</a>", 17,
		    "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e\"",
		    "HTML characters escaped, slash not");
	dump_string("back\\slash", 10, "\"back\\\\slash\"", "backslash");
	dump_string("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"", "short escapes");
	dump_string("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"", "control chars; DEL as is");
	dump_string("a\0b", 3, "\"a\\u0000b\"", "NUL");
	dump_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", 14,
		    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3\"", "UTF-8 written raw");
	dump_string("\xe2\x80\xa8|\xe2\x80\xa9", 7, "\"\\u2028|\\u2029\"", "U+2028 and U+2029");
	dump_string("\xe2\x80\xaa", 3, "\"\xe2\x80\xaa\"", "U+202A is not escaped");
	dump_string("", 0, "\"\"", "empty string");

	static const struct {
		const char *s;
		size_t n;
		const char *what;
	} bad[] = {
		{"\xff", 1, "0xff"},
		{"\xc0\x80", 2, "overlong NUL"},
		{"\xed\xa0\x80", 3, "UTF-16 surrogate"},
		{"\xe2\x82", 2, "cut sequence"},
		{"\xf4\x90\x80\x80", 4, "above U+10FFFF"},
		{"a\x80", 2, "lone continuation byte"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *j = json_stringn_nocheck(bad[i].s, bad[i].n);
		char *out = NULL;
		struct err *e = NULL;
		is_int(jx_dump(&out, NULL, j, 0, &e), ERR_INVALID, "invalid UTF-8 refused: %s",
		       bad[i].what);
		ok(out == NULL, "no output: %s", bad[i].what);
		like(err_msg(e), "invalid UTF-8", "message: %s", bad[i].what);
		err_free(e);
		json_decref(j);
	}

	json_t *o = json_object();
	json_object_set_new(o, "<k>\n", json_string("v"));
	dumps(o, 0, "{\"\\u003ck\\u003e\\n\":\"v\"}", "keys escaped like strings");
	json_decref(o);
}

static void dump_real(double v, const char *want)
{
	json_t *j = json_real(v);
	dumps(j, 0, want, want);
	json_decref(j);
}

static void test_dump_numbers(void)
{
	json_t *a = json_pack("[I,I,I,I]", (json_int_t)0, (json_int_t)-1, (json_int_t)INT64_MAX,
			      (json_int_t)INT64_MIN);
	dumps(a, 0, "[0,-1,9223372036854775807,-9223372036854775808]", "integers");
	json_decref(a);

	/* Expected strings are what Go's json.Marshal(float64) writes. */
	dump_real(0.0, "0");
	dump_real(-0.0, "-0");
	dump_real(1.0, "1");
	dump_real(-2.5, "-2.5");
	dump_real(0.1, "0.1");
	dump_real(0.1 + 0.2, "0.30000000000000004");
	dump_real(100.5, "100.5");
	dump_real(123456789.125, "123456789.125");
	dump_real(1e20, "100000000000000000000");
	dump_real(1e21, "1e+21");
	dump_real(1.5e21, "1.5e+21");
	dump_real(1e23, "1e+23");
	dump_real(1e-6, "0.000001");
	dump_real(1e-7, "1e-7");
	dump_real(1.5e-7, "1.5e-7");
	dump_real(1.25e-10, "1.25e-10");
	dump_real(5e-324, "5e-324");
	dump_real(1.7976931348623157e308, "1.7976931348623157e+308");
	dump_real(9007199254740993.0, "9007199254740992");
	/* Powers of two where the closest short decimal does not read back
	 * but its upper neighbour does (Go picks that one). */
	dump_real(ldexp(1, -1017), "7.120236347223045e-307");
	dump_real(ldexp(1, -1007), "7.291122019556398e-304");

	/* jansson loads "1.0" as a real; it is written as Go writes 1.0. */
	json_t *j = parse("[1.0, 1E2, -0.0, 2.50]");
	dumps(j, 0, "[1,100,-0,2.5]", "loaded reals");
	json_decref(j);
}

static void test_dump_structure(void)
{
	json_t *o = json_object();
	json_object_set_new(o, "schemaVersion", json_integer(2));
	json_object_set_new(o, "mediaType",
			    json_string("application/vnd.oci.image.manifest.v1+json"));
	json_object_set_new(o, "b", json_true());
	json_object_set_new(o, "a", json_null());
	json_object_set_new(o, "B", json_false());
	json_object_set_new(o, "e", json_object());
	json_object_set_new(o, "l", json_array());
	dumps(o, 0,
	      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	      "\"b\":true,\"a\":null,\"B\":false,\"e\":{},\"l\":[]}",
	      "insertion order, no spaces");
	dumps(o, JX_SORT_KEYS,
	      "{\"B\":false,\"a\":null,\"b\":true,\"e\":{},\"l\":[],\"mediaType\":"
	      "\"application/vnd.oci.image.manifest.v1+json\",\"schemaVersion\":2}",
	      "sorted bytewise");
	dumps(o, JX_SORT_KEYS | JX_NEWLINE,
	      "{\"B\":false,\"a\":null,\"b\":true,\"e\":{},\"l\":[],\"mediaType\":"
	      "\"application/vnd.oci.image.manifest.v1+json\",\"schemaVersion\":2}\n",
	      "JX_NEWLINE");
	json_decref(o);

	json_t *keys = json_object();
	json_object_set_new(keys, "ab", json_integer(1));
	json_object_set_new(keys, "a", json_integer(2));
	json_object_set_new(keys, "\xc3\xa9", json_integer(3));
	json_object_set_new(keys, "z", json_integer(4));
	dumps(keys, JX_SORT_KEYS, "{\"a\":2,\"ab\":1,\"z\":4,\"\xc3\xa9\":3}",
	      "prefix sorts first, UTF-8 after ASCII");
	json_decref(keys);

	dumps(json_true(), 0, "true", "scalar document");

	/* A manifest as Go (containers/image) writes it: load + dump must give
	 * the same bytes, hence the same digest. */
	const char *manifest =
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"sha256:"
		"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":1469},"
		"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
		"\"digest\":\"sha256:"
		"2db29710123e3e53a794f2694094b9b4338aa9ee5c40b930cb8063a1be392c54\","
		"\"size\":2479}],"
		"\"annotations\":{\"org.opencontainers.image.title\":\"a \\u003cb\\u003e \\u0026 "
		"c/d\",\"z\":\"\\u2028\"}}";
	json_t *m = parse(manifest);
	dumps(m, 0, manifest, "Go-written manifest round-trips byte for byte");
	json_decref(m);
}

static void test_dump_errors(void)
{
	json_t *a = json_array(), *b = json_array();
	json_array_append(a, b);
	json_array_append(b, a);
	char *out = NULL;
	struct err *e = NULL;
	is_int(jx_dump(&out, NULL, a, 0, &e), ERR_INVALID, "cycle refused");
	like(err_msg(e), "nested deeper than 2048 levels", "cycle message");
	err_free(e);
	e = NULL;
	json_array_clear(b);
	json_decref(b);
	json_decref(a);

	json_t *s = json_string("0123456789");
	struct buf buf;
	buf_init(&buf, 8);
	buf_addstr(&buf, "ab", NULL);
	is_int(jx_dump_buf(&buf, s, 0, &e), ERR_TOOBIG, "buffer cap");
	err_free(e);
	e = NULL;
	buf_release(&buf);
	buf_init(&buf, 64);
	buf_addstr(&buf, "x=", NULL);
	is_int(jx_dump_buf(&buf, s, 0, &e), 0, "dump appends to a buffer");
	is_str(buf_str(&buf), "x=\"0123456789\"", "appended after existing content");
	buf_release(&buf);
	json_decref(s);
}

static void test_cleanup(void)
{
	cleanup_json json_t *j = json_object();
	ok(j != NULL, "cleanup_json compiles and frees (ASan checks the leak)");
}

int main(void)
{
	test_load_ok();
	test_load_errors();
	test_load_hostile();
	test_load_fd_file();
	test_getters_string();
	test_getters_numbers();
	test_getters_containers();
	test_dump_strings();
	test_dump_numbers();
	test_dump_structure();
	test_dump_errors();
	test_cleanup();
	return tap_done();
}
