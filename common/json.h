/* JSON over jansson: strict loading with `name:line:col` errors, typed
 * field getters whose errors name the field path, and a serializer that
 * writes the bytes Go's encoding/json writes.
 *
 * common/ owns jansson: other modules include this header, never
 * <jansson.h>, and use jansson's json_t API for building and walking values.
 * Our own functions use the prefix jx_ (json_ is jansson's).
 *
 * Loading is strict: duplicate object keys, \u0000 inside strings (unless
 * JX_ALLOW_NUL), invalid UTF-8, trailing data, integers outside int64 and
 * nesting deeper than 2048 levels (jansson's JSON_PARSER_MAX_DEPTH) are all
 * ERR_INVALID. Columns count characters (code points) from 1; jansson
 * reports the position of the last character it read, usually the end of
 * the offending token.
 *
 * Serialization (jx_dump) exists because registries and clients compare
 * digests of bytes: an image we write must hash the same every time and,
 * where possible, the same as docker/buildah/containerd (all Go) would
 * write it. So the output is exactly what Go's json.Marshal produces for
 * the same values in the same key order:
 *   - no whitespace at all;
 *   - keys in insertion order (jansson keeps it), the order Go gives struct
 *     fields; or, with JX_SORT_KEYS, in byte order, the order Go gives map
 *     keys: use that for documents built from maps (labels, annotations);
 *   - strings escaped as Go >= 1.22 does: \" \\ \b \f \n \r \t, other
 *     control characters as \u00XX (lowercase hex), '<' '>' '&' as \u003c
 *     \u003e \u0026, U+2028/U+2029 as \u2028/\u2029, '/' and DEL and all
 *     other UTF-8 as is. (Go before 1.22 wrote \b and \f as \u0008 \u000c.)
 *     Invalid UTF-8 (only possible in strings made with
 *     json_stringn_nocheck) is refused, where Go would silently write
 *     \ufffd;
 *   - integers in decimal; reals as Go formats a float64: the shortest
 *     digits that read back to the same double, in plain notation
 *     ("0.5", "100", "-0") unless the magnitude is below 1e-6 or at least
 *     1e21 ("1e-7", "1.5e+21"). Our own formats never use reals (sizes,
 *     times and counts are integers or strings); this only matters when a
 *     foreign document is re-serialized, and note that jansson loads
 *     "1.0" as a real that is written back as "1", as Go would.
 */
#ifndef BALE_COMMON_JSON_H
#define BALE_COMMON_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"


/* ---- loading ---- */

enum jx_load_flags {
	JX_ALLOW_NUL = 1u << 0,  /* accept \u0000 inside strings */
	JX_DECODE_ANY = 1u << 1, /* accept a scalar document, not only {...} or [...] */
};

/* Parse len bytes at data. name (a file name or "registry response")
 * prefixes errors: `name:line:col: message`. On success *out holds a new
 * reference the caller owns (json_decref / cleanup_json). Returns
 * ERR_INVALID for any syntax or strictness error. No size cap: the caller
 * already holds the bytes (and read them under a cap). */
int jx_load_buffer(json_t **out, const void *data, size_t len, const char *name, unsigned flags,
		   struct err **err);

/* Read fd to its end, at most max bytes (0 means BALE_MAX_JSON), and parse
 * it as jx_load_buffer does. Does not close fd. ERR_TOOBIG past max, ERR_IO
 * on a read error, ERR_INVALID on bad JSON. */
int jx_load_fd(json_t **out, int fd, const char *name, size_t max, unsigned flags,
	       struct err **err);

/* Open path relative to dirfd (AT_FDCWD for the cwd), then as jx_load_fd;
 * path names the document in errors. Adds ERR_NOTFOUND and ERR_DENIED from
 * open(2). */
int jx_load_file(json_t **out, int dirfd, const char *path, size_t max, unsigned flags,
		 struct err **err);

