/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sni: egress domain filtering by the TLS ClientHello server name and the HTTP Host.
 *
 * Arguments: allow=LIST and deny=LIST (comma-separated name patterns: "name" exact,
 * "*.x.y" names below x.y, ".x.y" x.y and names below it; may be repeated), unknown=accept|drop
 * (a client stream that is neither TLS nor HTTP, has no name, or is malformed; default drop),
 * ports=LIST (TCP server ports to inspect, "N" or "N-M"; default every TCP port).
 *
 * A name matching deny drops the flow; else one matching allow accepts it; else the flow is
 * dropped when an allow list was given and accepted when not. The decision is made on the
 * client's first data segments: the module keeps the start of each client stream (per worker,
 * keyed by the client->server 5-tuple learnt from the SYN, appending only the next expected
 * bytes by TCP sequence number) until the parsers see a whole ClientHello or request head.
 * Packets before that are accepted one by one (the flow stays undecided); a segment beyond a
 * gap is dropped so that the client sends it again in order. Non-TCP packets: CONTINUE.
 *
 * Counters: allowed, denied, unknown, need_more, flows_tracked, evicted, out_of_order.
 *
 * Built like any third-party module: <gwlb/verdict.h>, libc, and the parsers in src/lib.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gwlb/verdict.h>

#include "http.h"
#include "tls.h"

#define SNI_FLOWS		1024		/* tracked flows per worker; a power of two */
#define SNI_BUCKETS		(SNI_FLOWS * 2)
#define SNI_BUF_MAX		(GWLB_TLS_HELLO_MAX + 1024)	/* stream bytes kept per flow */
#define SNI_PORTS_MAX		64

#define TH_FIN			0x01
#define TH_SYN			0x02
#define TH_RST			0x04
#define TH_ACK			0x10

enum sni_state {
	SNI_FREE = 0,
	SNI_OPEN,		/* waiting for the name */
	SNI_DECIDED,		/* verdict holds the flow's decision */
};

struct sni_key {
	uint8_t saddr[16];	/* client */
	uint8_t daddr[16];	/* server */
	uint16_t sport;
	uint16_t dport;
	uint8_t family;
};

struct sni_flow {
	struct sni_key key;
	enum sni_state state;
	enum gwlb_verdict verdict;
	int32_t next;		/* bucket chain, -1 = end */
	uint32_t isn;		/* sequence number of the stream's first byte */
	uint8_t *buf;
	uint32_t len;
	uint32_t cap;
};

struct sni_table {
	int32_t bucket[SNI_BUCKETS];
	struct sni_flow flow[SNI_FLOWS];
	uint32_t cursor;	/* next slot to reuse: slots are taken in a ring, oldest first */
};

struct sni_range {
	uint16_t lo;
	uint16_t hi;
};

struct sni_priv {
	const struct gwlb_host_ops *host;
	struct gwlb_host *h;
	char **allow;
	size_t nallow;
	bool have_allow;
	char **deny;
	size_t ndeny;
	enum gwlb_verdict unknown;
	struct sni_range ports[SNI_PORTS_MAX];
	size_t nports;
	unsigned nworkers;
	struct sni_table **tables;
	int c_allowed;
	int c_denied;
	int c_unknown;
	int c_need_more;
	int c_tracked;
	int c_evicted;
	int c_ooo;
};

/* --- arguments --- */

static int sni_pattern_add(char ***list, size_t *n, const char *pat, size_t len, char *err,
			   size_t errlen)
{
	char name[GWLB_NAME_SIZE], *p, **l;
	size_t skip = 0;

	if (len >= 2 && pat[0] == '*' && pat[1] == '.')
		skip = 2;
	else if (len >= 1 && pat[0] == '.')
		skip = 1;
	if (len == skip || gwlb_name_copy(name, sizeof(name), (const uint8_t *)pat + skip,
					  len - skip) < 0) {
		snprintf(err, errlen, "bad name pattern \"%.*s\" (expected name, *.name or .name)",
			 (int)len, pat);
		return -EINVAL;
	}
	p = malloc(skip + strlen(name) + 1);
	l = realloc(*list, (*n + 1) * sizeof(**list));
	if (!p || !l) {
		free(p);
		if (l)
			*list = l;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(p, pat, skip);
	strcpy(p + skip, name);
	*list = l;
	l[(*n)++] = p;
	return 0;
}

static int sni_list_parse(char ***list, size_t *n, const char *arg, char *err, size_t errlen)
{
	const char *s = arg, *e;
	int rc;

	for (;;) {
		e = strchr(s, ',');
		if (!e)
			e = s + strlen(s);
		rc = sni_pattern_add(list, n, s, e - s, err, errlen);
		if (rc < 0)
			return rc;
		if (!*e)
			return 0;
		s = e + 1;
	}
}

static int sni_port_parse(const char *s, const char **end, uint16_t *port)
{
	unsigned long v;
	char *e;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno || v < 1 || v > 65535)
		return -EINVAL;
	*port = v;
	*end = e;
	return 0;
}

