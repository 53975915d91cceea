/* tests/models/test_graph.h: helpers shared by the graph model tests
 * (test_graph_*.c): model construction, central-difference gradient checks,
 * planted content features, train + evaluate, snapshot comparison. */
#ifndef PR_TESTS_MODELS_TEST_GRAPH_H
#define PR_TESTS_MODELS_TEST_GRAPH_H

#include <math.h>

#include "common/synth.h"
#include "core/log.h"
#include "core/rng.h"
#include "models/model.h"
#include "t.h"
#include "train/loop.h"

static inline pr_model *g_make(const char *name, const pr_dataset *d, const pr_features *f, pr_config *c,
                        pr_pool *pool) {
    pr_error err;
    pr_model *m = NULL;
    const pr_model_ops *ops = pr_model_find(name);
    if (!ops) return NULL;
    if (pr_model_new(ops, d, f, c, pool, &m, &err) != 0) {
        fprintf(stderr, "  %s: %s\n", name, err.msg);
        return NULL;
    }
    return m;
}

static int g_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Central differences of the batch loss in every parameter against the
 * model's dense gradient. Each entry is compared with three estimates: the
 * fourth-order stencil (8 (f(+h) - f(-h)) - (f(+2h) - f(-2h))) / 12h, which
 * keeps curvature (normalisations, softmax) out at a step well above float
 * rounding of the loss, and plain central differences at h/3 and h/10, which
 * stay clear of kinks (leaky ReLU inputs near zero) that the larger steps
 * straddle; the entry's error is the smallest of the three relative errors.
 * A wrong gradient is wrong at every step, so this loses no power against
 * bugs. Returns the (max_skip+1)-th largest entry error: models with kinks
 * may leave max_skip entries whose kink is closer than h/10 (smooth models
 * pass 0). Parameters are redrawn with scale `scale`; forward must
 * recompute everything from params. */
static inline double g_gradcheck_ex(pr_model *m, const pr_batch *b, float scale, float eps, uint64_t seed,
                                    int max_skip, int64_t stride) {
    pr_rng r;
    pr_rng_init(&r, seed, 2);
    for (int64_t k = 0; k < m->n_params; k++) m->params[k] = scale * pr_rng_normal(&r);
    m->ops->forward(m, b);
    m->ops->backward(m, b);
    float *g = malloc((size_t)m->n_params * sizeof *g);
    double *rel = malloc((size_t)m->n_params * sizeof *rel);
    if (m->ops->dense_grad) m->ops->dense_grad(m, g);
    else memcpy(g, m->grads, (size_t)m->n_params * sizeof *g);
    double worst = 0;
    int64_t at = -1, n_rel = 0;
    for (int64_t k = 0; k < m->n_params; k += stride) {
        float keep = m->params[k];
        const float steps[8] = {eps, -eps, 2 * eps, -2 * eps, eps / 3, -eps / 3, eps / 10, -eps / 10};
        double f[8];
        for (int q = 0; q < 8; q++) {
            m->params[k] = keep + steps[q];
            f[q] = m->ops->forward(m, b);
        }
        m->params[k] = keep;
        double num[3] = {(8.0 * (f[0] - f[1]) - (f[2] - f[3])) / (12.0 * eps), (f[4] - f[5]) / (2.0 * steps[4]),
                         (f[6] - f[7]) / (2.0 * steps[6])};
        double e = INFINITY;
        for (int q = 0; q < 3; q++) e = fmin(e, fabs(num[q] - g[k]) / fmax(1e-3, fabs(num[q]) + fabs(g[k])));
        rel[n_rel++] = e;
        if (e > worst) { worst = e; at = k; }
    }
    m->ops->forward(m, b);
    qsort(rel, (size_t)n_rel, sizeof *rel, g_desc);
    double res = max_skip < n_rel ? rel[max_skip] : 0.0;
    if (worst > 1e-3)
        fprintf(stderr, "  worst relative error %g at param %lld (analytic %g); after %d allowed: %g\n", worst,
                (long long)at, at >= 0 ? g[at] : 0.0, max_skip, res);
    free(g);
    free(rel);
    return res;
}

/* Features that carry the cluster structure of synth_clusters: item i of
 * cluster c = i / (n_items / n_clusters) gets centroid c + noise, per modality
 * of dims[m]; modality 1 is noisier. Built by hand (the store is a plain struct). */
static inline pr_features *g_features(int32_t n_items, int n_clusters, int n_mod, const int *dims, uint64_t seed) {
    pr_features *f = calloc(1, sizeof *f);
    pr_rng r;
    pr_rng_init(&r, seed, 5);
    int32_t per = n_items / n_clusters;
    static const char *names[] = {"image", "text", "audio"};
    for (int m = 0; m < n_mod; m++) {
        int dim = dims[m];
        float *C = malloc((size_t)n_clusters * dim * sizeof *C);
        for (int64_t k = 0; k < (int64_t)n_clusters * dim; k++) C[k] = pr_rng_normal(&r);
        float *X = malloc((size_t)n_items * dim * sizeof *X);
        float noise = m == 0 ? 0.5f : 1.0f;
        for (int32_t i = 0; i < n_items; i++) {
            int c = per > 0 ? (int)(i / per) : 0;
            if (c >= n_clusters) c = n_clusters - 1;
            for (int k = 0; k < dim; k++) X[(int64_t)i * dim + k] = C[c * dim + k] + noise * pr_rng_normal(&r);
        }
        free(C);
        pr_modality *md = &f->mod[f->n_mod++];
        snprintf(md->name, sizeof md->name, "%s", names[m % 3]);
        md->n_items = n_items;
        md->dim = dim;
        md->X = X;
        md->missing = calloc((size_t)n_items, 1);
    }
    return f;
}

