/* eval/cold.c: cold-item and cold-user protocols (see cold.h). */
#include "cold.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

uint8_t *pr_cold_items(const pr_csr *train) {
    uint8_t *cold = pr_malloc((size_t)train->n_cols + 1, 1);
    if (!cold) return NULL;
    memset(cold, 1, (size_t)train->n_cols);
    for (int64_t k = 0; k < train->nnz; k++) cold[train->indices[k]] = 0;
    return cold;
}

/* A copy of m keeping the entries whose column has keep_col[c] == want and
 * whose row has keep_row[r] == want_row (keep_row NULL: every row). */
static int filter_csr(const pr_csr *m, const uint8_t *keep_col, int want, const uint8_t *keep_row,
                      int want_row, pr_csr **out, pr_error *err) {
    int64_t nnz = 0;
    for (int32_t r = 0; r < m->n_rows; r++) {
        if (keep_row && (keep_row[r] != 0) != want_row) continue;
        for (int64_t p = m->indptr[r]; p < m->indptr[r + 1]; p++)
            nnz += !keep_col || (keep_col[m->indices[p]] != 0) == want;
    }
    pr_csr *c = pr_csr_new(m->n_rows, m->n_cols, nnz, 0);
    if (!c) return pr_err(err, PR_E_NOMEM, "cold protocol: %lld entries", (long long)nnz);
    int64_t w = 0;
    c->indptr[0] = 0;
    for (int32_t r = 0; r < m->n_rows; r++) {
        if (!keep_row || (keep_row[r] != 0) == want_row)
            for (int64_t p = m->indptr[r]; p < m->indptr[r + 1]; p++)
                if (!keep_col || (keep_col[m->indices[p]] != 0) == want) c->indices[w++] = m->indices[p];
        c->indptr[r + 1] = w;
    }
    *out = c;
    return 0;
}

int pr_cold_evaluate(const pr_scorer *s, const pr_csr *target, const uint8_t *cold,
                     const pr_eval_opts *o, pr_pool *pool, pr_cold_report *out, pr_error *err) {
    memset(out, 0, sizeof *out);
    pr_csr *tc = NULL, *tw = NULL;
    uint8_t *cand = pr_calloc((size_t)target->n_cols + 1, 1), *warm = pr_malloc((size_t)target->n_cols + 1, 1);
    int rc = 0;
    if (!cand || !warm) { rc = pr_err(err, PR_E_NOMEM, "cold protocol"); goto done; }
    for (int32_t i = 0; i < target->n_cols; i++) {
        warm[i] = !cold[i];
        out->n_cold_items += cold[i] != 0;
    }
    if ((rc = filter_csr(target, cold, 1, NULL, 0, &tc, err)) || (rc = filter_csr(target, cold, 0, NULL, 0, &tw, err)))
        goto done;
    for (int64_t k = 0; k < tc->nnz; k++) cand[tc->indices[k]] = 1;
    for (int32_t i = 0; i < target->n_cols; i++) out->n_cold_targets += cand[i];
    out->n_cold_rows = tc->nnz;
    out->n_warm_rows = tw->nnz;
    pr_eval_opts e = *o;
    e.candidates = NULL;
    float *flag = pr_malloc((size_t)target->n_cols + 1, sizeof *flag);
    if (!flag) { rc = pr_err(err, PR_E_NOMEM, "cold protocol"); goto done; }
    for (int32_t i = 0; i < target->n_cols; i++) flag[i] = cold[i] ? 1.0f : 0.0f;
    e.popularity = flag; /* ARP@K over a 0/1 "is cold" score = share of cold items in the top K */
    rc = pr_evaluate(s, tc, &e, pool, &out->cold_all, err);
    free(flag);
    if (rc) goto done;
    for (int k = 0; k < out->cold_all.n_k; k++) out->cold_share[k] = out->cold_all.arp_sum[k];
    e.popularity = o->popularity;
    if ((rc = pr_evaluate(s, tc, &e, pool, &out->cold_all, err))) goto done;
    if ((rc = pr_evaluate(s, target, &e, pool, &out->all, err))) goto done;
    e.candidates = cand;
    if ((rc = pr_evaluate(s, tc, &e, pool, &out->cold_only, err))) goto done;
    e.candidates = warm;
    if ((rc = pr_evaluate(s, tw, &e, pool, &out->warm, err))) goto done;
done:
    pr_csr_free(tc);
    pr_csr_free(tw);
    free(cand);
    free(warm);
    return rc;
}

/* ---- cold users ------------------------------------------------------------ */

void pr_cold_users_free(pr_cold_users *c) {
    free(c->held);
    pr_csr_free(c->train);
    pr_csr_free(c->valid);
    pr_csr_free(c->test);
    memset(c, 0, sizeof *c);
}

