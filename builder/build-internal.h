/* Internals of `bale build` shared by builder/build*.c, plan*.c, cache*.c,
 * context*.c, step*.c and their tests. Not for other modules. */
#ifndef BALE_BUILDER_BUILD_INTERNAL_H
#define BALE_BUILDER_BUILD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/build.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/sha256.h"
#include "layers/image.h"
#include "layers/store.h"
#include "parser/expand.h"
#include "parser/ignore.h"
#include "parser/parser.h"

/* Stages referenced by one build (BuildKit has no cap; a file with more is
 * hostile or generated). */
#define BUILD_MAX_STAGES 1024
/* Sources matched by one COPY/ADD. */
#define BUILD_MAX_SOURCES 1000000

/* Docker's default PATH for Linux images (moby's system.DefaultPathEnv). */
#define BUILD_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---------------------------------------------------------------- plan */

/* ARGs declared in a scope, in declaration order; a NULL value is an ARG
 * without a value (and no --build-arg or global default). */
struct bargs {
	char **keys;
	char **values; /* parallel to keys; entries may be NULL */
	size_t n;
};
void bargs_release(struct bargs *a);
/* Set key (adding it at the end when new); value may be NULL. */
void bargs_set(struct bargs *a, const char *key, const char *value);
/* Index of key, or -1. */
long bargs_find(const struct bargs *a, const char *key);

struct blayer {
	struct oci_descriptor desc; /* the stored blob */
	struct digest diff_id;
};

struct bstage {
	size_t index;
	const struct cf_stage *cf;
	char *name;        /* lower-cased AS name, or NULL */
	char *base;        /* the FROM word after expansion */
	char *platform;    /* FROM --platform after expansion, normalized
			    * ("linux/arm64", "linux/arm/v7"); NULL: absent */
	long base_stage;   /* index of the stage it builds on, or -1 */
	bool scratch;
	bool needed, done, busy;

	struct oci_config config;
	struct blayer *layers;
	size_t n_layers;
	struct bargs args;    /* ARGs in scope */
	char **state_env;     /* what RUN and expansion see: the image Env
			       * and ARG values, in the order they were set
			       * (BuildKit's LLB state env) */
	bool cmd_set;         /* a CMD in this stage (ENTRYPOINT keeps it) */
	struct digest chain;  /* cache key of the filesystem so far */
	char *base_name;      /* for annotations: the base image's name */
	struct digest base_digest;
	bool has_base_digest;
};

struct build_ctx {
	const struct build_opts *o;
	struct store *store;
	struct cas *cas;
	struct regc *regc; /* created on the first pull or push */
	char *root;      /* the store root */
	char *work;      /* <root>/build: cache/, tmp/, ... */
	char *tmp;       /* this build's temp dir under work/tmp */
	char *empty_dir; /* an empty directory (bottom overlay lower) */

	struct cf_file *cf;
	char *cf_name;
	struct cf_lex lex;

	/* the build context */
	char *ctx_dir;        /* absolute path of the context directory */
	struct cf_ignore *ignore;
	struct stat_entry **statcache; /* context.c: content hashes by stat */
	bool statcache_dirty;

	struct bstage *stages;
	size_t n_stages;
	size_t target;

	struct bargs meta;          /* global ARGs (before the first FROM) */
	struct bargs cli_args;      /* --build-arg, values resolved */
	bool *cli_arg_used;

	int64_t now;         /* created time of history and config */
	unsigned step_no;    /* #N of the progress lines */
	bool step_open;      /* step step_no announced, not finished yet */
	uint64_t step_t0;    /* when it began (CLOCK_MONOTONIC ns) */
	struct progress_item *step_item; /* its tty/json item */
	unsigned steps_run, steps_cached;
	struct build_result *res;
};

/* The platform of the build (linux/<GOARCH>), for predefined ARGs. */
const char *build_platform_os(void);
const char *build_platform_arch(void);

/* Normalize a platform "os/arch[/variant]" (lower case, GOARCH names for
 * x86_64, aarch64...) into *out (the caller frees). ERR_INVALID. */
