/* features/text_lsa.c: TF-IDF / BM25 + LSA text encoder (see text_lsa.h).
 *
 * State after fit: the vocabulary (V terms, column order = byte order),
 * idf (V), avgdl, the basis (V, k) and the singular values (k). Fit and
 * encode share bag() and weigh(), so a catalogue text and the same text
 * arriving later as a new item get bit-identical vectors. */
#include "text_lsa.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/csr.h"
#include "core/log.h"
#include "core/mat.h"
#include "features/svd.h"
#include "features/tokenize.h"

#define LSA_VERSION 1
#define LSA_MAX_DIM 4096
#define LSA_MAX_VOCAB 50000000

enum { W_TFIDF = 0, W_BM25 = 1 };

typedef struct {
    pr_encoder base;
    /* settings */
    int dim_req, weight, sublinear, max_features, power, oversample;
    double min_df, max_df; /* >= 1: counts; < 1 (or with '.'): fractions, as given */
    int min_df_frac, max_df_frac;
    float k1, b;
    uint64_t seed;
    pr_tok_opts tok;
    /* fitted */
    int fitted, V, k;
    int64_t n_docs;
    float avgdl;
    char **term;      /* (V) */
    pr_idmap *vocab;  /* term -> column */
    float *idf;       /* (V) */
    float *basis;     /* (V, k) */
    float *sv;        /* (k) */
} lsa_enc;

/* ------------------------------------------------------------------ */
/* create / free                                                        */

static int parse_num(const char *key, const char *val, double lo, double hi, double *out,
                     pr_error *err) {
    char *end;
    double v = strtod(val, &end);
    if (end == val || *end || !(v >= lo && v <= hi))
        return pr_err(err, PR_E_ARG, "text-lsa: %s=%s: expected a number in [%g, %g]", key, val, lo, hi);
    *out = v;
    return 0;
}

static void lsa_free(pr_encoder *base) {
    lsa_enc *e = (lsa_enc *)base;
    if (!e) return;
    for (int i = 0; e->term && i < e->V; i++) free(e->term[i]);
    free(e->term);
    pr_idmap_free(e->vocab);
    free(e->idf);
    free(e->basis);
    free(e->sv);
    free(e);
}

static int lsa_set(lsa_enc *e, const char *key, const char *val, pr_error *err) {
    double v = 0;
    int rc = pr_tok_opt_set(&e->tok, key, val, err);
    if (rc != 0) return rc < 0 ? rc : 0;
    if (strcmp(key, "weight") == 0) {
        if (strcmp(val, "tfidf") == 0) e->weight = W_TFIDF;
        else if (strcmp(val, "bm25") == 0) e->weight = W_BM25;
        else return pr_err(err, PR_E_ARG, "text-lsa: weight=%s: expected tfidf or bm25", val);
        return 0;
    }
    if (strcmp(key, "min_df") == 0 || strcmp(key, "max_df") == 0) {
        if ((rc = parse_num(key, val, 0, 1e12, &v, err))) return rc;
        int frac = strchr(val, '.') != NULL || strchr(val, 'e') != NULL;
        if (frac && v > 1.0) return pr_err(err, PR_E_ARG, "text-lsa: %s=%s: a fraction must be <= 1", key, val);
        if (key[1] == 'i') e->min_df = v, e->min_df_frac = frac;
        else e->max_df = v, e->max_df_frac = frac;
        return 0;
    }
    static const struct { const char *key; double lo, hi; } ints[] = {
        {"dim", 1, LSA_MAX_DIM}, {"sublinear", 0, 1}, {"max_features", 0, LSA_MAX_VOCAB},
        {"power", 0, 20}, {"oversample", 0, 1000}, {"seed", 0, 1e18}, {"k1", 0, 100}, {"b", 0, 1},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (strcmp(key, ints[i].key) != 0) continue;
        if ((rc = parse_num(key, val, ints[i].lo, ints[i].hi, &v, err))) return rc;
        if (i <= 6 && v != floor(v)) return pr_err(err, PR_E_ARG, "text-lsa: %s=%s: expected an integer", key, val);
        switch (i) {
        case 0: e->dim_req = (int)v; break;
        case 1: e->sublinear = (int)v; break;
        case 2: e->max_features = (int)v; break;
        case 3: e->power = (int)v; break;
        case 4: e->oversample = (int)v; break;
        case 5: e->seed = (uint64_t)v; break;
        case 6: e->k1 = (float)v; break;
        default: e->b = (float)v; break;
        }
        return 0;
    }
    return pr_err(err, PR_E_ARG,
                  "text-lsa: unknown argument '%s' (dim, weight, sublinear, min_df, max_df, "
                  "max_features, power, oversample, seed, k1, b, stop, bigrams, num, min_len)", key);
}

