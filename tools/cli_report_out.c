/*
 * cli_report_out.c - the hanko report summary: text, JSON and CSV, all
 * from the store (the whole database, not only this run's input).
 */
#include "cli_report.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli_json.h"
#include "core/span.h"
#include "io/report_db.h"

#define TOP_SOURCES 10

static void
json_str(FILE *f, const char *s)
{
	uint8_t tmp[8192];
	struct buf b;

	buf_init_fixed(&b, tmp, sizeof(tmp));
	/* Values are at most a few hundred bytes; cut rather than fail. */
	if (!cli_json_str(&b, span_make(s, strnlen(s, 1024))))
		fputs("\"\"", f);
	else
		fwrite(b.p, 1, b.len, f);
}

struct json_ctx {
	FILE *f;
	bool first;
};

static void
json_domain(void *cookie, const struct report_agg *a)
{
	struct json_ctx *c = cookie;

	fputs(c->first ? "" : ",", c->f);
	c->first = false;
	json_str(c->f, a->key);
	fprintf(c->f,
	    ":{\"messages\":%" PRIu64 ",\"dmarc_pass\":%" PRIu64
	    ",\"dkim_aligned\":%" PRIu64 ",\"spf_aligned\":%" PRIu64
	    ",\"dmarc_fail\":%" PRIu64 ",\"dkim_pass_unaligned\":%" PRIu64
	    ",\"spf_pass_unaligned\":%" PRIu64 ",\"quarantined\":%" PRIu64
	    ",\"rejected\":%" PRIu64 ",\"reports\":%" PRIu64 "}",
	    a->messages, a->dmarc_pass, a->dkim_aligned, a->spf_aligned,
	    a->messages - a->dmarc_pass, a->dkim_pass_unaligned,
	    a->spf_pass_unaligned, a->quarantined, a->rejected, a->reports);
}

int
cli_report_json(FILE *f, struct report_db *db, const struct cli_report_run *run)
{
	struct json_ctx c = { .f = f, .first = true };
	size_t i;

	fprintf(f, "{\"reports\":%zu,\"duplicates\":%zu,\"rejected\":[",
	    run->nnew, run->ndup);
	for (i = 0; i < run->nrej; i++) {
		fputs(i > 0 ? ",{\"file\":" : "{\"file\":", f);
		json_str(f, run->rej[i].file);
		fputs(",\"reason\":", f);
		json_str(f, run->rej[i].reason);
		fputc('}', f);
	}
	fputs("],\"domains\":{", f);
	if (report_db_each(db, REPORT_Q_DOMAINS, NULL, json_domain, &c) != 0)
		return -1;
	fputs("}}\n", f);
	return 0;
}

static double
pct(uint64_t part, uint64_t whole)
{
	return whole == 0 ? 0.0 : 100.0 * (double)part / (double)whole;
}

struct text_ctx {
	FILE *f;
	struct report_db *db;
	size_t n;
	int err;
	bool ips; /* keys are source IPs: show cached PTR names */
};

/* "IP (name)" when the PTR cache knows a name, else the key. */
static const char *
label(const struct text_ctx *c, const char *key, char *buf, size_t cap)
{
	char name[256];

	if (!c->ips || report_db_ptr_get(c->db, key, name, sizeof(name)) != 1 ||
	    name[0] == '\0')
		return key;
	snprintf(buf, cap, "%s (%s)", key, name);
	return buf;
}

static void
text_group(void *cookie, const struct report_agg *a)
{
	struct text_ctx *c = cookie;
	char buf[400];

	if (c->n++ >= TOP_SOURCES)
		return;
	fprintf(c->f,
	    "    %-40s %10" PRIu64 " msgs  pass %5.1f%%  dkim %5.1f%%  spf "
	    "%5.1f%%\n",
	    label(c, a->key, buf, sizeof(buf)), a->messages,
	    pct(a->dmarc_pass, a->messages), pct(a->dkim_aligned, a->messages),
	    pct(a->spf_aligned, a->messages));
}

/*
 * What a failing source most likely is (RFC 9989 §5.3/§7 and RFC 7960):
 * a DKIM pass for another domain is a forwarder or list that kept the
 * signature of whoever re-signed; an SPF pass for another envelope domain
 * is a service sending with its own bounce address; nothing passing at
 * all is spoofing or a sender nobody set up.
 */
static const char *
classify(const struct report_agg *a)
{
	if (a->dkim_pass_unaligned > 0)
		return "forwarder or mailing list (DKIM passes, not aligned)";
	if (a->spf_pass_unaligned > 0)
		return "unaligned sender (SPF passes for another domain)";
	return "spoofing or unauthenticated (neither DKIM nor SPF passes)";
}

