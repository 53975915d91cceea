/* models/content.c: shared machinery of the content models (see content.h). */
#include "content.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"
#include "models/parts.h"

/* ---- the feature view ---------------------------------------------------- */

int pr_content_init(pr_content *c, const pr_features *f, int32_t n_items, const char *who,
                    pr_error *err) {
    memset(c, 0, sizeof *c);
    if (!f || f->n_mod < 1) return pr_err(err, PR_E_ARG, "%s needs item features", who);
    if (f->n_mod > PR_MAX_MODALITIES)
        return pr_err(err, PR_E_ARG, "%s: %d modalities (at most %d)", who, f->n_mod, PR_MAX_MODALITIES);
    c->n_items = n_items;
    for (int m = 0; m < f->n_mod; m++) {
        const pr_modality *x = &f->mod[m];
        if (x->n_items != n_items)
            return pr_err(err, PR_E_ARG, "%s: modality '%s' has %d rows, the dataset %d items", who,
                          x->name, x->n_items, n_items);
        if (x->dim < 1 || !x->X)
            return pr_err(err, PR_E_ARG, "%s: modality '%s' has no values (dim %d)", who, x->name, x->dim);
        if (c->D > (1 << 24) - x->dim)
            return pr_err(err, PR_E_RANGE, "%s: features wider than 2^24 in all", who);
        c->dim[m] = x->dim;
        c->off[m] = c->D;
        c->D += x->dim;
        c->X[m] = x->X;
        c->missing[m] = x->missing;
        memcpy(c->name[m], x->name, sizeof c->name[m]);
        c->name[m][sizeof c->name[m] - 1] = 0;
    }
    c->n_mod = f->n_mod;
    return 0;
}

void pr_content_gather(const pr_content *c, const int32_t *items, int64_t n, const uint8_t *keep,
                       float *X, int64_t ldx) {
    int M = c->n_mod;
    for (int64_t r = 0; r < n; r++) {
        float *row = X + r * ldx;
        for (int m = 0; m < M; m++) {
            size_t bytes = (size_t)c->dim[m] * sizeof *row;
            if (keep && !keep[r * (M + 1) + 1 + m]) memset(row + c->off[m], 0, bytes);
            else memcpy(row + c->off[m], c->X[m] + (int64_t)items[r] * c->dim[m], bytes);
        }
    }
}

void pr_content_gather_diff(const pr_content *c, const int32_t *a, const int32_t *b, int64_t n,
                            const uint8_t *keep_a, const uint8_t *keep_b, float *X, int64_t ldx) {
    int M = c->n_mod;
    for (int64_t r = 0; r < n; r++) {
        float *row = X + r * ldx;
        for (int m = 0; m < M; m++) {
            int dm = c->dim[m];
            int ka = !keep_a || keep_a[r * (M + 1) + 1 + m], kb = !keep_b || keep_b[r * (M + 1) + 1 + m];
            const float *xa = c->X[m] + (int64_t)a[r] * dm, *xb = c->X[m] + (int64_t)b[r] * dm;
            float *o = row + c->off[m];
            if (ka && kb)
                for (int k = 0; k < dm; k++) o[k] = xa[k] - xb[k];
            else if (ka)
                memcpy(o, xa, (size_t)dm * sizeof *o);
            else if (kb)
                for (int k = 0; k < dm; k++) o[k] = -xb[k];
            else
                memset(o, 0, (size_t)dm * sizeof *o);
        }
    }
}

/* ---- distinct items of a batch ------------------------------------------- */

int pr_batch_items_init(pr_batch_items *u, int32_t n_items, int cap) {
    memset(u, 0, sizeof *u);
    u->n_items = n_items;
    u->cap = cap;
    u->items = pr_malloc((size_t)cap * 2, sizeof *u->items);
    u->pos = pr_malloc((size_t)cap, sizeof *u->pos);
    u->neg = pr_malloc((size_t)cap, sizeof *u->neg);
    u->cnt = pr_malloc((size_t)cap * 2, sizeof *u->cnt);
    u->slot = pr_malloc((size_t)n_items, sizeof *u->slot);
    u->mark = pr_calloc((size_t)n_items, sizeof *u->mark);
    if (!u->items || !u->pos || !u->neg || !u->cnt || !u->slot || !u->mark) {
        pr_batch_items_deinit(u);
        return PR_E_NOMEM;
    }
    return 0;
}

void pr_batch_items_deinit(pr_batch_items *u) {
    free(u->items);
    free(u->pos);
    free(u->neg);
    free(u->cnt);
    free(u->slot);
    free(u->mark);
    memset(u, 0, sizeof *u);
}

static inline int32_t batch_item_slot(pr_batch_items *u, int32_t item) {
    if (u->mark[item] != u->stamp) {
        u->mark[item] = u->stamp;
        u->slot[item] = u->n;
        u->cnt[u->n] = 0;
        u->items[u->n++] = item;
    }
    u->cnt[u->slot[item]]++;
    return u->slot[item];
}

void pr_batch_items_build(pr_batch_items *u, const pr_batch *bt) {
    if (++u->stamp == 0) { /* wrapped: clear once every 2^32 batches */
        memset(u->mark, 0, (size_t)u->n_items * sizeof *u->mark);
        u->stamp = 1;
    }
    u->n = 0;
    for (int s = 0; s < bt->B; s++) {
        u->pos[s] = batch_item_slot(u, bt->i[s]);
        u->neg[s] = batch_item_slot(u, bt->j[(int64_t)s * bt->n_neg]);
    }
}

/* ---- modality dropout ---------------------------------------------------- */

