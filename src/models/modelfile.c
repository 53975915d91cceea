/* models/modelfile.c: writing and serving model files (see modelfile.h). */
#include "modelfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mat.h"
#include "core/topk.h"
#include "models/foldin.h"
#include "models/content.h"
#include "models/itemknn.h"
#include "models/parts.h"

int pr_csr_save(const pr_csr *m, pr_buf *b) {
    pr_buf_put_u32(b, (uint32_t)m->n_rows);
    pr_buf_put_u32(b, (uint32_t)m->n_cols);
    pr_buf_put_u32(b, m->val != NULL);
    pr_buf_put_i64(b, m->nnz);
    pr_buf_put(b, m->indptr, ((size_t)m->n_rows + 1) * sizeof *m->indptr);
    pr_buf_put(b, m->indices, (size_t)m->nnz * sizeof *m->indices);
    if (m->val) pr_buf_put(b, m->val, (size_t)m->nnz * sizeof *m->val);
    return b->oom ? PR_E_NOMEM : 0;
}

int pr_csr_load(pr_csr **out, pr_cur *c, pr_error *err) {
    uint32_t nr, nc, hv;
    int64_t nnz;
    int rc;
    if ((rc = pr_cur_get_u32(c, &nr, err)) || (rc = pr_cur_get_u32(c, &nc, err)) ||
        (rc = pr_cur_get_u32(c, &hv, err)) || (rc = pr_cur_get_i64(c, &nnz, err)))
        return rc;
    size_t need = ((size_t)nr + 1) * 8 + (size_t)(nnz < 0 ? 0 : nnz) * (hv ? 8 : 4);
    if (nr > INT32_MAX || nc > INT32_MAX || nnz < 0 || need > pr_cur_left(c))
        return pr_err(err, PR_E_FORMAT, "%s: sparse matrix header is corrupt", c->what);
    pr_csr *m = pr_csr_new((int32_t)nr, (int32_t)nc, nnz, hv != 0);
    if (!m) return pr_err(err, PR_E_NOMEM, "%s", c->what);
    pr_cur_get(c, m->indptr, ((size_t)nr + 1) * sizeof *m->indptr, err);
    pr_cur_get(c, m->indices, (size_t)nnz * sizeof *m->indices, err);
    if (hv) pr_cur_get(c, m->val, (size_t)nnz * sizeof *m->val, err);
    /* structure must be consistent before anyone indexes with it */
    int ok = m->indptr[0] == 0 && m->indptr[nr] == nnz;
    for (uint32_t r = 0; ok && r < nr; r++) ok = m->indptr[r] <= m->indptr[r + 1];
    for (int64_t k = 0; ok && k < nnz; k++) ok = m->indices[k] >= 0 && (uint32_t)m->indices[k] < nc;
    if (!ok) {
        pr_csr_free(m);
        return pr_err(err, PR_E_FORMAT, "%s: sparse matrix structure is corrupt", c->what);
    }
    *out = m;
    return 0;
}

static int add_buf(pr_secwriter *w, const char *name, pr_buf *b) {
    if (b->oom) return PR_E_NOMEM;
    int rc = pr_secwriter_add(w, name, b->data, b->len, 1);
    pr_buf_free(b);
    return rc;
}

int pr_modelfile_save(const char *path, const pr_model *m, const pr_snapshot *snap,
                      const pr_pipeline *pipe, const char *meta, pr_error *err) {
    return pr_modelfile_save_tower(path, m, snap, pipe, meta, NULL, err);
}

int pr_modelfile_save_tower(const char *path, const pr_model *m, const pr_snapshot *snap,
                            const pr_pipeline *pipe, const char *meta, const pr_buf *tower,
                            pr_error *err) {
    return pr_modelfile_save_ex(path, m, snap, pipe, meta, tower, NULL, err);
}

/* The "parts" section of snap, when its parts fit its V and b; parts that
 * do not (a bug upstream) are left out with a warning rather than failing
 * the whole save: the file then says the split is unavailable. */
static int add_parts(pr_secwriter *w, const pr_snapshot *snap, pr_error *err) {
    const pr_parts *p = snap->parts;
    double e = p->n_items == snap->n_items && p->d == snap->d && (p->pb != NULL) == (snap->b != NULL)
                   ? pr_parts_error(p, snap->V, snap->b)
                   : INFINITY;
    if (!(e <= 1e-3)) {
        pr_log("warning: the item parts do not sum to the item vectors (relative error %g); the model file gets no split by part", e);
        return 0;
    }
    pr_buf b;
    pr_buf_init(&b);
    int rc = pr_parts_save(p, &b);
    if (rc == 0) rc = add_buf(w, "parts", &b);
    else pr_buf_free(&b);
    return rc ? pr_err(err, PR_E_NOMEM, "building the 'parts' section") : 0;
}

