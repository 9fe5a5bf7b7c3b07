/* Progress output for push, pull, build, copy: one item per blob or step.
 *
 * Modes:
 *   tty    live lines redrawn in place (ANSI cursor movement), one per
 *          active item: id, label, bar, bytes done/total, rate, ETA; redraws
 *          throttled to 10 Hz; a finished item's final line is printed once
 *          above the live lines.
 *   plain  one line per state change, for CI logs, no escape sequences:
 *          `[  1.2s] 3f2a9c1b layer: started (40.0 MiB)`, byte updates at
 *          25% steps or every 5 s, `pushed (40.0 MiB in 9.8s)`,
 *          `failed: reason`.
 *   json   one object per line:
 *          {"time":"2026-11-29T07:28:09.123Z","id":"3f2a9c1b","label":"layer",
 *           "event":"progress","current":1048576,"total":41943040}
 *          events: start, progress (at 25% steps or every second), status
 *          ("status":text), done ("status":text), error ("error":reason),
 *          message ("message":text, no id/label/current/total).
 *          total 0 means unknown.
 *   quiet  nothing.
 *   auto   tty when the fd is a terminal and $TERM is set and not "dumb",
 *          else plain.
 *
 * Thread-safe: items may be updated from several threads; one mutex guards
 * state and output, and every event is a single write(2). Every function
 * accepts a NULL progress or item and then does nothing, so code paths that
 * report nothing can pass NULL.
 */
#ifndef BALE_COMMON_PROGRESS_H
#define BALE_COMMON_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum progress_mode {
	PROGRESS_AUTO = 0,
	PROGRESS_TTY,
	PROGRESS_PLAIN,
	PROGRESS_JSON,
	PROGRESS_QUIET,
};

struct progress;
struct progress_item;

/* "auto", "tty", "plain", "json", "quiet" (case-insensitive). 0 or
 * ERR_INVALID with a message listing the valid values. */
int progress_mode_parse(const char *s, enum progress_mode *out, struct err **err);
/* Static name of a mode. */
const char *progress_mode_name(enum progress_mode mode);

/* Start a reporter writing to fd (which stays the caller's). AUTO is
 * resolved here. The caller frees it with progress_free(). */
struct progress *progress_new(enum progress_mode mode, int fd);
/* The mode in effect (never AUTO). */
enum progress_mode progress_get_mode(const struct progress *p);
/* Finish the display (tty: the final state of unfinished items stays on
 * screen) and free the reporter and all its items. NULL is fine. */
void progress_free(struct progress *p);

/* tty: show how long each item without byte counts (a build step) has
 * been running ("running  12.3s") and redraw the live lines every 100 ms
 * even when nothing reports, so that clock moves. Other modes: nothing.
 * Call once, before adding items. */
void progress_show_elapsed(struct progress *p);

/* Add an item and report its start. id (e.g. a short digest) and label
 * (e.g. "layer", a file name) are copied; either may be NULL or "". total 0
 * means unknown. The item belongs to p: valid until progress_free(). */
struct progress_item *progress_item_add(struct progress *p, const char *id, const char *label,
                                        uint64_t total);
/* Set the absolute number of bytes done. A value lower than before (a
 * retried transfer) restarts the rate estimate. */
void progress_item_update(struct progress_item *it, uint64_t current);
/* Add delta bytes to the count (for writers that see chunks). */
void progress_item_advance(struct progress_item *it, uint64_t delta);
/* The total became known or changed (0 = unknown). */
void progress_item_set_total(struct progress_item *it, uint64_t total);
/* Report an intermediate state ("waiting", "verifying", "extracting"). The
 * text is copied; the tty line shows it instead of rate and ETA until the
 * next status. NULL clears it silently. */
void progress_item_status(struct progress_item *it, const char *status);
/* Finish the item with a status ("pushed", "exists"; NULL means "done").
 * Later calls on the item do nothing. */
void progress_item_done(struct progress_item *it, const char *status);
/* Finish the item as failed with a reason (copied; NULL: "unknown error"). */
void progress_item_fail(struct progress_item *it, const char *reason);

/* A free line: a build step header, the final digest. Shown in every mode
 * but quiet. */
void progress_message(struct progress *p, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* The clocks behind elapsed times, rates, throttling (monotonic) and the
 * JSON "time" (realtime), replaceable so tests compare output exactly. */
struct progress_clock {
	uint64_t (*monotonic_ns)(void *ctx); /* NULL: CLOCK_MONOTONIC */
	int64_t (*realtime_ns)(void *ctx);   /* NULL: CLOCK_REALTIME */
	void *ctx;
};
/* Replace the clocks; call before adding items. Elapsed time restarts. */
void progress_set_clock(struct progress *p, const struct progress_clock *clock);

/* Buffer size that fits any output of the formatters below. */
#define PROGRESS_FMT_SIZE 32

/* Human byte count in binary units: "532 B", "1.5 KiB", "40.0 MiB",
 * "2.3 GiB" (one decimal, rounded). Returns buf, always NUL-terminated. */
const char *progress_format_bytes(uint64_t bytes, char *buf, size_t size);
/* Human duration: "0.4s", "9.8s" below 10 s, then "42s", "1m05s", "2h03m"
 * (truncated, never rounded up). Returns buf. */
const char *progress_format_duration(uint64_t ns, char *buf, size_t size);

#endif
