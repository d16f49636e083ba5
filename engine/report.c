/*
 * report.c - status line, per-node lines, JSON events and the summary
 * (see report.h).
 */
#include "fusion/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/diag.h"
#include "fusion/util.h"

struct running {
	char *kind, *target;
	double started;
};

struct row {
	char *id;
	enum fx_result res;
	double seconds;
};

struct fx_report {
	enum fx_report_mode mode;
	int total, done;
	struct running *run;	/* nodes running now, in start order */
	size_t nrun;
	struct row *rows;	/* for the summary table */
	size_t nrows;
	bool line_shown;	/* a status line is on screen */
	char *transfer;		/* report_transfer's text, or NULL */
	/* --json: the failure report_failure said of a node, for its finish
	 * event (",\"error\":...,DETAIL"); NULL when none is waiting. */
	char *fail_id;
	char *fail_fields;
};

const char *
result_name(enum fx_result r)
{
	static const char *const names[] = {"ran", "cached", "cutoff", "failed", "skipped",
	    "fresh", "interrupted"};
	return names[r];
}

static enum fx_colour
colour_of(enum fx_result res)
{
	return res == FX_FAILED ? FX_RED : res == FX_RAN || res == FX_CACHED ? FX_GREEN :
	    res == FX_SKIPPED || res == FX_INTERRUPTED ? FX_YELLOW : FX_DIM;
}

void
result_count(struct fx_run_counts *k, enum fx_result res)
{
	switch (res) {
	case FX_RAN: k->ran++; break;
	case FX_CACHED: k->cached++; break;
	case FX_CUTOFF: k->cutoff++; break;
	case FX_FAILED: k->failed++; break;
	case FX_SKIPPED: k->skipped++; break;
	case FX_FRESH_RESULT: k->fresh++; break;
	case FX_INTERRUPTED: k->interrupted++; break;
	}
}

struct fx_report *
report_new(enum fx_report_mode mode, int total)
{
	struct fx_report *r = xcalloc(1, sizeof(*r));
	r->mode = mode;
	r->total = total;
	return r;
}

void
report_add_total(struct fx_report *r, int more)
{
	r->total += more;
}

void
report_free(struct fx_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrun; i++) {
		free(r->run[i].kind);
		free(r->run[i].target);
	}
	for (size_t i = 0; i < r->nrows; i++)
		free(r->rows[i].id);
	free(r->run);
	free(r->rows);
	free(r->transfer);
	free(r->fail_id);
	free(r->fail_fields);
	free(r);
}

static void
clear_line(struct fx_report *r)
{
	if (r->mode == FX_REPORT_TTY && r->line_shown) {
		fputs("\r\033[K", stdout);
		r->line_shown = false;
	}
}

static void
json_event(const char *event, const char *id, const char *result, double seconds,
    const char *fields)
{
	struct fx_buf b = {0};

	buf_printf(&b, "{\"event\":\"%s\",\"node\":", event);
	buf_json_str(&b, id);
	if (result)
		buf_printf(&b, ",\"result\":\"%s\",\"seconds\":%.3f", result, seconds);
	if (fields)
		buf_puts(&b, fields);
	buf_puts(&b, "}\n");
	fputs(b.s, stdout);
	fflush(stdout);
	buf_free(&b);
}

void
report_start(struct fx_report *r, const char *id, const char *kind, const char *target)
{
	r->run = xreallocarray(r->run, r->nrun + 1, sizeof(*r->run));
	r->run[r->nrun++] = (struct running){xstrdup(kind), xstrdup(target), now_mono()};
	if (r->mode == FX_REPORT_JSON)
		json_event("start", id, NULL, 0, NULL);
	report_tick(r);
}

static void
forget_running(struct fx_report *r, const char *kind, const char *target)
{
	for (size_t i = 0; i < r->nrun; i++) {
		if (strcmp(r->run[i].kind, kind) || strcmp(r->run[i].target, target))
			continue;
		free(r->run[i].kind);
		free(r->run[i].target);
		memmove(&r->run[i], &r->run[i + 1], (r->nrun - i - 1) * sizeof(*r->run));
		r->nrun--;
		return;
	}
}

void
report_finish(struct fx_report *r, const char *id, const char *kind, const char *target,
    enum fx_result res, double seconds, bool counted)
{
	forget_running(r, kind, target);
	if (counted)
		r->done++;
	r->rows = xreallocarray(r->rows, r->nrows + 1, sizeof(*r->rows));
	r->rows[r->nrows++] = (struct row){xstrdup(id), res, seconds};
	if (r->mode == FX_REPORT_JSON) {
		bool said = r->fail_id && strcmp(r->fail_id, id) == 0;
		json_event("finish", id, result_name(res), seconds, said ? r->fail_fields : NULL);
		if (said) {
			free(r->fail_id);
			free(r->fail_fields);
			r->fail_id = r->fail_fields = NULL;
		}
		return;
	}
	clear_line(r);
	if (r->mode == FX_REPORT_LINES || res == FX_FAILED || res == FX_INTERRUPTED)
		printf("[%d/%d] %s%s%s %s %s %.1fs\n", r->done, r->total, fx_sgr(colour_of(res)),
		    result_name(res), fx_sgr(FX_RESET), kind, target, seconds);
	fflush(stdout);
	report_tick(r);
}

