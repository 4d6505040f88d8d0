#include "dkim_verify.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "arena.h"
#include "dkim_bodystream.h"
#include "dkim_hash.h"
#include "dkim_key.h"
#include "dkim_sig.h"
#include "dns.h"
#include "dnsq.h"
#include "env.h"
#include "hdr.h"

struct vsig {
	struct dkim_verifier *v;
	struct dkim_result res;
	struct dkim_sig sig;
	struct dkim_keyrec key;
	uint8_t hdr_digest[DKIM_HASH_LEN];
	span qname; /* s._domainkey.d, once asked */
	bool bh_ok;
	bool have_key;
	bool asked;
	bool done;
};

struct bodyhash {
	enum canon_alg alg;
	uint64_t limit;
	uint64_t total;
	uint8_t digest[DKIM_HASH_LEN];
};

/*
 * Parsed key records by their exact TXT bytes: OpenSSL's DER decoding and
 * the Montgomery set-up of a new RSA key cost more than the verification,
 * so a worker keeps the keys it has seen (a bulk stream repeats few).
 */
#define KEYCACHE_N      64
#define KEYCACHE_TXTMAX 1024

struct keycache_ent {
	size_t len; /* 0: empty */
	uint8_t txt[KEYCACHE_TXTMAX];
	struct dkim_keyrec rec; /* holds a reference to rec.pk */
};

/* Worker lifetime; the message part is reset by each start. */
struct dkim_verifier {
	const struct core_env *env;
	EVP_MD *sha256;
	EVP_MD_CTX *md;            /* hashing */
	EVP_MD_CTX *edctx;         /* Ed25519 verification (holds a pkey ctx) */
	struct keycache_ent *keys; /* KEYCACHE_N entries, worker lifetime */
	size_t *keys_next;         /* round-robin replacement */
	size_t keys_next_own;
	bool keys_owned; /* false: borrowed from another verifier */
	/* Message lifetime: */
	struct arena *ar;
	struct dnsq *q;        /* the message's DNS */
	struct dnsq_client cl; /* our key questions in it */
	struct hdr_msg msg;
	struct vsig *sigs;
	struct dkim_result *results;
	size_t nsigs;
	size_t skipped;
	bool hashed; /* all hashes computed */
	const struct dkim_bodystream *pre; /* body hashes given, or NULL */
	struct bodyhash bhs[4];
	size_t nbhs;
	char err[160];
};

dkim_res
dkim_verifier_new(const struct core_env *env, struct dkim_verifier **out)
{
	return dkim_verifier_new_shared(env, NULL, out);
}

dkim_res
dkim_verifier_new_shared(const struct core_env *env,
    struct dkim_verifier *share, struct dkim_verifier **out)
{
	struct dkim_verifier *v;

	if ((v = env->alloc->alloc(env->alloc->ctx, sizeof(*v))) == NULL)
		return DKIM_E_NOMEM;
	memset(v, 0, sizeof(*v));
	v->env = env;
	v->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	v->md = EVP_MD_CTX_new();
	v->edctx = EVP_MD_CTX_new();
	if (share != NULL) {
		v->keys = share->keys;
		v->keys_next = share->keys_next;
	} else {
		v->keys = env->alloc->alloc(
		    env->alloc->ctx, KEYCACHE_N * sizeof(*v->keys));
		v->keys_owned = v->keys != NULL;
		v->keys_next = &v->keys_next_own;
		if (v->keys != NULL)
			memset(v->keys, 0, KEYCACHE_N * sizeof(*v->keys));
	}
	if (v->sha256 == NULL || v->md == NULL || v->edctx == NULL ||
	    v->keys == NULL) {
		dkim_verifier_free(v);
		ERR_clear_error();
		return DKIM_E_CRYPTO;
	}
	*out = v;
	return DKIM_OK;
}

void
dkim_verifier_free(struct dkim_verifier *v)
{
	size_t i;

	if (v == NULL)
		return;
	/*
	 * No key to release: verdict() frees each key as its result becomes
	 * final, and the last message's arena may be gone by now.
	 */
	for (i = 0; v->keys_owned && i < KEYCACHE_N; i++)
		dkim_keyrec_fini(&v->keys[i].rec);
	if (v->keys_owned)
		v->env->alloc->free(v->env->alloc->ctx, v->keys);
	EVP_MD_CTX_free(v->md);
	EVP_MD_CTX_free(v->edctx);
	EVP_MD_free(v->sha256);
	v->env->alloc->free(v->env->alloc->ctx, v);
}

