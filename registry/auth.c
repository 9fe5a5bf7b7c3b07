/* Authentication (htpasswd with bcrypt via libcrypt, bearer tokens) and
 * access rules (see auth.h). */
#include "config.h"

#include <crypt.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/limits.h"
#include "common/util.h"
#include "registry/auth.h"
#include "registry/token.h"

/* An htpasswd file. */
#define REG_MAX_HTPASSWD (4u << 20)
/* Verified credentials remembered, so bcrypt runs once per client rather
 * than once per request (docker sends Basic on every request). */
#define REG_CRED_CACHE 64
#define REG_CRED_TTL   300

struct htuser {
	char *name;
	char *hash;
};

struct reg_auth {
	const struct reg_config *cfg;
	struct htuser *users;
	size_t nusers;
	struct reg_token *token;
	pthread_mutex_t lock;
	struct {
		unsigned char key[32];
		int64_t until;
	} cache[REG_CRED_CACHE];
	size_t cache_next;
};

/* A bcrypt hash of a password nobody has, checked for unknown users so
 * they take as long as known ones. */
static const char dummy_hash[] = "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

struct reg_token *reg_auth_token(struct reg_auth *a)
{
	return a->token;
}

bool reg_auth_enabled(const struct reg_auth *a)
{
	return a != NULL && a->cfg->auth != REG_AUTH_NONE;
}

static bool is_bcrypt(const char *h)
{
	return str_has_prefix(h, "$2y$") || str_has_prefix(h, "$2b$") || str_has_prefix(h, "$2a$");
}

static int load_htpasswd(struct reg_auth *a, const char *path, struct err **err)
{
	cleanup_buf struct buf b;
	buf_init(&b, REG_MAX_HTPASSWD);
	if (buf_read_file(&b, AT_FDCWD, path, err) < 0)
		return err_wrap(err, "htpasswd");
	cleanup_strv char **lines = str_split(buf_str(&b), '\n');
	for (size_t i = 0; lines[i] != NULL; i++) {
		char *l = str_trim(lines[i]);
		if (l[0] == '\0' || l[0] == '#')
			continue;
		char *colon = strchr(l, ':');
		if (colon == NULL || colon == l)
			return err_set(err, ERR_INVALID, "%s:%zu: want 'user:hash'", path, i + 1);
		*colon = '\0';
		if (!is_bcrypt(colon + 1))
			return err_set(
			        err, ERR_INVALID,
			        "%s:%zu: user '%s': only bcrypt hashes (htpasswd -B) are supported",
			        path, i + 1, l);
		a->users = xreallocarray(a->users, a->nusers + 1, sizeof(*a->users));
		a->users[a->nusers].name = xstrdup(l);
		a->users[a->nusers].hash = xstrdup(colon + 1);
		a->nusers++;
	}
	return 0;
}

