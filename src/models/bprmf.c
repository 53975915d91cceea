/* models/bprmf.c: BPR matrix factorisation (Rendle et al., UAI 2009).
 *
 *   s(u,i) = U[u] . V[i]                       (+ b[i] with bias=1)
 *   loss   = mean_s pr_fsoftplus(-(s(u,i) - s(u,j))) + reg * mean_s (|U[u]|^2 + |V[i]|^2 + |V[j]|^2)
 * over a batch of (u, i, j) triples, j a sampled negative. The regulariser
 * acts on the rows the batch touches, as MMRec's EmbLoss does.
 *
 * Sparse: a batch touches B user rows and 2B item rows. forward/backward are
 * threaded over samples and write per-sample slot gradients; step reduces
 * them per row in sample order (nn/embedding.h), so training is bit-identical
 * for any thread count. Init: Xavier normal, as MMRec's BPR. Keys: bias (0),
 * hogwild (0): with hogwild=1 and optim=sgd, each sample's SGD update is
 * applied at once, in place, from its thread (Recht et al., NIPS 2011),
 * skipping the slot reduction. The training loop then runs whole epochs
 * through run_epoch: sampling fused with the updates, row prefetching, one
 * pool hand-off per epoch. The fastest mode; reproducible with one thread,
 * not across thread counts (the races are benign, not deterministic). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"
#include "core/rng.h"
#include "models/model.h"
#include "nn/embedding.h"
#include "train/sampler.h"

typedef struct {
    pr_model base;
    int d, bias, hogwild;
    int by_user;               /* hogwild epochs visit users in a shuffled order, each user's pairs together */
    int64_t *uperm;            /* (n_users) that order, reshuffled every epoch */
    int64_t *local_order;      /* (n pairs) random order on several threads: each shuffles its share */
    float *U, *V, *b;          /* views into params: U (n_users, d) | V (n_items, d) | b (n_items) */
    pr_embed eU, eV, eb;
    pr_rowgrad gU, gV, gb;     /* slots: user s -> gU[s]; items i, j -> gV[2s], gV[2s+1] */
    pr_embed_opt opt;
    double *loss_part;         /* (nth) */
    int cap;
} bprmf;

static void bprmf_free(pr_model *base);


