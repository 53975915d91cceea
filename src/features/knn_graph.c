/* features/knn_graph.c: tiled cosine k-NN graphs, fusion, queries (see knn_graph.h). */
#include "knn_graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"
#include "core/topk.h"

void pr_knn_opts_default(pr_knn_opts *o) {
    memset(o, 0, sizeof *o);
    o->k = 10;
    o->self = 1;
}

float *pr_rows_l2(const float *X, int32_t n, int dim) {
    float *Y = pr_alloc_aligned((size_t)n * dim, sizeof *Y);
    if (!Y) return NULL;
    for (int32_t i = 0; i < n; i++) {
        const float *x = X + (int64_t)i * dim;
        float *y = Y + (int64_t)i * dim;
        double s = 0;
        for (int k = 0; k < dim; k++) s += (double)x[k] * x[k];
        float f = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        for (int k = 0; k < dim; k++) y[k] = x[k] * f;
    }
    return Y;
}

/* ---- tiled build ------------------------------------------------------------ */

typedef struct {
    const float *Xn;       /* (n, dim) unit rows */
    const uint8_t *ok;     /* (n) 1 = may be a neighbour */
    const uint8_t *has;    /* (n) 1 = nonzero row */
    int32_t n;
    int dim, k, self, rb, cb;
    int32_t *nb_idx;       /* (n, k) result */
    float *nb_sim;         /* (n, k) */
    int *nb_cnt;           /* (n) */
    float **tile;          /* per thread (rb, cb) */
    float **merge;         /* per thread (2k) values */
    int32_t **midx;        /* per thread (3k): 2k global indices + k positions */
} knn_job;

/* Merge row r's running top-k (idx/sim/cnt) with a tile row's top-k (bi/bv/bc,
 * already global indices, all larger than the running ones): the running
 * entries come first, so pr_topk's lower-position tie-break keeps the lower
 * item index. */
static void merge_row(knn_job *J, int ith, int32_t *idx, float *sim, int *cnt, const int32_t *bi,
                      const float *bv, int bc) {
    float *mv = J->merge[ith];
    int32_t *mi = J->midx[ith], *pos = mi + 2 * J->k;
    int m = 0;
    for (int q = 0; q < *cnt; q++, m++) { mv[m] = sim[q]; mi[m] = idx[q]; }
    for (int q = 0; q < bc; q++, m++) { mv[m] = bv[q]; mi[m] = bi[q]; }
    float tv[PR_KNN_MAX_K];
    int got = pr_topk(mv, m, J->k, pos, tv);
    for (int q = 0; q < got; q++) { idx[q] = mi[pos[q]]; sim[q] = tv[q]; }
    *cnt = got;
}

static void knn_rows(void *ctx, int ith, int nth) {
    knn_job *J = ctx;
    int32_t n = J->n;
    int k = J->k;
    float *tile = J->tile[ith];
    int32_t bi[PR_KNN_MAX_K];
    float bv[PR_KNN_MAX_K];
    int64_t n_rb = (n + J->rb - 1) / J->rb;
    for (int64_t b = ith; b < n_rb; b += nth) { /* interleaved static split: balanced, fixed */
        int32_t r0 = (int32_t)(b * J->rb), rn = PR_MIN(J->rb, n - r0);
        for (int32_t i = 0; i < rn; i++) J->nb_cnt[r0 + i] = 0;
        for (int32_t c0 = 0; c0 < n; c0 += J->cb) {
            int32_t cn = PR_MIN(J->cb, n - c0);
            /* tile (rn, cn) = Xn[r0..] (rn, dim) . Xn[c0..]^T (dim, cn) */
            pr_gemm(PR_NOTRANS, PR_TRANS, rn, cn, J->dim, 1.0f, J->Xn + (int64_t)r0 * J->dim, J->dim,
                    J->Xn + (int64_t)c0 * J->dim, J->dim, 0.0f, tile, cn);
            for (int32_t i = 0; i < rn; i++) {
                int32_t r = r0 + i;
                if (!J->has[r]) continue;
                float *row = tile + (int64_t)i * cn;
                for (int32_t j = 0; j < cn; j++)
                    if (!J->ok[c0 + j]) row[j] = -INFINITY;
                if (!J->self && r >= c0 && r < c0 + cn) row[r - c0] = -INFINITY;
                int bc = pr_topk(row, cn, k, bi, bv);
                for (int q = 0; q < bc; q++) bi[q] += c0;
                merge_row(J, ith, J->nb_idx + (int64_t)r * k, J->nb_sim + (int64_t)r * k,
                          &J->nb_cnt[r], bi, bv, bc);
            }
        }
    }
}

