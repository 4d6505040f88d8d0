/*
 * NAME
 *	cli_report.h - hanko report: read aggregate reports, summarise
 * DESCRIPTION
 *	cli_report.c parses options and walks the inputs into the store;
 *	cli_report_out.c prints the summary (text, --json, --csv) from the
 *	store, so a run prints the whole database, not only what it read.
 */
#ifndef HANKO_TOOLS_CLI_REPORT_H
#define HANKO_TOOLS_CLI_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct report_db;

struct cli_report_rejected {
	char *file;
	char *reason;
};

/* What one run did, for the summary. */
struct cli_report_run {
	size_t nnew;
	size_t ndup;
	struct cli_report_rejected *rej;
	size_t nrej;
};

int cli_report_json(
    FILE *out, struct report_db *db, const struct cli_report_run *run);
int cli_report_text(
    FILE *out, struct report_db *db, const struct cli_report_run *run);
int cli_report_csv(FILE *out, struct report_db *db);
/* The UTC day of t as YYYY-MM-DD, for the text and HTML summaries. */
void cli_report_day(int64_t t, char *out, size_t cap);
/* DIR/index.html, self-contained (inline SVG); 0 or -1 with errno. */
int cli_report_html(const char *dir, struct report_db *db);

struct cli_env;
struct cli_dns_opts;
/* Look up and cache the PTR names of the sources the summary lists. */
int cli_report_ptr_fill(const struct cli_dns_opts *dns, struct report_db *db);
int cli_report_aggregate_main(struct cli_env *e, int argc, char **argv);

#endif
