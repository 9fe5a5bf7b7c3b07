#include "config.h"

#include "common/digest.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/sha256.h"
#include "common/util.h"

/* Longest piece of a hostile input we quote back in an error message. */
/* digest_fd reads in large chunks: a syscall costs ~3 µs here (DESIGN.md). */
#define DIGEST_FD_CHUNK (256u << 10)
/* Up to this size a buffer costs less to hash in plain C than libcrypto's
 * start-up does. */
#define DIGEST_BUILTIN_MAX (1u << 20)

struct algo_info {
	const char *name;      /* OCI name */
	const char *evp_name;  /* OpenSSL fetch name */
	size_t size;           /* raw bytes */
};

static const struct algo_info algos[] = {
	[DIGEST_SHA256] = { "sha256", "SHA2-256", 32 },
	[DIGEST_SHA512] = { "sha512", "SHA2-512", 64 },
};

/* A sha256 hasher starts without libcrypto: it keeps the first bytes and
 * hashes them with common/sha256.c at the end if the stream stayed short
 * (a manifest, a config, a cache key), and starts libcrypto (SHA-NI) as
 * soon as it grows past HASHER_SHORT_MAX. */
#define HASHER_SHORT_MAX (64u << 10)

struct hasher {
	EVP_MD_CTX *ctx; /* NULL while the stream is short */
	enum digest_algo algo;
	uint64_t size;
	bool finished;
	unsigned char *pending; /* the short stream so far */
	size_t npending;
};

static const struct algo_info *algo_info(enum digest_algo algo)
{
	if ((size_t)algo >= ARRAY_SIZE(algos) || algos[algo].name == NULL)
		return NULL;
	return &algos[algo];
}

/* A broken libcrypto is as fatal as running out of memory: every digest
 * call site would otherwise need an error path that can never be tested. */
static void crypto_fatal(const char *what)
{
	static const char prefix[] = "bale: digest: ";
	ssize_t w = write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
	w = write(STDERR_FILENO, what, strlen(what));
	w = write(STDERR_FILENO, "\n", 1);
	(void)w;
	abort();
}

/* ---- EVP_MD cache ----
 * EVP_MD_fetch walks the provider tables and takes locks; doing it once per
 * process instead of once per hasher matters for the registry, which hashes
 * many small manifests. The fetched objects live until exit. */
static EVP_MD *md_cache[ARRAY_SIZE(algos)];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static bool md_ready; /* libcrypto is up: use it for everything */

static void md_fetch_all(void)
{
	__atomic_store_n(&md_ready, true, __ATOMIC_RELEASE);
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++) {
		if (algos[i].name == NULL)
			continue;
		md_cache[i] = EVP_MD_fetch(NULL, algos[i].evp_name, NULL);
		if (md_cache[i] == NULL)
			crypto_fatal("cannot fetch a hash from OpenSSL");
	}
}

static const EVP_MD *md_get(enum digest_algo algo)
{
	if (algo_info(algo) == NULL)
		crypto_fatal("unknown algorithm");
	pthread_once(&md_once, md_fetch_all);
	return md_cache[algo];
}

/* ---- algorithm names ---- */

const char *digest_algo_name(enum digest_algo algo)
{
	const struct algo_info *a = algo_info(algo);
	return a != NULL ? a->name : "invalid";
}

size_t digest_algo_size(enum digest_algo algo)
{
	const struct algo_info *a = algo_info(algo);
	return a != NULL ? a->size : 0;
}

size_t digest_algo_hex_len(enum digest_algo algo)
{
	return 2 * digest_algo_size(algo);
}

/* ---- error messages ---- */

__attribute__((format(printf, 5, 6))) static int fail(struct err **err, int code, const char *s,
						      size_t n, const char *fmt, ...)
{
	if (err == NULL || *err != NULL)
		return code;
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *reason = xvasprintf(fmt, ap);
	va_end(ap);
	cleanup_free char *q = str_quote(s, n);
	return err_set(err, code, "digest '%s' is invalid: %s", q, reason);
}

/* ---- grammar (OCI image-spec descriptor.md) ---- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_algo_sep(char c)
{
	return c == '+' || c == '.' || c == '_' || c == '-';
}

static bool is_encoded_char(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '=' || c == '_' || c == '-';
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The reason a[0..n) breaks the algorithm grammar, or NULL when it is fine. */
static const char *algo_grammar_error(const char *a, size_t n)
{
	if (n == 0)
		return "algorithm is empty";
	bool after_sep = true; /* at start, a separator would begin an empty component */
	for (size_t i = 0; i < n; i++) {
		if (is_lower_alnum(a[i])) {
			after_sep = false;
		} else if (is_algo_sep(a[i])) {
			if (after_sep)
				return "algorithm has an empty component";
			after_sep = true;
		} else if (a[i] >= 'A' && a[i] <= 'Z') {
			return "algorithm must be lowercase";
		} else {
			return "algorithm contains an invalid character";
		}
	}
	return after_sep ? "algorithm has an empty component" : NULL;
}

