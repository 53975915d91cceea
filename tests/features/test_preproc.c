/* tests/features/test_preproc.c: randomized SVD, PCA against a brute-force
 * eigen-decomposition, z-score / L2 by hand, pipelines (save/load bit-identity,
 * one row == batch row) and compact float16 / int8 storage. */
#include <lapacke.h>
#include <stdint.h>

#include "core/csr.h"
#include "core/mat.h"
#include "core/npy.h"
#include "core/rng.h"
#include "features/preproc.h"
#include "features/svd.h"
#include "t.h"

static float *randn(int64_t n, uint64_t seed) {
    float *x = malloc(sizeof *x * (size_t)n);
    pr_rng g;
    pr_rng_init(&g, seed, 9);
    for (int64_t i = 0; i < n; i++) x[i] = pr_rng_normal(&g);
    return x;
}

/* A (m, n) = U0 diag(s) V0^T + noise, U0 and V0 orthonormal (m, r) and (n, r). */
TEST(test_svd_planted) {
    int m = 300, n = 200, r = 5;
    float s[5] = {50, 30, 20, 10, 5};
    float *U0 = randn(m * r, 1), *V0 = randn(n * r, 2), *A = randn(m * n, 3);
    pr_error err = {0};
    CHECK_EQ_INT(pr_orthonormalize(U0, m, r, &err), 0);
    CHECK_EQ_INT(pr_orthonormalize(V0, n, r, &err), 0);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double v = 1e-4 * A[i * n + j];
            for (int c = 0; c < r; c++) v += (double)U0[i * r + c] * s[c] * V0[j * r + c];
            A[i * n + j] = (float)v;
        }
    float S[5], *U = malloc(sizeof(float) * m * r), *V = malloc(sizeof(float) * n * r);
    pr_linop op;
    pr_linop_dense(&op, A, m, n);
    pr_rsvd_opts o = {5, 10, 2, 42};
    CHECK_EQ_INT(pr_rsvd(&op, &o, NULL, U, S, V, &err), 0);
    for (int c = 0; c < r; c++) {
        CHECK_NEAR(S[c], s[c], 1e-3 * s[c]);
        double du = 0, dv = 0, vmax = 0, vsgn = 0;
        for (int i = 0; i < m; i++) du += (double)U[i * r + c] * U0[i * r + c];
        for (int j = 0; j < n; j++) {
            dv += (double)V[j * r + c] * V0[j * r + c];
            if (fabs(V[j * r + c]) > vmax) vmax = fabs(V[j * r + c]), vsgn = V[j * r + c];
        }
        CHECK(fabs(du) > 0.9999 && fabs(dv) > 0.9999);
        CHECK(du * dv > 0); /* U and V flipped together */
        CHECK(vsgn > 0);    /* sign convention */
    }
    /* bad ranks */
    o.k = 0;
    CHECK_EQ_INT(pr_rsvd(&op, &o, NULL, U, S, V, &err), PR_E_ARG);
    o.k = 201;
    CHECK_EQ_INT(pr_rsvd(&op, &o, NULL, U, S, V, &err), PR_E_ARG);
    free(U0), free(V0), free(A), free(U), free(V);
}

/* A sparse matrix through the CSR operator: same answer as the dense
 * operator, and the top singular values of a full LAPACK SVD. */
