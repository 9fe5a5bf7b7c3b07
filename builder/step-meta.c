/* Instructions that only change the image config (ENV, LABEL, EXPOSE,
 * VOLUME, USER, STOPSIGNAL, HEALTHCHECK, SHELL, CMD, ENTRYPOINT,
 * MAINTAINER, ONBUILD), WORKDIR (which also creates its directory), and
 * the cache bookkeeping every layer step shares. The history strings are
 * BuildKit's (dockerfile2llb's commitToHistory calls). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "builder/passwd.h"
#include "common/buf.h"
#include "common/path.h"
#include "common/util.h"

/* ---------------------------------------------------------------- cache */

int step_cache_try(struct build_ctx *b, struct bstage *st, const struct digest *key,
		   const char *created_by, bool *hit, struct err **err)
{
	*hit = false;
	if (b->o->no_cache)
		return 0;
	struct blayer l;
	if (cache_lookup(b, key, &l, err) < 0)
		return 0;
	rootfs_stage_add_layer(st, &l);
	oci_descriptor_release(&l.desc);
	step_history(b, st, created_by, false);
	st->chain = *key;
	b->steps_cached++;
	*hit = true;
	step_cached(b);
	return 0;
}

int step_layer_done(struct build_ctx *b, struct bstage *st, const struct digest *key,
		    const char *upper, const char *created_by, struct err **err)
{
	struct blayer l;
	int r = rootfs_commit_upper(b, st, upper, &l, err);
	if (r < 0)
		return r;
	r = cache_store(b, key, &l, err);
	oci_descriptor_release(&l.desc);
	if (r < 0)
		return r;
	step_history(b, st, created_by, false);
	st->chain = *key;
	b->steps_run++;
	return 0;
}

/* ---------------------------------------------------------------- helpers */

static int expand(struct build_ctx *b, const struct cf_instruction *ins, struct cf_env *env,
		  const char *word, char **out, struct err **err)
{
	if (cf_expand_word(&b->lex, word, env, out, err) < 0)
		return err_wrap(err, "%s:%u: %s", b->cf_name, ins->line, ins->keyword);
	return 0;
}

/* Go's %q of a []string: ["a" "b c"] (used by CMD/ENTRYPOINT history). */
static void go_quote_strv(struct buf *h, char *const *v)
{
	buf_addch(h, '[', NULL);
	for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
		if (i > 0)
			buf_addch(h, ' ', NULL);
		cf_json_add_string(h, v[i], strlen(v[i]), NULL);
	}
	buf_addch(h, ']', NULL);
}

/* Go's %v of a []string: [a b c]. */
static void go_strv(struct buf *h, char *const *v)
{
	buf_addch(h, '[', NULL);
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		buf_addf(h, NULL, "%s%s", i > 0 ? " " : "", v[i]);
	buf_addch(h, ']', NULL);
}

static char **default_shell(const struct bstage *st)
{
	char **v = NULL;
	if (st->config.config.shell != NULL && st->config.config.shell[0] != NULL) {
		for (char **s = st->config.config.shell; *s != NULL; s++)
			strv_push(&v, *s);
		return v;
	}
	strv_push(&v, "/bin/sh");
	strv_push(&v, "-c");
	return v;
}

/* The command of CMD/ENTRYPOINT/HEALTHCHECK: the JSON array, or the shell
 * with the text. */
static char **command_of(const struct bstage *st, const struct cf_instruction *ins, size_t from)
{
	char **v = NULL;
	if (ins->form == CF_FORM_EXEC) {
		v = xcalloc(1, sizeof *v); /* [] stays present and empty */
		for (size_t i = from; i < ins->nargs; i++)
			strv_push(&v, ins->args[i]);
		return v;
	}
	v = default_shell(st);
	if (from < ins->nargs)
		strv_push(&v, ins->args[from]);
	return v;
}

static void set_label(struct bstage *st, const char *k, const char *v)
{
	if (st->config.config.labels == NULL)
		st->config.config.labels = json_object();
	json_object_set_new(st->config.config.labels, k, json_string(v));
}

/* Insert into a sorted strv set. */
static void set_add(char ***set, const char *s)
{
	size_t n = strv_len(*set);
	for (size_t i = 0; i < n; i++)
		if (strcmp((*set)[i], s) == 0)
			return;
	strv_push(set, s);
	/* keep sorted */
	for (size_t i = n; i > 0 && strcmp((*set)[i - 1], (*set)[i]) > 0; i--) {
		char *t = (*set)[i - 1];
		(*set)[i - 1] = (*set)[i];
		(*set)[i] = t;
	}
}

