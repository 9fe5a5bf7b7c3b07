#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log-internal.h"
#include "common/log.h"
#include "common/util.h"
#include "tests/tap.h"

/* 2026-11-29T07:28:09.123Z */
#define FIXED_NS INT64_C(1795937289123000000)

static int out_fd = -1;

static int64_t fixed_clock(void)
{
	return FIXED_NS;
}

/* Everything logged since the last call (the caller frees). */
static char *drain(void)
{
	off_t end = lseek(out_fd, 0, SEEK_END);
	char *s = xmalloc((size_t)end + 1);
	ssize_t n = pread(out_fd, s, (size_t)end, 0);
	s[n < 0 ? 0 : n] = '\0';
	if (ftruncate(out_fd, 0) < 0)
		abort();
	return s;
}

static void expect(const char *want, const char *what)
{
	char *got = drain();
	is_str(got, want, "%s", what);
	free(got);
}

/* The first line of s parses as a JSON object; returns it (caller decrefs). */
static json_t *parse_json(const char *s)
{
	json_error_t jerr;
	json_t *j = json_loads(s, JSON_DISABLE_EOF_CHECK, &jerr);
	if (j == NULL)
		diag("json: %s at %d", jerr.text, jerr.position);
	return j;
}

static const char *json_str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static void test_parse(void)
{
	enum log_level level = LOG_LEVEL_ERROR;
	enum log_format format = LOG_FORMAT_TEXT;
	struct err *err = NULL;
	static const struct {
		const char *s;
		enum log_level want;
	} cases[] = {
	        {"error", LOG_LEVEL_ERROR}, {"WARN", LOG_LEVEL_WARN},   {"Warning", LOG_LEVEL_WARN},
	        {"info", LOG_LEVEL_INFO},   {"debug", LOG_LEVEL_DEBUG}, {"TRACE", LOG_LEVEL_TRACE},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		level = LOG_LEVEL_ERROR;
		int rc = log_level_parse(cases[i].s, &level, NULL);
		ok(rc == 0 && level == cases[i].want, "level '%s' parses", cases[i].s);
	}
	level = LOG_LEVEL_INFO;
	is_int(log_level_parse("verbose", &level, &err), ERR_INVALID,
	       "an unknown level is invalid");
	like(err_msg(err), "unknown log level 'verbose'", "the message quotes the value");
	like(err_msg(err), "error, warn, info, debug or trace", "and lists the accepted levels");
	is_int(level, LOG_LEVEL_INFO, "the output is untouched on error");
	err_freep(&err);
	is_int(log_level_parse("", &level, NULL), ERR_INVALID, "an empty level is invalid");
	is_int(log_level_parse("info ", &level, NULL), ERR_INVALID, "no whitespace is trimmed");
	is_int(log_level_parse(NULL, &level, NULL), ERR_INVALID, "NULL is invalid, not a crash");
	is_str(log_level_name(LOG_LEVEL_WARN), "warn", "level name");
	is_str(log_level_name((enum log_level)42), "unknown", "out-of-range level name");

	ok(log_format_parse("LOGFMT", &format, NULL) == 0 && format == LOG_FORMAT_LOGFMT,
	   "format logfmt parses");
	ok(log_format_parse("json", &format, NULL) == 0 && format == LOG_FORMAT_JSON,
	   "json parses");
	ok(log_format_parse("text", &format, NULL) == 0 && format == LOG_FORMAT_TEXT,
	   "text parses");
	is_int(log_format_parse("yaml", &format, &err), ERR_INVALID,
	       "an unknown format is invalid");
	like(err_msg(err), "'yaml' (expected text, logfmt or json)",
	     "format message lists formats");
	err_freep(&err);
	is_str(log_format_name(LOG_FORMAT_JSON), "json", "format name");
}

static int side_effects;

static int bump(void)
{
	return ++side_effects;
}

