/*
 * Unit tests for common/cfg.
 *
 * Golden cases: every tests/unit/data/cfg/NAME.yaml is loaded and the result
 * (the error text, or a dump of the tree followed by the result of each
 * "#> op path key [min max]" directive in the file) is compared with
 * NAME.out. MOAT_CFG_REGEN=1 rewrites the .out files instead; review the diff.
 * The C cases below cover what golden files cannot hold: files on disk,
 * sizes, generated depth, NULL handling and the "untouched on error" rule.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/cfg.h"
#include "common/limits.h"
#include "common/strnum.h"

/* ---- a growable output buffer ---- */

struct out {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	if (o->len + (size_t)n + 1 > o->cap) {
		o->cap = (o->len + (size_t)n + 1) * 2;
		o->p = realloc(o->p, o->cap);
		assert_non_null(o->p);
	}
	va_start(ap, fmt);
	vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

/* A scalar as 'text' with control characters escaped, so .out stays text. */
static void
out_quoted(struct out *o, const char *s)
{
	out_printf(o, "'");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			out_printf(o, "\\n");
		else if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'')
			out_printf(o, "\\x%02x", c);
		else
			out_printf(o, "%c", c);
	}
	out_printf(o, "'");
}

static void
dump(struct out *o, const struct cfg_node *n, unsigned indent)
{
	switch (cfg_kind(n)) {
	case CFG_SCALAR:
		out_quoted(o, cfg_scalar(n));
		out_printf(o, " @%u:%u\n", cfg_line(n), cfg_column(n));
		break;
	case CFG_SEQ:
		out_printf(o, "seq(%zu) @%u:%u\n", cfg_len(n), cfg_line(n), cfg_column(n));
		for (size_t i = 0; i < cfg_len(n); i++) {
			out_printf(o, "%*s- ", (int)indent + 2, "");
			dump(o, cfg_seq_at(n, i), indent + 2);
		}
		break;
	case CFG_MAP:
		out_printf(o, "map(%zu) @%u:%u\n", cfg_len(n), cfg_line(n), cfg_column(n));
		for (size_t i = 0; i < cfg_len(n); i++) {
			out_printf(o, "%*s", (int)indent + 2, "");
			out_quoted(o, cfg_map_key_at(n, i));
			out_printf(o, ": ");
			dump(o, cfg_map_val_at(n, i), indent + 2);
			/* cfg_get must find every key at its own value. */
			assert_ptr_equal(cfg_get(n, cfg_map_key_at(n, i)), cfg_map_val_at(n, i));
		}
		break;
	}
}

/* ---- directives: "#> op path key [min max]" ---- */

#define MAX_ARGS 16

struct directive {
	char *argv[MAX_ARGS];
	int argc;
};

static void
split(char *line, struct directive *d)
{
	d->argc = 0;
	for (char *t = strtok(line, " \t"); t != NULL && d->argc < MAX_ARGS;
	     t = strtok(NULL, " \t"))
		d->argv[d->argc++] = t;
}

/* "." is the root; "a.b" walks maps (NULL when a step is absent). */
static const struct cfg_node *
walk(const struct cfg_node *root, char *path)
{
	const struct cfg_node *n = root;

	if (strcmp(path, ".") == 0)
		return n;
	for (char *t = strtok(path, "."); t != NULL && n != NULL; t = strtok(NULL, "."))
		n = cfg_get(n, t);
	return n;
}

static int64_t
arg_i64(const char *s)
{
	int64_t v;

	assert_int_equal(strnum_i64(s, INT64_MIN, INT64_MAX, &v), 0);
	return v;
}

static uint64_t
arg_u64(const char *s)
{
	uint64_t v;

	assert_int_equal(strnum_u64(s, 0, UINT64_MAX, &v), 0);
	return v;
}

