/* Fuzz the Containerfile parser and the .dockerignore reader.
 *
 * Invariants (a violation aborts):
 * - cf_parse never crashes; it succeeds, or fails with ERR_INVALID or
 *   ERR_TOOBIG and a message that starts with "fuzz:LINE:COL: " where LINE
 *   is within the input;
 * - a parsed file has at least one instruction, lines that grow, stage
 *   indexes that cover the FROMs, and renders to JSON and text;
 * - the same bytes parse the same way twice (no hidden state). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"
#include "parser/ignore.h"
#include "parser/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const struct err *e, size_t size, const char *text)
{
	if (e == NULL || (e->code != ERR_INVALID && e->code != ERR_TOOBIG))
		abort();
	unsigned int line = 0, col = 0;
	if (sscanf(e->msg, "fuzz:%u:%u: ", &line, &col) != 2 || line == 0 || col == 0)
		abort();
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += text[i] == '\n';
	if (line > lines)
		abort();
}

static void check_file(const struct cf_file *f)
{
	if (f->ninstructions == 0)
		abort();
	unsigned int prev = 0;
	size_t froms = 0;
	for (size_t i = 0; i < f->ninstructions; i++) {
		const struct cf_instruction *ins = &f->instructions[i];
		if (ins->line <= prev || ins->end_line < ins->line)
			abort();
		prev = ins->end_line;
		froms += ins->kind == CF_FROM;
	}
	if (froms != f->nstages)
		abort();
	struct buf b;
	buf_init(&b, (size_t)-1 / 2);
	if (cf_file_to_json(f, &b, NULL) < 0 || cf_file_to_text(f, &b, NULL) < 0)
		abort();
	buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct cf_file *f = NULL;
	struct err *e = NULL;
	int rc = cf_parse(text, size, "fuzz", &f, &e);
	if (rc < 0) {
		check_error(e, size, text);
		struct err *e2 = NULL;
		struct cf_file *f2 = NULL;
		if (cf_parse(text, size, "fuzz", &f2, &e2) >= 0 || strcmp(e->msg, e2->msg) != 0)
			abort();
		err_free(e2);
		err_free(e);
	} else {
		check_file(f);
		cf_file_free(f);
	}

	struct cf_ignore *ig = NULL;
	e = NULL;
	if (cf_ignore_parse(text, size, "fuzz", &ig, &e) == 0) {
		cleanup_free char *path = xstrndup(text, size < 64 ? size : 64);
		(void)cf_ignore_matches(ig, path);
		(void)cf_ignore_matches(ig, "a/b/c.txt");
		cf_ignore_free(ig);
	} else if (e == NULL || (e->code != ERR_INVALID && e->code != ERR_UNSUPPORTED)) {
		abort();
	}
	err_free(e);
	return 0;
}
