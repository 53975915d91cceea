/* nn/attn.c: softmax attention over modalities (see attn.h).
 *
 * Activation buffer: u (B M k) | a (B M) | dz scratch (B M k). The softmax
 * runs in double with the row maximum subtracted, so large scores cannot
 * overflow. */
#include "attn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/mat.h"

int pr_attn_init(pr_attn *at, pr_params *p, const char *name, int M, int d, int k) {
    char nm[PR_PARAM_NAME_MAX + 8];
    int64_t off;
    at->M = M;
    at->d = d;
    at->k = k;
    at->W = at->c = at->q = 0;
    if (M < 1 || M > PR_ATTN_MAX_M)
        return pr_params_fail(p, PR_E_ARG, "attention '%s': %d modalities (1..%d)", name, M,
                              PR_ATTN_MAX_M);
    snprintf(nm, sizeof nm, "%s.W", name);
    if ((off = pr_params_add(p, nm, k, d)) < 0) return (int)off;
    at->W = off;
    snprintf(nm, sizeof nm, "%s.c", name);
    if ((off = pr_params_add_ex(p, nm, 1, k, PR_PARAM_NO_DECAY)) < 0) return (int)off;
    at->c = off;
    snprintf(nm, sizeof nm, "%s.q", name);
    if ((off = pr_params_add(p, nm, 1, k)) < 0) return (int)off;
    at->q = off;
    return 0;
}

void pr_attn_init_params(const pr_attn *at, pr_params *p, pr_rng *r) {
    pr_params_xavier(p, at->W, r);
    pr_params_zeros(p, at->c);
    pr_params_xavier(p, at->q, r);
}

int64_t pr_attn_act_size(const pr_attn *at, int B) {
    int64_t BM = (int64_t)B * at->M;
    return 2 * BM * at->k + BM;
}

const float *pr_attn_weights(const pr_attn *at, const float *act, int B) {
    return act + (int64_t)B * at->M * at->k;
}

static int present(const uint8_t *mask, int64_t i) { return !mask || mask[i]; }

/* a (M) = softmax of e over present modalities of one row; returns 0 when
 * none is present (a = 0). */
static int softmax_row(const float *u, const float *q, const uint8_t *mask, int64_t row0, int M,
                       int k, float *a) {
    double e[PR_ATTN_MAX_M], mx = -INFINITY, sum = 0.0;
    for (int m = 0; m < M; m++) {
        if (!present(mask, row0 + m)) continue;
        double s = 0.0;
        for (int j = 0; j < k; j++) s += (double)q[j] * u[(int64_t)m * k + j];
        e[m] = s;
        if (s > mx) mx = s;
    }
    for (int m = 0; m < M; m++) {
        a[m] = 0.0f;
        if (!present(mask, row0 + m)) continue;
        e[m] = exp(e[m] - mx);
        sum += e[m];
    }
    if (sum == 0.0) return 0;
    for (int m = 0; m < M; m++)
        if (present(mask, row0 + m)) a[m] = (float)(e[m] / sum);
    return 1;
}

void pr_attn_forward(const pr_attn *at, const float *w, const float *H, const uint8_t *mask,
                     float *out, float *act, int B) {
    const int M = at->M, d = at->d, k = at->k;
    const int64_t BM = (int64_t)B * M;
    float *u = act, *a = act + BM * k;
    const float *c = w + at->c, *q = w + at->q;
    /* u (B M, k) = tanh(H (B M, d) . W^T (d, k) + c) */
    pr_gemm(PR_NOTRANS, PR_TRANS, (int)BM, k, d, 1.0f, H, d, w + at->W, d, 0.0f, u, k);
    for (int64_t r = 0; r < BM; r++)
        for (int j = 0; j < k; j++) u[r * k + j] = tanhf(u[r * k + j] + c[j]);
    for (int b = 0; b < B; b++) {
        int64_t row0 = (int64_t)b * M;
        float *ob = out + (int64_t)b * d;
        memset(ob, 0, (size_t)d * sizeof *ob);
        if (!softmax_row(u + row0 * k, q, mask, row0, M, k, a + row0)) continue;
        for (int m = 0; m < M; m++) /* out = sum_m a_m h_m */
            if (present(mask, row0 + m)) pr_axpy(a[row0 + m], H + (row0 + m) * d, ob, d);
    }
}

