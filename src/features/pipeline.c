/* features/pipeline.c: content -> aligned, preprocessed item vectors, and
 * the state that encodes one new item the same way (see pipeline.h). */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "data/idmap.h"
#include "features/items.h"

static const char *kind_name(int kind) {
    return kind == PR_MOD_IMAGE ? "image" : kind == PR_MOD_TEXT ? "text" : kind == PR_MOD_AUDIO ? "audio" : "other";
}

/* Value of "MOD=VALUE" for mod in list, or NULL. */
static const char *lookup(const char *const *list, int n, const char *mod) {
    size_t len = strlen(mod);
    for (int i = 0; i < n; i++)
        if (strncmp(list[i], mod, len) == 0 && list[i][len] == '=') return list[i] + len + 1;
    return NULL;
}

static int check_pairs(const char *const *list, int n, const char *flag, pr_error *err) {
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(list[i], '=');
        if (!eq || eq == list[i] || !eq[1] || eq - list[i] >= 32)
            return pr_err(err, PR_E_ARG, "--%s '%s': expected MODALITY=VALUE", flag, list[i]);
    }
    return 0;
}

static int add_mod(pr_pipeline *p, const char *name, int kind, pr_error *err) {
    for (int m = 0; m < p->n_mod; m++)
        if (!strcmp(p->mod[m].name, name)) return pr_err(err, PR_E_ARG, "modality '%s' given twice", name);
    if (p->n_mod >= PR_MAX_MODALITIES) return pr_err(err, PR_E_RANGE, "more than %d modalities", PR_MAX_MODALITIES);
    pr_pipeline_mod *pm = &p->mod[p->n_mod++];
    memset(pm, 0, sizeof *pm);
    snprintf(pm->name, sizeof pm->name, "%s", name);
    pm->kind = kind;
    return 0;
}

/* Encode one raw-content column of the ITEMS file for every dataset item. */
static int encode_column(pr_pipeline *p, int kind, char **column, const pr_items *it,
                         const pr_idmap *rows, const pr_dataset *d, const uint8_t *warm,
                         const pr_pipeline_spec *s, pr_pool *pool, pr_features *f, pr_error *err) {
    const char *name = kind_name(kind);
    int rc = add_mod(p, name, kind, err);
    if (rc) return rc;
    pr_pipeline_mod *pm = &p->mod[p->n_mod - 1];
    const char *spec = lookup(s->encoders, s->n_encoders, name);
    if ((rc = pr_encoder_create(spec ? spec : pr_encoder_default(kind)->name, kind, &pm->enc, err)))
        return rc;
    int32_t n = d->n_items;
    const char **in = pr_calloc((size_t)n, sizeof *in), **fit_in = pr_calloc((size_t)n, sizeof *fit_in);
    uint8_t *status = pr_calloc((size_t)n, 1);
    float *X = NULL;
    if (!in || !fit_in || !status) { rc = pr_err(err, PR_E_NOMEM, "encode %s", name); goto done; }
    for (int32_t i = 0; i < n; i++) {
        int32_t r = pr_idmap_get(rows, pr_idmap_name(d->items, i));
        in[i] = r >= 0 ? column[r] : NULL;
        fit_in[i] = warm[i] ? in[i] : NULL; /* fit on training items only */
    }
    if (pm->enc->ops->fit && (rc = pm->enc->ops->fit(pm->enc, fit_in, n, pool, err))) goto done;
    pm->d_raw = pm->dim = pm->enc->ops->dim(pm->enc);
    if (!(X = pr_malloc((size_t)n * pm->dim, sizeof *X))) { rc = pr_err(err, PR_E_NOMEM, "encode %s", name); goto done; }
    pr_log("encoding %s for %d items with %s", name, n, pm->enc->ops->name);
    if ((rc = pr_encoder_encode_all(pm->enc, in, n, pool, X, status, err))) goto done;
    int64_t miss = 0, failed = 0;
    for (int32_t i = 0; i < n; i++) {
        miss += status[i] == 1;
        failed += status[i] == 2;
        status[i] = status[i] != 0; /* the store's missing mask */
    }
    pr_log("%s: %lld encoded, %lld missing, %lld failed (%lld rows in %s)", name,
           (long long)(n - miss - failed), (long long)miss, (long long)failed, (long long)it->n, s->items);
    rc = pr_features_add(f, name, n, pm->dim, X, status, err);
    X = NULL;
    status = NULL;
done:
    free(in);
    free(fit_in);
    free(status);
    free(X);
    return rc;
}

