/* bench-parse: time cf_parse() on a Containerfile and report the median of
 * N runs and the peak resident memory, against the input size.
 *
 *   bench/bench-parse [-n RUNS] FILE
 *   bench/bench-parse [-n RUNS] --generate BYTES   (a realistic file made up
 *                                                   here, written to stdout
 *                                                   with -o FILE)
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/buf.h"
#include "common/util.h"
#include "parser/parser.h"

/* A stage of a typical multi-stage build: every instruction kind, flags,
 * continuations, comments, a heredoc, exec and shell forms. */
static const char stage[] =
	"# build stage %zu\n"
	"FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build%zu\n"
	"ARG VERSION=1.0.%zu\n"
	"ENV CGO_ENABLED=0 GOOS=linux \\\n"
	"    GOFLAGS=\"-trimpath -mod=readonly\"\n"
	"LABEL org.opencontainers.image.title=\"app%zu\" org.opencontainers.image.version=$VERSION\n"
	"WORKDIR /src\n"
	"COPY --link go.mod go.sum ./\n"
	"RUN --mount=type=cache,target=/go/pkg/mod \\\n"
	"    --mount=type=cache,target=/root/.cache/go-build \\\n"
	"    go mod download && \\\n"
	"    # keep the module cache warm\n"
	"    go mod verify\n"
	"COPY --exclude=*.md . .\n"
	"RUN <<EOF\n"
	"set -eux\n"
	"go build -ldflags \"-s -w -X main.version=${VERSION}\" -o /out/app ./cmd/app\n"
	"EOF\n"
	"FROM alpine:3.19\n"
	"RUN apk add --no-cache ca-certificates tzdata && adduser -D -u 10001 app\n"
	"COPY --from=build%zu --chown=app:app --chmod=0755 /out/app /usr/local/bin/app\n"
	"EXPOSE 8080/tcp 9090\n"
	"HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD [\"/usr/local/bin/app\", \"health\"]\n"
	"USER app\n"
	"VOLUME [\"/data\"]\n"
	"STOPSIGNAL SIGTERM\n"
	"ENTRYPOINT [\"/usr/local/bin/app\"]\n"
	"CMD [\"serve\", \"--addr\", \":8080\"]\n\n";

static void generate(struct buf *b, size_t bytes)
{
	buf_addstr(b, "# syntax=docker/dockerfile:1\n", NULL);
	for (size_t i = 0; b->len < bytes; i++)
		buf_addf(b, NULL, stage, i, i, i, i, i);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time of this thread: what parsing costs when other processes
 * compete for the cores (the wall-clock median then includes waiting). */
static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static long maxrss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	int runs = 21;
	const char *file = NULL, *out = NULL;
	size_t gen = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			runs = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--generate") == 0 && i + 1 < argc)
			gen = (size_t)strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else
			file = argv[i];
	}
	struct buf in;
	buf_init(&in, 64u << 20);
	struct err *err = NULL;
	if (gen > 0) {
		generate(&in, gen);
		if (out != NULL) {
			FILE *f = fopen(out, "w");
			if (f == NULL || fwrite(in.data, 1, in.len, f) != in.len || fclose(f) != 0) {
				perror(out);
				return 1;
			}
			return 0;
		}
	} else if (file == NULL || buf_read_file(&in, AT_FDCWD, file, &err) < 0) {
		fprintf(stderr, "usage: bench-parse [-n RUNS] FILE | --generate BYTES [-o FILE]\n%s\n",
			err ? err_msg(err) : "");
		return 2;
	}
	if (runs < 1)
		runs = 1;
	long rss_before = maxrss_kib();
	double *t = xcalloc((size_t)runs, sizeof(double));
	double *c = xcalloc((size_t)runs, sizeof(double));
	size_t ninstr = 0;
	for (int i = 0; i < runs; i++) {
		struct cf_file *f = NULL;
		double t0 = now_ms(), c0 = cpu_ms();
		if (cf_parse(buf_str(&in), in.len, file ? file : "generated", &f, &err) < 0) {
			fprintf(stderr, "bench-parse: %s\n", err_msg(err));
			return 1;
		}
		t[i] = now_ms() - t0;
		c[i] = cpu_ms() - c0;
		ninstr = f->ninstructions;
		cf_file_free(f);
	}
	long rss_after = maxrss_kib();
	qsort(t, (size_t)runs, sizeof(double), cmp_double);
	qsort(c, (size_t)runs, sizeof(double), cmp_double);
	printf("input: %zu bytes, %zu instructions\n", in.len, ninstr);
	printf("parse: median %.2f ms, min %.2f ms, max %.2f ms over %d runs\n", t[runs / 2], t[0],
	       t[runs - 1], runs);
	printf("parse CPU time: median %.2f ms\n", c[runs / 2]);
	printf("peak RSS: %ld KiB total, %ld KiB grown while parsing (%.1fx the input)\n", rss_after,
	       rss_after - rss_before, (double)(rss_after - rss_before) * 1024 / (double)in.len);
	printf("peak RSS over input: %.1fx\n", (double)rss_after * 1024 / (double)in.len);
	free(t);
	free(c);
	buf_release(&in);
	return 0;
}
