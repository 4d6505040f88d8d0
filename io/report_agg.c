/*
 * report_agg.c - count history lines into report rows (a hash table of
 * row keys), then write each report's RFC 9990 XML.
 */
#include "io/report_agg.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <json-c/json.h>

#include "core/span.h"

#define FS        '\x1f' /* between key fields */
#define SUB       '\x1e' /* between the parts of one auth result */
#define LIST      '\x1d' /* between auth results */
#define GROUP_NF  10     /* key fields that name the report */
#define MAX_FIELD 512    /* a value longer than this is cut */
#define MAX_DKIM  16     /* DKIM results kept per message */
#define MAX_KEY   16384
#define AGG_INIT  1024

struct agg_ent {
	char *key;
	uint64_t hash;
	uint64_t count;
};

struct report_agg {
	int64_t period;
	struct agg_ent *tab;
	size_t cap, n;
	uint64_t counted, skipped;
	struct json_tokener *tok;
};

struct dbuf {
	char *p;
	size_t len, cap;
	bool bad;
};

static void
db_add(struct dbuf *b, const char *s, size_t n)
{
	if (b->bad)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;
		char *p;

		while (n > cap - b->len)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->bad = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
db_str(struct dbuf *b, const char *s)
{
	db_add(b, s, strlen(s));
}

/* A key field: separators and controls become '?', cut at MAX_FIELD. */
static void
db_field(struct dbuf *b, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i < MAX_FIELD; i++) {
		char c = s[i];

		if ((unsigned char)c < 0x20)
			c = '?';

		db_add(b, &c, 1);
	}
}

int
report_agg_new(int64_t period, struct report_agg **out)
{
	struct report_agg *a = calloc(1, sizeof(*a));

	if (a == NULL || period <= 0)
		goto fail;
	a->period = period;
	a->cap = AGG_INIT;
	if ((a->tab = calloc(a->cap, sizeof(*a->tab))) == NULL ||
	    (a->tok = json_tokener_new()) == NULL)
		goto fail;
	*out = a;
	return 0;
fail:
	report_agg_free(a);
	return -1;
}

void
report_agg_free(struct report_agg *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; a->tab != NULL && i < a->cap; i++)
		free(a->tab[i].key);
	free(a->tab);
	if (a->tok != NULL)
		json_tokener_free(a->tok);
	free(a);
}

void
report_agg_stats(const struct report_agg *a, uint64_t *counted,
    uint64_t *skipped, size_t *rows)
{
	*counted = a->counted;
	*skipped = a->skipped;
	*rows = a->n;
}

static uint64_t
fnv1a(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 1099511628211u;
	return h;
}

static int
grow(struct report_agg *a)
{
	size_t cap = a->cap * 2, i, j;
	struct agg_ent *t = calloc(cap, sizeof(*t));

	if (t == NULL)
		return -1;
	for (i = 0; i < a->cap; i++) {
		if (a->tab[i].key == NULL)
			continue;
		for (j = a->tab[i].hash & (cap - 1); t[j].key != NULL;
		     j = (j + 1) & (cap - 1))
			;
		t[j] = a->tab[i];
	}
	free(a->tab);
	a->tab = t;
	a->cap = cap;
	return 0;
}

static int
count_key(struct report_agg *a, const char *k, size_t n)
{
	uint64_t h = fnv1a(k, n);
	size_t i;

	if (a->n + 1 > a->cap / 2 && grow(a) != 0)
		return -1;
	for (i = h & (a->cap - 1); a->tab[i].key != NULL;
	     i = (i + 1) & (a->cap - 1)) {
		if (a->tab[i].hash == h && strcmp(a->tab[i].key, k) == 0) {
			a->tab[i].count++;
			return 0;
		}
	}
	if ((a->tab[i].key = strndup(k, n)) == NULL)
		return -1;
	a->tab[i].hash = h;
	a->tab[i].count = 1;
	a->n++;
	return 0;
}

static struct json_object *
get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, k, &v))
		return NULL;
	return v;
}