static inline uint64_t mix64(uint64_t x) { /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Uniform [0, 1) for part `part` of `item` at `step`: a counter-based draw. */
static inline float drop_u01(uint64_t seed, int64_t step, int32_t item, int part) {
    uint64_t h = mix64(seed ^ mix64((uint64_t)step * 0x9e3779b97f4a7c15ULL + (uint64_t)(uint32_t)item));
    h = mix64(h + (uint64_t)part * 0xd1b54a32d192ed03ULL);
    return (float)(h >> 40) * (1.0f / 16777216.0f);
}

void pr_moddrop_draw(const pr_moddrop *d, const pr_content *c, const int32_t *items, int64_t n,
                     int64_t step, uint8_t *keep) {
    int M = c->n_mod, on = d && pr_moddrop_on(d);
    for (int64_t r = 0; r < n; r++) {
        uint8_t *k = keep + r * (M + 1);
        int32_t it = items[r];
        k[0] = !on || d->p_id <= 0 || drop_u01(d->seed, step, it, 0) >= d->p_id;
        int any = k[0];
        for (int m = 0; m < M; m++) {
            int present = pr_content_has(c, m, it);
            k[1 + m] = present && (!on || d->p_mod <= 0 || drop_u01(d->seed, step, it, 1 + m) >= d->p_mod);
            any |= k[1 + m];
        }
        if (!any) k[0] = 1;
    }
}

/* ---- initialisation ------------------------------------------------------ */

void pr_init_xavier_normal(float *W, int64_t n, int64_t fan_in, int64_t fan_out, pr_rng *r) {
    float std = sqrtf(2.0f / (float)(fan_in + fan_out));
    for (int64_t k = 0; k < n; k++) W[k] = std * pr_rng_normal(r);
}

/* ---- keys ---------------------------------------------------------------- */

int pr_key_int(const pr_config *c, const char *who, const char *key, long dflt, long lo, long hi,
               int *out, pr_error *err) {
    const char *s = pr_config_s(c, key, NULL);
    long v = dflt;
    if (s) {
        char *end;
        errno = 0;
        v = strtol(s, &end, 10);
        if (end == s || *end || errno) v = lo - 1;
    }
    if (v < lo || v > hi)
        return pr_err(err, PR_E_ARG, "%s: %s='%s' is not an integer in [%ld, %ld]", who, key,
                      s ? s : "", lo, hi);
    *out = (int)v;
    return 0;
}

int pr_key_float(const pr_config *c, const char *who, const char *key, double dflt, double lo,
                 double hi, float *out, pr_error *err) {
    const char *s = pr_config_s(c, key, NULL);
    double v = dflt;
    if (s) {
        char *end;
        v = strtod(s, &end);
        if (end == s || *end) v = NAN;
    }
    if (!(v >= lo && v <= hi))
        return pr_err(err, PR_E_ARG, "%s: %s='%s' is not a number in [%g, %g]", who, key, s ? s : "",
                      lo, hi);
    *out = (float)v;
    return 0;
}

int pr_key_choice(const pr_config *c, const char *who, const char *key, const char *const *names,
                  int *out, pr_error *err) {
    const char *s = pr_config_s(c, key, names[0]);
    for (int k = 0; names[k]; k++)
        if (!strcmp(s, names[k])) {
            *out = k;
            return 0;
        }
    char list[256] = "";
    size_t len = 0;
    for (int k = 0; names[k] && len < sizeof list; k++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "", names[k]);
    return pr_err(err, PR_E_ARG, "%s: %s='%s' is not one of %s", who, key, s, list);
}

/* ---- towers -------------------------------------------------------------- */

void pr_tower_head_save(pr_buf *b, const char *model, int d, const pr_content *c) {
    pr_buf_put_u32(b, PR_TOWER_MAGIC);
    pr_buf_put_u32(b, PR_TOWER_VERSION);
    pr_buf_put_str(b, model);
    pr_buf_put_u32(b, (uint32_t)d);
    pr_buf_put_u32(b, (uint32_t)c->n_mod);
    for (int m = 0; m < c->n_mod; m++) {
        pr_buf_put_str(b, c->name[m]);
        pr_buf_put_u32(b, (uint32_t)c->dim[m]);
    }
}

int pr_tower_head_load(pr_tower *t, pr_cur *cur, const char *model, pr_error *err) {
    uint32_t magic, version, d, n_mod, dim;
    char *name = NULL;
    int rc;
    if ((rc = pr_cur_get_u32(cur, &magic, err)) || (rc = pr_cur_get_u32(cur, &version, err))) return rc;
    if (magic != PR_TOWER_MAGIC || version != PR_TOWER_VERSION)
        return pr_err(err, PR_E_FORMAT, "%s: not a tower blob (magic %08x, version %u)", cur->what,
                      magic, version);
    if ((rc = pr_cur_get_str(cur, &name, 32, err))) return rc;
    int same = strcmp(name, model) == 0;
    if (!same) rc = pr_err(err, PR_E_FORMAT, "%s: tower of model '%s', expected '%s'", cur->what, name, model);
    free(name);
    if (rc) return rc;
    if ((rc = pr_cur_get_u32(cur, &d, err)) || (rc = pr_cur_get_u32(cur, &n_mod, err))) return rc;
    if (d < 1 || d > 65536 || n_mod < 1 || n_mod > PR_MAX_MODALITIES)
        return pr_err(err, PR_E_FORMAT, "%s: tower d=%u with %u modalities", cur->what, d, n_mod);
    t->d = (int)d;
    t->n_mod = (int)n_mod;
    for (int m = 0; m < t->n_mod; m++) {
        if ((rc = pr_cur_get_str(cur, &name, sizeof t->names[m] - 1, err))) return rc;
        snprintf(t->names[m], sizeof t->names[m], "%s", name);
        free(name);
        if ((rc = pr_cur_get_u32(cur, &dim, err))) return rc;
        if (dim < 1 || dim > (1u << 24))
            return pr_err(err, PR_E_FORMAT, "%s: modality '%s' width %u", cur->what, t->names[m], dim);
        t->dims[m] = (int)dim;
    }
    return 0;
}

int pr_tower_check_input(const pr_tower *t, const float *const *x, pr_error *err) {
    for (int m = 0; m < t->n_mod; m++) {
        if (!x[m]) continue;
        for (int k = 0; k < t->dims[m]; k++)
            if (!isfinite(x[m][k]))
                return pr_err(err, PR_E_NUMERIC, "%s tower: modality '%s' value %d is not finite",
                              t->ops ? t->ops->name : "item", t->names[m], k);
    }
    return 0;
}

int pr_cur_get_f32s_n(pr_cur *c, float **x, int64_t n, const char *what, pr_error *err) {
    int64_t got;
    *x = NULL;
    int rc = pr_cur_get_f32s(c, x, &got, err);
    if (rc) return rc;
    if (got != n) {
        free(*x);
        *x = NULL;
        return pr_err(err, PR_E_FORMAT, "%s: %s has %lld values, expected %lld", c->what, what,
                      (long long)got, (long long)n);
    }
    return 0;
}

/* ==== fused item towers (concatenation and attention fusion) ================ */

typedef struct fused {
    pr_model base;
    pr_fusion fu;
    pr_content c;
    int d, dout, M1, cap, R; /* part width, width of e_i and p_u, parts, largest batch, rows (2 cap) */
    float reg;
    pr_moddrop drop;
    pr_params P;             /* user (n_users, dout) | item (n_items, d) | proj.* | fusion */
    int64_t oU, oI, oW[PR_MAX_MODALITIES];
    pr_embed eU, eI;
    pr_rowgrad gU, gI;       /* slots: user s -> gU[s]; distinct item r -> gI[r] */
    pr_embed_opt eopt;
    pr_optim dopt;
    pr_batch_items bi;
    int32_t *ids;            /* (R) scratch item list for the snapshot */
    uint8_t *mask;           /* (R, M1) parts present and kept */
    float *Xc;               /* (R, D) gathered content */
    float *H, *dH;           /* (R, M1 d) parts and their gradient */
    float *E, *dE;           /* (R, dout) fused item vectors and their gradient */
    float *act;              /* fusion activations for R rows */
    float *x, *cs;           /* (cap) score differences, d loss / d x */
    double *loss_part;       /* (threads) */
    int64_t step;            /* steps taken: keys dropout draws */
} fused;

/* Projections "proj.<modality>.W" (d, D_m), then the fusion's tensors. */
static int declare_tower(pr_fusion *fu, int n_mod, const char (*names)[32], const int *dims,
                         pr_params *P, int64_t *oW, pr_error *err) {
    for (int m = 0; m < n_mod; m++) {
        char nm[48];
        pr_linear lin;
        snprintf(nm, sizeof nm, "proj.%s", names[m]);
        pr_linear_init(&lin, P, nm, dims[m], fu->d, 0);
        oW[m] = lin.W;
    }
    return fu->ops->declare(fu, P, err);
}

static void fused_free_model(fused *m) {
    pr_embed_deinit(&m->eU);
    pr_embed_deinit(&m->eI);
    pr_rowgrad_deinit(&m->gU);
    pr_rowgrad_deinit(&m->gI);
    pr_optim_deinit(&m->dopt);
    pr_batch_items_deinit(&m->bi);
    pr_params_deinit(&m->P);
    free(m->ids);
    free(m->mask);
    pr_free_aligned(m->Xc);
    pr_free_aligned(m->H);
    pr_free_aligned(m->dH);
    pr_free_aligned(m->E);
    pr_free_aligned(m->dE);
    pr_free_aligned(m->act);
    free(m->x);
    free(m->cs);
    free(m->loss_part);
    free(m);
}

void pr_fused_free(pr_model *base) {
    if (base) fused_free_model((fused *)base);
}

static int fused_keys(fused *m, const pr_config *c, pr_error *err) {
    const char *who = m->fu.ops->name;
    float wd = 0;
    int rc, kind;
    if ((rc = pr_key_float(c, who, "drop_id", 0, 0, 1, &m->drop.p_id, err)) ||
        (rc = pr_key_float(c, who, "drop_mod", m->fu.ops->drop_mod, 0, 1, &m->drop.p_mod, err)) ||
        (rc = pr_key_float(c, who, "wd", m->fu.ops->wd, 0, 1e6, &wd, err)) ||
        (rc = m->fu.ops->keys(&m->fu, c, err)) || (rc = pr_embed_opt_parse(c->optim, &kind, err)))
        return rc;
    m->drop.seed = c->seed ^ 0x66757365ULL;
    m->reg = c->reg;
    pr_embed_opt_init(&m->eopt, kind, c->lr);
    pr_optim_cfg cfg;
    pr_optim_cfg_defaults(&cfg, kind == PR_EMB_SGD ? PR_OPT_SGD : PR_OPT_ADAM);
    cfg.lr = c->lr;
    cfg.weight_decay = wd;
    return pr_optim_init_params(&m->dopt, &cfg, &m->P, err);
}

static int fused_alloc(fused *m, pr_pool *pool) {
    int64_t R = m->R, D = m->c.D, M1 = m->M1, d = m->d;
    m->ids = pr_malloc((size_t)R, sizeof *m->ids);
    m->mask = pr_malloc((size_t)(R * M1), 1);
    m->Xc = pr_alloc_aligned((size_t)(R * D), sizeof *m->Xc);
    m->H = pr_alloc_aligned((size_t)(R * M1 * d), sizeof *m->H);
    m->dH = pr_alloc_aligned((size_t)(R * M1 * d), sizeof *m->dH);
    m->E = pr_alloc_aligned((size_t)(R * m->dout), sizeof *m->E);
    m->dE = pr_alloc_aligned((size_t)(R * m->dout), sizeof *m->dE);
    m->act = pr_alloc_aligned((size_t)m->fu.ops->act_size(&m->fu, (int)R), sizeof *m->act);
    m->x = pr_malloc((size_t)m->cap, sizeof *m->x);
    m->cs = pr_malloc((size_t)m->cap, sizeof *m->cs);
    m->loss_part = pr_calloc((size_t)pr_pool_size(pool), sizeof *m->loss_part);
    return m->ids && m->mask && m->Xc && m->H && m->dH && m->E && m->dE && m->act && m->x &&
                   m->cs && m->loss_part
               ? 0
               : PR_E_NOMEM;
}

int pr_fused_init(pr_model **out, const pr_fusion_ops *fops, const pr_dataset *data,
                  const pr_features *f, const pr_config *c, pr_pool *pool, pr_error *err) {
    fused *m = pr_calloc(1, sizeof *m);
    if (!m) return pr_err(err, PR_E_NOMEM, "%s", fops->name);
    int32_t nu = data->n_users, ni = data->n_items;
    int rc;
    m->base.data = data;
    m->base.cfg = c;
    m->base.pool = pool;
    m->fu.ops = fops;
    pr_params_init(&m->P);
    if ((rc = pr_content_init(&m->c, f, ni, fops->name, err))) goto fail;
    m->d = m->fu.d = c->d;
    m->M1 = m->fu.M1 = 1 + m->c.n_mod;
    m->cap = c->batch;
    m->R = 2 * c->batch;
    /* keys before the layout (the fusion's width comes from them), optimizer after */
    if ((rc = fops->keys(&m->fu, c, err))) goto fail;
    m->dout = m->fu.dout;
    if (m->dout < 1 || m->dout > PR_EMBED_MAX_D) {
        rc = pr_err(err, PR_E_RANGE, "%s: output width %d not in [1, %d]", fops->name, m->dout, PR_EMBED_MAX_D);
        goto fail;
    }
    m->oU = pr_params_add_ex(&m->P, "user", nu, m->dout, PR_PARAM_SPARSE);
    m->oI = pr_params_add_ex(&m->P, "item", ni, m->d, PR_PARAM_SPARSE);
    if ((rc = declare_tower(&m->fu, m->c.n_mod, (const char(*)[32])m->c.name, m->c.dim, &m->P, m->oW, err)) ||
        (rc = pr_params_alloc(&m->P, err)) || (rc = fused_keys(m, c, err)))
        goto fail;
    m->base.params = m->P.w;
    m->base.n_params = m->P.n_params;
    pr_rng r;
    pr_rng_init(&r, c->seed, 0x66757365ULL);
    pr_init_xavier_normal(m->P.w + m->oU, (int64_t)nu * m->dout, nu, m->dout, &r);
    pr_init_xavier_normal(m->P.w + m->oI, (int64_t)ni * m->d, ni, m->d, &r);
    for (int k = 0; k < m->c.n_mod; k++) pr_params_xavier(&m->P, m->oW[k], &r);
    fops->init_params(&m->fu, &m->P, &r);
    int kind = m->eopt.kind;
    if (pr_embed_init(&m->eU, m->P.w + m->oU, nu, m->dout, kind) ||
        pr_embed_init(&m->eI, m->P.w + m->oI, ni, m->d, kind) ||
        pr_rowgrad_init(&m->gU, nu, m->dout, m->cap, kind == PR_EMB_ADAM_DENSE) ||
        pr_rowgrad_init(&m->gI, ni, m->d, m->R, kind == PR_EMB_ADAM_DENSE) ||
        pr_batch_items_init(&m->bi, ni, m->cap) || fused_alloc(m, pool)) {
        rc = pr_err(err, PR_E_NOMEM, "%s: %d users x %d items, %d features, d=%d, batch %d", fops->name,
                    nu, ni, m->c.D, m->d, m->cap);
        goto fail;
    }
    pr_blas_threads(1); /* pool threads each run their own GEMMs */
    *out = &m->base;
    return 0;
fail:
    fused_free_model(m);
    return rc;
}

/* ---- parts of a set of items ----------------------------------------------- */

typedef struct {
    fused *m;
    const int32_t *items;
    int n;
} parts_job;

static void parts_slice(void *ctx, int ith, int nth) {
    parts_job *J = ctx;
    fused *m = J->m;
    int64_t lo, hi, D = m->c.D, M1 = m->M1, d = m->d;
    pr_split(J->n, ith, nth, &lo, &hi);
    if (hi <= lo) return;
    pr_content_gather(&m->c, J->items + lo, hi - lo, m->mask + lo * M1, m->Xc + lo * D, D);
    const float *I = m->P.w + m->oI;
    for (int64_t r = lo; r < hi; r++) {
        float *h = m->H + r * M1 * d;
        if (m->mask[r * M1]) memcpy(h, I + (int64_t)J->items[r] * d, (size_t)d * sizeof *h);
        else memset(h, 0, (size_t)d * sizeof *h);
    }
}

/* mask, Xc and H for items[0..n) (n <= R); training draws modality dropout.
 * with_id = 0 masks every ID part (what the tower sees for a new item). */
static void build_parts(fused *m, const int32_t *items, int n, int train, int with_id) {
    int M1 = m->M1, d = m->d;
    pr_moddrop_draw(train ? &m->drop : NULL, &m->c, items, n, m->step, m->mask);
    for (int r = 0; r < n && !with_id; r++) m->mask[(int64_t)r * M1] = 0;
    parts_job J = {m, items, n};
    pr_pool_run(m->base.pool, parts_slice, &J);
    /* H[:, part 1+k] (n, d) = Xc[:, modality k] (n, D_k) . W_k^T (D_k, d) */
    for (int k = 0; k < m->c.n_mod; k++)
        pr_par_gemm(m->base.pool, PR_NOTRANS, PR_TRANS, n, d, m->c.dim[k], 1.0f, m->Xc + m->c.off[k],
                    m->c.D, m->P.w + m->oW[k], m->c.dim[k], 0.0f, m->H + (int64_t)(1 + k) * d, M1 * d);
}

static void fuse(fused *m, int n, int train) {
    pr_rng r;
    pr_rng_init(&r, m->drop.seed, 0x6d6c70ULL + (uint64_t)m->step); /* MLP dropout masks */
    m->fu.ops->forward(&m->fu, m->P.w, m->H, m->mask, m->E, m->act, n, train, &r);
}

/* ---- forward / backward ------------------------------------------------------ */

typedef struct {
    fused *m;
    const pr_batch *b;
} fused_job;

static void fused_loss_slice(void *ctx, int ith, int nth) {
    fused_job *J = ctx;
    fused *m = J->m;
    const pr_batch *bt = J->b;
    int64_t lo, hi;
    int d = m->d, dout = m->dout;
    pr_split(bt->B, ith, nth, &lo, &hi);
    const float *U = m->P.w + m->oU, *I = m->P.w + m->oI;
    double loss = 0;
    for (int64_t s = lo; s < hi; s++) {
        const float *pu = U + (int64_t)bt->u[s] * dout, *ei = m->E + (int64_t)m->bi.pos[s] * dout,
                    *ej = m->E + (int64_t)m->bi.neg[s] * dout;
        float x = 0;
        for (int k = 0; k < dout; k++) x += pu[k] * (ei[k] - ej[k]);
        m->x[s] = x;
        loss += x > 0 ? log1pf(expf(-x)) : -x + log1pf(expf(x));
        if (m->reg > 0) {
            const float *qi = I + (int64_t)bt->i[s] * d, *qj = I + (int64_t)bt->j[s * bt->n_neg] * d;
            float r2 = 0;
            for (int k = 0; k < dout; k++) r2 += pu[k] * pu[k];
            for (int k = 0; k < d; k++) r2 += qi[k] * qi[k] + qj[k] * qj[k];
            loss += m->reg * r2;
        }
    }
    m->loss_part[ith] = loss;
}

double pr_fused_forward(pr_model *base, const pr_batch *bt) {
    fused *m = (fused *)base;
    pr_batch_items_build(&m->bi, bt);
    build_parts(m, m->bi.items, m->bi.n, 1, 1);
    fuse(m, m->bi.n, 1);
    fused_job J = {m, bt};
    pr_pool_run(base->pool, fused_loss_slice, &J);
    double loss = 0;
    for (int t = 0; t < pr_pool_size(base->pool); t++) loss += m->loss_part[t];
    return loss / bt->B;
}

/* d loss / d x_s = -sigmoid(-x_s) / B; user slots, one per sample. */
static void fused_user_slice(void *ctx, int ith, int nth) {
    fused_job *J = ctx;
    fused *m = J->m;
    const pr_batch *bt = J->b;
    int64_t lo, hi;
    int d = m->dout;
    pr_split(bt->B, ith, nth, &lo, &hi);
    float invB = 1.0f / (float)bt->B, r2 = 2.0f * m->reg * invB;
    const float *U = m->P.w + m->oU;
    for (int64_t s = lo; s < hi; s++) {
        float x = m->x[s], sg = x >= 0 ? expf(-x) / (1.0f + expf(-x)) : 1.0f / (1.0f + expf(x));
        float c = -sg * invB;
        const float *pu = U + (int64_t)bt->u[s] * d, *ei = m->E + (int64_t)m->bi.pos[s] * d,
                    *ej = m->E + (int64_t)m->bi.neg[s] * d;
        float *g = m->gU.g + s * d;
        for (int k = 0; k < d; k++) g[k] = c * (ei[k] - ej[k]) + r2 * pu[k];
        m->gU.row[s] = bt->u[s];
        m->cs[s] = c;
    }
}

void pr_fused_backward(pr_model *base, const pr_batch *bt) {
    fused *m = (fused *)base;
    int d = m->d, dout = m->dout, M1 = m->M1, n = m->bi.n;
    fused_job J = {m, bt};
    pr_pool_run(base->pool, fused_user_slice, &J);
    m->gU.n = bt->B;
    /* dE (n, d): each sample's two items, in sample order */
    const float *U = m->P.w + m->oU, *I = m->P.w + m->oI;
    memset(m->dE, 0, (size_t)n * dout * sizeof *m->dE);
    for (int s = 0; s < bt->B; s++) {
        const float *pu = U + (int64_t)bt->u[s] * dout;
        pr_axpy(m->cs[s], pu, m->dE + (int64_t)m->bi.pos[s] * dout, dout);
        pr_axpy(-m->cs[s], pu, m->dE + (int64_t)m->bi.neg[s] * dout, dout);
    }
    pr_params_zero_grad(&m->P);
    m->fu.ops->backward(&m->fu, m->P.w, m->P.g, m->H, m->mask, m->act, m->dE, m->dH, n);
    /* item rows: the ID part's gradient where it was kept, plus the regulariser per occurrence */
    float r2 = 2.0f * m->reg / (float)bt->B;
    for (int r = 0; r < n; r++) {
        int32_t it = m->bi.items[r];
        const float *dh = m->dH + (int64_t)r * M1 * d, *q = I + (int64_t)it * d;
        float keep = m->mask[(int64_t)r * M1], rc = r2 * (float)m->bi.cnt[r];
        float *g = m->gI.g + (int64_t)r * d;
        for (int k = 0; k < d; k++) g[k] = keep * dh[k] + rc * q[k];
        m->gI.row[r] = it;
    }
    m->gI.n = n;
    /* dW_k (d, D_k) += dH[:, part 1+k]^T (d, n) . Xc[:, modality k] (n, D_k) */
    for (int k = 0; k < m->c.n_mod; k++)
        pr_par_gemm(base->pool, PR_TRANS, PR_NOTRANS, d, m->c.dim[k], n, 1.0f,
                    m->dH + (int64_t)(1 + k) * d, M1 * d, m->Xc + m->c.off[k], m->c.D, 1.0f,
                    m->P.g + m->oW[k], m->c.dim[k]);
}

void pr_fused_step(pr_model *base, const pr_batch *bt) {
    fused *m = (fused *)base;
    m->eopt.t++;
    m->step++;
    pr_embed_step(&m->eU, &m->gU, &m->eopt, base->pool);
    pr_embed_step(&m->eI, &m->gI, &m->eopt, base->pool);
    pr_optim_step_params(&m->dopt, &m->P);
}

void pr_fused_dense_grad(pr_model *base, float *g) {
    fused *m = (fused *)base;
    memset(g, 0, (size_t)m->P.n_params * sizeof *g);
    pr_rowgrad_to_dense(&m->gU, g + m->oU);
    pr_rowgrad_to_dense(&m->gI, g + m->oI);
    for (int k = 0; k < m->P.n; k++) {
        const pr_param *t = &m->P.t[k];
        if (!(t->flags & PR_PARAM_SPARSE))
            memcpy(g + t->off, m->P.g + t->off, (size_t)pr_param_size(t) * sizeof *g);
    }
}

/* ---- snapshot and explanations ----------------------------------------------- */

/* Fused vectors of items[0..n), every present part kept: calls fn per block. */
static void fuse_catalogue(fused *m, const int32_t *items, int n, int with_id,
                           void (*fn)(fused *m, int first, int cnt, void *ctx), void *ctx) {
    for (int b0 = 0; b0 < n; b0 += m->R) {
        int cnt = PR_MIN(m->R, n - b0);
        for (int r = 0; r < cnt; r++) m->ids[r] = items ? items[b0 + r] : b0 + r;
        build_parts(m, m->ids, cnt, 0, with_id);
        fuse(m, cnt, 0);
        fn(m, b0, cnt, ctx);
    }
}

static void copy_block(fused *m, int first, int cnt, void *ctx) {
    float *V = ctx;
    memcpy(V + (int64_t)first * m->dout, m->E, (size_t)cnt * m->dout * sizeof *V);
}

int pr_fused_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    fused *m = (fused *)base;
    int32_t nu = base->data->n_users, ni = base->data->n_items;
    if (pr_snapshot_alloc(out, nu, ni, m->dout, 0)) return pr_err(err, PR_E_NOMEM, "%s snapshot", m->fu.ops->name);
    memcpy(out->U, m->P.w + m->oU, (size_t)nu * m->dout * sizeof *out->U);
    fuse_catalogue(m, NULL, ni, 1, copy_block, out->V);
    return 0;
}

