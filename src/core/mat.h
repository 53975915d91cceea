/* core/mat.h: dense float32 matrices through BLAS, row-major.
 *
 * Every dense product in polyrec goes through pr_gemm (cblas_sgemm), with a
 * shape comment at the call site. A naive reference kernel stays beside it
 * for tests. pr_blas_threads sets the BLAS library's own thread count: the
 * evaluator and trainers call BLAS from inside pool jobs with 1 thread each,
 * and use BLAS threading only for single big products. */
#ifndef PR_CORE_MAT_H
#define PR_CORE_MAT_H

#include <math.h>
#include <stdint.h>

#include "core/pool.h"

enum { PR_NOTRANS = 0, PR_TRANS = 1 };

/* C (M,N) = alpha * op(A) (M,K) . op(B) (K,N) + beta * C; leading dims as in BLAS. */
void pr_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);
/* The same contract, plain loops in double accumulation: the test reference. */
void pr_gemm_naive(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);
/* y (M) = alpha * op(A) . x + beta * y */
void pr_gemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
             float beta, float *y);

void pr_blas_threads(int n);

/* The same contract as pr_gemm, split over the pool by rows of C: fixed blocks
 * of 64 rows dealt round-robin to the threads, each calling BLAS
 * single-threaded. BLAS results depend on the shape of each call (its edge
 * tiles), so fixing the blocks, not the thread count, makes the output
 * bit-identical for any number of threads. pool NULL: inline. */
void pr_par_gemm(pr_pool *pool, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* Stable log(1 + e^x) and logistic function, for pairwise losses. */
static inline float pr_fsoftplus(float x) { return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)); }
static inline float pr_fsigmoid(float x) {
    return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}

/* OpenBLAS picks its kernels from the CPU model at load time; a release older
 * than the CPU (Debian 12's 0.3.21 on recent Xeons) falls back to its generic
 * SSE3 "Prescott" kernels, 3-4x slower than the AVX2 ones the CPU can run.
 * When OPENBLAS_CORETYPE is unset, OpenBLAS reports that fallback and the CPU
 * has AVX2 and FMA, this sets OPENBLAS_CORETYPE=Haswell and re-executes the
 * program (argv as given) so the library loads with the right kernels; it
 * returns only when nothing needs doing (or the re-exec failed). An explicit
 * OPENBLAS_CORETYPE, or POLYREC_BLAS_AUTO=0, is always respected. Programs
 * (the CLI, benchmarks) call it first thing in main; the library never does. */
void pr_blas_select_kernels(char **argv);
const char *pr_blas_corename(void);

/* Dot product with 16 independent partial sums: strict IEEE arithmetic forbids
 * the compiler from reordering one running sum, so a single accumulator would
 * stay scalar; 16 lanes vectorise, and the fixed order keeps results
 * identical run to run. */
#define PR_LANES 16
static inline float pr_dot(const float *a, const float *b, int d) {
    float acc[PR_LANES] = {0};
    int k = 0;
    for (; k + PR_LANES <= d; k += PR_LANES)
        for (int l = 0; l < PR_LANES; l++) acc[l] += a[k + l] * b[k + l];
    float s = 0.0f;
    for (int l = 0; l < PR_LANES; l++) s += acc[l];
    for (; k < d; k++) s += a[k] * b[k];
    return s;
}

static inline void pr_axpy(float alpha, const float *x, float *y, int d) {
    for (int k = 0; k < d; k++) y[k] += alpha * x[k];
}

/* sum of squares in double, and its square root */
double pr_sqnorm(const float *x, int64_t n);
double pr_norm2(const float *x, int64_t n);

#endif
