/* tests/nn/test_layers.c: forward values and gradient checks of every layer:
 * linear, activations, dropout, MLP, concat, modality attention, L2 norm.
 * Every backward is checked against the layer's double-precision reference
 * forward (tight) and its real float forward (loose), each with the mutation
 * sweep of nncheck.h; the float and double forwards must also agree. */
#include "core/mat.h"
#include "nn/act.h"
#include "nn/attn.h"
#include "nn/concat.h"
#include "nn/dropout.h"
#include "nn/l2norm.h"
#include "nn/linear.h"
#include "nn/mlp.h"
#include "nncheck.h"

#define TOL64 1e-4 /* PR_GRADCHECK_F64 preset */
#define TOL32 1e-2 /* PR_GRADCHECK_F32 preset */

/* Both checks of one layer (f32 NULL: the f64 one only), failures recorded. */
static void both_checks(pr_params *P, pr_gradcheck_fn f64, pr_gradcheck_fn f32, void *ctx) {
    float *g = malloc((size_t)P->n_params * sizeof *g);
    memcpy(g, P->g, (size_t)P->n_params * sizeof *g);
    CHECK(nn_check(P, g, f64, ctx, PR_GRADCHECK_F64) < TOL64);
    if (f32) {
        CHECK(nn_check(P, g, f32, ctx, PR_GRADCHECK_F32) < TOL32);
        CHECK_NEAR(f64(ctx), f32(ctx), 1e-5 * (1.0 + fabs(f64(ctx)))); /* float ~ reference */
    }
    free(g);
}

/* ---- linear ------------------------------------------------------------------ */

typedef struct lin_ctx {
    pr_params P;
    pr_linear L;
    int B;
    int64_t x;
    float y[64], r[64];
    double xd[64], yd[64];
} lin_ctx;

static double lin_loss(void *c) {
    lin_ctx *t = c;
    pr_linear_forward(&t->L, t->P.w, t->P.w + t->x, t->y, t->B);
    return nn_proj(t->r, t->y, (int64_t)t->B * t->L.out);
}

static double lin_loss64(void *c) {
    lin_ctx *t = c;
    nn_to_f64(t->P.w + t->x, t->xd, (int64_t)t->B * t->L.in);
    pr_linear_forward_f64(&t->L, t->P.w, t->xd, t->yd, t->B);
    return nn_proj_f64(t->r, t->yd, (int64_t)t->B * t->L.out);
}

static void linear_case(int bias) {
    lin_ctx t;
    pr_rng r;
    pr_rng_init(&r, 11 + bias, 0);
    pr_params_init(&t.P);
    t.B = 4;
    CHECK_EQ_INT(pr_linear_init(&t.L, &t.P, "lin", 5, 3, bias), 0);
    t.x = pr_params_add(&t.P, "x", t.B, 5);
    CHECK_EQ_INT(pr_params_alloc(&t.P, NULL), 0);
    pr_linear_init_params(&t.L, &t.P, &r);
    if (bias) nn_fill_normal(t.P.w + t.L.b, 3, 0.5f, &r); /* nonzero bias shows in the forward */
    nn_fill_normal(t.P.w + t.x, 20, 1.0f, &r);
    nn_fill_normal(t.r, 12, 1.0f, &r);

    /* forward against the naive product */
    lin_loss(&t);
    float ref[12];
    pr_gemm_naive(PR_NOTRANS, PR_TRANS, 4, 3, 5, 1.0f, t.P.w + t.x, 5, t.P.w + t.L.W, 5, 0.0f, ref,
                  3);
    double maxd = 0;
    for (int i = 0; i < 12; i++)
        maxd = fmax(maxd, fabs(ref[i] + (bias ? t.P.w[t.L.b + i % 3] : 0.0f) - t.y[i]));
    CHECK(maxd < 1e-5);

    pr_params_zero_grad(&t.P);
    pr_linear_backward(&t.L, t.P.w, t.P.g, t.P.w + t.x, t.r, t.P.g + t.x, t.B);
    both_checks(&t.P, lin_loss64, lin_loss, &t);
    /* dW accumulates: a second backward doubles it; dx is overwritten */
    float dW0 = t.P.g[t.L.W + 7], dx0 = t.P.g[t.x + 3];
    pr_linear_backward(&t.L, t.P.w, t.P.g, t.P.w + t.x, t.r, t.P.g + t.x, t.B);
    CHECK_NEAR(t.P.g[t.L.W + 7], 2 * dW0, 1e-6);
    CHECK_NEAR(t.P.g[t.x + 3], dx0, 0);
    pr_params_deinit(&t.P);
}

