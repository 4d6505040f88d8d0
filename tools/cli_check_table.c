/*
 * hanko check --key-table FILE --signing-table FILE: every (domain,
 * selector, key) of an OpenDKIM KeyTable in one asynchronous pass.
 *
 * KeyTable lines are grouped by signing domain, one audit per domain
 * with all its selectors and keys. Up to CHECK_TABLE_WINDOW audits are
 * in flight at once on one resolver (their queries all outstanding
 * together); results are printed in domain order as the oldest audit
 * finishes, so memory stays bounded by the window, not the table. A
 * KeyTable line whose domain is "%" is named by the From domain at
 * signing time and has no fixed record to audit: it is reported on
 * stderr and skipped.
 *
 * Reading a PEM key through OpenSSL 3's decoders costs more than the
 * audit's DNS, so the keys of the next CHECK_TABLE_WINDOW domains are read
 * ahead by one thread per CPU (at most CHECK_TABLE_THREADS); the DNS
 * pass itself stays on this thread.
 */
#include "cli.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli_check.h"
#include "cli_dns.h"
#include "cli_table.h"
#include "core/check.h"

/*
 * Audits in flight: DKIM-only audits ask one query per selector, --all
 * about fifteen more each; both windows stay well under the resolver's
 * limit of distinct queries in flight, past which a query would fail.
 */
#define CHECK_TABLE_WINDOW     1024
#define CHECK_TABLE_WINDOW_ALL 128
#define CHECK_TABLE_INFLIGHT   8192
#define CHECK_TABLE_THREADS    8

/* One domain's audit; lives while it is in the window. */
struct tjob {
	const char *domain;
	size_t first, n; /* its entries in the sorted index */
	struct arena ar;
	struct check *c;
	struct check_selector *sel;
	struct cli_check_key *keys;
	bool bad;  /* the domain is not a DNS name, or out of memory */
	bool read; /* keys read (by a reader thread) */
};

/* One KeyTable entry to audit. */
struct tent {
	const struct cli_key_entry *k;
};

struct table_run {
	const struct cli_keytable *kt;
	struct tent *ent; /* sorted by domain */
	size_t nent;
	struct tjob *jobs;
	size_t njobs;
	struct core_env env;
	size_t arena_limit;
	unsigned what;
	size_t window;
	bool dnssec;
	size_t nread;           /* jobs [0, nread) have their keys */
	atomic_size_t readnext; /* the next job a reader takes */
	size_t readend;
};

static int
by_domain(const void *a, const void *b)
{
	const struct cli_key_entry *x = ((const struct tent *)a)->k;
	const struct cli_key_entry *y = ((const struct tent *)b)->k;
	int r = strcasecmp(x->domain, y->domain);

	return r != 0 ? r : (x->line > y->line) - (x->line < y->line);
}