void pr_attn_forward_f64(const pr_attn *at, const float *w, const double *H, const uint8_t *mask,
                         double *out, double *a, int B) {
    const int M = at->M, d = at->d, k = at->k;
    const float *W = w + at->W, *c = w + at->c, *q = w + at->q;
    for (int b = 0; b < B; b++) {
        int64_t row0 = (int64_t)b * M;
        double e[PR_ATTN_MAX_M], mx = -INFINITY, sum = 0.0;
        for (int m = 0; m < M; m++) {
            if (!present(mask, row0 + m)) continue;
            const double *h = H + (row0 + m) * d;
            e[m] = 0.0;
            for (int j = 0; j < k; j++) { /* e_m = q . tanh(W h_m + c) */
                double z = c[j];
                for (int i = 0; i < d; i++) z += (double)W[(int64_t)j * d + i] * h[i];
                e[m] += q[j] * tanh(z);
            }
            if (e[m] > mx) mx = e[m];
        }
        for (int m = 0; m < M; m++)
            if (present(mask, row0 + m)) sum += (e[m] = exp(e[m] - mx));
        for (int i = 0; i < d; i++) out[(int64_t)b * d + i] = 0.0;
        for (int m = 0; m < M; m++) {
            double am = present(mask, row0 + m) && sum > 0.0 ? e[m] / sum : 0.0;
            if (a) a[row0 + m] = am;
            if (am == 0.0) continue;
            for (int i = 0; i < d; i++) out[(int64_t)b * d + i] += am * H[(row0 + m) * d + i];
        }
    }
}

void pr_attn_backward(const pr_attn *at, const float *w, float *g, const float *H,
                      const uint8_t *mask, float *act, const float *dout, float *dH, int B) {
    const int M = at->M, d = at->d, k = at->k;
    const int64_t BM = (int64_t)B * M;
    const float *u = act, *a = act + BM * k, *q = w + at->q;
    float *dz = act + BM * k + BM, *dq = g + at->q, *dc = g + at->c;
    for (int b = 0; b < B; b++) {
        int64_t row0 = (int64_t)b * M;
        const float *gb = dout + (int64_t)b * d;
        double da[PR_ATTN_MAX_M], s = 0.0;
        for (int m = 0; m < M; m++) { /* da_m = g . h_m */
            da[m] = 0.0;
            if (!present(mask, row0 + m)) continue;
            const float *h = H + (row0 + m) * d;
            for (int j = 0; j < d; j++) da[m] += (double)gb[j] * h[j];
            s += a[row0 + m] * da[m];
        }
        for (int m = 0; m < M; m++) {
            const float *um = u + (row0 + m) * k;
            float *dzm = dz + (row0 + m) * k;
            float de = present(mask, row0 + m) ? (float)(a[row0 + m] * (da[m] - s)) : 0.0f;
            for (int j = 0; j < k; j++) {
                dq[j] += de * um[j]; /* dq += de_m u_m */
                dzm[j] = de * q[j] * (1.0f - um[j] * um[j]);
            }
        }
    }
    /* dW (k, d) += dz^T (k, B M) . H (B M, d);  dc += column sums of dz */
    pr_gemm(PR_TRANS, PR_NOTRANS, k, d, (int)BM, 1.0f, dz, k, H, d, 1.0f, g + at->W, d);
    for (int64_t r = 0; r < BM; r++) pr_axpy(1.0f, dz + r * k, dc, k);
    if (!dH) return;
    /* dH (B M, d) = dz (B M, k) . W (k, d), plus the direct path a_m g */
    pr_gemm(PR_NOTRANS, PR_NOTRANS, (int)BM, d, k, 1.0f, dz, k, w + at->W, d, 0.0f, dH, d);
    for (int b = 0; b < B; b++)
        for (int m = 0; m < M; m++) {
            int64_t r = (int64_t)b * M + m;
            if (present(mask, r))
                pr_axpy(a[r], dout + (int64_t)b * d, dH + r * d, d);
            else
                memset(dH + r * d, 0, (size_t)d * sizeof *dH);
        }
}