static int sni_ports_parse(struct sni_priv *p, const char *arg, char *err, size_t errlen)
{
	const char *s = arg;
	struct sni_range r;

	for (;;) {
		if (p->nports == SNI_PORTS_MAX) {
			snprintf(err, errlen, "too many port ranges (at most %d)", SNI_PORTS_MAX);
			return -EINVAL;
		}
		if (sni_port_parse(s, &s, &r.lo) < 0)
			goto bad;
		r.hi = r.lo;
		if (*s == '-' && (sni_port_parse(s + 1, &s, &r.hi) < 0 || r.hi < r.lo))
			goto bad;
		if (*s && *s != ',')
			goto bad;
		p->ports[p->nports++] = r;
		if (!*s)
			return 0;
		s++;
	}
bad:
	snprintf(err, errlen, "bad ports=%s (expected N or N-M, comma-separated, 1..65535)", arg);
	return -EINVAL;
}

static void sni_free(struct sni_priv *p)
{
	size_t i, j;

	for (i = 0; i < p->nallow; i++)
		free(p->allow[i]);
	for (i = 0; i < p->ndeny; i++)
		free(p->deny[i]);
	free(p->allow);
	free(p->deny);
	p->allow = p->deny = NULL;
	p->nallow = p->ndeny = 0;
	if (p->tables) {
		for (i = 0; i < p->nworkers; i++) {
			if (!p->tables[i])
				continue;
			for (j = 0; j < SNI_FLOWS; j++)
				free(p->tables[i]->flow[j].buf);
			free(p->tables[i]);
		}
		free(p->tables);
		p->tables = NULL;
	}
}

static int sni_init(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		    int argc, const char *const *argv, char *err, size_t errlen)
{
	struct sni_priv *p = priv;
	unsigned i, j;
	int rc = 0;

	p->host = host;
	p->h = h;
	p->unknown = GWLB_VERDICT_DROP_FLOW;
	for (i = 0; i < (unsigned)argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "allow=", 6)) {
			p->have_allow = true;
			rc = sni_list_parse(&p->allow, &p->nallow, a + 6, err, errlen);
		} else if (!strncmp(a, "deny=", 5)) {
			rc = sni_list_parse(&p->deny, &p->ndeny, a + 5, err, errlen);
		} else if (!strcmp(a, "unknown=accept")) {
			p->unknown = GWLB_VERDICT_ACCEPT_FLOW;
		} else if (!strcmp(a, "unknown=drop")) {
			p->unknown = GWLB_VERDICT_DROP_FLOW;
		} else if (!strncmp(a, "ports=", 6)) {
			rc = sni_ports_parse(p, a + 6, err, errlen);
		} else {
			snprintf(err, errlen, "unknown argument \"%s\" (expected allow=LIST, "
				 "deny=LIST, unknown=accept|drop, ports=LIST)", a);
			rc = -EINVAL;
		}
		if (rc < 0)
			goto out;
	}

	p->c_allowed = host->counter_id(h, "allowed");
	p->c_denied = host->counter_id(h, "denied");
	p->c_unknown = host->counter_id(h, "unknown");
	p->c_need_more = host->counter_id(h, "need_more");
	p->c_tracked = host->counter_id(h, "flows_tracked");
	p->c_evicted = host->counter_id(h, "evicted");
	p->c_ooo = host->counter_id(h, "out_of_order");
	if (p->c_allowed < 0 || p->c_denied < 0 || p->c_unknown < 0 || p->c_need_more < 0 ||
	    p->c_tracked < 0 || p->c_evicted < 0 || p->c_ooo < 0) {
		snprintf(err, errlen, "cannot register counters");
		rc = -ENOSPC;
		goto out;
	}

	p->nworkers = host->threads(h);
	if (!p->nworkers)
		p->nworkers = 1;
	p->tables = calloc(p->nworkers, sizeof(*p->tables));
	if (!p->tables)
		goto nomem;
	for (i = 0; i < p->nworkers; i++) {
		p->tables[i] = calloc(1, sizeof(**p->tables));
		if (!p->tables[i])
			goto nomem;
		for (j = 0; j < SNI_BUCKETS; j++)
			p->tables[i]->bucket[j] = -1;
	}
	return 0;

