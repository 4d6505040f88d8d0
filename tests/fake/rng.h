/*
 * NAME
 *	rng.h - splitmix64, the tests' reproducible random numbers
 * SYNOPSIS
 *	uint64_t s = SEED;
 *	x = rng_next(&s);	i = rng_below(&s, n);
 * DESCRIPTION
 *	A fixed seed makes every run test the same inputs; each test keeps
 *	its own state word. rng_below(s, n) is rng_next(s) % n (n > 0); the
 *	slight modulo bias does not matter for test inputs.
 */
#ifndef HANKO_TESTS_RNG_H
#define HANKO_TESTS_RNG_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline size_t
rng_below(uint64_t *s, size_t n)
{
	return (size_t)(rng_next(s) % n);
}

#endif
