/* RUN: the command (exec or shell form, heredocs) in the sandbox over the
 * stage's layers with a fresh upper dir, which becomes the layer. Mounts:
 * cache (kept under <root>/build/cachemounts, shared, locked or private),
 * bind (context or a stage, read-only unless rw, whose writes go to a
 * throwaway overlay upper), tmpfs, secret (never
 * in a layer, the history or the cache key). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "common/buf.h"
#include "common/path.h"
#include "common/util.h"

struct run_mounts {
	struct sbx_bind *binds;
	size_t n;
	char **strings;  /* storage for sources/targets */
	struct rootfs_view *views;
	size_t n_views;
	int *locks;      /* flock()ed cache mount lock files, held until the
			  * step ends */
	size_t n_locks;
};

static void run_mounts_release(struct run_mounts *m)
{
	for (size_t i = 0; i < m->n_views; i++)
		rootfs_view_close(&m->views[i]);
	free(m->views);
	for (size_t i = 0; i < m->n_locks; i++)
		close(m->locks[i]);
	free(m->locks);
	free(m->binds);
	strv_free(m->strings);
}

static void mount_add(struct run_mounts *m, const char *src, const char *target, bool ro)
{
	strv_push(&m->strings, src);
	strv_push(&m->strings, target);
	m->binds = xreallocarray(m->binds, m->n + 1, sizeof *m->binds);
	m->binds[m->n++] = (struct sbx_bind){ .readonly = ro };
}

static void mounts_fix(struct run_mounts *m)
{
	for (size_t i = 0; i < m->n; i++) {
		m->binds[i].source = m->strings[2 * i];
		m->binds[i].target = m->strings[2 * i + 1];
	}
}

struct expand_ctx {
	struct build_ctx *b;
	struct cf_env *env;
};

static int mount_expand(void *ctx, const char *word, char **out, struct err **err)
{
	struct expand_ctx *x = ctx;
	return cf_expand_word(&x->b->lex, word, x->env, out, err);
}

/* The secret's file: --secret id=ID,src=PATH (or env=VAR, written to a
 * temp file). */
static int secret_source(struct build_ctx *b, const char *id, char **path, struct err **err)
{
	for (char **s = b->o->secrets; s != NULL && *s != NULL; s++) {
		cleanup_strv char **kv = str_split(*s, ',');
		const char *sid = NULL, *src = NULL, *envv = NULL;
		for (char **p = kv; *p != NULL; p++) {
			if (str_has_prefix(*p, "id="))
				sid = *p + 3;
			else if (str_has_prefix(*p, "src=") || str_has_prefix(*p, "source="))
				src = strchr(*p, '=') + 1;
			else if (str_has_prefix(*p, "env="))
				envv = *p + 4;
		}
		if (sid == NULL || strcmp(sid, id) != 0)
			continue;
		if (src != NULL) {
			*path = realpath(src, NULL);
			if (*path == NULL)
				return err_sys(err, ERR_NOTFOUND, errno, "secret '%s': '%s'", id, src);
			return 0;
		}
		const char *v = getenv(envv != NULL ? envv : id);
		if (v == NULL)
			return err_set(err, ERR_NOTFOUND, "secret '%s': environment variable not set",
				       id);
		cleanup_free char *dir = rootfs_mktemp(b, "secret", err);
		if (dir == NULL)
			return ERR_IO;
		*path = xasprintf("%s/secret", dir);
		int fd = open(*path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0400);
		if (fd < 0 || write_all(fd, v, strlen(v)) < 0) {
			if (fd >= 0)
				close(fd);
			return err_sys(err, ERR_IO, errno, "secret '%s'", id);
		}
		close(fd);
		return 0;
	}
	return ERR_NOTFOUND;
}

/* Take the cache's lock as its sharing mode asks (BuildKit semantics):
 * shared (default): any number of steps at once, but not while a locked
 * one runs; locked: one step at a time, the others wait; private: the
 * cache when nobody uses it, else *busy and the step gets a fresh empty
 * cache of its own. The fd goes to rm, closed (unlocked) after the step. */