static void weights_block(fused *m, int first, int cnt, void *ctx) {
    float *w = ctx;
    m->fu.ops->weights(&m->fu, m->H, m->mask, m->act, cnt, w + (int64_t)first * m->M1);
}

static int check_items(const pr_model *base, const int32_t *items, int n, pr_error *err) {
    if (!base->ops || base->ops->forward != pr_fused_forward)
        return pr_err(err, PR_E_ARG, "%s: not a fused content model", base->ops ? base->ops->name : "model");
    for (int k = 0; k < n; k++)
        if (items[k] < 0 || items[k] >= base->data->n_items)
            return pr_err(err, PR_E_RANGE, "%s: item %d out of range", base->ops->name, items[k]);
    return 0;
}

int pr_fused_item_weights(pr_model *base, const int32_t *items, int n, float *wts, pr_error *err) {
    int rc = check_items(base, items, n, err);
    if (!rc) fuse_catalogue((fused *)base, items, n, 1, weights_block, wts);
    return rc;
}

int pr_fused_parts(pr_model *base, pr_snapshot *s, pr_error *err) {
    fused *m = (fused *)base;
    const pr_fusion_ops *fo = m->fu.ops;
    int32_t ni = base->data->n_items;
    if (!fo->parts || s->n_items != ni || s->d != m->dout ||
        ((fo->part_flags & PR_PARTS_SHAPLEY) && m->M1 > PR_SHAPLEY_MAX))
        return 0;
    pr_parts *p = pr_parts_new(ni, m->dout, m->c.n_mod, (const char(*)[32])m->c.name, 0, fo->part_flags | PR_PARTS_ID);
    if (!p) return pr_err(err, PR_E_NOMEM, "%s: parts of %d items", fo->name, ni);
    int chunk = PR_MIN(m->R, 256), rc = 0;
    for (int b0 = 0; b0 < ni && rc == 0; b0 += chunk) {
        int cnt = PR_MIN(chunk, ni - b0);
        for (int r = 0; r < cnt; r++) m->ids[r] = b0 + r;
        build_parts(m, m->ids, cnt, 0, 1);
        rc = fo->parts(&m->fu, m->P.w, m->H, m->mask, m->E, m->act, cnt, pr_parts_row(p, b0), err);
    }
    if (rc) {
        pr_parts_free(p);
        return rc;
    }
    pr_parts_free(s->parts);
    s->parts = p;
    return 0;
}

