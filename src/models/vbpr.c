/* models/vbpr.c: Visual BPR (He & McAuley, AAAI 2016), for any number of modalities.
 *
 *   s(u,i) = b_i + g_u . g_i + t_u . (E f_i) + b' . f_i
 *   loss   = mean_s pr_fsoftplus(-(s(u,i) - s(u,j)))
 *            + reg * mean_s (|[g_u, t_u]|^2 + |g_i|^2 + |g_j|^2)   (+ wd/2 (|E|^2 + |b'|^2))
 * f_i is the item's content: its modalities side by side (fuse=concat, as
 * MMRec does: one E for all of them) or each projected on its own
 * (fuse=separate: t_u = [t_u^1 .. t_u^M], t_u . E f_i = sum_m t_u^m . E_m f_i^m).
 * g_u, t_u^m, g_i have width d. Missing modalities have zero rows, so they
 * add nothing. MMRec's linear layer also has a bias c; t_u . c does not
 * depend on the item and cancels in every BPR difference, so it is left out.
 *
 * Storage: E and b' are one dense table Et (D, d + 1): row f holds feature
 * f's weights into its group's d outputs, then b'_f. In both modes the
 * table has one row per input feature; only which user block a row's outputs
 * meet differs.
 *
 * Speed: a batch touches B triples. E enters the loss only through
 * t_u . E (f_i - f_j) + b' . (f_i - f_j), so the batch gathers the B
 * difference rows X (B, D) once and the content part costs two GEMMs of
 * 2 B D (d+1) flops: P = X Et forward and dEt = X^T dP backward -- never the
 * catalogue (MMRec projects all n_items rows for every batch). Gathering the
 * batch's distinct items instead (about 1.4 B on Amazon Baby) would cost 40%
 * more. Gather + forward GEMM run per thread on its slice of samples; dEt is
 * split over feature rows; embedding rows get per-sample slots reduced in
 * sample order (nn/embedding.h), so runs with a fixed thread count are
 * bit-identical. Snapshot: the catalogue's projection once, F Et.
 *
 * Snapshot (what evaluation and serving see): U = [g_u, t_u^1..t_u^G],
 * V = [g_i, E_1 f_i .. E_G f_i], b = b_i + b' . f_i, width d (1 + G).
 * Split by part (models/parts.h), exactly: ID ([g_i, 0], b_i), modality m
 * its own rows of Et applied to x_m, in its group's block.
 *
 * Parameters: one nn/param.h block; the tables are row-sparse (nn/embedding.h
 * slots and optimizers), E is dense (nn/optim.h, with weight decay wd: the
 * gradient of wd/2 |E|^2, not part of the reported loss).
 * Keys: fuse=concat|separate, bias=0|1 (b_i), wd (0), drop_id (0), drop_mod
 * (0.5: chosen on mls validation, 0.2718 against 0.2660 without; drop_mod=0
 * is MMRec's VBPR). Only the first negative of each sample is used. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"
#include "core/rng.h"
#include "models/content.h"
#include "models/model.h"
#include "models/parts.h"
#include "nn/embedding.h"

enum { FUSE_CONCAT = 0, FUSE_SEPARATE = 1 };
static const char *const fuse_names[] = {"concat", "separate", NULL};

typedef struct {
    pr_model base;
    pr_content c;
    int K, G, du, K1;      /* block width d, content groups, user width K (1 + G), K + 1 */
    int fuse, bias;
    int r0[PR_MAX_MODALITIES], r1[PR_MAX_MODALITIES]; /* feature rows of group g */
    float reg, wd;
    pr_moddrop drop;
    pr_params P;           /* user (n_users, du) | item (n_items, K) | bias (n_items, 1) | E (D, K + 1) */
    float *T;              /* (n_users, du) [g_u, t_u^1 .. t_u^G]   views into P */
    float *Gi;             /* (n_items, K) */
    float *bi;             /* (n_items) or NULL */
    float *Et, *dEt;       /* (D, K + 1) and its gradient */
    pr_embed eT, eG, eb;
    pr_rowgrad gT, gG, gb; /* slots: user s -> gT[s]; items i, j -> gG[2s], gG[2s+1] */
    pr_embed_opt opt;
    pr_optim dopt;         /* E: nn/optim (Adam or SGD, weight decay wd) */
    int cap;
    float *X;              /* (cap, D) content(i) - content(j) */
    float *P_;             /* (cap, G K1) X Et per group */
    float *dP;             /* (cap, G K1) d loss / d P */
    float *x;              /* (cap) s(u,i) - s(u,j) */
    int32_t *jj;           /* (cap) first negatives */
    uint8_t *keep_i, *keep_j; /* (cap, M + 1) modality dropout masks, or NULL */
    double *loss_part;     /* (threads) */
    int64_t step;          /* steps taken: keys the dropout draws */
} vbpr;