static void test_text_and_levels(void)
{
	is_int(log_threshold, LOG_LEVEL_WARN, "the default threshold is warn");
	log_error("cannot open '%s'", "Containerfile");
	expect("bale: error: cannot open 'Containerfile'\n", "text error line");
	log_warn("disk %d%% full", 91);
	expect("bale: warning: disk 91% full\n", "text says 'warning' for warn");
	log_info("hidden %d", bump());
	log_debug("hidden %d", bump());
	log_trace("hidden %d", bump());
	expect("", "events above the threshold write nothing");
	is_int(side_effects, 0, "and do not evaluate their arguments");
	struct log_field f[] = {{"n", "1"}};
	log_fields(LOG_LEVEL_DEBUG, f, ARRAY_SIZE(f), "hidden %d", bump());
	is_int(side_effects, 0, "log_fields checks the level first too");
	log_event(LOG_LEVEL_INFO, NULL, 0, "direct %d", 1);
	expect("", "log_event itself drops events above the threshold");
	ok(!log_enabled(LOG_LEVEL_INFO) && log_enabled(LOG_LEVEL_WARN), "log_enabled");

	log_set_level(LOG_LEVEL_DEBUG);
	log_info("step %d", bump());
	log_debug("detail");
	log_trace("not shown");
	expect("bale: info: step 1\nbale: debug: detail\n", "info and debug at debug level");
	is_int(side_effects, 1, "an enabled event evaluates its arguments once");
	log_set_level(LOG_LEVEL_TRACE);
	log_trace("t");
	expect("bale: trace: t\n", "trace at trace level");
	log_set_level(LOG_LEVEL_WARN);

	errno = ENOENT;
	log_error("x");
	is_int(errno, ENOENT, "logging keeps errno");
	free(drain());
}

static void test_text_fields_and_escapes(void)
{
	struct log_field f[] = {
	        {"repo", "team/app"}, {"note", "a b"},  {"empty", ""}, {"null", NULL},
	        {"q", "say \"hi\""},  {"bad key", "v"}, {"eq", "a=b"},
	};
	log_fields(LOG_LEVEL_ERROR, f, ARRAY_SIZE(f), "push failed");
	expect("bale: error: push failed repo=team/app note=\"a b\" empty=\"\" null=\"\" "
	       "q=\"say \\\"hi\\\"\" bad_key=v eq=\"a=b\"\n",
	       "text fields use logfmt quoting");

	log_error("line1\nline2\r\x1b[31mred\ttab\x7f \"q\" \\ \xc2\x9b \xff");
	expect("bale: error: line1\\nline2\\r\\u001b[31mred\\ttab\\u007f \"q\" \\ \\u009b "
	       "\xef\xbf\xbd\n",
	       "text escapes controls, C1 and invalid UTF-8 but keeps quotes");
	log_error("%s", "");
	expect("bale: error: \n", "empty message");
}

static void test_logfmt(void)
{
	log_set_format(LOG_FORMAT_LOGFMT);
	log_error("hello");
	expect("time=2026-11-29T07:28:09.123Z level=error msg=hello\n", "logfmt bare message");
	struct log_field f[] = {
	        {"method", "GET"},      {"path", "/v2/a b"}, {"ua", "x\"y\\z"}, {"nl", "a\nb"},
	        {"ctl", "\x01"},        {"eq", "k=v"},       {"empty", NULL},   {"bs", "a\\b"},
	        {"utf", "caf\xc3\xa9"}, {"bad", "\xc3"},
	};
	log_fields(LOG_LEVEL_WARN, f, ARRAY_SIZE(f), "request done");
	expect("time=2026-11-29T07:28:09.123Z level=warn msg=\"request done\" method=GET "
	       "path=\"/v2/a b\" ua=\"x\\\"y\\\\z\" nl=\"a\\nb\" ctl=\"\\u0001\" eq=\"k=v\" "
	       "empty=\"\" bs=a\\b utf=caf\xc3\xa9 bad=\"\xef\xbf\xbd\"\n",
	       "logfmt quoting and escaping");
	log_error("%s", "");
	expect("time=2026-11-29T07:28:09.123Z level=error msg=\"\"\n", "empty message is \"\"");
	log_set_format(LOG_FORMAT_TEXT);
}

