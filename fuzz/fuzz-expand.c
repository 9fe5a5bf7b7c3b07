/* Fuzz the variable expander (BuildKit's shell lexer).
 *
 * The input is "ENV\0WORD": ENV holds K=V lines, WORD is expanded with every
 * combination of lexer options.
 * Invariants (a violation aborts):
 * - expansion never crashes; a failure is ERR_INVALID with a message that
 *   starts with "failed to process ";
 * - cf_expand_word and cf_expand_words agree on success or failure;
 * - no word of cf_expand_words is empty, and without a variable, quote or
 *   escape in the input, expansion is the identity on non-space text. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "parser/expand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static void run(const struct cf_lex *lx, const char *word, const struct cf_env *env)
{
	char *value = NULL;
	char **words = NULL;
	struct err *e1 = NULL, *e2 = NULL;
	int r1 = cf_expand_word(lx, word, env, &value, &e1);
	int r2 = cf_expand_words(lx, word, env, &words, &e2);
	if ((r1 < 0) != (r2 < 0))
		abort();
	if (r1 < 0) {
		if (e1 == NULL || e1->code != ERR_INVALID || strncmp(e1->msg, "failed to process ", 18) != 0)
			abort();
	} else {
		for (size_t i = 0; words[i] != NULL; i++)
			if (words[i][0] == '\0')
				abort();
		if (ascii(word) && strpbrk(word, "$'\"\\`<") == NULL && strcmp(value, word) != 0)
			abort();
	}
	free(value);
	strv_free(words);
	err_free(e1);
	err_free(e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cleanup_free char *copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	char *word = copy;
	struct cf_env *env = cf_env_new();
	char *sep = memchr(copy, '\0', size);
	if (sep != NULL && sep < copy + size) {
		word = sep + 1;
		char *line = copy;
		while (line < sep) {
			char *nl = strchr(line, '\n');
			if (nl != NULL)
				*nl = '\0';
			if (*line != '\0')
				cf_env_put(env, line);
			if (nl == NULL)
				break;
			line = nl + 1;
		}
	}
	for (int opts = 0; opts < 32; opts++) {
		struct cf_lex lx = {
			.escape = opts & 1 ? '`' : '\\',
			.raw_quotes = opts & 2,
			.raw_escapes = opts & 4,
			.skip_unset = opts & 8,
			.skip_quotes = opts & 16,
		};
		run(&lx, word, env);
	}
	cf_env_free(env);
	return 0;
}
