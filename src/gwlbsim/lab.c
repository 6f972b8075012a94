/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbsim lab: play GWLB for real traffic. Packets the kernel routes into our tun are
 * encapsulated the way GWLB does it (per-flow cookie and UDP source port, AWS options)
 * and sent to the appliance; what the appliance returns must carry the same header from
 * the right address and port, and is then written back to the tun for delivery.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cidr.h"
#include "eniname.h"
#include "sim.h"

#define LAB_ENI_MAX		64
#define LAB_MISMATCH_SHOW	10
#define LAB_HEADROOM		(GWLB_OUTER_LEN + GWLB_GENEVE_AWS_LEN)
#define LAB_ATTACH_DEFAULT	1

struct lab_eni {
	struct gwlb_cidr cidr;
	uint64_t eni_id;
	uint64_t attach_id;
	uint64_t tx, rx, tx_bytes, rx_bytes;
};

struct lab_counters {
	uint64_t tx, rx, tx_bytes, rx_bytes;
	uint64_t mismatch, unknown_flow, malformed, no_eni, icmp_err_ok;
	uint64_t rewritten;	/* a flow's header on a tuple it never had: NAT at the appliance */
	uint64_t bad_inner;	/* tun gave us a packet gwlb_pkt_parse refuses */
	uint64_t link_local;	/* link-scope multicast or from ::, see lab_link_local() */
	uint64_t table_full;
	uint64_t send_err;
	uint64_t tun_write_err;
};

struct lab {
	uint32_t local, appliance;	/* network order */
	uint16_t port;			/* host order */
	uint32_t vni;
	uint16_t sport_lo, sport_hi;
	const char *tun_name;
	const char *stats_path;
	int verbose;

	struct lab_eni eni[LAB_ENI_MAX];
	size_t n_eni;

	int tun_fd, raw_fd, udp_fd;
	struct sim_flowtab flows;
	struct sim_fragmap *frags;
	struct sim_rng rng;
	uint16_t ip_id;
	struct lab_counters c;
	unsigned int mismatch_shown;
	unsigned int stats_warned;

	/* tun -> appliance batch: each buffer keeps headroom for outer + GENEVE headers */
	uint8_t *txbuf[SIM_BATCH];
	struct mmsghdr txmsg[SIM_BATCH];
	struct iovec txiov[SIM_BATCH];
	uint16_t txeni[SIM_BATCH];
	uint32_t txlen[SIM_BATCH];	/* inner length */
	struct sockaddr_in appl_sin;

	/* appliance -> tun batch */
	uint8_t *rxbuf[SIM_BATCH];
	struct mmsghdr rxmsg[SIM_BATCH];
	struct iovec rxiov[SIM_BATCH];
	struct sockaddr_in rxpeer[SIM_BATCH];
};

static volatile sig_atomic_t lab_term, lab_usr1;

static void lab_signal(int sig)
{
	if (sig == SIGUSR1)
		lab_usr1 = 1;
	else
		lab_term = 1;
}

static void lab_usage(FILE *f)
{
	fprintf(f,
		"Usage: gwlbsim lab --local ADDR --appliance ADDR --eni CIDR=ENI[:ATTACH] [--eni ...]\n"
		"                   [--tun NAME] [--port PORT] [--vni N] [--stats FILE]\n"
		"                   [--sport-range LO-HI] [-v]\n"
		"\n"
		"Act as a Gateway Load Balancer: packets routed into tun NAME are sent to the appliance\n"
		"in GENEVE with per-flow AWS options; replies must come back with the same header, from\n"
		"the appliance, to UDP PORT, from the flow's source port, and are then delivered.\n"
		"\n"
		"  --local ADDR            our (GWLB's) IPv4 address; replies are received on ADDR:PORT\n"
		"  --appliance ADDR        the appliance's IPv4 address\n"
		"  --eni CIDR=ENI[:ATTACH] flows whose source (else destination) lies in CIDR use ENI\n"
		"                          (eni-<hex>, 0x<hex> or hex) and attachment ATTACH\n"
		"                          (vpce-<hex>, 0x<hex> or hex; default 1); first match wins\n"
		"  --tun NAME              tun device to create (default gwlbsim0)\n"
		"  --port PORT             GENEVE UDP port (default 6081)\n"
		"  --vni N                 VNI in the GENEVE header (default 0)\n"
		"  --stats FILE            write counters as JSON to FILE every second and on exit\n"
		"  --sport-range LO-HI     GWLB source ports to pick from (default 10000-59999)\n"
		"  -v, --verbose           log new flows and dropped replies\n"
		"  -h, --help              this text\n"
		"\n"
		"SIGUSR1 prints the counters to stdout; SIGTERM/SIGINT write them and exit.\n");
}

