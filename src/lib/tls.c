/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SNI from the start of a TLS client stream (RFC 8446 sections 4.1.2 and 5.1, RFC 6066
 * section 3), and hostname rules.
 *
 *   record:      type(1) = 22 | version(2) = 3.x | length(2) | fragment
 *   handshake:   msg_type(1) = 1 | length(3) | ClientHello
 *   ClientHello: legacy_version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2>
 *                compression_methods<1..2^8-1> [extensions<0..2^16-1>]
 *   extension:   type(2) length(2) data; server_name = 0:
 *                server_name_list<1..2^16-1> of name_type(1) (0 = host_name) name<1..2^16-1>
 */
#include <errno.h>
#include <string.h>

#include "tls.h"

#define TLS_CT_HANDSHAKE	22
#define TLS_HS_CLIENT_HELLO	1
#define TLS_RECORD_HDR		5
#define TLS_RECORD_MAX		16384	/* 2^14, the largest plaintext fragment */
#define TLS_HS_HDR		4
#define TLS_EXT_SERVER_NAME	0
#define TLS_SNI_HOST_NAME	0

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

int gwlb_name_copy(char *name, size_t name_len, const uint8_t *buf, size_t len)
{
	size_t i, label = 0;

	if (len && buf[len - 1] == '.')
		len--;
	if (!len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (buf[i] == '.') {
			if (!label)
				return -EINVAL;
			label = 0;
		} else if (name_char(buf[i])) {
			if (++label > 63)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	if (!label)
		return -EINVAL;
	if (len > GWLB_NAME_MAX || len >= name_len)
		return -ENAMETOOLONG;
	for (i = 0; i < len; i++)
		name[i] = ascii_lower((char)buf[i]);
	name[len] = '\0';
	return 0;
}

/* strcasecmp, but ASCII whatever the locale. */
static bool name_eq(const char *a, const char *b)
{
	while (*a && ascii_lower(*a) == ascii_lower(*b)) {
		a++;
		b++;
	}
	return ascii_lower(*a) == ascii_lower(*b);
}

bool gwlb_name_match(const char *pattern, const char *name)
{
	size_t pl, nl;

	if (!pattern || !name || !*pattern || !*name)
		return false;
	pl = strlen(pattern);
	nl = strlen(name);
	if (pattern[0] == '*' && pattern[1] == '.')
		return nl > pl - 1 && name_eq(name + nl - (pl - 1), pattern + 1);
	if (pattern[0] == '.')
		return name_eq(name, pattern + 1) || (nl > pl && name_eq(name + nl - pl, pattern));
	return name_eq(pattern, name);
}

/*
 * A reader over the ClientHello body: end is where the handshake header says it ends,
 * avail how much of it has arrived. A length that runs past end is MALFORMED however much
 * has arrived, which is what keeps every prefix of a valid hello at NEED_MORE.
 */
struct hello_rd {
	const uint8_t *p;
	size_t pos;
	size_t end;
	size_t avail;
};

static int rd_need(const struct hello_rd *r, size_t n)
{
	if (n > r->end - r->pos)
		return GWLB_TLS_MALFORMED;
	if (n > r->avail - r->pos)
		return GWLB_TLS_NEED_MORE;
	return 0;
}

/* Return from the calling parser unless n more bytes are there. */
#define RD_NEED(r, n)						\
	do {							\
		int rd_res_ = rd_need(r, n);			\
								\
		if (rd_res_)					\
			return rd_res_;				\
	} while (0)

/*
 * The server_name extension, all of it present. RFC 6066 allows one name per name_type;
 * other name types (none is defined) are skipped, trusting the length that RFC 6066 says
 * every future one starts with.
 */
static int sni_parse(const uint8_t *d, size_t len, const uint8_t **host, size_t *host_len)
{
	size_t o = 2, n;

	if (len < 2 || get_be16(d) != len - 2 || len == 2)
		return GWLB_TLS_MALFORMED;
	while (o < len) {
		if (len - o < 3)
			return GWLB_TLS_MALFORMED;
		n = get_be16(d + o + 1);
		if (n > len - o - 3)
			return GWLB_TLS_MALFORMED;
		if (d[o] == TLS_SNI_HOST_NAME) {
			if (*host)
				return GWLB_TLS_MALFORMED;
			*host = d + o + 3;
			*host_len = n;
		}
		o += 3 + n;
	}
	return 0;
}

static int hello_parse(struct hello_rd *r, const uint8_t **host, size_t *host_len)
{
	bool seen_sni = false;
	size_t n;
	int res;

	RD_NEED(r, 1);
	if (r->p[r->pos] != 3)
		return GWLB_TLS_MALFORMED;
	RD_NEED(r, 2 + 32);
	r->pos += 2 + 32;

	RD_NEED(r, 1);
	n = r->p[r->pos++];
	if (n > 32)
		return GWLB_TLS_MALFORMED;
	RD_NEED(r, n);
	r->pos += n;

	RD_NEED(r, 2);
	n = get_be16(r->p + r->pos);
	r->pos += 2;
	if (n < 2 || n & 1)
		return GWLB_TLS_MALFORMED;
	RD_NEED(r, n);
	r->pos += n;

	RD_NEED(r, 1);
	n = r->p[r->pos++];
	if (n < 1)
		return GWLB_TLS_MALFORMED;
	RD_NEED(r, n);
	r->pos += n;

	/* A hello may end before its extensions (TLS 1.0 and older clients). */
	if (r->pos == r->end)
		return GWLB_TLS_NO_SNI;
	RD_NEED(r, 2);
	n = get_be16(r->p + r->pos);
	r->pos += 2;
	if (n != r->end - r->pos)
		return GWLB_TLS_MALFORMED;

	/* Unknown extensions, GREASE (RFC 8701) among them, are skipped. */
	while (r->pos < r->end) {
		uint16_t type;

		RD_NEED(r, 4);
		type = get_be16(r->p + r->pos);
		n = get_be16(r->p + r->pos + 2);
		r->pos += 4;
		RD_NEED(r, n);
		if (type == TLS_EXT_SERVER_NAME) {
			/* RFC 8446 4.2: no extension type twice in one block. */
			if (seen_sni)
				return GWLB_TLS_MALFORMED;
			seen_sni = true;
			res = sni_parse(r->p + r->pos, n, host, host_len);
			if (res)
				return res;
		}
		r->pos += n;
	}
	return *host ? GWLB_TLS_SNI : GWLB_TLS_NO_SNI;
}

int gwlb_tls_sni(const uint8_t *buf, size_t len, char *name, size_t name_len, size_t *need)
{
	/* The hello reassembled (16 KiB of stack), used only when it spans several records. */
	uint8_t copy[TLS_HS_HDR + GWLB_TLS_HELLO_MAX];
	const uint8_t *hs = NULL, *host = NULL;
	size_t off = 0, got = 0, want = TLS_HS_HDR, missing;
	size_t host_len = 0, rlen = 0, avail = 0;
	struct hello_rd r;
	bool hdr_known = false;
	int res;

	/* Gather the handshake message from as many records as it takes. */
	while (got < want) {
		size_t used = 0;

		/* RFC 8446 5.1: no other record type may come between the fragments. */
		if ((len - off >= 1 && buf[off] != TLS_CT_HANDSHAKE) ||
		    (len - off >= 2 && buf[off + 1] != 3))
			return off ? GWLB_TLS_MALFORMED : GWLB_TLS_NOT_TLS;
		if (len - off < TLS_RECORD_HDR)
			break;
		rlen = get_be16(buf + off + 3);
		if (rlen == 0 || rlen > TLS_RECORD_MAX)
			return GWLB_TLS_MALFORMED;
		avail = len - off - TLS_RECORD_HDR;
		if (avail > rlen)
			avail = rlen;

		while (used < avail && got < want) {
			const uint8_t *frag = buf + off + TLS_RECORD_HDR + used;
			size_t n = avail - used;

			if (n > want - got)
				n = want - got;
			if (off == 0) {
				hs = frag - used;
			} else {
				if (hs != copy) {
					memcpy(copy, hs, got);
					hs = copy;
				}
				memcpy(copy + got, frag, n);
			}
			got += n;
			used += n;
			if (hs[0] != TLS_HS_CLIENT_HELLO)
				return GWLB_TLS_MALFORMED;
			if (!hdr_known && got >= TLS_HS_HDR) {
				size_t hs_len = (size_t)hs[1] << 16 | hs[2] << 8 | hs[3];

				if (hs_len > GWLB_TLS_HELLO_MAX)
					return GWLB_TLS_MALFORMED;
				want = TLS_HS_HDR + hs_len;
				hdr_known = true;
			}
		}
		if (avail < rlen)
			break;
		off += TLS_RECORD_HDR + rlen;
	}

	if (hdr_known) {
		r.p = hs + TLS_HS_HDR;
		r.pos = 0;
		r.end = want - TLS_HS_HDR;
		r.avail = got - TLS_HS_HDR;
		res = hello_parse(&r, &host, &host_len);
		if (res == GWLB_TLS_SNI && gwlb_name_copy(name, name_len, host, host_len))
			res = GWLB_TLS_MALFORMED;
		if (res != GWLB_TLS_NEED_MORE)
			return res;
	}

	if (need) {
		missing = want - got;
		if (len - off < TLS_RECORD_HDR)		/* waiting for a record header */
			*need = off + TLS_RECORD_HDR + missing;
		else if (missing <= rlen - avail)	/* the current record can finish it */
			*need = len + missing;
		else					/* another record must follow */
			*need = len + (rlen - avail) + TLS_RECORD_HDR + (missing - (rlen - avail));
	}
	return GWLB_TLS_NEED_MORE;
}

static const char *const tls_resstr[GWLB_TLS__MAX] = {
	[GWLB_TLS_SNI] = "sni",
	[GWLB_TLS_NO_SNI] = "no-sni",
	[GWLB_TLS_NEED_MORE] = "need-more",
	[GWLB_TLS_NOT_TLS] = "not-tls",
	[GWLB_TLS_MALFORMED] = "malformed",
};

const char *gwlb_tls_strerror(int res)
{
	if (res < 0 || res >= GWLB_TLS__MAX)
		return "unknown";
	return tls_resstr[res];
}
