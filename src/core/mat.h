/* core/mat.h: dense float32 matrices through BLAS, row-major.
 *
 * Every dense product in polyrec goes through pr_gemm (cblas_sgemm), with a
 * shape comment at the call site. A naive reference kernel stays beside it
 * for tests. pr_blas_threads sets the BLAS library's own thread count: the
 * evaluator and trainers call BLAS from inside pool jobs with 1 thread each,
 * and use BLAS threading only for single big products. */
#ifndef PR_CORE_MAT_H
#define PR_CORE_MAT_H

#include <stdint.h>

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

double pr_norm2(const float *x, int64_t n);

#endif
