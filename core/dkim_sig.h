/*
 * NAME
 *	dkim_sig.h - parse and check one DKIM-Signature field (RFC 6376 §3.5)
 * DESCRIPTION
 *	dkim_sig_parse() checks every tag of §3.5 as §6.1.1 requires and
 *	fills a struct dkim_sig whose spans point into the field. When the
 *	signature is unacceptable it returns false with the reason in err;
 *	the caller reports permerror.
 */
#ifndef HANKO_CORE_DKIM_SIG_H
#define HANKO_CORE_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canon.h"
#include "dkim.h"
#include "span.h"

struct arena;
struct hdr_field;

/* Message lifetime. */
struct dkim_sig {
	enum dkim_alg alg;
	bool alg_known;
	enum canon_alg hc, bc;
	span d, s, i;
	span b_raw; /* b= value as written */
	uint8_t *b; /* decoded signature */
	size_t blen;
	uint8_t bh[32];
	span *h; /* h= names */
	size_t nh;
	bool has_l, has_t, has_x;
	uint64_t l, t, x;
	span field_nob; /* the field with b='s value deleted */
};

/*
 * Parse f. d, s and alg are set as early as they are known so even a
 * rejected signature can be reported with them. Returns false with err
 * set for a signature that must be treated as permerror, or when ar is
 * exhausted (*nomem then true).
 */
bool dkim_sig_parse(const struct hdr_field *f, uint64_t now, size_t max_tags,
    struct arena *ar, struct dkim_sig *sig, bool *nomem, char *err,
    size_t errlen);
/* Is name a valid domain or selector (dot-separated LDH/_ labels)? */
bool dkim_sig_name_ok(span name);
/* Is the domain of identity i equal to d or a subdomain of it? */
bool dkim_sig_i_in_d(span i_domain, span d);

#endif
