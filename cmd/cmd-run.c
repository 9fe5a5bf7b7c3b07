/* bale run: run a command in an image (or a rootfs directory) with the
 * same sandbox as a build step. Its exit status is the command's; 125 when
 * the sandbox could not be set up, 126/127 when the command could not be
 * executed or found, 128+N when it died of signal N (as docker run). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/sandbox.h"
#include "cmd/bale.h"
#include "cmd/commands.h"
#include "common/util.h"
#include "layers/store.h"

#define RUN_EXIT_SETUP 125

struct run_opts {
	enum sbx_network network;
	char **env;
	const char *user;
	const char *workdir;
	const char *hostname;
	const char *rootfs;
	struct sbx_bind *binds;
	size_t n_binds;
	char **bind_strings; /* storage of the bind paths */
};

static void run_opts_release(struct run_opts *o)
{
	strv_free(o->env);
	free(o->binds);
	strv_free(o->bind_strings);
}

/* "-e K=V" as given; "-e K" takes K from bale's environment, or is
 * dropped when unset (docker run's rule). */
static void add_env(struct run_opts *o, const char *kv)
{
	if (strchr(kv, '=') != NULL) {
		strv_push(&o->env, kv);
		return;
	}
	const char *v = getenv(kv);
	if (v != NULL) {
		char *s = xasprintf("%s=%s", kv, v);
		strv_push(&o->env, s);
		free(s);
	}
}

/* -v HOSTDIR:DIR[:ro|:rw]; HOSTDIR is made absolute. */
static int add_bind(struct run_opts *o, const char *spec)
{
	cleanup_strv char **parts = str_split(spec, ':');
	size_t n = strv_len(parts);
	if (n < 2 || n > 3 || parts[0][0] == '\0' || parts[1][0] != '/')
		return bale_usage_error(&cmd_run, "-v '%s': expected HOSTDIR:/DIR[:ro]", spec);
	bool ro = false;
	if (n == 3) {
		if (strcmp(parts[2], "ro") == 0)
			ro = true;
		else if (strcmp(parts[2], "rw") != 0)
			return bale_usage_error(&cmd_run, "-v '%s': unknown mode '%s'", spec, parts[2]);
	}
	char *abs = realpath(parts[0], NULL);
	if (abs == NULL)
		return bale_usage_error(&cmd_run, "-v '%s': cannot resolve '%s'", spec, parts[0]);
	strv_push(&o->bind_strings, abs);
	free(abs);
	strv_push(&o->bind_strings, parts[1]);
	o->binds = xreallocarray(o->binds, o->n_binds + 1, sizeof *o->binds);
	o->binds[o->n_binds++] = (struct sbx_bind){ .readonly = ro };
	return 0;
}

/* Point the binds at their strings once all are parsed (the array of
 * strings moves while it grows). */
static void fix_binds(struct run_opts *o)
{
	for (size_t i = 0; i < o->n_binds; i++) {
		o->binds[i].source = o->bind_strings[2 * i];
		o->binds[i].target = o->bind_strings[2 * i + 1];
	}
}

/* Also in .options, for the help test and shell completion. */
static const struct option run_options[] = {
	{ "rm", no_argument, NULL, 'R' },
	{ "network", required_argument, NULL, 'n' },
	{ "net", required_argument, NULL, 'n' },
	{ "env", required_argument, NULL, 'e' },
	{ "user", required_argument, NULL, 'u' },
	{ "workdir", required_argument, NULL, 'w' },
	{ "volume", required_argument, NULL, 'v' },
	{ "hostname", required_argument, NULL, 'h' },
	{ "rootfs", required_argument, NULL, 'r' },
	{ NULL, 0, NULL, 0 },
};

