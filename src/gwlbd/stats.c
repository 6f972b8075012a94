/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctrestore.h"
#include "eni.h"
#include "eniidx.h"
#include "gwlbd.h"
#include "lb.h"
#include "lbcheck.h"
#include "leftover.h"
#include "log.h"
#include "policyproc.h"
#include "stats.h"

static const char *const drop_names[GWLB_DROP__MAX] = {
	[GWLB_DROP_ORIGIN] = "origin",
	[GWLB_DROP_GENEVE + GWLB_GENEVE_ESHORT - 1] = "geneve_short",
	[GWLB_DROP_GENEVE + GWLB_GENEVE_EVERSION - 1] = "geneve_version",
	[GWLB_DROP_GENEVE + GWLB_GENEVE_EOAM - 1] = "geneve_oam",
	[GWLB_DROP_GENEVE + GWLB_GENEVE_EPROTO - 1] = "geneve_proto",
	[GWLB_DROP_GENEVE + GWLB_GENEVE_EOPTAREA - 1] = "geneve_optarea",
	[GWLB_DROP_GENEVE + GWLB_GENEVE_EOPTLEN - 1] = "geneve_optlen",
	[GWLB_DROP_GENEVE + GWLB_GENEVE_ENOENI - 1] = "geneve_no_eni",
	[GWLB_DROP_GENEVE + GWLB_GENEVE_ENOATTACH - 1] = "geneve_no_attach",
	[GWLB_DROP_GENEVE + GWLB_GENEVE_ENOCOOKIE - 1] = "geneve_no_cookie",
	[GWLB_DROP_GENEVE + GWLB_GENEVE_ENOINNER - 1] = "geneve_no_inner",
	[GWLB_DROP_INNER_MALFORMED] = "inner_malformed",
	[GWLB_DROP_HDR_TOO_LONG] = "hdr_too_long",
	[GWLB_DROP_HOLD_OVERFLOW] = "hold_overflow",
	[GWLB_DROP_MAX_ENI] = "max_eni",
	[GWLB_DROP_TUN_WRITE] = "tun_write",
	[GWLB_DROP_NO_FLOW] = "no_flow",
	[GWLB_DROP_FRAG_NO_FIRST] = "frag_no_first",
	[GWLB_DROP_TOO_BIG] = "too_big",
	[GWLB_DROP_SEND_ERROR] = "send_error",
	[GWLB_DROP_ENI_GONE] = "eni_gone",
	[GWLB_DROP_RECEIVE_ONLY] = "receive_only",
};

const char *gwlb_drop_name(enum gwlb_drop d)
{
	return d < GWLB_DROP__MAX && drop_names[d] ? drop_names[d] : "unknown";
}

int gwlb_stats_udp_snmp(uint64_t *rcvbuf_errors, uint64_t *in_errors)
{
	char names[512], vals[512], *ns, *vs, *n, *v;
	int found = 0;
	FILE *f;

	*rcvbuf_errors = *in_errors = 0;
	f = fopen("/proc/net/snmp", "re");
	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f)) {
		if (strncmp(names, "Udp: ", 5))
			continue;
		if (!fgets(vals, sizeof(vals), f))
			break;
		n = strtok_r(names + 5, " \n", &ns);
		v = strtok_r(vals + 5, " \n", &vs);
		while (n && v) {
			if (!strcmp(n, "RcvbufErrors"))
				*rcvbuf_errors = strtoull(v, NULL, 10), found++;
			else if (!strcmp(n, "InErrors"))
				*in_errors = strtoull(v, NULL, 10), found++;
			n = strtok_r(NULL, " \n", &ns);
			v = strtok_r(NULL, " \n", &vs);
		}
		break;
	}
	fclose(f);
	return found == 2 ? 0 : -1;
}

/* A worker that has not beaten for this long is stuck (it wakes every 100 ms). */
#define HEARTBEAT_STALE_MS 2000

bool gwlbd_healthy(char *why, size_t len)
{
	uint64_t now = gwlbd_now_ms();
	unsigned i;

	for (i = 0; i < gwlbd.n_udp; i++) {
		struct udp_worker *w = &gwlbd.udp[i];

		if (!atomic_load(&w->alive)) {
			snprintf(why, len, "UDP worker %u is dead: its share of GENEVE traffic is lost", i);
			return false;
		}
		if (now - atomic_load(&w->heartbeat_ms) > HEARTBEAT_STALE_MS) {
			snprintf(why, len, "UDP worker %u is stuck", i);
			return false;
		}
	}
	for (i = 0; i < gwlbd.n_tun; i++) {
		struct tun_worker *w = &gwlbd.tun[i];

		if (!atomic_load(&w->alive)) {
			snprintf(why, len, "tun worker %u is dead: replies on its queues are lost", i);
			return false;
		}
		if (now - atomic_load(&w->heartbeat_ms) > HEARTBEAT_STALE_MS) {
			snprintf(why, len, "tun worker %u is stuck", i);
			return false;
		}
	}
	if (!gwlb_policyproc_healthy(why, len))
		return false;
	if (why && len)
		why[0] = '\0';
	return true;
}

