/* COPY and ADD: sources from the context (minus .dockerignore), another
 * stage or an image (--from), heredocs, URLs and git repositories (ADD),
 * local archives auto-extracted (ADD); wildcards; file vs directory
 * destinations; --chown (names from the destination's /etc/passwd),
 * --chmod, --parents, --exclude; --link is accepted (the files are the
 * same). Files are written into an overlay view of the stage whose upper
 * dir becomes the layer. */
#include "config.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "builder/passwd.h"
#include "common/buf.h"
#include "common/path.h"
#include "common/util.h"
#include "layers/layer.h"

struct copy_src {
	int rootfd;      /* where rel is resolved (context dir, stage view) */
	char *rel;       /* path inside that root */
	char *name;      /* basename used for a directory destination */
	char *ig;        /* context-relative path for .dockerignore, or NULL */
	char *parents;   /* --parents: path kept under the destination */
	bool keep_owner; /* stage sources keep their owners */
	bool try_unpack; /* ADD of a local file */
};

/* A source inode with more than one link and where its first copy went:
 * its other names become hard links to that copy, as docker keeps them. */
struct copy_link {
	dev_t dev;
	ino_t ino;
	char *dpath; /* absolute in the destination root */
};

struct copy_job {
	struct build_ctx *b;
	const struct cf_instruction *ins;
	bool is_add;
	bool have_chown;
	uid_t uid;
	gid_t gid;
	bool have_chmod;
	mode_t chmod;
	struct cf_ignore *exclude;
	char *checksum;  /* ADD --checksum, expanded */
	struct copy_src *srcs;
	size_t n_srcs;
	char *dest;      /* absolute, cleaned */
	bool dest_dir;   /* dest ends with '/' or there are several sources */
	int dstroot;     /* merged view */
	struct copy_link *links; /* sources with several links, copied once */
	size_t n_links;
};

static void copy_job_release(struct copy_job *j)
{
	for (size_t i = 0; i < j->n_srcs; i++) {
		free(j->srcs[i].rel);
		free(j->srcs[i].name);
		free(j->srcs[i].ig);
		free(j->srcs[i].parents);
	}
	free(j->srcs);
	for (size_t i = 0; i < j->n_links; i++)
		free(j->links[i].dpath);
	free(j->links);
	free(j->dest);
	free(j->checksum);
	cf_ignore_free(j->exclude);
}

static void add_src(struct copy_job *j, int rootfd, const char *rel, const char *ig,
		    const char *parents, bool keep_owner)
{
	j->srcs = xreallocarray(j->srcs, j->n_srcs + 1, sizeof *j->srcs);
	struct copy_src *s = &j->srcs[j->n_srcs++];
	memset(s, 0, sizeof *s);
	s->rootfd = rootfd;
	s->rel = xstrdup(rel);
	const char *slash = strrchr(rel, '/');
	s->name = xstrdup(slash != NULL ? slash + 1 : rel);
	s->ig = ig != NULL ? xstrdup(ig) : NULL;
	s->parents = parents != NULL ? xstrdup(parents) : NULL;
	s->keep_owner = keep_owner;
	s->try_unpack = j->is_add && ig != NULL;
}

/* ---------------------------------------------------------------- writing */

static int set_meta(struct copy_job *j, int dfd, const char *name, const struct stat *sb,
		    bool keep_owner, bool is_link)
{
	uid_t uid = j->have_chown ? j->uid : keep_owner ? sb->st_uid : 0;
	gid_t gid = j->have_chown ? j->gid : keep_owner ? sb->st_gid : 0;
	if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!is_link) {
		mode_t mode = j->have_chmod ? j->chmod : (sb->st_mode & 07777);
		if (fchmodat(dfd, name, mode, 0) < 0)
			return -errno;
	}
	struct timespec ts[2] = { sb->st_atim, sb->st_mtim };
	utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int copy_data(int in, int out)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		break;
	}
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		int r = write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

/* Remove what is at dfd/name unless it is a directory and want_dir. */
static int make_room(int dfd, const char *name, bool want_dir, bool *is_dir)
{
	struct stat sb;
	*is_dir = false;
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(sb.st_mode)) {
		if (want_dir) {
			*is_dir = true;
			return 0;
		}
		return -EISDIR;
	}
	if (unlinkat(dfd, name, 0) < 0)
		return -errno;
	return 0;
}

static int copy_entry(struct copy_job *j, const struct copy_src *s, int sfd, const char *sname,
		      const char *srel, const char *ig, int dfd, const char *dname,
		      const char *dpath, bool follow, struct err **err);

