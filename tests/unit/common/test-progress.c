#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/progress.h"
#include "common/util.h"
#include "tests/tap.h"

/* 2026-11-29T07:28:09.123Z */
#define FIXED_NS INT64_C(1795937289123000000)
/* The monotonic clock starts far from 0, as a real one does. */
#define MONO_BASE UINT64_C(86400000000000)
#define MiB       (UINT64_C(1) << 20)

struct fake_clock {
	uint64_t mono;
};

static uint64_t fake_mono(void *ctx)
{
	return __atomic_load_n(&((struct fake_clock *)ctx)->mono, __ATOMIC_SEQ_CST);
}

static int64_t fake_real(void *ctx)
{
	return FIXED_NS + (int64_t)(fake_mono(ctx) - MONO_BASE);
}

static struct fake_clock clk;

static void at_ms(uint64_t ms)
{
	__atomic_store_n(&clk.mono, MONO_BASE + ms * 1000000, __ATOMIC_SEQ_CST);
}

static int out_fd = -1;

static struct progress *start(enum progress_mode mode)
{
	struct progress_clock c = {fake_mono, fake_real, &clk};
	at_ms(0);
	struct progress *p = progress_new(mode, out_fd);
	progress_set_clock(p, &c);
	return p;
}

/* Everything written since the last call (the caller frees). */
static char *drain(void)
{
	off_t end = lseek(out_fd, 0, SEEK_END);
	char *s = xmalloc((size_t)end + 1);
	ssize_t n = pread(out_fd, s, (size_t)end, 0);
	s[n < 0 ? 0 : n] = '\0';
	if (ftruncate(out_fd, 0) < 0)
		abort();
	return s;
}

static void expect(const char *want, const char *what)
{
	char *got = drain();
	is_str(got, want, "%s", what);
	free(got);
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void test_format(void)
{
	char b[PROGRESS_FMT_SIZE];
	static const struct {
		uint64_t n;
		const char *want;
	} bytes[] = {
	        {0, "0 B"},
	        {532, "532 B"},
	        {1023, "1023 B"},
	        {1024, "1.0 KiB"},
	        {1536, "1.5 KiB"},
	        {1075, "1.0 KiB"},
	        {1076, "1.1 KiB"},
	        {1048575, "1.0 MiB"},
	        {3 * MiB / 2, "1.5 MiB"},
	        {40 * MiB, "40.0 MiB"},
	        {1000000000, "953.7 MiB"},
	        {UINT64_C(2469606195), "2.3 GiB"},
	        {UINT64_C(1) << 40, "1.0 TiB"},
	        {UINT64_MAX, "16.0 EiB"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bytes); i++)
		is_str(progress_format_bytes(bytes[i].n, b, sizeof(b)), bytes[i].want,
		       "%" PRIu64 " bytes", bytes[i].n);
	char small[4];
	is_str(progress_format_bytes(3 * MiB / 2, small, sizeof(small)), "1.5",
	       "a small buffer is cut and terminated");

	static const struct {
		uint64_t ms;
		const char *want;
	} durations[] = {
	        {0, "0.0s"},         {400, "0.4s"},      {9890, "9.8s"},
	        {10000, "10s"},      {42999, "42s"},     {65000, "1m05s"},
	        {3599000, "59m59s"}, {3780000, "1h03m"}, {360000000, "100h00m"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(durations); i++)
		is_str(progress_format_duration(durations[i].ms * 1000000, b, sizeof(b)),
		       durations[i].want, "%" PRIu64 " ms", durations[i].ms);
}

static void test_mode_parse(void)
{
	static const char *const names[] = {"auto", "tty", "plain", "json", "quiet"};
	enum progress_mode m = PROGRESS_AUTO;
	struct err *err = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		ok(progress_mode_parse(names[i], &m, NULL) == 0 && m == (enum progress_mode)i,
		   "mode '%s' parses", names[i]);
		is_str(progress_mode_name(m), names[i], "and names back");
	}
	ok(progress_mode_parse("JSON", &m, NULL) == 0 && m == PROGRESS_JSON, "case-insensitive");
	m = PROGRESS_TTY;
	is_int(progress_mode_parse("fancy", &m, &err), ERR_INVALID, "an unknown mode is invalid");
	like(err_msg(err), "unknown progress mode 'fancy'", "the message quotes it");
	like(err_msg(err), "auto, tty, plain, json or quiet", "and lists the valid values");
	is_int(m, PROGRESS_TTY, "the output is untouched on error");
	err_freep(&err);
	is_int(progress_mode_parse(NULL, &m, NULL), ERR_INVALID, "NULL is invalid");
}

static void test_auto(void)
{
	struct progress *p = progress_new(PROGRESS_AUTO, out_fd);
	is_int(progress_get_mode(p), PROGRESS_PLAIN, "auto on a file is plain");
	progress_free(p);

	int master = posix_openpt(O_RDWR | O_NOCTTY);
	char name[128];
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, name, sizeof(name)) != 0) {
		ok(1, "# SKIP no pty: %s", strerror(errno));
		return;
	}
	int pty = open(name, O_RDWR | O_NOCTTY);
	const char *term = getenv("TERM");
	char *saved = term != NULL ? xstrdup(term) : NULL;
	setenv("TERM", "xterm-256color", 1);
	p = progress_new(PROGRESS_AUTO, pty);
	is_int(progress_get_mode(p), PROGRESS_TTY, "auto on a terminal is tty");
	progress_free(p);
	setenv("TERM", "dumb", 1);
	p = progress_new(PROGRESS_AUTO, pty);
	is_int(progress_get_mode(p), PROGRESS_PLAIN, "auto with TERM=dumb is plain");
	progress_free(p);
	unsetenv("TERM");
	p = progress_new(PROGRESS_AUTO, pty);
	is_int(progress_get_mode(p), PROGRESS_PLAIN, "auto without TERM is plain");
	progress_free(p);
	p = progress_new(PROGRESS_JSON, pty);
	is_int(progress_get_mode(p), PROGRESS_JSON, "an explicit mode is kept on a terminal");
	progress_free(p);
	if (saved != NULL)
		setenv("TERM", saved, 1);
	free(saved);
	close(pty);
	close(master);
}

