/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <net/if.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "route.h"

static void plan_add(struct gwlb_route_set *set, const struct gwlb_route_obj *o)
{
	if (set->n < GWLB_ROUTE_MAX_OBJS)
		set->obj[set->n++] = *o;
}

void gwlb_route_plan(const struct gwlb_route_eni *eni, struct gwlb_route_set *set)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	struct gwlb_route_obj o;
	unsigned i;

	set->n = 0;
	if (eni->mode == GWLB_MODE_HOOK || eni->mode >= GWLB_MODE__MAX)
		return;
	for (i = 0; i < sizeof(families); i++) {
		/* the table's route before the rules that send packets to it */
		memset(&o, 0, sizeof(o));
		o.family = families[i];
		o.table = eni->table;
		snprintf(o.dev, sizeof(o.dev), "%s", eni->gwo);
		plan_add(set, &o);

		memset(&o, 0, sizeof(o));
		o.rule = true;
		o.family = families[i];
		o.prio = eni->prio;
		o.action = FR_ACT_TO_TBL;
		switch (eni->mode) {
		case GWLB_MODE_PASSTHROUGH:
			o.table = eni->table;
			snprintf(o.iif, sizeof(o.iif), "%s", eni->gwi);
			plan_add(set, &o);
			break;
		case GWLB_MODE_ROUTE:
		case GWLB_MODE_NAT:
		case GWLB_MODE_LOCAL:
			/*
			 * The ENI's own packets carry its mark too (mark_pre sets it on gwi), so
			 * they must be decided before the fwmark rule or they would all go back
			 * out gwo: kernel routing for route and nat; for local, what the local
			 * table (priority 0) did not take is dropped. Same priority: the kernel
			 * keeps rules of one priority in the order they were added.
			 */
			snprintf(o.iif, sizeof(o.iif), "%s", eni->gwi);
			if (eni->mode == GWLB_MODE_LOCAL)
				o.action = FR_ACT_BLACKHOLE;
			else
				o.table = RT_TABLE_MAIN;
			plan_add(set, &o);

			/* replies (their mark restored from the ct mark) go back out gwo */
			o.iif[0] = '\0';
			o.action = FR_ACT_TO_TBL;
			o.table = eni->table;
			o.fwmark = eni->mark;
			o.fwmask = 0xffff;
			plan_add(set, &o);
			break;
		default:
			break;
		}
	}
}

static void rule_build(struct nlmsghdr *nlh, const struct gwlb_route_obj *o)
{
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	frh->family = o->family;
	frh->action = o->action;
	frh->table = o->action == FR_ACT_TO_TBL && o->table < 256 ? (uint8_t)o->table : 0;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, o->prio);
	if (o->action == FR_ACT_TO_TBL)
		mnl_attr_put_u32(nlh, FRA_TABLE, o->table);
	if (*o->iif)
		mnl_attr_put_strz(nlh, FRA_IIFNAME, o->iif);
	if (o->fwmask) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, o->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, o->fwmask);
	}
}

static int route_build(struct nlmsghdr *nlh, const struct gwlb_route_obj *o, bool add)
{
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	unsigned ifindex = if_nametoindex(o->dev);

	if (!ifindex)
		return -errno;
	rtm->rtm_family = o->family;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = add ? RTPROT_STATIC : RTPROT_UNSPEC;
	rtm->rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, o->table);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return 0;
}

/* One RTM_{NEW,DEL}{RULE,ROUTE} with NLM_F_ACK: 0 or the kernel's -errno. */
static int obj_send(struct mnl_socket *nl, unsigned *seq, const struct gwlb_route_obj *o,
		    bool add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	int ret;

	if (o->rule)
		nlh->nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
	else
		nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	/* EXCL: an object someone else made is not ours to remove later */
	if (add)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	nlh->nlmsg_seq = ++*seq;
	if (o->rule) {
		rule_build(nlh, o);
	} else {
		ret = route_build(nlh, o, add);
		if (ret < 0)
			return ret;
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (ret < 0)
		return -errno;
	ret = mnl_cb_run(buf, ret, *seq, mnl_socket_get_portid(nl), NULL, NULL);
	return ret < 0 ? -errno : 0;
}

/* An rtnetlink socket; NULL with errno and the reason in err. */
static struct mnl_socket *nl_open(char *err, size_t errlen)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	int saved;

	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		saved = errno;
		mnl_socket_close(nl);
		errno = saved;
		nl = NULL;
	}
	if (!nl && err && errlen)
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
	return nl;
}

static void obj_strerr(const struct gwlb_route_obj *o, const char *verb, int ret, char *err,
		       size_t errlen)
{
	char what[128];

	gwlb_route_obj_snprintf(o, what, sizeof(what));
	if (err && errlen)
		snprintf(err, errlen, "cannot %s ip %s: %s", verb, what, strerror(-ret));
}

