/* Mark and sweep over the filesystem registry store (see gc.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "layers/cas.h"
#include "registry/gc.h"
#include "registry/server-internal.h"
#include "registry/storage-internal.h"
#include "registry/storage.h"

/* ---- a set of digests (open addressing) ---- */

struct dset {
	struct digest *slots;
	bool *used;
	size_t cap, n;
};

static size_t dhash(const struct digest *d)
{
	size_t h;
	memcpy(&h, d->bytes, sizeof(h));
	return h ^ (size_t)d->algo;
}

static bool dset_has(const struct dset *s, const struct digest *d)
{
	if (s->cap == 0)
		return false;
	for (size_t i = dhash(d) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->used[i])
			return false;
		if (digest_equal(&s->slots[i], d))
			return true;
	}
}

static void dset_grow(struct dset *s);

/* Add d; true when it was new. */
static bool dset_add(struct dset *s, const struct digest *d)
{
	if (dset_has(s, d))
		return false;
	if ((s->n + 1) * 2 > s->cap)
		dset_grow(s);
	size_t i = dhash(d) & (s->cap - 1);
	while (s->used[i])
		i = (i + 1) & (s->cap - 1);
	s->used[i] = true;
	s->slots[i] = *d;
	s->n++;
	return true;
}

static void dset_grow(struct dset *s)
{
	struct dset bigger = {0};
	bigger.cap = s->cap ? s->cap * 2 : 64;
	bigger.slots = xcalloc(bigger.cap, sizeof(*bigger.slots));
	bigger.used = xcalloc(bigger.cap, sizeof(*bigger.used));
	for (size_t i = 0; i < s->cap; i++)
		if (s->used[i])
			dset_add(&bigger, &s->slots[i]);
	free(s->slots);
	free(s->used);
	*s = bigger;
}

static void dset_release(struct dset *s)
{
	free(s->slots);
	free(s->used);
	memset(s, 0, sizeof(*s));
}

/* ---- the walk ---- */

struct gc {
	const struct reg_gc_opts *o;
	struct reg_storage *st;
	struct cas *cas;
	int rootfd;
	int64_t cutoff; /* mtime newer than this: spared */
	struct dset keep_blobs;
	reg_gc_report_fn report;
	void *ctx;
	struct reg_gc_stats *stats;
};

/* Digests named by the files of a directory ("<hex>" under an algo dir,
 * or "<algo>-<hex>"), with their mtimes. */
typedef void (*entry_fn)(struct gc *g, const char *repo, const struct digest *d, int64_t mtime,
                         void *arg);

