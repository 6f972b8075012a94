/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbsim bench: a traffic generator that speaks GWLB. A sender thread builds inner IPv4
 * packets for N flows, wraps them like GWLB would and sends them to the appliance over a
 * raw socket; a receiver thread takes the replies, checks them exactly as lab mode does,
 * and reads the sequence number and send time back out of the payload.
 *
 * Measurement window: packets stamped in [t_start, t_end) count, on both sides. Warmup
 * packets (and replies to them) are sent and checked but not counted.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cidr.h"
#include "eniname.h"
#include "sim.h"

#define BENCH_ENI_DEFAULT	0x076bc493b822cd32fULL
#define BENCH_ATTACH_DEFAULT	1
#define BENCH_DPORT		5001
#define BENCH_FLOW_SPORT	10000	/* inner source ports start here */
#define BENCH_FIELDS_LEN	20	/* seq (8) + send time (8) + flow index (4) */
#define BENCH_SIZE_MAX		SIM_TUN_MTU
#define BENCH_TX_BATCH		32
#define BENCH_MISMATCH_SHOW	10
/* Latency histogram: 1 us buckets up to 1 s, plus one overflow bucket. */
#define BENCH_HIST_US		1000000
#define NSEC			1000000000ULL

struct bench_tmpl {
	/* outer IPv4/UDP + GENEVE + inner IPv4 + UDP/TCP header, copied into each packet */
	uint8_t hdr[GWLB_OUTER_LEN + GWLB_GENEVE_AWS_LEN + 20 + 20];
	uint32_t csum_base;	/* L4 checksum sum over everything but the per-packet fields */
	uint32_t tcp_seq;
};

struct bench {
	uint32_t local, appliance;	/* network order */
	uint16_t port;
	uint64_t eni_id, attach_id;
	struct gwlb_cidr src;
	uint32_t dst;
	uint32_t nflows;
	uint32_t size;
	bool tcp;
	double duration, warmup;
	uint64_t rate;
	bool json;

	int raw_fd, udp_fd;
	size_t tmpl_len;	/* bytes of bench_tmpl.hdr in use */
	size_t l4_len;		/* inner transport header length */
	struct sim_flowtab tab;
	struct sim_flow **flow;	/* by index */
	struct bench_tmpl *tmpl;

	uint64_t t_start, t_end;
	atomic_uint_fast64_t sent, received;
	atomic_bool rx_stop;
	uint64_t send_err;

	/* receiver's own, read by main after join */
	uint64_t mismatch, unknown, malformed, rx_bytes;
	uint64_t *hist;
	uint64_t lat_min, lat_max, lat_sum;
	unsigned int mismatch_shown;
};

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v & 0xffff);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void bench_usage(FILE *f)
{
	fprintf(f,
		"Usage: gwlbsim bench --local ADDR --appliance ADDR [--eni ENI] [--attach ID]\n"
		"                     [--port PORT] [--src CIDR] [--dst ADDR] [--flows N]\n"
		"                     [--size BYTES] [--proto udp|tcp] [--duration S] [--rate PPS]\n"
		"                     [--warmup S] [--json]\n"
		"\n"
		"Send GENEVE-wrapped traffic to an appliance the way GWLB does and measure what comes\n"
		"back: rate, loss, latency, and replies with a wrong header or source port.\n"
		"\n"
		"  --local ADDR      our (GWLB's) IPv4 address; replies are received on ADDR:PORT\n"
		"  --appliance ADDR  the appliance's IPv4 address\n"
		"  --eni ENI         ENI id in the header (default eni-076bc493b822cd32f)\n"
		"  --attach ID       attachment id (vpce-<hex>, 0x<hex> or hex; default 1)\n"
		"  --port PORT       GENEVE UDP port (default 6081)\n"
		"  --src CIDR        inner source addresses (default 198.19.1.0/24)\n"
		"  --dst ADDR        inner destination (default 198.19.100.2)\n"
		"  --flows N         number of flows (default 1, at most %u)\n"
		"  --size BYTES      inner IPv4 packet size (default 64; udp 48-%u, tcp 60-%u)\n"
		"  --proto udp|tcp   inner transport (tcp: ACK segments, no handshake; default udp)\n"
		"  --duration S      measured seconds (default 5)\n"
		"  --rate PPS        packets per second, 0 = as fast as possible (default 0)\n"
		"  --warmup S        seconds sent before measuring (default 1)\n"
		"  --json            print one JSON object on stdout (human lines go to stderr)\n"
		"  -h, --help        this text\n",
		SIM_FLOWS_MAX, BENCH_SIZE_MAX, BENCH_SIZE_MAX);
}

