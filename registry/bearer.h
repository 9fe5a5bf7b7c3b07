/* Docker's bearer token flow (distribution's docs/spec/auth/token.md and
 * oauth.md): after a 401 with `WWW-Authenticate: Bearer realm=R,service=S`,
 * ask R for a token covering the scopes the next requests need
 * ("repository:team/app:pull,push", plus "repository:other:pull" for a
 * cross-repository mount), sending the user's password with Basic auth, or
 * its identity token as an OAuth2 refresh token, or nothing (anonymous). */
#ifndef BALE_REGISTRY_BEARER_H
#define BALE_REGISTRY_BEARER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "registry/credentials.h"
#include "registry/transport.h"

/* Longest token response we read (module-specific cap). */
#define REGC_MAX_TOKEN_RESPONSE (1u << 20)

struct regc_bearer_req {
	const char *realm;   /* from the challenge: http(s) URL */
	const char *service; /* may be NULL */
	char *const *scopes; /* NULL-terminated, may be NULL (a login check) */
	const struct regc_cred *cred; /* NULL: anonymous */
	bool insecure;       /* TLS verification off for the realm too */
	const char *host_port; /* certs.d entry of the realm's host */
};

/* Fetch a token. On success *token (the caller frees) and *expires_in
 * (seconds; 60 when the server does not say, as docker assumes). Errors:
 * ERR_UNAUTHORIZED (the server refused the credentials, with its message),
 * ERR_DENIED (403), ERR_INVALID (a realm that is not http(s), an answer
 * without a token), ERR_PROTOCOL (another status), and transport errors
 * (*transient tells whether a retry may help). */
int regc_bearer_fetch(struct regc_http *h, const struct regc_bearer_req *q, char **token,
		      int64_t *expires_in, bool *transient, struct err **err);

/* Describe a registry's JSON error body ({"errors":[{"code","message",
 * "detail"}]} as distribution-spec defines, or an OAuth {"error",
 * "error_description"}) as "CODE: message; CODE2: message2", or NULL when
 * the body is not one. The caller frees. */
char *regc_error_body_describe(const char *body, size_t len);

/* The first error code in such a body ("MANIFEST_UNKNOWN"), or NULL. The
 * caller frees. */
char *regc_error_body_code(const char *body, size_t len);

#endif
