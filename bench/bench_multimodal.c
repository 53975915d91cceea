/* bench/bench_multimodal.c: speed and quality of the multimodal models.
 *
 *   speed  A Baby-shaped set (amazon-baby/baby.inter when ../shared/data has
 *          it, else a synthetic one of the same shape: 19,445 users, 7,050
 *          items) with MMRec's feature widths (4,096-d image, 384-d text;
 *          synthetic values). Per model: seconds per epoch, samples/s, the
 *          GEMM rate the model reaches against the same GEMMs timed alone
 *          (the limit) and the machine's sgemm peak; memcpy bandwidth for
 *          the gathers. MMRec's VBPR epoch on this machine class: 53 s.
 *   mls    ../shared/data/mls with its reference features: test Recall and
 *          NDCG @10/20 at the best validation epoch (early stopping on valid
 *          Recall@20, patience 20), time per epoch, best epoch, for BPR-MF,
 *          VBPR, concat and attention with the hyper-parameters chosen on
 *          validation (see docs/models-multimodal.md).
 *   grid   the validation grid those hyper-parameters came from (slow).
 *
 * usage: bench_multimodal [speed] [mls] [grid] [threads=N] [epochs=N]
 * (no argument: speed and mls). Prints markdown. OpenBLAS's core type is
 * printed: a DYNAMIC_ARCH build that does not know the CPU falls back to
 * "Prescott" kernels, 4x slower (set OPENBLAS_CORETYPE=SkylakeX, or Haswell). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/mat.h"
#include "core/pool.h"
#include "core/rng.h"
#include "eval/evaluator.h"
#include "features/preproc.h"
#include "features/store.h"
#include "models/content.h"
#include "models/mlp_scorer.h"
#include "models/model.h"
#include "train/loop.h"
#include "train/sampler.h"

extern char *openblas_get_corename(void) __attribute__((weak));

/* CPU seconds of the whole process (all threads): under a shared, loaded
 * machine the wall clock measures the neighbours too; CPU time / threads is
 * what an idle machine would take (the pool sleeps, it never spins). */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const char *shared_path(const char *rel, char *buf, size_t n) {
    const char *root = getenv("POLYREC_SHARED_DATA");
    snprintf(buf, n, "%s/%s", root ? root : "../shared/data", rel);
    FILE *f = fopen(buf, "rb");
    if (!f) return NULL;
    fclose(f);
    return buf;
}

static pr_dataset *load_inter(const char *path) {
    pr_error err;
    pr_interactions *x = NULL;
    pr_read_opts ro = {0};
    pr_filter_opts fo = {NAN, 0};
    pr_split_opts so;
    pr_dataset *d = NULL;
    if (pr_interactions_read(path, &ro, &x, &err) || pr_interactions_filter(&x, &fo, &err) ||
        pr_split_parse("default", &so, &err)) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        pr_interactions_free(x);
        return NULL;
    }
    so.seed = 999;
    if (pr_dataset_split(x, &so, &d, &err)) fprintf(stderr, "%s: %s\n", path, err.msg);
    return d;
}

/* Baby-shaped interactions when the real file is absent (as bench_core). */
static pr_dataset *baby_synthetic(void) {
    enum { NU = 19445, NI = 7050 };
    pr_rng r;
    pr_rng_init(&r, 1, 1);
    pr_interactions *x = pr_interactions_new();
    pr_interactions_reserve(x, (int64_t)NU * 12, 0, 0, 1);
    char u[16], it[16];
    pr_error err;
    for (int32_t k = 0; k < NU; k++) {
        int len = 5 + (int)(-3.3 * log(1.0 - pr_rng_double(&r)));
        snprintf(u, sizeof u, "%d", k);
        for (int q = 0; q < len; q++) {
            double z = pr_rng_double(&r);
            snprintf(it, sizeof it, "%d", (int)(NI * z * z));
            pr_interactions_push(x, u, it, 1, 0, q < len * 8 / 10 ? 0 : (q < len * 9 / 10 ? 1 : 2), &err);
        }
    }
    pr_filter_opts fo = {NAN, 0};
    pr_split_opts so;
    pr_dataset *d = NULL;
    pr_split_parse("default", &so, &err);
    if (pr_interactions_filter(&x, &fo, &err) || pr_dataset_split(x, &so, &d, &err))
        fprintf(stderr, "synthetic: %s\n", err.msg);
    return d;
}

