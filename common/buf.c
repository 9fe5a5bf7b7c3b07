#include "config.h"

#include "common/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common/util.h"

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static int buf_grow(struct buf *b, size_t extra, struct err **err)
{
	if (extra > b->max || b->len > b->max - extra)
		return err_set(err, ERR_TOOBIG, "data exceeds the limit of %zu bytes", b->max);
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1 > need ? b->max + 1 : need;
	b->data = xreallocarray(b->data, cap, 1);
	b->cap = cap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n, struct err **err)
{
	int rc = buf_grow(b, n, err);
	if (rc < 0)
		return rc;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_addstr(struct buf *b, const char *s, struct err **err)
{
	return buf_add(b, s, strlen(s), err);
}

int buf_addch(struct buf *b, char c, struct err **err)
{
	return buf_add(b, &c, 1, err);
}

int buf_vaddf(struct buf *b, struct err **err, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return err_sys(err, ERR_INVALID, errno, "cannot format text");
	int rc = buf_grow(b, (size_t)n, err);
	if (rc < 0)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, struct err **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vaddf(b, err, fmt, ap);
	va_end(ap);
	return rc;
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *s = b->data != NULL ? b->data : xstrdup("");
	if (len != NULL)
		*len = b->len;
	buf_init(b, b->max);
	return s;
}

int buf_read_fd(struct buf *b, int fd, const char *what, struct err **err)
{
	char chunk[65536];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(err, ERR_IO, errno, "cannot read '%s'", what);
		}
		if (r == 0)
			return 0;
		if (buf_add(b, chunk, (size_t)r, NULL) < 0)
			return err_set(err, ERR_TOOBIG, "'%s' is larger than %zu bytes", what, b->max);
	}
}

int buf_read_file(struct buf *b, int dirfd, const char *path, struct err **err)
{
	cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_sys(err, err_code_from_errno(errno), errno, "cannot open '%s'", path);
	return buf_read_fd(b, fd, path, err);
}