int plan_platform_parse(const char *s, char **out, struct err **err);
/* Whether platform (normalized) names this machine's os and arch. */
bool plan_platform_is_host(const char *platform);

/* Parse the Containerfile, resolve global ARGs, the stages, their bases
 * and the target, and mark the stages the target needs. */
int plan_load(struct build_ctx *b, struct err **err);
/* Index of the stage a --from / FROM word names ("name" or an index below
 * `before`), or -1 when it names none (then it is an image). */
long plan_stage_lookup(const struct build_ctx *b, const char *word, size_t before);
/* The env used to expand words in stage st (its state_env), or the
 * global ARGs when st is NULL. Caller frees. */
struct cf_env *plan_stage_env(const struct build_ctx *b, const struct bstage *st);
/* Process one ARG instruction in stage st (NULL: the global scope). */
int plan_arg(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
	     struct buf *history, struct err **err);
/* Whether key is a predefined proxy ARG (kept out of history). */
bool plan_is_proxy_arg(const char *key);
/* The value of a predefined platform ARG, or NULL. */
const char *plan_predefined_arg(const char *key);

/* ---------------------------------------------------------------- rootfs */

/* The extracted (overlay-format) directory of a layer, extracting it
 * from the CAS when missing. *dir is the caller's. */
int rootfs_layer_dir(struct build_ctx *b, const struct blayer *l, char **dir, struct err **err);
/* Lower dirs of a stage (topmost first) with the empty dir at the bottom;
 * a strv the caller frees. */
int rootfs_lowers(struct build_ctx *b, const struct bstage *st, char ***lowers, struct err **err);

/* A writable view of a stage for COPY/WORKDIR steps: overlayfs of the
 * stage's layers plus a fresh upper dir, mounted on merged. */
struct rootfs_view {
	char *dir;    /* temp dir holding upper/, work/, merged/ */
	char *upper;
	char *work;
	char *merged;
	bool mounted;
	int rootfd;   /* O_DIRECTORY fd of merged */
};
int rootfs_view_open(struct build_ctx *b, const struct bstage *st, bool writable,
		     struct rootfs_view *v, struct err **err);
/* A writable overlay over one host directory (a RUN --mount=type=bind,rw
 * of the context): writes land in v->upper and go when it is closed. */
int rootfs_view_open_dir(struct build_ctx *b, const char *lower, struct rootfs_view *v,
			 struct err **err);
/* Unmount and remove everything (the upper dir too, unless taken). */
void rootfs_view_close(struct rootfs_view *v);
/* Unmount only (the upper dir stays for rootfs_commit_upper). */
int rootfs_view_unmount(struct rootfs_view *v, struct err **err);

/* Write upper (an overlay upper dir) as a layer, keep the upper as the
 * layer's extracted dir, append the layer to st (config diff_ids too). */
int rootfs_commit_upper(struct build_ctx *b, struct bstage *st, const char *upper,
			struct blayer *out, struct err **err);
/* Append an existing layer to a stage. */
void rootfs_stage_add_layer(struct bstage *st, const struct blayer *l);
/* Make a new empty temp directory under the build's tmp dir. */
char *rootfs_mktemp(struct build_ctx *b, const char *what, struct err **err);

/* ---------------------------------------------------------------- cache */

/* A step's cache key: sha256 over length-prefixed parts. */
/* (Hashed without libcrypto, common/sha256.h: keys are short, and a fully
 * cached build then never starts it.) */
struct cache_key {
	struct sha256_ctx sha;
};
void cache_key_init(struct cache_key *k, const struct digest *parent, const char *kind);
void cache_key_add(struct cache_key *k, const char *s);
void cache_key_add_n(struct cache_key *k, const void *p, size_t n);
void cache_key_final(struct cache_key *k, struct digest *out);

/* Look a key up: 0 and *l filled (its blob present in the CAS), or
 * ERR_NOTFOUND. */
int cache_lookup(struct build_ctx *b, const struct digest *key, struct blayer *l,
		 struct err **err);
/* Record key -> l. */
int cache_store(struct build_ctx *b, const struct digest *key, const struct blayer *l,
		struct err **err);

/* ---------------------------------------------------------------- context */