static int copy_children(struct copy_job *j, const struct copy_src *s, int sdir, const char *srel,
			 const char *ig, int ddir, const char *dpath, struct err **err)
{
	int dupfd = dup(sdir);
	DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
	if (d == NULL) {
		if (dupfd >= 0)
			close(dupfd);
		return err_sys(err, ERR_IO, errno, "cannot read '%s'", srel);
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cleanup_free char *crel = strcmp(srel, ".") == 0 ? xstrdup(de->d_name)
								  : xasprintf("%s/%s", srel, de->d_name);
		cleanup_free char *cig = ig == NULL           ? NULL
					 : strcmp(ig, ".") == 0 ? xstrdup(de->d_name)
								: xasprintf("%s/%s", ig, de->d_name);
		cleanup_free char *cdp = xasprintf("%s/%s", strcmp(dpath, "/") == 0 ? "" : dpath,
						   de->d_name);
		r = copy_entry(j, s, sdir, de->d_name, crel, cig, ddir, de->d_name, cdp, false, err);
	}
	closedir(d);
	return r;
}

/* Whether --exclude drops a path (relative to the copied source). */
static bool excluded(const struct copy_job *j, const char *rel_in_src)
{
	if (j->exclude == NULL)
		return false;
	const char *base = strrchr(rel_in_src, '/');
	return cf_ignore_matches(j->exclude, rel_in_src) ||
	       (base != NULL && cf_ignore_matches(j->exclude, base + 1));
}

/* Whether an excluded directory holds anything a `!` pattern re-includes
 * (only then is it created, as docker sends only included paths). */
static bool dir_has_included(struct build_ctx *b, int pfd, const char *name, const char *ig)
{
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return false;
	}
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cleanup_free char *c = xasprintf("%s/%s", ig, de->d_name);
		if (!context_ignored(b, c))
			found = true;
		else if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
			found = dir_has_included(b, dirfd(d), de->d_name, c);
	}
	closedir(d);
	return found;
}

static const struct copy_link *link_find(const struct copy_job *j, const struct stat *sb)
{
	for (size_t i = 0; i < j->n_links; i++)
		if (j->links[i].dev == sb->st_dev && j->links[i].ino == sb->st_ino)
			return &j->links[i];
	return NULL;
}

/* Link dfd/dname to the first copy of the same source inode. The first
 * copy is reached inside the destination root (never through a host
 * path), then linked through its /proc/self/fd name. -errno. */
