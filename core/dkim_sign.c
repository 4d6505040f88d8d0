#include "dkim_sign.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "arena.h"
#include "b64.h"
#include "dkim_bodycache.h"
#include "dkim_hash.h"
#include "dkim_key.h"
#include "dmarc.h"
#include "env.h"
#include "hdr.h"

#define SIGNER_NKEYCTX 8
#define FOLD_COL       78

/* RFC 6376 §5.4.1, plus Content-Type and RFC 8058's pair. */
static const span default_headers[] = {
	SPAN_INIT("from"),
	SPAN_INIT("reply-to"),
	SPAN_INIT("subject"),
	SPAN_INIT("date"),
	SPAN_INIT("to"),
	SPAN_INIT("cc"),
	SPAN_INIT("resent-date"),
	SPAN_INIT("resent-from"),
	SPAN_INIT("resent-to"),
	SPAN_INIT("resent-cc"),
	SPAN_INIT("in-reply-to"),
	SPAN_INIT("references"),
	SPAN_INIT("list-id"),
	SPAN_INIT("list-help"),
	SPAN_INIT("list-unsubscribe"),
	SPAN_INIT("list-unsubscribe-post"),
	SPAN_INIT("list-subscribe"),
	SPAN_INIT("list-post"),
	SPAN_INIT("list-owner"),
	SPAN_INIT("list-archive"),
	SPAN_INIT("message-id"),
	SPAN_INIT("mime-version"),
	SPAN_INIT("content-type"),
	SPAN_INIT("content-transfer-encoding"),
};

/* The fields a replay or an added second instance would abuse. */
static const span default_oversign[] = {
	SPAN_INIT("from"),
	SPAN_INIT("to"),
	SPAN_INIT("cc"),
	SPAN_INIT("subject"),
	SPAN_INIT("date"),
	SPAN_INIT("reply-to"),
	SPAN_INIT("content-type"),
	SPAN_INIT("list-unsubscribe"),
	SPAN_INIT("list-unsubscribe-post"),
};

struct keyctx {
	const EVP_PKEY *pk;
	EVP_PKEY_CTX *ctx;
};

/* Worker lifetime. */
struct dkim_signer {
	const struct core_env *env;
	EVP_MD *sha256;
	EVP_MD_CTX *md;
	EVP_MD_CTX *edctx;
	struct keyctx kc[SIGNER_NKEYCTX];
	size_t kc_next;
	struct dkim_bodycache bodies;
	/* Message lifetime: */
	struct arena *ar;
	struct hdr_msg msg;
	bool have_bh[2];
	uint8_t bh[2][DKIM_HASH_LEN];
	/* Streaming (dkim_sign_begin): both body hashes as chunks arrive. */
	bool streaming, stream_done;
	EVP_MD_CTX *smd[2];
	struct canon_body scb[2];
	char err[160];
};

void
dkim_sign_conf_default(struct dkim_sign_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->hdr_canon = CANON_RELAXED;
	c->body_canon = CANON_RELAXED;
	c->headers = default_headers;
	c->nheaders = sizeof(default_headers) / sizeof(default_headers[0]);
	c->oversign = default_oversign;
	c->noversign = sizeof(default_oversign) / sizeof(default_oversign[0]);
}

dkim_res
dkim_signer_new(const struct core_env *env, struct dkim_signer **out)
{
	struct dkim_signer *s;

	if ((s = env->alloc->alloc(env->alloc->ctx, sizeof(*s))) == NULL)
		return DKIM_E_NOMEM;
	memset(s, 0, sizeof(*s));
	s->env = env;
	dkim_bodycache_init(&s->bodies, env->alloc,
	    env->limits != NULL ? env->limits->body_cache_bytes : 0);
	s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->md = EVP_MD_CTX_new();
	s->edctx = EVP_MD_CTX_new();
	if (s->sha256 == NULL || s->md == NULL || s->edctx == NULL) {
		dkim_signer_free(s);
		ERR_clear_error();
		return DKIM_E_CRYPTO;
	}
	*out = s;
	return DKIM_OK;
}

void
dkim_signer_free(struct dkim_signer *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < SIGNER_NKEYCTX; i++)
		EVP_PKEY_CTX_free(s->kc[i].ctx);
	EVP_MD_CTX_free(s->md);
	EVP_MD_CTX_free(s->edctx);
	EVP_MD_CTX_free(s->smd[0]);
	EVP_MD_CTX_free(s->smd[1]);
	EVP_MD_free(s->sha256);
	dkim_bodycache_fini(&s->bodies);
	s->env->alloc->free(s->env->alloc->ctx, s);
}

