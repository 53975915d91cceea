/* tests/features/test_text_real.c: text encoders on real catalogues (skipped
 * when ../shared/data is absent):
 *   - fashion-products/styles.csv, 999 products, text = productDisplayName
 *     only: the cosine nearest neighbour has the same articleType for >= 75%
 *     of items with text-lsa; text-glove (GloVe 100-d, top 10k words) is
 *     reported and must beat the label-frequency baseline by far;
 *   - mls/items.tsv (title, genres, tags of 1,955 MovieLens movies):
 *     neighbours share a genre far more often than random pairs.
 * Also prints documents/s of encode_all on 2 threads. */
#include "core/log.h"
#include "core/mat.h"
#include "core/pool.h"
#include "data/idmap.h"
#include "features/encoder.h"
#include "features/items.h"
#include "t.h"

/* nn[i] = the index of the row most cosine-similar to row i (rows of X are
 * unit or zero). S (n, n) = X X^T through BLAS, then an argmax per row. */
static int32_t *nearest(const float *X, int n, int d) {
    float *S = malloc(sizeof(float) * (size_t)n * n);
    int32_t *nn = malloc(sizeof(int32_t) * (size_t)n);
    pr_gemm(PR_NOTRANS, PR_TRANS, n, n, d, 1.0f, X, d, X, d, 0.0f, S, n);
    for (int i = 0; i < n; i++) {
        int best = -1;
        float bs = -2.0f;
        for (int j = 0; j < n; j++)
            if (j != i && S[(int64_t)i * n + j] > bs) bs = S[(int64_t)i * n + j], best = j;
        nn[i] = best;
    }
    free(S);
    return nn;
}

/* Fit spec on texts, encode all on 2 threads; returns X (n, *d). */
static float *encode_catalogue(const char *spec, char **texts, int n, int *d, double *docs_per_s) {
    pr_encoder *e = NULL;
    pr_error err = {0};
    pr_pool *pool = pr_pool_new(2);
    float *X = NULL;
    if (pr_encoder_create(spec, PR_MOD_TEXT, &e, &err) ||
        e->ops->fit(e, (const char *const *)texts, n, pool, &err)) {
        fprintf(stderr, "  %s: %s\n", spec, err.msg);
        goto done;
    }
    *d = e->ops->dim(e);
    X = malloc(sizeof(float) * (size_t)n * *d);
    double t0 = pr_now();
    int reps = 5;
    for (int r = 0; r < reps; r++)
        if (pr_encoder_encode_all(e, (const char *const *)texts, n, pool, X, NULL, &err)) {
            fprintf(stderr, "  %s\n", err.msg);
            free(X);
            X = NULL;
            goto done;
        }
    *docs_per_s = (double)n * reps / (pr_now() - t0);
done:
    pr_encoder_free(e);
    pr_pool_free(pool);
    return X;
}

TEST(test_fashion_article_type) {
    char buf[512], gbuf[512];
    const char *p = t_shared("fashion-products/styles.csv", buf, sizeof buf);
    if (!p) T_SKIP("shared data fashion-products/styles.csv absent");
    pr_items *it = NULL, *lab = NULL;
    pr_error err = {0};
    pr_items_opts lo = {"id", "-", "-", "articleType"};
    CHECK_EQ_INT(pr_items_read(p, NULL, &it, &err), 0);
    CHECK_EQ_INT(pr_items_read(p, &lo, &lab, &err), 0);
    if (!it || !lab) return;
    int n = (int)it->n;
    CHECK_EQ_INT(n, 999);
    /* baseline: the chance a random other item shares the articleType */
    pr_idmap *types = pr_idmap_new();
    int32_t *label = malloc(sizeof(int32_t) * n);
    int counts[1000] = {0};
    for (int i = 0; i < n; i++) counts[label[i] = pr_idmap_add(types, lab->text[i], strlen(lab->text[i]))]++;
    double base = 0;
    for (int i = 0; i < n; i++) base += (double)(counts[label[i]] - 1) / (n - 1) / n;
    pr_log_set_level(PR_LOG_QUIET);
    const char *glove = t_shared("glove/glove100d-top10k.txt", gbuf, sizeof gbuf);
    char gspec[600];
    snprintf(gspec, sizeof gspec, "text-glove:vectors=%s", glove ? glove : "");
    const char *specs[2] = {"text-lsa", gspec};
    for (int s = 0; s < (glove ? 2 : 1); s++) {
        int d = 0;
        double rate = 0;
        float *X = encode_catalogue(specs[s], it->text, n, &d, &rate);
        CHECK(X != NULL);
        if (!X) continue;
        int32_t *nn = nearest(X, n, d);
        int same = 0;
        for (int i = 0; i < n; i++) same += label[nn[i]] == label[i];
        double acc = (double)same / n;
        fprintf(stderr, "  fashion %s: dim %d, nearest neighbour same articleType %.3f "
                "(random pair %.3f); encode %.0f docs/s on 2 threads\n",
                s ? "text-glove" : "text-lsa", d, acc, base, rate);
        if (s == 0) CHECK(acc >= 0.75);
        else CHECK(acc >= 0.4); /* general-purpose word vectors, top 10k words only: looser */
        free(nn);
        free(X);
    }
    pr_log_set_level(PR_LOG_INFO);
    pr_idmap_free(types);
    free(label);
    pr_items_free(it);
    pr_items_free(lab);
}

