/* The error model shared by every module (STYLE.md "Errors").
 *
 * A fallible function returns 0 on success or a negative enum err_code that
 * callers branch on, and on failure fills *err (when err is not NULL) with an
 * allocated struct err carrying the code, the errno that caused it (0 if
 * none) and a message. Callers add context as the error travels up with
 * err_wrap(); they never overwrite it. Library code never prints: cmd/
 * renders the final message as `bale: <context>: <message>`.
 */
#ifndef BALE_COMMON_ERROR_H
#define BALE_COMMON_ERROR_H

#include <stdarg.h>
#include <stddef.h>

enum err_code {
	ERR_OK = 0,
	ERR_FAIL = -1,        /* anything not covered below */
	ERR_NOTFOUND = -2,    /* file, blob, image, tag, key absent */
	ERR_EXISTS = -3,      /* already there and must not be replaced */
	ERR_INVALID = -4,     /* malformed input: syntax, field, value */
	ERR_DIGEST = -5,      /* content does not match its digest or size */
	ERR_DENIED = -6,      /* permission or authorization refused */
	ERR_UNSUPPORTED = -7, /* valid but not supported here */
	ERR_IO = -8,          /* read/write/system call failed */
	ERR_TOOBIG = -9,      /* input over a cap of common/limits.h */
	ERR_UNAUTHORIZED = -10, /* credentials missing or rejected */
	ERR_PROTOCOL = -11,   /* peer broke a protocol (HTTP, registry API) */
	ERR_BUSY = -12,       /* locked or in use; retry may succeed */
	ERR_CANCELED = -13,   /* interrupted by a signal or the caller */
	ERR_RANGE = -14,      /* offset/range not satisfiable */
};

struct err {
	int code;    /* an enum err_code, always negative */
	int errnum;  /* errno behind the failure, or 0 */
	char *msg;   /* full message, context first */
};

/* Record a new error in *err (if err and *err is NULL; an error already
 * there is kept, because the first cause is the useful one) and return code.
 * The message is printf-formatted. */
int err_set(struct err **err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As err_set(), appending ": strerror(errnum)" and keeping errnum. */
int err_sys(struct err **err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* va_list form of err_set()/err_sys() (errnum 0 means no strerror suffix). */
int err_setv(struct err **err, int code, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* Prefix the message of *err with printf-formatted context and ": ".
 * Returns the code already in *err (ERR_FAIL if there was none, in which case
 * an error with just the context is created). */
int err_wrap(struct err **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Move *src into *dst if *dst is empty (else free *src); *src becomes NULL. */
void err_move(struct err **dst, struct err **src);

/* Free an error; NULL is fine. */
void err_free(struct err *e);

/* The code that fits a system error: ENOENT -> ERR_NOTFOUND, EEXIST ->
 * ERR_EXISTS, EACCES/EPERM/EROFS -> ERR_DENIED, ELOOP/ENOTDIR/EISDIR/EINVAL/
 * EXDEV -> ERR_INVALID, ENAMETOOLONG/EFBIG -> ERR_TOOBIG, EAGAIN/EBUSY ->
 * ERR_BUSY, EINTR -> ERR_CANCELED, anything else ERR_IO. */
int err_code_from_errno(int errnum);

/* Short stable name of a code ("notfound", "invalid", ...), for logs/JSON. */
const char *err_code_name(int code);

/* Message of an error, or "unknown error" for NULL. Never NULL. */
const char *err_msg(const struct err *e);

/* Code of an error, ERR_FAIL for NULL. */
int err_code(const struct err *e);

static inline void err_freep(struct err **e)
{
	err_free(*e);
	*e = NULL;
}
#define cleanup_err __attribute__((cleanup(err_freep)))

#endif
