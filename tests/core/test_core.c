/* tests/core/test_core.c: rng, top-k, CSR, GEMM, pool, atomic files, CRC. */
#include <unistd.h>

#include "core/csr.h"
#include "core/fileio.h"
#include "core/mat.h"
#include "core/pool.h"
#include "core/rng.h"
#include "core/topk.h"
#include "t.h"

TEST(test_rng_reproducible) {
    pr_rng a, b, c;
    pr_rng_init(&a, 42, 0);
    pr_rng_init(&b, 42, 0);
    pr_rng_init(&c, 42, 1);
    int same_ab = 1, same_ac = 1;
    for (int i = 0; i < 100; i++) {
        uint32_t x = pr_rng_u32(&a), y = pr_rng_u32(&b), z = pr_rng_u32(&c);
        same_ab &= x == y;
        same_ac &= x == z;
    }
    CHECK(same_ab);
    CHECK(!same_ac);
    /* pr_rng_below stays in range and is roughly uniform */
    int hist[7] = {0};
    for (int i = 0; i < 70000; i++) hist[pr_rng_below(&a, 7)]++;
    for (int k = 0; k < 7; k++) CHECK(hist[k] > 9500 && hist[k] < 10500);
}

TEST(test_topk_matches_sort) {
    pr_rng r;
    pr_rng_init(&r, 7, 0);
    enum { N = 8000 };
    static float s[N];
    int32_t i1[200], i2[200];
    float v1[200], v2[200];
    /* both paths (threshold for k <= 64 and n >= 16 k, with buffer overflows
     * on sorted and flat rows; heap otherwise), ties, masks, NaN */
    for (int trial = 0; trial < 160; trial++) {
        int n = 1 + (int)pr_rng_below(&r, N), ties = trial % 2;
        int k = trial % 3 ? 1 + (int)pr_rng_below(&r, 64) : 65 + (int)pr_rng_below(&r, 135);
        for (int i = 0; i < n; i++) {
            s[i] = ties ? (float)pr_rng_below(&r, 50) : pr_rng_normal(&r);
            if (trial % 7 == 3) s[i] = (float)i; /* ascending: every item is a candidate */
            if (trial % 11 == 5) s[i] = 0.5f;    /* flat: everything ties */
            /* one group of blocks (every k-th block of 16) far below the rest:
             * the bound is weak, the buffer overflows, varied scores follow */
            if (trial % 5 == 1 && (i / 16) % k == 0) s[i] -= 100;
            if (pr_rng_below(&r, 10) == 0) s[i] = -INFINITY;
            if (pr_rng_below(&r, 97) == 0) s[i] = NAN;
        }
        int n1 = pr_topk(s, n, k, i1, v1), n2 = pr_topk_naive(s, n, k, i2, v2);
        CHECK_EQ_INT(n1, n2);
        for (int j = 0; j < n1 && j < n2; j++) {
            CHECK_EQ_INT(i1[j], i2[j]);
            CHECK(v1[j] == v2[j]);
        }
    }
    float few[4] = {1, -INFINITY, 3, -INFINITY};
    int32_t idx[10];
    float val[10];
    CHECK_EQ_INT(pr_topk(few, 4, 10, idx, val), 2);
    CHECK_EQ_INT(idx[0], 2);
    CHECK_EQ_INT(idx[1], 0);
    CHECK_EQ_INT(pr_topk(few, 4, 0, idx, val), 0);
}

TEST(test_csr_build_transpose) {
    int32_t rows[] = {2, 0, 0, 1, 2, 0};
    int32_t cols[] = {1, 3, 0, 2, 1, 3};
    float val[] = {1, 2, 3, 4, 5, 6};
    pr_csr *m = NULL, *t = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_csr_from_coo(3, 4, 6, rows, cols, val, &m, &err), 0);
    CHECK_EQ_INT(m->nnz, 4); /* (0,3) and (2,1) merged */
    CHECK_EQ_INT(m->indptr[1], 2);
    CHECK_EQ_INT(m->indices[0], 0);
    CHECK_EQ_INT(m->indices[1], 3);
    CHECK_NEAR(m->val[1], 8.0, 0);
    CHECK_NEAR(m->val[3], 6.0, 0);
    CHECK(pr_csr_has(m, 2, 1));
    CHECK(!pr_csr_has(m, 2, 0));
    CHECK_EQ_INT(pr_csr_transpose(m, &t, &err), 0);
    CHECK_EQ_INT(t->n_rows, 4);
    CHECK(pr_csr_has(t, 3, 0));
    CHECK(pr_csr_has(t, 1, 2));
    CHECK_EQ_INT(pr_csr_row_len(t, 1), 1);
    int32_t bad_r[] = {5};
    pr_csr *bad = NULL;
    CHECK_EQ_INT(pr_csr_from_coo(3, 4, 1, bad_r, cols, NULL, &bad, &err), PR_E_RANGE);
    pr_csr_free(m);
    pr_csr_free(t);
}

