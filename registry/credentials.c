/* docker config.json credentials and docker-credential-* helpers: see
 * credentials.h. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/util.h"
#include "registry/credentials.h"
#include "registry/transport.h"

#define DOCKER_HUB_KEY "https://index.docker.io/v1/"

void regc_cred_release(struct regc_cred *c)
{
	free(c->username);
	free(c->password);
	free(c->identity_token);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

int regc_creds_path(char **out, struct err **err)
{
	const char *dir = getenv("DOCKER_CONFIG");
	if (dir != NULL && dir[0] != '\0') {
		*out = xasprintf("%s/config.json", dir);
		return 0;
	}
	const char *home = getenv("HOME");
	if (home == NULL || home[0] == '\0')
		return err_set(err, ERR_INVALID, "cannot find the docker config: %s",
			       "neither DOCKER_CONFIG nor HOME is set");
	*out = xasprintf("%s/.docker/config.json", home);
	return 0;
}

static bool is_docker_hub(const char *domain)
{
	return str_eq(domain, "docker.io") || str_eq(domain, "index.docker.io") ||
	       str_eq(domain, "registry-1.docker.io");
}

char *regc_creds_key(const char *domain)
{
	return xstrdup(is_docker_hub(domain) ? DOCKER_HUB_KEY : domain);
}

/* The host[:port] of a key as docker writes them ("https://reg/v1/",
 * "http://reg:5000", "reg:5000"). The caller frees. */
static char *key_host(const char *key)
{
	const char *p = key;
	if (str_has_prefix(p, "https://"))
		p += 8;
	else if (str_has_prefix(p, "http://"))
		p += 7;
	size_t n = strcspn(p, "/");
	return xstrndup(p, n);
}

static bool key_matches(const char *key, const char *domain)
{
	cleanup_free char *host = key_host(key);
	if (is_docker_hub(domain))
		return is_docker_hub(host);
	return str_eq(host, domain);
}

/* The config, or an empty object when the file does not exist. */
static int config_load(json_t **out, const char *path, bool *exists, struct err **err)
{
	struct err *e = NULL;
	int r = jx_load_file(out, AT_FDCWD, path, BALE_MAX_JSON, 0, &e);
	if (r == ERR_NOTFOUND) {
		err_free(e);
		*out = json_object();
		if (exists != NULL)
			*exists = false;
		return 0;
	}
	if (r < 0) {
		err_move(err, &e);
		return r;
	}
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return err_set(err, ERR_INVALID, "%s: the document must be an object", path);
	}
	if (exists != NULL)
		*exists = true;
	return 0;
}

/* The helper name for domain (borrowed from cfg), or NULL. */
static const char *helper_for(const json_t *cfg, const char *domain)
{
	json_t *helpers = json_object_get(cfg, "credHelpers");
	const char *key;
	json_t *v;
	if (json_is_object(helpers)) {
		json_object_foreach(helpers, key, v)
		{
			if (json_is_string(v) && key_matches(key, domain))
				return json_string_value(v);
		}
	}
	json_t *store = json_object_get(cfg, "credsStore");
	if (json_is_string(store) && json_string_value(store)[0] != '\0')
		return json_string_value(store);
	return NULL;
}

/* ---- helpers ---- */

static void child_exec(int in_fd, int out_fd, const char *prog, const char *verb)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || (devnull >= 0 && dup2(devnull, 2) < 0))
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	execlp(prog, prog, verb, (char *)NULL);
	_exit(127);
}

/* Run docker-credential-NAME VERB with input on stdin; its stdout into out
 * (capped), its exit status into *status (-1: could not run). */
static int helper_run(const char *name, const char *verb, const char *input, struct buf *out,
		      int *status, struct err **err)
{
	if (strchr(name, '/') != NULL || name[0] == '\0')
		return err_set(err, ERR_INVALID, "invalid credential helper name '%s'", name);
	cleanup_free char *prog = xasprintf("docker-credential-%s", name);
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return err_sys(err, ERR_IO, errno, "cannot run '%s'", prog);
	if (pipe2(outp, O_CLOEXEC) < 0) {
		int e = errno;
		close(in[0]);
		close(in[1]);
		return err_sys(err, ERR_IO, e, "cannot run '%s'", prog);
	}
	pid_t pid = fork();
	if (pid == 0)
		child_exec(in[0], outp[1], prog, verb);
	int fork_errno = errno;
	close(in[0]);
	close(outp[1]);
	if (pid < 0) {
		close(in[1]);
		close(outp[0]);
		return err_sys(err, ERR_IO, fork_errno, "cannot run '%s'", prog);
	}
	/* Inputs are a few hundred bytes: they fit the pipe, so writing all
	 * before reading cannot deadlock. A helper that exits without reading
	 * gives EPIPE, which the exit status then explains. */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	(void)write_all(in[1], input, strlen(input));
	signal(SIGPIPE, old);
	close(in[1]);
	struct err *re = NULL;
	int r = buf_read_fd(out, outp[0], prog, &re);
	close(outp[0]);
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	if (r < 0) {
		err_move(err, &re);
		return r;
	}
	err_free(re);
	if (*status == 127)
		return err_set(err, ERR_FAIL, "cannot run '%s': not found on PATH", prog);
	return 0;
}

