/* Declarations of every subcommand's table entry (defined in cmd/cmd-*.c). */
#ifndef BALE_CMD_COMMANDS_H
#define BALE_CMD_COMMANDS_H

#include "cmd/bale.h"
#include "cmd/help-pages.h" /* bale_help_NAME, bale_summary_NAME: from man/ */

/* parser declarations (begin) */
extern const struct bale_command cmd_parse;
/* parser declarations (end) */
/* layers declarations (begin) */
extern const struct bale_command cmd_images;
extern const struct bale_command cmd_inspect;
extern const struct bale_command cmd_tag;
extern const struct bale_command cmd_rmi;
extern const struct bale_command cmd_prune;
extern const struct bale_command cmd_import;
extern const struct bale_command cmd_save;
extern const struct bale_command cmd_load;
/* layers declarations (end) */
/* builder build declarations (begin) */
extern const struct bale_command cmd_build;
/* builder build declarations (end) */
/* builder declarations (begin) */
extern const struct bale_command cmd_run;
extern const struct bale_command cmd_info;
/* builder declarations (end) */
/* registry declarations (begin) */
extern const struct bale_command cmd_serve;
extern const struct bale_command cmd_gc;
/* registry declarations (end) */
/* registry client declarations (begin) */
extern const struct bale_command cmd_pull;
extern const struct bale_command cmd_push;
extern const struct bale_command cmd_copy;
extern const struct bale_command cmd_login;
extern const struct bale_command cmd_logout;
/* registry client declarations (end) */
extern const struct bale_command cmd_version;
extern const struct bale_command cmd_help;

#endif
