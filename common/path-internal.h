/* The two implementations behind path_open_in_root(), exposed so that
 * tests/unit/common/test-path.c runs one table through both and checks they
 * agree. Not for use outside common/ and its tests. */
#ifndef BALE_COMMON_PATH_INTERNAL_H
#define BALE_COMMON_PATH_INTERNAL_H

#include <sys/types.h>

/* openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), retried on EAGAIN, and
 * on an ELOOP the kernel does not confirm: it can count links twice in a
 * lookup it had to restart (see path.c). Returns a new fd or -errno
 * (-ENOSYS when built without SYS_openat2). */
int path_open_in_root_openat2(int rootfd, const char *path, int flags, mode_t mode);

/* The same lookup done in user space, one component at a time, for kernels
 * or seccomp profiles without openat2. Returns a new fd or -errno. */
int path_open_in_root_walk(int rootfd, const char *path, int flags, mode_t mode);

#endif