static int helper_get(struct regc_cred *out, const char *name, const char *key, struct err **err)
{
	cleanup_buf struct buf b;
	buf_init(&b, REGC_MAX_HELPER_OUTPUT);
	int status;
	if (helper_run(name, "get", key, &b, &status, err) < 0)
		return err_code(*err);
	cleanup_free char *prog = xasprintf("docker-credential-%s", name);
	if (status != 0) {
		/* The helpers' own words for "none stored". */
		if (strstr(buf_str(&b), "credentials not found") != NULL)
			return err_set(err, ERR_NOTFOUND, "no credentials for '%s' in '%s'", key, prog);
		cleanup_free char *q = str_quote(buf_str(&b), b.len);
		return err_set(err, ERR_FAIL, "'%s get' failed (exit status %d): %s", prog, status, q);
	}
	cleanup_json json_t *j = NULL;
	if (jx_load_buffer(&j, b.data, b.len, prog, 0, err) < 0)
		return ERR_INVALID;
	const char *user = NULL, *secret = NULL;
	if (jx_get_string(&user, j, "Username", false, NULL, err) < 0 ||
	    jx_get_string(&secret, j, "Secret", true, NULL, err) < 0)
		return err_wrap(err, "%s", prog);
	/* Docker's convention: the user "<token>" means Secret is an identity
	 * token, not a password. */
	if (str_eq(user, "<token>")) {
		out->identity_token = xstrdup(secret);
	} else {
		out->username = xstrdup(user != NULL ? user : "");
		out->password = xstrdup(secret);
	}
	out->source = steal_pointer(&prog);
	return 0;
}

static int auths_get(struct regc_cred *out, const json_t *cfg, const char *path, const char *domain,
		     struct err **err)
{
	json_t *auths = json_object_get(cfg, "auths");
	const char *key;
	json_t *entry;
	if (!json_is_object(auths))
		return err_set(err, ERR_NOTFOUND, "no credentials for '%s' in '%s'", domain, path);
	json_object_foreach(auths, key, entry)
	{
		if (!key_matches(key, domain) || !json_is_object(entry))
			continue;
		const char *auth = NULL, *tok = NULL, *user = NULL, *pass = NULL;
		cleanup_free char *epath = jx_path_key("auths", key);
		if (jx_get_string(&auth, entry, "auth", false, epath, err) < 0 ||
		    jx_get_string(&tok, entry, "identitytoken", false, epath, err) < 0 ||
		    jx_get_string(&user, entry, "username", false, epath, err) < 0 ||
		    jx_get_string(&pass, entry, "password", false, epath, err) < 0)
			return err_wrap(err, "%s", path);
		if (auth != NULL && auth[0] != '\0') {
			cleanup_free char *dec = NULL;
			size_t n;
			if (regc_base64_decode(&dec, &n, auth, err) < 0)
				return err_wrap(err, "%s: field '%s.auth'", path, epath);
			char *colon = memchr(dec, ':', n);
			if (colon == NULL)
				return err_set(err, ERR_INVALID, "%s: field '%s.auth' is not user:password",
					       path, epath);
			out->username = xstrndup(dec, (size_t)(colon - dec));
			out->password = xstrdup(colon + 1);
		} else if (user != NULL && pass != NULL) {
			out->username = xstrdup(user);
			out->password = xstrdup(pass);
		}
		if (tok != NULL && tok[0] != '\0')
			out->identity_token = xstrdup(tok);
		if (out->username == NULL && out->identity_token == NULL)
			continue; /* docker's placeholder {} for a helper-held entry */
		out->source = xstrdup(path);
		return 0;
	}
	return err_set(err, ERR_NOTFOUND, "no credentials for '%s' in '%s'", domain, path);
}

int regc_creds_get(struct regc_cred *out, const char *path, const char *domain, struct err **err)
{
	cleanup_free char *def = NULL;
	if (path == NULL) {
		if (regc_creds_path(&def, err) < 0)
			return ERR_INVALID;
		path = def;
	}
	memset(out, 0, sizeof(*out));
	cleanup_json json_t *cfg = NULL;
	if (config_load(&cfg, path, NULL, err) < 0)
		return err_code(*err);
	const char *helper = helper_for(cfg, domain);
	if (helper != NULL) {
		cleanup_free char *key = regc_creds_key(domain);
		int r = helper_get(out, helper, key, err);
		if (r < 0)
			regc_cred_release(out);
		return r;
	}
	int r = auths_get(out, cfg, path, domain, err);
	if (r < 0)
		regc_cred_release(out);
	return r;
}