int gwlb_route_set_add(struct gwlb_route_set *set, char *err, size_t errlen)
{
	struct mnl_socket *nl;
	unsigned i, n = 0, seq = 0;
	int ret = 0;

	if (!set->n)
		return 0;
	nl = nl_open(err, errlen);
	if (!nl) {
		set->n = 0;
		return -errno;
	}
	for (i = 0; i < set->n; i++) {
		ret = obj_send(nl, &seq, &set->obj[i], true);
		/* a kernel without IPv6 has nothing to route for it */
		if (ret == -EAFNOSUPPORT && set->obj[i].family == AF_INET6) {
			ret = 0;
			continue;
		}
		if (ret) {
			obj_strerr(&set->obj[i], "add", ret, err, errlen);
			break;
		}
		set->obj[n++] = set->obj[i];
	}
	if (ret) {
		while (n-- > 0)
			obj_send(nl, &seq, &set->obj[n], false);
		n = 0;
	}
	set->n = n;
	mnl_socket_close(nl);
	return ret;
}

int gwlb_route_set_del(struct gwlb_route_set *set, char *err, size_t errlen)
{
	struct mnl_socket *nl;
	unsigned seq = 0;
	int ret, first = 0;

	if (!set->n)
		return 0;
	nl = nl_open(err, errlen);
	if (!nl)
		return -errno;
	/* last first: rules go before the routes they lead to */
	while (set->n > 0) {
		const struct gwlb_route_obj *o = &set->obj[--set->n];

		ret = obj_send(nl, &seq, o, false);
		/* a route goes with its device: gone already is what we wanted */
		if (ret == -ESRCH || (ret == -ENODEV && !o->rule) || (ret == -ENOENT && o->rule))
			ret = 0;
		if (ret && !first) {
			obj_strerr(o, "delete", ret, err, errlen);
			first = ret;
		}
	}
	mnl_socket_close(nl);
	return first;
}

int gwlb_route_obj_snprintf(const struct gwlb_route_obj *o, char *buf, size_t len)
{
	const char *fam = o->family == AF_INET6 ? "-6 " : "";
	char sel[64] = "", mark[32] = "";

	if (!o->rule)
		return snprintf(buf, len, "%sroute default dev %s table %u", fam, o->dev, o->table);
	if (o->fwmask)
		snprintf(mark, sizeof(mark), " fwmark 0x%x/0x%x", o->fwmark, o->fwmask);
	snprintf(sel, sizeof(sel), "%s%s%s", *o->iif ? " iif " : "", o->iif, mark);
	if (o->action == FR_ACT_BLACKHOLE)
		return snprintf(buf, len, "%srule prio %u%s blackhole", fam, o->prio, sel);
	if (o->table == RT_TABLE_MAIN)
		return snprintf(buf, len, "%srule prio %u%s lookup main", fam, o->prio, sel);
	return snprintf(buf, len, "%srule prio %u%s lookup %u", fam, o->prio, sel, o->table);
}

