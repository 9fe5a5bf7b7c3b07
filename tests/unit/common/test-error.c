#include "config.h"

#include <errno.h>

#include "common/error.h"
#include "tests/tap.h"

static int open_thing(const char *name, struct err **err)
{
	return err_sys(err, ERR_NOTFOUND, ENOENT, "cannot open '%s'", name);
}

static int load_config(struct err **err)
{
	int rc = open_thing("registry.yml", err);
	if (rc < 0)
		return err_wrap(err, "cannot load configuration");
	return 0;
}

static void test_set_and_wrap(void)
{
	struct err *err = NULL;
	int rc = load_config(&err);
	is_int(rc, ERR_NOTFOUND, "code travels up through err_wrap");
	is_int(err->errnum, ENOENT, "errno is kept");
	is_str(err_msg(err), "cannot load configuration: cannot open 'registry.yml': No such file or directory",
	       "context is prefixed, cause last");
	is_str(err_code_name(err_code(err)), "notfound", "code has a stable name");
	err_free(err);
}

static void test_first_error_wins(void)
{
	struct err *err = NULL;
	err_set(&err, ERR_INVALID, "first");
	int rc = err_set(&err, ERR_IO, "second");
	is_int(rc, ERR_IO, "err_set returns its own code even when one is kept");
	is_str(err_msg(err), "first", "an existing error is never overwritten");
	is_int(err_code(err), ERR_INVALID, "the first code is kept");
	err_free(err);
}

static void test_null_err(void)
{
	is_int(err_set(NULL, ERR_DIGEST, "ignored %d", 1), ERR_DIGEST, "NULL err: code still returned");
	is_int(err_wrap(NULL, "ctx"), ERR_FAIL, "wrap on NULL is harmless");
	is_str(err_msg(NULL), "unknown error", "err_msg(NULL) is never NULL");
	is_int(err_code(NULL), ERR_FAIL, "err_code(NULL) is a failure");
	is_int(err_set(NULL, 0, "x"), ERR_FAIL, "a non-negative code becomes ERR_FAIL");
}

static void test_wrap_without_error(void)
{
	struct err *err = NULL;
	int rc = err_wrap(&err, "context %s", "only");
	is_int(rc, ERR_FAIL, "wrap with nothing to wrap creates a generic failure");
	is_str(err_msg(err), "context only", "with the context as its message");
	err_free(err);
}

static void test_move(void)
{
	struct err *a = NULL, *b = NULL;
	err_set(&b, ERR_EXISTS, "b");
	err_move(&a, &b);
	ok(b == NULL && a != NULL && err_code(a) == ERR_EXISTS, "move into an empty slot");
	struct err *c = NULL;
	err_set(&c, ERR_IO, "c");
	err_move(&a, &c);
	ok(c == NULL && err_code(a) == ERR_EXISTS, "move into a full slot frees the source");
	err_free(a);
}

static void test_cleanup(void)
{
	cleanup_err struct err *err = NULL;
	err_set(&err, ERR_TOOBIG, "%s", "freed by cleanup attribute (ASan checks)");
	ok(err != NULL, "cleanup_err variable holds an error");
}

static void test_from_errno(void)
{
	is_int(err_code_from_errno(ENOENT), ERR_NOTFOUND, "ENOENT is NOTFOUND");
	is_int(err_code_from_errno(EEXIST), ERR_EXISTS, "EEXIST is EXISTS");
	is_int(err_code_from_errno(EACCES), ERR_DENIED, "EACCES is DENIED");
	is_int(err_code_from_errno(EROFS), ERR_DENIED, "EROFS is DENIED");
	is_int(err_code_from_errno(ELOOP), ERR_INVALID, "ELOOP is INVALID");
	is_int(err_code_from_errno(ENAMETOOLONG), ERR_TOOBIG, "ENAMETOOLONG is TOOBIG");
	is_int(err_code_from_errno(EBUSY), ERR_BUSY, "EBUSY is BUSY");
	is_int(err_code_from_errno(EIO), ERR_IO, "EIO is IO");
	is_int(err_code_from_errno(ENOSPC), ERR_IO, "anything else is IO");
}

int main(void)
{
	test_from_errno();
	test_set_and_wrap();
	test_first_error_wins();
	test_null_err();
	test_wrap_without_error();
	test_move();
	test_cleanup();
	for (int c = ERR_RANGE; c <= ERR_OK; c++)
		ok(err_code_name(c)[0] != '\0', "code %d has a name", c);
	return tap_done();
}
