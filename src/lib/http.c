/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host of an HTTP/1.x request (RFC 9112 sections 2-3 and 5, RFC 9110 section 7.2).
 * Stricter than most servers on purpose: a head this parser cannot read for sure is
 * MALFORMED, and what happens to it is a policy setting, whereas a lenient reading that
 * differs from the server's would let a request through under a name it does not go to.
 */
#include <errno.h>
#include <string.h>

#include "http.h"
#include "tls.h"

/* An IPv6 literal is at most 45 characters (full form with an embedded IPv4). */
#define IPV6_TEXT_MAX	45

static const char *const http_methods[] = {
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
};

/*
 * The method, when buf starts with a known one and a space: its length; 0 when buf is a
 * shorter prefix of one; -1 when it cannot be a request.
 */
static int method_len(const uint8_t *buf, size_t len, bool *connect)
{
	bool prefix = false;
	size_t i, n;

	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		n = strlen(http_methods[i]);
		if (len > n) {
			if (!memcmp(buf, http_methods[i], n) && buf[n] == ' ') {
				*connect = !strcmp(http_methods[i], "CONNECT");
				return (int)n;
			}
		} else if (!memcmp(buf, http_methods[i], len)) {
			prefix = true;
		}
	}
	return prefix ? 0 : -1;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(uint8_t c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* tchar of RFC 9110 5.6.2 */
static bool is_tchar(uint8_t c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/*
 * uri-host [ ":" port ] to a bare lower-case host in out (out_len >= GWLB_NAME_SIZE); an
 * empty authority gives "". 0 or GWLB_HTTP_MALFORMED.
 */
static int authority_host(const uint8_t *s, size_t n, char *out, size_t out_len)
{
	size_t hl, i, colons = 0;
	const uint8_t *port;

	if (n == 0) {
		out[0] = '\0';
		return 0;
	}
	if (s[0] == '[') {
		const uint8_t *close = memchr(s, ']', n);

		if (!close)
			return GWLB_HTTP_MALFORMED;
		hl = close - s - 1;
		port = close + 1;
		if (hl > IPV6_TEXT_MAX)
			return GWLB_HTTP_MALFORMED;
		for (i = 0; i < hl; i++) {
			uint8_t c = s[1 + i];

			if (c == ':')
				colons++;
			else if (!is_hex(c) && c != '.')
				return GWLB_HTTP_MALFORMED;
			out[i] = (char)lower(c);
		}
		if (colons < 2)
			return GWLB_HTTP_MALFORMED;
		out[hl] = '\0';
	} else {
		const uint8_t *colon = memchr(s, ':', n);

		hl = colon ? (size_t)(colon - s) : n;
		port = s + hl;
		if (gwlb_name_copy(out, out_len, s, hl))
			return GWLB_HTTP_MALFORMED;
	}
	/* port = *DIGIT, so "host:" is allowed; but a number beyond 65535 is no port */
	if (port < s + n) {
		size_t pl = s + n - port - 1;
		unsigned long v = 0;

		if (*port != ':' || pl > 5)
			return GWLB_HTTP_MALFORMED;
		for (i = 1; i <= pl; i++) {
			if (!is_digit(port[i]))
				return GWLB_HTTP_MALFORMED;
			v = v * 10 + (port[i] - '0');
		}
		if (v > 65535)
			return GWLB_HTTP_MALFORMED;
	}
	return 0;
}

/*
 * The authority a request-target names, if any: absolute-form "scheme://authority/..."
 * and CONNECT's authority-form. origin-form and "*" name none.
 */
static int target_authority(const uint8_t *t, size_t n, bool connect, char *out, size_t out_len,
			    bool *has)
{
	size_t i, end;

	*has = false;
	if (connect) {
		*has = true;
		return authority_host(t, n, out, out_len);
	}
	if (t[0] == '/' || (n == 1 && t[0] == '*'))
		return 0;
	if (!is_alpha(t[0]))
		return GWLB_HTTP_MALFORMED;
	for (i = 1; i < n && t[i] != ':'; i++)
		if (!is_alpha(t[i]) && !is_digit(t[i]) && t[i] != '+' && t[i] != '-' && t[i] != '.')
			return GWLB_HTTP_MALFORMED;
	if (i == n)
		return GWLB_HTTP_MALFORMED;
	if (n - i < 3 || t[i + 1] != '/' || t[i + 2] != '/')
		return 0;	/* an absolute URI without authority (urn:...) */
	i += 3;
	/* userinfo ("user@"), deprecated and read differently by servers, fails as a name */
	for (end = i; end < n && t[end] != '/' && t[end] != '?' && t[end] != '#'; end++)
		;
	if (end == i)
		return GWLB_HTTP_MALFORMED;
	*has = true;
	return authority_host(t + i, end - i, out, out_len);
}

/* method SP request-target SP HTTP-version, the CRLF already cut off */
static int request_line(const uint8_t *l, size_t n, size_t mlen, bool connect, char *out,
			size_t out_len, bool *has)
{
	const uint8_t *t = l + mlen + 1, *sp;
	size_t tl, i;

	sp = memchr(t, ' ', l + n - t);
	if (!sp)
		return GWLB_HTTP_MALFORMED;
	tl = sp - t;
	if (tl == 0)
		return GWLB_HTTP_MALFORMED;
	for (i = 0; i < tl; i++)
		if (t[i] <= 0x20 || t[i] >= 0x7f)
			return GWLB_HTTP_MALFORMED;
	sp++;
	if (l + n - sp != 8 || memcmp(sp, "HTTP/", 5) || !is_digit(sp[5]) || sp[6] != '.' ||
	    !is_digit(sp[7]))
		return GWLB_HTTP_MALFORMED;
	return target_authority(t, tl, connect, out, out_len, has);
}

/* field-name ":" OWS field-value OWS; *is_host when the name is Host. */
static int field_line(const uint8_t *l, size_t n, const uint8_t **val, size_t *vlen, bool *is_host)
{
	const uint8_t *colon = memchr(l, ':', n), *v, *e;
	size_t i, nl;

	/* obs-fold, whitespace before the colon, an empty or odd name: RFC 9112 5.1-5.2 */
	if (!colon || colon == l)
		return GWLB_HTTP_MALFORMED;
	nl = colon - l;
	for (i = 0; i < nl; i++)
		if (!is_tchar(l[i]))
			return GWLB_HTTP_MALFORMED;
	for (v = colon + 1, e = l + n; v < e; v++)
		if (*v < 0x20 && *v != '\t')
			return GWLB_HTTP_MALFORMED;
	v = colon + 1;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*val = v;
	*vlen = e - v;
	*is_host = nl == 4 && lower(l[0]) == 'h' && lower(l[1]) == 'o' && lower(l[2]) == 's' &&
		   lower(l[3]) == 't';
	return 0;
}

int gwlb_http_host(const uint8_t *buf, size_t len, char *host, size_t host_len)
{
	char field_host[GWLB_NAME_SIZE], target_host[GWLB_NAME_SIZE];
	bool connect = false, has_target = false, has_field = false, is_host;
	size_t off = 0, lim = len < GWLB_HTTP_HEAD_MAX ? len : GWLB_HTTP_HEAD_MAX;
	const char *res_host;
	int mlen, res;

	if (len == 0)
		return GWLB_HTTP_NEED_MORE;
	mlen = method_len(buf, len, &connect);
	if (mlen < 0)
		return GWLB_HTTP_NOT_HTTP;
	if (mlen == 0)
		return GWLB_HTTP_NEED_MORE;

	for (;;) {
		const uint8_t *l = buf + off, *lf = memchr(l, '\n', lim - off), *val;
		size_t n, vlen;

		if (!lf)
			return len >= GWLB_HTTP_HEAD_MAX ? GWLB_HTTP_MALFORMED : GWLB_HTTP_NEED_MORE;
		n = lf - l;
		off += n + 1;
		/*
		 * Lines end in CRLF. A bare LF is refused here; a bare CR or a NUL elsewhere is
		 * refused by the checks of each part (method, target, version, field name, value).
		 */
		if (n == 0 || l[n - 1] != '\r')
			return GWLB_HTTP_MALFORMED;
		n--;

		if (l == buf) {
			res = request_line(l, n, (size_t)mlen, connect, target_host,
					   sizeof(target_host), &has_target);
			if (res)
				return res;
			continue;
		}
		if (n == 0)
			break;
		res = field_line(l, n, &val, &vlen, &is_host);
		if (res)
			return res;
		if (!is_host)
			continue;
		if (!has_field) {
			if (authority_host(val, vlen, field_host, sizeof(field_host)))
				return GWLB_HTTP_MALFORMED;
			has_field = true;
		} else {
			char again[GWLB_NAME_SIZE];

			/* RFC 9110 7.2 wants a 400 for any second Host; tolerate an identical one */
			if (authority_host(val, vlen, again, sizeof(again)) ||
			    strcmp(again, field_host))
				return GWLB_HTTP_MALFORMED;
		}
	}

	/* RFC 9112 3.2.2: an origin server routes by the target and ignores Host. */
	if (has_target && has_field && strcmp(target_host, field_host))
		return GWLB_HTTP_MALFORMED;
	res_host = has_target ? target_host : has_field ? field_host : "";
	if (!res_host[0])
		return GWLB_HTTP_NO_HOST;
	if (strlen(res_host) >= host_len)
		return GWLB_HTTP_MALFORMED;
	strcpy(host, res_host);
	return GWLB_HTTP_HOST;
}

static const char *const http_resstr[GWLB_HTTP__MAX] = {
	[GWLB_HTTP_HOST] = "host",
	[GWLB_HTTP_NO_HOST] = "no-host",
	[GWLB_HTTP_NEED_MORE] = "need-more",
	[GWLB_HTTP_NOT_HTTP] = "not-http",
	[GWLB_HTTP_MALFORMED] = "malformed",
};

const char *gwlb_http_strerror(int res)
{
	if (res < 0 || res >= GWLB_HTTP__MAX)
		return "unknown";
	return http_resstr[res];
}

int gwlb_http_status(const uint8_t *buf, size_t len, int *status)
{
	static const char proto[] = "HTTP/d.d ddd";
	size_t i, n = sizeof(proto) - 1;
	int code = 0;

	for (i = 0; i < len && i < n; i++) {
		if (proto[i] == 'd' ? !is_digit(buf[i]) : buf[i] != (uint8_t)proto[i])
			return -EBADMSG;
		if (i >= 9)
			code = code * 10 + (buf[i] - '0');
	}
	if (len <= n)
		return -EAGAIN;
	if (buf[n] != ' ' && buf[n] != '\r' && buf[n] != '\n')
		return -EBADMSG;
	if (code < 100 || code > 599)
		return -EBADMSG;
	for (i = n; i < len; i++) {
		if (buf[i] == '\n') {
			*status = code;
			return 0;
		}
		/* reason-phrase = *( HTAB / SP / VCHAR / obs-text ) */
		if (buf[i] == '\r') {
			if (i + 1 < len && buf[i + 1] != '\n')
				return -EBADMSG;
		} else if (buf[i] != '\t' && (buf[i] < 0x20 || buf[i] == 0x7f)) {
			return -EBADMSG;
		}
	}
	return -EAGAIN;
}
