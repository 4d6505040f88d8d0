/*
 * bound - the physical bound for DKIM signing and verifying on this machine.
 *
 *   bound [-v] -a rsa|ed25519|dual -k KEYFILE [-k KEYFILE] -j THREADS
 *         [-o OUTDIR [-D syncfs|fdatasync]] DIR
 *
 * Does only the work no signer can avoid, per message in DIR: open and
 * read the file, SHA-256 over all its bytes (the body hash), SHA-256 over
 * a 300-byte header block, then one private-key signature per algorithm:
 * RSA-2048 PKCS#1 v1.5 over the 32-byte digest, Ed25519 over the 32-byte
 * header-block digest (RFC 8463 signs the SHA-256 of the header data).
 * With -v it verifies instead: the same reads and hashes, then one
 * public-key verification per algorithm of a signature made before the
 * clock starts (the work of a verify does not depend on which digest).
 *
 * With -o it also writes what a signer must hand off: per message a new
 * file OUTDIR/.bound-tmp.NAME, created O_EXCL, holding a DKIM-Signature
 * block of the real size (base64 of the signature and body hash in it)
 * and the message, renamed to OUTDIR/NAME without replacing anything.
 * -D makes that durable the way a batch hand-off must: every output's
 * data on disk before its rename, the renames on disk before the batch
 * counts as done. Per batch of BATCH outputs a thread either calls
 * syncfs() once on OUTDIR (one journal commit for the batch) or
 * fdatasync()s each file; then it renames and fsyncs OUTDIR once.
 * All threads write into the one OUTDIR, as hanko's workers do.
 *
 * THREADS workers take files from a shared counter, BATCH at a time; each
 * parses nothing per message: the key is loaded once, each thread creates its
 * contexts once. For dual, give the RSA key first and the Ed25519 key second.
 * Prints one JSON object: msgs, bytes, seconds (wall), msgs_per_s,
 * mb_per_s (10^6 bytes), cpu_s (user + system of the process).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syncfs, renameat2 */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "clock.h"

#define MAX_THREADS 256
#define HDR_BLOCK   300u
#define BATCH       64u /* hanko's default --batch */
#define TMP_PREFIX  ".bound-tmp."
#define NAME_MAX_   255u

enum durable {
	DUR_NONE = 0,
	DUR_SYNCFS,    /* one syncfs() per batch before its renames */
	DUR_FDATASYNC, /* fdatasync() each output before its rename */
};

struct job {
	char **files;
	size_t nfiles;
	atomic_size_t next;
	atomic_ullong bytes;
	atomic_int failed;
	EVP_PKEY *rsa, *ed;
	bool verify;
	int outfd; /* -1: no output write */
	enum durable durable;
	unsigned char rsa_sig[512], ed_sig[64];
	size_t rsa_siglen;
	unsigned char ref_digest[32];
};

struct worker {
	struct job *job;
	EVP_PKEY_CTX *rsa_ctx;
	EVP_MD_CTX *md, *ed_md;
	unsigned char *buf;
	size_t cap;
	/* The last message's signatures and body hash, for the output. */
	unsigned char rsa_sig[512], ed_sig[64], bh[32];
	size_t rsa_siglen;
	char hdr[4096];
	/* Outputs written under their temporary name, not yet renamed. */
	const char *pending[BATCH];
	size_t npending;
};

/* hanko's default h= list, so the block has a signer's size. */
static const char sig_h[] =
    "from:reply-to:subject:date:to:cc:resent-date:resent-from:resent-to:"
    "resent-cc:in-reply-to:references:list-id:list-help:list-unsubscribe:"
    "list-unsubscribe-post:list-subscribe:list-post:list-owner:"
    "list-archive:message-id:mime-version:content-type:"
    "content-transfer-encoding";

static EVP_PKEY *
load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL) {
		perror(path);
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		fprintf(stderr, "bound: %s: not a PEM private key\n", path);
	return k;
}

