/* The rootless sandbox every RUN step (and `bale run`) executes in.
 *
 * Two levels (DESIGN.md, "The sandbox"):
 *
 * 1. sbx_userns_enter(), once per process, before any thread is started:
 *    the process moves itself into a new user namespace and a private mount
 *    namespace. A forked helper maps the ids from outside: the user's
 *    subordinate range through newuidmap/newgidmap (/etc/subuid,
 *    /etc/subgid), the identity mapping of every id when run as real root,
 *    or, with no range configured, a single id (only uid 0 and gid 0 exist
 *    inside, see sbx_userns_limits()). From then on the process is root in
 *    that namespace: layer extraction can chown, overlayfs can be mounted
 *    (userxattr), COPY can set owners. No exec is needed: the namespaces are
 *    entered in place, so `bale` stays one process and a killed `bale`
 *    takes its mounts with it (the mount namespace dies with it).
 *
 * 2. sbx_run(), per step: a child in new pid, ipc, uts (and, with
 *    SBX_NETWORK_NONE, net) and mount namespaces mounts the rootfs (kernel
 *    overlayfs with the layers as lower dirs, or a copy when overlayfs
 *    cannot be mounted), /proc, a minimal /dev, /sys read-only, masks what
 *    runc masks, provides /etc/hosts, /etc/resolv.conf and /etc/hostname
 *    without writing them into the upper dir, pivots into the rootfs, and
 *    becomes pid 1 of the step: it reaps zombies and forwards signals. Its
 *    child drops capabilities to Docker's default set, sets no_new_privs,
 *    loads the seccomp filter equivalent to Docker's default profile, marks
 *    every inherited fd close-on-exec, checks its cwd is inside the rootfs
 *    and execs. Failures of either child come back over a pipe as a
 *    struct err; the library never prints.
 */
#ifndef BALE_BUILDER_SANDBOX_H
#define BALE_BUILDER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* ---------------------------------------------------------------- userns */

enum sbx_idmap {
	SBX_IDMAP_NONE = 0,   /* sbx_userns_enter() not called (or failed) */
	SBX_IDMAP_IDENTITY,   /* real root: every id maps to itself */
	SBX_IDMAP_SUBID,      /* 0 -> the user, 1..N -> the subordinate range */
	SBX_IDMAP_SINGLE,     /* 0 -> the user, nothing else */
};

struct sbx_userns {
	enum sbx_idmap mode;
	uid_t host_uid;  /* who ran bale */
	gid_t host_gid;
	/* SBX_IDMAP_SUBID: the ranges used (ids 1..count inside). */
	uint32_t subuid_start, subuid_count;
	uint32_t subgid_start, subgid_count;
	/* Ids that exist inside: 0..max_uid / 0..max_gid. */
	uint32_t max_uid, max_gid;
	bool setgroups_allowed; /* false with a single-id mapping */
};

/* Move this process into a new user + mount namespace (see above). Must be
 * called before any thread exists. Idempotent: later calls return 0 at
 * once. With a single-id mapping it succeeds; sbx_userns_limits() then says
 * what that limits (the caller prints it once). Errors: ERR_UNSUPPORTED
 * (the kernel refuses user namespaces: the message says which sysctl),
 * ERR_FAIL (newuidmap/newgidmap failed: their stderr is in the message),
 * ERR_IO. */
int sbx_userns_enter(struct err **err);

/* The mapping in use; mode is SBX_IDMAP_NONE before sbx_userns_enter(). The
 * struct is static: never freed. */
const struct sbx_userns *sbx_userns_get(void);

/* With a single-id mapping, one sentence saying why and what it limits
 * (static string); NULL otherwise. */
const char *sbx_userns_limits(void);

/* A short description of the mapping ("subordinate ids 100000-165535 for
 * uid 1000", ...) into buf. Returns buf. */
char *sbx_userns_describe(char *buf, size_t size);

/* ---------------------------------------------------------------- steps */

enum sbx_network {
	SBX_NETWORK_HOST = 0, /* the host's network (build steps need mirrors) */
	SBX_NETWORK_NONE,     /* a new network namespace with only lo, up */
};

enum sbx_rootfs_mode {
	SBX_ROOTFS_AUTO = 0, /* overlayfs, or the copy fallback when it cannot mount */
	SBX_ROOTFS_OVERLAY,  /* overlayfs or fail */
	SBX_ROOTFS_COPY,     /* always the copy fallback (tests, `bale info`) */
};

