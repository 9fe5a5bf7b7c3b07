/* Containerfile / Dockerfile parsing, as BuildKit's Dockerfile frontend
 * parses (moby/buildkit frontend/dockerfile/parser and instructions):
 * directives, continuations, comments, heredocs, exec and shell forms,
 * per-instruction flags and their validation, and build stages.
 *
 * The tree keeps words as written: quote removal and variable expansion are
 * parser/expand.h, called by the builder with each step's environment. */
#ifndef BALE_PARSER_PARSER_H
#define BALE_PARSER_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

enum cf_kind {
	CF_UNKNOWN = 0, /* only as an ONBUILD trigger; see cf_instruction.keyword */
	CF_ADD,
	CF_ARG,
	CF_CMD,
	CF_COPY,
	CF_ENTRYPOINT,
	CF_ENV,
	CF_EXPOSE,
	CF_FROM,
	CF_HEALTHCHECK,
	CF_LABEL,
	CF_MAINTAINER,
	CF_ONBUILD,
	CF_RUN,
	CF_SHELL,
	CF_STOPSIGNAL,
	CF_USER,
	CF_VOLUME,
	CF_WORKDIR,
};

enum cf_form {
	CF_FORM_SHELL = 0, /* words or shell text */
	CF_FORM_EXEC = 1,  /* a JSON array */
};

struct cf_heredoc {
	char *name;        /* the delimiter word, quotes removed */
	char *content;     /* the body as written, line endings kept; with
			    * chomp the consumer strips leading tabs
			    * (cf_heredoc_chomped()) as BuildKit does */
	bool expand;       /* false when any part of the delimiter was quoted */
	bool chomp;        /* <<- */
	uint64_t fd;       /* 3<<EOF: 3; 0 when not given */
};

struct cf_pair {
	char *key;   /* as written */
	char *value; /* as written (quotes kept) */
	char *sep;   /* "=" or "" for the legacy `ENV key value` form */
};

struct cf_instruction {
	enum cf_kind kind;
	enum cf_form form;
	const char *keyword;   /* upper-case name ("RUN"); for an unknown
				* instruction (only kept as an ONBUILD
				* trigger), the word as written */
	unsigned int line;     /* first line (1-based) */
	unsigned int end_line; /* last line, heredoc bodies included */
	unsigned int col;      /* column of the keyword on the first line */
	size_t nflags, nargs, nheredocs, npairs;
	char **flags;          /* "--name=value" as BuildKit's lexer gives them */
	char **args;           /* words as written; exec form: the JSON
				* elements; RUN/CMD/ENTRYPOINT/SHELL shell form:
				* one element, the command text; HEALTHCHECK:
				* the type word then the same */
	struct cf_heredoc *heredocs;
	struct cf_pair *pairs; /* ENV and LABEL */
	struct cf_instruction *trigger; /* ONBUILD: the nested instruction */
	char *expression;      /* ONBUILD trigger: its text as written, with
				* its heredocs (BuildKit's Expression) */
};

struct cf_directive {
	char *name;  /* lower case: "syntax", "escape" or "check" */
	char *value;
	unsigned int line;
};

struct cf_stage {
	size_t index;
	char *name;     /* lower-cased `AS name`, or NULL */
	char *base;     /* the image word as written (not expanded) */
	char *platform; /* --platform value as written; NULL when absent or
			 * empty (BuildKit treats "" as unset) */
	unsigned int first_line, last_line;
	size_t first;   /* index of its FROM in instructions */
	size_t count;   /* instructions in the stage, FROM included */
};

struct cf_file {
	char escape; /* '\\' or '`' */
	size_t ndirectives, ninstructions, nstages, nmeta_args;
	struct cf_directive *directives;
	struct cf_instruction *instructions;
	struct cf_stage *stages;
	size_t *meta_args; /* indexes of the ARGs before the first FROM */
	struct cf_arena *arena;
};

