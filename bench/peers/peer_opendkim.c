/*
 * peer_opendkim - libopendkim driven in one process over a list of files,
 * for bench/run.py. Only the loop is timed (library set-up is not).
 *
 *   peer_opendkim sign -a rsa|ed25519 -d DOMAIN -s SELECTOR -k KEYFILE
 *                      -H NAME:NAME:... -o OUTDIR -l LISTFILE
 *   peer_opendkim verify -q QUERYFILE -l LISTFILE
 *
 * LISTFILE holds one message path per line. sign writes OUTDIR/<basename>
 * (the DKIM-Signature field then the message, in the message's own line
 * ends), relaxed/relaxed, signing the fields named by -H. verify looks
 * keys up in QUERYFILE (DKIM_QUERY_FILE: "sel._domainkey.dom<TAB>record")
 * and counts messages whose every signature passes.
 *
 * As an MTA would hand the message to a milter, bare LF becomes CRLF and
 * a missing final CRLF is added; that copy is made inside the timed loop.
 * Prints one JSON object: msgs, bytes, failed, seconds (wall of the loop),
 * cpu_s (CPU of the loop).
 *
 * Build: cc -O2 -o peer_opendkim peer_opendkim.c \
 *            $(pkg-config --cflags --libs opendkim)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <opendkim/dkim.h>

#include "../clock.h"

struct buf {
	char *p;
	size_t len, cap;
};

static int
slurp(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	size_t r;

	if (f == NULL)
		return -1;
	b->len = 0;
	for (;;) {
		if (b->cap - b->len < 65536) {
			b->cap = 2 * b->cap + 65536;
			if ((b->p = realloc(b->p, b->cap)) == NULL)
				abort();
		}
		r = fread(b->p + b->len, 1, b->cap - b->len, f);
		if (r == 0)
			break;
		b->len += r;
	}
	fclose(f);
	return 0;
}

static void
wire(const struct buf *m, struct buf *w)
{
	size_t i;

	if (w->cap < 2 * m->len + 3) {
		w->cap = 2 * m->len + 3;
		if ((w->p = realloc(w->p, w->cap)) == NULL)
			abort();
	}
	w->len = 0;
	for (i = 0; i < m->len; i++) {
		if (m->p[i] == '\n' && (i == 0 || m->p[i - 1] != '\r'))
			w->p[w->len++] = '\r';
		w->p[w->len++] = m->p[i];
	}
	if (w->len > 0 && w->p[w->len - 1] != '\n') {
		w->p[w->len++] = '\r';
		w->p[w->len++] = '\n';
	}
}

static char **
read_list(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char **v = NULL, *line = NULL;
	size_t cap = 0, lcap = 0;
	ssize_t l;

	*n = 0;
	if (f == NULL)
		return NULL;
	while ((l = getline(&line, &lcap, f)) > 0) {
		if (line[l - 1] == '\n')
			line[--l] = '\0';
		if (l == 0)
			continue;
		if (*n == cap) {
			cap = 2 * cap + 256;
			if ((v = realloc(v, cap * sizeof(*v))) == NULL)
				abort();
		}
		v[(*n)++] = strdup(line);
	}
	free(line);
	fclose(f);
	return v;
}

static DKIM_LIB *
newlib(const char *queryfile)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES;

	if (lib == NULL)
		return NULL;
	(void)dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof flags);
	if (queryfile != NULL) {
		dkim_query_t q = DKIM_QUERY_FILE;
		(void)dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD,
		    &q, sizeof q);
		(void)dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO,
		    (void *)queryfile, strlen(queryfile));
	}
	return lib;
}

static const char **
split_names(char *s)
{
	const char **v = calloc(strlen(s) + 2, sizeof(*v));
	size_t n = 0;
	char *tok, *save = NULL;

	if (v == NULL)
		abort();
	for (tok = strtok_r(s, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
		v[n++] = tok;
	v[n] = NULL;
	return v;
}

static int
write_signed(const char *outdir, const char *path, const unsigned char *hdr,
    size_t hlen, const struct buf *m)
{
	char out[4096];
	const char *eol = memmem(m->p, m->len, "\r\n", 2) ? "\r\n" : "\n";
	const unsigned char *p;
	FILE *f;

	snprintf(out, sizeof out, "%s/%s", outdir, basename((char *)path));
	if ((f = fopen(out, "wb")) == NULL)
		return -1;
	fputs("DKIM-Signature: ", f);
	for (p = hdr; p < hdr + hlen; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			fputs(eol, f);
		else
			fputc(*p, f);
	}
	fputs(eol, f);
	fwrite(m->p, 1, m->len, f);
	return fclose(f);
}

static int
sign_one(DKIM_LIB *lib, unsigned char *key, const char *sel,
    const char *dom, dkim_alg_t alg, const char *path, const char *outdir,
    struct buf *m, struct buf *w)
{
	DKIM_STAT st;
	DKIM *d;
	unsigned char *hdr;
	size_t hlen;
	int rc = -1;

	if (slurp(path, m) != 0)
		return -1;
	wire(m, w);
	d = dkim_sign(lib, (unsigned char *)path, NULL, key,
	    (unsigned char *)sel, (unsigned char *)dom, DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, alg, -1, &st);
	if (d == NULL)
		return -1;
	st = dkim_chunk(d, (unsigned char *)w->p, w->len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	if (st == DKIM_STAT_OK)
		st = dkim_getsighdr_d(d, strlen("DKIM-Signature: "), &hdr,
		    &hlen);
	if (st == DKIM_STAT_OK)
		rc = write_signed(outdir, path, hdr, hlen, m);
	dkim_free(d);
	return rc;
}

static int
verify_one(DKIM_LIB *lib, const char *path, struct buf *m, struct buf *w)
{
	DKIM_SIGINFO **sigs;
	int nsigs = 0, s, ok;
	DKIM_STAT st;
	DKIM *d;

	if (slurp(path, m) != 0)
		return -1;
	wire(m, w);
	if ((d = dkim_verify(lib, (unsigned char *)path, NULL, &st)) == NULL)
		return -1;
	st = dkim_chunk(d, (unsigned char *)w->p, w->len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK || st == DKIM_STAT_NOSIG)
		(void)dkim_eom(d, NULL);
	ok = dkim_getsiglist(d, &sigs, &nsigs) == DKIM_STAT_OK && nsigs > 0;
	for (s = 0; ok && s < nsigs; s++)
		ok = (dkim_sig_getflags(sigs[s]) & DKIM_SIGFLAG_PASSED) != 0 &&
		    dkim_sig_getbh(sigs[s]) == DKIM_SIGBH_MATCH;
	dkim_free(d);
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *dom = NULL, *sel = NULL, *keyf = NULL, *outdir = NULL;
	const char *list = NULL, *qfile = NULL, *alg = "rsa";
	char *names = NULL;
	struct buf key = { 0 }, m = { 0 }, w = { 0 };
	unsigned long long bytes = 0;
	size_t n, i, failed = 0;
	char **files;
	DKIM_LIB *lib;
	double t0, c0;
	int c, sign;

	if (argc < 2)
		goto usage;
	sign = strcmp(argv[1], "sign") == 0;
	optind = 2;
	while ((c = getopt(argc, argv, "a:d:s:k:H:o:l:q:")) != -1) {
		switch (c) {
		case 'a': alg = optarg; break;
		case 'd': dom = optarg; break;
		case 's': sel = optarg; break;
		case 'k': keyf = optarg; break;
		case 'H': names = optarg; break;
		case 'o': outdir = optarg; break;
		case 'l': list = optarg; break;
		case 'q': qfile = optarg; break;
		default: goto usage;
		}
	}
	if (list == NULL || (files = read_list(list, &n)) == NULL)
		goto usage;
	if (sign ? !dom || !sel || !keyf || !outdir || !names : !qfile)
		goto usage;
	if ((lib = newlib(sign ? NULL : qfile)) == NULL)
		return 70;
	if (sign) {
		const char **v = split_names(names);
		if (slurp(keyf, &key) != 0) {
			perror(keyf);
			return 66;
		}
		key.p[key.len < key.cap ? key.len : key.cap - 1] = '\0';
		(void)dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, v,
		    sizeof v);
	}
	c0 = cpu_s();
	t0 = now_s();
	for (i = 0; i < n; i++) {
		int r = sign ? sign_one(lib, (unsigned char *)key.p, sel, dom,
				   strcmp(alg, "ed25519") == 0
				       ? DKIM_SIGN_ED25519SHA256
				       : DKIM_SIGN_RSASHA256,
				   files[i], outdir, &m, &w)
			     : verify_one(lib, files[i], &m, &w);
		if (r != 0)
			failed++;
		bytes += m.len;
	}
	printf("{\"msgs\":%zu,\"bytes\":%llu,\"failed\":%zu,\"seconds\":%.4f,"
	       "\"cpu_s\":%.3f}\n",
	    n, bytes, failed, now_s() - t0, cpu_s() - c0);
	dkim_close(lib);
	return failed ? 1 : 0;
usage:
	fputs("usage: peer_opendkim sign -a ALG -d DOM -s SEL -k KEY -H NAMES "
	      "-o OUTDIR -l LIST\n       peer_opendkim verify -q QUERY -l LIST\n",
	    stderr);
	return 64;
}