static void test_json(void)
{
	log_set_format(LOG_FORMAT_JSON);
	struct log_field f[] = {{"repo", "team/app"}, {"digest", NULL}};
	log_fields(LOG_LEVEL_ERROR, f, ARRAY_SIZE(f), "pushed");
	expect("{\"time\":\"2026-11-29T07:28:09.123Z\",\"level\":\"error\",\"msg\":\"pushed\","
	       "\"repo\":\"team/app\",\"digest\":\"\"}\n",
	       "json line");

	log_error("q\" b\\ n\n t\t c\x01 e\x1b d\x7f c1\xc2\x85 "
	          "ok\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	expect("{\"time\":\"2026-11-29T07:28:09.123Z\",\"level\":\"error\",\"msg\":\"q\\\" b\\\\ "
	       "n\\n t\\t c\\u0001 e\\u001b d\\u007f c1\\u0085 "
	       "ok\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}\n",
	       "json escapes, valid multibyte UTF-8 kept");

	/* One U+FFFD per maximal invalid subpart (Unicode 3.9, table 3-8). */
	static const struct {
		const char *in, *out, *what;
	} bad[] = {
	        {"\xff", "\xef\xbf\xbd", "a byte never valid"},
	        {"\x80", "\xef\xbf\xbd", "a lone continuation byte"},
	        {"\xe2\x82", "\xef\xbf\xbd", "a truncated sequence is one replacement"},
	        {"\xe2\x82x", "\xef\xbf\xbdx", "a cut sequence before ASCII"},
	        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", "an overlong '/' is two"},
	        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "a 3-byte overlong"},
	        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "a UTF-16 surrogate"},
	        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	         "above U+10FFFF"},
	        {"\xf0\x9f\x98", "\xef\xbf\xbd", "a 4-byte sequence cut short"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct log_field bf[] = {{"v", bad[i].in}};
		log_fields(LOG_LEVEL_ERROR, bf, 1, "m");
		char *got = drain();
		char *want = xasprintf("{\"time\":\"2026-11-29T07:28:09.123Z\",\"level\":\"error\","
		                       "\"msg\":\"m\",\"v\":\"%s\"}\n",
		                       bad[i].out);
		is_str(got, want, "invalid UTF-8: %s", bad[i].what);
		json_t *j = parse_json(got);
		ok(j != NULL, "and the line is valid JSON");
		json_decref(j);
		free(want);
		free(got);
	}

	struct log_field kf[] = {{"we\"ird\n", "v"}};
	log_fields(LOG_LEVEL_ERROR, kf, 1, "k");
	char *got = drain();
	json_t *j = parse_json(got);
	is_str(json_str(j, "we\"ird\n"), "v", "json keys are escaped too");
	json_decref(j);
	free(got);
	log_set_format(LOG_FORMAT_TEXT);
}

