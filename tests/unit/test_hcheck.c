/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The checker against real sockets on loopback: a listener, a closed port, an HTTP server
 * in a thread answering a chosen status, a listener that never answers. Short intervals
 * so that each case takes well under a second; every wait is bounded.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hccfg.h"
#include "hcheck.h"

struct events {
	pthread_mutex_t lock;
	int n, ups, downs;
	bool last_up;
	char last_why[128];
};

static void on_change(void *owner, bool up, const char *why)
{
	struct events *e = owner;

	pthread_mutex_lock(&e->lock);
	e->n++;
	if (up)
		e->ups++;
	else
		e->downs++;
	e->last_up = up;
	snprintf(e->last_why, sizeof(e->last_why), "%s", why);
	pthread_mutex_unlock(&e->lock);
}

static int events_n(struct events *e)
{
	int n;

	pthread_mutex_lock(&e->lock);
	n = e->n;
	pthread_mutex_unlock(&e->lock);
	return n;
}

/* Wait at most ms for the n-th event. */
static bool wait_events(struct events *e, int n, int ms)
{
	for (; ms > 0; ms -= 10) {
		if (events_n(e) >= n)
			return true;
		usleep(10000);
	}
	return events_n(e) >= n;
}

static int listener(int family, struct sockaddr_storage *ss, bool do_listen)
{
	socklen_t len = sizeof(*ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET)
		((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)ss, family == AF_INET ? sizeof(struct sockaddr_in) :
		 sizeof(struct sockaddr_in6)) < 0) {
		close(fd);
		return -1;
	}
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)ss, &len), 0);
	if (do_listen)
		ck_assert_int_eq(listen(fd, 16), 0);
	return fd;
}

