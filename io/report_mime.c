/*
 * report_mime.c - the attachments of a report mail (RFC 5322 header block,
 * RFC 2045 transfer encodings, RFC 2046 §5.1 multipart bodies, nested to
 * REPORT_MAX_DEPTH). Only what a report needs: every leaf part is decoded
 * and, when its bytes are XML, gzip or zip, handed to report_unpack;
 * text parts are skipped. A message with no report in it is an error.
 */
#include "io/report.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/b64.h"
#include "core/span.h"

struct mime_part {
	span ctype; /* Content-Type value, unfolded, params included */
	span cte;   /* Content-Transfer-Encoding value */
	span body;
	bool has_header; /* at least one header field was seen */
};

struct mime_walk {
	report_xml_fn *fn;
	void *cookie;
	size_t found;
};

static int walk(struct mime_walk *w, span msg, int depth, char *err, size_t el);

static size_t
line_end(span s, size_t i, size_t *next)
{
	const uint8_t *nl = memchr(s.p + i, '\n', s.len - i);
	size_t e = nl != NULL ? (size_t)(nl - s.p) : s.len;

	*next = nl != NULL ? e + 1 : s.len;
	if (e > i && s.p[e - 1] == '\r')
		e--;
	return e;
}

/* Field name (RFC 5322 §3.6.8: printable ASCII but ':'), then ':'. */
static size_t
field_name_len(span line)
{
	size_t i = 0;

	while (i < line.len && line.p[i] > 32 && line.p[i] < 127 &&
	    line.p[i] != ':')
		i++;
	return i > 0 && i < line.len && line.p[i] == ':' ? i : 0;
}

/*
 * Split the header block from the body; remember Content-Type and
 * Content-Transfer-Encoding (first line only: the values we need are short
 * and folded parameters are joined by the parameter scan below).
 */
static void
split(span m, struct mime_part *pt)
{
	size_t i = 0, next, e, n;
	span *last = NULL;

	memset(pt, 0, sizeof(*pt));
	while (i < m.len) {
		span line;

		e = line_end(m, i, &next);
		line = span_sub(m, i, e - i);
		if (line.len == 0) {
			i = next;
			break;
		}
		if ((line.p[0] == ' ' || line.p[0] == '\t') && last != NULL) {
			/* Folded: extend the value over the continuation. */
			last->len = e - (size_t)(last->p - m.p);
		} else if ((n = field_name_len(line)) > 0) {
			span name = span_sub(line, 0, n);

			pt->has_header = true;
			last = NULL;
			if (span_ieq_cstr(name, "content-type"))
				last = &pt->ctype;
			else if (span_ieq_cstr(
			             name, "content-transfer-encoding"))
				last = &pt->cte;
			if (last != NULL)
				*last = span_trim_ws(
				    span_sub(line, n + 1, line.len - n - 1));
		} else if (!pt->has_header) {
			break; /* not a header block: all body */
		}
		i = next;
	}
	pt->body = pt->has_header ? span_sub(m, i, m.len - i) : m;
}

/* A parameter's value (quoted or token) in a Content-Type, folded or not. */
static span
param(span ct, const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; i + n + 1 < ct.len; i++) {
		size_t s, e;

		if (strncasecmp((const char *)ct.p + i, name, n) != 0 ||
		    ct.p[i + n] != '=' ||
		    (i > 0 && strchr("; \t\r\n", ct.p[i - 1]) == NULL))
			continue;
		s = i + n + 1;
		if (s < ct.len && ct.p[s] == '"') {
			for (e = ++s; e < ct.len && ct.p[e] != '"'; e++)
				;
		} else {
			for (e = s;
			     e < ct.len && strchr("; \t\r\n", ct.p[e]) == NULL;
			     e++)
				;
		}
		return span_sub(ct, s, e - s);
	}
	return span_make(NULL, 0);
}

static bool
is_boundary(span line, span b, bool *close)
{
	if (line.len < b.len + 2 || line.p[0] != '-' || line.p[1] != '-' ||
	    memcmp(line.p + 2, b.p, b.len) != 0)
		return false;
	*close = line.len >= b.len + 4 && line.p[b.len + 2] == '-' &&
	    line.p[b.len + 3] == '-';
	return true;
}

static int
multipart(
    struct mime_walk *w, span body, span b, int depth, char *err, size_t el)
{
	size_t i = 0, next, e, start = 0;
	bool in = false, close = false;
	int r;