int pr_cold_users_hold_out(pr_dataset *d, double share, uint64_t seed, pr_cold_users *out,
                           pr_error *err) {
    memset(out, 0, sizeof *out);
    if (!(share > 0 && share <= 0.9)) return pr_err(err, PR_E_ARG, "cold users: share %g not in (0, 0.9]", share);
    int32_t nu = d->n_users, n_act = 0;
    int32_t *act = pr_malloc((size_t)nu + 1, sizeof *act);
    pr_csr *m[6] = {0};
    int rc = 0;
    if (!act || !(out->held = pr_calloc((size_t)nu + 1, 1))) { rc = pr_err(err, PR_E_NOMEM, "cold users"); goto fail; }
    for (int32_t u = 0; u < nu; u++)
        if (pr_csr_row_len(d->train, u) > 0) act[n_act++] = u;
    int32_t n_hold = (int32_t)floor(share * n_act + 0.5);
    if (n_hold < 1 || n_hold >= n_act) { rc = pr_err(err, PR_E_ARG, "cold users: share %g holds out %d of %d users", share, n_hold, n_act); goto fail; }
    pr_rng r;
    pr_rng_init(&r, seed, 0x636f6c64ULL);
    for (int32_t k = 0; k < n_hold; k++) { /* partial Fisher-Yates */
        int32_t j = k + (int32_t)pr_rng_below(&r, (uint32_t)(n_act - k)), t = act[k];
        act[k] = act[j];
        act[j] = t;
        out->held[act[k]] = 1;
    }
    out->n = n_hold;
    pr_csr *src[3] = {d->train, d->valid, d->test};
    for (int s = 0; s < 3; s++)
        if ((rc = filter_csr(src[s], NULL, 0, out->held, 1, &m[s], err)) ||
            (rc = filter_csr(src[s], NULL, 0, out->held, 0, &m[3 + s], err)))
            goto fail;
    out->train = m[0];
    out->valid = m[1];
    out->test = m[2];
    for (int s = 0; s < 3; s++) pr_csr_free(src[s]);
    d->train = m[3];
    d->valid = m[4];
    d->test = m[5];
    free(act);
    return 0;
fail:
    for (int s = 0; s < 6; s++) pr_csr_free(m[s]);
    free(act);
    free(out->held);
    memset(out, 0, sizeof *out);
    return rc;
}

int pr_cold_users_history(const pr_cold_users *c, int k, int k_min, uint64_t seed, pr_csr **hist,
                          pr_error *err) {
    const pr_csr *t = c->train;
    if (k < 1 || k > k_min) return pr_err(err, PR_E_ARG, "cold users: k=%d must be in [1, %d]", k, k_min);
    int64_t n = 0, cap = 0;
    for (int32_t u = 0; u < t->n_rows; u++)
        if (pr_csr_row_len(t, u) >= k_min) cap += k;
    int32_t *ru = pr_malloc((size_t)cap + 1, sizeof *ru), *ri = pr_malloc((size_t)cap + 1, sizeof *ri);
    int32_t *perm = NULL;
    int64_t perm_cap = 0;
    int rc = 0;
    if (!ru || !ri) { rc = pr_err(err, PR_E_NOMEM, "cold users"); goto done; }
    for (int32_t u = 0; u < t->n_rows; u++) {
        int64_t len = pr_csr_row_len(t, u);
        if (len < k_min) continue;
        if (len > perm_cap) {
            int32_t *p = pr_realloc(perm, (size_t)len, sizeof *p);
            if (!p) { rc = pr_err(err, PR_E_NOMEM, "cold users"); goto done; }
            perm = p;
            perm_cap = len;
        }
        memcpy(perm, t->indices + t->indptr[u], (size_t)len * sizeof *perm);
        pr_rng r; /* per user, so every k sees the same permutation */
        pr_rng_init(&r, seed, (uint64_t)u);
        for (int64_t q = 0; q < k; q++) {
            int64_t j = q + pr_rng_below(&r, (uint32_t)(len - q));
            int32_t tmp = perm[q];
            perm[q] = perm[j];
            perm[j] = tmp;
            ru[n] = u;
            ri[n++] = perm[q];
        }
    }
    rc = pr_csr_from_coo(t->n_rows, t->n_cols, n, ru, ri, NULL, hist, err);
done:
    free(ru);
    free(ri);
    free(perm);
    return rc;
}

int pr_cold_users_target(const pr_cold_users *c, int k_min, pr_csr **target, pr_error *err) {
    uint8_t *ok = pr_calloc((size_t)c->train->n_rows + 1, 1);
    if (!ok) return pr_err(err, PR_E_NOMEM, "cold users");
    for (int32_t u = 0; u < c->train->n_rows; u++) ok[u] = pr_csr_row_len(c->train, u) >= k_min;
    int rc = filter_csr(c->test, NULL, 0, ok, 1, target, err);
    free(ok);
    return rc;
}
