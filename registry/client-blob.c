/* Blobs over the distribution API: existence checks, verified downloads
 * that resume with Range, and uploads (mount, monolithic, chunked) that
 * resume from the offset the registry reports. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "registry/client-internal.h"

static void backoff(int64_t *delay)
{
	struct timespec ts = { .tv_sec = *delay / 1000, .tv_nsec = (*delay % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	*delay = *delay * 2 > REGC_BACKOFF_MAX_MS ? REGC_BACKOFF_MAX_MS : *delay * 2;
}

int regc_blob_exists(struct regc_repo *r, const struct digest *d, struct err **err)
{
	char ds[DIGEST_MAX_STRING];
	cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", r->name, digest_format(d, ds));
	struct regc_http_req req = { .method = REGC_HEAD, .fd = -1 };
	struct regc_http_resp resp;
	regc_http_resp_init(&resp);
	int rc = regc_repo_do(r, &req, path, NULL, 0, &resp, err);
	if (rc == 0 && resp.status == 404)
		rc = ERR_NOTFOUND; /* an answer, not a failure: no message */
	else if (rc == 0 && resp.status != 200)
		rc = regc_status_error(r, &resp, "HEAD blob", err);
	regc_http_resp_release(&resp);
	return rc;
}

/* ---- download ---- */

struct fetch {
	struct regc_repo *r;
	struct cas *cas;
	struct cas_writer *w;
	const struct digest *d;
	int64_t size;
	struct progress_item *item;
	struct regc_http_resp *resp;
	bool started;
	/* curl hands the body over in pieces of at most 16 KiB; they are
	 * gathered here so the writer sees few large writes. */
	char *pending;
	size_t n_pending;
	size_t pending_cap;
};

/* Bytes received so far: written plus gathered. */
static uint64_t fetch_have(const struct fetch *f)
{
	return cas_writer_size(f->w) + f->n_pending;
}

static int fetch_flush(struct fetch *f, struct err **err)
{
	if (f->n_pending == 0)
		return 0;
	int r = cas_writer_write(f->w, f->pending, f->n_pending, err);
	f->n_pending = 0;
	return r;
}

/* "bytes START-END/TOTAL" -> START, or -1. */
static int64_t content_range_start(const char *cr)
{
	if (cr == NULL || !str_has_prefix(cr, "bytes "))
		return -1;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(cr + 6, &end, 10);
	if (errno != 0 || end == cr + 6 || *end != '-' || v < 0)
		return -1;
	return v;
}

static int fetch_writer_new(struct fetch *f, struct err **err)
{
	if (cas_writer_new(&f->w, f->cas, f->d->algo, NULL, err) < 0)
		return err_code(*err);
	if (f->size >= REGC_HASH_BEHIND_MIN)
		cas_writer_hash_behind(f->w);
	return 0;
}

static int fetch_restart(struct fetch *f, struct err **err)
{
	cas_writer_abort(f->w);
	f->w = NULL;
	f->n_pending = 0;
	return fetch_writer_new(f, err);
}

static int fetch_sink(void *ctx, const void *data, size_t n, struct err **err)
{
	struct fetch *f = ctx;
	if (!f->started) {
		f->started = true;
		uint64_t have = fetch_have(f);
		/* The server may ignore our Range (200) or answer another one:
		 * then what we have is worthless. */
		if (have > 0 && (f->resp->status != 206 ||
				 content_range_start(f->resp->content_range) != (int64_t)have)) {
			if (fetch_restart(f, err) < 0)
				return err_code(*err);
		}
	}
	uint64_t have = fetch_have(f);
	if (f->size >= 0 && have + n > (uint64_t)f->size) {
		char ds[DIGEST_MAX_STRING];
		return err_set(err, ERR_DIGEST,
			       "registry '%s' sent more than the %" PRId64 " bytes of blob %s",
			       f->r->host->domain, f->size, digest_format(f->d, ds));
	}
	while (n > 0) {
		size_t take = f->pending_cap - f->n_pending < n ? f->pending_cap - f->n_pending : n;
		memcpy(f->pending + f->n_pending, data, take);
		f->n_pending += take;
		data = (const char *)data + take;
		n -= take;
		if (f->n_pending == f->pending_cap && fetch_flush(f, err) < 0)
			return err_code(*err);
	}
	progress_item_update(f->item, fetch_have(f));
	return 0;
}

