/* data/idmap.h: external string ids <-> dense int32 indices.
 *
 * Users and items arrive with arbitrary string ids ("A2X9...", "42", a URL);
 * every matrix in polyrec is indexed by dense integers 0..n-1 assigned in
 * order of first appearance. Lookups are an open-addressing hash (FNV-1a,
 * linear probing, load <= 0.5); names live in one growing character arena. */
#ifndef PR_DATA_IDMAP_H
#define PR_DATA_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define PR_ID_MAX_LEN 1024          /* longest accepted id, bytes */
#define PR_ID_MAX_COUNT 2000000000  /* ids per map: dense ints are int32 */

typedef struct pr_idmap {
    int32_t n;           /* ids stored */
    int64_t *off;        /* (n) offset of id i in chars */
    char *chars;         /* NUL-terminated names back to back */
    size_t chars_len, chars_cap;
    int32_t *slots;      /* (n_slots) index or -1 */
    uint32_t *tags;      /* (n_slots) high hash bits of the slot's id: most misses skip strcmp */
    uint64_t n_slots;
    int32_t cap;         /* capacity of off */
} pr_idmap;

pr_idmap *pr_idmap_new(void);
void pr_idmap_free(pr_idmap *m);
/* Index of id (len bytes, need not be NUL-terminated), adding it if absent.
 * Returns the index, or a negative PR_E_* code (too long, too many, OOM). */
int32_t pr_idmap_add(pr_idmap *m, const char *id, size_t len);
/* Index of id, or -1 when absent. */
int32_t pr_idmap_find(const pr_idmap *m, const char *id, size_t len);
int32_t pr_idmap_get(const pr_idmap *m, const char *id); /* NUL-terminated */
static inline const char *pr_idmap_name(const pr_idmap *m, int32_t i) { return m->chars + m->off[i]; }
int pr_idmap_save(const pr_idmap *m, pr_buf *b);
int pr_idmap_load(pr_idmap **out, pr_cur *c, pr_error *err);

#endif
