/* nn/embedding.c: row-sparse gradient reduction and optimizer steps (see embedding.h). */
#include "embedding.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int pr_embed_opt_parse(const char *name, int *kind, pr_error *err) {
    if (strcmp(name, "sgd") == 0) *kind = PR_EMB_SGD;
    else if (strcmp(name, "adam") == 0) *kind = PR_EMB_ADAM;
    else if (strcmp(name, "adam-dense") == 0) *kind = PR_EMB_ADAM_DENSE;
    else return pr_err(err, PR_E_ARG, "optimizer '%s': expected sgd, adam or adam-dense", name);
    return 0;
}

void pr_embed_opt_init(pr_embed_opt *o, int kind, float lr) {
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = lr;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
}

int pr_rowgrad_init(pr_rowgrad *r, int32_t n_rows, int d, int64_t cap, int dense) {
    memset(r, 0, sizeof *r);
    if (d < 1 || d > PR_EMBED_MAX_D) return PR_E_RANGE;
    r->d = d;
    r->cap = cap;
    r->n_rows = n_rows;
    r->row = pr_malloc((size_t)cap, sizeof *r->row);
    r->g = pr_alloc_aligned((size_t)cap * d, sizeof *r->g);
    r->next = pr_malloc((size_t)cap, sizeof *r->next);
    r->first = pr_malloc((size_t)n_rows, sizeof *r->first);
    r->last = pr_malloc((size_t)n_rows, sizeof *r->last);
    r->mark = pr_calloc((size_t)n_rows, sizeof *r->mark);
    r->touched = pr_malloc((size_t)PR_MIN(cap, (int64_t)n_rows) + 1, sizeof *r->touched);
    if (dense) r->dense = pr_alloc_aligned((size_t)n_rows * d, sizeof *r->dense);
    if (!r->row || !r->g || !r->next || !r->first || !r->last || !r->mark || !r->touched ||
        (dense && !r->dense)) {
        pr_rowgrad_deinit(r);
        return PR_E_NOMEM;
    }
    return 0;
}

void pr_rowgrad_deinit(pr_rowgrad *r) {
    free(r->row);
    pr_free_aligned(r->g);
    free(r->next);
    free(r->first);
    free(r->last);
    free(r->mark);
    free(r->touched);
    pr_free_aligned(r->dense);
    memset(r, 0, sizeof *r);
}

int pr_embed_init(pr_embed *e, float *W, int32_t n, int d, int opt_kind) {
    memset(e, 0, sizeof *e);
    e->n = n;
    e->d = d;
    e->W = W;
    if (opt_kind != PR_EMB_SGD) {
        e->m = pr_alloc_aligned((size_t)n * d, sizeof *e->m);
        e->v = pr_alloc_aligned((size_t)n * d, sizeof *e->v);
        if (!e->m || !e->v) {
            pr_embed_deinit(e);
            return PR_E_NOMEM;
        }
        memset(e->m, 0, (size_t)n * d * sizeof *e->m);
        memset(e->v, 0, (size_t)n * d * sizeof *e->v);
    }
    return 0;
}

void pr_embed_deinit(pr_embed *e) {
    pr_free_aligned(e->m);
    pr_free_aligned(e->v);
    memset(e, 0, sizeof *e);
}

/* Link slots into per-row chains in slot order; list the touched rows. */
static void group_slots(pr_rowgrad *r) {
    if (++r->stamp == 0) { /* wrapped: clear marks once every 2^32 batches */
        memset(r->mark, 0, (size_t)r->n_rows * sizeof *r->mark);
        r->stamp = 1;
    }
    r->n_touched = 0;
    for (int64_t s = 0; s < r->n; s++) {
        int32_t row = r->row[s];
        r->next[s] = -1;
        if (r->mark[row] != r->stamp) {
            r->mark[row] = r->stamp;
            r->first[row] = r->last[row] = (int32_t)s;
            r->touched[r->n_touched++] = row;
        } else {
            r->next[r->last[row]] = (int32_t)s;
            r->last[row] = (int32_t)s;
        }
    }
}