/* A string member, or "" for null, absent or another type. */
static const char *
str(struct json_object *o, const char *k)
{
	struct json_object *v = get(o, k);

	return json_object_is_type(v, json_type_string)
	    ? json_object_get_string(v)
	    : "";
}

static bool
truth(struct json_object *o, const char *k)
{
	struct json_object *v = get(o, k);

	return json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v);
}

/* RFC 9990 §3: the period the message falls in, from its "time". */
static bool
line_time(struct report_agg *a, struct json_object *o, int64_t *begin)
{
	struct json_object *t = get(o, "time");
	int64_t v;

	if (!json_object_is_type(t, json_type_int))
		return false;
	v = json_object_get_int64(t);
	if (v < 0)
		return false;
	*begin = v - v % a->period;
	return true;
}

static void
key_group(struct dbuf *k, struct json_object *dm, int64_t begin)
{
	char num[32];
	static const char *const pol[] = { "p", "sp", "np", "adkim", "aspf" };
	size_t i;

	db_field(k, str(dm, "record_domain"));
	snprintf(num, sizeof(num), "%c%" PRId64, FS, begin);
	db_str(k, num);
	for (i = 0; i < sizeof(pol) / sizeof(pol[0]); i++) {
		db_add(k, (const char[]){ FS }, 1);
		db_field(k, str(dm, pol[i]));
	}
	db_add(k, (const char[]){ FS }, 1);
	db_str(k, truth(dm, "testing") ? "y" : "n");
	db_add(k, (const char[]){ FS }, 1);
	db_str(k, strcmp(str(dm, "mode"), "rfc7489") == 0 ? "psl" : "treewalk");
	db_add(k, (const char[]){ FS }, 1);
	db_field(k, str(dm, "rua"));
}

static void
key_auth(struct dbuf *k, struct json_object *o)
{
	struct json_object *dk = get(o, "dkim"), *spf = get(o, "spf"), *e;
	size_t i, n;

	n = json_object_is_type(dk, json_type_array)
	    ? json_object_array_length(dk)
	    : 0;
	db_add(k, (const char[]){ FS }, 1);
	for (i = 0; i < n && i < MAX_DKIM; i++) {
		e = json_object_array_get_idx(dk, i);
		if (i > 0)
			db_add(k, (const char[]){ LIST }, 1);
		db_field(k, str(e, "d"));
		db_add(k, (const char[]){ SUB }, 1);
		db_field(k, str(e, "s"));
		db_add(k, (const char[]){ SUB }, 1);
		db_field(k, str(e, "result"));
	}
	db_add(k, (const char[]){ FS }, 1);
	db_field(k, str(spf, "domain"));
	db_add(k, (const char[]){ SUB }, 1);
	db_field(k, str(spf, "scope"));
	db_add(k, (const char[]){ SUB }, 1);
	db_field(k, str(spf, "result"));
}

static void
key_row(struct dbuf *k, struct json_object *o, struct json_object *dm)
{
	const char *from = str(get(o, "envelope"), "mail_from");
	const char *at = strrchr(from, '@');
	const char *disp = str(dm, "disposition");

	db_add(k, (const char[]){ FS }, 1);
	db_field(k, str(get(o, "envelope"), "ip"));
	db_add(k, (const char[]){ FS }, 1);
	db_field(k, disp[0] != '\0' ? disp : "none");
	db_add(k, (const char[]){ FS }, 1);
	db_str(k, truth(dm, "dkim_aligned") ? "pass" : "fail");
	db_add(k, (const char[]){ FS }, 1);
	db_str(k, truth(dm, "spf_aligned") ? "pass" : "fail");
	db_add(k, (const char[]){ FS }, 1);
	db_field(k, str(dm, "header_from"));
	db_add(k, (const char[]){ FS }, 1);
	db_field(k, at != NULL ? at + 1 : "");
	/* RFC 9990 §3: t=y downgraded the disposition, say why. */
	db_add(k, (const char[]){ FS }, 1);
	db_str(k,
	    truth(dm, "testing") && strcmp(str(dm, "result"), "fail") == 0 &&
	            strcmp(str(dm, "policy"), "none") != 0 &&
	            strcmp(str(dm, "policy"), disp) != 0
	        ? "policy_test_mode"
	        : "");
	key_auth(k, o);
}

