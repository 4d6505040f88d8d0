/* hanko - DKIM signing, DKIM/SPF/DMARC verification for bulk mail. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_check.h"

#define HANKO_VERSION "0.1.0"

static const char usage[] =
    "usage: hanko COMMAND [OPTIONS]\n"
    "  sign     [KEYS] < msg > signed    sign one message (MTA filter)\n"
    "  sign     [KEYS] SPOOL_DIR OUT_DIR sign a spool, hand off exactly once\n"
    "  verify   [DNS] [FILE|DIR...]      one Authentication-Results per message\n"
    "           (stdin when no file; directories in parallel)\n"
    "  spf      [DNS] --ip IP --mail-from ADDR [--helo NAME]\n"
    "                                    SPF result, Received-SPF\n"
    "  dmarc    [DNS] [ENVELOPE] [FILE|DIR...]\n"
    "                                    SPF + DKIM + DMARC, disposition\n"
    "  keygen   -d DOMAIN -s SELECTOR    new key and its DNS record\n"
    "           [--rotate] [--records]   (selector by date; SPF and DMARC too)\n"
    "  check    [DNS] DOMAIN [-s SEL [--key FILE]]...\n"
    "  check    [DNS] --key-table FILE --signing-table FILE [--all]\n"
    "                                    audit published SPF/DKIM/DMARC\n"
    "  report   [--db FILE] [--json|--csv FILE|-|--html DIR] FILE|DIR|-...\n"
    "                                    read DMARC aggregate reports\n"
    "  report aggregate [DNS] --history FILE... --org-name NAME --email ADDR\n"
    "           -o DIR                   write them from hanko dmarc history\n"
    "  milter   --socket SPEC [KEYS] [DNS] [--config FILE]\n"
    "                                    sign outbound, verify inbound (Postfix)\n"
    "  help | --help | --version\n"
    "'hanko COMMAND --help' lists a command's options; see hanko(1).\n"
    "HANKO_SIMD=ref|swar|sse2|avx2 forces a scanner (default: best for the CPU).\n";

int
main(int argc, char **argv)
{
	struct cli_env env;
	int r;

	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return CLI_EX_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("hanko %s\n", HANKO_VERSION);
		return CLI_EX_OK;
	}
	if ((r = cli_env_init(&env)) != 0)
		return r;
	if (strcmp(argv[1], "sign") == 0)
		return cli_sign_main(&env, argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cli_verify_main(&env, argc - 1, argv + 1);
	if (strcmp(argv[1], "spf") == 0)
		return cli_spf_main(&env, argc - 1, argv + 1);
	if (strcmp(argv[1], "dmarc") == 0)
		return cli_dmarc_main(&env, argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cli_check_main(&env, argc - 1, argv + 1);
	if (strcmp(argv[1], "keygen") == 0)
		return cli_keygen_main(&env, argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return cli_report_exec(argv + 1);
	if (strcmp(argv[1], "milter") == 0)
		return cli_milter_main(&env, argc - 1, argv + 1);
	fprintf(stderr, "hanko: unknown command '%s'\n%s", argv[1], usage);
	return CLI_EX_USAGE;
}
