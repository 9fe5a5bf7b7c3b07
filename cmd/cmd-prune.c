/* bale prune */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "builder/build.h"
#include "cmd/bale.h"
#include "cmd/commands.h"
#include "common/progress.h"
#include "layers/store.h"

/* Also in .options, for the help test and shell completion. */
static const struct option prune_options[] = {
	{ "build-cache", no_argument, NULL, 'b' },
	{ NULL, 0, NULL, 0 },
};

static int run_prune(int argc, char **argv, const struct bale_globals *g)
{
	struct err *err = NULL;
	bool build_cache = false;
	int c;
	while ((c = getopt_long(argc, argv, "", prune_options, NULL)) != -1) {
		if (c != 'b')
			return bale_usage_error(&cmd_prune, "unknown option");
		build_cache = true;
	}
	if (optind != argc)
		return bale_usage_error(&cmd_prune, "unexpected argument '%s'", argv[optind]);
	cleanup_store struct store *s = NULL;
	if (store_open_root(&s, g->root, &err) < 0)
		return bale_fail(err);
	size_t images = 0, blobs = 0, entries = 0;
	uint64_t bytes = 0;
	if ((build_cache && build_cache_clear(store_root(s), &entries, &err) < 0) ||
	    store_remove_dangling(s, &images, &err) < 0 ||
	    bale_store_gc(s, &blobs, &bytes, &err) < 0)
		return bale_fail(err);
	char b[PROGRESS_FMT_SIZE];
	if (build_cache)
		printf("Deleted %zu build cache entries\n", entries);
	printf("Deleted %zu untagged images and %zu blobs, reclaimed %s\n", images, blobs,
	       progress_format_bytes(bytes, b, sizeof(b)));
	return BALE_EXIT_OK;
}

const struct bale_command cmd_prune = {
	.name = "prune",
	.summary = bale_summary_prune,
	.usage = bale_help_prune,
	.options = prune_options,
	.run = run_prune,
};
