/*
 * insnft: nftables rules for the connect policy. See insnft.h.
 */
#include "ins/insnft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strnum.h"

struct insnft {
	struct nft_ctx *nft;
	char table[INSNFT_TABLE_LEN];
};

void
insnft_table_name(uint32_t mark, char buf[INSNFT_TABLE_LEN])
{
	snprintf(buf, INSNFT_TABLE_LEN, INSNFT_TABLE_PREFIX "%08x", mark);
}

int
insnft_netns(uint64_t *ret)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	*ret = (uint64_t)st.st_ino;
	return 0;
}

int
insnft_lock_path(char *buf, size_t len, const char *dir, uint64_t netns, uint32_t mark)
{
	int n = snprintf(buf, len, "%s/net-%llu-mark-%08x.lock", dir, (unsigned long long)netns,
			 mark);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * The lock directory, made if missing. Ours and writable by us only: anyone
 * else who could write there could hold every mark, or swap a lock file.
 */
static int
insnft_lock_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

/* The pid a holder wrote in its lock file; 0 when unreadable. */
static pid_t
insnft_lock_holder(const char *path)
{
	char buf[24];
	uint64_t v;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return strnum_u64(buf, 1, INT32_MAX, &v) < 0 ? 0 : (pid_t)v;
}

/* Same file as the path names now? A releaser unlinks it before unlocking. */
static bool
insnft_lock_current(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static void
insnft_lock_write_pid(int fd)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	/* Only for the refusal message of a later claimer: a failure costs the pid there. */
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != (ssize_t)n)
		log_debug("could not write our pid to the mark lock");
}

/*
 * Lock one mark's file. A lock taken on a file its holder has just unlinked
 * guards nothing, so the file must still be the one the path names; a few
 * retries cover a release racing with us. -EBUSY when a live process holds it.
 */
static int
insnft_lock_one(const char *path, int *ret_fd)
{
	for (int tries = 0; tries < 8; tries++) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			close(fd);
			return e == EWOULDBLOCK ? -EBUSY : -e;
		}
		if (insnft_lock_current(fd, path)) {
			*ret_fd = fd;
			return 0;
		}
		close(fd);
	}
	return -EBUSY;
}

int
insnft_mark_claim(const char *dir, uint64_t netns, uint32_t mark, bool any,
		  struct insnft_claim *ret, pid_t *ret_holder)
{
	uint32_t first = any ? POLICY_MARK_BASE : mark;
	uint32_t count = any ? POLICY_MARK_COUNT : 1;
	char path[PATH_MAX];
	int r, fd = -1;

	if ((r = insnft_lock_dir(dir)) < 0)
		return r;
	for (uint32_t i = 0; i < count; i++) {
		if ((r = insnft_lock_path(path, sizeof(path), dir, netns, first + i)) < 0)
			return r;
		r = insnft_lock_one(path, &fd);
		if (r == -EBUSY)
			continue;
		if (r < 0)
			return r;
		insnft_lock_write_pid(fd);
		ret->fd = fd;
		ret->mark = first + i;
		snprintf(ret->path, sizeof(ret->path), "%s", path);
		return 0;
	}
	if (any)
		return -EADDRINUSE;
	*ret_holder = insnft_lock_holder(path);
	return -EBUSY;
}

void
insnft_mark_release(struct insnft_claim *c)
{
	if (c->fd < 0)
		return;
	/* Unlink first: a claimer that opened the old file sees it is gone and retries. */
	if (unlink(c->path) < 0) {
		if (errno == EACCES || errno == EPERM)
			log_debug("%s stays (the broker user may not remove it): the next claimer "
				  "of this mark finds it unlocked and takes it over", c->path);
		else
			log_warn("removing %s", c->path);
	}
	close(c->fd);
	c->fd = -1;
}

static json_t *
insnft_cmd(const char *verb, const char *kind, json_t *obj)
{
	return json_pack("{s:{s:o}}", verb, kind, obj);
}

static json_t *
insnft_table(const char *table)
{
	return json_pack("{s:s,s:s}", "family", "inet", "name", table);
}

