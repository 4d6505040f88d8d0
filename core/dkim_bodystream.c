/*
 * Body hashes as the body streams in (dkim_bodystream.h): the same
 * canonicalizer and the same signature selection as dkim_verify.c, fed
 * chunk by chunk.
 */
#include "dkim_bodystream.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "arena.h"
#include "dkim_sig.h"
#include "env.h"
#include "hdr.h"

struct bs_hasher {
	enum canon_alg alg;
	uint64_t limit;
	EVP_MD_CTX *md;
	struct canon_body cb;
	uint8_t digest[DKIM_HASH_LEN];
};

struct dkim_bodystream {
	EVP_MD *sha256;
	struct bs_hasher *h;
	size_t nh;
	bool ok, done;
};

/* The hasher for (alg, limit), or NULL. */
static struct bs_hasher *
hasher_for(struct dkim_bodystream *bs, enum canon_alg alg, uint64_t limit)
{
	size_t i;

	for (i = 0; i < bs->nh; i++)
		if (bs->h[i].alg == alg && bs->h[i].limit == limit)
			return &bs->h[i];
	return NULL;
}

static bool
add_hasher(struct dkim_bodystream *bs, const struct core_env *env,
    enum canon_alg alg, uint64_t limit)
{
	struct bs_hasher *h;

	if (hasher_for(bs, alg, limit) != NULL)
		return true;
	h = &bs->h[bs->nh];
	memset(h, 0, sizeof(*h));
	h->alg = alg;
	h->limit = limit;
	if ((h->md = EVP_MD_CTX_new()) == NULL)
		return false;
	bs->nh++;
	if (EVP_DigestInit_ex2(h->md, bs->sha256, NULL) != 1)
		return false;
	canon_body_init(&h->cb, alg, env->scan, h->md, limit);
	return true;
}

dkim_res
dkim_bodystream_new(const struct core_env *env, const struct hdr_msg *m,
    uint64_t now, struct arena *ar, struct dkim_bodystream **out)
{
	const struct hanko_limits *lim = env->limits;
	struct dkim_bodystream *bs = arena_alloc(ar, sizeof(*bs));
	size_t i, k = 0;

	if (bs == NULL ||
	    (bs->h = arena_alloc(ar, (lim->max_sigs + 1) * sizeof(*bs->h))) ==
	        NULL)
		return DKIM_E_NOMEM;
	bs->nh = 0;
	bs->ok = true;
	bs->done = false;
	if ((bs->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		goto crypto;
	/* The signatures dkim_verify.c collect_sigs() examines. */
	for (i = 0; i < m->nf && k < lim->max_sigs; i++) {
		struct dkim_sig sig;
		char err[160];
		bool nomem = false;

		if (!span_ieq_cstr(m->f[i].name, "dkim-signature"))
			continue;
		k++;
		if (!dkim_sig_parse(&m->f[i], now, lim->max_tags, ar, &sig,
		        &nomem, err, sizeof(err))) {
			if (nomem) {
				dkim_bodystream_free(bs);
				return DKIM_E_NOMEM;
			}
			continue;
		}
		if (!add_hasher(
		        bs, env, sig.bc, sig.has_l ? sig.l : CANON_NO_LIMIT))
			goto crypto;
	}
	*out = bs;
	return DKIM_OK;
crypto:
	dkim_bodystream_free(bs);
	ERR_clear_error();
	return DKIM_E_CRYPTO;
}

bool
dkim_bodystream_feed(struct dkim_bodystream *bs, span chunk)
{
	size_t i;

	for (i = 0; bs->ok && !bs->done && i < bs->nh; i++)
		bs->ok = canon_body_feed(&bs->h[i].cb, chunk);
	return bs->ok && !bs->done;
}

bool
dkim_bodystream_finish(struct dkim_bodystream *bs)
{
	size_t i;
	unsigned n;

	if (bs->done)
		return bs->ok;
	for (i = 0; bs->ok && i < bs->nh; i++) {
		n = 0;
		bs->ok = canon_body_finish(&bs->h[i].cb) &&
		    EVP_DigestFinal_ex(bs->h[i].md, bs->h[i].digest, &n) == 1 &&
		    n == DKIM_HASH_LEN;
	}
	if (!bs->ok)
		ERR_clear_error();
	bs->done = true;
	return bs->ok;
}

bool
dkim_bodystream_get(const struct dkim_bodystream *bs, enum canon_alg alg,
    uint64_t limit, uint8_t digest[DKIM_HASH_LEN], uint64_t *total)
{
	size_t i;

	if (!bs->done || !bs->ok)
		return false;
	for (i = 0; i < bs->nh; i++) {
		if (bs->h[i].alg == alg && bs->h[i].limit == limit) {
			memcpy(digest, bs->h[i].digest, DKIM_HASH_LEN);
			*total = bs->h[i].cb.total;
			return true;
		}
	}
	return false;
}

size_t
dkim_bodystream_count(const struct dkim_bodystream *bs)
{
	return bs->nh;
}

void
dkim_bodystream_free(struct dkim_bodystream *bs)
{
	size_t i;

	if (bs == NULL)
		return;
	for (i = 0; i < bs->nh; i++)
		EVP_MD_CTX_free(bs->h[i].md);
	bs->nh = 0;
	EVP_MD_free(bs->sha256);
	bs->sha256 = NULL;
}
