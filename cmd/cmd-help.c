/* bale help [COMMAND] */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cmd/bale.h"
#include "cmd/commands.h"

static const struct option help_options[] = { { NULL, 0, NULL, 0 } };

static int run_help(int argc, char **argv, const struct bale_globals *g)
{
	(void)g;
	if (argc == 1) {
		bale_print_main_usage(stdout);
		return BALE_EXIT_OK;
	}
	if (argc > 2)
		return bale_usage_error(&cmd_help, "expected at most one command name, got %d", argc - 1);
	/* bale(1) itself: global options, environment, files. */
	if (strcmp(argv[1], "bale") == 0) {
		fputs(bale_help_bale, stdout);
		return BALE_EXIT_OK;
	}
	const struct bale_command *cmd = bale_command_find(argv[1]);
	if (cmd == NULL)
		return bale_usage_error(&cmd_help, "'%s' is not a bale command", argv[1]);
	return bale_print_usage(cmd);
}

const struct bale_command cmd_help = {
	.name = "help",
	.summary = bale_summary_help,
	.usage = bale_help_help,
	.options = help_options,
	.run = run_help,
};