static json_t *
insnft_rule(const char *table, json_t *expr)
{
	return json_pack("{s:s,s:s,s:s,s:o}", "family", "inet", "table", table,
			 "chain", INSNFT_CHAIN, "expr", expr);
}

static json_t *
insnft_verdict(const char *v)
{
	return json_pack("{s:n}", v);
}

static json_t *
insnft_counted_drop(void)
{
	return json_pack("[{s:s},{s:n}]", "counter", INSNFT_COUNTER, "drop");
}

/* One prefix as nft's right-hand side: "ADDR" for a host, else {"prefix":…}. */
static json_t *
insnft_prefix(const struct policy_prefix *pp)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned full = pp->family == INS_AF_INET ? 32 : 128;

	if (!inet_ntop(pp->family == INS_AF_INET ? AF_INET : AF_INET6, pp->addr, buf, sizeof(buf)))
		return NULL;
	if (pp->len == full)
		return json_string(buf);
	return json_pack("{s:{s:s,s:i}}", "prefix", "addr", buf, "len", (int)pp->len);
}

/* "ip daddr { … } accept" for the prefixes of one family; NULL when it has none. */
static json_t *
insnft_allow_rule(const char *table, const struct policy *p, uint8_t family)
{
	json_t *set = json_array();

	if (!set)
		return NULL;
	for (unsigned i = 0; i < p->nconnect; i++)
		if (p->connect_allow[i].family == family)
			json_array_append_new(set, insnft_prefix(&p->connect_allow[i]));
	if (json_array_size(set) == 0) {
		json_decref(set);
		return NULL;
	}
	return insnft_rule(table, json_pack("[{s:{s:s,s:{s:{s:s,s:s}},s:{s:o}}},{s:n}]", "match",
				     "op", "==", "left", "payload", "protocol",
				     family == INS_AF_INET ? "ip" : "ip6", "field", "daddr",
				     "right", "set", set, "accept"));
}

/* The chain's rules, in order, appended to cmds as "add rule". */
static void
insnft_add_rules(json_t *cmds, const char *table, const struct policy *p)
{
	json_t *r;

	/* Not a socket moat-ins handed out: none of our business. */
	json_array_append_new(cmds, insnft_cmd("add", "rule", insnft_rule(table, json_pack(
		"[{s:{s:s,s:{s:{s:s}},s:I}},{s:n}]", "match", "op", "!=", "left", "meta", "key",
		"mark", "right", (json_int_t)p->mark, "accept"))));
	/* Replies on connections the policy let in (accepted) or out (connected). */
	json_array_append_new(cmds, insnft_cmd("add", "rule", insnft_rule(table, json_pack(
		"[{s:{s:s,s:{s:{s:s}},s:[s,s]}},{s:n}]", "match", "op", "in", "left", "ct", "key",
		"state", "right", "established", "related", "accept"))));
	if (!p->allow_udp) {
		json_t *e = insnft_counted_drop();

		json_array_insert_new(e, 0, json_pack("{s:{s:s,s:{s:{s:s}},s:s}}", "match", "op",
						      "==", "left", "meta", "key", "l4proto",
						      "right", "udp"));
		json_array_append_new(cmds, insnft_cmd("add", "rule", insnft_rule(table, e)));
	}
	if (p->nconnect == 0) {
		json_array_append_new(cmds, insnft_cmd("add", "rule",
			insnft_rule(table, json_pack("[o]", insnft_verdict("accept")))));
		return;
	}
	if ((r = insnft_allow_rule(table, p, INS_AF_INET)) != NULL)
		json_array_append_new(cmds, insnft_cmd("add", "rule", r));
	if ((r = insnft_allow_rule(table, p, INS_AF_INET6)) != NULL)
		json_array_append_new(cmds, insnft_cmd("add", "rule", r));
	/* TCP gets a reset, so a blocking connect(2) fails at once (ECONNREFUSED)
	 * rather than retrying SYNs for minutes; a dropped datagram fails its
	 * sendto(2) with EPERM already. */
	json_array_append_new(cmds, insnft_cmd("add", "rule", insnft_rule(table, json_pack(
		"[{s:{s:s,s:{s:{s:s}},s:s}},{s:s},{s:{s:s}}]", "match", "op", "==", "left", "meta",
		"key", "l4proto", "right", "tcp", "counter", INSNFT_COUNTER, "reject", "type",
		"tcp reset"))));
	json_array_append_new(cmds, insnft_cmd("add", "rule", insnft_rule(table, insnft_counted_drop())));
}

