/* bale serve: run the registry server until SIGINT or SIGTERM. */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "common/log.h"
#include "common/util.h"
#include "layers/store.h"
#include "registry/serve-config.h"
#include "registry/server.h"

static int default_root(char **out, const struct bale_globals *g, struct err **err)
{
	cleanup_free char *base = NULL;
	if (store_root_resolve(&base, g->root, err) < 0)
		return ERR_INVALID;
	*out = xasprintf("%s/registry", base);
	return 0;
}

/* Wait for SIGINT/SIGTERM (blocked in every thread, so only sigwait
 * sees them). */
static void wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigwait(&set, &sig);
	log_info("signal %d: shutting down", sig);
}

struct serve_opts {
	const char *config;
	const char *listen;
	const char *root;
	bool check;
};

/* Also in .options, for the help test and shell completion. */
static const struct option serve_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"listen", required_argument, NULL, 'l'},
	{"root", required_argument, NULL, 'r'},
	{"check", no_argument, NULL, 'k'},
	{NULL, 0, NULL, 0},
};

static int parse_args(struct serve_opts *o, int argc, char **argv)
{
	int c;
	while ((c = getopt_long(argc, argv, "c:", serve_options, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'r': o->root = optarg; break;
		case 'k': o->check = true; break;
		default: return bale_usage_error(&cmd_serve, "unknown option");
		}
	}
	if (optind < argc)
		return bale_usage_error(&cmd_serve, "unexpected argument '%s'", argv[optind]);
	if (o->check && o->config == NULL)
		return bale_usage_error(&cmd_serve, "--check needs -c FILE");
	return BALE_EXIT_OK;
}

static int run_serve(int argc, char **argv, const struct bale_globals *g)
{
	struct serve_opts o = {0};
	struct err *err = NULL;
	int rc = parse_args(&o, argc, argv);
	if (rc != BALE_EXIT_OK)
		return rc;
	cleanup_free char *root = NULL;
	if (default_root(&root, g, &err) < 0)
		return bale_fail(err);
	struct reg_config *cfg = reg_config_new(root);
	if (o.config != NULL && reg_config_load(cfg, o.config, &err) < 0)
		goto fail;
	if (o.listen != NULL) {
		free(cfg->listen);
		cfg->listen = xstrdup(o.listen);
	}
	if (o.root != NULL) {
		free(cfg->root);
		cfg->root = xstrdup(o.root);
	}
	if (reg_config_check(cfg, &err) < 0)
		goto fail;
	if (o.check) {
		printf("%s: configuration is valid\n", o.config);
		reg_config_free(cfg);
		return BALE_EXIT_OK;
	}
	if (getenv("BALE_LOG") == NULL)
		log_set_level(cfg->log_level);
	log_set_format(cfg->log_format);

	/* Block the signals before the server's threads start, so they
	 * inherit the mask and sigwait() below gets them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct reg_server *srv = NULL;
	if (reg_server_start(&srv, cfg, &err) < 0)
		goto fail;
	/* tests and scripts wait for this line (port 0 picks a free port) */
	fprintf(stderr, "bale serve: listening on %s port %u (%s), storage %s\n", cfg->listen,
	        reg_server_port(srv), cfg->tls_cert != NULL ? "https" : "http", cfg->root);
	wait_for_signal();
	reg_server_free(srv);
	reg_config_free(cfg);
	return BALE_EXIT_OK;
fail:
	reg_config_free(cfg);
	return bale_fail(err);
}

const struct bale_command cmd_serve = {
        .name = "serve",
        .summary = bale_summary_serve,
        .usage = bale_help_serve,
        .options = serve_options,
        .run = run_serve,
};
