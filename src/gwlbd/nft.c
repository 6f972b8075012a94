/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbd's nftables table, through libnftnl batches. Every change is one transaction: the
 * messages go in one nfnetlink batch, only the last one asks for an ACK, and the kernel
 * answers errors in message order, so reading up to the last message's answer (or an
 * answer to the batch header, which is how the kernel reports a failed commit) sees
 * everything the transaction did.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "eniidx.h"
#include "nft.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* a batch page; a message may run this far past its page */
#define NFT_BATCH_PAGE		(64 * 1024)
#define NFT_MSG_MAX		(16 * 1024)	/* largest message we build (64 elements) */
#define NFT_TX_WHAT		32	/* messages whose description we keep for errors */
#define NFT_SET_CHUNK		64	/* elements per NEWSETELEM/DELSETELEM message */
#define NFT_RECV_TIMEOUT_S	10
#define NFT_RECV_BUF		(32 * 1024)

/* ct state bit of "new" (NF_CT_STATE_BIT(IP_CT_NEW)), as nft encodes `ct state new` */
#define NFT_CT_STATE_NEW	(1u << 3)

static const char *queue_path = "none";
static uint32_t seq_next;

struct nft_tx {
	struct nftnl_batch *batch;
	uint32_t seq_begin;		/* batch header */
	uint32_t seq;			/* next message */
	uint32_t last_seq;		/* last object message: the one that asks for an ACK */
	unsigned n;			/* object messages */
	const char *what[NFT_TX_WHAT];	/* what message seq_begin + 1 + i does, for errors */
	uint32_t err_seq;		/* after a failed send: the message the kernel refused */
	uint32_t queue_seq;		/* the queue rule's message */
	uint32_t set_id;		/* last NFTA_SET_ID given to a new set */
	bool nomem;			/* a batch page could not be had: do not send */
};

/* Each transaction has its own socket: its numbers only need to differ within it. */
static uint32_t nft_seq(void)
{
	return __atomic_add_fetch(&seq_next, 1u << 16, __ATOMIC_RELAXED);
}

/*
 * After the payload is in: move on. A message that does not fit its page is moved to a
 * new one, so pointers to messages do not survive this.
 */
static void nft_tx_next(struct nft_tx *tx)
{
	if (nftnl_batch_update(tx->batch) < 0)
		tx->nomem = true;
}

static int nft_tx_init(struct nft_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
	tx->batch = nftnl_batch_alloc(NFT_BATCH_PAGE, NFT_BATCH_PAGE);
	if (!tx->batch)
		return -ENOMEM;
	/* a block of sequence numbers for this transaction, begin .. end */
	tx->seq_begin = nft_seq();
	tx->seq = tx->seq_begin + 1;
	nftnl_batch_begin(nftnl_batch_buffer(tx->batch), tx->seq_begin);
	nft_tx_next(tx);
	return 0;
}

static void nft_tx_fini(struct nft_tx *tx)
{
	if (tx->batch)
		nftnl_batch_free(tx->batch);
	tx->batch = NULL;
}

static struct nlmsghdr *nft_tx_msg(struct nft_tx *tx, uint16_t type, uint16_t family,
				   uint16_t flags, const char *what)
{
	uint32_t used = nftnl_batch_buffer_len(tx->batch), room = 2 * NFT_BATCH_PAGE - used;
	struct nlmsghdr *nlh;

	/* this libmnl leaves attribute padding as it finds it: no stale bytes to the kernel */
	memset(nftnl_batch_buffer(tx->batch), 0, room < NFT_MSG_MAX ? room : NFT_MSG_MAX);
	nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(tx->batch), type, family, flags, tx->seq);
	if (tx->n < NFT_TX_WHAT)
		tx->what[tx->n] = what;
	tx->n++;
	tx->last_seq = tx->seq++;
	return nlh;
}

static const char *nft_tx_what(const struct nft_tx *tx, uint32_t seq)
{
	uint32_t i = seq - tx->seq_begin - 1;

	if (seq == tx->seq_begin)
		return "transaction";
	if (i < NFT_TX_WHAT && i < tx->n && tx->what[i])
		return tx->what[i];
	return "batch message";
}

static struct mnl_socket *nft_socket(size_t sndbuf)
{
	struct timeval tv = { .tv_sec = NFT_RECV_TIMEOUT_S };
	struct mnl_socket *nl;
	int one = 1, fd, sz;

	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	fd = mnl_socket_get_fd(nl);
	/* acks without a copy of the request */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* the kernel takes the whole batch as one skb, bounded by the send buffer */
	if (sndbuf > 128 * 1024) {
		sz = sndbuf > (1u << 30) ? 1 << 30 : (int)sndbuf;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	return nl;
}

/* Only the last message asks for an ACK: find it in the last page. */
static int nft_tx_ack_last(struct nft_tx *tx)
{
	int niov = nftnl_batch_iovec_len(tx->batch), len;
	struct nlmsghdr *nlh, *last = NULL;
	struct iovec *iov;

	iov = calloc(niov, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	nftnl_batch_iovec(tx->batch, iov, niov);
	nlh = iov[niov - 1].iov_base;
	len = (int)iov[niov - 1].iov_len;
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		last = nlh;
	free(iov);
	if (!last || last->nlmsg_seq != tx->last_seq)
		return -EPROTO;
	last->nlmsg_flags |= NLM_F_ACK;
	return 0;
}

/*
 * Send the transaction (with its end message when commit, without it to have the kernel
 * only validate) and read the answers. 0 or the first error, its message in tx->err_seq.
 */
static int nft_tx_send(struct nft_tx *tx, bool commit)
{
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct mnl_socket *nl = NULL;
	struct iovec *iov = NULL;
	struct msghdr msg = { 0 };
	uint32_t portid, last_seq;
	char *buf = NULL;
	int niov, ret = 0, first = 0;
	bool done = false;
	size_t total = 0;

	if (!tx->n)
		return 0;
	if (tx->nomem)
		return -ENOMEM;
	last_seq = tx->last_seq;
	ret = nft_tx_ack_last(tx);
	if (ret)
		return ret;
	if (commit) {
		nftnl_batch_end(nftnl_batch_buffer(tx->batch), tx->seq++);
		nft_tx_next(tx);
		if (tx->nomem)
			return -ENOMEM;
	}

	niov = nftnl_batch_iovec_len(tx->batch);
	iov = calloc(niov, sizeof(*iov));
	buf = malloc(NFT_RECV_BUF);
	if (!iov || !buf) {
		ret = -ENOMEM;
		goto cleanup;
	}
	nftnl_batch_iovec(tx->batch, iov, niov);
	for (int i = 0; i < niov; i++)
		total += iov[i].iov_len;
	nl = nft_socket(total + 4096);
	if (!nl) {
		ret = -errno;
		goto cleanup;
	}
	portid = mnl_socket_get_portid(nl);

	msg.msg_name = &snl;
	msg.msg_namelen = sizeof(snl);
	msg.msg_iov = iov;
	msg.msg_iovlen = niov;
	if (sendmsg(mnl_socket_get_fd(nl), &msg, 0) < 0) {
		ret = -errno;
		goto cleanup;
	}

	while (!done) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, NFT_RECV_BUF);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;

		if (n < 0) {
			ret = (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno;
			goto cleanup;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e;

			if (nlh->nlmsg_pid != portid && nlh->nlmsg_pid != 0)
				continue;
			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error && !first) {
				first = e->error;
				tx->err_seq = nlh->nlmsg_seq;
			}
			/* the last message's answer ends it; so does one about the whole batch */
			if (nlh->nlmsg_seq == last_seq || nlh->nlmsg_seq == tx->seq_begin)
				done = true;
		}
	}
	ret = first;
cleanup:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	free(iov);
	return ret;
}

/* ---- expressions ---- */

static int rule_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int e_meta_load(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return rule_add(r, e);
}

static int e_meta_set(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
	}
	return rule_add(r, e);
}

static int e_ct_load(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	return rule_add(r, e);
}

static int e_ct_set(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
	}
	return rule_add(r, e);
}

/* reg1 = (reg1 & mask) ^ xor, 32 bits in host order (marks and ct state are host order) */
static int e_bitwise(struct nftnl_rule *r, uint32_t mask, uint32_t xor)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &xor, sizeof(xor));
	}
	return rule_add(r, e);
}

static int e_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return rule_add(r, e);
}

static int e_cmp_u32(struct nftnl_rule *r, uint32_t op, uint32_t v)
{
	return e_cmp(r, op, &v, sizeof(v));
}

/* meta KEY into register dreg (a 32-bit NFT_REG32_* for concatenations) */
static int e_meta_load_reg(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return rule_add(r, e);
}

static int e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len,
		     uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return rule_add(r, e);
}

/* meta nfproto ipv4|ipv6: what nft adds before an ip/ip6 payload match in an inet table */
static int e_nfproto(struct nftnl_rule *r, int family)
{
	uint8_t proto = family == 6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	int ret;

	ret = e_meta_load(r, NFT_META_NFPROTO);
	if (!ret)
		ret = e_cmp(r, NFT_CMP_EQ, &proto, sizeof(proto));
	return ret;
}

/* The set is found by name, also when it is created in the same transaction. */
static int e_lookup(struct nftnl_rule *r, const char *set, uint32_t sreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	}
	return rule_add(r, e);
}

static int e_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	}
	return rule_add(r, e);
}

static int e_counter(struct nftnl_rule *r)
{
	return rule_add(r, nftnl_expr_alloc("counter"));
}

/* {i,o}ifname match: "gwi-*" compares the first 4 bytes (prefix), "lo" all IFNAMSIZ bytes */
static int e_ifname(struct nftnl_rule *r, uint32_t key, const char *match, uint32_t op)
{
	char name[IFNAMSIZ] = { 0 };
	size_t len = strlen(match);
	int ret;

	ret = e_meta_load(r, key);
	if (ret)
		return ret;
	if (len && match[len - 1] == '*') {
		memcpy(name, match, len - 1);
		return e_cmp(r, op, name, (uint32_t)(len - 1));
	}
	memcpy(name, match, len);
	return e_cmp(r, op, name, sizeof(name));
}

static int e_iifname(struct nftnl_rule *r, const char *match, uint32_t op)
{
	return e_ifname(r, NFT_META_IIFNAME, match, op);
}

static int e_oifname(struct nftnl_rule *r, const char *match, uint32_t op)
{
	return e_ifname(r, NFT_META_OIFNAME, match, op);
}

/* reg1 = ct mark & decision_mask; compare */
static int e_ct_decision(struct nftnl_rule *r, const struct gwlb_nft_cfg *cfg, uint32_t op,
			 uint32_t v)
{
	int ret;

	ret = e_ct_load(r, NFT_CT_MARK);
	if (!ret)
		ret = e_bitwise(r, cfg->decision_mask, 0);
	if (!ret)
		ret = e_cmp_u32(r, op, v);
	return ret;
}

