/* models/content.c: shared machinery of the content models (see content.h). */
#include "content.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"

/* ---- the feature view ---------------------------------------------------- */

int pr_content_init(pr_content *c, const pr_features *f, int32_t n_items, const char *who,
                    pr_error *err) {
    memset(c, 0, sizeof *c);
    if (!f || f->n_mod < 1) return pr_err(err, PR_E_ARG, "%s needs item features", who);
    if (f->n_mod > PR_MAX_MODALITIES)
        return pr_err(err, PR_E_ARG, "%s: %d modalities (at most %d)", who, f->n_mod, PR_MAX_MODALITIES);
    c->n_items = n_items;
    for (int m = 0; m < f->n_mod; m++) {
        const pr_modality *x = &f->mod[m];
        if (x->n_items != n_items)
            return pr_err(err, PR_E_ARG, "%s: modality '%s' has %d rows, the dataset %d items", who,
                          x->name, x->n_items, n_items);
        if (x->dim < 1 || !x->X)
            return pr_err(err, PR_E_ARG, "%s: modality '%s' has no values (dim %d)", who, x->name, x->dim);
        if (c->D > (1 << 24) - x->dim)
            return pr_err(err, PR_E_RANGE, "%s: features wider than 2^24 in all", who);
        c->dim[m] = x->dim;
        c->off[m] = c->D;
        c->D += x->dim;
        c->X[m] = x->X;
        c->missing[m] = x->missing;
        memcpy(c->name[m], x->name, sizeof c->name[m]);
        c->name[m][sizeof c->name[m] - 1] = 0;
    }
    c->n_mod = f->n_mod;
    return 0;
}

void pr_content_gather(const pr_content *c, const int32_t *items, int64_t n, const uint8_t *keep,
                       float *X, int64_t ldx) {
    int M = c->n_mod;
    for (int64_t r = 0; r < n; r++) {
        float *row = X + r * ldx;
        for (int m = 0; m < M; m++) {
            size_t bytes = (size_t)c->dim[m] * sizeof *row;
            if (keep && !keep[r * (M + 1) + 1 + m]) memset(row + c->off[m], 0, bytes);
            else memcpy(row + c->off[m], c->X[m] + (int64_t)items[r] * c->dim[m], bytes);
        }
    }
}

void pr_content_gather_diff(const pr_content *c, const int32_t *a, const int32_t *b, int64_t n,
                            const uint8_t *keep_a, const uint8_t *keep_b, float *X, int64_t ldx) {
    int M = c->n_mod;
    for (int64_t r = 0; r < n; r++) {
        float *row = X + r * ldx;
        for (int m = 0; m < M; m++) {
            int dm = c->dim[m];
            int ka = !keep_a || keep_a[r * (M + 1) + 1 + m], kb = !keep_b || keep_b[r * (M + 1) + 1 + m];
            const float *xa = c->X[m] + (int64_t)a[r] * dm, *xb = c->X[m] + (int64_t)b[r] * dm;
            float *o = row + c->off[m];
            if (ka && kb)
                for (int k = 0; k < dm; k++) o[k] = xa[k] - xb[k];
            else if (ka)
                memcpy(o, xa, (size_t)dm * sizeof *o);
            else if (kb)
                for (int k = 0; k < dm; k++) o[k] = -xb[k];
            else
                memset(o, 0, (size_t)dm * sizeof *o);
        }
    }
}

/* ---- distinct items of a batch ------------------------------------------- */

int pr_batch_items_init(pr_batch_items *u, int32_t n_items, int cap) {
    memset(u, 0, sizeof *u);
    u->n_items = n_items;
    u->cap = cap;
    u->items = pr_malloc((size_t)cap * 2, sizeof *u->items);
    u->pos = pr_malloc((size_t)cap, sizeof *u->pos);
    u->neg = pr_malloc((size_t)cap, sizeof *u->neg);
    u->slot = pr_malloc((size_t)n_items, sizeof *u->slot);
    u->mark = pr_calloc((size_t)n_items, sizeof *u->mark);
    if (!u->items || !u->pos || !u->neg || !u->slot || !u->mark) {
        pr_batch_items_deinit(u);
        return PR_E_NOMEM;
    }
    return 0;
}

void pr_batch_items_deinit(pr_batch_items *u) {
    free(u->items);
    free(u->pos);
    free(u->neg);
    free(u->slot);
    free(u->mark);
    memset(u, 0, sizeof *u);
}

static inline int32_t batch_item_slot(pr_batch_items *u, int32_t item) {
    if (u->mark[item] != u->stamp) {
        u->mark[item] = u->stamp;
        u->slot[item] = u->n;
        u->items[u->n++] = item;
    }
    return u->slot[item];
}

