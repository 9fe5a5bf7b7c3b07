/* The dlopen/dlsym half of the lazy loader (common/lazylib.h). */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "common/lazylib.h"

void lazylib_die(const struct lazylib *lib, const char *what, const char *why)
{
	fflush(stdout);
	if (lib->package[0] != '\0')
		fprintf(stderr, "%s: cannot load %s: %s; install %s\n",
			program_invocation_short_name, what, why, lib->package);
	else
		fprintf(stderr, "%s: cannot load %s: %s; install the package that ships %s\n",
			program_invocation_short_name, what, why, lib->soname);
	_exit(1);
}

void *lazylib_sym(struct lazylib *lib, const char *name)
{
	if (lib->handle == NULL) {
		/* RTLD_LOCAL: the library's symbols must not interpose on
		 * anything else; bale reaches them only through dlsym. */
		lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (lib->handle == NULL) {
			const char *why = dlerror();
			lazylib_die(lib, lib->soname, why != NULL ? why : "dlopen failed");
		}
	}
	dlerror();
	void *p = dlsym(lib->handle, name);
	if (p == NULL) {
		const char *why = dlerror();
		char what[256];
		snprintf(what, sizeof(what), "%s from %s", name, lib->soname);
		lazylib_die(lib, what, why != NULL ? why : "the symbol is NULL");
	}
	return p;
}
