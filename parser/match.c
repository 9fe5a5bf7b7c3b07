/* A small matcher for the two pattern languages BuildKit turns into Go
 * regular expressions: shell patterns in ${v#p} ${v%p} ${v/p/r}, and
 * .dockerignore patterns. Both only need literals, "any rune", stars,
 * character classes and an optional group, so instead of a regex engine
 * this is a backtracking search in the same priority order as Go's
 * leftmost-first semantics, with every failed (token, offset) state
 * remembered so that no input makes it exponential. */
#include "config.h"

#include <string.h>

#include "common/util.h"
#include "parser/match-internal.h"
#include "parser/parser-internal.h"

/* Above this many (token, offset) states the failure memo is not kept:
 * only reachable with megabyte values and huge patterns together. */
#define MEMO_MAX_BITS ((size_t)1 << 28)

void cf_pattern_add(struct cf_pattern *p, struct cf_ptok tok)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->t = xreallocarray(p->t, p->cap, sizeof(*p->t));
	}
	p->t[p->n++] = tok;
}

void cf_pattern_release(struct cf_pattern *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->t[i].ranges);
	free(p->t);
	p->t = NULL;
	p->n = p->cap = 0;
}

void cf_matcher_init(struct cf_matcher *m, const struct cf_pattern *p, const char *s, size_t n,
		     bool anchor_end)
{
	memset(m, 0, sizeof(*m));
	m->p = p;
	m->s = s;
	m->n = n;
	m->anchor_end = anchor_end;
}

void cf_matcher_release(struct cf_matcher *m)
{
	free(m->memo);
	free(m->stack);
	free(m->marked);
	m->marked = NULL;
	m->memo = NULL;
	m->stack = NULL;
}

/* Go's regexp isWordChar: \b and \B only look at ASCII. */
static bool is_word_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool class_has(const struct cf_ptok *t, int32_t r)
{
	bool in = false;
	for (uint32_t i = 0; i < t->nranges && !in; i++)
		in = r >= t->ranges[2 * i] && r <= t->ranges[2 * i + 1];
	return in != t->negated;
}

/* Whether one-rune token t (LIT, ANY, ANY_NOSLASH, CLASS) takes r. */
static bool rune_fits(const struct cf_ptok *t, int32_t r)
{
	switch (t->kind) {
	case CF_PT_LIT: return r == t->rune;
	case CF_PT_ANY: return r != '\n';
	case CF_PT_ANY_NOSLASH: return r != '/';
	case CF_PT_CLASS: return class_has(t, r);
	default: return false;
	}
}

/* Test-and-set the failure bit of a state; true if it was already set. */
static bool memo_seen(struct cf_matcher *m, size_t ti, size_t pos)
{
	if (m->memo_off)
		return false;
	size_t bits = (m->p->n + 1) * (m->n + 1);
	if (m->memo == NULL) {
		if (m->n + 1 > MEMO_MAX_BITS / (m->p->n + 1)) {
			m->memo_off = true;
			return false;
		}
		m->memo = xcalloc(bits / 8 + 1, 1);
	}
	size_t bit = ti * (m->n + 1) + pos;
	bool seen = (m->memo[bit / 8] >> (bit % 8)) & 1;
	if (!seen) {
		m->memo[bit / 8] |= (uint8_t)(1u << (bit % 8));
		if (m->nmarked == m->marked_cap) {
			m->marked_cap = m->marked_cap ? m->marked_cap * 2 : 64;
			m->marked = xreallocarray(m->marked, m->marked_cap, sizeof(*m->marked));
		}
		m->marked[m->nmarked++] = bit;
	}
	return seen;
}

static void push(struct cf_matcher *m, size_t ti, size_t pos)
{
	if (m->depth == m->stack_cap) {
		m->stack_cap = m->stack_cap ? m->stack_cap * 2 : 64;
		m->stack = xreallocarray(m->stack, m->stack_cap, sizeof(*m->stack));
	}
	m->stack[m->depth].ti = ti;
	m->stack[m->depth].pos = pos;
	m->depth++;
}

/* Follow one path from (ti, pos), pushing the alternatives it passes. */
static ssize_t run_path(struct cf_matcher *m, size_t ti, size_t pos)
{
	const struct cf_pattern *p = m->p;
	for (;;) {
		if (ti == p->n) {
			if (!m->anchor_end || pos == m->n)
				return (ssize_t)pos;
			return -1;
		}
		if (memo_seen(m, ti, pos))
			return -1;
		const struct cf_ptok *t = &p->t[ti];
		size_t w = 0;
		int32_t r = cf_utf8_decode(m->s + pos, m->n - pos, &w);
		if (t->star) {
			/* Greedy: take one more rune first, stop on failure. */
			if (r != CF_EOF && rune_fits(t, r)) {
				push(m, ti + 1, pos);
				pos += w;
			} else {
				ti++;
			}
			continue;
		}
		switch (t->kind) {
		case CF_PT_LIT:
			if (r != t->rune)
				return -1;
			pos += w, ti++;
			break;
		case CF_PT_ANY:
		case CF_PT_ANY_NOSLASH:
			if (r == CF_EOF || r == (t->kind == CF_PT_ANY ? '\n' : '/'))
				return -1;
			pos += w, ti++;
			break;
		case CF_PT_CLASS:
			if (r == CF_EOF || !class_has(t, r))
				return -1;
			pos += w, ti++;
			break;
		case CF_PT_BOL:
			if (pos != 0)
				return -1;
			ti++;
			break;
		case CF_PT_EOT:
			if (pos != m->n)
				return -1;
			ti++;
			break;
		case CF_PT_WORDB: {
			bool before = pos > 0 && is_word_byte(m->s[pos - 1]);
			bool after = pos < m->n && is_word_byte(m->s[pos]);
			if ((before != after) == t->negated)
				return -1;
			ti++;
			break;
		}
		case CF_PT_OPT:
			/* Greedy: enter the group first, skip it on failure. */
			push(m, t->skip, pos);
			ti++;
			break;
		case CF_PT_STAR:
		case CF_PT_STAR_NOSLASH: {
			bool can = r != CF_EOF && r != (t->kind == CF_PT_STAR ? '\n' : '/');
			if (!can) {
				ti++;
			} else if (t->greedy) {
				push(m, ti + 1, pos);
				pos += w;
			} else {
				push(m, ti, pos + w);
				ti++;
			}
			break;
		}
		}
	}
}

ssize_t cf_match_at(struct cf_matcher *m, size_t start)
{
	m->depth = 0;
	ssize_t end = run_path(m, 0, start);
	while (end < 0 && m->depth > 0) {
		m->depth--;
		end = run_path(m, m->stack[m->depth].ti, m->stack[m->depth].pos);
	}
	/* A failure bit only means "fails" once the search that set it has
	 * failed: after a success, states of the winning path and of its
	 * pending alternatives must be free again for the next search. */
	if (end >= 0)
		for (size_t i = 0; i < m->nmarked; i++)
			m->memo[m->marked[i] / 8] &= (uint8_t) ~(1u << (m->marked[i] % 8));
	m->nmarked = 0;
	return end;
}

ssize_t cf_match_find(struct cf_matcher *m, size_t from, size_t *start)
{
	for (size_t s = from; s <= m->n;) {
		ssize_t end = cf_match_at(m, s);
		if (end >= 0) {
			*start = s;
			return end;
		}
		if (s == m->n)
			break;
		size_t w;
		cf_utf8_decode(m->s + s, m->n - s, &w);
		s += w;
	}
	return -1;
}
