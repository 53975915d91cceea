/* models/foldin.h: a vector for a user the model has never seen (cold users,
 * anonymous sessions), from a handful of item ids, with the item vectors V
 * held fixed; no retraining.
 *
 * Ridge fold-in (the one-class regression of implicit-feedback MF, Hu et al.
 * ICDM 2008, solved for one user with V fixed), shrunk toward a prior user:
 *
 *   u = argmin_u  sum_{h in H} (t - v_h . u)^2 + alpha sum_i (v_i . u)^2 + lambda' |u - p|^2
 *     = (V_H^T V_H + alpha G + lambda' I)^-1 (t V_H^T 1 + lambda' p)     G = V^T V (d, d)
 *
 * with H the history (n items), V_H (n, d) their rows, lambda' = lambda times
 * the mean squared norm of the history rows (so lambda is free of the scale
 * the model happened to learn), t the score a known user gives her own items
 * (fit stores the training mean of U[u] . V[i] as "foldin_target"; 1 by
 * default) and p the prior user (the mean of the trained user vectors, or 0).
 * With the prior, a new user starts as the average user (close to the
 * popularity ranking the model learned) and moves toward her items as they
 * arrive; without it (p = 0) a one-item history gives u proportional to v_h
 * (rank by v_i . v_h), which loses to MostPop when k is small
 * (docs/cold-start.md). alpha > 0 also penalises the directions every item
 * shares (popularity). Biases are not part of the fit: scores stay
 * u . v_i + b_i, as for known users.
 *
 * BPR fold-in (bpr = 1), consistent with how BPR-trained vectors score:
 *
 *   u = argmin_u  sum_{h in H} mean_{j not in H} softplus(-u . (v_h - v_j)) + lambda'/2 |u - p|^2
 *
 * with lambda' = lambda times the mean |v_j|^2 over the catalogue, solved by
 * Newton's method from u = p (convex; at most 20 steps, exact gradient and
 * Hessian over every item: O(n_items d (n + d)) per step). The ridge form is
 * the closed-form special case of a squared loss without negatives.
 *
 * Cost: ridge O(n d^2 + d^3) per user (one Cholesky solve in double,
 * LAPACK), plus O(n_items d^2) once for G when alpha > 0; BPR a few
 * Newton steps as above. Items repeated in the history count once per
 * occurrence (a session may revisit an item). */
#ifndef PR_MODELS_FOLDIN_H
#define PR_MODELS_FOLDIN_H

#include <stdint.h>

#include "core/err.h"

struct pr_csr;

typedef struct pr_foldin_opts {
    double lambda;      /* ridge weight relative to mean |v_h|^2 (default 0.1) */
    double alpha;       /* weight of the unobserved items (default 0) */
    const float *gram;  /* G = V^T V (d, d), needed when alpha > 0; borrowed */
    double target;      /* t, the score of a history item (default 1) */
    const float *prior; /* p (d), the prior user; NULL = 0; borrowed */
    int bpr;            /* 1: the BPR objective by Newton's method (target, alpha unused) */
} pr_foldin_opts;

void pr_foldin_opts_default(pr_foldin_opts *o);

/* u (d) for the history hist[0..n) (item indices into V (n_items, d)).
 * Errors: PR_E_ARG (n < 1, an index outside [0, n_items), lambda <= 0 with a
 * singular system, alpha > 0 without gram), PR_E_NUMERIC (non-finite result),
 * PR_E_NOMEM. */
int pr_foldin(const float *V, int32_t n_items, int d, const int32_t *hist, int n,
              const pr_foldin_opts *o, float *u, pr_error *err);

/* Why the folded-in user likes item: contrib[k] (n) = the part of
 * u . v_item due to history item hist[k], and *prior_part (may be NULL) the
 * part due to the prior, exactly: the ridge solution is linear in its
 * right-hand side, u = A^-1 (t sum_k v_{h_k} + lambda' p), so with
 * w = A^-1 v_item, u . v_item = sum_k t v_{h_k} . w + lambda' p . w. For the
 * BPR fold-in (not linear) the parts are those of the ridge fit with the
 * same lambda, prior and target: an account, not an identity. Same errors
 * as pr_foldin. */
int pr_foldin_explain(const float *V, int32_t n_items, int d, const int32_t *hist, int n,
                      const pr_foldin_opts *o, int32_t item, float *contrib, float *prior_part,
                      pr_error *err);
/* p (d) = mean of the rows of U (n_users, d) of the users with training
 * items (train NULL: every row): the prior user. */
void pr_foldin_prior(const float *U, int32_t n_users, int d, const struct pr_csr *train, float *p);
/* t = mean of U[u] . V[i] over the training pairs: the target score. */
double pr_foldin_target(const float *U, const float *V, int d, const struct pr_csr *train);

/* U rows (hist->n_rows, d) for every row of hist (users x items) with at
 * least one item, folded in from that row; other rows are left as they are.
 * Threaded over rows on pool (may be NULL). Fails on the first error. */
struct pr_pool;
int pr_foldin_rows(const float *V, int32_t n_items, int d, const struct pr_csr *hist,
                   const pr_foldin_opts *o, struct pr_pool *pool, float *U, pr_error *err);

/* G (d, d) = V^T V over all n_items rows (for alpha > 0). */
void pr_foldin_gram(const float *V, int32_t n_items, int d, float *G);

#endif
