/* Logging with levels. The level is checked before anything is formatted
 * (valkey's serverLog), so disabled debug lines cost one comparison.
 *
 * Formats: LOG_FORMAT_TEXT for the CLI (`bale: warning: message key=value`
 * on stderr), LOG_FORMAT_LOGFMT and LOG_FORMAT_JSON for servers (one line per
 * event with time, level, msg and the event's fields). Thread-safe: one
 * event is one write(2). */
#ifndef BALE_COMMON_LOG_H
#define BALE_COMMON_LOG_H

#include <stddef.h>

#include "common/error.h"

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
	LOG_LEVEL_TRACE = 4,
};

enum log_format {
	LOG_FORMAT_TEXT = 0,
	LOG_FORMAT_LOGFMT = 1,
	LOG_FORMAT_JSON = 2,
};

/* Current threshold: events above it are dropped. Default LOG_LEVEL_WARN. */
extern enum log_level log_threshold;

/* A key/value attached to an event (value may be NULL: written as empty). */
struct log_field {
	const char *key;
	const char *value;
};

/* "error", "warn"/"warning", "info", "debug", "trace" (case-insensitive).
 * 0 or ERR_INVALID with a message naming the accepted levels. */
int log_level_parse(const char *s, enum log_level *out, struct err **err);
/* Static name of a level as logfmt and JSON write it ("warn", ...). */
const char *log_level_name(enum log_level level);
/* "text", "logfmt", "json" (case-insensitive). 0 or ERR_INVALID with a
 * message naming the accepted formats. */
int log_format_parse(const char *s, enum log_format *out, struct err **err);
/* Static name of a format ("text", ...). */
const char *log_format_name(enum log_format format);

void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
/* Where events go (default STDERR_FILENO). The fd stays the caller's. */
void log_set_fd(int fd);
/* Apply $BALE_LOG if set (a level name; empty counts as unset); returns
 * ERR_INVALID on a bad value, leaving the level unchanged. The message does
 * not name the variable: the caller adds that context. */
int log_init_from_env(struct err **err);

/* Emit one event with optional fields; use the macros below so the level is
 * checked before the arguments are formatted. Lines longer than
 * BALE_MAX_LOG_LINE are cut, marked with "...", and still parse; errno is
 * preserved. Formats:
 *   text:   bale: warning: message key=value key2="quoted value"
 *   logfmt: time=2026-11-29T07:28:09.123Z level=warn msg="message" key=value
 *   json:   {"time":"...","level":"warn","msg":"message","key":"value"}
 * Control characters are escaped in every format and invalid UTF-8 becomes
 * U+FFFD, so a hostile string cannot forge a line or drive a terminal. */
void log_event(enum log_level level, const struct log_field *fields, size_t nfields,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_at_(level, ...)                                       \
	do {                                                      \
		if ((level) <= log_threshold)                     \
			log_event((level), NULL, 0, __VA_ARGS__); \
	} while (0)
#define log_error(...)     log_at_(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)      log_at_(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)      log_at_(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)     log_at_(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_trace(...)     log_at_(LOG_LEVEL_TRACE, __VA_ARGS__)
#define log_enabled(level) ((level) <= log_threshold)

/* An event with fields, e.g.
 *	struct log_field f[] = { { "repo", name }, { "status", "201" } };
 *	log_fields(LOG_LEVEL_INFO, f, ARRAY_SIZE(f), "blob pushed");
 * The fields array is built before the check; its values are not used
 * when the level is disabled. */
#define log_fields(level, fields, nfields, ...)                               \
	do {                                                                  \
		if ((level) <= log_threshold)                                 \
			log_event((level), (fields), (nfields), __VA_ARGS__); \
	} while (0)

#endif
