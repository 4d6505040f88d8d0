/*
 * check_dkim.c - the DKIM audit: each selector's key record read with
 * dkim_keyrec_parse (RFC 6376 §3.6.1), key sizes per RFC 8301 (under
 * 1024 bits verifiers refuse it, under 2048 they may), and, given the
 * private key, whether the published p= is its public half (RSA and
 * Ed25519 alike: the keys are compared, not their encodings). Also the
 * obsolete ADSP record (RFC 5617, moved to historic in 2013), which
 * lives under _domainkey too.
 */
#include "check.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "arena.h"
#include "check_int.h"
#include "dkim_key.h"

#define CHECK_DEFAULT_MAX_TAGS 64

void
check_dkim_start(struct check *c)
{
	size_t i, n = c->req.nsel;

	if ((c->req.what & CHECK_W_DKIM) != 0 && n > 0) {
		if ((c->dkim = arena_alloc(c->ar, n * sizeof(*c->dkim))) ==
		    NULL) {
			c->nomem = true;
			return;
		}
		for (i = 0; i < n; i++) {
			span sel = c->req.sel[i].name;
			span name = check_name(c, ".", c->domain);

			name = check_name(c, "._domainkey", name);
			c->dkim[i].q = NULL;
			if (name.len > 0 && sel.len > 0) {
				struct buf b;

				buf_init_arena(&b, c->ar);
				if (!buf_add_span(&b, sel) ||
				    !buf_add_span(&b, name)) {
					c->nomem = true;
					continue;
				}
				c->dkim[i].q = check_ask(
				    c, DNS_T_TXT, buf_span(&b), NULL, i);
			}
		}
	}
	if ((c->req.what & CHECK_W_ADSP) != 0)
		c->adsp = check_ask(c, DNS_T_TXT,
		    check_name(c, "_adsp._domainkey.", c->domain), NULL, 0);
}

/* The private key against the published one. */
static void
judge_key(struct check *c, const struct check_selector *s,
    const struct dkim_keyrec *rec)
{
	if (s->key_error != NULL) {
		check_add(c, CHECK_DKIM_KEY_UNREADABLE, s->name,
		    "private key cannot be used: %s; fix the file or the key "
		    "table",
		    s->key_error);
		return;
	}
	if (s->key == NULL || rec == NULL)
		return;
	if (rec->revoked || rec->pk == NULL ||
	    EVP_PKEY_eq(rec->pk, s->key->pk) != 1)
		check_add(c, CHECK_DKIM_KEY_MISMATCH, s->name,
		    "the published key is not the public half of the private "
		    "key: every signature will fail; publish the record "
		    "\"hanko keygen --records\" prints for this key");
	else
		check_add(c, CHECK_DKIM_KEY_MATCH, s->name,
		    "published key matches the private key");
}

static void
judge_rec(struct check *c, const struct check_selector *s,
    const struct dkim_keyrec *rec)
{
	bool clean = true;

	if (rec->revoked) {
		check_add(c, CHECK_DKIM_REVOKED, s->name,
		    "key revoked (empty p=): signatures with this selector "
		    "fail; remove the selector from signing, then the record");
		return;
	}
	if (rec->type == DKIM_KEY_RSA && rec->bits < 1024) {
		check_add(c, CHECK_DKIM_RSA_WEAK, s->name,
		    "%u-bit RSA key: verifiers refuse keys under 1024 bits "
		    "(RFC 8301); make a 2048-bit key",
		    rec->bits);
		clean = false;
	} else if (rec->type == DKIM_KEY_RSA && rec->bits < 2048) {
		check_add(c, CHECK_DKIM_RSA_SHORT, s->name,
		    "%u-bit RSA key: 2048 bits is the norm now; rotate to a "
		    "2048-bit key",
		    rec->bits);
		clean = false;
	}
	if (rec->testing) {
		check_add(c, CHECK_DKIM_TESTING, s->name,
		    "t=y: the domain is testing DKIM and verifiers may ignore "
		    "failures; remove t=y once signing works");
		clean = false;
	}
	if (!rec->sha256_ok) {
		check_add(c, CHECK_DKIM_SHA1_ONLY, s->name,
		    "h= does not allow sha256 and verifiers refuse sha1 (RFC "
		    "8301); remove h= or list sha256");
		clean = false;
	}
	if (clean)
		check_add(c, CHECK_DKIM_OK, s->name, "%u-bit %s key", rec->bits,
		    rec->type == DKIM_KEY_RSA ? "RSA" : "Ed25519");
}

