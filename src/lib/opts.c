/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbd's command line. gwlbtun's flags keep gwlbtun's meaning so existing unit files and
 * scripts keep working; everything else is a long option of our own. Nothing here prints:
 * every problem comes back as -EINVAL and a sentence in err that names the option.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eniidx.h"
#include "eniname.h"
#include "opts.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Defaults and ranges; man/gwlbd.8 and the usage text below must agree with them. */
#define GENEVE_PORT_DEFAULT	6081
#define FLOW_MAX_DEFAULT	1048576
#define FLOW_MAX_MIN		1024
#define FLOW_MAX_MAX		67108864
#define HOLD_MAX_DEFAULT	1024
#define HOLD_MAX_MAX		65536
#define MAX_ENI_DEFAULT		1024
#define MAX_ENI_MAX		65535
#define UDP_RCVBUF_DEFAULT	8388608
#define UDP_RCVBUF_MIN		65536
/* The kernel clamps SO_RCVBUFFORCE at INT_MAX / 2 and doubles it. */
#define UDP_RCVBUF_MAX		1073741823
#define HOOK_TIMEOUT_DEFAULT	30
#define HOOK_TIMEOUT_MAX	3600
#define MTU_DEFAULT		8500
#define MTU_MIN			576
#define MTU_MAX			9001
#define FLOW_TIMEOUT_MAX	86400
/* A year: keeps "last seen + timeout" far from wrapping in 32-bit seconds. */
#define ENI_IDLE_MAX		31536000

enum {
	OPT_UDPTHREADS = 0x100,
	OPT_TUNTHREADS,
	OPT_UDPAFFINITY,
	OPT_TUNAFFINITY,
	OPT_LOGGING,
	OPT_ALLOWED_ORIGIN,
	OPT_GENEVE_PORT,
	OPT_TIMEOUT_TCP,
	OPT_TIMEOUT_UDP,
	OPT_TIMEOUT_ICMP,
	OPT_TIMEOUT_OTHER,
	OPT_RECEIVE_ONLY,
	OPT_FLOW_MAX,
	OPT_HOLD_MAX,
	OPT_MAX_ENI,
	OPT_UDP_RCVBUF,
	OPT_HOOK_TIMEOUT,
	OPT_MTU,
	OPT_HEALTH_ADDRESS,
	OPT_POLICY,
	OPT_CTL_SOCKET,
	OPT_CTL_GROUP,
	OPT_POLICY_CHILD,
	OPT_NFT_RULES,
	OPT_SERVICES,
	OPT_ROUTE_TABLE_BASE,
	OPT_RULE_PRIO_BASE,
	OPT_STATE_FILE,
	OPT_MODE,
	OPT_ENI_MODE,
	OPT_UPLINK,
};

/* Leading ':' makes getopt report a missing argument as ':' instead of '?'. */
static const char short_opts[] = ":hVc:r:t:i:p:jsd";

static const struct option long_opts[] = {
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'V' },
	{ "udpthreads",		required_argument,	NULL, OPT_UDPTHREADS },
	{ "tunthreads",		required_argument,	NULL, OPT_TUNTHREADS },
	{ "udpaffinity",	required_argument,	NULL, OPT_UDPAFFINITY },
	{ "tunaffinity",	required_argument,	NULL, OPT_TUNAFFINITY },
	{ "logging",		required_argument,	NULL, OPT_LOGGING },
	{ "allowed-origin",	required_argument,	NULL, OPT_ALLOWED_ORIGIN },
	{ "geneve-port",	required_argument,	NULL, OPT_GENEVE_PORT },
	{ "timeout-tcp",	required_argument,	NULL, OPT_TIMEOUT_TCP },
	{ "timeout-udp",	required_argument,	NULL, OPT_TIMEOUT_UDP },
	{ "timeout-icmp",	required_argument,	NULL, OPT_TIMEOUT_ICMP },
	{ "timeout-other",	required_argument,	NULL, OPT_TIMEOUT_OTHER },
	{ "receive-only",	no_argument,		NULL, OPT_RECEIVE_ONLY },
	{ "flow-max",		required_argument,	NULL, OPT_FLOW_MAX },
	{ "hold-max",		required_argument,	NULL, OPT_HOLD_MAX },
	{ "max-eni",		required_argument,	NULL, OPT_MAX_ENI },
	{ "udp-rcvbuf",		required_argument,	NULL, OPT_UDP_RCVBUF },
	{ "hook-timeout",	required_argument,	NULL, OPT_HOOK_TIMEOUT },
	{ "policy",		required_argument,	NULL, OPT_POLICY },
	{ "ctl-socket",		required_argument,	NULL, OPT_CTL_SOCKET },
	{ "ctl-group",		required_argument,	NULL, OPT_CTL_GROUP },
	{ "nft-rules",		required_argument,	NULL, OPT_NFT_RULES },
	{ "services",		required_argument,	NULL, OPT_SERVICES },
	/* Internal, not in the usage text: the policy host process gwlbd --policy spawns. */
	{ "policy-child",	required_argument,	NULL, OPT_POLICY_CHILD },
	{ "mtu",		required_argument,	NULL, OPT_MTU },
	{ "health-address",	required_argument,	NULL, OPT_HEALTH_ADDRESS },
	{ "route-table-base",	required_argument,	NULL, OPT_ROUTE_TABLE_BASE },
	{ "rule-priority-base",	required_argument,	NULL, OPT_RULE_PRIO_BASE },
	{ "state-file",		required_argument,	NULL, OPT_STATE_FILE },
	{ "mode",		required_argument,	NULL, OPT_MODE },
	{ "eni-mode",		required_argument,	NULL, OPT_ENI_MODE },
	{ "uplink",		required_argument,	NULL, OPT_UPLINK },
	{ NULL,			0,			NULL, 0 },
};

