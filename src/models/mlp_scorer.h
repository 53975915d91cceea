/* models/mlp_scorer.h: an NCF-style MLP that re-ranks the dot product's top candidates.
 *
 * Retrieval over the whole catalogue stays one GEMM (s_dot = U[u] . V[i] +
 * b[i] from any model's snapshot); a small MLP then re-scores only the
 * n_cand best unseen items of each user (He et al., WWW 2017, NeuMF's
 * inputs on frozen embeddings):
 *
 *   z(u,i) = [p_u * q_i, p_u, q_i]                    (3 d)
 *   s(u,i) = s_dot(u,i) + MLP(z(u,i))                  (3 d -> hidden ... -> 1)
 *
 * The last layer starts at zero, so an untrained scorer ranks exactly as the
 * dot product; training can only move candidates among themselves. Fitting:
 * BPR on (u, i, j) with i a training item of u and j, half the time, one of
 * u's current top candidates (the items the MLP will have to order), else
 * uniform; the snapshot is frozen; Adam over the MLP (nn/optim.h); early
 * stopping on validation Recall@20 of the re-ranked lists when a validation
 * matrix is given (the best epoch's weights are kept).
 *
 * Costs: fitting precomputes each user's candidates once (one blocked GEMM
 * over the catalogue, as evaluation does); an epoch is B x 2 MLP rows per
 * batch. Scoring a block of users costs the GEMM plus n_cand MLP rows per
 * user. */
#ifndef PR_MODELS_MLP_SCORER_H
#define PR_MODELS_MLP_SCORER_H

#include <stdint.h>

#include "core/buf.h"
#include "core/csr.h"
#include "core/err.h"
#include "core/pool.h"
#include "eval/scorer.h"
#include "models/model.h"

typedef struct pr_mlp_scorer_opts {
    int layers, hidden;  /* MLP depth (2) and hidden width (64) */
    int act;             /* PR_ACT_* of hidden layers (relu) */
    int n_cand;          /* candidates re-ranked per user (100) */
    int epochs, batch, patience; /* 50, 1024, 5 */
    float lr, wd;        /* Adam, 1e-3, 1e-5 */
    float p_hard;        /* share of negatives drawn from the candidates (0.5) */
    uint64_t seed;
} pr_mlp_scorer_opts;

typedef struct pr_mlp_scorer pr_mlp_scorer;

void pr_mlp_scorer_defaults(pr_mlp_scorer_opts *o);
/* New untrained scorer over snap (borrowed: it must outlive the scorer) and
 * the training matrix (borrowed; its items are never candidates). */
int pr_mlp_scorer_new(const pr_snapshot *snap, const pr_csr *train, const pr_mlp_scorer_opts *o,
                      pr_pool *pool, pr_mlp_scorer **out, pr_error *err);
void pr_mlp_scorer_free(pr_mlp_scorer *m);
/* Train (see above). valid may be NULL (then every epoch is kept). *best_epoch
 * (may be NULL) receives the epoch kept, 0 when no epoch beat the untrained
 * scorer (the dot product). */
int pr_mlp_scorer_fit(pr_mlp_scorer *m, const pr_csr *valid, int *best_epoch, pr_error *err);
/* out[k] = s(u, items[k]) (dot product plus MLP), for n items of one user. */
void pr_mlp_scorer_score(const pr_mlp_scorer *m, int32_t u, const int32_t *items, int n, float *out);
/* A scorer for the evaluator and recommenders: every user's n_cand best
 * unseen items by the dot product, re-ranked by s, placed above all other
 * items, which keep their dot-product order. m must outlive it. */
void pr_mlp_scorer_as_scorer(const pr_mlp_scorer *m, pr_scorer *out);

/* The MLP (options and weights); load needs the same snapshot width. */
int pr_mlp_scorer_save(const pr_mlp_scorer *m, pr_buf *b);
int pr_mlp_scorer_load(const pr_snapshot *snap, const pr_csr *train, pr_cur *c, pr_pool *pool,
                       pr_mlp_scorer **out, pr_error *err);

/* For gradient checks: the mean BPR loss of the batch (u, i, j) at the
 * current weights; with grad, its gradient overwrites the dense gradient
 * block. The flat weights and gradient (n) are exposed below. */
double pr_mlp_scorer_batch_loss(pr_mlp_scorer *m, const int32_t *u, const int32_t *i, const int32_t *j,
                                int B, int grad);
float *pr_mlp_scorer_weights(pr_mlp_scorer *m, float **grad, int64_t *n);

#endif