static lsa_enc *lsa_new(void) {
    lsa_enc *e = pr_calloc(1, sizeof *e);
    if (!e) return NULL;
    e->base.ops = &pr_text_lsa_ops;
    e->dim_req = 128;
    e->weight = W_TFIDF;
    e->sublinear = 1;
    e->min_df = 1;
    e->max_df = 1.0;
    e->max_df_frac = 1;
    e->power = 3;
    e->oversample = 10;
    e->seed = 1;
    e->k1 = 1.2f;
    e->b = 0.75f;
    e->tok.stopwords = 1;
    e->tok.min_len = 1;
    e->tok.stem = 1;
    e->tok.hyphen = PR_TOK_HYPHEN_BOTH;
    return e;
}

static int lsa_create(pr_encoder **out, const char *args, pr_error *err) {
    lsa_enc *e = lsa_new();
    if (!e) return pr_err(err, PR_E_NOMEM, "text-lsa");
    char key[64], val[256];
    int rc;
    while ((rc = pr_encoder_args_next(&args, "text-lsa", key, sizeof key, val, sizeof val, err)) > 0)
        if ((rc = lsa_set(e, key, val, err))) break;
    if (rc < 0) {
        lsa_free(&e->base);
        return rc;
    }
    *out = &e->base;
    return 0;
}

/* ------------------------------------------------------------------ */
/* the shared weighting path                                            */

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Sort cols[0..n) and merge repeats: cols unique ascending, tf their counts. */
static int merge_counts(int32_t *cols, int n, float *tf) {
    qsort(cols, (size_t)n, sizeof *cols, cmp_i32);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && cols[m - 1] == cols[i]) tf[m - 1] += 1.0f;
        else cols[m] = cols[i], tf[m++] = 1.0f;
    }
    return m;
}

/* w[0..m) from counts tf (dl = in-vocabulary tokens), then L2-normalised. */
static void weigh(const lsa_enc *e, const int32_t *cols, const float *tf, int m, float dl, float *w) {
    double ss = 0.0;
    for (int i = 0; i < m; i++) {
        float idf = e->idf[cols[i]], t = tf[i];
        if (e->weight == W_BM25) {
            float norm = e->k1 * (1.0f - e->b + e->b * (e->avgdl > 0 ? dl / e->avgdl : 1.0f));
            w[i] = idf * t * (e->k1 + 1.0f) / (t + norm);
        } else {
            w[i] = (e->sublinear ? 1.0f + logf(t) : t) * idf;
        }
        ss += (double)w[i] * w[i];
    }
    float nrm = (float)sqrt(ss);
    for (int i = 0; i < m && nrm > 0.0f; i++) w[i] /= nrm;
}

/* Tokens of text -> in-vocabulary columns with counts (bags are small). */
typedef struct {
    pr_tokens tok;
    int32_t *cols;
    float *tf, *w;
    int cap;
} bag;

static void bag_free(bag *g) {
    pr_tokens_free(&g->tok);
    free(g->cols);
    free(g->tf);
    free(g->w);
}

/* Fills g->cols / g->w (m entries, weighted, L2-normalised); returns m or < 0. */
static int bag_of(const lsa_enc *e, const char *text, bag *g) {
    int rc = pr_tokenize(text, &e->tok, &g->tok);
    if (rc) return rc;
    if (g->tok.n > g->cap) {
        int cap = g->tok.n;
        int32_t *c = pr_realloc(g->cols, (size_t)cap, sizeof *c);
        if (c) g->cols = c;
        float *t = c ? pr_realloc(g->tf, (size_t)cap, sizeof *t) : NULL;
        if (t) g->tf = t;
        float *w = t ? pr_realloc(g->w, (size_t)cap, sizeof *w) : NULL;
        if (!w) return PR_E_NOMEM;
        g->w = w;
        g->cap = cap;
    }
    int n = 0;
    for (int i = 0; i < g->tok.n; i++) {
        int32_t c = pr_idmap_find(e->vocab, pr_token(&g->tok, i), pr_token_len(&g->tok, i));
        if (c >= 0) g->cols[n++] = c;
    }
    int m = merge_counts(g->cols, n, g->tf);
    weigh(e, g->cols, g->tf, m, (float)n, g->w);
    return m;
}

