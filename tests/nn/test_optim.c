/* tests/nn/test_optim.c: optimizers against hand-computed sequences (the
 * torch.optim update formulas evaluated in Python doubles, see optim.h),
 * clipping, sparse/no-decay tensors, checkpoint round trip, and two small
 * learning problems (XOR with an MLP, linear regression with SGD). */
#include "core/mat.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/mlp.h"
#include "nn/optim.h"
#include "nncheck.h"

/* Three steps on w0 = (1, -0.5) with the gradient sequence below. */
static const float G[3][2] = {{0.5f, -0.2f}, {0.3f, 0.1f}, {-0.4f, 0.25f}};

static void run_seq(int kind, float wd, float mu, const double want[3][2], double tol) {
    pr_optim_cfg c;
    pr_optim_cfg_defaults(&c, kind);
    c.lr = 0.1f;
    c.weight_decay = wd;
    c.momentum = mu;
    pr_optim o;
    CHECK_EQ_INT(pr_optim_init(&o, &c, 0, 2, NULL), 0);
    float w[2] = {1.0f, -0.5f}, g[2];
    for (int t = 0; t < 3; t++) {
        memcpy(g, G[t], sizeof g);
        pr_optim_step(&o, w, g);
        CHECK_NEAR(w[0], want[t][0], tol);
        CHECK_NEAR(w[1], want[t][1], tol);
    }
    CHECK_EQ_INT(o.t, 3);
    pr_optim_deinit(&o);
}

TEST(test_adam_sequence) {
    static const double adam[3][2] = {{0.900000002, -0.4000000049999997},
                                      {0.8042509867088761, -0.3733663027186757},
                                      {0.7793923040411518, -0.40728128400467717}};
    static const double adam_l2[3][2] = {{0.9000000016666666, -0.4000000039999998},
                                         {0.8032588944376974, -0.3522205254389129},
                                         {0.7610640429454931, -0.36486609453040847}};
    static const double adamw[3][2] = {{0.890000002, -0.3950000049999997},
                                       {0.785350986688876, -0.3644163026686757},
                                       {0.7526387941542629, -0.3946871209279904}};
    run_seq(PR_OPT_ADAM, 0.0f, 0.0f, adam, 2e-7);
    run_seq(PR_OPT_ADAM, 0.1f, 0.0f, adam_l2, 2e-7);
    run_seq(PR_OPT_ADAMW, 0.1f, 0.0f, adamw, 2e-7);
}

TEST(test_sgd_sequence) {
    static const double sgd[3][2] = {{0.95, -0.48}, {0.92, -0.49}, {0.96, -0.515}};
    static const double sgdm[3][2] = {{0.94, -0.475}, {0.8466, -0.45775}, {0.794074, -0.4626475}};
    run_seq(PR_OPT_SGD, 0.0f, 0.0f, sgd, 1e-7);
    run_seq(PR_OPT_SGD, 0.1f, 0.9f, sgdm, 1e-7);
}

