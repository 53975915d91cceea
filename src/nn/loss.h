/* nn/loss.h: ranking and classification losses, value and gradient together.
 *
 * Each loss returns its mean over the batch, accumulated in double, and
 * writes the gradient of that mean with respect to the scores (overwritten;
 * a NULL gradient pointer skips it). Scores are whatever the model produced:
 * dot products, MLP outputs, cosine similarities.
 *
 *   BPR (Rendle et al., UAI 2009), n_neg negatives per positive:
 *     L = 1/(B n) sum_b sum_k softplus(s_neg[b,k] - s_pos[b])     (= -log sigmoid(pos - neg))
 *     dL/ds_neg[b,k] = sigmoid(s_neg[b,k] - s_pos[b]) / (B n),  dL/ds_pos[b] = -sum_k of those
 *   Binary cross-entropy with logits (NCF, He et al., WWW 2017), labels y in [0, 1]:
 *     L = 1/n sum_i softplus(s_i) - y_i s_i,   dL/ds_i = (sigmoid(s_i) - y_i) / n
 *   In-batch sampled softmax (Yi et al., RecSys 2019), S (B, B) with S[i,j] =
 *   score(query i, positive item of row j), so the diagonal holds the positives
 *   and each row's negatives are the other rows' positives:
 *     z_ij = S_ij / T - logq_j     (logQ correction: logq_j = log of item j's sampling probability)
 *     L = 1/B sum_i (logsumexp_j z_ij - z_ii),   dL/dS_ij = (softmax_i(z)_j - [i = j]) / (B T)
 *   With ids (the item of each row), a column j != i holding the same item as
 *   row i is an accidental hit and is left out of row i's softmax (gradient 0).
 *   L2 regulariser: R = lambda/2 sum w^2,   dR/dw = lambda w (accumulated).
 * Everything uses stable forms: softplus(x) = max(x, 0) + log1p(e^-|x|),
 * log-sum-exp with the row maximum subtracted. No allocation. */
#ifndef PR_NN_LOSS_H
#define PR_NN_LOSS_H

#include <stdint.h>

/* s_pos (B), s_neg (B, n_neg) -> mean BPR loss; d_pos (B), d_neg (B, n_neg). */
double pr_loss_bpr(const float *s_pos, const float *s_neg, int B, int n_neg, float *d_pos,
                   float *d_neg);
/* s (n) logits, y (n) labels -> mean BCE; ds (n). */
double pr_loss_bce(const float *s, const float *y, int64_t n, float *ds);
/* Positives (label 1) and sampled negatives (label 0), one mean over all
 * n_pos + n_neg logits: s_pos (n_pos), s_neg (n_neg) -> d_pos, d_neg. */
double pr_loss_bce_pn(const float *s_pos, int64_t n_pos, const float *s_neg, int64_t n_neg,
                      float *d_pos, float *d_neg);
/* S (B, B) -> mean in-batch softmax loss; temp > 0; logq (B) and ids (B) may
 * be NULL; dS (B, B) overwritten. */
double pr_loss_inbatch_softmax(const float *S, int B, float temp, const float *logq,
                               const int32_t *ids, float *dS);
/* lambda/2 sum w^2 over w (n); g (n) += lambda w when g is not NULL. */
double pr_loss_l2(const float *w, int64_t n, float lambda, float *g);

/* Value-only versions over double scores, for double-precision reference
 * forwards of whole models in gradient checks (same formulas as above). */
double pr_loss_bpr_f64(const double *s_pos, const double *s_neg, int B, int n_neg);
double pr_loss_bce_f64(const double *s, const float *y, int64_t n);
double pr_loss_inbatch_softmax_f64(const double *S, int B, float temp, const float *logq,
                                   const int32_t *ids);

#endif
