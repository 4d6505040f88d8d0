/*
 * The operating options (cli_ops.h): per-message log lines and metrics
 * for the spool modes and filter mode.
 */
#include "cli_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_metrics.h"
#include "core/arena.h"
#include "core/auth.h"
#include "core/dkim.h"
#include "core/dkim_key.h"
#include "core/dkim_sign.h"
#include "core/dkim_verify.h"
#include "core/dmarc.h"
#include "core/hdr.h"
#include "core/spf.h"
#include "io/spool.h"

const char cli_ops_usage[] =
    "OPERATING (long-running modes):\n"
    "  --log FILE|-|syslog        one line per message (FILE is appended to,\n"
    "                             never through a symbolic link)\n"
    "  --log-format text|json     key=value text (default) or JSON lines\n"
    "  --log-level error|warning|info\n"
    "                             error: failures only; warning: also what is\n"
    "                             left for a retry; info (default): every message\n"
    "  --metrics ADDR:PORT        serve Prometheus metrics at /metrics (PORT\n"
    "                             alone: loopback)\n"
    "  --metrics-max-domains N    domains labelled apart before \"_other\"\n"
    "                             (default 100)\n"
    "  --queue-id ID              filter mode: the MTA's id, for the log\n";

int
cli_ops_opt(struct cli_ops_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case CLI_OPT_LOG:
		o->log = arg;
		return 0;
	case CLI_OPT_LOGFMT:
		if (cli_log_parse_format(arg, &o->format))
			return 0;
		cli_err("--log-format %s: use text or json", arg);
		return CLI_EX_USAGE;
	case CLI_OPT_LOGLEVEL:
		if (cli_log_parse_level(arg, &o->level))
			return 0;
		cli_err("--log-level %s: use error, warning or info", arg);
		return CLI_EX_USAGE;
	case CLI_OPT_METRICS:
		o->metrics = arg;
		return 0;
	case CLI_OPT_METRICS_DOMAINS:
		if (cli_parse_u64(arg, &o->max_domains) && o->max_domains > 0 &&
		    o->max_domains <= 100000)
			return 0;
		cli_err("--metrics-max-domains %s: 1 to 100000", arg);
		return CLI_EX_USAGE;
	case CLI_OPT_QUEUEID:
		o->queue_id = arg;
		return 0;
	default:
		return CLI_OPS_NOT_MINE;
	}
}

int
cli_ops_start(const struct cli_ops_opts *o, struct cli_ops *ops, bool serving,
    char *err, size_t errlen)
{
	int r;

	memset(ops, 0, sizeof(*ops));
	if (o->log != NULL &&
	    (r = cli_log_open(
	         o->log, o->format, o->level, &ops->log, err, errlen)) != 0)
		return r;
	if (o->metrics == NULL || !serving)
		return 0;
	if (cli_metrics_new((size_t)o->max_domains, &ops->metrics) != 0) {
		snprintf(err, errlen, "out of memory");
		return CLI_EX_SOFTWARE;
	}
	if ((r = cli_metrics_serve(ops->metrics, o->metrics, err, errlen)) != 0)
		return r;
	fprintf(stderr, "hanko: metrics on port %u (%s)\n",
	    cli_metrics_port(ops->metrics), o->metrics);
	return 0;
}

void
cli_ops_stop(struct cli_ops *ops)
{
	cli_metrics_free(ops->metrics);
	cli_log_close(ops->log);
	ops->metrics = NULL;
	ops->log = NULL;
}

bool
cli_ops_active(const struct cli_ops *ops)
{
	return ops->log != NULL || ops->metrics != NULL;
}

struct cli_ops_note *
cli_ops_note_new(struct arena *ar, span from)
{
	struct cli_ops_note *n = arena_alloc(ar, sizeof(*n));

	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof(*n));
	if (from.len > 0)
		n->from_domain = hdr_addr_domain(from);
	return n;
}

static const char *
key_alg(const struct dkim_privkey *k)
{
	return dkim_alg_str(k != NULL && k->type == DKIM_KEY_ED25519
	        ? DKIM_ALG_ED25519_SHA256
	        : DKIM_ALG_RSA_SHA256);
}

