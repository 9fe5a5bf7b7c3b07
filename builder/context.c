/* The build context: a directory, a tar stream on stdin ("-"), or a git
 * URL (fetched with libgit2); the Containerfile to use; .dockerignore /
 * .containerignore; and hashing what COPY takes from it (content, not
 * mtimes) for the cache. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "common/buf.h"
#include "common/path.h"
#include "common/util.h"
#include "layers/layer.h"

bool context_ignored(const struct build_ctx *b, const char *rel)
{
	return b->ignore != NULL && cf_ignore_matches(b->ignore, rel);
}

/* ---------------------------------------------------------------- tar on stdin */

static int context_from_stdin(struct build_ctx *b, struct err **err)
{
	cleanup_free char *dir = rootfs_mktemp(b, "context", err);
	if (dir == NULL)
		return ERR_IO;
	/* The applier reads its input twice: spool stdin to a file. */
	cleanup_free char *spool = xasprintf("%s.tar", dir);
	cleanup_close int fd = open(spool, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", spool);
	char buf[1 << 16];
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, ERR_IO, errno, "cannot read the context from stdin");
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > BUILD_MAX_CONTEXT_TAR)
			return err_set(err, ERR_TOOBIG, "context on stdin: more than %llu bytes",
				       (unsigned long long)BUILD_MAX_CONTEXT_TAR);
		if (write_all(fd, buf, (size_t)n) < 0)
			return err_sys(err, ERR_IO, errno, "cannot write '%s'", spool);
	}
	lseek(fd, 0, SEEK_SET);
	struct layer_apply_opts ao;
	layer_apply_opts_init(&ao);
	ao.mode = LAYER_APPLY_DIR;
	ao.allow_devices = false;
	if (layer_apply_fd(fd, dir, &ao, NULL, err) < 0)
		return err_wrap(err, "context on stdin");
	unlink(spool);
	b->ctx_dir = steal_pointer(&dir);
	return 0;
}

/* ---------------------------------------------------------------- git */

bool context_is_git_url(const char *s)
{
	if (str_has_prefix(s, "git://") || str_has_prefix(s, "git@") ||
	    str_has_prefix(s, "ssh://"))
		return true;
	if (str_has_prefix(s, "https://") || str_has_prefix(s, "http://") ||
	    str_has_prefix(s, "file://")) {
		const char *hash = strchr(s, '#');
		size_t n = hash != NULL ? (size_t)(hash - s) : strlen(s);
		return n > 4 && strncmp(s + n - 4, ".git", 4) == 0 ? true
		       : str_has_prefix(s, "file://")               ? true
		       : hash != NULL;
	}
	return false;
}

static int git_fail(struct err **err, const char *what, const char *url)
{
	const git_error *ge = git_error_last();
	return err_set(err, ERR_IO, "%s '%s': %s", what, url,
		       ge != NULL && ge->message != NULL ? ge->message : "libgit2 error");
}

int context_git_fetch(struct build_ctx *b, const char *spec, bool keep_git, char **dir,
		      struct err **err)
{
	cleanup_free char *url = xstrdup(spec);
	char *ref = NULL, *subdir = NULL;
	char *hash = strchr(url, '#');
	if (hash != NULL) {
		*hash = '\0';
		ref = hash + 1;
		char *colon = strchr(ref, ':');
		if (colon != NULL) {
			*colon = '\0';
			subdir = colon + 1;
		}
		if (*ref == '\0')
			ref = NULL;
	}
	cleanup_free char *tmp = rootfs_mktemp(b, "git", err);
	if (tmp == NULL)
		return ERR_IO;
	git_libgit2_init();
	git_repository *repo = NULL;
	git_clone_options co;
	git_clone_options_init(&co, GIT_CLONE_OPTIONS_VERSION);
	co.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE;
	int r = 0;
	if (git_clone(&repo, url, tmp, &co) < 0) {
		r = git_fail(err, "cannot clone", url);
		goto out;
	}
	git_object *obj = NULL;
	const char *want = ref != NULL ? ref : "HEAD";
	if (git_revparse_single(&obj, repo, want) < 0) {
		cleanup_free char *remote = xasprintf("origin/%s", want);
		if (git_revparse_single(&obj, repo, remote) < 0) {
			r = git_fail(err, "cannot find ref", want);
			goto out;
		}
	}
	git_checkout_options cko;
	git_checkout_options_init(&cko, GIT_CHECKOUT_OPTIONS_VERSION);
	cko.checkout_strategy = GIT_CHECKOUT_FORCE;
	if (git_checkout_tree(repo, obj, &cko) < 0 ||
	    git_repository_set_head_detached(repo, git_object_id(obj)) < 0)
		r = git_fail(err, "cannot check out", want);
	git_object_free(obj);
out:
	git_repository_free(repo);
	git_libgit2_shutdown();
	if (r < 0)
		return r;
	if (!keep_git) {
		cleanup_free char *g = xasprintf("%s/.git", tmp);
		remove_tree(g);
	}
	if (subdir != NULL && *subdir != '\0') {
		if (!path_is_within(subdir))
			return err_set(err, ERR_INVALID, "git context '%s': bad subdirectory", spec);
		*dir = xasprintf("%s/%s", tmp, subdir);
	} else {
		*dir = steal_pointer(&tmp);
	}
	return 0;
}

