/* models/lattice.c: LATTICE (Zhang et al., MM 2021), "Mining Latent
 * Structures for Multimedia Recommendation", as MMRec runs it (cf_model
 * lightgcn).
 *
 * Item-item structure, learned from content:
 *   O_m = sym(knn_k(cos(F_m)))                 original graph per modality, from the
 *                                              initial features, fixed
 *   P_m = F_m W_m + b_m                        (n_items, d_f), F_m fine-tuned
 *   S_m = knn_k(cos(P_m))                      learned graph: top-k similarities as values
 *   w   = softmax(a)                           (n_mod) learned modality weights
 *   N   = sym(sum_m w_m S_m)                   sym(X)_ij = X_ij / sqrt(r_i r_j), r = row sums
 *   T   = (1 - lambda) N + lambda sum_m w_m O_m
 *   H   = T^{n_layers} V_id,  Hn = H / |H| per row
 * Collaborative part: [Ua; Ia] = 1/(L+1) sum_l A^l E_0 with A = D^-1 (R + I)
 * (row-normalised with self loops, MMRec's LATTICE graph; not symmetric, so
 * the backward runs on its transpose), L = 2, E_0 = [U; V_id].
 *   items = Ia + Hn;  loss = mean_s pr_fsoftplus(-(Ua_u.item_i - Ua_u.item_j))
 *        + reg / (2 B) (|Ua_u|^2 + |item_i|^2 + |item_j|^2) summed over the batch.
 *
 * As in the paper's code, the learned graph is rebuilt with gradients on the
 * first batch of every epoch (so W_m, b_m, F_m and a learn from that batch)
 * and held fixed, detached, for the others; evaluation rebuilds it from the
 * current parameters. The top-k selection is piecewise constant: gradients
 * flow through the selected similarities, the normalisation, the softmax
 * weights, the cosine and the linear map, all exact (tests check them by
 * central differences). Every graph is sparse (n_items x k per modality):
 * MMRec's version builds dense n_items x n_items matrices.
 *
 * Costs: each batch 4 L nnz(A) d + 2 n_layers nnz(T) d flops; each graph
 * rebuild n_items dim_m d_f (projection) + n_items^2 d_f (k-NN) per modality.
 *
 * Keys (MMRec defaults): n_ui_layers 2, n_layers 1, knn_k 10, lambda 0.9,
 * feat_embed_dim 64, tune_feat 1, lr_decay 0.96 per 50 epochs (MMRec's
 * learning_rate_scheduler [0.96, 50]). --reg is MMRec's reg_weight (searched
 * in 0, 1e-5, 1e-4, 1e-3, with lr in 1e-4 .. 5e-3). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mat.h"
#include "models/margins.h"
#include "core/rng.h"
#include "core/spmm.h"
#include "features/knn_graph.h"
#include "models/graph_tower.h"
#include "models/model.h"
#include "nn/embedding.h"

typedef struct {
    int dim, split;      /* split: the optimizer sees F as (n_items split, dim / split) */
    float *F, *W, *b;    /* F (n_items, dim) view or borrowed; W (dim, d_f); b (d_f) */
    pr_embed eF, eW, eb;
    pr_rowgrad gF, gW, gb; /* slot = row; used on graph batches only */
    pr_csr *O;           /* original graph, sym-normalised, fixed */
    pr_csr *S;           /* learned graph: top-k cosine of P */
    float *P, *Pn, *nrm; /* (n_items, d_f) projection, its unit rows; (n_items) |P| */
    float *dPn;          /* (n_items, d_f) */
} lt_mod;

typedef struct {
    pr_model base;
    int d, df, L, nl, n_mod, k, tune;
    float lambda, lr0, lr_decay;
    int32_t nu, ni, n;
    float *E0;           /* view: (n, d) U then V_id */
    float *a;            /* view: (n_mod) modality logits */
    float w[PR_MAX_MODALITIES]; /* softmax(a) of the last build */
    pr_csr *A, *At;      /* row-normalised graph with self loops and its transpose */
    pr_csr *Lf, *T, *Tt; /* fused learned graph (unnormalised), item graph and transpose */
    double *r, *Dsum;    /* (n_items) rsqrt of Lf's row sums, the row sums */
    double *dD;          /* (2, n_items) backward scratch: d loss / d Dsum, d loss / d r */
    float *Hs;           /* (n_layers + 1, n_items, d) H_0 = V_id, H_l = T H_{l-1} */
    float *Gs;           /* (n_layers + 1, n_items, d) gradients g_l of H_l */
    float *E;            /* (n, d) [Ua; Ia + Hn] */
    float *G;            /* (n, d) */
    float *tmp;          /* (2, n, d) */
    pr_embed emb, ea;
    pr_rowgrad grad, ga; /* slot = row */
    lt_mod mod[PR_MAX_MODALITIES];
    pr_embed_opt opt;
    int build;           /* 1: this batch rebuilds the learned graph with gradients */
    int cap;
    float *x;            /* (cap) margins */
    double *ls;          /* (cap, 4) per-sample loss, squared norms */
} lattice;

