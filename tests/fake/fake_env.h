/*
 * NAME
 *	fake_env.h - the fake-DNS environment of the core unit tests
 * SYNOPSIS
 *	struct fixture { struct fake_env fe; ... };
 *	fake_env_init(&f->fe);		in a cmocka setup
 *	return fake_env_fini(&f->fe);	last in its teardown
 * DESCRIPTION
 *	What test_auth.c, test_check.c and test_dmarc.c each built by hand:
 *	a synchronous fake_dns wired as env.dns, the default limits, the
 *	fake allocator (reset first, so a leak check sees only this test)
 *	and a 16 MiB arena. env.scan is left NULL. fake_env_init fails the
 *	running test through cmocka when the fake DNS cannot be made.
 * OWNERSHIP
 *	The caller owns the struct; init to fini, one test, one thread.
 */
#ifndef HANKO_TESTS_FAKE_ENV_H
#define HANKO_TESTS_FAKE_ENV_H

#include "core/arena.h"
#include "core/dns.h"
#include "core/env.h"

struct fake_dns;

struct fake_env {
	struct fake_dns *dns;
	struct dns_ops ops;
	struct hanko_limits lim;
	struct core_env env;
	struct arena ar;
};

void fake_env_init(struct fake_env *fe);
/* Frees the arena and the fake DNS; 0, or -1 when allocations leaked. */
int fake_env_fini(struct fake_env *fe);

#endif
