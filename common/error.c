#include "config.h"

#include "common/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Returned when the error itself cannot be allocated: never freed. */
static struct err oom_error = {
	.code = ERR_FAIL,
	.errnum = ENOMEM,
	.msg = (char *)"out of memory",
};

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int err_setv(struct err **err, int code, int errnum, const char *fmt, va_list ap)
{
	if (code >= 0)
		code = ERR_FAIL;
	if (err == NULL || *err != NULL)
		return code;

	struct err *e = calloc(1, sizeof(*e));
	char *msg = vformat(fmt, ap);
	if (e == NULL || msg == NULL) {
		free(e);
		free(msg);
		*err = &oom_error;
		return code;
	}
	if (errnum != 0) {
		char *full = NULL;
		if (asprintf(&full, "%s: %s", msg, strerror(errnum)) < 0) {
			free(e);
			free(msg);
			*err = &oom_error;
			return code;
		}
		free(msg);
		msg = full;
	}
	e->code = code;
	e->errnum = errnum;
	e->msg = msg;
	*err = e;
	return code;
}

int err_set(struct err **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = err_setv(err, code, 0, fmt, ap);
	va_end(ap);
	return rc;
}

int err_sys(struct err **err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = err_setv(err, code, errnum, fmt, ap);
	va_end(ap);
	return rc;
}

int err_wrap(struct err **err, const char *fmt, ...)
{
	va_list ap;
	if (err == NULL)
		return ERR_FAIL;
	if (*err == NULL) {
		va_start(ap, fmt);
		int rc = err_setv(err, ERR_FAIL, 0, fmt, ap);
		va_end(ap);
		return rc;
	}
	if (*err == &oom_error)
		return oom_error.code;

	va_start(ap, fmt);
	char *ctx = vformat(fmt, ap);
	va_end(ap);
	char *full = NULL;
	if (ctx != NULL && asprintf(&full, "%s: %s", ctx, (*err)->msg) >= 0) {
		free((*err)->msg);
		(*err)->msg = full;
	}
	free(ctx);
	return (*err)->code;
}

void err_move(struct err **dst, struct err **src)
{
	if (src == NULL || *src == NULL)
		return;
	if (dst != NULL && *dst == NULL)
		*dst = *src;
	else
		err_free(*src);
	*src = NULL;
}

void err_free(struct err *e)
{
	if (e == NULL || e == &oom_error)
		return;
	free(e->msg);
	free(e);
}

int err_code_from_errno(int errnum)
{
	switch (errnum) {
	case ENOENT: return ERR_NOTFOUND;
	case EEXIST: return ERR_EXISTS;
	case EACCES:
	case EPERM:
	case EROFS: return ERR_DENIED;
	case ELOOP:
	case ENOTDIR:
	case EISDIR:
	case EINVAL:
	case EXDEV: return ERR_INVALID;
	case ENAMETOOLONG:
	case EFBIG: return ERR_TOOBIG;
	case EAGAIN:
	case EBUSY: return ERR_BUSY;
	case EINTR: return ERR_CANCELED;
	}
	return ERR_IO;
}

const char *err_code_name(int code)
{
	switch (code) {
	case ERR_OK: return "ok";
	case ERR_FAIL: return "failed";
	case ERR_NOTFOUND: return "notfound";
	case ERR_EXISTS: return "exists";
	case ERR_INVALID: return "invalid";
	case ERR_DIGEST: return "digest";
	case ERR_DENIED: return "denied";
	case ERR_UNSUPPORTED: return "unsupported";
	case ERR_IO: return "io";
	case ERR_TOOBIG: return "toobig";
	case ERR_UNAUTHORIZED: return "unauthorized";
	case ERR_PROTOCOL: return "protocol";
	case ERR_BUSY: return "busy";
	case ERR_CANCELED: return "canceled";
	case ERR_RANGE: return "range";
	}
	return "failed";
}

const char *err_msg(const struct err *e)
{
	return e != NULL && e->msg != NULL ? e->msg : "unknown error";
}

int err_code(const struct err *e)
{
	return e != NULL ? e->code : ERR_FAIL;
}
