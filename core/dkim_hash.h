/*
 * NAME
 *	dkim_hash.h - the hashing steps signing and verifying share
 * DESCRIPTION
 *	dkim_hash_fields() appends the canonical form of the header fields
 *	named by an h= list, choosing instances bottom-up (RFC 6376 §5.4.2):
 *	the k-th mention of a name takes the k-th field of that name counting
 *	from the bottom, and a mention with no field left adds nothing (that
 *	is what makes oversigning work). dkim_hash_body() runs the streaming
 *	canonicalizer over a body and returns its SHA-256.
 */
#ifndef HANKO_CORE_DKIM_HASH_H
#define HANKO_CORE_DKIM_HASH_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "canon.h"
#include "span.h"

struct arena;
struct hdr_msg;
struct scan_ops;

#define DKIM_HASH_LEN 32

bool dkim_hash_fields(struct buf *out, enum canon_alg alg,
    const struct hdr_msg *m, const span *names, size_t nnames,
    struct arena *ar);
/* Hash body with alg and limit; total gets the full canonical length. */
bool dkim_hash_body(EVP_MD_CTX *md, const EVP_MD *sha256,
    const struct scan_ops *scan, enum canon_alg alg, uint64_t limit, span body,
    uint8_t out[DKIM_HASH_LEN], uint64_t *total);
/* One-shot SHA-256 of data. */
bool dkim_hash_data(EVP_MD_CTX *md, const EVP_MD *sha256, span data,
    uint8_t out[DKIM_HASH_LEN]);

#endif