static int bench_parse_secs(const char *opt, const char *s, double min, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > 86400) {
		fprintf(stderr, "gwlbsim bench: %s %s: expected seconds, at least %g\n", opt, s, min);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int bench_parse_args(struct bench *b, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "local", required_argument, NULL, 'l' },
		{ "appliance", required_argument, NULL, 'a' },
		{ "eni", required_argument, NULL, 'e' },
		{ "attach", required_argument, NULL, 'A' },
		{ "port", required_argument, NULL, 'p' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "flows", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 'S' },
		{ "proto", required_argument, NULL, 'P' },
		{ "duration", required_argument, NULL, 'D' },
		{ "rate", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool have_local = false, have_appl = false;
	uint32_t min_size;
	uint64_t v;
	int c, idx;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		switch (c) {
		case 'l':
			if (sim_parse_ip4(optarg, &b->local))
				goto bad_value;
			have_local = true;
			break;
		case 'a':
			if (sim_parse_ip4(optarg, &b->appliance))
				goto bad_value;
			have_appl = true;
			break;
		case 'e':
			if (gwlb_eni_parse(optarg, &b->eni_id))
				goto bad_value;
			break;
		case 'A':
			if (sim_parse_attach(optarg, &b->attach_id))
				goto bad_value;
			break;
		case 'p':
			if (sim_parse_u64(optarg, 10, 1, 65535, &v))
				goto bad_value;
			b->port = (uint16_t)v;
			break;
		case 's':
			if (gwlb_cidr_parse(optarg, &b->src) || b->src.family != 4)
				goto bad_value;
			break;
		case 'd':
			if (sim_parse_ip4(optarg, &b->dst))
				goto bad_value;
			break;
		case 'f':
			if (sim_parse_u64(optarg, 10, 1, SIM_FLOWS_MAX, &v))
				goto bad_value;
			b->nflows = (uint32_t)v;
			break;
		case 'S':
			if (sim_parse_u64(optarg, 10, 1, BENCH_SIZE_MAX, &v))
				goto bad_value;
			b->size = (uint32_t)v;
			break;
		case 'P':
			if (!strcmp(optarg, "udp"))
				b->tcp = false;
			else if (!strcmp(optarg, "tcp"))
				b->tcp = true;
			else
				goto bad_value;
			break;
		case 'D':
			if (bench_parse_secs("--duration", optarg, 0.001, &b->duration))
				return -EINVAL;
			break;
		case 'w':
			if (bench_parse_secs("--warmup", optarg, 0, &b->warmup))
				return -EINVAL;
			break;
		case 'r':
			if (sim_parse_u64(optarg, 10, 0, 100000000, &v))
				goto bad_value;
			b->rate = v;
			break;
		case 'j':
			b->json = true;
			break;
		case 'h':
			bench_usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "gwlbsim bench: bad option '%s' (see gwlbsim bench --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gwlbsim bench: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!have_local || !have_appl) {
		fprintf(stderr, "gwlbsim bench: --local and --appliance are required\n");
		return -EINVAL;
	}
	b->l4_len = b->tcp ? 20 : 8;
	min_size = 20 + (uint32_t)b->l4_len + BENCH_FIELDS_LEN;
	if (b->size < min_size) {
		fprintf(stderr, "gwlbsim bench: --size %u: %s packets need at least %u bytes\n",
			b->size, b->tcp ? "tcp" : "udp", min_size);
		return -EINVAL;
	}
	return 0;
bad_value:
	fprintf(stderr, "gwlbsim bench: --%s %s: invalid value (see gwlbsim bench --help)\n",
		opts[idx].name, optarg);
	return -EINVAL;
}

/*
 * Flow i: source host i % hosts of --src, source port BENCH_FLOW_SPORT + i / hosts, so
 * flows spread over addresses first (what balancers and hashes see) and stay distinct.
 */
static int bench_flow_addr(const struct bench *b, uint32_t i, uint32_t *saddr, uint16_t *sport)
{
	uint32_t net = ntohl(*(const uint32_t *)(const void *)b->src.addr);
	uint64_t size = 1ULL << (32 - b->src.plen);
	uint64_t hosts = size, first = 0;

	if (b->src.plen < 31) {
		hosts = size - 2;	/* skip the network and broadcast addresses */
		first = 1;
	}
	if (i / hosts > 65535 - BENCH_FLOW_SPORT)
		return -ERANGE;
	*saddr = htonl(net + (uint32_t)(first + i % hosts));
	*sport = (uint16_t)(BENCH_FLOW_SPORT + i / hosts);
	return 0;
}

static uint16_t bench_ip_csum(const uint8_t *ip)
{
	return sim_csum_fold(sim_csum_add(0, ip, 20));
}

/* Build flow i's template, its key (from our own packet, as the receiver will) and header. */
static int bench_flow_init(struct bench *b, uint32_t i, struct sim_rng *rng,
			   const struct sim_flow_params *fp, uint8_t *scratch)
{
	struct bench_tmpl *t = &b->tmpl[i];
	uint8_t idx[4];
	uint8_t *ip = t->hdr + GWLB_OUTER_LEN + GWLB_GENEVE_AWS_LEN, *l4 = ip + 20;
	uint16_t l4_total = (uint16_t)(b->size - 20);
	struct gwlb_pkt_info pi;
	struct sim_flow *f;
	uint32_t saddr, sum;
	uint16_t sport;
	uint8_t pseudo[12];
	bool created;
	int rc;

	if (bench_flow_addr(b, i, &saddr, &sport))
		return -ERANGE;
	memset(t, 0, sizeof(*t));
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)b->size);
	ip[8] = 64;
	ip[9] = b->tcp ? IPPROTO_TCP : IPPROTO_UDP;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &b->dst, 4);
	put_be16(ip + 10, bench_ip_csum(ip));
	put_be16(l4, sport);
	put_be16(l4 + 2, BENCH_DPORT);
	if (b->tcp) {
		put_be32(l4 + 8, 1);		/* ack number */
		l4[12] = 5 << 4;		/* data offset: 20 bytes */
		l4[13] = 0x10;			/* ACK */
		put_be16(l4 + 14, 65535);	/* window */
	} else {
		put_be16(l4 + 4, l4_total);
	}

	/*
	 * Everything in the L4 checksum that never changes: pseudo header, transport header
	 * with seq 0, and the flow index in the payload (zero fill adds nothing).
	 */
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = ip[9];
	put_be16(pseudo + 10, l4_total);
	sum = sim_csum_add(0, pseudo, sizeof(pseudo));
	sum = sim_csum_add(sum, l4, b->l4_len);
	put_be32(idx, i);
	sum = sim_csum_add(sum, idx, sizeof(idx));
	t->csum_base = sum;

	/* Key our own (whole) packet with the library, exactly as replies will be keyed. */
	memset(scratch, 0, b->size);
	memcpy(scratch, ip, 20 + b->l4_len);
	rc = gwlb_pkt_parse(scratch, b->size, 4, &pi);
	if (rc != GWLB_PKT_OK)
		return -EINVAL;
	pi.key.eni_idx = 0;
	f = sim_flowtab_insert(&b->tab, &pi.key, &created);
	if (!f || !created)
		return -EEXIST;
	f->idx = i;
	sim_flow_setup(f, rng, fp);
	b->flow[i] = f;

	memcpy(t->hdr + GWLB_OUTER_LEN, f->hdr, GWLB_GENEVE_AWS_LEN);
	/* Outer IP id 0: the kernel picks one for IP_HDRINCL sends and fills the checksum. */
	if (!gwlb_encap_outer4(t->hdr, GWLB_OUTER_LEN, b->local, b->appliance, htons(f->sport),
			       htons(b->port), GWLB_GENEVE_AWS_LEN + b->size, 0))
		return -EINVAL;
	return 0;
}

