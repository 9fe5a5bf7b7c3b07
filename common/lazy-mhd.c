/* libmicrohttpd, loaded on first use (common/lazylib.h). */
#include "config.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdint.h>

#include "common/lazylib.h"

#define FUNCS(F, V, H)                                                                            \
	F(enum MHD_Result, MHD_add_response_header,                                                \
	  (struct MHD_Response * response, const char *header, const char *content),               \
	  (response, header, content))                                                             \
	F(struct MHD_Response *, MHD_create_response_from_buffer,                                  \
	  (size_t size, void *buffer, enum MHD_ResponseMemoryMode mode), (size, buffer, mode))     \
	F(struct MHD_Response *, MHD_create_response_from_fd_at_offset64,                          \
	  (uint64_t size, int fd, uint64_t offset), (size, fd, offset))                            \
	V(MHD_destroy_response, (struct MHD_Response * response), (response))                      \
	F(int, MHD_get_connection_values,                                                          \
	  (struct MHD_Connection * connection, enum MHD_ValueKind kind,                            \
	   MHD_KeyValueIterator iterator, void *iterator_cls),                                     \
	  (connection, kind, iterator, iterator_cls))                                              \
	F(const char *, MHD_get_version, (void), ())                                               \
	F(enum MHD_Result, MHD_is_feature_supported, (enum MHD_FEATURE feature), (feature))        \
	F(const char *, MHD_lookup_connection_value,                                               \
	  (struct MHD_Connection * connection, enum MHD_ValueKind kind, const char *key),          \
	  (connection, kind, key))                                                                 \
	F(enum MHD_Result, MHD_queue_response,                                                     \
	  (struct MHD_Connection * connection, unsigned int status_code,                           \
	   struct MHD_Response *response),                                                         \
	  (connection, status_code, response))                                                     \
	V(MHD_stop_daemon, (struct MHD_Daemon * daemon), (daemon))                                 \
	H(MHD_start_daemon_va)

LAZYLIB_LIBRARY(BALE_SONAME_MHD, BALE_PACKAGE_MHD)

/* The library's own MHD_start_daemon is this: its options handed on as a
 * va_list, so every option form passes through unchanged. */
struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
				    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	__typeof__(lazy_fn.MHD_start_daemon_va) real = LAZYLIB_CALL(MHD_start_daemon_va);
	va_list ap;
	va_start(ap, dh_cls);
	struct MHD_Daemon *d = real(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}
