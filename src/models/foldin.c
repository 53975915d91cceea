/* models/foldin.c: closed-form ridge fold-in of a new user (see foldin.h). */
#include "foldin.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/csr.h"
#include "core/mat.h"
#include "core/pool.h"

void pr_foldin_opts_default(pr_foldin_opts *o) {
    memset(o, 0, sizeof *o);
    o->lambda = 0.1;
    o->target = 1.0;
}

void pr_foldin_prior(const float *U, int32_t n_users, int d, const pr_csr *train, float *p) {
    int64_t cnt = 0;
    for (int a = 0; a < d; a++) p[a] = 0.0f;
    for (int32_t u = 0; u < n_users; u++) {
        if (train && (u >= train->n_rows || pr_csr_row_len(train, u) == 0)) continue;
        for (int a = 0; a < d; a++) p[a] += U[(int64_t)u * d + a];
        cnt++;
    }
    for (int a = 0; a < d; a++) p[a] = cnt ? p[a] / (float)cnt : 0.0f;
}

double pr_foldin_target(const float *U, const float *V, int d, const pr_csr *train) {
    double s = 0;
    for (int32_t u = 0; u < train->n_rows; u++)
        for (int64_t k = train->indptr[u]; k < train->indptr[u + 1]; k++) {
            const float *pu = U + (int64_t)u * d, *qi = V + (int64_t)train->indices[k] * d;
            for (int a = 0; a < d; a++) s += (double)pu[a] * qi[a];
        }
    return train->nnz ? s / (double)train->nnz : 1.0;
}

void pr_foldin_gram(const float *V, int32_t n_items, int d, float *G) {
    /* G (d, d) = V^T (d, n_items) . V (n_items, d) */
    pr_gemm(PR_TRANS, PR_NOTRANS, d, d, n_items, 1.0f, V, d, V, d, 0.0f, G, d);
}

/* A (d, d) = V_H^T V_H + alpha G + lambda' I (full, symmetric) and, when
 * rhs is not NULL, rhs (d) = t V_H^T 1 + lambda' p; double accumulation.
 * *lam_out (may be NULL) = lambda'. */
static int build_system(const float *V, int32_t n_items, int d, const int32_t *hist, int n,
                        const pr_foldin_opts *o, double *A, double *rhs, double *lam_out, pr_error *err) {
    if (n < 1) return pr_err(err, PR_E_ARG, "fold-in: empty history");
    if (o->alpha > 0 && !o->gram) return pr_err(err, PR_E_ARG, "fold-in: alpha > 0 needs the item Gram matrix");
    if (!(o->lambda >= 0) || !(o->alpha >= 0)) return pr_err(err, PR_E_ARG, "fold-in: lambda and alpha must be >= 0");
    for (int k = 0; k < n; k++)
        if (hist[k] < 0 || hist[k] >= n_items)
            return pr_err(err, PR_E_ARG, "fold-in: item index %d outside [0, %d)", hist[k], n_items);
    memset(A, 0, (size_t)d * d * sizeof *A);
    if (rhs) memset(rhs, 0, (size_t)d * sizeof *rhs);
    double sq = 0;
    for (int k = 0; k < n; k++) {
        const float *v = V + (int64_t)hist[k] * d;
        for (int a = 0; a < d; a++) {
            if (rhs) rhs[a] += o->target * v[a];
            sq += (double)v[a] * v[a];
            for (int b = 0; b <= a; b++) A[(int64_t)a * d + b] += (double)v[a] * v[b];
        }
    }
    double lam = o->lambda * (sq > 0 ? sq / n : 1.0);
    if (lam_out) *lam_out = lam;
    for (int a = 0; a < d && rhs && o->prior; a++) rhs[a] += lam * o->prior[a];
    for (int a = 0; a < d; a++) {
        for (int b = 0; b <= a; b++) {
            if (o->alpha > 0) A[(int64_t)a * d + b] += o->alpha * o->gram[(int64_t)a * d + b];
            A[(int64_t)b * d + a] = A[(int64_t)a * d + b];
        }
        A[(int64_t)a * d + a] += lam;
    }
    return 0;
}

/* x (d) = A^-1 x by Cholesky (A is destroyed); lambda' > 0 makes A positive definite. */
static int solve(double *A, double *x, int d, const pr_foldin_opts *o, pr_error *err) {
    if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', d, 1, A, d, x, 1) != 0)
        return pr_err(err, PR_E_NUMERIC, "fold-in: system is singular (lambda %g too small?)", o->lambda);
    for (int a = 0; a < d; a++)
        if (!isfinite(x[a])) return pr_err(err, PR_E_NUMERIC, "fold-in: non-finite solution");
    return 0;
}