static int cache_mount_lock(const char *dir, const char *sharing, struct run_mounts *rm,
			    bool *busy, struct err **err)
{
	*busy = false;
	int op;
	if (sharing == NULL || strcmp(sharing, "shared") == 0)
		op = LOCK_SH;
	else if (strcmp(sharing, "locked") == 0)
		op = LOCK_EX;
	else if (strcmp(sharing, "private") == 0)
		op = LOCK_EX | LOCK_NB;
	else
		return err_set(err, ERR_INVALID, "unsupported sharing value '%s'", sharing);
	cleanup_free char *path = xasprintf("%s.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(err, ERR_IO, errno, "cannot open '%s'", path);
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK && (op & LOCK_NB)) {
			*busy = true;
			return 0;
		}
		return err_sys(err, ERR_IO, e, "cannot lock '%s'", path);
	}
	rm->locks = xreallocarray(rm->locks, rm->n_locks + 1, sizeof *rm->locks);
	rm->locks[rm->n_locks++] = fd;
	return 0;
}

static void cache_mount_init(const struct cf_mount *m, const char *dir)
{
	if (m->has_mode)
		(void)chmod(dir, (mode_t)m->mode);
	if (m->has_uid || m->has_gid)
		(void)!chown(dir, m->has_uid ? (uid_t)m->uid : 0, m->has_gid ? (gid_t)m->gid : 0);
}

static int cache_mount_dir(struct build_ctx *b, const struct cf_mount *m, const char *target,
			   struct run_mounts *rm, char **out, struct err **err)
{
	struct digest d;
	const char *id = m->id != NULL && m->id[0] != '\0' ? m->id : target;
	digest_buffer(&d, DIGEST_SHA256, id, strlen(id));
	char hex[DIGEST_MAX_STRING];
	digest_hex(&d, hex);
	*out = xasprintf("%s/cachemounts/%.32s", b->work, hex);
	bool busy;
	int r = cache_mount_lock(*out, m->sharing, rm, &busy, err);
	if (r < 0)
		return r;
	if (busy) {
		free(*out);
		*out = rootfs_mktemp(b, "privatecache", err);
		if (*out == NULL)
			return ERR_IO;
		cache_mount_init(m, *out);
		return 0;
	}
	if (mkdir(*out, 0755) < 0) {
		if (errno != EEXIST)
			return err_sys(err, ERR_IO, errno, "cannot create '%s'", *out);
		return 0;
	}
	cache_mount_init(m, *out);
	return 0;
}

/* One --mount; the content of bind sources goes into the cache key. */
static int mount_one(struct build_ctx *b, struct bstage *st, const char *spec,
		     struct cf_env *env, struct run_mounts *rm, struct cache_key *k,
		     struct err **err)
{
	struct expand_ctx x = { b, env };
	struct cf_mount m;
	if (cf_mount_parse(spec, mount_expand, &x, &m, err) < 0)
		return ERR_INVALID;
	int r = 0;
	cleanup_free char *target = m.target != NULL ? step_abs_path(st, m.target) : NULL;
	switch (m.type) {
	case CF_MOUNT_CACHE: {
		cleanup_free char *dir = NULL;
		cache_key_add(k, "cache");
		cache_key_add(k, target);
		if ((r = cache_mount_dir(b, &m, target, rm, &dir, err)) == 0)
			mount_add(rm, dir, target, m.readonly);
		break;
	}
	case CF_MOUNT_TMPFS: {
		cleanup_free char *dir = rootfs_mktemp(b, "tmpfs", err);
		cache_key_add(k, "tmpfs");
		cache_key_add(k, target);
		if (dir == NULL)
			r = ERR_IO;
		else
			mount_add(rm, dir, target, false);
		break;
	}
	case CF_MOUNT_SECRET: {
		const char *id = m.id != NULL ? m.id : (m.target != NULL ? strrchr(m.target, '/') + 1 : NULL);
		cleanup_free char *src = NULL;
		cleanup_free char *t = target != NULL ? xstrdup(target)
						      : xasprintf("/run/secrets/%s", id != NULL ? id : "");
		if (id == NULL) {
			r = err_set(err, ERR_INVALID, "secret mount needs an id or a target");
			break;
		}
		r = secret_source(b, id, &src, err);
		if (r == ERR_NOTFOUND && !m.required) {
			r = 0; /* an optional secret that is absent is skipped */
			break;
		}
		if (r < 0)
			break;
		/* only the id and target enter the key, never the value */
		cache_key_add(k, "secret");
		cache_key_add(k, t);
		mount_add(rm, src, t, true);
		break;
	}
	case CF_MOUNT_BIND: {
		int rootfd = -1;
		const char *root = b->ctx_dir;
		cache_key_add(k, "bind");
		cache_key_add(k, target);
		if (m.from != NULL) {
			long si = plan_stage_lookup(b, m.from, st->index);
			if (si < 0) {
				r = err_set(err, ERR_UNSUPPORTED, "bind mount from image '%s' is not "
								  "supported yet", m.from);
				break;
			}
			if ((r = build_stage(b, (size_t)si, err)) < 0)
				break;
			rm->views = xreallocarray(rm->views, rm->n_views + 1, sizeof *rm->views);
			struct rootfs_view *v = &rm->views[rm->n_views];
			if ((r = rootfs_view_open(b, &b->stages[si], !m.readonly, v, err)) < 0)
				break;
			rm->n_views++;
			root = v->merged;
			cache_key_add_n(k, b->stages[si].chain.bytes, 32);
		}
		rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		cleanup_free char *resolved = NULL;
		const char *source = m.source != NULL ? m.source : ".";
		if (rootfd < 0 || path_resolve_in_root(rootfd, source, &resolved, err) < 0) {
			if (rootfd >= 0)
				close(rootfd);
			r = err_wrap(err, "bind mount source '%s'", source);
			break;
		}
		if (m.from == NULL)
			r = context_hash_path(b, k, rootfd, resolved[1] != '\0' ? resolved + 1 : ".",
					      NULL, err);
		close(rootfd);
		if (r < 0)
			break;
		if (m.from == NULL && !m.readonly) {
			/* rw: writable, but the writes are discarded (BuildKit):
			 * an overlay over the context with a throwaway upper */
			rm->views = xreallocarray(rm->views, rm->n_views + 1, sizeof *rm->views);
			struct rootfs_view *v = &rm->views[rm->n_views];
			if ((r = rootfs_view_open_dir(b, root, v, err)) < 0)
				break;
			rm->n_views++;
			root = v->merged;
		}
		cleanup_free char *host = xasprintf("%s%s", root, strcmp(resolved, "/") == 0 ? "" : resolved);
		mount_add(rm, host, target, m.readonly);
		break;
	}
	case CF_MOUNT_SSH:
		r = err_set(err, ERR_UNSUPPORTED, "RUN --mount=type=ssh is not supported");
		break;
	}
	cf_mount_release(&m);
	return r;
}