void
report_tick(struct fx_report *r)
{
	if (r->mode != FX_REPORT_TTY || (r->nrun == 0 && !r->transfer))
		return;
	clear_line(r);
	printf("[%d/%d]", r->done, r->total);
	if (r->nrun > 0) {
		const struct running *x = &r->run[0];
		printf(" %s %s %.1fs", x->kind, x->target, now_mono() - x->started);
	}
	if (r->nrun > 1)
		printf(" (+%zu running)", r->nrun - 1);
	if (r->transfer)
		printf("%s%s", r->nrun ? ", " : " ", r->transfer);
	fflush(stdout);
	r->line_shown = true;
}

void
report_transfer(struct fx_report *r, const char *text)
{
	free(r->transfer);
	r->transfer = text ? xstrdup(text) : NULL;
}

void
report_clear(struct fx_report *r)
{
	clear_line(r);
	fflush(stdout);
}

void
report_note(struct fx_report *r, const char *text)
{
	if (r->mode == FX_REPORT_JSON)
		return;
	clear_line(r);
	printf("fusion: %s\n", text);
	fflush(stdout);
	report_tick(r);
}

/* Print the last `tail` lines of the log, indented, to stderr. */
static void
log_tail(const char *path, int tail)
{
	char *data;
	size_t len;

	if (read_file(path, &data, &len) < 0)
		return;
	size_t i = len;
	int lines = 0;
	if (i > 0 && data[i - 1] == '\n')
		i--;
	while (i > 0 && lines < tail) {
		i--;
		if (data[i] == '\n')
			lines++;
	}
	if (data[i] == '\n')
		i++;
	for (char *s = data + i; *s;) {
		char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		fprintf(stderr, "    | %.*s\n", (int)n, s);
		s += n + (nl ? 1 : 0);
	}
	free(data);
}

void
report_failure(struct fx_report *r, const char *id, const char *msg, const char *detail,
    const char *log_path, int tail)
{
	if (r->mode == FX_REPORT_JSON) {
		/* The node's finish event, next, carries it: its first line, and
		 * the fields the kind gave. */
		struct fx_buf b = {0};
		char *first = xstrndup(msg, strcspn(msg, "\n"));
		buf_puts(&b, ",\"error\":");
		buf_json_str(&b, first);
		if (detail && *detail) {
			buf_putc(&b, ',');
			buf_puts(&b, detail);
		}
		free(first);
		free(r->fail_id);
		free(r->fail_fields);
		r->fail_id = xstrdup(id);
		r->fail_fields = buf_detach(&b);
	}
	clear_line(r);
	fflush(stdout);
	fx_error_node(id, "%s", msg);
	if (log_path) {
		log_tail(log_path, tail);
		fx_note("log: %s", log_path);
	}
}

static void
table(struct fx_report *r)
{
	size_t w = 4, rw = 7;

	for (size_t i = 0; i < r->nrows; i++) {
		if (strlen(r->rows[i].id) > w)
			w = strlen(r->rows[i].id);
		if (strlen(result_name(r->rows[i].res)) > rw)
			rw = strlen(result_name(r->rows[i].res));
	}
	printf("\n%-*s  %-*s  %8s\n", (int)w, "node", (int)rw, "result", "seconds");
	for (size_t i = 0; i < r->nrows; i++)
		printf("%-*s  %s%-*s%s  %8.1f\n", (int)w, r->rows[i].id,
		    fx_sgr(colour_of(r->rows[i].res)), (int)rw, result_name(r->rows[i].res),
		    fx_sgr(FX_RESET), r->rows[i].seconds);
}

void
report_summary(struct fx_report *r, const struct fx_run_counts *k, double seconds)
{
	if (r->mode == FX_REPORT_JSON) {
		printf("{\"event\":\"summary\",\"ran\":%d,\"cached\":%d,\"cutoff\":%d,\"failed\":%d,"
		    "\"skipped\":%d,\"interrupted\":%d,\"fresh\":%d,\"seconds\":%.3f}\n", k->ran,
		    k->cached, k->cutoff, k->failed, k->skipped, k->interrupted, k->fresh, seconds);
		fflush(stdout);
		return;
	}
	clear_line(r);
	if (r->mode == FX_REPORT_TTY && r->nrows)
		table(r);
	printf("fusion: %d ran, %d cached, %d cutoff, %d failed, %d skipped, ", k->ran, k->cached,
	    k->cutoff, k->failed, k->skipped);
	if (k->interrupted)	/* only a run stopped by a signal has any */
		printf("%d interrupted, ", k->interrupted);
	printf("%d fresh in %.1fs\n", k->fresh, seconds);
	fflush(stdout);
}