/* ------------------------------------------------------------------ */
/* fit                                                                  */

/* A candidate term for sorting: no globals, so fits may run concurrently. */
typedef struct {
    int64_t df;
    const char *s;
    int32_t id;
} cand;

static int cmp_df_desc(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->df != y->df) return x->df > y->df ? -1 : 1;
    return strcmp(x->s, y->s);
}

static int cmp_term(const void *a, const void *b) { return strcmp(((const cand *)a)->s, ((const cand *)b)->s); }

/* Choose the vocabulary; fills e->term, e->vocab, e->idf and remap (token -> column or -1). */
static int build_vocab(lsa_enc *e, const pr_term_stats *st, int32_t *remap, pr_error *err) {
    int32_t nt = st->terms->n, nk = 0;
    double N = (double)st->n_docs;
    double lo = e->min_df_frac ? e->min_df * N : e->min_df, hi = e->max_df_frac ? e->max_df * N : e->max_df;
    cand *keep = pr_malloc((size_t)(nt ? nt : 1), sizeof *keep);
    if (!keep) return pr_err(err, PR_E_NOMEM, "text-lsa: vocabulary");
    for (int32_t t = 0; t < nt; t++)
        if ((double)st->df[t] >= lo && (double)st->df[t] <= hi)
            keep[nk++] = (cand){st->df[t], pr_idmap_name(st->terms, t), t};
    if (e->max_features > 0 && nk > e->max_features) {
        qsort(keep, (size_t)nk, sizeof *keep, cmp_df_desc);
        nk = e->max_features;
    }
    qsort(keep, (size_t)nk, sizeof *keep, cmp_term);
    int rc = 0;
    if (nk == 0) {
        rc = pr_err(err, PR_E_ARG, "text-lsa: empty vocabulary (%lld texts, %d distinct tokens; "
                    "check min_df / max_df)", (long long)st->n_docs, nt);
        goto done;
    }
    e->term = pr_calloc((size_t)nk, sizeof *e->term);
    e->idf = pr_malloc((size_t)nk, sizeof *e->idf);
    e->vocab = pr_idmap_new();
    if (!e->term || !e->idf || !e->vocab) { rc = pr_err(err, PR_E_NOMEM, "text-lsa: vocabulary"); goto done; }
    e->V = nk;
    for (int32_t t = 0; t < nt; t++) remap[t] = -1;
    for (int32_t c = 0; c < nk; c++) {
        const char *s = keep[c].s;
        double df = (double)keep[c].df;
        remap[keep[c].id] = c;
        if (!(e->term[c] = pr_strdup(s)) || pr_idmap_add(e->vocab, s, strlen(s)) != c) {
            rc = pr_err(err, PR_E_NOMEM, "text-lsa: vocabulary");
            goto done;
        }
        e->idf[c] = e->weight == W_BM25 ? (float)log(1.0 + (N - df + 0.5) / (df + 0.5))
                                        : (float)(log((1.0 + N) / (1.0 + df)) + 1.0);
    }
done:
    free(keep);
    return rc;
}

/* The weighted, row-normalised (n_docs, V) matrix of the non-NULL texts. */
static int build_matrix(lsa_enc *e, const pr_term_stats *st, int64_t n, const int32_t *remap,
                        pr_csr **out, pr_error *err) {
    int64_t nnz_max = 0; /* in-vocabulary tokens: also the sum of document lengths */
    for (int64_t p = 0; p < st->n_tokens; p++) nnz_max += remap[st->doc_tok[p]] >= 0;
    e->avgdl = st->n_docs ? (float)((double)nnz_max / (double)st->n_docs) : 0.0f;
    if (st->n_docs > INT32_MAX) return pr_err(err, PR_E_RANGE, "text-lsa: too many texts");
    pr_csr *A = pr_csr_new((int32_t)st->n_docs, e->V, nnz_max, 1);
    int64_t longest = 0;
    for (int64_t i = 0; i < n; i++) longest = PR_MAX(longest, st->doc_ptr[i + 1] - st->doc_ptr[i]);
    int32_t *cols = pr_malloc((size_t)(longest ? longest : 1), sizeof *cols);
    float *tf = pr_malloc((size_t)(longest ? longest : 1), sizeof *tf);
    int rc = 0;
    if (!A || !cols || !tf) { rc = pr_err(err, PR_E_NOMEM, "text-lsa: matrix"); goto done; }
    int64_t nnz = 0;
    int32_t r = 0;
    A->indptr[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        int cnt = 0;
        for (int64_t p = st->doc_ptr[i]; p < st->doc_ptr[i + 1]; p++)
            if (remap[st->doc_tok[p]] >= 0) cols[cnt++] = remap[st->doc_tok[p]];
        int m = merge_counts(cols, cnt, tf);
        memcpy(A->indices + nnz, cols, sizeof *cols * (size_t)m);
        weigh(e, cols, tf, m, (float)cnt, A->val + nnz);
        nnz += m;
        A->indptr[++r] = nnz;
    }
    A->nnz = nnz;
    *out = A;
    A = NULL;
done:
    pr_csr_free(A);
    free(cols);
    free(tf);
    return rc;
}