/* MMRec-width features: image (n, 4096) >= 0 like CNN activations, text (n, 384). */
static pr_features *synthetic_features(int32_t n) {
    pr_features *f = pr_features_new();
    int dims[2] = {4096, 384};
    const char *names[2] = {"image", "text"};
    pr_rng r;
    pr_rng_init(&r, 7, 7);
    pr_error err;
    for (int m = 0; m < 2; m++) {
        float *X = pr_malloc((size_t)n * dims[m], sizeof *X);
        for (int64_t k = 0; k < (int64_t)n * dims[m]; k++) {
            float z = pr_rng_normal(&r);
            X[k] = m == 0 ? (z > 0 ? z : 0) : z * 0.05f;
        }
        if (pr_features_add(f, names[m], n, dims[m], X, NULL, &err)) fprintf(stderr, "%s\n", err.msg);
    }
    return f;
}

/* ---- limits measured in the same run ---------------------------------------- */

/* sgemm 1024^3 over the pool: best GFLOP/s by the wall clock, and by CPU
 * time (GFLOP per CPU second x threads: the rate on an idle machine). */
static double sgemm_peak(pr_pool *pool, double *per_cpu) {
    int M = 1024, N = 1024, K = 1024;
    float *A = pr_alloc_aligned((size_t)M * K, 4), *B = pr_alloc_aligned((size_t)K * N, 4),
          *C = pr_alloc_aligned((size_t)M * N, 4);
    for (int i = 0; i < M * K; i++) A[i] = B[i] = 0.001f * (float)(i % 97);
    double best = 0, best_cpu = 0, flops = 2.0 * M * N * K;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = pr_now(), c0 = cpu_now();
        pr_par_gemm(pool, PR_NOTRANS, PR_NOTRANS, M, N, K, 1, A, K, B, N, 0, C, N);
        best = fmax(best, flops / (pr_now() - t0) / 1e9);
        best_cpu = fmax(best_cpu, flops / ((cpu_now() - c0) / pr_pool_size(pool)) / 1e9);
    }
    pr_free_aligned(A);
    pr_free_aligned(B);
    pr_free_aligned(C);
    *per_cpu = best_cpu;
    return best;
}

/* Seconds for the two content GEMMs of one batch, rows x D x N each way,
 * split over the pool exactly as the models split them. */
static double content_gemms(pr_pool *pool, int rows, int D, int N, double *cpu_secs) {
    float *X = pr_alloc_aligned((size_t)rows * D, 4), *W = pr_alloc_aligned((size_t)D * N, 4),
          *P = pr_alloc_aligned((size_t)rows * N, 4);
    for (int64_t k = 0; k < (int64_t)rows * D; k++) X[k] = 0.001f * (float)(k % 89);
    for (int64_t k = 0; k < (int64_t)D * N; k++) W[k] = 0.001f * (float)(k % 83);
    double best = 1e30, best_cpu = 1e30;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = pr_now(), c0 = cpu_now();
        pr_par_gemm(pool, PR_NOTRANS, PR_NOTRANS, rows, N, D, 1, X, D, W, N, 0, P, N);
        pr_par_gemm(pool, PR_TRANS, PR_NOTRANS, D, N, rows, 1, X, D, P, N, 0, W, N);
        best = fmin(best, pr_now() - t0);
        best_cpu = fmin(best_cpu, cpu_now() - c0);
    }
    *cpu_secs = best_cpu;
    pr_free_aligned(X);
    pr_free_aligned(W);
    pr_free_aligned(P);
    return best;
}

static double memcpy_gbs(void) {
    size_t n = (size_t)256 << 20;
    char *a = malloc(n), *b = malloc(n);
    memset(a, 1, n);
    memset(b, 2, n);
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = pr_now();
        memcpy(b, a, n);
        best = fmax(best, 2.0 * (double)n / (pr_now() - t0) / 1e9); /* read + write */
    }
    free(a);
    free(b);
    return best;
}

