#include "core/dkim_key_der.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cmocka.h>

#include "core/b64.h"
#include "core/dkim_key.h"
#include "core/span.h"

/*
 * The DER key reader against OpenSSL's decoders, the reference: every
 * key shape it accepts must give the same key (EVP_PKEY_eq) and the same
 * signature; every other shape and every damaged file must give NULL
 * (the caller then asks OpenSSL), never a crash or a different key.
 */

enum pem_form {
	PEM_PKCS8,
	PEM_PKCS1,
	PEM_ENCRYPTED,
};

static EVP_PKEY *rsa1024, *rsa2048, *ed;
static char passphrase[] = "secret";

/* A NUL-terminated PEM text of pk in the given form; caller frees. */
static char *
pem_of(EVP_PKEY *pk, enum pem_form form)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;
	int ok;

	assert_non_null(bio);
	if (form == PEM_PKCS1)
		ok = PEM_write_bio_PrivateKey_traditional(
		    bio, pk, NULL, NULL, 0, NULL, NULL);
	else if (form == PEM_ENCRYPTED)
		ok = PEM_write_bio_PKCS8PrivateKey(
		    bio, pk, EVP_aes_128_cbc(), NULL, 0, NULL, passphrase);
	else
		ok = PEM_write_bio_PrivateKey(
		    bio, pk, NULL, NULL, 0, NULL, NULL);
	assert_int_equal(ok, 1);
	n = BIO_get_mem_data(bio, &p);
	assert_true(n > 0);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	return out;
}

/* The signature of a fixed digest-sized input: deterministic for both. */
static size_t
sig_of(EVP_PKEY *pk, uint8_t *sig, size_t cap)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	bool is_ed = EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519;
	size_t n = cap;

	assert_non_null(m);
	assert_int_equal(
	    EVP_DigestSignInit(m, NULL, is_ed ? NULL : EVP_sha256(), NULL, pk),
	    1);
	assert_int_equal(
	    EVP_DigestSign(m, sig, &n, (const uint8_t *)"hanko", 5), 1);
	EVP_MD_CTX_free(m);
	return n;
}

static void
same_key(EVP_PKEY *want, enum pem_form form)
{
	char *pem = pem_of(want, form);
	EVP_PKEY *got = dkim_key_der_pem(span_cstr(pem));
	uint8_t s1[1024], s2[1024];
	size_t n1, n2;

	assert_non_null(got);
	assert_int_equal(EVP_PKEY_eq(got, want), 1);
	n1 = sig_of(want, s1, sizeof(s1));
	n2 = sig_of(got, s2, sizeof(s2));
	assert_int_equal(n1, n2);
	assert_memory_equal(s1, s2, n1);
	EVP_PKEY_free(got);
	free(pem);
}

static void
t_dkim_key_der_pem_same_key(void **state)
{
	(void)state;
	same_key(rsa1024, PEM_PKCS8);
	same_key(rsa1024, PEM_PKCS1);
	same_key(rsa2048, PEM_PKCS8);
	same_key(rsa2048, PEM_PKCS1);
	same_key(ed, PEM_PKCS8);
}

/* dkim_privkey_load takes the fast path and still checks the key. */
static void
t_dkim_key_der_pem_privkey_load(void **state)
{
	char *pem = pem_of(ed, PEM_PKCS8), err[256];
	struct dkim_privkey k;

	(void)state;
	assert_int_equal(
	    dkim_privkey_load(span_cstr(pem), &k, err, sizeof(err)), DKIM_OK);
	assert_int_equal(k.type, DKIM_KEY_ED25519);
	assert_int_equal(EVP_PKEY_eq(k.pk, ed), 1);
	dkim_privkey_fini(&k);
	free(pem);
	pem = pem_of(rsa2048, PEM_PKCS1);
	assert_int_equal(
	    dkim_privkey_load(span_cstr(pem), &k, err, sizeof(err)), DKIM_OK);
	assert_int_equal(k.type, DKIM_KEY_RSA);
	assert_int_equal(k.bits, 2048);
	dkim_privkey_fini(&k);
	free(pem);
}