static int bprmf_init(pr_model **out, const pr_dataset *data, const pr_features *f,
                      const pr_config *c, pr_pool *pool, pr_error *err) {
    bprmf *m = pr_calloc(1, sizeof *m);
    if (!m) return pr_err(err, PR_E_NOMEM, "bprmf");
    int rc = 0, kind;
    int32_t nu = data->n_users, ni = data->n_items;
    m->base.data = data;
    m->base.cfg = c;
    m->base.pool = pool;
    m->d = c->d;
    m->bias = (int)pr_config_i(c, "bias", 0);
    m->hogwild = (int)pr_config_i(c, "hogwild", 0);
    const char *order = pr_config_s(c, "order", "random");
    if (strcmp(order, "random") && strcmp(order, "user")) {
        rc = pr_err(err, PR_E_ARG, "bprmf: order=%s (random or user)", order);
        goto fail;
    }
    m->by_user = !strcmp(order, "user");
    m->cap = c->batch;
    if ((rc = pr_embed_opt_parse(c->optim, &kind, err))) goto fail;
    pr_embed_opt_init(&m->opt, kind, c->lr);
    if (m->hogwild && kind != PR_EMB_SGD) {
        rc = pr_err(err, PR_E_ARG, "bprmf: hogwild=1 needs optim=sgd");
        goto fail;
    }
    m->base.n_params = (int64_t)(nu + ni) * m->d + (m->bias ? ni : 0);
    m->base.params = pr_alloc_aligned((size_t)m->base.n_params, sizeof(float));
    m->loss_part = pr_calloc((size_t)pr_pool_size(pool), sizeof *m->loss_part);
    /* hogwild epochs' orders: the users' (order=user) or, on several threads, each thread's pairs' */
    int need_uperm = m->hogwild && m->by_user, need_local = m->hogwild && !m->by_user && pr_pool_size(pool) > 1;
    if (need_uperm) m->uperm = pr_malloc((size_t)nu, sizeof *m->uperm);
    if (need_local) m->local_order = pr_malloc((size_t)data->train->nnz + 1, sizeof *m->local_order);
    if (!m->base.params || !m->loss_part || (need_uperm && !m->uperm) || (need_local && !m->local_order))
        goto oom;
    m->U = m->base.params;
    m->V = m->U + (int64_t)nu * m->d;
    m->b = m->bias ? m->V + (int64_t)ni * m->d : NULL;
    /* Xavier normal: std = sqrt(2 / (fan_in + fan_out)) with PyTorch's fans of an (n, d) table */
    pr_rng r;
    pr_rng_init(&r, c->seed, 0x6270726dULL);
    float su = sqrtf(2.0f / (float)(nu + m->d)), sv = sqrtf(2.0f / (float)(ni + m->d));
    pr_rng_normal_fill(&r, m->U, (int64_t)nu * m->d, su);
    pr_rng_normal_fill(&r, m->V, (int64_t)ni * m->d, sv);
    if (m->b) memset(m->b, 0, (size_t)ni * sizeof *m->b);
    int dense = kind == PR_EMB_ADAM_DENSE;
    if (pr_embed_init(&m->eU, m->U, nu, m->d, kind) || pr_embed_init(&m->eV, m->V, ni, m->d, kind) ||
        pr_rowgrad_init(&m->gU, nu, m->d, m->cap, dense) ||
        pr_rowgrad_init(&m->gV, ni, m->d, 2 * (int64_t)m->cap, dense))
        goto oom;
    if (m->b && (pr_embed_init(&m->eb, m->b, ni, 1, kind) ||
                 pr_rowgrad_init(&m->gb, ni, 1, 2 * (int64_t)m->cap, dense)))
        goto oom;
    *out = &m->base;
    return 0;
oom:
    rc = pr_err(err, PR_E_NOMEM, "bprmf: %d users x %d items x d=%d", nu, ni, m->d);
fail:
    bprmf_free(&m->base);
    return rc;
}

/* x = pu . (qi - qj) and nrm = |pu|^2 + |qi|^2 + |qj|^2 in one pass over the
 * three rows, in PR_LANES lanes (see pr_dot) so that it vectorises. */
static inline float triple_dot(const float *restrict pu, const float *restrict qi, const float *restrict qj, int d,
                               float *nrm_out) {
    float x = 0, nrm = 0, ax[PR_LANES] = {0}, an[PR_LANES] = {0};
    int k0 = 0;
    for (; k0 + PR_LANES <= d; k0 += PR_LANES)
        for (int l = 0; l < PR_LANES; l++) {
            float a = pu[k0 + l], bi = qi[k0 + l], bj = qj[k0 + l];
            ax[l] += a * (bi - bj);
            an[l] += a * a + bi * bi + bj * bj;
        }
    for (int l = 0; l < PR_LANES; l++) {
        x += ax[l];
        nrm += an[l];
    }
    for (; k0 < d; k0++) {
        x += pu[k0] * (qi[k0] - qj[k0]);
        nrm += pu[k0] * pu[k0] + qi[k0] * qi[k0] + qj[k0] * qj[k0];
    }
    *nrm_out = nrm;
    return x;
}

/* The loss and the SGD step of one triple in hogwild mode, in place. One
 * exp serves both: e = exp(-|x|), sigmoid(-x) = (x >= 0 ? e : 1) / (1 + e),
 * softplus(-x) = max(-x, 0) + log(1 + e); the log is left to the caller as
 * a factor (1 + e) of a running product (one log per 16 samples). */
typedef struct {
    double lin;  /* sum of max(-x, 0) + reg |rows|^2 */
    double logs; /* sum of log(products) */
    float prod;  /* running product of (1 + e), < 2^16 */
    int in_prod;
} loss_acc;

static inline void loss_acc_flush(loss_acc *a) {
    a->logs += log((double)a->prod);
    a->prod = 1;
    a->in_prod = 0;
}

