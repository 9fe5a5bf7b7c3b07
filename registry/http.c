/* The HTTP layer of `bale serve`: libmicrohttpd glue, request objects,
 * replies and the access log.
 *
 * Every response is queued on the *second* call of the access handler or
 * later, never on the first (which only sees the headers): libmicrohttpd
 * keeps a connection alive only then (DESIGN.md "Facts measured"). The
 * exception is a request with a body that is refused before any of it is
 * read (401, unknown upload, ...): answering at once saves the client from
 * sending a body that would be thrown away, and costs only the
 * connection.
 *
 * The raw request target is captured in the URI-log callback, so routing
 * and query parsing are ours (routes.c) rather than libmicrohttpd's
 * unescaping, and the request object exists from the first byte on. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "common/json.h"
#include "common/log.h"
#include "common/limits.h"
#include "common/util.h"
#include "registry/http-internal.h"
#include "registry/server-internal.h"

static _Atomic uint64_t request_counter;

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static enum reg_method method_of(const char *m)
{
	static const struct {
		const char *name;
		enum reg_method m;
	} table[] = {
	        {"GET", REG_M_GET}, {"HEAD", REG_M_HEAD},   {"POST", REG_M_POST},
	        {"PUT", REG_M_PUT}, {"PATCH", REG_M_PATCH}, {"DELETE", REG_M_DELETE},
	};
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (strcmp(m, table[i].name) == 0)
			return table[i].m;
	return REG_M_OTHER;
}

/* Split the target into path and query and parse both. */
static void parse_target(struct reg_req *r)
{
	if (strlen(r->uri) > REG_MAX_URI) {
		r->target_error = ERR_TOOBIG;
		return;
	}
	char *q = strchr(r->uri, '?');
	r->path = q != NULL ? xstrndup(r->uri, (size_t)(q - r->uri)) : xstrdup(r->uri);
	char *hash = strchr(r->path, '#');
	if (hash != NULL)
		*hash = '\0';
	if (reg_query_parse(&r->query, q != NULL ? q + 1 : NULL, NULL) < 0 ||
	    reg_path_decode(r->path, NULL) < 0) {
		r->target_error = ERR_INVALID;
		return;
	}
	reg_route_parse(&r->route, r->path);
}

void *reg_http_uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct reg_server *srv = cls;
	struct reg_req *r = xcalloc(1, sizeof(*r));
	r->srv = srv;
	r->conn = c;
	r->start_ns = mono_ns();
	r->uri = xstrndup(uri != NULL ? uri : "", REG_MAX_URI + 1);
	r->chunk_len = -1;
	snprintf(r->id, sizeof(r->id), "%s-%" PRIu64, srv->id_prefix,
	         atomic_fetch_add_explicit(&request_counter, 1, memory_order_relaxed));
	buf_init(&r->body, srv->cfg->max_manifest);
	parse_target(r);
	return r;
}

const char *reg_req_header(struct reg_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *reg_req_param(struct reg_req *r, const char *name)
{
	return reg_query_get(&r->query, name);
}

const char *reg_req_scheme(struct reg_req *r)
{
	return r->srv->tls_cert != NULL ? "https" : "http";
}

/* ---- replies ---- */

void reg_reply_header(struct reg_req *r, const char *name, const char *value)
{
	if (r->nhdr == REG_MAX_RESP_HEADERS)
		return;
	r->hdr_name[r->nhdr] = name;
	r->hdr_value[r->nhdr] = xstrdup(value);
	r->nhdr++;
}

void reg_reply_headerf(struct reg_req *r, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *v = xvasprintf(fmt, ap);
	va_end(ap);
	reg_reply_header(r, name, v);
	free(v);
}

static void queue(struct reg_req *r, unsigned status, struct MHD_Response *resp,
                  const char *content_type)
{
	if (r->replied) {
		MHD_destroy_response(resp);
		return;
	}
	r->replied = true;
	r->status = status;
	MHD_add_response_header(resp, "Docker-Distribution-API-Version", "registry/2.0");
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	if (content_type != NULL)
		MHD_add_response_header(resp, "Content-Type", content_type);
	for (size_t i = 0; i < r->nhdr; i++)
		MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
	if (MHD_queue_response(r->conn, status, resp) != MHD_YES)
		log_warn("cannot queue a response for request %s", r->id);
	MHD_destroy_response(resp);
}

void reg_reply_empty(struct reg_req *r, unsigned status)
{
	queue(r, status, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT), NULL);
}

