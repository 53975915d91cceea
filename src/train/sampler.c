/* train/sampler.c: epoch permutations and negative sampling (see sampler.h). */
#include "sampler.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

#define CHUNK 256 /* samples per random stream: fixes the draws independently of threads */

int pr_sampler_init(pr_sampler *s, const pr_csr *train, int batch, int n_neg, uint64_t seed,
                    const uint8_t *neg_pool, pr_error *err) {
    memset(s, 0, sizeof *s);
    s->train = train;
    s->n = train->nnz;
    s->batch = batch;
    s->n_neg = n_neg;
    s->seed = seed;
    if (s->n == 0) return pr_err(err, PR_E_ARG, "sampler: the training set is empty");
    s->pos_u = pr_malloc((size_t)s->n, sizeof *s->pos_u);
    s->pos_i = pr_malloc((size_t)s->n, sizeof *s->pos_i);
    s->order = pr_malloc((size_t)s->n, sizeof *s->order);
    s->u = pr_malloc((size_t)batch, sizeof *s->u);
    s->i = pr_malloc((size_t)batch, sizeof *s->i);
    s->j = pr_malloc((size_t)batch * n_neg, sizeof *s->j);
    s->neg_items = pr_malloc((size_t)train->n_cols, sizeof *s->neg_items);
    if (!s->pos_u || !s->pos_i || !s->order || !s->u || !s->i || !s->j || !s->neg_items) {
        pr_sampler_deinit(s);
        return pr_err(err, PR_E_NOMEM, "sampler: %lld interactions", (long long)s->n);
    }
    for (int32_t u = 0; u < train->n_rows; u++)
        for (int64_t k = train->indptr[u]; k < train->indptr[u + 1]; k++) {
            s->pos_u[k] = u;
            s->pos_i[k] = train->indices[k];
        }
    for (int32_t i = 0; i < train->n_cols; i++)
        if (!neg_pool || neg_pool[i]) s->neg_items[s->n_neg_items++] = i;
    if (s->n_neg_items == 0) {
        pr_sampler_deinit(s);
        return pr_err(err, PR_E_ARG, "sampler: no item can be drawn as a negative");
    }
    return 0;
}

void pr_sampler_deinit(pr_sampler *s) {
    free(s->pos_u);
    free(s->pos_i);
    free(s->order);
    free(s->u);
    free(s->i);
    free(s->j);
    free(s->neg_items);
    memset(s, 0, sizeof *s);
}

int64_t pr_sampler_epoch(pr_sampler *s, int epoch) {
    s->epoch = epoch;
    s->shuffled = 0;
    return (s->n + s->batch - 1) / s->batch;
}

const int64_t *pr_sampler_order(pr_sampler *s) {
    if (s->shuffled) return s->order;
    pr_rng r;
    pr_rng_init(&r, s->seed, 0x5348554646ULL + (uint64_t)s->epoch * 2);
    for (int64_t k = 0; k < s->n; k++) s->order[k] = k;
    for (int64_t k = s->n - 1; k > 0; k--) {
        int64_t j = (int64_t)(pr_rng_double(&r) * (double)(k + 1));
        if (j > k) j = k;
        int64_t t = s->order[k];
        s->order[k] = s->order[j];
        s->order[j] = t;
    }
    s->shuffled = 1;
    return s->order;
}

typedef struct {
    pr_sampler *s;
    int64_t first; /* index into order of the batch's first sample */
    int B;
    uint64_t batch_id;
} sample_job;

static void sample_slice(void *ctx, int ith, int nth) {
    sample_job *J = ctx;
    pr_sampler *s = J->s;
    const pr_csr *t = s->train;
    int64_t n_chunks = (J->B + CHUNK - 1) / CHUNK, c0, c1;
    pr_split(n_chunks, ith, nth, &c0, &c1);
    for (int64_t c = c0; c < c1; c++) {
        pr_rng r;
        pr_rng_init(&r, s->seed ^ ((uint64_t)s->epoch << 40), J->batch_id * 4096 + (uint64_t)c);
        int64_t end = PR_MIN((c + 1) * CHUNK, (int64_t)J->B);
        for (int64_t x = c * CHUNK; x < end; x++) {
            int64_t k = s->order[J->first + x];
            int32_t u = s->pos_u[k];
            s->u[x] = u;
            s->i[x] = s->pos_i[k];
            const int32_t *pos = t->indices + t->indptr[u];
            int64_t n_pos = pr_csr_row_len(t, u);
            for (int q = 0; q < s->n_neg; q++)
                s->j[x * s->n_neg + q] = pr_draw_negative(pos, n_pos, s->neg_items, s->n_neg_items, &r);
        }
    }
}

void pr_sampler_plan(pr_sampler *s, pr_epoch_plan *p) {
    *p = (pr_epoch_plan){s->n, s->pos_u, s->pos_i, s, s->train, s->neg_items, s->n_neg_items,
                         s->seed, s->epoch};
}

void pr_sampler_batch(pr_sampler *s, int64_t b, pr_pool *pool, pr_batch *out) {
    pr_sampler_order(s);
    sample_job J = {s, b * s->batch, (int)PR_MIN((int64_t)s->batch, s->n - b * s->batch), (uint64_t)b};
    pr_pool_run(pool, sample_slice, &J);
    out->B = J.B;
    out->n_neg = s->n_neg;
    out->u = s->u;
    out->i = s->i;
    out->j = s->j;
    out->epoch = s->epoch;
}