static int fetch_attempts(struct fetch *f, const char *path, struct err **err)
{
	int64_t delay = REGC_BACKOFF_MS;
	for (int attempt = 1;; attempt++) {
		uint64_t have = fetch_have(f);
		cleanup_free char *range = have > 0 ? xasprintf("Range: bytes=%" PRIu64 "-", have) : NULL;
		const char *headers[] = { range, NULL };
		struct regc_http_req req = { .method = REGC_GET, .headers = headers, .fd = -1,
					     .sink = fetch_sink, .sink_ctx = f,
					     .body_max = 1u << 20 };
		struct regc_http_resp resp;
		regc_http_resp_init(&resp);
		f->resp = &resp;
		f->started = false;
		struct err *e = NULL;
		int rc = regc_repo_do(f->r, &req, path, NULL, REGC_NO_RETRY, &resp, &e);
		bool transient = rc < 0 && resp.transient;
		/* What arrived is good up to a cut: keep it for the resume. */
		struct err *fe = NULL;
		if (fetch_flush(f, &fe) < 0) {
			err_free(e);
			e = fe;
			rc = err_code(fe);
			transient = false;
		}
		bool again = false;
		if (rc == 0 && resp.status == 416 && have > 0) {
			/* Our offset is past what the server has: start over. */
			rc = fetch_restart(f, &e);
			again = transient = rc == 0;
			if (rc == 0)
				rc = err_set(&e, ERR_RANGE, "GET blob: range not satisfiable");
		} else if (rc == 0 && resp.status != 200 && resp.status != 206) {
			transient = resp.status == 429 || resp.status >= 500;
			rc = regc_status_error(f->r, &resp, "GET blob", &e);
		}
		regc_http_resp_release(&resp);
		f->resp = NULL;
		if (rc == 0) {
			err_free(e);
			return 0;
		}
		if (again && attempt < REGC_MAX_ATTEMPTS) {
			err_free(e);
			continue;
		}
		if (!transient || attempt >= REGC_MAX_ATTEMPTS) {
			err_move(err, &e);
			return rc < 0 ? rc : ERR_IO;
		}
		log_info("%s; resuming at byte %" PRIu64 " in %lld ms", err_msg(e), fetch_have(f),
			 (long long)delay);
		err_free(e);
		progress_item_status(f->item, "retrying");
		backoff(&delay);
	}
}

int regc_blob_fetch_verified(struct regc_repo *r, const struct digest *d, int64_t size,
			     struct cas *cas, struct progress_item *item, struct cas_writer **out,
			     struct err **err)
{
	char ds[DIGEST_MAX_STRING];
	digest_format(d, ds);
	cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", r->name, ds);
	struct fetch f = { .r = r, .cas = cas, .d = d, .size = size, .item = item };
	/* Small blobs are gathered whole: one write each. */
	f.pending_cap = size >= 0 && (uint64_t)size < REGC_FETCH_BUFFER ? (size_t)size + 1 :
									 REGC_FETCH_BUFFER;
	if (fetch_writer_new(&f, err) < 0)
		return err_code(*err);
	f.pending = xmalloc(f.pending_cap);
	int rc = fetch_attempts(&f, path, err);
	free(f.pending);
	if (rc < 0) {
		cas_writer_abort(f.w);
		return err_wrap(err, "cannot fetch blob %s of '%s'", ds, r->name);
	}
	progress_item_status(item, "verifying");
	struct err *e = NULL;
	rc = cas_writer_verify(f.w, d, size, &e);
	if (rc < 0) {
		err_move(err, &e);
		return err_wrap(err, "registry '%s' served a wrong blob %s of '%s'", r->host->domain, ds,
				r->name);
	}
	*out = f.w;
	return 0;
}

int regc_blob_fetch(struct regc_repo *r, const struct digest *d, int64_t size, struct cas *cas,
		    struct progress_item *item, struct err **err)
{
	struct cas_writer *w = NULL;
	if (regc_blob_fetch_verified(r, d, size, cas, item, &w, err) < 0)
		return err_code(*err);
	if (cas_writer_commit(w, d, size, NULL, NULL, err) < 0) {
		char ds[DIGEST_MAX_STRING];
		return err_wrap(err, "cannot store blob %s of '%s'", digest_format(d, ds), r->name);
	}
	return 0;
}

/* ---- upload ---- */

struct upload {
	struct regc_repo *r;
	const struct digest *d;
	char ds[DIGEST_MAX_STRING];
	int fd;
	uint64_t size;
	struct progress_item *item;
	char *location;  /* current upload URL (path or absolute) */
	uint64_t offset; /* bytes the registry has */
};

/* Error code meaning "the session is gone, start a new one". */
#define UPLOAD_LOST ERR_NOTFOUND

static void upload_progress(void *ctx, uint64_t sent)
{
	struct upload *u = ctx;
	progress_item_update(u->item, u->offset + sent);
}

static void upload_set_location(struct upload *u, const char *loc)
{
	if (loc == NULL || loc[0] == '\0')
		return;
	free(u->location);
	u->location = xstrdup(loc);
}

