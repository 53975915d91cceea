/* features/preproc.c: fitted normalisation / PCA pipelines and compact
 * storage (see preproc.h for the steps and their formulas).
 *
 * Invariant: a fitted step i maps d_in(i) -> d_out(i) and d_in(i + 1) ==
 * d_out(i). fit() copies the fitting rows once (n_rows x d_in floats) and
 * pushes them through each step after fitting it, with the same row function
 * that apply() uses, so later steps are fitted on exactly what they will see. */
#include "preproc.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mat.h"
#include "core/npy.h"
#include "features/svd.h"

#define PP_MAX_STEPS 8
#define PP_VERSION 1
#define PP_STD_EPS 1e-12 /* a column with std below this is only centred */

enum { STEP_L2 = 1, STEP_CENTER = 2, STEP_ZSCORE = 3, STEP_PCA = 4 };

typedef struct {
    int kind, d_in, d_out;
    int k_req;                /* pca: requested K */
    float *mean;              /* (d_in) center, zscore, pca */
    float *std;               /* (d_in) zscore */
    float *W;                 /* (d_in, d_out) pca */
    float *var;               /* (d_out) pca explained variance */
} pp_step;

struct pr_preproc {
    char spec[256];
    int d_in, n_steps, fitted;
    uint64_t seed;
    pp_step st[PP_MAX_STEPS];
};

/* ------------------------------------------------------------------ */
/* construction                                                         */

static int parse_step(const char *tok, pp_step *s, pr_error *err) {
    if (strcmp(tok, "l2") == 0) s->kind = STEP_L2;
    else if (strcmp(tok, "center") == 0) s->kind = STEP_CENTER;
    else if (strcmp(tok, "zscore") == 0) s->kind = STEP_ZSCORE;
    else if (strncmp(tok, "pca=", 4) == 0) {
        char *end;
        long k = strtol(tok + 4, &end, 10);
        if (end == tok + 4 || *end || k < 1 || k > 65536)
            return pr_err(err, PR_E_ARG, "preproc: step '%s': K must be an integer in [1, 65536]", tok);
        s->kind = STEP_PCA;
        s->k_req = (int)k;
    } else {
        return pr_err(err, PR_E_ARG,
                      "preproc: unknown step '%s' (expected l2, center, zscore or pca=K)", tok);
    }
    return 0;
}

/* Dimensions through the chain; PCA's output is its requested (or fitted) K. */
static void chain_dims(pr_preproc *p) {
    int d = p->d_in;
    for (int i = 0; i < p->n_steps; i++) {
        pp_step *s = &p->st[i];
        s->d_in = d;
        if (s->kind != STEP_PCA) s->d_out = d;
        else if (!p->fitted) s->d_out = s->k_req;
        d = s->d_out;
    }
}

int pr_preproc_new(const char *spec, int d_in, uint64_t seed, pr_preproc **out, pr_error *err) {
    if (d_in < 1) return pr_err(err, PR_E_ARG, "preproc: input dimension %d", d_in);
    if (!spec) spec = "";
    if (strlen(spec) >= sizeof((pr_preproc *)0)->spec)
        return pr_err(err, PR_E_ARG, "preproc: spec too long");
    pr_preproc *p = pr_calloc(1, sizeof *p);
    if (!p) return pr_err(err, PR_E_NOMEM, "preproc");
    strcpy(p->spec, spec);
    p->d_in = d_in;
    p->seed = seed;
    char tok[64];
    int rc = 0;
    for (const char *s = spec; *s;) {
        while (*s == ',' || isspace((unsigned char)*s)) s++;
        if (!*s) break;
        size_t n = 0;
        while (s[n] && s[n] != ',') n++;
        size_t m = n;
        while (m > 0 && isspace((unsigned char)s[m - 1])) m--;
        if (m >= sizeof tok) { rc = pr_err(err, PR_E_ARG, "preproc: step too long in '%s'", spec); break; }
        memcpy(tok, s, m);
        tok[m] = '\0';
        if (p->n_steps == PP_MAX_STEPS) { rc = pr_err(err, PR_E_ARG, "preproc: more than %d steps", PP_MAX_STEPS); break; }
        if ((rc = parse_step(tok, &p->st[p->n_steps++], err))) break;
        s += n;
    }
    if (rc) {
        pr_preproc_free(p);
        return rc;
    }
    chain_dims(p);
    *out = p;
    return 0;
}

