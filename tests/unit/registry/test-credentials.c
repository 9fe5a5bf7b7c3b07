/* docker config.json credentials: the key forms docker and other tools
 * write, identity tokens, credHelpers/credsStore through a helper speaking
 * docker's protocol, atomic 0600 writes that keep the rest of the file,
 * and the errors. */
#include <config.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/buf.h"
#include "common/util.h"
#include "registry/credentials.h"
#include "registry/transport.h"
#include "tests/tap.h"

static char dir[] = "/tmp/bale-test-creds-XXXXXX";

static char *write_file(const char *name, const char *text, int mode)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, (mode_t)mode);
	return path;
}

static char *read_text(const char *path)
{
	struct buf b;
	buf_init(&b, 1u << 20);
	buf_read_file(&b, AT_FDCWD, path, NULL);
	return buf_detach(&b, NULL);
}

static void test_auths(void)
{
	struct regc_cred c;
	struct err *err = NULL;
	cleanup_free char *path = write_file(
		"a.json",
		"{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"aHViOnB3\"},"
		"\"http://reg.example:5000/v2/\":{\"auth\":\"dTpwOmVudA==\"},"
		"\"tok.example\":{\"auth\":\"\",\"identitytoken\":\"rt-1\"},"
		"\"helper.example\":{}}}",
		0600);
	is_int(regc_creds_get(&c, path, "docker.io", &err), 0, "docker hub under its v1 key");
	is_str(c.username, "hub", "user decoded");
	is_str(c.password, "pw", "password decoded");
	is_str(c.source, path, "source is the file");
	regc_cred_release(&c);

	is_int(regc_creds_get(&c, path, "reg.example:5000", &err), 0, "a key with scheme and path");
	is_str(c.password, "p:ent", "only the first ':' separates user and password");
	regc_cred_release(&c);

	is_int(regc_creds_get(&c, path, "tok.example", &err), 0, "an identity token entry");
	ok(c.username == NULL, "no user with a token alone");
	is_str(c.identity_token, "rt-1", "the token");
	regc_cred_release(&c);

	is_int(regc_creds_get(&c, path, "helper.example", &err), ERR_NOTFOUND,
	       "an empty placeholder entry is no credential");
	err_freep(&err);
	is_int(regc_creds_get(&c, path, "other.example", &err), ERR_NOTFOUND, "unknown registry");
	like(err_msg(err), "other.example", "message names the registry");
	err_freep(&err);

	cleanup_free char *missing = xasprintf("%s/none.json", dir);
	is_int(regc_creds_get(&c, missing, "x", &err), ERR_NOTFOUND, "no file: not found");
	err_freep(&err);

	cleanup_free char *bad = write_file("bad.json", "{\"auths\":{\"x\":{\"auth\":\"!!\"}}}", 0600);
	is_int(regc_creds_get(&c, bad, "x", &err), ERR_INVALID, "bad base64 is invalid");
	like(err_msg(err), "auths.x.auth", "message names the field");
	err_freep(&err);
	cleanup_free char *bad2 = write_file("bad2.json", "[1]", 0600);
	is_int(regc_creds_get(&c, bad2, "x", &err), ERR_INVALID, "a non-object config is invalid");
	err_freep(&err);
}

static void test_store_erase(void)
{
	struct err *err = NULL;
	cleanup_free char *path = xasprintf("%s/sub/config.json", dir);
	cleanup_free char *where = NULL;
	is_int(regc_creds_store(path, "reg:5000", "alice", "s3cret", &where, &err), 0,
	       "store into a new file");
	is_str(where, path, "stored in the file");
	struct stat st;
	stat(path, &st);
	is_int(st.st_mode & 0777, 0600, "the file is 0600");
	cleanup_free char *sub = xasprintf("%s/sub", dir);
	stat(sub, &st);
	is_int(st.st_mode & 0777, 0700, "its new directory is 0700");
	cleanup_free char *text = read_text(path);
	like(text, "\"auth\": \"YWxpY2U6czNjcmV0\"", "docker's base64 entry");

	struct regc_cred c;
	is_int(regc_creds_get(&c, path, "reg:5000", &err), 0, "read back");
	is_str(c.password, "s3cret", "same password");
	regc_cred_release(&c);

	cleanup_free char *other = write_file(
		"keep.json", "{\"auths\":{\"docker.io\":{\"auth\":\"eDp5\"}},\"psFormat\":\"table\"}", 0644);
	is_int(regc_creds_store(other, "docker.io", "u", "p", NULL, &err), 0, "store for docker hub");
	cleanup_free char *kept = read_text(other);
	like(kept, "\"psFormat\": \"table\"", "other fields are kept");
	like(kept, "https://index.docker.io/v1/", "docker hub is filed under its v1 key");
	ok(strstr(kept, "\"docker.io\"") == NULL, "the old key for the same registry is replaced");

	is_int(regc_creds_erase(other, "docker.io", &err), 0, "erase");
	is_int(regc_creds_get(&c, other, "docker.io", &err), ERR_NOTFOUND, "gone");
	err_freep(&err);
	is_int(regc_creds_erase(other, "docker.io", &err), ERR_NOTFOUND, "second erase: not found");
	err_freep(&err);
}

