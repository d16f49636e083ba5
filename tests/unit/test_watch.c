/*
 * test_watch.c - the watcher (watch.h): what it reports and what it keeps
 * quiet, with inotify and with the polling fallback.
 *
 * No test asserts that something did NOT happen within some time: a write
 * that must go unreported is followed by a write that must be reported,
 * and inotify queues events in order, so once the second is seen the first
 * would have been too. Waits for an event poll with a generous deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/ignore.h"
#include "fusion/watch.h"

#define TESTDIR_NAME "watch"
#include "testdir.h"

static struct fx_ignore *
rules(const char *text)
{
	struct fx_ignore *ig = ignore_new();

	assert_int_equal(ignore_add_text(ig, text, strlen(text), "test"), 0);
	return ig;
}

/* Read changes until `want` (relative to tmp) is among them; false after
 * 20 seconds. */
static bool
wait_for(struct fx_watch *w, struct fx_strv *got, const char *want, int *lost)
{
	char *p = at(want);
	double end = now_mono() + 20;
	bool found = false;

	while (!found && now_mono() < end) {
		struct pollfd pfd = {watch_fd(w), POLLIN, 0};
		int t = watch_timeout(w);
		poll(&pfd, pfd.fd >= 0 ? 1 : 0, t < 0 || t > 20 ? 20 : t);
		int l = watch_read(w, got);
		if (lost)
			*lost |= l;
		found = strv_has(got, p);
	}
	free(p);
	return found;
}

/* Write tmp/rel in place, as `echo >` does (put_file renames a temp file
 * over it, as editors do). */
static void
save(const char *rel, const char *content)
{
	char *p = at(rel);
	char *d = path_dir(p);

	assert_int_equal(mkdir_p(d, 0755), 0);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	free(d);
	free(p);
}

static bool
got(const struct fx_strv *v, const char *rel)
{
	char *p = at(rel);
	bool has = strv_has(v, p);

	free(p);
	return has;
}

static void
rm_rel(const char *rel)
{
	char *p = at(rel);

	assert_int_equal(remove(p), 0);
	free(p);
}

/* Nothing queued for the watcher right now (inotify queues synchronously,
 * in the writer's system call). */
static bool
quiet(struct fx_watch *w)
{
	struct pollfd pfd = {watch_fd(w), POLLIN, 0};

	return poll(&pfd, 1, 0) == 0;
}

static struct fx_watch *
watch_ctx(int poll_ms, const struct fx_ignore *ig, const char *key)
{
	struct fx_watch *w = watch_new(poll_ms);
	char *ctx = at("ctx");

	watch_begin(w);
	watch_tree(w, ctx, ig, key);
	assert_int_equal(watch_end(w), 0);
	free(ctx);
	return w;
}

static void
layout(void)
{
	put_file("ctx/a/b.txt", "b\n");
	put_file("ctx/tmp/scratch", "s\n");
	put_file("ctx/Containerfile", "FROM scratch\n");
}

static void
test_write_in_tree_is_reported(void **state)
{
	layout();
	struct fx_watch *w = watch_ctx(0, NULL, "");
	struct fx_strv v = {0};

	assert_false(watch_polling(w));
	assert_int_equal(watch_dirs(w), 3);	/* ctx, ctx/a, ctx/tmp */
	save("ctx/a/b.txt", "changed\n");
	assert_true(wait_for(w, &v, "ctx/a/b.txt", NULL));
	assert_int_equal(v.n, 1);	/* write, close, rename: one path, once */
	strv_free(&v);
	watch_free(w);
}

static void
test_pruned_directory_has_no_watch_and_wakes_nothing(void **state)
{
	layout();
	struct fx_ignore *ig = rules("tmp/\n");
	struct fx_watch *w = watch_ctx(0, ig, "tmp/");
	struct fx_strv v = {0};

	assert_int_equal(watch_dirs(w), 2);	/* ctx, ctx/a: no tmp */
	save("ctx/tmp/scratch", "changed\n");
	save("ctx/tmp/new", "new\n");
	assert_true(quiet(w));
	save("ctx/a/b.txt", "changed\n");
	assert_true(wait_for(w, &v, "ctx/a/b.txt", NULL));
	assert_false(got(&v, "ctx/tmp/scratch"));
	assert_int_equal(v.n, 1);
	strv_free(&v);
	watch_free(w);
	ignore_free(ig);
}