static int lsa_fit(pr_encoder *base, const char *const *inputs, int64_t n, pr_pool *pool,
                   pr_error *err) {
    lsa_enc *e = (lsa_enc *)base;
    if (e->fitted) return pr_err(err, PR_E_STATE, "text-lsa: already fitted");
    pr_term_stats st;
    memset(&st, 0, sizeof st);
    pr_csr *A = NULL, *At = NULL;
    int32_t *remap = NULL;
    const char **texts = NULL;
    int rc;
    /* only the non-NULL texts take part: they are the rows of the matrix */
    int64_t nd = 0;
    if (!(texts = pr_malloc((size_t)(n ? n : 1), sizeof *texts))) return pr_err(err, PR_E_NOMEM, "text-lsa");
    for (int64_t i = 0; i < n; i++)
        if (inputs[i]) texts[nd++] = inputs[i];
    if ((rc = pr_term_stats_build(texts, nd, &e->tok, pool, &st, err))) goto done;
    e->n_docs = st.n_docs;
    if (!(remap = pr_malloc((size_t)(st.terms->n ? st.terms->n : 1), sizeof *remap))) { rc = pr_err(err, PR_E_NOMEM, "text-lsa"); goto done; }
    if ((rc = build_vocab(e, &st, remap, err))) goto done;
    if ((rc = build_matrix(e, &st, nd, remap, &A, err))) goto done;
    if ((rc = pr_csr_transpose(A, &At, err))) goto done;
    e->k = (int)PR_MIN((int64_t)e->dim_req, PR_MIN(st.n_docs, (int64_t)e->V));
    if (e->k < e->dim_req)
        pr_log("text-lsa: dim %d reduced to %d (%lld texts, vocabulary %d)", e->dim_req, e->k,
               (long long)st.n_docs, e->V);
    e->basis = pr_malloc((size_t)e->V * (size_t)e->k, sizeof *e->basis);
    e->sv = pr_malloc((size_t)e->k, sizeof *e->sv);
    if (!e->basis || !e->sv) { rc = pr_err(err, PR_E_NOMEM, "text-lsa: basis %d x %d", e->V, e->k); goto done; }
    pr_linop op;
    pr_linop_csr(&op, A, At);
    pr_rsvd_opts o = {e->k, e->oversample, e->power, e->seed};
    if ((rc = pr_rsvd(&op, &o, pool, NULL, e->sv, e->basis, err))) goto done;
    pr_debug("text-lsa: %lld texts, vocabulary %d, nnz %lld, k %d, s[0] %.3f s[k-1] %.3f",
             (long long)st.n_docs, e->V, (long long)A->nnz, e->k, e->sv[0], e->sv[e->k - 1]);
    e->fitted = 1;
done:
    if (rc && !e->fitted) { /* leave the encoder unfitted and reusable */
        for (int i = 0; e->term && i < e->V; i++) free(e->term[i]);
        free(e->term), free(e->idf), free(e->basis), free(e->sv);
        pr_idmap_free(e->vocab);
        e->term = NULL, e->idf = e->basis = e->sv = NULL, e->vocab = NULL, e->V = e->k = 0;
    }
    pr_term_stats_free(&st);
    pr_csr_free(A);
    pr_csr_free(At);
    free(remap);
    free(texts);
    return rc;
}

/* ------------------------------------------------------------------ */
/* encode                                                               */

