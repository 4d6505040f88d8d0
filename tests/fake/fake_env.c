/*
 * The fake-DNS environment of the core unit tests; see fake_env.h.
 * Failures go through cmocka's assert macros, so these helpers may only
 * run inside a cmocka setup or test.
 */
#include "fake_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/fake/fake_alloc.h"
#include "tests/fake/fake_dns.h"

void
fake_env_init(struct fake_env *fe)
{
	fake_alloc_reset();
	memset(fe, 0, sizeof(*fe));
	fe->dns = fake_dns_new(FAKE_DNS_SYNC);
	assert_non_null(fe->dns);
	fake_dns_ops(fe->dns, &fe->ops);
	hanko_limits_default(&fe->lim);
	fe->env.alloc = fake_alloc_get();
	fe->env.dns = &fe->ops;
	fe->env.limits = &fe->lim;
	arena_init(&fe->ar, fake_alloc_get(), 4096, (size_t)16 << 20);
}

int
fake_env_fini(struct fake_env *fe)
{
	arena_fini(&fe->ar);
	fake_dns_free(fe->dns);
	return fake_alloc_live() == 0 ? 0 : -1;
}
