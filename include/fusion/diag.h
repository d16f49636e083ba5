/*
 * diag.h - the one reporting path: every message fusion prints on stderr
 * goes through here, so that they all look alike:
 *
 *     fusion: file:line:col: what is wrong          fx_error_at
 *     fusion: node: what failed                     fx_error_node
 *     fusion: what failed                           fx_error
 *     fusion: warning: what may be wrong            fx_warn
 *     fusion: what is happening                     fx_info (fx_debug: only with -v)
 *       a hint under the message before            fx_note
 *
 * Functions deep in the code never print and exit; they report through
 * these and return a status, and the command decides the exit code. The
 * one exit from deep inside is running out of memory (util.h, xoom).
 */
#ifndef FUSION_DIAG_H
#define FUSION_DIAG_H

#include <stdbool.h>

/* Exit statuses (docs/DESIGN.md, "The command line"). */
enum {
	FX_EXIT_OK = 0,
	FX_EXIT_FAILED = 1,	/* a node failed */
	FX_EXIT_USAGE = 2,	/* usage or catalog error */
	FX_EXIT_INTERRUPTED = 130,
};

/* A position in a source file; line and col are 1-based, 0 if unknown. */
struct fx_loc {
	const char *file;
	int line, col;
};

void fx_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fx_error_at(struct fx_loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fx_error_node(const char *node, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fx_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Not a problem, but worth saying at once ("fusion: waiting for ..."). */
void fx_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A follow-up line ("  hint: ...") printed under the previous message. */
void fx_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only with -v. */
void fx_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

extern int fx_verbose;	/* -v count */
extern bool fx_color;	/* colour on stdout allowed: a terminal, no NO_COLOR, no --no-color */

/* ANSI colours for words on stdout; "" when colour is off. */
enum fx_colour { FX_RED, FX_GREEN, FX_YELLOW, FX_DIM, FX_RESET };
const char *fx_sgr(enum fx_colour c);

#endif
