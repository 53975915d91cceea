/* nn/param.c: the flat parameter layout (see param.h).
 *
 * Blob format of pr_params_save (little-endian, core/buf.h widths):
 *   u32 magic "PRPM" | u32 version (1) | u32 n_tensors |
 *   n_tensors x { str name | i64 rows | i64 cols | f32s values (i64 count + floats) }
 * Loading matches tensors by name, so reordering declarations in a model does
 * not break old files, while any change of shape does (PR_E_FORMAT). */
#include "param.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARAM_MAGIC 0x4d505250u /* "PRPM" */
#define PARAM_VERSION 1u
#define PARAM_MAX_ELEMS ((int64_t)1 << 40) /* 4 TiB of floats: a typo, not a model */

void pr_params_init(pr_params *p) {
    memset(p, 0, sizeof *p);
    p->dense_lo = p->dense_hi = 0;
}

void pr_params_deinit(pr_params *p) {
    free(p->t);
    pr_free_aligned(p->w);
    pr_free_aligned(p->g);
    pr_params_init(p);
}

/* Record the first add error; later ones keep the first message. */
static int64_t add_fail(pr_params *p, int code, const char *name, const char *why) {
    if (!p->first_err.code) pr_err(&p->first_err, code, "params: tensor '%s': %s", name, why);
    return code;
}

int pr_params_fail(pr_params *p, int code, const char *fmt, ...) {
    if (p->first_err.code) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->first_err.msg, sizeof p->first_err.msg, fmt, ap);
    va_end(ap);
    p->first_err.code = code;
    return code;
}

int64_t pr_params_add_ex(pr_params *p, const char *name, int64_t rows, int64_t cols, int flags) {
    if (!name) name = "";
    if (p->w) return add_fail(p, PR_E_STATE, name, "added after pr_params_alloc");
    size_t len = strlen(name);
    if (len == 0 || len >= PR_PARAM_NAME_MAX)
        return add_fail(p, PR_E_ARG, name, "name empty or too long");
    if (rows < 1 || cols < 1 || rows > PARAM_MAX_ELEMS / cols)
        return add_fail(p, PR_E_ARG, name, "shape must be (rows >= 1, cols >= 1) and not huge");
    if (pr_params_find(p, name)) return add_fail(p, PR_E_ARG, name, "duplicate name");
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        pr_param *t = pr_realloc(p->t, (size_t)cap, sizeof *t);
        if (!t) return add_fail(p, PR_E_NOMEM, name, "out of memory");
        p->t = t;
        p->cap = cap;
    }
    int64_t off = (p->n_params + PR_PARAM_ALIGN - 1) / PR_PARAM_ALIGN * PR_PARAM_ALIGN;
    if (off > PARAM_MAX_ELEMS - rows * cols)
        return add_fail(p, PR_E_RANGE, name, "parameter block too large");
    pr_param *t = &p->t[p->n++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, len + 1);
    t->rows = rows;
    t->cols = cols;
    t->off = off;
    t->flags = flags;
    p->n_params = off + rows * cols;
    if (!(flags & PR_PARAM_SPARSE)) {
        if (p->dense_lo == p->dense_hi) p->dense_lo = off; /* first dense tensor */
        p->dense_hi = p->n_params;
    }
    return off;
}

int64_t pr_params_add(pr_params *p, const char *name, int64_t rows, int64_t cols) {
    return pr_params_add_ex(p, name, rows, cols, 0);
}

int pr_params_alloc(pr_params *p, pr_error *err) {
    if (p->first_err.code) {
        if (err) *err = p->first_err;
        return p->first_err.code;
    }
    if (p->w) return pr_err(err, PR_E_STATE, "params: already allocated");
    size_t n = p->n_params > 0 ? (size_t)p->n_params : 1;
    p->w = pr_alloc_aligned(n, sizeof(float));
    p->g = pr_alloc_aligned(n, sizeof(float));
    if (!p->w || !p->g) {
        pr_free_aligned(p->w);
        pr_free_aligned(p->g);
        p->w = p->g = NULL;
        return pr_err(err, PR_E_NOMEM, "params: %lld floats", (long long)p->n_params);
    }
    memset(p->w, 0, n * sizeof(float));
    memset(p->g, 0, n * sizeof(float));
    return 0;
}