static int e_mark_decision(struct nftnl_rule *r, const struct gwlb_nft_cfg *cfg, uint32_t op,
			   uint32_t v)
{
	int ret;

	ret = e_meta_load(r, NFT_META_MARK);
	if (!ret)
		ret = e_bitwise(r, cfg->decision_mask, 0);
	if (!ret)
		ret = e_cmp_u32(r, op, v);
	return ret;
}

/* ---- objects ---- */

static int udata_comment(uint8_t type, const char *comment, const void **data, uint32_t *len,
			 struct nftnl_udata_buf **ub)
{
	*ub = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 16);
	if (!*ub)
		return -ENOMEM;
	if (!nftnl_udata_put_strz(*ub, type, comment)) {
		nftnl_udata_buf_free(*ub);
		*ub = NULL;
		return -EINVAL;
	}
	*data = nftnl_udata_buf_data(*ub);
	*len = nftnl_udata_buf_len(*ub);
	return 0;
}

static struct nftnl_rule *rule_new_in(const char *table, const char *chain, const char *comment)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *ub;
	const void *data;
	uint32_t len;

	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (comment) {
		if (udata_comment(NFTNL_UDATA_RULE_COMMENT, comment, &data, &len, &ub)) {
			nftnl_rule_free(r);
			return NULL;
		}
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, data, len);
		nftnl_udata_buf_free(ub);
	}
	return r;
}

static struct nftnl_rule *rule_new(const char *chain, const char *comment)
{
	return rule_new_in(GWLB_NFT_TABLE, chain, comment);
}

static const struct gwlb_nft_set *set_find(const struct gwlb_nft_set *v, unsigned n,
					    const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

void gwlb_nft_cfg_init(struct gwlb_nft_cfg *cfg)
{
	*cfg = (struct gwlb_nft_cfg){
		.queue_first = 0,
		.queue_count = 1,
		.fail_open = true,
		.fanout = false,
		.prio_pre = -10,
		.prio_post = 10,
		.decision_mask = GWLB_NFT_DECISION_MASK,
		.decision_shift = GWLB_NFT_DECISION_SHIFT,
		.newflow_bit = GWLB_NFT_NEWFLOW_BIT,
		.iif_match = GWLB_NFT_IIF_MATCH,
	};
}

int gwlb_nft_cfg_check(const struct gwlb_nft_cfg *cfg, char *err, size_t errlen)
{
	const char *why = NULL, *star;
	size_t n;

	if (!cfg->queue_count)
		why = "queue count must be at least 1";
	else if ((uint32_t)cfg->queue_first + cfg->queue_count - 1 > 65535)
		why = "queues past 65535";
	else if (cfg->decision_shift > 30 || cfg->decision_mask != (3u << cfg->decision_shift))
		why = "decision mask must be two adjacent bits at decision_shift";
	else if (!cfg->newflow_bit || (cfg->newflow_bit & (cfg->newflow_bit - 1)))
		why = "new-flow bit must be one bit";
	else if (cfg->newflow_bit & cfg->decision_mask)
		why = "new-flow bit overlaps the decision bits";
	else if (cfg->prio_post <= cfg->prio_pre)
		why = "policy_post must come after policy_pre (higher priority number)";
	else if (!cfg->iif_match || !(n = strlen(cfg->iif_match)) || n >= IFNAMSIZ ||
		 !strcmp(cfg->iif_match, "*") ||
		 ((star = strchr(cfg->iif_match, '*')) && star != cfg->iif_match + n - 1))
		why = "interface match must be a name or a prefix followed by one *";
	for (unsigned i = 0; !why && i < cfg->n_sets; i++) {
		const struct gwlb_nft_set *d = &cfg->sets[i];

		if (!d->name[0] || (d->family != 4 && d->family != 6) ||
		    d->action > GWLB_SET_ACTION_ACCEPT ||
		    (d->action && (d->match < GWLB_SET_MATCH_SRC || d->match > GWLB_SET_MATCH_EITHER)))
			why = "a declared set has a bad spec";
		else if (!strcmp(d->name, GWLB_NFT_DROPFLOW4) || !strcmp(d->name, GWLB_NFT_DROPFLOW6) ||
			 set_find(cfg->sets, i, d->name))
			why = "a declared set's name is taken";
	}
	if (!why)
		return 0;
	if (err && errlen)
		snprintf(err, errlen, "nft: %s", why);
	return -EINVAL;
}

int gwlb_nft_queue_rule_build(struct nftnl_rule *r, const struct gwlb_nft_cfg *cfg, bool native)
{
	struct nftnl_expr *e;
	int ret;

	if (gwlb_nft_cfg_check(cfg, NULL, 0))
		return -EINVAL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, GWLB_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, GWLB_NFT_CHAIN_PRE);
	ret = e_counter(r);
	if (ret)
		return ret;

	if (native) {
		uint16_t flags = 0;

		if (cfg->fail_open)
			flags |= NFT_QUEUE_FLAG_BYPASS;
		if (cfg->fanout)
			flags |= NFT_QUEUE_FLAG_CPU_FANOUT;
		e = nftnl_expr_alloc("queue");
		if (!e)
			return -ENOMEM;
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, cfg->queue_first);
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, cfg->queue_count);
		if (flags)
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_FLAGS, flags);
	} else {
		/*
		 * xt NFQUEUE revision 3 through nft_compat, as iptables-nft writes it: no
		 * NFTA_RULE_COMPAT (that only carries a -p protocol for matches that need
		 * one). The kernel wants the info at its XT_ALIGNed size; libnftnl frees it.
		 */
		size_t sz = XT_ALIGN(sizeof(struct xt_NFQ_info_v3));
		struct xt_NFQ_info_v3 *info = calloc(1, sz);

		if (!info)
			return -ENOMEM;
		info->queuenum = cfg->queue_first;
		info->queues_total = cfg->queue_count;
		if (cfg->fail_open)
			info->flags |= NFQ_FLAG_BYPASS;
		if (cfg->fanout)
			info->flags |= NFQ_FLAG_CPU_FANOUT;
		e = nftnl_expr_alloc("target");
		if (!e) {
			free(info);
			return -ENOMEM;
		}
		nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
		nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
		nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, sz);
	}
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int tx_add_rule(struct nft_tx *tx, struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr *nlh;

	nlh = nft_tx_msg(tx, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_CREATE | NLM_F_APPEND, what);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nft_tx_next(tx);
	nftnl_rule_free(r);
	return 0;
}

static int tx_table(struct nft_tx *tx, uint16_t type, uint16_t flags, const char *name,
		    const char *comment)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_udata_buf *ub = NULL;
	struct nlmsghdr *nlh;
	const void *data;
	uint32_t len;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	if (comment) {
		if (udata_comment(NFTNL_UDATA_TABLE_COMMENT, comment, &data, &len, &ub)) {
			nftnl_table_free(t);
			return -ENOMEM;
		}
		nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, data, len);
		nftnl_udata_buf_free(ub);
	}
	nlh = nft_tx_msg(tx, type, NFPROTO_INET, flags,
			 type == NFT_MSG_DELTABLE ? "delete table" : "add table");
	nftnl_table_nlmsg_build_payload(nlh, t);
	nft_tx_next(tx);
	nftnl_table_free(t);
	return 0;
}

/* add (a no-op if it exists), delete, add: replaces an old table, or none, atomically */
static int tx_table_replace(struct nft_tx *tx, const char *name, const char *comment)
{
	int ret;

	ret = tx_table(tx, NFT_MSG_NEWTABLE, NLM_F_CREATE, name, NULL);
	if (!ret)
		ret = tx_table(tx, NFT_MSG_DELTABLE, 0, name, NULL);
	if (!ret)
		ret = tx_table(tx, NFT_MSG_NEWTABLE, NLM_F_CREATE, name, comment);
	return ret;
}

/* hook < 0: a regular chain */
/* A chain; a base chain (hook >= 0) of type (filter, nat, route) and priority prio. */
static int tx_chain_typed(struct nft_tx *tx, const char *table, const char *name, int hook,
			  int prio, const char *type, const char *comment, const char *what)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_udata_buf *ub = NULL;
	struct nlmsghdr *nlh;
	const void *data;
	uint32_t len;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (hook >= 0) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	if (comment) {
		if (udata_comment(NFTNL_UDATA_CHAIN_COMMENT, comment, &data, &len, &ub)) {
			nftnl_chain_free(c);
			return -ENOMEM;
		}
		nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, data, len);
		nftnl_udata_buf_free(ub);
	}
	nlh = nft_tx_msg(tx, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE, what);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nft_tx_next(tx);
	nftnl_chain_free(c);
	return 0;
}

static int tx_chain(struct nft_tx *tx, const char *table, const char *name, int hook, int prio,
		    const char *comment, const char *what)
{
	return tx_chain_typed(tx, table, name, hook, prio, "filter", comment, what);
}

int gwlb_nft_probe_native_queue(void)
{
	struct gwlb_nft_cfg cfg;
	struct nftnl_rule *r;
	struct nft_tx tx;
	int ret;

	gwlb_nft_cfg_init(&cfg);
	ret = nft_tx_init(&tx);
	if (ret)
		return ret;
	ret = tx_table(&tx, NFT_MSG_NEWTABLE, NLM_F_CREATE, "gwlbnf-probe", NULL);
	if (!ret)
		ret = tx_chain(&tx, "gwlbnf-probe", "probe", -1, 0, NULL, "probe chain");
	if (ret)
		goto cleanup;
	r = nftnl_rule_alloc();
	if (!r) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = gwlb_nft_queue_rule_build(r, &cfg, true);
	if (ret) {
		nftnl_rule_free(r);
		goto cleanup;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "gwlbnf-probe");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "probe");
	tx_add_rule(&tx, r, "probe rule");
	tx.queue_seq = tx.last_seq;

	/* no batch end: the kernel checks every message, then aborts the transaction */
	ret = nft_tx_send(&tx, false);
	if (ret == -ENOENT && tx.err_seq == tx.queue_seq)
		ret = 0;	/* the rule was refused: no "queue" expression */
	else if (!ret)
		ret = 1;
cleanup:
	nft_tx_fini(&tx);
	return ret;
}

/* ---- declared sets and sticky drops ---- */

/* nftables' datatype numbers (nft's enum datatypes), as `nft list` decodes key types */
#define NFT_TYPE_IPADDR		7
#define NFT_TYPE_IP6ADDR	8
#define NFT_TYPE_INET_PROTOCOL	12
#define NFT_TYPE_INET_SERVICE	13
#define NFT_TYPE_BITS		6	/* a concatenation's type: its fields' types, 6 bits each */

static uint32_t set_key_len(const struct gwlb_nft_set *s)
{
	return s->family == 6 ? 16 : 4;
}

