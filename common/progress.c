#include "config.h"

#include "common/progress.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <time.h>

#include "common/limits.h"
#include "common/log-internal.h"
#include "common/util.h"

#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S  UINT64_C(1000000000)
/* 10 Hz: smooth to the eye, and a few hundred bytes per frame even with many
 * transfers, where redrawing on every 32 KiB chunk would cost more than the
 * transfer's own syscalls. */
#define TTY_REDRAW_NS (100 * NS_PER_MS)
/* CI logs want a sign of life, not a flood. */
#define PLAIN_REPORT_NS (5 * NS_PER_S)
#define JSON_REPORT_NS  (1 * NS_PER_S)
/* Before this much time a rate is noise (TCP slow start, the first chunk). */
#define RATE_MIN_NS (500 * NS_PER_MS)
/* One plain or JSON line, like a log line. */
#define PROGRESS_LINE_MAX BALE_MAX_LOG_LINE
/* One tty line before it is cut to the terminal width. */
#define TTY_LINE_MAX 2048

enum item_state {
	ITEM_ACTIVE,
	ITEM_DONE,
	ITEM_FAILED,
};

enum item_event {
	EV_START,
	EV_PROGRESS,
	EV_STATUS,
	EV_DONE,
	EV_ERROR,
};

struct progress_item {
	struct progress *p;
	char *id;
	char *label;
	char *status; /* custom status, done status or failure reason */
	uint64_t current;
	uint64_t total;
	uint64_t start_ns;     /* when added: elapsed time */
	uint64_t end_ns;       /* when done or failed */
	uint64_t rate_base;    /* bytes when the rate estimate started */
	uint64_t rate_ns;      /* when the rate estimate started */
	uint64_t report_ns;    /* plain/json: last line for this item */
	uint64_t report_bytes; /* plain/json: current at that line */
	unsigned quarter;      /* plain/json: last 25% step reported */
	enum item_state state;
};

struct progress {
	pthread_mutex_t lock;
	enum progress_mode mode;
	int fd;
	struct progress_clock clock;
	uint64_t start_ns;
	struct progress_item **items;
	size_t nitems;
	size_t cap;
	/* tty */
	size_t drawn; /* live lines on screen above the cursor */
	uint64_t draw_ns;
	bool dirty;
	/* progress_show_elapsed: a thread redraws at TTY_REDRAW_NS */
	bool elapsed;
	bool ticker_stop;
	pthread_t ticker;
	pthread_cond_t ticker_cond;
};

/* ---- names and human units ---- */

static const char *const mode_names[] = {
        [PROGRESS_AUTO] = "auto", [PROGRESS_TTY] = "tty",     [PROGRESS_PLAIN] = "plain",
        [PROGRESS_JSON] = "json", [PROGRESS_QUIET] = "quiet",
};

int progress_mode_parse(const char *s, enum progress_mode *out, struct err **err)
{
	for (size_t i = 0; s != NULL && i < ARRAY_SIZE(mode_names); i++) {
		if (str_eq_nocase(s, mode_names[i])) {
			*out = (enum progress_mode)i;
			return 0;
		}
	}
	return err_set(err, ERR_INVALID,
	               "unknown progress mode '%s' (expected auto, tty, plain, json or quiet)",
	               s != NULL ? s : "");
}

const char *progress_mode_name(enum progress_mode mode)
{
	if ((size_t)mode < ARRAY_SIZE(mode_names))
		return mode_names[mode];
	return "unknown";
}

