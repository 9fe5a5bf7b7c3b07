#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "tests/tap.h"

static void test_numbers(void)
{
	uint64_t u = 7;
	is_int(str_to_u64("0", &u), 0, "0 parses");
	is_int(u, 0, "as 0");
	is_int(str_to_u64("18446744073709551615", &u), 0, "UINT64_MAX parses");
	ok(u == UINT64_MAX, "as UINT64_MAX");
	u = 7;
	is_int(str_to_u64("18446744073709551616", &u), ERR_RANGE, "UINT64_MAX+1 is out of range");
	is_int(u, 7, "output untouched on error");
	const char *bad[] = { "", " 1", "1 ", "+1", "-1", "1a", "0x10", "1.0", "١" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		is_int(str_to_u64(bad[i], &u), ERR_INVALID, "'%s' is not a u64", bad[i]);
	is_int(str_to_u64(NULL, &u), ERR_INVALID, "NULL is not a number");

	int64_t s = 0;
	is_int(str_to_i64("-9223372036854775808", &s), 0, "INT64_MIN parses");
	ok(s == INT64_MIN, "as INT64_MIN");
	is_int(str_to_i64("9223372036854775808", &s), ERR_RANGE, "INT64_MAX+1 is out of range");
	is_int(str_to_i64("-9223372036854775809", &s), ERR_RANGE, "INT64_MIN-1 is out of range");
	is_int(str_to_i64("-", &s), ERR_INVALID, "a lone minus is invalid");

	unsigned int ui = 0;
	is_int(str_to_uint("65535", 65535, &ui), 0, "at the max");
	is_int(str_to_uint("65536", 65535, &ui), ERR_RANGE, "over the max");
}

static void test_strings(void)
{
	ok(str_has_prefix("sha256:abc", "sha256:"), "prefix");
	ok(!str_has_prefix("sha", "sha256"), "longer prefix");
	ok(str_has_suffix("a.tar.gz", ".gz"), "suffix");
	ok(!str_has_suffix("gz", ".gz"), "longer suffix");
	ok(str_eq_nocase("RUN", "run"), "case-insensitive equal");
	ok(!str_eq(NULL, "x"), "str_eq with NULL is false");

	char small[4];
	is_int(str_copy(small, "abcdef", sizeof(small)), 6, "str_copy returns the source length");
	is_str(small, "abc", "and truncates with a NUL");

	char t[] = " \t value \r\n";
	is_str(str_trim(t), "value", "trim both ends");

	char **v = str_split("a,,b,", ',');
	is_int(strv_len(v), 4, "split keeps empty fields");
	ok(str_eq(v[0], "a") && str_eq(v[1], "") && str_eq(v[2], "b") && str_eq(v[3], ""), "fields");
	strv_free(v);

	cleanup_strv char **w = NULL;
	strv_push(&w, "x");
	strv_push(&w, "y");
	is_int(strv_len(w), 2, "strv_push grows a NULL array");

	cleanup_free char *q1 = str_quote("a\x1b[2J\n\\b", 8);
	is_str(q1, "a\\x1b[2J\\x0a\\x5cb", "str_quote escapes control bytes and backslash");
	char long_in[STR_QUOTE_MAX + 10];
	memset(long_in, 'x', sizeof(long_in));
	cleanup_free char *q2 = str_quote(long_in, sizeof(long_in));
	ok(strlen(q2) == STR_QUOTE_MAX + 3 && str_has_suffix(q2, "xxx..."), "str_quote cuts long input with ...");

	cleanup_free char *f = xasprintf("%s-%d", "n", 42);
	is_str(f, "n-42", "xasprintf");
}

static void test_steal(void)
{
	cleanup_free char *p = xstrdup("owned");
	char *q = steal_pointer(&p);
	ok(p == NULL && str_eq(q, "owned"), "steal_pointer moves ownership");
	free(q);
	cleanup_close int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int kept = steal_fd(&fd);
	ok(fd == -1 && kept >= 0, "steal_fd moves the fd");
	close(kept);
}

static void test_io(void)
{
	int p[2];
	ok(pipe(p) == 0, "pipe");
	is_int(write_all(p[1], "abcdef", 6), 0, "write_all");
	close(p[1]);
	char got[16];
	is_int(read_full(p[0], got, sizeof(got)), 6, "read_full stops at EOF");
	close(p[0]);
	is_int(write_all(-1, "x", 1), -EBADF, "write_all returns -errno");
}

static void test_write_atomic(void)
{
	char dir[] = "/tmp/bale-test-atomic-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct err *err = NULL;

	is_int(file_write_atomic(dfd, "f.json", "{}", 2, 0600, &err), 0, "write a new file");
	is_int(file_write_atomic(dfd, "f.json", "[1]", 3, 0640, &err), 0, "replace it");
	char got[8] = { 0 };
	int fd = openat(dfd, "f.json", O_RDONLY | O_CLOEXEC);
	is_int(read_full(fd, got, sizeof(got) - 1), 3, "the new content is there");
	is_str(got, "[1]", "whole");
	struct stat st;
	fstat(fd, &st);
	is_int(st.st_mode & 07777, 0640, "with the mode asked, whatever the umask");
	close(fd);

	DIR *d = fdopendir(dup(dfd));
	int entries = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		entries += e->d_name[0] != '.' || str_has_prefix(e->d_name, ".f.json");
	closedir(d);
	is_int(entries, 1, "no temp file is left beside it");

	mkdirat(dfd, "sub", 0755);
	is_int(file_write_atomic(dfd, "sub/g", "x", 1, 0644, &err), 0, "a path with a directory");
	ok(faccessat(dfd, "sub/g", F_OK, 0) == 0, "lands in that directory");

	is_int(fsync_parent_dir(dfd, "sub/g"), 0, "fsync_parent_dir of a file in a directory");
	is_int(fsync_parent_dir(dfd, "f.json"), 0, "and of one at the top");
	is_int(fsync_parent_dir(dfd, "missing/g"), -ENOENT, "a missing directory is -ENOENT");

	int rc = file_write_atomic(dfd, "missing/g", "x", 1, 0644, &err);
	is_int(rc, ERR_NOTFOUND, "a missing directory is NOTFOUND");
	like(err_msg(err), "cannot write 'missing/g'", "naming the path");
	err_free(err);

	unlinkat(dfd, "sub/g", 0);
	unlinkat(dfd, "sub", AT_REMOVEDIR);
	unlinkat(dfd, "f.json", 0);
	close(dfd);
	rmdir(dir);
}

static bool present(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void test_remove_tree(void)
{
	char root[] = "/tmp/test-util-rm.XXXXXX";
	if (mkdtemp(root) == NULL)
		abort();
	char p[512];
	/* a tree with dirs a step may leave: 0500 with a file, 0000 nested */
	snprintf(p, sizeof p, "%s/t", root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/t/ro", root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/t/ro/f", root);
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	snprintf(p, sizeof p, "%s/t/ro/closed", root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/t/ro/closed/g", root);
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	snprintf(p, sizeof p, "%s/t/ro/closed", root);
	chmod(p, 0);
	snprintf(p, sizeof p, "%s/t/ro", root);
	chmod(p, 0500);
	snprintf(p, sizeof p, "%s/t", root);
	remove_tree(p);
	ok(!present(root, "t"), "remove_tree removes a tree with 0500 and 0000 dirs");
	snprintf(p, sizeof p, "%s/file", root);
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	remove_tree(p);
	ok(!present(root, "file"), "  and a single file");

	/* dirs named after processes: only the dead ones' go */
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	const char *names[] = { "build-1-x", "build-DEAD-x", "other-DEAD-x", "build-x", "build-0-x" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char name[64];
		snprintf(name, sizeof name, "%s", names[i]);
		char *d = strstr(name, "DEAD");
		if (d != NULL)
			snprintf(d, sizeof name - (size_t)(d - name), "%d-x", (int)dead);
		snprintf(p, sizeof p, "%s/%s", root, name);
		mkdir(p, 0755);
	}
	remove_dead_process_dirs(root, "build-");
	char gone[64], other[64];
	snprintf(gone, sizeof gone, "build-%d-x", (int)dead);
	snprintf(other, sizeof other, "other-%d-x", (int)dead);
	ok(!present(root, gone), "the dir of a dead process goes");
	ok(present(root, "build-1-x"), "a live process's stays");
	ok(present(root, other), "another prefix stays");
	ok(present(root, "build-x") && present(root, "build-0-x"), "names without a pid stay");
	remove_tree(root);
	ok(access(root, F_OK) < 0, "cleaned up");
}

int main(void)
{
	test_remove_tree();
	test_write_atomic();
	test_numbers();
	test_strings();
	test_steal();
	test_io();
	return tap_done();
}
