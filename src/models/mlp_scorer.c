/* models/mlp_scorer.c: NCF-style re-ranking of the dot product's candidates (see mlp_scorer.h). */
#include "mlp_scorer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"
#include "core/rng.h"
#include "core/topk.h"
#include "eval/evaluator.h"
#include "nn/loss.h"
#include "nn/mlp.h"
#include "nn/optim.h"
#include "nn/param.h"
#include "train/sampler.h"

#define SCORER_MAGIC 0x4c504d53u /* "SMPL" */
#define CAND_BLOCK 256           /* users per candidate GEMM block */

struct pr_mlp_scorer {
    pr_mlp_scorer_opts o;
    const pr_snapshot *s;
    const pr_csr *train;
    pr_pool *pool;
    int d, cap;          /* embedding width, rows per batch (2 batch) */
    pr_params P;         /* the MLP's tensors */
    pr_mlp mlp;
    pr_optim opt;
    int32_t *cand;       /* (n_users, n_cand) each user's candidates, -1 = none */
    float *Z, *act, *dy; /* (cap, 3d), MLP activations, (cap) */
    float *sp, *sn, *dp, *dn; /* (batch) scores and their gradients */
};

void pr_mlp_scorer_defaults(pr_mlp_scorer_opts *o) {
    memset(o, 0, sizeof *o);
    o->layers = 2;
    o->hidden = 64;
    o->act = PR_ACT_RELU;
    o->n_cand = 100;
    o->epochs = 50;
    o->batch = 1024;
    o->patience = 5;
    o->lr = 1e-3f;
    o->wd = 1e-5f;
    o->p_hard = 0.5f;
    o->seed = 999;
}

void pr_mlp_scorer_free(pr_mlp_scorer *m) {
    if (!m) return;
    pr_params_deinit(&m->P);
    pr_optim_deinit(&m->opt);
    free(m->cand);
    pr_free_aligned(m->Z);
    pr_free_aligned(m->act);
    free(m->dy);
    free(m->sp);
    free(m->sn);
    free(m->dp);
    free(m->dn);
    free(m);
}

static int check_opts(const pr_mlp_scorer_opts *o, pr_error *err) {
    if (o->layers < 1 || o->layers > PR_MLP_MAX_LAYERS || o->hidden < 1 || o->hidden > 65536 ||
        o->act < PR_ACT_NONE || o->act > PR_ACT_GELU || o->n_cand < 1 || o->n_cand > 100000 ||
        o->epochs < 0 || o->batch < 1 || o->patience < 0 || !(o->lr > 0) || !(o->wd >= 0) ||
        !(o->p_hard >= 0 && o->p_hard <= 1))
        return pr_err(err, PR_E_ARG,
                      "mlp scorer: layers %d, hidden %d, act %d, n_cand %d, epochs %d, batch %d, lr %g, "
                      "wd %g, p_hard %g out of range",
                      o->layers, o->hidden, o->act, o->n_cand, o->epochs, o->batch, o->lr, o->wd, o->p_hard);
    return 0;
}

/* ---- candidates ------------------------------------------------------------ */

typedef struct {
    pr_mlp_scorer *m;
    int64_t n_blocks;
} cand_job;

/* Top n_cand unseen items of each user of row (scores (n_items), trashed). */
static void user_candidates(const pr_mlp_scorer *m, int32_t u, float *row, int32_t *cand, float *val) {
    const pr_csr *t = m->train;
    if (t && u < t->n_rows)
        for (int64_t k = t->indptr[u]; k < t->indptr[u + 1]; k++) row[t->indices[k]] = -INFINITY;
    int got = pr_topk(row, m->s->n_items, m->o.n_cand, cand, val);
    for (int k = got; k < m->o.n_cand; k++) cand[k] = -1;
}

