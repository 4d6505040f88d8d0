/*
 * gen_corpus - deterministic newsletter-like corpus for the benchmarks.
 *
 *   gen_corpus -o DIR -n COUNT [-S SEED] [-k DOMAINS] [-z BYTES] [-l PCT]
 *              [-r PCT]
 *
 * Writes DIR/m0000000.eml ... one file per message: multipart/alternative
 * (text + HTML), personalised To, Message-ID and List-Unsubscribe, a UTF-8
 * encoded-word Subject, folded header fields, From in one of DOMAINS
 * signing domains (d00000.bench.example, ... chosen per message), and
 * about PCT percent (default 10) of the messages with bare LF line ends.
 *
 * Body size: -z BYTES gives every message about that total size; without
 * it sizes are log-normal with median 20 KB (sigma 0.9) clamped to
 * [1 KB, 300 KB]. The same seed gives byte-identical files whatever the
 * domain count, apart from the From/Message-ID domain, so corpora that
 * differ only in -k are comparable.
 *
 * -r PCT: about PCT percent of the messages are one campaign: the same
 * body (the median size or -z, same text and MIME boundary) under their
 * personalised headers; the others keep bodies of their own. LF-only
 * messages among them differ in their raw bytes from the CRLF ones, as
 * they would.
 *
 * No libm: the normal deviate is Irwin-Hall (sum of 12 uniforms) and exp()
 * is computed here, so output is the same on every libc.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIN_SIZE    1024u
#define MAX_SIZE    (300u * 1024u)
#define MEDIAN_SIZE 20000.0
#define SIGMA       0.9
#define LINE_WIDTH  74u

struct buf {
	char *p;
	size_t len, cap;
};

static const char *const words[] = { "the", "newsletter", "of", "our",
	"community", "garden", "is", "out", "this", "week", "with", "news",
	"about", "tomatoes", "and", "a", "volunteer", "schedule", "for",
	"spring", "please", "read", "it", "carefully", "before", "Saturday",
	"offer", "members", "discount", "caf\xc3\xa9", "na\xc3\xafve",
	"\xc3\xbc" "ber", "price", "tickets", "event", "recipe", "update",
	"account", "limited", "today", "\xe2\x82\xac" "20", "new" };
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *const subjects[] = {
	"=?UTF-8?B?V2Vla2x5IG5ld3M6IGNhZsOpIG9wZW5pbmcgaG91cnM=?=",
	"=?UTF-8?Q?Sp=C3=A9cial_offer_for_our_members?=",
	"=?UTF-8?B?w5xiZXIgdW5zZXJlbiBGcsO8aGxpbmdzbWFya3Q=?=",
	"=?UTF-8?B?8J+NhSBUb21hdG8gc2Vhc29uIGlzIGhlcmU=?=",
};

/* splitmix64: tiny, fast, good enough for test data. */
static uint64_t
rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static double
unif(uint64_t *s)
{
	return (double)(rng(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* exp(x) for |x| < 20: range reduction by ln 2, then a Taylor series. */
static double
exp_approx(double x)
{
	const double ln2 = 0.6931471805599453;
	double r, term = 1.0, sum = 1.0;
	int k = 0, i;

	while (x > ln2) {
		x -= ln2;
		k++;
	}
	while (x < 0.0) {
		x += ln2;
		k--;
	}
	r = x;
	for (i = 1; i < 20; i++) {
		term *= r / (double)i;
		sum += term;
	}
	for (; k > 0; k--)
		sum *= 2.0;
	for (; k < 0; k++)
		sum *= 0.5;
	return sum;
}

static size_t
pick_size(uint64_t *s)
{
	double z = -6.0, v;
	int i;

	for (i = 0; i < 12; i++)
		z += unif(s);
	v = MEDIAN_SIZE * exp_approx(SIGMA * z);
	if (v < (double)MIN_SIZE)
		v = (double)MIN_SIZE;
	if (v > (double)MAX_SIZE)
		v = (double)MAX_SIZE;
	return (size_t)v;
}

static void
grow(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	while (b->len + more > b->cap)
		b->cap = b->cap ? 2 * b->cap : 1u << 16;
	if ((b->p = realloc(b->p, b->cap)) == NULL) {
		perror("gen_corpus");
		exit(1);
	}
}

static void
put(struct buf *b, const char *s, size_t n)
{
	grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>

static void
putf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	grow(b, 1024);
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		fputs("gen_corpus: header line too long\n", stderr);
		exit(1);
	}
	b->len += (size_t)n;
}

/* Text lines of words until about `want` bytes were added. */
static void
put_text(struct buf *b, uint64_t *s, size_t want, int html)
{
	size_t start = b->len, col = 0;

	while (b->len - start < want) {
		if (col == 0 && html)
			put(b, "<p>", 3);
		const char *w = words[rng(s) % NWORDS];
		size_t wl = strlen(w);
		put(b, w, wl);
		col += wl;
		if (col > LINE_WIDTH) {
			if (html)
				put(b, "</p>", 4);
			put(b, "\r\n", 2);
			col = 0;
			continue;
		}
		if (rng(s) % 53 == 0) {
			put(b, "  ", 2);
			col++;
		} else {
			put(b, " ", 1);
		}
		col++;
	}
	if (col)
		put(b, "\r\n", 2);
}

static void
put_headers(struct buf *b, uint64_t n, uint64_t seed, unsigned dom, uint64_t *s,
    uint64_t tag)
{
	unsigned user = (unsigned)(rng(s) % 1000000u);
	unsigned day = 1u + (unsigned)(n % 28u);

	putf(b, "Return-Path: <bounce+%u@d%05u.bench.example>\r\n", user, dom);
	putf(b, "From: =?UTF-8?Q?Caf=C3=A9_News?= <news@d%05u.bench.example>\r\n",
	    dom);
	putf(b, "To: \"Reader %u\" <user%u@rcpt%u.example>\r\n", user, user,
	    user % 97u);
	putf(b, "Subject: %s\r\n %s\r\n", subjects[n % 4u],
	    subjects[(n + 1u) % 4u]);
	putf(b, "Date: Tue, %u Mar 2026 09:%02u:%02u +0000\r\n", day,
	    (unsigned)(n % 60u), (unsigned)((n / 60u) % 60u));
	putf(b, "Message-ID: <%llu.%llu@d%05u.bench.example>\r\n",
	    (unsigned long long)n, (unsigned long long)seed, dom);
	putf(b, "MIME-Version: 1.0\r\n");
	putf(b, "List-Id: Garden news <news.d%05u.bench.example>\r\n", dom);
	putf(b,
	    "List-Unsubscribe: <https://d%05u.bench.example/u?r=%u&m=%llu>,\r\n"
	    "\t<mailto:unsub+%u@d%05u.bench.example>\r\n",
	    dom, user, (unsigned long long)n, user, dom);
	putf(b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
	putf(b, "X-Campaign: spring-%llu\r\n", (unsigned long long)(n % 7u));
	putf(b,
	    "Content-Type: multipart/alternative;\r\n"
	    "\tboundary=\"=_b%016llx\"\r\n\r\n",
	    (unsigned long long)tag);
}

/* The campaign's body: its own seed and boundary tag. */
#define CAMPAIGN_TAG 0xca4a16ee00000000u

static void
make_message(struct buf *b, uint64_t n, uint64_t seed, unsigned ndom,
    size_t fixed, int campaign)
{
	uint64_t s = seed ^ (n * 0x2545f4914f6cdd1du);
	uint64_t tag = campaign ? CAMPAIGN_TAG : n;
	size_t size = fixed ? fixed : pick_size(&s);
	unsigned dom = (unsigned)(rng(&s) % ndom);
	size_t part;

	b->len = 0;
	put_headers(b, n, seed, dom, &s, tag);
	if (campaign) {
		size = fixed ? fixed : (size_t)MEDIAN_SIZE;
		s = seed ^ CAMPAIGN_TAG;
	}
	part = size > b->len + 600 ? (size - b->len - 600) / 2 : 200;
	n = tag;
	putf(b, "--=_b%016llx\r\n", (unsigned long long)n);
	putf(b, "Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n");
	put_text(b, &s, part, 0);
	putf(b, "--=_b%016llx\r\n", (unsigned long long)n);
	putf(b, "Content-Type: text/html; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n");
	put_text(b, &s, part, 1);
	putf(b, "--=_b%016llx--\r\n", (unsigned long long)n);
}

/* Drop every CR in place (the LF-only variant). */
static void
to_lf(struct buf *b)
{
	size_t i, o = 0;

	for (i = 0; i < b->len; i++)
		if (b->p[i] != '\r')
			b->p[o++] = b->p[i];
	b->len = o;
}

static int
write_file(const char *dir, uint64_t n, const struct buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/m%07llu.eml", dir,
	    (unsigned long long)n);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	if (fwrite(b->p, 1, b->len, f) != b->len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static unsigned long long
num_arg(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || end == s) {
		fprintf(stderr, "gen_corpus: bad %s: %s\n", what, s);
		exit(64);
	}
	return v;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	unsigned long long count = 1000, seed = 2026, ndom = 1, fixed = 0;
	unsigned long long lfpct = 10, rpct = 0, bytes = 0, n;
	struct buf b = { NULL, 0, 0 };
	int c;

	while ((c = getopt(argc, argv, "o:n:S:k:z:l:r:")) != -1) {
		switch (c) {
		case 'o': dir = optarg; break;
		case 'n': count = num_arg(optarg, "count"); break;
		case 'S': seed = num_arg(optarg, "seed"); break;
		case 'k': ndom = num_arg(optarg, "domain count"); break;
		case 'z': fixed = num_arg(optarg, "size"); break;
		case 'l': lfpct = num_arg(optarg, "LF percentage"); break;
		case 'r': rpct = num_arg(optarg, "repeat percentage"); break;
		default:
			fputs("usage: gen_corpus -o DIR -n COUNT [-S SEED] "
			      "[-k DOMAINS] [-z BYTES] [-l LF_PCT] "
			      "[-r REPEAT_PCT]\n", stderr);
			return 64;
		}
	}
	if (dir == NULL || ndom == 0 || ndom > 100000) {
		fputs("gen_corpus: -o DIR required; 1 <= -k <= 100000\n",
		    stderr);
		return 64;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		perror(dir);
		return 73;
	}
	for (n = 0; n < count; n++) {
		make_message(&b, n, seed, (unsigned)ndom, (size_t)fixed,
		    (n * 0x9e3779b1u >> 7) % 100u < rpct);
		if ((n * 2654435761u) % 100u < lfpct)
			to_lf(&b);
		if (write_file(dir, n, &b) != 0) {
			perror(dir);
			return 74;
		}
		bytes += b.len;
	}
	printf("{\"messages\":%llu,\"bytes\":%llu,\"domains\":%llu}\n", count,
	    bytes, ndom);
	free(b.p);
	return 0;
}
