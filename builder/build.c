/* `bale build`: the driver. Loads the plan, builds the stages the target
 * needs (each FROM, then its instructions in order), commits the target's
 * image to the store and writes the outputs. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "layers/store.h"
#include "registry/client.h"

void build_opts_init(struct build_opts *o)
{
	memset(o, 0, sizeof *o);
	o->network = SBX_NETWORK_HOST;
	o->compression = LAYER_COMPRESS_NONE;
	o->source_date_epoch = -1;
	o->log_fd = STDERR_FILENO;
	o->progress_fd = STDERR_FILENO;
}

const char *env_strv_get(char *const *env, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		if (strncmp(env[i], key, kl) == 0 && env[i][kl] == '=')
			return env[i] + kl + 1;
	return NULL;
}

void env_strv_set(char ***env, const char *key, const char *value)
{
	size_t kl = strlen(key);
	char *kv = xasprintf("%s=%s", key, value);
	for (size_t i = 0; *env != NULL && (*env)[i] != NULL; i++)
		if (strncmp((*env)[i], key, kl) == 0 && (*env)[i][kl] == '=') {
			free((*env)[i]);
			(*env)[i] = kv;
			return;
		}
	strv_push(env, kv);
	free(kv);
}

void step_history(struct build_ctx *b, struct bstage *st, const char *created_by, bool empty)
{
	char ts[32];
	oci_time_format(b->now, ts, sizeof ts);
	oci_config_add_history(&st->config, ts, created_by, NULL, empty);
}

/* ---------------------------------------------------------------- FROM */

/* Set the config's platform to a normalized "os/arch[/variant]". */
static void config_set_platform(struct oci_config *c, const char *platform)
{
	cleanup_strv char **p = str_split(platform, '/');
	free(c->platform.os);
	free(c->platform.architecture);
	free(c->platform.variant);
	c->platform.os = xstrdup(p[0]);
	c->platform.architecture = xstrdup(p[1]);
	c->platform.variant = p[2] != NULL ? xstrdup(p[2]) : NULL;
}

static void stage_init_scratch(struct bstage *st)
{
	memset(&st->config, 0, sizeof st->config);
	st->config.platform.architecture = xstrdup(build_platform_arch());
	st->config.platform.os = xstrdup(build_platform_os());
	if (st->platform != NULL)
		config_set_platform(&st->config, st->platform);
	strv_push(&st->config.config.env, "PATH=" BUILD_DEFAULT_PATH);
	st->config.config.working_dir = xstrdup("/");
	struct cache_key k;
	cache_key_init(&k, NULL, "scratch");
	cache_key_final(&k, &st->chain);
}

static void stage_copy_from(struct bstage *st, const struct bstage *base)
{
	oci_config_copy(&st->config, &base->config);
	for (size_t i = 0; i < base->n_layers; i++) {
		st->layers = xreallocarray(st->layers, st->n_layers + 1, sizeof *st->layers);
		struct blayer *l = &st->layers[st->n_layers++];
		memset(l, 0, sizeof *l);
		oci_descriptor_copy(&l->desc, &base->layers[i].desc);
		l->diff_id = base->layers[i].diff_id;
	}
	st->chain = base->chain;
}

static int build_regc(struct build_ctx *b, struct err **err)
{
	if (b->regc != NULL)
		return 0;
	struct regc_opts ro = { .tls_verify = true, .progress = b->o->quiet ? NULL : b->o->progress };
	return regc_new(&b->regc, &ro, err);
}

/* Pull ref into the store (once per build per name): for platform (NULL:
 * this machine's), or every platform of an index when all. */
static int build_pull(struct build_ctx *b, const char *ref, const char *platform, bool all,
		      struct err **err)
{
	if (build_regc(b, err) < 0)
		return ERR_FAIL;
	return regc_pull(b->regc, b->store, ref, platform, all, NULL, err);
}

static bool platform_matches(const struct oci_platform *p, const char *want)
{
	if (p == NULL || p->os == NULL || p->architecture == NULL)
		return false;
	cleanup_strv char **w = str_split(want, '/');
	if (strcmp(p->os, w[0]) != 0 || strcmp(p->architecture, w[1]) != 0)
		return false;
	return w[2] == NULL || (p->variant != NULL && strcmp(p->variant, w[2]) == 0);
}

