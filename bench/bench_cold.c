/* bench/bench_cold.c: the cost of cold start at serving time, on a synthetic
 * model the size of mls (600 users, 2,000 items, d = 64, 40 interactions per
 * user, a ridge mapper over 260-d content):
 *   - adding 1,000 items one call at a time (each call: lock, open and verify
 *     the file, rewrite it atomically with fsync), and 1,000 in one call;
 *   - the mapper tower per item;
 *   - fold-in of a new user (k = 5 items) and a history recommendation.
 * usage: bench_cold [n_items=2000] [adds=1000]. Prints markdown. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/rng.h"
#include "models/foldin.h"
#include "models/mapper.h"
#include "models/modelfile.h"
#include "train/loop.h"

static const char *PATH = "build/bench_cold.model";

/* CPU seconds of this process: on a shared machine, wall time measures the
 * neighbours and the disk as much as the code. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static pr_dataset *random_data(int32_t nu, int32_t ni, int per, pr_rng *r, pr_error *err) {
    pr_interactions *x = pr_interactions_new();
    char u[32], it[32];
    for (int32_t a = 0; a < nu; a++)
        for (int k = 0; k < per; k++) {
            snprintf(u, sizeof u, "u%d", a);
            snprintf(it, sizeof it, "i%u", pr_rng_below(r, (uint32_t)ni));
            if (pr_interactions_push(x, u, it, 1, 0, -1, err)) return NULL;
        }
    pr_filter_opts fo = {NAN, 0};
    pr_split_opts so;
    pr_dataset *d = NULL;
    if (pr_interactions_filter(&x, &fo, err) || pr_split_parse("random", &so, err)) return NULL;
    so.seed = 1;
    if (pr_dataset_split(x, &so, &d, err)) return NULL;
    return d;
}

int main(int argc, char **argv) {
    int32_t ni = argc > 1 ? atoi(argv[1]) : 2000;
    int adds = argc > 2 ? atoi(argv[2]) : 1000;
    pr_log_set_level(0);
    pr_error err;
    pr_rng r;
    pr_rng_init(&r, 1, 1);
    pr_dataset *d = random_data(600, ni, 40, &r, &err);
    if (!d) { fprintf(stderr, "bench_cold: %s\n", err.msg); return 1; }
    ni = d->n_items;
    int D = 260;
    float *X = malloc((size_t)ni * D * sizeof *X);
    for (int64_t k = 0; k < (int64_t)ni * D; k++) X[k] = pr_rng_normal(&r);
    pr_features *f = pr_features_new();
    pr_features_add(f, "content", ni, D, X, NULL, &err);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = 1;
    pr_model *m = NULL;
    pr_train_result res;
    pr_eval_opts eo;
    pr_eval_opts_default(&eo);
    eo.mask[0] = d->train;
    pr_tower *t = NULL;
    pr_mapper_opts mo;
    pr_mapper_opts_default(&mo);
    int32_t *rows = malloc((size_t)ni * sizeof *rows);
    for (int32_t i = 0; i < ni; i++) rows[i] = i;
    pr_buf tb;
    pr_buf_init(&tb);
    if (pr_model_new(pr_model_find("bprmf"), d, f, &c, NULL, &m, &err) || pr_train(m, NULL, &eo, &res, &err) ||
        pr_mapper_fit(f, &res.best, rows, ni, &mo, NULL, &t, &err) || pr_mapper_save(t, &tb) ||
        pr_modelfile_save_tower(PATH, m, &res.best, NULL, NULL, &tb, &err)) {
        fprintf(stderr, "bench_cold: %s\n", err.msg);
        return 1;
    }
    /* the tower */
    float v[64], b;
    const float *x[1];
    double t0 = pr_now();
    for (int32_t i = 0; i < ni; i++) {
        x[0] = X + (int64_t)i * D;
        t->ops->encode(t, x, v, &b, &err);
    }
    double tower_us = (pr_now() - t0) / ni * 1e6;
    /* fold-in + recommendation from a 5-item history */
    pr_recsys rs;
    pr_recsys_open(&rs, PATH, &err);
    int32_t hist[5] = {1, 20, 300, 4000 % ni, 77}, idx[20];
    float val[20];
    int reps = 200;
    t0 = pr_now();
    for (int k = 0; k < reps; k++) pr_recsys_recommend_history(&rs, hist, 5, 20, NULL, idx, val, &err);
    double hist_us = (pr_now() - t0) / reps * 1e6;
    pr_recsys_close(&rs);
    struct stat_ { long size; } st = {0};
    FILE *fp = fopen(PATH, "rb");
    if (fp) { fseek(fp, 0, SEEK_END); st.size = ftell(fp); fclose(fp); }
    /* single adds */
    double worst = 0, c0 = cpu_now();
    t0 = pr_now();
    for (int k = 0; k < adds; k++) {
        char id[32];
        snprintf(id, sizeof id, "new-%d", k);
        const char *ids[1] = {id};
        x[0] = X + (int64_t)(k % ni) * D;
        t->ops->encode(t, x, v, &b, &err);
        double a = pr_now();
        if (pr_modelfile_add_items(PATH, 1, ids, v, NULL, &err)) { fprintf(stderr, "bench_cold: %s\n", err.msg); return 1; }
        worst = PR_MAX(worst, pr_now() - a);
    }
    double single_ms = (pr_now() - t0) / adds * 1e3, single_cpu = (cpu_now() - c0) / adds * 1e3;
    /* one batch */
    float *Vb = malloc((size_t)adds * 64 * sizeof *Vb);
    char **names = malloc((size_t)adds * sizeof *names);
    for (int k = 0; k < adds; k++) {
        names[k] = malloc(32);
        snprintf(names[k], 32, "batch-%d", k);
        x[0] = X + (int64_t)(k % ni) * D;
        t->ops->encode(t, x, Vb + (int64_t)k * 64, &b, &err);
    }
    t0 = pr_now();
    c0 = cpu_now();
    if (pr_modelfile_add_items(PATH, adds, (const char *const *)names, Vb, NULL, &err)) { fprintf(stderr, "bench_cold: %s\n", err.msg); return 1; }
    double batch_ms = (pr_now() - t0) * 1e3, batch_cpu = (cpu_now() - c0) * 1e3;
    printf("## bench_cold: cold start at serving time (%d users, %d items, d=64, %d-d content, file %.1f MB)\n\n",
           d->n_users, ni, D, st.size / 1e6);
    printf("| what | time |\n|---|---|\n");
    printf("| mapper tower (ridge), one item | %.1f us |\n", tower_us);
    printf("| fold-in from 5 items + top 20 of %d items | %.1f us |\n", ni, hist_us);
    printf("| add one item (lock, open + verify, atomic rewrite with fsync), %d calls | %.2f ms per item wall (worst %.1f ms), %.2f ms CPU |\n",
           adds, single_ms, worst * 1e3, single_cpu);
    printf("| add %d items in one call | %.1f ms wall, %.1f ms CPU (%.3f ms per item) |\n", adds, batch_ms, batch_cpu, batch_ms / adds);
    for (int k = 0; k < adds; k++) free(names[k]);
    free(names);
    free(Vb);
    free(rows);
    pr_buf_free(&tb);
    t->ops->free(t);
    pr_train_result_free(&res);
    m->ops->free(m);
    pr_features_free(f);
    pr_dataset_free(d);
    unlink(PATH);
    return 0;
}
