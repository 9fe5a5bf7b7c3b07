/* bale inspect IMAGE... */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "common/json.h"
#include "common/util.h"
#include "layers/store.h"

static json_t *names_of(struct store *s, const struct digest *d)
{
	json_t *a = json_array();
	struct store_image *v = NULL;
	size_t n = 0;
	if (store_list(s, &v, &n, NULL) == 0)
		for (size_t i = 0; i < n; i++)
			if (v[i].name != NULL && digest_equal(&v[i].desc.digest, d))
				json_array_append_new(a, json_string(v[i].name));
	store_images_free(v, n);
	return a;
}

static int inspect_one(struct store *s, const char *ref, json_t *out, struct err **err)
{
	struct store_image im;
	struct store_loaded l;
	char d[DIGEST_MAX_STRING];
	int r = store_lookup(s, ref, &im, err);
	if (r < 0)
		return r;
	r = store_load(s, &im.desc, &l, err);
	if (r < 0) {
		store_image_release(&im);
		return r;
	}
	json_t *o = json_object();
	json_object_set_new(o, "Id", json_string(digest_format(&l.manifest.config.digest, d)));
	json_object_set_new(o, "RepoTags", names_of(s, &im.desc.digest));
	json_object_set_new(o, "Digest", json_string(digest_format(&im.desc.digest, d)));
	json_object_set_new(o, "ManifestDigest", json_string(digest_format(&l.manifest_digest, d)));
	json_object_set_new(o, "MediaType", json_string(im.desc.media_type ? im.desc.media_type : ""));
	json_t *cfg = NULL, *man = NULL;
	jx_load_buffer(&cfg, l.config_raw, l.config_len, "config", 0, NULL);
	jx_load_buffer(&man, l.manifest_raw, l.manifest_len, "manifest", 0, NULL);
	json_t *layers = json_array();
	int64_t size = 0;
	for (size_t i = 0; i < l.manifest.n_layers; i++) {
		const struct oci_descriptor *ld = &l.manifest.layers[i];
		json_t *e = json_object();
		json_object_set_new(e, "Digest", json_string(digest_format(&ld->digest, d)));
		if (i < l.config.n_diff_ids)
			json_object_set_new(e, "DiffID", json_string(digest_format(&l.config.diff_ids[i], d)));
		json_object_set_new(e, "MediaType", json_string(ld->media_type));
		json_object_set_new(e, "Size", json_integer(ld->size));
		json_array_append_new(layers, e);
		size += ld->size;
	}
	json_object_set_new(o, "Size", json_integer(size));
	json_object_set_new(o, "Layers", layers);
	json_object_set_new(o, "Config", cfg ? cfg : json_null());
	json_object_set_new(o, "Manifest", man ? man : json_null());
	json_array_append_new(out, o);
	store_loaded_release(&l);
	store_image_release(&im);
	return 0;
}

/* Also in .options, for the help test and shell completion. */
static const struct option inspect_options[] = { { NULL, 0, NULL, 0 } };

static int run_inspect(int argc, char **argv, const struct bale_globals *g)
{
	if (getopt_long(argc, argv, "", inspect_options, NULL) != -1)
		return bale_usage_error(&cmd_inspect, "unknown option");
	if (optind >= argc)
		return bale_usage_error(&cmd_inspect, "expected at least one IMAGE");
	struct err *err = NULL;
	cleanup_store struct store *s = NULL;
	if (store_open_root(&s, g->root, &err) < 0)
		return bale_fail(err);
	cleanup_json json_t *all = json_array();
	for (int i = optind; i < argc; i++)
		if (inspect_one(s, argv[i], all, &err) < 0)
			return bale_fail(err);
	char *txt = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	if (txt != NULL)
		printf("%s\n", txt);
	free(txt);
	return BALE_EXIT_OK;
}

const struct bale_command cmd_inspect = {
	.name = "inspect",
	.summary = bale_summary_inspect,
	.usage = bale_help_inspect,
	.options = inspect_options,
	.run = run_inspect,
};
