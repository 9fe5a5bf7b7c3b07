/* Quote removal and variable expansion of Containerfile words, following
 * BuildKit's shell lexer (frontend/dockerfile/shell): $v ${v} ${v:-w} ${v-w}
 * ${v:+w} ${v+w} ${v:?e} ${v?e} ${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r}
 * ${v//p/r}, the escape character, single quotes (no expansion), double
 * quotes, and word splitting.
 *
 * The parse tree (parser/parser.h) keeps words as written; the builder calls
 * these with the environment of the step being built. */
#ifndef BALE_PARSER_EXPAND_H
#define BALE_PARSER_EXPAND_H

#include <stdbool.h>

#include "common/error.h"

/* A set of variables (ARG and ENV values in scope). Later sets win. */
struct cf_env;

/* A new empty set; free with cf_env_free(). Never NULL. */
struct cf_env *cf_env_new(void);
void cf_env_free(struct cf_env *env);
/* Set key to a copy of value. */
void cf_env_set(struct cf_env *env, const char *key, const char *value);
/* Set from "KEY=VALUE" ("KEY" alone sets an empty value), as BuildKit's
 * EnvsFromSlice does. */
void cf_env_put(struct cf_env *env, const char *kv);
/* The value of key (owned by env), or NULL when unset. env may be NULL. */
const char *cf_env_get(const struct cf_env *env, const char *key);

/* How to lex. Zero-initialise and set escape; the booleans are BuildKit's
 * Lex options and default to false. */
struct cf_lex {
	char escape;      /* '\\' or '`' (the file's escape directive) */
	bool raw_quotes;  /* keep quote characters in the output */
	bool raw_escapes; /* keep escape characters in the output */
	bool skip_unset;  /* leave references to unset variables as written */
	bool skip_quotes; /* treat quotes as ordinary characters */
};

/* Expand one word (ENV/LABEL/WORKDIR/USER/... values): quotes removed,
 * variables replaced, spaces kept. On success *out is a new string the
 * caller frees. Errors (ERR_INVALID): unterminated quotes, bad
 * substitutions, ${v:?msg} with v unset or empty, invalid patterns; the
 * message reads like BuildKit's: `failed to process "WORD": ...`. */
int cf_expand_word(const struct cf_lex *lex, const char *word, const struct cf_env *env,
		   char **out, struct err **err);

/* Expand and split into words (FROM/COPY/ADD/EXPOSE arguments): splitting
 * happens after expansion, on unquoted spaces and on spaces that came out
 * of a variable. On success *out is a new NULL-terminated array the caller
 * frees with strv_free(). Errors as cf_expand_word(). */
int cf_expand_words(const struct cf_lex *lex, const char *text, const struct cf_env *env,
		    char ***out, struct err **err);

#endif