static void step_clear(pp_step *s) {
    free(s->mean);
    free(s->std);
    free(s->W);
    free(s->var);
    s->mean = s->std = s->W = s->var = NULL;
}

void pr_preproc_free(pr_preproc *p) {
    if (!p) return;
    for (int i = 0; i < p->n_steps; i++) step_clear(&p->st[i]);
    free(p);
}

int pr_preproc_dim(const pr_preproc *p) { return p->n_steps ? p->st[p->n_steps - 1].d_out : p->d_in; }
int pr_preproc_d_in(const pr_preproc *p) { return p->d_in; }
int pr_preproc_fitted(const pr_preproc *p) { return p->fitted; }
const char *pr_preproc_spec(const pr_preproc *p) { return p->spec; }

static int max_dim(const pr_preproc *p) {
    int d = p->d_in;
    for (int i = 0; i < p->n_steps; i++) d = PR_MAX(d, p->st[i].d_out);
    return d;
}

/* ------------------------------------------------------------------ */
/* the row transform: one fixed order of operations                     */

static void step_row(const pp_step *s, const float *x, float *y) {
    int d = s->d_in;
    switch (s->kind) {
    case STEP_L2: {
        double ss = 0.0;
        for (int j = 0; j < d; j++) ss += (double)x[j] * x[j];
        float nrm = (float)sqrt(ss);
        for (int j = 0; j < d; j++) y[j] = nrm > 0.0f ? x[j] / nrm : 0.0f;
        break;
    }
    case STEP_CENTER:
        for (int j = 0; j < d; j++) y[j] = x[j] - s->mean[j];
        break;
    case STEP_ZSCORE:
        for (int j = 0; j < d; j++) y[j] = (x[j] - s->mean[j]) / s->std[j];
        break;
    case STEP_PCA: { /* y (k) = (x - mean) (d) . W (d, k) */
        int k = s->d_out;
        memset(y, 0, sizeof *y * (size_t)k);
        for (int j = 0; j < d; j++) pr_axpy(x[j] - s->mean[j], s->W + (int64_t)j * k, y, k);
        break;
    }
    }
}

/* Steps [0, upto) on one row; scratch holds 2 * max_dim floats. */
static void pipe_row(const pr_preproc *p, int upto, const float *x, float *out, float *scratch) {
    if (upto == 0) {
        memcpy(out, x, sizeof *x * (size_t)p->d_in);
        return;
    }
    int md = max_dim(p);
    const float *in = x;
    for (int i = 0; i < upto; i++) {
        float *dst = i == upto - 1 ? out : scratch + (i % 2) * md;
        step_row(&p->st[i], in, dst);
        in = dst;
    }
}

/* ------------------------------------------------------------------ */
/* fitting                                                              */

