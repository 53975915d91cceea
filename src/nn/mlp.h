/* nn/mlp.h: multilayer perceptron, a stack of Linear + activation, with
 * optional inverted dropout after every hidden activation.
 *
 *   x_0 = x (B, dims[0])
 *   z_l = x_l W_l^T + b_l                 (B, dims[l+1])     l = 0 .. L-1
 *   h_l = act(z_l)  (out_act for l = L-1)
 *   x_{l+1} = dropout_p(h_l)              hidden layers only (l < L-1)
 *   y = h_{L-1}                           (B, dims[L])
 * Concatenation fusion is an MLP over [e_id, W_v v, W_t t] (nn/concat.h);
 * an NCF scorer is an MLP over [p_u, q_i] ending in one unit.
 *
 * Memory: the caller owns one activation buffer of pr_mlp_act_size(m, B)
 * floats holding everything backward needs (z, h, dropout masks) and
 * backward's scratch; the layer never allocates. The buffer belongs to one
 * forward/backward pair: reuse it for the next batch, not concurrently.
 * Costs: those of the Linear layers, 2 B sum(dims[l] dims[l+1]) flops
 * forward and twice that backward. */
#ifndef PR_NN_MLP_H
#define PR_NN_MLP_H

#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"
#include "nn/act.h"
#include "nn/linear.h"
#include "nn/param.h"

#define PR_MLP_MAX_LAYERS 8

typedef struct pr_mlp {
    int n_layers;                     /* L >= 1 */
    int dims[PR_MLP_MAX_LAYERS + 1];  /* widths: dims[0] input, dims[L] output */
    pr_linear lin[PR_MLP_MAX_LAYERS]; /* "<name>.<l>.W" (dims[l+1], dims[l]), ".b" */
    pr_act act;                       /* after every hidden layer */
    pr_act out_act;                   /* after the last layer (often PR_ACT_NONE) */
    float dropout;                    /* after every hidden activation, in [0, 1) */
} pr_mlp;

/* Declare the layers' tensors in p. dims has n_layers + 1 entries >= 1.
 * PR_E_ARG for a bad layer count, width or dropout; tensor errors are sticky
 * in p (reported by pr_params_alloc). */
int pr_mlp_init(pr_mlp *m, pr_params *p, const char *name, int n_layers, const int *dims,
                pr_act act, pr_act out_act, float dropout, pr_error *err);
/* After pr_params_alloc: Xavier-uniform weights, zero biases. */
void pr_mlp_init_params(const pr_mlp *m, pr_params *p, pr_rng *r);

/* Floats of the activation buffer for a batch of B rows. */
int64_t pr_mlp_act_size(const pr_mlp *m, int B);

/* Forward x (B, dims[0]) -> returns y (B, dims[L]), a view into act. train
 * enables dropout, drawn from r (may be NULL when not training or p = 0). */
const float *pr_mlp_forward(const pr_mlp *m, const float *w, const float *x, float *act, int B,
                            int train, pr_rng *r);
/* Backward of the last forward on act: dy (B, dims[L]) -> dx (B, dims[0])
 * (overwritten; NULL if not needed), parameter gradients += into g. act
 * must be the buffer that forward filled; its scratch part is overwritten. */
void pr_mlp_backward(const pr_mlp *m, const float *w, float *g, const float *x, float *act,
                     const float *dy, float *dx, int B);

/* Reference forward in double, for gradient checks and tests: y (B,
 * dims[L]) from x (B, dims[0]) with scratch of pr_mlp_ref_size(m, B)
 * doubles. Dropout draws the same masks as pr_mlp_forward for the same rng
 * state. */
int64_t pr_mlp_ref_size(const pr_mlp *m, int B);
void pr_mlp_forward_f64(const pr_mlp *m, const float *w, const double *x, double *y,
                        double *scratch, int B, int train, pr_rng *r);

#endif
