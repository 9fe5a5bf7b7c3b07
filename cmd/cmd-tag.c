/* bale tag SOURCE TARGET */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "layers/store.h"

static int run_tag(int argc, char **argv, const struct bale_globals *g)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct err *err = NULL;
	if (getopt_long(argc, argv, "", opts, NULL) != -1)
		return bale_usage_error(&cmd_tag, "unknown option");
	if (argc - optind != 2)
		return bale_usage_error(&cmd_tag, "expected SOURCE and TARGET");
	cleanup_store struct store *s = NULL;
	if (store_open_root(&s, g->root, &err) < 0)
		return bale_fail(err);
	struct store_image im;
	if (store_lookup(s, argv[optind], &im, &err) < 0)
		return bale_fail(err);
	int r = store_tag(s, argv[optind + 1], &im.desc, &err);
	store_image_release(&im);
	if (r < 0)
		return bale_fail(err);
	return BALE_EXIT_OK;
}

const struct bale_command cmd_tag = {
	.name = "tag",
	.summary = "give an image another name",
	.usage = "usage: bale tag SOURCE TARGET\n"
		 "\n"
		 "Make TARGET (NAME[:TAG]) name the image SOURCE (a name or an image id)\n"
		 "in the local store. A name that named another image moves.\n",
	.run = run_tag,
};
