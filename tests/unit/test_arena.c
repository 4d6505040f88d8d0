#include "core/arena.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/span.h"
#include "tests/fake/fake_alloc.h"

/*
 * The per-message arena and the bufs that grow from it: alignment,
 * limits, what arena_reset keeps, allocator failure through fake_alloc,
 * and the all-or-nothing rule for buf appends.
 */

static int
setup(void **state)
{
	(void)state;
	fake_alloc_reset();
	return 0;
}

/* Every test must give back every block it took. */
static int
teardown(void **state)
{
	(void)state;
	return fake_alloc_live() == 0 ? 0 : -1;
}

static void
t_arena_alloc_alignment(void **state)
{
	struct arena ar;
	uint8_t *p[200];
	size_t i, j;

	(void)state;
	arena_init(&ar, fake_alloc_get(), 1024, 1 << 20);
	for (i = 0; i < 200; i++) {
		p[i] = arena_alloc(&ar, i);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], (int)i, i);
	}
	/* No allocation overlapped another. */
	for (i = 0; i < 200; i++)
		for (j = 0; j < i; j++)
			assert_int_equal(p[i][j], (uint8_t)i);
	assert_true(fake_alloc_live() > 1);
	arena_fini(&ar);
	assert_int_equal(fake_alloc_live(), 0);
}

static void
t_arena_alloc_limit(void **state)
{
	struct arena ar;

	(void)state;
	arena_init(&ar, fake_alloc_get(), 1024, 100);
	assert_non_null(arena_alloc(&ar, 64));
	assert_null(arena_alloc(&ar, 48)); /* 64 + 48 > 100 */
	assert_int_equal(ar.used, 64);
	assert_non_null(arena_alloc(&ar, 30)); /* rounds to 32: 96 */
	assert_null(arena_alloc(&ar, 1));      /* rounds to 16: 112 */
	assert_null(arena_alloc(&ar, 0));
	assert_null(arena_alloc(&ar, SIZE_MAX));
	assert_null(arena_alloc(&ar, SIZE_MAX - 15));
	assert_int_equal(ar.used, 96);
	arena_reset(&ar);
	assert_int_equal(ar.used, 0);
	assert_non_null(arena_alloc(&ar, 96));
	arena_fini(&ar);

	/* Absurd sizes with no limit fail cleanly too. */
	arena_init(&ar, fake_alloc_get(), 1024, SIZE_MAX);
	assert_null(arena_alloc(&ar, SIZE_MAX));
	assert_null(arena_alloc(&ar, SIZE_MAX - 15));
	assert_non_null(arena_alloc(&ar, 10));
	arena_fini(&ar);
}

/* A request bigger than a block gets a block of its own. */
static void
t_arena_alloc_big(void **state)
{
	struct arena ar;
	uint8_t *a, *b, *c;

	(void)state;
	arena_init(&ar, fake_alloc_get(), 1024, 1 << 20);
	a = arena_alloc(&ar, 100);
	b = arena_alloc(&ar, 5000);
	c = arena_alloc(&ar, 100);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	memset(b, 0x55, 5000);
	memset(a, 0x11, 100);
	memset(c, 0x22, 100);
	assert_int_equal(b[0], 0x55);
	assert_int_equal(b[4999], 0x55);
	assert_int_equal((uintptr_t)b % 16, 0);
	arena_fini(&ar);
}

static void
t_arena_reset_keeps_first_block(void **state)
{
	struct arena ar;
	size_t i, n;
	void *first, *again;

	(void)state;
	arena_init(&ar, fake_alloc_get(), 1024, 1 << 20);
	arena_reset(&ar); /* on an empty arena: nothing to do */
	assert_int_equal(fake_alloc_live(), 0);
	first = arena_alloc(&ar, 16);
	for (i = 0; i < 100; i++)
		assert_non_null(arena_alloc(&ar, 200));
	assert_true(fake_alloc_live() > 5);
	arena_reset(&ar);
	assert_int_equal(fake_alloc_live(), 1);
	/* The next message reuses the kept block without allocating. */
	n = fake_alloc_count();
	again = arena_alloc(&ar, 16);
	assert_ptr_equal(again, first);
	for (i = 0; i < 4; i++)
		assert_non_null(arena_alloc(&ar, 200));
	assert_int_equal(fake_alloc_count(), n);
	arena_reset(&ar);
	arena_reset(&ar);
	assert_int_equal(fake_alloc_live(), 1);
	arena_fini(&ar);
	assert_int_equal(fake_alloc_live(), 0);
	arena_fini(&ar); /* fini twice is harmless */
}

