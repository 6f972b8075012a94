/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "tls.h"
#include "fixtures_tls.h"

#define SENTINEL "untouched"

/* On an exact-size heap copy, so that valgrind and ASan see any read past len. */
static int host_of(const void *buf, size_t len, char *host, size_t host_len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int res;

	ck_assert_ptr_nonnull(copy);
	if (len)
		memcpy(copy, buf, len);
	res = gwlb_http_host(copy, len, host, host_len);
	free(copy);
	return res;
}

struct req_case {
	const char *req;
	int res;
	const char *host;	/* on GWLB_HTTP_HOST */
};

static void check_cases(const struct req_case *c, size_t n)
{
	char host[GWLB_NAME_SIZE];
	size_t i;
	int res;

	for (i = 0; i < n; i++) {
		strcpy(host, SENTINEL);
		res = host_of(c[i].req, strlen(c[i].req), host, sizeof(host));
		ck_assert_msg(res == c[i].res, "\"%s\": %s, expected %s", c[i].req,
			      gwlb_http_strerror(res), gwlb_http_strerror(c[i].res));
		ck_assert_str_eq(host, c[i].res == GWLB_HTTP_HOST ? c[i].host : SENTINEL);
	}
}

/* Every proper prefix of a complete head is NEED_MORE. */
static void check_prefixes(const void *buf, size_t len)
{
	char host[GWLB_NAME_SIZE];
	size_t k;
	int res;

	for (k = 0; k < len; k++) {
		strcpy(host, SENTINEL);
		res = host_of(buf, k, host, sizeof(host));
		ck_assert_msg(res == GWLB_HTTP_NEED_MORE, "prefix %zu of %zu: %s", k, len,
			      gwlb_http_strerror(res));
		ck_assert_str_eq(host, SENTINEL);
	}
}

START_TEST(test_curl)
{
	char host[GWLB_NAME_SIZE];

	ck_assert_int_eq(host_of(fx_http_curl, sizeof(fx_http_curl), host, sizeof(host)),
			 GWLB_HTTP_HOST);
	ck_assert_str_eq(host, "www.example.com");
	check_prefixes(fx_http_curl, sizeof(fx_http_curl));
}
END_TEST

/* A request head split over TCP segments, and a body behind it. */
START_TEST(test_segments_and_body)
{
	static const char req[] =
		"POST /upload HTTP/1.1\r\nHost: upload.example\r\nContent-Length: 5\r\n\r\nhello";
	size_t head = strlen(req) - 5, k;
	char host[GWLB_NAME_SIZE];

	for (k = head; k <= strlen(req); k++) {
		ck_assert_int_eq(host_of(req, k, host, sizeof(host)), GWLB_HTTP_HOST);
		ck_assert_str_eq(host, "upload.example");
	}
	check_prefixes(req, head);
}
END_TEST

