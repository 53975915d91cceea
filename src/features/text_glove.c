/* features/text_glove.c: SIF / TF-IDF pooling of GloVe vectors (see
 * text_glove.h). State after fit: V words (byte order) with a weight and a
 * d-dim vector each, and optionally the principal component u (d). */
#include "text_glove.h"

#include <errno.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mat.h"
#include "features/tokenize.h"

#define GLOVE_VERSION 1
#define GLOVE_MAX_DIM 4096
#define GLOVE_MAX_VOCAB 10000000

enum { GW_SIF = 0, GW_TFIDF = 1 };

typedef struct {
    pr_encoder base;
    /* settings */
    char *vectors;   /* path, only needed to fit */
    int weight, pc;  /* pc: -1 = by weight (sif 1, tfidf 0) */
    float a;
    pr_tok_opts tok;
    /* fitted */
    int fitted, d, V, has_pc;
    char **word;     /* (V) */
    pr_idmap *vocab; /* word -> row */
    float *wt;       /* (V) */
    float *vec;      /* (V, d) */
    float *u;        /* (d) or NULL */
} glove_enc;

static void glove_clear_fit(glove_enc *e) {
    for (int i = 0; e->word && i < e->V; i++) free(e->word[i]);
    free(e->word);
    pr_idmap_free(e->vocab);
    free(e->wt);
    free(e->vec);
    free(e->u);
    e->word = NULL, e->vocab = NULL, e->wt = e->vec = e->u = NULL;
    e->V = e->d = e->has_pc = e->fitted = 0;
}

static void glove_free(pr_encoder *base) {
    glove_enc *e = (glove_enc *)base;
    if (!e) return;
    glove_clear_fit(e);
    free(e->vectors);
    free(e);
}

static glove_enc *glove_new(void) {
    glove_enc *e = pr_calloc(1, sizeof *e);
    if (!e) return NULL;
    e->base.ops = &pr_text_glove_ops;
    e->weight = GW_SIF;
    e->pc = -1;
    e->a = 1e-3f;
    e->tok.min_len = 1;
    return e;
}

static int glove_set(glove_enc *e, const char *key, const char *val, pr_error *err) {
    int rc = pr_tok_opt_set(&e->tok, key, val, err);
    if (rc != 0) return rc < 0 ? rc : 0;
    if (strcmp(key, "vectors") == 0) {
        free(e->vectors);
        return (e->vectors = pr_strdup(val)) ? 0 : pr_err(err, PR_E_NOMEM, "text-glove");
    }
    if (strcmp(key, "weight") == 0) {
        if (strcmp(val, "sif") == 0) e->weight = GW_SIF;
        else if (strcmp(val, "tfidf") == 0) e->weight = GW_TFIDF;
        else return pr_err(err, PR_E_ARG, "text-glove: weight=%s: expected sif or tfidf", val);
        return 0;
    }
    if (strcmp(key, "pc") == 0) {
        if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
            return pr_err(err, PR_E_ARG, "text-glove: pc=%s: expected 0 or 1", val);
        e->pc = val[0] == '1';
        return 0;
    }
    if (strcmp(key, "a") == 0) {
        char *end;
        double v = strtod(val, &end);
        if (end == val || *end || !(v > 0 && v <= 1))
            return pr_err(err, PR_E_ARG, "text-glove: a=%s: expected a number in (0, 1]", val);
        e->a = (float)v;
        return 0;
    }
    return pr_err(err, PR_E_ARG, "text-glove: unknown argument '%s' (vectors, weight, a, pc, "
                  "stop, bigrams, num, min_len)", key);
}

static int glove_create(pr_encoder **out, const char *args, pr_error *err) {
    glove_enc *e = glove_new();
    if (!e) return pr_err(err, PR_E_NOMEM, "text-glove");
    char key[64], val[1024];
    int rc;
    while ((rc = pr_encoder_args_next(&args, "text-glove", key, sizeof key, val, sizeof val, err)) > 0)
        if ((rc = glove_set(e, key, val, err))) break;
    if (rc == 0 && !e->vectors)
        rc = pr_err(err, PR_E_ARG, "text-glove: needs vectors=PATH (a GloVe text file)");
    if (rc < 0) {
        glove_free(&e->base);
        return rc;
    }
    *out = &e->base;
    return 0;
}

