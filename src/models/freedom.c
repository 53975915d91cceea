/* models/freedom.c: FREEDOM (Zhou & Shen, MM 2023), "A Tale of Two Graphs:
 * Freezing and Denoising Graph Structures for Multimodal Recommendation".
 *
 * Two graphs:
 *   - the item-item graph S, frozen: per modality m the k-NN graph of the
 *     item features (cosine, self included), binary and symmetrically
 *     normalised (each row 1/k), fused S = sum_m w_m S_m (MMRec: image 0.1,
 *     text 0.9); built once at init (features/knn_graph.h), never dense;
 *   - the user-item graph A, denoised: each epoch keeps (1 - dropout) of the
 *     training edges, drawn without replacement with probability
 *     proportional to 1/sqrt(deg_u deg_i) (degree-sensitive pruning: edges
 *     between popular nodes go first), re-normalised D^-1/2 A' D^-1/2 on the
 *     kept degrees. Evaluation and the snapshot use the full graph.
 *
 *   E_0 = [U; V_id]                                   (n_users + n_items, d)
 *   [Ua; Ia] = 1/(L+1) sum_{l=0..L} A'^l E_0          (LightGCN, L = n_ui_layers)
 *   H  = S^{L_mm} V_id;  item vectors Ia + H          (L_mm = n_mm_layers)
 *   P_m = F_m W_m + b_m                               (n_items, d) per modality
 *   loss = mean_s pr_fsoftplus(-(Ua_u.(Ia_i + H_i) - Ua_u.(Ia_j + H_j)))
 *        + reg * sum_m mean_s pr_fsoftplus(-(Ua_u.P_m[i] - Ua_u.P_m[j]))
 * The feature tables F_m are fine-tuned from their initial values (MMRec's
 * nn.Embedding.from_pretrained(freeze=False)); tune_feat=0 freezes them. P_m
 * enter only the auxiliary losses: scores are Ua . (Ia + H).
 *
 * Costs per batch: 4 L nnz(A') d flops of SpMM plus 2 L_mm nnz(S) d, and
 * 6 nb dim_m d flops of GEMM for the nb <= 2B distinct items of the batch
 * (MMRec projects all n_items every batch). Memory: O((n_users + n_items) d
 * + nnz(R) + n_items k) plus the feature tables and their Adam moments.
 *
 * Determinism: as LightGCN (models/lightgcn.c): scatters owned by row, sums
 * in sample order, SpMM by rows, GEMMs split by output rows.
 *
 * Keys (MMRec defaults): n_ui_layers 2, n_mm_layers 1, knn_k 10,
 * dropout 0.8 (MMRec searches 0.8, 0.9), mm_image_weight 0.1 (weight of a
 * modality named "image" when there are two; otherwise mm_weights=w1,w2,...
 * in modality order, or uniform), tune_feat 1. --reg is the weight of the
 * auxiliary losses (MMRec's reg_weight, searched in 0, 1e-5, 1e-4, 1e-3). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mat.h"
#include "core/rng.h"
#include "core/spmm.h"
#include "features/knn_graph.h"
#include "models/graph_tower.h"
#include "models/model.h"
#include "nn/embedding.h"

typedef struct {
    int dim, split;      /* split: the optimizer sees F as (n_items split, dim / split) */
    float *F;            /* (n_items, dim) view of params, or borrowed features when frozen */
    float *W, *b;        /* views: (dim, d), (d) */
    pr_embed eF, eW, eb;
    pr_rowgrad gF, gW, gb; /* gF: one slot per distinct batch item; gW, gb: slot = row */
    float *Fb;           /* (2 cap, dim) gathered feature rows of the batch's items */
    float *P, *dP;       /* (2 cap, d) projections and their gradients */
} fr_mod;

