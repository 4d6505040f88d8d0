/*
 * report_xml.c - one aggregate report document into struct report
 * (RFC 9990 §3 and RFC 7489 appendix C, read leniently by element name so
 * the namespace, element order and the draft layout do not matter).
 */
#include "io/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/span.h"

static const char *const res_str[] = {
	[REPORT_OK] = "ok",
	[REPORT_E_XML] = "not well-formed XML",
	[REPORT_E_FORMAT] = "not a DMARC aggregate report",
	[REPORT_E_LIMIT] = "beyond a size or count limit",
	[REPORT_E_NOMEM] = "out of memory",
	[REPORT_E_CONTAINER] = "unreadable container",
};

const char *
report_res_str(report_res r)
{
	if ((size_t)r >= sizeof(res_str) / sizeof(res_str[0]))
		return "unknown";
	return res_str[r];
}

void
report_fini(struct report *r)
{
	free(r->rows);
	r->rows = NULL;
	r->nrows = 0;
}

static bool
name_is(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *
child(const xmlNode *n, const char *name)
{
	const xmlNode *c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (name_is(c, name))
			return c;
	return NULL;
}

/*
 * The element's own text and CDATA children only: entity references are
 * never followed, so no expansion can happen here whatever the input.
 * Trimmed, cut to cap-1 bytes, lower-cased when asked.
 */
static void
text(const xmlNode *n, char *out, size_t cap, bool lower)
{
	const xmlNode *c;
	size_t len = 0, s = 0, i;

	out[0] = '\0';
	if (n == NULL)
		return;
	for (c = n->children; c != NULL; c = c->next) {
		size_t l;

		if ((c->type != XML_TEXT_NODE &&
		        c->type != XML_CDATA_SECTION_NODE) ||
		    c->content == NULL)
			continue;
		l = strlen((const char *)c->content);
		if (l > cap - 1 - len)
			l = cap - 1 - len;
		memcpy(out + len, c->content, l);
		len += l;
	}
	out[len] = '\0';
	while (len > 0 && strchr(" \t\r\n", out[len - 1]) != NULL)
		out[--len] = '\0';
	while (s < len && strchr(" \t\r\n", out[s]) != NULL)
		s++;
	memmove(out, out + s, len - s + 1);
	for (i = 0; lower && out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
}

static bool
num(const xmlNode *n, uint64_t max, uint64_t *out)
{
	char b[32];
	char *end;
	unsigned long long v;

	text(n, b, sizeof(b), false);
	if (b[0] < '0' || b[0] > '9')
		return false;
	errno = 0;
	v = strtoull(b, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static report_res
parse_meta(const xmlNode *root, struct report_meta *m, char *err, size_t el)
{
	const xmlNode *md = child(root, "report_metadata");
	const xmlNode *pp = child(root, "policy_published");
	const xmlNode *dr = child(md, "date_range");
	uint64_t b, e;

	text(child(md, "org_name"), m->org, sizeof(m->org), false);
	text(child(md, "email"), m->email, sizeof(m->email), false);
	text(child(md, "report_id"), m->report_id, sizeof(m->report_id), false);
	/* An empty org_name is common: name the org by its email domain. */
	if (m->org[0] == '\0' && strchr(m->email, '@') != NULL)
		snprintf(
		    m->org, sizeof(m->org), "%s", strchr(m->email, '@') + 1);
	if (md == NULL || m->org[0] == '\0' || m->report_id[0] == '\0') {
		snprintf(
		    err, el, "report_metadata lacks org_name or report_id");
		return REPORT_E_FORMAT;
	}
	if (!num(child(dr, "begin"), INT64_MAX, &b) ||
	    !num(child(dr, "end"), INT64_MAX, &e) || e < b) {
		snprintf(err, el, "date_range missing or not begin <= end");
		return REPORT_E_FORMAT;
	}
	m->begin = (int64_t)b;
	m->end = (int64_t)e;
	text(child(pp, "domain"), m->domain, sizeof(m->domain), true);
	if (m->domain[0] == '\0') {
		snprintf(err, el, "policy_published lacks domain");
		return REPORT_E_FORMAT;
	}
	text(child(pp, "p"), m->p, sizeof(m->p), true);
	text(child(pp, "sp"), m->sp, sizeof(m->sp), true);
	text(child(pp, "np"), m->np, sizeof(m->np), true);
	text(child(pp, "adkim"), m->adkim, sizeof(m->adkim), true);
	text(child(pp, "aspf"), m->aspf, sizeof(m->aspf), true);
	text(child(pp, "pct"), m->pct, sizeof(m->pct), false);
	text(child(pp, "testing"), m->testing, sizeof(m->testing), true);
	return REPORT_OK;
}

static void
parse_auth(const xmlNode *ar, struct report_row *r)
{
	const xmlNode *c;

	for (c = ar != NULL ? ar->children : NULL; c != NULL; c = c->next) {
		struct report_auth *a;

		if (name_is(c, "dkim") && r->ndkim < REPORT_MAX_AUTH)
			a = &r->dkim_res[r->ndkim++];
		else if (name_is(c, "spf") && r->nspf < REPORT_MAX_AUTH)
			a = &r->spf_res[r->nspf++];
		else
			continue;
		text(child(c, "domain"), a->domain, sizeof(a->domain), true);
		text(child(c, "selector"), a->selector, sizeof(a->selector),
		    false);
		text(child(c, "scope"), a->scope, sizeof(a->scope), true);
		text(child(c, "result"), a->result, sizeof(a->result), true);
	}
}

static report_res
parse_record(
    const xmlNode *rec, struct report_row *r, size_t i, char *err, size_t el)
{
	const xmlNode *row = child(rec, "row");
	const xmlNode *pe = child(row, "policy_evaluated");
	const xmlNode *id = child(rec, "identifiers");

	memset(r, 0, sizeof(*r));
	text(child(row, "source_ip"), r->ip, sizeof(r->ip), true);
	if (r->ip[0] == '\0') {
		snprintf(err, el, "record %zu: no source_ip", i + 1);
		return REPORT_E_FORMAT;
	}
	if (!num(child(row, "count"), REPORT_MAX_COUNT, &r->count)) {
		snprintf(err, el, "record %zu: count missing or above %u",
		    i + 1, REPORT_MAX_COUNT);
		return REPORT_E_FORMAT;
	}
	text(child(pe, "disposition"), r->disposition, sizeof(r->disposition),
	    true);
	text(child(pe, "dkim"), r->dkim, sizeof(r->dkim), true);
	text(child(pe, "spf"), r->spf, sizeof(r->spf), true);
	text(child(child(pe, "reason"), "type"), r->reason, sizeof(r->reason),
	    true);
	text(child(id, "header_from"), r->header_from, sizeof(r->header_from),
	    true);
	text(child(id, "envelope_from"), r->envelope_from,
	    sizeof(r->envelope_from), true);
	text(child(id, "envelope_to"), r->envelope_to, sizeof(r->envelope_to),
	    true);
	parse_auth(child(rec, "auth_results"), r);
	return REPORT_OK;
}

static report_res
parse_doc(const xmlNode *root, struct report *out, char *err, size_t el)
{
	const xmlNode *c;
	size_t n = 0;
	report_res res;

	if (!name_is(root, "feedback")) {
		snprintf(err, el, "root element is <%s>, not <feedback>",
		    root != NULL ? (const char *)root->name : "");
		return REPORT_E_FORMAT;
	}
	if ((res = parse_meta(root, &out->meta, err, el)) != REPORT_OK)
		return res;
	for (c = root->children; c != NULL; c = c->next)
		n += name_is(c, "record");
	if (n > REPORT_MAX_ROWS) {
		snprintf(err, el, "more than %d records", REPORT_MAX_ROWS);
		return REPORT_E_LIMIT;
	}
	if (n > 0 && (out->rows = calloc(n, sizeof(*out->rows))) == NULL)
		return REPORT_E_NOMEM;
	for (c = root->children; c != NULL; c = c->next) {
		if (!name_is(c, "record"))
			continue;
		res = parse_record(
		    c, &out->rows[out->nrows], out->nrows, err, el);
		if (res != REPORT_OK)
			return res;
		out->nrows++;
	}
	return REPORT_OK;
}

/* The encoding named in the XML declaration is UTF-8 (or none). */
static bool
declares_utf8(const uint8_t *p, size_t len)
{
	const uint8_t *q, *end;
	size_t n = len < 200 ? len : 200;

	if (n < 5 || memcmp(p, "<?xml", 5) != 0)
		return true;
	end = memchr(p, '>', n);
	q = memmem(p, end != NULL ? (size_t)(end - p) : n, "encoding", 8);
	if (q == NULL)
		return true;
	q += 8;
	while (q < p + n && strchr(" =\"'", *q) != NULL)
		q++;
	return (size_t)(p + n - q) >= 5 &&
	    strncasecmp((const char *)q, "utf-8", 5) == 0;
}

/*
 * Real reporters send bytes that are not UTF-8 under a UTF-8 declaration;
 * libxml2 would stop there, so such bytes become '?' (NULL: none found).
 */
static uint8_t *
utf8_fix(const uint8_t *p, size_t len)
{
	uint8_t *copy = NULL;
	size_t i = 0, n;

	if (!declares_utf8(p, len))
		return NULL;
	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = span_utf8_len(p + i, len - i)) > 0) {
			i += n;
			continue;
		}
		if (copy == NULL) {
			if ((copy = malloc(len)) == NULL)
				return NULL;
			memcpy(copy, p, len);
			p = copy;
		}
		copy[i++] = '?';
	}
	return copy;
}

/*
 * One reporter wraps <feedback> in an <xs:schema> start tag that is never
 * closed; with the stray tag blanked out the rest is a good report. Only
 * that exact shape is mended: any other unclosed tag stays an error.
 */
static uint8_t *
schema_fix(uint8_t *copy, const uint8_t *p, size_t len)
{
	const uint8_t *t, *fb, *gt;
	size_t n = len < 4096 ? len : 4096;

	if ((t = memmem(p, n, "<xs:schema", 10)) == NULL ||
	    (fb = memmem(p, len, "<feedback", 9)) == NULL || fb < t ||
	    memmem(p, len, "</xs:schema>", 12) != NULL ||
	    (gt = memchr(t, '>', (size_t)(fb - t))) == NULL)
		return copy;
	if (copy == NULL) {
		if ((copy = malloc(len)) == NULL)
			return NULL;
		memcpy(copy, p, len);
	}
	memset(copy + (t - p), ' ', (size_t)(gt - t) + 1);
	return copy;
}

report_res
report_xml_parse(
    const uint8_t *p, size_t len, struct report *out, char *err, size_t errlen)
{
	/* No network, no DTD, no entity substitution: see report.h. */
	const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
	uint8_t *fixed;
	xmlDoc *doc;
	report_res res;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		snprintf(err, errlen, "empty document");
		return REPORT_E_FORMAT;
	}
	if (len > REPORT_MAX_XML) {
		snprintf(
		    err, errlen, "document over %zu bytes", REPORT_MAX_XML);
		return REPORT_E_LIMIT;
	}
	fixed = schema_fix(utf8_fix(p, len), p, len);
	doc =
	    xmlReadMemory(fixed != NULL ? (const char *)fixed : (const char *)p,
	        (int)len, NULL, NULL, opts);
	free(fixed);
	if (doc == NULL) {
		const xmlError *e = xmlGetLastError();

		snprintf(err, errlen, "not well-formed XML%s%.100s",
		    e != NULL && e->message != NULL ? ": " : "",
		    e != NULL && e->message != NULL ? e->message : "");
		err[strcspn(err, "\n")] = '\0';
		xmlResetLastError();
		return REPORT_E_XML;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		snprintf(err, errlen, "DOCTYPE refused (entity expansion)");
		res = REPORT_E_FORMAT;
	} else {
		res = parse_doc(xmlDocGetRootElement(doc), out, err, errlen);
	}
	xmlFreeDoc(doc);
	if (res != REPORT_OK)
		report_fini(out);
	return res;
}