static const struct num_range {
	int val;
	uint32_t min;
	uint32_t max;
} num_ranges[] = {
	{ 't',			0,		ENI_IDLE_MAX },
	{ 'i',			1,		FLOW_TIMEOUT_MAX },
	{ 'p',			0,		65535 },
	{ OPT_UDPTHREADS,	1,		GWLB_MAX_THREADS },
	{ OPT_TUNTHREADS,	1,		GWLB_MAX_THREADS },
	{ OPT_GENEVE_PORT,	1,		65535 },
	{ OPT_TIMEOUT_TCP,	1,		FLOW_TIMEOUT_MAX },
	{ OPT_TIMEOUT_UDP,	1,		FLOW_TIMEOUT_MAX },
	{ OPT_TIMEOUT_ICMP,	1,		FLOW_TIMEOUT_MAX },
	{ OPT_TIMEOUT_OTHER,	1,		FLOW_TIMEOUT_MAX },
	{ OPT_FLOW_MAX,		FLOW_MAX_MIN,	FLOW_MAX_MAX },
	{ OPT_HOLD_MAX,		0,		HOLD_MAX_MAX },
	{ OPT_MAX_ENI,		1,		MAX_ENI_MAX },
	{ OPT_UDP_RCVBUF,	UDP_RCVBUF_MIN,	UDP_RCVBUF_MAX },
	{ OPT_HOOK_TIMEOUT,	1,		HOOK_TIMEOUT_MAX },
	{ OPT_MTU,		MTU_MIN,	MTU_MAX },
	{ OPT_ROUTE_TABLE_BASE,	0,		UINT32_MAX - 1 },
	{ OPT_RULE_PRIO_BASE,	0,		UINT32_MAX - 1 },
};

static const char *const section_names[GWLB_LS__MAX] = {
	[GWLB_LS_CORE]		= "core",
	[GWLB_LS_UDP]		= "udp",
	[GWLB_LS_GENEVE]	= "geneve",
	[GWLB_LS_TUNNEL]	= "tunnel",
	[GWLB_LS_HEALTHCHECK]	= "healthcheck",
	[GWLB_LS_HOOK]		= "hook",
	[GWLB_LS_POLICY]	= "policy",
};

static const char *const mode_names[GWLB_MODE__MAX] = {
	[GWLB_MODE_HOOK]	= "hook",
	[GWLB_MODE_PASSTHROUGH]	= "passthrough",
	[GWLB_MODE_ROUTE]	= "route",
	[GWLB_MODE_NAT]		= "nat",
	[GWLB_MODE_LOCAL]	= "local",
};

static const char *const level_names[] = {
	[GWLB_LL_CRITICAL]	= "critical",
	[GWLB_LL_IMPORTANT]	= "important",
	[GWLB_LL_INFO]		= "info",
	[GWLB_LL_DEBUG]		= "debug",
	[GWLB_LL_DEBUGDETAIL]	= "debugdetail",
};