static void
text_failing(void *cookie, const struct report_agg *a)
{
	struct text_ctx *c = cookie;
	char buf[400];

	if (c->n++ >= TOP_SOURCES)
		return;
	fprintf(c->f, "    %-40s %10" PRIu64 " msgs  %s\n",
	    label(c, a->key, buf, sizeof(buf)), a->messages, classify(a));
}

/* The UTC day of t as YYYY-MM-DD (the number itself if out of range). */
void
cli_report_day(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, cap, "%Y-%m-%d", &tm) == 0)
		snprintf(out, cap, "%" PRId64, t);
}

static void
text_period(void *cookie, const struct report_agg *a)
{
	struct text_ctx *c = cookie;
	char b[32], e[32];

	cli_report_day(a->day, b, sizeof(b));
	cli_report_day(a->end, e, sizeof(e));
	fprintf(
	    c->f, "  period %s .. %s, %" PRIu64 " reports\n", b, e, a->reports);
}

/*
 * The tightening verdict: failing mail that still authenticated somehow
 * (DKIM or SPF passed for some domain) looks legitimate, and quarantine
 * or reject would have hit it; failing mail with no pass at all is what
 * the policy is meant to stop.
 */
static void
verdict(FILE *f, const struct report_agg *a)
{
	uint64_t fail = a->messages - a->dmarc_pass;
	uint64_t legit = a->auth_unaligned;

	fprintf(f, "  verdict: ");
	if (fail == 0) {
		fprintf(f,
		    "safe to tighten: all %" PRIu64 " messages passed "
		    "DMARC\n",
		    a->messages);
		return;
	}
	if (legit == 0) {
		fprintf(f,
		    "safe to tighten: the %" PRIu64 " failing messages "
		    "(%.1f%%) show no DKIM or SPF pass at all; "
		    "quarantine/reject would stop only those\n",
		    fail, pct(fail, a->messages));
		return;
	}
	fprintf(f,
	    "not yet: quarantine/reject would have hit %" PRIu64 " of %" PRIu64
	    " messages (%.1f%%), %" PRIu64 " of them "
	    "legitimate-looking (DKIM or SPF passed, not aligned: %" PRIu64
	    " DKIM, %" PRIu64 " SPF); align those sources first\n",
	    fail, a->messages, pct(fail, a->messages), legit,
	    a->dkim_pass_unaligned, a->spf_pass_unaligned);
}

static void
text_domain(void *cookie, const struct report_agg *a)
{
	struct text_ctx *c = cookie;
	struct text_ctx g = { .f = c->f, .db = c->db };

	fprintf(c->f, "%s: %" PRIu64 " messages\n", a->key, a->messages);
	if (report_db_each(c->db, REPORT_Q_PERIOD, a->key, text_period, &g) !=
	    0)
		c->err = -1;
	fprintf(c->f,
	    "  DMARC pass %.1f%% (%" PRIu64 "), DKIM aligned %.1f%% (%" PRIu64
	    "), SPF aligned %.1f%% (%" PRIu64 ")\n",
	    pct(a->dmarc_pass, a->messages), a->dmarc_pass,
	    pct(a->dkim_aligned, a->messages), a->dkim_aligned,
	    pct(a->spf_aligned, a->messages), a->spf_aligned);
	fprintf(c->f, "  by reporting org:\n");
	g.n = 0;
	c->err |= report_db_each(c->db, REPORT_Q_ORGS, a->key, text_group, &g);
	fprintf(c->f, "  by source IP (top %d):\n", TOP_SOURCES);
	g.n = 0;
	g.ips = true;
	c->err |= report_db_each(c->db, REPORT_Q_IPS, a->key, text_group, &g);
	if (a->messages > a->dmarc_pass) {
		fprintf(c->f, "  failing sources (top %d):\n", TOP_SOURCES);
		g.n = 0;
		c->err |= report_db_each(
		    c->db, REPORT_Q_FAILING, a->key, text_failing, &g);
	}
	verdict(c->f, a);
}

int
cli_report_text(FILE *f, struct report_db *db, const struct cli_report_run *run)
{
	struct text_ctx c = { .f = f, .db = db };

	fprintf(f, "%zu new reports, %zu duplicates, %zu rejected\n", run->nnew,
	    run->ndup, run->nrej);
	if (report_db_each(db, REPORT_Q_DOMAINS, NULL, text_domain, &c) != 0)
		return -1;
	return c.err;
}

/* RFC 4180: quote a field holding a comma, quote or line break. */
static void
csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
csv_row(
    void *cookie, size_t n, const char *const *names, const char *const *vals)
{
	FILE *f = cookie;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', f);
		csv_field(f, vals != NULL ? vals[i] : names[i]);
	}
	fputs("\r\n", f);
}

int
cli_report_csv(FILE *f, struct report_db *db)
{
	return report_db_rows(db, csv_row, f);
}