int pr_fused_item_vectors(pr_model *base, const int32_t *items, int n, int with_id, float *V,
                          pr_error *err) {
    int rc = check_items(base, items, n, err);
    if (!rc) fuse_catalogue((fused *)base, items, n, with_id, copy_block, V);
    return rc;
}

/* ---- towers ------------------------------------------------------------------- */

typedef struct fused_tower {
    pr_tower base;
    pr_fusion fu;
    pr_params P;          /* proj.* | fusion: the dense tensors only */
    int64_t oW[PR_MAX_MODALITIES];
} fused_tower;

static void arch_save(pr_buf *b, const pr_fusion_arch *a) {
    pr_buf_put_u32(b, (uint32_t)a->layers);
    pr_buf_put_u32(b, (uint32_t)a->hidden);
    pr_buf_put_u32(b, (uint32_t)a->act);
    pr_buf_put_f32(b, a->dropout);
    pr_buf_put_u32(b, (uint32_t)a->k);
    pr_buf_put_u32(b, (uint32_t)a->residual);
}

static int arch_load(pr_cur *c, pr_fusion_arch *a, pr_error *err) {
    uint32_t layers, hidden, act, k, residual;
    int rc;
    if ((rc = pr_cur_get_u32(c, &layers, err)) || (rc = pr_cur_get_u32(c, &hidden, err)) ||
        (rc = pr_cur_get_u32(c, &act, err)) || (rc = pr_cur_get_f32(c, &a->dropout, err)) ||
        (rc = pr_cur_get_u32(c, &k, err)) || (rc = pr_cur_get_u32(c, &residual, err)))
        return rc;
    if (layers < 1 || layers > PR_MLP_MAX_LAYERS || hidden > 65536 || act > PR_ACT_GELU || k > 65536 ||
        residual > 1 || !(a->dropout >= 0 && a->dropout < 1))
        return pr_err(err, PR_E_FORMAT, "%s: tower architecture (layers %u, hidden %u, act %u, k %u)",
                      c->what, layers, hidden, act, k);
    a->layers = (int)layers;
    a->hidden = (int)hidden;
    a->act = (int)act;
    a->k = (int)k;
    a->residual = (int)residual;
    return 0;
}

