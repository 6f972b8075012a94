/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sni verdict module (src/modules/sni.c) as gwlbd runs it: verdict_sni.so loaded through
 * src/gwlbd/module.c and asked through a chain about crafted TCP packets over IPv4 and IPv6,
 * the way nfq.c builds their struct gwlb_pkt view. The payloads are the real clients'
 * ClientHellos of fixtures_tls.h, whole, cut into segments, reordered, repeated, overlapping,
 * renamed, padded past the reassembly limit; and curl's HTTP request.
 * The module comes from $GWLB_TEST_MODULE_DIR or $top_builddir/src/modules/.libs.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"
#include "fixtures_tls.h"

#define TH_FIN		0x01
#define TH_SYN		0x02
#define TH_RST		0x04
#define TH_PSH		0x08
#define TH_ACK		0x10

/* Flows the module keeps per worker (SNI_FLOWS in sni.c): one more evicts the oldest. */
#define SNI_FLOWS	1024
/* Stream bytes it keeps per flow (SNI_BUF_MAX: GWLB_TLS_HELLO_MAX + 1024). */
#define SNI_BUF_MAX	(16384 + 1024)

enum { V = GWLB_VERDICT_CONTINUE, A = GWLB_VERDICT_ACCEPT, D = GWLB_VERDICT_DROP,
       AF = GWLB_VERDICT_ACCEPT_FLOW, DF = GWLB_VERDICT_DROP_FLOW };

/* ---- the host: module.c with a log callback that keeps the last line ---- */

static char last_log[512];
static int nlog;

static void host_log(void *arg, const char *module, enum gwlb_log_prio prio, const char *line)
{
	snprintf(last_log, sizeof(last_log), "%s: %s", module, line);
	nlog++;
}

static struct gwlb_module_host_cfg host_cfg = {
	.threads = 2,
	.log = host_log,
};

static struct gwlb_module_inst *inst;
static struct gwlb_chain *chain;

/* Start the module with the NULL-terminated arguments. */
static void sni_start(const char *const *argv)
{
	const char *env = getenv("GWLB_TEST_MODULE_DIR"), *top = getenv("top_builddir");
	char dir[4096], err[512];
	const char *dirs[2] = { dir, NULL };
	struct gwlb_module *mod;
	int argc = 0, rc;

	if (env)
		snprintf(dir, sizeof(dir), "%s", env);
	else
		snprintf(dir, sizeof(dir), "%s/src/modules/.libs", top ? top : ".");
	rc = gwlb_module_load("sni", dirs, &mod, err, sizeof(err));
	ck_assert_msg(rc == 0, "load sni: %d: %s", rc, err);
	while (argv && argv[argc])
		argc++;
	rc = gwlb_module_instance_new(mod, argc, argv, &host_cfg, &inst, err, sizeof(err));
	ck_assert_msg(rc == 0, "sni instance: %d: %s", rc, err);
	gwlb_module_put(mod);
	ck_assert_int_eq(gwlb_chain_new(&inst, 1, &chain), 0);
	gwlb_module_instance_put(inst);
	last_log[0] = '\0';
	nlog = 0;
}

static void sni_stop(void)
{
	if (chain)
		gwlb_chain_free(chain);
	chain = NULL;
	inst = NULL;
}

static uint64_t counter(const char *name)
{
	uint64_t v = 0;

	ck_assert_msg(gwlb_module_instance_counter_get(inst, name, &v) == 0, "no counter %s", name);
	return v;
}

/* ---- packets ---- */

struct flow {
	uint8_t family;
	uint8_t client[16];
	uint8_t server[16];
	uint16_t sport;		/* client port */
	uint16_t dport;		/* server port */
	uint32_t isn;		/* client's initial sequence number */
	uint32_t worker;
};

static struct flow flow_new(uint8_t family, uint16_t sport)
{
	struct flow f = { .family = family, .sport = sport, .dport = 443, .isn = 0x10000000u };

	if (family == 4) {
		memcpy(f.client, (uint8_t[]){ 10, 0, 0, 1 }, 4);
		memcpy(f.server, (uint8_t[]){ 192, 0, 2, 7 }, 4);
	} else {
		memcpy(f.client, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, 16);
		memcpy(f.server, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0xff, [15] = 7 }, 16);
	}
	return f;
}

static uint8_t pktbuf[60 + 65536];

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/*
 * One TCP segment of flow f (reply: server to client) with sequence number seq, through the
 * chain. The view is what nfq.c fills in on this kernel's "mark" path.
 */
