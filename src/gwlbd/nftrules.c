/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every file goes to libnftables as a copy in a memfd, included from a short command
 * buffer: the buffer carries what gwlbd adds (the template's defines, the deletes of the
 * tables the file owns) and nft reports errors at the copy's own lines, which we then
 * name by the real file. A buffer's own lines get no line numbers from nft 1.0.6, and one
 * nft_run_cmd_* call is one transaction: a broken file changes nothing.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "nftrules.h"

#define FILE_MAX	(4 << 20)
#define TABLES_MAX	64
#define ERRORS_MAX	32

/* A global file and the tables it owns: those it declared when it last applied. */
struct gfile {
	char *name;
	char (*tables)[96];
	unsigned n_tables;
	bool loaded;
	bool listed;		/* in the directory this time */
};

struct tpl {
	char *path;
	char *text;
	size_t len;
};

static struct {
	pthread_mutex_t lock;
	char *dir;
	struct nft_ctx *nft;
	struct gfile *g;
	unsigned n_g;
	struct tpl *t;
	unsigned n_t;
	unsigned loads;
	char *errors[ERRORS_MAX];
	unsigned n_errors, more_errors;
} N = { .lock = PTHREAD_MUTEX_INITIALIZER };

bool gwlb_nftrules_enabled(void)
{
	return N.dir != NULL;
}

bool gwlb_nftrules_present(void)
{
	struct stat st;
	bool loaded;

	if (!N.dir)
		return false;
	pthread_mutex_lock(&N.lock);
	loaded = N.n_g > 0;
	pthread_mutex_unlock(&N.lock);
	return loaded || (stat(N.dir, &st) == 0 && S_ISDIR(st.st_mode));
}

static void err_keep(const struct gwlb_nftfile_err *e)
{
	char *s;

	if (N.n_errors == ERRORS_MAX) {
		N.more_errors++;
		return;
	}
	if (asprintf(&s, "%s:%u: %s", e->file, e->line, e->reason) >= 0)
		N.errors[N.n_errors++] = s;
}

static void errors_clear(void)
{
	while (N.n_errors)
		free(N.errors[--N.n_errors]);
	N.more_errors = 0;
}

static void err_set(struct gwlb_nftfile_err *e, const char *file, unsigned line,
		    const char *reason)
{
	snprintf(e->file, sizeof(e->file), "%s", file);
	e->line = line;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

static int read_file(const char *path, char **text, size_t *len)
{
	struct stat st;
	ssize_t n;
	char *buf;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		ret = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto out;
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	n = read(fd, buf, st.st_size);
	if (n < 0) {
		ret = -errno;
		free(buf);
		goto out;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
out:
	close(fd);
	return ret;
}

/* The *.nft names in dir, sorted; -errno (-ENOENT: no such directory). */
static int list_dir(const char *dir, char ***names, size_t *n)
{
	char **v = NULL, **nv;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[cnt] = strdup(de->d_name);
		if (v[cnt])
			cnt++;
	}
	closedir(d);
	*n = gwlb_nftfile_sort_names(v, cnt);
	*names = v;
	return 0;
}

static void names_free(char **names, size_t n)
{
	while (n)
		free(names[--n]);
	free(names);
}

/*
 * A context per run: a context keeps every define it has seen, so a second file (or the
 * next ENI's template) would fail with "redefinition of symbol".
 */
static int nft_ready(void)
{
	if (N.nft)
		nft_ctx_free(N.nft);
	N.nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!N.nft)
		return -ENOMEM;
	/* Errors are values we report; listings (echo) must not reach our stdout. */
	nft_ctx_buffer_error(N.nft);
	nft_ctx_buffer_output(N.nft);
	return 0;
}

/*
 * One transaction: pre (gwlbd's commands), then text as if it were file. 0, or -EINVAL
 * with err naming file, line and nft's message.
 */
static int nft_apply(const char *pre, const char *file, const char *text, size_t len,
		     struct gwlb_nftfile_err *err)
{
	char as[64], *cmd = NULL;
	int fd, ret;

