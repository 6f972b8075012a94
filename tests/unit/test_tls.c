/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"
#include "fixtures_tls.h"

#define NAME "www.example.com"
#define SENTINEL "untouched"

struct fx {
	const char *what;
	const uint8_t *buf;
	size_t len;
	const struct fx_tls_layout *lay;	/* NULL: not one record */
	int res;
};

static const struct fx fxs[] = {
	{ "openssl TLS 1.3", fx_tls13_openssl, sizeof(fx_tls13_openssl),
	  &fx_tls13_openssl_layout, GWLB_TLS_SNI },
	{ "openssl TLS 1.2", fx_tls12_openssl, sizeof(fx_tls12_openssl),
	  &fx_tls12_openssl_layout, GWLB_TLS_SNI },
	{ "curl", fx_tls13_curl, sizeof(fx_tls13_curl), &fx_tls13_curl_layout, GWLB_TLS_SNI },
	{ "GREASE", fx_tls13_grease, sizeof(fx_tls13_grease), &fx_tls13_grease_layout,
	  GWLB_TLS_SNI },
	{ "openssl -noservername", fx_tls_nosni, sizeof(fx_tls_nosni), &fx_tls_nosni_layout,
	  GWLB_TLS_NO_SNI },
	{ "two records", fx_tls13_split, sizeof(fx_tls13_split), NULL, GWLB_TLS_SNI },
};
#define N_FXS	((int)(sizeof(fxs) / sizeof(fxs[0])))

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be(uint8_t *p, size_t width, size_t v)
{
	while (width--) {
		p[width] = v & 0xff;
		v >>= 8;
	}
}

static size_t get_be(const uint8_t *p, size_t width)
{
	size_t v = 0;

	while (width--)
		v = v << 8 | *p++;
	return v;
}

/*
 * Call the parser on an exact-size heap copy of buf[0..len), so that valgrind and ASan see
 * any read past len.
 */
static int sni(const uint8_t *buf, size_t len, char *name, size_t name_len, size_t *need)
{
	uint8_t *copy = malloc(len ? len : 1);
	int res;

	ck_assert_ptr_nonnull(copy);
	if (len)
		memcpy(copy, buf, len);
	res = gwlb_tls_sni(copy, len, name, name_len, need);
	free(copy);
	return res;
}

/* Every proper prefix of a good stream of len bytes is NEED_MORE, with need in (k, len]. */
static void check_prefixes(const uint8_t *buf, size_t len, const char *what)
{
	char name[GWLB_NAME_SIZE];
	size_t k, need;
	int res;

	for (k = 0; k < len; k++) {
		strcpy(name, SENTINEL);
		need = 0;
		res = sni(buf, k, name, sizeof(name), &need);
		ck_assert_msg(res == GWLB_TLS_NEED_MORE, "%s: prefix %zu of %zu: %s", what, k, len,
			      gwlb_tls_strerror(res));
		ck_assert_msg(need > k && need <= len, "%s: prefix %zu of %zu: need %zu", what, k,
			      len, need);
		ck_assert_str_eq(name, SENTINEL);
	}
}

/* Records of the given version holding hs[0..hs_len) cut at cuts[0..n) (ascending). */
static size_t records(uint8_t *out, const uint8_t *hs, size_t hs_len, const size_t *cuts, size_t n)
{
	size_t i, from = 0, o = 0;

	for (i = 0; i <= n; i++) {
		size_t to = i < n ? cuts[i] : hs_len;

		out[o] = 22;
		out[o + 1] = 3;
		out[o + 2] = 1;
		put_be(out + o + 3, 2, to - from);
		memcpy(out + o + 5, hs + from, to - from);
		o += 5 + to - from;
		from = to;
	}
	return o;
}

/*
 * A one-record stream: fixture f with the data of its server_name extension replaced by
 * sni_data (NULL: extension dropped; a fixture without one gets it first) and extra bytes
 * (whole extensions) appended; every length above fixed up.
 */