nomem:
	snprintf(err, errlen, "out of memory for %u flow tables", p->nworkers);
	rc = -ENOMEM;
out:
	sni_free(p);
	return rc;
}

static void sni_fini(void *priv)
{
	sni_free(priv);
}

/* --- flow table --- */

static uint32_t sni_hash(const struct sni_key *k)
{
	uint32_t h = 2166136261u;
	const uint8_t *b = (const uint8_t *)k;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	return h & (SNI_BUCKETS - 1);
}

static void sni_key_make(struct sni_key *k, const struct gwlb_pkt *pkt, bool reverse)
{
	size_t alen = pkt->family == 6 ? 16 : 4;

	memset(k, 0, sizeof(*k));
	k->family = pkt->family;
	memcpy(k->saddr, reverse ? pkt->daddr : pkt->saddr, alen);
	memcpy(k->daddr, reverse ? pkt->saddr : pkt->daddr, alen);
	k->sport = reverse ? pkt->dport : pkt->sport;
	k->dport = reverse ? pkt->sport : pkt->dport;
}

static struct sni_flow *sni_lookup(struct sni_table *t, const struct sni_key *k)
{
	int32_t i;

	for (i = t->bucket[sni_hash(k)]; i >= 0; i = t->flow[i].next)
		if (!memcmp(&t->flow[i].key, k, sizeof(*k)))
			return &t->flow[i];
	return NULL;
}

static void sni_unlink(struct sni_table *t, struct sni_flow *f)
{
	int32_t *pp = &t->bucket[sni_hash(&f->key)], idx = f - t->flow;

	while (*pp >= 0 && *pp != idx)
		pp = &t->flow[*pp].next;
	if (*pp == idx)
		*pp = f->next;
	free(f->buf);
	f->buf = NULL;
	f->len = f->cap = 0;
	f->state = SNI_FREE;
}

static struct sni_flow *sni_insert(struct sni_priv *p, struct sni_table *t,
				   const struct sni_key *k)
{
	struct sni_flow *f = &t->flow[t->cursor];
	uint32_t b;

	t->cursor = (t->cursor + 1) & (SNI_FLOWS - 1);
	if (f->state != SNI_FREE) {
		if (f->state == SNI_OPEN)
			p->host->counter_add(p->h, p->c_evicted, 1);
		sni_unlink(t, f);
	}
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->state = SNI_OPEN;
	b = sni_hash(k);
	f->next = t->bucket[b];
	t->bucket[b] = f - t->flow;
	p->host->counter_add(p->h, p->c_tracked, 1);
	return f;
}

/*
 * Append the segment's bytes that continue the stream: 0, or -EAGAIN for a gap. Bytes we
 * have already, and bytes before the stream's first, are skipped as the receiving TCP
 * trims them: the first copy of a byte is the one kept.
 */
static int sni_append(struct sni_flow *f, uint32_t seq, const uint8_t *data, uint32_t len)
{
	int64_t skip = (int64_t)f->len - (int32_t)(seq - f->isn);
	uint32_t n;
	uint8_t *nb;

	if (skip < 0)
		return -EAGAIN;
	if (skip >= len)
		return 0;	/* a retransmission of bytes we have */
	n = len - skip;
	if (n > SNI_BUF_MAX - f->len)
		n = SNI_BUF_MAX - f->len;
	if (f->len + n > f->cap) {
		uint32_t cap = f->cap ? f->cap : 2048;

		while (cap < f->len + n)
			cap *= 2;
		if (cap > SNI_BUF_MAX)
			cap = SNI_BUF_MAX;
		nb = realloc(f->buf, cap);
		if (!nb)
			return -ENOMEM;
		f->buf = nb;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, data + skip, n);
	f->len += n;
	return 0;
}