static void vbpr_free(pr_model *base);


static int read_keys(vbpr *m, const pr_config *c, pr_error *err) {
    int rc, bias;
    if ((rc = pr_key_choice(c, "vbpr", "fuse", fuse_names, &m->fuse, err)) ||
        (rc = pr_key_int(c, "vbpr", "bias", 0, 0, 1, &bias, err)) ||
        (rc = pr_key_float(c, "vbpr", "wd", 0, 0, 1e6, &m->wd, err)) ||
        (rc = pr_key_float(c, "vbpr", "drop_id", 0, 0, 1, &m->drop.p_id, err)) ||
        (rc = pr_key_float(c, "vbpr", "drop_mod", 0.5, 0, 1, &m->drop.p_mod, err)))
        return rc;
    m->bias = bias;
    m->reg = c->reg;
    m->drop.seed = c->seed ^ 0x7662707264726f70ULL;
    return 0;
}

/* The parameter block: user (n_users, du) | item (n_items, K) | bias | E (D, K + 1). */
static int declare_params(vbpr *m, int32_t nu, int32_t ni, int kind, pr_error *err) {
    pr_params_init(&m->P);
    int64_t oT = pr_params_add_ex(&m->P, "user", nu, m->du, PR_PARAM_SPARSE);
    int64_t oG = pr_params_add_ex(&m->P, "item", ni, m->K, PR_PARAM_SPARSE);
    int64_t ob = m->bias ? pr_params_add_ex(&m->P, "bias", ni, 1, PR_PARAM_SPARSE) : -1;
    int64_t oE = pr_params_add(&m->P, "E", m->c.D, m->K1);
    int rc = pr_params_alloc(&m->P, err);
    if (rc) return rc;
    pr_optim_cfg cfg;
    pr_optim_cfg_defaults(&cfg, kind == PR_EMB_SGD ? PR_OPT_SGD : PR_OPT_ADAM);
    cfg.lr = m->base.cfg->lr;
    cfg.weight_decay = m->wd;
    if ((rc = pr_optim_init_params(&m->dopt, &cfg, &m->P, err))) return rc;
    m->base.params = m->P.w;
    m->base.n_params = m->P.n_params;
    m->T = m->P.w + oT;
    m->Gi = m->P.w + oG;
    m->bi = ob >= 0 ? m->P.w + ob : NULL;
    m->Et = m->P.w + oE;
    m->dEt = m->P.g + oE;
    /* Xavier normal, as MMRec initialises every VBPR parameter */
    pr_rng r;
    pr_rng_init(&r, m->base.cfg->seed, 0x76627072ULL);
    pr_init_xavier_normal(m->T, (int64_t)nu * m->du, nu, m->du, &r);
    pr_init_xavier_normal(m->Gi, (int64_t)ni * m->K, ni, m->K, &r);
    pr_init_xavier_normal(m->Et, (int64_t)m->c.D * m->K1, m->c.D, m->K, &r);
    return 0;
}

