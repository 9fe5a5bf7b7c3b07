/* The bearer token flow and registry error bodies: see bearer.h. */
#include <config.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/util.h"
#include "registry/bearer.h"

static void add_query(struct buf *url, bool *first, const char *key, const char *value)
{
	cleanup_free char *v = regc_url_escape(value);
	(void)buf_addf(url, NULL, "%c%s=%s", *first ? '?' : '&', key, v);
	*first = false;
}

static int parse_token_body(const struct regc_http_resp *resp, const char *realm, char **token,
			    int64_t *expires_in, struct err **err)
{
	cleanup_json json_t *j = NULL;
	if (jx_load_buffer(&j, resp->body.data, resp->body.len, "token response", 0, err) < 0)
		return err_wrap(err, "token server '%s'", realm);
	const char *tok = NULL, *access = NULL;
	int64_t exp = 60;
	if (jx_get_string(&tok, j, "token", false, NULL, err) < 0 ||
	    jx_get_string(&access, j, "access_token", false, NULL, err) < 0 ||
	    jx_get_int64(&exp, j, "expires_in", false, 0, INT32_MAX, NULL, err) < 0)
		return err_wrap(err, "token server '%s'", realm);
	if (tok == NULL || tok[0] == '\0')
		tok = access;
	if (tok == NULL || tok[0] == '\0')
		return err_set(err, ERR_INVALID, "token server '%s' answered without a token", realm);
	/* docker's minimum: a shorter lifetime would mean a token per request */
	*expires_in = exp < 60 ? 60 : exp;
	*token = xstrdup(tok);
	return 0;
}

static int status_error(const struct regc_http_resp *resp, const struct regc_bearer_req *q,
			struct err **err)
{
	cleanup_free char *why = regc_error_body_describe(resp->body.data, resp->body.len);
	const char *who = q->cred == NULL ? "anonymous" : q->cred->username;
	if (who == NULL)
		who = "identity token";
	int code = resp->status == 401 ? ERR_UNAUTHORIZED :
		   resp->status == 403 ? ERR_DENIED : ERR_PROTOCOL;
	return err_set(err, code, "token server '%s' answered %ld%s%s (credentials: %s%s%s)", q->realm,
		       resp->status, why != NULL ? ": " : "", why != NULL ? why : "", who,
		       q->cred != NULL ? " from " : "", q->cred != NULL ? q->cred->source : "");
}

int regc_bearer_fetch(struct regc_http *h, const struct regc_bearer_req *q, char **token,
		      int64_t *expires_in, bool *transient, struct err **err)
{
	*transient = false;
	if (!str_has_prefix(q->realm, "https://") && !str_has_prefix(q->realm, "http://"))
		return err_set(err, ERR_INVALID, "token realm '%s' is not an http(s) URL", q->realm);
	struct buf url, form;
	buf_init(&url, BALE_MAX_HEADER * 4);
	buf_init(&form, BALE_MAX_HEADER * 4);
	cleanup_free char *authz = NULL;
	bool oauth = q->cred != NULL && q->cred->identity_token != NULL;
	bool first = strchr(q->realm, '?') == NULL;
	(void)buf_addstr(&url, q->realm, NULL);
	if (oauth) {
		/* OAuth2 refresh-token grant, as docker does with identity tokens */
		bool f = false;
		(void)buf_addstr(&form, "grant_type=refresh_token&client_id=bale", NULL);
		add_query(&form, &f, "refresh_token", q->cred->identity_token);
		if (q->service != NULL)
			add_query(&form, &f, "service", q->service);
		for (size_t i = 0; q->scopes != NULL && q->scopes[i] != NULL; i++)
			add_query(&form, &f, "scope", q->scopes[i]);
	} else {
		if (q->service != NULL)
			add_query(&url, &first, "service", q->service);
		for (size_t i = 0; q->scopes != NULL && q->scopes[i] != NULL; i++)
			add_query(&url, &first, "scope", q->scopes[i]);
		if (q->cred != NULL && q->cred->username != NULL) {
			add_query(&url, &first, "account", q->cred->username);
			cleanup_free char *pair =
				xasprintf("%s:%s", q->cred->username, q->cred->password);
			cleanup_free char *b64 = regc_base64_encode(pair, strlen(pair));
			authz = xasprintf("Authorization: Basic %s", b64);
		}
	}
	const char *headers[3] = { authz, NULL, NULL };
	if (oauth)
		headers[0] = "Content-Type: application/x-www-form-urlencoded";
	struct regc_http_req req = {
		.method = oauth ? REGC_POST : REGC_GET,
		.url = buf_str(&url),
		.headers = headers,
		.data = oauth ? form.data : NULL,
		.len = oauth ? form.len : 0,
		.fd = -1,
		.body_max = REGC_MAX_TOKEN_RESPONSE,
		.insecure = q->insecure,
		.host_port = q->host_port,
	};
	struct regc_http_resp resp;
	regc_http_resp_init(&resp);
	int r = regc_http_do(h, &req, &resp, err);
	if (r < 0)
		*transient = resp.transient;
	else if (resp.status == 200)
		r = parse_token_body(&resp, q->realm, token, expires_in, err);
	else {
		*transient = resp.status >= 500 || resp.status == 429;
		r = status_error(&resp, q, err);
	}
	regc_http_resp_release(&resp);
	buf_release(&url);
	buf_release(&form);
	return r;
}