static size_t edit_hello(uint8_t *out, const struct fx *f, const uint8_t *sni_data, size_t sni_len,
			 const uint8_t *extra, size_t extra_len)
{
	const struct fx_tls_layout *l = f->lay;
	size_t o, before_end, after;

	memcpy(out, f->buf, l->ext_len + 2);
	o = l->ext_len + 2;
	if (l->sni_ext_len) {
		before_end = l->sni_ext_len - 2;
		after = l->sni_ext_len + 2 + be16(f->buf + l->sni_ext_len);
	} else {
		before_end = o;
		after = o;
	}
	memcpy(out + o, f->buf + l->ext_len + 2, before_end - (l->ext_len + 2));
	o += before_end - (l->ext_len + 2);
	if (sni_data) {
		put_be(out + o, 2, 0);
		put_be(out + o + 2, 2, sni_len);
		memcpy(out + o + 4, sni_data, sni_len);
		o += 4 + sni_len;
	}
	memcpy(out + o, f->buf + after, f->len - after);
	o += f->len - after;
	if (extra_len)
		memcpy(out + o, extra, extra_len);
	o += extra_len;
	put_be(out + l->ext_len, 2, o - l->ext_len - 2);
	put_be(out + 6, 3, o - 9);
	put_be(out + 3, 2, o - 5);
	return o;
}

/*
 * Fixture f with del bytes at off replaced by ins[0..ins_len), record and handshake lengths
 * fixed up (the field the change belongs to is the caller's).
 */
static size_t splice(uint8_t *out, const struct fx *f, size_t off, size_t del, const void *ins,
		     size_t ins_len)
{
	size_t n = f->len - del + ins_len;

	memcpy(out, f->buf, off);
	memcpy(out + off, ins, ins_len);
	memcpy(out + off + ins_len, f->buf + off + del, f->len - off - del);
	put_be(out + 3, 2, n - 5);
	put_be(out + 6, 3, n - 9);
	return n;
}

/* server_name extension data for one host_name */
static size_t sni_for(uint8_t *d, const void *name, size_t n)
{
	put_be(d, 2, n + 3);
	d[2] = 0;
	put_be(d + 3, 2, n);
	memcpy(d + 5, name, n);
	return n + 5;
}

START_TEST(test_fixture)
{
	const struct fx *f = &fxs[_i];
	char name[GWLB_NAME_SIZE] = SENTINEL;
	size_t need = 12345;

	ck_assert_int_eq(sni(f->buf, f->len, name, sizeof(name), &need), f->res);
	ck_assert_str_eq(name, f->res == GWLB_TLS_SNI ? NAME : SENTINEL);
	ck_assert_uint_eq(need, 12345);		/* set only on NEED_MORE */
	/* need may be NULL */
	ck_assert_int_eq(gwlb_tls_sni(f->buf, f->len, name, sizeof(name), NULL), f->res);
}
END_TEST

START_TEST(test_prefixes)
{
	const struct fx *f = &fxs[_i];
	char name[GWLB_NAME_SIZE];
	size_t k, need;

	check_prefixes(f->buf, f->len, f->what);
	if (!f->lay)
		return;
	/* one record: once the handshake header is in, need is exactly the whole hello */
	for (k = 9; k < f->len; k++) {
		ck_assert_int_eq(sni(f->buf, k, name, sizeof(name), &need), GWLB_TLS_NEED_MORE);
		ck_assert_uint_eq(need, f->len);
	}
	ck_assert_int_eq(sni(f->buf, 0, name, sizeof(name), &need), GWLB_TLS_NEED_MORE);
	ck_assert_uint_eq(need, 9);
	ck_assert_int_eq(sni(f->buf, 5, name, sizeof(name), &need), GWLB_TLS_NEED_MORE);
	ck_assert_uint_eq(need, 9);
}
END_TEST

/* The caller's way: concatenate TCP segments as they come and ask again. */
START_TEST(test_segments)
{
	const struct fx *f = &fxs[_i];
	static const size_t sizes[] = { 1, 3, 40, 7, 100, 2, 1448, 536 };
	char name[GWLB_NAME_SIZE] = SENTINEL;
	size_t have = 0, need = 0, i = _i, calls = 0;
	int res = GWLB_TLS_NEED_MORE;

	while (have < f->len) {
		have += sizes[i++ % 8];
		if (have > f->len)
			have = f->len;
		res = sni(f->buf, have, name, sizeof(name), &need);
		if (have < f->len)
			ck_assert_int_eq(res, GWLB_TLS_NEED_MORE);
	}
	ck_assert_int_eq(res, f->res);

	/* a caller that waits until it has what need says: few calls, same answer */
	have = 0;
	do {
		res = sni(f->buf, have, name, sizeof(name), &need);
		calls++;
		if (res == GWLB_TLS_NEED_MORE) {
			ck_assert_uint_gt(need, have);
			ck_assert_uint_le(need, f->len);
			have = need;
		}
	} while (res == GWLB_TLS_NEED_MORE);
	ck_assert_int_eq(res, f->res);
	ck_assert_uint_le(calls, f->lay ? 3 : 5);
}
END_TEST

