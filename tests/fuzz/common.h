/*
 * NAME
 *	common.h - shared plumbing for the libFuzzer targets
 * DESCRIPTION
 *	Every target in tests/fuzz/ links common.c. It supplies a libc
 *	struct hanko_alloc, a core_env with the default limits, and
 *	fuzz_dns, an in-memory struct dns_ops with a fixed set of names (or
 *	a target's own answer function) that answers either before txt()
 *	or query() returns or later from a queue (fuzz_dns_run), as io/
 *	would. Like tests/fake/fake_dns.c, each answer
 *	is built in fresh heap memory that is poisoned and freed right after
 *	done() returns, so core/ keeping an answer span trips ASan; unlike
 *	it, nothing grows per query, so a fuzzer can run it for hours.
 *
 *	FUZZ_CHECK(cond) aborts with the failing condition: it is the
 *	oracle of every target (assert would vanish under NDEBUG).
 * OWNERSHIP
 *	Process lifetime, single-threaded, like libFuzzer's loop.
 */
#ifndef HANKO_TESTS_FUZZ_COMMON_H
#define HANKO_TESTS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dns.h"
#include "core/env.h"
#include "core/span.h"

#define FUZZ_CHECK(cond)                                      \
	do {                                                  \
		if (!(cond))                                  \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

/*
 * For the targets' own reference code: coverage of the oracle guides
 * nothing, and its comparison tracing costs more than the code under test.
 */
#if defined(__clang__)
#define FUZZ_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define FUZZ_NOCOV
#endif

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* A libc allocator for core/ (sanitizers see every block). */
const struct hanko_alloc *fuzz_alloc(void);
/* env with the default limits, the given dns (may be NULL) and scanner. */
void fuzz_env_init(
    struct core_env *env, struct hanko_limits *lim, const struct dns_ops *dns);

/*
 * A file holding data[0..size), for loaders that take a path: a memfd
 * named by /proc/self/fd/N, made once per slot (0..3) and rewritten on
 * each call, so no file outlives a crash. Returns the path.
 */
const char *fuzz_file(unsigned slot, const uint8_t *data, size_t size);

/* One name the fake DNS knows: TXT strings (NULL-terminated) or an rcode. */
struct fuzz_dns_name {
	const char *name;
	enum dns_rcode rc;
	const char *txt[3];
};

#define FUZZ_DNS_QMAX 512

struct fuzz_dns_q {
	uint16_t qtype;
	char name[256];
	size_t len;
	dns_done_fn *done;
	void *cookie;
};

#define FUZZ_DNS_DYNMAX 3

/*
 * A target's own answers: fill ans (rcode, and records of any type) for
 * (qtype, qname); its spans and arrays must stay valid during the call
 * only. fuzz_dns copies them to the heap, answers, then poisons and
 * frees the copies.
 */
typedef void fuzz_dns_answer_fn(
    void *ctx, uint16_t qtype, span qname, struct dns_answer *ans);

struct fuzz_dns {
	const struct fuzz_dns_name *names;
	size_t nnames;
	/*
	 * Names under dyn_suffix not in names[] answer dyn_txt[0..ndyn)
	 * (spans borrowed from the caller, e.g. from the input, so the
	 * fuzzer can write key records), or NXDOMAIN when ndyn is 0.
	 */
	const char *dyn_suffix;
	span dyn_txt[FUZZ_DNS_DYNMAX];
	size_t ndyn;
	/* When set, answers every query instead of names[] and dyn_*. */
	fuzz_dns_answer_fn *answer;
	void *answer_ctx;
	bool queued; /* answer from fuzz_dns_run(), not at once */
	bool lifo;   /* run newest query first */
	struct fuzz_dns_q q[FUZZ_DNS_QMAX];
	size_t nq;
	size_t nqueries; /* since the last fuzz_dns_reset */
};

/* ops->txt and ops->query (every dns_qtype). */
void fuzz_dns_ops(struct fuzz_dns *fd, struct dns_ops *out);
/* Drop queued queries (unanswered) and zero the counters. */
void fuzz_dns_reset(struct fuzz_dns *fd);
/* Answer every queued query, and those queued meanwhile; how many. */
size_t fuzz_dns_run(struct fuzz_dns *fd);

/*
 * A DNS the input writes: the input's lines are TXT records, and every
 * answer is a pure function of (lines, qtype, name), so a target can run
 * the same check answered synchronously and queued in either order and
 * compare. A name in fixed[] asks TXT for its line (NXDOMAIN when the
 * input has fewer lines). Otherwise a hash of (qtype, name) picks the
 * rcode (NXDOMAIN, TEMPFAIL, NODATA or OK) and the records: for TXT one
 * line; for A up to 3 addresses, 192.0.2.1 (AAAA: 2001:db8::1, with
 * FUZZ_FDNS_AAAA), each with its last bit flipped by the hash under
 * FUZZ_FDNS_ADDR_VARY; for MX up to 12 exchanges h<n>.fuzz.example, some
 * empty (the null MX), and the same names without preferences for PTR
 * with FUZZ_FDNS_PTR. Types not answered get the rcode and no records.
 * Set it up with memset, fixed, flags and line[0..nlines), then give
 * fuzz_fdns_answer and it as fuzz_dns's answer and answer_ctx.
 */
#define FUZZ_FDNS_LINES 64

struct fuzz_fdns_fixed {
	const char *name;
	size_t line;
};

enum fuzz_fdns_flag {
	FUZZ_FDNS_AAAA = 1 << 0,
	FUZZ_FDNS_PTR = 1 << 1,
	FUZZ_FDNS_ADDR_VARY = 1 << 2,
};

struct fuzz_fdns {
	const struct fuzz_fdns_fixed *fixed;
	size_t nfixed;
	unsigned flags; /* enum fuzz_fdns_flag */
	span line[FUZZ_FDNS_LINES];
	size_t nlines;
	/* Room for one synthesized answer. */
	span txt[1];
	struct dns_addr addr[4];
	span names[13];
	uint16_t pref[13];
	char nb[13][32];
};

/* A fuzz_dns_answer_fn; ctx is a struct fuzz_fdns. */
void fuzz_fdns_answer(
    void *ctx, uint16_t qtype, span qname, struct dns_answer *ans);

/* The key records of tests/vectors/dkim/keys.zone, as fuzz_dns names. */
extern const struct fuzz_dns_name fuzz_vector_names[];
extern const size_t fuzz_vector_nnames;

#endif