bool
cli_ops_note_sigs(struct cli_ops_note *note, struct arena *ar,
    const struct dkim_sign_conf *confs, size_t n)
{
	size_t i;

	if (note == NULL || n == 0)
		return note != NULL;
	if ((note->sigs = arena_alloc(ar, n * sizeof(*note->sigs))) == NULL)
		return false;
	for (i = 0; i < n; i++) {
		note->sigs[i].domain = confs[i].domain;
		note->sigs[i].selector = confs[i].selector;
		note->sigs[i].algorithm = key_alg(confs[i].key);
	}
	note->nsigs = n;
	return true;
}

/* Published, failed and left, as logs and metrics name them. */
static void
fate_words(enum spool_fate f, const char **action, enum cli_log_level *level)
{
	switch (f) {
	case SPOOL_PUBLISHED:
		*action = "published";
		*level = CLI_LOG_INFO;
		return;
	case SPOOL_FAILED:
		*action = "failed";
		*level = CLI_LOG_ERROR;
		return;
	case SPOOL_LEFT:
		break;
	}
	*action = "left";
	*level = CLI_LOG_WARNING;
}

static void
count(struct cli_ops *ops, enum spool_fate fate, const struct cli_ops_note *n,
    double seconds)
{
	size_t i;

	if (ops->metrics == NULL || fate == SPOOL_LEFT)
		return;
	if (fate == SPOOL_FAILED) {
		cli_metrics_count(ops->metrics, CLI_M_FAILED,
		    n != NULL ? n->from_domain : SPAN_LIT(""), SPAN_LIT(""),
		    NULL);
	} else if (n == NULL || n->nsigs == 0) {
		/* Published by recovery: signed by an earlier run. */
		cli_metrics_count(ops->metrics, CLI_M_SIGNED, SPAN_LIT(""),
		    SPAN_LIT(""), NULL);
	} else {
		for (i = 0; i < n->nsigs; i++)
			cli_metrics_count(ops->metrics, CLI_M_SIGNED,
			    n->sigs[i].domain, n->sigs[i].selector,
			    n->sigs[i].algorithm);
	}
	if (n != NULL)
		cli_metrics_latency(ops->metrics, seconds);
}

void
cli_ops_spool_outcome(struct cli_ops *ops, const struct spool_outcome *o)
{
	const struct cli_ops_note *n = o->note;
	struct cli_log_rec rec;

	memset(&rec, 0, sizeof(rec));
	fate_words(o->fate, &rec.action, &rec.level);
	count(ops, o->fate, n, o->seconds);
	if (!cli_log_wants(ops->log, rec.level))
		return;
	rec.id = span_cstr(o->name);
	rec.reason = span_cstr(o->reason);
	rec.seconds = o->seconds;
	if (n != NULL) {
		rec.from_domain = n->from_domain;
		if (o->fate == SPOOL_PUBLISHED) {
			rec.sigs = n->sigs;
			rec.nsigs = n->nsigs;
		}
	}
	cli_log_msg(ops->log, &rec);
}

void
cli_ops_filter(struct cli_ops *ops, const struct cli_ops_opts *o,
    const struct cli_ops_note *note, const char *reason, double seconds)
{
	struct cli_log_rec rec;

	memset(&rec, 0, sizeof(rec));
	if (reason != NULL) {
		rec.level = CLI_LOG_ERROR;
		rec.action = "failed";
	} else if (note == NULL || note->nsigs == 0) {
		rec.level = CLI_LOG_WARNING; /* no SigningTable line */
		rec.action = "unsigned";
	} else {
		rec.level = CLI_LOG_INFO;
		rec.action = "signed";
	}
	rec.id = span_cstr(o->queue_id != NULL ? o->queue_id : "");
	rec.reason = span_cstr(reason != NULL ? reason : "");
	rec.seconds = seconds;
	if (note != NULL) {
		rec.from_domain = note->from_domain;
		rec.sigs = note->sigs;
		rec.nsigs = note->nsigs;
	}
	cli_log_msg(ops->log, &rec);
}

/* Results a log line lists: SPF, up to this many signatures, DMARC. */
#define AUTH_LOG_SIGS 16

