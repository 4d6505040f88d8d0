/*
 * NAME
 *	resolv_unbound.h - DNS through libunbound (system resolver or a
 *	given server)
 * DESCRIPTION
 *	A dns_ops backed by a libunbound context: resolv.conf and /etc/hosts
 *	by default, or forwarding to --resolver ADDR[@PORT]. Queries are
 *	answered before txt() returns (the asynchronous, caching batch
 *	resolver builds on this context). TXT character-strings are joined
 *	(RFC 6376 §3.6.2.2); SERVFAIL and time-outs are DNS_TEMPFAIL; the
 *	DNSSEC status is reported when a trust anchor is configured.
 * OWNERSHIP
 *	Process lifetime; one context per thread.
 */
#ifndef HANKO_IO_RESOLV_UNBOUND_H
#define HANKO_IO_RESOLV_UNBOUND_H

#include <stddef.h>

#include "core/dns.h"

struct resolv_ub;

/*
 * server: NULL for the system configuration, or "ADDR[@PORT]".
 * trust_anchor: NULL, or a file of DNSSEC trust anchors. Returns 0 or
 * -EINVAL with err filled.
 */
int resolv_ub_new(const char *server, const char *trust_anchor,
    struct resolv_ub **out, char *err, size_t errlen);
void resolv_ub_free(struct resolv_ub *r);
void resolv_ub_ops(struct resolv_ub *r, struct dns_ops *out);

#endif
