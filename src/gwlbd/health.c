/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Health and metrics over HTTP. Every page is rendered from gwlbd_status_json(), so the
 * text page, the JSON and the Prometheus metrics can never disagree about a number; the
 * status code comes from gwlbd_healthy(), which also overrides the JSON's own verdict so
 * a page never says "healthy" under a 503.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "gwlbd.h"
#include "health.h"

#if MHD_VERSION >= 0x00097002
#define MHD_RESULT enum MHD_Result
#else
#define MHD_RESULT int
#endif

#define CT_TEXT		"text/plain; charset=utf-8"
#define CT_JSON		"application/json"
#define CT_METRICS	"text/plain; version=0.0.4; charset=utf-8"

/* A monitoring endpoint: a few concurrent scrapers, and no slow client may hold a slot long. */
#define HEALTH_MAX_CONN		32
#define HEALTH_CONN_TIMEOUT	10
#define HEALTH_BACKLOG		16

static struct MHD_Daemon *health_daemon;
static bool health_json;
static bool health_simple;

struct page {
	unsigned status;
	const char *ctype;
	char *body;		/* malloc'd, handed to MHD */
	size_t len;
};

/* ---- Prometheus text format 0.0.4 ---- */

enum prom_kind {
	PROM_SCALAR,		/* number at path */
	PROM_COUNT,		/* size of the array at path */
	PROM_WORKER,		/* field of each item of the array at path, label worker=<id> */
	PROM_KEYED,		/* every member of the object at path, label <label>=<key> */
	PROM_ENI,		/* field of each ENI, labels eni, gwi */
	PROM_ENI_KEYED,		/* every member of an object of each ENI, labels eni, gwi, <label> */
	PROM_SERVICE,		/* field of each balanced service, label service */
	PROM_BACKEND,		/* field of each backend of each service, labels service, backend */
};

struct prom_metric {
	const char *name;
	const char *type;
	enum prom_kind kind;
	const char *path;
	const char *field;
	const char *label;
	const char *help;
};

