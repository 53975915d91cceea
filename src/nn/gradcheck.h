/* nn/gradcheck.h: finite-difference check of analytic gradients.
 *
 * Given a callback that evaluates the loss at the current contents of a
 * parameter block and the analytic gradient computed at those contents, each
 * checked entry w_i is perturbed in place and the numeric derivative
 *   order 2: (f(w+h) - f(w-h)) / 2h                              error O(h^2)
 *   order 4: (8 (f(w+h) - f(w-h)) - (f(w+2h) - f(w-2h))) / 12h    error O(h^4)
 * (the stencil uses the float-rounded steps actually taken, so it is exact
 * for cubics) is compared with the analytic one by
 *   rel = |g_a - g_n| / max(floor, |g_a| + |g_n|).
 * w_i is restored bit for bit afterwards, and the loss is evaluated once more
 * at the end so the callback's caches hold the unperturbed state.
 *
 * Two presets, by what the callback computes (docs/nn.md has the numbers):
 *   PR_GRADCHECK_F64: the loss through double-precision reference forwards
 *     (pr_*_forward_f64: float parameters, double math). No rounding noise,
 *     so h = 1e-3, tol 1e-4, floor 1e-5: a 0.1 % error anywhere fails. The
 *     nn layer tests use this.
 *   PR_GRADCHECK_F32: the model's real float forward with the loss summed in
 *     double. Float rounding leaves ~1e-5 * |loss| of noise in every
 *     evaluation, so h = 3e-2, tol 1e-2, floor 1e-3: sign errors and missing
 *     terms fail, a 1 % scale error may not.
 * Non-smooth functions (ReLU) need inputs at least 2h from their kinks.
 *
 * Use on whole models: copy the gradient of one backward (m->grads, or
 * ops->dense_grad for row-sparse models) into g, then pass a callback that
 * runs the model's forward on the same batch and returns its loss. Anything
 * random in the forward (dropout, sampling) must be fixed between calls.
 * Costs: 4 loss evaluations per checked entry (2 at order 2); check a random
 * subset per tensor on big blocks. */
#ifndef PR_NN_GRADCHECK_H
#define PR_NN_GRADCHECK_H

#include <stdint.h>

#include "core/err.h"
#include "nn/param.h"

/* Loss at the current values of the block (accumulated in double). */
typedef double (*pr_gradcheck_fn)(void *ctx);

typedef struct pr_gradcheck_cfg {
    double eps;         /* step h, absolute */
    int order;          /* 2 or 4 (4) */
    double tol;         /* largest relative error that passes */
    double floor;       /* denominator floor for near-zero gradients */
    int64_t per_tensor; /* with a layout: random entries per tensor (0 = all) */
    int64_t max_checks; /* without a layout: random entries of the block (0 = all) */
    uint64_t seed;      /* picks the random entries */
} pr_gradcheck_cfg;

typedef struct pr_gradcheck_result {
    int64_t n_checked, n_bad;                /* entries compared; entries with rel > tol */
    double worst_rel;                        /* largest relative error seen */
    int64_t worst_idx;                       /* its flat index */
    char worst_name[PR_PARAM_NAME_MAX + 48]; /* "fuse.W1[3,7]", or "[1234]" without a layout */
    double worst_analytic, worst_numeric;
} pr_gradcheck_result;

enum { PR_GRADCHECK_F32 = 0, PR_GRADCHECK_F64 = 1 };

void pr_gradcheck_defaults(pr_gradcheck_cfg *c, int precision);
double pr_gradcheck_rel(double g_analytic, double g_numeric, double floor);

/* Check g (n) against f over the block w (n). names (may be NULL) is the
 * layout describing w, used to name entries and to sample per tensor; it may
 * describe w itself (names->w == w) or an identical layout. Returns 0 when
 * every checked entry passes, PR_E_NUMERIC when one fails (err names the
 * worst entry) or the loss is not finite, PR_E_ARG for a bad cfg. res may be
 * NULL; cfg NULL means the PR_GRADCHECK_F32 preset. */
int pr_gradcheck(float *w, const float *g, int64_t n, const pr_params *names, pr_gradcheck_fn f,
                 void *ctx, const pr_gradcheck_cfg *cfg, pr_gradcheck_result *res, pr_error *err);

#endif