const pr_param *pr_params_find(const pr_params *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->t[i].name, name) == 0) return &p->t[i];
    return NULL;
}

/* Offsets increase with declaration order: binary search. */
const pr_param *pr_params_at(const pr_params *p, int64_t idx) {
    int lo = 0, hi = p->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const pr_param *t = &p->t[mid];
        if (idx < t->off)
            hi = mid - 1;
        else if (idx >= t->off + pr_param_size(t))
            lo = mid + 1;
        else
            return t;
    }
    return NULL;
}

static const pr_param *at_offset(const pr_params *p, int64_t off) {
    const pr_param *t = pr_params_at(p, off);
    assert(t && t->off == off && "offset is not the start of a tensor");
    return t;
}

void pr_params_zero_grad(pr_params *p) {
    if (!p->g) return;
    for (int i = 0; i < p->n; i++)
        if (!(p->t[i].flags & PR_PARAM_SPARSE))
            memset(p->g + p->t[i].off, 0, (size_t)pr_param_size(&p->t[i]) * sizeof(float));
}

double pr_params_grad_norm(const pr_params *p) {
    double s = 0.0;
    for (int i = 0; i < p->n; i++) {
        if (p->t[i].flags & PR_PARAM_SPARSE) continue;
        const float *g = p->g + p->t[i].off;
        for (int64_t k = 0, n = pr_param_size(&p->t[i]); k < n; k++) s += (double)g[k] * g[k];
    }
    return sqrt(s);
}

/* ---- initialisers ---------------------------------------------------------- */

void pr_init_uniform(float *w, int64_t n, float lo, float hi, pr_rng *r) {
    for (int64_t i = 0; i < n; i++) w[i] = lo + (hi - lo) * pr_rng_float(r);
}

void pr_init_normal(float *w, int64_t n, float std, pr_rng *r) {
    for (int64_t i = 0; i < n; i++) w[i] = std * pr_rng_normal(r);
}

void pr_init_xavier(float *w, int64_t n, int64_t fan_in, int64_t fan_out, pr_rng *r) {
    float a = (float)sqrt(6.0 / (double)(fan_in + fan_out));
    pr_init_uniform(w, n, -a, a, r);
}

void pr_params_xavier(pr_params *p, int64_t off, pr_rng *r) {
    const pr_param *t = at_offset(p, off);
    pr_init_xavier(p->w + off, pr_param_size(t), t->cols, t->rows, r);
}

void pr_params_normal(pr_params *p, int64_t off, float std, pr_rng *r) {
    const pr_param *t = at_offset(p, off);
    pr_init_normal(p->w + off, pr_param_size(t), std, r);
}

void pr_params_zeros(pr_params *p, int64_t off) {
    const pr_param *t = at_offset(p, off);
    memset(p->w + off, 0, (size_t)pr_param_size(t) * sizeof(float));
}

/* ---- save / load ----------------------------------------------------------- */

int pr_params_save(const pr_params *p, pr_buf *b) {
    pr_buf_put_u32(b, PARAM_MAGIC);
    pr_buf_put_u32(b, PARAM_VERSION);
    pr_buf_put_u32(b, (uint32_t)p->n);
    for (int i = 0; i < p->n; i++) {
        const pr_param *t = &p->t[i];
        pr_buf_put_str(b, t->name);
        pr_buf_put_i64(b, t->rows);
        pr_buf_put_i64(b, t->cols);
        pr_buf_put_f32s(b, p->w + t->off, pr_param_size(t));
    }
    return b->oom ? PR_E_NOMEM : 0;
}

/* One tensor header of the blob: name into buf, shape, value count; leaves
 * the cursor at the values. */
