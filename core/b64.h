/*
 * NAME
 *	b64.h - base64 as DKIM uses it (RFC 6376 §2.4)
 * DESCRIPTION
 *	b64_decode skips folding white space (SP, HTAB, CR, LF) anywhere in
 *	the input, as b=, bh= and p= values may be folded, and rejects any
 *	other byte outside the alphabet, misplaced padding and stray bits.
 *	b64_encode writes unfolded base64 with padding.
 */
#ifndef HANKO_CORE_B64_H
#define HANKO_CORE_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

/* Bytes b64_decode may write for an input of len characters. */
static inline size_t
b64_decoded_max(size_t len)
{
	return len / 4 * 3 + 3;
}

static inline size_t
b64_encoded_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

/* Decode into out (cap bytes); false on malformed input or overflow. */
bool b64_decode(span in, uint8_t *out, size_t cap, size_t *outlen);
/* Append the encoding of in to b; false when b is full. */
bool b64_encode(struct buf *b, span in);

#endif
