/*
 * NAME
 *	dkim_bodystream.h - the body hashes a message's DKIM signatures
 *	need, computed as the body streams in
 * SYNOPSIS
 *	dkim_bodystream_new(env, &hdr, now, arena, &bs);	header split
 *	dkim_bodystream_feed(bs, chunk); ...			split anywhere
 *	dkim_bodystream_finish(bs);
 *	dkim_verify_set_bodies(v, bs);  then verify the header alone
 *	dkim_bodystream_free(bs);
 * DESCRIPTION
 *	For a front end that sees the body in pieces (a milter): from the
 *	header section it reads the DKIM-Signature fields the verifier will
 *	examine (the first max_sigs, parsed as of now, as the verifier
 *	does) and keeps one streaming canonicalizer and SHA-256 per distinct
 *	(body canonicalization, l=) among them, so no body byte is kept.
 *	The verifier given the finished stream takes each signature's body
 *	hash and canonical length from it instead of hashing a body.
 * LIMITS
 *	At most max_sigs hashers (one per signature at worst).
 * OWNERSHIP
 *	Message lifetime: the struct lives in the arena, its digest
 *	contexts on the heap until dkim_bodystream_free (NULL is a no-op),
 *	which must come before the arena is reset.
 */
#ifndef HANKO_CORE_DKIM_BODYSTREAM_H
#define HANKO_CORE_DKIM_BODYSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "canon.h"
#include "dkim.h"
#include "dkim_hash.h"
#include "hanko.h"
#include "span.h"

struct arena;
struct core_env;
struct dkim_bodystream;
struct hdr_msg;

HANKO_NODISCARD dkim_res dkim_bodystream_new(const struct core_env *env,
    const struct hdr_msg *m, uint64_t now, struct arena *ar,
    struct dkim_bodystream **out);
/* Feed one body chunk; false when hashing failed. */
bool dkim_bodystream_feed(struct dkim_bodystream *bs, span chunk);
/* End of the body; false when hashing failed. */
bool dkim_bodystream_finish(struct dkim_bodystream *bs);
/*
 * The digest and full canonical length for (alg, limit), once finished;
 * false when the stream has none (or is not finished).
 */
bool dkim_bodystream_get(const struct dkim_bodystream *bs, enum canon_alg alg,
    uint64_t limit, uint8_t digest[DKIM_HASH_LEN], uint64_t *total);
/* How many distinct hashers the header asked for. */
size_t dkim_bodystream_count(const struct dkim_bodystream *bs);
void dkim_bodystream_free(struct dkim_bodystream *bs);

#endif
