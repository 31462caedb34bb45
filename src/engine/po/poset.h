/*
 * poset: the engine's table of protected objects. Each PO has a stable id
 * (its slot; readings and counters are indexed by it) for as long as it
 * exists; a replaced PO keeps its id. The set also indexes every prefix so a
 * new PO that claims a prefix another PO holds is refused without a scan,
 * and builds the LPM (prefix -> PO id) the collectors match traffic with.
 */
#ifndef MOAT_ENGINE_POSET_H
#define MOAT_ENGINE_POSET_H

#include <stddef.h>
#include <stdint.h>

#include "common/lpm.h"
#include "engine/po/po.h"

#define POSET_NONE UINT32_MAX

struct poset;

int poset_new(struct poset **ret);
/* Frees every PO; accepts NULL. */
void poset_free(struct poset *s);

size_t poset_count(const struct poset *s);
/* One past the highest id in use: iterate ids below it with poset_at(). */
uint32_t poset_id_limit(const struct poset *s);
/* NULL for a free id. */
const struct po *poset_at(const struct poset *s, uint32_t id);
/* NULL if absent; *ret_id (may be NULL) is the PO's id. */
const struct po *poset_find(const struct poset *s, const char *name, uint32_t *ret_id);

/*
 * Could p be added, replacing the PO of the same name if there is one?
 * -EEXIST with err->field "prefixes" when another PO holds one of p's
 * prefixes; -ENOSPC when the table is full (LIMIT_POS).
 */
int poset_check(const struct poset *s, const struct po *p, struct po_error *err);
/* Add p, or replace the PO of the same name (keeping its id); takes
 * ownership of p on success. Call poset_check() first. */
int poset_put(struct poset *s, struct po *p, uint32_t *ret_id);
/* -ENOENT if absent. */
int poset_del(struct poset *s, const char *name);
/* Remove every PO (or every PO of one source). */
void poset_clear(struct poset *s);

/* Sorted-by-name array of the POs (malloc'd, the caller frees the array
 * only). *ret is NULL when the set is empty. */
int poset_sorted(const struct poset *s, const struct po ***ret, size_t *ret_n);

/* A new LPM mapping every prefix to its PO id. */
int poset_build_lpm(const struct poset *s, struct lpm **ret);

#endif
