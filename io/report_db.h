/*
 * NAME
 *	report_db.h - the SQLite store of aggregate reports read
 * SYNOPSIS
 *	report_db_open(path, &db, err, sizeof(err));
 *	report_db_store(db, &report, &dup, err, sizeof(err));
 *	report_db_each(db, REPORT_Q_DOMAINS, NULL, cb, cookie);
 *	report_db_close(db);
 * DESCRIPTION
 *	One table of reports, unique on (org, report_id), so a report read
 *	twice is stored once (*dup set); one table of rows with the flags
 *	the summary needs computed at insert time. Every value goes in as a
 *	bound parameter. Queries are indexed on header_from, ip and report.
 *	A report is stored in one transaction: all its rows or none.
 *
 *	report_db_each() runs one of the fixed summary queries and calls cb
 *	once per result group, in the order the query defines; the struct is
 *	valid only during the call. Counts are sums of row counts.
 */
#ifndef HANKO_IO_REPORT_DB_H
#define HANKO_IO_REPORT_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hanko.h"
#include "io/report.h"

struct report_db;

enum report_q {
	REPORT_Q_DOMAINS, /* key: header_from */
	REPORT_Q_ORGS,    /* key: reporting org, for one domain */
	REPORT_Q_IPS,     /* key: source IP, for one domain, most first */
	REPORT_Q_FAILING, /* key: source IP, DMARC-failing mail only */
	REPORT_Q_DAYS,    /* day: UTC day of the report's begin */
	REPORT_Q_PERIOD,  /* one group: begin/end of the domain's reports */
};

struct report_agg {
	const char *key;
	int64_t day; /* REPORT_Q_DAYS; begin for REPORT_Q_PERIOD */
	int64_t end; /* REPORT_Q_PERIOD */
	uint64_t messages;
	uint64_t dmarc_pass;
	uint64_t dkim_aligned;
	uint64_t spf_aligned;
	uint64_t dkim_pass_unaligned; /* fails DMARC, some DKIM d= passed */
	uint64_t spf_pass_unaligned;  /* fails DMARC, SPF passed */
	uint64_t auth_unaligned;      /* fails DMARC, DKIM or SPF passed */
	uint64_t quarantined;         /* disposition quarantine */
	uint64_t rejected;            /* disposition reject */
	uint64_t reports;
};

typedef void report_agg_fn(void *cookie, const struct report_agg *);

/* Open or create the store; -1 with err on failure. */
int report_db_open(
    const char *path, struct report_db **out, char *err, size_t errlen);
void report_db_close(struct report_db *db);

/* Store one report (0) or find it stored (*dup, 0); -1 with err. */
HANKO_NODISCARD int report_db_store(struct report_db *db,
    const struct report *r, bool *dup, char *err, size_t errlen);

/* domain: the header_from the query is about (ignored for DOMAINS). */
HANKO_NODISCARD int report_db_each(struct report_db *db, enum report_q q,
    const char *domain, report_agg_fn *cb, void *cookie);

/*
 * Every stored row, joined with its report, for --csv: cb gets the column
 * names once (ncols, names, NULL row) and then each row's values.
 */
typedef void report_row_fn(void *cookie, size_t ncols, const char *const *names,
    const char *const *values);
HANKO_NODISCARD int report_db_rows(
    struct report_db *db, report_row_fn *cb, void *cookie);

/*
 * The PTR name cache (source IP -> name, "" when the address has none):
 * get returns 1 and fills name when cached, 0 when not, -1 on error.
 */
int report_db_ptr_get(
    struct report_db *db, const char *ip, char *name, size_t cap);
int report_db_ptr_put(
    struct report_db *db, const char *ip, const char *name, int64_t at);

#endif
