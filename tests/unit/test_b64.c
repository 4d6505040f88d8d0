#include "core/b64.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include <cmocka.h>

/*
 * Base64 as DKIM uses it (RFC 6376 §2.4): round trips checked against
 * OpenSSL's encoder, FWS anywhere, and every way the input can be bad.
 */

#define RNG_SEED 0x6b616e686f623634ULL

static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
setup(void **state)
{
	(void)state;
	rng_state = RNG_SEED;
	return 0;
}

static bool
decode_cstr(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
	return b64_decode(span_cstr(in), out, cap, outlen);
}

static void
expect_bad(const char *in)
{
	uint8_t out[64];
	size_t outlen = 777;

	if (decode_cstr(in, out, sizeof(out), &outlen))
		fail_msg("accepted \"%s\"", in);
	/* Out-parameters are written only on success. */
	assert_int_equal(outlen, 777);
}

static void
expect_decode(const char *in, const char *want)
{
	uint8_t out[64];
	size_t outlen = 777;

	if (!decode_cstr(in, out, sizeof(out), &outlen))
		fail_msg("refused \"%s\"", in);
	assert_int_equal(outlen, strlen(want));
	assert_memory_equal(out, want, outlen);
}

/* RFC 4648 §10 test vectors. */
static void
t_b64_encode_rfc4648(void **state)
{
	static const char *const v[][2] = { { "", "" }, { "f", "Zg==" },
		{ "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" } };
	uint8_t mem[16];
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_init_fixed(&b, mem, sizeof(mem));
		assert_true(b64_encode(&b, span_cstr(v[i][0])));
		assert_true(span_eq(buf_span(&b), span_cstr(v[i][1])));
		expect_decode(v[i][1], v[i][0]);
	}
}

/* Every length 0..100, random bytes, against OpenSSL's encoder. */
static void
t_b64_roundtrip_all_lengths(void **state)
{
	uint8_t in[100], enc[200], ossl[200], dec[120];
	size_t len, i, declen;
	struct buf b;
	int n;

	(void)state;
	for (len = 0; len <= 100; len++) {
		for (i = 0; i < len; i++)
			in[i] = (uint8_t)rng_next();
		buf_init_fixed(&b, enc, sizeof(enc));
		assert_true(b64_encode(&b, span_make(in, len)));
		assert_int_equal(b.len, b64_encoded_len(len));
		n = EVP_EncodeBlock(ossl, in, (int)len);
		assert_int_equal((size_t)n, b.len);
		assert_memory_equal(enc, ossl, b.len);
		assert_true(b64_decoded_max(b.len) >= len);
		assert_true(
		    b64_decode(buf_span(&b), dec, sizeof(dec), &declen));
		assert_int_equal(declen, len);
		assert_memory_equal(dec, in, len);
		/* Exactly enough room is enough. */
		assert_true(b64_decode(buf_span(&b), dec, len, &declen));
		assert_int_equal(declen, len);
	}
}

/* SP, HTAB, CR and LF may appear anywhere, even inside the padding. */
static void
t_b64_decode_fws(void **state)
{
	static const char fws[] = " \t\r\n";
	uint8_t in[60], enc[128], spaced[512], dec[64];
	size_t len, i, j, n, declen, round;
	struct buf b;

	(void)state;
	for (round = 0; round < 500; round++) {
		len = (size_t)(rng_next() % sizeof(in));
		for (i = 0; i < len; i++)
			in[i] = (uint8_t)rng_next();
		buf_init_fixed(&b, enc, sizeof(enc));
		assert_true(b64_encode(&b, span_make(in, len)));
		for (i = 0, n = 0; i <= b.len; i++) {
			for (j = rng_next() % 3; j > 0; j--)
				spaced[n++] = (uint8_t)fws[rng_next() % 4];
			if (i < b.len)
				spaced[n++] = enc[i];
		}
		assert_true(b64_decode(
		    span_make(spaced, n), dec, sizeof(dec), &declen));
		assert_int_equal(declen, len);
		assert_memory_equal(dec, in, len);
	}
	expect_decode("Zm9v\r\n YmFy", "foobar");
	expect_decode("Zg= =", "f");
	expect_decode(" \r\n\t ", "");
}

