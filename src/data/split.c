/* data/split.c: train/valid/test split rules and the pr_dataset they build.
 *
 * Every rule assigns each row a label 0/1/2 (train/valid/test); the three
 * binary CSR matrices (users x items) are then built from those labels. All
 * rules are deterministic given the seed (one PCG32 stream per rule).
 *
 *   column         the file's own x_label (MMRec .inter files).
 *   random         per user, MMRec's rule (below); which rows go where is a
 *                  seeded shuffle of the user's rows.
 *   loo            leave-one-out by time: each user's latest row is test, the
 *                  second latest valid (ties broken by file order: the later
 *                  row counts as later); users with < 3 rows keep all in train.
 *   temporal       one global time cut: rows sorted by (timestamp, file order);
 *                  the first train-count rows are train, then valid, then test
 *                  (counts from the rule below applied to all n rows; equal
 *                  timestamps at a cut are split by file order).
 *   temporal-user  each user's rows sorted by (timestamp, file order) and cut
 *                  by the per-user rule: oldest train, then valid, newest test.
 *   cold-items     round(share * n_items) items (a seeded shuffle) are held
 *                  out entirely: none of their rows in train; the first half
 *                  (floor) of them give the valid rows, the rest the test rows.
 * Without timestamps, the time order of loo and temporal* is the file order.
 *
 * MMRec's per-user count rule, for a user with n rows and ratios (a, b, c):
 *     train = ceil(a n), valid = floor(b n), test = n - train - valid,
 * then, while train keeps at least one row, an empty valid (when b > 0) and
 * then an empty test (when c > 0) takes one row from train; users with n < 3
 * keep everything in train. At 8:1:1 this is valid = floor(n / 10),
 * test = round-half-up(n / 10) for n >= 10 and n-2 / 1 / 1 for 3 <= n < 10:
 * it reproduces the x_label counts of every one of the 601 users of
 * /shared/data/mls/mls.inter (tests/data/test_split.c checks it).
 *
 * Leakage: a (user, item) pair is stored once, in the first of train, valid,
 * test that holds it, so duplicate rows never put a train pair in test.
 * Cost: O(n log n) for the time sorts, O(n) otherwise, plus the CSR builds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "dataset.h"

static const double default_ratio[3] = {0.8, 0.1, 0.1};
#define DEFAULT_COLD_SHARE 0.2

/* ---- parsing the rule ---------------------------------------------------- */

static const char *const split_names[] = {"column",        "random",     "loo", "temporal",
                                          "temporal-user", "cold-items", "default"};

const char *pr_split_name(int kind) {
    return kind >= 0 && kind <= PR_SPLIT_DEFAULT ? split_names[kind] : "unknown";
}

/* "a,b[,c]" -> ratio normalised to sum 1. */
static int parse_ratio(const char *spec, const char *s, double ratio[3], pr_error *err) {
    double v[3] = {0, 0, 0};
    int n = 0;
    while (n < 3) {
        char *e;
        v[n] = strtod(s, &e);
        if (e == s || !isfinite(v[n]) || v[n] < 0) break;
        n++;
        s = e;
        if (*s != ',') break;
        s++;
    }
    double sum = v[0] + v[1] + v[2];
    if (*s != '\0' || n < 2 || !(v[0] > 0) || !(sum > 0))
        return pr_err(err, PR_E_ARG,
                      "split '%s': ratios must be 2 or 3 non-negative numbers with train > 0 "
                      "(e.g. random:0.8,0.1,0.1)", spec);
    for (int k = 0; k < 3; k++) ratio[k] = v[k] / sum;
    return 0;
}

