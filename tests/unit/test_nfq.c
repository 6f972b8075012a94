/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NFQUEUE host against the real kernel. Root only (exit 77 otherwise): every test runs
 * in its own process (Check's fork mode) inside a private network namespace, installs its
 * iptables-nft rules there and sends its traffic on that namespace's loopback or tun.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "nfq.h"

#define PORT		9999
#define TCP_PORT	9998
#define MARK_SHIFT	16
#define NEWFLOW		(1u << 18)
#define MOD_BIT		(1u << 20)
#define ENI_NAME	"gwi-e8WXgsTQDkf"
#define ENI_ID		0x076bc493b822cd32fULL
#define MAX_REC		128

struct rec {
	struct gwlb_pkt p;	/* pointers cleared */
	uint8_t data[256];
	uint8_t saddr[16], daddr[16];
	char iifname[IF_NAMESIZE], oifname[IF_NAMESIZE];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rec rec[MAX_REC];
	unsigned n;
	bool block_first, entered, released;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

/* --- helpers --- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "test_nfq: `%s` -> %d\n", cmd, rc);
	return rc;
}

static void netns_enter(void)
{
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ck_assert_int_eq(sh("ip link set lo up"), 0);
}

/* Judge: "drop*" DROP, "flow*" ACCEPT_FLOW, "dflw*" DROP_FLOW, "bits*" ACCEPT with a module bit. */
static void judge(void *arg, const struct gwlb_pkt *p, struct gwlb_nfq_judgement *j)
{
	const uint8_t *pl = p->payload_off ? p->data + p->payload_off : NULL;
	struct rec *r;

	pthread_mutex_lock(&g.lock);
	if (g.n < MAX_REC) {
		r = &g.rec[g.n];
		r->p = *p;
		memcpy(r->data, p->data, p->len < sizeof(r->data) ? p->len : sizeof(r->data));
		memcpy(r->saddr, p->saddr, p->family == 4 ? 4 : 16);
		memcpy(r->daddr, p->daddr, p->family == 4 ? 4 : 16);
		snprintf(r->iifname, sizeof(r->iifname), "%s", p->iifname);
		snprintf(r->oifname, sizeof(r->oifname), "%s", p->oifname);
		r->p.data = r->p.saddr = r->p.daddr = NULL;
		r->p.iifname = r->p.oifname = NULL;
	}
	g.n++;
	if (g.block_first && g.n == 1) {
		g.entered = true;
		pthread_cond_broadcast(&g.cond);
		while (!g.released)
			pthread_cond_wait(&g.cond, &g.lock);
	}
	pthread_mutex_unlock(&g.lock);

	if (!pl || p->payload_len < 4)
		return;
	if (!memcmp(pl, "drop", 4)) {
		j->verdict = GWLB_VERDICT_DROP;
	} else if (!memcmp(pl, "flow", 4)) {
		j->verdict = GWLB_VERDICT_ACCEPT_FLOW;
		j->mark_value = MOD_BIT;
		j->mark_mask = MOD_BIT;
	} else if (!memcmp(pl, "dflw", 4)) {
		j->verdict = GWLB_VERDICT_DROP_FLOW;
	} else if (!memcmp(pl, "bits", 4)) {
		j->verdict = GWLB_VERDICT_ACCEPT;
		j->mark_value = MOD_BIT;
		j->mark_mask = MOD_BIT;
	} else {
		j->verdict = GWLB_VERDICT_ACCEPT;
	}
}

static void wait_entered(void)
{
	pthread_mutex_lock(&g.lock);
	while (!g.entered)
		pthread_cond_wait(&g.cond, &g.lock);
	pthread_mutex_unlock(&g.lock);
}

static void release(void)
{
	pthread_mutex_lock(&g.lock);
	g.released = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
}

static unsigned recorded(void)
{
	unsigned n;

	pthread_mutex_lock(&g.lock);
	n = g.n;
	pthread_mutex_unlock(&g.lock);
	return n;
}

static struct gwlb_nfq_cfg base_cfg(void)
{
	struct gwlb_nfq_cfg c = {
		.first = 0,
		.count = 1,
		.decision_shift = MARK_SHIFT,
		.newflow_bit = NEWFLOW,
		.judge = judge,
	};
	return c;
}

static void start(const struct gwlb_nfq_cfg *c)
{
	char err[256] = "";
	int rc = gwlb_nfq_start(c, err, sizeof(err));

	ck_assert_msg(rc == 0, "gwlb_nfq_start: %d %s", rc, err);
}

static int udp_sock(int family, const char *addr, uint16_t port, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = socket(family, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET, addr, &s->sin_addr), 1);
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &s->sin6_addr), 1);
		sl = sizeof(*s);
	}
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, sl), 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

static uint16_t sock_port(int fd)
{
	struct sockaddr_in s;
	socklen_t sl = sizeof(s);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&s, &sl), 0);
	return ntohs(s.sin_port);
}