static inline void hogwild_update(const bprmf *m, int32_t u, int32_t i, int32_t j, float lr, float reg,
                                  loss_acc *acc) {
    if (i == j) return; /* a user with every item: no negative to learn from */
    int d = m->d;
    float *restrict pu = m->U + (int64_t)u * d, *restrict qi = m->V + (int64_t)i * d,
          *restrict qj = m->V + (int64_t)j * d;
    float nrm, x = triple_dot(pu, qi, qj, d, &nrm);
    if (m->b) x += m->b[i] - m->b[j];
    float e = expf(-fabsf(x)), g = -(x >= 0 ? e : 1.0f) / (1.0f + e), r2 = 2.0f * reg;
    acc->lin += (x < 0 ? -x : 0) + reg * nrm;
    acc->prod *= 1.0f + e;
    if (++acc->in_prod == 16) loss_acc_flush(acc);
    for (int k = 0; k < d; k++) {
        float a = pu[k], bi = qi[k], bj = qj[k];
        pu[k] -= lr * (g * (bi - bj) + r2 * a);
        qi[k] -= lr * (g * a + r2 * bi);
        qj[k] -= lr * (-g * a + r2 * bj);
    }
    if (m->b) {
        m->b[i] -= lr * g;
        m->b[j] += lr * g;
    }
}

typedef struct {
    bprmf *m;
    const pr_batch *b;
} batch_job;

/* One pass per sample computes the loss and, at once, the gradient: the
 * gradient needs x = s(u,i) - s(u,j), the pass already has the three rows in
 * cache, and a second pass would read them again. Deterministic mode writes
 * the sample's three slots (d loss / d x = -pr_fsigmoid(-x) / B); hogwild mode
 * applies the SGD update in place, racing benignly with other threads. */
static void forward_slice(void *ctx, int ith, int nth) {
    batch_job *J = ctx;
    bprmf *m = J->m;
    const pr_batch *bt = J->b;
    int64_t lo, hi;
    pr_split(bt->B, ith, nth, &lo, &hi);
    int d = m->d;
    float reg = m->base.cfg->reg, invB = 1.0f / (float)bt->B;
    if (m->hogwild) {
        loss_acc acc = {0, 0, 1, 0};
        for (int64_t s = lo; s < hi; s++)
            hogwild_update(m, bt->u[s], bt->i[s], bt->j[s * bt->n_neg], m->opt.lr, reg, &acc);
        loss_acc_flush(&acc);
        m->loss_part[ith] = acc.lin + acc.logs;
        return;
    }
    double loss = 0;
    float r2 = 2.0f * reg * invB;
    for (int64_t s = lo; s < hi; s++) {
        int32_t u = bt->u[s], i = bt->i[s], j = bt->j[s * bt->n_neg];
        /* three distinct rows (the sampler never draws a positive as the negative,
         * but a user with every item leaves it no choice: such a sample is a no-op) */
        if (i == j) {
            memset(m->gU.g + s * d, 0, (size_t)d * sizeof(float));
            memset(m->gV.g + 2 * s * d, 0, 2 * (size_t)d * sizeof(float));
            m->gU.row[s] = u;
            m->gV.row[2 * s] = i;
            m->gV.row[2 * s + 1] = j;
            if (m->b) {
                m->gb.g[2 * s] = m->gb.g[2 * s + 1] = 0;
                m->gb.row[2 * s] = i;
                m->gb.row[2 * s + 1] = j;
            }
            continue;
        }
        float *restrict pu = m->U + (int64_t)u * d, *restrict qi = m->V + (int64_t)i * d,
              *restrict qj = m->V + (int64_t)j * d;
        float nrm, x = triple_dot(pu, qi, qj, d, &nrm);
        if (m->b) x += m->b[i] - m->b[j];
        loss += pr_fsoftplus(-x) + reg * nrm;
        float g = -pr_fsigmoid(-x) * invB;
        float *restrict gu = m->gU.g + s * d, *restrict gi = m->gV.g + 2 * s * d, *restrict gj = gi + d;
        for (int k = 0; k < d; k++) {
            gu[k] = g * (qi[k] - qj[k]) + r2 * pu[k];
            gi[k] = g * pu[k] + r2 * qi[k];
            gj[k] = -g * pu[k] + r2 * qj[k];
        }
        m->gU.row[s] = u;
        m->gV.row[2 * s] = i;
        m->gV.row[2 * s + 1] = j;
        if (m->b) {
            m->gb.g[2 * s] = g;
            m->gb.g[2 * s + 1] = -g;
            m->gb.row[2 * s] = i;
            m->gb.row[2 * s + 1] = j;
        }
    }
    m->loss_part[ith] = loss;
}