static void test_plain(void)
{
	struct progress *p = start(PROGRESS_PLAIN);
	struct progress_item *it = progress_item_add(p, "3f2a9c1b", "layer", 40 * MiB);
	expect("[  0.0s] 3f2a9c1b layer: started (40.0 MiB)\n", "plain start with a total");
	at_ms(500);
	progress_item_update(it, 1 * MiB);
	expect("", "no line below 25% within 5 s");
	at_ms(1000);
	progress_item_update(it, 10 * MiB);
	expect("[  1.0s] 3f2a9c1b layer: 10.0 MiB / 40.0 MiB (25%)\n", "a line at 25%");
	at_ms(1200);
	progress_item_update(it, 11 * MiB);
	expect("", "nothing between steps");
	at_ms(1500);
	progress_item_update(it, 30 * MiB);
	expect("[  1.5s] 3f2a9c1b layer: 30.0 MiB / 40.0 MiB (75%)\n",
	       "one line when 2 steps pass");
	at_ms(2000);
	progress_item_update(it, 40 * MiB);
	expect("", "100% waits for done");
	at_ms(2100);
	progress_item_done(it, "pushed");
	expect("[  2.1s] 3f2a9c1b layer: pushed (40.0 MiB in 2.1s)\n", "done with size and time");
	progress_item_update(it, 50 * MiB);
	progress_item_done(it, "again");
	progress_item_fail(it, "late");
	expect("", "a finished item ignores later calls");

	struct progress_item *cfg = progress_item_add(p, NULL, "config", 0);
	expect("[  2.1s] config: started\n", "plain start, no id, unknown total");
	at_ms(3000);
	progress_item_update(cfg, 1024);
	expect("", "unknown total: quiet for 5 s");
	at_ms(7100);
	progress_item_update(cfg, 2048);
	expect("[  7.1s] config: 2.0 KiB\n", "then a line");
	at_ms(12100);
	progress_item_update(cfg, 2048);
	expect("", "no line when the count did not move");
	at_ms(12200);
	progress_item_update(cfg, 4096);
	expect("[ 12.2s] config: 4.0 KiB\n", "a line after 5 s with new bytes");
	at_ms(12300);
	progress_item_status(cfg, "verifying");
	expect("[ 12.3s] config: verifying\n", "a custom status");
	at_ms(12500);
	progress_item_fail(cfg, "connection reset");
	expect("[ 12.5s] config: failed: connection reset\n", "failure with reason");

	struct progress_item *ex = progress_item_add(p, "abc", "blob", 100);
	progress_item_done(ex, "exists");
	expect("[ 12.5s] abc blob: started (100 B)\n[ 12.5s] abc blob: exists\n",
	       "a skipped item shows no size");
	struct progress_item *d = progress_item_add(p, "d", "", 0);
	progress_item_done(d, NULL);
	expect("[ 12.5s] d: started\n[ 12.5s] d: done\n", "done(NULL) says done");

	struct progress_item *r = progress_item_add(p, "r", "retry", 100);
	progress_item_update(r, 60);
	progress_item_update(r, 10);
	progress_item_update(r, 30);
	expect("[ 12.5s] r retry: started (100 B)\n[ 12.5s] r retry: 60 B / 100 B (60%)\n"
	       "[ 12.5s] r retry: 30 B / 100 B (30%)\n",
	       "a retry restarts the 25% steps");
	progress_item_set_total(r, 1000);
	progress_item_update(r, 200);
	expect("", "a new total does not repeat steps already passed");
	progress_item_advance(r, 60);
	expect("[ 12.5s] r retry: 260 B / 1000 B (26%)\n", "advance adds bytes");

	progress_message(p, "digest: %s", "sha256:abc");
	expect("[ 12.5s] digest: sha256:abc\n", "a message");
	struct progress_item *e = progress_item_add(p, "e", "x\n\x1b[2J", 0);
	progress_item_fail(e, "bad\r\nline");
	expect("[ 12.5s] e x\\n\\u001b[2J: started\n[ 12.5s] e x\\n\\u001b[2J: failed: "
	       "bad\\r\\nline\n",
	       "labels and reasons cannot inject lines or escapes");
	at_ms(1000000);
	progress_message(p, "late");
	expect("[1000.0s] late\n", "elapsed grows past the column");
	progress_free(p);
	expect("", "plain free adds nothing");
}

