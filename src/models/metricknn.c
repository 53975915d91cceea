/* models/metricknn.c: content kNN with a learned metric, for items that have
 * content and no interactions (cold start), trained by BPR.
 *
 *   c_i    = [ w_m (x_{i,m} - mean_m) / |x_{i,m} - mean_m| ]_m        (D)
 *            contentknn's item vector: per modality centred on the warm
 *            items' mean, unit length, weighted (w_m = 1/sqrt(M) unless
 *            mod_w says otherwise); a missing modality is a zero block
 *   h_u    = mean of c_j over u's training items                    (D)
 *   s(u,i) = h_u^T M c_i + p_u . (A^T c_i)
 *            M (D, D) starts at the identity, where s is content kNN's
 *            score; A (D, d) and p (n_users, d) are a free taste vector
 *            (LightFM with item features only), d = --dim, free=0 drops it
 *   loss   = mean_s softplus(-(s(u,i) - s(u,j))) + reg mean_s |p_u|^2
 * over (u, i, j) triples. In training h_u leaves the positive out,
 * h = (S_u - c_i) / (n_u - 1), S_u the sum over u's items; otherwise the
 * model learns that an item resembles itself. Negatives are warm items: a
 * cold one the sampler draws is replaced by a warm one (a counter hash of
 * the epoch and the sample), since an item without interactions must not
 * be taught to be disliked.
 *
 * Items enter only through c_i, so a new item is placed exactly as a
 * training item: the tower is c -> [c, A^T c]. The learned metric bends
 * content kNN towards what predicts BPR order; the raw kNN keeps its say at
 * snapshot time, with equal weight per user whatever the scales:
 *
 *   U_u = [ M^T h_u / sd_m(u) + knn h_u / sd_k(u) ,  p_u / sd_m(u) ]   (D + d)
 *   V_i = [ c_i , A^T c_i ]                                           (D + d)
 *   sd_m(u)^2 = z_u^T Cov(V) z_u, z_u = [M^T h_u, p_u];  sd_k(u)^2 = h_u^T Cov(c) h_u
 * the spread of user u's scores over the warm items (covariances over warm
 * items), so U_u . V_i = s(u,i) / sd_m(u) + knn * kNN(u,i) / sd_k(u): each
 * user's scores standardised, then blended (knn = 0: the learned score
 * alone, same ranking as s). A per-user scale changes no user's ranking, so
 * training ignores it. On mls-cold with the reference features this blend
 * beats both the learned score and content kNN alone among the held-out
 * items (docs/cold-start.md).
 *
 * Costs per batch of B: four GEMMs of 2 B D^2 or 2 B D d flops (H M, H^T G,
 * Dz A, Dz^T P), the gathers O(B D); dense Adam over M, A and p (the rows of
 * p a batch does not touch decay, as PyTorch's Adam). Snapshot: O((n_users +
 * n_items) D (D + d) + n_warm (D + d)^2). Memory: c and S_u (n_items +
 * n_users) D floats, M D^2: keep D moderate (--preproc MOD=pca=K).
 * Single-threaded loops outside the GEMMs (pr_par_gemm, fixed blocks), so
 * runs are bit-identical for any thread count.
 *
 * Keys: knn (1: the blend weight of content kNN in the snapshot, >= 0),
 * free (1), mod_w (W1,W2,...: modality weights in --features order). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mat.h"
#include "core/rng.h"
#include "models/centred.h"
#include "models/content.h"
#include "models/model.h"
#include "nn/optim.h"
#include "nn/param.h"

typedef struct {
    pr_model base;
    pr_content c;              /* borrowed view of the features */
    int D, d;                  /* content width, free width (0: none) */
    float knn;                 /* blend weight of content kNN in the snapshot */
    float w[PR_MAX_MODALITIES];/* modality weights */
    float *mean;               /* (D) per-modality means over warm items */
    float *C;                  /* (n_items, D) c_i */
    float *S;                  /* (n_users, D) sum of c over u's training items */
    int32_t *warm;             /* (n_warm) items with training interactions */
    int32_t n_warm;
    uint8_t *is_warm;          /* (n_items) */
    pr_params P;               /* M (D, D) | A (D, d) | p (n_users, d) */
    float *M, *A, *p, *dM, *dA, *dp;
    pr_optim opt;
    int cap;                   /* largest batch */
    int32_t *js;               /* (cap) negatives after replacing cold ones */
    float *H, *Dz, *HM, *G;    /* (cap, D) each: histories, c_i - c_j, H M, g * Dz */
    float *DA, *Pg, *gs;       /* (cap, d), (cap, d), (cap) */
} mknn;

