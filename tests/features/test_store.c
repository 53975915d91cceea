/* tests/features/test_store.c: the feature store: .npy alignment to an item
 * id map (MMRec row convention), delimited text, errors with rows and line
 * numbers, write-back round trips and the missing mask. */
#include "core/npy.h"
#include "data/idmap.h"
#include "features/store.h"
#include "t.h"

static pr_idmap *idmap_of(const char *const *ids, int n) {
    pr_idmap *m = pr_idmap_new();
    for (int i = 0; i < n; i++) pr_idmap_add(m, ids[i], strlen(ids[i]));
    return m;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

TEST(test_npy_aligned) {
    float A[15];
    for (int r = 0; r < 5; r++)
        for (int j = 0; j < 3; j++) A[r * 3 + j] = (float)(r * 10 + j);
    pr_error err = {0};
    CHECK_EQ_INT(pr_npy_write("build/test_store_a.npy", A, 5, 3, &err), 0);
    const char *ids[] = {"3", "0", "7", "1", "x"};
    pr_idmap *items = idmap_of(ids, 5);
    pr_features *f = pr_features_new();
    pr_features_report rep;
    CHECK_EQ_INT(pr_features_load_npy(f, "image", "build/test_store_a.npy", items, &rep, &err), 0);
    const pr_modality *m = pr_features_get(f, "image");
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(m->n_items, 5);
        CHECK_EQ_INT(m->dim, 3);
        CHECK(m->X[0] == 30.0f && m->X[2] == 32.0f); /* item "3" = row 3 */
        CHECK(m->X[3] == 0.0f && m->X[5] == 2.0f);   /* item "0" = row 0 */
        CHECK(m->X[9] == 10.0f);                     /* item "1" = row 1 */
        CHECK(m->missing[2] && m->missing[4] && !m->missing[0] && !m->missing[1] && !m->missing[3]);
        CHECK(m->X[6] == 0.0f && m->X[8] == 0.0f && m->X[14] == 0.0f); /* missing rows are zero */
    }
    CHECK_EQ_INT(rep.rows, 5);
    CHECK_EQ_INT(rep.ignored, 2); /* rows 2 and 4 */
    CHECK_EQ_INT(rep.missing, 2); /* "7" and "x" */
    /* same name twice */
    CHECK_EQ_INT(pr_features_load_npy(f, "image", "build/test_store_a.npy", items, NULL, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "already loaded");
    /* no id map: taken as is */
    CHECK_EQ_INT(pr_features_load_npy(f, "raw", "build/test_store_a.npy", NULL, NULL, &err), 0);
    m = pr_features_get(f, "raw");
    CHECK(m && m->n_items == 5 && m->X[14] == 42.0f && !m->missing[4]);
    /* a NaN row is an error naming the row */
    A[7] = NAN;
    CHECK_EQ_INT(pr_npy_write("build/test_store_nan.npy", A, 5, 3, &err), 0);
    CHECK_EQ_INT(pr_features_load_npy(f, "nan", "build/test_store_nan.npy", items, NULL, &err), PR_E_NUMERIC);
    CHECK_CONTAINS(err.msg, "row 2 column 1");
    CHECK_CONTAINS(err.msg, "test_store_nan.npy");
    CHECK(pr_features_get(f, "nan") == NULL);
    pr_features_free(f);
    pr_idmap_free(items);
}

TEST(test_text_format) {
    write_file("build/test_store_t.tsv",
               "\xef\xbb\xbfitem\tf0,f1\r\n"
               "# a comment\n"
               "b\t1.5,2,-3\r\n"
               "\n"
               "zz,9,9,9\n"
               "a,4 5 6e-1\n");
    const char *ids[] = {"a", "b", "c"};
    pr_idmap *items = idmap_of(ids, 3);
    pr_features *f = pr_features_new();
    pr_features_report rep;
    pr_error err = {0};
    CHECK_EQ_INT(pr_features_load_text(f, "text", "build/test_store_t.tsv", items, &rep, &err), 0);
    const pr_modality *m = pr_features_get(f, "text");
    CHECK(m && m->dim == 3);
    if (m) {
        CHECK(m->X[0] == 4.0f && m->X[1] == 5.0f && m->X[2] == 0.6f);
        CHECK(m->X[3] == 1.5f && m->X[4] == 2.0f && m->X[5] == -3.0f);
        CHECK(m->missing[2] && !m->missing[0]);
    }
    CHECK_EQ_INT(rep.rows, 3);
    CHECK_EQ_INT(rep.ignored, 1);
    CHECK_EQ_INT(rep.missing, 1);
    struct { const char *text, *msg; int code; } bad[] = {
        {"a\t1,2\nb\t1,2,3\n", "bad.tsv:2: 3 values, expected 2", PR_E_PARSE},
        {"a\t1,2\nb\t1,x\n", "bad.tsv:2: value 2: not a number ('x')", PR_E_PARSE},
        {"a\t1,nan\n", "bad.tsv:1: value 2 is not finite", PR_E_NUMERIC},
        {"a\t1,1e39\n", "bad.tsv:1: value 2 is not finite", PR_E_NUMERIC},
        {"a\t1,2\n\na,3,4\n", "bad.tsv:3: item 'a' repeated (first on line 1)", PR_E_PARSE},
        {"a 1 2\n", "bad.tsv:1: expected ITEM_ID", PR_E_PARSE},
        {"\t1,2\n", "bad.tsv:1: empty item id", PR_E_PARSE},
        {"a\t1.5x,2\n", "bad.tsv:1: after value 1: unexpected 'x'", PR_E_PARSE},
        {"a\t1,2,\n", "bad.tsv:1: value 3: not a number", PR_E_PARSE},
        {"# nothing\n", "no feature rows", PR_E_PARSE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file("build/bad.tsv", bad[i].text);
        CHECK_EQ_INT(pr_features_load_text(f, "bad", "build/bad.tsv", items, NULL, &err), bad[i].code);
        CHECK_CONTAINS(err.msg, bad[i].msg);
        CHECK(pr_features_get(f, "bad") == NULL);
    }
    CHECK_EQ_INT(pr_features_load_text(f, "x", "build/no_such.tsv", items, NULL, &err), PR_E_IO);
    CHECK_CONTAINS(err.msg, "no_such.tsv");
    CHECK_EQ_INT(pr_features_load_text(f, "x", "build/test_store_t.tsv", NULL, NULL, &err), PR_E_ARG);
    pr_features_free(f);
    pr_idmap_free(items);
}

TEST(test_write_back) {
    const char *ids[] = {"4", "0", "2", "9"};
    pr_idmap *items = idmap_of(ids, 4);
    float *X = malloc(sizeof(float) * 8);
    uint8_t *miss = calloc(4, 1);
    for (int i = 0; i < 8; i++) X[i] = 0.1f * (float)i + 1.0f / 3.0f;
    miss[2] = 1;
    pr_features *f = pr_features_new(), *g = pr_features_new();
    pr_error err = {0};
    CHECK_EQ_INT(pr_features_add(f, "audio", 4, 2, X, miss, &err), 0);
    CHECK(X[4] == 0.0f && X[5] == 0.0f); /* add zeroes missing rows */
    CHECK_EQ_INT(pr_features_save_npy(f, "audio", "build/test_store_w.npy", items, &err), 0);
    float *Y = NULL;
    int64_t r = 0, c = 0;
    CHECK_EQ_INT(pr_npy_read("build/test_store_w.npy", &Y, &r, &c, &err), 0);
    CHECK_EQ_INT(r, 10); /* max id 9 + 1 */
    CHECK_EQ_INT(c, 2);
    if (Y) CHECK(Y[8] == X[0] && Y[0] == X[2] && Y[18] == X[6] && Y[4] == 0.0f && Y[2] == 0.0f);
    free(Y);
    /* load it back through the generic loader: same vectors, same mask */
    CHECK_EQ_INT(pr_features_load(g, "audio", "build/test_store_w.npy", items, &err), 0);
    const pr_modality *m = pr_features_get(g, "audio");
    CHECK(m && memcmp(m->X, X, sizeof(float) * 8) == 0);
    CHECK(m && m->missing[0] == 0 && m->missing[2] == 0); /* npy cannot say "missing": zero row */
    /* text keeps the mask and the exact floats */
    CHECK_EQ_INT(pr_features_save_text(f, "audio", "build/test_store_w.tsv", items, &err), 0);
    CHECK_EQ_INT(pr_features_load(g, "audio2", "build/test_store_w.tsv", items, &err), 0);
    m = pr_features_get(g, "audio2");
    CHECK(m && memcmp(m->X, X, sizeof(float) * 8) == 0);
    CHECK(m && m->missing[2] == 1 && m->missing[1] == 0);
    /* ids that are not row numbers cannot go to npy in MMRec order */
    const char *bad_ids[] = {"4", "007", "2", "9"};
    pr_idmap *bad = idmap_of(bad_ids, 4);
    CHECK_EQ_INT(pr_features_save_npy(f, "audio", "build/test_store_x.npy", bad, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "'007'");
    CHECK_EQ_INT(pr_features_save_npy(f, "nope", "build/test_store_x.npy", NULL, &err), PR_E_NOTFOUND);
    pr_idmap_free(bad);
    /* buffer round trip, and every truncation fails cleanly */
    pr_buf b;
    pr_buf_init(&b);
    CHECK_EQ_INT(pr_features_save(f, &b), 0);
    pr_features *h = NULL;
    pr_cur cur;
    pr_cur_init(&cur, b.data, b.len, "feat");
    CHECK_EQ_INT(pr_features_load_buf(&h, &cur, &err), 0);
    m = h ? pr_features_get(h, "audio") : NULL;
    CHECK(m && m->n_items == 4 && memcmp(m->X, X, sizeof(float) * 8) == 0 && m->missing[2] == 1);
    pr_features_free(h);
    int fails = 0;
    for (size_t len = 0; len < b.len; len++) {
        h = NULL;
        pr_cur_init(&cur, b.data, len, "feat");
        fails += pr_features_load_buf(&h, &cur, &err) < 0 && h == NULL;
        pr_features_free(h);
    }
    CHECK_EQ_INT(fails, (int)b.len);
    pr_buf_free(&b);
    pr_features_free(f);
    pr_features_free(g);
    pr_idmap_free(items);
}

TEST(test_add_errors) {
    pr_features *f = pr_features_new();
    pr_error err = {0};
    float *X = calloc(4, sizeof(float));
    X[3] = INFINITY;
    CHECK_EQ_INT(pr_features_add(f, "a", 2, 2, X, NULL, &err), PR_E_NUMERIC); /* X freed */
    CHECK_CONTAINS(err.msg, "item 1 value 1");
    X = calloc(4, sizeof(float));
    CHECK_EQ_INT(pr_features_add(f, "a-name-that-is-far-too-long-for-the-store", 2, 2, X, NULL, &err), PR_E_ARG);
    X = calloc(4, sizeof(float));
    uint8_t *miss = calloc(2, 1);
    X[3] = NAN;
    miss[1] = 1; /* a NaN in a missing row is zeroed, not an error */
    CHECK_EQ_INT(pr_features_add(f, "a", 2, 2, X, miss, &err), 0);
    CHECK(pr_features_get(f, "a")->X[3] == 0.0f);
    for (int i = 1; i < PR_MAX_MODALITIES; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%d", i);
        CHECK_EQ_INT(pr_features_add(f, name, 1, 1, calloc(1, sizeof(float)), NULL, &err), 0);
    }
    CHECK_EQ_INT(pr_features_add(f, "over", 1, 1, calloc(1, sizeof(float)), NULL, &err), PR_E_ARG);
    pr_features_free(f);
}

TEST(test_shared_mls) {
    char buf[512];
    const char *p = t_shared("mls/image_feat.npy", buf, sizeof buf);
    if (!p) T_SKIP("shared data mls/image_feat.npy absent");
    pr_idmap *items = pr_idmap_new();
    for (int i = 0; i < 1000; i++) {
        char id[16];
        int n = snprintf(id, sizeof id, "%d", 1954 - i);
        pr_idmap_add(items, id, (size_t)n);
    }
    pr_idmap_add(items, "abc", 3);
    pr_features *f = pr_features_new();
    pr_features_report rep;
    pr_error err = {0};
    CHECK_EQ_INT(pr_features_load_npy(f, "image", p, items, &rep, &err), 0);
    CHECK_EQ_INT(rep.rows, 1955);
    CHECK_EQ_INT(rep.ignored, 955);
    CHECK_EQ_INT(rep.missing, 1);
    float *A = NULL;
    int64_t r, c;
    CHECK_EQ_INT(pr_npy_read(p, &A, &r, &c, &err), 0);
    const pr_modality *m = pr_features_get(f, "image");
    /* dense item 0 is id "1954": the last row of the file */
    CHECK(A && m && memcmp(m->X, A + 1954 * 160, 160 * sizeof(float)) == 0);
    free(A);
    pr_features_free(f);
    pr_idmap_free(items);
}

int main(void) {
    RUN(test_npy_aligned);
    RUN(test_text_format);
    RUN(test_write_back);
    RUN(test_add_errors);
    RUN(test_shared_mls);
    return t_done();
}