	if (b.len == 0 || b.len > 70) {
		snprintf(err, el, "multipart without a usable boundary");
		return REPORT_E_CONTAINER;
	}
	while (i < body.len && !close) {
		e = line_end(body, i, &next);
		if (is_boundary(span_sub(body, i, e - i), b, &close)) {
			/* RFC 2046: the CRLF before a boundary is its own. */
			size_t pe = i;

			if (pe > start && body.p[pe - 1] == '\n')
				pe--;
			if (pe > start && body.p[pe - 1] == '\r')
				pe--;
			if (in &&
			    (r = walk(w, span_sub(body, start, pe - start),
			         depth + 1, err, el)) != 0)
				return r;
			in = true;
			start = next;
		}
		i = next;
	}
	if (in && !close && start < body.len &&
	    (r = walk(w, span_sub(body, start, body.len - start), depth + 1,
	         err, el)) != 0)
		return r;
	return 0;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 2045 §6.7; soft line breaks dropped, bad escapes kept as they are. */
static size_t
qp_decode(span in, uint8_t *out)
{
	size_t i, o = 0;
	int h, l;

	for (i = 0; i < in.len; i++) {
		if (in.p[i] != '=') {
			out[o++] = in.p[i];
			continue;
		}
		if (i + 1 < in.len && in.p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (i + 2 < in.len && in.p[i + 1] == '\r' &&
		    in.p[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (i + 2 < in.len && (h = hexval(in.p[i + 1])) >= 0 &&
		    (l = hexval(in.p[i + 2])) >= 0) {
			out[o++] = (uint8_t)(h << 4 | l);
			i += 2;
			continue;
		}
		out[o++] = in.p[i];
	}
	return o;
}

/* Counts the documents found, then passes them on. */
static int
count_xml(void *cookie, const uint8_t *xml, size_t len)
{
	struct mime_walk *w = cookie;

	w->found++;
	return w->fn(w->cookie, xml, len);
}

/* Only parts whose bytes are a report or a compressed one are opened. */
static bool
looks_like_report(const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return true;
	if (n >= 4 && memcmp(p, "PK\x03\x04", 4) == 0)
		return true;
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < n &&
	    (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i < n && p[i] == '<';
}

static int
unpack_part(struct mime_walk *w, const uint8_t *p, size_t n, int depth,
    char *err, size_t el)
{
	if (!looks_like_report(p, n))
		return 0;
	return report_unpack_depth(p, n, depth, count_xml, w, err, el);
}

static int
leaf(struct mime_walk *w, const struct mime_part *pt, int depth, char *err,
    size_t el)
{
	uint8_t *dec;
	size_t n;
	int r;

	if (span_ieq_cstr(pt->cte, "base64")) {
		if ((dec = malloc(b64_decoded_max(pt->body.len))) == NULL)
			return REPORT_E_NOMEM;
		if (!b64_decode(
		        pt->body, dec, b64_decoded_max(pt->body.len), &n)) {
			free(dec);
			snprintf(err, el, "attachment: bad base64");
			return REPORT_E_CONTAINER;
		}
	} else if (span_ieq_cstr(pt->cte, "quoted-printable")) {
		if ((dec = malloc(pt->body.len + 1)) == NULL)
			return REPORT_E_NOMEM;
		n = qp_decode(pt->body, dec);
	} else {
		return unpack_part(w, pt->body.p, pt->body.len, depth, err, el);
	}
	r = unpack_part(w, dec, n, depth, err, el);
	free(dec);
	return r;
}

static bool
ctype_is(span ct, const char *prefix)
{
	return span_has_prefix_ci(ct, span_cstr(prefix));
}

static int
walk(struct mime_walk *w, span m, int depth, char *err, size_t el)
{
	struct mime_part pt;
	span b;

	if (depth > REPORT_MAX_DEPTH) {
		snprintf(
		    err, el, "MIME nested deeper than %d", REPORT_MAX_DEPTH);
		return REPORT_E_LIMIT;
	}
	split(m, &pt);
	if (ctype_is(pt.ctype, "multipart/")) {
		b = param(pt.ctype, "boundary");
		return multipart(w, pt.body, b, depth, err, el);
	}
	if (ctype_is(pt.ctype, "message/rfc822"))
		return walk(w, pt.body, depth + 1, err, el);
	/* Text parts are the human-readable notes next to the report. */
	if (ctype_is(pt.ctype, "text/plain") || ctype_is(pt.ctype, "text/html"))
		return 0;
	return leaf(w, &pt, depth, err, el);
}

int
report_mime_walk(const uint8_t *msg, size_t len, int depth, report_xml_fn *fn,
    void *cookie, char *err, size_t el)
{
	struct mime_walk w = { .fn = fn, .cookie = cookie, .found = 0 };
	struct mime_part pt;
	int r;

	split(span_make(msg, len), &pt);
	if (!pt.has_header) {
		snprintf(err, el, "not XML, gzip, zip or a mail message");
		return REPORT_E_FORMAT;
	}
	r = walk(&w, span_make(msg, len), depth, err, el);
	if (r == 0 && w.found == 0) {
		snprintf(err, el, "no report attached to the message");
		return REPORT_E_CONTAINER;
	}
	return r;
}