static char *url_with_digest(const struct upload *u)
{
	cleanup_free char *esc = regc_url_escape(u->ds);
	return xasprintf("%s%cdigest=%s", u->location, strchr(u->location, '?') ? '&' : '?', esc);
}

/* Ask the registry where the upload stands (GET on the session). A
 * registry may still be busy with the broken request (bale serve answers
 * "in use" until it notices the cut): that is asked again a few times
 * before the session counts as lost. */
static int upload_status(struct upload *u, struct err **err)
{
	struct regc_http_req req = { .method = REGC_GET, .fd = -1 };
	struct regc_http_resp resp;
	regc_http_resp_init(&resp);
	int rc;
	int64_t delay = REGC_BACKOFF_MS;
	for (int attempt = 1;; attempt++) {
		rc = regc_repo_do(u->r, &req, u->location, NULL, 0, &resp, err);
		bool busy = rc == 0 && resp.status != 404 && resp.status >= 400 &&
			    resp.status != 401 && resp.status != 403;
		if (!busy || attempt >= REGC_MAX_ATTEMPTS)
			break;
		log_info("upload of %s: the registry answered %ld; asking again", u->ds, resp.status);
		backoff(&delay);
	}
	if (rc == 0 && resp.status != 204 && resp.status != 200) {
		rc = regc_status_error(u->r, &resp, "upload status", err);
		if (resp.status < 500)
			rc = UPLOAD_LOST;
	}
	if (rc == 0) {
		/* "Range: 0-N" means N+1 bytes; no Range or "0-0" after nothing
		 * was stored means 0 (distribution writes 0-0 for both). */
		uint64_t end = 0;
		const char *dash = resp.range != NULL ? strchr(resp.range, '-') : NULL;
		if (dash != NULL && str_to_u64(dash + 1, &end) == 0)
			u->offset = end > 0 ? end + 1 : 0;
		else
			u->offset = 0;
		if (u->offset > u->size)
			rc = err_set(err, UPLOAD_LOST, "registry holds more than the blob's size");
		upload_set_location(u, resp.location);
	}
	regc_http_resp_release(&resp);
	return rc;
}

/* One PATCH of [offset, end) or the final PUT (with [offset, size) as its
 * body, possibly empty). */
static int upload_step(struct upload *u, bool final, uint64_t end, bool *transient,
		       struct err **err)
{
	cleanup_free char *url = final ? url_with_digest(u) : xstrdup(u->location);
	cleanup_free char *crange =
		final || end == u->offset ? NULL :
		xasprintf("Content-Range: %" PRIu64 "-%" PRIu64, u->offset, end - 1);
	const char *headers[] = { "Content-Type: application/octet-stream", crange, NULL };
	struct regc_http_req req = {
		.method = final ? REGC_PUT : REGC_PATCH,
		.headers = headers,
		.fd = u->fd,
		.offset = u->offset,
		.len = end - u->offset,
		.upload_progress = upload_progress,
		.upload_ctx = u,
	};
	struct regc_http_resp resp;
	regc_http_resp_init(&resp);
	*transient = false;
	int rc = regc_repo_do(u->r, &req, url, NULL, REGC_NO_RETRY, &resp, err);
	if (rc < 0) {
		*transient = resp.transient;
	} else if (final && resp.status == 201) {
		/* done */
	} else if (!final && resp.status == 202) {
		u->offset = end;
		upload_set_location(u, resp.location);
	} else {
		*transient = resp.status == 429 || resp.status >= 500 || resp.status == 416;
		rc = regc_status_error(u->r, &resp, final ? "PUT blob" : "PATCH blob", err);
	}
	regc_http_resp_release(&resp);
	return rc;
}

/* Send everything from u->offset on and close the session: one PUT with
 * the whole blob, or PATCH chunks when the client was told a chunk size.
 * One request is what registries digest fastest (distribution fsyncs at
 * the end of every request: 64 MiB chunks made a 512 MiB push 13% slower
 * here), and it resumes as well as chunks do: registries that keep what
 * a cut request brought (distribution 3, bale serve) report the exact
 * byte, and distribution 2.8 loses the session either way. After a cut
 * the rest goes as a PATCH, then the closing PUT. */
