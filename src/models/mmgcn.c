/* models/mmgcn.c: MMGCN (Wei et al., MM 2019), "Multi-modal Graph Convolution
 * Network for Personalized Recommendation of Micro-video": graph fusion, one
 * graph convolution stack per modality over the user-item graph, each with
 * its own user preferences, averaged at the end.
 *
 * Per modality m, on the n = n_users + n_items nodes (all vectors d wide):
 *   x_0 = normalize([P_m; F_m W0_m^T + b0_m])       P_m (n_users, d) preferences,
 *                                                     F_m (n_items, dim_m) fixed features
 *   for l = 1..L:
 *     h   = lrelu((A x_{l-1}) Wc_l^T)                  A = D^-1 [[0, R], [R^T, 0]]: mean of
 *                                                       the neighbours (eq. 1, aggr "mean")
 *     xh  = lrelu(x_{l-1} Wl_l^T + bl_l) + id          id (n, d) shared ID embeddings (eq. 5)
 *     x_l = lrelu(h Wg_l^T + bg_l + xh)                combination, additive form (eq. 6),
 *                                                       or lrelu([h | xh] Wg_l^T + bg_l) with concat=1
 *   rep = 1/M sum_m x_L                                 users and items alike
 *   loss = mean_s softplus(-(rep_u.rep_i - rep_u.rep_j))
 *        + reg (sum_s 2|id_u|^2 + |id_i|^2 + |id_j|^2) / (2 B d) + reg sum_m |P_m|^2 / (n_users d)
 * (MMRec's regulariser: the mean square of the batch's ID rows, users counted
 * once per pair, plus the mean square of the preferences.) lrelu has slope
 * 0.01. MMRec's port differs from the paper in ways this file does not
 * copy: its ID embeddings and preferences are plain tensors that the
 * optimizer never updates, its n_layers is ignored (always 3) and its
 * string flag 'False' turns the concatenating combination on.
 *
 * Built on nn/: every tensor in one pr_params block, layers pr_linear,
 * leaky ReLU pr_act, normalisation pr_l2norm, dense Adam pr_optim. Products
 * go through BLAS with the pool's thread count (results are bit-identical run
 * to run for a fixed thread count); the mean aggregation is core/spmm on the
 * row-normalised graph, its transpose in the backward pass.
 *
 * Costs per batch: the whole graph, every modality: 2 ni dim_m d (input map)
 * + L (2 nnz(A) d + 6 n d^2) flops forward, twice that backward; activations
 * 7 L M n d floats are kept for backward.
 *
 * Keys: n_layers 2 (MMRec's config), concat 1 (validation prefers it on mls), --reg (MMRec searches 0 .. 0.1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"
#include "core/spmm.h"
#include "models/graph_tower.h"
#include "models/model.h"
#include "nn/act.h"
#include "nn/l2norm.h"
#include "nn/linear.h"
#include "nn/optim.h"
#include "nn/param.h"

#define MG_MAX_LAYERS 8

typedef struct {
    float *Agg, *Hp, *H, *Lp, *Ly, *Gp, *X; /* (n, d) each: x_l is X */
    float *HX;           /* (n, 2d) [h | xh], the combination's input (concat=1 only) */
} mg_layer;

typedef struct {
    int dim;
    const float *F;      /* (n_items, dim) borrowed features */
    int64_t P;           /* offset of P (n_users, d) */
    pr_linear mlp;       /* dim -> d */
    pr_linear conv[MG_MAX_LAYERS], lin[MG_MAX_LAYERS], g[MG_MAX_LAYERS];
    float *X0, *norms;   /* (n, d) x_0 (normalised in place), (n) row norms */
    mg_layer lay[MG_MAX_LAYERS];
} mg_mod;

typedef struct {
    pr_model base;
    int d, L, n_mod, concat;
    int32_t nu, ni, n;
    pr_params P;
    int64_t id;          /* offset of id (n, d) */
    pr_csr *A, *At;
    mg_mod mod[PR_MAX_MODALITIES];
    pr_optim opt;
    float *rep;          /* (n, d) */
    float *G;            /* (n, d) d loss / d rep */
    float *dx, *dtmp, *dA; /* (n, d) backward scratch */
    float *dHX;          /* (n, 2d) backward scratch (concat=1) */
    int cap;
    float *x;            /* (cap) margins */
    double *ls;          /* (cap, 4) */
    pr_act lrelu;
} mmgcn;

static void mmgcn_free(pr_model *base);