int gwlb_nft_set_load(struct gwlb_nft_set *s, const void *first, const void *last)
{
	size_t klen = set_key_len(s);
	struct gwlb_nft_range *r;

	if (!first || (last && !s->interval && memcmp(first, last, klen)))
		return -EINVAL;
	if (last && memcmp(first, last, klen) > 0)
		return -EINVAL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		r = reallocarray(s->elems, cap, sizeof(*r));
		if (!r)
			return -ENOMEM;
		s->elems = r;
		s->cap = cap;
	}
	r = &s->elems[s->n++];
	memset(r, 0, sizeof(*r));
	memcpy(r->first, first, klen);
	memcpy(r->last, last ? last : first, klen);
	return 0;
}

void gwlb_nft_set_release(struct gwlb_nft_set *s)
{
	free(s->elems);
	s->elems = NULL;
	s->n = s->cap = 0;
}

bool gwlb_nft_set_same(const struct gwlb_nft_set *a, const struct gwlb_nft_set *b)
{
	return !strcmp(a->name, b->name) && a->family == b->family && a->match == b->match &&
	       a->action == b->action && a->interval == b->interval &&
	       a->timeout_ms == b->timeout_ms && !strcmp(a->iifname, b->iifname);
}

static int range_cmp(const void *a, const void *b)
{
	const struct gwlb_nft_range *x = a, *y = b;
	int c = memcmp(x->first, y->first, sizeof(x->first));

	return c ? c : memcmp(x->last, y->last, sizeof(x->last));
}

/* key + 1 in place (big endian); false when it wrapped around past the last key */
static bool key_inc(uint8_t *k, size_t len)
{
	while (len--)
		if (++k[len])
			return true;
	return false;
}

int gwlb_nft_set_ranges(const struct gwlb_nft_set *s, struct gwlb_nft_range **out, size_t *n)
{
	size_t klen = set_key_len(s), i, m = 0;
	struct gwlb_nft_range *v;

	*out = NULL;
	*n = 0;
	if (!s->n)
		return 0;
	v = malloc(s->n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, s->elems, s->n * sizeof(*v));
	qsort(v, s->n, sizeof(*v), range_cmp);
	/* the kernel refuses overlapping intervals: join them (and adjacent ones) here */
	for (i = 1; i < s->n; i++) {
		uint8_t next[16];
		bool wrapped;

		memcpy(next, v[m].last, klen);
		wrapped = !key_inc(next, klen);
		if (wrapped || memcmp(v[i].first, next, klen) <= 0) {
			if (memcmp(v[i].last, v[m].last, klen) > 0)
				memcpy(v[m].last, v[i].last, klen);
			continue;
		}
		v[++m] = v[i];
	}
	*out = v;
	*n = m + 1;
	return 0;
}

size_t gwlb_nft_dropflow_key(const struct gwlb_pkt *pkt, uint8_t *key, const char **set)
{
	size_t alen = pkt->family == 6 ? 16 : 4, off = 0;

	if ((pkt->l4proto != IPPROTO_TCP && pkt->l4proto != IPPROTO_UDP) || !pkt->l4_off ||
	    (pkt->family != 4 && pkt->family != 6) || !pkt->saddr || !pkt->daddr)
		return 0;
	/* each field fills whole 32-bit registers, zero padded, as the rule loads it */
	memset(key, 0, GWLB_NFT_DROPFLOW_KEY6);
	key[off] = pkt->l4proto;
	off += 4;
	memcpy(key + off, pkt->saddr, alen);
	off += alen;
	memcpy(key + off, pkt->daddr, alen);
	off += alen;
	key[off] = pkt->sport >> 8;
	key[off + 1] = pkt->sport & 0xff;
	off += 4;
	key[off] = pkt->dport >> 8;
	key[off + 1] = pkt->dport & 0xff;
	off += 4;
	if (set)
		*set = pkt->family == 6 ? GWLB_NFT_DROPFLOW6 : GWLB_NFT_DROPFLOW4;
	return off;
}

static int set_comment(struct nftnl_set *s, const char *comment)
{
	struct nftnl_udata_buf *ub;
	const void *data;
	uint32_t len;

	if (udata_comment(NFTNL_UDATA_SET_COMMENT, comment, &data, &len, &ub))
		return -ENOMEM;
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, data, len);
	nftnl_udata_buf_free(ub);
	return 0;
}

static struct nftnl_set *set_obj_in(const char *table, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	return s;
}

static struct nftnl_set *set_obj(const char *name)
{
	return set_obj_in(GWLB_NFT_TABLE, name);
}

static int tx_set_msg(struct nft_tx *tx, struct nftnl_set *s, uint16_t type, uint16_t flags,
		      const char *what)
{
	struct nlmsghdr *nlh;

	/* this kernel refuses a new set without a transaction-local id (EINVAL) */
	if (type == NFT_MSG_NEWSET)
		nftnl_set_set_u32(s, NFTNL_SET_ID, ++tx->set_id);
	nlh = nft_tx_msg(tx, type, NFPROTO_INET, flags, what);
	if (type == NFT_MSG_NEWSETELEM || type == NFT_MSG_DELSETELEM)
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	else
		nftnl_set_nlmsg_build_payload(nlh, s);
	nft_tx_next(tx);
	nftnl_set_free(s);
	return 0;
}

static int tx_set_new(struct nft_tx *tx, const struct gwlb_nft_set *def)
{
	struct nftnl_set *s = set_obj(def->name);
	uint32_t flags = 0;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, def->family == 6 ? NFT_TYPE_IP6ADDR :
			  NFT_TYPE_IPADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, set_key_len(def));
	if (def->interval)
		flags |= NFT_SET_INTERVAL;
	if (def->timeout_ms) {
		flags |= NFT_SET_TIMEOUT;
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, def->timeout_ms);
	}
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	if (set_comment(s, "declared by a verdict module: changes are lost on reload")) {
		nftnl_set_free(s);
		return -ENOMEM;
	}
	return tx_set_msg(tx, s, NFT_MSG_NEWSET, NLM_F_CREATE, def->name);
}

static int tx_set_del(struct nft_tx *tx, const char *name)
{
	struct nftnl_set *s = set_obj(name);

	return s ? tx_set_msg(tx, s, NFT_MSG_DELSET, 0, name) : -ENOMEM;
}

/* DELSETELEM without elements empties the set */
static int tx_set_flush(struct nft_tx *tx, const char *name)
{
	struct nftnl_set *s = set_obj(name);

	return s ? tx_set_msg(tx, s, NFT_MSG_DELSETELEM, 0, name) : -ENOMEM;
}

static int elem_add(struct nftnl_set *s, const uint8_t *key, uint32_t len, bool end)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		return -ENOMEM;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len);
	if (end)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(s, e);
	return 0;
}

/*
 * The static elements. An interval is sent as nft does: its first key, then the key after
 * its last one flagged as an interval end (none when the range runs to the last address).
 */
static int tx_set_load(struct nft_tx *tx, const struct gwlb_nft_set *def)
{
	uint32_t klen = set_key_len(def);
	struct gwlb_nft_range *v = NULL;
	struct nftnl_set *s = NULL;
	size_t n, i, in_msg = 0;
	int ret = 0;

	if (def->interval) {
		ret = gwlb_nft_set_ranges(def, &v, &n);
		if (ret)
			return ret;
	} else {
		v = def->elems;
		n = def->n;
	}
	for (i = 0; i < n; i++) {
		uint8_t end[16];

		if (!s) {
			s = set_obj(def->name);
			if (!s) {
				ret = -ENOMEM;
				goto cleanup;
			}
		}
		ret = elem_add(s, v[i].first, klen, false);
		in_msg++;
		if (!ret && def->interval) {
			memcpy(end, v[i].last, klen);
			if (key_inc(end, klen)) {
				ret = elem_add(s, end, klen, true);
				in_msg++;
			}
		}
		if (ret)
			goto cleanup;
		if (in_msg >= NFT_SET_CHUNK || i + 1 == n) {
			/* NLM_F_CREATE: a dynamic set that kept its elements may hold these */
			tx_set_msg(tx, s, NFT_MSG_NEWSETELEM, NLM_F_CREATE, def->name);
			s = NULL;
			in_msg = 0;
		}
	}
cleanup:
	if (s)
		nftnl_set_free(s);
	if (def->interval)
		free(v);
	return ret;
}

static int tx_dropflow_set(struct nft_tx *tx, int family, uint32_t timeout_ms)
{
	static const uint8_t fields4[] = { 1, 4, 4, 2, 2, 0 }, fields6[] = { 1, 16, 16, 2, 2, 0 };
	uint32_t addr = family == 6 ? NFT_TYPE_IP6ADDR : NFT_TYPE_IPADDR, type = 0;
	const char *name = family == 6 ? GWLB_NFT_DROPFLOW6 : GWLB_NFT_DROPFLOW4;
	const uint32_t types[] = { NFT_TYPE_INET_PROTOCOL, addr, addr, NFT_TYPE_INET_SERVICE,
				   NFT_TYPE_INET_SERVICE };
	struct nftnl_set *s = set_obj(name);

	if (!s)
		return -ENOMEM;
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		type = type << NFT_TYPE_BITS | types[i];
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, family == 6 ? GWLB_NFT_DROPFLOW_KEY6 :
			  GWLB_NFT_DROPFLOW_KEY4);
	nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, family == 6 ? fields6 : fields4,
			   sizeof(fields4) - 1);
	/* recent kernels want the concat flag with a concatenation field list */
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT | NFT_SET_CONCAT);
	nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, timeout_ms);
	if (set_comment(s, "flows dropped on their first packet: retransmits stay in the kernel")) {
		nftnl_set_free(s);
		return -ENOMEM;
	}
	return tx_set_msg(tx, s, NFT_MSG_NEWSET, NLM_F_CREATE, name);
}

/* DELRULE naming only the chain flushes it */
static int tx_chain_flush(struct nft_tx *tx, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, GWLB_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nlh = nft_tx_msg(tx, NFT_MSG_DELRULE, NFPROTO_INET, 0, "flush chain");
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nft_tx_next(tx);
	nftnl_rule_free(r);
	return 0;
}

/*
 * [iifname X] meta nfproto F ip saddr|daddr @S, then counter drop, or
 * ct mark set ct mark & ~D | ACC counter accept: one rule per address the set matches.
 */
