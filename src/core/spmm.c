/* core/spmm.c: SpMM, the bipartite user-item graph, layer-mean propagation
 * (see spmm.h for the contracts and the threading argument). */
#include "spmm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

/* ---- SpMM ----------------------------------------------------------------- */

typedef struct {
    const pr_csr *A;
    const float *X, *Z; /* Z: (n_rows, d) added as zs * Z instead of beta * Y, or NULL */
    float *Y;
    int d;
    float alpha, beta, zs;
} spmm_job;

/* First row whose first nonzero is at or after nonzero t (lower bound on indptr). */
static int32_t row_at_nnz(const pr_csr *A, int64_t t) {
    int32_t lo = 0, hi = A->n_rows;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (A->indptr[mid] < t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Thread ith's rows: a static split balanced by nonzeros, so a few heavy rows
 * (popular items) do not stall one thread. Depends only on (A, ith, nth). */
static void nnz_split(const pr_csr *A, int ith, int nth, int32_t *r0, int32_t *r1) {
    *r0 = ith == 0 ? 0 : row_at_nnz(A, A->nnz * ith / nth);
    *r1 = ith == nth - 1 ? A->n_rows : row_at_nnz(A, A->nnz * (ith + 1) / nth);
}

/* acc (w) += v * x (w). The fixed 16-wide body vectorises at -O2 (GCC's
 * cheap cost model wants a constant trip count); the tail is scalar. */
static inline void axpy_panel(float v, const float *restrict x, float *restrict acc, int w) {
    int k = 0;
    for (; k + 16 <= w; k += 16)
        for (int q = 0; q < 16; q++) acc[k + q] += v * x[k + q];
    for (; k < w; k++) acc[k] += v * x[k];
}

/* Multiversioned for AVX2 where the CPU has it (same operation order per
 * element and no FMA contraction under -std=c11, so results are identical to
 * the baseline version). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void spmm_rows(void *ctx, int ith, int nth) {
    spmm_job *J = ctx;
    const pr_csr *A = J->A;
    int d = J->d;
    int32_t r0, r1;
    nnz_split(A, ith, nth, &r0, &r1);
    float acc[256];
    for (int32_t r = r0; r < r1; r++) {
        float *y = J->Y + (int64_t)r * d;
        for (int k0 = 0; k0 < d; k0 += 256) { /* column panels keep acc on the stack for any d */
            int w = d - k0 < 256 ? d - k0 : 256;
            memset(acc, 0, (size_t)w * sizeof *acc);
            for (int64_t p = A->indptr[r]; p < A->indptr[r + 1]; p++)
                axpy_panel(A->val ? A->val[p] : 1.0f, J->X + (int64_t)A->indices[p] * d + k0, acc, w);
            float *yk = y + k0;
            if (J->Z) {
                const float *z = J->Z + (int64_t)r * d + k0;
                for (int k = 0; k < w; k++) yk[k] = J->alpha * acc[k] + J->zs * z[k];
            } else if (J->beta == 0.0f) {
                for (int k = 0; k < w; k++) yk[k] = J->alpha * acc[k];
            } else {
                for (int k = 0; k < w; k++) yk[k] = J->alpha * acc[k] + J->beta * yk[k];
            }
        }
    }
}

void pr_spmm(pr_pool *pool, const pr_csr *A, const float *X, int d, float alpha, float beta,
             float *Y) {
    spmm_job J = {A, X, NULL, Y, d, alpha, beta, 0.0f};
    pr_pool_run(pool, spmm_rows, &J);
}

/* Y = s (A X + Z) (Z may alias Y: each row reads its Z row before writing it). */
static void spmm_add(pr_pool *pool, const pr_csr *A, const float *X, const float *Z, int d, float s, float *Y) {
    spmm_job J = {A, X, Z, Y, d, s, 0.0f, s};
    pr_pool_run(pool, spmm_rows, &J);
}