static int parse(int argc, char **argv, struct run_opts *o)
{
	int c;
	/* '+': options stop at IMAGE; what follows is the command. */
	while ((c = getopt_long(argc, argv, "+e:u:w:v:", run_options, NULL)) != -1) {
		switch (c) {
		case 'R':
			break; /* containers are never kept */
		case 'n':
			if (strcmp(optarg, "host") == 0)
				o->network = SBX_NETWORK_HOST;
			else if (strcmp(optarg, "none") == 0)
				o->network = SBX_NETWORK_NONE;
			else
				return bale_usage_error(&cmd_run, "--network: '%s' is not host or none",
							optarg);
			break;
		case 'e':
			add_env(o, optarg);
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'w':
			o->workdir = optarg;
			break;
		case 'v':
			if (add_bind(o, optarg) != 0)
				return BALE_EXIT_USAGE;
			break;
		case 'h':
			o->hostname = optarg;
			break;
		case 'r':
			o->rootfs = optarg;
			break;
		default:
			return BALE_EXIT_USAGE;
		}
	}
	fix_binds(o);
	return 0;
}

static int exit_status(const struct sbx_result *res)
{
	if (res->signal != 0)
		return 128 + res->signal;
	return res->exit_code;
}

/* What the command line and the image config make of one run. */
struct run_plan {
	char **argv;
	char **env;
	char *workdir;
	char *user;
	char **lowers; /* extracted layer dirs, topmost first */
	char *rootfs;  /* --rootfs: the directory */
};

static void run_plan_release(struct run_plan *p)
{
	strv_free(p->argv);
	strv_free(p->env);
	free(p->workdir);
	free(p->user);
	strv_free(p->lowers);
	free(p->rootfs);
}

/* docker run's rule: COMMAND replaces Cmd; Entrypoint stays in front. */
static char **image_argv(const struct oci_exec_config *c, char **cmd)
{
	char **argv = NULL;
	for (size_t i = 0; c->entrypoint != NULL && c->entrypoint[i] != NULL; i++)
		strv_push(&argv, c->entrypoint[i]);
	char **rest = cmd[0] != NULL ? cmd : c->cmd;
	for (size_t i = 0; rest != NULL && rest[i] != NULL; i++)
		strv_push(&argv, rest[i]);
	return argv;
}

/* The image's extracted layers (made once, kept in the store), topmost
 * first, as the overlay's lower dirs. */
static int layer_dirs(struct store *s, const struct store_loaded *l, struct run_plan *p,
		      struct err **err)
{
	const struct oci_manifest *m = &l->manifest;
	if (m->n_layers != l->config.n_diff_ids)
		return err_set(err, ERR_INVALID,
			       "the manifest has %zu layers but the config lists %zu diff_ids",
			       m->n_layers, l->config.n_diff_ids);
	for (size_t i = m->n_layers; i-- > 0;) {
		cleanup_free char *dir = NULL;
		if (store_layer_dir(s, &m->layers[i], &l->config.diff_ids[i], &dir, err) < 0)
			return err_wrap(err, "layer %zu", i + 1);
		strv_push(&p->lowers, dir);
	}
	if (m->n_layers == 0) {
		cleanup_free char *dir = NULL;
		if (store_empty_layer_dir(s, &dir, err) < 0)
			return ERR_IO;
		strv_push(&p->lowers, dir);
	}
	return 0;
}

static int plan_image(struct store *s, const char *ref, char **cmd, struct run_plan *p,
		      struct err **err)
{
	struct store_image im;
	if (store_lookup(s, ref, &im, err) < 0)
		return err_wrap(err, "image '%s'", ref);
	struct store_loaded l;
	int r = store_load(s, &im.desc, &l, err);
	store_image_release(&im);
	if (r < 0)
		return err_wrap(err, "image '%s'", ref);
	const struct oci_exec_config *c = &l.config.config;
	p->argv = image_argv(c, cmd);
	for (size_t i = 0; c->env != NULL && c->env[i] != NULL; i++)
		strv_push(&p->env, c->env[i]);
	p->workdir = c->working_dir != NULL && c->working_dir[0] != '\0' ? xstrdup(c->working_dir) : NULL;
	p->user = c->user != NULL && c->user[0] != '\0' ? xstrdup(c->user) : NULL;
	r = layer_dirs(s, &l, p, err);
	if (r < 0)
		r = err_wrap(err, "image '%s'", ref);
	store_loaded_release(&l);
	if (r == 0 && (p->argv == NULL || p->argv[0] == NULL))
		r = err_set(err, ERR_INVALID, "image '%s' has no command: give one", ref);
	return r;
}

