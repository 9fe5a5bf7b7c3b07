/* `bale serve` configuration: built-in defaults, overridden by a YAML file
 * (docs/registry.md is the reference) and then by command-line flags. */
#ifndef BALE_REGISTRY_CONFIG_H
#define BALE_REGISTRY_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/log.h"

/* Default listen address of `bale serve`. */
#define REG_DEFAULT_LISTEN "127.0.0.1:5000"

enum reg_action {
	REG_ACT_PULL = 1u << 0,
	REG_ACT_PUSH = 1u << 1,
	REG_ACT_DELETE = 1u << 2,
	REG_ACT_CATALOG = 1u << 3, /* GET /v2/_catalog */
};

enum reg_auth_kind {
	REG_AUTH_NONE = 0,
	REG_AUTH_HTPASSWD, /* Basic with an htpasswd file */
	REG_AUTH_TOKEN,    /* Bearer JWTs from the built-in /token service */
};

/* One access rule: users or groups may do actions on repositories
 * matching pattern (fnmatch; '*' also crosses '/'). */
struct reg_rule {
	char *pattern;
	char **users; /* names, "*" any authenticated user, "anonymous" */
	char **groups;
	unsigned actions; /* enum reg_action bits */
};

struct reg_group {
	char *name;
	char **members;
};

struct reg_config {
	char *file;     /* where it was loaded from, or NULL */
	char *listen;   /* "host:port"; port 0 picks a free one */
	char *root;     /* storage root */
	char *tls_cert; /* PEM files, both or neither */
	char *tls_key;
	bool delete_enabled;
	uint64_t max_manifest; /* bytes */
	uint64_t max_blob;     /* bytes, 0 = no limit */
	unsigned threads;      /* 0 = number of CPUs */
	unsigned max_connections;
	unsigned max_uploads;  /* blob uploads in flight at once, 0 = no limit */
	int64_t upload_purge_age; /* seconds: uploads idle longer are removed at start */
	enum log_format log_format;
	enum log_level log_level;
	bool access_log;

	enum reg_auth_kind auth;
	char *realm;    /* Basic realm / token realm URL */
	char *htpasswd; /* path */
	bool anonymous_pull;
	char *token_service;
	char *token_issuer;
	char *token_key;   /* PEM private key path (RSA or EC P-256) */
	int64_t token_ttl; /* seconds */

	struct reg_rule *rules;
	size_t nrules;
	struct reg_group *groups;
	size_t ngroups;
};

/* A configuration with the defaults: listen REG_DEFAULT_LISTEN, root
 * `default_root`, no TLS, no auth, delete enabled, 4 MiB manifests, logfmt
 * access log. Free with reg_config_free(). */
struct reg_config *reg_config_new(const char *default_root);

/* Apply the YAML file at path over cfg. Errors name the file, line and
 * column: ERR_INVALID (unknown key, bad value), ERR_NOTFOUND/ERR_IO
 * (reading). Relative paths in the file are taken relative to its
 * directory. */
int reg_config_load(struct reg_config *cfg, const char *path, struct err **err);

/* Check the whole configuration (files it names exist and parse, TLS has
 * both halves, token auth has a key...). ERR_INVALID with the reason. */
int reg_config_check(const struct reg_config *cfg, struct err **err);

void reg_config_free(struct reg_config *cfg);

#endif
