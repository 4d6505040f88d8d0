/*
 * NAME
 *	zone.h - an offline DNS backend that answers from a master file
 * SYNOPSIS
 *	resolv_zone_load(path, &z, err, sizeof(err));
 *	resolv_zone_ops(z, &ops);	(ops.txt(), ops.query() answer
 *					 before returning)
 *	resolv_zone_answer(z, DNS_T_MX, qname, &dns_answer);
 *	resolv_zone_query(z, qname, RESOLV_T_MX, &resolv_answer);
 *	resolv_zone_free(z);
 * DESCRIPTION
 *	Reads an RFC 1035 master file with ldns ($ORIGIN, $TTL, relative
 *	names, parenthesised multi-line records; a SOA is not required) and
 *	answers lookups from memory, for --dns-zone, tests and air-gapped
 *	checks. Names match case-insensitively (ASCII) and a trailing dot on
 *	the query name is optional. A query name must be a usable DNS name:
 *	1 to 253 octets without the trailing dot, labels of 1 to 63 octets,
 *	no NUL; anything else is refused with -EINVAL. Names without an
 *	$ORIGIN are relative to the root. $INCLUDE is rejected with an
 *	error: ldns 1.8 does not implement it.
 *
 *	Answers follow a recursive resolver's view of the file: CNAME chains
 *	are followed (at most RESOLV_ZONE_MAX_CNAME hops; a longer chain or a
 *	loop answers DNS_TEMPFAIL, as a resolver's SERVFAIL would); a name
 *	with no records and no names below it is DNS_NXDOMAIN; a name that
 *	has other types, or is an empty non-terminal (a name below it
 *	exists), is DNS_NODATA. The ttl of an answer is the minimum over the
 *	records used, CNAMEs included. RRs are returned in file order, all
 *	of them (the file is trusted, so no count is capped), and secure is
 *	always 0.
 *
 *	Typed answers (struct dns_answer) carry A/AAAA records in addr[],
 *	MX exchanges in name[] with pref[], PTR targets in name[] and TXT
 *	strings in txt[]; names are lower case without the trailing dot, and
 *	the root (a null MX, RFC 7505) is the empty span.
 *
 *	Test convention: a TXT record whose only character-string is exactly
 *	"HANKO-TEMPFAIL" makes every query that reaches its name (directly or
 *	through a CNAME) answer DNS_TEMPFAIL, so offline tests can exercise
 *	temperror paths.
 * OWNERSHIP
 *	The zone owns every answer; answers stay valid until
 *	resolv_zone_free(). A loaded zone is immutable and may be shared by
 *	threads. Lifetime: process.
 */
#ifndef HANKO_IO_ZONE_H
#define HANKO_IO_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "core/dns.h"
#include "core/span.h"

#define RESOLV_ZONE_MAX_CNAME 8

/* RR types resolv_zone_query() answers (RFC 1035, RFC 3596). */
enum resolv_rrtype {
	RESOLV_T_A = 1,
	RESOLV_T_CNAME = 5,
	RESOLV_T_PTR = 12,
	RESOLV_T_MX = 15,
	RESOLV_T_TXT = 16,
	RESOLV_T_AAAA = 28,
};

/*
 * One record's rdata in decoded form. data is: A, 4 bytes; AAAA, 16 bytes
 * (network order); CNAME, PTR, MX: the target name, lower case, without
 * the trailing dot; TXT: the character-strings joined with no separator
 * (RFC 6376 §3.6.2.2). pref is the MX preference, 0 for other types.
 */
struct resolv_rr {
	uint16_t type;
	uint16_t pref;
	uint32_t ttl;
	span data;
};

/* rr[0..nrr) is set only when rcode is DNS_OK; nrr is 0 otherwise. */
struct resolv_answer {
	enum dns_rcode rcode;
	uint32_t ttl;
	const struct resolv_rr *rr;
	size_t nrr;
};

struct resolv_zone;

/*
 * Load the master file at path. On success *out owns the zone and 0 is
 * returned; otherwise *out is untouched, -errno (file errors), -ENOMEM or
 * -EINVAL (syntax) is returned and err holds "file:line: reason".
 */
int resolv_zone_load(
    const char *path, struct resolv_zone **out, char *err, size_t errlen);
void resolv_zone_free(struct resolv_zone *z);

/*
 * Fill *out so that out->txt() and out->query() answer from z: done() is
 * called before they return, with the answer's arrays owned by z. They
 * return -EINVAL, without calling done(), for an unusable name (see
 * above) and query() also for a qtype other than the five dns_qtype
 * values. query(DNS_T_TXT) is txt(). z must outlive every use of *out.
 */
void resolv_zone_ops(struct resolv_zone *z, struct dns_ops *out);

/*
 * Generic lookup of qname (trailing dot optional) for one of the
 * resolv_rrtype values; fills *out and returns 0, or returns -EINVAL for
 * another type or an unusable name. Used by SPF for A, AAAA, MX and PTR.
 */
int resolv_zone_query(const struct resolv_zone *z, span qname, uint16_t rrtype,
    struct resolv_answer *out);

/*
 * The answer ops->query(qtype, qname) delivers, for synchronous callers:
 * fills *out (arrays owned by z) and returns 0, or returns -EINVAL as
 * query() does.
 */
int resolv_zone_answer(const struct resolv_zone *z, uint16_t qtype, span qname,
    struct dns_answer *out);

/*
 * resolv_zone_answer(z, DNS_T_TXT, ...): txt[i] is the joined string of
 * the i-th TXT RR.
 */
int resolv_zone_txt(
    const struct resolv_zone *z, span qname, struct dns_answer *out);

#endif
