/* features/svd.h: randomized truncated SVD of an operator (Halko, Martinsson
 * and Tropp, "Finding structure with randomness", SIAM Review 2011, Alg. 4.4).
 *
 * A (m, n) is seen only through two products, Y = A X and Y = A^T X with thin
 * dense X, so the same code factors a dense matrix (PCA) and a huge sparse
 * document-term matrix (LSA) without ever densifying it:
 *   1. Omega (n, l) Gaussian from the seed, l = k + oversample (<= min(m, n))
 *   2. Q = orth(A Omega); then `power_iters` times: Q = orth(A orth(A^T Q))
 *      (QR re-orthonormalisation, LAPACKE sgeqrf + sorgqr, at every step)
 *   3. Z = A^T Q (n, l) = B^T; small SVD Z = Uz S Vz^T (LAPACKE sgesdd)
 *   4. V = Uz[:, :k], U = Q Vz[:, :k], singular values S[:k]
 * Signs are fixed so that the largest-magnitude entry of each column of V is
 * positive: the result depends only on (A, k, oversample, power_iters, seed).
 *
 * Costs: (2 + 2 q) products with l columns, plus O((m + n) l^2) for the QRs
 * and the small SVD; memory O((m + n) l). */
#ifndef PR_FEATURES_SVD_H
#define PR_FEATURES_SVD_H

#include <stdint.h>

#include "core/csr.h"
#include "core/err.h"
#include "core/pool.h"

typedef struct pr_linop pr_linop;
struct pr_linop {
    int64_t m, n;            /* the operator is A (m, n) */
    const void *ctx, *ctx_t; /* borrowed: what mul and tmul read */
    /* Y (m, l) = A . X (n, l), row-major */
    void (*mul)(const pr_linop *op, const float *X, int l, float *Y, pr_pool *pool);
    /* Y (n, l) = A^T . X (m, l), row-major */
    void (*tmul)(const pr_linop *op, const float *X, int l, float *Y, pr_pool *pool);
};

/* A dense row-major A (m, n), borrowed; products through BLAS. */
void pr_linop_dense(pr_linop *op, const float *A, int64_t m, int64_t n);
/* A sparse A and its transpose At (n, m), both borrowed; products threaded
 * over output rows on the pool (each row summed by one thread in index order,
 * so results do not depend on the thread count). */
void pr_linop_csr(pr_linop *op, const pr_csr *A, const pr_csr *At);

typedef struct pr_rsvd_opts {
    int k;            /* rank wanted, 1 <= k <= min(m, n) */
    int oversample;   /* extra columns of the sketch; 10 is the usual choice */
    int power_iters;  /* 2-4 for slowly decaying spectra (text) */
    uint64_t seed;
} pr_rsvd_opts;

/* Top-k singular triplets of A. Outputs (caller storage, any may be NULL):
 * U (m, k), S (k) descending, V (n, k) -- A ~ U diag(S) V^T.
 * Errors: PR_E_ARG for a bad k, PR_E_NOMEM, PR_E_NUMERIC if LAPACK fails. */
int pr_rsvd(const pr_linop *A, const pr_rsvd_opts *o, pr_pool *pool, float *U, float *S,
            float *V, pr_error *err);

/* Orthonormalise the columns of Y (m, l), m >= l, in place (thin Q of QR). */
int pr_orthonormalize(float *Y, int64_t m, int l, pr_error *err);

#endif
