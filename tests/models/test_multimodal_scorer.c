/* tests/models/test_multimodal_scorer.c: the MLP re-ranker (models/mlp_scorer.h).
 *
 * Untrained, it ranks exactly as the dot product; its backward passes a
 * central-difference check; on planted data whose preference is not a dot
 * product (distance: p.q - |q|^2) it re-ranks the dot product's candidates
 * better; a saved scorer scores identically after loading. */
#include <math.h>

#include "common/synth.h"
#include "core/log.h"
#include "core/mat.h"
#include "core/rng.h"
#include "core/topk.h"
#include "eval/evaluator.h"
#include "models/mlp_scorer.h"
#include "nn/act.h"
#include "nn/gradcheck.h"
#include "t.h"

enum { NU = 200, NI = 300, D = 4, PER = 15 };

typedef struct planted {
    pr_dataset *d;
    pr_snapshot s;
} planted;

/* Users and items at random points; user u likes her PER items of highest
 * p_u . q_i - |q_i|^2 (nearest, up to a user constant), which no dot product
 * of these vectors ranks: the item norm term is missing. */
static void planted_make(planted *p, uint64_t seed) {
    pr_rng r;
    pr_rng_init(&r, seed, 3);
    pr_snapshot_alloc(&p->s, NU, NI, D, 0);
    for (int64_t k = 0; k < (int64_t)NU * D; k++) p->s.U[k] = pr_rng_normal(&r);
    for (int64_t k = 0; k < (int64_t)NI * D; k++) p->s.V[k] = pr_rng_normal(&r);
    int32_t *u = malloc((size_t)NU * PER * sizeof *u), *it = malloc((size_t)NU * PER * sizeof *it);
    int8_t *lab = malloc((size_t)NU * PER);
    float rel[NI], val[PER];
    int32_t top[PER];
    int64_t n = 0;
    for (int32_t x = 0; x < NU; x++) {
        for (int32_t i = 0; i < NI; i++) {
            const float *q = p->s.V + (int64_t)i * D;
            rel[i] = 2 * pr_dot(p->s.U + (int64_t)x * D, q, D) - pr_dot(q, q, D);
        }
        pr_topk(rel, NI, PER, top, val);
        for (int k = 0; k < PER; k++) {
            u[n] = x;
            it[n] = top[k];
            lab[n++] = (k % 5 == 3) ? 1 : (k % 5 == 4 ? 2 : 0); /* 9 train, 3 valid, 3 test */
        }
    }
    p->d = synth_from_coo(NU, NI, n, u, it, lab);
    free(u);
    free(it);
    free(lab);
}

static void planted_free(planted *p) {
    pr_snapshot_free(&p->s);
    synth_free(p->d);
}

static double recall(const pr_scorer *sc, const pr_dataset *d, const pr_csr *target, const char *metric,
                     pr_pool *pool) {
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.mask[0] = d->train;
    o.ks[0] = 5;
    o.ks[1] = 20;
    o.n_k = 2;
    pr_metrics met;
    pr_error err;
    if (pr_evaluate(sc, target, &o, pool, &met, &err)) return NAN;
    return pr_metrics_get(&met, metric);
}

TEST(test_untrained_scorer_is_the_dot_product) {
    planted p;
    planted_make(&p, 1);
    pr_mlp_scorer_opts o;
    pr_mlp_scorer_defaults(&o);
    o.n_cand = 30;
    pr_mlp_scorer *m = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_mlp_scorer_new(&p.s, p.d->train, &o, NULL, &m, &err), 0);
    pr_scorer dot = {NU, NI, D, p.s.U, p.s.V, NULL, NULL, NULL}, re;
    pr_mlp_scorer_as_scorer(m, &re);
    /* the same top 30 (candidates) in the same order, for every user */
    float *a = malloc((size_t)NI * sizeof *a), *b = malloc((size_t)NI * sizeof *b), scratch[D], va[30], vb[30];
    int32_t ia[30], ib[30], same = 1;
    for (int32_t u = 0; u < NU; u++) {
        pr_scorer_score(&dot, &u, 1, scratch, a);
        CHECK_EQ_INT(pr_scorer_score(&re, &u, 1, NULL, b), 0);
        for (int64_t k = p.d->train->indptr[u]; k < p.d->train->indptr[u + 1]; k++)
            a[p.d->train->indices[k]] = b[p.d->train->indices[k]] = -INFINITY;
        pr_topk(a, NI, 30, ia, va);
        pr_topk(b, NI, 30, ib, vb);
        same &= memcmp(ia, ib, sizeof ia) == 0;
    }
    CHECK(same);
    CHECK_NEAR(recall(&re, p.d, p.d->test, "recall@20", NULL), recall(&dot, p.d, p.d->test, "recall@20", NULL), 0);
    free(a);
    free(b);
    pr_mlp_scorer_free(m);
    planted_free(&p);
}

typedef struct {
    pr_mlp_scorer *m;
    const int32_t *u, *i, *j;
    int B;
} loss_ctx;

static double loss_at(void *ctx) {
    loss_ctx *L = ctx;
    return pr_mlp_scorer_batch_loss(L->m, L->u, L->i, L->j, L->B, 0);
}

