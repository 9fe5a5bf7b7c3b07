/* Image model: parsing of OCI and Docker documents and stable bytes. */
#include "config.h"

#include "common/util.h"
#include "layers/image.h"
#include "tests/tap.h"

static const char docker_cfg[] =
	"{\"architecture\":\"amd64\",\"config\":{\"Hostname\":\"\",\"User\":\"app\","
	"\"ExposedPorts\":{\"8080/tcp\":{},\"53/udp\":{}},\"Env\":[\"PATH=/bin\"],"
	"\"Cmd\":[\"sh\"],\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":30000000000,"
	"\"Retries\":3},\"Volumes\":{\"/data\":null},\"WorkingDir\":\"/app\",\"OnBuild\":[\"RUN x\"],"
	"\"Labels\":{\"z\":\"1\",\"a\":\"2\"},\"Shell\":[\"/bin/sh\",\"-c\"]},"
	"\"container\":\"abc\",\"created\":\"2024-01-02T03:04:05.123456789Z\","
	"\"docker_version\":\"20.10\",\"history\":[{\"created\":\"2024-01-02T03:04:05Z\","
	"\"created_by\":\"/bin/sh -c #(nop) ADD file\"},{\"created_by\":\"CMD sh\",\"empty_layer\":true}],"
	"\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
	"\"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"]}}";

static const char docker_manifest[] =
	"{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
	"   \"config\": {\"mediaType\": \"application/vnd.docker.container.image.v1+json\", \"size\": 1469,"
	" \"digest\": \"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"},\n"
	"   \"layers\": [{\"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\", \"size\": 10,"
	" \"digest\": \"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"}]}";

int main(void)
{
	struct err *err = NULL;
	struct oci_config c;
	ok(oci_config_parse(&c, docker_cfg, strlen(docker_cfg), &err) == 0, "parse a docker config");
	is_str(c.config.user, "app", "User");
	is_str(c.config.exposed_ports[0], "53/udp", "ExposedPorts sorted");
	is_int(c.config.healthcheck->interval, 30000000000LL, "Healthcheck interval");
	is_str(c.config.on_build[0], "RUN x", "OnBuild");
	is_str(c.config.shell[1], "-c", "Shell");
	is_int(c.n_history, 2, "history");
	ok(c.history[1].empty_layer, "empty_layer");
	is_int(c.n_diff_ids, 1, "diff_ids");
	char *a = NULL, *b = NULL;
	size_t alen, blen;
	ok(oci_config_dump(&a, &alen, &c, &err) == 0, "dump");
	is_str(a,
	       "{\"created\":\"2024-01-02T03:04:05.123456789Z\",\"architecture\":\"amd64\",\"os\":\"linux\","
	       "\"config\":{\"User\":\"app\",\"ExposedPorts\":{\"53/udp\":{},\"8080/tcp\":{}},"
	       "\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"],\"Volumes\":{\"/data\":{}},\"WorkingDir\":\"/app\","
	       "\"Labels\":{\"a\":\"2\",\"z\":\"1\"},\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"],"
	       "\"Interval\":30000000000,\"Retries\":3},\"OnBuild\":[\"RUN x\"],\"Shell\":[\"/bin/sh\",\"-c\"]},"
	       "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"]},"
	       "\"history\":[{\"created\":\"2024-01-02T03:04:05Z\",\"created_by\":\"/bin/sh -c #(nop) ADD file\"},"
	       "{\"created_by\":\"CMD sh\",\"empty_layer\":true}]}",
	       "stable config bytes: image-spec order, sorted maps");
	struct oci_config c2, c3;
	oci_config_copy(&c3, &c);
	ok(oci_config_parse(&c2, a, alen, &err) == 0 && oci_config_dump(&b, &blen, &c2, &err) == 0 &&
		   strcmp(a, b) == 0,
	   "dump(parse(dump)) is the same bytes");
	free(b);
	ok(oci_config_dump(&b, &blen, &c3, &err) == 0 && strcmp(a, b) == 0, "a copy dumps the same");
	free(a);
	free(b);
	oci_config_release(&c);
	oci_config_release(&c2);
	oci_config_release(&c3);

	struct oci_manifest m;
	ok(oci_manifest_parse(&m, docker_manifest, strlen(docker_manifest), &err) == 0,
	   "parse a docker schema2 manifest");
	is_int(m.layers[0].size, 10, "layer size");
	ok(oci_manifest_dump(&a, &alen, &m, &err) == 0, "dump manifest");
	like(a, "\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":10,\"digest\"",
	     "docker descriptors keep docker's field order");
	free(a);
	oci_manifest_release(&m);

	const char *bad = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":1,\"digest\":\"sha256:zz\"},\"layers\":[]}";
	is_int(oci_manifest_parse(&m, bad, strlen(bad), &err), ERR_INVALID, "bad digest refused");
	like(err_msg(err), "config.digest", "message names the field");
	err_freep(&err);
	const char *s1 = "{\"schemaVersion\":1,\"name\":\"x\"}";
	is_int(oci_manifest_parse(&m, s1, strlen(s1), &err), ERR_UNSUPPORTED, "schema1 is unsupported");
	err_freep(&err);
	const char *ix = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MT_MANIFEST "\","
			 "\"digest\":\"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\","
			 "\"size\":5,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}]}";
	struct oci_index x;
	ok(oci_index_parse(&x, ix, strlen(ix), &err) == 0, "parse an index");
	is_str(x.manifests[0].platform->variant, "v8", "platform variant");
	is_str(oci_detect_media_type(ix, strlen(ix)), OCI_MT_INDEX, "detect index by shape");
	oci_index_release(&x);
	int64_t t;
	ok(oci_time_parse("2024-01-02T03:04:05.5+01:00", &t, &err) == 0 && t == 1704161045,
	   "time with offset");
	char tb[32];
	is_str(oci_time_format(0, tb, sizeof(tb)), "1970-01-01T00:00:00Z", "time format");
	return tap_done();
}