int pr_modelfile_save_ex(const char *path, const pr_model *m, const pr_snapshot *snap,
                         const pr_pipeline *pipe, const char *meta, const pr_buf *tower,
                         const pr_buf *parts, pr_error *err) {
    pr_secwriter w;
    pr_secwriter_init(&w);
    pr_buf b;
    int rc = 0;
    const pr_config *c = m->cfg;
    char head[2048];
    snprintf(head, sizeof head,
             "format=1\nmodel=%s\ncreated=%lld\nn_users=%d\nn_items=%d\nd=%d\nepochs=%d\nbatch=%d\n"
             "lr=%g\nreg=%g\noptim=%s\nseed=%llu\nstop_metric=%s\n",
             m->ops->name, (long long)time(NULL), m->data->n_users, m->data->n_items, c->d,
             c->epochs, c->batch, c->lr, c->reg, c->optim, (unsigned long long)c->seed, c->stop_metric);
    pr_buf_init(&b);
    pr_buf_put(&b, head, strlen(head));
    for (int i = 0; i < c->n_kv; i++) {
        char kv[160];
        int n = snprintf(kv, sizeof kv, "%s=%s\n", c->kv[i].key, c->kv[i].val);
        pr_buf_put(&b, kv, (size_t)n);
    }
    if (meta) pr_buf_put(&b, meta, strlen(meta));
    if ((rc = add_buf(&w, "meta", &b))) goto oom;
    pr_buf_init(&b);
    pr_idmap_save(m->data->users, &b);
    if ((rc = add_buf(&w, "users", &b))) goto oom;
    pr_buf_init(&b);
    pr_idmap_save(m->data->items, &b);
    if ((rc = add_buf(&w, "items", &b))) goto oom;
    pr_buf_init(&b);
    pr_csr_save(m->data->train, &b);
    if ((rc = add_buf(&w, "train", &b))) goto oom;
    if (snap && snap->U) {
        int32_t hdr[4] = {snap->n_users, snap->n_items, snap->d, snap->b != NULL};
        if (pr_secwriter_add(&w, "snap", hdr, sizeof hdr, 1) ||
            pr_secwriter_add(&w, "U", snap->U, (size_t)snap->n_users * snap->d * sizeof(float), 0) ||
            pr_secwriter_add(&w, "V", snap->V, (size_t)snap->n_items * snap->d * sizeof(float), 0) ||
            (snap->b && pr_secwriter_add(&w, "b", snap->b, (size_t)snap->n_items * sizeof(float), 0)))
            goto oom;
    } else if (strcmp(m->ops->name, "itemknn") == 0) {
        pr_buf_init(&b);
        pr_csr_save(pr_itemknn_matrix(m), &b);
        if ((rc = add_buf(&w, "knn", &b))) goto oom;
    } else {
        rc = pr_err(err, PR_E_STATE, "%s: model has no snapshot to save", m->ops->name);
        goto done;
    }
    if (pipe && pipe->n_mod > 0 && pr_pipeline_save(pipe, &w)) goto oom;
    if (tower) {
        if (tower->oom) goto oom;
        if (pr_secwriter_add(&w, "tower", tower->data, tower->len, 1)) goto oom;
    } else if (m->ops->tower_save) {
        pr_buf_init(&b);
        pr_buf_put_str(&b, m->ops->name);
        if ((rc = m->ops->tower_save(m, &b))) {
            pr_buf_free(&b);
            rc = pr_err(err, rc, "%s: saving the item tower", m->ops->name);
            goto done;
        }
        if ((rc = add_buf(&w, "tower", &b))) goto oom;
    }
    if (parts && (parts->oom || pr_secwriter_add(&w, "partw", parts->data, parts->len, 1))) goto oom;
    if (snap && snap->parts && (rc = add_parts(&w, snap, err))) goto done;
    rc = pr_secwriter_write(&w, path, err);
    goto done;
oom:
    rc = pr_err(err, PR_E_NOMEM, "%s: building model file", path);
done:
    pr_secwriter_deinit(&w);
    return rc;
}

/* ---- part weights ------------------------------------------------------------ */

void pr_part_weights_save(pr_buf *b, int32_t n_items, int n_parts, const char names[][32],
                          const float *w) {
    pr_buf_put_u32(b, (uint32_t)n_items);
    pr_buf_put_u32(b, (uint32_t)n_parts);
    for (int q = 0; q < n_parts; q++) pr_buf_put_str(b, names[q]);
    pr_buf_put_f32s(b, w, (int64_t)n_items * n_parts);
}