TEST(test_scorer_gradcheck) {
    planted p;
    planted_make(&p, 2);
    pr_mlp_scorer_opts o;
    pr_mlp_scorer_defaults(&o);
    o.layers = 3;
    o.hidden = 5;
    o.act = PR_ACT_TANH;
    o.n_cand = 10;
    o.batch = 8;
    pr_mlp_scorer *m = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_mlp_scorer_new(&p.s, p.d->train, &o, NULL, &m, &err), 0);
    if (!m) return;
    float *g, *w;
    int64_t n;
    w = pr_mlp_scorer_weights(m, &g, &n);
    pr_rng r;
    pr_rng_init(&r, 4, 4);
    for (int64_t k = 0; k < n; k++) w[k] = 0.4f * pr_rng_normal(&r); /* the zero last layer would hide terms */
    int32_t u[] = {0, 3, 7, 7, 11, 2}, i[] = {1, 5, 9, 10, 20, 3}, j[] = {2, 6, 8, 30, 40, 4};
    pr_mlp_scorer_batch_loss(m, u, i, j, 6, 1);
    float *g0 = malloc((size_t)n * sizeof *g0);
    memcpy(g0, g, (size_t)n * sizeof *g0);
    loss_ctx L = {m, u, i, j, 6};
    pr_gradcheck_cfg cfg;
    pr_gradcheck_defaults(&cfg, PR_GRADCHECK_F32);
    cfg.eps = 1e-2;
    cfg.order = 4;
    cfg.tol = 2e-3;
    cfg.floor = 1e-2;
    pr_gradcheck_result res;
    int rc = pr_gradcheck(w, g0, n, NULL, loss_at, &L, &cfg, &res, &err);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK(res.n_checked == n);
    free(g0);
    pr_mlp_scorer_free(m);
    planted_free(&p);
}

TEST(test_scorer_reranks_better_on_planted_data) {
    planted p;
    planted_make(&p, 3);
    pr_pool *pool = pr_pool_new(2);
    pr_mlp_scorer_opts o;
    pr_mlp_scorer_defaults(&o);
    o.n_cand = 60;
    o.epochs = t_sanitized() ? 15 : 40;
    o.batch = 256;
    o.lr = 5e-3f;
    o.patience = 100;
    pr_mlp_scorer *m = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_mlp_scorer_new(&p.s, p.d->train, &o, pool, &m, &err), 0);
    int best = -1;
    CHECK_EQ_INT(pr_mlp_scorer_fit(m, p.d->valid, &best, &err), 0);
    pr_scorer dot = {NU, NI, D, p.s.U, p.s.V, NULL, NULL, NULL}, re;
    pr_mlp_scorer_as_scorer(m, &re);
    double r_dot = recall(&dot, p.d, p.d->test, "recall@5", pool), r_re = recall(&re, p.d, p.d->test, "recall@5", pool);
    fprintf(stderr, "  test recall@5: dot product %.4f, re-ranked %.4f (best epoch %d)\n", r_dot, r_re, best);
    CHECK(best > 0);
    CHECK(r_re > 1.2 * r_dot);
    /* save / load: identical scores */
    pr_buf b;
    pr_buf_init(&b);
    CHECK_EQ_INT(pr_mlp_scorer_save(m, &b), 0);
    pr_cur c;
    pr_cur_init(&c, b.data, b.len, "scorer");
    pr_mlp_scorer *m2 = NULL;
    CHECK_EQ_INT(pr_mlp_scorer_load(&p.s, p.d->train, &c, pool, &m2, &err), 0);
    int32_t items[] = {0, 5, 77, 299};
    float s1[4], s2[4];
    pr_mlp_scorer_score(m, 9, items, 4, s1);
    if (m2) pr_mlp_scorer_score(m2, 9, items, 4, s2);
    CHECK(m2 && memcmp(s1, s2, sizeof s1) == 0);
    /* a snapshot of another width is refused */
    pr_snapshot narrow;
    pr_snapshot_alloc(&narrow, NU, NI, D - 1, 0);
    pr_mlp_scorer *m3 = NULL;
    pr_cur_init(&c, b.data, b.len, "scorer");
    CHECK_EQ_INT(pr_mlp_scorer_load(&narrow, p.d->train, &c, pool, &m3, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, "d=");
    /* truncated blobs are errors */
    int ok = 1;
    for (size_t n = 0; n < b.len; n += 1 + b.len / 50) {
        pr_cur_init(&c, b.data, n, "scorer");
        if (pr_mlp_scorer_load(&p.s, p.d->train, &c, pool, &m3, &err) == 0) {
            ok = 0;
            pr_mlp_scorer_free(m3);
        }
    }
    CHECK(ok);
    pr_snapshot_free(&narrow);
    pr_buf_free(&b);
    pr_mlp_scorer_free(m2);
    pr_mlp_scorer_free(m);
    pr_pool_free(pool);
    planted_free(&p);
}

TEST(test_scorer_refuses_bad_options) {
    planted p;
    planted_make(&p, 1);
    pr_mlp_scorer_opts o;
    pr_mlp_scorer_defaults(&o);
    o.n_cand = 0;
    pr_mlp_scorer *m = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_mlp_scorer_new(&p.s, p.d->train, &o, NULL, &m, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "n_cand");
    planted_free(&p);
}

int main(void) {
    pr_log_set_level(0);
    RUN(test_untrained_scorer_is_the_dot_product);
    RUN(test_scorer_gradcheck);
    RUN(test_scorer_reranks_better_on_planted_data);
    RUN(test_scorer_refuses_bad_options);
    return t_done();
}
