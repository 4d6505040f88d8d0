/*
 * fuzz_tags: dkim_tags_parse() on the input (RFC 6376 §3.2). Oracles:
 * every name and value lies inside the input, in order, trimmed and free
 * of ';', no name repeats,
 * dkim_tags_get() finds each tag's own value, the count respects
 * max_tags, and a failure leaves a NUL-terminated reason.
 */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/dkim_tags.h"
#include "tests/fuzz/common.h"

#define MAX_TAGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
inside(span s, span m)
{
	return s.p >= m.p && s.p + s.len <= m.p + m.len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena ar;
	static bool init;
	span in = span_make(data, size);
	struct dkim_tags tl;
	char err[160], name[64];
	const uint8_t *prev = data;
	dkim_tags_res r;
	size_t i, j;

	if (!init) {
		arena_init(&ar, fuzz_alloc(), 16 << 10, 8 << 20);
		init = true;
	}
	arena_reset(&ar);
	err[0] = '\0';
	r = dkim_tags_parse(in, MAX_TAGS, &ar, &tl, err, sizeof(err));
	if (r != DKIM_TAGS_OK) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(dkim_tags_res_str(r) != NULL);
		return 0;
	}
	FUZZ_CHECK(tl.n <= MAX_TAGS);
	for (i = 0; i < tl.n; i++) {
		const struct dkim_tag *t = &tl.t[i];
		const span *v;

		FUZZ_CHECK(t->name.len > 0);
		FUZZ_CHECK(span_eq(span_trim_ws(t->value), t->value));
		FUZZ_CHECK(memchr(t->value.p, ';', t->value.len) == NULL);
		FUZZ_CHECK(memchr(t->name.p, '=', t->name.len) == NULL);
		FUZZ_CHECK(inside(t->name, in) && inside(t->value, in));
		FUZZ_CHECK(t->name.p >= prev);
		FUZZ_CHECK(t->value.p >= t->name.p + t->name.len);
		prev = t->value.p + t->value.len;
		for (j = 0; j < i; j++)
			FUZZ_CHECK(!span_eq(tl.t[j].name, t->name));
		if (t->name.len >= sizeof(name) ||
		    memchr(t->name.p, '\0', t->name.len) != NULL)
			continue;
		memcpy(name, t->name.p, t->name.len);
		name[t->name.len] = '\0';
		v = dkim_tags_get(&tl, name);
		FUZZ_CHECK(
		    v != NULL && v->p == t->value.p && v->len == t->value.len);
	}
	return 0;
}
