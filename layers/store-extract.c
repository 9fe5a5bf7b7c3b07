/* The local store's extracted layers (store.h): overlay lower dirs keyed by
 * diff_id, made once and shared by builds and `bale run`. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "layers/layer.h"
#include "layers/store-internal.h"
#include "layers/store.h"

#define EXTRACTED_DIR "extracted"

static char *layer_dir_path(const struct store *s, const struct digest *diff_id)
{
	char hex[DIGEST_MAX_STRING];
	return xasprintf("%s/" EXTRACTED_DIR "/%s/%s", store_root(s), digest_algo_name(diff_id->algo),
			 digest_hex(diff_id, hex));
}

static int make_dirs(const struct store *s, struct err **err)
{
	const char *sub[] = { "", "/tmp", "/sha256", "/sha512", "/empty" };
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		cleanup_free char *p = xasprintf("%s/" EXTRACTED_DIR "%s", store_root(s), sub[i]);
		if (mkdir(p, strcmp(sub[i], "/empty") == 0 ? 0755 : 0700) < 0 && errno != EEXIST)
			return err_sys(err, ERR_IO, errno, "cannot create '%s'", p);
	}
	return 0;
}

/* A fresh temp dir under extracted/tmp/ named after our pid, so that
 * store_gc can tell the ones of dead processes. */
static char *make_temp(const struct store *s, struct err **err)
{
	char *t = xasprintf("%s/" EXTRACTED_DIR "/tmp/%d-XXXXXX", store_root(s), (int)getpid());
	if (mkdtemp(t) == NULL) {
		err_sys(err, ERR_IO, errno, "cannot create a temp directory for '%s'", t);
		free(t);
		return NULL;
	}
	return t;
}

int store_layer_dir(struct store *s, const struct oci_descriptor *desc,
		    const struct digest *diff_id, char **dir, struct err **err)
{
	cleanup_free char *path = layer_dir_path(s, diff_id);
	if (access(path, F_OK) == 0) {
		*dir = steal_pointer(&path);
		return 0;
	}
	int r = make_dirs(s, err);
	if (r < 0)
		return r;
	cleanup_free char *tmp = make_temp(s, err);
	if (tmp == NULL)
		return ERR_IO;
	cleanup_close int fd = -1;
	char ds[DIGEST_MAX_STRING];
	if ((r = cas_open(store_cas(s), &desc->digest, &fd, NULL, err)) < 0)
		goto fail;
	struct layer_apply_opts ao;
	layer_apply_opts_init(&ao);
	ao.mode = LAYER_APPLY_OVERLAY;
	ao.user_xattr = true;
	ao.allow_devices = true;
	ao.set_owner = true;
	struct digest got;
	if ((r = layer_apply_fd(fd, tmp, &ao, &got, err)) < 0)
		goto fail;
	/* The dir is shared under the diff_id's name: a config that lies about
	 * its layers must not plant other files there. */
	if (!digest_equal(&got, diff_id)) {
		char gs[DIGEST_MAX_STRING], ws[DIGEST_MAX_STRING];
		r = err_set(err, ERR_DIGEST, "its tar has diff_id %s, the image config says %s",
			    digest_format(&got, gs), digest_format(diff_id, ws));
		goto fail;
	}
	if (rename(tmp, path) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
		r = err_sys(err, ERR_IO, errno, "cannot rename '%s' to '%s'", tmp, path);
		goto fail;
	}
	/* Another process may have won the race: its dir is as good. */
	remove_tree(tmp);
	*dir = steal_pointer(&path);
	return 0;
fail:
	remove_tree(tmp);
	return err_wrap(err, "cannot extract layer %s", digest_format(&desc->digest, ds));
}

int store_empty_layer_dir(struct store *s, char **dir, struct err **err)
{
	int r = make_dirs(s, err);
	if (r < 0)
		return r;
	*dir = xasprintf("%s/" EXTRACTED_DIR "/empty", store_root(s));
	return 0;
}

bool store_layer_dir_adopt(struct store *s, const struct digest *diff_id, const char *dir)
{
	cleanup_free char *path = layer_dir_path(s, diff_id);
	if (access(path, F_OK) == 0 || make_dirs(s, NULL) < 0)
		return false;
	return rename(dir, path) == 0;
}

/* Move an extracted dir out of its name first (one rename), then delete
 * it: a removal that stops half way (a file this user cannot delete)
 * leaves a temp dir for the next sweep, never a half layer under a name
 * that says it is complete. */
static void remove_dir(const char *tmpdir, const char *path)
{
	cleanup_free char *tmp = xasprintf("%s/%d-gc-XXXXXX", tmpdir, (int)getpid());
	if (mkdtemp(tmp) == NULL)
		return;
	cleanup_free char *dst = xasprintf("%s/dir", tmp);
	if (rename(path, dst) == 0)
		remove_tree(tmp);
	else
		rmdir(tmp);
}

static void sweep_algo(const char *tmpdir, const char *dir, enum digest_algo algo,
		       store_live_fn live, void *ctx, int64_t cutoff)
{
	cleanup_dir DIR *d = opendir(dir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		cleanup_free char *name = xasprintf("%s:%s", digest_algo_name(algo), de->d_name);
		struct digest id;
		cleanup_free char *p = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (digest_parse(&id, name, NULL) == 0 && live(&id, ctx))
			continue;
		if (lstat(p, &st) == 0 && (int64_t)st.st_mtime > cutoff)
			continue;
		remove_dir(tmpdir, p);
	}
}

void store_extracted_sweep(struct store *s, store_live_fn live, void *ctx, int64_t cutoff)
{
	cleanup_free char *tmp = xasprintf("%s/" EXTRACTED_DIR "/tmp", store_root(s));
	remove_dead_process_dirs(tmp, "");
	const enum digest_algo algos[] = { DIGEST_SHA256, DIGEST_SHA512 };
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++) {
		cleanup_free char *dir = xasprintf("%s/" EXTRACTED_DIR "/%s", store_root(s),
						   digest_algo_name(algos[i]));
		sweep_algo(tmp, dir, algos[i], live, ctx, cutoff);
	}
}
