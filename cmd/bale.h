/* The bale CLI: global options, subcommand table, and the shared ways a
 * subcommand reports errors and exits. One file per subcommand in cmd/. */
#ifndef BALE_CMD_BALE_H
#define BALE_CMD_BALE_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"

enum bale_exit {
	BALE_EXIT_OK = 0,
	BALE_EXIT_FAIL = 1,  /* the command ran and failed */
	BALE_EXIT_USAGE = 2, /* bad command line */
};

/* Options given before the command name. */
struct bale_globals {
	const char *root; /* --root, or NULL for the default store */
	const char *argv0;
};

struct bale_command {
	const char *name;
	const char *summary; /* one line for `bale --help` (NAME of its man page) */
	const char *usage;   /* `bale help NAME` and NAME --help: its man page as text */
	/* The long options its getopt_long() takes, {NULL}-terminated: what
	 * tests/unit/cmd/test-help-pages checks the page's OPTIONS against. */
	const struct option *options;
	/* argv[0] is the command name; getopt_long may be used (optind is reset
	 * before the call). Returns an enum bale_exit. */
	int (*run)(int argc, char **argv, const struct bale_globals *g);
};

/* The global options, before the command name (cmd/bale.c). */
extern const struct option bale_global_options[];

/* Every subcommand, in the order `bale --help` lists them; NULL-terminated. */
extern const struct bale_command *const bale_commands[];
const struct bale_command *bale_command_find(const char *name);

/* Print `bale: <message of err>` on stderr, free err, return BALE_EXIT_FAIL. */
int bale_fail(struct err *err);
/* Print `bale <cmd>: <message>` and a pointer to the help, return
 * BALE_EXIT_USAGE. */
int bale_usage_error(const struct bale_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* store_gc(s, 0, wait) for rmi and prune, keeping the layers the build
 * cache names (as docker's rmi keeps BuildKit's cache). Run as a user, it first enters
 * the sandbox's user namespace (when it can): extracted layers hold files
 * of the images' owners (subordinate ids), which only the namespace's root
 * may delete. */
struct store;
int bale_store_gc(struct store *s, size_t *blobs, uint64_t *bytes, struct err **err);
/* Print bale's own usage and the command list to out. */
void bale_print_main_usage(FILE *out);
/* Print the command's usage text on stdout and return BALE_EXIT_OK. */
int bale_print_usage(const struct bale_command *cmd);

#endif
