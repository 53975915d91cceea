/* tests/models/test_cold.c: cold start pieces against references: fold-in
 * against a plain Gaussian elimination, the ridge mapper against its
 * optimality conditions and exact recovery, the MLP mapper against ridge on
 * a nonlinear map, tower save/load, the cold protocols on a hand-computed
 * ranking, cold-user hold-out, content-kNN, and BPR-MF + mapper placing
 * held-out items of a planted cluster structure. */
#include <unistd.h>

#include "common/synth.h"
#include "core/log.h"
#include "core/rng.h"
#include "eval/cold.h"
#include "models/foldin.h"
#include "models/mapper.h"
#include "t.h"
#include "train/loop.h"

static void fill_normal(float *x, int64_t n, float sd, pr_rng *r) {
    for (int64_t k = 0; k < n; k++) x[k] = sd * pr_rng_normal(r);
}

/* Solve A x = b (n x n, row-major, destroyed) by Gaussian elimination with
 * partial pivoting, in double: the reference. */
static void gauss(double *A, double *b, int n) {
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(A[r * n + c]) > fabs(A[p * n + c])) p = r;
        for (int k = 0; k < n; k++) {
            double t = A[c * n + k];
            A[c * n + k] = A[p * n + k];
            A[p * n + k] = t;
        }
        double t = b[c];
        b[c] = b[p];
        b[p] = t;
        for (int r = c + 1; r < n; r++) {
            double f = A[r * n + c] / A[c * n + c];
            for (int k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
            b[r] -= f * b[c];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        for (int k = c + 1; k < n; k++) b[c] -= A[c * n + k] * b[k];
        b[c] /= A[c * n + c];
    }
}

/* u = (V_H^T V_H + alpha V^T V + lam' I)^-1 (t V_H^T 1 + lam' p), lam' = lambda mean|v_h|^2,
 * by the reference. */
static void foldin_ref(const float *V, int ni, int d, const int32_t *h, int n, double lambda, double alpha,
                       double t, const float *p, double *u) {
    double *A = calloc((size_t)d * d, sizeof *A), sq = 0;
    for (int a = 0; a < d; a++) u[a] = 0;
    for (int q = 0; q < n; q++) {
        const float *v = V + (int64_t)h[q] * d;
        for (int a = 0; a < d; a++) {
            u[a] += t * v[a];
            sq += (double)v[a] * v[a];
            for (int b = 0; b < d; b++) A[a * d + b] += (double)v[a] * v[b];
        }
    }
    for (int i = 0; alpha > 0 && i < ni; i++)
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) A[a * d + b] += alpha * V[i * d + a] * V[i * d + b];
    for (int a = 0; a < d; a++) {
        A[a * d + a] += lambda * sq / n;
        if (p) u[a] += lambda * sq / n * p[a];
    }
    gauss(A, u, d);
    free(A);
}