/* Directory mount points the sandbox creates for --mount targets stay in
 * the layer, as BuildKit leaves them; file mount points do not. The
 * sandbox only creates a file target when no layer has it, so an empty
 * file there in the upper dir is the mount point. */
static void drop_file_mountpoints(const char *upper, const struct run_mounts *rm)
{
	int ufd = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ufd < 0)
		return;
	for (size_t i = 0; i < rm->n; i++) {
		struct stat src, sb;
		const char *t = rm->binds[i].target;
		if (stat(rm->binds[i].source, &src) < 0 || S_ISDIR(src.st_mode) || t[0] != '/' ||
		    !path_is_within(t + 1))
			continue;
		if (fstatat(ufd, t + 1, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
		    sb.st_size == 0)
			unlinkat(ufd, t + 1, 0);
	}
	close(ufd);
}

/* The process environment: the stage's state env (image Env and ARG
 * values in the order they were set), then proxy build args. */
static char **run_env(struct build_ctx *b, const struct bstage *st, struct buf *hist_args)
{
	char **env = NULL;
	for (char **e = st->state_env; e != NULL && *e != NULL; e++)
		strv_push(&env, *e);
	size_t n_hist = 0;
	struct buf tmp;
	buf_init(&tmp, 4 * BALE_MAX_LINE);
	for (size_t i = 0; i < st->args.n; i++) {
		if (st->args.values[i] == NULL)
			continue;
		if (!plan_is_proxy_arg(st->args.keys[i])) {
			buf_addf(&tmp, NULL, " %s=%s", st->args.keys[i], st->args.values[i]);
			n_hist++;
		}
	}
	for (size_t i = 0; i < b->cli_args.n; i++)
		if (plan_is_proxy_arg(b->cli_args.keys[i]) && bargs_find(&st->args, b->cli_args.keys[i]) < 0)
			env_strv_set(&env, b->cli_args.keys[i], b->cli_args.values[i]);
	if (n_hist > 0)
		buf_addf(hist_args, NULL, "|%zu%s ", n_hist, buf_str(&tmp));
	buf_release(&tmp);
	return env;
}

/* A shell-form RUN whose command is only a heredoc runs the heredoc as a
 * script (BuildKit); other heredocs are appended to the command text for
 * the shell to read. */