const char *
dkim_signer_err(const struct dkim_signer *s)
{
	return s->err;
}

uint64_t
dkim_signer_bodies_reused(const struct dkim_signer *s)
{
	return s->bodies.reused;
}

bool
dkim_sign_msg_is_crlf(const struct dkim_signer *s)
{
	return s->msg.crlf;
}

static dkim_res
hdr_to_dkim(hdr_res r)
{
	switch (r) {
	case HDR_OK:
		return DKIM_OK;
	case HDR_E_LIMIT:
		return DKIM_E_LIMIT;
	case HDR_E_NOMEM:
		return DKIM_E_NOMEM;
	case HDR_E_EMPTY:
	case HDR_E_NOCOLON:
	case HDR_E_NAME:
	case HDR_E_NUL:
		break;
	}
	return DKIM_E_SYNTAX;
}

dkim_res
dkim_sign_parse(struct dkim_signer *s, span msg, struct arena *ar, span *from)
{
	span addrs[1];
	size_t i, n;
	hdr_res hr;

	s->ar = ar;
	s->have_bh[0] = s->have_bh[1] = false;
	s->streaming = s->stream_done = false;
	s->err[0] = '\0';
	hr =
	    hdr_split(msg, s->env->limits, ar, &s->msg, s->err, sizeof(s->err));
	if (hr != HDR_OK)
		return hdr_to_dkim(hr);
	if ((n = hdr_count(&s->msg, SPAN_LIT("from"))) != 1) {
		snprintf(s->err, sizeof(s->err),
		    n == 0
		        ? "message has no From field"
		        : "message has %zu From fields (RFC 5322 allows one)",
		    n);
		return DKIM_E_FROM;
	}
	i = hdr_find(&s->msg, SPAN_LIT("from"), 0);
	n = hdr_addr_list(s->msg.f[i].value, ar, addrs, 1);
	if (n == HDR_ADDR_NOMEM)
		return DKIM_E_NOMEM;
	if (n == 0 || n == SIZE_MAX) {
		snprintf(s->err, sizeof(s->err),
		    "From field has no usable "
		    "address");
		return DKIM_E_FROM;
	}
	*from = addrs[0];
	return DKIM_OK;
}

/* d=, s= and i= go into the header verbatim: allow only safe bytes. */
static bool
tag_text_ok(span v, bool at_ok)
{
	size_t i;

	for (i = 0; i < v.len; i++) {
		uint8_t c = v.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		        c == '_' || (at_ok && (c == '@' || c == '+'))))
			return false;
	}
	return true;
}

static bool
list_has(const span *list, size_t n, span name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (span_ieq_ascii(list[i], name))
			return true;
	return false;
}

/* Build the h= list: each present instance, plus one more if oversigned. */
static bool
build_hlist(struct dkim_signer *s, const struct dkim_sign_conf *c, span **names,
    size_t *nnames)
{
	size_t i, k, n = 0, cap = 0;
	span *v;

	for (i = 0; i < c->nheaders; i++)
		cap += hdr_count(&s->msg, c->headers[i]) + 1;
	if ((v = arena_alloc(s->ar, (cap + 1) * sizeof(*v))) == NULL)
		return false;
	for (i = 0; i < c->nheaders; i++) {
		k = hdr_count(&s->msg, c->headers[i]);
		if (list_has(c->oversign, c->noversign, c->headers[i]))
			k++;
		while (k-- > 0)
			v[n++] = c->headers[i];
	}
	*names = v;
	*nnames = n;
	return true;
}

struct fold {
	struct buf *b;
	size_t col;
	bool ok;
};

/* Append a token, folding before it when the line would pass FOLD_COL. */
static void
fold_tok(struct fold *f, span tok, bool space)
{
	if (f->col + 1 + tok.len > FOLD_COL && f->col > 1) {
		f->ok = f->ok && buf_add(f->b, "\r\n\t", 3);
		f->col = 8;
	} else if (space) {
		f->ok = f->ok && buf_add_byte(f->b, ' ');
		f->col++;
	}
	f->ok = f->ok && buf_add_span(f->b, tok);
	f->col += tok.len;
}

static void
fold_tag(struct fold *f, const char *name, span value, struct buf *tmp)
{
	tmp->len = 0;
	f->ok = f->ok && buf_add_cstr(tmp, name) && buf_add_byte(tmp, '=') &&
	    buf_add_span(tmp, value) && buf_add_byte(tmp, ';');
	fold_tok(f, buf_span(tmp), true);
}

