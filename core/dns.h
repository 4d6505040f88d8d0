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
 *
 *	SPF also needs A, AAAA, MX and PTR: ops->query(ctx, qtype, qname,
 *	done, cookie) follows the same contract for any dns_qtype (for
 *	DNS_T_TXT it answers exactly as txt() does). A backend that can
 *	only do TXT leaves query NULL; callers then treat such lookups as
 *	a temporary failure.
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

/* Query types (RFC 1035, RFC 3596 numbering). */
enum dns_qtype {
	DNS_T_A = 1,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
};

/* One A (len 4) or AAAA (len 16) address, network byte order. */
struct dns_addr {
	uint8_t len;
	uint8_t b[16];
};

/*
 * Records are set only when rcode is DNS_OK, and only those of the
 * queried type (CNAMEs followed by the backend); the other arrays are
 * empty. Names are lower case ASCII without the trailing dot; the root
 * (an RFC 7505 null MX ".") is the empty span.
 */
struct dns_answer {
	enum dns_rcode rcode;
	uint32_t ttl;
	const span *txt; /* TXT: one span per RR, strings joined */
	size_t ntxt;
	const struct dns_addr *addr; /* A, AAAA */
	size_t naddr;
	const span *name;     /* MX: exchanges in answer order; PTR: targets */
	const uint16_t *pref; /* MX: preference of name[i]; else NULL */
	size_t nname;
	int secure; /* 1 DNSSEC-validated, 0 not, -1 bogus */
};

/* -EINVAL on Linux, spelled out because core/ has no <errno.h>. */
#define DNS_E_BADNAME (-22)

typedef void dns_done_fn(void *cookie, const struct dns_answer *ans);

struct dns_ops {
	void *ctx;
	/*
	 * qname has no trailing dot; 0 when queued, -errno when refused:
	 * DNS_E_BADNAME for a name that cannot exist in the DNS.
	 */
	int (*txt)(void *ctx, span qname, dns_done_fn *done, void *cookie);
	/* Any dns_qtype; NULL when the backend answers TXT only. */
	int (*query)(void *ctx, uint16_t qtype, span qname, dns_done_fn *done,
	    void *cookie);
};

const char *dns_rcode_str(enum dns_rcode rc);
/* "A", "MX", ... or "TYPE?" for another value. */
const char *dns_qtype_str(uint16_t qtype);

#endif
