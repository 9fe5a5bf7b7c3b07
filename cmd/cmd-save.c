/* bale save -o FILE [--format docker-archive|oci-archive] IMAGE... */
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
static const struct option save_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'f' },
	{ "all", no_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 },
};

static int run_save(int argc, char **argv, const struct bale_globals *g)
{
	struct err *err = NULL;
	const char *out = NULL;
	struct store_save_opts so = { .format = ARCHIVE_FORMAT_DOCKER, .all = false };
	int c;
	while ((c = getopt_long(argc, argv, "o:", save_options, NULL)) != -1) {
		if (c == 'o') {
			out = optarg;
		} else if (c == 'a') {
			so.all = true;
		} else if (c == 'f') {
			if (store_archive_format_parse(optarg, &so.format, &err) < 0) {
				int r = bale_usage_error(&cmd_save, "--format: %s", err_msg(err));
				err_free(err);
				return r;
			}
		} else {
			return bale_usage_error(&cmd_save, "unknown option");
		}
	}
	if (optind >= argc)
		return bale_usage_error(&cmd_save, "expected at least one IMAGE");
	if (out == NULL && isatty(STDOUT_FILENO))
		return bale_usage_error(&cmd_save, "refusing to write an archive to a terminal: use -o FILE");
	cleanup_store struct store *s = NULL;
	if (store_open_root(&s, g->root, &err) < 0)
		return bale_fail(err);
	cleanup_free char *tmp = out ? xasprintf("%s.tmp-%d", out, (int)getpid()) : NULL;
	cleanup_close int fd = out ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
				   : dup(STDOUT_FILENO);
	if (fd < 0) {
		err_sys(&err, ERR_IO, errno, "cannot create '%s'", out);
		return bale_fail(err);
	}
	int r = store_save_with(s, argv + optind, (size_t)(argc - optind), &so, fd, &err);
	if (r == 0 && out != NULL && (fsync(fd) < 0 || rename(tmp, out) < 0))
		r = err_sys(&err, ERR_IO, errno, "cannot write '%s'", out);
	if (r < 0) {
		if (tmp != NULL)
			unlink(tmp);
		return bale_fail(err);
	}
	return BALE_EXIT_OK;
}

const struct bale_command cmd_save = {
	.name = "save",
	.summary = bale_summary_save,
	.usage = bale_help_save,
	.options = save_options,
	.run = run_save,
};
