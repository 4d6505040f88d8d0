#include "dkim_key_der.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>

#include "b64.h"

#define DER_MAX 8192 /* an RSA-8192 PKCS#8 key is about 4,800 bytes */

/* A DER reader over [p, end); it only moves forward. */
struct der {
	const uint8_t *p, *end;
};

/* RFC 8410 §3: id-Ed25519; RFC 8017 A.1: rsaEncryption. */
static const uint8_t oid_ed25519[] = { 0x2b, 0x65, 0x70 };
static const uint8_t oid_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x01 };

/*
 * One TLV of the given tag, in DER's minimal length form (X.690 §10.1),
 * lengths up to 2 bytes; its value in *v.
 */
static bool
der_tlv(struct der *d, uint8_t tag, span *v)
{
	const uint8_t *q = d->p;
	size_t len, n;

	if (d->end - q < 2 || q[0] != tag)
		return false;
	len = q[1];
	q += 2;
	if (len >= 0x80) {
		n = len & 0x7f;
		if (n == 0 || n > 2 || (size_t)(d->end - q) < n || q[0] == 0)
			return false;
		len = n == 1 ? q[0] : ((size_t)q[0] << 8 | q[1]);
		q += n;
		if (len < 0x80)
			return false;
	}
	if ((size_t)(d->end - q) < len)
		return false;
	*v = span_make(q, len);
	d->p = q + len;
	return true;
}

static struct der
der_in(span v)
{
	return (struct der){ .p = v.p, .end = v.p + v.len };
}

/* INTEGER 0, the version of PKCS#1 two-prime keys and of PKCS#8 v1. */
static bool
der_version0(struct der *d)
{
	span v;

	return der_tlv(d, 0x02, &v) && v.len == 1 && v.p[0] == 0;
}

/* A positive INTEGER pushed as key parameter name. */
static bool
push_int(OSSL_PARAM_BLD *b, struct der *d, const char *name, BIGNUM **bn)
{
	span v;

	if (!der_tlv(d, 0x02, &v) || v.len == 0 || (v.p[0] & 0x80) != 0 ||
	    v.len > INT32_MAX)
		return false;
	if ((*bn = BN_bin2bn(v.p, (int)v.len, NULL)) == NULL)
		return false;
	return OSSL_PARAM_BLD_push_BN(b, name, *bn) == 1;
}

/* RFC 8017 A.1.2 RSAPrivateKey, two primes, as an EVP_PKEY. */
static EVP_PKEY *
rsa_from_pkcs1(span der)
{
	static const char *const names[] = { OSSL_PKEY_PARAM_RSA_N,
		OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1 };
	BIGNUM *bn[8] = { NULL };
	struct der d = der_in(der), seq;
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	span body;
	size_t i;

	if (!der_tlv(&d, 0x30, &body) || d.p != d.end)
		return NULL;
	seq = der_in(body);
	if (!der_version0(&seq) || (b = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	for (i = 0; i < 8; i++)
		if (!push_int(b, &seq, names[i], &bn[i]))
			goto done;
	if (seq.p != seq.end || (params = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) != 1)
		pk = NULL;
done:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	for (i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	return pk;
}

/*
 * RFC 5208 PrivateKeyInfo, v1 with no attributes: SEQUENCE { 0,
 * AlgorithmIdentifier, OCTET STRING }. Ed25519 (RFC 8410 §7) has no
 * parameters and wraps the 32-byte seed in another OCTET STRING;
 * rsaEncryption has NULL parameters and wraps an RSAPrivateKey.
 */
static EVP_PKEY *
from_pkcs8(span der)
{
	struct der d = der_in(der), seq, alg, in;
	span body, algs, oid, key, seed, null;

	if (!der_tlv(&d, 0x30, &body) || d.p != d.end)
		return NULL;
	seq = der_in(body);
	if (!der_version0(&seq) || !der_tlv(&seq, 0x30, &algs) ||
	    !der_tlv(&seq, 0x04, &key) || seq.p != seq.end)
		return NULL;
	alg = der_in(algs);
	if (!der_tlv(&alg, 0x06, &oid))
		return NULL;
	if (span_eq(oid, span_make(oid_ed25519, sizeof(oid_ed25519)))) {
		in = der_in(key);
		if (alg.p != alg.end || !der_tlv(&in, 0x04, &seed) ||
		    in.p != in.end || seed.len != 32)
			return NULL;
		return EVP_PKEY_new_raw_private_key_ex(
		    NULL, "ED25519", NULL, seed.p, seed.len);
	}
	if (span_eq(oid, span_make(oid_rsa, sizeof(oid_rsa))) &&
	    der_tlv(&alg, 0x05, &null) && null.len == 0 && alg.p == alg.end)
		return rsa_from_pkcs1(key);
	return NULL;
}

/* The base64 between "-----BEGIN label-----" and "-----END label-----". */
static bool
pem_body(span pem, const char *label, span *body)
{
	char begin[40], end[40];
	const uint8_t *b, *e;
	int nb, ne;

	nb = snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	ne = snprintf(end, sizeof(end), "-----END %s-----", label);
	if (nb <= 0 || ne <= 0 || (size_t)nb >= sizeof(begin) ||
	    (size_t)ne >= sizeof(end))
		return false;
	b = memmem(pem.p, pem.len, begin, (size_t)nb);
	if (b == NULL)
		return false;
	b += nb;
	e = memmem(b, (size_t)(pem.p + pem.len - b), end, (size_t)ne);
	if (e == NULL)
		return false;
	*body = span_make(b, (size_t)(e - b));
	return true;
}

EVP_PKEY *
dkim_key_der_pem(span pem)
{
	uint8_t der[DER_MAX];
	EVP_PKEY *pk = NULL;
	bool pkcs8;
	span body;
	size_t n;

	if (pem_body(pem, "PRIVATE KEY", &body))
		pkcs8 = true;
	else if (pem_body(pem, "RSA PRIVATE KEY", &body))
		pkcs8 = false;
	else
		return NULL;
	if (b64_decoded_max(body.len) <= sizeof(der) &&
	    b64_decode(body, der, sizeof(der), &n))
		pk = pkcs8 ? from_pkcs8(span_make(der, n))
		           : rsa_from_pkcs1(span_make(der, n));
	OPENSSL_cleanse(der, sizeof(der));
	return pk;
}
