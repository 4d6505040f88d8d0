/*
 * NAME
 *	cli_ops.h - the operating options every long-running mode shares
 * SYNOPSIS
 *	getopt_long(..., longopts with CLI_OPS_LONGOPTS, ...);
 *	cli_ops_opt(&o->ops, ch, optarg);	(CLI_OPS_NOT_MINE if not ours)
 *	cli_ops_start(&o->ops, &ops, true, err, sizeof(err));
 *	cli_ops_spool_outcome(&ops, spool_outcome);	(any thread)
 *	cli_ops_stop(&ops);
 * DESCRIPTION
 *	--log FILE|-|syslog, --log-format text|json, --log-level
 *	error|warning|info, --metrics ADDR:PORT, --metrics-max-domains N,
 *	--queue-id ID: parsed here so sign, the milter and delivery take
 *	the same options with the same meaning. A spool mode notes each
 *	message's From domain and signatures as it signs (cli_ops_note_*)
 *	and hands each outcome to cli_ops_spool_outcome(), which writes the
 *	log line and counts the metrics at the moment the run's summary
 *	counts the message, so a scrape and the summary agree.
 * OWNERSHIP
 *	Options: process lifetime strings from argv. struct cli_ops: process
 *	lifetime, shared read-only by the workers once started. Notes live
 *	in the worker's message arena.
 */
#ifndef HANKO_TOOLS_CLI_OPS_H
#define HANKO_TOOLS_CLI_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli_log.h"
#include "core/dns.h"
#include "core/span.h"

struct arena;
struct auth_result;
struct cli_metrics;
struct cli_ops_dnsq;
struct dkim_sign_conf;
struct spool_outcome;

enum cli_ops_opt {
	CLI_OPT_LOG = 768,
	CLI_OPT_LOGFMT,
	CLI_OPT_LOGLEVEL,
	CLI_OPT_METRICS,
	CLI_OPT_METRICS_DOMAINS,
	CLI_OPT_QUEUEID,
};

/* Entries for a struct option array (getopt_long). */
/* clang-format off */
#define CLI_OPS_LONGOPTS \
	{ "log", required_argument, NULL, CLI_OPT_LOG }, \
	{ "log-format", required_argument, NULL, CLI_OPT_LOGFMT }, \
	{ "log-level", required_argument, NULL, CLI_OPT_LOGLEVEL }, \
	{ "metrics", required_argument, NULL, CLI_OPT_METRICS }, \
	{ "metrics-max-domains", required_argument, NULL, \
	    CLI_OPT_METRICS_DOMAINS }, \
	{ "queue-id", required_argument, NULL, CLI_OPT_QUEUEID }
/* clang-format on */

/* The --help lines for these options. */
extern const char cli_ops_usage[];

#define CLI_OPS_NOT_MINE (-1)

struct cli_ops_opts {
	const char *log;     /* NULL: no per-message log */
	const char *metrics; /* NULL: no endpoint */
	const char *queue_id;
	enum cli_log_format format;
	enum cli_log_level level;
	uint64_t max_domains;
};

/* Started from the options; process lifetime. */
struct cli_ops {
	struct cli_log *log;         /* NULL without --log */
	struct cli_metrics *metrics; /* NULL without --metrics */
};

/* What a worker noted of one message while signing it. */
struct cli_ops_note {
	span from_domain;
	struct cli_log_sig *sigs;
	size_t nsigs;
};

/* 0 when ch was one of ours, CLI_EX_USAGE for a bad value, else NOT_MINE. */
int cli_ops_opt(struct cli_ops_opts *o, int ch, const char *arg);
/*
 * Open the log and, when serving is true, start the metrics endpoint
 * (its address said on stderr). 0, or an exit code with err filled.
 */
int cli_ops_start(const struct cli_ops_opts *o, struct cli_ops *ops,
    bool serving, char *err, size_t errlen);
void cli_ops_stop(struct cli_ops *ops);
/* Are logs or metrics wanted at all? (skip the notes when not) */
bool cli_ops_active(const struct cli_ops *ops);

/* A note in ar for a message from the From address from (may be empty). */
struct cli_ops_note *cli_ops_note_new(struct arena *ar, span from);
/* Record the n signatures made; false when ar is full. */
bool cli_ops_note_sigs(struct cli_ops_note *note, struct arena *ar,
    const struct dkim_sign_conf *confs, size_t n);
/*
 * Log and count one spool message's outcome; o->note is a cli_ops_note
 * or NULL (finished by recovery).
 */
void cli_ops_spool_outcome(struct cli_ops *ops, const struct spool_outcome *o);
/*
 * One thread's DNS, counted: every answer (and every query refused)
 * adds to hanko_dns_lookups_total by outcome. Slots hold the callers'
 * callbacks; a query beyond the slots passes uncounted. Thread lifetime.
 */
struct cli_ops_dns {
	struct dns_ops inner;
	struct cli_metrics *m;
	struct cli_ops_dnsq *slots;
	size_t nslots, next;
};
/*
 * Put the counting layer in front of *ops (for nslots queries in
 * flight); no-op without metrics. 0 or -ENOMEM (ops left as they were).
 */
int cli_ops_dns_init(struct cli_ops_dns *d, const struct cli_ops *ops,
    struct dns_ops *dns, size_t nslots);
void cli_ops_dns_fini(struct cli_ops_dns *d);

/*
 * A verifying mode (verify, dmarc, the milter's inbound side): log one
 * message's SPF, DKIM (each signature, with d= and s=) and DMARC results
 * under id with action ("verified", "accepted", "rejected", ...), and
 * count each result. A message that could not be verified (r->error) is
 * logged as an error with that reason.
 */
void cli_ops_auth(struct cli_ops *ops, span id, const struct auth_result *r,
    const char *action, double seconds);
/*
 * Filter mode: log one message signed (written to stdout) or failed with
 * reason; id is --queue-id when given.
 */
void cli_ops_filter(struct cli_ops *ops, const struct cli_ops_opts *o,
    const struct cli_ops_note *note, const char *reason, double seconds);

#endif