int pr_fused_tower_save(const pr_model *base, pr_buf *b) {
    const fused *m = (const fused *)base;
    pr_fusion fu = m->fu;
    pr_params P;
    int64_t oW[PR_MAX_MODALITIES];
    pr_params_init(&P);
    int rc = declare_tower(&fu, m->c.n_mod, (const char(*)[32])m->c.name, m->c.dim, &P, oW, NULL);
    if (!rc) rc = pr_params_alloc(&P, NULL);
    for (int k = 0; !rc && k < P.n; k++) {
        const pr_param *src = pr_params_find(&m->P, P.t[k].name);
        memcpy(P.w + P.t[k].off, m->P.w + src->off, (size_t)pr_param_size(src) * sizeof(float));
    }
    if (!rc) {
        pr_tower_head_save(b, m->fu.ops->name, m->dout, &m->c);
        pr_buf_put_u32(b, (uint32_t)m->d);
        arch_save(b, &m->fu.arch);
        rc = pr_params_save(&P, b);
    }
    pr_params_deinit(&P);
    return rc ? rc : (b->oom ? PR_E_NOMEM : 0);
}

void pr_fused_tower_free(pr_tower *base) {
    fused_tower *t = (fused_tower *)base;
    if (!t) return;
    pr_params_deinit(&t->P);
    free(t);
}

