/* tests/nn/test_loss.c: loss values against hand-computed cases (numbers
 * from Python's math module, formulas in loss.h), stability at extreme
 * scores, and gradient checks with mutation sweeps of every loss. The
 * scores are the checked parameters and the losses accumulate in double, so
 * the tight PR_GRADCHECK_F64 preset applies directly. */
#include "nn/loss.h"
#include "nncheck.h"

/* ---- hand-computed values ------------------------------------------------------- */

TEST(test_bpr_values) {
    float sp[2] = {2, 0}, sn[2] = {1, 0.5f}, dp[2], dn[2];
    double L = pr_loss_bpr(sp, sn, 2, 1, dp, dn);
    CHECK_NEAR(L, 0.6436693358491647, 1e-12);
    CHECK_NEAR(dn[0], 0.13447071068499755, 5e-8);
    CHECK_NEAR(dp[0], -0.13447071068499755, 5e-8);
    CHECK_NEAR(dn[1], 0.3112296656009273, 5e-8);
    CHECK_NEAR(dp[1], -0.3112296656009273, 5e-8);
    /* extreme margins: finite, no overflow, the right limits */
    float big_p[2] = {0, 1000}, big_n[2] = {1000, -1000};
    L = pr_loss_bpr(big_p, big_n, 2, 1, dp, dn);
    CHECK_NEAR(L, 500.0, 1e-9); /* (1000 + 0) / 2 */
    CHECK_NEAR(dp[0], -0.5, 1e-7);
    CHECK(dp[1] == 0.0f || fabsf(dp[1]) < 1e-30f);
    CHECK(isfinite(dn[0]) && isfinite(dn[1]));
    CHECK_NEAR(pr_loss_bpr(sp, sn, 2, 1, NULL, NULL), 0.6436693358491647, 1e-12); /* NULL grads */
}

TEST(test_bce_values) {
    float s[3] = {0, 2, -1}, y[3] = {1, 0, 0.5f}, ds[3];
    CHECK_NEAR(pr_loss_bce(s, y, 3, ds), 1.2111122930403804, 1e-12);
    CHECK_NEAR(ds[0], -0.16666666666666666, 5e-8);
    CHECK_NEAR(ds[1], 0.29359902599262744, 5e-8);
    CHECK_NEAR(ds[2], -0.07701952621000163, 5e-8);
    /* positives + negatives equals the labelled form */
    float sp[2] = {0.3f, -2}, sn[3] = {1.5f, -0.2f, 4}, dp[2], dn[3];
    float all[5] = {0.3f, -2, 1.5f, -0.2f, 4}, lab[5] = {1, 1, 0, 0, 0}, dall[5];
    double a = pr_loss_bce_pn(sp, 2, sn, 3, dp, dn), b = pr_loss_bce(all, lab, 5, dall);
    CHECK_NEAR(a, b, 1e-12);
    CHECK(dp[1] == dall[1] && dn[2] == dall[4]);
    float huge[2] = {-500, 500}, l01[2] = {1, 0};
    CHECK_NEAR(pr_loss_bce(huge, l01, 2, ds), 500.0, 1e-9); /* (500 + 500) / 2 */
}

TEST(test_inbatch_values) {
    float S[4] = {1, 0, 0.5f, 2}, dS[4];
    CHECK_NEAR(pr_loss_inbatch_softmax(S, 2, 1.0f, NULL, NULL, dS), 0.25733748275048773, 1e-9);
    /* rows of dS sum to zero (softmax minus one-hot) */
    CHECK_NEAR(dS[0] + dS[1], 0.0, 1e-8);
    float logq[2] = {logf(0.7f), logf(0.3f)};
    CHECK_NEAR(pr_loss_inbatch_softmax(S, 2, 0.5f, logq, NULL, dS), 0.14777213817121293, 1e-6);
    CHECK_NEAR(dS[0], -0.23999587237167352, 1e-6);
    CHECK_NEAR(dS[1], 0.23999587237167352, 1e-6);
    /* an accidental hit (same item in both rows) leaves each row with only
     * its positive: loss 0, gradient 0 */
    int32_t ids[2] = {7, 7};
    CHECK_NEAR(pr_loss_inbatch_softmax(S, 2, 1.0f, NULL, ids, dS), 0.0, 1e-12);
    CHECK(dS[1] == 0.0f && dS[2] == 0.0f && dS[0] == 0.0f);
    float hot[4] = {1000, -1000, 0, 900};
    CHECK(isfinite(pr_loss_inbatch_softmax(hot, 2, 0.05f, NULL, NULL, dS)));
    CHECK(isfinite(dS[0]) && isfinite(dS[3]));
}

TEST(test_l2_values) {
    float w[3] = {1, -2, 3}, g[3] = {1, 1, 1};
    CHECK_NEAR(pr_loss_l2(w, 3, 0.1f, g), 0.7, 1e-7);
    CHECK_NEAR(g[0], 1.1, 1e-7); /* accumulated */
    CHECK_NEAR(g[1], 0.8, 1e-7);
    CHECK_NEAR(pr_loss_l2(w, 3, 0.1f, NULL), 0.7, 1e-7);
}