static void lattice_free(pr_model *base);


static void xavier_uniform(float *W, int64_t n, int d, pr_rng *r) {
    float b = sqrtf(6.0f / (float)(n + d));
    for (int64_t k = 0; k < n * d; k++) W[k] = b * (2.0f * pr_rng_float(r) - 1.0f);
}


/* ---- the learned item graph ------------------------------------------------- */

/* Rebuild S_m, Lf, r, T and T^T from the current parameters. Allocates the
 * new graphs (once per epoch), freeing the previous ones. */
static int build_graph(lattice *m, pr_error *err) {
    int rc = 0, df = m->df;
    int32_t ni = m->ni;
    pr_knn_opts o;
    pr_knn_opts_default(&o);
    o.k = m->k;
    double mx = -INFINITY, z = 0;
    for (int q = 0; q < m->n_mod; q++) mx = fmax(mx, m->a[q]);
    for (int q = 0; q < m->n_mod; q++) z += exp(m->a[q] - mx);
    for (int q = 0; q < m->n_mod; q++) m->w[q] = (float)(exp(m->a[q] - mx) / z);
    const pr_csr *G[2 * PR_MAX_MODALITIES];
    float gw[2 * PR_MAX_MODALITIES];
    for (int q = 0; q < m->n_mod; q++) {
        lt_mod *md = &m->mod[q];
        /* P (n_items, d_f) = F (n_items, dim) . W (dim, d_f) + b */
        for (int32_t i = 0; i < ni; i++) memcpy(md->P + (int64_t)i * df, md->b, (size_t)df * sizeof(float));
        pr_par_gemm(m->base.pool, PR_NOTRANS, PR_NOTRANS, ni, df, md->dim, 1.0f, md->F, md->dim, md->W, df, 1.0f, md->P, df);
        for (int32_t i = 0; i < ni; i++) {
            const float *p = md->P + (int64_t)i * df;
            double s = 0;
            for (int k = 0; k < df; k++) s += (double)p[k] * p[k];
            md->nrm[i] = (float)sqrt(s);
            float f = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
            for (int k = 0; k < df; k++) md->Pn[(int64_t)i * df + k] = p[k] * f;
        }
        pr_csr_free(md->S);
        md->S = NULL;
        if ((rc = pr_knn_build(md->P, ni, df, &o, m->base.pool, &md->S, err))) return rc;
        G[q] = md->S;
        gw[q] = m->w[q];
    }
    pr_csr *Lf = NULL, *N = NULL, *T = NULL, *Tt = NULL;
    if ((rc = pr_csr_fuse(G, gw, m->n_mod, &Lf, err))) goto done;
    for (int32_t i = 0; i < ni; i++) {
        double s = 0;
        for (int64_t p = Lf->indptr[i]; p < Lf->indptr[i + 1]; p++) s += Lf->val[p];
        m->Dsum[i] = s;
        m->r[i] = s > 0 ? 1.0 / sqrt(s) : 0.0; /* MMRec: inf -> 0 */
    }
    const pr_csr *one[] = {Lf};
    float unit = 1.0f;
    if ((rc = pr_csr_fuse(one, &unit, 1, &N, err))) goto done;
    for (int32_t i = 0; i < ni; i++)
        for (int64_t p = N->indptr[i]; p < N->indptr[i + 1]; p++)
            N->val[p] = (float)(N->val[p] * m->r[i] * m->r[N->indices[p]]);
    G[0] = N;
    gw[0] = 1.0f - m->lambda;
    for (int q = 0; q < m->n_mod; q++) {
        G[1 + q] = m->mod[q].O;
        gw[1 + q] = m->lambda * m->w[q];
    }
    if ((rc = pr_csr_fuse(G, gw, 1 + m->n_mod, &T, err))) goto done;
    if ((rc = pr_csr_transpose(T, &Tt, err))) goto done;
    pr_csr_free(m->Lf);
    pr_csr_free(m->T);
    pr_csr_free(m->Tt);
    m->Lf = Lf;
    m->T = T;
    m->Tt = Tt;
    Lf = T = Tt = NULL;
done:
    pr_csr_free(Lf);
    pr_csr_free(N);
    pr_csr_free(T);
    pr_csr_free(Tt);
    return rc;
}

