/*
 * NAME
 *	resolv_unbound.h - asynchronous DNS through libunbound
 * SYNOPSIS
 *	resolv_ub_new(&opts, &r, err, sizeof(err));	one per thread
 *	resolv_ub_ops(r, &ops);				core/ queries via ops
 *	while (resolv_ub_pending(r) > 0)
 *		resolv_ub_poll(r, 100);			answers arrive here
 * DESCRIPTION
 *	A dns_ops backed by libunbound, with resolv.conf and /etc/hosts by
 *	default or forwarding to a given server. query() (A, AAAA, MX, PTR,
 *	TXT) and txt() (which is query(DNS_T_TXT)) only queue the query;
 *	answers are delivered by resolv_ub_poll(), so many lookups are in
 *	flight at once and a batch never waits on one of them. Identical
 *	queries in flight, the same qtype and the same name (ASCII case and
 *	a trailing dot aside), are coalesced: one lookup, every waiter
 *	answered. libunbound follows CNAMEs and caches answers for their
 *	TTL, negative ones included (RFC 2308), within the cache sizes set
 *	here. A query that has not been answered within the timeout is
 *	cancelled and answered DNS_TEMPFAIL, as are SERVFAIL and
 *	DNSSEC-bogus answers (secure -1); NXDOMAIN and NODATA are told
 *	apart, and secure is 1 for a validated answer.
 *
 *	Records are decoded from the rdata with bounds checks, so a hostile
 *	answer cannot make them over-read. TXT character-strings are joined
 *	(RFC 6376 §3.6.2.2); a record is capped at RESOLV_TXT_MAX bytes and
 *	an answer at RESOLV_TXT_RRS records. An answer keeps at most the
 *	first RESOLV_ADDR_RRS A/AAAA or RESOLV_NAME_RRS MX/PTR records
 *	(enough for SPF to see more than its 10 MX or PTR names, RFC 7208
 *	§4.6.4). MX and PTR names come out lower case without the trailing
 *	dot, the root (null MX, RFC 7505) as the empty span. A record whose
 *	rdata does not parse (wrong length, a name running past its rdata,
 *	a compression pointer, a label holding '.' or NUL) is skipped; an
 *	answer none of whose records parse is DNS_TEMPFAIL.
 *
 *	Query names must be 1 to 253 octets without the trailing dot with
 *	labels of 1 to 63, and no NUL: query() returns -EINVAL for another
 *	name, or a qtype other than the five dns_qtype values, without
 *	calling done(). Other bytes are queried as given (escaped for
 *	libunbound), not read as presentation-format escapes.
 * OWNERSHIP
 *	One context per thread (it is not locked); thread lifetime. An
 *	answer and its arrays live in the context and are valid only during
 *	done().
 */
#ifndef HANKO_IO_RESOLV_UNBOUND_H
#define HANKO_IO_RESOLV_UNBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "core/dns.h"

#define RESOLV_TXT_MAX  8192
#define RESOLV_TXT_RRS  16
#define RESOLV_ADDR_RRS 128
#define RESOLV_NAME_RRS 32

struct resolv_ub;
struct ub_result;

struct resolv_ub_opts {
	const char *server;       /* "ADDR[@PORT]", NULL: resolv.conf */
	const char *trust_anchor; /* DNSSEC trust anchors, or NULL */
	double timeout;           /* seconds per query (default 5) */
	size_t max_inflight;      /* distinct queries at once */
};

/*
 * Create a context for this thread; 0 and *out, or -errno with err set.
 * No query is sent until one is made.
 */
int resolv_ub_new(const struct resolv_ub_opts *o, struct resolv_ub **out,
    char *err, size_t errlen);
/* Cancel what is in flight, without calling done(); NULL is a no-op. */
void resolv_ub_free(struct resolv_ub *r);
/*
 * out->txt() and out->query() queue on r: 0, or -EINVAL (name, qtype),
 * -ENOMEM, -EAGAIN (max_inflight distinct queries already), -EIO.
 */
void resolv_ub_ops(struct resolv_ub *r, struct dns_ops *out);
/* Wait at most ms for answers, deliver them and expire late queries. */
void resolv_ub_poll(struct resolv_ub *r, int ms);
/* Distinct lookups in flight (coalesced waiters count once). */
size_t resolv_ub_pending(const struct resolv_ub *r);
/*
 * The answer a waiter of a qtype query gets from libunbound's callback
 * arguments (err, res), decoded into r's buffers: valid until the next
 * answer on r. For tests of the decoding against hostile rdata.
 */
void resolv_ub_decode(struct resolv_ub *r, uint16_t qtype, int err,
    const struct ub_result *res, struct dns_answer *out);

#endif
