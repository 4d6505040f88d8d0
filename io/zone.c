#include "zone.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns_name.h"

#define NAME_MAX_LEN  DNS_NAME_MAX
#define DEFAULT_TTL   3600
#define TEMPFAIL_MARK "HANKO-TEMPFAIL"

/* One record while loading; sorted, then split into the zone's arrays. */
struct zent {
	char *owner;   /* lower case, no trailing dot */
	uint8_t *blob; /* owns rr.data, NUL-terminated */
	uint32_t seq;  /* file order, for a stable sort */
	bool marker;   /* TXT "HANKO-TEMPFAIL" */
	struct resolv_rr rr;
};

/*
 * Records sorted by (owner, type, file order), so each owner and each
 * (owner, type) RRset is one contiguous run of rr[] and txt[]. ent[] holds
 * every proper ancestor of an owner, sorted, for empty non-terminals.
 */
struct resolv_zone {
	size_t nrr;
	char **owner;
	uint8_t **blob;
	bool *marker;
	struct resolv_rr *rr;
	span *txt;             /* txt[i] = rr[i].data, for dns_answer */
	struct dns_addr *addr; /* A, AAAA: rr[i].data as an address */
	span *name;            /* MX, PTR: rr[i].data */
	uint16_t *pref;        /* MX: rr[i].pref */
	const char **ent;
	size_t nent;
};

struct loader {
	const char *path;
	char *err;
	size_t errlen;
	struct zent *v;
	size_t n, cap;
};

static char *
name_from_rdf(const ldns_rdf *rdf)
{
	const uint8_t *w = ldns_rdf_data(rdf);
	size_t wlen = ldns_rdf_size(rdf), i = 0, o = 0;
	char *s;

	if ((s = malloc(wlen + 1)) == NULL)
		return NULL;
	while (i < wlen && w[i] != 0) {
		size_t l = w[i++], k;

		if (l > wlen - i)
			break;
		if (o > 0)
			s[o++] = '.';
		for (k = 0; k < l; k++) {
			uint8_t c = w[i + k];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c + ('a' - 'A'));
			s[o++] = (char)c;
		}
		i += l;
	}
	s[o] = '\0';
	return s;
}

static bool
set_blob(struct zent *e, const void *p, size_t len)
{
	if ((e->blob = malloc(len + 1)) == NULL)
		return false;
	if (len > 0)
		memcpy(e->blob, p, len);
	e->blob[len] = '\0';
	e->rr.data = span_make(e->blob, len);
	return true;
}

