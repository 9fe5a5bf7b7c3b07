/* Pieces shared by the files of parser/ and its tests; not for other modules.
 *
 * BuildKit is written in Go, and the exact behaviour users rely on comes from
 * Go's definitions of "space", "letter" and "digit" (unicode.IsSpace,
 * IsLetter, IsDigit), from how Go decodes UTF-8 (an invalid byte is U+FFFD of
 * width 1) and from encoding/json. These helpers reproduce those definitions
 * so that the parser and the expander agree with BuildKit byte for byte. */
#ifndef BALE_PARSER_INTERNAL_H
#define BALE_PARSER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

#define CF_RUNE_ERROR 0xFFFD
#define CF_EOF (-1)

/* An expansion result may be larger than its input ("${a}${a}${a}"), but
 * not larger than a whole Containerfile may be. */
#define CF_MAX_EXPANSION BALE_MAX_CONTAINERFILE

/* Decode one rune at s[0..n) the way Go does; *width gets 1..4 (0 when n is
 * 0, in which case CF_EOF is returned). */
int32_t cf_utf8_decode(const char *s, size_t n, size_t *width);
/* Append the UTF-8 encoding of r (U+FFFD for invalid code points). */
int cf_utf8_add(struct buf *b, int32_t r, struct err **err);
/* Bytes of the UTF-8 encoding of r. */
size_t cf_utf8_len(int32_t r);

/* Go's unicode.IsSpace, IsLetter (category L) and IsDigit (category Nd). */
bool cf_is_space(int32_t r);
bool cf_is_letter(int32_t r);
bool cf_is_digit(int32_t r);
/* Go's unicode.IsSpace applied to a single byte taken as a rune (what
 * BuildKit does in a few byte loops: 0x85 and 0xA0 count as spaces). */
static inline bool cf_is_space_byte(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xA0;
}
/* The [\t\v\f\r ] class BuildKit splits words with. */
static inline bool cf_is_split_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* Length of s without its leading / trailing Go spaces. */
size_t cf_trim_left(const char *s, size_t n);
size_t cf_trim_right(const char *s, size_t n);

/* Append s quoted as Go's strconv.Quote (%q) would, for messages that must
 * read like BuildKit's. */
void cf_go_quote(struct buf *b, const char *s, size_t n);
/* The same into a new string; caller frees. */
char *cf_go_quote_str(const char *s);

/* Decode a JSON array of strings the way BuildKit's parseJSON does with Go's
 * encoding/json: the whole text must be valid JSON (else CF_JSON_NOT_JSON,
 * and the caller falls back to shell form); an array holding anything but
 * strings is CF_JSON_NOT_STRINGS (an error for the user). A string holding
 * \u0000 is CF_JSON_NUL: BuildKit keeps the NUL, which no exec argument,
 * path or C string can carry, so bale refuses it as it refuses NUL bytes.
 * On CF_JSON_OK the caller owns *out (NULL-terminated) and *n is its
 * length. */
enum cf_json_result {
	CF_JSON_OK = 0,
	CF_JSON_NOT_JSON = 1,
	CF_JSON_NOT_STRINGS = 2,
	CF_JSON_NUL = 3,
};
enum cf_json_result cf_json_string_array(const char *s, size_t n, char ***out, size_t *nout);

/* Levenshtein distance, for "did you mean" suggestions like BuildKit's. */
size_t cf_levenshtein(const char *a, const char *b);

/* ---- arena: every string and array of one struct cf_file lives in a few
 * large blocks, freed at once (a 1 MiB file makes ~50k small strings). */
struct cf_arena;
struct cf_arena *cf_arena_new(void);
void cf_arena_free(struct cf_arena *a);
/* n bytes, 8-byte aligned, zeroed. Never NULL. */
void *cf_arena_alloc(struct cf_arena *a, size_t n);
/* A NUL-terminated copy of s[0..n). */
char *cf_arena_strndup(struct cf_arena *a, const char *s, size_t n);
char *cf_arena_strdup(struct cf_arena *a, const char *s);

/* A growable list of strings used while building an instruction; with an
 * arena the strings are copied there (and never freed one by one),
 * without one they are heap copies. */
struct cf_strs {
	char **v;
	size_t n, cap;
	struct cf_arena *arena;
};
/* Push a copy of owned and free it. */
void cf_strs_push(struct cf_strs *s, char *owned);
void cf_strs_pushn(struct cf_strs *s, const char *p, size_t n);
void cf_strs_clear(struct cf_strs *s);
/* The strings as a NULL-terminated array in the arena; clears s. */
char **cf_strs_to_arena(struct cf_strs *s, struct cf_arena *a, size_t *n);

/* Heredoc word: BuildKit's ^(\d*)<<(-?)\s*([^<]*)$ plus the name lexing.
 * Returns 1 and fills h (heap strings; content NULL) when word is a heredoc,
 * 0 when not, ERR_INVALID (with err) when the name cannot be lexed. */
struct cf_heredoc;
int cf_heredoc_parse_word(const char *word, struct cf_heredoc *h, struct err **err);

/* Second pass of cf_parse(): BuildKit's instructions package (arguments,
 * flags, mounts, stage names) and the stage list. *where gets the index of
 * the failing instruction. */
struct cf_file;
int cf_validate(struct cf_file *f, size_t *where, struct err **err);
int cf_build_stages(struct cf_file *f);

#endif
