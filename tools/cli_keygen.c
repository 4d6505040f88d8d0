/*
 * hanko keygen: a new signing key (mode 0600, PEM PKCS#8) and the TXT
 * record to publish, as a master-file line split into 255-byte strings.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/check.h"
#include "core/dkim_key.h"
#include "core/dkim_sig.h"

static const char keygen_usage[] =
    "usage: hanko keygen -d DOMAIN -s SELECTOR|--rotate [-a rsa|ed25519]\n"
    "                    [-b BITS] [-o DIR] [--force] [--records [--rua ADDR]]\n"
    "  writes DIR/SELECTOR.private (mode 0600) and DIR/SELECTOR.txt, the\n"
    "  DNS record to publish at SELECTOR._domainkey.DOMAIN (RSA: 2048 bits\n"
    "  by default)\n"
    "  --rotate      name the selector by today's date (UTC): rsaYYYYMMDD\n"
    "                or edYYYYMMDD, for a key that replaces an older one\n"
    "  --records     also print a starting SPF record and a DMARC record\n"
    "                (p=none, reports to --rua, default dmarc-reports@DOMAIN)\n";

enum {
	OPT_RECORDS = 256,
	OPT_ROTATE,
	OPT_RUA,
};

struct keygen_opts {
	const char *domain, *selector, *dir, *rua;
	bool ed25519, force, records, rotate;
	uint64_t bits;
	char dated[32]; /* the --rotate selector */
};

/*
 * A selector named by the date (UTC) keeps rotations apart and tells
 * anyone reading DNS which key is the newer; the algorithm prefix lets an
 * RSA and an Ed25519 key be made the same day.
 */
static int
keygen_dated(struct keygen_opts *o)
{
	time_t now = time(NULL);
	struct tm tm;
	char day[16];

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(day, sizeof(day), "%Y%m%d", &tm) == 0) {
		cli_err("keygen: cannot read the date");
		return -1;
	}
	snprintf(
	    o->dated, sizeof(o->dated), "%s%s", o->ed25519 ? "ed" : "rsa", day);
	o->selector = o->dated;
	return 0;
}

/* Checked before any key is written, so a bad --rua leaves nothing. */
static bool
keygen_rua_ok(const char *rua)
{
	uint8_t db[1024];
	struct buf b;

	buf_init_fixed(&b, db, sizeof(db));
	return check_starter_dmarc(&b, span_cstr(rua));
}

static int
keygen_parse(struct keygen_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "selector", required_argument, NULL, 's' },
		{ "algorithm", required_argument, NULL, 'a' },
		{ "bits", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "records", no_argument, NULL, OPT_RECORDS },
		{ "rotate", no_argument, NULL, OPT_ROTATE },
		{ "rua", required_argument, NULL, OPT_RUA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->dir = ".";
	o->bits = 2048;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:s:a:b:o:fh", lo, NULL)) != -1) {
		if (ch == 'h') {
			fputs(keygen_usage, stdout);
			return -1;
		}
		if (ch == 'd')
			o->domain = optarg;
		else if (ch == 's')
			o->selector = optarg;
		else if (ch == 'a' &&
		    (strcmp(optarg, "rsa") == 0 ||
		        strcmp(optarg, "ed25519") == 0))
			o->ed25519 = strcmp(optarg, "ed25519") == 0;
		else if (ch == 'b' && cli_parse_u64(optarg, &o->bits) &&
		    o->bits >= 1024 && o->bits <= 8192)
			continue;
		else if (ch == 'o')
			o->dir = optarg;
		else if (ch == 'f')
			o->force = true;
		else if (ch == OPT_RECORDS)
			o->records = true;
		else if (ch == OPT_ROTATE)
			o->rotate = true;
		else if (ch == OPT_RUA)
			o->rua = optarg;
		else
			goto usage;
	}
	if (o->rotate && o->selector != NULL) {
		cli_err("keygen: --rotate names the selector; drop -s");
		return CLI_EX_USAGE;
	}
	if (o->rua != NULL && !keygen_rua_ok(o->rua)) {
		cli_err("keygen: --rua %s is not an address for rua=", o->rua);
		return CLI_EX_USAGE;
	}
	if (o->rotate && keygen_dated(o) != 0)
		return CLI_EX_SOFTWARE;
	if (o->domain == NULL || o->selector == NULL || optind != argc ||
	    !dkim_sig_name_ok(span_cstr(o->domain)) ||
	    !dkim_sig_name_ok(span_cstr(o->selector)))
		goto usage;
	return 0;
usage:
	fputs(keygen_usage, stderr);
	return CLI_EX_USAGE;
}

