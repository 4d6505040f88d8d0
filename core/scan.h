/*
 * NAME
 *	scan.h - the canonicalizer's byte scanners, one immutable table per ISA
 * DESCRIPTION
 *	Every function returns the offset of the first matching byte in
 *	[p, p+len), or len when nothing matches. None reads outside
 *	[p, p+len). scan_ref.c defines the answers; the SWAR, SSE2 and AVX2
 *	tables must return exactly the same offsets (tests/unit/test_scan.c
 *	proves it exhaustively at every length and alignment up to 256).
 *
 *	relaxed_stop serves RFC 6376 §3.4.4 body canonicalization: it stops
 *	at HTAB, CR or LF, and at an SP that is followed by SP, HTAB, CR or
 *	LF or that is the last byte. A lone SP between words is passed over,
 *	so ordinary text is scanned in long runs.
 *
 *	scan_select() probes the CPU once and has no side effects; tools/
 *	stores its result in struct core_env.
 */
#ifndef HANKO_CORE_SCAN_H
#define HANKO_CORE_SCAN_H

#include <stddef.h>
#include <stdint.h>

enum scan_isa {
	SCAN_AUTO = 0,
	SCAN_REF,
	SCAN_SWAR,
	SCAN_SSE2,
	SCAN_AVX2,
};

/* A set of at most 8 distinct byte values. */
struct scan_class {
	uint8_t nbytes;
	uint8_t bytes[8];
};

struct scan_ops {
	const char *name;
	size_t (*byte2)(const uint8_t *p, size_t len, uint8_t a, uint8_t b);
	size_t (*cls)(const uint8_t *p, size_t len, const struct scan_class *c);
	size_t (*relaxed_stop)(const uint8_t *p, size_t len);
};

/*
 * The table for isa, or for the best ISA this CPU has when isa is
 * SCAN_AUTO. Returns NULL when the CPU lacks the requested ISA.
 */
const struct scan_ops *scan_select(enum scan_isa isa);
/* Parse "ref", "swar", "sse2", "avx2" or "auto"; -1 when unknown. */
int scan_isa_parse(const char *name);

extern const struct scan_ops scan_ops_ref;
extern const struct scan_ops scan_ops_swar;
extern const struct scan_ops scan_ops_sse2;
extern const struct scan_ops scan_ops_avx2;

#endif