static int set_rules(struct nft_tx *tx, const struct gwlb_nft_cfg *cfg, uint8_t action)
{
	uint32_t acc = gwlb_nft_decision_mark(cfg, GWLB_NFT_ACCEPTED);
	char comment[GWLB_NFT_SET_NAME_MAX + 48];
	struct nftnl_rule *r;
	unsigned i, dir;
	int ret = 0;

	for (i = 0; i < cfg->n_sets; i++) {
		const struct gwlb_nft_set *d = &cfg->sets[i];
		uint32_t alen = set_key_len(d);

		if (d->action != action)
			continue;
		for (dir = GWLB_SET_MATCH_SRC; dir <= GWLB_SET_MATCH_DST; dir++) {
			/* ip saddr at 12, daddr at 16; ip6 saddr at 8, daddr at 24 */
			uint32_t off = d->family == 6 ? (dir == GWLB_SET_MATCH_SRC ? 8 : 24) :
					(dir == GWLB_SET_MATCH_SRC ? 12 : 16);

			if (!(d->match & dir))
				continue;
			snprintf(comment, sizeof(comment), "%s: %s address %s", d->name,
				 dir == GWLB_SET_MATCH_SRC ? "source" : "destination",
				 action == GWLB_SET_ACTION_DROP ? "dropped" : "accepted");
			r = rule_new(GWLB_NFT_CHAIN_PRE, comment);
			if (!r)
				return -ENOMEM;
			if (d->iifname[0])
				ret = e_iifname(r, d->iifname, NFT_CMP_EQ);
			if (!ret)
				ret = e_nfproto(r, d->family);
			if (!ret)
				ret = e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, alen, NFT_REG_1);
			if (!ret)
				ret = e_lookup(r, d->name, NFT_REG_1);
			if (!ret && action == GWLB_SET_ACTION_ACCEPT) {
				ret = e_ct_load(r, NFT_CT_MARK);
				if (!ret)
					ret = e_bitwise(r, ~cfg->decision_mask, acc);
				if (!ret)
					ret = e_ct_set(r, NFT_CT_MARK);
			}
			if (!ret)
				ret = e_counter(r);
			if (!ret)
				ret = e_verdict(r, action == GWLB_SET_ACTION_DROP ? NF_DROP :
						NF_ACCEPT);
			if (ret) {
				nftnl_rule_free(r);
				return ret;
			}
			tx_add_rule(tx, r, d->name);
		}
	}
	return 0;
}

/* meta nfproto F meta l4proto . ip saddr . ip daddr . th sport . th dport @dropflowF counter drop */
static int dropflow_rule(struct nft_tx *tx, int family)
{
	uint32_t alen = family == 6 ? 16 : 4, aregs = alen / 4;
	uint32_t soff = family == 6 ? 8 : 12, doff = family == 6 ? 24 : 16;
	const char *set = family == 6 ? GWLB_NFT_DROPFLOW6 : GWLB_NFT_DROPFLOW4;
	struct nftnl_rule *r;
	int ret;

	r = rule_new(GWLB_NFT_CHAIN_PRE, "flow dropped on its first packet");
	if (!r)
		return -ENOMEM;
	ret = e_nfproto(r, family);
	if (!ret)
		ret = e_meta_load_reg(r, NFT_META_L4PROTO, NFT_REG32_00);
	if (!ret)
		ret = e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, soff, alen, NFT_REG32_01);
	if (!ret)
		ret = e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, doff, alen, NFT_REG32_01 + aregs);
	if (!ret)
		ret = e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG32_01 + 2 * aregs);
	if (!ret)
		ret = e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2,
				NFT_REG32_01 + 2 * aregs + 1);
	if (!ret)
		ret = e_lookup(r, set, NFT_REG32_00);
	if (!ret)
		ret = e_counter(r);
	if (!ret)
		ret = e_verdict(r, NF_DROP);
	if (ret) {
		nftnl_rule_free(r);
		return ret;
	}
	return tx_add_rule(tx, r, family == 6 ? "rule: sticky drops (ipv6)" : "rule: sticky drops (ipv4)");
}

/*
 * The ruleset. D = decision_mask, ACC/DROP = the decision values in place, NEW = newflow_bit,
 * IIF = iif_match. nft syntax of each rule in the comment before it.
 */
static int build_rules(struct nft_tx *tx, const struct gwlb_nft_cfg *cfg, bool native)
{
	uint32_t acc = gwlb_nft_decision_mark(cfg, GWLB_NFT_ACCEPTED);
	uint32_t drop = gwlb_nft_decision_mark(cfg, GWLB_NFT_DROPPED);
	uint32_t zero = 0;
	struct nftnl_rule *r;
	int ret = 0;

#define RULE(chain, comment)						\
	do {								\
		r = rule_new(chain, comment);				\
		if (!r)							\
			return -ENOMEM;					\
	} while (0)
#define TRY(x)								\
	do {								\
		ret = (x);						\
		if (ret) {						\
			nftnl_rule_free(r);				\
			return ret;					\
		}							\
	} while (0)

	/* iifname != IIF return: only packets from ENIs are ours */
	RULE(GWLB_NFT_CHAIN_PRE, "not from an ENI");
	TRY(e_iifname(r, cfg->iif_match, NFT_CMP_NEQ));
	TRY(e_verdict(r, NFT_RETURN));
	tx_add_rule(tx, r, "rule: iifname match");

	/* block lists cut decided flows too */
	ret = set_rules(tx, cfg, GWLB_SET_ACTION_DROP);
	if (ret)
		return ret;

	/* ct mark & D == ACC counter accept: decided flows never leave the kernel */
	RULE(GWLB_NFT_CHAIN_PRE, "flow accepted by policy");
	TRY(e_ct_decision(r, cfg, NFT_CMP_EQ, acc));
	TRY(e_counter(r));
	TRY(e_verdict(r, NF_ACCEPT));
	tx_add_rule(tx, r, "rule: accepted flows");

	/* ct mark & D == DROP counter drop */
	RULE(GWLB_NFT_CHAIN_PRE, "flow dropped by policy");
	TRY(e_ct_decision(r, cfg, NFT_CMP_EQ, drop));
	TRY(e_counter(r));
	TRY(e_verdict(r, NF_DROP));
	tx_add_rule(tx, r, "rule: dropped flows");

	if (cfg->dropflow_timeout_ms) {
		ret = dropflow_rule(tx, 4);
		if (!ret)
			ret = dropflow_rule(tx, 6);
	}
	if (!ret)
		ret = set_rules(tx, cfg, GWLB_SET_ACTION_ACCEPT);
	if (ret)
		return ret;

	/*
	 * meta mark set ct mark: without the kernel's NFQUEUE conntrack glue the ct mark only
	 * reaches userspace inside the packet mark
	 */
	RULE(GWLB_NFT_CHAIN_PRE, "ct mark to userspace");
	TRY(e_ct_load(r, NFT_CT_MARK));
	TRY(e_meta_set(r, NFT_META_MARK));
	tx_add_rule(tx, r, "rule: copy ct mark");

	/* ct state new meta mark set meta mark | NEW */
	RULE(GWLB_NFT_CHAIN_PRE, "flag new flows");
	TRY(e_ct_load(r, NFT_CT_STATE));
	TRY(e_bitwise(r, NFT_CT_STATE_NEW, 0));
	TRY(e_cmp(r, NFT_CMP_NEQ, &zero, sizeof(zero)));
	TRY(e_meta_load(r, NFT_META_MARK));
	TRY(e_bitwise(r, ~cfg->newflow_bit, cfg->newflow_bit));
	TRY(e_meta_set(r, NFT_META_MARK));
	tx_add_rule(tx, r, "rule: new-flow bit");

	/* counter queue num FIRST[-LAST] [bypass][,fanout] (native or xt NFQUEUE) */
	RULE(GWLB_NFT_CHAIN_PRE, "undecided: ask the verdict modules");
	TRY(gwlb_nft_queue_rule_build(r, cfg, native));
	tx_add_rule(tx, r, native ? "rule: queue (native nft queue)" :
		    "rule: queue (xt NFQUEUE target through nft_compat)");
	tx->queue_seq = tx->last_seq;

	/*
	 * meta mark & D != 0 iifname IIF counter ct mark set meta mark & ~NEW: the verdict
	 * brought a decision back in the packet mark; store it in conntrack (the verdict's
	 * NFQA_CT is ignored without the glue). Every forwarded packet runs this chain, almost
	 * all with no decision in their mark: the mark test goes first, as it fails cheaper
	 * than the interface-name match.
	 */
	RULE(GWLB_NFT_CHAIN_POST, "store the decision in conntrack");
	TRY(e_mark_decision(r, cfg, NFT_CMP_NEQ, 0));
	TRY(e_iifname(r, cfg->iif_match, NFT_CMP_EQ));
	TRY(e_counter(r));
	TRY(e_meta_load(r, NFT_META_MARK));
	TRY(e_bitwise(r, ~cfg->newflow_bit, 0));
	TRY(e_ct_set(r, NFT_CT_MARK));
	tx_add_rule(tx, r, "rule: store decision");

	/*
	 * meta mark & D == DROP iifname IIF counter drop: a flow drop comes back as an accept
	 * carrying the decision, so that the rule above records it first
	 */
	RULE(GWLB_NFT_CHAIN_POST, "drop decided by policy");
	TRY(e_mark_decision(r, cfg, NFT_CMP_EQ, drop));
	TRY(e_iifname(r, cfg->iif_match, NFT_CMP_EQ));
	TRY(e_counter(r));
	TRY(e_verdict(r, NF_DROP));
	tx_add_rule(tx, r, "rule: drop decision");
#undef RULE
#undef TRY
	return ret;
}

static void nft_strerr(char *err, size_t errlen, const char *what, int ret, const char *hint)
{
	if (err && errlen)
		snprintf(err, errlen, "nft table inet %s: %s: %s%s", GWLB_NFT_TABLE, what,
			 strerror(-ret), hint ? hint : "");
}

/*
 * The end of an install or reload: unless building failed already (ret), add the rules,
 * send the transaction, and say what the kernel refused.
 */
static int tx_rules_commit(struct nft_tx *tx, const struct gwlb_nft_cfg *cfg, bool native,
			   int ret, char *err, size_t errlen)
{
	const char *hint = NULL;

	if (!ret)
		ret = build_rules(tx, cfg, native);
	if (ret) {
		nft_strerr(err, errlen, "building the transaction", ret, NULL);
		return ret;
	}
	ret = nft_tx_send(tx, true);
	if (ret) {
		if (ret == -ENOENT && tx->err_seq == tx->queue_seq)
			hint = native ? " (this kernel has no nft queue: use the compat path)" :
				" (load nft_compat and xt_NFQUEUE)";
		nft_strerr(err, errlen, nft_tx_what(tx, tx->err_seq), ret, hint);
		return ret;
	}
	queue_path = native ? "native" : "compat";
	return 0;
}