/* ---------------------------------------------------------------- instructions */

static int do_env(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
		  struct cf_env *env, struct buf *h, struct err **err)
{
	buf_addstr(h, "ENV", NULL);
	for (size_t i = 0; i < ins->npairs; i++) {
		cleanup_free char *k = NULL, *v = NULL;
		if (expand(b, ins, env, ins->pairs[i].key, &k, err) < 0 ||
		    expand(b, ins, env, ins->pairs[i].value, &v, err) < 0)
			return ERR_INVALID;
		env_strv_set(&st->config.config.env, k, v);
		/* later pairs of one ENV still see the values from before it */
		env_strv_set(&st->state_env, k, v);
		buf_addf(h, NULL, " %s=%s", k, v);
	}
	return 0;
}

static int do_label(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
		    struct cf_env *env, struct buf *h, struct err **err)
{
	buf_addstr(h, "LABEL", NULL);
	for (size_t i = 0; i < ins->npairs; i++) {
		cleanup_free char *k = NULL, *v = NULL;
		if (expand(b, ins, env, ins->pairs[i].key, &k, err) < 0 ||
		    expand(b, ins, env, ins->pairs[i].value, &v, err) < 0)
			return ERR_INVALID;
		set_label(st, k, v);
		buf_addf(h, NULL, " %s=%s", k, v);
	}
	return 0;
}

/* One EXPOSE word: "80", "80/udp", "8000-8002/tcp" (nat.ParsePortSpecs). */
static int expose_word(struct build_ctx *b, const struct cf_instruction *ins, const char *w,
		       char ***ports, struct err **err)
{
	cleanup_free char *word = xstrdup(w);
	char *proto = strchr(word, '/');
	if (proto != NULL)
		*proto++ = '\0';
	char pbuf[16] = "tcp";
	if (proto != NULL && *proto != '\0')
		str_copy(pbuf, proto, sizeof pbuf);
	for (char *c = pbuf; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	proto = pbuf;
	char *dash = strchr(word, '-');
	unsigned lo, hi;
	if (dash != NULL)
		*dash = '\0';
	if (str_to_uint(word, 65535, &lo) < 0 ||
	    (dash != NULL ? str_to_uint(dash + 1, 65535, &hi) < 0 : (hi = lo, false)) || hi < lo)
		return err_set(err, ERR_INVALID, "%s:%u: EXPOSE: invalid port '%s'", b->cf_name,
			       ins->line, w);
	for (unsigned p = lo; p <= hi; p++) {
		char s[32];
		snprintf(s, sizeof s, "%u/%s", p, proto);
		set_add(ports, s);
	}
	return 0;
}

static int do_expose(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
		     struct cf_env *env, struct buf *h, struct err **err)
{
	cleanup_strv char **ports = NULL;
	for (size_t i = 0; i < ins->nargs; i++) {
		cleanup_strv char **words = NULL;
		if (cf_expand_words(&b->lex, ins->args[i], env, &words, err) < 0)
			return err_wrap(err, "%s:%u: EXPOSE", b->cf_name, ins->line);
		for (char **w = words; *w != NULL; w++)
			if (expose_word(b, ins, *w, &ports, err) < 0)
				return ERR_INVALID;
	}
	buf_addstr(h, "EXPOSE map[", NULL);
	for (size_t i = 0; ports != NULL && ports[i] != NULL; i++) {
		buf_addf(h, NULL, "%s%s:{}", i > 0 ? " " : "", ports[i]);
		set_add(&st->config.config.exposed_ports, ports[i]);
	}
	buf_addch(h, ']', NULL);
	return 0;
}

static int do_volume(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
		     struct cf_env *env, struct buf *h, struct err **err)
{
	cleanup_strv char **vols = NULL;
	for (size_t i = 0; i < ins->nargs; i++) {
		if (ins->form == CF_FORM_EXEC) {
			cleanup_free char *v = NULL;
			if (expand(b, ins, env, ins->args[i], &v, err) < 0)
				return ERR_INVALID;
			strv_push(&vols, v);
			continue;
		}
		cleanup_strv char **words = NULL;
		if (cf_expand_words(&b->lex, ins->args[i], env, &words, err) < 0)
			return err_wrap(err, "%s:%u: VOLUME", b->cf_name, ins->line);
		for (char **w = words; *w != NULL; w++)
			strv_push(&vols, *w);
	}
	for (size_t i = 0; vols != NULL && vols[i] != NULL; i++) {
		if (str_trim(vols[i])[0] == '\0')
			return err_set(err, ERR_INVALID, "%s:%u: VOLUME specified can not be an empty string",
				       b->cf_name, ins->line);
		set_add(&st->config.config.volumes, vols[i]);
	}
	buf_addstr(h, "VOLUME ", NULL);
	go_strv(h, vols);
	return 0;
}

static int do_healthcheck(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
			  struct buf *h, struct err **err)
{
	struct oci_healthcheck *hc = xcalloc(1, sizeof *hc);
	if (str_eq_nocase(ins->args[0], "NONE")) {
		strv_push(&hc->test, "NONE");
	} else {
		if (ins->form == CF_FORM_EXEC) {
			strv_push(&hc->test, "CMD");
			for (size_t i = 1; i < ins->nargs; i++)
				strv_push(&hc->test, ins->args[i]);
		} else {
			strv_push(&hc->test, "CMD-SHELL");
			strv_push(&hc->test, ins->args[1]);
		}
		static const char *const names[] = { "interval", "timeout", "start-period",
						     "start-interval" };
		int64_t *dst[] = { &hc->interval, &hc->timeout, &hc->start_period,
				   &hc->start_interval };
		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			const char *v = cf_instruction_flag(ins, names[i]);
			if (v != NULL && v[0] != '\0' && cf_parse_duration(v, dst[i], err) < 0) {
				strv_free(hc->test);
				free(hc);
				return err_wrap(err, "%s:%u: HEALTHCHECK", b->cf_name, ins->line);
			}
		}
		const char *rv = cf_instruction_flag(ins, "retries");
		if (rv != NULL && rv[0] != '\0')
			str_to_i64(rv, &hc->retries);
	}
	if (st->config.config.healthcheck != NULL) {
		strv_free(st->config.config.healthcheck->test);
		free(st->config.config.healthcheck);
	}
	st->config.config.healthcheck = hc;
	buf_addstr(h, "HEALTHCHECK &{", NULL);
	go_quote_strv(h, hc->test);
	buf_addch(h, '}', NULL);
	return 0;
}