static int lab_parse_eni(struct lab *l, const char *arg)
{
	char buf[256], *eq, *colon;
	struct lab_eni *e;

	if (l->n_eni >= LAB_ENI_MAX) {
		fprintf(stderr, "gwlbsim lab: too many --eni options (at most %d)\n", LAB_ENI_MAX);
		return -E2BIG;
	}
	if (strlen(arg) >= sizeof(buf))
		goto bad;
	strcpy(buf, arg);
	eq = strchr(buf, '=');
	if (!eq)
		goto bad;
	*eq++ = '\0';
	colon = strchr(eq, ':');
	if (colon)
		*colon++ = '\0';
	e = &l->eni[l->n_eni];
	memset(e, 0, sizeof(*e));
	if (gwlb_cidr_parse(buf, &e->cidr)) {
		fprintf(stderr, "gwlbsim lab: --eni %s: '%s' is not a prefix\n", arg, buf);
		return -EINVAL;
	}
	if (gwlb_eni_parse(eq, &e->eni_id)) {
		fprintf(stderr, "gwlbsim lab: --eni %s: '%s' is not an ENI id\n", arg, eq);
		return -EINVAL;
	}
	e->attach_id = LAB_ATTACH_DEFAULT;
	if (colon && sim_parse_attach(colon, &e->attach_id)) {
		fprintf(stderr, "gwlbsim lab: --eni %s: '%s' is not an attachment id\n", arg, colon);
		return -EINVAL;
	}
	l->n_eni++;
	return 0;
bad:
	fprintf(stderr, "gwlbsim lab: --eni %s: expected CIDR=ENI[:ATTACH]\n", arg);
	return -EINVAL;
}

static int lab_parse_args(struct lab *l, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "local", required_argument, NULL, 'l' },
		{ "appliance", required_argument, NULL, 'a' },
		{ "eni", required_argument, NULL, 'e' },
		{ "tun", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "vni", required_argument, NULL, 'n' },
		{ "stats", required_argument, NULL, 's' },
		{ "sport-range", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool have_local = false, have_appl = false;
	uint64_t v, lo, hi;
	char *dash;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (sim_parse_ip4(optarg, &l->local)) {
				fprintf(stderr, "gwlbsim lab: --local %s: not an IPv4 address\n", optarg);
				return -EINVAL;
			}
			have_local = true;
			break;
		case 'a':
			if (sim_parse_ip4(optarg, &l->appliance)) {
				fprintf(stderr, "gwlbsim lab: --appliance %s: not an IPv4 address\n",
					optarg);
				return -EINVAL;
			}
			have_appl = true;
			break;
		case 'e':
			if (lab_parse_eni(l, optarg))
				return -EINVAL;
			break;
		case 't':
			if (!*optarg || strlen(optarg) >= IFNAMSIZ || strchr(optarg, '/')) {
				fprintf(stderr, "gwlbsim lab: --tun %s: not a valid interface name\n",
					optarg);
				return -EINVAL;
			}
			l->tun_name = optarg;
			break;
		case 'p':
			if (sim_parse_u64(optarg, 10, 1, 65535, &v)) {
				fprintf(stderr, "gwlbsim lab: --port %s: expected 1-65535\n", optarg);
				return -EINVAL;
			}
			l->port = (uint16_t)v;
			break;
		case 'n':
			if (sim_parse_u64(optarg, 0, 0, 0xffffff, &v)) {
				fprintf(stderr, "gwlbsim lab: --vni %s: expected 0-16777215\n", optarg);
				return -EINVAL;
			}
			l->vni = (uint32_t)v;
			break;
		case 's':
			l->stats_path = optarg;
			break;
		case 'r':
			dash = strchr(optarg, '-');
			if (dash)
				*dash = '\0';
			if (!dash || sim_parse_u64(optarg, 10, 1, 65535, &lo) ||
			    sim_parse_u64(dash + 1, 10, 1, 65535, &hi) || lo > hi) {
				if (dash)
					*dash = '-';
				fprintf(stderr, "gwlbsim lab: --sport-range %s: expected LO-HI within 1-65535\n",
					optarg);
				return -EINVAL;
			}
			*dash = '-';
			l->sport_lo = (uint16_t)lo;
			l->sport_hi = (uint16_t)hi;
			break;
		case 'v':
			l->verbose++;
			break;
		case 'h':
			lab_usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "gwlbsim lab: bad option '%s' (see gwlbsim lab --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gwlbsim lab: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!have_local || !have_appl || !l->n_eni) {
		fprintf(stderr, "gwlbsim lab: --local, --appliance and at least one --eni are required\n");
		return -EINVAL;
	}
	return 0;
}