typedef struct {
    pr_model base;
    int d, L, L_mm, n_mod, tune, k;
    float dropout, wm[PR_MAX_MODALITIES];
    int32_t nu, ni, n;
    float *E0;           /* view: (n, d) U then V_id */
    pr_csr *A_full, *A_drop, *S, *St;
    const pr_csr *A;     /* the graph the forward uses: A_drop while training */
    uint8_t *keep;       /* (nnz R) edges kept this epoch */
    float *E;            /* (n, d) [Ua; Ia + H] of the last forward */
    float *G;            /* (n, d) d loss / d [Ua; Ia + H] */
    float *tmp;          /* (2, n, d) */
    pr_embed emb;
    pr_rowgrad grad;     /* slot s = row s of E_0 */
    fr_mod mod[PR_MAX_MODALITIES];
    pr_embed_opt opt;
    int cap;
    int32_t nb, *uniq;   /* distinct items of the batch, first-appearance order (2 cap) */
    int32_t *slot;       /* (n_items) slot of an item in uniq, valid when stamp matches */
    uint32_t *stamp, cur_stamp;
    int32_t *si, *sj;    /* (cap) slots of each sample's positive and negative */
    float *x, *y;        /* (cap) main margins, (cap, n_mod) auxiliary margins */
    double *ls;          /* (cap, 1 + n_mod) per-sample losses */
} freedom;

static void freedom_free(pr_model *base);


static void xavier_uniform(float *W, int64_t n, int d, pr_rng *r) {
    float b = sqrtf(6.0f / (float)(n + d));
    for (int64_t k = 0; k < n * d; k++) W[k] = b * (2.0f * pr_rng_float(r) - 1.0f);
}


/* ---- init ---------------------------------------------------------------------- */

static int parse_weights(freedom *m, const pr_features *f, const pr_config *c, pr_error *err) {
    const char *s = pr_config_s(c, "mm_weights", NULL);
    if (s) {
        for (int q = 0; q < m->n_mod; q++) {
            char *end;
            m->wm[q] = strtof(s, &end);
            if (end == s || !isfinite(m->wm[q]) || m->wm[q] < 0)
                return pr_err(err, PR_E_ARG, "freedom: mm_weights='%s': expected %d non-negative numbers",
                              pr_config_s(c, "mm_weights", ""), m->n_mod);
            s = *end == ',' ? end + 1 : end;
        }
        return 0;
    }
    float wi = (float)pr_config_f(c, "mm_image_weight", 0.1);
    int img = -1;
    for (int q = 0; q < m->n_mod; q++)
        if (!strcmp(f->mod[q].name, "image")) img = q;
    for (int q = 0; q < m->n_mod; q++)
        m->wm[q] = m->n_mod == 2 && img >= 0 ? (q == img ? wi : 1.0f - wi) : 1.0f / (float)m->n_mod;
    return 0;
}

/* S = sum_m w_m normalise_sym(binary(knn_m)), and its transpose. */
static int build_item_graph(freedom *m, const pr_features *f, pr_error *err) {
    pr_csr *G[PR_MAX_MODALITIES] = {0};
    int rc = 0;
    pr_knn_opts o;
    pr_knn_opts_default(&o);
    o.k = m->k;
    double t0 = pr_now();
    for (int q = 0; q < m->n_mod && rc == 0; q++) {
        const pr_modality *md = &f->mod[q];
        if ((rc = pr_knn_build(md->X, md->n_items, md->dim, &o, m->base.pool, &G[q], err))) break;
        rc = pr_csr_normalize(G[q], PR_NORM_SYM, 1, err);
    }
    if (rc == 0) rc = pr_csr_fuse((const pr_csr *const *)G, m->wm, m->n_mod, &m->S, err);
    if (rc == 0) rc = pr_csr_transpose(m->S, &m->St, err);
    for (int q = 0; q < m->n_mod; q++) pr_csr_free(G[q]);
    if (rc == 0)
        pr_log("freedom: item-item graph, %d modalities, k=%d: %lld edges in %.2fs", m->n_mod, m->k,
               (long long)m->S->nnz, pr_now() - t0);
    return rc;
}

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

