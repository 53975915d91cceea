/* models/mostpop.c: recommend the most interacted-with items.
 * s(u,i) = number of training interactions of i, the same list for everyone:
 * the floor every personalised model must clear. Snapshot: d = 1, U = V = 0,
 * b = popularity. */
#include <stdlib.h>
#include <string.h>

#include "models/model.h"

typedef struct {
    pr_model base;
    float *pop; /* (n_items) */
} mostpop;

static int mostpop_init(pr_model **out, const pr_dataset *d, const pr_features *f,
                        const pr_config *c, pr_pool *pool, pr_error *err) {
    mostpop *m = pr_calloc(1, sizeof *m);
    if (!m || !(m->pop = pr_calloc((size_t)d->n_items, sizeof *m->pop))) {
        free(m);
        return pr_err(err, PR_E_NOMEM, "mostpop");
    }
    m->base.data = d;
    m->base.cfg = c;
    m->base.pool = pool;
    *out = &m->base;
    return 0;
}

static int mostpop_fit(pr_model *base, pr_error *err) {
    mostpop *m = (mostpop *)base;
    const pr_csr *t = base->data->train;
    memset(m->pop, 0, (size_t)base->data->n_items * sizeof *m->pop);
    for (int64_t k = 0; k < t->nnz; k++) m->pop[t->indices[k]] += 1.0f;
    return 0;
}

static int mostpop_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    mostpop *m = (mostpop *)base;
    const pr_dataset *d = base->data;
    if (pr_snapshot_alloc(out, d->n_users, d->n_items, 1, 1)) return pr_err(err, PR_E_NOMEM, "mostpop");
    memset(out->U, 0, (size_t)d->n_users * sizeof *out->U);
    memset(out->V, 0, (size_t)d->n_items * sizeof *out->V);
    memcpy(out->b, m->pop, (size_t)d->n_items * sizeof *out->b);
    return 0;
}

static void mostpop_free(pr_model *base) {
    mostpop *m = (mostpop *)base;
    if (!m) return;
    free(m->pop);
    free(m);
}

const pr_model_ops pr_mostpop_ops = {
    .name = "mostpop",
    .help = "most popular items for everyone (no hyper-parameters)",
    .init = mostpop_init,
    .fit = mostpop_fit,
    .snapshot = mostpop_snapshot,
    .free = mostpop_free,
};
