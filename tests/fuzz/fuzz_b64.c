/*
 * fuzz_b64: b64_decode() on the input, and round trips. Oracles: a
 * decode never writes past cap (the output block is exactly
 * b64_decoded_max() bytes) and fails when cap is one byte short of what
 * it produced; what decodes re-encodes to the input's data characters
 * (the decoder rejects stray bits, so the alphabet text is canonical);
 * and the input taken as raw bytes encodes to b64_encoded_len() bytes
 * that decode back to it, folded or not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
is_skip(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '=';
}

/* Compare a and b ignoring FWS and padding. */
static bool
same_data_chars(span a, span b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a.len && is_skip(a.p[i]))
			i++;
		while (j < b.len && is_skip(b.p[j]))
			j++;
		if (i == a.len || j == b.len)
			return i == a.len && j == b.len;
		if (a.p[i++] != b.p[j++])
			return false;
	}
}

static void
check_decode(span in)
{
	size_t cap = b64_decoded_max(in.len), n = 0, n2 = 0;
	uint8_t *out = malloc(cap), *enc, *exact;
	struct buf b;

	FUZZ_CHECK(out != NULL);
	if (!b64_decode(in, out, cap, &n)) {
		free(out);
		return;
	}
	FUZZ_CHECK(n <= cap);
	/* Exact-size blocks, so a write past cap is an ASan report. */
	exact = malloc(n > 0 ? n : 1);
	FUZZ_CHECK(exact != NULL);
	FUZZ_CHECK(b64_decode(in, exact, n, &n2) && n2 == n);
	FUZZ_CHECK(n == 0 || memcmp(exact, out, n) == 0);
	free(exact);
	if (n > 0) {
		exact = malloc(n - 1 > 0 ? n - 1 : 1);
		FUZZ_CHECK(exact != NULL);
		FUZZ_CHECK(!b64_decode(in, exact, n - 1, &n2));
		free(exact);
	}
	enc = malloc(b64_encoded_len(n) + 1);
	FUZZ_CHECK(enc != NULL);
	buf_init_fixed(&b, enc, b64_encoded_len(n));
	FUZZ_CHECK(b64_encode(&b, span_make(out, n)));
	FUZZ_CHECK(b.len == b64_encoded_len(n));
	FUZZ_CHECK(same_data_chars(in, buf_span(&b)));
	free(enc);
	free(out);
}

static void
check_encode(span raw, size_t fold)
{
	size_t elen = b64_encoded_len(raw.len), n = 0, i, o = 0;
	uint8_t *enc = malloc(elen + 1), *folded, *dec;
	struct buf b;

	FUZZ_CHECK(enc != NULL);
	buf_init_fixed(&b, enc, elen);
	FUZZ_CHECK(b64_encode(&b, raw) && b.len == elen);
	/* One byte short: refused, and b is left as it was. */
	if (elen > 0) {
		buf_init_fixed(&b, enc, elen - 1);
		FUZZ_CHECK(!b64_encode(&b, raw) && b.len == 0);
		buf_init_fixed(&b, enc, elen);
		FUZZ_CHECK(b64_encode(&b, raw));
	}
	/* Fold it as a DKIM field would: CRLF TAB every fold characters. */
	folded = malloc(elen + 3 * (elen / fold + 1));
	FUZZ_CHECK(folded != NULL);
	for (i = 0; i < elen; i++) {
		if (i > 0 && i % fold == 0) {
			memcpy(folded + o, "\r\n\t", 3);
			o += 3;
		}
		folded[o++] = enc[i];
	}
	dec = malloc(b64_decoded_max(o) + 1);
	FUZZ_CHECK(dec != NULL);
	FUZZ_CHECK(
	    b64_decode(span_make(folded, o), dec, b64_decoded_max(o), &n));
	FUZZ_CHECK(n == raw.len);
	FUZZ_CHECK(n == 0 || memcmp(dec, raw.p, n) == 0);
	free(dec);
	free(folded);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	span in = span_make(data, size);

	check_decode(in);
	check_encode(in, size > 0 ? (size_t)data[0] % 77 + 1 : 1);
	return 0;
}
