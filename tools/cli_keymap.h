/*
 * NAME
 *	cli_keymap.h - private keys by file path, each loaded once
 * DESCRIPTION
 *	An open-addressing hash map from key path to a loaded dkim_privkey.
 *	Batch signing builds one map of every KeyTable key at start (shared
 *	read-only by the workers afterwards) and each worker keeps its own
 *	for keys whose path depends on the From domain ('%'), so no lock is
 *	taken per message. Lifetime: process (shared) or worker (private).
 */
#ifndef HANKO_TOOLS_CLI_KEYMAP_H
#define HANKO_TOOLS_CLI_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>

struct dkim_privkey;
struct cli_keymap;

struct cli_keymap *cli_keymap_new(void);
void cli_keymap_free(struct cli_keymap *m);
/* The key loaded from path, or NULL when the map has none. */
const struct dkim_privkey *cli_keymap_find(
    const struct cli_keymap *m, const char *path);
/*
 * Load path (as cli_key_load() does) unless the map has it already.
 * Returns the key, or NULL with the reason in err. A failure is not
 * remembered: the next call tries the file again.
 */
const struct dkim_privkey *cli_keymap_load(struct cli_keymap *m,
    const char *path, bool allow_unsafe, char *err, size_t errlen);
size_t cli_keymap_count(const struct cli_keymap *m);

#endif
