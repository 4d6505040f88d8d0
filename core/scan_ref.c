#include "scan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The reference table: plain byte loops that define the answers every
 * other table must reproduce. Clarity wins over speed here.
 */

static size_t
ref_byte2(const uint8_t *p, size_t len, uint8_t a, uint8_t b)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] == a || p[i] == b)
			break;
	return i;
}

static size_t
ref_cls(const uint8_t *p, size_t len, const struct scan_class *c)
{
	size_t i, k;

	for (i = 0; i < len; i++)
		for (k = 0; k < c->nbytes && k < sizeof(c->bytes); k++)
			if (p[i] == c->bytes[k])
				return i;
	return len;
}

static bool
is_wsp_or_eol(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * RFC 6376 §3.4.4: HTAB, CR and LF always need the canonicalizer's
 * attention; SP only when it starts a WSP run or may be trailing.
 */
static size_t
ref_relaxed_stop(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
			break;
		if (p[i] == ' ' && (i + 1 == len || is_wsp_or_eol(p[i + 1])))
			break;
	}
	return i;
}

const struct scan_ops scan_ops_ref = {
	.name = "ref",
	.byte2 = ref_byte2,
	.cls = ref_cls,
	.relaxed_stop = ref_relaxed_stop,
};