/* Mean distinct items per batch (the rows fused models project). */
static double distinct_per_batch(const pr_dataset *d, int batch) {
    pr_sampler s;
    pr_batch_items u;
    pr_error err;
    if (pr_sampler_init(&s, d->train, batch, 1, 999, NULL, &err)) return NAN;
    pr_batch_items_init(&u, d->n_items, batch);
    int64_t nb = pr_sampler_epoch(&s, 1), sum = 0;
    for (int64_t b = 0; b < nb; b++) {
        pr_batch bt;
        pr_sampler_batch(&s, b, NULL, &bt);
        pr_batch_items_build(&u, &bt);
        sum += u.n;
    }
    pr_batch_items_deinit(&u);
    pr_sampler_deinit(&s);
    return (double)sum / (double)nb;
}

/* ---- training ------------------------------------------------------------------ */

typedef struct run_result {
    double sec_per_epoch, cpu_per_epoch, samples_per_s, valid, r10, r20, n10, n20;
    int best_epoch, epochs;
} run_result;

static int run(const char *name, const pr_dataset *d, const pr_features *f, pr_config *c,
               pr_pool *pool, int validate, run_result *out, pr_snapshot *keep) {
    pr_error err;
    pr_model *m = NULL;
    memset(out, 0, sizeof *out);
    if (pr_model_new(pr_model_find(name), d, f, c, pool, &m, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return -1;
    }
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.auc = 0;
    o.mask[0] = d->train;
    pr_train_result res;
    double c0 = cpu_now();
    int rc = pr_train(m, validate ? d->valid : NULL, &o, &res, &err);
    double cpu = cpu_now() - c0;
    if (rc) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
    } else {
        out->epochs = res.epochs_run;
        out->best_epoch = res.best_epoch;
        out->sec_per_epoch = res.train_seconds / res.epochs_run;
        out->cpu_per_epoch = cpu / res.epochs_run; /* includes validation when validating */
        out->samples_per_s = (double)d->train->nnz / out->sec_per_epoch;
        out->valid = res.best_valid;
        if (validate) {
            pr_scorer sc;
            pr_metrics met;
            pr_model_scorer(m, &res.best, &sc);
            if (!(rc = pr_evaluate(&sc, d->test, &o, pool, &met, &err))) {
                out->r10 = pr_metrics_get(&met, "recall@10");
                out->r20 = pr_metrics_get(&met, "recall@20");
                out->n10 = pr_metrics_get(&met, "ndcg@10");
                out->n20 = pr_metrics_get(&met, "ndcg@20");
            }
        }
        if (keep) pr_snapshot_copy(keep, &res.best);
    }
    pr_train_result_free(&res);
    m->ops->free(m);
    return rc;
}

static void set_kv(pr_config *c, const char *kv) {
    char buf[128];
    pr_error err;
    snprintf(buf, sizeof buf, "%s", kv);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        if (pr_config_set(c, tok, eq + 1, &err)) fprintf(stderr, "%s\n", err.msg);
    }
}

/* ---- speed --------------------------------------------------------------------- */

static double loadavg(void) {
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &l) != 1) l = NAN;
    if (f) fclose(f);
    return l;
}

/* Reduce the image modality once with the feature pipeline's PCA, fitted on
 * the items that have training interactions; returns the seconds it took. */
static double reduce_image(pr_features *f, const pr_dataset *d, int k, pr_pool *pool) {
    pr_error err;
    pr_preproc *p = NULL;
    char spec[32];
    snprintf(spec, sizeof spec, "pca=%d", k);
    int32_t *items = pr_malloc((size_t)d->n_items, sizeof *items), n = 0;
    uint8_t *seen = pr_calloc((size_t)d->n_items, 1);
    for (int64_t q = 0; q < d->train->nnz; q++) seen[d->train->indices[q]] = 1;
    for (int32_t i = 0; i < d->n_items; i++)
        if (seen[i]) items[n++] = i;
    double t0 = pr_now();
    pr_modality *img = &f->mod[0];
    if (pr_preproc_new(spec, img->dim, 999, &p, &err) || pr_preproc_fit_modality(p, img, items, n, pool, &err) ||
        pr_preproc_apply_modality(p, img, pool, &err))
        fprintf(stderr, "pca: %s\n", err.msg);
    double secs = pr_now() - t0;
    pr_preproc_free(p);
    free(items);
    free(seen);
    return secs;
}

