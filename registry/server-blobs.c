/* Blob endpoints: GET/HEAD (with Range), DELETE, and uploads: POST
 * (session, monolithic with ?digest=, cross-repository mount), PATCH
 * chunks, PUT to finish, GET status, DELETE to cancel. */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/reference.h"
#include "common/util.h"
#include "registry/server-internal.h"

static void digest_headers(struct reg_req *r, const char *ds)
{
	reg_reply_header(r, "Docker-Content-Digest", ds);
	reg_reply_headerf(r, "ETag", "\"%s\"", ds);
}

/* Bodies up to this size are read and sent from memory: cheaper than a
 * file response for libmicrohttpd, and small blobs (configs, manifests
 * pushed as blobs, signatures) are most requests. */
#define REG_SMALL_BODY (64u << 10)

/* Reply with len bytes of fd at off, from memory when small. Takes fd. */
static void reply_blob(struct reg_req *r, unsigned status, int fd, uint64_t off, uint64_t len)
{
	if (r->method == REG_M_GET && len <= REG_SMALL_BODY) {
		char *data = xmalloc(len + 1);
		ssize_t got = pread(fd, data, len, (off_t)off);
		if (got == (ssize_t)len) {
			close(fd);
			return reg_reply_take(r, status, "application/octet-stream", data, len);
		}
		free(data);
	}
	reg_reply_fd(r, status, "application/octet-stream", fd, off, len);
}

void reg_blob_get(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	char ds[DIGEST_MAX_STRING];
	int fd = -1;
	uint64_t size = 0, first = 0, len = 0;
	if (reg_blob_open(r->srv->storage, r->route.name, &r->route.digest, &fd, &size, &e) < 0)
		return reg_reply_from_err(r, e, API_BLOB_UNKNOWN);
	digest_format(&r->route.digest, ds);
	digest_headers(r, ds);
	reg_reply_header(r, "Accept-Ranges", "bytes");
	reg_reply_header(r, "Cache-Control", "max-age=31536000");
	const char *range = r->method == REG_M_GET ? reg_req_header(r, "Range") : NULL;
	switch (reg_range_parse(range, size, &first, &len)) {
	case REG_RANGE_OK:
		reg_reply_headerf(r, "Content-Range", "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
		                  first, first + len - 1, size);
		return reply_blob(r, 206, fd, first, len);
	case REG_RANGE_UNSATISFIABLE:
		close(fd);
		reg_reply_headerf(r, "Content-Range", "bytes */%" PRIu64, size);
		return reg_reply_empty(r, 416);
	default: return reply_blob(r, 200, fd, 0, size);
	}
}

void reg_blob_delete(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	if (reg_blob_unlink(r->srv->storage, r->route.name, &r->route.digest, &e) < 0)
		return reg_reply_from_err(r, e, API_BLOB_UNKNOWN);
	reg_reply_empty(r, 202);
}

/* ---- upload responses ---- */

/* 202/204 with the session's Location, Range and id. */
static void reply_session(struct reg_req *r, unsigned status, const char *id, uint64_t size)
{
	cleanup_free char *loc = reg_location(r->route.name, "blobs/uploads", id);
	reg_reply_header(r, "Location", loc);
	reg_reply_headerf(r, "Range", "0-%" PRIu64, size > 0 ? size - 1 : 0);
	reg_reply_header(r, "Docker-Upload-UUID", id);
	reg_reply_empty(r, status);
}

