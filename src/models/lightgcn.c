/* models/lightgcn.c: LightGCN (He et al., SIGIR 2020), the ID-only graph model.
 *
 *   E_0 = [U; V]            (n_users + n_items, d), the only parameters
 *   E   = 1/(L+1) sum_{l=0..L} A^l E_0,   A = D^-1/2 [[0, R], [R^T, 0]] D^-1/2
 *   s(u,i) = E[u] . E[n_users + i]
 *   loss = mean_s pr_fsoftplus(-(s(u,i) - s(u,j)))
 *        + reg * (|E_0[u_B]|_F + |E_0[i_B]|_F + |E_0[j_B]|_F) / B
 * The regulariser is MMRec's EmbLoss: Frobenius norms (not squared) of the
 * batch's ego rows (repeats included), divided by the batch size.
 *
 * Each batch propagates the whole graph (the loss of any batch depends on
 * every embedding within L hops), so forward costs L SpMMs and backward L
 * more, by Horner's rule (core/spmm.h): 4 L nnz(R) d flops per batch. Since
 * the propagation is linear, nothing but the final E is kept for backward.
 * A is symmetric, so it is its own transpose in the backward pass.
 *
 * Gradients are dense (n, d) and live in a pr_rowgrad with one slot per row
 * (slot s = row s), so nn/embedding.h's threaded Adam applies them; with
 * every row a slot, its lazy "adam" is PyTorch's dense Adam here. Scatters
 * into the gradient are split by destination row across threads and walk the
 * batch in sample order, and losses are summed serially in sample order: a
 * run is bit-identical for any thread count.
 *
 * Defaults (MMRec): d 64, n_layers 2 (MMRec searches 1..4), reg from --reg
 * (MMRec searches 1e-2..1e-6; 1e-4 is a good start), Adam lr 1e-3, batch
 * 2048, Xavier-uniform init. Keys: n_layers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"
#include "models/margins.h"
#include "core/rng.h"
#include "core/spmm.h"
#include "models/model.h"
#include "nn/embedding.h"

typedef struct {
    pr_model base;
    int d, L;
    int32_t nu, ni, n;   /* n = nu + ni graph nodes */
    float *E0;           /* view of params: (n, d), users then items */
    float *E;            /* (n, d) propagated embeddings of the last forward */
    float *G;            /* (n, d) d loss / d E of the last backward */
    float *tmp;          /* (2, n, d) propagation scratch */
    pr_csr *A;           /* (n, n) symmetric normalised graph */
    pr_embed emb;
    pr_rowgrad grad;     /* slot s = row s: grad.g is d loss / d E_0 */
    pr_embed_opt opt;
    int cap;             /* batch capacity */
    float *x;            /* (cap) margins s(u,i) - s(u,j) */
    double *ls;          /* (cap, 4) per-sample softplus and ego squared norms */
    float coef[3];       /* reg / (B |.|_F) of the user, positive, negative blocks */
} lightgcn;

static void lightgcn_free(pr_model *base);


/* Xavier uniform for an (n, d) table, PyTorch's fans: bound sqrt(6 / (n + d)). */
static void xavier_uniform(float *W, int64_t n, int d, pr_rng *r) {
    float b = sqrtf(6.0f / (float)(n + d));
    for (int64_t k = 0; k < n * d; k++) W[k] = b * (2.0f * pr_rng_float(r) - 1.0f);
}