/* Batch buffers, optimizer state and slots, all sized once: nothing is allocated per batch. */
static int alloc_state(vbpr *m, int32_t nu, int32_t ni, int kind, pr_pool *pool) {
    int64_t D = m->c.D, M1 = m->c.n_mod + 1, GK1 = (int64_t)m->G * m->K1, cap = m->cap;
    int dense = kind == PR_EMB_ADAM_DENSE;
    m->X = pr_alloc_aligned((size_t)(cap * D), sizeof *m->X);
    m->P_ = pr_alloc_aligned((size_t)(cap * GK1), sizeof *m->P_);
    m->dP = pr_alloc_aligned((size_t)(cap * GK1), sizeof *m->dP);
    m->x = pr_malloc((size_t)cap, sizeof *m->x);
    m->jj = pr_malloc((size_t)cap, sizeof *m->jj);
    m->loss_part = pr_calloc((size_t)pr_pool_size(pool), sizeof *m->loss_part);
    if (!m->X || !m->P_ || !m->dP || !m->x || !m->jj || !m->loss_part) return PR_E_NOMEM;
    if (pr_moddrop_on(&m->drop) && (!(m->keep_i = pr_malloc((size_t)(cap * M1), 1)) ||
                                    !(m->keep_j = pr_malloc((size_t)(cap * M1), 1))))
        return PR_E_NOMEM;
    if (pr_embed_init(&m->eT, m->T, nu, m->du, kind) || pr_embed_init(&m->eG, m->Gi, ni, m->K, kind) ||
        pr_rowgrad_init(&m->gT, nu, m->du, cap, dense) || pr_rowgrad_init(&m->gG, ni, m->K, 2 * cap, dense))
        return PR_E_NOMEM;
    if (m->bi && (pr_embed_init(&m->eb, m->bi, ni, 1, kind) || pr_rowgrad_init(&m->gb, ni, 1, 2 * cap, dense)))
        return PR_E_NOMEM;
    return 0;
}

static int vbpr_init(pr_model **out, const pr_dataset *data, const pr_features *f,
                     const pr_config *c, pr_pool *pool, pr_error *err) {
    vbpr *m = pr_calloc(1, sizeof *m);
    if (!m) return pr_err(err, PR_E_NOMEM, "vbpr");
    int rc, kind;
    int32_t nu = data->n_users, ni = data->n_items;
    m->base.data = data;
    m->base.cfg = c;
    m->base.pool = pool;
    if ((rc = pr_content_init(&m->c, f, ni, "vbpr", err)) || (rc = read_keys(m, c, err)) ||
        (rc = pr_embed_opt_parse(c->optim, &kind, err)))
        goto fail;
    pr_embed_opt_init(&m->opt, kind, c->lr);
    m->K = c->d;
    m->K1 = m->K + 1;
    m->G = m->fuse == FUSE_CONCAT ? 1 : m->c.n_mod;
    m->du = m->K * (1 + m->G);
    m->cap = c->batch;
    if (m->du > PR_EMBED_MAX_D) {
        rc = pr_err(err, PR_E_RANGE, "vbpr: user width d (1 + groups) = %d > %d", m->du, PR_EMBED_MAX_D);
        goto fail;
    }
    for (int g = 0; g < m->G; g++) {
        m->r0[g] = m->fuse == FUSE_CONCAT ? 0 : m->c.off[g];
        m->r1[g] = m->fuse == FUSE_CONCAT ? m->c.D : m->c.off[g] + m->c.dim[g];
    }
    if ((rc = declare_params(m, nu, ni, kind, err))) goto fail;
    if (alloc_state(m, nu, ni, kind, pool)) {
        rc = pr_err(err, PR_E_NOMEM, "vbpr: %d users x %d items, %d features, d=%d, batch %d", nu, ni,
                    m->c.D, m->K, m->cap);
        goto fail;
    }
    pr_blas_threads(1); /* pool threads each run their own GEMMs */
    *out = &m->base;
    return 0;
fail:
    vbpr_free(&m->base);
    return rc;
}

/* ---- forward ------------------------------------------------------------- */

typedef struct {
    vbpr *m;
    const pr_batch *b;
} batch_job;

static inline float sqnorm(const float *v, int n) {
    float s = 0;
    for (int k = 0; k < n; k++) s += v[k] * v[k];
    return s;
}

/* x_s = s(u,i) - s(u,j) from the rows and P; ki, kj: the items' ID parts kept. */
static float score_diff(const vbpr *m, int64_t s, int32_t u, int32_t i, int32_t j, float ki, float kj) {
    const float *tu = m->T + (int64_t)u * m->du, *gi = m->Gi + (int64_t)i * m->K,
                *gj = m->Gi + (int64_t)j * m->K, *p = m->P_ + s * m->G * m->K1;
    float x = 0;
    for (int k = 0; k < m->K; k++) x += tu[k] * (ki * gi[k] - kj * gj[k]);
    if (m->bi) x += ki * m->bi[i] - kj * m->bi[j];
    for (int g = 0; g < m->G; g++, p += m->K1) {
        const float *t = tu + m->K * (1 + g);
        for (int k = 0; k < m->K; k++) x += t[k] * p[k];
        x += p[m->K];
    }
    return x;
}

