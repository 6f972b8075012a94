/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctflush.h"
#include "eniname.h"
#include "lb.h"
#include "leftover.h"
#include "log.h"
#include "nft.h"
#include "route.h"

/* Abstract: scoped to the network namespace, gone with the last fd. */
#define CLAIM_NAME	"gwlbnf/gwlbd"
#define ENI_TABLE_PFX	"gwlbnf-eni-"
#define TABLES_MAX	64

static struct {
	int claim_fd;
	unsigned tables, rules, routes, errors;
	int conntrack;
} L = { .claim_fd = -1 };

int gwlb_leftover_claim(char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(CLAIM_NAME);
	struct ucred cred = { 0 };
	socklen_t clen = sizeof(cred);
	int fd, ret;

	memcpy(sun.sun_path + 1, CLAIM_NAME, strlen(CLAIM_NAME));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, len) == 0 && listen(fd, 1) == 0) {
		L.claim_fd = fd;
		return 0;
	}
	if (errno != EADDRINUSE)
		goto fail;
	close(fd);
	/* Who holds it, for the message: the peer of a connection to it. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, len) == 0)
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
	if (fd >= 0)
		close(fd);
	if (cred.pid)
		snprintf(err, errlen, "another gwlbd (pid %d) is running in this network namespace; "
			 "its nft tables, rules and routes have the same names: stop it first",
			 (int)cred.pid);
	else
		snprintf(err, errlen, "another gwlbd is running in this network namespace; "
			 "its nft tables, rules and routes have the same names: stop it first");
	return -EADDRINUSE;
fail:
	ret = -errno;
	snprintf(err, errlen, "cannot claim the network namespace (abstract socket @%s): %s",
		 CLAIM_NAME, strerror(-ret));
	if (fd >= 0)
		close(fd);
	return ret;
}

/* One of gwlbd's table names: its own three, or an ENI's with a well-formed ENI name. */
static bool table_ours(const char *name)
{
	char ifname[32], again[32];
	uint64_t id;

	if (!strcmp(name, GWLB_NFT_TABLE) || !strcmp(name, GWLB_NFT_NET_TABLE) ||
	    !strcmp(name, GWLB_LB_TABLE))
		return true;
	if (strncmp(name, ENI_TABLE_PFX, strlen(ENI_TABLE_PFX)) ||
	    strlen(name + strlen(ENI_TABLE_PFX)) > sizeof(ifname) - 5)
		return false;
	snprintf(ifname, sizeof(ifname), "gwi-%.27s", name + strlen(ENI_TABLE_PFX));
	return gwlb_eni_parse(ifname, &id) == 0 &&
	       gwlb_eni_ifname("gwi-", id, again, sizeof(again)) >= 0 && !strcmp(again, ifname);
}