/* Drop counters by reason, summed over several threads' (or one ENI's) arrays. */
static json_t *drops_json(const gwlb_ctr_t *const *sets, unsigned nsets)
{
	json_t *o = json_object();
	unsigned d, s;

	for (d = 0; d < GWLB_DROP__MAX; d++) {
		uint64_t sum = 0;

		for (s = 0; s < nsets; s++)
			sum += gwlb_ctr_get(&sets[s][d]);
		json_object_set_new(o, gwlb_drop_name(d), json_integer(sum));
	}
	return o;
}

/* What gwlbd added for the ENI's mode, in ip(8)'s words. */
static json_t *routing_json(const struct gwlb_route_set *set)
{
	json_t *a = json_array();
	char buf[128];
	unsigned i;

	for (i = 0; a && i < set->n; i++) {
		gwlb_route_obj_snprintf(&set->obj[i], buf, sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	return a ? a : json_null();
}

static void eni_json(struct eni *e, void *arg)
{
	json_t *arr = arg, *o;
	const gwlb_ctr_t *set = e->drops;
	uint64_t flows = 0, evictions = 0;
	char eni[32];
	const char *state;

	switch (atomic_load(&e->state)) {
	case ENI_READY:
		state = "ready";
		break;
	case ENI_CREATING:
		state = "creating";
		break;
	default:
		state = "destroying";
	}
	if (gwlbd.ft)
		gwlb_flowtab_eni_stats(gwlbd.ft, e->idx, &flows, &evictions);
	snprintf(eni, sizeof(eni), "eni-%s", e->id_hex);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:I, s:I, s:I, s:I, "
		      "s:{s:I, s:I}, s:{s:I, s:I}, s:o, s:I, s:I}",
		      "eni", eni, "eniStr", eni, "id", e->id_hex, "gwi", e->gwi,
		      "gwo", e->gwo_fd ? e->gwo : "", "state", state,
		      "index", (int)e->index, "mark", (json_int_t)gwlb_eniidx_mark(e->index),
		      "zone", (int)gwlb_eniidx_zone(e->index),
		      "route_table",
		      (json_int_t)gwlb_eniidx_table(gwlbd.opts.route_table_base, e->index),
		      "rule_priority",
		      (json_int_t)gwlb_eniidx_priority(gwlbd.opts.rule_prio_base, e->index),
		      "age_s", (json_int_t)((gwlbd_now_ms() - e->created_ms) / 1000),
		      "idle_s", (json_int_t)(gwlbd_now() - atomic_load(&e->last_active)),
		      "tunnelIn", "packets", (json_int_t)gwlb_ctr_get(&e->rx_pkts),
		      "bytes", (json_int_t)gwlb_ctr_get(&e->rx_bytes),
		      "tunnelOut", "packets", (json_int_t)gwlb_ctr_get(&e->tx_pkts),
		      "bytes", (json_int_t)gwlb_ctr_get(&e->tx_bytes),
		      "drops", drops_json(&set, 1),
		      "flows", (json_int_t)flows, "flow_evictions", (json_int_t)evictions);
	if (o)
		json_object_set_new(o, "nat_restored",
				    json_integer((json_int_t)gwlb_ctr_get(&e->nat_restored)));
	if (o)
		json_object_set_new(o, "mode", json_string(gwlb_mode_name(e->mode)));
	if (o)
		json_object_set_new(o, "routing", routing_json(&e->routes));
	if (o)
		json_array_append_new(arr, o);
}

/* --uplink as given; [] = nat mode masquerades out of any interface but gwo-* */
static json_t *uplinks_json(void)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; a && i < gwlbd.opts.n_uplinks; i++)
		json_array_append_new(a, json_string(gwlbd.opts.uplinks[i]));
	return a;
}