const char gwlb_opts_usage[] =
"Usage: gwlbd [options]\n"
"Tunnel handler for AWS Gateway Load Balancer, a drop-in for gwlbtun.\n"
"Example: gwlbd -c /etc/gwlbd/create.sh -p 8080\n"
"\n"
"  -h, --help     Print this help.\n"
"  -V, --version  Print the version.\n"
"  -c FILE        Command to execute when a new tunnel has been built.\n"
"                 See below for arguments passed.\n"
"  -r FILE        Command to execute when a tunnel times out and is about to\n"
"                 be destroyed. See below for arguments passed.\n"
"  -t TIME        Minimum time in seconds between last packet seen and to\n"
"                 consider the tunnel timed out. Set to 0 (the default) to\n"
"                 never time out tunnels (0..31536000).\n"
"  -i TIME        Idle timeout in seconds of a TCP flow, as GWLB's\n"
"                 (default 350, 1..86400). Same as --timeout-tcp.\n"
"  -p PORT        Listen to TCP port PORT and provide a health status report\n"
"                 on it (default: no health server).\n"
"  -j             Health status report in JSON instead of text.\n"
"  -s             Only return simple health check status (the HTTP response\n"
"                 code and one line), instead of detailed statistics.\n"
"  -d             Enable debugging output (same as --logging all=debug).\n"
"\n"
"Threading options:\n"
"  --udpthreads NUM     Generate NUM threads for the UDP receiver\n"
"                       (default: one per CPU; 1..64).\n"
"  --udpaffinity AFFIN  Pin the UDP receiver threads to the cores listed:\n"
"                       thread i runs on the i-th core, round robin.\n"
"  --tunthreads NUM     Generate NUM threads for the tunnel processors, one\n"
"                       tun queue each (default: one per CPU; 1..64).\n"
"  --tunaffinity AFFIN  Pin the tunnel processor threads to the cores listed.\n"
"AFFIN arguments take a comma separated list of cores or range of cores,\n"
"e.g. 1-2,4,7-8.\n"
"\n"
"Logging:\n"
"  --logging SPEC       A series of <section>=<level>, comma separated and\n"
"                       case insensitive; later items override earlier ones.\n"
"                       Sections: core udp geneve tunnel healthcheck hook\n"
"                       policy all.\n"
"                       Levels: critical important info debug debugdetail.\n"
"                       The default level for all sections is 'important'.\n"
"\n"
"gwlbd options:\n"
"  --allowed-origin CIDR[,CIDR...]\n"
"                       Accept GENEVE only from these IPv4/IPv6 prefixes\n"
"                       (repeatable, at most 32 in all; default: any source).\n"
"  --geneve-port PORT   UDP port to receive GENEVE on (default 6081).\n"
"  --timeout-tcp SECS   Same as -i.\n"
"  --timeout-udp SECS   Idle timeout of a UDP flow (default 120, 1..86400).\n"
"  --timeout-icmp SECS  Idle timeout of an ICMP or ICMPv6 flow\n"
"                       (default 120, 1..86400).\n"
"  --timeout-other SECS Idle timeout of other flows (default 120, 1..86400).\n"
"  --receive-only       Only receive: no gwo interfaces, no flow table,\n"
"                       nothing sent back (gwlbtun's NO_RETURN_TRAFFIC).\n"
"  --flow-max N         Flow table capacity (default 1048576, 1024..67108864).\n"
"  --hold-max N         Packets held for new ENIs while their create hook\n"
"                       runs (default 1024, 0..65536).\n"
"  --max-eni N          Most ENIs at once (default 1024, 1..65535); ENIs get\n"
"                       indexes 1..N, their mark and conntrack zone.\n"
"  --route-table-base N ENI index i gets route table N + i (default 10000).\n"
"  --rule-priority-base N\n"
"                       ENI index i gets rule priority N + i (default 10000;\n"
"                       the range must miss the main/default rules, 32766-7).\n"
"  --state-file PATH    Keeps each ENI's index across restarts (default\n"
"                       " GWLB_STATE_FILE "; '' = none).\n"
"  --mode MODE          What gwlbd sets up for each ENI before its create\n"
"                       hook: passthrough (back out the same ENI), route\n"
"                       (kernel routing, replies back by the ENI's mark), nat\n"
"                       (route + masquerade out of the uplink), local (only\n"
"                       the appliance's addresses answer) or hook (nothing:\n"
"                       the hooks do it all, as gwlbtun; the default).\n"
"  --eni-mode ENI=MODE  MODE for this ENI only (eni-<hex>, hex or a gwi-\n"
"                       name; repeatable, at most 256).\n"
"  --uplink IF[,IF...]  nat mode masquerades only out of these interfaces\n"
"                       (repeatable, at most 8; a trailing * matches a\n"
"                       prefix; default: out of any interface but gwo-*).\n"
"  --udp-rcvbuf BYTES   Receive buffer of the GENEVE sockets\n"
"                       (default 8388608, 65536..1073741823).\n"
"  --hook-timeout SECS  Kill a hook still running after SECS\n"
"                       (default 30, 1..3600).\n"
"  --mtu N              MTU of the tun interfaces (default 8500, 576..9001).\n"
"  --health-address ADDR\n"
"                       Address the health server binds (default: any).\n"
"  --policy FILE        Host the verdict modules FILE names behind NFQUEUE\n"
"                       (see gwlbnf-policy.conf(5); SIGHUP reloads it).\n"
"  --ctl-socket PATH    The control socket gwlbctl(8) talks to (default\n"
"                       " GWLB_CTL_SOCKET ", mode 0600; '' = none).\n"
"  --ctl-group GROUP    Let GROUP use the control socket too (mode 0660).\n"
"  --nft-rules DIR      nft files to load: DIR/*.nft at start and on reload,\n"
"                       DIR/eni.d/*.nft for each new ENI (default\n"
"                       " GWLB_NFT_RULES_DIR "; '' = none;\n"
"                       see gwlbnf-nft-rules(5)).\n"
"  --services FILE      DNAT-balanced services (VIP, port, scheduler, backends)\n"
"                       in table inet gwlbnf-lb; SIGHUP and gwlbctl reload\n"
"                       re-read it (see gwlbnf-services.conf(5)).\n"
"\n"
"Hook scripts arguments:\n"
"The hook scripts (-c FILE and -r FILE) are called with these arguments:\n"
"1: The string 'CREATE' or 'DESTROY', depending on the operation.\n"
"2: The interface name of the ingress interface (gwi-<X>).\n"
"3: The interface name of the egress interface (gwo-<X>).\n"
"4: The GWLBE ENI ID in base 16, 17 digits zero padded\n"
"   (e.g. '076bc493b822cd32f').\n"
"The <X> in the interface names is the ENI ID in base 60, to fit inside the\n"
"15 character device name limit. CREATE runs once the interfaces exist, and\n"
"the new ENI's packets are held until it has finished. DESTROY runs before\n"
"the interfaces are removed.\n"
"\n"
"Health check (-p PORT):\n"
"  GET /         Status page: text, JSON with -j, one line with -s.\n"
"  GET /json     Status in JSON, whatever -j and -s say.\n"
"  GET /metrics  Prometheus text format.\n"
"HTTP 200 when healthy, 503 when not (/metrics is always 200 and carries\n"
"gwlbd_healthy).\n";

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const char *opt_name(int val, char *buf, size_t len)
{
	const struct option *lo;

	for (lo = long_opts; lo->name; lo++) {
		if (lo->val == val && val >= 0x100) {
			snprintf(buf, len, "--%s", lo->name);
			return buf;
		}
	}
	snprintf(buf, len, "-%c", val);
	return buf;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* strtoul takes leading blanks, a sign and "-1" as ULONG_MAX: only plain digits get through. */
static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (!is_digit(s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static int opt_number(int val, const char *arg, uint32_t *out, char *err, size_t errlen)
{
	const struct num_range *nr = NULL;
	char name[32];
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(num_ranges); i++)
		if (num_ranges[i].val == val)
			nr = &num_ranges[i];
	if (!nr)
		return fail(err, errlen, "internal error: no range for option %d", val);

	opt_name(val, name, sizeof(name));
	r = parse_u32(arg, nr->min, nr->max, out);
	if (r == -ERANGE)
		return fail(err, errlen, "option '%s': %s is out of range (%u..%u)",
			    name, arg, nr->min, nr->max);
	if (r < 0)
		return fail(err, errlen, "option '%s': '%s' is not a number (%u..%u)",
			    name, arg, nr->min, nr->max);
	return 0;
}

/* sun_path holds 108 bytes; a relative path would move with the working directory. */
static int opt_ctl_socket(const char *arg, struct gwlb_opts *o, char *err, size_t errlen)
{
	if (arg[0] && arg[0] != '/')
		return fail(err, errlen, "option '--ctl-socket': '%s' is not an absolute path", arg);
	if (strlen(arg) >= 108)
		return fail(err, errlen, "option '--ctl-socket': '%s' is longer than a unix socket "
			    "path may be (107 bytes)", arg);
	o->ctl_socket = arg;
	return 0;
}

void gwlb_opts_defaults(struct gwlb_opts *o)
{
	unsigned i;

	memset(o, 0, sizeof(*o));
	o->flow_timeout[GWLB_FLOW_TCP] = GWLB_FLOW_TIMEOUT_TCP;
	o->flow_timeout[GWLB_FLOW_UDP] = GWLB_FLOW_TIMEOUT_OTHER;
	o->flow_timeout[GWLB_FLOW_ICMP] = GWLB_FLOW_TIMEOUT_OTHER;
	o->flow_timeout[GWLB_FLOW_OTHER] = GWLB_FLOW_TIMEOUT_OTHER;
	o->geneve_port = GENEVE_PORT_DEFAULT;
	for (i = 0; i < GWLB_LS__MAX; i++)
		o->log_level[i] = GWLB_LL_IMPORTANT;
	o->flow_max = FLOW_MAX_DEFAULT;
	o->hold_max = HOLD_MAX_DEFAULT;
	o->max_eni = MAX_ENI_DEFAULT;
	o->udp_rcvbuf = UDP_RCVBUF_DEFAULT;
	o->hook_timeout = HOOK_TIMEOUT_DEFAULT;
	o->mtu = MTU_DEFAULT;
	o->ctl_socket = GWLB_CTL_SOCKET;
	o->nft_rules = GWLB_NFT_RULES_DIR;
	o->route_table_base = GWLB_ENIIDX_TABLE_BASE;
	o->rule_prio_base = GWLB_ENIIDX_PRIO_BASE;
	o->state_file = GWLB_STATE_FILE;
}

const char *gwlb_log_section_name(enum gwlb_log_section s)
{
	if ((unsigned)s >= GWLB_LS__MAX)
		return "unknown";
	return section_names[s];
}

const char *gwlb_log_level_name(enum gwlb_log_level l)
{
	if ((unsigned)l >= ARRAY_SIZE(level_names))
		return "unknown";
	return level_names[l];
}

static int name_index(const char *const *names, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && !strncasecmp(names[i], s, len))
			return (int)i;
	return -1;
}

const char *gwlb_mode_name(enum gwlb_mode m)
{
	if ((unsigned)m >= GWLB_MODE__MAX)
		return "unknown";
	return mode_names[m];
}

int gwlb_mode_parse(const char *s)
{
	int m = s ? name_index(mode_names, ARRAY_SIZE(mode_names), s, strlen(s)) : -1;

	return m < 0 ? -EINVAL : m;
}

enum gwlb_mode gwlb_opts_eni_mode(const struct gwlb_opts *o, uint64_t eni_id)
{
	unsigned i;

	for (i = o->n_eni_modes; i-- > 0;)
		if (o->eni_modes[i].eni_id == eni_id)
			return o->eni_modes[i].mode;
	return o->mode;
}

static int opt_mode(const char *arg, struct gwlb_opts *o, char *err, size_t errlen)
{
	int m = gwlb_mode_parse(arg);

	if (m < 0)
		return fail(err, errlen, "option '--mode': '%s' is not passthrough, route, nat, "
			    "local or hook", arg);
	o->mode = (enum gwlb_mode)m;
	return 0;
}

static int opt_eni_mode(const char *arg, struct gwlb_opts *o, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char eni[64];
	uint64_t id;
	int m;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(eni))
		return fail(err, errlen, "option '--eni-mode': '%s' is not ENI=MODE", arg);
	memcpy(eni, arg, (size_t)(eq - arg));
	eni[eq - arg] = '\0';
	if (gwlb_eni_parse(eni, &id) < 0)
		return fail(err, errlen, "option '--eni-mode': '%s' is not an ENI id "
			    "(eni-<hex>, hex or a gwi-/gwo- name)", eni);
	m = gwlb_mode_parse(eq + 1);
	if (m < 0)
		return fail(err, errlen, "option '--eni-mode': '%s' is not passthrough, route, "
			    "nat, local or hook", eq + 1);
	if (o->n_eni_modes >= GWLB_MAX_ENI_MODES)
		return fail(err, errlen, "option '--eni-mode': more than %u given",
			    GWLB_MAX_ENI_MODES);
	o->eni_modes[o->n_eni_modes].eni_id = id;
	o->eni_modes[o->n_eni_modes].mode = (enum gwlb_mode)m;
	o->n_eni_modes++;
	return 0;
}

