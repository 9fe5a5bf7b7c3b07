#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/sha256.h"
#include "common/util.h"
#include "tests/tap.h"

#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA512_EMPTY                                                                   \
	"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0" \
	"ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define SHA512_ABC                                                                     \
	"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a8" \
	"36ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

static void test_vectors(void)
{
	struct digest d;
	char s[DIGEST_MAX_STRING], hex[129];

	digest_buffer(&d, DIGEST_SHA256, "", 0);
	is_str(digest_format(&d, s), "sha256:" SHA256_EMPTY, "sha256 of empty input");
	digest_buffer(&d, DIGEST_SHA256, "abc", 3);
	is_str(digest_format(&d, s), "sha256:" SHA256_ABC, "sha256 of 'abc'");
	is_str(digest_hex(&d, hex), SHA256_ABC, "hex part of sha256 'abc'");
	digest_buffer(&d, DIGEST_SHA512, "", 0);
	is_str(digest_format(&d, s), "sha512:" SHA512_EMPTY, "sha512 of empty input");
	digest_buffer(&d, DIGEST_SHA512, "abc", 3);
	is_str(digest_format(&d, s), "sha512:" SHA512_ABC, "sha512 of 'abc'");
	is_int(strlen(s), DIGEST_MAX_STRING - 1, "sha512 string fills DIGEST_MAX_STRING");
}

static void hex_of(const unsigned char *b, char *out)
{
	for (int i = 0; i < SHA256_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The built-in SHA-256: FIPS 180-4's examples, then every length around
 * the padding boundaries and random buffers against libcrypto's. */
static void test_builtin_sha256(void)
{
	unsigned char md[SHA256_BYTES];
	char hex[2 * SHA256_BYTES + 1];
	sha256_buffer(md, "abc", 3);
	hex_of(md, hex);
	is_str(hex, SHA256_ABC, "built-in sha256: 'abc'");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_buffer(md, two, strlen(two));
	hex_of(md, hex);
	is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	       "built-in sha256: the two-block example");
	char *million = xmalloc(1000000);
	memset(million, 'a', 1000000);
	sha256_buffer(md, million, 1000000);
	hex_of(md, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "built-in sha256: a million 'a'");
	unsigned int seed = 1;
	for (size_t i = 0; i < 1000000; i++)
		million[i] = (char)(rand_r(&seed) & 0xff);
	int bad = 0;
	for (size_t n = 0; n < 1000000; n = n < 300 ? n + 1 : n * 3 + (size_t)(rand_r(&seed) % 97)) {
		struct hasher *h = hasher_new(DIGEST_SHA256);
		hasher_update(h, million, n);
		struct digest want;
		hasher_final(h, &want);
		hasher_free(h);
		sha256_buffer(md, million, n);
		bad += memcmp(md, want.bytes, SHA256_BYTES) != 0;
	}
	is_int(bad, 0, "built-in sha256 agrees with libcrypto on 0-300 bytes and random sizes");
	/* streamed in pieces of every size from 1 to 130 bytes */
	bad = 0;
	for (size_t piece = 1; piece <= 130; piece++) {
		size_t n = 1000 + piece * 7;
		struct sha256_ctx c;
		sha256_init(&c);
		for (size_t off = 0; off < n; off += piece)
			sha256_update(&c, million + off, off + piece <= n ? piece : n - off);
		unsigned char whole[SHA256_BYTES];
		sha256_final(&c, md);
		sha256_buffer(whole, million, n);
		bad += memcmp(md, whole, SHA256_BYTES) != 0;
	}
	is_int(bad, 0, "built-in sha256 streamed in pieces of 1 to 130 bytes");
	free(million);
}

/* Run first, before anything starts libcrypto: short streams are hashed
 * without it, a stream growing past 64 KiB moves to libcrypto with what
 * it had so far. Checked against the built-in one-shot hash (itself
 * checked above against FIPS 180-4 and libcrypto). */
static void test_short_hasher(void)
{
	static const size_t sizes[] = { 0, 1, 64, 65535, 65536, 65537, 200000, 1000 };
	unsigned char *data = xmalloc(200000);
	for (size_t i = 0; i < 200000; i++)
		data[i] = (unsigned char)(i * 31 + 7);
	int bad = 0;
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		for (size_t piece = 1000; piece <= 70000; piece += 69000) {
			struct hasher *h = hasher_new(DIGEST_SHA256);
			for (size_t off = 0; off < sizes[k]; off += piece)
				hasher_update(h, data + off, off + piece <= sizes[k] ? piece : sizes[k] - off);
			struct digest got;
			hasher_final(h, &got);
			is_int((int)hasher_size(h), (int)sizes[k], "hasher_size of %zu bytes", sizes[k]);
			hasher_free(h);
			unsigned char want[SHA256_BYTES];
			sha256_buffer(want, data, sizes[k]);
			bad += memcmp(got.bytes, want, SHA256_BYTES) != 0 || got.algo != DIGEST_SHA256;
		}
	}
	is_int(bad, 0, "short and growing streams hash the same with and without libcrypto");
	free(data);
}

