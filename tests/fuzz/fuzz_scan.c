/*
 * fuzz_scan: every scan table this CPU has must answer exactly as
 * scan_ops_ref (scan.h). Input: byte2's a and b, a class (nbytes as
 * given, clamped by the scanners, then its 8 bytes), then the payload,
 * at most PAYLOAD_MAX bytes. The payload is copied to a heap block of
 * exactly its size (an over-read is an ASan report) and scanned at every
 * alignment and every short length, at the start and at the very end of
 * the block, and whole with every tail length, without a quadratic sweep
 * of long inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/scan.h"
#include "tests/fuzz/common.h"

#define HEAD        11
#define PAYLOAD_MAX 4096
#define SWEEP       96  /* > 2 AVX2 blocks plus a 16-byte step */
#define LONG        256 /* bytes scanned at each alignment */
#define TAILS       40  /* an AVX2 block, a 16-byte step and more */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct params {
	uint8_t a, b;
	struct scan_class cls;
};

/* Compare every table in ops[] with the reference at (p, len). */
static void
cross(const struct scan_ops *const *ops, size_t nops, const uint8_t *p,
    size_t len, const struct params *pr)
{
	const struct scan_ops *ref = &scan_ops_ref;
	size_t b2 = ref->byte2(p, len, pr->a, pr->b);
	size_t cl = ref->cls(p, len, &pr->cls);
	size_t rs = ref->relaxed_stop(p, len);
	size_t k;

	FUZZ_CHECK(b2 <= len && cl <= len && rs <= len);
	for (k = 0; k < nops; k++) {
		FUZZ_CHECK(ops[k]->byte2(p, len, pr->a, pr->b) == b2);
		FUZZ_CHECK(ops[k]->cls(p, len, &pr->cls) == cl);
		FUZZ_CHECK(ops[k]->relaxed_stop(p, len) == rs);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum scan_isa isas[] = { SCAN_SWAR, SCAN_SSE2, SCAN_AVX2 };
	const struct scan_ops *ops[3];
	struct params pr;
	size_t n, o, k, nops = 0;
	uint8_t *p;

	if (size < HEAD)
		return 0;
	pr.a = data[0];
	pr.b = data[1];
	pr.cls.nbytes = data[2];
	memcpy(pr.cls.bytes, data + 3, sizeof(pr.cls.bytes));
	n = size - HEAD;
	if (n > PAYLOAD_MAX)
		n = PAYLOAD_MAX;
	if ((p = malloc(n ? n : 1)) == NULL)
		return 0;
	memcpy(p, data + HEAD, n);
	for (k = 0; k < sizeof(isas) / sizeof(isas[0]); k++)
		if ((ops[nops] = scan_select(isas[k])) != NULL)
			nops++;
	/*
	 * Every alignment with LONG bytes, every short length at the start
	 * and at the end of the block, every tail length of the whole
	 * payload, and the payload from offset 1.
	 */
	for (o = 0; o <= n && o <= SWEEP; o++) {
		cross(ops, nops, p + o, (n - o < LONG ? n - o : LONG), &pr);
		cross(ops, nops, p, o, &pr);
		cross(ops, nops, p + n - o, o, &pr);
	}
	for (o = 0; o <= n && o <= TAILS; o++)
		cross(ops, nops, p, n - o, &pr);
	cross(ops, nops, p + (n > 0), n - (n > 0), &pr);
	free(p);
	return 0;
}