/* Names as nft's oifname matches them: a trailing '*' is a prefix, nowhere else. */
static int opt_uplinks(const char *arg, struct gwlb_opts *o, char *err, size_t errlen)
{
	const char *p = arg;

	do {
		size_t len = strcspn(p, ","), i;
		const char *bad = NULL;

		if (!len || len >= IFNAMSIZ)
			bad = "1 to 15 characters";
		for (i = 0; !bad && i < len; i++)
			if (p[i] == '/' || p[i] == ' ' || p[i] == '\t' ||
			    (p[i] == '*' && i + 1 < len))
				bad = "no '/' or spaces, '*' only at the end";
		if (!bad && (len == 1 && p[0] == '*'))
			bad = "'*' alone is every interface: leave --uplink out";
		if (bad)
			return fail(err, errlen, "option '--uplink': '%.*s' is not an interface "
				    "name (%s)", (int)len, p, bad);
		for (i = 0; i < o->n_uplinks; i++)
			if (!strncmp(o->uplinks[i], p, len) && !o->uplinks[i][len])
				break;
		if (i == o->n_uplinks) {
			if (o->n_uplinks >= GWLB_MAX_UPLINKS)
				return fail(err, errlen, "option '--uplink': more than %u interfaces",
					    GWLB_MAX_UPLINKS);
			memcpy(o->uplinks[o->n_uplinks], p, len);
			o->uplinks[o->n_uplinks][len] = '\0';
			o->n_uplinks++;
		}
		p += len;
	} while (*p++ == ',');
	return 0;
}

