/* bale push IMAGE [DEST]: an image from the local store to a registry. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "cmd/regc-opts.h"
#include "common/util.h"
#include "layers/store.h"
#include "registry/client.h"

/* Also in .options, for the help test and shell completion. */
static const struct option push_options[] = { CMD_REGC_LONG_OPTIONS, CMD_REGC_UPLOAD_OPTIONS,
						{ NULL, 0, NULL, 0 } };

static int run_push(int argc, char **argv, const struct bale_globals *g)
{
	struct cmd_regc_opts o;
	cmd_regc_opts_init(&o);
	int r = cmd_regc_parse(&o, argc, argv, "j:q", push_options, &cmd_push);
	if (r != 0)
		return r;
	if (argc - optind < 1 || argc - optind > 2) {
		cmd_regc_finish(&o);
		return bale_usage_error(&cmd_push, "expected IMAGE and an optional DESTINATION");
	}
	const char *image = argv[optind];
	const char *dest = argc - optind == 2 ? argv[optind + 1] : NULL;
	struct err *err = NULL;
	struct digest d;
	r = cmd_regc_start(&o, g, true, &err);
	if (r == 0)
		r = regc_push_with(o.client, o.store, image, dest, &o.compress, &d, &err);
	if (r < 0) {
		cmd_regc_finish(&o);
		return bale_fail(err);
	}
	char ds[DIGEST_MAX_STRING];
	digest_format(&d, ds);
	progress_message(o.progress, "pushed %s: digest: %s", dest != NULL ? dest : image, ds);
	cmd_regc_finish(&o);
	printf("%s\n", ds);
	return BALE_EXIT_OK;
}

const struct bale_command cmd_push = {
	.name = "push",
	.summary = bale_summary_push,
	.usage = bale_help_push,
	.options = push_options,
	.run = run_push,
};
