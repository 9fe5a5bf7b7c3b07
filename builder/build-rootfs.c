/* Snapshots of a stage's filesystem: layers extracted once, in overlay
 * format, in the store's extracted/ dirs (layers/store.h), stacked with kernel
 * overlayfs for COPY/ADD/WORKDIR (this file) and RUN (the sandbox). A
 * step's upper dir is written as the layer and then kept as that layer's
 * extracted dir, so nothing is ever extracted twice. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "common/util.h"
#include "layers/layer.h"

char *rootfs_mktemp(struct build_ctx *b, const char *what, struct err **err)
{
	char *t = xasprintf("%s/%s-XXXXXX", b->tmp, what);
	if (mkdtemp(t) == NULL) {
		err_sys(err, ERR_IO, errno, "cannot create a temp directory in '%s'", b->tmp);
		free(t);
		return NULL;
	}
	return t;
}

int rootfs_layer_dir(struct build_ctx *b, const struct blayer *l, char **dir, struct err **err)
{
	return store_layer_dir(b->store, &l->desc, &l->diff_id, dir, err);
}

int rootfs_lowers(struct build_ctx *b, const struct bstage *st, char ***lowers, struct err **err)
{
	char **v = NULL;
	for (size_t i = st->n_layers; i-- > 0;) {
		char *d = NULL;
		if (rootfs_layer_dir(b, &st->layers[i], &d, err) < 0) {
			strv_free(v);
			return ERR_IO;
		}
		strv_push(&v, d);
		free(d);
	}
	strv_push(&v, b->empty_dir);
	*lowers = v;
	return 0;
}

/* mount(2) takes one page of options: lower dirs go as /proc/self/fd/N
 * numbers (mounted with that as cwd), as the sandbox does. */
