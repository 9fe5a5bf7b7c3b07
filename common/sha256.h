/* SHA-256 without libcrypto (common/sha256.c says when). */
#ifndef BALE_COMMON_SHA256_H
#define BALE_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

struct sha256_ctx {
	uint32_t h[8];
	uint64_t len;          /* bytes hashed */
	unsigned char buf[64]; /* a partial block */
	size_t n;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t n);
void sha256_final(struct sha256_ctx *c, unsigned char out[SHA256_BYTES]);

void sha256_buffer(unsigned char out[SHA256_BYTES], const void *data, size_t n);

#endif