TEST(test_linear_bias) { linear_case(1); }
TEST(test_linear_nobias) { linear_case(0); }

/* ---- activations ----------------------------------------------------------- */

typedef struct act_ctx {
    pr_params P;
    pr_act a;
    int64_t x, n;
    float y[64], r[64];
    double xd[64], yd[64];
} act_ctx;

static double act_loss(void *c) {
    act_ctx *t = c;
    pr_act_forward(t->a, t->P.w + t->x, t->y, t->n);
    return nn_proj(t->r, t->y, t->n);
}

static double act_loss64(void *c) {
    act_ctx *t = c;
    nn_to_f64(t->P.w + t->x, t->xd, t->n);
    pr_act_forward_f64(t->a, t->xd, t->yd, t->n);
    return nn_proj_f64(t->r, t->yd, t->n);
}

static void act_case(int kind, float alpha) {
    act_ctx t = {.a = {kind, alpha}, .n = 24};
    pr_rng r;
    pr_rng_init(&r, 100 + kind, 0);
    pr_params_init(&t.P);
    t.x = pr_params_add(&t.P, "x", 4, 6);
    CHECK_EQ_INT(pr_params_alloc(&t.P, NULL), 0);
    float *x = t.P.w + t.x;
    for (int i = 0; i < t.n; i++) { /* |x| >= 0.1: the 4th-order stencil reaches 2h = 0.02 */
        float v = 1.5f * pr_rng_normal(&r);
        x[i] = v >= 0 ? v + 0.1f : v - 0.1f;
    }
    nn_fill_normal(t.r, t.n, 1.0f, &r);
    act_loss(&t);
    pr_params_zero_grad(&t.P);
    pr_act_backward(t.a, x, t.y, t.r, t.P.g + t.x, t.n);
    fprintf(stderr, "  %s\n", pr_act_name(kind));
    both_checks(&t.P, act_loss64, act_loss, &t);
    /* dx may alias dy */
    act_loss(&t);
    float d[64];
    memcpy(d, t.r, sizeof d);
    pr_act_backward(t.a, x, t.y, d, d, t.n);
    CHECK(memcmp(d, t.P.g + t.x, (size_t)t.n * sizeof *d) == 0);
    pr_params_deinit(&t.P);
}

TEST(test_act_grads) {
    act_case(PR_ACT_NONE, 0);
    act_case(PR_ACT_RELU, 0);
    act_case(PR_ACT_LEAKY_RELU, 0.1f);
    act_case(PR_ACT_TANH, 0);
    act_case(PR_ACT_SIGMOID, 0);
    act_case(PR_ACT_GELU, 0);
}

TEST(test_act_values) {
    float x[5] = {-2.0f, -0.5f, 0.0f, 0.5f, 30.0f}, y[5];
    pr_act_forward((pr_act){PR_ACT_LEAKY_RELU, 0.1f}, x, y, 5);
    CHECK_NEAR(y[0], -0.2, 1e-7);
    CHECK_NEAR(y[4], 30.0, 0);
    pr_act_forward((pr_act){PR_ACT_GELU, 0}, x, y, 5);
    CHECK_NEAR(y[0], -0.04550026389635842, 1e-7); /* -2 Phi(-2) */
    CHECK_NEAR(y[3], 0.34573123063700656, 1e-7);  /* 0.5 Phi(0.5) */
    CHECK_NEAR(y[2], 0.0, 0);
    float big[2] = {-100.0f, 100.0f}, s[2];
    pr_act_forward((pr_act){PR_ACT_SIGMOID, 0}, big, s, 2);
    CHECK(s[0] >= 0.0f && s[0] < 1e-40f && s[1] == 1.0f); /* no NaN from exp overflow */
    CHECK_EQ_INT(pr_act_parse("gelu"), PR_ACT_GELU);
    CHECK_EQ_INT(pr_act_parse("swish"), -1);
}

/* ---- dropout ---------------------------------------------------------------- */

