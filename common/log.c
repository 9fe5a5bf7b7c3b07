#include "config.h"

#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "common/limits.h"
#include "common/log-internal.h"
#include "common/util.h"

enum log_level log_threshold = LOG_LEVEL_WARN;

/* Settings may change while other threads log (a registry reloading its
 * config), so they are read and written atomically. */
static int log_fd = STDERR_FILENO;
static int log_fmt = LOG_FORMAT_TEXT;
static int64_t (*log_clock)(void);

/* ---- levels, formats, settings ---- */

static const char *const level_names[] = {
        [LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARN] = "warn",   [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug", [LOG_LEVEL_TRACE] = "trace",
};

static const char *const format_names[] = {
        [LOG_FORMAT_TEXT] = "text",
        [LOG_FORMAT_LOGFMT] = "logfmt",
        [LOG_FORMAT_JSON] = "json",
};

int log_level_parse(const char *s, enum log_level *out, struct err **err)
{
	for (size_t i = 0; s != NULL && i < ARRAY_SIZE(level_names); i++) {
		if (str_eq_nocase(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (s != NULL && str_eq_nocase(s, "warning")) {
		*out = LOG_LEVEL_WARN;
		return 0;
	}
	return err_set(err, ERR_INVALID,
	               "unknown log level '%s' (expected error, warn, info, debug or trace)",
	               s != NULL ? s : "");
}

const char *log_level_name(enum log_level level)
{
	if ((size_t)level < ARRAY_SIZE(level_names))
		return level_names[level];
	return "unknown";
}

int log_format_parse(const char *s, enum log_format *out, struct err **err)
{
	for (size_t i = 0; s != NULL && i < ARRAY_SIZE(format_names); i++) {
		if (str_eq_nocase(s, format_names[i])) {
			*out = (enum log_format)i;
			return 0;
		}
	}
	return err_set(err, ERR_INVALID, "unknown log format '%s' (expected text, logfmt or json)",
	               s != NULL ? s : "");
}

const char *log_format_name(enum log_format format)
{
	if ((size_t)format < ARRAY_SIZE(format_names))
		return format_names[format];
	return "unknown";
}

void log_set_level(enum log_level level)
{
	__atomic_store_n(&log_threshold, level, __ATOMIC_RELAXED);
}

void log_set_format(enum log_format format)
{
	__atomic_store_n(&log_fmt, (int)format, __ATOMIC_RELAXED);
}

void log_set_fd(int fd)
{
	__atomic_store_n(&log_fd, fd, __ATOMIC_RELAXED);
}

int log_init_from_env(struct err **err)
{
	const char *v = getenv("BALE_LOG");
	enum log_level level;

	/* An empty variable is how shells unset things in one command. */
	if (v == NULL || v[0] == '\0')
		return 0;
	int rc = log_level_parse(v, &level, err);
	if (rc < 0)
		return rc;
	log_set_level(level);
	return 0;
}

void log_set_clock(int64_t (*now_ns)(void))
{
	__atomic_store_n(&log_clock, now_ns, __ATOMIC_RELAXED);
}

int64_t log_now_ns(void)
{
	int64_t (*clock)(void) = __atomic_load_n(&log_clock, __ATOMIC_RELAXED);
	struct timespec ts;

	if (clock != NULL)
		return clock();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void log_format_time(int64_t unix_ns, char out[LOG_TIME_SIZE])
{
	/* Floor division keeps times before 1970 well-formed. */
	int64_t sec = unix_ns / 1000000000, ns = unix_ns % 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		/* RFC 3339 has four-digit years only */
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = 70;
		tm.tm_mday = 1;
		ns = 0;
	}
	snprintf(out, LOG_TIME_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ns / 1000000));
}

/* ---- the line writer ---- */

void log_line_init(struct log_line *l, char *mem, size_t size)
{
	l->data = mem;
	l->len = 0;
	l->size = size;
	l->full = false;
	l->marked = false;
	mem[0] = '\0';
}

static size_t line_room(const struct log_line *l)
{
	size_t limit = l->size - LOG_LINE_TAIL;
	return l->full || l->len >= limit ? 0 : limit - l->len;
}

bool log_line_add(struct log_line *l, const char *s, size_t n)
{
	if (n > line_room(l)) {
		l->full = true;
		return false;
	}
	memcpy(l->data + l->len, s, n);
	l->len += n;
	l->data[l->len] = '\0';
	return true;
}

bool log_line_addstr(struct log_line *l, const char *s)
{
	return log_line_add(l, s, strlen(s));
}

bool log_line_addf(struct log_line *l, const char *fmt, ...)
{
	size_t room = line_room(l);
	va_list ap;

	va_start(ap, fmt);
	/* +1: vsnprintf needs the NUL inside what it may write. */
	int n = vsnprintf(l->data + l->len, room + 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > room) {
		l->data[l->len] = '\0';
		l->full = true;
		return false;
	}
	l->len += (size_t)n;
	return true;
}

/* Bytes that can be cut anywhere (plain ASCII): copy what fits. */
static void line_add_some(struct log_line *l, const char *s, size_t n)
{
	size_t room = line_room(l);
	if (n > room) {
		log_line_add(l, s, room);
		l->full = true;
		return;
	}
	log_line_add(l, s, n);
}

void log_line_tail(struct log_line *l, const char *s)
{
	size_t n = strlen(s);
	if (n > l->size - 1 - l->len)
		n = l->size - 1 - l->len;
	memcpy(l->data + l->len, s, n);
	l->len += n;
	l->data[l->len] = '\0';
}

/* ---- escaping ---- */

int log_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return -1;
	}
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n || s[i] < lo || s[i] > hi)
			return -i;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

static bool ascii_plain(enum log_escape mode, unsigned char c)
{
	if (c < 0x20 || c == 0x7f)
		return false;
	return mode == LOG_ESC_TEXT || (c != '"' && c != '\\');
}

static void escape_ascii(struct log_line *l, unsigned char c)
{
	char u[8];
	switch (c) {
	case '"': log_line_add(l, "\\\"", 2); return;
	case '\\': log_line_add(l, "\\\\", 2); return;
	case '\n': log_line_add(l, "\\n", 2); return;
	case '\r': log_line_add(l, "\\r", 2); return;
	case '\t': log_line_add(l, "\\t", 2); return;
	}
	snprintf(u, sizeof(u), "\\u%04x", c);
	log_line_add(l, u, 6);
}

void log_line_escape(struct log_line *l, enum log_escape mode, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n && !l->full) {
		size_t run = i;
		while (run < n && u[run] < 0x80 && ascii_plain(mode, u[run]))
			run++;
		if (run > i) {
			line_add_some(l, s + i, run - i);
			i = run;
			continue;
		}
		int len = log_utf8_seq(u + i, n - i);
		if (len < 0) {
			log_line_add(l, "\xef\xbf\xbd", 3);
			i += (size_t)-len;
		} else if (len == 1) {
			escape_ascii(l, u[i]);
			i++;
		} else if (len == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0) {
			/* C1 controls: 8-bit CSI (U+009B) moves a terminal cursor too */
			escape_ascii(l, u[i + 1]);
			i += 2;
		} else {
			log_line_add(l, s + i, (size_t)len);
			i += (size_t)len;
		}
	}
}