/* --- decisions --- */

static bool sni_port_ok(const struct sni_priv *p, uint16_t port)
{
	size_t i;

	if (!p->nports)
		return true;
	for (i = 0; i < p->nports; i++)
		if (port >= p->ports[i].lo && port <= p->ports[i].hi)
			return true;
	return false;
}

static bool sni_list_match(char *const *list, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (gwlb_name_match(list[i], name))
			return true;
	return false;
}

static enum gwlb_verdict sni_decide(struct sni_priv *p, const struct sni_key *k,
				    const char *name, const char *proto)
{
	enum gwlb_verdict v;
	const char *why;
	char a[64] = "";

	if (sni_list_match(p->deny, p->ndeny, name)) {
		v = GWLB_VERDICT_DROP_FLOW;
		why = "deny list";
	} else if (sni_list_match(p->allow, p->nallow, name)) {
		v = GWLB_VERDICT_ACCEPT_FLOW;
		why = "allow list";
	} else if (p->have_allow) {
		v = GWLB_VERDICT_DROP_FLOW;
		why = "not in allow list";
	} else {
		v = GWLB_VERDICT_ACCEPT_FLOW;
		why = "no allow list";
	}
	p->host->counter_add(p->h, v == GWLB_VERDICT_ACCEPT_FLOW ? p->c_allowed : p->c_denied, 1);
	if (k->family == 4)
		snprintf(a, sizeof(a), "%u.%u.%u.%u:%u", k->daddr[0], k->daddr[1], k->daddr[2],
			 k->daddr[3], k->dport);
	else
		snprintf(a, sizeof(a), "port %u", k->dport);
	p->host->log(p->h, GWLB_LOG_INFO, "%s %s %s to %s (%s)",
		     v == GWLB_VERDICT_ACCEPT_FLOW ? "allow" : "deny", proto, name, a, why);
	return v;
}

static enum gwlb_verdict sni_unknown(struct sni_priv *p, const struct sni_key *k,
				     const char *what)
{
	p->host->counter_add(p->h, p->c_unknown, 1);
	p->host->log(p->h, GWLB_LOG_INFO, "%s stream to port %u: %s", what, k->dport,
		     p->unknown == GWLB_VERDICT_ACCEPT_FLOW ? "accept (unknown=accept)" :
							      "deny (unknown=drop)");
	return p->unknown;
}

/* Judge the stream so far: a flow verdict, or ACCEPT while it needs more. */
static enum gwlb_verdict sni_judge(struct sni_priv *p, struct sni_flow *f)
{
	char name[GWLB_NAME_SIZE];
	int tls, http;

	tls = gwlb_tls_sni(f->buf, f->len, name, sizeof(name), NULL);
	switch (tls) {
	case GWLB_TLS_SNI:
		return sni_decide(p, &f->key, name, "tls");
	case GWLB_TLS_NEED_MORE:
		goto more;
	case GWLB_TLS_NOT_TLS:
		break;
	default:
		return sni_unknown(p, &f->key, tls == GWLB_TLS_NO_SNI ? "tls without sni" :
									"malformed tls");
	}
	http = gwlb_http_host(f->buf, f->len, name, sizeof(name));
	switch (http) {
	case GWLB_HTTP_HOST:
		return sni_decide(p, &f->key, name, "http");
	case GWLB_HTTP_NEED_MORE:
		goto more;
	case GWLB_HTTP_NO_HOST:
		return sni_unknown(p, &f->key, "http without host");
	case GWLB_HTTP_MALFORMED:
		return sni_unknown(p, &f->key, "malformed http");
	default:
		return sni_unknown(p, &f->key, "not tls or http");
	}
more:
	if (f->len >= SNI_BUF_MAX)
		return sni_unknown(p, &f->key, "oversized hello or head");
	p->host->counter_add(p->h, p->c_need_more, 1);
	return GWLB_VERDICT_ACCEPT;
}

static enum gwlb_verdict sni_verdict(void *priv, const struct gwlb_pkt *pkt)
{
	struct sni_priv *p = priv;
	const uint8_t *th;
	struct sni_table *t;
	struct sni_flow *f;
	struct sni_key k;
	uint32_t seq;
	enum gwlb_verdict v;
	int rc;

