/* tests/models/test_baselines.c: MostPop, ItemKNN and BPR-MF. */
#include <math.h>

#include "common/synth.h"
#include "core/rng.h"
#include "models/itemknn.h"
#include "models/model.h"
#include "core/log.h"
#include "t.h"
#include "train/loop.h"
#include "train/sampler.h"

static pr_model *make(const char *name, const pr_dataset *d, pr_config *c, pr_pool *pool) {
    pr_error err;
    pr_model *m = NULL;
    const pr_model_ops *ops = pr_model_find(name);
    if (!ops || pr_model_new(ops, d, NULL, c, pool, &m, &err) != 0) return NULL;
    return m;
}

static double fit_eval(const char *name, const pr_dataset *d, pr_config *c, pr_pool *pool,
                       const char *metric, pr_snapshot *keep) {
    pr_error err;
    pr_model *m = make(name, d, c, pool);
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
    }
    pr_train_result_free(&res);
    m->ops->free(m);
    return v;
}

TEST(test_mostpop_ranks_by_count) {
    /* item 2 has 3 train interactions, item 0 two, item 1 one */
    int32_t u[] = {0, 1, 2, 0, 1, 2, 3, 3};
    int32_t i[] = {2, 2, 2, 0, 0, 1, 3, 1};
    int8_t l[] = {0, 0, 0, 0, 0, 0, 2, 0};
    pr_dataset *d = synth_from_coo(4, 4, 8, u, i, l);
    pr_config c;
    pr_config_defaults(&c);
    pr_error err;
    pr_model *m = make("mostpop", d, &c, NULL);
    CHECK(m != NULL);
    CHECK_EQ_INT(m->ops->fit(m, &err), 0);
    pr_snapshot s;
    CHECK_EQ_INT(m->ops->snapshot(m, &s, &err), 0);
    CHECK_NEAR(s.b[2], 3, 0);
    CHECK_NEAR(s.b[0], 2, 0);
    CHECK_NEAR(s.b[1], 2, 0);
    CHECK_NEAR(s.b[3], 0, 0);
    pr_snapshot_free(&s);
    m->ops->free(m);
    synth_free(d);
}

TEST(test_itemknn_similarity_by_hand) {
    /* users: 0 {0,1}, 1 {0,1,2}, 2 {2}; item user-sets: 0 {0,1}, 1 {0,1}, 2 {1,2}
     * cos(0,1) = 2 / (sqrt2 sqrt2) = 1; cos(0,2) = 1 / (sqrt2 sqrt2) = 0.5 */
    int32_t u[] = {0, 0, 1, 1, 1, 2};
    int32_t i[] = {0, 1, 0, 1, 2, 2};
    int8_t l[] = {0, 0, 0, 0, 0, 0};
    pr_dataset *d = synth_from_coo(3, 3, 6, u, i, l);
    pr_config c;
    pr_config_defaults(&c);
    pr_error err;
    pr_model *m = make("itemknn", d, &c, NULL);
    CHECK_EQ_INT(m->ops->fit(m, &err), 0);
    const pr_csr *S = pr_itemknn_matrix(m);
    CHECK_EQ_INT(pr_csr_row_len(S, 0), 2);
    CHECK_EQ_INT(S->indices[0], 1);
    CHECK_NEAR(S->val[0], 1.0, 1e-6);
    CHECK_NEAR(S->val[1], 0.5, 1e-6);
    /* user 2 has item 2: scores = S[2,:] = (0.5, 0.5, 0) */
    float out[3];
    int32_t users[] = {2};
    CHECK_EQ_INT(m->ops->score(m, users, 1, out), 0);
    CHECK_NEAR(out[0], 0.5, 1e-6);
    CHECK_NEAR(out[2], 0.0, 1e-6);
    m->ops->free(m);
    /* shrinkage divides by (n_i n_j + shrink): cos(0,1) = 2 / (2 + 2) */
    pr_config_set(&c, "shrink", "2", &err);
    m = make("itemknn", d, &c, NULL);
    CHECK_EQ_INT(m->ops->fit(m, &err), 0);
    CHECK_NEAR(pr_itemknn_matrix(m)->val[0], 0.5, 1e-6);
    m->ops->free(m);
    synth_free(d);
}

