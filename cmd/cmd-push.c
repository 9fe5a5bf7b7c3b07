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

static int run_push(int argc, char **argv, const struct bale_globals *g)
{
	static const struct option opts[] = { CMD_REGC_LONG_OPTIONS, CMD_REGC_COMPRESSION_OPTION,
					      { NULL, 0, NULL, 0 } };
	struct cmd_regc_opts o;
	cmd_regc_opts_init(&o);
	int c;
	while ((c = getopt_long(argc, argv, "j:qa", opts, NULL)) != -1) {
		int r = cmd_regc_option(&o, c, optarg, &cmd_push);
		if (r == 0)
			r = bale_usage_error(&cmd_push, "unknown option");
		if (r != 1) {
			cmd_regc_finish(&o);
			return r;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		cmd_regc_finish(&o);
		return bale_usage_error(&cmd_push, "expected IMAGE and an optional DESTINATION");
	}
	const char *image = argv[optind];
	const char *dest = argc - optind == 2 ? argv[optind + 1] : NULL;
	struct err *err = NULL;
	struct digest d;
	int r = cmd_regc_start(&o, g, true, &err);
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
	.summary = "push an image from the local store to a registry",
	.usage = "usage: bale push [OPTIONS] IMAGE [DESTINATION]\n"
		 "\n"
		 "Upload a stored image to DESTINATION (default: the image's own name).\n"
		 "Blobs the registry has are skipped, blobs in another repository of\n"
		 "the same registry are mounted, the rest are uploaded in parallel and\n"
		 "resumed after a network failure. Prints the pushed manifest digest.\n"
		 "Layers stored uncompressed (as `bale build` stores them) are gzipped\n"
		 "first, in parallel, and the manifest rewritten to name them; the\n"
		 "compressed blobs stay in the store, so pushing again compresses nothing.\n"
		 "\n"
		 "Options:\n" CMD_REGC_USAGE CMD_REGC_COMPRESSION_USAGE,
	.run = run_push,
};