const char *progress_format_bytes(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	size_t k = 1;
	uint64_t unit = 1024;

	if (bytes < 1024) {
		snprintf(buf, size, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (k + 1 < ARRAY_SIZE(units) && bytes / unit >= 1024) {
		unit *= 1024;
		k++;
	}
	/* rem * 10 < 10 * 2^60 still fits in 64 bits */
	uint64_t whole = bytes / unit, tenths = (bytes % unit * 10 + unit / 2) / unit;
	if (tenths == 10) {
		whole++;
		tenths = 0;
	}
	if (whole == 1024 && k + 1 < ARRAY_SIZE(units)) {
		whole = 1;
		k++;
	}
	snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " %s", whole, tenths, units[k]);
	return buf;
}

const char *progress_format_duration(uint64_t ns, char *buf, size_t size)
{
	uint64_t s = ns / NS_PER_S;

	if (s < 10)
		snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "s", s, ns / (100 * NS_PER_MS) % 10);
	else if (s < 60)
		snprintf(buf, size, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	return buf;
}

/* ---- clocks and arithmetic ---- */

static uint64_t mono_default(void *ctx)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static int64_t real_default(void *ctx)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t now_ns(const struct progress *p)
{
	return p->clock.monotonic_ns(p->clock.ctx);
}

/* a * b / c without overflow (byte counts times nanoseconds). */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 r = (unsigned __int128)a * b / c;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

static unsigned percent(const struct progress_item *it)
{
	if (it->total == 0)
		return 0;
	if (it->current >= it->total)
		return 100;
	return (unsigned)muldiv(it->current, 100, it->total);
}

/* Bytes per second since the estimate started, 0 while it means nothing. */
static uint64_t item_rate(const struct progress_item *it, uint64_t now)
{
	if (now < it->rate_ns + RATE_MIN_NS || it->current <= it->rate_base)
		return 0;
	return muldiv(it->current - it->rate_base, NS_PER_S, now - it->rate_ns);
}

/* ---- text pieces shared by plain and tty ---- */

static void add_text(struct log_line *l, const char *s)
{
	log_line_escape(l, LOG_ESC_TEXT, s, strlen(s));
}

/* "id label", or whichever is set. */
static void add_name(struct log_line *l, const struct progress_item *it)
{
	add_text(l, it->id);
	if (it->id[0] != '\0' && it->label[0] != '\0')
		log_line_add(l, " ", 1);
	add_text(l, it->label);
}

static void add_bytes(struct log_line *l, uint64_t n)
{
	char b[PROGRESS_FMT_SIZE];
	log_line_addstr(l, progress_format_bytes(n, b, sizeof(b)));
}

/* What happened to an item, in words: "started (40.0 MiB)",
 * "10.0 MiB / 40.0 MiB (25%)", "pushed (40.0 MiB in 9.8s)", "failed: why". */
static void add_event_text(struct log_line *l, const struct progress_item *it, enum item_event ev)
{
	char d[PROGRESS_FMT_SIZE];

	switch (ev) {
	case EV_START:
		log_line_addstr(l, "started");
		if (it->total > 0) {
			log_line_addstr(l, " (");
			add_bytes(l, it->total);
			log_line_addstr(l, ")");
		}
		return;
	case EV_PROGRESS:
		add_bytes(l, it->current);
		if (it->total > 0) {
			log_line_addstr(l, " / ");
			add_bytes(l, it->total);
			log_line_addf(l, " (%u%%)", percent(it));
		}
		return;
	case EV_STATUS: add_text(l, it->status); return;
	case EV_DONE:
		add_text(l, it->status);
		if (it->current > 0) {
			log_line_addstr(l, " (");
			add_bytes(l, it->current);
			log_line_addf(
			        l, " in %s)",
			        progress_format_duration(it->end_ns - it->start_ns, d, sizeof(d)));
		}
		return;
	case EV_ERROR:
		log_line_addstr(l, "failed: ");
		add_text(l, it->status);
		return;
	}
}

static void write_line(struct progress *p, const struct log_line *l)
{
	(void)write_all(p->fd, l->data, l->len);
}

/* ---- plain ---- */

static void plain_prefix(struct progress *p, struct log_line *l)
{
	uint64_t tenths = (now_ns(p) - p->start_ns) / (100 * NS_PER_MS);
	log_line_addf(l, "[%3" PRIu64 ".%" PRIu64 "s] ", tenths / 10, tenths % 10);
}

static void plain_event(struct progress *p, const struct progress_item *it, enum item_event ev)
{
	char mem[PROGRESS_LINE_MAX];
	struct log_line l;

	log_line_init(&l, mem, sizeof(mem));
	plain_prefix(p, &l);
	add_name(&l, it);
	log_line_addstr(&l, ": ");
	add_event_text(&l, it, ev);
	if (l.full)
		log_line_value(&l, LOG_ESC_TEXT, "", 0, true, "");
	log_line_tail(&l, "\n");
	write_line(p, &l);
}

static void plain_message(struct progress *p, const char *msg, size_t n, bool cut)
{
	char mem[PROGRESS_LINE_MAX];
	struct log_line l;

	log_line_init(&l, mem, sizeof(mem));
	plain_prefix(p, &l);
	log_line_value(&l, LOG_ESC_TEXT, msg, n, cut, "");
	log_line_tail(&l, "\n");
	write_line(p, &l);
}

/* ---- json ---- */

static const char *const event_names[] = {
        [EV_START] = "start", [EV_PROGRESS] = "progress", [EV_STATUS] = "status",
        [EV_DONE] = "done",   [EV_ERROR] = "error",
};

static void json_time(struct progress *p, struct log_line *l)
{
	char when[LOG_TIME_SIZE];
	log_format_time(p->clock.realtime_ns(p->clock.ctx), when);
	log_line_addf(l, "{\"time\":\"%s\"", when);
}

static void json_event(struct progress *p, const struct progress_item *it, enum item_event ev)
{
	char mem[PROGRESS_LINE_MAX];
	struct log_line l;

	log_line_init(&l, mem, sizeof(mem));
	json_time(p, &l);
	log_line_json_member(&l, false, "id", it->id);
	log_line_json_member(&l, false, "label", it->label);
	log_line_addf(&l, ",\"event\":\"%s\",\"current\":%" PRIu64 ",\"total\":%" PRIu64,
	              event_names[ev], it->current, it->total);
	if (ev == EV_STATUS || ev == EV_DONE)
		log_line_json_member(&l, false, "status", it->status);
	else if (ev == EV_ERROR)
		log_line_json_member(&l, false, "error", it->status);
	log_line_tail(&l, "}\n");
	write_line(p, &l);
}

static void json_message(struct progress *p, const char *msg, size_t n, bool cut)
{
	char mem[PROGRESS_LINE_MAX];
	struct log_line l;

	log_line_init(&l, mem, sizeof(mem));
	json_time(p, &l);
	log_line_addstr(&l, ",\"event\":\"message\",\"message\":\"");
	log_line_value(&l, LOG_ESC_QUOTED, msg, n, cut, "\"");
	log_line_tail(&l, "}\n");
	write_line(p, &l);
}

/* ---- tty ---- */

struct tty_size {
	unsigned cols;
	unsigned rows;
};

static unsigned env_dim(const char *name, unsigned fallback)
{
	unsigned v;
	const char *s = getenv(name);
	if (s == NULL || str_to_uint(s, 10000, &v) < 0 || v == 0)
		return fallback;
	return v;
}

static struct tty_size tty_size(const struct progress *p)
{
	struct winsize ws;
	struct tty_size sz = {0, 0};

	if (ioctl(p->fd, TIOCGWINSZ, &ws) == 0) {
		sz.cols = ws.ws_col;
		sz.rows = ws.ws_row;
	}
	if (sz.cols == 0)
		sz.cols = env_dim("COLUMNS", 80);
	if (sz.rows == 0)
		sz.rows = env_dim("LINES", 24);
	/* below this nothing useful fits; above it lines are unreadable anyway */
	sz.cols = sz.cols < 20 ? 20 : sz.cols > 500 ? 500 : sz.cols;
	sz.rows = sz.rows < 3 ? 3 : sz.rows > 200 ? 200 : sz.rows;
	return sz;
}

/* Columns of valid UTF-8 text: one per character. Wide characters count as
 * one, which at worst makes a line end early or late on screen. */
static size_t text_cols(const char *s, size_t n)
{
	size_t cols = 0;
	for (size_t i = 0; i < n; i++)
		cols += ((unsigned char)s[i] & 0xc0) != 0x80;
	return cols;
}

/* Bytes of the longest prefix of s that fits in cols columns. */
static size_t text_prefix(const char *s, size_t n, size_t cols)
{
	size_t i = 0, c = 0;
	while (i < n) {
		size_t j = i + 1;
		while (j < n && ((unsigned char)s[j] & 0xc0) == 0x80)
			j++;
		if (c + 1 > cols)
			break;
		c++;
		i = j;
	}
	return i;
}

/* Append s cut to cols columns (ending in "..." when cut) and padded with
 * spaces to pad columns. */
static void add_cols(struct log_line *l, const char *s, size_t n, size_t cols, size_t pad)
{
	size_t have = text_cols(s, n);
	if (have > cols) {
		size_t keep = cols >= 3 ? cols - 3 : 0;
		log_line_add(l, s, text_prefix(s, n, keep));
		log_line_add(l, "...", cols - keep);
		have = cols;
	} else {
		log_line_add(l, s, n);
	}
	for (; have < pad; have++)
		log_line_add(l, " ", 1);
}

static size_t name_cols(const struct progress_item *it)
{
	char mem[TTY_LINE_MAX];
	struct log_line l;
	log_line_init(&l, mem, sizeof(mem));
	add_name(&l, it);
	return text_cols(l.data, l.len);
}

static void add_bar(struct log_line *l, const struct progress_item *it, unsigned width)
{
	unsigned fill = it->total == 0 ? 0 : (unsigned)muldiv(percent(it), width, 100);
	log_line_add(l, "[", 1);
	for (unsigned i = 0; i < width; i++) {
		char c = i < fill ? '=' : (i == fill && it->total > 0 && fill > 0) ? '>' : ' ';
		log_line_add(l, &c, 1);
	}
	log_line_add(l, "] ", 2);
}

/* An item that never counted bytes, when elapsed times are shown: its
 * status and running time, "running  12.3s". */
static bool tty_elapsed_only(const struct progress_item *it)
{
	return it->p->elapsed && it->total == 0 && it->current == 0;
}

static void add_tty_elapsed(struct log_line *l, const struct progress_item *it, uint64_t now)
{
	char b[PROGRESS_FMT_SIZE];
	if (it->status != NULL) {
		add_text(l, it->status);
		log_line_addstr(l, "  ");
	}
	log_line_addstr(l, progress_format_duration(now - it->start_ns, b, sizeof(b)));
}

/* "20.0 MiB/40.0 MiB", then the status if one is set, else rate and ETA:
 * compact, because the bar already shows the fraction. */
static void add_tty_stats(struct log_line *l, const struct progress_item *it, uint64_t now)
{
	char b[PROGRESS_FMT_SIZE];
	uint64_t rate = item_rate(it, now);

	if (tty_elapsed_only(it)) {
		add_tty_elapsed(l, it, now);
		return;
	}
	add_bytes(l, it->current);
	if (it->total > 0) {
		log_line_add(l, "/", 1);
		add_bytes(l, it->total);
	}
	if (it->status != NULL) {
		log_line_addstr(l, "  ");
		add_text(l, it->status);
		return;
	}
	if (rate == 0)
		return;
	log_line_addf(l, "  %s/s", progress_format_bytes(rate, b, sizeof(b)));
	if (it->total > it->current)
		log_line_addf(
		        l, "  ETA %s",
		        progress_format_duration(muldiv(it->total - it->current, NS_PER_S, rate), b,
		                                 sizeof(b)));
}

/* Narrow terminals get no bar: the name and the numbers matter more. */
static unsigned tty_bar_width(struct tty_size sz)
{
	return sz.cols >= 100 ? 30 : sz.cols >= 80 ? 15 : 0;
}

/* One live line: name padded to namew, bar, stats; cut to the width. */
static void tty_item_line(struct log_line *frame, const struct progress_item *it, size_t namew,
                          struct tty_size sz, uint64_t now)
{
	char nmem[TTY_LINE_MAX], lmem[TTY_LINE_MAX];
	struct log_line name, line;
	unsigned bar = tty_bar_width(sz);

	log_line_init(&name, nmem, sizeof(nmem));
	add_name(&name, it);
	log_line_init(&line, lmem, sizeof(lmem));
	if (tty_elapsed_only(it)) {
		/* A step's title is what matters: it gets all the width its
		 * short stats leave. */
		char smem[TTY_LINE_MAX];
		struct log_line stats;
		log_line_init(&stats, smem, sizeof(smem));
		add_tty_elapsed(&stats, it, now);
		size_t cols = name_cols(it), avail = sz.cols - 1;
		avail = avail > stats.len + 11 ? avail - stats.len - 1 : 10;
		cols = cols > avail ? avail : cols < namew ? namew : cols;
		add_cols(&line, name.data, name.len, cols, cols);
		log_line_add(&line, " ", 1);
		log_line_add(&line, stats.data, stats.len);
		add_cols(frame, line.data, line.len, sz.cols - 1, 0);
		log_line_addstr(frame, "\x1b[K\n");
		return;
	}
	add_cols(&line, name.data, name.len, namew, namew);
	log_line_add(&line, " ", 1);
	if (bar > 0 && it->total > 0)
		add_bar(&line, it, bar);
	else if (bar > 0 && !tty_elapsed_only(it))
		add_cols(&line, "", 0, 0, bar + 3);
	add_tty_stats(&line, it, now);
	add_cols(frame, line.data, line.len, sz.cols - 1, 0);
	log_line_addstr(frame, "\x1b[K\n");
}

static size_t count_active(const struct progress *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nitems; i++)
		n += p->items[i]->state == ITEM_ACTIVE;
	return n;
}