int gwlb_opts_logging(struct gwlb_opts *o, const char *spec, char *err, size_t errlen)
{
	uint8_t lv[GWLB_LS__MAX];
	const char *p = spec;

	if (!spec)
		return fail(err, errlen, "option '--logging': missing specification");
	memcpy(lv, o->log_level, sizeof(lv));

	/* gwlbtun's grammar: items split on ','; an item is section=level; empty items are ignored. */
	while (*p) {
		const char *item = p, *eq, *end;
		size_t ilen, slen;
		int sec, lvl;

		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		ilen = (size_t)(end - item);
		p = *end ? end + 1 : end;
		if (ilen == 0)
			continue;

		eq = memchr(item, '=', ilen);
		if (!eq)
			return fail(err, errlen,
				    "option '--logging': '%.*s' is not section=level", (int)ilen, item);
		slen = (size_t)(eq - item);
		if (slen == 3 && !strncasecmp(item, "all", 3))
			sec = GWLB_LS__MAX;
		else
			sec = name_index(section_names, GWLB_LS__MAX, item, slen);
		if (sec < 0)
			return fail(err, errlen,
				    "option '--logging': unknown section '%.*s' (core, udp, geneve, tunnel, healthcheck, hook, policy, all)",
				    (int)slen, item);
		lvl = name_index(level_names, ARRAY_SIZE(level_names), eq + 1, (size_t)(end - eq - 1));
		if (lvl < 0)
			return fail(err, errlen,
				    "option '--logging': unknown level '%.*s' (critical, important, info, debug, debugdetail)",
				    (int)(end - eq - 1), eq + 1);
		if (sec == GWLB_LS__MAX)
			memset(lv, lvl, sizeof(lv));
		else
			lv[sec] = (uint8_t)lvl;
	}
	memcpy(o->log_level, lv, sizeof(lv));
	return 0;
}