TEST(test_foldin_matches_reference_solve) {
    pr_rng r;
    pr_rng_init(&r, 7, 1);
    enum { NI = 50, D = 8 };
    float V[NI * D], u[D], G[D * D];
    double ref[D];
    fill_normal(V, NI * D, 0.5f, &r);
    pr_foldin_gram(V, NI, D, G);
    int32_t hist[6] = {3, 17, 17, 40, 8, 22}; /* a repeat counts twice */
    pr_error err;
    pr_foldin_opts o;
    pr_foldin_opts_default(&o);
    const double lambdas[3] = {0.01, 0.1, 2.0};
    float prior[D];
    fill_normal(prior, D, 0.3f, &r);
    for (int n = 1; n <= 6; n++)
        for (int l = 0; l < 3; l++)
            for (int al = 0; al < 4; al++) {
                o.lambda = lambdas[l];
                o.alpha = al & 1 ? 0.05 : 0.0;
                o.gram = al & 1 ? G : NULL;
                o.target = al & 2 ? 2.5 : 1.0;
                o.prior = al & 2 ? prior : NULL;
                CHECK_EQ_INT(pr_foldin(V, NI, D, hist, n, &o, u, &err), 0);
                foldin_ref(V, NI, D, hist, n, o.lambda, o.alpha, o.target, o.prior, ref);
                double dmax = 0, nrm = 0;
                for (int a = 0; a < D; a++) {
                    dmax = fmax(dmax, fabs(u[a] - ref[a]));
                    nrm = fmax(nrm, fabs(ref[a]));
                }
                CHECK(dmax <= 1e-4 * (1 + nrm));
            }
    /* one item, no alpha: u = v / (|v|^2 (1 + lambda)), so scores rank by v_i . v_h */
    pr_foldin_opts_default(&o);
    CHECK_EQ_INT(pr_foldin(V, NI, D, hist, 1, &o, u, &err), 0);
    double sq = 0;
    for (int a = 0; a < D; a++) sq += (double)V[3 * D + a] * V[3 * D + a];
    for (int a = 0; a < D; a++) CHECK_NEAR(u[a], V[3 * D + a] / (sq * 1.1), 1e-5);
    /* the explanation: parts per history item (and the prior's) sum to u . v_item */
    float parts[6], pp;
    for (int n = 1; n <= 6; n += 5)
        for (int withp = 0; withp < 2; withp++) {
            o.prior = withp ? prior : NULL;
            o.target = withp ? 3.0 : 1.0;
            CHECK_EQ_INT(pr_foldin(V, NI, D, hist, n, &o, u, &err), 0);
            CHECK_EQ_INT(pr_foldin_explain(V, NI, D, hist, n, &o, 31, parts, &pp, &err), 0);
            double dot = 0, sum = pp;
            for (int a = 0; a < D; a++) dot += (double)u[a] * V[31 * D + a];
            for (int k = 0; k < n; k++) sum += parts[k];
            CHECK_NEAR(sum, dot, 1e-5 * (1 + fabs(dot)));
            if (!withp) CHECK(pp == 0.0f);
        }
    o.prior = NULL;
    o.target = 1.0;
    CHECK_EQ_INT(pr_foldin_explain(V, NI, D, hist, 2, &o, NI, parts, NULL, &err), PR_E_ARG);
    /* errors */
    CHECK_EQ_INT(pr_foldin(V, NI, D, hist, 0, &o, u, &err), PR_E_ARG);
    int32_t bad = NI;
    CHECK_EQ_INT(pr_foldin(V, NI, D, &bad, 1, &o, u, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "outside");
    o.alpha = 1;
    o.gram = NULL;
    CHECK_EQ_INT(pr_foldin(V, NI, D, hist, 2, &o, u, &err), PR_E_ARG);
}

/* The BPR objective of foldin.h, in double. */
static double bpr_objective(const float *V, int ni, int d, const int32_t *h, int n, double lambda,
                            const float *p, const double *u) {
    double sq = 0, L = 0;
    int in_h[64] = {0}, n_neg = 0;
    for (int k = 0; k < n; k++) in_h[h[k]] = 1;
    for (int j = 0; j < ni; j++) {
        n_neg += !in_h[j];
        for (int a = 0; a < d; a++) sq += (double)V[j * d + a] * V[j * d + a];
    }
    for (int k = 0; k < n; k++)
        for (int j = 0; j < ni; j++) {
            if (in_h[j]) continue;
            double x = 0;
            for (int a = 0; a < d; a++) x += u[a] * (V[h[k] * d + a] - V[j * d + a]);
            L += log1p(exp(-x)) / n_neg;
        }
    for (int a = 0; a < d; a++) L += 0.5 * lambda * sq / ni * (u[a] - p[a]) * (u[a] - p[a]);
    return L;
}

/* BPR fold-in: the Newton solution is a stationary point of the objective
 * (central differences), and a minimum along random directions. */
TEST(test_foldin_bpr_is_the_minimum) {
    pr_rng r;
    pr_rng_init(&r, 17, 1);
    enum { NI = 40, D = 6 };
    float V[NI * D], u[D], prior[D];
    fill_normal(V, NI * D, 1.0f, &r);
    fill_normal(prior, D, 0.5f, &r);
    int32_t hist[4] = {5, 11, 12, 30};
    pr_foldin_opts o;
    pr_foldin_opts_default(&o);
    o.bpr = 1;
    o.prior = prior;
    pr_error err;
    for (int l = 0; l < 2; l++) {
        o.lambda = l ? 1.0 : 0.01;
        CHECK_EQ_INT(pr_foldin(V, NI, D, hist, 4, &o, u, &err), 0);
        double ud[D], worst = 0, h = 1e-4;
        for (int a = 0; a < D; a++) ud[a] = u[a];
        double L0 = bpr_objective(V, NI, D, hist, 4, o.lambda, prior, ud);
        for (int a = 0; a < D; a++) {
            ud[a] += h;
            double Lp = bpr_objective(V, NI, D, hist, 4, o.lambda, prior, ud);
            ud[a] -= 2 * h;
            double Lm = bpr_objective(V, NI, D, hist, 4, o.lambda, prior, ud);
            ud[a] += h;
            worst = fmax(worst, fabs((Lp - Lm) / (2 * h)));
        }
        CHECK(worst < 1e-4);
        for (int t = 0; t < 10; t++) {
            double dir[D];
            for (int a = 0; a < D; a++) dir[a] = ud[a] + 0.05 * pr_rng_normal(&r);
            CHECK(bpr_objective(V, NI, D, hist, 4, o.lambda, prior, dir) >= L0 - 1e-12);
        }
    }
    /* a strong prior keeps u at the prior */
    o.lambda = 1e6;
    CHECK_EQ_INT(pr_foldin(V, NI, D, hist, 4, &o, u, &err), 0);
    for (int a = 0; a < D; a++) CHECK_NEAR(u[a], prior[a], 1e-4);
    o.lambda = 0;
    CHECK_EQ_INT(pr_foldin(V, NI, D, hist, 4, &o, u, &err), PR_E_ARG);
}

/* Rows fold in independently, on the pool, equal to one-by-one calls. */
TEST(test_foldin_rows) {
    pr_rng r;
    pr_rng_init(&r, 8, 1);
    enum { NI = 30, D = 6, NU = 5 };
    float V[NI * D], U[NU * D], u[D];
    fill_normal(V, NI * D, 1.0f, &r);
    int32_t ru[7] = {0, 0, 2, 2, 2, 4, 4}, ri[7] = {1, 5, 3, 9, 20, 7, 8};
    pr_csr *h;
    pr_error err;
    CHECK_EQ_INT(pr_csr_from_coo(NU, NI, 7, ru, ri, NULL, &h, &err), 0);
    for (int k = 0; k < NU * D; k++) U[k] = 42.0f;
    pr_foldin_opts o;
    pr_foldin_opts_default(&o);
    pr_pool *pool = pr_pool_new(2);
    CHECK_EQ_INT(pr_foldin_rows(V, NI, D, h, &o, pool, U, &err), 0);
    for (int a = 0; a < D; a++) CHECK(U[1 * D + a] == 42.0f); /* empty rows untouched */
    CHECK_EQ_INT(pr_foldin(V, NI, D, ri + 2, 3, &o, u, &err), 0);
    for (int a = 0; a < D; a++) CHECK_NEAR(U[2 * D + a], u[a], 1e-6);
    pr_pool_free(pool);
    pr_csr_free(h);
}

/* Features with given modalities (row-major blocks); missing may be NULL. */
static pr_features *make_features(int n, int n_mod, const int *dims, float **X, uint8_t **missing) {
    pr_features *f = pr_features_new();
    pr_error err;
    for (int m = 0; m < n_mod; m++) {
        char name[16];
        snprintf(name, sizeof name, "m%d", m);
        if (pr_features_add(f, name, n, dims[m], X[m], missing ? missing[m] : NULL, &err)) return NULL;
    }
    return f;
}

/* Ridge: the optimality condition Xc^T (Xc W - Yc) + lam' W = 0, primal and
 * dual give the same W, and a noise-free linear map is recovered. */
TEST(test_ridge_closed_form) {
    pr_rng r;
    pr_rng_init(&r, 9, 2);
    pr_error err;
    for (int shape = 0; shape < 2; shape++) {
        int n = shape ? 12 : 40, D = shape ? 30 : 10, dy = 3; /* shape 1: D > n, the dual system */
        float *X = malloc((size_t)n * D * 4), *Y = malloc((size_t)n * dy * 4), *W = malloc((size_t)D * dy * 4);
        float xm[30], ym[3];
        fill_normal(X, (int64_t)n * D, 1.0f, &r);
        fill_normal(Y, (int64_t)n * dy, 1.0f, &r);
        for (int k = 0; k < n * D; k++) X[k] += 0.5f; /* non-zero means */
        pr_ridge *rg;
        double reg = 0.3;
        CHECK_EQ_INT(pr_ridge_new(X, n, D, reg, &rg, &err), 0);
        CHECK_EQ_INT(pr_ridge_is_dual(rg), shape);
        CHECK_EQ_INT(pr_ridge_solve(rg, Y, dy, W, xm, ym, &err), 0);
        /* reference quantities in double */
        double mx[30] = {0}, my[3] = {0}, tr = 0;
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < D; k++) mx[k] += X[i * D + k] / (double)n;
            for (int k = 0; k < dy; k++) my[k] += Y[i * dy + k] / (double)n;
        }
        for (int k = 0; k < D; k++) CHECK_NEAR(xm[k], mx[k], 1e-5);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < D; k++) tr += (X[i * D + k] - mx[k]) * (X[i * D + k] - mx[k]);
        double lam = reg * tr / D, worst = 0;
        for (int a = 0; a < D; a++)
            for (int j = 0; j < dy; j++) {
                double g = lam * W[a * dy + j];
                for (int i = 0; i < n; i++) {
                    double pred = 0;
                    for (int k = 0; k < D; k++) pred += (X[i * D + k] - mx[k]) * W[k * dy + j];
                    g += (X[i * D + a] - mx[a]) * (pred - (Y[i * dy + j] - my[j]));
                }
                worst = fmax(worst, fabs(g));
            }
        CHECK(worst < 1e-3 * lam); /* gradient of the ridge objective vanishes */
        pr_ridge_free(rg);
        free(X);
        free(Y);
        free(W);
    }
    /* exact recovery: Y = X B + c with tiny reg */
    int n = 60, D = 5, dy = 2;
    float X[60 * 5], Y[60 * 2], B[5 * 2], W[5 * 2], xm[5], ym[2];
    fill_normal(X, n * D, 1.0f, &r);
    fill_normal(B, D * dy, 1.0f, &r);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dy; j++) {
            double s = j + 1.0;
            for (int k = 0; k < D; k++) s += X[i * D + k] * B[k * dy + j];
            Y[i * dy + j] = (float)s;
        }
    pr_ridge *rg;
    CHECK_EQ_INT(pr_ridge_new(X, n, D, 1e-8, &rg, &err), 0);
    CHECK_EQ_INT(pr_ridge_solve(rg, Y, dy, W, xm, ym, &err), 0);
    for (int k = 0; k < D * dy; k++) CHECK_NEAR(W[k], B[k], 1e-3);
    pr_ridge_free(rg);
    CHECK_EQ_INT(pr_ridge_new(X, 1, D, 1.0, &rg, &err), PR_E_ARG);
}

