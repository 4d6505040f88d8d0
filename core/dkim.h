/*
 * NAME
 *	dkim.h - types shared by DKIM signing, verification and key handling
 * DESCRIPTION
 *	dkim_res is for faults (the caller could not get an answer);
 *	verdicts (pass, fail, permerror...) are data in struct dkim_result
 *	(dkim_verify.h), never error codes.
 */
#ifndef HANKO_CORE_DKIM_H
#define HANKO_CORE_DKIM_H

typedef enum dkim_res {
	DKIM_OK = 0,
	DKIM_PENDING,  /* waiting for DNS answers */
	DKIM_E_SYNTAX, /* malformed message or key */
	DKIM_E_FROM,   /* no From field, or more than one */
	DKIM_E_LIMIT,  /* input beyond a configured limit */
	DKIM_E_NOMEM,  /* message arena exhausted */
	DKIM_E_CRYPTO, /* OpenSSL failed; see the context's err */
	DKIM_E_KEY,    /* unusable or unsafe key */
	DKIM_E_ARG,    /* bad configuration */
} dkim_res;

enum dkim_alg {
	DKIM_ALG_RSA_SHA256 = 0,
	DKIM_ALG_ED25519_SHA256,
	DKIM_ALG_RSA_SHA1, /* recognised only to refuse it (RFC 8301) */
};

enum dkim_keytype {
	DKIM_KEY_RSA = 0,
	DKIM_KEY_ED25519,
};

const char *dkim_res_str(dkim_res r);
const char *dkim_alg_str(enum dkim_alg a);

#endif