/* A long line of each format: bounded, marked, and still well-formed. */
static void test_truncation(void)
{
	size_t big = BALE_MAX_LOG_LINE + 4000;
	char *msg = xmalloc(big + 1);
	memset(msg, 'a', big);
	msg[big] = '\0';

	log_error("%s", msg);
	char *got = drain();
	size_t n = strlen(got);
	ok(n <= BALE_MAX_LOG_LINE, "text line is bounded (%zu bytes)", n);
	is_int(n, BALE_MAX_LOG_LINE - LOG_LINE_TAIL + 4, "text fills the line up to the tail");
	ok(str_has_prefix(got, "bale: error: aaaa") && str_has_suffix(got, "aaa...\n"),
	   "text cut ends in ...");
	ok(strchr(got, '\n') == got + n - 1, "one newline only");
	free(got);

	log_set_format(LOG_FORMAT_JSON);
	struct log_field f[] = {{"after", "dropped"}};
	log_fields(LOG_LEVEL_ERROR, f, 1, "%s", msg);
	got = drain();
	n = strlen(got);
	ok(n <= BALE_MAX_LOG_LINE && str_has_suffix(got, "aaa...\"}\n"),
	   "json msg cut ends in ...\"}");
	json_t *j = parse_json(got);
	ok(j != NULL && json_object_get(j, "after") == NULL,
	   "cut json parses; later fields dropped");
	json_decref(j);
	free(got);

	/* Six-byte escapes and multibyte characters are never split. */
	static const char *const fill[] = {"\x01", "\xc3\xa9", "\xf0\x9f\x98\x80", "\"", "\xff"};
	for (size_t k = 0; k < ARRAY_SIZE(fill); k++) {
		size_t w = strlen(fill[k]), reps = BALE_MAX_LOG_LINE / w + 7;
		char *v = xmalloc(reps * w + 1);
		for (size_t i = 0; i < reps; i++)
			memcpy(v + i * w, fill[k], w);
		v[reps * w] = '\0';
		struct log_field vf[] = {{"v", v}, {"after", "x"}};
		log_fields(LOG_LEVEL_ERROR, vf, 2, "m");
		got = drain();
		j = parse_json(got);
		ok(j != NULL && strlen(got) <= BALE_MAX_LOG_LINE && str_has_suffix(got, "...\"}\n"),
		   "json value of repeated %zu-byte units cut cleanly", w);
		json_decref(j);
		free(got);
		free(v);
	}

	/* The message nearly fills the line: a field's key no longer fits. */
	char *key = xmalloc(301);
	memset(key, 'k', 300);
	key[300] = '\0';
	size_t fit = BALE_MAX_LOG_LINE - 200;
	struct log_field kf[] = {{key, "v"}};
	log_fields(LOG_LEVEL_ERROR, kf, 1, "%.*s", (int)fit, msg);
	got = drain();
	j = parse_json(got);
	ok(j != NULL && json_object_size(j) == 3, "json field that does not fit is left out whole");
	ok(str_has_suffix(got, "aaa\"}\n"), "and the message stays complete");
	json_decref(j);
	free(got);

	log_set_format(LOG_FORMAT_LOGFMT);
	log_fields(LOG_LEVEL_ERROR, kf, 1, "%.*s", (int)fit, msg);
	got = drain();
	ok(str_has_suffix(got, "aaa ...\n") && strstr(got, "kkk") == NULL,
	   "logfmt pair that does not fit becomes a bare ...");
	free(got);
	struct log_field qf[] = {{"v", msg}};
	log_fields(LOG_LEVEL_ERROR, qf, 1, "two words");
	got = drain();
	ok(strlen(got) <= BALE_MAX_LOG_LINE && strstr(got, " v=aaa") != NULL &&
	           str_has_suffix(got, "aaa...\n"),
	   "logfmt bare value cut ends in ...");
	free(got);
	msg[10] = ' ';
	log_fields(LOG_LEVEL_ERROR, qf, 1, "two words");
	got = drain();
	ok(strlen(got) <= BALE_MAX_LOG_LINE && str_has_suffix(got, "aaa...\"\n") &&
	           strstr(got, " v=\"aaaaaaaaaa a") != NULL,
	   "logfmt quoted value cut keeps the closing quote");
	free(got);
	log_set_format(LOG_FORMAT_TEXT);
	free(key);
	free(msg);
}

