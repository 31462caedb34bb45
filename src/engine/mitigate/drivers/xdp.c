/*
 * drv_xdp: mitigation at the driver with an XDP program (xdp/moat_xdp.bpf.c).
 *
 * The program is compiled with clang at build time and embedded in moatd. It
 * is attached to the configured interfaces on first use (native mode, falling
 * back to generic where the driver has no XDP) and detached when the last
 * rule is withdrawn, so an idle moatd leaves nothing in the kernel.
 *
 * The kernel holds the whole state: rule slots carry moat's rule ids, and a
 * restarted moatd finds its maps again through the program attached to the
 * interface (no bpffs pinning needed), which is what reconciliation reads.
 *
 * Destination prefixes live in LPM tries. Since a packet only sees its
 * longest matching entry, every entry carries the union of the slots of all
 * rules whose targets cover it; apply and withdraw maintain that invariant.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/mitigate/manager.h"
#include "engine/mitigate/xdp/xdp_maps.h"

/* Interfaces one driver attaches to. */
#define XDP_MAX_IFACES 16

extern const unsigned char moat_xdp_obj[];
extern const size_t moat_xdp_obj_len;

enum xdp_mode { XDP_MODE_AUTO, XDP_MODE_NATIVE, XDP_MODE_GENERIC };

struct drv_xdp {
	char ifaces[XDP_MAX_IFACES][IF_NAMESIZE];
	size_t n_ifaces;
	enum xdp_mode mode;
	bool loaded;
	int prog_fd, dst4_fd, dst6_fd, rules_fd, srcs_fd, stats_fd;
	int ncpus;
};

static int
xdp_parse_conf(struct drv_xdp *d, const struct cfg_node *conf, struct cfg_error *err)
{
	static const char *const keys[] = { "interfaces", "mode", NULL };
	static const char *const modes[] = { "auto", "native", "generic" };
	const struct cfg_node *seq = NULL;
	const char *mode = NULL;
	int r;

	if (conf == NULL)
		return 0;
	if ((r = cfg_check_keys(conf, keys, err)) < 0 ||
	    (r = cfg_get_seq(conf, "interfaces", &seq, err)) < 0 ||
	    (r = cfg_get_str(conf, "mode", &mode, err)) < 0)
		return r;
	for (size_t i = 0; seq != NULL && i < cfg_len(seq); i++) {
		const char *name = cfg_scalar(cfg_seq_at(seq, i));
		if (name == NULL || strlen(name) == 0 || strlen(name) >= IF_NAMESIZE)
			return cfg_fail(err, cfg_seq_at(seq, i), "interfaces: expected an interface name");
		if (d->n_ifaces == XDP_MAX_IFACES)
			return cfg_fail(err, cfg_seq_at(seq, i), "interfaces: at most %d", XDP_MAX_IFACES);
		snprintf(d->ifaces[d->n_ifaces++], IF_NAMESIZE, "%s", name);
	}
	if (mode != NULL) {
		size_t i;
		for (i = 0; i < 3 && strcmp(modes[i], mode) != 0; i++)
			;
		if (i == 3)
			return cfg_fail(err, cfg_get(conf, "mode"), "mode: expected auto, native or generic");
		d->mode = (enum xdp_mode)i;
	}
	return 0;
}

static void
xdp_close_fds(struct drv_xdp *d)
{
	int *fds[] = { &d->prog_fd, &d->dst4_fd, &d->dst6_fd, &d->rules_fd, &d->srcs_fd, &d->stats_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	d->loaded = false;
}

static int
xdp_open(const struct cfg_node *conf, void **ret_state, struct cfg_error *err)
{
	struct drv_xdp *d;
	int r;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->prog_fd = d->dst4_fd = d->dst6_fd = d->rules_fd = d->srcs_fd = d->stats_fd = -1;
	if ((r = xdp_parse_conf(d, conf, err)) < 0) {
		free(d);
		return r;
	}
	d->ncpus = libbpf_num_possible_cpus();
	if (d->ncpus <= 0)
		d->ncpus = 1;
	*ret_state = d;
	return 0;
}

static void
xdp_close(void *state)
{
	struct drv_xdp *d = state;

	if (d == NULL)
		return;
	/* Rules stay in the kernel across a restart; only our handles go. */
	xdp_close_fds(d);
	free(d);
}

/* Assign a map fd to its field by the map's name; closes fds we don't want. */
static void
xdp_adopt_map(struct drv_xdp *d, int fd, const char *name)
{
	static const struct { const char *name; size_t off; } maps[] = {
		{ "moat_dst4", offsetof(struct drv_xdp, dst4_fd) },
		{ "moat_dst6", offsetof(struct drv_xdp, dst6_fd) },
		{ "moat_rules", offsetof(struct drv_xdp, rules_fd) },
		{ "moat_srcs", offsetof(struct drv_xdp, srcs_fd) },
		{ "moat_stats", offsetof(struct drv_xdp, stats_fd) },
	};

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		int *slot = (int *)((char *)d + maps[i].off);
		if (strcmp(maps[i].name, name) == 0 && *slot < 0) {
			*slot = fd;
			return;
		}
	}
	close(fd);
}