static void test_helper(void)
{
	struct err *err = NULL;
	/* A helper speaking docker's protocol over a directory of files. */
	cleanup_free char *store = xasprintf("%s/helper-data", dir);
	cleanup_free char *script = xasprintf(
		"#!/bin/sh\n"
		"d=%s; mkdir -p $d\n"
		"case \"$1\" in\n"
		"get) k=$(cat | tr '/:' '__'); [ -f $d/$k ] && cat $d/$k || "
		"{ echo 'credentials not found in native keychain'; exit 1; } ;;\n"
		"store) j=$(cat); k=$(printf '%%s' \"$j\" | sed 's/.*\"ServerURL\":\"\\([^\"]*\\)\".*/\\1/' "
		"| tr '/:' '__'); printf '%%s' \"$j\" > $d/$k ;;\n"
		"erase) k=$(cat | tr '/:' '__'); rm $d/$k || exit 1 ;;\n"
		"*) exit 3 ;;\n"
		"esac\n",
		store);
	cleanup_free char *h = write_file("docker-credential-unittest", script, 0755);
	cleanup_free char *fail = write_file("docker-credential-broken",
					     "#!/bin/sh\necho 'helper exploded'\nexit 2\n", 0755);
	cleanup_free char *newpath = xasprintf("%s:%s", dir, getenv("PATH"));
	setenv("PATH", newpath, 1);

	cleanup_free char *path = write_file(
		"h.json", "{\"credsStore\":\"broken\",\"credHelpers\":{\"reg:5000\":\"unittest\"}}", 0600);
	struct regc_cred c;
	is_int(regc_creds_get(&c, path, "reg:5000", &err), ERR_NOTFOUND, "helper: nothing stored yet");
	err_freep(&err);
	cleanup_free char *where = NULL;
	is_int(regc_creds_store(path, "reg:5000", "bob", "pw", &where, &err), 0, "store via credHelpers");
	is_str(where, "docker-credential-unittest", "stored by the helper");
	cleanup_free char *text = read_text(path);
	ok(strstr(text, "pw") == NULL, "the secret is not in config.json");
	is_int(regc_creds_get(&c, path, "reg:5000", &err), 0, "get via the helper");
	is_str(c.username, "bob", "user from the helper");
	is_str(c.password, "pw", "secret from the helper");
	is_str(c.source, "docker-credential-unittest", "source names the helper");
	regc_cred_release(&c);

	is_int(regc_creds_get(&c, path, "other:1", &err), ERR_FAIL, "credsStore for the others: a failing helper");
	like(err_msg(err), "helper exploded", "its output is in the message");
	err_freep(&err);

	cleanup_free char *nohelper = write_file("n.json", "{\"credsStore\":\"absent-helper\"}", 0600);
	is_int(regc_creds_get(&c, nohelper, "x", &err), ERR_FAIL, "a helper not on PATH");
	like(err_msg(err), "docker-credential-absent-helper", "message names the program");
	err_freep(&err);
	cleanup_free char *evil = write_file("e.json", "{\"credsStore\":\"../../bin/sh\"}", 0600);
	is_int(regc_creds_get(&c, evil, "x", &err), ERR_INVALID, "a helper name with '/' is refused");
	err_freep(&err);

	is_int(regc_creds_erase(path, "reg:5000", &err), 0, "erase through the helper");
	is_int(regc_creds_get(&c, path, "reg:5000", &err), ERR_NOTFOUND, "gone from the helper");
	err_freep(&err);
}

static void test_key_and_path(void)
{
	cleanup_free char *k1 = regc_creds_key("docker.io");
	cleanup_free char *k2 = regc_creds_key("reg:5000");
	is_str(k1, "https://index.docker.io/v1/", "docker hub key");
	is_str(k2, "reg:5000", "other registries by domain");
	setenv("DOCKER_CONFIG", "/x/y", 1);
	char *p = NULL;
	is_int(regc_creds_path(&p, NULL), 0, "path with DOCKER_CONFIG");
	is_str(p, "/x/y/config.json", "$DOCKER_CONFIG/config.json");
	free(p);
	unsetenv("DOCKER_CONFIG");
	setenv("HOME", "/home/u", 1);
	is_int(regc_creds_path(&p, NULL), 0, "path from HOME");
	is_str(p, "/home/u/.docker/config.json", "~/.docker/config.json");
	free(p);
}

static void test_base64(void)
{
	cleanup_free char *e = regc_base64_encode("alice:s3cret", 12);
	is_str(e, "YWxpY2U6czNjcmV0", "encode");
	char *d = NULL;
	size_t n;
	is_int(regc_base64_decode(&d, &n, "YWxpY2U6czNjcmV0", NULL), 0, "decode");
	is_str(d, "alice:s3cret", "round trip");
	free(d);
	is_int(regc_base64_decode(&d, &n, "YQ", NULL), 0, "padding optional");
	is_str(d, "a", "one byte");
	free(d);
	is_int(regc_base64_decode(&d, &n, "Y", NULL), ERR_INVALID, "truncated input");
	cleanup_free char *esc = regc_url_escape("repository:a/b:pull,push");
	is_str(esc, "repository%3Aa%2Fb%3Apull%2Cpush", "url escape");
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		tap_skip_all("cannot create a temp dir");
	test_auths();
	test_store_erase();
	test_helper();
	test_key_and_path();
	test_base64();
	int rc = tap_done();
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return rc;
}
