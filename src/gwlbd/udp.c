/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cidr.h"
#include "eni.h"
#include "gwlbd.h"
#include "log.h"
#include "pkt.h"
#include "udp.h"

static void drop(struct eni *e, gwlb_ctr_t *drops, enum gwlb_drop why)
{
	gwlb_ctr_add(&drops[why], 1);
	if (e)
		gwlb_ctr_add(&e->drops[why], 1);
}

void gwlb_udp_deliver(struct eni *e, const uint8_t *payload, size_t len,
		      const struct gwlb_geneve *g, const struct sockaddr_in *src, uint32_t local,
		      unsigned q, gwlb_ctr_t *drops)
{
	const uint8_t *inner = payload + g->hdr_len;
	size_t ilen = len - g->hdr_len;
	uint32_t now = gwlbd_now();

	if (gwlbd.ft) {
		struct gwlb_pkt_info pi;
		struct gwlb_flow_val v;
		int ret;

		if (g->hdr_len > GWLB_FLOW_HDR_MAX) {
			drop(e, drops, GWLB_DROP_HDR_TOO_LONG);
			log_pkt(GWLB_LS_GENEVE, GWLB_LL_IMPORTANT,
				"eni-%s: GENEVE header of %u bytes is longer than a flow keeps (%d): dropped",
				e->id_hex, g->hdr_len, GWLB_FLOW_HDR_MAX);
			return;
		}
		ret = gwlb_pkt_parse(inner, ilen, g->proto == GWLB_ETH_P_IP ? 4 : 6, &pi);
		if (ret) {
			drop(e, drops, GWLB_DROP_INNER_MALFORMED);
			log_pkt(GWLB_LS_GENEVE, GWLB_LL_DEBUG, "eni-%s: inner packet dropped: %s",
				e->id_hex, gwlb_pkt_strerror(ret));
			return;
		}
		/*
		 * Later fragments carry no ports (their first fragment made the entry) and an
		 * ICMP error must not overwrite the header of the flow it quotes.
		 */
		if (!(pi.flags & (GWLB_PKT_FRAG_LATER | GWLB_PKT_ICMP_ERR))) {
			pi.key.eni_idx = e->idx;
			v.outer_local = local;
			v.outer_remote = src->sin_addr.s_addr;
			v.outer_sport = src->sin_port;
			v.hdr_len = g->hdr_len;
			memcpy(v.hdr, payload, g->hdr_len);
			gwlb_flowtab_update(gwlbd.ft, &pi.key, &v, now);
		}
	}
	if (write(e->gwi_fd[q % gwlbd.n_tun], inner, ilen) < 0) {
		drop(e, drops, GWLB_DROP_TUN_WRITE);
		log_pkt(GWLB_LS_TUNNEL, GWLB_LL_IMPORTANT, "write to %s: %m", e->gwi);
		return;
	}
	gwlb_ctr_add(&e->rx_pkts, 1);
	gwlb_ctr_add(&e->rx_bytes, ilen);
	if (atomic_load_explicit(&e->last_active, memory_order_relaxed) != now)
		atomic_store_explicit(&e->last_active, now, memory_order_relaxed);
}

static void udp_packet(struct udp_worker *w, const uint8_t *buf, size_t len,
		       const struct sockaddr_in *src, uint32_t local)
{
	struct gwlb_geneve g;
	struct eni *e;
	int ret;

	if (gwlbd.opts.n_origins &&
	    gwlb_cidr_list_match(gwlbd.opts.origins, gwlbd.opts.n_origins, 4,
				 (const uint8_t *)&src->sin_addr) < 0) {
		drop(NULL, w->drops, GWLB_DROP_ORIGIN);
		log_pkt(GWLB_LS_UDP, GWLB_LL_INFO, "GENEVE from %s dropped: not an allowed origin",
			inet_ntoa(src->sin_addr));
		return;
	}
	ret = gwlb_geneve_parse(buf, len, &g);
	if (ret) {
		drop(NULL, w->drops, GWLB_DROP_GENEVE + ret - 1);
		log_pkt(GWLB_LS_GENEVE, GWLB_LL_INFO, "malformed GENEVE from %s: %s",
			inet_ntoa(src->sin_addr), gwlb_geneve_strerror(ret));
		return;
	}
	e = gwlb_eni_lookup(g.eni_id);
	if (!e || atomic_load_explicit(&e->state, memory_order_acquire) != ENI_READY) {
		ret = gwlb_eni_hold(g.eni_id, buf, len, src, local);
		if (ret < 0) {
			drop(NULL, w->drops, GWLB_DROP_HOLD_OVERFLOW);
			log_pkt(GWLB_LS_TUNNEL, GWLB_LL_IMPORTANT,
				"hold pool full (--hold-max %u): packet for new eni %017llx dropped",
				gwlbd.opts.hold_max, (unsigned long long)g.eni_id);
			return;
		}
		if (ret == 0)
			return;
		e = gwlb_eni_lookup(g.eni_id);
		if (!e)
			return;
	}
	gwlb_udp_deliver(e, buf, len, &g, src, local, w->id, w->drops);
}

static bool fault_injected(const char *what, unsigned id)
{
	const char *f = getenv("GWLBD_FAULT_INJECT");
	char want[64];

	if (!f)
		return false;
	snprintf(want, sizeof(want), "%s:%u", what, id);
	return strstr(f, want) != NULL;
}