static int seg(const struct flow *f, bool reply, uint32_t seq, uint8_t flags, const void *data,
	       size_t len)
{
	size_t ipl = f->family == 4 ? 20 : 40;
	const uint8_t *src = reply ? f->server : f->client, *dst = reply ? f->client : f->server;
	uint8_t *ip = pktbuf, *th = pktbuf + ipl;
	struct gwlb_pkt p;

	ck_assert_uint_le(len, sizeof(pktbuf) - 60);
	memset(pktbuf, 0, ipl + 20);
	if (f->family == 4) {
		ip[0] = 0x45;
		put16(ip + 2, ipl + 20 + len);
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
	} else {
		ip[0] = 0x60;
		put16(ip + 4, 20 + len);
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	}
	put16(th, reply ? f->dport : f->sport);
	put16(th + 2, reply ? f->sport : f->dport);
	put32(th + 4, seq);
	th[12] = 5 << 4;
	th[13] = flags;
	memcpy(th + 20, data, len);

	memset(&p, 0, sizeof(p));
	p.data = pktbuf;
	p.len = ipl + 20 + len;
	p.l4_off = ipl;
	p.payload_off = ipl + 20;
	p.payload_len = len;
	p.family = f->family;
	p.l4proto = IPPROTO_TCP;
	p.sport = reply ? f->dport : f->sport;
	p.dport = reply ? f->sport : f->dport;
	p.tcp_flags = flags;
	p.ct_state = flags == TH_SYN ? GWLB_CT_NEW : GWLB_CT_ESTABLISHED;
	p.saddr = src;
	p.daddr = dst;
	p.iifname = "gwi-e8WXgsTQDkf";
	p.oifname = "";
	p.worker = f->worker;
	return gwlb_chain_verdict(chain, &p, NULL);
}

static int syn(const struct flow *f)
{
	return seg(f, false, f->isn, TH_SYN, NULL, 0);
}

/* Client data at stream offset off (the first data byte has sequence number isn + 1). */
static int data(const struct flow *f, size_t off, const uint8_t *buf, size_t len)
{
	return seg(f, false, f->isn + 1 + (uint32_t)off, TH_ACK | TH_PSH, buf + off, len);
}

static int reply(const struct flow *f)
{
	return seg(f, true, 0x50000000u, TH_ACK, NULL, 0);
}

/* SYN, then buf in n segments in order; every one but the last must be ACCEPT. */
static int send_split(const struct flow *f, const uint8_t *buf, size_t len, size_t n)
{
	size_t i, off, end;

	ck_assert_int_eq(syn(f), A);
	for (i = 0; i < n; i++) {
		off = len * i / n;
		end = len * (i + 1) / n;
		if (i == n - 1)
			return data(f, off, buf, end - off);
		ck_assert_msg(data(f, off, buf, end - off) == A,
			      "segment %zu of %zu ([%zu, %zu) of %zu bytes) decided early", i, n,
			      off, end, len);
	}
	return -1;
}

static int send_hello(const struct flow *f, const uint8_t *buf, size_t len)
{
	return send_split(f, buf, len, 1);
}

/* ---- ClientHellos made from the fixtures ---- */

struct hello {
	uint8_t b[70000];
	size_t len;
};

