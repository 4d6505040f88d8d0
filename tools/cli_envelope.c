/*
 * The SMTP envelope of a message for hanko dmarc, gathered field by
 * field from the flags, a sidecar file and the trace fields; the first
 * source to give a field wins.
 */
#include "cli_envelope.h"

#include <errno.h>
#include <idn2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/arena.h"
#include "core/hdr.h"
#include "core/trace.h"

#define ENVELOPE_MAX (64 << 10)

void
envelope_set(
    struct envelope *e, enum envelope_field field, span v, const char *source)
{
	span *dst[] = { &e->ip, &e->mail_from, &e->helo };
	bool *has[] = { &e->has_ip, &e->has_mail_from, &e->has_helo };

	if (*has[field])
		return;
	*dst[field] = v;
	*has[field] = true;
	if (e->source == NULL)
		e->source = source;
}

span
envelope_path(span v)
{
	v = span_trim_ws(v);
	if (v.len >= 2 && v.p[0] == '<' && v.p[v.len - 1] == '>')
		v = span_sub(v, 1, v.len - 2);
	return v;
}

/* One "key=value" line of a sidecar; unknown keys are ignored. */
static void
sidecar_line(struct envelope *e, span line)
{
	static const struct {
		const char *key;
		enum envelope_field field;
	} keys[] = {
		{ "ip", ENV_IP },
		{ "client_address", ENV_IP },
		{ "mail-from", ENV_MAIL_FROM },
		{ "mail_from", ENV_MAIL_FROM },
		{ "sender", ENV_MAIL_FROM },
		{ "helo", ENV_HELO },
		{ "helo_name", ENV_HELO },
	};
	const uint8_t *eq = memchr(line.p, '=', line.len);
	span k, v;
	size_t j;

	if (eq == NULL)
		return;
	k = span_trim_ws(span_make(line.p, (size_t)(eq - line.p)));
	v = span_trim_ws(span_sub(line, (size_t)(eq - line.p) + 1,
	    line.len - (size_t)(eq - line.p) - 1));
	v = envelope_path(v);
	for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
		if (span_ieq_cstr(k, keys[j].key))
			envelope_set(e, keys[j].field, v, "sidecar");
}

void
envelope_sidecar_text(struct envelope *e, span text)
{
	size_t i, start = 0;

	for (i = 0; i <= text.len; i++)
		if (i == text.len || text.p[i] == '\n') {
			if (i > start && text.p[start] != '#')
				sidecar_line(
				    e, span_make(text.p + start, i - start));
			start = i + 1;
		}
}

void
envelope_sidecar(
    struct envelope *e, const char *dir, const char *name, struct arena *ar)
{
	const char *base = strrchr(name, '/');
	char path[PATH_MAX];
	uint8_t *p = NULL, *copy;
	size_t len = 0;
	int r;

	base = base != NULL ? base + 1 : name;
	if (snprintf(path, sizeof(path), "%s/%s.env", dir, base) >=
	    (int)sizeof(path))
		return;
	if ((r = cli_read_regular(path, ENVELOPE_MAX, &p, &len)) != 0) {
		if (r != -ENOENT)
			snprintf(e->problem, sizeof(e->problem),
			    "envelope file %.100s.env: %s", base,
			    r == -EINVAL ? "not a regular file" : strerror(-r));
		return;
	}
	copy = len > 0 ? arena_dup(ar, p, len) : NULL;
	free(p);
	if (copy != NULL)
		envelope_sidecar_text(e, span_make(copy, len));
}

void
envelope_trace(struct envelope *e, const struct hdr_msg *m, size_t nth)
{
	span helo, ip, addr;
	size_t k, rp;

	if (m == NULL)
		return;
	k = hdr_find(m, span_cstr("Received"), nth - 1);
	if (k < m->nf && trace_received(m->f[k].value, &helo, &ip)) {
		envelope_set(e, ENV_IP, ip, "trace");
		if (helo.len > 0)
			envelope_set(e, ENV_HELO, helo, "trace");
	} else if (e->problem[0] == '\0') {
		snprintf(e->problem, sizeof(e->problem),
		    "no readable Received field number %zu", nth);
	}
	rp = hdr_find(m, span_cstr("Return-Path"), 0);
	if (rp < m->nf && rp < k && trace_return_path(m->f[rp].value, &addr))
		envelope_set(e, ENV_MAIL_FROM, addr, "trace");
}

/*
 * A domain in U-labels (RFC 6532 mail, SMTPUTF8) becomes its A-label
 * form for DNS (RFC 7208 §4.3, RFC 9989 §5.3.1, RFC 5890 §2.3); one
 * that does not convert is kept as it is (the checks then find no
 * record for it).
 */
span
envelope_a_label(span d, struct arena *ar)
{
	char in[1024], *out = NULL;
	size_t i;
	span r = d;

	for (i = 0; i < d.len && d.p[i] < 0x80; i++)
		;
	if (i == d.len || d.len >= sizeof(in))
		return d;
	memcpy(in, d.p, d.len);
	in[d.len] = '\0';
	if (idn2_to_ascii_8z(in, &out, IDN2_NONTRANSITIONAL) == IDN2_OK) {
		void *c = arena_dup(ar, out, strlen(out));

		if (c != NULL)
			r = span_make(c, strlen(out));
	}
	idn2_free(out);
	return r;
}

span
envelope_addr_a_label(span addr, struct arena *ar)
{
	const uint8_t *at = NULL;
	struct buf b;
	span d, a;
	size_t i;

	for (i = 0; i < addr.len; i++)
		if (addr.p[i] == '@')
			at = addr.p + i;
	if (at == NULL)
		return addr;
	d = span_make(at + 1, addr.len - (size_t)(at + 1 - addr.p));
	if ((a = envelope_a_label(d, ar)).p == d.p)
		return addr;
	buf_init_arena(&b, ar);
	if (!buf_add(&b, addr.p, (size_t)(at + 1 - addr.p)) ||
	    !buf_add_span(&b, a))
		return addr;
	return buf_span(&b);
}