void reg_reply_bytes(struct reg_req *r, unsigned status, const char *content_type, const void *data,
                     size_t len)
{
	struct MHD_Response *resp =
	        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (r->method != REG_M_HEAD)
		r->bytes_out += len;
	queue(r, status, resp, content_type);
}

void reg_reply_take(struct reg_req *r, unsigned status, const char *content_type, char *data,
                    size_t len)
{
	struct MHD_Response *resp =
	        MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (r->method != REG_M_HEAD)
		r->bytes_out += len;
	queue(r, status, resp, content_type);
}

void reg_reply_fd(struct reg_req *r, unsigned status, const char *content_type, int fd,
                  uint64_t off, uint64_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, off);
	if (resp == NULL) {
		close(fd);
		reg_reply_error(r, 500, API_INTERNAL, "cannot create response");
		return;
	}
	if (r->method != REG_M_HEAD)
		r->bytes_out += len;
	queue(r, status, resp, content_type);
}

static const struct {
	const char *code;
	unsigned status;
	const char *message;
} api_errors[] = {
        [API_BLOB_UNKNOWN] = {"BLOB_UNKNOWN", 404, "blob unknown to registry"},
        [API_BLOB_UPLOAD_INVALID] = {"BLOB_UPLOAD_INVALID", 400, "blob upload invalid"},
        [API_BLOB_UPLOAD_UNKNOWN] = {"BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"},
        [API_DIGEST_INVALID] = {"DIGEST_INVALID", 400,
                                "provided digest did not match uploaded content"},
        [API_MANIFEST_BLOB_UNKNOWN] =
                {"MANIFEST_BLOB_UNKNOWN", 400,
                 "manifest references a manifest or blob unknown to registry"},
        [API_MANIFEST_INVALID] = {"MANIFEST_INVALID", 400, "manifest invalid"},
        [API_MANIFEST_UNKNOWN] = {"MANIFEST_UNKNOWN", 404, "manifest unknown to registry"},
        [API_NAME_INVALID] = {"NAME_INVALID", 400, "invalid repository name"},
        [API_NAME_UNKNOWN] = {"NAME_UNKNOWN", 404, "repository name not known to registry"},
        [API_SIZE_INVALID] = {"SIZE_INVALID", 400, "provided length did not match content length"},
        [API_UNAUTHORIZED] = {"UNAUTHORIZED", 401, "authentication required"},
        [API_DENIED] = {"DENIED", 403, "requested access to the resource is denied"},
        [API_UNSUPPORTED] = {"UNSUPPORTED", 405, "the operation is unsupported"},
        [API_TOOMANYREQUESTS] = {"TOOMANYREQUESTS", 429, "too many requests"},
        [API_RANGE_INVALID] = {"BLOB_UPLOAD_INVALID", 416, "requested range not satisfiable"},
        [API_PAGINATION_NUMBER_INVALID] = {"PAGINATION_NUMBER_INVALID", 400,
                                           "invalid number of results requested"},
        [API_INTERNAL] = {"UNKNOWN", 500, "internal server error"},
};

const char *reg_api_error_code(enum reg_api_error code)
{
	return api_errors[code].code;
}

void reg_reply_error(struct reg_req *r, unsigned status, enum reg_api_error code,
                     const char *message)
{
	cleanup_json json_t *doc = json_object();
	json_t *arr = json_array();
	json_t *e = json_object();
	json_object_set_new(e, "code", json_string(api_errors[code].code));
	json_object_set_new(e, "message",
	                    json_string(message != NULL ? message : api_errors[code].message));
	json_object_set_new(e, "detail", json_null());
	json_array_append_new(arr, e);
	json_object_set_new(doc, "errors", arr);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (jx_dump(&text, &len, doc, JX_NEWLINE, NULL) < 0) {
		/* invalid UTF-8 in a message we built from input: say less */
		free(text);
		text = xasprintf("{\"errors\":[{\"code\":\"%s\",\"message\":\"%s\"}]}\n",
		                 api_errors[code].code, api_errors[code].message);
		len = strlen(text);
	}
	reg_reply_bytes(r, status != 0 ? status : api_errors[code].status,
	                "application/json; charset=utf-8", text, len);
}