static void row_blocks(const pr_content *c, int32_t i, const float **x) {
    for (int m = 0; m < c->n_mod; m++)
        x[m] = pr_content_has(c, m, i) ? c->X[m] + (int64_t)i * c->dim[m] : NULL;
}

static void mknn_free(pr_model *base) {
    mknn *m = (mknn *)base;
    if (!m) return;
    pr_optim_deinit(&m->opt);
    pr_params_deinit(&m->P);
    free(m->mean);
    free(m->C);
    free(m->S);
    free(m->warm);
    free(m->is_warm);
    free(m->js);
    free(m->H);
    free(m->Dz);
    free(m->HM);
    free(m->G);
    free(m->DA);
    free(m->Pg);
    free(m->gs);
    free(m);
}

/* mod_w=W1,W2,...: one positive weight per modality. */
static int parse_weights(mknn *m, const pr_config *cfg, pr_error *err) {
    const char *s = pr_config_s(cfg, "mod_w", NULL);
    int M = m->c.n_mod;
    for (int k = 0; k < M; k++) m->w[k] = 1.0f / sqrtf((float)M);
    if (!s) return 0;
    const char *q = s;
    for (int k = 0; k < M; k++) {
        char *end;
        double v = strtod(q, &end);
        if (end == q || !(v >= 0 && v <= 1e3) || (k < M - 1 ? *end != ',' : *end != 0))
            return pr_err(err, PR_E_ARG, "metricknn: mod_w='%s': expected %d weights in [0, 1000], comma-separated (one per modality, in --features order)", s, M);
        m->w[k] = (float)v;
        q = end + 1;
    }
    return 0;
}

/* Means over warm items, c_i for every item, S_u for every user. */
static int content_vectors(mknn *m, pr_error *err) {
    const pr_content *c = &m->c;
    const pr_csr *t = m->base.data->train;
    int D = m->D;
    int rc = pr_centred_means(m->base.feat, m->is_warm, m->mean, err);
    if (rc) return rc;
    for (int32_t i = 0; i < c->n_items; i++) {
        const float *x[PR_MAX_MODALITIES];
        row_blocks(c, i, x);
        pr_centred_embed(c->n_mod, c->dim, m->w, m->mean, x, m->C + (int64_t)i * D);
    }
    for (int32_t u = 0; u < t->n_rows; u++) {
        float *su = m->S + (int64_t)u * D;
        memset(su, 0, (size_t)D * sizeof *su);
        for (int64_t q = t->indptr[u]; q < t->indptr[u + 1]; q++) pr_axpy(1.0f, m->C + (int64_t)t->indices[q] * D, su, D);
    }
    return 0;
}

/* v (D + d) = [c, A^T c] for c (D), A (D, d): the tower, shared by the
 * snapshot so that both give the same bits. */
static void item_vector(const float *c, const float *A, int D, int d, float *v) {
    memcpy(v, c, (size_t)D * sizeof *v);
    for (int j = 0; j < d; j++) v[D + j] = 0.0f;
    for (int k = 0; k < D; k++)
        for (int j = 0; j < d; j++) v[D + j] += c[k] * A[(int64_t)k * d + j];
}