/* Listen again on the address of a listener closed before (its port). */
static int listen_on(const struct sockaddr_storage *a)
{
	int fd = socket(a->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(fd, (const struct sockaddr *)a, a->ss_family == AF_INET ?
			      sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	return fd;
}

static void cfg_for(struct gwlb_hc_cfg *c, enum gwlb_hc_type type,
		    const struct sockaddr_storage *ss)
{
	gwlb_hccfg_init(c);
	c->type = type;
	c->addr = *ss;
	c->interval_ms = 100;
	c->timeout_ms = 80;
	c->rise = 2;
	c->fall = 2;
}

static void start(void)
{
	char err[128];

	ck_assert_msg(gwlb_hc_start(err, sizeof(err)) == 0, "%s", err);
}

/* A one-thread HTTP server: answers each connection with its status, keeps the request. */
struct http_srv {
	int fd, status;
	pthread_t thread;
	pthread_mutex_t lock;
	char req[512];
	int served;
};

static void *http_main(void *arg)
{
	struct http_srv *s = arg;
	char buf[512], resp[64];
	ssize_t n;
	int c;

	while ((c = accept(s->fd, NULL, NULL)) >= 0) {
		n = recv(c, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		pthread_mutex_lock(&s->lock);
		snprintf(s->req, sizeof(s->req), "%s", buf);
		s->served++;
		snprintf(resp, sizeof(resp), "HTTP/1.0 %d Whatever\r\n\r\n", s->status);
		pthread_mutex_unlock(&s->lock);
		if (send(c, resp, strlen(resp), MSG_NOSIGNAL) < 0) {
			/* the checker may have given up already */
		}
		close(c);
	}
	return NULL;
}

static void http_start(struct http_srv *s, int family, int status,
		       struct sockaddr_storage *ss)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->status = status;
	s->fd = listener(family, ss, true);
	ck_assert_int_ge(s->fd, 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, http_main, s), 0);
}

static void http_stop(struct http_srv *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

START_TEST(test_tcp_up_and_refused)
{
	struct events up = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct events closed = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct sockaddr_storage a, b;
	struct gwlb_hc_status st;
	struct gwlb_hc_cfg c;
	uint64_t id_up, id_closed;
	int lfd, cfd;

	lfd = listener(AF_INET, &a, true);
	cfd = listener(AF_INET, &b, false);
	close(cfd);	/* its port: nobody listens */
	start();
	cfg_for(&c, GWLB_HC_TCP, &a);
	ck_assert_int_eq(gwlb_hc_add(&c, on_change, &up, &id_up), 0);
	cfg_for(&c, GWLB_HC_TCP, &b);
	ck_assert_int_eq(gwlb_hc_add(&c, on_change, &closed, &id_closed), 0);
	ck_assert(wait_events(&closed, 1, 1000));
	ck_assert(!closed.last_up);
	ck_assert_str_eq(closed.last_why, "connection refused, 2 in a row");
	ck_assert_int_eq(gwlb_hc_status(id_closed, &st), 0);
	ck_assert(!st.up);
	ck_assert_uint_eq(st.failures, st.checks);
	ck_assert_str_eq(st.last_error, "connection refused");
	ck_assert_int_eq(st.last_rtt_us, -1);
	ck_assert_int_eq(gwlb_hc_status(id_up, &st), 0);
	ck_assert(st.up);
	ck_assert_uint_ge(st.checks, 2);
	ck_assert_uint_eq(st.failures, 0);
	ck_assert_int_ge(st.last_rtt_us, 0);
	ck_assert_int_eq(events_n(&up), 0);
	gwlb_hc_stop();
	close(lfd);
}
END_TEST

START_TEST(test_http_request_and_status)
{
	struct events ok = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct events bad = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct http_srv s200, s500;
	struct sockaddr_storage a, b;
	struct gwlb_hc_status st;
	struct gwlb_hc_cfg c;
	uint64_t id_ok, id_bad;
	char want[128];

	http_start(&s200, AF_INET, 200, &a);
	http_start(&s500, AF_INET, 500, &b);
	start();
	cfg_for(&c, GWLB_HC_HTTP, &a);
	strcpy(c.path, "/healthz");
	ck_assert_int_eq(gwlb_hc_add(&c, on_change, &ok, &id_ok), 0);
	cfg_for(&c, GWLB_HC_HTTP, &b);
	strcpy(c.host, "backend.example");
	ck_assert_int_eq(gwlb_hc_add(&c, on_change, &bad, &id_bad), 0);
	ck_assert(wait_events(&bad, 1, 1000));
	ck_assert_str_eq(bad.last_why, "HTTP status 500, expected 200, 2 in a row");
	ck_assert_int_eq(gwlb_hc_status(id_ok, &st), 0);
	ck_assert(st.up);
	ck_assert_uint_ge(st.checks, 1);
	ck_assert_uint_eq(st.failures, 0);
	gwlb_hc_stop();
	/* What went on the wire: the path, HTTP/1.0, the Host the config gave or the address. */
	snprintf(want, sizeof(want), "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n",
		 ntohs(((struct sockaddr_in *)&a)->sin_port));
	ck_assert_msg(!strncmp(s200.req, want, strlen(want)), "request: %s", s200.req);
	ck_assert_msg(strstr(s200.req, "\r\n\r\n"), "request not ended: %s", s200.req);
	ck_assert_msg(!strncmp(s500.req, "GET / HTTP/1.0\r\nHost: backend.example\r\n", 39),
		      "request: %s", s500.req);
	http_stop(&s200);
	http_stop(&s500);
}
END_TEST

START_TEST(test_timeout_ipv6)
{
	struct events e = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct sockaddr_storage a;
	struct gwlb_hc_status st;
	struct gwlb_hc_cfg c;
	uint64_t id;
	int fd;

	/* Accepted by the kernel, never answered: the check must end by its timeout. */
	fd = listener(AF_INET6, &a, true);
	if (fd < 0) {
		fd = listener(AF_INET, &a, true);
		fprintf(stderr, "no ::1 here: the timeout case on 127.0.0.1\n");
	}
	start();
	cfg_for(&c, GWLB_HC_HTTP, &a);
	ck_assert_int_eq(gwlb_hc_add(&c, on_change, &e, &id), 0);
	ck_assert(wait_events(&e, 1, 1000));
	ck_assert_str_eq(e.last_why, "timeout (80 ms) waiting for the status line, 2 in a row");
	ck_assert_int_eq(gwlb_hc_status(id, &st), 0);
	ck_assert_uint_eq(st.transitions, 1);
	gwlb_hc_stop();
	close(fd);
}
END_TEST

START_TEST(test_down_up_counts)
{
	struct events e = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct sockaddr_storage a;
	struct gwlb_hc_status st;
	struct gwlb_hc_cfg c;
	uint64_t id;
	int fd;

	fd = listener(AF_INET, &a, true);
	start();
	cfg_for(&c, GWLB_HC_TCP, &a);
	ck_assert_int_eq(gwlb_hc_add(&c, on_change, &e, &id), 0);
	usleep(250000);
	ck_assert_int_eq(events_n(&e), 0);
	close(fd);
	ck_assert(wait_events(&e, 1, 1000));
	ck_assert(!e.last_up);
	fd = listen_on(&a);
	ck_assert(wait_events(&e, 2, 1000));
	ck_assert(e.last_up);
	ck_assert_str_eq(e.last_why, "connected, 2 in a row");
	ck_assert_int_eq(gwlb_hc_status(id, &st), 0);
	ck_assert_uint_eq(st.transitions, 2);
	ck_assert_uint_eq(st.ok_run >= 2 && st.fail_run == 0, 1);
	gwlb_hc_stop();
	close(fd);
}
END_TEST

START_TEST(test_remove_stops_callbacks)
{
	struct events e = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct sockaddr_storage a;
	struct gwlb_hc_status st;
	struct gwlb_hc_cfg c;
	uint64_t id;
	int fd;

	fd = listener(AF_INET, &a, false);
	close(fd);
	start();
	cfg_for(&c, GWLB_HC_TCP, &a);
	c.rise = c.fall = 1;
	c.start_down = true;
	ck_assert_int_eq(gwlb_hc_add(&c, on_change, &e, &id), 0);
	/* Down from the start and failing: no event; then a listener brings it up. */
	usleep(250000);
	ck_assert_int_eq(events_n(&e), 0);
	fd = listen_on(&a);
	ck_assert(wait_events(&e, 1, 1000));
	ck_assert_int_eq(gwlb_hc_remove(id), 0);
	close(fd);
	/* fall = 1 at 100 ms: ten intervals in which it would have gone down. */
	usleep(1000000);
	ck_assert_int_eq(events_n(&e), 1);
	ck_assert_int_eq(gwlb_hc_status(id, &st), -ENOENT);
	ck_assert_int_eq(gwlb_hc_remove(id), -ENOENT);
	gwlb_hc_stop();
}
END_TEST

START_TEST(test_add_refused)
{
	struct sockaddr_storage a = { .ss_family = AF_INET };
	struct gwlb_hc_cfg c;
	uint64_t id = 0;

	cfg_for(&c, GWLB_HC_TCP, &a);
	ck_assert_int_eq(gwlb_hc_add(&c, NULL, NULL, &id), -EINVAL);	/* port 0 */
	((struct sockaddr_in *)&a)->sin_port = htons(80);
	cfg_for(&c, GWLB_HC_NONE, &a);
	ck_assert_int_eq(gwlb_hc_add(&c, NULL, NULL, &id), -EINVAL);
	cfg_for(&c, GWLB_HC_TCP, &a);
	c.timeout_ms = 200;	/* > interval */
	ck_assert_int_eq(gwlb_hc_add(&c, NULL, NULL, &id), -EINVAL);
	cfg_for(&c, GWLB_HC_HTTP, &a);
	strcpy(c.path, "/x HTTP/1.1\r\nEvil: 1");
	ck_assert_int_eq(gwlb_hc_add(&c, NULL, NULL, &id), -EINVAL);
	a.ss_family = AF_UNIX;
	cfg_for(&c, GWLB_HC_TCP, &a);
	ck_assert_int_eq(gwlb_hc_add(&c, NULL, NULL, &id), -EINVAL);
	ck_assert_uint_eq(id, 0);
}
END_TEST

static Suite *hcheck_suite(void)
{
	Suite *s = suite_create("hcheck");
	TCase *tc = tcase_create("loopback");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_tcp_up_and_refused);
	tcase_add_test(tc, test_http_request_and_status);
	tcase_add_test(tc, test_timeout_ipv6);
	tcase_add_test(tc, test_down_up_counts);
	tcase_add_test(tc, test_remove_stops_callbacks);
	tcase_add_test(tc, test_add_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hcheck_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
