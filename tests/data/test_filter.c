/* tests/data/test_filter.c: implicit threshold, duplicate merge, iterative
 * k-core and dense re-indexing on hand-built sets with known results. */
#include <math.h>

#include "data/dataset.h"
#include "t.h"
#include "tdata.h"

static const char *un(const pr_interactions *x, int64_t k) { return pr_idmap_name(x->users, x->user[k]); }
static const char *in(const pr_interactions *x, int64_t k) { return pr_idmap_name(x->items, x->item[k]); }

TEST(test_threshold_and_dedupe) {
    /* Z's only row is below the threshold: Z disappears and A becomes user 0.
     * (A,1) appears three times: merged at its first row with the earliest
     * timestamp (10), the lowest label (1) and the highest rating (5); the
     * 3.5 duplicate is dropped by the threshold before merging. */
    const char *u[] = {"Z", "A", "A", "B", "A", "A", "B"};
    const char *i[] = {"9", "1", "2", "1", "1", "1", "3"};
    const float r[] = {1, 4, 4.5f, 5, 5, 3.5f, 4};
    const int64_t ts[] = {1, 50, 20, 30, 10, 5, 40};
    const int lab[] = {0, 2, 0, 0, 1, 0, 2};
    pr_interactions *x = t_build(7, u, i, r, ts, lab);
    pr_filter_opts o = {4.0f, 0};
    pr_error err;
    CHECK_EQ_INT(pr_interactions_filter(&x, &o, &err), 0);
    CHECK_EQ_INT(x->n, 4);
    CHECK_EQ_INT(x->users->n, 2);
    CHECK_EQ_INT(x->items->n, 3);
    CHECK_STR(pr_idmap_name(x->users, 0), "A");
    CHECK_STR(pr_idmap_name(x->items, 0), "1");
    CHECK_EQ_INT(pr_idmap_get(x->items, "9"), -1);
    /* rows in file order of first appearance: (A,1) (A,2) (B,1) (B,3) */
    CHECK_STR(un(x, 0), "A");
    CHECK_STR(in(x, 0), "1");
    CHECK_EQ_INT(x->ts[0], 10);
    CHECK_EQ_INT(x->label[0], 1);
    CHECK_NEAR(x->rating[0], 5, 0);
    CHECK_STR(in(x, 1), "2");
    CHECK_EQ_INT(x->ts[1], 20);
    CHECK_STR(un(x, 2), "B");
    CHECK_STR(in(x, 3), "3");
    CHECK_EQ_INT(x->label[3], 2);
    CHECK_EQ_INT(x->user[3], 1);
    CHECK_EQ_INT(x->item[3], 2);
    pr_interactions_free(x);
}

TEST(test_kcore) {
    /* 2-core: D (one row) and item 5 go; item 4 (only C) goes; the chain
     * (E,6) (E,7) (F,6) needs two passes: F and 7 drop first, then E's last
     * row (E,6). Left: A:1,2,3  B:1,2,3  C:1,2. */
    const char *u[] = {"A", "A", "A", "B", "B", "B", "C", "C", "C", "D", "E", "E", "F"};
    const char *i[] = {"1", "2", "3", "1", "2", "3", "1", "2", "4", "5", "6", "7", "6"};
    pr_interactions *x = t_build(13, u, i, NULL, NULL, NULL);
    pr_filter_opts o = {NAN, 2};
    pr_error err;
    CHECK_EQ_INT(pr_interactions_filter(&x, &o, &err), 0);
    CHECK_EQ_INT(x->n, 8);
    CHECK_EQ_INT(x->users->n, 3);
    CHECK_EQ_INT(x->items->n, 3);
    CHECK_EQ_INT(pr_idmap_get(x->users, "C"), 2);
    CHECK_EQ_INT(pr_idmap_get(x->users, "E"), -1);
    CHECK_EQ_INT(pr_idmap_get(x->items, "4"), -1);
    CHECK_EQ_INT(pr_idmap_get(x->items, "6"), -1);
    /* every survivor has >= 2 rows */
    int ucnt[3] = {0}, icnt[3] = {0};
    for (int64_t k = 0; k < x->n; k++) ucnt[x->user[k]]++, icnt[x->item[k]]++;
    CHECK_EQ_INT(ucnt[0], 3);
    CHECK_EQ_INT(ucnt[2], 2);
    CHECK_EQ_INT(icnt[0], 3);
    CHECK_EQ_INT(icnt[2], 2);
    pr_interactions_free(x);

    /* 3-core of the same: item 3 has only A and B -> dropped; then A and B
     * have 2 each -> dropped; everything unravels: an error, x untouched */
    x = t_build(13, u, i, NULL, NULL, NULL);
    pr_interactions *before = x;
    o.kcore = 3;
    CHECK_EQ_INT(pr_interactions_filter(&x, &o, &err), PR_E_RANGE);
    CHECK_CONTAINS(err.msg, "no interactions left of 13");
    CHECK(x == before);
    CHECK_EQ_INT(x->n, 13);
    CHECK_EQ_INT(x->users->n, 6);
    pr_interactions_free(x);
}

TEST(test_filter_edges) {
    /* no rating column: the threshold keeps everything */
    const char *u[] = {"a", "b", "a"};
    const char *i[] = {"x", "x", "x"};
    pr_interactions *x = t_build(3, u, i, NULL, NULL, NULL);
    pr_filter_opts o = {4.0f, 0};
    pr_error err;
    CHECK_EQ_INT(pr_interactions_filter(&x, &o, &err), 0);
    CHECK_EQ_INT(x->n, 2); /* (a,x) merged */
    CHECK(x->rating == NULL && x->ts == NULL && x->label == NULL);
    pr_interactions_free(x);
    /* a threshold above every rating: error, x unchanged, rows unmerged */
    const float r[] = {1, 2, 3};
    const int64_t ts[] = {9, 8, 7};
    x = t_build(3, u, i, r, ts, NULL);
    o.min_rating = 10;
    CHECK_EQ_INT(pr_interactions_filter(&x, &o, &err), PR_E_RANGE);
    CHECK_EQ_INT(x->n, 3);
    CHECK_EQ_INT(x->ts[0], 9);
    /* NAN and k = 0: only duplicates go; NULL options mean the same */
    o.min_rating = NAN;
    CHECK_EQ_INT(pr_interactions_filter(&x, &o, &err), 0);
    CHECK_EQ_INT(x->n, 2);
    CHECK_EQ_INT(x->ts[0], 7);
    CHECK_NEAR(x->rating[0], 3, 0);
    CHECK_EQ_INT(pr_interactions_filter(&x, NULL, &err), 0);
    CHECK_EQ_INT(x->n, 2);
    o.kcore = -1;
    CHECK_EQ_INT(pr_interactions_filter(&x, &o, &err), PR_E_ARG);
    pr_interactions_free(x);
}

int main(void) {
    RUN(test_threshold_and_dedupe);
    RUN(test_kcore);
    RUN(test_filter_edges);
    return t_done();
}
