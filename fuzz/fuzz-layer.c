/* Fuzz the layer applier (layer_apply_fd in layers/layer-apply.c): the
 * input is a layer as a registry would serve it (a tar, or gzip/zstd by
 * its magic bytes). It is applied into a missing directory (the one-pass
 * path), then applied again onto what that left (the scan pass, opaque
 * markers over existing content, replacing entries), as a plain directory
 * or, for inputs of odd size, as an overlay lower dir. The decompressed
 * cap is 1 MiB, which also bounds the entries to about 2,000; device nodes
 * are refused. Everything happens below one temp dir, emptied after each
 * input.
 *
 * Invariants (a violation aborts):
 * - errors are ERR_INVALID, ERR_TOOBIG, ERR_DENIED or ERR_IO, with a
 *   message that starts "cannot apply layer to '<target>'";
 * - a refused layer leaves no new target directory behind;
 * - nothing appears outside the target: the temp dir holds only the
 *   target and an empty sibling, whatever symlinks the layer made;
 * - both applies of the same bytes compute the same diff_id. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "layers/layer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LAYER_MAX_BYTES (1u << 20)

static char base[64];   /* the temp dir */
static char target[96]; /* base/t */
static char outside[96]; /* base/outside, must stay empty */

/* rm -rf name in dirfd, opening up directories a layer made unreadable. */
static void rm_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fchmodat(dirfd, name, 0700, 0);
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		abort();
	fchmod(fd, 0700);
	DIR *d = fdopendir(fd);
	if (d == NULL)
		abort();
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (!str_eq(de->d_name, ".") && !str_eq(de->d_name, ".."))
			rm_at(fd, de->d_name);
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		abort();
}

static void rm_rf(const char *path)
{
	rm_at(AT_FDCWD, path);
}

static void cleanup(void)
{
	if (base[0] != '\0')
		rm_rf(base);
}

static void setup(void)
{
	if (base[0] != '\0')
		return;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(base, sizeof(base), "%.40s/bale-fuzz-layer.XXXXXX", tmp);
	if (mkdtemp(base) == NULL)
		abort();
	snprintf(target, sizeof(target), "%s/t", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	if (mkdir(outside, 0755) < 0)
		abort();
	/* removing a tree holds one fd per level, and a layer may nest
	 * directories 2,000 deep */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	atexit(cleanup);
}

/* The temp dir holds t (maybe) and an empty outside/. */
static void check_contained(void)
{
	DIR *d = opendir(base);
	if (d == NULL)
		abort();
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (!str_eq(de->d_name, ".") && !str_eq(de->d_name, "..") &&
		    !str_eq(de->d_name, "t") && !str_eq(de->d_name, "outside"))
			abort();
	closedir(d);
	d = opendir(outside);
	if (d == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (!str_eq(de->d_name, ".") && !str_eq(de->d_name, ".."))
			abort();
	closedir(d);
}

static int apply(int fd, enum layer_apply_mode mode, struct digest *diff_id)
{
	struct layer_apply_opts o;
	layer_apply_opts_init(&o);
	o.mode = mode;
	o.allow_devices = false;
	o.max_bytes = FUZZ_LAYER_MAX_BYTES;
	struct err *e = NULL;
	bool existed = access(target, F_OK) == 0;
	int rc = layer_apply_fd(fd, target, &o, diff_id, &e);
	if (rc < 0) {
		if (rc != ERR_INVALID && rc != ERR_TOOBIG && rc != ERR_DENIED && rc != ERR_IO)
			abort();
		char want[128];
		snprintf(want, sizeof(want), "cannot apply layer to '%s'", target);
		if (e == NULL || !str_has_prefix(err_msg(e), want))
			abort();
		if (!existed && access(target, F_OK) == 0)
			abort();
	} else if (e != NULL) {
		abort();
	}
	err_free(e);
	check_contained();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	setup();
	int fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0 || write_all(fd, data, size) < 0)
		abort();
	struct digest d1, d2;
	if (apply(fd, LAYER_APPLY_DIR, &d1) == 0) {
		enum layer_apply_mode m = size % 2 ? LAYER_APPLY_OVERLAY : LAYER_APPLY_DIR;
		if (apply(fd, m, &d2) == 0 && !digest_equal(&d1, &d2))
			abort();
	}
	close(fd);
	if (access(target, F_OK) == 0)
		rm_rf(target);
	return 0;
}
