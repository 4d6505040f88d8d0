/*
 * Shared plumbing for the fuzz targets; see common.h. The key records
 * are copied from tests/vectors/dkim/keys.zone (hanko.example) and
 * ../shared/testsuites/rfc8463/keys.zone (football.example.com), so the
 * seed messages from tests/vectors/dkim/ verify as they do in the CLI
 * tests and the fuzzer starts from passing signatures.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/scan.h"
#include "tools/cli_alloc.h"

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz oracle failed: %s\n", file, line, what);
	abort();
}

/* The sanitizer builds' allocator: tools/alloc_libc.c (plain malloc). */
const struct hanko_alloc *
fuzz_alloc(void)
{
	return cli_alloc();
}

void
fuzz_env_init(
    struct core_env *env, struct hanko_limits *lim, const struct dns_ops *dns)
{
	hanko_limits_default(lim);
	env->alloc = fuzz_alloc();
	env->dns = dns;
	env->scan = scan_select(SCAN_AUTO);
	env->limits = lim;
}

const char *
fuzz_file(unsigned slot, const uint8_t *data, size_t size)
{
	static int fds[4] = { -1, -1, -1, -1 };
	static char paths[4][64];

	if (slot >= 4)
		fuzz_fail(__FILE__, __LINE__, "fuzz_file slot");
	if (fds[slot] < 0) {
		if ((fds[slot] = memfd_create("hanko-fuzz", 0)) < 0)
			fuzz_fail(__FILE__, __LINE__, "memfd_create");
		snprintf(paths[slot], sizeof(paths[slot]), "/proc/self/fd/%d",
		    fds[slot]);
	}
	if (ftruncate(fds[slot], 0) != 0 ||
	    (size > 0 && pwrite(fds[slot], data, size, 0) != (ssize_t)size))
		fuzz_fail(__FILE__, __LINE__, "writing the memfd");
	return paths[slot];
}

#define ED_P "p=vgpZ8K6CvJV4FViGmpblkR8smVVat6I1KXl0k9jwKP0="
#define RSA_P                                                                 \
	"p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAl0ilZHbDSk650pTVr7psz" \
	"tHukPc3KyB+GbRK+99uvlx8kem8BiZ3xnYXZhHrI+jW9UJKyQT8/TlFeOuJ1wjVdi4v" \
	"eCYr4VMrdkgfLF+XOqpkHRNjDLhfKAxQHrnMA/xgLsWAOrhHEalWsHDCTRU7lRzF7uB" \
	"v2F1h7Knv/WY3vtTPktfB8OxsH/g1cibdDlbmdbJiLltXPxC0oBbqFWc+m1x20Cwdd"  \
	"iErIFyo4drb2S03qc7srMH8Gp0PuUDhuV0UsFdyqh3MkR1sA6EcDWG3j+JDRXsP0n0"  \
	"zyaF/K8GwG1LB5WO4RbBuNzfkStVRwccfYi3awauxeGNIXCmf90BLRwIDAQAB"
/* clang-format off */
#define ED_REC  "v=DKIM1; k=ed25519; " ED_P
#define MANY(n) { "many" n "._domainkey.hanko.example", DNS_OK, { ED_REC } }
/* clang-format on */

const struct fuzz_dns_name fuzz_vector_names[] = {
	{ "rsa._domainkey.hanko.example", DNS_OK,
	    { "v=DKIM1; k=rsa; " RSA_P } },
	{ "ed._domainkey.hanko.example", DNS_OK, { ED_REC } },
	{ "revoked._domainkey.hanko.example", DNS_OK,
	    { "v=DKIM1; k=rsa; p=" } },
	{ "testing._domainkey.hanko.example", DNS_OK,
	    { "v=DKIM1; k=ed25519; t=y; " ED_P } },
	{ "tempfail._domainkey.hanko.example", DNS_TEMPFAIL, { NULL } },
	{ "permfail._domainkey.hanko.example", DNS_PERMFAIL, { NULL } },
	{ "nodata._domainkey.hanko.example", DNS_NODATA, { NULL } },
	{ "missing._domainkey.hanko.example", DNS_NXDOMAIN, { NULL } },
	/* Two TXT RRs at one name, and a record that is not DKIM at all. */
	{ "multi._domainkey.hanko.example", DNS_OK,
	    { ED_REC, "v=DKIM1; k=rsa; " RSA_P } },
	{ "spf._domainkey.hanko.example", DNS_OK, { "v=spf1 -all" } },
	{ "empty._domainkey.hanko.example", DNS_OK, { "" } },
	MANY("01"),
	MANY("02"),
	MANY("03"),
	MANY("04"),
	MANY("05"),
	MANY("06"),
	MANY("07"),
	MANY("08"),
	MANY("09"),
	MANY("10"),
	MANY("11"),
	MANY("12"),
	{ "brisbane._domainkey.football.example.com", DNS_OK,
	    { "v=DKIM1; k=ed25519; "
	      "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" } },
	{ "test._domainkey.football.example.com", DNS_OK,
	    { "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQ"
	      "oBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzC"
	      "Nb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO"
	      "9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB" } },
};
const size_t fuzz_vector_nnames =
    sizeof(fuzz_vector_names) / sizeof(fuzz_vector_names[0]);

