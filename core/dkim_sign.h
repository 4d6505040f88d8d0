/*
 * NAME
 *	dkim_sign.h - DKIM signing (RFC 6376 §5, RFC 8463, RFC 8301)
 * SYNOPSIS
 *	dkim_signer_new(env, &s);			once per worker
 *	dkim_sign_parse(s, msg, arena, &from);		per message
 *	dkim_sign_emit(s, confs, n, now, &out);		the fields to prepend
 *   or, as the message streams in (a milter):
 *	dkim_sign_begin(s, header, arena, &from);	the header section
 *	dkim_sign_body(s, chunk); ...			body, split anywhere
 *	dkim_sign_body_end(s); dkim_sign_emit(...);
 * DESCRIPTION
 *	A dkim_sign_conf (process lifetime, shared read-only) names a domain,
 *	selector and key and the header set. Defaults are the safe choice for
 *	bulk mail: relaxed/relaxed, RFC 6376 §5.4.1's list plus Content-Type
 *	and the RFC 8058 List-Unsubscribe pair, the fields a replay would
 *	change oversigned, t= always, no l= ever.
 *
 *	dkim_sign_parse() refuses a message with no From field or several
 *	(DKIM_E_FROM) and returns the From addr-spec so the caller can pick
 *	keys. dkim_sign_emit() appends one DKIM-Signature field per conf, in
 *	order, with the message's own line endings; the body hash is computed
 *	once per body canonicalization and shared, and reused for a later
 *	message whose raw body is byte-identical (dkim_bodycache.h; limits
 *	body_cache_bytes bounds the copies kept).
 */
#ifndef HANKO_CORE_DKIM_SIGN_H
#define HANKO_CORE_DKIM_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "canon.h"
#include "dkim.h"
#include "hanko.h"
#include "span.h"

struct arena;
struct core_env;
struct dkim_privkey;
struct dkim_signer;
struct psl_ctx_st;

/* Process lifetime; immutable while workers run. */
struct dkim_sign_conf {
	span domain;   /* d= */
	span selector; /* s= */
	span identity; /* i=, len 0 for none */
	const struct dkim_privkey *key;
	enum canon_alg hdr_canon;
	enum canon_alg body_canon;
	const span *headers; /* names to sign, in h= order */
	size_t nheaders;
	const span *oversign; /* names signed once more than present */
	size_t noversign;
	uint64_t expire; /* x= = t= + expire; 0 for no x= */
};

/* Fill c with the defaults; the caller sets domain, selector and key. */
void dkim_sign_conf_default(struct dkim_sign_conf *c);

HANKO_NODISCARD dkim_res dkim_signer_new(
    const struct core_env *env, struct dkim_signer **out);
void dkim_signer_free(struct dkim_signer *s);
/* Parse msg (borrowed until the next parse); *from is the From addr-spec. */
HANKO_NODISCARD dkim_res dkim_sign_parse(
    struct dkim_signer *s, span msg, struct arena *ar, span *from);
HANKO_NODISCARD dkim_res dkim_sign_emit(struct dkim_signer *s,
    const struct dkim_sign_conf *confs, size_t n, uint64_t now,
    struct buf *out);
/*
 * Streaming form of dkim_sign_parse for a message whose body arrives in
 * chunks: header is the header section with the empty line ending it
 * (borrowed until the next message), then every body byte through
 * dkim_sign_body in chunks split anywhere, then dkim_sign_body_end; both
 * body canonicalizations are hashed as the chunks come (no copy kept,
 * no body cache), so dkim_sign_emit gives the same fields as for the
 * whole message. DKIM_E_ARG for a call out of this order.
 */
HANKO_NODISCARD dkim_res dkim_sign_begin(
    struct dkim_signer *s, span header, struct arena *ar, span *from);
HANKO_NODISCARD dkim_res dkim_sign_body(struct dkim_signer *s, span chunk);
HANKO_NODISCARD dkim_res dkim_sign_body_end(struct dkim_signer *s);
/*
 * Is the d= of some conf relaxed-aligned with the domain of from (the
 * From addr-spec dkim_sign_parse returned), as DMARC will judge it?
 * Decided without DNS by the Public Suffix List (dmarc.h
 * dmarc_psl_aligned; psl may be NULL).
 */
bool dkim_sign_aligned(const struct dkim_sign_conf *confs, size_t n, span from,
    const struct psl_ctx_st *psl);
/* Body hashes taken from a byte-identical earlier body (dkim_bodycache.h). */
uint64_t dkim_signer_bodies_reused(const struct dkim_signer *s);
/* Line-ending style of the parsed message. */
bool dkim_sign_msg_is_crlf(const struct dkim_signer *s);
/* The reason for the last error, for the user. */
const char *dkim_signer_err(const struct dkim_signer *s);

#endif