static int alloc_mod(freedom *m, fr_mod *md, int kind, float *base_F, const float *X, pr_rng *r) {
    int dense = kind == PR_EMB_ADAM_DENSE, d = m->d;
    int64_t cap2 = 2 * (int64_t)m->cap;
    /* nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W and b */
    float bound = 1.0f / sqrtf((float)md->dim);
    for (int64_t k = 0; k < (int64_t)md->dim * d; k++) md->W[k] = bound * (2.0f * pr_rng_float(r) - 1.0f);
    for (int k = 0; k < d; k++) md->b[k] = bound * (2.0f * pr_rng_float(r) - 1.0f);
    if (base_F) {
        md->F = base_F;
        memcpy(md->F, X, (size_t)m->ni * md->dim * sizeof *md->F);
    } else {
        md->F = (float *)X; /* frozen: borrowed, never written */
    }
    md->Fb = pr_alloc_aligned((size_t)cap2 * md->dim, sizeof(float));
    md->P = pr_alloc_aligned((size_t)cap2 * d, sizeof(float));
    md->dP = pr_alloc_aligned((size_t)cap2 * d, sizeof(float));
    if (!md->Fb || !md->P || !md->dP || pr_embed_init(&md->eW, md->W, md->dim, d, kind) ||
        pr_embed_init(&md->eb, md->b, 1, d, kind) || pr_rowgrad_init(&md->gW, md->dim, d, md->dim, dense) ||
        pr_rowgrad_init(&md->gb, 1, d, 1, dense))
        return PR_E_NOMEM;
    for (int s = 0; s < md->dim; s++) md->gW.row[s] = s;
    md->gb.row[0] = 0;
    int c = md->split = table_split(md->dim);
    if ((int64_t)m->ni * c > INT32_MAX) return PR_E_RANGE;
    if (base_F && (pr_embed_init(&md->eF, md->F, m->ni * c, md->dim / c, kind) ||
                   pr_rowgrad_init(&md->gF, m->ni * c, md->dim / c, PR_MIN(cap2, (int64_t)m->ni) * c, dense)))
        return PR_E_NOMEM;
    return 0;
}

