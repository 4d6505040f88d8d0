#include "dkim_bodycache.h"

#include <string.h>

#include "arena.h"

#define CAP_MIN ((size_t)4096)

void
dkim_bodycache_init(
    struct dkim_bodycache *bc, const struct hanko_alloc *a, size_t budget)
{
	memset(bc, 0, sizeof(*bc));
	bc->a = a;
	bc->entry_max = budget / DKIM_BODYCACHE_N;
}

void
dkim_bodycache_fini(struct dkim_bodycache *bc)
{
	size_t i;

	for (i = 0; i < DKIM_BODYCACHE_N; i++)
		if (bc->e[i].p != NULL)
			bc->a->free(bc->a->ctx, bc->e[i].p);
	memset(bc->e, 0, sizeof(bc->e));
}

static struct dkim_bodycache_entry *
find(struct dkim_bodycache *bc, span body)
{
	size_t i;

	for (i = 0; i < DKIM_BODYCACHE_N; i++) {
		struct dkim_bodycache_entry *e = &bc->e[i];

		/* The length first: most different bodies stop there. */
		if (e->used && e->len == body.len &&
		    (body.len == 0 || memcmp(e->p, body.p, body.len) == 0))
			return e;
	}
	return NULL;
}

const uint8_t *
dkim_bodycache_get(struct dkim_bodycache *bc, span body, enum canon_alg alg)
{
	struct dkim_bodycache_entry *e;

	if (bc->entry_max == 0 || (e = find(bc, body)) == NULL || !e->have[alg])
		return NULL;
	if (e->hits < UINT32_MAX)
		e->hits++;
	bc->reused++;
	return e->bh[alg];
}

/* The entry a new body takes: a free one, else the fewest hits. */
static struct dkim_bodycache_entry *
victim(struct dkim_bodycache *bc)
{
	struct dkim_bodycache_entry *v = &bc->e[0];
	size_t i;

	for (i = 0; i < DKIM_BODYCACHE_N; i++) {
		if (!bc->e[i].used)
			return &bc->e[i];
		if (bc->e[i].hits < v->hits)
			v = &bc->e[i];
	}
	for (i = 0; i < DKIM_BODYCACHE_N; i++)
		bc->e[i].hits /= 2;
	return v;
}

/* Room for len bytes; capacities double, so growing is rare. */
static bool
reserve(struct dkim_bodycache *bc, struct dkim_bodycache_entry *e, size_t len)
{
	size_t cap = e->cap > 0
	    ? e->cap
	    : (CAP_MIN < bc->entry_max ? CAP_MIN : bc->entry_max);

	if (len <= e->cap)
		return true;
	while (cap < len)
		cap = cap > bc->entry_max / 2 ? bc->entry_max : cap * 2;
	if (e->p != NULL)
		bc->a->free(bc->a->ctx, e->p);
	e->cap = 0;
	if ((e->p = bc->a->alloc(bc->a->ctx, cap)) == NULL)
		return false;
	e->cap = cap;
	return true;
}

void
dkim_bodycache_put(struct dkim_bodycache *bc, span body, enum canon_alg alg,
    const uint8_t bh[DKIM_BODYCACHE_LEN])
{
	struct dkim_bodycache_entry *e;

	if (body.len > bc->entry_max)
		return;
	if ((e = find(bc, body)) == NULL) {
		e = victim(bc);
		e->used = false;
		e->have[0] = e->have[1] = false;
		e->hits = 0;
		if (!reserve(bc, e, body.len))
			return;
		if (body.len > 0)
			memcpy(e->p, body.p, body.len);
		e->len = body.len;
		e->used = true;
	}
	memcpy(e->bh[alg], bh, DKIM_BODYCACHE_LEN);
	e->have[alg] = true;
}