static int parse_cpu(const char **pp, size_t ncpu, unsigned long *cpu)
{
	const char *p = *pp;
	char *end;

	if (!is_digit(*p))
		return -EINVAL;
	errno = 0;
	*cpu = strtoul(p, &end, 10);
	if (errno == ERANGE || *cpu >= ncpu)
		return -EINVAL;
	*pp = end;
	return 0;
}

int gwlb_opts_cpulist(const char *s, uint64_t *mask, size_t words)
{
	size_t ncpu = words * 64;
	const char *p = s;

	memset(mask, 0, words * sizeof(*mask));
	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		unsigned long a, b, i;

		if (parse_cpu(&p, ncpu, &a))
			goto bad;
		b = a;
		if (*p == '-') {
			p++;
			if (parse_cpu(&p, ncpu, &b) || b < a)
				goto bad;
		}
		for (i = a; i <= b; i++)
			mask[i / 64] |= 1ULL << (i % 64);
		if (*p == '\0')
			return 0;
		if (*p != ',')
			goto bad;
		p++;
	}
bad:
	memset(mask, 0, words * sizeof(*mask));
	return -EINVAL;
}

static int opt_affinity(int val, const char *arg, uint64_t *mask, size_t words, char *err,
			size_t errlen)
{
	unsigned n = 0;
	char name[32];
	size_t i;

	opt_name(val, name, sizeof(name));
	if (gwlb_opts_cpulist(arg, mask, words) < 0)
		return fail(err, errlen,
			    "option '%s': '%s' is not a CPU list like 1-4,7,9 (CPUs 0..%zu)",
			    name, arg, words * 64 - 1);
	for (i = 0; i < words; i++)
		n += (unsigned)__builtin_popcountll(mask[i]);
	if (n > GWLB_MAX_THREADS)
		return fail(err, errlen, "option '%s': %u CPUs listed, at most %d", name, n,
			    GWLB_MAX_THREADS);
	return 0;
}

