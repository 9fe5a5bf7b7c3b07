/* `bale build` progress: one numbered step per FROM, RUN, COPY... as
 * BuildKit's plain output shows them, so CI logs read the same:
 *
 *   #3 [build 2/4] RUN make
 *   #3 cc -c main.c            (the step's output, line by line)
 *   #3 DONE 1.2s               (or #3 CACHED, or #3 ERROR: why)
 *
 * Plain lines are written straight to the progress fd (common/progress.h
 * prefixes its plain lines with a clock, which BuildKit's format has not);
 * tty and json go through the progress items, one per step, so the tty
 * shows the live steps and json gets start/status/done/error events. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "common/buf.h"
#include "common/util.h"

/* One line of step output; a longer line is cut into pieces. */
#define BPROG_LINE_MAX 4096

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static enum progress_mode bprog_mode(const struct build_ctx *b)
{
	return progress_get_mode(b->o->progress);
}

/* A plain line "#N text\n" in one write(2), so concurrent writers (the
 * registry client's progress) never split it. */
static void plain_line(const struct build_ctx *b, unsigned n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void plain_line(const struct build_ctx *b, unsigned n, const char *fmt, ...)
{
	char line[BPROG_LINE_MAX + 64];
	int off = snprintf(line, sizeof line, "#%u ", n);
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(line + off, sizeof line - (size_t)off - 1, fmt, ap);
	va_end(ap);
	size_t total = (size_t)off + (len < 0 ? 0
	                              : (size_t)len < sizeof line - (size_t)off - 1
	                                      ? (size_t)len
	                                      : sizeof line - (size_t)off - 2);
	line[total++] = '\n';
	(void)write_all(b->o->progress_fd, line, total);
}

/* Control characters (a heredoc's newlines) would break the one-line
 * format: they become spaces. Caller frees. */
static char *one_line(const char *s)
{
	char *r = xstrdup(s);
	for (char *p = r; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return r;
}

/* What a step line shows: the history text without its " # buildkit"
 * mark; a shell-form RUN as written (flags and command), not as the
 * "/bin/sh -c" argv history keeps. Caller frees. */
static char *step_title(const struct cf_instruction *ins, const char *text)
{
	if (ins->kind == CF_RUN && ins->form != CF_FORM_EXEC && ins->nargs == 1) {
		struct buf t;
		buf_init(&t, BPROG_LINE_MAX);
		buf_addstr(&t, "RUN", NULL);
		for (size_t i = 0; i < ins->nflags; i++)
			buf_addf(&t, NULL, " %s", ins->flags[i]);
		buf_addf(&t, NULL, " %s", ins->args[0]);
		char *r = one_line(buf_str(&t));
		buf_release(&t);
		return r;
	}
	char *r = one_line(text);
	size_t n = strlen(r), m = strlen(" # buildkit");
	if (n >= m && strcmp(r + n - m, " # buildkit") == 0)
		r[n - m] = '\0';
	return r;
}

void step_announce(struct build_ctx *b, const struct bstage *st, const struct cf_instruction *ins,
                   const char *text)
{
	step_finish(b, 0, NULL);
	b->step_no++;
	b->step_open = true;
	b->step_t0 = mono_ns();
	enum progress_mode mode = bprog_mode(b);
	if (mode == PROGRESS_QUIET)
		return;
	char label[64];
	if (st->name != NULL)
		snprintf(label, sizeof label, "%s", st->name);
	else
		snprintf(label, sizeof label, "stage-%zu", st->index);
	cleanup_free char *t = step_title(ins, text);
	size_t k = (size_t)(ins - &b->cf->instructions[st->cf->first]) + 1;
	if (ins < &b->cf->instructions[st->cf->first] ||
	    ins >= &b->cf->instructions[st->cf->first + st->cf->count])
		k = 0; /* an ONBUILD trigger of the base image */
	cleanup_free char *head = k > 0 ? xasprintf("[%s %zu/%zu] %s", label, k, st->cf->count, t)
	                                : xasprintf("[%s onbuild] %s", label, t);
	if (mode == PROGRESS_PLAIN) {
		plain_line(b, b->step_no, "%s", head);
		return;
	}
	char id[32];
	snprintf(id, sizeof id, "#%u", b->step_no);
	b->step_item = progress_item_add(b->o->progress, id, head, 0);
}

void step_running(struct build_ctx *b)
{
	progress_item_status(b->step_item, "running");
}

static void finish_line(struct build_ctx *b, const char *status)
{
	if (bprog_mode(b) == PROGRESS_PLAIN)
		plain_line(b, b->step_no, "%s", status);
	else
		progress_item_done(b->step_item, status);
}

void step_cached(struct build_ctx *b)
{
	if (!b->step_open)
		return;
	b->step_open = false;
	finish_line(b, "CACHED");
	b->step_item = NULL;
}

void step_finish(struct build_ctx *b, int r, const struct err *err)
{
	if (!b->step_open)
		return;
	b->step_open = false;
	uint64_t ns = mono_ns() - b->step_t0;
	if (r < 0) {
		const char *why = err != NULL ? err_msg(err) : "failed";
		if (bprog_mode(b) == PROGRESS_PLAIN)
			plain_line(b, b->step_no, "ERROR: %s", why);
		else
			progress_item_fail(b->step_item, why);
	} else {
		char s[32];
		snprintf(s, sizeof s, "DONE %u.%us", (unsigned)(ns / 1000000000u),
		         (unsigned)(ns / 100000000u % 10));
		finish_line(b, s);
	}
	b->step_item = NULL;
}

/* ---------------------------------------------------------------- output */

struct out_reader {
	struct build_ctx *b;
	unsigned step;
	int fd;
};

static void out_emit(struct out_reader *o, const char *line, size_t n)
{
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (bprog_mode(o->b) == PROGRESS_PLAIN)
		plain_line(o->b, o->step, "%.*s", (int)n, line);
	else
		progress_message(o->b->o->progress, "#%u %.*s", o->step, (int)n, line);
}

static void *out_thread(void *arg)
{
	struct out_reader *o = arg;
	char *line = xmalloc(BPROG_LINE_MAX);
	size_t len = 0;
	char chunk[8192];
	for (;;) {
		ssize_t got = read(o->fd, chunk, sizeof chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got; i++) {
			if (chunk[i] == '\n' || len == BPROG_LINE_MAX) {
				out_emit(o, line, len);
				len = 0;
				if (chunk[i] == '\n')
					continue;
			}
			line[len++] = chunk[i];
		}
	}
	if (len > 0)
		out_emit(o, line, len);
	free(line);
	return NULL;
}

struct step_output {
	struct out_reader r;
	pthread_t thread;
	bool started;
};

int step_output_start(struct build_ctx *b, struct step_output **out, int *wfd, struct err **err)
{
	*out = NULL;
	*wfd = b->o->log_fd;
	if (b->o->log_fd < 0 || b->o->progress == NULL || bprog_mode(b) == PROGRESS_QUIET)
		return 0;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(err, ERR_IO, errno, "cannot create a pipe");
	struct step_output *so = xcalloc(1, sizeof *so);
	so->r.b = b;
	so->r.step = b->step_no;
	so->r.fd = p[0];
	/* the reader takes no signals: Ctrl-C stays the main thread's, which
	 * forwards it to the step */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int e = pthread_create(&so->thread, NULL, out_thread, &so->r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		close(p[0]);
		close(p[1]);
		free(so);
		return err_sys(err, ERR_IO, e, "cannot start the output reader");
	}
	so->started = true;
	*out = so;
	*wfd = p[1];
	return 0;
}

void step_output_finish(struct step_output *so, int wfd)
{
	if (so == NULL)
		return;
	/* the step's pid namespace is gone: our end is the last writer */
	close(wfd);
	if (so->started)
		pthread_join(so->thread, NULL);
	close(so->r.fd);
	free(so);
}

/* ---------------------------------------------------------------- export */

void step_export(struct build_ctx *b, const struct build_result *res)
{
	enum progress_mode mode = bprog_mode(b);
	if (mode == PROGRESS_QUIET)
		return;
	step_finish(b, 0, NULL);
	b->step_no++;
	uint64_t t0 = mono_ns();
	char cs[DIGEST_MAX_STRING], ms[DIGEST_MAX_STRING];
	digest_format(&res->config, cs);
	digest_format(&res->manifest, ms);
	struct buf lines;
	buf_init(&lines, 1u << 20);
	buf_addf(&lines, NULL, "writing image %s done\n", cs);
	for (size_t i = 0; b->o->tags != NULL && b->o->tags[i] != NULL; i++) {
		cleanup_free char *n = NULL;
		struct err *e = NULL;
		if (store_name_normalize(&n, b->o->tags[i], &e) < 0)
			err_free(e);
		buf_addf(&lines, NULL, "naming to %s done\n", n != NULL ? n : b->o->tags[i]);
	}
	buf_addf(&lines, NULL, "manifest %s (%u steps, %u cached)\n", ms, res->steps, res->cached);
	char id[32];
	snprintf(id, sizeof id, "#%u", b->step_no);
	struct progress_item *it = NULL;
	if (mode == PROGRESS_PLAIN)
		plain_line(b, b->step_no, "exporting to image");
	else
		it = progress_item_add(b->o->progress, id, "exporting to image", 0);
	const char *s = buf_str(&lines);
	while (*s != '\0') {
		const char *nl = strchr(s, '\n');
		if (mode == PROGRESS_PLAIN)
			plain_line(b, b->step_no, "%.*s", (int)(nl - s), s);
		else
			progress_message(b->o->progress, "%s %.*s", id, (int)(nl - s), s);
		s = nl + 1;
	}
	buf_release(&lines);
	uint64_t ns = mono_ns() - t0;
	char st[32];
	snprintf(st, sizeof st, "DONE %u.%us", (unsigned)(ns / 1000000000u),
	         (unsigned)(ns / 100000000u % 10));
	if (mode == PROGRESS_PLAIN)
		plain_line(b, b->step_no, "%s", st);
	else
		progress_item_done(it, st);
}
