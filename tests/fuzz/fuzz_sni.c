/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for the parsers the sni module runs on what any client sends: the TLS
 * ClientHello SNI parser and the HTTP Host parser, each on the input as a stream start, and
 * the ClientHello parser again on the input as a ClientHello body, in one record and in two.
 * Besides sanitizer findings it aborts when a parser breaks its own promises: a name that
 * is no valid name, a prefix answered differently from the whole, a wrong "need".
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/lib tests/fuzz/fuzz_sni.c \
 *	src/lib/tls.c src/lib/http.c -o fuzz_sni && ./fuzz_sni tests/fuzz/corpus_sni
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *name, bool ipv6_ok)
{
	char again[GWLB_NAME_SIZE];
	size_t n = strlen(name), i;

	if (n == 0 || n > GWLB_NAME_MAX)
		abort();
	if (ipv6_ok && strchr(name, ':')) {
		for (i = 0; i < n; i++)
			if (!strchr("0123456789abcdef:.", name[i]))
				abort();
		return;
	}
	/* a valid name is its own normal form, and matches the rules naming it */
	if (gwlb_name_copy(again, sizeof(again), (const uint8_t *)name, n) || strcmp(again, name))
		abort();
	if (!gwlb_name_match(name, name))
		abort();
	if (n < GWLB_NAME_MAX) {
		char dot[GWLB_NAME_SIZE + 1] = ".";

		strcat(dot, name);
		if (!gwlb_name_match(dot, name))
			abort();
	}
}

static void fuzz_tls(const uint8_t *data, size_t size)
{
	char name[GWLB_NAME_SIZE], name2[GWLB_NAME_SIZE];
	size_t need = 0, need2 = 0, k;
	int res, res2;

	res = gwlb_tls_sni(data, size, name, sizeof(name), &need);
	if (res < 0 || res >= GWLB_TLS__MAX)
		abort();
	if (res == GWLB_TLS_SNI)
		check_name(name, false);
	if (res == GWLB_TLS_NEED_MORE && need <= size)
		abort();
	if (!size)
		return;

	/* a prefix says NEED_MORE or what the whole says; below need, never a result */
	k = data[size - 1] % size;
	res2 = gwlb_tls_sni(data, k, name2, sizeof(name2), &need2);
	if (res2 != GWLB_TLS_NEED_MORE && res2 != res)
		abort();
	if (res2 == GWLB_TLS_SNI && strcmp(name, name2))
		abort();
	if (res2 == GWLB_TLS_NEED_MORE && need2 > size &&
	    (res == GWLB_TLS_SNI || res == GWLB_TLS_NO_SNI))
		abort();
}

static void fuzz_http(const uint8_t *data, size_t size)
{
	char host[GWLB_NAME_SIZE], host2[GWLB_NAME_SIZE];
	int res, res2;

	res = gwlb_http_host(data, size, host, sizeof(host));
	if (res < 0 || res >= GWLB_HTTP__MAX)
		abort();
	if (res == GWLB_HTTP_HOST)
		check_name(host, true);
	if (!size)
		return;
	res2 = gwlb_http_host(data, data[0] % size, host2, sizeof(host2));
	if (res2 != GWLB_HTTP_NEED_MORE && res2 != res)
		abort();
	if (res2 == GWLB_HTTP_HOST && strcmp(host, host2))
		abort();
}

/* The input as a ClientHello body: the same answer in one record and split in two. */
static void fuzz_hello(const uint8_t *data, size_t size)
{
	static uint8_t one[5 + 4 + GWLB_TLS_HELLO_MAX], two[sizeof(one) + 5];
	char name[GWLB_NAME_SIZE], name2[GWLB_NAME_SIZE];
	size_t hs = 4 + size, cut;
	int res, res2;

	if (size == 0 || hs > 16384)
		return;
	one[0] = 22;
	one[1] = 3;
	one[2] = 1;
	one[3] = hs >> 8;
	one[4] = hs & 0xff;
	one[5] = 1;
	one[6] = 0;
	one[7] = size >> 8;
	one[8] = size & 0xff;
	memcpy(one + 9, data, size);
	res = gwlb_tls_sni(one, 5 + hs, name, sizeof(name), NULL);
	if (res == GWLB_TLS_NEED_MORE || res == GWLB_TLS_NOT_TLS)
		abort();
	if (res == GWLB_TLS_SNI)
		check_name(name, false);

	cut = 1 + data[0] % (hs - 1);
	memcpy(two, one, 5 + cut);
	two[3] = cut >> 8;
	two[4] = cut & 0xff;
	memcpy(two + 5 + cut, one, 5);
	two[5 + cut + 3] = (hs - cut) >> 8;
	two[5 + cut + 4] = (hs - cut) & 0xff;
	memcpy(two + 10 + cut, one + 5 + cut, hs - cut);
	res2 = gwlb_tls_sni(two, 10 + hs, name2, sizeof(name2), NULL);
	if (res2 != res || (res == GWLB_TLS_SNI && strcmp(name, name2)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_tls(data, size);
	fuzz_http(data, size);
	fuzz_hello(data, size);
	return 0;
}
