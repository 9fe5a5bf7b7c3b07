/* bale logout [REGISTRY]: forget stored credentials. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "cmd/regc-opts.h"
#include "common/util.h"
#include "registry/credentials.h"

static int run_logout(int argc, char **argv, const struct bale_globals *g)
{
	static const struct option opts[] = {
		{ "authfile", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *authfile = NULL;
	int c;
	(void)g;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
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
	.summary = "remove stored credentials for a registry",
	.usage = "usage: bale logout [--authfile FILE] [REGISTRY]\n"
		 "\n"
		 "Remove the credentials stored for REGISTRY (default docker.io) from\n"
		 "the credential helper and from config.json.\n",
	.run = run_logout,
};
