/* tests/core/test_spmm.c: SpMM against the naive reference, bit-identical
 * across thread counts, its transpose as a gradient, the bipartite graph by
 * hand, normalisation, and layer-mean propagation. */
#include <math.h>

#include "core/csr.h"
#include "core/pool.h"
#include "core/rng.h"
#include "core/spmm.h"
#include "t.h"

/* A random (n_rows, n_cols) CSR with ~density nonzeros and a few heavy rows. */
static pr_csr *rand_csr(int32_t nr, int32_t nc, double density, int with_val, uint64_t seed) {
    pr_rng r;
    pr_rng_init(&r, seed, 1);
    int64_t cap = (int64_t)(nr * (double)nc * density) + 4 * nc + 1, n = 0;
    int32_t *ri = malloc((size_t)cap * sizeof *ri), *ci = malloc((size_t)cap * sizeof *ci);
    float *v = malloc((size_t)cap * sizeof *v);
    for (int32_t i = 0; i < nr; i++) {
        double dens = i % 17 == 3 ? 0.8 : density; /* heavy rows stress the nnz split */
        for (int32_t j = 0; j < nc && n < cap; j++)
            if (pr_rng_double(&r) < dens) {
                ri[n] = i;
                ci[n] = j;
                v[n] = pr_rng_float(&r) * 2 - 1;
                n++;
            }
    }
    pr_csr *m = NULL;
    pr_csr_from_coo(nr, nc, n, ri, ci, with_val ? v : NULL, &m, NULL);
    free(ri);
    free(ci);
    free(v);
    return m;
}

static float *rand_mat(int64_t n, uint64_t seed) {
    pr_rng r;
    pr_rng_init(&r, seed, 2);
    float *x = malloc((size_t)n * sizeof *x);
    for (int64_t k = 0; k < n; k++) x[k] = pr_rng_float(&r) * 2 - 1;
    return x;
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0;
    for (int64_t k = 0; k < n; k++) m = fmax(m, fabs((double)a[k] - b[k]));
    return m;
}

TEST(test_spmm_matches_naive) {
    int ds[] = {1, 3, 64, 300};
    for (int t = 0; t < 4; t++) {
        int d = ds[t];
        for (int wv = 0; wv < 2; wv++) {
            pr_csr *A = rand_csr(57, 41, 0.1, wv, 10 + t);
            float *X = rand_mat((int64_t)41 * d, 3), *Y = rand_mat((int64_t)57 * d, 4);
            float *Yr = malloc((size_t)57 * d * sizeof *Yr);
            memcpy(Yr, Y, (size_t)57 * d * sizeof *Yr);
            pr_pool *pool = pr_pool_new(3);
            pr_spmm(pool, A, X, d, 0.5f, -2.0f, Y);
            pr_spmm_naive(A, X, d, 0.5f, -2.0f, Yr);
            CHECK(max_abs_diff(Y, Yr, (int64_t)57 * d) < 1e-5);
            /* beta = 0 ignores NaN in Y */
            for (int64_t k = 0; k < (int64_t)57 * d; k++) Y[k] = NAN;
            pr_spmm(pool, A, X, d, 1.0f, 0.0f, Y);
            pr_spmm_naive(A, X, d, 1.0f, 0.0f, Yr);
            CHECK(max_abs_diff(Y, Yr, (int64_t)57 * d) < 1e-5);
            pr_pool_free(pool);
            pr_csr_free(A);
            free(X);
            free(Y);
            free(Yr);
        }
    }
}

TEST(test_spmm_bit_identical_across_threads) {
    pr_csr *A = rand_csr(300, 300, 0.05, 1, 7);
    int d = 64;
    float *X = rand_mat(300 * d, 8);
    float *Y[4];
    for (int t = 1; t <= 4; t++) {
        pr_pool *pool = t == 1 ? NULL : pr_pool_new(t);
        Y[t - 1] = malloc((size_t)300 * d * sizeof(float));
        pr_spmm(pool, A, X, d, 1.0f, 0.0f, Y[t - 1]);
        pr_pool_free(pool);
    }
    for (int t = 1; t < 4; t++) CHECK(memcmp(Y[0], Y[t], (size_t)300 * d * sizeof(float)) == 0);
    for (int t = 0; t < 4; t++) free(Y[t]);
    pr_csr_free(A);
    free(X);
}

/* f(X) = <W, A X>: df/dX = A^T W, by the transpose kernel and by central
 * differences in double. */
