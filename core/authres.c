#include "authres.h"

#include <stdio.h>
#include <string.h>

#include "dkim_sig.h"
#include "dkim_verify.h"
#include "dmarc.h"
#include "spf.h"

/* RFC 2045 §5.1 tspecials, plus SP and CTLs, cannot stand in a token. */
static bool
is_token_char(uint8_t c)
{
	return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/*
 * Control bytes and invalid UTF-8 become '?', so hostile input always
 * yields a field that is well-formed (RFC 8601 allows UTF-8 per RFC 6532).
 */
bool
authres_escape(struct buf *out, span v, const char *esc)
{
	size_t i = 0, n;

	while (i < v.len) {
		uint8_t c = v.p[i];

		if (c >= 0x80 && (n = span_utf8_len(v.p + i, v.len - i)) > 0) {
			if (!buf_add(out, v.p + i, n))
				return false;
			i += n;
			continue;
		}
		if (c < ' ' || c >= 0x7f)
			c = '?';
		if ((strchr(esc, c) != NULL && !buf_add_byte(out, '\\')) ||
		    !buf_add_byte(out, c))
			return false;
		i++;
	}
	return true;
}

bool
authres_value(struct buf *out, span v)
{
	size_t i, mark = out->len;
	bool token = v.len > 0;

	for (i = 0; i < v.len && token; i++)
		token = is_token_char(v.p[i]);
	if (token)
		return buf_add_span(out, v);
	if (buf_add_byte(out, '"') && authres_escape(out, v, "\"\\") &&
	    buf_add_byte(out, '"'))
		return true;
	out->len = mark;
	return false;
}

bool
authres_comment_text(struct buf *out, span v)
{
	size_t mark = out->len;

	if (authres_escape(out, v, "()\\"))
		return true;
	out->len = mark;
	return false;
}

/* RFC 5322 atext, and '.' for a dot-atom local-part. */
static bool
is_atext(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/* RFC 8601 pvalue: [ [ local-part ] "@" ] domain-name, unquoted. */
static bool
is_addr_pvalue(span v)
{
	const uint8_t *at = memchr(v.p, '@', v.len);
	size_t i, lp;

	if (at == NULL)
		return false;
	lp = (size_t)(at - v.p);
	for (i = 0; i < lp; i++)
		if (!is_atext(v.p[i]))
			return false;
	return dkim_sig_name_ok(span_sub(v, lp + 1, v.len - lp - 1));
}

/* Domains and addresses go bare when valid; anything else is quoted. */
static bool
add_prop(struct buf *out, const char *name, span v, bool domain)
{
	if (v.len == 0)
		return true;
	if (!buf_add_byte(out, ' ') || !buf_add_cstr(out, name) ||
	    !buf_add_byte(out, '='))
		return false;
	if ((domain && dkim_sig_name_ok(v)) || (!domain && is_addr_pvalue(v)))
		return buf_add_span(out, v);
	return authres_value(out, v);
}

static void
sep(struct buf *d, bool *ok)
{
	if (d->len > 0)
		*ok = *ok && buf_add_cstr(d, "; ");
}

/* Key size, testing flag, DNSSEC and l= coverage, as a comment. */
static bool
add_detail(struct buf *out, const struct dkim_result *r)
{
	uint8_t tmp[160];
	struct buf d;
	bool ok = true;

	buf_init_fixed(&d, tmp, sizeof(tmp));
	if (r->key_bits > 0 && r->alg_known)
		ok = buf_add_u64(&d, r->key_bits) &&
		    buf_add_cstr(&d, "-bit ") &&
		    buf_add_cstr(&d, dkim_alg_str(r->alg)) &&
		    buf_add_cstr(&d, " key");
	if (r->testing) {
		sep(&d, &ok);
		ok = ok && buf_add_cstr(&d, "key in testing mode");
	}
	if (r->dnssec == 1) {
		sep(&d, &ok);
		ok = ok && buf_add_cstr(&d, "dnssec");
	}
	if (r->has_l) {
		sep(&d, &ok);
		ok = ok && buf_add_cstr(&d, "l= signs ") &&
		    buf_add_u64(&d, r->l) && buf_add_cstr(&d, " of ") &&
		    buf_add_u64(&d, r->body_len) &&
		    buf_add_cstr(&d, " body bytes");
	}
	if (!ok || d.len == 0)
		return ok;
	return buf_add_cstr(out, " (") &&
	    authres_comment_text(out, buf_span(&d)) && buf_add_byte(out, ')');
}

static bool
add_one(struct buf *out, const struct dkim_result *r)
{
	bool ok = buf_add_cstr(out, "dkim=") &&
	    buf_add_cstr(out, dkim_verdict_str(r->verdict)) &&
	    add_detail(out, r);

	if (ok && r->verdict != DKIM_V_PASS && r->reason[0] != '\0')
		ok = buf_add_cstr(out, " reason=") &&
		    authres_value(out, span_cstr(r->reason));
	return ok && add_prop(out, "header.d", r->d, true) &&
	    add_prop(out, "header.i", r->i, false) &&
	    add_prop(out, "header.s", r->s, false) &&
	    add_prop(out, "header.a",
	        r->alg_known ? span_cstr(dkim_alg_str(r->alg))
	                     : span_make(NULL, 0),
	        false) &&
	    add_prop(out, "header.b", span_cstr(r->bpref), false);
}

/* A new line for each resinfo, or one long line when eol is NULL. */
static bool
fold(struct buf *out, const char *eol)
{
	if (eol == NULL)
		return buf_add_byte(out, ' ');
	return buf_add_cstr(out, eol) && buf_add_byte(out, '\t');
}

void
authres_begin(
    struct authres_w *w, struct buf *out, span authserv_id, const char *eol)
{
	w->out = out;
	w->eol = eol;
	w->mark = out->len;
	w->nres = 0;
	w->ok = buf_add_cstr(out, "Authentication-Results: ") &&
	    authres_value(out, authserv_id) && buf_add_byte(out, ';');
}

/* Start one resinfo: ';' after the previous one, then a fold. */
static bool
next_res(struct authres_w *w)
{
	if (!w->ok)
		return false;
	w->ok =
	    (w->nres == 0 || buf_add_byte(w->out, ';')) && fold(w->out, w->eol);
	w->nres++;
	return w->ok;
}

static bool
add_comment(struct buf *out, span text)
{
	if (text.len == 0)
		return true;
	return buf_add_cstr(out, " (") && authres_comment_text(out, text) &&
	    buf_add_byte(out, ')');
}

void
authres_add_spf(struct authres_w *w, const struct spf_request *req,
    const struct spf_outcome *o)
{
	uint8_t tmp[256];
	struct buf d;
	bool ok;

	if (!next_res(w))
		return;
	buf_init_fixed(&d, tmp, sizeof(tmp));
	if (o->problem[0] != '\0')
		ok = buf_add_cstr(&d, o->problem);
	else if (o->mechanism.len > 0)
		ok = buf_add_cstr(&d, "matched ") &&
		    buf_add_span(&d, o->mechanism);
	else
		ok = true;
	if (!ok) /* a long mechanism: the result matters, not the detail */
		d.len = 0;
	ok = buf_add_cstr(w->out, "spf=") &&
	    buf_add_cstr(w->out, spf_result_str(o->result)) &&
	    add_comment(w->out, buf_span(&d));
	if (ok && req->identity == SPF_ID_HELO)
		ok = add_prop(w->out, "smtp.helo", req->helo, true);
	else if (ok)
		ok = add_prop(w->out, "smtp.mailfrom", o->sender, false);
	w->ok = ok;
}

void
authres_add_dkim(struct authres_w *w, const struct dkim_result *res, size_t n,
    size_t nskipped, const char *error)
{
	size_t i;

	for (i = 0; i < n && w->ok; i++)
		w->ok = next_res(w) && add_one(w->out, &res[i]);
	if (n == 0 && next_res(w))
		w->ok = error != NULL
		    ? buf_add_cstr(w->out, "dkim=permerror reason=") &&
		        authres_value(w->out, span_cstr(error))
		    : buf_add_cstr(w->out, "dkim=none (no signatures)");
	if (w->ok && nskipped > 0) {
		char tmp[64];

		snprintf(tmp, sizeof(tmp), " (%zu more signatures not checked)",
		    nskipped);
		w->ok = buf_add_cstr(w->out, tmp);
	}
}

/* Gmail's spelling: policies in capitals inside the comment. */
static const char *
policy_uc(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_P_NONE:
		return "NONE";
	case DMARC_P_QUARANTINE:
		return "QUARANTINE";
	case DMARC_P_REJECT:
		return "REJECT";
	case DMARC_P_UNSPEC:
		break;
	}
	return "UNSPECIFIED";
}

/*
 * "; authors: a.example pass, b.example fail": each author domain of a
 * message with several, inside the comment. A domain that is not a DNS
 * name is written as "?" so no byte of it can read as a resinfo.
 */
static bool
add_authors(struct buf *out, const struct dmarc_outcome *each, size_t n)
{
	size_t k;
	bool ok = buf_add_cstr(out, "authors: ");

	for (k = 0; ok && k < n; k++)
		ok = (k == 0 || buf_add_cstr(out, ", ")) &&
		    (dkim_sig_name_ok(each[k].from_domain)
		            ? buf_add_span(out, each[k].from_domain)
		            : buf_add_byte(out, '?')) &&
		    buf_add_byte(out, ' ') &&
		    buf_add_cstr(out, dmarc_result_str(each[k].result));
	return ok;
}

static bool
add_policy(struct buf *out, const struct dmarc_outcome *o)
{
	const struct dmarc_record *r = &o->rec;

	return buf_add_cstr(out, "p=") && buf_add_cstr(out, policy_uc(r->p)) &&
	    buf_add_cstr(out, " sp=") &&
	    buf_add_cstr(
	        out, policy_uc(r->sp != DMARC_P_UNSPEC ? r->sp : r->p)) &&
	    (!o->nonexistent || r->np == DMARC_P_UNSPEC ||
	        (buf_add_cstr(out, " np=") &&
	            buf_add_cstr(out, policy_uc(r->np)))) &&
	    buf_add_cstr(out, " dis=") &&
	    buf_add_cstr(out,
	        policy_uc(o->disposition != DMARC_P_UNSPEC ? o->disposition
	                                                   : DMARC_P_NONE));
}

void
authres_add_dmarc(
    struct authres_w *w, const struct dmarc_outcome *o, span from_domain)
{
	authres_add_dmarc_authors(w, o, from_domain, NULL, 0);
}

void
authres_add_dmarc_authors(struct authres_w *w, const struct dmarc_outcome *o,
    span from_domain, const struct dmarc_outcome *each, size_t n)
{
	bool ok;

	if (!next_res(w))
		return;
	ok = buf_add_cstr(w->out, "dmarc=") &&
	    buf_add_cstr(w->out, dmarc_result_str(o->result));
	if (ok && (o->have_record || n > 1))
		ok = buf_add_cstr(w->out, " (") &&
		    (!o->have_record || add_policy(w->out, o)) &&
		    (n < 2 ||
		        ((!o->have_record || buf_add_cstr(w->out, "; ")) &&
		            add_authors(w->out, each, n))) &&
		    buf_add_byte(w->out, ')');
	if (ok && o->result != DMARC_R_PASS && o->reason[0] != '\0')
		ok = buf_add_cstr(w->out, " reason=") &&
		    authres_value(w->out, span_cstr(o->reason));
	w->ok = ok && add_prop(w->out, "header.from", from_domain, true);
}

bool
authres_end(struct authres_w *w)
{
	if (w->ok && w->nres == 0)
		w->ok = buf_add_cstr(w->out, " none");
	if (!w->ok)
		w->out->len = w->mark;
	return w->ok;
}

bool
authres_dkim(struct buf *out, span authserv_id, const struct dkim_result *res,
    size_t n, size_t nskipped, const char *error, const char *eol)
{
	struct authres_w w;

	authres_begin(&w, out, authserv_id, eol);
	if (n == 0 && error == NULL) { /* one line: "id; dkim=none (...)" */
		w.ok = w.ok && buf_add_cstr(out, " dkim=none (no signatures)");
		w.nres = 1;
	} else {
		authres_add_dkim(&w, res, n, nskipped, error);
	}
	return authres_end(&w);
}

static uint8_t
ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Skip FWS and nested comments (RFC 5322 CFWS); NULL if a comment is open. */
static const uint8_t *
skip_cfws(const uint8_t *p, const uint8_t *end)
{
	size_t depth = 0;

	for (; p < end; p++) {
		if (depth > 0 && *p == '\\') {
			if (++p == end)
				return NULL;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && *p != ' ' && *p != '\t' &&
		    *p != '\r' && *p != '\n') {
			break;
		}
	}
	return depth == 0 ? p : NULL;
}

bool
authres_id_of(span value, span *id)
{
	const uint8_t *p = value.p, *end = value.p + value.len, *s;

	if ((p = skip_cfws(p, end)) == NULL || p == end)
		return false;
	if (*p == '"') {
		for (s = ++p; p < end && *p != '"'; p++)
			if (*p == '\\' && ++p == end)
				return false;
		if (p == end)
			return false;
		*id = span_make(s, (size_t)(p - s));
		return true;
	}
	for (s = p; p < end && is_token_char(*p); p++)
		;
	if (p == s)
		return false;
	*id = span_make(s, (size_t)(p - s));
	return true;
}

bool
authres_claims_id(span value, span authserv_id)
{
	span id;
	size_t i, k = 0;

	if (!authres_id_of(value, &id))
		return false;
	/* A quoted-pair stands for its character: "m\\x" claims "mx". */
	for (i = 0; i < id.len; i++, k++) {
		uint8_t c = id.p[i];

		if (c == '\\' && i + 1 < id.len)
			c = id.p[++i];
		if (k == authserv_id.len ||
		    ascii_lower(c) != ascii_lower(authserv_id.p[k]))
			return false;
	}
	return k == authserv_id.len;
}
