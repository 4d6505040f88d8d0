/*
 * cli_report_html.c - hanko report --html DIR: one self-contained page
 * (inline CSS and SVG, no script, nothing fetched) per store: for each
 * header_from domain its totals, messages per UTC day split by DMARC
 * result, and the DMARC pass rate of its top sources. Every bar carries
 * its numbers in data- attributes and a <title>, so the page can be
 * checked by reading its DOM.
 */
#include "cli_report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "io/report_db.h"

#define HTML_TOP_SOURCES 20
#define CHART_W          640
#define CHART_H          160

struct html_grp {
	char key[64];
	int64_t day;
	uint64_t messages, pass;
};

struct html_list {
	struct html_grp *g;
	size_t n, cap;
	int err;
};

static void
collect(void *cookie, const struct report_agg *a)
{
	struct html_list *l = cookie;
	struct html_grp *g;

	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 32 : l->cap * 2;

		if ((g = realloc(l->g, cap * sizeof(*g))) == NULL) {
			l->err = -1;
			return;
		}
		l->g = g;
		l->cap = cap;
	}
	g = &l->g[l->n++];
	snprintf(g->key, sizeof(g->key), "%s", a->key);
	g->day = a->day;
	g->messages = a->messages;
	g->pass = a->dmarc_pass;
}

static void
esc(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* Stacked bars: passing mail below, failing mail on top. */
static void
chart_days(FILE *f, const struct html_list *d)
{
	uint64_t max = 1;
	size_t i;
	double bw;

	for (i = 0; i < d->n; i++)
		if (d->g[i].messages > max)
			max = d->g[i].messages;
	bw = d->n > 0 ? (double)CHART_W / (double)d->n : CHART_W;
	fprintf(f,
	    "<h3>Messages per day by DMARC result</h3>\n"
	    "<svg class=\"days\" width=\"%d\" height=\"%d\" "
	    "xmlns=\"http://www.w3.org/2000/svg\">\n",
	    CHART_W, CHART_H + 20);
	for (i = 0; i < d->n; i++) {
		const struct html_grp *g = &d->g[i];
		double hp = (double)CHART_H * (double)g->pass / (double)max;
		double hf = (double)CHART_H * (double)(g->messages - g->pass) /
		    (double)max;
		char day[32];

		cli_report_day(g->day, day, sizeof(day));
		fprintf(f,
		    "<rect class=\"pass\" data-day=\"%s\" data-count=\"%" PRIu64
		    "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
		    "<title>%s: %" PRIu64 " pass</title></rect>\n",
		    day, g->pass, (double)i * bw, CHART_H - hp, bw * 0.8, hp,
		    day, g->pass);
		fprintf(f,
		    "<rect class=\"fail\" data-day=\"%s\" data-count=\"%" PRIu64
		    "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
		    "<title>%s: %" PRIu64 " fail</title></rect>\n",
		    day, g->messages - g->pass, (double)i * bw,
		    CHART_H - hp - hf, bw * 0.8, hf, day,
		    g->messages - g->pass);
	}
	fputs("</svg>\n", f);
}

/* One horizontal bar per source, its length the DMARC pass rate. */
static void
chart_sources(FILE *f, const struct html_list *s)
{
	size_t i, n = s->n < HTML_TOP_SOURCES ? s->n : HTML_TOP_SOURCES;

	fprintf(f,
	    "<h3>DMARC pass rate per source (top %d by messages)</h3>\n"
	    "<svg class=\"sources\" width=\"%d\" height=\"%zu\" "
	    "xmlns=\"http://www.w3.org/2000/svg\">\n",
	    HTML_TOP_SOURCES, CHART_W, n * 20 + 4);
	for (i = 0; i < n; i++) {
		const struct html_grp *g = &s->g[i];
		double rate = g->messages == 0
		    ? 0.0
		    : 100.0 * (double)g->pass / (double)g->messages;

		fputs("<text x=\"0\" y=\"", f);
		fprintf(f, "%zu\">", i * 20 + 15);
		esc(f, g->key);
		fputs("</text>\n<rect class=\"rate\" data-ip=\"", f);
		esc(f, g->key);
		fprintf(f,
		    "\" data-rate=\"%.1f\" data-count=\"%" PRIu64 "\" "
		    "x=\"220\" y=\"%zu\" width=\"%.1f\" height=\"16\">"
		    "<title>%.1f%% of %" PRIu64 "</title></rect>\n",
		    rate, g->messages, i * 20 + 2, 4.0 * rate, rate,
		    g->messages);
	}
	fputs("</svg>\n", f);
}

struct html_ctx {
	FILE *f;
	struct report_db *db;
	int err;
};

static void
html_domain(void *cookie, const struct report_agg *a)
{
	struct html_ctx *c = cookie;
	struct html_list days = { 0 }, srcs = { 0 };

	fputs("<section class=\"domain\" data-domain=\"", c->f);
	esc(c->f, a->key);
	fputs("\">\n<h2>", c->f);
	esc(c->f, a->key);
	fprintf(c->f,
	    "</h2>\n<p><span class=\"messages\">%" PRIu64 "</span> messages, "
	    "DMARC pass <span class=\"pass\">%" PRIu64 "</span>, DKIM "
	    "aligned %" PRIu64 ", SPF aligned %" PRIu64 ", %" PRIu64
	    " reports</p>\n",
	    a->messages, a->dmarc_pass, a->dkim_aligned, a->spf_aligned,
	    a->reports);
	if (report_db_each(c->db, REPORT_Q_DAYS, a->key, collect, &days) != 0 ||
	    report_db_each(c->db, REPORT_Q_IPS, a->key, collect, &srcs) != 0)
		c->err = -1;
	c->err |= days.err | srcs.err;
	chart_days(c->f, &days);
	chart_sources(c->f, &srcs);
	fputs("</section>\n", c->f);
	free(days.g);
	free(srcs.g);
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<title>DMARC aggregate reports</title>\n<style>\n"
    "body{font-family:sans-serif;margin:2em;color:#222}\n"
    "section{margin-bottom:3em}\n"
    "rect.pass{fill:#2e7d32} rect.fail{fill:#c62828}\n"
    "rect.rate{fill:#1565c0} text{font-size:12px}\n"
    "</style></head><body>\n<h1>DMARC aggregate reports</h1>\n";

/* Written under a temporary name and renamed: a reader never sees half. */
int
cli_report_html(const char *dir, struct report_db *db)
{
	struct html_ctx c = { .db = db };
	int dfd, fd;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	(void)unlinkat(dfd, ".index.html.tmp", 0);
	fd = openat(dfd, ".index.html.tmp",
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || (c.f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		close(dfd);
		return -1;
	}
	fputs(html_head, c.f);
	if (report_db_each(db, REPORT_Q_DOMAINS, NULL, html_domain, &c) != 0)
		c.err = -1;
	fputs("</body></html>\n", c.f);
	if (fflush(c.f) != 0 || fsync(fd) != 0)
		c.err = -1;
	if (fclose(c.f) != 0)
		c.err = -1;
	if (c.err == 0 &&
	    renameat(dfd, ".index.html.tmp", dfd, "index.html") != 0)
		c.err = -1;
	close(dfd);
	return c.err;
}