static int freedom_init(pr_model **out, const pr_dataset *data, const pr_features *f,
                        const pr_config *c, pr_pool *pool, pr_error *err) {
    freedom *m = pr_calloc(1, sizeof *m);
    if (!m) return pr_err(err, PR_E_NOMEM, "freedom");
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
    m->L_mm = (int)pr_config_i(c, "n_mm_layers", 1);
    m->k = (int)pr_config_i(c, "knn_k", 10);
    m->dropout = (float)pr_config_f(c, "dropout", 0.8);
    m->tune = (int)pr_config_i(c, "tune_feat", 1);
    m->n_mod = f ? f->n_mod : 0;
    if (m->n_mod < 1) { rc = pr_err(err, PR_E_ARG, "freedom needs item features"); goto fail; }
    if (m->L < 0 || m->L > 16 || m->L_mm < 0 || m->L_mm > 16) {
        rc = pr_err(err, PR_E_ARG, "freedom: n_ui_layers=%d, n_mm_layers=%d outside [0, 16]", m->L, m->L_mm);
        goto fail;
    }
    if (!(m->dropout >= 0 && m->dropout < 1)) {
        rc = pr_err(err, PR_E_ARG, "freedom: dropout=%g outside [0, 1)", m->dropout);
        goto fail;
    }
    if (m->k < 1 || m->k > PR_KNN_MAX_K) {
        rc = pr_err(err, PR_E_ARG, "freedom: knn_k=%d outside [1, %d]", m->k, PR_KNN_MAX_K);
        goto fail;
    }
    for (int q = 0; q < m->n_mod; q++)
        if (f->mod[q].n_items != m->ni) {
            rc = pr_err(err, PR_E_ARG, "freedom: modality '%s' has %d items, the dataset %d", f->mod[q].name,
                        f->mod[q].n_items, m->ni);
            goto fail;
        }
    if ((rc = parse_weights(m, f, c, err)) || (rc = pr_embed_opt_parse(c->optim, &kind, err))) goto fail;
    pr_embed_opt_init(&m->opt, kind, c->lr);
    /* flat block: E_0 | per modality W (dim, d), b (d), F (n_items, dim) when tuned */
    int64_t np = (int64_t)m->n * m->d;
    for (int q = 0; q < m->n_mod; q++)
        np += ((int64_t)f->mod[q].dim + 1) * m->d + (m->tune ? (int64_t)m->ni * f->mod[q].dim : 0);
    m->base.n_params = np;
    m->base.params = pr_alloc_aligned((size_t)np, sizeof(float));
    if (!m->base.params) goto oom;
    m->E0 = m->base.params;
    pr_rng r;
    pr_rng_init(&r, c->seed, 0x66726565ULL);
    xavier_uniform(m->E0, m->nu, m->d, &r);
    xavier_uniform(m->E0 + (int64_t)m->nu * m->d, m->ni, m->d, &r);
    float *p = m->E0 + (int64_t)m->n * m->d;
    for (int q = 0; q < m->n_mod; q++) {
        fr_mod *md = &m->mod[q];
        md->dim = f->mod[q].dim;
        md->W = p;
        md->b = p + (int64_t)md->dim * m->d;
        p = md->b + m->d;
        float *F = m->tune ? p : NULL;
        if (m->tune) p += (int64_t)m->ni * md->dim;
        if (alloc_mod(m, md, kind, F, f->mod[q].X, &r)) goto oom;
    }
    /* graphs */
    const pr_csr *R = data->train;
    if ((rc = pr_adj_build(R, 0, PR_NORM_SYM, &m->A_full, err)) || (rc = pr_adj_new(R, 0, &m->A_drop, err)) ||
        (rc = build_item_graph(m, f, err)))
        goto fail;
    m->A = m->A_full;
    int64_t nnz = R->nnz;
    m->keep = pr_malloc((size_t)nnz + 1, 1);
    int64_t nd = (int64_t)m->n * m->d;
    m->E = pr_alloc_aligned((size_t)nd, sizeof(float));
    m->G = pr_alloc_aligned((size_t)nd, sizeof(float));
    m->tmp = pr_alloc_aligned(2 * (size_t)nd, sizeof(float));
    m->uniq = pr_malloc(2 * (size_t)m->cap, sizeof *m->uniq);
    m->slot = pr_malloc((size_t)m->ni + 1, sizeof *m->slot);
    m->stamp = pr_calloc((size_t)m->ni + 1, sizeof *m->stamp);
    m->si = pr_malloc((size_t)m->cap, sizeof *m->si);
    m->sj = pr_malloc((size_t)m->cap, sizeof *m->sj);
    m->x = pr_malloc((size_t)m->cap, sizeof *m->x);
    m->y = pr_malloc((size_t)m->cap * m->n_mod, sizeof *m->y);
    m->ls = pr_malloc((size_t)m->cap * (1 + m->n_mod), sizeof *m->ls);
    if (!m->keep || !m->E || !m->G || !m->tmp || !m->uniq ||
        !m->slot || !m->stamp || !m->si || !m->sj || !m->x || !m->y || !m->ls)
        goto oom;
    if (pr_embed_init(&m->emb, m->E0, m->n, m->d, kind) ||
        pr_rowgrad_init(&m->grad, m->n, m->d, m->n, kind == PR_EMB_ADAM_DENSE))
        goto oom;
    for (int32_t s = 0; s < m->n; s++) m->grad.row[s] = s;
    *out = &m->base;
    return 0;
oom:
    rc = pr_err(err, PR_E_NOMEM, "freedom: %d users + %d items x d=%d", m->nu, m->ni, m->d);
fail:
    freedom_free(&m->base);
    return rc;
}

/* ---- degree-sensitive edge pruning ------------------------------------------- */

/* Degree-sensitive pruning (core/spmm.h), re-normalised on the kept degrees. */
static int freedom_epoch_begin(pr_model *base, int epoch, pr_error *err) {
    freedom *m = (freedom *)base;
    if (m->dropout <= 0) {
        m->A = m->A_full;
        return 0;
    }
    const pr_csr *R = base->data->train;
    int64_t n_keep = (int64_t)((double)R->nnz * (1.0 - m->dropout));
    int rc = pr_adj_sample_edges(R, n_keep, base->cfg->seed, 0x70727565ULL + (uint64_t)epoch, m->keep, err);
    if (rc) return rc;
    pr_adj_fill(R, m->keep, 0, PR_NORM_SYM, m->A_drop);
    m->A = m->A_drop;
    return 0;
}

