/* The shared [DNS] options: zone file or libunbound per thread. */
#include "cli_dns.h"

#include <stdint.h>
#include <string.h>

#include "cli.h"
#include "io/resolv_unbound.h"
#include "io/zone.h"

void
cli_dns_init(struct cli_dns_opts *d)
{
	memset(d, 0, sizeof(*d));
	d->timeout = 5.0;
}

int
cli_dns_opt(struct cli_dns_opts *d, int ch, const char *arg)
{
	uint64_t t;

	switch (ch) {
	case CLI_OPT_ZONE:
		d->zone = arg;
		return 1;
	case CLI_OPT_RESOLVER:
		d->resolver = arg;
		return 1;
	case CLI_OPT_DNSSEC:
		d->trust_anchor = arg;
		return 1;
	case CLI_OPT_DNS_TIMEOUT:
		if (!cli_parse_u64(arg, &t) || t < 1 || t > 3600)
			return -1;
		d->timeout = (double)t;
		return 1;
	default:
		return 0;
	}
}

int
cli_dns_setup(struct cli_dns_opts *d)
{
	char err[512];

	if (d->zone != NULL &&
	    (d->resolver != NULL || d->trust_anchor != NULL)) {
		cli_err("--dns-zone answers offline; it excludes --resolver "
		        "and --dnssec");
		return CLI_EX_USAGE;
	}
	if (d->zone != NULL &&
	    resolv_zone_load(d->zone, &d->zonedb, err, sizeof(err)) != 0) {
		cli_err("%s", err);
		return CLI_EX_CONFIG;
	}
	return 0;
}

void
cli_dns_fini(struct cli_dns_opts *d)
{
	resolv_zone_free(d->zonedb);
	d->zonedb = NULL;
}

int
cli_resolver_open(const struct cli_dns_opts *d, size_t inflight,
    struct cli_resolver *r, char *err, size_t errlen)
{
	struct resolv_ub_opts uo = { d->resolver, d->trust_anchor, d->timeout,
		inflight };

	memset(r, 0, sizeof(*r));
	if (d->zonedb != NULL) {
		resolv_zone_ops(d->zonedb, &r->ops);
		return 0;
	}
	if (resolv_ub_new(&uo, &r->ub, err, errlen) != 0)
		return CLI_EX_CONFIG;
	resolv_ub_ops(r->ub, &r->ops);
	return 0;
}

void
cli_resolver_wait(struct cli_resolver *r, bool (*done)(void *arg), void *arg)
{
	while (!done(arg) && r->ub != NULL)
		resolv_ub_poll(r->ub, 100);
}

void
cli_resolver_close(struct cli_resolver *r)
{
	resolv_ub_free(r->ub);
	r->ub = NULL;
}