static int read_header(pr_cur *c, char *name, int64_t *rows, int64_t *cols, int64_t *count,
                       pr_error *err) {
    uint32_t len = 0;
    int rc = pr_cur_get_u32(c, &len, err);
    if (rc) return rc;
    if (len == 0 || len >= PR_PARAM_NAME_MAX)
        return pr_err(err, PR_E_FORMAT, "%s: tensor name of %u bytes", c->what, len);
    if ((rc = pr_cur_get(c, name, len, err))) return rc;
    name[len] = '\0';
    if ((rc = pr_cur_get_i64(c, rows, err)) || (rc = pr_cur_get_i64(c, cols, err)) ||
        (rc = pr_cur_get_i64(c, count, err))) {
        if (err) pr_err_wrap(err, "tensor '%s': ", name);
        return rc;
    }
    return 0;
}

/* Pass 1: every tensor known, shaped as declared, present once, values in
 * bounds. seen (n) is scratch. */
static int validate_blob(const pr_params *p, pr_cur c, uint8_t *seen, pr_error *err) {
    uint32_t magic = 0, version = 0, n = 0;
    int rc;
    if ((rc = pr_cur_get_u32(&c, &magic, err)) || (rc = pr_cur_get_u32(&c, &version, err)) ||
        (rc = pr_cur_get_u32(&c, &n, err)))
        return rc;
    if (magic != PARAM_MAGIC) return pr_err(err, PR_E_FORMAT, "%s: not a parameter blob", c.what);
    if (version != PARAM_VERSION)
        return pr_err(err, PR_E_FORMAT, "%s: parameter blob version %u (expected %u)", c.what,
                      version, PARAM_VERSION);
    if (n != (uint32_t)p->n)
        return pr_err(err, PR_E_FORMAT, "%s: %u tensors in blob, %d expected", c.what, n, p->n);
    for (uint32_t i = 0; i < n; i++) {
        char name[PR_PARAM_NAME_MAX];
        int64_t rows, cols, count;
        if ((rc = read_header(&c, name, &rows, &cols, &count, err))) return rc;
        const pr_param *t = pr_params_find(p, name);
        if (!t) return pr_err(err, PR_E_FORMAT, "%s: unknown tensor '%s'", c.what, name);
        int k = (int)(t - p->t);
        if (seen[k]) return pr_err(err, PR_E_FORMAT, "%s: tensor '%s' twice", c.what, name);
        seen[k] = 1;
        if (rows != t->rows || cols != t->cols || count != rows * cols)
            return pr_err(err, PR_E_FORMAT,
                          "%s: tensor '%s': shape (%lld, %lld) with %lld values in blob, "
                          "(%lld, %lld) expected",
                          c.what, name, (long long)rows, (long long)cols, (long long)count,
                          (long long)t->rows, (long long)t->cols);
        if (pr_cur_left(&c) / sizeof(float) < (size_t)count)
            return pr_err(err, PR_E_FORMAT, "%s: tensor '%s': values truncated", c.what, name);
        c.p += (size_t)count * sizeof(float);
    }
    return 0;
}

int pr_params_load(pr_params *p, pr_cur *c, pr_error *err) {
    int rc = 0;
    uint8_t *seen = NULL;
    if (!p->w) return pr_err(err, PR_E_STATE, "params: load before alloc");
    if (!(seen = pr_calloc((size_t)p->n, 1))) {
        rc = pr_err(err, PR_E_NOMEM, "params: load");
        goto done;
    }
    if ((rc = validate_blob(p, *c, seen, err))) goto done;
    /* Pass 2 cannot fail: the blob is known good. */
    c->p += 3 * sizeof(uint32_t);
    for (int i = 0; i < p->n; i++) {
        char name[PR_PARAM_NAME_MAX];
        int64_t rows, cols, count;
        read_header(c, name, &rows, &cols, &count, NULL);
        const pr_param *t = pr_params_find(p, name);
        pr_cur_get(c, p->w + t->off, (size_t)count * sizeof(float), NULL);
    }
done:
    free(seen);
    return rc;
}
