/* models/partwts.c: part weights recorded with each snapshot (see partwts.h). */
#include "models/partwts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "models/content.h"
#include "models/mapper.h"

enum { HIST_BYTES = 64 << 20 };

typedef struct {
    pr_model base;
    pr_model *inner;  /* owned */
    pr_model_ops ops; /* inner's ops with snapshot and free replaced */
    int M1;           /* parts: the ID, then each modality */
    struct { uint32_t crc; float *w; } *hist; /* w (n_items, M1) owned */
    int n_hist, cap_hist;
    int32_t *all;     /* (n_items) 0..n_items-1 */
    int cold_tower;   /* cold items' weights from the tower */
    uint8_t *cold;    /* (n_items) 1 = no training interactions */
    int32_t n_cold;
} partw;

#define INNER(m) (((partw *)(m))->inner)
static double pw_forward(pr_model *m, const pr_batch *b) { return INNER(m)->ops->forward(INNER(m), b); }
static void pw_backward(pr_model *m, const pr_batch *b) { INNER(m)->ops->backward(INNER(m), b); }
static void pw_step(pr_model *m, const pr_batch *b) { INNER(m)->ops->step(INNER(m), b); }
static int pw_run_epoch(pr_model *m, const struct pr_epoch_plan *p, double *loss) {
    return INNER(m)->ops->run_epoch(INNER(m), p, loss);
}
static int pw_epoch_begin(pr_model *m, int e, pr_error *err) { return INNER(m)->ops->epoch_begin(INNER(m), e, err); }
static void pw_dense_grad(pr_model *m, float *g) { INNER(m)->ops->dense_grad(INNER(m), g); }
static int pw_tower_save(const pr_model *m, pr_buf *b) { return INNER(m)->ops->tower_save(INNER(m), b); }
static int pw_parts(pr_model *m, pr_snapshot *s, pr_error *err) { return INNER(m)->ops->parts(INNER(m), s, err); }

static void pw_free(pr_model *base) {
    partw *w = (partw *)base;
    if (!w) return;
    for (int k = 0; k < w->n_hist; k++) free(w->hist[k].w);
    free(w->hist);
    free(w->all);
    free(w->cold);
    if (w->inner) w->inner->ops->free(w->inner);
    free(w);
}

static uint32_t u_crc(const pr_snapshot *s) {
    return s->U ? pr_crc32c(0, s->U, (size_t)s->n_users * s->d * sizeof *s->U) : 0;
}

/* Rows of wts for the cold items through the current tower's weights(). */
static int cold_weights(partw *w, float *wts, pr_error *err) {
    const pr_tower_ops *to = pr_tower_find(w->inner->ops->name);
    if (!to || !to->weights) return 0;
    const pr_features *f = w->inner->feat;
    pr_buf b;
    pr_buf_init(&b);
    pr_tower *t = NULL;
    int rc = w->inner->ops->tower_save(w->inner, &b);
    if (rc == 0 && b.oom) rc = PR_E_NOMEM;
    if (rc) { rc = pr_err(err, rc, "%s: saving the item tower", w->inner->ops->name); goto done; }
    pr_cur c;
    pr_cur_init(&c, b.data, b.len, "tower");
    if ((rc = to->load(&t, &c, err))) goto done;
    t->ops = to;
    for (int32_t i = 0; i < w->base.data->n_items && !rc; i++) {
        if (!w->cold[i]) continue;
        const float *x[PR_MAX_MODALITIES];
        float *row = wts + (int64_t)i * w->M1;
        if (pr_features_row(f, i, x) <= 0) {
            for (int q = 0; q < w->M1; q++) row[q] = 0; /* no content: a zero row of V */
            continue;
        }
        rc = to->weights(t, x, row, err);
    }
done:
    if (t) t->ops->free(t);
    pr_buf_free(&b);
    return rc;
}