/* Columns kept for the stats after the bar ("20.0 MiB/40.0 MiB  20.0
 * MiB/s  ETA 1.0s"); a longer name is cut rather than the numbers. */
#define TTY_STATS_COLS 40

/* Name column: as wide as the widest live name, within what the bar and
 * the stats leave. */
static size_t tty_name_width(const struct progress *p, struct tty_size sz, size_t shown)
{
	size_t w = 0, seen = 0, bar = tty_bar_width(sz), max;
	for (size_t i = 0; i < p->nitems && seen < shown; i++) {
		if (p->items[i]->state != ITEM_ACTIVE)
			continue;
		size_t c = name_cols(p->items[i]);
		w = c > w ? c : w;
		seen++;
	}
	max = sz.cols - 1 - (bar > 0 ? bar + 3 : 0);
	max = max > TTY_STATS_COLS + 10 ? max - TTY_STATS_COLS : 10;
	return w > max ? max : w;
}

/* Redraw: move up over the live lines, print `perm` (a finished item or a
 * message, kept on screen), then the live lines again, and clear what is
 * left below when there are fewer of them now. */
static void tty_draw(struct progress *p, const char *perm, size_t perm_len)
{
	struct tty_size sz = tty_size(p);
	uint64_t now = now_ns(p);
	size_t active = count_active(p);
	/* one row stays free so the live lines never scroll themselves away */
	size_t shown = active < sz.rows ? active : sz.rows - 2;
	size_t size = perm_len + (shown + 2) * ((size_t)sz.cols * 4 + 32) + 64;
	cleanup_free char *mem = xmalloc(size);
	struct log_line frame;

	log_line_init(&frame, mem, size);
	if (p->drawn > 0)
		log_line_addf(&frame, "\r\x1b[%zuA", p->drawn);
	if (perm != NULL) {
		log_line_add(&frame, perm, perm_len);
		log_line_addstr(&frame, "\x1b[K\n");
	}
	size_t namew = tty_name_width(p, sz, shown), n = 0;
	for (size_t i = 0; i < p->nitems && n < shown; i++) {
		if (p->items[i]->state != ITEM_ACTIVE)
			continue;
		tty_item_line(&frame, p->items[i], namew, sz, now);
		n++;
	}
	if (shown < active) {
		log_line_addf(&frame, "... and %zu more\x1b[K\n", active - shown);
		n++;
	}
	if (n < p->drawn || perm != NULL)
		log_line_addstr(&frame, "\x1b[J");
	write_line(p, &frame);
	p->drawn = n;
	p->draw_ns = now;
	p->dirty = false;
}

