/* models/parts.c: item vectors split by part (see parts.h). */
#include "models/parts.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/mapper.h"

enum { PARTS_VERSION = 1 };

pr_parts *pr_parts_new(int32_t n_items, int d, int n_mod, const char (*mod_names)[32], int with_bias,
                       int flags) {
    if (n_items < 0 || d < 1 || n_mod < 0 || n_mod > PR_MAX_MODALITIES) return NULL;
    pr_parts *p = pr_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_items = n_items;
    p->d = d;
    p->flags = flags;
    p->n_parts = pr_parts_count(n_mod, flags);
    snprintf(p->names[0], sizeof p->names[0], "id");
    for (int m = 0; m < n_mod; m++) snprintf(p->names[1 + m], sizeof p->names[1 + m], "%s", mod_names[m]);
    if (flags & PR_PARTS_BASE) snprintf(p->names[1 + n_mod], sizeof p->names[0], "base");
    size_t rows = (size_t)n_items * p->n_parts;
    p->P = pr_calloc(rows * d + 1, sizeof *p->P);
    p->pb = with_bias ? pr_calloc(rows + 1, sizeof *p->pb) : NULL;
    if (!p->P || (with_bias && !p->pb)) {
        pr_parts_free(p);
        return NULL;
    }
    return p;
}

void pr_parts_free(pr_parts *p) {
    if (!p) return;
    free(p->P);
    free(p->pb);
    free(p);
}

pr_parts *pr_parts_copy(const pr_parts *p) {
    pr_parts *q = pr_calloc(1, sizeof *q);
    if (!q) return NULL;
    *q = *p;
    size_t rows = (size_t)p->n_items * p->n_parts;
    q->P = pr_malloc(rows * p->d + 1, sizeof *q->P);
    q->pb = p->pb ? pr_malloc(rows + 1, sizeof *q->pb) : NULL;
    if (!q->P || (p->pb && !q->pb)) {
        pr_parts_free(q);
        return NULL;
    }
    memcpy(q->P, p->P, rows * p->d * sizeof *q->P);
    if (p->pb) memcpy(q->pb, p->pb, rows * sizeof *q->pb);
    return q;
}

int pr_parts_set_id(pr_snapshot *s, int n_mod, const char (*mod_names)[32], int flags, pr_error *err) {
    pr_parts *p = pr_parts_new(s->n_items, s->d, n_mod, mod_names, s->b != NULL, flags | PR_PARTS_ID);
    if (!p) return pr_err(err, PR_E_NOMEM, "item parts: %d items x %d", s->n_items, s->d);
    for (int32_t i = 0; i < s->n_items; i++) {
        memcpy(pr_parts_row(p, i), s->V + (int64_t)i * s->d, (size_t)s->d * sizeof *p->P);
        if (p->pb) p->pb[(int64_t)i * p->n_parts] = s->b[i];
    }
    pr_parts_free(s->parts);
    s->parts = p;
    return 0;
}

double pr_parts_error(const pr_parts *p, const float *V, const float *b) {
    double worst = 0;
    int P = p->n_parts, d = p->d;
    for (int32_t i = 0; i < p->n_items; i++) {
        const float *row = pr_parts_row(p, i), *v = V + (int64_t)i * d;
        for (int k = 0; k < d; k++) {
            double s = 0, a = fabs(v[k]) + 1e-3;
            for (int q = 0; q < P; q++) s += row[(int64_t)q * d + k], a += fabs(row[(int64_t)q * d + k]);
            worst = fmax(worst, fabs(s - v[k]) / a);
        }
        if (!p->pb || !b) continue;
        double s = 0, a = fabs(b[i]) + 1e-3;
        for (int q = 0; q < P; q++) s += p->pb[(int64_t)i * P + q], a += fabs(p->pb[(int64_t)i * P + q]);
        worst = fmax(worst, fabs(s - b[i]) / a);
    }
    return worst;
}

void pr_parts_split(int n_parts, int d, const float *P, const float *pb, const float *u, double *c) {
    for (int q = 0; q < n_parts; q++) {
        double s = pb ? pb[q] : 0.0;
        const float *h = P + (int64_t)q * d;
        for (int k = 0; k < d; k++) s += (double)u[k] * h[k];
        c[q] = s;
    }
}

/* ---- Shapley values ---------------------------------------------------------- */