/* ---- typed field getters ----
 *
 * Each reads obj[key], where obj is the object found at `path` in the
 * document ("" or NULL for the top level, "config", "layers[2]", ...; see
 * jx_path_key/jx_path_index). Errors name the full field path and leave
 * the document name to the caller:
 *
 *     if (jx_get_string(&digest, cfg, "digest", true, "config", err) < 0)
 *             return err_wrap(err, "%s", "manifest.json");
 *     -> "manifest.json: field 'config.digest' must be a string, not an integer"
 *
 * An absent key, or a key whose value is JSON null (Go writes null for nil
 * slices and maps, e.g. "Cmd": null in image configs), leaves *out as it
 * was and returns 0 when required is false, so callers preset defaults;
 * when required is true it is ERR_INVALID ("missing required field 'x'",
 * or "field 'x' must be a string, not null"). All errors are ERR_INVALID,
 * and obj that is not an object is one too. On error *out is untouched.
 * Pointers handed out borrow from obj and live as long as it does. */

/* A string without NUL characters (so it is a safe C string). */
int jx_get_string(const char **out, const json_t *obj, const char *key, bool required,
		  const char *path, struct err **err);
/* An integer within [min, max] (a real such as 1.0 is not an integer). */
int jx_get_int64(int64_t *out, const json_t *obj, const char *key, bool required, int64_t min,
		 int64_t max, const char *path, struct err **err);
/* A non-negative integer: byte counts such as a descriptor's "size". */
int jx_get_size(uint64_t *out, const json_t *obj, const char *key, bool required,
		const char *path, struct err **err);
int jx_get_bool(bool *out, const json_t *obj, const char *key, bool required, const char *path,
		struct err **err);
/* An object or an array; *out is borrowed (json_incref to keep it). */
int jx_get_object(json_t **out, const json_t *obj, const char *key, bool required,
		  const char *path, struct err **err);
int jx_get_array(json_t **out, const json_t *obj, const char *key, bool required,
		 const char *path, struct err **err);
/* An array of strings (Env, Cmd, Entrypoint) as a new NULL-terminated
 * array the caller frees with strv_free (cleanup_strv); an empty array
 * gives an empty strv. Element errors name them: 'config.Env[3]'. */
int jx_get_strv(char ***out, const json_t *obj, const char *key, bool required,
		const char *path, struct err **err);
/* An object whose values are all strings without NUL (labels,
 * annotations); *out is the borrowed object, walk it with
 * json_object_foreach. Errors name the entry: 'annotations.org.x' (keys
 * cut to 100 bytes, control characters shown as \xNN). */
int jx_get_strmap(json_t **out, const json_t *obj, const char *key, bool required,
		  const char *path, struct err **err);

/* Check that j (found at path) has the given type: for array elements,
 * e.g. jx_expect(elem, JSON_OBJECT, "layers[2]", err). ERR_INVALID
 * "field 'layers[2]' must be an object, not a string" ("the document must
 * be ..." for an empty path); j NULL is reported as missing. */
int jx_expect(const json_t *j, json_type type, const char *path, struct err **err);

/* "an object", "a string", "an integer", "a real number", "a boolean",
 * "null", ...: for messages. */
const char *jx_type_name(json_type type);

/* Child paths for messages: "config" + "digest" -> "config.digest" (just
 * "digest" for an empty or NULL path), "layers" + 2 -> "layers[2]". The
 * caller frees the result. */
char *jx_path_key(const char *path, const char *key);
char *jx_path_index(const char *path, size_t index);

/* ---- serialization (see the top of this file for the exact format) ---- */

enum jx_dump_flags {
	JX_SORT_KEYS = 1u << 0, /* keys in byte order instead of insertion order */
	JX_NEWLINE = 1u << 1,   /* end with "\n", as Go's json.Encoder does */
};

/* Append the serialization of j (any type) to b. ERR_INVALID for invalid
 * UTF-8, a non-finite real or nesting deeper than JX_MAX_DEPTH (a cycle);
 * ERR_TOOBIG when b would pass its max. On error b may hold part of the
 * output: truncate it to its old length if it matters. */
int jx_dump_buf(struct buf *b, const json_t *j, unsigned flags, struct err **err);

/* As jx_dump_buf into a new NUL-terminated string the caller frees; *len
 * (if not NULL) gets its length. On error *out is NULL. */
int jx_dump(char **out, size_t *len, const json_t *j, unsigned flags, struct err **err);

/* ---- cleanup ---- */
static inline void jx_decrefp(json_t **j)
{
	json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(jx_decrefp)))

#endif
