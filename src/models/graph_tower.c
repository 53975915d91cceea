/* models/graph_tower.c: content-neighbour item towers of the graph models (see graph_tower.h). */
#include "graph_tower.h"

#include <stdlib.h>
#include <string.h>

#include "features/knn_graph.h"

typedef struct {
    pr_tower base;
    pr_knn_tower kt;
} graph_tower;

int pr_graph_tower_save(const pr_model *m, const float *T, int d, const float *w, int k, int sim_weighted,
                        int l2_out, pr_buf *b) {
    const pr_features *f = m->feat;
    const pr_csr *R = m->data->train;
    int32_t ni = m->data->n_items;
    if (!f || f->n_mod < 1) return PR_E_STATE;
    uint8_t *cand = pr_calloc((size_t)ni + 1, 1);
    if (!cand) return PR_E_NOMEM;
    for (int64_t p = 0; p < R->nnz; p++) cand[R->indices[p]] = 1; /* items with training interactions */
    const char *names[PR_MAX_MODALITIES];
    const float *X[PR_MAX_MODALITIES];
    int dims[PR_MAX_MODALITIES];
    for (int q = 0; q < f->n_mod; q++) {
        names[q] = f->mod[q].name;
        X[q] = f->mod[q].X;
        dims[q] = f->mod[q].dim;
    }
    pr_knn_tower kt;
    int rc = pr_knn_tower_init(&kt, f->n_mod, names, X, dims, w, ni, cand, T, d, k, sim_weighted, l2_out, NULL);
    free(cand);
    if (rc) return rc;
    rc = pr_knn_tower_save(&kt, b);
    pr_knn_tower_deinit(&kt);
    return rc;
}

int pr_graph_tower_load(pr_tower **out, pr_cur *c, pr_error *err) {
    graph_tower *t = pr_calloc(1, sizeof *t);
    if (!t) return pr_err(err, PR_E_NOMEM, "graph tower");
    int rc = pr_knn_tower_load(&t->kt, c, err);
    if (rc) {
        free(t);
        return rc;
    }
    t->base.d = t->kt.d;
    t->base.n_mod = t->kt.n_mod;
    for (int q = 0; q < t->kt.n_mod; q++) {
        t->base.dims[q] = t->kt.dims[q];
        memcpy(t->base.names[q], t->kt.names[q], sizeof t->base.names[q]);
    }
    *out = &t->base;
    return 0;
}

int pr_graph_tower_encode(const pr_tower *base, const float *const *x, float *v, float *bias, pr_error *err) {
    const graph_tower *t = (const graph_tower *)base;
    if (bias) *bias = 0.0f;
    return pr_knn_tower_encode(&t->kt, x, v, err);
}

void pr_graph_tower_free(pr_tower *base) {
    graph_tower *t = (graph_tower *)base;
    if (!t) return;
    pr_knn_tower_deinit(&t->kt);
    free(t);
}
