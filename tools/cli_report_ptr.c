/*
 * cli_report_ptr.c - hanko report --ptr: the PTR names of the sources the
 * summary lists (top sources and top failing sources of each domain),
 * asked all at once through the DNS options and kept in the store, so a
 * later run asks only for addresses it has not seen. A DNS failure is
 * not cached: the next run asks again.
 */
#include "cli_report.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_dns.h"
#include "core/span.h"
#include "io/report_db.h"

#define PTR_TOP  10
#define PTR_MAX  4096 /* addresses asked per run */
#define NAME_CAP 256

struct ptr_q {
	char ip[64];
	char name[NAME_CAP];
	bool done, ok;
};

struct ptr_set {
	struct report_db *db;
	struct ptr_q *q;
	size_t n, cap;
	size_t taken; /* rows seen for the current domain and query */
	size_t pending;
	int err;
};

/* RFC 1035 §3.5 and RFC 3596 §2.5: the reverse name of an address. */
static bool
rev_name(const char *ip, char *out, size_t cap)
{
	unsigned char a[16];
	size_t len = 0;
	int i;

	if (inet_pton(AF_INET, ip, a) == 1)
		return (size_t)snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa",
		           a[3], a[2], a[1], a[0]) < cap;
	if (inet_pton(AF_INET6, ip, a) != 1 || cap < 74)
		return false;
	for (i = 15; i >= 0; i--)
		len += (size_t)snprintf(
		    out + len, cap - len, "%x.%x.", a[i] & 0xf, a[i] >> 4);
	snprintf(out + len, cap - len, "ip6.arpa");
	return true;
}

static void
want(void *cookie, const struct report_agg *a)
{
	struct ptr_set *s = cookie;
	char name[NAME_CAP];
	struct ptr_q *q;
	size_t i;

	if (s->taken++ >= PTR_TOP || s->n >= PTR_MAX)
		return;
	if (report_db_ptr_get(s->db, a->key, name, sizeof(name)) != 0)
		return;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->q[i].ip, a->key) == 0)
			return;
	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? 64 : s->cap * 2;

		if ((q = realloc(s->q, cap * sizeof(*q))) == NULL)
			return;
		s->q = q;
		s->cap = cap;
	}
	q = &s->q[s->n++];
	memset(q, 0, sizeof(*q));
	snprintf(q->ip, sizeof(q->ip), "%s", a->key);
}

static void
domain(void *cookie, const struct report_agg *a)
{
	struct ptr_set *s = cookie;

	s->taken = 0;
	if (report_db_each(s->db, REPORT_Q_IPS, a->key, want, s) != 0)
		s->err = -1;
	s->taken = 0;
	if (report_db_each(s->db, REPORT_Q_FAILING, a->key, want, s) != 0)
		s->err = -1;
}

struct ptr_cookie {
	struct ptr_set *s;
	struct ptr_q *q;
};

static void
answered(void *cookie, const struct dns_answer *ans)
{
	struct ptr_cookie *c = cookie;
	struct ptr_q *q = c->q;

	q->done = true;
	c->s->pending--;
	if (ans->rcode == DNS_OK && ans->nname > 0) {
		snprintf(q->name, sizeof(q->name), "%.*s",
		    (int)(ans->name[0].len < NAME_CAP - 1 ? ans->name[0].len
		                                          : NAME_CAP - 1),
		    (const char *)ans->name[0].p);
		q->ok = true;
	} else if (ans->rcode == DNS_NXDOMAIN || ans->rcode == DNS_NODATA ||
	    ans->rcode == DNS_OK) {
		q->ok = true; /* no name: cached as "" */
	}
}

static bool
all_done(void *arg)
{
	return ((struct ptr_set *)arg)->pending == 0;
}

int
cli_report_ptr_fill(const struct cli_dns_opts *dns, struct report_db *db)
{
	struct ptr_set s = { .db = db };
	struct ptr_cookie *ck = NULL;
	struct cli_resolver res;
	char err[256], qn[80];
	size_t i;

	if (report_db_each(db, REPORT_Q_DOMAINS, NULL, domain, &s) != 0 ||
	    s.err != 0) {
		free(s.q);
		return -1;
	}
	if (s.n == 0)
		return 0;
	if ((ck = calloc(s.n, sizeof(*ck))) == NULL ||
	    cli_resolver_open(dns, s.n, &res, err, sizeof(err)) != 0) {
		free(ck);
		free(s.q);
		return -1;
	}
	for (i = 0; i < s.n; i++) {
		ck[i].s = &s;
		ck[i].q = &s.q[i];
		if (res.ops.query == NULL ||
		    !rev_name(s.q[i].ip, qn, sizeof(qn)))
			continue;
		s.pending++;
		if (res.ops.query(res.ops.ctx, DNS_T_PTR, span_cstr(qn),
		        answered, &ck[i]) != 0 &&
		    !s.q[i].done)
			s.pending--;
	}
	cli_resolver_wait(&res, all_done, &s);
	for (i = 0; i < s.n; i++)
		if (s.q[i].ok)
			(void)report_db_ptr_put(
			    db, s.q[i].ip, s.q[i].name, (int64_t)time(NULL));
	cli_resolver_close(&res);
	free(ck);
	free(s.q);
	return 0;
}
