/*
 * NAME
 *	cli_metrics.h - Prometheus metrics for the long-running modes
 * SYNOPSIS
 *	cli_metrics_new(100, &m);
 *	cli_metrics_serve(m, "127.0.0.1:9464", err, sizeof(err));
 *	cli_metrics_count(m, CLI_M_SIGNED, d, s, "rsa-sha256");	(any thread)
 *	cli_metrics_free(m);
 * DESCRIPTION
 *	Counters of messages signed, failed, delivered and deferred by
 *	domain, selector and algorithm; authentication results by method
 *	and result; DNS lookups by outcome; a histogram of per-message
 *	latency; gauges of the spool backlog and the age of its oldest
 *	message. cli_metrics_serve() answers GET /metrics in Prometheus'
 *	text format (version 0.0.4) through libmicrohttpd.
 *
 *	Label sets are bounded: after max_domains distinct domains, a new
 *	domain is counted as domain="_other" (and its selector too), so a
 *	stream of hostile domains cannot grow the memory or the scrape.
 *	Label values keep printable ASCII but '"' and '\', lower-cased, at
 *	most 253 bytes; any other byte becomes '?'. Results and DNS
 *	outcomes outside their fixed vocabularies count as "other".
 *
 *	The address is ADDR:PORT, [ADDR6]:PORT or PORT alone, which binds
 *	the loopback address: the endpoint is private unless an address is
 *	given. Port 0 takes a free port; cli_metrics_port() says which.
 * OWNERSHIP
 *	Process lifetime. Counting is thread-safe (a lock for a new label
 *	set, atomics for the counts); strings are copied.
 */
#ifndef HANKO_TOOLS_CLI_METRICS_H
#define HANKO_TOOLS_CLI_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/span.h"

enum cli_metrics_action {
	CLI_M_SIGNED = 0,
	CLI_M_FAILED,
	CLI_M_DELIVERED,
	CLI_M_DEFERRED,
};

enum cli_metrics_method {
	CLI_M_SPF = 0,
	CLI_M_DKIM,
	CLI_M_DMARC,
};

struct cli_metrics;
struct buf;

/* 0, or -ENOMEM. max_domains 0 means the default, 100. */
int cli_metrics_new(size_t max_domains, struct cli_metrics **out);
/* Stop serving (waits for a scrape in progress) and free. NULL: no-op. */
void cli_metrics_free(struct cli_metrics *m);
/*
 * Serve GET /metrics on addr (see above) from libmicrohttpd's own
 * thread. 0, or an exit code (CLI_EX_USAGE for a bad address,
 * CLI_EX_OSERR when it cannot listen) with the reason in err.
 */
int cli_metrics_serve(
    struct cli_metrics *m, const char *addr, char *err, size_t errlen);
/* The TCP port being served, or 0. */
unsigned cli_metrics_port(const struct cli_metrics *m);

/*
 * One message (signed: one signature; with two keys, call twice) under
 * domain, selector and algorithm; selector and algorithm may be empty
 * spans / NULL (a failure before any key was chosen). NULL m: no-op.
 */
void cli_metrics_count(struct cli_metrics *m, enum cli_metrics_action a,
    span domain, span selector, const char *algorithm);
/* One result ("pass", "fail", ... as RFC 8601 writes them). */
void cli_metrics_result(
    struct cli_metrics *m, enum cli_metrics_method method, const char *result);
/*
 * One DNS lookup: "answer", "nxdomain", "nodata", "tempfail" (a
 * timeout or SERVFAIL), "permfail", "refused" (never sent: a name that
 * cannot exist); anything else counts as "other".
 */
void cli_metrics_dns(struct cli_metrics *m, const char *outcome);
/* Seconds one message took, into the latency histogram. */
void cli_metrics_latency(struct cli_metrics *m, double seconds);
/*
 * The spool now: n messages waiting, the oldest last modified at
 * oldest_mtime (Unix seconds; 0 when n is 0).
 */
void cli_metrics_backlog(
    struct cli_metrics *m, uint64_t n, double oldest_mtime);

/*
 * Append the exposition to b (what a scrape returns); false when b is
 * full. For tests and for the server.
 */
bool cli_metrics_write(struct cli_metrics *m, struct buf *b);

#endif