const char *
dkim_verifier_err(const struct dkim_verifier *v)
{
	return v->err;
}

bool
dkim_verify_is_done(const struct dkim_verifier *v)
{
	return v->cl.waiting == 0;
}

size_t
dkim_verify_skipped(const struct dkim_verifier *v)
{
	return v->skipped;
}

size_t
dkim_verify_results(
    const struct dkim_verifier *v, const struct dkim_result **res)
{
	size_t i;

	for (i = 0; i < v->nsigs; i++)
		v->results[i] = v->sigs[i].res;
	*res = v->results;
	return v->nsigs;
}

static void
verdict(struct vsig *vs, enum dkim_verdict vd, const char *reason)
{
	vs->res.verdict = vd;
	snprintf(vs->res.reason, sizeof(vs->res.reason), "%s", reason);
	vs->done = true;
	dkim_keyrec_fini(&vs->key);
}

/* The key record says whether this signature could ever pass. */
static bool
key_acceptable(struct vsig *vs)
{
	struct dkim_keyrec *k = &vs->key;
	char r[128];

	if (k->revoked) {
		verdict(vs, DKIM_V_PERMERROR, "key revoked (empty p=)");
	} else if ((k->type == DKIM_KEY_ED25519) !=
	    (vs->sig.alg == DKIM_ALG_ED25519_SHA256)) {
		verdict(vs, DKIM_V_PERMERROR, "key type k= does not match a=");
	} else if (!k->sha256_ok) {
		verdict(vs, DKIM_V_PERMERROR, "key h= does not allow sha256");
	} else if (k->type == DKIM_KEY_RSA && k->bits < 1024) {
		snprintf(r, sizeof(r),
		    "RSA key of %u bits is too small "
		    "(RFC 8301)",
		    k->bits);
		verdict(vs, DKIM_V_PERMERROR, r);
	} else if (k->strict && vs->sig.i.len > 0 &&
	    !span_ieq_ascii(hdr_addr_domain(vs->sig.i), vs->sig.d)) {
		verdict(vs, DKIM_V_PERMERROR,
		    "key t=s forbids a subdomain "
		    "in i=");
	} else {
		return true;
	}
	return false;
}

static bool
sig_matches(struct dkim_verifier *v, struct vsig *vs)
{
	EVP_PKEY_CTX *ctx;
	bool ok;

	if (vs->key.type == DKIM_KEY_ED25519) {
		ok = EVP_MD_CTX_reset(v->edctx) == 1 &&
		    EVP_DigestVerifyInit_ex(v->edctx, NULL, NULL, NULL, NULL,
		        vs->key.pk, NULL) == 1 &&
		    EVP_DigestVerify(v->edctx, vs->sig.b, vs->sig.blen,
		        vs->hdr_digest, DKIM_HASH_LEN) == 1;
		ERR_clear_error();
		return ok;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, vs->key.pk, NULL);
	ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, v->sha256) == 1 &&
	    EVP_PKEY_verify(ctx, vs->sig.b, vs->sig.blen, vs->hdr_digest,
	        DKIM_HASH_LEN) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* Key and hashes are both here: decide (§6.1.2 key checks first). */
static void
finish(struct dkim_verifier *v, struct vsig *vs)
{
	vs->res.key_bits = vs->key.bits;
	vs->res.testing = vs->key.testing;
	if (!key_acceptable(vs))
		return;
	if (vs->sig.has_l && vs->sig.l > vs->res.body_len)
		verdict(vs, DKIM_V_PERMERROR, "l= is longer than the body");
	else if (!vs->bh_ok)
		verdict(vs, DKIM_V_FAIL, "body hash did not verify");
	else if (!sig_matches(v, vs))
		verdict(vs, DKIM_V_FAIL, "signature did not verify");
	else
		verdict(vs, DKIM_V_PASS, "good signature");
}

