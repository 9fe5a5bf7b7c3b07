/* The parser API beyond the case files: flag lookup, heredoc chomping,
 * --mount values with and without an expander, durations, limits, and the
 * text dump. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/util.h"
#include "parser/expand.h"
#include "parser/parser.h"
#include "tests/tap.h"

static struct cf_file *parse(const char *text)
{
	struct cf_file *f = NULL;
	struct err *err = NULL;
	if (cf_parse(text, strlen(text), "Containerfile", &f, &err) < 0) {
		diag("parse: %s", err_msg(err));
		err_free(err);
		return NULL;
	}
	return f;
}

static void check_flags_and_heredocs(void)
{
	struct cf_file *f = parse("FROM --platform=linux/amd64 a AS b\n"
				  "COPY --link --exclude=x --exclude=y s d\n"
				  "RUN <<-EOF\n\tone\n\t\ttwo\nEOF\n");
	if (!ok(f != NULL, "parses"))
		return;
	is_str(cf_instruction_flag(&f->instructions[0], "platform"), "linux/amd64", "string flag");
	is_str(cf_instruction_flag(&f->instructions[1], "exclude"), "y", "last value wins");
	is_str(cf_instruction_flag(&f->instructions[1], "link"), "", "bool flag without value");
	ok(cf_instruction_flag(&f->instructions[1], "chown") == NULL, "absent flag");
	cleanup_free char *body = cf_heredoc_chomped(&f->instructions[2].heredocs[0]);
	is_str(body, "one\ntwo\n", "<<- strips leading tabs of every line");
	is_str(f->stages[0].name, "b", "stage name");
	is_str(f->stages[0].platform, "linux/amd64", "stage platform");
	is_int(f->stages[0].count, 3, "stage holds its instructions");
	struct buf b;
	buf_init(&b, 1u << 20);
	cf_file_to_text(f, &b, NULL);
	like(buf_str(&b), "(copy [\"--link\" \"--exclude=x\" \"--exclude=y\"] \"s\" \"d\")", "text dump");
	buf_release(&b);
	cf_file_free(f);
}

static int upper_expander(void *ctx, const char *word, char **out, struct err **err)
{
	(void)err;
	struct cf_env *env = ctx;
	struct cf_lex lx = { .escape = '\\' };
	return cf_expand_word(&lx, word, env, out, err);
}

static void check_mounts(void)
{
	struct cf_mount m;
	struct err *err = NULL;
	ok(cf_mount_parse("type=cache,target=/c,id=go,sharing=locked,uid=1,mode=0700", NULL, NULL, &m, &err) == 0,
	   "cache mount");
	is_int(m.type, CF_MOUNT_CACHE, "type");
	is_str(m.target, "/c", "target");
	is_str(m.sharing, "locked", "sharing");
	ok(m.has_mode && m.mode == 0700 && m.uid == 1, "mode is octal, uid decimal");
	ok(!m.readonly, "cache mounts are writable by default");
	cf_mount_release(&m);
	ok(cf_mount_parse("target=/src", NULL, NULL, &m, &err) == 0 && m.type == CF_MOUNT_BIND && m.readonly,
	   "bind is the default type and read-only by default");
	cf_mount_release(&m);
	ok(cf_mount_parse("type=tmpfs,target=/t,size=1.5g", NULL, NULL, &m, &err) == 0 &&
		   m.size == (int64_t)(1.5 * 1024 * 1024 * 1024),
	   "tmpfs size in binary units");
	cf_mount_release(&m);

	struct cf_env *env = cf_env_new();
	cf_env_set(env, "T", "secret");
	ok(cf_mount_parse("type=$T,id=tok", NULL, NULL, &m, &err) == 0, "a variable defers the check");
	cf_mount_release(&m);
	ok(cf_mount_parse("type=$T,id=tok", upper_expander, env, &m, &err) == 0 && m.type == CF_MOUNT_SECRET,
	   "with an expander the value is expanded first");
	cf_mount_release(&m);
	cf_env_set(env, "T", "nope");
	ok(cf_mount_parse("type=$T,id=tok", upper_expander, env, &m, &err) < 0, "and then judged");
	like(err_msg(err), "unsupported mount type \"nope\"", "with BuildKit's message");
	err_free(err);
	err = NULL;
	cf_env_free(env);
}

static void check_durations(void)
{
	static const struct {
		const char *s;
		int64_t ns;
	} good[] = {
		{ "0", 0 }, { "1s", 1000000000 }, { "1m30s", 90000000000LL }, { "1.5h", 5400000000000LL },
		{ "500ms", 500000000 }, { "-1s", -1000000000 }, { "2us", 2000 }, { "1h2m3s4ms5us6ns", 3723004005006LL },
		{ ".5s", 500000000 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		int64_t d = 0;
		ok(cf_parse_duration(good[i].s, &d, NULL) == 0 && d == good[i].ns, "duration %s", good[i].s);
	}
	static const char *const bad[] = { "", "5", "1x", "s", "1.s.", "-", "9999999999h" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t d;
		ok(cf_parse_duration(bad[i], &d, NULL) == ERR_INVALID, "bad duration '%s'", bad[i]);
	}
}

/* "FROM a\nRUN " making a physical line of `len` bytes, then eol and, when
 * eol is not empty, one more instruction. */