/* ---- init ---------------------------------------------------------------------- */

/* A feature table (n_items, dim) wider than the embedding optimizer's rows
 * (PR_EMBED_MAX_D) is handed to it as (n_items c, dim / c): row r's chunk q
 * is row r c + q of the same memory, and a gradient matrix (nb, dim) is
 * (nb c, dim / c) too. c is the smallest divisor of dim giving rows of at
 * most PR_EMBED_MAX_D. */
static int table_split(int dim) {
    int c = (dim + PR_EMBED_MAX_D - 1) / PR_EMBED_MAX_D;
    while (dim % c) c++;
    return c;
}

static int alloc_mod(lattice *m, lt_mod *md, const pr_modality *src, int kind, float *F, pr_rng *r,
                     pr_error *err) {
    int dense = kind == PR_EMB_ADAM_DENSE, df = m->df;
    int32_t ni = m->ni;
    float bound = 1.0f / sqrtf((float)md->dim); /* nn.Linear's default init */
    for (int64_t k = 0; k < (int64_t)md->dim * df; k++) md->W[k] = bound * (2.0f * pr_rng_float(r) - 1.0f);
    for (int k = 0; k < df; k++) md->b[k] = bound * (2.0f * pr_rng_float(r) - 1.0f);
    if (F) {
        md->F = F;
        memcpy(F, src->X, (size_t)ni * md->dim * sizeof *F);
    } else {
        md->F = src->X; /* frozen: borrowed, never written */
    }
    md->P = pr_alloc_aligned((size_t)ni * df, sizeof(float));
    md->Pn = pr_alloc_aligned((size_t)ni * df, sizeof(float));
    md->dPn = pr_alloc_aligned((size_t)ni * df, sizeof(float));
    md->nrm = pr_malloc((size_t)ni + 1, sizeof(float));
    if (!md->P || !md->Pn || !md->dPn || !md->nrm || pr_embed_init(&md->eW, md->W, md->dim, df, kind) ||
        pr_embed_init(&md->eb, md->b, 1, df, kind) || pr_rowgrad_init(&md->gW, md->dim, df, md->dim, dense) ||
        pr_rowgrad_init(&md->gb, 1, df, 1, dense))
        return pr_err(err, PR_E_NOMEM, "lattice: modality '%s'", src->name);
    for (int s = 0; s < md->dim; s++) md->gW.row[s] = s;
    md->gb.row[0] = 0;
    if (F) {
        int c = md->split = table_split(md->dim);
        if ((int64_t)ni * c > INT32_MAX) return pr_err(err, PR_E_RANGE, "lattice: '%s' table too large", src->name);
        if (pr_embed_init(&md->eF, F, ni * c, md->dim / c, kind) ||
            pr_rowgrad_init(&md->gF, ni * c, md->dim / c, (int64_t)ni * c, dense))
            return pr_err(err, PR_E_NOMEM, "lattice: modality '%s'", src->name);
        for (int32_t s = 0; s < ni * c; s++) md->gF.row[s] = s;
    }
    /* the original graph: top-k cosine of the initial features, sym-normalised */
    pr_knn_opts o;
    pr_knn_opts_default(&o);
    o.k = m->k;
    int rc = pr_knn_build(src->X, ni, md->dim, &o, m->base.pool, &md->O, err);
    if (rc == 0) rc = pr_csr_normalize(md->O, PR_NORM_SYM, 0, err);
    return rc;
}

