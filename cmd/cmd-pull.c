/* bale pull REF: an image from a registry into the local store. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "cmd/regc-opts.h"
#include "common/util.h"
#include "layers/image.h"
#include "layers/store.h"
#include "registry/client.h"

/* Also in .options, for the help test and shell completion. */
static const struct option pull_options[] = { CMD_REGC_LONG_OPTIONS, CMD_REGC_PLATFORM_OPTIONS,
						{ NULL, 0, NULL, 0 } };

static int run_pull(int argc, char **argv, const struct bale_globals *g)
{
	struct cmd_regc_opts o;
	cmd_regc_opts_init(&o);
	int r = cmd_regc_parse(&o, argc, argv, "j:qa", pull_options, &cmd_pull);
	if (r != 0)
		return r;
	if (argc - optind != 1) {
		cmd_regc_finish(&o);
		return bale_usage_error(&cmd_pull, "expected one image reference");
	}
	const char *ref = argv[optind];
	struct err *err = NULL;
	struct oci_descriptor desc = { 0 };
	r = cmd_regc_start(&o, g, true, &err);
	if (r == 0)
		r = regc_pull(o.client, o.store, ref, o.platform, o.all, &desc, &err);
	if (r < 0) {
		cmd_regc_finish(&o);
		return bale_fail(err);
	}
	char ds[DIGEST_MAX_STRING];
	digest_format(&desc.digest, ds);
	progress_message(o.progress, "pulled %s: %s", ref, ds);
	oci_descriptor_release(&desc);
	cmd_regc_finish(&o);
	printf("%s\n", ds);
	return BALE_EXIT_OK;
}

const struct bale_command cmd_pull = {
	.name = "pull",
	.summary = bale_summary_pull,
	.usage = bale_help_pull,
	.options = pull_options,
	.run = run_pull,
};