int gwlb_nft_install(const struct gwlb_nft_cfg *cfg, bool native, char *err, size_t errlen)
{
	struct nft_tx tx;
	int ret;

	ret = gwlb_nft_cfg_check(cfg, err, errlen);
	if (ret)
		return ret;
	ret = nft_tx_init(&tx);
	if (ret) {
		nft_strerr(err, errlen, "building the transaction", ret, NULL);
		return ret;
	}
	ret = tx_table_replace(&tx, GWLB_NFT_TABLE,
			       "managed by gwlbd: changes are lost when it restarts");
	if (!ret)
		ret = tx_chain(&tx, GWLB_NFT_TABLE, GWLB_NFT_CHAIN_PRE, NF_INET_FORWARD,
			       cfg->prio_pre, "decided flows stay in the kernel, others are queued",
			       "chain " GWLB_NFT_CHAIN_PRE);
	if (!ret)
		ret = tx_chain(&tx, GWLB_NFT_TABLE, GWLB_NFT_CHAIN_POST, NF_INET_FORWARD,
			       cfg->prio_post, "decisions from the verdict to conntrack",
			       "chain " GWLB_NFT_CHAIN_POST);
	if (!ret && cfg->dropflow_timeout_ms) {
		ret = tx_dropflow_set(&tx, 4, cfg->dropflow_timeout_ms);
		if (!ret)
			ret = tx_dropflow_set(&tx, 6, cfg->dropflow_timeout_ms);
	}
	for (unsigned i = 0; !ret && i < cfg->n_sets; i++) {
		ret = tx_set_new(&tx, &cfg->sets[i]);
		if (!ret)
			ret = tx_set_load(&tx, &cfg->sets[i]);
	}
	ret = tx_rules_commit(&tx, cfg, native, ret, err, errlen);
	nft_tx_fini(&tx);
	return ret;
}

int gwlb_nft_reload(const struct gwlb_nft_cfg *cfg, const struct gwlb_nft_set *old,
		    unsigned n_old, bool native, char *err, size_t errlen)
{
	struct nft_tx tx;
	unsigned i;
	int ret;

	ret = gwlb_nft_cfg_check(cfg, err, errlen);
	if (ret)
		return ret;
	ret = nft_tx_init(&tx);
	if (ret) {
		nft_strerr(err, errlen, "building the transaction", ret, NULL);
		return ret;
	}
	/* the rules go first: a set can only be deleted once no rule uses it */
	ret = tx_chain_flush(&tx, GWLB_NFT_CHAIN_PRE);
	if (!ret)
		ret = tx_chain_flush(&tx, GWLB_NFT_CHAIN_POST);
	for (i = 0; !ret && i < n_old; i++) {
		const struct gwlb_nft_set *nw = set_find(cfg->sets, cfg->n_sets, old[i].name);

		if (!nw || !gwlb_nft_set_same(nw, &old[i]))
			ret = tx_set_del(&tx, old[i].name);
	}
	for (i = 0; !ret && i < cfg->n_sets; i++) {
		const struct gwlb_nft_set *nw = &cfg->sets[i];
		const struct gwlb_nft_set *was = set_find(old, n_old, nw->name);

		if (!was || !gwlb_nft_set_same(nw, was))
			ret = tx_set_new(&tx, nw);
		else if (!nw->timeout_ms)
			ret = tx_set_flush(&tx, nw->name);
		if (!ret)
			ret = tx_set_load(&tx, nw);
	}
	ret = tx_rules_commit(&tx, cfg, native, ret, err, errlen);
	nft_tx_fini(&tx);
	return ret;
}

/* Delete table `name` in one transaction; 0 also when there was none. */
static int table_remove(const char *name)
{
	struct nft_tx tx;
	int ret;

	ret = nft_tx_init(&tx);
	if (ret)
		return ret;
	/* add (a no-op if it exists), then delete: no ENOENT when it is not there */
	ret = tx_table(&tx, NFT_MSG_NEWTABLE, NLM_F_CREATE, name, NULL);
	if (!ret)
		ret = tx_table(&tx, NFT_MSG_DELTABLE, 0, name, NULL);
	if (!ret)
		ret = nft_tx_send(&tx, true);
	nft_tx_fini(&tx);
	return ret;
}

int gwlb_nft_remove(void)
{
	int ret = table_remove(GWLB_NFT_TABLE);

	if (!ret)
		queue_path = "none";
	return ret;
}

const char *gwlb_nft_queue_path(void)
{
	return queue_path;
}

/*
 * The kernel gives a conntrack entry room for labels only when, at the entry's creation, its
 * network namespace has a label user: an nft rule with `ct label` (or xt connlabel). A
 * ctnetlink update does not count (it fails with ENOSPC on an entry without room), so
 * gwlbd holds one: a regular chain nothing jumps to, whose one rule is never run but holds
 * the reference as long as the table exists.
 */
int gwlb_nft_connlabel_hold(void)
{
	static const uint8_t zero[16];
	struct nftnl_rule *r = NULL;
	struct nftnl_expr *e;
	struct nft_tx tx;
	int ret;

	ret = nft_tx_init(&tx);
	if (ret)
		return ret;
	ret = tx_chain(&tx, GWLB_NFT_TABLE, GWLB_NFT_CHAIN_CONNLABEL, -1, 0,
		       "never run: keeps conntrack labels on for gwlbd's label writes",
		       "chain " GWLB_NFT_CHAIN_CONNLABEL);
	if (ret)
		goto cleanup;
	r = rule_new(GWLB_NFT_CHAIN_CONNLABEL, NULL);
	e = nftnl_expr_alloc("immediate");
	if (!r || !e) {
		if (e)
			nftnl_expr_free(e);
		ret = -ENOMEM;
		goto cleanup;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, zero, sizeof(zero));
	nftnl_rule_add_expr(r, e);
	ret = e_ct_set(r, NFT_CT_LABELS);
	if (ret)
		goto cleanup;
	tx_add_rule(&tx, r, "rule: ct label set");
	r = NULL;
	ret = nft_tx_send(&tx, true);
cleanup:
	if (r)
		nftnl_rule_free(r);
	nft_tx_fini(&tx);
	return ret;
}

/* ---- sets ---- */

struct set_op {
	char set[NFT_SET_MAXNAMELEN];
	uint32_t timeout_ms;
	uint8_t family;
	bool add;
	uint8_t key_len;
	uint8_t key[NFT_DATA_VALUE_MAXLEN];
};

struct gwlb_nft_set_batch {
	struct set_op *ops;
	size_t n, cap;
};

static int set_op_fill(struct set_op *op, const char *set, int family, const void *key,
		       size_t key_len, uint32_t timeout_ms, bool add)
{
	size_t n = set ? strlen(set) : 0;

	if (!n || n >= sizeof(op->set) || !key || !key_len || key_len > sizeof(op->key))
		return -EINVAL;
	if (family < 0 || family > 255)
		return -EINVAL;
	memcpy(op->set, set, n + 1);
	op->family = family ? (uint8_t)family : NFPROTO_INET;
	op->add = add;
	op->timeout_ms = add ? timeout_ms : 0;
	op->key_len = (uint8_t)key_len;
	memcpy(op->key, key, key_len);
	return 0;
}

static bool set_op_same(const struct set_op *a, const struct set_op *b)
{
	return a->family == b->family && a->add == b->add && !strcmp(a->set, b->set);
}

/* One message for ops[0..n-1], all of one set, family and direction. */
static int tx_set_elems(struct nft_tx *tx, const struct set_op *ops, size_t n)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, GWLB_NFT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, ops[0].set);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, ops[0].family);
	for (size_t i = 0; i < n; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();

		if (!e) {
			nftnl_set_free(s);
			return -ENOMEM;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, ops[i].key, ops[i].key_len);
		if (ops[i].timeout_ms)
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, ops[i].timeout_ms);
		nftnl_set_elem_add(s, e);
	}
	/* NLM_F_CREATE without NLM_F_EXCL: adding an element that is there is not an error */
	nlh = nft_tx_msg(tx, ops[0].add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			 ops[0].family, ops[0].add ? NLM_F_CREATE : 0, ops[0].set);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nft_tx_next(tx);
	nftnl_set_free(s);
	return 0;
}

/* Apply ops in one transaction; the set refused in *what. */
static int set_ops_apply(const struct set_op *ops, size_t n, const char **what)
{
	struct nft_tx tx;
	size_t i = 0;
	int ret;

	*what = NULL;
	ret = nft_tx_init(&tx);
	if (ret)
		return ret;
	while (i < n) {
		size_t j = i + 1;

		while (j < n && j - i < NFT_SET_CHUNK && set_op_same(&ops[i], &ops[j]))
			j++;
		ret = tx_set_elems(&tx, &ops[i], j - i);
		if (ret)
			goto cleanup;
		i = j;
	}
	ret = nft_tx_send(&tx, true);
	if (ret)
		*what = nft_tx_what(&tx, tx.err_seq);
cleanup:
	nft_tx_fini(&tx);
	return ret;
}

int gwlb_nft_set_elem(const char *set, int family, const void *key, size_t key_len,
		      uint32_t timeout_ms, bool add)
{
	struct set_op op;
	const char *what;
	int ret;

	ret = set_op_fill(&op, set, family, key, key_len, timeout_ms, add);
	if (ret)
		return ret;
	return set_ops_apply(&op, 1, &what);
}

struct gwlb_nft_set_batch *gwlb_nft_set_batch_new(void)
{
	return calloc(1, sizeof(struct gwlb_nft_set_batch));
}

void gwlb_nft_set_batch_free(struct gwlb_nft_set_batch *b)
{
	if (!b)
		return;
	free(b->ops);
	free(b);
}

int gwlb_nft_set_batch_add(struct gwlb_nft_set_batch *b, const char *set, int family,
			   const void *key, size_t key_len, uint32_t timeout_ms, bool add)
{
	struct set_op op;
	int ret;

	ret = set_op_fill(&op, set, family, key, key_len, timeout_ms, add);
	if (ret)
		return ret;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct set_op *ops = reallocarray(b->ops, cap, sizeof(*ops));

		if (!ops)
			return -ENOMEM;
		b->ops = ops;
		b->cap = cap;
	}
	b->ops[b->n++] = op;
	return 0;
}

size_t gwlb_nft_set_batch_count(const struct gwlb_nft_set_batch *b)
{
	return b->n;
}

/* Errors that one update can cause without the others being at fault. */
static bool set_err_is_local(int ret)
{
	return ret == -ENOENT || ret == -EINVAL || ret == -EEXIST || ret == -ERANGE ||
	       ret == -E2BIG || ret == -ENOSPC || ret == -EOPNOTSUPP;
}

int gwlb_nft_set_batch_commit(struct gwlb_nft_set_batch *b, size_t *failed, char *err,
			      size_t errlen)
{
	const char *what = NULL;
	size_t nfail = 0;
	int ret, first = 0;

	if (failed)
		*failed = 0;
	if (!b->n)
		return 0;
	ret = set_ops_apply(b->ops, b->n, &what);
	if (!ret)
		goto done;
	if (b->n == 1 || !set_err_is_local(ret)) {
		if (ret == -ENOENT && b->n == 1 && !b->ops[0].add)
			goto done;	/* already gone */
		first = ret;
		nfail = b->n;
		if (err && errlen)
			snprintf(err, errlen, "nft set %s: %s", what ? what : b->ops[0].set,
				 strerror(-ret));
		goto done;
	}
	/* one by one, so that the good updates still land */
	for (size_t i = 0; i < b->n; i++) {
		ret = set_ops_apply(&b->ops[i], 1, &what);
		if (!ret || (ret == -ENOENT && !b->ops[i].add))
			continue;
		nfail++;
		if (!first) {
			first = ret;
			if (err && errlen)
				snprintf(err, errlen, "nft set %s: %s %s", b->ops[i].set,
					 b->ops[i].add ? "add:" : "delete:", strerror(-ret));
		}
	}
done:
	b->n = 0;
	if (failed)
		*failed = nfail;
	return first;
}

