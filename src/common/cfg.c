/*
 * cfg: YAML configuration reader (see cfg.h for the contract).
 *
 * The loader consumes libyaml's event stream rather than its document API so
 * that every refusal (aliases, tags, depth, size) happens as the event
 * arrives, before anything is expanded or allocated for it. Containers are
 * attached to their parent when they open, so the partial tree is always
 * owned by the document and an error path frees one tree.
 */
#include "common/cfg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "common/fileio.h"
#include "common/limits.h"
#include "common/strnum.h"

struct cfg_entry {
	char *key;
	unsigned line, col;		/* of the key */
	struct cfg_node *val;
};

struct cfg_node {
	const struct cfg_doc *doc;
	enum cfg_kind kind;
	unsigned line, col;
	size_t n, cap;			/* entries of a map or sequence */
	union {
		char *str;			/* CFG_SCALAR */
		struct cfg_node **items;	/* CFG_SEQ */
		struct cfg_entry *ents;		/* CFG_MAP, document order */
	} u;
	struct cfg_entry **sorted;	/* CFG_MAP: by key, for cfg_get() */
};

struct cfg_doc {
	char *name;
	struct cfg_node *root;
};

/* One open container while loading, with a map's key awaiting its value. */
struct frame {
	struct cfg_node *node;
	char *key;
	unsigned key_line, key_col;
};

struct loader {
	yaml_parser_t parser;
	struct cfg_doc *doc;
	struct cfg_error *err;
	const char *buf;
	size_t len;
	struct frame stack[LIMIT_CONFIG_DEPTH];
	unsigned depth;
	size_t nodes;
	unsigned documents;
	bool done;
};

/* Longest excerpt of user text quoted in a message. */
#define QUOTE_MAX 48

/* ---- error messages ---- */

static int __attribute__((format(printf, 5, 0)))
verr_at(struct cfg_error *err, const char *file, unsigned line, unsigned col, const char *fmt,
	va_list ap)
{
	int n = 0;

	if (err == NULL)
		return -EINVAL;
	if (file != NULL && line > 0)
		n = snprintf(err->msg, sizeof(err->msg), "%s:%u:%u: ", file, line, col);
	else if (file != NULL)
		n = snprintf(err->msg, sizeof(err->msg), "%s: ", file);
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		n = 0;
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	return -EINVAL;
}