static int
write_file(const char *path, mode_t mode, bool force, const void *p, size_t len)
{
	int fd = open(path,
	    O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), mode);

	if (fd < 0) {
		cli_err("%s: %s%s", path, strerror(errno),
		    errno == EEXIST ? " (use --force to replace it)" : "");
		return CLI_EX_CANTCREAT;
	}
	if (fchmod(fd, mode) != 0 || cli_write_all(fd, p, len) != 0 ||
	    fsync(fd) != 0) {
		cli_err("%s: %s", path, strerror(errno));
		close(fd);
		return CLI_EX_IOERR;
	}
	close(fd);
	return 0;
}

/* SELECTOR._domainkey.DOMAIN. IN TXT ( "..." "..." ) */
static int
write_record(const struct keygen_opts *o, span rec, const char *path)
{
	char line[8192];
	size_t n, i;
	int r;

	n = (size_t)snprintf(line, sizeof(line),
	    "%s._domainkey.%s.\tIN\tTXT\t(", o->selector, o->domain);
	for (i = 0; i < rec.len && n < sizeof(line) - 300; i += 255) {
		size_t k = rec.len - i < 255 ? rec.len - i : 255;

		n += (size_t)snprintf(line + n, sizeof(line) - n, " \"%.*s\"",
		    (int)k, (const char *)rec.p + i);
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, " )\n");
	if ((r = write_file(path, 0644, o->force, line, n)) == 0)
		fputs(line, stdout);
	return r;
}

static int
keygen_write(const struct keygen_opts *o, struct dkim_privkey *k)
{
	char path[4096], err[160];
	uint8_t recb[4096];
	struct buf rec;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long pemlen;
	int r = CLI_EX_SOFTWARE;

	buf_init_fixed(&rec, recb, sizeof(recb));
	if (bio == NULL ||
	    PEM_write_bio_PrivateKey(bio, k->pk, NULL, NULL, 0, NULL, NULL) !=
	        1 ||
	    (pemlen = BIO_get_mem_data(bio, &pem)) <= 0)
		goto done;
	if (dkim_privkey_record(k, &rec, err, sizeof(err)) != DKIM_OK) {
		cli_err("%s", err);
		goto done;
	}
	snprintf(path, sizeof(path), "%s/%s.private", o->dir, o->selector);
	if ((r = write_file(path, 0600, o->force, pem, (size_t)pemlen)) != 0)
		goto done;
	snprintf(path, sizeof(path), "%s/%s.txt", o->dir, o->selector);
	r = write_record(o, buf_span(&rec), path);
done:
	BIO_free(bio); /* BIO_s_mem clears its buffer on free */
	return r;
}

/* The domain's first SPF and DMARC records (core/check's starters). */
static int
keygen_records(const struct keygen_opts *o)
{
	char rua[512];
	uint8_t sb[256], db[1024];
	struct buf spf, dmarc;

	if (o->rua != NULL)
		snprintf(rua, sizeof(rua), "%s", o->rua);
	else
		snprintf(rua, sizeof(rua), "dmarc-reports@%s", o->domain);
	buf_init_fixed(&spf, sb, sizeof(sb));
	buf_init_fixed(&dmarc, db, sizeof(db));
	if (!check_starter_spf(&spf) ||
	    !check_starter_dmarc(&dmarc, span_cstr(rua))) {
		cli_err("keygen: --rua %s is not an address for rua=", rua);
		return CLI_EX_USAGE;
	}
	printf("%s.\tIN\tTXT\t\"%.*s\"\n", o->domain, (int)spf.len,
	    (const char *)spf.p);
	printf("_dmarc.%s.\tIN\tTXT\t\"%.*s\"\n", o->domain, (int)dmarc.len,
	    (const char *)dmarc.p);
	return fflush(stdout) == 0 ? 0 : CLI_EX_IOERR;
}

int
cli_keygen_main(struct cli_env *e, int argc, char **argv)
{
	struct keygen_opts o;
	struct dkim_privkey k = { NULL, DKIM_KEY_RSA, 0 };
	int r;

	(void)e;
	memset(&o, 0, sizeof(o));
	if ((r = keygen_parse(&o, argc, argv)) != 0)
		return r < 0 ? CLI_EX_OK : r;
	k.type = o.ed25519 ? DKIM_KEY_ED25519 : DKIM_KEY_RSA;
	k.bits = o.ed25519 ? 256 : (unsigned)o.bits;
	k.pk = o.ed25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
	                 : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)o.bits);
	if (k.pk == NULL) {
		cli_err("key generation failed");
		return CLI_EX_SOFTWARE;
	}
	r = keygen_write(&o, &k);
	dkim_privkey_fini(&k);
	if (r == 0 && o.records)
		r = keygen_records(&o);
	return r;
}
