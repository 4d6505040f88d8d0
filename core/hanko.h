/*
 * NAME
 *	hanko.h - project-wide attribute and invariant macros
 * DESCRIPTION
 *	HANKO_NODISCARD makes the compiler warn when a result enum is ignored.
 *	HANKO_ALWAYS/HANKO_NEVER wrap "cannot happen" conditions: debug builds
 *	assert, release builds still take the safe branch (SQLite's idea).
 */
#ifndef HANKO_CORE_HANKO_H
#define HANKO_CORE_HANKO_H

#include <assert.h>

#define HANKO_NODISCARD __attribute__((warn_unused_result))
#define HANKO_UNUSED    __attribute__((unused))

#ifdef NDEBUG
#define HANKO_ALWAYS(x) (x)
#define HANKO_NEVER(x)  (x)
#else
#define HANKO_ALWAYS(x) ((x) ? 1 : (assert(0), 0))
#define HANKO_NEVER(x)  ((x) ? (assert(0), 1) : 0)
#endif

#endif
