/*
 * cli_report_agg.c - hanko report aggregate: history lines in, RFC 9990
 * reports out (gzip, named ORG!DOMAIN!BEGIN!END!ID.xml.gz, §2.1.1) and
 * one ready-to-submit message per authorised rua mailto (§2.1.2).
 * Counting and XML are io/report_agg.c; this file reads the files,
 * compresses, names, checks destinations and writes.
 */
#include "cli_report.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "cli.h"
#include "cli_dns.h"
#include "cli_report_dest.h"
#include "core/b64.h"
#include "core/span.h"
#include "io/report_agg.h"

#define AGG_MAX_DEST 8

static const char agg_usage[] =
    "usage: hanko report aggregate [DNS] --history FILE... --org-name NAME\n"
    "           --email ADDR -o DIR [--period day|hour|SECONDS]\n" CLI_DNS_USAGE
    "OPTIONS:\n"
    "  --history FILE           hanko dmarc history lines (repeatable; - is "
    "stdin)\n"
    "  --org-name NAME          the reporting organisation (report_metadata)\n"
    "  --email ADDR             its contact address; From of the messages\n"
    "  -o, --output DIR         where reports and messages are written\n"
    "  --period P               day (UTC, default), hour or seconds\n"
    "exit: 0 reports written, 1 some history lines unreadable (the rest "
    "is\n"
    "      reported), 64 bad arguments, 73 cannot write to DIR\n";

enum {
	OPT_HISTORY = 256,
	OPT_ORG,
	OPT_EMAIL,
	OPT_PERIOD,
};

static const struct option agg_longopts[] = {
	CLI_DNS_LONGOPTS,
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "org-name", required_argument, NULL, OPT_ORG },
	{ "email", required_argument, NULL, OPT_EMAIL },
	{ "output", required_argument, NULL, 'o' },
	{ "period", required_argument, NULL, OPT_PERIOD },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Process lifetime. */
struct agg_opts {
	struct cli_dns_opts dns;
	const char **history;
	size_t nhistory;
	const char *org, *email, *dir;
	int64_t period;
};

struct agg_run {
	const struct agg_opts *o;
	struct cli_resolver res;
	int dirfd;
	size_t nreports, nmsgs, nrefused;
	uint64_t messages;
	int err;
};

static int
agg_opt(struct agg_opts *o, int ch, const char *arg)
{
	uint64_t v;
	const char **h;

	switch (ch) {
	case OPT_HISTORY:
		h = realloc(o->history, (o->nhistory + 1) * sizeof(*h));
		if (h == NULL)
			return -1;
		o->history = h;
		o->history[o->nhistory++] = arg;
		return 0;
	case OPT_ORG:
		o->org = arg;
		return 0;
	case OPT_EMAIL:
		o->email = arg;
		return 0;
	case 'o':
		o->dir = arg;
		return 0;
	case OPT_PERIOD:
		if (strcmp(arg, "day") == 0)
			o->period = 86400;
		else if (strcmp(arg, "hour") == 0)
			o->period = 3600;
		else if (cli_parse_u64(arg, &v) && v > 0 &&
		    v <= (uint64_t)366 * 86400)
			o->period = (int64_t)v;
		else
			return -1;
		return 0;
	default:
		return -1;
	}
}

static int
agg_parse_args(struct agg_opts *o, int argc, char **argv)
{
	int ch, r;

	optind = 1;
	while (
	    (ch = getopt_long(argc, argv, "ho:", agg_longopts, NULL)) != -1) {
		if (ch == 'h') {
			fputs(agg_usage, stdout);
			return -1;
		}
		if ((r = cli_dns_opt(&o->dns, ch, optarg)) > 0)
			continue;
		if (r < 0 || agg_opt(o, ch, optarg) != 0) {
			fputs(agg_usage, stderr);
			return CLI_EX_USAGE;
		}
	}
	if (optind != argc) {
		cli_err(
		    "report aggregate: unexpected argument '%s'", argv[optind]);
		return CLI_EX_USAGE;
	}
	if (o->nhistory == 0 || o->org == NULL || o->email == NULL ||
	    o->dir == NULL) {
		cli_err("report aggregate: --history, --org-name, --email and "
		        "-o are required");
		return CLI_EX_USAGE;
	}
	/* RFC 9990 §2.1.1: '!' separates the name's parts. */
	if (strpbrk(o->org, "!/") != NULL || o->org[0] == '\0' ||
	    strchr(o->email, '@') == NULL ||
	    strpbrk(o->email, "\r\n<>") != NULL) {
		cli_err("report aggregate: --org-name must not hold ! or /, "
		        "and --email must be one address");
		return CLI_EX_USAGE;
	}
	return 0;
}