static void send_to(int fd, const char *msg, uint16_t port)
{
	struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons(port) };

	d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&d, sizeof(d)),
			 (ssize_t)strlen(msg));
}

/* Receive until the socket's timeout; the payloads, NUL-terminated, go to out. */
static unsigned recv_all(int fd, char out[][32], unsigned max)
{
	unsigned n = 0;
	char buf[32];
	ssize_t len;

	while ((len = recv(fd, buf, sizeof(buf) - 1, 0)) >= 0) {
		buf[len] = '\0';
		if (n < max)
			snprintf(out[n], 32, "%s", buf);
		n++;
	}
	return n;
}

/* Packet counter of the rule carrying `comment` in `table` (iptables-nft -L -v -x). */
static long rule_pkts(const char *table, const char *chain, const char *comment)
{
	char cmd[256], line[512];
	long pkts = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "iptables-nft -t %s -L %s -v -x -n", table, chain);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, comment))
			pkts = strtol(line, NULL, 10);
	pclose(f);
	return pkts;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *queue_rule(uint16_t q, bool bypass)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "-o lo -p udp --dport %u -j NFQUEUE --queue-num %u%s", PORT, q,
		 bypass ? " --queue-bypass" : "");
	return buf;
}

/* --- tests --- */

START_TEST(test_accept_drop_view)
{
	static const char *const msgs[] = { "hello1", "drop1", "hello2", "drop2", "hello3" };
	struct gwlb_nfq_cfg c = base_cfg();
	struct gwlb_nfq_flow top[4];
	struct gwlb_nfq_stats st;
	char got[16][32];
	int rx, tx, tx2;
	uint16_t sport;
	unsigned i;

	netns_enter();
	ck_assert_int_eq(sh("iptables-nft -A OUTPUT %s", queue_rule(0, false)), 0);
	start(&c);
	ck_assert_uint_eq(gwlb_nfq_workers(), 1);
	rx = udp_sock(AF_INET, "127.0.0.1", PORT, 300);
	tx = udp_sock(AF_INET, "127.0.0.1", 0, 300);
	tx2 = udp_sock(AF_INET, "127.0.0.1", 0, 300);
	sport = sock_port(tx);
	for (i = 0; i < 5; i++)
		send_to(tx, msgs[i], PORT);
	send_to(tx2, "other", PORT);

	ck_assert_uint_eq(recv_all(rx, got, 16), 4);
	ck_assert_str_eq(got[0], "hello1");
	ck_assert_str_eq(got[1], "hello2");
	ck_assert_str_eq(got[2], "hello3");
	ck_assert_str_eq(got[3], "other");

	ck_assert_uint_eq(recorded(), 6);
	for (i = 0; i < 5; i++) {
		const struct rec *r = &g.rec[i];

		ck_assert_uint_eq(r->p.family, 4);
		ck_assert_uint_eq(r->p.l4proto, IPPROTO_UDP);
		ck_assert_uint_eq(r->p.sport, sport);
		ck_assert_uint_eq(r->p.dport, PORT);
		ck_assert_uint_eq(r->p.l4_off, 20);
		ck_assert_uint_eq(r->p.payload_off, 28);
		ck_assert_uint_eq(r->p.payload_len, strlen(msgs[i]));
		ck_assert_uint_eq(r->p.len, 28 + strlen(msgs[i]));
		ck_assert_mem_eq(r->data + 28, msgs[i], strlen(msgs[i]));
		ck_assert_mem_eq(r->saddr, "\x7f\0\0\x01", 4);
		ck_assert_mem_eq(r->daddr, "\x7f\0\0\x01", 4);
		ck_assert_str_eq(r->iifname, "");
		ck_assert_str_eq(r->oifname, "lo");
		ck_assert_uint_eq(r->p.eni_id, 0);
		ck_assert_uint_eq(r->p.queue, 0);
		ck_assert_uint_eq(r->p.worker, 0);
		ck_assert_uint_eq(r->p.flow_pkts, i + 1);
		ck_assert_uint_eq(r->p.mark, 0);
		if (!strcmp(gwlb_nfq_ct_path(), "mark")) {
			/* no pre-queue rule set the new-flow bit */
			ck_assert_uint_eq(r->p.ct_state, GWLB_CT_ESTABLISHED);
			ck_assert_uint_eq(r->p.ct_mark, 0);
		} else {
			ck_assert_str_eq(gwlb_nfq_ct_path(), "nfqa-ct");
		}
	}
	ck_assert_uint_eq(g.rec[5].p.flow_pkts, 1);

	gwlb_nfq_stats(0, &st);
	ck_assert_uint_eq(st.received, 6);
	ck_assert_uint_eq(st.accepted, 4);
	ck_assert_uint_eq(st.dropped, 2);
	ck_assert_uint_eq(st.flows_accepted + st.flows_dropped + st.unparsed, 0);
	ck_assert_uint_eq(st.verdict_errors + st.enobufs + st.truncated, 0);
	ck_assert_uint_ge(st.batches, 1);
	ck_assert_uint_le(st.batches, 6);
	ck_assert(st.kernel_valid);
	ck_assert_uint_ne(st.portid, 0);
	ck_assert_uint_eq(st.id_sequence, 6);
	ck_assert_uint_eq(st.queue_total, 0);	/* every packet got its verdict */
	ck_assert_uint_eq(st.queue_dropped + st.user_dropped, 0);

	ck_assert_uint_eq(gwlb_nfq_top_flows(top, 4), 2);
	ck_assert_uint_eq(top[0].pkts, 5);
	ck_assert_uint_eq(top[0].sport, sport);
	ck_assert_uint_eq(top[0].dport, PORT);
	ck_assert_uint_eq(top[0].proto, IPPROTO_UDP);
	ck_assert_uint_eq(top[1].pkts, 1);
	ck_assert_uint_eq(top[1].sport, sock_port(tx2));
	ck_assert_uint_eq(gwlb_nfq_top_flows(top, 1), 1);
	ck_assert_uint_eq(top[0].pkts, 5);

	gwlb_nfq_stop();
	ck_assert_uint_eq(gwlb_nfq_workers(), 0);
	close(rx);
	close(tx);
	close(tx2);
}
END_TEST

