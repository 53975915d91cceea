/* nn/l2norm.h: row L2 normalisation with an epsilon.
 *
 *   n_b = sqrt(sum_j x_bj^2 + eps)        y_b = x_b / n_b
 *   dx_b = (dy_b - y_b (y_b . dy_b)) / n_b
 * eps sits inside the square root, so the map is smooth everywhere (a zero
 * row maps to zero with a finite gradient) and the backward formula is exact
 * for any eps. For |x| >> sqrt(eps) it equals PyTorch's F.normalize
 * (x / max(|x|, eps)). PR_L2NORM_EPS = 1e-12 suits unit-scale features.
 * Used to put embeddings and fused vectors on the unit sphere before cosine
 * scores or in-batch softmax. Costs: 3 passes over B d floats. */
#ifndef PR_NN_L2NORM_H
#define PR_NN_L2NORM_H

#define PR_L2NORM_EPS 1e-12f

/* y (B, d) = rows of x normalised; norms (B) kept for backward. y may alias x. */
void pr_l2norm_forward(const float *x, float *y, float *norms, int B, int d, float eps);
/* dx (B, d) from y, norms of the forward and dy (B, d); dx may alias dy. */
void pr_l2norm_backward(const float *y, const float *norms, const float *dy, float *dx, int B,
                        int d);

/* Reference forward in double, for gradient checks and tests. */
void pr_l2norm_forward_f64(const double *x, double *y, int B, int d, float eps);

#endif
