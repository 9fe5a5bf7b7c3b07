/* bale login [-u USER] [--password-stdin] REGISTRY: check credentials with
 * the registry and store them where docker keeps them. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "cmd/regc-opts.h"
#include "common/buf.h"
#include "common/reference.h"
#include "common/util.h"
#include "registry/client.h"
#include "registry/credentials.h"

char *cmd_regc_login_domain(const char *arg)
{
	if (arg == NULL)
		return xstrdup("docker.io");
	const char *p = arg;
	if (str_has_prefix(p, "https://"))
		p += 8;
	else if (str_has_prefix(p, "http://"))
		p += 7;
	char *d = xstrndup(p, strcspn(p, "/"));
	if (str_eq(d, "index.docker.io") || str_eq(d, "registry-1.docker.io")) {
		free(d);
		d = xstrdup("docker.io");
	}
	return d;
}

/* A line from the terminal, without echo when secret. NULL without one. */
static char *prompt(const char *what, bool secret)
{
	cleanup_fclose FILE *tty = fopen("/dev/tty", "r+e");
	if (tty == NULL)
		return NULL;
	struct termios old, quiet;
	bool restore = false;
	fprintf(tty, "%s: ", what);
	fflush(tty);
	if (secret && tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, tty);
	if (restore) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
		fputc('\n', tty);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

static int read_password_stdin(char **out, struct err **err)
{
	struct buf b;
	buf_init(&b, 64u << 10);
	if (buf_read_fd(&b, STDIN_FILENO, "standard input", err) < 0) {
		buf_release(&b);
		return err_code(*err);
	}
	while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		buf_truncate(&b, b.len - 1);
	*out = buf_detach(&b, NULL);
	return 0;
}

/* Also in .options, for the help test and shell completion. */
static const struct option login_options[] = {
	{ "username", required_argument, NULL, 'u' },
	{ "password", required_argument, NULL, 'p' },
	{ "password-stdin", no_argument, NULL, 's' },
	{ "authfile", required_argument, NULL, CMD_REGC_OPT_AUTHFILE },
	{ "tls-verify", optional_argument, NULL, CMD_REGC_OPT_TLS_VERIFY },
	{ "cert-dir", required_argument, NULL, CMD_REGC_OPT_CERT_DIR },
	{ NULL, 0, NULL, 0 },
};

static int run_login(int argc, char **argv, const struct bale_globals *g)
{
	struct cmd_regc_opts o;
	cmd_regc_opts_init(&o);
	o.progress_mode = PROGRESS_QUIET;
	cleanup_free char *user = NULL, *pass = NULL;
	bool from_stdin = false;
	int c;
	(void)g;
	while ((c = getopt_long(argc, argv, "u:p:", login_options, NULL)) != -1) {
		int r = 1;
		if (c == 'u') {
			free(user);
			user = xstrdup(optarg);
		} else if (c == 'p') {
			free(pass);
			pass = xstrdup(optarg);
		} else if (c == 's') {
			from_stdin = true;
		} else if (c == CMD_REGC_OPT_AUTHFILE || c == CMD_REGC_OPT_TLS_VERIFY ||
			   c == CMD_REGC_OPT_CERT_DIR) {
			r = cmd_regc_option(&o, c, optarg, &cmd_login);
		} else {
			r = bale_usage_error(&cmd_login, "unknown option");
		}
		if (r != 1) {
			cmd_regc_finish(&o);
			return r;
		}
	}
	if (argc - optind > 1) {
		cmd_regc_finish(&o);
		return bale_usage_error(&cmd_login, "expected at most one REGISTRY");
	}
	if (from_stdin && pass != NULL) {
		cmd_regc_finish(&o);
		return bale_usage_error(&cmd_login, "--password and --password-stdin exclude each other");
	}
	cleanup_free char *domain = cmd_regc_login_domain(optind < argc ? argv[optind] : NULL);
	struct err *err = NULL;
	if (user == NULL)
		user = prompt("Username", false);
	if (user == NULL || user[0] == '\0') {
		cmd_regc_finish(&o);
		return bale_usage_error(&cmd_login, "no username: give -u USER");
	}
	if (from_stdin && read_password_stdin(&pass, &err) < 0) {
		cmd_regc_finish(&o);
		return bale_fail(err);
	}
	if (pass == NULL)
		pass = prompt("Password", true);
	if (pass == NULL) {
		cmd_regc_finish(&o);
		return bale_usage_error(&cmd_login, "no password: use --password-stdin");
	}
	cleanup_free char *where = NULL;
	int r = cmd_regc_start(&o, g, false, &err);
	if (r == 0)
		r = regc_login_check(o.client, domain, user, pass, &err);
	if (r == 0)
		r = regc_creds_store(o.ro.auth_file, domain, user, pass, &where, &err);
	explicit_bzero(pass, strlen(pass));
	cmd_regc_finish(&o);
	if (r < 0) {
		err_wrap(&err, "cannot log in to '%s'", domain);
		return bale_fail(err);
	}
	fprintf(stderr, "credentials for '%s' stored in %s\n", domain, where);
	printf("Login Succeeded\n");
	return BALE_EXIT_OK;
}

const struct bale_command cmd_login = {
	.name = "login",
	.summary = bale_summary_login,
	.usage = bale_help_login,
	.options = login_options,
	.run = run_login,
};
