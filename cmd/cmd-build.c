/* bale build [OPTIONS] CONTEXT: a Containerfile to an image. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/sandbox.h"
#include "cmd/bale.h"
#include "cmd/commands.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/util.h"

struct build_cli {
	struct build_opts o;
	char **tags, **args, **labels, **secrets;
	struct build_output *outputs;
	size_t n_outputs;
	enum progress_mode pmode;
};

static void build_cli_release(struct build_cli *c)
{
	strv_free(c->tags);
	strv_free(c->args);
	strv_free(c->labels);
	strv_free(c->secrets);
	for (size_t i = 0; i < c->n_outputs; i++)
		build_output_release(&c->outputs[i]);
	free(c->outputs);
}

static int parse_epoch(const char *s, int64_t *out)
{
	return str_to_i64(s, out) < 0 || *out < 0 ? -1 : 0;
}

enum { O_NOCACHE = 256, O_PULL, O_NETWORK, O_FORMAT, O_COMPRESSION, O_LABEL, O_SECRET,
       O_OUTPUT, O_PUSH, O_IIDFILE, O_PROGRESS, O_SDE, O_TARGET, O_BUILDARG };

/* Also in .options, for the help test and shell completion. */
static const struct option build_options[] = {
	{ "file", required_argument, NULL, 'f' },
	{ "tag", required_argument, NULL, 't' },
	{ "build-arg", required_argument, NULL, O_BUILDARG },
	{ "target", required_argument, NULL, O_TARGET },
	{ "no-cache", no_argument, NULL, O_NOCACHE },
	{ "pull", no_argument, NULL, O_PULL },
	{ "network", required_argument, NULL, O_NETWORK },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "compression", required_argument, NULL, O_COMPRESSION },
	{ "label", required_argument, NULL, O_LABEL },
	{ "secret", required_argument, NULL, O_SECRET },
	{ "output", required_argument, NULL, 'o' },
	{ "push", no_argument, NULL, O_PUSH },
	{ "iidfile", required_argument, NULL, O_IIDFILE },
	{ "progress", required_argument, NULL, O_PROGRESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "source-date-epoch", required_argument, NULL, O_SDE },
	{ NULL, 0, NULL, 0 },
};

