/* bale copy SRC DST, and the options pull, push and copy share (declared
 * in cmd/commands.h): TLS, credentials, parallelism, progress. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "cmd/regc-opts.h"
#include "common/log.h"
#include "common/util.h"
#include "layers/store.h"
#include "registry/client.h"
#include "registry/copy.h"

int cmd_regc_option(struct cmd_regc_opts *o, int c, const char *arg,
		    const struct bale_command *cmd)
{
	struct err *err = NULL;
	unsigned jobs, mib;
	switch (c) {
	case CMD_REGC_OPT_TLS_VERIFY:
		if (arg == NULL || str_eq(arg, "true"))
			o->ro.tls_verify = true;
		else if (str_eq(arg, "false"))
			o->ro.tls_verify = false;
		else
			return bale_usage_error(cmd, "--tls-verify: '%s' is not true or false", arg);
		return 1;
	case CMD_REGC_OPT_CERT_DIR:
		o->ro.certs_dir = arg;
		return 1;
	case CMD_REGC_OPT_AUTHFILE:
		o->ro.auth_file = arg;
		return 1;
	case CMD_REGC_OPT_CREDS: {
		const char *colon = strchr(arg, ':');
		free(o->creds_user);
		o->creds_user = colon != NULL ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
		o->ro.username = o->creds_user;
		o->ro.password = colon != NULL ? colon + 1 : "";
		return 1;
	}
	case 'j':
		if (str_to_uint(arg, 64, &jobs) < 0 || jobs == 0)
			return bale_usage_error(cmd, "--jobs: '%s' is not a number from 1 to 64", arg);
		o->ro.jobs = jobs;
		return 1;
	case CMD_REGC_OPT_CHUNK_SIZE:
		if (str_to_uint(arg, 1u << 20, &mib) < 0 || mib == 0)
			return bale_usage_error(cmd, "--chunk-size: '%s' is not a number of MiB from 1 to %u",
						arg, 1u << 20);
		o->ro.chunk_size = (uint64_t)mib << 20;
		return 1;
	case CMD_REGC_OPT_PROGRESS:
		if (progress_mode_parse(arg, &o->progress_mode, &err) < 0) {
			int r = bale_usage_error(cmd, "--progress: %s", err_msg(err));
			err_free(err);
			return r;
		}
		return 1;
	case 'q':
		o->progress_mode = PROGRESS_QUIET;
		return 1;
	case CMD_REGC_OPT_PLATFORM:
		o->platform = arg;
		return 1;
	case 'a':
		o->all = true;
		return 1;
	case CMD_REGC_OPT_COMPRESSION:
		if (layer_compression_parse(arg, &o->compress.algo, &err) < 0) {
			int r = bale_usage_error(cmd, "--compression: %s", err_msg(err));
			err_free(err);
			return r;
		}
		o->compress.set = true;
		return 1;
	default:
		return 0;
	}
}

void cmd_regc_opts_init(struct cmd_regc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ro.tls_verify = true;
	o->progress_mode = PROGRESS_AUTO;
}

int cmd_regc_start(struct cmd_regc_opts *o, const struct bale_globals *g, bool need_store,
		   struct err **err)
{
	o->progress = progress_new(o->progress_mode, STDERR_FILENO);
	o->ro.progress = o->progress;
	if (need_store) {
		cleanup_free char *root = NULL;
		if (store_root_resolve(&root, g->root, err) < 0 ||
		    store_open(&o->store, root, err) < 0)
			return err_code(*err);
	}
	return regc_new(&o->client, &o->ro, err);
}

void cmd_regc_finish(struct cmd_regc_opts *o)
{
	regc_free(o->client);
	store_free(o->store);
	progress_free(o->progress);
	free(o->creds_user);
	memset(o, 0, sizeof(*o));
}

int cmd_regc_parse(struct cmd_regc_opts *o, int argc, char **argv, const char *shortopts,
		   const struct option *opts, const struct bale_command *cmd)
{
	int c;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		int r = cmd_regc_option(o, c, optarg, cmd);
		if (r == 0)
			r = bale_usage_error(cmd, "unknown option");
		if (r != 1) {
			cmd_regc_finish(o);
			return r;
		}
	}
	return 0;
}

/* Also in .options, for the help test and shell completion. */
static const struct option copy_options[] = { CMD_REGC_LONG_OPTIONS, CMD_REGC_UPLOAD_OPTIONS,
						CMD_REGC_PLATFORM_OPTIONS, { NULL, 0, NULL, 0 } };

static int run_copy(int argc, char **argv, const struct bale_globals *g)
{
	struct cmd_regc_opts o;
	cmd_regc_opts_init(&o);
	int r = cmd_regc_parse(&o, argc, argv, "j:qa", copy_options, &cmd_copy);
	if (r != 0)
		return r;
	if (argc - optind != 2) {
		cmd_regc_finish(&o);
		return bale_usage_error(&cmd_copy, "expected SOURCE and DESTINATION");
	}
	const char *src = argv[optind], *dst = argv[optind + 1];
	struct err *err = NULL;
	bool need_store = regc_copy_needs_store(src) || regc_copy_needs_store(dst);
	struct regc_copy_opts co = { .all = o.all, .platform = o.platform, .compress = o.compress };
	struct digest d;
	r = cmd_regc_start(&o, g, need_store, &err);
	if (r == 0)
		r = regc_copy(o.client, o.store, src, dst, &co, &d, &err);
	if (r < 0) {
		err_wrap(&err, "cannot copy '%s' to '%s'", src, dst);
		cmd_regc_finish(&o);
		return bale_fail(err);
	}
	char ds[DIGEST_MAX_STRING];
	progress_message(o.progress, "copied %s: %s", dst, digest_format(&d, ds));
	cmd_regc_finish(&o);
	printf("%s\n", ds);
	return BALE_EXIT_OK;
}

const struct bale_command cmd_copy = {
	.name = "copy",
	.summary = bale_summary_copy,
	.usage = bale_help_copy,
	.options = copy_options,
	.run = run_copy,
};