/* ------------------------------------------------------------------ */
/* reading the vectors file                                             */

/* Fill found[t] (row in vec, or -1) for catalogue tokens t from the file. */
static int read_vectors(glove_enc *e, const pr_term_stats *st, int32_t *found, float **vec_out,
                        int *d_out, int32_t *n_found, pr_error *err) {
    const char *path = e->vectors;
    FILE *f = fopen(path, "rb");
    if (!f) return pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int64_t lineno = 0;
    int d = -1, rc = 0;
    int32_t nf = 0, cap = 0;
    float *vec = NULL, *tmp = NULL;
    pr_tokens tk;
    pr_tokens_init(&tk);
    pr_tok_opts wo = {PR_TOK_NUM_KEEP, 0, 0, 1, e->tok.stem, PR_TOK_HYPHEN_JOIN}; /* "t-shirt" in the file */
    for (int32_t t = 0; t < st->terms->n; t++) found[t] = -1;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = '\0';
        if (len == 0) continue;
        char *sp = strchr(line, ' ');
        if (!sp) { rc = pr_err(err, PR_E_PARSE, "%s:%lld: expected `word v1 ... vN`", path, (long long)lineno); goto done; }
        *sp = '\0';
        int32_t t = -1;
        if ((rc = pr_tokenize(line, &wo, &tk))) { rc = pr_err(err, rc, "%s", path); goto done; }
        if (tk.n == 1) t = pr_idmap_find(st->terms, pr_token(&tk, 0), pr_token_len(&tk, 0));
        if (d >= 0 && (t < 0 || found[t] >= 0)) continue; /* not needed (or seen): skip the numbers */
        /* parse the values: the first line always, to learn d */
        int n = 0;
        char *p = sp + 1;
        for (;;) {
            while (*p == ' ') p++;
            if (!*p) break;
            char *end;
            float v = strtof(p, &end);
            if (end == p || (*end && *end != ' ') || !isfinite(v)) {
                rc = pr_err(err, PR_E_PARSE, "%s:%lld: value %d of '%s': not a finite number", path, (long long)lineno, n + 1, line);
                goto done;
            }
            if (n >= GLOVE_MAX_DIM) { rc = pr_err(err, PR_E_RANGE, "%s:%lld: more than %d values", path, (long long)lineno, GLOVE_MAX_DIM); goto done; }
            if (!tmp && !(tmp = pr_malloc(GLOVE_MAX_DIM, sizeof *tmp))) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
            tmp[n++] = v;
            p = end;
        }
        if (d < 0) {
            if (n < 1) { rc = pr_err(err, PR_E_PARSE, "%s:%lld: no values", path, (long long)lineno); goto done; }
            d = n;
        } else if (n != d) {
            rc = pr_err(err, PR_E_PARSE, "%s:%lld: '%s' has %d values, expected %d", path, (long long)lineno, line, n, d);
            goto done;
        }
        if (t < 0 || found[t] >= 0) continue;
        if (nf == cap) {
            cap = cap ? 2 * cap : 1024;
            float *nv = pr_realloc(vec, (size_t)cap * (size_t)d, sizeof *nv);
            if (!nv) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
            vec = nv;
        }
        memcpy(vec + (int64_t)nf * d, tmp, sizeof *vec * (size_t)d);
        found[t] = nf++;
    }
    if (ferror(f)) { rc = pr_err(err, PR_E_IO, "%s: read failed", path); goto done; }
    if (d < 0) { rc = pr_err(err, PR_E_PARSE, "%s: no vectors", path); goto done; }
    *vec_out = vec;
    vec = NULL;
    *d_out = d;
    *n_found = nf;
done:
    fclose(f);
    free(line);
    free(vec);
    free(tmp);
    pr_tokens_free(&tk);
    return rc;
}

/* ------------------------------------------------------------------ */
/* pooling, shared by fit and encode                                    */

/* v (d) = mean over known tokens of wt * vec; returns the known count. */
static int pool_tokens(const glove_enc *e, const pr_tokens *tk, float *v) {
    memset(v, 0, sizeof *v * (size_t)e->d);
    int known = 0;
    for (int i = 0; i < tk->n; i++) {
        int32_t w = pr_idmap_find(e->vocab, pr_token(tk, i), pr_token_len(tk, i));
        if (w < 0) continue;
        pr_axpy(e->wt[w], e->vec + (int64_t)w * e->d, v, e->d);
        known++;
    }
    for (int j = 0; known && j < e->d; j++) v[j] /= (float)known;
    return known;
}

