#include "cli_table.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hdr.h"
#include "core/span.h"

/* One non-empty line of a flat data set: key, then the rest as value. */
struct tline {
	char *key;
	char *val;
	unsigned line;
};

/*
 * Open-addressing hash index over the keys of a table, built once at load
 * so that a lookup costs a few probes rather than a scan of every line:
 * an ESP KeyTable can name 100,000 domains, and the SigningTable is
 * checked against it line by line at load (O(n^2) by scanning). The
 * slots are kept at most half full, so linear probing stays short, and
 * each carries its key's hash so that a probe, and above all a miss (most
 * of the ~6 SigningTable lookups per message miss), reads the key string
 * only when the hashes agree. Only the first line with a given key is
 * indexed, so a repeated key keeps its first line (see cli_table.h). Holds
 * indices, not pointers, so the table array may move before the build.
 */
struct hslot {
	size_t line; /* line index + 1; 0 for an empty slot */
	size_t hash;
};

struct hidx {
	struct hslot *slot;
	size_t mask; /* slot count - 1; the count is a power of two */
	bool icase;  /* keys compare ASCII case-insensitively */
};

/* The key of line i of a table, for struct hidx. */
typedef const char *hidx_key_fn(const void *tab, size_t i);

struct kent {
	struct cli_key_entry pub;
	char *key; /* owns pub.name */
	char *val; /* owns domain, selector and keypath, split in place */
};

struct cli_keytable {
	struct kent *v;
	size_t n;
	struct hidx byname; /* exact, as OpenDKIM's KeyTable */
};

struct sent {
	char *pat; /* lower case */
	char *val; /* owns keyname and signer, split in place */
	const char *keyname;
	const char *signer;
	unsigned line;
};

struct cli_signtable {
	struct sent *v;
	size_t n;
	bool refile;
	struct hidx bypat; /* plain form only; refile patterns are globs */
};

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s &&
	    (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static unsigned char
ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/*
 * FNV-1a over the (ASCII-lowered, when icase) bytes. The high half is
 * folded in because the index uses only the low bits.
 */
static size_t
hidx_hash(const char *s, bool icase)
{
	uint64_t h = 0xcbf29ce484222325u;
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		h ^= icase ? ascii_lower(c) : c;
		h *= 0x100000001b3u;
	}
	return (size_t)(h ^ (h >> 32));
}

/*
 * ASCII only, as OpenDKIM opens the SigningTable with
 * DKIMF_DB_FLAG_ASCIIONLY; strcasecmp() would follow the locale.
 */
static bool
hidx_eq(const char *a, const char *b, bool icase)
{
	if (!icase)
		return strcmp(a, b) == 0;
	while (*a != '\0' &&
	    ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b);
}

/* The slot of key s (hash hs), or of the empty one ending its run. */
static size_t
hidx_probe(const struct hidx *x, const void *tab, hidx_key_fn *key,
    const char *s, size_t hs)
{
	const struct hslot *e;
	size_t i = hs & x->mask;

	for (e = &x->slot[i]; e->line != 0; e = &x->slot[i]) {
		if (e->hash == hs &&
		    hidx_eq(key(tab, e->line - 1), s, x->icase))
			break;
		i = (i + 1) & x->mask;
	}
	return i;
}

/* Index the n lines of tab in file order; 0 or -ENOMEM. */
static int
hidx_build(
    struct hidx *x, const void *tab, size_t n, hidx_key_fn *key, bool icase)
{
	struct hslot *e;
	size_t cap = 16, i, hs;

	while (cap / 2 < n) {
		if (cap > SIZE_MAX / 2 / sizeof(*x->slot))
			return -ENOMEM;
		cap *= 2;
	}
	if ((x->slot = calloc(cap, sizeof(*x->slot))) == NULL)
		return -ENOMEM;
	x->mask = cap - 1;
	x->icase = icase;
	for (i = 0; i < n; i++) {
		hs = hidx_hash(key(tab, i), icase);
		e = &x->slot[hidx_probe(x, tab, key, key(tab, i), hs)];
		if (e->line == 0) { /* a repeated key keeps its first line */
			e->line = i + 1;
			e->hash = hs;
		}
	}
	return 0;
}

