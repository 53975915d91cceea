/* features/svd.c: randomized truncated SVD (see svd.h for the algorithm).
 * The sparse products are hand-written and threaded over output rows; the
 * dense ones and the small factorizations go through BLAS and LAPACKE. */
#include "svd.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"
#include "core/rng.h"

/* ------------------------------------------------------------------ */
/* operators                                                            */

static void dense_mul(const pr_linop *op, const float *X, int l, float *Y, pr_pool *pool) {
    /* Y (m, l) = A (m, n) . X (n, l) */
    pr_gemm(PR_NOTRANS, PR_NOTRANS, (int)op->m, l, (int)op->n, 1.0f, op->ctx, (int)op->n, X, l,
            0.0f, Y, l);
}

static void dense_tmul(const pr_linop *op, const float *X, int l, float *Y, pr_pool *pool) {
    /* Y (n, l) = A^T (n, m) . X (m, l) */
    pr_gemm(PR_TRANS, PR_NOTRANS, (int)op->n, l, (int)op->m, 1.0f, op->ctx, (int)op->n, X, l,
            0.0f, Y, l);
}

void pr_linop_dense(pr_linop *op, const float *A, int64_t m, int64_t n) {
    memset(op, 0, sizeof *op);
    op->m = m;
    op->n = n;
    op->ctx = A;
    op->mul = dense_mul;
    op->tmul = dense_tmul;
}

typedef struct {
    const pr_csr *A;
    const float *X;
    float *Y;
    int l;
} spmm_job;

/* Y[r, :] = sum_j A[r, j] X[j, :] for this thread's rows. */
static void spmm_rows(void *ctx, int ith, int nth) {
    spmm_job *J = ctx;
    const pr_csr *A = J->A;
    int64_t r0, r1;
    pr_split(A->n_rows, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        float *y = J->Y + r * J->l;
        memset(y, 0, sizeof *y * (size_t)J->l);
        for (int64_t p = A->indptr[r]; p < A->indptr[r + 1]; p++)
            pr_axpy(A->val ? A->val[p] : 1.0f, J->X + (int64_t)A->indices[p] * J->l, y, J->l);
    }
}

static void csr_mul(const pr_linop *op, const float *X, int l, float *Y, pr_pool *pool) {
    spmm_job J = {op->ctx, X, Y, l};
    pr_pool_run(pool, spmm_rows, &J);
}

static void csr_tmul(const pr_linop *op, const float *X, int l, float *Y, pr_pool *pool) {
    spmm_job J = {op->ctx_t, X, Y, l};
    pr_pool_run(pool, spmm_rows, &J);
}

void pr_linop_csr(pr_linop *op, const pr_csr *A, const pr_csr *At) {
    memset(op, 0, sizeof *op);
    op->m = A->n_rows;
    op->n = A->n_cols;
    op->ctx = A;
    op->ctx_t = At;
    op->mul = csr_mul;
    op->tmul = csr_tmul;
}

/* ------------------------------------------------------------------ */
/* factorization                                                        */

int pr_orthonormalize(float *Y, int64_t m, int l, pr_error *err) {
    if (m < l || l <= 0) return pr_err(err, PR_E_ARG, "orthonormalize: %lld rows < %d columns", (long long)m, l);
    float *tau = malloc(sizeof *tau * (size_t)l);
    if (!tau) return pr_err(err, PR_E_NOMEM, "orthonormalize");
    lapack_int info = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, (lapack_int)m, l, Y, l, tau);
    if (info == 0) info = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, (lapack_int)m, l, l, Y, l, tau);
    free(tau);
    if (info != 0) return pr_err(err, info == LAPACK_WORK_MEMORY_ERROR ? PR_E_NOMEM : PR_E_NUMERIC,
                                 "orthonormalize: LAPACK sgeqrf/sorgqr info %d", (int)info);
    return 0;
}