static int pw_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    partw *w = (partw *)base;
    int32_t ni = base->data->n_items;
    int rc = w->inner->ops->snapshot(w->inner, out, err);
    if (rc) return rc;
    size_t bytes = (size_t)ni * w->M1 * sizeof(float);
    while (w->n_hist > 0 && (size_t)(w->n_hist + 1) * bytes > HIST_BYTES) {
        free(w->hist[0].w);
        memmove(w->hist, w->hist + 1, (size_t)--w->n_hist * sizeof *w->hist);
    }
    if (w->n_hist == w->cap_hist) {
        int cap = w->cap_hist ? 2 * w->cap_hist : 16;
        void *h = pr_realloc(w->hist, (size_t)cap, sizeof *w->hist);
        if (!h) return pr_err(err, PR_E_NOMEM, "part weights");
        w->hist = h;
        w->cap_hist = cap;
    }
    float *wts = pr_malloc((size_t)ni * w->M1 + 1, sizeof *wts);
    if (!wts) return pr_err(err, PR_E_NOMEM, "part weights");
    if ((rc = pr_fused_item_weights(w->inner, w->all, ni, wts, err)) ||
        (w->cold_tower && w->n_cold > 0 && (rc = cold_weights(w, wts, err)))) {
        free(wts);
        return rc;
    }
    w->hist[w->n_hist].crc = u_crc(out);
    w->hist[w->n_hist++].w = wts;
    return 0;
}

void pr_partw_model_cold_by_tower(pr_model *m, int on) {
    if (pr_partw_model_is(m)) ((partw *)m)->cold_tower = on;
}

int pr_partw_model_is(const pr_model *m) { return m && m->ops && m->ops->free == pw_free; }

int pr_partw_model_new(pr_model *inner, pr_model **out, pr_error *err) {
    *out = inner;
    if (!inner->ops->forward || inner->ops->forward != pr_fused_forward) return 0;
    partw *w = pr_calloc(1, sizeof *w);
    int32_t ni = inner->data->n_items;
    if (!w || !(w->all = pr_malloc((size_t)ni + 1, sizeof *w->all)) || !(w->cold = pr_malloc((size_t)ni + 1, 1))) {
        if (w) free(w->all);
        free(w);
        inner->ops->free(inner);
        *out = NULL;
        return pr_err(err, PR_E_NOMEM, "part weights");
    }
    for (int32_t i = 0; i < ni; i++) w->all[i] = i, w->cold[i] = 1;
    const pr_csr *tr = inner->data->train;
    for (int64_t k = 0; k < tr->nnz; k++) w->cold[tr->indices[k]] = 0;
    for (int32_t i = 0; i < ni; i++) w->n_cold += w->cold[i];
    w->inner = inner;
    w->M1 = 1 + (inner->feat ? inner->feat->n_mod : 0);
    w->base = *inner;
    w->ops = *inner->ops;
    w->ops.forward = pw_forward;
    w->ops.backward = inner->ops->backward ? pw_backward : NULL;
    w->ops.step = inner->ops->step ? pw_step : NULL;
    w->ops.run_epoch = inner->ops->run_epoch ? pw_run_epoch : NULL;
    w->ops.epoch_begin = inner->ops->epoch_begin ? pw_epoch_begin : NULL;
    w->ops.dense_grad = inner->ops->dense_grad ? pw_dense_grad : NULL;
    w->ops.tower_save = inner->ops->tower_save ? pw_tower_save : NULL;
    w->ops.parts = inner->ops->parts ? pw_parts : NULL;
    w->ops.snapshot = pw_snapshot;
    w->ops.free = pw_free;
    w->base.ops = &w->ops;
    *out = &w->base;
    return 0;
}

int pr_partw_model_best(const pr_model *m, const pr_snapshot *best, float **wts, int *n_parts,
                        char names[][32], pr_error *err) {
    if (!pr_partw_model_is(m)) return pr_err(err, PR_E_ARG, "%s: model records no part weights", m->ops->name);
    const partw *w = (const partw *)m;
    uint32_t crc = u_crc(best);
    for (int k = w->n_hist - 1; k >= 0; k--) {
        if (w->hist[k].crc != crc) continue;
        size_t n = (size_t)best->n_items * w->M1;
        if (!(*wts = pr_malloc(n + 1, sizeof **wts))) return pr_err(err, PR_E_NOMEM, "part weights");
        memcpy(*wts, w->hist[k].w, n * sizeof **wts);
        *n_parts = w->M1;
        snprintf(names[0], 32, "id");
        for (int q = 1; q < w->M1; q++) snprintf(names[q], 32, "%s", m->feat->mod[q - 1].name);
        return 0;
    }
    return pr_err(err, PR_E_NOTFOUND, "%s: the part weights of the kept epoch are no longer known", m->ops->name);
}
