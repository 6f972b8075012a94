/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host an HTTP/1.x client asks for, read from the first bytes of its TCP stream. */
#ifndef GWLB_HTTP_H
#define GWLB_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Longest request head (request line, header fields, final empty line) read. */
#define GWLB_HTTP_HEAD_MAX	8192

/* What the start of a client stream says. Values are stable: they index counters. */
enum gwlb_http_result {
	GWLB_HTTP_HOST = 0,	/* a complete request head naming a host: host filled in */
	GWLB_HTTP_NO_HOST,	/* a complete request head without a host (HTTP/1.0, empty Host) */
	GWLB_HTTP_NEED_MORE,	/* a valid prefix of a request head: wait for more of the stream */
	GWLB_HTTP_NOT_HTTP,	/* does not start with a known method and a space */
	GWLB_HTTP_MALFORMED,	/* starts like a request, but the head is not well formed */
	GWLB_HTTP__MAX
};

/*
 * Find the host a request is for in buf[0..len), the bytes a client sent on a TCP connection
 * from its first byte on (concatenate the segments and call again when more arrive). The
 * request line must have a known method (GET POST HEAD PUT DELETE OPTIONS PATCH CONNECT
 * TRACE) and version HTTP/x.y; lines end in CRLF; the head ends at the first empty line and
 * is at most GWLB_HTTP_HEAD_MAX bytes. The host is the Host field's, or the authority of an
 * absolute-form target (proxy style, and CONNECT's authority-form), which must then agree
 * with any Host field: servers route by the target and policy must see the same name.
 * Several Host fields must agree too.
 *
 * On GWLB_HTTP_HOST the host is copied to host[host_len] without port, lower-cased,
 * NUL-terminated, without a trailing dot; an IPv6 literal without its brackets. A host that
 * is not a hostname or IPv6 literal, or does not fit (pass GWLB_NAME_SIZE bytes), is
 * MALFORMED. host is untouched otherwise.
 */
int gwlb_http_host(const uint8_t *buf, size_t len, char *host, size_t host_len);

/*
 * The status code of an HTTP/1.x response whose first bytes are buf[0..len): a status line
 * "HTTP/d.d SP 3DIGIT [SP reason]" ending in CRLF (a bare LF is taken too: health pages
 * written by hand send one). 0 and *status (100..599) for a complete line; -EAGAIN when
 * buf is a valid prefix without the line end yet; -EBADMSG when it cannot be one.
 */
int gwlb_http_status(const uint8_t *buf, size_t len, int *status);

/* Short, stable, lower-case name of a result ("host", "need-more"...), for logs and metrics. */
const char *gwlb_http_strerror(int res);

#endif
