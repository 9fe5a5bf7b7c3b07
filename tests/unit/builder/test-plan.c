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
	return tap_done();
}
