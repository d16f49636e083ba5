/*
 * report.h - what a run shows while it goes: a ninja-style status line on a
 * terminal ("[3/12] build core-api 4.1s"), one line per node otherwise, or
 * one JSON event per line (--json; docs/DESIGN.md,
 * "Machine-readable output"),
 * and a summary at the end.
 *
 * Progress goes to stdout; failures (a node's log tail and log path) go to
 * stderr, except in JSON mode where stdout carries only events.
 */
#ifndef FUSION_REPORT_H
#define FUSION_REPORT_H

#include <stdbool.h>

#include "fusion/cache.h"

enum fx_report_mode { FX_REPORT_TTY, FX_REPORT_LINES, FX_REPORT_JSON };

/* The result of a node in one run (the JSON "result" field). Skipped: a
 * node whose dependency failed; interrupted: one a signal stopped while it
 * ran. A node that never started because the run stopped has none. */
enum fx_result { FX_RAN, FX_CACHED, FX_CUTOFF, FX_FAILED, FX_SKIPPED, FX_FRESH_RESULT,
	FX_INTERRUPTED };

const char *result_name(enum fx_result r);
/* Add one node's result to the run's counts. */
void result_count(struct fx_run_counts *k, enum fx_result r);

struct fx_report;

/* `total` is how many nodes may run (stale + pending): the counter
 * "[done/total]" counts those as they finish, and never passes it. */
struct fx_report *report_new(enum fx_report_mode mode, int total);
void report_free(struct fx_report *r);
/* More nodes may run than `total` said (a node fresh when the run began
 * found stale once its turn came; a second pass: up rebuilds an image
 * found gone): the counter's total grows, as ninja's does. */
void report_add_total(struct fx_report *r, int more);

void report_start(struct fx_report *r, const char *id, const char *kind, const char *target);
/* A node finished. `counted`: it is one of the total (it would or might
 * run), so the counter moves; a node that is not (fresh when the run
 * began, skipped now) gets its line at the counter as it is. */
void report_finish(struct fx_report *r, const char *id, const char *kind, const char *target,
    enum fx_result res, double seconds, bool counted);
/* Refresh the status line (terminal only): the oldest running node, and
 * the transfer set by report_transfer. */
void report_tick(struct fx_report *r);
/* A transfer of the shared cache for the status line ("restoring
 * build:core-api 23.1/52.4 MB at 40.1 MB/s"); NULL: none. Terminal only. */
void report_transfer(struct fx_report *r, const char *text);
/* Take the status line off the terminal, so that a message can follow. */
void report_clear(struct fx_report *r);
/* A line of information (not in JSON mode): a large transfer's size and rate. */
void report_note(struct fx_report *r, const char *text);
/*
 * A failed node: its message, the last `tail` lines of its log, the log's
 * path (NULL: neither), on stderr. With --json, the node's finish event
 * (which follows) also carries the message's first line as "error", and
 * `detail` (NULL or JSON members: "\"k\":v,...") beside it.
 */
void report_failure(struct fx_report *r, const char *id, const char *msg, const char *detail,
    const char *log_path, int tail);
void report_summary(struct fx_report *r, const struct fx_run_counts *k, double seconds);

#endif