	ret = nft_ready();
	if (ret < 0) {
		err_set(err, file, 0, "cannot start libnftables");
		return ret;
	}
	fd = memfd_create("gwlbnf-nft-rules", MFD_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		ret = -errno;
		err_set(err, file, 0, strerror(errno));
		goto out;
	}
	snprintf(as, sizeof(as), "/proc/self/fd/%d", fd);
	if (asprintf(&cmd, "%sinclude \"%s\"\n", pre, as) < 0) {
		cmd = NULL;
		ret = -ENOMEM;
		err_set(err, file, 0, "out of memory");
		goto out;
	}
	if (nft_run_cmd_from_buffer(N.nft, cmd)) {
		gwlb_nftfile_parse_error(nft_ctx_get_error_buffer(N.nft), as, file, err);
		ret = -EINVAL;
	}
out:
	free(cmd);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* gwlbd's own commands, no file: "add table x; delete table x" deletes x if it exists. */
static int nft_cmd(const char *cmd, struct gwlb_nftfile_err *err)
{
	int ret = nft_ready();

	if (ret < 0) {
		err_set(err, "gwlbd", 0, "cannot start libnftables");
		return ret;
	}
	if (nft_run_cmd_from_buffer(N.nft, cmd)) {
		gwlb_nftfile_parse_error(nft_ctx_get_error_buffer(N.nft), "<cmdline>", "gwlbd", err);
		return -EINVAL;
	}
	return 0;
}

/* Append "add table T\ndelete table T\n" for each table to buf. */
static int drop_tables(char **buf, char (*tables)[96], unsigned n)
{
	unsigned i;
	char *nb;

	for (i = 0; i < n; i++) {
		if (asprintf(&nb, "%sadd table %s\ndelete table %s\n", *buf ? *buf : "",
			     tables[i], tables[i]) < 0)
			return -ENOMEM;
		free(*buf);
		*buf = nb;
	}
	return 0;
}

/* ---- global files ---- */

static struct gfile *gfile_find(const char *name)
{
	unsigned i;