static void walk_algo_dirs(struct gc *g, const char *repo, const char *dir, entry_fn fn, void *arg)
{
	static const char *const algos[] = {"sha256", "sha512"};
	for (size_t a = 0; a < ARRAY_SIZE(algos); a++) {
		cleanup_free char *path = xasprintf("%s/%s", dir, algos[a]);
		int dfd = openat(g->rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		cleanup_dir DIR *dh = fdopendir(dfd);
		if (dh == NULL) {
			close(dfd);
			continue;
		}
		struct dirent *de;
		while ((de = readdir(dh)) != NULL) {
			struct digest d;
			struct stat st;
			if (de->d_name[0] == '.')
				continue;
			cleanup_free char *ds = xasprintf("%s:%s", algos[a], de->d_name);
			if (digest_parse(&d, ds, NULL) < 0 ||
			    fstatat(dirfd(dh), de->d_name, &st, 0) < 0)
				continue;
			fn(g, repo, &d, (int64_t)st.st_mtime, arg);
		}
	}
}

struct repo_state {
	struct dset revisions; /* every manifest the repository holds */
	struct dset keep;      /* manifests kept */
	struct dset recent;    /* revisions too young to remove */
};

static void add_revision(struct gc *g, const char *repo, const struct digest *d, int64_t mtime,
                         void *arg)
{
	struct repo_state *rs = arg;
	dset_add(&rs->revisions, d);
	if (mtime > g->cutoff)
		dset_add(&rs->recent, d);
}

static void keep_recent_link(struct gc *g, const char *repo, const struct digest *d, int64_t mtime,
                             void *arg)
{
	if (mtime > g->cutoff)
		dset_add(&g->keep_blobs, d);
}

/* Parse a kept manifest: mark its blobs, and return its children (index)
 * through `children`. A manifest we cannot read is kept as it is. */
static void mark_manifest(struct gc *g, const char *repo, const struct digest *d,
                          struct dset *children)
{
	char *data = NULL;
	size_t len = 0;
	struct reg_manifest_meta meta;
	struct reg_manifest_info info;
	cleanup_err struct err *e = NULL;
	dset_add(&g->keep_blobs, d);
	if (cas_read_all(g->cas, d, 64u << 20, &data, &len, &e) < 0) {
		log_warn("gc: repository '%s': cannot read manifest: %s", repo, err_msg(e));
		return;
	}
	const char *ct =
	        reg_manifest_meta(g->st, repo, d, &meta, NULL) == 0 ? meta.media_type : NULL;
	if (reg_manifest_parse(&info, data, len, ct, &e) < 0) {
		log_warn("gc: repository '%s': manifest not understood, kept: %s", repo,
		         err_msg(e));
	} else {
		for (size_t i = 0; i < info.nrefs; i++) {
			if (info.is_index)
				dset_add(children, &info.refs[i].digest);
			else
				dset_add(&g->keep_blobs, &info.refs[i].digest);
		}
	}
	reg_manifest_info_release(&info);
	free(data);
}

/* Manifests whose subject is `subject` (referrers) */
static void add_referrers(struct gc *g, const char *repo, const struct digest *subject,
                          struct dset *out)
{
	struct reg_referrer *list = NULL;
	size_t n = 0;
	if (reg_referrers_list(g->st, repo, subject, &list, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		dset_add(out, &list[i].digest);
	reg_referrers_free(list, n);
}

/* Grow the kept set of a repository to its closure: index children and
 * referrers of kept manifests. */
static void close_over(struct gc *g, const char *repo, struct repo_state *rs, struct dset *pending)
{
	while (pending->n > 0) {
		struct dset next = {0};
		for (size_t i = 0; i < pending->cap; i++) {
			if (!pending->used[i] || !dset_has(&rs->revisions, &pending->slots[i]) ||
			    !dset_add(&rs->keep, &pending->slots[i]))
				continue;
			mark_manifest(g, repo, &pending->slots[i], &next);
			add_referrers(g, repo, &pending->slots[i], &next);
		}
		dset_release(pending);
		*pending = next;
	}
}

static void remove_revision(struct gc *g, const char *repo, const struct digest *d)
{
	g->stats->manifests_removed++;
	if (g->report != NULL)
		g->report(g->ctx, "manifest", repo, d, 0);
	if (!g->o->dry_run)
		reg_manifest_delete(g->st, repo, d, NULL);
}

static void gc_repo(struct gc *g, const char *repo)
{
	struct repo_state rs = {0};
	struct dset pending = {0};
	cleanup_free char *rev = xasprintf("repositories/%s/_manifests/revisions", repo);
	cleanup_free char *layers = xasprintf("repositories/%s/_layers", repo);
	walk_algo_dirs(g, repo, rev, add_revision, &rs);
	walk_algo_dirs(g, repo, layers, keep_recent_link, NULL);

	cleanup_strv char **tags = NULL;
	if (reg_tags_list(g->st, repo, &tags, NULL) == 0)
		for (size_t i = 0; tags[i] != NULL; i++) {
			struct digest d;
			if (reg_manifest_resolve(g->st, repo, tags[i], &d, NULL) == 0)
				dset_add(&pending, &d);
		}
	/* roots: tagged, recent, and (keeping untagged) everything */
	for (size_t i = 0; i < rs.revisions.cap; i++) {
		if (!rs.revisions.used[i])
			continue;
		if (!g->o->delete_untagged || dset_has(&rs.recent, &rs.revisions.slots[i]))
			dset_add(&pending, &rs.revisions.slots[i]);
	}
	close_over(g, repo, &rs, &pending);
	for (size_t i = 0; i < rs.revisions.cap; i++)
		if (rs.revisions.used[i] && !dset_has(&rs.keep, &rs.revisions.slots[i]))
			remove_revision(g, repo, &rs.revisions.slots[i]);
	g->stats->manifests_kept += rs.keep.n;
	dset_release(&pending);
	dset_release(&rs.revisions);
	dset_release(&rs.keep);
	dset_release(&rs.recent);
}

/* Second pass over a repository: drop blob links nothing kept uses. */
static void sweep_link(struct gc *g, const char *repo, const struct digest *d, int64_t mtime,
                       void *arg)
{
	if (dset_has(&g->keep_blobs, d) || mtime > g->cutoff)
		return;
	g->stats->links_removed++;
	if (g->report != NULL)
		g->report(g->ctx, "link", repo, d, 0);
	if (!g->o->dry_run)
		reg_blob_unlink(g->st, repo, d, NULL);
}

static int sweep_blob(const struct digest *d, uint64_t size, int64_t mtime, void *ctx,
                      struct err **err)
{
	struct gc *g = ctx;
	if (dset_has(&g->keep_blobs, d) || mtime > g->cutoff) {
		g->stats->blobs_kept++;
		return 0;
	}
	g->stats->blobs_removed++;
	g->stats->bytes_removed += size;
	if (g->report != NULL)
		g->report(g->ctx, "blob", NULL, d, size);
	if (!g->o->dry_run)
		cas_delete(g->cas, d, NULL);
	return 0;
}

int reg_gc_run(const char *root, const struct reg_gc_opts *opts, reg_gc_report_fn report, void *ctx,
               struct reg_gc_stats *stats, struct err **err)
{
	struct reg_storage *st = NULL;
	memset(stats, 0, sizeof(*stats));
	int rc = reg_storage_fs_open(&st, root, false, err);
	if (rc < 0)
		return rc;
	struct gc g = {
	        .o = opts,
	        .st = st,
	        .cas = reg_storage_fs_cas(st),
	        .rootfd = cas_root_fd(reg_storage_fs_cas(st)),
	        .cutoff = (int64_t)time(NULL) - opts->grace,
	        .report = report,
	        .ctx = ctx,
	        .stats = stats,
	};
	cleanup_strv char **repos = NULL;
	rc = reg_repos_list(st, &repos, err);
	for (size_t i = 0; rc == 0 && repos[i] != NULL; i++) {
		stats->repositories++;
		gc_repo(&g, repos[i]);
	}
	for (size_t i = 0; rc == 0 && repos[i] != NULL; i++) {
		cleanup_free char *layers = xasprintf("repositories/%s/_layers", repos[i]);
		walk_algo_dirs(&g, repos[i], layers, sweep_link, NULL);
	}
	if (rc == 0)
		rc = cas_walk(g.cas, sweep_blob, &g, err);
	dset_release(&g.keep_blobs);
	reg_storage_free(st);
	return rc;
}