static bool
set_name(struct zent *e, const ldns_rdf *rdf)
{
	if (rdf == NULL || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
		return set_blob(e, "", 0);
	if ((e->blob = (uint8_t *)name_from_rdf(rdf)) == NULL)
		return false;
	e->rr.data = span_make(e->blob, strlen((char *)e->blob));
	return true;
}

/* RFC 6376 §3.6.2.2: the strings of one TXT RR are joined as is. */
static bool
set_txt(struct zent *e, const ldns_rr *rr)
{
	size_t i, n = ldns_rr_rd_count(rr), len = 0;

	for (i = 0; i < n; i++)
		len += ldns_rdf_size(ldns_rr_rdf(rr, i));
	if ((e->blob = malloc(len + 1)) == NULL)
		return false;
	len = 0;
	for (i = 0; i < n; i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		const uint8_t *d = ldns_rdf_data(f);
		size_t sz = ldns_rdf_size(f);

		if (sz == 0 || d[0] > sz - 1)
			continue;
		memcpy(e->blob + len, d + 1, d[0]);
		len += d[0];
	}
	e->blob[len] = '\0';
	e->rr.data = span_make(e->blob, len);
	e->marker = n == 1 && len == sizeof(TEMPFAIL_MARK) - 1 &&
	    memcmp(e->blob, TEMPFAIL_MARK, len) == 0;
	return true;
}

static bool
set_addr(struct zent *e, const ldns_rr *rr, size_t want)
{
	const ldns_rdf *f = ldns_rr_rdf(rr, 0);

	if (f == NULL || ldns_rdf_size(f) != want)
		return set_blob(e, "", 0);
	return set_blob(e, ldns_rdf_data(f), want);
}

static bool
zent_fill(struct zent *e, const ldns_rr *rr)
{
	const ldns_rdf *f;

	switch (e->rr.type) {
	case RESOLV_T_A:
		return set_addr(e, rr, 4);
	case RESOLV_T_AAAA:
		return set_addr(e, rr, 16);
	case RESOLV_T_CNAME:
	case RESOLV_T_PTR:
		return set_name(e, ldns_rr_rdf(rr, 0));
	case RESOLV_T_MX:
		f = ldns_rr_rdf(rr, 0);
		if (f != NULL && ldns_rdf_size(f) == 2)
			e->rr.pref = ldns_rdf2native_int16(f);
		return set_name(e, ldns_rr_rdf(rr, 1));
	case RESOLV_T_TXT:
		return set_txt(e, rr);
	default:
		/* Other types only make their owner exist (NODATA). */
		return set_blob(e, "", 0);
	}
}

static int
loader_add(struct loader *ld, const ldns_rr *rr)
{
	struct zent *e;

	if (ld->n == ld->cap) {
		size_t ncap = ld->cap ? ld->cap * 2 : 64;
		struct zent *nv = realloc(ld->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		ld->v = nv;
		ld->cap = ncap;
	}
	e = &ld->v[ld->n];
	memset(e, 0, sizeof(*e));
	e->seq = (uint32_t)ld->n;
	e->rr.type = (uint16_t)ldns_rr_get_type(rr);
	e->rr.ttl = ldns_rr_ttl(rr);
	if ((e->owner = name_from_rdf(ldns_rr_owner(rr))) == NULL)
		return -ENOMEM;
	ld->n++;
	if (!zent_fill(e, rr))
		return -ENOMEM;
	return 0;
}

static int
loader_fail(struct loader *ld, int line, int rc, const char *why)
{
	snprintf(ld->err, ld->errlen, "%s:%d: %s", ld->path, line, why);
	return rc;
}

/*
 * ldns counts a line once its newline is consumed, so after a failed
 * record line_nr is one past the line that broke.
 */
static int
loader_read(struct loader *ld, FILE *fp)
{
	uint32_t ttl = DEFAULT_TTL;
	ldns_rdf *origin = ldns_dname_new_frm_str(".");
	ldns_rdf *prev = NULL;
	ldns_status st;
	int line = 1, rc = 0;

	if (origin == NULL)
		return loader_fail(ld, 0, -ENOMEM, "out of memory");
	for (;;) {
		ldns_rr *rr = NULL;

		st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_OK) {
			rc = loader_add(ld, rr);
			ldns_rr_free(rr);
			if (rc != 0) {
				rc = loader_fail(
				    ld, line - 1, rc, "out of memory");
				break;
			}
		} else if (st == LDNS_STATUS_SYNTAX_EMPTY) {
			if (feof(fp))
				break;
		} else if (st == LDNS_STATUS_SYNTAX_INCLUDE) {
			rc = loader_fail(
			    ld, line - 1, -EINVAL, "$INCLUDE is not supported");
			break;
		} else if (st != LDNS_STATUS_SYNTAX_TTL &&
		    st != LDNS_STATUS_SYNTAX_ORIGIN) {
			rc = loader_fail(ld, line > 1 ? line - 1 : 1, -EINVAL,
			    ldns_get_errorstr_by_id(st));
			break;
		}
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return rc;
}

static int
zent_cmp(const void *a, const void *b)
{
	const struct zent *x = a, *y = b;
	int c = strcmp(x->owner, y->owner);

	if (c != 0)
		return c;
	if (x->rr.type != y->rr.type)
		return x->rr.type < y->rr.type ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
str_cmp(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

/* Every proper ancestor of every owner, sorted and unique. */
static int
zone_build_ents(struct resolv_zone *z)
{
	size_t i, n = 0, o;
	const char *p;

	for (i = 0; i < z->nrr; i++)
		for (p = z->owner[i]; (p = strchr(p, '.')) != NULL; p++)
			n++;
	if (n == 0)
		return 0;
	if ((z->ent = calloc(n, sizeof(*z->ent))) == NULL)
		return -ENOMEM;
	for (i = 0; i < z->nrr; i++)
		for (p = z->owner[i]; (p = strchr(p, '.')) != NULL; p++)
			z->ent[z->nent++] = p + 1;
	qsort(z->ent, z->nent, sizeof(*z->ent), str_cmp);
	for (i = 0, o = 0; i < z->nent; i++)
		if (o == 0 || strcmp(z->ent[o - 1], z->ent[i]) != 0)
			z->ent[o++] = z->ent[i];
	z->nent = o;
	return 0;
}

static int
zone_build(struct resolv_zone *z, struct loader *ld)
{
	size_t i, n = ld->n;

	if (n > 0)
		qsort(ld->v, n, sizeof(*ld->v), zent_cmp);
	z->owner = calloc(n ? n : 1, sizeof(*z->owner));
	z->blob = calloc(n ? n : 1, sizeof(*z->blob));
	z->marker = calloc(n ? n : 1, sizeof(*z->marker));
	z->rr = calloc(n ? n : 1, sizeof(*z->rr));
	z->txt = calloc(n ? n : 1, sizeof(*z->txt));
	z->addr = calloc(n ? n : 1, sizeof(*z->addr));
	z->name = calloc(n ? n : 1, sizeof(*z->name));
	z->pref = calloc(n ? n : 1, sizeof(*z->pref));
	if (z->owner == NULL || z->blob == NULL || z->marker == NULL ||
	    z->rr == NULL || z->txt == NULL || z->addr == NULL ||
	    z->name == NULL || z->pref == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct resolv_rr *rr = &ld->v[i].rr;

		z->owner[i] = ld->v[i].owner;
		z->blob[i] = ld->v[i].blob;
		z->marker[i] = ld->v[i].marker;
		z->rr[i] = *rr;
		z->txt[i] = rr->data;
		z->name[i] = rr->data;
		z->pref[i] = rr->pref;
		/* set_addr() left data empty when the rdata had another size */
		if ((rr->type == RESOLV_T_A || rr->type == RESOLV_T_AAAA) &&
		    rr->data.len <= sizeof(z->addr[i].b)) {
			z->addr[i].len = (uint8_t)rr->data.len;
			if (rr->data.len > 0)
				memcpy(z->addr[i].b, rr->data.p, rr->data.len);
		}
		ld->v[i].owner = NULL;
		ld->v[i].blob = NULL;
		z->nrr++;
	}
	return zone_build_ents(z);
}

static void
loader_fini(struct loader *ld)
{
	size_t i;

	for (i = 0; i < ld->n; i++) {
		free(ld->v[i].owner);
		free(ld->v[i].blob);
	}
	free(ld->v);
}

int
resolv_zone_load(
    const char *path, struct resolv_zone **out, char *err, size_t errlen)
{
	struct loader ld = { path, err, errlen, NULL, 0, 0 };
	struct resolv_zone *z = NULL;
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "r")) == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = loader_read(&ld, fp);
	fclose(fp);
	if (rc == 0 && (z = calloc(1, sizeof(*z))) == NULL)
		rc = -ENOMEM;
	if (rc == 0 && (rc = zone_build(z, &ld)) != 0)
		snprintf(err, errlen, "%s: out of memory", path);
	loader_fini(&ld);
	if (rc != 0) {
		resolv_zone_free(z);
		return rc;
	}
	*out = z;
	return 0;
}

void
resolv_zone_free(struct resolv_zone *z)
{
	size_t i;

	if (z == NULL)
		return;
	for (i = 0; i < z->nrr; i++) {
		free(z->owner[i]);
		free(z->blob[i]);
	}
	free(z->owner);
	free(z->blob);
	free(z->marker);
	free(z->rr);
	free(z->txt);
	free(z->addr);
	free(z->name);
	free(z->pref);
	free(z->ent);
	free(z);
}

/* First index whose owner is not below name. */
static size_t
owner_lower(const struct resolv_zone *z, const char *name)
{
	size_t lo = 0, hi = z->nrr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(z->owner[mid], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool
is_ent(const struct resolv_zone *z, const char *name)
{
	return z->nent > 0 &&
	    bsearch(&name, z->ent, z->nent, sizeof(*z->ent), str_cmp) != NULL;
}

static uint32_t
min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/*
 * Answer type at name from the owner run [lo, hi); returns the CNAME index
 * to follow in *cname, or sets out->rcode.
 */
static bool
answer_at(const struct resolv_zone *z, size_t lo, size_t hi, uint16_t type,
    struct resolv_answer *out, size_t *cname)
{
	size_t i, a;

	for (i = lo; i < hi; i++)
		if (z->marker[i]) {
			out->rcode = DNS_TEMPFAIL;
			return true;
		}
	for (a = lo; a < hi && z->rr[a].type != type; a++)
		;
	if (a < hi) {
		out->rcode = DNS_OK;
		out->rr = &z->rr[a];
		for (i = a; i < hi && z->rr[i].type == type; i++)
			out->ttl = min_u32(out->ttl, z->rr[i].ttl);
		out->nrr = i - a;
		return true;
	}
	for (i = lo; i < hi; i++)
		if (z->rr[i].type == RESOLV_T_CNAME && type != RESOLV_T_CNAME) {
			*cname = i;
			return false;
		}
	out->rcode = DNS_NODATA;
	return true;
}

static void
resolve(const struct resolv_zone *z, char *name, uint16_t type,
    struct resolv_answer *out)
{
	unsigned hop;
	size_t lo, hi, c;

	out->ttl = UINT32_MAX;
	out->rr = NULL;
	out->nrr = 0;
	out->rcode = DNS_TEMPFAIL; /* chain too long or a loop */
	for (hop = 0; hop <= RESOLV_ZONE_MAX_CNAME; hop++) {
		lo = owner_lower(z, name);
		for (hi = lo; hi < z->nrr && strcmp(z->owner[hi], name) == 0;
		     hi++)
			;
		if (lo == hi) {
			out->rcode =
			    is_ent(z, name) ? DNS_NODATA : DNS_NXDOMAIN;
			break;
		}
		if (answer_at(z, lo, hi, type, out, &c))
			break;
		out->ttl = min_u32(out->ttl, z->rr[c].ttl);
		if (z->rr[c].data.len == 0 ||
		    z->rr[c].data.len > NAME_MAX_LEN) {
			out->rcode = DNS_NXDOMAIN;
			break;
		}
		memcpy(name, z->rr[c].data.p, z->rr[c].data.len + 1);
	}
	if (out->rcode != DNS_OK)
		out->nrr = 0;
	if (out->ttl == UINT32_MAX)
		out->ttl = 0;
}

int
resolv_zone_query(const struct resolv_zone *z, span qname, uint16_t rrtype,
    struct resolv_answer *out)
{
	char name[NAME_MAX_LEN + 1];

	switch (rrtype) {
	case RESOLV_T_A:
	case RESOLV_T_AAAA:
	case RESOLV_T_CNAME:
	case RESOLV_T_PTR:
	case RESOLV_T_MX:
	case RESOLV_T_TXT:
		break;
	default:
		return -EINVAL;
	}
	if (!dns_name_norm(qname, name))
		return -EINVAL;
	resolve(z, name, rrtype, out);
	return 0;
}

int
resolv_zone_answer(const struct resolv_zone *z, uint16_t qtype, span qname,
    struct dns_answer *out)
{
	struct resolv_answer a;
	size_t first;
	int rc;

	if (!dns_qtype_ok(qtype))
		return -EINVAL;
	if ((rc = resolv_zone_query(z, qname, qtype, &a)) != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->rcode = a.rcode;
	out->ttl = a.ttl;
	if (a.rcode != DNS_OK)
		return 0;
	/* a.rr is one (owner, type) run of z->rr; the arrays run parallel. */
	first = (size_t)(a.rr - z->rr);
	switch (qtype) {
	case DNS_T_A:
	case DNS_T_AAAA:
		out->addr = &z->addr[first];
		out->naddr = a.nrr;
		break;
	case DNS_T_MX:
	case DNS_T_PTR:
		if (qtype == DNS_T_MX)
			out->pref = &z->pref[first];
		out->name = &z->name[first];
		out->nname = a.nrr;
		break;
	default:
		out->txt = &z->txt[first];
		out->ntxt = a.nrr;
		break;
	}
	return 0;
}

int
resolv_zone_txt(const struct resolv_zone *z, span qname, struct dns_answer *out)
{
	return resolv_zone_answer(z, DNS_T_TXT, qname, out);
}

static int
zone_query(
    void *ctx, uint16_t qtype, span qname, dns_done_fn *done, void *cookie)
{
	struct dns_answer a;
	int rc;

	if ((rc = resolv_zone_answer(ctx, qtype, qname, &a)) != 0)
		return rc;
	done(cookie, &a);
	return 0;
}

static int
zone_txt(void *ctx, span qname, dns_done_fn *done, void *cookie)
{
	return zone_query(ctx, DNS_T_TXT, qname, done, cookie);
}

void
resolv_zone_ops(struct resolv_zone *z, struct dns_ops *out)
{
	out->ctx = z;
	out->txt = zone_txt;
	out->query = zone_query;
}
