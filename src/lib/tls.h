/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The server name a TLS client asks for (server_name extension of its ClientHello, RFC 6066
 * section 3), read from the first bytes of the client's TCP stream; and the hostnames and
 * name rules the sni verdict module works with.
 */
#ifndef GWLB_TLS_H
#define GWLB_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A hostname: at most 253 characters, labels of 1-63, no trailing dot. */
#define GWLB_NAME_MAX		253
#define GWLB_NAME_SIZE		(GWLB_NAME_MAX + 1)

/* Longest ClientHello body read (real ones are under 2 KiB); a longer one is MALFORMED. */
#define GWLB_TLS_HELLO_MAX	16384

/* What the start of a client stream says. Values are stable: they index counters. */
enum gwlb_tls_result {
	GWLB_TLS_SNI = 0,	/* a complete ClientHello with a valid host_name: name filled in */
	GWLB_TLS_NO_SNI,	/* a complete ClientHello without a host_name */
	GWLB_TLS_NEED_MORE,	/* a valid prefix of a ClientHello: wait for more of the stream */
	GWLB_TLS_NOT_TLS,	/* not a TLS handshake record (content type 22, version 3.x) */
	GWLB_TLS_MALFORMED,	/* a handshake record, but no well-formed ClientHello in it */
	GWLB_TLS__MAX
};

/*
 * Find the SNI host name in buf[0..len), the bytes a client sent on a TCP connection from
 * its first byte on: TLS records holding a ClientHello, possibly fragmented over several
 * handshake records, possibly only a prefix of them (concatenate the segments and call again
 * when more arrive). A prefix of a valid ClientHello is always GWLB_TLS_NEED_MORE; a result
 * of SNI or NO_SNI needs the whole ClientHello, so that every length and a repeated
 * server_name extension are checked. Bytes after the ClientHello are ignored.
 *
 * On GWLB_TLS_SNI the name is copied to name[name_len] lower-cased, NUL-terminated, without
 * a trailing dot; a name that does not fit makes the hello MALFORMED, so pass GWLB_NAME_SIZE
 * bytes. name is untouched otherwise. On GWLB_TLS_NEED_MORE, *need (when not NULL) is set to
 * a stream length below which the ClientHello cannot be complete (always > len).
 */
int gwlb_tls_sni(const uint8_t *buf, size_t len, char *name, size_t name_len, size_t *need);

/* Short, stable, lower-case name of a result ("sni", "need-more"...), for logs and metrics. */
const char *gwlb_tls_strerror(int res);

/*
 * Validate the hostname buf[0..len) (letters, digits, '-' and '.'; no empty label; labels up
 * to 63 and names up to GWLB_NAME_MAX characters; one trailing dot is dropped) and copy it
 * lower-cased and NUL-terminated to name[name_len]. 0, -EINVAL (not a hostname) or
 * -ENAMETOOLONG (too long, or does not fit in name_len).
 */
int gwlb_name_copy(char *name, size_t name_len, const uint8_t *buf, size_t len);

/*
 * Does name match the allow/deny rule pattern? Case-insensitive; "*.example.com" matches any
 * name ending in ".example.com" but not example.com itself; ".example.com" matches
 * example.com and every name below it; any other pattern matches only itself.
 */
bool gwlb_name_match(const char *pattern, const char *name);

#endif
