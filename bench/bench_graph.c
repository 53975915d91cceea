/* bench/bench_graph.c: the graph models' speed on Baby-shaped synthetic data.
 *
 *   bench_graph [threads]            Baby-shaped table (make bench): 19,445 users,
 *                                    7,050 items, ~119,000 training interactions,
 *                                    4,096-d image and 384-d text features, d = 64
 *   bench_graph model NAME [threads] [epochs]
 *                                    one row of the Baby-shaped table
 *   bench_graph scale S [threads] [model] [batch]
 *                                    users, items and interactions x S (features 64-d),
 *                                    one training epoch of the model (lightgcn)
 *
 * Each model runs in a child process so its peak RSS is its own. Every figure
 * stands beside a limit measured in the same run: the SpMM floor (the 4 L
 * sparse products per batch that LightGCN cannot avoid, timed alone) and
 * MMRec's PyTorch CPU epochs measured on this machine class (the issue: 60 s
 * LightGCN, 201 s FREEDOM on Baby). Training epochs only; evaluation is
 * eval/'s business (bench_core). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "baby_shaped.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/rng.h"
#include "core/spmm.h"
#include "features/knn_graph.h"
#include "models/model.h"
#include "train/loop.h"

enum { NU = BABY_USERS, NI = BABY_ITEMS };


/* Features with 50 latent clusters of items, unit rows: dims[m] per modality. */
static pr_features *features(int32_t ni, int n_mod, const int *dims, uint64_t seed) {
    pr_features *f = calloc(1, sizeof *f);
    static const char *names[] = {"image", "text"};
    pr_rng r;
    pr_rng_init(&r, seed, 9);
    for (int q = 0; q < n_mod; q++) {
        int dim = dims[q];
        float *C = malloc((size_t)50 * dim * 4), *X = malloc((size_t)ni * dim * 4);
        for (int64_t k = 0; k < (int64_t)50 * dim; k++) C[k] = pr_rng_normal(&r);
        for (int32_t i = 0; i < ni; i++)
            for (int k = 0; k < dim; k++) X[(int64_t)i * dim + k] = C[(i % 50) * dim + k] + pr_rng_normal(&r);
        free(C);
        pr_modality *md = &f->mod[f->n_mod++];
        snprintf(md->name, sizeof md->name, "%s", names[q]);
        md->n_items = ni;
        md->dim = dim;
        md->X = X;
        md->missing = calloc((size_t)ni, 1);
    }
    return f;
}

static void features_free(pr_features *f) {
    for (int q = 0; f && q < f->n_mod; q++) {
        free(f->mod[q].X);
        free(f->mod[q].missing);
    }
    free(f);
}

/* CPU seconds of the process (all threads): on a shared machine wall time
 * measures the neighbours too, so every row shows both. */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds per training epoch (epochs epochs, no validation): wall and CPU;
 * init seconds. */
static int run_model(const char *name, const pr_dataset *d, const pr_features *f, int threads, int epochs,
                     int batch, double *sec_epoch, double *cpu_epoch, double *init_s) {
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = epochs;
    c.threads = threads;
    if (batch > 0) c.batch = batch;
    c.reg = 1e-4f;
    pr_pool *pool = pr_pool_new(threads);
    pr_model *m = NULL;
    pr_error err;
    double t0 = pr_now();
    if (pr_model_new(pr_model_find(name), d, f, &c, pool, &m, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        pr_pool_free(pool);
        return -1;
    }
    *init_s = pr_now() - t0;
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    pr_train_result res;
    double c0 = cpu_now();
    int rc = pr_train(m, NULL, &o, &res, &err);
    if (rc) fprintf(stderr, "%s: %s\n", name, err.msg);
    *sec_epoch = rc ? NAN : res.train_seconds / res.epochs_run;
    *cpu_epoch = rc ? NAN : (cpu_now() - c0) / res.epochs_run;
    pr_train_result_free(&res);
    m->ops->free(m);
    pr_pool_free(pool);
    return rc;
}

/* The propagation floor of one LightGCN epoch: 2 L SpMMs forward and 2 L
 * backward per batch, timed alone over the same graph. */
static double spmm_floor(const pr_dataset *d, int threads, int L, int batch, double *cpu) {
    pr_csr *A = NULL;
    pr_adj_build(d->train, 0, PR_NORM_SYM, &A, NULL);
    int dd = 64;
    float *X = calloc((size_t)A->n_rows * dd, 4), *Y = calloc((size_t)A->n_rows * dd, 4);
    pr_pool *pool = pr_pool_new(threads);
    pr_spmm(pool, A, X, dd, 1, 0, Y);
    int reps = 20;
    double t0 = pr_now(), c0 = cpu_now();
    for (int k = 0; k < reps; k++) pr_spmm(pool, A, X, dd, 1, 0, Y);
    double per = (pr_now() - t0) / reps;
    int64_t batches = (d->train->nnz + batch - 1) / batch;
    *cpu = (cpu_now() - c0) / reps * 4 * L * (double)batches;
    pr_pool_free(pool);
    free(X);
    free(Y);
    pr_csr_free(A);
    return per * 4 * L * (double)batches;
}

/* Run fn in a child so that peak RSS is the model's own. */
static void in_child(void (*fn)(void *), void *arg) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn(arg);
        fflush(stdout);
        _exit(0);
    }
    int st = 0;
    if (pid > 0 && waitpid(pid, &st, 0) == pid && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        printf("| (child failed: status %d) | | | | | | |\n", st);
}

typedef struct {
    const char *model, *limit_label;
    int threads, epochs, with_feat;
    double limit_s;
} row_job;