static int overlay_mount(char **lowers, const char *upper, const char *work, const char *target,
			 struct err **err)
{
	size_t n = strv_len(lowers);
	int *fds = xcalloc(n + 2, sizeof *fds);
	int r = 0;
	struct buf opts;
	buf_init(&opts, 4095);
	for (size_t i = 0; i < n + 2; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n; i++) {
		fds[i] = open(lowers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] < 0) {
			r = err_sys(err, ERR_IO, errno, "cannot open layer '%s'", lowers[i]);
			goto out;
		}
	}
	if (buf_addstr(&opts, "lowerdir=", err) < 0) {
		r = ERR_TOOBIG;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (buf_addf(&opts, err, "%s%d", i > 0 ? ":" : "", fds[i]) < 0) {
			r = err_wrap(err, "%zu layers do not fit in the mount options", n);
			goto out;
		}
	if (upper != NULL) {
		fds[n] = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
		fds[n + 1] = open(work, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fds[n] < 0 || fds[n + 1] < 0) {
			r = err_sys(err, ERR_IO, errno, "cannot open '%s'", upper);
			goto out;
		}
		if (buf_addf(&opts, err, ",upperdir=%d,workdir=%d", fds[n], fds[n + 1]) < 0) {
			r = ERR_TOOBIG;
			goto out;
		}
	}
	if (buf_addstr(&opts, ",userxattr", err) < 0) {
		r = ERR_TOOBIG;
		goto out;
	}
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (chdir("/proc/self/fd") < 0) {
		r = err_sys(err, ERR_IO, errno, "cannot enter '/proc/self/fd'");
		if (cwd >= 0)
			close(cwd);
		goto out;
	}
	int m = mount("overlay", target, "overlay", 0, buf_str(&opts));
	int saved = errno;
	if (cwd >= 0) {
		if (fchdir(cwd) < 0)
			saved = m < 0 ? saved : errno;
		close(cwd);
	}
	if (m < 0)
		r = err_sys(err, saved == EPERM ? ERR_DENIED : ERR_IO, saved,
			    "cannot mount overlayfs on '%s'", target);
out:
	for (size_t i = 0; i < n + 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	buf_release(&opts);
	return r;
}

int rootfs_view_open(struct build_ctx *b, const struct bstage *st, bool writable,
		     struct rootfs_view *v, struct err **err)
{
	memset(v, 0, sizeof *v);
	v->rootfd = -1;
	v->dir = rootfs_mktemp(b, "view", err);
	if (v->dir == NULL)
		return ERR_IO;
	v->merged = xasprintf("%s/merged", v->dir);
	if (writable) {
		v->upper = xasprintf("%s/upper", v->dir);
		v->work = xasprintf("%s/work", v->dir);
		if (mkdir(v->upper, 0755) < 0 || mkdir(v->work, 0700) < 0) {
			int e = errno;
			rootfs_view_close(v);
			return err_sys(err, ERR_IO, e, "cannot create '%s'", v->upper);
		}
	}
	if (mkdir(v->merged, 0755) < 0) {
		int e = errno;
		rootfs_view_close(v);
		return err_sys(err, ERR_IO, e, "cannot create '%s'", v->merged);
	}
	cleanup_strv char **lowers = NULL;
	if (rootfs_lowers(b, st, &lowers, err) < 0) {
		rootfs_view_close(v);
		return ERR_IO;
	}
	if (!writable && strv_len(lowers) == 1)
		strv_push(&lowers, b->empty_dir); /* overlayfs wants two lowers */
	if (overlay_mount(lowers, v->upper, v->work, v->merged, err) < 0) {
		rootfs_view_close(v);
		return ERR_IO;
	}
	v->mounted = true;
	v->rootfd = open(v->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (v->rootfd < 0) {
		int e = errno;
		rootfs_view_close(v);
		return err_sys(err, ERR_IO, e, "cannot open '%s'", v->merged);
	}
	return 0;
}

int rootfs_view_open_dir(struct build_ctx *b, const char *lower, struct rootfs_view *v,
			 struct err **err)
{
	memset(v, 0, sizeof *v);
	v->rootfd = -1;
	v->dir = rootfs_mktemp(b, "rwbind", err);
	if (v->dir == NULL)
		return ERR_IO;
	v->merged = xasprintf("%s/merged", v->dir);
	v->upper = xasprintf("%s/upper", v->dir);
	v->work = xasprintf("%s/work", v->dir);
	if (mkdir(v->upper, 0755) < 0 || mkdir(v->work, 0700) < 0 || mkdir(v->merged, 0755) < 0) {
		int e = errno;
		rootfs_view_close(v);
		return err_sys(err, ERR_IO, e, "cannot create '%s'", v->dir);
	}
	char *lowers[] = { (char *)lower, NULL };
	if (overlay_mount(lowers, v->upper, v->work, v->merged, err) < 0) {
		rootfs_view_close(v);
		return ERR_IO;
	}
	v->mounted = true;
	return 0;
}

int rootfs_view_unmount(struct rootfs_view *v, struct err **err)
{
	if (v->rootfd >= 0) {
		close(v->rootfd);
		v->rootfd = -1;
	}
	if (v->mounted) {
		if (umount2(v->merged, MNT_DETACH) < 0)
			return err_sys(err, ERR_IO, errno, "cannot unmount '%s'", v->merged);
		v->mounted = false;
	}
	return 0;
}

void rootfs_view_close(struct rootfs_view *v)
{
	rootfs_view_unmount(v, NULL);
	if (v->dir != NULL)
		remove_tree(v->dir);
	free(v->dir);
	free(v->upper);
	free(v->work);
	free(v->merged);
	memset(v, 0, sizeof *v);
	v->rootfd = -1;
}

void rootfs_stage_add_layer(struct bstage *st, const struct blayer *l)
{
	st->layers = xreallocarray(st->layers, st->n_layers + 1, sizeof *st->layers);
	struct blayer *dst = &st->layers[st->n_layers++];
	memset(dst, 0, sizeof *dst);
	oci_descriptor_copy(&dst->desc, &l->desc);
	dst->diff_id = l->diff_id;
	oci_config_add_diff_id(&st->config, &l->diff_id);
}

int rootfs_commit_upper(struct build_ctx *b, struct bstage *st, const char *upper,
			struct blayer *out, struct err **err)
{
	struct layer_write_opts wo;
	layer_write_opts_init(&wo);
	wo.compression = b->o->compression;
	wo.overlay_upper = true;
	wo.source_date_epoch = b->o->source_date_epoch;
	struct layer_result lr;
	if (layer_write_dir(b->cas, upper, &wo, &lr, err) < 0)
		return err_wrap(err, "cannot write layer");
	memset(out, 0, sizeof *out);
	out->desc.media_type = xstrdup(oci_layer_media_type_as(lr.media_type, b->o->docker_format));
	out->desc.digest = lr.blob;
	out->desc.size = (int64_t)lr.blob_size;
	out->diff_id = lr.diff_id;
	/* Keep the upper as the layer's extracted dir (it is in overlay
	 * format already). */
	store_layer_dir_adopt(b->store, &lr.diff_id, upper);
	rootfs_stage_add_layer(st, out);
	return 0;
}