static void test_json(void)
{
	struct progress *p = start(PROGRESS_JSON);
	struct progress_item *it = progress_item_add(p, "3f2a9c1b", "layer", 40 * MiB);
	expect("{\"time\":\"2026-11-29T07:28:09.123Z\",\"id\":\"3f2a9c1b\",\"label\":\"layer\","
	       "\"event\":\"start\",\"current\":0,\"total\":41943040}\n",
	       "json start");
	at_ms(300);
	progress_item_update(it, 1 * MiB);
	expect("", "no event within a second below 25%");
	at_ms(1300);
	progress_item_update(it, 2 * MiB);
	expect("{\"time\":\"2026-11-29T07:28:10.423Z\",\"id\":\"3f2a9c1b\",\"label\":\"layer\","
	       "\"event\":\"progress\",\"current\":2097152,\"total\":41943040}\n",
	       "a progress event after a second");
	at_ms(1400);
	progress_item_update(it, 10 * MiB);
	expect("{\"time\":\"2026-11-29T07:28:10.523Z\",\"id\":\"3f2a9c1b\",\"label\":\"layer\","
	       "\"event\":\"progress\",\"current\":10485760,\"total\":41943040}\n",
	       "and at 25%");
	at_ms(1500);
	progress_item_update(it, 11 * MiB);
	expect("", "throttled");
	at_ms(2000);
	progress_item_done(it, "pushed");
	expect("{\"time\":\"2026-11-29T07:28:11.123Z\",\"id\":\"3f2a9c1b\",\"label\":\"layer\","
	       "\"event\":\"done\",\"current\":11534336,\"total\":41943040,\"status\":\"pushed\"}"
	       "\n",
	       "json done");

	struct progress_item *b = progress_item_add(p, NULL, "cfg\n", 0);
	progress_item_status(b, "verifying");
	progress_item_fail(b, "boom \"x\"");
	expect("{\"time\":\"2026-11-29T07:28:11.123Z\",\"id\":\"\",\"label\":\"cfg\\n\",\"event\":"
	       "\"start\",\"current\":0,\"total\":0}\n"
	       "{\"time\":\"2026-11-29T07:28:11.123Z\",\"id\":\"\",\"label\":\"cfg\\n\",\"event\":"
	       "\"status\",\"current\":0,\"total\":0,\"status\":\"verifying\"}\n"
	       "{\"time\":\"2026-11-29T07:28:11.123Z\",\"id\":\"\",\"label\":\"cfg\\n\",\"event\":"
	       "\"error\",\"current\":0,\"total\":0,\"error\":\"boom \\\"x\\\"\"}\n",
	       "json status and error, escaped");
	progress_message(p, "digest %s", "sha256:abc\xff");
	char *got = drain();
	is_str(got,
	       "{\"time\":\"2026-11-29T07:28:11.123Z\",\"event\":\"message\","
	       "\"message\":\"digest sha256:abc\xef\xbf\xbd\"}\n",
	       "json message");
	json_t *j = json_loads(got, 0, NULL);
	ok(j != NULL, "parses as JSON");
	json_decref(j);
	free(got);
	progress_free(p);
	expect("", "json free adds nothing");
}