static void
test_ignored_file_in_watched_directory_is_dropped(void **state)
{
	layout();
	struct fx_ignore *ig = rules("*.log\n**/*.log\n");
	struct fx_watch *w = watch_ctx(0, ig, "log");
	struct fx_strv v = {0};

	save("ctx/a/debug.log", "x\n");
	save("ctx/a/b.txt", "changed\n");
	assert_true(wait_for(w, &v, "ctx/a/b.txt", NULL));
	assert_false(got(&v, "ctx/a/debug.log"));
	strv_free(&v);
	watch_free(w);
	ignore_free(ig);
}

static void
test_exception_keeps_directory_watched(void **state)
{
	layout();
	struct fx_ignore *ig = rules("tmp/\n!tmp/keep\n");
	struct fx_watch *w = watch_ctx(0, ig, "keep");
	struct fx_strv v = {0};

	assert_int_equal(watch_dirs(w), 3);	/* tmp must be watched for tmp/keep */
	save("ctx/tmp/other", "x\n");
	save("ctx/tmp/keep", "k\n");
	assert_true(wait_for(w, &v, "ctx/tmp/keep", NULL));
	assert_false(got(&v, "ctx/tmp/other"));
	strv_free(&v);
	watch_free(w);
	ignore_free(ig);
}

static void
test_new_directory_is_walked_and_watched(void **state)
{
	layout();
	struct fx_watch *w = watch_ctx(0, NULL, "");
	struct fx_strv v = {0};

	/* Written before the watcher reads the creation of n/: its files
	 * predate their directory's watch and are found by the walk. */
	save("ctx/n/m/f.txt", "f\n");
	assert_true(wait_for(w, &v, "ctx/n/m/f.txt", NULL));
	assert_true(got(&v, "ctx/n"));
	strv_free(&v);
	save("ctx/n/m/g.txt", "g\n");
	assert_true(wait_for(w, &v, "ctx/n/m/g.txt", NULL));
	strv_free(&v);
	watch_free(w);
}

static void
test_file_root_survives_rename_saves(void **state)
{
	save("values/core.yaml", "a: 1\n");
	save("values/other.yaml", "b: 1\n");
	struct fx_watch *w = watch_new(0);
	struct fx_strv v = {0};
	char *f = at("values/core.yaml");

	watch_begin(w);
	watch_file(w, f);
	watch_end(w);
	for (int i = 0; i < 2; i++) {
		/* an editor's save: a new file renamed over the old one */
		put_file("values/.core.yaml.swp", "a: 2\n");
		char *tmpf = at("values/.core.yaml.swp");
		assert_int_equal(rename(tmpf, f), 0);
		free(tmpf);
		assert_true(wait_for(w, &v, "values/core.yaml", NULL));
		assert_false(got(&v, "values/.core.yaml.swp"));
		strv_free(&v);
	}
	save("values/other.yaml", "b: 2\n");	/* same directory, not a root */
	assert_false(quiet(w));
	assert_int_equal(watch_read(w, &v), 0);
	assert_int_equal(v.n, 0);
	free(f);
	watch_free(w);
}

static void
test_directory_moved_out_is_reported_and_unwatched(void **state)
{
	layout();
	struct fx_watch *w = watch_ctx(0, NULL, "");
	struct fx_strv v = {0};
	char *from = at("ctx/a"), *to = at("away");

	assert_int_equal(rename(from, to), 0);
	assert_true(wait_for(w, &v, "ctx/a", NULL));
	strv_free(&v);
	save("away/b.txt", "moved\n");
	save("ctx/Containerfile", "FROM scratch\nLABEL x=y\n");
	assert_true(wait_for(w, &v, "ctx/Containerfile", NULL));
	assert_false(got(&v, "away/b.txt"));
	assert_int_equal(watch_dirs(w), 2);
	strv_free(&v);
	/* and moved back in: walked and watched again */
	assert_int_equal(rename(to, from), 0);
	assert_true(wait_for(w, &v, "ctx/a/b.txt", NULL));
	strv_free(&v);
	free(from);
	free(to);
	watch_free(w);
}

static void
test_state_directory_is_never_watched(void **state)
{
	layout();
	save("ctx/.fusion/logs/build.log", "x\n");
	struct fx_watch *w = watch_new(0);
	struct fx_strv v = {0};
	char *ctx = at("ctx"), *st = at("ctx/.fusion");

	watch_exclude(w, st);
	watch_begin(w);
	watch_tree(w, ctx, NULL, "");
	watch_end(w);
	assert_int_equal(watch_dirs(w), 3);
	save("ctx/.fusion/logs/build.log", "y\n");
	save("ctx/.fusion/new", "y\n");
	save("ctx/a/b.txt", "changed\n");
	assert_true(wait_for(w, &v, "ctx/a/b.txt", NULL));
	assert_false(got(&v, "ctx/.fusion/new"));
	assert_false(got(&v, "ctx/.fusion"));
	strv_free(&v);
	free(ctx);
	free(st);
	watch_free(w);
}

