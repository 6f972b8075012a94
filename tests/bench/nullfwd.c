/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nullfwd: the cheapest forwarder a tun-based GWLB appliance can be, as a floor for
 * gwlbd's numbers. UDP in -> strip a fixed 40-byte header -> gwi; gwo (and gwi) out ->
 * prepend the last header seen and outer IPv4/UDP -> raw socket. No parsing, no flow
 * table: with more than one flow the wrong cookie goes back, so benchmark it with
 * `gwlbsim bench --flows 1`. Interfaces, MTU, rp_filter and hook calls match gwlbd's so
 * the kernel path in between is the same.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "encap.h"
#include "eniname.h"
#include "geneve.h"

#define NF_BATCH	64
#define NF_MTU		8500
#define NF_HDR		GWLB_GENEVE_AWS_LEN
#define NF_HEADROOM	(GWLB_OUTER_LEN + NF_HDR)
#define NF_UDP_BUF	(NF_HDR + 65536)
#define NF_THREADS_MAX	64

/* The header and GWLB address of the last packet in, for the way back. */
struct nf_last {
	pthread_mutex_t lock;
	uint8_t hdr[NF_HDR];
	struct sockaddr_in peer;
	bool valid;
};

struct nf_worker {
	int udp_fd, gwi_fd, gwo_fd, raw_fd;
	pthread_t udp_th, tun_th;
	uint64_t rx, tx, short_pkt, no_hdr, tun_err, send_err;
};

static uint32_t nf_local;	/* network order */
static uint16_t nf_port = GWLB_GENEVE_PORT;
static struct nf_last nf_last = { .lock = PTHREAD_MUTEX_INITIALIZER };
static atomic_bool nf_stop;

static void nf_usage(FILE *f)
{
	fprintf(f,
		"Usage: nullfwd --local ADDR --eni ENI [--port PORT] [--threads N] [--hook FILE]\n"
		"\n"
		"Forward GENEVE through gwi-/gwo- tun devices like gwlbd, but with no parsing and no\n"
		"flow table (the last header seen is used for every reply): the floor any tun-based\n"
		"design pays. FILE is run as 'FILE CREATE|DESTROY gwi gwo <eni>' like gwlbd's hooks.\n"
		"SIGTERM/SIGINT print the counters to stderr, run the DESTROY hook and exit.\n");
}

static void *nf_udp_loop(void *arg)
{
	struct nf_worker *w = arg;
	struct mmsghdr msg[NF_BATCH];
	struct iovec iov[NF_BATCH];
	struct sockaddr_in peer[NF_BATCH];
	struct pollfd pfd = { .fd = w->udp_fd, .events = POLLIN };
	uint8_t *buf;
	int n, i, last;

	buf = malloc((size_t)NF_BATCH * NF_UDP_BUF);
	if (!buf)
		return NULL;
	memset(msg, 0, sizeof(msg));
	for (i = 0; i < NF_BATCH; i++) {
		iov[i].iov_base = buf + (size_t)i * NF_UDP_BUF;
		iov[i].iov_len = NF_UDP_BUF;
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
		msg[i].msg_hdr.msg_name = &peer[i];
	}
	while (!atomic_load_explicit(&nf_stop, memory_order_relaxed)) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		for (i = 0; i < NF_BATCH; i++)
			msg[i].msg_hdr.msg_namelen = sizeof(peer[i]);
		n = recvmmsg(w->udp_fd, msg, NF_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		/* Header first: a packet written to gwi can reach gwo before this loop ends. */
		for (last = n - 1; last >= 0 && msg[last].msg_len <= NF_HDR; last--)
			;
		if (last >= 0) {
			pthread_mutex_lock(&nf_last.lock);
			memcpy(nf_last.hdr, iov[last].iov_base, NF_HDR);
			nf_last.peer = peer[last];
			nf_last.valid = true;
			pthread_mutex_unlock(&nf_last.lock);
		}
		for (i = 0; i < n; i++) {
			uint8_t *p = iov[i].iov_base;

			if (msg[i].msg_len <= NF_HDR) {
				w->short_pkt++;
				continue;
			}
			if (write(w->gwi_fd, p + NF_HDR, msg[i].msg_len - NF_HDR) < 0) {
				w->tun_err++;
				continue;
			}
			w->rx++;
		}
	}
	free(buf);
	return NULL;
}

/* Drain one tun queue into the batch: at most NF_BATCH packets per wake-up in all. */
static unsigned int nf_tun_read(int fd, uint8_t *buf, struct iovec *iov, unsigned int n,
				uint64_t *err)
{
	while (n < NF_BATCH) {
		uint8_t *p = buf + (size_t)n * (NF_HEADROOM + NF_MTU);
		ssize_t len = read(fd, p + NF_HEADROOM, NF_MTU);

		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				(*err)++;
			break;
		}
		iov[n].iov_base = p;
		iov[n].iov_len = NF_HEADROOM + (size_t)len;
		n++;
	}
	return n;
}