/* Does q[0..qlen) end with want (lower case), ASCII case-insensitively? */
static bool
name_ends(const char *want, const char *q, size_t qlen)
{
	size_t i, wlen = strlen(want);

	if (wlen > qlen)
		return false;
	q += qlen - wlen;
	for (i = 0; i < wlen; i++) {
		char c = q[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + ('a' - 'A'));
		if (c != want[i])
			return false;
	}
	return true;
}

static bool
name_eq(const char *want, const char *q, size_t qlen)
{
	return strlen(want) == qlen && name_ends(want, q, qlen);
}

static void *
dup_or_die(const void *p, size_t len)
{
	uint8_t *c = malloc(len + 1);

	if (c == NULL)
		fuzz_fail(__FILE__, __LINE__, "malloc");
	if (len > 0)
		memcpy(c, p, len);
	return c;
}

/* names[] and the dyn_* records: TXT only. */
static void
names_answer(struct fuzz_dns *fd, uint16_t qtype, const char *qname,
    size_t qlen, struct dns_answer *ans, span *txt)
{
	const struct fuzz_dns_name *e = NULL;
	size_t i, n = 0;

	for (i = 0; i < fd->nnames && e == NULL; i++)
		if (name_eq(fd->names[i].name, qname, qlen))
			e = &fd->names[i];
	if (e != NULL) {
		ans->rcode = e->rc;
		if (qtype != DNS_T_TXT && e->rc == DNS_OK)
			ans->rcode = DNS_NODATA;
		for (; n < 3 && ans->rcode == DNS_OK && e->txt[n] != NULL; n++)
			txt[n] = span_cstr(e->txt[n]);
	} else if (fd->dyn_suffix != NULL && fd->ndyn > 0 &&
	    name_ends(fd->dyn_suffix, qname, qlen)) {
		ans->rcode = qtype == DNS_T_TXT ? DNS_OK : DNS_NODATA;
		for (;
		     qtype == DNS_T_TXT && n < fd->ndyn && n < FUZZ_DNS_DYNMAX;
		     n++)
			txt[n] = fd->dyn_txt[n];
	}
	ans->txt = n > 0 ? txt : NULL;
	ans->ntxt = n;
}

static void
poison_free(const void *p, size_t len)
{
	if (p == NULL)
		return;
	memset((void *)(uintptr_t)p, 0xA5, len);
	free((void *)(uintptr_t)p);
}

/*
 * Answer one query from heap copies, then poison and free them: an
 * answer span that core/ kept past done() becomes a use-after-free.
 */
static void
deliver(struct fuzz_dns *fd, const struct fuzz_dns_q *q)
{
	span local[FUZZ_DNS_DYNMAX > 3 ? FUZZ_DNS_DYNMAX : 3];
	struct dns_answer src, ans;
	span *txt = NULL, *name = NULL;
	size_t i, qlen = q->len;

	memset(&src, 0, sizeof(src));
	src.rcode = DNS_NXDOMAIN;
	src.ttl = 300;
	if (qlen > 0 && q->name[qlen - 1] == '.')
		qlen--;
	if (fd->answer != NULL)
		fd->answer(
		    fd->answer_ctx, q->qtype, span_make(q->name, qlen), &src);
	else
		names_answer(fd, q->qtype, q->name, qlen, &src, local);
	ans = src;
	if (src.ntxt > 0) {
		txt = dup_or_die(src.txt, src.ntxt * sizeof(*txt));
		for (i = 0; i < src.ntxt; i++)
			txt[i] =
			    span_make(dup_or_die(src.txt[i].p, src.txt[i].len),
			        src.txt[i].len);
		ans.txt = txt;
	}
	if (src.nname > 0) {
		name = dup_or_die(src.name, src.nname * sizeof(*name));
		for (i = 0; i < src.nname; i++)
			name[i] = span_make(
			    dup_or_die(src.name[i].p, src.name[i].len),
			    src.name[i].len);
		ans.name = name;
		ans.pref = src.pref != NULL
		    ? dup_or_die(src.pref, src.nname * sizeof(*src.pref))
		    : NULL;
	}
	if (src.naddr > 0)
		ans.addr = dup_or_die(src.addr, src.naddr * sizeof(*src.addr));
	q->done(q->cookie, &ans);
	for (i = 0; i < src.ntxt; i++)
		poison_free(txt[i].p, txt[i].len);
	for (i = 0; i < src.nname; i++)
		poison_free(name[i].p, name[i].len);
	poison_free(txt, src.ntxt * sizeof(*txt));
	poison_free(name, src.nname * sizeof(*name));
	if (src.nname > 0)
		poison_free(ans.pref, src.nname * sizeof(*src.pref));
	if (src.naddr > 0)
		poison_free(ans.addr, src.naddr * sizeof(*src.addr));
}