static void test_time(void)
{
	char t[LOG_TIME_SIZE];
	log_format_time(0, t);
	is_str(t, "1970-01-01T00:00:00.000Z", "epoch");
	log_format_time(-1, t);
	is_str(t, "1969-12-31T23:59:59.999Z", "just before the epoch rounds down");
	log_format_time(FIXED_NS + 876999999, t);
	is_str(t, "2026-11-29T07:28:09.999Z", "milliseconds are truncated, not rounded");
	log_format_time(INT64_MAX, t);
	is_str(t, "2262-04-11T23:47:16.854Z", "the largest time");

	log_set_clock(NULL);
	log_set_format(LOG_FORMAT_LOGFMT);
	log_error("now");
	char *got = drain();
	ok(strlen(got) == strlen("time=2026-11-29T07:28:09.123Z level=error msg=now\n") &&
	           got[28] == 'Z' && got[15] == 'T',
	   "the real clock gives an RFC 3339 time: %s", got);
	free(got);
	log_set_format(LOG_FORMAT_TEXT);
	log_set_clock(fixed_clock);
}

static void test_env(void)
{
	struct err *err = NULL;

	unsetenv("BALE_LOG");
	log_set_level(LOG_LEVEL_WARN);
	is_int(log_init_from_env(NULL), 0, "no BALE_LOG is fine");
	is_int(log_threshold, LOG_LEVEL_WARN, "and changes nothing");
	setenv("BALE_LOG", "debug", 1);
	is_int(log_init_from_env(NULL), 0, "BALE_LOG=debug");
	is_int(log_threshold, LOG_LEVEL_DEBUG, "sets the level");
	setenv("BALE_LOG", "Warning", 1);
	log_init_from_env(NULL);
	is_int(log_threshold, LOG_LEVEL_WARN, "BALE_LOG=Warning");
	setenv("BALE_LOG", "", 1);
	log_set_level(LOG_LEVEL_INFO);
	is_int(log_init_from_env(NULL), 0, "an empty BALE_LOG counts as unset");
	is_int(log_threshold, LOG_LEVEL_INFO, "and keeps the level");
	setenv("BALE_LOG", "loud", 1);
	is_int(log_init_from_env(&err), ERR_INVALID, "a bad BALE_LOG is invalid");
	like(err_msg(err), "unknown log level 'loud'", "the message names the value");
	ok(strstr(err_msg(err), "BALE_LOG") == NULL,
	   "and leaves naming the variable to the caller");
	is_int(log_threshold, LOG_LEVEL_INFO, "a bad value keeps the level");
	err_freep(&err);
	setenv("BALE_LOG", "debug,json", 1);
	is_int(log_init_from_env(NULL), ERR_INVALID, "only a level name is accepted");
	unsetenv("BALE_LOG");
	log_set_level(LOG_LEVEL_WARN);
}

#define THREAD_LINES 300

static void *log_thread(void *arg)
{
	char id[16];
	snprintf(id, sizeof(id), "t%d", (int)(intptr_t)arg);
	for (int i = 0; i < THREAD_LINES; i++) {
		struct log_field f[] = {{"thread", id},
		                        {"pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}};
		log_fields(LOG_LEVEL_ERROR, f, 2, "event %d from %s", i, id);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[4];

	log_set_format(LOG_FORMAT_JSON);
	for (intptr_t i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, log_thread, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	char *got = drain();
	int lines = 0, valid = 0;
	for (char *line = got, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		json_t *j = json_loads(line, 0, NULL);
		valid += j != NULL && json_str(j, "thread") != NULL;
		json_decref(j);
		lines++;
	}
	is_int(lines, 4 * THREAD_LINES, "4 threads: every event is one line");
	is_int(valid, 4 * THREAD_LINES, "no line is interleaved with another");
	free(got);
	log_set_format(LOG_FORMAT_TEXT);
}

int main(void)
{
	out_fd = memfd_create("log", MFD_CLOEXEC);
	if (out_fd < 0)
		tap_skip_all("memfd_create: %s", strerror(errno));
	/* O_APPEND: concurrent writers never overwrite each other's lines */
	fcntl(out_fd, F_SETFL, O_APPEND);
	log_set_fd(out_fd);
	log_set_clock(fixed_clock);

	test_text_and_levels();
	test_parse();
	test_text_fields_and_escapes();
	test_logfmt();
	test_json();
	test_truncation();
	test_time();
	test_env();
	test_threads();
	close(out_fd);
	return tap_done();
}
