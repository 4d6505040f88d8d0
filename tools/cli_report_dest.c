/*
 * cli_report_dest.c - where an aggregate report may go: the rua= mailto
 * URIs with their size limits (RFC 9989 §4.7, RFC 9990 §2.2) and the
 * external destination check (RFC 9990 §4: a rua domain outside the
 * policy domain's Organizational Domain must publish
 * POLICYDOMAIN._report._dmarc.RUADOMAIN with v=DMARC1). Organizational
 * Domains come from core's RFC 9989 tree walk (dmarc_walk_targets and
 * dmarc_walk_org); this file only runs its queries.
 */
#include "cli_report_dest.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_dns.h"
#include "core/dmarc.h"
#include "core/span.h"

#define DEST_MAX_TXT 8
#define DEST_TXT_LEN 512

struct dest_query {
	bool done;
	enum dns_rcode rcode;
	size_t ntxt;
	char txt[DEST_MAX_TXT][DEST_TXT_LEN];
};

static void
dest_done(void *cookie, const struct dns_answer *a)
{
	struct dest_query *q = cookie;
	size_t i;

	q->rcode = a->rcode;
	for (i = 0; a->rcode == DNS_OK && i < a->ntxt && i < DEST_MAX_TXT;
	     i++) {
		size_t n = a->txt[i].len < DEST_TXT_LEN - 1 ? a->txt[i].len
		                                            : DEST_TXT_LEN - 1;

		memcpy(q->txt[i], a->txt[i].p, n);
		q->txt[i][n] = '\0';
		q->ntxt++;
	}
	q->done = true;
}

static bool
dest_is_done(void *arg)
{
	return ((struct dest_query *)arg)->done;
}

/* One TXT lookup, waited for; false when the name cannot be asked. */
static bool
txt_sync(struct cli_resolver *r, const char *name, struct dest_query *q)
{
	memset(q, 0, sizeof(*q));
	if (r->ops.txt(r->ops.ctx, span_cstr(name), dest_done, q) != 0)
		return false;
	cli_resolver_wait(r, dest_is_done, q);
	return q->done;
}

/* RFC 9989 §4.10: walk from d, then §4.10.2 picks the Org Domain. */
static bool
org_domain(struct cli_resolver *r, const char *d, char *out, size_t cap)
{
	span t[DMARC_WALK_MAX], org;
	struct dmarc_walk_hit hits[DMARC_WALK_MAX];
	struct dest_query q;
	char name[300], why[160];
	size_t nt = dmarc_walk_targets(span_cstr(d), t), i, j, nh = 0;
	bool stop = false;

	for (i = 0; i < nt && !stop; i++) {
		snprintf(name, sizeof(name), "_dmarc.%.*s", (int)t[i].len,
		    (const char *)t[i].p);
		if (!txt_sync(r, name, &q) || q.rcode == DNS_TEMPFAIL)
			return false;
		for (j = 0; j < q.ntxt; j++) {
			struct dmarc_record rec;

			memset(&rec, 0, sizeof(rec));
			if (dmarc_record_parse(span_cstr(q.txt[j]),
			        DMARC_RFC9989, &rec, why,
			        sizeof(why)) == DMARC_REC_NOT_DMARC)
				continue;
			hits[nh].name = t[i];
			hits[nh++].psd = rec.psd;
			stop = rec.psd != DMARC_PSD_U;
			break;
		}
	}
	org = dmarc_walk_org(span_cstr(d), hits, nh);
	snprintf(out, cap, "%.*s", (int)org.len, (const char *)org.p);
	return true;
}

enum dest_verdict
cli_report_dest_check(
    struct cli_resolver *r, const char *policy_domain, const char *rua_domain)
{
	char po[300], ro[300], name[600];
	struct dest_query q;
	size_t i;

	if (strcasecmp(policy_domain, rua_domain) == 0)
		return DEST_OK;
	if (!org_domain(r, policy_domain, po, sizeof(po)) ||
	    !org_domain(r, rua_domain, ro, sizeof(ro)))
		return DEST_TEMPFAIL;
	if (strcasecmp(po, ro) == 0)
		return DEST_OK;
	snprintf(name, sizeof(name), "%s._report._dmarc.%s", policy_domain,
	    rua_domain);
	if (!txt_sync(r, name, &q) || q.rcode == DNS_TEMPFAIL)
		return DEST_TEMPFAIL;
	for (i = 0; i < q.ntxt; i++)
		if (strncasecmp(q.txt[i], "v=DMARC1", 8) == 0 &&
		    strchr("; \t", q.txt[i][8]) != NULL)
			return DEST_OK;
	return DEST_REFUSED;
}

/* "mailto:a@b.example!10m": address and limit (k m g t, RFC 9989). */
static bool
parse_uri(const char *u, size_t n, struct cli_report_dest *d)
{
	const char *bang;
	size_t an;
	uint64_t v = 0;
	size_t i;

	memset(d, 0, sizeof(*d));
	if (n < 8 || strncasecmp(u, "mailto:", 7) != 0)
		return false;
	u += 7;
	n -= 7;
	bang = memchr(u, '!', n);
	an = bang != NULL ? (size_t)(bang - u) : n;
	if (an == 0 || an >= sizeof(d->addr) || memchr(u, '@', an) == NULL)
		return false;
	memcpy(d->addr, u, an);
	d->addr[an] = '\0';
	if (bang == NULL)
		return true;
	for (i = an + 1; i < n && u[i] >= '0' && u[i] <= '9'; i++) {
		if (v > UINT64_MAX / 10 - 9)
			return false;
		v = v * 10 + (uint64_t)(u[i] - '0');
	}
	if (i < n) {
		static const char units[] = "kmgt";
		const char *up = strchr(units, u[i] | 0x20);

		if (up == NULL || *up == '\0' || v > (UINT64_MAX >> 40))
			return false;
		v <<= 10 * (up - units + 1);
	}
	d->max_size = v;
	return true;
}

size_t
cli_report_dest_parse(const char *rua, struct cli_report_dest *out, size_t max)
{
	const char *p = rua, *e;
	size_t n = 0;

	while (*p != '\0' && n < max) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		e = p + strcspn(p, ",");
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > p && parse_uri(p, (size_t)(e - p), &out[n]))
			n++;
		p = e;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return n;
}