static void reply_created(struct reg_req *r, const struct digest *d)
{
	char ds[DIGEST_MAX_STRING];
	digest_format(d, ds);
	cleanup_free char *loc = reg_location(r->route.name, "blobs", ds);
	reg_reply_header(r, "Location", loc);
	reg_reply_header(r, "Docker-Content-Digest", ds);
	reg_reply_empty(r, 201);
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* ---- body streaming into the session ---- */

/* Answer the error a failed flush recorded. */
static void reply_body_error(struct reg_req *r)
{
	reg_reply_error(r, r->body_error_status, (enum reg_api_error)(r->body_error - 1),
	                r->body_error_msg);
}

static int upload_write(struct reg_req *r, const char *data, size_t n)
{
	cleanup_err struct err *e = NULL;
	int rc = reg_upload_write(r->upload, data, n, &e);
	if (rc == ERR_BUSY) {
		reg_req_fail(r, 416, API_BLOB_UPLOAD_INVALID, err_msg(e));
		return -1;
	}
	if (rc < 0) {
		log_error("request %s: %s", r->id, err_msg(e));
		reg_req_fail(r, 500, API_INTERNAL, NULL);
		return -1;
	}
	return 0;
}

bool reg_upload_flush(struct reg_req *r)
{
	size_t n = r->batch_len;
	r->batch_len = 0;
	if (n == 0 || r->upload == NULL || r->body_error != 0)
		return r->body_error == 0;
	return upload_write(r, r->batch, n) == 0;
}

/* A small body announced by Content-Length gets a buffer its size, so a
 * config or signature push does not pay for a MiB of memory. */
static void batch_alloc(struct reg_req *r)
{
	const char *cl = reg_req_header(r, "Content-Length");
	uint64_t len = 0;
	r->batch_cap = REG_UPLOAD_BATCH;
	if (cl != NULL && str_to_u64(cl, &len) == 0 && len > 0 && len < REG_UPLOAD_BATCH)
		r->batch_cap = (size_t)len;
	r->batch = xmalloc(r->batch_cap);
}

static int upload_data(struct reg_req *r, const char *data, size_t n)
{
	uint64_t max = r->srv->cfg->max_blob;
	if (max > 0 && reg_upload_size(r->upload) + r->batch_len + n > max) {
		r->batch_len = 0;
		reg_req_fail(r, 413, API_SIZE_INVALID, "blob larger than this registry accepts");
		return -1;
	}
	if (r->batch == NULL)
		batch_alloc(r);
	if (r->batch_len == 0 && n >= r->batch_cap)
		return upload_write(r, data, n);
	while (n > 0) {
		size_t room = r->batch_cap - r->batch_len, take = n < room ? n : room;
		memcpy(r->batch + r->batch_len, data, take);
		r->batch_len += take;
		data += take;
		n -= take;
		if (r->batch_len == r->batch_cap && !reg_upload_flush(r))
			return -1;
	}
	return 0;
}

/* Finish the session with the ?digest= the client gave; 201 or an error. */
static void upload_finish(struct reg_req *r, const struct digest *d)
{
	cleanup_err struct err *e = NULL;
	uint64_t size = 0;
	int64_t started = r->upload_started;
	struct reg_upload *u = r->upload;
	r->upload = NULL;
	int rc = reg_upload_commit(u, d, &size, &e);
	if (rc == ERR_DIGEST)
		return reg_reply_error(r, 400, API_DIGEST_INVALID, err_msg(e));
	if (rc < 0)
		return reg_reply_from_err(r, e, API_BLOB_UPLOAD_UNKNOWN);
	if (started > 0)
		reg_metrics_upload(&r->srv->metrics, (double)(now_s() - started));
	reply_created(r, d);
}

/* The ?digest= of a PUT or monolithic POST; replies when it is bad. */
static bool param_digest(struct reg_req *r, struct digest *d, bool immediate)
{
	const char *ds = reg_req_param(r, "digest");
	cleanup_err struct err *e = NULL;
	if (ds == NULL || reg_query_count(&r->query, "digest") != 1) {
		if (immediate)
			reg_reply_error(r, 400, API_DIGEST_INVALID,
			                "exactly one digest parameter is required");
		return false;
	}
	if (digest_parse(d, ds, &e) < 0) {
		if (immediate)
			reg_reply_error(r, 400, API_DIGEST_INVALID, err_msg(e));
		return false;
	}
	return true;
}

static void monolithic_end(struct reg_req *r)
{
	struct digest d;
	if (!reg_upload_flush(r))
		return reply_body_error(r);
	if (!param_digest(r, &d, true)) {
		reg_upload_close(r->upload, true);
		r->upload = NULL;
		return;
	}
	upload_finish(r, &d);
}

/* Try ?mount=&from=: 201 when the blob is linked into the target. */
static bool try_mount(struct reg_req *r)
{
	const char *mount = reg_req_param(r, "mount");
	const char *from = reg_req_param(r, "from");
	struct digest d;
	if (mount == NULL || digest_parse(&d, mount, NULL) < 0)
		return false;
	/* Without `from` nothing is mounted: where a blob lives is not told
	 * to someone who did not say where they saw it. */
	if (from == NULL || !ref_repo_name_valid(from))
		return false;
	if ((reg_auth_allowed(r->srv->auth, &r->who, from) & REG_ACT_PULL) == 0)
		return false;
	if (reg_blob_stat(r->srv->storage, from, &d, NULL, NULL) < 0)
		return false;
	if (reg_blob_link(r->srv->storage, r->route.name, &d, NULL) < 0)
		return false;
	reply_created(r, &d);
	return true;
}

static void post_end(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	char id[REG_UPLOAD_ID_LEN + 1];
	if (reg_req_param(r, "mount") != NULL && try_mount(r))
		return;
	if (reg_upload_new(r->srv->storage, r->route.name, id, &e) < 0)
		return reg_reply_from_err(r, e, API_BLOB_UPLOAD_UNKNOWN);
	reply_session(r, 202, id, 0);
}

void reg_upload_post(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	struct digest d;
	char id[REG_UPLOAD_ID_LEN + 1];
	if (reg_req_param(r, "digest") == NULL) {
		r->on_end = post_end;
		return;
	}
	/* monolithic: the body is the whole blob */
	if (!param_digest(r, &d, true))
		return;
	if (reg_upload_new(r->srv->storage, r->route.name, id, &e) < 0 ||
	    reg_upload_open(r->srv->storage, r->route.name, id, &r->upload, &e) < 0)
		return reg_reply_from_err(r, e, API_BLOB_UPLOAD_UNKNOWN);
	r->upload_started = now_s();
	r->on_data = upload_data;
	r->on_end = monolithic_end;
}

/* Open the session named in the path; replies on failure. */
static bool open_session(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	int rc =
	        reg_upload_open(r->srv->storage, r->route.name, r->route.reference, &r->upload, &e);
	if (rc == ERR_BUSY) {
		reg_reply_error(r, 416, API_BLOB_UPLOAD_INVALID,
		                "upload is in use by another request");
		return false;
	}
	if (rc < 0) {
		reg_reply_from_err(r, e, API_BLOB_UPLOAD_UNKNOWN);
		return false;
	}
	if (reg_upload_started(r->srv->storage, r->route.name, r->route.reference,
	                       &r->upload_started, NULL) < 0)
		r->upload_started = 0;
	return true;
}

/* Check Content-Range against the session's end; replies 416 if out of
 * order, 400 if malformed or inconsistent with Content-Length. */
static bool check_chunk(struct reg_req *r)
{
	const char *cr = reg_req_header(r, "Content-Range");
	const char *cl = reg_req_header(r, "Content-Length");
	uint64_t start, end, size = reg_upload_size(r->upload), clen;
	if (cr == NULL)
		return true;
	if (reg_content_range_parse(cr, &start, &end, NULL) < 0) {
		reg_reply_error(r, 416, API_BLOB_UPLOAD_INVALID, "malformed Content-Range");
		return false;
	}
	if (start != size) {
		reg_reply_headerf(r, "Range", "0-%" PRIu64, size > 0 ? size - 1 : 0);
		reg_reply_error(r, 416, API_BLOB_UPLOAD_INVALID,
		                "chunk does not start where the upload ends");
		return false;
	}
	if (cl != NULL && (str_to_u64(cl, &clen) < 0 || clen != end - start + 1)) {
		reg_reply_error(r, 400, API_SIZE_INVALID,
		                "Content-Length does not match Content-Range");
		return false;
	}
	r->chunk_start = start;
	r->chunk_len = (int64_t)(end - start + 1);
	return true;
}

static void patch_end(struct reg_req *r)
{
	if (!reg_upload_flush(r))
		return reply_body_error(r);
	uint64_t size = reg_upload_size(r->upload);
	if (r->chunk_len >= 0 && size != r->chunk_start + (uint64_t)r->chunk_len) {
		/* the client sent less or more than it announced */
		reg_upload_close(r->upload, true);
		r->upload = NULL;
		return reg_reply_error(r, 400, API_SIZE_INVALID,
		                       "chunk length does not match Content-Range");
	}
	reg_upload_close(r->upload, false);
	r->upload = NULL;
	reply_session(r, 202, r->route.reference, size);
}

void reg_upload_patch_begin(struct reg_req *r)
{
	if (!open_session(r))
		return;
	if (!check_chunk(r)) {
		reg_upload_close(r->upload, false);
		r->upload = NULL;
		return;
	}
	r->on_data = upload_data;
	r->on_end = patch_end;
}

static void put_end(struct reg_req *r)
{
	struct digest d;
	if (!reg_upload_flush(r))
		return reply_body_error(r);
	if (!param_digest(r, &d, true))
		return;
	if (r->chunk_len >= 0 &&
	    reg_upload_size(r->upload) != r->chunk_start + (uint64_t)r->chunk_len) {
		reg_upload_close(r->upload, true);
		r->upload = NULL;
		return reg_reply_error(r, 400, API_SIZE_INVALID,
		                       "chunk length does not match Content-Range");
	}
	upload_finish(r, &d);
}

void reg_upload_put_begin(struct reg_req *r)
{
	struct digest d;
	if (!param_digest(r, &d, true))
		return;
	if (!open_session(r))
		return;
	if (!check_chunk(r)) {
		reg_upload_close(r->upload, false);
		r->upload = NULL;
		return;
	}
	r->on_data = upload_data;
	r->on_end = put_end;
}

/* Read-only: never takes the session over from a request still writing
 * to it, nor waits for one whose client went away. */
void reg_upload_status(struct reg_req *r)
{
	cleanup_err struct err *e = NULL;
	uint64_t size = 0;
	int rc = reg_upload_query(r->srv->storage, r->route.name, r->route.reference, &size, &e);
	if (rc == ERR_BUSY)
		return reg_reply_error(r, 416, API_BLOB_UPLOAD_INVALID,
		                       "upload is in use by another request");
	if (rc < 0)
		return reg_reply_from_err(r, e, API_BLOB_UPLOAD_UNKNOWN);
	reply_session(r, 204, r->route.reference, size);
}

void reg_upload_cancel(struct reg_req *r)
{
	if (!open_session(r))
		return;
	reg_upload_close(r->upload, true);
	r->upload = NULL;
	reg_reply_empty(r, 204);
}