static int
gzip_buf(const char *p, size_t n, uint8_t **out, size_t *outlen)
{
	z_stream z;
	size_t cap = deflateBound(NULL, (uLong)n) + 64;
	int r;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper (RFC 1952), as RFC 9990 §2.1.1 asks. */
	if ((*out = malloc(cap)) == NULL ||
	    deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	        Z_OK) {
		free(*out);
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	r = deflate(&z, Z_FINISH);
	*outlen = cap - z.avail_out;
	deflateEnd(&z);
	if (r != Z_STREAM_END) {
		free(*out);
		return -1;
	}
	return 0;
}

/* A new file in the output directory; never replaces or follows one. */
static int
write_new(struct agg_run *run, const char *name, const void *p, size_t n)
{
	int fd = openat(run->dirfd, name,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0) {
		cli_err("report aggregate: %s/%s: %s", run->o->dir, name,
		    strerror(errno));
		return -1;
	}
	if (cli_write_all(fd, p, n) != 0 || fsync(fd) != 0) {
		cli_err(
		    "report aggregate: %s/%s: write failed", run->o->dir, name);
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * RFC 9990 §2.1.2: From the reporter, To the rua address, the Subject
 * naming domain, submitter and Report-ID, the gzip report attached
 * under its file name.
 */
static int
write_eml(struct agg_run *run, const struct report_agg_out *r, const char *addr,
    const char *fname, const uint8_t *gz, size_t gzlen, size_t idx)
{
	struct buf b;
	uint8_t *mem;
	size_t cap = b64_encoded_len(gzlen) + b64_encoded_len(gzlen) / 76 * 2 +
	    4096,
	       i;
	char hdr[2048], date[64], name[1400];
	time_t now = time(NULL);
	struct tm tm;
	int n, rc = -1;

	if ((mem = malloc(cap)) == NULL)
		return -1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	n = snprintf(hdr, sizeof(hdr),
	    "From: %s\r\nTo: %s\r\nDate: %s\r\n"
	    "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n"
	    "Message-ID: <%s.%zu@%s>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"hanko-%s\"\r\n\r\n"
	    "--hanko-%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "DMARC aggregate report for %s from %s.\r\n\r\n"
	    "--hanko-%s\r\nContent-Type: application/gzip\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n",
	    run->o->email, addr, date, r->domain, run->o->org, r->report_id,
	    r->report_id, idx, strchr(run->o->email, '@') + 1, r->report_id,
	    r->report_id, r->domain, run->o->org, r->report_id, fname);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		goto out;
	buf_init_fixed(&b, mem, cap);
	if (!buf_add(&b, hdr, (size_t)n))
		goto out;
	/* RFC 2045 §6.8: lines of at most 76 characters. */
	for (i = 0; i < gzlen; i += 57)
		if (!b64_encode(&b,
		        span_make(gz + i, gzlen - i < 57 ? gzlen - i : 57)) ||
		    !buf_add_cstr(&b, "\r\n"))
			goto out;
	n = snprintf(hdr, sizeof(hdr), "--hanko-%s--\r\n", r->report_id);
	if (!buf_add(&b, hdr, (size_t)n))
		goto out;
	n = snprintf(name, sizeof(name), "%.*s!%s.eml",
	    (int)(strlen(fname) - 7), fname, addr);
	if (n > 0 && (size_t)n < sizeof(name))
		rc = write_new(run, name, b.p, b.len);
out:
	free(mem);
	return rc;
}

static void
send_all(struct agg_run *run, const struct report_agg_out *r, const char *fname,
    const uint8_t *gz, size_t gzlen)
{
	struct cli_report_dest d[AGG_MAX_DEST];
	size_t nd = cli_report_dest_parse(r->rua, d, AGG_MAX_DEST), i;

	for (i = 0; i < nd; i++) {
		const char *dom = strrchr(d[i].addr, '@') + 1;
		enum dest_verdict v;

		if (strpbrk(d[i].addr, "/\r\n<>\"") != NULL) {
			cli_warn("report aggregate: %s: unusable address %s",
			    r->domain, d[i].addr);
			continue;
		}
		v = cli_report_dest_check(&run->res, r->domain, dom);
		if (v != DEST_OK) {
			cli_warn("report aggregate: %s: %s not authorised to "
			         "receive its reports (%s._report._dmarc.%s"
			         "%s); no message",
			    r->domain, d[i].addr, r->domain, dom,
			    v == DEST_TEMPFAIL ? ": DNS failed"
			                       : " has no v=DMARC1");
			run->nrefused++;
			continue;
		}
		/* RFC 9989 §4.7: a report over the limit is not sent. */
		if (d[i].max_size > 0 && gzlen > d[i].max_size) {
			cli_warn("report aggregate: %s: report is %zu bytes, "
			         "over %s's limit of %" PRIu64 "; no message",
			    r->domain, gzlen, d[i].addr, d[i].max_size);
			run->nrefused++;
			continue;
		}
		if (write_eml(run, r, d[i].addr, fname, gz, gzlen, i) != 0)
			run->err = CLI_EX_CANTCREAT;
		else
			run->nmsgs++;
	}
}

static int
on_report(void *cookie, const struct report_agg_out *r)
{
	struct agg_run *run = cookie;
	char fname[1024];
	uint8_t *gz;
	size_t gzlen;
	int n;

	n = snprintf(fname, sizeof(fname),
	    "%s!%s!%" PRId64 "!%" PRId64 "!%s.xml.gz", run->o->org, r->domain,
	    r->begin, r->end, r->report_id);
	if (n < 0 || (size_t)n >= sizeof(fname) ||
	    strchr(r->domain, '/') != NULL) {
		cli_warn("report aggregate: %s: unusable file name", r->domain);
		return 0;
	}
	if (gzip_buf(r->xml, r->xml_len, &gz, &gzlen) != 0)
		return CLI_EX_SOFTWARE;
	if (write_new(run, fname, gz, gzlen) != 0) {
		free(gz);
		return CLI_EX_CANTCREAT;
	}
	run->nreports++;
	run->messages += r->messages;
	send_all(run, r, fname, gz, gzlen);
	free(gz);
	return 0;
}

/* Read every line of every history file; bad lines are warned about. */
static int
agg_read(const struct agg_opts *o, struct report_agg *agg, uint64_t *bad)
{
	char *line = NULL, err[160];
	size_t cap = 0, i;
	ssize_t n;
	uint64_t lineno;

	for (i = 0; i < o->nhistory; i++) {
		FILE *f = strcmp(o->history[i], "-") == 0
		    ? stdin
		    : fopen(o->history[i], "r");

		if (f == NULL) {
			cli_err("report aggregate: %s: %s", o->history[i],
			    strerror(errno));
			free(line);
			return CLI_EX_NOINPUT;
		}
		for (lineno = 1; (n = getline(&line, &cap, f)) > 0; lineno++) {
			if (n == 1 && line[0] == '\n')
				continue;
			if (report_agg_line(
			        agg, line, (size_t)n, err, sizeof(err)) < 0) {
				if (++*bad <= 10)
					cli_warn("report aggregate: %s:%" PRIu64
					         ": %s",
					    o->history[i], lineno, err);
			}
		}
		if (f != stdin)
			fclose(f);
	}
	free(line);
	return 0;
}

static int
agg_run_reports(const struct agg_opts *o, struct report_agg *agg)
{
	struct agg_run run = { .o = o, .dirfd = -1 };
	struct report_agg_meta m = {
		.org_name = o->org, .email = o->email, .generator = "hanko"
	};
	char err[256];
	int r;

	if (mkdir(o->dir, 0755) != 0 && errno != EEXIST) {
		cli_err("report aggregate: %s: %s", o->dir, strerror(errno));
		return CLI_EX_CANTCREAT;
	}
	if ((run.dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	    0) {
		cli_err("report aggregate: %s: %s", o->dir, strerror(errno));
		return CLI_EX_CANTCREAT;
	}
	if ((r = cli_resolver_open(&o->dns, 16, &run.res, err, sizeof(err))) !=
	    0) {
		cli_err("report aggregate: %s", err);
		close(run.dirfd);
		return r;
	}
	r = report_agg_each(agg, &m, on_report, &run);
	cli_resolver_close(&run.res);
	close(run.dirfd);
	fprintf(stderr,
	    "hanko: report aggregate: %zu reports (%" PRIu64 " messages), "
	    "%zu messages to send, %zu destinations refused\n",
	    run.nreports, run.messages, run.nmsgs, run.nrefused);
	return r != 0 ? r : run.err;
}

int
cli_report_aggregate_main(struct cli_env *e, int argc, char **argv)
{
	struct agg_opts o = { .period = 86400 };
	struct report_agg *agg = NULL;
	uint64_t bad = 0, counted, skipped;
	size_t rows;
	int r;

	(void)e;
	cli_dns_init(&o.dns);
	if ((r = agg_parse_args(&o, argc, argv)) != 0) {
		free(o.history);
		return r < 0 ? CLI_EX_OK : r;
	}
	if ((r = cli_dns_setup(&o.dns)) != 0)
		goto out;
	if (report_agg_new(o.period, &agg) != 0) {
		r = CLI_EX_SOFTWARE;
		goto out;
	}
	if ((r = agg_read(&o, agg, &bad)) != 0)
		goto out;
	report_agg_stats(agg, &counted, &skipped, &rows);
	fprintf(stderr,
	    "hanko: report aggregate: %" PRIu64 " lines counted in %zu rows, "
	    "%" PRIu64 " without a policy record, %" PRIu64 " unreadable\n",
	    counted, rows, skipped, bad);
	r = agg_run_reports(&o, agg);
	if (r == 0 && bad > 0)
		r = CLI_EX_SOMEFAIL;
out:
	report_agg_free(agg);
	cli_dns_fini(&o.dns);
	free(o.history);
	return r;
}