static double bprmf_forward(pr_model *base, const pr_batch *bt) {
    bprmf *m = (bprmf *)base;
    batch_job J = {m, bt};
    int nth = pr_pool_size(base->pool);
    pr_pool_run(base->pool, forward_slice, &J);
    double loss = 0;
    for (int t = 0; t < nth; t++) loss += m->loss_part[t];
    int64_t slots = m->hogwild ? 0 : bt->B;
    m->gU.n = slots;
    m->gV.n = 2 * slots;
    m->gb.n = m->b ? 2 * slots : 0;
    return loss / bt->B;
}

/* The fused hogwild epoch: each thread takes a contiguous run of chunks of
 * the epoch's order, draws a chunk's negatives into thread-local arrays (its
 * own random stream per chunk), then updates, prefetching the rows of the
 * triple AHEAD places on: U and V do not fit in L2 on Baby-sized data, and a
 * plain update loop waits on those misses one after another. One pool
 * hand-off per epoch. The order: on one thread the sampler's permutation of
 * all pairs; on several, each thread shuffles its own share of the pairs (a
 * contiguous run of users, pairs being stored user by user), in parallel:
 * the serial shuffle cost an eighth of an epoch, and the threads then share
 * item rows only, not user rows. */
enum { EPOCH_CHUNK = 256, AHEAD = 4 }; /* 4: measured best of 2..16 (interleaved runs, Baby-shaped) */

typedef struct {
    bprmf *m;
    const pr_epoch_plan *p;
    const int64_t *order;      /* random order, one thread: the sampler's permutation; NULL: per-thread shuffles */
} epoch_job;

static inline void prefetch_row(const float *row, int d) {
    for (int k = 0; k < d; k += 16) __builtin_prefetch(row + k, 1);
}

/* Train on the pairs order[0..n), in that order, chunk by chunk: negatives
 * drawn from neg[0..n_neg) with chunk c's own stream (stream0 + c). */
static void train_pairs(bprmf *m, const pr_epoch_plan *p, const int64_t *order, int64_t n, const int32_t *neg,
                        int32_t n_neg, uint64_t stream0, loss_acc *acc) {
    int32_t cu[EPOCH_CHUNK], ci[EPOCH_CHUNK], cj[EPOCH_CHUNK];
    int64_t lo[EPOCH_CHUNK], hi[EPOCH_CHUNK];
    float lr = m->opt.lr, reg = m->base.cfg->reg;
    int d = m->d;
    for (int64_t first = 0, c = 0; first < n; first += EPOCH_CHUNK, c++) {
        pr_rng r;
        pr_rng_init(&r, p->seed ^ ((uint64_t)p->epoch << 40), stream0 + (uint64_t)c);
        int cnt = (int)PR_MIN((int64_t)EPOCH_CHUNK, n - first);
        /* gathers first, each load independent of the others, so that the
         * misses overlap; then the draws, whose row searches depend on them */
        for (int x = 0; x < cnt; x++) {
            int64_t k = order[first + x];
            cu[x] = p->u[k];
            ci[x] = p->i[k];
        }
        for (int x = 0; x < cnt; x++) {
            lo[x] = p->train->indptr[cu[x]];
            hi[x] = p->train->indptr[cu[x] + 1];
        }
        for (int x = 0; x < cnt; x++) {
            if (x + AHEAD < cnt) __builtin_prefetch(p->train->indices + lo[x + AHEAD]);
            cj[x] = pr_draw_negative(p->train->indices + lo[x], hi[x] - lo[x], neg, n_neg, &r);
        }
        for (int x = 0; x < cnt; x++) {
            if (x + AHEAD < cnt) {
                prefetch_row(m->U + (int64_t)cu[x + AHEAD] * d, d);
                prefetch_row(m->V + (int64_t)ci[x + AHEAD] * d, d);
                prefetch_row(m->V + (int64_t)cj[x + AHEAD] * d, d);
            }
            hogwild_update(m, cu[x], ci[x], cj[x], lr, reg, acc);
        }
    }
}