/*
 * The mark path end to end: mangle sets the ct-mark copy plus the new-flow bit, filter
 * queues, security (a later priority) plays the post-queue rule: counts the marks the
 * verdicts wrote and drops what says "flow dropped".
 */
START_TEST(test_marks)
{
	static const char *const msgs[] = { "plain1", "flow1", "dflw1", "bits1", "plain2" };
	struct gwlb_nfq_cfg c = base_cfg();
	struct gwlb_nfq_stats st;
	const char *m = "-o lo -p udp --dport 9999";
	char got[16][32];
	int rx, tx;
	unsigned i;

	netns_enter();
	ck_assert_int_eq(sh("iptables-nft -t mangle -A OUTPUT %s -j MARK --set-mark 0x40005", m), 0);
	ck_assert_int_eq(sh("iptables-nft -A OUTPUT %s", queue_rule(0, false)), 0);
	ck_assert_int_eq(sh("iptables-nft -t security -A OUTPUT %s -m mark --mark 0x20000/0x30000 "
			    "-m comment --comment t-dropflow -j DROP", m), 0);
	ck_assert_int_eq(sh("iptables-nft -t security -A OUTPUT %s -m mark --mark 0x110005 "
			    "-m comment --comment t-acceptflow -j ACCEPT", m), 0);
	ck_assert_int_eq(sh("iptables-nft -t security -A OUTPUT %s -m mark --mark 0x140005 "
			    "-m comment --comment t-bits -j ACCEPT", m), 0);
	ck_assert_int_eq(sh("iptables-nft -t security -A OUTPUT %s -m mark --mark 0x40005 "
			    "-m comment --comment t-plain -j ACCEPT", m), 0);
	start(&c);
	ck_assert_str_eq(gwlb_nfq_ct_path(), "mark");	/* this kernel has no NFQUEUE ct glue */
	rx = udp_sock(AF_INET, "127.0.0.1", PORT, 300);
	tx = udp_sock(AF_INET, "127.0.0.1", 0, 300);
	for (i = 0; i < 5; i++)
		send_to(tx, msgs[i], PORT);

	ck_assert_uint_eq(recv_all(rx, got, 16), 4);
	ck_assert_str_eq(got[0], "plain1");
	ck_assert_str_eq(got[1], "flow1");
	ck_assert_str_eq(got[2], "bits1");
	ck_assert_str_eq(got[3], "plain2");
	ck_assert_uint_eq(recorded(), 5);
	for (i = 0; i < 5; i++) {
		ck_assert_uint_eq(g.rec[i].p.mark, 0x40005);
		ck_assert_uint_eq(g.rec[i].p.ct_state, GWLB_CT_NEW);
		ck_assert_uint_eq(g.rec[i].p.ct_mark, 0x5);
	}
	ck_assert_int_eq(rule_pkts("security", "OUTPUT", "t-plain"), 2);
	ck_assert_int_eq(rule_pkts("security", "OUTPUT", "t-acceptflow"), 1);
	ck_assert_int_eq(rule_pkts("security", "OUTPUT", "t-bits"), 1);
	ck_assert_int_eq(rule_pkts("security", "OUTPUT", "t-dropflow"), 1);

	gwlb_nfq_stats(0, &st);
	ck_assert_uint_eq(st.received, 5);
	ck_assert_uint_eq(st.accepted, 4);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.flows_accepted, 1);
	ck_assert_uint_eq(st.flows_dropped, 1);
	ck_assert_uint_eq(st.verdict_errors, 0);
	ck_assert_uint_eq(st.queue_total, 0);
	gwlb_nfq_stop();
	close(rx);
	close(tx);
}
END_TEST

