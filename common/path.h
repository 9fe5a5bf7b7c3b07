/* Safe path handling inside an image rootfs.
 *
 * Everything that touches a tree an image controls (layer extraction,
 * COPY/ADD, WORKDIR, USER lookup in the image's /etc/passwd) resolves paths
 * here, relative to a directory fd held on the root, with every symlink,
 * absolute symlink target and ".." resolved as if that directory were "/":
 * the semantics of openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). The
 * kernel does it when it has openat2; otherwise (ENOSYS, or a seccomp filter
 * answering EPERM) a component-by-component walk gives the same answers. An
 * untrusted path is never joined onto a host path as a string.
 *
 * Absolute and relative paths mean the same thing: both start at the root.
 * Magic links (/proc/<pid>/fd/N, /proc/<pid>/root, ...) are never followed,
 * because they jump to objects outside any root. Mount points inside the
 * root are crossed (no RESOLVE_NO_XDEV): what is mounted there (the
 * sandbox's /proc and /dev, RUN --mount binds) is part of the tree the
 * caller asked for, and the rootfs dirs we write into hold no mounts.
 *
 * Errors returned by the functions taking a root (errno kept in struct err):
 *   ERR_NOTFOUND  ENOENT, including "" as a path
 *   ERR_EXISTS    EEXIST (O_CREAT|O_EXCL never follows a final symlink)
 *   ERR_DENIED    EACCES, EPERM, EROFS
 *   ERR_INVALID   ELOOP (more than BALE_MAX_SYMLINKS links, a magic link,
 *                 O_NOFOLLOW on a symlink), ENOTDIR, EISDIR, EINVAL, EXDEV
 *   ERR_TOOBIG    ENAMETOOLONG (path of BALE_MAX_PATH bytes or more, a
 *                 component over NAME_MAX)
 *   ERR_BUSY      EAGAIN (the tree kept being renamed during the lookup)
 *   ERR_IO        anything else (EMFILE, ENOSPC, EIO, ...)
 */
#ifndef BALE_COMMON_PATH_H
#define BALE_COMMON_PATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

/* Open `path` inside the directory rootfd (AT_FDCWD: the cwd) with open(2)
 * `flags` (O_CLOEXEC is always added) and `mode` (used with O_CREAT or
 * O_TMPFILE only). A final symlink is followed inside the root unless
 * O_NOFOLLOW is given; O_CREAT through a dangling symlink creates its target
 * inside the root. Returns a new fd the caller closes, or a negative
 * err_code (see above). */
int path_open_in_root(int rootfd, const char *path, int flags, mode_t mode, struct err **err);

/* mkdir -p of `path` inside the root: existing directories and symlinks to
 * directories are followed inside the root, missing directories are created
 * with `mode` (less the umask), including the targets of dangling symlinks.
 * Returns an O_RDONLY|O_DIRECTORY|O_CLOEXEC fd of the last directory, which
 * the caller closes, or a negative err_code: ERR_INVALID with ENOTDIR when a
 * component is not a directory, else as above. */
int path_mkdir_in_root(int rootfd, const char *path, mode_t mode, struct err **err);

/* Resolve `path` inside the root to the path it names as seen from inside,
 * with every symlink expanded: "/" or "/a/b", never "." or ".." components.
 * Resolution stops following links at the first missing component; the rest
 * is appended lexically ("..", clamped at the root, included), so a path to
 * be created (WORKDIR) resolves too. On success *resolved is set to a string
 * the caller frees. Errors as above (a non-directory used as a directory is
 * ERR_INVALID/ENOTDIR; a result of BALE_MAX_PATH bytes or more ERR_TOOBIG). */
int path_resolve_in_root(int rootfd, const char *path, char **resolved, struct err **err);

/* Whether the directory fd (AT_FDCWD: the cwd) is the root or below it, by
 * walking ".." from fd and comparing each directory with rootfd by device,
 * inode and mount id. For the sandbox's last check that a leaked fd did not
 * leave its cwd outside the rootfs (runc CVE-2024-21626). Returns 1 when
 * inside, 0 when outside, or a negative err_code (ERR_INVALID/ENOTDIR when fd
 * is not a directory); callers treat anything but 1 as outside. */
int path_fd_is_within(int rootfd, int fd, struct err **err);

/* Lexical normalization with Go's path.Clean rules: repeated slashes become
 * one, "." components go, "x/.." pairs go, ".." right after a leading "/"
 * goes, no trailing slash; "" becomes ".". Symlinks are not consulted, so
 * the result is only a name: open it with path_open_in_root(). Returns a
 * string the caller frees (never NULL). */
char *path_clean(const char *p);

/* Whether the relative path `rel` stays inside the directory it is taken
 * from: false when it is absolute or when any ".." climbs above its start
 * ("..", "../x", "a/../../x"). Works on unclean input too. Symlinks are not
 * consulted. */
bool path_is_within(const char *rel);

/* Normalize an archive entry name (tar layers, build contexts) to a clean
 * relative path: leading slashes are dropped (absolute names are taken
 * relative to the root, as tar and Docker do), then path_clean() rules
 * apply; the root itself is ".". On success *clean is set to a string the
 * caller frees. Returns ERR_INVALID for an empty name or one whose ".."
 * climbs above the root (including "/../x", which no archive writer
 * produces), ERR_TOOBIG for a name of BALE_MAX_PATH bytes or more. */
int path_rel_safe(const char *name, char **clean, struct err **err);

#endif