/* ---- forward ----------------------------------------------------------------- */

typedef struct {
    freedom *m;
    const pr_batch *b;
} batch_job;

/* The batch's distinct items in first-appearance order, and each sample's slots. */
static void gather_items(freedom *m, const pr_batch *bt) {
    if (++m->cur_stamp == 0) {
        memset(m->stamp, 0, (size_t)m->ni * sizeof *m->stamp);
        m->cur_stamp = 1;
    }
    m->nb = 0;
    for (int s = 0; s < bt->B; s++) {
        int32_t it[2] = {bt->i[s], bt->j[(int64_t)s * bt->n_neg]};
        for (int q = 0; q < 2; q++) {
            if (m->stamp[it[q]] != m->cur_stamp) {
                m->stamp[it[q]] = m->cur_stamp;
                m->slot[it[q]] = m->nb;
                m->uniq[m->nb++] = it[q];
            }
        }
        m->si[s] = m->slot[it[0]];
        m->sj[s] = m->slot[it[1]];
    }
}

/* P (nb, d) = F[uniq] (nb, dim) . W (dim, d) + b */
static void project(freedom *m, fr_mod *md) {
    int d = m->d;
    for (int32_t s = 0; s < m->nb; s++)
        memcpy(md->Fb + (int64_t)s * md->dim, md->F + (int64_t)m->uniq[s] * md->dim, (size_t)md->dim * sizeof(float));
    for (int32_t s = 0; s < m->nb; s++) memcpy(md->P + (int64_t)s * d, md->b, (size_t)d * sizeof(float));
    pr_par_gemm(m->base.pool, PR_NOTRANS, PR_NOTRANS, m->nb, d, md->dim, 1.0f, md->Fb, md->dim, md->W, d, 1.0f, md->P, d);
}

static void margin_slice(void *ctx, int ith, int nth) {
    batch_job *J = ctx;
    freedom *m = J->m;
    const pr_batch *bt = J->b;
    int d = m->d, nl = 1 + m->n_mod;
    int64_t lo, hi;
    pr_split(bt->B, ith, nth, &lo, &hi);
    float reg = m->base.cfg->reg;
    for (int64_t s = lo; s < hi; s++) {
        int32_t u = bt->u[s], i = m->nu + bt->i[s], j = m->nu + bt->j[s * bt->n_neg];
        const float *eu = m->E + (int64_t)u * d, *ei = m->E + (int64_t)i * d, *ej = m->E + (int64_t)j * d;
        float x = 0;
        for (int k = 0; k < d; k++) x += eu[k] * (ei[k] - ej[k]);
        m->x[s] = x;
        m->ls[s * nl] = pr_fsoftplus(-x);
        for (int q = 0; q < m->n_mod; q++) {
            if (reg == 0.0f) { /* no auxiliary losses: projections were skipped */
                m->y[s * m->n_mod + q] = 0.0f;
                m->ls[s * nl + 1 + q] = 0.0;
                continue;
            }
            const float *pi = m->mod[q].P + (int64_t)m->si[s] * d, *pj = m->mod[q].P + (int64_t)m->sj[s] * d;
            float y = 0;
            for (int k = 0; k < d; k++) y += eu[k] * (pi[k] - pj[k]);
            m->y[s * m->n_mod + q] = y;
            m->ls[s * nl + 1 + q] = reg * pr_fsoftplus(-y);
        }
    }
}

/* E = [Ua; Ia + H] over graph A: Ua, Ia the layer mean, H = S^{L_mm} V_id. */
static void propagate(freedom *m, const pr_csr *A) {
    int d = m->d;
    int64_t nud = (int64_t)m->nu * d, nid = (int64_t)m->ni * d;
    pr_spmm_layer_mean(m->base.pool, A, m->L, m->E0, d, m->tmp, m->E);
    /* H by repeated SpMM; the scratch is free again after the layer mean */
    const float *h = m->E0 + nud;
    for (int l = 0; l < m->L_mm; l++) {
        float *dst = m->tmp + (l & 1) * nid;
        pr_spmm(m->base.pool, m->S, h, d, 1.0f, 0.0f, dst);
        h = dst;
    }
    float *Ei = m->E + nud;
    for (int64_t k = 0; k < nid; k++) Ei[k] += h[k];
}