/* Without a listener the rule's --queue-bypass decides; stop unbinds cleanly and quickly. */
START_TEST(test_bypass_and_stop)
{
	struct gwlb_nfq_cfg c = base_cfg();
	struct gwlb_nfq_stats st;
	char got[4][32];
	int rx, tx;
	double t;

	netns_enter();
	rx = udp_sock(AF_INET, "127.0.0.1", PORT, 200);
	tx = udp_sock(AF_INET, "127.0.0.1", 0, 200);

	ck_assert_int_eq(sh("iptables-nft -A OUTPUT %s", queue_rule(0, true)), 0);
	send_to(tx, "bypass", PORT);
	ck_assert_uint_eq(recv_all(rx, got, 4), 1);
	ck_assert_str_eq(got[0], "bypass");

	ck_assert_int_eq(sh("iptables-nft -F OUTPUT"), 0);
	ck_assert_int_eq(sh("iptables-nft -A OUTPUT %s", queue_rule(0, false)), 0);
	send_to(tx, "nolistener", PORT);
	ck_assert_uint_eq(recv_all(rx, got, 4), 0);

	start(&c);
	ck_assert_int_eq(gwlb_nfq_kernel_stats(0, &st), 0);
	send_to(tx, "listener", PORT);
	ck_assert_uint_eq(recv_all(rx, got, 4), 1);
	ck_assert_str_eq(got[0], "listener");

	t = now_s();
	gwlb_nfq_stop();
	ck_assert_msg(now_s() - t < 0.3, "stop took %.3f s", now_s() - t);
	ck_assert_int_eq(gwlb_nfq_kernel_stats(0, &st), -ENOENT);	/* unbound */
	send_to(tx, "stopped", PORT);
	ck_assert_uint_eq(recv_all(rx, got, 4), 0);

	/* and it can start again on the same queue */
	start(&c);
	send_to(tx, "again", PORT);
	ck_assert_uint_eq(recv_all(rx, got, 4), 1);
	ck_assert_str_eq(got[0], "again");
	gwlb_nfq_stop();
	close(rx);
	close(tx);
}
END_TEST

/*
 * Batch verdicts next to individual ones: the judge holds the first packet while 30 more
 * queue up (drops among them, the last one too); they come in one receive and are answered
 * in order: runs of accepts as one batch verdict each, drops individually.
 */
START_TEST(test_batch_verdicts)
{
	struct gwlb_nfq_cfg c = base_cfg();
	struct gwlb_nfq_stats st;
	char got[64][32], msg[32];
	unsigned i, n, drops = 0, k = 0;
	int rx, tx;

	netns_enter();
	ck_assert_int_eq(sh("iptables-nft -A OUTPUT %s", queue_rule(0, false)), 0);
	g.block_first = true;
	start(&c);
	rx = udp_sock(AF_INET, "127.0.0.1", PORT, 300);
	tx = udp_sock(AF_INET, "127.0.0.1", 0, 300);
	send_to(tx, "first", PORT);
	wait_entered();
	for (i = 1; i <= 30; i++) {
		bool drop = i == 5 || i == 6 || i == 17 || i == 30;

		snprintf(msg, sizeof(msg), "%s%u", drop ? "drop" : "pkt", i);
		send_to(tx, msg, PORT);
		drops += drop;
	}
	usleep(50000);
	release();

	n = recv_all(rx, got, 64);
	ck_assert_uint_eq(n, 31 - drops);
	ck_assert_str_eq(got[0], "first");
	for (i = 1; i <= 30; i++) {
		if (i == 5 || i == 6 || i == 17 || i == 30)
			continue;
		snprintf(msg, sizeof(msg), "pkt%u", i);
		ck_assert_str_eq(got[++k], msg);
	}
	gwlb_nfq_stats(0, &st);
	ck_assert_uint_eq(st.received, 31);
	ck_assert_uint_eq(st.dropped, drops);
	ck_assert_uint_eq(st.accepted, 31 - drops);
	ck_assert_uint_eq(st.batches, 2);
	/* [first] | 1-4, drop 5, drop 6, 7-16, drop 17, 18-29, drop 30 */
	ck_assert_uint_eq(st.batch_verdicts, 4);
	ck_assert_uint_eq(st.verdict_errors, 0);
	ck_assert_uint_eq(st.queue_total, 0);
	gwlb_nfq_stop();
	close(rx);
	close(tx);
}
END_TEST