int pr_recsys_part_weights(const pr_recsys *r, pr_part_weights *out, pr_error *err) {
    const void *p;
    size_t n;
    memset(out, 0, sizeof *out);
    if (pr_secfile_get(&r->file, "partw", &p, &n))
        return pr_err(err, PR_E_NOTFOUND, "%s: the model (%s) has no part weights", r->file.path, r->model);
    pr_cur c;
    uint32_t ni, np;
    int rc;
    pr_cur_init(&c, p, n, "partw");
    if ((rc = pr_cur_get_u32(&c, &ni, err)) || (rc = pr_cur_get_u32(&c, &np, err))) return rc;
    if (ni > (uint32_t)r->n_items || np < 1 || np > PR_MAX_MODALITIES + 1)
        return pr_err(err, PR_E_FORMAT, "%s: section 'partw': %u items, %u parts (model: %d items)",
                      r->file.path, ni, np, r->n_items);
    out->n_items = (int32_t)ni;
    out->n_parts = (int)np;
    for (uint32_t q = 0; q < np; q++) {
        char *s = NULL;
        if ((rc = pr_cur_get_str(&c, &s, 31, err))) return rc;
        snprintf(out->names[q], sizeof out->names[q], "%s", s);
        free(s);
    }
    if ((rc = pr_cur_get_f32s_n(&c, &out->w, (int64_t)ni * np, "partw", err))) return rc;
    for (int64_t k = 0; k < (int64_t)ni * np; k++)
        if (!(out->w[k] >= 0 && out->w[k] <= 1.0001f)) {
            pr_part_weights_free(out);
            return pr_err(err, PR_E_FORMAT, "%s: section 'partw': weight %lld is not in [0, 1]", r->file.path, (long long)k);
        }
    return 0;
}

int pr_recsys_parts(const pr_recsys *r, pr_parts_view *out, pr_error *err) {
    const void *p;
    size_t n;
    memset(out, 0, sizeof *out);
    if (!r->V) return pr_err(err, PR_E_NOTFOUND, "%s: the model (%s) has no item vectors to split", r->file.path, r->model);
    if (pr_secfile_get(&r->file, "parts", &p, &n))
        return pr_err(err, PR_E_NOTFOUND, "%s: no 'parts' section (the model %s gives no split by part, or the file predates it)",
                      r->file.path, r->model);
    char what[600];
    snprintf(what, sizeof what, "%s: section 'parts'", r->file.path);
    return pr_parts_view_parse(out, p, n, r->n_items, r->d, r->b != NULL, what, err);
}

int pr_recsys_split(const pr_recsys *r, const pr_parts_view *v, const float *u, int32_t i, double *c) {
    float pb[PR_MAX_PARTS], *P;
    if (i < 0 || i >= r->n_items || i >= v->n_items) return PR_E_NOTFOUND;
    if (!(P = pr_malloc((size_t)v->n_parts * v->d, sizeof *P))) return PR_E_NOMEM;
    int rc = pr_parts_view_item(v, i, r->V + (int64_t)i * r->d, r->b ? r->b[i] : 0.0f, P, pb);
    if (rc == 0) pr_parts_split(v->n_parts, v->d, P, v->has_bias ? pb : NULL, u, c);
    free(P);
    return rc;
}

void pr_part_weights_free(pr_part_weights *p) {
    free(p->w);
    p->w = NULL;
}

static int knn_score_cb(const void *ctx, const int32_t *users, int n, float *out) {
    const pr_recsys *r = ctx;
    return pr_itemknn_score(r->knn, r->train, users, n, out);
}

static int load_blob(pr_recsys *r, const char *name, pr_cur *c, pr_error *err) {
    const void *p;
    size_t n;
    if (pr_secfile_get(&r->file, name, &p, &n))
        return pr_err(err, PR_E_FORMAT, "%s: section '%s' is missing", r->file.path, name);
    pr_cur_init(c, p, n, name);
    return 0;
}

