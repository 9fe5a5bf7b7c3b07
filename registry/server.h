/* `bale serve`: the OCI distribution registry server over libmicrohttpd
 * (epoll thread pool), on a storage driver (storage.h). */
#ifndef BALE_REGISTRY_SERVER_H
#define BALE_REGISTRY_SERVER_H

#include "common/error.h"
#include "registry/serve-config.h"

struct reg_server;

/* Open the storage, load auth, bind the listen address and start serving
 * in background threads. cfg must outlive the server. *out is stopped and
 * freed with reg_server_free(). Errors: ERR_INVALID (address, TLS files),
 * ERR_IO/ERR_DENIED (bind, storage), ERR_UNSUPPORTED (TLS without GnuTLS
 * support in libmicrohttpd). */
int reg_server_start(struct reg_server **out, struct reg_config *cfg, struct err **err);

/* The port actually bound (useful with port 0). */
unsigned reg_server_port(const struct reg_server *s);

/* Stop accepting, finish or drop connections, close storage. NULL ok. */
void reg_server_free(struct reg_server *s);

#endif
