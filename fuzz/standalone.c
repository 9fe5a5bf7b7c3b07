/* Replay driver for the libFuzzer targets, so their corpora run in
 * `make check` under any compiler (as libgit2's fuzzers/standalone_driver.c
 * does). Without arguments it feeds every file of FUZZ_CORPUS_DIR (compiled
 * in) to LLVMFuzzerTestOneInput, in name order, and prints TAP; with
 * arguments it runs just those files, e.g. a crash file libFuzzer saved.
 * A target reports a broken invariant by aborting, which fails the test. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/util.h"

#ifndef FUZZ_CORPUS_DIR
#error "build with -DFUZZ_CORPUS_DIR=\"<srcdir>/fuzz/corpus/<target>\""
#endif

/* libFuzzer's default -max_len is 4096; leave room for bigger seeds. */
#define FUZZ_MAX_INPUT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count;
static int failed;

static void run_file(int dirfd, const char *path, const char *label)
{
	cleanup_buf struct buf b;
	cleanup_err struct err *e = NULL;
	buf_init(&b, FUZZ_MAX_INPUT);
	count++;
	if (buf_read_file(&b, dirfd, path, &e) < 0) {
		failed++;
		printf("not ok %d - %s\n# %s\n", count, label, err_msg(e));
		return;
	}
	/* a private copy, so reads past the end show up under ASan */
	cleanup_free uint8_t *copy = xmalloc(b.len);
	if (b.len > 0)
		memcpy(copy, b.data, b.len);
	LLVMFuzzerTestOneInput(copy, b.len);
	printf("ok %d - %s\n", count, label);
	fflush(stdout);
}

static int not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void run_corpus(const char *dir)
{
	struct dirent **list = NULL;
	cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int n = dirfd >= 0 ? scandir(dir, &list, not_hidden, alphasort) : -1;
	if (n < 0) {
		count++;
		failed++;
		printf("not ok %d - cannot read corpus '%s'\n", count, dir);
		return;
	}
	for (int i = 0; i < n; i++) {
		run_file(dirfd, list[i]->d_name, list[i]->d_name);
		free(list[i]);
	}
	free(list);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			run_file(AT_FDCWD, argv[i], argv[i]);
	} else {
		run_corpus(FUZZ_CORPUS_DIR);
	}
	printf("1..%d\n", count);
	return failed ? 1 : 0;
}