TEST(test_gemm_matches_naive) {
    pr_rng r;
    pr_rng_init(&r, 3, 0);
    enum { M = 7, N = 5, K = 9 };
    float A[M * K], Bm[N * K], C1[M * N], C2[M * N];
    for (int i = 0; i < M * K; i++) A[i] = pr_rng_normal(&r);
    for (int i = 0; i < N * K; i++) Bm[i] = pr_rng_normal(&r);
    for (int i = 0; i < M * N; i++) C1[i] = C2[i] = pr_rng_normal(&r);
    /* C (M,N) = A (M,K) . B^T (K,N) + 0.5 C */
    pr_gemm(PR_NOTRANS, PR_TRANS, M, N, K, 1.0f, A, K, Bm, K, 0.5f, C1, N);
    pr_gemm_naive(PR_NOTRANS, PR_TRANS, M, N, K, 1.0f, A, K, Bm, K, 0.5f, C2, N);
    for (int i = 0; i < M * N; i++) CHECK_NEAR(C1[i], C2[i], 1e-4);
}

typedef struct { int64_t n; int64_t *out; } sum_job;
static void sum_slice(void *ctx, int ith, int nth) {
    sum_job *J = ctx;
    int64_t b, e;
    pr_split(J->n, ith, nth, &b, &e);
    int64_t s = 0;
    for (int64_t i = b; i < e; i++) s += i;
    J->out[ith] = s;
}

TEST(test_pool_covers_all_work) {
    for (int nt = 1; nt <= 4; nt++) {
        pr_pool *p = pr_pool_new(nt);
        CHECK(p != NULL);
        int64_t out[4] = {0};
        sum_job J = {100001, out};
        for (int rep = 0; rep < 20; rep++) {
            pr_pool_run(p, sum_slice, &J);
            int64_t s = 0;
            for (int i = 0; i < nt; i++) s += out[i];
            CHECK_EQ_INT(s, 100001LL * 100000 / 2);
        }
        pr_pool_free(p);
    }
}

TEST(test_atomic_write_and_crc) {
    CHECK_EQ_INT(pr_crc32c(0, "123456789", 9), 0xE3069283u);
    char path[] = "build/test_atomic.txt";
    pr_error err;
    pr_atomic a;
    CHECK_EQ_INT(pr_atomic_open(&a, path, &err), 0);
    fputs("first", a.f);
    CHECK_EQ_INT(pr_atomic_commit(&a, &err), 0);
    /* an aborted second write leaves the first intact and no temp file */
    CHECK_EQ_INT(pr_atomic_open(&a, path, &err), 0);
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", a.tmp);
    fputs("second, never committed", a.f);
    pr_atomic_abort(&a);
    CHECK(access(tmp, F_OK) != 0);
    char *s = NULL;
    CHECK_EQ_INT(pr_read_file(path, &s, NULL, &err), 0);
    CHECK_STR(s, "first");
    free(s);
    pr_map m;
    CHECK_EQ_INT(pr_map_open(&m, path, &err), 0);
    CHECK_EQ_INT(m.size, 5);
    pr_map_close(&m);
    CHECK_EQ_INT(pr_map_open(&m, "build/does-not-exist", &err), PR_E_IO);
    CHECK_CONTAINS(err.msg, "build/does-not-exist");
    unlink(path);
}

int main(void) {
    RUN(test_rng_reproducible);
    RUN(test_topk_matches_sort);
    RUN(test_csr_build_transpose);
    RUN(test_gemm_matches_naive);
    RUN(test_pool_covers_all_work);
    RUN(test_atomic_write_and_crc);
    return t_done();
}