/* ---- reading sets back ---- */

/* One dump request of table gwlbnf's sets (elems: of one set's elements); cb per answer. */
static int nft_dump(uint16_t type, const char *set, mnl_cb_t cb, void *arg)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	uint32_t seq = nft_seq(), portid;
	char *buf = malloc(NFT_RECV_BUF);
	int ret = 0;

	if (!s || !buf) {
		ret = -ENOMEM;
		goto cleanup;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, GWLB_NFT_TABLE);
	if (set)
		nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	memset(buf, 0, NFT_MSG_MAX);
	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, seq);
	if (type == NFT_MSG_GETSETELEM)
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	else
		nftnl_set_nlmsg_build_payload(nlh, s);
	nl = nft_socket(0);
	if (!nl) {
		ret = -errno;
		goto cleanup;
	}
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto cleanup;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, NFT_RECV_BUF);

		if (n < 0) {
			ret = (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, arg);
		if (ret <= MNL_CB_STOP) {
			ret = ret < 0 ? -errno : 0;
			break;
		}
	}
cleanup:
	if (nl)
		mnl_socket_close(nl);
	if (s)
		nftnl_set_free(s);
	free(buf);
	return ret;
}

static void set_info_fill(const struct nftnl_set *s, struct gwlb_nft_set_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", nftnl_set_get_str(s, NFTNL_SET_NAME));
	info->family = nftnl_set_get_u32(s, NFTNL_SET_FAMILY);
	info->flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
	info->key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
	info->key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
	if (nftnl_set_is_set(s, NFTNL_SET_TIMEOUT))
		info->timeout_ms = nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT);
	if (nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE))
		info->size = nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE);
}

struct set_list_ctx {
	gwlb_nft_set_fn fn;
	void *arg;
	const char *want;		/* only this set */
	struct gwlb_nft_set_info *out;
	bool found;
};

static int set_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct set_list_ctx *c = data;
	struct gwlb_nft_set_info info;
	struct nftnl_set *s = nftnl_set_alloc();
	int ret = MNL_CB_OK;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		return MNL_CB_ERROR;
	}
	set_info_fill(s, &info);
	nftnl_set_free(s);
	if (c->want) {
		if (!strcmp(info.name, c->want)) {
			*c->out = info;
			c->found = true;
		}
	} else if (c->fn(&info, c->arg)) {
		ret = MNL_CB_STOP;
	}
	return ret;
}

int gwlb_nft_sets_list(gwlb_nft_set_fn fn, void *arg)
{
	struct set_list_ctx c = { .fn = fn, .arg = arg };

	return nft_dump(NFT_MSG_GETSET, NULL, set_list_cb, &c);
}

/* An interval's end key is exclusive on the wire: one less, big-endian. */
static void key_dec(uint8_t *k, uint32_t len)
{
	while (len--) {
		if (k[len]--)
			break;
	}
}

struct elem_ctx {
	gwlb_nft_elem_fn fn;
	void *arg;
	bool interval;
	bool stop;
	/* The kernel dumps an interval set from the top down: each end before its start. */
	bool have_end;
	uint8_t end[64];
	uint32_t end_len;
};

static int elem_one(struct elem_ctx *c, struct nftnl_set_elem *e)
{
	struct gwlb_nft_elem_info ei;
	const void *p;
	uint32_t len = 0;

	memset(&ei, 0, sizeof(ei));
	p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	if (!p || len > sizeof(ei.key))
		return 0;
	if (c->interval && nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
	    (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END)) {
		memcpy(c->end, p, len);
		c->end_len = len;
		c->have_end = true;
		return 0;
	}
	memcpy(ei.key, p, len);
	ei.key_len = len;
	p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len);
	if (p && len <= sizeof(ei.key_end)) {
		/* concatenated ranges carry their (inclusive) end in the element itself */
		memcpy(ei.key_end, p, len);
		ei.key_end_len = len;
	} else if (c->interval) {
		if (c->have_end && c->end_len == ei.key_len) {
			memcpy(ei.key_end, c->end, c->end_len);
			key_dec(ei.key_end, c->end_len);
		} else {
			/* no end below the top of the key space: the range runs to the end */
			memset(ei.key_end, 0xff, ei.key_len);
		}
		ei.key_end_len = ei.key_len;
	}
	c->have_end = false;
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
		ei.timeout_ms = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
		ei.expires_ms = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
	return c->fn(&ei, c->arg);
}

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct elem_ctx *c = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it = NULL;
	struct nftnl_set_elem *e;
	int ret = MNL_CB_OK;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		ret = MNL_CB_ERROR;
		goto cleanup;
	}
	it = nftnl_set_elems_iter_create(s);
	if (!it) {
		ret = MNL_CB_ERROR;
		goto cleanup;
	}
	for (e = nftnl_set_elems_iter_next(it); e; e = nftnl_set_elems_iter_next(it)) {
		if (elem_one(c, e)) {
			ret = MNL_CB_STOP;
			break;
		}
	}
cleanup:
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return ret;
}

int gwlb_nft_set_get(const char *set, struct gwlb_nft_set_info *info, gwlb_nft_elem_fn fn,
		     void *arg)
{
	struct set_list_ctx lc = { .want = set, .out = info };
	struct elem_ctx ec = { .fn = fn, .arg = arg };
	int ret;

	if (!set || !*set || strlen(set) >= sizeof(info->name))
		return -EINVAL;
	ret = nft_dump(NFT_MSG_GETSET, NULL, set_list_cb, &lc);
	if (ret)
		return ret;
	if (!lc.found)
		return -ENOENT;
	if (!fn)
		return 0;
	ec.interval = info->flags & NFT_SET_INTERVAL;
	return nft_dump(NFT_MSG_GETSETELEM, set, elem_cb, &ec);
}

/* nft's datatypes (nftables' enum datatypes) that keys of our sets are likely to have. */
static const struct {
	uint32_t type;
	uint32_t len;
	const char *name;
} nft_types[] = {
	{ 7, 4, "ipv4_addr" },
	{ 8, 16, "ipv6_addr" },
	{ 9, 6, "ether_addr" },
	{ 10, 2, "ether_type" },
	{ 12, 1, "inet_proto" },
	{ 13, 2, "inet_service" },
	{ 19, 4, "mark" },
	{ 20, 4, "iface_index" },
	{ 41, 16, "ifname" },
};

#define NFT_TYPE_BITS	6
#define NFT_CONCAT_MAX	8

/* The parts of a key type, first part first; 0 when one of them is unknown to us. */
static unsigned type_parts(uint32_t key_type, unsigned *idx)
{
	uint32_t part[NFT_CONCAT_MAX];
	unsigned n = 0, i, k;

	while (key_type && n < NFT_CONCAT_MAX) {
		part[n++] = key_type & ((1u << NFT_TYPE_BITS) - 1);
		key_type >>= NFT_TYPE_BITS;
	}
	if (key_type || !n)
		return 0;
	for (i = 0; i < n; i++) {
		for (k = 0; k < sizeof(nft_types) / sizeof(nft_types[0]); k++)
			if (nft_types[k].type == part[n - 1 - i])
				break;
		if (k == sizeof(nft_types) / sizeof(nft_types[0]))
			return 0;
		idx[i] = k;
	}
	return n;
}

const char *gwlb_nft_type_str(uint32_t key_type, char *buf, size_t len)
{
	unsigned idx[NFT_CONCAT_MAX], n = type_parts(key_type, idx), i;
	size_t off = 0;

	if (!n) {
		snprintf(buf, len, "type %u", key_type);
		return buf;
	}
	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? " . " : "", nft_types[idx[i]].name);
	return buf;
}

static void hex_str(const uint8_t *k, uint32_t klen, char *buf, size_t len)
{
	size_t off = 0;
	uint32_t i;

	off = snprintf(buf, len, "0x");
	for (i = 0; i < klen && off + 2 < len; i++)
		off += snprintf(buf + off, len - off, "%02x", k[i]);
}

/* One part of a key; k holds at least the part's length. */
static void part_str(unsigned t, const uint8_t *k, char *buf, size_t len)
{
	uint32_t v32;
	uint16_t v16;

	switch (nft_types[t].type) {
	case 7:
		inet_ntop(AF_INET, k, buf, len);
		break;
	case 8:
		inet_ntop(AF_INET6, k, buf, len);
		break;
	case 9:
		snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", k[0], k[1], k[2], k[3], k[4], k[5]);
		break;
	case 10:
	case 13:
		memcpy(&v16, k, 2);
		snprintf(buf, len, "%u", ntohs(v16));
		break;
	case 12:
		snprintf(buf, len, "%u", k[0]);
		break;
	case 19:
	case 20:
		/* registers hold these in host order */
		memcpy(&v32, k, 4);
		snprintf(buf, len, nft_types[t].type == 19 ? "0x%08x" : "%u", v32);
		break;
	default:
		snprintf(buf, len, "\"%.*s\"", 16, (const char *)k);
		break;
	}
}

/* A whole key: its parts, each padded to 4 bytes as in nft's registers. */
static void key_str(uint32_t key_type, const uint8_t *k, uint32_t klen, char *buf, size_t len)
{
	unsigned idx[NFT_CONCAT_MAX], n = type_parts(key_type, idx), i;
	uint32_t off = 0, need = 0;
	size_t w = 0;

	for (i = 0; i < n; i++)
		need += n > 1 ? (nft_types[idx[i]].len + 3) & ~3u : nft_types[idx[i]].len;
	if (!n || need != klen) {
		hex_str(k, klen, buf, len);
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < n && w < len; i++) {
		char part[64];

		part_str(idx[i], k + off, part, sizeof(part));
		w += snprintf(buf + w, len - w, "%s%s", i ? " . " : "", part);
		off += n > 1 ? (nft_types[idx[i]].len + 3) & ~3u : nft_types[idx[i]].len;
	}
}

/* The prefix length when [a, b] is exactly one prefix, else -1. */
static int prefix_len(const uint8_t *a, const uint8_t *b, uint32_t len)
{
	uint32_t bit, p = len * 8;

	for (bit = 0; bit < len * 8; bit++) {
		uint8_t m = 0x80 >> (bit % 8);

		if ((a[bit / 8] & m) != (b[bit / 8] & m)) {
			p = bit;
			break;
		}
	}
	for (bit = p; bit < len * 8; bit++) {
		uint8_t m = 0x80 >> (bit % 8);

		if ((a[bit / 8] & m) || !(b[bit / 8] & m))
			return -1;
	}
	return (int)p;
}