json_t *gwlbd_status_json(void)
{
	json_t *root, *udp_w, *tun_w, *enis, *ft = json_null();
	const gwlb_ctr_t *sets[1 + 2 * GWLB_MAX_THREADS];
	uint64_t now = gwlbd_now_ms(), rcvbuf = 0, inerr = 0;
	char why[160];
	unsigned i, ns = 0;
	bool healthy;

	healthy = gwlbd_healthy(why, sizeof(why));
	gwlb_stats_udp_snmp(&rcvbuf, &inerr);

	udp_w = json_array();
	sets[ns++] = gwlbd.drops;
	for (i = 0; i < gwlbd.n_udp; i++) {
		struct udp_worker *w = &gwlbd.udp[i];

		sets[ns++] = w->drops;
		json_array_append_new(udp_w, json_pack("{s:i, s:b, s:i, s:I, s:I, s:I}",
			"id", (int)i, "alive", atomic_load(&w->alive), "cpu", w->cpu,
			"rx_packets", (json_int_t)gwlb_ctr_get(&w->rx_pkts),
			"rx_bytes", (json_int_t)gwlb_ctr_get(&w->rx_bytes),
			"heartbeat_age_ms", (json_int_t)(now - atomic_load(&w->heartbeat_ms))));
	}
	tun_w = json_array();
	for (i = 0; i < gwlbd.n_tun; i++) {
		struct tun_worker *w = &gwlbd.tun[i];

		sets[ns++] = w->drops;
		json_array_append_new(tun_w, json_pack("{s:i, s:b, s:i, s:I, s:I, s:I}",
			"id", (int)i, "alive", atomic_load(&w->alive), "cpu", w->cpu,
			"tx_packets", (json_int_t)gwlb_ctr_get(&w->tx_pkts),
			"tx_bytes", (json_int_t)gwlb_ctr_get(&w->tx_bytes),
			"heartbeat_age_ms", (json_int_t)(now - atomic_load(&w->heartbeat_ms))));
	}
	if (gwlbd.ft) {
		struct gwlb_flowtab_stats st;

		gwlb_flowtab_stats(gwlbd.ft, &st);
		ft = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}}",
			"entries", (json_int_t)st.entries, "capacity", (json_int_t)st.capacity,
			"inserts", (json_int_t)st.inserts, "updates", (json_int_t)st.updates,
			"evictions", (json_int_t)st.evictions, "expired", (json_int_t)st.expired,
			"bytes", (json_int_t)st.bytes,
			"entry_bytes", (json_int_t)gwlb_flowtab_entry_size(),
			"timeouts",
			"tcp", (json_int_t)gwlb_flowtab_timeout(gwlbd.ft, GWLB_FLOW_TCP),
			"udp", (json_int_t)gwlb_flowtab_timeout(gwlbd.ft, GWLB_FLOW_UDP),
			"icmp", (json_int_t)gwlb_flowtab_timeout(gwlbd.ft, GWLB_FLOW_ICMP),
			"other", (json_int_t)gwlb_flowtab_timeout(gwlbd.ft, GWLB_FLOW_OTHER));
	}
	enis = json_array();
	gwlb_eni_foreach(eni_json, enis);

	root = json_pack("{s:b, s:s, s:s, s:I, s:b, s:{s:i, s:I, s:I, s:o}, s:{s:o}, s:o, s:o, s:{s:I, s:I}, s:I, s:o}",
		"healthy", healthy, "reason", healthy ? "" : why, "version", PACKAGE_VERSION,
		"uptime_s", (json_int_t)((now - gwlbd.start_ms) / 1000),
		"receive_only", gwlbd.opts.receive_only,
		"udp", "port", (int)gwlbd.opts.geneve_port, "rcvbuf_errors", (json_int_t)rcvbuf,
		"in_errors", (json_int_t)inerr, "workers", udp_w,
		"tun", "workers", tun_w,
		"drops", drops_json(sets, ns),
		"flowtab", ft,
		"hold", "held", (json_int_t)gwlb_eni_held_now(),
		"overflow", (json_int_t)gwlb_eni_hold_overflow(),
		"hook_failures", (json_int_t)gwlb_ctr_get(&gwlbd.hook_failures),
		"enis", enis);
	if (!root)
		return NULL;
	json_object_set_new(root, "policy", gwlb_policyproc_json());
	json_object_set_new(root, "uplinks", uplinks_json());
	json_object_set_new(root, "leftovers_removed", gwlb_leftover_json());
	json_object_set_new(root, "services", gwlb_lbcheck_json());
	if (gwlbd.ft) {
		struct gwlb_ctrestore_stats cs;

		gwlb_ctrestore_stats(&cs);
		json_object_set_new(root, "nat_restore", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
			"restored", (json_int_t)cs.restored, "lookups", (json_int_t)cs.lookups,
			"no_entry", (json_int_t)cs.no_entry, "no_flow", (json_int_t)cs.no_flow,
			"skipped", (json_int_t)cs.skipped, "busy", (json_int_t)cs.busy));
	}
	return root;
}
