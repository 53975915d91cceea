/* tests/features/test_knn_graph.c: tiled k-NN graphs against brute force, by
 * hand, across thread counts; fusion; single queries. */
#include <math.h>

#include "core/pool.h"
#include "core/rng.h"
#include "core/spmm.h"
#include "features/knn_graph.h"
#include "t.h"

static float *rand_feat(int32_t n, int dim, uint64_t seed) {
    pr_rng r;
    pr_rng_init(&r, seed, 3);
    float *X = malloc((size_t)n * dim * sizeof *X);
    for (int64_t k = 0; k < (int64_t)n * dim; k++) X[k] = pr_rng_normal(&r);
    return X;
}

static float entry(const pr_csr *A, int32_t r, int32_t c) {
    for (int64_t p = A->indptr[r]; p < A->indptr[r + 1]; p++)
        if (A->indices[p] == c) return A->val[p];
    return NAN;
}

/* Same rows, same neighbours (where the k-th similarity is not a near tie),
 * same similarities to 1e-5. Returns the number of mismatching rows. */
static int compare(const pr_csr *A, const pr_csr *B) {
    int bad = 0;
    for (int32_t r = 0; r < A->n_rows; r++) {
        int64_t la = pr_csr_row_len(A, r), lb = pr_csr_row_len(B, r);
        if (la != lb) { bad++; continue; }
        for (int64_t p = A->indptr[r], q = B->indptr[r]; p < A->indptr[r + 1]; p++, q++) {
            if (A->indices[p] == B->indices[q] && fabsf(A->val[p] - B->val[q]) < 1e-5f) continue;
            /* a swapped near tie at the boundary is fine: the value must then
             * match the smallest one kept by the other side */
            float va = A->val[p], minb = INFINITY;
            for (int64_t s = B->indptr[r]; s < B->indptr[r + 1]; s++) minb = fminf(minb, B->val[s]);
            if (fabsf(va - minb) > 1e-5f) { bad++; break; }
        }
    }
    return bad;
}

TEST(test_knn_by_hand) {
    /* 2-D points: 0 (1,0), 1 (1,0.1), 2 (0,1), 3 (0,0) missing, 4 (-1,0) */
    float X[] = {1, 0, 1, 0.1f, 0, 1, 0, 0, -1, 0};
    pr_knn_opts o;
    pr_knn_opts_default(&o);
    o.k = 2;
    pr_csr *S = NULL;
    CHECK_EQ_INT(pr_knn_build(X, 5, 2, &o, NULL, &S, NULL), 0);
    CHECK_EQ_INT(pr_csr_row_len(S, 0), 2); /* itself and 1 */
    CHECK_NEAR(entry(S, 0, 0), 1.0, 1e-6);
    CHECK_NEAR(entry(S, 0, 1), 1 / sqrt(1.01), 1e-6);
    CHECK_EQ_INT(pr_csr_row_len(S, 3), 0); /* zero row: no neighbours */
    for (int32_t r = 0; r < 5; r++)
        for (int64_t p = S->indptr[r]; p < S->indptr[r + 1]; p++) CHECK(S->indices[p] != 3);
    /* 2: itself, then 1 (cos 0.1/sqrt(1.01)) beats 0 (cos 0) */
    CHECK_NEAR(entry(S, 2, 1), 0.1 / sqrt(1.01), 1e-6);
    CHECK(isnan(entry(S, 2, 0)));
    pr_csr_free(S);
    /* without self: 0's neighbours are 1 and 2 (cos 0 beats cos -1 of item 4) */
    o.self = 0;
    CHECK_EQ_INT(pr_knn_build(X, 5, 2, &o, NULL, &S, NULL), 0);
    CHECK(isnan(entry(S, 0, 0)));
    CHECK_NEAR(entry(S, 0, 2), 0.0, 1e-6);
    /* FREEDOM's normalisation: binary, symmetric by row sums = k: every value 1/k */
    CHECK_EQ_INT(pr_csr_normalize(S, PR_NORM_SYM, 1, NULL), 0);
    CHECK_NEAR(entry(S, 0, 1), 0.5, 1e-7);
    pr_csr_free(S);
    o.k = 0;
    pr_error err;
    CHECK_EQ_INT(pr_knn_build(X, 5, 2, &o, NULL, &S, &err), PR_E_ARG);
}

TEST(test_knn_tiled_matches_brute_force) {
    int32_t n = t_sanitized() ? 150 : 400;
    int dim = 24;
    float *X = rand_feat(n, dim, 11);
    memset(X + 7 * dim, 0, (size_t)dim * sizeof *X); /* a missing item */
    uint8_t *cand = malloc((size_t)n);
    for (int32_t i = 0; i < n; i++) cand[i] = i % 5 != 1;
    for (int variant = 0; variant < 3; variant++) {
        pr_knn_opts o;
        pr_knn_opts_default(&o);
        o.k = 9;
        o.row_block = 16; /* small tiles: many merges per row */
        o.col_block = 37;
        o.self = variant != 1;
        o.cand = variant == 2 ? cand : NULL;
        pr_csr *A = NULL, *B = NULL;
        pr_pool *pool = pr_pool_new(2);
        CHECK_EQ_INT(pr_knn_build(X, n, dim, &o, pool, &A, NULL), 0);
        CHECK_EQ_INT(pr_knn_build_naive(X, n, dim, &o, &B, NULL), 0);
        CHECK_EQ_INT(A->nnz, B->nnz);
        CHECK_EQ_INT(compare(A, B), 0);
        CHECK_EQ_INT(pr_csr_row_len(A, 7), 0);
        if (variant == 2)
            for (int64_t p = 0; p < A->nnz; p++) CHECK(cand[A->indices[p]]);
        if (variant == 1)
            for (int32_t r = 0; r < n; r++) CHECK(isnan(entry(A, r, r)));
        pr_pool_free(pool);
        pr_csr_free(A);
        pr_csr_free(B);
    }
    free(cand);
    free(X);
}

