/*
 * NAME
 *	report_agg.h - RFC 9990 aggregate reports from DMARC history lines
 * SYNOPSIS
 *	report_agg_new(period, &agg);
 *	report_agg_line(agg, line, len, err, sizeof(err));	per line
 *	report_agg_each(agg, &meta, cb, cookie);		per report
 *	report_agg_free(agg);
 * DESCRIPTION
 *	A history line is one `hanko dmarc --json` object plus "time" (Unix
 *	seconds). report_agg_line() reads the line (json-c), keeps only what
 *	a report row needs and counts it: rows that agree on policy domain,
 *	period, the policy record seen then (p sp np adkim aspf testing
 *	rua and the discovery mode), source IP, disposition, aligned DKIM
 *	and SPF verdicts, header_from, envelope_from and every DKIM and SPF
 *	result are one row with a count. Memory grows with distinct rows,
 *	never with lines. A line without a policy record (no DMARC) is
 *	counted in *skipped and not reported.
 *
 *	report_agg_each() builds one report per (policy domain, period,
 *	policy record) in sorted order and hands its XML (RFC 9990 §3,
 *	namespace urn:ietf:params:xml:ns:dmarc-2.0) to cb. The report id is
 *	derived from the group (a hash), so a rerun names the same report
 *	the same way and two groups never share one.
 */
#ifndef HANKO_IO_REPORT_AGG_H
#define HANKO_IO_REPORT_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "core/hanko.h"

struct report_agg;

/* What the report generator says about itself (report_metadata). */
struct report_agg_meta {
	const char *org_name;
	const char *email;
	const char *generator;
};

/* One finished report, valid only during the callback. */
struct report_agg_out {
	const char *domain; /* policy domain */
	const char *rua;    /* the rua= value seen, "" when none */
	const char *report_id;
	int64_t begin;
	int64_t end;
	uint64_t messages;
	const char *xml;
	size_t xml_len;
};

typedef int report_agg_fn(void *cookie, const struct report_agg_out *);

/* period: seconds per report (86400 for UTC days); -1 on no memory. */
int report_agg_new(int64_t period, struct report_agg **out);
void report_agg_free(struct report_agg *a);

/*
 * Count one history line. 0 counted, 1 skipped (no policy record), -1
 * unreadable (err says why; the caller decides whether to go on).
 */
HANKO_NODISCARD int report_agg_line(struct report_agg *a, const char *line,
    size_t len, char *err, size_t errlen);

/* Lines counted and skipped so far. */
void report_agg_stats(const struct report_agg *a, uint64_t *counted,
    uint64_t *skipped, size_t *rows);

/*
 * Build each report and call cb; a nonzero cb return stops and is
 * returned. Once only: afterwards the table is sorted, not hashed, and
 * only report_agg_free() may follow.
 */
HANKO_NODISCARD int report_agg_each(struct report_agg *a,
    const struct report_agg_meta *m, report_agg_fn *cb, void *cookie);

#endif
