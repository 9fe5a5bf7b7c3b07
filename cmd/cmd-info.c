/* bale info: what this machine offers the sandbox (user namespaces, the id
 * mapping in use, overlayfs or the copy fallback, seccomp, cgroups). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "builder/sandbox.h"
#include "cmd/bale.h"
#include "cmd/commands.h"

static const struct option info_options[] = { { NULL, 0, NULL, 0 } };

static int run_info(int argc, char **argv, const struct bale_globals *g)
{
	(void)g;
	if (getopt_long(argc, argv, "", info_options, NULL) != -1)
		return bale_usage_error(&cmd_info, "unknown option");
	if (optind < argc)
		return bale_usage_error(&cmd_info, "unexpected argument '%s'", argv[optind]);
	struct sbx_info info;
	struct err *err = NULL;
	if (sbx_info_probe(&info, &err) < 0)
		return bale_fail(err);
	printf("kernel: %s\n", info.kernel);
	printf("user namespaces: %s\n", info.userns ? "yes" : "no");
	printf("id mapping: %s\n", info.userns_detail);
	if (sbx_userns_limits() != NULL)
		printf("  warning: %s\n", sbx_userns_limits());
	printf("newuidmap/newgidmap: %s\n", info.newuidmap ? "installed" : "not installed (package uidmap)");
	printf("rootfs: %s\n", info.overlay_detail);
	printf("seccomp: %s%s\n", info.seccomp ? "" : "unavailable: ", info.seccomp_detail);
	printf("cgroups: %s (not used: steps get no resource limits)\n", info.cgroups);
	int ok = info.userns;
	sbx_info_release(&info);
	return ok ? BALE_EXIT_OK : BALE_EXIT_FAIL;
}

const struct bale_command cmd_info = {
	.name = "info",
	.summary = bale_summary_info,
	.usage = bale_help_info,
	.options = info_options,
	.run = run_info,
};