static double sigm(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

/* Newton's method on the BPR objective (see foldin.h). Scratch: s (n_items)
 * scores, r (n_items) per-item weights, H (d, d), g (d), u (d), all double. */
static int foldin_bpr(const float *V, int32_t n_items, int d, const int32_t *hist, int n,
                      const pr_foldin_opts *o, float *out, pr_error *err) {
    double *buf = pr_malloc((size_t)2 * n_items + (size_t)d * d + 3 * (size_t)d, sizeof *buf);
    uint8_t *in_h = pr_calloc((size_t)n_items, 1);
    int rc = 0;
    if (!buf || !in_h) { rc = pr_err(err, PR_E_NOMEM, "fold-in: %d items", n_items); goto done; }
    double *s = buf, *r = s + n_items, *H = r + n_items, *g = H + (size_t)d * d, *u = g + d, *a = u + d;
    int64_t n_neg = 0;
    for (int k = 0; k < n; k++) in_h[hist[k]] = 1;
    double sq = 0;
    for (int32_t j = 0; j < n_items; j++) {
        const float *v = V + (int64_t)j * d;
        for (int q = 0; q < d; q++) sq += (double)v[q] * v[q];
        n_neg += !in_h[j];
    }
    if (n_neg == 0) { rc = pr_err(err, PR_E_ARG, "fold-in: the history holds every item"); goto done; }
    double lam = o->lambda * (n_items ? sq / n_items : 1.0);
    for (int q = 0; q < d; q++) u[q] = o->prior ? o->prior[q] : 0.0;
    for (int it = 0; it < 20; it++) {
        for (int32_t j = 0; j < n_items; j++) { /* s = V u */
            double x = 0;
            for (int q = 0; q < d; q++) x += (double)V[(int64_t)j * d + q] * u[q];
            s[j] = x;
        }
        /* per pair (h, j): gw = sigma(-(s_h - s_j)) / N, hw = sigma (1 - sigma) / N.
         * grad = -sum_h (sum_j gw) v_h + sum_j (sum_h gw) v_j + lam (u - p)
         * H = sum_{h,j} hw (v_h - v_j)(v_h - v_j)^T + lam I, expanded by items. */
        memset(H, 0, (size_t)d * d * sizeof *H);
        for (int q = 0; q < d; q++) g[q] = lam * (u[q] - (o->prior ? o->prior[q] : 0.0));
        for (int32_t j = 0; j < n_items; j++) r[j] = 0;
        for (int k = 0; k < n; k++) {
            const float *vh = V + (int64_t)hist[k] * d;
            double gh = 0, qh = 0;
            for (int q = 0; q < d; q++) a[q] = 0;
            for (int32_t j = 0; j < n_items; j++) {
                if (in_h[j]) continue;
                double sg = sigm(-(s[hist[k]] - s[j])), gw = sg / (double)n_neg, hw = sg * (1 - sg) / (double)n_neg;
                const float *vj = V + (int64_t)j * d;
                gh += gw;
                qh += hw;
                for (int q = 0; q < d; q++) {
                    g[q] += gw * vj[q];
                    a[q] += hw * vj[q]; /* a = sum_j hw v_j, for the cross terms */
                }
                r[j] += hw;
            }
            for (int q = 0; q < d; q++) {
                g[q] -= gh * vh[q];
                for (int p2 = 0; p2 < d; p2++)
                    H[q * d + p2] += qh * vh[q] * vh[p2] - vh[q] * a[p2] - a[q] * vh[p2];
            }
        }
        for (int32_t j = 0; j < n_items; j++) { /* + sum_j r_j v_j v_j^T (lower triangle, mirrored below) */
            if (r[j] == 0) continue;
            const float *vj = V + (int64_t)j * d;
            for (int q = 0; q < d; q++)
                for (int p2 = 0; p2 <= q; p2++) H[q * d + p2] += r[j] * vj[q] * vj[p2];
        }
        for (int q = 0; q < d; q++) H[q * d + q] += lam;
        /* the lower triangle is complete (dposv 'L' reads nothing else): Newton step H^-1 grad */
        if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', d, 1, H, d, g, 1) != 0) {
            rc = pr_err(err, PR_E_NUMERIC, "fold-in: BPR Newton system is singular (lambda %g too small?)", o->lambda);
            goto done;
        }
        double step = 0, nu = 0;
        for (int q = 0; q < d; q++) {
            u[q] -= g[q];
            step += g[q] * g[q];
            nu += u[q] * u[q];
        }
        if (!isfinite(step)) { rc = pr_err(err, PR_E_NUMERIC, "fold-in: BPR Newton diverged"); goto done; }
        if (step <= 1e-12 * (1 + nu)) break;
    }
    for (int q = 0; q < d; q++) out[q] = (float)u[q];
done:
    free(buf);
    free(in_h);
    return rc;
}

