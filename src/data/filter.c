/* data/filter.c: implicit threshold, duplicate merge, k-core, dense re-indexing.
 *
 * The usual preparation of explicit ratings for top-N recommendation (MMRec,
 * RecBole, LightGCN's data): ratings >= min_rating become positives and the
 * rest are dropped; a (user, item) pair seen several times is one positive,
 * kept at its first row in file order with the earliest timestamp, the lowest
 * split label (train < valid < test) and the highest rating; then users and
 * items with fewer than k positives are dropped, repeatedly, until every one
 * left has at least k (the k-core of the bipartite graph, which is unique, so
 * the drop order does not matter). Finally ids are re-indexed densely in order
 * of first appearance among the kept rows, which is how MMRec's files number
 * them (ml-latest-small, >= 4 stars, 5-core gives /shared/data/mls exactly).
 *
 * On error *x is unchanged (the merge is written into the new set only).
 *
 * Cost: O(n) time and at most 41 bytes per row of scratch (a pair hash table
 * of 2^k >= 2n slots, a keep mask, a row map, per-id counters); each k-core
 * pass is O(n) and passes stop when nothing changes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"

static uint64_t pair_hash(int32_t u, int32_t i) {
    uint64_t z = ((uint64_t)(uint32_t)u << 32 | (uint32_t)i) + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL; /* splitmix64 finaliser */
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Mark every later duplicate of a kept (user, item) pair as dropped, with
 * dup[k] = its first row (dup[k] = -1 for every other row). */
static int find_duplicates(const pr_interactions *x, uint8_t *keep, int64_t *dup) {
    uint64_t n_slots = 16;
    while (n_slots < (uint64_t)x->n * 2) n_slots *= 2;
    int64_t *slot = pr_malloc(n_slots, sizeof *slot);
    if (!slot) return PR_E_NOMEM;
    memset(slot, 0xff, n_slots * sizeof *slot);
    for (int64_t k = 0; k < x->n; k++) {
        dup[k] = -1;
        if (!keep[k]) continue;
        uint64_t s = pair_hash(x->user[k], x->item[k]) & (n_slots - 1);
        while (slot[s] >= 0 && (x->user[slot[s]] != x->user[k] || x->item[slot[s]] != x->item[k]))
            s = (s + 1) & (n_slots - 1);
        if (slot[s] < 0) {
            slot[s] = k;
        } else {
            keep[k] = 0;
            dup[k] = slot[s];
        }
    }
    free(slot);
    return 0;
}

/* Fold duplicate rows into their first row's output row y[pos[first]]:
 * earliest timestamp, lowest label, highest rating. pos[r] is the output row
 * of kept row r (dup and pos share one array: a row is one or the other). */
static void merge_duplicates(const pr_interactions *x, const uint8_t *keep, const int64_t *aux,
                             pr_interactions *y) {
    for (int64_t k = 0; k < x->n; k++) {
        if (keep[k] || aux[k] < 0 || !keep[aux[k]]) continue;
        int64_t w = aux[aux[k]];
        if (y->ts && x->ts[k] < y->ts[w]) y->ts[w] = x->ts[k];
        if (y->label && x->label[k] < y->label[w]) y->label[w] = x->label[k];
        if (y->rating && x->rating[k] > y->rating[w]) y->rating[w] = x->rating[k];
    }
}

/* Drop rows of users or items with < k kept rows until none is left. */
static int kcore(const pr_interactions *x, uint8_t *keep, int k) {
    int32_t *ucnt = pr_calloc((size_t)x->users->n + 1, sizeof *ucnt);
    int32_t *icnt = pr_calloc((size_t)x->items->n + 1, sizeof *icnt);
    if (!ucnt || !icnt) {
        free(ucnt);
        free(icnt);
        return PR_E_NOMEM;
    }
    for (int64_t r = 0; r < x->n; r++)
        if (keep[r]) ucnt[x->user[r]]++, icnt[x->item[r]]++;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int64_t r = 0; r < x->n; r++) {
            if (!keep[r] || (ucnt[x->user[r]] >= k && icnt[x->item[r]] >= k)) continue;
            keep[r] = 0;
            ucnt[x->user[r]]--;
            icnt[x->item[r]]--;
            changed = 1;
        }
    }
    free(ucnt);
    free(icnt);
    return 0;
}

