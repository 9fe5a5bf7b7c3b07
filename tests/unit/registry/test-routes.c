/* Unit tests of the registry's pure parsers: routing, query strings,
 * Range/Content-Range, Accept, manifest validation, metrics text, config
 * loading errors with positions, access rules and JWT round trips. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "registry/auth.h"
#include "registry/serve-config.h"
#include "registry/routes.h"
#include "registry/server-internal.h"
#include "registry/token.h"
#include "tests/tap.h"

#define D256 "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static struct reg_route route(const char *path)
{
	static char buf[4096];
	struct reg_route r;
	str_copy(buf, path, sizeof(buf));
	reg_route_parse(&r, buf);
	return r;
}

static void test_routes(void)
{
	struct reg_route r = route("/v2/");
	is_int(r.kind, REG_ROUTE_BASE, "/v2/ is the base");
	r = route("/v2/_catalog");
	is_int(r.kind, REG_ROUTE_CATALOG, "catalog");
	r = route("/v2/a/b/c/tags/list");
	is_int(r.kind, REG_ROUTE_TAGS, "tags route");
	is_str(r.name, "a/b/c", "nested name");
	r = route("/v2/a/manifests/v1.0");
	ok(r.kind == REG_ROUTE_MANIFEST && str_eq(r.reference, "v1.0") && !r.ref_is_digest &&
	           r.ref_error == 0,
	   "manifest by tag");
	r = route("/v2/a/manifests/" D256);
	ok(r.ref_is_digest && r.ref_error == 0, "manifest by digest");
	r = route("/v2/a/manifests/bad tag");
	is_int(r.ref_error, ERR_INVALID, "invalid tag is flagged");
	r = route("/v2/a/blobs/sha256:123");
	ok(r.kind == REG_ROUTE_BLOB && r.ref_error == ERR_INVALID, "short digest is invalid");
	r = route("/v2/a/blobs/md5:d41d8cd98f00b204e9800998ecf8427e");
	ok(r.kind == REG_ROUTE_BLOB && r.ref_error != 0, "unknown algorithm is refused");
	r = route("/v2/a/blobs/uploads/");
	ok(r.kind == REG_ROUTE_UPLOAD_NEW && str_eq(r.name, "a"), "upload start");
	r = route("/v2/a/blobs/uploads");
	is_int(r.kind, REG_ROUTE_UPLOAD_NEW, "upload start without trailing slash");
	r = route("/v2/a/blobs/uploads/0123456789abcdef0123456789abcdef");
	ok(r.kind == REG_ROUTE_UPLOAD && r.ref_error == 0, "upload session");
	r = route("/v2/a/blobs/uploads/xyz");
	ok(r.kind == REG_ROUTE_UPLOAD && r.ref_error != 0, "bad upload id is flagged");
	r = route("/v2/blobs/blobs/" D256);
	ok(r.kind == REG_ROUTE_BLOB && str_eq(r.name, "blobs"), "a repository named blobs");
	r = route("/v2/x/blobs/uploads/blobs/" D256);
	ok(r.kind == REG_ROUTE_BLOB && str_eq(r.name, "x/blobs/uploads"), "matched from the right");
	r = route("/v2/a/referrers/" D256);
	ok(r.kind == REG_ROUTE_REFERRERS && r.ref_error == 0, "referrers");
	r = route("/v2/UP/tags/list");
	is_int(r.name_error, ERR_INVALID, "uppercase name is flagged");
	r = route("/v2/a/whatever/x");
	is_int(r.kind, REG_ROUTE_NONE, "unknown tail");
	r = route("/v3/");
	is_int(r.kind, REG_ROUTE_NONE, "not /v2");
	is_str(reg_route_name(REG_ROUTE_BLOB), "blob", "route names for metrics");

	char p1[] = "/v2/a/blobs/sha256%3Aab";
	is_int(reg_path_decode(p1, NULL), 0, "percent-decoding");
	is_str(p1, "/v2/a/blobs/sha256:ab", "decoded path");
	char p2[] = "/v2/a%2Fb";
	is_int(reg_path_decode(p2, NULL), ERR_INVALID, "escaped slash refused");
	char p3[] = "/v2/a%00";
	is_int(reg_path_decode(p3, NULL), ERR_INVALID, "escaped NUL refused");
	char p4[] = "/v2/%G1";
	is_int(reg_path_decode(p4, NULL), ERR_INVALID, "malformed escape refused");
}

static void test_query(void)
{
	struct reg_query q;
	is_int(reg_query_parse(&q, "n=10&last=a%2Fb&scope=repository:a:pull+push&flag", NULL), 0,
	       "query parses");
	is_str(reg_query_get(&q, "n"), "10", "n");
	is_str(reg_query_get(&q, "last"), "a/b", "escaped value");
	is_str(reg_query_get(&q, "scope"), "repository:a:pull push", "plus is a space");
	is_str(reg_query_get(&q, "flag"), "", "key without value");
	ok(reg_query_get(&q, "none") == NULL, "absent key");
	reg_query_release(&q);
	is_int(reg_query_parse(&q, "digest=a&digest=b", NULL), 0, "repeated key");
	is_int(reg_query_count(&q, "digest"), 2, "count of a repeated key");
	reg_query_release(&q);
	is_int(reg_query_parse(&q, "a=%zz", NULL), ERR_INVALID, "bad escape");
	reg_query_release(&q);
	is_int(reg_query_parse(&q, "a=%00", NULL), ERR_INVALID, "escaped NUL");
	reg_query_release(&q);
	char many[1024] = "";
	for (int i = 0; i < REG_MAX_QUERY_PARAMS + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "k%d=v&", i);
	is_int(reg_query_parse(&q, many, NULL), ERR_TOOBIG, "too many parameters");
	reg_query_release(&q);
}

static void test_ranges(void)
{
	uint64_t a = 0, n = 0;
	is_int(reg_range_parse("bytes=0-4", 11, &a, &n), REG_RANGE_OK, "0-4");
	ok(a == 0 && n == 5, "0-4 is 5 bytes at 0");
	is_int(reg_range_parse("bytes=6-", 11, &a, &n), REG_RANGE_OK, "6-");
	ok(a == 6 && n == 5, "open range to the end");
	is_int(reg_range_parse("bytes=-3", 11, &a, &n), REG_RANGE_OK, "suffix");
	ok(a == 8 && n == 3, "last 3 bytes");
	is_int(reg_range_parse("bytes=-30", 11, &a, &n), REG_RANGE_OK,
	       "suffix longer than the blob");
	ok(a == 0 && n == 11, "whole blob");
	is_int(reg_range_parse("bytes=5-100", 11, &a, &n), REG_RANGE_OK, "end clamped");
	ok(a == 5 && n == 6, "clamped length");
	is_int(reg_range_parse("bytes=11-", 11, &a, &n), REG_RANGE_UNSATISFIABLE, "start at size");
	is_int(reg_range_parse("bytes=-0", 11, &a, &n), REG_RANGE_UNSATISFIABLE, "empty suffix");
	is_int(reg_range_parse("bytes=0-0", 0, &a, &n), REG_RANGE_UNSATISFIABLE, "empty blob");
	is_int(reg_range_parse("bytes=5-2", 11, &a, &n), REG_RANGE_NONE, "reversed is ignored");
	is_int(reg_range_parse("bytes=0-1,3-4", 11, &a, &n), REG_RANGE_NONE, "multi-range ignored");
	is_int(reg_range_parse("items=0-1", 11, &a, &n), REG_RANGE_NONE, "other unit ignored");
	is_int(reg_range_parse("bytes=99999999999999999999-", 11, &a, &n), REG_RANGE_NONE,
	       "overflow ignored");
	is_int(reg_range_parse(NULL, 11, &a, &n), REG_RANGE_NONE, "no header");

	uint64_t s = 0, e = 0;
	is_int(reg_content_range_parse("0-1023", &s, &e, NULL), 0, "spec form");
	ok(s == 0 && e == 1023, "spec form values");
	is_int(reg_content_range_parse("bytes 10-19/100", &s, &e, NULL), 0, "RFC form");
	ok(s == 10 && e == 19, "RFC form values");
	is_int(reg_content_range_parse("bytes 10-19/*", &s, &e, NULL), 0, "unknown total");
	is_int(reg_content_range_parse("5-4", &s, &e, NULL), ERR_INVALID, "end before start");
	is_int(reg_content_range_parse("bytes 0-9/5", &s, &e, NULL), ERR_INVALID, "past total");
	is_int(reg_content_range_parse("x", &s, &e, NULL), ERR_INVALID, "garbage");
	is_int(reg_content_range_parse(NULL, &s, &e, NULL), ERR_INVALID, "NULL");
}

static void test_accept(void)
{
	ok(reg_accept_allows(NULL, MT_OCI_INDEX), "no Accept takes anything");
	ok(reg_accept_allows("*/*", MT_OCI_INDEX), "*/*");
	ok(reg_accept_allows("application/*", MT_OCI_INDEX), "type wildcard");
	ok(reg_accept_allows("text/plain, " MT_OCI_INDEX ";q=0.5", MT_OCI_INDEX), "listed type");
	ok(!reg_accept_allows(MT_DOCKER_MANIFEST, MT_OCI_INDEX), "other type refused");
	ok(!reg_accept_allows(MT_OCI_INDEX ";q=0", MT_OCI_INDEX), "q=0 refuses");
	ok(!reg_accept_allows("text/*", MT_OCI_INDEX), "other wildcard refused");
}

static int parse(const char *ct, const char *body, struct reg_manifest_info *info, struct err **e)
{
	return reg_manifest_parse(info, body, strlen(body), ct, e);
}

static void test_manifests(void)
{
	struct reg_manifest_info info;
	struct err *e = NULL;
	const char *img =
	        "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":"
	        "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D256
	        "\",\"size\":5},\"layers\":[{\"mediaType\":\"x\",\"digest\":\"" D256
	        "\",\"size\":5,\"urls\":[\"http://"
	        "a\"]}],\"subject\":{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D256
	        "\",\"size\":1},\"annotations\":{\"b\":\"2\",\"a\":\"1\"}}";
	is_int(parse(MT_OCI_MANIFEST, img, &info, &e), 0, "OCI manifest accepted");
	ok(!info.is_index && info.nrefs == 2 && info.refs[1].external, "config + foreign layer");
	ok(info.has_subject, "subject found");
	is_str(info.artifact_type, "application/vnd.oci.image.config.v1+json",
	       "artifactType from config");
	is_str(info.annotations, "{\"a\":\"1\",\"b\":\"2\"}", "annotations kept");
	reg_manifest_info_release(&info);
	is_int(parse(MT_OCI_INDEX, img, &info, &e), ERR_INVALID, "Content-Type mismatch");
	like(err_msg(e), "does not match", "mismatch message");
	err_freep(&e);
	reg_manifest_info_release(&info);
	is_int(parse(NULL, "{\"schemaVersion\":2,\"manifests\":[]}", &info, &e), 0,
	       "index without any type is an OCI index");
	ok(info.is_index && str_eq(info.media_type, MT_OCI_INDEX), "inferred index");
	reg_manifest_info_release(&info);
	is_int(parse(NULL, "{\"schemaVersion\":1,\"fsLayers\":[]}", &info, &e), ERR_UNSUPPORTED,
	       "schema1 refused");
	like(err_msg(e), "schema1", "schema1 message");
	err_freep(&e);
	reg_manifest_info_release(&info);
	is_int(parse("application/x-foo", "{\"schemaVersion\":2}", &info, &e), ERR_UNSUPPORTED,
	       "unknown media type");
	err_freep(&e);
	reg_manifest_info_release(&info);
	is_int(parse(MT_OCI_MANIFEST, "{\"schemaVersion\":2,\"layers\":[]}", &info, &e),
	       ERR_INVALID, "image without config");
	like(err_msg(e), "config", "names the missing field");
	err_freep(&e);
	reg_manifest_info_release(&info);
	is_int(parse(MT_OCI_MANIFEST,
	             "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a\",\"digest\":\"sha256:1\","
	             "\"size\":1},\"layers\":[]}",
	             &info, &e),
	       ERR_INVALID, "bad descriptor digest");
	err_freep(&e);
	reg_manifest_info_release(&info);
	is_int(parse(MT_OCI_MANIFEST, "{\"schemaVersion\":2,", &info, &e), ERR_INVALID, "bad JSON");
	err_freep(&e);
	reg_manifest_info_release(&info);
}

static void test_metrics(void)
{
	struct reg_metrics m;
	struct buf b;
	reg_metrics_init(&m);
	reg_metrics_request(&m, REG_ROUTE_BLOB, REG_M_GET, 200, 0, 1024);
	reg_metrics_request(&m, REG_ROUTE_BLOB, REG_M_GET, 200, 0, 1024);
	reg_metrics_request(&m, REG_ROUTE_MANIFEST, REG_M_PUT, 418, 10, 0);
	reg_metrics_upload(&m, 0.3);
	buf_init(&b, 1u << 20);
	is_int(reg_metrics_render(&m, &b, NULL), 0, "metrics render");
	like(buf_str(&b),
	     "bale_registry_requests_total{route=\"blob\",method=\"GET\",status=\"200\"} 2\n",
	     "request counter");
	like(buf_str(&b), "status=\"other\"} 1", "unlisted status counted as other");
	like(buf_str(&b), "bale_registry_sent_bytes_total 2048", "bytes out");
	like(buf_str(&b), "bale_registry_upload_duration_seconds_bucket{le=\"0.5\"} 1",
	     "histogram");
	buf_release(&b);
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
	return p;
}

static void test_config(void)
{
	char dir[] = "/tmp/bale-test-config-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return;
	struct err *e = NULL;
	struct reg_config *c = reg_config_new("/default");
	cleanup_free char *p = write_tmp(dir, "a.yml",
	                                 "listen: 127.0.0.1:6000\nroot: data\ndelete: false\n"
	                                 "limits:\n  manifest_size: 1MiB\nlog:\n  format: json\n");
	is_int(reg_config_load(c, p, &e), 0, "config loads");
	is_str(c->listen, "127.0.0.1:6000", "listen");
	like(c->root, "/data", "root relative to the file");
	ok(!c->delete_enabled && c->max_manifest == (1u << 20), "delete and limits");
	is_int(c->log_format, LOG_FORMAT_JSON, "log format");
	reg_config_free(c);

	c = reg_config_new("/default");
	cleanup_free char *q = write_tmp(dir, "b.yml", "listen: x:1\nstorag: {}\n");
	is_int(reg_config_load(c, q, &e), ERR_INVALID, "unknown key");
	like(err_msg(e), "b.yml:2:1: unknown key 'storag'", "error names file:line:col");
	err_freep(&e);
	reg_config_free(c);

	c = reg_config_new("/default");
	cleanup_free char *r = write_tmp(
	        dir, "c.yml",
	        "access:\n  - repositories: x\n    users: [a]\n    actions: [pull, fly]\n");
	is_int(reg_config_load(c, r, &e), ERR_INVALID, "bad action");
	like(err_msg(e), "c.yml:4:", "bad action located");
	err_freep(&e);
	reg_config_free(c);

	c = reg_config_new("/default");
	cleanup_free char *s = write_tmp(dir, "d.yml", "tls:\n  cert: a.pem\n");
	is_int(reg_config_load(c, s, &e), ERR_INVALID, "tls needs both");
	err_freep(&e);
	reg_config_free(c);

	/* access rules */
	c = reg_config_new("/default");
	cleanup_free char *ht = write_tmp(dir, "htpasswd", "# users\n");
	cleanup_free char *t =
	        write_tmp(dir, "e.yml",
	                  "auth:\n  htpasswd:\n    path: htpasswd\n  anonymous_pull: true\n"
	                  "groups:\n  dev: [bob]\n"
	                  "access:\n  - repositories: 'team/*'\n    groups: [dev]\n    actions: "
	                  "[pull, push]\n"
	                  "  - repositories: '*'\n    users: [alice]\n    actions: ['*']\n");
	is_int(reg_config_load(c, t, &e), 0, "rules load");
	struct reg_auth *a = NULL;
	is_int(reg_auth_new(&a, c, &e), 0, "auth loads");
	is_int(reg_auth_rules_grant(a, "bob", "team/app") & (REG_ACT_PULL | REG_ACT_PUSH),
	       REG_ACT_PULL | REG_ACT_PUSH, "group member may push");
	is_int(reg_auth_rules_grant(a, "bob", "other") & REG_ACT_PUSH, 0, "but not elsewhere");
	is_int(reg_auth_rules_grant(a, "alice", "x/y/z") & REG_ACT_DELETE, REG_ACT_DELETE,
	       "'*' crosses slashes and grants delete");
	is_int(reg_auth_rules_grant(a, NULL, "team/app"), REG_ACT_PULL | REG_ACT_CATALOG,
	       "anonymous may pull");
	is_int(reg_auth_rules_grant(a, "carol", "team/app"), REG_ACT_CATALOG,
	       "an unlisted user gets nothing");
	reg_auth_free(a);
	reg_config_free(c);

	static const char *const files[] = {"a.yml", "b.yml", "c.yml",
	                                    "d.yml", "e.yml", "htpasswd"};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		cleanup_free char *f = xasprintf("%s/%s", dir, files[i]);
		unlink(f);
	}
	rmdir(dir);
}