/* Run one typed read and print "= value", "= absent" or "! error". */
static void
run_getter(struct out *o, const struct cfg_node *map, struct directive *d)
{
	const char *op = d->argv[0], *key = d->argv[2];
	struct cfg_error err = { { 0 } };
	int r = -1;

	if (strcmp(op, "str") == 0) {
		const char *s = NULL;

		if ((r = cfg_get_str(map, key, &s, &err)) == 0 && s != NULL) {
			out_printf(o, "= ");
			out_quoted(o, s);
			out_printf(o, "\n");
			return;
		}
	} else if (strcmp(op, "bool") == 0) {
		bool b = false, def = false;

		if ((r = cfg_get_bool(map, key, &b, &err)) == 0 && cfg_get(map, key) != NULL) {
			out_printf(o, "= %s\n", b ? "true" : "false");
			return;
		}
		assert_true(b == def);
	} else if (strcmp(op, "u64") == 0 && d->argc == 5) {
		uint64_t v = 4242;

		if ((r = cfg_get_u64(map, key, arg_u64(d->argv[3]), arg_u64(d->argv[4]), &v,
				     &err)) == 0 && cfg_get(map, key) != NULL) {
			out_printf(o, "= %" PRIu64 "\n", v);
			return;
		}
		assert_int_equal(v, 4242);
	} else if (strcmp(op, "i64") == 0 && d->argc == 5) {
		int64_t v = 4242;

		if ((r = cfg_get_i64(map, key, arg_i64(d->argv[3]), arg_i64(d->argv[4]), &v,
				     &err)) == 0 && cfg_get(map, key) != NULL) {
			out_printf(o, "= %" PRId64 "\n", v);
			return;
		}
		assert_int_equal(v, 4242);
	} else if (strcmp(op, "double") == 0 && d->argc == 5) {
		double v = 42.5, lo, hi;

		assert_int_equal(strnum_double(d->argv[3], -1e300, 1e300, &lo), 0);
		assert_int_equal(strnum_double(d->argv[4], -1e300, 1e300, &hi), 0);
		if ((r = cfg_get_double(map, key, lo, hi, &v, &err)) == 0 &&
		    cfg_get(map, key) != NULL) {
			out_printf(o, "= %g\n", v);
			return;
		}
		assert_true(v == 42.5);
	} else if (strcmp(op, "duration") == 0 && d->argc == 5) {
		int64_t v = 4242;

		if ((r = cfg_get_duration(map, key, arg_i64(d->argv[3]), arg_i64(d->argv[4]), &v,
					  &err)) == 0 && cfg_get(map, key) != NULL) {
			out_printf(o, "= %" PRId64 "s\n", v);
			return;
		}
		assert_int_equal(v, 4242);
	} else if (strcmp(op, "map") == 0 || strcmp(op, "seq") == 0) {
		const struct cfg_node *n = NULL;

		r = op[0] == 'm' ? cfg_get_map(map, key, &n, &err) : cfg_get_seq(map, key, &n, &err);
		if (r == 0 && n != NULL) {
			out_printf(o, "= %s of %zu @%u:%u\n", op, cfg_len(n), cfg_line(n),
				   cfg_column(n));
			return;
		}
	} else {
		fail_msg("bad directive '%s' (argc %d)", op, d->argc);
	}
	if (r == 0)
		out_printf(o, "= absent\n");
	else
		out_printf(o, "! %d %s\n", r, err.msg);
}

static void
run_directive(struct out *o, const struct cfg_node *root, char *text)
{
	struct cfg_error err = { { 0 } };
	struct directive d;
	const struct cfg_node *map;
	int r;

	out_printf(o, "#> %s\n", text);
	split(text, &d);
	assert_true(d.argc >= 2);
	map = walk(root, d.argv[1]);
	if (strcmp(d.argv[0], "keys") == 0) {
		const char *allowed[MAX_ARGS + 1] = { NULL };

		for (int i = 2; i < d.argc; i++)
			allowed[i - 2] = d.argv[i];
		r = cfg_check_keys(map, allowed, &err);
		if (r == 0)
			out_printf(o, "= ok\n");
		else
			out_printf(o, "! %d %s\n", r, err.msg);
		return;
	}
	assert_true(d.argc >= 3);
	run_getter(o, map, &d);
}

/* Apply every "#> " line of the source, in order. */
static void
run_directives(struct out *o, const struct cfg_node *root, const char *src)
{
	for (const char *p = src; (p = strstr(p, "#> ")) != NULL;) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *line = strndup(p + 3, n - 3);

		assert_non_null(line);
		if (n > 3 && line[n - 4] == '\r')
			line[n - 4] = '\0';
		run_directive(o, root, line);
		free(line);
		p += n;
	}
}

/* ---- golden files ---- */

static char *
slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rbe");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

static void
golden_output(struct out *o, const char *name, const char *src, size_t len)
{
	struct cfg_error err = { { 0 } };
	struct cfg_doc *doc = NULL;
	int r;

	r = cfg_load_buffer(name, src, len, &doc, &err);
	if (r < 0) {
		assert_null(doc);
		out_printf(o, "error %d: %s\n", r, err.msg);
		return;
	}
	if (cfg_root(doc) == NULL)
		out_printf(o, "(empty document)\n");
	else
		dump(o, cfg_root(doc), 0);
	run_directives(o, cfg_root(doc), src);
	cfg_free(doc);
}