int pr_recsys_open(pr_recsys *r, const char *path, pr_error *err) {
    memset(r, 0, sizeof *r);
    int rc = pr_secfile_open(&r->file, path, err);
    if (rc) return rc;
    pr_cur c;
    if ((rc = load_blob(r, "meta", &c, err))) goto fail;
    if (!(r->meta = malloc(pr_cur_left(&c) + 1))) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto fail; }
    memcpy(r->meta, c.p, pr_cur_left(&c));
    r->meta[pr_cur_left(&c)] = '\0';
    char buf[64];
    snprintf(r->model, sizeof r->model, "%s", pr_recsys_meta(r, "model", buf, sizeof buf));
    if ((rc = load_blob(r, "users", &c, err)) || (rc = pr_idmap_load(&r->users, &c, err))) goto fail;
    if ((rc = load_blob(r, "items", &c, err)) || (rc = pr_idmap_load(&r->items, &c, err))) goto fail;
    if ((rc = load_blob(r, "train", &c, err)) || (rc = pr_csr_load(&r->train, &c, err))) goto fail;
    r->n_users = r->users->n;
    r->n_items = r->items->n;
    if (r->train->n_rows != r->n_users || r->train->n_cols != r->n_items) {
        rc = pr_err(err, PR_E_FORMAT, "%s: training matrix does not match the id maps", path);
        goto fail;
    }
    const void *p;
    size_t n;
    if (pr_secfile_get(&r->file, "snap", &p, &n) == 0) {
        int32_t hdr[4];
        if (n != sizeof hdr) { rc = pr_err(err, PR_E_FORMAT, "%s: bad snapshot header", path); goto fail; }
        memcpy(hdr, p, sizeof hdr);
        size_t nu, nv, nb = 0;
        const void *U, *V, *b = NULL;
        if (hdr[0] != r->n_users || hdr[1] != r->n_items || hdr[2] < 1 || hdr[2] > 100000 ||
            pr_secfile_get(&r->file, "U", &U, &nu) || pr_secfile_get(&r->file, "V", &V, &nv) ||
            nu != (size_t)hdr[0] * hdr[2] * 4 || nv != (size_t)hdr[1] * hdr[2] * 4 ||
            (hdr[3] && (pr_secfile_get(&r->file, "b", &b, &nb) || nb != (size_t)hdr[1] * 4))) {
            rc = pr_err(err, PR_E_FORMAT, "%s: snapshot sections are inconsistent", path);
            goto fail;
        }
        r->d = hdr[2];
        r->U = U;
        r->V = V;
        r->b = b;
        r->scorer = (pr_scorer){r->n_users, r->n_items, r->d, r->U, r->V, r->b, NULL, NULL};
    } else if (pr_secfile_get(&r->file, "knn", &p, &n) == 0) {
        pr_cur_init(&c, p, n, "knn");
        if ((rc = pr_csr_load(&r->knn, &c, err))) goto fail;
        if (r->knn->n_rows != r->n_items || r->knn->n_cols != r->n_items) {
            rc = pr_err(err, PR_E_FORMAT, "%s: similarity matrix does not match the items", path);
            goto fail;
        }
        r->scorer = (pr_scorer){r->n_users, r->n_items, 0, NULL, NULL, NULL, knn_score_cb, r};
    } else {
        rc = pr_err(err, PR_E_FORMAT, "%s: no snapshot or similarity section", path);
        goto fail;
    }
    if ((rc = pr_pipeline_load(&r->pipe, &r->file, err))) goto fail;
    if (pr_secfile_get(&r->file, "tower", &p, &n) == 0) {
        pr_cur_init(&c, p, n, "tower");
        char *tname = NULL;
        if ((rc = pr_cur_get_str(&c, &tname, 31, err))) goto fail;
        const pr_tower_ops *tops = pr_tower_find(tname);
        free(tname);
        if (!tops) { rc = pr_err(err, PR_E_FORMAT, "%s: item tower of an unknown model", path); goto fail; }
        if ((rc = tops->load(&r->tower, &c, err))) goto fail;
        r->tower->ops = tops;
    }
    return 0;
fail:
    pr_recsys_close(r);
    return rc;
}

void pr_recsys_close(pr_recsys *r) {
    pr_idmap_free(r->users);
    pr_idmap_free(r->items);
    pr_csr_free(r->train);
    pr_csr_free(r->knn);
    free(r->meta);
    pr_pipeline_deinit(&r->pipe);
    if (r->tower) r->tower->ops->free(r->tower);
    pr_secfile_close(&r->file);
    memset(r, 0, sizeof *r);
}

const char *pr_recsys_meta(const pr_recsys *r, const char *key, char *buf, size_t n) {
    size_t kl = strlen(key);
    buf[0] = '\0';
    for (const char *p = r->meta; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t vl = PR_MIN(len - kl - 1, n - 1);
            memcpy(buf, p + kl + 1, vl);
            buf[vl] = '\0';
            break;
        }
        p = nl ? nl + 1 : NULL;
    }
    return buf;
}

int pr_recsys_recommend(const pr_recsys *r, int32_t u, int k, int32_t *idx, float *val) {
    float *row = pr_malloc((size_t)r->n_items, sizeof *row);
    float *scratch = pr_malloc((size_t)(r->d > 0 ? r->d : 1), sizeof *scratch);
    int got = PR_E_NOMEM;
    if (row && scratch && pr_scorer_score(&r->scorer, &u, 1, scratch, row) == 0) {
        for (int64_t p = r->train->indptr[u]; p < r->train->indptr[u + 1]; p++)
            row[r->train->indices[p]] = -INFINITY;
        got = pr_topk(row, r->n_items, k, idx, val);
    }
    free(row);
    free(scratch);
    return got;
}

int pr_recsys_similar(const pr_recsys *r, int32_t i, int k, int32_t *idx, float *val) {
    float *row = pr_malloc((size_t)r->n_items, sizeof *row);
    if (!row) return PR_E_NOMEM;
    if (r->knn) {
        for (int32_t j = 0; j < r->n_items; j++) row[j] = -INFINITY;
        for (int64_t p = r->knn->indptr[i]; p < r->knn->indptr[i + 1]; p++)
            row[r->knn->indices[p]] = r->knn->val[p];
    } else {
        /* cosine similarity of item vectors: row = V . V[i] / (|V_j| |V_i|) */
        const float *vi = r->V + (int64_t)i * r->d;
        double ni = 0;
        for (int q = 0; q < r->d; q++) ni += (double)vi[q] * vi[q];
        for (int32_t j = 0; j < r->n_items; j++) {
            const float *vj = r->V + (int64_t)j * r->d;
            double dot = 0, nj = 0;
            for (int q = 0; q < r->d; q++) {
                dot += (double)vi[q] * vj[q];
                nj += (double)vj[q] * vj[q];
            }
            row[j] = ni > 0 && nj > 0 ? (float)(dot / sqrt(ni * nj)) : -INFINITY;
        }
    }
    row[i] = -INFINITY;
    int got = pr_topk(row, r->n_items, k, idx, val);
    free(row);
    return got;
}

