/* `bale serve` configuration (see config.h and docs/registry.md). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/util.h"
#include "common/yaml.h"
#include "registry/auth.h"
#include "registry/serve-config.h"

struct reg_config *reg_config_new(const char *default_root)
{
	struct reg_config *c = xcalloc(1, sizeof(*c));
	c->listen = xstrdup(REG_DEFAULT_LISTEN);
	c->root = xstrdup(default_root);
	c->delete_enabled = true;
	c->max_manifest = 4u << 20;
	c->max_connections = 10000;
	c->upload_purge_age = 7 * 24 * 3600;
	c->log_format = LOG_FORMAT_LOGFMT;
	c->log_level = LOG_LEVEL_INFO;
	c->access_log = true;
	c->token_ttl = 300;
	return c;
}

static void rule_release(struct reg_rule *r)
{
	free(r->pattern);
	strv_free(r->users);
	strv_free(r->groups);
}

void reg_config_free(struct reg_config *c)
{
	if (c == NULL)
		return;
	free(c->file);
	free(c->listen);
	free(c->root);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->realm);
	free(c->htpasswd);
	free(c->token_service);
	free(c->token_issuer);
	free(c->token_key);
	for (size_t i = 0; i < c->nrules; i++)
		rule_release(&c->rules[i]);
	free(c->rules);
	for (size_t i = 0; i < c->ngroups; i++) {
		free(c->groups[i].name);
		strv_free(c->groups[i].members);
	}
	free(c->groups);
	free(c);
}

/* A string value replacing *dst (when present). Paths are made relative
 * to the config file's directory. */
static int set_str(char **dst, const struct ynode *n, const char *dir, struct err **err)
{
	const char *s = NULL;
	if (ynode_as_str(&s, n, err) < 0)
		return ERR_INVALID;
	if (s == NULL)
		return 0;
	if (s[0] == '\0') {
		cleanup_free char *path = ynode_path(n);
		return ynode_err(err, ERR_INVALID, n, "'%s' must not be empty", path);
	}
	free(*dst);
	*dst = dir != NULL && s[0] != '/' ? xasprintf("%s/%s", dir, s) : xstrdup(s);
	return 0;
}

static int load_tls(struct reg_config *c, const struct ynode *tls, const char *dir,
                    struct err **err)
{
	static const char *const keys[] = {"cert", "key", NULL};
	if (ynode_expect(tls, YNODE_MAP, err) < 0 || ynode_check_keys(tls, keys, err) < 0)
		return ERR_INVALID;
	if (set_str(&c->tls_cert, ynode_get(tls, "cert"), dir, err) < 0 ||
	    set_str(&c->tls_key, ynode_get(tls, "key"), dir, err) < 0)
		return ERR_INVALID;
	if ((c->tls_cert == NULL) != (c->tls_key == NULL))
		return ynode_err(err, ERR_INVALID, tls, "%s", "'tls' needs both 'cert' and 'key'");
	return 0;
}

static int load_limits(struct reg_config *c, const struct ynode *n, struct err **err)
{
	static const char *const keys[] = {"manifest_size",   "blob_size",   "upload_purge_age",
	                                   "max_connections", "max_uploads", NULL};
	int64_t purge = -1;
	uint64_t conns = c->max_connections, uploads = c->max_uploads;
	if (ynode_expect(n, YNODE_MAP, err) < 0 || ynode_check_keys(n, keys, err) < 0 ||
	    ynode_as_size(&c->max_manifest, ynode_get(n, "manifest_size"), err) < 0 ||
	    ynode_as_size(&c->max_blob, ynode_get(n, "blob_size"), err) < 0 ||
	    ynode_as_duration(&purge, ynode_get(n, "upload_purge_age"), err) < 0 ||
	    ynode_as_u64(&conns, ynode_get(n, "max_connections"), 1, 1000000, err) < 0 ||
	    ynode_as_u64(&uploads, ynode_get(n, "max_uploads"), 0, 1000000, err) < 0)
		return ERR_INVALID;
	if (c->max_manifest == 0 || c->max_manifest > (64u << 20))
		return ynode_err(err, ERR_INVALID, ynode_get(n, "manifest_size"), "%s",
		                 "'limits.manifest_size' must be between 1 byte and 64MiB");
	if (purge >= 0)
		c->upload_purge_age = purge / 1000000000;
	c->max_connections = (unsigned)conns;
	c->max_uploads = (unsigned)uploads;
	return 0;
}