/* Interface setup by ioctl: the lab script owns routing, we only need the device up. */
static int lab_tun_open(const char *name)
{
	struct ifreq ifr;
	char path[128];
	int fd, s = -1, err;
	FILE *f;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "gwlbsim lab: open /dev/net/tun: %s\n", strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		fprintf(stderr, "gwlbsim lab: create tun %s: %s\n", name, strerror(errno));
		goto fail;
	}
	/*
	 * No IPv6 link-local address: otherwise the kernel's own router solicitations and
	 * MLD reports would enter the tun and show up as no_eni drops in every test.
	 */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/addr_gen_mode", name);
	f = fopen(path, "w");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		err = -errno;
		fprintf(stderr, "gwlbsim lab: socket: %s\n", strerror(errno));
		goto fail;
	}
	ifr.ifr_mtu = SIM_TUN_MTU;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
		err = -errno;
		fprintf(stderr, "gwlbsim lab: set MTU %d on %s: %s\n", SIM_TUN_MTU, name,
			strerror(errno));
		goto fail;
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		err = -errno;
		fprintf(stderr, "gwlbsim lab: get flags of %s: %s\n", name, strerror(errno));
		goto fail;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		err = -errno;
		fprintf(stderr, "gwlbsim lab: bring %s up: %s\n", name, strerror(errno));
		goto fail;
	}
	close(s);
	return fd;
fail:
	if (s >= 0)
		close(s);
	close(fd);
	return err;
}

static const uint8_t *lab_addr(const uint8_t *pkt, int family, int dst)
{
	if (family == 4)
		return pkt + (dst ? 16 : 12);
	return pkt + (dst ? 24 : 8);
}

/*
 * The kernel's own chatter on the tun link (MLD reports from ::, link-scope multicast) is
 * never routed, so GWLB would never see it: count it apart so no_eni stays exact.
 */
static bool lab_link_local(const uint8_t *pkt, int family)
{
	static const uint8_t unspec[16];

	if (family == 4)
		return pkt[16] == 224 && pkt[17] == 0 && pkt[18] == 0;
	return (pkt[24] == 0xff && (pkt[25] & 0x0f) <= 2) || !memcmp(pkt + 8, unspec, 16);
}

/* The client's ENI for both directions: source first, so a reply finds its client by dst. */
static int lab_eni_pick(const struct lab *l, const uint8_t *pkt, int family)
{
	size_t i;

	for (i = 0; i < l->n_eni; i++)
		if (gwlb_cidr_match(&l->eni[i].cidr, family, lab_addr(pkt, family, 0)))
			return (int)i;
	for (i = 0; i < l->n_eni; i++)
		if (gwlb_cidr_match(&l->eni[i].cidr, family, lab_addr(pkt, family, 1)))
			return (int)i;
	return -1;
}

/*
 * Key a packet. Later fragments take the key of their first fragment when the map has
 * it; otherwise they stay keyed without ports, i.e. they become their own flow.
 */
static int lab_key(struct lab *l, const uint8_t *pkt, size_t len, int version,
		   struct gwlb_pkt_info *pi, uint64_t now)
{
	int rc = gwlb_pkt_parse(pkt, len, version, pi);

	if (rc != GWLB_PKT_OK)
		return rc;
	if (pi->flags & GWLB_PKT_FRAG_LATER)
		sim_frag_complete(l->frags, pi, now);
	else
		sim_frag_note(l->frags, pi, now);
	pi->key.eni_idx = 0;
	return GWLB_PKT_OK;
}

