/* Bounded growable byte buffer (curl's dynbuf): every buffer that can be
 * filled from outside is created with the cap it may grow to, so hostile
 * input yields ERR_TOOBIG instead of unbounded memory. The content is always
 * NUL-terminated, so text can be used as a C string directly. */
#ifndef BALE_COMMON_BUF_H
#define BALE_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/error.h"

struct buf {
	char *data;  /* NULL until the first append; then NUL-terminated */
	size_t len;  /* bytes used, not counting the NUL */
	size_t cap;  /* bytes allocated */
	size_t max;  /* len never exceeds this */
};

/* Start an empty buffer that may hold at most max bytes. */
void buf_init(struct buf *b, size_t max);
/* Free the storage; the buffer is empty (same max) afterwards. */
void buf_release(struct buf *b);
/* Empty the buffer, keeping its storage. */
void buf_reset(struct buf *b);

/* Append n bytes. ERR_TOOBIG (buffer unchanged) when len would exceed max. */
int buf_add(struct buf *b, const void *p, size_t n, struct err **err);
int buf_addstr(struct buf *b, const char *s, struct err **err);
int buf_addch(struct buf *b, char c, struct err **err);
int buf_addf(struct buf *b, struct err **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int buf_vaddf(struct buf *b, struct err **err, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Drop bytes after len (len <= b->len). */
void buf_truncate(struct buf *b, size_t len);

/* Hand out the content as a malloc'ed NUL-terminated string (never NULL,
 * "" when empty); the buffer is empty afterwards. Caller frees. */
char *buf_detach(struct buf *b, size_t *len);

/* Text of the buffer: "" when nothing was added yet. */
static inline const char *buf_str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

/* Read a whole fd into b (up to b->max: ERR_TOOBIG beyond). `what` names
 * the source in errors. */
int buf_read_fd(struct buf *b, int fd, const char *what, struct err **err);
/* Read a whole file (path relative to dirfd, AT_FDCWD for cwd) into b. */
int buf_read_file(struct buf *b, int dirfd, const char *path, struct err **err);

static inline void buf_releasep(struct buf *b)
{
	buf_release(b);
}
#define cleanup_buf __attribute__((cleanup(buf_releasep)))

#endif