static int
fuzz_query(
    void *ctx, uint16_t qtype, span qname, dns_done_fn *done, void *cookie)
{
	struct fuzz_dns *fd = ctx;
	struct fuzz_dns_q q;

	fd->nqueries++;
	if (qname.len == 0 || qname.len >= sizeof(q.name))
		return DNS_E_BADNAME;
	memset(&q, 0, sizeof(q));
	q.qtype = qtype;
	memcpy(q.name, qname.p, qname.len); /* readable for the whole call */
	q.len = qname.len;
	q.done = done;
	q.cookie = cookie;
	if (!fd->queued) {
		deliver(fd, &q);
		return 0;
	}
	if (fd->nq == FUZZ_DNS_QMAX)
		return -ENOBUFS;
	fd->q[fd->nq++] = q;
	return 0;
}

static int
fuzz_txt(void *ctx, span qname, dns_done_fn *done, void *cookie)
{
	return fuzz_query(ctx, DNS_T_TXT, qname, done, cookie);
}

void
fuzz_dns_ops(struct fuzz_dns *fd, struct dns_ops *out)
{
	out->ctx = fd;
	out->txt = fuzz_txt;
	out->query = fuzz_query;
}

void
fuzz_dns_reset(struct fuzz_dns *fd)
{
	fd->nq = 0;
	fd->nqueries = 0;
}

size_t
fuzz_dns_run(struct fuzz_dns *fd)
{
	size_t n = 0;

	while (fd->nq > 0) {
		struct fuzz_dns_q q;

		if (fd->lifo) {
			q = fd->q[--fd->nq];
		} else {
			q = fd->q[0];
			memmove(fd->q, fd->q + 1, --fd->nq * sizeof(q));
		}
		deliver(fd, &q);
		n++;
	}
	return n;
}

static uint32_t
fdns_hash(uint16_t qtype, const uint8_t *name, size_t len)
{
	uint32_t h = 2166136261u ^ qtype;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ name[i]) * 16777619u;
	return h ^ (h >> 15);
}

/* The line fixed[] gives qname, or -1. */
static int
fdns_fixed_line(const struct fuzz_fdns *f, span qname)
{
	size_t i;

	for (i = 0; i < f->nfixed; i++)
		if (span_eq(qname, span_cstr(f->fixed[i].name)))
			return (int)f->fixed[i].line;
	return -1;
}

static void
fdns_addrs(
    struct fuzz_fdns *f, uint16_t qtype, uint32_t h, struct dns_answer *a)
{
	size_t i, n = (h >> 4) % 4;

	for (i = 0; i < n; i++) {
		struct dns_addr *d = &f->addr[i];

		d->len = qtype == DNS_T_A ? 4 : 16;
		if (qtype == DNS_T_A)
			memcpy(d->b, "\xc0\x00\x02\x01", 4);
		else
			memcpy(d->b,
			    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
		if (f->flags & FUZZ_FDNS_ADDR_VARY)
			d->b[d->len - 1] ^= (uint8_t)((h >> (8 + i)) & 1);
	}
	a->addr = f->addr;
	a->naddr = n;
}

static void
fdns_names(
    struct fuzz_fdns *f, uint16_t qtype, uint32_t h, struct dns_answer *a)
{
	size_t i, n = (h >> 4) % 13;

	for (i = 0; i < n; i++) {
		size_t k = (size_t)snprintf(f->nb[i], sizeof(f->nb[i]),
		    "h%u.fuzz.example", (unsigned)((h >> (i % 16)) & 7));

		f->names[i] = span_make(f->nb[i], (h >> i) % 11 == 0 ? 0 : k);
		f->pref[i] = (uint16_t)((h >> i) & 3);
	}
	a->name = f->names;
	a->pref = qtype == DNS_T_MX ? f->pref : NULL;
	a->nname = n;
}

void
fuzz_fdns_answer(void *ctx, uint16_t qtype, span qname, struct dns_answer *a)
{
	struct fuzz_fdns *f = ctx;
	uint32_t h = fdns_hash(qtype, qname.p, qname.len);
	int fixed = qtype == DNS_T_TXT ? fdns_fixed_line(f, qname) : -1;

	a->rcode = (h & 7) == 0 ? DNS_NXDOMAIN
	    : (h & 15) == 1     ? DNS_TEMPFAIL
	    : (h & 15) == 2     ? DNS_NODATA
	                        : DNS_OK;
	if (fixed >= 0)
		a->rcode = (size_t)fixed < f->nlines ? DNS_OK : DNS_NXDOMAIN;
	if (a->rcode != DNS_OK)
		return;
	if (qtype == DNS_T_TXT && f->nlines > 0) {
		f->txt[0] =
		    f->line[fixed >= 0 ? (size_t)fixed : (h >> 4) % f->nlines];
		a->txt = f->txt;
		a->ntxt = 1;
	} else if (qtype == DNS_T_A ||
	    (qtype == DNS_T_AAAA && (f->flags & FUZZ_FDNS_AAAA))) {
		fdns_addrs(f, qtype, h, a);
	} else if (qtype == DNS_T_MX ||
	    (qtype == DNS_T_PTR && (f->flags & FUZZ_FDNS_PTR))) {
		fdns_names(f, qtype, h, a);
	}
}
