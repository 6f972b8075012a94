/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The reference for the policy host's verdict rate: the simplest correct NFQUEUE accept
 * loop with libnetfilter_queue's libmnl API (one receive, one NF_ACCEPT verdict per
 * packet), measured like nfqhost. Also the traffic source of the benchmark:
 *
 *   nfqbare [-q N] [-m N] [-w S] [-t S] [-T S]   accept loop on queue N, rate while flooded
 *   nfqbare -P N [-q N] [-m N]                   hold until N packets wait in the queue,
 *                                                then time how fast they are answered
 *   nfqbare -F -p PORT [-t S] [-c N] [-s BYTES]  UDP flood to 127.0.0.1:PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

static volatile sig_atomic_t stop;
static atomic_bool go = true;
static _Atomic uint64_t verdicts;
static struct mnl_socket *nl;
static uint16_t queue_num;

static void on_signal(int sig)
{
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bare_packet_cb(const struct nlmsghdr *nlh, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	const struct nfqnl_msg_packet_hdr *ph;
	struct nlmsghdr *v;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	v = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue_num);
	nfq_nlmsg_verdict_put(v, (int)ntohl(ph->packet_id), NF_ACCEPT);
	if (mnl_socket_sendto(nl, v, v->nlmsg_len) < 0)
		perror("nfqbare: verdict");
	else
		atomic_fetch_add_explicit(&verdicts, 1, memory_order_relaxed);
	return MNL_CB_OK;
}

static void *bare_loop(void *arg)
{
	size_t len = 0xffff + (MNL_SOCKET_BUFFER_SIZE / 2);
	char *buf = malloc(len);
	uint32_t portid = mnl_socket_get_portid(nl);
	ssize_t n;

	while (!atomic_load(&go) && !stop)
		usleep(100);
	while (buf && !stop) {
		n = mnl_socket_recvfrom(nl, buf, len);
		if (n < 0) {
			if (errno == ENOBUFS || errno == EINTR || errno == EAGAIN)
				continue;
			perror("nfqbare: receive");
			break;
		}
		if (mnl_cb_run(buf, (size_t)n, 0, portid, bare_packet_cb, NULL) < 0 &&
		    errno != ESRCH)
			perror("nfqbare: message");
	}
	free(buf);
	return NULL;
}

static int bare_bind(uint32_t maxlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	struct timeval tv = { .tv_usec = 100000 };
	int rcvbuf = (int)(maxlen * 1024 < (1u << 20) ? 1u << 20 : maxlen * 1024);
	struct nlmsghdr *nlh;
	ssize_t n;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfqbare: netlink");
		return -1;
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_num);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("nfqbare: bind");
		return -1;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0 || mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), NULL, NULL) < 0) {
		perror("nfqbare: bind");
		return -1;
	}
	return 0;
}

/* The kernel's queue_total (packets waiting for a verdict) and queue_dropped of queue q. */
static int kernel_queue(uint16_t q, unsigned *total, unsigned *dropped)
{
	unsigned qn, portid, mode, range, udrop, idseq;
	char line[256];
	int rc = -1;
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u %u %u %u %u %u %u", &qn, &portid, total, &mode, &range,
			   dropped, &udrop, &idseq) == 8 && qn == q) {
			rc = 0;
			break;
		}
	if (f)
		fclose(f);
	return rc;
}

/* Hold the loop until n packets wait, then time how long answering them takes. */
static int drain(unsigned n, double idle)
{
	unsigned total = 0, dropped = 0;
	double t0, t1, end = now_s() + idle;
	pthread_t th;

	atomic_store(&go, false);
	if (pthread_create(&th, NULL, bare_loop, NULL) != 0)
		return 1;
	while (!stop && (kernel_queue(queue_num, &total, &dropped) < 0 || total < n)) {
		if (now_s() > end) {
			fprintf(stderr, "nfqbare: only %u of %u packets queued\n", total, n);
			stop = 1;
			pthread_join(th, NULL);
			return 1;
		}
		usleep(2000);
	}
	t0 = now_s();
	atomic_store(&go, true);
	while (!stop && kernel_queue(queue_num, &total, &dropped) == 0 && total > 0)
		usleep(500);
	t1 = now_s();
	stop = 1;
	pthread_join(th, NULL);
	printf("rate %.0f verdicts %llu seconds %.3f\n", (double)n / (t1 - t0),
	       (unsigned long long)atomic_load(&verdicts), t1 - t0);
	printf("queue %u queue_dropped %u\n", queue_num, dropped);
	mnl_socket_close(nl);
	return 0;
}

