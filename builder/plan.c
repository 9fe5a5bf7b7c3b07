/* The build plan: global ARGs, stages and their bases, the target, the
 * stages the target needs, and ARG scoping inside a stage, as BuildKit's
 * dockerfile2llb does it. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "builder/build-internal.h"
#include "common/buf.h"
#include "common/util.h"
#include "layers/store.h"

void bargs_release(struct bargs *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->keys[i]);
		free(a->values[i]);
	}
	free(a->keys);
	free(a->values);
	memset(a, 0, sizeof *a);
}

long bargs_find(const struct bargs *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->keys[i], key) == 0)
			return (long)i;
	return -1;
}

void bargs_set(struct bargs *a, const char *key, const char *value)
{
	long i = bargs_find(a, key);
	if (i >= 0) {
		free(a->values[i]);
		a->values[i] = value != NULL ? xstrdup(value) : NULL;
		return;
	}
	a->keys = xreallocarray(a->keys, a->n + 1, sizeof *a->keys);
	a->values = xreallocarray(a->values, a->n + 1, sizeof *a->values);
	a->keys[a->n] = xstrdup(key);
	a->values[a->n] = value != NULL ? xstrdup(value) : NULL;
	a->n++;
}

const char *build_platform_os(void)
{
	return "linux";
}

const char *build_platform_arch(void)
{
	return store_goarch();
}

static const struct {
	const char *alias, *goarch;
} arch_aliases[] = {
	{ "x86_64", "amd64" }, { "x86-64", "amd64" }, { "aarch64", "arm64" },
	{ "armhf", "arm" },    { "armel", "arm" },    { "i386", "386" },
	{ "i686", "386" },
};

int plan_platform_parse(const char *s, char **out, struct err **err)
{
	*out = NULL;
	cleanup_strv char **parts = str_split(s, '/');
	size_t n = strv_len(parts);
	if (n < 2 || n > 3)
		return err_set(err, ERR_INVALID, "invalid platform '%s': want os/arch[/variant]", s);
	for (size_t i = 0; i < n; i++) {
		if (parts[i][0] == '\0')
			return err_set(err, ERR_INVALID, "invalid platform '%s': empty part", s);
		for (char *c = parts[i]; *c != '\0'; c++) {
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
			      *c == '-' || *c == '.'))
				return err_set(err, ERR_INVALID, "invalid platform '%s'", s);
		}
	}
	const char *arch = parts[1];
	for (size_t i = 0; i < ARRAY_SIZE(arch_aliases); i++)
		if (strcmp(arch, arch_aliases[i].alias) == 0)
			arch = arch_aliases[i].goarch;
	*out = n == 3 ? xasprintf("%s/%s/%s", parts[0], arch, parts[2])
		      : xasprintf("%s/%s", parts[0], arch);
	return 0;
}

bool plan_platform_is_host(const char *platform)
{
	cleanup_free char *host = xasprintf("%s/%s", build_platform_os(), build_platform_arch());
	size_t n = strlen(host);
	return strncmp(platform, host, n) == 0 && (platform[n] == '\0' || platform[n] == '/');
}

static const char *const proxy_args[] = {
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
	"ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
};

bool plan_is_proxy_arg(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(proxy_args); i++)
		if (strcmp(key, proxy_args[i]) == 0)
			return true;
	return false;
}

/* BuildKit's predefined platform ARGs; build and target are this machine. */
const char *plan_predefined_arg(const char *key)
{
	static char platform[64];
	if (platform[0] == '\0')
		snprintf(platform, sizeof platform, "%s/%s", build_platform_os(),
			 build_platform_arch());
	if (strcmp(key, "TARGETPLATFORM") == 0 || strcmp(key, "BUILDPLATFORM") == 0)
		return platform;
	if (strcmp(key, "TARGETOS") == 0 || strcmp(key, "BUILDOS") == 0)
		return build_platform_os();
	if (strcmp(key, "TARGETARCH") == 0 || strcmp(key, "BUILDARCH") == 0)
		return build_platform_arch();
	if (strcmp(key, "TARGETVARIANT") == 0 || strcmp(key, "BUILDVARIANT") == 0)
		return "";
	return NULL;
}

/* A --build-arg value, marking it used. */
static const char *cli_arg(struct build_ctx *b, const char *key)
{
	long i = bargs_find(&b->cli_args, key);
	if (i < 0)
		return NULL;
	b->cli_arg_used[i] = true;
	return b->cli_args.values[i];
}