static int link_to_first(const struct copy_job *j, const struct copy_link *l, int dfd,
			 const char *dname)
{
	struct err *e = NULL;
	int fd = path_open_in_root(j->dstroot, l->dpath, O_PATH | O_NOFOLLOW, 0, &e);
	if (fd < 0) {
		err_free(e);
		return -ENOENT;
	}
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	int r = linkat(AT_FDCWD, proc, dfd, dname, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int copy_entry(struct copy_job *j, const struct copy_src *s, int sfd, const char *sname,
		      const char *srel, const char *ig, int dfd, const char *dname,
		      const char *dpath, bool follow, struct err **err)
{
	struct stat sb;
	if (fstatat(sfd, sname, &sb, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, err_code_from_errno(errno), errno, "cannot stat '%s'", srel);
	bool ig_out = ig != NULL && context_ignored(j->b, ig);
	if (ig_out && !(S_ISDIR(sb.st_mode) && cf_ignore_has_exceptions(j->b->ignore)))
		return 0;
	if (ig_out && !dir_has_included(j->b, sfd, sname, ig))
		return 0;
	if (excluded(j, srel))
		return 0;
	bool existing_dir = false;
	int r = make_room(dfd, dname, S_ISDIR(sb.st_mode), &existing_dir);
	if (r < 0)
		return err_sys(err, ERR_IO, -r, "cannot replace '%s'", dname);
	if (S_ISDIR(sb.st_mode)) {
		if (!existing_dir && mkdirat(dfd, dname, 0700) < 0)
			return err_sys(err, ERR_IO, errno, "cannot create '%s'", dname);
		cleanup_close int sd = openat(sfd, sname, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
								  (follow ? 0 : O_NOFOLLOW));
		cleanup_close int dd = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sd < 0 || dd < 0)
			return err_sys(err, ERR_IO, errno, "cannot open '%s'", srel);
		r = copy_children(j, s, sd, srel, ig, dd, dpath, err);
		if (r == 0 && !existing_dir && set_meta(j, dfd, dname, &sb, s->keep_owner, false) < 0)
			return err_sys(err, ERR_IO, errno, "cannot set the owner of '%s'", dname);
		return r;
	}
	if (ig_out)
		return 0;
	if (S_ISREG(sb.st_mode) && sb.st_nlink > 1) {
		const struct copy_link *l = link_find(j, &sb);
		if (l != NULL && link_to_first(j, l, dfd, dname) == 0)
			return 0;
		if (l == NULL) {
			j->links = xreallocarray(j->links, j->n_links + 1, sizeof *j->links);
			j->links[j->n_links++] = (struct copy_link){ sb.st_dev, sb.st_ino,
								     xstrdup(dpath) };
		}
	}
	if (S_ISREG(sb.st_mode)) {
		cleanup_close int in = openat(sfd, sname, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
		if (in < 0)
			return err_sys(err, ERR_IO, errno, "cannot open '%s'", srel);
		cleanup_close int out = openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
					       0600);
		if (out < 0)
			return err_sys(err, ERR_IO, errno, "cannot create '%s'", dname);
		if ((r = copy_data(in, out)) < 0)
			return err_sys(err, ERR_IO, -r, "cannot copy '%s'", srel);
	} else if (S_ISLNK(sb.st_mode)) {
		char target[BALE_MAX_PATH];
		ssize_t n = readlinkat(sfd, sname, target, sizeof target - 1);
		if (n < 0)
			return err_sys(err, ERR_IO, errno, "cannot read link '%s'", srel);
		target[n] = '\0';
		if (symlinkat(target, dfd, dname) < 0)
			return err_sys(err, ERR_IO, errno, "cannot create link '%s'", dname);
	} else if (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode)) {
		if (mknodat(dfd, dname, sb.st_mode, sb.st_rdev) < 0)
			return err_sys(err, ERR_IO, errno, "cannot create '%s'", dname);
	} else {
		return 0; /* sockets */
	}
	if (set_meta(j, dfd, dname, &sb, s->keep_owner, S_ISLNK(sb.st_mode)) < 0)
		return err_sys(err, ERR_IO, errno, "cannot set the owner of '%s'", dname);
	return 0;
}

/* mkdir -p of an absolute path in the destination; new directories get
 * mode 0755 and the --chown owner (BuildKit's CreateDestPath). */
static int dest_mkdir(struct copy_job *j, const char *path, struct err **err)
{
	cleanup_strv char **parts = str_split(path, '/');
	struct buf pre;
	buf_init(&pre, BALE_MAX_PATH);
	int fd = -1;
	for (size_t i = 0; parts[i] != NULL; i++) {
		if (parts[i][0] == '\0')
			continue;
		buf_addf(&pre, NULL, "/%s", parts[i]);
		int e = path_open_in_root(j->dstroot, buf_str(&pre), O_PATH | O_DIRECTORY, 0, NULL);
		if (e >= 0) {
			close(e);
			continue;
		}
		e = path_mkdir_in_root(j->dstroot, buf_str(&pre), 0755, err);
		if (e < 0) {
			buf_release(&pre);
			return err_wrap(err, "cannot create '%s'", path);
		}
		fchmod(e, 0755);
		if (j->have_chown && fchown(e, j->uid, j->gid) < 0) {
			close(e);
			buf_release(&pre);
			return err_sys(err, ERR_IO, errno, "cannot chown '%s'", buf_str(&pre));
		}
		close(e);
	}
	buf_release(&pre);
	fd = path_mkdir_in_root(j->dstroot, path, 0755, err);
	if (fd < 0)
		return err_wrap(err, "cannot create '%s'", path);
	return fd;
}

/* Split an absolute path into its parent directory fd (created) and name. */
static int dest_parent(struct copy_job *j, const char *path, int *pfd, char **name,
		       struct err **err)
{
	cleanup_free char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	*name = xstrdup(slash + 1);
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	*pfd = dest_mkdir(j, dir, err);
	return *pfd < 0 ? *pfd : 0;
}

/* ADD of a local archive: extract into the destination directory. Returns
 * 1 when it was an archive, 0 when not (copy it as a file). */
static int try_unpack(struct copy_job *j, const struct copy_src *s, struct err **err)
{
	cleanup_close int fd = path_open_in_root(s->rootfd, s->rel, O_RDONLY, 0, NULL);
	if (fd < 0)
		return 0;
	unsigned char magic[512];
	ssize_t n = pread(fd, magic, sizeof magic, 0);
	if (n < 4)
		return 0;
	enum layer_compression c = layer_detect(magic, (size_t)n);
	bool tar = n >= 262 && memcmp(magic + 257, "ustar", 5) == 0;
	if (c == LAYER_COMPRESS_NONE && !tar)
		return 0;
	cleanup_free char *tmp = rootfs_mktemp(j->b, "unpack", err);
	if (tmp == NULL)
		return ERR_IO;
	struct layer_apply_opts ao;
	layer_apply_opts_init(&ao);
	ao.mode = LAYER_APPLY_DIR;
	ao.set_owner = true;
	struct err *e = NULL;
	if (layer_apply_fd(fd, tmp, &ao, NULL, &e) < 0) {
		/* Not an archive after all (a plain .gz file): copy it. */
		err_free(e);
		remove_tree(tmp);
		return 0;
	}
	cleanup_close int dd = dest_mkdir(j, j->dest, err);
	cleanup_close int sd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dd < 0 || sd < 0) {
		remove_tree(tmp);
		return dd < 0 ? dd : err_sys(err, ERR_IO, errno, "cannot open '%s'", tmp);
	}
	struct copy_src tsrc = { .rootfd = sd, .rel = ".", .keep_owner = true };
	bool saved = j->have_chmod;
	size_t nl = j->n_links;
	int r = copy_children(j, &tsrc, sd, ".", NULL, dd, j->dest, err);
	j->have_chmod = saved;
	/* the temp tree's inode numbers may come back for other files */
	for (; j->n_links > nl; j->n_links--)
		free(j->links[j->n_links - 1].dpath);
	remove_tree(tmp);
	return r < 0 ? r : 1;
}

