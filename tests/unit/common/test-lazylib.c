/* The lazily loaded libraries (common/lazylib.h) work through bale's own
 * definitions: this program links no library but libcommon's forwarders, so
 * every call below goes through them. The variadic ones are the risk: each
 * type of curl option (long, pointer, function, curl_off_t, blob), each
 * share option, and MHD_start_daemon's options in the plain form, are passed
 * where a misread argument would show. */
#include "config.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"
#include "tests/tap.h"

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
	return buf_add(ctx, p, size * n, NULL) == 0 ? size * n : 0;
}

static void test_easy_options(void)
{
	char path[] = "/tmp/bale-test-lazylib.XXXXXX";
	int fd = mkstemp(path);
	if (!ok(fd >= 0, "a temp file to fetch"))
		return;
	const char content[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	ok(write(fd, content, strlen(content)) == (ssize_t)strlen(content), "is written");
	close(fd);
	char *url = xasprintf("file://%s", path);

	CURL *c = curl_easy_init();
	ok(c != NULL, "curl_easy_init");
	struct buf got;
	buf_init(&got, 1024);
	is_int(curl_easy_setopt(c, CURLOPT_URL, url), CURLE_OK, "an object pointer option (URL)");
	is_int(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect), CURLE_OK,
	       "a function pointer option (WRITEFUNCTION)");
	is_int(curl_easy_setopt(c, CURLOPT_WRITEDATA, &got), CURLE_OK, "WRITEDATA");
	is_int(curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L), CURLE_OK, "a long option");
	is_int(curl_easy_perform(c), CURLE_OK, "the file is fetched");
	is_str(buf_str(&got), content, "through the write function, to the write data");

	/* curl_off_t: resuming at an offset fetches the rest. */
	buf_reset(&got);
	is_int(curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)10), CURLE_OK,
	       "a curl_off_t option (RESUME_FROM_LARGE)");
	is_int(curl_easy_perform(c), CURLE_OK, "the file is fetched from offset 10");
	is_str(buf_str(&got), content + 10, "and only from there");

	/* A long option whose value curl checks: out of range is refused. */
	is_int(curl_easy_setopt(c, CURLOPT_MAXREDIRS, -2L), CURLE_BAD_FUNCTION_ARGUMENT,
	       "a long option's value reaches curl (MAXREDIRS -2 is refused)");

	struct curl_blob blob = { .data = (void *)content, .len = strlen(content),
				  .flags = CURL_BLOB_COPY };
	CURLcode rc = curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	ok(rc == CURLE_OK || rc == CURLE_NOT_BUILT_IN, "a blob option (CAINFO_BLOB): %s",
	   curl_easy_strerror(rc));
	is_int(curl_easy_setopt(c, (CURLoption)(CURLOPTTYPE_BLOB + 10000 + 1), 0L),
	       CURLE_UNKNOWN_OPTION, "an option of no known type is unknown");

	curl_easy_reset(c);
	buf_reset(&got);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	is_int(curl_easy_perform(c), CURLE_OK, "after curl_easy_reset the handle works");
	is_str(buf_str(&got), content, "without the old offset");
	curl_easy_cleanup(c);
	buf_release(&got);
	unlink(path);
	free(url);
}

struct lock_count {
	int locks, unlocks;
};

static void on_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *user)
{
	((struct lock_count *)user)->locks++;
}

static void on_unlock(CURL *c, curl_lock_data data, void *user)
{
	((struct lock_count *)user)->unlocks++;
}

static void test_share_options(void)
{
	struct lock_count n = { 0, 0 };
	CURLSH *sh = curl_share_init();
	ok(sh != NULL, "curl_share_init");
	is_int(curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, on_lock), CURLSHE_OK, "LOCKFUNC");
	is_int(curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, on_unlock), CURLSHE_OK, "UNLOCKFUNC");
	is_int(curl_share_setopt(sh, CURLSHOPT_USERDATA, &n), CURLSHE_OK, "USERDATA");
	is_int(curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS), CURLSHE_OK,
	       "SHARE DNS");
	is_int(curl_share_setopt(sh, CURLSHOPT_SHARE, 1000), CURLSHE_BAD_OPTION,
	       "SHARE of unknown data is refused: the value reaches curl");
	is_int(curl_share_setopt(sh, (CURLSHoption)99, 0), CURLSHE_BAD_OPTION,
	       "an unknown share option is refused");
	CURL *c = curl_easy_init();
	is_int(curl_easy_setopt(c, CURLOPT_SHARE, sh), CURLE_OK, "the share is attached");
	ok(n.locks > 0 && n.locks == n.unlocks,
	   "attaching it called the lock functions with the user data (%d/%d)", n.locks,
	   n.unlocks);
	curl_easy_cleanup(c);
	is_int(curl_share_cleanup(sh), CURLSHE_OK, "curl_share_cleanup");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *body,
				  size_t *body_len, void **req_cls)
{
	const char *agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
	char *text = xasprintf("%s %s %s", method, url, agent != NULL ? agent : "-");
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text,
								 MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "X-Lazy", "yes");
	enum MHD_Result q = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return q;
}

static size_t find_header(char *p, size_t size, size_t n, void *ctx)
{
	if (n * size >= 8 && strncmp(p, "X-Lazy: ", 8) == 0)
		*(bool *)ctx = true;
	return size * n;
}

/* MHD_start_daemon's options in the plain (not MHD_OPTION_ARRAY) form:
 * the daemon must serve on the socket given as an option, so a lost option
 * leaves the request unanswered. */
static void test_mhd_daemon(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	if (!ok(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(s, 8) == 0 &&
			getsockname(s, (struct sockaddr *)&sa, &len) == 0,
		"a listening socket on 127.0.0.1"))
		return;
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
						on_request, NULL, MHD_OPTION_LISTEN_SOCKET, s,
						MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!ok(d != NULL, "MHD_start_daemon with plain options"))
		return;

	char *url = xasprintf("http://127.0.0.1:%u/lazy", (unsigned)ntohs(sa.sin_port));
	struct buf got;
	buf_init(&got, 1024);
	bool header = false;
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "test-lazylib");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, find_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &header);
	CURLcode rc = curl_easy_perform(c);
	is_int(rc, CURLE_OK, "the daemon answers on the given socket: %s", curl_easy_strerror(rc));
	is_str(buf_str(&got), "GET /lazy test-lazylib", "the handler saw the request");
	ok(header, "and its response header came back");
	curl_easy_cleanup(c);
	buf_release(&got);
	free(url);
	MHD_stop_daemon(d); /* closes the listening socket too */
}

int main(void)
{
	is_int(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK, "curl_global_init");
	test_easy_options();
	test_share_options();
	test_mhd_daemon();
	return tap_done();
}