typedef struct { int32_t c; float v; } col_val;

static int col_cmp(const void *a, const void *b) {
    int32_t x = ((const col_val *)a)->c, y = ((const col_val *)b)->c;
    return (x > y) - (x < y);
}

/* CSR from per-row neighbour lists (n, k) with counts, columns sorted. */
static int lists_to_csr(int32_t n, int k, const int32_t *idx, const float *sim, const int *cnt,
                        pr_csr **out, pr_error *err) {
    int64_t nnz = 0;
    for (int32_t i = 0; i < n; i++) nnz += cnt[i];
    pr_csr *S = pr_csr_new(n, n, nnz, 1);
    if (!S) return pr_err(err, PR_E_NOMEM, "knn graph: %d items x k=%d", n, k);
    col_val row[PR_KNN_MAX_K];
    int64_t w = 0;
    for (int32_t i = 0; i < n; i++) {
        S->indptr[i] = w;
        for (int q = 0; q < cnt[i]; q++) row[q] = (col_val){idx[(int64_t)i * k + q], sim[(int64_t)i * k + q]};
        qsort(row, (size_t)cnt[i], sizeof *row, col_cmp);
        for (int q = 0; q < cnt[i]; q++, w++) {
            S->indices[w] = row[q].c;
            S->val[w] = row[q].v;
        }
    }
    S->indptr[n] = w;
    *out = S;
    return 0;
}

static int check_opts(int32_t n, int dim, const pr_knn_opts *o, pr_error *err) {
    if (o->k < 1 || o->k > PR_KNN_MAX_K)
        return pr_err(err, PR_E_ARG, "knn: k=%d outside [1, %d]", o->k, PR_KNN_MAX_K);
    if (dim < 1 || n < 0) return pr_err(err, PR_E_ARG, "knn: %d items x dim %d", n, dim);
    return 0;
}

/* Masks: has[i] = row i nonzero; ok[i] = has[i] and a candidate. */
static int make_masks(const float *Xn, int32_t n, int dim, const uint8_t *cand, uint8_t **has,
                      uint8_t **ok) {
    *has = pr_malloc((size_t)n + 1, 1);
    *ok = pr_malloc((size_t)n + 1, 1);
    if (!*has || !*ok) return PR_E_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        const float *x = Xn + (int64_t)i * dim;
        int nz = 0;
        for (int q = 0; q < dim && !nz; q++) nz = x[q] != 0.0f;
        (*has)[i] = (uint8_t)nz;
        (*ok)[i] = (uint8_t)(nz && (!cand || cand[i]));
    }
    return 0;
}