static int copy_one(struct copy_job *j, const struct copy_src *s, struct err **err)
{
	if (s->try_unpack) {
		int r = try_unpack(j, s, err);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	/* Resolve the source itself (following a final symlink) inside its root. */
	cleanup_close int sfd = path_open_in_root(s->rootfd, s->rel, O_PATH, 0, err);
	if (sfd < 0)
		return err_wrap(err, "%s:%u: %s: source '%s'", j->b->cf_name, j->ins->line,
				j->ins->keyword, s->rel);
	struct stat sb;
	if (fstat(sfd, &sb) < 0)
		return err_sys(err, ERR_IO, errno, "cannot stat '%s'", s->rel);
	cleanup_free char *target = NULL;
	if (s->parents != NULL)
		target = xasprintf("%s/%s", j->dest, s->parents);
	else if (S_ISDIR(sb.st_mode))
		target = xstrdup(j->dest);
	else if (j->dest_dir)
		target = xasprintf("%s/%s", strcmp(j->dest, "/") == 0 ? "" : j->dest, s->name);
	else {
		/* an existing directory at dest takes the file inside */
		int e = path_open_in_root(j->dstroot, j->dest, O_PATH | O_DIRECTORY, 0, NULL);
		if (e >= 0) {
			close(e);
			target = xasprintf("%s/%s", strcmp(j->dest, "/") == 0 ? "" : j->dest, s->name);
		} else {
			target = xstrdup(j->dest);
		}
	}
	cleanup_free char *clean = path_clean(target);
	if (S_ISDIR(sb.st_mode) && s->parents == NULL) {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", sfd);
		cleanup_close int sd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sd < 0)
			return err_sys(err, ERR_IO, errno, "cannot open '%s'", s->rel);
		cleanup_close int dd = dest_mkdir(j, clean, err);
		if (dd < 0)
			return dd;
		return copy_children(j, s, sd, ".", s->ig, dd, clean, err);
	}
	int pfd = -1;
	cleanup_free char *name = NULL;
	if (strcmp(clean, "/") == 0)
		return err_set(err, ERR_INVALID, "cannot copy a file onto '/'");
	if (dest_parent(j, clean, &pfd, &name, err) < 0)
		return ERR_IO;
	/* sfd is an O_PATH fd of the resolved source: reopen it through its
	 * /proc/self/fd link (our own fd, not a path the image controls). */
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", sfd);
	int r = copy_entry(j, s, AT_FDCWD, proc, s->rel, s->ig, pfd, name, clean, true, err);
	close(pfd);
	return r;
}

/* ---------------------------------------------------------------- sources */

