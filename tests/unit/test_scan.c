#include "core/scan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/fake/rng.h"

/*
 * Differential and edge-case tests for the scan tables. Every input is
 * placed twice: so that it ends exactly at a PROT_NONE page (any read
 * past p+len faults, as in picohttpparser's test.c), and at a chosen
 * alignment just after another PROT_NONE page, with the rest of that
 * page filled with bytes that would match if they were read. scan_ref.c
 * defines the answers; every other table must agree with it.
 */

#define MAXLEN   256
#define NALIGN   64
#define RNG_SEED 0x6b616e686f5f7363ULL

enum op {
	OP_BYTE2,
	OP_CLS,
	OP_RELAXED,
};

struct args {
	uint8_t a, b;
	struct scan_class cls;
};

struct fixture {
	uint8_t *map;
	size_t page;
	uint8_t *mid; /* the one read-write page, between two guards */
	const struct scan_ops *ops[4];
	size_t nops;
	uint64_t rng;
};

static int
group_setup(void **state)
{
	static struct fixture f;
	const struct scan_ops *o;

	f.page = (size_t)sysconf(_SC_PAGESIZE);
	f.map = mmap(
	    NULL, 3 * f.page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f.map == MAP_FAILED)
		return -1;
	f.mid = f.map + f.page;
	if (mprotect(f.mid, f.page, PROT_READ | PROT_WRITE) != 0)
		return -1;
	f.ops[f.nops++] = &scan_ops_ref;
	f.ops[f.nops++] = &scan_ops_swar;
	if ((o = scan_select(SCAN_SSE2)) != NULL)
		f.ops[f.nops++] = o;
	if ((o = scan_select(SCAN_AVX2)) != NULL)
		f.ops[f.nops++] = o;
	*state = &f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	return munmap(f->map, 3 * f->page);
}

static int
test_setup(void **state)
{
	struct fixture *f = *state;

	f->rng = RNG_SEED;
	return 0;
}

/* Copy src so that it ends at the guard page after mid. */
static const uint8_t *
place_tail(const struct fixture *f, const uint8_t *src, size_t len)
{
	uint8_t *p = f->mid + f->page - len;

	memcpy(p, src, len);
	return p;
}

/* Copy src to mid+align and surround it with poison bytes. */
static const uint8_t *
place_head(const struct fixture *f, const uint8_t *src, size_t len,
    size_t align, uint8_t poison)
{
	uint8_t *p = f->mid + align;

	memset(f->mid, poison, f->page);
	memcpy(p, src, len);
	return p;
}

static size_t
run(const struct scan_ops *o, enum op op, const uint8_t *p, size_t len,
    const struct args *a)
{
	switch (op) {
	case OP_BYTE2:
		return o->byte2(p, len, a->a, a->b);
	case OP_CLS:
		return o->cls(p, len, &a->cls);
	case OP_RELAXED:
		return o->relaxed_stop(p, len);
	}
	return SIZE_MAX;
}

static const char *
op_name(enum op op)
{
	switch (op) {
	case OP_BYTE2:
		return "byte2";
	case OP_CLS:
		return "cls";
	case OP_RELAXED:
		return "relaxed_stop";
	}
	return "?";
}

/* Every table must return want for p[0..len). */
static void
expect_all(const struct fixture *f, enum op op, const struct args *a,
    const uint8_t *p, size_t len, size_t want)
{
	size_t i, got;

	for (i = 0; i < f->nops; i++) {
		got = run(f->ops[i], op, p, len, a);
		if (got != want) {
			print_error("%s %s: len %zu: got %zu, want %zu\n",
			    f->ops[i]->name, op_name(op), len, got, want);
			fail();
		}
	}
}

/* Place src at the guard page and check every table returns want. */
static void
expect_tail(const struct fixture *f, enum op op, const struct args *a,
    const uint8_t *src, size_t len, size_t want)
{
	expect_all(f, op, a, place_tail(f, src, len), len, want);
}

/*
 * Byte alphabets for the random inputs. Repeats weight the draw: dense
 * WSP/EOL, space-heavy text, sparse stops in letters, bytes >= 0x80
 * around the values that matter, and (empty string) any byte at all.
 */
static const char *const alphabets[] = {
	" \t\r\na",
	"  aaa",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \t\r\n",
	"a \t\x80\x89\x8a\x8d\xa0\xff",
	"",
};

/* Bytes to match on: the interesting ones plus some >= 0x80. */
static const uint8_t pool[] = { ' ', '\t', '\r', '\n', 'a', 'b', 0x00, 0x80,
	0x89, 0xa0, 0xfe, 0xff };

