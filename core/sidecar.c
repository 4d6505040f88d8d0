/*
 * The NAME.env envelope file: a line reader shared by every consumer,
 * and the strict envelope reader delivery needs (see sidecar.h).
 */
#include "sidecar.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"

void
sidecar_iter_init(struct sidecar_iter *it, span text)
{
	it->text = text;
	it->pos = 0;
	it->lineno = 0;
}

static bool
key_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static bool
key_is_valid(span k)
{
	size_t i;

	if (k.len == 0)
		return false;
	for (i = 0; i < k.len; i++)
		if (!key_char_ok(k.p[i]))
			return false;
	return true;
}

sidecar_res
sidecar_next(struct sidecar_iter *it, struct sidecar_line *out, char *err,
    size_t errlen)
{
	while (it->pos < it->text.len) {
		const uint8_t *p = it->text.p + it->pos;
		size_t left = it->text.len - it->pos;
		const uint8_t *nl = memchr(p, '\n', left);
		size_t len = nl != NULL ? (size_t)(nl - p) : left;
		span line = span_trim_ws(span_make(p, len));
		const uint8_t *eq;
		size_t klen;

		it->pos += nl != NULL ? len + 1 : len;
		it->lineno++;
		if (line.len == 0 || line.p[0] == '#')
			continue;
		out->lineno = it->lineno;
		if (memchr(line.p, '\0', line.len) != NULL) {
			snprintf(err, errlen, "line %zu: NUL byte", it->lineno);
			return SIDECAR_E_SYNTAX;
		}
		if ((eq = memchr(line.p, '=', line.len)) == NULL) {
			snprintf(err, errlen, "line %zu: no '=' in \"%.*s\"",
			    it->lineno, (int)(line.len > 60 ? 60 : line.len),
			    (const char *)line.p);
			return SIDECAR_E_SYNTAX;
		}
		klen = (size_t)(eq - line.p);
		out->key = span_trim_ws(span_make(line.p, klen));
		out->value = span_trim_ws(
		    span_sub(line, klen + 1, line.len - klen - 1));
		if (!key_is_valid(out->key)) {
			snprintf(err, errlen, "line %zu: invalid key \"%.*s\"",
			    it->lineno,
			    (int)(out->key.len > 60 ? 60 : out->key.len),
			    (const char *)out->key.p);
			return SIDECAR_E_SYNTAX;
		}
		return SIDECAR_OK;
	}
	return SIDECAR_END;
}

span
sidecar_path(span v)
{
	v = span_trim_ws(v);
	if (v.len >= 2 && v.p[0] == '<' && v.p[v.len - 1] == '>')
		v = span_sub(v, 1, v.len - 2);
	return v;
}

/*
 * Bytes that would end or reshape an SMTP command line, or a path:
 * controls, space, DEL and the angle brackets. UTF-8 (SMTPUTF8) passes.
 */
bool
sidecar_addr_is_safe(span a)
{
	size_t i;

	if (a.len > SIDECAR_ADDR_MAX)
		return false;
	for (i = 0; i < a.len; i++)
		if (a.p[i] <= ' ' || a.p[i] == 0x7f || a.p[i] == '<' ||
		    a.p[i] == '>')
			return false;
	return true;
}

static sidecar_res
bad_addr(const struct sidecar_line *l, char *err, size_t errlen)
{
	snprintf(err, errlen, "line %zu: %.*s=%.*s is not a usable address",
	    l->lineno, (int)l->key.len, (const char *)l->key.p,
	    (int)(l->value.len > 80 ? 80 : l->value.len),
	    (const char *)l->value.p);
	return SIDECAR_E_SYNTAX;
}

/* Count the rcpt= lines first, so the list is one arena block. */
static size_t
count_rcpt(span text)
{
	struct sidecar_iter it;
	struct sidecar_line l;
	char err[8];
	size_t n = 0;
	sidecar_res r;

	sidecar_iter_init(&it, text);
	while ((r = sidecar_next(&it, &l, err, sizeof(err))) != SIDECAR_END)
		if (r == SIDECAR_OK && span_ieq_cstr(l.key, "rcpt"))
			n++;
	return n;
}

sidecar_res
sidecar_envelope(span text, struct arena *ar, struct sidecar_env *out,
    char *err, size_t errlen)
{
	struct sidecar_iter it;
	struct sidecar_line l;
	bool have_from = false;
	size_t n = count_rcpt(text);
	sidecar_res r;
	span a;

	memset(out, 0, sizeof(*out));
	if (n > SIDECAR_RCPT_MAX) {
		snprintf(err, errlen, "%zu rcpt= lines, at most %d", n,
		    SIDECAR_RCPT_MAX);
		return SIDECAR_E_LIMIT;
	}
	if (n > 0 && (out->rcpt = arena_alloc(ar, n * sizeof(span))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return SIDECAR_E_NOMEM;
	}
	sidecar_iter_init(&it, text);
	while ((r = sidecar_next(&it, &l, err, errlen)) != SIDECAR_END) {
		if (r != SIDECAR_OK)
			return r;
		a = sidecar_path(l.value);
		if (span_ieq_cstr(l.key, "mail-from")) {
			if (have_from) {
				snprintf(err, errlen,
				    "line %zu: a second mail-from=", l.lineno);
				return SIDECAR_E_SYNTAX;
			}
			if (!sidecar_addr_is_safe(a))
				return bad_addr(&l, err, errlen);
			out->mail_from = a;
			have_from = true;
		} else if (span_ieq_cstr(l.key, "rcpt")) {
			if (a.len == 0 || !sidecar_addr_is_safe(a))
				return bad_addr(&l, err, errlen);
			out->rcpt[out->nrcpt++] = a;
		}
	}
	if (!have_from) {
		snprintf(err, errlen, "no mail-from= line");
		return SIDECAR_E_SYNTAX;
	}
	if (out->nrcpt == 0) {
		snprintf(err, errlen, "no rcpt= line");
		return SIDECAR_E_SYNTAX;
	}
	return SIDECAR_OK;
}