/* A snapshot whose item vectors are a known function of the content. */
static void mapped_snapshot(pr_snapshot *s, const pr_features *f, int n_items, int d, int nonlinear) {
    pr_snapshot_alloc(s, 1, n_items, d, 1);
    s->U[0] = 1;
    for (int i = 0; i < n_items; i++) {
        const float *x0 = f->mod[0].X + (int64_t)i * f->mod[0].dim, *x1 = f->mod[1].X + (int64_t)i * f->mod[1].dim;
        for (int j = 0; j < d; j++)
            s->V[i * d + j] = nonlinear ? (j % 2 ? x0[j % 3] * x0[j % 3] : sinf(2 * x1[j % 2]))
                                        : 0.5f * x0[j % 3] - x1[j % 2] + 0.1f * j;
        s->b[i] = nonlinear ? fabsf(x0[0]) : x0[1] + 2;
    }
}

/* Mean squared error of a tower on items [lo, hi) of s. */
static double tower_mse(const pr_tower *t, const pr_features *f, const pr_snapshot *s, int lo, int hi) {
    double se = 0;
    float v[8], b;
    for (int i = lo; i < hi; i++) {
        const float *x[PR_MAX_MODALITIES];
        pr_features_row(f, i, x);
        t->ops->encode(t, x, v, &b, NULL);
        for (int j = 0; j < s->d; j++) se += (v[j] - s->V[i * s->d + j]) * (v[j] - s->V[i * s->d + j]);
        se += (b - s->b[i]) * (b - s->b[i]);
    }
    return se / (hi - lo);
}