/* The first line whose key is s, or SIZE_MAX. */
static size_t
hidx_find(
    const struct hidx *x, const void *tab, hidx_key_fn *key, const char *s)
{
	const struct hslot *e;

	if (x->slot == NULL)
		return SIZE_MAX;
	e = &x->slot[hidx_probe(x, tab, key, s, hidx_hash(s, x->icase))];
	return e->line != 0 ? e->line - 1 : SIZE_MAX;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + ('a' - 'A'));
}

static void
tlines_free(struct tline *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].val);
	}
	free(v);
}

/* Split one line into key and value; 0, 1 for a blank line, or -errno. */
static int
tline_parse(char *buf, unsigned line, struct tline *t, const char *path,
    char *err, size_t errlen)
{
	char *s, *v;

	if ((s = strchr(buf, '#')) != NULL)
		*s = '\0';
	s = trim(buf);
	if (*s == '\0')
		return 1;
	v = s + strcspn(s, " \t");
	if (*v != '\0')
		*v++ = '\0';
	v = trim(v);
	if (*v == '\0') {
		snprintf(err, errlen, "%s:%u: missing value after \"%s\"", path,
		    line, s);
		return -EINVAL;
	}
	t->line = line;
	t->key = strdup(s);
	t->val = strdup(v);
	if (t->key == NULL || t->val == NULL) {
		free(t->key);
		free(t->val);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	return 0;
}

static int
tlines_grow(struct tline **v, size_t *cap, size_t n)
{
	struct tline *nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 32;
	if ((nv = realloc(*v, ncap * sizeof(*nv))) == NULL)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static int
tlines_read(const char *path, struct tline **out, size_t *nout, char *err,
    size_t errlen)
{
	struct tline *v = NULL;
	size_t n = 0, cap = 0, bufcap = 0;
	char *buf = NULL;
	unsigned line = 0;
	FILE *fp;
	int rc = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	while (getline(&buf, &bufcap, fp) != -1) {
		line++;
		if ((rc = tlines_grow(&v, &cap, n)) != 0) {
			snprintf(err, errlen, "%s: out of memory", path);
			break;
		}
		rc = tline_parse(buf, line, &v[n], path, err, errlen);
		if (rc < 0)
			break;
		if (rc == 0)
			n++;
		rc = 0;
	}
	free(buf);
	fclose(fp);
	if (rc != 0) {
		tlines_free(v, n);
		return rc;
	}
	*out = v;
	*nout = n;
	return 0;
}

/* OpenDKIM's dkimf_loadkey(): only these prefixes name a file. */
static bool
is_key_path(const char *s)
{
	return s[0] == '/' || strncmp(s, "./", 2) == 0 ||
	    strncmp(s, "../", 3) == 0;
}

static int
kent_parse(struct kent *k, const char *path, char *err, size_t errlen)
{
	char *sel, *kp;

	k->pub.name = k->key;
	k->pub.domain = k->val;
	sel = strchr(k->val, ':');
	kp = sel != NULL ? strchr(sel + 1, ':') : NULL;
	if (kp == NULL || sel == k->val || kp == sel + 1 || kp[1] == '\0') {
		snprintf(err, errlen,
		    "%s:%u: key \"%s\": expected domain:selector:keypath", path,
		    k->pub.line, k->key);
		return -EINVAL;
	}
	*sel++ = '\0';
	*kp++ = '\0';
	k->pub.selector = sel;
	k->pub.keypath = kp;
	if (!is_key_path(kp)) {
		snprintf(err, errlen,
		    "%s:%u: key \"%s\": inline private keys are not "
		    "supported; give a path starting with /, ./ or ../",
		    path, k->pub.line, k->key);
		return -EINVAL;
	}
	return 0;
}

static const char *
strip_prefix(const char *spec, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(spec, prefix, n) == 0 ? spec + n : NULL;
}

static const char *
kent_name(const void *tab, size_t i)
{
	return ((const struct kent *)tab)[i].pub.name;
}

int
cli_keytable_load(
    const char *path, struct cli_keytable **out, char *err, size_t errlen)
{
	struct cli_keytable *kt;
	struct tline *t;
	size_t i, n;
	int rc;

	if (strip_prefix(path, "file:") != NULL)
		path += strlen("file:");
	if ((rc = tlines_read(path, &t, &n, err, errlen)) != 0)
		return rc;
	kt = calloc(1, sizeof(*kt));
	if (kt == NULL || (kt->v = calloc(n ? n : 1, sizeof(*kt->v))) == NULL) {
		free(kt);
		tlines_free(t, n);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		kt->v[i].key = t[i].key;
		kt->v[i].val = t[i].val;
		kt->v[i].pub.line = t[i].line;
	}
	kt->n = n;
	free(t);
	for (i = 0; i < n; i++)
		if ((rc = kent_parse(&kt->v[i], path, err, errlen)) != 0) {
			cli_keytable_free(kt);
			return rc;
		}
	if ((rc = hidx_build(&kt->byname, kt->v, n, kent_name, false)) != 0) {
		cli_keytable_free(kt);
		snprintf(err, errlen, "%s: out of memory", path);
		return rc;
	}
	*out = kt;
	return 0;
}

void
cli_keytable_free(struct cli_keytable *kt)
{
	size_t i;

	if (kt == NULL)
		return;
	for (i = 0; i < kt->n; i++) {
		free(kt->v[i].key);
		free(kt->v[i].val);
	}
	free(kt->v);
	free(kt->byname.slot);
	free(kt);
}

size_t
cli_keytable_count(const struct cli_keytable *kt)
{
	return kt->n;
}

const struct cli_key_entry *
cli_keytable_entry(const struct cli_keytable *kt, size_t i)
{
	return i < kt->n ? &kt->v[i].pub : NULL;
}

/* First entry with this name (OpenDKIM's file data sets: first wins). */
static const struct cli_key_entry *
keytable_find(const struct cli_keytable *kt, const char *name)
{
	size_t i = hidx_find(&kt->byname, kt->v, kent_name, name);

	return i < kt->n ? &kt->v[i].pub : NULL;
}

static int
sent_parse(struct sent *s, const struct cli_keytable *kt, const char *path,
    char *err, size_t errlen)
{
	char *c;

	lower(s->pat);
	s->keyname = s->val;
	s->signer = "";
	if ((c = strchr(s->val, ':')) != NULL) {
		*c = '\0';
		s->signer = c + 1;
	}
	if (*s->keyname == '\0') {
		snprintf(err, errlen, "%s:%u: missing key name", path, s->line);
		return -EINVAL;
	}
	if (strcmp(s->keyname, "%") != 0 &&
	    keytable_find(kt, s->keyname) == NULL) {
		snprintf(err, errlen,
		    "%s:%u: unknown key name \"%s\" (not in the KeyTable)",
		    path, s->line, s->keyname);
		return -EINVAL;
	}
	return 0;
}

static const char *
sent_pat(const void *tab, size_t i)
{
	return ((const struct sent *)tab)[i].pat;
}

/* Resolve the data set type; NULL (err set) for types we cannot read. */
static const char *
signtable_path(const char *spec, bool *refile, char *err, size_t errlen)
{
	const char *p;

	*refile = false;
	if ((p = strip_prefix(spec, "refile:")) != NULL) {
		*refile = true;
		return p;
	}
	if ((p = strip_prefix(spec, "file:")) != NULL)
		return p;
	p = spec + strspn(spec, "abcdefghijklmnopqrstuvwxyz");
	if (p != spec && *p == ':') {
		snprintf(err, errlen,
		    "%s: unsupported data set type; use a file, file: or "
		    "refile:",
		    spec);
		return NULL;
	}
	return spec;
}

int
cli_signtable_load(const char *spec, const struct cli_keytable *kt,
    struct cli_signtable **out, char *err, size_t errlen)
{
	struct cli_signtable *st;
	const char *path;
	struct tline *t = NULL;
	size_t i, n = 0;
	bool refile;
	int rc;

	if ((path = signtable_path(spec, &refile, err, errlen)) == NULL)
		return -EINVAL;
	if ((rc = tlines_read(path, &t, &n, err, errlen)) != 0)
		return rc;
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->v = calloc(n ? n : 1, sizeof(*st->v))) == NULL) {
		free(st);
		tlines_free(t, n);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	st->refile = refile;
	for (i = 0; i < n; i++) {
		st->v[i].pat = t[i].key;
		st->v[i].val = t[i].val;
		st->v[i].line = t[i].line;
	}
	st->n = n;
	free(t);
	for (i = 0; i < n; i++)
		if ((rc = sent_parse(&st->v[i], kt, path, err, errlen)) != 0) {
			cli_signtable_free(st);
			return rc;
		}
	if (!refile &&
	    (rc = hidx_build(&st->bypat, st->v, n, sent_pat, true)) != 0) {
		cli_signtable_free(st);
		snprintf(err, errlen, "%s: out of memory", path);
		return rc;
	}
	*out = st;
	return 0;
}

void
cli_signtable_free(struct cli_signtable *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->n; i++) {
		free(st->v[i].pat);
		free(st->v[i].val);
	}
	free(st->v);
	free(st->bypat.slot);
	free(st);
}