int pr_shapley(int n, const float *F, int dim, float *phi) {
    if (n < 1 || n > PR_SHAPLEY_MAX) return PR_E_RANGE;
    double w[PR_SHAPLEY_MAX], acc;
    /* w[k] = k! (n - k - 1)! / n!, the weight of a coalition of k others */
    for (int k = 0; k < n; k++) {
        double v = 1.0 / n;
        for (int j = 1; j <= k; j++) v *= (double)j / (double)(n - j);
        w[k] = v;
    }
    int ns = 1 << n;
    for (int q = 0; q < n; q++) {
        int bit = 1 << q;
        for (int j = 0; j < dim; j++) {
            acc = 0;
            for (int s = 0; s < ns; s++) {
                if (s & bit) continue;
                int k = __builtin_popcount((unsigned)s);
                acc += w[k] * ((double)F[(int64_t)(s | bit) * dim + j] - (double)F[(int64_t)s * dim + j]);
            }
            phi[(int64_t)q * dim + j] = (float)acc;
        }
    }
    return 0;
}

/* ---- through a tower ---------------------------------------------------------- */

int pr_tower_parts_rows(const pr_tower *t, const pr_features *f, const uint8_t *which, pr_parts *p,
                        pr_error *err) {
    int np = pr_tower_n_parts(t);
    if (!t->ops->parts || np != p->n_parts || t->d != p->d)
        return pr_err(err, PR_E_STATE, "%s tower: %s parts (%d of width %d) for a split of %d parts of width %d",
                      t->ops->name, t->ops->parts ? "gives" : "gives no", np, t->d, p->n_parts, p->d);
    if (!f || f->n_mod != t->n_mod) return pr_err(err, PR_E_ARG, "item tower: expects %d modalities", t->n_mod);
    float pb[PR_MAX_PARTS];
    for (int32_t i = 0; i < p->n_items; i++) {
        if (!which[i]) continue;
        const float *x[PR_MAX_MODALITIES];
        float *row = pr_parts_row(p, i), *rb = p->pb ? p->pb + (int64_t)i * np : pb;
        if (pr_features_row(f, i, x) == 0) {
            memset(row, 0, (size_t)np * p->d * sizeof *row);
            memset(rb, 0, (size_t)np * sizeof *rb);
            continue;
        }
        int rc = t->ops->parts(t, x, row, rb, err);
        if (rc) return pr_err_wrap(err, "item %d: ", i);
    }
    p->flags |= t->part_flags & PR_PARTS_SHAPLEY;
    return 0;
}

/* ---- the section ------------------------------------------------------------- */

static void head_save(pr_buf *b, int32_t n_items, int n_parts, int d, int flags, int has_bias,
                      const char (*names)[32]) {
    pr_buf_put_u32(b, PARTS_VERSION);
    pr_buf_put_u32(b, (uint32_t)n_items);
    pr_buf_put_u32(b, (uint32_t)n_parts);
    pr_buf_put_u32(b, (uint32_t)d);
    pr_buf_put_u32(b, (uint32_t)flags);
    pr_buf_put_u32(b, (uint32_t)has_bias);
    for (int q = 0; q < n_parts; q++) pr_buf_put_str(b, names[q]);
    pr_buf_put_i64(b, (int64_t)n_items * (n_parts - 1) * (d + has_bias));
}

/* One item's stored row: parts 1.. vectors, then their biases (pb may be NULL). */
static void row_save(pr_buf *b, int n_parts, int d, const float *P, const float *pb, int has_bias) {
    pr_buf_put(b, P + d, (size_t)(n_parts - 1) * d * sizeof *P);
    for (int q = 1; q < n_parts && has_bias; q++) pr_buf_put_f32(b, pb ? pb[q] : 0.0f);
}

int pr_parts_save(const pr_parts *p, pr_buf *b) {
    int hb = p->pb != NULL;
    head_save(b, p->n_items, p->n_parts, p->d, p->flags, hb, (const char(*)[32])p->names);
    for (int32_t i = 0; i < p->n_items; i++)
        row_save(b, p->n_parts, p->d, pr_parts_row(p, i), hb ? p->pb + (int64_t)i * p->n_parts : NULL, hb);
    return b->oom ? PR_E_NOMEM : 0;
}