/* A cached copy of the record for txt, with its own key reference. */
static bool
keycache_get(struct dkim_verifier *v, span txt, struct dkim_keyrec *rec)
{
	size_t i;

	/* keycache_put() keeps no empty record: an empty slot is not one. */
	if (txt.len == 0)
		return false;
	for (i = 0; i < KEYCACHE_N; i++) {
		struct keycache_ent *e = &v->keys[i];

		if (e->len != txt.len || memcmp(e->txt, txt.p, txt.len) != 0)
			continue;
		if (e->rec.pk != NULL && EVP_PKEY_up_ref(e->rec.pk) != 1)
			return false;
		*rec = e->rec;
		return true;
	}
	return false;
}

static void
keycache_put(struct dkim_verifier *v, span txt, const struct dkim_keyrec *rec)
{
	struct keycache_ent *e = &v->keys[(*v->keys_next)++ % KEYCACHE_N];

	if (txt.len == 0 || txt.len > KEYCACHE_TXTMAX ||
	    (rec->pk != NULL && EVP_PKEY_up_ref(rec->pk) != 1))
		return;
	dkim_keyrec_fini(&e->rec);
	memcpy(e->txt, txt.p, txt.len);
	e->len = txt.len;
	e->rec = *rec;
}

/* Parse one TXT record, or take it from the worker's cache. */
static dkim_res
key_from_txt(struct dkim_verifier *v, span t, struct dkim_keyrec *rec,
    char *err, size_t errlen)
{
	dkim_res r;

	if (keycache_get(v, t, rec))
		return DKIM_OK;
	/* t is the dnsq's copy, in the arena for the whole message. */
	r = dkim_keyrec_parse(
	    t, v->env->limits->max_tags, v->ar, rec, err, errlen);
	if (r == DKIM_OK)
		keycache_put(v, t, rec);
	return r;
}

/* vs's key answer is in (cached in the arena): judge or keep the key. */
static void
take_key(struct dkim_verifier *v, struct vsig *vs, const struct dnsq_ans *ans)
{
	char err[160] = "no valid key record";
	size_t i;
	dkim_res r = DKIM_E_SYNTAX;

	if (vs->done || vs->have_key)
		return;
	vs->res.dnssec = ans->secure;
	if (ans->nomem) {
		verdict(vs, DKIM_V_TEMPERROR, "out of memory");
		return;
	}
	switch (ans->refused) {
	case DNSQ_SENT:
		break;
	case DNSQ_NODNS:
		verdict(vs, DKIM_V_TEMPERROR, "no DNS configured");
		return;
	case DNSQ_BADNAME:
		/*
		 * The name cannot exist in the DNS (an empty or over-long
		 * label); no answer could ever give a key.
		 */
		verdict(vs, DKIM_V_PERMERROR, "key name is not a DNS name");
		return;
	case DNSQ_REFUSED:
		verdict(vs, DKIM_V_TEMPERROR, "key lookup could not start");
		return;
	}
	if (ans->rcode == DNS_TEMPFAIL) {
		verdict(vs, DKIM_V_TEMPERROR, "key lookup failed temporarily");
		return;
	}
	if (ans->rcode != DNS_OK || ans->ntxt == 0) {
		verdict(vs, DKIM_V_PERMERROR, "no key for signature");
		return;
	}
	/* §3.6.2.2: several records are undefined; use the first valid one. */
	for (i = 0; i < ans->ntxt && r != DKIM_OK; i++) {
		r = key_from_txt(v, ans->txt[i], &vs->key, err, sizeof(err));
		if (r == DKIM_E_NOMEM) {
			verdict(vs, DKIM_V_TEMPERROR, "out of memory");
			return;
		}
	}
	if (r != DKIM_OK) {
		verdict(vs, DKIM_V_PERMERROR, err);
		return;
	}
	vs->have_key = true;
	if (v->hashed)
		finish(v, vs);
}

/* Ask (again) for vs's key; judge it when the answer is there. */
static void
poll_key(struct dkim_verifier *v, struct vsig *vs)
{
	const struct dnsq_ans *ans;

	switch (dnsq_lookup(v->q, &v->cl, DNS_T_TXT, vs->qname, &ans)) {
	case DNSQ_OK:
		take_key(v, vs, ans);
		break;
	case DNSQ_PENDING:
		break;
	case DNSQ_LIMIT: /* no limit is set */
	case DNSQ_NOMEM:
		verdict(vs, DKIM_V_TEMPERROR, "out of memory");
		break;
	}
}