static void
test_sync_keeps_drops_and_rewalks_roots(void **state)
{
	layout();
	save("chart/templates/svc.yaml", "kind: Service\n");
	struct fx_ignore *ig = rules("tmp/\n");
	struct fx_watch *w = watch_new(0);
	struct fx_strv v = {0};
	char *ctx = at("ctx"), *chart = at("chart");

	watch_begin(w);
	watch_tree(w, ctx, ig, "tmp/");
	watch_tree(w, chart, NULL, "");
	watch_end(w);
	assert_int_equal(watch_dirs(w), 4);
	/* the chart is dropped, the context's rules change: tmp/ comes in */
	watch_begin(w);
	watch_tree(w, ctx, NULL, "");
	watch_end(w);
	assert_int_equal(watch_dirs(w), 3);
	save("chart/templates/svc.yaml", "kind: Service\n# x\n");
	save("ctx/tmp/scratch", "now an input\n");
	assert_true(wait_for(w, &v, "ctx/tmp/scratch", NULL));
	assert_false(got(&v, "chart/templates/svc.yaml"));
	strv_free(&v);
	free(ctx);
	free(chart);
	watch_free(w);
	ignore_free(ig);
}

static long
sysctl_long(const char *path)
{
	char *s;
	size_t len;

	if (read_file(path, &s, &len) < 0)
		return -1;
	long v = strtol(s, NULL, 10);
	free(s);
	return v;
}

static void
test_queue_overflow_says_changes_were_lost(void **state)
{
	long max = sysctl_long("/proc/sys/fs/inotify/max_queued_events");
	if (max < 0 || max > 200000)
		skip();
	layout();
	struct fx_watch *w = watch_ctx(0, NULL, "");
	struct fx_strv v = {0};
	char *dir = at("ctx/a");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	assert_true(dfd >= 0);
	/* each file: IN_CREATE and IN_CLOSE_WRITE, never read meanwhile */
	for (long i = 0; i < max / 2 + 64; i++) {
		char name[32];
		snprintf(name, sizeof name, "f%ld", i);
		int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
	close(dfd);
	int lost = watch_read(w, &v);
	assert_int_equal(lost, 1);
	strv_free(&v);
	/* and it goes on watching */
	save("ctx/Containerfile", "FROM scratch\n# again\n");
	assert_true(wait_for(w, &v, "ctx/Containerfile", NULL));
	strv_free(&v);
	free(dir);
	watch_free(w);
}

static void
test_polling_reports_writes_creations_removals(void **state)
{
	layout();
	struct fx_ignore *ig = rules("tmp/\n");
	struct fx_watch *w = watch_ctx(20, ig, "tmp/");
	struct fx_strv v = {0};

	assert_true(watch_polling(w));
	assert_int_equal(watch_fd(w), -1);
	assert_true(watch_timeout(w) >= 0);
	/* same size, same second: the inode and ctime still tell */
	save("ctx/a/b.txt", "B\n");
	save("ctx/tmp/scratch", "ignored\n");
	assert_true(wait_for(w, &v, "ctx/a/b.txt", NULL));
	assert_false(got(&v, "ctx/tmp/scratch"));
	assert_false(got(&v, "ctx/a"));	/* a directory's times do not count */
	strv_free(&v);
	char *b = at("ctx/a/b.txt");
	assert_int_equal(unlink(b), 0);
	assert_true(wait_for(w, &v, "ctx/a/b.txt", NULL));
	strv_free(&v);
	save("ctx/n/c.txt", "c\n");
	assert_true(wait_for(w, &v, "ctx/n/c.txt", NULL));
	/* c.txt was made in this batch: gone again before the pass, it is no
	 * change; b.txt's removal (an earlier batch made it) is one */
	rm_rel("ctx/n/c.txt");
	strv_push(&v, b);
	watch_settle(w, &v);
	assert_false(got(&v, "ctx/n/c.txt"));
	assert_true(got(&v, "ctx/a/b.txt"));
	free(b);
	strv_free(&v);
	watch_free(w);
	ignore_free(ig);
}

/* What came and went between two passes is no change: an editor's temp
 * file renamed over the file it saves, a scratch file, a directory made
 * and removed. What was there before and is gone now is one. */
static void
test_settle_drops_what_came_and_went(void **state)
{
	layout();
	struct fx_watch *w = watch_ctx(0, NULL, "");
	struct fx_strv v = {0};
	char *b = at("ctx/a/b.txt");

	save("ctx/a/.b.txt.tmp", "saved\n");	/* sed -i, an editor */
	char *t = at("ctx/a/.b.txt.tmp");
	assert_int_equal(rename(t, b), 0);
	free(t);
	save("ctx/a/scratch", "s\n");
	rm_rel("ctx/a/scratch");
	save("ctx/made/deep/f", "f\n");
	rm_rel("ctx/made/deep/f");
	rm_rel("ctx/made/deep");
	rm_rel("ctx/made");
	rm_rel("ctx/tmp/scratch");	/* was there: removed */
	save("ctx/a/new.txt", "n\n");	/* stays */
	assert_true(wait_for(w, &v, "ctx/a/new.txt", NULL));
	assert_true(got(&v, "ctx/a/.b.txt.tmp"));
	assert_true(got(&v, "ctx/a/scratch"));
	watch_settle(w, &v);
	assert_int_equal(v.n, 3);
	assert_true(got(&v, "ctx/a/b.txt"));
	assert_true(got(&v, "ctx/tmp/scratch"));
	assert_true(got(&v, "ctx/a/new.txt"));
	strv_free(&v);
	/* the next batch starts afresh: new.txt was made in the last one, and
	 * its removal now is a change */
	rm_rel("ctx/a/new.txt");
	assert_true(wait_for(w, &v, "ctx/a/new.txt", NULL));
	watch_settle(w, &v);
	assert_int_equal(v.n, 1);
	assert_true(got(&v, "ctx/a/new.txt"));
	strv_free(&v);
	free(b);
	watch_free(w);
}

/*
 * The watch limit: in a user namespace of its own, a child lowers
 * max_inotify_watches (per namespace since Linux 5.11) below what the tree
 * needs; the watcher must fall back to polling, say so naming the sysctl,
 * report the loss once, and still see a change.
 */
static int
deny_limit(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char buf[64];

	if (unshare(CLONE_NEWUSER) < 0)
		return -1;
	int n = snprintf(buf, sizeof buf, "0 %d 1", (int)uid);
	if (write_file_atomic("/proc/self/uid_map", buf, (size_t)n) < 0) {
		int fd = open("/proc/self/uid_map", O_WRONLY);
		if (fd < 0 || write(fd, buf, (size_t)n) != n)
			return -1;
		close(fd);
	}
	int fd = open("/proc/self/setgroups", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "deny", 4) != 4)
			return -1;
		close(fd);
	}
	n = snprintf(buf, sizeof buf, "0 %d 1", (int)gid);
	fd = open("/proc/self/gid_map", O_WRONLY);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return -1;
	close(fd);
	fd = open("/proc/sys/user/max_inotify_watches", O_WRONLY);
	if (fd < 0 || write(fd, "2", 1) != 1)
		return -1;
	close(fd);
	return 0;
}

