/* bale rmi [--force] IMAGE... */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "common/util.h"
#include "layers/store.h"

/* Whether a is b's base: b's layers start with all of a's, and b has more. */
static bool is_base_of(const struct store_loaded *a, const struct store_loaded *b)
{
	if (b->manifest.n_layers <= a->manifest.n_layers || a->manifest.n_layers == 0)
		return false;
	for (size_t i = 0; i < a->manifest.n_layers; i++)
		if (!digest_equal(&a->manifest.layers[i].digest, &b->manifest.layers[i].digest))
			return false;
	return true;
}

/* The name of another image built on im, or NULL (caller frees). Also
 * counts the names pointing at im's manifest. */
static char *child_of(struct store *s, const struct store_image *im, size_t *names)
{
	struct store_loaded me;
	char *child = NULL;
	*names = 0;
	if (store_load(s, &im->desc, &me, NULL) < 0)
		return NULL;
	struct store_image *v = NULL;
	size_t n = 0;
	store_list(s, &v, &n, NULL);
	for (size_t i = 0; i < n; i++) {
		if (digest_equal(&v[i].desc.digest, &im->desc.digest)) {
			*names += v[i].name != NULL;
			continue;
		}
		struct store_loaded o;
		if (child == NULL && store_load(s, &v[i].desc, &o, NULL) == 0) {
			if (is_base_of(&me, &o))
				child = xstrdup(v[i].name ? v[i].name : "<none>");
			store_loaded_release(&o);
		}
	}
	store_images_free(v, n);
	store_loaded_release(&me);
	return child;
}

static int rmi_one(struct store *s, const char *ref, bool force, struct err **err)
{
	struct store_image im;
	int r = store_lookup(s, ref, &im, err);
	if (r < 0)
		return r;
	cleanup_free char *norm = NULL;
	bool by_name = store_name_normalize(&norm, ref, NULL) == 0 && str_eq(norm, im.name);
	size_t names = 0;
	cleanup_free char *child = child_of(s, &im, &names);
	if (!force && child != NULL && (!by_name || names <= 1)) {
		r = err_set(err, ERR_BUSY, "cannot remove '%s': image is in use as a base of '%s' (use --force)",
			    ref, child);
	} else if (by_name) {
		bool last = false;
		if ((r = store_untag(s, im.name, &last, err)) == 0)
			printf("Untagged: %s\n", im.name);
	} else {
		char d[DIGEST_MAX_STRING];
		if ((r = store_remove(s, &im.desc.digest, err)) == 0)
			printf("Deleted: %s\n", digest_format(&im.desc.digest, d));
	}
	store_image_release(&im);
	return r;
}

/* Also in .options, for the help test and shell completion. */
static const struct option rmi_options[] = {
	{ "force", no_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 },
};

static int run_rmi(int argc, char **argv, const struct bale_globals *g)
{
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "f", rmi_options, NULL)) != -1) {
		if (c != 'f')
			return bale_usage_error(&cmd_rmi, "unknown option");
		force = true;
	}
	if (optind >= argc)
		return bale_usage_error(&cmd_rmi, "expected at least one IMAGE");
	struct err *err = NULL;
	cleanup_store struct store *s = NULL;
	if (store_open_root(&s, g->root, &err) < 0)
		return bale_fail(err);
	int rc = BALE_EXIT_OK;
	for (int i = optind; i < argc; i++)
		if (rmi_one(s, argv[i], force, &err) < 0) {
			fprintf(stderr, "bale: %s\n", err_msg(err));
			err_freep(&err);
			rc = BALE_EXIT_FAIL;
		}
	size_t blobs = 0;
	if (bale_store_gc(s, &blobs, NULL, &err) < 0) {
		fprintf(stderr, "bale: warning: unused blobs kept: %s\n", err_msg(err));
		err_freep(&err);
	} else if (blobs > 0) {
		printf("Deleted %zu unused blobs\n", blobs);
	}
	return rc;
}

const struct bale_command cmd_rmi = {
	.name = "rmi",
	.summary = bale_summary_rmi,
	.usage = bale_help_rmi,
	.options = rmi_options,
	.run = run_rmi,
};