/* ---------------------------------------------------------------- prepare */

static char *default_containerfile(const char *dir)
{
	const char *names[] = { "Containerfile", "Dockerfile" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);
		if (access(p, F_OK) == 0)
			return p;
		free(p);
	}
	return xasprintf("%s/Dockerfile", dir);
}

int context_prepare(struct build_ctx *b, char **cf_path, struct err **err)
{
	const char *c = b->o->context != NULL ? b->o->context : ".";
	int r = 0;
	if (strcmp(c, "-") == 0) {
		if (b->o->file != NULL && strcmp(b->o->file, "-") == 0)
			return err_set(err, ERR_INVALID,
				       "the Containerfile and the context cannot both come from stdin");
		r = context_from_stdin(b, err);
	} else if (context_is_git_url(c)) {
		r = context_git_fetch(b, c, false, &b->ctx_dir, err);
	} else {
		b->ctx_dir = realpath(c, NULL);
		if (b->ctx_dir == NULL)
			return err_sys(err, err_code_from_errno(errno), errno,
				       "cannot use context '%s'", c);
		struct stat sb;
		if (stat(b->ctx_dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
			return err_set(err, ERR_INVALID, "context '%s' is not a directory", c);
	}
	if (r < 0)
		return r;
	if (b->o->file != NULL && strcmp(b->o->file, "-") == 0)
		*cf_path = NULL;
	else if (b->o->file != NULL)
		*cf_path = xstrdup(b->o->file);
	else
		*cf_path = default_containerfile(b->ctx_dir);
	if (cf_ignore_load(b->ctx_dir, *cf_path, &b->ignore, NULL, err) < 0)
		return err_wrap(err, "context '%s'", c);
	context_statcache_load(b);
	return 0;
}

/* ---------------------------------------------------------------- hashing */

/* ---------------------------------------------------------------- stat cache
 *
 * Content hashes of context files, remembered with the file's size, inode,
 * mtime and ctime (in ns) as git's index does, so a rebuild rehashes only
 * files that changed. A file whose times are not older than the moment its
 * hash was taken is not remembered (git's "racily clean" entries). Stored
 * per context directory under <root>/build/statcache/. */

struct stat_entry {
	char *path;
	uint64_t size, ino;
	int64_t mtime, ctime;
	struct digest d;
	struct stat_entry *next;
};

#define STATCACHE_BUCKETS 65536

static uint32_t path_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % STATCACHE_BUCKETS;
}

static struct stat_entry *statcache_find(struct build_ctx *b, const char *path)
{
	if (b->statcache == NULL)
		return NULL;
	for (struct stat_entry *e = b->statcache[path_hash(path)]; e != NULL; e = e->next)
		if (strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

static void statcache_put(struct build_ctx *b, const char *path, const struct stat *sb,
			  const struct digest *d)
{
	if (b->statcache == NULL)
		b->statcache = xcalloc(STATCACHE_BUCKETS, sizeof *b->statcache);
	struct stat_entry *e = statcache_find(b, path);
	if (e == NULL) {
		e = xcalloc(1, sizeof *e);
		e->path = xstrdup(path);
		uint32_t h = path_hash(path);
		e->next = b->statcache[h];
		b->statcache[h] = e;
	}
	e->size = (uint64_t)sb->st_size;
	e->ino = (uint64_t)sb->st_ino;
	e->mtime = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
	e->ctime = (int64_t)sb->st_ctim.tv_sec * 1000000000 + sb->st_ctim.tv_nsec;
	e->d = *d;
	b->statcache_dirty = true;
}

static char *statcache_path(const struct build_ctx *b)
{
	struct digest d;
	digest_buffer(&d, DIGEST_SHA256, b->ctx_dir, strlen(b->ctx_dir));
	char hex[DIGEST_MAX_STRING];
	digest_hex(&d, hex);
	return xasprintf("%s/statcache/%.32s", b->work, hex);
}

void context_statcache_load(struct build_ctx *b)
{
	cleanup_free char *path = statcache_path(b);
	cleanup_fclose FILE *f = fopen(path, "re");
	if (f == NULL)
		return;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		unsigned long long size, ino;
		long long mt, ct;
		char hex[65];
		int off = 0;
		if (sscanf(line, "%llu %llu %lld %lld %64s %n", &size, &ino, &mt, &ct, hex, &off) != 5 ||
		    off <= 0)
			continue;
		cleanup_free char *ds = xasprintf("sha256:%s", hex);
		struct digest d;
		if (digest_parse(&d, ds, NULL) < 0)
			continue;
		struct stat sb = { 0 };
		sb.st_size = (off_t)size;
		sb.st_ino = (ino_t)ino;
		sb.st_mtim.tv_sec = mt / 1000000000;
		sb.st_mtim.tv_nsec = mt % 1000000000;
		sb.st_ctim.tv_sec = ct / 1000000000;
		sb.st_ctim.tv_nsec = ct % 1000000000;
		statcache_put(b, line + off, &sb, &d);
	}
	free(line);
	b->statcache_dirty = false;
}

void context_statcache_save(struct build_ctx *b)
{
	if (b->statcache == NULL)
		return;
	/* Temp contexts (stdin, git) never come back: nothing to remember. */
	bool temp = b->tmp != NULL && b->ctx_dir != NULL && str_has_prefix(b->ctx_dir, b->tmp);
	if (b->statcache_dirty && !temp && b->ctx_dir != NULL && b->work != NULL) {
		cleanup_free char *dir = xasprintf("%s/statcache", b->work);
		mkdir(dir, 0700);
		cleanup_free char *path = statcache_path(b);
		cleanup_free char *tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
		FILE *f = fopen(tmp, "we");
		if (f != NULL) {
			char hex[DIGEST_MAX_STRING];
			for (size_t i = 0; i < STATCACHE_BUCKETS; i++)
				for (struct stat_entry *e = b->statcache[i]; e != NULL; e = e->next)
					fprintf(f, "%llu %llu %lld %lld %s %s\n",
						(unsigned long long)e->size, (unsigned long long)e->ino,
						(long long)e->mtime, (long long)e->ctime,
						digest_hex(&e->d, hex), e->path);
			if (fclose(f) == 0)
				rename(tmp, path);
			else
				unlink(tmp);
		}
	}
	for (size_t i = 0; i < STATCACHE_BUCKETS; i++)
		for (struct stat_entry *e = b->statcache[i], *next; e != NULL; e = next) {
			next = e->next;
			free(e->path);
			free(e);
		}
	free(b->statcache);
	b->statcache = NULL;
}

static bool stat_matches(const struct stat_entry *e, const struct stat *sb)
{
	return e->size == (uint64_t)sb->st_size && e->ino == (uint64_t)sb->st_ino &&
	       e->mtime == (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec &&
	       e->ctime == (int64_t)sb->st_ctim.tv_sec * 1000000000 + sb->st_ctim.tv_nsec;
}

/* ig: the context-relative path (NULL outside the context: no cache). */
static int hash_file(struct build_ctx *b, struct cache_key *k, int dirfd, const char *name,
		     const char *ig, const struct stat *sb, struct err **err)
{
	struct stat_entry *e = ig != NULL ? statcache_find(b, ig) : NULL;
	if (e != NULL && stat_matches(e, sb)) {
		cache_key_add_n(k, e->d.bytes, 32);
		return 0;
	}
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_sys(err, err_code_from_errno(errno), errno, "cannot open '%s'", name);
	struct digest d;
	if (digest_fd(&d, NULL, DIGEST_SHA256, fd, err) < 0)
		return err_wrap(err, "cannot read '%s'", name);
	cache_key_add_n(k, d.bytes, 32);
	struct stat after;
	int64_t now = (int64_t)time(NULL);
	if (ig != NULL && fstat(fd, &after) == 0 && stat_matches(&(struct stat_entry){
		.size = (uint64_t)sb->st_size, .ino = (uint64_t)sb->st_ino,
		.mtime = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec,
		.ctime = (int64_t)sb->st_ctim.tv_sec * 1000000000 + sb->st_ctim.tv_nsec }, &after) &&
	    after.st_mtim.tv_sec < now && after.st_ctim.tv_sec < now)
		statcache_put(b, ig, &after, &d);
	return 0;
}

static int hash_entry(struct build_ctx *b, struct cache_key *k, int dirfd, const char *name,
		      const char *rel, const char *ig, struct err **err);

static int hash_dir(struct build_ctx *b, struct cache_key *k, int fd, const char *rel,
		    const char *ig, struct err **err)
{
	int dup_fd = dup(fd);
	if (dup_fd < 0)
		return err_sys(err, ERR_IO, errno, "cannot read '%s'", rel);
	DIR *d = fdopendir(dup_fd);
	if (d == NULL) {
		close(dup_fd);
		return err_sys(err, ERR_IO, errno, "cannot read '%s'", rel);
	}
	char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			strv_push(&names, de->d_name);
	closedir(d);
	size_t n = strv_len(names);
	/* byte order, so the key does not depend on readdir order */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j - 1];
			names[j - 1] = names[j];
			names[j] = t;
		}
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		cleanup_free char *crel = xasprintf("%s/%s", rel, names[i]);
		cleanup_free char *cig = ig != NULL ? (strcmp(ig, ".") == 0 ? xstrdup(names[i])
								    : xasprintf("%s/%s", ig, names[i]))
						    : NULL;
		r = hash_entry(b, k, fd, names[i], crel, cig, err);
	}
	strv_free(names);
	return r;
}