typedef struct drop_ctx {
    pr_params P;
    int64_t x, n;
    float p;
    float y[64], mask[64], r[64];
    double xd[64], yd[64], maskd[64];
} drop_ctx;

static double drop_loss(void *c) {
    drop_ctx *t = c;
    pr_rng r;
    pr_rng_init(&r, 5, 0); /* same seed every call: the mask is fixed */
    pr_dropout_forward(t->p, 1, &r, t->P.w + t->x, t->y, t->mask, t->n);
    return nn_proj(t->r, t->y, t->n);
}

static double drop_loss64(void *c) {
    drop_ctx *t = c;
    pr_rng r;
    pr_rng_init(&r, 5, 0);
    nn_to_f64(t->P.w + t->x, t->xd, t->n);
    pr_dropout_forward_f64(t->p, 1, &r, t->xd, t->yd, t->maskd, t->n);
    return nn_proj_f64(t->r, t->yd, t->n);
}

TEST(test_dropout) {
    drop_ctx t = {.n = 30, .p = 0.4f};
    pr_rng r;
    pr_rng_init(&r, 3, 0);
    pr_params_init(&t.P);
    t.x = pr_params_add(&t.P, "x", 5, 6);
    CHECK_EQ_INT(pr_params_alloc(&t.P, NULL), 0);
    nn_fill_normal(t.P.w + t.x, t.n, 1.0f, &r);
    nn_fill_normal(t.r, t.n, 1.0f, &r);
    drop_loss(&t);
    int dropped = 0;
    for (int i = 0; i < t.n; i++) {
        CHECK(t.mask[i] == 0.0f || t.mask[i] == 1.0f / 0.6f);
        dropped += t.mask[i] == 0.0f;
        CHECK_NEAR(t.y[i], t.P.w[t.x + i] * t.mask[i], 0);
    }
    CHECK(dropped > 0 && dropped < t.n);
    pr_dropout_backward(t.mask, t.r, t.P.g + t.x, t.n);
    both_checks(&t.P, drop_loss64, drop_loss, &t);
    for (int i = 0; i < t.n; i++) CHECK(t.maskd[i] == t.mask[i]); /* same mask stream */

    /* statistics: keep rate 1 - p and unbiased mean; eval is the identity */
    enum { N = 100000 };
    static float ones[N], out[N], mask[N];
    for (int i = 0; i < N; i++) ones[i] = 1.0f;
    pr_dropout_forward(0.25f, 1, &r, ones, out, mask, N);
    double kept = 0, mean = 0;
    for (int i = 0; i < N; i++) {
        kept += mask[i] != 0.0f;
        mean += out[i];
    }
    CHECK_NEAR(kept / N, 0.75, 0.01);
    CHECK_NEAR(mean / N, 1.0, 0.015);
    pr_rng before = r;
    pr_dropout_forward(0.25f, 0, &r, ones, out, mask, N);
    CHECK(out[0] == 1.0f && out[N - 1] == 1.0f && mask[7] == 1.0f);
    CHECK(r.state == before.state); /* eval draws nothing */
    pr_params_deinit(&t.P);
}

/* ---- MLP --------------------------------------------------------------------- */

typedef struct mlp_ctx {
    pr_params P;
    pr_mlp M;
    int B, train;
    int64_t x;
    float *act, r[64];
    double xd[64], yd[64], *ref;
} mlp_ctx;

static double mlp_loss(void *c) {
    mlp_ctx *t = c;
    pr_rng r;
    pr_rng_init(&r, 77, 0);
    const float *y = pr_mlp_forward(&t->M, t->P.w, t->P.w + t->x, t->act, t->B, t->train, &r);
    return nn_proj(t->r, y, (int64_t)t->B * t->M.dims[t->M.n_layers]);
}

static double mlp_loss64(void *c) {
    mlp_ctx *t = c;
    pr_rng r;
    pr_rng_init(&r, 77, 0);
    nn_to_f64(t->P.w + t->x, t->xd, (int64_t)t->B * t->M.dims[0]);
    pr_mlp_forward_f64(&t->M, t->P.w, t->xd, t->yd, t->ref, t->B, t->train, &r);
    return nn_proj_f64(t->r, t->yd, (int64_t)t->B * t->M.dims[t->M.n_layers]);
}

