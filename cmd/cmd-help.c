/* bale help [COMMAND] */
#include "config.h"

#include <stdio.h>

#include "cmd/bale.h"
#include "cmd/commands.h"

static int run_help(int argc, char **argv, const struct bale_globals *g)
{
	(void)g;
	if (argc == 1) {
		bale_print_main_usage(stdout);
		return BALE_EXIT_OK;
	}
	if (argc > 2)
		return bale_usage_error(&cmd_help, "expected at most one command name, got %d", argc - 1);
	const struct bale_command *cmd = bale_command_find(argv[1]);
	if (cmd == NULL)
		return bale_usage_error(&cmd_help, "'%s' is not a bale command", argv[1]);
	return bale_print_usage(cmd);
}

const struct bale_command cmd_help = {
	.name = "help",
	.summary = "show help for bale or one command",
	.usage = "usage: bale help [COMMAND]\n"
		 "\n"
		 "Without COMMAND, list bale's commands; with it, show that command's\n"
		 "usage and options (the same text as `bale COMMAND --help`).\n",
	.run = run_help,
};
