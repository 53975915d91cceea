/* tests/models/test_graph_lightgcn.c: LightGCN gradients, determinism, quality. */
#include "models/test_graph.h"

static void gradcheck(int n_layers, float reg) {
    pr_dataset *d = synth_clusters(6, 8, 2, 4, 0.8, 5);
    pr_config c;
    pr_config_defaults(&c);
    c.d = 4;
    c.batch = 6;
    c.reg = reg;
    char v[8];
    snprintf(v, sizeof v, "%d", n_layers);
    pr_config_set(&c, "n_layers", v, NULL);
    pr_model *m = g_make("lightgcn", d, NULL, &c, NULL);
    CHECK(m != NULL);
    if (m) {
        pr_batch b = {6, 1, g_bu, g_bi, g_bj, 0};
        CHECK(g_gradcheck(m, &b, 0.5f, 1e-2f, 1, 0) < 2e-3);
        m->ops->free(m);
    }
    synth_free(d);
}

TEST(test_lightgcn_gradcheck_2_layers) { gradcheck(2, 0.05f); }
TEST(test_lightgcn_gradcheck_3_layers_no_reg) { gradcheck(3, 0.0f); }
TEST(test_lightgcn_gradcheck_0_layers_is_mf) { gradcheck(0, 0.1f); }

/* The loss by hand for one sample on a 1-user 2-item graph with 1 layer. */
TEST(test_lightgcn_loss_by_hand) {
    int32_t u[] = {0, 0, 1}, i[] = {0, 1, 1};
    int8_t l[] = {0, 2, 0};
    pr_dataset *d = synth_from_coo(2, 2, 3, u, i, l); /* train: u0-i0, u1-i1 */
    pr_config c;
    pr_config_defaults(&c);
    c.d = 1;
    c.batch = 1;
    c.reg = 0;
    pr_config_set(&c, "n_layers", "1", NULL);
    pr_model *m = g_make("lightgcn", d, NULL, &c, NULL);
    /* E0 = [u0 u1 i0 i1] = [1 2 3 4]; A pairs u0-i0 and u1-i1 with weight 1:
     * E = (E0 + A E0) / 2 = [(1+3)/2, (2+4)/2, (3+1)/2, (4+2)/2] = [2 3 2 3]
     * s(u0,i0) - s(u0,i1) = 2*2 - 2*3 = -2; loss = softplus(2) */
    float e[] = {1, 2, 3, 4};
    memcpy(m->params, e, sizeof e);
    int32_t bu[] = {0}, bi[] = {0}, bj[] = {1};
    pr_batch b = {1, 1, bu, bi, bj, 0};
    CHECK_NEAR(m->ops->forward(m, &b), log1p(exp(2.0)), 1e-6);
    pr_error err;
    pr_snapshot s;
    CHECK_EQ_INT(m->ops->snapshot(m, &s, &err), 0);
    CHECK_NEAR(s.U[1], 3, 1e-6);
    CHECK_NEAR(s.V[0], 2, 1e-6);
    pr_snapshot_free(&s);
    m->ops->free(m);
    synth_free(d);
}

TEST(test_lightgcn_bit_identical) {
    pr_dataset *d = synth_clusters(120, 90, 4, 12, 0.9, 3);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = 3;
    c.batch = 64;
    c.lr = 0.01f;
    c.d = 16;
    pr_snapshot s[3], other;
    pr_pool *p1 = pr_pool_new(1), *p2 = pr_pool_new(2);
    g_fit_eval("lightgcn", d, NULL, &c, p1, "recall@20", &s[0]);
    g_fit_eval("lightgcn", d, NULL, &c, p1, "recall@20", &s[1]);
    g_fit_eval("lightgcn", d, NULL, &c, p2, "recall@20", &s[2]);
    CHECK(g_snap_equal(&s[0], &s[1]));
    CHECK(g_snap_equal(&s[0], &s[2])); /* row-owned scatters: any thread count */
    c.seed = 1000;
    g_fit_eval("lightgcn", d, NULL, &c, p1, "recall@20", &other);
    CHECK(!g_snap_equal(&s[0], &other));
    for (int k = 0; k < 3; k++) pr_snapshot_free(&s[k]);
    pr_snapshot_free(&other);
    pr_pool_free(p1);
    pr_pool_free(p2);
    synth_free(d);
}

TEST(test_lightgcn_beats_mostpop_matches_bprmf) {
    if (t_sanitized()) T_SKIP("quality: training runs in the optimised suite");
    pr_dataset *d = synth_clusters(400, 400, 8, 20, 0.9, 7);
    pr_pool *pool = pr_pool_new(2);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = 30;
    c.batch = 256;
    c.lr = 0.01f;
    c.patience = 50;
    double pop = g_fit_eval("mostpop", d, NULL, &c, pool, "recall@20", NULL);
    double bpr = g_fit_eval("bprmf", d, NULL, &c, pool, "recall@20", NULL);
    double lgn = g_fit_eval("lightgcn", d, NULL, &c, pool, "recall@20", NULL);
    fprintf(stderr, "  recall@20: mostpop %.4f bprmf %.4f lightgcn %.4f\n", pop, bpr, lgn);
    CHECK(lgn > 1.3 * pop);
    CHECK(lgn > 0.95 * bpr); /* planted clusters: graph smoothing is on par with MF here */
    synth_free(d);
    pr_pool_free(pool);
}

TEST(test_lightgcn_bad_layers) {
    pr_dataset *d = synth_clusters(10, 10, 2, 4, 0.8, 5);
    pr_config c;
    pr_config_defaults(&c);
    pr_config_set(&c, "n_layers", "-1", NULL);
    pr_model *m = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_model_new(pr_model_find("lightgcn"), d, NULL, &c, NULL, &m, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "n_layers");
    synth_free(d);
}

int main(void) {
    pr_log_set_level(0);
    RUN(test_lightgcn_gradcheck_2_layers);
    RUN(test_lightgcn_gradcheck_3_layers_no_reg);
    RUN(test_lightgcn_gradcheck_0_layers_is_mf);
    RUN(test_lightgcn_loss_by_hand);
    RUN(test_lightgcn_bit_identical);
    RUN(test_lightgcn_beats_mostpop_matches_bprmf);
    RUN(test_lightgcn_bad_layers);
    return t_done();
}
