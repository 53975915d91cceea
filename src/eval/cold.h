/* eval/cold.h: cold-start protocols, for new items and for new users.
 *
 * New items (a cold-items split: data/split.c holds a share of items out of
 * training entirely; CLCRec, Wei et al. MM 2021, reports the same four):
 *   cold_all   targets on cold items, ranked among ALL items (train masked):
 *              the realistic case, where a new item competes with the warm
 *              catalogue whose vectors were trained on real interactions;
 *   cold_only  the same targets, ranked only among the cold items that the
 *              target set holds (the held-out test items), as CLCRec does;
 *              random ranking gives Recall@K ~ K / (number of those items);
 *   warm       targets on warm items, ranked among warm items;
 *   all        every target, ranked among all items.
 * A set with no target rows reports users = 0. "Cold" means: no training
 * interaction. The scorer must already hold the cold items' vectors (placed
 * through the model's item tower or the content mapper).
 *
 * New users (fold-in): a share of users is held out of training entirely
 * (hold_out removes their rows from train, valid and test and keeps them
 * aside). For k = 1, 3, 5 the caller folds each held-out user in from the
 * first k items of a seeded permutation of her training items (so the k = 1
 * history is part of the k = 3 one) and ranks all items for her test items,
 * her training items masked, like a known user. Only users with at least
 * k_max training items and one test item are measured, the same users for
 * every k. Costs: one pass over the matrices. */
#ifndef PR_EVAL_COLD_H
#define PR_EVAL_COLD_H

#include <stdint.h>

#include "data/dataset.h"
#include "eval/evaluator.h"

typedef struct pr_cold_report {
    pr_metrics cold_all, cold_only, warm, all;
    int32_t n_cold_items;     /* items without training interactions */
    int32_t n_cold_targets;   /* cold items among the targets (cold_only's candidates) */
    int64_t n_cold_rows, n_warm_rows;
    /* share of cold items in the top-K lists of cold_all (per ks[k]): how
     * much room new items take from the warm catalogue. A model that ranks
     * every new item first scores high cold_all and ruins warm ranking. */
    double cold_share[PR_MAX_KS];
} pr_cold_report;

/* 1 for items with no training interaction (n_items), owned by the caller. */
uint8_t *pr_cold_items(const pr_csr *train);

/* The four protocols on target (users x items); o gives the cut-offs and the
 * masks (train, maybe valid); its candidates are ignored. */
int pr_cold_evaluate(const pr_scorer *s, const pr_csr *target, const uint8_t *cold,
                     const pr_eval_opts *o, pr_pool *pool, pr_cold_report *out, pr_error *err);

/* Users held out of training. train/valid/test are (n_users, n_items) with
 * rows for the held-out users only. */
typedef struct pr_cold_users {
    int32_t n;            /* held-out users */
    uint8_t *held;        /* (n_users) 1 = held out */
    pr_csr *train, *valid, *test;
} pr_cold_users;

/* Hold out round(share * users with training rows) users, drawn by seed:
 * replaces d->train, d->valid and d->test by copies without their rows.
 * share in (0, 0.9]. */
int pr_cold_users_hold_out(pr_dataset *d, double share, uint64_t seed, pr_cold_users *out,
                           pr_error *err);
void pr_cold_users_free(pr_cold_users *c);

/* The k-item histories: hist (n_users, n_items) with, for every held-out user
 * having >= k_min training items, the first k of a seeded permutation of them
 * (the same permutation for every k). *hist owned by the caller. */
int pr_cold_users_history(const pr_cold_users *c, int k, int k_min, uint64_t seed, pr_csr **hist,
                          pr_error *err);
/* The measured targets: test rows of held-out users with >= k_min training
 * items (others emptied). *target owned by the caller. */
int pr_cold_users_target(const pr_cold_users *c, int k_min, pr_csr **target, pr_error *err);

#endif
