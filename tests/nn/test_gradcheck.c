/* tests/nn/test_gradcheck.c: the checker itself. It must pass exact
 * gradients of known functions, restore the block bit for bit, sample and
 * name entries, refuse bad configurations and non-finite losses, and catch
 * deliberately wrong backward passes (wrong activation derivative, missing
 * bias term, wrong MLP activation in backward, missing softmax Jacobian
 * term in BPR's positive gradient). */
#include "nn/act.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/mlp.h"
#include "nncheck.h"

/* f(w) = sum_i c_i w_i^3 + w_0 w_1, a cubic: the 4-point stencil is exact. */
typedef struct cubic_ctx {
    float *w;
    int n;
    int calls;
} cubic_ctx;

static double cubic(void *c) {
    cubic_ctx *t = c;
    double s = (double)t->w[0] * t->w[1];
    for (int i = 0; i < t->n; i++) s += (0.5 + i) * (double)t->w[i] * t->w[i] * t->w[i];
    t->calls++;
    return s;
}

static void cubic_grad(const float *w, int n, float *g) {
    for (int i = 0; i < n; i++) g[i] = (float)(3.0 * (0.5 + i) * (double)w[i] * w[i]);
    g[0] += w[1];
    g[1] += w[0];
}

TEST(test_exact_and_restored) {
    enum { N = 10 };
    float w[N], w0[N], g[N];
    pr_rng r;
    pr_rng_init(&r, 1, 0);
    nn_fill_normal(w, N, 1.0f, &r);
    memcpy(w0, w, sizeof w);
    cubic_grad(w, N, g);
    cubic_ctx t = {w, N, 0};
    pr_gradcheck_cfg cfg;
    pr_gradcheck_defaults(&cfg, PR_GRADCHECK_F64);
    pr_gradcheck_result res;
    CHECK_EQ_INT(pr_gradcheck(w, g, N, NULL, cubic, &t, &cfg, &res, NULL), 0);
    CHECK_EQ_INT(res.n_checked, N);
    CHECK_EQ_INT(t.calls, 4 * N + 1); /* 4 per entry and one at the end */
    CHECK(res.worst_rel < 1e-6);
    CHECK(memcmp(w, w0, sizeof w) == 0);
    /* the Lagrange stencil on a cubic is exact up to rounding even with a huge step */
    cfg.eps = 0.25;
    CHECK_EQ_INT(pr_gradcheck(w, g, N, NULL, cubic, &t, &cfg, &res, NULL), 0);
    CHECK(res.worst_rel < 1e-6);
    /* order 2 is not: its h^2 f''' / 6 error shows at that step */
    cfg.order = 2;
    CHECK_EQ_INT(pr_gradcheck(w, g, N, NULL, cubic, &t, &cfg, &res, NULL), PR_E_NUMERIC);
    cfg.eps = 1e-4;
    CHECK_EQ_INT(pr_gradcheck(w, g, N, NULL, cubic, &t, &cfg, &res, NULL), 0);
    CHECK(memcmp(w, w0, sizeof w) == 0);
}

TEST(test_wrong_entry_named) {
    pr_params P;
    pr_params_init(&P);
    pr_params_add(&P, "a", 1, 3);
    int64_t b = pr_params_add(&P, "fuse.W1", 4, 5);
    CHECK_EQ_INT(pr_params_alloc(&P, NULL), 0);
    /* cubic over the whole block (padding included: its gradient is 3 c w^2 = 0) */
    pr_rng r;
    pr_rng_init(&r, 2, 0);
    nn_fill_normal(P.w, 3, 1.0f, &r);
    nn_fill_normal(P.w + b, 20, 1.0f, &r);
    cubic_ctx t = {P.w, (int)P.n_params, 0};
    cubic_grad(P.w, (int)P.n_params, P.g);
    P.g[b + 7] = -P.g[b + 7]; /* sign error at row 1, col 2 */
    pr_error err;
    pr_gradcheck_result res;
    CHECK_EQ_INT(pr_gradcheck(P.w, P.g, P.n_params, &P, cubic, &t, NULL, &res, &err), PR_E_NUMERIC);
    CHECK_STR(res.worst_name, "fuse.W1[1,2]");
    CHECK_EQ_INT(res.worst_idx, b + 7);
    CHECK_EQ_INT(res.n_bad, 1);
    CHECK_EQ_INT(res.n_checked, 23); /* tensors only, not the padding */
    CHECK_CONTAINS(err.msg, "fuse.W1[1,2]");
    /* without a layout the entry is named by index */
    CHECK_EQ_INT(pr_gradcheck(P.w, P.g, P.n_params, NULL, cubic, &t, NULL, &res, &err),
                 PR_E_NUMERIC);
    CHECK_EQ_INT(res.worst_idx, b + 7);
    CHECK_STR(res.worst_name, "[23]");
    pr_params_deinit(&P);
}