static int declare(mmgcn *m, const pr_features *f) {
    char name[64];
    m->id = pr_params_add(&m->P, "id", m->n, m->d);
    for (int q = 0; q < m->n_mod; q++) {
        mg_mod *md = &m->mod[q];
        md->dim = f->mod[q].dim;
        md->F = f->mod[q].X;
        snprintf(name, sizeof name, "%s.pref", f->mod[q].name);
        md->P = pr_params_add(&m->P, name, m->nu, m->d);
        snprintf(name, sizeof name, "%s.mlp", f->mod[q].name);
        pr_linear_init(&md->mlp, &m->P, name, md->dim, m->d, 1);
        for (int l = 0; l < m->L; l++) {
            snprintf(name, sizeof name, "%s.conv%d", f->mod[q].name, l + 1);
            pr_linear_init(&md->conv[l], &m->P, name, m->d, m->d, 0);
            snprintf(name, sizeof name, "%s.lin%d", f->mod[q].name, l + 1);
            pr_linear_init(&md->lin[l], &m->P, name, m->d, m->d, 1);
            snprintf(name, sizeof name, "%s.g%d", f->mod[q].name, l + 1);
            pr_linear_init(&md->g[l], &m->P, name, m->concat ? 2 * m->d : m->d, m->d, 1);
        }
    }
    return 0;
}

static int alloc_acts(mmgcn *m) {
    int64_t nd = (int64_t)m->n * m->d;
    for (int q = 0; q < m->n_mod; q++) {
        mg_mod *md = &m->mod[q];
        md->X0 = pr_alloc_aligned((size_t)nd, sizeof(float));
        md->norms = pr_malloc((size_t)m->n, sizeof(float));
        if (!md->X0 || !md->norms) return PR_E_NOMEM;
        for (int l = 0; l < m->L; l++) {
            float **t[] = {&md->lay[l].Agg, &md->lay[l].Hp, &md->lay[l].H, &md->lay[l].Lp,
                           &md->lay[l].Ly, &md->lay[l].Gp, &md->lay[l].X};
            for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
                if (!(*t[k] = pr_alloc_aligned((size_t)nd, sizeof(float)))) return PR_E_NOMEM;
            if (m->concat && !(md->lay[l].HX = pr_alloc_aligned(2 * (size_t)nd, sizeof(float)))) return PR_E_NOMEM;
        }
    }
    if (m->concat && !(m->dHX = pr_alloc_aligned(2 * (size_t)nd, sizeof(float)))) return PR_E_NOMEM;
    float **t[] = {&m->rep, &m->G, &m->dx, &m->dtmp, &m->dA};
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
        if (!(*t[k] = pr_alloc_aligned((size_t)nd, sizeof(float)))) return PR_E_NOMEM;
    return 0;
}

static int mmgcn_init(pr_model **out, const pr_dataset *data, const pr_features *f, const pr_config *c,
                      pr_pool *pool, pr_error *err) {
    mmgcn *m = pr_calloc(1, sizeof *m);
    if (!m) return pr_err(err, PR_E_NOMEM, "mmgcn");
    int rc = 0;
    m->base.data = data;
    m->base.cfg = c;
    m->base.pool = pool;
    m->d = c->d;
    m->nu = data->n_users;
    m->ni = data->n_items;
    m->n = m->nu + m->ni;
    m->cap = c->batch;
    m->L = (int)pr_config_i(c, "n_layers", 2);
    m->concat = (int)pr_config_i(c, "concat", 1);
    m->n_mod = f ? f->n_mod : 0;
    m->lrelu = (pr_act){PR_ACT_LEAKY_RELU, (float)pr_config_f(c, "slope", 0.01)};
    pr_params_init(&m->P);
    if (m->n_mod < 1) { rc = pr_err(err, PR_E_ARG, "mmgcn needs item features"); goto fail; }
    if (m->L < 1 || m->L > MG_MAX_LAYERS) {
        rc = pr_err(err, PR_E_ARG, "mmgcn: n_layers=%d outside [1, %d]", m->L, MG_MAX_LAYERS);
        goto fail;
    }
    for (int q = 0; q < m->n_mod; q++)
        if (f->mod[q].n_items != m->ni) {
            rc = pr_err(err, PR_E_ARG, "mmgcn: modality '%s' has %d items, the dataset %d", f->mod[q].name,
                        f->mod[q].n_items, m->ni);
            goto fail;
        }
    int kind = pr_optim_parse(strcmp(c->optim, "adam-dense") ? c->optim : "adam");
    if (kind < 0) { rc = pr_err(err, PR_E_ARG, "mmgcn: optimizer '%s'", c->optim); goto fail; }
    declare(m, f);
    if ((rc = pr_params_alloc(&m->P, err))) goto fail;
    m->base.params = m->P.w;
    m->base.grads = m->P.g;
    m->base.n_params = m->P.n_params;
    pr_rng r;
    pr_rng_init(&r, c->seed, 0x6d6d6763ULL);
    pr_params_xavier(&m->P, m->id, &r); /* MMRec: Xavier normal; uniform has the same variance */
    for (int q = 0; q < m->n_mod; q++) {
        mg_mod *md = &m->mod[q];
        pr_params_xavier(&m->P, md->P, &r);
        pr_linear_init_params(&md->mlp, &m->P, &r);
        for (int l = 0; l < m->L; l++) {
            pr_linear_init_params(&md->conv[l], &m->P, &r);
            pr_linear_init_params(&md->lin[l], &m->P, &r);
            pr_linear_init_params(&md->g[l], &m->P, &r);
        }
    }
    pr_optim_cfg oc;
    pr_optim_cfg_defaults(&oc, kind);
    oc.lr = c->lr;
    if ((rc = pr_optim_init_params(&m->opt, &oc, &m->P, err))) goto fail;
    if ((rc = pr_adj_build(data->train, 0, PR_NORM_ROW, &m->A, err)) || (rc = pr_csr_transpose(m->A, &m->At, err)))
        goto fail;
    m->x = pr_malloc((size_t)m->cap, sizeof *m->x);
    m->ls = pr_malloc((size_t)m->cap * 4, sizeof *m->ls);
    if (!m->x || !m->ls || alloc_acts(m)) {
        rc = pr_err(err, PR_E_NOMEM, "mmgcn: %d nodes x d=%d x %d layers x %d modalities", m->n, m->d, m->L, m->n_mod);
        goto fail;
    }
    *out = &m->base;
    return 0;
fail:
    mmgcn_free(&m->base);
    return rc;
}