static void
fill(struct fixture *f, uint8_t *buf, size_t len, const char *alpha)
{
	size_t i, n = strlen(alpha);

	for (i = 0; i < len; i++) {
		if (n == 0)
			buf[i] = (uint8_t)rng_next(&f->rng);
		else
			buf[i] = (uint8_t)alpha[rng_below(&f->rng, n)];
	}
}

/* A class of n distinct bytes drawn from pool. */
static void
draw_class(struct fixture *f, struct scan_class *c, size_t n)
{
	uint8_t b;
	size_t k;

	c->nbytes = 0;
	while (c->nbytes < n) {
		b = pool[rng_below(&f->rng, sizeof(pool))];
		for (k = 0; k < c->nbytes; k++)
			if (c->bytes[k] == b)
				break;
		if (k == c->nbytes)
			c->bytes[c->nbytes++] = b;
	}
}

static void
draw_args(struct fixture *f, enum op op, struct args *a, size_t align)
{
	memset(a, 0, sizeof(*a));
	a->a = pool[rng_below(&f->rng, sizeof(pool))];
	a->b = pool[rng_below(&f->rng, sizeof(pool))];
	if (op == OP_CLS)
		draw_class(f, &a->cls, 1 + align % 8);
}

/*
 * Filler around the head placement: bytes that would change the answer
 * if a table read them. For relaxed_stop, SP makes a trailing SP look
 * like a run and 'a' makes it look like a lone SP.
 */
static uint8_t
poison(enum op op, const struct args *a, size_t align)
{
	switch (op) {
	case OP_BYTE2:
		return a->a;
	case OP_CLS:
		return a->cls.bytes[0];
	case OP_RELAXED:
		return align & 1 ? ' ' : 'a';
	}
	return 0;
}

/*
 * For every alphabet, length 0..MAXLEN and alignment 0..NALIGN-1, one
 * random input; both placements must give the reference answer.
 */
static void
differential(struct fixture *f, enum op op)
{
	uint8_t buf[MAXLEN];
	const uint8_t *p;
	struct args a;
	size_t ai, len, align, want;

	for (ai = 0; ai < sizeof(alphabets) / sizeof(alphabets[0]); ai++)
		for (len = 0; len <= MAXLEN; len++)
			for (align = 0; align < NALIGN; align++) {
				fill(f, buf, len, alphabets[ai]);
				draw_args(f, op, &a, align);
				p = place_tail(f, buf, len);
				want = run(&scan_ops_ref, op, p, len, &a);
				expect_all(f, op, &a, p, len, want);
				p = place_head(
				    f, buf, len, align, poison(op, &a, align));
				expect_all(f, op, &a, p, len, want);
			}
}

static void
t_byte2_differential(void **state)
{
	differential(*state, OP_BYTE2);
}

static void
t_cls_differential(void **state)
{
	differential(*state, OP_CLS);
}

static void
t_relaxed_stop_differential(void **state)
{
	differential(*state, OP_RELAXED);
}

/* One match at each position of filler text, including the last byte. */
static void
t_byte2_match_every_position(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[MAXLEN];
	struct args a = { .a = '\r', .b = '\n' };
	size_t len, pos;

	for (len = 0; len <= MAXLEN; len++) {
		memset(buf, 'a', len);
		expect_tail(f, OP_BYTE2, &a, buf, len, len);
		for (pos = 0; pos < len; pos++) {
			memset(buf, 'a', len);
			buf[pos] = pos & 1 ? '\r' : '\n';
			if (pos + 1 < len)
				buf[len - 1] = '\n';
			expect_tail(f, OP_BYTE2, &a, buf, len, pos);
		}
	}
}

static void
t_byte2_last_byte(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[MAXLEN];
	struct args a = { .a = ':', .b = ';' };
	size_t len;

	for (len = 1; len <= MAXLEN; len++) {
		memset(buf, 'x', len);
		buf[len - 1] = len & 1 ? ':' : ';';
		expect_tail(f, OP_BYTE2, &a, buf, len, len - 1);
	}
}

/* Bytes >= 0x80, which signed compares or PSHUFB tricks could mishandle. */
static void
t_byte2_high_bytes(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[MAXLEN];
	struct args a = { .a = 0x80, .b = 0xff };
	size_t len, pos;

	for (len = 1; len <= MAXLEN; len++) {
		for (pos = 0; pos < len; pos++)
			buf[pos] = (uint8_t)(0x81 + pos % 0x7e);
		expect_tail(f, OP_BYTE2, &a, buf, len, len);
		pos = (len * 7) % len;
		buf[pos] = pos & 1 ? 0x80 : 0xff;
		expect_tail(f, OP_BYTE2, &a, buf, len, pos);
	}
}