#define ERASE "\x1b[K\n"

static void test_tty(void)
{
	unsetenv("COLUMNS");
	unsetenv("LINES");
	struct progress *p = start(PROGRESS_TTY);
	struct progress_item *it = progress_item_add(p, "3f2a9c1b", "layer", 40 * MiB);
	expect("3f2a9c1b layer [               ] 0 B/40.0 MiB" ERASE, "tty first frame");
	at_ms(50);
	progress_item_update(it, 1 * MiB);
	expect("", "redraws are throttled to 10 Hz");
	at_ms(100);
	progress_item_update(it, 3 * MiB);
	expect("\r\x1b[1A3f2a9c1b layer [=>             ] 3.0 MiB/40.0 MiB" ERASE,
	       "redrawn in place after 100 ms; no rate before half a second");
	at_ms(1000);
	progress_item_update(it, 20 * MiB);
	expect("\r\x1b[1A3f2a9c1b layer [=======>       ] 20.0 MiB/40.0 MiB  20.0 MiB/s  ETA "
	       "1.0s" ERASE,
	       "bar, rate and ETA");
	struct progress_item *b = progress_item_add(p, "", "config", 0);
	expect("\r\x1b[1A3f2a9c1b layer [=======>       ] 20.0 MiB/40.0 MiB  20.0 MiB/s  ETA "
	       "1.0s" ERASE "config         "
	       "                  "
	       "0 B" ERASE,
	       "a new item adds a line; names align");
	at_ms(1200);
	progress_item_done(it, "pushed");
	expect("\r\x1b[2A3f2a9c1b layer: pushed (20.0 MiB in 1.2s)" ERASE "config"
	       "                  "
	       " 0 B" ERASE "\x1b[J",
	       "a finished item is printed once above the live lines");
	progress_message(p, "step %d/%d: RUN make", 2, 3);
	expect("\r\x1b[1Astep 2/3: RUN make" ERASE "config"
	       "                  "
	       " 0 B" ERASE "\x1b[J",
	       "a message goes above the live lines too");
	at_ms(1250);
	progress_item_status(b, "waiting");
	expect("\r\x1b[1Aconfig"
	       "                  "
	       " 0 B  waiting" ERASE,
	       "a status shows in place of the rate");
	at_ms(1300);
	progress_item_update(b, 5);
	expect("", "throttled");
	at_ms(1400);
	progress_item_status(b, NULL);
	expect("\r\x1b[1Aconfig"
	       "                  "
	       " 5 B" ERASE,
	       "clearing the status redraws without it");
	progress_item_status(b, "waiting");
	free(drain());
	progress_item_update(b, 6);
	progress_free(p);
	expect("\r\x1b[1Aconfig"
	       "                  "
	       " 6 B  waiting" ERASE,
	       "free draws the final state");
}

/* Poll (real time) until the ticker thread has drawn something. */
static char *drain_wait(void)
{
	for (int i = 0; i < 200; i++) {
		if (lseek(out_fd, 0, SEEK_END) > 0)
			break;
		usleep(10000);
	}
	return drain();
}