/* Queue full: fail-open lets the overflow through, fail-closed drops it; kernel counts it. */
START_TEST(test_queue_full)
{
	struct gwlb_nfq_cfg c = base_cfg();
	struct gwlb_nfq_stats st;
	bool fail_open = _i;
	char got[32][32], msg[16];
	int rx, tx;
	unsigned i;

	netns_enter();
	ck_assert_int_eq(sh("iptables-nft -A OUTPUT %s", queue_rule(0, false)), 0);
	c.maxlen = 4;
	c.fail_open = fail_open;
	c.gso = fail_open;	/* both flags in the one NFQA_CFG_FLAGS: fail-open must still work */
	g.block_first = true;
	start(&c);
	rx = udp_sock(AF_INET, "127.0.0.1", PORT, 300);
	tx = udp_sock(AF_INET, "127.0.0.1", 0, 300);
	send_to(tx, "p0", PORT);
	wait_entered();
	for (i = 1; i < 20; i++) {
		snprintf(msg, sizeof(msg), "p%u", i);
		send_to(tx, msg, PORT);
	}
	/* the held packet and three more wait; the kernel counts drops, not fail-open passes */
	gwlb_nfq_stats(0, &st);
	ck_assert_uint_eq(st.queue_total, 4);
	ck_assert_uint_eq(st.queue_dropped, fail_open ? 0 : 16);
	release();

	ck_assert_uint_eq(recv_all(rx, got, 32), fail_open ? 20 : 4);
	gwlb_nfq_stats(0, &st);
	ck_assert_uint_eq(st.received, 4);
	ck_assert_uint_eq(st.accepted, 4);
	ck_assert_uint_eq(st.queue_total, 0);
	ck_assert_uint_eq(st.queue_dropped, fail_open ? 0 : 16);
	gwlb_nfq_stop();
	close(rx);
	close(tx);
}
END_TEST

/* A full socket buffer shows up as ENOBUFS and the kernel's user_dropped, never silently. */
START_TEST(test_enobufs)
{
	struct gwlb_nfq_cfg c = base_cfg();
	struct gwlb_nfq_stats st;
	char got[64][32];
	unsigned i, n;
	int rx, tx;

	netns_enter();
	ck_assert_int_eq(sh("iptables-nft -A OUTPUT %s", queue_rule(0, false)), 0);
	c.rcvbuf = 4096;
	g.block_first = true;
	start(&c);
	rx = udp_sock(AF_INET, "127.0.0.1", PORT, 300);
	tx = udp_sock(AF_INET, "127.0.0.1", 0, 300);
	send_to(tx, "first", PORT);
	wait_entered();
	for (i = 0; i < 50; i++)
		send_to(tx, "more", PORT);
	gwlb_nfq_stats(0, &st);
	ck_assert_uint_ge(st.user_dropped, 1);
	release();

	n = recv_all(rx, got, 64);
	gwlb_nfq_stats(0, &st);
	ck_assert_uint_ge(st.enobufs, 1);
	ck_assert_uint_eq(st.received + st.user_dropped, 51);
	ck_assert_uint_eq(n, st.received);
	ck_assert_uint_eq(st.queue_total, 0);
	gwlb_nfq_stop();
	close(rx);
	close(tx);
}
END_TEST

/* A copy range too short for the IP header: not judged, fail-open decides, counted. */
START_TEST(test_unparsable)
{
	struct gwlb_nfq_cfg c = base_cfg();
	struct gwlb_nfq_stats st;
	bool fail_open = _i;
	char got[4][32];
	int rx, tx;

	netns_enter();
	ck_assert_int_eq(sh("iptables-nft -A OUTPUT %s", queue_rule(0, false)), 0);
	c.copy_range = 10;
	c.fail_open = fail_open;
	start(&c);
	rx = udp_sock(AF_INET, "127.0.0.1", PORT, 300);
	tx = udp_sock(AF_INET, "127.0.0.1", 0, 300);
	send_to(tx, "short", PORT);
	ck_assert_uint_eq(recv_all(rx, got, 4), fail_open ? 1 : 0);
	ck_assert_uint_eq(recorded(), 0);
	gwlb_nfq_stats(0, &st);
	ck_assert_uint_eq(st.received, 1);
	ck_assert_uint_eq(st.unparsed, 1);
	ck_assert_uint_eq(st.accepted, fail_open ? 1 : 0);
	ck_assert_uint_eq(st.dropped, fail_open ? 0 : 1);
	ck_assert_uint_eq(st.queue_total, 0);
	gwlb_nfq_stop();
	close(rx);
	close(tx);
}
END_TEST