TEST(test_sampling_and_errors) {
    pr_params P;
    pr_params_init(&P);
    pr_params_add(&P, "big", 10, 100);
    pr_params_add(&P, "small", 1, 3);
    CHECK_EQ_INT(pr_params_alloc(&P, NULL), 0);
    pr_rng r;
    pr_rng_init(&r, 3, 0);
    nn_fill_normal(P.w, P.n_params, 0.5f, &r);
    cubic_ctx t = {P.w, (int)P.n_params, 0};
    cubic_grad(P.w, (int)P.n_params, P.g);
    pr_gradcheck_cfg cfg;
    pr_gradcheck_defaults(&cfg, PR_GRADCHECK_F64);
    cfg.per_tensor = 8;
    pr_gradcheck_result res;
    CHECK_EQ_INT(pr_gradcheck(P.w, P.g, P.n_params, &P, cubic, &t, &cfg, &res, NULL), 0);
    CHECK_EQ_INT(res.n_checked, 8 + 3); /* small tensors are checked whole */
    cfg.max_checks = 17;
    CHECK_EQ_INT(pr_gradcheck(P.w, P.g, P.n_params, NULL, cubic, &t, &cfg, &res, NULL), 0);
    CHECK_EQ_INT(res.n_checked, 17);

    pr_error err;
    cfg.order = 3;
    CHECK_EQ_INT(pr_gradcheck(P.w, P.g, P.n_params, NULL, cubic, &t, &cfg, &res, &err), PR_E_ARG);
    cfg.order = 4;
    CHECK_EQ_INT(pr_gradcheck(P.w, P.g, 5, &P, cubic, &t, &cfg, &res, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "layout");
    /* a loss that overflows is reported, not compared */
    P.w[0] = INFINITY;
    cfg.per_tensor = 2;
    CHECK_EQ_INT(pr_gradcheck(P.w, P.g, P.n_params, &P, cubic, &t, &cfg, &res, &err), PR_E_NUMERIC);
    CHECK_CONTAINS(err.msg, "not finite");
    pr_params_deinit(&P);
}

/* ---- wrong backward passes are caught --------------------------------------------- */

typedef struct mut_ctx {
    pr_params P;
    pr_linear L;
    pr_mlp M;
    int64_t x;
    float y[64], r[64], act[512];
    double xd[64], yd[64], ref[512];
} mut_ctx;

static double tanh_loss(void *c) {
    mut_ctx *t = c;
    nn_to_f64(t->P.w + t->x, t->xd, 12);
    pr_act_forward_f64((pr_act){PR_ACT_TANH, 0}, t->xd, t->yd, 12);
    return nn_proj_f64(t->r, t->yd, 12);
}

static double lin_loss(void *c) {
    mut_ctx *t = c;
    nn_to_f64(t->P.w + t->x, t->xd, 12);
    pr_linear_forward_f64(&t->L, t->P.w, t->xd, t->yd, 3);
    return nn_proj_f64(t->r, t->yd, 3 * t->L.out);
}

static double mlp_loss(void *c) {
    mut_ctx *t = c;
    nn_to_f64(t->P.w + t->x, t->xd, 12);
    pr_mlp_forward_f64(&t->M, t->P.w, t->xd, t->yd, t->ref, 3, 0, NULL);
    return nn_proj_f64(t->r, t->yd, 3 * 2);
}

static int fails(pr_params *P, const float *g, pr_gradcheck_fn f, void *ctx, const char *blame) {
    pr_gradcheck_cfg cfg;
    pr_gradcheck_defaults(&cfg, PR_GRADCHECK_F64);
    pr_gradcheck_result res;
    int rc = pr_gradcheck(P->w, g, P->n_params, P, f, ctx, &cfg, &res, NULL);
    fprintf(stderr, "  mutant: %lld bad, worst %s rel %.2g\n", (long long)res.n_bad, res.worst_name,
            res.worst_rel);
    return rc == PR_E_NUMERIC && strncmp(res.worst_name, blame, strlen(blame)) == 0;
}

TEST(test_mutant_backwards) {
    mut_ctx t;
    pr_rng r;
    pr_rng_init(&r, 4, 0);
    pr_params_init(&t.P);
    pr_linear_init(&t.L, &t.P, "lin", 4, 3, 1);
    const int dims[3] = {4, 5, 2};
    pr_mlp_init(&t.M, &t.P, "mlp", 2, dims, (pr_act){PR_ACT_TANH, 0}, (pr_act){PR_ACT_NONE, 0}, 0,
                NULL);
    t.x = pr_params_add(&t.P, "x", 3, 4);
    CHECK_EQ_INT(pr_params_alloc(&t.P, NULL), 0);
    pr_linear_init_params(&t.L, &t.P, &r);
    pr_mlp_init_params(&t.M, &t.P, &r);
    nn_fill_normal(t.P.w + t.L.b, 3, 0.5f, &r);
    nn_fill_normal(t.P.w + t.x, 12, 1.0f, &r);
    nn_fill_normal(t.r, 12, 1.0f, &r);
    CHECK(pr_mlp_act_size(&t.M, 3) <= 512 && pr_mlp_ref_size(&t.M, 3) <= 512);
    float *x = t.P.w + t.x, *dx = t.P.g + t.x;

    /* 1. tanh' written as 1 - y instead of 1 - y^2 */
    pr_act_forward((pr_act){PR_ACT_TANH, 0}, x, t.y, 12);
    pr_params_zero_grad(&t.P);
    for (int i = 0; i < 12; i++) dx[i] = (1.0f - t.y[i]) * t.r[i];
    CHECK(fails(&t.P, t.P.g, tanh_loss, &t, "x"));
    pr_act_backward((pr_act){PR_ACT_TANH, 0}, x, t.y, t.r, dx, 12); /* the real one passes */
    CHECK(!fails(&t.P, t.P.g, tanh_loss, &t, "x"));

    /* 2. linear backward that forgets the bias gradient */
    pr_params_zero_grad(&t.P);
    pr_linear_backward(&t.L, t.P.w, t.P.g, x, t.r, dx, 3);
    memset(t.P.g + t.L.b, 0, 3 * sizeof(float));
    CHECK(fails(&t.P, t.P.g, lin_loss, &t, "lin.b"));

    /* 3. MLP backward with the wrong activation derivative (sigmoid's for tanh) */
    pr_params_zero_grad(&t.P);
    pr_mlp_forward(&t.M, t.P.w, x, t.act, 3, 0, NULL);
    pr_mlp wrong = t.M;
    wrong.act.kind = PR_ACT_SIGMOID; /* same buffer layout, wrong y' */
    pr_mlp_backward(&wrong, t.P.w, t.P.g, x, t.act, t.r, dx, 3);
    CHECK(fails(&t.P, t.P.g, mlp_loss, &t, "mlp.0"));
    pr_params_zero_grad(&t.P);
    pr_mlp_backward(&t.M, t.P.w, t.P.g, x, t.act, t.r, dx, 3);
    CHECK(!fails(&t.P, t.P.g, mlp_loss, &t, "mlp"));
    pr_params_deinit(&t.P);
}

/* 4. BPR whose positive gradient forgets the minus sign. */
typedef struct bpr_ctx {
    pr_params P;
    int64_t sp, sn;
} bpr_ctx;

static double bpr_loss(void *c) {
    bpr_ctx *t = c;
    return pr_loss_bpr(t->P.w + t->sp, t->P.w + t->sn, 4, 2, NULL, NULL);
}

TEST(test_mutant_loss) {
    bpr_ctx t;
    pr_rng r;
    pr_rng_init(&r, 5, 0);
    pr_params_init(&t.P);
    t.sp = pr_params_add(&t.P, "s_pos", 1, 4);
    t.sn = pr_params_add(&t.P, "s_neg", 4, 2);
    CHECK_EQ_INT(pr_params_alloc(&t.P, NULL), 0);
    nn_fill_normal(t.P.w, t.P.n_params, 1.0f, &r);
    pr_loss_bpr(t.P.w + t.sp, t.P.w + t.sn, 4, 2, t.P.g + t.sp, t.P.g + t.sn);
    CHECK(!fails(&t.P, t.P.g, bpr_loss, &t, "s_"));
    for (int i = 0; i < 4; i++) t.P.g[t.sp + i] = fabsf(t.P.g[t.sp + i]);
    CHECK(fails(&t.P, t.P.g, bpr_loss, &t, "s_pos"));
    pr_params_deinit(&t.P);
}

int main(void) {
    RUN(test_exact_and_restored);
    RUN(test_wrong_entry_named);
    RUN(test_sampling_and_errors);
    RUN(test_mutant_backwards);
    RUN(test_mutant_loss);
    return t_done();
}
