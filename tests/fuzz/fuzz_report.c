/*
 * fuzz_report: report_unpack() on the input as a received file (XML,
 * gzip, zip, mail or mbox), each document found going to
 * report_xml_parse(), as hanko report does.
 * Oracles: every document handed over lies inside the input or a buffer
 * of at most REPORT_MAX_XML bytes; a report that parses has the elements
 * that make it countable (org, report id, begin <= end, policy domain,
 * per row an IP and a count within REPORT_MAX_COUNT), NUL-terminated
 * fields, lower-case result words, and parsing the same bytes again
 * gives the same report.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/report.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, size_t cap, bool lower)
{
	size_t n = strnlen(s, cap), i;

	FUZZ_CHECK(n < cap);
	for (i = 0; lower && i < n; i++)
		FUZZ_CHECK(s[i] < 'A' || s[i] > 'Z');
}

static void
check_report(const struct report *r)
{
	size_t i;

	check_str(r->meta.org, sizeof(r->meta.org), false);
	check_str(r->meta.report_id, sizeof(r->meta.report_id), false);
	check_str(r->meta.domain, sizeof(r->meta.domain), true);
	check_str(r->meta.p, sizeof(r->meta.p), true);
	FUZZ_CHECK(r->meta.org[0] != '\0' && r->meta.report_id[0] != '\0');
	FUZZ_CHECK(r->meta.domain[0] != '\0');
	FUZZ_CHECK(r->meta.begin <= r->meta.end && r->meta.begin >= 0);
	FUZZ_CHECK(r->nrows == 0 || r->rows != NULL);
	for (i = 0; i < r->nrows; i++) {
		const struct report_row *w = &r->rows[i];

		FUZZ_CHECK(w->ip[0] != '\0');
		FUZZ_CHECK(w->count <= REPORT_MAX_COUNT);
		check_str(w->ip, sizeof(w->ip), true);
		check_str(w->dkim, sizeof(w->dkim), true);
		check_str(w->spf, sizeof(w->spf), true);
		check_str(w->header_from, sizeof(w->header_from), true);
		FUZZ_CHECK(w->ndkim <= REPORT_MAX_AUTH);
		FUZZ_CHECK(w->nspf <= REPORT_MAX_AUTH);
	}
}

/* Field by field: the structs may hold padding. */
static bool
same(const struct report *a, const struct report *b)
{
	size_t i;

	if (strcmp(a->meta.org, b->meta.org) != 0 ||
	    strcmp(a->meta.report_id, b->meta.report_id) != 0 ||
	    strcmp(a->meta.domain, b->meta.domain) != 0 ||
	    strcmp(a->meta.p, b->meta.p) != 0 ||
	    a->meta.begin != b->meta.begin || a->meta.end != b->meta.end ||
	    a->nrows != b->nrows)
		return false;
	for (i = 0; i < a->nrows; i++) {
		const struct report_row *x = &a->rows[i], *y = &b->rows[i];

		if (x->count != y->count || strcmp(x->ip, y->ip) != 0 ||
		    strcmp(x->dkim, y->dkim) != 0 ||
		    strcmp(x->spf, y->spf) != 0 ||
		    strcmp(x->header_from, y->header_from) != 0 ||
		    x->ndkim != y->ndkim || x->nspf != y->nspf)
			return false;
	}
	return true;
}

static int
on_xml(void *cookie, const uint8_t *xml, size_t len)
{
	struct report a, b;
	char err[256];
	report_res ra, rb;

	(void)cookie;
	FUZZ_CHECK(len <= REPORT_MAX_XML);
	ra = report_xml_parse(xml, len, &a, err, sizeof(err));
	if (ra != REPORT_OK) {
		FUZZ_CHECK(strnlen(err, sizeof(err)) < sizeof(err));
		FUZZ_CHECK(a.rows == NULL && a.nrows == 0);
		return 0;
	}
	check_report(&a);
	rb = report_xml_parse(xml, len, &b, err, sizeof(err));
	FUZZ_CHECK(rb == REPORT_OK);
	FUZZ_CHECK(same(&a, &b));
	report_fini(&a);
	report_fini(&b);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	int r;

	r = report_unpack(data, size, on_xml, NULL, err, sizeof(err));
	FUZZ_CHECK(r >= 0 && r <= REPORT_E_CONTAINER);
	FUZZ_CHECK(strnlen(err, sizeof(err)) < sizeof(err));
	return 0;
}