static void forward_slice(void *ctx, int ith, int nth) {
    batch_job *J = ctx;
    vbpr *m = J->m;
    const pr_batch *bt = J->b;
    int64_t lo, hi, D = m->c.D, M1 = m->c.n_mod + 1, GK1 = (int64_t)m->G * m->K1;
    pr_split(bt->B, ith, nth, &lo, &hi);
    m->loss_part[ith] = 0;
    if (hi <= lo) return;
    uint8_t *ki = NULL, *kj = NULL;
    if (m->keep_i) {
        ki = m->keep_i + lo * M1;
        kj = m->keep_j + lo * M1;
        pr_moddrop_draw(&m->drop, &m->c, bt->i + lo, hi - lo, m->step, ki);
        pr_moddrop_draw(&m->drop, &m->c, m->jj + lo, hi - lo, m->step, kj);
    }
    pr_content_gather_diff(&m->c, bt->i + lo, m->jj + lo, hi - lo, ki, kj, m->X + lo * D, D);
    /* P[lo:hi, group g] (n, K+1) = X[lo:hi, rows of g] (n, D_g) . Et[rows of g] (D_g, K+1) */
    for (int g = 0; g < m->G; g++)
        pr_gemm(PR_NOTRANS, PR_NOTRANS, (int)(hi - lo), m->K1, m->r1[g] - m->r0[g], 1.0f,
                m->X + lo * D + m->r0[g], (int)D, m->Et + (int64_t)m->r0[g] * m->K1, m->K1, 0.0f,
                m->P_ + lo * GK1 + (int64_t)g * m->K1, (int)GK1);
    double loss = 0;
    for (int64_t s = lo; s < hi; s++) {
        int32_t u = bt->u[s], i = bt->i[s], j = m->jj[s];
        float fi = ki ? m->keep_i[s * M1] : 1.0f, fj = kj ? m->keep_j[s * M1] : 1.0f;
        float x = score_diff(m, s, u, i, j, fi, fj);
        m->x[s] = x;
        loss += pr_fsoftplus(-x);
        if (m->reg > 0)
            loss += m->reg * (sqnorm(m->T + (int64_t)u * m->du, m->du) + sqnorm(m->Gi + (int64_t)i * m->K, m->K) +
                              sqnorm(m->Gi + (int64_t)j * m->K, m->K));
    }
    m->loss_part[ith] = loss;
}

static double vbpr_forward(pr_model *base, const pr_batch *bt) {
    vbpr *m = (vbpr *)base;
    for (int s = 0; s < bt->B; s++) m->jj[s] = bt->j[(int64_t)s * bt->n_neg];
    batch_job J = {m, bt};
    pr_pool_run(base->pool, forward_slice, &J);
    double loss = 0;
    for (int t = 0; t < pr_pool_size(base->pool); t++) loss += m->loss_part[t];
    return loss / bt->B;
}

/* ---- backward ------------------------------------------------------------ */