static pr_features *random_features(int n, pr_rng *r) {
    int dims[2] = {3, 2};
    float *X[2] = {malloc((size_t)n * 3 * 4), malloc((size_t)n * 2 * 4)};
    fill_normal(X[0], n * 3, 1.0f, r);
    fill_normal(X[1], n * 2, 1.0f, r);
    return make_features(n, 2, dims, X, NULL);
}

TEST(test_mapper_ridge_linear_and_roundtrip) {
    pr_rng r;
    pr_rng_init(&r, 10, 3);
    int n = 120, d = 4;
    pr_features *f = random_features(n, &r);
    pr_snapshot s;
    mapped_snapshot(&s, f, n, d, 0);
    int32_t rows[100];
    for (int i = 0; i < 100; i++) rows[i] = i;
    pr_mapper_opts o;
    pr_mapper_opts_default(&o);
    o.reg = 1e-7;
    o.scale = 1.0f;
    pr_tower *t = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_mapper_fit(f, &s, rows, 100, &o, NULL, &t, &err), 0);
    CHECK_EQ_INT(t->d, d);
    CHECK_EQ_INT(t->n_mod, 2);
    CHECK(tower_mse(t, f, &s, 100, 120) < 1e-8); /* unseen items, linear truth: exact */
    /* norm matching on a perfect fit is 1 */
    CHECK_NEAR(pr_tower_norm_ratio(t, f, &s, rows, 100), 1.0, 1e-4);
    /* save / load round trip: identical outputs */
    pr_buf b;
    pr_buf_init(&b);
    CHECK_EQ_INT(pr_mapper_save(t, &b), 0);
    pr_cur c;
    pr_cur_init(&c, b.data, b.len, "tower");
    char *name = NULL;
    CHECK_EQ_INT(pr_cur_get_str(&c, &name, 31, &err), 0);
    CHECK_STR(name, "mapper");
    CHECK(pr_tower_find(name) == &pr_mapper_tower_ops);
    free(name);
    size_t off = (size_t)(c.p - b.data);
    pr_tower *t2 = NULL;
    CHECK_EQ_INT(pr_mapper_tower_ops.load(&t2, &c, &err), 0);
    CHECK_EQ_INT(pr_cur_left(&c), 0);
    float v1[4], v2[4], b1, b2;
    const float *x[PR_MAX_MODALITIES];
    pr_features_row(f, 110, x);
    t->ops->encode(t, x, v1, &b1, &err);
    t2->ops->encode(t2, x, v2, &b2, &err);
    CHECK(memcmp(v1, v2, sizeof v1) == 0 && b1 == b2);
    /* a missing modality contributes its training mean */
    float mean1[2] = {0, 0};
    for (int i = 0; i < 100; i++)
        for (int k = 0; k < 2; k++) mean1[k] += f->mod[1].X[i * 2 + k] / 100.0f;
    const float *xm[2] = {x[0], mean1}, *xn[2] = {x[0], NULL};
    t->ops->encode(t, xm, v1, &b1, &err);
    t->ops->encode(t, xn, v2, &b2, &err);
    for (int j = 0; j < 4; j++) CHECK_NEAR(v1[j], v2[j], 1e-5);
    /* per-modality shares sum to 1 */
    float w[3];
    CHECK_EQ_INT(t->ops->weights(t, x, w, &err), 0);
    CHECK_NEAR(w[0] + w[1] + w[2], 1.0, 1e-5);
    /* every truncation of the blob is a clean format error */
    int clean = 1;
    for (size_t cut = 0; cut < b.len - off; cut++) {
        pr_cur_init(&c, b.data + off, cut, "tower");
        pr_tower *t3 = NULL;
        int rc = pr_mapper_tower_ops.load(&t3, &c, &err);
        if (rc == 0) { t3->ops->free(t3); clean = 0; }
        else if (rc != PR_E_FORMAT) clean = 0;
    }
    CHECK(clean);
    /* placement writes only the flagged rows */
    pr_snapshot s2;
    pr_snapshot_copy(&s2, &s);
    uint8_t which[120] = {0};
    which[5] = which[117] = 1;
    memset(s2.V + 5 * d, 0, 4 * sizeof(float));
    int32_t placed;
    CHECK_EQ_INT(pr_tower_place(t, f, which, &s2, &placed, &err), 0);
    CHECK_EQ_INT(placed, 2);
    CHECK_NEAR(s2.V[5 * d + 2], s.V[5 * d + 2], 1e-4);
    CHECK(memcmp(s2.V + 6 * d, s.V + 6 * d, 100 * sizeof(float)) == 0);
    pr_buf_free(&b);
    t->ops->free(t);
    t2->ops->free(t2);
    pr_snapshot_free(&s);
    pr_snapshot_free(&s2);
    pr_features_free(f);
}

