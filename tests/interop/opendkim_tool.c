/*
 * Sign and verify with libopendkim (Debian libopendkim11 + libopendkim-dev)
 * for tests/sh/interop_opendkim.sh. No DNS: keys come from a query file
 * (DKIM_QUERY_FILE, lines "sel._domainkey.domain<TAB>record").
 *
 *   opendkim_tool sign [-r] -d DOMAIN -s SELECTOR -k KEYFILE -a rsa|ed25519
 *                      -c HEADER/BODY -o OUTDIR FILE...
 *       Write OUTDIR/<basename>: one DKIM-Signature field, then FILE
 *       unchanged. Every header field present is signed (DKIM_OPTS_SIGNHDRS
 *       set to the names found in the message). KEYFILE: PEM (PKCS#1 or
 *       PKCS#8), as hanko keygen writes it.
 *
 *   opendkim_tool verify [-r] -q QUERYFILE FILE...
 *       Prints "pass FILE" when every signature (at least one) of FILE
 *       verifies, else "fail FILE REASON". Exit 0 when all passed.
 *
 * libopendkim is fed the message as on the wire: bare LF becomes CRLF (a
 * milter gets CRLF from the MTA) and, if the last line has no terminator,
 * CRLF is added (SMTP DATA always ends with one). -r (sign or verify)
 * skips that last step, to reproduce libopendkim's relaxed-body disagreement
 * on unterminated last lines (see the suite).
 *
 * Build: cc -o opendkim_tool opendkim_tool.c $(pkg-config --cflags --libs opendkim)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dkim.h>

static int no_final_fix;	/* -r: feed an unterminated last line raw */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (f == NULL)
		return NULL;
	do {
		if (n + 65536 > cap) {
			char *nb = realloc(buf, cap = 2 * cap + 65536);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The message as an MTA would hand it over: CRLF everywhere. */
static char *wire(const char *m, size_t len, size_t *outlen)
{
	char *w = malloc(2 * len + 3);
	size_t i, o = 0;

	if (w == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r'))
			w[o++] = '\r';
		w[o++] = m[i];
	}
	if (!no_final_fix && o > 0 && w[o - 1] != '\n') {
		w[o++] = '\r';
		w[o++] = '\n';
	}
	*outlen = o;
	return w;
}

static DKIM_LIB *newlib(const char *queryfile)
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

/* NULL-terminated list of the header field names of message m (in place). */
static const char **header_names(const char *m, size_t len)
{
	const char **v = calloc(len / 2 + 2, sizeof *v);
	size_t i = 0, n = 0;

	if (v == NULL)
		return NULL;
	while (i < len) {
		size_t e = i;
		while (e < len && m[e] != '\n')
			e++;
		if (e == i || (e == i + 1 && m[i] == '\r'))
			break;			/* blank line: end of header */
		if (m[i] != ' ' && m[i] != '\t') {
			const char *c = memchr(m + i, ':', e - i);
			if (c != NULL && c > m + i)
				v[n++] = strndup(m + i, (size_t)(c - (m + i)));
		}
		i = e + 1;
	}
	v[n] = NULL;
	return v;
}

static int do_sign(int argc, char **argv)
{
	const char *domain = NULL, *sel = NULL, *keyfile = NULL, *outdir = NULL;
	const char *alg = "rsa", *canon = "relaxed/relaxed";
	dkim_canon_t hc, bc;
	unsigned char *key;
	size_t keylen;
	int c, rc = 0;

	while ((c = getopt(argc, argv, "d:s:k:a:c:o:r")) != -1) {
		switch (c) {
		case 'd': domain = optarg; break;
		case 's': sel = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'a': alg = optarg; break;
		case 'c': canon = optarg; break;
		case 'o': outdir = optarg; break;
		case 'r': no_final_fix = 1; break;
		default: return 2;
		}
	}
	if (!domain || !sel || !keyfile || !outdir) {
		fprintf(stderr, "sign: -d -s -k -o required\n");
		return 2;
	}
	hc = strncmp(canon, "relaxed/", 8) == 0 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	bc = strcmp(strchr(canon, '/') ? strchr(canon, '/') + 1 : "", "relaxed") == 0
	    ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	key = (unsigned char *)slurp(keyfile, &keylen);
	if (key == NULL) {
		fprintf(stderr, "%s: %s\n", keyfile, strerror(errno));
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		size_t len, wlen, hlen;
		char *m = slurp(argv[i], &len), *w, out[4096], *p;
		const char **names;
		unsigned char *hdr;
		DKIM_STAT st;
		DKIM_LIB *lib;
		DKIM *d;
		FILE *f;
		const char *eol;

		if (m == NULL) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		eol = memmem(m, len, "\r\n", 2) ? "\r\n" : "\n";
		w = wire(m, len, &wlen);
		names = header_names(m, len);
		lib = newlib(NULL);
		if (lib == NULL || w == NULL || names == NULL) {
			fprintf(stderr, "out of memory\n");
			return 2;
		}
		(void)dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
		                   names, sizeof names);
		d = dkim_sign(lib, (unsigned char *)argv[i], NULL, key,
		              (unsigned char *)sel, (unsigned char *)domain, hc, bc,
		              strcmp(alg, "ed25519") == 0 ? DKIM_SIGN_ED25519SHA256
		                                          : DKIM_SIGN_RSASHA256,
		              -1, &st);
		if (d == NULL) {
			fprintf(stderr, "%s: dkim_sign: %s\n", argv[i],
			        dkim_getresultstr(st));
			rc = 1;
			goto next;
		}
		st = dkim_chunk(d, (unsigned char *)w, wlen);
		if (st == DKIM_STAT_OK)
			st = dkim_chunk(d, NULL, 0);
		if (st == DKIM_STAT_OK)
			st = dkim_eom(d, NULL);
		if (st == DKIM_STAT_OK)
			st = dkim_getsighdr_d(d, strlen("DKIM-Signature: "), &hdr,
			                      &hlen);
		if (st != DKIM_STAT_OK) {
			fprintf(stderr, "%s: signing failed: %s (%s)\n", argv[i],
			        dkim_getresultstr(st), dkim_geterror(d));
			rc = 1;
			dkim_free(d);
			goto next;
		}
		snprintf(out, sizeof out, "%s/%s", outdir, basename(argv[i]));
		f = fopen(out, "wb");
		if (f == NULL) {
			fprintf(stderr, "%s: %s\n", out, strerror(errno));
			return 2;
		}
		fputs("DKIM-Signature: ", f);
		for (p = (char *)hdr; p < (char *)hdr + hlen; p++) {
			if (*p == '\r')
				continue;
			if (*p == '\n')
				fputs(eol, f);
			else
				fputc(*p, f);
		}
		fputs(eol, f);
		fwrite(m, 1, len, f);
		fclose(f);
		dkim_free(d);
	next:
		dkim_close(lib);
		free(w);
		free(m);
	}
	free(key);
	return rc;
}

static int do_verify(int argc, char **argv)
{
	const char *qfile = NULL;
	int c, rc = 0;

	while ((c = getopt(argc, argv, "q:r")) != -1) {
		switch (c) {
		case 'q': qfile = optarg; break;
		case 'r': no_final_fix = 1; break;
		default: return 2;
		}
	}
	if (qfile == NULL) {
		fprintf(stderr, "verify: -q QUERYFILE required\n");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		size_t len, wlen;
		char *m = slurp(argv[i], &len), *w;
		char reason[512] = "";
		DKIM_SIGINFO **sigs;
		int nsigs = 0;
		DKIM_STAT st;
		DKIM_LIB *lib = newlib(qfile);
		DKIM *d;

		if (m == NULL || lib == NULL) {
			printf("fail %s unreadable\n", argv[i]);
			rc = 1;
			continue;
		}
		w = wire(m, len, &wlen);
		d = dkim_verify(lib, (unsigned char *)argv[i], NULL, &st);
		if (d == NULL) {
			snprintf(reason, sizeof reason, "dkim_verify: %s",
			         dkim_getresultstr(st));
			goto report;
		}
		st = dkim_chunk(d, (unsigned char *)w, wlen);
		if (st == DKIM_STAT_OK)
			st = dkim_chunk(d, NULL, 0);
		if (st == DKIM_STAT_OK || st == DKIM_STAT_NOSIG)
			st = dkim_eom(d, NULL);
		if (dkim_getsiglist(d, &sigs, &nsigs) != DKIM_STAT_OK || nsigs == 0) {
			snprintf(reason, sizeof reason, "no signature (%s)",
			         dkim_getresultstr(st));
			goto report;
		}
		for (int s = 0; s < nsigs; s++) {
			if (DKIM_SIG_CHECK(sigs[s]))
				continue;
			snprintf(reason, sizeof reason,
			         "signature %d: %s; bh %s; %s", s,
			         dkim_sig_geterrorstr(dkim_sig_geterror(sigs[s])),
			         dkim_sig_getbh(sigs[s]) == DKIM_SIGBH_MATCH
			             ? "matches" : "mismatch",
			         dkim_getresultstr(st));
			break;
		}
	report:
		if (reason[0] != '\0') {
			printf("fail %s %s\n", argv[i], reason);
			rc = 1;
		} else {
			printf("pass %s\n", argv[i]);
		}
		if (d != NULL)
			dkim_free(d);
		dkim_close(lib);
		free(w);
		free(m);
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "sign") == 0)
		return do_sign(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return do_verify(argc - 1, argv + 1);
	fprintf(stderr, "usage: opendkim_tool sign|verify ...\n");
	return 2;
}