/* This thread's share of the pairs: whole chunks, a contiguous run of users. */
static void thread_pairs(int64_t n, int ith, int nth, int64_t *a, int64_t *b) {
    int64_t c0, c1;
    pr_split((n + EPOCH_CHUNK - 1) / EPOCH_CHUNK, ith, nth, &c0, &c1);
    *a = c0 * EPOCH_CHUNK;
    *b = PR_MIN(c1 * EPOCH_CHUNK, n);
}

/* o[a..b) = a shuffled permutation of a..b-1 (Fisher-Yates; ranges are
 * below 2^32: pr_rng_below). */
static void shuffle_range(int64_t *o, int64_t a, int64_t b, pr_rng *r) {
    for (int64_t k = a; k < b; k++) o[k] = k;
    for (int64_t k = b - 1; k > a; k--) {
        int64_t j = a + (int64_t)pr_rng_below(r, (uint32_t)(k - a + 1)), t = o[k];
        o[k] = o[j];
        o[j] = t;
    }
}

static void epoch_slice(void *ctx, int ith, int nth) {
    epoch_job *J = ctx;
    bprmf *m = J->m;
    const pr_epoch_plan *p = J->p;
    int64_t a, b;
    thread_pairs(p->n, ith, nth, &a, &b);
    const int64_t *order = J->order;
    if (!order) { /* this thread's pairs, shuffled here, in parallel, with its own stream */
        pr_rng r;
        pr_rng_init(&r, p->seed ^ ((uint64_t)p->epoch << 40), 0x6c6f63616cULL + (uint64_t)ith);
        shuffle_range(m->local_order, a, b, &r);
        order = m->local_order;
    }
    loss_acc acc = {0, 0, 1, 0};
    train_pairs(m, p, order + a, b - a, p->neg_items, p->n_neg_items, 0x65706f6368ULL + (uint64_t)(a / EPOCH_CHUNK),
                &acc);
    loss_acc_flush(&acc);
    m->loss_part[ith] = acc.lin + acc.logs;
}

/* order=user: thread t takes a contiguous run of the shuffled users and
 * visits each user's training pairs together, so her row of U stays in L1
 * while V (the smaller table) is prefetched: on Baby-sized data U alone
 * (5 MB) overflows L2 and costs a miss per sample in random order. The
 * samples are the same multiset as in random order; only their sequence is
 * less mixed (a user's updates come in a burst). */
static void epoch_slice_by_user(void *ctx, int ith, int nth) {
    epoch_job *J = ctx;
    bprmf *m = J->m;
    const pr_epoch_plan *p = J->p;
    const pr_csr *t = p->train;
    int64_t a, b;
    pr_split(t->n_rows, ith, nth, &a, &b);
    int32_t cj[EPOCH_CHUNK];
    float lr = m->opt.lr, reg = m->base.cfg->reg;
    int d = m->d;
    loss_acc acc = {0, 0, 1, 0};
    for (int64_t q = a; q < b; q++) {
        int32_t u = (int32_t)m->uperm[q];
        const int32_t *pos = t->indices + t->indptr[u];
        int64_t n = pr_csr_row_len(t, u);
        pr_rng r;
        pr_rng_init(&r, p->seed ^ ((uint64_t)p->epoch << 40), 0x75736572ULL + (uint64_t)q);
        for (int64_t c0 = 0; c0 < n; c0 += EPOCH_CHUNK) {
            int cnt = (int)PR_MIN((int64_t)EPOCH_CHUNK, n - c0);
            for (int x = 0; x < cnt; x++) cj[x] = pr_draw_negative(pos, n, p->neg_items, p->n_neg_items, &r);
            for (int x = 0; x < cnt; x++) {
                if (x + 2 < cnt) {
                    prefetch_row(m->V + (int64_t)pos[c0 + x + 2] * d, d);
                    prefetch_row(m->V + (int64_t)cj[x + 2] * d, d);
                }
                hogwild_update(m, u, pos[c0 + x], cj[x], lr, reg, &acc);
            }
        }
        if (q + 1 < b) prefetch_row(m->U + (int64_t)m->uperm[q + 1] * d, d);
    }
    loss_acc_flush(&acc);
    m->loss_part[ith] = acc.lin + acc.logs;
}