/* The MLP mapper learns a nonlinear map that ridge cannot. */
TEST(test_mapper_mlp_beats_ridge_on_nonlinear_map) {
    pr_rng r;
    pr_rng_init(&r, 11, 4);
    int n = t_sanitized() ? 300 : 500, n_fit = n * 4 / 5, d = 4;
    pr_features *f = random_features(n, &r);
    pr_snapshot s;
    mapped_snapshot(&s, f, n, d, 1);
    int32_t *rows = malloc((size_t)n_fit * sizeof *rows);
    for (int i = 0; i < n_fit; i++) rows[i] = i;
    pr_mapper_opts o;
    pr_mapper_opts_default(&o);
    o.scale = 1.0f;
    o.hidden = 64;
    o.epochs = t_sanitized() ? 150 : 300;
    o.lr = 3e-3f;
    pr_tower *ridge = NULL, *mlp = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_mapper_fit(f, &s, rows, n_fit, &o, NULL, &ridge, &err), 0);
    o.kind = PR_MAPPER_MLP;
    CHECK_EQ_INT(pr_mapper_fit(f, &s, rows, n_fit, &o, NULL, &mlp, &err), 0);
    double e_r = tower_mse(ridge, f, &s, n_fit, n), e_m = tower_mse(mlp, f, &s, n_fit, n);
    fprintf(stderr, "  held-out mse: ridge %.4f, mlp %.4f\n", e_r, e_m);
    CHECK(e_m < 0.5 * e_r);
    /* round trip of the MLP tower */
    pr_buf b;
    pr_buf_init(&b);
    pr_mapper_save(mlp, &b);
    pr_cur c;
    pr_cur_init(&c, b.data, b.len, "tower");
    char *name;
    pr_cur_get_str(&c, &name, 31, &err);
    free(name);
    pr_tower *t2 = NULL;
    CHECK_EQ_INT(pr_mapper_tower_ops.load(&t2, &c, &err), 0);
    if (t2) CHECK_NEAR(tower_mse(t2, f, &s, n_fit, n), e_m, 1e-9);
    if (t2) t2->ops->free(t2);
    pr_buf_free(&b);
    ridge->ops->free(ridge);
    mlp->ops->free(mlp);
    free(rows);
    pr_snapshot_free(&s);
    pr_features_free(f);
}

