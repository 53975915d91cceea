/* nn/dropout.h: inverted dropout (Srivastava et al., JMLR 2014).
 *
 * Training: each element is kept with probability 1 - p and scaled by
 * 1 / (1 - p), so the expected output equals the input and evaluation is the
 * identity. The mask (n) stores the scale itself (0 or 1/(1-p)), so backward
 * is one multiply: dx = dy * mask. At evaluation (train = 0) or p = 0 the
 * mask is all ones and the rng is not touched, so backward after an
 * evaluation forward is still correct. The mask is drawn from the caller's
 * pr_rng in element order: a fixed seed gives the same mask bit for bit. */
#ifndef PR_NN_DROPOUT_H
#define PR_NN_DROPOUT_H

#include <stdint.h>

#include "core/rng.h"

/* y (n) = x * mask, mask (n) drawn here; 0 <= p < 1. y may alias x. */
void pr_dropout_forward(float p, int train, pr_rng *r, const float *x, float *y, float *mask,
                        int64_t n);
/* dx (n) = dy * mask; dx may alias dy. */
void pr_dropout_backward(const float *mask, const float *dy, float *dx, int64_t n);

/* Reference forward in double: the same mask stream as the float version
 * for the same rng state (mask in double), for gradient checks and tests. */
void pr_dropout_forward_f64(float p, int train, pr_rng *r, const double *x, double *y, double *mask,
                            int64_t n);

#endif
