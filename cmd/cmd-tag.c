/* bale tag SOURCE TARGET */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "layers/store.h"

/* Also in .options, for the help test and shell completion. */
static const struct option tag_options[] = { { NULL, 0, NULL, 0 } };

static int run_tag(int argc, char **argv, const struct bale_globals *g)
{
	struct err *err = NULL;
	if (getopt_long(argc, argv, "", tag_options, NULL) != -1)
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
	.summary = bale_summary_tag,
	.usage = bale_help_tag,
	.options = tag_options,
	.run = run_tag,
};