/* Smallest |pre-activation| over hidden layers (ReLU kinks must stay away). */
static float mlp_min_abs_z(const mlp_ctx *t) {
    float mn = INFINITY;
    int64_t off = 0;
    for (int l = 0; l < t->M.n_layers - 1; l++) {
        int64_t n = (int64_t)t->B * t->M.dims[l + 1];
        for (int64_t i = 0; i < n; i++) mn = fminf(mn, fabsf(t->act[off + i]));
        off += 2 * n + (t->M.dropout > 0 ? 2 * n : 0);
    }
    return mn;
}

static void mlp_case(pr_act act, float dropout, int train, uint64_t seed) {
    mlp_ctx t = {.B = 3, .train = train};
    pr_rng r;
    pr_rng_init(&r, seed, 0);
    pr_params_init(&t.P);
    const int dims[4] = {6, 8, 5, 2};
    pr_error err;
    CHECK_EQ_INT(
        pr_mlp_init(&t.M, &t.P, "mlp", 3, dims, act, (pr_act){PR_ACT_NONE, 0}, dropout, &err), 0);
    t.x = pr_params_add(&t.P, "x", t.B, 6);
    CHECK_EQ_INT(pr_params_alloc(&t.P, &err), 0);
    pr_mlp_init_params(&t.M, &t.P, &r);
    for (int l = 0; l < 3; l++) nn_fill_normal(t.P.w + t.M.lin[l].b, dims[l + 1], 0.3f, &r);
    nn_fill_normal(t.P.w + t.x, t.B * 6, 1.0f, &r);
    nn_fill_normal(t.r, t.B * 2, 1.0f, &r);
    t.act = malloc((size_t)pr_mlp_act_size(&t.M, t.B) * sizeof *t.act);
    t.ref = malloc((size_t)pr_mlp_ref_size(&t.M, t.B) * sizeof *t.ref);
    mlp_loss(&t);
    if (act.kind == PR_ACT_RELU) {
        /* steps of 2h = 2e-3 on inputs |x| < 4 move z by < 0.01: no kink is crossed.
         * (The f32 preset's larger steps would cross some: f64 check only.) */
        fprintf(stderr, "  relu: min |z| = %.3g\n", mlp_min_abs_z(&t));
        CHECK(mlp_min_abs_z(&t) > 0.02f);
    }
    pr_params_zero_grad(&t.P);
    pr_mlp_backward(&t.M, t.P.w, t.P.g, t.P.w + t.x, t.act, t.r, t.P.g + t.x, t.B);
    fprintf(stderr, "  mlp %s dropout %.2f train %d\n", pr_act_name(act.kind), dropout, train);
    both_checks(&t.P, mlp_loss64, act.kind == PR_ACT_RELU ? NULL : mlp_loss, &t);
    free(t.act);
    free(t.ref);
    pr_params_deinit(&t.P);
}

TEST(test_mlp_grads) {
    mlp_case((pr_act){PR_ACT_TANH, 0}, 0.0f, 1, 1);
    mlp_case((pr_act){PR_ACT_GELU, 0}, 0.0f, 1, 2);
    mlp_case((pr_act){PR_ACT_RELU, 0}, 0.0f, 1, 9);
    mlp_case((pr_act){PR_ACT_SIGMOID, 0}, 0.3f, 1, 4); /* dropout with the fixed mask */
    mlp_case((pr_act){PR_ACT_TANH, 0}, 0.3f, 0, 5);    /* eval: dropout is the identity */
}

