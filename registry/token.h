/* The built-in token service (Docker's bearer flow) and JWT handling:
 * tokens are JWTs signed with the configured private key (RSA: RS256, EC
 * P-256: ES256, Ed25519: EdDSA) and carry docker's "access" claim. The
 * server checks tokens it issued with the same key. */
#ifndef BALE_REGISTRY_TOKEN_H
#define BALE_REGISTRY_TOKEN_H

#include <stdint.h>

#include "common/error.h"
#include "registry/auth.h"

/* Longest token we accept in an Authorization header. */
#define REG_MAX_TOKEN 8192

struct reg_token;

/* Load the key at key_path. *out is freed with reg_token_free(). Errors:
 * ERR_NOTFOUND/ERR_IO (reading), ERR_INVALID (not a PEM private key),
 * ERR_UNSUPPORTED (a key type we cannot sign with). */
int reg_token_new(struct reg_token **out, const char *key_path, const char *issuer,
                  const char *service, int64_t ttl, struct err **err);
void reg_token_free(struct reg_token *t);

/* Mint a token for user ("" anonymous) granting who->grants (repo,
 * actions) and, when catalog, the catalog. *out is the caller's. */
int reg_token_mint(struct reg_token *t, const struct reg_identity *who, char **out,
                   struct err **err);

/* Verify a token: signature, issuer, audience, expiry. On success fills
 * who (user, grants, from_token). ERR_UNAUTHORIZED otherwise. */
int reg_token_verify(struct reg_token *t, const char *token, struct reg_identity *who,
                     struct err **err);

/* Seconds a token lives. */
int64_t reg_token_ttl(const struct reg_token *t);

#endif
