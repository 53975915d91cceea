/* models/itemknn.c: ItemKNN (Sarwar et al., WWW 2001; as in RecBole/Cornac).
 *
 * sim(i, j) = |U_i ∩ U_j| / (sqrt(|U_i|) sqrt(|U_j|) + shrink), cosine over the
 * binary user vectors of items, with shrinkage that damps similarities built
 * on few co-occurrences. Each item keeps its top-k neighbours. Cost: for each
 * item, one pass over the users who interacted with it and their histories
 * (sum over users of |hist|^2), threaded over items; memory O(n_items * k).
 * Keys: k (neighbours, 100), shrink (0). */
#include "itemknn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/topk.h"
#include "models/model.h"

typedef struct {
    pr_model base;
    int k;
    float shrink;
    pr_csr *S;      /* (n_items, n_items) top-k similarities per row */
} itemknn;

static int itemknn_init(pr_model **out, const pr_dataset *d, const pr_features *f,
                        const pr_config *c, pr_pool *pool, pr_error *err) {
    itemknn *m = pr_calloc(1, sizeof *m);
    if (!m) return pr_err(err, PR_E_NOMEM, "itemknn");
    m->base.data = d;
    m->base.cfg = c;
    m->base.pool = pool;
    m->k = (int)pr_config_i(c, "k", 100);
    m->shrink = (float)pr_config_f(c, "shrink", 0.0);
    if (m->k < 1 || m->k > 10000 || m->shrink < 0) {
        free(m);
        return pr_err(err, PR_E_ARG, "itemknn: k must be in [1, 10000] and shrink >= 0");
    }
    *out = &m->base;
    return 0;
}

typedef struct {
    const pr_csr *ui, *iu; /* users x items, items x users */
    int k;
    float shrink;
    int32_t *nb;           /* (n_items, k) neighbour ids */
    float *sv;             /* (n_items, k) similarities */
    int *cnt;              /* (n_items) neighbours found */
    int failed;
} knn_job;

static void knn_rows(void *ctx, int ith, int nth) {
    knn_job *J = ctx;
    int32_t n = J->iu->n_rows;
    float *co = pr_calloc((size_t)n, sizeof *co);
    int32_t *touched = pr_malloc((size_t)n, sizeof *touched);
    float *row = pr_malloc((size_t)n, sizeof *row);
    if (!co || !touched || !row) {
        J->failed = 1;
        goto done;
    }
    for (int32_t i = 0; i < n; i++) row[i] = -INFINITY;
    int64_t b, e;
    pr_split(n, ith, nth, &b, &e);
    for (int64_t i = b; i < e; i++) {
        int32_t nt = 0;
        for (int64_t p = J->iu->indptr[i]; p < J->iu->indptr[i + 1]; p++) {
            int32_t u = J->iu->indices[p];
            for (int64_t q = J->ui->indptr[u]; q < J->ui->indptr[u + 1]; q++) {
                int32_t j = J->ui->indices[q];
                if (j == i) continue;
                if (co[j] == 0) touched[nt++] = j;
                co[j] += 1.0f;
            }
        }
        double ni = sqrt((double)pr_csr_row_len(J->iu, (int32_t)i));
        for (int32_t t = 0; t < nt; t++) {
            int32_t j = touched[t];
            double nj = sqrt((double)pr_csr_row_len(J->iu, j));
            row[j] = (float)(co[j] / (ni * nj + J->shrink));
        }
        J->cnt[i] = pr_topk(row, n, J->k, J->nb + i * J->k, J->sv + i * J->k);
        for (int32_t t = 0; t < nt; t++) {
            co[touched[t]] = 0;
            row[touched[t]] = -INFINITY;
        }
    }
done:
    free(co);
    free(touched);
    free(row);
}