int
report_agg_line(
    struct report_agg *a, const char *line, size_t len, char *err, size_t el)
{
	struct json_object *o, *dm;
	struct dbuf k = { 0 };
	int64_t begin;
	int r = -1;

	json_tokener_reset(a->tok);
	o = json_tokener_parse_ex(
	    a->tok, line, (int)(len > INT32_MAX ? 0 : len));
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(err, el, "not a JSON object");
		goto out;
	}
	if (!line_time(a, o, &begin)) {
		snprintf(err, el, "no integer \"time\"");
		goto out;
	}
	dm = get(o, "dmarc");
	if (str(dm, "record_domain")[0] == '\0' || str(dm, "p")[0] == '\0') {
		a->skipped++;
		r = 1;
		goto out;
	}
	key_group(&k, dm, begin);
	key_row(&k, o, dm);
	db_add(&k, "", 1);
	if (k.bad || k.len > MAX_KEY || count_key(a, k.p, k.len - 1) != 0) {
		snprintf(err, el, "out of memory");
		goto out;
	}
	a->counted++;
	r = 0;
out:
	free(k.p);
	json_object_put(o);
	return r;
}

/* ---- XML ------------------------------------------------------------ */

/* Text content: XML-escaped; controls and invalid UTF-8 become '?'. */
static void
x_text(struct dbuf *b, const char *s, size_t n)
{
	size_t i = 0, u;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c == '&')
			db_str(b, "&amp;");
		else if (c == '<')
			db_str(b, "&lt;");
		else if (c == '>')
			db_str(b, "&gt;");
		else if (c < 0x20 && c != '\t')
			db_str(b, "?");
		else if (c < 0x80)
			db_add(b, s + i, 1);
		else if ((u = span_utf8_len((const uint8_t *)s + i, n - i)) >
		    0) {
			db_add(b, s + i, u);
			i += u;
			continue;
		} else
			db_str(b, "?");
		i++;
	}
}

static void
x_el(struct dbuf *b, const char *name, const char *v, size_t n)
{
	db_str(b, "<");
	db_str(b, name);
	db_str(b, ">");
	x_text(b, v, n);
	db_str(b, "</");
	db_str(b, name);
	db_str(b, ">");
}

static void
x_elz(struct dbuf *b, const char *name, const char *v)
{
	x_el(b, name, v, strlen(v));
}

/* Field i of a key (FS-separated), as pointer and length. */
static const char *
field(const char *k, size_t i, size_t *n)
{
	const char *e;

	while (i-- > 0 && (k = strchr(k, FS)) != NULL)
		k++;
	if (k == NULL) {
		*n = 0;
		return "";
	}
	e = strchr(k, FS);
	*n = e != NULL ? (size_t)(e - k) : strlen(k);
	return k;
}

static bool
one_of(const char *v, size_t n, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strlen(*set) == n && memcmp(v, *set, n) == 0)
			return true;
	return false;
}

/* Schema enumerations: a value outside them is left out or mapped. */
static const char *const dispositions[] = { "none", "quarantine", "reject",
	NULL };
static const char *const alignments[] = { "r", "s", NULL };
static const char *const dkim_results[] = { "none", "pass", "fail", "policy",
	"neutral", "temperror", "permerror", NULL };
static const char *const spf_results[] = { "none", "pass", "fail", "softfail",
	"policy", "neutral", "temperror", "permerror", NULL };

static void
x_opt(struct dbuf *b, const char *name, const char *v, size_t n,
    const char *const *set)
{
	if (n > 0 && one_of(v, n, set))
		x_el(b, name, v, n);
}