static void add_be(uint8_t *p, unsigned bytes, long delta)
{
	unsigned long v = 0;
	unsigned i;

	for (i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	v += delta;
	for (i = bytes; i-- > 0; v >>= 8)
		p[i] = v & 0xff;
}

/* The one-record fixture fx with its host name replaced by name (lengths fixed up). */
static void hello_named(struct hello *h, const uint8_t *fx, size_t fxlen,
			const struct fx_tls_layout *l, const char *name)
{
	size_t old = (size_t)fx[l->sni_name_len] << 8 | fx[l->sni_name_len + 1];
	long d = (long)strlen(name) - (long)old;

	memcpy(h->b, fx, l->sni_name);
	memcpy(h->b + l->sni_name, name, strlen(name));
	memcpy(h->b + l->sni_name + strlen(name), fx + l->sni_name + old,
	       fxlen - l->sni_name - old);
	h->len = fxlen + d;
	add_be(h->b + l->rec_len, 2, d);
	add_be(h->b + l->hs_len, 3, d);
	add_be(h->b + l->ext_len, 2, d);
	add_be(h->b + l->sni_ext_len, 2, d);
	add_be(h->b + l->sni_list_len, 2, d);
	add_be(h->b + l->sni_name_len, 2, d);
}

/*
 * fx_tls13_curl with a padding extension (RFC 7685) making its handshake message hs_body
 * bytes long, cut into TLS records of at most frag bytes each.
 */
static void hello_padded(struct hello *h, size_t hs_body, size_t frag)
{
	static uint8_t hs[70000];
	const struct fx_tls_layout *l = &fx_tls13_curl_layout;
	size_t body = sizeof(fx_tls13_curl) - 9, pad, hslen, off, n;

	ck_assert_uint_ge(hs_body, body + 4);
	pad = hs_body - body - 4;
	/* handshake message: header and body of the fixture, then the padding extension */
	memcpy(hs, fx_tls13_curl + 5, sizeof(fx_tls13_curl) - 5);
	hslen = sizeof(fx_tls13_curl) - 5;
	add_be(hs + l->hs_len - 5, 3, 4 + pad);
	add_be(hs + l->ext_len - 5, 2, 4 + pad);
	put16(hs + hslen, 21);
	put16(hs + hslen + 2, pad);
	memset(hs + hslen + 4, 0, pad);
	hslen += 4 + pad;
	ck_assert_uint_eq(hslen, 4 + hs_body);

	h->len = 0;
	for (off = 0; off < hslen; off += n) {
		n = hslen - off < frag ? hslen - off : frag;
		ck_assert_uint_le(h->len + 5 + n, sizeof(h->b));
		memcpy(h->b + h->len, fx_tls13_curl, 3);	/* handshake, legacy version */
		put16(h->b + h->len + 3, n);
		memcpy(h->b + h->len + 5, hs + off, n);
		h->len += 5 + n;
	}
}

static struct hello H;

/* ---- tests ---- */

static const uint8_t families[] = { 4, 6 };

static const char *const allow_www[] = { "allow=www.example.com", NULL };

START_TEST(test_one_segment)
{
	struct flow f = flow_new(families[_i], 40000);

	sni_start(allow_www);
	ck_assert_int_eq(syn(&f), A);
	ck_assert_int_eq(reply(&f), A);		/* SYN-ACK: nothing to read yet */
	ck_assert_int_eq(data(&f, 0, fx_tls13_curl, sizeof(fx_tls13_curl)), AF);
	/* packets already queued behind the decision get the same verdict, both ways */
	ck_assert_int_eq(seg(&f, false, f.isn + 1 + sizeof(fx_tls13_curl), TH_ACK, fx_http_curl,
			     sizeof(fx_http_curl)), AF);
	ck_assert_int_eq(reply(&f), AF);
	ck_assert_uint_eq(counter("allowed"), 1);
	ck_assert_uint_eq(counter("denied"), 0);
	ck_assert_uint_eq(counter("need_more"), 0);
	ck_assert_uint_eq(counter("flows_tracked"), 1);
	ck_assert_msg(strstr(last_log, "sni: allow tls www.example.com to "), "log: %s", last_log);
	if (f.family == 4)
		ck_assert_msg(strstr(last_log, "192.0.2.7:443"), "log: %s", last_log);
	sni_stop();
}
END_TEST

/* Every way to cut curl's and openssl's hellos into 2..8 segments, and byte by byte. */
START_TEST(test_split_in_order)
{
	static const struct { const uint8_t *b; size_t len; } fx[] = {
		{ fx_tls13_curl, sizeof(fx_tls13_curl) },
		{ fx_tls13_openssl, sizeof(fx_tls13_openssl) },
		{ fx_tls12_openssl, sizeof(fx_tls12_openssl) },
		{ fx_tls13_split, sizeof(fx_tls13_split) },
	};
	uint64_t need = 0;
	unsigned k, n, sport = 1000;
	struct flow f;

	sni_start(allow_www);
	for (k = 0; k < sizeof(fx) / sizeof(fx[0]); k++) {
		for (n = 2; n <= 8; n++) {
			f = flow_new(families[_i], sport++);
			ck_assert_msg(send_split(&f, fx[k].b, fx[k].len, n) == AF,
				      "fixture %u in %u segments not allowed", k, n);
			need += n - 1;
		}
		f = flow_new(families[_i], sport++);
		ck_assert_int_eq(send_split(&f, fx[k].b, fx[k].len, fx[k].len), AF);
		need += fx[k].len - 1;
	}
	ck_assert_uint_eq(counter("allowed"), 4 * 8);
	ck_assert_uint_eq(counter("need_more"), need);
	ck_assert_uint_eq(counter("out_of_order"), 0);
	ck_assert_uint_eq(counter("evicted"), 0);
	sni_stop();
}
END_TEST

/*
 * A segment beyond a gap is dropped (the client sends it again after the missing bytes),
 * never buffered: the module reads only the bytes the server's TCP delivers in order.
 */
START_TEST(test_out_of_order)
{
	struct flow f = flow_new(families[_i], 40001);
	const uint8_t *b = fx_tls13_curl;

	sni_start(allow_www);
	ck_assert_int_eq(syn(&f), A);
	ck_assert_int_eq(data(&f, 400, b, 117), D);
	ck_assert_int_eq(data(&f, 200, b, 200), D);
	ck_assert_int_eq(data(&f, 0, b, 200), A);
	ck_assert_int_eq(data(&f, 400, b, 117), D);
	ck_assert_int_eq(data(&f, 200, b, 200), A);
	ck_assert_int_eq(data(&f, 400, b, 117), AF);
	ck_assert_uint_eq(counter("out_of_order"), 3);
	ck_assert_uint_eq(counter("need_more"), 2);
	ck_assert_uint_eq(counter("allowed"), 1);
	sni_stop();
}
END_TEST

START_TEST(test_retransmit_overlap)
{
	struct flow f = flow_new(families[_i], 40002);
	const uint8_t *b = fx_tls13_curl;
	uint8_t junk[sizeof(fx_tls13_curl)];

	sni_start(allow_www);
	ck_assert_int_eq(syn(&f), A);
	ck_assert_int_eq(syn(&f), A);			/* SYN retransmitted */
	ck_assert_int_eq(data(&f, 0, b, 100), A);
	ck_assert_int_eq(data(&f, 0, b, 100), A);	/* retransmitted */
	ck_assert_int_eq(data(&f, 50, b, 150), A);	/* overlaps: 100 new bytes */
	ck_assert_int_eq(data(&f, 0, b, 200), A);	/* a repacketised retransmission */
	ck_assert_int_eq(data(&f, 150, b, sizeof(fx_tls13_curl) - 150), AF);
	ck_assert_uint_eq(counter("allowed"), 1);
	ck_assert_uint_eq(counter("out_of_order"), 0);

	/*
	 * An overlap whose bytes differ from what came first: Linux keeps the first copy, so
	 * the module must too, or a client could show it one name and the server another.
	 */
	memcpy(junk, b, sizeof(junk));
	memset(junk + 100, 'x', 200);
	f.sport++;
	ck_assert_int_eq(syn(&f), A);
	ck_assert_int_eq(data(&f, 0, b, 300), A);
	ck_assert_int_eq(data(&f, 0, junk, sizeof(junk)), AF);
	ck_assert_uint_eq(counter("allowed"), 2);
	sni_stop();
}
END_TEST

/*
 * A segment that starts before the first data byte (sequence number of the SYN or earlier)
 * and reaches past what the module has: the receiver trims what it has already and keeps
 * the rest at its place in the stream.
 */
START_TEST(test_overlap_before_isn)
{
	static uint8_t b[16 + sizeof(fx_tls13_curl)];
	struct flow f = flow_new(families[_i], 40003);

	sni_start(allow_www);
	memset(b, 0xee, 16);
	memcpy(b + 16, fx_tls13_curl, sizeof(fx_tls13_curl));
	ck_assert_int_eq(syn(&f), A);
	ck_assert_int_eq(data(&f, 0, fx_tls13_curl, 100), A);
	/* 16 bytes before the stream, then the whole hello */
	ck_assert_int_eq(seg(&f, false, f.isn + 1 - 16, TH_ACK, b, sizeof(b)), AF);
	ck_assert_uint_eq(counter("allowed"), 1);
	ck_assert_uint_eq(counter("unknown"), 0);
	sni_stop();
}
END_TEST

/*
 * Bytes missing for good: every segment beyond the gap is dropped, the flow is never decided
 * on a partial stream, a RST frees it and the table forgets it in its turn.
 */
START_TEST(test_gap_never_filled)
{
	struct flow f = flow_new(families[_i], 40004), g;
	const uint8_t *b = fx_tls13_curl;
	unsigned i;

	sni_start(allow_www);
	ck_assert_int_eq(syn(&f), A);
	ck_assert_int_eq(data(&f, 0, b, 100), A);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(data(&f, 200, b, sizeof(fx_tls13_curl) - 200), D);
	ck_assert_int_eq(reply(&f), A);
	ck_assert_uint_eq(counter("out_of_order"), 20);
	ck_assert_uint_eq(counter("allowed") + counter("denied") + counter("unknown"), 0);
	ck_assert_int_eq(seg(&f, false, f.isn + 101, TH_RST | TH_ACK, NULL, 0), A);

	/* the same client again: a fresh stream, decided */
	ck_assert_int_eq(send_hello(&f, b, sizeof(fx_tls13_curl)), AF);

	/* a stuck flow is evicted by newer ones, counted, and the table keeps working */
	g = flow_new(families[_i], 50000);
	ck_assert_int_eq(syn(&g), A);
	ck_assert_int_eq(data(&g, 0, b, 100), A);
	for (i = 1; i <= SNI_FLOWS; i++) {
		struct flow h = flow_new(families[_i], 50000 + i);

		ck_assert_int_eq(syn(&h), A);
	}
	/* f (decided) and g were the oldest: only g, still open, counts as evicted */
	ck_assert_uint_eq(counter("evicted"), 1);
	ck_assert_int_eq(syn(&f), A);
	ck_assert_uint_eq(counter("evicted"), 2);
	sni_stop();
}
END_TEST

/* Two clients' hellos cut into segments and interleaved on one worker. */
START_TEST(test_interleaved)
{
	struct flow a = flow_new(families[_i], 41000), b = flow_new(families[_i], 41001);
	struct flow c = flow_new(families[_i], 41000);
	static struct hello bad;
	size_t off, step = 64;
	const uint8_t *good = fx_tls13_curl;
	size_t glen = sizeof(fx_tls13_curl);
	int va = A, vb = A;

	sni_start(allow_www);
	hello_named(&bad, fx_tls13_curl, sizeof(fx_tls13_curl), &fx_tls13_curl_layout,
		    "www.example.org");
	b.isn = a.isn;		/* same sequence numbers: only the 5-tuple tells them apart */
	c.worker = 1;		/* a's 5-tuple, another worker: its own table */
	ck_assert_int_eq(syn(&a), A);
	ck_assert_int_eq(syn(&b), A);
	ck_assert_int_eq(syn(&c), A);
	for (off = 0; off < glen || off < bad.len; off += step) {
		if (off < bad.len) {
			ck_assert_int_eq(vb, A);
			vb = data(&b, off, bad.b, off + step < bad.len ? step : bad.len - off);
		}
		if (off < glen) {
			ck_assert_int_eq(va, A);
			va = data(&a, off, good, off + step < glen ? step : glen - off);
		}
	}
	ck_assert_int_eq(va, AF);
	ck_assert_int_eq(vb, DF);
	ck_assert_int_eq(reply(&a), AF);
	ck_assert_int_eq(reply(&b), DF);
	/* c is still open on worker 1 */
	ck_assert_int_eq(data(&c, 0, bad.b, bad.len), DF);
	ck_assert_uint_eq(counter("allowed"), 1);
	ck_assert_uint_eq(counter("denied"), 2);
	sni_stop();
}
END_TEST

START_TEST(test_larger_than_limit)
{
	static const char *const accept_unknown[] = { "unknown=accept", NULL };
	struct flow f = flow_new(families[_i], 42000);
	size_t off, n;
	int v = A;

	sni_start(NULL);
	/* 16000 bytes in two records: big, but within the limit */
	hello_padded(&H, 16000, 8192);
	for (off = 0, syn(&f); off < H.len; off += n) {
		ck_assert_int_eq(v, A);
		n = H.len - off < 1400 ? H.len - off : 1400;
		v = data(&f, off, H.b, n);
	}
	ck_assert_int_eq(v, AF);
	ck_assert_uint_eq(counter("allowed"), 1);

	/* a ClientHello declared longer than 16384 bytes: no waiting for it */
	hello_padded(&H, 20000, 16384);
	f.sport++;
	ck_assert_int_eq(syn(&f), A);
	ck_assert_int_eq(data(&f, 0, H.b, 1400), DF);
	ck_assert_uint_eq(counter("unknown"), 1);

	/* within 16384, but in 4-byte records: the stream outgrows what the module keeps */
	hello_padded(&H, 8000, 4);
	ck_assert_uint_gt(H.len, SNI_BUF_MAX);
	f.sport++;
	ck_assert_int_eq(syn(&f), A);
	for (off = 0, v = A; off < SNI_BUF_MAX; off += n) {
		ck_assert_msg(v == A, "decided at %zu of %zu bytes", off, H.len);
		n = 1400;
		v = data(&f, off, H.b, n);
	}
	ck_assert_int_eq(v, DF);
	ck_assert_uint_eq(counter("unknown"), 2);
	ck_assert_msg(strstr(last_log, "oversized"), "log: %s", last_log);
	sni_stop();

	/* the same with unknown=accept, in one 64 KiB GSO segment */
	sni_start(accept_unknown);
	f.sport++;
	ck_assert_int_eq(send_hello(&f, H.b, 65000), AF);
	ck_assert_uint_eq(counter("unknown"), 1);
	ck_assert_uint_eq(counter("allowed"), 0);
	sni_stop();
}
END_TEST

START_TEST(test_grease)
{
	struct flow f = flow_new(families[_i], 43000);

	sni_start(allow_www);
	ck_assert_int_eq(send_hello(&f, fx_tls13_grease, sizeof(fx_tls13_grease)), AF);
	f.sport++;
	ck_assert_int_eq(send_split(&f, fx_tls13_grease, sizeof(fx_tls13_grease), 5), AF);
	ck_assert_uint_eq(counter("allowed"), 2);
	sni_stop();
}
END_TEST

START_TEST(test_http_host)
{
	static const char *const deny_www[] = { "deny=www.example.com", NULL };
	static const char req10[] = "GET / HTTP/1.0\r\nUser-Agent: x\r\n\r\n";
	struct flow f = flow_new(families[_i], 44000);

	f.dport = 8080;
	sni_start(allow_www);
	ck_assert_int_eq(send_hello(&f, fx_http_curl, sizeof(fx_http_curl)), AF);
	f.sport++;
	ck_assert_int_eq(send_split(&f, fx_http_curl, sizeof(fx_http_curl), 7), AF);
	ck_assert_msg(strstr(last_log, "allow http www.example.com"), "log: %s", last_log);
	f.sport++;
	ck_assert_int_eq(send_hello(&f, (const uint8_t *)req10, sizeof(req10) - 1), DF);
	ck_assert_uint_eq(counter("allowed"), 2);
	ck_assert_uint_eq(counter("unknown"), 1);
	sni_stop();

	sni_start(deny_www);
	f.sport++;
	ck_assert_int_eq(send_split(&f, fx_http_curl, sizeof(fx_http_curl), 3), DF);
	ck_assert_uint_eq(counter("denied"), 1);
	sni_stop();
}
END_TEST

/* Rules, and the name a client asks for. */
static const struct {
	const char *args[3];
	const char *name;
	int verdict;
} rules[] = {
	{ { "allow=www.example.com" }, "www.example.com", AF },
	{ { "allow=www.example.com" }, "WWW.Example.COM", AF },
	{ { "allow=www.example.com" }, "www.example.com.", AF },
	{ { "allow=www.example.com" }, "example.com", DF },
	{ { "allow=www.example.com" }, "www.example.com.evil.test", DF },
	{ { "allow=*.example.com" }, "www.example.com", AF },
	{ { "allow=*.example.com" }, "a.b.example.com", AF },
	{ { "allow=*.example.com" }, "example.com", DF },
	{ { "allow=*.example.com" }, "wwwexample.com", DF },
	{ { "allow=.example.com" }, "example.com", AF },
	{ { "allow=.example.com" }, "www.example.com", AF },
	{ { "allow=.example.com" }, "badexample.com", DF },
	{ { "allow=a.test,*.example.com,b.test" }, "www.example.com", AF },
	{ { "allow=a.test", "allow=*.example.com" }, "www.example.com", AF },
	{ { "allow=a.test", "allow=*.example.com" }, "a.test", AF },
	{ { "allow=a.test", "allow=*.example.com" }, "b.test", DF },
	{ { "deny=*.bad.test" }, "www.example.com", AF },
	{ { "deny=*.bad.test" }, "x.bad.test", DF },
	{ { "deny=www.example.com", "allow=*.example.com" }, "www.example.com", DF },
	{ { "deny=www.example.com", "allow=*.example.com" }, "api.example.com", AF },
	{ { "allow=*.example.com", "deny=.example.com" }, "api.example.com", DF },
	{ { "allow=*.example.com", "ports=443" }, "evil.test", DF },
	{ { "allow=*.example.com", "ports=1-100" }, "evil.test", V },
};

START_TEST(test_rules)
{
	struct flow f = flow_new(families[_i % 2], 45000);
	const char *const *argv = rules[_i / 2].args;
	int v;

	sni_start(argv);
	hello_named(&H, fx_tls13_openssl, sizeof(fx_tls13_openssl), &fx_tls13_openssl_layout,
		    rules[_i / 2].name);
	if (rules[_i / 2].verdict == V) {
		/* a port the module does not inspect: no opinion on any packet */
		ck_assert_int_eq(syn(&f), V);
		ck_assert_int_eq(reply(&f), V);
		v = data(&f, 0, H.b, H.len);
	} else {
		v = send_hello(&f, H.b, H.len);
	}
	ck_assert_msg(v == rules[_i / 2].verdict, "%s %s, name %s: verdict %s, expected %s",
		      argv[0], argv[1] ? argv[1] : "", rules[_i / 2].name,
		      gwlb_module_verdict_str(v), gwlb_module_verdict_str(rules[_i / 2].verdict));
	sni_stop();
}
END_TEST

START_TEST(test_bad_args)
{
	static const char *const bad[] = { "allow=", "allow=*.", "allow=a..b", "deny=a_b.test",
					   "unknown=maybe", "ports=0", "ports=9-8", "ports=x",
					   "hosts=a.test" };
	struct gwlb_module_inst *i = (void *)1;
	const char *dirs[2] = { NULL, NULL };
	char dir[4096], err[512];
	struct gwlb_module *mod;
	const char *top = getenv("top_builddir");
	unsigned k;

	snprintf(dir, sizeof(dir), "%s/src/modules/.libs", top ? top : ".");
	dirs[0] = getenv("GWLB_TEST_MODULE_DIR") ? getenv("GWLB_TEST_MODULE_DIR") : dir;
	ck_assert_int_eq(gwlb_module_load("sni", dirs, &mod, err, sizeof(err)), 0);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		err[0] = '\0';
		ck_assert_msg(gwlb_module_instance_new(mod, 1, &bad[k], &host_cfg, &i, err,
						       sizeof(err)) == -EINVAL,
			      "%s accepted", bad[k]);
		ck_assert_ptr_null(i);
		ck_assert_msg(strstr(err, "verdict_sni.so"), "%s: %s", bad[k], err);
	}
	gwlb_module_put(mod);
}
END_TEST

