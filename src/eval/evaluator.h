/* eval/evaluator.h: full-ranking evaluation over the whole catalogue.
 *
 * For every user with at least one target item: score all items (GEMM in
 * blocks of users), mask the user's known items (train always; also valid
 * when asked), select the top K_max, and accumulate the metrics of
 * eval/metrics.h. Never sampled negatives. Threaded over user blocks on the
 * pool; each thread calls BLAS single-threaded on its own block, and per-thread
 * sums are merged in thread order, so results do not depend on timing.
 *
 * Default masking: train items only, as MMRec does when it reports test
 * metrics, so numbers compare with published tables. mask_valid also hides
 * validation items when testing (stricter; what a live system would do). */
#ifndef PR_EVAL_EVALUATOR_H
#define PR_EVAL_EVALUATOR_H

#include <stdint.h>

#include "core/csr.h"
#include "core/err.h"
#include "core/pool.h"
#include "eval/metrics.h"
#include "eval/scorer.h"

typedef struct pr_eval_opts {
    int ks[PR_MAX_KS];
    int n_k;
    int auc;                    /* compute AUC (one extra pass per user) */
    const pr_csr *mask[3];      /* items to hide per user (train, maybe valid), NULL-terminated */
    const uint8_t *candidates;  /* (n_items) 1 = rankable; NULL = all items. For the
                                   cold-only protocol: rank among held-out items only */
    const float *popularity;    /* (n_items) training counts for ARP@K, or NULL */
    int block;                  /* users per GEMM block (0 = 64) */
} pr_eval_opts;

void pr_eval_opts_default(pr_eval_opts *o); /* ks 10,20; auc on; block 64 */

/* Evaluate against target (users x items). out is initialised and finished
 * (means). Returns 0 or a PR_E_* code. */
int pr_evaluate(const pr_scorer *s, const pr_csr *target, const pr_eval_opts *o, pr_pool *pool,
                pr_metrics *out, pr_error *err);

#endif
