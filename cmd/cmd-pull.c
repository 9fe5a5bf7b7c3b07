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

static int run_pull(int argc, char **argv, const struct bale_globals *g)
{
	static const struct option opts[] = { CMD_REGC_LONG_OPTIONS, { NULL, 0, NULL, 0 } };
	struct cmd_regc_opts o;
	cmd_regc_opts_init(&o);
	int c;
	while ((c = getopt_long(argc, argv, "j:qa", opts, NULL)) != -1) {
		int r = cmd_regc_option(&o, c, optarg, &cmd_pull);
		if (r == 0)
			r = bale_usage_error(&cmd_pull, "unknown option");
		if (r != 1) {
			cmd_regc_finish(&o);
			return r;
		}
	}
	if (argc - optind != 1) {
		cmd_regc_finish(&o);
		return bale_usage_error(&cmd_pull, "expected one image reference");
	}
	const char *ref = argv[optind];
	struct err *err = NULL;
	struct oci_descriptor desc = { 0 };
	int r = cmd_regc_start(&o, g, true, &err);
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
	.summary = "pull an image from a registry into the local store",
	.usage = "usage: bale pull [OPTIONS] REFERENCE\n"
		 "\n"
		 "Download an image (every blob verified against its digest) into the\n"
		 "local store and tag it under its short name. An index is resolved to\n"
		 "this machine's platform unless --platform or --all says otherwise.\n"
		 "Prints the digest of what was stored.\n"
		 "\n"
		 "Options:\n" CMD_REGC_USAGE
		 "  -a, --all                  keep every platform of an index\n"
		 "      --platform OS/ARCH[/VARIANT]  the platform to pull\n",
	.run = run_pull,
};