int gwlb_route_lookup(uint8_t family)
{
	/* documentation addresses (RFC 5737, RFC 3849): looked up, never sent to */
	static const uint8_t dst4[4] = { 192, 0, 2, 1 };
	static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct mnl_socket *nl = nl_open(NULL, 0);
	struct rtmsg *rtm;
	int ret;

	if (!nl)
		return -errno;
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = 1;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_dst_len = family == AF_INET6 ? 128 : 32;
	if (family == AF_INET6)
		mnl_attr_put(nlh, RTA_DST, sizeof(dst6), dst6);
	else
		mnl_attr_put(nlh, RTA_DST, sizeof(dst4), dst4);
	ret = mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -1 :
	      (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (ret >= 0)
		ret = mnl_cb_run(buf, ret, 1, mnl_socket_get_portid(nl), NULL, NULL);
	ret = ret < 0 ? -errno : 0;
	mnl_socket_close(nl);
	return ret;
}

/* ---- leftovers of a previous gwlbd ---- */

#ifdef MNL_SOCKET_DUMP_SIZE
#define DUMP_BUF	MNL_SOCKET_DUMP_SIZE
#else
#define DUMP_BUF	32768
#endif

struct dump_pick {
	uint32_t lo, hi;	/* the range: rule priorities or route tables */
	bool rule;
	char *msgs;		/* the picked messages, back to back */
	size_t len, cap;
	unsigned n;
	int ret;
};

static int dump_pick_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_pick *p = data;
	size_t hlen = p->rule ? sizeof(struct fib_rule_hdr) : sizeof(struct rtmsg);
	uint16_t want = p->rule ? FRA_PRIORITY : RTA_TABLE;
	const struct nlattr *a;
	uint32_t v = 0;
	char *nm;

	if (nlh->nlmsg_len < mnl_nlmsg_size(hlen))
		return MNL_CB_OK;
	if (!p->rule)
		v = ((const struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_table;
	mnl_attr_for_each(a, nlh, hlen)
		if (mnl_attr_get_type(a) == want && mnl_attr_get_payload_len(a) >= 4)
			v = mnl_attr_get_u32(a);
	if (v < p->lo || v > p->hi)
		return MNL_CB_OK;
	if (p->len + NLMSG_ALIGN(nlh->nlmsg_len) > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8192;

		while (cap < p->len + NLMSG_ALIGN(nlh->nlmsg_len))
			cap *= 2;
		nm = realloc(p->msgs, cap);
		if (!nm) {
			p->ret = -ENOMEM;
			return MNL_CB_ERROR;
		}
		p->msgs = nm;
		p->cap = cap;
	}
	memcpy(p->msgs + p->len, nlh, nlh->nlmsg_len);
	p->len += NLMSG_ALIGN(nlh->nlmsg_len);
	p->n++;
	return MNL_CB_OK;
}

/* Dump family's rules (or routes) and keep those in p's range. 0 or -errno. */
static int dump_pick(struct mnl_socket *nl, unsigned *seq, uint8_t family, struct dump_pick *p)
{
	char buf[DUMP_BUF];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned portid = mnl_socket_get_portid(nl);
	int ret;

	nlh->nlmsg_type = p->rule ? RTM_GETRULE : RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++*seq;
	if (p->rule)
		((struct fib_rule_hdr *)mnl_nlmsg_put_extra_header(nlh,
			sizeof(struct fib_rule_hdr)))->family = family;
	else
		((struct rtmsg *)mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg)))->rtm_family =
			family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(buf, ret, *seq, portid, dump_pick_cb, p);
		if (ret < 0)
			return p->ret ? p->ret : -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

/* Send each picked message back as its delete; the number deleted, or -errno. */
static int dump_pick_del(struct mnl_socket *nl, unsigned *seq, struct dump_pick *p)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(nl);
	struct nlmsghdr *nlh;
	size_t off;
	int ret, n = 0;

	for (off = 0; off < p->len; off += NLMSG_ALIGN(nlh->nlmsg_len)) {
		nlh = (struct nlmsghdr *)(p->msgs + off);
		nlh->nlmsg_type = p->rule ? RTM_DELRULE : RTM_DELROUTE;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		nlh->nlmsg_seq = ++*seq;
		nlh->nlmsg_pid = 0;
		if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
			return -errno;
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(buf, ret, *seq, portid, NULL, NULL);
		/* a route that went with its device meanwhile is gone as we wanted */
		if (ret < 0 && errno != ESRCH && errno != ENOENT)
			return -errno;
		n += ret >= 0;
	}
	return n;
}

int gwlb_route_leftovers_del(const struct gwlb_route_range *r, unsigned *rules,
			     unsigned *routes, char *err, size_t errlen)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	struct mnl_socket *nl;
	unsigned i, k, seq = 0;
	int ret = 0;

	*rules = *routes = 0;
	if (!r->max)
		return 0;
	nl = nl_open(err, errlen);
	if (!nl)
		return -errno;
	/* rules first: no packet is sent to a table while its routes go */
	for (k = 0; k < 2 && !ret; k++) {
		for (i = 0; i < sizeof(families) && !ret; i++) {
			struct dump_pick p = {
				.rule = k == 0,
				.lo = (k == 0 ? r->prio_base : r->table_base) + 1,
				.hi = (k == 0 ? r->prio_base : r->table_base) + r->max,
			};

			ret = dump_pick(nl, &seq, families[i], &p);
			if (ret == -EAFNOSUPPORT) {
				ret = 0;
			} else if (ret < 0) {
				snprintf(err, errlen, "cannot list ip%s %s: %s",
					 families[i] == AF_INET6 ? " -6" : "", p.rule ? "rules" : "routes",
					 strerror(-ret));
			} else {
				ret = dump_pick_del(nl, &seq, &p);
				if (ret < 0)
					snprintf(err, errlen, "cannot delete ip%s %s %u..%u: %s",
						 families[i] == AF_INET6 ? " -6" : "",
						 p.rule ? "rules of priorities" : "routes of tables",
						 p.lo, p.hi, strerror(-ret));
				else
					*(p.rule ? rules : routes) += ret;
				ret = ret < 0 ? ret : 0;
			}
			free(p.msgs);
		}
	}
	mnl_socket_close(nl);
	return ret;
}
