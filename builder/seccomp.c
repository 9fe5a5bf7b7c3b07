/* Loading the seccomp filter of a step. The BPF program is generated at
 * build time from builder/seccomp-profile.c by builder/seccomp-gen (with
 * the libseccomp bale links, for this architecture), so a step pays one
 * prctl(2) for it instead of libseccomp's 10-30 ms. */
#include "config.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include "builder/sandbox-internal.h"
#include "builder/seccomp-bpf.h"
#include "common/util.h"

int sbx_seccomp_program(const struct sock_fprog **out, struct err **err)
{
	static const struct sock_fprog prog = {
		.len = (unsigned short)ARRAY_SIZE(sbx_seccomp_bpf),
		.filter = (struct sock_filter *)sbx_seccomp_bpf,
	};
	(void)err;
	*out = &prog;
	return 0;
}

int sbx_seccomp_load(const struct sock_fprog *prog)
{
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) < 0)
		return -errno;
	return 0;
}
