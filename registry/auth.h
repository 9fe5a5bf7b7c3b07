/* Authentication and authorization for `bale serve`: htpasswd (bcrypt)
 * users, groups, access rules per repository pattern, and the checks the
 * handlers ask ("may this request pull repo x?"). The token service and
 * JWT verification are in token.h. */
#ifndef BALE_REGISTRY_AUTH_H
#define BALE_REGISTRY_AUTH_H

#include <stdbool.h>

#include "common/error.h"
#include "registry/serve-config.h"

/* Who made a request. */
struct reg_identity {
	char user[128]; /* "" for anonymous */
	bool authenticated;
	/* Bearer tokens carry their grants: a bit set per scope below. */
	bool from_token;
	size_t ngrants;
	struct {
		char repo[256];
		unsigned actions;
	} grants[8];
	bool catalog_grant;
};

struct reg_auth;

/* Load what cfg names (htpasswd file, token key). *out is freed with
 * reg_auth_free(). Errors: ERR_INVALID with file:line for htpasswd lines
 * that are not bcrypt ("only bcrypt hashes (htpasswd -B) are supported"),
 * ERR_NOTFOUND/ERR_IO reading. */
int reg_auth_new(struct reg_auth **out, const struct reg_config *cfg, struct err **err);
void reg_auth_free(struct reg_auth *a);

/* Check user's password against the htpasswd file. 0, or
 * ERR_UNAUTHORIZED for an unknown user or a wrong password (the same
 * answer for both, and the same time). */
int reg_auth_password(struct reg_auth *a, const char *user, const char *password, struct err **err);

/* Parse an Authorization header into who: Basic (checked against the
 * htpasswd file) or Bearer (a token we issued, still valid). A missing
 * header leaves who anonymous and returns 0. ERR_UNAUTHORIZED for bad
 * credentials. */
int reg_auth_identify(struct reg_auth *a, const char *authorization, struct reg_identity *who,
                      struct err **err);

/* The actions (enum reg_action bits) who may do on repo under the
 * configuration's rules (for tokens: what the token grants). repo NULL
 * asks about the catalog. */
unsigned reg_auth_allowed(struct reg_auth *a, const struct reg_identity *who, const char *repo);

/* What the rules grant `user` (NULL: anonymous) on repo, ignoring tokens:
 * used by the token service when it mints a token. */
unsigned reg_auth_rules_grant(struct reg_auth *a, const char *user, const char *repo);

/* The WWW-Authenticate challenge for a request that needed `actions` on
 * repo (NULL for /v2/ itself), or NULL without auth. Caller frees.
 * `error` (NULL or "insufficient_scope"/"invalid_token") is added to
 * Bearer challenges. */
char *reg_auth_challenge(struct reg_auth *a, const char *repo, unsigned actions, const char *error);

/* Check a Basic credential (the base64 text after "Basic ") and fill who.
 * ERR_UNAUTHORIZED when malformed or wrong. */
int reg_auth_basic(struct reg_auth *a, const char *b64, struct reg_identity *who, struct err **err);

/* The token service's signer, or NULL without token auth (borrowed). */
struct reg_token *reg_auth_token(struct reg_auth *a);

/* Whether any authentication is configured. */
bool reg_auth_enabled(const struct reg_auth *a);

/* Parse "pull,push" / "*" into action bits (for rules and token scopes);
 * unknown words are ignored when lenient, else ERR_INVALID. */
int reg_actions_parse(const char *s, bool lenient, unsigned *out, struct err **err);

#endif
