/* The pattern matcher behind ${v#p} ${v%p} ${v/p/r} and .dockerignore
 * (parser/match.c). Private to parser/. */
#ifndef BALE_PARSER_MATCH_INTERNAL_H
#define BALE_PARSER_MATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum cf_pt_kind {
	CF_PT_LIT,          /* one rune */
	CF_PT_ANY,          /* regex `.`: any rune but '\n' */
	CF_PT_ANY_NOSLASH,  /* [^/] */
	CF_PT_STAR,         /* .* (greedy) or .*? */
	CF_PT_STAR_NOSLASH, /* [^/]* */
	CF_PT_OPT,          /* start of an optional group, greedy; skip = index after it */
	CF_PT_CLASS,        /* [...] with ranges */
	CF_PT_BOL,          /* ^ in the middle of a pattern: only at offset 0 */
	CF_PT_EOT,          /* regex \z: only at the end of the text */
	CF_PT_WORDB,        /* regex \b (\B when negated): ASCII word boundary */
};

struct cf_ptok {
	uint8_t kind;
	bool greedy;
	bool star; /* LIT, ANY, ANY_NOSLASH or CLASS repeated: greedy X* */
	bool negated;
	int32_t rune;
	uint32_t skip;
	uint32_t nranges;
	int32_t *ranges; /* lo, hi pairs; owned */
};

struct cf_pattern {
	struct cf_ptok *t;
	size_t n, cap;
};

void cf_pattern_add(struct cf_pattern *p, struct cf_ptok tok);
void cf_pattern_release(struct cf_pattern *p);

struct cf_state {
	size_t ti, pos;
};

struct cf_matcher {
	const struct cf_pattern *p;
	const char *s;
	size_t n;
	bool anchor_end; /* the match must end at n (regex `$`) */
	bool memo_off;
	uint8_t *memo;
	size_t *marked;
	size_t nmarked, marked_cap;
	struct cf_state *stack;
	size_t depth, stack_cap;
};

/* A matcher of p over s[0..n); several searches may share it. */
void cf_matcher_init(struct cf_matcher *m, const struct cf_pattern *p, const char *s, size_t n,
		     bool anchor_end);
void cf_matcher_release(struct cf_matcher *m);
/* End offset of the preferred match starting at start, or -1. */
ssize_t cf_match_at(struct cf_matcher *m, size_t start);
/* Leftmost match starting at or after from: its end (and *start), or -1. */
ssize_t cf_match_find(struct cf_matcher *m, size_t from, size_t *start);

#endif