static void
t_cls_empty(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[MAXLEN];
	struct args a = { .cls = { .nbytes = 0, .bytes = { 'a' } } };
	size_t len;

	for (len = 0; len <= MAXLEN; len++) {
		memset(buf, 'a', len);
		expect_tail(f, OP_CLS, &a, buf, len, len);
	}
}

/* Each byte of each class size, at every position, with high bytes. */
static void
t_cls_match_every_position(void **state)
{
	struct fixture *f = *state;
	static const uint8_t set[8] = { 0x00, '\t', '\r', '\n', 0x80, ' ', 0xff,
		'=' };
	uint8_t buf[MAXLEN];
	struct args a;
	size_t n, len, pos;

	for (n = 1; n <= 8; n++) {
		memset(&a, 0, sizeof(a));
		a.cls.nbytes = (uint8_t)n;
		memcpy(a.cls.bytes, set, n);
		for (len = 1; len <= MAXLEN; len++) {
			memset(buf, 0x7f, len);
			expect_tail(f, OP_CLS, &a, buf, len, len);
			for (pos = 0; pos < len; pos++) {
				memset(buf, 0x81, len);
				buf[pos] = set[pos % n];
				expect_tail(f, OP_CLS, &a, buf, len, pos);
			}
		}
	}
}

static const struct args no_args;

static void
t_relaxed_stop_sp_last_byte(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[MAXLEN];
	size_t len, i;

	for (len = 1; len <= MAXLEN; len++) {
		memset(buf, 'a', len);
		buf[len - 1] = ' ';
		expect_tail(f, OP_RELAXED, &no_args, buf, len, len - 1);
		/* "a a a ... a " : only the final SP stops. */
		memset(buf, ' ', len);
		for (i = len & 1; i < len; i += 2)
			buf[i] = 'a';
		expect_tail(f, OP_RELAXED, &no_args, buf, len,
		    buf[len - 1] == ' ' ? len - 1 : len);
	}
}

/* SP then SP, HTAB, CR or LF stops at the SP, at every position. */
static void
t_relaxed_stop_sp_then_wsp(void **state)
{
	struct fixture *f = *state;
	static const uint8_t next[4] = { ' ', '\t', '\r', '\n' };
	uint8_t buf[MAXLEN];
	size_t k, len, pos;

	for (k = 0; k < 4; k++)
		for (len = 2; len <= MAXLEN; len++)
			for (pos = 0; pos + 1 < len; pos++) {
				memset(buf, 'a', len);
				buf[pos] = ' ';
				buf[pos + 1] = next[k];
				expect_tail(
				    f, OP_RELAXED, &no_args, buf, len, pos);
			}
}

/* HTAB, CR and LF stop by themselves, at every position. */
static void
t_relaxed_stop_ctl_every_position(void **state)
{
	struct fixture *f = *state;
	static const uint8_t ctl[3] = { '\t', '\r', '\n' };
	uint8_t buf[MAXLEN];
	size_t len, pos;

	for (len = 1; len <= MAXLEN; len++)
		for (pos = 0; pos < len; pos++) {
			memset(buf, 'a', len);
			buf[pos] = ctl[pos % 3];
			expect_tail(f, OP_RELAXED, &no_args, buf, len, pos);
			if (pos == 0)
				continue;
			/* SP before HTAB/CR/LF stops at the SP. */
			buf[pos - 1] = ' ';
			expect_tail(f, OP_RELAXED, &no_args, buf, len, pos - 1);
		}
}

/* Words separated by single spaces are one run, up to the CRLF. */
static void
t_relaxed_stop_single_spaces(void **state)
{
	struct fixture *f = *state;
	static const char words[] = "the quick brown fox reads the letter ";
	uint8_t buf[MAXLEN];
	size_t len, i, want, n = sizeof(words) - 1;

	for (len = 2; len <= MAXLEN; len++) {
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)words[i % n];
		if (buf[len - 1] == ' ')
			buf[len - 1] = 'x';
		expect_tail(f, OP_RELAXED, &no_args, buf, len, len);
		buf[len - 2] = '\r';
		buf[len - 1] = '\n';
		/* An SP right before the CR is trailing WSP: stop there. */
		want = len >= 3 && buf[len - 3] == ' ' ? len - 3 : len - 2;
		expect_tail(f, OP_RELAXED, &no_args, buf, len, want);
	}
}