int pr_knn_build(const float *X, int32_t n, int dim, const pr_knn_opts *o, pr_pool *pool,
                 pr_csr **out, pr_error *err) {
    int rc = check_opts(n, dim, o, err);
    if (rc) return rc;
    int nth = pr_pool_size(pool);
    if (nth < 1) nth = 1;
    knn_job J = {0};
    J.n = n;
    J.dim = dim;
    J.k = o->k;
    J.self = o->self;
    J.rb = PR_MAX(1, PR_MIN(o->row_block > 0 ? o->row_block : 256, n));
    J.cb = PR_MAX(1, PR_MIN(o->col_block > 0 ? o->col_block : 8192, n));
    uint8_t *has = NULL, *ok = NULL;
    float *Xn = pr_rows_l2(X, n, dim);
    J.nb_idx = pr_malloc((size_t)n * o->k + 1, sizeof *J.nb_idx);
    J.nb_sim = pr_malloc((size_t)n * o->k + 1, sizeof *J.nb_sim);
    J.nb_cnt = pr_calloc((size_t)n + 1, sizeof *J.nb_cnt);
    J.tile = pr_calloc((size_t)nth, sizeof *J.tile);
    J.merge = pr_calloc((size_t)nth, sizeof *J.merge);
    J.midx = pr_calloc((size_t)nth, sizeof *J.midx);
    if (!Xn || !J.nb_idx || !J.nb_sim || !J.nb_cnt || !J.tile || !J.merge || !J.midx ||
        make_masks(Xn, n, dim, o->cand, &has, &ok))
        goto oom;
    for (int t = 0; t < nth; t++) {
        J.tile[t] = pr_alloc_aligned((size_t)J.rb * J.cb, sizeof(float));
        J.merge[t] = pr_malloc(2 * (size_t)o->k, sizeof(float));
        J.midx[t] = pr_malloc(3 * (size_t)o->k, sizeof(int32_t));
        if (!J.tile[t] || !J.merge[t] || !J.midx[t]) goto oom;
    }
    J.Xn = Xn;
    J.has = has;
    J.ok = ok;
    pr_blas_threads(1); /* each pool thread runs its own GEMMs */
    pr_pool_run(pool, knn_rows, &J);
    rc = lists_to_csr(n, o->k, J.nb_idx, J.nb_sim, J.nb_cnt, out, err);
    goto done;
oom:
    rc = pr_err(err, PR_E_NOMEM, "knn graph: %d items x dim %d", n, dim);
done:
    for (int t = 0; J.tile && t < nth; t++) pr_free_aligned(J.tile[t]);
    for (int t = 0; J.merge && t < nth; t++) free(J.merge[t]);
    for (int t = 0; J.midx && t < nth; t++) free(J.midx[t]);
    free(J.tile);
    free(J.merge);
    free(J.midx);
    free(J.nb_idx);
    free(J.nb_sim);
    free(J.nb_cnt);
    free(has);
    free(ok);
    pr_free_aligned(Xn);
    return rc;
}

int pr_knn_build_naive(const float *X, int32_t n, int dim, const pr_knn_opts *o, pr_csr **out,
                       pr_error *err) {
    int rc = check_opts(n, dim, o, err);
    if (rc) return rc;
    int k = o->k;
    uint8_t *has = NULL, *ok = NULL;
    float *Xn = pr_rows_l2(X, n, dim), *row = pr_malloc((size_t)n + 1, sizeof *row);
    int32_t *idx = pr_malloc((size_t)n * k + 1, sizeof *idx);
    float *sim = pr_malloc((size_t)n * k + 1, sizeof *sim);
    int *cnt = pr_calloc((size_t)n + 1, sizeof *cnt);
    if (!Xn || !row || !idx || !sim || !cnt || make_masks(Xn, n, dim, o->cand, &has, &ok)) {
        rc = pr_err(err, PR_E_NOMEM, "knn graph");
        goto done;
    }
    for (int32_t i = 0; i < n; i++) {
        if (!has[i]) continue;
        for (int32_t j = 0; j < n; j++) {
            double s = 0;
            for (int q = 0; q < dim; q++) s += (double)Xn[(int64_t)i * dim + q] * Xn[(int64_t)j * dim + q];
            row[j] = ok[j] && (o->self || j != i) ? (float)s : -INFINITY;
        }
        int c = pr_topk_naive(row, n, k, idx + (int64_t)i * k, sim + (int64_t)i * k);
        if (c < 0) { rc = pr_err(err, PR_E_NOMEM, "knn graph"); goto done; }
        cnt[i] = c;
    }
    rc = lists_to_csr(n, k, idx, sim, cnt, out, err);
done:
    pr_free_aligned(Xn);
    free(row);
    free(idx);
    free(sim);
    free(cnt);
    free(has);
    free(ok);
    return rc;
}

/* ---- fusion ---------------------------------------------------------------- */