static double freedom_forward(pr_model *base, const pr_batch *bt) {
    freedom *m = (freedom *)base;
    propagate(m, m->A);
    gather_items(m, bt);
    if (base->cfg->reg != 0.0f) /* reg = 0: the modality losses and their gradients vanish */
        for (int q = 0; q < m->n_mod; q++) project(m, &m->mod[q]);
    batch_job J = {m, bt};
    pr_pool_run(base->pool, margin_slice, &J);
    double loss = 0;
    int nl = 1 + m->n_mod;
    for (int64_t k = 0; k < (int64_t)bt->B * nl; k++) loss += m->ls[k]; /* sample order */
    return loss / bt->B;
}

/* ---- backward ---------------------------------------------------------------- */

/* G rows and dP slots owned by thread: [r0, r1) of the n nodes, [s0, s1) of
 * the nb slots; the batch is walked in sample order. */
static void scatter_slice(void *ctx, int ith, int nth) {
    batch_job *J = ctx;
    freedom *m = J->m;
    const pr_batch *bt = J->b;
    int d = m->d;
    int64_t r0, r1, s0, s1;
    pr_split(m->n, ith, nth, &r0, &r1);
    pr_split(m->nb, ith, nth, &s0, &s1);
    memset(m->G + r0 * d, 0, (size_t)(r1 - r0) * d * sizeof *m->G);
    for (int q = 0; q < m->n_mod; q++)
        memset(m->mod[q].dP + s0 * d, 0, (size_t)(s1 - s0) * d * sizeof(float));
    float invB = 1.0f / (float)bt->B, reg = m->base.cfg->reg;
    int n_aux = reg != 0.0f ? m->n_mod : 0; /* reg = 0: no projections were made */
    for (int64_t s = 0; s < bt->B; s++) {
        int32_t u = bt->u[s], i = m->nu + bt->i[s], j = m->nu + bt->j[s * bt->n_neg];
        const float *eu = m->E + (int64_t)u * d, *ei = m->E + (int64_t)i * d, *ej = m->E + (int64_t)j * d;
        float g = -pr_fsigmoid(-m->x[s]) * invB;
        if (u >= r0 && u < r1) {
            float *gu = m->G + (int64_t)u * d;
            for (int k = 0; k < d; k++) gu[k] += g * (ei[k] - ej[k]);
            for (int q = 0; q < n_aux; q++) {
                float h = -reg * pr_fsigmoid(-m->y[s * m->n_mod + q]) * invB;
                const float *pi = m->mod[q].P + (int64_t)m->si[s] * d, *pj = m->mod[q].P + (int64_t)m->sj[s] * d;
                for (int k = 0; k < d; k++) gu[k] += h * (pi[k] - pj[k]);
            }
        }
        if (i >= r0 && i < r1) {
            float *gi = m->G + (int64_t)i * d;
            for (int k = 0; k < d; k++) gi[k] += g * eu[k];
        }
        if (j >= r0 && j < r1) {
            float *gj = m->G + (int64_t)j * d;
            for (int k = 0; k < d; k++) gj[k] -= g * eu[k];
        }
        for (int q = 0; q < n_aux; q++) {
            float h = -reg * pr_fsigmoid(-m->y[s * m->n_mod + q]) * invB;
            if (m->si[s] >= s0 && m->si[s] < s1) {
                float *dp = m->mod[q].dP + (int64_t)m->si[s] * d;
                for (int k = 0; k < d; k++) dp[k] += h * eu[k];
            }
            if (m->sj[s] >= s0 && m->sj[s] < s1) {
                float *dp = m->mod[q].dP + (int64_t)m->sj[s] * d;
                for (int k = 0; k < d; k++) dp[k] -= h * eu[k];
            }
        }
    }
}