/*
 * Bytes >= 0x80 whose low 7 bits are WSP/EOL (0x89 0x8a 0x8d 0xa0) are
 * neither stops nor count as WSP after an SP.
 */
static void
t_relaxed_stop_high_bytes(void **state)
{
	struct fixture *f = *state;
	static const uint8_t hi[5] = { 0x89, 0x8a, 0x8d, 0xa0, 0xff };
	uint8_t buf[MAXLEN];
	size_t len, i;

	for (len = 1; len <= MAXLEN; len++) {
		for (i = 0; i < len; i++)
			buf[i] = i & 1 ? hi[(i / 2) % 5] : ' ';
		if (buf[len - 1] == ' ')
			buf[len - 1] = 0xa0;
		expect_tail(f, OP_RELAXED, &no_args, buf, len, len);
	}
}

static void
t_scan_select_explicit(void **state)
{
	(void)state;
	assert_ptr_equal(scan_select(SCAN_REF), &scan_ops_ref);
	assert_ptr_equal(scan_select(SCAN_SWAR), &scan_ops_swar);
	/* SSE2 is part of x86-64. */
	assert_ptr_equal(scan_select(SCAN_SSE2), &scan_ops_sse2);
	if (__builtin_cpu_supports("avx2"))
		assert_ptr_equal(scan_select(SCAN_AVX2), &scan_ops_avx2);
	else
		assert_null(scan_select(SCAN_AVX2));
	assert_null(scan_select((enum scan_isa)99));
}

static void
t_scan_select_auto(void **state)
{
	const struct scan_ops *o = scan_select(SCAN_AUTO);

	(void)state;
	assert_non_null(o);
	assert_ptr_equal(o,
	    __builtin_cpu_supports("avx2") ? &scan_ops_avx2 : &scan_ops_sse2);
	/* No side effects: asking again gives the same table. */
	assert_ptr_equal(scan_select(SCAN_AUTO), o);
}

static void
t_scan_ops_names(void **state)
{
	(void)state;
	assert_string_equal(scan_ops_ref.name, "ref");
	assert_string_equal(scan_ops_swar.name, "swar");
	assert_string_equal(scan_ops_sse2.name, "sse2");
	assert_string_equal(scan_ops_avx2.name, "avx2");
}

static void
t_scan_isa_parse_names(void **state)
{
	(void)state;
	assert_int_equal(scan_isa_parse("auto"), SCAN_AUTO);
	assert_int_equal(scan_isa_parse("ref"), SCAN_REF);
	assert_int_equal(scan_isa_parse("swar"), SCAN_SWAR);
	assert_int_equal(scan_isa_parse("sse2"), SCAN_SSE2);
	assert_int_equal(scan_isa_parse("avx2"), SCAN_AVX2);
}

static void
t_scan_isa_parse_unknown(void **state)
{
	(void)state;
	assert_int_equal(scan_isa_parse(""), -1);
	assert_int_equal(scan_isa_parse("AVX2"), -1);
	assert_int_equal(scan_isa_parse("avx512"), -1);
	assert_int_equal(scan_isa_parse("sse"), -1);
	assert_int_equal(scan_isa_parse("ref "), -1);
	assert_int_equal(scan_isa_parse(NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_byte2_differential, test_setup),
		cmocka_unit_test_setup(t_cls_differential, test_setup),
		cmocka_unit_test_setup(t_relaxed_stop_differential, test_setup),
		cmocka_unit_test(t_byte2_match_every_position),
		cmocka_unit_test(t_byte2_last_byte),
		cmocka_unit_test(t_byte2_high_bytes),
		cmocka_unit_test(t_cls_empty),
		cmocka_unit_test(t_cls_match_every_position),
		cmocka_unit_test(t_relaxed_stop_sp_last_byte),
		cmocka_unit_test(t_relaxed_stop_sp_then_wsp),
		cmocka_unit_test(t_relaxed_stop_ctl_every_position),
		cmocka_unit_test(t_relaxed_stop_single_spaces),
		cmocka_unit_test(t_relaxed_stop_high_bytes),
		cmocka_unit_test(t_scan_select_explicit),
		cmocka_unit_test(t_scan_select_auto),
		cmocka_unit_test(t_scan_ops_names),
		cmocka_unit_test(t_scan_isa_parse_names),
		cmocka_unit_test(t_scan_isa_parse_unknown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
