/*
 * report_db.c - SQLite store and summary queries for aggregate reports.
 */
#include "io/report_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

struct report_db {
	sqlite3 *db;
	sqlite3_stmt *ins_report;
	sqlite3_stmt *ins_row;
};

/*
 * WAL with synchronous=NORMAL: a commit is not fsync'd, so 10,000 reports
 * take seconds instead of one disk flush each. A power loss can lose the
 * last reports stored, never corrupt the file; reading the same input
 * again stores them, and duplicates are recognised.
 */
static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS reports("
    " id INTEGER PRIMARY KEY, org TEXT NOT NULL, report_id TEXT NOT NULL,"
    " email TEXT, begin INTEGER NOT NULL, end INTEGER NOT NULL,"
    " domain TEXT NOT NULL, p TEXT, sp TEXT, np TEXT, adkim TEXT,"
    " aspf TEXT, pct TEXT, UNIQUE(org, report_id));"
    "CREATE TABLE IF NOT EXISTS rows("
    " report INTEGER NOT NULL REFERENCES reports(id), ip TEXT NOT NULL,"
    " count INTEGER NOT NULL, disposition TEXT, dkim TEXT, spf TEXT,"
    " reason TEXT, header_from TEXT NOT NULL, envelope_from TEXT,"
    " envelope_to TEXT, dkim_auth TEXT, spf_auth TEXT,"
    " dkim_pass_any INTEGER NOT NULL, spf_pass_any INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS rows_from ON rows(header_from);"
    "CREATE INDEX IF NOT EXISTS rows_ip ON rows(ip);"
    "CREATE INDEX IF NOT EXISTS rows_report ON rows(report);"
    "CREATE TABLE IF NOT EXISTS ptr(ip TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " at INTEGER NOT NULL);";

static const char ins_report_sql[] =
    "INSERT OR IGNORE INTO reports(org, report_id, email, begin, end,"
    " domain, p, sp, np, adkim, aspf, pct)"
    " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)";

static const char ins_row_sql[] =
    "INSERT INTO rows(report, ip, count, disposition, dkim, spf, reason,"
    " header_from, envelope_from, envelope_to, dkim_auth, spf_auth,"
    " dkim_pass_any, spf_pass_any) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

int
report_db_open(const char *path, struct report_db **out, char *err, size_t el)
{
	struct report_db *d = calloc(1, sizeof(*d));
	char *msg = NULL;

	if (d == NULL) {
		snprintf(err, el, "out of memory");
		return -1;
	}
	if (sqlite3_open_v2(path, &d->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	        NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(d->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(d->db, schema, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_prepare_v2(
	        d->db, ins_report_sql, -1, &d->ins_report, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(d->db, ins_row_sql, -1, &d->ins_row, NULL) !=
	        SQLITE_OK) {
		snprintf(err, el, "%s: %s", path,
		    msg != NULL ? msg : sqlite3_errmsg(d->db));
		sqlite3_free(msg);
		report_db_close(d);
		return -1;
	}
	*out = d;
	return 0;
}

void
report_db_close(struct report_db *d)
{
	if (d == NULL)
		return;
	sqlite3_finalize(d->ins_report);
	sqlite3_finalize(d->ins_row);
	sqlite3_close(d->db);
	free(d);
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v[0] == '\0')
		(void)sqlite3_bind_null(s, i);
	else
		(void)sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

/* "d=example.com s=sel pass; ..." for --csv; the summary uses the flags. */
static void
auth_list(const struct report_auth *a, size_t n, char *out, size_t cap)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < n && len < cap; i++) {
		int w = snprintf(out + len, cap - len, "%s%s%s%s%s",
		    i > 0 ? " " : "", a[i].domain, a[i].selector[0] ? "/" : "",
		    a[i].selector, a[i].result[0] ? "=" : "");
		if (w < 0)
			break;
		len += (size_t)w;
		if (len < cap) {
			w = snprintf(out + len, cap - len, "%s", a[i].result);
			len += w > 0 ? (size_t)w : 0;
		}
	}
}

static bool
any_pass(const struct report_auth *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].result, "pass") == 0)
			return true;
	return false;
}

