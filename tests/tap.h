/* Tiny header-only TAP producer for unit tests (automake's tap-driver.sh
 * reads the output). Each test program includes this once, calls the
 * check macros, and returns tap_done() from main. */
#ifndef BALE_TESTS_TAP_H
#define BALE_TESTS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count_;
static int tap_failed_;

__attribute__((format(printf, 2, 3), unused)) static bool tap_ok_(bool pass, const char *fmt, ...)
{
	va_list ap;
	tap_count_++;
	if (!pass)
		tap_failed_++;
	printf("%s %d - ", pass ? "ok" : "not ok", tap_count_);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return pass;
}

__attribute__((format(printf, 1, 2), unused)) static void diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* ok(cond, "what is checked") */
#define ok(cond, ...) tap_ok_(!!(cond), __VA_ARGS__)

#define is_int(got, want, ...)                                                                  \
	do {                                                                                    \
		long long g_ = (long long)(got), w_ = (long long)(want);                        \
		if (!tap_ok_(g_ == w_, __VA_ARGS__))                                            \
			diag("  %s:%d: got %lld, want %lld", __FILE__, __LINE__, g_, w_);        \
	} while (0)

#define is_str(got, want, ...)                                                                  \
	do {                                                                                    \
		const char *g_ = (got), *w_ = (want);                                           \
		bool p_ = (g_ == NULL && w_ == NULL) || (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0); \
		if (!tap_ok_(p_, __VA_ARGS__))                                                  \
			diag("  %s:%d: got '%s', want '%s'", __FILE__, __LINE__, g_ ? g_ : "(null)", \
			     w_ ? w_ : "(null)");                                               \
	} while (0)

/* Substring check, for error messages. */
#define like(got, needle, ...)                                                                  \
	do {                                                                                    \
		const char *g_ = (got), *n_ = (needle);                                         \
		if (!tap_ok_(g_ != NULL && strstr(g_, n_) != NULL, __VA_ARGS__))                \
			diag("  %s:%d: '%s' does not contain '%s'", __FILE__, __LINE__,          \
			     g_ ? g_ : "(null)", n_);                                            \
	} while (0)

/* Skip a whole test program (automake treats exit 77 specially only
 * without TAP; with TAP we print a skip plan). */
#define tap_skip_all(...)                                                                       \
	do {                                                                                    \
		printf("1..0 # SKIP ");                                                         \
		printf(__VA_ARGS__);                                                            \
		printf("\n");                                                                   \
		exit(0);                                                                        \
	} while (0)

/* Print the plan and return the exit status for main. */
__attribute__((unused)) static int tap_done(void)
{
	printf("1..%d\n", tap_count_);
	return tap_failed_ ? 1 : 0;
}

#endif