TEST(test_svd_sparse) {
    int m = 400, n = 300;
    pr_rng g;
    pr_rng_init(&g, 4, 4);
    float *D = calloc((size_t)m * n, sizeof *D);
    int32_t *ri = malloc(sizeof(int32_t) * m * n), *ci = malloc(sizeof(int32_t) * m * n);
    float *vals = malloc(sizeof(float) * m * n);
    int64_t nnz = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            if (pr_rng_below(&g, 100) < 5) {
                /* a planted block structure plus noise, like topics */
                float v = (float)(1 + pr_rng_below(&g, 3)) * ((i / 100) == (j / 75) ? 3.0f : 1.0f);
                D[i * n + j] = v;
                ri[nnz] = i, ci[nnz] = j, vals[nnz] = v, nnz++;
            }
    pr_csr *A = NULL, *At = NULL;
    pr_error err = {0};
    CHECK_EQ_INT(pr_csr_from_coo(m, n, nnz, ri, ci, vals, &A, &err), 0);
    CHECK_EQ_INT(pr_csr_transpose(A, &At, &err), 0);
    pr_pool *pool = pr_pool_new(2);
    pr_linop sop, dop;
    pr_linop_csr(&sop, A, At);
    pr_linop_dense(&dop, D, m, n);
    int k = 8;
    float Ss[8], Sd[8], *Vs = malloc(sizeof(float) * n * k), *Vd = malloc(sizeof(float) * n * k);
    pr_rsvd_opts o = {k, 10, 4, 7};
    CHECK_EQ_INT(pr_rsvd(&sop, &o, pool, NULL, Ss, Vs, &err), 0);
    CHECK_EQ_INT(pr_rsvd(&dop, &o, NULL, NULL, Sd, Vd, &err), 0);
    for (int c = 0; c < k; c++) CHECK_NEAR(Ss[c], Sd[c], 1e-4 * Sd[0]);
    /* full SVD reference */
    float *Dc = malloc(sizeof(float) * m * n), *Sf = malloc(sizeof(float) * n);
    memcpy(Dc, D, sizeof(float) * m * n);
    /* row-major (m, n) is column-major (n, m): same singular values */
    CHECK_EQ_INT(LAPACKE_sgesdd(LAPACK_COL_MAJOR, 'N', n, m, Dc, n, Sf, NULL, 1, NULL, 1), 0);
    /* the first value stands alone (the dense background); the rest form a
     * nearly flat bulk (35.9, 33.2, 32.9, 32.0, ...) where a sketch is known
     * to underestimate slightly */
    CHECK_NEAR(Ss[0], Sf[0], 1e-4 * Sf[0]);
    for (int c = 1; c < k; c++) {
        CHECK(Ss[c] <= Sf[c] * 1.0001f);
        CHECK_NEAR(Ss[c], Sf[c], (c < 6 ? 2e-2 : 4e-2) * Sf[c]);
    }
    pr_pool_free(pool);
    pr_csr_free(A), pr_csr_free(At);
    free(D), free(ri), free(ci), free(vals), free(Vs), free(Vd), free(Dc), free(Sf);
}

/* PCA against the eigen-decomposition of the covariance (LAPACKE ssyevd). */
TEST(test_pca_vs_eig) {
    int n = 400, d = 12, k = 4;
    float *Z = randn(n * d, 5), *R = randn(d * d, 6), *X = malloc(sizeof(float) * n * d);
    pr_error err = {0};
    CHECK_EQ_INT(pr_orthonormalize(R, d, d, &err), 0);
    for (int j = 0; j < d; j++) /* column scales 12, 11, ..., 1: distinct variances */
        for (int i = 0; i < n; i++) Z[i * d + j] *= (float)(d - j);
    /* X = Z R^T + offset */
    pr_gemm_naive(PR_NOTRANS, PR_TRANS, n, d, d, 1.0f, Z, d, R, d, 0.0f, X, d);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) X[i * d + j] += 10.0f + j;
    float mean[12], W[12 * 4], var[4];
    double tv = 0;
    CHECK_EQ_INT(pr_pca_fit(X, n, d, k, 3, NULL, mean, W, var, &tv, &err), 0);
    /* brute force: covariance in double, eigenvectors by ssyevd */
    double mu[12] = {0};
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mu[j] += X[i * d + j] / (double)n;
    float C[144], ev[12];
    double tr = 0;
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += (X[i * d + a] - mu[a]) * (X[i * d + b] - mu[b]);
            C[a * d + b] = (float)(s / (n - 1));
            if (a == b) tr += s / (n - 1);
        }
    CHECK_EQ_INT(LAPACKE_ssyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, C, d, ev), 0);
    for (int j = 0; j < d; j++) CHECK_NEAR(mean[j], mu[j], 1e-4 * fabs(mu[j]));
    CHECK_NEAR(tv, tr, 1e-4 * tr);
    double explained = 0;
    for (int c = 0; c < k; c++) {
        int e = d - 1 - c; /* ssyevd sorts ascending */
        CHECK_NEAR(var[c], ev[e], 2e-3 * ev[e]);
        double dot = 0;
        for (int j = 0; j < d; j++) dot += (double)W[j * k + c] * C[j * d + e];
        CHECK(fabs(dot) > 0.999);
        explained += var[c];
    }
    double ref = 0;
    for (int c = 0; c < k; c++) ref += ev[d - 1 - c];
    CHECK_NEAR(explained / tv, ref / tr, 1e-3); /* explained-variance ratio */
    free(Z), free(R), free(X);
}