static void
t_b64_decode_invalid_chars(void **state)
{
	static const char *const bad[] = { "Zm9v!", "Zm-v", "Zm_v", "Zm.v",
		"Zm9v\x80", "Zm9v\v", "Zm9v\f", "Zm\"9" };
	static const char nul[] = "Zm\0v";
	uint8_t out[8];
	size_t i, outlen;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i]);
	assert_false(b64_decode(SPAN_LIT(nul), out, sizeof(out), &outlen));
}

static void
t_b64_decode_bad_padding(void **state)
{
	(void)state;
	expect_bad("Zg=");   /* quantum not completed */
	expect_bad("Zg==="); /* too much */
	expect_bad("Z===");
	expect_bad("====");
	expect_bad("==");
	expect_bad("=");
	expect_bad("Zm9v="); /* after a complete quantum */
	expect_bad("Zm9v==");
	expect_bad("Zg=A"); /* data after padding */
	expect_bad("Zg==Zg==");
	expect_bad("=Zg=");
	expect_bad("Z"); /* a lone sextet holds no byte */
	expect_bad("Zm9vY");
}

/* The unused low bits of the last sextet must be zero (RFC 4648 §3.5). */
static void
t_b64_decode_stray_bits(void **state)
{
	(void)state;
	expect_decode("Zg==", "f");
	expect_bad("Zh==");
	expect_bad("Zv==");
	expect_decode("Zm8=", "fo");
	expect_bad("Zm9=");
	expect_bad("Zm/=");
}

/* A full output buffer is an error, and nothing is written past cap. */
static void
t_b64_decode_cap_overflow(void **state)
{
	uint8_t out[16];
	size_t outlen = 777, cap;

	(void)state;
	for (cap = 0; cap < 6; cap++) {
		memset(out, 0xee, sizeof(out));
		assert_false(decode_cstr("Zm9vYmFy", out, cap, &outlen));
		assert_int_equal(outlen, 777);
		assert_int_equal(out[cap], 0xee);
	}
	for (cap = 0; cap < 5; cap++) {
		memset(out, 0xee, sizeof(out));
		assert_false(decode_cstr("Zm9vYmE=", out, cap, &outlen));
		assert_int_equal(out[cap], 0xee);
	}
	for (cap = 0; cap < 4; cap++) {
		memset(out, 0xee, sizeof(out));
		assert_false(decode_cstr("Zm9vYg==", out, cap, &outlen));
		assert_int_equal(out[cap], 0xee);
	}
	assert_true(decode_cstr("Zm9vYg==", out, 4, &outlen));
	assert_int_equal(outlen, 4);
	assert_true(decode_cstr("", out, 0, &outlen));
	assert_int_equal(outlen, 0);
}

/* An encoding that does not fit leaves the buf as it was. */
static void
t_b64_encode_full(void **state)
{
	uint8_t mem[16];
	struct buf b;
	size_t cap;

	(void)state;
	for (cap = 0; cap < 8; cap++) {
		buf_init_fixed(&b, mem, cap);
		assert_false(b64_encode(&b, SPAN_LIT("foobar")));
		assert_int_equal(b.len, 0);
	}
	buf_init_fixed(&b, mem, 10);
	assert_true(buf_add(&b, "x=", 2));
	assert_true(b64_encode(&b, SPAN_LIT("foobar")));
	assert_true(span_eq(buf_span(&b), SPAN_LIT("x=Zm9vYmFy")));
	assert_false(b64_encode(&b, SPAN_LIT("f")));
	assert_int_equal(b.len, 10);
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_b64_encode_rfc4648),
		T(t_b64_roundtrip_all_lengths),
		T(t_b64_decode_fws),
		T(t_b64_decode_invalid_chars),
		T(t_b64_decode_bad_padding),
		T(t_b64_decode_stray_bits),
		T(t_b64_decode_cap_overflow),
		T(t_b64_encode_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