static void replace_strv(char ***dst, char **src)
{
	strv_free(*dst);
	*dst = src;
}

int step_meta(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
	      struct cf_env *env, struct err **err)
{
	struct buf h;
	buf_init(&h, 4 * BALE_MAX_LINE);
	int r = 0;
	struct oci_exec_config *c = &st->config.config;
	cleanup_free char *word = NULL;
	switch (ins->kind) {
	case CF_ENV:
		r = do_env(b, st, ins, env, &h, err);
		break;
	case CF_LABEL:
		r = do_label(b, st, ins, env, &h, err);
		break;
	case CF_EXPOSE:
		r = do_expose(b, st, ins, env, &h, err);
		break;
	case CF_VOLUME:
		r = do_volume(b, st, ins, env, &h, err);
		break;
	case CF_USER:
	case CF_STOPSIGNAL:
		r = expand(b, ins, env, ins->args[0], &word, err);
		if (r < 0)
			break;
		if (ins->kind == CF_USER) {
			free(c->user);
			c->user = xstrdup(word);
		} else {
			free(c->stop_signal);
			c->stop_signal = xstrdup(word);
		}
		buf_addf(&h, NULL, "%s %s", ins->keyword, word);
		break;
	case CF_MAINTAINER:
		free(st->config.author);
		st->config.author = xstrdup(ins->args[0]);
		buf_addf(&h, NULL, "MAINTAINER %s", ins->args[0]);
		break;
	case CF_SHELL: {
		char **v = xcalloc(1, sizeof *v);
		for (size_t i = 0; i < ins->nargs; i++)
			strv_push(&v, ins->args[i]);
		replace_strv(&c->shell, v);
		buf_addstr(&h, "SHELL ", NULL);
		go_strv(&h, v);
		break;
	}
	case CF_CMD:
		replace_strv(&c->cmd, command_of(st, ins, 0));
		st->cmd_set = true;
		buf_addstr(&h, "CMD ", NULL);
		go_quote_strv(&h, c->cmd);
		break;
	case CF_ENTRYPOINT:
		replace_strv(&c->entrypoint, command_of(st, ins, 0));
		/* An ENTRYPOINT resets a CMD inherited from the base. */
		if (!st->cmd_set)
			replace_strv(&c->cmd, NULL);
		buf_addstr(&h, "ENTRYPOINT ", NULL);
		go_quote_strv(&h, c->entrypoint);
		break;
	case CF_HEALTHCHECK:
		r = do_healthcheck(b, st, ins, &h, err);
		break;
	case CF_ONBUILD:
		if (ins->trigger != NULL && ins->trigger->expression != NULL) {
			strv_push(&c->on_build, ins->trigger->expression);
			buf_addf(&h, NULL, "ONBUILD %s", ins->trigger->expression);
		}
		break;
	default:
		r = err_set(err, ERR_UNSUPPORTED, "%s:%u: unknown instruction '%s'", b->cf_name,
			    ins->line, ins->keyword);
		break;
	}
	if (r == 0) {
		step_announce(b, st, ins, buf_str(&h));
		step_history(b, st, buf_str(&h), true);
	}
	buf_release(&h);
	return r;
}