/* A key answer arrived: every signature still waiting looks again. */
static void
on_wake(void *arg)
{
	struct dkim_verifier *v = arg;
	size_t i;

	for (i = 0; i < v->nsigs; i++) {
		struct vsig *vs = &v->sigs[i];

		if (vs->asked && !vs->done && !vs->have_key)
			poll_key(v, vs);
	}
}

/* "s._domainkey.d" in the arena. */
static bool
key_qname(struct dkim_verifier *v, const struct dkim_sig *sig, span *out)
{
	struct buf b;

	buf_init_arena(&b, v->ar);
	if (!buf_add_span(&b, sig->s) || !buf_add_cstr(&b, "._domainkey.") ||
	    !buf_add_span(&b, sig->d))
		return false;
	*out = buf_span(&b);
	return true;
}

static void
query_key(struct dkim_verifier *v, struct vsig *vs)
{
	if (!key_qname(v, &vs->sig, &vs->qname)) {
		verdict(vs, DKIM_V_TEMPERROR, "out of memory");
		return;
	}
	vs->asked = true;
	poll_key(v, vs);
}

static const struct bodyhash *
body_hash(struct dkim_verifier *v, enum canon_alg alg, uint64_t limit)
{
	struct bodyhash *bh;
	size_t i;

	for (i = 0; i < v->nbhs; i++)
		if (v->bhs[i].alg == alg && v->bhs[i].limit == limit)
			return &v->bhs[i];
	bh = &v->bhs[v->nbhs < 4 ? v->nbhs++ : 3];
	bh->alg = alg;
	bh->limit = limit;
	if (v->pre != NULL)
		return dkim_bodystream_get(
		           v->pre, alg, limit, bh->digest, &bh->total)
		    ? bh
		    : NULL;
	if (!dkim_hash_body(v->md, v->sha256, v->env->scan, alg, limit,
	        v->msg.body, bh->digest, &bh->total))
		return NULL;
	return bh;
}

static bool
hash_sig(struct dkim_verifier *v, struct vsig *vs)
{
	const struct dkim_sig *s = &vs->sig;
	const struct bodyhash *bh;
	struct buf hd;

	bh = body_hash(v, s->bc, s->has_l ? s->l : CANON_NO_LIMIT);
	if (bh == NULL)
		return false;
	vs->res.body_len = bh->total;
	vs->bh_ok = memcmp(bh->digest, s->bh, DKIM_HASH_LEN) == 0;
	buf_init_arena(&hd, v->ar);
	if (!dkim_hash_fields(&hd, s->hc, &v->msg, s->h, s->nh, v->ar))
		return false;
	if (s->hc == CANON_RELAXED) {
		const uint8_t *colon =
		    memchr(s->field_nob.p, ':', s->field_nob.len);
		size_t off = (size_t)(colon - s->field_nob.p) + 1;

		if (!canon_hdr_relaxed(&hd, SPAN_LIT("dkim-signature"),
		        span_sub(s->field_nob, off, s->field_nob.len - off),
		        true))
			return false;
	} else if (!canon_hdr_simple(&hd, s->field_nob, true)) {
		return false;
	}
	return dkim_hash_data(v->md, v->sha256, buf_span(&hd), vs->hdr_digest);
}

static void
init_result(struct vsig *vs)
{
	const struct dkim_sig *s = &vs->sig;
	size_t i, n = 0;

	vs->res.d = s->d;
	vs->res.s = s->s;
	vs->res.i = s->i;
	vs->res.alg = s->alg;
	vs->res.alg_known = s->alg_known;
	vs->res.has_l = s->has_l;
	vs->res.l = s->l;
	for (i = 0; i < s->b_raw.len && n < 8; i++) {
		uint8_t c = s->b_raw.p[i];

		if (c > ' ' && c < 0x7f)
			vs->res.bpref[n++] = (char)c;
	}
	vs->res.bpref[n] = '\0';
}

