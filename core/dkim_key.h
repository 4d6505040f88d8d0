/*
 * NAME
 *	dkim_key.h - DKIM private keys and public key records
 * DESCRIPTION
 *	dkim_privkey_load() reads a signing key from memory: PEM (PKCS#1
 *	"RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY"), or a base64 Ed25519 seed
 *	(32 bytes, as RFC 8463 Appendix A prints it) or seed+public key (64
 *	bytes, libsodium's layout). RSA keys under 1024 bits are refused
 *	(RFC 8301); the caller warns under 2048. A privkey has process
 *	lifetime and is shared read-only by every worker.
 *
 *	dkim_keyrec_parse() parses a TXT key record (RFC 6376 §3.6.1) and
 *	builds its EVP_PKEY; the record's spans point into the TXT data.
 */
#ifndef HANKO_CORE_DKIM_KEY_H
#define HANKO_CORE_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "dkim.h"
#include "hanko.h"
#include "span.h"

struct arena;

struct dkim_privkey {
	EVP_PKEY *pk;
	enum dkim_keytype type;
	unsigned bits;
};

HANKO_NODISCARD dkim_res dkim_privkey_load(
    span data, struct dkim_privkey *out, char *err, size_t errlen);
void dkim_privkey_fini(struct dkim_privkey *k);
/* Append the key record "v=DKIM1; k=...; p=..." for k's public half. */
HANKO_NODISCARD dkim_res dkim_privkey_record(
    const struct dkim_privkey *k, struct buf *out, char *err, size_t errlen);

/* A parsed key record; message lifetime. pk is owned: dkim_keyrec_fini. */
struct dkim_keyrec {
	enum dkim_keytype type;
	EVP_PKEY *pk;
	unsigned bits;
	bool revoked;   /* p= empty */
	bool testing;   /* t=y */
	bool strict;    /* t=s: i= must equal d= */
	bool sha256_ok; /* h= absent or lists sha256 */
	bool sha1_only; /* h=sha1 */
};

/*
 * Parse txt. Returns DKIM_OK and fills rec, or DKIM_E_SYNTAX/DKIM_E_KEY
 * with a human reason in err ("key record has unknown k=dsa").
 */
HANKO_NODISCARD dkim_res dkim_keyrec_parse(span txt, size_t max_tags,
    struct arena *ar, struct dkim_keyrec *rec, char *err, size_t errlen);
void dkim_keyrec_fini(struct dkim_keyrec *rec);
/* Copy OpenSSL's error queue into err and clear it. */
void dkim_crypto_err(char *err, size_t errlen, const char *what);

#endif