char *
insnft_batch_json(const struct policy *p, bool fresh)
{
	json_t *cmds = json_array(), *doc;
	char table[INSNFT_TABLE_LEN];
	char *text;

	if (!cmds)
		return NULL;
	insnft_table_name(p->mark, table);
	/* "add" of an existing table is a no-op, so "add; delete" removes a stale one or nothing. */
	json_array_append_new(cmds, insnft_cmd("add", "table", insnft_table(table)));
	if (fresh) {
		json_array_append_new(cmds, insnft_cmd("delete", "table", insnft_table(table)));
		json_array_append_new(cmds, insnft_cmd("add", "table", insnft_table(table)));
	}
	json_array_append_new(cmds, insnft_cmd("add", "counter", json_pack(
		"{s:s,s:s,s:s}", "family", "inet", "table", table, "name", INSNFT_COUNTER)));
	json_array_append_new(cmds, insnft_cmd("add", "chain", json_pack(
		"{s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "family", "inet", "table", table,
		"name", INSNFT_CHAIN, "type", "filter", "hook", "output", "prio", 0,
		"policy", "accept")));
	if (!fresh)
		json_array_append_new(cmds, insnft_cmd("flush", "chain", json_pack(
			"{s:s,s:s,s:s}", "family", "inet", "table", table,
			"name", INSNFT_CHAIN)));
	insnft_add_rules(cmds, table, p);
	doc = json_pack("{s:o}", "nftables", cmds);
	if (!doc)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

/* Run one batch; nft's error text (first line) goes to err. */
static int
insnft_run(struct insnft *n, const char *text, char *err, size_t errlen)
{
	const char *e;

	if (nft_run_cmd_from_buffer(n->nft, text) == 0)
		return 0;
	e = nft_ctx_get_error_buffer(n->nft);
	if (err && errlen)
		snprintf(err, errlen, "%.*s", (int)(e ? strcspn(e, "\n") : 0), e ? e : "");
	return -EIO;
}

static int
insnft_apply(struct insnft *n, const struct policy *p, bool fresh, char *err, size_t errlen)
{
	char *text = insnft_batch_json(p, fresh);
	int r;

	if (!text)
		return -ENOMEM;
	r = insnft_run(n, text, err, errlen);
	free(text);
	return r;
}

int
insnft_open(struct insnft **ret, const struct policy *p, char *err, size_t errlen)
{
	struct insnft *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return -ENOMEM;
	insnft_table_name(p->mark, n->table);
	n->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->nft) {
		free(n);
		return -ENOMEM;
	}
	/* JSON output is also what makes libnftables read its input as JSON. */
	nft_ctx_output_set_flags(n->nft, NFT_CTX_OUTPUT_JSON);
	nft_ctx_buffer_output(n->nft);
	nft_ctx_buffer_error(n->nft);
	r = insnft_apply(n, p, true, err, errlen);
	if (r < 0) {
		nft_ctx_free(n->nft);
		free(n);
		return r;
	}
	*ret = n;
	return 0;
}

int
insnft_update(struct insnft *n, const struct policy *p, char *err, size_t errlen)
{
	return insnft_apply(n, p, false, err, errlen);
}

void
insnft_close(struct insnft *n)
{
	char del[128];

	if (!n)
		return;
	snprintf(del, sizeof(del), "{\"nftables\":[{\"delete\":{\"table\":{\"family\":"
		 "\"inet\",\"name\":\"%s\"}}}]}", n->table);
	if (insnft_run(n, del, NULL, 0) < 0)
		log_warnx("could not remove table inet %s", n->table);
	nft_ctx_free(n->nft);
	free(n);
}
