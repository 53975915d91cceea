/* tests/data/test_split.c: every split rule on small hand-built data with
 * exact expected counts, determinism by seed, no leakage, cold items, and
 * MMRec's per-user count rule checked against every user of mls.inter. */
#include <math.h>
#include <stdio.h>

#include "data/dataset.h"
#include "t.h"
#include "tdata.h"

/* x with users "u<k>" having n[k] rows on items "i0".."i<n-1>", timestamps
 * ts = 1000 - row (newest first in the file) unless ts_up. */
static pr_interactions *users_with(int n_users, const int *n, int ts_up) {
    pr_interactions *x = pr_interactions_new();
    pr_error err;
    pr_interactions_reserve(x, 64, 0, 1, 0);
    int row = 0;
    for (int u = 0; u < n_users; u++)
        for (int k = 0; k < n[u]; k++, row++) {
            char us[16], is[16];
            snprintf(us, sizeof us, "u%d", u);
            snprintf(is, sizeof is, "i%d", k);
            pr_interactions_push(x, us, is, 1, ts_up ? row : 1000 - row, PR_LABEL_TRAIN, &err);
        }
    return x;
}

static int split(pr_interactions *x, const char *spec, uint64_t seed, pr_dataset **d) {
    pr_split_opts o;
    pr_error err = {0};
    int rc = pr_split_parse(spec, &o, &err);
    if (rc) {
        fprintf(stderr, "  %s\n", err.msg);
        pr_interactions_free(x);
        return rc;
    }
    o.seed = seed;
    *d = NULL;
    rc = pr_dataset_split(x, &o, d, &err);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    return rc;
}

/* No (u,i) of valid or test is in train, none of test in valid. */
static int leaks(const pr_dataset *d) {
    int bad = 0;
    for (int32_t u = 0; u < d->n_users; u++) {
        for (int64_t k = d->valid->indptr[u]; k < d->valid->indptr[u + 1]; k++)
            bad += pr_csr_has(d->train, u, d->valid->indices[k]);
        for (int64_t k = d->test->indptr[u]; k < d->test->indptr[u + 1]; k++)
            bad += pr_csr_has(d->train, u, d->test->indices[k]) + pr_csr_has(d->valid, u, d->test->indices[k]);
    }
    return bad;
}

static int same_csr(const pr_csr *a, const pr_csr *b) {
    if (a->n_rows != b->n_rows || a->nnz != b->nnz) return 0;
    return memcmp(a->indptr, b->indptr, ((size_t)a->n_rows + 1) * sizeof *a->indptr) == 0 &&
           memcmp(a->indices, b->indices, (size_t)a->nnz * sizeof *a->indices) == 0;
}

TEST(test_parse) {
    pr_split_opts o = {0};
    pr_error err;
    o.seed = 77;
    CHECK_EQ_INT(pr_split_parse("random:0.7,0.2,0.1", &o, &err), 0);
    CHECK_EQ_INT(o.kind, PR_SPLIT_RANDOM);
    CHECK_NEAR(o.ratio[0], 0.7, 1e-12);
    CHECK_NEAR(o.ratio[2], 0.1, 1e-12);
    CHECK_EQ_INT(o.seed, 77); /* left alone */
    CHECK_EQ_INT(pr_split_parse("temporal-user:8,1,1", &o, &err), 0);
    CHECK_EQ_INT(o.kind, PR_SPLIT_TEMPORAL_USER);
    CHECK_NEAR(o.ratio[0], 0.8, 1e-12);
    CHECK_EQ_INT(pr_split_parse("temporal:0.75,0.25", &o, &err), 0);
    CHECK_EQ_INT(o.kind, PR_SPLIT_TEMPORAL_GLOBAL);
    CHECK_NEAR(o.ratio[1], 0.25, 1e-12);
    CHECK_NEAR(o.ratio[2], 0, 0);
    CHECK_EQ_INT(pr_split_parse("random", &o, &err), 0);
    CHECK_NEAR(o.ratio[0], 0.8, 1e-12);
    CHECK_EQ_INT(pr_split_parse("cold-items:0.3", &o, &err), 0);
    CHECK_EQ_INT(o.kind, PR_SPLIT_COLD_ITEMS);
    CHECK_NEAR(o.cold_share, 0.3, 1e-12);
    CHECK_EQ_INT(pr_split_parse("loo", &o, &err), 0);
    CHECK_EQ_INT(o.kind, PR_SPLIT_LOO);
    CHECK_EQ_INT(pr_split_parse("column", &o, &err), 0);
    CHECK_EQ_INT(pr_split_parse("default", &o, &err), 0);
    CHECK_EQ_INT(o.kind, PR_SPLIT_DEFAULT);
    CHECK_STR(pr_split_name(PR_SPLIT_TEMPORAL_USER), "temporal-user");
    const char *bad[] = {"randomx", "foo", "random:0.8", "random:a,b,c", "random:0,0.5,0.5",
                         "random:0.8,-0.1,0.3", "random:1,1,1,1", "cold-items:1.5", "cold-items:",
                         "loo:3", ""};
    for (int k = 0; k < (int)(sizeof bad / sizeof *bad); k++) {
        err.msg[0] = '\0';
        CHECK_EQ_INT(pr_split_parse(bad[k], &o, &err), PR_E_ARG);
        CHECK_CONTAINS(err.msg, "split '");
    }
}

