#include "cli/outfmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct outfmt_table {
	size_t ncols;
	char **cells;	   /* rows * ncols, row-major; row 0 is the header */
	size_t rows;	   /* including the header row when there is one */
	size_t cap;	   /* rows allocated */
	bool header;
	bool *right;	   /* per column */
};

/* Copy s, replacing control characters (C0, DEL) by '?'. */
static char *
outfmt_clean(const char *s)
{
	char *c, *p;

	if ((c = strdup(s ? s : "-")) == NULL)
		return NULL;
	for (p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

/* Display width: UTF-8 code points. */
static size_t
outfmt_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static int
outfmt_table_push(struct outfmt_table *t, const char *const *cells)
{
	char **nc;
	size_t cap, i;

	if (t->rows == t->cap) {
		cap = t->cap ? t->cap * 2 : 16;
		if ((nc = reallocarray(t->cells, cap, t->ncols * sizeof(*nc))) == NULL)
			return -ENOMEM;
		t->cells = nc;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++) {
		if ((t->cells[t->rows * t->ncols + i] = outfmt_clean(cells[i])) == NULL) {
			while (i-- > 0)
				free(t->cells[t->rows * t->ncols + i]);
			return -ENOMEM;
		}
	}
	t->rows++;
	return 0;
}

struct outfmt_table *
outfmt_table_new(size_t ncols, const char *const *headers)
{
	struct outfmt_table *t;

	if (ncols == 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ncols = ncols;
	if ((t->right = calloc(ncols, sizeof(*t->right))) == NULL)
		goto fail;
	if (headers != NULL) {
		if (outfmt_table_push(t, headers) < 0)
			goto fail;
		t->header = true;
	}
	return t;
fail:
	outfmt_table_free(t);
	return NULL;
}

void
outfmt_table_align_right(struct outfmt_table *t, size_t col)
{
	if (col < t->ncols)
		t->right[col] = true;
}

int
outfmt_table_add(struct outfmt_table *t, const char *const *cells)
{
	return outfmt_table_push(t, cells);
}

size_t
outfmt_table_rows(const struct outfmt_table *t)
{
	return t->rows - (t->header ? 1 : 0);
}

void
outfmt_table_print(const struct outfmt_table *t, FILE *f)
{
	size_t *w, r, c, cw;
	const char *cell;

	if ((w = calloc(t->ncols, sizeof(*w))) == NULL)
		return;
	for (r = 0; r < t->rows; r++)
		for (c = 0; c < t->ncols; c++)
			if ((cw = outfmt_width(t->cells[r * t->ncols + c])) > w[c])
				w[c] = cw;
	for (r = 0; r < t->rows; r++) {
		for (c = 0; c < t->ncols; c++) {
			cell = t->cells[r * t->ncols + c];
			cw = outfmt_width(cell);
			if (c > 0)
				fputs("  ", f);
			if (t->right[c])
				fprintf(f, "%*s%s", (int)(w[c] - cw), "", cell);
			else if (c + 1 < t->ncols)
				fprintf(f, "%s%*s", cell, (int)(w[c] - cw), "");
			else
				fputs(cell, f);
		}
		fputc('\n', f);
	}
	free(w);
}

void
outfmt_table_free(struct outfmt_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->rows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->right);
	free(t);
}

void
outfmt_time(char *buf, size_t len, double unix_s, bool frac)
{
	time_t s;
	struct tm tm;
	char tmp[32];
	int ms;

	/* 0 is how the API says "never" (an input that saw no packet yet). */
	if (!(unix_s > 0 && unix_s < 253402300800.0)) {	/* year 10000 */
		snprintf(buf, len, "-");
		return;
	}
	s = (time_t)unix_s;
	ms = (int)((unix_s - (double)s) * 1000.0);
	gmtime_r(&s, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%d %H:%M:%S", &tm);
	if (frac)
		snprintf(buf, len, "%s.%03d", tmp, ms < 0 ? 0 : ms > 999 ? 999 : ms);
	else
		snprintf(buf, len, "%s", tmp);
}

void
outfmt_duration(char *buf, size_t len, int64_t secs)
{
	static const struct { char unit; int64_t secs; } u[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	size_t i;

	if (secs < 0) {
		snprintf(buf, len, "-");
		return;
	}
	for (i = 0; i + 1 < sizeof(u) / sizeof(u[0]) && secs < u[i].secs; i++)
		;
	if (i + 1 == sizeof(u) / sizeof(u[0]))
		snprintf(buf, len, "%llds", (long long)secs);
	else if ((secs % u[i].secs) / u[i + 1].secs == 0)
		snprintf(buf, len, "%lld%c", (long long)(secs / u[i].secs), u[i].unit);
	else
		snprintf(buf, len, "%lld%c%lld%c", (long long)(secs / u[i].secs), u[i].unit,
		    (long long)((secs % u[i].secs) / u[i + 1].secs), u[i + 1].unit);
}

void
outfmt_si(char *buf, size_t len, uint64_t v)
{
	static const char suffix[] = "kMGTPE";
	double d = (double)v;
	size_t i = 0;

	if (v < 10000) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return;
	}
	d /= 1000.0;
	while (d >= 1000.0 && i + 1 < sizeof(suffix) - 1) {
		d /= 1000.0;
		i++;
	}
	snprintf(buf, len, d < 10.0 ? "%.1f%c" : "%.0f%c", d, suffix[i]);
}

const json_t *
outfmt_json_path(const json_t *obj, const char *path)
{
	const char *dot;
	char key[128];
	size_t n;

	while (obj != NULL && (dot = strchr(path, '.')) != NULL) {
		if ((n = (size_t)(dot - path)) >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		obj = json_object_get(obj, key);
		path = dot + 1;
	}
	return json_object_get(obj, path);
}

void
outfmt_json_join(char *buf, size_t len, const json_t *arr, size_t max)
{
	size_t i, off = 0, n = json_array_size(arr);
	char item[128];
	const json_t *v;
	int w;

	snprintf(buf, len, "-");
	json_array_foreach(arr, i, v) {
		if (i == max) {
			snprintf(buf + off, len - off, " +%zu more", n - max);
			return;
		}
		outfmt_json_value(item, sizeof(item), v, OUTFMT_STR);
		w = snprintf(buf + off, len - off, "%s%s", i ? "," : "", item);
		if (w < 0 || (size_t)w >= len - off)
			return;
		off += (size_t)w;
	}
}

/* v as compact JSON, ending in "..." when it does not fit; null stays "-". */
static void
outfmt_json_compact(char *buf, size_t len, const json_t *v)
{
	char *s;

	if (v == NULL || json_is_null(v) || len < 4 ||
	    (s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS)) == NULL)
		return;
	if (strlen(s) < len)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "%.*s...", (int)(len - 4), s);
	free(s);
}

void
outfmt_json_value(char *buf, size_t len, const json_t *v, enum outfmt_kind kind)
{
	snprintf(buf, len, "-");
	if (kind == OUTFMT_LIST) {
		outfmt_json_join(buf, len, v, 3);
		return;
	}
	if (kind == OUTFMT_JSON) {
		outfmt_json_compact(buf, len, v);
		return;
	}
	if (json_is_string(v)) {
		snprintf(buf, len, "%s", json_string_value(v));
		return;
	}
	if (json_is_boolean(v)) {
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
		return;
	}
	if (!json_is_number(v))
		return;
	switch (kind) {
	case OUTFMT_SI:
		if (json_number_value(v) >= 0 && json_number_value(v) < 1.8e19)
			outfmt_si(buf, len, (uint64_t)json_number_value(v));
		break;
	case OUTFMT_FLOAT:
		snprintf(buf, len, "%.2f", json_number_value(v));
		break;
	case OUTFMT_TIME:
	case OUTFMT_TIME_MS:
		outfmt_time(buf, len, json_number_value(v), kind == OUTFMT_TIME_MS);
		break;
	case OUTFMT_DURATION:
		if (json_number_value(v) < 9.2e18)
			outfmt_duration(buf, len, (int64_t)json_number_value(v));
		break;
	default:
		if (json_is_integer(v))
			snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		else
			snprintf(buf, len, "%g", json_number_value(v));
		break;
	}
}

static bool
outfmt_kind_is_numeric(enum outfmt_kind k)
{
	return k == OUTFMT_INT || k == OUTFMT_SI || k == OUTFMT_FLOAT;
}

size_t
outfmt_json_table(FILE *f, const json_t *rows, const struct outfmt_col *cols,
    size_t ncols, const char *empty)
{
	const char **hdr = NULL, **cell = NULL;
	struct outfmt_table *t = NULL;
	char (*buf)[256] = NULL;
	const json_t *row;
	size_t i, c, n = 0;

	if ((hdr = calloc(ncols, sizeof(*hdr))) == NULL ||
	    (cell = calloc(ncols, sizeof(*cell))) == NULL ||
	    (buf = calloc(ncols, sizeof(*buf))) == NULL)
		goto out;
	for (c = 0; c < ncols; c++) {
		hdr[c] = cols[c].header;
		cell[c] = buf[c];
	}
	if ((t = outfmt_table_new(ncols, hdr)) == NULL)
		goto out;
	for (c = 0; c < ncols; c++)
		if (outfmt_kind_is_numeric(cols[c].kind))
			outfmt_table_align_right(t, c);
	json_array_foreach(rows, i, row) {
		for (c = 0; c < ncols; c++)
			outfmt_json_value(buf[c], sizeof(buf[c]),
			    outfmt_json_path(row, cols[c].path), cols[c].kind);
		if (outfmt_table_add(t, cell) < 0)
			break;
	}
	n = outfmt_table_rows(t);
	if (n > 0)
		outfmt_table_print(t, f);
	else if (empty != NULL)
		fprintf(f, "%s\n", empty);
out:
	outfmt_table_free(t);
	free(buf);
	free(cell);
	free(hdr);
	return n;
}
