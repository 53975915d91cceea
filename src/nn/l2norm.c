/* nn/l2norm.c: row L2 normalisation (see l2norm.h). Norms and dot products
 * accumulate in double. */
#include "l2norm.h"

#include <math.h>
#include <stdint.h>

void pr_l2norm_forward(const float *x, float *y, float *norms, int B, int d, float eps) {
    for (int b = 0; b < B; b++) {
        const float *xb = x + (int64_t)b * d;
        float *yb = y + (int64_t)b * d;
        double s = eps;
        for (int j = 0; j < d; j++) s += (double)xb[j] * xb[j];
        double n = sqrt(s);
        norms[b] = (float)n;
        for (int j = 0; j < d; j++) yb[j] = (float)(xb[j] / n);
    }
}

void pr_l2norm_forward_f64(const double *x, double *y, int B, int d, float eps) {
    for (int b = 0; b < B; b++) {
        const double *xb = x + (int64_t)b * d;
        double s = eps;
        for (int j = 0; j < d; j++) s += xb[j] * xb[j];
        double n = sqrt(s);
        for (int j = 0; j < d; j++) y[(int64_t)b * d + j] = xb[j] / n;
    }
}

void pr_l2norm_backward(const float *y, const float *norms, const float *dy, float *dx, int B,
                        int d) {
    for (int b = 0; b < B; b++) {
        const float *yb = y + (int64_t)b * d, *gb = dy + (int64_t)b * d;
        float *xb = dx + (int64_t)b * d;
        double yg = 0.0;
        for (int j = 0; j < d; j++) yg += (double)yb[j] * gb[j];
        double inv = 1.0 / norms[b];
        for (int j = 0; j < d; j++) xb[j] = (float)((gb[j] - yb[j] * yg) * inv);
    }
}