static int check_keys(lattice *m, const pr_features *f, pr_error *err) {
    if (m->n_mod < 1) return pr_err(err, PR_E_ARG, "lattice needs item features");
    if (m->L < 0 || m->L > 16 || m->nl < 0 || m->nl > 16)
        return pr_err(err, PR_E_ARG, "lattice: n_ui_layers=%d, n_layers=%d outside [0, 16]", m->L, m->nl);
    if (m->k < 1 || m->k > PR_KNN_MAX_K)
        return pr_err(err, PR_E_ARG, "lattice: knn_k=%d outside [1, %d]", m->k, PR_KNN_MAX_K);
    if (!(m->lambda >= 0 && m->lambda <= 1))
        return pr_err(err, PR_E_ARG, "lattice: lambda=%g outside [0, 1]", m->lambda);
    if (m->df < 1 || m->df > PR_EMBED_MAX_D)
        return pr_err(err, PR_E_ARG, "lattice: feat_embed_dim=%d outside [1, %d]", m->df, PR_EMBED_MAX_D);
    for (int q = 0; q < m->n_mod; q++)
        if (f->mod[q].n_items != m->ni)
            return pr_err(err, PR_E_ARG, "lattice: modality '%s' has %d items, the dataset %d", f->mod[q].name,
                          f->mod[q].n_items, m->ni);
    return 0;
}

static int lattice_init(pr_model **out, const pr_dataset *data, const pr_features *f, const pr_config *c,
                        pr_pool *pool, pr_error *err) {
    lattice *m = pr_calloc(1, sizeof *m);
    if (!m) return pr_err(err, PR_E_NOMEM, "lattice");
    int rc = 0, kind;
    m->base.data = data;
    m->base.cfg = c;
    m->base.pool = pool;
    m->d = c->d;
    m->nu = data->n_users;
    m->ni = data->n_items;
    m->n = m->nu + m->ni;
    m->cap = c->batch;
    m->L = (int)pr_config_i(c, "n_ui_layers", 2);
    m->nl = (int)pr_config_i(c, "n_layers", 1);
    m->k = (int)pr_config_i(c, "knn_k", 10);
    m->df = (int)pr_config_i(c, "feat_embed_dim", 64);
    m->lambda = (float)pr_config_f(c, "lambda", 0.9);
    m->tune = (int)pr_config_i(c, "tune_feat", 1);
    m->lr_decay = (float)pr_config_f(c, "lr_decay", 0.96);
    m->lr0 = c->lr;
    m->n_mod = f ? f->n_mod : 0;
    if ((rc = check_keys(m, f, err)) || (rc = pr_embed_opt_parse(c->optim, &kind, err))) goto fail;
    pr_embed_opt_init(&m->opt, kind, c->lr);
    /* flat block: E_0 | a (n_mod) | per modality W (dim, d_f), b (d_f), F (n_items, dim) when tuned */
    int64_t np = (int64_t)m->n * m->d + m->n_mod;
    for (int q = 0; q < m->n_mod; q++)
        np += ((int64_t)f->mod[q].dim + 1) * m->df + (m->tune ? (int64_t)m->ni * f->mod[q].dim : 0);
    m->base.n_params = np;
    if (!(m->base.params = pr_alloc_aligned((size_t)np, sizeof(float)))) goto oom;
    m->E0 = m->base.params;
    m->a = m->E0 + (int64_t)m->n * m->d;
    pr_rng r;
    pr_rng_init(&r, c->seed, 0x6c617474ULL);
    xavier_uniform(m->E0, m->nu, m->d, &r);
    xavier_uniform(m->E0 + (int64_t)m->nu * m->d, m->ni, m->d, &r);
    for (int q = 0; q < m->n_mod; q++) m->a[q] = 0.5f; /* MMRec: [0.5, 0.5] */
    float *p = m->a + m->n_mod;
    for (int q = 0; q < m->n_mod; q++) {
        lt_mod *md = &m->mod[q];
        md->dim = f->mod[q].dim;
        md->W = p;
        md->b = p + (int64_t)md->dim * m->df;
        p = md->b + m->df;
        float *F = m->tune ? p : NULL;
        if (m->tune) p += (int64_t)m->ni * md->dim;
        if ((rc = alloc_mod(m, md, &f->mod[q], kind, F, &r, err))) goto fail;
    }
    if ((rc = pr_adj_build(data->train, 1, PR_NORM_ROW, &m->A, err)) || (rc = pr_csr_transpose(m->A, &m->At, err)))
        goto fail;
    int64_t nd = (int64_t)m->n * m->d, hd = (int64_t)(m->nl + 1) * m->ni * m->d;
    m->E = pr_alloc_aligned((size_t)nd, sizeof(float));
    m->G = pr_alloc_aligned((size_t)nd, sizeof(float));
    m->tmp = pr_alloc_aligned(2 * (size_t)nd, sizeof(float));
    m->Hs = pr_alloc_aligned((size_t)hd, sizeof(float));
    m->Gs = pr_alloc_aligned((size_t)hd, sizeof(float));
    m->r = pr_malloc((size_t)m->ni + 1, sizeof *m->r);
    m->Dsum = pr_malloc((size_t)m->ni + 1, sizeof *m->Dsum);
    m->dD = pr_malloc(2 * (size_t)m->ni + 1, sizeof *m->dD);
    m->x = pr_malloc((size_t)m->cap, sizeof *m->x);
    m->ls = pr_malloc((size_t)m->cap * 4, sizeof *m->ls);
    if (!m->E || !m->G || !m->tmp || !m->Hs || !m->Gs || !m->r || !m->Dsum || !m->dD || !m->x || !m->ls) goto oom;
    if (pr_embed_init(&m->emb, m->E0, m->n, m->d, kind) || pr_embed_init(&m->ea, m->a, 1, m->n_mod, kind) ||
        pr_rowgrad_init(&m->grad, m->n, m->d, m->n, kind == PR_EMB_ADAM_DENSE) ||
        pr_rowgrad_init(&m->ga, 1, m->n_mod, 1, kind == PR_EMB_ADAM_DENSE))
        goto oom;
    for (int32_t s = 0; s < m->n; s++) m->grad.row[s] = s;
    m->ga.row[0] = 0;
    if ((rc = build_graph(m, err))) goto fail;
    *out = &m->base;
    return 0;
oom:
    rc = pr_err(err, PR_E_NOMEM, "lattice: %d users + %d items x d=%d", m->nu, m->ni, m->d);
fail:
    lattice_free(&m->base);
    return rc;
}