static const struct prom_metric prom_metrics[] = {
	{ "gwlbd_healthy", "gauge", PROM_SCALAR, "healthy", NULL, NULL,
	  "1 when gwlbd is healthy, 0 when not." },
	{ "gwlbd_uptime_seconds", "gauge", PROM_SCALAR, "uptime_s", NULL, NULL,
	  "Seconds since gwlbd started." },
	{ "gwlbd_udp_worker_rx_packets_total", "counter", PROM_WORKER, "udp.workers",
	  "rx_packets", NULL, "GENEVE packets received by a UDP worker." },
	{ "gwlbd_udp_worker_rx_bytes_total", "counter", PROM_WORKER, "udp.workers",
	  "rx_bytes", NULL, "GENEVE bytes received by a UDP worker." },
	{ "gwlbd_udp_worker_alive", "gauge", PROM_WORKER, "udp.workers", "alive", NULL,
	  "1 when a UDP worker's heartbeat is recent." },
	{ "gwlbd_tun_worker_tx_packets_total", "counter", PROM_WORKER, "tun.workers",
	  "tx_packets", NULL, "Packets a tun worker sent back to GWLB." },
	{ "gwlbd_tun_worker_tx_bytes_total", "counter", PROM_WORKER, "tun.workers",
	  "tx_bytes", NULL, "Bytes a tun worker sent back to GWLB." },
	{ "gwlbd_tun_worker_alive", "gauge", PROM_WORKER, "tun.workers", "alive", NULL,
	  "1 when a tun worker's heartbeat is recent." },
	{ "gwlbd_udp_rcvbuf_errors_total", "counter", PROM_SCALAR, "udp.rcvbuf_errors", NULL,
	  NULL, "UDP datagrams the kernel dropped for a full receive buffer (RcvbufErrors)." },
	{ "gwlbd_udp_in_errors_total", "counter", PROM_SCALAR, "udp.in_errors", NULL, NULL,
	  "UDP datagrams the kernel failed to deliver (InErrors)." },
	{ "gwlbd_drops_total", "counter", PROM_KEYED, "drops", NULL, "reason",
	  "Packets gwlbd dropped, by reason." },
	{ "gwlbd_flowtab_entries", "gauge", PROM_SCALAR, "flowtab.entries", NULL, NULL,
	  "Live flow table entries." },
	{ "gwlbd_flowtab_capacity", "gauge", PROM_SCALAR, "flowtab.capacity", NULL, NULL,
	  "Flow table capacity in entries." },
	{ "gwlbd_flowtab_evictions_total", "counter", PROM_SCALAR, "flowtab.evictions", NULL,
	  NULL, "Live flows pushed out of the full flow table." },
	{ "gwlbd_flowtab_expired_total", "counter", PROM_SCALAR, "flowtab.expired", NULL, NULL,
	  "Idle flows removed from the flow table." },
	{ "gwlbd_flowtab_bytes", "gauge", PROM_SCALAR, "flowtab.bytes", NULL, NULL,
	  "Memory held by the flow table in bytes." },
	{ "gwlbd_hold_packets", "gauge", PROM_SCALAR, "hold.held", NULL, NULL,
	  "Packets held for ENIs whose create hook is running." },
	{ "gwlbd_hold_overflow_total", "counter", PROM_SCALAR, "hold.overflow", NULL, NULL,
	  "Packets dropped because the hold queue was full." },
	{ "gwlbd_enis", "gauge", PROM_COUNT, "enis", NULL, NULL,
	  "GWLB endpoints (ENIs) with interfaces." },
	{ "gwlbd_eni_rx_packets_total", "counter", PROM_ENI, "enis", "tunnelIn.packets", NULL,
	  "Packets received from GWLB for an ENI." },
	{ "gwlbd_eni_rx_bytes_total", "counter", PROM_ENI, "enis", "tunnelIn.bytes", NULL,
	  "Bytes received from GWLB for an ENI." },
	{ "gwlbd_eni_tx_packets_total", "counter", PROM_ENI, "enis", "tunnelOut.packets", NULL,
	  "Packets sent back to GWLB for an ENI." },
	{ "gwlbd_eni_tx_bytes_total", "counter", PROM_ENI, "enis", "tunnelOut.bytes", NULL,
	  "Bytes sent back to GWLB for an ENI." },
	{ "gwlbd_eni_drops_total", "counter", PROM_ENI_KEYED, "enis", "drops", "reason",
	  "Packets of an ENI dropped, by reason." },
	{ "gwlbd_eni_flows", "gauge", PROM_ENI, "enis", "flows", NULL,
	  "Live flow table entries of an ENI." },
	{ "gwlbd_eni_flow_evictions_total", "counter", PROM_ENI, "enis", "flow_evictions", NULL,
	  "Flows of an ENI pushed out of the full flow table." },
	{ "gwlbd_eni_nat_restored_total", "counter", PROM_ENI, "enis", "nat_restored", NULL,
	  "Packets of an ENI sent with the header their flow had before NAT (via conntrack)." },
	{ "gwlbd_nat_restore_lookups_total", "counter", PROM_SCALAR, "nat_restore.lookups", NULL,
	  NULL, "Conntrack lookups for packets whose tuple was not in the flow table." },
	{ "gwlbd_nat_restore_failed_total", "counter", PROM_SCALAR, "nat_restore.no_entry", NULL,
	  NULL, "Packets dropped because conntrack had no entry for their tuple either." },
	{ "gwlbd_service_new_connections_total", "counter", PROM_SERVICE, "services.services",
	  "new", NULL, "New connections to a balanced service (its VIP and ports)." },
	{ "gwlbd_service_packets_total", "counter", PROM_SERVICE, "services.services", "packets",
	  NULL, "Packets of a service's connections entering the appliance, both directions." },
	{ "gwlbd_service_bytes_total", "counter", PROM_SERVICE, "services.services", "bytes",
	  NULL, "Bytes of a service's connections entering the appliance, both directions." },
	{ "gwlbd_service_no_backend_total", "counter", PROM_SERVICE, "services.services",
	  "no_backend", NULL, "New connections dropped: no backend took new connections." },
	{ "gwlbd_backend_new_connections_total", "counter", PROM_BACKEND, "services.services",
	  "new", NULL, "New connections DNATed to a backend." },
	{ "gwlbd_backend_packets_total", "counter", PROM_BACKEND, "services.services", "packets",
	  NULL, "Packets of a backend's connections entering the appliance, both directions." },
	{ "gwlbd_backend_bytes_total", "counter", PROM_BACKEND, "services.services", "bytes",
	  NULL, "Bytes of a backend's connections entering the appliance, both directions." },
	{ "gwlbd_backend_in_map", "gauge", PROM_BACKEND, "services.services", "in_map", NULL,
	  "1 while a backend takes new connections (it is in its service's scheduler map)." },
	{ "gwlbd_backend_healthy", "gauge", PROM_BACKEND, "services.services", "healthy", NULL,
	  "1 while a backend is healthy: its check says up, or it has no check." },
	{ "gwlbd_backend_check_failures_total", "counter", PROM_BACKEND, "services.services",
	  "check.failures", NULL, "Failed health checks of a backend (backends with a check)." },
	{ "gwlbd_policy_up", "gauge", PROM_SCALAR, "policy.up", NULL, NULL,
	  "1 while the policy host process serves the queues (with --policy)." },
	{ "gwlbd_policy_restarts_total", "counter", PROM_SCALAR, "policy.restarts", NULL, NULL,
	  "Restarts of the policy host process after it died." },
	{ "gwlbd_policy_watchdog_kills_total", "counter", PROM_SCALAR, "policy.watchdog.kills",
	  NULL, NULL, "Policy host processes killed by the watchdog because they hung." },
};