int pr_parts_view_parse(pr_parts_view *v, const void *data, size_t n, int32_t max_items, int d,
                        int has_bias, const char *what, pr_error *err) {
    pr_cur c;
    uint32_t ver, ni, np, pd, flags, hb;
    int64_t cnt;
    int rc;
    memset(v, 0, sizeof *v);
    pr_cur_init(&c, data, n, what);
    if ((rc = pr_cur_get_u32(&c, &ver, err)) || (rc = pr_cur_get_u32(&c, &ni, err)) ||
        (rc = pr_cur_get_u32(&c, &np, err)) || (rc = pr_cur_get_u32(&c, &pd, err)) ||
        (rc = pr_cur_get_u32(&c, &flags, err)) || (rc = pr_cur_get_u32(&c, &hb, err)))
        return rc;
    if (ver != PARTS_VERSION) return pr_err(err, PR_E_FORMAT, "%s: version %u (expected %d)", what, ver, PARTS_VERSION);
    if (ni > (uint32_t)max_items) return pr_err(err, PR_E_FORMAT, "%s: %u items, the model has %d", what, ni, max_items);
    if (np < 1 || np > PR_MAX_PARTS) return pr_err(err, PR_E_FORMAT, "%s: %u parts (1 to %d)", what, np, PR_MAX_PARTS);
    if (pd != (uint32_t)d) return pr_err(err, PR_E_FORMAT, "%s: parts of width %u, item vectors of width %d", what, pd, d);
    if (hb != (uint32_t)(has_bias != 0)) return pr_err(err, PR_E_FORMAT, "%s: has_bias %u, the model %s biases", what, hb, has_bias ? "has" : "has no");
    if (flags > (PR_PARTS_ID | PR_PARTS_BASE | PR_PARTS_SHAPLEY)) return pr_err(err, PR_E_FORMAT, "%s: unknown flags %#x", what, flags);
    v->n_items = (int32_t)ni;
    v->n_parts = (int)np;
    v->d = d;
    v->flags = (int)flags;
    v->has_bias = (int)hb;
    for (uint32_t q = 0; q < np; q++) {
        char *s = NULL;
        if ((rc = pr_cur_get_str(&c, &s, 31, err))) return rc;
        int empty = !*s;
        snprintf(v->names[q], sizeof v->names[q], "%s", s);
        free(s);
        if (empty) return pr_err(err, PR_E_FORMAT, "%s: part %u has no name", what, q);
    }
    v->row_floats = (int64_t)(np - 1) * (d + (int)hb);
    if ((rc = pr_cur_get_i64(&c, &cnt, err))) return rc;
    if (cnt != (int64_t)ni * v->row_floats || (uint64_t)pr_cur_left(&c) != (uint64_t)cnt * sizeof(float))
        return pr_err(err, PR_E_FORMAT, "%s: %lld values for %u items of %lld (%zu bytes left)", what, (long long)cnt,
                      ni, (long long)v->row_floats, pr_cur_left(&c));
    v->rows = (const uint8_t *)c.p;
    return 0;
}

/* x - sum_q y[q * stride] over n terms, in double; 0 when it is below the
 * rounding of the terms (a few float ulps of their magnitude). */
static float remainder_of(float x, const float *y, int stride, int n) {
    double s = x, a = fabs(x);
    for (int q = 0; q < n; q++) s -= y[(int64_t)q * stride], a += fabs(y[(int64_t)q * stride]);
    return fabs(s) <= 8.0 * FLT_EPSILON * a ? 0.0f : (float)s;
}

int pr_parts_view_item(const pr_parts_view *v, int32_t i, const float *V_row, float b, float *P,
                       float *pb) {
    if (i < 0 || i >= v->n_items) return PR_E_NOTFOUND;
    int np = v->n_parts, d = v->d;
    const uint8_t *row = v->rows + (size_t)i * v->row_floats * sizeof(float);
    memcpy(P + d, row, (size_t)(np - 1) * d * sizeof *P);
    for (int q = 0; q < np; q++) pb[q] = 0.0f;
    if (v->has_bias) memcpy(pb + 1, row + (size_t)(np - 1) * d * sizeof *P, (size_t)(np - 1) * sizeof *pb);
    /* part 0: what the others leave of V[i] and b[i] (an item without an
     * ID part, placed by a tower, leaves float rounding: that is 0) */
    for (int k = 0; k < d; k++) P[k] = remainder_of(V_row[k], P + d + k, d, np - 1);
    if (v->has_bias) pb[0] = remainder_of(b, pb + 1, 1, np - 1);
    return 0;
}

int pr_parts_view_append(const pr_parts_view *v, int n, const float *P, const float *pb, int flags,
                         pr_buf *b) {
    head_save(b, v->n_items + n, v->n_parts, v->d, v->flags | flags, v->has_bias, (const char(*)[32])v->names);
    pr_buf_put(b, v->rows, (size_t)v->n_items * v->row_floats * sizeof(float));
    for (int r = 0; r < n; r++)
        row_save(b, v->n_parts, v->d, P + (int64_t)r * v->n_parts * v->d, pb ? pb + (int64_t)r * v->n_parts : NULL,
                 v->has_bias);
    return b->oom ? PR_E_NOMEM : 0;
}