/* The manifest of a stored image for a FROM --platform other than this
 * machine's: an index's entry for that platform (*out, the caller
 * releases), or the image itself when it is a single manifest (its config
 * is checked after loading). ERR_UNSUPPORTED: the index lacks it. */
static int platform_pick(struct build_ctx *b, const struct bstage *st,
			 const struct oci_descriptor *desc, struct oci_descriptor *out,
			 struct err **err)
{
	bool is_index = desc->media_type != NULL && (strcmp(desc->media_type, OCI_MT_INDEX) == 0 ||
						     strcmp(desc->media_type, DOCKER_MT_LIST) == 0);
	if (!is_index) {
		oci_descriptor_copy(out, desc);
		return 0;
	}
	cleanup_free char *raw = NULL;
	size_t len;
	if (cas_read_all(b->cas, &desc->digest, BALE_MAX_MANIFEST, &raw, &len, err) < 0)
		return err_wrap(err, "FROM %s", st->base);
	cleanup_index struct oci_index ix;
	memset(&ix, 0, sizeof ix);
	if (oci_index_parse(&ix, raw, len, err) < 0)
		return err_wrap(err, "FROM %s", st->base);
	for (size_t i = 0; i < ix.n_manifests; i++)
		if (platform_matches(ix.manifests[i].platform, st->platform)) {
			oci_descriptor_copy(out, &ix.manifests[i]);
			return 0;
		}
	return err_set(err, ERR_UNSUPPORTED, "%s:%u: FROM --platform=%s: image '%s' has no "
					     "manifest for that platform",
		       b->cf_name, st->cf->first_line, st->platform, st->base);
}

static int build_push(struct build_ctx *b, struct err **err)
{
	if (build_regc(b, err) < 0)
		return ERR_FAIL;
	/* Layers stored uncompressed leave compressed (gzip, or --compression). */
	struct regc_compress z = { .set = b->o->compression_set, .algo = b->o->compression };
	for (size_t i = 0; b->o->tags != NULL && b->o->tags[i] != NULL; i++) {
		struct digest d;
		if (regc_push_with(b->regc, b->store, b->o->tags[i], NULL, &z, &d, err) < 0)
			return err_wrap(err, "push '%s'", b->o->tags[i]);
		if (b->o->progress != NULL) {
			char ds[DIGEST_MAX_STRING];
			progress_message(b->o->progress, "pushed %s@%s", b->o->tags[i],
					 digest_format(&d, ds));
		}
	}
	return 0;
}

int build_stage_from_image(struct build_ctx *b, struct bstage *st, struct err **err)
{
	struct store_image im;
	struct err *lookup_err = NULL;
	bool foreign = st->platform != NULL && !plan_platform_is_host(st->platform);
	int r = b->o->pull ? ERR_NOTFOUND : store_lookup(b->store, st->base, &im, &lookup_err);
	if (r == ERR_NOTFOUND) {
		/* Not in the local store (or --pull): from its registry. A
		 * foreign platform keeps the whole index (the host's image
		 * of the same name must stay usable). */
		if ((r = build_pull(b, st->base, foreign ? NULL : st->platform, foreign, err)) < 0) {
			err_free(lookup_err);
			return err_wrap(err, "%s:%u: base image '%s'", b->cf_name,
					st->cf != NULL ? st->cf->first_line : 0, st->base);
		}
		r = store_lookup(b->store, st->base, &im, err);
	} else if (r < 0) {
		err_move(err, &lookup_err);
	}
	err_free(lookup_err);
	if (r < 0)
		return err_wrap(err, "%s:%u: image '%s'", b->cf_name,
				st->cf != NULL ? st->cf->first_line : 0, st->base);
	struct store_loaded ld;
	if (foreign) {
		struct oci_descriptor pick;
		memset(&pick, 0, sizeof pick);
		r = platform_pick(b, st, &im.desc, &pick, err);
		if (r < 0) {
			store_image_release(&im);
			return r;
		}
		r = store_load(b->store, &pick, &ld, err);
		oci_descriptor_release(&pick);
	} else {
		r = store_load(b->store, &im.desc, &ld, err);
	}
	if (r < 0) {
		store_image_release(&im);
		return err_wrap(err, "FROM %s", st->base);
	}
	if (foreign && !platform_matches(&ld.config.platform, st->platform)) {
		r = err_set(err, ERR_UNSUPPORTED, "%s:%u: FROM --platform=%s: image '%s' is %s/%s",
			    b->cf_name, st->cf->first_line, st->platform, st->base,
			    ld.config.platform.os != NULL ? ld.config.platform.os : "?",
			    ld.config.platform.architecture != NULL ? ld.config.platform.architecture
								    : "?");
		goto out;
	}
	oci_config_copy(&st->config, &ld.config);
	if (ld.manifest.n_layers != ld.config.n_diff_ids) {
		r = err_set(err, ERR_INVALID, "FROM %s: %zu layers but %zu diff_ids", st->base,
			    ld.manifest.n_layers, ld.config.n_diff_ids);
		goto out;
	}
	for (size_t i = 0; i < ld.manifest.n_layers; i++) {
		st->layers = xreallocarray(st->layers, st->n_layers + 1, sizeof *st->layers);
		struct blayer *l = &st->layers[st->n_layers++];
		memset(l, 0, sizeof *l);
		oci_descriptor_copy(&l->desc, &ld.manifest.layers[i]);
		l->diff_id = ld.config.diff_ids[i];
	}
	struct cache_key k;
	cache_key_init(&k, NULL, "image");
	cache_key_add_n(&k, ld.manifest_digest.bytes, 32);
	cache_key_final(&k, &st->chain);
	st->base_name = im.name != NULL ? xstrdup(im.name) : xstrdup(st->base);
	st->base_digest = ld.manifest_digest;
	st->has_base_digest = true;
	if (st->config.platform.architecture == NULL)
		st->config.platform.architecture = xstrdup(build_platform_arch());
	if (st->config.platform.os == NULL)
		st->config.platform.os = xstrdup(build_platform_os());
out:
	store_loaded_release(&ld);
	store_image_release(&im);
	return r;
}

