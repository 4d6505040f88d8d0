/*
 * NAME
 *	env.h - everything core/ takes from outside, in one struct
 * DESCRIPTION
 *	tools/ fills a struct core_env once (allocator, DNS, scanner table,
 *	limits) and hands it to each context it creates. core/ keeps a
 *	pointer, so the env must outlive every context made with it.
 */
#ifndef HANKO_CORE_ENV_H
#define HANKO_CORE_ENV_H

#include <stddef.h>

struct hanko_alloc;
struct dns_ops;
struct scan_ops;

/* Safety limits; exceeding one is a reported error, never a crash. */
struct hanko_limits {
	size_t max_msg_bytes;     /* whole message */
	size_t max_header_fields; /* fields in the header section */
	size_t max_field_bytes;   /* one header field, folded */
	size_t max_sigs;          /* DKIM signatures verified per message */
	size_t max_tags;          /* tags in one tag=value list */
	size_t max_arena_bytes;   /* memory for one message */
	size_t body_cache_bytes;  /* per signer, for repeated bodies; 0: off */
};

struct core_env {
	const struct hanko_alloc *alloc;
	const struct dns_ops *dns; /* NULL: no lookups (sign only) */
	const struct scan_ops *scan;
	const struct hanko_limits *limits;
};

/* The defaults documented in the README and the man page. */
void hanko_limits_default(struct hanko_limits *l);

#endif
