/* Registry credentials in docker's format: `$DOCKER_CONFIG/config.json`
 * (default `~/.docker/config.json`) with
 *
 *   "auths":       { "reg:5000": { "auth": base64("user:password"),
 *                                  "identitytoken": "..." } }
 *   "credsStore":  "pass"                    every registry through a helper
 *   "credHelpers": { "reg:5000": "secretservice" }   per registry
 *
 * so what `docker login` stored is read back and what `bale login` stores
 * is read by docker, podman and skopeo. Helpers are the `docker-credential-
 * NAME` programs on PATH, spoken to with their get/store/erase protocol
 * (JSON on stdin/stdout), run with fork/exec, never through a shell.
 * Docker Hub is stored under "https://index.docker.io/v1/" as docker does. */
#ifndef BALE_REGISTRY_CREDENTIALS_H
#define BALE_REGISTRY_CREDENTIALS_H

#include "common/error.h"

/* What a helper may print, at most (module-specific cap). */
#define REGC_MAX_HELPER_OUTPUT (64u << 10)

struct regc_cred {
	char *username;       /* NULL with an identity token alone */
	char *password;
	char *identity_token; /* OAuth2 refresh token docker keeps; NULL if none */
	char *source;         /* where they came from, for messages: a file
			       * path or "docker-credential-NAME" */
};

void regc_cred_release(struct regc_cred *c);

/* The config file to use: $DOCKER_CONFIG/config.json, else
 * $HOME/.docker/config.json. The caller frees. ERR_INVALID without HOME. */
int regc_creds_path(char **out, struct err **err);

/* The key docker files a registry domain under ("https://index.docker.io/v1/"
 * for Docker Hub, else the domain itself). The caller frees. */
char *regc_creds_key(const char *domain);

/* Credentials for domain (as in a reference: "reg:5000", "docker.io") from
 * the config at path (NULL: regc_creds_path()). On success *out holds new
 * strings (release with regc_cred_release). Errors: ERR_NOTFOUND (none
 * stored, or no config file), ERR_INVALID (a malformed config or helper
 * answer), ERR_IO/ERR_FAIL (a helper that cannot run or fails). */
int regc_creds_get(struct regc_cred *out, const char *path, const char *domain, struct err **err);

/* Store username/password for domain: through the domain's helper
 * (credHelpers, then credsStore) when the config names one, else base64
 * in "auths" of the config (created 0600, its directory 0700; replaced
 * atomically, every other field kept). *where (if not NULL) gets where it
 * went (the caller frees). Errors: ERR_INVALID (malformed config), ERR_IO,
 * ERR_FAIL (the helper refused). */
int regc_creds_store(const char *path, const char *domain, const char *username,
		     const char *password, char **where, struct err **err);

/* Remove the credentials of domain from the helper and from "auths".
 * ERR_NOTFOUND when there were none; other errors as regc_creds_store. */
int regc_creds_erase(const char *path, const char *domain, struct err **err);

#endif
