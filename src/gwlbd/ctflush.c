/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conntrack walk and per-ENI flush with libnetfilter_conntrack over libmnl sockets. The
 * flush collects its entries first and deletes them after the dump: deleting during a dump
 * can make the kernel resume it from another bucket, skipping entries.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctflush.h"
#include "ctmap.h"

#define CTF_RECV_TIMEOUT_S	5
#ifdef MNL_SOCKET_DUMP_SIZE
#define CTF_BUF			MNL_SOCKET_DUMP_SIZE
#else
#define CTF_BUF			32768
#endif

int gwlb_ctflush_open(struct mnl_socket **out, uint32_t *portid, unsigned timeout_s, char *err,
		      size_t errlen)
{
	struct timeval tv = { .tv_sec = timeout_s };
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int ret;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		snprintf(err, errlen, "ctnetlink socket: %s%s", strerror(-ret),
			 ret == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
		if (nl)
			mnl_socket_close(nl);
		return ret;
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*portid = mnl_socket_get_portid(nl);
	*out = nl;
	return 0;
}

struct nlmsghdr *gwlb_ctflush_header(char *buf, uint16_t type, uint16_t flags, uint8_t family,
				     uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfh;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
	nfh->nfgen_family = family;
	nfh->version = NFNETLINK_V0;
	nfh->res_id = 0;
	return nlh;
}

struct ctf_walk {
	gwlb_ctflush_fn fn;
	void *arg;
	int ret;
};

static int ctf_walk_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctf_walk *w = data;
	/* A fresh object per entry: parsing into a used one keeps the attributes it lacks. */
	struct nf_conntrack *ct = nfct_new();
	int ret = 0;

	if (!ct) {
		w->ret = -ENOMEM;
		return MNL_CB_ERROR;
	}
	/* An entry libnetfilter_conntrack cannot read is skipped. */
	if (nfct_nlmsg_parse(nlh, ct) >= 0)
		ret = w->fn(ct, w->arg);
	nfct_destroy(ct);
	if (ret < 0) {
		w->ret = ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int gwlb_ctflush_foreach(gwlb_ctflush_fn fn, void *arg, char *err, size_t errlen)
{
	struct ctf_walk w = { .fn = fn, .arg = arg };
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	uint32_t portid, seq = 1;
	char *buf;
	ssize_t n;
	int ret;

	buf = malloc(CTF_BUF);
	if (!buf) {
		snprintf(err, errlen, "conntrack dump: out of memory");
		return -ENOMEM;
	}
	ret = gwlb_ctflush_open(&nl, &portid, CTF_RECV_TIMEOUT_S, err, errlen);
	if (ret)
		goto cleanup;
	nlh = gwlb_ctflush_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC, seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		snprintf(err, errlen, "conntrack dump request: %s", strerror(-ret));
		goto cleanup;
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, CTF_BUF);
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "conntrack dump: %s",
				 ret == -EAGAIN ? "no answer from the kernel" : strerror(-ret));
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, ctf_walk_cb, &w);
		if (ret < 0 && w.ret) {
			ret = w.ret;
			snprintf(err, errlen, "conntrack dump: %s", strerror(-ret));
			break;
		}
		if (ret < 0) {
			ret = -errno;
			snprintf(err, errlen, "conntrack dump: %s%s", strerror(-ret),
				 ret == -ENOENT ? " (nf_conntrack_netlink not loaded?)" : "");
			break;
		}
		if (ret == MNL_CB_STOP) {
			ret = 0;
			break;
		}
	}
cleanup:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return ret;
}

static uint16_t ctf_u16(const struct nf_conntrack *ct, enum nf_conntrack_attr a)
{
	return nfct_attr_is_set(ct, a) > 0 ? nfct_get_attr_u16(ct, a) : 0;
}

uint16_t gwlb_ctflush_owner(const struct nf_conntrack *ct)
{
	uint32_t mark = nfct_attr_is_set(ct, ATTR_MARK) > 0 ? nfct_get_attr_u32(ct, ATTR_MARK) : 0;

	return gwlb_ctmap_owner(ctf_u16(ct, ATTR_ZONE), ctf_u16(ct, ATTR_ORIG_ZONE),
				ctf_u16(ct, ATTR_REPL_ZONE), mark);
}

struct ctf_collect {
	gwlb_ctflush_match_fn match;
	void *arg;
	struct nf_conntrack **ct;
	size_t n, cap;
};

static int ctf_collect_cb(const struct nf_conntrack *ct, void *arg)
{
	struct ctf_collect *c = arg;
	uint16_t idx = gwlb_ctflush_owner(ct);

	if (!idx || !c->match(idx, c->arg))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct nf_conntrack **nc = realloc(c->ct, cap * sizeof(*nc));

		if (!nc)
			return -ENOMEM;
		c->ct = nc;
		c->cap = cap;
	}
	c->ct[c->n] = nfct_clone(ct);
	if (!c->ct[c->n])
		return -ENOMEM;
	c->n++;
	return 0;
}

/* One delete, acknowledged. The dumped entry names itself: tuple, zone and id. */
static int ctf_delete(struct mnl_socket *nl, uint32_t portid, uint32_t seq,
		      const struct nf_conntrack *ct, char *buf)
{
	struct nlmsghdr *nlh;
	ssize_t n;
	int ret;

	nlh = gwlb_ctflush_header(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, nfct_get_attr_u8(ct, ATTR_L3PROTO),
			 seq);
	if (nfct_nlmsg_build(nlh, ct) < 0)
		return errno ? -errno : -EINVAL;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, CTF_BUF);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
		if (ret < 0 && errno == EPROTO)
			continue;	/* an older message's late answer */
		return ret < 0 ? -errno : 0;
	}
}

int gwlb_ctflush_match(gwlb_ctflush_match_fn match, void *arg, char *err, size_t errlen)
{
	struct ctf_collect c = { .match = match, .arg = arg };
	struct mnl_socket *nl = NULL;
	uint32_t portid;
	char *buf = NULL;
	int ret, deleted = 0;
	size_t i;

	ret = gwlb_ctflush_foreach(ctf_collect_cb, &c, err, errlen);
	if (ret || !c.n)
		goto cleanup;
	buf = malloc(CTF_BUF);
	if (!buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "conntrack flush: out of memory");
		goto cleanup;
	}
	ret = gwlb_ctflush_open(&nl, &portid, CTF_RECV_TIMEOUT_S, err, errlen);
	if (ret)
		goto cleanup;
	for (i = 0; i < c.n; i++) {
		int r = ctf_delete(nl, portid, (uint32_t)i + 1, c.ct[i], buf);

		if (!r) {
			deleted++;
		} else if (r != -ENOENT) {
			/* ENOENT: it timed out or was deleted meanwhile; anything else is ours */
			ret = r;
			snprintf(err, errlen, "conntrack delete (ENI index %u): %s",
				 gwlb_ctflush_owner(c.ct[i]), strerror(-r));
			break;
		}
	}
cleanup:
	for (i = 0; i < c.n; i++)
		nfct_destroy(c.ct[i]);
	free(c.ct);
	free(buf);
	if (nl)
		mnl_socket_close(nl);
	return ret < 0 ? ret : deleted;
}

static bool ctf_is_idx(uint16_t idx, void *arg)
{
	return idx == *(const uint16_t *)arg;
}

int gwlb_ctflush_eni(uint16_t idx, char *err, size_t errlen)
{
	if (!idx) {
		snprintf(err, errlen, "conntrack flush: ENI index 0 is no ENI's");
		return -EINVAL;
	}
	return gwlb_ctflush_match(ctf_is_idx, &idx, err, errlen);
}
