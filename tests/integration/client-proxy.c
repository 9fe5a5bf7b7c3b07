/* A tiny HTTP/1.1 fault-injecting proxy for the registry client's
 * integration tests: it forwards 127.0.0.1 traffic to a real registry and,
 * once per rule, breaks one request the way networks break them.
 *
 *   client-proxy PORTFILE UPSTREAM_PORT [RULE...]
 *
 * writes the port it listens on (127.0.0.1, chosen by the kernel) to
 * PORTFILE and serves until killed. A RULE is METHOD:SUBSTRING:ACTION:N and
 * fires on the first request whose method is METHOD and whose path contains
 * SUBSTRING:
 *   cutreq   close both sides after N bytes of the request body went up
 *   cutresp  close both sides after N bytes of the response body came down
 *   flip     invert the byte at offset N of the response body (a registry
 *            serving wrong content)
 *   noresp   pass the whole request on, wait for the registry's answer,
 *            then close both sides without passing it on (N unused): the
 *            registry did the work, the client never hears of it
 * Each connection carries one request: the proxy asks the registry for
 * "Connection: close", so it never parses chunked bodies. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_RULES 16
#define HEAD_MAX 65536

enum action { CUT_REQ, CUT_RESP, FLIP, NO_RESP };

struct rule {
	char method[16];
	char substr[256];
	enum action action;
	long long n;
	atomic_int fired;
};

static struct rule *rules; /* shared between the forked children */
static int n_rules;
static int upstream_port;

static int parse_rule(struct rule *r, const char *s)
{
	char act[16];
	if (sscanf(s, "%15[^:]:%255[^:]:%15[^:]:%lld", r->method, r->substr, act, &r->n) != 4)
		return -1;
	if (strcmp(act, "cutreq") == 0)
		r->action = CUT_REQ;
	else if (strcmp(act, "cutresp") == 0)
		r->action = CUT_RESP;
	else if (strcmp(act, "flip") == 0)
		r->action = FLIP;
	else if (strcmp(act, "noresp") == 0)
		r->action = NO_RESP;
	else
		return -1;
	return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static struct rule *claim(const char *method, const char *path)
{
	for (int i = 0; i < n_rules; i++) {
		struct rule *r = &rules[i];
		if (strcmp(r->method, method) != 0 || strstr(path, r->substr) == NULL)
			continue;
		int expected = 0;
		if (atomic_compare_exchange_strong(&r->fired, &expected, 1))
			return r;
	}
	return NULL;
}

static int connect_upstream(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)upstream_port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return fd;
}

/* Read the request head; *have bytes in buf, the head ends at *head_len. */
static int read_head(int fd, char *buf, size_t cap, size_t *have, size_t *head_len)
{
	*have = 0;
	for (;;) {
		buf[*have] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end != NULL) {
			*head_len = (size_t)(end - buf) + 4;
			return 0;
		}
		if (*have + 1 >= cap)
			return -1;
		ssize_t n = recv(fd, buf + *have, cap - 1 - *have, 0);
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
}

/* The head with every Connection header replaced by "Connection: close". */
static size_t rewrite_head(const char *head, size_t len, char *out, long long *content_length)
{
	size_t o = 0;
	const char *p = head, *end = head + len - 2; /* before the final CRLF */
	*content_length = 0;
	while (p < end) {
		const char *eol = strstr(p, "\r\n");
		size_t l = (size_t)(eol - p) + 2;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			*content_length = strtoll(p + 15, NULL, 10);
		if (strncasecmp(p, "Connection:", 11) != 0) {
			memcpy(out + o, p, l);
			o += l;
		}
		p = eol + 2;
	}
	memcpy(out + o, "Connection: close\r\n\r\n", 21);
	return o + 21;
}

