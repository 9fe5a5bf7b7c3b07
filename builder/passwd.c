/* USER resolution from the image's /etc/passwd and /etc/group (passwd.h). */
#include "config.h"

#include "builder/passwd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "builder/sandbox-internal.h"
#include "common/buf.h"
#include "common/path.h"
#include "common/util.h"

/* Largest id runc accepts (ids are signed 32-bit in Go's user package). */
#define SBX_MAX_ID 2147483647u

void sbx_user_release(struct sbx_user *u)
{
	free(u->groups);
	free(u->home);
	free(u->name);
	memset(u, 0, sizeof *u);
}

/* Split one line into at most max fields at ':'; returns the count.
 * Fields point into line, which is modified. */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (n < max) {
		f[n++] = p;
		char *c = strchr(p, ':');
		if (c == NULL)
			break;
		*c = '\0';
		p = c + 1;
	}
	return n;
}

/* Next line of text (copied, the caller frees), or NULL at the end. */
static char *next_line(const char **pos)
{
	const char *p = *pos;
	if (p == NULL || *p == '\0')
		return NULL;
	const char *eol = strchr(p, '\n');
	size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
	*pos = p + len + (eol != NULL);
	char *line = xstrndup(p, len);
	return str_trim(line);
}

static bool parse_id(const char *s, uint32_t *out)
{
	unsigned int v;
	if (str_to_uint(s, SBX_MAX_ID, &v) < 0)
		return false;
	*out = v;
	return true;
}

struct pw_entry {
	char *name;
	uint32_t uid, gid;
	char *home;
};

/* The first passwd entry whose name is arg, or whose uid is arg's number. */
static bool passwd_find(const char *text, const char *arg, bool numeric, uint32_t id,
			struct pw_entry *out)
{
	const char *pos = text;
	char *line;
	while ((line = next_line(&pos)) != NULL) {
		char *f[7] = { 0 };
		size_t n = split_fields(line, f, 7);
		uint32_t uid = 0, gid = 0;
		bool match = n >= 3 && line[0] != '\0' && line[0] != '#' && line[0] != '+' &&
			     line[0] != '-' && parse_id(f[2], &uid) &&
			     (strcmp(f[0], arg) == 0 || (numeric && uid == id));
		if (match) {
			if (n < 4 || !parse_id(f[3], &gid))
				gid = 0;
			out->name = xstrdup(f[0]);
			out->uid = uid;
			out->gid = gid;
			out->home = xstrdup(n >= 6 && f[5][0] != '\0' ? f[5] : "/");
			free(line);
			return true;
		}
		free(line);
	}
	return false;
}

/* Whether a comma-separated member list names user. */
static bool members_have(const char *list, const char *user)
{
	size_t ulen = strlen(user);
	for (const char *p = list; *p != '\0';) {
		const char *c = strchr(p, ',');
		size_t len = c != NULL ? (size_t)(c - p) : strlen(p);
		if (len == ulen && memcmp(p, user, len) == 0)
			return true;
		p += len + (c != NULL);
	}
	return false;
}

/* Walk /etc/group: with group_arg, the first group named so (or with that
 * gid when numeric) goes to *gid and 1 is returned; without, every group
 * listing user is appended to groups. */
static int group_scan(const char *text, const char *group_arg, bool numeric, uint32_t want,
		      const char *user, struct sbx_user *u, uint32_t *gid, struct err **err)
{
	const char *pos = text;
	char *line;
	while ((line = next_line(&pos)) != NULL) {
		char *f[4] = { 0 };
		size_t n = split_fields(line, f, 4);
		uint32_t g;
		bool valid = n >= 3 && line[0] != '\0' && line[0] != '#' && line[0] != '+' &&
			     line[0] != '-' && parse_id(f[2], &g);
		if (valid && group_arg != NULL &&
		    (numeric ? g == want : strcmp(f[0], group_arg) == 0)) {
			*gid = g;
			free(line);
			return 1;
		}
		if (valid && group_arg == NULL && user != NULL && n == 4 && members_have(f[3], user)) {
			if (u->n_groups >= SBX_MAX_GROUPS) {
				free(line);
				return err_set(err, ERR_TOOBIG, "user '%s' is in more than %u groups",
					       user, SBX_MAX_GROUPS);
			}
			u->groups = xreallocarray(u->groups, u->n_groups + 1, sizeof *u->groups);
			u->groups[u->n_groups++] = g;
		}
		free(line);
	}
	return 0;
}