static int
golden_one(const char *dir, const char *name, bool regen)
{
	char in[1024], outpath[1024 + 8];
	struct out o = { 0 };
	size_t len, elen;
	char *src, *want;
	int bad = 0;

	assert_true((size_t)snprintf(in, sizeof(in), "%s/%s", dir, name) < sizeof(in));
	snprintf(outpath, sizeof(outpath), "%.*s.out", (int)(strlen(in) - 5), in);
	src = slurp(in, &len);
	assert_non_null(src);
	golden_output(&o, name, src, len);
	if (regen) {
		FILE *f = fopen(outpath, "we");

		assert_non_null(f);
		fwrite(o.p, 1, o.len, f);
		fclose(f);
	} else if ((want = slurp(outpath, &elen)) == NULL) {
		print_error("%s: missing %s\n", name, outpath);
		bad = 1;
	} else {
		if (elen != o.len || memcmp(want, o.p, elen) != 0) {
			print_error("%s: output differs\n--- expected\n%s--- got\n%s", name, want,
				    o.p);
			bad = 1;
		}
		free(want);
	}
	free(o.p);
	free(src);
	return bad;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_golden(void **state)
{
	const char *data = getenv("MOAT_TEST_DATA");
	bool regen = getenv("MOAT_CFG_REGEN") != NULL;
	char dir[1024], *names[256];
	size_t n = 0;
	struct dirent *de;
	int bad = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/cfg", data ? data : "data");
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL && n < 256) {
		size_t l = strlen(de->d_name);

		if (l > 5 && strcmp(de->d_name + l - 5, ".yaml") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	assert_true(n >= 20);
	for (size_t i = 0; i < n; i++) {
		bad += golden_one(dir, names[i], regen);
		free(names[i]);
	}
	assert_int_equal(bad, 0);
}

/* ---- C cases ---- */

static struct cfg_doc *
load_ok(const char *src)
{
	struct cfg_error err = { { 0 } };
	struct cfg_doc *doc = NULL;

	if (cfg_load_buffer("t.yaml", src, strlen(src), &doc, &err) < 0)
		fail_msg("unexpected error: %s", err.msg);
	return doc;
}

static void
expect_error(const char *src, size_t len, int want, const char *msg)
{
	struct cfg_error err = { { 0 } };
	struct cfg_doc *doc = (struct cfg_doc *)&err;	/* must stay untouched */

	assert_int_equal(cfg_load_buffer("t.yaml", src, len, &doc, &err), want);
	assert_ptr_equal(doc, (struct cfg_doc *)&err);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("message '%s' lacks '%s'", err.msg, msg);
}

static void
test_file_errors(void **state)
{
	char dir[] = "/tmp/test_cfg.XXXXXX", path[64];
	struct cfg_error err = { { 0 } };
	struct cfg_doc *doc = NULL;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none.yaml", dir);
	assert_int_equal(cfg_load_file(path, &doc, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "none.yaml: cannot open: "));
	assert_int_equal(cfg_load_file(dir, &doc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));

	/* A sparse file one byte over the cap is refused before it is read. */
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)LIMIT_CONFIG_BYTES + 1), 0);
	assert_int_equal(cfg_load_file(path, &doc, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "big.yaml: larger than"));
	assert_null(doc);

	/* A good file: nodes name the path they came from. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(write(fd, "a:\n  b: 1\n", 10), 10);
	close(fd);
	assert_int_equal(cfg_load_file(path, &doc, &err), 0);
	assert_string_equal(cfg_file(cfg_get(cfg_get(cfg_root(doc), "a"), "b")), path);
	assert_int_equal(cfg_line(cfg_get(cfg_get(cfg_root(doc), "a"), "b")), 2);
	assert_int_equal(cfg_column(cfg_get(cfg_get(cfg_root(doc), "a"), "b")), 6);
	cfg_free(doc);
	unlink(path);
	rmdir(dir);
}

static void
test_buffer_not_terminated(void **state)
{
	const char src[] = "a: 12345";	/* only "a: 12" is the document */
	struct cfg_error err;
	struct cfg_doc *doc = NULL;
	uint64_t v = 0;

	assert_int_equal(cfg_load_buffer("t", src, 5, &doc, &err), 0);
	assert_int_equal(cfg_get_u64(cfg_root(doc), "a", 0, 100, &v, &err), 0);
	assert_int_equal(v, 12);
	cfg_free(doc);
	cfg_free(NULL);
}

/* Nesting exactly at the cap loads; one more level is refused. */
static void
test_depth_cap(void **state)
{
	char buf[2 * (LIMIT_CONFIG_DEPTH + 1) + 1];
	struct cfg_doc *doc;

	for (unsigned depth = LIMIT_CONFIG_DEPTH; depth <= LIMIT_CONFIG_DEPTH + 1; depth++) {
		memset(buf, '[', depth);
		memset(buf + depth, ']', depth);
		buf[2 * depth] = '\0';
		if (depth == LIMIT_CONFIG_DEPTH) {
			doc = load_ok(buf);
			assert_int_equal(cfg_kind(cfg_root(doc)), CFG_SEQ);
			cfg_free(doc);
		} else {
			expect_error(buf, strlen(buf), -EINVAL, "t.yaml:1:33: nested deeper than 32");
		}
	}
}

