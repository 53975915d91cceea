/* bench/bench_core.c: the core engine's speed on a Baby-shaped synthetic set
 * (19,445 users, 7,050 items, ~119,000 training interactions, d = 64), each
 * figure beside a limit measured in the same run:
 *   - GEMM peak (sgemm, 2 threads) vs the evaluator's GEMM rate;
 *   - a plain single-threaded BPR SGD update loop (no sampling, no framework;
 *     the fastest of five passes) vs BPR-MF training throughput in its modes
 *     (the median epoch);
 *   - full-ranking evaluation of all users with top-20.
 * Prints a markdown table; `make bench` appends nothing by itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baby_shaped.h"
#include "core/log.h"
#include "core/mat.h"
#include "core/pool.h"
#include "core/rng.h"
#include "eval/evaluator.h"
#include "models/model.h"
#include "train/loop.h"
#include "train/sampler.h"

enum { NU = BABY_USERS, NI = BABY_ITEMS };

static double gemm_peak(int threads) {
    int M = 1024, N = 1024, K = 1024;
    float *A = pr_alloc_aligned((size_t)M * K, 4), *B = pr_alloc_aligned((size_t)K * N, 4), *C = pr_alloc_aligned((size_t)M * N, 4);
    for (int i = 0; i < M * K; i++) A[i] = B[i] = 0.001f * (float)(i % 97);
    pr_blas_threads(threads);
    pr_gemm(PR_NOTRANS, PR_NOTRANS, M, N, K, 1, A, K, B, N, 0, C, N);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = pr_now();
        pr_gemm(PR_NOTRANS, PR_NOTRANS, M, N, K, 1, A, K, B, N, 0, C, N);
        double g = 2.0 * M * N * K / (pr_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    pr_free_aligned(A); pr_free_aligned(B); pr_free_aligned(C);
    return best;
}

/* The plain loop: pre-drawn triples, one thread, SGD in place. */
static double plain_loop(const pr_dataset *d, int dim) {
    pr_rng r;
    pr_rng_init(&r, 5, 5);
    float *U = malloc((size_t)NU * dim * 4), *V = malloc((size_t)NI * dim * 4);
    for (int64_t k = 0; k < (int64_t)NU * dim; k++) U[k] = 0.01f * pr_rng_normal(&r);
    for (int64_t k = 0; k < (int64_t)NI * dim; k++) V[k] = 0.01f * pr_rng_normal(&r);
    int64_t n = 1 << 20;
    int32_t *tu = malloc((size_t)n * 4), *ti = malloc((size_t)n * 4), *tj = malloc((size_t)n * 4);
    for (int64_t s = 0; s < n; s++) {
        int64_t k = pr_rng_below(&r, (uint32_t)d->train->nnz);
        int32_t u = 0;
        while (d->train->indptr[u + 1] <= k) u++;
        tu[s] = u; ti[s] = d->train->indices[k]; tj[s] = (int32_t)pr_rng_below(&r, NI);
    }
    double best = 0;
    for (int rep = 0; rep < 5; rep++) { /* the fastest of five passes: the machine is shared */
    double t0 = pr_now();
    for (int64_t s = 0; s < n; s++) {
        float *pu = U + (int64_t)tu[s] * dim, *qi = V + (int64_t)ti[s] * dim, *qj = V + (int64_t)tj[s] * dim;
        float x = 0;
        for (int k = 0; k < dim; k++) x += pu[k] * (qi[k] - qj[k]);
        float g = 1.0f / (1.0f + expf(x)), lr = 0.05f;
        for (int k = 0; k < dim; k++) {
            float a = pu[k];
            pu[k] += lr * g * (qi[k] - qj[k]);
            qi[k] += lr * g * a;
            qj[k] -= lr * g * a;
        }
    }
    double rate = (double)n / (pr_now() - t0);
    if (rate > best) best = rate;
    }
    free(U); free(V); free(tu); free(ti); free(tj);
    return best;
}

static double train_rate(const pr_dataset *d, pr_pool *pool, const char *optim, int hogwild, const char *order,
                         int batch, int epochs) {
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = epochs;
    c.batch = batch;
    pr_error err;
    pr_config_set(&c, "optim", optim, &err);
    if (hogwild) pr_config_set(&c, "hogwild", "1", &err);
    if (order) pr_config_set(&c, "order", order, &err);
    if (!strcmp(optim, "sgd")) c.lr = 0.05f;
    pr_model *m;
    if (pr_model_new(pr_model_find("bprmf"), d, NULL, &c, pool, &m, &err)) return 0;
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    pr_train_result res;
    pr_train(m, NULL, &o, &res, &err);
    /* the median epoch: robust to other jobs taking the cores for a while */
    double secs[64];
    int n = res.n_log < 64 ? res.n_log : 64;
    for (int e = 0; e < n; e++) secs[e] = res.log[e].seconds;
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && secs[b] < secs[b - 1]; b--) { double t = secs[b]; secs[b] = secs[b - 1]; secs[b - 1] = t; }
    double rate = n ? (double)d->train->nnz / secs[n / 2] : 0;
    pr_train_result_free(&res);
    m->ops->free(m);
    return rate;
}