static void *nf_tun_loop(void *arg)
{
	struct nf_worker *w = arg;
	struct mmsghdr msg[NF_BATCH];
	struct iovec iov[NF_BATCH];
	struct sockaddr_in peer;
	/* gwi too: a reply routed back out gwi must not pile up on an unread queue. */
	struct pollfd pfd[2] = {
		{ .fd = w->gwo_fd, .events = POLLIN },
		{ .fd = w->gwi_fd, .events = POLLIN },
	};
	uint8_t hdr[NF_HDR], *buf;
	unsigned int n, i, done;
	int rc;

	buf = malloc((size_t)NF_BATCH * (NF_HEADROOM + NF_MTU));
	if (!buf)
		return NULL;
	memset(msg, 0, sizeof(msg));
	for (i = 0; i < NF_BATCH; i++) {
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
		msg[i].msg_hdr.msg_name = &peer;
		msg[i].msg_hdr.msg_namelen = sizeof(peer);
	}
	while (!atomic_load_explicit(&nf_stop, memory_order_relaxed)) {
		if (poll(pfd, 2, 200) <= 0)
			continue;
		n = 0;
		if (pfd[0].revents & POLLIN)
			n = nf_tun_read(w->gwo_fd, buf, iov, n, &w->tun_err);
		if (pfd[1].revents & POLLIN)
			n = nf_tun_read(w->gwi_fd, buf, iov, n, &w->tun_err);
		if (!n)
			continue;

		pthread_mutex_lock(&nf_last.lock);
		rc = nf_last.valid;
		memcpy(hdr, nf_last.hdr, NF_HDR);
		peer = nf_last.peer;
		pthread_mutex_unlock(&nf_last.lock);
		if (!rc) {
			w->no_hdr += n;
			continue;
		}
		for (i = 0; i < n; i++) {
			uint8_t *p = iov[i].iov_base;

			gwlb_encap_outer4(p, GWLB_OUTER_LEN, nf_local, peer.sin_addr.s_addr,
					  peer.sin_port, htons(nf_port),
					  iov[i].iov_len - GWLB_OUTER_LEN, 0);
			memcpy(p + GWLB_OUTER_LEN, hdr, NF_HDR);
		}
		peer.sin_port = 0;	/* raw sockets take no port */
		for (done = 0; done < n;) {
			rc = sendmmsg(w->raw_fd, msg + done, n - done, 0);
			if (rc < 0) {
				if (errno == EINTR)
					continue;
				w->send_err++;
				done++;
				continue;
			}
			w->tx += (unsigned int)rc;
			done += (unsigned int)rc;
		}
	}
	free(buf);
	return NULL;
}

static int nf_tun_queue(const char *name)
{
	struct ifreq ifr;
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "nullfwd: open /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "nullfwd: tun %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* /proc/sys/net/<proto>/conf/<ifname>/<knob> = val */
static int nf_write_proc(const char *proto, const char *ifname, const char *knob,
			 const char *val)
{
	char path[128];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", proto, ifname, knob);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	if (fputs(val, f) == EOF)
		ret = -EIO;
	if (fclose(f))
		ret = -errno;
	return ret;
}

static int nf_link_up(const char *name)
{
	struct ifreq ifr;
	int s, ret = -1;

	/* No IPv6 link-local address: the kernel's own RS/MLD packets would leave with a cookie. */
	nf_write_proc("ipv6", name, "addr_gen_mode", "1\n");
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	ifr.ifr_mtu = NF_MTU;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
		fprintf(stderr, "nullfwd: MTU of %s: %s\n", name, strerror(errno));
		goto out;
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto out;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		fprintf(stderr, "nullfwd: bring %s up: %s\n", name, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	close(s);
	return ret;
}

static int nf_hook(const char *hook, const char *what, const char *gwi, const char *gwo,
		   uint64_t eni)
{
	char id[20];
	pid_t pid;
	int st;

	if (!hook)
		return 0;
	snprintf(id, sizeof(id), "%017" PRIx64, eni);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "nullfwd: fork for hook: %s\n", strerror(errno));
		return -1;
	}
	if (!pid) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl(hook, hook, what, gwi, gwo, id, (char *)NULL);
		fprintf(stderr, "nullfwd: run hook %s: %s\n", hook, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "nullfwd: hook %s %s failed (status %d)\n", hook, what,
			WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return -1;
	}
	return 0;
}