	if (pkt->l4proto != IPPROTO_TCP || !pkt->l4_off || pkt->len < pkt->l4_off + 20u ||
	    (pkt->family != 4 && pkt->family != 6) || pkt->worker >= p->nworkers)
		return GWLB_VERDICT_CONTINUE;
	t = p->tables[pkt->worker];
	th = pkt->data + pkt->l4_off;
	seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 | (uint32_t)th[6] << 8 | th[7];

	sni_key_make(&k, pkt, false);
	f = sni_lookup(t, &k);
	if (!f) {
		struct sni_key r;

		sni_key_make(&r, pkt, true);
		f = sni_lookup(t, &r);
		if (f) {
			/* server -> client */
			if (f->state == SNI_DECIDED)
				return f->verdict;
			if (pkt->tcp_flags & TH_RST)
				sni_unlink(t, f);
			return GWLB_VERDICT_ACCEPT;
		}
	}

	if (!f) {
		if ((pkt->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN) {
			if (!sni_port_ok(p, pkt->dport))
				return GWLB_VERDICT_CONTINUE;
			f = sni_insert(p, t, &k);
			f->isn = seq + 1;
			return GWLB_VERDICT_ACCEPT;
		}
		if ((pkt->tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) ||
		    (pkt->ct_state & GWLB_CT_REPLY)) {
			/* a reply we did not see start: the server's side, nothing to read */
			return sni_port_ok(p, pkt->sport) ? GWLB_VERDICT_ACCEPT :
							    GWLB_VERDICT_CONTINUE;
		}
		if (!sni_port_ok(p, pkt->dport))
			return GWLB_VERDICT_CONTINUE;
		if (!pkt->payload_len || (pkt->tcp_flags & (TH_RST | TH_FIN)))
			return GWLB_VERDICT_ACCEPT;
		/* client data of a flow whose start we missed: read it as the stream start */
		f = sni_insert(p, t, &k);
		f->isn = seq;
	}

	if ((pkt->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN) {
		/*
		 * A SYN again: a new connection on the same 5-tuple (conntrack starts a new
		 * entry after the old one closed) or a retransmission. Either way the stream
		 * starts over, and an old decision must not carry over to a new hello.
		 */
		f->state = SNI_OPEN;
		f->len = 0;
		f->isn = seq + 1;
		return GWLB_VERDICT_ACCEPT;
	}
	if (f->state == SNI_DECIDED)
		return f->verdict;
	if (!pkt->payload_len || !pkt->payload_off) {
		if (pkt->tcp_flags & (TH_RST | TH_FIN))
			sni_unlink(t, f);
		return GWLB_VERDICT_ACCEPT;
	}
	if (pkt->payload_off + (uint64_t)pkt->payload_len > pkt->len)
		return GWLB_VERDICT_ACCEPT;

	rc = sni_append(f, seq, pkt->data + pkt->payload_off, pkt->payload_len);
	if (rc == -EAGAIN) {
		/* beyond a gap: the client sends it again after the missing bytes */
		p->host->counter_add(p->h, p->c_ooo, 1);
		return GWLB_VERDICT_DROP;
	}
	if (rc < 0)
		return GWLB_VERDICT_ACCEPT;	/* no memory: decide on a later segment */
	v = sni_judge(p, f);
	if (v == GWLB_VERDICT_ACCEPT) {
		if (pkt->tcp_flags & (TH_RST | TH_FIN))
			sni_unlink(t, f);
		return v;
	}
	/* keep the decision for packets of the flow already queued behind this one */
	free(f->buf);
	f->buf = NULL;
	f->len = f->cap = 0;
	f->state = SNI_DECIDED;
	f->verdict = v;
	return v;
}

static const struct gwlb_verdict_ops sni_ops = {
	.abi_version = GWLB_VERDICT_ABI_VERSION,
	.name = "sni",
	.description = "allow/deny flows by TLS SNI and HTTP Host (allow=, deny=, unknown=, ports=)",
	.priv_size = sizeof(struct sni_priv),
	.init = sni_init,
	.fini = sni_fini,
	.verdict = sni_verdict,
};

GWLB_VERDICT_MODULE(sni_ops);
