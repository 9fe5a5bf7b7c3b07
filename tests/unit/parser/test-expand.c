/* Drives testdata/parser/expand.jsonl through cf_expand_word() and
 * cf_expand_words(). */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"
#include "parser/expand.h"
#include "tests/tap.h"

static char *join_words(char **w)
{
	struct buf b;
	buf_init(&b, 1u << 20);
	buf_addch(&b, '[', NULL);
	for (size_t i = 0; w != NULL && w[i] != NULL; i++)
		buf_addf(&b, NULL, "%s\"%s\"", i ? ", " : "", w[i]);
	buf_addch(&b, ']', NULL);
	return buf_detach(&b, NULL);
}

static char *json_words(json_t *a)
{
	size_t n = json_array_size(a);
	char **w = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		w[i] = (char *)json_string_value(json_array_get(a, i));
	char *s = join_words(w);
	free(w);
	return s;
}

static void run_row(json_t *row, size_t lineno)
{
	struct cf_lex lx = { .escape = '\\' };
	const char *esc = json_string_value(json_object_get(row, "escape"));
	if (esc != NULL)
		lx.escape = esc[0];
	struct cf_env *env = cf_env_new();
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(row, "env"), k, v)
		cf_env_set(env, k, json_string_value(v));
	const char *word = json_string_value(json_object_get(row, "word"));
	const char *words = json_string_value(json_object_get(row, "words"));
	json_t *expect = json_object_get(row, "expect");
	const char *want_err = json_string_value(json_object_get(row, "error"));
	struct err *err = NULL;
	const char *in = word != NULL ? word : words;
	if (word != NULL) {
		char *out = NULL;
		int rc = cf_expand_word(&lx, word, env, &out, &err);
		if (want_err != NULL)
			like(rc < 0 ? err_msg(err) : out, want_err, "line %zu: word '%s' fails", lineno, in);
		else
			is_str(rc == 0 ? out : err_msg(err), json_string_value(expect), "line %zu: word '%s'", lineno, in);
		free(out);
	} else {
		char **out = NULL;
		int rc = cf_expand_words(&lx, words, env, &out, &err);
		cleanup_free char *got = rc == 0 ? join_words(out) : xstrdup(err_msg(err));
		if (want_err != NULL) {
			like(got, want_err, "line %zu: words '%s' fail", lineno, in);
		} else {
			cleanup_free char *want = json_words(expect);
			is_str(got, want, "line %zu: words '%s'", lineno, in);
		}
		strv_free(out);
	}
	err_free(err);
	cf_env_free(env);
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	cleanup_free char *path = xasprintf("%s/testdata/parser/expand.jsonl", top ? top : TOP_SRCDIR);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		tap_skip_all("cannot open %s", path);
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		json_error_t je;
		json_t *row = json_loads(line, 0, &je);
		if (!ok(row != NULL, "line %zu is JSON", lineno)) {
			diag("%s", je.text);
			continue;
		}
		run_row(row, lineno);
		json_decref(row);
	}
	free(line);
	fclose(f);
	return tap_done();
}