static int lattice_epoch_begin(pr_model *base, int epoch, pr_error *err) {
    lattice *m = (lattice *)base;
    m->build = 1;
    /* LambdaLR(lr_decay ** (epoch / 50)), epochs counted from 0 as MMRec's scheduler */
    m->opt.lr = (float)(m->lr0 * pow(m->lr_decay, (epoch - 1) / 50.0));
    return 0;
}

/* ---- forward ----------------------------------------------------------------- */

typedef struct {
    lattice *m;
    const pr_batch *b;
} batch_job;


/* E = [Ua; Ia + Hn]: the layer mean over A, then H_l = T H_{l-1} kept for backward. */
static void propagate(lattice *m) {
    int d = m->d;
    int64_t nud = (int64_t)m->nu * d, nid = (int64_t)m->ni * d;
    pr_spmm_layer_mean(m->base.pool, m->A, m->L, m->E0, d, m->tmp, m->E);
    memcpy(m->Hs, m->E0 + nud, (size_t)nid * sizeof(float));
    for (int l = 1; l <= m->nl; l++)
        pr_spmm(m->base.pool, m->T, m->Hs + (l - 1) * nid, d, 1.0f, 0.0f, m->Hs + l * nid);
    const float *H = m->Hs + m->nl * nid;
    for (int32_t i = 0; i < m->ni; i++) {
        const float *h = H + (int64_t)i * d;
        float *e = m->E + nud + (int64_t)i * d;
        double s = pr_sqnorm(h, d);
        float f = (float)(1.0 / fmax(sqrt(s), 1e-12)); /* F.normalize's eps */
        for (int k = 0; k < d; k++) e[k] += h[k] * f;
    }
}


static double lattice_forward(pr_model *base, const pr_batch *bt) {
    lattice *m = (lattice *)base;
    pr_error err;
    if (m->build && build_graph(m, &err)) return NAN; /* OOM: the loop stops on the NaN */
    propagate(m);
    pr_bpr_margins(base->pool, bt, m->E, m->E, m->nu, m->d, m->x, m->ls);
    double bpr = 0, nrm = 0;
    for (int s = 0; s < bt->B; s++) {
        bpr += m->ls[4 * s];
        nrm += m->ls[4 * s + 1] + m->ls[4 * s + 2] + m->ls[4 * s + 3];
    }
    return bpr / bt->B + 0.5 * base->cfg->reg * nrm / bt->B;
}

/* ---- backward ---------------------------------------------------------------- */

