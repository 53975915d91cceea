/* tests/features/test_text_glove.c: the text-glove encoder on a toy vector
 * file: TF-IDF and SIF pooling by hand, first-component removal by hand,
 * accent folding of file words, saved subset (no file needed after load),
 * errors naming the line. */
#include <unistd.h>

#include "features/encoder.h"
#include "features/text_glove.h"
#include "t.h"

#define VEC "build/test_glove_vectors.txt"

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static const char *const docs[4] = {"the cat", "the dog", "a car", "Café cat"};

static void write_vectors(void) {
    write_file(VEC, "the 0.1 0.1 0.1\n"
                    "cat 1 0 0\n"
                    "dog 0.8 0.2 0 \n" /* trailing space tolerated */
                    "Café 0 1 0\n"
                    "café 9 9 9\n" /* folds to the same token: the first line wins */
                    "car 0 0 1\r\n"
                    "zebra 5 5 5\n");
}

static pr_encoder *fit(const char *spec, pr_error *err) {
    pr_encoder *e = NULL;
    if (pr_encoder_create(spec, PR_MOD_TEXT, &e, err) != 0) return NULL;
    if (e->ops->fit(e, docs, 4, NULL, err) != 0) {
        pr_encoder_free(e);
        return NULL;
    }
    return e;
}

static void normalize(double *v, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) s += v[j] * v[j];
    s = sqrt(s);
    for (int j = 0; j < d; j++) v[j] /= s;
}

TEST(test_tfidf_pooling) {
    write_vectors();
    pr_error err = {0};
    pr_encoder *e = fit("text-glove:vectors=" VEC ",weight=tfidf", &err);
    if (!e) {
        fprintf(stderr, "  %s\n", err.msg);
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(e->ops->dim(e), 3);
    CHECK_EQ_INT(pr_text_glove_vocab_size(e), 5); /* the cat dog car cafe; not "a", not zebra */
    double idf2 = log(5.0 / 3.0) + 1.0, idf1 = log(5.0 / 2.0) + 1.0;
    CHECK_NEAR(pr_text_glove_weight(e, "the"), idf2, 1e-6);
    CHECK_NEAR(pr_text_glove_weight(e, "cafe"), idf1, 1e-6);
    CHECK(isnan(pr_text_glove_weight(e, "zebra")));
    float y[3];
    /* "the cat": (idf(the) v_the + idf(cat) v_cat) / 2, L2-normalised */
    CHECK_EQ_INT(e->ops->encode(e, "the cat", y, &err), 0);
    double v[3] = {idf2 * 0.1 + idf2 * 1.0, idf2 * 0.1, idf2 * 0.1};
    normalize(v, 3);
    for (int j = 0; j < 3; j++) CHECK_NEAR(y[j], v[j], 1e-6);
    /* the first "Café" line won: cafe = (0, 1, 0); unknown words are skipped */
    CHECK_EQ_INT(e->ops->encode(e, "CAFÉ zebra unicorn", y, &err), 0);
    CHECK_NEAR(y[1], 1.0, 1e-6);
    CHECK_EQ_INT(e->ops->encode(e, "zebra unicorn", y, &err), 0);
    CHECK(y[0] == 0.0f && y[1] == 0.0f && y[2] == 0.0f);
    pr_encoder_free(e);
}

TEST(test_sif_and_pc) {
    write_vectors();
    pr_error err = {0};
    pr_encoder *e = fit("text-glove:vectors=" VEC ",pc=0", &err);
    CHECK(e != NULL);
    if (!e) return;
    /* p(w) = cf / tokens: 8 tokens (the x2, cat x2, dog, a, car, cafe) */
    CHECK_NEAR(pr_text_glove_weight(e, "the"), 1e-3 / (1e-3 + 2.0 / 8), 1e-7);
    CHECK_NEAR(pr_text_glove_weight(e, "dog"), 1e-3 / (1e-3 + 1.0 / 8), 1e-7);
    pr_encoder_free(e);

    /* sif with the first principal component removed (the default) */
    e = fit("text-glove:vectors=" VEC, &err);
    CHECK(e != NULL);
    if (!e) return;
    double vec[5][3] = {{0.1, 0.1, 0.1}, {1, 0, 0}, {0.8, 0.2, 0}, {0, 0, 1}, {0, 1, 0}};
    double wt[5], X[4][3] = {{0}}, G[3][3] = {{0}};
    const char *names[5] = {"the", "cat", "dog", "car", "cafe"};
    for (int w = 0; w < 5; w++) wt[w] = pr_text_glove_weight(e, names[w]);
    int words[4][2] = {{0, 1}, {0, 2}, {3, -1}, {4, 1}}; /* "a" has no vector */
    for (int i = 0; i < 4; i++) {
        int cnt = words[i][1] < 0 ? 1 : 2;
        for (int k = 0; k < cnt; k++)
            for (int j = 0; j < 3; j++) X[i][j] += wt[words[i][k]] * vec[words[i][k]][j] / cnt;
    }
    for (int i = 0; i < 4; i++)
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) G[a][b] += X[i][a] * X[i][b];
    double u[3] = {1, 1, 1}; /* power iteration for the top eigenvector */
    for (int it = 0; it < 500; it++) {
        double t[3] = {0};
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) t[a] += G[a][b] * u[b];
        normalize(t, 3);
        memcpy(u, t, sizeof u);
    }
    float y[3];
    CHECK_EQ_INT(e->ops->encode(e, "the dog", y, &err), 0);
    double v[3], p = 0;
    for (int j = 0; j < 3; j++) v[j] = X[1][j], p += u[j] * X[1][j];
    for (int j = 0; j < 3; j++) v[j] -= p * u[j];
    normalize(v, 3);
    for (int j = 0; j < 3; j++) CHECK_NEAR(y[j], v[j], 1e-4);
    CHECK_NEAR(u[0] * y[0] + u[1] * y[1] + u[2] * y[2], 0.0, 1e-4);

    /* save, remove the vectors file, load: the same vectors */
    pr_buf b;
    pr_buf_init(&b);
    CHECK_EQ_INT(pr_encoder_save(e, &b), 0);
    unlink(VEC);
    pr_encoder *e2 = NULL;
    pr_cur c;
    pr_cur_init(&c, b.data, b.len, "m");
    CHECK_EQ_INT(pr_encoder_load(&e2, &c, &err), 0);
    if (e2) {
        for (int i = 0; i < 4; i++) {
            float y1[3], y2[3];
            CHECK_EQ_INT(e->ops->encode(e, docs[i], y1, &err), 0);
            CHECK_EQ_INT(e2->ops->encode(e2, docs[i], y2, &err), 0);
            CHECK(memcmp(y1, y2, sizeof y1) == 0);
        }
    }
    int fails = 0;
    for (size_t len = 0; len < b.len; len++) {
        pr_encoder *t = NULL;
        pr_cur_init(&c, b.data, len, "m");
        fails += pr_encoder_load(&t, &c, &err) < 0 && t == NULL;
        pr_encoder_free(t);
    }
    CHECK_EQ_INT(fails, (int)b.len);
    pr_buf_free(&b);
    pr_encoder_free(e);
    pr_encoder_free(e2);
}