static void tty_event(struct progress *p, const struct progress_item *it, enum item_event ev)
{
	char mem[PROGRESS_LINE_MAX];
	struct log_line l;

	if (ev != EV_DONE && ev != EV_ERROR) {
		tty_draw(p, NULL, 0);
		return;
	}
	log_line_init(&l, mem, sizeof(mem));
	add_name(&l, it);
	log_line_addstr(&l, ": ");
	add_event_text(&l, it, ev);
	if (l.full)
		log_line_value(&l, LOG_ESC_TEXT, "", 0, true, "");
	tty_draw(p, l.data, l.len);
}

static void tty_message(struct progress *p, const char *msg, size_t n, bool cut)
{
	char mem[PROGRESS_LINE_MAX];
	struct log_line l;

	log_line_init(&l, mem, sizeof(mem));
	log_line_value(&l, LOG_ESC_TEXT, msg, n, cut, "");
	tty_draw(p, l.data, l.len);
}

/* ---- dispatch ---- */

static void emit(struct progress *p, struct progress_item *it, enum item_event ev)
{
	uint64_t now = now_ns(p);

	it->report_ns = now;
	it->report_bytes = it->current;
	if (it->total > 0 && percent(it) / 25 > it->quarter)
		it->quarter = percent(it) / 25;
	switch (p->mode) {
	case PROGRESS_TTY: tty_event(p, it, ev); break;
	case PROGRESS_PLAIN: plain_event(p, it, ev); break;
	case PROGRESS_JSON: json_event(p, it, ev); break;
	default: break;
	}
}

