/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbd's command line: gwlbtun's flags with gwlbtun's meaning, plus gwlbd's own.
 * Pure: parsing fills a struct and returns an error text; gwlbd decides what to print.
 */
#ifndef GWLB_OPTS_H
#define GWLB_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net/if.h>

#include "cidr.h"
#include "flowtab.h"

#define GWLB_MAX_THREADS	64
#define GWLB_MAX_ORIGINS	32
#define GWLB_MAX_ENI_MODES	256
#define GWLB_MAX_UPLINKS	8
/* gwlbd's control socket, where gwlbctl looks by default. */
#define GWLB_CTL_SOCKET		"/run/gwlbnf/gwlbd.sock"
/* Where gwlbd looks for nft files by default (gwlbnf-nft-rules(5)). */
#ifdef SYSCONFDIR
#define GWLB_NFT_RULES_DIR	SYSCONFDIR "/gwlbnf/nft-rules"
#else
#define GWLB_NFT_RULES_DIR	"/etc/gwlbnf/nft-rules"
#endif
/* Where gwlbd keeps its ENIs' indexes across restarts. */
#define GWLB_STATE_FILE		"/var/lib/gwlbnf/enis.state"

enum gwlb_log_section {
	GWLB_LS_CORE = 0,
	GWLB_LS_UDP,
	GWLB_LS_GENEVE,
	GWLB_LS_TUNNEL,
	GWLB_LS_HEALTHCHECK,
	GWLB_LS_HOOK,
	GWLB_LS_POLICY,
	GWLB_LS__MAX
};

/* gwlbtun's levels, most severe first. */
enum gwlb_log_level {
	GWLB_LL_CRITICAL = 0,
	GWLB_LL_IMPORTANT,
	GWLB_LL_INFO,
	GWLB_LL_DEBUG,
	GWLB_LL_DEBUGDETAIL,
};

/*
 * What gwlbd itself sets up for an ENI (rules, routes, nft) before its CREATE hook runs.
 * HOOK, the default, is gwlbtun's way: gwlbd adds nothing and the hooks do it all.
 */
enum gwlb_mode {
	GWLB_MODE_HOOK = 0,
	GWLB_MODE_PASSTHROUGH,	/* back out through the ENI it came from */
	GWLB_MODE_ROUTE,	/* kernel routing; returns to the ENI by its mark */
	GWLB_MODE_NAT,		/* route + masquerade out of the uplink */
	GWLB_MODE_LOCAL,	/* only the appliance's own addresses answer */
	GWLB_MODE__MAX
};

/* --eni-mode ENI=MODE */
struct gwlb_eni_mode {
	uint64_t eni_id;
	enum gwlb_mode mode;
};

struct gwlb_opts {
	const char *create_hook;	/* -c */
	const char *destroy_hook;	/* -r */
	uint32_t eni_idle_timeout;	/* -t, seconds; 0 = never */
	uint32_t flow_timeout[GWLB_FLOW__MAX];	/* -i sets TCP; --timeout-udp etc. */
	uint16_t health_port;		/* -p; 0 = no health server */
	bool health_json;		/* -j */
	bool health_simple;		/* -s */
	bool receive_only;		/* --receive-only: no gwo, no flow table */
	uint16_t geneve_port;		/* --geneve-port, default 6081 */
	unsigned udp_threads;		/* --udpthreads; 0 = one per CPU */
	unsigned tun_threads;		/* --tunthreads; 0 = one per CPU */
	uint64_t udp_affinity[GWLB_MAX_THREADS / 64 + 1];	/* --udpaffinity CPU list; empty = none */
	uint64_t tun_affinity[GWLB_MAX_THREADS / 64 + 1];
	uint8_t log_level[GWLB_LS__MAX];	/* --logging, -d */
	struct gwlb_cidr origins[GWLB_MAX_ORIGINS];	/* --allowed-origin */
	unsigned n_origins;
	uint32_t flow_max;		/* --flow-max entries */
	uint32_t hold_max;		/* --hold-max packets held for ENIs being created */
	uint32_t max_eni;		/* --max-eni, also the highest ENI index */
	uint32_t route_table_base;	/* --route-table-base: ENI index i uses table base + i */
	uint32_t rule_prio_base;	/* --rule-priority-base: and rule priority base + i */
	const char *state_file;		/* --state-file PATH; "" = none */
	enum gwlb_mode mode;		/* --mode: every ENI's unless --eni-mode names it */
	struct gwlb_eni_mode eni_modes[GWLB_MAX_ENI_MODES];	/* --eni-mode, later wins */
	unsigned n_eni_modes;
	/* --uplink: nat mode masquerades only out of these; none = out of all but gwo-* */
	char uplinks[GWLB_MAX_UPLINKS][IFNAMSIZ];
	unsigned n_uplinks;
	uint32_t udp_rcvbuf;		/* --udp-rcvbuf bytes */
	uint32_t hook_timeout;		/* --hook-timeout seconds */
	uint16_t mtu;			/* --mtu, default 8500 */
	const char *health_addr;	/* --health-address, default all */
	const char *policy_file;	/* --policy FILE: host verdict modules behind NFQUEUE */
	const char *ctl_socket;		/* --ctl-socket PATH; "" = none */
	const char *ctl_group;		/* --ctl-group NAME: socket mode 0660 for this group */
	const char *nft_rules;		/* --nft-rules DIR; "" = none */
	const char *services_file;	/* --services FILE: DNAT-balanced services */
	const char *policy_child;	/* --policy-child FILE: internal, the policy host process */
	bool help;
	bool version;
};

void gwlb_opts_defaults(struct gwlb_opts *o);

/*
 * Parse argv into o (which holds defaults). Returns 0, or -EINVAL with a message naming
 * the option and the reason in err. Uses getopt_long: resets optind itself.
 */
int gwlb_opts_parse(struct gwlb_opts *o, int argc, char **argv, char *err, size_t errlen);

/* Apply a gwlbtun logging spec "section=level,..." ("all" is every section). */
int gwlb_opts_logging(struct gwlb_opts *o, const char *spec, char *err, size_t errlen);

/* Parse a CPU list "1-4,7" into a bitmap. 0 or -EINVAL. */
int gwlb_opts_cpulist(const char *s, uint64_t *mask, size_t words);

/* The mode of ENI eni_id: its --eni-mode, else --mode. */
enum gwlb_mode gwlb_opts_eni_mode(const struct gwlb_opts *o, uint64_t eni_id);

/* "passthrough" ... "hook"; gwlb_mode_parse returns the mode or -EINVAL. */
const char *gwlb_mode_name(enum gwlb_mode m);
int gwlb_mode_parse(const char *s);

const char *gwlb_log_section_name(enum gwlb_log_section s);
const char *gwlb_log_level_name(enum gwlb_log_level l);

/* The --help text. */
extern const char gwlb_opts_usage[];

#endif