TEST(test_user_counts) {
    const double r811[3] = {0.8, 0.1, 0.1};
    /* n -> train/valid/test under 8:1:1 */
    const int64_t table[][4] = {{0, 0, 0, 0},    {1, 1, 0, 0},    {2, 2, 0, 0},     {3, 1, 1, 1},
                                {5, 3, 1, 1},    {9, 7, 1, 1},    {10, 8, 1, 1},    {14, 12, 1, 1},
                                {15, 12, 1, 2},  {16, 13, 1, 2},  {19, 16, 1, 2},   {20, 16, 2, 2},
                                {25, 20, 2, 3},  {35, 28, 3, 4},  {100, 80, 10, 10}, {105, 84, 10, 11},
                                {1000, 800, 100, 100}};
    for (int k = 0; k < (int)(sizeof table / sizeof *table); k++) {
        int64_t c[3];
        pr_split_user_counts(table[k][0], r811, c);
        CHECK_EQ_INT(c[0], table[k][1]);
        CHECK_EQ_INT(c[1], table[k][2]);
        CHECK_EQ_INT(c[2], table[k][3]);
    }
    /* 8:1:1 equals valid = floor(n/10), test = round-half-up(n/10) for every n >= 10 */
    int bad = 0;
    for (int64_t n = 10; n < 100000; n++) {
        int64_t c[3];
        pr_split_user_counts(n, r811, c);
        bad += c[1] != n / 10 || c[2] != (n + 5) / 10 || c[0] + c[1] + c[2] != n;
    }
    CHECK_EQ_INT(bad, 0);
    const double r721[3] = {0.7, 0.2, 0.1}, r82[3] = {0.8, 0.2, 0};
    int64_t c[3];
    pr_split_user_counts(10, r721, c);
    CHECK(c[0] == 7 && c[1] == 2 && c[2] == 1);
    pr_split_user_counts(10, r82, c);
    CHECK(c[0] == 8 && c[1] == 2 && c[2] == 0);
    pr_split_user_counts(3, r82, c);
    CHECK(c[0] == 2 && c[1] == 1 && c[2] == 0);
}

