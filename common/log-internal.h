/* Pieces of the log formatter shared with common/progress.c and the unit
 * tests: the clock hook, a bounded line writer that truncates without ever
 * breaking the syntax of a line, the escaping rules and RFC 3339 time.
 * Internal to common/ and its tests (STYLE.md "Shape"). */
#ifndef BALE_COMMON_LOG_INTERNAL_H
#define BALE_COMMON_LOG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Replace the wall clock used for `time=` (nanoseconds since the epoch, UTC)
 * so tests can compare lines byte for byte; NULL restores CLOCK_REALTIME. */
void log_set_clock(int64_t (*now_ns)(void));
/* Current time from the clock above. */
int64_t log_now_ns(void);

/* Room kept at the end of every line for the truncation marker and what
 * closes the line (`..."}` and a newline at most), so a cut line stays a
 * valid logfmt record or JSON object. */
#define LOG_LINE_TAIL 8

/* A line being built in caller-provided memory. Content stops at
 * size - LOG_LINE_TAIL; once something does not fit, `full` is set and every
 * later append is refused, so the line ends at a clean boundary. */
struct log_line {
	char *data;
	size_t len;
	size_t size;
	bool full;   /* an append did not fit */
	bool marked; /* the "..." marker has been written */
};

/* size must be at least 64. The memory stays the caller's. */
void log_line_init(struct log_line *l, char *mem, size_t size);
/* Append n bytes, all or nothing; false (and full) when they do not fit. */
bool log_line_add(struct log_line *l, const char *s, size_t n);
bool log_line_addstr(struct log_line *l, const char *s);
bool log_line_addf(struct log_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append into the reserved tail (closing quotes, braces, newline). */
void log_line_tail(struct log_line *l, const char *s);

enum log_escape {
	/* Inside a JSON string or a quoted logfmt value: `"` and `\` escaped,
	 * \n \r \t, other C0, DEL and C1 controls as \u00XX. */
	LOG_ESC_QUOTED,
	/* Human text: the same control escapes, quotes and backslashes kept,
	 * so no message can move the cursor or forge another line. */
	LOG_ESC_TEXT,
};

/* Append s escaped. Invalid UTF-8 becomes U+FFFD (one per maximal invalid
 * subpart, as Unicode recommends); a character is never split when the line
 * fills up. */
void log_line_escape(struct log_line *l, enum log_escape mode, const char *s, size_t n);

/* Append a string value then `close` (e.g. "\"" or ""). When it does not
 * fit, or `cut` says the value was already shortened, the value ends in
 * "..." followed by `close`, and the line is full. */
void log_line_value(struct log_line *l, enum log_escape mode, const char *s, size_t n, bool cut,
                    const char *close);

/* A JSON member `"key":"value"`, preceded by a comma unless first. A member
 * whose key does not fit is left out whole. */
void log_line_json_member(struct log_line *l, bool first, const char *key, const char *value);

/* True when a logfmt value must be quoted: empty, or containing a space,
 * `=`, `"`, a control character or invalid UTF-8. */
bool log_logfmt_needs_quote(const char *s, size_t n);

/* RFC 3339 UTC with milliseconds: 2026-11-29T07:28:09.123Z (24 bytes; the
 * size leaves gcc's format-truncation analysis nothing to warn about).
 * Times outside years 0-9999 print as the epoch. */
#define LOG_TIME_SIZE 80
void log_format_time(int64_t unix_ns, char out[LOG_TIME_SIZE]);

/* Length of the well-formed UTF-8 sequence at s (n > 0 bytes available), or
 * minus the length of its maximal invalid subpart. */
int log_utf8_seq(const unsigned char *s, size_t n);

#endif