/* ONBUILD triggers of the base run first in the new stage, then go. */
static int run_onbuild(struct build_ctx *b, struct bstage *st, struct err **err)
{
	char **triggers = st->config.config.on_build;
	st->config.config.on_build = NULL;
	int r = 0;
	for (size_t i = 0; triggers != NULL && triggers[i] != NULL && r == 0; i++) {
		/* the parser wants a stage: parse the trigger after a FROM */
		cleanup_free char *text = xasprintf("FROM scratch\n%s\n", triggers[i]);
		struct cf_file *f = NULL;
		r = cf_parse(text, strlen(text), "ONBUILD", &f, err);
		if (r < 0) {
			r = err_wrap(err, "%s:%u: ONBUILD trigger '%s'", b->cf_name,
				     st->cf->first_line, triggers[i]);
			break;
		}
		for (size_t k = 1; k < f->ninstructions && r == 0; k++)
			r = step_dispatch(b, st, &f->instructions[k], err);
		cf_file_free(f);
	}
	strv_free(triggers);
	return r;
}

int build_stage(struct build_ctx *b, size_t i, struct err **err)
{
	struct bstage *st = &b->stages[i];
	if (st->done)
		return 0;
	if (st->busy)
		return err_set(err, ERR_INVALID, "%s:%u: stage '%s' depends on itself", b->cf_name,
			       st->cf->first_line, st->name != NULL ? st->name : "");
	st->busy = true;
	int r;
	if (st->scratch) {
		stage_init_scratch(st);
		r = 0;
	} else if (st->base_stage >= 0) {
		r = build_stage(b, (size_t)st->base_stage, err);
		if (r == 0)
			stage_copy_from(st, &b->stages[st->base_stage]);
	} else {
		r = build_stage_from_image(b, st, err);
	}
	if (r < 0)
		return r;
	const struct cf_instruction *from = &b->cf->instructions[st->cf->first];
	cleanup_free char *what = xasprintf("FROM %s", st->base);
	step_announce(b, st, from, what);
	step_finish(b, 0, NULL);
	if (env_strv_get(st->config.config.env, "PATH") == NULL)
		env_strv_set(&st->config.config.env, "PATH", BUILD_DEFAULT_PATH);
	for (char **e = st->config.config.env; *e != NULL; e++)
		strv_push(&st->state_env, *e);
	r = run_onbuild(b, st, err);
	for (size_t k = 1; k < st->cf->count && r == 0; k++)
		r = step_dispatch(b, st, &b->cf->instructions[st->cf->first + k], err);
	st->busy = false;
	if (r == 0)
		st->done = true;
	return r;
}