/* 1 if the '|'-separated genre lists a and b share a genre. */
static int share_genre(const char *a, const char *b) {
    for (const char *s = a; *s;) {
        size_t n = strcspn(s, "|");
        for (const char *t = b; *t;) {
            size_t m = strcspn(t, "|");
            if (m == n && strncmp(s, t, n) == 0 && strncmp(s, "(no genres", 10) != 0) return 1;
            t += m + (t[m] == '|');
        }
        s += n + (s[n] == '|');
    }
    return 0;
}

TEST(test_movielens_genres) {
    char b1[512], b2[512];
    const char *ip = t_shared("mls/items.tsv", b1, sizeof b1);
    const char *mp = t_shared("ml-latest-small/movies.csv", b2, sizeof b2);
    if (!ip || !mp) T_SKIP("shared data mls/items.tsv or ml-latest-small/movies.csv absent");
    pr_items *it = NULL, *mv = NULL;
    pr_error err = {0};
    pr_items_opts io = {"movieId", "-", "-", "text"}, mo = {"movieId", "-", "-", "genres"};
    CHECK_EQ_INT(pr_items_read(ip, &io, &it, &err), 0);
    CHECK_EQ_INT(pr_items_read(mp, &mo, &mv, &err), 0);
    if (!it || !mv) return;
    pr_idmap *mid = pr_idmap_new();
    for (int64_t i = 0; i < mv->n; i++) pr_idmap_add(mid, mv->id[i], strlen(mv->id[i]));
    int n = (int)it->n;
    const char **genres = malloc(sizeof(char *) * n);
    for (int i = 0; i < n; i++) {
        int32_t k = pr_idmap_get(mid, it->id[i]);
        genres[i] = k >= 0 && mv->text[k] ? mv->text[k] : "";
    }
    pr_log_set_level(PR_LOG_QUIET);
    int d = 0;
    double rate = 0;
    float *X = encode_catalogue("text-lsa", it->text, n, &d, &rate);
    pr_log_set_level(PR_LOG_INFO);
    CHECK(X != NULL);
    if (X) {
        int32_t *nn = nearest(X, n, d);
        int nn_share = 0;
        for (int i = 0; i < n; i++) nn_share += share_genre(genres[i], genres[nn[i]]);
        int64_t pairs = 0, rnd_share = 0;
        for (int i = 0; i < n; i += 3)
            for (int j = i + 1; j < n; j += 7) pairs++, rnd_share += share_genre(genres[i], genres[j]);
        double a = (double)nn_share / n, r = (double)rnd_share / (double)pairs;
        fprintf(stderr, "  movielens text-lsa: dim %d, nearest neighbour shares a genre %.3f, "
                "random pair %.3f; encode %.0f docs/s on 2 threads\n", d, a, r, rate);
        CHECK(a > r + 0.2);
        free(nn);
        free(X);
    }
    free(genres);
    pr_idmap_free(mid);
    pr_items_free(it);
    pr_items_free(mv);
}

int main(void) {
    RUN(test_fashion_article_type);
    RUN(test_movielens_genres);
    return t_done();
}
