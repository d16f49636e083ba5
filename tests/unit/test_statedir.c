/*
 * test_statedir.c - the state directory (statedir.h): made private, an old
 * one of fusion's closed to others, a directory of the user's left alone,
 * files in it 0600 whatever the umask, and one clear error when it cannot
 * be made. (A read-only one: state.bats, on a read-only tmpfs, since root
 * writes anywhere else.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/statedir.h"
#include "fusion/util.h"

#define TESTDIR_NAME "statedir"
#include "testdir.h"
#include "capture.h"

static unsigned
mode_of(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

/* A directory that does not exist is made 0700, parents and all, even
 * under a umask that would leave it open. */
static void
test_prepare_new(void **state)
{
	char *dir = at("a/b/.fusion");
	mode_t old = umask(0);

	assert_int_equal(statedir_prepare(dir), 0);
	umask(old);
	assert_int_equal(mode_of(dir), 0700);
	free(dir);
}

/* One of fusion's own from before (it holds a database or a lock) that
 * others could read is closed; a directory of the user's choosing, a shared
 * one (sticky, like /tmp) is left as it is. */
static void
test_prepare_tightens_only_its_own(void **state)
{
	char *own = at("own"), *lock = at("lock-only"), *mine = at("mine"), *shared = at("shared");

	assert_int_equal(mkdir(own, 0755), 0);
	put_file("own/cache.db", "");
	assert_int_equal(mkdir(lock, 0750), 0);
	put_file("lock-only/lock", "");
	assert_int_equal(mkdir(mine, 0755), 0);
	put_file("mine/notes.txt", "");
	assert_int_equal(mkdir(shared, 0777), 0);
	assert_int_equal(chmod(shared, 01777), 0);
	put_file("shared/cache.db", "");

	assert_int_equal(statedir_prepare(own), 0);
	assert_int_equal(statedir_prepare(lock), 0);
	assert_int_equal(statedir_prepare(mine), 0);
	assert_int_equal(statedir_prepare(shared), 0);
	assert_int_equal(mode_of(own), 0700);
	assert_int_equal(mode_of(lock), 0700);
	assert_int_equal(mode_of(mine), 0755);
	assert_int_equal(mode_of(shared), 01777);
	free(own);
	free(lock);
	free(mine);
	free(shared);
}

/* A state directory that cannot be made is one error naming it. */
static void
test_prepare_cannot_make(void **state)
{
	char *dir = at("plain/.fusion");

	put_file("plain", "a file, not a directory");
	capture_begin();
	assert_int_equal(statedir_prepare(dir), -1);
	char *out = capture_end();
	char *want = xasprintf("fusion: %s: cannot create the state directory: Not a directory\n",
	    dir);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(dir);
}

/* Files are created 0600 whatever the umask; an existing one open to
 * others is closed, its content kept. */