TEST(test_zscore_l2_by_hand) {
    float X[8] = {1, 2, 3, 4, 5, 9, 7, 7};
    pr_preproc *p = NULL;
    pr_error err = {0};
    float y[2];
    CHECK_EQ_INT(pr_preproc_new("zscore", 2, 1, &p, &err), 0);
    int32_t rows[3] = {0, 1, 2};
    CHECK_EQ_INT(pr_preproc_fit(p, X, 4, rows, 3, NULL, &err), 0);
    CHECK_EQ_INT(pr_preproc_apply(p, X, 1, NULL, y, NULL, &err), 0);
    /* mean (3, 5); population std (sqrt(8/3), sqrt(26/3)) */
    CHECK_NEAR(y[0], -2.0 / sqrt(8.0 / 3.0), 1e-6);
    CHECK_NEAR(y[1], -3.0 / sqrt(26.0 / 3.0), 1e-6);
    pr_preproc_free(p);
    /* fit on a subset only: rows 0 and 3 -> mean (4, 4.5) */
    CHECK_EQ_INT(pr_preproc_new("center", 2, 1, &p, &err), 0);
    int32_t sub[2] = {0, 3};
    CHECK_EQ_INT(pr_preproc_fit(p, X, 4, sub, 2, NULL, &err), 0);
    CHECK_EQ_INT(pr_preproc_apply(p, X + 2, 1, NULL, y, NULL, &err), 0);
    CHECK_NEAR(y[0], -1.0, 1e-6);
    CHECK_NEAR(y[1], -0.5, 1e-6);
    pr_preproc_free(p);
    /* L2 then a constant column under zscore (std 0: only centred) */
    float Y[6] = {3, 4, 1, 0, 0, 1};
    CHECK_EQ_INT(pr_preproc_new(" l2 , zscore ", 2, 1, &p, &err), 0);
    CHECK_EQ_INT(pr_preproc_fit(p, Y, 1, NULL, 0, NULL, &err), 0);
    CHECK_EQ_INT(pr_preproc_apply(p, Y, 1, NULL, y, NULL, &err), 0);
    CHECK(y[0] == 0.0f && y[1] == 0.0f);
    CHECK_EQ_INT(pr_preproc_apply(p, Y + 2, 1, NULL, y, NULL, &err), 0);
    CHECK_NEAR(y[0], 1.0 - 0.6, 1e-6);
    CHECK_NEAR(y[1], 0.0 - 0.8, 1e-6);
    pr_preproc_free(p);
    CHECK_EQ_INT(pr_preproc_new("l2", 2, 1, &p, &err), 0);
    float zero[2] = {0, 0};
    CHECK_EQ_INT(pr_preproc_fit(p, Y, 3, NULL, 0, NULL, &err), 0);
    CHECK_EQ_INT(pr_preproc_apply(p, zero, 1, NULL, y, NULL, &err), 0);
    CHECK(y[0] == 0.0f && y[1] == 0.0f); /* zero row stays zero, no NaN */
    pr_preproc_free(p);
}

TEST(test_spec_errors) {
    pr_preproc *p = NULL;
    pr_error err = {0};
    const char *bad[] = {"pca=0", "foo", "pca=x", "l2,pca=", "zscore,,pca=70000"};
    for (int i = 0; i < 5; i++) {
        p = NULL;
        CHECK_EQ_INT(pr_preproc_new(bad[i], 4, 1, &p, &err), PR_E_ARG);
        CHECK(p == NULL);
        CHECK_CONTAINS(err.msg, "preproc");
    }
    CHECK_EQ_INT(pr_preproc_new("pca=2", 4, 1, &p, &err), 0);
    float X[8] = {0}, y[2];
    CHECK_EQ_INT(pr_preproc_apply(p, X, 1, NULL, y, NULL, &err), PR_E_STATE);
    X[3] = NAN;
    CHECK_EQ_INT(pr_preproc_fit(p, X, 2, NULL, 0, NULL, &err), PR_E_NUMERIC);
    CHECK_CONTAINS(err.msg, "row 0 column 3");
    pr_preproc_free(p);
}