/* Hand-computed ranking: U = 1 (d = 1), V = item scores. */
TEST(test_cold_protocols_hand_computed) {
    float U[2] = {1, 1}, V[5] = {5, 4, 1, 3, 2};
    pr_scorer sc = {2, 5, 1, U, V, NULL, NULL, NULL};
    int32_t tu[2] = {0, 1}, ti[2] = {0, 1}, su[3] = {0, 1, 1}, si[3] = {4, 3, 2};
    pr_csr *train, *test;
    pr_error err;
    pr_csr_from_coo(2, 5, 2, tu, ti, NULL, &train, &err);
    pr_csr_from_coo(2, 5, 3, su, si, NULL, &test, &err);
    uint8_t *cold = pr_cold_items(train);
    CHECK(cold[2] && cold[3] && cold[4] && !cold[0] && !cold[1]);
    cold[2] = 0; /* item 2 is "warm" in this story (its training rows were elsewhere) */
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.ks[0] = 1;
    o.ks[1] = 2;
    o.mask[0] = train;
    pr_cold_report rep;
    CHECK_EQ_INT(pr_cold_evaluate(&sc, test, cold, &o, NULL, &rep, &err), 0);
    CHECK_EQ_INT(rep.n_cold_items, 2);
    CHECK_EQ_INT(rep.n_cold_targets, 2);
    CHECK_EQ_INT(rep.n_cold_rows, 2);
    CHECK_EQ_INT(rep.n_warm_rows, 1);
    /* cold_all: u0 ranks 1,3,4,2 (target 4), u1 ranks 0,3,4,2 (target 3) */
    CHECK_NEAR(pr_metrics_get(&rep.cold_all, "recall@1"), 0.0, 1e-12);
    CHECK_NEAR(pr_metrics_get(&rep.cold_all, "recall@2"), 0.5, 1e-12);
    CHECK_NEAR(rep.cold_share[0], 0.0, 1e-12);
    CHECK_NEAR(rep.cold_share[1], 0.5, 1e-12);
    /* cold_only: among {3, 4}: both rank 3 then 4 */
    CHECK_NEAR(pr_metrics_get(&rep.cold_only, "recall@1"), 0.5, 1e-12);
    CHECK_NEAR(pr_metrics_get(&rep.cold_only, "recall@2"), 1.0, 1e-12);
    /* warm: u1 among {0, 1, 2}, 1 masked: 0 then 2 */
    CHECK_EQ_INT(rep.warm.users, 1);
    CHECK_NEAR(pr_metrics_get(&rep.warm, "recall@1"), 0.0, 1e-12);
    CHECK_NEAR(pr_metrics_get(&rep.warm, "recall@2"), 1.0, 1e-12);
    /* all: u0 0 of {4}, u1 1 of {2, 3} in its top 2 */
    CHECK_NEAR(pr_metrics_get(&rep.all, "recall@2"), 0.25, 1e-12);
    free(cold);
    pr_csr_free(train);
    pr_csr_free(test);
}