void pr_batch_items_build(pr_batch_items *u, const pr_batch *bt) {
    if (++u->stamp == 0) { /* wrapped: clear once every 2^32 batches */
        memset(u->mark, 0, (size_t)u->n_items * sizeof *u->mark);
        u->stamp = 1;
    }
    u->n = 0;
    for (int s = 0; s < bt->B; s++) {
        u->pos[s] = batch_item_slot(u, bt->i[s]);
        u->neg[s] = batch_item_slot(u, bt->j[(int64_t)s * bt->n_neg]);
    }
}

/* ---- modality dropout ---------------------------------------------------- */

static inline uint64_t mix64(uint64_t x) { /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Uniform [0, 1) for part `part` of `item` at `step`: a counter-based draw. */
static inline float drop_u01(uint64_t seed, int64_t step, int32_t item, int part) {
    uint64_t h = mix64(seed ^ mix64((uint64_t)step * 0x9e3779b97f4a7c15ULL + (uint64_t)(uint32_t)item));
    h = mix64(h + (uint64_t)part * 0xd1b54a32d192ed03ULL);
    return (float)(h >> 40) * (1.0f / 16777216.0f);
}

void pr_moddrop_draw(const pr_moddrop *d, const pr_content *c, const int32_t *items, int64_t n,
                     int64_t step, uint8_t *keep) {
    int M = c->n_mod, on = d && pr_moddrop_on(d);
    for (int64_t r = 0; r < n; r++) {
        uint8_t *k = keep + r * (M + 1);
        int32_t it = items[r];
        k[0] = !on || d->p_id <= 0 || drop_u01(d->seed, step, it, 0) >= d->p_id;
        int any = k[0];
        for (int m = 0; m < M; m++) {
            int present = pr_content_has(c, m, it);
            k[1 + m] = present && (!on || d->p_mod <= 0 || drop_u01(d->seed, step, it, 1 + m) >= d->p_mod);
            any |= k[1 + m];
        }
        if (!any) k[0] = 1;
    }
}

/* ---- threaded GEMM ------------------------------------------------------- */

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

static void gemm_slice(void *ctx, int ith, int nth) {
    const gemm_job *J = ctx;
    /* blocks of 16 rows keep BLAS's micro-kernels on full tiles */
    int64_t blocks = (J->M + 15) / 16, b0, b1;
    pr_split(blocks, ith, nth, &b0, &b1);
    int64_t r0 = b0 * 16, r1 = PR_MIN(b1 * 16, (int64_t)J->M);
    if (r1 <= r0) return;
    const float *A = J->ta ? J->A + r0 : J->A + r0 * J->lda;
    pr_gemm(J->ta, J->tb, (int)(r1 - r0), J->N, J->K, J->alpha, A, J->lda, J->B, J->ldb, J->beta,
            J->C + r0 * J->ldc, J->ldc);
}

void pr_par_gemm(pr_pool *pool, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_job J = {ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C};
    if (!pool || pr_pool_size(pool) == 1 || M < 32) {
        gemm_slice(&J, 0, 1);
        return;
    }
    pr_pool_run(pool, gemm_slice, &J);
}

/* ---- dense weights ------------------------------------------------------- */

int pr_dense_init(pr_dense *w, float *W, int32_t rows, int cols, int opt_kind) {
    memset(w, 0, sizeof *w);
    int rc = pr_embed_init(&w->e, W, rows, cols, opt_kind);
    if (!rc) rc = pr_rowgrad_init(&w->g, rows, cols, rows, 0);
    if (rc) {
        pr_dense_deinit(w);
        return rc;
    }
    for (int32_t r = 0; r < rows; r++) w->g.row[r] = r;
    w->g.n = rows;
    memset(w->g.g, 0, (size_t)rows * cols * sizeof *w->g.g);
    return 0;
}

void pr_dense_deinit(pr_dense *w) {
    pr_embed_deinit(&w->e);
    pr_rowgrad_deinit(&w->g);
}

void pr_dense_step(pr_dense *w, const pr_optim *o, pr_pool *pool) {
    w->g.n = w->e.n;
    pr_embed_step(&w->e, &w->g, o, pool);
}

/* ---- initialisation ------------------------------------------------------ */

void pr_init_xavier_normal(float *W, int64_t n, int64_t fan_in, int64_t fan_out, pr_rng *r) {
    float std = sqrtf(2.0f / (float)(fan_in + fan_out));
    for (int64_t k = 0; k < n; k++) W[k] = std * pr_rng_normal(r);
}

/* ---- keys ---------------------------------------------------------------- */

int pr_key_int(const pr_config *c, const char *who, const char *key, long dflt, long lo, long hi,
               int *out, pr_error *err) {
    const char *s = pr_config_s(c, key, NULL);
    long v = dflt;
    if (s) {
        char *end;
        errno = 0;
        v = strtol(s, &end, 10);
        if (end == s || *end || errno) v = lo - 1;
    }
    if (v < lo || v > hi)
        return pr_err(err, PR_E_ARG, "%s: %s='%s' is not an integer in [%ld, %ld]", who, key,
                      s ? s : "", lo, hi);
    *out = (int)v;
    return 0;
}

int pr_key_float(const pr_config *c, const char *who, const char *key, double dflt, double lo,
                 double hi, float *out, pr_error *err) {
    const char *s = pr_config_s(c, key, NULL);
    double v = dflt;
    if (s) {
        char *end;
        v = strtod(s, &end);
        if (end == s || *end) v = NAN;
    }
    if (!(v >= lo && v <= hi))
        return pr_err(err, PR_E_ARG, "%s: %s='%s' is not a number in [%g, %g]", who, key, s ? s : "",
                      lo, hi);
    *out = (float)v;
    return 0;
}

int pr_key_choice(const pr_config *c, const char *who, const char *key, const char *const *names,
                  int *out, pr_error *err) {
    const char *s = pr_config_s(c, key, names[0]);
    for (int k = 0; names[k]; k++)
        if (!strcmp(s, names[k])) {
            *out = k;
            return 0;
        }
    char list[256] = "";
    size_t len = 0;
    for (int k = 0; names[k] && len < sizeof list; k++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "", names[k]);
    return pr_err(err, PR_E_ARG, "%s: %s='%s' is not one of %s", who, key, s, list);
}

/* ---- towers -------------------------------------------------------------- */

void pr_tower_head_save(pr_buf *b, const char *model, int d, const pr_content *c) {
    pr_buf_put_u32(b, PR_TOWER_MAGIC);
    pr_buf_put_u32(b, PR_TOWER_VERSION);
    pr_buf_put_str(b, model);
    pr_buf_put_u32(b, (uint32_t)d);
    pr_buf_put_u32(b, (uint32_t)c->n_mod);
    for (int m = 0; m < c->n_mod; m++) {
        pr_buf_put_str(b, c->name[m]);
        pr_buf_put_u32(b, (uint32_t)c->dim[m]);
    }
}

int pr_tower_head_load(pr_tower *t, pr_cur *cur, const char *model, pr_error *err) {
    uint32_t magic, version, d, n_mod, dim;
    char *name = NULL;
    int rc;
    if ((rc = pr_cur_get_u32(cur, &magic, err)) || (rc = pr_cur_get_u32(cur, &version, err))) return rc;
    if (magic != PR_TOWER_MAGIC || version != PR_TOWER_VERSION)
        return pr_err(err, PR_E_FORMAT, "%s: not a tower blob (magic %08x, version %u)", cur->what,
                      magic, version);
    if ((rc = pr_cur_get_str(cur, &name, 32, err))) return rc;
    int same = strcmp(name, model) == 0;
    if (!same) rc = pr_err(err, PR_E_FORMAT, "%s: tower of model '%s', expected '%s'", cur->what, name, model);
    free(name);
    if (rc) return rc;
    if ((rc = pr_cur_get_u32(cur, &d, err)) || (rc = pr_cur_get_u32(cur, &n_mod, err))) return rc;
    if (d < 1 || d > 65536 || n_mod < 1 || n_mod > PR_MAX_MODALITIES)
        return pr_err(err, PR_E_FORMAT, "%s: tower d=%u with %u modalities", cur->what, d, n_mod);
    t->d = (int)d;
    t->n_mod = (int)n_mod;
    for (int m = 0; m < t->n_mod; m++) {
        if ((rc = pr_cur_get_str(cur, &name, sizeof t->names[m] - 1, err))) return rc;
        snprintf(t->names[m], sizeof t->names[m], "%s", name);
        free(name);
        if ((rc = pr_cur_get_u32(cur, &dim, err))) return rc;
        if (dim < 1 || dim > (1u << 24))
            return pr_err(err, PR_E_FORMAT, "%s: modality '%s' width %u", cur->what, t->names[m], dim);
        t->dims[m] = (int)dim;
    }
    return 0;
}

int pr_tower_check_input(const pr_tower *t, const float *const *x, pr_error *err) {
    for (int m = 0; m < t->n_mod; m++) {
        if (!x[m]) continue;
        for (int k = 0; k < t->dims[m]; k++)
            if (!isfinite(x[m][k]))
                return pr_err(err, PR_E_NUMERIC, "%s tower: modality '%s' value %d is not finite",
                              t->ops ? t->ops->name : "item", t->names[m], k);
    }
    return 0;
}

int pr_cur_get_f32s_n(pr_cur *c, float **x, int64_t n, const char *what, pr_error *err) {
    int64_t got;
    *x = NULL;
    int rc = pr_cur_get_f32s(c, x, &got, err);
    if (rc) return rc;
    if (got != n) {
        free(*x);
        *x = NULL;
        return pr_err(err, PR_E_FORMAT, "%s: %s has %lld values, expected %lld", c->what, what,
                      (long long)got, (long long)n);
    }
    return 0;
}
