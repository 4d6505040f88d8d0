/*
 * fuzz_signverify: sign, then verify. When dkim_sign_parse() accepts the
 * input as a message, it is signed with a fixed Ed25519 key (a constant
 * seed, so every crash reproduces), c= chosen by the input's length;
 * the signed message must verify as pass against the key's record. Then
 * one ASCII letter of the body, found from a position derived from the
 * input, is changed to another letter: no canonicalization may hide
 * that (relaxed only touches WSP and line endings, and hanko never
 * writes l=), so the first signature must no longer pass.
 *
 * The verifier's limits allow one header field more than the signer's,
 * for the DKIM-Signature field the signer adds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/dkim_key.h"
#include "core/dkim_sign.h"
#include "core/dkim_verify.h"
#include "core/env.h"
#include "core/hdr.h"
#include "tests/fuzz/common.h"

#define NOW 1700000000u
/* base64 of the bytes 0..31: a test seed, never a real key. */
#define SEED "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_dns fd;
static struct fuzz_dns_name keyname[1];
static char keyrec[256];
static struct dns_ops ops;
static struct hanko_limits slim, vlim;
static struct core_env senv, venv;
static struct arena ar;
static struct dkim_signer *sg;
static struct dkim_verifier *vf;
static struct dkim_privkey key;

static void
setup(void)
{
	uint8_t mem[sizeof(keyrec)];
	char err[160];
	struct buf b;

	fuzz_dns_ops(&fd, &ops);
	fuzz_env_init(&senv, &slim, NULL);
	fuzz_env_init(&venv, &vlim, &ops);
	vlim.max_header_fields = slim.max_header_fields + 1;
	arena_init(&ar, senv.alloc, 64 << 10, slim.max_arena_bytes);
	FUZZ_CHECK(dkim_signer_new(&senv, &sg) == DKIM_OK);
	FUZZ_CHECK(dkim_verifier_new(&venv, &vf) == DKIM_OK);
	FUZZ_CHECK(dkim_privkey_load(SPAN_LIT(SEED), &key, err, sizeof(err)) ==
	    DKIM_OK);
	buf_init_fixed(&b, mem, sizeof(mem) - 1);
	FUZZ_CHECK(dkim_privkey_record(&key, &b, err, sizeof(err)) == DKIM_OK);
	memcpy(keyrec, b.p, b.len);
	keyrec[b.len] = '\0';
	keyname[0].name = "fuzz._domainkey.hanko.example";
	keyname[0].rc = DNS_OK;
	keyname[0].txt[0] = keyrec;
	fd.names = keyname;
	fd.nnames = 1;
}

/* The first result, which is ours: the field was prepended. */
static const struct dkim_result *
verify(span msg)
{
	const struct dkim_result *res;
	dkim_res r;

	fuzz_dns_reset(&fd);
	r = dkim_verify_start(vf, msg, NOW, &ar);
	if (r != DKIM_OK)
		fprintf(stderr, "verify: %s: %s\n", dkim_res_str(r),
		    dkim_verifier_err(vf));
	FUZZ_CHECK(r == DKIM_OK);
	FUZZ_CHECK(dkim_verify_results(vf, &res) >= 1);
	FUZZ_CHECK(span_eq(res[0].s, SPAN_LIT("fuzz")));
	FUZZ_CHECK(span_eq(res[0].d, SPAN_LIT("hanko.example")));
	return res;
}

static bool
is_letter(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static uint8_t
other_letter(uint8_t c)
{
	if (c == 'z' || c == 'Z')
		return (uint8_t)(c - 25);
	return (uint8_t)(c + 1);
}

/* Change one body letter; the signature must stop passing. */
static void
tamper(uint8_t *sm, size_t smlen, size_t body_off, const uint8_t *data,
    size_t size)
{
	const struct dkim_result *res;
	size_t blen = smlen - body_off, i, k, start;
	uint32_t h = 2166136261u;
	uint8_t old;

	if (blen == 0)
		return;
	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	start = h % blen;
	for (k = 0; k < blen; k++) {
		i = body_off + (start + k) % blen;
		if (is_letter(sm[i]))
			break;
	}
	if (k == blen)
		return;
	old = sm[i];
	sm[i] = other_letter(old);
	res = verify(span_make(sm, smlen));
	if (res[0].verdict == DKIM_V_PASS)
		fprintf(stderr, "body byte %zu changed, still pass\n",
		    i - body_off);
	FUZZ_CHECK(res[0].verdict != DKIM_V_PASS);
	sm[i] = old;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	span msg = span_make(data, size), from;
	struct dkim_sign_conf c;
	const struct dkim_result *res;
	struct hdr_msg m;
	struct buf out;
	char err[160];
	uint8_t *sm;
	size_t smlen, body_off;

	if (sg == NULL)
		setup();
	arena_reset(&ar);
	if (dkim_sign_parse(sg, msg, &ar, &from) != DKIM_OK)
		return 0;
	FUZZ_CHECK(from.len > 0);
	dkim_sign_conf_default(&c);
	c.domain = SPAN_LIT("hanko.example");
	c.selector = SPAN_LIT("fuzz");
	c.key = &key;
	c.hdr_canon = (size & 1) ? CANON_RELAXED : CANON_SIMPLE;
	c.body_canon = (size & 2) ? CANON_RELAXED : CANON_SIMPLE;
	buf_init_arena(&out, &ar);
	FUZZ_CHECK(dkim_sign_emit(sg, &c, 1, NOW, &out) == DKIM_OK);
	FUZZ_CHECK(hdr_split(msg, &slim, &ar, &m, err, sizeof(err)) == HDR_OK);
	smlen = out.len + size;
	FUZZ_CHECK((sm = malloc(smlen)) != NULL);
	memcpy(sm, out.p, out.len);
	memcpy(sm + out.len, data, size);
	body_off = out.len + m.header_len;
	res = verify(span_make(sm, smlen));
	if (res[0].verdict != DKIM_V_PASS)
		fprintf(stderr, "signed message: %s: %s\n",
		    dkim_verdict_str(res[0].verdict), res[0].reason);
	FUZZ_CHECK(res[0].verdict == DKIM_V_PASS);
	tamper(sm, smlen, body_off, data, size);
	free(sm);
	return 0;
}
