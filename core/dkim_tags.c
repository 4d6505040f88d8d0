#include "dkim_tags.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"

static bool
is_fws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_alnumpunc(uint8_t c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* RFC 6376 §3.2: tag-name = ALPHA *ALNUMPUNC */
static bool
tag_name_ok(span s)
{
	size_t i;

	if (s.len == 0 || !is_alpha(s.p[0]))
		return false;
	for (i = 1; i < s.len; i++)
		if (!is_alnumpunc(s.p[i]))
			return false;
	return true;
}

/* tag-value bytes: VALCHAR (%x21-3A / %x3C-7E), FWS, and 8-bit text. */
static bool
tag_value_ok(span s)
{
	size_t i;

	for (i = 0; i < s.len; i++) {
		uint8_t c = s.p[i];

		if (!is_fws(c) && (c < 0x21 || c == 0x7f))
			return false;
	}
	return true;
}

static size_t
count_specs(span in)
{
	size_t i, n = 1;

	for (i = 0; i < in.len; i++)
		n += in.p[i] == ';';
	return n;
}

const span *
dkim_tags_get(const struct dkim_tags *tl, const char *name)
{
	size_t i;
	span want = span_cstr(name);

	for (i = 0; i < tl->n; i++)
		if (span_eq(tl->t[i].name, want))
			return &tl->t[i].value;
	return NULL;
}

static dkim_tags_res
add_tag(struct dkim_tags *tl, span spec, char *err, size_t errlen)
{
	const uint8_t *eq = memchr(spec.p, '=', spec.len);
	span name, value;
	size_t i;

	if (eq == NULL) {
		snprintf(err, errlen, "tag without '=': \"%.*s\"",
		    (int)(spec.len > 40 ? 40 : spec.len), (const char *)spec.p);
		return DKIM_TAGS_E_SYNTAX;
	}
	name = span_trim_ws(span_make(spec.p, (size_t)(eq - spec.p)));
	value = span_trim_ws(
	    span_make(eq + 1, spec.len - (size_t)(eq - spec.p) - 1));
	if (!tag_name_ok(name) || !tag_value_ok(value)) {
		snprintf(err, errlen, "malformed tag \"%.*s\"",
		    (int)(name.len > 40 ? 40 : name.len), (const char *)name.p);
		return DKIM_TAGS_E_SYNTAX;
	}
	for (i = 0; i < tl->n; i++) {
		if (span_eq(tl->t[i].name, name)) {
			snprintf(err, errlen, "duplicate tag %.*s=",
			    (int)(name.len > 40 ? 40 : name.len),
			    (const char *)name.p);
			return DKIM_TAGS_E_DUP;
		}
	}
	tl->t[tl->n].name = name;
	tl->t[tl->n].value = value;
	tl->n++;
	return DKIM_TAGS_OK;
}

dkim_tags_res
dkim_tags_parse(span in, size_t max_tags, struct arena *ar,
    struct dkim_tags *out, char *err, size_t errlen)
{
	struct dkim_tags tl = { NULL, 0 };
	size_t nspec = count_specs(in), start = 0, i;
	dkim_tags_res r;

	if (nspec > max_tags + 1) {
		snprintf(err, errlen, "more than %zu tags", max_tags);
		return DKIM_TAGS_E_LIMIT;
	}
	/* An empty record (its span may be the NULL one) has no tags. */
	if (in.len == 0) {
		*out = tl;
		return DKIM_TAGS_OK;
	}
	if ((tl.t = arena_alloc(ar, nspec * sizeof(*tl.t))) == NULL)
		return DKIM_TAGS_E_NOMEM;
	for (i = 0; i <= in.len; i++) {
		span spec;

		if (i < in.len && in.p[i] != ';')
			continue;
		spec = span_make(in.p + start, i - start);
		start = i + 1;
		/* An empty spec (";;" or a trailing ";") is tolerated. */
		if (span_trim_ws(spec).len == 0)
			continue;
		if (tl.n == max_tags) {
			snprintf(err, errlen, "more than %zu tags", max_tags);
			return DKIM_TAGS_E_LIMIT;
		}
		if ((r = add_tag(&tl, spec, err, errlen)) != DKIM_TAGS_OK)
			return r;
	}
	*out = tl;
	return DKIM_TAGS_OK;
}

const char *
dkim_tags_res_str(dkim_tags_res r)
{
	switch (r) {
	case DKIM_TAGS_OK:
		return "ok";
	case DKIM_TAGS_E_SYNTAX:
		return "tag list syntax error";
	case DKIM_TAGS_E_DUP:
		return "duplicate tag";
	case DKIM_TAGS_E_LIMIT:
		return "too many tags";
	case DKIM_TAGS_E_NOMEM:
		return "out of memory";
	}
	return "unknown";
}
