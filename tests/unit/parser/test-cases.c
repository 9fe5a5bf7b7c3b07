/* Drives testdata/parser/cases/: each directory holds a Containerfile and
 * either expected.json (the exact `bale parse` JSON) or error.txt (the exact
 * error message, FILE:LINE:COL first). */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"
#include "parser/parser.h"
#include "tests/tap.h"

static char *read_text(const char *path)
{
	struct buf b;
	buf_init(&b, 64u << 20);
	if (buf_read_file(&b, AT_FDCWD, path, NULL) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_case(const char *dir, const char *name)
{
	cleanup_free char *cf = xasprintf("%s/%s/Containerfile", dir, name);
	cleanup_free char *json = xasprintf("%s/%s/expected.json", dir, name);
	cleanup_free char *errf = xasprintf("%s/%s/error.txt", dir, name);
	struct buf in;
	buf_init(&in, 64u << 20);
	if (buf_read_file(&in, AT_FDCWD, cf, NULL) < 0) {
		ok(0, "%s: read Containerfile", name);
		return;
	}
	struct cf_file *f = NULL;
	struct err *err = NULL;
	int rc = cf_parse(buf_str(&in), in.len, "Containerfile", &f, &err);
	buf_release(&in);
	cleanup_free char *want_json = read_text(json);
	cleanup_free char *want_err = read_text(errf);
	if (want_json != NULL) {
		struct buf out;
		buf_init(&out, 64u << 20);
		if (rc == 0)
			cf_file_to_json(f, &out, NULL);
		if (rc < 0)
			diag("%s: %s", name, err_msg(err));
		is_str(rc == 0 ? buf_str(&out) : "(error)", want_json, "%s: parses as expected.json", name);
		buf_release(&out);
	} else if (want_err != NULL) {
		str_trim(want_err);
		is_str(rc < 0 ? err_msg(err) : "(parsed)", want_err, "%s: fails as error.txt", name);
	} else {
		ok(0, "%s: has expected.json or error.txt", name);
	}
	cf_file_free(f);
	err_free(err);
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	cleanup_free char *dir = xasprintf("%s/testdata/parser/cases", top ? top : TOP_SRCDIR);
	DIR *d = opendir(dir);
	if (d == NULL)
		tap_skip_all("cannot open %s", dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		names = xreallocarray(names, n + 1, sizeof(char *));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_names);
	for (size_t i = 0; i < n; i++) {
		run_case(dir, names[i]);
		free(names[i]);
	}
	free(names);
	return tap_done();
}