static void lab_send_batch(struct lab *l, unsigned int n)
{
	unsigned int done = 0, i;
	int rc;

	while (done < n) {
		rc = sendmmsg(l->raw_fd, l->txmsg + done, n - done, 0);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			/* Skip the one the kernel refused (no route, too big...) and go on. */
			if (l->c.send_err++ < 5 || l->verbose)
				fprintf(stderr, "gwlbsim lab: send to appliance: %s\n", strerror(errno));
			done++;
			continue;
		}
		for (i = done; i < done + (unsigned int)rc; i++) {
			struct lab_eni *e = &l->eni[l->txeni[i]];

			l->c.tx++;
			l->c.tx_bytes += l->txlen[i];
			e->tx++;
			e->tx_bytes += l->txlen[i];
		}
		done += (unsigned int)rc;
	}
}

static void lab_tun_rx(struct lab *l)
{
	struct sim_flow_params fp = {
		.vni = l->vni,
		.sport_lo = l->sport_lo,
		.sport_hi = l->sport_hi,
	};
	unsigned int n = 0, k;
	uint64_t now = sim_now_ns();
	char ks[160];

	for (k = 0; k < SIM_BATCH; k++) {
		uint8_t *pkt = l->txbuf[n] + LAB_HEADROOM;
		struct gwlb_pkt_info pi;
		struct sim_flow *f;
		bool created;
		ssize_t len;
		int eni;

		len = read(l->tun_fd, pkt, SIM_TUN_MTU);
		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				fprintf(stderr, "gwlbsim lab: read %s: %s\n", l->tun_name,
					strerror(errno));
			break;
		}
		if (lab_key(l, pkt, (size_t)len, 0, &pi, now) != GWLB_PKT_OK) {
			l->c.bad_inner++;
			continue;
		}
		if (lab_link_local(pkt, pi.key.family)) {
			l->c.link_local++;
			continue;
		}
		f = sim_flowtab_find(&l->flows, &pi.key);
		if (!f) {
			eni = lab_eni_pick(l, pkt, pi.key.family);
			if (eni < 0) {
				l->c.no_eni++;
				if (l->verbose)
					fprintf(stderr, "gwlbsim lab: no --eni matches %s\n",
						gwlb_flow_key_str(&pi.key, ks, sizeof(ks)));
				continue;
			}
			f = sim_flowtab_insert(&l->flows, &pi.key, &created);
			if (!f) {
				l->c.table_full++;
				continue;
			}
			f->eni = (uint16_t)eni;
			fp.eni_id = l->eni[eni].eni_id;
			fp.attach_id = l->eni[eni].attach_id;
			sim_flow_setup(f, &l->rng, &fp);
			if (l->verbose)
				fprintf(stderr, "gwlbsim lab: new flow %s eni %017" PRIx64
					" cookie %08x sport %u\n",
					gwlb_flow_key_str(&f->key, ks, sizeof(ks)),
					l->eni[eni].eni_id, f->cookie, f->sport);
		}
		memcpy(pkt - GWLB_GENEVE_AWS_LEN, f->hdr, GWLB_GENEVE_AWS_LEN);
		if (!gwlb_encap_outer4(pkt - LAB_HEADROOM, GWLB_OUTER_LEN, l->local, l->appliance,
				       htons(f->sport), htons(l->port),
				       GWLB_GENEVE_AWS_LEN + (size_t)len, l->ip_id++)) {
			l->c.send_err++;
			continue;
		}
		l->txiov[n].iov_base = pkt - LAB_HEADROOM;
		l->txiov[n].iov_len = LAB_HEADROOM + (size_t)len;
		l->txeni[n] = f->eni;
		l->txlen[n] = (uint32_t)len;
		n++;
	}
	if (n)
		lab_send_batch(l, n);
}

static void lab_mismatch(struct lab *l, const struct sim_flow *f, const uint8_t *hdr,
			 size_t hdr_len, const struct sockaddr_in *peer)
{
	char ks[160], got[2 * GWLB_GENEVE_MAX_LEN + 1], want[2 * GWLB_GENEVE_AWS_LEN + 1];
	char pa[INET_ADDRSTRLEN], wa[INET_ADDRSTRLEN];

	l->c.mismatch++;
	if (l->mismatch_shown >= LAB_MISMATCH_SHOW)
		return;
	l->mismatch_shown++;
	sim_hex(hdr, hdr_len, got);
	sim_hex(f->hdr, GWLB_GENEVE_AWS_LEN, want);
	inet_ntop(AF_INET, &peer->sin_addr, pa, sizeof(pa));
	inet_ntop(AF_INET, &l->appliance, wa, sizeof(wa));
	fprintf(stderr,
		"gwlbsim lab: mismatch %u: flow %s\n"
		"  from %s:%u, want %s:%u\n  header %s\n  want   %s\n",
		l->mismatch_shown, gwlb_flow_key_str(&f->key, ks, sizeof(ks)),
		pa, ntohs(peer->sin_port), wa, f->sport, got, want);
}