static void
fold_num(struct fold *f, const char *name, uint64_t v, struct buf *tmp)
{
	uint8_t num[24];
	struct buf nb;

	buf_init_fixed(&nb, num, sizeof(num));
	f->ok = f->ok && buf_add_u64(&nb, v);
	fold_tag(f, name, buf_span(&nb), tmp);
}

/* "h=from : to : subject;" folded between names. */
static void
fold_hlist(struct fold *f, const span *names, size_t n, struct buf *tmp)
{
	size_t i;

	for (i = 0; i < n; i++) {
		tmp->len = 0;
		f->ok = f->ok && buf_add(tmp, i == 0 ? "h=" : ": ", 2) &&
		    buf_add_span(tmp, names[i]) &&
		    (i + 1 < n || buf_add_byte(tmp, ';'));
		fold_tok(f, buf_span(tmp), true);
	}
}

/*
 * The signature field up to and including "b=", CRLF-folded. Tags come
 * in dkimpy's order (v a c d i q s t x h bh b), the order RFC 8463's
 * example was made with, so the same inputs give the same bytes.
 */
static bool
sig_text(const struct dkim_sign_conf *c, const span *names, size_t nnames,
    const uint8_t *bh, uint64_t now, struct buf *out)
{
	uint8_t tbuf[512], bhb[64];
	struct buf tmp, bh64;
	struct fold f = { out, 0, true };
	bool ed = c->key->type == DKIM_KEY_ED25519;

	buf_init_fixed(&tmp, tbuf, sizeof(tbuf));
	buf_init_fixed(&bh64, bhb, sizeof(bhb));
	f.ok = buf_add_cstr(out, "DKIM-Signature: v=1;");
	f.col = sizeof("DKIM-Signature: v=1;") - 1;
	fold_tag(&f, "a",
	    ed ? SPAN_LIT("ed25519-sha256") : SPAN_LIT("rsa-sha256"), &tmp);
	tmp.len = 0;
	f.ok = f.ok && buf_add_cstr(&tmp, "c=") &&
	    buf_add_cstr(&tmp, canon_alg_str(c->hdr_canon)) &&
	    buf_add_byte(&tmp, '/') &&
	    buf_add_cstr(&tmp, canon_alg_str(c->body_canon)) &&
	    buf_add_byte(&tmp, ';');
	fold_tok(&f, buf_span(&tmp), true);
	fold_tag(&f, "d", c->domain, &tmp);
	if (c->identity.len > 0)
		fold_tag(&f, "i", c->identity, &tmp);
	fold_tag(&f, "q", SPAN_LIT("dns/txt"), &tmp);
	fold_tag(&f, "s", c->selector, &tmp);
	fold_num(&f, "t", now, &tmp);
	if (c->expire > 0)
		fold_num(&f, "x", now + c->expire, &tmp);
	fold_hlist(&f, names, nnames, &tmp);
	f.ok = f.ok && b64_encode(&bh64, span_make(bh, DKIM_HASH_LEN));
	fold_tag(&f, "bh", buf_span(&bh64), &tmp);
	/* b= starts its own line so its value never begins with FWS. */
	return f.ok && buf_add_cstr(out, "\r\n\tb=");
}

