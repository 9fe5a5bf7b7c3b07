/* USER resolution from an image's /etc/passwd and /etc/group, and the
 * /etc/subuid parser. */
#include "config.h"

#include "builder/passwd.h"
#include "builder/sandbox-internal.h"
#include "tests/tap.h"

static const char passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"# a comment\n"
	"_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n"
	"postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/bash\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	"nohome:x:1001:1001\n"
	"dup:x:1002:1002::/first:/bin/sh\n"
	"dup:x:1003:1003::/second:/bin/sh\n";

static const char group[] =
	"root:x:0:\n"
	"wheel:x:10:root,postgres\n"
	"ssl-cert:x:108:postgres\n"
	"postgres:x:999:\n"
	"nogroup:x:65534:\n"
	"staff:x:50:\n";

static void resolve(const char *spec, int want_rc, unsigned uid, unsigned gid, const char *home,
		    size_t ngroups)
{
	struct sbx_user u;
	struct err *err = NULL;
	int r = sbx_user_resolve_text(&u, spec, passwd, group, &err);
	is_int(r, want_rc, "resolve '%s' -> %d", spec != NULL ? spec : "(null)", want_rc);
	if (r < 0) {
		if (err != NULL)
			diag("  %s", err_msg(err));
		err_free(err);
		return;
	}
	is_int(u.uid, uid, "  uid %u", uid);
	is_int(u.gid, gid, "  gid %u", gid);
	is_str(u.home, home, "  home %s", home);
	is_int(u.n_groups, ngroups, "  %zu supplementary groups", ngroups);
	sbx_user_release(&u);
}

static void test_resolve(void)
{
	resolve(NULL, 0, 0, 0, "/root", 1);          /* root is in wheel */
	resolve("", 0, 0, 0, "/root", 1);
	resolve("root", 0, 0, 0, "/root", 1);
	resolve("postgres", 0, 999, 999, "/var/lib/postgresql", 2);
	resolve("999", 0, 999, 999, "/var/lib/postgresql", 2); /* by uid: same entry */
	resolve("_apt", 0, 42, 65534, "/nonexistent", 0);
	resolve("nobody", 0, 65534, 65534, "/nonexistent", 0);
	resolve("1000", 0, 1000, 0, "/", 0);          /* no entry: gid 0, HOME=/ */
	resolve("nohome", 0, 1001, 1001, "/", 0);
	resolve("dup", 0, 1002, 1002, "/first", 0);   /* first match wins */
	resolve("postgres:staff", 0, 999, 50, "/var/lib/postgresql", 0); /* explicit: no sgids */
	resolve("postgres:4242", 0, 999, 4242, "/var/lib/postgresql", 0);
	resolve("1000:50", 0, 1000, 50, "/", 0);
	resolve("1000:nogroup", 0, 1000, 65534, "/", 0);
	resolve("nosuch", ERR_NOTFOUND, 0, 0, "", 0);
	resolve("root:nosuch", ERR_NOTFOUND, 0, 0, "", 0);
	resolve(":0", ERR_INVALID, 0, 0, "", 0);
	resolve("root:", ERR_INVALID, 0, 0, "", 0);
	resolve("4294967296", ERR_NOTFOUND, 0, 0, "", 0); /* not a valid id: a name */
	resolve("2147483648", ERR_INVALID, 0, 0, "", 0);

	struct sbx_user u;
	struct err *err = NULL;
	is_int(sbx_user_resolve_text(&u, "nosuch", passwd, group, &err), ERR_NOTFOUND,
	       "a missing name is an error");
	like(err_msg(err), "unable to find user 'nosuch': no matching entries in passwd file",
	     "  with runc's message");
	err_free(err);
	err = NULL;
	is_int(sbx_user_resolve_text(&u, "postgres", NULL, NULL, &err), ERR_NOTFOUND,
	       "no /etc/passwd: a name cannot resolve");
	err_free(err);
	is_int(sbx_user_resolve_text(&u, "12:34", NULL, NULL, NULL), 0,
	       "no /etc/passwd or /etc/group: numeric ids still work");
	is_int(u.uid, 12, "  uid 12");
	is_int(u.gid, 34, "  gid 34");
	sbx_user_release(&u);
}

static void test_subid(void)
{
	const char *text = "# comment\nalice:100000:65536\n1001:200000:1000\nbob:0:0\nbob:300000:5\n";
	uint32_t start = 0, count = 0;
	is_int(sbx_subid_find(text, "alice", 1000, &start, &count, NULL), 0, "subuid by name");
	is_int(start, 100000, "  start");
	is_int(count, 65536, "  count");
	is_int(sbx_subid_find(text, "carol", 1001, &start, &count, NULL), 0, "subuid by uid");
	is_int(start, 200000, "  start");
	is_int(sbx_subid_find(text, "bob", 1002, &start, &count, NULL), 0,
	       "an empty range is skipped");
	is_int(start, 300000, "  the next one is used");
	is_int(sbx_subid_find(text, "dave", 1003, &start, &count, NULL), ERR_NOTFOUND,
	       "no range for an unknown user");
	is_int(sbx_subid_find("eve:x:1\n", "eve", 1, &start, &count, NULL), ERR_INVALID,
	       "a malformed range is an error");
	is_int(sbx_subid_find("", "eve", 1, &start, &count, NULL), ERR_NOTFOUND, "empty file");
}

int main(void)
{
	test_resolve();
	test_subid();
	return tap_done();
}