/* What is neither a ClientHello with a name nor an HTTP request follows unknown=. */
START_TEST(test_unknown)
{
	static const char *const acc[] = { "allow=www.example.com", "unknown=accept", NULL };
	static const char *const drop[] = { "allow=www.example.com", "unknown=drop", NULL };
	static const char ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
	static const uint8_t bad_tls[] = { 0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00 };
	const char *const *set[] = { NULL, drop, acc };
	int expect[] = { DF, DF, AF };
	struct flow f = flow_new(families[_i], 46000);
	unsigned k;

	for (k = 0; k < 3; k++) {
		sni_start(set[k]);
		ck_assert_int_eq(send_hello(&f, (const uint8_t *)ssh, sizeof(ssh) - 1), expect[k]);
		f.sport++;
		ck_assert_int_eq(send_hello(&f, fx_tls_nosni, sizeof(fx_tls_nosni)), expect[k]);
		f.sport++;
		ck_assert_int_eq(send_hello(&f, bad_tls, sizeof(bad_tls)), expect[k]);
		f.sport++;
		/* still decided by name */
		ck_assert_int_eq(send_hello(&f, fx_tls13_curl, sizeof(fx_tls13_curl)), AF);
		f.sport++;
		ck_assert_uint_eq(counter("unknown"), 3);
		ck_assert_msg(strstr(last_log, "allow tls"), "log: %s", last_log);
		sni_stop();
	}
}
END_TEST

