/* tests/models/test_graph_lattice.c: LATTICE gradients (ordinary batches and
 * the graph-building batch, through the learned k-NN graph), determinism,
 * quality with content. */
#include "models/test_graph.h"

static void gradcheck(int tune, int build, int n_layers) {
    pr_dataset *d = synth_clusters(6, 8, 2, 4, 0.8, 5);
    int dims[] = {3, 5};
    pr_features *f = g_features(8, 2, 2, dims, 9);
    pr_config c;
    pr_config_defaults(&c);
    c.d = 4;
    c.batch = 6;
    c.reg = 0.3f;
    /* k = n_items: no item leaves a neighbourhood under the perturbations, so
     * the loss is smooth in every parameter (selection has no gradient) */
    pr_config_set(&c, "knn_k", "8", NULL);
    pr_config_set(&c, "feat_embed_dim", "3", NULL);
    pr_config_set(&c, "lambda", "0.4", NULL); /* a large learned share: its gradients matter */
    pr_config_set(&c, "tune_feat", tune ? "1" : "0", NULL);
    char v[8];
    snprintf(v, sizeof v, "%d", n_layers);
    pr_config_set(&c, "n_layers", v, NULL);
    pr_model *m = g_make("lattice", d, f, &c, NULL);
    CHECK(m != NULL);
    if (m) {
        pr_error err;
        if (build) CHECK_EQ_INT(m->ops->epoch_begin(m, 1, &err), 0);
        pr_batch b = {6, 1, g_bu, g_bi, g_bj, 0};
        CHECK(g_gradcheck(m, &b, 0.5f, 3e-2f, 3, 0) < 2e-3);
        m->ops->free(m);
    }
    g_features_free(f);
    synth_free(d);
}

TEST(test_lattice_gradcheck_fixed_graph) { gradcheck(1, 0, 1); }
TEST(test_lattice_gradcheck_graph_batch) { gradcheck(1, 1, 1); }
TEST(test_lattice_gradcheck_graph_batch_frozen_2_layers) { gradcheck(0, 1, 2); }

/* A 2,050-d modality: its table goes to the optimizer as (n_items 5, 410);
 * the graph batch moves every parameter with a gradient by one Adam step. */
TEST(test_lattice_wide_feature_table_step) {
    pr_dataset *d = synth_clusters(6, 8, 2, 4, 0.8, 5);
    int dims[] = {2050, 3};
    pr_features *f = g_features(8, 2, 2, dims, 9);
    pr_config c;
    pr_config_defaults(&c);
    c.d = 4;
    c.batch = 6;
    c.reg = 0.3f;
    c.lr = 0.01f;
    pr_config_set(&c, "knn_k", "8", NULL);
    pr_config_set(&c, "feat_embed_dim", "3", NULL);
    pr_config_set(&c, "lambda", "0.4", NULL);
    pr_model *m = g_make("lattice", d, f, &c, NULL);
    CHECK(m != NULL);
    if (m) {
        pr_error err;
        CHECK_EQ_INT(m->ops->epoch_begin(m, 1, &err), 0);
        pr_batch b = {6, 1, g_bu, g_bi, g_bj, 0};
        /* every 7th parameter against central differences (the wide table's
         * chunks included), then the step against that gradient */
        CHECK(g_gradcheck_ex(m, &b, 0.5f, 3e-2f, 3, 0, 7) < 2e-3);
        CHECK_EQ_INT(g_first_step_check(m, &b, 0, m->n_params, c.lr), 0);
        m->ops->free(m);
    }
    g_features_free(f);
    synth_free(d);
}

TEST(test_lattice_needs_features) {
    pr_dataset *d = synth_clusters(10, 10, 2, 4, 0.8, 5);
    pr_config c;
    pr_config_defaults(&c);
    pr_model *m = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_model_new(pr_model_find("lattice"), d, NULL, &c, NULL, &m, &err), PR_E_ARG);
    int dims[] = {4};
    pr_features *f = g_features(10, 2, 1, dims, 1);
    pr_config_set(&c, "lambda", "1.5", NULL);
    CHECK_EQ_INT(pr_model_new(pr_model_find("lattice"), d, f, &c, NULL, &m, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "lambda");
    g_features_free(f);
    synth_free(d);
}

TEST(test_lattice_bit_identical) { g_check_bit_identical("lattice", 1); }

TEST(test_lattice_quality_with_content) {
    if (t_sanitized()) T_SKIP("quality: training runs in the optimised suite");
    pr_dataset *d = synth_clusters(400, 400, 8, 20, 0.9, 7);
    int dims[] = {12, 20};
    pr_features *f = g_features(d->n_items, 8, 2, dims, 8);
    pr_pool *pool = pr_pool_new(2);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = 30;
    c.batch = 256;
    c.lr = 0.01f;
    c.patience = 50;
    c.reg = 1e-3f;
    double pop = g_fit_eval("mostpop", d, NULL, &c, pool, "recall@20", NULL);
    double lgn = g_fit_eval("lightgcn", d, NULL, &c, pool, "recall@20", NULL);
    double lt = g_fit_eval("lattice", d, f, &c, pool, "recall@20", NULL);
    fprintf(stderr, "  recall@20: mostpop %.4f lightgcn %.4f lattice %.4f\n", pop, lgn, lt);
    CHECK(lt > 1.3 * pop);
    CHECK(lt > 0.95 * lgn);
    pr_pool_free(pool);
    g_features_free(f);
    synth_free(d);
}

int main(void) {
    pr_log_set_level(0);
    RUN(test_lattice_gradcheck_fixed_graph);
    RUN(test_lattice_gradcheck_graph_batch);
    RUN(test_lattice_gradcheck_graph_batch_frozen_2_layers);
    RUN(test_lattice_wide_feature_table_step);
    RUN(test_lattice_needs_features);
    RUN(test_lattice_bit_identical);
    RUN(test_lattice_quality_with_content);
    return t_done();
}