int pr_pca_fit(const float *X, int64_t n, int d, int k, uint64_t seed, pr_pool *pool,
               float *mean, float *W, float *var, double *total_var, pr_error *err) {
    if (n < 1 || d < 1 || k < 1 || k > PR_MIN(n, (int64_t)d))
        return pr_err(err, PR_E_ARG, "pca: K=%d with %lld rows of %d columns", k, (long long)n, d);
    double *acc = pr_calloc((size_t)d, sizeof *acc);
    float *C = pr_malloc((size_t)n * (size_t)d, sizeof *C); /* centred rows (n, d) */
    float *S = pr_malloc((size_t)k, sizeof *S);
    int rc = 0;
    if (!acc || !C || !S) { rc = pr_err(err, PR_E_NOMEM, "pca: %lld x %d", (long long)n, d); goto done; }
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) acc[j] += X[i * d + j];
    for (int j = 0; j < d; j++) mean[j] = (float)(acc[j] / (double)n);
    memset(acc, 0, sizeof *acc * (size_t)d);
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            float c = X[i * d + j] - mean[j];
            C[i * d + j] = c;
            acc[j] += (double)c * c;
        }
    double denom = n > 1 ? (double)(n - 1) : 1.0, tv = 0.0;
    for (int j = 0; j < d; j++) tv += acc[j] / denom;
    if (total_var) *total_var = tv;
    pr_linop op;
    pr_linop_dense(&op, C, n, d);
    pr_rsvd_opts o = {k, 10, 3, seed};
    if ((rc = pr_rsvd(&op, &o, pool, NULL, S, W, err))) goto done;
    for (int j = 0; j < k; j++) var[j] = (float)((double)S[j] * S[j] / denom);
done:
    free(acc);
    free(C);
    free(S);
    return rc;
}

static int fit_step(pr_preproc *p, pp_step *s, const float *A, int64_t n, pr_pool *pool,
                    pr_error *err) {
    int d = s->d_in;
    if (s->kind == STEP_L2) return 0;
    if (!(s->mean = pr_calloc((size_t)d, sizeof *s->mean))) return pr_err(err, PR_E_NOMEM, "preproc");
    if (s->kind == STEP_CENTER || s->kind == STEP_ZSCORE) {
        double *m = pr_calloc((size_t)d, sizeof *m), *v = pr_calloc((size_t)d, sizeof *v);
        if (!m || !v || (s->kind == STEP_ZSCORE && !(s->std = pr_malloc((size_t)d, sizeof *s->std)))) {
            free(m);
            free(v);
            return pr_err(err, PR_E_NOMEM, "preproc");
        }
        for (int64_t i = 0; i < n; i++)
            for (int j = 0; j < d; j++) m[j] += A[i * d + j];
        for (int j = 0; j < d; j++) m[j] /= (double)n;
        for (int64_t i = 0; i < n; i++)
            for (int j = 0; j < d; j++) v[j] += (A[i * d + j] - m[j]) * (A[i * d + j] - m[j]);
        for (int j = 0; j < d; j++) {
            s->mean[j] = (float)m[j];
            double sd = sqrt(v[j] / (double)n);
            if (s->std) s->std[j] = sd > PP_STD_EPS ? (float)sd : 1.0f;
        }
        free(m);
        free(v);
        return 0;
    }
    /* PCA */
    int k = (int)PR_MIN((int64_t)s->k_req, PR_MIN(n, (int64_t)d));
    if (k < s->k_req)
        pr_log("preproc: pca=%d clamped to %d (%lld fitting rows, %d columns)", s->k_req, k,
               (long long)n, d);
    s->d_out = k;
    s->W = pr_malloc((size_t)d * (size_t)k, sizeof *s->W);
    s->var = pr_malloc((size_t)k, sizeof *s->var);
    if (!s->W || !s->var) return pr_err(err, PR_E_NOMEM, "preproc: pca %d x %d", d, k);
    return pr_pca_fit(A, n, d, k, p->seed, pool, s->mean, s->W, s->var, NULL, err);
}

