/* RFC 6376 §3.6.1 key records, with RFC 8463's k=ed25519. */
#include "dkim_key.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "arena.h"
#include "b64.h"
#include "dkim_tags.h"

/* Does the colon-separated list contain word (case-insensitively)? */
static bool
list_has(span list, const char *word)
{
	size_t i, start = 0;

	for (i = 0; i <= list.len; i++) {
		if (i < list.len && list.p[i] != ':')
			continue;
		if (span_ieq_cstr(
		        span_trim_ws(span_sub(list, start, i - start)), word))
			return true;
		start = i + 1;
	}
	return false;
}

static dkim_res
keyrec_flags(const struct dkim_tags *tl, struct dkim_keyrec *rec, char *err,
    size_t errlen)
{
	const span *v;

	if ((v = dkim_tags_get(tl, "v")) != NULL &&
	    (tl->t[0].value.p != v->p || !span_eq(*v, SPAN_LIT("DKIM1")))) {
		snprintf(err, errlen,
		    "key record v= is not DKIM1 or not "
		    "first");
		return DKIM_E_SYNTAX;
	}
	rec->type = DKIM_KEY_RSA;
	if ((v = dkim_tags_get(tl, "k")) != NULL) {
		if (span_ieq_cstr(*v, "ed25519")) {
			rec->type = DKIM_KEY_ED25519;
		} else if (!span_ieq_cstr(*v, "rsa")) {
			snprintf(err, errlen, "key record has unknown k=%.*s",
			    (int)(v->len > 20 ? 20 : v->len),
			    (const char *)v->p);
			return DKIM_E_KEY;
		}
	}
	rec->sha256_ok = true;
	if ((v = dkim_tags_get(tl, "h")) != NULL) {
		rec->sha256_ok = list_has(*v, "sha256");
		rec->sha1_only = !rec->sha256_ok && list_has(*v, "sha1");
	}
	if ((v = dkim_tags_get(tl, "s")) != NULL && !list_has(*v, "*") &&
	    !list_has(*v, "email")) {
		snprintf(err, errlen,
		    "key record service type s= excludes "
		    "email");
		return DKIM_E_KEY;
	}
	if ((v = dkim_tags_get(tl, "t")) != NULL) {
		rec->testing = list_has(*v, "y");
		rec->strict = list_has(*v, "s");
	}
	return DKIM_OK;
}

static EVP_PKEY *
pubkey_rsa(const uint8_t *der, size_t n)
{
	const uint8_t *p = der;
	EVP_PKEY *pk;

	/* SubjectPublicKeyInfo per RFC 6376; some publish bare PKCS#1. */
	if ((pk = d2i_PUBKEY(NULL, &p, (long)n)) == NULL) {
		/* Not SPKI: forget why, lest a later report show it. */
		ERR_clear_error();
		p = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)n);
	}
	if (pk != NULL &&
	    (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA || p != der + n)) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

static dkim_res
keyrec_pubkey(span p64, struct arena *ar, struct dkim_keyrec *rec, char *err,
    size_t errlen)
{
	size_t cap = b64_decoded_max(p64.len), n;
	uint8_t *der;

	if ((der = arena_alloc(ar, cap)) == NULL)
		return DKIM_E_NOMEM;
	if (!b64_decode(p64, der, cap, &n)) {
		snprintf(err, errlen, "key record p= is not valid base64");
		return DKIM_E_SYNTAX;
	}
	if (rec->type == DKIM_KEY_ED25519) {
		if (n != 32) {
			snprintf(err, errlen,
			    "ed25519 key is %zu bytes, "
			    "not 32",
			    n);
			return DKIM_E_KEY;
		}
		rec->pk =
		    EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, n);
		rec->bits = 256;
	} else if ((rec->pk = pubkey_rsa(der, n)) != NULL) {
		rec->bits = (unsigned)EVP_PKEY_get_bits(rec->pk);
	}
	if (rec->pk == NULL) {
		dkim_crypto_err(err, errlen,
		    "key record p= is not a valid "
		    "public key");
		return DKIM_E_KEY;
	}
	return DKIM_OK;
}

dkim_res
dkim_keyrec_parse(span txt, size_t max_tags, struct arena *ar,
    struct dkim_keyrec *rec, char *err, size_t errlen)
{
	struct dkim_keyrec r;
	struct dkim_tags tl;
	const span *p;
	dkim_tags_res tr;
	dkim_res res;

	memset(&r, 0, sizeof(r));
	if ((tr = dkim_tags_parse(txt, max_tags, ar, &tl, err, errlen)) !=
	    DKIM_TAGS_OK)
		return tr == DKIM_TAGS_E_NOMEM ? DKIM_E_NOMEM : DKIM_E_SYNTAX;
	if ((res = keyrec_flags(&tl, &r, err, errlen)) != DKIM_OK)
		return res;
	if ((p = dkim_tags_get(&tl, "p")) == NULL) {
		snprintf(err, errlen, "key record has no p= tag");
		return DKIM_E_SYNTAX;
	}
	if (p->len == 0) {
		r.revoked = true;
	} else if ((res = keyrec_pubkey(*p, ar, &r, err, errlen)) != DKIM_OK) {
		return res;
	}
	*rec = r;
	return DKIM_OK;
}

void
dkim_keyrec_fini(struct dkim_keyrec *rec)
{
	EVP_PKEY_free(rec->pk);
	rec->pk = NULL;
}