static int
store_row(struct report_db *d, sqlite3_int64 id, const struct report *r,
    const struct report_row *w)
{
	sqlite3_stmt *s = d->ins_row;
	char dk[1024], sp[1024];

	auth_list(w->dkim_res, w->ndkim, dk, sizeof(dk));
	auth_list(w->spf_res, w->nspf, sp, sizeof(sp));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, w->ip);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)w->count);
	bind_text(s, 4, w->disposition);
	bind_text(s, 5, w->dkim);
	bind_text(s, 6, w->spf);
	bind_text(s, 7, w->reason);
	/* header_from is required; a report without it counts for its domain.
	 */
	bind_text(s, 8, w->header_from[0] ? w->header_from : r->meta.domain);
	bind_text(s, 9, w->envelope_from);
	bind_text(s, 10, w->envelope_to);
	bind_text(s, 11, dk);
	bind_text(s, 12, sp);
	sqlite3_bind_int(s, 13, any_pass(w->dkim_res, w->ndkim));
	sqlite3_bind_int(s, 14, any_pass(w->spf_res, w->nspf));
	return sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
}

static int
store_meta(struct report_db *d, const struct report_meta *m)
{
	sqlite3_stmt *s = d->ins_report;

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	bind_text(s, 1, m->org);
	bind_text(s, 2, m->report_id);
	bind_text(s, 3, m->email);
	sqlite3_bind_int64(s, 4, m->begin);
	sqlite3_bind_int64(s, 5, m->end);
	bind_text(s, 6, m->domain);
	bind_text(s, 7, m->p);
	bind_text(s, 8, m->sp);
	bind_text(s, 9, m->np);
	bind_text(s, 10, m->adkim);
	bind_text(s, 11, m->aspf);
	bind_text(s, 12, m->pct);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
}