typedef struct {
    const char *model, *keys;
} setting;

static void speed_rows(const pr_dataset *d, const pr_features *f, pr_pool *pool, int epochs,
                       const setting *set, int n, const char *note) {
    int B = 2048, K = 64, D = f->mod[0].dim + f->mod[1].dim, nth = pr_pool_size(pool);
    int64_t nb = (d->train->nnz + B - 1) / B;
    double R = distinct_per_batch(d, B), cpu_vbpr, cpu_fused;
    double t_vbpr = content_gemms(pool, B, D, K + 1, &cpu_vbpr) * (double)nb;
    double t_fused = content_gemms(pool, (int)R, D, K, &cpu_fused) * (double)nb;
    cpu_vbpr *= (double)nb;
    cpu_fused *= (double)nb;
    for (int k = 0; k < n; k++) {
        pr_config c;
        pr_config_defaults(&c);
        c.epochs = epochs;
        set_kv(&c, set[k].keys);
        int content = strcmp(set[k].model, "bprmf") != 0, vbpr = !strcmp(set[k].model, "vbpr");
        run_result r;
        if (run(set[k].model, d, content ? f : NULL, &c, pool, 0, &r, NULL)) continue;
        double gf = !content ? 0 : vbpr ? 4.0 * B * D * (K + 1) * (double)nb / 1e9 : 4.0 * R * D * K * (double)nb / 1e9;
        double alone = !content ? 0 : vbpr ? t_vbpr : t_fused, alone_cpu = !content ? 0 : vbpr ? cpu_vbpr : cpu_fused;
        double idle = r.cpu_per_epoch / nth; /* what an idle machine would take */
        printf("| %s %s | %s | %d | %.2f | %.2f | %.2f | %.0f | %.0f | %.2f s (cpu %.2f s) | %.0f%% | %.1fx |\n",
               set[k].model, set[k].keys, note, D, r.sec_per_epoch, r.cpu_per_epoch, idle, r.samples_per_s, gf, alone,
               alone_cpu, content ? 100 * alone_cpu / r.cpu_per_epoch : 0, 53.0 / idle);
        fflush(stdout);
    }
}