/* ---- new users from a history ------------------------------------------- */

void pr_recsys_foldin_opts(const pr_recsys *r, pr_foldin_opts *o, float *prior) {
    char buf[64];
    pr_foldin_opts_default(o);
    if (*pr_recsys_meta(r, "foldin_reg", buf, sizeof buf)) o->lambda = atof(buf);
    if (*pr_recsys_meta(r, "foldin_target", buf, sizeof buf)) o->target = atof(buf);
    o->bpr = !strcmp(pr_recsys_meta(r, "foldin", buf, sizeof buf), "bpr");
    if (!(o->lambda > 0 && o->lambda < 1e9)) o->lambda = 0.1;
    if (!(o->target > 0 && o->target < 1e9)) o->target = 1.0;
    if (r->U && strcmp(pr_recsys_meta(r, "foldin_prior", buf, sizeof buf), "0") != 0) {
        pr_foldin_prior(r->U, r->n_users, r->d, r->train, prior);
        o->prior = prior;
    }
}

int pr_recsys_history_user(const pr_recsys *r, const int32_t *hist, int n, const pr_foldin_opts *o,
                           float *u, pr_error *err) {
    if (r->knn || !r->V) return pr_err(err, PR_E_STATE, "%s: model '%s' has no item vectors to fold a user into", r->file.path, r->model);
    if (n < 1) return pr_err(err, PR_E_ARG, "history is empty");
    for (int q = 0; q < n; q++)
        if (hist[q] < 0 || hist[q] >= r->n_items) return pr_err(err, PR_E_ARG, "history item %d out of range", hist[q]);
    float *prior = pr_malloc((size_t)r->d, sizeof *prior), *G = NULL;
    int rc = 0;
    pr_foldin_opts fo;
    if (!prior) return pr_err(err, PR_E_NOMEM, "recommend");
    if (o) fo = *o;
    else pr_recsys_foldin_opts(r, &fo, prior);
    if (fo.alpha > 0 && !fo.gram) {
        if (!(G = pr_malloc((size_t)r->d * r->d, sizeof *G))) { rc = pr_err(err, PR_E_NOMEM, "recommend"); goto done; }
        pr_foldin_gram(r->V, r->n_items, r->d, G);
        fo.gram = G;
    }
    rc = pr_foldin(r->V, r->n_items, r->d, hist, n, &fo, u, err);
done:
    free(prior);
    free(G);
    return rc;
}

int pr_recsys_recommend_history(const pr_recsys *r, const int32_t *hist, int n, int k,
                                const pr_foldin_opts *o, int32_t *idx, float *val, pr_error *err) {
    if (n < 1) return pr_err(err, PR_E_ARG, "history is empty");
    for (int q = 0; q < n; q++)
        if (hist[q] < 0 || hist[q] >= r->n_items) return pr_err(err, PR_E_ARG, "history item %d out of range", hist[q]);
    float *row = pr_malloc((size_t)r->n_items, sizeof *row), *u = NULL;
    pr_csr *h = NULL;
    int rc = 0;
    if (!row) return pr_err(err, PR_E_NOMEM, "recommend");
    if (r->knn) {
        int32_t *zeros = pr_calloc((size_t)n, sizeof *zeros);
        if (!zeros) { rc = pr_err(err, PR_E_NOMEM, "recommend"); goto done; }
        rc = pr_csr_from_coo(1, r->n_items, n, zeros, hist, NULL, &h, err);
        free(zeros);
        if (rc) goto done;
        int32_t u0 = 0;
        if ((rc = pr_itemknn_score(r->knn, h, &u0, 1, row))) { rc = pr_err(err, rc, "recommend: scoring"); goto done; }
    } else {
        if (!(u = pr_malloc((size_t)r->d, sizeof *u))) { rc = pr_err(err, PR_E_NOMEM, "recommend"); goto done; }
        if ((rc = pr_recsys_history_user(r, hist, n, o, u, err))) goto done;
        if (r->b) memcpy(row, r->b, (size_t)r->n_items * sizeof *row);
        /* row (n_items) = V (n_items, d) . u (d) (+ b) */
        pr_gemv(PR_NOTRANS, r->n_items, r->d, 1.0f, r->V, r->d, u, r->b ? 1.0f : 0.0f, row);
    }
    for (int q = 0; q < n; q++) row[hist[q]] = -INFINITY;
    rc = pr_topk(row, r->n_items, k, idx, val);
    if (rc < 0) rc = pr_err(err, rc, "recommend: top-k");
done:
    free(row);
    free(u);
    pr_csr_free(h);
    return rc;
}

/* ---- adding items ----------------------------------------------------------- */

/* Serialise writers: an exclusive flock on the file that is at path when the
 * lock is granted (a writer that renamed a new file in meanwhile makes us
 * retry on the new one). Returns the locked fd or a negative code. */