int pr_preproc_fit(pr_preproc *p, const float *X, int64_t n, const int32_t *rows,
                   int64_t n_rows, pr_pool *pool, pr_error *err) {
    if (!rows) n_rows = n;
    if (n_rows < 1) return pr_err(err, PR_E_ARG, "preproc: no rows to fit on");
    for (int i = 0; i < p->n_steps; i++) step_clear(&p->st[i]);
    p->fitted = 0;
    chain_dims(p);
    int d = p->d_in, md = max_dim(p), rc = 0;
    float *A = pr_malloc((size_t)n_rows * (size_t)md, sizeof *A); /* (n_rows, current d) */
    float *B = pr_malloc((size_t)n_rows * (size_t)md, sizeof *B);
    if (!A || !B) { rc = pr_err(err, PR_E_NOMEM, "preproc: %lld rows", (long long)n_rows); goto done; }
    for (int64_t i = 0; i < n_rows; i++) {
        int64_t r = rows ? rows[i] : i;
        if (r < 0 || r >= n) { rc = pr_err(err, PR_E_ARG, "preproc: row index %lld outside [0, %lld)", (long long)r, (long long)n); goto done; }
        for (int j = 0; j < d; j++) {
            float v = X[r * d + j];
            if (!isfinite(v)) { rc = pr_err(err, PR_E_NUMERIC, "preproc: row %lld column %d is not finite", (long long)r, j); goto done; }
            A[i * d + j] = v;
        }
    }
    for (int i = 0; i < p->n_steps; i++) {
        pp_step *s = &p->st[i];
        s->d_in = d;
        if (s->kind != STEP_PCA) s->d_out = d;
        if ((rc = fit_step(p, s, A, n_rows, pool, err))) goto done; /* PCA sets d_out */
        if (i + 1 < p->n_steps) { /* feed the next step what it will see at apply time */
            for (int64_t r = 0; r < n_rows; r++) step_row(s, A + r * s->d_in, B + r * s->d_out);
            float *t = A;
            A = B;
            B = t;
        }
        d = s->d_out;
    }
    p->fitted = 1;
    chain_dims(p);
done:
    free(A);
    free(B);
    if (rc)
        for (int i = 0; i < p->n_steps; i++) step_clear(&p->st[i]);
    return rc;
}

int pr_preproc_fit_modality(pr_preproc *p, const pr_modality *m, const int32_t *items,
                            int64_t n_items, pr_pool *pool, pr_error *err) {
    if (m->dim != p->d_in)
        return pr_err(err, PR_E_ARG, "preproc: modality '%s' has dim %d, pipeline expects %d",
                      m->name, m->dim, p->d_in);
    int64_t n = items ? n_items : m->n_items, k = 0;
    int32_t *rows = pr_malloc((size_t)(n ? n : 1), sizeof *rows);
    if (!rows) return pr_err(err, PR_E_NOMEM, "preproc");
    for (int64_t i = 0; i < n; i++) {
        int32_t r = items ? items[i] : (int32_t)i;
        if (r < 0 || r >= m->n_items) {
            free(rows);
            return pr_err(err, PR_E_ARG, "preproc: item %d outside modality '%s'", r, m->name);
        }
        if (!m->missing || !m->missing[r]) rows[k++] = r;
    }
    int rc = pr_preproc_fit(p, m->X, m->n_items, rows, k, pool, err);
    free(rows);
    return rc;
}

/* ------------------------------------------------------------------ */
/* applying                                                             */

typedef struct {
    const pr_preproc *p;
    const float *X;
    const uint8_t *missing;
    float *out;
    int64_t n;
    int failed;
} apply_job;

static void apply_rows(void *ctx, int ith, int nth) {
    apply_job *J = ctx;
    const pr_preproc *p = J->p;
    int64_t r0, r1;
    pr_split(J->n, ith, nth, &r0, &r1);
    if (r0 >= r1) return;
    int dout = pr_preproc_dim(p);
    float *scratch = pr_malloc(2 * (size_t)max_dim(p), sizeof *scratch);
    if (!scratch) {
        J->failed = 1; /* each thread writes the same value: benign */
        return;
    }
    for (int64_t r = r0; r < r1; r++) {
        float *y = J->out + r * dout;
        if (J->missing && J->missing[r]) memset(y, 0, sizeof *y * (size_t)dout);
        else pipe_row(p, p->n_steps, J->X + r * p->d_in, y, scratch);
    }
    free(scratch);
}

