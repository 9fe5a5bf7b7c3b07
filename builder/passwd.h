/* USER resolution for a step, from the image's own /etc/passwd and
 * /etc/group (never the host's NSS), with the rules runc and Docker apply:
 *
 *   "name" or "uid"           the passwd entry matching the name, or the uid;
 *                             a uid without an entry runs as uid:0 with
 *                             HOME=/; supplementary groups are every group
 *                             of /etc/group that lists the user's name
 *   "user:group"              the group by name, or by gid (a gid without an
 *                             entry is used as is); no supplementary groups
 *   "" or NULL                root
 */
#ifndef BALE_BUILDER_PASSWD_H
#define BALE_BUILDER_PASSWD_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

struct sbx_user {
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups */
	size_t n_groups;
	char *home;    /* from passwd, or "/" */
	char *name;    /* the passwd entry's name, NULL when none matched */
};

void sbx_user_release(struct sbx_user *u);

/* Resolve spec against the text of an /etc/passwd and /etc/group (either
 * may be NULL: the file is absent). On success *out owns its strings and
 * array (sbx_user_release). Errors: ERR_NOTFOUND (a name with no entry:
 * "unable to find user 'x': no matching entries in passwd file"),
 * ERR_INVALID (an empty name or a number out of range), ERR_TOOBIG (more
 * than SBX_MAX_GROUPS supplementary groups). */
int sbx_user_resolve_text(struct sbx_user *out, const char *spec, const char *passwd,
			  const char *group, struct err **err);

/* As above, reading etc/passwd and etc/group inside the rootfs at rootfd
 * through common/path.h (symlinks resolved inside the root). A file larger
 * than SBX_MAX_ID_FILE is ERR_TOOBIG; other read errors ERR_IO. */
int sbx_user_resolve(struct sbx_user *out, int rootfd, const char *spec, struct err **err);

#endif
