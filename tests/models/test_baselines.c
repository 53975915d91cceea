/* tests/models/test_baselines.c: MostPop, ItemKNN and BPR-MF. */
#include <math.h>

#include "common/synth.h"
#include "core/rng.h"
#include "models/itemknn.h"
#include "models/model.h"
#include "core/log.h"
#include "t.h"
#include "train/loop.h"

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

int main(void) {
    pr_log_set_level(0);
    RUN(test_mostpop_ranks_by_count);
    RUN(test_itemknn_similarity_by_hand);
    RUN(test_bprmf_gradcheck);
    RUN(test_bprmf_gradcheck_bias);
    RUN(test_bprmf_beats_mostpop_on_planted_structure);
    RUN(test_bprmf_bit_identical);
    return t_done();
}