TEST(test_mlp_forward_matches_layers) {
    /* a 2-layer MLP equals linear -> tanh -> linear done by hand */
    pr_params P;
    pr_params_init(&P);
    pr_mlp M;
    const int dims[3] = {3, 4, 2};
    CHECK_EQ_INT(pr_mlp_init(&M, &P, "m", 2, dims, (pr_act){PR_ACT_TANH, 0},
                             (pr_act){PR_ACT_SIGMOID, 0}, 0, NULL),
                 0);
    CHECK_EQ_INT(pr_params_alloc(&P, NULL), 0);
    pr_rng r;
    pr_rng_init(&r, 9, 0);
    pr_mlp_init_params(&M, &P, &r);
    CHECK(pr_params_find(&P, "m.0.W") && pr_params_find(&P, "m.1.b"));
    CHECK_EQ_INT(pr_params_find(&P, "m.1.W")->rows, 2);
    CHECK_EQ_INT(pr_params_find(&P, "m.1.W")->cols, 4);
    float x[6] = {0.5f, -1, 2, 0.1f, 0.2f, -0.3f}, h[8], z[4];
    float *act = malloc((size_t)pr_mlp_act_size(&M, 2) * sizeof *act);
    const float *y = pr_mlp_forward(&M, P.w, x, act, 2, 0, NULL);
    pr_linear_forward(&M.lin[0], P.w, x, h, 2);
    pr_act_forward((pr_act){PR_ACT_TANH, 0}, h, h + 0, 8);
    pr_linear_forward(&M.lin[1], P.w, h, z, 2);
    for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], 1.0 / (1.0 + exp(-z[i])), 1e-6);
    free(act);
    /* bad arguments */
    pr_error err;
    const int bad[3] = {3, 0, 2};
    CHECK_EQ_INT(pr_mlp_init(&M, &P, "m2", 2, bad, (pr_act){0, 0}, (pr_act){0, 0}, 0, &err),
                 PR_E_ARG);
    CHECK_EQ_INT(pr_mlp_init(&M, &P, "m2", 2, dims, (pr_act){0, 0}, (pr_act){0, 0}, 1.0f, &err),
                 PR_E_ARG);
    CHECK_CONTAINS(err.msg, "dropout");
    pr_params_deinit(&P);
}

/* ---- concat ------------------------------------------------------------------ */

typedef struct cat_ctx {
    pr_params P;
    int B;
    int dims[3];
    int64_t x[3];
    float y[64], r[64];
    double xd[3][64], yd[64];
} cat_ctx;

static double cat_loss(void *c) {
    cat_ctx *t = c;
    const float *xs[3] = {t->P.w + t->x[0], t->P.w + t->x[1], t->P.w + t->x[2]};
    pr_concat_forward(xs, t->dims, 3, t->y, t->B);
    return nn_proj(t->r, t->y, (int64_t)t->B * pr_concat_width(t->dims, 3));
}

static double cat_loss64(void *c) {
    cat_ctx *t = c;
    for (int j = 0; j < 3; j++) nn_to_f64(t->P.w + t->x[j], t->xd[j], (int64_t)t->B * t->dims[j]);
    const double *xs[3] = {t->xd[0], t->xd[1], t->xd[2]};
    pr_concat_forward_f64(xs, t->dims, 3, t->yd, t->B);
    return nn_proj_f64(t->r, t->yd, (int64_t)t->B * pr_concat_width(t->dims, 3));
}

TEST(test_concat) {
    cat_ctx t = {.B = 3, .dims = {2, 3, 4}};
    pr_rng r;
    pr_rng_init(&r, 21, 0);
    pr_params_init(&t.P);
    t.x[0] = pr_params_add(&t.P, "x0", 3, 2);
    t.x[1] = pr_params_add(&t.P, "x1", 3, 3);
    t.x[2] = pr_params_add(&t.P, "x2", 3, 4);
    CHECK_EQ_INT(pr_params_alloc(&t.P, NULL), 0);
    for (int j = 0; j < 3; j++) nn_fill_normal(t.P.w + t.x[j], 3 * t.dims[j], 1.0f, &r);
    nn_fill_normal(t.r, 27, 1.0f, &r);
    cat_loss(&t);
    CHECK_EQ_INT(pr_concat_width(t.dims, 3), 9);
    CHECK(t.y[9 + 2] == t.P.w[t.x[1] + 3]);   /* row 1, first column of x1 */
    CHECK(t.y[18 + 8] == t.P.w[t.x[2] + 11]); /* row 2, last column of x2 */
    float *dxs[3] = {t.P.g + t.x[0], t.P.g + t.x[1], t.P.g + t.x[2]};
    pr_concat_backward(t.r, dxs, t.dims, 3, t.B);
    both_checks(&t.P, cat_loss64, cat_loss, &t);
    /* a NULL gradient slot is skipped, the others still filled */
    float keep = t.P.g[t.x[1]];
    t.P.g[t.x[1]] = 123.0f;
    dxs[1] = NULL;
    pr_concat_backward(t.r, dxs, t.dims, 3, t.B);
    CHECK(t.P.g[t.x[1]] == 123.0f && keep != 123.0f);
    pr_params_deinit(&t.P);
}

/* ---- modality attention ------------------------------------------------------ */