TEST(test_pipeline_save_load) {
    int n = 500, d = 40, nfit = 300;
    float *X = randn(n * d, 8);
    for (int i = 0; i < n * d; i++) X[i] = X[i] * (1.0f + (float)(i % d)) + 3.0f;
    int32_t *rows = malloc(sizeof(int32_t) * nfit);
    for (int i = 0; i < nfit; i++) rows[i] = (i * 7) % n;
    pr_preproc *p = NULL, *q = NULL;
    pr_pool *pool = pr_pool_new(2);
    pr_error err = {0};
    CHECK_EQ_INT(pr_preproc_new("zscore,pca=8,l2", d, 99, &p, &err), 0);
    CHECK_EQ_INT(pr_preproc_fit(p, X, n, rows, nfit, pool, &err), 0);
    CHECK_EQ_INT(pr_preproc_dim(p), 8);
    uint8_t *miss = calloc((size_t)n, 1);
    miss[17] = 1;
    float *Y1 = malloc(sizeof(float) * n * 8), *Y2 = malloc(sizeof(float) * n * 8), y[8];
    CHECK_EQ_INT(pr_preproc_apply(p, X, n, miss, Y1, pool, &err), 0);
    for (int j = 0; j < 8; j++) CHECK(Y1[17 * 8 + j] == 0.0f);
    double nrm = 0;
    for (int j = 0; j < 8; j++) nrm += (double)Y1[3 * 8 + j] * Y1[3 * 8 + j];
    CHECK_NEAR(nrm, 1.0, 1e-5);
    /* one row alone (no pool) == the same row in a threaded batch */
    CHECK_EQ_INT(pr_preproc_apply(p, X + 123 * d, 1, NULL, y, NULL, &err), 0);
    CHECK(memcmp(y, Y1 + 123 * 8, sizeof y) == 0);
    pr_buf b;
    pr_buf_init(&b);
    CHECK_EQ_INT(pr_preproc_save(p, &b), 0);
    pr_cur c;
    pr_cur_init(&c, b.data, b.len, "pp");
    CHECK_EQ_INT(pr_preproc_load(&q, &c, &err), 0);
    CHECK_EQ_INT(pr_cur_left(&c), 0);
    if (q) {
        CHECK_STR(pr_preproc_spec(q), "zscore,pca=8,l2");
        CHECK_EQ_INT(pr_preproc_apply(q, X, n, miss, Y2, NULL, &err), 0);
        CHECK(memcmp(Y1, Y2, sizeof(float) * n * 8) == 0); /* bit-identical */
    }
    pr_preproc_free(q);
    /* every truncation of the saved state is an error, never a crash */
    int errors = 0;
    for (size_t len = 0; len < b.len; len += (len < 64 ? 1 : 97)) {
        q = NULL;
        pr_cur_init(&c, b.data, len, "pp");
        if (pr_preproc_load(&q, &c, &err) < 0 && !q) errors++;
        pr_preproc_free(q);
    }
    CHECK_EQ_INT(errors, 64 + (int)((b.len - 64 + 96) / 97));
    /* PCA K clamped to the number of fitting rows */
    pr_preproc_free(p);
    CHECK_EQ_INT(pr_preproc_new("pca=100", d, 1, &p, &err), 0);
    CHECK_EQ_INT(pr_preproc_fit(p, X, n, rows, 30, NULL, &err), 0);
    CHECK_EQ_INT(pr_preproc_dim(p), 30);
    pr_preproc_free(p);
    pr_buf_free(&b);
    pr_pool_free(pool);
    free(X), free(rows), free(miss), free(Y1), free(Y2);
}

TEST(test_modality_glue) {
    float *X = malloc(sizeof(float) * 4 * 2);
    float v[8] = {1, 1, 3, 3, 100, 100, 5, 5};
    memcpy(X, v, sizeof v);
    uint8_t *miss = calloc(4, 1);
    miss[2] = 1; /* the outlier is missing: must not be fitted on, stays zero */
    pr_modality m = {"image", 4, 2, X, miss};
    pr_preproc *p = NULL;
    pr_error err = {0};
    CHECK_EQ_INT(pr_preproc_new("center", 2, 1, &p, &err), 0);
    CHECK_EQ_INT(pr_preproc_fit_modality(p, &m, NULL, 0, NULL, &err), 0);
    CHECK_EQ_INT(pr_preproc_apply_modality(p, &m, NULL, &err), 0);
    CHECK_NEAR(m.X[0], -2.0, 1e-6); /* mean of rows 0, 1, 3 is 3 */
    CHECK(m.X[4] == 0.0f && m.X[5] == 0.0f);
    pr_preproc_free(p);
    free(m.X), free(miss);
}