/* Shapes left to OpenSSL: encrypted, other algorithms, not PEM. */
static void
t_dkim_key_der_pem_other_shapes(void **state)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *pem;

	(void)state;
	assert_non_null(ec);
	pem = pem_of(ed, PEM_ENCRYPTED);
	assert_null(dkim_key_der_pem(span_cstr(pem)));
	free(pem);
	pem = pem_of(ec, PEM_PKCS8);
	assert_null(dkim_key_der_pem(span_cstr(pem)));
	free(pem);
	assert_null(dkim_key_der_pem(SPAN_LIT("")));
	assert_null(dkim_key_der_pem(SPAN_LIT("-----BEGIN PRIVATE KEY-----")));
	assert_null(
	    dkim_key_der_pem(SPAN_LIT("-----BEGIN PRIVATE KEY-----\n"
	                              "AAAA\n-----END PRIVATE KEY-----\n")));
	EVP_PKEY_free(ec);
}

/* The base64 body of a PEM text, decoded; its length. */
static size_t
der_of(const char *pem, uint8_t *der, size_t cap)
{
	const char *b = strstr(pem, "-----\n"), *e;
	size_t n;

	assert_non_null(b);
	b += 6;
	e = strstr(b, "-----END");
	assert_non_null(e);
	assert_true(b64_decode(span_make(b, (size_t)(e - b)), der, cap, &n));
	return n;
}

/* Re-wrap der as PEM with the given label into out. */
static void
wrap(const char *label, const uint8_t *der, size_t n, char *out, size_t cap)
{
	uint8_t enc[8192];
	struct buf b;

	buf_init_fixed(&b, enc, sizeof(enc));
	assert_true(b64_encode(&b, span_make(der, n)));
	snprintf(out, cap, "-----BEGIN %s-----\n%.*s\n-----END %s-----\n",
	    label, (int)b.len, (const char *)b.p, label);
}

/*
 * Every truncation and every single-byte change of the DER: the reader
 * returns NULL or a key, never reads outside the buffer (ASan), and a key
 * it returns is the one OpenSSL reads from the same bytes.
 */
static void
damage(EVP_PKEY *pk, enum pem_form form, const char *label)
{
	char *pem = pem_of(pk, form), text[12000];
	uint8_t der[4096], bad[4096];
	size_t n = der_of(pem, der, sizeof(der)), i;

	for (i = 0; i < n; i++) {
		wrap(label, der, i, text, sizeof(text));
		assert_null(dkim_key_der_pem(span_cstr(text)));
	}
	for (i = 0; i < n; i++) {
		EVP_PKEY *got, *ref;
		BIO *bio;

		memcpy(bad, der, n);
		bad[i] ^= (uint8_t)(1u << (i % 8));
		wrap(label, bad, n, text, sizeof(text));
		if ((got = dkim_key_der_pem(span_cstr(text))) == NULL)
			continue;
		bio = BIO_new_mem_buf(text, -1);
		assert_non_null(bio);
		ref = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if (ref != NULL)
			assert_int_equal(EVP_PKEY_eq(got, ref), 1);
		EVP_PKEY_free(ref);
		EVP_PKEY_free(got);
	}
	free(pem);
}

static void
t_dkim_key_der_pem_damaged(void **state)
{
	(void)state;
	damage(ed, PEM_PKCS8, "PRIVATE KEY");
	damage(rsa1024, PEM_PKCS8, "PRIVATE KEY");
	damage(rsa1024, PEM_PKCS1, "RSA PRIVATE KEY");
}

static int
setup(void **state)
{
	(void)state;
	rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return rsa1024 && rsa2048 && ed ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(ed);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_dkim_key_der_pem_same_key),
		cmocka_unit_test(t_dkim_key_der_pem_privkey_load),
		cmocka_unit_test(t_dkim_key_der_pem_other_shapes),
		cmocka_unit_test(t_dkim_key_der_pem_damaged),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