static void bench_speed(pr_pool *pool, int epochs) {
    char buf[512];
    const char *path = shared_path("amazon-baby/baby.inter", buf, sizeof buf);
    pr_dataset *d = path ? load_inter(path) : baby_synthetic();
    if (!d) return;
    pr_features *f = synthetic_features(d->n_items);
    int nth = pr_pool_size(pool), B = 2048;
    double peak_cpu, peak = sgemm_peak(pool, &peak_cpu), bw = memcpy_gbs(), R = distinct_per_batch(d, B);
    printf("## bench_multimodal speed: %s (%d users, %d items, %lld train), features 4096 + 384, d = 64, "
           "batch %d, %d threads, OpenBLAS core %s, load average %.1f\n\n",
           path ? "amazon-baby" : "Baby-shaped synthetic", d->n_users, d->n_items, (long long)d->train->nnz,
           B, nth, openblas_get_corename ? openblas_get_corename() : "?", loadavg());
    printf("sgemm 1024^3: %.1f GFLOP/s by the wall clock, %.1f GFLOP/s by CPU time (idle-machine rate); "
           "memcpy %.1f GB/s; %.0f distinct items per batch (of %d slots)\n\n",
           peak, peak_cpu, bw, R, 2 * B);
    printf("| model | features | D | wall s/epoch | cpu s/epoch | cpu / threads | samples/s (wall) | content GEMM GFLOP/epoch | "
           "the same GEMMs alone | GEMM share of cpu | MMRec VBPR 53 s / (cpu / threads) |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    static const setting raw[] = {{"bprmf", ""}, {"vbpr", ""}, {"vbpr", "fuse=separate"}, {"concat", ""}, {"attention", ""}};
    speed_rows(d, f, pool, epochs, raw, 5, "raw");
    double secs = reduce_image(f, d, 256, pool);
    char note[64];
    snprintf(note, sizeof note, "image pca=256 once (%.1f s)", secs);
    static const setting reduced[] = {{"vbpr", ""}, {"concat", ""}, {"attention", ""}};
    speed_rows(d, f, pool, epochs, reduced, 3, note);
    printf("\n(load average after: %.1f)\n\n", loadavg());
    pr_features_free(f);
    pr_dataset_free(d);
}

/* ---- quality on mls ------------------------------------------------------------- */

static int load_mls(pr_dataset **d, pr_features **f) {
    char p1[512], p2[512], p3[512];
    const char *inter = shared_path("mls/mls.inter", p1, sizeof p1),
               *img = shared_path("mls/image_feat.npy", p2, sizeof p2),
               *txt = shared_path("mls/text_feat.npy", p3, sizeof p3);
    if (!inter || !img || !txt) {
        printf("(mls: ../shared/data/mls absent, skipped)\n");
        return -1;
    }
    pr_error err;
    *d = load_inter(inter);
    *f = pr_features_new();
    if (!*d || pr_features_load_npy(*f, "image", img, (*d)->items, NULL, &err) ||
        pr_features_load_npy(*f, "text", txt, (*d)->items, NULL, &err)) {
        fprintf(stderr, "mls: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* The defaults, which were chosen on validation Recall@20 (the grid below;
 * docs/models-multimodal.md), and VBPR as MMRec runs it (no modality dropout). */
static const setting chosen[] = {
    {"bprmf", ""},
    {"vbpr", ""},
    {"vbpr", "drop_mod=0"},
    {"concat", ""},
    {"attention", ""},
};

static void print_row(const char *model, const char *keys, const run_result *r) {
    printf("| %s | %s | %.4f | %.4f | %.4f | %.4f | %.4f | %d / %d | %.3f |\n", model, keys, r->valid,
           r->r10, r->r20, r->n10, r->n20, r->best_epoch, r->epochs, r->sec_per_epoch);
    fflush(stdout);
}

static void table_head(const char *title) {
    printf("## %s\n\n", title);
    printf("| model | keys | valid R@20 | test R@10 | test R@20 | test N@10 | test N@20 | best epoch / run | s/epoch |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
}

/* Test metrics of a scorer. */
static void test_metrics(const pr_scorer *sc, const pr_dataset *d, pr_pool *pool, run_result *r) {
    pr_eval_opts o;
    pr_metrics met;
    pr_error err;
    pr_eval_opts_default(&o);
    o.auc = 0;
    o.mask[0] = d->train;
    if (pr_evaluate(sc, d->test, &o, pool, &met, &err)) {
        fprintf(stderr, "evaluate: %s\n", err.msg);
        return;
    }
    r->r10 = pr_metrics_get(&met, "recall@10");
    r->r20 = pr_metrics_get(&met, "recall@20");
    r->n10 = pr_metrics_get(&met, "ndcg@10");
    r->n20 = pr_metrics_get(&met, "ndcg@20");
}

/* The MLP re-ranker on a trained snapshot: top 100 candidates re-ordered. */
static void rerank_row(const char *model, const pr_snapshot *snap, const pr_dataset *d, pr_pool *pool) {
    pr_mlp_scorer_opts o;
    pr_mlp_scorer_defaults(&o);
    pr_mlp_scorer *m = NULL;
    pr_error err;
    int best = 0;
    double t0 = pr_now();
    if (pr_mlp_scorer_new(snap, d->train, &o, pool, &m, &err) || pr_mlp_scorer_fit(m, d->valid, &best, &err)) {
        fprintf(stderr, "mlp scorer: %s\n", err.msg);
        pr_mlp_scorer_free(m);
        return;
    }
    run_result r = {0};
    r.sec_per_epoch = (pr_now() - t0) / PR_MAX(best, 1);
    r.best_epoch = best;
    pr_scorer sc;
    pr_mlp_scorer_as_scorer(m, &sc);
    test_metrics(&sc, d, pool, &r);
    r.valid = NAN;
    char keys[64];
    snprintf(keys, sizeof keys, "+ MLP re-ranker (top %d)", o.n_cand);
    print_row(model, keys, &r);
    pr_mlp_scorer_free(m);
}

static void bench_mls(pr_pool *pool, const setting *set, int n, const char *title, int rerank) {
    pr_dataset *d = NULL;
    pr_features *f = NULL;
    if (load_mls(&d, &f) == 0) {
        table_head(title);
        for (int k = 0; k < n; k++) {
            pr_config c;
            pr_config_defaults(&c);
            set_kv(&c, set[k].keys);
            run_result r;
            pr_snapshot snap = {0};
            if (run(set[k].model, d, strcmp(set[k].model, "bprmf") ? f : NULL, &c, pool, 1, &r, &snap) == 0) {
                print_row(set[k].model, set[k].keys, &r);
                if (rerank) rerank_row(set[k].model, &snap, d, pool);
            }
            pr_snapshot_free(&snap);
        }
        printf("\n");
    }
    pr_features_free(f);
    pr_dataset_free(d);
}

/* The validation grid the defaults come from (each row is one run). */
static const setting grid[] = {
    {"vbpr", "drop_mod=0"},
    {"vbpr", "drop_mod=0 wd=0.002"},
    {"vbpr", "drop_mod=0 wd=0.01"},
    {"vbpr", "drop_mod=0 fuse=separate"},
    {"vbpr", "drop_mod=0.5"},
    {"vbpr", "drop_mod=0.5 wd=0.001"},
    {"concat", "residual=0 wd=0"},
    {"concat", "residual=0 wd=0 layers=1"},
    {"concat", "residual=0 wd=0 layers=1 out=128"},
    {"concat", "residual=0 wd=0.01"},
    {"concat", "residual=0 wd=0 drop_mod=0.5"},
    {"concat", "residual=1 wd=0"},
    {"concat", "residual=1 wd=0.01"},
    {"concat", "residual=1 wd=0.03"},
    {"concat", "residual=1 wd=0.1"},
    {"concat", "residual=1 wd=0.01 drop_mod=0.5"},
    {"attention", "wd=0 drop_mod=0"},
    {"attention", "wd=0.01 drop_mod=0"},
    {"attention", "wd=0 drop_mod=0.5"},
    {"attention", "wd=0.01 drop_mod=0.5"},
};

int main(int argc, char **argv) {
    int threads = 2, epochs = 3, speed = 0, mls = 0, do_grid = 0;
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "speed")) speed = 1;
        else if (!strcmp(argv[k], "mls")) mls = 1;
        else if (!strcmp(argv[k], "grid")) do_grid = 1;
        else if (!strncmp(argv[k], "threads=", 8)) threads = atoi(argv[k] + 8);
        else if (!strncmp(argv[k], "epochs=", 7)) epochs = atoi(argv[k] + 7);
        else {
            fprintf(stderr, "usage: bench_multimodal [speed] [mls] [grid] [threads=N] [epochs=N]\n");
            return 2;
        }
    }
    if (!speed && !mls && !do_grid) speed = mls = 1;
    pr_log_set_level(getenv("PR_VERBOSE") ? 1 : 0);
    pr_pool *pool = pr_pool_new(threads);
    pr_blas_threads(1);
    if (speed) bench_speed(pool, epochs);
    if (mls)
        bench_mls(pool, chosen, (int)(sizeof chosen / sizeof *chosen),
                  "bench_multimodal mls (reference features), default settings", 1);
    if (do_grid)
        bench_mls(pool, grid, (int)(sizeof grid / sizeof *grid), "bench_multimodal grid on mls (choose by valid R@20)", 0);
    pr_pool_free(pool);
    printf("peak RSS %.0f MiB\n", pr_peak_rss_mib());
    return 0;
}
