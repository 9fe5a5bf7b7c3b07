/* Deferred loading of the libraries only some commands use.
 *
 * Mapping and relocating a shared library costs page faults at every start
 * of bale, used or not: libcurl, libgit2, libmicrohttpd and libarchive (with
 * what they pull in: libxml2, ICU, libstdc++, GnuTLS, ...) were about two
 * thirds of `bale version --short`'s faults, and libcrypto most of the
 * rest. bale therefore does not link them. common/lazy-<lib>.c defines each function bale calls, under the
 * library's own name and with the prototype from the library's own header
 * (so the compiler checks every signature), and forwards to the real one,
 * which the first call dlopen()s by the soname configure read from a linked
 * test program (BALE_SONAME_* in config.h). Call sites stay unchanged.
 *
 * A library that cannot be loaded, or lacks a function, is fatal as it would
 * have been at start-up: "bale: cannot load SONAME: why; install PACKAGE"
 * on stderr and exit status 1 (lazylib_die). There is no fallback: these
 * libraries are required, only deferred.
 *
 * A lazy-<lib>.c file lists its functions once in an X-macro,
 * FUNCS(F, V, H): F(ret, name, (params), (args)) for a function returning a
 * value, V(name, (params), (args)) for a void one, H(name) for one the file
 * writes out by hand with LAZYLIB_CALL (a variadic one), and then writes
 *
 *	LAZYLIB_LIBRARY(BALE_SONAME_X, BALE_PACKAGE_X)
 *
 * which defines the library, its table of pointers, its loader and every F
 * and V function.
 */
#ifndef BALE_COMMON_LAZYLIB_H
#define BALE_COMMON_LAZYLIB_H

#include <pthread.h>

struct lazylib {
	const char *soname;  /* what dlopen() is asked for, e.g. "libcurl.so.4" */
	const char *package; /* the Debian package shipping it, or "" if unknown */
	pthread_once_t once;
	void *handle; /* set once loaded; never closed */
};

#define LAZYLIB_INIT(soname, package) { (soname), (package), PTHREAD_ONCE_INIT, NULL }

/* The address of NAME in LIB, opening LIB first if needed. Call it only from
 * the library's pthread_once routine. Does not return on failure: prints
 * which library or function is missing and what to install, exits 1. */
void *lazylib_sym(struct lazylib *lib, const char *name);

/* Prints "PROGRAM: cannot load WHAT: WHY; install PACKAGE" and exits 1
 * (with _exit: the failure can happen on any thread, in the middle of any
 * command, so nothing else may run after it). Flushes stdout first. */
__attribute__((noreturn)) void lazylib_die(const struct lazylib *lib, const char *what,
					   const char *why);

/* The building blocks of LAZYLIB_LIBRARY (see above). They expect the
 * file's statics to be named lazy_lib, lazy_fn and lazy_load. */
#define LAZYLIB_POINTER(name) __typeof__(&name) name;
#define LAZYLIB_POINTER_F(ret, name, params, args) LAZYLIB_POINTER(name)
#define LAZYLIB_POINTER_V(name, params, args) LAZYLIB_POINTER(name)
#define LAZYLIB_RESOLVE(name) lazy_fn.name = (__typeof__(lazy_fn.name))lazylib_sym(&lazy_lib, #name);
#define LAZYLIB_RESOLVE_F(ret, name, params, args) LAZYLIB_RESOLVE(name)
#define LAZYLIB_RESOLVE_V(name, params, args) LAZYLIB_RESOLVE(name)
/* The real function NAME, the library loaded first if it is not yet. */
#define LAZYLIB_CALL(name) (pthread_once(&lazy_lib.once, lazy_load), lazy_fn.name)
#define LAZYLIB_DEFINE_F(ret, name, params, args)                                                 \
	ret name params                                                                            \
	{                                                                                          \
		return LAZYLIB_CALL(name) args;                                                    \
	}
#define LAZYLIB_DEFINE_V(name, params, args)                                                      \
	void name params                                                                           \
	{                                                                                          \
		LAZYLIB_CALL(name) args;                                                           \
	}
#define LAZYLIB_DEFINE_H(name)

/* The statics lazy_lib, lazy_fn and lazy_load of a lazy-<lib>.c file, and
 * its F and V functions, from the file's FUNCS list. */
#define LAZYLIB_LIBRARY(soname, package)                                                          \
	static struct lazylib lazy_lib = LAZYLIB_INIT(soname, package);                            \
	static struct {                                                                            \
		FUNCS(LAZYLIB_POINTER_F, LAZYLIB_POINTER_V, LAZYLIB_POINTER)                       \
	} lazy_fn;                                                                                 \
	static void lazy_load(void)                                                                \
	{                                                                                          \
		FUNCS(LAZYLIB_RESOLVE_F, LAZYLIB_RESOLVE_V, LAZYLIB_RESOLVE)                       \
	}                                                                                          \
	FUNCS(LAZYLIB_DEFINE_F, LAZYLIB_DEFINE_V, LAZYLIB_DEFINE_H)

#endif