/* TCP: flags, data offset with options, payload position. */
START_TEST(test_tcp)
{
	struct gwlb_nfq_cfg c = base_cfg();
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TCP_PORT) };
	unsigned i, syn = 0, data = 0;
	int ls, cs, as, one = 1;
	char buf[16];

	netns_enter();
	ck_assert_int_eq(sh("iptables-nft -A OUTPUT -o lo -p tcp --dport %u "
			    "-j NFQUEUE --queue-num 0", TCP_PORT), 0);
	start(&c);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(ls, 1), 0);
	cs = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(cs, (struct sockaddr *)&a, sizeof(a)), 0);
	as = accept(ls, NULL, NULL);
	ck_assert_int_ge(as, 0);
	ck_assert_int_eq(send(cs, "hello", 5, 0), 5);
	ck_assert_int_eq(recv(as, buf, sizeof(buf), 0), 5);
	gwlb_nfq_stop();

	for (i = 0; i < recorded() && i < MAX_REC; i++) {
		const struct rec *r = &g.rec[i];

		ck_assert_uint_eq(r->p.l4proto, IPPROTO_TCP);
		ck_assert_uint_eq(r->p.dport, TCP_PORT);
		ck_assert_uint_eq(r->p.l4_off, 20);
		ck_assert_uint_eq(r->p.payload_off, 20 + (r->data[32] >> 4) * 4);
		ck_assert_uint_eq(r->p.tcp_flags, r->data[33]);
		if (r->p.tcp_flags == 0x02) {
			syn++;
			ck_assert_uint_eq(r->p.payload_len, 0);
			ck_assert_uint_gt(r->p.payload_off, 40);	/* SYN carries options */
		}
		if (r->p.payload_len) {
			data++;
			ck_assert_uint_eq(r->p.payload_len, 5);
			ck_assert_mem_eq(r->data + r->p.payload_off, "hello", 5);
			ck_assert(r->p.tcp_flags & 0x10);
		}
	}
	ck_assert_uint_eq(syn, 1);
	ck_assert_uint_eq(data, 1);
	close(as);
	close(cs);
	close(ls);
}
END_TEST

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)(p[len - 1] << 8);
	return s;
}

/* UDP header + payload at u (ulen bytes); pseudo header from the addresses. */
static void udp_fill(uint8_t *u, const char *payload, uint16_t sport, const uint8_t *src,
		     const uint8_t *dst, size_t alen)
{
	size_t plen = strlen(payload), ulen = 8 + plen;
	uint32_t s = 0;
	uint16_t ck;
	uint8_t ph[4] = { 0, 0, 0, IPPROTO_UDP };

	u[0] = sport >> 8;
	u[1] = sport & 0xff;
	u[2] = PORT >> 8;
	u[3] = PORT & 0xff;
	u[4] = (uint8_t)(ulen >> 8);
	u[5] = (uint8_t)ulen;
	u[6] = u[7] = 0;
	memcpy(u + 8, payload, plen);
	s = csum_add(s, src, alen);
	s = csum_add(s, dst, alen);
	s = csum_add(s, ph, 4);
	s += (uint32_t)ulen;
	s = csum_add(s, u, ulen);
	ck = csum_fold(s);
	if (!ck)
		ck = 0xffff;
	u[6] = ck >> 8;
	u[7] = ck & 0xff;
}

/*
 * Packets coming in on an ENI's gwi interface (a tun here, as gwlbd has it): the ENI id
 * from the name, input interface, IPv4 options (IHL 6) and an IPv6 extension header
 * honoured, a second queue served by the second worker.
 */