static int lookup_algo(const char *a, size_t n, enum digest_algo *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++) {
		if (algos[i].name != NULL && strlen(algos[i].name) == n &&
		    memcmp(algos[i].name, a, n) == 0) {
			*out = (enum digest_algo)i;
			return 0;
		}
	}
	return ERR_UNSUPPORTED;
}

int digest_algo_parse(const char *name, enum digest_algo *out, struct err **err)
{
	size_t n = strlen(name);
	const char *why = algo_grammar_error(name, n);
	if (why != NULL) {
		cleanup_free char *q = str_quote(name, n);
		return err_set(err, ERR_INVALID, "digest algorithm '%s' is invalid: %s", q, why);
	}
	if (lookup_algo(name, n, out) < 0) {
		cleanup_free char *q = str_quote(name, n);
		return err_set(err, ERR_UNSUPPORTED, "digest algorithm '%s' is not supported", q);
	}
	return 0;
}

static int check_encoded(const char *s, size_t n, const char *e, size_t en, struct err **err)
{
	if (en == 0)
		return fail(err, ERR_INVALID, s, n, "encoded part is empty");
	for (size_t i = 0; i < en; i++) {
		if (!is_encoded_char(e[i])) {
			cleanup_free char *c = str_quote(e + i, 1);
			return fail(err, ERR_INVALID, s, n, "encoded part contains invalid character '%s'", c);
		}
	}
	return 0;
}

static void decode_hex(unsigned char *out, const char *hex, size_t nbytes)
{
	for (size_t i = 0; i < nbytes; i++) {
		char hi = hex[2 * i], lo = hex[2 * i + 1];
		int h = hi <= '9' ? hi - '0' : hi - 'a' + 10;
		int l = lo <= '9' ? lo - '0' : lo - 'a' + 10;
		out[i] = (unsigned char)(h << 4 | l);
	}
}

/* The registered algorithms' own rule: exactly 2*size lowercase hex. */
static int check_registered(const char *s, size_t n, enum digest_algo algo, const char *e,
			    size_t en, struct err **err)
{
	for (size_t i = 0; i < en; i++) {
		if (!is_lower_hex(e[i]))
			return fail(err, ERR_INVALID, s, n, "encoded part must be lowercase hex");
	}
	size_t want = digest_algo_hex_len(algo);
	if (en != want)
		return fail(err, ERR_INVALID, s, n, "%s encoded part must be %zu characters, not %zu",
			    digest_algo_name(algo), want, en);
	return 0;
}

int digest_parse_n(struct digest *out, const char *s, size_t n, struct err **err)
{
	memset(out, 0, sizeof(*out));
	if (memchr(s, '\0', n) != NULL)
		return fail(err, ERR_INVALID, s, n, "contains a NUL byte");
	const char *colon = memchr(s, ':', n);
	if (colon == NULL)
		return fail(err, ERR_INVALID, s, n, "missing ':' between algorithm and encoded part");

	size_t an = (size_t)(colon - s);
	const char *e = colon + 1;
	size_t en = n - an - 1;
	const char *why = algo_grammar_error(s, an);
	if (why != NULL)
		return fail(err, ERR_INVALID, s, n, "%s", why);
	int rc = check_encoded(s, n, e, en, err);
	if (rc < 0)
		return rc;

	enum digest_algo algo;
	if (lookup_algo(s, an, &algo) < 0) {
		cleanup_free char *q = str_quote(s, an);
		return fail(err, ERR_UNSUPPORTED, s, n, "algorithm '%s' is not supported", q);
	}
	rc = check_registered(s, n, algo, e, en, err);
	if (rc < 0)
		return rc;
	out->algo = algo;
	decode_hex(out->bytes, e, digest_algo_size(algo));
	return 0;
}

int digest_parse(struct digest *out, const char *s, struct err **err)
{
	return digest_parse_n(out, s, strlen(s), err);
}

bool digest_valid(const char *s)
{
	struct digest d;
	return digest_parse(&d, s, NULL) == 0;
}

/* ---- formatting ---- */