static int mknn_init(pr_model **out, const pr_dataset *data, const pr_features *f, const pr_config *cfg,
                     pr_pool *pool, pr_error *err) {
    mknn *m = pr_calloc(1, sizeof *m);
    if (!m) return pr_err(err, PR_E_NOMEM, "metricknn");
    int rc, use_free;
    int32_t nu = data->n_users, ni = data->n_items;
    m->base.data = data;
    m->base.cfg = cfg;
    m->base.pool = pool;
    m->base.feat = f;
    pr_params_init(&m->P);
    if ((rc = pr_content_init(&m->c, f, ni, "metricknn", err))) goto fail;
    if ((rc = pr_key_float(cfg, "metricknn", "knn", 1.0, 0.0, 1e3, &m->knn, err)) ||
        (rc = pr_key_int(cfg, "metricknn", "free", 1, 0, 1, &use_free, err)) || (rc = parse_weights(m, cfg, err)))
        goto fail;
    m->D = m->c.D;
    m->d = use_free ? cfg->d : 0;
    if (m->D > 16384) { rc = pr_err(err, PR_E_ARG, "metricknn: content has %d dims; M is D x D, reduce it (--preproc MOD=pca=K)", m->D); goto fail; }
    int D = m->D, d = m->d;
    if (D > 1024)
        pr_log("metricknn: content has %d dims, so M has %.0f M parameters and a batch costs %.0f GFLOP; "
               "--preproc MOD=pca=K makes it faster", D, (double)D * D / 1e6, 8.0 * cfg->batch * D * D / 1e9);
    m->cap = cfg->batch;
    int64_t off_M = pr_params_add(&m->P, "M", D, D), off_A = 0, off_p = 0;
    if (d > 0) {
        off_A = pr_params_add(&m->P, "A", D, d);
        off_p = pr_params_add(&m->P, "p", nu, d);
    }
    if ((rc = pr_params_alloc(&m->P, err))) goto fail;
    m->base.params = m->P.w;
    m->base.grads = m->P.g;
    m->base.n_params = m->P.n_params;
    m->M = m->P.w + off_M;
    m->dM = m->P.g + off_M;
    if (d > 0) {
        m->A = m->P.w + off_A;
        m->dA = m->P.g + off_A;
        m->p = m->P.w + off_p;
        m->dp = m->P.g + off_p;
    }
    size_t cap = (size_t)m->cap;
    m->mean = pr_calloc((size_t)D, sizeof *m->mean);
    m->C = pr_malloc((size_t)ni * D, sizeof *m->C);
    m->S = pr_malloc((size_t)nu * D, sizeof *m->S);
    m->warm = pr_malloc((size_t)ni + 1, sizeof *m->warm);
    m->is_warm = pr_calloc((size_t)ni + 1, 1);
    m->js = pr_malloc(cap, sizeof *m->js);
    m->H = pr_malloc(cap * D, sizeof *m->H);
    m->Dz = pr_malloc(cap * D, sizeof *m->Dz);
    m->HM = pr_malloc(cap * D, sizeof *m->HM);
    m->G = pr_malloc(cap * D, sizeof *m->G);
    m->DA = pr_malloc(cap * (size_t)(d ? d : 1), sizeof *m->DA);
    m->Pg = pr_malloc(cap * (size_t)(d ? d : 1), sizeof *m->Pg);
    m->gs = pr_malloc(cap, sizeof *m->gs);
    if (!m->mean || !m->C || !m->S || !m->warm || !m->is_warm || !m->js || !m->H || !m->Dz || !m->HM ||
        !m->G || !m->DA || !m->Pg || !m->gs) {
        rc = pr_err(err, PR_E_NOMEM, "metricknn: %d users, %d items x %d dims", nu, ni, D);
        goto fail;
    }
    for (int64_t k = 0; k < data->train->nnz; k++) m->is_warm[data->train->indices[k]] = 1;
    for (int32_t i = 0; i < ni; i++)
        if (m->is_warm[i]) m->warm[m->n_warm++] = i;
    if (m->n_warm < 2) { rc = pr_err(err, PR_E_ARG, "metricknn: needs at least 2 items with training interactions"); goto fail; }
    if ((rc = content_vectors(m, err))) goto fail;
    /* M = I (content kNN); the free part small and random */
    for (int k = 0; k < D; k++) m->M[(int64_t)k * D + k] = 1.0f;
    pr_rng r;
    pr_rng_init(&r, cfg->seed, 0x6d6b6e6eULL);
    if (d > 0) {
        pr_rng_normal_fill(&r, m->A, (int64_t)D * d, 0.01f);
        pr_rng_normal_fill(&r, m->p, (int64_t)nu * d, 0.01f);
    }
    pr_optim_cfg oc;
    pr_optim_cfg_defaults(&oc, strcmp(cfg->optim, "sgd") ? PR_OPT_ADAM : PR_OPT_SGD);
    oc.lr = cfg->lr;
    if ((rc = pr_optim_init_params(&m->opt, &oc, &m->P, err))) goto fail;
    *out = &m->base;
    return 0;
fail:
    mknn_free(&m->base);
    return rc;
}

