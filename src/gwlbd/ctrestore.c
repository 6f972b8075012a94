/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cookie restore after NAT (see ctrestore.h): a bounded queue filled by the tun workers and
 * one thread that asks conntrack, restores the header and sends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctflush.h"
#include "ctrestore.h"
#include "eni.h"
#include "eniidx.h"
#include "gwlbd.h"
#include "log.h"
#include "tunrx.h"

#define CTR_RECV_TIMEOUT_S	1
#define CTR_WAIT_MS		100	/* idle wake-up: the thread must pass quiescent states */

struct ctr_pkt {
	uint64_t eni_id;
	struct gwlb_pkt_info pi;	/* the tun worker's parse of it */
	uint16_t len;
	uint8_t buf[GWLB_HEADROOM + GWLB_TUN_READ_MAX];	/* inner packet at GWLB_HEADROOM */
};

/* One direction of a flow as conntrack keys it; addresses and ports in network order. */
struct ctr_tuple {
	uint8_t family, proto;
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;		/* ICMP echo: identifier in sport */
	uint8_t icmp_type;
};

static struct {
	bool running;
	unsigned tid;
	struct mnl_socket *nl;
	uint32_t portid, seq;
	int raw_fd;
	uint32_t seed;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ctr_pkt *q;
	unsigned head, len;
	bool stop;

	/* tuples that failed lately: (key hash << 32) | gwlbd_now() */
	_Atomic uint64_t neg[GWLB_CTRESTORE_NEG_SLOTS];

	_Atomic uint64_t restored, lookups, no_entry, no_flow, skipped, busy;
} R = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.raw_fd = -1,
};

static void ctr_count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint32_t ctr_hash(const struct gwlb_flow_key *k)
{
	/* never 0: an empty slot must not match */
	return gwlb_flow_key_hash(k, R.seed) | 1;
}

static bool ctr_neg_hit(const struct gwlb_flow_key *k, uint32_t now)
{
	uint32_t h = ctr_hash(k);
	uint64_t v = atomic_load_explicit(&R.neg[h % GWLB_CTRESTORE_NEG_SLOTS],
					  memory_order_relaxed);

	return (uint32_t)(v >> 32) == h && now - (uint32_t)v < GWLB_CTRESTORE_NEG_TTL;
}

static void ctr_neg_add(const struct gwlb_flow_key *k)
{
	uint32_t h = ctr_hash(k);

	atomic_store_explicit(&R.neg[h % GWLB_CTRESTORE_NEG_SLOTS],
			      (uint64_t)h << 32 | gwlbd_now(), memory_order_relaxed);
}

static bool ctr_echo_invert(uint8_t family, uint8_t type, uint8_t *inv)
{
	if (family == 4 && (type == 8 || type == 0)) {
		*inv = type == 8 ? 0 : 8;
		return true;
	}
	if (family == 6 && (type == 128 || type == 129)) {
		*inv = type == 128 ? 129 : 128;
		return true;
	}
	return false;
}

/* What conntrack can be asked about: ported protocols and ICMP echo (not MLD, ND...). */
static bool ctr_keyable(const uint8_t *p, size_t len, const struct gwlb_pkt_info *pi)
{
	uint8_t inv;

	switch (pi->key.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		return true;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return pi->l4_off && (size_t)pi->l4_off + 8 <= len &&
		       ctr_echo_invert(pi->key.family, p[pi->l4_off], &inv);
	default:
		return false;
	}
}

/* The packet's own tuple, as it would be read off the wire (the flow key is canonical). */
static int ctr_tuple_of(const uint8_t *p, size_t len, const struct gwlb_pkt_info *pi,
			struct ctr_tuple *t)
{
	size_t alen = pi->key.family == 6 ? 16 : 4, off = pi->key.family == 6 ? 8 : 12;

	memset(t, 0, sizeof(*t));
	t->family = pi->key.family;
	t->proto = pi->key.proto;
	memcpy(t->saddr, p + off, alen);
	memcpy(t->daddr, p + off + alen, alen);
	switch (t->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		memcpy(&t->sport, p + pi->l4_off, 2);
		memcpy(&t->dport, p + pi->l4_off + 2, 2);
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if ((size_t)pi->l4_off + 8 > len || !ctr_echo_invert(t->family, p[pi->l4_off],
								      &t->icmp_type))
			return -EPROTONOSUPPORT;
		t->icmp_type = p[pi->l4_off];
		memcpy(&t->sport, p + pi->l4_off + 4, 2);
		return 0;
	default:
		return -EPROTONOSUPPORT;
	}
}