	for (i = 0; i < N.n_g; i++)
		if (!strcmp(N.g[i].name, name))
			return &N.g[i];
	return NULL;
}

/* Which other file owns table t, if any. */
static const struct gfile *gfile_owner(const char *t, const struct gfile *except)
{
	unsigned i, k;

	for (i = 0; i < N.n_g; i++) {
		if (&N.g[i] == except)
			continue;
		for (k = 0; k < N.g[i].n_tables; k++)
			if (!strcmp(N.g[i].tables[k], t))
				return &N.g[i];
	}
	return NULL;
}

static void gfile_report(const struct gwlb_nftfile_err *e, const struct gfile *f)
{
	log_crit(GWLB_LS_POLICY, "nft-rules: %s:%u: %s: not applied, %s", e->file, e->line,
		 e->reason, f->loaded ? "its previous version stays" : "the file is not loaded");
	err_keep(e);
}

/* Apply one global file: its tables (before and now) deleted and made anew, in one go. */
static int gfile_apply(struct gfile *f)
{
	char path[PATH_MAX], (*tables)[96] = NULL, *text = NULL, *pre = NULL;
	struct gwlb_nftfile_err e = { 0 };
	const struct gfile *o;
	size_t len;
	int n, ret, i;

	snprintf(path, sizeof(path), "%s/%s", N.dir, f->name);
	ret = read_file(path, &text, &len);
	if (ret < 0) {
		err_set(&e, path, 0, strerror(-ret));
		goto fail;
	}
	tables = calloc(TABLES_MAX, sizeof(*tables));
	if (!tables) {
		ret = -ENOMEM;
		err_set(&e, path, 0, "out of memory");
		goto fail;
	}
	n = gwlb_nftfile_global_tables(text, len, tables, TABLES_MAX, &e);
	if (n < 0) {
		ret = n;
		snprintf(e.file, sizeof(e.file), "%s", path);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		o = gfile_owner(tables[i], f);
		if (o) {
			ret = -EEXIST;
			err_set(&e, path, 0, "");
			snprintf(e.reason, sizeof(e.reason),
				 "table %s is already %s's: one file owns a table", tables[i], o->name);
			goto fail;
		}
	}
	if (drop_tables(&pre, f->tables, f->n_tables) < 0 || drop_tables(&pre, tables, n) < 0) {
		ret = -ENOMEM;
		err_set(&e, path, 0, "out of memory");
		goto fail;
	}
	ret = nft_apply(pre ? pre : "", path, text, len, &e);
	if (ret < 0)
		goto fail;
	free(f->tables);
	f->tables = tables;
	f->n_tables = n;
	f->loaded = true;
	log_info(GWLB_LS_POLICY, "nft-rules: %s applied (%d table%s)", path, n, n == 1 ? "" : "s");
	free(text);
	free(pre);
	return 0;
fail:
	gfile_report(&e, f);
	free(tables);
	free(text);
	free(pre);
	return ret;
}

/* Delete what a file owns (it left the directory, or gwlbd stops). */
static void gfile_unload(struct gfile *f)
{
	struct gwlb_nftfile_err e = { 0 };
	char *cmd = NULL;

	if (f->n_tables && drop_tables(&cmd, f->tables, f->n_tables) == 0 && nft_cmd(cmd, &e) < 0)
		log_imp(GWLB_LS_POLICY, "nft-rules: cannot delete the tables of %s/%s: %s", N.dir,
			f->name, e.reason);
	else if (f->n_tables)
		log_info(GWLB_LS_POLICY, "nft-rules: %s/%s: its %u table%s deleted", N.dir,
			 f->name, f->n_tables, f->n_tables == 1 ? "" : "s");
	free(cmd);
	free(f->tables);
	free(f->name);
	f->tables = NULL;
	f->n_tables = 0;
}

static int gfile_cmp(const void *a, const void *b)
{
	return strcmp(((const struct gfile *)a)->name, ((const struct gfile *)b)->name);
}

static void globals_load(void)
{
	char **names = NULL;
	size_t n = 0, i;
	unsigned k, ok = 0;
	struct gfile *f, *ng;
	int ret;

	ret = list_dir(N.dir, &names, &n);
	if (ret < 0 && ret != -ENOENT)
		log_crit(GWLB_LS_POLICY, "nft-rules: cannot read %s: %s", N.dir, strerror(-ret));
	for (k = 0; k < N.n_g; k++)
		N.g[k].listed = false;
	for (i = 0; i < n; i++) {
		f = gfile_find(names[i]);
		if (f)
			f->listed = true;
	}
	/* First what left: a table may move from a removed file to another one. */
	for (k = 0; k < N.n_g;) {
		if (N.g[k].listed) {
			k++;
			continue;
		}
		gfile_unload(&N.g[k]);
		N.g[k] = N.g[--N.n_g];
	}
	ng = realloc(N.g, (N.n_g + n + 1) * sizeof(*N.g));
	if (!ng) {
		log_crit(GWLB_LS_POLICY, "nft-rules: out of memory");
		names_free(names, n);
		return;
	}
	N.g = ng;
	for (i = 0; i < n; i++) {
		f = gfile_find(names[i]);
		if (!f) {
			f = &N.g[N.n_g++];
			memset(f, 0, sizeof(*f));
			f->name = names[i];
			names[i] = NULL;
			f->listed = true;
		}
		ok += gfile_apply(f) == 0;
	}
	/* A new file that never loaded owns nothing: forget it, it is retried next time. */
	for (k = 0; k < N.n_g;) {
		if (N.g[k].loaded) {
			k++;
			continue;
		}
		free(N.g[k].name);
		free(N.g[k].tables);
		N.g[k] = N.g[--N.n_g];
	}
	qsort(N.g, N.n_g, sizeof(*N.g), gfile_cmp);
	names_free(names, n);
	if (n)
		log_imp(GWLB_LS_POLICY, "nft-rules: %u of %zu file%s in %s applied", ok, n,
			n == 1 ? "" : "s", N.dir);
}

/* ---- templates ---- */

static void templates_free(void)
{
	while (N.n_t) {
		N.n_t--;
		free(N.t[N.n_t].path);
		free(N.t[N.n_t].text);
	}
	free(N.t);
	N.t = NULL;
}

/* Read eni.d/ *.nft; one that could never stay inside its table is refused now. */
static void templates_load(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 256], **names = NULL, *text, *sub;
	struct gwlb_nftfile_err e;
	size_t n = 0, i, len, slen;
	int ret;