int pr_preproc_apply(const pr_preproc *p, const float *X, int64_t n, const uint8_t *missing,
                     float *out, pr_pool *pool, pr_error *err) {
    if (!p->fitted && p->n_steps > 0) return pr_err(err, PR_E_STATE, "preproc: apply before fit");
    apply_job J = {p, X, missing, out, n, 0};
    pr_pool_run(n >= 256 ? pool : NULL, apply_rows, &J);
    if (J.failed) return pr_err(err, PR_E_NOMEM, "preproc: apply");
    return 0;
}

int pr_preproc_apply_modality(const pr_preproc *p, pr_modality *m, pr_pool *pool, pr_error *err) {
    if (m->dim != p->d_in)
        return pr_err(err, PR_E_ARG, "preproc: modality '%s' has dim %d, pipeline expects %d",
                      m->name, m->dim, p->d_in);
    int dout = pr_preproc_dim(p);
    float *Y = pr_malloc((size_t)m->n_items * (size_t)dout, sizeof *Y);
    if (!Y) return pr_err(err, PR_E_NOMEM, "preproc: modality '%s'", m->name);
    int rc = pr_preproc_apply(p, m->X, m->n_items, m->missing, Y, pool, err);
    if (rc) {
        free(Y);
        return rc;
    }
    free(m->X);
    m->X = Y;
    m->dim = dout;
    return 0;
}

/* ------------------------------------------------------------------ */
/* save / load                                                          */

int pr_preproc_save(const pr_preproc *p, pr_buf *b) {
    pr_buf_put_u32(b, PP_VERSION);
    pr_buf_put_str(b, p->spec);
    pr_buf_put_u32(b, (uint32_t)p->d_in);
    pr_buf_put_i64(b, (int64_t)p->seed);
    pr_buf_put_u32(b, (uint32_t)p->fitted);
    for (int i = 0; i < p->n_steps; i++) {
        const pp_step *s = &p->st[i];
        pr_buf_put_u32(b, (uint32_t)s->kind);
        pr_buf_put_u32(b, (uint32_t)s->d_out);
        pr_buf_put_f32s(b, s->mean, s->mean ? s->d_in : 0);
        pr_buf_put_f32s(b, s->std, s->std ? s->d_in : 0);
        pr_buf_put_f32s(b, s->W, s->W ? (int64_t)s->d_in * s->d_out : 0);
        pr_buf_put_f32s(b, s->var, s->var ? s->d_out : 0);
    }
    return b->oom ? PR_E_NOMEM : 0;
}

static int load_arr(pr_cur *c, float **x, int64_t want, const char *name, pr_error *err) {
    int64_t n = 0;
    int rc = pr_cur_get_f32s(c, x, &n, err);
    if (rc) return rc;
    if (n != want) return pr_err(err, PR_E_FORMAT, "%s: preproc %s has %lld values, expected %lld", c->what, name, (long long)n, (long long)want);
    if (n == 0) {
        free(*x);
        *x = NULL;
    }
    return 0;
}