START_TEST(test_eni_tun)
{
	struct gwlb_nfq_cfg c = base_cfg();
	uint8_t s4[4] = { 10, 9, 0, 2 }, d4[4] = { 10, 9, 0, 1 }, s6[16], d6[16];
	uint8_t pkt4[64], pkt6[96];
	struct ifreq ifr;
	char got[4][32];
	int tun, rx4, rx6, i;
	const struct rec *r;

	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		fprintf(stderr, "test_eni_tun: no /dev/net/tun, skipped\n");
		return;
	}
	netns_enter();
	/* after unshare: a tun is created in the namespace its file was opened in */
	tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(tun, 0);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ENI_NAME);
	ck_assert_int_eq(ioctl(tun, TUNSETIFF, &ifr), 0);
	ck_assert_int_eq(sh("sysctl -qw net.ipv4.conf.all.rp_filter=0 "
			    "net.ipv4.conf." ENI_NAME ".rp_filter=0"), 0);
	ck_assert_int_eq(sh("ip link set " ENI_NAME " up && ip addr add 10.9.0.1/24 dev " ENI_NAME
			    " && ip addr add fd00:9::1/64 dev " ENI_NAME " nodad"), 0);
	ck_assert_int_eq(sh("iptables-nft -A INPUT -i gwi-+ -p udp --dport %u "
			    "-j NFQUEUE --queue-num 1", PORT), 0);
	ck_assert_int_eq(sh("ip6tables-nft -A INPUT -i gwi-+ -p udp --dport %u "
			    "-j NFQUEUE --queue-num 1", PORT), 0);
	c.count = 2;
	start(&c);
	rx4 = udp_sock(AF_INET, "10.9.0.1", PORT, 300);
	rx6 = udp_sock(AF_INET6, "fd00:9::1", PORT, 300);

	/* IPv4 with 4 bytes of options (NOP NOP NOP EOL) */
	memset(pkt4, 0, sizeof(pkt4));
	pkt4[0] = 0x46;
	pkt4[3] = 24 + 8 + 5;
	pkt4[8] = 64;
	pkt4[9] = IPPROTO_UDP;
	memcpy(pkt4 + 12, s4, 4);
	memcpy(pkt4 + 16, d4, 4);
	pkt4[20] = pkt4[21] = pkt4[22] = 1;
	pkt4[23] = 0;
	i = csum_fold(csum_add(0, pkt4, 24));
	pkt4[10] = (uint8_t)(i >> 8);
	pkt4[11] = (uint8_t)i;
	udp_fill(pkt4 + 24, "v4opt", 4242, s4, d4, 4);
	ck_assert_int_eq(write(tun, pkt4, 37), 37);

	/* IPv6 with a destination options header (PadN) before UDP */
	inet_pton(AF_INET6, "fd00:9::2", s6);
	inet_pton(AF_INET6, "fd00:9::1", d6);
	memset(pkt6, 0, sizeof(pkt6));
	pkt6[0] = 0x60;
	pkt6[5] = 8 + 8 + 5;
	pkt6[6] = IPPROTO_DSTOPTS;
	pkt6[7] = 64;
	memcpy(pkt6 + 8, s6, 16);
	memcpy(pkt6 + 24, d6, 16);
	pkt6[40] = IPPROTO_UDP;
	pkt6[41] = 0;
	pkt6[42] = 1;	/* PadN, 4 bytes of padding */
	pkt6[43] = 4;
	udp_fill(pkt6 + 48, "v6ext", 4343, s6, d6, 16);
	ck_assert_int_eq(write(tun, pkt6, 61), 61);

	ck_assert_uint_eq(recv_all(rx4, got, 4), 1);
	ck_assert_str_eq(got[0], "v4opt");
	ck_assert_uint_eq(recv_all(rx6, got, 4), 1);
	ck_assert_str_eq(got[0], "v6ext");
	ck_assert_uint_eq(recorded(), 2);

	r = &g.rec[0];
	ck_assert_uint_eq(r->p.family, 4);
	ck_assert_str_eq(r->iifname, ENI_NAME);
	ck_assert_str_eq(r->oifname, "");
	ck_assert_uint_eq(r->p.eni_id, ENI_ID);
	ck_assert_uint_eq(r->p.queue, 1);
	ck_assert_uint_eq(r->p.worker, 1);
	ck_assert_uint_eq(r->p.l4_off, 24);
	ck_assert_uint_eq(r->p.payload_off, 32);
	ck_assert_uint_eq(r->p.payload_len, 5);
	ck_assert_uint_eq(r->p.sport, 4242);
	ck_assert_uint_eq(r->p.dport, PORT);
	ck_assert_mem_eq(r->saddr, s4, 4);
	ck_assert_mem_eq(r->daddr, d4, 4);

	r = &g.rec[1];
	ck_assert_uint_eq(r->p.family, 6);
	ck_assert_uint_eq(r->p.l4proto, IPPROTO_UDP);
	ck_assert_str_eq(r->iifname, ENI_NAME);
	ck_assert_uint_eq(r->p.eni_id, ENI_ID);
	ck_assert_uint_eq(r->p.l4_off, 48);
	ck_assert_uint_eq(r->p.payload_off, 56);
	ck_assert_uint_eq(r->p.payload_len, 5);
	ck_assert_uint_eq(r->p.sport, 4343);
	ck_assert_uint_eq(r->p.dport, PORT);
	ck_assert_mem_eq(r->saddr, s6, 16);
	ck_assert_mem_eq(r->daddr, d6, 16);

	gwlb_nfq_stop();
	close(rx4);
	close(rx6);
	close(tun);
}
END_TEST

/*
 * GSO over a veth to a peer namespace: with NFQA_CFG_F_GSO the kernel queues TCP
 * super-packets whole (NFQA_SKB_GSO, payload above the MSS); without it, segments. The
 * checksums are left as they are and the data arrives intact. Fail-open is set too: the
 * flags share one attribute, and GSO must survive next to it.
 */
