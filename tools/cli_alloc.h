/*
 * NAME
 *	cli_alloc.h - the allocator tools/ hands to core/
 * DESCRIPTION
 *	Release builds link alloc_mimalloc.c; sanitizer builds link
 *	alloc_libc.c so ASan sees every heap block (the Makefile chooses).
 */
#ifndef HANKO_TOOLS_CLI_ALLOC_H
#define HANKO_TOOLS_CLI_ALLOC_H

#include "core/arena.h"

const struct hanko_alloc *cli_alloc(void);
const char *cli_alloc_name(void);

#endif