void
cli_ops_auth(struct cli_ops *ops, span id, const struct auth_result *r,
    const char *action, double seconds)
{
	struct cli_log_result res[AUTH_LOG_SIGS + 2];
	struct cli_log_rec rec;
	size_t n = 0, i;

	if (r->spf_run && r->spf != NULL) {
		res[n].method = "spf";
		res[n].result = spf_result_str(r->spf->result);
		res[n++].domain = r->spf->domain;
	}
	for (i = 0; i < r->ndkim; i++) {
		const char *v = dkim_verdict_str(r->dkim[i].verdict);

		cli_metrics_result(ops->metrics, CLI_M_DKIM, v);
		if (i >= AUTH_LOG_SIGS)
			continue;
		res[n].method = "dkim";
		res[n].result = v;
		res[n++].domain = r->dkim[i].d;
	}
	if (r->dmarc != NULL) {
		res[n].method = "dmarc";
		res[n].result = dmarc_result_str(r->dmarc->result);
		res[n++].domain = r->dmarc_from;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(res[i].method, "spf") == 0)
			cli_metrics_result(
			    ops->metrics, CLI_M_SPF, res[i].result);
		else if (strcmp(res[i].method, "dmarc") == 0)
			cli_metrics_result(
			    ops->metrics, CLI_M_DMARC, res[i].result);
	}
	cli_metrics_latency(ops->metrics, seconds);
	memset(&rec, 0, sizeof(rec));
	rec.level = r->error != NULL ? CLI_LOG_ERROR : CLI_LOG_INFO;
	rec.id = id;
	rec.from_domain = r->from_domain;
	rec.results = res;
	rec.nresults = n;
	rec.action = r->error != NULL ? "failed" : action;
	rec.reason = span_cstr(r->error != NULL ? r->error : "");
	rec.seconds = seconds;
	cli_log_msg(ops->log, &rec);
}

/* One query in flight: whose answer it is. */
struct cli_ops_dnsq {
	struct cli_ops_dns *d;
	dns_done_fn *done; /* NULL: the slot is free */
	void *cookie;
};

static const char *
dns_outcome(enum dns_rcode rc)
{
	switch (rc) {
	case DNS_OK:
		return "answer";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_PERMFAIL:
		break;
	}
	return "permfail";
}

static void
dns_counted(void *cookie, const struct dns_answer *ans)
{
	struct cli_ops_dnsq *q = cookie;
	dns_done_fn *done = q->done;
	void *arg = q->cookie;

	cli_metrics_dns(q->d->m, dns_outcome(ans->rcode));
	q->done = NULL;
	done(arg, ans);
}

/* A free slot, or NULL when every one is in flight. */
static struct cli_ops_dnsq *
dns_slot(struct cli_ops_dns *d)
{
	size_t i;

	for (i = 0; i < d->nslots; i++) {
		struct cli_ops_dnsq *q = &d->slots[(d->next + i) % d->nslots];

		if (q->done == NULL) {
			d->next = (d->next + i + 1) % d->nslots;
			q->d = d;
			return q;
		}
	}
	return NULL;
}

static int
dns_query(
    void *ctx, uint16_t qtype, span qname, dns_done_fn *done, void *cookie)
{
	struct cli_ops_dns *d = ctx;
	struct cli_ops_dnsq *q = dns_slot(d);
	int r;

	if (q == NULL)
		return qtype == DNS_T_TXT
		    ? d->inner.txt(d->inner.ctx, qname, done, cookie)
		    : d->inner.query(d->inner.ctx, qtype, qname, done, cookie);
	q->done = done;
	q->cookie = cookie;
	r = qtype == DNS_T_TXT
	    ? d->inner.txt(d->inner.ctx, qname, dns_counted, q)
	    : d->inner.query(d->inner.ctx, qtype, qname, dns_counted, q);
	if (r != 0) {
		q->done = NULL; /* refused: no answer will come */
		cli_metrics_dns(d->m, "refused");
	}
	return r;
}

static int
dns_txt(void *ctx, span qname, dns_done_fn *done, void *cookie)
{
	return dns_query(ctx, DNS_T_TXT, qname, done, cookie);
}

int
cli_ops_dns_init(struct cli_ops_dns *d, const struct cli_ops *ops,
    struct dns_ops *dns, size_t nslots)
{
	memset(d, 0, sizeof(*d));
	if (ops->metrics == NULL || nslots == 0)
		return 0;
	if ((d->slots = calloc(nslots, sizeof(*d->slots))) == NULL)
		return -ENOMEM;
	d->inner = *dns;
	d->m = ops->metrics;
	d->nslots = nslots;
	dns->ctx = d;
	dns->txt = dns_txt;
	dns->query = d->inner.query != NULL ? dns_query : NULL;
	return 0;
}

void
cli_ops_dns_fini(struct cli_ops_dns *d)
{
	free(d->slots);
	d->slots = NULL;
	d->nslots = 0;
}