/* The same flow seen from the other side: what conntrack stores for the other direction. */
static void ctr_tuple_invert(const struct ctr_tuple *t, struct ctr_tuple *inv)
{
	*inv = *t;
	memcpy(inv->saddr, t->daddr, sizeof(inv->saddr));
	memcpy(inv->daddr, t->saddr, sizeof(inv->daddr));
	if (t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6) {
		ctr_echo_invert(t->family, t->icmp_type, &inv->icmp_type);
		return;
	}
	inv->sport = t->dport;
	inv->dport = t->sport;
}

static void ctr_put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct ctr_tuple *t)
{
	struct nlattr *tn, *n;
	bool v6 = t->family == 6;

	tn = mnl_attr_nest_start(nlh, type);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, v6 ? 16 : 4, t->saddr);
	mnl_attr_put(nlh, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, v6 ? 16 : 4, t->daddr);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	if (t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6) {
		mnl_attr_put_u16(nlh, v6 ? CTA_PROTO_ICMPV6_ID : CTA_PROTO_ICMP_ID, t->sport);
		mnl_attr_put_u8(nlh, v6 ? CTA_PROTO_ICMPV6_TYPE : CTA_PROTO_ICMP_TYPE, t->icmp_type);
		mnl_attr_put_u8(nlh, v6 ? CTA_PROTO_ICMPV6_CODE : CTA_PROTO_ICMP_CODE, 0);
	} else {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, t->sport);
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, t->dport);
	}
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, tn);
}

static int ctr_get_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nfct_nlmsg_parse(nlh, data) < 0)
		return MNL_CB_ERROR;
	return MNL_CB_OK;
}

/*
 * IPCTNL_MSG_CT_GET of the entry with tuple t in direction type (CTA_TUPLE_ORIG/REPLY) and
 * zone: 0 and ct filled, -ENOENT, or -errno.
 */
static int ctr_get(uint16_t type, const struct ctr_tuple *t, uint16_t zone,
		   struct nf_conntrack *ct)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = ++R.seq;
	struct nlmsghdr *nlh;
	ssize_t n;
	int ret;

	/* no NLM_F_ACK: the answer is the entry or an error, one message either way */
	nlh = gwlb_ctflush_header(buf, IPCTNL_MSG_CT_GET, 0,
				  t->family == 6 ? AF_INET6 : AF_INET, seq);
	ctr_put_tuple(nlh, type, t);
	if (zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(zone));
	ctr_count(&R.lookups);
	if (mnl_socket_sendto(R.nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(R.nl, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, R.portid, ctr_get_cb, ct);
		/* an answer to an earlier request that timed out: wait for ours */
		if (ret < 0 && errno == EPROTO)
			continue;
		if (ret < 0)
			return -errno;
		return nfct_attr_is_set(ct, ATTR_L4PROTO) > 0 ? 0 : -ENOENT;
	}
}

/* The flow key of the entry's original (orig) or reply direction. */
static void ctr_entry_key(const struct nf_conntrack *ct, bool orig, uint8_t family, uint8_t proto,
			  struct gwlb_flow_key *k)
{
	const void *s, *d;
	uint16_t sp = 0, dp = 0;

	if (family == 6) {
		s = nfct_get_attr(ct, orig ? ATTR_ORIG_IPV6_SRC : ATTR_REPL_IPV6_SRC);
		d = nfct_get_attr(ct, orig ? ATTR_ORIG_IPV6_DST : ATTR_REPL_IPV6_DST);
	} else {
		s = nfct_get_attr(ct, orig ? ATTR_ORIG_IPV4_SRC : ATTR_REPL_IPV4_SRC);
		d = nfct_get_attr(ct, orig ? ATTR_ORIG_IPV4_DST : ATTR_REPL_IPV4_DST);
	}
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		/* one identifier for both directions (NAT rarely remaps it) */
		sp = dp = nfct_get_attr_u16(ct, ATTR_ICMP_ID);
	} else {
		sp = nfct_get_attr_u16(ct, orig ? ATTR_ORIG_PORT_SRC : ATTR_REPL_PORT_SRC);
		dp = nfct_get_attr_u16(ct, orig ? ATTR_ORIG_PORT_DST : ATTR_REPL_PORT_DST);
	}
	if (!s || !d) {
		memset(k, 0, sizeof(*k));
		return;
	}
	gwlb_flow_key_make(k, family, proto, s, d, sp, dp);
}

/*
 * The flow entry of ENI e that packet p (tuple t) belongs to before NAT. 0 and *v, or
 * -ENOENT (no conntrack entry), -ESRCH (an entry, but no flow of this ENI), -errno.
 */
