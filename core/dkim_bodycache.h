/*
 * NAME
 *	dkim_bodycache.h - reuse a body hash across messages whose raw
 *	bodies are byte-identical (one newsletter, personalised headers)
 * SYNOPSIS
 *	dkim_bodycache_init(&bc, alloc, budget);	once per worker
 *	bh = dkim_bodycache_get(&bc, body, alg);	NULL: compute it, then
 *	dkim_bodycache_put(&bc, body, alg, bh);
 *	dkim_bodycache_fini(&bc);
 * DESCRIPTION
 *	A few entries, each a copy of a raw body and the body hashes computed
 *	from it (one per body canonicalization). A hash is reused only after
 *	the new body compared equal to the kept copy, byte for byte: the
 *	canonical body hash is a function of the raw body bytes and the
 *	canonicalization alone (no l= is ever signed), so equal bytes give an
 *	equal hash and nothing is assumed. A digest as the key would cost as
 *	much as the SHA-256 it saves, and a cheaper one would stake the
 *	signature on a collision; memcmp is exact and runs at memory speed,
 *	stopping at the first differing byte.
 *
 *	Which entry a new body replaces: the one with the fewest hits, all
 *	counts halved at each replacement, so a campaign's body survives the
 *	one-off bodies between its messages and a finished campaign's body
 *	ages out.
 * OWNERSHIP
 *	Worker lifetime, one per signer, never shared. Copies come from the
 *	allocator given at init; memory is bounded by budget bytes (bodies
 *	over budget / DKIM_BODYCACHE_N are never kept). budget 0 turns the
 *	cache off.
 */
#ifndef HANKO_CORE_DKIM_BODYCACHE_H
#define HANKO_CORE_DKIM_BODYCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canon.h"
#include "span.h"

#define DKIM_BODYCACHE_N   4
#define DKIM_BODYCACHE_LEN 32 /* SHA-256 */

struct hanko_alloc;

struct dkim_bodycache_entry {
	uint8_t *p; /* the raw body, len bytes of cap */
	size_t len, cap;
	uint8_t bh[2][DKIM_BODYCACHE_LEN]; /* by enum canon_alg */
	bool have[2];
	bool used;
	uint32_t hits;
};

struct dkim_bodycache {
	const struct hanko_alloc *a;
	size_t entry_max; /* largest body kept */
	struct dkim_bodycache_entry e[DKIM_BODYCACHE_N];
	uint64_t reused; /* hashes answered from a kept copy */
};

void dkim_bodycache_init(
    struct dkim_bodycache *bc, const struct hanko_alloc *a, size_t budget);
void dkim_bodycache_fini(struct dkim_bodycache *bc);
/*
 * The hash of body under alg when a kept copy equals body byte for byte
 * and that hash was put before; else NULL. The pointer is valid until
 * the next put.
 */
const uint8_t *dkim_bodycache_get(
    struct dkim_bodycache *bc, span body, enum canon_alg alg);
/*
 * Remember bh as the hash of body under alg, keeping a copy of body when
 * none is kept yet. Nothing is kept when body is over the size limit or
 * memory is short: the cache is an optimisation, never a failure.
 */
void dkim_bodycache_put(struct dkim_bodycache *bc, span body,
    enum canon_alg alg, const uint8_t bh[DKIM_BODYCACHE_LEN]);

#endif