static bool has_wildcard(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Expand a wildcard pattern (components matched with fnmatch, as Go's
 * filepath.Match) against the tree at rootfd. */
static void glob_walk(struct copy_job *j, int rootfd, const char *dir, char **parts, size_t i,
		      char ***out)
{
	if (parts[i] == NULL) {
		strv_push(out, dir[0] != '\0' ? dir : ".");
		return;
	}
	if (parts[i][0] == '\0' || strcmp(parts[i], ".") == 0) {
		glob_walk(j, rootfd, dir, parts, i + 1, out);
		return;
	}
	if (!has_wildcard(parts[i])) {
		cleanup_free char *p = dir[0] != '\0' ? xasprintf("%s/%s", dir, parts[i])
						      : xstrdup(parts[i]);
		glob_walk(j, rootfd, p, parts, i + 1, out);
		return;
	}
	int fd = path_open_in_root(rootfd, dir[0] != '\0' ? dir : ".", O_RDONLY | O_DIRECTORY, 0,
				   NULL);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    fnmatch(parts[i], de->d_name, 0) == 0)
			strv_push(&names, de->d_name);
	closedir(d);
	size_t n = strv_len(names);
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && strcmp(names[b - 1], names[b]) > 0; b--) {
			char *t = names[b - 1];
			names[b - 1] = names[b];
			names[b] = t;
		}
	for (size_t k = 0; k < n; k++) {
		cleanup_free char *p = dir[0] != '\0' ? xasprintf("%s/%s", dir, names[k])
						      : xstrdup(names[k]);
		glob_walk(j, rootfd, p, parts, i + 1, out);
	}
	strv_free(names);
}

/* --parents: the part of the source path kept under the destination:
 * after a "/./" pivot when there is one, else the whole path. */
static char *parents_of(const char *pattern, const char *match)
{
	const char *pivot = strstr(pattern, "/./");
	if (pivot == NULL)
		return path_clean(match);
	cleanup_free char *head = xstrndup(pattern, (size_t)(pivot - pattern));
	cleanup_free char *pre = path_clean(head);
	cleanup_free char *m = path_clean(match);
	size_t pl = strlen(pre);
	if (strcmp(pre, ".") != 0 && strncmp(m, pre, pl) == 0 && m[pl] == '/')
		return xstrdup(m + pl + 1);
	return xstrdup(m);
}

static int add_sources(struct copy_job *j, int rootfd, const char *word, bool from_context,
		       bool keep_owner, bool parents, struct err **err)
{
	cleanup_free char *clean = NULL;
	if (path_rel_safe(word[0] != '\0' ? word : ".", &clean, err) < 0)
		return err_wrap(err, "%s:%u: %s: source '%s'", j->b->cf_name, j->ins->line,
				j->ins->keyword, word);
	cleanup_strv char **matches = NULL;
	if (has_wildcard(clean)) {
		cleanup_strv char **parts = str_split(clean, '/');
		glob_walk(j, rootfd, "", parts, 0, &matches);
	} else {
		strv_push(&matches, clean);
	}
	size_t added = 0;
	for (size_t i = 0; matches != NULL && matches[i] != NULL; i++) {
		if (from_context && strcmp(matches[i], ".") != 0 &&
		    context_ignored(j->b, matches[i]))
			continue;
		cleanup_free char *par = parents ? parents_of(word, matches[i]) : NULL;
		add_src(j, rootfd, matches[i], from_context ? matches[i] : NULL, par, keep_owner);
		added++;
	}
	if (added == 0)
		return err_set(err, ERR_NOTFOUND, "%s:%u: %s: no source files were specified%s'%s'",
			       j->b->cf_name, j->ins->line, j->ins->keyword,
			       has_wildcard(clean) ? " matching " : ": not found: ", word);
	return 0;
}

/* ---------------------------------------------------------------- flags */

static int parse_chmod(struct copy_job *j, const char *v, struct err **err)
{
	unsigned long m = 0;
	const char *p = v;
	if (*p == '\0')
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '7')
			goto bad;
		m = m * 8 + (unsigned long)(*p - '0');
		if (m > 07777)
			goto bad;
	}
	j->have_chmod = true;
	/* BuildKit applies only the permission bits (setuid & co dropped). */
	j->chmod = (mode_t)(m & 0777);
	return 0;
bad:
	return err_set(err, ERR_INVALID, "%s:%u: invalid chmod parameter '%s'", j->b->cf_name,
		       j->ins->line, v);
}

/* --chown=user[:group]: the user's uid; the group's gid, else the
 * passwd group of a user given by name, else the uid itself (BuildKit). */
static int parse_chown(struct copy_job *j, const char *spec, struct err **err)
{
	cleanup_free char *user = xstrdup(spec);
	char *group = strchr(user, ':');
	if (group != NULL)
		*group++ = '\0';
	struct sbx_user u = { 0 };
	if (sbx_user_resolve(&u, j->dstroot, user, err) < 0)
		return err_wrap(err, "%s:%u: --chown=%s", j->b->cf_name, j->ins->line, spec);
	j->uid = u.uid;
	/* A name takes its passwd group; a bare uid is also the gid. */
	j->gid = u.name != NULL && str_to_uint(user, UINT32_MAX, &(unsigned int){ 0 }) < 0 ? u.gid
											  : u.uid;
	sbx_user_release(&u);
	if (group != NULL && *group != '\0') {
		cleanup_free char *g = xasprintf("0:%s", group);
		struct sbx_user gu = { 0 };
		if (sbx_user_resolve(&gu, j->dstroot, g, err) < 0)
			return err_wrap(err, "%s:%u: --chown=%s", j->b->cf_name, j->ins->line, spec);
		j->gid = gu.gid;
		sbx_user_release(&gu);
	}
	j->have_chown = true;
	return 0;
}