static int parse_long_line(size_t len, const char *eol, struct err **err)
{
	struct buf b;
	buf_init(&b, 4u << 20);
	buf_addstr(&b, "FROM a\nRUN ", NULL);
	for (size_t i = 4; i < len; i++)
		buf_addch(&b, 'x', NULL);
	if (*eol != '\0') {
		buf_addstr(&b, eol, NULL);
		buf_addstr(&b, "USER u\n", NULL);
	}
	struct cf_file *f = NULL;
	int rc = cf_parse(buf_str(&b), b.len, "long", &f, err);
	cf_file_free(f);
	buf_release(&b);
	return rc;
}

static void check_limits(void)
{
	/* A logical line over BALE_MAX_LINE made of physical lines BuildKit
	 * accepts (each under 64 KiB, joined by continuations). */
	struct buf b;
	buf_init(&b, 4u << 20);
	buf_addstr(&b, "FROM a\nRUN ", NULL);
	while (b.len <= BALE_MAX_LINE + 16) {
		for (size_t i = 0; i < 60000; i++)
			buf_addch(&b, 'x', NULL);
		buf_addstr(&b, " \\\n", NULL);
	}
	buf_addstr(&b, "true\n", NULL);
	struct cf_file *f = NULL;
	struct err *err = NULL;
	is_int(cf_parse(buf_str(&b), b.len, "big", &f, &err), ERR_TOOBIG, "a logical line over BALE_MAX_LINE");
	like(err_msg(err), "big:2:1:", "names the line");
	err_free(err);
	buf_release(&b);

	/* BuildKit's bufio.Scanner stops at 64 KiB: a physical line of more
	 * than 65535 bytes (newline excluded) fails the build. */
	err = NULL;
	is_int(parse_long_line(65535, "\n", &err), 0, "a physical line of 65535 bytes parses");
	err_free(err);
	err = NULL;
	is_int(parse_long_line(65534, "\r\n", &err), 0, "65534 bytes and CRLF parse (the CR counts)");
	err_free(err);
	err = NULL;
	is_int(parse_long_line(65535, "\r\n", &err), ERR_INVALID, "65535 bytes and CRLF is one too many");
	err_free(err);
	err = NULL;
	is_int(parse_long_line(65536, "\n", &err), ERR_INVALID, "a physical line of 65536 bytes is refused");
	is_str(err_msg(err), "long:2:1: dockerfile line greater than max allowed size of 65535",
	       "with BuildKit's message, naming the line");
	err_free(err);
	err = NULL;
	is_int(parse_long_line(65536, "", &err), ERR_INVALID, "also without a final newline");
	err_free(err);
}

static void check_kinds(void)
{
	is_int(cf_kind_lookup("healthCHECK", 11), CF_HEALTHCHECK, "keywords are case-insensitive");
	is_int(cf_kind_lookup("RUNX", 4), CF_UNKNOWN, "unknown keyword");
	ok(cf_kind_expands(CF_WORKDIR) && !cf_kind_expands(CF_CMD) && !cf_kind_expands(CF_ENTRYPOINT),
	   "which instructions expand");
	struct buf b;
	buf_init(&b, 1024);
	cf_json_add_string(&b, "a\"\\\n\x01\xff\xe2\x80\xa8", 9, NULL);
	is_str(buf_str(&b), "\"a\\\"\\\\\\n\\u0001\\ufffd\\u2028\"", "JSON string escaping");
	buf_release(&b);
}

int main(void)
{
	check_flags_and_heredocs();
	check_mounts();
	check_durations();
	check_limits();
	check_kinds();
	return tap_done();
}
