/* Capabilities of a step: Docker's default set, through the raw capset(2)
 * and prctl(2) interfaces (libcap is not a dependency for two syscalls). */
#include "config.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "builder/sandbox-internal.h"

#define BIT(c) ((uint64_t)1 << (c))

/* moby's oci/caps DefaultCapabilities(): 0xa80425fb. */
const uint64_t sbx_caps_default = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) |
				  BIT(CAP_FOWNER) | BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) |
				  BIT(CAP_SETGID) | BIT(CAP_SETUID) | BIT(CAP_SETFCAP) |
				  BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
				  BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);

int sbx_caps_last(void)
{
	static int last = -1;
	if (last >= 0)
		return last;
	/* PR_CAPBSET_READ answers EINVAL past the last capability: no need to
	 * read /proc/sys/kernel/cap_last_cap, which may not be mounted yet. */
	int c = 0;
	while (c < 64 && prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) >= 0)
		c++;
	last = c - 1;
	return last;
}

int sbx_caps_bound(uint64_t keep)
{
	int last = sbx_caps_last();
	for (int c = 0; c <= last; c++) {
		if (keep & BIT(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

int sbx_caps_set(uint64_t set)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		uint32_t word = (uint32_t)(set >> (32 * i));
		data[i].effective = word;
		data[i].permitted = word;
		/* Empty, as moby since CVE-2022-24769: an inheritable set
		 * would let file capabilities outlive an exec. */
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}