static int bprmf_run_epoch(pr_model *base, const pr_epoch_plan *p, double *loss) {
    bprmf *m = (bprmf *)base;
    if (!m->hogwild) return 0;
    epoch_job J = {m, p, NULL};
    int nth = pr_pool_size(base->pool);
    if (m->by_user) { /* a fresh order of the users for this epoch */
        pr_rng r;
        pr_rng_init(&r, p->seed, 0x7573686675ULL + (uint64_t)p->epoch);
        shuffle_range(m->uperm, 0, base->data->n_users, &r);
    } else if (nth == 1) {
        J.order = pr_sampler_order(p->sampler);
    }
    pr_pool_run(base->pool, m->by_user ? epoch_slice_by_user : epoch_slice, &J);
    double sum = 0;
    for (int t = 0; t < nth; t++) sum += m->loss_part[t];
    *loss = sum / (double)p->n;
    return 1;
}

/* The gradient was written by forward (see forward_slice). */
static void bprmf_backward(pr_model *base, const pr_batch *bt) {}

static void bprmf_step(pr_model *base, const pr_batch *bt) {
    bprmf *m = (bprmf *)base;
    if (m->hogwild) return; /* applied in backward */
    m->opt.t++;
    pr_embed_step(&m->eU, &m->gU, &m->opt, base->pool);
    pr_embed_step(&m->eV, &m->gV, &m->opt, base->pool);
    if (m->b) pr_embed_step(&m->eb, &m->gb, &m->opt, base->pool);
}

static void bprmf_dense_grad(pr_model *base, float *g) {
    bprmf *m = (bprmf *)base;
    int32_t nu = base->data->n_users, ni = base->data->n_items;
    pr_rowgrad_to_dense(&m->gU, g);
    pr_rowgrad_to_dense(&m->gV, g + (int64_t)nu * m->d);
    if (m->b) pr_rowgrad_to_dense(&m->gb, g + (int64_t)(nu + ni) * m->d);
}

static int bprmf_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    bprmf *m = (bprmf *)base;
    pr_snapshot view = {base->data->n_users, base->data->n_items, m->d, m->U, m->V, m->b, NULL};
    if (pr_snapshot_copy(out, &view)) return pr_err(err, PR_E_NOMEM, "bprmf snapshot");
    return 0;
}

static void bprmf_free(pr_model *base) {
    bprmf *m = (bprmf *)base;
    if (!m) return;
    pr_embed_deinit(&m->eU);
    pr_embed_deinit(&m->eV);
    pr_embed_deinit(&m->eb);
    pr_rowgrad_deinit(&m->gU);
    pr_rowgrad_deinit(&m->gV);
    pr_rowgrad_deinit(&m->gb);
    pr_free_aligned(m->base.params);
    free(m->loss_part);
    free(m->uperm);
    free(m->local_order);
    free(m);
}

const pr_model_ops pr_bprmf_ops = {
    .name = "bprmf",
    .help = "BPR matrix factorisation; keys: bias=0|1, hogwild=0|1 (with optim=sgd), order=random|user (hogwild epochs)",
    .init = bprmf_init,
    .forward = bprmf_forward,
    .run_epoch = bprmf_run_epoch,
    .backward = bprmf_backward,
    .step = bprmf_step,
    .dense_grad = bprmf_dense_grad,
    .snapshot = bprmf_snapshot,
    .free = bprmf_free,
};
