/*
 * query - typed lookups through io/resolv_unbound.c, for tests/sh/dns_live.sh
 *
 *	query [--resolver ADDR@PORT] [--timeout S] [--dnssec TA]
 *	    TYPE NAME [TYPE NAME ...]
 *
 * Queues every lookup before polling once, as a batch of messages would,
 * so identical ones coalesce; prints "pending N" (distinct lookups in
 * flight) and then one line per lookup, in argument order:
 *
 *	TYPE NAME RCODE secure=S ttl=T RECORD...
 *
 * RECORD is an address (A, AAAA), PREF:NAME (MX; the root is "."), a
 * name (PTR) or a quoted string with \xHH for other bytes (TXT); a lookup
 * query() refused prints "TYPE NAME REFUSED errno=E". Exit 0 once every
 * lookup is answered, 1 if one never is, 64 on bad usage.
 *
 * Built by dns_live.sh against the libhanko.a beside the hanko binary
 * under test (the Makefile builds only tests/unit/); not part of hanko.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dns.h"
#include "core/span.h"
#include "io/resolv_unbound.h"

#define MAXQ 64

struct slot {
	const char *type, *name;
	int calls;
	char *line; /* the formatted answer */
};

static const struct {
	const char *name;
	uint16_t qtype;
} types[] = { { "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "MX", DNS_T_MX },
	{ "PTR", DNS_T_PTR }, { "TXT", DNS_T_TXT } };

/* Append to a growing line; the driver exits on out-of-memory. */
static void
put(char **line, size_t *len, const char *s, size_t n)
{
	char *p = realloc(*line, *len + n + 1);

	if (p == NULL) {
		perror("query");
		exit(70);
	}
	memcpy(p + *len, s, n);
	*len += n;
	p[*len] = '\0';
	*line = p;
}

static void
putf(char **line, size_t *len, const char *s)
{
	put(line, len, s, strlen(s));
}

static void
put_span(char **line, size_t *len, span s)
{
	char b[8];
	size_t i;

	for (i = 0; i < s.len; i++) {
		uint8_t c = s.p[i];

		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') {
			snprintf(b, sizeof(b), "\\x%02x", c);
			putf(line, len, b);
		} else {
			put(line, len, (const char *)&s.p[i], 1);
		}
	}
}

static void
on_answer(void *cookie, const struct dns_answer *a)
{
	struct slot *s = cookie;
	char b[INET6_ADDRSTRLEN + 16];
	size_t len = 0, i;

	s->calls++;
	snprintf(b, sizeof(b), " %s secure=%d ttl=%u", dns_rcode_str(a->rcode),
	    a->secure, (unsigned)a->ttl);
	free(s->line);
	s->line = NULL;
	putf(&s->line, &len, b);
	for (i = 0; i < a->naddr; i++) {
		int af = a->addr[i].len == 4 ? AF_INET : AF_INET6;

		if (inet_ntop(af, a->addr[i].b, b + 1, sizeof(b) - 1) == NULL)
			strcpy(b + 1, "?");
		b[0] = ' ';
		putf(&s->line, &len, b);
	}
	for (i = 0; i < a->nname; i++) {
		putf(&s->line, &len, " ");
		if (a->pref != NULL) {
			snprintf(b, sizeof(b), "%u:", (unsigned)a->pref[i]);
			putf(&s->line, &len, b);
		}
		if (a->name[i].len == 0)
			putf(&s->line, &len, ".");
		put_span(&s->line, &len, a->name[i]);
	}
	for (i = 0; i < a->ntxt; i++) {
		putf(&s->line, &len, " \"");
		put_span(&s->line, &len, a->txt[i]);
		putf(&s->line, &len, "\"");
	}
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: query [--resolver ADDR@PORT] [--timeout S] "
	    "[--dnssec TA] TYPE NAME ...\n");
	return 64;
}

static int
qtype_of(const char *s, uint16_t *out)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(s, types[i].name) == 0) {
			*out = types[i].qtype;
			return 0;
		}
	/* any other number, to see it refused */
	if (strncmp(s, "TYPE", 4) == 0) {
		*out = (uint16_t)strtoul(s + 4, NULL, 10);
		return 0;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct resolv_ub_opts o = { NULL, NULL, 0, 0 };
	struct slot q[MAXQ];
	struct resolv_ub *r;
	struct dns_ops ops;
	char err[160];
	int i = 1, n = 0, k, rc, rounds;

	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--resolver") == 0)
			o.server = argv[i + 1];
		else if (strcmp(argv[i], "--timeout") == 0)
			o.timeout = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--dnssec") == 0)
			o.trust_anchor = argv[i + 1];
		else
			return usage();
	}
	if (i >= argc || (argc - i) % 2 != 0 || (argc - i) / 2 > MAXQ)
		return usage();
	if (resolv_ub_new(&o, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "query: %s\n", err);
		return 70;
	}
	resolv_ub_ops(r, &ops);
	memset(q, 0, sizeof(q));
	for (; i < argc; i += 2, n++) {
		uint16_t t;

		q[n].type = argv[i];
		q[n].name = argv[i + 1];
		if (qtype_of(argv[i], &t) != 0)
			return usage();
		rc = ops.query(
		    ops.ctx, t, span_cstr(argv[i + 1]), on_answer, &q[n]);
		if (rc != 0) {
			snprintf(err, sizeof(err), " REFUSED errno=%d", -rc);
			q[n].line = strdup(err);
			q[n].calls = 1;
		}
	}
	printf("pending %zu\n", resolv_ub_pending(r));
	for (rounds = 0; resolv_ub_pending(r) > 0 && rounds < 600; rounds++)
		resolv_ub_poll(r, 100);
	rc = 0;
	for (k = 0; k < n; k++) {
		printf("%s %s%s\n", q[k].type, q[k].name,
		    q[k].calls == 1 ? q[k].line : " UNANSWERED");
		if (q[k].calls != 1)
			rc = 1;
		free(q[k].line);
	}
	resolv_ub_free(r);
	return rc;
}