/* "a.b.c" under obj, or NULL. */
static json_t *json_path(json_t *obj, const char *path)
{
	char key[64];
	size_t n;

	while (obj && *path) {
		n = strcspn(path, ".");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		obj = json_object_get(obj, key);
		path += n;
		if (*path == '.')
			path++;
	}
	return obj;
}

static const char *json_str(json_t *obj, const char *path)
{
	const char *s = json_string_value(json_path(obj, path));

	return s ? s : "";
}

static json_int_t json_int(json_t *obj, const char *path)
{
	json_t *v = json_path(obj, path);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (json_int_t)json_real_value(v);
	return json_is_true(v) ? 1 : 0;
}

/* Label values escape backslash, double quote and newline; HELP text the first and last. */
static void prom_escape(FILE *f, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && quote)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

static void prom_label(FILE *f, bool *first, const char *name, const char *value)
{
	fputs(*first ? "{" : ",", f);
	*first = false;
	fprintf(f, "%s=\"", name);
	prom_escape(f, value, true);
	fputc('"', f);
}

/* One sample; nothing at all when v is not a number or a boolean. */
static void prom_sample(FILE *f, const char *name, const char *const *labels, json_t *v)
{
	bool first = true;
	size_t i;

	if (!json_is_number(v) && !json_is_boolean(v))
		return;
	fputs(name, f);
	for (i = 0; labels && labels[i]; i += 2)
		prom_label(f, &first, labels[i], labels[i + 1]);
	if (!first)
		fputc('}', f);
	if (json_is_integer(v))
		fprintf(f, " %" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
	else if (json_is_real(v))
		fprintf(f, " %.17g\n", json_real_value(v));
	else
		fprintf(f, " %d\n", json_is_true(v) ? 1 : 0);
}

static void prom_keyed(FILE *f, const struct prom_metric *m, json_t *obj, const char **labels,
		       size_t at)
{
	const char *key;
	json_t *v;

	labels[at] = m->label;
	labels[at + 2] = NULL;
	json_object_foreach(obj, key, v) {
		labels[at + 1] = key;
		prom_sample(f, m->name, labels, v);
	}
}

static void prom_metric(FILE *f, const struct prom_metric *m, json_t *st)
{
	const char *labels[9] = { NULL };
	json_t *base = json_path(st, m->path), *item, *count;
	char id[32];
	size_t i;

	fprintf(f, "# HELP %s ", m->name);
	prom_escape(f, m->help, false);
	fprintf(f, "\n# TYPE %s %s\n", m->name, m->type);

	switch (m->kind) {
	case PROM_SCALAR:
		prom_sample(f, m->name, NULL, base);
		break;
	case PROM_COUNT:
		count = json_integer(json_is_array(base) ? (json_int_t)json_array_size(base) : 0);
		prom_sample(f, m->name, NULL, count);
		json_decref(count);
		break;
	case PROM_WORKER:
		json_array_foreach(base, i, item) {
			snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, json_int(item, "id"));
			labels[0] = "worker";
			labels[1] = id;
			prom_sample(f, m->name, labels, json_path(item, m->field));
		}
		break;
	case PROM_KEYED:
		prom_keyed(f, m, base, labels, 0);
		break;
	case PROM_ENI:
	case PROM_ENI_KEYED:
		json_array_foreach(base, i, item) {
			labels[0] = "eni";
			labels[1] = json_str(item, "eni");
			labels[2] = "gwi";
			labels[3] = json_str(item, "gwi");
			if (m->kind == PROM_ENI)
				prom_sample(f, m->name, labels, json_path(item, m->field));
			else
				prom_keyed(f, m, json_path(item, m->field), labels, 4);
		}
		break;
	case PROM_SERVICE:
	case PROM_BACKEND:
		json_array_foreach(base, i, item) {
			json_t *b;
			size_t j;

			labels[0] = "service";
			labels[1] = json_str(item, "name");
			if (m->kind == PROM_SERVICE) {
				prom_sample(f, m->name, labels, json_path(item, m->field));
				continue;
			}
			json_array_foreach(json_object_get(item, "backends"), j, b) {
				labels[2] = "backend";
				labels[3] = json_str(b, "name");
				prom_sample(f, m->name, labels, json_path(b, m->field));
			}
		}
		break;
	}
}