/* Central differences of the BPR-MF loss against its backward pass. */
static void gradcheck_bprmf(int bias) {
    pr_dataset *d = synth_clusters(6, 8, 2, 4, 0.8, 5);
    pr_config c;
    pr_config_defaults(&c);
    c.d = 4;
    c.batch = 5;
    c.reg = 0.05f;
    pr_error err;
    if (bias) pr_config_set(&c, "bias", "1", &err);
    pr_model *m = make("bprmf", d, &c, NULL);
    CHECK(m != NULL);
    if (!m) return;
    /* larger weights than the init so the loss is not flat */
    pr_rng r;
    pr_rng_init(&r, 1, 2);
    for (int64_t k = 0; k < m->n_params; k++) m->params[k] = 0.5f * pr_rng_normal(&r);
    int32_t bu[] = {0, 1, 2, 0, 5}, bi[] = {1, 2, 3, 1, 7}, bj[] = {4, 0, 7, 6, 1};
    pr_batch b = {5, 1, bu, bi, bj, 0};
    m->ops->forward(m, &b);
    m->ops->backward(m, &b);
    float *g = malloc((size_t)m->n_params * sizeof *g);
    m->ops->dense_grad(m, g);
    double worst = 0;
    for (int64_t k = 0; k < m->n_params; k++) {
        float keep = m->params[k], eps = 1e-2f;
        m->params[k] = keep + eps;
        double lp = m->ops->forward(m, &b);
        m->params[k] = keep - eps;
        double lm = m->ops->forward(m, &b);
        m->params[k] = keep;
        double num = (lp - lm) / (2.0 * eps);
        double rel = fabs(num - g[k]) / fmax(1e-3, fabs(num) + fabs(g[k]));
        if (rel > worst) worst = rel;
    }
    CHECK(worst < 2e-3);
    if (worst >= 2e-3) fprintf(stderr, "  worst relative error %g\n", worst);
    free(g);
    m->ops->free(m);
    synth_free(d);
}

TEST(test_bprmf_gradcheck) { gradcheck_bprmf(0); }
TEST(test_bprmf_gradcheck_bias) { gradcheck_bprmf(1); }

TEST(test_bprmf_beats_mostpop_on_planted_structure) {
    int small = t_sanitized();
    pr_dataset *d = synth_clusters(small ? 200 : 400, small ? 200 : 400, 8, 20, 0.9, 7);
    pr_pool *pool = pr_pool_new(2);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = small ? 15 : 30;
    c.batch = 256;
    c.lr = 0.01f;
    c.patience = 50;
    double pop = fit_eval("mostpop", d, &c, pool, "recall@20", NULL);
    double bpr = fit_eval("bprmf", d, &c, pool, "recall@20", NULL);
    double knn = fit_eval("itemknn", d, &c, pool, "recall@20", NULL);
    fprintf(stderr, "  recall@20: mostpop %.4f itemknn %.4f bprmf %.4f\n", pop, knn, bpr);
    CHECK(bpr > 1.3 * pop);
    CHECK(knn > 1.3 * pop);
    synth_free(d);
    pr_pool_free(pool);
}

TEST(test_bprmf_bit_identical) {
    pr_dataset *d = synth_clusters(100, 80, 4, 12, 0.9, 3);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = 3;
    c.batch = 64;
    c.lr = 0.01f;
    pr_snapshot s[3];
    pr_pool *p1 = pr_pool_new(1), *p2 = pr_pool_new(2);
    fit_eval("bprmf", d, &c, p1, "recall@20", &s[0]);
    fit_eval("bprmf", d, &c, p1, "recall@20", &s[1]);
    fit_eval("bprmf", d, &c, p2, "recall@20", &s[2]);
    size_t nu = (size_t)d->n_users * c.d * sizeof(float), ni = (size_t)d->n_items * c.d * sizeof(float);
    CHECK(memcmp(s[0].U, s[1].U, nu) == 0 && memcmp(s[0].V, s[1].V, ni) == 0);
    /* the slot reduction makes even the 2-thread run identical */
    CHECK(memcmp(s[0].U, s[2].U, nu) == 0 && memcmp(s[0].V, s[2].V, ni) == 0);
    c.seed = 1000;
    pr_snapshot other;
    fit_eval("bprmf", d, &c, p1, "recall@20", &other);
    CHECK(memcmp(s[0].U, other.U, nu) != 0);
    for (int k = 0; k < 3; k++) pr_snapshot_free(&s[k]);
    pr_snapshot_free(&other);
    pr_pool_free(p1);
    pr_pool_free(p2);
    synth_free(d);
}

