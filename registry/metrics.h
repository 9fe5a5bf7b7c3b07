/* Prometheus metrics of `bale serve`: requests by route, method and
 * status, bytes in and out, upload durations. Counters are atomics, so
 * recording costs a few instructions per request. */
#ifndef BALE_REGISTRY_METRICS_H
#define BALE_REGISTRY_METRICS_H

#include <stdint.h>

#include "common/buf.h"
#include "registry/routes.h"

/* Statuses kept apart; everything else is counted as its class. */
#define REG_METRICS_STATUSES 20
#define REG_METRICS_METHODS  7
/* Upload duration histogram buckets, in seconds. */
#define REG_METRICS_BUCKETS 10

struct reg_metrics {
	uint64_t requests[REG_ROUTE_COUNT_][REG_METRICS_METHODS][REG_METRICS_STATUSES];
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t uploads_total;
	uint64_t upload_buckets[REG_METRICS_BUCKETS]; /* cumulative at render */
	uint64_t upload_sum_ms;
	uint64_t inflight;
	int64_t started; /* seconds since the epoch */
};

void reg_metrics_init(struct reg_metrics *m);
/* method is an index 0..REG_METRICS_METHODS-1 (enum reg_method). */
void reg_metrics_request(struct reg_metrics *m, enum reg_route_kind route, int method,
                         unsigned status, uint64_t in, uint64_t out);
void reg_metrics_upload(struct reg_metrics *m, double seconds);
/* The text exposition format (version 0.0.4) into b. */
int reg_metrics_render(const struct reg_metrics *m, struct buf *b, struct err **err);

#endif