int reg_auth_new(struct reg_auth **out, const struct reg_config *cfg, struct err **err)
{
	struct reg_auth *a = xcalloc(1, sizeof(*a));
	a->cfg = cfg;
	pthread_mutex_init(&a->lock, NULL);
	int rc = 0;
	if (cfg->auth != REG_AUTH_NONE && cfg->htpasswd != NULL)
		rc = load_htpasswd(a, cfg->htpasswd, err);
	if (rc == 0 && cfg->auth == REG_AUTH_TOKEN)
		rc = reg_token_new(&a->token, cfg->token_key, cfg->token_issuer, cfg->token_service,
		                   cfg->token_ttl, err);
	if (rc < 0) {
		reg_auth_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void reg_auth_free(struct reg_auth *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nusers; i++) {
		free(a->users[i].name);
		OPENSSL_cleanse(a->users[i].hash, strlen(a->users[i].hash));
		free(a->users[i].hash);
	}
	free(a->users);
	reg_token_free(a->token);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static void cred_key(unsigned char key[32], const char *user, const char *password,
                     const char *hash)
{
	struct hasher *h = hasher_new(DIGEST_SHA256);
	struct digest d;
	hasher_update(h, user, strlen(user) + 1);
	hasher_update(h, password, strlen(password) + 1);
	hasher_update(h, hash, strlen(hash));
	hasher_final(h, &d);
	hasher_free(h);
	memcpy(key, d.bytes, 32);
}

static bool cache_hit(struct reg_auth *a, const unsigned char key[32])
{
	int64_t now = (int64_t)time(NULL);
	bool hit = false;
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < REG_CRED_CACHE && !hit; i++)
		hit = a->cache[i].until > now && CRYPTO_memcmp(a->cache[i].key, key, 32) == 0;
	pthread_mutex_unlock(&a->lock);
	return hit;
}

static void cache_add(struct reg_auth *a, const unsigned char key[32])
{
	pthread_mutex_lock(&a->lock);
	memcpy(a->cache[a->cache_next].key, key, 32);
	a->cache[a->cache_next].until = (int64_t)time(NULL) + REG_CRED_TTL;
	a->cache_next = (a->cache_next + 1) % REG_CRED_CACHE;
	pthread_mutex_unlock(&a->lock);
}

int reg_auth_password(struct reg_auth *a, const char *user, const char *password, struct err **err)
{
	const char *hash = NULL;
	for (size_t i = 0; i < a->nusers && hash == NULL; i++)
		if (strcmp(a->users[i].name, user) == 0)
			hash = a->users[i].hash;
	unsigned char key[32];
	cred_key(key, user, password, hash != NULL ? hash : dummy_hash);
	if (hash != NULL && cache_hit(a, key))
		return 0;
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *got = crypt_r(password, hash != NULL ? hash : dummy_hash, cd);
	bool ok = hash != NULL && got != NULL && got[0] != '*' && strlen(got) == strlen(hash) &&
	          CRYPTO_memcmp(got, hash, strlen(hash)) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	if (!ok)
		return err_set(err, ERR_UNAUTHORIZED, "%s", "invalid username or password");
	cache_add(a, key);
	return 0;
}

/* "user:password" from a Basic credential. */
static int basic_decode(const char *b64, char **user, char **password, struct err **err)
{
	size_t n = strlen(b64);
	if (n == 0 || n > 4096 || n % 4 != 0)
		return err_set(err, ERR_UNAUTHORIZED, "%s", "malformed Basic credentials");
	cleanup_free unsigned char *raw = xmalloc(n / 4 * 3 + 1);
	int len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
	if (len < 0)
		return err_set(err, ERR_UNAUTHORIZED, "%s", "malformed Basic credentials");
	while (n > 0 && b64[n - 1] == '=') {
		len--;
		n--;
	}
	raw[len] = '\0';
	if (memchr(raw, '\0', (size_t)len) != NULL)
		return err_set(err, ERR_UNAUTHORIZED, "%s", "malformed Basic credentials");
	char *colon = strchr((char *)raw, ':');
	if (colon == NULL)
		return err_set(err, ERR_UNAUTHORIZED, "%s", "malformed Basic credentials");
	*user = xstrndup((char *)raw, (size_t)(colon - (char *)raw));
	*password = xstrdup(colon + 1);
	OPENSSL_cleanse(raw, (size_t)len);
	return 0;
}

int reg_auth_basic(struct reg_auth *a, const char *b64, struct reg_identity *who, struct err **err)
{
	cleanup_free char *user = NULL, *password = NULL;
	int rc = basic_decode(b64, &user, &password, err);
	/* clients without credentials may send an empty pair: anonymous */
	if (rc == 0 && user[0] == '\0' && password[0] == '\0')
		return 0;
	if (rc == 0 && strlen(user) >= sizeof(who->user))
		rc = err_set(err, ERR_UNAUTHORIZED, "%s", "invalid username or password");
	if (rc == 0)
		rc = reg_auth_password(a, user, password, err);
	if (password != NULL)
		OPENSSL_cleanse(password, strlen(password));
	if (rc < 0)
		return rc;
	str_copy(who->user, user, sizeof(who->user));
	who->authenticated = true;
	return 0;
}

int reg_auth_identify(struct reg_auth *a, const char *authorization, struct reg_identity *who,
                      struct err **err)
{
	memset(who, 0, sizeof(*who));
	if (authorization == NULL || !reg_auth_enabled(a))
		return 0;
	const char *p = authorization;
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "Basic ", 6) == 0 && a->nusers > 0 && a->cfg->auth == REG_AUTH_HTPASSWD)
		return reg_auth_basic(a, p + 6, who, err);
	if (strncasecmp(p, "Bearer ", 7) == 0 && a->token != NULL)
		return reg_token_verify(a->token, p + 7, who, err);
	return err_set(err, ERR_UNAUTHORIZED, "%s", "unsupported authorization scheme");
}

static bool in_list(char *const *v, const char *s)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static bool user_in_group(const struct reg_config *cfg, const char *user, const char *group)
{
	for (size_t i = 0; i < cfg->ngroups; i++)
		if (str_eq(cfg->groups[i].name, group) && in_list(cfg->groups[i].members, user))
			return true;
	return false;
}

static bool rule_applies(const struct reg_config *cfg, const struct reg_rule *rule,
                         const char *user)
{
	if (user == NULL)
		return in_list(rule->users, "anonymous");
	if (in_list(rule->users, user) || in_list(rule->users, "*"))
		return true;
	for (size_t i = 0; rule->groups != NULL && rule->groups[i] != NULL; i++)
		if (user_in_group(cfg, user, rule->groups[i]))
			return true;
	return false;
}

