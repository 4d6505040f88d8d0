/* The allocator for sanitizer and valgrind builds: plain libc. */
#include "cli_alloc.h"

#include <stdlib.h>

static void *
libc_alloc(void *ctx, size_t len)
{
	(void)ctx;
	return malloc(len);
}

static void
libc_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static const struct hanko_alloc libc_allocator = { NULL, libc_alloc,
	libc_free };

const struct hanko_alloc *
cli_alloc(void)
{
	return &libc_allocator;
}

const char *
cli_alloc_name(void)
{
	return "libc";
}