static dkim_res
collect_sigs(struct dkim_verifier *v, uint64_t now)
{
	const struct hanko_limits *lim = v->env->limits;
	size_t n = hdr_count(&v->msg, SPAN_LIT("dkim-signature")), i, k = 0;
	char err[160];
	bool nomem;

	v->skipped = n > lim->max_sigs ? n - lim->max_sigs : 0;
	n -= v->skipped;
	v->sigs = arena_alloc(v->ar, (n + 1) * sizeof(*v->sigs));
	v->results = arena_alloc(v->ar, (n + 1) * sizeof(*v->results));
	if (v->sigs == NULL || v->results == NULL)
		return DKIM_E_NOMEM;
	memset(v->sigs, 0, (n + 1) * sizeof(*v->sigs));
	for (i = 0; i < v->msg.nf && k < n; i++) {
		struct vsig *vs = &v->sigs[k];

		if (!span_ieq_cstr(v->msg.f[i].name, "dkim-signature"))
			continue;
		vs->v = v;
		v->nsigs = ++k;
		err[0] = '\0';
		if (!dkim_sig_parse(&v->msg.f[i], now, lim->max_tags, v->ar,
		        &vs->sig, &nomem, err, sizeof(err))) {
			if (nomem)
				return DKIM_E_NOMEM;
			init_result(vs);
			verdict(vs, DKIM_V_PERMERROR, err);
			continue;
		}
		init_result(vs);
	}
	return DKIM_OK;
}

/* The previous message's arena may be reset: forget, do not touch. */
static void
forget(struct dkim_verifier *v, struct dnsq *q)
{
	v->sigs = NULL;
	v->nsigs = 0;
	v->q = q;
	v->ar = dnsq_arena(q);
	dnsq_client_init(&v->cl, on_wake, v, 0);
	v->hashed = false;
	v->nbhs = 0;
	v->skipped = 0;
	v->err[0] = '\0';
	v->results = NULL;
}

dkim_res
dkim_verify_start(
    struct dkim_verifier *v, span msg, uint64_t now, struct arena *ar)
{
	struct dnsq *q = dnsq_new(v->env->dns, ar);
	struct hdr_msg m;
	hdr_res hr;

	if (q == NULL) {
		v->sigs = NULL;
		v->nsigs = 0;
		v->results = NULL;
		v->skipped = 0;
		snprintf(v->err, sizeof(v->err), "out of memory");
		return DKIM_E_NOMEM;
	}
	forget(v, q);
	v->pre = NULL; /* the body is in msg */
	hr = hdr_split(msg, v->env->limits, ar, &m, v->err, sizeof(v->err));
	if (hr != HDR_OK)
		return hr == HDR_E_NOMEM ? DKIM_E_NOMEM : DKIM_E_SYNTAX;
	return dkim_verify_start_hdr(v, &m, now, q);
}

dkim_res
dkim_verify_start_hdr(struct dkim_verifier *v, const struct hdr_msg *m,
    uint64_t now, struct dnsq *q)
{
	size_t i;
	dkim_res r;

	forget(v, q);
	v->msg = *m;
	if ((r = collect_sigs(v, now)) != DKIM_OK)
		return r;
	/* Queries first, so lookups overlap the hashing below. */
	for (i = 0; i < v->nsigs; i++)
		if (!v->sigs[i].done)
			query_key(v, &v->sigs[i]);
	for (i = 0; i < v->nsigs; i++) {
		struct vsig *vs = &v->sigs[i];

		if (vs->sig.h != NULL && !vs->done && !hash_sig(v, vs)) {
			snprintf(v->err, sizeof(v->err), "hashing failed");
			ERR_clear_error();
			verdict(vs, DKIM_V_TEMPERROR, "hashing failed");
		}
	}
	v->hashed = true;
	for (i = 0; i < v->nsigs; i++)
		if (v->sigs[i].have_key && !v->sigs[i].done)
			finish(v, &v->sigs[i]);
	return v->cl.waiting > 0 ? DKIM_PENDING : DKIM_OK;
}

void
dkim_verify_set_bodies(
    struct dkim_verifier *v, const struct dkim_bodystream *bs)
{
	v->pre = bs;
}

const char *
dkim_verdict_str(enum dkim_verdict v)
{
	switch (v) {
	case DKIM_V_NONE:
		return "none";
	case DKIM_V_PASS:
		return "pass";
	case DKIM_V_FAIL:
		return "fail";
	case DKIM_V_NEUTRAL:
		return "neutral";
	case DKIM_V_POLICY:
		return "policy";
	case DKIM_V_TEMPERROR:
		return "temperror";
	case DKIM_V_PERMERROR:
		return "permerror";
	}
	return "unknown";
}