static int lightgcn_init(pr_model **out, const pr_dataset *data, const pr_features *f,
                         const pr_config *c, pr_pool *pool, pr_error *err) {
    lightgcn *m = pr_calloc(1, sizeof *m);
    if (!m) return pr_err(err, PR_E_NOMEM, "lightgcn");
    int rc = 0, kind;
    m->base.data = data;
    m->base.cfg = c;
    m->base.pool = pool;
    m->d = c->d;
    m->L = (int)pr_config_i(c, "n_layers", 2);
    m->nu = data->n_users;
    m->ni = data->n_items;
    m->n = m->nu + m->ni;
    m->cap = c->batch;
    if (m->L < 0 || m->L > 16) {
        rc = pr_err(err, PR_E_ARG, "lightgcn: n_layers=%d outside [0, 16]", m->L);
        goto fail;
    }
    if ((rc = pr_embed_opt_parse(c->optim, &kind, err))) goto fail;
    pr_embed_opt_init(&m->opt, kind, c->lr);
    if ((rc = pr_adj_build(data->train, 0, PR_NORM_SYM, &m->A, err))) goto fail;
    int64_t nd = (int64_t)m->n * m->d;
    m->base.n_params = nd;
    m->base.params = pr_alloc_aligned((size_t)nd, sizeof(float));
    m->E = pr_alloc_aligned((size_t)nd, sizeof(float));
    m->G = pr_alloc_aligned((size_t)nd, sizeof(float));
    m->tmp = pr_alloc_aligned(2 * (size_t)nd, sizeof(float));
    m->x = pr_malloc((size_t)m->cap, sizeof *m->x);
    m->ls = pr_malloc((size_t)m->cap * 4, sizeof *m->ls);
    if (!m->base.params || !m->E || !m->G || !m->tmp || !m->x || !m->ls) goto oom;
    m->E0 = m->base.params;
    pr_rng r;
    pr_rng_init(&r, c->seed, 0x6c67636eULL);
    xavier_uniform(m->E0, m->nu, m->d, &r);
    xavier_uniform(m->E0 + (int64_t)m->nu * m->d, m->ni, m->d, &r);
    if (pr_embed_init(&m->emb, m->E0, m->n, m->d, kind) ||
        pr_rowgrad_init(&m->grad, m->n, m->d, m->n, kind == PR_EMB_ADAM_DENSE))
        goto oom;
    for (int32_t s = 0; s < m->n; s++) m->grad.row[s] = s;
    *out = &m->base;
    return 0;
oom:
    rc = pr_err(err, PR_E_NOMEM, "lightgcn: %d users + %d items x d=%d", m->nu, m->ni, m->d);
fail:
    lightgcn_free(&m->base);
    return rc;
}

/* ---- forward ----------------------------------------------------------------- */

typedef struct {
    lightgcn *m;
    const pr_batch *b;
} batch_job;



static double lightgcn_forward(pr_model *base, const pr_batch *bt) {
    lightgcn *m = (lightgcn *)base;
    pr_spmm_layer_mean(base->pool, m->A, m->L, m->E0, m->d, m->tmp, m->E);
    pr_bpr_margins(base->pool, bt, m->E, m->E0, m->nu, m->d, m->x, m->ls);
    double bpr = 0, nrm[3] = {0, 0, 0};
    for (int s = 0; s < bt->B; s++) { /* sample order: independent of threads */
        bpr += m->ls[4 * s];
        for (int q = 0; q < 3; q++) nrm[q] += m->ls[4 * s + 1 + q];
    }
    double reg = base->cfg->reg, B = bt->B, loss = bpr / B;
    for (int q = 0; q < 3; q++) {
        double f = sqrt(nrm[q]);
        loss += reg * f / B;
        m->coef[q] = f > 0 ? (float)(reg / (B * f)) : 0.0f;
    }
    return loss;
}

/* ---- backward ---------------------------------------------------------------- */

/* Thread ith owns rows [r0, r1) of G and of the ego gradient: it walks the
 * whole batch in sample order and applies only the updates that land in its
 * rows, so no two threads write one row and the sum order is fixed. */
static void scatter_G(void *ctx, int ith, int nth) {
    batch_job *J = ctx;
    lightgcn *m = J->m;
    const pr_batch *bt = J->b;
    int d = m->d;
    int64_t r0, r1;
    pr_split(m->n, ith, nth, &r0, &r1);
    memset(m->G + r0 * d, 0, (size_t)(r1 - r0) * d * sizeof *m->G);
    float invB = 1.0f / (float)bt->B;
    for (int64_t s = 0; s < bt->B; s++) {
        int32_t u = bt->u[s], i = m->nu + bt->i[s], j = m->nu + bt->j[s * bt->n_neg];
        float g = -pr_fsigmoid(-m->x[s]) * invB;
        const float *eu = m->E + (int64_t)u * d, *ei = m->E + (int64_t)i * d, *ej = m->E + (int64_t)j * d;
        if (u >= r0 && u < r1) {
            float *gu = m->G + (int64_t)u * d;
            for (int k = 0; k < d; k++) gu[k] += g * (ei[k] - ej[k]);
        }
        if (i >= r0 && i < r1) {
            float *gi = m->G + (int64_t)i * d;
            for (int k = 0; k < d; k++) gi[k] += g * eu[k];
        }
        if (j >= r0 && j < r1) {
            float *gj = m->G + (int64_t)j * d;
            for (int k = 0; k < d; k++) gj[k] -= g * eu[k];
        }
    }
}

