/* nn/linear.h: fully connected layer, y = x W^T + b.
 *
 * W is stored (out, in) like PyTorch's nn.Linear, so weights exported from or
 * compared with PyTorch need no transpose, and Xavier's fan_in is W's column
 * count. Parameters live in a pr_params block; the layer keeps only offsets,
 * so forward/backward take the block base (w, g): a gradient check can hand
 * it a perturbed block and a model its own.
 *
 *   forward : y (B, out) = x (B, in) . W^T (in, out) + b (1, out)
 *   backward: dx (B, in)  = dy (B, out) . W (out, in)        (overwritten)
 *             dW (out, in) += dy^T (out, B) . x (B, in)      (accumulated)
 *             db (1, out)  += sum over rows of dy            (accumulated)
 * Costs: 2 B in out flops forward, twice that backward, all through pr_gemm.
 * Parameter gradients accumulate (so a layer may be used on several inputs,
 * e.g. the two towers of a siamese model); input gradients are overwritten,
 * which spares callers from zeroing activation gradients. */
#ifndef PR_NN_LINEAR_H
#define PR_NN_LINEAR_H

#include <stdint.h>

#include "nn/param.h"

typedef struct pr_linear {
    int in, out;
    int64_t W; /* offset of W (out, in) */
    int64_t b; /* offset of b (1, out), or -1 without bias */
} pr_linear;

/* Declare "<name>.W" (out, in) and, when bias, "<name>.b" (1, out) (flag
 * PR_PARAM_NO_DECAY). Errors are sticky in p (see param.h): returns 0 or the
 * negative code that pr_params_alloc will report. */
int pr_linear_init(pr_linear *l, pr_params *p, const char *name, int in, int out, int bias);
/* After pr_params_alloc: Xavier-uniform W, zero b. */
void pr_linear_init_params(const pr_linear *l, pr_params *p, pr_rng *r);

/* y (B, out) from x (B, in); w is the block base. y must not alias x. */
void pr_linear_forward(const pr_linear *l, const float *w, const float *x, float *y, int B);
/* dx (B, in) = dy W (dx may be NULL: not needed, e.g. raw features); dW, db
 * += into the gradient block g. x is the forward's input. */
void pr_linear_backward(const pr_linear *l, const float *w, float *g, const float *x,
                        const float *dy, float *dx, int B);

/* Reference forward in double (parameters read from the float block, math
 * and activations in double): for gradient checks and tests only. */
void pr_linear_forward_f64(const pr_linear *l, const float *w, const double *x, double *y, int B);

#endif