static int parse(int argc, char **argv, struct build_cli *c)
{
	struct err *err = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "f:t:o:q", build_options, NULL)) != -1) {
		switch (ch) {
		case 'f':
			c->o.file = optarg;
			break;
		case 't':
			strv_push(&c->tags, optarg);
			break;
		case O_BUILDARG:
			strv_push(&c->args, optarg);
			break;
		case O_TARGET:
			c->o.target = optarg;
			break;
		case O_NOCACHE:
			c->o.no_cache = true;
			break;
		case O_PULL:
			c->o.pull = true;
			break;
		case O_NETWORK:
			if (strcmp(optarg, "host") == 0 || strcmp(optarg, "default") == 0)
				c->o.network = SBX_NETWORK_HOST;
			else if (strcmp(optarg, "none") == 0)
				c->o.network = SBX_NETWORK_NONE;
			else
				return bale_usage_error(&cmd_build, "--network: '%s' is not host or none",
							optarg);
			break;
		case O_FORMAT:
			if (strcmp(optarg, "oci") == 0)
				c->o.docker_format = false;
			else if (strcmp(optarg, "docker") == 0)
				c->o.docker_format = true;
			else
				return bale_usage_error(&cmd_build, "--format: '%s' is not oci or docker",
							optarg);
			break;
		case O_COMPRESSION:
			if (layer_compression_parse(optarg, &c->o.compression, &err) < 0) {
				err_free(err);
				return bale_usage_error(&cmd_build, "--compression: '%s' is not zstd, gzip or none",
							optarg);
			}
			c->o.compression_set = true;
			break;
		case O_LABEL:
			strv_push(&c->labels, optarg);
			break;
		case O_SECRET:
			strv_push(&c->secrets, optarg);
			break;
		case 'o':
			c->outputs = xreallocarray(c->outputs, c->n_outputs + 1, sizeof *c->outputs);
			if (build_output_parse(&c->outputs[c->n_outputs], optarg, &err) < 0) {
				int r = bale_usage_error(&cmd_build, "%s", err_msg(err));
				err_free(err);
				return r;
			}
			c->n_outputs++;
			break;
		case O_PUSH:
			c->o.push = true;
			break;
		case O_IIDFILE:
			c->o.iidfile = optarg;
			break;
		case O_PROGRESS:
			if (progress_mode_parse(optarg, &c->pmode, &err) < 0) {
				int r = bale_usage_error(&cmd_build, "--progress: %s", err_msg(err));
				err_free(err);
				return r;
			}
			break;
		case 'q':
			c->o.quiet = true;
			break;
		case O_SDE:
			if (parse_epoch(optarg, &c->o.source_date_epoch) < 0)
				return bale_usage_error(&cmd_build, "--source-date-epoch: '%s' is not a "
								    "number of seconds", optarg);
			break;
		default:
			return BALE_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return bale_usage_error(&cmd_build, optind >= argc ? "missing CONTEXT"
								  : "more than one CONTEXT");
	c->o.context = argv[optind];
	return 0;
}

static int run_build(int argc, char **argv, const struct bale_globals *g)
{
	struct build_cli c;
	memset(&c, 0, sizeof c);
	build_opts_init(&c.o);
	c.pmode = PROGRESS_AUTO;
	int r = parse(argc, argv, &c);
	if (r != 0) {
		build_cli_release(&c);
		return r;
	}
	struct err *err = NULL;
	if (c.o.source_date_epoch < 0) {
		const char *sde = getenv("SOURCE_DATE_EPOCH");
		if (sde != NULL && sde[0] != '\0' && parse_epoch(sde, &c.o.source_date_epoch) < 0) {
			build_cli_release(&c);
			return bale_usage_error(&cmd_build, "SOURCE_DATE_EPOCH: '%s' is not a number", sde);
		}
	}
	c.o.root = g->root;
	c.o.tags = c.tags;
	c.o.build_args = c.args;
	c.o.labels = c.labels;
	c.o.secrets = c.secrets;
	c.o.outputs = c.outputs;
	for (size_t i = 0; i < c.n_outputs; i++)
		if (c.outputs[i].type == BUILD_OUTPUT_REGISTRY)
			c.o.push = true;
	c.o.n_outputs = c.n_outputs;
	if (c.o.push && c.tags == NULL) {
		build_cli_release(&c);
		return bale_usage_error(&cmd_build, "--push needs -t NAME");
	}
	/* The user namespace must be entered before any thread exists. */
	if (sbx_userns_enter(&err) < 0) {
		build_cli_release(&c);
		return bale_fail(err);
	}
	if (sbx_userns_limits() != NULL && !c.o.quiet)
		log_warn("%s", sbx_userns_limits());
	struct progress *p = progress_new(c.o.quiet ? PROGRESS_QUIET : c.pmode, STDERR_FILENO);
	progress_show_elapsed(p); /* tty: each live step's clock runs */
	c.o.progress = p;
	c.o.progress_fd = STDERR_FILENO;
	if (c.o.quiet)
		c.o.log_fd = -1;
	struct build_result res;
	r = build_run(&c.o, &res, &err);
	char ds[DIGEST_MAX_STRING];
	progress_free(p);
	build_cli_release(&c);
	if (r < 0)
		return bale_fail(err);
	printf("%s\n", digest_format(&res.config, ds));
	return BALE_EXIT_OK;
}

const struct bale_command cmd_build = {
	.name = "build",
	.summary = bale_summary_build,
	.usage = bale_help_build,
	.options = build_options,
	.run = run_build,
};