static int upload_session(struct upload *u, struct err **err)
{
	int64_t delay = REGC_BACKOFF_MS;
	int failures = 0;
	uint64_t chunk = u->r->c->chunk_size > 0 ? u->r->c->chunk_size : UINT64_MAX;
	for (;;) {
		bool final = u->size - u->offset <= chunk && u->offset == 0;
		uint64_t end = u->size - u->offset > chunk ? u->offset + chunk : u->size;
		if (u->offset == u->size)
			final = true;
		bool transient;
		struct err *e = NULL;
		int rc = upload_step(u, final, final ? u->size : end, &transient, &e);
		if (rc == 0 && final) {
			err_free(e);
			return 0;
		}
		if (rc == 0) {
			err_free(e);
			continue;
		}
		if (!transient || ++failures >= REGC_MAX_ATTEMPTS) {
			log_debug("upload of %s fails for good (transient %d, failures %d)", u->ds,
				  transient, failures);
			err_move(err, &e);
			return rc;
		}
		log_info("%s; asking the registry where the upload stands", err_msg(e));
		err_free(e);
		progress_item_status(u->item, "retrying");
		backoff(&delay);
		/* Resume from what the registry really has, not what we sent. */
		rc = upload_status(u, err);
		if (rc < 0)
			return rc == UPLOAD_LOST ? UPLOAD_LOST : rc;
		log_info("upload of %s resumes at byte %" PRIu64, u->ds, u->offset);
	}
}

/* POST: start a session (or mount). *done when the blob is there already. */
static int upload_start(struct upload *u, const char *mount_from, bool *done, struct err **err)
{
	cleanup_free char *path = NULL;
	cleanup_free char *scope = NULL;
	if (mount_from != NULL) {
		cleanup_free char *esc = regc_url_escape(u->ds);
		cleanup_free char *from = regc_url_escape(mount_from);
		path = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", u->r->name, esc, from);
		scope = xasprintf("repository:%s:pull", mount_from);
	} else {
		path = xasprintf("/v2/%s/blobs/uploads/", u->r->name);
	}
	struct regc_http_req req = { .method = REGC_POST, .fd = -1 };
	struct regc_http_resp resp;
	regc_http_resp_init(&resp);
	*done = false;
	int rc = regc_repo_do(u->r, &req, path, scope, 0, &resp, err);
	if (rc == 0 && resp.status == 201) {
		*done = true;
	} else if (rc == 0 && resp.status == 202 && resp.location != NULL) {
		upload_set_location(u, resp.location);
		u->offset = 0;
	} else if (rc == 0) {
		rc = regc_status_error(u->r, &resp, "POST blob upload", err);
	}
	regc_http_resp_release(&resp);
	return rc;
}

/* Whether the blob is in the repository after all: a session is also
 * "lost" when the final PUT went through and only its answer was cut. */
static bool upload_landed(struct upload *u)
{
	struct err *e = NULL;
	bool has = regc_blob_exists(u->r, u->d, &e) == 0;
	err_free(e);
	return has;
}

static void upload_cancel(struct upload *u)
{
	struct regc_http_req req = { .method = REGC_DELETE, .fd = -1 };
	struct regc_http_resp resp;
	regc_http_resp_init(&resp);
	struct err *e = NULL;
	(void)regc_repo_do(u->r, &req, u->location, NULL, REGC_NO_RETRY, &resp, &e);
	err_free(e);
	regc_http_resp_release(&resp);
}

int regc_blob_upload(struct regc_repo *r, const struct digest *d, int fd, uint64_t size,
		     const char *mount_from, struct progress_item *item, bool *mounted,
		     struct err **err)
{
	struct upload u = { .r = r, .d = d, .fd = fd, .size = size, .item = item };
	digest_format(d, u.ds);
	if (mounted != NULL)
		*mounted = false;
	int rc = 0;
	for (int restart = 0;; restart++) {
		bool done;
		rc = upload_start(&u, restart == 0 ? mount_from : NULL, &done, err);
		if (rc < 0)
			break;
		if (done) {
			if (mounted != NULL)
				*mounted = true;
			break;
		}
		if (fd < 0) {
			/* A mount-only attempt the registry answered with a
			 * session: drop it, the caller uploads another way. */
			upload_cancel(&u);
			rc = ERR_NOTFOUND;
			break;
		}
		struct err *e = NULL;
		rc = upload_session(&u, &e);
		if (rc == UPLOAD_LOST && upload_landed(&u)) {
			/* The cut took the answer to the final PUT, not the PUT:
			 * the registry closed the session by storing the blob. */
			log_info("registry '%s' has blob %s now (%s): nothing to send again",
				 r->host->domain, u.ds, err_msg(e));
			err_free(e);
			rc = 0;
			break;
		}
		if (rc == UPLOAD_LOST && restart < REGC_MAX_UPLOAD_RESTARTS) {
			log_info("registry lost the upload of %s (%s); starting over", u.ds, err_msg(e));
			err_free(e);
			progress_item_update(item, 0);
			continue;
		}
		err_move(err, &e);
		break;
	}
	free(u.location);
	if (rc == ERR_NOTFOUND && fd < 0)
		return rc;
	if (rc < 0)
		return err_wrap(err, "cannot push blob %s to '%s'", u.ds, r->name);
	return 0;
}