TEST(test_cold_users_hold_out_and_histories) {
    pr_dataset *d = synth_clusters(40, 30, 3, 10, 0.9, 5);
    int64_t nnz[3] = {d->train->nnz, d->valid->nnz, d->test->nnz};
    pr_cold_users cu;
    pr_error err;
    CHECK_EQ_INT(pr_cold_users_hold_out(d, 0.25, 3, &cu, &err), 0);
    CHECK_EQ_INT(cu.n, 10);
    CHECK_EQ_INT(d->train->nnz + cu.train->nnz, nnz[0]);
    CHECK_EQ_INT(d->valid->nnz + cu.valid->nnz, nnz[1]);
    CHECK_EQ_INT(d->test->nnz + cu.test->nnz, nnz[2]);
    int held = 0, disjoint = 1;
    for (int32_t u = 0; u < 40; u++) {
        held += cu.held[u];
        if (cu.held[u] && (pr_csr_row_len(d->train, u) || pr_csr_row_len(d->test, u))) disjoint = 0;
        if (!cu.held[u] && (pr_csr_row_len(cu.train, u) || pr_csr_row_len(cu.test, u))) disjoint = 0;
    }
    CHECK_EQ_INT(held, 10);
    CHECK(disjoint);
    pr_csr *h1, *h3, *h5, *tg;
    CHECK_EQ_INT(pr_cold_users_history(&cu, 1, 5, 9, &h1, &err), 0);
    CHECK_EQ_INT(pr_cold_users_history(&cu, 3, 5, 9, &h3, &err), 0);
    CHECK_EQ_INT(pr_cold_users_history(&cu, 5, 5, 9, &h5, &err), 0);
    CHECK_EQ_INT(pr_cold_users_target(&cu, 5, &tg, &err), 0);
    int nested = 1, eligible = 0;
    for (int32_t u = 0; u < 40; u++) {
        int64_t len = pr_csr_row_len(cu.train, u);
        int ok = len >= 5;
        eligible += ok;
        if (pr_csr_row_len(h1, u) != (ok ? 1 : 0) || pr_csr_row_len(h3, u) != (ok ? 3 : 0) ||
            pr_csr_row_len(h5, u) != (ok ? 5 : 0) || (!ok && pr_csr_row_len(tg, u)))
            nested = 0;
        for (int64_t p = h1->indptr[u]; p < h1->indptr[u + 1]; p++) nested &= pr_csr_has(h3, u, h1->indices[p]);
        for (int64_t p = h3->indptr[u]; p < h3->indptr[u + 1]; p++)
            nested &= pr_csr_has(h5, u, h3->indices[p]) && pr_csr_has(cu.train, u, h3->indices[p]);
    }
    CHECK(nested);
    CHECK(eligible >= 8);
    CHECK_EQ_INT(pr_cold_users_history(&cu, 6, 5, 9, &h1, &err) != 0, 1);
    pr_csr_free(h1);
    pr_csr_free(h3);
    pr_csr_free(h5);
    pr_csr_free(tg);
    pr_cold_users_free(&cu);
    synth_free(d);
}

/* Content kNN: V rows are the blockwise centred, normalised content; U the
 * mean of the history's rows; the tower reproduces V for any item. */
TEST(test_contentknn) {
    pr_rng r;
    pr_rng_init(&r, 12, 5);
    pr_dataset *d = synth_clusters(20, 15, 3, 6, 0.9, 6);
    pr_features *f = random_features(15, &r);
    pr_config c;
    pr_config_defaults(&c);
    pr_model *m = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_model_new(pr_model_find("contentknn"), d, f, &c, NULL, &m, &err), 0);
    CHECK_EQ_INT(m->ops->fit(m, &err), 0);
    pr_snapshot s;
    CHECK_EQ_INT(m->ops->snapshot(m, &s, &err), 0);
    CHECK_EQ_INT(s.d, 5);
    double mean[3] = {0};
    int warm[15] = {0}, n_warm = 0;
    for (int64_t k = 0; k < d->train->nnz; k++) warm[d->train->indices[k]] = 1;
    for (int i = 0; i < 15; i++)
        if (warm[i]) {
            n_warm++;
            for (int k = 0; k < 3; k++) mean[k] += f->mod[0].X[i * 3 + k];
        }
    double c0[3], nrm = 0;
    for (int k = 0; k < 3; k++) {
        c0[k] = f->mod[0].X[4 * 3 + k] - mean[k] / n_warm;
        nrm += c0[k] * c0[k];
    }
    for (int k = 0; k < 3; k++) CHECK_NEAR(s.V[4 * 5 + k], c0[k] / sqrt(nrm) / sqrt(2.0), 1e-5);
    double u0 = 0;
    for (int64_t p = d->train->indptr[2]; p < d->train->indptr[3]; p++) u0 += s.V[d->train->indices[p] * 5 + 1];
    CHECK_NEAR(s.U[2 * 5 + 1], u0 / pr_csr_row_len(d->train, 2), 1e-5);
    pr_tower *t = NULL;
    CHECK_EQ_INT(pr_tower_from_model(m, &t, &err), 0);
    float v[5], b;
    const float *x[PR_MAX_MODALITIES];
    pr_features_row(f, 9, x);
    CHECK_EQ_INT(t->ops->encode(t, x, v, &b, &err), 0);
    for (int k = 0; k < 5; k++) CHECK_NEAR(v[k], s.V[9 * 5 + k], 1e-6);
    t->ops->free(t);
    pr_snapshot_free(&s);
    m->ops->free(m);
    pr_features_free(f);
    synth_free(d);
}

/* BPR-MF + mapper on a cold split of planted clusters: a third of the items
 * never appear in training; their content (noisy cluster indicator) must
 * place them where their cluster's users find them. */
