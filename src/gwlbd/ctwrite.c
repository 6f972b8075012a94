/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conntrack label writes through ctnetlink: a bounded queue filled by the NFQUEUE workers
 * and one thread that empties it (see ctwrite.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctwrite.h"

#define CTW_LABEL_MAXBIT	127
#define CTW_RETRY_FIRST_MS	2
#define CTW_RECV_TIMEOUT_S	1
#define CTW_LOG_INTERVAL_MS	1000

struct ctw_op {
	struct gwlb_ctwrite_tuple t;	/* original direction */
	uint16_t zone;
	uint8_t tries;			/* ENOENT answers so far */
	uint64_t due_ms;		/* not before (retries) */
	uint32_t labels[4];
};

static struct {
	bool running;
	struct gwlb_ctwrite_cfg cfg;
	struct mnl_socket *nl;
	uint32_t portid, seq;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ctw_op *q;
	unsigned head, len;
	bool stop;

	_Atomic uint64_t ok, failed, overflow, retried;
	uint64_t last_log_ms;
	unsigned log_suppressed;
} W = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

static bool proto_is_icmp(uint8_t family, uint8_t proto)
{
	return (family == 4 && proto == IPPROTO_ICMP) || (family == 6 && proto == IPPROTO_ICMPV6);
}

int gwlb_ctwrite_tuple(const struct gwlb_pkt *pkt, struct gwlb_ctwrite_tuple *t)
{
	size_t alen;

	if (!pkt || (pkt->family != 4 && pkt->family != 6) || !pkt->saddr || !pkt->daddr)
		return -EINVAL;
	alen = pkt->family == 6 ? 16 : 4;
	memset(t, 0, sizeof(*t));
	t->family = pkt->family;
	t->proto = pkt->l4proto;
	memcpy(t->saddr, pkt->saddr, alen);
	memcpy(t->daddr, pkt->daddr, alen);
	if (proto_has_ports(t->proto)) {
		if (!pkt->l4_off)
			return -EINVAL;
		t->sport = pkt->sport;
		t->dport = pkt->dport;
	} else if (proto_is_icmp(t->family, t->proto)) {
		if (!pkt->l4_off || (uint32_t)pkt->l4_off + 8 > pkt->len)
			return -EINVAL;
		t->icmp_type = pkt->data[pkt->l4_off];
		t->icmp_code = pkt->data[pkt->l4_off + 1];
		t->icmp_id = pkt->sport;
	}
	if (pkt->ct_state & GWLB_CT_REPLY)
		gwlb_ctwrite_tuple_swap(t);
	return 0;
}

/*
 * ICMP keeps its type: the kernel stores the reply tuple with the reply's type (echo reply
 * for echo request), and finds an entry by either direction's tuple, so a packet's own
 * tuple is always a key. Swapping only addresses here is the second guess for NAT.
 */
void gwlb_ctwrite_tuple_swap(struct gwlb_ctwrite_tuple *t)
{
	uint8_t a[16];
	uint16_t p = t->sport;

	memcpy(a, t->saddr, sizeof(a));
	memcpy(t->saddr, t->daddr, sizeof(a));
	memcpy(t->daddr, a, sizeof(a));
	t->sport = t->dport;
	t->dport = p;
}

static void ctw_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writer thread only: at most one line per interval, with what was held back. */
static void ctw_log(int prio, const char *fmt, ...)
{
	uint64_t now = now_ms();
	char line[256];
	va_list ap;

	if (!W.cfg.log)
		return;
	if (W.last_log_ms && now - W.last_log_ms < CTW_LOG_INTERVAL_MS) {
		W.log_suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (W.log_suppressed)
		W.cfg.log(prio, "%s (%u more conntrack write failures not logged)", line,
			  W.log_suppressed);
	else
		W.cfg.log(prio, "%s", line);
	W.last_log_ms = now;
	W.log_suppressed = 0;
}

static int ctw_build(struct nf_conntrack *ct, const struct ctw_op *op,
		     const struct gwlb_ctwrite_tuple *t)
{
	struct nfct_bitmask *labels, *mask;
	uint32_t a4;
	unsigned b;

	nfct_set_attr_u8(ct, ATTR_L3PROTO, t->family == 6 ? AF_INET6 : AF_INET);
	if (t->family == 6) {
		nfct_set_attr(ct, ATTR_IPV6_SRC, t->saddr);
		nfct_set_attr(ct, ATTR_IPV6_DST, t->daddr);
	} else {
		memcpy(&a4, t->saddr, 4);
		nfct_set_attr_u32(ct, ATTR_IPV4_SRC, a4);
		memcpy(&a4, t->daddr, 4);
		nfct_set_attr_u32(ct, ATTR_IPV4_DST, a4);
	}
	nfct_set_attr_u8(ct, ATTR_L4PROTO, t->proto);
	if (proto_has_ports(t->proto)) {
		nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(t->sport));
		nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(t->dport));
	} else if (proto_is_icmp(t->family, t->proto)) {
		nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, t->icmp_type);
		nfct_set_attr_u8(ct, ATTR_ICMP_CODE, t->icmp_code);
		nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(t->icmp_id));
	}
	/*
	 * CTA_ZONE applies to both directions. A zone set for the original direction only
	 * (`ct original zone set`, issue 4) matches only the original tuple: keep t original.
	 */
	nfct_set_attr_u16(ct, ATTR_ZONE, op->zone);

	labels = nfct_bitmask_new(CTW_LABEL_MAXBIT);
	if (!labels)
		return -ENOMEM;
	for (b = 0; b <= CTW_LABEL_MAXBIT; b++)
		if (op->labels[b / 32] & 1u << (b % 32))
			nfct_bitmask_set_bit(labels, b);
	/* the mask is the requested bits: the kernel leaves every other bit as it is */
	mask = nfct_bitmask_clone(labels);
	if (!mask) {
		nfct_bitmask_destroy(labels);
		return -ENOMEM;
	}
	nfct_set_attr(ct, ATTR_CONNLABELS, labels);
	nfct_set_attr(ct, ATTR_CONNLABELS_MASK, mask);
	return 0;
}