static int from_items(pr_pipeline *p, const pr_pipeline_spec *s, const pr_dataset *d,
                      const uint8_t *warm, pr_pool *pool, pr_features *f, pr_error *err) {
    pr_items *it = NULL;
    pr_idmap *rows = pr_idmap_new();
    int rc = rows ? pr_items_read(s->items, NULL, &it, err) : pr_err(err, PR_E_NOMEM, "items");
    if (rc) goto done;
    for (int64_t r = 0; r < it->n; r++) {
        int32_t got = pr_idmap_add(rows, it->id[r], strlen(it->id[r]));
        if (got < 0) { rc = pr_err(err, got, "%s: item id '%s' too long", s->items, it->id[r]); goto done; }
        if (got != (int32_t)r) { rc = pr_err(err, PR_E_PARSE, "%s: item '%s' listed twice", s->items, it->id[r]); goto done; }
    }
    if (it->has_image && (rc = encode_column(p, PR_MOD_IMAGE, it->image, it, rows, d, warm, s, pool, f, err))) goto done;
    if (it->has_text && (rc = encode_column(p, PR_MOD_TEXT, it->text, it, rows, d, warm, s, pool, f, err))) goto done;
    if (it->has_audio && (rc = encode_column(p, PR_MOD_AUDIO, it->audio, it, rows, d, warm, s, pool, f, err))) goto done;
done:
    pr_items_free(it);
    pr_idmap_free(rows);
    return rc;
}

int pr_pipeline_build(const pr_pipeline_spec *s, const pr_dataset *d, pr_pool *pool,
                      pr_pipeline *p, pr_features **feat, pr_error *err) {
    memset(p, 0, sizeof *p);
    int rc;
    if ((rc = check_pairs(s->features, s->n_features, "features", err)) ||
        (rc = check_pairs(s->encoders, s->n_encoders, "encoder", err)) ||
        (rc = check_pairs(s->preproc, s->n_preproc, "preproc", err)))
        return rc;
    pr_features *f = pr_features_new();
    uint8_t *warm = pr_calloc((size_t)d->n_items, 1);
    int32_t *warm_ids = pr_malloc((size_t)d->n_items, sizeof *warm_ids);
    int64_t n_warm = 0;
    if (!f || !warm || !warm_ids) { rc = pr_err(err, PR_E_NOMEM, "features"); goto fail; }
    for (int64_t k = 0; k < d->train->nnz; k++) warm[d->train->indices[k]] = 1;
    for (int32_t i = 0; i < d->n_items; i++)
        if (warm[i]) warm_ids[n_warm++] = i;
    if (s->items && (rc = from_items(p, s, d, warm, pool, f, err))) goto fail;
    for (int k = 0; k < s->n_features; k++) {
        char name[32];
        const char *eq = strchr(s->features[k], '=');
        snprintf(name, sizeof name, "%.*s", (int)(eq - s->features[k]), s->features[k]);
        if ((rc = add_mod(p, name, -1, err))) goto fail;
        if ((rc = pr_features_load(f, name, eq + 1, d->items, err))) goto fail;
        p->mod[p->n_mod - 1].d_raw = p->mod[p->n_mod - 1].dim = pr_features_get(f, name)->dim;
    }
    for (int k = 0; k < s->n_preproc; k++) {
        const char *eq = strchr(s->preproc[k], '=');
        int m = 0;
        while (m < p->n_mod && (strncmp(p->mod[m].name, s->preproc[k], (size_t)(eq - s->preproc[k])) ||
                                p->mod[m].name[eq - s->preproc[k]]))
            m++;
        if (m == p->n_mod) { rc = pr_err(err, PR_E_ARG, "--preproc '%s': no such modality", s->preproc[k]); goto fail; }
        pr_modality *mod = &f->mod[m];
        pr_pipeline_mod *pm = &p->mod[m];
        if ((rc = pr_preproc_new(eq + 1, mod->dim, s->seed, &pm->pre, err)) ||
            (rc = pr_preproc_fit_modality(pm->pre, mod, warm_ids, n_warm, pool, err)) ||
            (rc = pr_preproc_apply_modality(pm->pre, mod, pool, err)))
            goto fail;
        pm->dim = mod->dim;
        pr_log("%s: preprocessed with %s to %d dims", mod->name, eq + 1, pm->dim);
    }
    free(warm);
    free(warm_ids);
    *feat = f;
    return 0;
fail:
    free(warm);
    free(warm_ids);
    pr_features_free(f);
    pr_pipeline_deinit(p);
    return rc;
}

void pr_pipeline_deinit(pr_pipeline *p) {
    for (int m = 0; m < p->n_mod; m++) {
        pr_encoder_free(p->mod[m].enc);
        pr_preproc_free(p->mod[m].pre);
    }
    memset(p, 0, sizeof *p);
}

