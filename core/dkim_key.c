#include "dkim_key.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "arena.h"
#include "b64.h"
#include "dkim_key_der.h"
#include "dkim_tags.h"

void
dkim_crypto_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char ebuf[120];

	if (e != 0) {
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		snprintf(err, errlen, "%s: %s", what, ebuf);
	} else {
		snprintf(err, errlen, "%s", what);
	}
	ERR_clear_error();
}

static dkim_res
privkey_check(struct dkim_privkey *k, char *err, size_t errlen)
{
	int id = EVP_PKEY_get_base_id(k->pk);

	if (id == EVP_PKEY_RSA) {
		k->type = DKIM_KEY_RSA;
		k->bits = (unsigned)EVP_PKEY_get_bits(k->pk);
		if (k->bits < 1024) {
			snprintf(err, errlen,
			    "RSA key of %u bits is too "
			    "small (RFC 8301 requires at least 1024)",
			    k->bits);
			return DKIM_E_KEY;
		}
		return DKIM_OK;
	}
	if (id == EVP_PKEY_ED25519) {
		k->type = DKIM_KEY_ED25519;
		k->bits = 256;
		return DKIM_OK;
	}
	snprintf(err, errlen, "key is neither RSA nor Ed25519");
	return DKIM_E_KEY;
}

static EVP_PKEY *
load_pem(span data)
{
	BIO *bio;
	EVP_PKEY *pk;

	if (data.len > INT32_MAX)
		return NULL;
	/* The decoders cost more than a signature: see dkim_key_der.h. */
	if ((pk = dkim_key_der_pem(data)) != NULL)
		return pk;
	if ((bio = BIO_new_mem_buf(data.p, (int)data.len)) == NULL)
		return NULL;
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return pk;
}

/*
 * RFC 8463 Appendix A prints the seed; libsodium stores seed || pub, whose
 * second half must then match the key the seed derives.
 */
static EVP_PKEY *
load_ed25519_b64(span data)
{
	uint8_t raw[72], pub[32];
	size_t n, np = sizeof(pub);
	EVP_PKEY *pk;

	if (!b64_decode(span_trim_ws(data), raw, sizeof(raw), &n) ||
	    (n != 32 && n != 64))
		return NULL;
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32);
	if (pk != NULL && n == 64 &&
	    (EVP_PKEY_get_raw_public_key(pk, pub, &np) != 1 ||
	        memcmp(pub, raw + 32, sizeof(pub)) != 0)) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	return pk;
}

dkim_res
dkim_privkey_load(span data, struct dkim_privkey *out, char *err, size_t errlen)
{
	struct dkim_privkey k = { NULL, DKIM_KEY_RSA, 0 };
	static const char pem_tag[] = "-----BEGIN";
	dkim_res r;

	if (data.len >= sizeof(pem_tag) - 1 &&
	    memmem(data.p, data.len, pem_tag, sizeof(pem_tag) - 1) != NULL)
		k.pk = load_pem(data);
	else
		k.pk = load_ed25519_b64(data);
	if (k.pk == NULL) {
		dkim_crypto_err(err, errlen,
		    "cannot read private key (PEM "
		    "PKCS#1/PKCS#8 or base64 Ed25519 seed expected)");
		return DKIM_E_KEY;
	}
	if ((r = privkey_check(&k, err, errlen)) != DKIM_OK) {
		EVP_PKEY_free(k.pk);
		return r;
	}
	*out = k;
	return DKIM_OK;
}

void
dkim_privkey_fini(struct dkim_privkey *k)
{
	EVP_PKEY_free(k->pk); /* OpenSSL clears private key memory */
	k->pk = NULL;
}

dkim_res
dkim_privkey_record(
    const struct dkim_privkey *k, struct buf *out, char *err, size_t errlen)
{
	uint8_t raw[4096], *p = raw;
	size_t n = sizeof(raw);
	int len;

	if (k->type == DKIM_KEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(k->pk, raw, &n) != 1) {
			dkim_crypto_err(err, errlen, "ed25519 public key");
			return DKIM_E_CRYPTO;
		}
	} else {
		if ((len = i2d_PUBKEY(k->pk, NULL)) <= 0 ||
		    (size_t)len > sizeof(raw) || i2d_PUBKEY(k->pk, &p) != len) {
			dkim_crypto_err(err, errlen, "rsa public key");
			return DKIM_E_CRYPTO;
		}
		n = (size_t)len;
	}
	if (!buf_add_cstr(out,
	        k->type == DKIM_KEY_ED25519 ? "v=DKIM1; k=ed25519; p="
	                                    : "v=DKIM1; k=rsa; p=") ||
	    !b64_encode(out, span_make(raw, n)))
		return DKIM_E_NOMEM;
	return DKIM_OK;
}
