/* Options and setup shared by the registry client commands (pull, push,
 * copy, login, logout); defined in cmd/cmd-copy.c and cmd/cmd-login.c. */
#ifndef BALE_CMD_REGC_OPTS_H
#define BALE_CMD_REGC_OPTS_H

#include <getopt.h>
#include <stdbool.h>

#include "common/progress.h"
#include "cmd/bale.h"
#include "registry/client.h"

/* Options pull, push and copy share (cmd/cmd-copy.c). */
struct cmd_regc_opts {
	struct regc_opts ro;
	enum progress_mode progress_mode;
	const char *platform;
	bool all;
	struct regc_compress compress; /* push, copy: --compression */
	char *creds_user;
	/* set by cmd_regc_start(), freed by cmd_regc_finish() */
	struct progress *progress;
	struct store *store;
	struct regc *client;
};
enum {
	CMD_REGC_OPT_TLS_VERIFY = 0x200,
	CMD_REGC_OPT_CERT_DIR,
	CMD_REGC_OPT_AUTHFILE,
	CMD_REGC_OPT_CREDS,
	CMD_REGC_OPT_PROGRESS,
	CMD_REGC_OPT_PLATFORM,
	CMD_REGC_OPT_CHUNK_SIZE,
	CMD_REGC_OPT_COMPRESSION,
};
/* Every registry client command: where and how to connect, progress. */
#define CMD_REGC_LONG_OPTIONS                                                  \
	{ "tls-verify", optional_argument, NULL, CMD_REGC_OPT_TLS_VERIFY },    \
	{ "cert-dir", required_argument, NULL, CMD_REGC_OPT_CERT_DIR },        \
	{ "authfile", required_argument, NULL, CMD_REGC_OPT_AUTHFILE },        \
	{ "creds", required_argument, NULL, CMD_REGC_OPT_CREDS },              \
	{ "jobs", required_argument, NULL, 'j' },                              \
	{ "progress", required_argument, NULL, CMD_REGC_OPT_PROGRESS },        \
	{ "quiet", no_argument, NULL, 'q' }
/* Commands that upload (push, copy). */
#define CMD_REGC_UPLOAD_OPTIONS                                                \
	{ "chunk-size", required_argument, NULL, CMD_REGC_OPT_CHUNK_SIZE },    \
	{ "compression", required_argument, NULL, CMD_REGC_OPT_COMPRESSION }
/* Commands that choose among an index's platforms (pull, copy). */
#define CMD_REGC_PLATFORM_OPTIONS                                              \
	{ "platform", required_argument, NULL, CMD_REGC_OPT_PLATFORM },        \
	{ "all", no_argument, NULL, 'a' }
void cmd_regc_opts_init(struct cmd_regc_opts *o);
/* 1: option consumed, 0: not one of ours, else the exit code of a usage
 * error already printed. */
int cmd_regc_option(struct cmd_regc_opts *o, int c, const char *arg,
		    const struct bale_command *cmd);
/* Parse the options of argv with getopt_long (short options shortopts,
 * long ones opts): 0 when all were taken, else the exit code of the usage
 * error already printed (o is then finished). */
int cmd_regc_parse(struct cmd_regc_opts *o, int argc, char **argv, const char *shortopts,
		   const struct option *opts, const struct bale_command *cmd);
/* Create the progress reporter, open the store (when need_store) and the
 * client. */
int cmd_regc_start(struct cmd_regc_opts *o, const struct bale_globals *g, bool need_store,
		   struct err **err);
void cmd_regc_finish(struct cmd_regc_opts *o);
/* The registry domain login/logout mean: "docker.io" when arg is NULL,
 * scheme and path stripped ("https://reg:5000/v2/" -> "reg:5000"). The
 * caller frees (cmd/cmd-login.c). */
char *cmd_regc_login_domain(const char *arg);

#endif
