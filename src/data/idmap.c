/* data/idmap.c: string ids to dense indices (see idmap.h). */
#include "idmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

pr_idmap *pr_idmap_new(void) {
    pr_idmap *m = pr_calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_slots = 1024;
    m->slots = pr_malloc(m->n_slots, sizeof *m->slots);
    m->tags = pr_calloc(m->n_slots, sizeof *m->tags);
    if (!m->slots || !m->tags) {
        free(m->slots);
        free(m->tags);
        free(m);
        return NULL;
    }
    memset(m->slots, 0xff, m->n_slots * sizeof *m->slots);
    return m;
}

void pr_idmap_free(pr_idmap *m) {
    if (!m) return;
    free(m->off);
    free(m->chars);
    free(m->slots);
    free(m->tags);
    free(m);
}

static int32_t probe(const pr_idmap *m, const char *id, size_t len, uint64_t *slot) {
    uint64_t h = fnv1a(id, len), mask = m->n_slots - 1, s = h & mask;
    uint32_t tag = (uint32_t)(h >> 32);
    for (;;) {
        int32_t i = m->slots[s];
        if (i < 0) {
            *slot = s;
            return -1;
        }
        const char *name = m->chars + m->off[i];
        if (m->tags[s] == tag && strncmp(name, id, len) == 0 && name[len] == '\0') {
            *slot = s;
            return i;
        }
        s = (s + 1) & mask;
    }
}

static int grow_slots(pr_idmap *m) {
    uint64_t n = m->n_slots * 2;
    int32_t *s = pr_malloc(n, sizeof *s);
    uint32_t *t = pr_calloc(n, sizeof *t);
    if (!s || !t) {
        free(s);
        free(t);
        return PR_E_NOMEM;
    }
    memset(s, 0xff, n * sizeof *s);
    free(m->slots);
    free(m->tags);
    m->slots = s;
    m->tags = t;
    m->n_slots = n;
    for (int32_t i = 0; i < m->n; i++) {
        const char *name = m->chars + m->off[i];
        size_t len = strlen(name);
        uint64_t slot;
        probe(m, name, len, &slot);
        m->slots[slot] = i;
        m->tags[slot] = (uint32_t)(fnv1a(name, len) >> 32);
    }
    return 0;
}

int32_t pr_idmap_add(pr_idmap *m, const char *id, size_t len) {
    if (len > PR_ID_MAX_LEN) return PR_E_RANGE;
    if (memchr(id, '\0', len)) return PR_E_PARSE;
    uint64_t slot;
    int32_t i = probe(m, id, len, &slot);
    if (i >= 0) return i;
    if (m->n >= PR_ID_MAX_COUNT) return PR_E_RANGE;
    /* grow first, so a failed allocation leaves the map unchanged */
    if ((uint64_t)(m->n + 1) * 2 > m->n_slots) {
        if (grow_slots(m) != 0) return PR_E_NOMEM;
        probe(m, id, len, &slot);
    }
    if (m->n == m->cap) {
        int32_t cap = m->cap ? m->cap * 2 : 1024;
        int64_t *off = pr_realloc(m->off, (size_t)cap, sizeof *off);
        if (!off) return PR_E_NOMEM;
        m->off = off;
        m->cap = cap;
    }
    if (m->chars_len + len + 1 > m->chars_cap) {
        size_t cap = m->chars_cap ? m->chars_cap : 4096;
        while (cap < m->chars_len + len + 1) cap *= 2;
        char *c = realloc(m->chars, cap);
        if (!c) return PR_E_NOMEM;
        m->chars = c;
        m->chars_cap = cap;
    }
    memcpy(m->chars + m->chars_len, id, len);
    m->chars[m->chars_len + len] = '\0';
    m->off[m->n] = (int64_t)m->chars_len;
    m->chars_len += len + 1;
    m->slots[slot] = m->n;
    m->tags[slot] = (uint32_t)(fnv1a(id, len) >> 32);
    return m->n++;
}

int32_t pr_idmap_find(const pr_idmap *m, const char *id, size_t len) {
    uint64_t slot;
    return probe(m, id, len, &slot);
}

int32_t pr_idmap_get(const pr_idmap *m, const char *id) { return pr_idmap_find(m, id, strlen(id)); }

int pr_idmap_save(const pr_idmap *m, pr_buf *b) {
    pr_buf_put_u32(b, (uint32_t)m->n);
    pr_buf_put_i64(b, (int64_t)m->chars_len);
    pr_buf_put(b, m->chars, m->chars_len);
    return b->oom ? PR_E_NOMEM : 0;
}

int pr_idmap_load(pr_idmap **out, pr_cur *c, pr_error *err) {
    uint32_t n;
    int64_t len;
    int rc;
    if ((rc = pr_cur_get_u32(c, &n, err)) || (rc = pr_cur_get_i64(c, &len, err))) return rc;
    if (len < 0 || (uint64_t)len > pr_cur_left(c) || n > PR_ID_MAX_COUNT)
        return pr_err(err, PR_E_FORMAT, "%s: id map is truncated or corrupt", c->what);
    pr_idmap *m = pr_idmap_new();
    if (!m) return pr_err(err, PR_E_NOMEM, "id map");
    const char *p = (const char *)c->p, *end = p + len;
    for (uint32_t i = 0; i < n; i++) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        int32_t got = z ? pr_idmap_add(m, p, (size_t)(z - p)) : PR_E_FORMAT;
        if (got != (int32_t)i) {
            pr_idmap_free(m);
            return pr_err(err, PR_E_FORMAT, "%s: id map entry %u is corrupt or duplicated", c->what, i);
        }
        p = z + 1;
    }
    if (p != end) {
        pr_idmap_free(m);
        return pr_err(err, PR_E_FORMAT, "%s: id map has trailing bytes", c->what);
    }
    c->p += len;
    *out = m;
    return 0;
}
