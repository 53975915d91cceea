/* nn/dropout.c: inverted dropout (see dropout.h). */
#include "dropout.h"

#include <assert.h>

void pr_dropout_forward(float p, int train, pr_rng *r, const float *x, float *y, float *mask,
                        int64_t n) {
    assert(p >= 0.0f && p < 1.0f);
    if (!train || p == 0.0f) {
        for (int64_t i = 0; i < n; i++) {
            mask[i] = 1.0f;
            y[i] = x[i];
        }
        return;
    }
    const float scale = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < n; i++) {
        mask[i] = pr_rng_float(r) >= p ? scale : 0.0f;
        y[i] = x[i] * mask[i];
    }
}

void pr_dropout_forward_f64(float p, int train, pr_rng *r, const double *x, double *y, double *mask,
                            int64_t n) {
    assert(p >= 0.0f && p < 1.0f);
    const float scale = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < n; i++) {
        mask[i] = (!train || p == 0.0f) ? 1.0 : pr_rng_float(r) >= p ? scale : 0.0;
        y[i] = x[i] * mask[i];
    }
}

void pr_dropout_backward(const float *mask, const float *dy, float *dx, int64_t n) {
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * mask[i];
}
