/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctrestore.h"
#include "encap.h"
#include "eni.h"
#include "gwlbd.h"
#include "log.h"
#include "pkt.h"
#include "tunrx.h"

struct tx_batch {
	struct mmsghdr msg[GWLB_BATCH];
	struct iovec iov[GWLB_BATCH];
	struct sockaddr_in dst[GWLB_BATCH];
	struct eni *eni[GWLB_BATCH];
	uint16_t inner_len[GWLB_BATCH];
	unsigned n;
};

static void drop(struct tun_worker *w, struct eni *e, enum gwlb_drop why)
{
	gwlb_ctr_add(&w->drops[why], 1);
	if (e)
		gwlb_ctr_add(&e->drops[why], 1);
}

static void tx_flush(struct tun_worker *w, struct tx_batch *b)
{
	unsigned done = 0;
	int n;

	while (done < b->n) {
		n = sendmmsg(w->raw_fd, b->msg + done, b->n - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* The first message failed: count it and go on with the rest. */
			drop(w, b->eni[done], errno == EMSGSIZE ? GWLB_DROP_TOO_BIG : GWLB_DROP_SEND_ERROR);
			log_pkt(GWLB_LS_UDP, GWLB_LL_IMPORTANT, "send to GWLB %s failed: %m",
				inet_ntoa(b->dst[done].sin_addr));
			done++;
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct eni *e = b->eni[done + i];

			gwlb_ctr_add(&w->tx_pkts, 1);
			gwlb_ctr_add(&w->tx_bytes, b->msg[done + i].msg_len);
			gwlb_ctr_add(&e->tx_pkts, 1);
			gwlb_ctr_add(&e->tx_bytes, b->inner_len[done + i]);
		}
		done += n;
	}
	b->n = 0;
}

uint8_t *gwlb_tunrx_encap(uint8_t *inner, size_t len, const struct gwlb_flow_val *v,
			  size_t *total)
{
	uint8_t *start = inner - v->hdr_len - GWLB_OUTER_LEN;

	memcpy(inner - v->hdr_len, v->hdr, v->hdr_len);
	if (!gwlb_encap_outer4(start, GWLB_OUTER_LEN, v->outer_local, v->outer_remote,
			       v->outer_sport, htons(gwlbd.opts.geneve_port), v->hdr_len + len, 0))
		return NULL;
	*total = GWLB_OUTER_LEN + v->hdr_len + len;
	return start;
}

/* buf has GWLB_HEADROOM bytes free in front of the inner packet at buf + GWLB_HEADROOM. */
static void tun_packet(struct tun_worker *w, struct tunq *q, uint8_t *buf, size_t len,
		       struct tx_batch *b, uint32_t now)
{
	uint8_t *inner = buf + GWLB_HEADROOM, *start;
	struct eni *e = q->eni;
	struct gwlb_pkt_info pi;
	struct gwlb_flow_val v;
	size_t n;
	int ret;

	if (!gwlbd.ft) {
		drop(w, e, GWLB_DROP_RECEIVE_ONLY);
		return;
	}
	ret = gwlb_pkt_parse(inner, len, 0, &pi);
	if (ret) {
		drop(w, e, GWLB_DROP_INNER_MALFORMED);
		log_pkt(GWLB_LS_TUNNEL, GWLB_LL_DEBUG, "%s: packet dropped: %s",
			q->gwo ? e->gwo : e->gwi, gwlb_pkt_strerror(ret));
		return;
	}
	pi.key.eni_idx = e->idx;
	if (pi.flags & GWLB_PKT_FRAG_LATER) {
		if (gwlb_fragtab_complete(gwlbd.frag, &pi, now) < 0) {
			drop(w, e, GWLB_DROP_FRAG_NO_FIRST);
			return;
		}
	} else if (pi.flags & GWLB_PKT_FRAG) {
		gwlb_fragtab_note(gwlbd.frag, &pi, now);
	}
	if (gwlb_flowtab_lookup(gwlbd.ft, &pi.key, now, &v) < 0) {
		/* Perhaps rewritten by NAT here: conntrack knows its tuple from GWLB. */
		if (len <= gwlbd.opts.mtu && gwlb_ctrestore_submit(e, inner, len, &pi, now))
			return;
		/* Never sent with a guessed cookie: GWLB would hand it to the wrong flow. */
		drop(w, e, GWLB_DROP_NO_FLOW);
		if (gwlb_log_enabled(GWLB_LS_TUNNEL, GWLB_LL_DEBUG)) {
			char ks[128];

			log_pkt(GWLB_LS_TUNNEL, GWLB_LL_DEBUG, "%s: no flow for %s: dropped",
				q->gwo ? e->gwo : e->gwi,
				gwlb_flow_key_str(&pi.key, ks, sizeof(ks)));
		}
		return;
	}
	if (len > gwlbd.opts.mtu) {
		drop(w, e, GWLB_DROP_TOO_BIG);
		return;
	}
	start = gwlb_tunrx_encap(inner, len, &v, &n);
	if (!start) {
		drop(w, e, GWLB_DROP_TOO_BIG);
		return;
	}
	b->dst[b->n].sin_family = AF_INET;
	b->dst[b->n].sin_addr.s_addr = v.outer_remote;
	b->dst[b->n].sin_port = 0;
	b->iov[b->n].iov_base = start;
	b->iov[b->n].iov_len = n;
	b->eni[b->n] = e;
	b->inner_len[b->n] = len;
	b->n++;
	if (atomic_load_explicit(&e->last_active, memory_order_relaxed) != now)
		atomic_store_explicit(&e->last_active, now, memory_order_relaxed);
}