int step_dispatch(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
		  struct err **err)
{
	if (ins->kind == CF_ARG) {
		struct buf h;
		buf_init(&h, BALE_MAX_LINE);
		int r = plan_arg(b, st, ins, &h, err);
		if (r == 0) {
			cleanup_free char *s = xasprintf("ARG %s", buf_str(&h));
			step_history(b, st, s, true);
		}
		buf_release(&h);
		return r;
	}
	struct cf_env *env = plan_stage_env(b, st);
	int r;
	switch (ins->kind) {
	case CF_RUN:
		r = step_run(b, st, ins, env, err);
		break;
	case CF_COPY:
	case CF_ADD:
		r = step_copy(b, st, ins, env, err);
		break;
	case CF_WORKDIR:
		r = step_workdir(b, st, ins, env, err);
		break;
	case CF_FROM:
		r = err_set(err, ERR_INVALID, "%s:%u: FROM in an ONBUILD trigger", b->cf_name,
			    ins->line);
		break;
	default:
		r = step_meta(b, st, ins, env, err);
		break;
	}
	cf_env_free(env);
	step_finish(b, r, r < 0 ? *err : NULL);
	return r;
}

/* ---------------------------------------------------------------- commit */

static int final_labels(struct build_ctx *b, struct bstage *st, struct err **err)
{
	for (char **l = b->o->labels; l != NULL && *l != NULL; l++) {
		const char *eq = strchr(*l, '=');
		cleanup_free char *k = eq != NULL ? xstrndup(*l, (size_t)(eq - *l)) : xstrdup(*l);
		if (st->config.config.labels == NULL)
			st->config.config.labels = json_object();
		json_object_set_new(st->config.config.labels, k, json_string(eq != NULL ? eq + 1 : ""));
	}
	(void)err;
	return 0;
}

static int commit_image(struct build_ctx *b, struct bstage *st, struct oci_descriptor *out,
			struct err **err)
{
	char ts[32];
	oci_time_format(b->now, ts, sizeof ts);
	free(st->config.created);
	st->config.created = xstrdup(ts);
	if (final_labels(b, st, err) < 0)
		return ERR_INVALID;
	struct oci_manifest m;
	memset(&m, 0, sizeof m);
	m.media_type = (char *)(b->o->docker_format ? DOCKER_MT_MANIFEST : OCI_MT_MANIFEST);
	m.n_layers = st->n_layers;
	m.layers = xcalloc(st->n_layers + 1, sizeof *m.layers);
	/* Base and cached layers keep the media type they were stored with
	 * (an OCI base, a cache hit of an OCI build): name them as this
	 * image's format does, as BuildKit's exporter does. */
	for (size_t i = 0; i < st->n_layers; i++) {
		m.layers[i] = st->layers[i].desc;
		m.layers[i].media_type =
		        (char *)oci_layer_media_type_as(m.layers[i].media_type, b->o->docker_format);
	}
	cleanup_free char *first = NULL;
	if (b->o->tags != NULL && b->o->tags[0] != NULL &&
	    store_name_normalize(&first, b->o->tags[0], err) < 0) {
		free(m.layers);
		return err_wrap(err, "tag '%s'", b->o->tags[0]);
	}
	int r = store_commit_image(b->store, first, &m, &st->config, out, err);
	free(m.layers);
	if (r < 0)
		return err_wrap(err, "cannot store the image");
	for (size_t i = 1; b->o->tags != NULL && b->o->tags[i] != NULL; i++) {
		cleanup_free char *n = NULL;
		if (store_name_normalize(&n, b->o->tags[i], err) < 0 ||
		    store_tag(b->store, n, out, err) < 0)
			return err_wrap(err, "tag '%s'", b->o->tags[i]);
	}
	return 0;
}

static int write_iidfile(const char *path, const struct digest *d, struct err **err)
{
	char s[DIGEST_MAX_STRING];
	digest_format(d, s);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", path);
	int r = write_all(fd, s, strlen(s));
	close(fd);
	if (r < 0)
		return err_sys(err, ERR_IO, -r, "cannot write '%s'", path);
	return 0;
}

/* ---------------------------------------------------------------- setup */

