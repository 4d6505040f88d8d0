/*
 * hanko-report - `hanko report` as its own program: the only one linked
 * with the report libraries (tools/cli_report_exec.c says why). hanko
 * runs it as `hanko-report report ARGS...`; run by hand, argv[0] stands
 * for the command name the same way.
 */
#include "cli.h"

int
main(int argc, char **argv)
{
	struct cli_env env;
	int r;

	if ((r = cli_env_init(&env)) != 0)
		return r;
	return cli_report_main(&env, argc, argv);
}