/* ---- forward ----------------------------------------------------------------- */

/* x_L of one modality from the current parameters. */
static const float *modality_forward(mmgcn *m, mg_mod *md) {
    const float *w = m->P.w;
    int d = m->d;
    int64_t nd = (int64_t)m->n * d, nud = (int64_t)m->nu * d;
    memcpy(md->X0, w + md->P, (size_t)nud * sizeof(float));
    pr_linear_forward(&md->mlp, w, md->F, md->X0 + nud, m->ni);
    pr_l2norm_forward(md->X0, md->X0, md->norms, m->n, d, PR_L2NORM_EPS);
    const float *x = md->X0, *id = w + m->id;
    for (int l = 0; l < m->L; l++) {
        mg_layer *y = &md->lay[l];
        pr_spmm(m->base.pool, m->A, x, d, 1.0f, 0.0f, y->Agg);
        pr_linear_forward(&md->conv[l], w, y->Agg, y->Hp, m->n);
        pr_act_forward(m->lrelu, y->Hp, y->H, nd);
        pr_linear_forward(&md->lin[l], w, x, y->Lp, m->n);
        pr_act_forward(m->lrelu, y->Lp, y->Ly, nd);
        if (m->concat) { /* x = lrelu(Wg [h | xh] + bg) */
            for (int32_t r = 0; r < m->n; r++) {
                float *hx = y->HX + 2 * (int64_t)r * d;
                memcpy(hx, y->H + (int64_t)r * d, (size_t)d * sizeof(float));
                for (int k = 0; k < d; k++) hx[d + k] = y->Ly[(int64_t)r * d + k] + id[(int64_t)r * d + k];
            }
            pr_linear_forward(&md->g[l], w, y->HX, y->Gp, m->n);
        } else { /* x = lrelu(Wg h + bg + xh) */
            pr_linear_forward(&md->g[l], w, y->H, y->Gp, m->n);
            for (int64_t k = 0; k < nd; k++) y->Gp[k] += y->Ly[k] + id[k];
        }
        pr_act_forward(m->lrelu, y->Gp, y->X, nd);
        x = y->X;
    }
    return x;
}

static void full_forward(mmgcn *m) {
    int64_t nd = (int64_t)m->n * m->d;
    pr_blas_threads(1); /* pool threads may be in BLAS elsewhere; SpMM uses the pool */
    memset(m->rep, 0, (size_t)nd * sizeof(float));
    float s = 1.0f / (float)m->n_mod;
    for (int q = 0; q < m->n_mod; q++) {
        const float *x = modality_forward(m, &m->mod[q]);
        for (int64_t k = 0; k < nd; k++) m->rep[k] += s * x[k];
    }
}


