/*
 * NAME
 *	cli_report_exec - run `hanko report` in its own program
 * DESCRIPTION
 *	The report reader needs libxml2, libarchive, SQLite and json-c, and
 *	through them ICU and the C++ runtime: loading them cost a one-message
 *	`hanko sign` filter 8.2 M of its 21.5 M instructions (callgrind, an
 *	empty main linked both ways), every process, while no other command
 *	uses them. So they are linked only into hanko-report, which hanko
 *	runs for `hanko report ...`.
 *
 *	Where it is: beside the running binary (the build tree), else in
 *	../lib/hanko/ from it (what make install and the package lay out).
 *	Both follow /proc/self/exe, never $PATH or the environment: whoever
 *	can replace a file there can replace hanko itself.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* dir/rel into out; false if it does not fit. */
static bool
join(char *out, size_t cap, const char *dir, const char *rel)
{
	int n = snprintf(out, cap, "%s/%s", dir, rel);

	return n > 0 && (size_t)n < cap;
}

int
cli_report_exec(char **argv)
{
	static const char *const rel[] = { "hanko-report",
		"../lib/hanko/hanko-report" };
	char self[PATH_MAX], path[PATH_MAX], *slash;
	ssize_t n;
	size_t i;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		cli_err("report: cannot find this program: %s", strerror(errno));
		return CLI_EX_OSERR;
	}
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL) {
		cli_err("report: cannot find this program's directory");
		return CLI_EX_OSERR;
	}
	*slash = '\0';
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (!join(path, sizeof(path), self, rel[i]) ||
		    access(path, X_OK) != 0)
			continue;
		execv(path, argv);
		cli_err("report: %s: %s", path, strerror(errno));
		return CLI_EX_OSERR;
	}
	cli_err("report: hanko-report is not installed beside %s "
		"(looked for %s/hanko-report and %s/../lib/hanko/hanko-report)",
	    self, self, self);
	return CLI_EX_OSERR;
}