int pr_split_parse(const char *spec, pr_split_opts *o, pr_error *err) {
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    int kind = -1;
    for (int k = 0; k <= PR_SPLIT_DEFAULT; k++)
        if (strlen(split_names[k]) == len && strncmp(spec, split_names[k], len) == 0) kind = k;
    if (kind < 0)
        return pr_err(err, PR_E_ARG, "split '%s': unknown rule (column, random, loo, temporal, "
                                     "temporal-user, cold-items, default)", spec);
    o->kind = kind;
    memcpy(o->ratio, default_ratio, sizeof o->ratio);
    o->cold_share = DEFAULT_COLD_SHARE;
    if (!colon) return 0;
    const char *arg = colon + 1;
    if (kind == PR_SPLIT_RANDOM || kind == PR_SPLIT_TEMPORAL_GLOBAL || kind == PR_SPLIT_TEMPORAL_USER)
        return parse_ratio(spec, arg, o->ratio, err);
    if (kind == PR_SPLIT_COLD_ITEMS) {
        char *e;
        double share = strtod(arg, &e);
        if (e == arg || *e != '\0' || !(share > 0 && share < 1))
            return pr_err(err, PR_E_ARG, "split '%s': share of cold items must be in (0, 1)", spec);
        o->cold_share = share;
        return 0;
    }
    return pr_err(err, PR_E_ARG, "split '%s': rule '%s' takes no argument", spec, split_names[kind]);
}

void pr_split_user_counts(int64_t n, const double ratio[3], int64_t cnt[3]) {
    cnt[0] = n, cnt[1] = cnt[2] = 0;
    if (n < 3) return;
    const double eps = 1e-9; /* 0.8 * 15 must be 12, not 12.000000000000002 */
    int64_t train = (int64_t)ceil(ratio[0] * (double)n - eps);
    int64_t valid = (int64_t)floor(ratio[1] * (double)n + eps);
    train = PR_MIN(PR_MAX(train, 1), n);
    valid = PR_MIN(valid, n - train);
    int64_t test = n - train - valid;
    if (ratio[1] > 0 && valid == 0 && train > 1) valid++, train--;
    if (ratio[2] > 0 && test == 0 && train > 1) test++, train--;
    cnt[0] = train, cnt[1] = valid, cnt[2] = test;
}

/* ---- rules: each fills lab[n] with 0/1/2 ---------------------------------- */

typedef struct by_user {
    int64_t *start; /* (n_users + 1) */
    int64_t *row;   /* (n) row indices grouped by user, file order inside a user */
} by_user;

static int group_by_user(const pr_interactions *x, by_user *g) {
    int32_t nu = x->users->n;
    g->start = pr_calloc((size_t)nu + 2, sizeof *g->start);
    g->row = pr_malloc((size_t)x->n + 1, sizeof *g->row);
    if (!g->start || !g->row) return PR_E_NOMEM;
    for (int64_t k = 0; k < x->n; k++) g->start[x->user[k] + 2]++;
    for (int32_t u = 0; u < nu; u++) g->start[u + 2] += g->start[u + 1];
    for (int64_t k = 0; k < x->n; k++) g->row[g->start[x->user[k] + 1]++] = k; /* counting sort */
    return 0;
}

static void by_user_free(by_user *g) {
    free(g->start);
    free(g->row);
}

typedef struct ts_row {
    int64_t ts, row;
} ts_row;

static int ts_row_cmp(const void *a, const void *b) {
    const ts_row *p = a, *q = b;
    if (p->ts != q->ts) return p->ts < q->ts ? -1 : 1;
    return (p->row > q->row) - (p->row < q->row);
}

/* Sort rows[0..n) by (timestamp, file order) in place, with tmp (n) scratch. */
static void sort_by_time(const pr_interactions *x, int64_t *rows, int64_t n, ts_row *tmp) {
    if (!x->ts) return; /* file order is the time order */
    for (int64_t k = 0; k < n; k++) tmp[k] = (ts_row){x->ts[rows[k]], rows[k]};
    qsort(tmp, (size_t)n, sizeof *tmp, ts_row_cmp);
    for (int64_t k = 0; k < n; k++) rows[k] = tmp[k].row;
}

/* rows[0..n) are in order: the first cnt[0] train, next cnt[1] valid, rest test. */
static void label_in_order(const int64_t *rows, const int64_t cnt[3], int8_t *lab) {
    for (int64_t k = 0; k < cnt[0] + cnt[1] + cnt[2]; k++)
        lab[rows[k]] = (int8_t)(k < cnt[0] ? 0 : k < cnt[0] + cnt[1] ? 1 : 2);
}

