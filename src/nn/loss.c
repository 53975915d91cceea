/* nn/loss.c: BPR, BCE, in-batch softmax and L2 (see loss.h). */
#include "loss.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

#include "nn/act.h"

static double sigmoid_d(double x) {
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double pr_loss_bpr(const float *s_pos, const float *s_neg, int B, int n_neg, float *d_pos,
                   float *d_neg) {
    const double scale = 1.0 / ((double)B * n_neg);
    double sum = 0.0;
    for (int b = 0; b < B; b++) {
        double dp = 0.0;
        for (int k = 0; k < n_neg; k++) {
            int64_t i = (int64_t)b * n_neg + k;
            double x = (double)s_neg[i] - s_pos[b]; /* loss = softplus(neg - pos) */
            sum += pr_softplus(x);
            double gk = sigmoid_d(x) * scale;
            if (d_neg) d_neg[i] = (float)gk;
            dp -= gk;
        }
        if (d_pos) d_pos[b] = (float)dp;
    }
    return sum * scale;
}

/* Sum (not mean) of softplus(s) - y s over n logits, gradient scaled by inv_n. */
static double bce_sum(const float *s, const float *y, float label, int64_t n, double inv_n,
                      float *ds) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double yi = y ? y[i] : label;
        sum += pr_softplus(s[i]) - yi * s[i];
        if (ds) ds[i] = (float)((sigmoid_d(s[i]) - yi) * inv_n);
    }
    return sum;
}

double pr_loss_bce(const float *s, const float *y, int64_t n, float *ds) {
    const double inv_n = 1.0 / (double)n;
    return bce_sum(s, y, 0.0f, n, inv_n, ds) * inv_n;
}

double pr_loss_bce_pn(const float *s_pos, int64_t n_pos, const float *s_neg, int64_t n_neg,
                      float *d_pos, float *d_neg) {
    const double inv_n = 1.0 / (double)(n_pos + n_neg);
    double sum = bce_sum(s_pos, NULL, 1.0f, n_pos, inv_n, d_pos);
    sum += bce_sum(s_neg, NULL, 0.0f, n_neg, inv_n, d_neg);
    return sum * inv_n;
}

/* Is column j part of row i's softmax? (accidental hits are not) */
static int col_in(const int32_t *ids, int i, int j) { return !ids || j == i || ids[j] != ids[i]; }

double pr_loss_inbatch_softmax(const float *S, int B, float temp, const float *logq,
                               const int32_t *ids, float *dS) {
    assert(temp > 0.0f);
    const double inv_t = 1.0 / temp, scale = inv_t / B;
    double sum = 0.0;
    for (int i = 0; i < B; i++) {
        const float *Si = S + (int64_t)i * B;
        double mx = -INFINITY, z_ii = 0.0, se = 0.0;
        for (int j = 0; j < B; j++) { /* z_ij = S_ij / T - logq_j */
            if (!col_in(ids, i, j)) continue;
            double z = Si[j] * inv_t - (logq ? logq[j] : 0.0);
            if (z > mx) mx = z;
            if (j == i) z_ii = z;
        }
        for (int j = 0; j < B; j++)
            if (col_in(ids, i, j)) se += exp(Si[j] * inv_t - (logq ? logq[j] : 0.0) - mx);
        double lse = mx + log(se);
        sum += lse - z_ii;
        if (!dS) continue;
        float *dSi = dS + (int64_t)i * B;
        for (int j = 0; j < B; j++) {
            double p = col_in(ids, i, j) ? exp(Si[j] * inv_t - (logq ? logq[j] : 0.0) - lse) : 0.0;
            dSi[j] = (float)((p - (j == i)) * scale);
        }
    }
    return sum / B;
}

double pr_loss_l2(const float *w, int64_t n, float lambda, float *g) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)w[i] * w[i];
    if (g)
        for (int64_t i = 0; i < n; i++) g[i] += lambda * w[i];
    return 0.5 * lambda * s;
}

/* ---- double-precision value-only references ------------------------------------ */

double pr_loss_bpr_f64(const double *s_pos, const double *s_neg, int B, int n_neg) {
    double sum = 0.0;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < n_neg; k++)
            sum += pr_softplus(s_neg[(int64_t)b * n_neg + k] - s_pos[b]);
    return sum / ((double)B * n_neg);
}

double pr_loss_bce_f64(const double *s, const float *y, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += pr_softplus(s[i]) - y[i] * s[i];
    return sum / (double)n;
}

double pr_loss_inbatch_softmax_f64(const double *S, int B, float temp, const float *logq,
                                   const int32_t *ids) {
    double sum = 0.0;
    for (int i = 0; i < B; i++) {
        double mx = -INFINITY, se = 0.0, z_ii = 0.0;
        for (int j = 0; j < B; j++) {
            if (!col_in(ids, i, j)) continue;
            double z = S[(int64_t)i * B + j] / temp - (logq ? logq[j] : 0.0);
            if (z > mx) mx = z;
            if (j == i) z_ii = z;
        }
        for (int j = 0; j < B; j++)
            if (col_in(ids, i, j))
                se += exp(S[(int64_t)i * B + j] / temp - (logq ? logq[j] : 0.0) - mx);
        sum += mx + log(se) - z_ii;
    }
    return sum / B;
}