/* One IPCTNL_MSG_CT_NEW without NLM_F_CREATE: an update of an existing entry, or ENOENT. */
static int ctw_send(const struct ctw_op *op, const struct gwlb_ctwrite_tuple *t)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nf_conntrack *ct;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfh;
	uint32_t seq = ++W.seq;
	ssize_t n;
	int ret;

	ct = nfct_new();
	if (!ct)
		return -ENOMEM;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
	nfh->nfgen_family = t->family == 6 ? AF_INET6 : AF_INET;
	nfh->version = NFNETLINK_V0;
	nfh->res_id = 0;
	ret = ctw_build(ct, op, t);
	if (ret)
		goto cleanup;
	if (nfct_nlmsg_build(nlh, ct) < 0) {
		ret = errno ? -errno : -EINVAL;
		goto cleanup;
	}
	if (mnl_socket_sendto(W.nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto cleanup;
	}
	for (;;) {
		n = mnl_socket_recvfrom(W.nl, buf, sizeof(buf));
		if (n < 0) {
			ret = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			break;
		}
		ret = mnl_cb_run(buf, n, seq, W.portid, NULL, NULL);
		/* an answer to an earlier message that timed out: wait for ours */
		if (ret < 0 && errno == EPROTO)
			continue;
		ret = ret < 0 ? -errno : 0;
		break;
	}
cleanup:
	nfct_destroy(ct);
	return ret;
}

/*
 * The packet's original-direction tuple first. Only when the kernel has no entry by it,
 * its swap: after DNAT an original-direction packet matches neither stored tuple as it is,
 * but its swap is the reply tuple.
 */
static int ctw_write(const struct ctw_op *op)
{
	struct gwlb_ctwrite_tuple t = op->t;
	int ret;

	ret = ctw_send(op, &t);
	if (ret != -ENOENT)
		return ret;
	gwlb_ctwrite_tuple_swap(&t);
	return ctw_send(op, &t);
}

static const char *ctw_hint(int ret)
{
	switch (ret) {
	case -ENOSPC:
		return " (entry has no room for labels: created before the connlabel extension"
		       " was in use)";
	case -ENOENT:
		return " (no such conntrack entry, or it never got confirmed)";
	default:
		return "";
	}
}