START_TEST(test_hosts)
{
	static const struct req_case cases[] = {
		{ "GET / HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\n\r\n", GWLB_HTTP_HOST,
		  "www.example.com" },
		{ "GET / HTTP/1.1\r\nhost: a.example\r\n\r\n", GWLB_HTTP_HOST, "a.example" },
		{ "GET / HTTP/1.1\r\nHOST: a.example\r\n\r\n", GWLB_HTTP_HOST, "a.example" },
		{ "GET / HTTP/1.1\r\nHost:a.example\r\n\r\n", GWLB_HTTP_HOST, "a.example" },
		{ "GET / HTTP/1.1\r\nHost: \t a.example \t \r\n\r\n", GWLB_HTTP_HOST, "a.example" },
		{ "GET / HTTP/1.1\r\nHost: a.example.\r\n\r\n", GWLB_HTTP_HOST, "a.example" },
		{ "GET / HTTP/1.1\r\nHost: a.example:\r\n\r\n", GWLB_HTTP_HOST, "a.example" },
		{ "GET / HTTP/1.1\r\nHost: a.example:65535\r\n\r\n", GWLB_HTTP_HOST, "a.example" },
		{ "GET / HTTP/1.1\r\nHost: 192.0.2.1:80\r\n\r\n", GWLB_HTTP_HOST, "192.0.2.1" },
		{ "GET / HTTP/1.1\r\nHost: [2001:DB8::1]:8080\r\n\r\n", GWLB_HTTP_HOST,
		  "2001:db8::1" },
		{ "GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n", GWLB_HTTP_HOST, "::1" },
		{ "GET / HTTP/1.1\r\nHost: [::ffff:192.0.2.1]:443\r\n\r\n", GWLB_HTTP_HOST,
		  "::ffff:192.0.2.1" },
		/* Host anywhere among the fields, with odd but valid field names around */
		{ "HEAD /x?y=1 HTTP/1.0\r\nUser-Agent: t\r\nX-A_b!: 1\r\nHost: b.example\r\n"
		  "Accept: */*\r\n\r\n", GWLB_HTTP_HOST, "b.example" },
		/* a field value may hold any visible byte, obs-text too */
		{ "GET / HTTP/1.1\r\nX-Y: \x80\xff\x7f\r\nHost: c.example\r\n\r\n", GWLB_HTTP_HOST,
		  "c.example" },
		/* the same Host twice is tolerated */
		{ "GET / HTTP/1.1\r\nHost: d.example\r\nHost: D.example:80\r\n\r\n", GWLB_HTTP_HOST,
		  "d.example" },
		{ "OPTIONS * HTTP/1.1\r\nHost: e.example\r\n\r\n", GWLB_HTTP_HOST, "e.example" },
		{ "PUT /a HTTP/1.1\r\nHost: e.example\r\n\r\n", GWLB_HTTP_HOST, "e.example" },
		{ "DELETE /a HTTP/1.1\r\nHost: e.example\r\n\r\n", GWLB_HTTP_HOST, "e.example" },
		{ "PATCH /a HTTP/1.1\r\nHost: e.example\r\n\r\n", GWLB_HTTP_HOST, "e.example" },
		{ "TRACE /a HTTP/1.1\r\nHost: e.example\r\n\r\n", GWLB_HTTP_HOST, "e.example" },
		/* absolute-form: the target's authority, which Host must agree with */
		{ "GET http://f.example/x HTTP/1.1\r\nHost: f.example\r\n\r\n", GWLB_HTTP_HOST,
		  "f.example" },
		{ "GET HTTP://F.example:8080?q HTTP/1.1\r\n\r\n", GWLB_HTTP_HOST, "f.example" },
		{ "GET https://[2001:db8::2]/ HTTP/1.1\r\nHost: [2001:db8::2]\r\n\r\n",
		  GWLB_HTTP_HOST, "2001:db8::2" },
		{ "CONNECT g.example:443 HTTP/1.1\r\nHost: g.example:443\r\n\r\n", GWLB_HTTP_HOST,
		  "g.example" },
		{ "CONNECT g.example:443 HTTP/1.1\r\n\r\n", GWLB_HTTP_HOST, "g.example" },
		/* no host at all */
		{ "GET / HTTP/1.0\r\n\r\n", GWLB_HTTP_NO_HOST, NULL },
		{ "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", GWLB_HTTP_NO_HOST, NULL },
		{ "GET / HTTP/1.1\r\nHost:\r\n\r\n", GWLB_HTTP_NO_HOST, NULL },
		{ "GET / HTTP/1.1\r\nHost:   \r\n\r\n", GWLB_HTTP_NO_HOST, NULL },
		{ "GET urn:x HTTP/1.1\r\n\r\n", GWLB_HTTP_NO_HOST, NULL },
		{ "GET / HTTP/1.1\r\nX-Host: h.example\r\nHosts: h.example\r\n\r\n",
		  GWLB_HTTP_NO_HOST, NULL },
	};

	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

START_TEST(test_need_more)
{
	static const char *const reqs[] = {
		"", "G", "GE", "GET", "P", "PU", "PAT", "CONNEC", "OPTIONS", "GET ",
		"GET / HTTP/1.1", "GET / HTTP/1.1\r", "GET / HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\nHost: a.example\r\n", "GET / HTTP/1.1\r\nHost: a.example\r\n\r",
		/* a bad line is only judged once it is complete */
		"GET / HTTP/1.1\r\nHost: a b",
	};
	char host[GWLB_NAME_SIZE] = SENTINEL;
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		ck_assert_msg(host_of(reqs[i], strlen(reqs[i]), host, sizeof(host)) ==
			      GWLB_HTTP_NEED_MORE, "\"%s\"", reqs[i]);
	ck_assert_str_eq(host, SENTINEL);
}
END_TEST

START_TEST(test_not_http)
{
	static const char *const reqs[] = {
		"get / HTTP/1.1\r\n\r\n", "GETX / HTTP/1.1\r\n\r\n", "GET\t/ HTTP/1.1\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "SSH-2.0-OpenSSH_9.2p1\r\n", "X", "POSTT",
		"\r\nGET / HTTP/1.1\r\nHost: a.example\r\n\r\n", " GET / HTTP/1.1\r\n\r\n",
	};
	char host[GWLB_NAME_SIZE];
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		ck_assert_msg(host_of(reqs[i], strlen(reqs[i]), host, sizeof(host)) ==
			      GWLB_HTTP_NOT_HTTP, "\"%s\"", reqs[i]);
	ck_assert_int_eq(host_of(fx_tls13_openssl, sizeof(fx_tls13_openssl), host, sizeof(host)),
			 GWLB_HTTP_NOT_HTTP);
	ck_assert_int_eq(host_of(fx_tls13_openssl, 1, host, sizeof(host)), GWLB_HTTP_NOT_HTTP);
}
END_TEST

START_TEST(test_malformed)
{
	static const struct req_case cases[] = {
		/* two different hosts */
		{ "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
		  GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a.example\r\nHost:\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a.example\r\nhost: a.example.net\r\n\r\n",
		  GWLB_HTTP_MALFORMED, NULL },
		{ "GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n", GWLB_HTTP_MALFORMED,
		  NULL },
		{ "CONNECT a.example:443 HTTP/1.1\r\nHost: b.example:443\r\n\r\n",
		  GWLB_HTTP_MALFORMED, NULL },
		{ "GET http://user@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n",
		  GWLB_HTTP_MALFORMED, NULL },
		{ "GET http:///x HTTP/1.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		/* hosts that are no hostname */
		{ "GET / HTTP/1.1\r\nHost: a b.example\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a_b.example\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a..example\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a.example:http\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a.example:123456\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a.example:65536\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a.example:80:80\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: 2001:db8::1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: [2001:db8::1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: [2001:db8::g]\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: [a.example]\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: [192.0.2.1]\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: [a:b]\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: []\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n", GWLB_HTTP_MALFORMED,
		  NULL },
		/* line and field syntax */
		{ "GET / HTTP/1.1\nHost: a.example\n\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a.example\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a.ex\rample\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost : a.example\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nX-A: 1\r\n b.example\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nHost: a.example\r\n\tb.example\r\n\r\n", GWLB_HTTP_MALFORMED,
		  NULL },
		{ "GET / HTTP/1.1\r\n: a.example\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nno colon\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nX-A: \x01\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1\r\nX\r: a\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		/* request line */
		{ "GET  / HTTP/1.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.1 \r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET /\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.10\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / http/1.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/x.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1.x\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET / HTTP/1\r.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET /\r HTTP/1.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET /\t HTTP/1.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET /\x7f HTTP/1.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET a.example/ HTTP/1.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET example HTTP/1.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "GET 1http://a.example/ HTTP/1.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
		{ "CONNECT / HTTP/1.1\r\n\r\n", GWLB_HTTP_MALFORMED, NULL },
	};

	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

/* A NUL ends nothing: "Host: a.example\0.evil" is not a.example. */
START_TEST(test_nul)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a.example\0.evil\r\n\r\n";
	static const char req2[] = "GET / HTTP/1.1\r\nX-A: \0\r\nHost: a.example\r\n\r\n";
	static const char req3[] = "GET /\0 HTTP/1.1\r\nHost: a.example\r\n\r\n";
	char host[GWLB_NAME_SIZE] = SENTINEL;

	ck_assert_int_eq(host_of(req, sizeof(req) - 1, host, sizeof(host)), GWLB_HTTP_MALFORMED);
	ck_assert_int_eq(host_of(req2, sizeof(req2) - 1, host, sizeof(host)), GWLB_HTTP_MALFORMED);
	ck_assert_int_eq(host_of(req3, sizeof(req3) - 1, host, sizeof(host)), GWLB_HTTP_MALFORMED);
	ck_assert_str_eq(host, SENTINEL);
}
END_TEST

/* The head, final empty line included, may be GWLB_HTTP_HEAD_MAX bytes and no more. */
START_TEST(test_head_max)
{
	static const char start[] = "GET / HTTP/1.1\r\nHost: big.example\r\nX-Pad: ";
	size_t n = GWLB_HTTP_HEAD_MAX, pad = n - strlen(start) - 4;
	char *req = malloc(n + 2), host[GWLB_NAME_SIZE];

	ck_assert_ptr_nonnull(req);
	memcpy(req, start, strlen(start));
	memset(req + strlen(start), 'x', pad + 1);
	memcpy(req + strlen(start) + pad, "\r\n\r\n", 4);
	ck_assert_int_eq(host_of(req, n, host, sizeof(host)), GWLB_HTTP_HOST);
	ck_assert_str_eq(host, "big.example");
	/* one byte more of padding */
	memcpy(req + strlen(start) + pad, "x\r\n\r\n", 5);
	ck_assert_int_eq(host_of(req, n + 1, host, sizeof(host)), GWLB_HTTP_MALFORMED);
	/* which is known as soon as the limit is reached without an end */
	ck_assert_int_eq(host_of(req, n, host, sizeof(host)), GWLB_HTTP_MALFORMED);
	ck_assert_int_eq(host_of(req, n - 1, host, sizeof(host)), GWLB_HTTP_NEED_MORE);
	free(req);

	/* a stream of header lines that never ends */
	req = malloc(3 * n);
	ck_assert_ptr_nonnull(req);
	strcpy(req, "GET / HTTP/1.1\r\n");
	while (strlen(req) < 3 * n - 16)
		strcat(req, "X-A: b\r\n");
	ck_assert_int_eq(host_of(req, strlen(req), host, sizeof(host)), GWLB_HTTP_MALFORMED);
	free(req);
}
END_TEST

START_TEST(test_host_buffer)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
	char host[GWLB_NAME_SIZE] = SENTINEL;

	ck_assert_int_eq(host_of(req, strlen(req), host, 9), GWLB_HTTP_MALFORMED);
	ck_assert_str_eq(host, SENTINEL);
	ck_assert_int_eq(host_of(req, strlen(req), host, 10), GWLB_HTTP_HOST);
	ck_assert_str_eq(host, "a.example");
}
END_TEST

/* Every prefix of every case, good or bad, is answered without reading past it. */
START_TEST(test_prefixes_of_all)
{
	static const char *const reqs[] = {
		"GET http://[::1]:8080/x HTTP/1.1\r\nHost: [::1]:8080\r\nA: b\r\n\r\n",
		"CONNECT g.example:443 HTTP/1.1\r\nHost: g.example:443\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
		"GET / HTTP/1.1\nHost: a.example\n\n",
	};
	char host[GWLB_NAME_SIZE];
	size_t i, k;
	int res, last;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		last = host_of(reqs[i], strlen(reqs[i]), host, sizeof(host));
		for (k = 0; k < strlen(reqs[i]); k++) {
			res = host_of(reqs[i], k, host, sizeof(host));
			ck_assert(res == GWLB_HTTP_NEED_MORE || res == last);
		}
	}
}
END_TEST

START_TEST(test_strerror)
{
	int i, j;

	ck_assert_str_eq(gwlb_http_strerror(GWLB_HTTP_HOST), "host");
	ck_assert_str_eq(gwlb_http_strerror(GWLB_HTTP_NOT_HTTP), "not-http");
	ck_assert_str_eq(gwlb_http_strerror(-1), "unknown");
	ck_assert_str_eq(gwlb_http_strerror(GWLB_HTTP__MAX), "unknown");
	for (i = 0; i < GWLB_HTTP__MAX; i++)
		for (j = i + 1; j < GWLB_HTTP__MAX; j++)
			ck_assert_str_ne(gwlb_http_strerror(i), gwlb_http_strerror(j));
}
END_TEST

struct status_case {
	const char *in;
	int ret;
	int status;	/* on 0 */
};

/* What a health check reads back: the status line of a response, from its first byte. */
START_TEST(test_status_line)
{
	static const struct status_case cases[] = {
		{ "HTTP/1.0 200 OK\r\n", 0, 200 },
		{ "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 0, 503 },
		{ "HTTP/1.1 204\r\n", 0, 204 },
		{ "HTTP/1.0 500 oops\n", 0, 500 },
		{ "HTTP/1.1 200 \tOK\r\n", 0, 200 },
		{ "HTTP/1.1 599 x\r\n", 0, 599 },
		{ "HTTP/1.1 100 Continue\r\n", 0, 100 },
		{ "", -EAGAIN, 0 },
		{ "HTT", -EAGAIN, 0 },
		{ "HTTP/1.1 20", -EAGAIN, 0 },
		{ "HTTP/1.1 200", -EAGAIN, 0 },
		{ "HTTP/1.1 200 OK", -EAGAIN, 0 },
		{ "HTTP/1.1 200 OK\r", -EAGAIN, 0 },
		{ "http/1.1 200 OK\r\n", -EBADMSG, 0 },
		{ "HTTP/11 200 OK\r\n", -EBADMSG, 0 },
		{ "HTTP/1.1 2000 OK\r\n", -EBADMSG, 0 },
		{ "HTTP/1.1 20x OK\r\n", -EBADMSG, 0 },
		{ "HTTP/1.1 099 OK\r\n", -EBADMSG, 0 },
		{ "HTTP/1.1 600 OK\r\n", -EBADMSG, 0 },
		{ "HTTP/1.1 200 O\rK\r\n", -EBADMSG, 0 },
		{ "HTTP/1.1 200 O\x01K\r\n", -EBADMSG, 0 },
		{ "SSH-2.0-OpenSSH_9.6\r\n", -EBADMSG, 0 },
		{ "<html>", -EBADMSG, 0 },
	};
	size_t i;
	int ret, status;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		uint8_t *copy = malloc(len + 1);

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, cases[i].in, len);
		status = -1;
		ret = gwlb_http_status(copy, len, &status);
		free(copy);
		ck_assert_msg(ret == cases[i].ret, "'%s': %d, expected %d", cases[i].in, ret,
			      cases[i].ret);
		ck_assert_int_eq(status, ret ? -1 : cases[i].status);
	}
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = tcase_create("host");
	tcase_add_test(tc, test_curl);
	tcase_add_test(tc, test_segments_and_body);
	tcase_add_test(tc, test_hosts);
	tcase_add_test(tc, test_need_more);
	tcase_add_test(tc, test_host_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_test(tc, test_status_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_not_http);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_head_max);
	tcase_add_test(tc, test_prefixes_of_all);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