static int __attribute__((format(printf, 5, 6)))
err_at(struct cfg_error *err, const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_at(err, file, line, col, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int
out_of_memory(struct cfg_error *err, const char *file, unsigned line, unsigned col)
{
	err_at(err, file, line, col, "out of memory");
	return -ENOMEM;
}

int
cfg_fail(struct cfg_error *err, const struct cfg_node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (n != NULL)
		verr_at(err, n->doc->name, n->line, n->col, fmt, ap);
	else
		verr_at(err, NULL, 0, 0, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * Copy user text into a message safely: at most QUOTE_MAX bytes, control
 * characters shown as '?', "..." when cut (at a character boundary).
 */
static const char *
excerpt(char dst[QUOTE_MAX + 4], const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < QUOTE_MAX; i++)
		dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i] != '\0') {
		/* Cut at a character boundary, not inside a UTF-8 sequence. */
		while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
			i--;
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
	return dst;
}

static const char *
kind_name(enum cfg_kind k)
{
	static const char *const names[] = {
		[CFG_SCALAR] = "a scalar", [CFG_MAP] = "a map", [CFG_SEQ] = "a sequence",
	};

	return names[k];
}

/* ", got 'text'" / ", got nothing" / ", got a map" for an unexpected value. */
static const char *
got_what(char *dst, size_t len, const struct cfg_node *v)
{
	char q[QUOTE_MAX + 4];

	if (v->kind != CFG_SCALAR)
		snprintf(dst, len, ", got %s", kind_name(v->kind));
	else if (v->u.str[0] == '\0')
		snprintf(dst, len, ", got nothing");
	else
		snprintf(dst, len, ", got '%s'", excerpt(q, v->u.str));
	return dst;
}

/* ---- tree ---- */

static void
node_free(struct cfg_node *n)
{
	if (n == NULL)
		return;
	switch (n->kind) {
	case CFG_SCALAR:
		free(n->u.str);
		break;
	case CFG_SEQ:
		for (size_t i = 0; i < n->n; i++)
			node_free(n->u.items[i]);
		free(n->u.items);
		break;
	case CFG_MAP:
		for (size_t i = 0; i < n->n; i++) {
			free(n->u.ents[i].key);
			node_free(n->u.ents[i].val);
		}
		free(n->u.ents);
		free(n->sorted);
		break;
	}
	free(n);
}

void
cfg_free(struct cfg_doc *doc)
{
	if (doc == NULL)
		return;
	node_free(doc->root);
	free(doc->name);
	free(doc);
}

/*
 * Make room for entry n of an array of `size`-byte entries with *cap slots:
 * returns the (possibly moved) array, or NULL with the old one intact.
 */
static void *
grow(void *arr, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *q;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 4;
	if (ncap > SIZE_MAX / size || (q = realloc(arr, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return q;
}

/* ---- loading ---- */

static unsigned
mark_pos(size_t v)
{
	return v >= UINT32_MAX ? UINT32_MAX : (unsigned)v + 1;
}

static int
load_fail(struct loader *l, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
load_fail(struct loader *l, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_at(l->err, l->doc->name, mark_pos(m->line), mark_pos(m->column), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * Byte offset of the 0-based (line, column) in the UTF-8 input, or len when
 * it is past the end. libyaml counts columns in characters.
 */
static size_t
offset_of(const struct loader *l, size_t line, size_t column)
{
	size_t off = 0;

	while (line > 0 && off < l->len) {
		if (l->buf[off++] == '\n')
			line--;
	}
	while (off < l->len && l->buf[off] != '\n') {
		if (((unsigned char)l->buf[off] & 0xc0) != 0x80 && column-- == 0)
			break;
		off++;
	}
	return off;
}

/* 0-based (line, column) of a byte offset, for reader errors. */
static void
position_of(const struct loader *l, size_t offset, yaml_mark_t *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < offset && i < l->len; i++) {
		if (l->buf[i] == '\n') {
			m->line++;
			m->column = 0;
		} else if (((unsigned char)l->buf[i] & 0xc0) != 0x80) {
			m->column++;
		}
	}
}

/* Turn libyaml's error state into "FILE:LINE:COL: ..." with a hint for tabs. */
static int
syntax_error(struct loader *l)
{
	const yaml_parser_t *p = &l->parser;
	const char *problem = p->problem ? p->problem : "malformed YAML";
	yaml_mark_t m = p->problem_mark;
	size_t off;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		err_at(l->err, l->doc->name, 0, 0, "out of memory");
		return -ENOMEM;
	case YAML_READER_ERROR:
		position_of(l, p->problem_offset, &m);
		if (p->problem_value >= 0)
			return load_fail(l, &m, "%s (0x%x); expected UTF-8 text", problem,
					 (unsigned)p->problem_value);
		return load_fail(l, &m, "%s", problem);
	default:
		break;
	}
	off = offset_of(l, m.line, m.column);
	if (off < l->len && l->buf[off] == '\t')
		return load_fail(l, &m, "tab character; YAML indents with spaces only");
	if (p->context != NULL)
		return load_fail(l, &m, "%s (%s at line %u, column %u)", problem, p->context,
				 mark_pos(p->context_mark.line), mark_pos(p->context_mark.column));
	return load_fail(l, &m, "%s", problem);
}

/* Refuse anchors and tags on a node event; they have no place in a config. */
static int
check_props(struct loader *l, const yaml_event_t *ev, const yaml_char_t *anchor,
	    const yaml_char_t *tag)
{
	if (anchor != NULL)
		return load_fail(l, &ev->start_mark,
				 "anchors (&%.40s) are not allowed; write the value out", anchor);
	if (tag != NULL)
		return load_fail(l, &ev->start_mark, "tags (%.40s) are not allowed", tag);
	return 0;
}

static struct cfg_node *
node_new(struct loader *l, const yaml_event_t *ev, enum cfg_kind kind)
{
	struct cfg_node *n;

	if (++l->nodes > LIMIT_CONFIG_NODES) {
		load_fail(l, &ev->start_mark, "more than %u values in one file", LIMIT_CONFIG_NODES);
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		load_fail(l, &ev->start_mark, "out of memory");
		return NULL;
	}
	n->doc = l->doc;
	n->kind = kind;
	n->line = mark_pos(ev->start_mark.line);
	n->col = mark_pos(ev->start_mark.column);
	return n;
}

/* Copy a scalar's text, refusing embedded NULs and oversized values. */
static char *
scalar_dup(struct loader *l, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	char *s;

	if (len > LIMIT_CONFIG_SCALAR) {
		load_fail(l, &ev->start_mark, "value longer than %u bytes", LIMIT_CONFIG_SCALAR);
		return NULL;
	}
	if (memchr(v, '\0', len) != NULL) {
		load_fail(l, &ev->start_mark, "NUL character in a value");
		return NULL;
	}
	if ((s = malloc(len + 1)) == NULL) {
		load_fail(l, &ev->start_mark, "out of memory");
		return NULL;
	}
	memcpy(s, v, len);
	s[len] = '\0';
	return s;
}

/*
 * Hang node n (already counted) under the innermost open container, or make
 * it the root. Takes ownership of n even on failure.
 */
static int
attach(struct loader *l, struct cfg_node *n)
{
	struct frame *f;
	struct cfg_node *parent;
	void *arr;

	if (l->depth == 0) {
		l->doc->root = n;
		return 0;
	}
	f = &l->stack[l->depth - 1];
	parent = f->node;
	if (parent->kind == CFG_SEQ) {
		if ((arr = grow(parent->u.items, parent->n, &parent->cap,
				sizeof(*parent->u.items))) == NULL)
			goto nomem;
		parent->u.items = arr;
		parent->u.items[parent->n++] = n;
		return 0;
	}
	if ((arr = grow(parent->u.ents, parent->n, &parent->cap, sizeof(*parent->u.ents))) == NULL)
		goto nomem;
	parent->u.ents = arr;
	parent->u.ents[parent->n++] = (struct cfg_entry){
		.key = f->key, .line = f->key_line, .col = f->key_col, .val = n,
	};
	f->key = NULL;
	return 0;
nomem:
	err_at(l->err, l->doc->name, n->line, n->col, "out of memory");
	node_free(n);
	return -ENOMEM;
}

/* True when the innermost open container is a map waiting for a key. */
static bool
wants_key(const struct loader *l)
{
	const struct frame *f;

	if (l->depth == 0)
		return false;
	f = &l->stack[l->depth - 1];
	return f->node->kind == CFG_MAP && f->key == NULL;
}

static int
on_scalar(struct loader *l, const yaml_event_t *ev)
{
	struct frame *f;
	struct cfg_node *n;
	char *s;
	int r;

	if ((r = check_props(l, ev, ev->data.scalar.anchor, ev->data.scalar.tag)) < 0)
		return r;
	if ((s = scalar_dup(l, ev)) == NULL)
		return -EINVAL;
	if (wants_key(l)) {
		if (++l->nodes > LIMIT_CONFIG_NODES) {
			free(s);
			return load_fail(l, &ev->start_mark, "more than %u values in one file",
					 LIMIT_CONFIG_NODES);
		}
		f = &l->stack[l->depth - 1];
		f->key = s;
		f->key_line = mark_pos(ev->start_mark.line);
		f->key_col = mark_pos(ev->start_mark.column);
		return 0;
	}
	if ((n = node_new(l, ev, CFG_SCALAR)) == NULL) {
		free(s);
		return -EINVAL;
	}
	n->u.str = s;
	return attach(l, n);
}

static int
on_open(struct loader *l, const yaml_event_t *ev, enum cfg_kind kind)
{
	const yaml_char_t *anchor, *tag;
	struct cfg_node *n;
	int r;

	if (kind == CFG_MAP) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	} else {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	}
	if ((r = check_props(l, ev, anchor, tag)) < 0)
		return r;
	if (wants_key(l))
		return load_fail(l, &ev->start_mark, "expected a plain key, got %s",
				 kind_name(kind));
	if (l->depth >= LIMIT_CONFIG_DEPTH)
		return load_fail(l, &ev->start_mark, "nested deeper than %u levels",
				 LIMIT_CONFIG_DEPTH);
	if ((n = node_new(l, ev, kind)) == NULL)
		return -EINVAL;
	if ((r = attach(l, n)) < 0)
		return r;
	l->stack[l->depth++] = (struct frame){ .node = n };
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct cfg_entry *x = *(const struct cfg_entry *const *)a;
	const struct cfg_entry *y = *(const struct cfg_entry *const *)b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return (x > y) - (x < y);	/* ties in document order */
}

/*
 * Index a finished map by key and refuse duplicates, reporting the earliest
 * second occurrence in the document. O(n log n), so a huge map is no trap.
 */
static int
map_finish(struct loader *l, struct cfg_node *map)
{
	const struct cfg_entry *dup = NULL, *first = NULL, *run = NULL;

	if (map->n == 0)
		return 0;
	if ((map->sorted = malloc(map->n * sizeof(*map->sorted))) == NULL)
		return out_of_memory(l->err, l->doc->name, map->line, map->col);
	for (size_t i = 0; i < map->n; i++)
		map->sorted[i] = &map->u.ents[i];
	qsort(map->sorted, map->n, sizeof(*map->sorted), entry_cmp);
	for (size_t i = 0; i < map->n; i++) {
		const struct cfg_entry *e = map->sorted[i];

		if (run == NULL || strcmp(run->key, e->key) != 0) {
			run = e;
			continue;
		}
		if (dup == NULL || e < dup) {
			dup = e;
			first = run;
		}
	}
	if (dup != NULL) {
		char q[QUOTE_MAX + 4];

		return err_at(l->err, l->doc->name, dup->line, dup->col,
			      "duplicate key '%s' (first at line %u, column %u)",
			      excerpt(q, dup->key), first->line, first->col);
	}
	return 0;
}

static int
on_close(struct loader *l)
{
	struct frame *f = &l->stack[--l->depth];

	if (f->node->kind == CFG_MAP)
		return map_finish(l, f->node);
	return 0;
}

static int
on_document_start(struct loader *l, const yaml_event_t *ev)
{
	if (l->documents++ > 0)
		return load_fail(l, &ev->start_mark,
				 "expected a single document, found a second one");
	return 0;
}

static int
on_event(struct loader *l, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_NO_EVENT:
		return 0;
	case YAML_STREAM_END_EVENT:
		l->done = true;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		return on_document_start(l, ev);
	case YAML_ALIAS_EVENT:
		return load_fail(l, &ev->start_mark,
				 "aliases (*%.40s) are not allowed; write the value out",
				 ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		return on_scalar(l, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_open(l, ev, CFG_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_open(l, ev, CFG_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_close(l);
	}
	return 0;
}

static void
loader_release(struct loader *l)
{
	for (unsigned i = 0; i < l->depth; i++)
		free(l->stack[i].key);
	yaml_parser_delete(&l->parser);
}

/* A document whose only content is an empty plain scalar ("---") is empty. */
static void
drop_null_root(struct cfg_doc *doc)
{
	struct cfg_node *r = doc->root;

	if (r != NULL && r->kind == CFG_SCALAR && r->u.str[0] == '\0') {
		node_free(r);
		doc->root = NULL;
	}
}

static int
run_parser(struct loader *l)
{
	yaml_event_t ev;
	int r;

	while (!l->done) {
		if (!yaml_parser_parse(&l->parser, &ev))
			return syntax_error(l);
		r = on_event(l, &ev);
		yaml_event_delete(&ev);
		if (r < 0)
			return r;
	}
	return 0;
}

int
cfg_load_buffer(const char *name, const char *buf, size_t len, struct cfg_doc **ret,
		struct cfg_error *err)
{
	struct cfg_error dummy;
	struct loader l = { .err = err ? err : &dummy, .buf = buf, .len = len };
	int r;

	if (name == NULL)
		name = "<config>";
	if (len > LIMIT_CONFIG_BYTES) {
		err_at(l.err, name, 0, 0, "larger than %u bytes", LIMIT_CONFIG_BYTES);
		return -EFBIG;
	}
	if ((l.doc = calloc(1, sizeof(*l.doc))) == NULL ||
	    (l.doc->name = strdup(name)) == NULL) {
		free(l.doc);
		return out_of_memory(l.err, name, 0, 0);
	}
	if (!yaml_parser_initialize(&l.parser)) {
		cfg_free(l.doc);
		return out_of_memory(l.err, name, 0, 0);
	}
	/* UTF-8 only: positions are computed on the bytes as UTF-8, and a
	 * config is never UTF-16. A UTF-8 byte order mark is still skipped. */
	yaml_parser_set_encoding(&l.parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)buf, len);
	r = run_parser(&l);
	loader_release(&l);
	if (r < 0) {
		cfg_free(l.doc);
		return r;
	}
	drop_null_root(l.doc);
	*ret = l.doc;
	return 0;
}

/* Read a whole regular file of at most LIMIT_CONFIG_BYTES into *ret_buf. */
static int
read_file(const char *path, char **ret_buf, size_t *ret_len, struct cfg_error *err)
{
	int r = fileio_read(path, LIMIT_CONFIG_BYTES, 0, ret_buf, ret_len);

	if (r == -EFBIG)
		err_at(err, path, 0, 0, "larger than %u bytes", LIMIT_CONFIG_BYTES);
	else if (r == -EINVAL)
		err_at(err, path, 0, 0, "not a regular file");
	else if (r < 0)
		err_at(err, path, 0, 0, "cannot open: %s", strerror(-r));
	return r;
}

int
cfg_load_file(const char *path, struct cfg_doc **ret, struct cfg_error *err)
{
	struct cfg_error dummy;
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (err == NULL)
		err = &dummy;
	if ((r = read_file(path, &buf, &len, err)) < 0)
		return r;
	r = cfg_load_buffer(path, buf, len, ret, err);
	free(buf);
	return r;
}

/* ---- accessors ---- */

const struct cfg_node *
cfg_root(const struct cfg_doc *doc)
{
	return doc ? doc->root : NULL;
}

enum cfg_kind
cfg_kind(const struct cfg_node *n)
{
	return n->kind;
}

unsigned
cfg_line(const struct cfg_node *n)
{
	return n->line;
}

unsigned
cfg_column(const struct cfg_node *n)
{
	return n->col;
}

const char *
cfg_file(const struct cfg_node *n)
{
	return n->doc->name;
}

const char *
cfg_scalar(const struct cfg_node *n)
{
	return n != NULL && n->kind == CFG_SCALAR ? n->u.str : NULL;
}

size_t
cfg_len(const struct cfg_node *n)
{
	return n != NULL && n->kind != CFG_SCALAR ? n->n : 0;
}

const struct cfg_node *
cfg_seq_at(const struct cfg_node *seq, size_t i)
{
	if (seq == NULL || seq->kind != CFG_SEQ || i >= seq->n)
		return NULL;
	return seq->u.items[i];
}

const char *
cfg_map_key_at(const struct cfg_node *map, size_t i)
{
	if (map == NULL || map->kind != CFG_MAP || i >= map->n)
		return NULL;
	return map->u.ents[i].key;
}

const struct cfg_node *
cfg_map_val_at(const struct cfg_node *map, size_t i)
{
	if (map == NULL || map->kind != CFG_MAP || i >= map->n)
		return NULL;
	return map->u.ents[i].val;
}

static int
key_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct cfg_entry *const *)elem)->key);
}

const struct cfg_node *
cfg_get(const struct cfg_node *map, const char *key)
{
	struct cfg_entry *const *e;

	if (map == NULL || map->kind != CFG_MAP || map->n == 0 || key == NULL)
		return NULL;
	e = bsearch(key, map->sorted, map->n, sizeof(*map->sorted), key_cmp);
	return e ? (*e)->val : NULL;
}

static bool
key_allowed(const char *key, const char *const *allowed)
{
	for (size_t i = 0; allowed[i] != NULL; i++) {
		if (strcmp(key, allowed[i]) == 0)
			return true;
	}
	return false;
}

/* "a, b, c" into dst, cut with "..." when the list is longer than dst. */
static void
join_keys(char *dst, size_t len, const char *const *allowed)
{
	size_t off = 0;
	int n;

	dst[0] = '\0';
	for (size_t i = 0; allowed[i] != NULL; i++) {
		n = snprintf(dst + off, len - off, "%s%s", i ? ", " : "", allowed[i]);
		if (n < 0 || (size_t)n >= len - off) {
			if (len > 4)
				memcpy(dst + len - 4, "...", 4);
			return;
		}
		off += (size_t)n;
	}
}

int
cfg_check_keys(const struct cfg_node *map, const char *const *allowed, struct cfg_error *err)
{
	char list[384], q[QUOTE_MAX + 4];

	if (map == NULL)
		return 0;
	if (map->kind != CFG_MAP)
		return cfg_fail(err, map, "expected a map, got %s", kind_name(map->kind));
	for (size_t i = 0; i < map->n; i++) {
		const struct cfg_entry *e = &map->u.ents[i];

		if (key_allowed(e->key, allowed))
			continue;
		join_keys(list, sizeof(list), allowed);
		return err_at(err, map->doc->name, e->line, e->col,
			      "unknown key '%s'; expected one of: %s", excerpt(q, e->key), list);
	}
	return 0;
}

static int
bad_value(const struct cfg_node *v, const char *key, const char *what, struct cfg_error *err)
{
	char got[QUOTE_MAX + 32];

	return cfg_fail(err, v, "%s: expected %s%s", key, what, got_what(got, sizeof(got), v));
}

/*
 * The scalar node map[key] for a typed read: 0 with *ret_v NULL when absent,
 * 0 with the node, or -EINVAL with "key: expected <what>, got a map" when the
 * value is a map or sequence.
 */
static int
scalar_of(const struct cfg_node *map, const char *key, const char *what,
	  const struct cfg_node **ret_v, struct cfg_error *err)
{
	const struct cfg_node *v = cfg_get(map, key);

	*ret_v = v;
	if (v == NULL || v->kind == CFG_SCALAR)
		return 0;
	return bad_value(v, key, what, err);
}

int
cfg_get_str(const struct cfg_node *map, const char *key, const char **ret,
	    struct cfg_error *err)
{
	const struct cfg_node *v;
	int r;

	if ((r = scalar_of(map, key, "a string", &v, err)) < 0 || v == NULL)
		return r;
	*ret = v->u.str;
	return 0;
}

int
cfg_get_bool(const struct cfg_node *map, const char *key, bool *ret, struct cfg_error *err)
{
	static const struct { const char *word; bool val; } words[] = {
		{ "true", true }, { "yes", true }, { "false", false }, { "no", false },
	};
	static const char what[] = "true or false (or yes/no)";
	const struct cfg_node *v;
	int r;

	if ((r = scalar_of(map, key, what, &v, err)) < 0 || v == NULL)
		return r;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcasecmp(v->u.str, words[i].word) == 0) {
			*ret = words[i].val;
			return 0;
		}
	}
	return bad_value(v, key, what, err);
}

/*
 * strnum reads "010" as octal 8, which nobody writing "port: 010" means:
 * refuse a leading zero before another digit (after an optional sign).
 */
static bool
looks_octal(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	return s[0] == '0' && s[1] >= '0' && s[1] <= '9';
}

int
cfg_get_u64(const struct cfg_node *map, const char *key, uint64_t min, uint64_t max,
	    uint64_t *ret, struct cfg_error *err)
{
	const struct cfg_node *v;
	char what[80];
	int r;

	snprintf(what, sizeof(what), "an integer %" PRIu64 "..%" PRIu64, min, max);
	if ((r = scalar_of(map, key, what, &v, err)) < 0 || v == NULL)
		return r;
	if (looks_octal(v->u.str) || strnum_u64(v->u.str, min, max, ret) < 0)
		return bad_value(v, key, what, err);
	return 0;
}

int
cfg_get_i64(const struct cfg_node *map, const char *key, int64_t min, int64_t max,
	    int64_t *ret, struct cfg_error *err)
{
	const struct cfg_node *v;
	char what[80];
	int r;

	snprintf(what, sizeof(what), "an integer %" PRId64 "..%" PRId64, min, max);
	if ((r = scalar_of(map, key, what, &v, err)) < 0 || v == NULL)
		return r;
	if (looks_octal(v->u.str) || strnum_i64(v->u.str, min, max, ret) < 0)
		return bad_value(v, key, what, err);
	return 0;
}

int
cfg_get_double(const struct cfg_node *map, const char *key, double min, double max,
	       double *ret, struct cfg_error *err)
{
	const struct cfg_node *v;
	char what[80];
	int r;

	snprintf(what, sizeof(what), "a number %g..%g", min, max);
	if ((r = scalar_of(map, key, what, &v, err)) < 0 || v == NULL)
		return r;
	if (strnum_double(v->u.str, min, max, ret) < 0)
		return bad_value(v, key, what, err);
	return 0;
}

/* Seconds as the largest unit that divides them: 90 -> "90s", 300 -> "5m". */
static const char *
fmt_duration(char *dst, size_t len, int64_t s)
{
	static const struct { char unit; int64_t secs; } units[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (s != 0 && s % units[i].secs == 0) {
			snprintf(dst, len, "%" PRId64 "%c", s / units[i].secs, units[i].unit);
			return dst;
		}
	}
	snprintf(dst, len, "%" PRId64 "s", s);
	return dst;
}

int
cfg_get_duration(const struct cfg_node *map, const char *key, int64_t min_s, int64_t max_s,
		 int64_t *ret_s, struct cfg_error *err)
{
	const struct cfg_node *v;
	char what[96], lo[24], hi[24];
	int r;

	snprintf(what, sizeof(what), "a duration %s..%s (e.g. 30s, 5m, 1h, 7d)",
		 fmt_duration(lo, sizeof(lo), min_s), fmt_duration(hi, sizeof(hi), max_s));
	if ((r = scalar_of(map, key, what, &v, err)) < 0 || v == NULL)
		return r;
	if (looks_octal(v->u.str) || strnum_duration(v->u.str, min_s, max_s, ret_s) < 0)
		return bad_value(v, key, what, err);
	return 0;
}

static int
get_kind(const struct cfg_node *map, const char *key, enum cfg_kind kind,
	 const struct cfg_node **ret, struct cfg_error *err)
{
	const struct cfg_node *v = cfg_get(map, key);

	if (v == NULL)
		return 0;
	if (v->kind != kind)
		return bad_value(v, key, kind_name(kind), err);
	*ret = v;
	return 0;
}

int
cfg_get_map(const struct cfg_node *map, const char *key, const struct cfg_node **ret,
	    struct cfg_error *err)
{
	return get_kind(map, key, CFG_MAP, ret, err);
}

int
cfg_get_seq(const struct cfg_node *map, const char *key, const struct cfg_node **ret,
	    struct cfg_error *err)
{
	return get_kind(map, key, CFG_SEQ, ret, err);
}