static int bench_flows_init(struct bench *b)
{
	struct sim_flow_params fp = {
		.eni_id = b->eni_id,
		.attach_id = b->attach_id,
		.sport_lo = SIM_SPORT_LO,
		.sport_hi = SIM_SPORT_HI,
	};
	struct sim_rng rng;
	uint8_t *scratch = NULL;
	uint32_t i;
	int rc;

	sim_rng_init(&rng);
	rc = sim_flowtab_init(&b->tab, b->nflows);
	if (rc)
		goto out;
	rc = -ENOMEM;
	b->flow = calloc(b->nflows, sizeof(*b->flow));
	b->tmpl = calloc(b->nflows, sizeof(*b->tmpl));
	scratch = malloc(b->size);
	if (!b->flow || !b->tmpl || !scratch) {
		fprintf(stderr, "gwlbsim bench: out of memory\n");
		goto out;
	}
	b->tmpl_len = GWLB_OUTER_LEN + GWLB_GENEVE_AWS_LEN + 20 + b->l4_len;
	for (i = 0; i < b->nflows; i++) {
		rc = bench_flow_init(b, i, &rng, &fp, scratch);
		if (rc == -ERANGE) {
			char cs[64];

			fprintf(stderr, "gwlbsim bench: --flows %u: too many for --src %s\n",
				b->nflows, gwlb_cidr_str(&b->src, cs, sizeof(cs)));
			goto out;
		}
		if (rc) {
			fprintf(stderr, "gwlbsim bench: cannot build flow %u (library refused it)\n", i);
			goto out;
		}
	}
out:
	free(scratch);
	return rc;
}

