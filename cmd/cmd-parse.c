/* bale parse: print the parse tree of a Containerfile, or expand a word the
 * way the builder would. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "common/buf.h"
#include "common/util.h"
#include "parser/expand.h"
#include "parser/parser.h"

enum { OPT_FORMAT = 256, OPT_EXPAND, OPT_EXPAND_WORDS, OPT_ENV, OPT_ESCAPE };

struct parse_opts {
	const char *file;
	const char *format;
	const char *expand;
	const char *expand_words;
	char escape;
	struct cf_env *env;
};

static int write_out(struct buf *b)
{
	if (write_all(STDOUT_FILENO, buf_str(b), b->len) < 0) {
		perror("bale: stdout");
		return BALE_EXIT_FAIL;
	}
	return BALE_EXIT_OK;
}

static int run_expand(const struct parse_opts *o)
{
	struct cf_lex lx = { .escape = o->escape };
	struct err *err = NULL;
	struct buf b;
	buf_init(&b, (size_t)-1 / 2);
	int rc;
	if (o->expand != NULL) {
		char *value = NULL;
		if (cf_expand_word(&lx, o->expand, o->env, &value, &err) < 0) {
			buf_release(&b);
			return bale_fail(err);
		}
		buf_addstr(&b, "{\"value\": ", NULL);
		cf_json_add_string(&b, value, strlen(value), NULL);
		buf_addstr(&b, "}\n", NULL);
		free(value);
	} else {
		char **words = NULL;
		if (cf_expand_words(&lx, o->expand_words, o->env, &words, &err) < 0) {
			buf_release(&b);
			return bale_fail(err);
		}
		buf_addstr(&b, "{\"words\": [", NULL);
		for (size_t i = 0; words[i] != NULL; i++) {
			if (i)
				buf_addstr(&b, ", ", NULL);
			cf_json_add_string(&b, words[i], strlen(words[i]), NULL);
		}
		buf_addstr(&b, "]}\n", NULL);
		strv_free(words);
	}
	rc = write_out(&b);
	buf_release(&b);
	return rc;
}

static const char *default_file(void)
{
	if (access("Containerfile", F_OK) == 0 || access("Dockerfile", F_OK) != 0)
		return "Containerfile";
	return "Dockerfile";
}

static int run_parse(const struct parse_opts *o)
{
	struct cf_file *f = NULL;
	struct err *err = NULL;
	const char *file = o->file ? o->file : default_file();
	if (cf_parse_file(file, &f, &err) < 0)
		return bale_fail(err);
	struct buf b;
	buf_init(&b, (size_t)-1 / 2);
	int rc = strcmp(o->format, "text") == 0 ? cf_file_to_text(f, &b, &err) : cf_file_to_json(f, &b, &err);
	cf_file_free(f);
	if (rc < 0) {
		buf_release(&b);
		return bale_fail(err);
	}
	rc = write_out(&b);
	buf_release(&b);
	return rc;
}

/* Also in .options, for the help test and shell completion. */
static const struct option parse_options[] = {
	{ "file", required_argument, NULL, 'f' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "expand", required_argument, NULL, OPT_EXPAND },
	{ "expand-words", required_argument, NULL, OPT_EXPAND_WORDS },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "escape", required_argument, NULL, OPT_ESCAPE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_args(int argc, char **argv, struct parse_opts *o)
{
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+f:h", parse_options, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->file = optarg;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
				return bale_usage_error(&cmd_parse, "--format: '%s' is not json or text", optarg);
			o->format = optarg;
			break;
		case OPT_EXPAND:
			o->expand = optarg;
			break;
		case OPT_EXPAND_WORDS:
			o->expand_words = optarg;
			break;
		case OPT_ENV:
			cf_env_put(o->env, optarg);
			break;
		case OPT_ESCAPE:
			if (strcmp(optarg, "\\") != 0 && strcmp(optarg, "`") != 0)
				return bale_usage_error(&cmd_parse, "--escape: '%s' is not \\ or `", optarg);
			o->escape = optarg[0];
			break;
		case 'h':
			return -1;
		default:
			if (optopt != 0 && optopt < 256)
				return bale_usage_error(&cmd_parse, "unknown option '-%c'", optopt);
			return bale_usage_error(&cmd_parse, "unknown option or missing value '%s'",
						argv[optind - 1]);
		}
	}
	if (optind < argc && o->file == NULL && argc - optind == 1 && o->expand == NULL &&
	    o->expand_words == NULL)
		o->file = argv[optind++];
	if (optind < argc)
		return bale_usage_error(&cmd_parse, "unexpected argument '%s'", argv[optind]);
	if (o->expand != NULL && o->expand_words != NULL)
		return bale_usage_error(&cmd_parse, "--expand and --expand-words are exclusive");
	if ((o->expand != NULL || o->expand_words != NULL) && o->file != NULL)
		return bale_usage_error(&cmd_parse, "--expand/--expand-words take no file");
	return 0;
}

static int cmd_parse_run(int argc, char **argv, const struct bale_globals *g)
{
	struct parse_opts o = { .format = "json", .escape = '\\', .env = cf_env_new() };
	int rc = parse_args(argc, argv, &o);
	if (rc < 0)
		rc = bale_print_usage(&cmd_parse);
	else if (rc == 0 && (o.expand != NULL || o.expand_words != NULL))
		rc = run_expand(&o);
	else if (rc == 0)
		rc = run_parse(&o);
	cf_env_free(o.env);
	return rc;
}

const struct bale_command cmd_parse = {
	.name = "parse",
	.summary = bale_summary_parse,
	.usage = bale_help_parse,
	.options = parse_options,
	.run = cmd_parse_run,
};
