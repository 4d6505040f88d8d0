/*
 * NAME
 *	canon.h - RFC 6376 §3.4 canonicalization, headers and body
 * DESCRIPTION
 *	One canonicalizer serves sign, verify and dmarc.
 *
 *	Header fields (canon_hdr_*) are small: each is canonicalized into a
 *	buf, and the block is hashed with one digest update.
 *
 *	The body (canon_body_*) streams: feed it chunks split anywhere and the
 *	hash is the same as for the whole body at once. It scans with the
 *	env's scan_ops (SIMD where the CPU has it) and hands the hash long runs
 *	of the original bytes where the canonical form equals the input (CRLF
 *	text, single spaces), so typical mail is hashed in place with few
 *	digest updates; synthesized bytes (CRLF for a bare LF, one SP for a
 *	WSP run) go through a small staging buffer. Bare LF is read as CRLF
 *	(RFC 6376 §5.3). l= is honoured by limit.
 */
#ifndef HANKO_CORE_CANON_H
#define HANKO_CORE_CANON_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "span.h"

struct scan_ops;

enum canon_alg {
	CANON_SIMPLE = 0,
	CANON_RELAXED,
};

#define CANON_STAGE_CAP 4096
#define CANON_NO_LIMIT  UINT64_MAX

/* Message lifetime, caller-allocated; holds no heap resources. */
struct canon_body {
	const struct scan_ops *scan;
	EVP_MD_CTX *md; /* borrowed, already initialised */
	enum canon_alg alg;
	bool ok;           /* false once a digest update failed */
	bool any;          /* some content has been emitted */
	bool pend_cr;      /* chunk ended in CR: LF may follow */
	bool pend_wsp;     /* relaxed: a WSP run awaits content */
	size_t pend_eol;   /* deferred line endings */
	span pend_eol_src; /* their source bytes if contiguous CRLFs */
	span pend_wsp_src; /* the source SP when the run was one SP */
	span run;          /* source bytes awaiting the hash */
	uint64_t limit;    /* l=, or CANON_NO_LIMIT */
	uint64_t total;    /* canonical length, unlimited */
	uint64_t hashed;   /* bytes fed to the digest */
	size_t nstage;
	uint8_t stage[CANON_STAGE_CAP];
};

void canon_body_init(struct canon_body *cb, enum canon_alg alg,
    const struct scan_ops *scan, EVP_MD_CTX *md, uint64_t limit);
/* Feed a chunk; false if a digest update failed. */
bool canon_body_feed(struct canon_body *cb, span chunk);
/* Flush; afterwards cb->total is the canonical body length. */
bool canon_body_finish(struct canon_body *cb);

/*
 * Append one canonicalized header field (with its CRLF unless last is
 * true: the signature field being signed or verified has none).
 */
bool canon_hdr_relaxed(struct buf *out, span name, span value, bool last);
bool canon_hdr_simple(struct buf *out, span raw, bool last);
const char *canon_alg_str(enum canon_alg a);

#endif