/* Stamp one packet: the fields, the inner IP id and both checksums. */
static void bench_fill(struct bench *b, uint8_t *p, uint32_t i, uint64_t seq, uint64_t ts,
		       uint16_t ip_id)
{
	struct bench_tmpl *t = &b->tmpl[i];
	uint8_t *ip = p + GWLB_OUTER_LEN + GWLB_GENEVE_AWS_LEN, *l4 = ip + 20;
	uint8_t *fields = l4 + b->l4_len;
	uint32_t sum = t->csum_base;
	uint16_t csum;

	memcpy(p, t->hdr, b->tmpl_len);
	put_be16(ip + 4, ip_id);
	put_be16(ip + 10, 0);
	put_be16(ip + 10, bench_ip_csum(ip));
	put_be64(fields, seq);
	put_be64(fields + 8, ts);
	put_be32(fields + 16, i);
	sum = sim_csum_add(sum, fields, 16);
	if (b->tcp) {
		put_be32(l4 + 4, t->tcp_seq);
		sum = sim_csum_add(sum, l4 + 4, 4);
		t->tcp_seq += b->size - 40;
	}
	csum = sim_csum_fold(sum);
	if (!b->tcp && !csum)
		csum = 0xffff;		/* 0 would mean "no checksum" for UDP */
	put_be16(l4 + (b->tcp ? 16 : 6), csum);
}

