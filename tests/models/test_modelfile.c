/* tests/models/test_modelfile.c: model file round trip, corruption detection,
 * recommend / similar from the runtime. */
#include <unistd.h>

#include "common/synth.h"
#include "core/log.h"
#include "core/secfile.h"
#include "models/modelfile.h"
#include "t.h"
#include "train/loop.h"

static const char *PATH = "build/test_modelfile.model";

static pr_model *train(const char *name, pr_dataset *d, pr_config *c, pr_snapshot *snap) {
    pr_error err;
    pr_model *m = NULL;
    if (pr_model_new(pr_model_find(name), d, NULL, c, NULL, &m, &err)) return NULL;
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.mask[0] = d->train;
    pr_train_result res;
    if (pr_train(m, d->valid, &o, &res, &err)) return NULL;
    *snap = res.best;
    res.best = (pr_snapshot){0};
    pr_train_result_free(&res);
    return m;
}

TEST(test_round_trip_dot_model) {
    pr_dataset *d = synth_clusters(50, 40, 4, 10, 0.9, 1);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = 3;
    c.batch = 64;
    pr_error err;
    pr_config_set(&c, "bias", "1", &err);
    pr_snapshot s;
    pr_model *m = train("bprmf", d, &c, &s);
    CHECK(m != NULL);
    CHECK_EQ_INT(pr_modelfile_save(PATH, m, &s, NULL, "note=hello\n", &err), 0);
    pr_recsys r;
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    CHECK_EQ_INT(r.n_users, 50);
    CHECK_EQ_INT(r.n_items, 40);
    CHECK_EQ_INT(r.d, 64);
    CHECK(memcmp(r.U, s.U, 50 * 64 * 4) == 0);
    CHECK(memcmp(r.V, s.V, 40 * 64 * 4) == 0);
    CHECK(r.b && memcmp(r.b, s.b, 40 * 4) == 0);
    CHECK_EQ_INT(r.train->nnz, d->train->nnz);
    CHECK_STR(pr_idmap_name(r.items, 7), "i7");
    char buf[64];
    CHECK_STR(pr_recsys_meta(&r, "model", buf, sizeof buf), "bprmf");
    CHECK_STR(pr_recsys_meta(&r, "note", buf, sizeof buf), "hello");
    CHECK_STR(pr_recsys_meta(&r, "bias", buf, sizeof buf), "1");
    /* recommend = argmax of U.V + b over items not in train */
    int32_t idx[5];
    float val[5];
    int n = pr_recsys_recommend(&r, 3, 5, idx, val);
    CHECK_EQ_INT(n, 5);
    for (int j = 0; j < n; j++) {
        CHECK(!pr_csr_has(d->train, 3, idx[j]));
        double sc = s.b[idx[j]];
        for (int k = 0; k < 64; k++) sc += (double)s.U[3 * 64 + k] * s.V[idx[j] * 64 + k];
        CHECK_NEAR(val[j], sc, 1e-4);
        if (j) CHECK(val[j] <= val[j - 1]);
    }
    n = pr_recsys_similar(&r, 0, 3, idx, val);
    CHECK_EQ_INT(n, 3);
    CHECK(idx[0] != 0 && val[0] <= 1.0001f && val[0] >= val[1]);
    pr_recsys_close(&r);
    pr_snapshot_free(&s);
    m->ops->free(m);
    synth_free(d);
}

TEST(test_round_trip_itemknn) {
    pr_dataset *d = synth_clusters(40, 30, 3, 8, 0.9, 2);
    pr_config c;
    pr_config_defaults(&c);
    pr_snapshot s;
    pr_model *m = train("itemknn", d, &c, &s);
    pr_error err;
    CHECK_EQ_INT(pr_modelfile_save(PATH, m, &s, NULL, NULL, &err), 0);
    pr_recsys r;
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    CHECK(r.knn != NULL && r.U == NULL);
    float a[30], b[30];
    int32_t u = 5;
    m->ops->score(m, &u, 1, a);
    pr_scorer_score(&r.scorer, &u, 1, NULL, b);
    CHECK(memcmp(a, b, sizeof a) == 0);
    pr_recsys_close(&r);
    m->ops->free(m);
    synth_free(d);
}

/* Every truncation and a byte flip in every section is a clean error. */
TEST(test_corruption_detected) {
    pr_dataset *d = synth_clusters(20, 15, 3, 6, 0.9, 3);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = 1;
    c.d = 8;
    pr_snapshot s;
    pr_model *m = train("bprmf", d, &c, &s);
    pr_error err;
    CHECK_EQ_INT(pr_modelfile_save(PATH, m, &s, NULL, NULL, &err), 0);
    char *bytes;
    size_t size;
    CHECK_EQ_INT(pr_read_file(PATH, &bytes, &size, &err), 0);
    const char *bad = "build/test_modelfile.bad";
    int all_failed_cleanly = 1;
    for (size_t cut = 0; cut < size; cut += (cut < 256 ? 1 : 97)) {
        FILE *f = fopen(bad, "wb");
        fwrite(bytes, 1, cut, f);
        fclose(f);
        pr_recsys r;
        int rc = pr_recsys_open(&r, bad, &err);
        if (rc != PR_E_FORMAT) all_failed_cleanly = 0;
        if (rc == 0) pr_recsys_close(&r);
    }
    CHECK(all_failed_cleanly);
    int flips_caught = 1;
    for (size_t pos = 0; pos < size; pos += 61) {
        bytes[pos] ^= 0x5a;
        FILE *f = fopen(bad, "wb");
        fwrite(bytes, 1, size, f);
        fclose(f);
        bytes[pos] ^= 0x5a;
        pr_recsys r;
        int rc = pr_recsys_open(&r, bad, &err);
        /* a flip inside padding is harmless; anything else must be caught */
        if (rc == 0) pr_recsys_close(&r);
        else if (rc != PR_E_FORMAT) flips_caught = 0;
    }
    CHECK(flips_caught);
    bytes[200] ^= 1; /* inside the first section payload area or table: must fail */
    FILE *f = fopen(bad, "wb");
    fwrite(bytes, 1, size, f);
    fclose(f);
    pr_recsys r;
    CHECK(pr_recsys_open(&r, bad, &err) != 0);
    CHECK_CONTAINS(err.msg, bad);
    CHECK_EQ_INT(pr_recsys_open(&r, "build/no-such-model", &err), PR_E_IO);
    free(bytes);
    unlink(bad);
    unlink(PATH);
    pr_snapshot_free(&s);
    m->ops->free(m);
    synth_free(d);
}

int main(void) {
    pr_log_set_level(0);
    RUN(test_round_trip_dot_model);
    RUN(test_round_trip_itemknn);
    RUN(test_corruption_detected);
    return t_done();
}
