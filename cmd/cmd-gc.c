/* bale gc: remove blobs and manifests of a registry store that nothing
 * reachable references (registry/gc.h). Safe while `bale serve` runs. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "common/util.h"
#include "layers/store.h"
#include "registry/serve-config.h"
#include "registry/gc.h"

/* Default grace period: anything younger may belong to a push in progress. */
#define GC_DEFAULT_GRACE 3600

static void report(void *ctx, const char *kind, const char *repo, const struct digest *d,
                   uint64_t size)
{
	const bool *dry = ctx;
	char ds[DIGEST_MAX_STRING];
	digest_format(d, ds);
	if (repo != NULL)
		printf("%s %s %s@%s\n", *dry ? "would remove" : "removed", kind, repo, ds);
	else
		printf("%s %s %s (%" PRIu64 " bytes)\n", *dry ? "would remove" : "removed", kind,
		       ds, size);
}

static int parse_grace(const char *s, int64_t *out)
{
	uint64_t v;
	if (str_to_u64(s, &v) < 0 || v > INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* Also in .options, for the help test and shell completion. */
static const struct option gc_options[] = {
	{"dry-run", no_argument, NULL, 'n'},
	{"delete-untagged", no_argument, NULL, 'u'},
	{"config", required_argument, NULL, 'c'},
	{"root", required_argument, NULL, 'r'},
	{"grace", required_argument, NULL, 'g'},
	{NULL, 0, NULL, 0},
};

static int run_gc(int argc, char **argv, const struct bale_globals *g)
{
	struct reg_gc_opts o = {.grace = GC_DEFAULT_GRACE};
	const char *config = NULL, *root = NULL;
	struct err *err = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "c:", gc_options, NULL)) != -1) {
		switch (c) {
		case 'n': o.dry_run = true; break;
		case 'u': o.delete_untagged = true; break;
		case 'c': config = optarg; break;
		case 'r': root = optarg; break;
		case 'g':
			if (parse_grace(optarg, &o.grace) < 0)
				return bale_usage_error(&cmd_gc, "--grace wants seconds, not '%s'",
				                        optarg);
			break;
		default: return bale_usage_error(&cmd_gc, "unknown option");
		}
	}
	if (optind < argc)
		return bale_usage_error(&cmd_gc, "unexpected argument '%s'", argv[optind]);
	cleanup_free char *base = NULL;
	if (store_root_resolve(&base, g->root, &err) < 0)
		return bale_fail(err);
	cleanup_free char *dflt = xasprintf("%s/registry", base);
	struct reg_config *cfg = reg_config_new(dflt);
	if (config != NULL && reg_config_load(cfg, config, &err) < 0) {
		reg_config_free(cfg);
		return bale_fail(err);
	}
	struct reg_gc_stats st;
	int rc = reg_gc_run(root != NULL ? root : cfg->root, &o, report, &o.dry_run, &st, &err);
	reg_config_free(cfg);
	if (rc < 0)
		return bale_fail(err);
	printf("%s %" PRIu64 " manifests, %" PRIu64 " blobs (%" PRIu64 " bytes) and %" PRIu64
	       " blob links; kept %" PRIu64 " manifests and %" PRIu64 " blobs in %" PRIu64
	       " repositories\n",
	       o.dry_run ? "would remove" : "removed", st.manifests_removed, st.blobs_removed,
	       st.bytes_removed, st.links_removed, st.manifests_kept, st.blobs_kept,
	       st.repositories);
	return BALE_EXIT_OK;
}

const struct bale_command cmd_gc = {
        .name = "gc",
        .summary = bale_summary_gc,
        .usage = bale_help_gc,
        .options = gc_options,
        .run = run_gc,
};
