/*
 * NAME
 *	dkim_fixture.h - the shared setup of the DKIM signer/verifier tests
 * SYNOPSIS
 *	cmocka_run_group_tests(tests, fix_group_setup, fix_group_teardown);
 *	... with fix_setup (or a wrapper around it) as each test's setup:
 *	fix_conf_for(&c, &fx.krsa, "rsa", CANON_RELAXED, CANON_RELAXED);
 *	fix_sign_msg(span_cstr(MSG), &c, 1, now, &fields, &out);
 *	n = fix_verify_msg(out, now, res, MAX_RES);
 * DESCRIPTION
 *	One fake-DNS-backed environment (fx) shared by test_dkim_sign.c and
 *	test_dkim_verify.c: a signer, a verifier, one arena that every
 *	sign and verify resets, two keys generated per run (fx.krsa, fx.ked,
 *	published as rsa._domainkey.example.com and ed._domainkey.
 *	example.com by fix_setup) and the two RFC 8463 Appendix A keys
 *	(fx.rfc_rsa, fx.rfc_ed) read from FIX_SUITE. Helpers fail the
 *	running test through cmocka instead of returning errors. Paths are
 *	relative to the repository root, the tests' working directory.
 * OWNERSHIP
 *	fx lives from fix_group_setup() to fix_group_teardown(); single-
 *	threaded. read_file, sign_msg and verify_msg results are the
 *	caller's (malloc'd) unless stated otherwise.
 */
#ifndef HANKO_TESTS_DKIM_FIXTURE_H
#define HANKO_TESTS_DKIM_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "core/arena.h"
#include "core/canon.h"
#include "core/dkim.h"
#include "core/dkim_hash.h"
#include "core/dkim_key.h"
#include "core/dkim_sign.h"
#include "core/dkim_verify.h"
#include "core/dns.h"
#include "core/env.h"
#include "core/span.h"
#include "tests/fake/fake_dns.h"

/* The RFC 8463 test suite: keys.zone, the keys and the messages. */
#define FIX_SUITE "../shared/testsuites/rfc8463/"

struct dkim_fixture {
	struct hanko_limits lim;
	struct core_env env;
	struct fake_dns *fdns;
	struct dns_ops ops; /* fdns's ops, what env.dns points at */
	struct arena ar;
	struct dkim_signer *sg;
	struct dkim_verifier *vf;
	struct dkim_privkey krsa, ked;       /* generated, RSA-2048, Ed25519 */
	struct dkim_privkey rfc_rsa, rfc_ed; /* RFC 8463 Appendix A */
};

extern struct dkim_fixture fx;

/* cmocka group setup/teardown: build and free all of fx. */
int fix_group_setup(void **state);
int fix_group_teardown(void **state);
/*
 * Per-test setup: fake DNS back to synchronous, empty but for the two
 * generated keys' records, not refusing, FIFO; lim.max_sigs = 10.
 */
int fix_setup(void **state);

/* The whole file, NUL-terminated (malloc'd); its length in *len. */
char *fix_read_file(const char *path, size_t *len);
/* Load a private key file into k. */
void fix_load_key_file(const char *path, struct dkim_privkey *k);
/* Generate a key and load it through its PKCS#8 PEM (bits 0: none). */
void fix_gen_key(const char *type, size_t bits, struct dkim_privkey *k);
/* Publish k's record at sel._domainkey.example.com. */
void fix_publish(const char *sel, const struct dkim_privkey *k);
/* Defaults, d=example.com, s=sel, key k and the given canonicalization. */
void fix_conf_for(struct dkim_sign_conf *c, const struct dkim_privkey *k,
    const char *sel, enum canon_alg hc, enum canon_alg bc);
/*
 * Sign msg with the n confs in c; on DKIM_OK *fields (NUL-terminated)
 * holds the emitted fields and *out the signed message, both malloc'd.
 */
dkim_res fix_sign_msg(span msg, const struct dkim_sign_conf *c, size_t n,
    uint64_t now, char **fields, char **out);
/*
 * Verify msg synchronously; copies the results into res, which holds
 * cap of them (more fails the test). Returns how many there are.
 */
size_t fix_verify_msg(
    const char *msg, uint64_t now, struct dkim_result *res, size_t cap);
/*
 * Sign the header hash dg with k the way DKIM does, independently of
 * core/dkim_sign.c: Ed25519 over the digest (RFC 8463), RSASSA-PKCS1-v1_5
 * with SHA-256 (sha) otherwise. md is a context the call may reinit; sig
 * holds cap bytes. Returns the signature's length.
 */
size_t fix_sign_digest(const struct dkim_privkey *k, EVP_MD_CTX *md,
    const EVP_MD *sha, const uint8_t dg[DKIM_HASH_LEN], uint8_t *sig,
    size_t cap);
/* Fail the test, naming verdict and reason, unless r passed. */
void fix_assert_pass(const struct dkim_result *r);

#endif
