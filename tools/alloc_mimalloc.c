/* The release allocator: mimalloc (one heap per worker from issue 3 on). */
#include "cli_alloc.h"

#include <mimalloc.h>

static void *
mi_alloc(void *ctx, size_t len)
{
	(void)ctx;
	return mi_malloc(len);
}

static void
mi_release(void *ctx, void *p)
{
	(void)ctx;
	mi_free(p);
}

static const struct hanko_alloc mi_allocator = { NULL, mi_alloc, mi_release };

const struct hanko_alloc *
cli_alloc(void)
{
	return &mi_allocator;
}

const char *
cli_alloc_name(void)
{
	return "mimalloc";
}