static inline void g_features_free(pr_features *f) {
    if (!f) return;
    for (int m = 0; m < f->n_mod; m++) {
        free(f->mod[m].X);
        free(f->mod[m].missing);
    }
    free(f);
}

/* Train with validation and early stopping; test metric of the best epoch
 * (NAN on failure). keep (optional) receives the best snapshot. */
static inline double g_fit_eval(const char *name, const pr_dataset *d, const pr_features *f, pr_config *c,
                         pr_pool *pool, const char *metric, pr_snapshot *keep) {
    pr_error err;
    pr_model *m = g_make(name, d, f, c, pool);
    if (!m) return NAN;
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.mask[0] = d->train;
    pr_train_result res;
    double v = NAN;
    if (pr_train(m, d->valid, &o, &res, &err) == 0) {
        pr_scorer sc;
        pr_model_scorer(m, &res.best, &sc);
        pr_metrics met;
        if (pr_evaluate(&sc, d->test, &o, pool, &met, &err) == 0) v = pr_metrics_get(&met, metric);
        if (keep) pr_snapshot_copy(keep, &res.best);
    } else {
        fprintf(stderr, "  train %s: %s\n", name, err.msg);
    }
    pr_train_result_free(&res);
    m->ops->free(m);
    return v;
}

static inline int g_snap_equal(const pr_snapshot *a, const pr_snapshot *b) {
    if (a->n_users != b->n_users || a->n_items != b->n_items || a->d != b->d || !a->U || !b->U) return 0;
    return memcmp(a->U, b->U, (size_t)a->n_users * a->d * sizeof(float)) == 0 &&
           memcmp(a->V, b->V, (size_t)a->n_items * a->d * sizeof(float)) == 0;
}

/* `name` trained three epochs on a small planted set with two modalities,
 * twice on one thread and (across_threads) once on two: every snapshot must
 * be bit-identical to the first. */
static inline void g_check_bit_identical(const char *name, int across_threads) {
    pr_dataset *d = synth_clusters(120, 90, 4, 12, 0.9, 3);
    int dims[] = {6, 10};
    pr_features *f = g_features(90, 4, 2, dims, 4);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = 3;
    c.batch = 64;
    c.lr = 0.01f;
    c.d = 16;
    c.reg = 1e-3f;
    pr_snapshot s[3];
    int runs = across_threads ? 3 : 2;
    pr_pool *p1 = pr_pool_new(1), *p2 = pr_pool_new(2);
    for (int k = 0; k < runs; k++) g_fit_eval(name, d, f, &c, k < 2 ? p1 : p2, "recall@20", &s[k]);
    for (int k = 1; k < runs; k++) CHECK(g_snap_equal(&s[0], &s[k]));
    for (int k = 0; k < runs; k++) pr_snapshot_free(&s[k]);
    pr_pool_free(p1);
    pr_pool_free(p2);
    g_features_free(f);
    synth_free(d);
}

static inline double g_gradcheck(pr_model *m, const pr_batch *b, float scale, float eps, uint64_t seed,
                                 int max_skip) {
    return g_gradcheck_ex(m, b, scale, eps, seed, max_skip, 1);
}

/* One Adam step from fresh moments moves every parameter with a nonzero
 * gradient by lr g / (|g| + eps) ~ lr sign(g) and leaves the others: checks
 * that a model's optimizer plumbing (row slots, wide-table splits) updates
 * exactly the right entries. Entries [lo, hi) of the block are checked;
 * returns the number of wrong ones. */
static inline int64_t g_first_step_check(pr_model *m, const pr_batch *b, int64_t lo, int64_t hi, float lr) {
    m->ops->forward(m, b);
    m->ops->backward(m, b);
    float *g = malloc((size_t)m->n_params * sizeof *g), *w0 = malloc((size_t)m->n_params * sizeof *w0);
    if (m->ops->dense_grad) m->ops->dense_grad(m, g);
    else memcpy(g, m->grads, (size_t)m->n_params * sizeof *g);
    memcpy(w0, m->params, (size_t)m->n_params * sizeof *w0);
    m->ops->step(m, b);
    int64_t bad = 0, moved = 0;
    for (int64_t k = lo; k < hi; k++) {
        double dw = (double)m->params[k] - w0[k];
        double want = g[k] == 0.0f ? 0.0 : -lr * g[k] / (fabs(g[k]) + 1e-8);
        if (fabs(dw - want) > 1e-3 * lr + 1e-6 * fabs(w0[k])) bad++;
        moved += dw != 0;
    }
    if (moved == 0) bad++; /* nothing moved: the check would be vacuous */
    free(g);
    free(w0);
    return bad;
}

/* A fixed batch over a tiny graph. */
static const int32_t g_bu[] = {0, 1, 2, 0, 5, 3}, g_bi[] = {1, 2, 3, 1, 7, 0}, g_bj[] = {4, 0, 7, 6, 1, 5};

#endif
