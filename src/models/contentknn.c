/* models/contentknn.c: content similarity to the user's history, the
 * classic cold-start baseline (no training; new items need only content).
 *
 *   c_i    = [ (x_{i,m} - mean_m) / |x_{i,m} - mean_m| ]_m / sqrt(M)
 *            per modality m: centred on the training items' mean, unit length
 *            (a missing modality is a zero block), M blocks concatenated
 *   s(u,i) = 1/|H_u| sum_{h in H_u} cos-ish(c_h, c_i) = U[u] . c_i,
 *            U[u] = mean of c_h over the user's training items H_u
 * so it is a dot-product model: V = C (n_items, D), U the users' mean content,
 * and the item tower is c_i itself (centre, normalise blockwise): a new item
 * is placed exactly as a training item. Mean-centring matters: raw text or
 * image vectors share a large common direction that makes every item look
 * alike. Cost: O(nnz(train) D) to fit; the snapshot is (n_users + n_items) D
 * floats, so keep D moderate (e.g. --preproc text=pca=128). Split by part
 * (models/parts.h): modality m's part is c_i's block m, exactly; no ID part. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/centred.h"
#include "models/model.h"
#include "models/parts.h"

typedef struct {
    pr_model base;
    int D;
    float *U, *V;   /* (n_users, D), (n_items, D) */
    float *mean;    /* (D) per-modality means, blocks concatenated */
} cknn;

/* The tower: means and dims, nothing else. */
typedef struct {
    pr_tower base;
    float *mean;    /* (sum of dims) */
} cknn_tower;

static int total_dim(const pr_features *f) {
    int D = 0;
    for (int m = 0; m < f->n_mod; m++) D += f->mod[m].dim;
    return D;
}

/* c (D) from the blocks x[m] (NULL = missing): centre, unit length, / sqrt(M)
 * (models/centred.h, every modality with the same weight). */
static void embed(int n_mod, const int *dims, const float *mean, const float *const *x, float *c) {
    float w[PR_MAX_MODALITIES];
    for (int m = 0; m < n_mod; m++) w[m] = 1.0f / sqrtf((float)n_mod);
    pr_centred_embed(n_mod, dims, w, mean, x, c);
}

static void cknn_free(pr_model *base) {
    cknn *m = (cknn *)base;
    if (!m) return;
    free(m->U);
    free(m->V);
    free(m->mean);
    free(m);
}

static int cknn_init(pr_model **out, const pr_dataset *d, const pr_features *f, const pr_config *c,
                     pr_pool *pool, pr_error *err) {
    cknn *m = pr_calloc(1, sizeof *m);
    if (!m) return pr_err(err, PR_E_NOMEM, "contentknn");
    m->base.data = d;
    m->base.cfg = c;
    m->base.pool = pool;
    m->base.feat = f;
    m->D = total_dim(f);
    m->U = pr_calloc((size_t)d->n_users * m->D, sizeof *m->U);
    m->V = pr_calloc((size_t)d->n_items * m->D, sizeof *m->V);
    m->mean = pr_calloc((size_t)m->D, sizeof *m->mean);
    if (!m->U || !m->V || !m->mean) {
        cknn_free(&m->base);
        return pr_err(err, PR_E_NOMEM, "contentknn: %d users, %d items x %d dims", d->n_users, d->n_items, m->D);
    }
    *out = &m->base;
    return 0;
}

static int cknn_fit(pr_model *base, pr_error *err) {
    cknn *m = (cknn *)base;
    const pr_features *f = base->feat;
    const pr_csr *t = base->data->train;
    int32_t ni = base->data->n_items;
    int dims[PR_MAX_MODALITIES], D = m->D;
    uint8_t *warm = pr_calloc((size_t)ni + 1, 1);
    if (!warm) return pr_err(err, PR_E_NOMEM, "contentknn");
    for (int64_t k = 0; k < t->nnz; k++) warm[t->indices[k]] = 1;
    for (int mo = 0; mo < f->n_mod; mo++) dims[mo] = f->mod[mo].dim;
    int rc = pr_centred_means(f, warm, m->mean, err); /* over warm items that have the modality */
    free(warm);
    if (rc) return rc;
    for (int32_t i = 0; i < ni; i++) {
        const float *x[PR_MAX_MODALITIES];
        for (int mo = 0; mo < f->n_mod; mo++)
            x[mo] = f->mod[mo].missing[i] ? NULL : f->mod[mo].X + (int64_t)i * f->mod[mo].dim;
        embed(f->n_mod, dims, m->mean, x, m->V + (int64_t)i * D);
    }
    for (int32_t u = 0; u < base->data->n_users; u++) {
        float *pu = m->U + (int64_t)u * D;
        int64_t len = pr_csr_row_len(t, u);
        memset(pu, 0, (size_t)D * sizeof *pu);
        for (int64_t p = t->indptr[u]; p < t->indptr[u + 1]; p++) {
            const float *c = m->V + (int64_t)t->indices[p] * D;
            for (int k = 0; k < D; k++) pu[k] += c[k];
        }
        for (int k = 0; k < D && len > 0; k++) pu[k] /= (float)len;
    }
    return 0;
}

static int cknn_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    cknn *m = (cknn *)base;
    pr_snapshot view = {base->data->n_users, base->data->n_items, m->D, m->U, m->V, NULL, NULL};
    if (pr_snapshot_copy(out, &view)) return pr_err(err, PR_E_NOMEM, "contentknn snapshot");
    return 0;
}