static bool
xdp_have_all_maps(const struct drv_xdp *d)
{
	return d->dst4_fd >= 0 && d->dst6_fd >= 0 && d->rules_fd >= 0 && d->srcs_fd >= 0 &&
	    d->stats_fd >= 0;
}

/*
 * If `prog_id` is our program, take its fd and its maps. Returns 1 when
 * adopted, 0 when the program is someone else's, or a negative errno.
 */
static int
xdp_adopt_prog(struct drv_xdp *d, __u32 prog_id)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), map_ids[16], n;
	int fd = bpf_prog_get_fd_by_id(prog_id);

	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 || strcmp(info.name, "moat_xdp") != 0) {
		close(fd);
		return 0;
	}
	n = info.nr_map_ids < 16 ? info.nr_map_ids : 16;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (__u64)(unsigned long)map_ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		close(fd);
		return -errno;
	}
	d->prog_fd = fd;
	for (__u32 i = 0; i < n; i++) {
		struct bpf_map_info minfo = { 0 };
		__u32 mlen = sizeof(minfo);
		int mfd = bpf_map_get_fd_by_id(map_ids[i]);
		if (mfd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(mfd, &minfo, &mlen) == 0)
			xdp_adopt_map(d, mfd, minfo.name);
		else
			close(mfd);
	}
	if (!xdp_have_all_maps(d)) {
		xdp_close_fds(d);
		return -ENOENT;
	}
	d->loaded = true;
	return 1;
}

/* Load the embedded object and keep duplicates of its program and map fds. */
static int
xdp_load_object(struct drv_xdp *d)
{
	static const char *const names[] = { "moat_dst4", "moat_dst6", "moat_rules", "moat_srcs",
		"moat_stats" };
	struct bpf_object *obj;
	struct bpf_program *prog;
	int r = 0;

	obj = bpf_object__open_mem(moat_xdp_obj, moat_xdp_obj_len, NULL);
	if (obj == NULL)
		return -errno;
	if ((r = bpf_object__load(obj)) < 0)
		goto out;
	prog = bpf_object__find_program_by_name(obj, "moat_xdp");
	if (prog == NULL || (d->prog_fd = dup(bpf_program__fd(prog))) < 0) {
		r = -ENOENT;
		goto out;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int fd = bpf_object__find_map_fd_by_name(obj, names[i]);
		if (fd >= 0)
			xdp_adopt_map(d, dup(fd), names[i]);
	}
	if (!xdp_have_all_maps(d))
		r = -ENOENT;
	else
		d->loaded = true;
out:
	bpf_object__close(obj);
	if (r < 0)
		xdp_close_fds(d);
	return r;
}

static int
xdp_attach_one(struct drv_xdp *d, int ifindex, const char *name)
{
	int r = -EOPNOTSUPP;

	if (d->mode != XDP_MODE_GENERIC)
		r = bpf_xdp_attach(ifindex, d->prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_DRV_MODE, NULL);
	if (r < 0 && d->mode != XDP_MODE_NATIVE) {
		r = bpf_xdp_attach(ifindex, d->prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_SKB_MODE, NULL);
		if (r == 0)
			log_info("xdp: %s has no native XDP, attached in generic mode", name);
	}
	if (r < 0)
		log_warnx("xdp: attaching to %s: %s", name, strerror(-r));
	return r;
}

/*
 * Make sure our program runs on every configured interface: adopt one that
 * is already attached (after a restart), else load ours, then attach where
 * missing. A foreign XDP program on an interface makes the driver decline.
 */