/* Kept rows, compacted, with new id maps numbered by first appearance. */
static int compact(const pr_interactions *x, const uint8_t *keep, int64_t *aux, int64_t n_keep,
                   pr_interactions **out) {
    pr_interactions *y = pr_interactions_new();
    int32_t *umap = pr_malloc((size_t)x->users->n + 1, sizeof *umap);
    int32_t *imap = pr_malloc((size_t)x->items->n + 1, sizeof *imap);
    int rc = PR_E_NOMEM;
    if (!y || !umap || !imap ||
        pr_interactions_reserve(y, n_keep, x->rating != NULL, x->ts != NULL, x->label != NULL))
        goto done;
    memset(umap, 0xff, ((size_t)x->users->n + 1) * sizeof *umap);
    memset(imap, 0xff, ((size_t)x->items->n + 1) * sizeof *imap);
    for (int64_t r = 0; r < x->n; r++) {
        if (!keep[r]) continue;
        int32_t u = x->user[r], i = x->item[r];
        if (umap[u] < 0) {
            const char *s = pr_idmap_name(x->users, u);
            if ((umap[u] = pr_idmap_add(y->users, s, strlen(s))) < 0) goto done;
        }
        if (imap[i] < 0) {
            const char *s = pr_idmap_name(x->items, i);
            if ((imap[i] = pr_idmap_add(y->items, s, strlen(s))) < 0) goto done;
        }
        int64_t w = y->n++;
        aux[r] = w;
        y->user[w] = umap[u];
        y->item[w] = imap[i];
        if (y->rating) y->rating[w] = x->rating[r];
        if (y->ts) y->ts[w] = x->ts[r];
        if (y->label) y->label[w] = x->label[r];
    }
    merge_duplicates(x, keep, aux, y);
    y->skipped = x->skipped;
    y->format = x->format;
    y->header = x->header;
    y->delim = x->delim;
    *out = y;
    y = NULL;
    rc = 0;
done:
    pr_interactions_free(y);
    free(umap);
    free(imap);
    return rc;
}

int pr_interactions_filter(pr_interactions **xp, const pr_filter_opts *o, pr_error *err) {
    static const pr_filter_opts none = {NAN, 0};
    if (!o) o = &none;
    pr_interactions *x = *xp, *y = NULL;
    uint8_t *keep = pr_malloc((size_t)x->n + 1, 1);
    int64_t *aux = pr_malloc((size_t)x->n + 1, sizeof *aux);
    int rc = 0;
    if (!keep || !aux) { rc = pr_err(err, PR_E_NOMEM, "filter: %lld rows", (long long)x->n); goto done; }
    if (o->kcore < 0) { rc = pr_err(err, PR_E_ARG, "filter: k-core %d is negative", o->kcore); goto done; }
    int threshold = !isnan(o->min_rating) && x->rating;
    for (int64_t k = 0; k < x->n; k++) keep[k] = !threshold || x->rating[k] >= o->min_rating;
    if ((rc = find_duplicates(x, keep, aux)) || (o->kcore > 1 && (rc = kcore(x, keep, o->kcore)))) {
        rc = pr_err(err, rc, "filter: out of memory");
        goto done;
    }
    int64_t n_keep = 0;
    for (int64_t k = 0; k < x->n; k++) n_keep += keep[k];
    if (n_keep == 0) {
        rc = pr_err(err, PR_E_RANGE,
                    "filter: no interactions left of %lld (min rating %g, %d-core): lower the threshold or k",
                    (long long)x->n, (double)o->min_rating, o->kcore);
        goto done;
    }
    if ((rc = compact(x, keep, aux, n_keep, &y))) {
        rc = pr_err(err, rc, "filter: out of memory");
        goto done;
    }
    pr_interactions_free(x);
    *xp = y;
done:
    free(keep);
    free(aux);
    return rc;
}