static inline void row_sum(const pr_rowgrad *r, int32_t row, float *acc) {
    int d = r->d;
    memset(acc, 0, (size_t)d * sizeof *acc);
    for (int32_t s = r->first[row]; s >= 0; s = r->next[s]) {
        const float *g = r->g + (int64_t)s * d;
        for (int k = 0; k < d; k++) acc[k] += g[k];
    }
}

static inline void adam_row(float *w, float *m, float *v, const float *g, int d, const pr_embed_opt *o,
                            float step, float bc2) {
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    for (int k = 0; k < d; k++) {
        float gk = g[k] + o->weight_decay * w[k];
        m[k] = b1 * m[k] + (1.0f - b1) * gk;
        v[k] = b2 * v[k] + (1.0f - b2) * gk * gk;
        w[k] -= step * m[k] / (sqrtf(v[k]) / bc2 + eps);
    }
}

typedef struct {
    pr_embed *e;
    pr_rowgrad *r;
    const pr_embed_opt *o;
    float step, bc2;
} step_job;

static void step_sparse(void *ctx, int ith, int nth) {
    step_job *J = ctx;
    pr_embed *e = J->e;
    pr_rowgrad *r = J->r;
    int d = e->d;
    float acc[PR_EMBED_MAX_D];
    int64_t b, end;
    pr_split(r->n_touched, ith, nth, &b, &end);
    for (int64_t t = b; t < end; t++) {
        int32_t row = r->touched[t];
        float *w = e->W + (int64_t)row * d;
        row_sum(r, row, acc);
        if (J->o->kind == PR_EMB_SGD) {
            for (int k = 0; k < d; k++) w[k] -= J->o->lr * (acc[k] + J->o->weight_decay * w[k]);
        } else {
            adam_row(w, e->m + (int64_t)row * d, e->v + (int64_t)row * d, acc, d, J->o, J->step, J->bc2);
        }
    }
}

static void step_dense(void *ctx, int ith, int nth) {
    step_job *J = ctx;
    pr_embed *e = J->e;
    pr_rowgrad *r = J->r;
    int d = e->d;
    int64_t b, end;
    pr_split(e->n, ith, nth, &b, &end);
    float zero[PR_EMBED_MAX_D] = {0};
    for (int64_t row = b; row < end; row++) {
        const float *g = r->mark[row] == r->stamp ? r->dense + row * d : zero;
        if (g != zero) row_sum(r, (int32_t)row, r->dense + row * d);
        adam_row(e->W + row * d, e->m + row * d, e->v + row * d, g, d, J->o, J->step, J->bc2);
    }
}

void pr_embed_step(pr_embed *e, pr_rowgrad *r, const pr_embed_opt *o, pr_pool *pool) {
    group_slots(r);
    step_job J = {.e = e, .r = r, .o = o};
    /* Adam with bias correction folded into the step size, as PyTorch does:
     * w -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps) */
    double bc1 = 1.0 - pow(o->beta1, (double)o->t), bc2 = 1.0 - pow(o->beta2, (double)o->t);
    J.step = (float)(o->lr / (bc1 > 0 ? bc1 : 1.0));
    J.bc2 = (float)sqrt(bc2 > 0 ? bc2 : 1.0);
    pr_pool_run(pool, o->kind == PR_EMB_ADAM_DENSE ? step_dense : step_sparse, &J);
}

void pr_rowgrad_to_dense(const pr_rowgrad *r, float *out) {
    memset(out, 0, (size_t)r->n_rows * r->d * sizeof *out);
    for (int64_t s = 0; s < r->n; s++) {
        float *o = out + (int64_t)r->row[s] * r->d;
        const float *g = r->g + s * r->d;
        for (int k = 0; k < r->d; k++) o[k] += g[k];
    }
}
