/*
 * NAME
 *	dkim_key_der.h - the common private key files, read without
 *	OpenSSL's decoder framework
 * DESCRIPTION
 *	OpenSSL 3 reads a PEM key by building a decoder chain over every
 *	provider's decoders; for one Ed25519 key that is about 10 million
 *	instructions, more than a whole filter-mode signature. The files
 *	hanko and its peers write have few shapes: PEM "PRIVATE KEY"
 *	(PKCS#8 v1) holding an Ed25519 seed or an rsaEncryption key, and PEM
 *	"RSA PRIVATE KEY" (PKCS#1, unencrypted). Those are parsed here as DER
 *	and handed to OpenSSL as raw seed or key parameters.
 *
 *	Anything else (encrypted PEM, PKCS#8 with attributes or a public
 *	key, other algorithms, non-minimal DER) returns NULL, and the caller
 *	falls back to OpenSSL's decoders, which stay the reference.
 */
#ifndef HANKO_CORE_DKIM_KEY_DER_H
#define HANKO_CORE_DKIM_KEY_DER_H

#include <openssl/evp.h>

#include "span.h"

/*
 * The key in a PEM text of one of the shapes above, or NULL when the
 * text is of another shape (or malformed: the caller's decoder then
 * reports why). The caller owns the key.
 */
EVP_PKEY *dkim_key_der_pem(span pem);

#endif