static void cand_slice(void *ctx, int ith, int nth) {
    cand_job *J = ctx;
    pr_mlp_scorer *m = J->m;
    const pr_snapshot *s = m->s;
    pr_scorer sc = {s->n_users, s->n_items, s->d, s->U, s->V, s->b, NULL, NULL};
    float *scores = pr_malloc((size_t)CAND_BLOCK * s->n_items, sizeof *scores);
    float *scratch = pr_malloc((size_t)CAND_BLOCK * s->d, sizeof *scratch);
    float *val = pr_malloc((size_t)m->o.n_cand, sizeof *val);
    int32_t users[CAND_BLOCK];
    int64_t b0, b1;
    pr_split(J->n_blocks, ith, nth, &b0, &b1);
    for (int64_t b = b0; b < b1 && scores && scratch && val; b++) {
        int32_t u0 = (int32_t)(b * CAND_BLOCK), n = (int)PR_MIN((int64_t)CAND_BLOCK, (int64_t)s->n_users - u0);
        for (int r = 0; r < n; r++) users[r] = u0 + r;
        pr_scorer_score(&sc, users, n, scratch, scores);
        for (int r = 0; r < n; r++)
            user_candidates(m, u0 + r, scores + (int64_t)r * s->n_items, m->cand + (int64_t)(u0 + r) * m->o.n_cand, val);
    }
    if (!scores || !scratch || !val) /* out of memory: no candidates for this slice */
        for (int64_t b = b0; b < b1; b++)
            for (int64_t k = b * CAND_BLOCK * m->o.n_cand; k < PR_MIN((b + 1) * CAND_BLOCK, (int64_t)s->n_users) * m->o.n_cand; k++)
                m->cand[k] = -1;
    free(scores);
    free(scratch);
    free(val);
}

/* ---- construction ------------------------------------------------------------ */

static int build(pr_mlp_scorer *m, pr_error *err) {
    int dims[PR_MLP_MAX_LAYERS + 1], L = m->o.layers, rc;
    dims[0] = 3 * m->d;
    for (int l = 1; l < L; l++) dims[l] = m->o.hidden;
    dims[L] = 1;
    pr_act act = {m->o.act, 0.01f}, none = {PR_ACT_NONE, 0.0f};
    pr_params_init(&m->P);
    if ((rc = pr_mlp_init(&m->mlp, &m->P, "rerank", L, dims, act, none, 0.0f, err)) ||
        (rc = pr_params_alloc(&m->P, err)))
        return rc;
    pr_optim_cfg cfg;
    pr_optim_cfg_defaults(&cfg, PR_OPT_ADAM);
    cfg.lr = m->o.lr;
    cfg.weight_decay = m->o.wd;
    if ((rc = pr_optim_init_params(&m->opt, &cfg, &m->P, err))) return rc;
    m->cap = 2 * m->o.batch;
    int64_t nc = (int64_t)m->s->n_users * m->o.n_cand;
    m->cand = pr_malloc((size_t)nc, sizeof *m->cand);
    m->Z = pr_alloc_aligned((size_t)m->cap * 3 * m->d, sizeof *m->Z);
    m->act = pr_alloc_aligned((size_t)pr_mlp_act_size(&m->mlp, m->cap), sizeof *m->act);
    m->dy = pr_malloc((size_t)m->cap, sizeof *m->dy);
    m->sp = pr_malloc((size_t)m->o.batch, sizeof *m->sp);
    m->sn = pr_malloc((size_t)m->o.batch, sizeof *m->sn);
    m->dp = pr_malloc((size_t)m->o.batch, sizeof *m->dp);
    m->dn = pr_malloc((size_t)m->o.batch, sizeof *m->dn);
    if (!m->cand || !m->Z || !m->act || !m->dy || !m->sp || !m->sn || !m->dp || !m->dn)
        return pr_err(err, PR_E_NOMEM, "mlp scorer: %d users x %d candidates", m->s->n_users, m->o.n_cand);
    cand_job J = {m, (m->s->n_users + CAND_BLOCK - 1) / CAND_BLOCK};
    pr_pool_run(m->pool, cand_slice, &J);
    return 0;
}