/* Plain and JSON report bytes at each new 25% step, and otherwise after an
 * interval when the count moved; tty redraws at most at 10 Hz. */
static void maybe_report(struct progress *p, struct progress_item *it)
{
	uint64_t now = now_ns(p);
	unsigned step = percent(it) / 25;

	if (p->mode == PROGRESS_TTY) {
		p->dirty = true;
		if (now - p->draw_ns >= TTY_REDRAW_NS)
			tty_draw(p, NULL, 0);
		return;
	}
	uint64_t interval = p->mode == PROGRESS_JSON ? JSON_REPORT_NS : PLAIN_REPORT_NS;
	if ((it->total > 0 && step > it->quarter && step < 4) ||
	    (now - it->report_ns >= interval && it->current != it->report_bytes))
		emit(p, it, EV_PROGRESS);
}

struct progress *progress_new(enum progress_mode mode, int fd)
{
	struct progress *p = xcalloc(1, sizeof(*p));

	if (mode == PROGRESS_AUTO) {
		const char *term = getenv("TERM");
		bool tty = isatty(fd) && term != NULL && term[0] != '\0' && !str_eq(term, "dumb");
		mode = tty ? PROGRESS_TTY : PROGRESS_PLAIN;
	}
	p->mode = mode;
	p->fd = fd;
	pthread_mutex_init(&p->lock, NULL);
	progress_set_clock(p, NULL);
	return p;
}