int pr_pipeline_save(const pr_pipeline *p, pr_secwriter *w) {
    pr_buf b;
    pr_buf_init(&b);
    pr_buf_put_u32(&b, (uint32_t)p->n_mod);
    for (int m = 0; m < p->n_mod; m++) {
        const pr_pipeline_mod *pm = &p->mod[m];
        pr_buf_put_str(&b, pm->name);
        pr_buf_put_u32(&b, (uint32_t)(pm->kind + 1));
        pr_buf_put_u32(&b, (uint32_t)pm->d_raw);
        pr_buf_put_u32(&b, (uint32_t)pm->dim);
        pr_buf_put_u32(&b, pm->enc != NULL);
        pr_buf_put_u32(&b, pm->pre != NULL);
        if (pm->enc) pr_encoder_save(pm->enc, &b);
        if (pm->pre) pr_preproc_save(pm->pre, &b);
    }
    int rc = b.oom ? PR_E_NOMEM : pr_secwriter_add(w, "pipe", b.data, b.len, 1);
    pr_buf_free(&b);
    return rc;
}

int pr_pipeline_load(pr_pipeline *p, const pr_secfile *f, pr_error *err) {
    memset(p, 0, sizeof *p);
    const void *data;
    size_t size;
    if (pr_secfile_get(f, "pipe", &data, &size)) return 0;
    pr_cur c;
    pr_cur_init(&c, data, size, "pipe");
    uint32_t n;
    int rc = pr_cur_get_u32(&c, &n, err);
    if (rc) return rc;
    if (n > PR_MAX_MODALITIES) return pr_err(err, PR_E_FORMAT, "pipe: %u modalities", n);
    for (uint32_t m = 0; m < n; m++) {
        pr_pipeline_mod *pm = &p->mod[m];
        char *name = NULL;
        uint32_t kind, d_raw, dim, has_enc, has_pre;
        if ((rc = pr_cur_get_str(&c, &name, 31, err))) goto fail;
        snprintf(pm->name, sizeof pm->name, "%s", name);
        free(name);
        p->n_mod = (int)m + 1;
        if ((rc = pr_cur_get_u32(&c, &kind, err)) || (rc = pr_cur_get_u32(&c, &d_raw, err)) ||
            (rc = pr_cur_get_u32(&c, &dim, err)) || (rc = pr_cur_get_u32(&c, &has_enc, err)) ||
            (rc = pr_cur_get_u32(&c, &has_pre, err)))
            goto fail;
        if (kind > 4 || d_raw < 1 || d_raw > (1u << 24) || dim < 1 || dim > d_raw) {
            rc = pr_err(err, PR_E_FORMAT, "pipe: modality '%s' header is corrupt", pm->name);
            goto fail;
        }
        pm->kind = (int)kind - 1;
        pm->d_raw = (int)d_raw;
        pm->dim = (int)dim;
        if (has_enc && (rc = pr_encoder_load(&pm->enc, &c, err))) goto fail;
        if (has_pre && (rc = pr_preproc_load(&pm->pre, &c, err))) goto fail;
        if ((pm->enc && pm->enc->ops->dim(pm->enc) != pm->d_raw) || (pm->pre && pr_preproc_dim(pm->pre) != pm->dim)) {
            rc = pr_err(err, PR_E_FORMAT, "pipe: modality '%s' dimensions disagree", pm->name);
            goto fail;
        }
    }
    return 0;
fail:
    pr_pipeline_deinit(p);
    return rc;
}

int pr_pipeline_encode_item(const pr_pipeline *p, const pr_item_content *c, float **out,
                            uint8_t *present, pr_error *err) {
    int rc = 0;
    for (int m = 0; m < p->n_mod; m++) {
        const pr_pipeline_mod *pm = &p->mod[m];
        present[m] = 0;
        float *raw = NULL;
        const float *src = NULL;
        if (pm->enc) {
            const char *in = pm->kind == PR_MOD_IMAGE ? c->image : pm->kind == PR_MOD_TEXT ? c->text : c->audio;
            if (!in) continue;
            if (!(raw = pr_malloc((size_t)pm->d_raw, sizeof *raw))) return pr_err(err, PR_E_NOMEM, "encode");
            if ((rc = pm->enc->ops->encode(pm->enc, in, raw, err))) {
                free(raw);
                return pr_err_wrap(err, "%s: ", pm->name);
            }
            src = raw;
        } else {
            if (!c->vec[m]) continue;
            src = c->vec[m];
        }
        for (int k = 0; k < pm->d_raw && rc == 0; k++)
            if (src[k] != src[k] || src[k] - src[k] != 0) rc = pr_err(err, PR_E_NUMERIC, "%s: value %d is not finite", pm->name, k);
        if (rc == 0) {
            if (pm->pre) rc = pr_preproc_apply(pm->pre, src, 1, NULL, out[m], NULL, err);
            else memcpy(out[m], src, (size_t)pm->d_raw * sizeof *src);
        }
        free(raw);
        if (rc) return rc;
        present[m] = 1;
    }
    return 0;
}