static int opt_origins(struct gwlb_opts *o, const char *arg, char *err, size_t errlen)
{
	size_t bad = 0, blen;
	int n;

	n = gwlb_cidr_parse_list(arg, o->origins + o->n_origins,
				 GWLB_MAX_ORIGINS - o->n_origins, &bad);
	if (n == -E2BIG)
		return fail(err, errlen,
			    "option '--allowed-origin': too many prefixes, at most %d in all",
			    GWLB_MAX_ORIGINS);
	if (n < 0) {
		blen = strcspn(arg + bad, ",");
		return fail(err, errlen,
			    "option '--allowed-origin': '%.*s' is not an IPv4 or IPv6 prefix",
			    (int)blen, arg + bad);
	}
	if (n == 0)
		return fail(err, errlen, "option '--allowed-origin': empty list");
	o->n_origins += (unsigned)n;
	return 0;
}

static int opt_string(int val, const char *arg, const char **out, char *err, size_t errlen)
{
	char name[32];

	if (!*arg)
		return fail(err, errlen, "option '%s': empty argument",
			    opt_name(val, name, sizeof(name)));
	*out = arg;
	return 0;
}

static int opt_health_addr(const char *arg, struct gwlb_opts *o, char *err, size_t errlen)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, arg, a) != 1 && inet_pton(AF_INET6, arg, a) != 1)
		return fail(err, errlen,
			    "option '--health-address': '%s' is not an IPv4 or IPv6 address", arg);
	o->health_addr = arg;
	return 0;
}

static bool opt_known(int val)
{
	const struct option *lo;

	if (val > 0 && val < 0x100 && val != ':' && strchr(short_opts, val))
		return true;
	for (lo = long_opts; lo->name; lo++)
		if (lo->val == val)
			return true;
	return false;
}

/*
 * After getopt_long returned '?' or ':'. glibc leaves optopt 0 for an unknown long option
 * and the option's value for one given an argument it does not take; only long options
 * have surely advanced optind, so argv[optind - 1] is read for them alone.
 */
static int opt_error(int c, int argc, char **argv, char *err, size_t errlen)
{
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	size_t len = strcspn(arg, "=");
	char name[32];

	if (c == ':')
		return fail(err, errlen, "option '%s' needs an argument; see gwlbd --help",
			    opt_name(optopt, name, sizeof(name)));
	if (optopt == 0)
		return fail(err, errlen, "unknown option '%.*s'; see gwlbd --help", (int)len, arg);
	if (opt_known(optopt))
		return fail(err, errlen, "option '%.*s' takes no argument; see gwlbd --help",
			    (int)len, arg);
	return fail(err, errlen, "unknown option '-%c'; see gwlbd --help", optopt);
}

