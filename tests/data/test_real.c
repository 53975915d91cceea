/* tests/data/test_real.c: the real data sets of ../shared/data (skipped when
 * absent): exact counts of mls.inter, mls-cold.inter, ml-latest-small's
 * ratings.csv and Amazon Baby's baby.inter; ratings.csv filtered (>= 4 stars,
 * 5-core) reproduces mls.inter pair for pair with the same dense ids; parse
 * speed is reported. */
#include <stdio.h>

#include "core/log.h"
#include "data/dataset.h"
#include "t.h"

/* Read a shared file; NULL when absent. With seconds, the best time of three
 * reads (the machine may be busy with a parallel build). */
static pr_interactions *read_shared(const char *rel, double *seconds) {
    char buf[512];
    const char *path = t_shared(rel, buf, sizeof buf);
    if (!path) return NULL;
    pr_interactions *x = NULL;
    pr_error err = {0};
    int rc = 0;
    for (int rep = 0; rep < (seconds ? 3 : 1) && rc == 0; rep++) {
        pr_interactions_free(x);
        x = NULL;
        double t0 = pr_now();
        rc = pr_interactions_read(path, NULL, &x, &err);
        double t = pr_now() - t0;
        if (seconds && (rep == 0 || t < *seconds)) *seconds = t;
    }
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    CHECK_EQ_INT(rc, 0);
    return x;
}

static void label_counts(const pr_interactions *x, int64_t c[3]) {
    c[0] = c[1] = c[2] = 0;
    for (int64_t k = 0; x->label && k < x->n; k++) c[x->label[k]]++;
}

TEST(test_mls_inter) {
    pr_interactions *x = read_shared("mls/mls.inter", NULL);
    if (!x) T_SKIP("../shared/data/mls/mls.inter is absent");
    CHECK_EQ_INT(x->format, PR_FMT_MMREC);
    CHECK_EQ_INT(x->n, 41227);
    CHECK_EQ_INT(x->users->n, 601);
    CHECK_EQ_INT(x->items->n, 1955);
    CHECK(x->label != NULL);
    int64_t c[3];
    label_counts(x, c);
    CHECK_EQ_INT(c[0], 33185);
    CHECK_EQ_INT(c[1], 3874);
    CHECK_EQ_INT(c[2], 4168);
    /* the column split keeps every row (no duplicates in the file) */
    pr_dataset *d = NULL;
    pr_error err;
    pr_split_opts o = {PR_SPLIT_DEFAULT, {0}, 0, 0};
    CHECK_EQ_INT(pr_dataset_split(x, &o, &d, &err), 0);
    if (!d) return;
    CHECK_EQ_INT(d->split, PR_SPLIT_COLUMN);
    CHECK_EQ_INT(d->train->nnz, 33185);
    CHECK_EQ_INT(d->valid->nnz, 3874);
    CHECK_EQ_INT(d->test->nnz, 4168);
    pr_dataset_free(d);
}

TEST(test_mls_cold_inter) {
    pr_interactions *x = read_shared("mls-cold/mls-cold.inter", NULL);
    if (!x) T_SKIP("../shared/data/mls-cold/mls-cold.inter is absent");
    int64_t c[3];
    label_counts(x, c);
    CHECK_EQ_INT(c[0], 33125);
    CHECK_EQ_INT(c[1], 4382);
    CHECK_EQ_INT(c[2], 3720);
    pr_dataset *d = NULL;
    pr_error err;
    pr_split_opts o = {PR_SPLIT_COLUMN, {0}, 0, 0};
    CHECK_EQ_INT(pr_dataset_split(x, &o, &d, &err), 0);
    if (!d) return;
    /* 20% of 1955 items are cold: no train column, and every valid/test row is
     * on a cold item */
    int n_cold = 0, warm_eval = 0;
    for (int32_t i = 0; i < d->n_items; i++) n_cold += d->cold_item[i];
    for (int64_t k = 0; k < d->valid->nnz; k++) warm_eval += !d->cold_item[d->valid->indices[k]];
    for (int64_t k = 0; k < d->test->nnz; k++) warm_eval += !d->cold_item[d->test->indices[k]];
    CHECK_EQ_INT(n_cold, 391);
    CHECK_EQ_INT(warm_eval, 0);
    pr_dataset_free(d);
}