static int lsa_dim(const pr_encoder *base) {
    const lsa_enc *e = (const lsa_enc *)base;
    return e->fitted ? e->k : e->dim_req;
}

static int lsa_encode(const pr_encoder *base, const char *text, float *out, pr_error *err) {
    const lsa_enc *e = (const lsa_enc *)base;
    if (!e->fitted) return pr_err(err, PR_E_STATE, "text-lsa: encode before fit");
    bag g;
    memset(&g, 0, sizeof g);
    int m = bag_of(e, text, &g);
    if (m < 0) {
        bag_free(&g);
        return pr_err(err, m, "text-lsa: %s", pr_err_name(m));
    }
    /* y (k) = x (V, sparse) . basis (V, k), in column order */
    memset(out, 0, sizeof *out * (size_t)e->k);
    for (int i = 0; i < m; i++) pr_axpy(g.w[i], e->basis + (int64_t)g.cols[i] * e->k, out, e->k);
    double ss = 0.0;
    for (int j = 0; j < e->k; j++) ss += (double)out[j] * out[j];
    float nrm = (float)sqrt(ss);
    for (int j = 0; j < e->k && nrm > 0.0f; j++) out[j] /= nrm;
    bag_free(&g);
    return 0;
}

/* ------------------------------------------------------------------ */
/* save / load                                                          */

static int lsa_save(const pr_encoder *base, pr_buf *b) {
    const lsa_enc *e = (const lsa_enc *)base;
    pr_buf_put_u32(b, LSA_VERSION);
    uint32_t ints[] = {(uint32_t)e->dim_req, (uint32_t)e->weight, (uint32_t)e->sublinear,
                       (uint32_t)e->max_features, (uint32_t)e->power, (uint32_t)e->oversample,
                       (uint32_t)e->min_df_frac, (uint32_t)e->max_df_frac, (uint32_t)e->fitted};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) pr_buf_put_u32(b, ints[i]);
    pr_tok_opts_save(&e->tok, b);
    pr_buf_put_f64(b, e->min_df);
    pr_buf_put_f64(b, e->max_df);
    pr_buf_put_f32(b, e->k1);
    pr_buf_put_f32(b, e->b);
    pr_buf_put_i64(b, (int64_t)e->seed);
    if (e->fitted) {
        pr_buf_put_i64(b, e->n_docs);
        pr_buf_put_f32(b, e->avgdl);
        pr_buf_put_u32(b, (uint32_t)e->V);
        pr_buf_put_u32(b, (uint32_t)e->k);
        for (int i = 0; i < e->V; i++) pr_buf_put_str(b, e->term[i]);
        pr_buf_put_f32s(b, e->idf, e->V);
        pr_buf_put_f32s(b, e->sv, e->k);
        pr_buf_put_f32s(b, e->basis, (int64_t)e->V * e->k);
    }
    return b->oom ? PR_E_NOMEM : 0;
}

static int get_arr(pr_cur *c, float **x, int64_t want, const char *name, pr_error *err) {
    int64_t n = 0;
    int rc = pr_cur_get_f32s(c, x, &n, err);
    if (rc == 0 && n != want)
        rc = pr_err(err, PR_E_FORMAT, "%s: %s has %lld values, expected %lld", c->what, name, (long long)n, (long long)want);
    return rc;
}