static void scatter_G(void *ctx, int ith, int nth) {
    batch_job *J = ctx;
    lattice *m = J->m;
    const pr_batch *bt = J->b;
    int d = m->d;
    int64_t r0, r1;
    pr_split(m->n, ith, nth, &r0, &r1);
    memset(m->G + r0 * d, 0, (size_t)(r1 - r0) * d * sizeof *m->G);
    float invB = 1.0f / (float)bt->B, rg = m->base.cfg->reg * invB;
    for (int64_t s = 0; s < bt->B; s++) {
        int32_t u = bt->u[s], i = m->nu + bt->i[s], j = m->nu + bt->j[s * bt->n_neg];
        float g = -pr_fsigmoid(-m->x[s]) * invB;
        const float *eu = m->E + (int64_t)u * d, *ei = m->E + (int64_t)i * d, *ej = m->E + (int64_t)j * d;
        if (u >= r0 && u < r1) {
            float *gu = m->G + (int64_t)u * d;
            for (int k = 0; k < d; k++) gu[k] += g * (ei[k] - ej[k]) + rg * eu[k];
        }
        if (i >= r0 && i < r1) {
            float *gi = m->G + (int64_t)i * d;
            for (int k = 0; k < d; k++) gi[k] += g * eu[k] + rg * ei[k];
        }
        if (j >= r0 && j < r1) {
            float *gj = m->G + (int64_t)j * d;
            for (int k = 0; k < d; k++) gj[k] += -g * eu[k] + rg * ej[k];
        }
    }
}

/* dT(i, j) = sum_l g_l[i] . H_{l-1}[j]: the gradient of any item-graph entry. */
static inline double dT_at(const lattice *m, int32_t i, int32_t j) {
    int d = m->d;
    int64_t nid = (int64_t)m->ni * d;
    double s = 0;
    for (int l = 1; l <= m->nl; l++) {
        const float *g = m->Gs + l * nid + (int64_t)i * d, *h = m->Hs + (l - 1) * nid + (int64_t)j * d;
        for (int k = 0; k < d; k++) s += (double)g[k] * h[k];
    }
    return s;
}

/* Gradients of the graph batch through T into a, W_m, b_m, F_m. */
static void graph_backward(lattice *m) {
    int32_t ni = m->ni;
    int df = m->df;
    const pr_csr *Lf = m->Lf;
    double lam = m->lambda, dw[PR_MAX_MODALITIES] = {0};
    /* dD_i through N_ij = Lf_ij r_i r_j, r = D^-1/2: dr_i gathers row i and column i */
    double *dD = m->dD, *dr = m->dD + ni;
    memset(dD, 0, 2 * (size_t)ni * sizeof *dD);
    for (int32_t i = 0; i < ni; i++)
        for (int64_t p = Lf->indptr[i]; p < Lf->indptr[i + 1]; p++) {
            int32_t j = Lf->indices[p];
            double dN = (1.0 - lam) * dT_at(m, i, j), t = dN * Lf->val[p];
            dr[i] += t * m->r[j];
            dr[j] += t * m->r[i];
        }
    for (int32_t i = 0; i < ni; i++) dD[i] = m->Dsum[i] > 0 ? -0.5 * dr[i] * m->r[i] * m->r[i] * m->r[i] : 0.0;
    for (int q = 0; q < m->n_mod; q++) {
        lt_mod *md = &m->mod[q];
        const pr_csr *S = md->S, *O = md->O;
        memset(md->dPn, 0, (size_t)ni * df * sizeof(float));
        for (int32_t i = 0; i < ni; i++) {
            for (int64_t p = S->indptr[i]; p < S->indptr[i + 1]; p++) {
                int32_t j = S->indices[p];
                double dL = (1.0 - lam) * dT_at(m, i, j) * m->r[i] * m->r[j] + dD[i];
                dw[q] += dL * S->val[p];
                float dS = (float)(m->w[q] * dL);
                pr_axpy(dS, md->Pn + (int64_t)j * df, md->dPn + (int64_t)i * df, df);
                pr_axpy(dS, md->Pn + (int64_t)i * df, md->dPn + (int64_t)j * df, df);
            }
            for (int64_t p = O->indptr[i]; p < O->indptr[i + 1]; p++)
                dw[q] += lam * dT_at(m, i, O->indices[p]) * O->val[p];
        }
        /* unit rows: dP = (dPn - Pn (Pn . dPn)) / |P|, in place */
        for (int32_t i = 0; i < ni; i++) {
            float *g = md->dPn + (int64_t)i * df;
            const float *pn = md->Pn + (int64_t)i * df;
            float c = pr_dot(pn, g, df), f = md->nrm[i] > 0 ? 1.0f / md->nrm[i] : 0.0f;
            for (int k = 0; k < df; k++) g[k] = (g[k] - pn[k] * c) * f;
        }
        /* dW (dim, d_f) = F^T dP;  db = sum_i dP_i;  dF (n_items, dim) = dP W^T */
        pr_par_gemm(m->base.pool, PR_TRANS, PR_NOTRANS, md->dim, df, ni, 1.0f, md->F, md->dim, md->dPn, df, 0.0f, md->gW.g, df);
        memset(md->gb.g, 0, (size_t)df * sizeof(float));
        for (int32_t i = 0; i < ni; i++) pr_axpy(1.0f, md->dPn + (int64_t)i * df, md->gb.g, df);
        md->gW.n = md->dim;
        md->gb.n = 1;
        if (m->tune) {
            pr_par_gemm(m->base.pool, PR_NOTRANS, PR_TRANS, ni, md->dim, df, 1.0f, md->dPn, df, md->W, df, 0.0f, md->gF.g,
                     md->dim);
            md->gF.n = (int64_t)ni * md->split;
        }
    }
    /* softmax: da_k = w_k (dw_k - sum_m w_m dw_m) */
    double wdw = 0;
    for (int q = 0; q < m->n_mod; q++) wdw += m->w[q] * dw[q];
    for (int q = 0; q < m->n_mod; q++) m->ga.g[q] = (float)(m->w[q] * (dw[q] - wdw));
    m->ga.n = 1;
}

