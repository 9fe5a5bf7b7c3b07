/* libmicrohttpd callbacks of the HTTP layer (http.c), wired up by
 * server.c. Internal to registry/. */
#ifndef BALE_REGISTRY_HTTP_INTERNAL_H
#define BALE_REGISTRY_HTTP_INTERNAL_H

#include <microhttpd.h>

#include "registry/server-internal.h"

/* MHD_OPTION_URI_LOG_CALLBACK: creates the request object (cls is the
 * struct reg_server). */
void *reg_http_uri_cb(void *cls, const char *uri, struct MHD_Connection *c);
/* The access handler (cls is the struct reg_server). */
enum MHD_Result reg_http_access(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **req_cls);
/* MHD_OPTION_NOTIFY_COMPLETED: access log, metrics, frees the request. */
void reg_http_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                        enum MHD_RequestTerminationCode toe);
void reg_http_req_free(struct reg_req *r);
/* "BLOB_UNKNOWN", ... */
const char *reg_api_error_code(enum reg_api_error code);

#endif
