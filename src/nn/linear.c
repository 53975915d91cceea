/* nn/linear.c: y = x W^T + b (see linear.h). */
#include "linear.h"

#include <stdio.h>

#include "core/mat.h"

int pr_linear_init(pr_linear *l, pr_params *p, const char *name, int in, int out, int bias) {
    char nm[PR_PARAM_NAME_MAX + 8];
    l->in = in;
    l->out = out;
    l->b = -1;
    snprintf(nm, sizeof nm, "%s.W", name);
    int64_t off = pr_params_add(p, nm, out, in);
    if (off < 0) return (int)off;
    l->W = off;
    if (bias) {
        snprintf(nm, sizeof nm, "%s.b", name);
        if ((off = pr_params_add_ex(p, nm, 1, out, PR_PARAM_NO_DECAY)) < 0) return (int)off;
        l->b = off;
    }
    return 0;
}

void pr_linear_init_params(const pr_linear *l, pr_params *p, pr_rng *r) {
    pr_params_xavier(p, l->W, r);
    if (l->b >= 0) pr_params_zeros(p, l->b);
}

void pr_linear_forward(const pr_linear *l, const float *w, const float *x, float *y, int B) {
    const int in = l->in, out = l->out;
    const float *W = w + l->W;
    /* y (B, out) = x (B, in) . W^T (in, out) */
    pr_gemm(PR_NOTRANS, PR_TRANS, B, out, in, 1.0f, x, in, W, in, 0.0f, y, out);
    if (l->b < 0) return;
    const float *b = w + l->b;
    for (int r = 0; r < B; r++) {
        float *yr = y + (int64_t)r * out;
        for (int o = 0; o < out; o++) yr[o] += b[o];
    }
}

void pr_linear_forward_f64(const pr_linear *l, const float *w, const double *x, double *y, int B) {
    const float *W = w + l->W;
    for (int r = 0; r < B; r++)
        for (int o = 0; o < l->out; o++) {
            double s = l->b >= 0 ? w[l->b + o] : 0.0;
            for (int i = 0; i < l->in; i++)
                s += (double)W[(int64_t)o * l->in + i] * x[(int64_t)r * l->in + i];
            y[(int64_t)r * l->out + o] = s;
        }
}

void pr_linear_backward(const pr_linear *l, const float *w, float *g, const float *x,
                        const float *dy, float *dx, int B) {
    const int in = l->in, out = l->out;
    /* dW (out, in) += dy^T (out, B) . x (B, in) */
    pr_gemm(PR_TRANS, PR_NOTRANS, out, in, B, 1.0f, dy, out, x, in, 1.0f, g + l->W, in);
    if (l->b >= 0) {
        float *db = g + l->b;
        for (int r = 0; r < B; r++) pr_axpy(1.0f, dy + (int64_t)r * out, db, out);
    }
    /* dx (B, in) = dy (B, out) . W (out, in) */
    if (dx) pr_gemm(PR_NOTRANS, PR_NOTRANS, B, in, out, 1.0f, dy, out, w + l->W, in, 0.0f, dx, in);
}