static int lock_model(const char *path, pr_error *err) {
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) return pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno));
        struct stat a, b;
        if (flock(fd, LOCK_EX) != 0) {
            close(fd);
            return pr_err(err, PR_E_IO, "%s: lock: %s", path, strerror(errno));
        }
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) return fd;
        close(fd);
    }
    return pr_err(err, PR_E_IO, "%s: the file keeps being replaced", path);
}

/* meta with n_items=N replaced and added_items=A set (a new heap string). */
static char *meta_with_counts(const char *meta, int32_t n_items, int64_t n_added) {
    size_t len = strlen(meta);
    char *out = malloc(len + 96), *w = out;
    if (!out) return NULL;
    for (const char *p = meta; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (strncmp(p, "n_items=", 8) && strncmp(p, "added_items=", 12)) {
            memcpy(w, p, l);
            w += l;
            if (!nl) *w++ = '\n';
        }
        p += l;
    }
    w += sprintf(w, "n_items=%d\nadded_items=%lld\n", n_items, (long long)n_added);
    *w = '\0';
    return out;
}

/* What adding needs of the file, without decoding the rest (id map of
 * users, training matrix, pipeline, tower): the checksums are verified by
 * the open all the same. r's other fields stay empty; pr_recsys_close frees it. */
static int open_for_add(pr_recsys *r, const char *path, pr_error *err) {
    memset(r, 0, sizeof *r);
    int rc = pr_secfile_open(&r->file, path, err);
    if (rc) return rc;
    const void *p, *V, *b = NULL;
    size_t n, nv, nb = 0;
    int32_t hdr[4];
    if (pr_secfile_get(&r->file, "meta", &p, &n) || !(r->meta = malloc(n + 1))) {
        rc = pr_err(err, PR_E_FORMAT, "%s: section 'meta' is missing", path);
        goto fail;
    }
    memcpy(r->meta, p, n);
    r->meta[n] = '\0';
    char buf[64];
    snprintf(r->model, sizeof r->model, "%s", pr_recsys_meta(r, "model", buf, sizeof buf));
    if (pr_secfile_get(&r->file, "snap", &p, &n)) return 0; /* no vectors: build_added says so */
    if (n != sizeof hdr) { rc = pr_err(err, PR_E_FORMAT, "%s: bad snapshot header", path); goto fail; }
    memcpy(hdr, p, sizeof hdr);
    if (hdr[0] < 0 || hdr[1] < 0 || hdr[2] < 1 || hdr[2] > 100000 || pr_secfile_get(&r->file, "V", &V, &nv) ||
        nv != (size_t)hdr[1] * hdr[2] * 4 || (hdr[3] && (pr_secfile_get(&r->file, "b", &b, &nb) || nb != (size_t)hdr[1] * 4)) ||
        pr_secfile_get(&r->file, "train", &p, &n) || n < 8 || memcmp((const char *)p + 4, &hdr[1], 4)) {
        rc = pr_err(err, PR_E_FORMAT, "%s: snapshot sections are inconsistent", path);
        goto fail;
    }
    r->n_users = hdr[0];
    r->n_items = hdr[1];
    r->d = hdr[2];
    r->V = V;
    r->b = b;
    return 0;
fail:
    pr_recsys_close(r);
    return rc;
}

typedef struct {
    pr_buf items, added;
    pr_buf parts, partw; /* rebuilt sections; empty: copied as they are */
    char *meta;
    void *train, *V, *b;
    int32_t snap[4];
} add_bufs;

static void add_bufs_free(add_bufs *a) {
    pr_buf_free(&a->items);
    pr_buf_free(&a->added);
    pr_buf_free(&a->parts);
    pr_buf_free(&a->partw);
    free(a->meta);
    free(a->train);
    free(a->V);
    free(a->b);
}

/* The "parts" section with the new items' rows appended, when the file has
 * one that covers every old item (else it stays as it is, covering a prefix:
 * later items have no split). The new rows must sum to their V rows. */
static int build_parts(const pr_recsys *r, int n, const char *const *ids, const float *V, const float *b,
                       const pr_added_parts *x, add_bufs *a, pr_error *err) {
    if (!x || !x->P) return 0;
    pr_parts_view v;
    pr_error e2;
    int rc = pr_recsys_parts(r, &v, &e2);
    if (rc == PR_E_NOTFOUND) return 0; /* no section: nothing to extend */
    if (rc) {
        if (err) *err = e2;
        return rc;
    }
    if (x->n_parts != v.n_parts)
        return pr_err(err, PR_E_STATE, "%s: the item tower splits items into %d parts, section 'parts' has %d", r->file.path,
                      x->n_parts, v.n_parts);
    if (v.n_items != r->n_items) return 0;
    pr_parts q = {.n_items = 1, .n_parts = x->n_parts, .d = r->d};
    for (int k = 0; k < n; k++) {
        q.P = (float *)x->P + (int64_t)k * x->n_parts * r->d;
        q.pb = b && x->pb ? (float *)x->pb + (int64_t)k * x->n_parts : NULL;
        double e = pr_parts_error(&q, V + (int64_t)k * r->d, b ? b + k : NULL);
        if (!(e <= 1e-3)) return pr_err(err, PR_E_ARG, "new item '%s': its parts do not sum to its vector (relative error %g)", ids[k], e);
    }
    return pr_parts_view_append(&v, n, x->P, b ? x->pb : NULL, x->flags, &a->parts) ? pr_err(err, PR_E_NOMEM, "%s", r->file.path) : 0;
}