static int nf_udp_open(void)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = nf_local,
		.sin_port = htons(nf_port),
	};
	int fd, one = 1, sz = 8 << 20;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		fprintf(stderr, "nullfwd: bind UDP port %u: %s\n", nf_port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "local", required_argument, NULL, 'l' },
		{ "eni", required_argument, NULL, 'e' },
		{ "port", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "hook", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char gwi[IFNAMSIZ + 8], gwo[IFNAMSIZ + 8];
	struct nf_worker *w = NULL;
	const char *hook = NULL;
	uint64_t eni = 0, rx = 0, tx = 0, other = 0;
	bool have_local = false, have_eni = false, created = false;
	int threads = 1, started = 0, ret = 1, c, i, sig;
	struct in_addr a;
	sigset_t set;
	long v;
	char *end;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (inet_pton(AF_INET, optarg, &a) != 1) {
				fprintf(stderr, "nullfwd: --local %s: not an IPv4 address\n", optarg);
				return 1;
			}
			nf_local = a.s_addr;
			have_local = true;
			break;
		case 'e':
			if (gwlb_eni_parse(optarg, &eni)) {
				fprintf(stderr, "nullfwd: --eni %s: not an ENI id\n", optarg);
				return 1;
			}
			have_eni = true;
			break;
		case 'p':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 65535) {
				fprintf(stderr, "nullfwd: --port %s: expected 1-65535\n", optarg);
				return 1;
			}
			nf_port = (uint16_t)v;
			break;
		case 't':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > NF_THREADS_MAX) {
				fprintf(stderr, "nullfwd: --threads %s: expected 1-%d\n", optarg,
					NF_THREADS_MAX);
				return 1;
			}
			threads = (int)v;
			break;
		case 'k':
			hook = optarg;
			break;
		case 'h':
			nf_usage(stdout);
			return 0;
		default:
			nf_usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nullfwd: unexpected argument '%s'\n", argv[optind]);
		return 1;
	}
	if (!have_local || !have_eni) {
		fprintf(stderr, "nullfwd: --local and --eni are required (see nullfwd --help)\n");
		return 1;
	}
	if (gwlb_eni_ifname("gwi-", eni, gwi, sizeof(gwi)) < 0 ||
	    gwlb_eni_ifname("gwo-", eni, gwo, sizeof(gwo)) < 0) {
		fprintf(stderr, "nullfwd: cannot name the interfaces of ENI %017" PRIx64 "\n", eni);
		return 1;
	}

	/* Workers inherit the mask: only the main thread takes SIGTERM/SIGINT, in sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	w = calloc((size_t)threads, sizeof(*w));
	if (!w)
		goto out;
	for (i = 0; i < threads; i++)
		w[i].udp_fd = w[i].gwi_fd = w[i].gwo_fd = w[i].raw_fd = -1;
	for (i = 0; i < threads; i++) {
		w[i].udp_fd = nf_udp_open();
		w[i].gwi_fd = nf_tun_queue(gwi);
		w[i].gwo_fd = nf_tun_queue(gwo);
		w[i].raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		if (w[i].udp_fd < 0 || w[i].gwi_fd < 0 || w[i].gwo_fd < 0 || w[i].raw_fd < 0) {
			if (w[i].raw_fd < 0)
				fprintf(stderr, "nullfwd: raw socket: %s\n", strerror(errno));
			goto out;
		}
	}
	if (nf_link_up(gwi) || nf_link_up(gwo))
		goto out;
	if (nf_write_proc("ipv4", gwi, "rp_filter", "0\n"))
		fprintf(stderr, "nullfwd: warning: cannot clear rp_filter on %s\n", gwi);
	if (nf_hook(hook, "CREATE", gwi, gwo, eni))
		goto out;
	created = true;

	for (i = 0; i < threads; i++) {
		if (pthread_create(&w[i].udp_th, NULL, nf_udp_loop, &w[i]))
			goto stop;
		if (pthread_create(&w[i].tun_th, NULL, nf_tun_loop, &w[i])) {
			atomic_store(&nf_stop, true);
			pthread_join(w[i].udp_th, NULL);
			goto stop;
		}
		started++;
	}
	fprintf(stderr, "nullfwd: %s/%s up, %d thread pair(s)\n", gwi, gwo, threads);
	while (sigwait(&set, &sig))
		;
	ret = 0;
stop:
	atomic_store(&nf_stop, true);
	for (i = 0; i < started; i++) {
		pthread_join(w[i].udp_th, NULL);
		pthread_join(w[i].tun_th, NULL);
	}
	for (i = 0; i < threads; i++) {
		rx += w[i].rx;
		tx += w[i].tx;
		other += w[i].short_pkt + w[i].no_hdr + w[i].tun_err + w[i].send_err;
	}
	fprintf(stderr, "nullfwd: rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64 "\n", rx, tx,
		other);
out:
	if (created && nf_hook(hook, "DESTROY", gwi, gwo, eni))
		ret = 1;
	if (w) {
		for (i = 0; i < threads; i++) {
			if (w[i].udp_fd >= 0)
				close(w[i].udp_fd);
			if (w[i].gwi_fd >= 0)
				close(w[i].gwi_fd);
			if (w[i].gwo_fd >= 0)
				close(w[i].gwo_fd);
			if (w[i].raw_fd >= 0)
				close(w[i].raw_fd);
		}
		free(w);
	}
	return ret;
}