/* d reg / d E_0 rows: coef[q] * E_0[row] once per occurrence in the batch. */
static void scatter_reg(void *ctx, int ith, int nth) {
    batch_job *J = ctx;
    lightgcn *m = J->m;
    const pr_batch *bt = J->b;
    int d = m->d;
    int64_t r0, r1;
    pr_split(m->n, ith, nth, &r0, &r1);
    for (int64_t s = 0; s < bt->B; s++) {
        int32_t rows[3] = {bt->u[s], m->nu + bt->i[s], m->nu + bt->j[s * bt->n_neg]};
        for (int q = 0; q < 3; q++) {
            if (rows[q] < r0 || rows[q] >= r1 || m->coef[q] == 0.0f) continue;
            float *g = m->grad.g + (int64_t)rows[q] * d;
            const float *e = m->E0 + (int64_t)rows[q] * d;
            for (int k = 0; k < d; k++) g[k] += m->coef[q] * e[k];
        }
    }
}

static void lightgcn_backward(pr_model *base, const pr_batch *bt) {
    lightgcn *m = (lightgcn *)base;
    batch_job J = {m, bt};
    pr_pool_run(base->pool, scatter_G, &J);
    /* d loss / d E_0 = 1/(L+1) sum_l (A^T)^l G, A^T = A */
    pr_spmm_layer_mean(base->pool, m->A, m->L, m->G, m->d, m->tmp, m->grad.g);
    pr_pool_run(base->pool, scatter_reg, &J);
    m->grad.n = m->n;
}

static void lightgcn_step(pr_model *base, const pr_batch *bt) {
    lightgcn *m = (lightgcn *)base;
    m->opt.t++;
    pr_embed_step(&m->emb, &m->grad, &m->opt, base->pool);
}

static void lightgcn_dense_grad(pr_model *base, float *g) {
    lightgcn *m = (lightgcn *)base;
    memcpy(g, m->grad.g, (size_t)m->n * m->d * sizeof *g);
}

static int lightgcn_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    lightgcn *m = (lightgcn *)base;
    pr_spmm_layer_mean(base->pool, m->A, m->L, m->E0, m->d, m->tmp, m->E);
    pr_snapshot view = {m->nu, m->ni, m->d, m->E, m->E + (int64_t)m->nu * m->d, NULL, NULL};
    if (pr_snapshot_copy(out, &view)) return pr_err(err, PR_E_NOMEM, "lightgcn snapshot");
    return 0;
}

static void lightgcn_free(pr_model *base) {
    lightgcn *m = (lightgcn *)base;
    if (!m) return;
    pr_embed_deinit(&m->emb);
    pr_rowgrad_deinit(&m->grad);
    pr_csr_free(m->A);
    pr_free_aligned(m->base.params);
    pr_free_aligned(m->E);
    pr_free_aligned(m->G);
    pr_free_aligned(m->tmp);
    free(m->x);
    free(m->ls);
    free(m);
}

const pr_model_ops pr_lightgcn_ops = {
    .name = "lightgcn",
    .help = "LightGCN (He et al. 2020): layer-mean propagation on the user-item graph; keys: n_layers=2",
    .init = lightgcn_init,
    .forward = lightgcn_forward,
    .backward = lightgcn_backward,
    .step = lightgcn_step,
    .dense_grad = lightgcn_dense_grad,
    .snapshot = lightgcn_snapshot,
    .free = lightgcn_free,
};