static void
x_policy(struct dbuf *b, const char *k)
{
	static const char *const names[] = { "p", "sp", "np", "adkim", "aspf" };
	const char *v;
	size_t n, i;

	db_str(b, "<policy_published>");
	v = field(k, 0, &n);
	x_el(b, "domain", v, n);
	v = field(k, 2, &n);
	x_el(b, "p", one_of(v, n, dispositions) ? v : "none",
	    one_of(v, n, dispositions) ? n : 4);
	for (i = 1; i < 5; i++) {
		v = field(k, 2 + i, &n);
		x_opt(b, names[i], v, n, i < 3 ? dispositions : alignments);
	}
	v = field(k, 8, &n);
	x_el(b, "discovery_method", v, n);
	v = field(k, 7, &n);
	x_el(b, "testing", v, n);
	db_str(b, "</policy_published>");
}

static void
x_auth(struct dbuf *b, const char *dk, size_t dn, const char *sp, size_t sn)
{
	const char *p = dk, *end = dk + dn, *e, *s1, *s2;

	db_str(b, "<auth_results>");
	while (dn > 0 && p < end) {
		e = memchr(p, LIST, (size_t)(end - p));
		e = e != NULL ? e : end;
		s1 = memchr(p, SUB, (size_t)(e - p));
		s2 = s1 != NULL ? memchr(s1 + 1, SUB, (size_t)(e - s1 - 1))
		                : NULL;
		if (s1 != NULL && s2 != NULL && s1 > p) {
			db_str(b, "<dkim>");
			x_el(b, "domain", p, (size_t)(s1 - p));
			x_el(b, "selector", s1 + 1, (size_t)(s2 - s1 - 1));
			x_el(b, "result",
			    one_of(s2 + 1, (size_t)(e - s2 - 1), dkim_results)
			        ? s2 + 1
			        : "permerror",
			    one_of(s2 + 1, (size_t)(e - s2 - 1), dkim_results)
			        ? (size_t)(e - s2 - 1)
			        : 9);
			db_str(b, "</dkim>");
		}
		p = e + 1;
	}
	s1 = memchr(sp, SUB, sn);
	s2 =
	    s1 != NULL ? memchr(s1 + 1, SUB, (size_t)(sp + sn - s1 - 1)) : NULL;
	if (s1 != NULL && s2 != NULL && s1 > sp &&
	    one_of(s2 + 1, (size_t)(sp + sn - s2 - 1), spf_results)) {
		db_str(b, "<spf>");
		x_el(b, "domain", sp, (size_t)(s1 - sp));
		/* The schema knows only mfrom; a HELO check says nothing. */
		if ((size_t)(s2 - s1 - 1) == 5 &&
		    memcmp(s1 + 1, "mfrom", 5) == 0)
			db_str(b, "<scope>mfrom</scope>");
		x_el(b, "result", s2 + 1, (size_t)(sp + sn - s2 - 1));
		db_str(b, "</spf>");
	}
	db_str(b, "</auth_results>");
}

static void
x_record(struct dbuf *b, const char *k, uint64_t count)
{
	const char *v, *dk, *sp;
	size_t n, dn, sn;
	char num[32];

	db_str(b, "<record><row>");
	v = field(k, GROUP_NF, &n);
	x_el(b, "source_ip", v, n);
	snprintf(num, sizeof(num), "%" PRIu64, count);
	x_elz(b, "count", num);
	db_str(b, "<policy_evaluated>");
	v = field(k, GROUP_NF + 1, &n);
	x_el(b, "disposition", one_of(v, n, dispositions) ? v : "none",
	    one_of(v, n, dispositions) ? n : 4);
	v = field(k, GROUP_NF + 2, &n);
	x_el(b, "dkim", v, n);
	v = field(k, GROUP_NF + 3, &n);
	x_el(b, "spf", v, n);
	v = field(k, GROUP_NF + 6, &n);
	if (n > 0) {
		db_str(b, "<reason>");
		x_el(b, "type", v, n);
		db_str(b, "</reason>");
	}
	db_str(b, "</policy_evaluated></row><identifiers>");
	v = field(k, GROUP_NF + 4, &n);
	x_el(b, "header_from", v, n);
	v = field(k, GROUP_NF + 5, &n);
	if (n > 0)
		x_el(b, "envelope_from", v, n);
	db_str(b, "</identifiers>");
	dk = field(k, GROUP_NF + 7, &dn);
	sp = field(k, GROUP_NF + 8, &sn);
	x_auth(b, dk, dn, sp, sn);
	db_str(b, "</record>\n");
}

