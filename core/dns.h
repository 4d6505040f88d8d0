/*
 * NAME
 *	dns.h - the lookup interface through which core/ reaches DNS
 * DESCRIPTION
 *	core/ never does I/O. When it needs TXT records it calls
 *	ops->txt(ctx, qname, done, cookie) and carries on; the embedder
 *	answers later by calling done(cookie, answer) exactly once, possibly
 *	before txt() returns (a zone file answers at once). The answer and
 *	its spans are valid only during done(): core/ copies what it keeps.
 *	The rcode lets callers tell a temporary failure from a missing name.
 */
#ifndef HANKO_CORE_DNS_H
#define HANKO_CORE_DNS_H

#include <stdint.h>

#include "span.h"

enum dns_rcode {
	DNS_OK = 0,
	DNS_NXDOMAIN,
	DNS_NODATA,
	DNS_TEMPFAIL,
	DNS_PERMFAIL,
};

struct dns_answer {
	enum dns_rcode rcode;
	uint32_t ttl;
	const span *txt; /* one span per TXT RR, strings joined */
	size_t ntxt;
	int secure; /* 1 DNSSEC-validated, 0 not, -1 bogus */
};

typedef void dns_done_fn(void *cookie, const struct dns_answer *ans);

struct dns_ops {
	void *ctx;
	/* qname has no trailing dot; 0 when queued, -errno when refused. */
	int (*txt)(void *ctx, span qname, dns_done_fn *done, void *cookie);
};

const char *dns_rcode_str(enum dns_rcode rc);

#endif