const char *gwlb_nft_elem_str(uint32_t key_type, const struct gwlb_nft_elem_info *e, char *buf,
			      size_t len)
{
	char lo[160], hi[160];
	int plen;

	key_str(key_type, e->key, e->key_len, lo, sizeof(lo));
	if (!e->key_end_len || (e->key_end_len == e->key_len &&
				!memcmp(e->key, e->key_end, e->key_len))) {
		snprintf(buf, len, "%s", lo);
		return buf;
	}
	if ((key_type == 7 || key_type == 8) && e->key_end_len == e->key_len &&
	    (plen = prefix_len(e->key, e->key_end, e->key_len)) >= 0) {
		snprintf(buf, len, "%s/%d", lo, plen);
		return buf;
	}
	key_str(key_type, e->key_end, e->key_end_len, hi, sizeof(hi));
	snprintf(buf, len, "%s-%s", lo, hi);
	return buf;
}

/*
 * ---- gwlbd's networking table: inet gwlbnf-net ----
 *
 * Owned by gwlbd's main process (the policy host owns inet gwlbnf and never touches this
 * one). It gives each ENI its conntrack zone and the ENI index in the low 16 bits of the
 * packet and ct mark (src/lib/eniidx.h):
 *
 *   map eni_zone { typeof iifname : ct zone }        gwi name -> zone
 *   map eni_mark { type ifname : verdict }           gwi name -> jump eni_<index>
 *   map eni_return { type mark : verdict }           index -> jump eni_<index>
 *   chain eni_<index> {
 *     meta mark set meta mark & 0xffff0000 | <index>
 *     iifname "gwi-*" ct mark set ct mark & 0xffff0000 | <index>
 *   }
 *   chain zone_pre { type filter hook prerouting priority raw;
 *     iifname "gwi-*" ct original zone set iifname map @eni_zone }
 *   chain mark_pre { type filter hook prerouting priority mangle;
 *     iifname "gwi-*" iifname vmap @eni_mark
 *     iifname != "gwi-*" ct mark & 0x0000ffff vmap @eni_return }
 *   chain mark_out { type route hook output priority mangle;
 *     ct mark & 0x0000ffff vmap @eni_return }
 *   map eni_nat { type mark : verdict }              index -> jump nat_<index> (nat mode)
 *   chain nat_<index> { oifname != "gwo-*" masquerade }
 *     or with --uplink: { oifname "<uplink>" masquerade } for each uplink
 *   chain nat_post { type nat hook postrouting priority srcnat;
 *     meta mark & 0x0000ffff vmap @eni_nat }
 *
 * mark_out gives the appliance's own replies (local mode) their ENI's mark, and the route
 * chain makes the kernel route them again with it, so the ENI's fwmark rule applies.
 *
 * Why a chain per ENI rather than `meta mark set meta mark & M | iifname map @m`: an OR of
 * two registers needs a newer nft than this one (1.0.6 refuses it, and could not list it),
 * and the bits above the index (the policy decision, the users') must survive; with the
 * index a constant of the ENI's chain, every rule is a plain mask-and-xor. The chain names
 * are not "zone" and "mark": those are nft keywords, and a listing must read back.
 */

#define NET_PRIO_RAW		(-300)
#define NET_PRIO_MANGLE		(-150)
#define NET_PRIO_SRCNAT		100
/* nft's datatypes and byte orders, as `nft list` decodes the maps */
#define NFT_TYPE_INTEGER	4
#define NFT_TYPE_MARK		19
#define NFT_TYPE_IFNAME		41
#define NFT_BYTEORDER_HOST	1
/* nft's expression ids in a typeof description (nftables' enum expr_types) */
#define NFT_EXPR_ID_META	9
#define NFT_EXPR_ID_CT		12

static void net_strerr(char *err, size_t errlen, const char *what, int ret)
{
	if (err && errlen)
		snprintf(err, errlen, "nft table inet %s: %s: %s", GWLB_NFT_NET_TABLE, what,
			 strerror(-ret));
}

static int e_lookup_map(struct nftnl_rule *r, const char *set, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, dreg);
	}
	return rule_add(r, e);
}

/* One typeof part: {expr id, {key, [dir]}}, as nft writes it. */
static bool udata_typeof(struct nftnl_udata_buf *ub, uint8_t type, uint32_t expr, uint32_t key,
			 bool with_dir)
{
	struct nftnl_udata *n1, *n2;

	n1 = nftnl_udata_nest_start(ub, type);
	if (!n1 || !nftnl_udata_put_u32(ub, NFTNL_UDATA_SET_TYPEOF_EXPR, expr))
		return false;
	n2 = nftnl_udata_nest_start(ub, NFTNL_UDATA_SET_TYPEOF_DATA);
	if (!n2 || !nftnl_udata_put_u32(ub, 0, key) ||
	    (with_dir && !nftnl_udata_put_u32(ub, 1, UINT32_MAX)))	/* no direction */
		return false;
	nftnl_udata_nest_end(ub, n2);
	nftnl_udata_nest_end(ub, n1);
	return true;
}

/* A map of table gwlbnf-net; typeof_zone: eni_zone's `typeof iifname : ct zone`. */
static int net_map_new(struct nft_tx *tx, const char *name, uint32_t key_type, uint32_t key_len,
		       uint32_t data_type, uint32_t data_len, bool typeof_zone)
{
	struct nftnl_set *s = set_obj_in(GWLB_NFT_NET_TABLE, name);
	struct nftnl_udata_buf *ub;
	bool ok;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, data_type);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, data_len);
	/* without the byte orders nft would list a host-order zone as a big-endian number */
	ub = nftnl_udata_buf_alloc(256);
	ok = ub && nftnl_udata_put_u32(ub, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_HOST) &&
	     nftnl_udata_put_u32(ub, NFTNL_UDATA_SET_DATABYTEORDER,
				 data_type == NFT_DATA_VERDICT ? 0 : NFT_BYTEORDER_HOST);
	if (ok && typeof_zone)
		ok = udata_typeof(ub, NFTNL_UDATA_SET_KEY_TYPEOF, NFT_EXPR_ID_META,
				  NFT_META_IIFNAME, false) &&
		     udata_typeof(ub, NFTNL_UDATA_SET_DATA_TYPEOF, NFT_EXPR_ID_CT, NFT_CT_ZONE, true);
	if (!ok) {
		nftnl_udata_buf_free(ub);
		nftnl_set_free(s);
		return -ENOMEM;
	}
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ub),
			   nftnl_udata_buf_len(ub));
	nftnl_udata_buf_free(ub);
	return tx_set_msg(tx, s, NFT_MSG_NEWSET, NLM_F_CREATE, name);
}

/* The end of building rule r: queued when building went well (ret 0), else freed. */
static int net_rule_commit(struct nft_tx *tx, struct nftnl_rule *r, int ret, const char *what)
{
	if (ret) {
		nftnl_rule_free(r);
		return ret;
	}
	return tx_add_rule(tx, r, what);
}

/* {ct,meta} mark & 0x0000ffff vmap @map; key NFT_CT_MARK for the ct mark, else the meta mark */
static int net_mark_vmap(struct nftnl_rule *r, uint32_t key, const char *map)
{
	int ret = key == NFT_CT_MARK ? e_ct_load(r, NFT_CT_MARK) : e_meta_load(r, NFT_META_MARK);

	if (!ret)
		ret = e_bitwise(r, GWLB_ENIIDX_MARK_MASK, 0);
	if (!ret)
		ret = e_lookup_map(r, map, NFT_REG_VERDICT);
	return ret;
}

static int net_rules(struct nft_tx *tx)
{
	struct nftnl_rule *r;
	struct nftnl_expr *e;
	int ret;

	/* iifname "gwi-*" ct original zone set iifname map @eni_zone */
	r = rule_new_in(GWLB_NFT_NET_TABLE, GWLB_NFT_NET_CHAIN_ZONE, NULL);
	if (!r)
		return -ENOMEM;
	ret = e_iifname(r, GWLB_NFT_IIF_MATCH, NFT_CMP_EQ);
	if (!ret)
		ret = e_meta_load(r, NFT_META_IIFNAME);
	if (!ret)
		ret = e_lookup_map(r, GWLB_NFT_NET_MAP_ZONE, NFT_REG_1);
	if (!ret) {
		e = nftnl_expr_alloc("ct");
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_ZONE);
			nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, IP_CT_DIR_ORIGINAL);
			nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
		}
		ret = rule_add(r, e);
	}
	ret = net_rule_commit(tx, r, ret, "rule zone");
	if (ret)
		return ret;

	/* iifname "gwi-*" iifname vmap @eni_mark */
	r = rule_new_in(GWLB_NFT_NET_TABLE, GWLB_NFT_NET_CHAIN_MARK, NULL);
	if (!r)
		return -ENOMEM;
	ret = e_iifname(r, GWLB_NFT_IIF_MATCH, NFT_CMP_EQ);
	if (!ret)
		ret = e_meta_load(r, NFT_META_IIFNAME);
	if (!ret)
		ret = e_lookup_map(r, GWLB_NFT_NET_MAP_MARK, NFT_REG_VERDICT);
	ret = net_rule_commit(tx, r, ret, "rule mark");
	if (ret)
		return ret;

	/* iifname != "gwi-*" ct mark & 0x0000ffff vmap @eni_return: replies regain the mark */
	r = rule_new_in(GWLB_NFT_NET_TABLE, GWLB_NFT_NET_CHAIN_MARK, NULL);
	if (!r)
		return -ENOMEM;
	ret = e_iifname(r, GWLB_NFT_IIF_MATCH, NFT_CMP_NEQ);
	if (!ret)
		ret = net_mark_vmap(r, NFT_CT_MARK, GWLB_NFT_NET_MAP_RETURN);
	ret = net_rule_commit(tx, r, ret, "rule return mark");
	if (ret)
		return ret;

	/* ct mark & 0x0000ffff vmap @eni_return, for what the appliance itself sends */
	r = rule_new_in(GWLB_NFT_NET_TABLE, GWLB_NFT_NET_CHAIN_OUT, NULL);
	if (!r)
		return -ENOMEM;
	ret = net_mark_vmap(r, NFT_CT_MARK, GWLB_NFT_NET_MAP_RETURN);
	ret = net_rule_commit(tx, r, ret, "rule output mark");
	if (ret)
		return ret;

	/* meta mark & 0x0000ffff vmap @eni_nat */
	r = rule_new_in(GWLB_NFT_NET_TABLE, GWLB_NFT_NET_CHAIN_NAT, NULL);
	if (!r)
		return -ENOMEM;
	ret = net_mark_vmap(r, NFT_META_MARK, GWLB_NFT_NET_MAP_NAT);
	return net_rule_commit(tx, r, ret, "rule nat");
}

/* --uplink: the interfaces nat chains masquerade out of (the caller's); none = any but gwo-* */
static const char (*net_uplinks)[IFNAMSIZ];
static unsigned net_n_uplinks;