/* Every user has every item but one, so each training pair's negative is
 * forced: the fused hogwild epoch and per-sample deterministic SGD (batch 1)
 * then see the same triples in the same order (the epoch's permutation) and
 * must land on the same vectors; with lr = 0 the epoch's loss must equal the
 * BPR loss of the initial vectors, computed here in double. */
static pr_dataset *forced_negatives(int n) {
    int32_t u[64], it[64];
    int8_t lab[64];
    int64_t k = 0;
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            if (b != a) { u[k] = a; it[k] = b; lab[k++] = 0; }
    return synth_from_coo(n, n, k, u, it, lab);
}

static pr_model *sgd_model(const pr_dataset *d, int hogwild, float lr, int bias, pr_pool *pool) {
    pr_config c;
    pr_config_defaults(&c);
    c.d = 20; /* not a multiple of the 16 lanes: the tail loops run too */
    c.batch = 1;
    c.lr = lr;
    c.reg = 0.01f;
    pr_error err;
    pr_config_set(&c, "optim", "sgd", &err);
    if (hogwild) pr_config_set(&c, "hogwild", "1", &err);
    if (bias) pr_config_set(&c, "bias", "1", &err);
    static pr_config keep[2];
    keep[hogwild] = c; /* the model borrows its config */
    return make("bprmf", d, &keep[hogwild], pool);
}

static void fused_epoch_matches(int bias) {
    pr_dataset *d = forced_negatives(6);
    pr_pool *pool = pr_pool_new(1);
    pr_model *h = sgd_model(d, 1, 0.0f, bias, pool), *s = sgd_model(d, 0, 0.3f, bias, pool);
    CHECK(h && s && h->ops->run_epoch);
    if (!h || !s) return;
    pr_error err;
    pr_sampler smp;
    CHECK(pr_sampler_init(&smp, d->train, 1, 1, 9, NULL, &err) == 0);
    pr_sampler_epoch(&smp, 1);
    pr_epoch_plan plan;
    pr_sampler_plan(&smp, &plan);
    const int64_t *order = pr_sampler_order(&smp);
    /* lr = 0: the loss of the initial vectors */
    const float *U = h->params, *V = h->params + (int64_t)d->n_users * 20;
    double want = 0, reg = 0.01;
    for (int64_t k = 0; k < plan.n; k++) {
        int32_t u = plan.u[k], i = plan.i[k], j = u; /* the only item u lacks */
        double x = 0, nrm = 0;
        for (int q = 0; q < 20; q++) {
            x += (double)U[u * 20 + q] * (V[i * 20 + q] - V[j * 20 + q]);
            nrm += (double)U[u * 20 + q] * U[u * 20 + q] + (double)V[i * 20 + q] * V[i * 20 + q] +
                   (double)V[j * 20 + q] * V[j * 20 + q];
        }
        want += log1p(exp(-x)) + reg * nrm;
    }
    want /= (double)plan.n;
    double got = NAN;
    CHECK_EQ_INT(h->ops->run_epoch(h, &plan, &got), 1);
    CHECK_NEAR(got, want, 1e-5 * want);
    /* lr = 0.3: the same path as per-sample SGD over the same order */
    h->ops->free(h);
    h = sgd_model(d, 1, 0.3f, bias, pool);
    if (bias) /* nonzero biases, the same in both */
        for (int32_t i = 0; i < d->n_items; i++)
            h->params[h->n_params - d->n_items + i] = s->params[s->n_params - d->n_items + i] = 0.1f * (float)i;
    CHECK(memcmp(h->params, s->params, (size_t)h->n_params * sizeof(float)) == 0); /* same init */
    float *init = malloc((size_t)h->n_params * sizeof *init);
    memcpy(init, h->params, (size_t)h->n_params * sizeof *init);
    h->ops->run_epoch(h, &plan, &got);
    CHECK_EQ_INT(s->ops->run_epoch(s, &plan, &got), 0); /* not hogwild: the batch path */
    for (int64_t b = 0; b < plan.n; b++) {
        int32_t bu = plan.u[order[b]], bi = plan.i[order[b]], bj = bu;
        pr_batch bt = {1, 1, &bu, &bi, &bj, 1};
        s->ops->forward(s, &bt);
        s->ops->backward(s, &bt);
        s->ops->step(s, &bt);
    }
    double worst = 0;
    for (int64_t k = 0; k < h->n_params; k++) worst = fmax(worst, fabs(h->params[k] - s->params[k]));
    CHECK(worst < 1e-5);
    if (worst >= 1e-5) fprintf(stderr, "  worst difference %g\n", worst);
    double moved = 0; /* and the epoch did move them */
    for (int64_t k = 0; k < h->n_params; k++) moved = fmax(moved, fabs(h->params[k] - init[k]));
    CHECK(moved > 0.01);
    free(init);
    pr_sampler_deinit(&smp);
    h->ops->free(h);
    s->ops->free(s);
    pr_pool_free(pool);
    synth_free(d);
}