void pr_spmm_naive(const pr_csr *A, const float *X, int d, float alpha, float beta, float *Y) {
    for (int32_t r = 0; r < A->n_rows; r++)
        for (int k = 0; k < d; k++) {
            double s = 0.0;
            for (int64_t p = A->indptr[r]; p < A->indptr[r + 1]; p++)
                s += (double)(A->val ? A->val[p] : 1.0f) * X[(int64_t)A->indices[p] * d + k];
            float *y = &Y[(int64_t)r * d + k];
            *y = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *y));
        }
}

void pr_spmm_t_naive(const pr_csr *A, const float *dY, int d, float *dX) {
    for (int32_t r = 0; r < A->n_rows; r++)
        for (int64_t p = A->indptr[r]; p < A->indptr[r + 1]; p++) {
            float v = A->val ? A->val[p] : 1.0f;
            float *dx = dX + (int64_t)A->indices[p] * d;
            const float *dy = dY + (int64_t)r * d;
            for (int k = 0; k < d; k++) dx[k] += v * dy[k];
        }
}

/* ---- the user-item graph -------------------------------------------------- */

int pr_adj_new(const pr_csr *R, int self_loops, pr_csr **out, pr_error *err) {
    int64_t n = (int64_t)R->n_rows + R->n_cols;
    if (n > INT32_MAX) return pr_err(err, PR_E_RANGE, "graph: %lld nodes exceed int32", (long long)n);
    int64_t cap = 2 * R->nnz + (self_loops ? n : 0);
    pr_csr *A = pr_csr_new((int32_t)n, (int32_t)n, cap, 1);
    if (!A) return pr_err(err, PR_E_NOMEM, "graph: %lld nodes, %lld edges", (long long)n, (long long)cap);
    *out = A;
    return 0;
}

/* Standard two-pass CSR construction with indptr as the fill cursors, so no
 * scratch is needed: after counting and the prefix sum, ptr[v] is row v's
 * next free slot; after the scatter it is row v's end, and one shift turns
 * it back into row starts. User rows come out as [self] items (all > u);
 * item rows as users in increasing order (scattered in user order) then
 * [self]: every row is sorted. */
void pr_adj_fill(const pr_csr *R, const uint8_t *keep, int self_loops, int norm, pr_csr *A) {
    int32_t nu = R->n_rows, ni = R->n_cols, n = nu + ni;
    int64_t *ptr = A->indptr;
    memset(ptr, 0, (size_t)(n + 1) * sizeof *ptr);
    for (int32_t u = 0; u < nu; u++)
        for (int64_t p = R->indptr[u]; p < R->indptr[u + 1]; p++)
            if (!keep || keep[p]) {
                ptr[u + 1]++;
                ptr[nu + R->indices[p] + 1]++;
            }
    if (self_loops)
        for (int32_t v = 0; v < n; v++) ptr[v + 1]++;
    for (int32_t v = 0; v < n; v++) ptr[v + 1] += ptr[v];
    A->nnz = ptr[n];
    for (int32_t u = 0; u < nu; u++) {
        if (self_loops) A->indices[ptr[u]++] = u;
        for (int64_t p = R->indptr[u]; p < R->indptr[u + 1]; p++)
            if (!keep || keep[p]) {
                int32_t v = nu + R->indices[p];
                A->indices[ptr[u]++] = v;
                A->indices[ptr[v]++] = u;
            }
    }
    if (self_loops)
        for (int32_t v = nu; v < n; v++) A->indices[ptr[v]++] = v;
    for (int32_t v = n; v > 0; v--) ptr[v] = ptr[v - 1];
    ptr[0] = 0;
    /* unit weights scaled by degrees = row lengths (the pattern is symmetric) */
    for (int32_t r = 0; r < n; r++) {
        double dr = (double)(ptr[r + 1] - ptr[r]);
        for (int64_t p = ptr[r]; p < ptr[r + 1]; p++) {
            int32_t c = A->indices[p];
            double dc = (double)(ptr[c + 1] - ptr[c]);
            A->val[p] = norm == PR_NORM_SYM ? (float)(1.0 / sqrt(dr * dc))
                        : norm == PR_NORM_ROW ? (float)(1.0 / dr) : 1.0f;
        }
    }
}