TEST(test_ratings_csv_to_mls) {
    double secs = 0;
    pr_interactions *x = read_shared("ml-latest-small/ratings.csv", &secs);
    if (!x) T_SKIP("../shared/data/ml-latest-small/ratings.csv is absent");
    fprintf(stderr, "  ratings.csv: %lld rows in %.1f ms (%.1f M rows/s)\n", (long long)x->n, secs * 1e3,
            (double)x->n / secs / 1e6);
    CHECK_EQ_INT(x->format, PR_FMT_MOVIELENS);
    CHECK_EQ_INT(x->header, 1);
    CHECK_EQ_INT(x->n, 100836);
    CHECK_EQ_INT(x->users->n, 610);
    CHECK_EQ_INT(x->items->n, 9724);
    CHECK(x->rating && x->ts && !x->label);
    float lo = 1e9f, hi = -1e9f;
    for (int64_t k = 0; k < x->n; k++) lo = fminf(lo, x->rating[k]), hi = fmaxf(hi, x->rating[k]);
    CHECK_NEAR(lo, 0.5, 0);
    CHECK_NEAR(hi, 5.0, 0);
    CHECK_EQ_INT(x->ts[0], 964982703);
    /* >= 4 stars, 5-core, re-indexed: mls.inter, with the same dense ids */
    pr_filter_opts fo = {4.0f, 5};
    pr_error err;
    CHECK_EQ_INT(pr_interactions_filter(&x, &fo, &err), 0);
    CHECK_EQ_INT(x->n, 41227);
    CHECK_EQ_INT(x->users->n, 601);
    CHECK_EQ_INT(x->items->n, 1955);
    CHECK_STR(pr_idmap_name(x->users, 0), "1");
    CHECK_STR(pr_idmap_name(x->items, 3), "47"); /* mls/items.tsv: item 3 is movieId 47 */
    pr_interactions *m = read_shared("mls/mls.inter", NULL);
    if (m) {
        pr_csr *ours = NULL;
        CHECK_EQ_INT(pr_csr_from_coo(x->users->n, x->items->n, x->n, x->user, x->item, NULL, &ours, &err), 0);
        int missing = 0;
        for (int64_t k = 0; ours && k < m->n; k++) {
            int32_t u = atoi(pr_idmap_name(m->users, m->user[k]));
            int32_t i = atoi(pr_idmap_name(m->items, m->item[k]));
            missing += !pr_csr_has(ours, u, i);
        }
        CHECK_EQ_INT(missing, 0);
        pr_csr_free(ours);
    }
    pr_interactions_free(m);
    pr_interactions_free(x);
}

TEST(test_baby_inter) {
    double secs = 0;
    pr_interactions *x = read_shared("amazon-baby/baby.inter", &secs);
    if (!x) T_SKIP("../shared/data/amazon-baby/baby.inter is absent");
    fprintf(stderr, "  baby.inter: %lld rows in %.1f ms (%.1f M rows/s)\n", (long long)x->n, secs * 1e3,
            (double)x->n / secs / 1e6);
    CHECK_EQ_INT(x->n, 160792);
    CHECK_EQ_INT(x->users->n, 19445);
    CHECK_EQ_INT(x->items->n, 7050);
    int64_t c[3];
    label_counts(x, c);
    CHECK_EQ_INT(c[0], 119674);
    CHECK_EQ_INT(c[1], 20559);
    CHECK_EQ_INT(c[2], 20559);
    pr_dataset *d = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_dataset_split(x, NULL, &d, &err), 0);
    if (!d) return;
    CHECK_EQ_INT(d->split, PR_SPLIT_COLUMN);
    CHECK_EQ_INT(d->train->nnz, 119674);
    CHECK_EQ_INT(d->valid->nnz, 20559);
    CHECK_EQ_INT(d->test->nnz, 20559);
    int n_cold = 0;
    for (int32_t i = 0; i < d->n_items; i++) n_cold += d->cold_item[i];
    fprintf(stderr, "  baby.inter: %d items without train rows\n", n_cold);
    CHECK_EQ_INT(n_cold, 2); /* two items occur only in valid/test in the distributed split */
    pr_dataset_free(d);
}

int main(void) {
    RUN(test_mls_inter);
    RUN(test_mls_cold_inter);
    RUN(test_ratings_csv_to_mls);
    RUN(test_baby_inter);
    return t_done();
}