static double mmgcn_forward(pr_model *base, const pr_batch *bt) {
    mmgcn *m = (mmgcn *)base;
    int d = m->d;
    full_forward(m);
    const float *id = m->P.w + m->id;
    double bpr = 0, rid = 0, rp = 0;
    for (int s = 0; s < bt->B; s++) {
        int32_t u = bt->u[s], i = m->nu + bt->i[s], j = m->nu + bt->j[(int64_t)s * bt->n_neg];
        const float *eu = m->rep + (int64_t)u * d, *ei = m->rep + (int64_t)i * d, *ej = m->rep + (int64_t)j * d;
        float x = 0;
        for (int k = 0; k < d; k++) x += eu[k] * (ei[k] - ej[k]);
        m->x[s] = x;
        bpr += pr_fsoftplus(-x);
        rid += 2 * pr_sqnorm(id + (int64_t)u * d, d) + pr_sqnorm(id + (int64_t)i * d, d) + pr_sqnorm(id + (int64_t)j * d, d);
    }
    for (int q = 0; q < m->n_mod; q++) rp += pr_sqnorm(m->P.w + m->mod[q].P, m->nu * d);
    double reg = base->cfg->reg;
    return bpr / bt->B + reg * rid / (2.0 * bt->B * d) + reg * rp / ((double)m->nu * d);
}

/* ---- backward ---------------------------------------------------------------- */

/* d loss / d x_0 of one modality, from dx = d loss / d x_L (overwritten). */
static void modality_backward(mmgcn *m, mg_mod *md, float *dx) {
    const float *w = m->P.w;
    float *g = m->P.g, *gid = g + m->id;
    int d = m->d;
    int64_t nd = (int64_t)m->n * d, nud = (int64_t)m->nu * d;
    for (int l = m->L - 1; l >= 0; l--) {
        mg_layer *y = &md->lay[l];
        const float *xin = l > 0 ? md->lay[l - 1].X : md->X0;
        float *dGp = m->dtmp;
        pr_act_backward(m->lrelu, y->Gp, y->X, dx, dGp, nd);
        if (m->concat) { /* d[h | xh] = dGp Wg; dGp becomes d xh */
            pr_linear_backward(&md->g[l], w, g, y->HX, dGp, m->dHX, m->n);
            for (int32_t r = 0; r < m->n; r++) {
                const float *dhx = m->dHX + 2 * (int64_t)r * d;
                memcpy(m->dA + (int64_t)r * d, dhx, (size_t)d * sizeof(float));
                memcpy(dGp + (int64_t)r * d, dhx + d, (size_t)d * sizeof(float));
            }
        } else { /* d xh = dGp */
            pr_linear_backward(&md->g[l], w, g, y->H, dGp, m->dA, m->n); /* dA = dH */
        }
        for (int64_t k = 0; k < nd; k++) gid[k] += dGp[k];          /* xh's id term */
        pr_act_backward(m->lrelu, y->Lp, y->Ly, dGp, dGp, nd);      /* dLp */
        pr_linear_backward(&md->lin[l], w, g, xin, dGp, dx, m->n);   /* dx = d x_{l-1}, lin path */
        pr_act_backward(m->lrelu, y->Hp, y->H, m->dA, m->dA, nd);   /* dHp */
        pr_linear_backward(&md->conv[l], w, g, y->Agg, m->dA, dGp, m->n); /* dGp = dAgg */
        pr_spmm(m->base.pool, m->At, dGp, d, 1.0f, 1.0f, dx);        /* dx += A^T dAgg */
    }
    /* x_0 = normalize(X0 raw): dx -> d raw; users -> P, items -> the input map */
    pr_l2norm_backward(md->X0, md->norms, dx, dx, m->n, d);
    float *gP = g + md->P;
    for (int64_t k = 0; k < nud; k++) gP[k] += dx[k];
    pr_linear_backward(&md->mlp, w, g, md->F, dx + nud, NULL, m->ni);
}