/* Copy in to out replacing each '%' by sub; false if it does not fit. */
static bool
reptoken(char *out, size_t cap, const char *in, const char *sub)
{
	size_t o = 0, sl = strlen(sub);

	for (; *in != '\0'; in++) {
		if (*in == '%') {
			if (sl >= cap - o)
				return false;
			memcpy(out + o, sub, sl);
			o += sl;
		} else {
			if (o + 1 >= cap)
				return false;
			out[o++] = *in;
		}
	}
	out[o] = '\0';
	return true;
}

/*
 * The reason a From domain was not used, with the domain shown in
 * printable ASCII only: it goes to a terminal and into a reason file.
 */
static void
why_not_host(char *why, size_t whylen, const char *domain)
{
	char shown[104];
	size_t i;

	for (i = 0; i < sizeof(shown) - 4 && domain[i] != '\0'; i++) {
		unsigned char c = (unsigned char)domain[i];

		shown[i] = domain[i];
		if (c <= ' ' || c >= 0x7f || c == '"')
			shown[i] = '?';
	}
	snprintf(
	    shown + i, sizeof(shown) - i, "%s", domain[i] != '\0' ? "..." : "");
	snprintf(why, whylen,
	    "From domain \"%s\" is not a host name; it cannot stand for %% "
	    "in the key tables",
	    shown);
}