static int is_positive(const pr_csr *t, int32_t u, int32_t j) {
    int64_t lo = t->indptr[u], hi = t->indptr[u + 1];
    while (lo < hi) {
        int64_t mid = (lo + hi) >> 1;
        if (t->indices[mid] < j) lo = mid + 1;
        else hi = mid;
    }
    return lo < t->indptr[u + 1] && t->indices[lo] == j;
}

/* The sample's negative, a warm item: the sampler's when it is warm, else a
 * draw seeded by (seed, epoch, sample, u, i), so a repeated forward of the
 * same batch sees the same negatives. */
static int32_t warm_negative(const mknn *m, const pr_batch *bt, int64_t s) {
    int32_t u = bt->u[s], i = bt->i[s], j = bt->j[s * bt->n_neg];
    if (m->is_warm[j]) return j;
    pr_rng r;
    pr_rng_init(&r, m->base.cfg->seed ^ ((uint64_t)bt->epoch << 40) ^ ((uint64_t)u << 20) ^ (uint64_t)i,
                (uint64_t)s);
    for (int tries = 0; tries < 16; tries++) {
        int32_t c = m->warm[pr_rng_below(&r, (uint32_t)m->n_warm)];
        if (c != i && !is_positive(m->base.data->train, u, c)) return c;
    }
    return i; /* a user with (nearly) every warm item: a no-op sample */
}

static double mknn_forward(pr_model *base, const pr_batch *bt) {
    mknn *m = (mknn *)base;
    const pr_csr *t = base->data->train;
    int B = bt->B, D = m->D, d = m->d;
    float reg = base->cfg->reg;
    for (int s = 0; s < B; s++) {
        int32_t u = bt->u[s], i = bt->i[s], j = m->js[s] = warm_negative(m, bt, s);
        int64_t n = pr_csr_row_len(t, u);
        float inv = n > 1 ? 1.0f / (float)(n - 1) : 0.0f;
        const float *su = m->S + (int64_t)u * D, *ci = m->C + (int64_t)i * D, *cj = m->C + (int64_t)j * D;
        float *h = m->H + (int64_t)s * D, *dz = m->Dz + (int64_t)s * D;
        for (int k = 0; k < D; k++) {
            h[k] = (su[k] - ci[k]) * inv;
            dz[k] = ci[k] - cj[k];
        }
    }
    /* HM (B, D) = H (B, D) . M (D, D);  DA (B, d) = Dz (B, D) . A (D, d) */
    pr_par_gemm(base->pool, PR_NOTRANS, PR_NOTRANS, B, D, D, 1.0f, m->H, D, m->M, D, 0.0f, m->HM, D);
    if (d > 0) pr_par_gemm(base->pool, PR_NOTRANS, PR_NOTRANS, B, d, D, 1.0f, m->Dz, D, m->A, d, 0.0f, m->DA, d);
    double loss = 0;
    for (int s = 0; s < B; s++) {
        float x = pr_dot(m->HM + (int64_t)s * D, m->Dz + (int64_t)s * D, D), r2 = 0;
        if (d > 0) {
            const float *pu = m->p + (int64_t)bt->u[s] * d;
            x += pr_dot(pu, m->DA + (int64_t)s * d, d);
            r2 = pr_dot(pu, pu, d);
        }
        int noop = m->js[s] == bt->i[s];
        loss += noop ? 0.0 : pr_fsoftplus(-x) + (double)reg * r2;
        m->gs[s] = noop ? 0.0f : -pr_fsigmoid(-x) / (float)B;
    }
    return loss / B;
}