TEST(test_random) {
    const int n[] = {1, 2, 3, 10, 15, 25};
    pr_dataset *d = NULL, *e = NULL, *f = NULL;
    CHECK_EQ_INT(split(users_with(6, n, 0), "random:0.8,0.1,0.1", 42, &d), 0);
    CHECK_EQ_INT(split(users_with(6, n, 0), "random", 42, &e), 0);
    CHECK_EQ_INT(split(users_with(6, n, 0), "random", 43, &f), 0);
    if (!d || !e || !f) goto done;
    CHECK_EQ_INT(d->split, PR_SPLIT_RANDOM);
    CHECK_EQ_INT(d->n_users, 6);
    CHECK_EQ_INT(d->n_items, 25);
    const int want[6][3] = {{1, 0, 0}, {2, 0, 0}, {1, 1, 1}, {8, 1, 1}, {12, 1, 2}, {20, 2, 3}};
    for (int u = 0; u < 6; u++) {
        CHECK_EQ_INT(pr_csr_row_len(d->train, u), want[u][0]);
        CHECK_EQ_INT(pr_csr_row_len(d->valid, u), want[u][1]);
        CHECK_EQ_INT(pr_csr_row_len(d->test, u), want[u][2]);
        CHECK_EQ_INT(pr_csr_row_len(f->test, u), want[u][2]);
    }
    CHECK_EQ_INT(leaks(d), 0);
    /* the same seed gives the same split; another seed another one */
    CHECK(same_csr(d->train, e->train) && same_csr(d->valid, e->valid) && same_csr(d->test, e->test));
    CHECK(!same_csr(d->test, f->test));
    /* ids survive the split */
    CHECK_EQ_INT(pr_idmap_get(d->users, "u5"), 5);
    CHECK_EQ_INT(pr_idmap_get(d->items, "i24"), 24);
done:
    pr_dataset_free(d);
    pr_dataset_free(e);
    pr_dataset_free(f);
}

TEST(test_loo) {
    /* u0: ts 5, 3, 9, 9 -> test is the later 9 (row 3), valid the earlier 9 (row 2);
     * u1: 2 rows -> all train */
    const char *u[] = {"u0", "u0", "u0", "u0", "u1", "u1"};
    const char *i[] = {"a", "b", "c", "d", "a", "b"};
    const int64_t ts[] = {5, 3, 9, 9, 1, 2};
    pr_dataset *d = NULL;
    CHECK_EQ_INT(split(t_build(6, u, i, NULL, ts, NULL), "loo", 1, &d), 0);
    if (!d) return;
    CHECK_EQ_INT(d->train->nnz, 4);
    CHECK(pr_csr_has(d->test, 0, 3));
    CHECK(pr_csr_has(d->valid, 0, 2));
    CHECK(pr_csr_has(d->train, 0, 0) && pr_csr_has(d->train, 0, 1));
    CHECK_EQ_INT(pr_csr_row_len(d->train, 1), 2);
    CHECK_EQ_INT(d->valid->nnz + d->test->nnz, 2);
    pr_dataset_free(d);
    /* without timestamps, file order is time order: the last row is test */
    const int n[] = {5};
    pr_interactions *x = users_with(1, n, 0);
    free(x->ts);
    x->ts = NULL;
    CHECK_EQ_INT(split(x, "loo", 1, &d), 0);
    if (!d) return;
    CHECK(pr_csr_has(d->test, 0, 4) && pr_csr_has(d->valid, 0, 3));
    pr_dataset_free(d);
}

