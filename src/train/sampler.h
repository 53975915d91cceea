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
#include "models/model.h"

typedef struct pr_sampler {
    const pr_csr *train;
    int64_t n;                 /* training interactions */
    int32_t *pos_u, *pos_i;    /* (n) every training pair */
    int64_t *order;            /* (n) this epoch's permutation */
    int32_t *u, *i, *j;        /* (batch), (batch), (batch * n_neg) */
    int batch, n_neg;
    uint64_t seed;
    int epoch;
    int32_t *neg_items;        /* (n_neg_items) items negatives are drawn from */
    int32_t n_neg_items;
} pr_sampler;

/* neg_pool (n_items) marks items that may be drawn as negatives; NULL = all. */
int pr_sampler_init(pr_sampler *s, const pr_csr *train, int batch, int n_neg, uint64_t seed,
                    const uint8_t *neg_pool, pr_error *err);
void pr_sampler_deinit(pr_sampler *s);
/* Shuffle for a new epoch; returns the number of batches. */
int64_t pr_sampler_epoch(pr_sampler *s, int epoch);
/* Fill batch b of the current epoch (threaded). */
void pr_sampler_batch(pr_sampler *s, int64_t b, pr_pool *pool, pr_batch *out);

#endif
