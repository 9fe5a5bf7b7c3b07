/* bale load [-i FILE] */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "common/util.h"
#include "layers/archive.h"

/* Also in .options, for the help test and shell completion. */
static const struct option load_options[] = {
	{ "input", required_argument, NULL, 'i' },
	{ NULL, 0, NULL, 0 },
};

static int run_load(int argc, char **argv, const struct bale_globals *g)
{
	struct err *err = NULL;
	const char *in = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "i:", load_options, NULL)) != -1) {
		if (c != 'i')
			return bale_usage_error(&cmd_load, "unknown option");
		in = optarg;
	}
	if (optind != argc)
		return bale_usage_error(&cmd_load, "unexpected argument '%s'", argv[optind]);
	cleanup_close int fd = in ? open(in, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	if (fd < 0) {
		err_sys(&err, ERR_IO, errno, "cannot open '%s'", in);
		return bale_fail(err);
	}
	cleanup_store struct store *s = NULL;
	if (store_open_root(&s, g->root, &err) < 0)
		return bale_fail(err);
	cleanup_strv char **names = NULL;
	if (store_load_archive(s, fd, &names, &err) < 0) {
		err_wrap(&err, "cannot load '%s'", in ? in : "stdin");
		return bale_fail(err);
	}
	for (size_t i = 0; names != NULL && names[i] != NULL; i++)
		printf("Loaded image: %s\n", names[i]);
	return BALE_EXIT_OK;
}

const struct bale_command cmd_load = {
	.name = "load",
	.summary = bale_summary_load,
	.usage = bale_help_load,
	.options = load_options,
	.run = run_load,
};