static int
ent_cmp(const void *a, const void *b)
{
	return strcmp(
	    ((const struct agg_ent *)a)->key, ((const struct agg_ent *)b)->key);
}

/* Length of the key's group part (the first GROUP_NF fields). */
static size_t
group_len(const char *k)
{
	size_t n;
	const char *v = field(k, GROUP_NF - 1, &n);

	return (size_t)(v - k) + n;
}

static void
report_id(const char *k, size_t n, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i;

	memset(out, 0, 33);
	if (EVP_Digest(k, n, md, &mdlen, EVP_sha256(), NULL) != 1)
		mdlen = 0;
	for (i = 0; i < 16 && i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[2 * i] = '\0';
}

static int
emit(struct report_agg *a, const struct report_agg_meta *m,
    const struct agg_ent *e, size_t n, report_agg_fn *cb, void *cookie)
{
	struct dbuf b = { 0 };
	struct report_agg_out o = { 0 };
	char id[33], num[64], dom[MAX_FIELD + 1], rua[MAX_FIELD + 1];
	const char *v;
	size_t i, vn, gl = group_len(e[0].key);
	int r;

	report_id(e[0].key, gl, id);
	v = field(e[0].key, 1, &vn);
	o.begin = strtoll(v, NULL, 10);
	o.end = o.begin + a->period - 1;
	v = field(e[0].key, 0, &vn);
	snprintf(dom, sizeof(dom), "%.*s", (int)vn, v);
	v = field(e[0].key, 9, &vn);
	snprintf(rua, sizeof(rua), "%.*s", (int)vn, v);
	db_str(&b,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n"
	    "<version>1.0</version>\n<report_metadata>");
	x_elz(&b, "org_name", m->org_name);
	x_elz(&b, "email", m->email);
	x_elz(&b, "report_id", id);
	snprintf(num, sizeof(num), "%" PRId64, o.begin);
	db_str(&b, "<date_range>");
	x_elz(&b, "begin", num);
	snprintf(num, sizeof(num), "%" PRId64, o.end);
	x_elz(&b, "end", num);
	db_str(&b, "</date_range>");
	x_elz(&b, "generator", m->generator);
	db_str(&b, "</report_metadata>\n");
	x_policy(&b, e[0].key);
	db_str(&b, "\n");
	for (i = 0; i < n; i++) {
		x_record(&b, e[i].key, e[i].count);
		o.messages += e[i].count;
	}
	db_str(&b, "</feedback>\n");
	if (b.bad) {
		free(b.p);
		return -1;
	}
	o.domain = dom;
	o.rua = rua;
	o.report_id = id;
	o.xml = b.p;
	o.xml_len = b.len;
	r = cb(cookie, &o);
	free(b.p);
	return r;
}

int
report_agg_each(struct report_agg *a, const struct report_agg_meta *m,
    report_agg_fn *cb, void *cookie)
{
	size_t i, j, s, gl;
	int r = 0;

	/* Compact the table into a sorted array; groups become runs. */
	for (i = j = 0; i < a->cap; i++)
		if (a->tab[i].key != NULL)
			a->tab[j++] = a->tab[i];
	for (i = j; i < a->cap; i++)
		memset(&a->tab[i], 0, sizeof(a->tab[i]));
	qsort(a->tab, j, sizeof(*a->tab), ent_cmp);
	for (s = 0; s < j && r == 0; s = i) {
		gl = group_len(a->tab[s].key);
		for (i = s + 1; i < j && group_len(a->tab[i].key) == gl &&
		     memcmp(a->tab[i].key, a->tab[s].key, gl) == 0;
		     i++)
			;
		r = emit(a, m, &a->tab[s], i - s, cb, cookie);
	}
	return r;
}