int gwlb_opts_parse(struct gwlb_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	int saved_opterr = opterr;
	int c, r = 0;
	uint32_t v;

	if (err && errlen)
		err[0] = '\0';
	/* 0, not 1: glibc then also resets its internal state left by an earlier parse. */
	optind = 0;
	opterr = 0;

	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			o->help = true;
			break;
		case 'V':
			o->version = true;
			break;
		case 'c':
			r = opt_string(c, optarg, &o->create_hook, err, errlen);
			break;
		case 'r':
			r = opt_string(c, optarg, &o->destroy_hook, err, errlen);
			break;
		case 't':
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->eni_idle_timeout = v;
			break;
		case 'i':
		case OPT_TIMEOUT_TCP:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->flow_timeout[GWLB_FLOW_TCP] = v;
			break;
		case OPT_TIMEOUT_UDP:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->flow_timeout[GWLB_FLOW_UDP] = v;
			break;
		case OPT_TIMEOUT_ICMP:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->flow_timeout[GWLB_FLOW_ICMP] = v;
			break;
		case OPT_TIMEOUT_OTHER:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->flow_timeout[GWLB_FLOW_OTHER] = v;
			break;
		case 'p':
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->health_port = (uint16_t)v;
			break;
		case 'j':
			o->health_json = true;
			break;
		case 's':
			o->health_simple = true;
			break;
		case 'd':
			memset(o->log_level, GWLB_LL_DEBUG, sizeof(o->log_level));
			break;
		case OPT_UDPTHREADS:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->udp_threads = v;
			break;
		case OPT_TUNTHREADS:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->tun_threads = v;
			break;
		case OPT_UDPAFFINITY:
			r = opt_affinity(c, optarg, o->udp_affinity, ARRAY_SIZE(o->udp_affinity),
					 err, errlen);
			break;
		case OPT_TUNAFFINITY:
			r = opt_affinity(c, optarg, o->tun_affinity, ARRAY_SIZE(o->tun_affinity),
					 err, errlen);
			break;
		case OPT_LOGGING:
			r = gwlb_opts_logging(o, optarg, err, errlen);
			break;
		case OPT_ALLOWED_ORIGIN:
			r = opt_origins(o, optarg, err, errlen);
			break;
		case OPT_GENEVE_PORT:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->geneve_port = (uint16_t)v;
			break;
		case OPT_RECEIVE_ONLY:
			o->receive_only = true;
			break;
		case OPT_FLOW_MAX:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->flow_max = v;
			break;
		case OPT_HOLD_MAX:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->hold_max = v;
			break;
		case OPT_MAX_ENI:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->max_eni = v;
			break;
		case OPT_UDP_RCVBUF:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->udp_rcvbuf = v;
			break;
		case OPT_HOOK_TIMEOUT:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->hook_timeout = v;
			break;
		case OPT_MTU:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->mtu = (uint16_t)v;
			break;
		case OPT_HEALTH_ADDRESS:
			r = opt_health_addr(optarg, o, err, errlen);
			break;
		case OPT_POLICY:
			o->policy_file = optarg;
			break;
		case OPT_CTL_SOCKET:
			r = opt_ctl_socket(optarg, o, err, errlen);
			break;
		case OPT_CTL_GROUP:
			o->ctl_group = optarg;
			break;
		case OPT_POLICY_CHILD:
			o->policy_child = optarg;
			break;
		case OPT_NFT_RULES:
			o->nft_rules = optarg;
			break;
		case OPT_SERVICES:
			o->services_file = optarg;
			break;
		case OPT_ROUTE_TABLE_BASE:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->route_table_base = v;
			break;
		case OPT_RULE_PRIO_BASE:
			r = opt_number(c, optarg, &v, err, errlen);
			if (!r)
				o->rule_prio_base = v;
			break;
		case OPT_STATE_FILE:
			o->state_file = optarg;
			break;
		case OPT_MODE:
			r = opt_mode(optarg, o, err, errlen);
			break;
		case OPT_ENI_MODE:
			r = opt_eni_mode(optarg, o, err, errlen);
			break;
		case OPT_UPLINK:
			r = opt_uplinks(optarg, o, err, errlen);
			break;
		default:
			r = opt_error(c, argc, argv, err, errlen);
			break;
		}
		if (r < 0)
			goto out;
	}
	if (optind < argc) {
		r = fail(err, errlen, "unexpected argument '%s'; gwlbd takes options only, see gwlbd --help",
			 argv[optind]);
		goto out;
	}
	/* Options that only make sense together: checked once all are known. */
	if (gwlb_eniidx_check_ranges(o->max_eni, o->route_table_base, o->rule_prio_base, err,
				     errlen) < 0)
		r = -EINVAL;
out:
	opterr = saved_opterr;
	return r;
}