void log_line_value(struct log_line *l, enum log_escape mode, const char *s, size_t n, bool cut,
                    const char *close)
{
	log_line_escape(l, mode, s, n);
	if (!l->full && !cut && log_line_addstr(l, close))
		return;
	l->full = true;
	if (l->marked)
		return;
	log_line_tail(l, "...");
	log_line_tail(l, close);
	l->marked = true;
}

void log_line_json_member(struct log_line *l, bool first, const char *key, const char *value)
{
	size_t mark = l->len;

	if (l->full)
		return;
	log_line_add(l, first ? "\"" : ",\"", first ? 1 : 2);
	log_line_escape(l, LOG_ESC_QUOTED, key, strlen(key));
	log_line_add(l, "\":\"", 3);
	if (l->full) {
		l->len = mark;
		l->data[mark] = '\0';
		return;
	}
	if (value == NULL)
		value = "";
	log_line_value(l, LOG_ESC_QUOTED, value, strlen(value), false, "\"");
}

bool log_logfmt_needs_quote(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n == 0)
		return true;
	for (size_t i = 0; i < n;) {
		if (u[i] <= ' ' || u[i] == '=' || u[i] == '"' || u[i] == 0x7f)
			return true;
		int len = log_utf8_seq(u + i, n - i);
		if (len < 0 || (len == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0))
			return true;
		i += (size_t)len;
	}
	return false;
}

/* ---- the three formats ---- */

struct log_event_text {
	enum log_level level;
	const char *msg;
	size_t msg_len;
	bool msg_cut; /* vsnprintf shortened the message */
	const struct log_field *fields;
	size_t nfields;
};

/* A logfmt key: bytes that would break the pair become '_'. */
static void logfmt_key(struct log_line *l, const char *key)
{
	char c;
	if (key == NULL || key[0] == '\0')
		key = "_";
	for (; *key != '\0' && !l->full; key++) {
		unsigned char u = (unsigned char)*key;
		c = (u <= ' ' || u == '=' || u == '"' || u >= 0x7f) ? '_' : *key;
		log_line_add(l, &c, 1);
	}
}

