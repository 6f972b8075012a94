/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Health check settings: the services file's keys, defaults and limits (hccfg.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hccfg.h"

static const char *const type_names[] = {
	[GWLB_HC_NONE] = "none",
	[GWLB_HC_TCP] = "tcp",
	[GWLB_HC_HTTP] = "http",
};

const char *gwlb_hccfg_type_str(enum gwlb_hc_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "?";
	return type_names[t];
}

void gwlb_hccfg_init(struct gwlb_hc_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->type = GWLB_HC_NONE;
	strcpy(c->path, "/");
	c->expect_status = GWLB_HC_DEF_STATUS;
}

static int hc_err(struct gwlb_hccfg_err *err, const char *file, unsigned line,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int hc_err(struct gwlb_hccfg_err *err, const char *file, unsigned line,
		  const char *fmt, ...)
{
	va_list ap;

	snprintf(err->file, sizeof(err->file), "%s", file ? file : "<string>");
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A decimal number, all of s but an optional suffix in *rest. */
static int parse_num(const char *s, unsigned long long max, unsigned long long *out,
		     const char **rest)
{
	unsigned long long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return -ERANGE;
	}
	*out = v;
	*rest = p;
	return 0;
}

static int parse_ms(const char *s, unsigned long long *ms)
{
	const char *rest;
	unsigned long long v;
	int ret;

	ret = parse_num(s, 1ULL << 40, &v, &rest);
	if (ret < 0)
		return ret;
	if (!*rest || !strcmp(rest, "ms"))
		*ms = v;
	else if (!strcmp(rest, "s"))
		*ms = v * 1000;
	else
		return -EINVAL;
	return 0;
}

/* Printable ASCII without spaces: nothing that could end a request line or a header. */
static bool token_ok(const char *s)
{
	for (; *s; s++) {
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
	}
	return true;
}

static int set_duration(unsigned *field, const char *key, const char *val, unsigned min,
			unsigned max, const char *file, unsigned line, struct gwlb_hccfg_err *err)
{
	unsigned long long ms;
	int ret;

	ret = parse_ms(val, &ms);
	if (ret == -EINVAL)
		return hc_err(err, file, line,
			      "bad duration '%.64s' for '%s': a number with ms or s (2s, 500ms)",
			      val, key);
	if (ret < 0 || ms < min || ms > max)
		return hc_err(err, file, line, "'%s' out of range: %.64s (%ums..%us)", key, val,
			      min, max / 1000);
	*field = (unsigned)ms;
	return 0;
}

static int set_count(unsigned *field, const char *key, const char *val, const char *file,
		     unsigned line, struct gwlb_hccfg_err *err)
{
	unsigned long long v;
	const char *rest;
	int ret;

	ret = parse_num(val, GWLB_HC_MAX_RUN, &v, &rest);
	if (ret == -EINVAL || (!ret && *rest))
		return hc_err(err, file, line, "bad number '%.64s' for '%s'", val, key);
	if (ret < 0 || v < 1)
		return hc_err(err, file, line, "'%s' out of range: %.64s (1..%d)", key, val,
			      GWLB_HC_MAX_RUN);
	*field = (unsigned)v;
	return 0;
}

static int set_source(struct gwlb_hc_cfg *c, const char *val, const char *file, unsigned line,
		      struct gwlb_hccfg_err *err)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->src;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c->src;

	memset(&c->src, 0, sizeof(c->src));
	if (inet_pton(AF_INET, val, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, val, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	return hc_err(err, file, line,
		      "bad address '%.64s' for 'check-source': a numeric IPv4 or IPv6 address", val);
}

/* check-path and check-host go into a request as they are: no way to end a line early. */
static int set_token(char *field, size_t size, const char *key, const char *val,
		     const char *file, unsigned line, struct gwlb_hccfg_err *err)
{
	if (!val[0] || !token_ok(val))
		return hc_err(err, file, line,
			      "bad '%s' '%.64s': empty, or spaces or control characters in it",
			      key, val);
	if (strlen(val) >= size)
		return hc_err(err, file, line, "'%s' too long: at most %zu bytes", key, size - 1);
	strcpy(field, val);
	return 0;
}

int gwlb_hccfg_set(struct gwlb_hc_cfg *c, const char *key, const char *val, const char *file,
		   unsigned line, struct gwlb_hccfg_err *err)
{
	unsigned long long v;
	const char *rest;
	unsigned i;

	if (!strcmp(key, "check")) {
		for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
			if (!strcmp(val, type_names[i])) {
				c->type = i;
				return 0;
			}
		}
		return hc_err(err, file, line, "bad value '%.64s' for 'check': none, tcp or http",
			      val);
	}
	if (!strcmp(key, "check-path")) {
		if (val[0] != '/')
			return hc_err(err, file, line, "bad 'check-path' '%.64s': must start with /",
				      val);
		return set_token(c->path, sizeof(c->path), key, val, file, line, err);
	}
	if (!strcmp(key, "check-host"))
		return set_token(c->host, sizeof(c->host), key, val, file, line, err);
	if (!strcmp(key, "check-status")) {
		if (parse_num(val, 999, &v, &rest) < 0 || *rest || v < 100 || v > 599)
			return hc_err(err, file, line,
				      "bad 'check-status' '%.64s': an HTTP status, 100..599", val);
		c->expect_status = (int)v;
		return 0;
	}
	if (!strcmp(key, "check-interval"))
		return set_duration(&c->interval_ms, key, val, GWLB_HC_MIN_INTERVAL_MS,
				    GWLB_HC_MAX_INTERVAL_MS, file, line, err);
	if (!strcmp(key, "check-timeout"))
		return set_duration(&c->timeout_ms, key, val, GWLB_HC_MIN_TIMEOUT_MS,
				    GWLB_HC_MAX_INTERVAL_MS, file, line, err);
	if (!strcmp(key, "check-source"))
		return set_source(c, val, file, line, err);
	if (!strcmp(key, "rise"))
		return set_count(&c->rise, key, val, file, line, err);
	if (!strcmp(key, "fall"))
		return set_count(&c->fall, key, val, file, line, err);
	return -ENOENT;
}

int gwlb_hccfg_finish(struct gwlb_hc_cfg *c, const char *file, unsigned line,
		      struct gwlb_hccfg_err *err)
{
	if ((unsigned)c->type >= sizeof(type_names) / sizeof(type_names[0]))
		return hc_err(err, file, line, "unknown check type %d", (int)c->type);
	if (!c->interval_ms)
		c->interval_ms = GWLB_HC_DEF_INTERVAL_MS;
	if (c->interval_ms < GWLB_HC_MIN_INTERVAL_MS || c->interval_ms > GWLB_HC_MAX_INTERVAL_MS)
		return hc_err(err, file, line, "check-interval %ums out of range (%ums..%us)",
			      c->interval_ms, GWLB_HC_MIN_INTERVAL_MS,
			      GWLB_HC_MAX_INTERVAL_MS / 1000);
	if (!c->timeout_ms)
		c->timeout_ms = c->interval_ms < GWLB_HC_DEF_TIMEOUT_MS ? c->interval_ms :
			GWLB_HC_DEF_TIMEOUT_MS;
	/* A check still running when the next is due would overlap it or skew the cadence. */
	if (c->timeout_ms < GWLB_HC_MIN_TIMEOUT_MS || c->timeout_ms > c->interval_ms)
		return hc_err(err, file, line,
			      "check-timeout %ums must lie in %ums..check-interval (%ums)",
			      c->timeout_ms, GWLB_HC_MIN_TIMEOUT_MS, c->interval_ms);
	if (!c->rise)
		c->rise = GWLB_HC_DEF_RISE;
	if (!c->fall)
		c->fall = GWLB_HC_DEF_FALL;
	if (c->rise > GWLB_HC_MAX_RUN || c->fall > GWLB_HC_MAX_RUN)
		return hc_err(err, file, line, "rise and fall must lie in 1..%d", GWLB_HC_MAX_RUN);
	if (!c->path[0])
		strcpy(c->path, "/");
	if (!c->expect_status)
		c->expect_status = GWLB_HC_DEF_STATUS;
	if (c->type != GWLB_HC_HTTP &&
	    (strcmp(c->path, "/") || c->host[0] || c->expect_status != GWLB_HC_DEF_STATUS))
		return hc_err(err, file, line,
			      "check-path, check-host and check-status need check = http (it is %s)",
			      gwlb_hccfg_type_str(c->type));
	if (c->path[0] != '/' || !token_ok(c->path) || !token_ok(c->host))
		return hc_err(err, file, line, "check-path or check-host holds spaces or "
			      "control characters");
	if (c->expect_status < 100 || c->expect_status > 599)
		return hc_err(err, file, line, "check-status %d is not an HTTP status (100..599)",
			      c->expect_status);
	if (c->src.ss_family && c->addr.ss_family && c->src.ss_family != c->addr.ss_family)
		return hc_err(err, file, line, "check-source is IPv%c, the backend IPv%c",
			      c->src.ss_family == AF_INET ? '4' : '6',
			      c->addr.ss_family == AF_INET ? '4' : '6');
	return 0;
}

/* Address, port and (IPv6) scope; family 0 (no address) equals only itself. */
static bool sa_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port && a6->sin6_scope_id == b6->sin6_scope_id &&
		       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
	return true;
}

bool gwlb_hccfg_same(const struct gwlb_hc_cfg *a, const struct gwlb_hc_cfg *b)
{
	return a->type == b->type && sa_same(&a->addr, &b->addr) && sa_same(&a->src, &b->src) &&
	       !strcmp(a->path, b->path) && !strcmp(a->host, b->host) &&
	       a->expect_status == b->expect_status && a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms && a->rise == b->rise && a->fall == b->fall;
}