int pr_fused_tower_load(pr_tower **out, pr_cur *c, const pr_tower_ops *tops,
                        const pr_fusion_ops *fops, pr_error *err) {
    fused_tower *t = pr_calloc(1, sizeof *t);
    if (!t) return pr_err(err, PR_E_NOMEM, "%s tower", fops->name);
    t->base.ops = tops;
    t->fu.ops = fops;
    pr_params_init(&t->P);
    uint32_t part;
    int rc = pr_tower_head_load(&t->base, c, fops->name, err);
    if (rc || (rc = pr_cur_get_u32(c, &part, err)) || (rc = arch_load(c, &t->fu.arch, err))) goto fail;
    if (part < 1 || part > 65536) {
        rc = pr_err(err, PR_E_FORMAT, "%s: part width %u", c->what, part);
        goto fail;
    }
    t->fu.d = (int)part;
    t->fu.dout = t->base.d;
    t->fu.M1 = 1 + t->base.n_mod;
    if ((fops->fixed_out && t->fu.dout != t->fu.d) || (t->fu.arch.residual && t->fu.dout != t->fu.M1 * t->fu.d)) {
        rc = pr_err(err, PR_E_FORMAT, "%s: output width %d with part width %d", c->what, t->fu.dout, t->fu.d);
        goto fail;
    }
    if ((rc = declare_tower(&t->fu, t->base.n_mod, (const char(*)[32])t->base.names, t->base.dims, &t->P,
                            t->oW, err)) ||
        (rc = pr_params_alloc(&t->P, err)) || (rc = pr_params_load(&t->P, c, err)))
        goto fail;
    t->base.part_flags = fops->parts ? fops->part_flags | PR_PARTS_ID : 0;
    *out = &t->base;
    return 0;
fail:
    if (rc == PR_E_ARG || rc == PR_E_RANGE) { /* a shape the blob declares is not buildable */
        pr_err_wrap(err, "%s: ", c->what);
        if (err) err->code = PR_E_FORMAT;
        rc = PR_E_FORMAT;
    }
    pr_fused_tower_free(&t->base);
    return rc;
}