/* The "partw" section with the new items' weights appended, when it covers every old item. */
static int build_partw(const pr_recsys *r, int n, const char *const *ids, const pr_added_parts *x, add_bufs *a,
                       pr_error *err) {
    const void *p;
    size_t sz;
    if (!x || !x->w || pr_secfile_get(&r->file, "partw", &p, &sz)) return 0;
    pr_part_weights pw;
    int rc = pr_recsys_part_weights(r, &pw, err);
    if (rc) return rc;
    float *w = NULL;
    if (x->n_wparts != pw.n_parts) {
        rc = pr_err(err, PR_E_STATE, "%s: the item tower gives %d part weights, section 'partw' has %d", r->file.path,
                    x->n_wparts, pw.n_parts);
        goto done;
    }
    if (pw.n_items != r->n_items) goto done;
    int64_t old = (int64_t)pw.n_items * pw.n_parts, add = (int64_t)n * pw.n_parts;
    for (int64_t k = 0; k < add; k++)
        if (!(x->w[k] >= 0 && x->w[k] <= 1.0001f)) {
            rc = pr_err(err, PR_E_ARG, "new item '%s': part weight %g is not in [0, 1]", ids[k / pw.n_parts], x->w[k]);
            goto done;
        }
    if (!(w = pr_malloc((size_t)(old + add), sizeof *w))) {
        rc = pr_err(err, PR_E_NOMEM, "%s", r->file.path);
        goto done;
    }
    memcpy(w, pw.w, (size_t)old * sizeof *w);
    memcpy(w + old, x->w, (size_t)add * sizeof *w);
    pr_part_weights_save(&a->partw, pw.n_items + n, pw.n_parts, (const char(*)[32])pw.names, w);
    if (a->partw.oom) rc = pr_err(err, PR_E_NOMEM, "%s", r->file.path);
done:
    free(w);
    pr_part_weights_free(&pw);
    return rc;
}

/* Check the new items and build the replaced sections of r's file. */
static int build_added(const pr_recsys *r, int n, const char *const *ids, const float *V,
                       const float *b, const pr_added_parts *x, add_bufs *a, pr_error *err) {
    const char *path = r->file.path;
    if (!r->V) return pr_err(err, PR_E_STATE, "%s: model '%s' has no item vectors; items cannot be added", path, r->model);
    for (int64_t k = 0; k < (int64_t)n * r->d; k++)
        if (!isfinite(V[k])) return pr_err(err, PR_E_ARG, "new item '%s': its vector is not finite", ids[k / r->d]);
    for (int q = 0; b && q < n; q++)
        if (!isfinite(b[q])) return pr_err(err, PR_E_ARG, "new item '%s': its bias is not finite", ids[q]);
    pr_idmap *items = NULL;
    pr_cur c;
    const void *p;
    size_t sz;
    int rc;
    if ((rc = load_blob((pr_recsys *)r, "items", &c, err)) || (rc = pr_idmap_load(&items, &c, err))) return rc;
    if (items->n != r->n_items) rc = pr_err(err, PR_E_FORMAT, "%s: item ids do not match the snapshot", path);
    for (int q = 0; q < n && rc == 0; q++) {
        size_t len = strlen(ids[q]);
        int32_t got = len ? pr_idmap_get(items, ids[q]) : -1;
        if (len == 0) rc = pr_err(err, PR_E_ARG, "new item: empty id");
        else if (got >= r->n_items) rc = pr_err(err, PR_E_ARG, "new item '%s': id repeated among the new items", ids[q]);
        else if (got >= 0) rc = pr_err(err, PR_E_ARG, "new item '%s': already an item of %s", ids[q], path);
        else if (pr_idmap_add(items, ids[q], len) < 0)
            rc = pr_err(err, PR_E_ARG, "new item '%s': id too long or out of memory", ids[q]);
    }
    if (rc == 0) pr_idmap_save(items, &a->items);
    pr_idmap_free(items);
    if (rc) return rc;
    int32_t ni = r->n_items + n;
    size_t vbytes = (size_t)r->n_items * r->d * sizeof(float), nb = (size_t)n * r->d * sizeof(float);
    pr_secfile_get(&r->file, "train", &p, &sz);
    a->train = malloc(sz);
    a->V = malloc(vbytes + nb);
    a->b = r->b ? malloc((size_t)ni * sizeof(float)) : NULL;
    if (!a->train || !a->V || (r->b && !a->b) || a->items.oom) return pr_err(err, PR_E_NOMEM, "%s: adding items", path);
    memcpy(a->train, p, sz); /* the training matrix gains empty columns: patch n_cols */
    uint32_t nc = (uint32_t)ni;
    memcpy((char *)a->train + 4, &nc, 4);
    memcpy(a->V, r->V, vbytes);
    memcpy((char *)a->V + vbytes, V, nb);
    if (a->b) {
        memcpy(a->b, r->b, (size_t)r->n_items * sizeof(float));
        for (int q = 0; q < n; q++) ((float *)a->b)[r->n_items + q] = b ? b[q] : 0.0f;
    }
    a->snap[0] = r->n_users;
    a->snap[1] = ni;
    a->snap[2] = r->d;
    a->snap[3] = r->b != NULL;
    int64_t n_old = 0;
    if (pr_secfile_get(&r->file, "added", &p, &sz) == 0) { /* u32 count, then (id, i64 time) each */
        uint32_t cnt;
        pr_cur_init(&c, p, sz, "added");
        if ((rc = pr_cur_get_u32(&c, &cnt, err))) return rc;
        n_old = cnt;
        pr_buf_put(&a->added, c.p, pr_cur_left(&c));
    }
    pr_buf tail = a->added;
    pr_buf_init(&a->added);
    pr_buf_put_u32(&a->added, (uint32_t)(n_old + n));
    pr_buf_put(&a->added, tail.data, tail.len);
    pr_buf_free(&tail);
    for (int q = 0; q < n; q++) {
        pr_buf_put_str(&a->added, ids[q]);
        pr_buf_put_i64(&a->added, (int64_t)time(NULL));
    }
    if (!(a->meta = meta_with_counts(r->meta, ni, n_old + n)) || a->added.oom) return pr_err(err, PR_E_NOMEM, "%s", path);
    if ((rc = build_parts(r, n, ids, V, b, x, a, err)) || (rc = build_partw(r, n, ids, x, a, err))) return rc;
    return 0;
}