static int load_log(struct reg_config *c, const struct ynode *n, struct err **err)
{
	static const char *const keys[] = {"level", "format", "access_log", NULL};
	const char *level = NULL, *format = NULL;
	struct err *e = NULL;
	if (ynode_expect(n, YNODE_MAP, err) < 0 || ynode_check_keys(n, keys, err) < 0 ||
	    ynode_as_str(&level, ynode_get(n, "level"), err) < 0 ||
	    ynode_as_str(&format, ynode_get(n, "format"), err) < 0 ||
	    ynode_as_bool(&c->access_log, ynode_get(n, "access_log"), err) < 0)
		return ERR_INVALID;
	if (level != NULL && log_level_parse(level, &c->log_level, &e) < 0) {
		ynode_err(err, ERR_INVALID, ynode_get(n, "level"), "%s", err_msg(e));
		err_free(e);
		return ERR_INVALID;
	}
	if (format != NULL && log_format_parse(format, &c->log_format, &e) < 0) {
		ynode_err(err, ERR_INVALID, ynode_get(n, "format"), "%s", err_msg(e));
		err_free(e);
		return ERR_INVALID;
	}
	return 0;
}

static int load_auth(struct reg_config *c, const struct ynode *n, const char *dir, struct err **err)
{
	static const char *const keys[] = {"htpasswd", "token", "anonymous_pull", NULL};
	static const char *const hkeys[] = {"path", "realm", NULL};
	static const char *const tkeys[] = {"realm", "service",    "issuer",
	                                    "key",   "expiration", NULL};
	const struct ynode *h = ynode_get(n, "htpasswd"), *t = ynode_get(n, "token");
	if (ynode_expect(n, YNODE_MAP, err) < 0 || ynode_check_keys(n, keys, err) < 0 ||
	    ynode_as_bool(&c->anonymous_pull, ynode_get(n, "anonymous_pull"), err) < 0)
		return ERR_INVALID;
	if (h != NULL && !ynode_is_null(h)) {
		const struct ynode *path = NULL;
		if (ynode_expect(h, YNODE_MAP, err) < 0 || ynode_check_keys(h, hkeys, err) < 0 ||
		    ynode_require(&path, h, "path", err) < 0 ||
		    set_str(&c->htpasswd, path, dir, err) < 0 ||
		    set_str(&c->realm, ynode_get(h, "realm"), NULL, err) < 0)
			return ERR_INVALID;
		c->auth = REG_AUTH_HTPASSWD;
	}
	if (t != NULL && !ynode_is_null(t)) {
		const struct ynode *realm = NULL, *key = NULL;
		int64_t ttl = -1;
		if (c->htpasswd == NULL)
			return ynode_err(err, ERR_INVALID, t, "%s",
			                 "'auth.token' needs 'auth.htpasswd' for its users");
		free(c->realm);
		c->realm = NULL;
		if (ynode_expect(t, YNODE_MAP, err) < 0 || ynode_check_keys(t, tkeys, err) < 0 ||
		    ynode_require(&realm, t, "realm", err) < 0 ||
		    ynode_require(&key, t, "key", err) < 0 ||
		    set_str(&c->realm, realm, NULL, err) < 0 ||
		    set_str(&c->token_key, key, dir, err) < 0 ||
		    set_str(&c->token_service, ynode_get(t, "service"), NULL, err) < 0 ||
		    set_str(&c->token_issuer, ynode_get(t, "issuer"), NULL, err) < 0 ||
		    ynode_as_duration(&ttl, ynode_get(t, "expiration"), err) < 0)
			return ERR_INVALID;
		if (ttl >= 0)
			c->token_ttl = ttl / 1000000000 > 0 ? ttl / 1000000000 : 1;
		if (c->token_service == NULL)
			c->token_service = xstrdup("bale");
		if (c->token_issuer == NULL)
			c->token_issuer = xstrdup("bale");
		c->auth = REG_AUTH_TOKEN;
	}
	return 0;
}

static int load_groups(struct reg_config *c, const struct ynode *n, struct err **err)
{
	if (ynode_expect(n, YNODE_MAP, err) < 0)
		return ERR_INVALID;
	for (size_t i = 0; n != NULL && n->kind == YNODE_MAP && i < n->n; i++) {
		char **members = NULL;
		if (ynode_as_strv(&members, n->items[i], err) < 0)
			return ERR_INVALID;
		c->groups = xreallocarray(c->groups, c->ngroups + 1, sizeof(*c->groups));
		c->groups[c->ngroups].name = xstrdup(n->keys[i]->text);
		c->groups[c->ngroups].members =
		        members != NULL ? members : xcalloc(1, sizeof(char *));
		c->ngroups++;
	}
	return 0;
}

