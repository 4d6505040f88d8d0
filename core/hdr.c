#include "hdr.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "env.h"

static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Offset of the LF ending the line that starts at i, or len. */
static size_t
line_end(span m, size_t i)
{
	const uint8_t *lf = memchr(m.p + i, '\n', m.len - i);

	return lf == NULL ? m.len : (size_t)(lf - m.p);
}

/* RFC 5322 §3.6.8: ftext = %d33-57 / %d59-126 */
static bool
field_name_ok(span n)
{
	size_t i;

	if (n.len == 0)
		return false;
	for (i = 0; i < n.len; i++)
		if (n.p[i] < 33 || n.p[i] > 126 || n.p[i] == ':')
			return false;
	return true;
}

static hdr_res
grow(struct arena *ar, struct hdr_msg *m, size_t *cap)
{
	size_t ncap = *cap == 0 ? 32 : *cap * 2;
	struct hdr_field *nf;

	if ((nf = arena_alloc(ar, ncap * sizeof(*nf))) == NULL)
		return HDR_E_NOMEM;
	if (m->nf > 0)
		memcpy(nf, m->f, m->nf * sizeof(*nf));
	m->f = nf;
	*cap = ncap;
	return HDR_OK;
}

static hdr_res
add_field(struct hdr_msg *m, span raw, char *err, size_t errlen)
{
	const uint8_t *colon = memchr(raw.p, ':', raw.len);
	struct hdr_field *f = &m->f[m->nf];
	span name;

	if (colon == NULL) {
		snprintf(err, errlen, "header line without a colon: \"%.*s\"",
		    (int)(raw.len > 40 ? 40 : raw.len), (const char *)raw.p);
		return HDR_E_NOCOLON;
	}
	name = span_make(raw.p, (size_t)(colon - raw.p));
	while (name.len > 0 && is_wsp(name.p[name.len - 1]))
		name.len--;
	if (!field_name_ok(name)) {
		snprintf(err, errlen, "invalid header field name \"%.*s\"",
		    (int)(name.len > 40 ? 40 : name.len), (const char *)name.p);
		return HDR_E_NAME;
	}
	f->raw = raw;
	f->name = name;
	f->value = span_make(colon + 1, raw.len - (size_t)(colon - raw.p) - 1);
	m->nf++;
	return HDR_OK;
}

/* Strip the line ending (LF or CRLF) from the span [s, e). */
static span
strip_eol(const uint8_t *s, const uint8_t *e)
{
	if (e > s && e[-1] == '\n')
		e--;
	if (e > s && e[-1] == '\r')
		e--;
	return span_make(s, (size_t)(e - s));
}

static hdr_res
check_field(const struct hanko_limits *lim, const struct hdr_msg *m,
    size_t flen, char *err, size_t errlen)
{
	if (m->nf + 1 > lim->max_header_fields) {
		snprintf(err, errlen, "more than %zu header fields",
		    lim->max_header_fields);
		return HDR_E_LIMIT;
	}
	if (flen > lim->max_field_bytes) {
		snprintf(err, errlen, "header field longer than %zu bytes",
		    lim->max_field_bytes);
		return HDR_E_LIMIT;
	}
	return HDR_OK;
}

hdr_res
hdr_split(span msg, const struct hanko_limits *lim, struct arena *ar,
    struct hdr_msg *out, char *err, size_t errlen)
{
	struct hdr_msg m = { NULL, 0, { NULL, 0 }, 0, false };
	size_t i = 0, cap = 0, fstart = 0;
	bool infield = false;
	hdr_res r;

	if (msg.len == 0) {
		snprintf(err, errlen, "empty message");
		return HDR_E_EMPTY;
	}
	if (msg.len > lim->max_msg_bytes) {
		snprintf(err, errlen, "message larger than %zu bytes",
		    lim->max_msg_bytes);
		return HDR_E_LIMIT;
	}
	for (;;) {
		size_t e = line_end(msg, i), next = e < msg.len ? e + 1 : e;
		span line = strip_eol(msg.p + i, msg.p + next);
		bool cont = line.len > 0 && is_wsp(line.p[0]);

		if (i == 0)
			m.crlf = e > 0 && msg.p[e - 1] == '\r' && e < msg.len;
		if (memchr(line.p, '\0', line.len) != NULL) {
			snprintf(err, errlen, "NUL byte in header line %zu",
			    m.nf + 1);
			return HDR_E_NUL;
		}
		if (infield && !cont) {
			span raw = strip_eol(msg.p + fstart, msg.p + i);

			if (m.nf == cap && (r = grow(ar, &m, &cap)) != HDR_OK)
				return r;
			if ((r = add_field(&m, raw, err, errlen)) != HDR_OK)
				return r;
			infield = false;
		}
		/*
		 * RFC 5322 §3.5: the body, and the empty line before it,
		 * are optional. Header fields alone are a message with an
		 * empty body, whose last line may lack its line ending (as
		 * dkimpy and Mail::DKIM read it).
		 */
		if (line.len == 0) {
			m.header_len = next;
			m.body = span_make(msg.p + next, msg.len - next);
			break;
		}
		if (cont && !infield && m.nf == 0) {
			snprintf(err, errlen,
			    "message starts with a "
			    "continuation line");
			return HDR_E_NAME;
		}
		if (!infield) {
			infield = true;
			fstart = i;
		}
		if ((r = check_field(lim, &m, next - fstart, err, errlen)) !=
		    HDR_OK)
			return r;
		i = next;
	}
	*out = m;
	return HDR_OK;
}

size_t
hdr_find(const struct hdr_msg *m, span name, size_t nth)
{
	size_t i;

	for (i = 0; i < m->nf; i++)
		if (span_ieq_ascii(m->f[i].name, name) && nth-- == 0)
			return i;
	return m->nf;
}

size_t
hdr_count(const struct hdr_msg *m, span name)
{
	size_t i, n = 0;

	for (i = 0; i < m->nf; i++)
		n += span_ieq_ascii(m->f[i].name, name);
	return n;
}

const char *
hdr_res_str(hdr_res r)
{
	switch (r) {
	case HDR_OK:
		return "ok";
	case HDR_E_EMPTY:
		return "empty message";
	case HDR_E_NOCOLON:
		return "header line without colon";
	case HDR_E_NAME:
		return "invalid header field name";
	case HDR_E_NUL:
		return "NUL byte in header";
	case HDR_E_LIMIT:
		return "message exceeds a limit";
	case HDR_E_NOMEM:
		return "out of memory";
	}
	return "unknown";
}
