#include "cli_keymap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/dkim_key.h"

/* Keys live on their own so a growing table never moves them. */
struct slot {
	char *path;
	struct dkim_privkey *key;
};

struct cli_keymap {
	struct slot *v;
	size_t cap; /* power of two */
	size_t n;
};

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s != '\0') {
		h ^= (uint8_t)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct cli_keymap *
cli_keymap_new(void)
{
	struct cli_keymap *m = calloc(1, sizeof(*m));

	if (m != NULL && (m->v = calloc(64, sizeof(*m->v))) == NULL) {
		free(m);
		return NULL;
	}
	if (m != NULL)
		m->cap = 64;
	return m;
}

void
cli_keymap_free(struct cli_keymap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->cap; i++) {
		if (m->v[i].path == NULL)
			continue;
		dkim_privkey_fini(m->v[i].key);
		free(m->v[i].key);
		free(m->v[i].path);
	}
	free(m->v);
	free(m);
}

static struct slot *
probe(const struct cli_keymap *m, const char *path)
{
	size_t i = (size_t)fnv1a(path) & (m->cap - 1);

	while (m->v[i].path != NULL && strcmp(m->v[i].path, path) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

const struct dkim_privkey *
cli_keymap_find(const struct cli_keymap *m, const char *path)
{
	struct slot *s = probe(m, path);

	return s->path != NULL ? s->key : NULL;
}

static bool
grow(struct cli_keymap *m)
{
	struct cli_keymap big = { NULL, m->cap * 2, 0 };
	size_t i;

	if ((big.v = calloc(big.cap, sizeof(*big.v))) == NULL)
		return false;
	for (i = 0; i < m->cap; i++)
		if (m->v[i].path != NULL)
			*probe(&big, m->v[i].path) = m->v[i];
	free(m->v);
	m->v = big.v;
	m->cap = big.cap;
	return true;
}

const struct dkim_privkey *
cli_keymap_load(struct cli_keymap *m, const char *path, bool allow_unsafe,
    char *err, size_t errlen)
{
	struct slot *s = probe(m, path), fresh;

	if (s->path != NULL)
		return s->key;
	fresh.path = strdup(path);
	fresh.key = calloc(1, sizeof(*fresh.key));
	snprintf(err, errlen, "out of memory loading key %s", path);
	if (fresh.path == NULL || fresh.key == NULL ||
	    cli_key_load(path, allow_unsafe, fresh.key, err, errlen) != 0 ||
	    ((m->n + 1) * 2 > m->cap && !grow(m))) {
		if (fresh.key != NULL && fresh.key->pk != NULL)
			dkim_privkey_fini(fresh.key);
		free(fresh.key);
		free(fresh.path);
		return NULL;
	}
	s = probe(m, path);
	*s = fresh;
	m->n++;
	return s->key;
}

size_t
cli_keymap_count(const struct cli_keymap *m)
{
	return m->n;
}