struct cf_env *plan_stage_env(const struct build_ctx *b, const struct bstage *st)
{
	struct cf_env *env = cf_env_new();
	if (st != NULL) {
		for (char **e = st->state_env; e != NULL && *e != NULL; e++)
			cf_env_put(env, *e);
		return env;
	}
	for (size_t i = 0; i < b->meta.n; i++)
		if (b->meta.values[i] != NULL)
			cf_env_set(env, b->meta.keys[i], b->meta.values[i]);
	return env;
}

/* Split "K=V" (the value as written) of an ARG word. */
static void arg_split(const char *word, char **key, char **value)
{
	const char *eq = strchr(word, '=');
	if (eq == NULL) {
		*key = xstrdup(word);
		*value = NULL;
		return;
	}
	*key = xstrndup(word, (size_t)(eq - word));
	*value = xstrdup(eq + 1);
}

int plan_arg(struct build_ctx *b, struct bstage *st, const struct cf_instruction *ins,
	     struct buf *history, struct err **err)
{
	for (size_t i = 0; i < ins->nargs; i++) {
		cleanup_free char *key = NULL, *raw = NULL;
		arg_split(ins->args[i], &key, &raw);
		cleanup_free char *def = NULL;
		if (raw != NULL) {
			struct cf_env *env = plan_stage_env(b, st);
			int r = cf_expand_word(&b->lex, raw, env, &def, err);
			cf_env_free(env);
			if (r < 0)
				return err_wrap(err, "%s:%u: ARG", b->cf_name, ins->line);
		}
		if (history != NULL) {
			if (history->len > 0)
				buf_addch(history, ' ', NULL);
			buf_addstr(history, key, NULL);
			if (def != NULL)
				buf_addf(history, NULL, "=%s", def);
		}
		const char *value = cli_arg(b, key);
		if (value == NULL)
			value = def;
		if (value == NULL && st != NULL) {
			/* ARG X in a stage takes the global default, or the
			 * predefined platform value. */
			long g = bargs_find(&b->meta, key);
			if (g >= 0)
				value = b->meta.values[g];
			else
				value = plan_predefined_arg(key);
		}
		bargs_set(st != NULL ? &st->args : &b->meta, key, value);
		if (st != NULL && value != NULL)
			env_strv_set(&st->state_env, key, value);
	}
	return 0;
}

long plan_stage_lookup(const struct build_ctx *b, const char *word, size_t before)
{
	for (size_t i = 0; i < before && i < b->n_stages; i++)
		if (b->stages[i].name != NULL && str_eq_nocase(b->stages[i].name, word))
			return (long)i;
	unsigned int idx;
	if (str_to_uint(word, (unsigned int)before, &idx) == 0 && idx < before)
		return (long)idx;
	return -1;
}

/* Resolve the --build-arg list: "K=V", or "K" taking bale's environment
 * (dropped when unset, as docker does). */
static void cli_args_load(struct build_ctx *b)
{
	for (char **a = b->o->build_args; a != NULL && *a != NULL; a++) {
		cleanup_free char *key = NULL, *value = NULL;
		arg_split(*a, &key, &value);
		if (value == NULL) {
			const char *v = getenv(key);
			if (v == NULL)
				continue;
			value = xstrdup(v);
		}
		bargs_set(&b->cli_args, key, value);
	}
	b->cli_arg_used = xcalloc(b->cli_args.n + 1, sizeof *b->cli_arg_used);
}

/* Global scope: the predefined platform ARGs, then the ARGs before FROM. */
static int meta_args_load(struct build_ctx *b, struct err **err)
{
	static const char *const predefined[] = {
		"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
		"BUILDPLATFORM",  "BUILDOS",  "BUILDARCH",  "BUILDVARIANT",
	};
	for (size_t i = 0; i < ARRAY_SIZE(predefined); i++)
		bargs_set(&b->meta, predefined[i], plan_predefined_arg(predefined[i]));
	for (size_t i = 0; i < b->cf->nmeta_args; i++) {
		const struct cf_instruction *ins = &b->cf->instructions[b->cf->meta_args[i]];
		if (plan_arg(b, NULL, ins, NULL, err) < 0)
			return ERR_INVALID;
	}
	return 0;
}