static int ctr_find(const struct eni *e, const struct ctr_tuple *t, struct gwlb_flow_val *v)
{
	struct ctr_tuple inv;
	struct gwlb_flow_key k;
	struct nf_conntrack *ct;
	bool orig_dir;
	int ret;

	ct = nfct_new();
	if (!ct)
		return -ENOMEM;
	ctr_tuple_invert(t, &inv);
	/* original direction after NAT: its reversal is the reply tuple, in zone 0 */
	ret = ctr_get(CTA_TUPLE_REPLY, &inv, 0, ct);
	orig_dir = true;
	if (ret == -ENOENT) {
		/* reply direction after NAT: its reversal is the original tuple, in the ENI's zone */
		nfct_destroy(ct);
		ct = nfct_new();
		if (!ct)
			return -ENOMEM;
		ret = ctr_get(CTA_TUPLE_ORIG, &inv, gwlb_eniidx_zone(e->index), ct);
		orig_dir = false;
	}
	if (ret)
		goto cleanup;
	ret = -ESRCH;
	if (gwlb_ctflush_owner(ct) != e->index)
		goto cleanup;
	/* the other direction's tuple is the one the flow arrived with */
	ctr_entry_key(ct, orig_dir, t->family, t->proto, &k);
	k.eni_idx = e->idx;
	if (k.family && gwlb_flowtab_lookup(gwlbd.ft, &k, gwlbd_now(), v) == 0)
		ret = 0;
cleanup:
	nfct_destroy(ct);
	return ret;
}

static void ctr_drop(struct eni *e, const struct gwlb_flow_key *k)
{
	ctr_neg_add(k);
	gwlb_ctr_add(&gwlbd.drops[GWLB_DROP_NO_FLOW], 1);
	if (e)
		gwlb_ctr_add(&e->drops[GWLB_DROP_NO_FLOW], 1);
}

static void ctr_process(struct ctr_pkt *c)
{
	uint8_t *inner = c->buf + GWLB_HEADROOM, *start;
	struct gwlb_pkt_info pi = c->pi;
	struct gwlb_flow_val v;
	struct ctr_tuple t;
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct eni *e;
	size_t total;
	int ret;

	e = gwlb_eni_lookup(c->eni_id);
	if (!e || atomic_load(&e->state) != ENI_READY) {
		gwlb_ctr_add(&gwlbd.drops[GWLB_DROP_ENI_GONE], 1);
		return;
	}
	pi.key.eni_idx = e->idx;
	ret = ctr_tuple_of(inner, c->len, &pi, &t);
	if (!ret)
		ret = ctr_find(e, &t, &v);
	if (ret) {
		ctr_count(ret == -ESRCH ? &R.no_flow : &R.no_entry);
		if (ret != -ENOENT && ret != -ESRCH && ret != -EPROTONOSUPPORT)
			log_pkt(GWLB_LS_TUNNEL, GWLB_LL_IMPORTANT, "%s: conntrack lookup failed: %s",
				e->gwo, strerror(-ret));
		else if (gwlb_log_enabled(GWLB_LS_TUNNEL, GWLB_LL_DEBUG)) {
			char ks[128];

			log_pkt(GWLB_LS_TUNNEL, GWLB_LL_DEBUG, "%s: no flow for %s%s: dropped",
				e->gwo, gwlb_flow_key_str(&pi.key, ks, sizeof(ks)),
				ret == -ESRCH ? " (conntrack has it, the flow table not)" :
				" (nor in conntrack)");
		}
		ctr_drop(e, &pi.key);
		return;
	}
	/* the flow's next packets find their header on the fast path */
	gwlb_flowtab_update(gwlbd.ft, &pi.key, &v, gwlbd_now());
	start = gwlb_tunrx_encap(inner, c->len, &v, &total);
	if (!start) {
		gwlb_ctr_add(&e->drops[GWLB_DROP_TOO_BIG], 1);
		gwlb_ctr_add(&gwlbd.drops[GWLB_DROP_TOO_BIG], 1);
		return;
	}
	dst.sin_addr.s_addr = v.outer_remote;
	if (sendto(R.raw_fd, start, total, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		gwlb_ctr_add(&e->drops[GWLB_DROP_SEND_ERROR], 1);
		gwlb_ctr_add(&gwlbd.drops[GWLB_DROP_SEND_ERROR], 1);
		return;
	}
	ctr_count(&R.restored);
	gwlb_ctr_add(&e->nat_restored, 1);
	gwlb_ctr_add(&e->tx_pkts, 1);
	gwlb_ctr_add(&e->tx_bytes, c->len);
}

static void *ctr_main(void *arg)
{
	(void)arg;
	gwlb_qsbr_online(&gwlbd.qsbr, R.tid);
	pthread_mutex_lock(&R.lock);
	while (!R.stop) {
		if (!R.len) {
			struct timespec ts;

			pthread_mutex_unlock(&R.lock);
			gwlb_qsbr_quiescent(&gwlbd.qsbr, R.tid);
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += CTR_WAIT_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&R.lock);
			if (!R.len && !R.stop)
				pthread_cond_timedwait(&R.cond, &R.lock, &ts);
			continue;
		}
		/* the head slot stays ours until popped: producers only fill behind it */
		struct ctr_pkt *c = &R.q[R.head];

		pthread_mutex_unlock(&R.lock);
		ctr_process(c);
		gwlb_qsbr_quiescent(&gwlbd.qsbr, R.tid);
		pthread_mutex_lock(&R.lock);
		R.head = (R.head + 1) % GWLB_CTRESTORE_QUEUE_LEN;
		R.len--;
	}
	pthread_mutex_unlock(&R.lock);
	gwlb_qsbr_offline(&gwlbd.qsbr, R.tid);
	return NULL;
}

