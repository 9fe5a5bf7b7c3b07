/* libcurl, loaded on first use (common/lazylib.h). */
#include "config.h"

/* curl.h otherwise wraps curl_easy_setopt and curl_share_setopt in
 * type-checking macros (typecheck-gcc.h), which would turn the definitions
 * below into macro calls. The call sites keep the checks. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <stdarg.h>

#include "common/lazylib.h"

#define FUNCS(F, V, H)                                                                            \
	V(curl_easy_cleanup, (CURL * curl), (curl))                                                \
	F(CURL *, curl_easy_init, (void), ())                                                      \
	F(CURLcode, curl_easy_perform, (CURL * curl), (curl))                                      \
	V(curl_easy_reset, (CURL * curl), (curl))                                                  \
	F(const char *, curl_easy_strerror, (CURLcode code), (code))                               \
	F(CURLcode, curl_global_init, (long flags), (flags))                                       \
	F(CURLSHcode, curl_share_cleanup, (CURLSH * share), (share))                               \
	F(CURLSH *, curl_share_init, (void), ())                                                   \
	F(struct curl_slist *, curl_slist_append, (struct curl_slist * list, const char *s),       \
	  (list, s))                                                                               \
	V(curl_slist_free_all, (struct curl_slist * list), (list))                                 \
	F(curl_version_info_data *, curl_version_info, (CURLversion v), (v))                       \
	H(curl_easy_setopt)                                                                        \
	H(curl_share_setopt)

LAZYLIB_LIBRARY(BALE_SONAME_CURL, BALE_PACKAGE_CURL)

/* A variadic call cannot be forwarded as such, so the one argument is read
 * with the type curl itself reads it with: the option number says which
 * (CURLOPTTYPE_* in curl.h, the base of each option's number). Function and
 * object pointers travel as one generic pointer type of their kind, which
 * has the same representation as the caller's on every ABI curl supports. */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	__typeof__(lazy_fn.curl_easy_setopt) real = LAZYLIB_CALL(curl_easy_setopt);
	CURLcode rc;
	va_list ap;
	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = real(curl, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT) /* also STRINGPOINT, SLISTPOINT, CBPOINT */
		rc = real(curl, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		rc = real(curl, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		rc = real(curl, option, va_arg(ap, curl_off_t));
	else if (option < CURLOPTTYPE_BLOB + 10000)
		rc = real(curl, option, va_arg(ap, struct curl_blob *));
	else
		rc = CURLE_UNKNOWN_OPTION; /* what curl answers, without reading an argument */
	va_end(ap);
	return rc;
}

/* The share options have no type in their number: each is listed (all of
 * curl.h's CURLSHoption values). */
CURLSHcode curl_share_setopt(CURLSH *share, CURLSHoption option, ...)
{
	__typeof__(lazy_fn.curl_share_setopt) real = LAZYLIB_CALL(curl_share_setopt);
	CURLSHcode rc;
	va_list ap;
	va_start(ap, option);
	switch (option) {
	case CURLSHOPT_SHARE:
	case CURLSHOPT_UNSHARE:
		rc = real(share, option, va_arg(ap, int)); /* a curl_lock_data, promoted */
		break;
	case CURLSHOPT_LOCKFUNC:
	case CURLSHOPT_UNLOCKFUNC:
		rc = real(share, option, va_arg(ap, void (*)(void)));
		break;
	case CURLSHOPT_USERDATA:
		rc = real(share, option, va_arg(ap, void *));
		break;
	default:
		rc = CURLSHE_BAD_OPTION;
		break;
	}
	va_end(ap);
	return rc;
}