static void lab_udp_rx(struct lab *l)
{
	uint64_t now;
	int n, i;

	for (i = 0; i < SIM_BATCH; i++) {
		l->rxmsg[i].msg_hdr.msg_namelen = sizeof(l->rxpeer[i]);
		l->rxmsg[i].msg_hdr.msg_flags = 0;
	}
	n = recvmmsg(l->udp_fd, l->rxmsg, SIM_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	now = sim_now_ns();
	for (i = 0; i < n; i++) {
		const struct sockaddr_in *peer = &l->rxpeer[i];
		const uint8_t *buf = l->rxbuf[i];
		size_t len = l->rxmsg[i].msg_len;
		struct gwlb_pkt_info pi;
		struct gwlb_geneve g;
		struct sim_flow *f;
		const uint8_t *inner;
		size_t ilen;
		int rc;

		if (l->rxmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
			l->c.malformed++;
			continue;
		}
		rc = gwlb_geneve_parse(buf, len, &g);
		if (rc != GWLB_GENEVE_OK) {
			l->c.malformed++;
			if (l->verbose)
				fprintf(stderr, "gwlbsim lab: malformed GENEVE: %s\n",
					gwlb_geneve_strerror(rc));
			continue;
		}
		inner = buf + g.hdr_len;
		ilen = len - g.hdr_len;
		rc = lab_key(l, inner, ilen, g.proto == GWLB_ETH_P_IPV6 ? 6 : 4, &pi, now);
		if (rc != GWLB_PKT_OK) {
			l->c.malformed++;
			if (l->verbose)
				fprintf(stderr, "gwlbsim lab: malformed inner packet: %s\n",
					gwlb_pkt_strerror(rc));
			continue;
		}
		f = sim_flowtab_find(&l->flows, &pi.key);
		/*
		 * GWLB knows a flow by its cookie: a packet the appliance rewrote (NAT) still
		 * belongs to the flow whose header it carries, if that header matches in full.
		 */
		if (!f && g.hdr_len == GWLB_GENEVE_AWS_LEN) {
			f = sim_flowtab_find_cookie(&l->flows, g.cookie);
			if (f && !memcmp(buf, f->hdr, GWLB_GENEVE_AWS_LEN))
				l->c.rewritten++;
			else
				f = NULL;
		}
		if (!f) {
			char ks[160];

			l->c.unknown_flow++;
			if (l->verbose)
				fprintf(stderr, "gwlbsim lab: reply for unknown flow %s\n",
					gwlb_flow_key_str(&pi.key, ks, sizeof(ks)));
			continue;
		}
		if (g.hdr_len != GWLB_GENEVE_AWS_LEN ||
		    memcmp(buf, f->hdr, GWLB_GENEVE_AWS_LEN) ||
		    peer->sin_addr.s_addr != l->appliance || ntohs(peer->sin_port) != f->sport) {
			lab_mismatch(l, f, buf, g.hdr_len, peer);
			continue;
		}
		if (pi.flags & GWLB_PKT_ICMP_ERR)
			l->c.icmp_err_ok++;
		if (write(l->tun_fd, inner, ilen) < 0) {
			if (l->c.tun_write_err++ < 5 || l->verbose)
				fprintf(stderr, "gwlbsim lab: write %s: %s\n", l->tun_name,
					strerror(errno));
			continue;
		}
		l->c.rx++;
		l->c.rx_bytes += ilen;
		l->eni[f->eni].rx++;
		l->eni[f->eni].rx_bytes += ilen;
	}
}

static json_t *lab_stats_json(const struct lab *l)
{
	json_t *o, *enis;
	size_t i, j;

	enis = json_object();
	/* Several prefixes may share an ENI: the file has one entry per ENI id. */
	for (i = 0; i < l->n_eni; i++) {
		uint64_t tx = 0, rx = 0, tx_bytes = 0, rx_bytes = 0;
		char id[20];

		for (j = 0; j < i && l->eni[j].eni_id != l->eni[i].eni_id; j++)
			;
		if (j < i)
			continue;
		for (j = i; j < l->n_eni; j++) {
			if (l->eni[j].eni_id != l->eni[i].eni_id)
				continue;
			tx += l->eni[j].tx;
			rx += l->eni[j].rx;
			tx_bytes += l->eni[j].tx_bytes;
			rx_bytes += l->eni[j].rx_bytes;
		}
		snprintf(id, sizeof(id), "%017" PRIx64, l->eni[i].eni_id);
		json_object_set_new(enis, id, json_pack("{s:I,s:I,s:I,s:I}",
					"tx", (json_int_t)tx, "rx", (json_int_t)rx,
					"tx_bytes", (json_int_t)tx_bytes,
					"rx_bytes", (json_int_t)rx_bytes));
	}
	o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
		      "tx", (json_int_t)l->c.tx,
		      "rx", (json_int_t)l->c.rx,
		      "tx_bytes", (json_int_t)l->c.tx_bytes,
		      "rx_bytes", (json_int_t)l->c.rx_bytes,
		      "mismatch", (json_int_t)l->c.mismatch,
		      "unknown_flow", (json_int_t)l->c.unknown_flow,
		      "rewritten", (json_int_t)l->c.rewritten,
		      "malformed", (json_int_t)l->c.malformed,
		      "no_eni", (json_int_t)l->c.no_eni,
		      "icmp_err_ok", (json_int_t)l->c.icmp_err_ok,
		      "flows", (json_int_t)l->flows.count,
		      "bad_inner", (json_int_t)l->c.bad_inner,
		      "link_local", (json_int_t)l->c.link_local,
		      "table_full", (json_int_t)l->c.table_full,
		      "send_err", (json_int_t)l->c.send_err,
		      "tun_write_err", (json_int_t)l->c.tun_write_err,
		      "enis", enis);
	return o;
}

