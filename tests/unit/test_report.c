/*
 * test_report.c - what a run prints (report.h): the JSON events scripts and
 * CI parse (docs/DESIGN.md, "Machine-readable output"), one line per node when
 * not on a terminal, the summary, and a failure's log tail on stderr.
 * stdout and stderr are captured into files around each call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/report.h"
#include "fusion/util.h"

#define TESTDIR_NAME "report"
#include "testdir.h"

struct capture {
	int saved[3];
	char *path[3];
};

/* Send stdout and stderr to files until uncapture(). */
static void
capture(struct capture *c)
{
	fflush(stdout);
	fflush(stderr);
	for (int fd = 1; fd <= 2; fd++) {
		c->path[fd] = xasprintf("%s/fd%d", tmp, fd);
		c->saved[fd] = dup(fd);
		int f = open(c->path[fd], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		assert_true(f >= 0 && c->saved[fd] >= 0);
		dup2(f, fd);
		close(f);
	}
}

/* Restore stdout and stderr; hand back what was written to them. */
static void
uncapture(struct capture *c, char **out, char **err)
{
	char **dst[3] = {NULL, out, err};
	size_t len;

	fflush(stdout);
	fflush(stderr);
	for (int fd = 1; fd <= 2; fd++) {
		dup2(c->saved[fd], fd);
		close(c->saved[fd]);
		assert_int_equal(read_file(c->path[fd], dst[fd], &len), 0);
		free(c->path[fd]);
	}
}

static void
test_result_names(void **state)
{
	assert_string_equal(result_name(FX_RAN), "ran");
	assert_string_equal(result_name(FX_CACHED), "cached");
	assert_string_equal(result_name(FX_CUTOFF), "cutoff");
	assert_string_equal(result_name(FX_FAILED), "failed");
	assert_string_equal(result_name(FX_SKIPPED), "skipped");
	assert_string_equal(result_name(FX_FRESH_RESULT), "fresh");
	assert_string_equal(result_name(FX_INTERRUPTED), "interrupted");
}

static void
test_json_events(void **state)
{
	struct capture c;
	char *out, *err;
	struct fx_report *r = report_new(FX_REPORT_JSON, 3);
	struct fx_run_counts k = {.ran = 1, .cached = 2, .cutoff = 3, .failed = 4, .skipped = 5,
	    .fresh = 6};

	capture(&c);
	report_start(r, "build:core-api", "build", "core-api");
	report_tick(r);
	report_start(r, "chart:we\"ird", "chart", "we\"ird");
	report_finish(r, "build:core-api", "build", "core-api", FX_RAN, 4.25, true);
	report_finish(r, "chart:we\"ird", "chart", "we\"ird", FX_CUTOFF, 0, true);
	report_finish(r, "load:x", "load", "x", FX_SKIPPED, 0, true);
	report_summary(r, &k, 12.5);
	uncapture(&c, &out, &err);
	/* stdout carries only events, one JSON object per line */
	assert_string_equal(out,
	    "{\"event\":\"start\",\"node\":\"build:core-api\"}\n"
	    "{\"event\":\"start\",\"node\":\"chart:we\\\"ird\"}\n"
	    "{\"event\":\"finish\",\"node\":\"build:core-api\",\"result\":\"ran\",\"seconds\":4.250}\n"
	    "{\"event\":\"finish\",\"node\":\"chart:we\\\"ird\",\"result\":\"cutoff\",\"seconds\":0.000}\n"
	    "{\"event\":\"finish\",\"node\":\"load:x\",\"result\":\"skipped\",\"seconds\":0.000}\n"
	    "{\"event\":\"summary\",\"ran\":1,\"cached\":2,\"cutoff\":3,\"failed\":4,\"skipped\":5,"
	    "\"interrupted\":0,\"fresh\":6,\"seconds\":12.500}\n");
	assert_string_equal(err, "");
	free(out);
	free(err);
	report_free(r);
}

/* Not a terminal: one line per finished node, and a one-line summary. */
static void
test_lines(void **state)
{
	struct capture c;
	char *out, *err;
	struct fx_report *r = report_new(FX_REPORT_LINES, 2);
	struct fx_run_counts k = {.ran = 1, .failed = 1, .fresh = 3};

	capture(&c);
	report_start(r, "build:api", "build", "api");
	report_tick(r);	/* no status line when not on a terminal */
	report_finish(r, "build:api", "build", "api", FX_RAN, 1.26, true);
	report_finish(r, "release:api", "release", "api", FX_FAILED, 0.04, true);
	report_summary(r, &k, 2.0);
	uncapture(&c, &out, &err);
	assert_string_equal(out,
	    "[1/2] ran build api 1.3s\n"
	    "[2/2] failed release api 0.0s\n"
	    "fusion: 1 ran, 0 cached, 0 cutoff, 1 failed, 0 skipped, 3 fresh in 2.0s\n");
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\033'));
	free(out);
	free(err);
	report_free(r);
}

/* On a terminal, only failures get a line of their own, and the summary
 * comes with a table of every node that finished. */
static void
test_tty_table(void **state)
{
	struct capture c;
	char *out, *err;
	struct fx_report *r = report_new(FX_REPORT_TTY, 2);
	struct fx_run_counts k = {.ran = 1, .skipped = 1};

	capture(&c);
	report_start(r, "build:api", "build", "api");
	report_finish(r, "build:api", "build", "api", FX_RAN, 1.0, true);
	report_finish(r, "release:api", "release", "api", FX_SKIPPED, 0, true);
	report_summary(r, &k, 1.0);
	uncapture(&c, &out, &err);
	assert_non_null(strstr(out, "[0/2] build api"));	/* the status line */
	assert_null(strstr(out, "] ran build api"));
	/* columns as wide as the longest id */
	assert_non_null(strstr(out, "\nnode         result    seconds\n"));
	assert_non_null(strstr(out, "\nbuild:api    ran           1.0\n"));
	assert_non_null(strstr(out, "\nrelease:api  skipped       0.0\n"));
	assert_non_null(strstr(out, "fusion: 1 ran, 0 cached, 0 cutoff, 0 failed, 1 skipped, 0 fresh"));
	free(out);
	free(err);
	report_free(r);
}

/* The counter moves only for nodes of its total; a node that is not (fresh
 * when the run began, skipped now) gets its line at the counter as it is,
 * and a node found stale late grows the total. An interrupted node has a
 * line, a row and a count of its own. */
static void
test_counter_and_interrupted(void **state)
{
	struct capture c;
	char *out, *err;
	struct fx_report *r = report_new(FX_REPORT_LINES, 2);
	struct fx_run_counts k = {.ran = 2, .skipped = 1, .interrupted = 1};

	capture(&c);
	report_finish(r, "build:api", "build", "api", FX_RAN, 1.0, true);
	report_finish(r, "release:api", "release", "api", FX_SKIPPED, 0, false);
	report_add_total(r, 1);
	report_finish(r, "load:api", "load", "api", FX_RAN, 1.0, true);
	report_finish(r, "build:web", "build", "web", FX_INTERRUPTED, 2.0, true);
	report_summary(r, &k, 3.0);
	uncapture(&c, &out, &err);
	assert_string_equal(out,
	    "[1/2] ran build api 1.0s\n"
	    "[1/2] skipped release api 0.0s\n"
	    "[2/3] ran load api 1.0s\n"
	    "[3/3] interrupted build web 2.0s\n"
	    "fusion: 2 ran, 0 cached, 0 cutoff, 0 failed, 1 skipped, 1 interrupted, 0 fresh in 3.0s\n");
	free(out);
	free(err);
	report_free(r);

	/* on a terminal: its own line, and a table column wide enough */
	r = report_new(FX_REPORT_TTY, 1);
	k = (struct fx_run_counts){.interrupted = 1};
	capture(&c);
	report_start(r, "build:api", "build", "api");
	report_finish(r, "build:api", "build", "api", FX_INTERRUPTED, 1.0, true);
	report_summary(r, &k, 1.0);
	uncapture(&c, &out, &err);
	assert_non_null(strstr(out, "[1/1] interrupted build api 1.0s\n"));
	assert_non_null(strstr(out, "\nnode       result        seconds\n"));
	assert_non_null(strstr(out, "\nbuild:api  interrupted       1.0\n"));
	free(out);
	free(err);
	report_free(r);

	/* JSON: the finish event's result, the summary's count */
	r = report_new(FX_REPORT_JSON, 1);
	capture(&c);
	report_finish(r, "build:api", "build", "api", FX_INTERRUPTED, 1.0, true);
	report_summary(r, &k, 1.0);
	uncapture(&c, &out, &err);
	assert_non_null(strstr(out, "\"result\":\"interrupted\""));
	assert_non_null(strstr(out, "\"interrupted\":1,"));
	free(out);
	free(err);
	report_free(r);
}

/* A failure names the node, shows the last lines of its log and its path. */
static void
test_failure_tail(void **state)
{
	struct capture c;
	char *out, *err;
	char *log = xasprintf("%s/build:api.log", tmp);
	struct fx_report *r = report_new(FX_REPORT_JSON, 1);
	const char *text = "line1\nline2\nline3\nline4\nline5\n";

	assert_int_equal(write_file_atomic(log, text, strlen(text)), 0);
	capture(&c);
	report_failure(r, "build:api", "exit status 1", NULL, log, 2);
	uncapture(&c, &out, &err);
	char *want = xasprintf("fusion: build:api: exit status 1\n    | line4\n    | line5\n"
	    "  log: %s\n", log);
	assert_string_equal(err, want);
	assert_string_equal(out, "");	/* JSON mode: nothing but events on stdout */
	free(want);
	free(out);
	free(err);

	/* fewer lines than asked for, and no final newline: all of it */
	assert_int_equal(write_file_atomic(log, "only\nlast", 9), 0);
	capture(&c);
	report_failure(r, "build:api", "failed", NULL, log, 20);
	uncapture(&c, &out, &err);
	want = xasprintf("fusion: build:api: failed\n    | only\n    | last\n  log: %s\n", log);
	assert_string_equal(err, want);
	free(want);
	free(out);
	free(err);

	/* no log (it could not be opened): just the message */
	capture(&c);
	report_failure(r, "build:api", "values.yaml: missing", NULL, NULL, 20);
	uncapture(&c, &out, &err);
	assert_string_equal(err, "fusion: build:api: values.yaml: missing\n");
	free(out);
	free(err);
	report_free(r);
	free(log);
}

/* --json: the failed node's finish event carries the message's first line
 * and the fields its kind gave; another node's event does not. */
static void
test_failure_json(void **state)
{
	struct capture c;
	char *out, *err;
	struct fx_report *r = report_new(FX_REPORT_JSON, 2);

	capture(&c);
	report_failure(r, "release:api", "pod api-1: CrashLoopBackOff\n    its log", 
	    "\"rollout\":{\"reason\":\"CrashLoopBackOff\"}", NULL, 0);
	report_finish(r, "build:web", "build", "web", FX_SKIPPED, 0, true);
	report_finish(r, "release:api", "release", "api", FX_FAILED, 1.5, true);
	report_failure(r, "build:web", "exit status 1", NULL, NULL, 0);
	report_finish(r, "build:web", "build", "web", FX_FAILED, 0.25, true);
	uncapture(&c, &out, &err);
	assert_string_equal(out,
	    "{\"event\":\"finish\",\"node\":\"build:web\",\"result\":\"skipped\",\"seconds\":0.000}\n"
	    "{\"event\":\"finish\",\"node\":\"release:api\",\"result\":\"failed\",\"seconds\":1.500,"
	    "\"error\":\"pod api-1: CrashLoopBackOff\",\"rollout\":{\"reason\":\"CrashLoopBackOff\"}}\n"
	    "{\"event\":\"finish\",\"node\":\"build:web\",\"result\":\"failed\",\"seconds\":0.250,"
	    "\"error\":\"exit status 1\"}\n");
	free(out);
	free(err);
	report_free(r);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_names),
		T(test_json_events),
		T(test_lines),
		T(test_tty_table),
		T(test_counter_and_interrupted),
		T(test_failure_tail),
		T(test_failure_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