int pr_modelfile_add_items(const char *path, int n, const char *const *ids, const float *V,
                           const float *b, pr_error *err) {
    return pr_modelfile_add_items_ex(path, n, ids, V, b, NULL, err);
}

int pr_modelfile_add_items_ex(const char *path, int n, const char *const *ids, const float *V,
                              const float *b, const pr_added_parts *x, pr_error *err) {
    if (n < 1) return pr_err(err, PR_E_ARG, "add items: nothing to add");
    int fd = lock_model(path, err);
    if (fd < 0) return fd;
    pr_recsys r;
    add_bufs a;
    memset(&a, 0, sizeof a);
    pr_buf_init(&a.items);
    pr_buf_init(&a.added);
    pr_buf_init(&a.parts);
    pr_buf_init(&a.partw);
    pr_secwriter w;
    pr_secwriter_init(&w);
    int rc = open_for_add(&r, path, err), has_added = 0;
    if (rc) goto unlock;
    if ((rc = build_added(&r, n, ids, V, b, x, &a, err))) goto done;
    /* every section in its order, replaced ones swapped in, the rest borrowed from the map */
    for (uint32_t s = 0; s < r.file.n && rc == 0; s++) {
        char name[PR_SEC_NAME + 1] = {0};
        memcpy(name, r.file.table + (size_t)s * (PR_SEC_NAME + 24), PR_SEC_NAME);
        const void *p;
        size_t sz;
        pr_secfile_get(&r.file, name, &p, &sz);
        size_t vb = (size_t)(r.n_items + n) * r.d * sizeof(float);
        if (!strcmp(name, "meta")) rc = pr_secwriter_add(&w, name, a.meta, strlen(a.meta), 0);
        else if (!strcmp(name, "items")) rc = pr_secwriter_add(&w, name, a.items.data, a.items.len, 0);
        else if (!strcmp(name, "train")) rc = pr_secwriter_add(&w, name, a.train, sz, 0);
        else if (!strcmp(name, "snap")) rc = pr_secwriter_add(&w, name, a.snap, sizeof a.snap, 0);
        else if (!strcmp(name, "V")) rc = pr_secwriter_add(&w, name, a.V, vb, 0);
        else if (!strcmp(name, "b")) rc = pr_secwriter_add(&w, name, a.b, (size_t)(r.n_items + n) * sizeof(float), 0);
        else if (!strcmp(name, "added")) has_added = 1, rc = pr_secwriter_add(&w, name, a.added.data, a.added.len, 0);
        else if (!strcmp(name, "parts") && a.parts.len) rc = pr_secwriter_add(&w, name, a.parts.data, a.parts.len, 0);
        else if (!strcmp(name, "partw") && a.partw.len) rc = pr_secwriter_add(&w, name, a.partw.data, a.partw.len, 0);
        else rc = pr_secwriter_add(&w, name, p, sz, 0);
    }
    if (rc == 0 && !has_added) rc = pr_secwriter_add(&w, "added", a.added.data, a.added.len, 0);
    if (rc) { rc = pr_err(err, rc, "%s: adding items", path); goto done; }
    rc = pr_secwriter_write(&w, path, err);
done:
    pr_secwriter_deinit(&w);
    add_bufs_free(&a);
    pr_recsys_close(&r);
unlock:
    close(fd); /* releases the lock */
    return rc;
}