static int load_rule(struct reg_config *c, const struct ynode *n, struct err **err)
{
	static const char *const keys[] = {"repositories", "users", "groups", "actions", NULL};
	const struct ynode *pat = NULL, *acts = NULL;
	const char *ps = NULL;
	cleanup_strv char **actv = NULL;
	struct reg_rule rule = {0};
	if (ynode_expect(n, YNODE_MAP, err) < 0 || ynode_check_keys(n, keys, err) < 0 ||
	    ynode_require(&pat, n, "repositories", err) < 0 ||
	    ynode_require(&acts, n, "actions", err) < 0 || ynode_as_str(&ps, pat, err) < 0 ||
	    ynode_as_strv(&rule.users, ynode_get(n, "users"), err) < 0 ||
	    ynode_as_strv(&rule.groups, ynode_get(n, "groups"), err) < 0 ||
	    ynode_as_strv(&actv, acts, err) < 0) {
		rule_release(&rule);
		return ERR_INVALID;
	}
	for (size_t i = 0; actv[i] != NULL; i++) {
		unsigned bits = 0;
		struct err *e = NULL;
		if (reg_actions_parse(actv[i], false, &bits, &e) < 0) {
			ynode_err(err, ERR_INVALID, acts->items[i], "%s", err_msg(e));
			err_free(e);
			rule_release(&rule);
			return ERR_INVALID;
		}
		rule.actions |= bits;
	}
	if (rule.users == NULL && rule.groups == NULL) {
		rule_release(&rule);
		return ynode_err(err, ERR_INVALID, n, "%s",
		                 "an access rule needs 'users' or 'groups'");
	}
	rule.pattern = xstrdup(ps);
	c->rules = xreallocarray(c->rules, c->nrules + 1, sizeof(*c->rules));
	c->rules[c->nrules++] = rule;
	return 0;
}

static int load_root(struct reg_config *c, const struct ynode *root, const char *dir,
                     struct err **err)
{
	static const char *const keys[] = {"listen", "root", "threads", "delete", "tls", "limits",
	                                   "log",    "auth", "groups",  "access", NULL};
	uint64_t threads = c->threads;
	const struct ynode *access = ynode_get(root, "access");
	if (ynode_expect(root, YNODE_MAP, err) < 0 || ynode_check_keys(root, keys, err) < 0 ||
	    set_str(&c->listen, ynode_get(root, "listen"), NULL, err) < 0 ||
	    set_str(&c->root, ynode_get(root, "root"), dir, err) < 0 ||
	    ynode_as_u64(&threads, ynode_get(root, "threads"), 0, 1024, err) < 0 ||
	    ynode_as_bool(&c->delete_enabled, ynode_get(root, "delete"), err) < 0 ||
	    load_tls(c, ynode_get(root, "tls"), dir, err) < 0 ||
	    load_limits(c, ynode_get(root, "limits"), err) < 0 ||
	    load_log(c, ynode_get(root, "log"), err) < 0 ||
	    load_auth(c, ynode_get(root, "auth"), dir, err) < 0 ||
	    load_groups(c, ynode_get(root, "groups"), err) < 0 ||
	    ynode_expect(access, YNODE_SEQ, err) < 0)
		return ERR_INVALID;
	c->threads = (unsigned)threads;
	for (size_t i = 0; access != NULL && access->kind == YNODE_SEQ && i < access->n; i++)
		if (load_rule(c, access->items[i], err) < 0)
			return ERR_INVALID;
	return 0;
}

int reg_config_load(struct reg_config *c, const char *path, struct err **err)
{
	cleanup_ynode struct ynode *root = NULL;
	if (yml_load_file(&root, path, err) < 0)
		return err_code(*err);
	cleanup_free char *copy = xstrdup(path);
	const char *dir = dirname(copy);
	free(c->file);
	c->file = xstrdup(path);
	return load_root(c, root, dir, err);
}

static int check_readable(const char *what, const char *path, struct err **err)
{
	if (path != NULL && access(path, R_OK) < 0)
		return err_sys(err, ERR_INVALID, errno, "%s '%s'", what, path);
	return 0;
}

int reg_config_check(const struct reg_config *c, struct err **err)
{
	if (strrchr(c->listen, ':') == NULL)
		return err_set(err, ERR_INVALID, "listen address '%s' has no port (want HOST:PORT)",
		               c->listen);
	if (check_readable("tls certificate", c->tls_cert, err) < 0 ||
	    check_readable("tls key", c->tls_key, err) < 0)
		return ERR_INVALID;
	struct reg_auth *a = NULL;
	int rc = reg_auth_new(&a, c, err);
	reg_auth_free(a);
	return rc;
}