/* ---------------------------------------------------------------- URL */

static size_t curl_write(char *p, size_t sz, size_t n, void *ctx)
{
	int fd = *(int *)ctx;
	return write_all(fd, p, sz * n) == 0 ? sz * n : 0;
}

static int fetch_url(struct copy_job *j, const char *url, int dirfd, const char *name,
		     struct err **err)
{
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(err, ERR_IO, errno, "cannot create '%s'", name);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &fd);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BUILD_MAX_DOWNLOAD);
	CURLcode cr = curl_easy_perform(c);
	curl_easy_cleanup(c);
	int r = 0;
	if (cr != CURLE_OK)
		r = err_set(err, ERR_IO, "%s:%u: ADD %s: %s", j->b->cf_name, j->ins->line, url,
			    curl_easy_strerror(cr));
	const char *want = j->checksum;
	if (r == 0 && want != NULL) {
		struct digest wd, got;
		lseek(fd, 0, SEEK_SET);
		if (digest_parse(&wd, want, err) < 0)
			r = err_wrap(err, "%s:%u: ADD --checksum", j->b->cf_name, j->ins->line);
		else if (digest_fd(&got, NULL, wd.algo, fd, err) < 0)
			r = ERR_IO;
		else if (!digest_equal(&wd, &got)) {
			char gs[DIGEST_MAX_STRING];
			r = err_set(err, ERR_DIGEST, "%s:%u: ADD %s: digest mismatch %s: %s",
				    j->b->cf_name, j->ins->line, url, want, digest_format(&got, gs));
		}
	}
	close(fd);
	return r;
}

/* ---------------------------------------------------------------- the step */

static int key_sources(struct copy_job *j, struct cache_key *k, struct err **err)
{
	for (size_t i = 0; i < j->n_srcs; i++) {
		cache_key_add(k, j->srcs[i].rel);
		cache_key_add(k, j->srcs[i].parents);
		if (context_hash_path(j->b, k, j->srcs[i].rootfd, j->srcs[i].rel, j->srcs[i].ig,
				      err) < 0)
			return ERR_IO;
	}
	return 0;
}

static void history_of(struct build_ctx *b, const struct cf_instruction *ins, struct buf *h)
{
	buf_addf(h, NULL, "%s", ins->keyword);
	for (size_t i = 0; i < ins->nflags; i++)
		if (!str_has_prefix(ins->flags[i], "--checksum"))
			buf_addf(h, NULL, " %s", ins->flags[i]);
	for (size_t i = 0; i < ins->nargs; i++)
		buf_addf(h, NULL, " %s", ins->args[i]);
	buf_addstr(h, " # buildkit", NULL);
	(void)b;
}

/* --exclude=PATTERN flags, in order, as BuildKit hands them to
 * patternmatcher.New (not through the ignore-file reader: `#x` is a
 * pattern here, `/x` keeps its slash). */
static int exclude_patterns(const struct cf_instruction *ins, struct copy_job *j, struct err **err)
{
	cleanup_strv char **pats = NULL;
	for (size_t i = 0; i < ins->nflags; i++)
		if (str_has_prefix(ins->flags[i], "--exclude="))
			strv_push(&pats, ins->flags[i] + strlen("--exclude="));
	if (pats == NULL)
		return 0;
	return cf_ignore_from_patterns(pats, strv_len(pats), "--exclude", &j->exclude, err);
}

int step_copy(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
	      struct cf_env *env, struct err **err)
{
	struct copy_job j = { .b = b, .ins = ins, .is_add = ins->kind == CF_ADD, .dstroot = -1 };
	struct buf h;
	buf_init(&h, 4 * BALE_MAX_LINE);
	history_of(b, ins, &h);
	step_announce(b, st, ins, buf_str(&h));
	struct rootfs_view from_view = { .rootfd = -1 }, v = { .rootfd = -1 };
	struct bstage img = { 0 };
	cleanup_free char *heredoc_dir = NULL;
	cleanup_free char *fetch_dir = NULL;
	int ctxfd = -1, hdfd = -1, fetchfd = -1;
	int srcroot = -1;
	bool keep_owner = false;
	int r = 0;