static void lattice_backward(pr_model *base, const pr_batch *bt) {
    lattice *m = (lattice *)base;
    int d = m->d;
    int64_t nud = (int64_t)m->nu * d, nid = (int64_t)m->ni * d;
    batch_job J = {m, bt};
    pr_pool_run(base->pool, scatter_G, &J);
    /* through the row-normalised graph: d E_0 = 1/(L+1) sum_l (A^T)^l G */
    pr_spmm_layer_mean(base->pool, m->At, m->L, m->G, d, m->tmp, m->grad.g);
    /* through Hn = H / |H|: g_nl = (dHn - Hn (Hn . dHn)) / |H| */
    float *g = m->Gs + m->nl * nid;
    const float *H = m->Hs + m->nl * nid;
    for (int32_t i = 0; i < m->ni; i++) {
        const float *h = H + (int64_t)i * d, *dh = m->G + nud + (int64_t)i * d;
        float *gi = g + (int64_t)i * d;
        double s = sqrt(pr_sqnorm(h, d));
        float inv = (float)(1.0 / fmax(s, 1e-12)), c = 0;
        for (int k = 0; k < d; k++) c += h[k] * inv * dh[k];
        for (int k = 0; k < d; k++) gi[k] = s > 1e-12 ? (dh[k] - h[k] * inv * c) * inv : dh[k] * inv;
    }
    /* g_{l-1} = T^T g_l; V_id receives g_0 */
    for (int l = m->nl; l >= 1; l--) pr_spmm(base->pool, m->Tt, m->Gs + l * nid, d, 1.0f, 0.0f, m->Gs + (l - 1) * nid);
    float *gv = m->grad.g + nud;
    for (int64_t k = 0; k < nid; k++) gv[k] += m->Gs[k];
    m->grad.n = m->n;
    for (int q = 0; q < m->n_mod; q++) m->mod[q].gW.n = m->mod[q].gb.n = m->mod[q].gF.n = 0;
    m->ga.n = 0;
    if (m->build) graph_backward(m);
}

static void lattice_step(pr_model *base, const pr_batch *bt) {
    lattice *m = (lattice *)base;
    m->opt.t++;
    pr_embed_step(&m->emb, &m->grad, &m->opt, base->pool);
    if (m->build) {
        pr_embed_step(&m->ea, &m->ga, &m->opt, base->pool);
        for (int q = 0; q < m->n_mod; q++) {
            lt_mod *md = &m->mod[q];
            pr_embed_step(&md->eW, &md->gW, &m->opt, base->pool);
            pr_embed_step(&md->eb, &md->gb, &m->opt, base->pool);
            if (m->tune) pr_embed_step(&md->eF, &md->gF, &m->opt, base->pool);
        }
    }
    m->build = 0; /* the graph stays as built (detached) until the next epoch */
}