static void test_token(void)
{
	char dir[] = "/tmp/bale-test-token-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return;
	/* a fixed P-256 test key */
	cleanup_free char *kp =
	        write_tmp(dir, "k.pem",
	                  "-----BEGIN PRIVATE KEY-----\n"
	                  "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgqRt6RJEAFLw4uEJw\n"
	                  "xtacIpF3jeAoEza7kgu8lKQlTBihRANCAARVesTAYYknMA6WYDzaxMRZV4hphBOF\n"
	                  "Tfc6Te/oYaJ88rTX8byHPeg92gph2AEalvFA4ZwoLQO33dJEeomdTroG\n"
	                  "-----END PRIVATE KEY-----\n");
	struct reg_token *t = NULL;
	struct err *e = NULL;
	is_int(reg_token_new(&t, kp, "iss", "svc", 60, &e), 0, "token key loads");
	if (t == NULL) {
		diag("%s", err_msg(e));
		err_free(e);
		return;
	}
	struct reg_identity who = {.authenticated = true};
	str_copy(who.user, "alice", sizeof(who.user));
	who.ngrants = 1;
	str_copy(who.grants[0].repo, "team/app", sizeof(who.grants[0].repo));
	who.grants[0].actions = REG_ACT_PULL | REG_ACT_PUSH;
	char *tok = NULL;
	is_int(reg_token_mint(t, &who, &tok, &e), 0, "mint");
	struct reg_identity got;
	is_int(reg_token_verify(t, tok, &got, &e), 0, "verify what we minted");
	ok(got.from_token && str_eq(got.user, "alice") && got.ngrants == 1 &&
	           got.grants[0].actions == (REG_ACT_PULL | REG_ACT_PUSH),
	   "claims round-trip");
	size_t n = strlen(tok);
	tok[n - 2] = tok[n - 2] == 'A' ? 'B' : 'A';
	is_int(reg_token_verify(t, tok, &got, &e), ERR_UNAUTHORIZED, "tampered signature refused");
	err_freep(&e);
	is_int(reg_token_verify(t, "a.b", &got, &e), ERR_UNAUTHORIZED, "malformed token refused");
	err_freep(&e);
	free(tok);
	struct reg_token *t2 = NULL;
	is_int(reg_token_new(&t2, kp, "iss", "other-service", 60, &e), 0, "second signer");
	is_int(reg_token_mint(t2, &who, &tok, &e), 0, "mint for another audience");
	is_int(reg_token_verify(t, tok, &got, &e), ERR_UNAUTHORIZED, "wrong audience refused");
	err_freep(&e);
	free(tok);
	reg_token_free(t2);
	reg_token_free(t);
	cleanup_free char *k2 = write_tmp(dir, "bad.pem", "not a key\n");
	is_int(reg_token_new(&t, k2, NULL, NULL, 0, &e), ERR_INVALID, "non-key refused");
	err_freep(&e);
	unlink(kp);
	unlink(k2);
	rmdir(dir);
}

int main(void)
{
	test_routes();
	test_query();
	test_ranges();
	test_accept();
	test_manifests();
	test_metrics();
	test_config();
	test_token();
	return tap_done();
}