static int flood(uint16_t port, double seconds, uint64_t count, size_t size)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int sndbuf = 256 << 20;
	char payload[1500];
	uint64_t sent = 0;
	double end;
	int fd;

	if (size > sizeof(payload))
		size = sizeof(payload);
	memset(payload, 'x', sizeof(payload));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	/* Queued packets stay charged to this socket: room for a whole queue of them. */
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("nfqbare: flood socket");
		return 1;
	}
	end = now_s() + seconds;
	while (!stop && (!count || sent < count)) {
		if ((sent & 1023) == 0 && now_s() >= end)
			break;
		if (send(fd, payload, size, 0) >= 0)
			sent++;
		else if (errno != ENOBUFS && errno != EPERM && errno != ECONNREFUSED)
			break;
	}
	printf("sent %llu\n", (unsigned long long)sent);
	close(fd);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nfqbare [-q N] [-m N] [-w S] [-t S] [-T S]\n"
		"       nfqbare -P N [-q N] [-m N] [-T S]\n"
		"       nfqbare -F -p PORT [-t S] [-c N] [-s BYTES]\n"
		"  -q N   queue number (0)          -m N   queue length (4096)\n"
		"  -w S   warm-up after the first packet (0.5)\n"
		"  -t S   measuring window / flood duration, seconds (3)\n"
		"  -T S   give up if no packet came within S seconds (10)\n"
		"  -P N   hold until N packets are queued, then time answering them\n"
		"  -F     flood instead: UDP to 127.0.0.1:PORT, payload BYTES (18), at most N packets\n"
		"Output: \"rate <verdicts/s> verdicts <n> seconds <s>\" (flood: \"sent <n>\").\n");
}

int main(int argc, char **argv)
{
	double warmup = 0.5, window = 3, idle = 10, t_start, t0, t1;
	uint32_t maxlen = 4096;
	bool do_flood = false;
	unsigned prefill = 0;
	uint64_t count = 0;
	uint16_t port = 9999;
	size_t size = 18;
	uint64_t c0, c1;
	pthread_t th;
	int opt;

	while ((opt = getopt(argc, argv, "q:m:w:t:T:P:Fc:p:s:h")) != -1) {
		switch (opt) {
		case 'q':
			queue_num = (uint16_t)atoi(optarg);
			break;
		case 'm':
			maxlen = (uint32_t)atoi(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 't':
			window = atof(optarg);
			break;
		case 'T':
			idle = atof(optarg);
			break;
		case 'P':
			prefill = (unsigned)atoi(optarg);
			break;
		case 'F':
			do_flood = true;
			break;
		case 'c':
			count = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			port = (uint16_t)atoi(optarg);
			break;
		case 's':
			size = (size_t)atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (do_flood)
		return flood(port, window, count, size);

	if (bare_bind(maxlen) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (prefill)
		return drain(prefill, idle);
	if (pthread_create(&th, NULL, bare_loop, NULL) != 0)
		return 1;

	t_start = now_s();
	while (!stop && atomic_load(&verdicts) == 0) {
		if (now_s() - t_start > idle) {
			fprintf(stderr, "nfqbare: no packet within %.0f s\n", idle);
			stop = 1;
			pthread_join(th, NULL);
			return 1;
		}
		usleep(10000);
	}
	t1 = now_s() + warmup;
	while (!stop && now_s() < t1)
		usleep(5000);
	t0 = now_s();
	c0 = atomic_load(&verdicts);
	while (!stop && now_s() < t0 + window)
		usleep(5000);
	t1 = now_s();
	c1 = atomic_load(&verdicts);
	stop = 1;
	pthread_join(th, NULL);
	printf("rate %.0f verdicts %llu seconds %.3f\n", (double)(c1 - c0) / (t1 - t0),
	       (unsigned long long)(c1 - c0), t1 - t0);
	{
		unsigned total, dropped = 0;

		kernel_queue(queue_num, &total, &dropped);
		printf("queue %u queue_dropped %u\n", queue_num, dropped);
	}
	mnl_socket_close(nl);
	return 0;
}