static void mmgcn_backward(pr_model *base, const pr_batch *bt) {
    mmgcn *m = (mmgcn *)base;
    int d = m->d;
    int64_t nd = (int64_t)m->n * d;
    pr_params_zero_grad(&m->P);
    memset(m->G, 0, (size_t)nd * sizeof(float));
    float invB = 1.0f / (float)bt->B, reg = base->cfg->reg;
    float rid = 2.0f * reg / (2.0f * (float)bt->B * (float)d), rp = 2.0f * reg / ((float)m->nu * (float)d);
    float *gid = m->P.g + m->id;
    const float *id = m->P.w + m->id;
    for (int s = 0; s < bt->B; s++) { /* sample order */
        int32_t u = bt->u[s], i = m->nu + bt->i[s], j = m->nu + bt->j[(int64_t)s * bt->n_neg];
        const float *eu = m->rep + (int64_t)u * d, *ei = m->rep + (int64_t)i * d, *ej = m->rep + (int64_t)j * d;
        float gs = -pr_sigmoidf(-m->x[s]) * invB;
        float *gu = m->G + (int64_t)u * d, *gi = m->G + (int64_t)i * d, *gj = m->G + (int64_t)j * d;
        for (int k = 0; k < d; k++) {
            gu[k] += gs * (ei[k] - ej[k]);
            gi[k] += gs * eu[k];
            gj[k] -= gs * eu[k];
        }
        pr_axpy(2.0f * rid, id + (int64_t)u * d, gid + (int64_t)u * d, d);
        pr_axpy(rid, id + (int64_t)i * d, gid + (int64_t)i * d, d);
        pr_axpy(rid, id + (int64_t)j * d, gid + (int64_t)j * d, d);
    }
    pr_blas_threads(1);
    float s = 1.0f / (float)m->n_mod;
    for (int q = 0; q < m->n_mod; q++) {
        mg_mod *md = &m->mod[q];
        for (int64_t k = 0; k < nd; k++) m->dx[k] = s * m->G[k];
        modality_backward(m, md, m->dx);
        pr_axpy(rp, m->P.w + md->P, m->P.g + md->P, m->nu * d);
    }
}

static void mmgcn_step(pr_model *base, const pr_batch *bt) {
    mmgcn *m = (mmgcn *)base;
    pr_optim_step_params(&m->opt, &m->P);
}

static int mmgcn_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    mmgcn *m = (mmgcn *)base;
    full_forward(m);
    pr_snapshot view = {m->nu, m->ni, m->d, m->rep, m->rep + (int64_t)m->nu * m->d, NULL, NULL};
    if (pr_snapshot_copy(out, &view)) return pr_err(err, PR_E_NOMEM, "mmgcn snapshot");
    return 0;
}

/* Cold items: the mean of the final vectors of the item's content neighbours
 * (k = tower_k, modalities weighted equally); rep holds the last forward or
 * snapshot, i.e. the trained model. */
static int mmgcn_tower_save(const pr_model *base, pr_buf *b) {
    const mmgcn *m = (const mmgcn *)base;
    float w[PR_MAX_MODALITIES];
    for (int q = 0; q < m->n_mod; q++) w[q] = 1.0f / (float)m->n_mod;
    int k = (int)pr_config_i(base->cfg, "tower_k", 10);
    return pr_graph_tower_save(base, m->rep + (int64_t)m->nu * m->d, m->d, w, k, 0, 0, b);
}

static void mmgcn_free(pr_model *base) {
    mmgcn *m = (mmgcn *)base;
    if (!m) return;
    for (int q = 0; q < PR_MAX_MODALITIES; q++) {
        mg_mod *md = &m->mod[q];
        pr_free_aligned(md->X0);
        free(md->norms);
        for (int l = 0; l < MG_MAX_LAYERS; l++) {
            mg_layer *y = &md->lay[l];
            pr_free_aligned(y->Agg);
            pr_free_aligned(y->Hp);
            pr_free_aligned(y->H);
            pr_free_aligned(y->Lp);
            pr_free_aligned(y->Ly);
            pr_free_aligned(y->Gp);
            pr_free_aligned(y->X);
            pr_free_aligned(y->HX);
        }
    }
    pr_optim_deinit(&m->opt);
    pr_params_deinit(&m->P);
    pr_csr_free(m->A);
    pr_csr_free(m->At);
    pr_free_aligned(m->rep);
    pr_free_aligned(m->G);
    pr_free_aligned(m->dx);
    pr_free_aligned(m->dtmp);
    pr_free_aligned(m->dA);
    pr_free_aligned(m->dHX);
    free(m->x);
    free(m->ls);
    free(m);
}

const pr_model_ops pr_mmgcn_ops = {
    .name = "mmgcn",
    .help = "MMGCN (Wei et al. 2019): a graph convolution stack per modality with user preferences; keys: "
            "n_layers=2 concat=1",
    .needs_features = 1,
    .init = mmgcn_init,
    .forward = mmgcn_forward,
    .backward = mmgcn_backward,
    .step = mmgcn_step,
    .snapshot = mmgcn_snapshot,
    .tower_save = mmgcn_tower_save,
    .free = mmgcn_free,
};

const pr_tower_ops pr_mmgcn_tower_ops = {
    .name = "mmgcn",
    .load = pr_graph_tower_load,
    .encode = pr_graph_tower_encode,
    .free = pr_graph_tower_free,
};