void reg_reply_from_err(struct reg_req *r, struct err *e, enum reg_api_error notfound)
{
	switch (err_code(e)) {
	case ERR_NOTFOUND: reg_reply_error(r, 0, notfound, NULL); return;
	case ERR_DIGEST: reg_reply_error(r, 0, API_DIGEST_INVALID, err_msg(e)); return;
	case ERR_INVALID:
	case ERR_UNSUPPORTED: reg_reply_error(r, 0, API_DIGEST_INVALID, err_msg(e)); return;
	case ERR_RANGE: reg_reply_error(r, 0, API_RANGE_INVALID, err_msg(e)); return;
	case ERR_BUSY: reg_reply_error(r, 0, API_TOOMANYREQUESTS, err_msg(e)); return;
	case ERR_TOOBIG: reg_reply_error(r, 413, API_SIZE_INVALID, err_msg(e)); return;
	default:
		log_error("request %s: %s", r->id, err_msg(e));
		reg_reply_error(r, 500, API_INTERNAL, NULL);
	}
}

void reg_req_fail(struct reg_req *r, unsigned status, enum reg_api_error code, const char *msg)
{
	if (r->body_error != 0)
		return;
	r->body_error = (int)code + 1;
	r->body_error_status = status;
	r->body_error_msg = msg != NULL ? xstrdup(msg) : NULL;
}

char *reg_location(const char *name, const char *kind, const char *ref)
{
	return xasprintf("/v2/%s/%s/%s", name, kind, ref);
}

/* ---- the access handler ---- */

enum MHD_Result reg_http_access(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **req_cls)
{
	struct reg_req *r = *req_cls;
	if (r == NULL)
		return MHD_NO; /* cannot happen: the URI callback always sets it */
	if (!r->started) {
		r->started = true;
		r->method_name = method;
		r->method = method_of(method);
		reg_handle_begin(r);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		r->bytes_in += n;
		if (r->on_data != NULL && r->body_error == 0 && !r->replied)
			r->on_data(r, upload_data, n);
		return MHD_YES;
	}
	if (r->replied)
		return MHD_YES;
	if (r->body_error != 0) {
		reg_reply_error(r, r->body_error_status, (enum reg_api_error)(r->body_error - 1),
		                r->body_error_msg);
		return MHD_YES;
	}
	if (r->on_end != NULL)
		r->on_end(r);
	else
		reg_handle_end(r);
	if (!r->replied)
		reg_reply_error(r, 500, API_INTERNAL, NULL);
	return MHD_YES;
}

/* One logfmt/JSON line per request, through common/log.h. */
static void access_log(struct reg_req *r, double ms)
{
	char status[8], dur[32], in[24], out[24];
	snprintf(status, sizeof(status), "%u", r->status);
	snprintf(dur, sizeof(dur), "%.3f", ms);
	snprintf(in, sizeof(in), "%" PRIu64, r->bytes_in);
	snprintf(out, sizeof(out), "%" PRIu64, r->bytes_out);
	const char *ua = r->conn != NULL ? reg_req_header(r, "User-Agent") : NULL;
	struct log_field f[] = {
	        {"id", r->id},
	        {"method", r->method_name != NULL ? r->method_name : "-"},
	        {"uri", r->uri},
	        {"status", status},
	        {"ms", dur},
	        {"in", in},
	        {"out", out},
	        {"user", r->who.user[0] != '\0' ? r->who.user : "-"},
	        {"route", reg_route_name(r->route.kind)},
	        {"agent", ua != NULL ? ua : "-"},
	};
	log_event(LOG_LEVEL_INFO, f, ARRAY_SIZE(f), "request");
}

void reg_http_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                        enum MHD_RequestTerminationCode toe)
{
	struct reg_req *r = *req_cls;
	struct reg_server *srv = cls;
	if (r == NULL)
		return;
	*req_cls = NULL;
	double ms = (double)(mono_ns() - r->start_ns) / 1e6;
	if (!r->replied)
		r->status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 200 : 499;
	reg_metrics_request(&srv->metrics, r->route.kind, r->method, r->status, r->bytes_in,
	                    r->bytes_out);
	if (srv->cfg->access_log && log_enabled(LOG_LEVEL_INFO))
		access_log(r, ms);
	/* a body cut short: keep what arrived, as the status query tells */
	reg_upload_flush(r);
	reg_upload_close(r->upload, false);
	if (r->counted)
		__atomic_sub_fetch(&srv->uploads, 1, __ATOMIC_RELAXED);
	reg_http_req_free(r);
}

void reg_http_req_free(struct reg_req *r)
{
	for (size_t i = 0; i < r->nhdr; i++)
		free(r->hdr_value[i]);
	reg_query_release(&r->query);
	buf_release(&r->body);
	free(r->batch);
	free(r->body_error_msg);
	free(r->uri);
	free(r->path);
	free(r);
}
