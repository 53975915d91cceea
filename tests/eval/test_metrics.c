/* tests/eval/test_metrics.c: every metric on hand-computed cases, and the
 * blocked evaluator against a naive per-user reference. */
#include <math.h>

#include "core/csr.h"
#include "core/rng.h"
#include "core/topk.h"
#include "eval/evaluator.h"
#include "eval/metrics.h"
#include "t.h"

TEST(test_metrics_by_hand) {
    /* ranked 5,3,9,1,7; relevant {1,3,8}: hits at ranks 2 and 4 */
    int32_t ranked[] = {5, 3, 9, 1, 7};
    int32_t rel[] = {1, 3, 8};
    int ks[] = {2, 5};
    pr_metrics m;
    pr_metrics_init(&m, ks, 2);
    pr_metrics_add_user(&m, ranked, 5, rel, 3);
    pr_metrics_finish(&m);
    /* @2: one hit at rank 2 */
    CHECK_NEAR(pr_metrics_get(&m, "recall@2"), 1.0 / 3, 1e-12);
    CHECK_NEAR(pr_metrics_get(&m, "precision@2"), 0.5, 1e-12);
    CHECK_NEAR(pr_metrics_get(&m, "hit@2"), 1.0, 1e-12);
    double idcg2 = 1 + 1 / log2(3.0);
    CHECK_NEAR(pr_metrics_get(&m, "ndcg@2"), (1 / log2(3.0)) / idcg2, 1e-12);
    CHECK_NEAR(pr_metrics_get(&m, "map@2"), 0.5 / 2, 1e-12);
    CHECK_NEAR(pr_metrics_get(&m, "mrr@2"), 0.5, 1e-12);
    /* @5: hits at ranks 2 and 4; IDCG over min(3, 5) = 3 positions */
    double dcg = 1 / log2(3.0) + 1 / log2(5.0), idcg = 1 + 1 / log2(3.0) + 1 / log2(4.0);
    CHECK_NEAR(pr_metrics_get(&m, "recall@5"), 2.0 / 3, 1e-12);
    CHECK_NEAR(pr_metrics_get(&m, "precision@5"), 0.4, 1e-12);
    CHECK_NEAR(pr_metrics_get(&m, "ndcg@5"), dcg / idcg, 1e-12);
    CHECK_NEAR(pr_metrics_get(&m, "map@5"), (0.5 + 0.5) / 3, 1e-12);
    CHECK_NEAR(pr_metrics_get(&m, "mrr@5"), 0.5, 1e-12);
    CHECK(isnan(pr_metrics_get(&m, "recall@7")));
}

TEST(test_metrics_average_over_users) {
    int ks[] = {1};
    pr_metrics m;
    pr_metrics_init(&m, ks, 1);
    int32_t r1[] = {0}, r2[] = {4}, rel1[] = {0}, rel2[] = {1, 2};
    pr_metrics_add_user(&m, r1, 1, rel1, 1);  /* hit */
    pr_metrics_add_user(&m, r2, 1, rel2, 2);  /* miss */
    pr_metrics_add_user(&m, r2, 1, rel2, 0);  /* no relevant items: not counted */
    pr_metrics_finish(&m);
    CHECK_EQ_INT(m.users, 2);
    CHECK_NEAR(pr_metrics_get(&m, "recall@1"), 0.5, 1e-12);
    CHECK_NEAR(pr_metrics_get(&m, "ndcg@1"), 0.5, 1e-12);
}

TEST(test_auc_by_hand) {
    /* scores: items 0..4; relevant {1, 3}; item 4 masked.
     * negatives 0 (0.5), 2 (0.9): item 1 (0.7) beats 0 only; item 3 (0.9) beats 0 and ties 2 */
    float s[] = {0.5f, 0.7f, 0.9f, 0.9f, -INFINITY};
    int32_t rel[] = {1, 3};
    CHECK_NEAR(pr_auc_user(s, 5, rel, 2), (1 + 1.5) / 4.0, 1e-12);
}

/* The one-pass AUC equals brute-force pair counting, ties and masks included. */
TEST(test_auc_matches_pairs) {
    pr_rng r;
    pr_rng_init(&r, 4, 4);
    for (int trial = 0; trial < 200; trial++) {
        enum { N = 50 };
        float s[N];
        int32_t rel[N];
        int nr = 0;
        for (int i = 0; i < N; i++) {
            s[i] = (float)pr_rng_below(&r, 8);
            if (pr_rng_below(&r, 6) == 0) s[i] = -INFINITY;
            if (pr_rng_below(&r, trial % 2 ? 2 : 5) == 0) rel[nr++] = i; /* both AUC paths */
        }
        double num = 0, den = 0;
        for (int a = 0; a < nr; a++) {
            if (s[rel[a]] == -INFINITY) continue;
            for (int n = 0; n < N; n++) {
                int is_rel = 0;
                for (int b = 0; b < nr; b++) is_rel |= rel[b] == n;
                if (is_rel || s[n] == -INFINITY) continue;
                den += 1;
                num += s[rel[a]] > s[n] ? 1.0 : s[rel[a]] == s[n] ? 0.5 : 0.0;
            }
        }
        double got = pr_auc_user(s, N, rel, nr);
        if (den > 0) CHECK_NEAR(got, num / den, 1e-12);
        else CHECK(isnan(got));
    }
}