static int hash_entry(struct build_ctx *b, struct cache_key *k, int dirfd, const char *name,
		      const char *rel, const char *ig, struct err **err)
{
	struct stat sb;
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, err_code_from_errno(errno), errno, "cannot stat '%s'", rel);
	bool excluded = ig != NULL && context_ignored(b, ig);
	if (excluded && !(S_ISDIR(sb.st_mode) && cf_ignore_has_exceptions(b->ignore)))
		return 0;
	if (!excluded) {
		cache_key_add(k, rel);
		char meta[64];
		snprintf(meta, sizeof meta, "%o", (unsigned)sb.st_mode);
		cache_key_add(k, meta);
	}
	if (S_ISREG(sb.st_mode) && !excluded)
		return hash_file(b, k, dirfd, name, ig, &sb, err);
	if (S_ISLNK(sb.st_mode)) {
		char target[BALE_MAX_PATH];
		ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
		if (n < 0)
			return err_sys(err, ERR_IO, errno, "cannot read link '%s'", rel);
		target[n] = '\0';
		cache_key_add(k, target);
		return 0;
	}
	if (S_ISDIR(sb.st_mode)) {
		cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return err_sys(err, ERR_IO, errno, "cannot open '%s'", rel);
		return hash_dir(b, k, fd, rel, ig, err);
	}
	return 0;
}

int context_hash_path(struct build_ctx *b, struct cache_key *k, int dirfd, const char *path,
		      const char *ig_prefix, struct err **err)
{
	return hash_entry(b, k, dirfd, path, ".", ig_prefix, err);
}