static void serve(int cfd)
{
	static char buf[HEAD_MAX], out[HEAD_MAX + 64];
	size_t have, head_len;
	/* Not HTTP (a TLS ClientHello): hang up at once, as a plain HTTP
	 * registry would, instead of waiting for a request head. */
	char first;
	if (recv(cfd, &first, 1, MSG_PEEK) != 1 || first < 'A' || first > 'Z')
		return;
	if (read_head(cfd, buf, sizeof(buf), &have, &head_len) < 0)
		return;
	char method[16] = "", path[4096] = "";
	sscanf(buf, "%15s %4095s", method, path);
	long long clen;
	size_t olen = rewrite_head(buf, head_len, out, &clen);
	int ufd = connect_upstream();
	if (ufd < 0 || send_all(ufd, out, olen) < 0)
		return;
	struct rule *r = claim(method, path);
	/* request body */
	long long sent = 0;
	size_t extra = have - head_len;
	char *chunk = buf + head_len;
	static char io[1 << 16];
	for (;;) {
		if (extra > 0) {
			size_t n = extra;
			if (r != NULL && r->action == CUT_REQ && sent + (long long)n > r->n)
				n = (size_t)(r->n - sent);
			if (send_all(ufd, chunk, n) < 0)
				return;
			sent += (long long)n;
			if (r != NULL && r->action == CUT_REQ && sent >= r->n)
				return; /* both sockets close on exit */
		}
		if (sent >= clen)
			break;
		ssize_t n = recv(cfd, io, sizeof(io), 0);
		if (n <= 0)
			return;
		chunk = io;
		extra = (size_t)n;
	}
	/* response: head, then body until the registry closes */
	long long body = -1; /* bytes of body passed, -1 while in the head */
	size_t hbuf = 0;
	static char head[HEAD_MAX];
	for (;;) {
		ssize_t n = recv(ufd, io, sizeof(io), 0);
		if (n <= 0)
			return;
		if (r != NULL && r->action == NO_RESP)
			return; /* the registry answered; the client hears nothing */
		char *p = io;
		size_t len = (size_t)n;
		if (body < 0) {
			size_t take = len < sizeof(head) - 1 - hbuf ? len : sizeof(head) - 1 - hbuf;
			memcpy(head + hbuf, p, take);
			hbuf += take;
			head[hbuf] = '\0';
			char *e = strstr(head, "\r\n\r\n");
			if (e == NULL) {
				if (send_all(cfd, p, len) < 0)
					return;
				continue;
			}
			size_t head_in_chunk = (size_t)(e + 4 - head) - (hbuf - take);
			if (send_all(cfd, p, head_in_chunk) < 0)
				return;
			p += head_in_chunk;
			len -= head_in_chunk;
			body = 0;
		}
		if (r != NULL && r->action == FLIP && r->n >= body && r->n < body + (long long)len)
			p[r->n - body] ^= 0x5a;
		if (r != NULL && r->action == CUT_RESP && body + (long long)len > r->n) {
			send_all(cfd, p, (size_t)(r->n - body));
			return;
		}
		if (send_all(cfd, p, len) < 0)
			return;
		body += (long long)len;
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: client-proxy PORTFILE UPSTREAM_PORT [METHOD:PATH:ACTION:N...]\n");
		return 2;
	}
	upstream_port = (int)strtol(argv[2], NULL, 10);
	rules = mmap(NULL, sizeof(struct rule) * MAX_RULES, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rules == MAP_FAILED)
		return 1;
	for (int i = 3; i < argc && n_rules < MAX_RULES; i++) {
		if (parse_rule(&rules[n_rules], argv[i]) < 0) {
			fprintf(stderr, "client-proxy: bad rule '%s'\n", argv[i]);
			return 2;
		}
		n_rules++;
	}
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
		perror("client-proxy");
		return 1;
	}
	FILE *f = fopen(argv[1], "w");
	if (f == NULL)
		return 1;
	fprintf(f, "%d\n", ntohs(a.sin_port));
	fclose(f);
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	for (;;) {
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			serve(cfd);
			_exit(0);
		}
		close(cfd);
	}
}