static void baby_row(void *arg) {
    row_job *J = arg;
    pr_dataset *d = bench_baby_shaped(1.0, 1);
    int dims[] = {4096, 384};
    pr_features *f = J->with_feat ? features(NI, 2, dims, 2) : NULL;
    double sec = NAN, cpu = NAN, init_s = NAN;
    run_model(J->model, d, f, J->threads, J->epochs, 0, &sec, &cpu, &init_s);
    printf("| %s | %.2f s | %.2f s | %.1f s | %s %.0f s | %.0fx (%.0fx) | %.0f MiB |\n", J->model, sec, cpu, init_s,
           J->limit_label, J->limit_s, J->limit_s / sec, J->limit_s * J->threads / cpu, pr_peak_rss_mib());
    features_free(f);
    pr_dataset_free(d);
}

static void knn_row(void *arg) {
    int threads = *(int *)arg;
    int dims[] = {4096, 384};
    pr_features *f = features(NI, 2, dims, 2);
    pr_pool *pool = pr_pool_new(threads);
    pr_knn_opts o;
    pr_knn_opts_default(&o);
    for (int q = 0; q < 2; q++) {
        pr_csr *S = NULL;
        double t0 = pr_now(), c0 = cpu_now();
        pr_knn_build(f->mod[q].X, NI, dims[q], &o, pool, &S, NULL);
        double t = pr_now() - t0, c = cpu_now() - c0, gflop = 2.0 * NI * (double)NI * dims[q] / 1e9;
        printf("| k-NN graph, %d items x %d-d, k = 10 (once) | %.2f s | %.2f s | | dense similarities: %.0f MiB "
               "| %.1f GFLOP/s per CPU s | %.0f MiB |\n",
               NI, dims[q], t, c, (double)NI * NI * 4 / 1048576.0, gflop / c, pr_peak_rss_mib());
        pr_csr_free(S);
    }
    pr_pool_free(pool);
    features_free(f);
}

static void baby_table(int threads) {
    pr_dataset *d = bench_baby_shaped(1.0, 1);
    printf("## bench_graph: Baby-shaped synthetic set (%d users, %d items, %lld train), d = 64, batch 2048, "
           "%d threads\n\n", NU, NI, (long long)d->train->nnz, threads);
    double fcpu, floor2 = spmm_floor(d, threads, 2, 2048, &fcpu);
    pr_dataset_free(d);
    printf("Wall seconds, and CPU seconds of all threads (the machine may be shared: CPU / threads is the\n"
           "unloaded wall time); speed-up by wall (by CPU / threads).\n\n");
    printf("| model | wall s / epoch | CPU s / epoch | init | limit (same machine class) | speed-up | peak RSS |\n"
           "|---|---|---|---|---|---|---|\n");
    printf("| SpMM floor, L = 2 (8 products per batch) | %.2f s | %.2f s | | | | |\n", floor2, fcpu);
    row_job jobs[] = {
        {"lightgcn", "MMRec PyTorch CPU", threads, 3, 0, 60},
        {"freedom", "MMRec PyTorch CPU", threads, 3, 1, 201},
        {"lattice", "MMRec LightGCN (reference)", threads, 2, 1, 60},
        {"mmgcn", "MMRec LightGCN (reference)", threads, 1, 1, 60},
    };
    for (size_t k = 0; k < sizeof jobs / sizeof jobs[0]; k++) in_child(baby_row, &jobs[k]);
    in_child(knn_row, &threads);
}

typedef struct {
    double s;
    int threads, batch;
    const char *model;
} scale_job;

static void scale_row(void *arg) {
    scale_job *J = arg;
    pr_dataset *d = bench_baby_shaped(J->s, 7);
    int dims[] = {64, 64};
    pr_features *f = strcmp(J->model, "lightgcn") ? features(d->n_items, 2, dims, 3) : NULL;
    double sec = NAN, cpu = NAN, init_s = NAN, fcpu;
    int batch = J->batch > 0 ? J->batch : 2048;
    spmm_floor(d, J->threads, 2, batch, &fcpu);
    run_model(J->model, d, f, J->threads, 1, batch, &sec, &cpu, &init_s);
    printf("| %gx | %d | %d | %lld | %s | %d | %.2f s | %.2f s | %.2f s | %.1f s | %.0f MiB |\n", J->s, d->n_users,
           d->n_items, (long long)d->train->nnz, J->model, batch, sec, cpu, fcpu, init_s, pr_peak_rss_mib());
    features_free(f);
    pr_dataset_free(d);
}

int main(int argc, char **argv) {
    pr_log_set_level(PR_LOG_QUIET);
    if (argc > 2 && !strcmp(argv[1], "model")) {
        row_job J = {argv[2], "MMRec PyTorch CPU", argc > 3 ? atoi(argv[3]) : 2, argc > 4 ? atoi(argv[4]) : 2,
                     strcmp(argv[2], "lightgcn") != 0, !strcmp(argv[2], "freedom") ? 201 : 60};
        in_child(baby_row, &J);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "scale")) {
        scale_job J = {argc > 2 ? atof(argv[2]) : 1.0, argc > 3 ? atoi(argv[3]) : 2, argc > 5 ? atoi(argv[5]) : 0,
                       argc > 4 ? argv[4] : "lightgcn"};
        printf("| scale | users | items | train | model | batch | wall s / epoch | CPU s / epoch | SpMM floor CPU | init | peak RSS |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|\n");
        in_child(scale_row, &J);
        return 0;
    }
    baby_table(argc > 1 ? atoi(argv[1]) : 2);
    return 0;
}
