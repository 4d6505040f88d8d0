#include "dkim_sig.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "b64.h"
#include "dkim_tags.h"
#include "dkim_verify.h"
#include "hdr.h"

#define SIG_MAX_BYTES 1024 /* RSA-8192 is 1024 bytes */

#define FAIL(...)                                   \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return false;                       \
	} while (0)

bool
dkim_sig_name_ok(span n)
{
	size_t i, lab = 0;

	if (n.len == 0 || n.len > 253)
		return false;
	for (i = 0; i < n.len; i++) {
		uint8_t c = n.p[i];

		if (c == '.') {
			if (lab == 0)
				return false;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '-' || c == '_') ||
		    ++lab > 63)
			return false;
	}
	return lab > 0;
}

/* Label by label: "mail.example.com" is in "example.com", "badexample.com" is
 * not. */
bool
dkim_sig_i_in_d(span id, span d)
{
	if (id.len > 0 && id.p[id.len - 1] == '.')
		id.len--;
	if (d.len > 0 && d.p[d.len - 1] == '.')
		d.len--;
	if (id.len < d.len || d.len == 0)
		return false;
	if (!span_ieq_ascii(span_sub(id, id.len - d.len, d.len), d))
		return false;
	return id.len == d.len || id.p[id.len - d.len - 1] == '.';
}

static bool
parse_alg(span a, struct dkim_sig *sig, char *err, size_t errlen)
{
	sig->alg_known = true;
	if (span_ieq_cstr(a, "rsa-sha256"))
		sig->alg = DKIM_ALG_RSA_SHA256;
	else if (span_ieq_cstr(a, "ed25519-sha256"))
		sig->alg = DKIM_ALG_ED25519_SHA256;
	else if (span_ieq_cstr(a, "rsa-sha1"))
		sig->alg = DKIM_ALG_RSA_SHA1;
	else
		sig->alg_known = false;
	if (!sig->alg_known)
		FAIL("unknown algorithm a=%.*s", (int)(a.len > 30 ? 30 : a.len),
		    (const char *)a.p);
	if (sig->alg == DKIM_ALG_RSA_SHA1)
		FAIL("rsa-sha1 is not accepted (RFC 8301)");
	return true;
}

static bool
parse_canon(const span *c, struct dkim_sig *sig, char *err, size_t errlen)
{
	const uint8_t *slash;
	span h, b = SPAN_LIT("simple");

	sig->hc = sig->bc = CANON_SIMPLE;
	if (c == NULL)
		return true;
	slash = memchr(c->p, '/', c->len);
	h = slash ? span_make(c->p, (size_t)(slash - c->p)) : *c;
	if (slash != NULL)
		b = span_make(slash + 1, c->len - h.len - 1);
	if ((!span_ieq_cstr(h, "simple") && !span_ieq_cstr(h, "relaxed")) ||
	    (!span_ieq_cstr(b, "simple") && !span_ieq_cstr(b, "relaxed")))
		FAIL("unknown canonicalization c=%.*s",
		    (int)(c->len > 30 ? 30 : c->len), (const char *)c->p);
	sig->hc = span_ieq_cstr(h, "relaxed") ? CANON_RELAXED : CANON_SIMPLE;
	sig->bc = span_ieq_cstr(b, "relaxed") ? CANON_RELAXED : CANON_SIMPLE;
	return true;
}

/* h= names, FWS around the colons removed; From must be among them. */
static bool
parse_h(span h, struct arena *ar, struct dkim_sig *sig, bool *nomem, char *err,
    size_t errlen)
{
	size_t i, start = 0, n = 1;
	bool from = false;

	for (i = 0; i < h.len; i++)
		n += h.p[i] == ':';
	if ((sig->h = arena_alloc(ar, n * sizeof(span))) == NULL) {
		*nomem = true;
		return false;
	}
	sig->nh = 0;
	for (i = 0; i <= h.len; i++) {
		span name;

		if (i < h.len && h.p[i] != ':')
			continue;
		name = span_trim_ws(span_sub(h, start, i - start));
		start = i + 1;
		if (name.len == 0)
			FAIL("h= has an empty field name");
		from = from || span_ieq_cstr(name, "from");
		sig->h[sig->nh++] = name;
	}
	if (!from)
		FAIL("h= does not sign From");
	return true;
}

static bool
parse_num(const span *v, bool *has, uint64_t *out, const char *tag, char *err,
    size_t errlen)
{
	if (v == NULL)
		return true;
	if (!span_to_u64(*v, out))
		FAIL("%s= is not a number", tag);
	*has = true;
	return true;
}

static bool
parse_hashes(const struct dkim_tags *tl, struct arena *ar, struct dkim_sig *sig,
    bool *nomem, char *err, size_t errlen)
{
	const span *bh = dkim_tags_get(tl, "bh"), *b = dkim_tags_get(tl, "b");
	uint8_t tmp[64];
	size_t n;

	if (bh->len > 64 || !b64_decode(*bh, tmp, sizeof(tmp), &n) ||
	    n != sizeof(sig->bh))
		FAIL("bh= is not a base64 SHA-256 hash");
	memcpy(sig->bh, tmp, n);
	sig->b_raw = *b;
	if (b->len > (size_t)4 * SIG_MAX_BYTES)
		FAIL("b= is too long");
	if ((sig->b = arena_alloc(ar, b64_decoded_max(b->len))) == NULL) {
		*nomem = true;
		return false;
	}
	if (!b64_decode(*b, sig->b, b64_decoded_max(b->len), &sig->blen) ||
	    sig->blen == 0)
		FAIL("b= is not valid base64");
	return true;
}