static int run_argv(struct build_ctx *b, const struct bstage *st, const struct cf_instruction *ins,
		    char ***argv, char **script, struct err **err)
{
	(void)b;
	(void)err;
	char **v = NULL;
	if (ins->form == CF_FORM_EXEC) {
		for (size_t i = 0; i < ins->nargs; i++)
			strv_push(&v, ins->args[i]);
		*argv = v;
		return 0;
	}
	if (st->config.config.shell != NULL && st->config.config.shell[0] != NULL)
		for (char **s = st->config.config.shell; *s != NULL; s++)
			strv_push(&v, *s);
	else {
		strv_push(&v, "/bin/sh");
		strv_push(&v, "-c");
	}
	const char *cmd = ins->nargs > 0 ? ins->args[0] : "";
	if (ins->nheredocs == 0) {
		strv_push(&v, cmd);
		*argv = v;
		return 0;
	}
	cleanup_free char *trimmed = str_trim(xstrdup(cmd));
	const struct cf_heredoc *h0 = &ins->heredocs[0];
	bool only = ins->nheredocs == 1 && str_has_prefix(trimmed, "<<") &&
		    strchr(trimmed, ' ') == NULL;
	if (only) {
		*script = cf_heredoc_chomped(h0);
		*argv = v; /* the caller appends the script's path */
		return 0;
	}
	struct buf t;
	buf_init(&t, 4 * BALE_MAX_LINE);
	buf_addstr(&t, cmd, NULL);
	for (size_t i = 0; i < ins->nheredocs; i++) {
		cleanup_free char *c = cf_heredoc_chomped(&ins->heredocs[i]);
		buf_addf(&t, NULL, "\n%s%s\n", c, ins->heredocs[i].name);
	}
	strv_push(&v, buf_str(&t));
	buf_release(&t);
	*argv = v;
	return 0;
}

int step_run(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
	     struct cf_env *env, struct err **err)
{
	struct buf hist, hargs;
	buf_init(&hist, 4 * BALE_MAX_LINE);
	buf_init(&hargs, 4 * BALE_MAX_LINE);
	cleanup_strv char **penv = run_env(b, st, &hargs);
	cleanup_free char *dir = NULL, *upper = NULL, *work = NULL;
	cleanup_strv char **argv = NULL;
	cleanup_free char *script = NULL;
	struct run_mounts rm = { 0 };
	struct rootfs_view v = { .rootfd = -1 };
	struct step_output *so = NULL;
	int out_fd = -1;
	cleanup_strv char **lowers = NULL;
	cleanup_free char *script_dir = NULL;
	int r = 0;
	const char *arch = st->config.platform.architecture;
	if (arch != NULL && strcmp(arch, build_platform_arch()) != 0) {
		/* no binfmt emulation here: say so rather than fail with
		 * "exec format error" from inside the step */
		r = err_set(err, ERR_UNSUPPORTED, "%s:%u: RUN: the stage is for %s/%s and this "
						  "machine is %s/%s: RUN on a foreign architecture "
						  "needs emulation, which bale does not do",
			    b->cf_name, ins->line,
			    st->config.platform.os != NULL ? st->config.platform.os : "linux", arch,
			    build_platform_os(), build_platform_arch());
		goto out;
	}
	r = run_argv(b, st, ins, &argv, &script, err);
	if (r < 0)
		goto out;
	buf_addf(&hist, NULL, "RUN %s", buf_str(&hargs));
	if (ins->form == CF_FORM_EXEC) {
		/* exec form history: the JSON-ish %v of the args */
		buf_addch(&hist, '[', NULL);
		for (size_t i = 0; argv[i] != NULL; i++)
			buf_addf(&hist, NULL, "%s%s", i > 0 ? " " : "", argv[i]);
		buf_addch(&hist, ']', NULL);
	} else {
		for (size_t i = 0; argv[i] != NULL; i++)
			buf_addf(&hist, NULL, "%s%s", i > 0 ? " " : "", argv[i]);
		if (script != NULL)
			buf_addf(&hist, NULL, " %s", ins->args[0]);
	}
	buf_addstr(&hist, " # buildkit", NULL);
	step_announce(b, st, ins, buf_str(&hist));

	enum sbx_network net = b->o->network;
	const char *nf = cf_instruction_flag(ins, "network");
	if (nf != NULL && strcmp(nf, "none") == 0)
		net = SBX_NETWORK_NONE;
	else if (nf != NULL && strcmp(nf, "host") == 0)
		net = SBX_NETWORK_HOST;