static void
test_watch_limit_falls_back_to_polling(void **state)
{
	layout();
	save("ctx/c/d/e.txt", "e\n");
	char *errpath = at("stderr");
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		if (deny_limit() < 0)
			_exit(77);
		struct fx_watch *w = watch_ctx(0, NULL, "");
		struct fx_strv v = {0};
		int lost = watch_read(w, &v);	/* the fallback's loss, once */
		if (!watch_polling(w) || watch_dirs(w) != 0 || lost != 1)
			_exit(1);
		strv_free(&v);
		save("ctx/c/d/e.txt", "changed\n");
		lost = 0;
		if (!wait_for(w, &v, "ctx/c/d/e.txt", &lost) || lost)
			_exit(2);
		strv_free(&v);
		watch_free(w);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		free(errpath);
		skip();	/* no user namespaces here */
	}
	assert_int_equal(WEXITSTATUS(st), 0);
	char *err;
	size_t len;
	assert_int_equal(read_file(errpath, &err, &len), 0);
	assert_non_null(strstr(err, "fs.inotify.max_user_watches"));
	assert_non_null(strstr(err, "= 2)"));
	assert_non_null(strstr(err, "polling"));
	free(err);
	free(errpath);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_write_in_tree_is_reported),
		T(test_pruned_directory_has_no_watch_and_wakes_nothing),
		T(test_ignored_file_in_watched_directory_is_dropped),
		T(test_exception_keeps_directory_watched),
		T(test_new_directory_is_walked_and_watched),
		T(test_file_root_survives_rename_saves),
		T(test_directory_moved_out_is_reported_and_unwatched),
		T(test_state_directory_is_never_watched),
		T(test_sync_keeps_drops_and_rewalks_roots),
		T(test_queue_overflow_says_changes_were_lost),
		T(test_polling_reports_writes_creations_removals),
		T(test_settle_drops_what_came_and_went),
		T(test_watch_limit_falls_back_to_polling),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