/* Largest-magnitude entry of each column of V positive; U's columns follow. */
static void fix_signs(float *U, int64_t m, float *V, int64_t n, int k, int ldu, int ldv) {
    for (int j = 0; j < k; j++) {
        int64_t arg = 0;
        float best = -1.0f;
        for (int64_t i = 0; i < n; i++)
            if (fabsf(V[i * ldv + j]) > best) best = fabsf(V[i * ldv + j]), arg = i;
        if (V[arg * ldv + j] >= 0.0f) continue;
        for (int64_t i = 0; i < n; i++) V[i * ldv + j] = -V[i * ldv + j];
        for (int64_t i = 0; U && i < m; i++) U[i * ldu + j] = -U[i * ldu + j];
    }
}

int pr_rsvd(const pr_linop *A, const pr_rsvd_opts *o, pr_pool *pool, float *U, float *S,
            float *V, pr_error *err) {
    int64_t m = A->m, n = A->n, mn = PR_MIN(m, n);
    int k = o->k, rc = 0;
    if (k < 1 || k > mn)
        return pr_err(err, PR_E_ARG, "svd: rank %d outside [1, min(%lld, %lld)]", k, (long long)m,
                      (long long)n);
    if (m > INT32_MAX || n > INT32_MAX) return pr_err(err, PR_E_RANGE, "svd: matrix too large");
    int l = (int)PR_MIN((int64_t)k + PR_MAX(o->oversample, 0), mn);
    float *Q = pr_malloc((size_t)m * (size_t)l, sizeof *Q);   /* (m, l) */
    float *Z = pr_malloc((size_t)n * (size_t)l, sizeof *Z);   /* (n, l) */
    float *Uz = pr_malloc((size_t)n * (size_t)l, sizeof *Uz); /* (n, l) */
    float *Vzt = pr_malloc((size_t)l * (size_t)l, sizeof *Vzt); /* (l, l) */
    float *Sz = pr_malloc((size_t)l, sizeof *Sz);
    float *Ul = U ? pr_malloc((size_t)m * (size_t)l, sizeof *Ul) : NULL; /* (m, l) */
    if (!Q || !Z || !Uz || !Vzt || !Sz || (U && !Ul)) {
        rc = pr_err(err, PR_E_NOMEM, "svd: (%lld, %lld) rank %d", (long long)m, (long long)n, k);
        goto done;
    }
    pr_rng g;
    pr_rng_init(&g, o->seed, 0x5bd1e995u);
    for (int64_t i = 0; i < n * l; i++) Z[i] = pr_rng_normal(&g); /* Omega (n, l) */
    A->mul(A, Z, l, Q, pool);                                     /* Q (m, l) = A Omega */
    if ((rc = pr_orthonormalize(Q, m, l, err))) goto done;
    for (int it = 0; it < o->power_iters; it++) {
        A->tmul(A, Q, l, Z, pool); /* Z (n, l) = A^T Q */
        if ((rc = pr_orthonormalize(Z, n, l, err))) goto done;
        A->mul(A, Z, l, Q, pool); /* Q (m, l) = A Z */
        if ((rc = pr_orthonormalize(Q, m, l, err))) goto done;
    }
    A->tmul(A, Q, l, Z, pool); /* Z (n, l) = A^T Q = B^T, B = Q^T A (l, n) */
    lapack_int info = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, 'S', (lapack_int)n, l, Z, l, Sz, Uz, l, Vzt, l);
    if (info != 0) {
        rc = pr_err(err, info == LAPACK_WORK_MEMORY_ERROR ? PR_E_NOMEM : PR_E_NUMERIC,
                    "svd: LAPACK sgesdd info %d", (int)info);
        goto done;
    }
    /* B = Z^T = Vz S Uz^T: right vectors of A are Uz, left vectors Q Vz */
    if (Ul) pr_gemm(PR_NOTRANS, PR_TRANS, (int)m, l, l, 1.0f, Q, l, Vzt, l, 0.0f, Ul, l); /* (m, l) */
    fix_signs(Ul, m, Uz, n, k, l, l);
    for (int j = 0; j < k; j++) {
        if (S) S[j] = Sz[j];
        for (int64_t i = 0; V && i < n; i++) V[i * k + j] = Uz[i * l + j];
        for (int64_t i = 0; U && i < m; i++) U[i * k + j] = Ul[i * l + j];
    }
done:
    free(Q);
    free(Z);
    free(Uz);
    free(Vzt);
    free(Sz);
    free(Ul);
    return rc;
}