static void *tun_main(void *arg)
{
	struct tun_worker *w = arg;
	unsigned tid = gwlbd.n_udp + w->id;
	struct epoll_event ev[GWLB_BATCH];
	struct tx_batch *b;
	uint8_t *bufs;
	int i, n;

	gwlbd_pin_cpu(w->cpu);
	gwlb_qsbr_online(&gwlbd.qsbr, tid);
	b = calloc(1, sizeof(*b));
	bufs = malloc((size_t)GWLB_BATCH * (GWLB_HEADROOM + GWLB_TUN_READ_MAX));
	if (!b || !bufs) {
		log_crit(GWLB_LS_TUNNEL, "tun worker %u: out of memory", w->id);
		goto out;
	}
	for (i = 0; i < GWLB_BATCH; i++) {
		b->msg[i].msg_hdr.msg_name = &b->dst[i];
		b->msg[i].msg_hdr.msg_namelen = sizeof(b->dst[i]);
		b->msg[i].msg_hdr.msg_iov = &b->iov[i];
		b->msg[i].msg_hdr.msg_iovlen = 1;
	}
	while (!atomic_load_explicit(&gwlbd.stop, memory_order_relaxed)) {
		atomic_store_explicit(&w->heartbeat_ms, gwlbd_now_ms(), memory_order_relaxed);
		gwlb_qsbr_quiescent(&gwlbd.qsbr, tid);
		n = epoll_wait(w->epfd, ev, GWLB_BATCH, 100);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_crit(GWLB_LS_TUNNEL, "tun worker %u: epoll failed: %m", w->id);
			break;
		}
		uint32_t now = gwlbd_now();

		for (i = 0; i < n; i++) {
			struct tunq *q = ev[i].data.ptr;

			/* Up to a batch from each ready queue; level-triggered epoll brings the rest. */
			for (int k = 0; k < GWLB_BATCH; k++) {
				uint8_t *buf = bufs + (size_t)b->n * (GWLB_HEADROOM + GWLB_TUN_READ_MAX);
				ssize_t r = read(q->fd, buf + GWLB_HEADROOM, GWLB_TUN_READ_MAX);

				if (r <= 0)
					break;
				tun_packet(w, q, buf, r, b, now);
				if (b->n == GWLB_BATCH) {
					tx_flush(w, b);
					break;
				}
			}
		}
		if (b->n)
			tx_flush(w, b);
	}
out:
	free(bufs);
	free(b);
	gwlb_qsbr_offline(&gwlbd.qsbr, tid);
	atomic_store(&w->alive, false);
	return NULL;
}

int gwlb_tunrx_open(char *why, size_t len)
{
	unsigned i;

	for (i = 0; i < gwlbd.n_tun; i++) {
		gwlbd.tun[i].epfd = -1;
		gwlbd.tun[i].raw_fd = -1;
	}
	for (i = 0; i < gwlbd.n_tun; i++) {
		struct tun_worker *w = &gwlbd.tun[i];
		int sndbuf = 4 << 20;

		w->id = i;
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0)
			goto fail;
		/* IPPROTO_RAW: we write the outer IPv4 header (GWLB's source port, our chosen source). */
		w->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		if (w->raw_fd < 0)
			goto fail;
		if (setsockopt(w->raw_fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
			setsockopt(w->raw_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	}
	return 0;
fail:
	snprintf(why, len, "cannot open the return path (raw socket needs CAP_NET_RAW): %m");
	gwlb_tunrx_close();
	return -errno;
}

int gwlb_tunrx_start(void)
{
	unsigned i;
	int ret;

	for (i = 0; i < gwlbd.n_tun; i++) {
		struct tun_worker *w = &gwlbd.tun[i];

		atomic_store(&w->alive, true);
		atomic_store(&w->heartbeat_ms, gwlbd_now_ms());
		ret = pthread_create(&w->thread, NULL, tun_main, w);
		if (ret) {
			atomic_store(&w->alive, false);
			return -ret;
		}
	}
	return 0;
}

void gwlb_tunrx_join(void)
{
	unsigned i;

	for (i = 0; i < gwlbd.n_tun; i++)
		if (gwlbd.tun[i].thread)
			pthread_join(gwlbd.tun[i].thread, NULL);
}

void gwlb_tunrx_close(void)
{
	unsigned i;

	for (i = 0; i < gwlbd.n_tun; i++) {
		if (gwlbd.tun[i].epfd >= 0)
			close(gwlbd.tun[i].epfd);
		if (gwlbd.tun[i].raw_fd >= 0)
			close(gwlbd.tun[i].raw_fd);
		gwlbd.tun[i].epfd = gwlbd.tun[i].raw_fd = -1;
	}
}