/* Every named counter, after one of each kind of event. */
START_TEST(test_counters)
{
	static const char *const args[] = { "allow=*.example.com", "deny=www.example.org", NULL };
	static const char *const names[] = { "allowed", "denied", "unknown", "need_more",
					     "flows_tracked", "evicted", "out_of_order" };
	struct gwlb_module_info info;
	struct flow f = flow_new(families[_i], 47000);
	static struct hello org;
	const char *name;
	uint64_t val;
	unsigned k;

	sni_start(args);
	gwlb_module_instance_info(inst, &info);
	ck_assert_uint_eq(info.ncounters, 7);
	for (k = 0; k < 7; k++) {
		ck_assert_int_eq(gwlb_module_instance_counter(inst, k, &name, &val), 0);
		ck_assert_str_eq(name, names[k]);
		ck_assert_uint_eq(val, 0);
	}
	hello_named(&org, fx_tls13_curl, sizeof(fx_tls13_curl), &fx_tls13_curl_layout,
		    "www.example.org");
	ck_assert_int_eq(send_split(&f, fx_tls13_curl, sizeof(fx_tls13_curl), 3), AF);	/* 2 */
	f.sport++;
	ck_assert_int_eq(send_hello(&f, org.b, org.len), DF);
	f.sport++;
	ck_assert_int_eq(send_hello(&f, fx_tls_nosni, sizeof(fx_tls_nosni)), DF);
	f.sport++;
	ck_assert_int_eq(syn(&f), A);
	ck_assert_int_eq(data(&f, 10, fx_tls13_curl, 10), D);
	ck_assert_int_eq(data(&f, 0, fx_tls13_curl, 10), A);				/* 3 */
	/* data without a SYN seen (the flow started before the module): a stream start */
	f.sport++;
	ck_assert_int_eq(data(&f, 0, fx_tls13_curl, sizeof(fx_tls13_curl)), AF);
	ck_assert_uint_eq(counter("allowed"), 2);
	ck_assert_uint_eq(counter("denied"), 1);
	ck_assert_uint_eq(counter("unknown"), 1);
	ck_assert_uint_eq(counter("need_more"), 3);
	ck_assert_uint_eq(counter("flows_tracked"), 5);
	ck_assert_uint_eq(counter("evicted"), 0);
	ck_assert_uint_eq(counter("out_of_order"), 1);
	gwlb_module_instance_info(inst, &info);
	ck_assert_uint_eq(info.verdicts[GWLB_VERDICT_ACCEPT_FLOW], 2);
	ck_assert_uint_eq(info.verdicts[GWLB_VERDICT_DROP_FLOW], 2);
	ck_assert_uint_eq(info.verdicts[GWLB_VERDICT_DROP], 1);
	sni_stop();
}
END_TEST