static int
xdp_ensure(struct drv_xdp *d, bool attach)
{
	int ifindex[XDP_MAX_IFACES];
	__u32 ids[XDP_MAX_IFACES];
	int r;

	if (d->n_ifaces == 0)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < d->n_ifaces; i++) {
		if ((ifindex[i] = (int)if_nametoindex(d->ifaces[i])) == 0) {
			log_warnx("xdp: no interface %s", d->ifaces[i]);
			return -ENODEV;
		}
		ids[i] = 0;
		if (bpf_xdp_query_id(ifindex[i], 0, &ids[i]) < 0)
			ids[i] = 0;
		if (ids[i] != 0 && !d->loaded) {
			if ((r = xdp_adopt_prog(d, ids[i])) < 0)
				return r;
			if (r == 0) {
				log_warnx("xdp: %s runs another XDP program; not touching it", d->ifaces[i]);
				return -EOPNOTSUPP;
			}
		}
	}
	if (!attach)
		return d->loaded ? 0 : -ENOENT;
	if (!d->loaded && (r = xdp_load_object(d)) < 0) {
		log_warnx("xdp: loading the program: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < d->n_ifaces; i++)
		if (ids[i] == 0 && (r = xdp_attach_one(d, ifindex[i], d->ifaces[i])) < 0)
			return r;
	return 0;
}

static void
xdp_detach_all(struct drv_xdp *d)
{
	for (size_t i = 0; i < d->n_ifaces; i++) {
		int ifindex = (int)if_nametoindex(d->ifaces[i]);
		__u32 id = 0;
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		if (ifindex == 0 || bpf_xdp_query_id(ifindex, 0, &id) < 0 || id == 0)
			continue;
		if (bpf_obj_get_info_by_fd(d->prog_fd, &info, &len) < 0 || info.id != id)
			continue;	/* not ours */
		bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	}
	xdp_close_fds(d);
}

/* ---- rule slots ---- */

static int
xdp_find_slot(struct drv_xdp *d, uint64_t id, __u32 *ret_slot)
{
	for (__u32 s = 0; s < XDP_MAX_RULES; s++) {
		struct xdp_rule r;
		if (bpf_map_lookup_elem(d->rules_fd, &s, &r) == 0 && r.id == id) {
			*ret_slot = s;
			return 0;
		}
	}
	return -ENOENT;
}

static size_t
xdp_rules_in_use(struct drv_xdp *d)
{
	size_t n = 0;

	for (__u32 s = 0; s < XDP_MAX_RULES; s++) {
		struct xdp_rule r;
		n += bpf_map_lookup_elem(d->rules_fd, &s, &r) == 0 && r.id != 0;
	}
	return n;
}

/* Add slot+1 to an entry's slot list; false when the list is full. */
static bool
xdp_dst_add(struct xdp_dst *v, __u32 tag)
{
	for (int i = 0; i < XDP_SLOTS_PER_DST; i++)
		if (v->slots[i] == tag)
			return true;
	for (int i = 0; i < XDP_SLOTS_PER_DST; i++) {
		if (v->slots[i] == 0) {
			v->slots[i] = tag;
			return true;
		}
	}
	return false;
}

static bool
xdp_dst_remove(struct xdp_dst *v, __u32 tag)
{
	bool empty = true;

	for (int i = 0; i < XDP_SLOTS_PER_DST; i++) {
		if (v->slots[i] == tag)
			v->slots[i] = 0;
		empty &= v->slots[i] == 0;
	}
	return empty;
}

/* A trie key of either family, as bytes: prefixlen then address. */
struct xdp_key {
	__u32 prefixlen;
	__u8 addr[16];
};

static bool
xdp_key_covers(const struct xdp_key *outer, const struct xdp_key *inner)
{
	__u32 bits = outer->prefixlen;

	if (bits > inner->prefixlen)
		return false;
	if (memcmp(outer->addr, inner->addr, bits / 8) != 0)
		return false;
	if (bits % 8 != 0) {
		__u8 mask = (__u8)(0xff << (8 - bits % 8));
		return (outer->addr[bits / 8] & mask) == (inner->addr[bits / 8] & mask);
	}
	return true;
}

/*
 * Insert target t for slot tag into the trie fd: the new entry inherits the
 * slots of every entry covering it, and the tag is added to every entry it
 * covers. -ENOSPC if some entry has no room for another rule.
 */
static int
xdp_dst_insert(int fd, const struct xdp_key *t, __u32 tag)
{
	struct xdp_key k, next;
	struct xdp_dst mine = { { 0 } }, v;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v) < 0)
			continue;
		if (xdp_key_covers(&k, t)) {
			for (int i = 0; i < XDP_SLOTS_PER_DST; i++)
				if (v.slots[i] != 0 && !xdp_dst_add(&mine, v.slots[i]))
					return -ENOSPC;
		} else if (xdp_key_covers(t, &k)) {
			if (!xdp_dst_add(&v, tag))
				return -ENOSPC;
			if (bpf_map_update_elem(fd, &k, &v, BPF_ANY) < 0)
				return -errno;
		}
	}
	if (!xdp_dst_add(&mine, tag))
		return -ENOSPC;
	return bpf_map_update_elem(fd, t, &mine, BPF_ANY) < 0 ? -errno : 0;
}