/* d loss / d x_s = -pr_fsigmoid(-x_s) / B; each sample writes its own slots and dP row. */
static void backward_slice(void *ctx, int ith, int nth) {
    batch_job *J = ctx;
    vbpr *m = J->m;
    const pr_batch *bt = J->b;
    int64_t lo, hi, M1 = m->c.n_mod + 1, GK1 = (int64_t)m->G * m->K1;
    pr_split(bt->B, ith, nth, &lo, &hi);
    int K = m->K, du = m->du;
    float invB = 1.0f / (float)bt->B, r2 = 2.0f * m->reg * invB;
    for (int64_t s = lo; s < hi; s++) {
        int32_t u = bt->u[s], i = bt->i[s], j = m->jj[s];
        float c = -pr_fsigmoid(-m->x[s]) * invB;
        float fi = m->keep_i ? m->keep_i[s * M1] : 1.0f, fj = m->keep_j ? m->keep_j[s * M1] : 1.0f;
        const float *tu = m->T + (int64_t)u * du, *gi = m->Gi + (int64_t)i * K, *gj = m->Gi + (int64_t)j * K;
        const float *p = m->P_ + s * GK1;
        float *dt = m->gT.g + s * du, *dgi = m->gG.g + 2 * s * K, *dgj = dgi + K, *dp = m->dP + s * GK1;
        for (int k = 0; k < K; k++) {
            dt[k] = c * (fi * gi[k] - fj * gj[k]) + r2 * tu[k];
            dgi[k] = c * fi * tu[k] + r2 * gi[k];
            dgj[k] = -c * fj * tu[k] + r2 * gj[k];
        }
        for (int g = 0; g < m->G; g++) {
            const float *t = tu + K * (1 + g), *pg = p + (int64_t)g * m->K1;
            float *dtg = dt + K * (1 + g), *dpg = dp + (int64_t)g * m->K1;
            for (int k = 0; k < K; k++) {
                dtg[k] = c * pg[k] + r2 * t[k];
                dpg[k] = c * t[k];
            }
            dpg[K] = c;
        }
        m->gT.row[s] = u;
        m->gG.row[2 * s] = i;
        m->gG.row[2 * s + 1] = j;
        if (m->bi) {
            m->gb.g[2 * s] = c * fi;
            m->gb.g[2 * s + 1] = -c * fj;
            m->gb.row[2 * s] = i;
            m->gb.row[2 * s + 1] = j;
        }
    }
}

static void vbpr_backward(pr_model *base, const pr_batch *bt) {
    vbpr *m = (vbpr *)base;
    batch_job J = {m, bt};
    pr_pool_run(base->pool, backward_slice, &J);
    m->gT.n = bt->B;
    m->gG.n = 2 * (int64_t)bt->B;
    m->gb.n = m->bi ? 2 * (int64_t)bt->B : 0;
    int64_t D = m->c.D, GK1 = (int64_t)m->G * m->K1;
    /* dEt[rows of g] (D_g, K+1) = X[:, rows of g]^T (D_g, B) . dP[:, group g] (B, K+1) */
    for (int g = 0; g < m->G; g++)
        pr_par_gemm(base->pool, PR_TRANS, PR_NOTRANS, m->r1[g] - m->r0[g], m->K1, bt->B, 1.0f,
                    m->X + m->r0[g], (int)D, m->dP + (int64_t)g * m->K1, (int)GK1, 0.0f,
                    m->dEt + (int64_t)m->r0[g] * m->K1, m->K1);
}

static void vbpr_step(pr_model *base, const pr_batch *bt) {
    vbpr *m = (vbpr *)base;
    m->opt.t++;
    m->step++;
    pr_embed_step(&m->eT, &m->gT, &m->opt, base->pool);
    pr_embed_step(&m->eG, &m->gG, &m->opt, base->pool);
    if (m->bi) pr_embed_step(&m->eb, &m->gb, &m->opt, base->pool);
    pr_optim_step_params(&m->dopt, &m->P);
}

static void vbpr_dense_grad(pr_model *base, float *g) {
    vbpr *m = (vbpr *)base;
    memset(g, 0, (size_t)m->P.n_params * sizeof *g);
    pr_rowgrad_to_dense(&m->gT, g + (m->T - m->P.w));
    pr_rowgrad_to_dense(&m->gG, g + (m->Gi - m->P.w));
    if (m->bi) pr_rowgrad_to_dense(&m->gb, g + (m->bi - m->P.w));
    memcpy(g + (m->Et - m->P.w), m->dEt, (size_t)m->c.D * m->K1 * sizeof *g);
}

/* ---- snapshot ------------------------------------------------------------ */

