/*
 * NAME
 *	fake_alloc.h - a malloc-backed struct hanko_alloc that fails on demand
 * DESCRIPTION
 *	Tests hand fake_alloc (or a pointer from fake_alloc_get()) to core/
 *	wherever a struct hanko_alloc is wanted. fake_alloc_fail_after(n)
 *	lets the next n allocations succeed and makes every later one return
 *	NULL, so each *_E_NOMEM path can be driven; fake_alloc_live() counts
 *	blocks not yet freed, for leak checks. The state is process-wide
 *	(tests are single-threaded), and fake_alloc_reset() clears the
 *	failure setting and the counters without touching live blocks.
 */
#ifndef HANKO_TESTS_FAKE_ALLOC_H
#define HANKO_TESTS_FAKE_ALLOC_H

#include <stddef.h>

struct hanko_alloc;

/* The allocator; its ctx is unused. */
const struct hanko_alloc *fake_alloc_get(void);
/* Let n more allocations succeed, then fail every one after them. */
void fake_alloc_fail_after(size_t n);
/* Never fail again; zero the allocation and failure counts. */
void fake_alloc_reset(void);
/* Blocks allocated and not yet freed. */
size_t fake_alloc_live(void);
/* Successful and refused allocations since the last reset. */
size_t fake_alloc_count(void);
size_t fake_alloc_failed(void);

#endif
