/* core/mat.c: BLAS wrappers and the naive reference GEMM (see mat.h). */
#include "mat.h"

#include <cblas.h>
#include <math.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* OpenBLAS exports these; other BLAS libraries do not, hence the weak symbols. */
extern void openblas_set_num_threads(int) __attribute__((weak));
extern char *openblas_get_corename(void) __attribute__((weak));

const char *pr_blas_corename(void) {
    return openblas_get_corename ? openblas_get_corename() : "unknown";
}

void pr_blas_select_kernels(char **argv) {
    const char *opt = getenv("POLYREC_BLAS_AUTO");
    if (getenv("OPENBLAS_CORETYPE") || (opt && !strcmp(opt, "0")) || !openblas_get_corename) return;
    const char *core = openblas_get_corename();
    if (!core || strcmp(core, "Prescott") != 0) return;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;
    /* POLYREC_BLAS_AUTO=0 in the child stops any chance of a loop */
    if (setenv("OPENBLAS_CORETYPE", "Haswell", 1) != 0 || setenv("POLYREC_BLAS_AUTO", "0", 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* exec failed: carry on with the generic kernels */
}

void pr_blas_threads(int n) {
    if (openblas_set_num_threads) openblas_set_num_threads(n > 0 ? n : 1);
}

void pr_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* BLAS may not scale C when K == 0 */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(int64_t)i * ldc + j] *= beta;
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#define PAR_GEMM_ROWS 64

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} par_gemm_job;

static void par_gemm_rows(void *ctx, int ith, int nth) {
    const par_gemm_job *J = ctx;
    for (int64_t r0 = (int64_t)ith * PAR_GEMM_ROWS; r0 < J->M; r0 += (int64_t)nth * PAR_GEMM_ROWS) {
        int rows = (int)(J->M - r0 < PAR_GEMM_ROWS ? J->M - r0 : PAR_GEMM_ROWS);
        const float *A = J->ta ? J->A + r0 : J->A + r0 * J->lda;
        pr_gemm(J->ta, J->tb, rows, J->N, J->K, J->alpha, A, J->lda, J->B, J->ldb, J->beta,
                J->C + r0 * J->ldc, J->ldc);
    }
}

void pr_par_gemm(pr_pool *pool, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    par_gemm_job J = {ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C};
    pr_blas_threads(1);
    pr_pool_run(pool, par_gemm_rows, &J);
}

void pr_gemm_naive(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(int64_t)k * lda + i] : A[(int64_t)i * lda + k];
                float b = tb ? B[(int64_t)j * ldb + k] : B[(int64_t)k * ldb + j];
                s += (double)a * b;
            }
            float *c = &C[(int64_t)i * ldc + j];
            *c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}

void pr_gemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
             float beta, float *y) {
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, M, N, alpha, A, lda, x, 1, beta,
                y, 1);
}

double pr_sqnorm(const float *x, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

double pr_norm2(const float *x, int64_t n) { return sqrt(pr_sqnorm(x, n)); }