static int resolve_user_part(struct sbx_user *u, const char *arg, const char *passwd,
			     struct err **err)
{
	uint32_t id = 0;
	bool numeric = parse_id(arg, &id);
	if (!numeric && str_to_uint(arg, UINT32_MAX, &(unsigned int){ 0 }) == 0)
		return err_set(err, ERR_INVALID, "user id '%s' is out of range", arg);
	struct pw_entry e = { 0 };
	if (passwd != NULL && passwd_find(passwd, arg, numeric, id, &e)) {
		u->uid = e.uid;
		u->gid = e.gid;
		u->home = e.home;
		u->name = e.name;
		return 0;
	}
	if (!numeric)
		return err_set(err, ERR_NOTFOUND,
			       "unable to find user '%s': no matching entries in passwd file", arg);
	u->uid = id;
	u->gid = 0;
	u->home = xstrdup("/");
	return 0;
}

int sbx_user_resolve_text(struct sbx_user *out, const char *spec, const char *passwd,
			  const char *group, struct err **err)
{
	struct sbx_user u = { 0 };
	if (spec == NULL || spec[0] == '\0')
		spec = "0";
	cleanup_free char *user_arg = xstrdup(spec);
	char *group_arg = strchr(user_arg, ':');
	if (group_arg != NULL)
		*group_arg++ = '\0';
	if (user_arg[0] == '\0' || (group_arg != NULL && group_arg[0] == '\0'))
		return err_set(err, ERR_INVALID, "invalid user '%s': empty name", spec);
	int r = resolve_user_part(&u, user_arg, passwd, err);
	if (r < 0)
		return r;
	if (group_arg != NULL) {
		uint32_t want = 0, gid = 0;
		bool numeric = parse_id(group_arg, &want);
		r = group != NULL ? group_scan(group, group_arg, numeric, want, NULL, &u, &gid, err) : 0;
		if (r == 0 && !numeric) {
			sbx_user_release(&u);
			return err_set(err, ERR_NOTFOUND,
				       "unable to find group '%s': no matching entries in group file",
				       group_arg);
		}
		u.gid = r == 1 ? gid : want;
	} else if (u.name != NULL && group != NULL) {
		r = group_scan(group, NULL, false, 0, u.name, &u, NULL, err);
		if (r < 0) {
			sbx_user_release(&u);
			return r;
		}
	}
	*out = u;
	return 0;
}

/* Read etc/<name> inside the root: *text is NULL when it does not exist. */
static int read_id_file(int rootfd, const char *name, char **text, struct err **err)
{
	*text = NULL;
	struct err *e = NULL;
	cleanup_close int fd = path_open_in_root(rootfd, name, O_RDONLY, 0, &e);
	if (fd < 0) {
		int code = err_code(e);
		if (code == ERR_NOTFOUND) {
			err_free(e);
			return 0;
		}
		err_move(err, &e);
		return err_wrap(err, "cannot open '%s' in the image", name);
	}
	struct buf b;
	buf_init(&b, SBX_MAX_ID_FILE);
	if (buf_read_fd(&b, fd, name, err) < 0) {
		buf_release(&b);
		return err_wrap(err, "cannot read '%s' in the image", name);
	}
	*text = buf_detach(&b, NULL);
	return 0;
}

int sbx_user_resolve(struct sbx_user *out, int rootfd, const char *spec, struct err **err)
{
	cleanup_free char *passwd = NULL;
	cleanup_free char *group = NULL;
	int r = read_id_file(rootfd, "/etc/passwd", &passwd, err);
	if (r == 0)
		r = read_id_file(rootfd, "/etc/group", &group, err);
	if (r == 0)
		r = sbx_user_resolve_text(out, spec, passwd, group, err);
	return r;
}