static void mknn_backward(pr_model *base, const pr_batch *bt) {
    mknn *m = (mknn *)base;
    int B = bt->B, D = m->D, d = m->d;
    float r2 = 2.0f * base->cfg->reg / (float)B;
    pr_params_zero_grad(&m->P);
    for (int s = 0; s < B; s++) {
        const float *dz = m->Dz + (int64_t)s * D;
        float *gd = m->G + (int64_t)s * D, g = m->gs[s];
        for (int k = 0; k < D; k++) gd[k] = g * dz[k];
    }
    /* dM (D, D) = H^T (D, B) . G (B, D), G = g * Dz */
    pr_par_gemm(base->pool, PR_TRANS, PR_NOTRANS, D, D, B, 1.0f, m->H, D, m->G, D, 0.0f, m->dM, D);
    if (d == 0) return;
    for (int s = 0; s < B; s++) { /* Pg = g * p_u; dp_u += g DA_s + 2 reg / B p_u, in sample order */
        int32_t u = bt->u[s];
        const float *pu = m->p + (int64_t)u * d, *da = m->DA + (int64_t)s * d;
        float *pg = m->Pg + (int64_t)s * d, *gu = m->dp + (int64_t)u * d, g = m->gs[s];
        int noop = m->js[s] == bt->i[s];
        for (int k = 0; k < d; k++) {
            pg[k] = g * pu[k];
            gu[k] += g * da[k] + (noop ? 0.0f : r2 * pu[k]);
        }
    }
    /* dA (D, d) = Dz^T (D, B) . Pg (B, d) */
    pr_par_gemm(base->pool, PR_TRANS, PR_NOTRANS, D, d, B, 1.0f, m->Dz, D, m->Pg, d, 0.0f, m->dA, d);
}

static void mknn_step(pr_model *base, const pr_batch *bt) {
    mknn *m = (mknn *)base;
    pr_optim_step_params(&m->opt, &m->P);
}

/* Cov (K, K) of the warm items' rows of V (n_items, K), in double, then
 * rounded to float for the per-user spreads. */
static int warm_covariance(const mknn *m, const float *V, int K, float *Cov) {
    int32_t n = m->n_warm;
    double *mu = pr_calloc((size_t)K, sizeof *mu), *X = pr_malloc((size_t)n * K, sizeof *X);
    double *Cd = pr_malloc((size_t)K * K, sizeof *Cd);
    if (!mu || !X || !Cd) { free(mu); free(X); free(Cd); return PR_E_NOMEM; }
    for (int32_t r = 0; r < n; r++)
        for (int k = 0; k < K; k++) mu[k] += V[(int64_t)m->warm[r] * K + k];
    for (int k = 0; k < K; k++) mu[k] /= (double)n;
    for (int32_t r = 0; r < n; r++)
        for (int k = 0; k < K; k++) X[(int64_t)r * K + k] = V[(int64_t)m->warm[r] * K + k] - mu[k];
    /* Cd (K, K) = X^T (K, n) . X (n, K) / n */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, K, n, 1.0 / n, X, K, X, K, 0.0, Cd, K);
    for (int64_t k = 0; k < (int64_t)K * K; k++) Cov[k] = (float)Cd[k];
    free(mu);
    free(X);
    free(Cd);
    return 0;
}

