/* YAML configuration files over libyaml, loaded into a tree of nodes that
 * remember where they were written, so validation can say
 * `registry.yml:12:3: unknown key 'storag' (did you mean 'storage'?)`.
 *
 * common/ owns libyaml; other modules include this header only. Names use
 * yml_ and ynode_, never yaml_, which is libyaml's.
 *
 * What is accepted, and why:
 *   - One UTF-8 document (an empty input is one null document). A second
 *     document is an error: a config split in two is a mistake.
 *   - Mapping keys are scalars, unique within their mapping (compared by
 *     text; the error points at the second one). Merge keys ("<<") are not
 *     supported and say so rather than becoming an unknown key.
 *   - Anchors and aliases work, an alias standing for a copy of the
 *     anchored node (whose positions it keeps). Copies are charged against
 *     YML_MAX_ALIAS_BYTES, so an alias bomb ("billion laughs") fails early
 *     instead of eating memory; an alias inside the node it names is an
 *     error. At most YML_MAX_ANCHORS anchors per document.
 *   - At most BALE_MAX_YAML bytes and YML_MAX_DEPTH levels of nesting.
 *   - Tags are kept (as libyaml resolves them: "!!str" becomes
 *     "tag:yaml.org,2002:str") but not interpreted, except that a null
 *     needs no tag or !!null.
 *
 * Positions are 1-based lines and columns, columns counting characters.
 *
 * The typed helpers (ynode_as_*) read a scalar's text whether it was quoted
 * or not ("8080" is a port as 8080 is). They treat a missing node (NULL, as
 * ynode_get returns for an absent key) and a null node (`key:`, `key: ~`,
 * `key: null`) alike: *out keeps its value and they return 0, so callers
 * preset defaults. Use ynode_require when a key must have a value. Their
 * errors are ERR_INVALID with the node's position and key path:
 * `registry.yml:7:14: 'http.timeout' must be a duration such as 30s, 5m or
 * 1h30m, not 'soon'`.
 */
#ifndef BALE_COMMON_YAML_H
#define BALE_COMMON_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#include "common/limits.h"

enum ynode_kind {
	YNODE_SCALAR = 1,
	YNODE_SEQ = 2,
	YNODE_MAP = 3,
};

struct ynode {
	enum ynode_kind kind;
	unsigned line, col;   /* where the node starts, 1-based */
	const char *file;     /* document name for errors; the root owns it */
	char *tag;            /* explicit tag or NULL */
	/* scalar: the text, NUL-terminated; text_len may count NUL bytes
	 * written as "\0" (ynode_as_str refuses those). NULL otherwise. */
	char *text;
	size_t text_len;
	bool quoted;          /* quoted or block scalar: text, never null */
	/* seq: n items; map: n pairs, keys[i] (a scalar) -> items[i]. */
	size_t n;
	struct ynode **items;
	struct ynode **keys;
	/* Where the node hangs: parent's items[index] (and keys[index]). */
	struct ynode *parent;
	size_t index;
	size_t cap; /* private: room in items/keys */
};

/* Parse len bytes of YAML; name (a file name) prefixes errors as
 * `name:line:col: message`. On success *out is a new tree the caller frees
 * with ynode_free (cleanup_ynode). ERR_INVALID for syntax errors and
 * everything refused above, ERR_TOOBIG past BALE_MAX_YAML. */
int yml_load_buffer(struct ynode **out, const void *data, size_t len, const char *name,
		    struct err **err);

/* Read path (at most BALE_MAX_YAML bytes) and parse it as above, naming it
 * path in errors. Adds ERR_NOTFOUND, ERR_DENIED and ERR_IO from reading. */
int yml_load_file(struct ynode **out, const char *path, struct err **err);

/* Free a tree returned by yml_load_*; only roots may be freed. NULL is
 * fine. */
void ynode_free(struct ynode *root);

/* The value of key in map, or NULL when it is absent or map is not a
 * mapping (a null node, say). Borrowed from the tree. */
const struct ynode *ynode_get(const struct ynode *map, const char *key);

/* The value of a key that must be there and not null. ERR_INVALID
 * `name:L:C: missing required key 'storage.filesystem'` at the mapping, or
 * `'storage' must have a value` at the null node; map that is neither NULL,
 * null nor a mapping is "must be a mapping". */
int ynode_require(const struct ynode **out, const struct ynode *map, const char *key,
		  struct err **err);

/* Check n's kind ("'storage' must be a mapping, not a sequence"). NULL and
 * null nodes pass (an empty section), so optional sections need no test
 * of their own; ynode_get on them finds nothing. ERR_INVALID. */
int ynode_expect(const struct ynode *n, enum ynode_kind kind, struct err **err);

/* Report the first key of map not in allowed (NULL-terminated), at that
 * key: `name:12:3: unknown key 'storag' (did you mean 'storage'?)`. NULL,
 * null and non-mapping nodes have no keys. ERR_INVALID. */
int ynode_check_keys(const struct ynode *map, const char *const *allowed, struct err **err);

/* True for a plain, untagged (or !!null) scalar "", "~", "null", "Null" or
 * "NULL", and for NULL. */
bool ynode_is_null(const struct ynode *n);

/* Scalar text without NUL bytes; *out borrows from the tree. */
int ynode_as_str(const char **out, const struct ynode *n, struct err **err);
/* true/false and, as YAML 1.1 and Go's yaml packages accept for booleans,
 * yes/no and on/off; each in lower, Capitalized or UPPER case. Not y/n
 * (YAML 1.2 dropped them; too easy to write by accident). */
int ynode_as_bool(bool *out, const struct ynode *n, struct err **err);
/* Decimal integer in [min, max]: no sign, no 0x, no underscores. */
int ynode_as_u64(uint64_t *out, const struct ynode *n, uint64_t min, uint64_t max,
		 struct err **err);
/* A Go duration (time.ParseDuration) in nanoseconds: one or more
 * number+unit with units ns, us (or µs), ms, s, m, h, fractions allowed
 * ("1.5h", "1h30m", "300ms"), a lone "0", no negative values, at most
 * INT64_MAX ns (about 292 years). A bare number other than 0 has no unit
 * and is refused, as Go refuses it. */
int ynode_as_duration(int64_t *out_ns, const struct ynode *n, struct err **err);
/* A byte count: a number with an optional fraction, optionally one space,
 * and an optional unit: B, kB, MB, GB, TB, PB (powers of 1000) or KiB,
 * MiB, GiB, TiB, PiB (powers of 1024), case-insensitive ("1024", "10MiB",
 * "1.5 GB"). Fractions of a byte are dropped. K, M, G alone are refused:
 * docker means 1024 by them in some places and 1000 in others. */
int ynode_as_size(uint64_t *out, const struct ynode *n, struct err **err);
/* A sequence of non-null scalars without NUL bytes, as a new
 * NULL-terminated array the caller frees with strv_free. */
int ynode_as_strv(char ***out, const struct ynode *n, struct err **err);

/* Record a new error at n's position: `file:line:col: <fmt...>` (just the
 * message when n is NULL). Returns code, as err_set does. */
int ynode_err(struct err **err, int code, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Key path of n for messages ("storage.s3.region", "auth.users[2]", "" for
 * the root); keys are cut to 100 bytes and control characters shown as
 * \xNN. The caller frees the result. */
char *ynode_path(const struct ynode *n);

/* "a mapping", "a sequence", "a scalar". */
const char *ynode_kind_name(enum ynode_kind kind);

static inline void ynode_freep(struct ynode **n)
{
	ynode_free(*n);
}
#define cleanup_ynode __attribute__((cleanup(ynode_freep)))

#endif
