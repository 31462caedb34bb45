/* Unit tests for common/fileio: the capped reader's refusals and edges, and
 * atomic replacement leaving no temporary file on any failure. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fileio.h"

struct fx {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/moat-fileio-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static const char *
at(struct fx *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

static void
put(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Entries in the directory other than . and .. */
static unsigned
entries(struct fx *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void
test_read_whole_file(void **state)
{
	struct fx *f = *state;
	char *buf = (char *)0x1;
	size_t len = 99;

	put(at(f, "a"), "ab\0cd", 5, 0644);
	assert_int_equal(fileio_read(f->path, 5, 0, &buf, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "ab\0cd", 6);	/* and the terminating NUL */
	free(buf);

	put(at(f, "empty"), "", 0, 0644);
	assert_int_equal(fileio_read(f->path, 0, 0, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], '\0');
	free(buf);
}

static void
test_cap(void **state)
{
	struct fx *f = *state;
	char *buf = NULL;
	size_t len = 0;

	put(at(f, "ten"), "0123456789", 10, 0644);
	assert_int_equal(fileio_read(f->path, 10, 0, &buf, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789");
	free(buf);
	buf = NULL;
	assert_int_equal(fileio_read(f->path, 9, 0, &buf, &len), -EFBIG);
	assert_null(buf);	/* outputs untouched on failure */
	assert_int_equal(fileio_read(f->path, 0, 0, &buf, &len), -EFBIG);
}

static void
test_unsized_proc_file(void **state)
{
	char *buf = NULL;
	size_t len = 0;

	/* stat size 0, contents on read: read to the end, capped. */
	assert_int_equal(fileio_read("/proc/self/status", 1 << 20, 0, &buf, &len), 0);
	assert_true(len > 100);
	assert_int_equal(strlen(buf), len);
	assert_non_null(strstr(buf, "Pid:"));
	free(buf);
	buf = NULL;
	assert_int_equal(fileio_read("/proc/self/status", 16, 0, &buf, &len), -EFBIG);
	assert_null(buf);
}

static void
test_refuses_non_regular(void **state)
{
	struct fx *f = *state;
	char *buf = NULL;
	size_t len;

	assert_int_equal(fileio_read(f->dir, 1024, 0, &buf, &len), -EINVAL);
	assert_int_equal(fileio_read("/dev/null", 1024, 0, &buf, &len), -EINVAL);
	/* A FIFO without a writer: refused at once, not waited on. */
	assert_int_equal(mkfifo(at(f, "fifo"), 0600), 0);
	assert_int_equal(fileio_read(f->path, 1024, 0, &buf, &len), -EINVAL);
	assert_int_equal(fileio_read(at(f, "missing"), 1024, 0, &buf, &len), -ENOENT);
	assert_null(buf);
}

static void
test_nofollow_and_private(void **state)
{
	struct fx *f = *state;
	char target[128], *buf = NULL;
	size_t len;

	put(at(f, "real"), "secret", 6, 0600);
	snprintf(target, sizeof(target), "%s", f->path);
	assert_int_equal(symlink(target, at(f, "link")), 0);
	assert_int_equal(fileio_read(f->path, 64, FILEIO_NOFOLLOW, &buf, &len), -ELOOP);
	assert_int_equal(fileio_read(f->path, 64, 0, &buf, &len), 0);
	assert_string_equal(buf, "secret");
	free(buf);
	buf = NULL;

	assert_int_equal(fileio_read(target, 64, FILEIO_PRIVATE, &buf, &len), 0);
	free(buf);
	buf = NULL;
	assert_int_equal(chmod(target, 0620), 0);
	assert_int_equal(fileio_read(target, 64, FILEIO_PRIVATE, &buf, &len), -EPERM);
	assert_int_equal(chmod(target, 0602), 0);
	assert_int_equal(fileio_read(target, 64, FILEIO_PRIVATE, &buf, &len), -EPERM);
	assert_null(buf);
}

static void
test_read_at(void **state)
{
	struct fx *f = *state;
	char *buf = NULL;
	size_t len;
	int dfd;

	put(at(f, "state"), "v=1\n", 4, 0600);
	dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(fileio_read_at(dfd, "state", 64, FILEIO_NOFOLLOW, &buf, &len), 0);
	assert_int_equal(len, 4);
	assert_string_equal(buf, "v=1\n");
	free(buf);
	close(dfd);
}

static void
test_write_atomic_creates_and_replaces(void **state)
{
	struct fx *f = *state;
	char path[128], *buf = NULL;
	mode_t old = umask(077);
	struct stat st;
	size_t len;

	snprintf(path, sizeof(path), "%s", at(f, "state.json"));
	assert_int_equal(fileio_write_atomic(path, "{\"a\":1}", 7, 0640), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);	/* exactly mode, despite umask */
	assert_int_equal(fileio_read(path, 64, 0, &buf, &len), 0);
	assert_string_equal(buf, "{\"a\":1}");
	free(buf);

	assert_int_equal(fileio_write_atomic(path, "{}", 2, 0600), 0);
	assert_int_equal(fileio_read(path, 64, 0, &buf, &len), 0);
	assert_string_equal(buf, "{}");
	free(buf);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(fileio_write_atomic(path, NULL, 0, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(entries(f), 1);	/* no temporary file left */
	umask(old);
}

static void
test_write_atomic_relative_path(void **state)
{
	struct fx *f = *state;
	char cwd[4096], *buf = NULL;
	size_t len;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(fileio_write_atomic("here", "x", 1, 0600), 0);
	assert_int_equal(fileio_read("here", 8, 0, &buf, &len), 0);
	assert_string_equal(buf, "x");
	free(buf);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(entries(f), 1);
}

static void
test_write_atomic_failures_leave_no_temp(void **state)
{
	struct fx *f = *state;
	char path[128], big[4096], *buf = NULL;
	struct rlimit rl, small = { .rlim_cur = 100, .rlim_max = RLIM_INFINITY };
	size_t len;

	/* Rename over a directory fails after the temp file was written. */
	assert_int_equal(mkdir(at(f, "adir"), 0700), 0);
	assert_int_equal(fileio_write_atomic(f->path, "x", 1, 0600), -EISDIR);
	assert_int_equal(entries(f), 1);

	/* No such directory / no file name. */
	assert_int_equal(fileio_write_atomic(at(f, "nodir/x"), "x", 1, 0600), -ENOENT);
	assert_int_equal(fileio_write_atomic(at(f, "adir/"), "x", 1, 0600), -EISDIR);

	/* A write that fails half-way (file size limit): the old contents
	   stay and the temp file goes. */
	snprintf(path, sizeof(path), "%s", at(f, "keep"));
	assert_int_equal(fileio_write_atomic(path, "old", 3, 0600), 0);
	memset(big, 'n', sizeof(big));
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	small.rlim_max = rl.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_int_equal(fileio_write_atomic(path, big, sizeof(big), 0600), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(fileio_read(path, 64, 0, &buf, &len), 0);
	assert_string_equal(buf, "old");
	free(buf);
	assert_int_equal(entries(f), 2);	/* adir and keep */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_whole_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsized_proc_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_non_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nofollow_and_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_at, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_creates_and_replaces, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_relative_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_failures_leave_no_temp, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