	struct cache_key k;
	cache_key_init(&k, &st->chain, "RUN");
	for (size_t i = 0; argv[i] != NULL; i++)
		cache_key_add(&k, argv[i]);
	cache_key_add(&k, script);
	for (size_t i = 0; penv[i] != NULL; i++)
		cache_key_add(&k, penv[i]);
	cache_key_add(&k, st->config.config.user);
	cache_key_add(&k, st->config.config.working_dir);
	cache_key_add(&k, net == SBX_NETWORK_NONE ? "net:none" : "net:host");
	cache_key_add(&k, layer_compression_name(b->o->compression));
	char epoch[32];
	snprintf(epoch, sizeof epoch, "%lld", (long long)b->o->source_date_epoch);
	cache_key_add(&k, epoch);
	for (size_t i = 0; i < ins->nflags && r == 0; i++)
		if (str_has_prefix(ins->flags[i], "--mount="))
			r = mount_one(b, st, ins->flags[i] + 8, env, &rm, &k, err);
	struct digest key;
	cache_key_final(&k, &key);
	if (r < 0) {
		r = err_wrap(err, "%s:%u: RUN --mount", b->cf_name, ins->line);
		goto out;
	}
	if (script != NULL) {
		script_dir = rootfs_mktemp(b, "script", err);
		if (script_dir == NULL) {
			r = ERR_IO;
			goto out;
		}
		cleanup_free char *sp = xasprintf("%s/%s", script_dir, ins->heredocs[0].name);
		int fd = open(sp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
		if (fd < 0 || write_all(fd, script, strlen(script)) < 0) {
			r = err_sys(err, ERR_IO, errno, "cannot write '%s'", sp);
			if (fd >= 0)
				close(fd);
			goto out;
		}
		fchmod(fd, 0755);
		close(fd);
		cleanup_free char *target = xasprintf("/dev/pipes/%s", ins->heredocs[0].name);
		mount_add(&rm, sp, target, true);
		strv_push(&argv, target);
	}
	mounts_fix(&rm);
	bool hit;
	if ((r = step_cache_try(b, st, &key, buf_str(&hist), &hit, err)) < 0 || hit)
		goto out;

	if ((r = rootfs_lowers(b, st, &lowers, err)) < 0)
		goto out;
	dir = rootfs_mktemp(b, "run", err);
	if (dir == NULL) {
		r = ERR_IO;
		goto out;
	}
	upper = xasprintf("%s/upper", dir);
	work = xasprintf("%s/work", dir);
	if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0) {
		r = err_sys(err, ERR_IO, errno, "cannot create '%s'", upper);
		goto out;
	}
	if ((r = step_output_start(b, &so, &out_fd, err)) < 0)
		goto out;
	struct sbx_spec spec = {
		.rootfs = { .lowers = (const char *const *)lowers, .n_lowers = strv_len(lowers),
			    .upper = upper, .work = work, .mode = SBX_ROOTFS_AUTO },
		.argv = argv,
		.env = penv,
		.cwd = st->config.config.working_dir,
		.user = st->config.config.user,
		.network = net,
		.binds = rm.binds,
		.n_binds = rm.n,
		.stdio = { -1, out_fd, out_fd },
		.forward_signals = true,
	};
	struct sbx_result res;
	memset(&res, 0, sizeof res);
	step_running(b);
	r = sbx_run(&spec, &res, err);
	step_output_finish(so, out_fd);
	so = NULL;
	if (r < 0) {
		r = err_wrap(err, "%s:%u: RUN", b->cf_name, ins->line);
		goto out;
	}
	if (res.canceled) {
		r = err_set(err, ERR_CANCELED, "%s:%u: RUN canceled", b->cf_name, ins->line);
		goto out;
	}
	if (res.signal != 0 || res.exit_code != 0) {
		cleanup_free char *q = str_quote(buf_str(&hist), hist.len);
		if (res.signal != 0)
			r = err_set(err, ERR_FAIL, "%s:%u: %s: killed by signal %d", b->cf_name,
				    ins->line, q, res.signal);
		else
			r = err_set(err, ERR_FAIL, "%s:%u: %s: exit status %d", b->cf_name,
				    ins->line, q, res.exit_code);
		goto out;
	}
	drop_file_mountpoints(upper, &rm);
	r = step_layer_done(b, st, &key, upper, buf_str(&hist), err);
out:
	step_output_finish(so, out_fd);
	if (dir != NULL)
		remove_tree(dir);
	if (script_dir != NULL)
		remove_tree(script_dir);
	rootfs_view_close(&v);
	run_mounts_release(&rm);
	buf_release(&hist);
	buf_release(&hargs);
	return r;
}