static void render_metrics(FILE *f, json_t *st)
{
	size_t i;

	for (i = 0; i < sizeof(prom_metrics) / sizeof(prom_metrics[0]); i++)
		prom_metric(f, &prom_metrics[i], st);
}

/* ---- gwlbtun-like text page: one fact per line ---- */

static void render_workers(FILE *f, json_t *workers, const char *pkts, const char *bytes)
{
	json_t *w;
	size_t i;

	json_array_foreach(workers, i, w) {
		fprintf(f, "  worker %" JSON_INTEGER_FORMAT ": %s", json_int(w, "id"),
			json_is_true(json_object_get(w, "alive")) ? "alive" : "NOT RESPONDING");
		if (json_int(w, "cpu") >= 0)
			fprintf(f, " on CPU %" JSON_INTEGER_FORMAT, json_int(w, "cpu"));
		fprintf(f, ", %" JSON_INTEGER_FORMAT " packets, %" JSON_INTEGER_FORMAT
			" bytes, heartbeat %" JSON_INTEGER_FORMAT " ms ago\n",
			json_int(w, pkts), json_int(w, bytes), json_int(w, "heartbeat_age_ms"));
	}
}

static json_int_t drops_sum(json_t *drops)
{
	json_int_t sum = 0;
	const char *key;
	json_t *v;

	json_object_foreach(drops, key, v)
		sum += json_int(v, "");
	return sum;
}