int pr_adj_build(const pr_csr *R, int self_loops, int norm, pr_csr **out, pr_error *err) {
    int rc = pr_adj_new(R, self_loops, out, err);
    if (rc) return rc;
    pr_adj_fill(R, NULL, self_loops, norm, *out);
    return 0;
}

typedef struct { double key; int64_t e; } edge_key;

static int key_cmp(const void *a, const void *b) {
    const edge_key *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    return (x->e > y->e) - (x->e < y->e);
}

int pr_adj_sample_edges(const pr_csr *R, int64_t n_keep, uint64_t seed, uint64_t stream, uint8_t *keep,
                        pr_error *err) {
    int64_t nnz = R->nnz;
    int32_t *deg_i = pr_calloc((size_t)R->n_cols + 1, sizeof *deg_i);
    edge_key *k = pr_malloc((size_t)nnz + 1, sizeof *k);
    if (!deg_i || !k) {
        free(deg_i);
        free(k);
        return pr_err(err, PR_E_NOMEM, "edge sampling: %lld edges", (long long)nnz);
    }
    for (int64_t p = 0; p < nnz; p++) deg_i[R->indices[p]]++;
    pr_rng r;
    pr_rng_init(&r, seed, stream);
    for (int32_t u = 0; u < R->n_rows; u++)
        for (int64_t p = R->indptr[u]; p < R->indptr[u + 1]; p++) {
            double w = 1.0 / sqrt((double)pr_csr_row_len(R, u) * deg_i[R->indices[p]]);
            double x = ((double)pr_rng_u32(&r) + 0.5) * (1.0 / 4294967296.0); /* (0, 1) */
            k[p] = (edge_key){log(x) / w, p};
        }
    qsort(k, (size_t)nnz, sizeof *k, key_cmp);
    memset(keep, 0, (size_t)nnz);
    for (int64_t q = 0; q < n_keep && q < nnz; q++) keep[k[q].e] = 1;
    free(deg_i);
    free(k);
    return 0;
}

/* Row sums in double, so the weights do not depend on float summation order. */
int pr_csr_normalize(pr_csr *A, int norm, int binary, pr_error *err) {
    if (binary)
        for (int64_t p = 0; p < A->nnz; p++) A->val[p] = 1.0f;
    if (norm == PR_NORM_NONE) return 0;
    if (norm == PR_NORM_SYM && A->n_rows != A->n_cols)
        return pr_err(err, PR_E_ARG, "symmetric normalisation of a %dx%d matrix", A->n_rows, A->n_cols);
    int32_t n = A->n_rows;
    float *f = pr_malloc((size_t)n + 1, sizeof *f);
    if (!f) return pr_err(err, PR_E_NOMEM, "normalise: %d rows", n);
    for (int32_t r = 0; r < n; r++) {
        double s = 0;
        for (int64_t p = A->indptr[r]; p < A->indptr[r + 1]; p++) s += A->val[p];
        f[r] = s > 0 ? (float)(norm == PR_NORM_SYM ? 1.0 / sqrt(s) : 1.0 / s) : 0.0f;
    }
    for (int32_t r = 0; r < n; r++)
        for (int64_t p = A->indptr[r]; p < A->indptr[r + 1]; p++)
            A->val[p] *= norm == PR_NORM_SYM ? f[r] * f[A->indices[p]] : f[r];
    free(f);
    return 0;
}

/* ---- layer-mean propagation ---------------------------------------------- */

/* Horner: acc_0 = X, acc_l = X + A acc_{l-1}; acc_L = sum_l A^l X. The last
 * product writes out directly, scaled by 1/(L+1). */
void pr_spmm_layer_mean(pr_pool *pool, const pr_csr *A, int L, const float *X, int d, float *tmp,
                        float *out) {
    int64_t nd = (int64_t)A->n_rows * d;
    if (L == 0) {
        memcpy(out, X, (size_t)nd * sizeof *out);
        return;
    }
    const float *cur = X;
    for (int l = 1; l < L; l++) { /* alternate the two scratch halves */
        float *dst = tmp + (l & 1) * nd;
        spmm_add(pool, A, cur, X, d, 1.0f, dst);
        cur = dst;
    }
    spmm_add(pool, A, cur, X, d, 1.0f / (float)(L + 1), out);
}