/* P (1 + M, D): c's block m as part 1 + m (part 0, the ID, is zero: the
 * model has none). Exact: V is the blocks side by side. */
static void split_blocks(int n_mod, const int *dims, const float *c, float *P) {
    int D = 0, off = 0;
    for (int m = 0; m < n_mod; m++) D += dims[m];
    memset(P, 0, (size_t)(1 + n_mod) * D * sizeof *P);
    for (int m = 0; m < n_mod; m++) {
        memcpy(P + (int64_t)(1 + m) * D + off, c + off, (size_t)dims[m] * sizeof *P);
        off += dims[m];
    }
}

static int cknn_parts(pr_model *base, pr_snapshot *s, pr_error *err) {
    cknn *m = (cknn *)base;
    const pr_features *f = base->feat;
    int dims[PR_MAX_MODALITIES];
    char names[PR_MAX_MODALITIES][32];
    if (s->n_items != base->data->n_items || s->d != m->D) return 0;
    for (int mo = 0; mo < f->n_mod; mo++) {
        dims[mo] = f->mod[mo].dim;
        snprintf(names[mo], sizeof names[mo], "%s", f->mod[mo].name);
    }
    pr_parts *p = pr_parts_new(s->n_items, m->D, f->n_mod, (const char(*)[32])names, 0, 0);
    if (!p) return pr_err(err, PR_E_NOMEM, "contentknn: parts");
    for (int32_t i = 0; i < s->n_items; i++) split_blocks(f->n_mod, dims, s->V + (int64_t)i * m->D, pr_parts_row(p, i));
    pr_parts_free(s->parts);
    s->parts = p;
    return 0;
}

/* Tower blob: u32 n_mod, per modality (name, u32 dim), then the means. */
static int cknn_tower_save(const pr_model *base, pr_buf *b) {
    const cknn *m = (const cknn *)base;
    const pr_features *f = base->feat;
    pr_buf_put_u32(b, (uint32_t)f->n_mod);
    for (int mo = 0; mo < f->n_mod; mo++) {
        pr_buf_put_str(b, f->mod[mo].name);
        pr_buf_put_u32(b, (uint32_t)f->mod[mo].dim);
    }
    pr_buf_put_f32s(b, m->mean, m->D);
    return b->oom ? PR_E_NOMEM : 0;
}

static void tower_free(pr_tower *t) {
    if (!t) return;
    free(((cknn_tower *)t)->mean);
    free(t);
}

static int tower_load(pr_tower **out, pr_cur *c, pr_error *err) {
    cknn_tower *t = pr_calloc(1, sizeof *t);
    uint32_t n_mod, dim;
    int64_t D = 0, got;
    int rc;
    if (!t) return pr_err(err, PR_E_NOMEM, "contentknn tower");
    if ((rc = pr_cur_get_u32(c, &n_mod, err))) goto fail;
    if (n_mod < 1 || n_mod > PR_MAX_MODALITIES) { rc = pr_err(err, PR_E_FORMAT, "%s: contentknn tower header", c->what); goto fail; }
    t->base.n_mod = (int)n_mod;
    for (uint32_t mo = 0; mo < n_mod; mo++) {
        char *name = NULL;
        if ((rc = pr_cur_get_str(c, &name, 31, err))) goto fail;
        snprintf(t->base.names[mo], sizeof t->base.names[mo], "%s", name);
        free(name);
        if ((rc = pr_cur_get_u32(c, &dim, err))) goto fail;
        if (dim < 1 || dim > (1u << 20)) { rc = pr_err(err, PR_E_FORMAT, "%s: contentknn tower dim %u", c->what, dim); goto fail; }
        t->base.dims[mo] = (int)dim;
        D += dim;
    }
    if ((rc = pr_cur_get_f32s(c, &t->mean, &got, err))) goto fail;
    if (got != D || D > 100000) { rc = pr_err(err, PR_E_FORMAT, "%s: contentknn tower has %lld means for %lld dims", c->what, (long long)got, (long long)D); goto fail; }
    t->base.d = (int)D;
    *out = &t->base;
    return 0;
fail:
    tower_free(&t->base);
    return rc;
}

static int tower_encode(const pr_tower *base, const float *const *x, float *v, float *bias, pr_error *err) {
    embed(base->n_mod, base->dims, ((const cknn_tower *)base)->mean, x, v);
    *bias = 0.0f;
    return 0;
}

static int tower_parts(const pr_tower *base, const float *const *x, float *P, float *pb, pr_error *err) {
    float *c = pr_malloc((size_t)base->d, sizeof *c);
    if (!c) return pr_err(err, PR_E_NOMEM, "contentknn tower");
    embed(base->n_mod, base->dims, ((const cknn_tower *)base)->mean, x, c);
    split_blocks(base->n_mod, base->dims, c, P);
    for (int q = 0; q <= base->n_mod; q++) pb[q] = 0.0f;
    free(c);
    return 0;
}

const pr_tower_ops pr_contentknn_tower_ops = {
    .name = "contentknn",
    .load = tower_load,
    .encode = tower_encode,
    .parts = tower_parts,
    .free = tower_free,
};

const pr_model_ops pr_contentknn_ops = {
    .name = "contentknn",
    .help = "content similarity to the user's history (mean-centred, per-modality cosine); no keys",
    .needs_features = 1,
    .init = cknn_init,
    .fit = cknn_fit,
    .snapshot = cknn_snapshot,
    .parts = cknn_parts,
    .tower_save = cknn_tower_save,
    .free = cknn_free,
};