/* Merge the sorted rows r of every G; with S NULL only count the union. */
static int64_t fuse_row(const pr_csr *const *G, const float *w, int n_g, int32_t r, pr_csr *S,
                        int64_t at) {
    int64_t pos[PR_KNN_MAX_GRAPHS];
    for (int g = 0; g < n_g; g++) pos[g] = G[g]->indptr[r];
    int64_t m = 0;
    for (;;) {
        int32_t c = INT32_MAX;
        for (int g = 0; g < n_g; g++)
            if (pos[g] < G[g]->indptr[r + 1] && G[g]->indices[pos[g]] < c) c = G[g]->indices[pos[g]];
        if (c == INT32_MAX) break;
        double v = 0;
        for (int g = 0; g < n_g; g++)
            if (pos[g] < G[g]->indptr[r + 1] && G[g]->indices[pos[g]] == c) {
                v += (double)w[g] * (G[g]->val ? G[g]->val[pos[g]] : 1.0f);
                pos[g]++;
            }
        if (S) {
            S->indices[at + m] = c;
            S->val[at + m] = (float)v;
        }
        m++;
    }
    return m;
}

int pr_csr_fuse(const pr_csr *const *G, const float *w, int n_g, pr_csr **out, pr_error *err) {
    if (n_g < 1 || n_g > PR_KNN_MAX_GRAPHS)
        return pr_err(err, PR_E_ARG, "fuse: %d graphs (1..%d)", n_g, PR_KNN_MAX_GRAPHS);
    for (int g = 1; g < n_g; g++)
        if (G[g]->n_rows != G[0]->n_rows || G[g]->n_cols != G[0]->n_cols)
            return pr_err(err, PR_E_ARG, "fuse: graph %d is %dx%d, graph 0 %dx%d", g, G[g]->n_rows,
                          G[g]->n_cols, G[0]->n_rows, G[0]->n_cols);
    int32_t n = G[0]->n_rows;
    int64_t nnz = 0;
    for (int32_t r = 0; r < n; r++) nnz += fuse_row(G, w, n_g, r, NULL, 0);
    pr_csr *S = pr_csr_new(n, G[0]->n_cols, nnz, 1);
    if (!S) return pr_err(err, PR_E_NOMEM, "fuse: %lld entries", (long long)nnz);
    int64_t at = 0;
    for (int32_t r = 0; r < n; r++) {
        S->indptr[r] = at;
        at += fuse_row(G, w, n_g, r, S, at);
    }
    S->indptr[n] = at;
    *out = S;
    return 0;
}

/* ---- queries ----------------------------------------------------------------- */

int pr_knn_query(const float *Xn, int32_t n, int dim, const uint8_t *cand, const float *x, int k,
                 int32_t *idx, float *sim) {
    double s = 0;
    for (int q = 0; q < dim; q++) s += (double)x[q] * x[q];
    if (s <= 0 || n == 0 || k < 1) return 0;
    float *row = pr_malloc((size_t)n, sizeof *row);
    if (!row) return PR_E_NOMEM;
    /* row (n) = Xn (n, dim) . x (dim) / |x| */
    pr_gemv(PR_NOTRANS, n, dim, (float)(1.0 / sqrt(s)), Xn, dim, x, 0.0f, row);
    for (int32_t j = 0; j < n; j++) {
        int nz = 0;
        const float *r = Xn + (int64_t)j * dim;
        for (int q = 0; q < dim && !nz; q++) nz = r[q] != 0.0f;
        if (!nz || (cand && !cand[j])) row[j] = -INFINITY;
    }
    int got = pr_topk(row, n, k, idx, sim);
    free(row);
    return got;
}

/* ---- cold-item tower --------------------------------------------------------- */

void pr_knn_tower_deinit(pr_knn_tower *t) {
    for (int q = 0; q < PR_KNN_MAX_GRAPHS; q++) pr_free_aligned(t->Xn[q]);
    pr_free_aligned(t->T);
    memset(t, 0, sizeof *t);
}