static EVP_PKEY_CTX *
rsa_ctx(struct dkim_signer *s, EVP_PKEY *pk)
{
	struct keyctx *k;
	size_t i;

	for (i = 0; i < SIGNER_NKEYCTX; i++)
		if (s->kc[i].pk == pk && s->kc[i].ctx != NULL)
			return s->kc[i].ctx;
	/* TODO(issue 3): a per-worker table sized for 100,000 keys. */
	k = &s->kc[s->kc_next++ % SIGNER_NKEYCTX];
	EVP_PKEY_CTX_free(k->ctx);
	k->pk = pk;
	k->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (k->ctx == NULL || EVP_PKEY_sign_init(k->ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(k->ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(k->ctx, s->sha256) != 1) {
		EVP_PKEY_CTX_free(k->ctx);
		k->ctx = NULL;
		k->pk = NULL;
	}
	return k->ctx;
}

/* Sign the header hash: PKCS#1 v1.5, or PureEdDSA over it (RFC 8463 §3). */
static dkim_res
sign_digest(struct dkim_signer *s, const struct dkim_privkey *key,
    const uint8_t *dg, uint8_t *sig, size_t *siglen)
{
	EVP_PKEY_CTX *ctx;

	if (key->type == DKIM_KEY_ED25519) {
		if (EVP_MD_CTX_reset(s->edctx) != 1 ||
		    EVP_DigestSignInit_ex(
		        s->edctx, NULL, NULL, NULL, NULL, key->pk, NULL) != 1 ||
		    EVP_DigestSign(s->edctx, sig, siglen, dg, DKIM_HASH_LEN) !=
		        1)
			goto fail;
		return DKIM_OK;
	}
	if ((ctx = rsa_ctx(s, key->pk)) == NULL ||
	    EVP_PKEY_sign(ctx, sig, siglen, dg, DKIM_HASH_LEN) != 1)
		goto fail;
	return DKIM_OK;
fail:
	dkim_crypto_err(s->err, sizeof(s->err), "signing failed");
	return DKIM_E_CRYPTO;
}

/* Append b= value folded, then the line ending. */
static bool
add_b(struct buf *out, const uint8_t *sig, size_t siglen)
{
	uint8_t tmp[1400];
	struct buf b64;
	size_t i, room = FOLD_COL - 10;

	buf_init_fixed(&b64, tmp, sizeof(tmp));
	if (!b64_encode(&b64, span_make(sig, siglen)))
		return false;
	for (i = 0; i < b64.len; i += room, room = FOLD_COL - 8) {
		size_t n = b64.len - i < room ? b64.len - i : room;

		if ((i > 0 && !buf_add(out, "\r\n\t", 3)) ||
		    !buf_add(out, tmp + i, n))
			return false;
	}
	return buf_add(out, "\r\n", 2);
}

/*
 * Once per message and body canonicalization; a body byte-identical to
 * one this signer hashed before takes that hash (dkim_bodycache.h).
 */
static const uint8_t *
body_hash(struct dkim_signer *s, enum canon_alg alg)
{
	const uint8_t *kept;
	uint64_t total;

	if (s->have_bh[alg])
		return s->bh[alg];
	if ((kept = dkim_bodycache_get(&s->bodies, s->msg.body, alg)) != NULL) {
		memcpy(s->bh[alg], kept, DKIM_HASH_LEN);
	} else {
		if (!dkim_hash_body(s->md, s->sha256, s->env->scan, alg,
		        CANON_NO_LIMIT, s->msg.body, s->bh[alg], &total))
			return NULL;
		dkim_bodycache_put(&s->bodies, s->msg.body, alg, s->bh[alg]);
	}
	s->have_bh[alg] = true;
	return s->bh[alg];
}

static dkim_res
conf_check(struct dkim_signer *s, const struct dkim_sign_conf *c)
{
	if (c->key == NULL || c->key->pk == NULL || c->domain.len == 0 ||
	    c->selector.len == 0 || !tag_text_ok(c->domain, false) ||
	    !tag_text_ok(c->selector, false) ||
	    !tag_text_ok(c->identity, true)) {
		snprintf(s->err, sizeof(s->err),
		    "signing needs a key and a "
		    "valid domain and selector");
		return DKIM_E_ARG;
	}
	/* RFC 6376 §5.4: the From field MUST be signed. */
	if (!list_has(c->headers, c->nheaders, SPAN_LIT("from"))) {
		snprintf(s->err, sizeof(s->err),
		    "the header list does not include From");
		return DKIM_E_ARG;
	}
	return DKIM_OK;
}

static dkim_res
sign_one(struct dkim_signer *s, const struct dkim_sign_conf *c, uint64_t now,
    struct buf *out)
{
	uint8_t dg[DKIM_HASH_LEN], sig[1024];
	size_t nnames, siglen = sizeof(sig), start = out->len;
	struct buf hd;
	const uint8_t *bh;
	span *names, field;
	dkim_res r;

	if ((r = conf_check(s, c)) != DKIM_OK)
		return r;
	if ((bh = body_hash(s, c->body_canon)) == NULL)
		goto nomem_or_crypto;
	if (!build_hlist(s, c, &names, &nnames))
		return DKIM_E_NOMEM;
	if (!sig_text(c, names, nnames, bh, now, out))
		return DKIM_E_NOMEM;
	field = span_make(out->p + start, out->len - start);
	buf_init_arena(&hd, s->ar);
	if (!dkim_hash_fields(&hd, c->hdr_canon, &s->msg, names, nnames, s->ar))
		return DKIM_E_NOMEM;
	if (c->hdr_canon == CANON_RELAXED
	        ? !canon_hdr_relaxed(&hd, SPAN_LIT("DKIM-Signature"),
	              span_sub(field, 15, field.len - 15), true)
	        : !canon_hdr_simple(&hd, field, true))
		return DKIM_E_NOMEM;
	if (!dkim_hash_data(s->md, s->sha256, buf_span(&hd), dg))
		goto nomem_or_crypto;
	if ((r = sign_digest(s, c->key, dg, sig, &siglen)) != DKIM_OK)
		return r;
	return add_b(out, sig, siglen) ? DKIM_OK : DKIM_E_NOMEM;
nomem_or_crypto:
	dkim_crypto_err(s->err, sizeof(s->err), "hashing failed");
	return DKIM_E_CRYPTO;
}

/* Rewrite the CRLFs of [start, len) as LF for an LF-only message. */
static void
to_lf(struct buf *out, size_t start)
{
	size_t i, j = start;

	for (i = start; i < out->len; i++) {
		if (out->p[i] == '\r' && i + 1 < out->len &&
		    out->p[i + 1] == '\n')
			continue;
		out->p[j++] = out->p[i];
	}
	out->len = j;
}

dkim_res
dkim_sign_begin(
    struct dkim_signer *s, span header, struct arena *ar, span *from)
{
	dkim_res r;
	int i;

	if ((r = dkim_sign_parse(s, header, ar, from)) != DKIM_OK)
		return r;
	if (s->msg.body.len > 0) {
		snprintf(s->err, sizeof(s->err),
		    "the header section is followed by body bytes");
		return DKIM_E_ARG;
	}
	for (i = 0; i < 2; i++) {
		if (s->smd[i] == NULL && (s->smd[i] = EVP_MD_CTX_new()) == NULL)
			goto crypto;
		if (EVP_DigestInit_ex2(s->smd[i], s->sha256, NULL) != 1)
			goto crypto;
		canon_body_init(&s->scb[i], (enum canon_alg)i, s->env->scan,
		    s->smd[i], CANON_NO_LIMIT);
	}
	s->streaming = true;
	return DKIM_OK;
crypto:
	dkim_crypto_err(s->err, sizeof(s->err), "hashing failed");
	return DKIM_E_CRYPTO;
}

dkim_res
dkim_sign_body(struct dkim_signer *s, span chunk)
{
	if (!s->streaming || s->stream_done) {
		snprintf(s->err, sizeof(s->err), "no message streaming");
		return DKIM_E_ARG;
	}
	if (!canon_body_feed(&s->scb[CANON_SIMPLE], chunk) ||
	    !canon_body_feed(&s->scb[CANON_RELAXED], chunk)) {
		dkim_crypto_err(s->err, sizeof(s->err), "hashing failed");
		return DKIM_E_CRYPTO;
	}
	return DKIM_OK;
}

dkim_res
dkim_sign_body_end(struct dkim_signer *s)
{
	unsigned n;
	int i;

	if (!s->streaming || s->stream_done) {
		snprintf(s->err, sizeof(s->err), "no message streaming");
		return DKIM_E_ARG;
	}
	for (i = 0; i < 2; i++) {
		n = 0;
		if (!canon_body_finish(&s->scb[i]) ||
		    EVP_DigestFinal_ex(s->smd[i], s->bh[i], &n) != 1 ||
		    n != DKIM_HASH_LEN) {
			dkim_crypto_err(s->err, sizeof(s->err),
			    "hashing failed");
			return DKIM_E_CRYPTO;
		}
		s->have_bh[i] = true;
	}
	s->stream_done = true;
	return DKIM_OK;
}

dkim_res
dkim_sign_emit(struct dkim_signer *s, const struct dkim_sign_conf *confs,
    size_t n, uint64_t now, struct buf *out)
{
	size_t i, start = out->len;
	dkim_res r;

	if (s->streaming && !s->stream_done) {
		snprintf(s->err, sizeof(s->err), "the body has not ended");
		return DKIM_E_ARG;
	}
	for (i = 0; i < n; i++) {
		if ((r = sign_one(s, &confs[i], now, out)) != DKIM_OK) {
			out->len = start;
			return r;
		}
	}
	if (!s->msg.crlf)
		to_lf(out, start);
	return DKIM_OK;
}

/*
 * DMARC passes on DKIM when one aligned signature verifies (RFC 7489
 * §3.1.1, RFC 9989 §4.4), so one aligned conf is enough.
 */
bool
dkim_sign_aligned(const struct dkim_sign_conf *confs, size_t n, span from,
    const struct psl_ctx_st *psl)
{
	span domain = hdr_addr_domain(from);
	size_t i;

	for (i = 0; i < n; i++)
		if (dmarc_psl_aligned(psl, domain, confs[i].domain))
			return true;
	return false;
}