/* ---- writing ---- */

static int mkdir_parent(const char *path, struct err **err)
{
	cleanup_free char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_sys(err, err_code_from_errno(errno), errno, "cannot create '%s'", dir);
	return 0;
}

/* Write cfg to path atomically (temp file, fsync, rename), mode 0600. */
static int config_save(const json_t *cfg, const char *path, struct err **err)
{
	if (mkdir_parent(path, err) < 0)
		return err_code(*err);
	cleanup_free char *text = json_dumps(cfg, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (text == NULL)
		return err_set(err, ERR_INVALID, "cannot serialize '%s'", path);
	cleanup_free char *line = xasprintf("%s\n", text);
	return file_write_atomic(AT_FDCWD, path, line, strlen(line), 0600, err);
}

static int helper_store(const char *name, const char *key, const char *user, const char *pass,
			struct err **err)
{
	cleanup_json json_t *j = json_pack("{s:s,s:s,s:s}", "ServerURL", key, "Username", user,
					   "Secret", pass);
	cleanup_free char *in = NULL;
	if (j == NULL || jx_dump(&in, NULL, j, 0, err) < 0)
		return err_set(err, ERR_INVALID, "cannot encode credentials for '%s'", key);
	cleanup_buf struct buf b;
	buf_init(&b, REGC_MAX_HELPER_OUTPUT);
	int status;
	if (helper_run(name, "store", in, &b, &status, err) < 0)
		return err_code(*err);
	if (status != 0) {
		cleanup_free char *q = str_quote(buf_str(&b), b.len);
		return err_set(err, ERR_FAIL, "'docker-credential-%s store' failed (exit status %d): %s",
			       name, status, q);
	}
	return 0;
}

static json_t *auths_of(json_t *cfg)
{
	json_t *auths = json_object_get(cfg, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(cfg, "auths", auths);
	}
	return auths;
}

/* Remove every auths key that names domain; returns how many. */
static size_t auths_remove(json_t *auths, const char *domain)
{
	size_t n = 0;
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(auths, tmp, key, v)
	{
		if (key_matches(key, domain)) {
			json_object_del(auths, key);
			n++;
		}
	}
	return n;
}

int regc_creds_store(const char *path, const char *domain, const char *username,
		     const char *password, char **where, struct err **err)
{
	cleanup_free char *def = NULL;
	if (path == NULL) {
		if (regc_creds_path(&def, err) < 0)
			return ERR_INVALID;
		path = def;
	}
	cleanup_json json_t *cfg = NULL;
	if (config_load(&cfg, path, NULL, err) < 0)
		return err_code(*err);
	cleanup_free char *key = regc_creds_key(domain);
	const char *helper = helper_for(cfg, domain);
	json_t *auths = auths_of(cfg);
	auths_remove(auths, domain);
	if (helper != NULL) {
		if (helper_store(helper, key, username, password, err) < 0)
			return err_code(*err);
		/* docker leaves an empty entry so `docker info` lists the registry */
		json_object_set_new(auths, key, json_object());
	} else {
		cleanup_free char *pair = xasprintf("%s:%s", username, password);
		cleanup_free char *b64 = regc_base64_encode(pair, strlen(pair));
		json_object_set_new(auths, key, json_pack("{s:s}", "auth", b64));
	}
	if (config_save(cfg, path, err) < 0)
		return err_code(*err);
	if (where != NULL)
		*where = helper != NULL ? xasprintf("docker-credential-%s", helper) : xstrdup(path);
	return 0;
}

int regc_creds_erase(const char *path, const char *domain, struct err **err)
{
	cleanup_free char *def = NULL;
	if (path == NULL) {
		if (regc_creds_path(&def, err) < 0)
			return ERR_INVALID;
		path = def;
	}
	cleanup_json json_t *cfg = NULL;
	bool exists = false;
	if (config_load(&cfg, path, &exists, err) < 0)
		return err_code(*err);
	if (!exists)
		return err_set(err, ERR_NOTFOUND, "not logged in to '%s'", domain);
	cleanup_free char *key = regc_creds_key(domain);
	const char *helper = helper_for(cfg, domain);
	bool found = false;
	if (helper != NULL) {
		cleanup_buf struct buf b;
		buf_init(&b, REGC_MAX_HELPER_OUTPUT);
		int status;
		if (helper_run(helper, "erase", key, &b, &status, err) < 0)
			return err_code(*err);
		found = status == 0;
	}
	json_t *auths = json_object_get(cfg, "auths");
	if (json_is_object(auths) && auths_remove(auths, domain) > 0) {
		found = true;
		if (config_save(cfg, path, err) < 0)
			return err_code(*err);
	}
	if (!found)
		return err_set(err, ERR_NOTFOUND, "not logged in to '%s'", domain);
	return 0;
}