/* ---------------------------------------------------------------- WORKDIR */

char *step_abs_path(const struct bstage *st, const char *p)
{
	if (p[0] == '/')
		return path_clean(p);
	const char *wd = st->config.config.working_dir;
	cleanup_free char *j = xasprintf("%s/%s", wd != NULL && wd[0] != '\0' ? wd : "/", p);
	return path_clean(j);
}

/* chown the directories mkdir created below `existing` to the step's USER
 * (BuildKit's Mkdir WithUser). */
static int workdir_create(struct build_ctx *b, int rootfd, const char *wd, const char *user,
			  struct err **err)
{
	struct sbx_user u = { 0 };
	bool chown_new = user != NULL && user[0] != '\0';
	if (chown_new && sbx_user_resolve(&u, rootfd, user, err) < 0)
		return err_wrap(err, "WORKDIR: user '%s'", user);
	/* Find which components exist first, so only new ones get the owner. */
	cleanup_strv char **parts = str_split(wd + 1, '/');
	struct buf prefix;
	buf_init(&prefix, BALE_MAX_PATH);
	int r = 0;
	for (size_t i = 0; parts[i] != NULL && r == 0; i++) {
		if (parts[i][0] == '\0')
			continue;
		buf_addf(&prefix, NULL, "/%s", parts[i]);
		int fd = path_open_in_root(rootfd, buf_str(&prefix), O_PATH | O_DIRECTORY, 0, NULL);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		fd = path_mkdir_in_root(rootfd, buf_str(&prefix), 0755, err);
		if (fd < 0) {
			r = err_wrap(err, "WORKDIR %s", wd);
			break;
		}
		if (fchmod(fd, 0755) < 0 || (chown_new && fchown(fd, u.uid, u.gid) < 0))
			r = err_sys(err, ERR_IO, errno, "WORKDIR %s", wd);
		close(fd);
	}
	(void)b;
	buf_release(&prefix);
	sbx_user_release(&u);
	return r;
}

int step_workdir(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
		 struct cf_env *env, struct err **err)
{
	cleanup_free char *word = NULL;
	if (expand(b, ins, env, ins->args[0], &word, err) < 0)
		return ERR_INVALID;
	cleanup_free char *wd = step_abs_path(st, word);
	free(st->config.config.working_dir);
	st->config.config.working_dir = xstrdup(wd);
	cleanup_free char *hist = xasprintf("WORKDIR %s", wd);
	step_announce(b, st, ins, hist);
	if (strcmp(wd, "/") == 0) {
		step_history(b, st, hist, true);
		return 0;
	}
	struct cache_key k;
	cache_key_init(&k, &st->chain, "workdir");
	cache_key_add(&k, wd);
	cache_key_add(&k, st->config.config.user);
	cache_key_add(&k, layer_compression_name(b->o->compression));
	char epoch[32];
	snprintf(epoch, sizeof epoch, "%lld", (long long)b->o->source_date_epoch);
	cache_key_add(&k, epoch);
	struct digest key;
	cache_key_final(&k, &key);
	bool hit;
	if (step_cache_try(b, st, &key, hist, &hit, err) < 0)
		return ERR_IO;
	if (hit)
		return 0;
	struct rootfs_view v;
	if (rootfs_view_open(b, st, true, &v, err) < 0)
		return err_wrap(err, "%s:%u: WORKDIR", b->cf_name, ins->line);
	int r = workdir_create(b, v.rootfd, wd, st->config.config.user, err);
	if (r == 0)
		r = rootfs_view_unmount(&v, err);
	if (r == 0)
		r = step_layer_done(b, st, &key, v.upper, hist, err);
	rootfs_view_close(&v);
	return r;
}