int pr_foldin(const float *V, int32_t n_items, int d, const int32_t *hist, int n,
              const pr_foldin_opts *o, float *u, pr_error *err) {
    if (o->bpr) {
        if (n < 1) return pr_err(err, PR_E_ARG, "fold-in: empty history");
        if (!(o->lambda > 0)) return pr_err(err, PR_E_ARG, "fold-in: BPR needs lambda > 0");
        for (int k = 0; k < n; k++)
            if (hist[k] < 0 || hist[k] >= n_items)
                return pr_err(err, PR_E_ARG, "fold-in: item index %d outside [0, %d)", hist[k], n_items);
        return foldin_bpr(V, n_items, d, hist, n, o, u, err);
    }
    double *A = pr_malloc((size_t)d * d, sizeof *A), *rhs = pr_malloc((size_t)d, sizeof *rhs);
    int rc = !A || !rhs ? pr_err(err, PR_E_NOMEM, "fold-in: d=%d", d) : 0;
    if (rc == 0 && (rc = build_system(V, n_items, d, hist, n, o, A, rhs, NULL, err)) == 0 &&
        (rc = solve(A, rhs, d, o, err)) == 0)
        for (int a = 0; a < d; a++) u[a] = (float)rhs[a];
    free(A);
    free(rhs);
    return rc;
}

int pr_foldin_explain(const float *V, int32_t n_items, int d, const int32_t *hist, int n,
                      const pr_foldin_opts *o, int32_t item, float *contrib, float *prior_part,
                      pr_error *err) {
    if (item < 0 || item >= n_items) return pr_err(err, PR_E_ARG, "fold-in: item %d outside [0, %d)", item, n_items);
    double *A = pr_malloc((size_t)d * d, sizeof *A), *w = pr_malloc((size_t)d, sizeof *w), lam = 0;
    int rc = !A || !w ? pr_err(err, PR_E_NOMEM, "fold-in: d=%d", d) : 0;
    if (rc == 0 && (rc = build_system(V, n_items, d, hist, n, o, A, NULL, &lam, err)) == 0) {
        /* u . v_i = (t 1^T V_H + lam' p^T) A^-1 v_i  with  w = A^-1 v_i (A symmetric) */
        for (int a = 0; a < d; a++) w[a] = V[(int64_t)item * d + a];
        if ((rc = solve(A, w, d, o, err)) == 0) {
            for (int k = 0; k < n; k++) {
                double c = 0;
                for (int a = 0; a < d; a++) c += w[a] * V[(int64_t)hist[k] * d + a];
                contrib[k] = (float)(o->target * c);
            }
            double pp = 0;
            for (int a = 0; a < d && o->prior; a++) pp += lam * o->prior[a] * w[a];
            if (prior_part) *prior_part = (float)pp;
        }
    }
    free(A);
    free(w);
    return rc;
}

typedef struct {
    const float *V;
    int32_t n_items;
    int d;
    const pr_csr *hist;
    const pr_foldin_opts *o;
    float *U;
    int *rc;       /* (nth) */
    pr_error *err; /* (nth) */
} rows_job;

static void rows_slice(void *ctx, int ith, int nth) {
    rows_job *J = ctx;
    int64_t lo, hi;
    pr_split(J->hist->n_rows, ith, nth, &lo, &hi);
    for (int64_t r = lo; r < hi && J->rc[ith] == 0; r++) {
        int64_t n = pr_csr_row_len(J->hist, (int32_t)r);
        if (n == 0) continue;
        J->rc[ith] = pr_foldin(J->V, J->n_items, J->d, J->hist->indices + J->hist->indptr[r], (int)n, J->o,
                               J->U + r * J->d, &J->err[ith]);
    }
}

int pr_foldin_rows(const float *V, int32_t n_items, int d, const pr_csr *hist, const pr_foldin_opts *o,
                   pr_pool *pool, float *U, pr_error *err) {
    int nth = pr_pool_size(pool), rc = 0;
    rows_job J = {V, n_items, d, hist, o, U, pr_calloc((size_t)nth, sizeof(int)), pr_calloc((size_t)nth, sizeof(pr_error))};
    if (!J.rc || !J.err) {
        rc = pr_err(err, PR_E_NOMEM, "fold-in");
    } else {
        pr_blas_threads(1);
        pr_pool_run(pool, rows_slice, &J);
        for (int t = 0; t < nth && rc == 0; t++)
            if (J.rc[t]) {
                rc = J.rc[t];
                if (err) *err = J.err[t];
            }
    }
    free(J.rc);
    free(J.err);
    return rc;
}
