#include "dkim_hash.h"

#include <string.h>

#include "arena.h"
#include "hdr.h"

bool
dkim_hash_fields(struct buf *out, enum canon_alg alg, const struct hdr_msg *m,
    const span *names, size_t nnames, struct arena *ar)
{
	bool *used;
	size_t i, j;

	if (m->nf == 0)
		return true;
	if ((used = arena_alloc(ar, m->nf * sizeof(*used))) == NULL)
		return false;
	memset(used, 0, m->nf * sizeof(*used));
	for (i = 0; i < nnames; i++) {
		const struct hdr_field *f = NULL;

		for (j = m->nf; j-- > 0;) {
			if (!used[j] &&
			    span_ieq_ascii(m->f[j].name, names[i])) {
				used[j] = true;
				f = &m->f[j];
				break;
			}
		}
		if (f == NULL)
			continue;
		if (alg == CANON_RELAXED
		        ? !canon_hdr_relaxed(out, f->name, f->value, false)
		        : !canon_hdr_simple(out, f->raw, false))
			return false;
	}
	return true;
}

bool
dkim_hash_body(EVP_MD_CTX *md, const EVP_MD *sha256,
    const struct scan_ops *scan, enum canon_alg alg, uint64_t limit, span body,
    uint8_t out[DKIM_HASH_LEN], uint64_t *total)
{
	struct canon_body cb;
	unsigned n = 0;

	if (EVP_DigestInit_ex2(md, sha256, NULL) != 1)
		return false;
	canon_body_init(&cb, alg, scan, md, limit);
	if (!canon_body_feed(&cb, body) || !canon_body_finish(&cb))
		return false;
	if (EVP_DigestFinal_ex(md, out, &n) != 1 || n != DKIM_HASH_LEN)
		return false;
	*total = cb.total;
	return true;
}

bool
dkim_hash_data(
    EVP_MD_CTX *md, const EVP_MD *sha256, span data, uint8_t out[DKIM_HASH_LEN])
{
	unsigned n = 0;

	return EVP_DigestInit_ex2(md, sha256, NULL) == 1 &&
	    EVP_DigestUpdate(md, data.p, data.len) == 1 &&
	    EVP_DigestFinal_ex(md, out, &n) == 1 && n == DKIM_HASH_LEN;
}
