/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pure half of nft-rules (gwlbnf-nft-rules(5)): which files load and in which order,
 * the variables a per-ENI template gets, which tables a file touches, and nft's error
 * text turned into "file:line: message". No I/O: gwlbd's nftrules.c runs libnftables.
 */
#ifndef GWLB_NFTFILE_H
#define GWLB_NFTFILE_H

#include <stddef.h>
#include <stdint.h>

/* "gwlbnf-eni-" + 11 base-60 digits + NUL */
#define GWLB_NFTFILE_TABLE_MAX	24
/* Every table of this prefix is gwlbd's: global files may not touch one. */
#define GWLB_NFTFILE_RESERVED	"gwlbnf"

/* What a per-ENI template is told about its ENI. */
struct gwlb_nftrules_eni {
	const char *gwi, *gwo;
	uint64_t eni_id;
	uint32_t mark;		/* to come from the per-ENI state (issue 4): 0 until then */
	uint32_t zone;		/* likewise */
	uint32_t table;		/* route table; likewise */
};

/* An error as a value: the file, its line (0: none) and nft's or our reason. */
struct gwlb_nftfile_err {
	char file[4352];
	unsigned line;
	char reason[512];
};

/* "gwlbnf-eni-<base60 id>" into buf. Returns its length or -ENOSPC. */
int gwlb_nftfile_eni_table(uint64_t eni_id, char *buf, size_t len);

/*
 * The nft `define` lines for a template, one per variable, ending in a newline:
 * gwi, gwo, eni, eni_hex, eni_table (quoted strings), eni_mark, eni_zone, eni_rtable
 * (numbers). Not "mark", "zone", "table": nft 1.0.6 refuses keywords as define names.
 * Returns the length, or -ENOSPC.
 */
int gwlb_nftfile_prelude(const struct gwlb_nftrules_eni *v, char *buf, size_t len);

/*
 * Replace each $eni_table token of a template by the literal table name: nft 1.0.6 takes
 * no variable where a table name goes. Lines do not move, so nft's line numbers stay the
 * template's. Returns a malloc'ed copy (its length in *outlen) or NULL (out of memory).
 */
char *gwlb_nftfile_subst_table(const char *text, size_t len, const char *table, size_t *outlen);

/* One top-level statement and the table it names ("table inet x {", "add rule ip y ..."). */
struct gwlb_nftfile_stmt {
	unsigned line;
	char verb[16];		/* "" for the implicit add of "table x {" */
	char object[16];	/* table, chain, rule, set, ..., or "ruleset" / "include" */
	char family[16];
	char name[64];		/* "" for ruleset and include */
};

/*
 * Walk the top-level statements of an nft file, calling cb for each that names a table,
 * a ruleset or an include (defines are skipped). Stops at the first cb that returns
 * non-zero and returns that; -EINVAL with err filled (line, reason) for a statement that
 * does not say which table it is about.
 */
int gwlb_nftfile_scan(const char *text, size_t len,
		       int (*cb)(const struct gwlb_nftfile_stmt *st, void *arg), void *arg,
		       struct gwlb_nftfile_err *err);

/*
 * Check a template (after gwlb_nftfile_subst_table): everything it names must be in
 * "inet <table>". 0, or -EPERM with err (line, reason).
 */
int gwlb_nftfile_check_template(const char *text, size_t len, const char *table,
				 struct gwlb_nftfile_err *err);

/*
 * The tables a global file declares (it owns them: gwlbd deletes them before it applies
 * the file again, and at shutdown), as "family name" strings in names[0..max-1]. Refuses
 * (-EPERM, err filled) "flush ruleset", a table of gwlbd's own (gwlbnf*), a name that is
 * a variable. Returns how many, or -ENOSPC with more than max.
 */
int gwlb_nftfile_global_tables(const char *text, size_t len, char names[][96], unsigned max,
				struct gwlb_nftfile_err *err);

/*
 * Keep the names that load (*.nft, not hidden), in name order (bytewise, like ls in the C
 * locale): the entries that do not load are freed. Returns how many are left.
 */
size_t gwlb_nftfile_sort_names(char **names, size_t n);

/*
 * nft's error buffer -> err. nft names the file it read as `as` (gwlbd feeds it a copy):
 * that is shown as `file`. The first "PATH:LINE:COL: Error: MSG" gives line and reason;
 * without one, the first "Error: ..." line; without that, the whole text's first line.
 */
void gwlb_nftfile_parse_error(const char *nft_err, const char *as, const char *file,
			       struct gwlb_nftfile_err *err);

#endif