static void render_text(FILE *f, json_t *st, bool ok, const char *why)
{
	json_t *udp_w = json_path(st, "udp.workers");
	json_t *tun_w = json_path(st, "tun.workers");
	json_t *enis = json_object_get(st, "enis");
	json_t *drops = json_object_get(st, "drops");
	json_t *e, *v;
	const char *key, *sep = "";
	size_t i;

	fprintf(f, "gwlbd %s: %s%s (uptime %" JSON_INTEGER_FORMAT " s)\n",
		json_str(st, "version"), ok ? "healthy" : "UNHEALTHY: ", ok ? "" : why,
		json_int(st, "uptime_s"));
	if (json_is_true(json_object_get(st, "receive_only")))
		fputs("Receive only: nothing is sent back to GWLB\n", f);
	fprintf(f, "UDP port %" JSON_INTEGER_FORMAT ": %zu workers, rcvbuf errors %"
		JSON_INTEGER_FORMAT ", input errors %" JSON_INTEGER_FORMAT "\n",
		json_int(st, "udp.port"), json_array_size(udp_w),
		json_int(st, "udp.rcvbuf_errors"), json_int(st, "udp.in_errors"));
	render_workers(f, udp_w, "rx_packets", "rx_bytes");
	fprintf(f, "Tun: %zu workers\n", json_array_size(tun_w));
	render_workers(f, tun_w, "tx_packets", "tx_bytes");
	fprintf(f, "Flow table: %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
		" entries, %" JSON_INTEGER_FORMAT " evictions, %" JSON_INTEGER_FORMAT
		" expired, %" JSON_INTEGER_FORMAT " bytes\n",
		json_int(st, "flowtab.entries"), json_int(st, "flowtab.capacity"),
		json_int(st, "flowtab.evictions"), json_int(st, "flowtab.expired"),
		json_int(st, "flowtab.bytes"));
	fprintf(f, "Flow timeouts: tcp %" JSON_INTEGER_FORMAT " s, udp %" JSON_INTEGER_FORMAT
		" s, icmp %" JSON_INTEGER_FORMAT " s, other %" JSON_INTEGER_FORMAT " s\n",
		json_int(st, "flowtab.timeouts.tcp"), json_int(st, "flowtab.timeouts.udp"),
		json_int(st, "flowtab.timeouts.icmp"), json_int(st, "flowtab.timeouts.other"));
	fprintf(f, "Held packets: %" JSON_INTEGER_FORMAT ", overflow %" JSON_INTEGER_FORMAT "\n",
		json_int(st, "hold.held"), json_int(st, "hold.overflow"));
	fprintf(f, "ENIs: %zu\n", json_array_size(enis));
	json_array_foreach(enis, i, e) {
		fprintf(f, "ENI %s (%s", json_str(e, "eni"), json_str(e, "gwi"));
		if (*json_str(e, "gwo"))
			fprintf(f, " / %s", json_str(e, "gwo"));
		fprintf(f, "): %s, in %" JSON_INTEGER_FORMAT " pkts %" JSON_INTEGER_FORMAT
			" B, out %" JSON_INTEGER_FORMAT " pkts %" JSON_INTEGER_FORMAT
			" B, flows %" JSON_INTEGER_FORMAT ", drops %" JSON_INTEGER_FORMAT
			", idle %" JSON_INTEGER_FORMAT " s\n",
			json_str(e, "state"), json_int(e, "tunnelIn.packets"),
			json_int(e, "tunnelIn.bytes"), json_int(e, "tunnelOut.packets"),
			json_int(e, "tunnelOut.bytes"), json_int(e, "flows"),
			drops_sum(json_object_get(e, "drops")), json_int(e, "idle_s"));
	}
	fputs("Drops:", f);
	json_object_foreach(drops, key, v) {
		fprintf(f, "%s %s %" JSON_INTEGER_FORMAT, sep, key, json_int(v, ""));
		sep = ",";
	}
	fputc('\n', f);
	if (json_is_object(json_object_get(st, "policy"))) {
		fprintf(f, "Policy host: %s", json_str(st, "policy.state"));
		if (json_int(st, "policy.pid"))
			fprintf(f, " as pid %" JSON_INTEGER_FORMAT, json_int(st, "policy.pid"));
		fprintf(f, ", bypass %s, %" JSON_INTEGER_FORMAT " exits, %" JSON_INTEGER_FORMAT
			" restarts", json_is_true(json_path(st, "policy.bypass")) ? "yes" : "no",
			json_int(st, "policy.exits"), json_int(st, "policy.restarts"));
		if (json_int(st, "policy.watchdog.kills"))
			fprintf(f, ", %" JSON_INTEGER_FORMAT " watchdog kills (last: %s)",
				json_int(st, "policy.watchdog.kills"),
				json_str(st, "policy.watchdog.last_reason"));
		if (*json_str(st, "policy.last_exit.text"))
			fprintf(f, ", last exit: pid %" JSON_INTEGER_FORMAT " %s",
				json_int(st, "policy.last_exit.pid"), json_str(st, "policy.last_exit.text"));
		fputc('\n', f);
	}
}