/* Linear layer gradients of modality md from dP (nb, d):
 * dW (dim, d) = Fb^T (dim, nb) . dP;  db = sum of dP rows (slot order);
 * dF[uniq[s]] = dP[s] (1, d) . W^T (d, dim), one slot per distinct item. */
static void linear_backward(freedom *m, fr_mod *md) {
    int d = m->d;
    pr_par_gemm(m->base.pool, PR_TRANS, PR_NOTRANS, md->dim, d, m->nb, 1.0f, md->Fb, md->dim, md->dP, d, 0.0f, md->gW.g, d);
    md->gW.n = md->dim;
    memset(md->gb.g, 0, (size_t)d * sizeof(float));
    for (int32_t s = 0; s < m->nb; s++) pr_axpy(1.0f, md->dP + (int64_t)s * d, md->gb.g, d);
    md->gb.n = 1;
    if (!m->tune) return;
    /* gF (nb, dim) = dP (nb, d) . W^T (d, dim) */
    pr_par_gemm(m->base.pool, PR_NOTRANS, PR_TRANS, m->nb, md->dim, d, 1.0f, md->dP, d, md->W, d, 0.0f, md->gF.g, md->dim);
    int c = md->split;
    for (int32_t s = 0; s < m->nb; s++)
        for (int q = 0; q < c; q++) md->gF.row[s * c + q] = m->uniq[s] * c + q;
    md->gF.n = (int64_t)m->nb * c;
}

static void freedom_backward(pr_model *base, const pr_batch *bt) {
    freedom *m = (freedom *)base;
    int d = m->d;
    batch_job J = {m, bt};
    pr_pool_run(base->pool, scatter_slice, &J);
    /* d loss / d E_0 through the layer mean (A symmetric), then V_id += (S^T)^{L_mm} G_items */
    pr_spmm_layer_mean(base->pool, m->A, m->L, m->G, d, m->tmp, m->grad.g);
    int64_t nud = (int64_t)m->nu * d, nid = (int64_t)m->ni * d;
    const float *h = m->G + nud;
    for (int l = 0; l < m->L_mm; l++) {
        float *dst = m->tmp + (l & 1) * nid;
        pr_spmm(base->pool, m->St, h, d, 1.0f, 0.0f, dst);
        h = dst;
    }
    float *gi = m->grad.g + nud;
    for (int64_t k = 0; k < nid; k++) gi[k] += h[k];
    m->grad.n = m->n;
    for (int q = 0; q < m->n_mod; q++) {
        fr_mod *md = &m->mod[q];
        if (base->cfg->reg != 0.0f) {
            linear_backward(m, md);
        } else { /* zero gradients, nothing to apply */
            memset(md->gW.g, 0, (size_t)md->dim * d * sizeof(float));
            memset(md->gb.g, 0, (size_t)d * sizeof(float));
            md->gW.n = md->gb.n = md->gF.n = 0;
        }
    }
}

static void freedom_step(pr_model *base, const pr_batch *bt) {
    freedom *m = (freedom *)base;
    m->opt.t++;
    pr_embed_step(&m->emb, &m->grad, &m->opt, base->pool);
    for (int q = 0; q < m->n_mod; q++) {
        fr_mod *md = &m->mod[q];
        pr_embed_step(&md->eW, &md->gW, &m->opt, base->pool);
        pr_embed_step(&md->eb, &md->gb, &m->opt, base->pool);
        if (m->tune) pr_embed_step(&md->eF, &md->gF, &m->opt, base->pool);
    }
}

static void freedom_dense_grad(pr_model *base, float *g) {
    freedom *m = (freedom *)base;
    memcpy(g, m->grad.g, (size_t)m->n * m->d * sizeof *g);
    g += (int64_t)m->n * m->d;
    for (int q = 0; q < m->n_mod; q++) {
        fr_mod *md = &m->mod[q];
        memcpy(g, md->gW.g, (size_t)md->dim * m->d * sizeof *g);
        g += (int64_t)md->dim * m->d;
        memcpy(g, md->gb.g, (size_t)m->d * sizeof *g);
        g += m->d;
        if (m->tune) {
            pr_rowgrad_to_dense(&md->gF, g);
            g += (int64_t)m->ni * md->dim;
        }
    }
}

