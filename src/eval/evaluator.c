/* eval/evaluator.c: blocked full-ranking evaluation (see evaluator.h).
 * Cost: one (B x d) . (d x n_items) GEMM per block plus an O(n_items log K)
 * selection per user; the GEMM dominates for d >= 32. */
#include "evaluator.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"
#include "core/topk.h"

void pr_eval_opts_default(pr_eval_opts *o) {
    memset(o, 0, sizeof *o);
    o->ks[0] = 10;
    o->ks[1] = 20;
    o->n_k = 2;
    o->auc = 1;
    o->block = 64; /* a 64 x n_items score block stays in L2 for the selection pass */
}

typedef struct {
    const pr_scorer *s;
    const pr_csr *target;
    const pr_eval_opts *o;
    const int32_t *users; /* users with targets */
    int64_t n_users;
    int block;
    pr_metrics *part;     /* (nth) */
    uint8_t *seen;        /* (nth, n_items) coverage marks */
    int failed;
} eval_job;

static void mask_row(float *row, const pr_csr *m, int32_t u) {
    if (!m || u >= m->n_rows) return;
    for (int64_t k = m->indptr[u]; k < m->indptr[u + 1]; k++) row[m->indices[k]] = -INFINITY;
}

static void eval_slice(void *ctx, int ith, int nth) {
    eval_job *J = ctx;
    const pr_scorer *s = J->s;
    const pr_eval_opts *o = J->o;
    int B = J->block, kmax = o->ks[o->n_k - 1];
    float *scores = pr_malloc((size_t)B * s->n_items, sizeof *scores);
    float *scratch = pr_malloc((size_t)B * (s->d > 0 ? s->d : 1), sizeof *scratch);
    int32_t *idx = pr_malloc((size_t)kmax, sizeof *idx);
    float *val = pr_malloc((size_t)kmax, sizeof *val);
    pr_metrics *M = &J->part[ith];
    uint8_t *seen = J->seen + (int64_t)ith * s->n_items;
    if (!scores || !scratch || !idx || !val) {
        J->failed = 1;
        goto done;
    }
    /* blocks are dealt round-robin: block b goes to thread b % nth */
    int64_t n_blocks = (J->n_users + B - 1) / B;
    for (int64_t bl = ith; bl < n_blocks; bl += nth) {
        int64_t u0 = bl * B;
        int n = (int)PR_MIN((int64_t)B, J->n_users - u0);
        const int32_t *users = J->users + u0;
        if (pr_scorer_score(s, users, n, scratch, scores) != 0) {
            J->failed = 1;
            goto done;
        }
        for (int r = 0; r < n; r++) {
            int32_t u = users[r];
            float *row = scores + (int64_t)r * s->n_items;
            for (int mi = 0; mi < 3 && o->mask[mi]; mi++) mask_row(row, o->mask[mi], u);
            if (o->candidates)
                for (int32_t i = 0; i < s->n_items; i++)
                    if (!o->candidates[i]) row[i] = -INFINITY;
            const int32_t *rel = J->target->indices + J->target->indptr[u];
            int64_t n_rel = pr_csr_row_len(J->target, u);
            int got = pr_topk(row, s->n_items, kmax, idx, val);
            pr_metrics_add_user(M, idx, got, rel, n_rel);
            for (int ki = 0; ki < o->n_k; ki++) {
                int k = PR_MIN(o->ks[ki], got);
                double pop = 0;
                for (int j = 0; j < k; j++) {
                    seen[idx[j]] |= (uint8_t)(1u << ki);
                    if (o->popularity) pop += o->popularity[idx[j]];
                }
                if (k > 0) M->arp_sum[ki] += pop / k;
            }
            if (o->auc) {
                double a = pr_auc_user(row, s->n_items, rel, n_rel);
                if (a == a) {
                    M->auc_sum += a;
                    M->auc_users++;
                }
            }
        }
    }
done:
    free(scores);
    free(scratch);
    free(idx);
    free(val);
}

int pr_evaluate(const pr_scorer *s, const pr_csr *target, const pr_eval_opts *o, pr_pool *pool,
                pr_metrics *out, pr_error *err) {
    int nth = pr_pool_size(pool), rc = 0;
    if (o->n_k < 1) return pr_err(err, PR_E_ARG, "evaluate: no cut-off K given");
    if (target->n_cols != s->n_items)
        return pr_err(err, PR_E_ARG, "evaluate: target has %d items, model %d", target->n_cols, s->n_items);
    eval_job J = {.s = s, .target = target, .o = o, .block = o->block > 0 ? o->block : 64};
    int32_t *users = pr_malloc((size_t)target->n_rows, sizeof *users);
    J.part = pr_calloc((size_t)nth, sizeof *J.part);
    J.seen = pr_calloc((size_t)nth * s->n_items, 1);
    if (!users || !J.part || !J.seen) {
        rc = pr_err(err, PR_E_NOMEM, "evaluate: %d users", target->n_rows);
        goto done;
    }
    for (int32_t u = 0; u < target->n_rows && u < s->n_users; u++)
        if (pr_csr_row_len(target, u) > 0) users[J.n_users++] = u;
    J.users = users;
    for (int t = 0; t < nth; t++) pr_metrics_init(&J.part[t], o->ks, o->n_k);
    pr_blas_threads(1); /* each pool thread runs its own GEMMs */
    pr_pool_run(pool, eval_slice, &J);
    if (J.failed) {
        rc = pr_err(err, PR_E_NOMEM, "evaluate: out of memory for score blocks");
        goto done;
    }
    pr_metrics_init(out, o->ks, o->n_k);
    out->with_auc = o->auc;
    for (int t = 0; t < nth; t++) pr_metrics_merge(out, &J.part[t]);
    pr_metrics_finish(out);
    for (int ki = 0; ki < o->n_k; ki++) {
        int64_t covered = 0;
        for (int32_t i = 0; i < s->n_items; i++) {
            uint8_t any = 0;
            for (int t = 0; t < nth; t++) any |= J.seen[(int64_t)t * s->n_items + i];
            covered += (any >> ki) & 1u;
        }
        out->coverage[ki] = s->n_items ? (double)covered / s->n_items : 0.0;
    }
done:
    free(users);
    free(J.part);
    free(J.seen);
    return rc;
}