static void
test_huge_scalar(void **state)
{
	size_t n = LIMIT_CONFIG_SCALAR + 1;
	char *buf = malloc(n + 4);
	struct cfg_doc *doc;

	assert_non_null(buf);
	memcpy(buf, "k: ", 3);
	memset(buf + 3, 'x', n);
	expect_error(buf, n + 3, -EINVAL, "t.yaml:1:4: value longer than 1048576 bytes");
	buf[3 + LIMIT_CONFIG_SCALAR] = '\0';	/* exactly at the cap */
	doc = load_ok(buf);
	assert_int_equal(strlen(cfg_scalar(cfg_get(cfg_root(doc), "k"))), LIMIT_CONFIG_SCALAR);
	cfg_free(doc);
	free(buf);
}

/* A big map is indexed, and its first repeated key is found by position. */
static void
test_big_map_duplicate(void **state)
{
	enum { N = 50000 };
	struct out o = { 0 };
	struct cfg_doc *doc;
	const struct cfg_node *v;
	uint64_t x = 0;

	for (unsigned i = 0; i < N; i++)
		out_printf(&o, "k%u: %u\n", (i * 7919u) % N, i);
	doc = load_ok(o.p);
	assert_int_equal(cfg_len(cfg_root(doc)), N);
	v = cfg_get(cfg_root(doc), "k7919");
	assert_non_null(v);
	assert_int_equal(cfg_get_u64(cfg_root(doc), "k7919", 0, N, &x, NULL), 0);
	assert_int_equal(x, 1);
	assert_null(cfg_get(cfg_root(doc), "k50000"));
	cfg_free(doc);
	out_printf(&o, "k3: dup\nk1: dup\n");
	expect_error(o.p, o.len, -EINVAL, "t.yaml:50001:1: duplicate key 'k3' (first at line ");
	free(o.p);
}

static void
test_null_and_absent(void **state)
{
	static const char *const keys[] = { "a", NULL };
	struct cfg_error err = { { 0 } };
	struct cfg_doc *doc = load_ok("a: [1, 2]\n");
	const struct cfg_node *root = cfg_root(doc), *n = root;
	const char *s = "default";
	uint64_t u = 7;

	/* A NULL map (absent section) reads as all-absent. */
	assert_null(cfg_get(NULL, "a"));
	assert_int_equal(cfg_len(NULL), 0);
	assert_null(cfg_scalar(NULL));
	assert_int_equal(cfg_check_keys(NULL, keys, &err), 0);
	assert_int_equal(cfg_get_u64(NULL, "a", 0, 1, &u, &err), 0);
	assert_int_equal(cfg_get_str(root, "b", &s, &err), 0);
	assert_string_equal(s, "default");
	assert_int_equal(u, 7);
	/* Wrong-kind accessors return NULL/0 rather than misreading. */
	assert_null(cfg_seq_at(root, 0));
	assert_null(cfg_map_key_at(cfg_get(root, "a"), 0));
	assert_null(cfg_seq_at(cfg_get(root, "a"), 2));
	assert_null(cfg_get(cfg_get(root, "a"), "0"));
	/* Present but wrong: error, output untouched. */
	assert_int_equal(cfg_get_map(root, "a", &n, &err), -EINVAL);
	assert_ptr_equal(n, root);
	assert_string_equal(err.msg, "t.yaml:1:4: a: expected a map, got a sequence");
	assert_int_equal(cfg_get_str(root, "a", &s, NULL), -EINVAL);
	assert_string_equal(s, "default");
	cfg_free(doc);
}

static void
test_fail_format(void **state)
{
	struct cfg_error err;
	struct cfg_doc *doc = load_ok("x:\n  - y\n");
	const struct cfg_node *y = cfg_seq_at(cfg_get(cfg_root(doc), "x"), 0);
	char longtext[600];

	assert_int_equal(cfg_fail(&err, y, "bad %s #%d", "thing", 3), -EINVAL);
	assert_string_equal(err.msg, "t.yaml:2:5: bad thing #3");
	assert_int_equal(cfg_fail(&err, NULL, "no node"), -EINVAL);
	assert_string_equal(err.msg, "no node");
	assert_int_equal(cfg_fail(NULL, y, "nowhere"), -EINVAL);
	/* Over-long text is cut, still NUL-terminated, position kept. */
	memset(longtext, 'z', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	cfg_fail(&err, y, "%s", longtext);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	assert_memory_equal(err.msg, "t.yaml:2:5: zzz", 15);
	cfg_free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_buffer_not_terminated),
		cmocka_unit_test(test_depth_cap),
		cmocka_unit_test(test_huge_scalar),
		cmocka_unit_test(test_big_map_duplicate),
		cmocka_unit_test(test_null_and_absent),
		cmocka_unit_test(test_fail_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
