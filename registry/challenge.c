/* WWW-Authenticate parsing: see challenge.h for the grammar. */
#include <config.h>

#include <ctype.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/util.h"
#include "registry/challenge.h"

struct cursor {
	const char *s;
	size_t len;
	size_t pos;
};

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token68_char(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("-._~+/", c) != NULL);
}

static bool at_end(const struct cursor *c)
{
	return c->pos >= c->len;
}

static unsigned char peek(const struct cursor *c)
{
	return at_end(c) ? 0 : (unsigned char)c->s[c->pos];
}

static void skip_ows(struct cursor *c)
{
	while (!at_end(c) && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t'))
		c->pos++;
}

/* Length of the token at the cursor (0 if none); does not move. */
static size_t token_len(const struct cursor *c)
{
	size_t n = 0;
	while (c->pos + n < c->len && is_tchar((unsigned char)c->s[c->pos + n]))
		n++;
	return n;
}

static char *lower_dup(const char *s, size_t n)
{
	char *r = xstrndup(s, n);
	for (char *p = r; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

static int bad(struct cursor *c, const char *why, struct err **err)
{
	return err_set(err, ERR_INVALID, "invalid WWW-Authenticate header at offset %zu: %s", c->pos,
		       why);
}

/* quoted-string at the cursor (which is on the opening quote) into *out. */
static int parse_quoted(struct cursor *c, char **out, struct err **err)
{
	struct buf b;
	buf_init(&b, BALE_MAX_HEADER);
	c->pos++;
	for (;;) {
		if (at_end(c)) {
			buf_release(&b);
			return bad(c, "unterminated quoted string", err);
		}
		unsigned char ch = peek(c);
		if (ch == '"')
			break;
		if (ch == '\\') {
			c->pos++;
			if (at_end(c)) {
				buf_release(&b);
				return bad(c, "unterminated quoted string", err);
			}
			ch = peek(c);
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			buf_release(&b);
			return bad(c, "control character in quoted string", err);
		}
		/* Cannot pass the cap: the input itself is capped at the same size. */
		(void)buf_addch(&b, (char)ch, NULL);
		c->pos++;
	}
	c->pos++;
	*out = buf_detach(&b, NULL);
	return 0;
}

/* Whether an auth-param (token BWS "=" BWS (token / quoted-string)) starts
 * at the cursor; token68 ("abc==") is not one. */
static bool param_ahead(const struct cursor *c)
{
	struct cursor t = *c;
	size_t n = token_len(&t);
	if (n == 0)
		return false;
	t.pos += n;
	skip_ows(&t);
	if (peek(&t) != '=')
		return false;
	t.pos++;
	skip_ows(&t);
	return peek(&t) == '"' || is_tchar(peek(&t));
}

static int parse_param(struct cursor *c, struct regc_challenge *ch, struct err **err)
{
	if (ch->n_params >= REGC_MAX_CHALLENGE_PARAMS)
		return err_set(err, ERR_TOOBIG, "WWW-Authenticate header has more than %d parameters",
			       REGC_MAX_CHALLENGE_PARAMS);
	size_t n = token_len(c);
	cleanup_free char *key = lower_dup(c->s + c->pos, n);
	c->pos += n;
	skip_ows(c);
	c->pos++; /* '=', checked by param_ahead() */
	skip_ows(c);
	char *value = NULL;
	if (peek(c) == '"') {
		if (parse_quoted(c, &value, err) < 0)
			return ERR_INVALID;
	} else {
		n = token_len(c);
		value = xstrndup(c->s + c->pos, n);
		c->pos += n;
	}
	ch->keys = xreallocarray(ch->keys, ch->n_params + 2, sizeof(char *));
	ch->values = xreallocarray(ch->values, ch->n_params + 2, sizeof(char *));
	ch->keys[ch->n_params] = steal_pointer(&key);
	ch->values[ch->n_params] = value;
	ch->n_params++;
	ch->keys[ch->n_params] = NULL;
	ch->values[ch->n_params] = NULL;
	return 0;
}

/* token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=",
 * alone up to the end of the challenge. */
static int parse_token68(struct cursor *c, struct regc_challenge *ch, struct err **err)
{
	size_t start = c->pos;
	while (!at_end(c) && is_token68_char(peek(c)))
		c->pos++;
	if (c->pos == start)
		return bad(c, "expected a parameter or token68", err);
	while (peek(c) == '=')
		c->pos++;
	ch->token68 = xstrndup(c->s + start, c->pos - start);
	skip_ows(c);
	if (!at_end(c) && peek(c) != ',')
		return bad(c, "unexpected character after token68", err);
	return 0;
}

/* The parameters after a scheme, up to the start of the next challenge. */
static int parse_params(struct cursor *c, struct regc_challenge *ch, struct err **err)
{
	if (!param_ahead(c))
		return parse_token68(c, ch, err);
	for (;;) {
		if (parse_param(c, ch, err) < 0)
			return err_code(*err);
		skip_ows(c);
		if (at_end(c))
			return 0;
		if (peek(c) != ',')
			return bad(c, "expected ',' between parameters", err);
		while (peek(c) == ',' || peek(c) == ' ' || peek(c) == '\t')
			c->pos++;
		if (!param_ahead(c))
			return 0; /* the next challenge (or the end) */
	}
}

static void challenge_release(struct regc_challenge *ch)
{
	free(ch->scheme);
	free(ch->token68);
	strv_free(ch->keys);
	strv_free(ch->values);
	memset(ch, 0, sizeof(*ch));
}

void regc_challenges_free(struct regc_challenge *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		challenge_release(&v[i]);
	free(v);
}

static int parse_one(struct cursor *c, struct regc_challenge *ch, struct err **err)
{
	size_t n = token_len(c);
	if (n == 0)
		return bad(c, "expected an authentication scheme", err);
	ch->scheme = lower_dup(c->s + c->pos, n);
	c->pos += n;
	if (at_end(c) || peek(c) == ',')
		return 0;
	if (peek(c) != ' ' && peek(c) != '\t')
		return bad(c, "expected a space after the scheme", err);
	skip_ows(c);
	if (at_end(c) || peek(c) == ',')
		return 0;
	return parse_params(c, ch, err);
}

int regc_challenges_parse(struct regc_challenge **v, size_t *n, const char *header, size_t len,
			  struct err **err)
{
	if (len > BALE_MAX_HEADER)
		return err_set(err, ERR_TOOBIG, "WWW-Authenticate header longer than %d bytes",
			       BALE_MAX_HEADER);
	if (memchr(header, '\0', len) != NULL)
		return err_set(err, ERR_INVALID, "invalid WWW-Authenticate header: NUL byte");
	struct cursor c = { .s = header, .len = len, .pos = 0 };
	struct regc_challenge *got = NULL;
	size_t n_got = 0;
	int r = 0;
	for (;;) {
		while (peek(&c) == ',' || peek(&c) == ' ' || peek(&c) == '\t')
			c.pos++;
		if (at_end(&c))
			break;
		if (*n + n_got >= REGC_MAX_CHALLENGES) {
			r = err_set(err, ERR_TOOBIG, "WWW-Authenticate has more than %d challenges",
				    REGC_MAX_CHALLENGES);
			break;
		}
		got = xreallocarray(got, n_got + 1, sizeof(*got));
		memset(&got[n_got], 0, sizeof(*got));
		n_got++;
		r = parse_one(&c, &got[n_got - 1], err);
		if (r < 0)
			break;
	}
	if (r < 0) {
		regc_challenges_free(got, n_got);
		return r;
	}
	if (n_got > 0) {
		*v = xreallocarray(*v, *n + n_got, sizeof(**v));
		memcpy(*v + *n, got, n_got * sizeof(*got));
		*n += n_got;
	}
	free(got);
	return 0;
}

const char *regc_challenge_param(const struct regc_challenge *c, const char *key)
{
	for (size_t i = 0; i < c->n_params; i++)
		if (str_eq_nocase(c->keys[i], key))
			return c->values[i];
	return NULL;
}

const struct regc_challenge *regc_challenge_find(const struct regc_challenge *v, size_t n,
						 const char *scheme)
{
	for (size_t i = 0; i < n; i++)
		if (str_eq_nocase(v[i].scheme, scheme))
			return &v[i];
	return NULL;
}