	/* words: sources..., dest (exec form: the JSON elements) */
	cleanup_strv char **words = NULL;
	for (size_t i = 0; i < ins->nargs && r == 0; i++) {
		if (ins->form == CF_FORM_EXEC) {
			char *w = NULL;
			r = cf_expand_word(&b->lex, ins->args[i], env, &w, err);
			if (r == 0)
				strv_push(&words, w);
			free(w);
		} else {
			cleanup_strv char **ws = NULL;
			r = cf_expand_words(&b->lex, ins->args[i], env, &ws, err);
			for (size_t k = 0; r == 0 && ws[k] != NULL; k++)
				strv_push(&words, ws[k]);
		}
	}
	size_t nw = strv_len(words);
	if (r == 0 && nw < 2)
		r = err_set(err, ERR_INVALID, "%s:%u: %s requires at least two arguments", b->cf_name,
			    ins->line, ins->keyword);
	if (r < 0)
		goto out;
	const char *dest_word = words[nw - 1];
	bool trailing = str_has_suffix(dest_word, "/") || str_has_suffix(dest_word, "/.") ||
			strcmp(dest_word, ".") == 0;
	j.dest = step_abs_path(st, dest_word);
	j.dest_dir = trailing || nw > 2;
	/* flags */
	const char *chmod = cf_instruction_flag(ins, "chmod");
	if (chmod != NULL) {
		cleanup_free char *cw = NULL;
		if ((r = cf_expand_word(&b->lex, chmod, env, &cw, err)) < 0 ||
		    (r = parse_chmod(&j, cw, err)) < 0)
			goto out;
	}
	const char *checksum = cf_instruction_flag(ins, "checksum");
	if (checksum != NULL && (r = cf_expand_word(&b->lex, checksum, env, &j.checksum, err)) < 0)
		goto out;
	if ((r = exclude_patterns(ins, &j, err)) < 0)
		goto out;
	bool parents = cf_instruction_flag(ins, "parents") != NULL &&
		       strcmp(cf_instruction_flag(ins, "parents"), "false") != 0;

	/* the source root */
	const char *from = cf_instruction_flag(ins, "from");
	if (from != NULL) {
		cleanup_free char *fw = NULL;
		if ((r = cf_expand_word(&b->lex, from, env, &fw, err)) < 0)
			goto out;
		long si = plan_stage_lookup(b, fw, st->index);
		const struct bstage *fs = NULL;
		if (si >= 0) {
			if ((r = build_stage(b, (size_t)si, err)) < 0)
				goto out;
			fs = &b->stages[si];
		} else {
			img.base = xstrdup(fw);
			img.cf = st->cf;
			if ((r = build_stage_from_image(b, &img, err)) < 0)
				goto out;
			fs = &img;
		}
		if ((r = rootfs_view_open(b, fs, false, &from_view, err)) < 0)
			goto out;
		srcroot = from_view.rootfd;
		keep_owner = true;
	} else {
		ctxfd = open(b->ctx_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ctxfd < 0) {
			r = err_sys(err, ERR_IO, errno, "cannot open the context '%s'", b->ctx_dir);
			goto out;
		}
		srcroot = ctxfd;
	}