static void finish(const glove_enc *e, float *v) {
    if (e->has_pc) {
        float p = pr_dot(e->u, v, e->d);
        pr_axpy(-p, e->u, v, e->d);
    }
    double ss = 0.0;
    for (int j = 0; j < e->d; j++) ss += (double)v[j] * v[j];
    float nrm = (float)sqrt(ss);
    for (int j = 0; j < e->d && nrm > 0.0f; j++) v[j] /= nrm;
}

/* u = top eigenvector of X^T X over the texts' pooled vectors X (n, d). */
static int fit_pc(glove_enc *e, const char *const *texts, int64_t n, pr_error *err) {
    int d = e->d, rc = 0;
    float *X = pr_malloc((size_t)(n ? n : 1) * (size_t)d, sizeof *X);
    float *G = pr_malloc((size_t)d * (size_t)d, sizeof *G), *w = pr_malloc((size_t)d, sizeof *w);
    pr_tokens tk;
    pr_tokens_init(&tk);
    if (!X || !G || !w || !(e->u = pr_malloc((size_t)d, sizeof *e->u))) { rc = pr_err(err, PR_E_NOMEM, "text-glove: pc"); goto done; }
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if ((rc = pr_tokenize(texts[i], &e->tok, &tk))) { rc = pr_err(err, rc, "text-glove: tokenize"); goto done; }
        if (pool_tokens(e, &tk, X + m * d) > 0) m++;
    }
    /* G (d, d) = X^T (d, m) . X (m, d) */
    pr_gemm(PR_TRANS, PR_NOTRANS, d, d, (int)m, 1.0f, X, d, X, d, 0.0f, G, d);
    lapack_int info = LAPACKE_ssyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, G, d, w);
    if (info != 0) { rc = pr_err(err, PR_E_NUMERIC, "text-glove: pc: LAPACK ssyevd info %d", (int)info); goto done; }
    int arg = 0;
    for (int j = 0; j < d; j++) { /* eigenvalues ascending: the last column */
        e->u[j] = G[j * d + d - 1];
        if (fabsf(e->u[j]) > fabsf(e->u[arg])) arg = j;
    }
    if (e->u[arg] < 0)
        for (int j = 0; j < d; j++) e->u[j] = -e->u[j];
    e->has_pc = m > 0;
done:
    free(X);
    free(G);
    free(w);
    pr_tokens_free(&tk);
    return rc;
}

/* ------------------------------------------------------------------ */
/* fit                                                                  */

typedef struct {
    const char *s;
    int32_t t;
} word_ref;

static int cmp_word(const void *a, const void *b) { return strcmp(((const word_ref *)a)->s, ((const word_ref *)b)->s); }