/* code: PR_E_ARG when building, PR_E_FORMAT when loading */
static int tower_check(const pr_knn_tower *t, int code, pr_error *err) {
    if (t->n_mod < 1 || t->n_mod > PR_KNN_MAX_GRAPHS || t->k < 1 || t->k > PR_KNN_MAX_K || t->d < 1 ||
        t->n < 0)
        return pr_err(err, code, "knn tower: %d modalities, k=%d, d=%d, %d items", t->n_mod, t->k, t->d,
                      t->n);
    for (int q = 0; q < t->n_mod; q++)
        if (t->dims[q] < 1 || !(t->w[q] >= 0))
            return pr_err(err, code, "knn tower: modality %d: dim %d, weight %g", q, t->dims[q], t->w[q]);
    return 0;
}

int pr_knn_tower_init(pr_knn_tower *t, int n_mod, const char *const *names, const float *const *X,
                      const int *dims, const float *w, int32_t n, const uint8_t *cand, const float *T, int d,
                      int k, int sim_weighted, int l2_out, pr_error *err) {
    memset(t, 0, sizeof *t);
    t->n_mod = n_mod;
    t->n = n;
    t->d = d;
    t->k = k;
    t->sim_weighted = sim_weighted;
    t->l2_out = l2_out;
    for (int q = 0; q < n_mod && q < PR_KNN_MAX_GRAPHS; q++) {
        t->dims[q] = dims[q];
        t->w[q] = w[q];
        snprintf(t->names[q], sizeof t->names[q], "%s", names[q]);
    }
    int rc = tower_check(t, PR_E_ARG, err);
    if (rc) return rc;
    t->T = pr_alloc_aligned((size_t)n * d + 1, sizeof *t->T);
    if (!t->T) goto oom;
    memcpy(t->T, T, (size_t)n * d * sizeof *t->T);
    for (int q = 0; q < n_mod; q++) {
        if (!(t->Xn[q] = pr_rows_l2(X[q], n, dims[q]))) goto oom;
        if (cand)
            for (int32_t i = 0; i < n; i++)
                if (!cand[i]) memset(t->Xn[q] + (int64_t)i * dims[q], 0, (size_t)dims[q] * sizeof(float));
    }
    return 0;
oom:
    pr_knn_tower_deinit(t);
    return pr_err(err, PR_E_NOMEM, "knn tower: %d items", n);
}

int pr_knn_tower_encode(const pr_knn_tower *t, const float *const *x, float *v, pr_error *err) {
    memset(v, 0, (size_t)t->d * sizeof *v);
    int32_t idx[PR_KNN_MAX_K];
    float sim[PR_KNN_MAX_K];
    double wsum = 0;
    for (int q = 0; q < t->n_mod; q++) {
        if (!x[q]) continue;
        int got = pr_knn_query(t->Xn[q], t->n, t->dims[q], NULL, x[q], t->k, idx, sim);
        if (got < 0) return pr_err(err, PR_E_NOMEM, "knn tower");
        if (got == 0) continue;
        double s = 0;
        for (int j = 0; j < got; j++) s += t->sim_weighted ? fmax(sim[j], 0.0) : 1.0;
        if (s <= 0) continue;
        for (int j = 0; j < got; j++) {
            double a = (t->sim_weighted ? fmax(sim[j], 0.0) : 1.0) / s;
            pr_axpy((float)(t->w[q] * a), t->T + (int64_t)idx[j] * t->d, v, t->d);
        }
        wsum += t->w[q];
    }
    if (wsum > 0)
        for (int q = 0; q < t->d; q++) v[q] = (float)(v[q] / wsum);
    if (t->l2_out) {
        double s = 0;
        for (int q = 0; q < t->d; q++) s += (double)v[q] * v[q];
        if (s > 0)
            for (int q = 0; q < t->d; q++) v[q] = (float)(v[q] / sqrt(s));
    }
    return 0;
}

#define TOWER_VERSION 1u