/* Parse a whole Containerfile held in data[0..len). `name` is used in error
 * messages ("Containerfile:3:1: ..."). On success *out is a new tree the
 * caller frees with cf_file_free(). Errors: ERR_INVALID for anything
 * BuildKit's frontend would refuse before building (parse errors, a bad
 * `# check=` directive, a physical line over 65535 bytes, no FROM at all),
 * plus NUL bytes; the message carries name:line:col. ERR_TOOBIG past
 * BALE_MAX_CONTAINERFILE or a logical line past BALE_MAX_LINE. */
int cf_parse(const char *data, size_t len, const char *name, struct cf_file **out, struct err **err);

/* cf_parse() on a file read whole; "-" reads stdin. Adds ERR_NOTFOUND,
 * ERR_DENIED, ERR_IO for the read. */
int cf_parse_file(const char *path, struct cf_file **out, struct err **err);

void cf_file_free(struct cf_file *f);

/* Upper-case instruction name of a kind ("FROM"); "" for CF_UNKNOWN. */
const char *cf_kind_name(enum cf_kind kind);
/* The kind of a keyword, case-insensitive; CF_UNKNOWN if none. */
enum cf_kind cf_kind_lookup(const char *word, size_t len);
/* Whether the builder expands variables in this instruction's arguments
 * (the Dockerfile reference's list: ADD COPY ENV EXPOSE FROM LABEL
 * STOPSIGNAL USER VOLUME WORKDIR ONBUILD, plus ARG and RUN --mount). */
bool cf_kind_expands(enum cf_kind kind);

/* Value of the last --name=... flag (string flags) or NULL; for --name
 * without a value, "". Points into the tree. */
const char *cf_instruction_flag(const struct cf_instruction *ins, const char *name);

/* A heredoc's body with leading tabs stripped on every line when chomp is
 * set (what COPY/ADD/RUN use). Caller frees. */
char *cf_heredoc_chomped(const struct cf_heredoc *h);

/* One RUN --mount, as BuildKit's parseMount reads it. */
enum cf_mount_type {
	CF_MOUNT_BIND = 0,
	CF_MOUNT_CACHE,
	CF_MOUNT_TMPFS,
	CF_MOUNT_SECRET,
	CF_MOUNT_SSH,
};

struct cf_mount {
	enum cf_mount_type type;
	char *from, *source, *target, *id, *sharing, *env; /* NULL when absent */
	bool readonly, required;
	bool has_mode, has_uid, has_gid, has_size;
	uint64_t mode, uid, gid;
	int64_t size;
};

/* Expands one word of a --mount value (cf_expand_word with the step's
 * environment, typically). Returns 0 and a new *out, or an error. */
typedef int (*cf_word_expander)(void *ctx, const char *word, char **out, struct err **err);

/* Parse a --mount value ("type=cache,target=/root/.cache"). With expand,
 * values are expanded first (build time). Without it (parse time) values
 * holding a '$' are not judged and `from` must not use a variable, as in
 * BuildKit. On success the caller releases *m with cf_mount_release().
 * Errors: ERR_INVALID with BuildKit's message. */
int cf_mount_parse(const char *value, cf_word_expander expand, void *ctx, struct cf_mount *m,
		   struct err **err);
void cf_mount_release(struct cf_mount *m);
const char *cf_mount_type_name(enum cf_mount_type t);

/* Parse a Go duration ("1m30s", "500ms") into nanoseconds, as HEALTHCHECK
 * flags are read. ERR_INVALID with Go's message. */
int cf_parse_duration(const char *s, int64_t *ns, struct err **err);

/* Render the tree as the JSON documented in docs/parse-json.md (ends with
 * a newline). Errors: ERR_TOOBIG when out's cap is reached. */
int cf_file_to_json(const struct cf_file *f, struct buf *out, struct err **err);
/* Render the tree as BuildKit's AST dump: one s-expression per line. */
int cf_file_to_text(const struct cf_file *f, struct buf *out, struct err **err);

/* Append s[0..n) as a JSON string literal (quotes included). */
int cf_json_add_string(struct buf *b, const char *s, size_t n, struct err **err);

#endif
