/*
 * cli_report.c - hanko report [--db FILE] [--json|--csv FILE|-] INPUT...:
 * options, the walk over files, directories (a Maildir is one) and stdin,
 * and the store. Reading and storing live in io/report*.
 */
#include "cli_report.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_dns.h"
#include "io/report.h"
#include "io/report_db.h"

#define REPORT_MAX_FILE  ((size_t)256 << 20)
#define REPORT_MAX_DIRS  8 /* directory nesting walked */
#define REPORT_MAX_NAMES 1000000

static const char report_usage[] =
    "usage: hanko report [DNS] [--db FILE] [--json | --csv FILE|-] [--html DIR]\n"
    "           [--ptr] FILE|DIR|-...\n"
    "       hanko report aggregate --help   (write reports, receiver side)\n"
    "Reads DMARC aggregate reports (.xml, .xml.gz, .zip, or mail with the\n"
    "report attached: .eml, mbox, Maildir) into the store and summarises\n"
    "every domain in it.\n"
    "  --db FILE                SQLite store (default hanko-reports.sqlite)\n"
    "  --json                   the summary as one JSON object\n"
    "  --csv FILE|-             write every stored row as CSV\n"
    "  --html DIR               write DIR/index.html: the summary with SVG "
    "plots\n"
    "  --ptr                    look up (and cache) the PTR names of listed "
    "sources\n" CLI_DNS_USAGE
    "exit: 0 all input read, 1 some input rejected (the rest is stored),\n"
    "      64 bad arguments, 66 an input is missing, 73 store unusable\n";

enum {
	OPT_DB = 256,
	OPT_JSON,
	OPT_CSV,
	OPT_HTML,
	OPT_PTR,
};

static const struct option report_longopts[] = {
	{ "db", required_argument, NULL, OPT_DB },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "csv", required_argument, NULL, OPT_CSV },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "ptr", no_argument, NULL, OPT_PTR },
	CLI_DNS_LONGOPTS,
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Process lifetime. */
struct report_opts {
	const char *db;
	const char *csv;
	const char *html;
	bool json, ptr;
	struct cli_dns_opts dns;
};

struct report_walk {
	struct report_db *db;
	struct cli_report_run run;
	const char *file;
	size_t caprej;
	bool fatal;
	int missing;
};

static void
reject(struct report_walk *w, const char *file, const char *reason)
{
	struct cli_report_rejected *n;

	if (w->run.nrej == w->caprej) {
		size_t cap = w->caprej == 0 ? 16 : w->caprej * 2;

		if ((n = realloc(w->run.rej, cap * sizeof(*n))) == NULL) {
			w->fatal = true;
			return;
		}
		w->run.rej = n;
		w->caprej = cap;
	}
	n = &w->run.rej[w->run.nrej];
	n->file = strdup(file);
	n->reason = strdup(reason);
	if (n->file == NULL || n->reason == NULL) {
		free(n->file);
		free(n->reason);
		w->fatal = true;
		return;
	}
	w->run.nrej++;
}

/* One document: parse, store; a bad one is rejected, the walk goes on. */
static int
on_xml(void *cookie, const uint8_t *xml, size_t len)
{
	struct report_walk *w = cookie;
	struct report rep;
	char err[256];
	bool dup;
	report_res r;

	if ((r = report_xml_parse(xml, len, &rep, err, sizeof(err))) !=
	    REPORT_OK) {
		reject(w, w->file, err);
		return r == REPORT_E_NOMEM ? -1 : 0;
	}
	if (report_db_store(w->db, &rep, &dup, err, sizeof(err)) != 0) {
		cli_err("report: %s", err);
		report_fini(&rep);
		w->fatal = true;
		return -1;
	}
	if (dup)
		w->run.ndup++;
	else
		w->run.nnew++;
	report_fini(&rep);
	return 0;
}

static void
read_one(struct report_walk *w, const char *path)
{
	uint8_t *data;
	size_t len;
	char err[256];
	int r;

	r = strcmp(path, "-") == 0
	    ? cli_read_fd(0, REPORT_MAX_FILE, &data, &len)
	    : cli_read_file(path, REPORT_MAX_FILE, &data, &len);
	if (r != 0) {
		snprintf(err, sizeof(err), "cannot read: %s",
		    r == -EFBIG ? "file too large" : strerror(-r));
		reject(w, path, err);
		return;
	}
	w->file = path;
	r = report_unpack(data, len, on_xml, w, err, sizeof(err));
	if (r > 0)
		reject(w, path, err[0] ? err : report_res_str((report_res)r));
	free(data);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_path(struct report_walk *w, const char *path, int depth);

static bool
is_maildir(const char *dir)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s/cur", dir);
	if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
		return false;
	snprintf(p, sizeof(p), "%s/new", dir);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Entries in name order (stable output), dot files skipped; in a Maildir
 * tmp/ holds messages still being delivered, so it is skipped too.
 */
static void
walk_dir(struct report_walk *w, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, **n, p[4096];
	size_t nn = 0, cap = 0, i;
	bool maildir = is_maildir(dir);

	if (d == NULL) {
		reject(w, dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL && nn < REPORT_MAX_NAMES) {
		if (de->d_name[0] == '.' ||
		    (maildir && strcmp(de->d_name, "tmp") == 0))
			continue;
		if (nn == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((n = realloc(names, cap * sizeof(*n))) == NULL)
				break;
			names = n;
		}
		if ((names[nn] = strdup(de->d_name)) == NULL)
			break;
		nn++;
	}
	closedir(d);
	if (nn > 0)
		qsort(names, nn, sizeof(*names), name_cmp);
	for (i = 0; i < nn; i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, names[i]) <
		        sizeof(p) &&
		    !w->fatal)
			walk_path(w, p, depth + 1);
		free(names[i]);
	}
	free(names);
}

