/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

int gwlb_table_init(struct gwlb_table *t, unsigned ncols, const char *const *header)
{
	memset(t, 0, sizeof(*t));
	if (!ncols || ncols > GWLB_TABLE_COLS)
		return -EINVAL;
	t->ncols = ncols;
	return gwlb_table_add(t, header);
}

void gwlb_table_free(struct gwlb_table *t)
{
	unsigned i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cell[i]);
	free(t->cell);
	memset(t, 0, sizeof(*t));
}

int gwlb_table_add(struct gwlb_table *t, const char *const *cells)
{
	unsigned c;

	if (t->nrows == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 16;
		char **cell = reallocarray(t->cell, (size_t)cap * t->ncols, sizeof(*cell));

		if (!cell)
			return -ENOMEM;
		t->cell = cell;
		t->cap = cap;
	}
	for (c = 0; c < t->ncols; c++) {
		char *s = strdup(cells[c] ? cells[c] : "-");

		if (!s) {
			while (c--)
				free(t->cell[t->nrows * t->ncols + c]);
			return -ENOMEM;
		}
		t->cell[t->nrows * t->ncols + c] = s;
	}
	t->nrows++;
	return 0;
}

void gwlb_table_print(const struct gwlb_table *t, FILE *f, unsigned indent)
{
	size_t width[GWLB_TABLE_COLS] = { 0 };
	unsigned r, c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t n = strlen(t->cell[r * t->ncols + c]);

			if (n > width[c])
				width[c] = n;
		}
	for (r = 0; r < t->nrows; r++) {
		fprintf(f, "%*s", (int)indent, "");
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cell[r * t->ncols + c];

			if (c + 1 == t->ncols)
				fprintf(f, "%s\n", s);
			else
				fprintf(f, "%-*s  ", (int)width[c], s);
		}
	}
}

char *gwlb_fmt_duration(uint64_t s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	return buf;
}

char *gwlb_fmt_duration_ms(uint64_t ms, char *buf, size_t len)
{
	if (ms < 60000) {
		snprintf(buf, len, "%llu.%llus", (unsigned long long)(ms / 1000),
			 (unsigned long long)(ms % 1000 / 100));
		return buf;
	}
	return gwlb_fmt_duration(ms / 1000, buf, len);
}

const char *gwlb_fmt_proto(int proto, char *buf, size_t len)
{
	struct protoent *pe = getprotobynumber(proto);

	if (proto == 58)
		snprintf(buf, len, "icmpv6");
	else if (pe)
		snprintf(buf, len, "%s", pe->p_name);
	else
		snprintf(buf, len, "%d", proto);
	return buf;
}

const char *gwlb_fmt_endpoint(int family, int proto, const char *addr, int port, char *buf,
			      size_t len)
{
	bool ports = proto == 6 || proto == 17 || proto == 132 || proto == 136;

	if (!ports)
		snprintf(buf, len, "%s", addr);
	else if (family == 6)
		snprintf(buf, len, "[%s]:%d", addr, port);
	else
		snprintf(buf, len, "%s:%d", addr, port);
	return buf;
}
