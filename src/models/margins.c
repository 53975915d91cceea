/* models/margins.c: BPR margins over a joint user-item table (see margins.h). */
#include "models/margins.h"

#include "core/mat.h"

typedef struct {
    const pr_batch *bt;
    const float *E, *N;
    int32_t nu;
    int d;
    float *x;
    double *ls;
} margin_job;

static void margin_slice(void *ctx, int ith, int nth) {
    const margin_job *J = ctx;
    const pr_batch *bt = J->bt;
    int d = J->d;
    int64_t lo, hi;
    pr_split(bt->B, ith, nth, &lo, &hi);
    for (int64_t s = lo; s < hi; s++) {
        int64_t u = bt->u[s], i = J->nu + bt->i[s], j = J->nu + bt->j[s * bt->n_neg];
        const float *eu = J->E + u * d, *ei = J->E + i * d, *ej = J->E + j * d;
        float x = 0;
        for (int k = 0; k < d; k++) x += eu[k] * (ei[k] - ej[k]);
        J->x[s] = x;
        double *l = J->ls + 4 * s;
        l[0] = pr_fsoftplus(-x);
        l[1] = pr_sqnorm(J->N + u * d, d);
        l[2] = pr_sqnorm(J->N + i * d, d);
        l[3] = pr_sqnorm(J->N + j * d, d);
    }
}

void pr_bpr_margins(pr_pool *pool, const pr_batch *bt, const float *E, const float *N, int32_t nu, int d, float *x,
                    double *ls) {
    margin_job J = {bt, E, N, nu, d, x, ls};
    pr_pool_run(pool, margin_slice, &J);
}
