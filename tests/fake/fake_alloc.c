/*
 * A failing allocator for tests. New memory is filled with 0xa5 so a
 * read of memory core/ never wrote shows up as garbage, not as a lucky
 * zero (Postfix's mymalloc does the same).
 */
#include "fake_alloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

struct fake_state {
	bool failing;
	size_t left; /* allocations still allowed when failing */
	size_t live;
	size_t count;
	size_t failed;
};

static struct fake_state fake_st;

static void *
fake_alloc_fn(void *ctx, size_t len)
{
	void *p;

	(void)ctx;
	if (fake_st.failing) {
		if (fake_st.left == 0) {
			fake_st.failed++;
			return NULL;
		}
		fake_st.left--;
	}
	if ((p = malloc(len == 0 ? 1 : len)) == NULL) {
		fake_st.failed++;
		return NULL;
	}
	memset(p, 0xa5, len);
	fake_st.live++;
	fake_st.count++;
	return p;
}

static void
fake_free_fn(void *ctx, void *p)
{
	(void)ctx;
	if (p == NULL)
		return;
	fake_st.live--;
	free(p);
}

static const struct hanko_alloc fake_alloc_ops = {
	NULL,
	fake_alloc_fn,
	fake_free_fn,
};

const struct hanko_alloc *
fake_alloc_get(void)
{
	return &fake_alloc_ops;
}

void
fake_alloc_fail_after(size_t n)
{
	fake_st.failing = true;
	fake_st.left = n;
}

void
fake_alloc_reset(void)
{
	fake_st.failing = false;
	fake_st.left = 0;
	fake_st.count = 0;
	fake_st.failed = 0;
}

size_t
fake_alloc_live(void)
{
	return fake_st.live;
}

size_t
fake_alloc_count(void)
{
	return fake_st.count;
}

size_t
fake_alloc_failed(void)
{
	return fake_st.failed;
}