/* ---- requests ---- */

static void page_text(struct page *p, unsigned status, const char *text)
{
	p->status = status;
	p->ctype = CT_TEXT;
	p->body = strdup(text);
	p->len = p->body ? strlen(p->body) : 0;
}

typedef int (*render_fn)(FILE *f, json_t *st, bool ok, const char *why);

/* Fill p from what fn writes; any failure (memory, JSON encoding) becomes a 500. */
static void page_render(struct page *p, unsigned status, const char *ctype, render_fn fn,
			json_t *st, bool ok, const char *why)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	f = open_memstream(&buf, &len);
	if (!f)
		goto fail;
	r = fn(f, st, ok, why);
	if (ferror(f))
		r = -1;
	if (fclose(f))
		r = -1;
	if (r < 0) {
		free(buf);
		goto fail;
	}
	p->status = status;
	p->ctype = ctype;
	p->body = buf;
	p->len = len;
	return;
fail:
	page_text(p, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
}

static int emit_text(FILE *f, json_t *st, bool ok, const char *why)
{
	render_text(f, st, ok, why);
	return 0;
}

static int emit_metrics(FILE *f, json_t *st, bool ok, const char *why)
{
	render_metrics(f, st);
	return 0;
}

static int emit_json(FILE *f, json_t *st, bool ok, const char *why)
{
	char *s = json_dumps(st, JSON_INDENT(2));

	if (!s)
		return -1;
	fputs(s, f);
	fputc('\n', f);
	free(s);
	return 0;
}

enum health_view {
	VIEW_PAGE,
	VIEW_JSON,
	VIEW_METRICS,
};

