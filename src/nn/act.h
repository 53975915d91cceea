/* nn/act.h: elementwise activations with forward and backward.
 *
 *   none        y = x                              y' = 1
 *   relu        y = max(x, 0)                      y' = [x > 0]
 *   leaky_relu  y = x > 0 ? x : alpha x            y' = x > 0 ? 1 : alpha
 *   tanh        y = tanh(x)                        y' = 1 - y^2
 *   sigmoid     y = 1 / (1 + e^-x) (stable form)   y' = y (1 - y)
 *   gelu        y = x Phi(x), Phi the normal CDF   y' = Phi(x) + x phi(x)
 * GELU is the exact erf form, PyTorch's nn.GELU() default (not the tanh
 * approximation of GPT-2): the derivative is then exact and cheap.
 * The derivative at the ReLU kink (x = 0) is taken as 0.
 *
 * Backward takes both the forward input x and output y (each activation reads
 * the one it needs), so callers keep both; y must not alias x. dx may alias
 * dy. Costs: one pass over n floats; erff/tanhf/expf dominate. */
#ifndef PR_NN_ACT_H
#define PR_NN_ACT_H

#include <stdint.h>

enum { PR_ACT_NONE = 0, PR_ACT_RELU, PR_ACT_LEAKY_RELU, PR_ACT_TANH, PR_ACT_SIGMOID, PR_ACT_GELU };

typedef struct pr_act {
    int kind;    /* PR_ACT_* */
    float alpha; /* negative slope of leaky_relu (0.01 is PyTorch's default) */
} pr_act;

/* "none", "relu", "leaky_relu", "tanh", "sigmoid", "gelu" -> kind, or -1. */
int pr_act_parse(const char *name);
const char *pr_act_name(int kind);

/* y (n) = f(x (n)) */
void pr_act_forward(pr_act a, const float *x, float *y, int64_t n);
/* dx (n) = f'(x) * dy, from the forward's x and y (n each). */
void pr_act_backward(pr_act a, const float *x, const float *y, const float *dy, float *dx,
                     int64_t n);

/* Reference forward in double, for gradient checks and tests. */
void pr_act_forward_f64(pr_act a, const double *x, double *y, int64_t n);

/* Stable scalar helpers shared with the losses. */
float pr_sigmoidf(float x);
double pr_softplus(double x); /* log(1 + e^x) without overflow */

#endif
