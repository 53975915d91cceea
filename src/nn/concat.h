/* nn/concat.h: concatenation of k inputs along features, and the split of its
 * gradient. Concatenation fusion feeds [e_id, W_v v, W_t t] to an MLP:
 *
 *   forward : y (B, D) = [x_0 (B, d_0) | x_1 (B, d_1) | ... ],  D = sum d_j
 *   backward: dx_j (B, d_j) = columns [c_j, c_j + d_j) of dy (B, D)  (overwritten)
 * Costs: one copy of B D floats each way. */
#ifndef PR_NN_CONCAT_H
#define PR_NN_CONCAT_H

/* Sum of dims[0..k). */
int pr_concat_width(const int *dims, int k);
/* xs[j] (B, dims[j]) row-major; y (B, D) must not alias any input. */
void pr_concat_forward(const float *const *xs, const int *dims, int k, float *y, int B);
/* dxs[j] (B, dims[j]) from dy (B, D); a NULL dxs[j] is skipped (an input
 * that needs no gradient). */
void pr_concat_backward(const float *dy, float *const *dxs, const int *dims, int k, int B);

/* Reference forward in double, for gradient checks and tests. */
void pr_concat_forward_f64(const double *const *xs, const int *dims, int k, double *y, int B);

#endif
