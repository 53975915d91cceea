/* nn/concat.c: feature concatenation (see concat.h). */
#include "concat.h"

#include <stdint.h>
#include <string.h>

int pr_concat_width(const int *dims, int k) {
    int D = 0;
    for (int j = 0; j < k; j++) D += dims[j];
    return D;
}

void pr_concat_forward(const float *const *xs, const int *dims, int k, float *y, int B) {
    const int D = pr_concat_width(dims, k);
    for (int r = 0; r < B; r++) {
        float *yr = y + (int64_t)r * D;
        for (int j = 0; j < k; j++) {
            memcpy(yr, xs[j] + (int64_t)r * dims[j], (size_t)dims[j] * sizeof *yr);
            yr += dims[j];
        }
    }
}

void pr_concat_forward_f64(const double *const *xs, const int *dims, int k, double *y, int B) {
    const int D = pr_concat_width(dims, k);
    for (int r = 0; r < B; r++) {
        double *yr = y + (int64_t)r * D;
        for (int j = 0; j < k; j++) {
            memcpy(yr, xs[j] + (int64_t)r * dims[j], (size_t)dims[j] * sizeof *yr);
            yr += dims[j];
        }
    }
}

void pr_concat_backward(const float *dy, float *const *dxs, const int *dims, int k, int B) {
    const int D = pr_concat_width(dims, k);
    for (int r = 0; r < B; r++) {
        const float *dyr = dy + (int64_t)r * D;
        for (int j = 0; j < k; j++) {
            if (dxs[j]) memcpy(dxs[j] + (int64_t)r * dims[j], dyr, (size_t)dims[j] * sizeof *dyr);
            dyr += dims[j];
        }
    }
}