bool gwlb_ctrestore_submit(struct eni *e, const uint8_t *inner, size_t len,
			   const struct gwlb_pkt_info *pi, uint32_t now)
{
	struct ctr_pkt *c;

	if (!R.running)
		return false;
	if ((pi->flags & (GWLB_PKT_ICMP_ERR | GWLB_PKT_FRAG_LATER)) || len > GWLB_TUN_READ_MAX ||
	    !ctr_keyable(inner, len, pi) || ctr_neg_hit(&pi->key, now)) {
		ctr_count(&R.skipped);
		return false;
	}
	pthread_mutex_lock(&R.lock);
	if (R.len == GWLB_CTRESTORE_QUEUE_LEN) {
		pthread_mutex_unlock(&R.lock);
		ctr_count(&R.busy);
		return false;
	}
	c = &R.q[(R.head + R.len) % GWLB_CTRESTORE_QUEUE_LEN];
	c->eni_id = e->id;
	c->pi = *pi;
	c->len = (uint16_t)len;
	memcpy(c->buf + GWLB_HEADROOM, inner, len);
	R.len++;
	pthread_cond_signal(&R.cond);
	pthread_mutex_unlock(&R.lock);
	return true;
}

void gwlb_ctrestore_stats(struct gwlb_ctrestore_stats *st)
{
	st->restored = atomic_load_explicit(&R.restored, memory_order_relaxed);
	st->lookups = atomic_load_explicit(&R.lookups, memory_order_relaxed);
	st->no_entry = atomic_load_explicit(&R.no_entry, memory_order_relaxed);
	st->no_flow = atomic_load_explicit(&R.no_flow, memory_order_relaxed);
	st->skipped = atomic_load_explicit(&R.skipped, memory_order_relaxed);
	st->busy = atomic_load_explicit(&R.busy, memory_order_relaxed);
}

int gwlb_ctrestore_start(unsigned tid, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	int ret;

	if (R.running)
		return -EALREADY;
	R.tid = tid;
	R.seed = (uint32_t)time(NULL) * 2654435761u;
	R.q = calloc(GWLB_CTRESTORE_QUEUE_LEN, sizeof(*R.q));
	if (!R.q) {
		snprintf(err, errlen, "conntrack restore: out of memory");
		return -ENOMEM;
	}
	ret = gwlb_ctflush_open(&R.nl, &R.portid, CTR_RECV_TIMEOUT_S, err, errlen);
	if (ret)
		goto fail;
	R.raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (R.raw_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "conntrack restore: raw socket: %s", strerror(-ret));
		goto fail;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&R.cond, &ca);
	pthread_condattr_destroy(&ca);
	R.head = R.len = 0;
	R.stop = false;
	ret = -pthread_create(&R.thread, NULL, ctr_main, NULL);
	if (ret) {
		pthread_cond_destroy(&R.cond);
		snprintf(err, errlen, "conntrack restore: cannot start its thread: %s",
			 strerror(-ret));
		goto fail;
	}
	R.running = true;
	return 0;
fail:
	if (R.nl)
		mnl_socket_close(R.nl);
	R.nl = NULL;
	if (R.raw_fd >= 0)
		close(R.raw_fd);
	R.raw_fd = -1;
	free(R.q);
	R.q = NULL;
	return ret;
}

void gwlb_ctrestore_stop(void)
{
	if (!R.running)
		return;
	pthread_mutex_lock(&R.lock);
	R.stop = true;
	pthread_cond_signal(&R.cond);
	pthread_mutex_unlock(&R.lock);
	pthread_join(R.thread, NULL);
	R.running = false;
	pthread_cond_destroy(&R.cond);
	mnl_socket_close(R.nl);
	R.nl = NULL;
	close(R.raw_fd);
	R.raw_fd = -1;
	free(R.q);
	R.q = NULL;
}
