#include "core/scan.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * bench_scan - throughput of each scan table on newsletter-like text.
 *
 * The buffer is about 1 MB of words separated by single spaces, in lines
 * of about 76 bytes ending in CRLF, with an occasional double space, tab
 * or blank line. Each scanner is driven the way a canonicalizer drives
 * it: scan, step past the stop byte, scan again. Each result is the best
 * of several timed rounds; the stop count doubles as a cross-check that
 * all tables agree.
 */

#define TEXT_LEN (1u << 20)
#define ROUNDS   7
#define MIN_NS   50000000.0

enum kernel {
	K_BYTE2,
	K_CLS,
	K_RELAXED,
};

static const char *const kernel_names[] = { "byte2(CR,LF)", "cls(HT,CR,LF)",
	"relaxed_stop" };

static const char *const words[] = { "the", "newsletter", "of", "our",
	"community", "garden", "is", "out", "this", "week", "with", "news",
	"about", "tomatoes", "and", "a", "volunteer", "schedule", "for",
	"spring", "please", "read", "it", "carefully", "before", "Saturday" };

/* xorshift64: fixed seed, so every run measures the same text. */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Separator before the next word: mostly SP, sometimes SP SP or HT. */
static size_t
put_sep(uint8_t *p, uint64_t r)
{
	if (r % 40 == 0) {
		memcpy(p, "  ", 2);
		return 2;
	}
	p[0] = r % 97 == 1 ? '\t' : ' ';
	return 1;
}

static size_t
make_text(uint8_t *buf, size_t cap)
{
	uint64_t s = 0x68616e6b6f626e63ULL, r;
	size_t len = 0, col = 0, n;
	const char *w;

	while (cap - len > 128) {
		r = rng_next(&s);
		w = words[(r >> 8) % (sizeof(words) / sizeof(words[0]))];
		n = strlen(w);
		if (col > 0 && col + 1 + n > 76) {
			/* CRLF, and now and then a blank line. */
			memcpy(buf + len, "\r\n\r\n", 4);
			len += (r >> 20) % 12 == 0 ? 4 : 2;
			col = 0;
		} else if (col > 0) {
			n = put_sep(buf + len, r >> 32);
			len += n;
			col += n;
			n = strlen(w);
		}
		memcpy(buf + len, w, n);
		len += n;
		col += n;
	}
	memcpy(buf + len, "\r\n", 2);
	return len + 2;
}

/* Scan from every stop to the end, as a canonicalizer would. */
static size_t
drive(const struct scan_ops *o, enum kernel k, const uint8_t *p, size_t len)
{
	static const struct scan_class eol = { 3, { '\t', '\r', '\n' } };
	size_t pos = 0, nstops = 0;

	while (pos < len) {
		switch (k) {
		case K_BYTE2:
			pos += o->byte2(p + pos, len - pos, '\r', '\n');
			break;
		case K_CLS:
			pos += o->cls(p + pos, len - pos, &eol);
			break;
		case K_RELAXED:
			pos += o->relaxed_stop(p + pos, len - pos);
			break;
		}
		pos++;
		nstops++;
	}
	return nstops;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Best-of-ROUNDS throughput in MB/s; *nstops gets the stop count. */
static double
measure(const struct scan_ops *o, enum kernel k, const uint8_t *p, size_t len,
    size_t *nstops)
{
	double best = 0, t0, ns;
	size_t reps, r, round;

	for (reps = 1;; reps *= 2) {
		t0 = now_ns();
		for (r = 0; r < reps; r++)
			*nstops = drive(o, k, p, len);
		if (now_ns() - t0 > MIN_NS / 4)
			break;
	}
	for (round = 0; round < ROUNDS; round++) {
		t0 = now_ns();
		for (r = 0; r < reps; r++)
			*nstops = drive(o, k, p, len);
		ns = now_ns() - t0;
		if (best == 0 || ns < best)
			best = ns;
	}
	return (double)len * (double)reps / best * 1e3;
}

int
main(void)
{
	const struct scan_ops *ops[4];
	size_t nops = 0, i, len, nstops, ref_stops;
	double mbs, ref_mbs;
	uint8_t *text;
	int k, rc = 0;

	if ((text = malloc(TEXT_LEN)) == NULL)
		return 1;
	len = make_text(text, TEXT_LEN);
	ops[nops++] = &scan_ops_ref;
	ops[nops++] = &scan_ops_swar;
	if ((ops[nops] = scan_select(SCAN_SSE2)) != NULL)
		nops++;
	if ((ops[nops] = scan_select(SCAN_AVX2)) != NULL)
		nops++;
	printf("text: %zu bytes\n", len);
	for (k = K_BYTE2; k <= K_RELAXED; k++) {
		ref_mbs =
		    measure(ops[0], (enum kernel)k, text, len, &ref_stops);
		for (i = 0; i < nops; i++) {
			mbs = ref_mbs;
			nstops = ref_stops;
			if (i > 0)
				mbs = measure(
				    ops[i], (enum kernel)k, text, len, &nstops);
			printf("%-5s %-14s %9.1f MB/s %6.2fx  (%zu stops)\n",
			    ops[i]->name, kernel_names[k], mbs, mbs / ref_mbs,
			    nstops);
			if (nstops != ref_stops) {
				printf("MISMATCH: %s %s\n", ops[i]->name,
				    kernel_names[k]);
				rc = 1;
			}
		}
	}
	free(text);
	return rc;
}