TEST(test_f64_variants_match) {
    pr_rng r;
    pr_rng_init(&r, 3, 0);
    enum { B = 6, NN = 2 };
    float sp[B], sn[B * NN], S[B * B], lab[B], logq[B];
    double spd[B], snd[B * NN], Sd[B * B];
    nn_fill_normal(sp, B, 2, &r);
    nn_fill_normal(sn, B * NN, 2, &r);
    nn_fill_normal(S, B * B, 2, &r);
    nn_fill_normal(logq, B, 1, &r);
    for (int i = 0; i < B; i++) lab[i] = (float)(i % 2);
    nn_to_f64(sp, spd, B);
    nn_to_f64(sn, snd, B * NN);
    nn_to_f64(S, Sd, B * B);
    int32_t ids[B] = {1, 2, 3, 1, 5, 6};
    CHECK_NEAR(pr_loss_bpr_f64(spd, snd, B, NN), pr_loss_bpr(sp, sn, B, NN, NULL, NULL), 1e-12);
    CHECK_NEAR(pr_loss_bce_f64(spd, lab, B), pr_loss_bce(sp, lab, B, NULL), 1e-12);
    CHECK_NEAR(pr_loss_inbatch_softmax_f64(Sd, B, 0.3f, logq, ids),
               pr_loss_inbatch_softmax(S, B, 0.3f, logq, ids, NULL), 1e-9);
}

/* ---- gradient checks ------------------------------------------------------------- */

typedef struct loss_ctx {
    pr_params P;
    int kind, B, n_neg;
    int64_t a, b; /* offsets of the score tensors */
    float lab[64], logq[16], temp, lambda;
    const int32_t *ids;
} loss_ctx;

enum { K_BPR, K_BCE, K_BCE_PN, K_INBATCH, K_L2 };

/* Loss value; with g, also its analytic gradient into g. */
static double loss_eval(loss_ctx *t, float *g) {
    const float *w = t->P.w;
    switch (t->kind) {
    case K_BPR:
        return pr_loss_bpr(w + t->a, w + t->b, t->B, t->n_neg, g ? g + t->a : NULL,
                           g ? g + t->b : NULL);
    case K_BCE:
        return pr_loss_bce(w + t->a, t->lab, t->B, g ? g + t->a : NULL);
    case K_BCE_PN:
        return pr_loss_bce_pn(w + t->a, t->B, w + t->b, (int64_t)t->B * t->n_neg,
                              g ? g + t->a : NULL, g ? g + t->b : NULL);
    case K_INBATCH:
        return pr_loss_inbatch_softmax(w + t->a, t->B, t->temp, t->logq, t->ids,
                                       g ? g + t->a : NULL);
    default:
        return pr_loss_l2(w + t->a, (int64_t)t->B * t->n_neg, t->lambda, g ? g + t->a : NULL);
    }
}

static double loss_fn(void *c) { return loss_eval(c, NULL); }

static void loss_case(int kind, const int32_t *ids, const char *label) {
    loss_ctx t = {.kind = kind, .B = 5, .n_neg = 3, .temp = 0.3f, .lambda = 0.2f, .ids = ids};
    pr_rng r;
    pr_rng_init(&r, 60 + kind, 0);
    pr_params_init(&t.P);
    t.a = kind == K_INBATCH ? pr_params_add(&t.P, "S", t.B, t.B)
          : kind == K_L2    ? pr_params_add(&t.P, "w", t.B, t.n_neg)
                            : pr_params_add(&t.P, "s_pos", 1, t.B);
    if (kind == K_BPR || kind == K_BCE_PN) t.b = pr_params_add(&t.P, "s_neg", t.B, t.n_neg);
    CHECK_EQ_INT(pr_params_alloc(&t.P, NULL), 0);
    nn_fill_normal(t.P.w, t.P.n_params, 1.5f, &r);
    for (int i = 0; i < t.B; i++) t.lab[i] = pr_rng_float(&r);
    nn_fill_normal(t.logq, t.B, 1.0f, &r);
    double L = loss_eval(&t, t.P.g);
    CHECK(isfinite(L) && L > 0);
    fprintf(stderr, "  %s\n", label);
    CHECK(nn_check(&t.P, t.P.g, loss_fn, &t, PR_GRADCHECK_F64) < 1e-4);
    pr_params_deinit(&t.P);
}

TEST(test_loss_grads) {
    static const int32_t ids[5] = {4, 9, 4, 1, 9}; /* two accidental hits */
    loss_case(K_BPR, NULL, "bpr");
    loss_case(K_BCE, NULL, "bce");
    loss_case(K_BCE_PN, NULL, "bce pos/neg");
    loss_case(K_INBATCH, NULL, "in-batch softmax, temperature, logQ");
    loss_case(K_INBATCH, ids, "in-batch softmax with accidental hits");
    loss_case(K_L2, NULL, "l2 regulariser");
}

int main(void) {
    RUN(test_bpr_values);
    RUN(test_bce_values);
    RUN(test_inbatch_values);
    RUN(test_l2_values);
    RUN(test_f64_variants_match);
    RUN(test_loss_grads);
    return t_done();
}