static void test_algo_names(void)
{
	enum digest_algo a = 0;
	cleanup_err struct err *e = NULL;

	is_str(digest_algo_name(DIGEST_SHA256), "sha256", "name of sha256");
	is_str(digest_algo_name(DIGEST_SHA512), "sha512", "name of sha512");
	is_int(digest_algo_size(DIGEST_SHA256), 32, "sha256 is 32 bytes");
	is_int(digest_algo_hex_len(DIGEST_SHA512), 128, "sha512 is 128 hex");
	is_int(digest_algo_size((enum digest_algo)99), 0, "size of an unknown enum is 0");
	is_int(digest_algo_parse("sha512", &a, NULL), 0, "algo sha512 parses");
	is_int(a, DIGEST_SHA512, "algo sha512 value");
	is_int(digest_algo_parse("md5", &a, &e), ERR_UNSUPPORTED, "algo md5 is unsupported");
	like(err_msg(e), "'md5' is not supported", "message names md5");
	err_freep(&e);
	is_int(digest_algo_parse("SHA256", &a, &e), ERR_INVALID, "algo SHA256 is invalid");
	like(err_msg(e), "must be lowercase", "uppercase algorithm reason");
	err_freep(&e);
	is_int(digest_algo_parse("", &a, NULL), ERR_INVALID, "empty algo is invalid");
}

static unsigned char *pattern(size_t n)
{
	unsigned char *p = xmalloc(n);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

static void test_streaming(void)
{
	static const size_t sizes[] = { 1, 3, 7, 63, 64, 65, 127, 128, 129, 4097 };
	const size_t total = 300001;
	cleanup_free unsigned char *data = pattern(total);
	enum digest_algo algos[] = { DIGEST_SHA256, DIGEST_SHA512 };

	for (size_t a = 0; a < ARRAY_SIZE(algos); a++) {
		struct digest one, streamed;
		digest_buffer(&one, algos[a], data, total);
		cleanup_hasher struct hasher *h = hasher_new(algos[a]);
		for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
			hasher_reset(h);
			size_t off = 0;
			for (size_t k = 0; off < total; k++) {
				/* vary the chunk: sizes[s], then +1, +2 ... to cross block edges */
				size_t n = sizes[s] + k % 5;
				if (n > total - off)
					n = total - off;
				hasher_update(h, data + off, n);
				off += n;
			}
			hasher_update(h, data, 0);
			is_int(hasher_size(h), total, "%s: size counted with chunks of %zu",
			       digest_algo_name(algos[a]), sizes[s]);
			hasher_final(h, &streamed);
			ok(digest_equal(&one, &streamed), "%s: chunks of %zu+ equal one-shot",
			   digest_algo_name(algos[a]), sizes[s]);
		}
	}

	struct digest d, e;
	cleanup_hasher struct hasher *h = hasher_new(DIGEST_SHA256);
	hasher_update(h, "ab", 2);
	hasher_update(h, "c", 1);
	hasher_final(h, &d);
	digest_parse(&e, "sha256:" SHA256_ABC, NULL);
	ok(digest_equal(&d, &e), "'ab' + 'c' hashes as 'abc'");
	hasher_reset(h);
	is_int(hasher_size(h), 0, "reset clears the size");
	hasher_final(h, &d);
	digest_parse(&e, "sha256:" SHA256_EMPTY, NULL);
	ok(digest_equal(&d, &e), "reset hasher gives the empty digest");
}