TEST(test_bprmf_mapper_places_held_out_items) {
    enum { NU = 60, NI = 90, NC = 3, PER = 12 };
    pr_rng r;
    pr_rng_init(&r, 13, 6);
    int32_t u[NU * PER], it[NU * PER];
    int8_t lab[NU * PER];
    int n = 0;
    for (int x = 0; x < NU; x++) {
        uint8_t taken[NI] = {0};
        for (int k = 0; k < PER; k++) {
            int32_t i;
            do {
                i = pr_rng_double(&r) < 0.9 ? (x % NC) * (NI / NC) + (int32_t)pr_rng_below(&r, NI / NC)
                                            : (int32_t)pr_rng_below(&r, NI);
            } while (taken[i]);
            taken[i] = 1;
            u[n] = x;
            it[n] = i;
            int off = i % (NI / NC); /* offsets 20..24 -> valid items, 25..29 -> test items */
            lab[n++] = off < 20 ? 0 : off < 25 ? 1 : 2;
        }
    }
    pr_dataset *d = synth_from_coo(NU, NI, n, u, it, lab);
    int dims[1] = {6};
    float *X[1] = {malloc(NI * 6 * sizeof(float))};
    for (int i = 0; i < NI; i++)
        for (int k = 0; k < 6; k++) X[0][i * 6 + k] = (k == i / (NI / NC) ? 1.0f : 0.0f) + 0.3f * pr_rng_normal(&r);
    pr_features *f = make_features(NI, 1, dims, X, NULL);
    pr_config c;
    pr_config_defaults(&c);
    c.d = 16;
    c.epochs = 40;
    c.batch = 128;
    c.lr = 0.01f;
    c.patience = 40;
    snprintf(c.stop_metric, sizeof c.stop_metric, "recall@5");
    pr_model *m = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_model_new(pr_model_find("bprmf"), d, f, &c, NULL, &m, &err), 0);
    pr_mapper_opts mo;
    pr_mapper_opts_default(&mo);
    CHECK_EQ_INT(pr_mapper_model_new(m, &mo, &m, &err), 0);
    CHECK_STR(m->ops->name, "bprmf");
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.ks[0] = 5;
    o.n_k = 1;
    o.mask[0] = d->train;
    pr_train_result res;
    CHECK_EQ_INT(pr_train(m, d->valid, &o, &res, &err), 0);
    uint8_t *cold = pr_cold_items(d->train);
    pr_scorer sc;
    pr_model_scorer(m, &res.best, &sc);
    pr_cold_report rep;
    CHECK_EQ_INT(pr_cold_evaluate(&sc, d->test, cold, &o, NULL, &rep, &err), 0);
    double r5 = pr_metrics_get(&rep.cold_only, "recall@5");
    fprintf(stderr, "  cold-only recall@5 %.3f (random ~%.3f), cold-all %.3f\n", r5,
            5.0 / rep.n_cold_targets, pr_metrics_get(&rep.cold_all, "recall@5"));
    CHECK_EQ_INT(rep.n_cold_targets, 15);
    CHECK(r5 > 0.6); /* random: 5/15 */
    /* without the mapper the held-out rows are untrained noise */
    pr_model *plain = NULL;
    pr_train_result res2;
    c.epochs = 5;
    CHECK_EQ_INT(pr_model_new(pr_model_find("bprmf"), d, f, &c, NULL, &plain, &err), 0);
    CHECK_EQ_INT(pr_train(plain, d->valid, &o, &res2, &err), 0);
    pr_model_scorer(plain, &res2.best, &sc);
    pr_cold_report rep2;
    CHECK_EQ_INT(pr_cold_evaluate(&sc, d->test, cold, &o, NULL, &rep2, &err), 0);
    CHECK(pr_metrics_get(&rep2.cold_only, "recall@5") < r5 - 0.2);
    free(cold);
    pr_train_result_free(&res);
    pr_train_result_free(&res2);
    m->ops->free(m);
    plain->ops->free(plain);
    pr_features_free(f);
    synth_free(d);
}

int main(void) {
    pr_log_set_level(0);
    RUN(test_foldin_matches_reference_solve);
    RUN(test_foldin_bpr_is_the_minimum);
    RUN(test_foldin_rows);
    RUN(test_ridge_closed_form);
    RUN(test_mapper_ridge_linear_and_roundtrip);
    RUN(test_mapper_mlp_beats_ridge_on_nonlinear_map);
    RUN(test_cold_protocols_hand_computed);
    RUN(test_cold_users_hold_out_and_histories);
    RUN(test_contentknn);
    RUN(test_bprmf_mapper_places_held_out_items);
    return t_done();
}