int pr_preproc_load(pr_preproc **out, pr_cur *c, pr_error *err) {
    uint32_t ver = 0, d_in = 0, fitted = 0;
    int64_t seed = 0;
    char *spec = NULL;
    pr_preproc *p = NULL;
    int rc;
    if ((rc = pr_cur_get_u32(c, &ver, err))) goto done;
    if (ver != PP_VERSION) { rc = pr_err(err, PR_E_FORMAT, "%s: preproc version %u", c->what, ver); goto done; }
    if ((rc = pr_cur_get_str(c, &spec, 255, err)) || (rc = pr_cur_get_u32(c, &d_in, err)) ||
        (rc = pr_cur_get_i64(c, &seed, err)) || (rc = pr_cur_get_u32(c, &fitted, err)))
        goto done;
    if (d_in < 1 || d_in > (1u << 24) || fitted > 1) { rc = pr_err(err, PR_E_FORMAT, "%s: preproc header is corrupt", c->what); goto done; }
    if ((rc = pr_preproc_new(spec, (int)d_in, (uint64_t)seed, &p, err))) {
        pr_err_wrap(err, "%s: ", c->what);
        rc = PR_E_FORMAT;
        goto done;
    }
    int d = (int)d_in;
    for (int i = 0; i < p->n_steps; i++) {
        pp_step *s = &p->st[i];
        uint32_t kind = 0, d_out = 0;
        if ((rc = pr_cur_get_u32(c, &kind, err)) || (rc = pr_cur_get_u32(c, &d_out, err))) goto done;
        int ok = (int)kind == s->kind && d_out >= 1 && d_out <= (1u << 24) &&
                 (s->kind == STEP_PCA ? (int)d_out <= PR_MIN(d, s->k_req) : (int)d_out == d);
        if (!ok) { rc = pr_err(err, PR_E_FORMAT, "%s: preproc step %d does not match its spec", c->what, i); goto done; }
        s->d_in = d;
        s->d_out = (int)d_out;
        int fit = fitted && s->kind != STEP_L2;
        if ((rc = load_arr(c, &s->mean, fit ? d : 0, "mean", err)) ||
            (rc = load_arr(c, &s->std, fit && s->kind == STEP_ZSCORE ? d : 0, "std", err)) ||
            (rc = load_arr(c, &s->W, fit && s->kind == STEP_PCA ? (int64_t)d * s->d_out : 0, "basis", err)) ||
            (rc = load_arr(c, &s->var, fit && s->kind == STEP_PCA ? s->d_out : 0, "variance", err)))
            goto done;
        d = s->d_out;
    }
    p->fitted = (int)fitted;
    *out = p;
    p = NULL;
done:
    free(spec);
    pr_preproc_free(p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* compact storage                                                      */

size_t pr_compact_bytes_per_item(int kind, int d) {
    switch (kind) {
    case PR_STORE_F16: return 2 * (size_t)d;
    case PR_STORE_I8: return (size_t)d + sizeof(float);
    default: return 4 * (size_t)d;
    }
}

int pr_compact_kind(const char *name) {
    if (strcmp(name, "f32") == 0 || strcmp(name, "float32") == 0) return PR_STORE_F32;
    if (strcmp(name, "f16") == 0 || strcmp(name, "float16") == 0) return PR_STORE_F16;
    if (strcmp(name, "int8") == 0 || strcmp(name, "i8") == 0) return PR_STORE_I8;
    return -1;
}

void pr_compact_free(pr_compact *c) {
    free(c->f32);
    free(c->f16);
    free(c->q);
    free(c->scale);
    memset(c, 0, sizeof *c);
}

static void quantize_row(const float *x, int d, int8_t *q, float *scale) {
    float mx = 0.0f;
    for (int j = 0; j < d; j++) mx = PR_MAX(mx, fabsf(x[j]));
    float s = mx / 127.0f;
    *scale = s;
    for (int j = 0; j < d; j++) {
        long v = s > 0.0f ? lrintf(x[j] / s) : 0;
        q[j] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
}

int pr_compact_encode(const float *X, int64_t n, int d, int kind, pr_compact *c, pr_error *err) {
    memset(c, 0, sizeof *c);
    if (kind < PR_STORE_F32 || kind > PR_STORE_I8 || d < 1 || n < 0)
        return pr_err(err, PR_E_ARG, "compact: kind %d, shape (%lld, %d)", kind, (long long)n, d);
    for (int64_t i = 0; i < n * d; i++)
        if (!isfinite(X[i]))
            return pr_err(err, PR_E_NUMERIC, "compact: row %lld column %d is not finite",
                          (long long)(i / d), (int)(i % d));
    size_t nd = (size_t)n * (size_t)d;
    c->kind = kind;
    c->n = n;
    c->d = d;
    if (kind == PR_STORE_F32) {
        if (!(c->f32 = pr_malloc(nd, sizeof *c->f32))) goto oom;
        memcpy(c->f32, X, nd * sizeof *X);
    } else if (kind == PR_STORE_F16) {
        if (!(c->f16 = pr_malloc(nd, sizeof *c->f16))) goto oom;
        for (size_t i = 0; i < nd; i++) c->f16[i] = pr_f32_to_f16(X[i]);
    } else {
        if (!(c->q = pr_malloc(nd, 1)) || !(c->scale = pr_malloc((size_t)n, sizeof *c->scale))) goto oom;
        for (int64_t i = 0; i < n; i++) quantize_row(X + i * d, d, c->q + i * d, &c->scale[i]);
    }
    return 0;
oom:
    pr_compact_free(c);
    return pr_err(err, PR_E_NOMEM, "compact: (%lld, %d)", (long long)n, d);
}

void pr_compact_row(const pr_compact *c, int64_t i, float *out) {
    int d = c->d;
    if (c->kind == PR_STORE_F32) memcpy(out, c->f32 + i * d, sizeof *out * (size_t)d);
    else if (c->kind == PR_STORE_F16)
        for (int j = 0; j < d; j++) out[j] = pr_f16_to_f32(c->f16[i * d + j]);
    else
        for (int j = 0; j < d; j++) out[j] = (float)c->q[i * d + j] * c->scale[i];
}

void pr_compact_decode(const pr_compact *c, float *X) {
    for (int64_t i = 0; i < c->n; i++) pr_compact_row(c, i, X + i * c->d);
}

int pr_compact_save(const pr_compact *c, pr_buf *b) {
    size_t nd = (size_t)c->n * (size_t)c->d;
    pr_buf_put_u32(b, (uint32_t)c->kind);
    pr_buf_put_i64(b, c->n);
    pr_buf_put_u32(b, (uint32_t)c->d);
    if (c->kind == PR_STORE_F32) pr_buf_put(b, c->f32, nd * sizeof *c->f32);
    else if (c->kind == PR_STORE_F16) pr_buf_put(b, c->f16, nd * sizeof *c->f16);
    else {
        pr_buf_put(b, c->scale, (size_t)c->n * sizeof *c->scale);
        pr_buf_put(b, c->q, nd);
    }
    return b->oom ? PR_E_NOMEM : 0;
}

int pr_compact_load(pr_compact *c, pr_cur *cur, pr_error *err) {
    uint32_t kind = 0, d = 0;
    int64_t n = 0;
    int rc;
    memset(c, 0, sizeof *c);
    if ((rc = pr_cur_get_u32(cur, &kind, err)) || (rc = pr_cur_get_i64(cur, &n, err)) ||
        (rc = pr_cur_get_u32(cur, &d, err)))
        return rc;
    if (kind > PR_STORE_I8 || d < 1 || d > (1u << 24) || n < 0 ||
        (uint64_t)n > pr_cur_left(cur) / pr_compact_bytes_per_item((int)kind, (int)d))
        return pr_err(err, PR_E_FORMAT, "%s: compact matrix header is corrupt or truncated", cur->what);
    size_t nd = (size_t)n * d;
    c->kind = (int)kind;
    c->n = n;
    c->d = (int)d;
    if (kind == PR_STORE_F32) {
        if (!(c->f32 = pr_malloc(nd, sizeof *c->f32))) goto oom;
        rc = pr_cur_get(cur, c->f32, nd * sizeof *c->f32, err);
    } else if (kind == PR_STORE_F16) {
        if (!(c->f16 = pr_malloc(nd, sizeof *c->f16))) goto oom;
        rc = pr_cur_get(cur, c->f16, nd * sizeof *c->f16, err);
    } else {
        if (!(c->scale = pr_malloc((size_t)n, sizeof *c->scale)) || !(c->q = pr_malloc(nd, 1))) goto oom;
        if (!(rc = pr_cur_get(cur, c->scale, (size_t)n * sizeof *c->scale, err)))
            rc = pr_cur_get(cur, c->q, nd, err);
    }
    if (rc) pr_compact_free(c);
    return rc;
oom:
    pr_compact_free(c);
    return pr_err(err, PR_E_NOMEM, "%s: compact (%lld, %u)", cur->what, (long long)n, d);
}
