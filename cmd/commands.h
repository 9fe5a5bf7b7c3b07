/* Declarations of every subcommand's table entry (defined in cmd/cmd-*.c). */
#ifndef BALE_CMD_COMMANDS_H
#define BALE_CMD_COMMANDS_H

#include "cmd/bale.h"

/* parser declarations (begin) */
extern const struct bale_command cmd_parse;
/* parser declarations (end) */
/* layers declarations (begin) */
/* layers declarations (end) */
/* builder build declarations (begin) */
/* builder build declarations (end) */
/* builder declarations (begin) */
/* builder declarations (end) */
/* registry declarations (begin) */
/* registry declarations (end) */
/* registry client declarations (begin) */
/* registry client declarations (end) */
extern const struct bale_command cmd_version;
extern const struct bale_command cmd_help;

#endif