enum progress_mode progress_get_mode(const struct progress *p)
{
	return p != NULL ? p->mode : PROGRESS_QUIET;
}

void progress_set_clock(struct progress *p, const struct progress_clock *clock)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->clock.monotonic_ns =
	        clock != NULL && clock->monotonic_ns ? clock->monotonic_ns : mono_default;
	p->clock.realtime_ns =
	        clock != NULL && clock->realtime_ns ? clock->realtime_ns : real_default;
	p->clock.ctx = clock != NULL ? clock->ctx : NULL;
	p->start_ns = now_ns(p);
	p->draw_ns = p->start_ns;
	pthread_mutex_unlock(&p->lock);
}

static void item_free(struct progress_item *it)
{
	free(it->id);
	free(it->label);
	free(it->status);
	free(it);
}

/* Redraw every TTY_REDRAW_NS of the progress clock while items are live,
 * until progress_free. */
static void *ticker_main(void *arg)
{
	struct progress *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->ticker_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)TTY_REDRAW_NS;
		if (ts.tv_nsec >= (long)NS_PER_S) {
			ts.tv_sec++;
			ts.tv_nsec -= (long)NS_PER_S;
		}
		pthread_cond_timedwait(&p->ticker_cond, &p->lock, &ts);
		if (!p->ticker_stop && count_active(p) > 0 && now_ns(p) - p->draw_ns >= TTY_REDRAW_NS)
			tty_draw(p, NULL, 0);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void progress_show_elapsed(struct progress *p)
{
	if (p == NULL || p->mode != PROGRESS_TTY || p->elapsed)
		return;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->ticker_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&p->lock);
	p->elapsed = true;
	pthread_mutex_unlock(&p->lock);
	if (pthread_create(&p->ticker, NULL, ticker_main, p) != 0)
		p->ticker_stop = true; /* no clock ticks: events still redraw */
}

void progress_free(struct progress *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->elapsed && !p->ticker_stop) {
		p->ticker_stop = true;
		pthread_cond_signal(&p->ticker_cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->ticker, NULL);
		pthread_mutex_lock(&p->lock);
	}
	if (p->elapsed)
		pthread_cond_destroy(&p->ticker_cond);
	if (p->mode == PROGRESS_TTY && p->dirty)
		tty_draw(p, NULL, 0);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < p->nitems; i++)
		item_free(p->items[i]);
	free(p->items);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct progress_item *progress_item_add(struct progress *p, const char *id, const char *label,
                                        uint64_t total)
{
	struct progress_item *it;

	if (p == NULL)
		return NULL;
	it = xcalloc(1, sizeof(*it));
	it->p = p;
	it->id = xstrdup(id != NULL ? id : "");
	it->label = xstrdup(label != NULL ? label : "");
	it->total = total;
	pthread_mutex_lock(&p->lock);
	if (p->nitems == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->items = xreallocarray(p->items, p->cap, sizeof(*p->items));
	}
	p->items[p->nitems++] = it;
	it->start_ns = it->rate_ns = now_ns(p);
	emit(p, it, EV_START);
	pthread_mutex_unlock(&p->lock);
	return it;
}

