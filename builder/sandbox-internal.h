/* Internals of the sandbox shared by builder/sandbox*.c, userns.c, caps.c,
 * seccomp.c, overlay*.c and their tests. Not for other modules. */
#ifndef BALE_BUILDER_SANDBOX_INTERNAL_H
#define BALE_BUILDER_SANDBOX_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "builder/sandbox.h"
#include "common/error.h"

/* ---- module caps (module-specific, so here rather than common/limits.h) */

/* One message from a sandbox child: fits in PIPE_BUF so a write is atomic. */
#define SBX_MSG_TEXT 2048
/* /etc/subuid, /etc/subgid, and an image's /etc/passwd and /etc/group. */
#define SBX_MAX_ID_FILE (16u << 20)
/* Supplementary groups of a step's user (the kernel's NGROUPS_MAX). */
#define SBX_MAX_GROUPS 65536
/* newuidmap's stderr kept for an error message. */
#define SBX_MAX_HELPER_OUTPUT 4096

/* ---- the child -> parent pipe */

enum sbx_msg_kind {
	SBX_MSG_ERROR = 1,  /* setup failed: code, errnum, text */
	SBX_MSG_STATUS = 2, /* the step ended: status is a wait(2) status */
	SBX_MSG_NO_OVERLAY = 3, /* overlayfs refused to mount: errnum, text */
};

struct sbx_msg {
	int32_t kind;
	int32_t code;
	int32_t errnum;
	int32_t status;
	char text[SBX_MSG_TEXT];
};

/* Write an error message to fd (from a child; async-signal-safe enough:
 * vsnprintf and write). */
void sbx_msg_send(int fd, int kind, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void sbx_msg_sendv(int fd, int kind, int code, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

/* ---- capabilities (caps.c) */

/* Docker's default capability set, as a bit mask of CAP_* numbers. */
extern const uint64_t sbx_caps_default;
/* Highest capability number the kernel knows. */
int sbx_caps_last(void);
/* Drop every capability outside `keep` from the bounding set and clear the
 * ambient set (needs CAP_SETPCAP). -errno. */
int sbx_caps_bound(uint64_t keep);
/* Set effective and permitted to `set` (inheritable empty) (after the uid switch:
 * root keeps the default set, other users get none). -errno. */
int sbx_caps_set(uint64_t set);

/* ---- seccomp (seccomp.c) */

struct sock_fprog;
/* Build the default profile with libseccomp and write its BPF to fd
 * (seccomp-gen, at build time). 0 or -errno. */
int sbx_seccomp_export(int fd);
/* The BPF program of the default profile, generated at build time (static,
 * never freed). Cannot fail today; the error is for a future runtime
 * fallback. */
int sbx_seccomp_program(const struct sock_fprog **out, struct err **err);
/* Install prog on the calling thread (no_new_privs must be set). -errno. */
int sbx_seccomp_load(const struct sock_fprog *prog);
/* Syscalls the profile allows, for tests: whether name is allowed without
 * conditions. */
bool sbx_seccomp_allows(const char *name);

/* ---- user namespace helpers (userns.c) */

/* Parse /etc/subuid-format text for the user `name` or uid `id`: the first
 * matching range. 0 (found), ERR_NOTFOUND, ERR_INVALID. */
int sbx_subid_find(const char *text, const char *name, uint32_t id, uint32_t *start,
		   uint32_t *count, struct err **err);

/* ---- mounts inside the step (sandbox-mount.c) */

struct sbx_mount_ctx {
	const struct sbx_spec *spec;
	const char *stage;   /* tmpfs in the step's mount namespace */
	const char *root;    /* the new root, below stage */
	int *bind_fds;       /* O_PATH fds of the bind sources, opened by the parent */
	bool netns;          /* a new network namespace */
	const char *hosts;   /* contents of /etc/hosts, resolv.conf, hostname */
	const char *resolv;
	const char *hostname;
};
/* Everything between "the rootfs is mounted at root" and pivot_root:
 * /proc, /dev, /sys, binds, masks, /etc files. Returns 0 or a negative
 * err_code with *err set. */
int sbx_mount_system(const struct sbx_mount_ctx *c, struct err **err);
/* pivot_root into root and detach the old root. */
int sbx_mount_pivot(const char *root, struct err **err);

/* ---- rootfs (overlay.c) */

/* Mount overlayfs at target with the given lower fds (topmost first),
 * upper and work fds, through /proc/self/fd so that hundreds of layers fit
 * in one option string. -errno from mount(2). */
int sbx_overlay_mount(const char *target, const int *lower_fds, size_t n_lowers, int upper_fd,
		      int work_fd, char *errbuf, size_t errsize);

/* The copy fallback: copy the union of the layers (topmost first, whiteouts
 * and opaque directories applied) into the empty directory dst. */
int sbx_copy_layers(int dst_fd, const char *const *lowers, size_t n_lowers, struct err **err);
/* After the step: write into upper what differs between the tree at
 * merged_fd and the union of the layers, in the overlay format (changed
 * and new entries copied, deleted ones as 0/0 whiteouts). Paths listed in
 * `skip` (relative, e.g. "etc/hosts") are left out. */
int sbx_copy_diff(int upper_fd, int merged_fd, const char *const *lowers, size_t n_lowers,
		  const char *const *skip, struct err **err);

/* rm -rf path (no symlink followed). ERR_IO. */
int sbx_remove_tree(const char *path, struct err **err);

#endif
