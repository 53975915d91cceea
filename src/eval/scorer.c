/* eval/scorer.c: block scoring through one GEMM (see scorer.h). */
#include "scorer.h"

#include <string.h>

#include "core/mat.h"

int pr_scorer_score(const pr_scorer *s, const int32_t *users, int n, float *scratch, float *out) {
    if (s->score) return s->score(s->ctx, users, n, out);
    const float *Ub = scratch;
    int contiguous = 1;
    for (int r = 1; r < n && contiguous; r++) contiguous = users[r] == users[0] + r;
    if (contiguous) {
        Ub = s->U + (int64_t)users[0] * s->d;
    } else {
        for (int r = 0; r < n; r++)
            memcpy(scratch + (int64_t)r * s->d, s->U + (int64_t)users[r] * s->d,
                   (size_t)s->d * sizeof(float));
    }
    if (s->b) {
        for (int r = 0; r < n; r++) memcpy(out + (int64_t)r * s->n_items, s->b, (size_t)s->n_items * sizeof(float));
    }
    /* out (n, n_items) = Ub (n, d) . V^T (d, n_items) (+ b) */
    pr_gemm(PR_NOTRANS, PR_TRANS, n, s->n_items, s->d, 1.0f, Ub, s->d, s->V, s->d,
            s->b ? 1.0f : 0.0f, out, s->n_items);
    return 0;
}
