/* The content store: what a user of the store sees on disk and through the
 * API (digests, sizes, files left behind). */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "layers/cas.h"
#include "tests/tap.h"

static char root[256];

static int count_entries(const char *sub, const char *prefix)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, sub);
	DIR *d = opendir(p);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && (prefix == NULL || str_has_prefix(de->d_name, prefix)))
			n++;
	closedir(d);
	return n;
}

static int walk_count(const struct digest *d, uint64_t size, int64_t mtime, void *ctx,
		      struct err **err)
{
	(void)d, (void)size, (void)mtime, (void)err;
	(*(int *)ctx)++;
	return 0;
}

static void test_basic(struct cas *c)
{
	struct err *err = NULL;
	struct digest d, want;
	char s[DIGEST_MAX_STRING];
	ok(cas_ingest_buffer(c, "hello", 5, 0, &d, &err) == 0, "ingest a buffer");
	is_str(digest_format(&d, s),
	       "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
	       "digest of 'hello'");
	char p[512];
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", root, s + 7);
	ok(access(p, F_OK) == 0, "blob is at blobs/sha256/<hex>");
	struct stat st;
	is_int(stat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1, 0444, "a blob is read-only (0444)");
	is_int(count_entries("blobs/sha512", NULL), -1, "no blobs/sha512 before a sha512 blob");
	uint64_t size = 0;
	ok(cas_stat(c, &d, &size, &err) == 0 && size == 5, "stat gives the size");
	int fd = -1;
	ok(cas_open(c, &d, &fd, &size, &err) == 0, "open");
	char buf[16] = { 0 };
	ok(read(fd, buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0, "open reads the bytes");
	close(fd);
	char *data = NULL;
	size_t len = 0;
	ok(cas_read_all(c, &d, 100, &data, &len, &err) == 0 && len == 5, "read_all");
	free(data);
	is_int(cas_read_all(c, &d, 4, &data, &len, &err), ERR_TOOBIG, "read_all honours max");
	err_freep(&err);
	ok(cas_verify(c, &d, &err) == 0, "verify a good blob");

	struct digest d512;
	ok(digest_parse(&d512, "sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043", NULL) == 0 &&
	   cas_stat(c, &d512, NULL, &err) == ERR_NOTFOUND, "stat of a sha512 blob without blobs/sha512: not found");
	err_freep(&err);
	ok(cas_ingest_buffer(c, "hello", 5, DIGEST_SHA512, &d, &err) == 0, "ingest sha512");
	is_int(count_entries("blobs/sha512", NULL), 1, "the first sha512 blob creates blobs/sha512");
	ok(str_has_prefix(digest_format(&d, s), "sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7"),
	   "sha512 digest");
	int n = 0;
	ok(cas_walk(c, walk_count, &n, &err) == 0 && n == 2, "walk sees both blobs");
	ok(cas_delete(c, &d, &err) == 0, "delete");
	is_int(cas_stat(c, &d, NULL, &err), ERR_NOTFOUND, "deleted blob is gone");
	err_freep(&err);
	is_int(cas_delete(c, &d, &err), ERR_NOTFOUND, "delete twice is notfound");
	err_freep(&err);

	/* corruption detected by verify */
	digest_parse(&want, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", NULL);
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", root,
		 "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	chmod(p, 0644);
	FILE *f = fopen(p, "w");
	fputs("jello", f);
	fclose(f);
	is_int(cas_verify(c, &want, &err), ERR_DIGEST, "verify finds a corrupt blob");
	like(err_msg(err), "is corrupt", "message says corrupt");
	err_freep(&err);
	cas_delete(c, &want, NULL);
}

static void test_mismatch(struct cas *c)
{
	struct err *err = NULL;
	struct digest want, got;
	digest_buffer(&want, DIGEST_SHA256, "abc", 3);
	struct cas_writer *w = NULL;
	ok(cas_writer_new(&w, c, 0, NULL, &err) == 0, "writer");
	cas_writer_write(w, "abd", 3, &err);
	is_int(cas_writer_commit(w, &want, 3, &got, NULL, &err), ERR_DIGEST, "digest mismatch refused");
	like(err_msg(err), "digest mismatch: expected 'sha256:ba7816bf", "message names the expected digest");
	err_freep(&err);
	is_int(cas_stat(c, &want, NULL, NULL), ERR_NOTFOUND, "no blob after mismatch");
	is_int(count_entries("ingest", NULL), 0, "no temp file left after mismatch");

	ok(cas_writer_new(&w, c, 0, NULL, &err) == 0, "writer");
	cas_writer_write(w, "abc", 3, &err);
	is_int(cas_writer_commit(w, &want, 4, &got, NULL, &err), ERR_DIGEST, "size mismatch refused");
	like(err_msg(err), "expected 4 bytes, got 3", "message gives sizes");
	err_freep(&err);

	/* sha512 expected while hashing sha256: rehash at commit */
	digest_buffer(&want, DIGEST_SHA512, "abc", 3);
	ok(cas_writer_new(&w, c, 0, NULL, &err) == 0, "writer");
	cas_writer_write(w, "abc", 3, &err);
	ok(cas_writer_commit(w, &want, 3, &got, NULL, &err) == 0 && digest_equal(&want, &got),
	   "commit against a sha512 digest");
}

/* Hashing behind the writes: the same digests and refusals as inline,
 * for a blob written in pieces of odd sizes around the thread's wake-up
 * and writeback spans, begun inline and switched over midway. */
static void test_hash_behind(struct cas *c)
{
	struct err *err = NULL;
	size_t n = (21u << 20) + 12345;
	char *data = xmalloc(n);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		data[i] = (char)x;
	}
	struct digest want, got;
	digest_buffer(&want, DIGEST_SHA256, data, n);
	struct cas_writer *w = NULL;
	ok(cas_writer_new(&w, c, 0, NULL, &err) == 0, "writer");
	size_t off = 0, piece = 1000;
	int wr = 0;
	while (off < n) {
		if (off >= (3u << 20))
			cas_writer_hash_behind(w); /* once: later calls change nothing */
		size_t k = n - off < piece ? n - off : piece;
		wr |= cas_writer_write(w, data + off, k, &err);
		off += k;
		piece = piece * 3 % 700001 + 1;
	}
	ok(wr == 0 && cas_writer_size(w) == n, "pieces written behind");
	ok(cas_writer_commit(w, &want, (int64_t)n, &got, NULL, &err) == 0 && digest_equal(&want, &got),
	   "hashed behind: the digest of every byte");
	uint64_t size = 0;
	ok(cas_stat(c, &want, &size, &err) == 0 && size == n, "the blob is stored");

	/* one byte changed: refused, nothing left */
	data[n - 7] ^= 1;
	ok(cas_writer_new(&w, c, 0, NULL, &err) == 0, "writer");
	cas_writer_hash_behind(w);
	wr = cas_writer_write(w, data, n / 2, &err);
	wr |= cas_writer_write(w, data + n / 2, n - n / 2, &err);
	data[n - 7] ^= 1;
	cas_delete(c, &want, NULL);
	is_int(cas_writer_commit(w, &want, (int64_t)n, &got, NULL, &err), ERR_DIGEST,
	       "a wrong byte is refused when hashed behind");
	err_freep(&err);
	is_int(cas_stat(c, &want, NULL, NULL), ERR_NOTFOUND, "no blob after the mismatch");

	/* aborted while the thread works */
	ok(cas_writer_new(&w, c, 0, NULL, &err) == 0, "writer");
	cas_writer_hash_behind(w);
	wr = cas_writer_write(w, data, n, &err);
	cas_writer_abort(w);
	ok(wr == 0 && count_entries("ingest", NULL) == 0, "abort stops the thread, removes the file");
	free(data);
}

/* Verified now, published later and together. */
static void test_batch(struct cas *c)
{
	struct err *err = NULL;
	const char *text[] = { "batch one", "batch two", "batch three" };
	struct digest want[3];
	struct cas_writer *ws[3] = { NULL };
	int r = 0;
	for (int i = 0; i < 3; i++) {
		digest_buffer(&want[i], DIGEST_SHA256, text[i], strlen(text[i]));
		r |= cas_writer_new(&ws[i], c, 0, NULL, &err);
		r |= cas_writer_write(ws[i], text[i], strlen(text[i]), &err);
		r |= cas_writer_verify(ws[i], &want[i], (int64_t)strlen(text[i]), &err);
	}
	ok(r == 0, "three blobs verified");
	ok(!cas_has(c, &want[0]) && !cas_has(c, &want[2]), "verified blobs are not visible yet");
	ok(cas_writers_commit(ws, 3, &err) == 0 && ws[0] == NULL && ws[2] == NULL,
	   "published together");
	ok(cas_has(c, &want[0]) && cas_has(c, &want[1]) && cas_has(c, &want[2]),
	   "all three are in the store");
	is_int(count_entries("ingest", "tmp-"), 0, "no temp file left after the batch");

	struct digest other;
	digest_buffer(&other, DIGEST_SHA256, "something else", 14);
	ok(cas_writer_new(&ws[0], c, 0, NULL, &err) == 0, "writer");
	cas_writer_write(ws[0], "batch one", 9, &err);
	is_int(cas_writer_verify(ws[0], &other, 9, &err), ERR_DIGEST, "verify refuses a mismatch");
	err_freep(&err);
	is_int(count_entries("ingest", "tmp-"), 0, "and removes its temp file");

	ok(cas_writer_new(&ws[0], c, 0, NULL, &err) == 0, "writer");
	cas_writer_write(ws[0], "unchecked", 9, &err);
	is_int(cas_writers_commit(ws, 1, &err), ERR_INVALID, "an unverified writer is not published");
	err_freep(&err);
	is_int(count_entries("ingest", "tmp-"), 0, "nothing left of it");
}

/* Seal: the digest before the commit, then no more writes. */
static void test_seal(struct cas *c)
{
	struct err *err = NULL;
	struct cas_writer *w = NULL;
	struct digest want, sealed, got, other;
	digest_buffer(&want, DIGEST_SHA256, "sealed blob", 11);
	ok(cas_writer_new(&w, c, 0, NULL, &err) == 0, "writer");
	cas_writer_write(w, "sealed ", 7, &err);
	cas_writer_write(w, "blob", 4, &err);
	ok(cas_writer_seal(w, &sealed, &err) == 0 && digest_equal(&sealed, &want),
	   "seal gives the digest of every byte written");
	ok(!cas_has(c, &want), "a sealed blob is not visible yet");
	is_int(cas_writer_write(w, "x", 1, &err), ERR_INVALID, "a write after the seal is refused");
	err_freep(&err);
	ok(cas_writer_seal(w, &got, &err) == 0 && digest_equal(&got, &want), "sealing twice is the same");
	ok(cas_writer_commit(w, &want, 11, &got, NULL, &err) == 0 && digest_equal(&got, &want),
	   "commit checks the expected digest against the sealed one");
	ok(cas_has(c, &want), "and publishes the blob");

	digest_buffer(&other, DIGEST_SHA256, "other", 5);
	ok(cas_writer_new(&w, c, 0, NULL, &err) == 0, "writer");
	cas_writer_write(w, "not other", 9, &err);
	ok(cas_writer_seal(w, &sealed, &err) == 0, "seal");
	is_int(cas_writer_commit(w, &other, -1, NULL, NULL, &err), ERR_DIGEST,
	       "a commit expecting another digest fails after a seal");
	err_freep(&err);
	is_int(count_entries("ingest", "tmp-"), 0, "and removes its temp file");
}

static void test_resume(struct cas *c)
{
	struct err *err = NULL;
	struct cas_writer *w = NULL, *w2 = NULL;
	ok(cas_writer_new(&w, c, 0, "sess-1", &err) == 0, "named writer");
	is_int(cas_writer_new(&w2, c, 0, "sess-1", &err), ERR_EXISTS, "same id twice is exists");
	err_freep(&err);
	cas_writer_write(w, "hello ", 6, &err);
	is_int(cas_writer_resume(&w2, c, 0, "sess-1", &err), ERR_BUSY, "resume while held is busy");
	err_freep(&err);
	cas_writer_close(w);

	/* a fresh store (as after a restart) keeps the upload */
	struct cas *c2 = NULL;
	ok(cas_new(&c2, root, &err) == 0, "reopen store");
	ok(cas_writer_resume(&w, c2, 0, "sess-1", &err) == 0, "resume after reopen");
	is_int(cas_writer_size(w), 6, "offset after resume");
	cas_writer_write(w, "world", 5, &err);
	struct digest want, got;
	digest_buffer(&want, DIGEST_SHA256, "hello world", 11);
	ok(cas_writer_commit(w, &want, 11, &got, NULL, &err) == 0, "commit resumed upload");
	ok(cas_has(c2, &want), "resumed blob is stored");
	is_int(cas_writer_resume(&w, c2, 0, "sess-1", &err), ERR_NOTFOUND, "upload gone after commit");
	err_freep(&err);
	is_int(cas_writer_new(&w, c2, 0, "../x", &err), ERR_INVALID, "bad upload id refused");
	err_freep(&err);

	ok(cas_writer_new(&w, c2, 0, "old", &err) == 0, "another upload");
	cas_writer_close(w);
	unsigned removed = 99;
	ok(cas_purge_uploads(c2, 3600, &removed, &err) == 0 && removed == 0, "purge spares fresh uploads");
	ok(cas_purge_uploads(c2, 0, &removed, &err) == 0 && removed == 1, "purge removes old uploads");
	cas_free(c2);
}

static void test_crash_cleanup(void)
{
	struct err *err = NULL;
	char p[512];
	snprintf(p, sizeof(p), "%s/ingest/tmp-deadbeef", root);
	int fd = open(p, O_CREAT | O_WRONLY, 0644);
	write(fd, "partial", 7);
	close(fd);
	snprintf(p, sizeof(p), "%s/ingest/tmp-alive", root);
	int live = open(p, O_CREAT | O_WRONLY, 0644);
	flock(live, LOCK_EX);
	struct cas *c = NULL;
	ok(cas_new(&c, root, &err) == 0, "open store with leftovers");
	ok(access(p, F_OK) == 0, "a temp file held by a live writer stays");
	snprintf(p, sizeof(p), "%s/ingest/tmp-deadbeef", root);
	ok(access(p, F_OK) != 0, "an abandoned temp file is removed on open");
	close(live);
	snprintf(p, sizeof(p), "%s/ingest/tmp-alive", root);
	unlink(p);
	cas_free(c);
}

static void test_concurrent(void)
{
	/* Several processes ingest the same 8 MiB blob at once: all succeed,
	 * one blob results. */
	size_t n = 8u << 20;
	char *data = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7 + i / 4096);
	struct digest want;
	digest_buffer(&want, DIGEST_SHA256, data, n);
	pid_t pids[4];
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct cas *c = NULL;
			struct cas_writer *w = NULL;
			if (cas_new(&c, root, NULL) < 0 || cas_writer_new(&w, c, 0, NULL, NULL) < 0)
				_exit(1);
			for (size_t off = 0; off < n; off += 65536)
				if (cas_writer_write(w, data + off, 65536, NULL) < 0)
					_exit(1);
			_exit(cas_writer_commit(w, &want, (int64_t)n, NULL, NULL, NULL) < 0 ? 1 : 0);
		}
	}
	int fails = 0;
	for (int i = 0; i < 4; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fails++;
	}
	is_int(fails, 0, "four processes ingesting the same blob all succeed");
	struct cas *c = NULL;
	cas_new(&c, root, NULL);
	ok(cas_verify(c, &want, NULL) == 0, "the blob is whole");
	is_int(count_entries("ingest", "tmp-"), 0, "no temp files left");
	cas_free(c);
	free(data);
}