/* Remove slot tag from every entry of trie fd; delete entries left empty. */
static void
xdp_dst_purge(int fd, __u32 tag)
{
	struct xdp_key keys[256], next;
	size_t n_empty;
	void *prev;

	do {
		n_empty = 0;
		prev = NULL;
		struct xdp_key k;
		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			struct xdp_dst v;
			k = next;
			prev = &k;
			if (bpf_map_lookup_elem(fd, &k, &v) < 0)
				continue;
			if (xdp_dst_remove(&v, tag)) {
				if (n_empty < 256)
					keys[n_empty++] = k;
			} else {
				bpf_map_update_elem(fd, &k, &v, BPF_EXIST);
			}
		}
		/* Delete after the walk: deleting during get_next_key restarts it. */
		for (size_t i = 0; i < n_empty; i++)
			bpf_map_delete_elem(fd, &keys[i]);
	} while (n_empty == 256);
}

static void
xdp_srcs_purge(int fd, __u32 slot)
{
	struct xdp_src keys[256], k, next;
	size_t n;
	void *prev;

	do {
		n = 0;
		prev = NULL;
		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			k = next;
			prev = &k;
			if (k.slot == slot && n < 256)
				keys[n++] = k;
		}
		for (size_t i = 0; i < n; i++)
			bpf_map_delete_elem(fd, &keys[i]);
	} while (n == 256);
}

static void
xdp_free_slot(struct drv_xdp *d, __u32 slot)
{
	struct xdp_rule empty = { 0 };
	struct xdp_stat *zero = calloc((size_t)d->ncpus, sizeof(*zero));

	xdp_dst_purge(d->dst4_fd, slot + 1);
	xdp_dst_purge(d->dst6_fd, slot + 1);
	xdp_srcs_purge(d->srcs_fd, slot);
	bpf_map_update_elem(d->rules_fd, &slot, &empty, BPF_ANY);
	if (zero != NULL)
		bpf_map_update_elem(d->stats_fd, &slot, zero, BPF_ANY);
	free(zero);
}

static struct xdp_key
xdp_key_of(const struct prefix *p)
{
	struct xdp_key k = { .prefixlen = p->len };

	memcpy(k.addr, p->addr.a, p->addr.af == AF_INET ? 4 : 16);
	return k;
}

static int
xdp_fill_slot(struct drv_xdp *d, __u32 slot, const struct mit_rule *r)
{
	const struct mit_request *q = &r->req;
	struct xdp_rule rule = { .id = r->id, .proto = q->proto, .dport = q->dport,
		.sport = q->sport, .has_sources = q->n_sources > 0 };
	int fd = q->af == AF_INET ? d->dst4_fd : d->dst6_fd;
	int e;

	for (uint32_t i = 0; i < q->n_sources; i++) {
		struct xdp_src key = { .slot = slot, .af = q->af == AF_INET ? 4 : 6 };
		__u8 one = 1;
		memcpy(key.addr, q->sources[i].a, q->af == AF_INET ? 4 : 16);
		if (bpf_map_update_elem(d->srcs_fd, &key, &one, BPF_ANY) < 0)
			return -ENOSPC;
	}
	for (uint32_t i = 0; i < q->n_targets; i++) {
		struct xdp_key k = xdp_key_of(&q->targets[i]);
		if ((e = xdp_dst_insert(fd, &k, slot + 1)) < 0)
			return e;
	}
	/* The rule goes live last: a half-built slot never matches a packet. */
	return bpf_map_update_elem(d->rules_fd, &slot, &rule, BPF_ANY) < 0 ? -errno : 0;
}

