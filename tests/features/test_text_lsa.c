/* tests/features/test_text_lsa.c: the text-lsa encoder and the encoder
 * registry: TF-IDF and BM25 values by hand on a 3-document corpus, vocabulary
 * pruning, LSA neighbours on a small topical corpus, save/load identity,
 * thread-count independence, encode_all status reporting. */
#include "core/pool.h"
#include "features/encoder.h"
#include "features/text_lsa.h"
#include "t.h"

static const char *const three[3] = {
    "apple banana apple",
    "banana cherry",
    "cherry cherry cherry date",
};

static pr_encoder *fit_spec(const char *spec, const char *const *docs, int n, pr_pool *pool) {
    pr_encoder *e = NULL;
    pr_error err = {0};
    if (pr_encoder_create(spec, PR_MOD_TEXT, &e, &err) != 0 || e->ops->fit(e, docs, n, pool, &err) != 0) {
        fprintf(stderr, "  %s: %s\n", spec, err.msg);
        pr_encoder_free(e);
        return NULL;
    }
    return e;
}

TEST(test_tfidf_by_hand) {
    pr_encoder *e = fit_spec("text-lsa:dim=2", three, 3, NULL);
    if (!e) {
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(pr_text_lsa_vocab_size(e), 4);
    CHECK_EQ_INT(pr_text_lsa_term_index(e, "apple"), 0); /* columns in byte order */
    CHECK_EQ_INT(pr_text_lsa_term_index(e, "date"), 3);
    CHECK_EQ_INT(pr_text_lsa_term_index(e, "kiwi"), -1);
    /* smooth idf = ln((1 + N) / (1 + df)) + 1 with N = 3 */
    double idf1 = log(4.0 / 2.0) + 1.0, idf2 = log(4.0 / 3.0) + 1.0;
    float x[4];
    pr_error err = {0};
    /* d0: apple tf 2 (sublinear 1 + ln 2), banana tf 1 */
    CHECK_EQ_INT(pr_text_lsa_weights(e, three[0], x, &err), 0);
    double a = (1.0 + log(2.0)) * idf1, b = idf2, n = sqrt(a * a + b * b);
    CHECK_NEAR(x[0], a / n, 1e-6);
    CHECK_NEAR(x[1], b / n, 1e-6);
    CHECK(x[2] == 0.0f && x[3] == 0.0f);
    /* d2: cherry tf 3, date tf 1 */
    CHECK_EQ_INT(pr_text_lsa_weights(e, three[2], x, &err), 0);
    a = (1.0 + log(3.0)) * idf2, b = idf1, n = sqrt(a * a + b * b);
    CHECK_NEAR(x[2], a / n, 1e-6);
    CHECK_NEAR(x[3], b / n, 1e-6);
    /* a new text: unknown words ignored, stop words dropped */
    CHECK_EQ_INT(pr_text_lsa_weights(e, "The kiwi and the DATE!", x, &err), 0);
    CHECK(x[3] == 1.0f && x[0] == 0.0f);
    pr_encoder_free(e);

    /* raw tf */
    e = fit_spec("text-lsa:dim=2,sublinear=0", three, 3, NULL);
    CHECK_EQ_INT(pr_text_lsa_weights(e, three[2], x, &err), 0);
    a = 3.0 * idf2, b = idf1, n = sqrt(a * a + b * b);
    CHECK_NEAR(x[2], a / n, 1e-6);
    pr_encoder_free(e);

    /* BM25: idf = ln(1 + (N - df + .5) / (df + .5)); avgdl = (3 + 2 + 4) / 3 */
    e = fit_spec("text-lsa:dim=2,weight=bm25", three, 3, NULL);
    CHECK_EQ_INT(pr_text_lsa_weights(e, three[2], x, &err), 0);
    double k1 = 1.2, bb = 0.75, avgdl = 3.0, dl = 4.0;
    double norm = k1 * (1 - bb + bb * dl / avgdl);
    a = log(1 + 1.5 / 2.5) * 3 * (k1 + 1) / (3 + norm);
    b = log(1 + 2.5 / 1.5) * 1 * (k1 + 1) / (1 + norm);
    n = sqrt(a * a + b * b);
    CHECK_NEAR(x[2], a / n, 1e-6);
    CHECK_NEAR(x[3], b / n, 1e-6);
    pr_encoder_free(e);
}

TEST(test_vocab_pruning) {
    pr_encoder *e = fit_spec("text-lsa:dim=2,min_df=2", three, 3, NULL);
    CHECK(e && pr_text_lsa_vocab_size(e) == 2 && pr_text_lsa_term_index(e, "banana") == 0);
    pr_encoder_free(e);
    e = fit_spec("text-lsa:dim=2,max_df=0.5", three, 3, NULL); /* df <= 1.5 */
    CHECK(e && pr_text_lsa_vocab_size(e) == 2 && pr_text_lsa_term_index(e, "apple") == 0 &&
          pr_text_lsa_term_index(e, "date") == 1);
    pr_encoder_free(e);
    e = fit_spec("text-lsa:dim=2,max_features=3", three, 3, NULL); /* df 2, 2, then apple < date */
    CHECK(e && pr_text_lsa_vocab_size(e) == 3 && pr_text_lsa_term_index(e, "apple") == 0 &&
          pr_text_lsa_term_index(e, "date") == -1);
    pr_encoder_free(e);
    pr_encoder *f = NULL;
    pr_error err = {0};
    CHECK_EQ_INT(pr_encoder_create("text-lsa:min_df=3,max_df=1", PR_MOD_TEXT, &f, &err), 0);
    CHECK_EQ_INT(f->ops->fit(f, three, 3, NULL, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "empty vocabulary");
    pr_encoder_free(f);
}

/* 4 topics x 12 short texts */
static const char *const corpus[48] = {
    "the cat chased a mouse around the barn", "a small dog barked at the cat",
    "kittens and puppies play in the garden", "the farmer feeds the cows and the pigs",
    "wild wolves hunt deer in the forest", "a horse and a pony graze in the field",
    "the dog fetched the stick for the farmer", "owls and mice live near the barn",
    "the puppy slept next to the kitten", "foxes hunt rabbits and mice at night",
    "cows and horses in the farm field", "the cat and the dog share a garden",
    "the rocket launched toward the moon", "astronauts orbit the earth in a space station",
    "a telescope shows distant galaxies and stars", "the moon orbits the earth every month",
    "mars rover explores the red planet", "the space station docked with a rocket",
    "stars and planets in the night sky", "astronauts walked on the moon surface",
    "a new telescope observes the planet mars", "the galaxy holds billions of stars",
    "rocket engines fire to reach orbit", "the planet jupiter has many moons",
    "bake the bread in a hot oven", "chop onions and garlic for the sauce",
    "the chef cooks pasta with tomato sauce", "whisk eggs and sugar to bake a cake",
    "roast the chicken with garlic and herbs", "simmer the tomato soup with onions",
    "the baker makes bread and cake every morning", "fry the eggs in butter in a pan",
    "season the pasta sauce with herbs and garlic", "the oven roasts vegetables and chicken",
    "a chef chops herbs for the soup", "butter and sugar make the cake sweet",
    "the striker scored a goal in the football match", "the team won the league final",
    "the goalkeeper saved a penalty in the match", "tennis players serve and volley at the net",
    "the football coach trains the team", "a basketball player scored three points",
    "the league match ended with a late goal", "the tennis final went to five sets",
    "the team coach praised the striker", "basketball team won the final game",
    "the referee awarded a penalty to the team", "players train before the football season",
};

static double cosine(const float *a, const float *b, int d) {
    double s = 0, na = 0, nb = 0;
    for (int j = 0; j < d; j++) s += (double)a[j] * b[j], na += (double)a[j] * a[j], nb += (double)b[j] * b[j];
    return na > 0 && nb > 0 ? s / sqrt(na * nb) : -2.0;
}

/* Fraction of rows whose nearest other row (cosine) has the same label. */
static double nn_agreement(const float *X, int n, int d, const int *label) {
    int good = 0;
    for (int i = 0; i < n; i++) {
        int best = -1;
        double bs = -3;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double c = cosine(X + i * d, X + j * d, d);
            if (c > bs) bs = c, best = j;
        }
        good += best >= 0 && label[best] == label[i];
    }
    return (double)good / n;
}

TEST(test_lsa_topics) {
    pr_pool *pool = pr_pool_new(2);
    pr_encoder *e = fit_spec("text-lsa:dim=8,seed=3", corpus, 48, pool), *e1 = NULL, *e2 = NULL;
    if (!e) {
        CHECK(0);
        pr_pool_free(pool);
        return;
    }
    int d = e->ops->dim(e);
    CHECK_EQ_INT(d, 8);
    int k;
    const float *sv = pr_text_lsa_singular_values(e, &k);
    CHECK_EQ_INT(k, 8);
    for (int j = 1; j < k; j++) CHECK(sv[j] <= sv[j - 1]);
    float *X = malloc(sizeof(float) * 48 * 8), *Y = malloc(sizeof(float) * 48 * 8);
    uint8_t st[48];
    pr_error err = {0};
    CHECK_EQ_INT(pr_encoder_encode_all(e, corpus, 48, pool, X, st, &err), 0);
    int label[48];
    for (int i = 0; i < 48; i++) label[i] = i / 12;
    double agree = nn_agreement(X, 48, 8, label);
    fprintf(stderr, "  LSA nearest-neighbour topic agreement: %.3f\n", agree);
    CHECK(agree >= 0.85);
    /* a new text lands in its topic: higher mean cosine to space than to the others */
    float y[8];
    CHECK_EQ_INT(e->ops->encode(e, "a rocket carries astronauts to the moon", y, &err), 0);
    double mean[4] = {0};
    for (int i = 0; i < 48; i++) mean[i / 12] += cosine(y, X + i * 8, 8) / 12;
    CHECK(mean[1] > mean[0] && mean[1] > mean[2] && mean[1] > mean[3]);
    /* catalogue vectors via encode() one by one == encode_all on the pool */
    int same = 1;
    for (int i = 0; i < 48; i++) {
        CHECK_EQ_INT(e->ops->encode(e, corpus[i], y, &err), 0);
        same &= memcmp(y, X + i * 8, sizeof y) == 0;
    }
    CHECK(same);
    /* save / load through the registry: identical vectors */
    pr_buf b;
    pr_buf_init(&b);
    CHECK_EQ_INT(pr_encoder_save(e, &b), 0);
    pr_cur c;
    pr_cur_init(&c, b.data, b.len, "model");
    CHECK_EQ_INT(pr_encoder_load(&e1, &c, &err), 0);
    if (e1) {
        CHECK_STR(e1->ops->name, "text-lsa");
        CHECK_EQ_INT(pr_encoder_encode_all(e1, corpus, 48, NULL, Y, NULL, &err), 0);
        CHECK(memcmp(X, Y, sizeof(float) * 48 * 8) == 0);
        float z1[8], z2[8];
        CHECK_EQ_INT(e->ops->encode(e, "moon and garlic bread", z1, &err), 0);
        CHECK_EQ_INT(e1->ops->encode(e1, "moon and garlic bread", z2, &err), 0);
        CHECK(memcmp(z1, z2, sizeof z1) == 0);
    }
    /* every truncation of the saved state fails cleanly */
    int fails = 0, tries = 0;
    for (size_t len = 0; len < b.len; len += 1 + len / 8, tries++) {
        pr_encoder *t = NULL;
        pr_cur_init(&c, b.data, len, "model");
        fails += pr_encoder_load(&t, &c, &err) < 0 && t == NULL;
        pr_encoder_free(t);
    }
    CHECK_EQ_INT(fails, tries);
    /* the same fit without a pool gives the same bits */
    e2 = fit_spec("text-lsa:dim=8,seed=3", corpus, 48, NULL);
    if (e2) {
        CHECK_EQ_INT(pr_encoder_encode_all(e2, corpus, 48, NULL, Y, NULL, &err), 0);
        CHECK(memcmp(X, Y, sizeof(float) * 48 * 8) == 0);
    }
    pr_buf_free(&b);
    pr_encoder_free(e);
    pr_encoder_free(e1);
    pr_encoder_free(e2);
    pr_pool_free(pool);
    free(X), free(Y);
}

TEST(test_registry) {
    pr_encoder *e = NULL;
    pr_error err = {0};
    CHECK(pr_encoder_find("text-lsa") == &pr_text_lsa_ops);
    CHECK(pr_encoder_find("text-glove") != NULL);
    CHECK(pr_encoder_find("nope") == NULL);
    CHECK(pr_encoder_default(PR_MOD_TEXT) == &pr_text_lsa_ops);
    CHECK_EQ_INT(pr_encoder_create("", PR_MOD_TEXT, &e, &err), 0);
    CHECK(e && e->ops == &pr_text_lsa_ops && e->ops->dim(e) == 128);
    pr_encoder_free(e);
    CHECK_EQ_INT(pr_encoder_create(":dim=16", PR_MOD_TEXT, &e, &err), 0);
    CHECK(e && e->ops->dim(e) == 16);
    pr_encoder_free(e);
    CHECK_EQ_INT(pr_encoder_create("text-lsa: dim = 32 , weight=bm25,stop=0", PR_MOD_TEXT, &e, &err), 0);
    CHECK(e && e->ops->dim(e) == 32);
    pr_encoder_free(e);
    e = NULL;
    struct { const char *spec; int mod, code; const char *msg; } bad[] = {
        {"nope:dim=3", PR_MOD_TEXT, PR_E_NOTFOUND, "unknown encoder 'nope' (known: text-lsa, text-glove"},
        {"text-lsa", PR_MOD_IMAGE, PR_E_ARG, "reads text, not image"},
        {"text-lsa:bogus=1", PR_MOD_TEXT, PR_E_ARG, "unknown argument 'bogus'"},
        {"text-lsa:dim", PR_MOD_TEXT, PR_E_ARG, "'dim' is not key=value"},
        {"text-lsa:dim=0", PR_MOD_TEXT, PR_E_ARG, "dim=0"},
        {"text-lsa:dim=2.5", PR_MOD_TEXT, PR_E_ARG, "expected an integer"},
        {"text-lsa:weight=okapi", PR_MOD_TEXT, PR_E_ARG, "weight=okapi"},
        {"text-lsa:max_df=1.5", PR_MOD_TEXT, PR_E_ARG, "fraction"},
        {"text-lsa:stop=2", PR_MOD_TEXT, PR_E_ARG, "stop=2"},
        {"text-glove", PR_MOD_TEXT, PR_E_ARG, "needs vectors=PATH"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(pr_encoder_create(bad[i].spec, bad[i].mod, &e, &err), bad[i].code);
        CHECK_CONTAINS(err.msg, bad[i].msg);
        CHECK(e == NULL);
    }
    /* a saved blob naming an unknown encoder */
    pr_buf b;
    pr_buf_init(&b);
    pr_buf_put_str(&b, "word2vec");
    pr_buf_put_i64(&b, 0);
    pr_cur c;
    pr_cur_init(&c, b.data, b.len, "m.bin");
    CHECK_EQ_INT(pr_encoder_load(&e, &c, &err), PR_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "m.bin: encoder 'word2vec'");
    pr_buf_free(&b);
}

TEST(test_encode_all_status) {
    const char *in[5] = {"apple banana", NULL, "cherry date", "zzz", NULL};
    pr_encoder *e = fit_spec("text-lsa:dim=2", three, 3, NULL);
    if (!e) {
        CHECK(0);
        return;
    }
    pr_pool *pool = pr_pool_new(2);
    float X[10];
    uint8_t st[5];
    pr_error err = {0};
    memset(X, 0x7f, sizeof X);
    CHECK_EQ_INT(pr_encoder_encode_all(e, in, 5, pool, X, st, &err), 0);
    CHECK(st[0] == 0 && st[1] == 1 && st[2] == 0 && st[3] == 0 && st[4] == 1);
    CHECK(X[2] == 0.0f && X[3] == 0.0f && X[8] == 0.0f);
    CHECK(X[6] == 0.0f && X[7] == 0.0f); /* no known word: the zero vector */
    CHECK_NEAR(X[0] * X[0] + X[1] * X[1], 1.0, 1e-5);
    pr_encoder_free(e);
    /* an unfitted encoder fails every item: an error naming the first */
    CHECK_EQ_INT(pr_encoder_create("text-lsa:dim=2", PR_MOD_TEXT, &e, &err), 0);
    CHECK_EQ_INT(pr_encoder_encode_all(e, in, 5, pool, X, st, &err), PR_E_STATE);
    CHECK_CONTAINS(err.msg, "all 3 items failed; item 0: text-lsa: encode before fit");
    CHECK(st[0] == 2 && st[1] == 1 && st[3] == 2);
    pr_encoder_free(e);
    pr_pool_free(pool);
}

int main(void) {
    RUN(test_tfidf_by_hand);
    RUN(test_vocab_pruning);
    RUN(test_lsa_topics);
    RUN(test_registry);
    RUN(test_encode_all_status);
    return t_done();
}
