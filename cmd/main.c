/* bale: entry point. Parses the global options that come before the command
 * name, then hands the rest of argv to the subcommand. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd/bale.h"
#include "common/log.h"

__attribute__((format(printf, 1, 2))) static int main_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "bale: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'bale --help' for more information.\n");
	return BALE_EXIT_USAGE;
}

static int set_log_level(const char *value)
{
	enum log_level level;
	struct err *err = NULL;
	if (log_level_parse(value, &level, &err) < 0) {
		fprintf(stderr, "bale: --log-level: %s\nTry 'bale --help' for more information.\n",
			err_msg(err));
		err_free(err);
		return BALE_EXIT_USAGE;
	}
	log_set_level(level);
	return BALE_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct bale_globals g = { .root = NULL, .argv0 = argv[0] };
	struct err *err = NULL;

	if (log_init_from_env(&err) < 0) {
		fprintf(stderr, "bale: BALE_LOG: %s\n", err_msg(err));
		err_free(err);
		return BALE_EXIT_USAGE;
	}

	/* '+': stop at the first non-option, which is the command name. */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+hv", bale_global_options, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (optarg[0] == '\0')
				return main_usage_error("--root: %s", "empty directory name");
			g.root = optarg;
			break;
		case 'l':
			if (set_log_level(optarg) != BALE_EXIT_OK)
				return BALE_EXIT_USAGE;
			break;
		case 'h':
			bale_print_main_usage(stdout);
			return BALE_EXIT_OK;
		case 'v':
			optind = 0;
			return bale_command_find("version")->run(1, (char *[]){ (char *)"version", NULL }, &g);
		default:
			if (optopt != 0)
				return main_usage_error("option '-%c' is not a global option", optopt);
			return main_usage_error("unknown or incomplete global option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		bale_print_main_usage(stderr);
		return BALE_EXIT_USAGE;
	}
	const struct bale_command *cmd = bale_command_find(argv[optind]);
	if (cmd == NULL)
		return main_usage_error("'%s' is not a bale command", argv[optind]);

	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	/* `bale CMD [OPTIONS] --help` prints that command's help. The scan stops
	 * at the first word that is not an option (an option's value, an image
	 * name, a command to run) so that `bale run IMG ls -h` passes -h on. */
	for (int i = 1; i < sub_argc && sub_argv[i][0] == '-' && strcmp(sub_argv[i], "--") != 0; i++)
		if (strcmp(sub_argv[i], "--help") == 0 || strcmp(sub_argv[i], "-h") == 0)
			return bale_print_usage(cmd);
	optind = 0; /* full getopt reinitialisation for the subcommand */
	opterr = 1;
	return cmd->run(sub_argc, sub_argv, &g);
}
