/* What the subcommands share: the command lookup, usage and error output,
 * the global options table. main() is in cmd/main.c. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "builder/sandbox.h"
#include "builder/build.h"
#include "cmd/bale.h"
#include "common/log.h"
#include "common/util.h"
#include "layers/store.h"

static const char main_usage[] =
	"usage: bale [--root DIR] [--log-level LEVEL] COMMAND [ARGS...]\n"
	"\n"
	"Build container images without a daemon and serve them over the OCI\n"
	"distribution API.\n"
	"\n"
	"Global options (before COMMAND):\n"
	"  --root DIR         local image store (default /var/lib/bale for root,\n"
	"                     $XDG_DATA_HOME/bale otherwise)\n"
	"  --log-level LEVEL  error, warn, info, debug or trace (default warn;\n"
	"                     also $BALE_LOG)\n"
	"  -h, --help         show this help\n"
	"  -v, --version      same as `bale version`\n";

const struct option bale_global_options[] = {
	{ "root", required_argument, NULL, 'r' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

const struct bale_command *bale_command_find(const char *name)
{
	for (size_t i = 0; bale_commands[i] != NULL; i++)
		if (strcmp(bale_commands[i]->name, name) == 0)
			return bale_commands[i];
	return NULL;
}

int bale_fail(struct err *err)
{
	fprintf(stderr, "bale: %s\n", err_msg(err));
	err_free(err);
	return BALE_EXIT_FAIL;
}

int bale_usage_error(const struct bale_command *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "bale %s: ", cmd != NULL ? cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'bale help %s' for more information.\n", cmd != NULL ? cmd->name : "");
	return BALE_EXIT_USAGE;
}

int bale_print_usage(const struct bale_command *cmd)
{
	fputs(cmd->usage, stdout);
	return BALE_EXIT_OK;
}

/* The command list of `bale --help`, aligned on the longest name. */
void bale_print_main_usage(FILE *out)
{
	fputs(main_usage, out);
	fputs("\nCommands:\n", out);
	for (size_t i = 0; bale_commands[i] != NULL; i++)
		fprintf(out, "  %-10s %s\n", bale_commands[i]->name, bale_commands[i]->summary);
	fputs("\nRun 'bale help COMMAND' for a command's manual, 'man bale' for more.\n", out);
}

int bale_store_gc(struct store *s, size_t *blobs, uint64_t *bytes, struct err **err)
{
	if (geteuid() != 0)
		(void)sbx_userns_enter(NULL); /* without it, those files stay */
	struct store_gc_keep keep = { 0 };
	struct digest *cache_blobs = NULL, *cache_diff_ids = NULL;
	size_t n = 0;
	build_cache_layers(store_root(s), &cache_blobs, &cache_diff_ids, &n);
	keep.blobs = cache_blobs;
	keep.diff_ids = cache_diff_ids;
	keep.n_blobs = keep.n_diff_ids = n;
	int r = store_gc(s, 0, true, &keep, blobs, bytes, err);
	free(cache_blobs);
	free(cache_diff_ids);
	return r;
}
