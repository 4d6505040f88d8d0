#include "arena.h"

#include <stdint.h>
#include <string.h>

struct arena_block {
	struct arena_block *next;
	size_t cap;
	size_t len;
	/* data follows, 16-byte aligned */
};

#define HDR_SIZE ((sizeof(struct arena_block) + 15) & ~(size_t)15)

static uint8_t *
block_data(struct arena_block *b)
{
	return (uint8_t *)b + HDR_SIZE;
}

void
arena_init(struct arena *ar, const struct hanko_alloc *a, size_t block_size,
    size_t limit)
{
	ar->a = a;
	ar->head = NULL;
	ar->block_size = block_size < 1024 ? 1024 : block_size;
	ar->limit = limit;
	ar->used = 0;
}

static struct arena_block *
block_new(struct arena *ar, size_t need)
{
	struct arena_block *b;
	size_t cap = need > ar->block_size ? need : ar->block_size;

	if (cap > SIZE_MAX - HDR_SIZE)
		return NULL;
	if ((b = ar->a->alloc(ar->a->ctx, HDR_SIZE + cap)) == NULL)
		return NULL;
	b->cap = cap;
	b->len = 0;
	b->next = ar->head;
	ar->head = b;
	return b;
}

void *
arena_alloc(struct arena *ar, size_t len)
{
	struct arena_block *b = ar->head;
	size_t rounded;
	void *p;

	if (len > SIZE_MAX - 15)
		return NULL;
	rounded = (len + 15) & ~(size_t)15;
	if (rounded == 0)
		rounded = 16;
	if (rounded > ar->limit - ar->used)
		return NULL;
	if (b == NULL || rounded > b->cap - b->len) {
		if ((b = block_new(ar, rounded)) == NULL)
			return NULL;
	}
	p = block_data(b) + b->len;
	b->len += rounded;
	ar->used += rounded;
	return p;
}

void *
arena_dup(struct arena *ar, const void *p, size_t len)
{
	void *d;

	if ((d = arena_alloc(ar, len)) != NULL && len > 0)
		memcpy(d, p, len);
	return d;
}

void
arena_reset(struct arena *ar)
{
	struct arena_block *b = ar->head, *next;

	if (b == NULL)
		return;
	/* Keep the oldest block: it is the steady-state working set. */
	while (b->next != NULL) {
		next = b->next;
		ar->a->free(ar->a->ctx, b);
		b = next;
	}
	if (b->cap > ar->block_size) {
		ar->a->free(ar->a->ctx, b);
		b = NULL;
	} else {
		b->len = 0;
	}
	ar->head = b;
	ar->used = 0;
}

void
arena_fini(struct arena *ar)
{
	struct arena_block *b = ar->head, *next;

	while (b != NULL) {
		next = b->next;
		ar->a->free(ar->a->ctx, b);
		b = next;
	}
	ar->head = NULL;
	ar->used = 0;
}