int main(void)
{
	snprintf(root, sizeof(root), "%s/test-cas.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(root) == NULL)
		return 1;
	struct err *err = NULL;
	struct cas *c = NULL;
	ok(cas_new(&c, root, &err) == 0, "create store");
	ok(count_entries("blobs/sha256", NULL) == 0, "blobs/sha256 exists and is empty");
	ok(count_entries("ingest", NULL) == -1 && count_entries("blobs/sha512", NULL) == -1,
	   "no ingest/ or blobs/sha512 until needed");
	unsigned purged = 1;
	ok(cas_purge_uploads(c, 0, &purged, &err) == 0 && purged == 0, "purge without ingest/");
	is_int(cas_upload_delete(c, "nope", &err), ERR_NOTFOUND, "delete an upload without ingest/");
	err_freep(&err);
	int nw = 0;
	ok(cas_walk(c, walk_count, &nw, &err) == 0 && nw == 0, "walk without blobs/sha512");
	test_basic(c);
	test_mismatch(c);
	test_hash_behind(c);
	test_batch(c);
	test_seal(c);
	test_resume(c);
	cas_free(c);
	test_crash_cleanup();
	test_concurrent();
	/* remove the tree */
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", root, (char *)NULL);
		_exit(1);
	}
	waitpid(pid, NULL, 0);
	return tap_done();
}