int gwlb_nft_net_install(const char (*uplinks)[IFNAMSIZ], unsigned n_uplinks, char *err,
			 size_t errlen)
{
	struct nft_tx tx;
	int ret;

	net_uplinks = uplinks;
	net_n_uplinks = uplinks ? n_uplinks : 0;

	ret = nft_tx_init(&tx);
	if (ret) {
		net_strerr(err, errlen, "building the transaction", ret);
		return ret;
	}
	/* a table left by a killed gwlbd goes too */
	ret = tx_table_replace(&tx, GWLB_NFT_NET_TABLE,
			       "managed by gwlbd: ENI zones and marks; removed when it stops");
	if (!ret)
		ret = net_map_new(&tx, GWLB_NFT_NET_MAP_ZONE, NFT_TYPE_IFNAME, IFNAMSIZ,
				  NFT_TYPE_INTEGER, sizeof(uint16_t), true);
	if (!ret)
		ret = net_map_new(&tx, GWLB_NFT_NET_MAP_MARK, NFT_TYPE_IFNAME, IFNAMSIZ,
				  NFT_DATA_VERDICT, 0, false);
	if (!ret)
		ret = net_map_new(&tx, GWLB_NFT_NET_MAP_RETURN, NFT_TYPE_MARK, sizeof(uint32_t),
				  NFT_DATA_VERDICT, 0, false);
	if (!ret)
		ret = tx_chain(&tx, GWLB_NFT_NET_TABLE, GWLB_NFT_NET_CHAIN_ZONE, NF_INET_PRE_ROUTING,
			       NET_PRIO_RAW, "each ENI's flows in its own conntrack zone",
			       "chain " GWLB_NFT_NET_CHAIN_ZONE);
	if (!ret)
		ret = tx_chain(&tx, GWLB_NFT_NET_TABLE, GWLB_NFT_NET_CHAIN_MARK, NF_INET_PRE_ROUTING,
			       NET_PRIO_MANGLE, "the ENI index in the packet and ct mark's low 16 bits",
			       "chain " GWLB_NFT_NET_CHAIN_MARK);
	if (!ret)
		ret = net_map_new(&tx, GWLB_NFT_NET_MAP_NAT, NFT_TYPE_MARK, sizeof(uint32_t),
				  NFT_DATA_VERDICT, 0, false);
	if (!ret)
		ret = tx_chain_typed(&tx, GWLB_NFT_NET_TABLE, GWLB_NFT_NET_CHAIN_OUT,
				     NF_INET_LOCAL_OUT, NET_PRIO_MANGLE, "route",
				     "the appliance's own replies regain their ENI's mark",
				     "chain " GWLB_NFT_NET_CHAIN_OUT);
	if (!ret)
		ret = tx_chain_typed(&tx, GWLB_NFT_NET_TABLE, GWLB_NFT_NET_CHAIN_NAT,
				     NF_INET_POST_ROUTING, NET_PRIO_SRCNAT, "nat",
				     "nat mode ENIs: masquerade out of the uplink",
				     "chain " GWLB_NFT_NET_CHAIN_NAT);
	if (!ret)
		ret = net_rules(&tx);
	if (ret) {
		net_strerr(err, errlen, "building the transaction", ret);
	} else {
		ret = nft_tx_send(&tx, true);
		if (ret)
			net_strerr(err, errlen, nft_tx_what(&tx, tx.err_seq), ret);
	}
	nft_tx_fini(&tx);
	return ret;
}

int gwlb_nft_net_remove(void)
{
	return table_remove(GWLB_NFT_NET_TABLE);
}

/* One element of a gwlbnf-net map: data (data_len bytes) or a jump to chain. */
static int net_elem(struct nft_tx *tx, const char *map, bool add, const void *key,
		    uint32_t key_len, const void *data, uint32_t data_len, const char *chain)
{
	struct nftnl_set *s = set_obj_in(GWLB_NFT_NET_TABLE, map);
	struct nftnl_set_elem *e;

	if (!s)
		return -ENOMEM;
	e = nftnl_set_elem_alloc();
	if (!e) {
		nftnl_set_free(s);
		return -ENOMEM;
	}
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, key_len);
	if (add && chain) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_JUMP);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	} else if (add) {
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, data_len);
	}
	nftnl_set_elem_add(s, e);
	return tx_set_msg(tx, s, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			  add ? NLM_F_CREATE : 0, map);
}

/* meta mark set meta mark & ~M | index; iifname "gwi-*" ct mark set ct mark & ~M | index */
static int net_eni_chain_rules(struct nft_tx *tx, const char *chain, uint32_t mark)
{
	struct nftnl_rule *r;
	int ret;

	r = rule_new_in(GWLB_NFT_NET_TABLE, chain, NULL);
	if (!r)
		return -ENOMEM;
	ret = e_meta_load(r, NFT_META_MARK);
	if (!ret)
		ret = e_bitwise(r, ~GWLB_ENIIDX_MARK_MASK, mark);
	if (!ret)
		ret = e_meta_set(r, NFT_META_MARK);
	ret = net_rule_commit(tx, r, ret, "rule eni mark");
	if (ret)
		return ret;

	r = rule_new_in(GWLB_NFT_NET_TABLE, chain, NULL);
	if (!r)
		return -ENOMEM;
	ret = e_iifname(r, GWLB_NFT_IIF_MATCH, NFT_CMP_EQ);
	if (!ret)
		ret = e_ct_load(r, NFT_CT_MARK);
	if (!ret)
		ret = e_bitwise(r, ~GWLB_ENIIDX_MARK_MASK, mark);
	if (!ret)
		ret = e_ct_set(r, NFT_CT_MARK);
	return net_rule_commit(tx, r, ret, "rule eni ct mark");
}

static int net_masq_rule(struct nft_tx *tx, const char *chain, const char *oif, uint32_t op)
{
	struct nftnl_rule *r = rule_new_in(GWLB_NFT_NET_TABLE, chain, NULL);
	int ret;

	if (!r)
		return -ENOMEM;
	ret = e_oifname(r, oif, op);
	if (!ret)
		ret = rule_add(r, nftnl_expr_alloc("masq"));
	return net_rule_commit(tx, r, ret, "rule eni masquerade");
}

/*
 * Masquerade out of the uplinks, or without --uplink out of anything but a tun of ours (a
 * nat ENI's flow routed back to GWLB keeps its addresses).
 */
static int net_nat_chain_rules(struct nft_tx *tx, const char *chain)
{
	unsigned i;
	int ret = 0;

	if (!net_n_uplinks)
		return net_masq_rule(tx, chain, GWLB_NFT_OIF_MATCH, NFT_CMP_NEQ);
	for (i = 0; !ret && i < net_n_uplinks; i++)
		ret = net_masq_rule(tx, chain, net_uplinks[i], NFT_CMP_EQ);
	return ret;
}

static int net_chain_del(struct nft_tx *tx, const char *chain)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!c || !r) {
		nftnl_chain_free(c);
		nftnl_rule_free(r);
		return -ENOMEM;
	}
	/* DELRULE naming only the chain flushes it; a chain with rules cannot be deleted */
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, GWLB_NFT_NET_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nlh = nft_tx_msg(tx, NFT_MSG_DELRULE, NFPROTO_INET, 0, "flush eni chain");
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nft_tx_next(tx);
	nftnl_rule_free(r);

	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, GWLB_NFT_NET_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	nlh = nft_tx_msg(tx, NFT_MSG_DELCHAIN, NFPROTO_INET, 0, "delete eni chain");
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nft_tx_next(tx);
	nftnl_chain_free(c);
	return 0;
}

int gwlb_nft_net_eni(const char *gwi, uint16_t index, bool add, bool nat, char *err,
		     size_t errlen)
{
	char name[IFNAMSIZ] = { 0 }, chain[32], nat_chain[32];
	uint32_t mark = gwlb_eniidx_mark(index);
	uint16_t zone = gwlb_eniidx_zone(index);
	struct nft_tx tx;
	int ret;

	if (!index || !gwi || strlen(gwi) >= IFNAMSIZ) {
		net_strerr(err, errlen, "bad ENI", -EINVAL);
		return -EINVAL;
	}
	/* an ifname key is the whole IFNAMSIZ bytes, NUL padded, as iifname loads it */
	memcpy(name, gwi, strlen(gwi));
	snprintf(chain, sizeof(chain), GWLB_NFT_NET_CHAIN_ENI "%u", index);
	snprintf(nat_chain, sizeof(nat_chain), GWLB_NFT_NET_CHAIN_ENI_NAT "%u", index);
	ret = nft_tx_init(&tx);
	if (ret) {
		net_strerr(err, errlen, "building the transaction", ret);
		return ret;
	}
	if (add) {
		ret = tx_chain(&tx, GWLB_NFT_NET_TABLE, chain, -1, 0, gwi, "add eni chain");
		if (!ret)
			ret = net_eni_chain_rules(&tx, chain, mark);
		if (!ret)
			ret = net_elem(&tx, GWLB_NFT_NET_MAP_ZONE, true, name, sizeof(name), &zone,
				       sizeof(zone), NULL);
		if (!ret)
			ret = net_elem(&tx, GWLB_NFT_NET_MAP_MARK, true, name, sizeof(name), NULL, 0,
				       chain);
		if (!ret)
			ret = net_elem(&tx, GWLB_NFT_NET_MAP_RETURN, true, &mark, sizeof(mark), NULL,
				       0, chain);
		if (!ret && nat)
			ret = tx_chain(&tx, GWLB_NFT_NET_TABLE, nat_chain, -1, 0, gwi,
				       "add eni nat chain");
		if (!ret && nat)
			ret = net_nat_chain_rules(&tx, nat_chain);
		if (!ret && nat)
			ret = net_elem(&tx, GWLB_NFT_NET_MAP_NAT, true, &mark, sizeof(mark), NULL,
				       0, nat_chain);
	} else {
		/* the maps' jumps first: a chain still jumped to cannot go */
		ret = 0;
		if (nat)
			ret = net_elem(&tx, GWLB_NFT_NET_MAP_NAT, false, &mark, sizeof(mark), NULL,
				       0, NULL);
		if (!ret && nat)
			ret = net_chain_del(&tx, nat_chain);
		if (!ret)
			ret = net_elem(&tx, GWLB_NFT_NET_MAP_RETURN, false, &mark, sizeof(mark),
				       NULL, 0, NULL);
		if (!ret)
			ret = net_elem(&tx, GWLB_NFT_NET_MAP_MARK, false, name, sizeof(name), NULL, 0,
				       NULL);
		if (!ret)
			ret = net_elem(&tx, GWLB_NFT_NET_MAP_ZONE, false, name, sizeof(name), NULL, 0,
				       NULL);
		if (!ret)
			ret = net_chain_del(&tx, chain);
	}
	if (ret) {
		net_strerr(err, errlen, "building the transaction", ret);
	} else {
		ret = nft_tx_send(&tx, true);
		if (ret)
			net_strerr(err, errlen, nft_tx_what(&tx, tx.err_seq), ret);
	}
	nft_tx_fini(&tx);
	return ret;
}
