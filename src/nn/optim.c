/* nn/optim.c: SGD, Adam, AdamW and clipping over flat blocks (see optim.h).
 *
 * The Adam kernel follows torch.optim.Adam's single-tensor path operation by
 * operation (m by lerp, denominator sqrt(v)/sqrt(bc2) + eps, step lr/bc1),
 * with the bias corrections computed in double. */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"

#define CLIP_EPS 1e-6           /* PyTorch's clip_grad_norm_ denominator guard */
#define OPTIM_MAGIC 0x54505250u /* "PRPT" */

void pr_optim_cfg_defaults(pr_optim_cfg *c, int kind) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->lr = kind == PR_OPT_SGD ? 1e-2f : 1e-3f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
    c->weight_decay = kind == PR_OPT_ADAMW ? 1e-2f : 0.0f;
}

int pr_optim_parse(const char *name) {
    if (strcmp(name, "sgd") == 0) return PR_OPT_SGD;
    if (strcmp(name, "adam") == 0) return PR_OPT_ADAM;
    if (strcmp(name, "adamw") == 0) return PR_OPT_ADAMW;
    return -1;
}

static int check_cfg(const pr_optim_cfg *c, pr_error *err) {
    if (c->kind < PR_OPT_SGD || c->kind > PR_OPT_ADAMW)
        return pr_err(err, PR_E_ARG, "optimizer: unknown kind %d", c->kind);
    if (!(c->lr > 0.0f) || !isfinite(c->lr))
        return pr_err(err, PR_E_ARG, "optimizer: lr %g must be > 0", c->lr);
    if (!(c->momentum >= 0.0f && c->momentum < 1.0f))
        return pr_err(err, PR_E_ARG, "optimizer: momentum %g not in [0, 1)", c->momentum);
    if (c->kind != PR_OPT_SGD &&
        !(c->beta1 >= 0.0f && c->beta1 < 1.0f && c->beta2 >= 0.0f && c->beta2 < 1.0f))
        return pr_err(err, PR_E_ARG, "optimizer: betas (%g, %g) not in [0, 1)", c->beta1, c->beta2);
    if (c->kind != PR_OPT_SGD && !(c->eps > 0.0f))
        return pr_err(err, PR_E_ARG, "optimizer: eps %g must be > 0", c->eps);
    if (!(c->weight_decay >= 0.0f) || !(c->clip_norm >= 0.0f))
        return pr_err(err, PR_E_ARG, "optimizer: weight_decay %g and clip_norm %g must be >= 0",
                      c->weight_decay, c->clip_norm);
    return 0;
}

int pr_optim_init(pr_optim *o, const pr_optim_cfg *cfg, int64_t lo, int64_t hi, pr_error *err) {
    memset(o, 0, sizeof *o);
    int rc = check_cfg(cfg, err);
    if (rc) return rc;
    if (lo < 0 || hi < lo)
        return pr_err(err, PR_E_ARG, "optimizer: span [%lld, %lld)", (long long)lo, (long long)hi);
    o->cfg = *cfg;
    o->lo = lo;
    o->hi = hi;
    size_t n = (size_t)(hi - lo);
    int need_m = cfg->kind != PR_OPT_SGD || cfg->momentum > 0.0f, need_v = cfg->kind != PR_OPT_SGD;
    if ((need_m && !(o->m = pr_calloc(n, sizeof(float)))) ||
        (need_v && !(o->v = pr_calloc(n, sizeof(float))))) {
        pr_optim_deinit(o);
        return pr_err(err, PR_E_NOMEM, "optimizer: state for %zu parameters", n);
    }
    return 0;
}

int pr_optim_init_params(pr_optim *o, const pr_optim_cfg *cfg, const pr_params *p, pr_error *err) {
    return pr_optim_init(o, cfg, p->dense_lo, p->dense_hi, err);
}