/*
 * The same 5-tuple again after a decision: a new connection (conntrack makes a new entry
 * for a SYN after the old one closed), judged on its own hello.
 */
START_TEST(test_port_reuse)
{
	struct flow f = flow_new(families[_i], 48000);
	static struct hello org;

	sni_start(allow_www);
	hello_named(&org, fx_tls13_curl, sizeof(fx_tls13_curl), &fx_tls13_curl_layout,
		    "www.example.org");
	ck_assert_int_eq(send_hello(&f, fx_tls13_curl, sizeof(fx_tls13_curl)), AF);
	ck_assert_int_eq(seg(&f, false, f.isn + 1 + sizeof(fx_tls13_curl), TH_FIN | TH_ACK,
			     NULL, 0), AF);
	f.isn += 100000;
	ck_assert_int_eq(send_hello(&f, org.b, org.len), DF);
	f.isn += 100000;
	ck_assert_int_eq(send_hello(&f, fx_tls13_curl, sizeof(fx_tls13_curl)), AF);

	/* a new SYN while the old stream was half read: the new stream starts from zero */
	f.sport++;
	ck_assert_int_eq(syn(&f), A);
	ck_assert_int_eq(data(&f, 0, org.b, 200), A);
	f.isn += 100000;
	ck_assert_int_eq(send_hello(&f, fx_tls13_curl, sizeof(fx_tls13_curl)), AF);
	ck_assert_uint_eq(counter("allowed"), 3);
	ck_assert_uint_eq(counter("denied"), 1);
	ck_assert_uint_eq(counter("unknown"), 0);
	sni_stop();
}
END_TEST