static void bench_sleep_until(uint64_t t)
{
	struct timespec ts = {
		.tv_sec = (time_t)(t / NSEC),
		.tv_nsec = (long)(t % NSEC),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void *bench_sender(void *arg)
{
	struct bench *b = arg;
	size_t pkt_len = GWLB_OUTER_LEN + GWLB_GENEVE_AWS_LEN + b->size;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = b->appliance };
	struct mmsghdr msg[BENCH_TX_BATCH];
	struct iovec iov[BENCH_TX_BATCH];
	uint8_t *buf;
	uint64_t seq = 0, paced = 0, base, now;
	uint32_t flow = 0, batch = BENCH_TX_BATCH, k;
	uint16_t ip_id = 0;

	/* Zero once: the payload after the stamped fields never changes. */
	buf = calloc(BENCH_TX_BATCH, pkt_len);
	if (!buf) {
		fprintf(stderr, "gwlbsim bench: out of memory\n");
		return NULL;
	}
	memset(msg, 0, sizeof(msg));
	for (k = 0; k < BENCH_TX_BATCH; k++) {
		iov[k].iov_base = buf + k * pkt_len;
		iov[k].iov_len = pkt_len;
		msg[k].msg_hdr.msg_iov = &iov[k];
		msg[k].msg_hdr.msg_iovlen = 1;
		msg[k].msg_hdr.msg_name = &sin;
		msg[k].msg_hdr.msg_namelen = sizeof(sin);
	}
	/* Paced: about a thousand wake-ups a second at most, one at least every batch. */
	if (b->rate) {
		batch = (uint32_t)(b->rate / 1000);
		if (batch < 1)
			batch = 1;
		if (batch > BENCH_TX_BATCH)
			batch = BENCH_TX_BATCH;
	}

	base = sim_now_ns();
	for (;;) {
		unsigned int done = 0;
		int rc;

		now = sim_now_ns();
		if (now >= b->t_end)
			break;
		if (b->rate) {
			/* Token bucket, batch granularity: batch k is due at base + k*batch/rate. */
			uint64_t due = base + (uint64_t)((double)paced * NSEC / (double)b->rate);

			if (now < due) {
				bench_sleep_until(due < b->t_end ? due : b->t_end);
				continue;
			}
			/* Fell behind by more than 10 ms (preempted): do not burst to catch up. */
			if (now - due > NSEC / 100) {
				base = now;
				paced = 0;
			}
		}
		for (k = 0; k < batch; k++) {
			bench_fill(b, buf + k * pkt_len, flow, seq++, now, ip_id++);
			if (++flow == b->nflows)
				flow = 0;
		}
		while (done < batch) {
			rc = sendmmsg(b->raw_fd, msg + done, batch - done, 0);
			if (rc < 0) {
				if (errno == EINTR)
					continue;
				if (b->send_err++ < 5)
					fprintf(stderr, "gwlbsim bench: send: %s\n", strerror(errno));
				done++;
				continue;
			}
			if (now >= b->t_start)
				atomic_fetch_add_explicit(&b->sent, (uint64_t)rc, memory_order_relaxed);
			done += (unsigned int)rc;
		}
		paced += batch;
	}
	free(buf);
	return NULL;
}

static void bench_mismatch(struct bench *b, const struct sim_flow *f, const uint8_t *hdr,
			   size_t hdr_len, const struct sockaddr_in *peer, const char *why)
{
	char ks[160], got[2 * GWLB_GENEVE_MAX_LEN + 1], want[2 * GWLB_GENEVE_AWS_LEN + 1];
	char pa[INET_ADDRSTRLEN];

	b->mismatch++;
	if (b->mismatch_shown >= BENCH_MISMATCH_SHOW)
		return;
	b->mismatch_shown++;
	sim_hex(hdr, hdr_len, got);
	sim_hex(f->hdr, GWLB_GENEVE_AWS_LEN, want);
	inet_ntop(AF_INET, &peer->sin_addr, pa, sizeof(pa));
	fprintf(stderr,
		"gwlbsim bench: mismatch %u (%s): flow %u %s\n"
		"  from %s:%u, want port %u\n  header %s\n  want   %s\n",
		b->mismatch_shown, why, f->idx, gwlb_flow_key_str(&f->key, ks, sizeof(ks)),
		pa, ntohs(peer->sin_port), f->sport, got, want);
}

static void bench_record(struct bench *b, uint64_t lat)
{
	uint64_t us = lat / 1000;

	b->hist[us < BENCH_HIST_US ? us : BENCH_HIST_US]++;
	if (!b->lat_min || lat < b->lat_min)
		b->lat_min = lat;
	if (lat > b->lat_max)
		b->lat_max = lat;
	b->lat_sum += lat;
}

static void bench_reply(struct bench *b, const uint8_t *buf, size_t len,
			const struct sockaddr_in *peer, uint64_t now)
{
	const uint8_t *inner, *l4, *fields;
	struct gwlb_pkt_info pi;
	struct gwlb_geneve g;
	struct sim_flow *f;
	size_t ilen, l4_len;
	uint64_t ts;

	if (gwlb_geneve_parse(buf, len, &g) != GWLB_GENEVE_OK) {
		b->malformed++;
		return;
	}
	inner = buf + g.hdr_len;
	ilen = len - g.hdr_len;
	if (gwlb_pkt_parse(inner, ilen, g.proto == GWLB_ETH_P_IPV6 ? 6 : 4, &pi) != GWLB_PKT_OK ||
	    (pi.flags & (GWLB_PKT_FRAG | GWLB_PKT_ICMP_ERR))) {
		b->malformed++;
		return;
	}
	pi.key.eni_idx = 0;
	f = sim_flowtab_find(&b->tab, &pi.key);
	if (!f) {
		b->unknown++;
		return;
	}
	/*
	 * A reply with the wrong header is counted as a mismatch but still timed: the null
	 * forwarder (no flow table, one header for all) is measured with this same code.
	 */
	if (g.hdr_len != GWLB_GENEVE_AWS_LEN || memcmp(buf, f->hdr, GWLB_GENEVE_AWS_LEN))
		bench_mismatch(b, f, buf, g.hdr_len, peer, "header");
	else if (peer->sin_addr.s_addr != b->appliance || ntohs(peer->sin_port) != f->sport)
		bench_mismatch(b, f, buf, g.hdr_len, peer, "source");
	l4 = inner + pi.l4_off;
	l4_len = b->tcp ? (size_t)(l4[12] >> 4) * 4 : 8;
	if (pi.l4_off + l4_len + BENCH_FIELDS_LEN > ilen) {
		b->malformed++;
		return;
	}
	fields = l4 + l4_len;
	if (get_be32(fields + 16) != f->idx) {
		bench_mismatch(b, f, buf, g.hdr_len, peer, "flow index");
		return;
	}
	ts = get_be64(fields + 8);
	if (ts < b->t_start || ts >= b->t_end)
		return;
	bench_record(b, now > ts ? now - ts : 0);
	b->rx_bytes += ilen;
	atomic_fetch_add_explicit(&b->received, 1, memory_order_relaxed);
}

static void *bench_receiver(void *arg)
{
	struct bench *b = arg;
	struct mmsghdr msg[SIM_BATCH];
	struct iovec iov[SIM_BATCH];
	struct sockaddr_in peer[SIM_BATCH];
	struct pollfd pfd = { .fd = b->udp_fd, .events = POLLIN };
	uint8_t *buf;
	int n, i;

	buf = malloc((size_t)SIM_BATCH * SIM_PKT_MAX);
	if (!buf) {
		fprintf(stderr, "gwlbsim bench: out of memory\n");
		return NULL;
	}
	memset(msg, 0, sizeof(msg));
	for (i = 0; i < SIM_BATCH; i++) {
		iov[i].iov_base = buf + (size_t)i * SIM_PKT_MAX;
		iov[i].iov_len = SIM_PKT_MAX;
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
		msg[i].msg_hdr.msg_name = &peer[i];
	}
	while (!atomic_load(&b->rx_stop)) {
		uint64_t now;

		/* The timeout only bounds how long a stop request waits. */
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		for (i = 0; i < SIM_BATCH; i++)
			msg[i].msg_hdr.msg_namelen = sizeof(peer[i]);
		n = recvmmsg(b->udp_fd, msg, SIM_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		now = sim_now_ns();
		for (i = 0; i < n; i++) {
			if (msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
				b->malformed++;
				continue;
			}
			bench_reply(b, iov[i].iov_base, msg[i].msg_len, &peer[i], now);
		}
	}
	free(buf);
	return NULL;
}

/*
 * Percentile p of the histogram, in microseconds: the smallest bucket holding the
 * ceil(p * n)-th sample, reported at its middle and clamped to the observed min/max so a
 * single-sample run reports that sample.
 */
static double bench_percentile(const struct bench *b, uint64_t n, double p)
{
	uint64_t rank, cum = 0;
	double v, lo, hi;
	size_t k;

	if (!n)
		return 0;
	rank = (uint64_t)ceil(p * (double)n);
	if (rank < 1)
		rank = 1;
	for (k = 0; k <= BENCH_HIST_US; k++) {
		cum += b->hist[k];
		if (cum >= rank)
			break;
	}
	lo = (double)b->lat_min / 1000.0;
	hi = (double)b->lat_max / 1000.0;
	v = k >= BENCH_HIST_US ? hi : (double)k + 0.5;
	return v < lo ? lo : v > hi ? hi : v;
}

static int bench_report(struct bench *b)
{
	uint64_t sent = atomic_load(&b->sent), received = atomic_load(&b->received);
	uint64_t lost = sent > received ? sent - received : 0;
	double loss_pct = sent ? 100.0 * (double)lost / (double)sent : 0;
	double tx_pps = (double)sent / b->duration, rx_pps = (double)received / b->duration;
	double rx_gbps = (double)b->rx_bytes * 8 / b->duration / 1e9;
	double p50 = bench_percentile(b, received, 0.50);
	double p99 = bench_percentile(b, received, 0.99);
	double p999 = bench_percentile(b, received, 0.999);
	double mean = received ? (double)b->lat_sum / (double)received / 1000.0 : 0;
	FILE *h = b->json ? stderr : stdout;
	json_t *o;

	fprintf(h, "gwlbsim bench: %u flows, %u-byte %s packets, %.3f s measured\n",
		b->nflows, b->size, b->tcp ? "tcp" : "udp", b->duration);
	fprintf(h, "  sent     %" PRIu64 " (%.0f pps)\n", sent, tx_pps);
	fprintf(h, "  received %" PRIu64 " (%.0f pps, %.3f Gbit/s inner)\n", received, rx_pps,
		rx_gbps);
	fprintf(h, "  lost     %" PRIu64 " (%.3f%%)\n", lost, loss_pct);
	fprintf(h, "  latency  p50 %.1f us, p99 %.1f us, p99.9 %.1f us (min %.1f, mean %.1f, max %.1f)\n",
		p50, p99, p999, (double)b->lat_min / 1000.0, mean, (double)b->lat_max / 1000.0);
	fprintf(h, "  mismatch %" PRIu64 ", unknown %" PRIu64 ", malformed %" PRIu64
		", send errors %" PRIu64 "\n", b->mismatch, b->unknown, b->malformed, b->send_err);
	if (!b->json)
		return 0;

	o = json_pack("{s:I,s:I,s:s,s:f,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:I}",
		      "flows", (json_int_t)b->nflows,
		      "size", (json_int_t)b->size,
		      "proto", b->tcp ? "tcp" : "udp",
		      "duration_s", b->duration,
		      "sent", (json_int_t)sent,
		      "received", (json_int_t)received,
		      "lost", (json_int_t)lost,
		      "loss_pct", loss_pct,
		      "tx_pps", tx_pps,
		      "rx_pps", rx_pps,
		      "rx_gbps", rx_gbps,
		      "lat_p50_us", p50,
		      "lat_p99_us", p99,
		      "lat_p999_us", p999,
		      "mismatch", (json_int_t)b->mismatch,
		      "unknown", (json_int_t)b->unknown,
		      "malformed", (json_int_t)b->malformed,
		      "send_err", (json_int_t)b->send_err);
	if (!o)
		return -ENOMEM;
	json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
	return 0;
}

static void bench_fini(struct bench *b)
{
	if (b->raw_fd >= 0)
		close(b->raw_fd);
	if (b->udp_fd >= 0)
		close(b->udp_fd);
	sim_flowtab_fini(&b->tab);
	free(b->flow);
	free(b->tmpl);
	free(b->hist);
}

int sim_bench_main(int argc, char *argv[])
{
	pthread_t tx, rx;
	struct bench *b;
	uint64_t now, deadline;
	int ret = 1, fd, rc;

	b = calloc(1, sizeof(*b));
	if (!b) {
		fprintf(stderr, "gwlbsim bench: out of memory\n");
		return 1;
	}
	b->raw_fd = b->udp_fd = -1;
	b->port = GWLB_GENEVE_PORT;
	b->eni_id = BENCH_ENI_DEFAULT;
	b->attach_id = BENCH_ATTACH_DEFAULT;
	gwlb_cidr_parse("198.19.1.0/24", &b->src);
	sim_parse_ip4("198.19.100.2", &b->dst);
	b->nflows = 1;
	b->size = 64;
	b->duration = 5;
	b->warmup = 1;
	if (bench_parse_args(b, argc, argv))
		goto out;

	b->hist = calloc(BENCH_HIST_US + 1, sizeof(*b->hist));
	if (!b->hist) {
		fprintf(stderr, "gwlbsim bench: out of memory\n");
		goto out;
	}
	if (bench_flows_init(b))
		goto out;
	fd = sim_udp_open(b->local, htons(b->port));
	if (fd < 0) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &b->local, a, sizeof(a));
		fprintf(stderr, "gwlbsim bench: bind UDP %s:%u: %s\n", a, b->port, strerror(-fd));
		goto out;
	}
	b->udp_fd = fd;
	fd = sim_raw_open();
	if (fd < 0) {
		fprintf(stderr, "gwlbsim bench: raw socket: %s (needs CAP_NET_RAW)\n", strerror(-fd));
		goto out;
	}
	b->raw_fd = fd;

	now = sim_now_ns();
	b->t_start = now + (uint64_t)(b->warmup * NSEC);
	b->t_end = b->t_start + (uint64_t)(b->duration * NSEC);
	rc = pthread_create(&rx, NULL, bench_receiver, b);
	if (rc) {
		fprintf(stderr, "gwlbsim bench: start receiver: %s\n", strerror(rc));
		goto out;
	}
	rc = pthread_create(&tx, NULL, bench_sender, b);
	if (rc) {
		fprintf(stderr, "gwlbsim bench: start sender: %s\n", strerror(rc));
		atomic_store(&b->rx_stop, true);
		pthread_join(rx, NULL);
		goto out;
	}
	pthread_join(tx, NULL);

	/* In-flight replies: wait until all are back, or 1 s after the window closed. */
	deadline = b->t_end + NSEC;
	while ((now = sim_now_ns()) < deadline &&
	       atomic_load(&b->received) < atomic_load(&b->sent))
		bench_sleep_until(now + NSEC / 100 < deadline ? now + NSEC / 100 : deadline);
	atomic_store(&b->rx_stop, true);
	pthread_join(rx, NULL);

	if (bench_report(b))
		goto out;
	ret = 0;
out:
	bench_fini(b);
	free(b);
	return ret;
}