	templates_free();
	snprintf(dir, sizeof(dir), "%s/eni.d", N.dir);
	ret = list_dir(dir, &names, &n);
	if (ret < 0 && ret != -ENOENT)
		log_crit(GWLB_LS_POLICY, "nft-rules: cannot read %s: %s", dir, strerror(-ret));
	N.t = calloc(n + 1, sizeof(*N.t));
	for (i = 0; N.t && i < n; i++) {
		memset(&e, 0, sizeof(e));
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		ret = read_file(path, &text, &len);
		if (ret < 0) {
			err_set(&e, path, 0, strerror(-ret));
			goto bad;
		}
		/* Any table name will do for the check: each ENI's differs only there. */
		sub = gwlb_nftfile_subst_table(text, len, "gwlbnf-eni-0", &slen);
		ret = sub ? gwlb_nftfile_check_template(sub, slen, "gwlbnf-eni-0", &e) : -ENOMEM;
		free(sub);
		if (ret < 0) {
			snprintf(e.file, sizeof(e.file), "%s", path);
			if (ret == -ENOMEM)
				snprintf(e.reason, sizeof(e.reason), "out of memory");
			free(text);
			goto bad;
		}
		N.t[N.n_t].path = strdup(path);
		N.t[N.n_t].text = text;
		N.t[N.n_t].len = len;
		N.n_t++;
		continue;
bad:
		log_crit(GWLB_LS_POLICY, "nft-rules: %s:%u: %s: template not used", e.file, e.line,
			 e.reason);
		err_keep(&e);
	}
	names_free(names, n);
	if (N.n_t)
		log_imp(GWLB_LS_POLICY, "nft-rules: %u ENI template%s in %s", N.n_t,
			N.n_t == 1 ? "" : "s", dir);
}

/* ---- the API ---- */

static void load_locked(void)
{
	errors_clear();
	globals_load();
	templates_load();
	N.loads++;
}

int gwlb_nftrules_init(const char *dir)
{
	if (!dir || !dir[0])
		return 0;
	N.dir = strdup(dir);
	if (!N.dir)
		return -ENOMEM;
	pthread_mutex_lock(&N.lock);
	load_locked();
	pthread_mutex_unlock(&N.lock);
	return 0;
}

void gwlb_nftrules_reload(void)
{
	if (!N.dir)
		return;
	pthread_mutex_lock(&N.lock);
	load_locked();
	pthread_mutex_unlock(&N.lock);
}

json_t *gwlb_nftrules_json(void)
{
	json_t *files, *errs, *tpls;
	unsigned i;

	pthread_mutex_lock(&N.lock);
	files = json_array();
	errs = json_array();
	tpls = json_array();
	for (i = 0; i < N.n_g; i++)
		json_array_append_new(files, json_string(N.g[i].name));
	for (i = 0; i < N.n_t; i++)
		json_array_append_new(tpls, json_string(strrchr(N.t[i].path, '/') + 1));
	for (i = 0; i < N.n_errors; i++)
		json_array_append_new(errs, json_string(N.errors[i]));
	if (N.more_errors)
		json_array_append_new(errs, json_sprintf("(%u more)", N.more_errors));
	pthread_mutex_unlock(&N.lock);
	return json_pack("{s:s, s:o, s:o, s:o}", "dir", N.dir ? N.dir : "", "files", files,
			 "templates", tpls, "errors", errs);
}