static void test_tty_elapsed(void)
{
	unsetenv("COLUMNS");
	unsetenv("LINES");
	struct progress *p = start(PROGRESS_TTY);
	progress_show_elapsed(p);
	struct progress_item *it = progress_item_add(p, "#3", "[build 2/4] RUN make", 0);
	expect("#3 [build 2/4] RUN make 0.0s" ERASE, "a step's live line shows its running time");
	progress_item_status(it, "running");
	expect("\r\x1b[1A#3 [build 2/4] RUN make running  0.0s" ERASE, "  after its status");
	at_ms(3250);
	char *got = drain_wait();
	is_str(got, "\r\x1b[1A#3 [build 2/4] RUN make running  3.2s" ERASE,
	       "the clock moves with no event: redrawn by the ticker");
	free(got);
	at_ms(3300);
	usleep(300000);
	expect("", "  still throttled to 10 Hz of the progress clock");
	struct progress_item *layer = progress_item_add(p, "3f2a9c1b", "layer", 40 * MiB);
	got = drain();
	like(got, "3f2a9c1b layer        [               ] 0 B/40.0 MiB",
	     "an item with bytes keeps its bar");
	free(got);
	progress_item_done(layer, "pushed");
	progress_item_done(it, "DONE 3.3s");
	free(drain());
	at_ms(9000);
	usleep(300000);
	expect("", "no live items: the ticker draws nothing");
	progress_free(p);
}

static void test_tty_many(void)
{
	setenv("LINES", "10", 1);
	struct progress *p = start(PROGRESS_TTY);
	struct progress_item *items[30];
	char id[16];
	for (int i = 0; i < 30; i++) {
		snprintf(id, sizeof(id), "item%02d", i);
		items[i] = progress_item_add(p, id, "layer", 1000);
	}
	char *got = drain();
	const char *last = strstr(got, "\r\x1b[9A");
	ok(last != NULL, "the live region stops growing at LINES - 1");
	if (last != NULL) {
		for (const char *q; (q = strstr(last + 1, "\r\x1b[")) != NULL;)
			last = q;
		ok(count(last, ERASE) == 9, "the last frame has 9 lines");
		like(last, "... and 22 more" ERASE, "and says how many are not shown");
		like(last, "item07", "the first 8 are shown");
		ok(strstr(last, "item08") == NULL, "the 9th is not");
	}
	free(got);
	for (int i = 0; i < 25; i++)
		progress_item_done(items[i], "ok");
	got = drain();
	const char *tail = strrchr(got, '\r');
	ok(tail != NULL && count(tail, ERASE) == 6 && strstr(tail, "more") == NULL,
	   "once few enough remain, all are shown");
	free(got);
	unsetenv("LINES");

	setenv("COLUMNS", "60", 1);
	struct progress_item *w = progress_item_add(p, "sha256:0123456789abcdef0123456789abcdef",
	                                            "a-very-long-label-that-does-not-fit", 10);
	got = drain();
	like(got, "sha256:012345678... 0 B/10 B",
	     "a long name is cut with ..., no bar below 80 columns");
	bool fits = true;
	for (char *line = got, *nl; (nl = strstr(line, ERASE)) != NULL; line = nl + 4) {
		*nl = '\0';
		char *text = strrchr(line, 'A');
		text = line[0] == '\r' && text != NULL ? text + 1 : line;
		fits = fits && strlen(text) <= 59;
	}
	ok(fits, "no line is wider than COLUMNS - 1");
	free(got);
	progress_item_done(w, "ok");
	unsetenv("COLUMNS");
	progress_free(p);
	free(drain());
}

static void test_quiet_and_null(void)
{
	struct progress *p = start(PROGRESS_QUIET);
	struct progress_item *it = progress_item_add(p, "a", "b", 10);
	ok(it != NULL, "quiet still hands out items");
	progress_item_update(it, 5);
	progress_item_status(it, "x");
	progress_item_done(it, "ok");
	progress_message(p, "hello");
	progress_free(p);
	expect("", "quiet writes nothing");

	ok(progress_item_add(NULL, "a", "b", 1) == NULL, "no progress: no item");
	progress_item_update(NULL, 1);
	progress_item_advance(NULL, 1);
	progress_item_set_total(NULL, 1);
	progress_item_status(NULL, "x");
	progress_item_done(NULL, NULL);
	progress_item_fail(NULL, NULL);
	progress_message(NULL, "x");
	progress_set_clock(NULL, NULL);
	progress_free(NULL);
	is_int(progress_get_mode(NULL), PROGRESS_QUIET, "NULL everywhere is a no-op");
}

#define THREADS          4
#define ITEMS_PER_THREAD 3
#define UPDATES          3000