/* Read the whole file into w->buf; its length, or -1. */
static ssize_t
read_file(struct worker *w, const char *path)
{
	size_t len = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (;;) {
		if (len == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 1u << 20;
			if ((w->buf = realloc(w->buf, w->cap)) == NULL)
				abort();
		}
		r = read(fd, w->buf + len, w->cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	return r < 0 ? -1 : (ssize_t)len;
}

static bool
sha256(
    struct worker *w, const unsigned char *p, size_t n, unsigned char out[32])
{
	unsigned int olen = 0;

	return EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(w->md, p, n) == 1 &&
	    EVP_DigestFinal_ex(w->md, out, &olen) == 1;
}

static bool
do_rsa(struct worker *w, const unsigned char d[32])
{
	struct job *j = w->job;

	if (j->verify)
		return EVP_PKEY_verify(w->rsa_ctx, j->rsa_sig, j->rsa_siglen,
		           j->ref_digest, 32) == 1;
	w->rsa_siglen = sizeof(w->rsa_sig);
	return EVP_PKEY_sign(w->rsa_ctx, w->rsa_sig, &w->rsa_siglen, d, 32) ==
	    1;
}

static bool
do_ed(struct worker *w, const unsigned char d[32])
{
	struct job *j = w->job;
	size_t siglen = sizeof(w->ed_sig);

	if (j->verify)
		return EVP_DigestVerifyInit(
		           w->ed_md, NULL, NULL, NULL, j->ed) == 1 &&
		    EVP_DigestVerify(
		        w->ed_md, j->ed_sig, 64, j->ref_digest, 32) == 1;
	return EVP_DigestSignInit(w->ed_md, NULL, NULL, NULL, j->ed) == 1 &&
	    EVP_DigestSign(w->ed_md, w->ed_sig, &siglen, d, 32) == 1;
}

/* One DKIM-Signature field as a signer writes it; its length. */
static size_t
sig_field(char *out, size_t cap, const char *alg, const char *sel,
    const unsigned char bh[32], const unsigned char *sig, size_t siglen)
{
	char bh64[48], b64[700];
	int n;

	EVP_EncodeBlock((unsigned char *)bh64, bh, 32);
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	n = snprintf(out, cap,
	    "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed;\r\n"
	    "\td=bench.example; s=%s; t=1767225600;\r\n\th=%s;\r\n"
	    "\tbh=%s;\r\n\tb=%s\r\n",
	    alg, sel, sig_h, bh64, b64);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* Write header block + message to OUTDIR/.bound-tmp.NAME, exclusively. */
static bool
write_output(struct worker *w, const char *name, size_t len)
{
	struct job *j = w->job;
	char tmp[sizeof(TMP_PREFIX) + NAME_MAX_];
	struct iovec iov[2];
	size_t hl = 0, want;
	ssize_t r;
	bool ok;
	int fd;

	if (j->rsa != NULL)
		hl = sig_field(w->hdr, sizeof(w->hdr), "rsa-sha256", "rsa",
		    w->bh, w->rsa_sig, w->rsa_siglen);
	if (j->ed != NULL)
		hl += sig_field(w->hdr + hl, sizeof(w->hdr) - hl,
		    "ed25519-sha256", "ed", w->bh, w->ed_sig, 64);
	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%s", name);
	fd = openat(j->outfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	iov[0] = (struct iovec){ .iov_base = w->hdr, .iov_len = hl };
	iov[1] = (struct iovec){ .iov_base = w->buf, .iov_len = len };
	want = hl + len;
	r = writev(fd, iov, 2);
	ok = r >= 0 && (size_t)r == want;
	if (ok && j->durable == DUR_FDATASYNC)
		ok = fdatasync(fd) == 0;
	return close(fd) == 0 && ok;
}

/*
 * Make the pending outputs durable (when asked) and rename each into
 * place without replacing anything, then sync the directory: the
 * grouped hand-off of one batch.
 */
static bool
commit_batch(struct worker *w)
{
	struct job *j = w->job;
	char tmp[sizeof(TMP_PREFIX) + NAME_MAX_];
	bool ok = true;
	size_t i;

	if (w->npending == 0)
		return true;
	if (j->durable == DUR_SYNCFS && syncfs(j->outfd) != 0)
		ok = false;
	for (i = 0; i < w->npending; i++) {
		snprintf(tmp, sizeof(tmp), TMP_PREFIX "%s", w->pending[i]);
		if (renameat2(j->outfd, tmp, j->outfd, w->pending[i],
		        RENAME_NOREPLACE) != 0)
			ok = false;
	}
	if (j->durable != DUR_NONE && fsync(j->outfd) != 0)
		ok = false;
	w->npending = 0;
	return ok;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static bool
one_message(struct worker *w, const char *path)
{
	unsigned char hh[32];
	ssize_t n = read_file(w, path);
	size_t len, hb;

	if (n < 0)
		return false;
	len = (size_t)n;
	hb = len < HDR_BLOCK ? len : HDR_BLOCK;
	if (!sha256(w, w->buf, len, w->bh) || !sha256(w, w->buf, hb, hh))
		return false;
	atomic_fetch_add(&w->job->bytes, len);
	if (w->job->rsa != NULL && !do_rsa(w, hh))
		return false;
	if (w->job->ed != NULL && !do_ed(w, hh))
		return false;
	if (w->job->outfd < 0)
		return true;
	if (!write_output(w, base_name(path), len))
		return false;
	w->pending[w->npending++] = base_name(path);
	return true;
}

static bool
worker_init(struct worker *w)
{
	struct job *j = w->job;

	w->md = EVP_MD_CTX_new();
	w->ed_md = EVP_MD_CTX_new();
	if (w->md == NULL || w->ed_md == NULL)
		return false;
	if (j->rsa == NULL)
		return true;
	w->rsa_ctx = EVP_PKEY_CTX_new(j->rsa, NULL);
	if (w->rsa_ctx == NULL)
		return false;
	if ((j->verify ? EVP_PKEY_verify_init(w->rsa_ctx)
	               : EVP_PKEY_sign_init(w->rsa_ctx)) != 1)
		return false;
	return EVP_PKEY_CTX_set_rsa_padding(w->rsa_ctx, RSA_PKCS1_PADDING) ==
	    1 &&
	    EVP_PKEY_CTX_set_signature_md(w->rsa_ctx, EVP_sha256()) == 1;
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct job *j = w->job;
	size_t i, k;

	if (!worker_init(w)) {
		atomic_fetch_add(&j->failed, 1);
		return NULL;
	}
	while ((i = atomic_fetch_add(&j->next, BATCH)) < j->nfiles) {
		for (k = i; k < j->nfiles && k < i + BATCH; k++)
			if (!one_message(w, j->files[k]))
				atomic_fetch_add(&j->failed, 1);
		if (!commit_batch(w))
			atomic_fetch_add(&j->failed, 1);
	}
	EVP_PKEY_CTX_free(w->rsa_ctx);
	EVP_MD_CTX_free(w->md);
	EVP_MD_CTX_free(w->ed_md);
	free(w->buf);
	return NULL;
}

/* The reference signatures a verify run checks, made before timing. */
static bool
make_refs(struct job *j)
{
	struct worker w = { .job = j };
	bool ok;

	memset(j->ref_digest, 0x5a, sizeof(j->ref_digest));
	j->verify = false;
	ok = worker_init(&w);
	if (ok && j->rsa != NULL) {
		j->rsa_siglen = sizeof(j->rsa_sig);
		ok = EVP_PKEY_sign(w.rsa_ctx, j->rsa_sig, &j->rsa_siglen,
		         j->ref_digest, 32) == 1;
	}
	if (ok && j->ed != NULL) {
		size_t l = 64;
		ok =
		    EVP_DigestSignInit(w.ed_md, NULL, NULL, NULL, j->ed) == 1 &&
		    EVP_DigestSign(w.ed_md, j->ed_sig, &l, j->ref_digest, 32) ==
		        1;
	}
	EVP_PKEY_CTX_free(w.rsa_ctx);
	EVP_MD_CTX_free(w.md);
	EVP_MD_CTX_free(w.ed_md);
	j->verify = true;
	return ok;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
list_dir(const char *dir, struct job *j)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	if (d == NULL) {
		perror(dir);
		return false;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (j->nfiles == cap) {
			cap = cap ? 2 * cap : 1024;
			j->files = realloc(j->files, cap * sizeof(*j->files));
			if (j->files == NULL)
				abort();
		}
		if (asprintf(&j->files[j->nfiles++], "%s/%s", dir, e->d_name) <
		    0)
			abort();
	}
	closedir(d);
	qsort(j->files, j->nfiles, sizeof(*j->files), cmp_str);
	return true;
}

static int
usage(void)
{
	fputs("usage: bound [-v] -a rsa|ed25519|dual -k KEY [-k KEY] "
	      "-j THREADS [-o OUTDIR [-D syncfs|fdatasync]] DIR\n",
	    stderr);
	return 64;
}

/* -o and -D: an existing directory, and how to make its files durable. */
static bool
parse_output(struct job *j, const char *outdir, const char *dur, bool verify)
{
	j->outfd = -1;
	if (outdir == NULL)
		return dur == NULL;
	if (verify)
		return false;
	if (dur == NULL)
		j->durable = DUR_NONE;
	else if (strcmp(dur, "syncfs") == 0)
		j->durable = DUR_SYNCFS;
	else if (strcmp(dur, "fdatasync") == 0)
		j->durable = DUR_FDATASYNC;
	else
		return false;
	j->outfd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->outfd < 0)
		perror(outdir);
	return j->outfd >= 0;
}

/* Assign the keys given by -k to the algorithm slots -a asks for. */
static bool
assign_keys(struct job *j, const char *alg, EVP_PKEY *k[2], int nk)
{
	if (strcmp(alg, "rsa") == 0 && nk == 1)
		j->rsa = k[0];
	else if (strcmp(alg, "ed25519") == 0 && nk == 1)
		j->ed = k[0];
	else if (strcmp(alg, "dual") == 0 && nk == 2) {
		j->rsa = k[0];
		j->ed = k[1];
	} else
		return false;
	if (j->rsa != NULL && EVP_PKEY_get_base_id(j->rsa) != EVP_PKEY_RSA)
		return false;
	return j->ed == NULL || EVP_PKEY_get_base_id(j->ed) == EVP_PKEY_ED25519;
}

int
main(int argc, char **argv)
{
	static struct job job;
	static struct worker w[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	const char *alg = "rsa";
	EVP_PKEY *keys[2] = { NULL, NULL };
	const char *outdir = NULL, *dur = NULL;
	int c, nk = 0, nt = 1, i;
	bool verify = false;
	double t0, t1, c0, secs;

	while ((c = getopt(argc, argv, "va:k:j:o:D:")) != -1) {
		switch (c) {
		case 'v':
			verify = true;
			break;
		case 'a':
			alg = optarg;
			break;
		case 'k':
			if (nk == 2 || (keys[nk++] = load_key(optarg)) == NULL)
				return 66;
			break;
		case 'j':
			nt = atoi(optarg);
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'D':
			dur = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind + 1 != argc || nt < 1 || nt > MAX_THREADS)
		return usage();
	if (!parse_output(&job, outdir, dur, verify))
		return usage();
	if (!assign_keys(&job, alg, keys, nk)) {
		fputs("bound: key types do not match -a\n", stderr);
		return 64;
	}
	if (!list_dir(argv[optind], &job))
		return 66;
	if (verify && !make_refs(&job)) {
		fputs("bound: reference signature failed\n", stderr);
		return 70;
	}
	job.verify = verify;
	c0 = cpu_s();
	t0 = now_s();
	for (i = 0; i < nt; i++) {
		w[i].job = &job;
		if (pthread_create(&tid[i], NULL, worker_run, &w[i]) != 0)
			return 71;
	}
	for (i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
	t1 = now_s();
	secs = t1 - t0;
	printf("{\"mode\":\"%s\",\"alg\":\"%s\",\"threads\":%d,"
	       "\"write\":%s,\"durable\":\"%s\",\"msgs\":%zu,"
	       "\"bytes\":%llu,\"failed\":%d,\"seconds\":%.4f,"
	       "\"msgs_per_s\":%.1f,\"mb_per_s\":%.2f,\"cpu_s\":%.3f}\n",
	    verify ? "verify" : "sign", alg, nt,
	    job.outfd >= 0 ? "true" : "false", dur != NULL ? dur : "none",
	    job.nfiles, (unsigned long long)job.bytes, job.failed, secs,
	    (double)job.nfiles / secs, (double)job.bytes / 1e6 / secs,
	    cpu_s() - c0);
	for (size_t f = 0; f < job.nfiles; f++)
		free(job.files[f]);
	free(job.files);
	EVP_PKEY_free(keys[0]);
	EVP_PKEY_free(keys[1]);
	if (job.outfd >= 0)
		close(job.outfd);
	return job.failed ? 70 : 0;
}