/* Sort the usable entries and cut them into one job per domain. */
static int
table_jobs(struct table_run *t)
{
	size_t i, n = cli_keytable_count(t->kt);

	if ((t->ent = calloc(n + 1, sizeof(*t->ent))) == NULL ||
	    (t->jobs = calloc(n + 1, sizeof(*t->jobs))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const struct cli_key_entry *k = cli_keytable_entry(t->kt, i);

		if (strcmp(k->domain, "%") == 0) {
			cli_warn("KeyTable line %u (%s): domain %% is the From "
			         "domain at signing time; not audited",
			    k->line, k->name);
			continue;
		}
		t->ent[t->nent++].k = k;
	}
	qsort(t->ent, t->nent, sizeof(*t->ent), by_domain);
	for (i = 0; i < t->nent; i++) {
		if (t->njobs == 0 ||
		    strcasecmp(t->ent[i].k->domain,
		        t->jobs[t->njobs - 1].domain) != 0) {
			t->jobs[t->njobs].domain = t->ent[i].k->domain;
			t->jobs[t->njobs++].first = i;
		}
		t->jobs[t->njobs - 1].n++;
	}
	return 0;
}

/* keypath with each '%' replaced by the domain (OpenDKIM's rule). */
static void
key_path(const char *path, const char *domain, char *out, size_t len)
{
	size_t o = 0, dl = strlen(domain);

	for (; *path != '\0' && o + 1 < len; path++) {
		if (*path == '%' && o + dl < len) {
			memcpy(out + o, domain, dl);
			o += dl;
		} else if (*path != '%') {
			out[o++] = *path;
		}
	}
	out[o] = '\0';
}

/* Read one job's private keys; thread-safe (touches only j). */
static void
job_read(struct table_run *t, struct tjob *j)
{
	char path[CLI_PATH_MAX];
	size_t i;

	j->read = true;
	j->sel = calloc(j->n, sizeof(*j->sel));
	j->keys = calloc(j->n, sizeof(*j->keys));
	if (j->sel == NULL || j->keys == NULL) {
		j->bad = true;
		return;
	}
	for (i = 0; i < j->n; i++) {
		const struct cli_key_entry *k = t->ent[j->first + i].k;

		j->sel[i].name = span_cstr(k->selector);
		key_path(k->keypath, j->domain, path, sizeof(path));
		cli_check_key_read(path, &j->keys[i]);
		j->sel[i].key = j->keys[i].loaded ? &j->keys[i].key : NULL;
		j->sel[i].key_error = j->keys[i].loaded ? NULL : j->keys[i].err;
	}
}

static void *
reader(void *arg)
{
	struct table_run *t = arg;
	size_t i;

	while ((i = atomic_fetch_add(&t->readnext, 1)) < t->readend)
		job_read(t, &t->jobs[i]);
	return NULL;
}

/* Read the keys of the next window of jobs, in parallel. */
static void
read_ahead(struct table_run *t)
{
	pthread_t th[CHECK_TABLE_THREADS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cpus < 1 ? 1 : (size_t)cpus, i, started = 0;

	if (n > CHECK_TABLE_THREADS)
		n = CHECK_TABLE_THREADS;
	t->readend =
	    t->nread + t->window < t->njobs ? t->nread + t->window : t->njobs;
	atomic_store(&t->readnext, t->nread);
	for (i = 1; i < n; i++)
		if (pthread_create(&th[started], NULL, reader, t) == 0)
			started++;
	reader(t); /* this thread reads too; alone if no thread starts */
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	t->nread = t->readend;
}

static void
job_start(struct table_run *t, struct tjob *j)
{
	struct check_request req;

	if (!j->read)
		job_read(t, j);
	if (j->bad)
		return;
	memset(&req, 0, sizeof(req));
	req.domain = span_cstr(j->domain);
	req.sel = j->sel;
	req.nsel = j->n;
	req.what = t->what;
	req.dnssec = t->dnssec;
	arena_init(&j->ar, t->env.alloc, 16 << 10, t->arena_limit);
	if (check_start(&t->env, &req, &j->ar, &j->c) == CHECK_R_ARG) {
		arena_fini(&j->ar);
		j->bad = true;
	}
}

static bool
job_is_done(const struct tjob *j)
{
	return j->bad || check_is_done(j->c);
}

static bool
head_done(void *arg)
{
	return job_is_done(arg);
}

static int
job_finish(struct tjob *j, bool json, struct cli_check_tally *tally)
{
	size_t i;
	int r = 0;

	if (j->bad) {
		cli_err("KeyTable domain '%s' cannot be audited (not a domain "
		        "name, or out of memory)",
		    j->domain);
		tally->errors++;
	} else {
		r = cli_check_print(j->c, json, &j->ar, tally);
		check_fini(j->c);
		arena_fini(&j->ar);
	}
	for (i = 0; j->keys != NULL && i < j->n; i++)
		cli_check_key_fini(&j->keys[i]);
	free(j->keys);
	free(j->sel);
	j->keys = NULL;
	j->sel = NULL;
	return r;
}

static int
table_pass(struct table_run *t, struct cli_resolver *res, bool json,
    struct cli_check_tally *tally)
{
	size_t head = 0, next = 0;
	int r = 0, w;

	while (head < t->njobs) {
		while (next < t->njobs && next - head < t->window) {
			if (next == t->nread)
				read_ahead(t);
			job_start(t, &t->jobs[next++]);
		}
		cli_resolver_wait(res, head_done, &t->jobs[head]);
		while (head < next && job_is_done(&t->jobs[head]))
			if ((w = job_finish(&t->jobs[head++], json, tally)) !=
			    0)
				r = w;
	}
	return r;
}

int
cli_check_table(struct cli_env *e, const struct cli_dns_opts *dns,
    const char *keytable, const char *signtable, bool all, bool json)
{
	struct cli_check_tally tally = { 0, false, false };
	struct cli_keytable *kt = NULL;
	struct cli_signtable *st = NULL;
	struct table_run t;
	struct cli_resolver res;
	char err[512];
	int r;

	memset(&t, 0, sizeof(t));
	if (cli_keytable_load(keytable, &kt, err, sizeof(err)) != 0 ||
	    cli_signtable_load(signtable, kt, &st, err, sizeof(err)) != 0) {
		cli_err("%s", err);
		cli_keytable_free(kt);
		return CLI_EX_CONFIG;
	}
	t.kt = kt;
	t.env = e->core;
	t.arena_limit = e->limits.max_arena_bytes;
	t.what = all ? CHECK_W_ALL : CHECK_W_DKIM;
	t.window = all ? CHECK_TABLE_WINDOW_ALL : CHECK_TABLE_WINDOW;
	t.dnssec = dns->trust_anchor != NULL;
	if (table_jobs(&t) != 0) {
		cli_err("out of memory");
		r = CLI_EX_SOFTWARE;
	} else if ((r = cli_resolver_open(dns, CHECK_TABLE_INFLIGHT, &res, err,
	                sizeof(err))) != 0) {
		cli_err("%s", err);
	} else {
		t.env.dns = &res.ops;
		r = table_pass(&t, &res, json, &tally);
		if (r == 0)
			r = cli_check_exit(&tally);
		cli_resolver_close(&res);
	}
	free(t.jobs);
	free(t.ent);
	cli_signtable_free(st);
	cli_keytable_free(kt);
	return r;
}