static int glove_fit(pr_encoder *base, const char *const *inputs, int64_t n, pr_pool *pool,
                     pr_error *err) {
    glove_enc *e = (glove_enc *)base;
    if (e->fitted) return pr_err(err, PR_E_STATE, "text-glove: already fitted");
    if (!e->vectors) return pr_err(err, PR_E_ARG, "text-glove: needs vectors=PATH to fit");
    pr_term_stats st;
    memset(&st, 0, sizeof st);
    const char **texts = pr_malloc((size_t)(n ? n : 1), sizeof *texts);
    int32_t *found = NULL, nf = 0;
    float *fvec = NULL;
    word_ref *refs = NULL;
    int rc = 0, d = 0;
    int64_t nd = 0;
    if (!texts) return pr_err(err, PR_E_NOMEM, "text-glove");
    for (int64_t i = 0; i < n; i++)
        if (inputs[i]) texts[nd++] = inputs[i];
    if ((rc = pr_term_stats_build(texts, nd, &e->tok, pool, &st, err))) goto done;
    if (!(found = pr_malloc((size_t)(st.terms->n ? st.terms->n : 1), sizeof *found))) { rc = pr_err(err, PR_E_NOMEM, "text-glove"); goto done; }
    if ((rc = read_vectors(e, &st, found, &fvec, &d, &nf, err))) goto done;
    if (nf == 0) {
        rc = pr_err(err, PR_E_ARG, "text-glove: none of the %d distinct catalogue tokens has a vector in %s",
                    st.terms->n, e->vectors);
        goto done;
    }
    /* saved words in byte order */
    if (!(refs = pr_malloc((size_t)nf, sizeof *refs))) { rc = pr_err(err, PR_E_NOMEM, "text-glove"); goto done; }
    int32_t k = 0;
    for (int32_t t = 0; t < st.terms->n; t++)
        if (found[t] >= 0) refs[k++] = (word_ref){pr_idmap_name(st.terms, t), t};
    qsort(refs, (size_t)nf, sizeof *refs, cmp_word);
    e->d = d;
    e->word = pr_calloc((size_t)nf, sizeof *e->word);
    e->wt = pr_malloc((size_t)nf, sizeof *e->wt);
    e->vec = pr_malloc((size_t)nf * (size_t)d, sizeof *e->vec);
    e->vocab = pr_idmap_new();
    if (!e->word || !e->wt || !e->vec || !e->vocab) { rc = pr_err(err, PR_E_NOMEM, "text-glove"); goto done; }
    e->V = nf;
    double N = (double)st.n_docs, T = (double)(st.n_tokens ? st.n_tokens : 1);
    for (int32_t w = 0; w < nf; w++) {
        int32_t t = refs[w].t;
        if (!(e->word[w] = pr_strdup(refs[w].s)) || pr_idmap_add(e->vocab, refs[w].s, strlen(refs[w].s)) != w) {
            rc = pr_err(err, PR_E_NOMEM, "text-glove");
            goto done;
        }
        e->wt[w] = e->weight == GW_SIF ? (float)(e->a / (e->a + (double)st.cf[t] / T))
                                       : (float)(log((1.0 + N) / (1.0 + (double)st.df[t])) + 1.0);
        memcpy(e->vec + (int64_t)w * d, fvec + (int64_t)found[t] * d, sizeof *e->vec * (size_t)d);
    }
    int pc = e->pc >= 0 ? e->pc : e->weight == GW_SIF;
    if (pc && (rc = fit_pc(e, texts, nd, err))) goto done;
    pr_log("text-glove: %d of %d catalogue tokens have vectors (d %d) in %s%s", nf, st.terms->n, d,
           e->vectors, e->has_pc ? "; first principal component removed" : "");
    e->fitted = 1;
done:
    if (rc) glove_clear_fit(e);
    pr_term_stats_free(&st);
    free(texts);
    free(found);
    free(fvec);
    free(refs);
    return rc;
}

/* ------------------------------------------------------------------ */
/* encode / save / load                                                 */

static int glove_dim(const pr_encoder *base) { return ((const glove_enc *)base)->d; }

static int glove_encode(const pr_encoder *base, const char *text, float *out, pr_error *err) {
    const glove_enc *e = (const glove_enc *)base;
    if (!e->fitted) return pr_err(err, PR_E_STATE, "text-glove: encode before fit");
    pr_tokens tk;
    pr_tokens_init(&tk);
    int rc = pr_tokenize(text, &e->tok, &tk);
    if (rc == 0 && pool_tokens(e, &tk, out) > 0) finish(e, out);
    pr_tokens_free(&tk);
    return rc ? pr_err(err, rc, "text-glove: %s", pr_err_name(rc)) : 0;
}

