/*
 * The verifier's cache of parsed key records: verifiers that share it see
 * each key once, and a record that changes is never served stale (the
 * cache is keyed by the record's exact bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "core/arena.h"
#include "core/dkim_key.h"
#include "core/dkim_sign.h"
#include "core/dkim_verify.h"
#include "core/dns.h"
#include "core/env.h"
#include "core/scan.h"
#include "tests/fake/fake_alloc.h"
#include "tests/fake/fake_dns.h"

#define NOW 1700000000u
#define MSG "From: a@cache.example\r\nSubject: s\r\n\r\nbody\r\n"

static struct hanko_limits lim;
static struct core_env env;
static struct dns_ops ops;
static struct fake_dns *fdns;
static struct dkim_privkey key, other;
static char record[1024], other_record[1024];
static uint8_t signed_msg[4096];
static size_t signed_len;

static void
make_key(struct dkim_privkey *k, char *rec)
{
	uint8_t b[1024];
	struct buf out;
	char err[160];

	k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k->type = DKIM_KEY_ED25519;
	k->bits = 256;
	assert_non_null(k->pk);
	buf_init_fixed(&out, b, sizeof(b));
	assert_int_equal(
	    dkim_privkey_record(k, &out, err, sizeof(err)), DKIM_OK);
	memcpy(rec, out.p, out.len);
	rec[out.len] = '\0';
}

static int
setup(void **state)
{
	struct dkim_signer *s;
	struct dkim_sign_conf c;
	struct arena ar;
	struct buf out;
	span from;

	(void)state;
	hanko_limits_default(&lim);
	env.alloc = fake_alloc_get();
	env.scan = scan_select(SCAN_AUTO);
	env.limits = &lim;
	fdns = fake_dns_new(FAKE_DNS_SYNC);
	fake_dns_ops(fdns, &ops);
	env.dns = &ops;
	make_key(&key, record);
	make_key(&other, other_record);
	arena_init(&ar, env.alloc, 4096, 1 << 20);
	assert_int_equal(dkim_signer_new(&env, &s), DKIM_OK);
	assert_int_equal(
	    dkim_sign_parse(s, SPAN_LIT(MSG), &ar, &from), DKIM_OK);
	dkim_sign_conf_default(&c);
	c.domain = SPAN_LIT("cache.example");
	c.selector = SPAN_LIT("k");
	c.key = &key;
	buf_init_fixed(&out, signed_msg, sizeof(signed_msg));
	assert_int_equal(dkim_sign_emit(s, &c, 1, NOW, &out), DKIM_OK);
	assert_true(buf_add(&out, MSG, sizeof(MSG) - 1));
	signed_len = out.len;
	dkim_signer_free(s);
	arena_fini(&ar);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dkim_privkey_fini(&key);
	dkim_privkey_fini(&other);
	fake_dns_free(fdns);
	return 0;
}

static enum dkim_verdict
verify_with(struct dkim_verifier *v, const char *txt)
{
	const struct dkim_result *res;
	struct arena ar;
	enum dkim_verdict vd;

	fake_dns_clear(fdns);
	fake_dns_add_txt(fdns, "k._domainkey.cache.example", txt);
	arena_init(&ar, env.alloc, 4096, 1 << 20);
	assert_int_equal(
	    dkim_verify_start(v, span_make(signed_msg, signed_len), NOW, &ar),
	    DKIM_OK);
	assert_int_equal(dkim_verify_results(v, &res), 1);
	vd = res[0].verdict;
	arena_fini(&ar);
	return vd;
}

static void
t_dkim_verifier_new_shared_cache_not_stale(void **state)
{
	struct dkim_verifier *a, *b;

	(void)state;
	assert_int_equal(dkim_verifier_new(&env, &a), DKIM_OK);
	assert_int_equal(dkim_verifier_new_shared(&env, a, &b), DKIM_OK);
	/* Same record through both verifiers: parsed once, pass twice. */
	assert_int_equal(verify_with(a, record), DKIM_V_PASS);
	assert_int_equal(verify_with(b, record), DKIM_V_PASS);
	/* The domain rotates its key: the old one must not be served. */
	assert_int_equal(verify_with(b, other_record), DKIM_V_FAIL);
	assert_int_equal(
	    verify_with(a, "v=DKIM1; k=ed25519; p="), DKIM_V_PERMERROR);
	assert_int_equal(verify_with(a, record), DKIM_V_PASS);
	dkim_verifier_free(b);
	dkim_verifier_free(a);
	assert_int_equal(fake_alloc_live(), 0);
}

static void
t_dkim_verifier_new_cache_many_keys(void **state)
{
	struct dkim_verifier *v;
	char rec[1100];
	int i;

	(void)state;
	assert_int_equal(dkim_verifier_new(&env, &v), DKIM_OK);
	/* More distinct records than cache slots, then the real one. */
	for (i = 0; i < 100; i++) {
		snprintf(rec, sizeof(rec), "%s; n=note%d", other_record, i);
		assert_int_equal(verify_with(v, rec), DKIM_V_FAIL);
	}
	assert_int_equal(verify_with(v, record), DKIM_V_PASS);
	dkim_verifier_free(v);
	assert_int_equal(fake_alloc_live(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_dkim_verifier_new_shared_cache_not_stale),
		cmocka_unit_test(t_dkim_verifier_new_cache_many_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