TEST(test_parse_ks) {
    int ks[8];
    CHECK_EQ_INT(pr_parse_ks("20,10,20,5", ks, 8), 3);
    CHECK_EQ_INT(ks[0], 5);
    CHECK_EQ_INT(ks[2], 20);
    CHECK(pr_parse_ks("10,x", ks, 8) < 0);
    CHECK(pr_parse_ks("0", ks, 8) < 0);
    CHECK(pr_parse_ks("", ks, 8) < 0);
}

/* Blocked, threaded evaluator == per-user naive loop, with masking. */
TEST(test_evaluator_matches_naive) {
    enum { NU = 97, NI = 61, D = 5 };
    pr_rng r;
    pr_rng_init(&r, 9, 0);
    float U[NU * D], V[NI * D], b[NI];
    for (int k = 0; k < NU * D; k++) U[k] = pr_rng_normal(&r);
    for (int k = 0; k < NI * D; k++) V[k] = pr_rng_normal(&r);
    for (int k = 0; k < NI; k++) b[k] = 0.1f * pr_rng_normal(&r);
    int32_t tu[2000], ti[2000], vu[400], vi[400];
    int nt = 0, nv = 0;
    for (int u = 0; u < NU; u++)
        for (int i = 0; i < NI; i++) {
            uint32_t x = pr_rng_below(&r, 20);
            if (x < 2) { tu[nt] = u; ti[nt++] = i; }
            else if (x == 2 && u % 7 != 0) { vu[nv] = u; vi[nv++] = i; }
        }
    pr_csr *train, *test;
    CHECK_EQ_INT(pr_csr_from_coo(NU, NI, nt, tu, ti, NULL, &train, NULL), 0);
    CHECK_EQ_INT(pr_csr_from_coo(NU, NI, nv, vu, vi, NULL, &test, NULL), 0);
    pr_scorer sc = {NU, NI, D, U, V, b, NULL, NULL};
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.ks[0] = 3; o.ks[1] = 10; o.n_k = 2;
    o.mask[0] = train;
    o.block = 16;
    pr_metrics fast, naive;
    pr_pool *pool = pr_pool_new(3);
    pr_error err;
    CHECK_EQ_INT(pr_evaluate(&sc, test, &o, pool, &fast, &err), 0);
    pr_metrics_init(&naive, o.ks, 2);
    int users = 0;
    for (int u = 0; u < NU; u++) {
        if (pr_csr_row_len(test, u) == 0) continue;
        users++;
        float row[NI];
        for (int i = 0; i < NI; i++) {
            double s = b[i];
            for (int k = 0; k < D; k++) s += (double)U[u * D + k] * V[i * D + k];
            row[i] = pr_csr_has(train, u, i) ? -INFINITY : (float)s;
        }
        int32_t idx[10];
        float val[10];
        int got = pr_topk_naive(row, NI, 10, idx, val);
        pr_metrics_add_user(&naive, idx, got, test->indices + test->indptr[u], pr_csr_row_len(test, u));
    }
    pr_metrics_finish(&naive);
    CHECK_EQ_INT(fast.users, users);
    const char *names[] = {"recall@3", "ndcg@3", "recall@10", "ndcg@10", "precision@10", "map@10", "mrr@10", "hit@10"};
    for (int k = 0; k < 8; k++) CHECK_NEAR(pr_metrics_get(&fast, names[k]), pr_metrics_get(&naive, names[k]), 1e-9);
    CHECK(pr_metrics_get(&fast, "auc") > 0.3 && pr_metrics_get(&fast, "auc") < 0.7); /* random model */
    CHECK(pr_metrics_get(&fast, "coverage@10") > 0.5);
    pr_csr_free(train);
    pr_csr_free(test);
    pr_pool_free(pool);
}

int main(void) {
    RUN(test_metrics_by_hand);
    RUN(test_metrics_average_over_users);
    RUN(test_auc_by_hand);
    RUN(test_auc_matches_pairs);
    RUN(test_parse_ks);
    RUN(test_evaluator_matches_naive);
    return t_done();
}