/* Does the line (or its KeyTable entry) take the From domain? */
static bool
uses_from_domain(const struct sent *s, const struct cli_key_entry *k)
{
	return strcmp(s->keyname, "%") == 0 || strchr(s->signer, '%') != NULL ||
	    (k != NULL && strcmp(k->domain, "%") == 0);
}

/*
 * Fill one key reference for a matched line; false if it cannot be. The
 * From domain is message content: it becomes part of a file name, d= and
 * i= only when it is a host name, so "a@../../etc/x" cannot lead the key
 * path out of its directory, nor a U-label give one domain two files.
 */
static bool
ref_fill(const struct sent *s, const struct cli_keytable *kt,
    const char *domain, struct cli_key_ref *r, char *why, size_t whylen)
{
	const struct cli_key_entry *k;
	const char *d;

	if (strcmp(s->keyname, "%") == 0)
		k = keytable_find(kt, domain);
	else
		k = keytable_find(kt, s->keyname);
	if (uses_from_domain(s, k) && !hdr_domain_is_host(span_cstr(domain))) {
		if (why != NULL && why[0] == '\0')
			why_not_host(why, whylen, domain);
		return false;
	}
	if (k == NULL)
		return false;
	d = strcmp(k->domain, "%") == 0 ? domain : k->domain;
	if (strlen(d) >= sizeof(r->domain))
		return false;
	memcpy(r->domain, d, strlen(d) + 1);
	r->name = k->name;
	r->selector = k->selector;
	return reptoken(r->keypath, sizeof(r->keypath), k->keypath, d) &&
	    reptoken(r->signer, sizeof(r->signer), s->signer, domain);
}