static int mknn_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    mknn *m = (mknn *)base;
    const pr_csr *t = base->data->train;
    int32_t nu = base->data->n_users, ni = base->data->n_items;
    int D = m->D, d = m->d, K = D + d, rc = 0;
    /* Hf (nu, D) full histories; Z (nu, K) = [M^T h_u, p_u]; Y (nu, K) = Z Cov; Hk (nu, D) = Hf Cov_cc */
    float *Hf = pr_malloc((size_t)nu * D, sizeof *Hf), *Z = pr_malloc((size_t)nu * K, sizeof *Z);
    float *Y = pr_malloc((size_t)nu * K, sizeof *Y), *Hk = pr_malloc((size_t)nu * D, sizeof *Hk);
    float *Cov = pr_malloc((size_t)K * K, sizeof *Cov);
    int have_out = 0;
    if (!Hf || !Z || !Y || !Hk || !Cov || !(have_out = pr_snapshot_alloc(out, nu, ni, K, 0) == 0)) {
        rc = pr_err(err, PR_E_NOMEM, "metricknn snapshot: %d users, %d items x %d", nu, ni, K);
        goto done;
    }
    for (int32_t i = 0; i < ni; i++) item_vector(m->C + (int64_t)i * D, m->A, D, d, out->V + (int64_t)i * K);
    if (warm_covariance(m, out->V, K, Cov)) { rc = pr_err(err, PR_E_NOMEM, "metricknn snapshot"); goto done; }
    for (int32_t u = 0; u < nu; u++) {
        int64_t n = pr_csr_row_len(t, u);
        float inv = n > 0 ? 1.0f / (float)n : 0.0f;
        for (int k = 0; k < D; k++) Hf[(int64_t)u * D + k] = m->S[(int64_t)u * D + k] * inv;
        if (d > 0) memcpy(Z + (int64_t)u * K + D, m->p + (int64_t)u * d, (size_t)d * sizeof *Z);
    }
    /* Z[:, :D] (nu, D) = Hf (nu, D) . M (D, D): the rows M^T h_u */
    pr_par_gemm(base->pool, PR_NOTRANS, PR_NOTRANS, nu, D, D, 1.0f, Hf, D, m->M, D, 0.0f, Z, K);
    /* Y (nu, K) = Z (nu, K) . Cov (K, K);  Hk (nu, D) = Hf (nu, D) . Cov[:D, :D] */
    pr_par_gemm(base->pool, PR_NOTRANS, PR_NOTRANS, nu, K, K, 1.0f, Z, K, Cov, K, 0.0f, Y, K);
    pr_par_gemm(base->pool, PR_NOTRANS, PR_NOTRANS, nu, D, D, 1.0f, Hf, D, Cov, K, 0.0f, Hk, D);
    for (int32_t u = 0; u < nu; u++) {
        const float *z = Z + (int64_t)u * K, *h = Hf + (int64_t)u * D;
        double vm = pr_dot(Y + (int64_t)u * K, z, K), vk = pr_dot(Hk + (int64_t)u * D, h, D);
        float am = vm > 0 ? (float)(1.0 / sqrt(vm)) : 1.0f, ak = vk > 0 ? (float)(m->knn / sqrt(vk)) : 0.0f;
        float *U = out->U + (int64_t)u * K;
        for (int k = 0; k < D; k++) U[k] = am * z[k] + ak * h[k];
        for (int k = D; k < K; k++) U[k] = am * z[k];
    }
done:
    if (rc && have_out) pr_snapshot_free(out);
    free(Hf);
    free(Z);
    free(Y);
    free(Hk);
    free(Cov);
    return rc;
}

/* ---- the tower: c -> [c, A^T c] ------------------------------------------- */

typedef struct {
    pr_tower base;             /* d = D + d_free */
    int D, dfree;
    float w[PR_MAX_MODALITIES];
    float *mean;               /* (D) owned */
    float *A;                  /* (D, dfree) owned, NULL when dfree = 0 */
} mknn_tower;