static int itemknn_fit(pr_model *base, pr_error *err) {
    itemknn *m = (itemknn *)base;
    const pr_csr *ui = base->data->train;
    pr_csr *iu = NULL;
    int rc = pr_csr_transpose(ui, &iu, err);
    if (rc) return rc;
    int32_t n = ui->n_cols;
    int k = PR_MIN(m->k, n > 1 ? n - 1 : 1);
    knn_job J = {.ui = ui, .iu = iu, .k = k, .shrink = m->shrink};
    J.nb = pr_malloc((size_t)n * k, sizeof *J.nb);
    J.sv = pr_malloc((size_t)n * k, sizeof *J.sv);
    J.cnt = pr_calloc((size_t)n, sizeof *J.cnt);
    if (!J.nb || !J.sv || !J.cnt) {
        rc = pr_err(err, PR_E_NOMEM, "itemknn: %d items x %d neighbours", n, k);
        goto done;
    }
    pr_pool_run(base->pool, knn_rows, &J);
    if (J.failed) {
        rc = pr_err(err, PR_E_NOMEM, "itemknn");
        goto done;
    }
    int64_t nnz = 0;
    for (int32_t i = 0; i < n; i++) nnz += J.cnt[i];
    pr_csr_free(m->S);
    if (!(m->S = pr_csr_new(n, n, nnz, 1))) {
        rc = pr_err(err, PR_E_NOMEM, "itemknn");
        goto done;
    }
    int64_t w = 0;
    for (int32_t i = 0; i < n; i++) {
        m->S->indptr[i] = w;
        for (int t = 0; t < J.cnt[i]; t++, w++) {
            m->S->indices[w] = J.nb[(int64_t)i * k + t];
            m->S->val[w] = J.sv[(int64_t)i * k + t];
        }
    }
    m->S->indptr[n] = w;
    /* rows hold neighbours in score order; CSR lookups want ascending columns */
    for (int32_t i = 0; i < n; i++) {
        int64_t a = m->S->indptr[i], z = m->S->indptr[i + 1];
        for (int64_t x = a + 1; x < z; x++) { /* insertion sort: rows are short */
            int32_t c = m->S->indices[x];
            float v = m->S->val[x];
            int64_t y = x - 1;
            while (y >= a && m->S->indices[y] > c) {
                m->S->indices[y + 1] = m->S->indices[y];
                m->S->val[y + 1] = m->S->val[y];
                y--;
            }
            m->S->indices[y + 1] = c;
            m->S->val[y + 1] = v;
        }
    }
done:
    pr_csr_free(iu);
    free(J.nb);
    free(J.sv);
    free(J.cnt);
    return rc;
}

int pr_itemknn_score(const pr_csr *S, const pr_csr *hist, const int32_t *users, int n, float *out) {
    int32_t n_items = S->n_rows;
    for (int r = 0; r < n; r++) {
        float *row = out + (int64_t)r * n_items;
        memset(row, 0, (size_t)n_items * sizeof *row);
        int32_t u = users[r];
        if (u >= hist->n_rows) continue;
        for (int64_t p = hist->indptr[u]; p < hist->indptr[u + 1]; p++) {
            int32_t j = hist->indices[p];
            for (int64_t q = S->indptr[j]; q < S->indptr[j + 1]; q++) row[S->indices[q]] += S->val[q];
        }
    }
    return 0;
}

static int knn_score(const pr_model *base, const int32_t *users, int n, float *out) {
    const itemknn *m = (const itemknn *)base;
    return pr_itemknn_score(m->S, base->data->train, users, n, out);
}

/* The runtime needs S: the model file writer asks for it through this. */
const pr_csr *pr_itemknn_matrix(const pr_model *base) { return ((const itemknn *)base)->S; }

static void itemknn_free(pr_model *base) {
    itemknn *m = (itemknn *)base;
    if (!m) return;
    pr_csr_free(m->S);
    free(m);
}

const pr_model_ops pr_itemknn_ops = {
    .name = "itemknn",
    .help = "item-based kNN, cosine with shrinkage; keys: k=100 shrink=0",
    .init = itemknn_init,
    .fit = itemknn_fit,
    .score = knn_score,
    .free = itemknn_free,
};