/* Delete gwlbd's inet tables in one transaction; names (", table inet X") go to what. */
static int tables_clean(char *what, size_t wlen, char *err, size_t errlen)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	char *cmd = NULL, *nc, *line, *save = NULL, *out;
	unsigned n = 0;
	size_t wl;
	int ret = 0;

	if (!nft) {
		snprintf(err, errlen, "nft tables: cannot set up libnftables");
		return -ENOMEM;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (nft_run_cmd_from_buffer(nft, "list tables inet") != 0) {
		snprintf(err, errlen, "cannot list nft tables: %s", nft_ctx_get_error_buffer(nft));
		ret = -EIO;
		goto cleanup;
	}
	out = strdup(nft_ctx_get_output_buffer(nft));
	for (line = out ? strtok_r(out, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		char name[256];

		if (sscanf(line, "table inet %255s", name) != 1 || !table_ours(name))
			continue;
		if (asprintf(&nc, "%sdelete table inet %s\n", cmd ? cmd : "", name) < 0) {
			ret = -ENOMEM;
			break;
		}
		free(cmd);
		cmd = nc;
		wl = strlen(what);
		if (n < 3)
			snprintf(what + wl, wlen - wl, ", table inet %s", name);
		n++;
	}
	free(out);
	if (n > 3) {
		wl = strlen(what);
		snprintf(what + wl, wlen - wl, " and %u more table%s", n - 3,
			 n - 3 == 1 ? "" : "s");
	}
	if (!ret && cmd && nft_run_cmd_from_buffer(nft, cmd) != 0) {
		snprintf(err, errlen, "cannot delete nft tables: %s", nft_ctx_get_error_buffer(nft));
		ret = -EIO;
	}
	if (!ret)
		L.tables = n;
cleanup:
	free(cmd);
	nft_ctx_free(nft);
	return ret;
}

static const struct gwlb_leftover_cfg *ct_cfg;

/* At start an index the state file keeps is an ENI that may come back: its flows stay. */
static bool ct_orphan(uint16_t idx, void *arg)
{
	bool start = *(const bool *)arg;

	if (idx > ct_cfg->max_eni)
		return false;
	return !start || !ct_cfg->kept || !ct_cfg->kept(idx);
}

static int ct_clean(const struct gwlb_leftover_cfg *cfg, bool start, char *err, size_t errlen)
{
	ct_cfg = cfg;
	return gwlb_ctflush_match(ct_orphan, &start, err, errlen);
}

int gwlb_leftover_clean(const struct gwlb_leftover_cfg *cfg)
{
	struct gwlb_route_range r = {
		.prio_base = cfg->prio_base, .table_base = cfg->table_base, .max = cfg->max_eni,
	};
	char what[512] = "", err[512];
	size_t wl;
	int ret;

	if (tables_clean(what, sizeof(what), err, sizeof(err)) < 0) {
		log_crit(GWLB_LS_CORE, "leftovers of a previous gwlbd: %s", err);
		L.errors++;
	}
	if (gwlb_route_leftovers_del(&r, &L.rules, &L.routes, err, sizeof(err)) < 0) {
		log_crit(GWLB_LS_CORE, "leftovers of a previous gwlbd: %s", err);
		L.errors++;
	}
	ret = ct_clean(cfg, true, err, sizeof(err));
	if (ret < 0) {
		log_imp(GWLB_LS_CORE, "leftovers of a previous gwlbd: conntrack: %s", err);
		L.errors++;
	} else {
		L.conntrack = ret;
	}
	if (!L.tables && !L.rules && !L.routes && L.conntrack <= 0)
		return 0;
	wl = strlen(what);
	snprintf(what + wl, sizeof(what) - wl, ", %u rule%s, %u route%s", L.rules,
		 L.rules == 1 ? "" : "s", L.routes, L.routes == 1 ? "" : "s");
	wl = strlen(what);
	if (L.conntrack > 0)
		snprintf(what + wl, sizeof(what) - wl, ", %d conntrack entr%s (ENI indexes the "
			 "state file does not keep)", L.conntrack, L.conntrack == 1 ? "y" : "ies");
	log_imp(GWLB_LS_CORE, "removed leftovers of a previous gwlbd: %s", what + 2);
	return (int)(L.tables + L.rules + L.routes) + L.conntrack;
}

void gwlb_leftover_stop(const struct gwlb_leftover_cfg *cfg)
{
	char err[512];
	int n = ct_clean(cfg, false, err, sizeof(err));

	if (n < 0)
		log_imp(GWLB_LS_CORE, "conntrack entries of ENIs that did not come back not flushed: "
			"%s", err);
	else if (n)
		log_info(GWLB_LS_CORE, "flushed %d conntrack entr%s of ENIs kept from the last run "
			 "that did not come back", n, n == 1 ? "y" : "ies");
}

json_t *gwlb_leftover_json(void)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:i}", "tables", (int)L.tables, "rules",
			 (int)L.rules, "routes", (int)L.routes, "conntrack",
			 L.conntrack > 0 ? L.conntrack : 0, "errors", (int)L.errors);
}