static int temp_file(const void *data, size_t n)
{
	const char *dir = getenv("TMPDIR");
	cleanup_free char *path = xasprintf("%s/test-digest-XXXXXX", dir != NULL ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	if (write_all(fd, data, n) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_fd(void)
{
	const size_t total = (1u << 20) + 12345; /* more than one read chunk */
	cleanup_free unsigned char *data = pattern(total);
	struct digest want, got;
	uint64_t size = 0;
	cleanup_err struct err *e = NULL;

	digest_buffer(&want, DIGEST_SHA256, data, total);
	cleanup_close int fd = temp_file(data, total);
	ok(fd >= 0, "temp file created");
	is_int(digest_fd(&got, &size, DIGEST_SHA256, fd, &e), 0, "digest_fd of a file");
	ok(digest_equal(&want, &got), "digest_fd equals one-shot");
	is_int(size, total, "digest_fd reports the size");

	cleanup_close int empty = temp_file("", 0);
	is_int(digest_fd(&got, NULL, DIGEST_SHA512, empty, NULL), 0, "digest_fd of empty file");
	char s[DIGEST_MAX_STRING];
	is_str(digest_format(&got, s), "sha512:" SHA512_EMPTY, "empty file sha512");

	int p[2];
	ok(pipe(p) == 0, "pipe");
	ok(write_all(p[1], "abc", 3) == 0, "write to pipe");
	close(p[1]);
	is_int(digest_fd(&got, &size, DIGEST_SHA256, p[0], NULL), 0, "digest_fd of a pipe");
	close(p[0]);
	is_str(digest_format(&got, s), "sha256:" SHA256_ABC, "pipe content hashed");
	is_int(size, 3, "pipe size");

	is_int(digest_fd(&got, &size, DIGEST_SHA256, -1, &e), ERR_IO, "digest_fd of a bad fd");
	is_int(err_code(e), ERR_IO, "error code is io");
	is_int(e != NULL ? e->errnum : 0, EBADF, "errno kept");
}

static void test_parse_ok(void)
{
	struct digest d, e;
	char s[DIGEST_MAX_STRING];
	const char *in = "sha512:" SHA512_ABC;

	is_int(digest_parse(&d, in, NULL), 0, "sha512 digest parses");
	is_str(digest_format(&d, s), in, "sha512 round trip");
	digest_buffer(&e, DIGEST_SHA512, "abc", 3);
	ok(digest_equal(&d, &e), "parsed equals computed");
	e.bytes[63] ^= 1;
	ok(!digest_equal(&d, &e), "one bit differs");
	digest_buffer(&e, DIGEST_SHA256, "abc", 3);
	ok(!digest_equal(&d, &e), "different algorithms differ");
	ok(digest_valid("sha256:" SHA256_ABC), "digest_valid accepts sha256");

	/* counted form: the digest followed by more bytes, no NUL */
	char buf[100];
	memcpy(buf, "sha256:" SHA256_ABC "XYZ", 7 + 64 + 3);
	is_int(digest_parse_n(&d, buf, 7 + 64, NULL), 0, "digest_parse_n stops at n");
	is_str(digest_format(&d, s), "sha256:" SHA256_ABC, "digest_parse_n value");
}

struct bad {
	const char *in;
	int code;
	const char *reason;
};

static const struct bad bad_digests[] = {
	{ "", ERR_INVALID, "missing ':'" },
	{ "sha256", ERR_INVALID, "missing ':'" },
	{ SHA256_ABC, ERR_INVALID, "missing ':'" },
	{ ":" SHA256_ABC, ERR_INVALID, "algorithm is empty" },
	{ "sha256:", ERR_INVALID, "encoded part is empty" },
	{ "sha256::" SHA256_ABC, ERR_INVALID, "invalid character ':'" },
	{ "sha256:" SHA256_ABC ":", ERR_INVALID, "invalid character ':'" },
	{ "sha256:" SHA256_ABC " ", ERR_INVALID, "invalid character ' '" },
	{ "sha256:" SHA256_ABC "\n", ERR_INVALID, "invalid character '\\x0a'" },
	{ " sha256:" SHA256_ABC, ERR_INVALID, "algorithm contains an invalid character" },
	{ "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", ERR_INVALID,
	  "encoded part must be lowercase hex" },
	{ "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aD", ERR_INVALID,
	  "encoded part must be lowercase hex" },
	{ "sha256:" SHA256_ABC "0", ERR_INVALID, "must be 64 characters, not 65" },
	{ "sha256:ba7816bf", ERR_INVALID, "must be 64 characters, not 8" },
	{ "sha512:" SHA256_ABC, ERR_INVALID, "sha512 encoded part must be 128 characters, not 64" },
	{ "sha256:zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ERR_INVALID,
	  "lowercase hex" },
	{ "SHA256:" SHA256_ABC, ERR_INVALID, "algorithm must be lowercase" },
	{ "sha256+:" SHA256_ABC, ERR_INVALID, "empty component" },
	{ "+sha256:" SHA256_ABC, ERR_INVALID, "empty component" },
	{ "sha..256:" SHA256_ABC, ERR_INVALID, "empty component" },
	{ "sha256:abc/def", ERR_INVALID, "invalid character '/'" },
	{ "sha256:abc+def", ERR_INVALID, "invalid character '+'" },
	/* grammatical but unknown: the registry answers DIGEST_INVALID/UNSUPPORTED */
	{ "md5:d41d8cd98f00b204e9800998ecf8427e", ERR_UNSUPPORTED, "'md5' is not supported" },
	{ "sha384:" SHA256_ABC, ERR_UNSUPPORTED, "'sha384' is not supported" },
	{ "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", ERR_UNSUPPORTED,
	  "not supported" },
	{ "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", ERR_UNSUPPORTED,
	  "not supported" },
};

static void test_rejections(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_digests); i++) {
		const struct bad *b = &bad_digests[i];
		struct digest d;
		cleanup_err struct err *e = NULL;
		memset(&d, 0xff, sizeof(d));
		is_int(digest_parse(&d, b->in, &e), b->code, "reject '%s'", tap_esc(b->in));
		like(err_msg(e), b->reason, "reason for '%s'", tap_esc(b->in));
		ok(d.algo == 0, "output zeroed for '%s'", tap_esc(b->in));
		ok(!digest_valid(b->in), "digest_valid refuses '%s'", tap_esc(b->in));
	}

	cleanup_err struct err *e = NULL;
	struct digest d;
	char withnul[] = "sha256:" SHA256_ABC;
	withnul[20] = '\0';
	is_int(digest_parse_n(&d, withnul, sizeof(withnul) - 1, &e), ERR_INVALID, "NUL inside (_n)");
	like(err_msg(e), "NUL byte", "NUL reason");
	like(err_msg(e), "\\x00", "NUL shown escaped");
	err_freep(&e);

	cleanup_free char *lng = xmalloc(10001);
	memcpy(lng, "sha256:", 7);
	memset(lng + 7, 'a', 9993);
	lng[10000] = '\0';
	is_int(digest_parse(&d, lng, &e), ERR_INVALID, "over-long sha256 rejected");
	like(err_msg(e), "not 9993", "over-long length reported");
	like(err_msg(e), "aaa...' is invalid", "over-long input truncated in the message");
	ok(strlen(err_msg(e)) < 250, "message stays short (%zu)", strlen(err_msg(e)));
	err_freep(&e);

	memset(lng, 'x', 10000);
	lng[5000] = ':';
	is_int(digest_parse(&d, lng, &e), ERR_UNSUPPORTED, "long unknown algorithm unsupported");
	ok(strlen(err_msg(e)) < 350, "unsupported message stays short (%zu)", strlen(err_msg(e)));
	err_freep(&e);

	is_int(digest_parse(&d, "sha256:" "\x1b[31m", &e), ERR_INVALID, "escape sequence rejected");
	ok(strchr(err_msg(e), '\x1b') == NULL, "no raw escape byte in the message");
	like(err_msg(e), "digest 'sha256:\\x1b[31m' is invalid", "escape byte quoted");
}

int main(void)
{
	test_short_hasher();
	test_vectors();
	test_builtin_sha256();
	test_algo_names();
	test_streaming();
	test_fd();
	test_parse_ok();
	test_rejections();
	return tap_done();
}
