/* train/sampler.h: (user, positive, negative) triples for pairwise losses.
 *
 * One epoch visits every training interaction once in a shuffled order (as
 * MMRec does) and draws n_neg negatives per positive, uniformly over items the
 * user has not interacted with in training (rejection sampling against the
 * sorted train row). Random streams are derived from (seed, epoch, chunk of 256
 * samples), never from the thread, so the triples are the same for any thread
 * count. */
#ifndef PR_TRAIN_SAMPLER_H
#define PR_TRAIN_SAMPLER_H

#include <stdint.h>

#include "core/csr.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/rng.h"
#include "models/model.h"

typedef struct pr_sampler {
    const pr_csr *train;
    int64_t n;                 /* training interactions */
    int32_t *pos_u, *pos_i;    /* (n) every training pair */
    int64_t *order;            /* (n) this epoch's permutation */
    int32_t *u, *i, *j;        /* (batch), (batch), (batch * n_neg) */
    int batch, n_neg;
    uint64_t seed;
    int epoch, shuffled;       /* shuffled: order holds this epoch's permutation */
    int32_t *neg_items;        /* (n_neg_items) items negatives are drawn from */
    int32_t n_neg_items;
} pr_sampler;

/* One negative for a user whose sorted training positives are pos[0..n):
 * uniform over neg_items, rejecting positives. A user who has everything
 * keeps the last draw rather than looping forever. */
static inline int32_t pr_draw_negative(const int32_t *pos, int64_t n, const int32_t *neg_items,
                                       int32_t n_neg_items, pr_rng *r) {
    int32_t j;
    int tries = 0;
    do j = neg_items[pr_rng_below(r, (uint32_t)n_neg_items)];
    while (n > 0 && pr_sorted_has(pos, n, j) && ++tries < 1000);
    return j;
}

/* What a fused epoch (pr_model_ops.run_epoch) needs to sample by itself:
 * the training pairs, the epoch's permutation of them (on demand: a model
 * that visits the pairs in another order never pays for the shuffle) and
 * the negative pool. */
typedef struct pr_epoch_plan {
    int64_t n;                 /* training pairs */
    const int32_t *u, *i;      /* (n) pair k = (u[k], i[k]) */
    struct pr_sampler *sampler; /* pr_sampler_order(sampler): this epoch's permutation */
    const pr_csr *train;       /* positives, rejected as negatives */
    const int32_t *neg_items;  /* (n_neg_items) */
    int32_t n_neg_items;
    uint64_t seed;
    int epoch;
} pr_epoch_plan;

/* The plan of the current epoch (views into s; valid until the next epoch). */
void pr_sampler_plan(pr_sampler *s, pr_epoch_plan *p);

/* neg_pool (n_items) marks items that may be drawn as negatives; NULL = all. */
int pr_sampler_init(pr_sampler *s, const pr_csr *train, int batch, int n_neg, uint64_t seed,
                    const uint8_t *neg_pool, pr_error *err);
void pr_sampler_deinit(pr_sampler *s);
/* Start a new epoch; returns the number of batches. The shuffle itself
 * happens on first use (pr_sampler_order or pr_sampler_batch). */
int64_t pr_sampler_epoch(pr_sampler *s, int epoch);
/* The current epoch's permutation of the training pairs, (n). */
const int64_t *pr_sampler_order(pr_sampler *s);
/* Fill batch b of the current epoch (threaded). */
void pr_sampler_batch(pr_sampler *s, int64_t b, pr_pool *pool, pr_batch *out);

#endif