START_TEST(test_grease)
{
	const struct fx_tls_layout *l = &fx_tls13_grease_layout;
	const uint8_t *b = fx_tls13_grease;
	size_t n = sizeof(fx_tls13_grease);
	char name[GWLB_NAME_SIZE];

	/* the fixture holds what its comment says */
	ck_assert_uint_eq(be16(b + l->cs_len + 2), 0x0a0a);
	ck_assert_uint_eq(be16(b + l->ext_len + 2), 0x1a1a);
	ck_assert_uint_eq(be16(b + l->ext_len + 4), 0);
	ck_assert_uint_eq(be16(b + n - 5), 0xfafa);
	ck_assert_uint_eq(be16(b + l->cs_len), be16(fx_tls13_curl + fx_tls13_curl_layout.cs_len) + 2);
	ck_assert_int_eq(sni(b, n, name, sizeof(name), NULL), GWLB_TLS_SNI);
	ck_assert_str_eq(name, NAME);
}
END_TEST

/* The hello of fx_tls13_openssl cut into two records at every possible point. */
START_TEST(test_split_everywhere)
{
	const uint8_t *hs = fx_tls13_openssl + 5;
	size_t hs_len = sizeof(fx_tls13_openssl) - 5, cut, n;
	uint8_t buf[sizeof(fx_tls13_openssl) + 5];
	char name[GWLB_NAME_SIZE], what[64];

	for (cut = 1; cut < hs_len; cut++) {
		n = records(buf, hs, hs_len, &cut, 1);
		ck_assert_uint_eq(n, sizeof(buf));
		strcpy(name, SENTINEL);
		ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_SNI);
		ck_assert_str_eq(name, NAME);
		snprintf(what, sizeof(what), "cut at %zu", cut);
		check_prefixes(buf, n, what);
	}
}
END_TEST

/* One record per byte: the hello is gathered from 316 records. */
START_TEST(test_split_bytewise)
{
	const uint8_t *hs = fx_tls13_curl + 5;
	size_t hs_len = sizeof(fx_tls13_curl) - 5, cuts[sizeof(fx_tls13_curl)], i, n;
	uint8_t buf[sizeof(fx_tls13_curl) * 6];
	char name[GWLB_NAME_SIZE];

	for (i = 0; i < hs_len - 1; i++)
		cuts[i] = i + 1;
	n = records(buf, hs, hs_len, cuts, hs_len - 1);
	ck_assert_uint_eq(n, hs_len * 6);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_SNI);
	ck_assert_str_eq(name, NAME);
	check_prefixes(buf, n, "bytewise");
}
END_TEST