static int stage_resolve(struct build_ctx *b, size_t i, struct err **err)
{
	struct bstage *st = &b->stages[i];
	const struct cf_stage *cs = &b->cf->stages[i];
	st->index = i;
	st->cf = cs;
	st->name = cs->name != NULL ? xstrdup(cs->name) : NULL;
	st->base_stage = -1;
	struct cf_env *env = plan_stage_env(b, NULL);
	int r = cf_expand_word(&b->lex, cs->base, env, &st->base, err);
	cleanup_free char *platform = NULL;
	if (r == 0 && cs->platform != NULL)
		r = cf_expand_word(&b->lex, cs->platform, env, &platform, err);
	cf_env_free(env);
	if (r < 0)
		return err_wrap(err, "%s:%u: FROM", b->cf_name, cs->first_line);
	if (platform != NULL && platform[0] != '\0' &&
	    plan_platform_parse(platform, &st->platform, err) < 0)
		return err_wrap(err, "%s:%u: FROM --platform", b->cf_name, cs->first_line);
	if (st->base[0] == '\0')
		return err_set(err, ERR_INVALID, "%s:%u: FROM: base name (%s) should not be blank",
			       b->cf_name, cs->first_line, cs->base);
	if (str_eq_nocase(st->base, "scratch")) {
		st->scratch = true;
		return 0;
	}
	for (size_t j = 0; j < i; j++)
		if (b->stages[j].name != NULL && str_eq_nocase(b->stages[j].name, st->base)) {
			st->base_stage = (long)j;
			break;
		}
	return 0;
}

static int target_resolve(struct build_ctx *b, struct err **err)
{
	if (b->o->target == NULL || b->o->target[0] == '\0') {
		b->target = b->n_stages - 1;
		return 0;
	}
	for (size_t i = 0; i < b->n_stages; i++)
		if (b->stages[i].name != NULL && str_eq_nocase(b->stages[i].name, b->o->target)) {
			b->target = i;
			return 0;
		}
	return err_set(err, ERR_INVALID, "target stage '%s' could not be found", b->o->target);
}

/* The stage a COPY --from / RUN --mount from= names, if any (words with
 * variables are expanded with the global ARGs, as BuildKit does). */
static long from_flag_stage(struct build_ctx *b, const char *value, size_t before)
{
	struct cf_env *env = plan_stage_env(b, NULL);
	cleanup_free char *w = NULL;
	struct err *e = NULL;
	int r = cf_expand_word(&b->lex, value, env, &w, &e);
	cf_env_free(env);
	err_free(e);
	if (r < 0)
		return -1;
	return plan_stage_lookup(b, w, before);
}

static void mark_needed(struct build_ctx *b, size_t i);

static void mark_mounts(struct build_ctx *b, const struct cf_instruction *ins, size_t i)
{
	for (size_t f = 0; f < ins->nflags; f++) {
		if (!str_has_prefix(ins->flags[f], "--mount="))
			continue;
		struct cf_mount m;
		struct err *e = NULL;
		if (cf_mount_parse(ins->flags[f] + 8, NULL, NULL, &m, &e) < 0) {
			err_free(e);
			continue;
		}
		if (m.from != NULL) {
			long s = from_flag_stage(b, m.from, i);
			if (s >= 0)
				mark_needed(b, (size_t)s);
		}
		cf_mount_release(&m);
	}
}

static void mark_needed(struct build_ctx *b, size_t i)
{
	struct bstage *st = &b->stages[i];
	if (st->needed)
		return;
	st->needed = true;
	if (st->base_stage >= 0)
		mark_needed(b, (size_t)st->base_stage);
	for (size_t k = 1; k < st->cf->count; k++) {
		const struct cf_instruction *ins = &b->cf->instructions[st->cf->first + k];
		if (ins->kind == CF_COPY || ins->kind == CF_ADD) {
			const char *from = cf_instruction_flag(ins, "from");
			if (from != NULL) {
				long s = from_flag_stage(b, from, i);
				if (s >= 0)
					mark_needed(b, (size_t)s);
			}
		} else if (ins->kind == CF_RUN) {
			mark_mounts(b, ins, i);
		}
	}
}

int plan_load(struct build_ctx *b, struct err **err)
{
	b->lex.escape = b->cf->escape;
	if (b->cf->nstages == 0)
		return err_set(err, ERR_INVALID, "%s: no build stage in the file (no FROM)",
			       b->cf_name);
	if (b->cf->nstages > BUILD_MAX_STAGES)
		return err_set(err, ERR_TOOBIG, "%s: more than %d stages", b->cf_name,
			       BUILD_MAX_STAGES);
	cli_args_load(b);
	if (meta_args_load(b, err) < 0)
		return ERR_INVALID;
	b->n_stages = b->cf->nstages;
	b->stages = xcalloc(b->n_stages, sizeof *b->stages);
	for (size_t i = 0; i < b->n_stages; i++)
		if (stage_resolve(b, i, err) < 0)
			return ERR_INVALID;
	if (target_resolve(b, err) < 0)
		return ERR_INVALID;
	mark_needed(b, b->target);
	return 0;
}