static void ctw_done(const struct ctw_op *op, int ret)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int af = op->t.family == 6 ? AF_INET6 : AF_INET;

	if (!ret) {
		atomic_fetch_add_explicit(&W.ok, 1, memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(&W.failed, 1, memory_order_relaxed);
	inet_ntop(af, op->t.saddr, s, sizeof(s));
	inet_ntop(af, op->t.daddr, d, sizeof(d));
	ctw_log(LOG_WARNING, "conntrack label write for proto %u %s:%u -> %s:%u zone %u: %s%s",
		op->t.proto, s, op->t.sport, d, op->t.dport, op->zone, strerror(-ret),
		ctw_hint(ret));
}

/* Under W.lock. false: no room. */
static bool ctw_push(const struct ctw_op *op)
{
	if (W.len == GWLB_CTWRITE_QUEUE_LEN)
		return false;
	W.q[(W.head + W.len++) % GWLB_CTWRITE_QUEUE_LEN] = *op;
	pthread_cond_signal(&W.cond);
	return true;
}

static void *ctw_main(void *arg)
{
	struct ctw_op op;
	uint64_t now;
	int ret;

	(void)arg;
	pthread_mutex_lock(&W.lock);
	for (;;) {
		while (!W.len && !W.stop)
			pthread_cond_wait(&W.cond, &W.lock);
		if (W.stop)
			break;
		now = now_ms();
		if (W.q[W.head].due_ms > now) {
			/* a retry at the head: later ones wait for it, at most its few ms */
			uint64_t due = W.q[W.head].due_ms;
			struct timespec ts = { (time_t)(due / 1000), (long)(due % 1000) * 1000000 };

			pthread_cond_timedwait(&W.cond, &W.lock, &ts);
			continue;
		}
		op = W.q[W.head];
		W.head = (W.head + 1) % GWLB_CTWRITE_QUEUE_LEN;
		W.len--;
		pthread_mutex_unlock(&W.lock);

		ret = ctw_write(&op);
		if (ret == -ENOENT && op.tries < GWLB_CTWRITE_RETRIES) {
			op.due_ms = now_ms() + ((uint64_t)CTW_RETRY_FIRST_MS << op.tries);
			op.tries++;
			atomic_fetch_add_explicit(&W.retried, 1, memory_order_relaxed);
			pthread_mutex_lock(&W.lock);
			if (ctw_push(&op))
				continue;
			pthread_mutex_unlock(&W.lock);
		}
		ctw_done(&op, ret);
		pthread_mutex_lock(&W.lock);
	}
	pthread_mutex_unlock(&W.lock);
	return NULL;
}

int gwlb_ctwrite_labels(const struct gwlb_pkt *pkt, uint16_t zone, const uint32_t labels[4])
{
	struct ctw_op op = { .zone = zone };
	int ret;

	if (!W.running)
		return -ENOTCONN;
	ret = gwlb_ctwrite_tuple(pkt, &op.t);
	if (ret) {
		atomic_fetch_add_explicit(&W.failed, 1, memory_order_relaxed);
		return ret;
	}
	memcpy(op.labels, labels, sizeof(op.labels));
	pthread_mutex_lock(&W.lock);
	ret = ctw_push(&op) ? 0 : -ENOSPC;
	pthread_mutex_unlock(&W.lock);
	if (ret)
		atomic_fetch_add_explicit(&W.overflow, 1, memory_order_relaxed);
	return ret;
}

void gwlb_ctwrite_stats(struct gwlb_ctwrite_stats *st)
{
	st->ok = atomic_load_explicit(&W.ok, memory_order_relaxed);
	st->failed = atomic_load_explicit(&W.failed, memory_order_relaxed);
	st->overflow = atomic_load_explicit(&W.overflow, memory_order_relaxed);
	st->retried = atomic_load_explicit(&W.retried, memory_order_relaxed);
}

int gwlb_ctwrite_start(const struct gwlb_ctwrite_cfg *cfg, char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = CTW_RECV_TIMEOUT_S };
	pthread_condattr_t ca;
	int ret;

	if (W.running)
		return -EALREADY;
	W.cfg = cfg ? *cfg : (struct gwlb_ctwrite_cfg){ 0 };
	W.q = calloc(GWLB_CTWRITE_QUEUE_LEN, sizeof(*W.q));
	if (!W.q) {
		ret = -ENOMEM;
		snprintf(err, errlen, "conntrack writer: %s", strerror(-ret));
		goto fail;
	}
	W.nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!W.nl || mnl_socket_bind(W.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		snprintf(err, errlen, "conntrack writer: ctnetlink socket: %s", strerror(-ret));
		goto fail;
	}
	/* a lost answer must not stall the writer: the write is counted as failed instead */
	setsockopt(mnl_socket_get_fd(W.nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	W.portid = mnl_socket_get_portid(W.nl);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&W.cond, &ca);
	pthread_condattr_destroy(&ca);
	W.head = W.len = 0;
	W.stop = false;
	W.ok = W.failed = W.overflow = W.retried = 0;
	W.last_log_ms = 0;
	W.log_suppressed = 0;
	ret = -pthread_create(&W.thread, NULL, ctw_main, NULL);
	if (ret) {
		pthread_cond_destroy(&W.cond);
		snprintf(err, errlen, "conntrack writer: cannot start its thread: %s",
			 strerror(-ret));
		goto fail;
	}
	W.running = true;
	return 0;
fail:
	if (W.nl)
		mnl_socket_close(W.nl);
	W.nl = NULL;
	free(W.q);
	W.q = NULL;
	return ret;
}

void gwlb_ctwrite_stop(void)
{
	if (!W.running)
		return;
	pthread_mutex_lock(&W.lock);
	W.stop = true;
	pthread_cond_signal(&W.cond);
	pthread_mutex_unlock(&W.lock);
	pthread_join(W.thread, NULL);
	W.running = false;
	pthread_cond_destroy(&W.cond);
	mnl_socket_close(W.nl);
	W.nl = NULL;
	free(W.q);
	W.q = NULL;
}