/* P (n_items, G K1) = the catalogue's content projection, group by group. */
static void project_catalogue(const vbpr *m, float *P, pr_pool *pool) {
    int32_t ni = m->c.n_items;
    int GK1 = m->G * m->K1;
    for (int g = 0; g < m->G; g++) {
        for (int mod = 0; mod < m->c.n_mod; mod++) {
            int off = m->c.off[mod];
            if (off < m->r0[g] || off >= m->r1[g]) continue;
            float beta = off == m->r0[g] ? 0.0f : 1.0f;
            /* P[:, g] (ni, K+1) += X_mod (ni, D_mod) . Et[rows of mod] (D_mod, K+1) */
            pr_par_gemm(pool, PR_NOTRANS, PR_NOTRANS, ni, m->K1, m->c.dim[mod], 1.0f, m->c.X[mod],
                        m->c.dim[mod], m->Et + (int64_t)off * m->K1, m->K1, beta,
                        P + (int64_t)g * m->K1, GK1);
        }
    }
}

static int vbpr_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    vbpr *m = (vbpr *)base;
    int32_t nu = base->data->n_users, ni = base->data->n_items;
    int K = m->K, GK1 = m->G * m->K1;
    float *P = pr_alloc_aligned((size_t)ni * GK1, sizeof *P);
    if (!P || pr_snapshot_alloc(out, nu, ni, m->du, 1)) {
        pr_free_aligned(P);
        return pr_err(err, PR_E_NOMEM, "vbpr snapshot");
    }
    project_catalogue(m, P, base->pool);
    memcpy(out->U, m->T, (size_t)nu * m->du * sizeof *out->U);
    for (int32_t i = 0; i < ni; i++) {
        float *v = out->V + (int64_t)i * m->du, b = m->bi ? m->bi[i] : 0.0f;
        memcpy(v, m->Gi + (int64_t)i * K, (size_t)K * sizeof *v);
        for (int g = 0; g < m->G; g++) {
            const float *p = P + (int64_t)i * GK1 + (int64_t)g * m->K1;
            memcpy(v + K * (1 + g), p, (size_t)K * sizeof *v);
            b += p[K];
        }
        out->b[i] = b;
    }
    pr_free_aligned(P);
    return 0;
}

/* The snapshot split by part (models/parts.h), exactly: the ID part is
 * ([g_i, 0 ..], b_i); modality m's is its own projection x_m Et[rows of m]
 * = (E_m x_m, b'_m . x_m) in its group's block (the one shared block with
 * fuse=concat, where E x = sum_m E_m x_m). One GEMM per modality over the
 * catalogue, as the snapshot's. */
static int vbpr_parts(pr_model *base, pr_snapshot *s, pr_error *err) {
    vbpr *m = (vbpr *)base;
    int32_t ni = base->data->n_items;
    int K = m->K, K1 = m->K1, M = m->c.n_mod;
    if (s->n_items != ni || s->d != m->du || !s->b) return 0;
    pr_parts *p = pr_parts_new(ni, m->du, M, (const char(*)[32])m->c.name, 1, PR_PARTS_ID);
    float *T = pr_alloc_aligned((size_t)ni * K1, sizeof *T);
    if (!p || !T) {
        pr_parts_free(p);
        pr_free_aligned(T);
        return pr_err(err, PR_E_NOMEM, "vbpr: parts of %d items", ni);
    }
    int np = p->n_parts, du = m->du;
    for (int32_t i = 0; i < ni; i++) {
        memcpy(pr_parts_row(p, i), m->Gi + (int64_t)i * K, (size_t)K * sizeof *p->P);
        p->pb[(int64_t)i * np] = m->bi ? m->bi[i] : 0.0f;
    }
    for (int mod = 0; mod < M; mod++) {
        int g = m->fuse == FUSE_CONCAT ? 0 : mod, off = m->c.off[mod];
        /* T (ni, K+1) = X_mod (ni, D_mod) . Et[rows of mod] (D_mod, K+1) */
        pr_par_gemm(base->pool, PR_NOTRANS, PR_NOTRANS, ni, K1, m->c.dim[mod], 1.0f, m->c.X[mod], m->c.dim[mod],
                    m->Et + (int64_t)off * K1, K1, 0.0f, T, K1);
        for (int32_t i = 0; i < ni; i++) {
            const float *t = T + (int64_t)i * K1;
            memcpy(pr_parts_row(p, i) + (int64_t)(1 + mod) * du + (int64_t)K * (1 + g), t, (size_t)K * sizeof *t);
            p->pb[(int64_t)i * np + 1 + mod] = t[K];
        }
    }
    pr_free_aligned(T);
    pr_parts_free(s->parts);
    s->parts = p;
    return 0;
}

