/* bale images [--format table|json|names] */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "common/json.h"
#include "common/progress.h"
#include "common/util.h"
#include "layers/store.h"

struct row {
	char *repo, *tag, *id, *digest, *created;
	int64_t created_s;
	uint64_t size;
};

static void split_name(const char *name, char **repo, char **tag)
{
	if (name == NULL) {
		*repo = xstrdup("<none>");
		*tag = xstrdup("<none>");
		return;
	}
	const char *at = strchr(name, '@');
	const char *slash = strrchr(name, '/');
	const char *colon = strrchr(name, ':');
	if (at != NULL) {
		*repo = xstrndup(name, (size_t)(at - name));
		*tag = xstrdup("<none>");
	} else if (colon != NULL && (slash == NULL || colon > slash)) {
		*repo = xstrndup(name, (size_t)(colon - name));
		*tag = xstrdup(colon + 1);
	} else {
		*repo = xstrdup(name);
		*tag = xstrdup("<none>");
	}
}

/* "3 hours ago" as docker prints it (go-units HumanDuration + " ago"). */
static const char *ago(int64_t t, char *buf, size_t n)
{
	int64_t d = (int64_t)time(NULL) - t;
	int64_t minutes = d / 60, hours = (d + 1800) / 3600;
	if (t <= 0)
		snprintf(buf, n, "N/A");
	else if (d < 1)
		snprintf(buf, n, "Less than a second ago");
	else if (d < 60)
		snprintf(buf, n, "%lld seconds ago", (long long)d);
	else if (minutes == 1)
		snprintf(buf, n, "About a minute ago");
	else if (minutes < 60)
		snprintf(buf, n, "%lld minutes ago", (long long)minutes);
	else if (hours == 1)
		snprintf(buf, n, "About an hour ago");
	else if (hours < 48)
		snprintf(buf, n, "%lld hours ago", (long long)hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, n, "%lld days ago", (long long)(hours / 24));
	else if (hours < 24 * 30 * 2)
		snprintf(buf, n, "%lld weeks ago", (long long)(hours / 24 / 7));
	else if (hours < 24 * 365 * 2)
		snprintf(buf, n, "%lld months ago", (long long)(hours / 24 / 30));
	else
		snprintf(buf, n, "%lld years ago", (long long)(d / 3600 / 24 / 365));
	return buf;
}

static void print_json(const struct row *r)
{
	cleanup_json json_t *o = json_object();
	json_object_set_new(o, "Repository", json_string(r->repo));
	json_object_set_new(o, "Tag", json_string(r->tag));
	json_object_set_new(o, "ID", json_string(r->id));
	json_object_set_new(o, "Digest", json_string(r->digest));
	json_object_set_new(o, "Created", json_string(r->created ? r->created : ""));
	json_object_set_new(o, "Size", json_integer((json_int_t)r->size));
	cleanup_free char *s = NULL;
	if (jx_dump(&s, NULL, o, 0, NULL) == 0)
		printf("%s\n", s);
}

static void row_fill(struct store *s, const struct store_image *im, struct row *r)
{
	char d[DIGEST_MAX_STRING];
	memset(r, 0, sizeof(*r));
	split_name(im->name, &r->repo, &r->tag);
	r->digest = xstrdup(digest_format(&im->desc.digest, d));
	struct store_loaded l;
	if (store_load(s, &im->desc, &l, NULL) < 0) {
		r->id = xstrdup("<missing>");
		return;
	}
	r->id = xstrdup(digest_format(&l.manifest.config.digest, d));
	r->created = l.config.created ? xstrdup(l.config.created) : NULL;
	if (r->created)
		oci_time_parse(r->created, &r->created_s, NULL);
	r->size = l.config_len;
	for (size_t i = 0; i < l.manifest.n_layers; i++)
		r->size += (uint64_t)l.manifest.layers[i].size;
	store_loaded_release(&l);
}

/* Columns as wide as their widest cell plus three spaces, as docker's
 * tabwriter lays them out. */