static int glove_save(const pr_encoder *base, pr_buf *b) {
    const glove_enc *e = (const glove_enc *)base;
    pr_buf_put_u32(b, GLOVE_VERSION);
    uint32_t ints[] = {(uint32_t)e->weight, (uint32_t)(e->pc + 1), (uint32_t)e->fitted};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) pr_buf_put_u32(b, ints[i]);
    pr_tok_opts_save(&e->tok, b);
    pr_buf_put_f32(b, e->a);
    pr_buf_put_str(b, e->vectors ? e->vectors : "");
    if (e->fitted) {
        pr_buf_put_u32(b, (uint32_t)e->d);
        pr_buf_put_u32(b, (uint32_t)e->V);
        for (int i = 0; i < e->V; i++) pr_buf_put_str(b, e->word[i]);
        pr_buf_put_f32s(b, e->wt, e->V);
        pr_buf_put_f32s(b, e->vec, (int64_t)e->V * e->d);
        pr_buf_put_f32s(b, e->u, e->has_pc ? e->d : 0);
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

static int glove_load(pr_encoder **out, pr_cur *c, pr_error *err) {
    glove_enc *e = glove_new();
    if (!e) return pr_err(err, PR_E_NOMEM, "%s", c->what);
    uint32_t ver = 0, v[3];
    int rc;
    if ((rc = pr_cur_get_u32(c, &ver, err))) goto done;
    if (ver != GLOVE_VERSION) { rc = pr_err(err, PR_E_FORMAT, "%s: version %u", c->what, ver); goto done; }
    for (int i = 0; i < 3; i++)
        if ((rc = pr_cur_get_u32(c, &v[i], err))) goto done;
    if ((rc = pr_tok_opts_load(&e->tok, c, err))) goto done;
    if ((rc = pr_cur_get_f32(c, &e->a, err)) || (rc = pr_cur_get_str(c, &e->vectors, 4096, err))) goto done;
    if (v[0] > GW_TFIDF || v[1] > 2 || v[2] > 1 || !(e->a > 0)) {
        rc = pr_err(err, PR_E_FORMAT, "%s: settings are corrupt", c->what);
        goto done;
    }
    e->weight = (int)v[0], e->pc = (int)v[1] - 1;
    if (v[2]) {
        uint32_t d = 0, V = 0;
        if ((rc = pr_cur_get_u32(c, &d, err)) || (rc = pr_cur_get_u32(c, &V, err))) goto done;
        if (d < 1 || d > GLOVE_MAX_DIM || V < 1 || V > GLOVE_MAX_VOCAB || V > pr_cur_left(c) / 4) {
            rc = pr_err(err, PR_E_FORMAT, "%s: %u words of dim %u: corrupt", c->what, V, d);
            goto done;
        }
        if (!(e->word = pr_calloc(V, sizeof *e->word)) || !(e->vocab = pr_idmap_new())) { rc = pr_err(err, PR_E_NOMEM, "%s", c->what); goto done; }
        e->d = (int)d;
        e->V = (int)V;
        for (uint32_t i = 0; i < V; i++) {
            if ((rc = pr_cur_get_str(c, &e->word[i], 2 * PR_TOKEN_MAX + 1, err))) goto done;
            if (pr_idmap_add(e->vocab, e->word[i], strlen(e->word[i])) != (int32_t)i) {
                rc = pr_err(err, PR_E_FORMAT, "%s: word %u ('%s') repeated or invalid", c->what, i, e->word[i]);
                goto done;
            }
        }
        int64_t nu = 0;
        if ((rc = get_arr(c, &e->wt, V, "weights", err)) || (rc = get_arr(c, &e->vec, (int64_t)V * d, "vectors", err)) ||
            (rc = pr_cur_get_f32s(c, &e->u, &nu, err)))
            goto done;
        if (nu != 0 && nu != (int64_t)d) { rc = pr_err(err, PR_E_FORMAT, "%s: principal component has %lld values", c->what, (long long)nu); goto done; }
        e->has_pc = nu == (int64_t)d;
        if (!e->has_pc) {
            free(e->u);
            e->u = NULL;
        }
        e->fitted = 1;
    }
    *out = &e->base;
    e = NULL;
done:
    if (e) glove_free(&e->base);
    return rc;
}

int pr_text_glove_vocab_size(const pr_encoder *base) { return ((const glove_enc *)base)->V; }

float pr_text_glove_weight(const pr_encoder *base, const char *word) {
    const glove_enc *e = (const glove_enc *)base;
    int32_t w = e->vocab ? pr_idmap_get(e->vocab, word) : -1;
    return w >= 0 ? e->wt[w] : NAN;
}

const pr_encoder_ops pr_text_glove_ops = {
    .name = "text-glove",
    .modality = PR_MOD_TEXT,
    .help = "SIF or TF-IDF weighted mean of pretrained GloVe word vectors (only the catalogue's "
            "words are saved); args vectors=PATH, weight=sif|tfidf, a=0.001, pc=0|1",
    .create = glove_create,
    .fit = glove_fit,
    .dim = glove_dim,
    .encode = glove_encode,
    .save = glove_save,
    .load = glove_load,
    .free = glove_free,
};
