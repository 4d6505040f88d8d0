/*
 * NAME
 *	dkim_tags.h - RFC 6376 §3.2 tag=value lists
 * DESCRIPTION
 *	Parses DKIM-Signature values and key records into name/value spans
 *	that point into the input (which must outlive the list). Values are
 *	trimmed of surrounding FWS; FWS inside a value is kept (h=, b= and
 *	p= strip it themselves). A duplicate tag is a syntax error (§3.2).
 * LIMITS
 *	At most max_tags tags; more returns DKIM_TAGS_E_LIMIT.
 */
#ifndef HANKO_CORE_DKIM_TAGS_H
#define HANKO_CORE_DKIM_TAGS_H

#include <stddef.h>

#include "hanko.h"
#include "span.h"

struct arena;

struct dkim_tag {
	span name;
	span value;
};

/* Message lifetime (arena). */
struct dkim_tags {
	struct dkim_tag *t;
	size_t n;
};

typedef enum dkim_tags_res {
	DKIM_TAGS_OK = 0,
	DKIM_TAGS_E_SYNTAX,
	DKIM_TAGS_E_DUP,
	DKIM_TAGS_E_LIMIT,
	DKIM_TAGS_E_NOMEM,
} dkim_tags_res;

/*
 * Parse in into out, allocating from ar. On failure err (160 bytes)
 * says what and where.
 */
HANKO_NODISCARD dkim_tags_res dkim_tags_parse(span in, size_t max_tags,
    struct arena *ar, struct dkim_tags *out, char *err, size_t errlen);
/* The value of tag name, or NULL when absent. */
const span *dkim_tags_get(const struct dkim_tags *tl, const char *name);
const char *dkim_tags_res_str(dkim_tags_res r);

#endif