int pr_knn_tower_save(const pr_knn_tower *t, pr_buf *b) {
    pr_buf_put_u32(b, TOWER_VERSION);
    pr_buf_put_u32(b, (uint32_t)t->n_mod);
    pr_buf_put_i64(b, t->n);
    pr_buf_put_u32(b, (uint32_t)t->d);
    pr_buf_put_u32(b, (uint32_t)t->k);
    pr_buf_put_u32(b, (uint32_t)t->sim_weighted);
    pr_buf_put_u32(b, (uint32_t)t->l2_out);
    for (int q = 0; q < t->n_mod; q++) {
        pr_buf_put_str(b, t->names[q]);
        pr_buf_put_u32(b, (uint32_t)t->dims[q]);
        pr_buf_put_f32(b, t->w[q]);
        pr_buf_put_f32s(b, t->Xn[q], (int64_t)t->n * t->dims[q]);
    }
    pr_buf_put_f32s(b, t->T, (int64_t)t->n * t->d);
    return b->oom ? PR_E_NOMEM : 0;
}

/* A float array of exactly want values into 64-byte aligned storage. */
static int get_array(pr_cur *c, int64_t want, float **out, const char *what, pr_error *err) {
    float *x = NULL;
    int64_t n = 0;
    int rc = pr_cur_get_f32s(c, &x, &n, err);
    if (rc) return rc;
    if (n != want) {
        free(x);
        return pr_err(err, PR_E_FORMAT, "knn tower: %s has %lld values, expected %lld", what, (long long)n,
                      (long long)want);
    }
    *out = pr_alloc_aligned((size_t)want + 1, sizeof **out);
    if (!*out) {
        free(x);
        return pr_err(err, PR_E_NOMEM, "knn tower: %s", what);
    }
    memcpy(*out, x, (size_t)want * sizeof *x);
    free(x);
    return 0;
}

int pr_knn_tower_load(pr_knn_tower *t, pr_cur *c, pr_error *err) {
    memset(t, 0, sizeof *t);
    uint32_t ver, n_mod, d, k, sw, l2;
    int64_t n;
    int rc;
    if ((rc = pr_cur_get_u32(c, &ver, err)) || (rc = pr_cur_get_u32(c, &n_mod, err)) ||
        (rc = pr_cur_get_i64(c, &n, err)) || (rc = pr_cur_get_u32(c, &d, err)) || (rc = pr_cur_get_u32(c, &k, err)) ||
        (rc = pr_cur_get_u32(c, &sw, err)) || (rc = pr_cur_get_u32(c, &l2, err)))
        return rc;
    if (ver != TOWER_VERSION) return pr_err(err, PR_E_FORMAT, "knn tower: version %u", ver);
    if (n_mod < 1 || n_mod > PR_KNN_MAX_GRAPHS || n < 0 || n > INT32_MAX || d > 65536 || k > PR_KNN_MAX_K)
        return pr_err(err, PR_E_FORMAT, "knn tower: %u modalities, %lld items, d=%u, k=%u", n_mod, (long long)n, d, k);
    t->n_mod = (int)n_mod;
    t->n = (int32_t)n;
    t->d = (int)d;
    t->k = (int)k;
    t->sim_weighted = sw != 0;
    t->l2_out = l2 != 0;
    for (int q = 0; q < t->n_mod && rc == 0; q++) {
        char *name = NULL;
        uint32_t dim;
        if ((rc = pr_cur_get_str(c, &name, 31, err))) break;
        snprintf(t->names[q], sizeof t->names[q], "%s", name);
        free(name);
        if ((rc = pr_cur_get_u32(c, &dim, err)) || (rc = pr_cur_get_f32(c, &t->w[q], err))) break;
        if (dim < 1 || dim > (1u << 20)) { rc = pr_err(err, PR_E_FORMAT, "knn tower: modality dim %u", dim); break; }
        t->dims[q] = (int)dim;
        rc = get_array(c, n * (int64_t)dim, &t->Xn[q], t->names[q], err);
    }
    if (rc == 0) rc = get_array(c, n * (int64_t)d, &t->T, "table", err);
    if (rc == 0) rc = tower_check(t, PR_E_FORMAT, err);
    if (rc) pr_knn_tower_deinit(t);
    return rc;
}
