/*
 * The shared setup of test_dkim_sign.c and test_dkim_verify.c; see
 * dkim_fixture.h. Failures go through cmocka's assert macros, so these
 * helpers may only run inside a cmocka test.
 */
#include "dkim_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/scan.h"
#include "tests/fake/fake_alloc.h"

struct dkim_fixture fx;

char *
fix_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *p;
	long n;

	if (fp == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
	p[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return p;
}

void
fix_load_key_file(const char *path, struct dkim_privkey *k)
{
	char err[256];
	size_t len;
	char *p = fix_read_file(path, &len);

	if (dkim_privkey_load(span_make(p, len), k, err, sizeof(err)) !=
	    DKIM_OK)
		fail_msg("%s: %s", path, err);
	free(p);
}

void
fix_gen_key(const char *type, size_t bits, struct dkim_privkey *k)
{
	EVP_PKEY *pk = bits > 0 ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits)
	                        : EVP_PKEY_Q_keygen(NULL, NULL, type);
	BIO *bio = BIO_new(BIO_s_mem());
	char err[256], *pem;
	long n;

	assert_non_null(pk);
	assert_non_null(bio);
	assert_int_equal(
	    PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &pem);
	if (dkim_privkey_load(span_make(pem, (size_t)n), k, err, sizeof(err)) !=
	    DKIM_OK)
		fail_msg("%s", err);
	BIO_free(bio);
	EVP_PKEY_free(pk);
}

void
fix_publish(const char *sel, const struct dkim_privkey *k)
{
	uint8_t mem[2048];
	char name[128], err[160];
	struct buf b;

	buf_init_fixed(&b, mem, sizeof(mem));
	assert_int_equal(dkim_privkey_record(k, &b, err, sizeof(err)), DKIM_OK);
	snprintf(name, sizeof(name), "%s._domainkey.example.com", sel);
	fake_dns_add_txt_span(fx.fdns, name, buf_span(&b));
}

void
fix_conf_for(struct dkim_sign_conf *c, const struct dkim_privkey *k,
    const char *sel, enum canon_alg hc, enum canon_alg bc)
{
	dkim_sign_conf_default(c);
	c->domain = SPAN_LIT("example.com");
	c->selector = span_cstr(sel);
	c->key = k;
	c->hdr_canon = hc;
	c->body_canon = bc;
}

dkim_res
fix_sign_msg(span msg, const struct dkim_sign_conf *c, size_t n, uint64_t now,
    char **fields, char **out)
{
	struct buf b;
	span from;
	dkim_res r;

	arena_reset(&fx.ar);
	if ((r = dkim_sign_parse(fx.sg, msg, &fx.ar, &from)) != DKIM_OK)
		return r;
	buf_init_arena(&b, &fx.ar);
	if ((r = dkim_sign_emit(fx.sg, c, n, now, &b)) != DKIM_OK)
		return r;
	*fields = malloc(b.len + 1);
	*out = malloc(b.len + msg.len + 1);
	assert_non_null(*fields);
	assert_non_null(*out);
	memcpy(*fields, b.p, b.len);
	(*fields)[b.len] = '\0';
	memcpy(*out, b.p, b.len);
	memcpy(*out + b.len, msg.p, msg.len);
	(*out)[b.len + msg.len] = '\0';
	return DKIM_OK;
}

size_t
fix_verify_msg(
    const char *msg, uint64_t now, struct dkim_result *res, size_t cap)
{
	const struct dkim_result *r;
	size_t n;

	arena_reset(&fx.ar);
	assert_int_equal(
	    dkim_verify_start(fx.vf, span_cstr(msg), now, &fx.ar), DKIM_OK);
	n = dkim_verify_results(fx.vf, &r);
	assert_true(n <= cap);
	memcpy(res, r, n * sizeof(*r));
	return n;
}

size_t
fix_sign_digest(const struct dkim_privkey *k, EVP_MD_CTX *md, const EVP_MD *sha,
    const uint8_t dg[DKIM_HASH_LEN], uint8_t *sig, size_t cap)
{
	size_t siglen = cap;

	if (k->type == DKIM_KEY_ED25519) {
		assert_int_equal(EVP_DigestSignInit_ex(
		                     md, NULL, NULL, NULL, NULL, k->pk, NULL),
		    1);
		assert_int_equal(
		    EVP_DigestSign(md, sig, &siglen, dg, DKIM_HASH_LEN), 1);
	} else {
		EVP_PKEY_CTX *pc =
		    EVP_PKEY_CTX_new_from_pkey(NULL, k->pk, NULL);

		assert_non_null(pc);
		assert_int_equal(EVP_PKEY_sign_init(pc), 1);
		assert_int_equal(
		    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(pc, sha), 1);
		assert_int_equal(
		    EVP_PKEY_sign(pc, sig, &siglen, dg, DKIM_HASH_LEN), 1);
		EVP_PKEY_CTX_free(pc);
	}
	return siglen;
}

void
fix_assert_pass(const struct dkim_result *r)
{
	if (r->verdict != DKIM_V_PASS)
		fail_msg(
		    "verdict %s: %s", dkim_verdict_str(r->verdict), r->reason);
}

int
fix_group_setup(void **state)
{
	(void)state;
	hanko_limits_default(&fx.lim);
	fx.fdns = fake_dns_new(FAKE_DNS_SYNC);
	assert_non_null(fx.fdns);
	fake_dns_ops(fx.fdns, &fx.ops);
	fx.env.alloc = fake_alloc_get();
	fx.env.dns = &fx.ops;
	fx.env.scan = scan_select(SCAN_AUTO);
	fx.env.limits = &fx.lim;
	arena_init(&fx.ar, fx.env.alloc, 64 << 10, fx.lim.max_arena_bytes);
	assert_int_equal(dkim_signer_new(&fx.env, &fx.sg), DKIM_OK);
	assert_int_equal(dkim_verifier_new(&fx.env, &fx.vf), DKIM_OK);
	fix_gen_key("RSA", 2048, &fx.krsa);
	fix_gen_key("ED25519", 0, &fx.ked);
	fix_load_key_file(FIX_SUITE "rsa.private.pem", &fx.rfc_rsa);
	fix_load_key_file(FIX_SUITE "ed25519.private.b64", &fx.rfc_ed);
	return 0;
}

int
fix_group_teardown(void **state)
{
	(void)state;
	dkim_signer_free(fx.sg);
	dkim_verifier_free(fx.vf);
	arena_fini(&fx.ar);
	dkim_privkey_fini(&fx.krsa);
	dkim_privkey_fini(&fx.ked);
	dkim_privkey_fini(&fx.rfc_rsa);
	dkim_privkey_fini(&fx.rfc_ed);
	fake_dns_free(fx.fdns);
	return 0;
}

int
fix_setup(void **state)
{
	(void)state;
	fake_dns_ops(fx.fdns, &fx.ops);
	fake_dns_set_refuse(fx.fdns, false);
	fake_dns_set_lifo(fx.fdns, false);
	fake_dns_clear(fx.fdns);
	fake_dns_set_mode(fx.fdns, FAKE_DNS_SYNC);
	fx.lim.max_sigs = 10;
	fix_publish("rsa", &fx.krsa);
	fix_publish("ed", &fx.ked);
	return 0;
}