/* One item through the tower: E (dout) its vector, and when asked its part
 * weights wts (M1) and its parts P (n_parts, dout). */
static int tower_run(const fused_tower *t, const float *const *x, float *E, float *wts, float *P,
                     pr_error *err) {
    int rc = pr_tower_check_input(&t->base, x, err);
    if (rc) return rc;
    int d = t->fu.d, M1 = t->fu.M1;
    float *H = pr_calloc((size_t)M1 * d, sizeof *H);
    float *act = pr_alloc_aligned((size_t)t->fu.ops->act_size(&t->fu, 1), sizeof *act);
    uint8_t mask[PR_MAX_MODALITIES + 1] = {0}; /* the ID part is absent for a new item */
    if (!H || !act) {
        free(H);
        pr_free_aligned(act);
        return pr_err(err, PR_E_NOMEM, "%s tower", t->base.ops->name);
    }
    for (int m = 0; m < t->base.n_mod; m++) {
        if (!x[m]) continue;
        mask[1 + m] = 1;
        /* h_m (d) = W_m (d, D_m) . x_m (D_m) */
        pr_gemv(PR_NOTRANS, d, t->base.dims[m], 1.0f, t->P.w + t->oW[m], t->base.dims[m], x[m], 0.0f,
                H + (int64_t)(1 + m) * d);
    }
    t->fu.ops->forward(&t->fu, t->P.w, H, mask, E, act, 1, 0, NULL);
    if (wts) t->fu.ops->weights(&t->fu, H, mask, act, 1, wts);
    if (P) rc = t->fu.ops->parts(&t->fu, t->P.w, H, mask, E, act, 1, P, err);
    free(H);
    pr_free_aligned(act);
    return rc;
}