static void lattice_dense_grad(pr_model *base, float *g) {
    lattice *m = (lattice *)base;
    memset(g, 0, (size_t)base->n_params * sizeof *g);
    memcpy(g, m->grad.g, (size_t)m->n * m->d * sizeof *g);
    g += (int64_t)m->n * m->d;
    if (m->ga.n) memcpy(g, m->ga.g, (size_t)m->n_mod * sizeof *g);
    g += m->n_mod;
    for (int q = 0; q < m->n_mod; q++) {
        lt_mod *md = &m->mod[q];
        if (md->gW.n) memcpy(g, md->gW.g, (size_t)md->dim * m->df * sizeof *g);
        g += (int64_t)md->dim * m->df;
        if (md->gb.n) memcpy(g, md->gb.g, (size_t)m->df * sizeof *g);
        g += m->df;
        if (m->tune) {
            if (md->gF.n) memcpy(g, md->gF.g, (size_t)m->ni * md->dim * sizeof *g);
            g += (int64_t)m->ni * md->dim;
        }
    }
}

static int lattice_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    lattice *m = (lattice *)base;
    int rc = build_graph(m, err); /* as MMRec's full_sort_predict: from the current parameters */
    if (rc) return rc;
    propagate(m);
    pr_snapshot view = {m->nu, m->ni, m->d, m->E, m->E + (int64_t)m->nu * m->d, NULL, NULL};
    if (pr_snapshot_copy(out, &view)) return pr_err(err, PR_E_NOMEM, "lattice snapshot");
    return 0;
}

/* Cold items: a new item's H row averages rows of T^{n_layers - 1} V_id over
 * its content neighbours weighted by similarity (the original graphs'
 * weights, modalities by softmax(a)), L2-normalised as LATTICE's H. */
static int lattice_tower_save(const pr_model *base, pr_buf *b) {
    const lattice *m = (const lattice *)base;
    int64_t nid = (int64_t)m->ni * m->d;
    const float *T = m->nl >= 1 ? m->Hs + (m->nl - 1) * nid : m->E0 + (int64_t)m->nu * m->d;
    return pr_graph_tower_save(base, T, m->d, m->w, m->k, 1, 1, b);
}

static void lattice_free(pr_model *base) {
    lattice *m = (lattice *)base;
    if (!m) return;
    for (int q = 0; q < PR_MAX_MODALITIES; q++) {
        lt_mod *md = &m->mod[q];
        pr_embed_deinit(&md->eF);
        pr_embed_deinit(&md->eW);
        pr_embed_deinit(&md->eb);
        pr_rowgrad_deinit(&md->gF);
        pr_rowgrad_deinit(&md->gW);
        pr_rowgrad_deinit(&md->gb);
        pr_csr_free(md->O);
        pr_csr_free(md->S);
        pr_free_aligned(md->P);
        pr_free_aligned(md->Pn);
        pr_free_aligned(md->dPn);
        free(md->nrm);
    }
    pr_embed_deinit(&m->emb);
    pr_embed_deinit(&m->ea);
    pr_rowgrad_deinit(&m->grad);
    pr_rowgrad_deinit(&m->ga);
    pr_csr_free(m->A);
    pr_csr_free(m->At);
    pr_csr_free(m->Lf);
    pr_csr_free(m->T);
    pr_csr_free(m->Tt);
    pr_free_aligned(m->base.params);
    pr_free_aligned(m->E);
    pr_free_aligned(m->G);
    pr_free_aligned(m->tmp);
    pr_free_aligned(m->Hs);
    pr_free_aligned(m->Gs);
    free(m->r);
    free(m->Dsum);
    free(m->dD);
    free(m->x);
    free(m->ls);
    free(m);
}

const pr_model_ops pr_lattice_ops = {
    .name = "lattice",
    .help = "LATTICE (Zhang et al. 2021): learned k-NN item graphs over content + LightGCN; keys: "
            "n_ui_layers=2 n_layers=1 knn_k=10 lambda=0.9 feat_embed_dim=64 tune_feat=1 lr_decay=0.96",
    .needs_features = 1,
    .init = lattice_init,
    .forward = lattice_forward,
    .backward = lattice_backward,
    .step = lattice_step,
    .epoch_begin = lattice_epoch_begin,
    .dense_grad = lattice_dense_grad,
    .snapshot = lattice_snapshot,
    .tower_save = lattice_tower_save,
    .free = lattice_free,
};

const pr_tower_ops pr_lattice_tower_ops = {
    .name = "lattice",
    .load = pr_graph_tower_load,
    .encode = pr_graph_tower_encode,
    .free = pr_graph_tower_free,
};
