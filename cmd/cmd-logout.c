/* bale logout [REGISTRY]: forget stored credentials. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "cmd/regc-opts.h"
#include "common/util.h"
#include "registry/credentials.h"

/* Also in .options, for the help test and shell completion. */
static const struct option logout_options[] = {
	{ "authfile", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 },
};

static int run_logout(int argc, char **argv, const struct bale_globals *g)
{
	const char *authfile = NULL;
	int c;
	(void)g;
	while ((c = getopt_long(argc, argv, "", logout_options, NULL)) != -1) {
		if (c != 'f')
			return bale_usage_error(&cmd_logout, "unknown option");
		authfile = optarg;
	}
	if (argc - optind > 1)
		return bale_usage_error(&cmd_logout, "expected at most one REGISTRY");
	cleanup_free char *domain = cmd_regc_login_domain(optind < argc ? argv[optind] : NULL);
	struct err *err = NULL;
	if (regc_creds_erase(authfile, domain, &err) < 0)
		return bale_fail(err);
	printf("Removed login credentials for %s\n", domain);
	return BALE_EXIT_OK;
}

const struct bale_command cmd_logout = {
	.name = "logout",
	.summary = bale_summary_logout,
	.usage = bale_help_logout,
	.options = logout_options,
	.run = run_logout,
};
