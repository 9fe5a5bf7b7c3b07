/* libcrypto, loaded on first use (common/lazylib.h). Its start-up is the
 * largest left in a bale start (~130 page faults and ~1 ms to map and
 * relocate it, here), and many commands never hash a stream or sign a
 * token: short manifests and configs are hashed by common/sha256.c. */
#include "config.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/lazylib.h"

#define FUNCS(F, V, H)                                                                            \
	F(int, BIO_free, (BIO * a), (a))                                                           \
	F(BIO *, BIO_new_mem_buf, (const void *buf, int len), (buf, len))                          \
	F(BIGNUM *, BN_bin2bn, (const unsigned char *s, int len, BIGNUM *ret), (s, len, ret))      \
	F(int, BN_bn2binpad, (const BIGNUM *a, unsigned char *to, int tolen), (a, to, tolen))      \
	V(BN_free, (BIGNUM * a), (a))                                                              \
	V(CRYPTO_free, (void *ptr, const char *file, int line), (ptr, file, line))                 \
	F(int, CRYPTO_memcmp, (const void *in_a, const void *in_b, size_t len), (in_a, in_b, len)) \
	V(ECDSA_SIG_free, (ECDSA_SIG * sig), (sig))                                                \
	V(ECDSA_SIG_get0, (const ECDSA_SIG *sig, const BIGNUM **pr, const BIGNUM **ps),            \
	  (sig, pr, ps))                                                                           \
	F(ECDSA_SIG *, ECDSA_SIG_new, (void), ())                                                  \
	F(int, ECDSA_SIG_set0, (ECDSA_SIG * sig, BIGNUM *r, BIGNUM *s), (sig, r, s))               \
	F(int, EVP_DecodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))      \
	F(int, EVP_Digest,                                                                         \
	  (const void *data, size_t count, unsigned char *md, unsigned int *size,                  \
	   const EVP_MD *type, ENGINE *impl),                                                      \
	  (data, count, md, size, type, impl))                                                     \
	F(int, EVP_DigestFinal_ex, (EVP_MD_CTX * ctx, unsigned char *md, unsigned int *s),         \
	  (ctx, md, s))                                                                            \
	F(int, EVP_DigestInit_ex2,                                                                 \
	  (EVP_MD_CTX * ctx, const EVP_MD *type, const OSSL_PARAM params[]), (ctx, type, params))  \
	F(int, EVP_DigestSign,                                                                     \
	  (EVP_MD_CTX * ctx, unsigned char *sigret, size_t *siglen, const unsigned char *tbs,      \
	   size_t tbslen),                                                                         \
	  (ctx, sigret, siglen, tbs, tbslen))                                                      \
	F(int, EVP_DigestSignInit,                                                                 \
	  (EVP_MD_CTX * ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e, EVP_PKEY *pkey),  \
	  (ctx, pctx, type, e, pkey))                                                              \
	F(int, EVP_DigestUpdate, (EVP_MD_CTX * ctx, const void *d, size_t cnt), (ctx, d, cnt))     \
	F(int, EVP_DigestVerify,                                                                   \
	  (EVP_MD_CTX * ctx, const unsigned char *sigret, size_t siglen,                           \
	   const unsigned char *tbs, size_t tbslen),                                               \
	  (ctx, sigret, siglen, tbs, tbslen))                                                      \
	F(int, EVP_DigestVerifyInit,                                                               \
	  (EVP_MD_CTX * ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e, EVP_PKEY *pkey),  \
	  (ctx, pctx, type, e, pkey))                                                              \
	F(int, EVP_EncodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))      \
	V(EVP_MD_CTX_free, (EVP_MD_CTX * ctx), (ctx))                                              \
	F(EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())                                                \
	F(EVP_MD *, EVP_MD_fetch,                                                                  \
	  (OSSL_LIB_CTX * ctx, const char *algorithm, const char *properties),                     \
	  (ctx, algorithm, properties))                                                            \
	V(EVP_PKEY_free, (EVP_PKEY * pkey), (pkey))                                                \
	F(int, EVP_PKEY_get_bits, (const EVP_PKEY *pkey), (pkey))                                  \
	F(int, EVP_PKEY_is_a, (const EVP_PKEY *pkey, const char *name), (pkey, name))              \
	F(const EVP_MD *, EVP_sha256, (void), ())                                                  \
	V(OPENSSL_cleanse, (void *ptr, size_t len), (ptr, len))                                    \
	F(EVP_PKEY *, PEM_read_bio_PrivateKey,                                                     \
	  (BIO * bp, EVP_PKEY **x, pem_password_cb *cb, void *u), (bp, x, cb, u))                  \
	F(const char *, OpenSSL_version, (int type), (type))                                       \
	F(int, RAND_bytes, (unsigned char *buf, int num), (buf, num))                              \
	F(ECDSA_SIG *, d2i_ECDSA_SIG, (ECDSA_SIG * *a, const unsigned char **in, long len),        \
	  (a, in, len))                                                                            \
	F(int, i2d_ECDSA_SIG, (const ECDSA_SIG *a, unsigned char **out), (a, out))                 \
	F(int, i2d_PUBKEY, (const EVP_PKEY *a, unsigned char **pp), (a, pp))

LAZYLIB_LIBRARY(BALE_SONAME_CRYPTO, BALE_PACKAGE_CRYPTO)
