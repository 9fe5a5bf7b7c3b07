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

/* Printable form of a test input for a TAP description (a raw newline would
 * end the TAP line, '#' would start a directive): bytes outside printable
 * ASCII as \xNN, cut at 200 bytes. Rotates over four static buffers so
 * several can appear in one call. */
__attribute__((unused)) static const char *tap_esc(const char *s)
{
	static char bufs[4][256];
	static unsigned next;
	char *out = bufs[next++ % 4];
	size_t o = 0;
	for (; *s != '\0' && o < 200; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f && c != '#') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = "0123456789abcdef"[c >> 4];
			out[o++] = "0123456789abcdef"[c & 15];
		}
	}
	if (*s != '\0') {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* depth '[' then depth ']': a nesting test for JSON and YAML flow parsers.
 * Caller frees. */
__attribute__((unused)) static char *tap_brackets(int depth)
{
	char *s = malloc((size_t)depth * 2 + 1);
	if (s == NULL)
		abort();
	memset(s, '[', (size_t)depth);
	memset(s + depth, ']', (size_t)depth);
	s[depth * 2] = '\0';
	return s;
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