int main(int argc, char **argv) {
    pr_blas_select_kernels(argv);
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    pr_log_set_level(PR_LOG_QUIET);
    pr_dataset *d = bench_baby_shaped(1.0, 1);
    pr_pool *pool = pr_pool_new(threads);
    printf("## bench_core: Baby-shaped synthetic set (%d users, %d items, %lld train, %lld test), d = 64, %d threads\n\n",
           NU, NI, (long long)d->train->nnz, (long long)d->test->nnz, threads);
    double peak = gemm_peak(threads), peak1 = gemm_peak(1);
    printf("BLAS kernels: OpenBLAS %s\n\n", pr_blas_corename());
    printf("| measure | value | reference (same run) | ratio |\n|---|---|---|---|\n");
    printf("| sgemm 1024^3 | %.1f GFLOP/s (%d threads) | %.1f GFLOP/s (1 thread) | |\n", peak, threads, peak1);
    double plain = plain_loop(d, 64);
    printf("| plain BPR SGD loop, 1 thread | %.2f M updates/s | | |\n", plain / 1e6);
    const struct { const char *optim; int hog; const char *order; int batch; const char *label; } modes[] = {
        {"sgd", 1, "random", 16384, "BPR-MF sgd hogwild (fused epochs), random order"},
        {"sgd", 1, "user", 16384, "BPR-MF sgd hogwild (fused epochs), order=user"},
        {"sgd", 0, NULL, 16384, "BPR-MF sgd, deterministic, batch 16384"},
        {"adam", 0, NULL, 2048, "BPR-MF lazy adam, deterministic, batch 2048"},
        {"adam-dense", 0, NULL, 2048, "BPR-MF dense adam (PyTorch semantics), batch 2048"},
    };
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        double r = train_rate(d, pool, modes[k].optim, modes[k].hog, modes[k].order, modes[k].batch,
                              modes[k].hog ? 20 : 3);
        printf("| %s | %.2f M samples/s | plain loop x %d threads = %.2f M/s | %.2f |\n", modes[k].label,
               r / 1e6, threads, threads * plain / 1e6, r / (threads * plain));
    }
    /* one thread: no pool hand-offs and no sharing, the per-thread cost
     * against the plain loop */
    pr_pool *one = pr_pool_new(1);
    const char *orders[] = {"random", "user"};
    for (int o = 0; o < 2; o++) {
        double r1 = train_rate(d, one, "sgd", 1, orders[o], 16384, 20);
        printf("| BPR-MF sgd hogwild, %s order, 1 thread | %.2f M samples/s | plain loop, 1 thread = %.2f M/s | %.2f |\n",
               orders[o], r1 / 1e6, plain / 1e6, r1 / plain);
    }
    pr_pool_free(one);
    /* full ranking of every test user with top-20 */
    pr_snapshot s;
    pr_snapshot_alloc(&s, NU, NI, 64, 0);
    pr_rng r;
    pr_rng_init(&r, 3, 3);
    for (int64_t k = 0; k < (int64_t)NU * 64; k++) s.U[k] = pr_rng_normal(&r);
    for (int64_t k = 0; k < (int64_t)NI * 64; k++) s.V[k] = pr_rng_normal(&r);
    pr_scorer sc = {NU, NI, 64, s.U, s.V, NULL, NULL, NULL};
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.ks[0] = 20;
    o.n_k = 1;
    o.mask[0] = d->train;
    pr_metrics met;
    pr_error err;
    for (int auc = 0; auc <= 1; auc++) {
        o.auc = auc;
        double best = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = pr_now();
            pr_evaluate(&sc, d->test, &o, pool, &met, &err);
            double t = pr_now() - t0;
            if (t < best) best = t;
        }
        double gflop = 2.0 * met.users * NI * 64 / 1e9;
        printf("| full-ranking eval, top-20%s | %.3f s (%lld users, %.0f users/s) | GEMM alone at peak: %.3f s | %.2f |\n",
               auc ? " + AUC" : "", best, (long long)met.users, met.users / best, gflop / peak, gflop / peak / best);
    }
    printf("\npeak RSS %.0f MiB\n", pr_peak_rss_mib());
    pr_snapshot_free(&s);
    pr_pool_free(pool);
    return 0;
}