/* Prepare the context (directory, "-" tar on stdin, git URL) and the
 * ignore file; the Containerfile path is resolved too (*cf_path, the
 * caller frees; NULL when it is read from stdin). */
int context_prepare(struct build_ctx *b, char **cf_path, struct err **err);
/* Hash a host tree (or file) at path into k as COPY sees it: names, types,
 * modes, link targets and contents; ig_prefix (relative to the context,
 * or NULL for a tree outside it) is checked against the ignore file. */
int context_hash_path(struct build_ctx *b, struct cache_key *k, int dirfd, const char *path,
		      const char *ig_prefix, struct err **err);
/* Clone a git URL (URL#ref:subdir) into a temp dir and check ref out;
 * .git is dropped unless keep_git. *dir gets the checkout or its subdir. */
int context_git_fetch(struct build_ctx *b, const char *spec, bool keep_git, char **dir,
		      struct err **err);
/* Whether s looks like a git URL (a context or an ADD source). */
bool context_is_git_url(const char *s);
/* Load / save-and-free the context's stat cache (content hashes of
 * unchanged files are not recomputed). */
void context_statcache_load(struct build_ctx *b);
void context_statcache_save(struct build_ctx *b);
/* Whether a context-relative path is excluded by .dockerignore. */
bool context_ignored(const struct build_ctx *b, const char *rel);

/* ---------------------------------------------------------------- steps */

/* Run one instruction of stage st. */
int step_dispatch(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
		  struct err **err);
int step_meta(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
	      struct cf_env *env, struct err **err);
int step_workdir(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
		 struct cf_env *env, struct err **err);
int step_copy(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
	      struct cf_env *env, struct err **err);
int step_run(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
	     struct cf_env *env, struct err **err);
/* Load the image st->base from the store as st's starting point. */
int build_stage_from_image(struct build_ctx *b, struct bstage *st, struct err **err);
/* Build stage i (and first what it needs). */
int build_stage(struct build_ctx *b, size_t i, struct err **err);

/* A layer step's cache: with a hit (and no --no-cache) the layer is added
 * to st with its history entry and *hit is set. */
int step_cache_try(struct build_ctx *b, struct bstage *st, const struct digest *key,
		   const char *created_by, bool *hit, struct err **err);
/* A layer step's end: write upper as st's next layer, record it in the
 * cache under key and add the history entry. */
int step_layer_done(struct build_ctx *b, struct bstage *st, const struct digest *key,
		    const char *upper, const char *created_by, struct err **err);
/* The working directory of st normalized against p (WORKDIR rules). */
char *step_abs_path(const struct bstage *st, const char *p);

/* Record a history entry in st's config. */
void step_history(struct build_ctx *b, struct bstage *st, const char *created_by, bool empty);
/* Progress (build-progress.c). step_announce begins step #N (finishing
 * the previous one as done); step_cached / step_finish end it as CACHED,
 * DONE <time> or ERROR: <err's message>; ending an ended step does
 * nothing. */
void step_announce(struct build_ctx *b, const struct bstage *st, const struct cf_instruction *ins,
		   const char *text);
void step_running(struct build_ctx *b);
void step_cached(struct build_ctx *b);
void step_finish(struct build_ctx *b, int r, const struct err *err);
/* The fd a RUN writes its output to (*wfd): a pipe whose lines a thread
 * reports as "#N line", or o->log_fd when nothing is shown (then *so is
 * NULL). step_output_finish closes wfd, waits for the reader and frees
 * so. ERR_IO. */
struct step_output;
int step_output_start(struct build_ctx *b, struct step_output **so, int *wfd, struct err **err);
void step_output_finish(struct step_output *so, int wfd);
/* The last step: the image id, the names, the manifest and the counts. */
void step_export(struct build_ctx *b, const struct build_result *res);
/* Set/replace "K=V" in an env strv. */
void env_strv_set(char ***env, const char *key, const char *value);
/* The value of key in an env strv, or NULL. */
const char *env_strv_get(char *const *env, const char *key);

/* ---------------------------------------------------------------- output */

int output_write(struct build_ctx *b, const struct build_output *out,
		 const struct oci_descriptor *desc, const struct bstage *st, struct err **err);

#endif