static void
walk_path(struct report_walk *w, const char *path, int depth)
{
	struct stat st;

	if (strcmp(path, "-") == 0) {
		read_one(w, path);
		return;
	}
	if (stat(path, &st) != 0) {
		cli_err("report: %s: %s", path, strerror(errno));
		w->missing = 1;
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth < REPORT_MAX_DIRS)
			walk_dir(w, path, depth);
		return;
	}
	if (S_ISREG(st.st_mode))
		read_one(w, path);
}

static int
report_parse_args(struct report_opts *o, int argc, char **argv)
{
	int ch;

	optind = 1;
	while (
	    (ch = getopt_long(argc, argv, "h", report_longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(report_usage, stdout);
			return -1;
		case OPT_DB:
			o->db = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_CSV:
			o->csv = optarg;
			break;
		case OPT_HTML:
			o->html = optarg;
			break;
		case OPT_PTR:
			o->ptr = true;
			break;
		default:
			if (cli_dns_opt(&o->dns, ch, optarg) > 0)
				break;
			fputs(report_usage, stderr);
			return CLI_EX_USAGE;
		}
	}
	if (o->json && o->csv != NULL && strcmp(o->csv, "-") == 0) {
		cli_err("report: --json and --csv - both want stdout");
		return CLI_EX_USAGE;
	}
	return 0;
}

static int
report_output(const struct report_opts *o, struct report_walk *w)
{
	FILE *f;
	int r = 0;

	if (o->csv != NULL) {
		f = strcmp(o->csv, "-") == 0 ? stdout : fopen(o->csv, "w");
		if (f == NULL) {
			cli_err("report: %s: %s", o->csv, strerror(errno));
			return CLI_EX_CANTCREAT;
		}
		r = cli_report_csv(f, w->db);
		if (f != stdout && fclose(f) != 0)
			r = -1;
		if (r != 0 || strcmp(o->csv, "-") == 0)
			return r != 0 ? CLI_EX_IOERR : 0;
	}
	if (o->ptr && cli_report_ptr_fill(&o->dns, w->db) != 0)
		cli_warn("report: PTR lookups failed; names left out");
	if (o->html != NULL && cli_report_html(o->html, w->db) != 0) {
		cli_err("report: %s/index.html: %s", o->html, strerror(errno));
		return CLI_EX_CANTCREAT;
	}
	r = o->json ? cli_report_json(stdout, w->db, &w->run)
	            : cli_report_text(stdout, w->db, &w->run);
	return r != 0 || fflush(stdout) != 0 ? CLI_EX_IOERR : 0;
}

int
cli_report_main(struct cli_env *e, int argc, char **argv)
{
	struct report_opts o = { .db = "hanko-reports.sqlite" };
	struct report_walk w = { .db = NULL };
	char err[512];
	size_t i;
	int r, a;

	if (argc > 1 && strcmp(argv[1], "aggregate") == 0)
		return cli_report_aggregate_main(e, argc - 1, argv + 1);
	cli_dns_init(&o.dns);
	if ((r = report_parse_args(&o, argc, argv)) != 0)
		return r < 0 ? CLI_EX_OK : r;
	if ((r = cli_dns_setup(&o.dns)) != 0)
		return r;
	if (report_db_open(o.db, &w.db, err, sizeof(err)) != 0) {
		cli_err("report: %s", err);
		cli_dns_fini(&o.dns);
		return CLI_EX_CANTCREAT;
	}
	for (a = optind; a < argc && !w.fatal; a++)
		walk_path(&w, argv[a], 0);
	if (w.fatal)
		r = CLI_EX_SOFTWARE;
	else if ((r = report_output(&o, &w)) == 0)
		r = w.missing        ? CLI_EX_NOINPUT
		    : w.run.nrej > 0 ? CLI_EX_SOMEFAIL
		                     : CLI_EX_OK;
	for (i = 0; i < w.run.nrej; i++) {
		cli_warn(
		    "report: %s: %s", w.run.rej[i].file, w.run.rej[i].reason);
		free(w.run.rej[i].file);
		free(w.run.rej[i].reason);
	}
	free(w.run.rej);
	report_db_close(w.db);
	cli_dns_fini(&o.dns);
	return r;
}