static void health_render(struct page *p, enum health_view view)
{
	char why[256] = "";
	char line[sizeof(why) + 16];
	unsigned code;
	json_t *st;
	char *c;
	bool ok;

	ok = gwlbd_healthy(why, sizeof(why));
	why[sizeof(why) - 1] = '\0';
	/* The reason goes on one line of a page: no line breaks from whoever wrote it. */
	for (c = why; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (!ok && !why[0])
		snprintf(why, sizeof(why), "unknown reason");
	code = ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;

	if (view == VIEW_PAGE && health_simple) {
		if (ok)
			snprintf(line, sizeof(line), "OK\n");
		else
			snprintf(line, sizeof(line), "UNHEALTHY: %s\n", why);
		page_text(p, code, line);
		return;
	}

	st = gwlbd_status_json();
	if (!json_is_object(st)) {
		json_decref(st);
		page_text(p, MHD_HTTP_INTERNAL_SERVER_ERROR, "status unavailable\n");
		return;
	}
	json_object_set_new(st, "healthy", json_boolean(ok));
	json_object_set_new(st, "reason", json_string(ok ? "" : why));

	if (view == VIEW_METRICS)
		page_render(p, MHD_HTTP_OK, CT_METRICS, emit_metrics, st, ok, why);
	else if (view == VIEW_JSON || health_json)
		page_render(p, code, CT_JSON, emit_json, st, ok, why);
	else
		page_render(p, code, CT_TEXT, emit_text, st, ok, why);
	json_decref(st);
}

static MHD_RESULT health_reply(struct MHD_Connection *conn, struct page *p, bool allow)
{
	struct MHD_Response *resp;
	MHD_RESULT ret;

	if (!p->body) {
		/* strdup or the renderer ran out of memory: answer without a body. */
		p->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		p->ctype = CT_TEXT;
		p->len = 0;
	}
	resp = MHD_create_response_from_buffer(p->len, p->body ? p->body : (char *)"",
					       p->body ? MHD_RESPMEM_MUST_FREE :
							 MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(p->body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, p->ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, p->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static MHD_RESULT health_request(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size,
				 void **req_cls)
{
	struct page p = { 0 };

	/*
	 * Answered on the first call, before any request body is read: nothing here takes
	 * one, and MHD closes the connection after the reply instead of reading it.
	 */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		page_text(&p, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
		return health_reply(conn, &p, true);
	}
	if (!strcmp(url, "/"))
		health_render(&p, VIEW_PAGE);
	else if (!strcmp(url, "/json"))
		health_render(&p, VIEW_JSON);
	else if (!strcmp(url, "/metrics"))
		health_render(&p, VIEW_METRICS);
	else
		page_text(&p, MHD_HTTP_NOT_FOUND, "not found; try /, /json or /metrics\n");
	return health_reply(conn, &p, false);
}

/*
 * Our own listening socket rather than MHD's: bind() then tells exactly why it failed
 * (EADDRINUSE, EADDRNOTAVAIL, EACCES), which MHD_start_daemon's NULL does not.
 */
static int health_listen(const struct gwlb_health_cfg *cfg, bool *v6)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const struct sockaddr *sa;
	int fd, one = 1, zero = 0, r;
	socklen_t salen;

	*v6 = false;
	if (!cfg->addr || !*cfg->addr) {
		sin.sin_addr.s_addr = htonl(INADDR_ANY);
	} else if (inet_pton(AF_INET, cfg->addr, &sin.sin_addr) != 1) {
		if (inet_pton(AF_INET6, cfg->addr, &sin6.sin6_addr) != 1)
			return -EINVAL;
		*v6 = true;
	}
	sin.sin_port = htons(cfg->port);
	sin6.sin6_port = htons(cfg->port);
	sa = *v6 ? (const struct sockaddr *)&sin6 : (const struct sockaddr *)&sin;
	salen = *v6 ? sizeof(sin6) : sizeof(sin);

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A restart must not wait for the last run's TIME_WAIT connections. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	/* "::" serves IPv4 clients too, whatever net.ipv6.bindv6only says. */
	if (*v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
		goto fail;
	if (bind(fd, sa, salen) < 0 || listen(fd, HEALTH_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

int gwlb_health_start(const struct gwlb_health_cfg *cfg)
{
	unsigned flags;
	bool v6;
	int fd;

	if (health_daemon)
		return -EBUSY;
	if (!cfg || !cfg->port)
		return -EINVAL;
	fd = health_listen(cfg, &v6);
	if (fd < 0)
		return fd;

	health_json = cfg->json;
	health_simple = cfg->simple;
	/*
	 * MHD_USE_AUTO picks epoll or poll: plain select() fails once a descriptor number
	 * passes FD_SETSIZE, which a gwlbd with many ENIs and tun queues reaches easily.
	 * No MHD_USE_ERROR_LOG: MHD must not write to our stderr.
	 */
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	if (v6)
		flags |= MHD_USE_DUAL_STACK;
	health_daemon = MHD_start_daemon(flags, 0, NULL, NULL, health_request, NULL,
					 MHD_OPTION_LISTEN_SOCKET, fd,
					 MHD_OPTION_CONNECTION_LIMIT, (unsigned)HEALTH_MAX_CONN,
					 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HEALTH_CONN_TIMEOUT,
					 MHD_OPTION_END);
	if (!health_daemon) {
		/*
		 * MHD may already have closed fd on its failure path, and closing it
		 * again could hit a descriptor another thread just opened. gwlbd exits
		 * on this error, which releases it either way.
		 */
		return -EIO;
	}
	return 0;
}

void gwlb_health_stop(void)
{
	if (!health_daemon)
		return;
	/* Also closes the listening socket MHD was given. */
	MHD_stop_daemon(health_daemon);
	health_daemon = NULL;
}