TEST(test_errors) {
    struct { const char *file, *msg; } cases[] = {
        {"cat 1 0 0\ndog 1 0\n", "bad_vec.txt:2: 'dog' has 2 values, expected 3"},
        {"cat 1 0 0\ndog 1 x 0\n", "bad_vec.txt:2: value 2 of 'dog'"},
        {"cat 1 0 nan\n", "bad_vec.txt:1: value 3 of 'cat'"},
        {"cat\n", "bad_vec.txt:1: expected `word v1 ... vN`"},
        {"", "no vectors"},
        {"zebra 1 2 3\n", "none of the 6 distinct catalogue tokens has a vector"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file("build/bad_vec.txt", cases[i].file);
        pr_error err = {0};
        pr_encoder *e = fit("text-glove:vectors=build/bad_vec.txt", &err);
        CHECK(e == NULL);
        CHECK_CONTAINS(err.msg, cases[i].msg);
        pr_encoder_free(e);
    }
    pr_error err = {0};
    CHECK(fit("text-glove:vectors=build/no_such_vectors.txt", &err) == NULL);
    CHECK_CONTAINS(err.msg, "no_such_vectors.txt");
    pr_encoder *e = NULL;
    CHECK_EQ_INT(pr_encoder_create("text-glove:vectors=x,weight=bm25", PR_MOD_TEXT, &e, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "weight=bm25");
}

int main(void) {
    RUN(test_tfidf_pooling);
    RUN(test_sif_and_pc);
    RUN(test_errors);
    return t_done();
}