static void print_table(const struct row *rows, size_t n)
{
	char (*created)[64] = xcalloc(n ? n : 1, sizeof(*created));
	int wr = (int)strlen("REPOSITORY"), wt = (int)strlen("TAG"), wc = (int)strlen("CREATED");
	for (size_t i = 0; i < n; i++) {
		ago(rows[i].created_s, created[i], sizeof(created[i]));
		wr = (int)strlen(rows[i].repo) > wr ? (int)strlen(rows[i].repo) : wr;
		wt = (int)strlen(rows[i].tag) > wt ? (int)strlen(rows[i].tag) : wt;
		wc = (int)strlen(created[i]) > wc ? (int)strlen(created[i]) : wc;
	}
	printf("%-*s   %-*s   %-12s   %-*s   %s\n", wr, "REPOSITORY", wt, "TAG", "IMAGE ID", wc,
	       "CREATED", "SIZE");
	for (size_t i = 0; i < n; i++) {
		char size[PROGRESS_FMT_SIZE];
		const char *id = str_has_prefix(rows[i].id, "sha256:") ? rows[i].id + 7 : rows[i].id;
		printf("%-*s   %-*s   %-12.12s   %-*s   %s\n", wr, rows[i].repo, wt, rows[i].tag, id,
		       wc, created[i], progress_format_bytes(rows[i].size, size, sizeof(size)));
	}
	free(created);
}

static void row_release(struct row *r)
{
	free(r->repo);
	free(r->tag);
	free(r->id);
	free(r->digest);
	free(r->created);
}

/* Also in .options, for the help test and shell completion. */
static const struct option images_options[] = {
	{ "format", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 },
};

static int run_images(int argc, char **argv, const struct bale_globals *g)
{
	bool json = false, names = false;
	int c;
	while ((c = getopt_long(argc, argv, "", images_options, NULL)) != -1) {
		if (c != 'f')
			return bale_usage_error(&cmd_images, "unknown option");
		json = str_eq(optarg, "json");
		names = str_eq(optarg, "names");
		if (!json && !names && !str_eq(optarg, "table"))
			return bale_usage_error(&cmd_images, "--format: expected table, json or names, not '%s'",
						optarg);
	}
	if (optind != argc)
		return bale_usage_error(&cmd_images, "unexpected argument '%s'", argv[optind]);
	struct err *err = NULL;
	/* Completion runs `--format names` on every TAB: a store that does not
	 * exist has no names, and is not created. */
	if (names) {
		cleanup_free char *dir = NULL;
		if (store_root_resolve(&dir, g->root, &err) < 0)
			return bale_fail(err);
		if (access(dir, F_OK) != 0 && errno == ENOENT)
			return BALE_EXIT_OK;
	}
	cleanup_store struct store *s = NULL;
	if (store_open_root(&s, g->root, &err) < 0)
		return bale_fail(err);
	struct store_image *v = NULL;
	size_t n = 0;
	if (store_list(s, &v, &n, &err) < 0)
		return bale_fail(err);
	/* names: what shell completion offers, so no manifest is read. */
	if (names) {
		for (size_t i = 0; i < n; i++)
			if (v[i].name != NULL)
				printf("%s\n", v[i].name);
		store_images_free(v, n);
		return BALE_EXIT_OK;
	}
	struct row *rows = xcalloc(n ? n : 1, sizeof(*rows));
	for (size_t i = 0; i < n; i++)
		row_fill(s, &v[i], &rows[i]);
	if (json) {
		for (size_t i = 0; i < n; i++)
			print_json(&rows[i]);
	} else {
		print_table(rows, n);
	}
	for (size_t i = 0; i < n; i++)
		row_release(&rows[i]);
	free(rows);
	store_images_free(v, n);
	return BALE_EXIT_OK;
}

const struct bale_command cmd_images = {
	.name = "images",
	.summary = bale_summary_images,
	.usage = bale_help_images,
	.options = images_options,
	.run = run_images,
};
