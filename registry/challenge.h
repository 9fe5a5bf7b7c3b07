/* WWW-Authenticate parsing (RFC 7235 section 4.1) for the registry client:
 *
 *   WWW-Authenticate = 1#challenge
 *   challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param       = token BWS "=" BWS ( token / quoted-string )
 *
 * Registries send `Bearer realm="https://auth.example/token",
 * service="registry.example",scope="repository:app:pull"` or `Basic
 * realm="..."`; several challenges may share one header or come in several
 * headers. The parser is strict about the grammar (a malformed header is
 * ERR_INVALID, never a partial guess) and capped, because the header comes
 * from the network. */
#ifndef BALE_REGISTRY_CHALLENGE_H
#define BALE_REGISTRY_CHALLENGE_H

#include <stddef.h>

#include "common/error.h"

/* Caps (module-specific, so here rather than in common/limits.h). */
#define REGC_MAX_CHALLENGES 16
#define REGC_MAX_CHALLENGE_PARAMS 32

struct regc_challenge {
	char *scheme;   /* lowercased: "bearer", "basic" */
	char *token68;  /* the token68 form ("Basic abc=="), else NULL */
	char **keys;    /* lowercased parameter names, NULL-terminated */
	char **values;  /* unquoted values, same order, NULL-terminated */
	size_t n_params;
};

/* Parse one header value and append its challenges to *v (*n entries;
 * *v may be NULL at first). On error nothing is appended. Errors:
 * ERR_INVALID (grammar, with the position), ERR_TOOBIG (longer than
 * BALE_MAX_HEADER, more than REGC_MAX_CHALLENGES in all or
 * REGC_MAX_CHALLENGE_PARAMS in one). The caller frees *v with
 * regc_challenges_free() in all cases. */
int regc_challenges_parse(struct regc_challenge **v, size_t *n, const char *header, size_t len,
			  struct err **err);
void regc_challenges_free(struct regc_challenge *v, size_t n);

/* A parameter's value (borrowed), matched case-insensitively, or NULL. */
const char *regc_challenge_param(const struct regc_challenge *c, const char *key);

/* The first challenge of the given scheme ("bearer"; case-insensitive), or
 * NULL. */
const struct regc_challenge *regc_challenge_find(const struct regc_challenge *v, size_t n,
						 const char *scheme);

#endif