static int freedom_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    freedom *m = (freedom *)base;
    propagate(m, m->A_full);
    pr_snapshot view = {m->nu, m->ni, m->d, m->E, m->E + (int64_t)m->nu * m->d, NULL, NULL};
    if (pr_snapshot_copy(out, &view)) return pr_err(err, PR_E_NOMEM, "freedom snapshot");
    return 0;
}

/* Cold items: H = S^{L_mm} V_id is what FREEDOM gives an item without
 * interactions, so a new item averages the rows of S^{L_mm - 1} V_id over
 * its content neighbours with S's weights (w_m / k). */
static int freedom_tower_save(const pr_model *base, pr_buf *b) {
    const freedom *m = (const freedom *)base;
    int d = m->d;
    int64_t nid = (int64_t)m->ni * d;
    float *T = pr_alloc_aligned(2 * (size_t)nid + 1, sizeof *T);
    if (!T) return PR_E_NOMEM;
    memcpy(T, m->E0 + (int64_t)m->nu * d, (size_t)nid * sizeof *T);
    for (int l = 1; l < m->L_mm; l++) { /* ping-pong between the halves */
        pr_spmm(base->pool, m->S, T + ((l - 1) & 1) * nid, d, 1.0f, 0.0f, T + (l & 1) * nid);
    }
    const float *src = T + (m->L_mm > 1 ? ((m->L_mm - 1) & 1) * nid : 0);
    int rc = pr_graph_tower_save(base, src, d, m->wm, m->k, 0, 0, b);
    pr_free_aligned(T);
    return rc;
}

static void freedom_free(pr_model *base) {
    freedom *m = (freedom *)base;
    if (!m) return;
    for (int q = 0; q < PR_MAX_MODALITIES; q++) {
        fr_mod *md = &m->mod[q];
        pr_embed_deinit(&md->eF);
        pr_embed_deinit(&md->eW);
        pr_embed_deinit(&md->eb);
        pr_rowgrad_deinit(&md->gF);
        pr_rowgrad_deinit(&md->gW);
        pr_rowgrad_deinit(&md->gb);
        pr_free_aligned(md->Fb);
        pr_free_aligned(md->P);
        pr_free_aligned(md->dP);
    }
    pr_embed_deinit(&m->emb);
    pr_rowgrad_deinit(&m->grad);
    pr_csr_free(m->A_full);
    pr_csr_free(m->A_drop);
    pr_csr_free(m->S);
    pr_csr_free(m->St);
    free(m->keep);
    pr_free_aligned(m->base.params);
    pr_free_aligned(m->E);
    pr_free_aligned(m->G);
    pr_free_aligned(m->tmp);
    free(m->uniq);
    free(m->slot);
    free(m->stamp);
    free(m->si);
    free(m->sj);
    free(m->x);
    free(m->y);
    free(m->ls);
    free(m);
}

const pr_model_ops pr_freedom_ops = {
    .name = "freedom",
    .help = "FREEDOM (Zhou & Shen 2023): frozen k-NN item graph + degree-pruned LightGCN; keys: "
            "n_ui_layers=2 n_mm_layers=1 knn_k=10 dropout=0.8 mm_image_weight=0.1 mm_weights= tune_feat=1",
    .needs_features = 1,
    .init = freedom_init,
    .forward = freedom_forward,
    .backward = freedom_backward,
    .step = freedom_step,
    .epoch_begin = freedom_epoch_begin,
    .dense_grad = freedom_dense_grad,
    .snapshot = freedom_snapshot,
    .tower_save = freedom_tower_save,
    .free = freedom_free,
};

const pr_tower_ops pr_freedom_tower_ops = {
    .name = "freedom",
    .load = pr_graph_tower_load,
    .encode = pr_graph_tower_encode,
    .free = pr_graph_tower_free,
};