/* tmp + rename: a reader polling the file never sees half an object. */
static int lab_stats_write(const struct lab *l)
{
	char tmp[4096];
	json_t *o;
	int err = 0;

	if (!l->stats_path)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", l->stats_path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	o = lab_stats_json(l);
	if (!o)
		return -ENOMEM;
	errno = EIO;
	if (json_dump_file(o, tmp, JSON_COMPACT) < 0) {
		err = -errno;
		goto out;
	}
	if (rename(tmp, l->stats_path) < 0) {
		err = -errno;
		unlink(tmp);
	}
out:
	json_decref(o);
	return err;
}

static void lab_stats_print(const struct lab *l)
{
	json_t *o = lab_stats_json(l);

	if (!o)
		return;
	json_dumpf(o, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
}

static int lab_buffers_init(struct lab *l)
{
	unsigned int i;

	l->appl_sin.sin_family = AF_INET;
	l->appl_sin.sin_addr.s_addr = l->appliance;
	for (i = 0; i < SIM_BATCH; i++) {
		l->txbuf[i] = malloc(LAB_HEADROOM + SIM_TUN_MTU);
		l->rxbuf[i] = malloc(SIM_PKT_MAX);
		if (!l->txbuf[i] || !l->rxbuf[i])
			return -ENOMEM;
		l->txmsg[i].msg_hdr.msg_iov = &l->txiov[i];
		l->txmsg[i].msg_hdr.msg_iovlen = 1;
		l->txmsg[i].msg_hdr.msg_name = &l->appl_sin;
		l->txmsg[i].msg_hdr.msg_namelen = sizeof(l->appl_sin);
		l->rxiov[i].iov_base = l->rxbuf[i];
		l->rxiov[i].iov_len = SIM_PKT_MAX;
		l->rxmsg[i].msg_hdr.msg_iov = &l->rxiov[i];
		l->rxmsg[i].msg_hdr.msg_iovlen = 1;
		l->rxmsg[i].msg_hdr.msg_name = &l->rxpeer[i];
		l->rxmsg[i].msg_hdr.msg_namelen = sizeof(l->rxpeer[i]);
	}
	return 0;
}

static void lab_fini(struct lab *l)
{
	unsigned int i;

	for (i = 0; i < SIM_BATCH; i++) {
		free(l->txbuf[i]);
		free(l->rxbuf[i]);
	}
	if (l->tun_fd >= 0)
		close(l->tun_fd);
	if (l->raw_fd >= 0)
		close(l->raw_fd);
	if (l->udp_fd >= 0)
		close(l->udp_fd);
	sim_flowtab_fini(&l->flows);
	free(l->frags);
}

static int lab_loop(struct lab *l)
{
	struct pollfd pfd[2] = {
		{ .fd = l->tun_fd, .events = POLLIN },
		{ .fd = l->udp_fd, .events = POLLIN },
	};
	struct sigaction sa = { .sa_handler = lab_signal };
	sigset_t block, orig;
	uint64_t next_stats = sim_now_ns() + 1000000000ULL;
	int rc;

	/* Signals only get through inside ppoll, so a flag is never set just after a check. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigdelset(&orig, SIGTERM);
	sigdelset(&orig, SIGINT);
	sigdelset(&orig, SIGUSR1);

	while (!lab_term) {
		uint64_t now = sim_now_ns();
		struct timespec ts = { 0, 0 };

		if (next_stats > now) {
			ts.tv_sec = (time_t)((next_stats - now) / 1000000000ULL);
			ts.tv_nsec = (long)((next_stats - now) % 1000000000ULL);
		}
		rc = ppoll(pfd, 2, &ts, &orig);
		if (rc < 0 && errno != EINTR) {
			fprintf(stderr, "gwlbsim lab: poll: %s\n", strerror(errno));
			return -errno;
		}
		if (lab_usr1) {
			lab_usr1 = 0;
			lab_stats_print(l);
		}
		if (rc > 0) {
			if (pfd[0].revents & POLLIN)
				lab_tun_rx(l);
			if (pfd[1].revents & POLLIN)
				lab_udp_rx(l);
		}
		now = sim_now_ns();
		if (now >= next_stats) {
			if (lab_stats_write(l) && !l->stats_warned++)
				fprintf(stderr, "gwlbsim lab: cannot write --stats %s\n",
					l->stats_path);
			next_stats = now + 1000000000ULL;
		}
	}
	return 0;
}

int sim_lab_main(int argc, char *argv[])
{
	struct lab *l;
	int ret = 1, fd, rc;

	l = calloc(1, sizeof(*l));
	if (!l) {
		fprintf(stderr, "gwlbsim lab: out of memory\n");
		return 1;
	}
	l->tun_fd = l->raw_fd = l->udp_fd = -1;
	l->tun_name = "gwlbsim0";
	l->port = GWLB_GENEVE_PORT;
	l->sport_lo = SIM_SPORT_LO;
	l->sport_hi = SIM_SPORT_HI;
	if (lab_parse_args(l, argc, argv))
		goto out;

	l->frags = calloc(1, sizeof(*l->frags));
	if (!l->frags || sim_flowtab_init(&l->flows, SIM_FLOWS_MAX) || lab_buffers_init(l)) {
		fprintf(stderr, "gwlbsim lab: out of memory\n");
		goto out;
	}
	l->frags->seed = (uint32_t)sim_now_ns();
	sim_rng_init(&l->rng);

	fd = sim_udp_open(l->local, htons(l->port));
	if (fd < 0) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &l->local, a, sizeof(a));
		fprintf(stderr, "gwlbsim lab: bind UDP %s:%u: %s\n", a, l->port, strerror(-fd));
		goto out;
	}
	l->udp_fd = fd;
	fd = sim_raw_open();
	if (fd < 0) {
		fprintf(stderr, "gwlbsim lab: raw socket: %s (needs CAP_NET_RAW)\n", strerror(-fd));
		goto out;
	}
	l->raw_fd = fd;
	fd = lab_tun_open(l->tun_name);
	if (fd < 0)
		goto out;
	l->tun_fd = fd;
	rc = lab_stats_write(l);
	if (rc) {
		fprintf(stderr, "gwlbsim lab: cannot write --stats %s: %s\n", l->stats_path,
			strerror(-rc));
		goto out;
	}
	if (l->verbose)
		fprintf(stderr, "gwlbsim lab: tun %s up, %zu ENI prefixes\n", l->tun_name, l->n_eni);

	rc = lab_loop(l);
	lab_stats_write(l);
	lab_stats_print(l);
	if (!rc)
		ret = 0;
out:
	lab_fini(l);
	free(l);
	return ret;
}
