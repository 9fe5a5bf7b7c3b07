/* The subcommand table: one entry per cmd/cmd-*.c, in `bale --help` order. */
#include "config.h"

#include "cmd/bale.h"
#include "cmd/commands.h"

const struct bale_command *const bale_commands[] = {
	/* parser commands (begin) */
	&cmd_parse,
	/* parser commands (end) */
	/* layers commands (begin) */
	&cmd_images,
	&cmd_inspect,
	&cmd_tag,
	&cmd_rmi,
	&cmd_prune,
	&cmd_import,
	&cmd_save,
	&cmd_load,
	/* layers commands (end) */
	/* builder build commands (begin) */
	&cmd_build,
	/* builder build commands (end) */
	/* builder commands (begin) */
	&cmd_run,
	&cmd_info,
	/* builder commands (end) */
	/* registry commands (begin) */
	&cmd_serve,
	&cmd_gc,
	/* registry commands (end) */
	/* registry client commands (begin) */
	&cmd_pull,
	&cmd_push,
	&cmd_copy,
	&cmd_login,
	&cmd_logout,
	/* registry client commands (end) */
	&cmd_version,
	&cmd_help,
	NULL,
};