int
report_db_store(struct report_db *d, const struct report *r, bool *dup,
    char *err, size_t el)
{
	sqlite3_int64 id;
	size_t i;

	*dup = false;
	if (sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto fail;
	if (store_meta(d, &r->meta) != 0)
		goto fail;
	if (sqlite3_changes(d->db) == 0) {
		*dup = true;
		return sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL) ==
		        SQLITE_OK
		    ? 0
		    : -1;
	}
	id = sqlite3_last_insert_rowid(d->db);
	for (i = 0; i < r->nrows; i++)
		if (store_row(d, id, r, &r->rows[i]) != 0)
			goto fail;
	if (sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
fail:
	snprintf(err, el, "store: %s", sqlite3_errmsg(d->db));
	(void)sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* The sums every summary query selects, after its key and day columns. */
#define SUMS                                                              \
	" sum(w.count),"                                                  \
	" sum(CASE WHEN w.dkim='pass' OR w.spf='pass' THEN w.count END)," \
	" sum(CASE WHEN w.dkim='pass' THEN w.count END),"                 \
	" sum(CASE WHEN w.spf='pass' THEN w.count END),"                  \
	" sum(CASE WHEN NOT (w.dkim IS 'pass' OR w.spf IS 'pass')"        \
	"   AND w.dkim_pass_any THEN w.count END),"                       \
	" sum(CASE WHEN NOT (w.dkim IS 'pass' OR w.spf IS 'pass')"        \
	"   AND w.spf_pass_any THEN w.count END),"                        \
	" sum(CASE WHEN NOT (w.dkim IS 'pass' OR w.spf IS 'pass')"        \
	"   AND (w.dkim_pass_any OR w.spf_pass_any) THEN w.count END),"   \
	" sum(CASE WHEN w.disposition='quarantine' THEN w.count END),"    \
	" sum(CASE WHEN w.disposition='reject' THEN w.count END),"        \
	" count(DISTINCT r.id)"                                           \
	" FROM rows w JOIN reports r ON r.id = w.report"

static const char *const queries[] = {
	[REPORT_Q_DOMAINS] = "SELECT w.header_from, 0, 0," SUMS
	                     " GROUP BY w.header_from ORDER BY 1",
	[REPORT_Q_ORGS] = "SELECT r.org, 0, 0," SUMS
	                  " WHERE w.header_from = ?1 GROUP BY r.org"
	                  " ORDER BY 4 DESC, 1",
	[REPORT_Q_IPS] =
	    "SELECT w.ip, 0, 0," SUMS " WHERE w.header_from = ?1 GROUP BY w.ip"
	    " ORDER BY 4 DESC, 1",
	[REPORT_Q_FAILING] =
	    "SELECT w.ip, 0, 0," SUMS " WHERE w.header_from = ?1 AND NOT"
	    " (w.dkim IS 'pass' OR w.spf IS 'pass')"
	    " GROUP BY w.ip ORDER BY 4 DESC, 1",
	[REPORT_Q_DAYS] = "SELECT NULL, r.begin / 86400 * 86400, 0," SUMS
	                  " WHERE w.header_from = ?1 GROUP BY 2 ORDER BY 2",
	[REPORT_Q_PERIOD] = "SELECT NULL, min(r.begin), max(r.end)," SUMS
	                    " WHERE w.header_from = ?1",
};

static uint64_t
col_u64(sqlite3_stmt *s, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(s, i);

	return v > 0 ? (uint64_t)v : 0;
}

int
report_db_each(struct report_db *d, enum report_q q, const char *domain,
    report_agg_fn *cb, void *cookie)
{
	sqlite3_stmt *s;
	struct report_agg a;
	int rc;

	if ((size_t)q >= sizeof(queries) / sizeof(queries[0]) ||
	    sqlite3_prepare_v2(d->db, queries[q], -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (q != REPORT_Q_DOMAINS)
		sqlite3_bind_text(s, 1, domain, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *k = sqlite3_column_text(s, 0);

		memset(&a, 0, sizeof(a));
		a.key = k != NULL ? (const char *)k : "";
		a.day = sqlite3_column_int64(s, 1);
		a.end = sqlite3_column_int64(s, 2);
		a.messages = col_u64(s, 3);
		a.dmarc_pass = col_u64(s, 4);
		a.dkim_aligned = col_u64(s, 5);
		a.spf_aligned = col_u64(s, 6);
		a.dkim_pass_unaligned = col_u64(s, 7);
		a.spf_pass_unaligned = col_u64(s, 8);
		a.auth_unaligned = col_u64(s, 9);
		a.quarantined = col_u64(s, 10);
		a.rejected = col_u64(s, 11);
		a.reports = col_u64(s, 12);
		if (a.reports > 0)
			cb(cookie, &a);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
report_db_rows(struct report_db *d, report_row_fn *cb, void *cookie)
{
	static const char sql[] =
	    "SELECT r.org, r.report_id, r.begin, r.end, r.domain, r.p,"
	    " w.ip, w.count, w.disposition, w.dkim, w.spf, w.reason,"
	    " w.header_from, w.envelope_from, w.envelope_to, w.dkim_auth,"
	    " w.spf_auth FROM rows w JOIN reports r ON r.id = w.report"
	    " ORDER BY r.begin, r.org, r.report_id, w.rowid";
	const char *names[17], *vals[17];
	sqlite3_stmt *s;
	int rc, i, n;

	if (sqlite3_prepare_v2(d->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	n = sqlite3_column_count(s);
	for (i = 0; i < n && i < 17; i++)
		names[i] = sqlite3_column_name(s, i);
	cb(cookie, (size_t)n, names, NULL);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (i = 0; i < n && i < 17; i++) {
			const unsigned char *v = sqlite3_column_text(s, i);

			vals[i] = v != NULL ? (const char *)v : "";
		}
		cb(cookie, (size_t)n, names, vals);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
report_db_ptr_get(struct report_db *d, const char *ip, char *name, size_t cap)
{
	sqlite3_stmt *s;
	int rc, r = 0;

	if (sqlite3_prepare_v2(d->db, "SELECT name FROM ptr WHERE ip = ?1", -1,
	        &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, ip, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(s, 0);

		snprintf(name, cap, "%s", v != NULL ? (const char *)v : "");
		r = 1;
	} else if (rc != SQLITE_DONE) {
		r = -1;
	}
	sqlite3_finalize(s);
	return r;
}

int
report_db_ptr_put(
    struct report_db *d, const char *ip, const char *name, int64_t at)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(d->db,
	        "INSERT OR REPLACE INTO ptr(ip, name, at) VALUES(?1, ?2, ?3)",
	        -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, ip, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, at);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}
