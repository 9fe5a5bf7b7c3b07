/* SHA-256 of a buffer without libcrypto (common/sha256.c says when). */
#ifndef BALE_COMMON_SHA256_H
#define BALE_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

void sha256_buffer(unsigned char out[SHA256_BYTES], const void *data, size_t n);

#endif