static int run_with(struct run_opts *o, struct run_plan *p, struct sbx_result *res,
		    struct err **err)
{
	const char *one_lower[1] = { p->rootfs };
	char *hostname_env = xasprintf("HOSTNAME=%s", o->hostname != NULL ? o->hostname : "bale");
	char **env = NULL;
	bool has_path = false;
	for (size_t i = 0; p->env != NULL && p->env[i] != NULL; i++)
		has_path = has_path || strncmp(p->env[i], "PATH=", 5) == 0;
	if (!has_path)
		strv_push(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	strv_push(&env, hostname_env);
	free(hostname_env);
	for (size_t i = 0; p->env != NULL && p->env[i] != NULL; i++)
		strv_push(&env, p->env[i]);
	for (size_t i = 0; o->env != NULL && o->env[i] != NULL; i++)
		strv_push(&env, o->env[i]);
	struct sbx_spec spec = {
		.rootfs = { .lowers = p->lowers != NULL ? (const char *const *)p->lowers : one_lower,
			    .n_lowers = p->lowers != NULL ? strv_len(p->lowers) : 1 },
		.argv = p->argv,
		.env = env,
		.cwd = o->workdir != NULL ? o->workdir : p->workdir,
		.user = o->user != NULL ? o->user : p->user,
		.hostname = o->hostname,
		.network = o->network,
		.binds = o->binds,
		.n_binds = o->n_binds,
		.stdio = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO },
		.forward_signals = true,
	};
	int r = sbx_run(&spec, res, err);
	strv_free(env);
	return r;
}

static int run_run(int argc, char **argv, const struct bale_globals *g)
{
	struct run_opts o = { .network = SBX_NETWORK_HOST };
	struct run_plan p = { 0 };
	int r = parse(argc, argv, &o);
	if (r != 0) {
		run_opts_release(&o);
		return r;
	}
	if (o.rootfs == NULL && optind >= argc) {
		run_opts_release(&o);
		return bale_usage_error(&cmd_run, "missing IMAGE");
	}
	if (o.rootfs != NULL && optind >= argc) {
		run_opts_release(&o);
		return bale_usage_error(&cmd_run, "--rootfs needs a command");
	}
	struct err *err = NULL;
	cleanup_store struct store *s = NULL;
	/* The store is found as the user bale runs as (its default root depends
	 * on the real euid), before the user namespace makes everyone root. */
	if (o.rootfs == NULL && store_open_root(&s, g->root, &err) < 0)
		goto fail;
	if (sbx_userns_enter(&err) < 0)
		goto fail;
	if (sbx_userns_limits() != NULL)
		fprintf(stderr, "bale: warning: %s\n", sbx_userns_limits());
	if (o.rootfs != NULL) {
		p.rootfs = realpath(o.rootfs, NULL);
		if (p.rootfs == NULL) {
			err_sys(&err, ERR_NOTFOUND, errno, "cannot resolve rootfs '%s'", o.rootfs);
			goto fail;
		}
		for (int i = optind; i < argc; i++)
			strv_push(&p.argv, argv[i]);
	} else if (plan_image(s, argv[optind], argv + optind + 1, &p, &err) < 0) {
		goto fail;
	}
	struct sbx_result res;
	r = run_with(&o, &p, &res, &err);
	run_plan_release(&p);
	run_opts_release(&o);
	if (r < 0) {
		int code = res.exit_code != 0 ? res.exit_code : RUN_EXIT_SETUP;
		bale_fail(err);
		return code;
	}
	return exit_status(&res);
fail:
	run_plan_release(&p);
	run_opts_release(&o);
	bale_fail(err);
	return RUN_EXIT_SETUP;
}

const struct bale_command cmd_run = {
	.name = "run",
	.summary = bale_summary_run,
	.usage = bale_help_run,
	.options = run_options,
	.run = run_run,
};