static int create(const pr_snapshot *snap, const pr_csr *train, const pr_mlp_scorer_opts *o,
                  pr_pool *pool, pr_mlp_scorer **out, pr_error *err) {
    int rc = check_opts(o, err);
    if (rc) return rc;
    if (!snap->U || !snap->V || snap->d < 1)
        return pr_err(err, PR_E_ARG, "mlp scorer: needs a snapshot with U and V");
    pr_mlp_scorer *m = pr_calloc(1, sizeof *m);
    if (!m) return pr_err(err, PR_E_NOMEM, "mlp scorer");
    m->o = *o;
    m->s = snap;
    m->train = train;
    m->pool = pool;
    m->d = snap->d;
    if ((rc = build(m, err))) {
        pr_mlp_scorer_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int pr_mlp_scorer_new(const pr_snapshot *snap, const pr_csr *train, const pr_mlp_scorer_opts *o,
                      pr_pool *pool, pr_mlp_scorer **out, pr_error *err) {
    int rc = create(snap, train, o, pool, out, err);
    if (rc) return rc;
    pr_mlp_scorer *m = *out;
    pr_rng r;
    pr_rng_init(&r, o->seed, 0x6e6366ULL);
    pr_mlp_init_params(&m->mlp, &m->P, &r);
    const pr_linear *last = &m->mlp.lin[m->mlp.n_layers - 1]; /* start as the dot product */
    pr_params_zeros(&m->P, last->W);
    pr_params_zeros(&m->P, last->b);
    return 0;
}

/* ---- scoring ------------------------------------------------------------------- */

static inline float dot_score(const pr_snapshot *s, int32_t u, int32_t i) {
    float v = pr_dot(s->U + (int64_t)u * s->d, s->V + (int64_t)i * s->d, s->d);
    return s->b ? v + s->b[i] : v;
}

/* z (3d) = [p_u * q_i, p_u, q_i] */
static void input_row(const pr_snapshot *s, int32_t u, int32_t i, float *z) {
    const float *p = s->U + (int64_t)u * s->d, *q = s->V + (int64_t)i * s->d;
    int d = s->d;
    for (int k = 0; k < d; k++) z[k] = p[k] * q[k];
    memcpy(z + d, p, (size_t)d * sizeof *z);
    memcpy(z + 2 * d, q, (size_t)d * sizeof *z);
}

/* out (n) with scratch Z (n, 3d) and act for n rows. */
static void score_rows(const pr_mlp_scorer *m, int32_t u, const int32_t *items, int n, float *Z,
                       float *act, float *out) {
    for (int k = 0; k < n; k++) input_row(m->s, u, items[k], Z + (int64_t)k * 3 * m->d);
    const float *y = pr_mlp_forward(&m->mlp, m->P.w, Z, act, n, 0, NULL);
    for (int k = 0; k < n; k++) out[k] = dot_score(m->s, u, items[k]) + y[k];
}

void pr_mlp_scorer_score(const pr_mlp_scorer *m, int32_t u, const int32_t *items, int n, float *out) {
    float *Z = pr_alloc_aligned((size_t)PR_MAX(n, 1) * 3 * m->d, sizeof *Z);
    float *act = pr_alloc_aligned((size_t)pr_mlp_act_size(&m->mlp, PR_MAX(n, 1)), sizeof *act);
    if (Z && act) score_rows(m, u, items, n, Z, act, out);
    else
        for (int k = 0; k < n; k++) out[k] = NAN; /* out of memory: nothing is ranked */
    pr_free_aligned(Z);
    pr_free_aligned(act);
}

/* Scores of a block of users: dot products, then each user's candidates
 * re-scored and lifted above every other item. */
static int rerank_cb(const void *ctx, const int32_t *users, int n, float *out) {
    const pr_mlp_scorer *m = ctx;
    const pr_snapshot *s = m->s;
    int nc = m->o.n_cand, rc = 0;
    pr_scorer sc = {s->n_users, s->n_items, s->d, s->U, s->V, s->b, NULL, NULL};
    float *scratch = pr_malloc((size_t)n * s->d, sizeof *scratch), *row = pr_malloc((size_t)s->n_items, sizeof *row);
    float *val = pr_malloc((size_t)nc, sizeof *val), *mlp = pr_malloc((size_t)nc, sizeof *mlp);
    int32_t *cand = pr_malloc((size_t)nc, sizeof *cand);
    float *Z = pr_alloc_aligned((size_t)nc * 3 * m->d, sizeof *Z);
    float *act = pr_alloc_aligned((size_t)pr_mlp_act_size(&m->mlp, nc), sizeof *act);
    if (!scratch || !row || !val || !mlp || !cand || !Z || !act) {
        rc = PR_E_NOMEM;
        goto done;
    }
    pr_scorer_score(&sc, users, n, scratch, out);
    for (int r = 0; r < n; r++) {
        float *o = out + (int64_t)r * s->n_items;
        memcpy(row, o, (size_t)s->n_items * sizeof *row);
        user_candidates(m, users[r], row, cand, val);
        int got = 0;
        while (got < nc && cand[got] >= 0) got++;
        if (!got) continue;
        score_rows(m, users[r], cand, got, Z, act, mlp);
        /* every candidate above every other item: shift the others down */
        float lo = INFINITY, hi = -INFINITY;
        for (int k = 0; k < got; k++) lo = fminf(lo, mlp[k]);
        for (int k = 0; k < got; k++) o[cand[k]] = -INFINITY;
        for (int32_t i = 0; i < s->n_items; i++) hi = fmaxf(hi, o[i]);
        float shift = hi >= lo ? hi - lo + 1.0f : 0.0f;
        for (int32_t i = 0; i < s->n_items && shift > 0; i++) o[i] -= shift;
        for (int k = 0; k < got; k++) o[cand[k]] = mlp[k];
    }
done:
    free(scratch);
    free(row);
    free(val);
    free(mlp);
    free(cand);
    pr_free_aligned(Z);
    pr_free_aligned(act);
    return rc;
}

void pr_mlp_scorer_as_scorer(const pr_mlp_scorer *m, pr_scorer *out) {
    memset(out, 0, sizeof *out);
    out->n_users = m->s->n_users;
    out->n_items = m->s->n_items;
    out->score = rerank_cb;
    out->ctx = m;
}

/* ---- training ------------------------------------------------------------------- */

double pr_mlp_scorer_batch_loss(pr_mlp_scorer *m, const int32_t *u, const int32_t *i, const int32_t *j,
                                int B, int grad) {
    int d3 = 3 * m->d;
    for (int s = 0; s < B; s++) {
        input_row(m->s, u[s], i[s], m->Z + (int64_t)(2 * s) * d3);
        input_row(m->s, u[s], j[s], m->Z + (int64_t)(2 * s + 1) * d3);
    }
    const float *y = pr_mlp_forward(&m->mlp, m->P.w, m->Z, m->act, 2 * B, 1, NULL);
    for (int s = 0; s < B; s++) {
        m->sp[s] = dot_score(m->s, u[s], i[s]) + y[2 * s];
        m->sn[s] = dot_score(m->s, u[s], j[s]) + y[2 * s + 1];
    }
    double loss = pr_loss_bpr(m->sp, m->sn, B, 1, grad ? m->dp : NULL, grad ? m->dn : NULL);
    if (grad) {
        for (int s = 0; s < B; s++) {
            m->dy[2 * s] = m->dp[s];
            m->dy[2 * s + 1] = m->dn[s];
        }
        pr_params_zero_grad(&m->P);
        pr_mlp_backward(&m->mlp, m->P.w, m->P.g, m->Z, m->act, m->dy, NULL, 2 * B);
    }
    return loss;
}

float *pr_mlp_scorer_weights(pr_mlp_scorer *m, float **grad, int64_t *n) {
    if (grad) *grad = m->P.g;
    *n = m->P.n_params;
    return m->P.w;
}

static double valid_recall(const pr_mlp_scorer *m, const pr_csr *valid, pr_error *err, int *rc) {
    pr_scorer sc;
    pr_eval_opts o;
    pr_metrics met;
    pr_eval_opts_default(&o);
    o.auc = 0;
    o.mask[0] = m->train;
    pr_mlp_scorer_as_scorer(m, &sc);
    *rc = pr_evaluate(&sc, valid, &o, m->pool, &met, err);
    return *rc ? NAN : pr_metrics_get(&met, "recall@20");
}

/* One epoch over the training pairs; negatives: a candidate with p_hard, else the sampler's. */
static double train_epoch(pr_mlp_scorer *m, pr_sampler *smp, int epoch) {
    int64_t nb = pr_sampler_epoch(smp, epoch);
    double loss = 0;
    int32_t *jj = pr_malloc((size_t)m->o.batch, sizeof *jj);
    if (!jj) return NAN;
    for (int64_t b = 0; b < nb; b++) {
        pr_batch bt;
        pr_sampler_batch(smp, b, m->pool, &bt);
        pr_rng r;
        pr_rng_init(&r, m->o.seed ^ ((uint64_t)epoch << 32), (uint64_t)b);
        for (int s = 0; s < bt.B; s++) {
            jj[s] = bt.j[(int64_t)s * bt.n_neg];
            if (pr_rng_float(&r) < m->o.p_hard) {
                int32_t c = m->cand[(int64_t)bt.u[s] * m->o.n_cand + pr_rng_below(&r, (uint32_t)m->o.n_cand)];
                if (c >= 0) jj[s] = c;
            }
        }
        loss += pr_mlp_scorer_batch_loss(m, bt.u, bt.i, jj, bt.B, 1);
        pr_optim_step_params(&m->opt, &m->P);
    }
    free(jj);
    return loss / (double)nb;
}

int pr_mlp_scorer_fit(pr_mlp_scorer *m, const pr_csr *valid, int *best_epoch, pr_error *err) {
    pr_sampler smp;
    int rc = pr_sampler_init(&smp, m->train, m->o.batch, 1, m->o.seed, NULL, err);
    if (rc) return rc;
    int has_valid = valid && valid->nnz > 0, bad = 0, best_ep = 0;
    float *best = pr_malloc((size_t)m->P.n_params, sizeof *best);
    if (!best) {
        pr_sampler_deinit(&smp);
        return pr_err(err, PR_E_NOMEM, "mlp scorer");
    }
    memcpy(best, m->P.w, (size_t)m->P.n_params * sizeof *best);
    double best_v = has_valid ? valid_recall(m, valid, err, &rc) : -INFINITY;
    for (int ep = 1; ep <= m->o.epochs && !rc; ep++) {
        double loss = train_epoch(m, &smp, ep);
        if (!isfinite(loss)) {
            rc = pr_err(err, PR_E_NUMERIC, "mlp scorer: loss is %g at epoch %d (try a smaller lr)", loss, ep);
            break;
        }
        double v = has_valid ? valid_recall(m, valid, err, &rc) : (double)ep;
        if (rc) break;
        if (v > best_v) {
            best_v = v;
            best_ep = ep;
            bad = 0;
            memcpy(best, m->P.w, (size_t)m->P.n_params * sizeof *best);
        } else if (++bad >= m->o.patience && m->o.patience > 0) {
            break;
        }
    }
    memcpy(m->P.w, best, (size_t)m->P.n_params * sizeof *best);
    if (best_epoch) *best_epoch = best_ep;
    free(best);
    pr_sampler_deinit(&smp);
    return rc;
}

/* ---- save / load -------------------------------------------------------------------- */

int pr_mlp_scorer_save(const pr_mlp_scorer *m, pr_buf *b) {
    const pr_mlp_scorer_opts *o = &m->o;
    pr_buf_put_u32(b, SCORER_MAGIC);
    pr_buf_put_u32(b, (uint32_t)m->d);
    pr_buf_put_u32(b, (uint32_t)o->layers);
    pr_buf_put_u32(b, (uint32_t)o->hidden);
    pr_buf_put_u32(b, (uint32_t)o->act);
    pr_buf_put_u32(b, (uint32_t)o->n_cand);
    int rc = pr_params_save(&m->P, b);
    return rc ? rc : (b->oom ? PR_E_NOMEM : 0);
}

int pr_mlp_scorer_load(const pr_snapshot *snap, const pr_csr *train, pr_cur *c, pr_pool *pool,
                       pr_mlp_scorer **out, pr_error *err) {
    uint32_t magic, d, layers, hidden, act, n_cand;
    int rc;
    if ((rc = pr_cur_get_u32(c, &magic, err)) || (rc = pr_cur_get_u32(c, &d, err)) ||
        (rc = pr_cur_get_u32(c, &layers, err)) || (rc = pr_cur_get_u32(c, &hidden, err)) ||
        (rc = pr_cur_get_u32(c, &act, err)) || (rc = pr_cur_get_u32(c, &n_cand, err)))
        return rc;
    if (magic != SCORER_MAGIC) return pr_err(err, PR_E_FORMAT, "%s: not an mlp scorer", c->what);
    if ((int)d != snap->d)
        return pr_err(err, PR_E_FORMAT, "%s: mlp scorer for d=%u, snapshot d=%d", c->what, d, snap->d);
    pr_mlp_scorer_opts o;
    pr_mlp_scorer_defaults(&o);
    o.layers = (int)PR_MIN(layers, 1000u);
    o.hidden = (int)PR_MIN(hidden, 1u << 20);
    o.act = (int)PR_MIN(act, 1000u);
    o.n_cand = (int)PR_MIN(n_cand, 1u << 30);
    if ((rc = check_opts(&o, NULL))) return pr_err(err, PR_E_FORMAT, "%s: bad mlp scorer options", c->what);
    if ((rc = create(snap, train, &o, pool, out, err))) return rc;
    if ((rc = pr_params_load(&(*out)->P, c, err))) {
        pr_mlp_scorer_free(*out);
        *out = NULL;
    }
    return rc;
}