static int
xdp_apply(void *state, const struct mit_rule *r)
{
	struct drv_xdp *d = state;
	__u32 slot;
	int e;

	if (r->action != MIT_ACT_DROP || r->req.n_targets == 0)
		return -EOPNOTSUPP;	/* rate limits are nft's job */
	if ((e = xdp_ensure(d, true)) < 0)
		return e;
	if (xdp_find_slot(d, r->id, &slot) == 0)
		return 0;		/* idempotent */
	if (xdp_find_slot(d, 0, &slot) < 0)
		return -ENOSPC;
	if ((e = xdp_fill_slot(d, slot, r)) < 0) {
		xdp_free_slot(d, slot);
		return e;
	}
	return 0;
}

static int
xdp_withdraw(void *state, uint64_t id)
{
	struct drv_xdp *d = state;
	__u32 slot;

	if (id == 0 || xdp_ensure(d, false) < 0 || xdp_find_slot(d, id, &slot) < 0)
		return -ENOENT;
	xdp_free_slot(d, slot);
	if (xdp_rules_in_use(d) == 0)
		xdp_detach_all(d);
	return 0;
}

/* Is the XDP program attached to ifindex ours (named moat_xdp)? */
static bool
xdp_is_ours(int ifindex)
{
	struct bpf_prog_info info = { 0 };
	__u32 id = 0, len = sizeof(info);
	bool ours = false;
	int fd;

	if (bpf_xdp_query_id(ifindex, 0, &id) < 0 || id == 0 ||
	    (fd = bpf_prog_get_fd_by_id(id)) < 0)
		return false;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && strcmp(info.name, "moat_xdp") == 0)
		ours = true;
	close(fd);
	return ours;
}

/*
 * Not configured (no interfaces): find the interfaces where a run with
 * another configuration left our program, so reconciliation can remove its
 * rules and detach it. They become this driver's interfaces.
 */
static void
xdp_discover(struct drv_xdp *d)
{
	struct if_nameindex *all = if_nameindex(), *it;

	if (all == NULL)
		return;
	for (it = all; it->if_index != 0 && d->n_ifaces < XDP_MAX_IFACES; it++) {
		if (!xdp_is_ours((int)it->if_index))
			continue;
		snprintf(d->ifaces[d->n_ifaces++], IF_NAMESIZE, "%s", it->if_name);
		log_info("xdp: found moat's program on unconfigured interface %s", it->if_name);
	}
	if_freenameindex(all);
}

static int
xdp_installed(void *state, uint64_t **ret_ids, size_t *ret_n)
{
	struct drv_xdp *d = state;
	uint64_t *ids;
	size_t n = 0;

	if (d->n_ifaces == 0)
		xdp_discover(d);
	if (xdp_ensure(d, false) < 0) {
		*ret_ids = NULL;
		*ret_n = 0;
		return 0;
	}
	if ((ids = calloc(XDP_MAX_RULES, sizeof(*ids))) == NULL)
		return -ENOMEM;
	for (__u32 s = 0; s < XDP_MAX_RULES; s++) {
		struct xdp_rule r;
		if (bpf_map_lookup_elem(d->rules_fd, &s, &r) == 0 && r.id != 0)
			ids[n++] = r.id;
	}
	*ret_ids = ids;
	*ret_n = n;
	return 0;
}

static int
xdp_counters(void *state, uint64_t id, struct mit_counters *ret)
{
	struct drv_xdp *d = state;
	struct xdp_stat *per_cpu;
	__u32 slot;
	int r = 0;

	if (xdp_ensure(d, false) < 0 || xdp_find_slot(d, id, &slot) < 0)
		return -ENOENT;
	if ((per_cpu = calloc((size_t)d->ncpus, sizeof(*per_cpu))) == NULL)
		return -ENOMEM;
	if (bpf_map_lookup_elem(d->stats_fd, &slot, per_cpu) < 0) {
		r = -errno;
	} else {
		*ret = (struct mit_counters){ 0 };
		for (int i = 0; i < d->ncpus; i++) {
			ret->packets += per_cpu[i].packets;
			ret->bytes += per_cpu[i].bytes;
		}
	}
	free(per_cpu);
	return r;
}

const struct mit_driver_ops drv_xdp_ops = {
	.name = "xdp",
	.open = xdp_open,
	.close = xdp_close,
	.apply = xdp_apply,
	.withdraw = xdp_withdraw,
	.installed = xdp_installed,
	.counters = xdp_counters,
};