/* ---- the tower: a new item's content -> its row of V ----------------------- */

typedef struct {
    pr_tower base;
    int K, G, fuse;
    int off[PR_MAX_MODALITIES];
    int64_t D;
    float *Et; /* (D, K + 1) owned */
} vbpr_tower;

extern const pr_tower_ops pr_vbpr_tower_ops;

static int vbpr_tower_save(const pr_model *base, pr_buf *b) {
    const vbpr *m = (const vbpr *)base;
    pr_tower_head_save(b, "vbpr", m->du, &m->c);
    pr_buf_put_u32(b, (uint32_t)m->K);
    pr_buf_put_u32(b, (uint32_t)m->fuse);
    pr_buf_put_f32s(b, m->Et, (int64_t)m->c.D * m->K1);
    return b->oom ? PR_E_NOMEM : 0;
}

static void vbpr_tower_free(pr_tower *base) {
    vbpr_tower *t = (vbpr_tower *)base;
    if (!t) return;
    free(t->Et);
    free(t);
}

static int vbpr_tower_load(pr_tower **out, pr_cur *c, pr_error *err) {
    vbpr_tower *t = pr_calloc(1, sizeof *t);
    if (!t) return pr_err(err, PR_E_NOMEM, "vbpr tower");
    t->base.ops = &pr_vbpr_tower_ops;
    uint32_t K, fuse;
    int rc = pr_tower_head_load(&t->base, c, "vbpr", err);
    if (rc || (rc = pr_cur_get_u32(c, &K, err)) || (rc = pr_cur_get_u32(c, &fuse, err))) goto fail;
    t->G = fuse == FUSE_CONCAT ? 1 : t->base.n_mod;
    if (fuse > FUSE_SEPARATE || K < 1 || (int64_t)K * (1 + t->G) != t->base.d) {
        rc = pr_err(err, PR_E_FORMAT, "%s: vbpr tower d=%d with block %u, fuse %u", c->what, t->base.d, K, fuse);
        goto fail;
    }
    t->K = (int)K;
    t->fuse = (int)fuse;
    for (int m = 0; m < t->base.n_mod; m++) {
        t->off[m] = (int)t->D;
        t->D += t->base.dims[m];
    }
    if ((rc = pr_cur_get_f32s_n(c, &t->Et, t->D * (t->K + 1), "vbpr E", err))) goto fail;
    t->base.part_flags = PR_PARTS_ID;
    *out = &t->base;
    return 0;
fail:
    vbpr_tower_free(&t->base);
    return rc;
}

/* p (G, K+1): modality m's projection added into its group's block. */
static void tower_project(const vbpr_tower *t, const float *const *x, float *p) {
    int K1 = t->K + 1;
    memset(p, 0, (size_t)t->G * K1 * sizeof *p);
    for (int m = 0; m < t->base.n_mod; m++) {
        if (!x[m]) continue; /* missing: a zero row */
        float *pg = p + (t->fuse == FUSE_CONCAT ? 0 : m) * K1;
        /* pg (K+1) += x_m (D_m) . Et[rows of m] (D_m, K+1) */
        pr_gemv(PR_TRANS, t->base.dims[m], K1, 1.0f, t->Et + (int64_t)t->off[m] * K1, K1, x[m], 1.0f, pg);
    }
}

static int vbpr_tower_encode(const pr_tower *base, const float *const *x, float *v, float *bias,
                             pr_error *err) {
    const vbpr_tower *t = (const vbpr_tower *)base;
    int rc = pr_tower_check_input(base, x, err);
    if (rc) return rc;
    int K = t->K, K1 = K + 1;
    float *pp = pr_malloc((size_t)t->G * K1, sizeof *pp);
    if (!pp) return pr_err(err, PR_E_NOMEM, "vbpr tower");
    tower_project(t, x, pp);
    memset(v, 0, (size_t)K * sizeof *v); /* a new item has no ID embedding */
    *bias = 0;
    for (int g = 0; g < t->G; g++) {
        memcpy(v + K * (1 + g), pp + g * K1, (size_t)K * sizeof *v);
        *bias += pp[g * K1 + K];
    }
    free(pp);
    return 0;
}