/* An oversized first block is not worth keeping. */
static void
t_arena_reset_drops_big_first_block(void **state)
{
	struct arena ar;

	(void)state;
	arena_init(&ar, fake_alloc_get(), 1024, 1 << 20);
	assert_non_null(arena_alloc(&ar, 4096));
	assert_int_equal(fake_alloc_live(), 1);
	arena_reset(&ar);
	assert_int_equal(fake_alloc_live(), 0);
	assert_non_null(arena_alloc(&ar, 8));
	arena_fini(&ar);
}

static void
t_arena_alloc_allocator_fails(void **state)
{
	struct arena ar;
	uint8_t *a;

	(void)state;
	arena_init(&ar, fake_alloc_get(), 1024, 1 << 20);
	fake_alloc_fail_after(0);
	assert_null(arena_alloc(&ar, 16));
	assert_int_equal(ar.used, 0);
	assert_int_equal(fake_alloc_failed(), 1);

	/* One block allowed: it fills, the second block is refused. */
	fake_alloc_reset();
	fake_alloc_fail_after(1);
	a = arena_alloc(&ar, 512);
	assert_non_null(a);
	memset(a, 0x77, 512);
	assert_non_null(arena_alloc(&ar, 256));
	assert_null(arena_alloc(&ar, 1024));
	assert_int_equal(ar.used, 768);
	assert_null(arena_dup(&ar, "abc", 3 * 1024));
	/* What was handed out before stays valid. */
	assert_int_equal(a[511], 0x77);
	/* Allowed again, the arena carries on. */
	fake_alloc_reset();
	assert_non_null(arena_alloc(&ar, 1024));
	arena_fini(&ar);
}

/* Every allocation count at which the allocator can fail is survived. */
static void
t_arena_alloc_fail_sweep(void **state)
{
	struct arena ar;
	size_t k, i;

	(void)state;
	for (k = 0; k < 8; k++) {
		fake_alloc_reset();
		fake_alloc_fail_after(k);
		arena_init(&ar, fake_alloc_get(), 1024, 1 << 20);
		for (i = 0; i < 20; i++)
			if (arena_alloc(&ar, 700) == NULL)
				break;
		assert_int_equal(i, k < 20 ? k : 20);
		arena_fini(&ar);
		assert_int_equal(fake_alloc_live(), 0);
	}
}

static void
t_arena_dup_copies(void **state)
{
	struct arena ar;
	char src[] = "hello";
	char *d;

	(void)state;
	arena_init(&ar, fake_alloc_get(), 1024, 1 << 20);
	d = arena_dup(&ar, src, sizeof(src));
	assert_non_null(d);
	assert_ptr_not_equal(d, src);
	src[0] = 'j';
	assert_string_equal(d, "hello");
	assert_non_null(arena_dup(&ar, NULL, 0));
	arena_fini(&ar);
}

/* ---- bufs ---------------------------------------------------------- */

static void
t_buf_add_arena_growth(void **state)
{
	static uint8_t big[50000];
	struct arena ar;
	struct buf b;
	size_t i;

	(void)state;
	memset(big, 'z', sizeof(big));
	arena_init(&ar, fake_alloc_get(), 1024, 1 << 20);
	buf_init_arena(&b, &ar);
	assert_true(buf_add(&b, "", 0));
	for (i = 0; i < 10000; i++)
		assert_true(buf_add_byte(&b, (uint8_t)('a' + i % 26)));
	assert_int_equal(b.len, 10000);
	assert_true(b.cap >= b.len);
	for (i = 0; i < 10000; i++)
		assert_int_equal(b.p[i], 'a' + i % 26);
	/* One append larger than twice the capacity. */
	assert_true(buf_add(&b, big, sizeof(big)));
	assert_int_equal(b.len, 60000);
	assert_int_equal(b.p[9999], 'a' + 9999 % 26);
	assert_int_equal(b.p[10000], 'z');
	assert_int_equal(b.p[59999], 'z');
	arena_fini(&ar);
}