static void
test_open_private(void **state)
{
	char *p = at("logs/x.log"), *dir = at("logs"), *old = at("logs/old.log");
	mode_t mask = umask(0);

	assert_int_equal(statedir_mkdir(dir), 0);
	assert_int_equal(mode_of(dir), 0700);
	int fd = statedir_open(p, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mode_of(p), 0600);

	put_file("logs/old.log", "kept");
	assert_int_equal(chmod(old, 0644), 0);
	fd = statedir_open(old, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	close(fd);
	umask(mask);
	assert_int_equal(mode_of(old), 0600);
	char *got;
	size_t len;
	assert_int_equal(read_file(old, &got, &len), 0);
	assert_string_equal(got, "kept");
	free(got);
	free(old);
	free(dir);
	free(p);
}

/* The state ignores itself for git: a directory fusion made, or one of
 * its own from before, gets a .gitignore of "*"; a directory of the
 * user's does not, and an existing .gitignore is never replaced. */
static void
test_prepare_ignored_by_git(void **state)
{
	char *made = at("ws/.fusion"), *own = at("own"), *mine = at("mine"), *kept = at("kept");
	char *got;
	size_t len;

	assert_int_equal(mkdir(own, 0700), 0);
	put_file("own/cache.db", "");
	assert_int_equal(mkdir(mine, 0700), 0);
	assert_int_equal(mkdir(kept, 0700), 0);
	put_file("kept/lock", "");
	put_file("kept/.gitignore", "mine\n");
	assert_int_equal(statedir_prepare(made), 0);
	assert_int_equal(statedir_prepare(own), 0);
	assert_int_equal(statedir_prepare(mine), 0);
	assert_int_equal(statedir_prepare(kept), 0);

	char *p = at("ws/.fusion/.gitignore");
	assert_int_equal(read_file(p, &got, &len), 0);
	assert_non_null(strstr(got, "\n*\n"));
	free(got);
	free(p);
	p = at("own/.gitignore");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	p = at("mine/.gitignore");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	p = at("kept/.gitignore");
	assert_int_equal(read_file(p, &got, &len), 0);
	assert_string_equal(got, "mine\n");
	free(got);
	free(p);
	free(made);
	free(own);
	free(mine);
	free(kept);
}

/* Links made beneath the root after it was prepared (a race with the
 * start-up check, or a directory fusion did not list) are still refused:
 * statedir_open and statedir_mkdir follow no link below the root, name the
 * link, and leave what it points at alone. The root itself may be a link. */
static void
test_links_below_root_refused(void **state)
{
	char *real = at("real"), *root = at("root"), *out = at("out");
	char *outfile = at("out/file"), *logs = at("root/logs");
	char *p_root_lock = at("root/lock");
	char *p_root_logs_x_log = at("root/logs/x.log");
	char *p_root_logs_deeper = at("root/logs/deeper");
	char *p_out_x_log = at("out/x.log");
	char *p_out_deeper = at("out/deeper");
	char *p_root_artifacts_sub = at("root/artifacts/sub");
	char *p_real_artifacts_sub = at("real/artifacts/sub");
	char *p_root_artifacts_sub_x_iid = at("root/artifacts/sub/x.iid");
	char *p_real_artifacts_sub_x_iid = at("real/artifacts/sub/x.iid");

	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(symlink(real, root), 0);
	assert_int_equal(statedir_prepare(root), 0);
	put_file("out/file", "precious");
	assert_int_equal(chmod(outfile, 0644), 0);

	/* a file link, a directory link on the way, one made deeper */
	assert_int_equal(symlink(outfile, p_root_lock), 0);
	assert_int_equal(symlink(out, logs), 0);
	capture_begin();
	assert_int_equal(statedir_open(p_root_lock, O_RDWR), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(statedir_open(p_root_logs_x_log, O_WRONLY | O_TRUNC), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(statedir_mkdir(p_root_logs_deeper), -1);
	assert_int_equal(errno, ELOOP);
	char *said = capture_end();
	char *want = xasprintf("fusion: %s/lock: a symbolic link in the state directory: fusion "
	    "does not follow links there (remove it)\n", root);
	assert_non_null(strstr(said, want));
	free(want);
	want = xasprintf("fusion: %s: a symbolic link", logs);
	assert_non_null(strstr(said, want));
	assert_int_equal(errors_in(said), 3);
	free(want);
	free(said);

	char *got;
	size_t len;
	assert_int_equal(read_file(outfile, &got, &len), 0);
	assert_string_equal(got, "precious");
	free(got);
	assert_int_equal(mode_of(outfile), 0644);
	assert_int_equal(mode_of(out), 0755);
	assert_int_equal(access(p_out_x_log, F_OK), -1);
	assert_int_equal(access(p_out_deeper, F_OK), -1);

	/* what is not a link still works, directories made 0700 */
	assert_int_equal(statedir_mkdir(p_root_artifacts_sub), 0);
	assert_int_equal(mode_of(p_real_artifacts_sub), 0700);
	int fd = statedir_open(p_root_artifacts_sub_x_iid, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mode_of(p_real_artifacts_sub_x_iid), 0600);
	statedir_root(NULL);
	free(real);
	free(root);
	free(out);
	free(outfile);
	free(logs);
	free(p_root_lock);
	free(p_root_logs_x_log);
	free(p_root_logs_deeper);
	free(p_out_x_log);
	free(p_out_deeper);
	free(p_root_artifacts_sub);
	free(p_real_artifacts_sub);
	free(p_root_artifacts_sub_x_iid);
	free(p_real_artifacts_sub_x_iid);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_prepare_new),
		T(test_prepare_tightens_only_its_own),
		T(test_prepare_cannot_make),
		T(test_open_private),
		T(test_prepare_ignored_by_git),
		T(test_links_below_root_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
