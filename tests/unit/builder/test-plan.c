/* ARG scopes and the predefined ARGs of the plan. */
#include "config.h"

#include "builder/build-internal.h"
#include "common/util.h"
#include "layers/store.h"
#include "tests/tap.h"

int main(void)
{
	struct bargs a = { 0 };
	bargs_set(&a, "X", "1");
	bargs_set(&a, "Y", NULL);
	bargs_set(&a, "X", "2");
	is_int(a.n, 2, "setting a key again keeps one entry");
	is_int(bargs_find(&a, "X"), 0, "in declaration order");
	is_str(a.values[0], "2", "with the last value");
	ok(a.values[1] == NULL, "an ARG without a value stays NULL");
	is_int(bargs_find(&a, "Z"), -1, "an unknown key is not found");
	bargs_release(&a);

	ok(plan_is_proxy_arg("HTTP_PROXY") && plan_is_proxy_arg("no_proxy"), "proxy ARGs");
	ok(!plan_is_proxy_arg("PROXY"), "other names are not");
	is_str(plan_predefined_arg("TARGETOS"), "linux", "TARGETOS");
	is_str(plan_predefined_arg("TARGETARCH"), store_goarch(), "TARGETARCH is this machine's");
	char want[64];
	snprintf(want, sizeof want, "linux/%s", store_goarch());
	is_str(plan_predefined_arg("BUILDPLATFORM"), want, "BUILDPLATFORM");
	ok(plan_predefined_arg("HOME") == NULL, "no other predefined ARG");

	/* FROM --platform values */
	struct err *e = NULL;
	char *p = NULL;
	is_int(plan_platform_parse("Linux/X86_64", &p, &e), 0, "platform: parsed");
	is_str(p, "linux/amd64", "platform: lower case, GOARCH name for x86_64");
	free(p);
	is_int(plan_platform_parse("linux/aarch64/v8", &p, &e), 0, "platform: with a variant");
	is_str(p, "linux/arm64/v8", "platform: aarch64 is arm64, the variant kept");
	free(p);
	is_int(plan_platform_parse("linux", &p, &e), ERR_INVALID, "platform: os alone is invalid");
	ok(e != NULL && strstr(err_msg(e), "'linux'") != NULL, "platform: the error quotes it");
	err_free(e);
	e = NULL;
	is_int(plan_platform_parse("linux//v7", &p, &e), ERR_INVALID, "platform: an empty arch is invalid");
	err_free(e);
	ok(plan_platform_is_host(want), "platform: BUILDPLATFORM is the host");
	snprintf(want, sizeof want, "linux/%s/v8", store_goarch());
	ok(plan_platform_is_host(want), "platform: with a variant too");
	ok(!plan_platform_is_host("linux/s390x"), "platform: another arch is not");
	return tap_done();
}
