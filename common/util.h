/* Allocation, cleanup and string helpers used everywhere.
 *
 * Allocation failure aborts (as git's and crun's xmalloc do): a builder or
 * registry that cannot allocate a few bytes cannot report anything useful,
 * and checking every small allocation hides the real error paths. Buffers
 * filled from outside are still capped (common/limits.h), so hostile input
 * cannot drive memory use.
 */
#ifndef BALE_COMMON_UTIL_H
#define BALE_COMMON_UTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
/* realloc of nmemb * size with overflow check. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted allocation; the caller frees the result. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* ---- cleanup helpers (bubblewrap/crun style) ---- */
static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void fclosep(FILE **f)
{
	if (*f != NULL)
		fclose(*f);
}
static inline void closedirp(DIR **d)
{
	if (*d != NULL)
		closedir(*d);
}
/* Free a NULL-terminated array of strings and the array. */
void strv_free(char **v);
static inline void strv_freep(char ***v)
{
	strv_free(*v);
}
#define cleanup_free __attribute__((cleanup(freep)))
#define cleanup_close __attribute__((cleanup(closep)))
#define cleanup_fclose __attribute__((cleanup(fclosep)))
#define cleanup_dir __attribute__((cleanup(closedirp)))
#define cleanup_strv __attribute__((cleanup(strv_freep)))

/* Hand ownership out of a cleanup variable: returns *pp and clears it. The
 * type check makes steal_pointer(&fd) on an int a compile error. */
static inline void *steal_pointer_(void *pp)
{
	void **p = (void **)pp;
	void *r = *p;
	*p = NULL;
	return r;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))steal_pointer_(pp))

static inline int steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

/* ---- strings ---- */
static inline bool str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* Case-insensitive ASCII comparison (Dockerfile keywords, HTTP headers). */
bool str_eq_nocase(const char *a, const char *b);
/* Copy with at most dstsize-1 bytes and a NUL; returns strlen(src) like
 * strlcpy so truncation is detectable. */
size_t str_copy(char *dst, const char *src, size_t dstsize);
/* Strip ASCII whitespace from both ends, in place; returns s. */
char *str_trim(char *s);
/* Copy of s[0..n) fit to quote in an error message: at most
 * STR_QUOTE_MAX bytes then "...", non-printable bytes and '\\' as \xNN, so
 * hostile input cannot put terminal escapes or newlines into logs. Caller
 * frees. */
#define STR_QUOTE_MAX 100
char *str_quote(const char *s, size_t n);
/* Value of a hexadecimal digit (either case), or -1 for anything else. */
static inline int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
/* Number of entries of a NULL-terminated array. */
size_t strv_len(char *const *v);
/* Append a copy of s to a NULL-terminated array (*v may be NULL). */
void strv_push(char ***v, const char *s);
/* Split s at every occurrence of sep (no empty-field collapsing); never NULL. */
char **str_split(const char *s, char sep);

/* Strict decimal parsing: the whole string must be a number in range, no
 * sign for unsigned, no leading '+', no whitespace. Return 0 or ERR_INVALID
 * (not a number) / ERR_RANGE (out of range); *out is untouched on error. */
int str_to_u64(const char *s, uint64_t *out);
int str_to_i64(const char *s, int64_t *out);
int str_to_uint(const char *s, unsigned int max, unsigned int *out);

/* fsync the directory holding `path` (relative to dirfd, or AT_FDCWD), so
 * that a rename or create of path there is durable. 0 or -errno. */
int fsync_parent_dir(int dirfd, const char *path);

/* Replace the file `path` (relative to dirfd, or AT_FDCWD) with data,
 * atomically: a temp file with a unique name beside it, fsync, rename over
 * path, fsync of the directory. Readers see the old content or the new, never
 * a mix; a crash leaves at most a ".NAME.tmp-*" file behind. mode is the new
 * file's mode (not masked by the umask). Returns 0 or a negative err_code
 * from errno with path in the message. */
struct err;
int file_write_atomic(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
		      struct err **err);

/* Run worker(arg) on n threads at once, the calling thread being one of
 * them, and return when all have returned. A thread that cannot be
 * started is not retried: worker must take work from a shared queue, so
 * fewer threads still finish it. n 0 counts as 1. */
void run_on_threads(size_t n, void *(*worker)(void *), void *arg);

/* rm -rf of a path bale created: a directory tree (not crossing into other
 * mounts, fixing up directories a step left without write or search
 * permission) or a single file. Errors are ignored: what cannot be removed
 * stays. */
void remove_tree(const char *path);

/* remove_tree() each entry of dir named PREFIX<pid>-... whose process is
 * gone: the temp dirs of a bale that was killed (a live one's are in use). */
void remove_dead_process_dirs(const char *dir, const char *prefix);

/* Write all of buf to fd, retrying on EINTR and short writes. 0 or -errno. */
int write_all(int fd, const void *buf, size_t n);
/* Read up to n bytes, retrying on EINTR and short reads, stopping at EOF.
 * Returns bytes read or -errno. */
ssize_t read_full(int fd, void *buf, size_t n);

#endif
