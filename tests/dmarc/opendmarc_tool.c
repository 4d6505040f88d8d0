/*
 * Evaluate DMARC cases with libopendmarc (Debian libopendmarc2 1.4.2 +
 * libopendmarc-dev) for tests/sh/interop_opendmarc.sh: an independent
 * RFC 7489 implementation to compare hanko dmarc --rfc7489 with.
 *
 *   opendmarc_tool -t TLDFILE -r RECORDS CASES
 *
 * TLDFILE is the Public Suffix List text (public_suffix_list.dat), read by
 * the library itself (OPENDMARC_TLD_TYPE_MOZILLA). RECORDS has one line
 * per DMARC record, "NAME<TAB>TEXT" (NAME is _dmarc.DOMAIN); each becomes
 * a fake DNS answer (opendmarc_dns_fake_record), so policy discovery
 * (author domain, then the Organizational Domain from the list) is the
 * library's own and no DNS is used. CASES has one line per message:
 *
 *   NAME<TAB>IP<TAB>FROM<TAB>SPF<TAB>DKIM
 *
 * SPF is "DOMAIN:RESULT:ORIGIN" (RESULT pass|fail|none|temperror, ORIGIN
 * mailfrom|helo) or "-"; DKIM is a comma-separated list of
 * "DOMAIN:SELECTOR:RESULT" (pass|fail|none|temperror) or "-". The calls
 * follow the order of the opendmarc milter at end of message: From
 * domain, policy query, SPF, then every DKIM result in header order.
 *
 * One line per case on stdout:
 *
 *   NAME<TAB>POLICY<TAB>DKIM-ALIGNED<TAB>SPF-ALIGNED<TAB>QUERY-STATUS
 *
 * POLICY is pass|none|quarantine|reject|absent (no record) or
 * error:N; the alignment columns are yes|no ("-" when no record, as the
 * library computes alignment only when it has a policy).
 *
 * Build: cc -o opendmarc_tool opendmarc_tool.c -lopendmarc
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <opendmarc/dmarc.h>

static int spf_outcome(const char *r)
{
	if (strcmp(r, "pass") == 0)
		return DMARC_POLICY_SPF_OUTCOME_PASS;
	if (strcmp(r, "fail") == 0)
		return DMARC_POLICY_SPF_OUTCOME_FAIL;
	if (strcmp(r, "temperror") == 0)
		return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
	return DMARC_POLICY_SPF_OUTCOME_NONE;
}

static int dkim_outcome(const char *r)
{
	if (strcmp(r, "pass") == 0)
		return DMARC_POLICY_DKIM_OUTCOME_PASS;
	if (strcmp(r, "fail") == 0)
		return DMARC_POLICY_DKIM_OUTCOME_FAIL;
	if (strcmp(r, "temperror") == 0)
		return DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
	return DMARC_POLICY_DKIM_OUTCOME_NONE;
}

static const char *policy_str(int p, char *buf, size_t len)
{
	switch (p) {
	case DMARC_POLICY_PASS:
		return "pass";
	case DMARC_POLICY_NONE:
		return "none";
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	case DMARC_POLICY_ABSENT:
		return "absent";
	default:
		snprintf(buf, len, "error:%d", p);
		return buf;
	}
}

/* Split s at every sep into at most max fields; returns the count. */
static int split(char *s, int sep, char **f, int max)
{
	int n = 0;

	while (n < max) {
		char *e = strchr(s, sep);
		f[n++] = s;
		if (e == NULL)
			break;
		*e = '\0';
		s = e + 1;
	}
	return n;
}

static int load_records(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		char *tab = strchr(line, '\t');
		line[strcspn(line, "\r\n")] = '\0';
		if (tab == NULL)
			continue;
		*tab = '\0';
		opendmarc_dns_fake_record(line, tab + 1);
		n++;
	}
	fclose(f);
	return n;
}

static void run_case(char *line)
{
	char *f[5], *sv[3], *dk[64], *dv[3], buf[32];
	u_char *ip;
	DMARC_POLICY_T *ctx;
	int nf, nd, i, q, pol, da = 0, sa = 0;

	nf = split(line, '\t', f, 5);
	if (nf != 5) {
		fprintf(stderr, "bad case line: %s\n", line);
		return;
	}
	ip = (u_char *)f[1];
	ctx = opendmarc_policy_connect_init(ip, strchr(f[1], ':') != NULL);
	if (ctx == NULL) {
		printf("%s\terror:init\t-\t-\t-\n", f[0]);
		return;
	}
	(void)opendmarc_policy_store_from_domain(ctx, (u_char *)f[2]);
	q = opendmarc_policy_query_dmarc(ctx, (u_char *)f[2]);
	if (strcmp(f[3], "-") != 0 && split(f[3], ':', sv, 3) == 3)
		(void)opendmarc_policy_store_spf(ctx, (u_char *)sv[0],
		    spf_outcome(sv[1]),
		    strcmp(sv[2], "helo") == 0 ? DMARC_POLICY_SPF_ORIGIN_HELO
		                               : DMARC_POLICY_SPF_ORIGIN_MAILFROM,
		    NULL);
	nd = strcmp(f[4], "-") == 0 ? 0 : split(f[4], ',', dk, 64);
	for (i = 0; i < nd; i++) {
		if (split(dk[i], ':', dv, 3) != 3)
			continue;
		(void)opendmarc_policy_store_dkim(ctx, (u_char *)dv[0],
		    (u_char *)dv[1], dkim_outcome(dv[2]), NULL);
	}
	pol = opendmarc_get_policy_to_enforce(ctx);
	if (pol == DMARC_POLICY_ABSENT) {
		printf("%s\t%s\t-\t-\t%d\n", f[0], policy_str(pol, buf, sizeof buf), q);
	} else {
		(void)opendmarc_policy_fetch_alignment(ctx, &da, &sa);
		printf("%s\t%s\t%s\t%s\t%d\n", f[0],
		    policy_str(pol, buf, sizeof buf),
		    da == DMARC_POLICY_DKIM_ALIGNMENT_PASS ? "yes" : "no",
		    sa == DMARC_POLICY_SPF_ALIGNMENT_PASS ? "yes" : "no", q);
	}
	(void)opendmarc_policy_connect_shutdown(ctx);
}

int main(int argc, char **argv)
{
	OPENDMARC_LIB_T lib;
	const char *tld = NULL, *records = NULL;
	char line[8192];
	FILE *cases;
	int c;

	while ((c = getopt(argc, argv, "t:r:")) != -1) {
		switch (c) {
		case 't':
			tld = optarg;
			break;
		case 'r':
			records = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (tld == NULL || records == NULL || optind != argc - 1)
		goto usage;
	memset(&lib, 0, sizeof lib);
	lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
	snprintf((char *)lib.tld_source_file, sizeof lib.tld_source_file,
	    "%s", tld);
	if (opendmarc_policy_library_init(&lib) != DMARC_PARSE_OKAY) {
		fprintf(stderr, "opendmarc_policy_library_init failed\n");
		return 1;
	}
	if (load_records(records) < 0)
		return 1;
	if ((cases = fopen(argv[optind], "r")) == NULL) {
		perror(argv[optind]);
		return 1;
	}
	while (fgets(line, sizeof line, cases) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0' && line[0] != '#')
			run_case(line);
	}
	fclose(cases);
	(void)opendmarc_policy_library_shutdown(&lib);
	return 0;
usage:
	fprintf(stderr, "usage: opendmarc_tool -t TLDFILE -r RECORDS CASES\n");
	return 64;
}