static bool
check_times(struct dkim_sig *sig, uint64_t now, char *err, size_t errlen)
{
	if (sig->has_t && sig->t > now + DKIM_VERIFY_SKEW)
		FAIL("signature timestamp t= is in the future");
	if (sig->has_x && sig->has_t && sig->x < sig->t)
		FAIL("x= is earlier than t=");
	if (sig->has_x && sig->x < now)
		FAIL("signature expired (x=)");
	return true;
}

static bool
check_ids(
    const struct dkim_tags *tl, struct dkim_sig *sig, char *err, size_t errlen)
{
	const span *q = dkim_tags_get(tl, "q"), *i = dkim_tags_get(tl, "i");

	if (!dkim_sig_name_ok(sig->d))
		FAIL("d= is not a valid domain name");
	if (!dkim_sig_name_ok(sig->s))
		FAIL("s= is not a valid selector");
	if (q != NULL && memmem(q->p, q->len, "dns/txt", 7) == NULL)
		FAIL("q= does not offer dns/txt");
	if (i != NULL) {
		sig->i = *i;
		if (memchr(i->p, '@', i->len) == NULL)
			FAIL("i= has no '@'");
		if (!dkim_sig_i_in_d(hdr_addr_domain(*i), sig->d))
			FAIL("i= domain is not d= or a subdomain of it");
	}
	return true;
}

/* §3.7: the field with b='s value, surrounding whitespace included, deleted. */
static bool
delete_b(const struct hdr_field *f, span bval, struct arena *ar,
    struct dkim_sig *sig)
{
	const uint8_t *s = bval.p, *e = bval.p + bval.len;
	const uint8_t *fend = f->raw.p + f->raw.len;
	size_t pre, post;
	uint8_t *o;

	while (s > f->raw.p && s[-1] != '=')
		s--;
	while (e < fend && *e != ';')
		e++;
	pre = (size_t)(s - f->raw.p);
	post = (size_t)(fend - e);
	if ((o = arena_alloc(ar, pre + post)) == NULL)
		return false;
	memcpy(o, f->raw.p, pre);
	memcpy(o + pre, e, post);
	sig->field_nob = span_make(o, pre + post);
	return true;
}

static const char *const required[] = { "v", "a", "b", "bh", "d", "h", "s" };

bool
dkim_sig_parse(const struct hdr_field *f, uint64_t now, size_t max_tags,
    struct arena *ar, struct dkim_sig *sig, bool *nomem, char *err,
    size_t errlen)
{
	struct dkim_tags tl;
	const span *v;
	size_t k;

	memset(sig, 0, sizeof(*sig));
	*nomem = false;
	switch (dkim_tags_parse(f->value, max_tags, ar, &tl, err, errlen)) {
	case DKIM_TAGS_OK:
		break;
	case DKIM_TAGS_E_NOMEM:
		*nomem = true;
		return false;
	case DKIM_TAGS_E_SYNTAX:
	case DKIM_TAGS_E_DUP:
	case DKIM_TAGS_E_LIMIT:
		return false;
	}
	if ((v = dkim_tags_get(&tl, "d")) != NULL)
		sig->d = *v;
	if ((v = dkim_tags_get(&tl, "s")) != NULL)
		sig->s = *v;
	if ((v = dkim_tags_get(&tl, "b")) != NULL)
		sig->b_raw = *v;
	for (k = 0; k < sizeof(required) / sizeof(required[0]); k++)
		if (dkim_tags_get(&tl, required[k]) == NULL)
			FAIL("signature has no %s= tag", required[k]);
	if (!span_eq(*dkim_tags_get(&tl, "v"), SPAN_LIT("1")))
		FAIL("unsupported version v=");
	if (!parse_alg(*dkim_tags_get(&tl, "a"), sig, err, errlen) ||
	    !parse_canon(dkim_tags_get(&tl, "c"), sig, err, errlen) ||
	    !check_ids(&tl, sig, err, errlen) ||
	    !parse_h(*dkim_tags_get(&tl, "h"), ar, sig, nomem, err, errlen) ||
	    !parse_num(dkim_tags_get(&tl, "l"), &sig->has_l, &sig->l, "l", err,
	        errlen) ||
	    !parse_num(dkim_tags_get(&tl, "t"), &sig->has_t, &sig->t, "t", err,
	        errlen) ||
	    !parse_num(dkim_tags_get(&tl, "x"), &sig->has_x, &sig->x, "x", err,
	        errlen) ||
	    !check_times(sig, now, err, errlen) ||
	    !parse_hashes(&tl, ar, sig, nomem, err, errlen))
		return false;
	if (!delete_b(f, *dkim_tags_get(&tl, "b"), ar, sig)) {
		*nomem = true;
		return false;
	}
	return true;
}