/* '*' matches any run, anything else itself; both sides are lower case. */
static bool
glob_match(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p != '\0' && *p == *s) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

struct match {
	const struct cli_signtable *st;
	const struct cli_keytable *kt;
	const char *domain;
	bool multiple;
	struct cli_key_ref *out;
	size_t maxout, n;
	char *why;
	size_t whylen;
};

/* Record a matched line; true when the search should stop. */
static bool
match_emit(struct match *m, const struct sent *s)
{
	if (m->n < m->maxout &&
	    ref_fill(s, m->kt, m->domain, &m->out[m->n], m->why, m->whylen))
		m->n++;
	return m->n >= m->maxout || (!m->multiple && m->n > 0);
}

static void
match_refile(struct match *m, const char *addr)
{
	size_t i;

	for (i = 0; i < m->st->n; i++)
		if (glob_match(m->st->v[i].pat, addr) &&
		    match_emit(m, &m->st->v[i]))
			return;
}

/*
 * Look up one exact key; true when the search should stop. Only the key's
 * first line is used, even for multiple signatures: OpenDKIM does one
 * dkimf_db_get() per key.
 */
static bool
match_key(struct match *m, const char *key)
{
	size_t i = hidx_find(&m->st->bypat, m->st->v, sent_pat, key);

	return i < m->st->n && match_emit(m, &m->st->v[i]);
}

/* opendkim.c dkimf_apply_signtable(), non-refile branch, in order. */
static void
match_plain(struct match *m, const char *user, const char *domain)
{
	char key[1024];
	const char *p;

	snprintf(key, sizeof(key), "%s@%s", user, domain);
	if (match_key(m, key) || match_key(m, domain))
		return;
	for (p = strchr(domain, '.'); p != NULL; p = strchr(p + 1, '.')) {
		snprintf(key, sizeof(key), "%s@%s", user, p);
		if (match_key(m, key) || match_key(m, p))
			return;
	}
	snprintf(key, sizeof(key), "%s@*", user);
	if (match_key(m, key))
		return;
	(void)match_key(m, "*");
}

size_t
cli_signtable_match(const struct cli_signtable *st,
    const struct cli_keytable *kt, const char *from_addr, bool multiple,
    struct cli_key_ref *out, size_t maxout, char *why, size_t whylen)
{
	char user[512], domain[CLI_DOMAIN_MAX], addr[1024];
	struct match m = { .st = st,
		.kt = kt,
		.domain = domain,
		.multiple = multiple,
		.out = out,
		.maxout = maxout,
		.why = why,
		.whylen = whylen };
	const char *at = strrchr(from_addr, '@');
	size_t ulen;

	if (why != NULL && whylen > 0)
		why[0] = '\0';

	if (at == NULL || maxout == 0)
		return 0;
	ulen = (size_t)(at - from_addr);
	if (ulen >= sizeof(user) || strlen(at + 1) >= sizeof(domain) ||
	    at[1] == '\0')
		return 0;
	memcpy(user, from_addr, ulen);
	user[ulen] = '\0';
	memcpy(domain, at + 1, strlen(at + 1) + 1);
	lower(user);
	lower(domain);
	snprintf(addr, sizeof(addr), "%s@%s", user, domain);
	if (st->refile)
		match_refile(&m, addr);
	else
		match_plain(&m, user, domain);
	return m.n;
}
