#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"
#include "tests/tap.h"

static void test_append(void)
{
	struct buf b;
	buf_init(&b, 1024);
	is_str(buf_str(&b), "", "a fresh buffer reads as empty");
	ok(buf_addstr(&b, "hello", NULL) == 0, "addstr");
	ok(buf_addch(&b, ' ', NULL) == 0, "addch");
	ok(buf_addf(&b, NULL, "%s #%d", "world", 7) == 0, "addf");
	is_str(buf_str(&b), "hello world #7", "content is concatenated and NUL-terminated");
	is_int(b.len, 14, "len counts bytes without the NUL");
	buf_truncate(&b, 5);
	is_str(buf_str(&b), "hello", "truncate");
	buf_reset(&b);
	is_int(b.len, 0, "reset empties");
	buf_release(&b);
	ok(b.data == NULL && b.max == 1024, "release frees and keeps the cap");
}

static void test_cap(void)
{
	struct buf b;
	struct err *err = NULL;
	buf_init(&b, 8);
	ok(buf_addstr(&b, "12345678", NULL) == 0, "exactly the cap fits");
	int rc = buf_addch(&b, '9', &err);
	is_int(rc, ERR_TOOBIG, "one byte over the cap is refused");
	like(err_msg(err), "limit of 8 bytes", "the error names the limit");
	is_str(buf_str(&b), "12345678", "a refused append leaves the buffer unchanged");
	err_free(err);
	err = NULL;
	rc = buf_addf(&b, &err, "%d", 1);
	is_int(rc, ERR_TOOBIG, "formatted append checks the cap too");
	err_free(err);
	rc = buf_add(&b, "x", SIZE_MAX, NULL);
	is_int(rc, ERR_TOOBIG, "a length near SIZE_MAX cannot overflow the check");
	buf_release(&b);
}

static void test_binary_and_detach(void)
{
	struct buf b;
	buf_init(&b, 100);
	buf_add(&b, "a\0b", 3, NULL);
	is_int(b.len, 3, "embedded NUL counted");
	size_t n = 0;
	char *s = buf_detach(&b, &n);
	ok(n == 3 && memcmp(s, "a\0b", 3) == 0 && s[3] == '\0', "detach hands out bytes + NUL");
	ok(b.data == NULL && b.len == 0, "buffer is empty after detach");
	free(s);
	s = buf_detach(&b, &n);
	ok(s != NULL && n == 0 && s[0] == '\0', "detach of an empty buffer gives \"\"");
	free(s);
}

static void test_growth(void)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 100000; i++)
		if (buf_addch(&b, (char)('a' + i % 26), NULL) < 0)
			break;
	is_int(b.len, 100000, "many small appends");
	ok(b.data[99999] == 'a' + 99999 % 26 && b.data[100000] == '\0', "last byte and terminator");
	buf_release(&b);
}

static void test_read_file(void)
{
	char path[] = "/tmp/bale-test-buf-XXXXXX";
	int fd = mkstemp(path);
	ok(fd >= 0, "temp file");
	write_all(fd, "0123456789", 10);
	close(fd);

	struct buf b;
	struct err *err = NULL;
	buf_init(&b, 10);
	ok(buf_read_file(&b, AT_FDCWD, path, &err) == 0, "read a file that fits");
	is_str(buf_str(&b), "0123456789", "with its content");
	buf_release(&b);

	buf_init(&b, 9);
	int rc = buf_read_file(&b, AT_FDCWD, path, &err);
	is_int(rc, ERR_TOOBIG, "a file over the cap is refused");
	like(err_msg(err), "larger than 9 bytes", "naming the cap");
	like(err_msg(err), path, "and the file");
	err_free(err);
	err = NULL;
	buf_release(&b);
	unlink(path);

	rc = buf_read_file(&b, AT_FDCWD, path, &err);
	is_int(rc, ERR_NOTFOUND, "a missing file is NOTFOUND");
	like(err_msg(err), "No such file or directory", "with the system's reason");
	err_free(err);
}

int main(void)
{
	test_append();
	test_cap();
	test_binary_and_detach();
	test_growth();
	test_read_file();
	return tap_done();
}
