/* nn/attn.h: softmax attention over M modality vectors of an item.
 *
 * Each item has M candidate vectors h_m (d), one per modality (id embedding,
 * projected image, projected text, ...), some possibly missing. The fused
 * vector weighs them by a learned, item-dependent attention (additive
 * attention of Bahdanau et al. 2015, as in multimodal recommenders such as
 * UVCAN / attention fusion in MMRec):
 *
 *   u_m = tanh(W h_m + c)          W (k, d), c (1, k)    shared over modalities
 *   e_m = q . u_m                  q (1, k)
 *   a   = softmax over the present m of e_m   (missing m: a_m = 0)
 *   out = sum_m a_m h_m            (d)
 * A row whose modalities are all missing gets a = 0 and out = 0.
 *
 * Backward, with g = dout (d):
 *   dh_m  = a_m g + W^T dz_m            (overwritten; 0 for missing m)
 *   da_m  = g . h_m
 *   de_m  = a_m (da_m - sum_j a_j da_j)      (softmax Jacobian)
 *   dq   += sum_m de_m u_m,   dz_m = de_m q * (1 - u_m^2)
 *   dW   += sum_m dz_m h_m^T, dc += sum_m dz_m
 *
 * Shapes: H (B, M, d) row-major (row b, modality m at H + (b M + m) d);
 * mask (B, M) bytes, 1 = present, NULL = all present. Missing rows of H are
 * never read for the output, but they pass through the shared GEMMs, so they
 * must be finite (zeros are best). The activation buffer
 * (pr_attn_act_size floats) keeps u and a for backward; pr_attn_weights
 * returns a (B, M) for inspection (explaining which modality drove a score).
 * Costs: 2 B M d k flops for u, 4 B M d k for backward, through pr_gemm. */
#ifndef PR_NN_ATTN_H
#define PR_NN_ATTN_H

#include <stdint.h>

#include "nn/param.h"

#define PR_ATTN_MAX_M 64

typedef struct pr_attn {
    int M, d, k; /* modalities, vector width, attention width */
    int64_t W;   /* offset of W (k, d) */
    int64_t c;   /* offset of c (1, k) */
    int64_t q;   /* offset of q (1, k) */
} pr_attn;

/* Declare "<name>.W" (k, d), "<name>.c" (1, k), "<name>.q" (1, k);
 * 1 <= M <= PR_ATTN_MAX_M. Errors are sticky in p (see param.h). */
int pr_attn_init(pr_attn *at, pr_params *p, const char *name, int M, int d, int k);
/* Xavier W and q, zero c. */
void pr_attn_init_params(const pr_attn *at, pr_params *p, pr_rng *r);

int64_t pr_attn_act_size(const pr_attn *at, int B);
/* out (B, d) from H (B, M, d) and mask (B, M) (NULL: all present). */
void pr_attn_forward(const pr_attn *at, const float *w, const float *H, const uint8_t *mask,
                     float *out, float *act, int B);
/* The attention weights a (B, M) of the last forward on act. */
const float *pr_attn_weights(const pr_attn *at, const float *act, int B);
/* dH (B, M, d) (overwritten; NULL if not needed), dW, dc, dq += into g. */
void pr_attn_backward(const pr_attn *at, const float *w, float *g, const float *H,
                      const uint8_t *mask, float *act, const float *dout, float *dH, int B);

/* Reference forward in double (parameters from the float block), for
 * gradient checks and tests; a (B, M) may be NULL. */
void pr_attn_forward_f64(const pr_attn *at, const float *w, const double *H, const uint8_t *mask,
                         double *out, double *a, int B);

#endif
