/* tests/nn/nncheck.h: shared helpers for the nn gradient tests (header only,
 * static inline, so every test program compiles its own copy).
 *
 * A layer's output y is turned into a scalar by a fixed random projection
 * L = sum_k r_k y_k (accumulated in double); its gradient with respect to y
 * is r, which is what the test hands to the layer's backward. Inputs are
 * declared as tensors of the same parameter block ("x"), so the same check
 * covers dW, db and dx.
 *
 * Each layer is checked twice: against its double-precision reference
 * forward (PR_GRADCHECK_F64, tight) and against its real float forward
 * (PR_GRADCHECK_F32). nn_check runs the gradient check, then the mutation
 * sweep: for every tensor it corrupts the analytic gradient at the tensor's
 * largest entry (by +0.2 % for f64, +5 % for f32, by zeroing it, by flipping
 * its sign) and requires that each corruption fails and is blamed on that
 * entry. So a passing check means "such an error in any tensor would have
 * been caught", not just "nothing crashed". */
#ifndef PR_TESTS_NN_NNCHECK_H
#define PR_TESTS_NN_NNCHECK_H

#include <string.h>

#include "core/rng.h"
#include "nn/gradcheck.h"
#include "nn/param.h"
#include "t.h"

static inline double nn_proj(const float *r, const float *y, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)r[i] * y[i];
    return s;
}

static inline void nn_fill_normal(float *x, int64_t n, float std, pr_rng *r) {
    for (int64_t i = 0; i < n; i++) x[i] = std * pr_rng_normal(r);
}

/* Index of the largest |g| inside tensor t. */
static inline int64_t nn_argmax_abs(const float *g, const pr_param *t) {
    int64_t best = t->off;
    for (int64_t k = t->off; k < t->off + pr_param_size(t); k++)
        if (fabsf(g[k]) > fabsf(g[best])) best = k;
    return best;
}

static inline void nn_to_f64(const float *x, double *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i];
}

static inline double nn_proj_f64(const float *r, const double *y, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += r[i] * y[i];
    return s;
}

/* Gradient check of g against f over P (all entries) with the preset of
 * `precision`, then the mutation sweep. Prints the worst entry; returns the
 * worst relative error. */
static inline double nn_check(pr_params *P, const float *g, pr_gradcheck_fn f, void *ctx,
                              int precision) {
    pr_gradcheck_cfg cfg;
    pr_gradcheck_defaults(&cfg, precision);
    pr_gradcheck_result res;
    pr_error err = {0};
    int rc = pr_gradcheck(P->w, g, P->n_params, P, f, ctx, &cfg, &res, &err);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    fprintf(stderr,
            "  gradcheck %s: %lld entries, worst rel %.2e at %s (analytic %.6g, numeric %.6g)\n",
            precision == PR_GRADCHECK_F64 ? "f64" : "f32", (long long)res.n_checked, res.worst_rel,
            res.worst_name, res.worst_analytic, res.worst_numeric);
    CHECK_EQ_INT(rc, 0);
    CHECK(res.n_checked > 0);

    /* the f64 check must see a 0.2 % error, the f32 one a 5 % error */
    const float factors[3] = {precision == PR_GRADCHECK_F64 ? 1.002f : 1.05f, 0.0f, -1.0f};
    float *gm = malloc((size_t)P->n_params * sizeof *gm);
    for (int t = 0; t < P->n; t++) {
        const pr_param *pt = &P->t[t];
        int64_t i = nn_argmax_abs(g, pt);
        if (fabsf(g[i]) < 10 * cfg.floor) continue; /* nothing to corrupt */
        for (int k = 0; k < 3; k++) {
            memcpy(gm, g, (size_t)P->n_params * sizeof *gm);
            gm[i] *= factors[k];
            pr_gradcheck_result mr;
            int mrc = pr_gradcheck(P->w, gm, P->n_params, P, f, ctx, &cfg, &mr, NULL);
            CHECK_EQ_INT(mrc, PR_E_NUMERIC);
            CHECK_EQ_INT(mr.worst_idx, i);
            CHECK(strncmp(mr.worst_name, pt->name, strlen(pt->name)) == 0);
        }
    }
    free(gm);
    return res.worst_rel;
}

#endif