char *digest_hex(const struct digest *d, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = digest_algo_size(d->algo);
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d->bytes[i] >> 4];
		out[2 * i + 1] = hex[d->bytes[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

char *digest_format(const struct digest *d, char *out)
{
	const char *name = digest_algo_name(d->algo);
	size_t nl = strlen(name);
	memcpy(out, name, nl);
	out[nl] = ':';
	digest_hex(d, out + nl + 1);
	return out;
}

bool digest_equal(const struct digest *a, const struct digest *b)
{
	return a->algo == b->algo && algo_info(a->algo) != NULL &&
	       memcmp(a->bytes, b->bytes, digest_algo_size(a->algo)) == 0;
}

/* ---- hashing ---- */

static void hasher_start_evp(struct hasher *h)
{
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL)
		crypto_fatal("EVP_MD_CTX_new");
	if (EVP_DigestInit_ex2(h->ctx, md_get(h->algo), NULL) != 1)
		crypto_fatal("EVP_DigestInit_ex2");
}

struct hasher *hasher_new(enum digest_algo algo)
{
	struct hasher *h = xcalloc(1, sizeof(*h));
	h->algo = algo;
	if (algo_info(algo) == NULL)
		crypto_fatal("unknown algorithm");
	hasher_reset(h);
	return h;
}

void hasher_reset(struct hasher *h)
{
	h->size = 0;
	h->npending = 0;
	h->finished = false;
	if (h->ctx == NULL && h->algo == DIGEST_SHA256 &&
	    !__atomic_load_n(&md_ready, __ATOMIC_ACQUIRE))
		return; /* short until shown otherwise */
	if (h->ctx == NULL)
		hasher_start_evp(h);
	else if (EVP_DigestInit_ex2(h->ctx, md_get(h->algo), NULL) != 1)
		crypto_fatal("EVP_DigestInit_ex2");
}

void hasher_update(struct hasher *h, const void *data, size_t n)
{
	if (h->finished)
		crypto_fatal("hasher_update after hasher_final");
	if (n == 0)
		return;
	h->size += n;
	if (h->ctx == NULL && h->npending + n <= HASHER_SHORT_MAX) {
		if (h->pending == NULL)
			h->pending = xmalloc(HASHER_SHORT_MAX);
		memcpy(h->pending + h->npending, data, n);
		h->npending += n;
		return;
	}
	if (h->ctx == NULL) {
		/* not short after all: libcrypto takes over from the start */
		hasher_start_evp(h);
		if (h->npending > 0 && EVP_DigestUpdate(h->ctx, h->pending, h->npending) != 1)
			crypto_fatal("EVP_DigestUpdate");
		h->npending = 0;
	}
	if (EVP_DigestUpdate(h->ctx, data, n) != 1)
		crypto_fatal("EVP_DigestUpdate");
}

void hasher_final(struct hasher *h, struct digest *out)
{
	unsigned int len = 0;
	if (h->finished)
		crypto_fatal("hasher_final called twice");
	memset(out, 0, sizeof(*out));
	if (h->ctx == NULL) {
		sha256_buffer(out->bytes, h->pending, h->npending);
	} else if (EVP_DigestFinal_ex(h->ctx, out->bytes, &len) != 1 ||
		   len != digest_algo_size(h->algo)) {
		crypto_fatal("EVP_DigestFinal_ex");
	}
	out->algo = h->algo;
	h->finished = true;
}

uint64_t hasher_size(const struct hasher *h)
{
	return h->size;
}

void hasher_free(struct hasher *h)
{
	if (h == NULL)
		return;
	if (h->ctx != NULL)
		EVP_MD_CTX_free(h->ctx);
	free(h->pending);
	free(h);
}

void digest_buffer(struct digest *out, enum digest_algo algo, const void *data, size_t n)
{
	unsigned int len = 0;
	memset(out, 0, sizeof(*out));
	/* Until libcrypto is needed for a stream, short buffers (manifests,
	 * configs) are hashed without starting it (common/sha256.c). */
	if (algo == DIGEST_SHA256 && n <= DIGEST_BUILTIN_MAX &&
	    !__atomic_load_n(&md_ready, __ATOMIC_ACQUIRE)) {
		sha256_buffer(out->bytes, data, n);
		out->algo = algo;
		return;
	}
	if (EVP_Digest(data, n, out->bytes, &len, md_get(algo), NULL) != 1 ||
	    len != digest_algo_size(algo))
		crypto_fatal("EVP_Digest");
	out->algo = algo;
}

int digest_fd(struct digest *out, uint64_t *size, enum digest_algo algo, int fd, struct err **err)
{
	cleanup_hasher struct hasher *h = hasher_new(algo);
	cleanup_free char *chunk = xmalloc(DIGEST_FD_CHUNK);
	for (;;) {
		ssize_t r = read_full(fd, chunk, DIGEST_FD_CHUNK);
		if (r < 0)
			return err_sys(err, ERR_IO, (int)-r, "cannot read data to digest");
		if (r == 0)
			break;
		hasher_update(h, chunk, (size_t)r);
		if ((size_t)r < DIGEST_FD_CHUNK)
			break;
	}
	hasher_final(h, out);
	if (size != NULL)
		*size = hasher_size(h);
	return 0;
}
