/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * connrate: new TCP connections per second, for the balancer benchmarks.
 *
 *   connrate -l PORT                      accept and close, forever (the backend)
 *   connrate [-c CONC] [-n N] ADDR PORT   N connections, CONC at once; prints the rate
 *
 * A client connection is a full handshake and then an abortive close (SO_LINGER 0: RST), so
 * the client piles up no TIME_WAIT and its local ports last a long run; what is measured is
 * what a balancer pays per new flow (conntrack entry, DNAT choice, the tunnel both ways).
 * Each connection has a 2 s deadline; the ones that miss it count as failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONN_DEADLINE_NS	2000000000ULL
#define CONC_MAX		1024

struct conn {
	int fd;
	uint64_t started;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void close_rst(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static int parse_addr(const char *host, const char *port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char *end;
	long p = strtol(port, &end, 10);

	if (*end || p < 1 || p > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

static int serve(const char *port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	int fd, one = 1, zero = 0;
	long p = strtol(port, NULL, 10);

	if (p < 1 || p > 65535) {
		fprintf(stderr, "connrate: bad port %s\n", port);
		return 2;
	}
	a.sin6_port = htons((uint16_t)p);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
		fprintf(stderr, "connrate: listen on [::]:%ld: %s\n", p, strerror(errno));
		return 1;
	}
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "connrate: accept: %s\n", strerror(errno));
			return 1;
		}
		close(c);
	}
}

static int conn_open(struct conn *c, const struct sockaddr_storage *ss, socklen_t len, int ep)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)ss, len) < 0 && errno != EINPROGRESS) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	c->fd = fd;
	c->started = now_ns();
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: connrate -l PORT\n"
		   "       connrate [-c CONCURRENCY] [-n CONNECTIONS] ADDR PORT\n"
		   "New TCP connections per second (handshake, then RST). Defaults: -c 32 -n 10000.\n");
}

int main(int argc, char **argv)
{
	static struct conn conns[CONC_MAX];
	struct epoll_event evs[64];
	struct sockaddr_storage ss;
	socklen_t slen;
	unsigned long n = 10000, conc = 32, opened = 0, done = 0, failed = 0;
	uint64_t t0, t1;
	int opt, ep;

	while ((opt = getopt(argc, argv, "l:c:n:h")) != -1) {
		switch (opt) {
		case 'l':
			return serve(optarg);
		case 'c':
			conc = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2 || !conc || conc > CONC_MAX || !n) {
		usage(stderr);
		return 2;
	}
	if (parse_addr(argv[optind], argv[optind + 1], &ss, &slen) < 0) {
		fprintf(stderr, "connrate: bad address %s port %s\n", argv[optind], argv[optind + 1]);
		return 2;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return 1;
	for (unsigned long i = 0; i < conc; i++)
		conns[i].fd = -1;
	t0 = now_ns();
	while (done < n) {
		uint64_t now = now_ns();
		int k;

		/* keep conc in flight; expire the ones past their deadline */
		for (unsigned long i = 0; i < conc; i++) {
			struct conn *c = &conns[i];

			if (c->fd >= 0 && now - c->started > CONN_DEADLINE_NS) {
				close_rst(c->fd);
				c->fd = -1;
				done++;
				failed++;
			}
			if (c->fd < 0 && opened < n) {
				opened++;
				if (conn_open(c, &ss, slen, ep) < 0) {
					done++;
					failed++;
					continue;
				}
			}
		}
		k = epoll_wait(ep, evs, 64, 10);
		for (int i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;
			int err = 0;
			socklen_t el = sizeof(err);

			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
			/* ECONNRESET: the handshake was done and the backend closed first */
			if (err && err != ECONNRESET && failed++ < 3)
				fprintf(stderr, "connrate: connect: %s\n", strerror(err));
			close_rst(c->fd);
			c->fd = -1;
			done++;
		}
	}
	t1 = now_ns();
	printf("connections %lu, failed %lu, %.3f s, %.0f connections/s\n", n, failed,
	       (double)(t1 - t0) / 1e9, (double)(n - failed) / ((double)(t1 - t0) / 1e9));
	return failed == n;
}
