/* eval/scorer.h: what the evaluator and the recommender rank with.
 *
 * A dot-product scorer borrows a snapshot's U, V, b: scores of a block of
 * users are one GEMM, (n, n_items) = U[users] (n, d) . V^T (d, n_items) + b.
 * Other models (ItemKNN) give a callback instead. Scorers are read-only and
 * thread-safe; scratch is passed in by the caller. */
#ifndef PR_EVAL_SCORER_H
#define PR_EVAL_SCORER_H

#include <stdint.h>

typedef struct pr_scorer {
    int32_t n_users, n_items;
    int d;
    const float *U, *V, *b; /* U (n_users, d), V (n_items, d), b (n_items) or NULL */
    /* Non-dot models: fill out (n, n_items) for users[0..n). */
    int (*score)(const void *ctx, const int32_t *users, int n, float *out);
    const void *ctx;
} pr_scorer;

/* scores (n, n_items) for users[0..n); scratch needs n * d floats for dot scorers. */
int pr_scorer_score(const pr_scorer *s, const int32_t *users, int n, float *scratch, float *out);

#endif
