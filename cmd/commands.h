/* Declarations of every subcommand's table entry (defined in cmd/cmd-*.c). */
#ifndef BALE_CMD_COMMANDS_H
#define BALE_CMD_COMMANDS_H

#include "cmd/bale.h"

/* parser declarations (begin) */
/* parser declarations (end) */
/* layers declarations (begin) */
/* layers declarations (end) */
/* builder declarations (begin) */
/* builder declarations (end) */
/* registry declarations (begin) */
/* registry declarations (end) */
extern const struct bale_command cmd_version;
extern const struct bale_command cmd_help;

#endif
