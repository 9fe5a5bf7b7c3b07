/* bale version: bale's version, the commit it was built from, and the
 * versions of the libraries it runs with (what a bug report needs). This is
 * the one place outside the owning modules that includes the libraries'
 * headers, only to ask them their runtime version. Asking loads libarchive,
 * libcurl, libgit2, libmicrohttpd and libcrypto (common/lazylib.h): --short must not
 * ask, so that it measures bale's own start. */
#include "config.h"

#include <archive.h>
#include <curl/curl.h>
#include <getopt.h>
#include <git2.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <yaml.h>
#include <zstd.h>

#include "cmd/bale.h"
#include "cmd/commands.h"

static void print_versions(void)
{
	int gmaj = 0, gmin = 0, grev = 0;
	git_libgit2_version(&gmaj, &gmin, &grev);
	const struct scmp_version *sv = seccomp_version();

	printf("bale %s\n", PACKAGE_VERSION);
	printf("commit: %s\n", BALE_GIT_COMMIT);
	printf("libraries:\n");
	printf("  %s\n", archive_version_details()); /* "libarchive 3.6.2 zlib/..." */
	printf("  openssl %s\n", OpenSSL_version(OPENSSL_FULL_VERSION_STRING));
	printf("  libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
	printf("  zstd %s\n", ZSTD_versionString());
	printf("  libgit2 %d.%d.%d\n", gmaj, gmin, grev);
	printf("  libyaml %s\n", yaml_get_version_string());
	printf("  jansson %s\n", jansson_version_str());
	printf("  libmicrohttpd %s\n", MHD_get_version());
	printf("  libseccomp %u.%u.%u\n", sv->major, sv->minor, sv->micro);
}

/* Also in .options, for the help test and shell completion. */
static const struct option version_options[] = {
	{ "short", no_argument, NULL, 's' },
	{ NULL, 0, NULL, 0 },
};

static int run_version(int argc, char **argv, const struct bale_globals *g)
{
	bool short_form = false;
	int c;
	(void)g;
	while ((c = getopt_long(argc, argv, "", version_options, NULL)) != -1) {
		if (c != 's')
			return bale_usage_error(&cmd_version, "unknown option");
		short_form = true;
	}
	if (optind < argc)
		return bale_usage_error(&cmd_version, "unexpected argument '%s'", argv[optind]);
	if (short_form)
		printf("%s\n", PACKAGE_VERSION);
	else
		print_versions();
	return BALE_EXIT_OK;
}

const struct bale_command cmd_version = {
	.name = "version",
	.summary = bale_summary_version,
	.usage = bale_help_version,
	.options = version_options,
	.run = run_version,
};
