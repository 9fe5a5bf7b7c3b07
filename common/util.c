#include "config.h"

#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

static void oom(void)
{
	static const char msg[] = "bale: out of memory\n";
	ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)w;
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		oom();
	return p;
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		oom();
	size_t n = nmemb * size;
	void *r = realloc(p, n ? n : 1);
	if (r == NULL)
		oom();
	return r;
}

char *xstrdup(const char *s)
{
	char *r = strdup(s);
	if (r == NULL)
		oom();
	return r;
}

char *xstrndup(const char *s, size_t n)
{
	char *r = strndup(s, n);
	if (r == NULL)
		oom();
	return r;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

void strv_push(char ***v, const char *s)
{
	size_t n = strv_len(*v);
	*v = xreallocarray(*v, n + 2, sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

char **str_split(const char *s, char sep)
{
	char **v = xcalloc(1, sizeof(char *));
	const char *start = s;
	for (const char *p = s;; p++) {
		if (*p == sep || *p == '\0') {
			size_t n = strv_len(v);
			v = xreallocarray(v, n + 2, sizeof(char *));
			v[n] = xstrndup(start, (size_t)(p - start));
			v[n + 1] = NULL;
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	return v;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

bool str_eq_nocase(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

size_t str_copy(char *dst, const char *src, size_t dstsize)
{
	size_t n = strlen(src);
	if (dstsize > 0) {
		size_t c = n < dstsize - 1 ? n : dstsize - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

char *str_quote(const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t take = n > STR_QUOTE_MAX ? STR_QUOTE_MAX : n;
	char *out = xmalloc(take * 4 + 4);
	size_t o = 0;
	for (size_t i = 0; i < take; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (take < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char *str_trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	size_t i = 0;
	while (is_space(s[i]))
		i++;
	if (i > 0)
		memmove(s, s + i, n - i + 1);
	return s;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int str_to_u64(const char *s, uint64_t *out)
{
	if (s == NULL || !all_digits(s))
		return ERR_INVALID;
	uint64_t v = 0;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return ERR_RANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int str_to_i64(const char *s, int64_t *out)
{
	if (s == NULL)
		return ERR_INVALID;
	bool neg = *s == '-';
	uint64_t v;
	int rc = str_to_u64(neg ? s + 1 : s, &v);
	if (rc < 0)
		return rc;
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return ERR_RANGE;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int str_to_uint(const char *s, unsigned int max, unsigned int *out)
{
	uint64_t v;
	int rc = str_to_u64(s, &v);
	if (rc < 0)
		return rc;
	if (v > max)
		return ERR_RANGE;
	*out = (unsigned int)v;
	return 0;
}

/* ".NAME.tmp-XXXXXXXXXXXXXXXX" in path's directory, NAME being path's last
 * component. Caller frees. */
static char *atomic_temp_name(const char *path)
{
	uint64_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	const char *slash = strrchr(path, '/');
	int dirlen = slash != NULL ? (int)(slash - path + 1) : 0;
	return xasprintf("%.*s.%s.tmp-%016llx", dirlen, path, path + dirlen,
			 (unsigned long long)rnd);
}

int file_write_atomic(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
		      struct err **err)
{
	cleanup_free char *tmp = NULL;
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 16; tries++) {
		free(tmp);
		tmp = atomic_temp_name(path);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return err_sys(err, err_code_from_errno(errno), errno, "cannot write '%s'", path);
	int r = fchmod(fd, mode) < 0 ? -errno : 0;
	if (r == 0)
		r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, path) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return err_sys(err, err_code_from_errno(-r), -r, "cannot write '%s'", path);
	}
	/* The rename is durable only once the directory is. */
	(void)fsync_parent_dir(dirfd, path);
	return 0;
}

int fsync_parent_dir(int dirfd, const char *path)
{
	const char *slash = strrchr(path, '/');
	cleanup_free char *dir = slash != NULL ? xstrndup(path, (size_t)(slash - path + 1)) : NULL;
	cleanup_close int dfd = openat(dirfd, dir != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return -errno;
	return 0;
}

int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static int unlock_dir(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if ((type == FTW_D || type == FTW_DNR) && (sb->st_mode & 0700) != 0700)
		chmod(path, (sb->st_mode & 07777) | 0700);
	return 0;
}

void remove_tree(const char *path)
{
	struct stat st;
	if (path == NULL || lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	nftw(path, remove_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	/* Directories without read, write or search permission (a step may
	 * leave 0500 or 0000 dirs) are opened up from the top and removal is
	 * retried; each round reaches one more level of unreadable dirs. */
	for (int round = 0; round < 8 && access(path, F_OK) == 0; round++) {
		chmod(path, (st.st_mode & 07777) | 0700);
		nftw(path, unlock_dir, 64, FTW_PHYS | FTW_MOUNT);
		nftw(path, remove_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	}
}

void remove_dead_process_dirs(const char *dir, const char *prefix)
{
	cleanup_dir DIR *d = opendir(dir);
	struct dirent *de;
	size_t plen = strlen(prefix);
	while (d != NULL && (de = readdir(d)) != NULL) {
		char *end;
		if (strncmp(de->d_name, prefix, plen) != 0)
			continue;
		unsigned long pid = strtoul(de->d_name + plen, &end, 10);
		if (end == de->d_name + plen || *end != '-' || pid == 0 || pid > INT_MAX)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		cleanup_free char *p = xasprintf("%s/%s", dir, de->d_name);
		remove_tree(p);
	}
}

void run_on_threads(size_t n, void *(*worker)(void *), void *arg)
{
	pthread_t *t = xcalloc(n > 0 ? n : 1, sizeof(*t));
	size_t started = 0;
	for (size_t i = 1; i < n; i++) {
		if (pthread_create(&t[i], NULL, worker, arg) != 0)
			break;
		started = i;
	}
	worker(arg); /* this thread works too */
	for (size_t i = 1; i <= started; i++)
		pthread_join(t[i], NULL);
	free(t);
}