TEST(test_optim_bad_cfg) {
    pr_optim_cfg c;
    pr_optim o;
    pr_error err;
    pr_optim_cfg_defaults(&c, PR_OPT_ADAM);
    c.beta2 = 1.0f;
    CHECK_EQ_INT(pr_optim_init(&o, &c, 0, 4, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "betas");
    pr_optim_cfg_defaults(&c, PR_OPT_SGD);
    c.lr = 0.0f;
    CHECK_EQ_INT(pr_optim_init(&o, &c, 0, 4, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "lr");
    CHECK_EQ_INT(pr_optim_parse("adamw"), PR_OPT_ADAMW);
    CHECK_EQ_INT(pr_optim_parse("lion"), -1);
}

TEST(test_clip) {
    float g[2] = {3, 4};
    CHECK_NEAR(pr_clip_grad_norm(g, 2, 10.0), 5.0, 1e-6);
    CHECK(g[0] == 3.0f && g[1] == 4.0f); /* under the limit: untouched */
    CHECK_NEAR(pr_clip_grad_norm(g, 2, 1.0), 5.0, 1e-6);
    CHECK_NEAR(g[0], 0.6, 1e-6);
    CHECK_NEAR(g[1], 0.8, 1e-6);
    /* clipping inside a step: the update sees the clipped gradient */
    pr_optim_cfg c;
    pr_optim_cfg_defaults(&c, PR_OPT_SGD);
    c.lr = 1.0f;
    c.clip_norm = 1.0f;
    pr_optim o;
    CHECK_EQ_INT(pr_optim_init(&o, &c, 0, 2, NULL), 0);
    float w[2] = {0, 0}, gg[2] = {30, 40};
    pr_optim_step(&o, w, gg);
    CHECK_NEAR(o.last_norm, 50.0, 1e-4);
    CHECK_NEAR(w[0], -0.6, 1e-6);
    CHECK_NEAR(w[1], -0.8, 1e-6);
    pr_optim_deinit(&o);
}

TEST(test_step_params_sparse_and_nodecay) {
    pr_params P;
    pr_params_init(&P);
    int64_t E = pr_params_add_ex(&P, "emb", 100, 4, PR_PARAM_SPARSE);
    int64_t W = pr_params_add(&P, "W", 3, 4);
    int64_t b = pr_params_add_ex(&P, "b", 1, 3, PR_PARAM_NO_DECAY);
    CHECK_EQ_INT(pr_params_alloc(&P, NULL), 0);
    for (int64_t i = 0; i < P.n_params; i++) P.w[i] = P.g[i] = 1.0f;
    pr_optim_cfg c;
    pr_optim_cfg_defaults(&c, PR_OPT_ADAMW);
    c.lr = 0.1f;
    c.weight_decay = 0.5f;
    c.clip_norm = 1.0f;
    pr_optim o;
    CHECK_EQ_INT(pr_optim_init_params(&o, &c, &P, NULL), 0);
    CHECK_EQ_INT(o.lo, W); /* no dense state for the embedding table */
    CHECK_EQ_INT(o.hi, b + 3);
    CHECK_NEAR(pr_params_grad_norm(&P), sqrt(15.0), 1e-6); /* dense tensors only */
    pr_optim_step_params(&o, &P);
    CHECK_NEAR(o.last_norm, sqrt(15.0), 1e-6);
    CHECK(P.w[E] == 1.0f && P.w[E + 399] == 1.0f && P.g[E] == 1.0f); /* sparse: untouched */
    /* first Adam step moves by lr; W also shrinks by 1 - lr wd, b does not */
    CHECK_NEAR(P.w[W], 1.0 * (1 - 0.05) - 0.1, 1e-6);
    CHECK_NEAR(P.w[b], 1.0 - 0.1, 1e-6);
    pr_params_zero_grad(&P);
    CHECK(P.g[W] == 0.0f && P.g[b + 2] == 0.0f && P.g[E] == 1.0f);
    pr_optim_deinit(&o);
    pr_params_deinit(&P);
}

TEST(test_optim_checkpoint) {
    pr_optim_cfg c;
    pr_optim_cfg_defaults(&c, PR_OPT_ADAM);
    pr_optim a, b;
    CHECK_EQ_INT(pr_optim_init(&a, &c, 0, 2, NULL), 0);
    CHECK_EQ_INT(pr_optim_init(&b, &c, 0, 2, NULL), 0);
    float w[2] = {1, 2}, g[2];
    for (int t = 0; t < 3; t++) {
        memcpy(g, G[t], sizeof g);
        pr_optim_step(&a, w, g);
    }
    pr_buf buf;
    pr_buf_init(&buf);
    CHECK_EQ_INT(pr_optim_save(&a, &buf), 0);
    pr_cur cur;
    pr_cur_init(&cur, buf.data, buf.len, "opt");
    CHECK_EQ_INT(pr_optim_load(&b, &cur, NULL), 0);
    CHECK_EQ_INT(pr_cur_left(&cur), 0);
    CHECK_EQ_INT(b.t, 3);
    float w2[2] = {w[0], w[1]}, g2[2] = {0.7f, -0.1f};
    memcpy(g, g2, sizeof g);
    pr_optim_step(&a, w, g);
    pr_optim_step(&b, w2, g2);
    CHECK(w[0] == w2[0] && w[1] == w2[1]); /* resumed bit for bit */
    /* a different span or a truncated blob is refused, b unchanged */
    pr_optim s;
    pr_error err;
    CHECK_EQ_INT(pr_optim_init(&s, &c, 0, 3, NULL), 0);
    pr_cur_init(&cur, buf.data, buf.len, "opt");
    CHECK_EQ_INT(pr_optim_load(&s, &cur, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, "opt");
    pr_cur_init(&cur, buf.data, buf.len - 1, "opt");
    int64_t t_before = b.t;
    float m_before = b.m[0];
    CHECK_EQ_INT(pr_optim_load(&b, &cur, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, "truncated");
    CHECK(b.t == t_before && b.m[0] == m_before);
    pr_optim_deinit(&s);
    pr_optim_deinit(&a);
    pr_optim_deinit(&b);
    pr_buf_free(&buf);
}

/* ---- learning ----------------------------------------------------------------------- */

/* Full-batch XOR with a 2-8-1 tanh MLP, BCE and Adam; returns the final loss
 * and leaves the parameters in *out (caller frees with pr_params_deinit). */
static double train_xor(uint64_t seed, int steps, pr_params *P, int *n_correct) {
    static const float X[8] = {0, 0, 0, 1, 1, 0, 1, 1}, Y[4] = {0, 1, 1, 0};
    pr_mlp M;
    pr_params_init(P);
    const int dims[3] = {2, 8, 1};
    pr_mlp_init(&M, P, "xor", 2, dims, (pr_act){PR_ACT_TANH, 0}, (pr_act){PR_ACT_NONE, 0}, 0, NULL);
    if (pr_params_alloc(P, NULL)) return INFINITY;
    pr_rng r;
    pr_rng_init(&r, seed, 0);
    pr_mlp_init_params(&M, P, &r);
    pr_optim_cfg c;
    pr_optim_cfg_defaults(&c, PR_OPT_ADAM);
    c.lr = 0.05f;
    pr_optim o;
    pr_optim_init_params(&o, &c, P, NULL);
    float act[256], ds[4];
    double L = INFINITY;
    for (int s = 0; s < steps; s++) {
        const float *y = pr_mlp_forward(&M, P->w, X, act, 4, 1, NULL);
        L = pr_loss_bce(y, Y, 4, ds);
        pr_params_zero_grad(P);
        pr_mlp_backward(&M, P->w, P->g, X, act, ds, NULL, 4);
        pr_optim_step_params(&o, P);
    }
    const float *y = pr_mlp_forward(&M, P->w, X, act, 4, 0, NULL);
    *n_correct = 0;
    for (int i = 0; i < 4; i++) *n_correct += (y[i] > 0) == (Y[i] > 0.5f);
    pr_optim_deinit(&o);
    return L;
}

TEST(test_learn_xor) {
    CHECK(pr_mlp_act_size(&(pr_mlp){.n_layers = 2, .dims = {2, 8, 1}, .act = {PR_ACT_TANH, 0}},
                          4) <= 256);
    pr_params A, B;
    int ok_a = 0, ok_b = 0;
    double La = train_xor(7, 600, &A, &ok_a), Lb = train_xor(7, 600, &B, &ok_b);
    fprintf(stderr, "  xor: loss %.5f after 600 Adam steps, %d/4 correct\n", La, ok_a);
    CHECK(La < 0.02);
    CHECK_EQ_INT(ok_a, 4);
    /* same seed: identical bits */
    CHECK(La == Lb && memcmp(A.w, B.w, (size_t)A.n_params * sizeof *A.w) == 0);
    pr_params_deinit(&A);
    pr_params_deinit(&B);
}

TEST(test_learn_linear_regression) {
    /* y = x . (1.5, -2, 0.5) + 0.3, 64 points, one Linear layer, SGD momentum */
    enum { N = 64, D = 3 };
    static const float a_true[D] = {1.5f, -2.0f, 0.5f};
    float X[N * D], Y[N], yhat[N], dy[N];
    pr_rng r;
    pr_rng_init(&r, 8, 0);
    nn_fill_normal(X, N * D, 1.0f, &r);
    for (int i = 0; i < N; i++) Y[i] = 0.3f + pr_dot(X + i * D, a_true, D);
    pr_params P;
    pr_params_init(&P);
    pr_linear L;
    pr_linear_init(&L, &P, "reg", D, 1, 1);
    CHECK_EQ_INT(pr_params_alloc(&P, NULL), 0);
    pr_linear_init_params(&L, &P, &r);
    pr_optim_cfg c;
    pr_optim_cfg_defaults(&c, PR_OPT_SGD);
    c.lr = 0.05f;
    c.momentum = 0.9f;
    pr_optim o;
    CHECK_EQ_INT(pr_optim_init_params(&o, &c, &P, NULL), 0);
    double mse = INFINITY;
    for (int s = 0; s < 300; s++) {
        pr_linear_forward(&L, P.w, X, yhat, N);
        mse = 0;
        for (int i = 0; i < N; i++) {
            double e = (double)yhat[i] - Y[i];
            mse += e * e / N;
            dy[i] = (float)(2 * e / N);
        }
        pr_params_zero_grad(&P);
        pr_linear_backward(&L, P.w, P.g, X, dy, NULL, N);
        pr_optim_step_params(&o, &P);
    }
    fprintf(stderr, "  regression: mse %.3g after 300 SGD steps\n", mse);
    CHECK(mse < 1e-8);
    CHECK_NEAR(P.w[L.W + 1], -2.0, 1e-4);
    CHECK_NEAR(P.w[L.b], 0.3, 1e-4);
    pr_optim_deinit(&o);
    pr_params_deinit(&P);
}

int main(void) {
    RUN(test_adam_sequence);
    RUN(test_sgd_sequence);
    RUN(test_optim_bad_cfg);
    RUN(test_clip);
    RUN(test_step_params_sparse_and_nodecay);
    RUN(test_optim_checkpoint);
    RUN(test_learn_xor);
    RUN(test_learn_linear_regression);
    return t_done();
}