typedef struct attn_ctx {
    pr_params P;
    pr_attn A;
    int B;
    int64_t H;
    const uint8_t *mask;
    float out[64], r[64], *act;
    double Hd[64], outd[64], ad[16];
} attn_ctx;

static double attn_loss(void *c) {
    attn_ctx *t = c;
    pr_attn_forward(&t->A, t->P.w, t->P.w + t->H, t->mask, t->out, t->act, t->B);
    return nn_proj(t->r, t->out, (int64_t)t->B * t->A.d);
}

static double attn_loss64(void *c) {
    attn_ctx *t = c;
    nn_to_f64(t->P.w + t->H, t->Hd, (int64_t)t->B * t->A.M * t->A.d);
    pr_attn_forward_f64(&t->A, t->P.w, t->Hd, t->mask, t->outd, t->ad, t->B);
    return nn_proj_f64(t->r, t->outd, (int64_t)t->B * t->A.d);
}

static void attn_setup(attn_ctx *t, pr_rng *r, const uint8_t *mask) {
    enum { B = 4, M = 3, D = 4, K = 5 };
    memset(t, 0, sizeof *t);
    t->B = B;
    t->mask = mask;
    pr_params_init(&t->P);
    CHECK_EQ_INT(pr_attn_init(&t->A, &t->P, "att", M, D, K), 0);
    t->H = pr_params_add(&t->P, "H", B * M, D);
    CHECK_EQ_INT(pr_params_alloc(&t->P, NULL), 0);
    pr_attn_init_params(&t->A, &t->P, r);
    nn_fill_normal(t->P.w + t->A.c, K, 0.3f, r);
    nn_fill_normal(t->P.w + t->A.q, K, 1.0f, r); /* sharp enough that weights differ */
    nn_fill_normal(t->P.w + t->H, B * M * D, 1.0f, r);
    nn_fill_normal(t->r, B * D, 1.0f, r);
    t->act = malloc((size_t)pr_attn_act_size(&t->A, B) * sizeof *t->act);
}

TEST(test_attn_grads) {
    /* row 0: all present; row 1: text missing; row 2: only one modality; row 3: none */
    static const uint8_t mask[12] = {1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0};
    const uint8_t *masks[2] = {NULL, mask};
    for (int v = 0; v < 2; v++) {
        attn_ctx t;
        pr_rng r;
        pr_rng_init(&r, 31 + v, 0);
        attn_setup(&t, &r, masks[v]);
        attn_loss(&t);
        const float *a = pr_attn_weights(&t.A, t.act, t.B);
        for (int b = 0; b < t.B; b++) {
            double s = 0;
            for (int m = 0; m < 3; m++) {
                s += a[b * 3 + m];
                if (masks[v] && !mask[b * 3 + m]) CHECK(a[b * 3 + m] == 0.0f);
            }
            CHECK_NEAR(s, (masks[v] && b == 3) ? 0.0 : 1.0, 1e-6);
        }
        if (masks[v]) {
            CHECK_NEAR(a[2 * 3 + 1], 1.0, 0);                            /* the only present one */
            for (int j = 0; j < 4; j++) CHECK(t.out[3 * 4 + j] == 0.0f); /* all missing */
        } else {
            /* out = sum a_m h_m, checked for row 2 */
            for (int j = 0; j < 4; j++) {
                double ref = 0;
                for (int m = 0; m < 3; m++) ref += a[2 * 3 + m] * t.P.w[t.H + (2 * 3 + m) * 4 + j];
                CHECK_NEAR(t.out[2 * 4 + j], ref, 1e-6);
            }
            CHECK(fabsf(a[0] - a[1]) > 1e-3f); /* weights are not uniform */
        }
        pr_params_zero_grad(&t.P);
        pr_attn_backward(&t.A, t.P.w, t.P.g, t.P.w + t.H, t.mask, t.act, t.r, t.P.g + t.H, t.B);
        fprintf(stderr, "  attention, mask %s\n", masks[v] ? "on" : "off");
        both_checks(&t.P, attn_loss64, attn_loss, &t);
        for (int i = 0; i < 12; i++)
            CHECK_NEAR(t.ad[i], pr_attn_weights(&t.A, t.act, t.B)[i], 1e-6);
        if (masks[v]) CHECK(t.P.g[t.H + 5 * 4] == 0.0f); /* missing modality: dH = 0 */
        free(t.act);
        pr_params_deinit(&t.P);
    }
}