TEST(test_compact) {
    int n = 50, d = 128;
    float *X = randn(n * d, 10), *Y = malloc(sizeof(float) * n * d);
    X[0] = 65504.0f, X[1] = 1e-6f, X[2] = 0.0f; /* largest half, a subnormal half, zero */
    pr_error err = {0};
    CHECK_EQ_INT(pr_compact_bytes_per_item(PR_STORE_F32, d), 512);
    CHECK_EQ_INT(pr_compact_bytes_per_item(PR_STORE_F16, d), 256);
    CHECK_EQ_INT(pr_compact_bytes_per_item(PR_STORE_I8, d), 132);
    for (int kind = 0; kind < 3; kind++) {
        pr_compact c, c2;
        CHECK_EQ_INT(pr_compact_encode(X, n, d, kind, &c, &err), 0);
        pr_compact_decode(&c, Y);
        int bad = 0;
        for (int i = 0; i < n; i++) {
            float mx = 0;
            for (int j = 0; j < d; j++) mx = fmaxf(mx, fabsf(X[i * d + j]));
            for (int j = 0; j < d; j++) {
                float x = X[i * d + j], e = fabsf(Y[i * d + j] - x);
                if (kind == PR_STORE_F32) bad += e != 0.0f;
                else if (kind == PR_STORE_F16) /* half-ulp: 2^-11 relative, 2^-25 absolute */
                    bad += e > fmaxf(fabsf(x) * 0x1p-11f, 0x1p-25f);
                else
                    bad += e > (mx / 127.0f) * 0.5f * 1.0001f;
            }
        }
        CHECK_EQ_INT(bad, 0);
        if (kind == PR_STORE_F16) CHECK(Y[0] == 65504.0f && Y[2] == 0.0f);
        pr_buf b;
        pr_buf_init(&b);
        CHECK_EQ_INT(pr_compact_save(&c, &b), 0);
        pr_cur cur;
        pr_cur_init(&cur, b.data, b.len, "compact");
        CHECK_EQ_INT(pr_compact_load(&c2, &cur, &err), 0);
        float *Z = malloc(sizeof(float) * n * d);
        pr_compact_decode(&c2, Z);
        CHECK(memcmp(Y, Z, sizeof(float) * n * d) == 0);
        pr_compact_free(&c2);
        pr_cur_init(&cur, b.data, b.len - 1, "compact");
        CHECK(pr_compact_load(&c2, &cur, &err) < 0);
        free(Z);
        pr_buf_free(&b);
        pr_compact_free(&c);
        pr_compact_free(&c2);
    }
    /* representable values are exact in f16; int8 of a row of zeros is zeros */
    float rep[4] = {0.5f, -1024.0f, 0x1p-24f, 3.0f}, out[4];
    pr_compact c;
    CHECK_EQ_INT(pr_compact_encode(rep, 1, 4, PR_STORE_F16, &c, &err), 0);
    pr_compact_row(&c, 0, out);
    CHECK(memcmp(rep, out, sizeof rep) == 0);
    pr_compact_free(&c);
    float zeros[4] = {0};
    CHECK_EQ_INT(pr_compact_encode(zeros, 1, 4, PR_STORE_I8, &c, &err), 0);
    pr_compact_row(&c, 0, out);
    CHECK(out[0] == 0 && out[3] == 0);
    pr_compact_free(&c);
    rep[2] = INFINITY;
    CHECK_EQ_INT(pr_compact_encode(rep, 1, 4, PR_STORE_I8, &c, &err), PR_E_NUMERIC);
    CHECK_CONTAINS(err.msg, "row 0 column 2");
    CHECK_EQ_INT(pr_compact_kind("f16"), PR_STORE_F16);
    CHECK_EQ_INT(pr_compact_kind("int8"), PR_STORE_I8);
    CHECK_EQ_INT(pr_compact_kind("f64"), -1);
    free(X), free(Y);
}

int main(void) {
    RUN(test_svd_planted);
    RUN(test_svd_sparse);
    RUN(test_pca_vs_eig);
    RUN(test_zscore_l2_by_hand);
    RUN(test_spec_errors);
    RUN(test_pipeline_save_load);
    RUN(test_modality_glue);
    RUN(test_compact);
    return t_done();
}