/* When the arena is spent the buf is left exactly as it was. */
static void
t_buf_add_arena_exhausted(void **state)
{
	struct arena ar;
	struct buf b;
	uint8_t big[600];

	(void)state;
	memset(big, 'x', sizeof(big));
	arena_init(&ar, fake_alloc_get(), 1024, 512);
	buf_init_arena(&b, &ar);
	assert_true(buf_add(&b, "abc", 3));
	assert_int_equal(b.cap, 256);
	assert_false(buf_add(&b, big, 300)); /* would need 512 more */
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.p, "abc", 3);
	assert_true(buf_add(&b, big, 253));
	assert_int_equal(b.len, 256);
	assert_false(buf_add_byte(&b, 'y'));
	assert_int_equal(b.len, 256);
	arena_fini(&ar);

	/* The allocator refusing is the same. */
	arena_init(&ar, fake_alloc_get(), 1024, 1 << 20);
	buf_init_arena(&b, &ar);
	fake_alloc_fail_after(0);
	assert_false(buf_add_cstr(&b, "abc"));
	assert_int_equal(b.len, 0);
	fake_alloc_reset();
	arena_fini(&ar);
}

/* A full fixed buf refuses the whole append and writes nothing. */
static void
t_buf_add_fixed_full(void **state)
{
	uint8_t mem[16];
	struct buf b;

	(void)state;
	memset(mem, 0xee, sizeof(mem));
	buf_init_fixed(&b, mem, 8);
	assert_true(buf_add(&b, "abcde", 5));
	assert_false(buf_add(&b, "fghi", 4));
	assert_false(buf_add_cstr(&b, "fghi"));
	assert_false(buf_add_span(&b, SPAN_LIT("fghi")));
	assert_false(buf_add_u64(&b, 1234));
	assert_int_equal(b.len, 5);
	assert_int_equal(mem[5], 0xee);
	assert_int_equal(mem[8], 0xee);
	assert_true(buf_add_u64(&b, 123));
	assert_false(buf_add_byte(&b, 'z'));
	assert_true(buf_add(&b, "", 0));
	assert_memory_equal(mem, "abcde123", 8);
	assert_int_equal(mem[8], 0xee);
	buf_init_fixed(&b, NULL, 0);
	assert_true(buf_add(&b, "", 0));
	assert_false(buf_add_byte(&b, 'a'));
}

static void
t_buf_add_u64_values(void **state)
{
	uint8_t mem[64];
	struct buf b;

	(void)state;
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(buf_add_u64(&b, 0));
	assert_true(buf_add_byte(&b, ' '));
	assert_true(buf_add_u64(&b, 10));
	assert_true(buf_add_byte(&b, ' '));
	assert_true(buf_add_u64(&b, UINT64_MAX));
	assert_true(
	    span_eq(buf_span(&b), SPAN_LIT("0 10 18446744073709551615")));
	buf_init_fixed(&b, mem, 19);
	assert_false(buf_add_u64(&b, UINT64_MAX));
	assert_int_equal(b.len, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_arena_alloc_alignment),
		T(t_arena_alloc_limit),
		T(t_arena_alloc_big),
		T(t_arena_reset_keeps_first_block),
		T(t_arena_reset_drops_big_first_block),
		T(t_arena_alloc_allocator_fails),
		T(t_arena_alloc_fail_sweep),
		T(t_arena_dup_copies),
		T(t_buf_add_arena_growth),
		T(t_buf_add_arena_exhausted),
		T(t_buf_add_fixed_full),
		T(t_buf_add_u64_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