static int work_dirs(struct build_ctx *b, struct err **err)
{
	b->work = xasprintf("%s/build", b->root);
	const char *sub[] = { "", "/cache", "/tmp", "/cachemounts", "/statcache" };
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		cleanup_free char *p = xasprintf("%s%s", b->work, sub[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return err_sys(err, ERR_IO, errno, "cannot create '%s'", p);
	}
	/* Temp dirs of builds that died (killed, Ctrl-C twice): their mounts
	 * went with their mount namespace, their files go here. */
	cleanup_free char *tmp = xasprintf("%s/tmp", b->work);
	remove_dead_process_dirs(tmp, "build-");
	b->tmp = xasprintf("%s/tmp/build-%d-XXXXXX", b->work, (int)getpid());
	if (mkdtemp(b->tmp) == NULL)
		return err_sys(err, ERR_IO, errno, "cannot create a temp dir in '%s/tmp'", b->work);
	b->empty_dir = xasprintf("%s/empty", b->tmp);
	if (mkdir(b->empty_dir, 0755) < 0)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", b->empty_dir);
	return 0;
}

static void build_ctx_release(struct build_ctx *b)
{
	for (size_t i = 0; i < b->n_stages; i++) {
		struct bstage *st = &b->stages[i];
		free(st->name);
		free(st->base);
		free(st->platform);
		free(st->base_name);
		oci_config_release(&st->config);
		for (size_t k = 0; k < st->n_layers; k++)
			oci_descriptor_release(&st->layers[k].desc);
		free(st->layers);
		bargs_release(&st->args);
		strv_free(st->state_env);
	}
	free(b->stages);
	bargs_release(&b->meta);
	bargs_release(&b->cli_args);
	free(b->cli_arg_used);
	cf_file_free(b->cf);
	free(b->cf_name);
	context_statcache_save(b);
	cf_ignore_free(b->ignore);
	free(b->ctx_dir);
	if (b->tmp != NULL)
		remove_tree(b->tmp);
	free(b->tmp);
	free(b->empty_dir);
	free(b->work);
	free(b->root);
	regc_free(b->regc);
	store_free(b->store);
}

static void warn_unused_args(struct build_ctx *b)
{
	for (size_t i = 0; i < b->cli_args.n; i++)
		if (!b->cli_arg_used[i] && !plan_is_proxy_arg(b->cli_args.keys[i]) &&
		    plan_predefined_arg(b->cli_args.keys[i]) == NULL)
			log_warn("build-arg '%s' was not consumed by any ARG", b->cli_args.keys[i]);
}

int build_run(const struct build_opts *o, struct build_result *res, struct err **err)
{
	struct build_ctx b;
	memset(&b, 0, sizeof b);
	b.o = o;
	b.res = res;
	memset(res, 0, sizeof *res);
	b.now = o->source_date_epoch >= 0 ? o->source_date_epoch : (int64_t)time(NULL);
	int r = store_root_resolve(&b.root, o->root, err);
	if (r == 0)
		r = store_open(&b.store, b.root, err);
	if (r == 0) {
		b.cas = store_cas(b.store);
		r = work_dirs(&b, err);
	}
	cleanup_free char *cf_path = NULL;
	if (r == 0)
		r = context_prepare(&b, &cf_path, err);
	if (r == 0) {
		b.cf_name = xstrdup(cf_path != NULL ? cf_path : "Containerfile");
		r = cf_parse_file(cf_path != NULL ? cf_path : "-", &b.cf, err);
	}
	if (r == 0)
		r = plan_load(&b, err);
	for (size_t i = 0; r == 0 && i < b.n_stages; i++)
		if (b.stages[i].needed)
			r = build_stage(&b, i, err);
	struct oci_descriptor desc;
	memset(&desc, 0, sizeof desc);
	if (r == 0)
		r = commit_image(&b, &b.stages[b.target], &desc, err);
	if (r == 0) {
		struct store_loaded ld;
		if (store_load(b.store, &desc, &ld, err) == 0) {
			res->manifest = ld.manifest_digest;
			res->config = ld.manifest.config.digest;
			store_loaded_release(&ld);
		}
		res->steps = b.steps_run;
		res->cached = b.steps_cached;
		step_export(&b, res);
		for (size_t i = 0; r == 0 && i < o->n_outputs; i++)
			r = output_write(&b, &o->outputs[i], &desc, &b.stages[b.target], err);
		if (r == 0 && o->push)
			r = build_push(&b, err);
		if (r == 0 && o->iidfile != NULL)
			r = write_iidfile(o->iidfile, &res->config, err);
		warn_unused_args(&b);
	}
	oci_descriptor_release(&desc);
	build_ctx_release(&b);
	return r;
}