bool gwlb_nftrules_eni_create(const struct gwlb_nftrules_eni *v)
{
	char table[GWLB_NFTFILE_TABLE_MAX], prelude[1024], *cmd = NULL, *sub;
	struct gwlb_nftfile_err e;
	unsigned i, ok = 0;
	size_t slen;

	if (!N.dir)
		return false;
	pthread_mutex_lock(&N.lock);
	if (!N.n_t || gwlb_nftfile_eni_table(v->eni_id, table, sizeof(table)) < 0 ||
	    gwlb_nftfile_prelude(v, prelude, sizeof(prelude)) < 0) {
		pthread_mutex_unlock(&N.lock);
		return false;
	}
	/* A table left by a gwlbd that crashed would add to this one's rules. */
	memset(&e, 0, sizeof(e));
	if (asprintf(&cmd, "add table inet %s\ndelete table inet %s\n", table, table) < 0 ||
	    nft_cmd(cmd, &e) < 0)
		log_imp(GWLB_LS_POLICY, "nft-rules: eni-%017llx: cannot reset table inet %s: %s",
			(unsigned long long)v->eni_id, table, e.reason);
	free(cmd);
	cmd = NULL;
	if (asprintf(&cmd, "%sadd table inet %s\n", prelude, table) < 0)
		cmd = NULL;
	for (i = 0; cmd && i < N.n_t; i++) {
		memset(&e, 0, sizeof(e));
		sub = gwlb_nftfile_subst_table(N.t[i].text, N.t[i].len, table, &slen);
		if (!sub || nft_apply(cmd, N.t[i].path, sub, slen, &e) < 0) {
			if (!sub)
				err_set(&e, N.t[i].path, 0, "out of memory");
			log_crit(GWLB_LS_POLICY, "nft-rules: eni-%017llx: %s:%u: %s: template not "
				 "applied, the ENI runs without it", (unsigned long long)v->eni_id,
				 e.file, e.line, e.reason);
		} else {
			ok++;
		}
		free(sub);
	}
	free(cmd);
	pthread_mutex_unlock(&N.lock);
	log_info(GWLB_LS_POLICY, "nft-rules: eni-%017llx: %u of %u template%s applied in table "
		 "inet %s", (unsigned long long)v->eni_id, ok, N.n_t, N.n_t == 1 ? "" : "s", table);
	return true;
}

void gwlb_nftrules_eni_destroy(uint64_t eni_id)
{
	char table[GWLB_NFTFILE_TABLE_MAX], *cmd = NULL;
	struct gwlb_nftfile_err e = { 0 };

	if (gwlb_nftfile_eni_table(eni_id, table, sizeof(table)) < 0)
		return;
	pthread_mutex_lock(&N.lock);
	if (asprintf(&cmd, "add table inet %s\ndelete table inet %s\n", table, table) < 0 ||
	    nft_cmd(cmd, &e) < 0)
		log_imp(GWLB_LS_POLICY, "nft-rules: eni-%017llx: cannot delete table inet %s: %s",
			(unsigned long long)eni_id, table, e.reason);
	else
		log_info(GWLB_LS_POLICY, "nft-rules: eni-%017llx: table inet %s deleted",
			 (unsigned long long)eni_id, table);
	pthread_mutex_unlock(&N.lock);
	free(cmd);
}

void gwlb_nftrules_fini(void)
{
	if (!N.dir)
		return;
	pthread_mutex_lock(&N.lock);
	while (N.n_g)
		gfile_unload(&N.g[--N.n_g]);
	free(N.g);
	N.g = NULL;
	templates_free();
	errors_clear();
	if (N.nft)
		nft_ctx_free(N.nft);
	N.nft = NULL;
	pthread_mutex_unlock(&N.lock);
	free(N.dir);
	N.dir = NULL;
}