static void
judge_selector(struct check *c, size_t i)
{
	const struct check_selector *s = &c->req.sel[i];
	const struct check_q *q = c->dkim != NULL ? c->dkim[i].q : NULL;
	size_t max_tags = c->env->limits != NULL ? c->env->limits->max_tags
	                                         : CHECK_DEFAULT_MAX_TAGS;
	struct dkim_keyrec rec;
	char err[160];
	int sl = (int)s->name.len, dl = (int)c->domain.len;
	const char *sp = (const char *)s->name.p;
	const char *dp = (const char *)c->domain.p;
	dkim_res r;

	if (q == NULL || q->rc == DNS_TEMPFAIL || q->rc == DNS_PERMFAIL) {
		check_add(c, CHECK_DKIM_DNS, s->name,
		    "lookup of %.*s._domainkey.%.*s failed", sl, sp, dl, dp);
		return;
	}
	if (c->req.dnssec) {
		struct buf b;

		buf_init_arena(&b, c->ar);
		if (buf_add_span(&b, s->name) &&
		    buf_add_cstr(&b, "._domainkey.") &&
		    buf_add_span(&b, c->domain))
			check_dnssec(
			    c, CHECK_DKIM_DNSSEC, s->name, q, buf_span(&b));
	}
	if (q->rc != DNS_OK || q->ntxt == 0) {
		check_add(c, CHECK_DKIM_NONE, s->name,
		    "no key record at %.*s._domainkey.%.*s: every signature "
		    "with this selector fails; publish the record \"hanko "
		    "keygen --records\" prints",
		    sl, sp, dl, dp);
		if (s->key_error != NULL)
			judge_key(c, s, NULL);
		return;
	}
	memset(&rec, 0, sizeof(rec));
	err[0] = '\0';
	r = dkim_keyrec_parse(
	    q->txt[0], max_tags, c->ar, &rec, err, sizeof(err));
	if (r == DKIM_E_NOMEM) {
		c->nomem = true;
		return;
	}
	if (r != DKIM_OK) {
		check_add(c, CHECK_DKIM_SYNTAX, s->name,
		    "key record at %.*s._domainkey.%.*s is unusable: %s; "
		    "publish it again as \"hanko keygen --records\" prints it",
		    sl, sp, dl, dp, err);
		return;
	}
	judge_rec(c, s, &rec);
	judge_key(c, s, &rec);
	dkim_keyrec_fini(&rec);
}

/* RFC 5617 §4.2.1: an ADSP record starts with the dkim= tag. */
static bool
is_adsp(span txt)
{
	txt = span_trim_ws(txt);
	return span_has_prefix_ci(txt, SPAN_LIT("dkim="));
}

void
check_dkim_judge(struct check *c)
{
	size_t i;

	if ((c->req.what & CHECK_W_DKIM) != 0)
		for (i = 0; i < c->req.nsel; i++)
			judge_selector(c, i);
	if (c->adsp == NULL || c->adsp->rc != DNS_OK)
		return;
	for (i = 0; i < c->adsp->ntxt; i++) {
		if (!is_adsp(c->adsp->txt[i]))
			continue;
		check_add(c, CHECK_ADSP_PRESENT, span_make(NULL, 0),
		    "ADSP record at _adsp._domainkey.%.*s: ADSP (RFC 5617) "
		    "is historic and DMARC replaces it; remove the record",
		    (int)c->domain.len, (const char *)c->domain.p);
		return;
	}
}