START_TEST(test_split_bad_records)
{
	uint8_t buf[sizeof(fx_tls13_split) + 8];
	size_t first = 5 + be16(fx_tls13_split + 3), n = sizeof(fx_tls13_split);
	char name[GWLB_NAME_SIZE];
	static const uint8_t types[] = { 20, 21, 23, 24, 0 };
	size_t i;

	/* another content type between the fragments */
	for (i = 0; i < sizeof(types); i++) {
		memcpy(buf, fx_tls13_split, n);
		buf[first] = types[i];
		ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
		/* already known from the first byte of the second record */
		ck_assert_int_eq(sni(buf, first + 1, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	}
	memcpy(buf, fx_tls13_split, n);
	buf[first + 1] = 2;
	ck_assert_int_eq(sni(buf, first + 2, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);

	/* an empty handshake record in between */
	memcpy(buf, fx_tls13_split, first);
	memcpy(buf + first, "\x16\x03\x01\x00\x00", 5);
	memcpy(buf + first + 5, fx_tls13_split + first, n - first);
	ck_assert_int_eq(sni(buf, n + 5, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	/* or first */
	memcpy(buf, "\x16\x03\x01\x00\x00", 5);
	memcpy(buf + 5, fx_tls13_openssl, sizeof(fx_tls13_openssl));
	ck_assert_int_eq(sni(buf, 5 + sizeof(fx_tls13_openssl), name, sizeof(name), NULL),
			 GWLB_TLS_MALFORMED);

	/* a record longer than TLS allows */
	memcpy(buf, fx_tls13_openssl, sizeof(fx_tls13_openssl));
	put_be(buf + 3, 2, 16385);
	ck_assert_int_eq(sni(buf, sizeof(fx_tls13_openssl), name, sizeof(name), NULL),
			 GWLB_TLS_MALFORMED);
	put_be(buf + 3, 2, 16384);
	ck_assert_int_eq(sni(buf, sizeof(fx_tls13_openssl), name, sizeof(name), NULL),
			 GWLB_TLS_SNI);
}
END_TEST

/* What follows the hello (a middlebox-compatibility CCS, early data) is not looked at. */
START_TEST(test_trailing_bytes)
{
	uint8_t buf[sizeof(fx_tls13_openssl) + 64];
	size_t n = sizeof(fx_tls13_openssl);
	char name[GWLB_NAME_SIZE];

	memcpy(buf, fx_tls13_openssl, n);
	memcpy(buf + n, "\x14\x03\x03\x00\x01\x01", 6);
	ck_assert_int_eq(sni(buf, n + 6, name, sizeof(name), NULL), GWLB_TLS_SNI);
	ck_assert_int_eq(sni(buf, n + 2, name, sizeof(name), NULL), GWLB_TLS_SNI);
	memset(buf + n, 0xff, 64);
	ck_assert_int_eq(sni(buf, n + 64, name, sizeof(name), NULL), GWLB_TLS_SNI);
	ck_assert_str_eq(name, NAME);
}
END_TEST

/* A ClientHello body of GWLB_TLS_HELLO_MAX bytes is read (over two records); one more is not. */
START_TEST(test_hello_cap)
{
	const struct fx *f = &fxs[0];
	size_t pad_len = GWLB_TLS_HELLO_MAX - (sizeof(fx_tls13_openssl) - 9) - 4;
	size_t n, cut = 10000, m;
	uint8_t *pad = calloc(1, pad_len + 5), *one = malloc(GWLB_TLS_HELLO_MAX + 64);
	uint8_t *two = malloc(GWLB_TLS_HELLO_MAX + 64);
	char name[GWLB_NAME_SIZE];

	ck_assert(pad && one && two);
	put_be(pad, 2, 21);		/* padding (RFC 7685) */
	put_be(pad + 2, 2, pad_len);
	n = edit_hello(one, f, fx_tls13_openssl + f->lay->sni_ext_len + 2,
		       be16(fx_tls13_openssl + f->lay->sni_ext_len), pad, pad_len + 4);
	ck_assert_uint_eq(get_be(one + 6, 3), GWLB_TLS_HELLO_MAX);
	m = records(two, one + 5, n - 5, &cut, 1);
	ck_assert_int_eq(sni(two, m, name, sizeof(name), NULL), GWLB_TLS_SNI);
	ck_assert_str_eq(name, NAME);

	put_be(pad + 2, 2, pad_len + 1);
	n = edit_hello(one, f, fx_tls13_openssl + f->lay->sni_ext_len + 2,
		       be16(fx_tls13_openssl + f->lay->sni_ext_len), pad, pad_len + 5);
	m = records(two, one + 5, n - 5, &cut, 1);
	ck_assert_int_eq(sni(two, m, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	/* known as soon as the handshake header is in */
	ck_assert_int_eq(sni(two, 9, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	free(pad);
	free(one);
	free(two);
}
END_TEST

START_TEST(test_not_tls)
{
	static const char ssh[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
	/* an SSLv2-format hello, as very old clients sent */
	static const uint8_t sslv2[] = { 0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15 };
	static const uint8_t tls_v2[] = { 0x16, 0x02, 0x00, 0x00, 0x10 };
	static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };
	char name[GWLB_NAME_SIZE];
	size_t need = 0;

	ck_assert_int_eq(sni(fx_http_curl, sizeof(fx_http_curl), name, sizeof(name), NULL),
			 GWLB_TLS_NOT_TLS);
	ck_assert_int_eq(sni(fx_http_curl, 1, name, sizeof(name), NULL), GWLB_TLS_NOT_TLS);
	ck_assert_int_eq(sni((const uint8_t *)ssh, strlen(ssh), name, sizeof(name), NULL),
			 GWLB_TLS_NOT_TLS);
	ck_assert_int_eq(sni(sslv2, sizeof(sslv2), name, sizeof(name), NULL), GWLB_TLS_NOT_TLS);
	ck_assert_int_eq(sni(tls_v2, sizeof(tls_v2), name, sizeof(name), NULL), GWLB_TLS_NOT_TLS);
	ck_assert_int_eq(sni(tls_v2, 2, name, sizeof(name), NULL), GWLB_TLS_NOT_TLS);
	ck_assert_int_eq(sni(alert, sizeof(alert), name, sizeof(name), NULL), GWLB_TLS_NOT_TLS);
	/* one byte of a handshake record: could still be one */
	ck_assert_int_eq(sni(tls_v2, 1, name, sizeof(name), &need), GWLB_TLS_NEED_MORE);
	ck_assert_uint_eq(need, 9);
}
END_TEST

/* A handshake record, but no ClientHello in it. */
START_TEST(test_not_hello)
{
	uint8_t buf[sizeof(fx_tls13_openssl)];
	char name[GWLB_NAME_SIZE];

	memcpy(buf, fx_tls13_openssl, sizeof(buf));
	buf[5] = 2;	/* ServerHello */
	ck_assert_int_eq(sni(buf, sizeof(buf), name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	ck_assert_int_eq(sni(buf, 6, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	memcpy(buf, fx_tls13_openssl, sizeof(buf));
	buf[9] = 2;	/* legacy_version 2.3 */
	ck_assert_int_eq(sni(buf, sizeof(buf), name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	ck_assert_int_eq(sni(buf, 10, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	memcpy(buf, fx_tls13_openssl, sizeof(buf));
	put_be(buf + 6, 3, 0);	/* empty hello */
	ck_assert_int_eq(sni(buf, sizeof(buf), name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
}
END_TEST

struct len_field {
	const char *what;
	size_t off;
	size_t width;
};

/* Each length field one up and one down: never a name, MALFORMED once all is there. */
START_TEST(test_lengths_off_by_one)
{
	const struct fx *f = &fxs[_i];
	const struct fx_tls_layout *l = f->lay;
	const struct len_field fields[] = {
		{ "handshake", l->hs_len, 3 },
		{ "session id", l->sid_len, 1 },
		{ "cipher suites", l->cs_len, 2 },
		{ "compression", l->comp_len, 1 },
		{ "extensions", l->ext_len, 2 },
		{ "server_name extension", l->sni_ext_len, 2 },
		{ "server_name_list", l->sni_list_len, 2 },
		{ "host_name", l->sni_name_len, 2 },
	};
	uint8_t *buf = malloc(f->len);
	char name[GWLB_NAME_SIZE];
	size_t i, k, v, mask;
	int d, res;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!fields[i].off)
			continue;	/* no server_name in this fixture */
		mask = ((size_t)1 << (8 * fields[i].width)) - 1;
		for (d = -1; d <= 1; d += 2) {
			memcpy(buf, f->buf, f->len);
			v = get_be(buf + fields[i].off, fields[i].width);
			put_be(buf + fields[i].off, fields[i].width, (v + (size_t)d) & mask);
			strcpy(name, SENTINEL);
			res = sni(buf, f->len, name, sizeof(name), NULL);
			ck_assert_msg(res == GWLB_TLS_MALFORMED, "%s: %s length %+d: %s", f->what,
				      fields[i].what, d, gwlb_tls_strerror(res));
			ck_assert_str_eq(name, SENTINEL);
			for (k = 0; k < f->len; k++) {
				res = sni(buf, k, name, sizeof(name), NULL);
				ck_assert(res == GWLB_TLS_NEED_MORE || res == GWLB_TLS_MALFORMED);
			}
		}
	}

	/*
	 * The record length is no ClientHello length: a record may hold more than the hello,
	 * and one byte less means the last byte starts the next record.
	 */
	memcpy(buf, f->buf, f->len);
	put_be(buf + l->rec_len, 2, f->len - 5 + 1);
	ck_assert_int_eq(sni(buf, f->len, name, sizeof(name), NULL), f->res);
	put_be(buf + l->rec_len, 2, f->len - 5 - 1);
	ck_assert_int_eq(sni(buf, f->len, name, sizeof(name), NULL),
			 buf[f->len - 1] == 22 ? GWLB_TLS_NEED_MORE : GWLB_TLS_MALFORMED);
	free(buf);
}
END_TEST

START_TEST(test_sni_extension)
{
	const struct fx *f = &fxs[0];
	uint8_t buf[1024], d[300] = { 0 };
	char name[GWLB_NAME_SIZE];
	size_t n, dl;

	/* empty extension, empty list */
	n = edit_hello(buf, f, d, 0, NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	n = edit_hello(buf, f, (const uint8_t *)"\0\0", 2, NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);

	/* an empty host_name */
	n = edit_hello(buf, f, (const uint8_t *)"\0\3\0\0\0", 5, NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);

	/* two host_names (RFC 6066: one per name type) */
	dl = sni_for(d, "a.example", 9);
	memcpy(d + dl, d + 2, dl - 2);
	put_be(d, 2, 2 * (dl - 2));
	n = edit_hello(buf, f, d, 2 * dl - 2, NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);

	/* a name type nobody defined: skipped, alone or before a host_name */
	dl = sni_for(d, "a.example", 9);
	d[2] = 7;
	n = edit_hello(buf, f, d, dl, NULL, 0);
	strcpy(name, SENTINEL);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_NO_SNI);
	ck_assert_str_eq(name, SENTINEL);
	sni_for(d + dl, "b.example", 9);
	memmove(d + dl, d + dl + 2, 12);
	put_be(d, 2, dl - 2 + 12);
	n = edit_hello(buf, f, d, dl + 12, NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_SNI);
	ck_assert_str_eq(name, "b.example");

	/* the server_name extension twice (RFC 8446 4.2) */
	dl = sni_for(d + 4, "c.example", 9);
	put_be(d, 2, 0);
	put_be(d + 2, 2, dl);
	n = edit_hello(buf, f, d + 4, dl, d, dl + 4);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	/* even when the first one holds no host_name */
	n = edit_hello(buf, f, (const uint8_t *)"\0\3\7\0\0", 5, d, dl + 4);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	/* an unknown name type must fit its list too */
	n = edit_hello(buf, f, (const uint8_t *)"\0\3\7\0\1", 5, NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	/* an unknown name type may be empty */
	n = edit_hello(buf, f, (const uint8_t *)"\0\3\7\0\0", 5, NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_NO_SNI);
	/* ...which the unedited parts of the hello do not make up */
	n = edit_hello(buf, f, d + 4, dl, NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_SNI);
	ck_assert_str_eq(name, "c.example");

	/* the no-SNI capture given a server_name */
	dl = sni_for(d, "d.example", 9);
	n = edit_hello(buf, &fxs[4], d, dl, NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_SNI);
	ck_assert_str_eq(name, "d.example");
}
END_TEST

/* Lists whose own length is consistent but whose content breaks the ClientHello rules. */
START_TEST(test_list_rules)
{
	const struct fx *f = &fxs[0];
	const struct fx_tls_layout *l = f->lay;
	uint8_t buf[1024];
	char name[GWLB_NAME_SIZE];
	size_t n, sid = f->buf[l->sid_len], cs = be16(f->buf + l->cs_len);

	ck_assert_uint_eq(sid, 32);
	/* legacy_session_id<0..32> */
	n = splice(buf, f, l->sid_len + 1, 0, "\x42", 1);
	buf[l->sid_len] = 33;
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	n = splice(buf, f, l->sid_len + 1, 1, "", 0);
	buf[l->sid_len] = 31;
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_SNI);
	n = splice(buf, f, l->sid_len + 1, 32, "", 0);
	buf[l->sid_len] = 0;
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_SNI);

	/* cipher_suites<2..2^16-2>: two bytes a suite */
	n = splice(buf, f, l->cs_len + 2, 0, "\x13", 1);
	put_be(buf + l->cs_len, 2, cs + 1);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	n = splice(buf, f, l->cs_len + 2, cs, "", 0);
	put_be(buf + l->cs_len, 2, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	n = splice(buf, f, l->cs_len + 2, cs - 2, "", 0);
	put_be(buf + l->cs_len, 2, 2);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_SNI);

	/* legacy_compression_methods<1..2^8-1> */
	ck_assert_uint_eq(f->buf[l->comp_len], 1);
	n = splice(buf, f, l->comp_len + 1, 1, "", 0);
	buf[l->comp_len] = 0;
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	n = splice(buf, f, l->comp_len + 1, 0, "\x01", 1);
	buf[l->comp_len] = 2;
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_SNI);
	ck_assert_str_eq(name, NAME);
}
END_TEST

/* A hello may end after its compression methods, or have an empty extension block. */
START_TEST(test_no_extensions)
{
	const struct fx_tls_layout *l = &fx_tls12_openssl_layout;
	uint8_t buf[sizeof(fx_tls12_openssl)];
	char name[GWLB_NAME_SIZE];
	size_t n = l->ext_len;

	memcpy(buf, fx_tls12_openssl, n);
	put_be(buf + 3, 2, n - 5);
	put_be(buf + 6, 3, n - 9);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_NO_SNI);
	check_prefixes(buf, n, "no extensions");
	put_be(buf + n, 2, 0);
	put_be(buf + 3, 2, n + 2 - 5);
	put_be(buf + 6, 3, n + 2 - 9);
	ck_assert_int_eq(sni(buf, n + 2, name, sizeof(name), NULL), GWLB_TLS_NO_SNI);
	/* an extension block that is one byte */
	buf[n + 1] = 1;
	buf[n + 2] = 0;
	put_be(buf + 3, 2, n + 3 - 5);
	put_be(buf + 6, 3, n + 3 - 9);
	ck_assert_int_eq(sni(buf, n + 3, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
}
END_TEST

struct name_case {
	const char *sent;	/* host_name bytes */
	size_t len;		/* 0: strlen(sent) */
	int res;
	const char *got;	/* the name on GWLB_TLS_SNI */
};

static char long_name[300];

/* "aaa...a.aaa...a..." of n characters with labels of lab characters */
static const char *make_long(size_t n, size_t lab)
{
	size_t i;

	for (i = 0; i < n; i++)
		long_name[i] = (i + 1) % (lab + 1) ? 'a' : '.';
	long_name[n] = '\0';
	return long_name;
}

START_TEST(test_names)
{
	static const struct name_case cases[] = {
		{ "WWW.Example.COM", 0, GWLB_TLS_SNI, NAME },
		{ "www.example.com.", 0, GWLB_TLS_SNI, NAME },
		{ "xn--bcher-kva.example", 0, GWLB_TLS_SNI, "xn--bcher-kva.example" },
		{ "a-b.c0-9.example", 0, GWLB_TLS_SNI, "a-b.c0-9.example" },
		{ "localhost", 0, GWLB_TLS_SNI, "localhost" },
		{ "192.0.2.1", 0, GWLB_TLS_SNI, "192.0.2.1" },
		{ "www..example.com", 0, GWLB_TLS_MALFORMED, NULL },
		{ ".www.example.com", 0, GWLB_TLS_MALFORMED, NULL },
		{ "www.example.com..", 0, GWLB_TLS_MALFORMED, NULL },
		{ ".", 0, GWLB_TLS_MALFORMED, NULL },
		{ "www_1.example.com", 0, GWLB_TLS_MALFORMED, NULL },
		{ "www example.com", 0, GWLB_TLS_MALFORMED, NULL },
		{ "www.example.com\0.evil", 20, GWLB_TLS_MALFORMED, NULL },
		{ "b\xc3\xbc" "cher.example", 0, GWLB_TLS_MALFORMED, NULL },
		{ "[2001:db8::1]", 0, GWLB_TLS_MALFORMED, NULL },
		{ "www.example.com:443", 0, GWLB_TLS_MALFORMED, NULL },
		{ "*.example.com", 0, GWLB_TLS_MALFORMED, NULL },
	};
	uint8_t buf[1024], d[300];
	char name[GWLB_NAME_SIZE], big[400];
	size_t i, n, nl;
	int res;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nl = cases[i].len ? cases[i].len : strlen(cases[i].sent);
		n = edit_hello(buf, &fxs[0], d, sni_for(d, cases[i].sent, nl), NULL, 0);
		strcpy(name, SENTINEL);
		res = sni(buf, n, name, sizeof(name), NULL);
		ck_assert_msg(res == cases[i].res, "\"%s\": %s", cases[i].sent,
			      gwlb_tls_strerror(res));
		ck_assert_str_eq(name, cases[i].got ? cases[i].got : SENTINEL);
	}

	/* length: 253 characters, labels of 63 */
	n = edit_hello(buf, &fxs[0], d, sni_for(d, make_long(253, 63), 253), NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_SNI);
	ck_assert_str_eq(name, long_name);
	n = edit_hello(buf, &fxs[0], d, sni_for(d, make_long(254, 63), 254), NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);
	/* refused for its length, not for the caller's buffer */
	ck_assert_int_eq(sni(buf, n, big, sizeof(big), NULL), GWLB_TLS_MALFORMED);
	long_name[253] = '.';
	n = edit_hello(buf, &fxs[0], d, sni_for(d, long_name, 254), NULL, 0);
	ck_assert_int_eq(sni(buf, n, big, sizeof(big), NULL), GWLB_TLS_SNI);
	ck_assert_uint_eq(strlen(big), 253);
	n = edit_hello(buf, &fxs[0], d, sni_for(d, make_long(200, 64), 200), NULL, 0);
	ck_assert_int_eq(sni(buf, n, name, sizeof(name), NULL), GWLB_TLS_MALFORMED);

	/* a name that does not fit the caller's buffer is refused, not cut */
	strcpy(name, SENTINEL);
	ck_assert_int_eq(sni(fx_tls13_openssl, sizeof(fx_tls13_openssl), name, strlen(NAME), NULL),
			 GWLB_TLS_MALFORMED);
	ck_assert_str_eq(name, SENTINEL);
	ck_assert_int_eq(sni(fx_tls13_openssl, sizeof(fx_tls13_openssl), name, strlen(NAME) + 1,
			     NULL), GWLB_TLS_SNI);
	ck_assert_str_eq(name, NAME);
}
END_TEST

START_TEST(test_name_copy)
{
	char name[8];

	ck_assert_int_eq(gwlb_name_copy(name, sizeof(name), (const uint8_t *)"AbC.d.", 6), 0);
	ck_assert_str_eq(name, "abc.d");
	ck_assert_int_eq(gwlb_name_copy(name, sizeof(name), (const uint8_t *)"abcdefg", 7), 0);
	ck_assert_int_eq(gwlb_name_copy(name, sizeof(name), (const uint8_t *)"abcdefgh", 8),
			 -ENAMETOOLONG);
	ck_assert_int_eq(gwlb_name_copy(name, sizeof(name), (const uint8_t *)"", 0), -EINVAL);
	ck_assert_int_eq(gwlb_name_copy(name, sizeof(name), (const uint8_t *)"a b", 3), -EINVAL);
	ck_assert_int_eq(gwlb_name_copy(name, 0, (const uint8_t *)"a", 1), -ENAMETOOLONG);
}
END_TEST

struct match_case {
	const char *pattern;
	const char *name;
	bool match;
};

START_TEST(test_name_match)
{
	static const struct match_case cases[] = {
		{ "example.com", "example.com", true },
		{ "example.com", "EXAMPLE.Com", true },
		{ "Example.COM", "example.com", true },
		{ "example.com", "www.example.com", false },
		{ "example.com", "example.co", false },
		{ "example.com", "example.com.au", false },
		{ "example.com", "badexample.com", false },
		{ "*.example.com", "www.example.com", true },
		{ "*.example.com", "a.b.example.com", true },
		{ "*.example.com", "WWW.EXAMPLE.COM", true },
		{ "*.example.com", "example.com", false },
		{ "*.example.com", "badexample.com", false },
		{ "*.example.com", "www.example.com.evil", false },
		{ "*.example.com", ".example.com", false },
		{ ".example.com", "example.com", true },
		{ ".example.com", "www.example.com", true },
		{ ".example.com", "a.b.Example.com", true },
		{ ".example.com", "badexample.com", false },
		{ ".example.com", "example.comm", false },
		{ ".example.com", "xample.com", false },
		{ ".example.com", ".example.com", false },
		{ "*", "example.com", false },
		{ "*.", "example.com", false },
		{ "", "example.com", false },
		{ "example.com", "", false },
		{ "", "", false },
		{ "2001:db8::1", "2001:DB8::1", true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(gwlb_name_match(cases[i].pattern, cases[i].name) == cases[i].match,
			      "pattern \"%s\" name \"%s\": expected %s", cases[i].pattern,
			      cases[i].name, cases[i].match ? "match" : "no match");
	ck_assert(!gwlb_name_match(NULL, "example.com"));
	ck_assert(!gwlb_name_match("example.com", NULL));
}
END_TEST

START_TEST(test_strerror)
{
	int i, j;

	ck_assert_str_eq(gwlb_tls_strerror(GWLB_TLS_SNI), "sni");
	ck_assert_str_eq(gwlb_tls_strerror(GWLB_TLS_MALFORMED), "malformed");
	ck_assert_str_eq(gwlb_tls_strerror(-1), "unknown");
	ck_assert_str_eq(gwlb_tls_strerror(GWLB_TLS__MAX), "unknown");
	for (i = 0; i < GWLB_TLS__MAX; i++)
		for (j = i + 1; j < GWLB_TLS__MAX; j++)
			ck_assert_str_ne(gwlb_tls_strerror(i), gwlb_tls_strerror(j));
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc;

	tc = tcase_create("fixtures");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_fixture, 0, N_FXS);
	tcase_add_loop_test(tc, test_prefixes, 0, N_FXS);
	tcase_add_loop_test(tc, test_segments, 0, N_FXS);
	tcase_add_test(tc, test_grease);
	suite_add_tcase(s, tc);

	tc = tcase_create("records");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_split_everywhere);
	tcase_add_test(tc, test_split_bytewise);
	tcase_add_test(tc, test_split_bad_records);
	tcase_add_test(tc, test_trailing_bytes);
	tcase_add_test(tc, test_hello_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_not_tls);
	tcase_add_test(tc, test_not_hello);
	/* every fixture but the two-record one has a layout */
	tcase_add_loop_test(tc, test_lengths_off_by_one, 0, N_FXS - 1);
	tcase_add_test(tc, test_sni_extension);
	tcase_add_test(tc, test_list_rules);
	tcase_add_test(tc, test_no_extensions);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_name_copy);
	tcase_add_test(tc, test_name_match);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tls_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