TEST(test_spmm_transpose_is_the_gradient) {
    int d = 5;
    pr_csr *A = rand_csr(9, 7, 0.3, 1, 21), *At = NULL;
    CHECK_EQ_INT(pr_csr_transpose(A, &At, NULL), 0);
    float *X = rand_mat(7 * d, 1), *W = rand_mat(9 * d, 2);
    float *g = malloc(7 * (size_t)d * sizeof *g), *gr = calloc(7 * (size_t)d, sizeof *gr);
    float Y[9 * 5];
    pr_spmm(NULL, At, W, d, 1.0f, 0.0f, g);
    pr_spmm_t_naive(A, W, d, gr);
    CHECK(max_abs_diff(g, gr, 7 * d) < 1e-6);
    double worst = 0;
    for (int k = 0; k < 7 * d; k++) {
        float keep = X[k];
        double f[2];
        for (int s = 0; s < 2; s++) {
            X[k] = keep + (s ? -1e-2f : 1e-2f);
            pr_spmm_naive(A, X, d, 1.0f, 0.0f, Y);
            f[s] = 0;
            for (int q = 0; q < 9 * d; q++) f[s] += (double)W[q] * Y[q];
        }
        X[k] = keep;
        double num = (f[0] - f[1]) / 2e-2;
        worst = fmax(worst, fabs(num - g[k]) / fmax(1e-3, fabs(num) + fabs(g[k])));
    }
    CHECK(worst < 1e-3);
    free(X);
    free(W);
    free(g);
    free(gr);
    pr_csr_free(A);
    pr_csr_free(At);
}

static float entry(const pr_csr *A, int32_t r, int32_t c) {
    for (int64_t p = A->indptr[r]; p < A->indptr[r + 1]; p++)
        if (A->indices[p] == c) return A->val[p];
    return 0.0f;
}

static int rows_sorted(const pr_csr *A) {
    for (int32_t r = 0; r < A->n_rows; r++)
        for (int64_t p = A->indptr[r] + 1; p < A->indptr[r + 1]; p++)
            if (A->indices[p] <= A->indices[p - 1]) return 0;
    return 1;
}

TEST(test_bipartite_graph_by_hand) {
    /* users: u0 {i0, i1}, u1 {i1}; item i2 has no edge.
     * degrees u0 2, u1 1, i0 1, i1 2, i2 0; nodes u0 u1 | i0 i1 i2 = 0 1 | 2 3 4 */
    int32_t ru[] = {0, 0, 1}, ri[] = {0, 1, 1};
    pr_csr *R = NULL, *A = NULL;
    pr_csr_from_coo(2, 3, 3, ru, ri, NULL, &R, NULL);
    CHECK_EQ_INT(pr_adj_build(R, 0, PR_NORM_SYM, &A, NULL), 0);
    CHECK_EQ_INT(A->n_rows, 5);
    CHECK_EQ_INT(A->nnz, 6);
    CHECK(rows_sorted(A));
    CHECK_NEAR(entry(A, 0, 2), 1 / sqrt(2.0), 1e-7);
    CHECK_NEAR(entry(A, 0, 3), 0.5, 1e-7);
    CHECK_NEAR(entry(A, 1, 3), 1 / sqrt(2.0), 1e-7);
    CHECK_NEAR(entry(A, 3, 0), 0.5, 1e-7);
    CHECK_NEAR(entry(A, 3, 1), 1 / sqrt(2.0), 1e-7);
    CHECK_EQ_INT(pr_csr_row_len(A, 4), 0);
    /* pruning: drop R's nonzero 1 = (u0, i1): u0 and i0 keep degree 1 */
    uint8_t keep[] = {1, 0, 1};
    pr_adj_fill(R, keep, 0, PR_NORM_SYM, A);
    CHECK_EQ_INT(A->nnz, 4);
    CHECK_NEAR(entry(A, 0, 2), 1.0, 1e-7);
    CHECK_NEAR(entry(A, 0, 3), 0.0, 0);
    CHECK_NEAR(entry(A, 3, 1), 1.0, 1e-7);
    pr_csr_free(A);
    /* self loops + row normalisation: D^-1 (A + I); u0 has degree 3 */
    CHECK_EQ_INT(pr_adj_build(R, 1, PR_NORM_ROW, &A, NULL), 0);
    CHECK_EQ_INT(A->nnz, 11);
    CHECK(rows_sorted(A));
    CHECK_NEAR(entry(A, 0, 0), 1 / 3.0, 1e-7);
    CHECK_NEAR(entry(A, 0, 3), 1 / 3.0, 1e-7);
    CHECK_NEAR(entry(A, 2, 0), 0.5, 1e-7);
    CHECK_NEAR(entry(A, 4, 4), 1.0, 1e-7);
    pr_csr_free(A);
    pr_csr_free(R);
}

TEST(test_normalize_by_hand) {
    /* [[0 2 2], [1 0 0], [0 3 0]]: row sums 4, 1, 3 */
    int32_t r[] = {0, 0, 1, 2}, c[] = {1, 2, 0, 1};
    float v[] = {2, 2, 1, 3};
    pr_csr *A = NULL;
    pr_csr_from_coo(3, 3, 4, r, c, v, &A, NULL);
    CHECK_EQ_INT(pr_csr_normalize(A, PR_NORM_SYM, 0, NULL), 0);
    CHECK_NEAR(entry(A, 0, 1), 2 / sqrt(4.0 * 1), 1e-6);
    CHECK_NEAR(entry(A, 0, 2), 2 / sqrt(4.0 * 3), 1e-6);
    CHECK_NEAR(entry(A, 2, 1), 3 / sqrt(3.0 * 1), 1e-6);
    pr_csr_free(A);
    pr_csr_from_coo(3, 3, 4, r, c, v, &A, NULL);
    CHECK_EQ_INT(pr_csr_normalize(A, PR_NORM_ROW, 1, NULL), 0); /* binary: ones, then 1/row count */
    CHECK_NEAR(entry(A, 0, 1), 0.5, 1e-7);
    CHECK_NEAR(entry(A, 1, 0), 1.0, 1e-7);
    pr_csr_free(A);
    pr_csr *B = NULL;
    pr_csr_from_coo(3, 2, 1, r, c, v, &B, NULL);
    pr_error err;
    CHECK_EQ_INT(pr_csr_normalize(B, PR_NORM_SYM, 0, &err), PR_E_ARG);
    pr_csr_free(B);
}