static int lsa_load(pr_encoder **out, pr_cur *c, pr_error *err) {
    lsa_enc *e = lsa_new();
    if (!e) return pr_err(err, PR_E_NOMEM, "%s", c->what);
    uint32_t ver = 0, v[9];
    int64_t seed = 0;
    int rc;
    if ((rc = pr_cur_get_u32(c, &ver, err))) goto done;
    if (ver != LSA_VERSION) { rc = pr_err(err, PR_E_FORMAT, "%s: version %u", c->what, ver); goto done; }
    for (int i = 0; i < 9; i++)
        if ((rc = pr_cur_get_u32(c, &v[i], err))) goto done;
    if ((rc = pr_tok_opts_load(&e->tok, c, err))) goto done;
    if ((rc = pr_cur_get_f64(c, &e->min_df, err)) || (rc = pr_cur_get_f64(c, &e->max_df, err)) ||
        (rc = pr_cur_get_f32(c, &e->k1, err)) || (rc = pr_cur_get_f32(c, &e->b, err)) ||
        (rc = pr_cur_get_i64(c, &seed, err)))
        goto done;
    if (v[0] < 1 || v[0] > LSA_MAX_DIM || v[1] > W_BM25 || v[2] > 1 || v[8] > 1) {
        rc = pr_err(err, PR_E_FORMAT, "%s: settings are corrupt", c->what);
        goto done;
    }
    e->dim_req = (int)v[0], e->weight = (int)v[1], e->sublinear = (int)v[2];
    e->max_features = (int)v[3], e->power = (int)v[4], e->oversample = (int)v[5];
    e->min_df_frac = (int)v[6], e->max_df_frac = (int)v[7];
    e->seed = (uint64_t)seed;
    if (v[8]) {
        uint32_t V = 0, k = 0;
        if ((rc = pr_cur_get_i64(c, &e->n_docs, err)) || (rc = pr_cur_get_f32(c, &e->avgdl, err)) ||
            (rc = pr_cur_get_u32(c, &V, err)) || (rc = pr_cur_get_u32(c, &k, err)))
            goto done;
        if (V < 1 || V > LSA_MAX_VOCAB || V > pr_cur_left(c) / 4 || k < 1 || k > V || k > LSA_MAX_DIM) {
            rc = pr_err(err, PR_E_FORMAT, "%s: vocabulary %u, dim %u: corrupt", c->what, V, k);
            goto done;
        }
        if (!(e->term = pr_calloc(V, sizeof *e->term)) || !(e->vocab = pr_idmap_new())) { rc = pr_err(err, PR_E_NOMEM, "%s", c->what); goto done; }
        e->V = (int)V;
        e->k = (int)k;
        for (uint32_t i = 0; i < V; i++) {
            if ((rc = pr_cur_get_str(c, &e->term[i], 2 * PR_TOKEN_MAX + 1, err))) goto done;
            if (pr_idmap_add(e->vocab, e->term[i], strlen(e->term[i])) != (int32_t)i) {
                rc = pr_err(err, PR_E_FORMAT, "%s: vocabulary term %u ('%s') repeated or invalid", c->what, i, e->term[i]);
                goto done;
            }
        }
        if ((rc = get_arr(c, &e->idf, V, "idf", err)) || (rc = get_arr(c, &e->sv, k, "singular values", err)) ||
            (rc = get_arr(c, &e->basis, (int64_t)V * k, "basis", err)))
            goto done;
        e->fitted = 1;
    }
    *out = &e->base;
    e = NULL;
done:
    if (e) lsa_free(&e->base);
    return rc;
}

/* ------------------------------------------------------------------ */
/* inspection                                                           */

int pr_text_lsa_vocab_size(const pr_encoder *base) { return ((const lsa_enc *)base)->V; }

int pr_text_lsa_term_index(const pr_encoder *base, const char *term) {
    const lsa_enc *e = (const lsa_enc *)base;
    return e->vocab ? pr_idmap_get(e->vocab, term) : -1;
}

int pr_text_lsa_weights(const pr_encoder *base, const char *text, float *x, pr_error *err) {
    const lsa_enc *e = (const lsa_enc *)base;
    if (!e->fitted) return pr_err(err, PR_E_STATE, "text-lsa: not fitted");
    bag g;
    memset(&g, 0, sizeof g);
    int m = bag_of(e, text, &g);
    if (m < 0) {
        bag_free(&g);
        return pr_err(err, m, "text-lsa: %s", pr_err_name(m));
    }
    memset(x, 0, sizeof *x * (size_t)e->V);
    for (int i = 0; i < m; i++) x[g.cols[i]] = g.w[i];
    bag_free(&g);
    return 0;
}

const float *pr_text_lsa_singular_values(const pr_encoder *base, int *k) {
    const lsa_enc *e = (const lsa_enc *)base;
    *k = e->k;
    return e->sv;
}

const pr_encoder_ops pr_text_lsa_ops = {
    .name = "text-lsa",
    .modality = PR_MOD_TEXT,
    .help = "TF-IDF or BM25 bag of words reduced by LSA (randomized SVD); args dim=128, "
            "weight=tfidf|bm25, min_df=1, max_df=1.0, max_features=0, stop=1, bigrams=0",
    .create = lsa_create,
    .fit = lsa_fit,
    .dim = lsa_dim,
    .encode = lsa_encode,
    .save = lsa_save,
    .load = lsa_load,
    .free = lsa_free,
};
