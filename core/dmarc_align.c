/*
 * Names for DMARC: the author domain of a message (RFC 9989 §5.3.1),
 * normalised domain names, the DNS Tree Walk's targets and its choice of
 * Organizational Domain (RFC 9989 §4.10, §4.10.2), and the Public Suffix
 * List's in RFC 7489 mode (RFC 7489 §3.2). Pure functions: the walk's
 * queries are made by dmarc_eval.c.
 */
#include "dmarc.h"

#include <libpsl.h>

#include "arena.h"
#include "hdr.h"

/* Addresses of one From field examined; more count as several domains. */
#define FROM_ADDR_MAX 16

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/*
 * A domain the walk can start from: labels separated by single dots,
 * no white space, control bytes or NUL. Deliberately wider than a host
 * name (RFC 1035 §2.3.4): a From domain such as "x+y.victim.example",
 * one with a label over 63 octets, or one too long for "_dmarc." to be
 * prepended, cannot hold a record itself, but its parents can, so the
 * walk must still find them (the backend refuses such query names with
 * DNS_E_BADNAME and the walk reads that as no record). The bound keeps
 * the work finite.
 */
static bool
name_ok(span d)
{
	size_t i, label = 0;

	/* A domain literal ("[192.0.2.1]") names no domain (RFC 5322). */
	if (d.len == 0 || d.len > DMARC_NAME_MAX || d.p[0] == '[')
		return false;
	for (i = 0; i < d.len; i++) {
		uint8_t c = d.p[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (c <= ' ' || c == 0x7f)
			return false;
		label++;
	}
	return label > 0;
}

bool
dmarc_domain_norm(span d, struct arena *ar, span *out, bool *nomem)
{
	uint8_t *p;
	size_t i;

	*nomem = false;
	if (d.len > 0 && d.p[d.len - 1] == '.')
		d.len--;
	if (!name_ok(d))
		return false;
	if ((p = arena_alloc(ar, d.len)) == NULL) {
		*nomem = true;
		return false;
	}
	for (i = 0; i < d.len; i++)
		p[i] = lower(d.p[i]);
	*out = span_make(p, d.len);
	return true;
}

size_t
dmarc_domain_labels(span d)
{
	size_t i, n = d.len > 0 ? 1 : 0;

	for (i = 0; i < d.len; i++)
		if (d.p[i] == '.')
			n++;
	return n;
}

span
dmarc_domain_suffix(span d, size_t n)
{
	size_t i = d.len, seen = 0;

	if (n == 0)
		return span_make(d.p + d.len, 0);
	while (i > 0) {
		if (d.p[i - 1] == '.' && ++seen == n)
			return span_sub(d, i, d.len - i);
		i--;
	}
	return d;
}

bool
dmarc_domain_eq(span a, span b)
{
	if (a.len > 0 && a.p[a.len - 1] == '.')
		a.len--;
	if (b.len > 0 && b.p[b.len - 1] == '.')
		b.len--;
	return a.len > 0 && span_ieq_ascii(a, b);
}

/*
 * §4.10 steps 3-4 and 7: after the name itself, drop one label at a time;
 * a name of 8 or more labels first jumps to its last 7. So no walk makes
 * more than 8 queries (the §4.10 example: 13 labels, 8 queries).
 */
size_t
dmarc_walk_targets(span d, span out[DMARC_WALK_MAX])
{
	size_t x = dmarc_domain_labels(d), n = 0, k;

	if (x == 0)
		return 0;
	out[n++] = d;
	for (k = x >= DMARC_WALK_MAX ? DMARC_WALK_MAX - 1 : x - 1; k > 0; k--)
		out[n++] = dmarc_domain_suffix(d, k);
	return n;
}

/*
 * §4.10.2, the records taken from the longest name to the shortest:
 *  1. psd=n: that name is the Organizational Domain;
 *  2. psd=y on a name other than the walk's start: the name one label
 *     below it (towards d);
 *  3. otherwise the name with the fewest labels that has a record;
 * and d itself when the walk found no record. The walk stops at the
 * first psd=y or psd=n (§4.10 steps 2 and 6), so only the last hit can
 * carry one.
 */
span
dmarc_walk_org(span d, const struct dmarc_walk_hit *hits, size_t nhits)
{
	const struct dmarc_walk_hit *last;
	size_t nl;

	if (nhits == 0)
		return d;
	last = &hits[nhits - 1];
	if (last->psd == DMARC_PSD_N)
		return last->name;
	nl = dmarc_domain_labels(last->name);
	if (last->psd == DMARC_PSD_Y && nl < dmarc_domain_labels(d))
		return dmarc_domain_suffix(d, nl + 1);
	return last->name;
}

/*
 * RFC 7489 §3.2: the public suffix plus one label. libpsl wants a NUL-
 * terminated lower-case name and answers with a pointer into it, or NULL
 * for a public suffix (or a name with no registrable part), which is
 * then its own Organizational Domain.
 */
span
dmarc_psl_org(const struct psl_ctx_st *psl, span d)
{
	char name[256];
	const char *reg;
	size_t i;

	if (psl == NULL || d.len == 0 || d.len >= sizeof(name))
		return d;
	for (i = 0; i < d.len; i++)
		name[i] = (char)lower(d.p[i]);
	name[d.len] = '\0';
	if ((reg = psl_registrable_domain(psl, name)) == NULL)
		return d;
	i = (size_t)(reg - name);
	return i <= d.len ? span_sub(d, i, d.len - i) : d;
}

/* Is a equal to b or below it, label by label? */
static bool
is_within(span a, span b)
{
	if (a.len < b.len || b.len == 0)
		return false;
	if (!span_ieq_ascii(span_sub(a, a.len - b.len, b.len), b))
		return false;
	return a.len == b.len || a.p[a.len - b.len - 1] == '.';
}

/*
 * RFC 7489 §3.1.1: relaxed alignment is equal Organizational Domains.
 * Without a list, one name within the other is the closest guess: it
 * holds for every pair the list would align except siblings
 * (news.example.com and mail.example.com), which are then reported as
 * unaligned rather than passed; beyond the list it also holds for a d=
 * that is a public suffix itself (co.uk), where nobody can publish a key.
 */
bool
dmarc_psl_aligned(const struct psl_ctx_st *psl, span from, span d)
{
	if (from.len > 0 && from.p[from.len - 1] == '.')
		from.len--;
	if (d.len > 0 && d.p[d.len - 1] == '.')
		d.len--;
	if (from.len == 0 || d.len == 0)
		return false;
	if (psl == NULL)
		return is_within(from, d) || is_within(d, from);
	return dmarc_domain_eq(dmarc_psl_org(psl, from), dmarc_psl_org(psl, d));
}

/*
 * §5.3.1: zero domains, or more than one, and "DMARC validation is not
 * possible". Several addresses in one domain give one Author Domain;
 * several From fields break RFC 5322 §3.6 and are out of scope (§4.4).
 * The §11.5 option of evaluating each domain is left to the caller.
 */
dmarc_from_res
dmarc_author_domain(const struct hdr_msg *m, struct arena *ar, span *domain)
{
	span addrs[FROM_ADDR_MAX], first;
	size_t n, i, idx;

	n = hdr_count(m, SPAN_LIT("from"));
	if (n == 0)
		return DMARC_FROM_NONE;
	if (n > 1)
		return DMARC_FROM_MULTIPLE_FIELDS;
	idx = hdr_find(m, SPAN_LIT("from"), 0);
	n = hdr_addr_list(m->f[idx].value, ar, addrs, FROM_ADDR_MAX);
	if (n == HDR_ADDR_NOMEM)
		return DMARC_FROM_NOMEM;
	if (n == SIZE_MAX || n == 0)
		return DMARC_FROM_NO_DOMAIN;
	if (n > FROM_ADDR_MAX)
		return DMARC_FROM_MULTIPLE_ADDRS;
	first = hdr_addr_domain(addrs[0]);
	for (i = 0; i < n; i++) {
		span d = hdr_addr_domain(addrs[i]);

		if (d.len == 0)
			return DMARC_FROM_NO_DOMAIN;
		if (!dmarc_domain_eq(d, first))
			return DMARC_FROM_MULTIPLE_ADDRS;
	}
	*domain = first;
	return DMARC_FROM_OK;
}

const char *
dmarc_from_res_str(dmarc_from_res r)
{
	switch (r) {
	case DMARC_FROM_OK:
		return "ok";
	case DMARC_FROM_NONE:
		return "no From field";
	case DMARC_FROM_MULTIPLE_FIELDS:
		return "more than one From field";
	case DMARC_FROM_MULTIPLE_ADDRS:
		return "From addresses in more than one domain";
	case DMARC_FROM_NO_DOMAIN:
		return "From holds no address with a domain";
	case DMARC_FROM_NOMEM:
		return "out of memory";
	}
	return "unknown";
}
