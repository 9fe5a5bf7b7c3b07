/* bale import ROOTFS.tar[.gz|.zst] NAME[:TAG] */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "common/util.h"
#include "layers/archive.h"

/* SOURCE_DATE_EPOCH when set (reproducible imports), else now. */
static int created_time(int64_t *out, struct err **err)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde == NULL || sde[0] == '\0') {
		*out = (int64_t)time(NULL);
		return 0;
	}
	if (str_to_i64(sde, out) < 0 || *out < 0)
		return err_set(err, ERR_INVALID, "SOURCE_DATE_EPOCH: invalid value '%s'", sde);
	return 0;
}

/* Also in .options, for the help test and shell completion. */
static const struct option import_options[] = {
	{ "compression", required_argument, NULL, 'c' },
	{ NULL, 0, NULL, 0 },
};

static int run_import(int argc, char **argv, const struct bale_globals *g)
{
	struct err *err = NULL;
	struct layer_write_opts o;
	layer_write_opts_init(&o);
	o.compression = LAYER_COMPRESS_GZIP;
	int c;
	while ((c = getopt_long(argc, argv, "", import_options, NULL)) != -1) {
		if (c != 'c')
			return bale_usage_error(&cmd_import, "unknown option");
		if (layer_compression_parse(optarg, &o.compression, &err) < 0) {
			int r = bale_usage_error(&cmd_import, "--compression: %s", err_msg(err));
			err_free(err);
			return r;
		}
	}
	if (argc - optind != 2)
		return bale_usage_error(&cmd_import, "expected ROOTFS.tar and NAME[:TAG]");
	const char *file = argv[optind], *name = argv[optind + 1];
	int64_t created;
	if (created_time(&created, &err) < 0)
		return bale_fail(err);
	cleanup_close int fd = str_eq(file, "-") ? dup(STDIN_FILENO) : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_sys(&err, ERR_IO, errno, "cannot open '%s'", file);
		return bale_fail(err);
	}
	cleanup_store struct store *s = NULL;
	if (store_open_root(&s, g->root, &err) < 0)
		return bale_fail(err);
	struct oci_descriptor d;
	if (store_import(s, fd, name, &o, created, &d, &err) < 0) {
		err_wrap(&err, "cannot import '%s'", file);
		return bale_fail(err);
	}
	char dg[DIGEST_MAX_STRING];
	printf("%s\n", digest_format(&d.digest, dg));
	oci_descriptor_release(&d);
	return BALE_EXIT_OK;
}

const struct bale_command cmd_import = {
	.name = "import",
	.summary = bale_summary_import,
	.usage = bale_help_import,
	.options = import_options,
	.run = run_import,
};
