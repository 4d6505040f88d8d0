/*
 * fuzz_zone: resolv_zone_load() on the input written to a file (a memfd)
 * (io/zone.c, which parses it with ldns), then lookups of every type for
 * a few fixed names and for the first word of the file's first lines
 * (the owner names, more often than not), bare and under the common
 * origins. Oracles: answers are well-formed (an RRset of the asked type
 * only with DNS_OK, A/AAAA data of 4/16 bytes, a TTL no larger than any
 * record's), the TXT answer through ops->txt() arrives exactly once and
 * before txt() returns and equals resolv_zone_txt()'s; a failed load
 * leaves a NUL-terminated message and no zone. ldns itself is not built
 * with coverage, so the search is guided by zone.c alone.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/span.h"
#include "io/zone.h"
#include "tests/fuzz/common.h"

#define MAXWORDS 12

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct got {
	int calls;
	struct dns_answer a;
};

static void
on_txt(void *cookie, const struct dns_answer *ans)
{
	struct got *g = cookie;

	g->calls++;
	g->a = *ans;
}

static void
check_answer(const struct resolv_answer *a, uint16_t type)
{
	size_t i;

	FUZZ_CHECK(a->rcode <= DNS_PERMFAIL);
	if (a->rcode != DNS_OK) {
		FUZZ_CHECK(a->nrr == 0);
		return;
	}
	FUZZ_CHECK(a->nrr > 0 && a->rr != NULL);
	for (i = 0; i < a->nrr; i++) {
		const struct resolv_rr *rr = &a->rr[i];

		FUZZ_CHECK(rr->type == type);
		FUZZ_CHECK(a->ttl <= rr->ttl);
		if (type == RESOLV_T_A)
			FUZZ_CHECK(rr->data.len == 4 || rr->data.len == 0);
		if (type == RESOLV_T_AAAA)
			FUZZ_CHECK(rr->data.len == 16 || rr->data.len == 0);
		if (rr->data.len > 0)
			FUZZ_CHECK(rr->data.p != NULL);
	}
}

static void
query(struct resolv_zone *z, const struct dns_ops *ops, span name)
{
	static const uint16_t types[] = { RESOLV_T_A, RESOLV_T_CNAME,
		RESOLV_T_PTR, RESOLV_T_MX, RESOLV_T_TXT, RESOLV_T_AAAA };
	struct resolv_answer a;
	struct dns_answer t;
	struct got g;
	size_t i;
	int rc, trc;

	memset(&g, 0, sizeof(g));
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&a, 0, sizeof(a));
		rc = resolv_zone_query(z, name, types[i], &a);
		FUZZ_CHECK(rc == 0 || rc < 0);
		if (rc == 0)
			check_answer(&a, types[i]);
	}
	FUZZ_CHECK(resolv_zone_query(z, name, 99, &a) < 0);
	trc = resolv_zone_txt(z, name, &t);
	rc = ops->txt(ops->ctx, name, on_txt, &g);
	FUZZ_CHECK(rc == trc);
	FUZZ_CHECK(g.calls == (rc == 0));
	if (rc != 0)
		return;
	FUZZ_CHECK(g.a.rcode == t.rcode && g.a.ntxt == t.ntxt);
	for (i = 0; i < t.ntxt; i++)
		FUZZ_CHECK(span_eq(g.a.txt[i], t.txt[i]));
}

/* Query w, then w under each origin the tests use. */
static void
query_word(struct resolv_zone *z, const struct dns_ops *ops, span w)
{
	static const char *origins[] = { ".hanko.example",
		".football.example.com", "._domainkey.hanko.example" };
	char name[600];
	size_t i;

	query(z, ops, w);
	if (w.len > 256)
		return;
	for (i = 0; i < sizeof(origins) / sizeof(origins[0]); i++) {
		size_t ol = strlen(origins[i]);

		memcpy(name, w.p, w.len);
		memcpy(name + w.len, origins[i], ol);
		query(z, ops, span_make(name, w.len + ol));
	}
}

/* The first whitespace-delimited word of each of the first lines. */
static size_t
first_words(const uint8_t *d, size_t n, span *w, size_t max)
{
	size_t i = 0, k = 0;

	while (i < n && k < max) {
		size_t s = i;

		while (i < n && d[i] != ' ' && d[i] != '\t' && d[i] != '\n')
			i++;
		if (i > s)
			w[k++] = span_make(d + s, i - s);
		while (i < n && d[i] != '\n')
			i++;
		i++;
	}
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *fixed[] = { "hanko.example", "HANKO.EXAMPLE.",
		"rsa._domainkey.hanko.example",
		"brisbane._domainkey.football.example.com", "example.com",
		"www.example.com", "a", ".", "..", "x..y" };
	struct resolv_zone *z = NULL;
	struct dns_ops ops;
	span words[MAXWORDS];
	char err[300];
	size_t i, n;
	int rc;

	err[0] = '\0';
	rc = resolv_zone_load(fuzz_file(0, data, size), &z, err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc < 0 && z == NULL);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		return 0;
	}
	FUZZ_CHECK(z != NULL);
	resolv_zone_ops(z, &ops);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		query(z, &ops, span_cstr(fixed[i]));
	n = first_words(data, size, words, MAXWORDS);
	for (i = 0; i < n; i++)
		query_word(z, &ops, words[i]);
	resolv_zone_free(z);
	return 0;
}