TEST(test_layer_mean_matches_explicit_powers) {
    int32_t nu = 30, ni = 20, d = 7;
    pr_csr *R = rand_csr(nu, ni, 0.15, 0, 5), *A = NULL;
    CHECK_EQ_INT(pr_adj_build(R, 0, PR_NORM_SYM, &A, NULL), 0);
    int64_t nd = (int64_t)(nu + ni) * d;
    float *X = rand_mat(nd, 9), *out = malloc((size_t)nd * sizeof *out), *tmp = malloc(2 * (size_t)nd * sizeof *tmp);
    float *p1 = malloc((size_t)nd * sizeof *p1), *p2 = malloc((size_t)nd * sizeof *p2), *p3 = malloc((size_t)nd * sizeof *p3);
    pr_spmm_naive(A, X, d, 1, 0, p1);
    pr_spmm_naive(A, p1, d, 1, 0, p2);
    pr_spmm_naive(A, p2, d, 1, 0, p3);
    pr_pool *pool = pr_pool_new(2);
    for (int L = 0; L <= 3; L++) {
        pr_spmm_layer_mean(pool, A, L, X, d, tmp, out);
        double worst = 0;
        for (int64_t k = 0; k < nd; k++) {
            double ref = X[k] + (L >= 1 ? p1[k] : 0) + (L >= 2 ? p2[k] : 0) + (L >= 3 ? p3[k] : 0);
            worst = fmax(worst, fabs(ref / (L + 1) - out[k]));
        }
        CHECK(worst < 1e-5);
    }
    pr_pool_free(pool);
    free(X);
    free(out);
    free(tmp);
    free(p1);
    free(p2);
    free(p3);
    pr_csr_free(A);
    pr_csr_free(R);
}

/* A star: user 0 has items 0..3; users 1..3 also have item 0, so item 0 has
 * degree 4 and items 1..3 degree 1: w(0,0) = 1/sqrt(4*4), w(0,i) = 1/sqrt(4*1).
 * With n_keep = 1 the kept edge is e with probability w_e / sum w. */
TEST(test_degree_sensitive_sampling) {
    int32_t ru[] = {0, 0, 0, 0, 1, 2, 3}, ri[] = {0, 1, 2, 3, 0, 0, 0};
    pr_csr *R = NULL;
    pr_csr_from_coo(4, 4, 7, ru, ri, NULL, &R, NULL);
    /* nonzeros in CSR order: (0,0) (0,1) (0,2) (0,3) (1,0) (2,0) (3,0) */
    double w[7] = {0.25, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, sw = 0;
    for (int e = 0; e < 7; e++) sw += w[e];
    uint8_t keep[7];
    int count[7] = {0}, trials = t_sanitized() ? 4000 : 20000;
    for (int t = 0; t < trials; t++) {
        CHECK_EQ_INT(pr_adj_sample_edges(R, 1, 42, (uint64_t)t, keep, NULL), 0);
        int kept = 0;
        for (int e = 0; e < 7; e++) {
            kept += keep[e];
            count[e] += keep[e];
        }
        if (kept != 1) { CHECK_EQ_INT(kept, 1); break; }
    }
    for (int e = 0; e < 7; e++) {
        double p = w[e] / sw, sd = sqrt(p * (1 - p) / trials);
        CHECK_NEAR((double)count[e] / trials, p, 5 * sd);
    }
    /* keep 5 of 7: exactly 5, reproducible for a seed and stream */
    uint8_t k2[7];
    pr_adj_sample_edges(R, 5, 1, 2, keep, NULL);
    pr_adj_sample_edges(R, 5, 1, 2, k2, NULL);
    int kept = 0;
    for (int e = 0; e < 7; e++) kept += keep[e];
    CHECK_EQ_INT(kept, 5);
    CHECK(memcmp(keep, k2, 7) == 0);
    pr_csr_free(R);
}

int main(void) {
    RUN(test_spmm_matches_naive);
    RUN(test_spmm_bit_identical_across_threads);
    RUN(test_spmm_transpose_is_the_gradient);
    RUN(test_bipartite_graph_by_hand);
    RUN(test_normalize_by_hand);
    RUN(test_layer_mean_matches_explicit_powers);
    RUN(test_degree_sensitive_sampling);
    return t_done();
}