TEST(test_temporal) {
    /* 10 rows of one user each (10 users), timestamps decreasing in file order:
     * the global cut puts the 8 oldest (the last 8 rows) in train */
    const char *u[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    const char *i[] = {"x", "x", "x", "x", "x", "y", "y", "y", "y", "y"};
    const int64_t ts[] = {100, 90, 80, 70, 60, 50, 40, 30, 20, 10};
    pr_dataset *d = NULL;
    CHECK_EQ_INT(split(t_build(10, u, i, NULL, ts, NULL), "temporal:0.8,0.1,0.1", 1, &d), 0);
    if (d) {
        CHECK_EQ_INT(d->train->nnz, 8);
        CHECK_EQ_INT(pr_csr_row_len(d->test, 0), 1);  /* a: newest */
        CHECK_EQ_INT(pr_csr_row_len(d->valid, 1), 1); /* b: second newest */
        CHECK_EQ_INT(pr_csr_row_len(d->train, 9), 1);
        CHECK_EQ_INT(d->split, PR_SPLIT_TEMPORAL_GLOBAL);
    }
    pr_dataset_free(d);
    /* per user: u0 has 10 rows, newest first in the file: rows 0 (newest) test,
     * row 1 valid, rows 2-9 train; u1 has 20 rows oldest first: 16/2/2 */
    pr_interactions *x = users_with(1, (int[]){10}, 0);
    pr_error err;
    for (int k = 0; k < 20; k++) {
        char is[16];
        snprintf(is, sizeof is, "i%d", k);
        pr_interactions_push(x, "v", is, 1, 2000 + k, 0, &err);
    }
    CHECK_EQ_INT(split(x, "temporal-user", 1, &d), 0);
    if (!d) return;
    CHECK(pr_csr_has(d->test, 0, 0) && pr_csr_has(d->valid, 0, 1));
    CHECK_EQ_INT(pr_csr_row_len(d->train, 0), 8);
    CHECK(pr_csr_has(d->test, 1, 19) && pr_csr_has(d->test, 1, 18));
    CHECK(pr_csr_has(d->valid, 1, 17) && pr_csr_has(d->valid, 1, 16));
    CHECK_EQ_INT(pr_csr_row_len(d->train, 1), 16);
    CHECK_EQ_INT(leaks(d), 0);
    pr_dataset_free(d);
}

TEST(test_cold_items) {
    /* 10 items, 6 users who each rate all 10: 20% cold = 2 items, 1 valid 1 test */
    const int n[] = {10, 10, 10, 10, 10, 10};
    pr_dataset *d = NULL, *e = NULL;
    CHECK_EQ_INT(split(users_with(6, n, 0), "cold-items:0.2", 9, &d), 0);
    CHECK_EQ_INT(split(users_with(6, n, 0), "cold-items:0.2", 9, &e), 0);
    if (!d || !e) goto done;
    CHECK(d->cold_item != NULL);
    int n_cold = 0, empty_cols = 0;
    int64_t col[10] = {0};
    for (int64_t k = 0; k < d->train->nnz; k++) col[d->train->indices[k]]++;
    for (int i = 0; i < 10; i++) {
        n_cold += d->cold_item[i];
        empty_cols += col[i] == 0;
        CHECK_EQ_INT(d->cold_item[i], col[i] == 0);
    }
    CHECK_EQ_INT(n_cold, 2);
    CHECK_EQ_INT(empty_cols, 2);
    CHECK_EQ_INT(d->train->nnz, 48);
    CHECK_EQ_INT(d->valid->nnz, 6);
    CHECK_EQ_INT(d->test->nnz, 6);
    /* valid and test rows each concern one cold item */
    for (int u = 0; u < 6; u++) {
        CHECK_EQ_INT(pr_csr_row_len(d->valid, u), 1);
        CHECK(d->cold_item[d->valid->indices[d->valid->indptr[u]]]);
        CHECK(d->cold_item[d->test->indices[d->test->indptr[u]]]);
    }
    CHECK(d->valid->indices[0] != d->test->indices[0]);
    CHECK(same_csr(d->test, e->test) && same_csr(d->train, e->train));
    CHECK_EQ_INT(leaks(d), 0);
done:
    pr_dataset_free(d);
    pr_dataset_free(e);
    /* too few items to hold out two */
    pr_error err;
    pr_split_opts o = {PR_SPLIT_COLD_ITEMS, {0.8, 0.1, 0.1}, 0.2, 1};
    CHECK_EQ_INT(pr_dataset_split(users_with(1, (int[]){4}, 0), &o, &d, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "cold-items");
}

TEST(test_column_and_default) {
    const char *u[] = {"a", "a", "a", "b", "b"};
    const char *i[] = {"x", "y", "z", "x", "w"};
    const int lab[] = {0, 1, 2, 0, 2};
    pr_dataset *d = NULL;
    CHECK_EQ_INT(split(t_build(5, u, i, NULL, NULL, lab), "column", 1, &d), 0);
    if (d) {
        CHECK_EQ_INT(d->split, PR_SPLIT_COLUMN);
        CHECK(pr_csr_has(d->valid, 0, 1) && pr_csr_has(d->test, 0, 2) && pr_csr_has(d->test, 1, 3));
        CHECK_EQ_INT(d->train->nnz, 2);
        /* w and z occur only in test: they keep ids and are cold */
        CHECK_EQ_INT(d->n_items, 4);
        CHECK_EQ_INT(d->cold_item[pr_idmap_get(d->items, "w")], 1);
        CHECK_EQ_INT(d->cold_item[pr_idmap_get(d->items, "x")], 0);
    }
    pr_dataset_free(d);
    CHECK_EQ_INT(split(t_build(5, u, i, NULL, NULL, lab), "default", 1, &d), 0);
    if (d) CHECK_EQ_INT(d->split, PR_SPLIT_COLUMN);
    pr_dataset_free(d);
    CHECK_EQ_INT(split(t_build(5, u, i, NULL, NULL, NULL), "default", 1, &d), 0);
    if (d) CHECK_EQ_INT(d->split, PR_SPLIT_RANDOM);
    pr_dataset_free(d);
    /* column without a column */
    pr_split_opts o = {PR_SPLIT_COLUMN, {0}, 0, 0};
    pr_error err;
    CHECK_EQ_INT(pr_dataset_split(t_build(5, u, i, NULL, NULL, NULL), &o, &d, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "x_label");
}

TEST(test_no_leakage_with_duplicates) {
    /* every pair twice, unmerged: random may draw one copy for train and the
     * other for test; the pair must then be stored in train only */
    pr_interactions *x = pr_interactions_new();
    pr_error err;
    int pairs = 0;
    for (int u = 0; u < 30; u++)
        for (int k = 0; k < 12; k++, pairs++)
            for (int rep = 0; rep < 2; rep++) {
                char us[16], is[16];
                snprintf(us, sizeof us, "u%d", u);
                snprintf(is, sizeof is, "i%d", (u * 7 + k) % 40);
                pr_interactions_push(x, us, is, 1, 0, 0, &err);
            }
    pr_dataset *d = NULL;
    CHECK_EQ_INT(split(x, "random", 3, &d), 0);
    if (!d) return;
    CHECK_EQ_INT(leaks(d), 0);
    CHECK_EQ_INT(d->train->nnz + d->valid->nnz + d->test->nnz, pairs);
    pr_dataset_free(d);
}

TEST(test_mls_rule) {
    char buf[512];
    const char *path = t_shared("mls/mls.inter", buf, sizeof buf);
    if (!path) T_SKIP("../shared/data/mls/mls.inter is absent");
    pr_interactions *x = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_interactions_read(path, NULL, &x, &err), 0);
    if (!x) return;
    int32_t nu = x->users->n;
    int64_t(*cnt)[3] = calloc((size_t)nu, sizeof *cnt);
    for (int64_t k = 0; k < x->n; k++) cnt[x->user[k]][x->label[k]]++;
    /* the rule, applied to each user's n, gives the file's label counts */
    const double r811[3] = {0.8, 0.1, 0.1};
    int bad = 0;
    for (int32_t u = 0; u < nu; u++) {
        int64_t n = cnt[u][0] + cnt[u][1] + cnt[u][2], c[3];
        pr_split_user_counts(n, r811, c);
        bad += c[0] != cnt[u][0] || c[1] != cnt[u][1] || c[2] != cnt[u][2];
    }
    CHECK_EQ_INT(nu, 601);
    CHECK_EQ_INT(bad, 0);
    /* and so does the random split itself, row for row per user */
    pr_dataset *d = NULL;
    pr_split_opts o = {PR_SPLIT_RANDOM, {0.8, 0.1, 0.1}, 0, 999};
    CHECK_EQ_INT(pr_dataset_split(x, &o, &d, &err), 0);
    if (d) {
        bad = 0;
        for (int32_t u = 0; u < nu; u++)
            bad += pr_csr_row_len(d->train, u) != cnt[u][0] || pr_csr_row_len(d->valid, u) != cnt[u][1] ||
                   pr_csr_row_len(d->test, u) != cnt[u][2];
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(d->train->nnz, 33185);
        CHECK_EQ_INT(d->valid->nnz, 3874);
        CHECK_EQ_INT(d->test->nnz, 4168);
    }
    pr_dataset_free(d);
    free(cnt);
}

int main(void) {
    RUN(test_parse);
    RUN(test_user_counts);
    RUN(test_random);
    RUN(test_loo);
    RUN(test_temporal);
    RUN(test_cold_items);
    RUN(test_column_and_default);
    RUN(test_no_leakage_with_duplicates);
    RUN(test_mls_rule);
    return t_done();
}