/* A host path bound into the rootfs. */
struct sbx_bind {
	const char *source; /* host path (file or directory) */
	const char *target; /* absolute path inside the rootfs */
	bool readonly;
};

/* The root filesystem of a step: either layers or a plain directory. */
struct sbx_rootfs {
	/* Extracted layers, topmost first (overlayfs' lowerdir order), in the
	 * overlay format: whiteouts are 0/0 character devices, opaque
	 * directories carry user.overlay.opaque="y". Up to SBX_MAX_LAYERS. */
	const char *const *lowers;
	size_t n_lowers;
	/* The step's diff directory (empty at first) and overlayfs' work dir
	 * (empty, on the same filesystem). Both NULL: changes are discarded
	 * (a tmpfs upper that vanishes with the step). After the run, upper
	 * holds exactly what the step changed, in the overlay format (also
	 * with the copy fallback). */
	const char *upper;
	const char *work;
	/* Instead of lowers: run directly in this directory, which the step
	 * changes in place. */
	const char *dir;
	enum sbx_rootfs_mode mode;
};

struct sbx_spec {
	struct sbx_rootfs rootfs;
	char *const *argv;     /* argv[0] is looked up in the step's PATH */
	char *const *env;      /* "K=V" strings; NULL: empty. PATH and HOME are
	                        * added when missing, as Docker does. */
	const char *cwd;       /* NULL or "": "/"; created when missing */
	const char *user;      /* "name|uid[:group|gid]" from the image's own
	                        * /etc/passwd and /etc/group; NULL or "": root */
	const char *hostname;  /* NULL: "bale" */
	enum sbx_network network;
	const struct sbx_bind *binds;
	size_t n_binds;
	/* The step's stdin, stdout, stderr (fds of the caller, left open);
	 * -1: /dev/null. */
	int stdio[3];
	/* Forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and
	 * SIGWINCH received during sbx_run() to the step (handlers are
	 * installed for the call and restored after). The third SIGINT or
	 * SIGTERM kills the step. */
	bool forward_signals;
};

/* How the step ended. */
struct sbx_result {
	int exit_code;  /* exit status when signal == 0; when sbx_run() fails,
	                 * 126 or 127 if the command could not be executed
	                 * (Docker's codes), else 0 */
	int signal;     /* the signal that killed it, or 0 */
	bool core_dumped;
	bool canceled;  /* it was killed after repeated SIGINT/SIGTERM */
	bool copied;    /* the copy fallback was used instead of overlayfs */
};

/* Overlayfs accepts at most this many lower layers (OVL_MAX_STACK), one of
 * which the sandbox uses for /etc/hosts and friends. */
#define SBX_MAX_LAYERS 499

/* Run one step and wait for it. Needs sbx_userns_enter() first. The step's
 * own failure is not an error: *res says how it ended. Errors (nothing
 * ran, or the step could not be started; the message names what failed):
 * ERR_NOTFOUND (the command, a lower dir, a bind source, USER not in the
 * image's /etc/passwd), ERR_DENIED (the command is not executable, the
 * working directory is not accessible), ERR_INVALID (a bad spec, a user id
 * not mapped in the namespace, a working directory that leaves the
 * rootfs), ERR_UNSUPPORTED (overlayfs refused with SBX_ROOTFS_OVERLAY, a
 * kernel without the namespaces needed), ERR_IO. */
int sbx_run(const struct sbx_spec *spec, struct sbx_result *res, struct err **err);

/* ---------------------------------------------------------------- info */

/* What the machine offers, for `bale info`. Strings are owned by the
 * struct (sbx_info_release). Probing overlayfs needs sbx_userns_enter(). */
struct sbx_info {
	char *kernel;          /* uname release */
	bool userns;           /* sbx_userns_enter() succeeded */
	char *userns_detail;   /* mapping in use, or why user namespaces fail */
	bool overlay;          /* overlayfs mounts in the user namespace */
	char *overlay_detail;  /* "userxattr", or why the copy fallback is used */
	bool seccomp;          /* the kernel filters syscalls */
	char *seccomp_detail;  /* libseccomp version, actions */
	char *cgroups;         /* "v2 (unified)", "v1 (hybrid)", "v1", "none" */
	bool newuidmap;        /* newuidmap and newgidmap are installed */
};
int sbx_info_probe(struct sbx_info *out, struct err **err);
void sbx_info_release(struct sbx_info *info);

#endif