static void describe_one(struct buf *b, const json_t *e)
{
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	json_t *detail = json_object_get(e, "detail");
	if (b->len > 0)
		(void)buf_addstr(b, "; ", NULL);
	if (code != NULL)
		(void)buf_addstr(b, code, NULL);
	if (msg != NULL)
		(void)buf_addf(b, NULL, "%s%s", code != NULL ? ": " : "", msg);
	if (json_is_string(detail) && json_string_length(detail) > 0)
		(void)buf_addf(b, NULL, " (%s)", json_string_value(detail));
}

char *regc_error_body_describe(const char *body, size_t len)
{
	if (body == NULL || len == 0)
		return NULL;
	cleanup_json json_t *j = NULL;
	if (jx_load_buffer(&j, body, len, "error", 0, NULL) < 0 || !json_is_object(j))
		return NULL;
	struct buf b;
	buf_init(&b, 4096);
	json_t *errors = json_object_get(j, "errors");
	size_t i;
	json_t *e;
	if (json_is_array(errors)) {
		json_array_foreach(errors, i, e)
		{
			if (json_is_object(e) && i < 8)
				describe_one(&b, e);
		}
	} else if (json_is_string(json_object_get(j, "error"))) {
		const char *d = json_string_value(json_object_get(j, "error_description"));
		(void)buf_addf(&b, NULL, "%s%s%s", json_string_value(json_object_get(j, "error")),
			       d != NULL ? ": " : "", d != NULL ? d : "");
	} else if (json_is_string(json_object_get(j, "details"))) {
		(void)buf_addstr(&b, json_string_value(json_object_get(j, "details")), NULL);
	}
	if (b.len == 0) {
		buf_release(&b);
		return NULL;
	}
	/* The text reaches a terminal: no control characters. */
	char *raw = buf_detach(&b, NULL);
	char *q = str_quote(raw, strlen(raw));
	free(raw);
	return q;
}

char *regc_error_body_code(const char *body, size_t len)
{
	if (body == NULL || len == 0)
		return NULL;
	cleanup_json json_t *j = NULL;
	if (jx_load_buffer(&j, body, len, "error", 0, NULL) < 0 || !json_is_object(j))
		return NULL;
	json_t *errors = json_object_get(j, "errors");
	const char *code = json_string_value(json_object_get(json_array_get(errors, 0), "code"));
	return code != NULL ? xstrdup(code) : NULL;
}