void pr_optim_deinit(pr_optim *o) {
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

/* ---- update kernels over [a, b) of the block -------------------------------- */

static void sgd_range(pr_optim *o, float *w, const float *g, int64_t a, int64_t b, float wd) {
    const float lr = o->cfg.lr, mu = o->cfg.momentum;
    for (int64_t i = a; i < b; i++) {
        float gi = g[i] + wd * w[i];
        if (o->m) {
            float *buf = &o->m[i - o->lo];
            *buf = mu * *buf + gi;
            gi = *buf;
        }
        w[i] -= lr * gi;
    }
}

static void adam_range(pr_optim *o, float *w, const float *g, int64_t a, int64_t b, float wd) {
    const pr_optim_cfg *c = &o->cfg;
    const double bc1 = 1.0 - pow(c->beta1, (double)o->t), bc2 = 1.0 - pow(c->beta2, (double)o->t);
    const float step = (float)(c->lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float b1c = 1.0f - c->beta1, b2 = c->beta2, b2c = 1.0f - c->beta2, eps = c->eps;
    const int decoupled = c->kind == PR_OPT_ADAMW;
    const float shrink = 1.0f - c->lr * wd;
    for (int64_t i = a; i < b; i++) {
        float gi = g[i];
        if (decoupled)
            w[i] *= shrink;
        else
            gi += wd * w[i];
        float *m = &o->m[i - o->lo], *v = &o->v[i - o->lo];
        *m += b1c * (gi - *m); /* lerp(m, g, 1 - b1) */
        *v = b2 * *v + b2c * gi * gi;
        w[i] -= step * *m / (sqrtf(*v) / bc2_sqrt + eps);
    }
}

static void update_range(pr_optim *o, float *w, const float *g, int64_t a, int64_t b, float wd) {
    if (o->cfg.kind == PR_OPT_SGD)
        sgd_range(o, w, g, a, b, wd);
    else
        adam_range(o, w, g, a, b, wd);
}

void pr_optim_step(pr_optim *o, float *w, float *g) {
    o->t++;
    if (o->cfg.clip_norm > 0.0f)
        o->last_norm = pr_clip_grad_norm(g + o->lo, o->hi - o->lo, o->cfg.clip_norm);
    update_range(o, w, g, o->lo, o->hi, o->cfg.weight_decay);
}

void pr_optim_step_params(pr_optim *o, pr_params *p) {
    o->t++;
    if (o->cfg.clip_norm > 0.0f) o->last_norm = pr_clip_grad_norm_params(p, o->cfg.clip_norm);
    for (int i = 0; i < p->n; i++) {
        const pr_param *t = &p->t[i];
        if (t->flags & PR_PARAM_SPARSE) continue;
        float wd = (t->flags & PR_PARAM_NO_DECAY) ? 0.0f : o->cfg.weight_decay;
        update_range(o, p->w, p->g, t->off, t->off + pr_param_size(t), wd);
    }
}

/* ---- clipping ------------------------------------------------------------------ */

static double clip_coef(double norm, double max_norm) {
    double coef = max_norm / (norm + CLIP_EPS);
    return coef < 1.0 ? coef : 1.0;
}

double pr_clip_grad_norm(float *g, int64_t n, double max_norm) {
    double norm = pr_norm2(g, n), coef = clip_coef(norm, max_norm);
    if (coef < 1.0)
        for (int64_t i = 0; i < n; i++) g[i] = (float)(g[i] * coef);
    return norm;
}

double pr_clip_grad_norm_params(pr_params *p, double max_norm) {
    double norm = pr_params_grad_norm(p), coef = clip_coef(norm, max_norm);
    if (coef >= 1.0) return norm;
    for (int i = 0; i < p->n; i++) {
        if (p->t[i].flags & PR_PARAM_SPARSE) continue;
        float *g = p->g + p->t[i].off;
        for (int64_t k = 0, n = pr_param_size(&p->t[i]); k < n; k++) g[k] = (float)(g[k] * coef);
    }
    return norm;
}

/* ---- checkpoints ------------------------------------------------------------- */

int pr_optim_save(const pr_optim *o, pr_buf *b) {
    pr_buf_put_u32(b, OPTIM_MAGIC);
    pr_buf_put_u32(b, (uint32_t)o->cfg.kind);
    pr_buf_put_i64(b, o->t);
    pr_buf_put_i64(b, o->lo);
    pr_buf_put_i64(b, o->hi);
    int64_t n = o->hi - o->lo;
    pr_buf_put_f32s(b, o->m, o->m ? n : 0);
    pr_buf_put_f32s(b, o->v, o->v ? n : 0);
    return b->oom ? PR_E_NOMEM : 0;
}

/* One moment array of `expect` values; copied into dst when dst is set
 * (otherwise only validated). */
static int read_moment(pr_cur *c, float *dst, int64_t expect, const char *which, pr_error *err) {
    int64_t cnt = 0;
    int rc = pr_cur_get_i64(c, &cnt, err);
    if (rc) return rc;
    if (cnt != expect)
        return pr_err(err, PR_E_FORMAT, "%s: optimizer %s has %lld values, %lld expected", c->what,
                      which, (long long)cnt, (long long)expect);
    if (pr_cur_left(c) / sizeof(float) < (size_t)cnt)
        return pr_err(err, PR_E_FORMAT, "%s: optimizer %s truncated", c->what, which);
    if (dst) memcpy(dst, c->p, (size_t)cnt * sizeof(float));
    c->p += (size_t)cnt * sizeof(float);
    return 0;
}

int pr_optim_load(pr_optim *o, pr_cur *c, pr_error *err) {
    uint32_t magic = 0, kind = 0;
    int64_t t = 0, lo = 0, hi = 0;
    int rc;
    pr_cur probe = *c;
    if ((rc = pr_cur_get_u32(&probe, &magic, err)) || (rc = pr_cur_get_u32(&probe, &kind, err)) ||
        (rc = pr_cur_get_i64(&probe, &t, err)) || (rc = pr_cur_get_i64(&probe, &lo, err)) ||
        (rc = pr_cur_get_i64(&probe, &hi, err)))
        return rc;
    if (magic != OPTIM_MAGIC) return pr_err(err, PR_E_FORMAT, "%s: not optimizer state", c->what);
    if ((int)kind != o->cfg.kind || lo != o->lo || hi != o->hi || t < 0)
        return pr_err(err, PR_E_FORMAT,
                      "%s: optimizer state of kind %u over [%lld, %lld), this one is kind %d "
                      "over [%lld, %lld)",
                      c->what, kind, (long long)lo, (long long)hi, o->cfg.kind, (long long)o->lo,
                      (long long)o->hi);
    const int64_t nm = o->m ? hi - lo : 0, nv = o->v ? hi - lo : 0;
    pr_cur dry = probe; /* validate both arrays before touching o */
    if ((rc = read_moment(&dry, NULL, nm, "m", err)) ||
        (rc = read_moment(&dry, NULL, nv, "v", err)))
        return rc;
    read_moment(&probe, o->m, nm, "m", NULL);
    read_moment(&probe, o->v, nv, "v", NULL);
    o->t = t;
    *c = probe;
    return 0;
}