/* The message value (always after a fixed prefix that fits). */
static void logfmt_value(struct log_line *l, const char *v, size_t n, bool cut)
{
	if (!log_logfmt_needs_quote(v, n)) {
		log_line_value(l, LOG_ESC_TEXT, v, n, cut, "");
		return;
	}
	log_line_add(l, "\"", 1);
	log_line_value(l, LOG_ESC_QUOTED, v, n, cut, "\"");
}

/* ` key=value`; a pair whose key does not fit is left out whole. */
static void logfmt_pair(struct log_line *l, const char *key, const char *value)
{
	size_t mark = l->len;
	if (l->full)
		return;
	log_line_add(l, " ", 1);
	logfmt_key(l, key);
	log_line_add(l, "=", 1);
	if (value == NULL)
		value = "";
	size_t n = strlen(value);
	bool quote = log_logfmt_needs_quote(value, n);
	if (quote)
		log_line_add(l, "\"", 1);
	if (l->full) {
		l->len = mark;
		l->data[mark] = '\0';
		return;
	}
	if (quote)
		log_line_value(l, LOG_ESC_QUOTED, value, n, false, "\"");
	else
		log_line_value(l, LOG_ESC_TEXT, value, n, false, "");
}

/* A line cut between pairs gets a bare "..." so readers see it was cut. */
static void logfmt_finish(struct log_line *l)
{
	if (l->full && !l->marked)
		log_line_tail(l, " ...");
	log_line_tail(l, "\n");
}

static void format_text(struct log_line *l, const struct log_event_text *ev)
{
	const char *word = ev->level == LOG_LEVEL_WARN ? "warning" : log_level_name(ev->level);
	log_line_addf(l, "bale: %s: ", word);
	log_line_value(l, LOG_ESC_TEXT, ev->msg, ev->msg_len, ev->msg_cut, "");
	for (size_t i = 0; i < ev->nfields; i++)
		logfmt_pair(l, ev->fields[i].key, ev->fields[i].value);
	logfmt_finish(l);
}

static void format_logfmt(struct log_line *l, const struct log_event_text *ev, const char *when)
{
	log_line_addf(l, "time=%s level=%s msg=", when, log_level_name(ev->level));
	logfmt_value(l, ev->msg, ev->msg_len, ev->msg_cut);
	for (size_t i = 0; i < ev->nfields; i++)
		logfmt_pair(l, ev->fields[i].key, ev->fields[i].value);
	logfmt_finish(l);
}

static void format_json(struct log_line *l, const struct log_event_text *ev, const char *when)
{
	log_line_addf(l, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", when,
	              log_level_name(ev->level));
	log_line_value(l, LOG_ESC_QUOTED, ev->msg, ev->msg_len, ev->msg_cut, "\"");
	for (size_t i = 0; i < ev->nfields; i++)
		log_line_json_member(l, false, ev->fields[i].key, ev->fields[i].value);
	log_line_tail(l, "}\n");
}

static void log_emit(const struct log_event_text *ev)
{
	char mem[BALE_MAX_LOG_LINE];
	char when[LOG_TIME_SIZE];
	struct log_line l;
	int fmt = __atomic_load_n(&log_fmt, __ATOMIC_RELAXED);

	log_line_init(&l, mem, sizeof(mem));
	if (fmt != LOG_FORMAT_TEXT)
		log_format_time(log_now_ns(), when);
	if (fmt == LOG_FORMAT_JSON)
		format_json(&l, ev, when);
	else if (fmt == LOG_FORMAT_LOGFMT)
		format_logfmt(&l, ev, when);
	else
		format_text(&l, ev);
	/* Nowhere to report a failed log write; the caller's errno is kept. */
	(void)write_all(__atomic_load_n(&log_fd, __ATOMIC_RELAXED), mem, l.len);
}

void log_event(enum log_level level, const struct log_field *fields, size_t nfields,
               const char *fmt, ...)
{
	char msg[BALE_MAX_LOG_LINE];
	int saved = errno;
	va_list ap;

	if (level > __atomic_load_n(&log_threshold, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';

	struct log_event_text ev = {
	        .level = level,
	        .msg = msg,
	        .msg_len = n < 0 ? 0 : (size_t)n,
	        .fields = fields,
	        .nfields = fields != NULL ? nfields : 0,
	};
	if (ev.msg_len >= sizeof(msg)) {
		ev.msg_len = sizeof(msg) - 1;
		ev.msg_cut = true;
	}
	log_emit(&ev);
	errno = saved;
}
