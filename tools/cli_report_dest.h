/*
 * NAME
 *	cli_report_dest.h - rua= destinations of an aggregate report
 * DESCRIPTION
 *	cli_report_dest_parse() splits a rua= value into mailto addresses
 *	with their !size limits (0: none); other URI schemes are left out.
 *	cli_report_dest_check() says whether a report for policy_domain may
 *	go to an address at rua_domain (RFC 9990 §4), asking DNS through r.
 */
#ifndef HANKO_TOOLS_CLI_REPORT_DEST_H
#define HANKO_TOOLS_CLI_REPORT_DEST_H

#include <stddef.h>
#include <stdint.h>

struct cli_resolver;

struct cli_report_dest {
	char addr[256];
	uint64_t max_size; /* bytes; 0 when the URI sets none */
};

enum dest_verdict {
	DEST_OK = 0,
	DEST_REFUSED,  /* another Org Domain, and it did not authorise us */
	DEST_TEMPFAIL, /* DNS failed: neither yes nor no */
};

size_t cli_report_dest_parse(
    const char *rua, struct cli_report_dest *out, size_t max);
enum dest_verdict cli_report_dest_check(
    struct cli_resolver *r, const char *policy_domain, const char *rua_domain);

#endif
