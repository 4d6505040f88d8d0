#include "scan.h"

#include <stddef.h>
#include <string.h>

/*
 * Table selection, BearSSL style: return an immutable table or NULL and
 * let the caller decide the fallback. __builtin_cpu_supports() reads the
 * CPUID data that libgcc (or compiler-rt) fills in before main(), and it
 * reports AVX2 only when the OS also saves the YMM state, so this
 * function has no side effects and no state of its own.
 */

const struct scan_ops *
scan_select(enum scan_isa isa)
{
	switch (isa) {
	case SCAN_AUTO:
		if (__builtin_cpu_supports("avx2"))
			return &scan_ops_avx2;
		return &scan_ops_sse2;
	case SCAN_REF:
		return &scan_ops_ref;
	case SCAN_SWAR:
		return &scan_ops_swar;
	case SCAN_SSE2:
		return __builtin_cpu_supports("sse2") ? &scan_ops_sse2 : NULL;
	case SCAN_AVX2:
		return __builtin_cpu_supports("avx2") ? &scan_ops_avx2 : NULL;
	}
	return NULL;
}

int
scan_isa_parse(const char *name)
{
	static const struct {
		const char *name;
		enum scan_isa isa;
	} names[] = {
		{ "auto", SCAN_AUTO },
		{ "ref", SCAN_REF },
		{ "swar", SCAN_SWAR },
		{ "sse2", SCAN_SSE2 },
		{ "avx2", SCAN_AVX2 },
	};
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return (int)names[i].isa;
	return -1;
}