unsigned reg_auth_rules_grant(struct reg_auth *a, const char *user, const char *repo)
{
	const struct reg_config *cfg = a->cfg;
	const unsigned all = REG_ACT_PULL | REG_ACT_PUSH | REG_ACT_DELETE | REG_ACT_CATALOG;
	if (cfg->auth == REG_AUTH_NONE)
		return all;
	unsigned acts = 0;
	if (user == NULL && cfg->anonymous_pull)
		acts |= REG_ACT_PULL | REG_ACT_CATALOG;
	if (user != NULL && cfg->nrules == 0)
		return all;
	if (user != NULL)
		acts |= REG_ACT_CATALOG;
	if (repo == NULL)
		return acts;
	for (size_t i = 0; i < cfg->nrules; i++) {
		const struct reg_rule *rule = &cfg->rules[i];
		if (fnmatch(rule->pattern, repo, 0) == 0 && rule_applies(cfg, rule, user))
			acts |= rule->actions;
	}
	return acts;
}

unsigned reg_auth_allowed(struct reg_auth *a, const struct reg_identity *who, const char *repo)
{
	if (!reg_auth_enabled(a))
		return REG_ACT_PULL | REG_ACT_PUSH | REG_ACT_DELETE | REG_ACT_CATALOG;
	if (who->from_token) {
		if (repo == NULL)
			return who->catalog_grant ? REG_ACT_CATALOG | REG_ACT_PULL : 0;
		for (size_t i = 0; i < who->ngrants; i++)
			if (strcmp(who->grants[i].repo, repo) == 0)
				return who->grants[i].actions;
		return 0;
	}
	return reg_auth_rules_grant(a, who->authenticated ? who->user : NULL, repo);
}

static void actions_text(char *out, size_t size, unsigned actions)
{
	snprintf(out, size, "%s%s%s%s%s", (actions & REG_ACT_PULL) ? "pull" : "",
	         (actions & REG_ACT_PULL) && (actions & (REG_ACT_PUSH | REG_ACT_DELETE)) ? "," : "",
	         (actions & REG_ACT_PUSH) ? "push" : "",
	         (actions & REG_ACT_PUSH) && (actions & REG_ACT_DELETE) ? "," : "",
	         (actions & REG_ACT_DELETE) ? "delete" : "");
}

char *reg_auth_challenge(struct reg_auth *a, const char *repo, unsigned actions, const char *error)
{
	const struct reg_config *cfg = a->cfg;
	if (cfg->auth == REG_AUTH_HTPASSWD)
		return xasprintf("Basic realm=\"%s\"", cfg->realm != NULL ? cfg->realm : "bale");
	if (cfg->auth != REG_AUTH_TOKEN)
		return NULL;
	struct buf b;
	buf_init(&b, BALE_MAX_HEADER);
	buf_addf(&b, NULL, "Bearer realm=\"%s\",service=\"%s\"", cfg->realm, cfg->token_service);
	if (repo != NULL && (actions & (REG_ACT_PULL | REG_ACT_PUSH | REG_ACT_DELETE))) {
		char acts[64];
		/* docker asks for pull with push: a push needs both */
		if (actions & REG_ACT_PUSH)
			actions |= REG_ACT_PULL;
		actions_text(acts, sizeof(acts), actions);
		buf_addf(&b, NULL, ",scope=\"repository:%s:%s\"", repo, acts);
	} else if (actions & REG_ACT_CATALOG) {
		buf_addstr(&b, ",scope=\"registry:catalog:*\"", NULL);
	}
	if (error != NULL)
		buf_addf(&b, NULL, ",error=\"%s\"", error);
	return buf_detach(&b, NULL);
}

int reg_actions_parse(const char *s, bool lenient, unsigned *out, struct err **err)
{
	cleanup_strv char **words = str_split(s, ',');
	unsigned acts = 0;
	for (size_t i = 0; words[i] != NULL; i++) {
		char *w = str_trim(words[i]);
		if (str_eq(w, "pull"))
			acts |= REG_ACT_PULL;
		else if (str_eq(w, "push"))
			acts |= REG_ACT_PUSH;
		else if (str_eq(w, "delete"))
			acts |= REG_ACT_DELETE;
		else if (str_eq(w, "*"))
			acts |= REG_ACT_PULL | REG_ACT_PUSH | REG_ACT_DELETE;
		else if (!lenient)
			return err_set(err, ERR_INVALID,
			               "unknown action '%.50s' (want pull, push, delete or *)", w);
	}
	*out = acts;
	return 0;
}