	/* sources */
	for (size_t i = 0; i + 1 < nw && r == 0; i++) {
		const char *w = words[i];
		const struct cf_heredoc *hd = NULL;
		if (str_has_prefix(w, "<<"))
			for (size_t k = 0; k < ins->nheredocs; k++) {
				const char *n = w + 2 + (w[2] == '-');
				if (strcmp(ins->heredocs[k].name, n) == 0)
					hd = &ins->heredocs[k];
			}
		if (hd != NULL) {
			if (heredoc_dir == NULL) {
				heredoc_dir = rootfs_mktemp(b, "heredoc", err);
				if (heredoc_dir == NULL) {
					r = ERR_IO;
					break;
				}
				hdfd = open(heredoc_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			}
			cleanup_free char *content = cf_heredoc_chomped(hd);
			cleanup_free char *exp = NULL;
			if (hd->expand) {
				struct cf_lex lx = b->lex;
				lx.skip_quotes = true; /* quotes are text in a heredoc body */
				if ((r = cf_expand_word(&lx, content, env, &exp, err)) < 0)
					break;
			}
			const char *text = exp != NULL ? exp : content;
			int fd = openat(hdfd, hd->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0 || write_all(fd, text, strlen(text)) < 0) {
				r = err_sys(err, ERR_IO, errno, "heredoc '%s'", hd->name);
				if (fd >= 0)
					close(fd);
				break;
			}
			fchmod(fd, 0644);
			close(fd);
			add_src(&j, hdfd, hd->name, NULL, NULL, false);
			j.srcs[j.n_srcs - 1].try_unpack = false;
			continue;
		}
		if (j.is_add && (str_has_prefix(w, "http://") || str_has_prefix(w, "https://")) &&
		    !context_is_git_url(w)) {
			if (fetch_dir == NULL) {
				fetch_dir = rootfs_mktemp(b, "fetch", err);
				if (fetch_dir == NULL) {
					r = ERR_IO;
					break;
				}
				fetchfd = open(fetch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			}
			const char *base = strrchr(w, '/');
			cleanup_free char *name = xstrdup(base != NULL && base[1] != '\0' ? base + 1
											  : "download");
			char *q = strpbrk(name, "?#");
			if (q != NULL)
				*q = '\0';
			if ((r = fetch_url(&j, w, fetchfd, name, err)) < 0)
				break;
			add_src(&j, fetchfd, name, NULL, NULL, false);
			j.srcs[j.n_srcs - 1].try_unpack = false;
			continue;
		}
		if (j.is_add && context_is_git_url(w)) {
			const char *keep = cf_instruction_flag(ins, "keep-git-dir");
			cleanup_free char *gdir = NULL;
			if ((r = context_git_fetch(b, w, keep != NULL && strcmp(keep, "false") != 0,
						   &gdir, err)) < 0)
				break;
			int gfd = open(gdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			add_src(&j, gfd, ".", NULL, NULL, false);
			j.srcs[j.n_srcs - 1].try_unpack = false;
			continue;
		}
		r = add_sources(&j, srcroot, w, from == NULL, keep_owner, parents, err);
	}
	if (r < 0)
		goto out;
	if (j.n_srcs > 1 && !trailing) {
		r = err_set(err, ERR_INVALID,
			    "%s:%u: When using %s with more than one source file, the destination "
			    "must be a directory and end with a /",
			    b->cf_name, ins->line, ins->keyword);
		goto out;
	}

	/* cache key */
	struct cache_key k;
	cache_key_init(&k, &st->chain, ins->keyword);
	for (size_t i = 0; i < ins->nflags; i++)
		cache_key_add(&k, ins->flags[i]);
	cache_key_add(&k, j.dest);
	cache_key_add(&k, j.dest_dir ? "dir" : "file");
	cache_key_add(&k, layer_compression_name(b->o->compression));
	char epoch[32];
	snprintf(epoch, sizeof epoch, "%lld", (long long)b->o->source_date_epoch);
	cache_key_add(&k, epoch);
	if (key_sources(&j, &k, err) < 0) {
		cache_key_final(&k, &(struct digest){ 0 });
		r = ERR_IO;
		goto out;
	}
	struct digest key;
	cache_key_final(&k, &key);
	bool hit;
	if ((r = step_cache_try(b, st, &key, buf_str(&h), &hit, err)) < 0 || hit)
		goto out;

	if ((r = rootfs_view_open(b, st, true, &v, err)) < 0)
		goto out;
	j.dstroot = v.rootfd;
	const char *chown = cf_instruction_flag(ins, "chown");
	if (chown != NULL && chown[0] != '\0') {
		cleanup_free char *cw = NULL;
		if ((r = cf_expand_word(&b->lex, chown, env, &cw, err)) < 0 ||
		    (r = parse_chown(&j, cw, err)) < 0)
			goto out;
	}
	for (size_t i = 0; i < j.n_srcs && r == 0; i++)
		r = copy_one(&j, &j.srcs[i], err);
	if (r == 0)
		r = rootfs_view_unmount(&v, err);
	if (r == 0)
		r = step_layer_done(b, st, &key, v.upper, buf_str(&h), err);
out:
	rootfs_view_close(&v);
	rootfs_view_close(&from_view);
	if (img.base != NULL) {
		free(img.base);
		free(img.base_name);
		oci_config_release(&img.config);
		for (size_t i = 0; i < img.n_layers; i++)
			oci_descriptor_release(&img.layers[i].desc);
		free(img.layers);
	}
	if (ctxfd >= 0)
		close(ctxfd);
	if (hdfd >= 0)
		close(hdfd);
	if (fetchfd >= 0)
		close(fetchfd);
	for (size_t i = 0; i < j.n_srcs; i++)
		if (j.srcs[i].rootfd != srcroot && j.srcs[i].rootfd != hdfd &&
		    j.srcs[i].rootfd != fetchfd && j.srcs[i].rootfd >= 0)
			close(j.srcs[i].rootfd);
	copy_job_release(&j);
	buf_release(&h);
	if (r < 0 && err != NULL && *err != NULL && !str_has_prefix((*err)->msg, b->cf_name))
		err_wrap(err, "%s:%u: %s", b->cf_name, ins->line, ins->keyword);
	return r;
}