static void *udp_main(void *arg)
{
	struct udp_worker *w = arg;
	struct mmsghdr msg[GWLB_BATCH];
	struct iovec iov[GWLB_BATCH];
	struct sockaddr_in src[GWLB_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl[GWLB_BATCH];
	uint8_t *bufs;
	int i, n;

	gwlbd_pin_cpu(w->cpu);
	gwlb_qsbr_online(&gwlbd.qsbr, w->id);
	if (fault_injected("udp-worker-exit", w->id)) {
		log_crit(GWLB_LS_UDP, "worker %u: exiting (GWLBD_FAULT_INJECT)", w->id);
		goto out;
	}
	bufs = malloc((size_t)GWLB_BATCH * GWLB_PKT_BUF);
	if (!bufs) {
		log_crit(GWLB_LS_UDP, "worker %u: out of memory", w->id);
		goto out;
	}
	for (i = 0; i < GWLB_BATCH; i++) {
		iov[i].iov_base = bufs + (size_t)i * GWLB_PKT_BUF;
		iov[i].iov_len = GWLB_PKT_BUF;
	}
	while (!atomic_load_explicit(&gwlbd.stop, memory_order_relaxed)) {
		atomic_store_explicit(&w->heartbeat_ms, gwlbd_now_ms(), memory_order_relaxed);
		gwlb_qsbr_quiescent(&gwlbd.qsbr, w->id);
		for (i = 0; i < GWLB_BATCH; i++) {
			memset(&msg[i].msg_hdr, 0, sizeof(msg[i].msg_hdr));
			msg[i].msg_hdr.msg_name = &src[i];
			msg[i].msg_hdr.msg_namelen = sizeof(src[i]);
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
			msg[i].msg_hdr.msg_control = ctl[i].buf;
			msg[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
		n = recvmmsg(w->fd, msg, GWLB_BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			log_crit(GWLB_LS_UDP, "worker %u: GENEVE socket failed: %m", w->id);
			break;
		}
		for (i = 0; i < n; i++) {
			struct msghdr *mh = &msg[i].msg_hdr;
			uint32_t local = 0;
			struct cmsghdr *c;

			gwlb_ctr_add(&w->rx_pkts, 1);
			gwlb_ctr_add(&w->rx_bytes, msg[i].msg_len);
			if (mh->msg_flags & MSG_TRUNC) {
				drop(NULL, w->drops, GWLB_DROP_TOO_BIG);
				continue;
			}
			for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
				if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
					struct in_pktinfo pk;

					memcpy(&pk, CMSG_DATA(c), sizeof(pk));
					local = pk.ipi_addr.s_addr;
				}
			}
			udp_packet(w, iov[i].iov_base, msg[i].msg_len, &src[i], local);
		}
	}
	free(bufs);
out:
	gwlb_qsbr_offline(&gwlbd.qsbr, w->id);
	atomic_store(&w->alive, false);
	return NULL;
}

static int udp_socket(uint16_t port, bool reuseport, int *fdp)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { 0, 100000 };
	int one = 1, fd, rcvbuf = gwlbd.opts.udp_rcvbuf;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	/* Wake up to beat the heartbeat and pass a quiescent state even when idle. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

int gwlb_udp_open(char *why, size_t len)
{
	uint16_t port = gwlbd.opts.geneve_port;
	unsigned i;
	int ret, probe;

	/*
	 * SO_REUSEPORT would let us share the port with another root process (a second
	 * gwlbd, a gwlbtun) and silently split GWLB's flows with it: bind once without it.
	 */
	for (i = 0; i < gwlbd.n_udp; i++)
		gwlbd.udp[i].fd = -1;
	ret = udp_socket(port, false, &probe);
	if (ret < 0)
		goto fail;
	close(probe);
	for (i = 0; i < gwlbd.n_udp; i++) {
		ret = udp_socket(port, true, &gwlbd.udp[i].fd);
		if (ret < 0)
			goto fail;
	}
	return 0;
fail:
	if (ret == -EADDRINUSE)
		snprintf(why, len, "UDP port %u is in use (another gwlbd or gwlbtun?): "
			 "stop it or choose --geneve-port", port);
	else
		snprintf(why, len, "cannot bind UDP port %u: %s", port, strerror(-ret));
	gwlb_udp_close();
	return ret;
}

int gwlb_udp_start(void)
{
	unsigned i;
	int ret;

	for (i = 0; i < gwlbd.n_udp; i++) {
		struct udp_worker *w = &gwlbd.udp[i];

		w->id = i;
		atomic_store(&w->alive, true);
		atomic_store(&w->heartbeat_ms, gwlbd_now_ms());
		ret = pthread_create(&w->thread, NULL, udp_main, w);
		if (ret) {
			atomic_store(&w->alive, false);
			return -ret;
		}
	}
	return 0;
}

void gwlb_udp_join(void)
{
	unsigned i;

	for (i = 0; i < gwlbd.n_udp; i++)
		if (gwlbd.udp[i].thread)
			pthread_join(gwlbd.udp[i].thread, NULL);
}

void gwlb_udp_close(void)
{
	unsigned i;

	for (i = 0; i < gwlbd.n_udp; i++) {
		if (gwlbd.udp[i].fd >= 0)
			close(gwlbd.udp[i].fd);
		gwlbd.udp[i].fd = -1;
	}
}
