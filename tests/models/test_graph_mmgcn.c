/* tests/models/test_graph_mmgcn.c: MMGCN gradients, determinism, quality. */
#include "models/test_graph.h"

static void gradcheck(int n_layers, float reg, int n_mod, int concat) {
    pr_dataset *d = synth_clusters(6, 8, 2, 4, 0.8, 5);
    int dims[] = {3, 5};
    pr_features *f = g_features(8, 2, n_mod, dims, 9);
    pr_config c;
    pr_config_defaults(&c);
    c.d = 4;
    c.batch = 6;
    c.reg = reg;
    char v[8];
    snprintf(v, sizeof v, "%d", n_layers);
    pr_config_set(&c, "n_layers", v, NULL);
    pr_config_set(&c, "concat", concat ? "1" : "0", NULL);
    pr_model *m = g_make("mmgcn", d, f, &c, NULL);
    CHECK(m != NULL);
    if (m) {
        pr_batch b = {6, 1, g_bu, g_bi, g_bj, 0};
        CHECK(g_gradcheck(m, &b, 0.5f, 1e-2f, 3, (int)(m->n_params / 50)) < 2e-3);
        m->ops->free(m);
    }
    g_features_free(f);
    synth_free(d);
}

TEST(test_mmgcn_gradcheck_2_layers) { gradcheck(2, 0.2f, 2, 0); }
TEST(test_mmgcn_gradcheck_1_layer_one_modality) { gradcheck(1, 0.0f, 1, 0); }
TEST(test_mmgcn_gradcheck_3_layers) { gradcheck(3, 0.05f, 2, 0); }
TEST(test_mmgcn_gradcheck_concat) { gradcheck(2, 0.2f, 2, 1); }

TEST(test_mmgcn_bad_keys) {
    pr_dataset *d = synth_clusters(10, 10, 2, 4, 0.8, 5);
    pr_config c;
    pr_config_defaults(&c);
    pr_model *m = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_model_new(pr_model_find("mmgcn"), d, NULL, &c, NULL, &m, &err), PR_E_ARG);
    int dims[] = {4};
    pr_features *f = g_features(10, 2, 1, dims, 1);
    pr_config_set(&c, "n_layers", "0", NULL);
    CHECK_EQ_INT(pr_model_new(pr_model_find("mmgcn"), d, f, &c, NULL, &m, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "n_layers");
    g_features_free(f);
    synth_free(d);
}

TEST(test_mmgcn_bit_identical_runs) { g_check_bit_identical("mmgcn", 0); }

TEST(test_mmgcn_quality_with_content) {
    if (t_sanitized()) T_SKIP("quality: training runs in the optimised suite");
    /* MMGCN runs every layer of every modality over the whole graph each
     * batch: a smaller problem than the other graph models' tests */
    pr_dataset *d = synth_clusters(200, 200, 8, 20, 0.9, 7);
    int dims[] = {12, 20};
    pr_features *f = g_features(d->n_items, 8, 2, dims, 8);
    pr_pool *pool = pr_pool_new(2);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = 20;
    c.batch = 256;
    c.lr = 0.01f;
    c.patience = 50;
    c.reg = 1e-3f;
    c.d = 32;
    double pop = g_fit_eval("mostpop", d, NULL, &c, pool, "recall@20", NULL);
    double lgn = g_fit_eval("lightgcn", d, NULL, &c, pool, "recall@20", NULL);
    double mg = g_fit_eval("mmgcn", d, f, &c, pool, "recall@20", NULL);
    fprintf(stderr, "  recall@20: mostpop %.4f lightgcn %.4f mmgcn %.4f\n", pop, lgn, mg);
    CHECK(mg > 1.3 * pop);
    CHECK(mg > 0.9 * lgn); /* the bar for MMGCN: 90% of LightGCN */
    pr_pool_free(pool);
    g_features_free(f);
    synth_free(d);
}

int main(void) {
    pr_log_set_level(0);
    RUN(test_mmgcn_gradcheck_2_layers);
    RUN(test_mmgcn_gradcheck_1_layer_one_modality);
    RUN(test_mmgcn_gradcheck_3_layers);
    RUN(test_mmgcn_gradcheck_concat);
    RUN(test_mmgcn_bad_keys);
    RUN(test_mmgcn_bit_identical_runs);
    RUN(test_mmgcn_quality_with_content);
    return t_done();
}