START_TEST(test_gso)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TCP_PORT - 1) };
	struct gwlb_nfq_cfg c = base_cfg();
	struct gwlb_nfq_stats st;
	int up[2], down[2], cs = -1, i;
	static char chunk[65536];
	uint32_t max_payload = 0;
	long total = 0, got = 0;
	bool gso = _i;
	pid_t pid;
	char ch;

	netns_enter();
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* the peer: its own namespace, a TCP sink that reports the bytes it read */
		int ls, as, one = 1;
		ssize_t n;

		if (unshare(CLONE_NEWNET) != 0)
			_exit(1);
		if (write(up[1], "u", 1) != 1 || read(down[0], &ch, 1) != 1)
			_exit(1);
		if (system("ip link set lo up && ip addr add 10.7.0.2/24 dev v1 && "
			   "ip link set v1 up") != 0)
			_exit(1);
		a.sin_addr.s_addr = htonl(0x0a070002);
		ls = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
		    write(up[1], "l", 1) != 1)
			_exit(1);
		as = accept(ls, NULL, NULL);
		while ((n = read(as, chunk, sizeof(chunk))) > 0)
			total += n;
		if (write(up[1], &total, sizeof(total)) != sizeof(total))
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(read(up[0], &ch, 1), 1);
	ck_assert_int_eq(sh("ip link add v0 type veth peer name v1 netns %d && "
			    "ip addr add 10.7.0.1/24 dev v0 && ip link set v0 up", (int)pid), 0);
	ck_assert_int_eq(sh("iptables-nft -A OUTPUT -o v0 -p tcp --dport %u "
			    "-j NFQUEUE --queue-num 0", TCP_PORT - 1), 0);
	c.gso = gso;
	c.fail_open = true;
	start(&c);
	ck_assert_int_eq(write(down[1], "g", 1), 1);
	ck_assert_int_eq(read(up[0], &ch, 1), 1);

	a.sin_addr.s_addr = htonl(0x0a070002);
	for (i = 0; i < 100 && cs < 0; i++) {
		cs = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(cs, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(cs);
			cs = -1;
			usleep(20000);	/* the peer's link comes up */
		}
	}
	ck_assert_int_ge(cs, 0);
	memset(chunk, 'g', sizeof(chunk));
	for (i = 0; i < 32; i++)
		ck_assert_int_eq(write(cs, chunk, sizeof(chunk)), sizeof(chunk));
	close(cs);
	ck_assert_int_eq(read(up[0], &got, sizeof(got)), sizeof(got));
	ck_assert_int_eq(got, 32 * 65536);
	waitpid(pid, NULL, 0);

	gwlb_nfq_stats(0, &st);
	for (i = 0; i < (int)recorded() && i < MAX_REC; i++)
		if (g.rec[i].p.payload_len > max_payload)
			max_payload = g.rec[i].p.payload_len;
	if (gso) {
		ck_assert_uint_gt(st.gso, 0);
		ck_assert_uint_gt(max_payload, 1500);
	} else {
		ck_assert_uint_eq(st.gso, 0);
		ck_assert_uint_le(max_payload, 1460);
	}
	ck_assert_uint_eq(st.unparsed + st.verdict_errors, 0);
	gwlb_nfq_stop();
}
END_TEST

/* Bad settings and a queue held by someone else are refused with a reason. */
START_TEST(test_start_errors)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	struct gwlb_nfq_cfg c = base_cfg();
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	char err[256];
	ssize_t n;

	netns_enter();
	c.judge = NULL;
	ck_assert_int_eq(gwlb_nfq_start(&c, err, sizeof(err)), -EINVAL);
	c = base_cfg();
	c.newflow_bit = 1u << MARK_SHIFT;	/* inside the decision field */
	ck_assert_int_eq(gwlb_nfq_start(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "overlap"));
	ck_assert_uint_eq(gwlb_nfq_workers(), 0);

	/* another socket holds queue 1 */
	nl = mnl_socket_open(NETLINK_NETFILTER);
	ck_assert_ptr_nonnull(nl);
	ck_assert_int_eq(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, 1);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = 7;
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	ck_assert_int_ge(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len), 0);
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_ge(mnl_cb_run(buf, (size_t)n, 7, mnl_socket_get_portid(nl), NULL, NULL), 0);

	c = base_cfg();
	c.count = 2;
	ck_assert_int_lt(gwlb_nfq_start(&c, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "nfqueue 1"));
	ck_assert_uint_eq(gwlb_nfq_workers(), 0);
	/* queue 0, bound before the failure, was released */
	{
		struct gwlb_nfq_stats st;

		ck_assert_int_eq(gwlb_nfq_kernel_stats(0, &st), -ENOENT);
		ck_assert_int_eq(gwlb_nfq_kernel_stats(1, &st), 0);
	}
	mnl_socket_close(nl);
}
END_TEST

static Suite *nfq_suite(void)
{
	Suite *s = suite_create("nfq");
	TCase *tc = tcase_create("kernel");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_accept_drop_view);
	tcase_add_test(tc, test_marks);
	tcase_add_test(tc, test_bypass_and_stop);
	tcase_add_test(tc, test_batch_verdicts);
	tcase_add_loop_test(tc, test_queue_full, 0, 2);
	tcase_add_test(tc, test_enobufs);
	tcase_add_loop_test(tc, test_unparsable, 0, 2);
	tcase_add_test(tc, test_tcp);
	tcase_add_test(tc, test_eni_tun);
	tcase_add_loop_test(tc, test_gso, 0, 2);
	tcase_add_test(tc, test_start_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		fprintf(stderr, "test_nfq: needs root (network namespaces, NFQUEUE), skipped\n");
		return 77;
	}
	if (system("command -v iptables-nft >/dev/null && command -v ip >/dev/null") != 0) {
		fprintf(stderr, "test_nfq: iptables-nft or ip missing, skipped\n");
		return 77;
	}
	if (system("unshare -n true 2>/dev/null") != 0) {
		fprintf(stderr, "test_nfq: cannot create network namespaces, skipped\n");
		return 77;
	}
	sr = srunner_create(nfq_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