struct worker {
	struct progress *p;
	int n;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char id[32];
	for (int k = 0; k < ITEMS_PER_THREAD; k++) {
		snprintf(id, sizeof(id), "w%d-%d", w->n, k);
		struct progress_item *it = progress_item_add(w->p, id, "blob", UPDATES * 100);
		for (uint64_t i = 1; i <= UPDATES; i++) {
			__atomic_add_fetch(&clk.mono, 1000000, __ATOMIC_SEQ_CST);
			if (i % 2)
				progress_item_update(it, i * 100);
			else
				progress_item_advance(it, 100);
		}
		progress_item_done(it, "pushed");
	}
	return NULL;
}

static char *run_workers(enum progress_mode mode)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	struct progress *p = start(mode);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){p, i};
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	progress_free(p);
	return drain();
}

/* Lines of item w<i>-<k> that end in "(<pct>%)". */
static int item_line_count(const char *out, int i, int k, int pct)
{
	char who[32], tail[16];
	snprintf(who, sizeof(who), "] w%d-%d blob: ", i, k);
	snprintf(tail, sizeof(tail), "(%d%%)", pct);
	int n = 0;
	for (const char *line = out, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		size_t len = (size_t)(nl - line), tl = strlen(tail);
		const char *w = strstr(line, who);
		if (w != NULL && w < nl && len >= tl && memcmp(nl - tl, tail, tl) == 0)
			n++;
	}
	return n;
}

static void test_threads(void)
{
	char needle[64];
	char *got = run_workers(PROGRESS_PLAIN);
	bool all = true;
	for (int i = 0; i < THREADS; i++) {
		for (int k = 0; k < ITEMS_PER_THREAD; k++) {
			snprintf(needle, sizeof(needle), "] w%d-%d blob: pushed (293.0 KiB in ", i,
			         k);
			all = all && count(got, needle) == 1;
			snprintf(needle, sizeof(needle), "] w%d-%d blob: started", i, k);
			all = all && count(got, needle) == 1;
		}
	}
	ok(all, "plain, 4 threads: each item started and finished once");
	ok(count(got, "\n[") + 1 == count(got, "\n") && got[0] == '[', "every plain line is whole");
	/* Each step line appears at least once per item; a time-based report
	 * may repeat a percentage when other threads advance the shared clock
	 * while this item's thread is descheduled. */
	bool steps = true;
	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < ITEMS_PER_THREAD; k++)
			for (int q = 1; q <= 3; q++)
				steps = steps && item_line_count(got, i, k, q * 25) >= 1;
	ok(steps, "each item reports each 25%% step");
	free(got);

	got = run_workers(PROGRESS_JSON);
	int lines = 0, valid = 0, done = 0;
	for (char *line = got, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		json_t *j = json_loads(line, 0, NULL);
		valid += j != NULL;
		const char *ev = json_string_value(json_object_get(j, "event"));
		done += ev != NULL && strcmp(ev, "done") == 0 &&
		        json_integer_value(json_object_get(j, "current")) == UPDATES * 100;
		json_decref(j);
		lines++;
	}
	ok(lines > 0 && valid == lines, "json, 4 threads: %d lines, all valid", lines);
	is_int(done, THREADS * ITEMS_PER_THREAD, "every item ends with the full count");
	free(got);

	got = run_workers(PROGRESS_TTY);
	all = true;
	for (int i = 0; i < THREADS; i++) {
		for (int k = 0; k < ITEMS_PER_THREAD; k++) {
			snprintf(needle, sizeof(needle), "w%d-%d blob: pushed (293.0 KiB in ", i,
			         k);
			all = all && count(got, needle) == 1;
		}
	}
	ok(all, "tty, 4 threads: each item's final line printed once");
	ok(str_has_suffix(got, ERASE "\x1b[J") || str_has_suffix(got, ERASE),
	   "the display ends on a whole line");
	size_t frames = count(got, "\r\x1b[");
	ok(frames < THREADS * ITEMS_PER_THREAD * UPDATES / 50,
	   "throttling keeps redraws far below updates (%zu)", frames);
	free(got);
}

int main(void)
{
	out_fd = memfd_create("progress", MFD_CLOEXEC);
	if (out_fd < 0)
		tap_skip_all("memfd_create: %s", strerror(errno));
	fcntl(out_fd, F_SETFL, O_APPEND);

	test_format();
	test_mode_parse();
	test_auto();
	test_plain();
	test_json();
	test_tty();
	test_tty_elapsed();
	test_tty_many();
	test_quiet_and_null();
	test_threads();
	close(out_fd);
	return tap_done();
}
