/* Prometheus metrics (see metrics.h). */
#include "config.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "registry/metrics.h"
#include "registry/server-internal.h"

static const unsigned statuses[REG_METRICS_STATUSES] = {
        200, 201, 202, 204, 206, 304, 307, 400, 401, 403,
        404, 405, 413, 414, 416, 429, 499, 500, 503, 0 /* other */
};
static const char *const methods[REG_METRICS_METHODS] = {
        "OTHER", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
};
static const double buckets[REG_METRICS_BUCKETS] = {
        0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800,
};

void reg_metrics_init(struct reg_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->started = (int64_t)time(NULL);
}

static size_t status_index(unsigned status)
{
	for (size_t i = 0; i + 1 < REG_METRICS_STATUSES; i++)
		if (statuses[i] == status)
			return i;
	return REG_METRICS_STATUSES - 1;
}

static void add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void reg_metrics_request(struct reg_metrics *m, enum reg_route_kind route, int method,
                         unsigned status, uint64_t in, uint64_t out)
{
	if ((int)route < 0 || route >= REG_ROUTE_COUNT_)
		route = REG_ROUTE_NONE;
	if (method < 0 || method >= REG_METRICS_METHODS)
		method = 0;
	add(&m->requests[route][method][status_index(status)], 1);
	add(&m->bytes_in, in);
	add(&m->bytes_out, out);
}

void reg_metrics_upload(struct reg_metrics *m, double seconds)
{
	add(&m->uploads_total, 1);
	add(&m->upload_sum_ms, (uint64_t)(seconds * 1000));
	for (size_t i = 0; i < REG_METRICS_BUCKETS; i++)
		if (seconds <= buckets[i]) {
			add(&m->upload_buckets[i], 1);
			break;
		}
}

int reg_metrics_render(const struct reg_metrics *m, struct buf *b, struct err **err)
{
	int rc = buf_addstr(
	        b,
	        "# HELP bale_registry_requests_total HTTP requests by route, method and status.\n"
	        "# TYPE bale_registry_requests_total counter\n",
	        err);
	for (int r = 0; rc == 0 && r < REG_ROUTE_COUNT_; r++)
		for (int me = 0; rc == 0 && me < REG_METRICS_METHODS; me++)
			for (int s = 0; rc == 0 && s < REG_METRICS_STATUSES; s++) {
				uint64_t v = get(&m->requests[r][me][s]);
				if (v == 0)
					continue;
				char st[16] = "other";
				if (statuses[s] != 0)
					snprintf(st, sizeof(st), "%u", statuses[s]);
				rc = buf_addf(b, err,
				              "bale_registry_requests_total{route=\"%s\",method=\"%"
				              "s\",status=\"%s\"} %" PRIu64 "\n",
				              reg_route_name((enum reg_route_kind)r), methods[me],
				              st, v);
			}
	if (rc == 0)
		rc = buf_addf(
		        b, err,
		        "# HELP bale_registry_received_bytes_total Request body bytes received.\n"
		        "# TYPE bale_registry_received_bytes_total counter\n"
		        "bale_registry_received_bytes_total %" PRIu64 "\n"
		        "# HELP bale_registry_sent_bytes_total Response body bytes sent.\n"
		        "# TYPE bale_registry_sent_bytes_total counter\n"
		        "bale_registry_sent_bytes_total %" PRIu64 "\n"
		        "# HELP bale_registry_upload_duration_seconds Time from upload start to "
		        "commit.\n"
		        "# TYPE bale_registry_upload_duration_seconds histogram\n",
		        get(&m->bytes_in), get(&m->bytes_out));
	uint64_t cum = 0;
	for (size_t i = 0; rc == 0 && i < REG_METRICS_BUCKETS; i++) {
		cum += get(&m->upload_buckets[i]);
		rc = buf_addf(b, err,
		              "bale_registry_upload_duration_seconds_bucket{le=\"%g\"} %" PRIu64
		              "\n",
		              buckets[i], cum);
	}
	if (rc == 0)
		rc = buf_addf(b, err,
		              "bale_registry_upload_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64
		              "\n"
		              "bale_registry_upload_duration_seconds_sum %.3f\n"
		              "bale_registry_upload_duration_seconds_count %" PRIu64 "\n"
		              "# HELP bale_registry_start_time_seconds When the server started.\n"
		              "# TYPE bale_registry_start_time_seconds gauge\n"
		              "bale_registry_start_time_seconds %" PRId64 "\n",
		              get(&m->uploads_total), (double)get(&m->upload_sum_ms) / 1000.0,
		              get(&m->uploads_total), m->started);
	return rc;
}

void reg_metrics_get(struct reg_req *r)
{
	struct buf b;
	buf_init(&b, 1u << 20);
	if (reg_metrics_render(&r->srv->metrics, &b, NULL) < 0) {
		buf_release(&b);
		return reg_reply_error(r, 500, API_INTERNAL, NULL);
	}
	reg_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", buf_str(&b), b.len);
	buf_release(&b);
}