TEST(test_attn_mask_ignores_missing_rows) {
    /* changing a missing modality's vector leaves out and a unchanged */
    static const uint8_t mask[12] = {1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0};
    attn_ctx t;
    pr_rng r;
    pr_rng_init(&r, 41, 0);
    attn_setup(&t, &r, mask);
    attn_loss(&t);
    float out0[16], a0[12];
    memcpy(out0, t.out, sizeof out0);
    memcpy(a0, pr_attn_weights(&t.A, t.act, t.B), sizeof a0);
    for (int j = 0; j < 4; j++) t.P.w[t.H + 1 * 4 + j] = 1e3f;
    attn_loss(&t);
    CHECK(memcmp(out0, t.out, sizeof out0) == 0);
    CHECK(memcmp(a0, pr_attn_weights(&t.A, t.act, t.B), sizeof a0) == 0);
    free(t.act);
    pr_params_deinit(&t.P);
    /* too many modalities is a sticky error */
    pr_params P;
    pr_params_init(&P);
    pr_attn A;
    pr_error err;
    CHECK_EQ_INT(pr_attn_init(&A, &P, "big", PR_ATTN_MAX_M + 1, 4, 4), PR_E_ARG);
    CHECK_EQ_INT(pr_params_alloc(&P, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "big");
    pr_params_deinit(&P);
}

/* ---- L2 normalisation ---------------------------------------------------------- */

typedef struct l2_ctx {
    pr_params P;
    int64_t x;
    float y[64], norms[8], r[64];
    double xd[64], yd[64];
} l2_ctx;

static double l2_loss(void *c) {
    l2_ctx *t = c;
    pr_l2norm_forward(t->P.w + t->x, t->y, t->norms, 4, 5, PR_L2NORM_EPS);
    return nn_proj(t->r, t->y, 20);
}

static double l2_loss64(void *c) {
    l2_ctx *t = c;
    nn_to_f64(t->P.w + t->x, t->xd, 20);
    pr_l2norm_forward_f64(t->xd, t->yd, 4, 5, PR_L2NORM_EPS);
    return nn_proj_f64(t->r, t->yd, 20);
}

TEST(test_l2norm) {
    l2_ctx t;
    pr_rng r;
    pr_rng_init(&r, 51, 0);
    pr_params_init(&t.P);
    t.x = pr_params_add(&t.P, "x", 4, 5);
    CHECK_EQ_INT(pr_params_alloc(&t.P, NULL), 0);
    nn_fill_normal(t.P.w + t.x, 20, 1.0f, &r);
    nn_fill_normal(t.r, 20, 1.0f, &r);
    l2_loss(&t);
    for (int b = 0; b < 4; b++) CHECK_NEAR(pr_norm2(t.y + b * 5, 5), 1.0, 1e-6);
    float x3[3] = {3, 0, 4}, y3[3], n3;
    pr_l2norm_forward(x3, y3, &n3, 1, 3, PR_L2NORM_EPS);
    CHECK_NEAR(n3, 5.0, 1e-6);
    CHECK_NEAR(y3[0], 0.6, 1e-7);
    float z[3] = {0, 0, 0}, yz[3], nz, dz[3], g3[3] = {1, 2, 3};
    pr_l2norm_forward(z, yz, &nz, 1, 3, PR_L2NORM_EPS);
    pr_l2norm_backward(yz, &nz, g3, dz, 1, 3);
    CHECK(yz[0] == 0.0f && isfinite(dz[0])); /* zero row: finite */
    pr_l2norm_backward(t.y, t.norms, t.r, t.P.g + t.x, 4, 5);
    both_checks(&t.P, l2_loss64, l2_loss, &t);
    pr_params_deinit(&t.P);
}

int main(void) {
    RUN(test_linear_bias);
    RUN(test_linear_nobias);
    RUN(test_act_grads);
    RUN(test_act_values);
    RUN(test_dropout);
    RUN(test_mlp_grads);
    RUN(test_mlp_forward_matches_layers);
    RUN(test_concat);
    RUN(test_attn_grads);
    RUN(test_attn_mask_ignores_missing_rows);
    RUN(test_l2norm);
    return t_done();
}
