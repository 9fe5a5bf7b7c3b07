/* Content digests: streaming sha256/sha512 over OpenSSL EVP, and the
 * `algorithm:encoded` string form exactly as the OCI image-spec
 * (descriptor.md, "Digests") defines it:
 *
 *   digest                ::= algorithm ":" encoded
 *   algorithm             ::= algorithm-component (algorithm-separator algorithm-component)*
 *   algorithm-component   ::= [a-z0-9]+
 *   algorithm-separator   ::= [+._-]
 *   encoded               ::= [a-zA-Z0-9=_-]+
 *
 * plus the registered algorithms' own rules: sha256 is 64 and sha512 128
 * lowercase hex characters ([a-f0-9], uppercase rejected). */
#ifndef BALE_COMMON_DIGEST_H
#define BALE_COMMON_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum digest_algo {
	DIGEST_SHA256 = 1,
	DIGEST_SHA512 = 2,
};

#define DIGEST_MAX_BYTES 64
/* "sha512:" + 128 hex + NUL */
#define DIGEST_MAX_STRING (7 + 128 + 1)

struct digest {
	enum digest_algo algo;
	unsigned char bytes[DIGEST_MAX_BYTES];
};

/* Name ("sha256"), raw length (32) and hex length (64) of an algorithm;
 * "invalid" and 0 for a value outside enum digest_algo. */
const char *digest_algo_name(enum digest_algo algo);
size_t digest_algo_size(enum digest_algo algo);
size_t digest_algo_hex_len(enum digest_algo algo);
/* Parse an algorithm name alone into *out. ERR_INVALID when it breaks the
 * grammar above, ERR_UNSUPPORTED for a well-formed but unknown name. */
int digest_algo_parse(const char *name, enum digest_algo *out, struct err **err);

/* Parse "algo:hex" into *out (zeroed on failure; nothing to free).
 * ERR_INVALID (grammar, length, case) with the reason, or ERR_UNSUPPORTED
 * for a grammatical digest of an algorithm we do not know (callers such as
 * the registry map the two to different API errors). Messages quote the
 * input, cut to 100 bytes, with non-printable bytes as \xNN. */
int digest_parse(struct digest *out, const char *s, struct err **err);
/* Same, on a counted string that need not be NUL-terminated; a NUL byte
 * inside the n bytes is ERR_INVALID. */
int digest_parse_n(struct digest *out, const char *s, size_t n, struct err **err);
/* True when s is a valid digest string of a supported algorithm. */
bool digest_valid(const char *s);

/* Write "algo:hex" into out (at least DIGEST_MAX_STRING bytes); returns out. */
char *digest_format(const struct digest *d, char *out);
/* The hex part only, into out (at least 129 bytes); returns out. */
char *digest_hex(const struct digest *d, char *out);
/* Same algorithm and same bytes (false when either algorithm is unknown). */
bool digest_equal(const struct digest *a, const struct digest *b);

/* Streaming hasher over OpenSSL EVP. Misuse (an algorithm outside enum
 * digest_algo, update or final after final) and libcrypto failures abort,
 * like running out of memory: none can happen in a correct program. */
struct hasher;
/* A new hasher, never NULL; the caller frees it with hasher_free(). */
struct hasher *hasher_new(enum digest_algo algo);
/* Feed n bytes (n may be 0). */
void hasher_update(struct hasher *h, const void *data, size_t n);
/* Finish into out; the hasher can then only be freed or reset. */
void hasher_final(struct hasher *h, struct digest *out);
/* Start over with the same algorithm (size back to 0). */
void hasher_reset(struct hasher *h);
/* Bytes fed so far. */
uint64_t hasher_size(const struct hasher *h);
/* Free the hasher and its EVP context; NULL is fine. */
void hasher_free(struct hasher *h);

/* One-shot digest of a buffer into *out (nothing to free). */
void digest_buffer(struct digest *out, enum digest_algo algo, const void *data, size_t n);
/* Digest of everything readable from fd (until EOF); size gets the byte count
 * if not NULL. ERR_IO on a read error (out and size then undefined). The fd
 * stays open and is left at EOF. */
int digest_fd(struct digest *out, uint64_t *size, enum digest_algo algo, int fd, struct err **err);

static inline void hasher_freep(struct hasher **h)
{
	hasher_free(*h);
}
#define cleanup_hasher __attribute__((cleanup(hasher_freep)))

#endif