/* Blob: the common head (d = D + d_free), u32 d_free, the weights (n_mod),
 * the means (D), A (D, d_free). */
static int mknn_tower_save(const pr_model *base, pr_buf *b) {
    const mknn *m = (const mknn *)base;
    pr_tower_head_save(b, "metricknn", m->D + m->d, &m->c);
    pr_buf_put_u32(b, (uint32_t)m->d);
    pr_buf_put_f32s(b, m->w, m->c.n_mod);
    pr_buf_put_f32s(b, m->mean, m->D);
    if (m->d > 0) pr_buf_put_f32s(b, m->A, (int64_t)m->D * m->d);
    return b->oom ? PR_E_NOMEM : 0;
}

static void mknn_tower_free(pr_tower *base) {
    mknn_tower *t = (mknn_tower *)base;
    if (!t) return;
    free(t->mean);
    free(t->A);
    free(t);
}

static int mknn_tower_load(pr_tower **out, pr_cur *c, pr_error *err) {
    mknn_tower *t = pr_calloc(1, sizeof *t);
    float *w = NULL;
    uint32_t dfree;
    int rc;
    if (!t) return pr_err(err, PR_E_NOMEM, "metricknn tower");
    if ((rc = pr_tower_head_load(&t->base, c, "metricknn", err)) || (rc = pr_cur_get_u32(c, &dfree, err))) goto fail;
    for (int m = 0; m < t->base.n_mod; m++) t->D += t->base.dims[m];
    if (t->D > 16384 || (int64_t)dfree + t->D != t->base.d) {
        rc = pr_err(err, PR_E_FORMAT, "%s: metricknn tower d=%d for %d content dims and %u free", c->what, t->base.d, t->D, dfree);
        goto fail;
    }
    t->dfree = (int)dfree;
    if ((rc = pr_cur_get_f32s_n(c, &w, t->base.n_mod, "modality weights", err)) ||
        (rc = pr_cur_get_f32s_n(c, &t->mean, t->D, "means", err)))
        goto fail;
    memcpy(t->w, w, (size_t)t->base.n_mod * sizeof *w);
    if (t->dfree > 0 && (rc = pr_cur_get_f32s_n(c, &t->A, (int64_t)t->D * t->dfree, "A", err))) goto fail;
    for (int m = 0; m < t->base.n_mod; m++)
        if (!(t->w[m] >= 0 && isfinite(t->w[m]))) { rc = pr_err(err, PR_E_FORMAT, "%s: metricknn tower weight %d", c->what, m); goto fail; }
    free(w);
    *out = &t->base;
    return 0;
fail:
    free(w);
    mknn_tower_free(&t->base);
    return rc;
}

static int mknn_tower_encode(const pr_tower *base, const float *const *x, float *v, float *bias, pr_error *err) {
    const mknn_tower *t = (const mknn_tower *)base;
    int rc = pr_tower_check_input(base, x, err);
    if (rc) return rc;
    float *c = pr_malloc((size_t)t->D, sizeof *c);
    if (!c) return pr_err(err, PR_E_NOMEM, "metricknn tower");
    pr_centred_embed(base->n_mod, base->dims, t->w, t->mean, x, c);
    item_vector(c, t->A, t->D, t->dfree, v);
    free(c);
    *bias = 0.0f;
    return 0;
}

const pr_tower_ops pr_metricknn_tower_ops = {
    .name = "metricknn",
    .load = mknn_tower_load,
    .encode = mknn_tower_encode,
    .free = mknn_tower_free,
};

const pr_model_ops pr_metricknn_ops = {
    .name = "metricknn",
    .help = "content kNN with a learned metric + free taste, BPR, items from content alone; keys: knn=1 (kNN blend), free=1, mod_w=W1,W2..",
    .needs_features = 1,
    .init = mknn_init,
    .forward = mknn_forward,
    .backward = mknn_backward,
    .step = mknn_step,
    .snapshot = mknn_snapshot,
    .tower_save = mknn_tower_save,
    .free = mknn_free,
};
