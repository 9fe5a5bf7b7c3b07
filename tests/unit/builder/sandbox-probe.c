/* A static helper run inside the sandbox by tests/integration/sandbox-escape.sh:
 * each check attempts one escape and prints `CHECK: RESULT`, where RESULT is
 * the errno name of the refusal (EPERM, EROFS, ...) or what was obtained.
 * Built without sanitizers and linked statically so that it runs in a
 * rootfs holding nothing but busybox. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

static void report(const char *check, int rc)
{
	if (rc < 0)
		printf("%s: %s\n", check, strerrorname_np(errno));
	else
		printf("%s: ok\n", check);
}

/* Read a file: its bytes, or the errno name. */
static void read_file(const char *check, const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		report(check, -1);
		return;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n < 0) {
		report(check, -1);
	} else {
		buf[n] = '\0';
		printf("%s: %zd bytes: %.40s\n", check, n, buf);
	}
	close(fd);
}

/* The classic chroot escape: chroot into a subdirectory while keeping the
 * cwd outside it, climb, chroot("."), then write `path`. */
static void chroot_escape(const char *path)
{
	mkdir("/tmp/jail", 0755);
	if (chroot("/tmp/jail") < 0) {
		report("chroot-escape", -1);
		return;
	}
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			break;
	if (chroot(".") < 0) {
		report("chroot-escape", -1);
		return;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	report("chroot-escape", fd);
	if (fd >= 0)
		(void)!write(fd, "escaped\n", 8);
}

static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	printf("fds:");
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && strtol(de->d_name, NULL, 10) != dirfd(d))
			printf(" %s", de->d_name);
	printf("\n");
	if (d != NULL)
		closedir(d);
}

static void raise_cap(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0) {
		report("capset", -1);
		return;
	}
	d[0].effective |= 1u << CAP_SYS_ADMIN;
	d[0].permitted |= 1u << CAP_SYS_ADMIN;
	report("capset", (int)syscall(SYS_capset, &h, d));
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *c = argv[i];
		const char *arg = i + 1 < argc ? argv[i + 1] : "";
		if (strcmp(c, "shadow") == 0)
			read_file("shadow", "/etc/shadow");
		else if (strcmp(c, "init-root") == 0)
			read_file("init-root", "/proc/1/root/etc/shadow");
		else if (strcmp(c, "kcore") == 0)
			read_file("kcore", "/proc/kcore");
		else if (strcmp(c, "sysrq") == 0)
			report("sysrq", open("/proc/sysrq-trigger", O_WRONLY));
		else if (strcmp(c, "write-outside") == 0) {
			report("write-outside", open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0644));
			i++;
		} else if (strcmp(c, "chroot-escape") == 0) {
			chroot_escape(arg);
			i++;
		} else if (strcmp(c, "mount") == 0)
			report("mount", mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
		else if (strcmp(c, "ptrace-host") == 0) {
			report("ptrace-host", (int)ptrace(PTRACE_ATTACH, (pid_t)strtol(arg, NULL, 10), 0, 0));
			i++;
		} else if (strcmp(c, "ptrace-init") == 0)
			report("ptrace-init", (int)ptrace(PTRACE_ATTACH, 1, 0, 0));
		else if (strcmp(c, "init-fds") == 0)
			report("init-fds", readlink("/proc/1/fd/0", (char[64]){ 0 }, 64) < 0 ? -1 : 0);
		else if (strcmp(c, "fds") == 0)
			list_fds();
		else if (strcmp(c, "tiocsti") == 0) {
			char ch = 'x';
			printf("isatty: %d\n", isatty(0));
			report("tiocsti", ioctl(0, TIOCSTI, &ch));
		} else if (strcmp(c, "module") == 0) {
			report("init_module", (int)syscall(SYS_init_module, "", 0, ""));
			report("finit_module", (int)syscall(SYS_finit_module, 0, "", 0));
		} else if (strcmp(c, "capset") == 0)
			raise_cap();
		else if (strcmp(c, "unshare") == 0)
			report("unshare", unshare(CLONE_NEWUSER));
		else if (strcmp(c, "keyctl") == 0)
			report("keyctl", (int)syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
		else if (strcmp(c, "sid") == 0)
			printf("sid-is-self: %d\n", getsid(0) == getpid());
	}
	return 0;
}