int pr_fused_tower_encode(const pr_tower *base, const float *const *x, float *v, float *bias,
                          pr_error *err) {
    *bias = 0;
    return tower_run((const fused_tower *)base, x, v, NULL, NULL, err);
}

/* weights or parts: the tower's forward into a scratch E */
static int tower_extra(const pr_tower *base, const float *const *x, float *w, float *P, pr_error *err) {
    const fused_tower *t = (const fused_tower *)base;
    float *E = pr_malloc((size_t)t->base.d, sizeof *E);
    if (!E) return pr_err(err, PR_E_NOMEM, "%s tower", base->ops->name);
    int rc = tower_run(t, x, E, w, P, err);
    free(E);
    return rc;
}

int pr_fused_tower_weights(const pr_tower *base, const float *const *x, float *w, pr_error *err) {
    return tower_extra(base, x, w, NULL, err);
}

int pr_fused_tower_parts(const pr_tower *base, const float *const *x, float *P, float *pb, pr_error *err) {
    const fused_tower *t = (const fused_tower *)base;
    if (!t->fu.ops->parts) return pr_err(err, PR_E_STATE, "%s tower: no split by part", base->ops->name);
    for (int q = 0; q < pr_tower_n_parts(base); q++) pb[q] = 0.0f;
    return tower_extra(base, x, NULL, P, err);
}

/* ==== cold start ================================================================ */

int pr_content_cold_snapshot(pr_model *m, pr_snapshot *out, pr_error *err) {
    const pr_tower_ops *tops = m->ops->tower_save ? pr_tower_find(m->ops->name) : NULL;
    if (!tops || !m->ops->snapshot || !m->feat)
        return pr_err(err, PR_E_ARG, "%s: not a content model with an item tower", m->ops->name);
    pr_buf b;
    pr_cur cur;
    pr_tower *t = NULL;
    pr_buf_init(&b);
    memset(out, 0, sizeof *out);
    int rc = m->ops->tower_save(m, &b);
    if (rc) {
        rc = pr_err(err, rc, "%s: saving the tower", m->ops->name);
        goto done;
    }
    pr_cur_init(&cur, b.data, b.len, "tower");
    if ((rc = tops->load(&t, &cur, err)) || (rc = m->ops->snapshot(m, out, err))) goto done;
    if (t->d != out->d) {
        rc = pr_err(err, PR_E_STATE, "%s: tower width %d, snapshot %d", m->ops->name, t->d, out->d);
        goto done;
    }
    if (!out->b && !(out->b = pr_alloc_aligned((size_t)out->n_items, sizeof *out->b))) {
        rc = pr_err(err, PR_E_NOMEM, "%s: cold snapshot", m->ops->name);
        goto done;
    }
    const pr_features *f = m->feat;
    for (int32_t i = 0; i < out->n_items && !rc; i++) {
        const float *x[PR_MAX_MODALITIES];
        for (int k = 0; k < f->n_mod; k++)
            x[k] = f->mod[k].missing && f->mod[k].missing[i] ? NULL : f->mod[k].X + (int64_t)i * f->mod[k].dim;
        rc = tops->encode(t, x, out->V + (int64_t)i * out->d, &out->b[i], err);
    }
done:
    if (t) tops->free(t);
    pr_buf_free(&b);
    if (rc) pr_snapshot_free(out);
    return rc;
}