TEST(test_bprmf_fused_epoch_matches_per_sample_sgd) {
    fused_epoch_matches(0);
    fused_epoch_matches(1);
}

static void hogwild_learns_and_repeats(const char *order) {
    int small = t_sanitized();
    pr_dataset *d = synth_clusters(small ? 200 : 400, small ? 200 : 400, 8, 20, 0.9, 7);
    pr_pool *p1 = pr_pool_new(1), *p2 = pr_pool_new(2);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = small ? 15 : 30;
    c.batch = 256;
    c.lr = 0.05f;
    c.patience = 50;
    pr_error err;
    pr_config_set(&c, "optim", "sgd", &err);
    pr_config_set(&c, "hogwild", "1", &err);
    pr_config_set(&c, "order", order, &err);
    double pop = fit_eval("mostpop", d, &c, p2, "recall@20", NULL);
    pr_snapshot s[2];
    double hog2 = fit_eval("bprmf", d, &c, p2, "recall@20", NULL);
    double hog1 = fit_eval("bprmf", d, &c, p1, "recall@20", &s[0]);
    fit_eval("bprmf", d, &c, p1, "recall@20", &s[1]);
    fprintf(stderr, "  order=%s recall@20: mostpop %.4f hogwild 1 thread %.4f, 2 threads %.4f\n", order, pop,
            hog1, hog2);
    CHECK(hog1 > 1.3 * pop);
    CHECK(hog2 > 1.3 * pop);
    /* one thread: no races, so the same seed gives the same model */
    size_t nu = (size_t)d->n_users * c.d * sizeof(float);
    CHECK(memcmp(s[0].U, s[1].U, nu) == 0);
    pr_snapshot_free(&s[0]);
    pr_snapshot_free(&s[1]);
    pr_pool_free(p1);
    pr_pool_free(p2);
    synth_free(d);
}

TEST(test_bprmf_hogwild_learns_and_repeats) {
    hogwild_learns_and_repeats("random");
    hogwild_learns_and_repeats("user");
}

int main(void) {
    pr_log_set_level(0);
    RUN(test_mostpop_ranks_by_count);
    RUN(test_itemknn_similarity_by_hand);
    RUN(test_bprmf_gradcheck);
    RUN(test_bprmf_gradcheck_bias);
    RUN(test_bprmf_beats_mostpop_on_planted_structure);
    RUN(test_bprmf_bit_identical);
    RUN(test_bprmf_fused_epoch_matches_per_sample_sgd);
    RUN(test_bprmf_hogwild_learns_and_repeats);
    return t_done();
}
