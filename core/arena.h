/*
 * NAME
 *	arena.h - per-message bump allocator over an injected allocator
 * DESCRIPTION
 *	core/ never calls malloc. Setup-time memory comes from a struct
 *	hanko_alloc handed in by tools/ (mimalloc) or tests (a failing fake);
 *	per-message memory comes from an arena built on it. arena_reset()
 *	frees a message's allocations at once and keeps the first block for
 *	the next message, so a worker's steady state allocates nothing.
 * LIMITS
 *	An arena never hands out more than its limit in total; past it,
 *	arena_alloc() returns NULL and callers report *_E_NOMEM.
 */
#ifndef HANKO_CORE_ARENA_H
#define HANKO_CORE_ARENA_H

#include <stddef.h>

struct hanko_alloc {
	void *ctx;
	void *(*alloc)(void *ctx, size_t len);
	void (*free)(void *ctx, void *p);
};

struct arena_block;

/* Worker lifetime; the caller owns the struct, the arena its blocks. */
struct arena {
	const struct hanko_alloc *a;
	struct arena_block *head; /* newest block first */
	size_t block_size;        /* default size of a new block */
	size_t limit;             /* cap on bytes handed out */
	size_t used;              /* bytes handed out since reset */
};

void arena_init(struct arena *ar, const struct hanko_alloc *a,
    size_t block_size, size_t limit);
/* 16-byte aligned memory, or NULL when the limit or allocator says no. */
void *arena_alloc(struct arena *ar, size_t len);
/* Copy bytes into the arena; NULL on exhaustion. */
void *arena_dup(struct arena *ar, const void *p, size_t len);
/* Free all but the first block; every pointer from the arena dies. */
void arena_reset(struct arena *ar);
void arena_fini(struct arena *ar);

#endif
