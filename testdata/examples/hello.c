/* bale's example program: a greeting, then what it was built with and
 * where it runs, so the output shows the build (version build argument,
 * the toolchain image's compiler) and the container (user, hostname). */
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef APP_VERSION
#define APP_VERSION "dev"
#endif

int main(int argc, char **argv)
{
	const char *who = argc > 1 ? argv[1] : "world";
	struct utsname u;

	printf("Hello, %s!\n", who);
	printf("hello %s, built by gcc %s, statically linked\n", APP_VERSION, __VERSION__);
	if (uname(&u) == 0)
		printf("running as uid %d on %s (%s)\n", (int)getuid(), u.nodename, u.machine);
	return ferror(stdout) ? 1 : 0;
}
