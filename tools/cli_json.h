/*
 * NAME
 *	cli_json.h - minimal JSON writing for --json output
 * DESCRIPTION
 *	Strings are escaped per RFC 8259; bytes that are not valid UTF-8
 *	become U+FFFD, so hostile message bytes always yield valid JSON.
 */
#ifndef HANKO_TOOLS_CLI_JSON_H
#define HANKO_TOOLS_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "core/span.h"

bool cli_json_str(struct buf *b, span s);
/* As cli_json_str, but null for an empty span. */
bool cli_json_opt_str(struct buf *b, span s);
bool cli_json_key(struct buf *b, const char *key, bool first);

#endif