TEST(test_knn_bit_identical_across_threads) {
    int32_t n = 257;
    int dim = 16;
    float *X = rand_feat(n, dim, 5);
    pr_knn_opts o;
    pr_knn_opts_default(&o);
    o.k = 5;
    o.row_block = 8;
    o.col_block = 64;
    pr_csr *S[3];
    for (int t = 0; t < 3; t++) {
        pr_pool *pool = t ? pr_pool_new(t + 1) : NULL;
        CHECK_EQ_INT(pr_knn_build(X, n, dim, &o, pool, &S[t], NULL), 0);
        pr_pool_free(pool);
    }
    for (int t = 1; t < 3; t++) {
        CHECK_EQ_INT(S[t]->nnz, S[0]->nnz);
        CHECK(memcmp(S[t]->indices, S[0]->indices, (size_t)S[0]->nnz * 4) == 0);
        CHECK(memcmp(S[t]->val, S[0]->val, (size_t)S[0]->nnz * 4) == 0);
    }
    for (int t = 0; t < 3; t++) pr_csr_free(S[t]);
    free(X);
}

TEST(test_fuse_by_hand) {
    /* G0: (0,1)=1 (1,0)=2; G1: (0,1)=4 (0,2)=8; out = 0.25 G0 + 0.5 G1 */
    int32_t r0[] = {0, 1}, c0[] = {1, 0}, r1[] = {0, 0}, c1[] = {1, 2};
    float v0[] = {1, 2}, v1[] = {4, 8};
    pr_csr *G0 = NULL, *G1 = NULL, *F = NULL;
    pr_csr_from_coo(3, 3, 2, r0, c0, v0, &G0, NULL);
    pr_csr_from_coo(3, 3, 2, r1, c1, v1, &G1, NULL);
    const pr_csr *G[] = {G0, G1};
    float w[] = {0.25f, 0.5f};
    CHECK_EQ_INT(pr_csr_fuse(G, w, 2, &F, NULL), 0);
    CHECK_EQ_INT(F->nnz, 3);
    CHECK_NEAR(entry(F, 0, 1), 0.25 + 2, 1e-7);
    CHECK_NEAR(entry(F, 0, 2), 4, 1e-7);
    CHECK_NEAR(entry(F, 1, 0), 0.5, 1e-7);
    CHECK(F->indices[0] == 1 && F->indices[1] == 2);
    pr_csr_free(F);
    pr_csr *bad = NULL;
    pr_csr_from_coo(2, 3, 0, r0, c0, NULL, &bad, NULL);
    const pr_csr *H[] = {G0, bad};
    pr_error err;
    CHECK_EQ_INT(pr_csr_fuse(H, w, 2, &F, &err), PR_E_ARG);
    pr_csr_free(bad);
    pr_csr_free(G0);
    pr_csr_free(G1);
}

TEST(test_query_matches_graph_row) {
    int32_t n = 120;
    int dim = 10;
    float *X = rand_feat(n, dim, 17);
    pr_knn_opts o;
    pr_knn_opts_default(&o);
    o.k = 6;
    pr_csr *S = NULL;
    CHECK_EQ_INT(pr_knn_build(X, n, dim, &o, NULL, &S, NULL), 0);
    float *Xn = pr_rows_l2(X, n, dim);
    int32_t idx[6];
    float sim[6];
    float x[10];
    for (int q = 0; q < dim; q++) x[q] = 3.0f * X[33 * dim + q]; /* any scale */
    CHECK_EQ_INT(pr_knn_query(Xn, n, dim, NULL, x, 6, idx, sim), 6);
    CHECK_EQ_INT(idx[0], 33);
    CHECK_NEAR(sim[0], 1.0, 1e-5);
    for (int q = 0; q < 6; q++) CHECK_NEAR(entry(S, 33, idx[q]), sim[q], 1e-5);
    float zero[10] = {0};
    CHECK_EQ_INT(pr_knn_query(Xn, n, dim, NULL, zero, 6, idx, sim), 0);
    pr_free_aligned(Xn);
    pr_csr_free(S);
    free(X);
}

int main(void) {
    RUN(test_knn_by_hand);
    RUN(test_knn_tiled_matches_brute_force);
    RUN(test_knn_bit_identical_across_threads);
    RUN(test_fuse_by_hand);
    RUN(test_query_matches_graph_row);
    return t_done();
}