/* Sequence numbers that wrap past 2^32 in the middle of the hello. */
START_TEST(test_seq_wrap)
{
	struct flow f = flow_new(families[_i], 49000);

	sni_start(allow_www);
	f.isn = 0xffffff00u;
	ck_assert_int_eq(send_split(&f, fx_tls13_curl, sizeof(fx_tls13_curl), 4), AF);
	f.sport++;
	ck_assert_int_eq(syn(&f), A);
	ck_assert_int_eq(data(&f, 300, fx_tls13_curl, 217), D);
	ck_assert_int_eq(data(&f, 0, fx_tls13_curl, 300), A);
	ck_assert_int_eq(data(&f, 300, fx_tls13_curl, 217), AF);
	ck_assert_uint_eq(counter("allowed"), 2);
	sni_stop();
}
END_TEST

static Suite *sni_mod_suite(void)
{
	Suite *s = suite_create("sni_mod");
	TCase *tc;

	tc = tcase_create("stream");
	tcase_add_loop_test(tc, test_one_segment, 0, 2);
	tcase_add_loop_test(tc, test_split_in_order, 0, 2);
	tcase_add_loop_test(tc, test_out_of_order, 0, 2);
	tcase_add_loop_test(tc, test_retransmit_overlap, 0, 2);
	tcase_add_loop_test(tc, test_overlap_before_isn, 0, 2);
	tcase_add_loop_test(tc, test_gap_never_filled, 0, 2);
	tcase_add_loop_test(tc, test_interleaved, 0, 2);
	tcase_add_loop_test(tc, test_larger_than_limit, 0, 2);
	tcase_add_loop_test(tc, test_port_reuse, 0, 2);
	tcase_add_loop_test(tc, test_seq_wrap, 0, 2);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_grease, 0, 2);
	tcase_add_loop_test(tc, test_http_host, 0, 2);
	tcase_add_loop_test(tc, test_rules, 0, 2 * sizeof(rules) / sizeof(rules[0]));
	tcase_add_test(tc, test_bad_args);
	tcase_add_loop_test(tc, test_unknown, 0, 2);
	tcase_add_loop_test(tc, test_counters, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sni_mod_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
