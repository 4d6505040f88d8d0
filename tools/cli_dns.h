/*
 * NAME
 *	cli_dns.h - the [DNS] options every checking command shares
 * SYNOPSIS
 *	case CLI_OPT_ZONE ... : cli_dns_opt(&d, ch, optarg);
 *	cli_dns_setup(&d);				load --dns-zone once
 *	cli_resolver_open(&d, inflight, &r, err, len);	one per thread
 *	env.dns = &r.ops; ... start checks ...
 *	cli_resolver_wait(&r, all_done, arg);
 *	cli_resolver_close(&r); cli_dns_fini(&d);
 * DESCRIPTION
 *	--dns-zone answers from a master file (shared, read-only, answers
 *	before the query returns); otherwise each thread gets its own
 *	libunbound context (--resolver, --dnssec, --dns-timeout).
 */
#ifndef HANKO_TOOLS_CLI_DNS_H
#define HANKO_TOOLS_CLI_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dns.h"

struct resolv_zone;
struct resolv_ub;

enum {
	CLI_OPT_ZONE = 0x1000,
	CLI_OPT_RESOLVER,
	CLI_OPT_DNSSEC,
	CLI_OPT_DNS_TIMEOUT,
};

#define CLI_DNS_LONGOPTS                                                    \
	{ "dns-zone", required_argument, NULL, CLI_OPT_ZONE },              \
	    { "resolver", required_argument, NULL, CLI_OPT_RESOLVER },      \
	    { "dnssec", required_argument, NULL, CLI_OPT_DNSSEC },          \
	{                                                                   \
		"dns-timeout", required_argument, NULL, CLI_OPT_DNS_TIMEOUT \
	}

#define CLI_DNS_USAGE                                                     \
	"DNS:\n"                                                          \
	"  --dns-zone FILE          answer only from an RFC 1035 master " \
	"file\n"                                                          \
	"  --resolver ADDR[@PORT]   query this server instead of "        \
	"resolv.conf\n"                                                   \
	"                           (every name, .test and "              \
	"10.in-addr.arpa too)\n"                                          \
	"  --dnssec FILE            validate with the trust anchors in "  \
	"FILE\n"                                                          \
	"  --dns-timeout SECONDS    give up on a lookup (temperror) "     \
	"(default 5)\n"

/* Process lifetime. */
struct cli_dns_opts {
	const char *zone, *resolver, *trust_anchor;
	double timeout;
	struct resolv_zone *zonedb; /* loaded by cli_dns_setup */
};

/* One thread's resolver. */
struct cli_resolver {
	struct dns_ops ops;
	struct resolv_ub *ub; /* NULL with --dns-zone */
};

void cli_dns_init(struct cli_dns_opts *d);
/* 1 when ch is a DNS option (taken), 0 when not, -1 for a bad value. */
int cli_dns_opt(struct cli_dns_opts *d, int ch, const char *arg);
/* Check the combination and load the zone; 0 or an exit code (printed). */
int cli_dns_setup(struct cli_dns_opts *d);
void cli_dns_fini(struct cli_dns_opts *d);

int cli_resolver_open(const struct cli_dns_opts *d, size_t inflight,
    struct cli_resolver *r, char *err, size_t errlen);
/* Deliver answers until done(arg) holds (at once with --dns-zone). */
void cli_resolver_wait(
    struct cli_resolver *r, bool (*done)(void *arg), void *arg);
void cli_resolver_close(struct cli_resolver *r);

#endif
