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
 *	default or forwarding to a given server. txt() only queues the
 *	query; answers are delivered by resolv_ub_poll(), so many lookups
 *	are in flight at once and a batch never waits on one of them.
 *	Identical queries in flight are coalesced (one lookup, every waiter
 *	answered). libunbound caches answers for their TTL, negative ones
 *	included (RFC 2308), within the cache sizes set here. A query that
 *	has not been answered within the timeout is cancelled and answered
 *	DNS_TEMPFAIL, as are SERVFAIL and DNSSEC-bogus answers. TXT
 *	character-strings are joined (RFC 6376 §3.6.2.2); a record is
 *	capped at RESOLV_TXT_MAX bytes and an answer at RESOLV_TXT_RRS
 *	records.
 * OWNERSHIP
 *	One context per thread (it is not locked); thread lifetime.
 */
#ifndef HANKO_IO_RESOLV_UNBOUND_H
#define HANKO_IO_RESOLV_UNBOUND_H

#include <stddef.h>

#include "core/dns.h"

#define RESOLV_TXT_MAX 8192
#define RESOLV_TXT_RRS 16

struct resolv_ub;

struct resolv_ub_opts {
	const char *server;       /* "ADDR[@PORT]", NULL: resolv.conf */
	const char *trust_anchor; /* DNSSEC trust anchors, or NULL */
	double timeout;           /* seconds per query (default 5) */
	size_t max_inflight;      /* distinct queries at once */
};

int resolv_ub_new(const struct resolv_ub_opts *o, struct resolv_ub **out,
    char *err, size_t errlen);
void resolv_ub_free(struct resolv_ub *r);
void resolv_ub_ops(struct resolv_ub *r, struct dns_ops *out);
/* Wait at most ms for answers, deliver them and expire late queries. */
void resolv_ub_poll(struct resolv_ub *r, int ms);
/* Queries whose answer has not been delivered yet. */
size_t resolv_ub_pending(const struct resolv_ub *r);

#endif