/* Share of modality m: |E_m x_m| over the sum; the ID part (w[0]) is 0 for a new item. */
static int vbpr_tower_weights(const pr_tower *base, const float *const *x, float *w, pr_error *err) {
    const vbpr_tower *t = (const vbpr_tower *)base;
    int rc = pr_tower_check_input(base, x, err);
    if (rc) return rc;
    int K1 = t->K + 1;
    float *p = pr_malloc((size_t)K1, sizeof *p);
    if (!p) return pr_err(err, PR_E_NOMEM, "vbpr tower");
    double sum = 0;
    w[0] = 0;
    for (int m = 0; m < t->base.n_mod; m++) {
        w[1 + m] = 0;
        if (!x[m]) continue;
        pr_gemv(PR_TRANS, t->base.dims[m], K1, 1.0f, t->Et + (int64_t)t->off[m] * K1, K1, x[m], 0.0f, p);
        w[1 + m] = (float)pr_norm2(p, t->K);
        sum += w[1 + m];
    }
    for (int m = 0; m < t->base.n_mod && sum > 0; m++) w[1 + m] = (float)(w[1 + m] / sum);
    free(p);
    return 0;
}

/* Part 1 + m = ([0, .., E_m x_m in m's group block, ..], b'_m . x_m); the ID part 0. */
static int vbpr_tower_parts(const pr_tower *base, const float *const *x, float *P, float *pb, pr_error *err) {
    const vbpr_tower *t = (const vbpr_tower *)base;
    int rc = pr_tower_check_input(base, x, err);
    if (rc) return rc;
    int K = t->K, K1 = K + 1, d = base->d, np = 1 + base->n_mod;
    float *p = pr_malloc((size_t)K1, sizeof *p);
    if (!p) return pr_err(err, PR_E_NOMEM, "vbpr tower");
    memset(P, 0, (size_t)np * d * sizeof *P);
    memset(pb, 0, (size_t)np * sizeof *pb);
    for (int m = 0; m < base->n_mod; m++) {
        if (!x[m]) continue;
        int g = t->fuse == FUSE_CONCAT ? 0 : m;
        /* p (K+1) = x_m (D_m) . Et[rows of m] (D_m, K+1) */
        pr_gemv(PR_TRANS, base->dims[m], K1, 1.0f, t->Et + (int64_t)t->off[m] * K1, K1, x[m], 0.0f, p);
        memcpy(P + (int64_t)(1 + m) * d + (int64_t)K * (1 + g), p, (size_t)K * sizeof *p);
        pb[1 + m] = p[K];
    }
    free(p);
    return 0;
}

const pr_tower_ops pr_vbpr_tower_ops = {
    .name = "vbpr",
    .load = vbpr_tower_load,
    .encode = vbpr_tower_encode,
    .weights = vbpr_tower_weights,
    .parts = vbpr_tower_parts,
    .free = vbpr_tower_free,
};

static void vbpr_free(pr_model *base) {
    vbpr *m = (vbpr *)base;
    if (!m) return;
    pr_embed_deinit(&m->eT);
    pr_embed_deinit(&m->eG);
    pr_embed_deinit(&m->eb);
    pr_rowgrad_deinit(&m->gT);
    pr_rowgrad_deinit(&m->gG);
    pr_rowgrad_deinit(&m->gb);
    pr_optim_deinit(&m->dopt);
    pr_params_deinit(&m->P);
    pr_free_aligned(m->X);
    pr_free_aligned(m->P_);
    pr_free_aligned(m->dP);
    free(m->x);
    free(m->jj);
    free(m->keep_i);
    free(m->keep_j);
    free(m->loss_part);
    free(m);
}

const pr_model_ops pr_vbpr_ops = {
    .name = "vbpr",
    .help = "VBPR (He & McAuley 2016); keys: fuse=concat|separate, bias=0|1, wd, drop_id, drop_mod",
    .needs_features = 1,
    .init = vbpr_init,
    .forward = vbpr_forward,
    .backward = vbpr_backward,
    .step = vbpr_step,
    .dense_grad = vbpr_dense_grad,
    .snapshot = vbpr_snapshot,
    .parts = vbpr_parts,
    .tower_save = vbpr_tower_save,
    .free = vbpr_free,
};