static void item_set_current(struct progress_item *it, uint64_t current)
{
	if (current < it->current) {
		/* a retry started over: old bytes say nothing about the new rate */
		it->rate_base = current;
		it->rate_ns = now_ns(it->p);
		it->quarter = 0;
		it->report_bytes = current;
	}
	it->current = current;
	maybe_report(it->p, it);
}

void progress_item_update(struct progress_item *it, uint64_t current)
{
	if (it == NULL)
		return;
	pthread_mutex_lock(&it->p->lock);
	if (it->state == ITEM_ACTIVE)
		item_set_current(it, current);
	pthread_mutex_unlock(&it->p->lock);
}

void progress_item_advance(struct progress_item *it, uint64_t delta)
{
	if (it == NULL)
		return;
	pthread_mutex_lock(&it->p->lock);
	if (it->state == ITEM_ACTIVE)
		item_set_current(it, it->current > UINT64_MAX - delta ? UINT64_MAX
		                                                      : it->current + delta);
	pthread_mutex_unlock(&it->p->lock);
}

void progress_item_set_total(struct progress_item *it, uint64_t total)
{
	if (it == NULL)
		return;
	pthread_mutex_lock(&it->p->lock);
	if (it->state == ITEM_ACTIVE) {
		it->total = total;
		/* steps already passed under the new total are not news */
		it->quarter = percent(it) / 25;
		if (it->p->mode == PROGRESS_TTY)
			maybe_report(it->p, it);
	}
	pthread_mutex_unlock(&it->p->lock);
}

/* Replace the status text, move to state and report ev. */
static void item_set_status(struct progress_item *it, enum item_event ev, enum item_state state,
                            const char *text)
{
	struct progress *p = it->p;

	pthread_mutex_lock(&p->lock);
	if (it->state == ITEM_ACTIVE) {
		free(it->status);
		it->status = xstrdup(text);
		it->state = state;
		if (state != ITEM_ACTIVE)
			it->end_ns = now_ns(p);
		emit(p, it, ev);
	}
	pthread_mutex_unlock(&p->lock);
}

void progress_item_status(struct progress_item *it, const char *status)
{
	if (it == NULL)
		return;
	if (status != NULL) {
		item_set_status(it, EV_STATUS, ITEM_ACTIVE, status);
		return;
	}
	/* back to plain transfer: only the tty line shows a difference */
	pthread_mutex_lock(&it->p->lock);
	if (it->state == ITEM_ACTIVE) {
		free(it->status);
		it->status = NULL;
		if (it->p->mode == PROGRESS_TTY)
			tty_draw(it->p, NULL, 0);
	}
	pthread_mutex_unlock(&it->p->lock);
}

void progress_item_done(struct progress_item *it, const char *status)
{
	if (it == NULL)
		return;
	item_set_status(it, EV_DONE, ITEM_DONE, status != NULL ? status : "done");
}

void progress_item_fail(struct progress_item *it, const char *reason)
{
	if (it == NULL)
		return;
	item_set_status(it, EV_ERROR, ITEM_FAILED, reason != NULL ? reason : "unknown error");
}

void progress_message(struct progress *p, const char *fmt, ...)
{
	char msg[PROGRESS_LINE_MAX];
	va_list ap;

	if (p == NULL || p->mode == PROGRESS_QUIET)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n;
	bool cut = len >= sizeof(msg);
	if (cut)
		len = sizeof(msg) - 1;
	if (n < 0)
		msg[0] = '\0';
	pthread_mutex_lock(&p->lock);
	if (p->mode == PROGRESS_TTY)
		tty_message(p, msg, len, cut);
	else if (p->mode == PROGRESS_PLAIN)
		plain_message(p, msg, len, cut);
	else if (p->mode == PROGRESS_JSON)
		json_message(p, msg, len, cut);
	pthread_mutex_unlock(&p->lock);
}
