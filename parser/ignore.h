/* .dockerignore / .containerignore: which paths of the build context are
 * left out, with Docker's semantics (moby/patternmatcher and its ignorefile
 * reader): `*`, `?`, `[...]`, `**`, `!` exceptions, the last matching
 * pattern wins, patterns are cleaned like filepath.Clean and a leading `/`
 * is dropped, and a path is excluded when it or one of its parent
 * directories matches. */
#ifndef BALE_PARSER_IGNORE_H
#define BALE_PARSER_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct cf_ignore;

/* Parse the text of an ignore file (comments `#...` at the start of a line,
 * blank lines skipped, a UTF-8 BOM dropped). On success the caller frees
 * *out with cf_ignore_free(). A pattern means what patternmatcher's Go
 * regexp gives it: `|` alternation, `{n,m}` repetition, POSIX classes
 * inside brackets, and after a backslash Go's escapes (`\d`, `\w`, `\s`,
 * `\b`, `\x41`, `\Q...\E`, ...). Errors, naming the file and line:
 * ERR_INVALID for a line over 65535 bytes, a lone `!`, a pattern
 * filepath.Match refuses (an unclosed `[`, a trailing `\`) and one Go's
 * regexp.Compile refuses (`\y`, `*{2}`, `a{1001}`, ...); ERR_UNSUPPORTED
 * for Go's Unicode classes `\p` `\P`, which bale does not match. Unlike
 * patternmatcher, which compiles a pattern only when a path first reaches
 * it, a bad pattern is refused here even if no path would reach it. */
int cf_ignore_parse(const char *data, size_t len, const char *name, struct cf_ignore **out,
		    struct err **err);

/* The patterns of COPY/ADD --exclude, which BuildKit hands to
 * patternmatcher.New directly: each is only trimmed and cleaned (no
 * comments, no leading `/` removed, no blank-line skipping beyond empty
 * ones), then checked and matched as in an ignore file. name prefixes the
 * errors ("Containerfile:12: --exclude"). */
int cf_ignore_from_patterns(char *const *patterns, size_t n, const char *name,
			    struct cf_ignore **out, struct err **err);

/* Find and parse the ignore file of a build: `<containerfile>.containerignore`
 * or `<containerfile>.dockerignore` beside the Containerfile win over
 * `<context>/.containerignore` and `<context>/.dockerignore` (containerfile
 * may be NULL). *path (may be NULL) gets the file used, a new string, or
 * NULL when there is none, in which case *out is an empty set that excludes
 * nothing. */
int cf_ignore_load(const char *context_dir, const char *containerfile, struct cf_ignore **out,
		   char **path, struct err **err);

/* Whether path (slash-separated, relative to the context) is excluded:
 * it or a parent directory matches, and no later `!` pattern re-includes
 * it. The context root itself (".") is never excluded. */
bool cf_ignore_matches(const struct cf_ignore *ig, const char *path);

/* Patterns after cleaning, in file order ("!" kept on exceptions). */
size_t cf_ignore_count(const struct cf_ignore *ig);
const char *cf_ignore_pattern(const struct cf_ignore *ig, size_t i);
/* Whether any pattern is an exception: a walker must then descend into
 * excluded directories to find re-included files. */
bool cf_ignore_has_exceptions(const struct cf_ignore *ig);

void cf_ignore_free(struct cf_ignore *ig);

/* Go's filepath.Clean for slash paths. Caller frees. */
char *cf_path_clean(const char *path);

#endif