static void shuffle_i64(pr_rng *r, int64_t *a, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = i < UINT32_MAX ? (int64_t)pr_rng_below(r, (uint32_t)(i + 1))
                                   : (int64_t)((((uint64_t)pr_rng_u32(r) << 32) | pr_rng_u32(r)) %
                                               (uint64_t)(i + 1));
        int64_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static int split_per_user(const pr_interactions *x, const pr_split_opts *o, int8_t *lab) {
    by_user g = {0};
    ts_row *tmp = NULL;
    int rc = group_by_user(x, &g);
    if (rc == 0 && o->kind != PR_SPLIT_RANDOM && !(tmp = pr_malloc((size_t)x->n + 1, sizeof *tmp)))
        rc = PR_E_NOMEM;
    pr_rng r;
    pr_rng_init(&r, o->seed, 0x5eed0001);
    for (int32_t u = 0; rc == 0 && u < x->users->n; u++) {
        int64_t *rows = g.row + g.start[u], n = g.start[u + 1] - g.start[u], cnt[3];
        if (o->kind == PR_SPLIT_RANDOM) {
            shuffle_i64(&r, rows, n);
            pr_split_user_counts(n, o->ratio, cnt);
        } else {
            sort_by_time(x, rows, n, tmp);
            if (o->kind == PR_SPLIT_LOO) {
                cnt[0] = n < 3 ? n : n - 2;
                cnt[1] = cnt[2] = n < 3 ? 0 : 1;
            } else {
                pr_split_user_counts(n, o->ratio, cnt);
            }
        }
        label_in_order(rows, cnt, lab);
    }
    free(tmp);
    by_user_free(&g);
    return rc;
}

static int split_temporal_global(const pr_interactions *x, const pr_split_opts *o, int8_t *lab) {
    int64_t *rows = pr_malloc((size_t)x->n + 1, sizeof *rows), cnt[3];
    ts_row *tmp = pr_malloc((size_t)x->n + 1, sizeof *tmp);
    int rc = rows && tmp ? 0 : PR_E_NOMEM;
    if (rc == 0) {
        for (int64_t k = 0; k < x->n; k++) rows[k] = k;
        sort_by_time(x, rows, x->n, tmp);
        pr_split_user_counts(x->n, o->ratio, cnt);
        label_in_order(rows, cnt, lab);
    }
    free(rows);
    free(tmp);
    return rc;
}

static int split_cold_items(const pr_interactions *x, const pr_split_opts *o, int8_t *lab,
                            pr_error *err) {
    int32_t ni = x->items->n;
    int64_t n_cold = (int64_t)floor(o->cold_share * ni + 0.5);
    if (n_cold < 2 || n_cold >= ni)
        return pr_err(err, PR_E_ARG, "split 'cold-items:%g': holds out %lld of %d items; need at "
                                     "least 2 and fewer than all", o->cold_share, (long long)n_cold, ni);
    int64_t *items = pr_malloc((size_t)ni, sizeof *items);
    int8_t *item_lab = pr_calloc((size_t)ni, 1);
    if (!items || !item_lab) {
        free(items);
        free(item_lab);
        return pr_err(err, PR_E_NOMEM, "split: %d items", ni);
    }
    pr_rng r;
    pr_rng_init(&r, o->seed, 0x5eed0002);
    for (int32_t i = 0; i < ni; i++) items[i] = i;
    shuffle_i64(&r, items, ni);
    for (int64_t k = 0; k < n_cold; k++) item_lab[items[k]] = k < n_cold / 2 ? 1 : 2;
    for (int64_t k = 0; k < x->n; k++) lab[k] = item_lab[x->item[k]];
    free(items);
    free(item_lab);
    return 0;
}

/* ---- the dataset --------------------------------------------------------- */

/* CSR of the rows labelled `want`, leaving out pairs already in prev[0..n_prev). */
static int build_part(const pr_interactions *x, const int8_t *lab, int want, pr_csr *const *prev,
                      int n_prev, int32_t *ru, int32_t *ri, pr_csr **out, pr_error *err) {
    int64_t m = 0;
    for (int64_t k = 0; k < x->n; k++) {
        if (lab[k] != want) continue;
        int seen = 0;
        for (int p = 0; p < n_prev && !seen; p++) seen = pr_csr_has(prev[p], x->user[k], x->item[k]);
        if (seen) continue;
        ru[m] = x->user[k];
        ri[m] = x->item[k];
        m++;
    }
    return pr_csr_from_coo(x->users->n, x->items->n, m, ru, ri, NULL, out, err);
}

static int assign_labels(const pr_interactions *x, pr_split_opts *o, int8_t *lab, pr_error *err) {
    if (o->kind == PR_SPLIT_DEFAULT) o->kind = x->label ? PR_SPLIT_COLUMN : PR_SPLIT_RANDOM;
    double sum = o->ratio[0] + o->ratio[1] + o->ratio[2];
    if (!(o->ratio[0] > 0 && o->ratio[1] >= 0 && o->ratio[2] >= 0 && fabs(sum - 1) < 1e-6))
        memcpy(o->ratio, default_ratio, sizeof o->ratio); /* unset or invalid: 8:1:1 */
    switch (o->kind) {
    case PR_SPLIT_COLUMN:
        if (!x->label)
            return pr_err(err, PR_E_ARG, "split 'column': the interactions have no split column "
                                         "(x_label); use random, loo, temporal or cold-items");
        memcpy(lab, x->label, (size_t)x->n);
        return 0;
    case PR_SPLIT_RANDOM:
    case PR_SPLIT_LOO:
    case PR_SPLIT_TEMPORAL_USER:
        return split_per_user(x, o, lab) ? pr_err(err, PR_E_NOMEM, "split: out of memory") : 0;
    case PR_SPLIT_TEMPORAL_GLOBAL:
        return split_temporal_global(x, o, lab) ? pr_err(err, PR_E_NOMEM, "split: out of memory") : 0;
    case PR_SPLIT_COLD_ITEMS:
        return split_cold_items(x, o, lab, err);
    default:
        return pr_err(err, PR_E_ARG, "split: unknown rule %d", o->kind);
    }
}

int pr_dataset_split(pr_interactions *x, const pr_split_opts *opts, pr_dataset **out, pr_error *err) {
    pr_split_opts o = {PR_SPLIT_DEFAULT, {0.8, 0.1, 0.1}, DEFAULT_COLD_SHARE, 0};
    if (opts) o = *opts;
    if (!x) return pr_err(err, PR_E_ARG, "split: no interactions");
    pr_dataset *d = pr_calloc(1, sizeof *d);
    int8_t *lab = pr_malloc((size_t)x->n + 1, 1);
    int32_t *ru = pr_malloc((size_t)x->n + 1, sizeof *ru), *ri = pr_malloc((size_t)x->n + 1, sizeof *ri);
    int rc = 0;
    if (!d || !lab || !ru || !ri) { rc = pr_err(err, PR_E_NOMEM, "split: %lld rows", (long long)x->n); goto done; }
    if (x->n == 0) { rc = pr_err(err, PR_E_ARG, "split: no interactions"); goto done; }
    if ((rc = assign_labels(x, &o, lab, err))) goto done;
    if ((rc = build_part(x, lab, 0, NULL, 0, ru, ri, &d->train, err)) ||
        (rc = build_part(x, lab, 1, &d->train, 1, ru, ri, &d->valid, err)) ||
        (rc = build_part(x, lab, 2, (pr_csr *[]){d->train, d->valid}, 2, ru, ri, &d->test, err)))
        goto done;
    d->n_users = x->users->n;
    d->n_items = x->items->n;
    d->split = o.kind;
    if (!(d->cold_item = pr_calloc((size_t)d->n_items + 1, 1))) {
        rc = pr_err(err, PR_E_NOMEM, "split: %d items", d->n_items);
        goto done;
    }
    for (int32_t i = 0; i < d->n_items; i++) d->cold_item[i] = 1;
    for (int64_t k = 0; k < d->train->nnz; k++) d->cold_item[d->train->indices[k]] = 0;
    d->users = x->users;
    d->items = x->items;
    x->users = x->items = NULL;
    *out = d;
    d = NULL;
done:
    pr_dataset_free(d);
    pr_interactions_free(x);
    free(lab);
    free(ru);
    free(ri);
    return rc;
}

void pr_dataset_free(pr_dataset *d) {
    if (!d) return;
    pr_csr_free(d->train);
    pr_csr_free(d->valid);
    pr_csr_free(d->test);
    pr_idmap_free(d->users);
    pr_idmap_free(d->items);
    free(d->cold_item);
    free(d);
}
