/* models/mapper.c: ridge / MLP regression from content to item embeddings,
 * saved as an item tower (see mapper.h). */
#include "mapper.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "core/log.h"
#include "core/mat.h"
#include "core/rng.h"
#include "models/parts.h"
#include "nn/mlp.h"
#include "nn/optim.h"

enum { MAPPER_VERSION = 1 };

/* The mapper tower. Inputs are centred blockwise by xmean; outputs are
 * y = (xc W or MLP(xc) * y_scale) + ymean, v = scale * y[0..d), bias = y[d]. */
typedef struct {
    pr_tower base;      /* d, n_mod, dims, names */
    int kind, D, dout, has_bias;
    float scale;
    float *xmean;       /* (D) owned */
    float *ymean;       /* (dout) owned */
    float *W;           /* ridge: (D, dout) owned */
    int hidden;         /* mlp */
    float y_scale;
    pr_mlp mlp;
    pr_params P;
} mapper_tower;

void pr_mapper_opts_default(pr_mapper_opts *o) {
    memset(o, 0, sizeof *o);
    o->kind = PR_MAPPER_RIDGE;
    o->reg = 0.03;
    o->hidden = 256;
    o->epochs = 300;
    o->lr = 1e-3f;
    o->wd = 1e-4f;
    o->scale = 0.0f;
    o->seed = 999;
}

static int positive(const char *key, const char *s, double lo, double hi, double *out, pr_error *err) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return pr_err(err, PR_E_ARG, "--param %s=%s: expected a number in [%g, %g] or auto", key, s, lo, hi);
    *out = v;
    return 0;
}

int pr_mapper_opts_from_config(const pr_config *c, pr_mapper_opts *o, int *reg_auto,
                               int *scale_auto, pr_error *err) {
    const char *k = pr_config_s(c, "mapper", NULL), *s;
    double v = 0;
    int rc;
    o->seed = c->seed;
    if (k) {
        if (!strcmp(k, "none")) o->kind = PR_MAPPER_NONE;
        else if (!strcmp(k, "ridge")) o->kind = PR_MAPPER_RIDGE;
        else if (!strcmp(k, "mlp")) o->kind = PR_MAPPER_MLP;
        else return pr_err(err, PR_E_ARG, "--param mapper=%s: expected none, ridge or mlp", k);
    }
    *reg_auto = *scale_auto = 0;
    if ((s = pr_config_s(c, "mapper_reg", NULL))) {
        if (!strcmp(s, "auto")) *reg_auto = 1;
        else if ((rc = positive("mapper_reg", s, 1e-9, 1e9, &v, err))) return rc;
        else o->reg = v;
    }
    if ((s = pr_config_s(c, "mapper_scale", NULL))) {
        if (!strcmp(s, "auto")) *scale_auto = 1;
        else if (!strcmp(s, "norm")) o->scale = 0.0f;
        else if ((rc = positive("mapper_scale", s, 1e-3, 1e3, &v, err))) return rc;
        else o->scale = (float)v;
    }
    if ((s = pr_config_s(c, "mapper_hidden", NULL))) {
        if ((rc = positive("mapper_hidden", s, 1, 65536, &v, err))) return rc;
        o->hidden = (int)v;
    }
    if ((s = pr_config_s(c, "mapper_epochs", NULL))) {
        if ((rc = positive("mapper_epochs", s, 1, 1e6, &v, err))) return rc;
        o->epochs = (int)v;
    }
    return 0;
}

int pr_features_row(const pr_features *f, int32_t i, const float **x) {
    int n = 0;
    for (int m = 0; m < f->n_mod; m++) {
        const pr_modality *md = &f->mod[m];
        x[m] = md->missing[i] ? NULL : md->X + (int64_t)i * md->dim;
        n += x[m] != NULL;
    }
    return n;
}

static int content_dim(const pr_features *f) {
    int D = 0;
    for (int m = 0; m < f->n_mod; m++) D += f->mod[m].dim;
    return D;
}

/* X (n, D) = content of items rows[0..n), a missing block replaced by the
 * block's mean over the rows that have it, so that after centring it is 0. */
static int content_rows(const pr_features *f, const int32_t *rows, int64_t n, float *X, pr_error *err) {
    int D = content_dim(f), off = 0;
    double *mean = pr_malloc((size_t)D, sizeof *mean);
    if (!mean) return pr_err(err, PR_E_NOMEM, "mapper: content");
    for (int m = 0; m < f->n_mod; m++) {
        const pr_modality *md = &f->mod[m];
        int dm = md->dim;
        double *mu = mean + off;
        int64_t cnt = 0;
        memset(mu, 0, (size_t)dm * sizeof *mu);
        for (int64_t r = 0; r < n; r++) {
            if (md->missing[rows[r]]) continue;
            const float *x = md->X + (int64_t)rows[r] * dm;
            for (int k = 0; k < dm; k++) mu[k] += x[k];
            cnt++;
        }
        for (int k = 0; k < dm; k++) mu[k] = cnt ? mu[k] / (double)cnt : 0.0;
        for (int64_t r = 0; r < n; r++) {
            float *dst = X + r * D + off;
            if (!md->missing[rows[r]]) memcpy(dst, md->X + (int64_t)rows[r] * dm, (size_t)dm * sizeof *dst);
            else for (int k = 0; k < dm; k++) dst[k] = (float)mu[k];
        }
        off += dm;
    }
    free(mean);
    return 0;
}

/* ---- ridge --------------------------------------------------------------- */

struct pr_ridge {
    int64_t n;
    int D, dual;
    double lam;
    double *Xc;    /* (n, D) centred rows */
    double *F;     /* (m, m) Cholesky factor, m = dual ? n : D (lower, row-major) */
    double *xmean; /* (D) */
};

void pr_ridge_free(pr_ridge *r) {
    if (!r) return;
    free(r->Xc);
    free(r->F);
    free(r->xmean);
    free(r);
}

int pr_ridge_is_dual(const pr_ridge *r) { return r->dual; }

int pr_ridge_new(const float *X, int64_t n, int D, double reg, pr_ridge **out, pr_error *err) {
    if (n < 2 || D < 1) return pr_err(err, PR_E_ARG, "mapper: need at least 2 items with content (got %lld)", (long long)n);
    if (!(reg > 0)) return pr_err(err, PR_E_ARG, "mapper: regularisation must be > 0");
    pr_ridge *r = pr_calloc(1, sizeof *r);
    int rc = 0;
    if (!r) return pr_err(err, PR_E_NOMEM, "mapper");
    r->n = n;
    r->D = D;
    r->dual = D > n;
    int64_t m = r->dual ? n : D;
    r->Xc = pr_malloc((size_t)n * D, sizeof *r->Xc);
    r->F = pr_malloc((size_t)(m * m), sizeof *r->F);
    r->xmean = pr_calloc((size_t)D, sizeof *r->xmean);
    if (!r->Xc || !r->F || !r->xmean) { rc = pr_err(err, PR_E_NOMEM, "mapper: %lld x %d", (long long)n, D); goto fail; }
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < D; k++) r->xmean[k] += X[i * D + k];
    for (int k = 0; k < D; k++) r->xmean[k] /= (double)n;
    double tr = 0;
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < D; k++) {
            double v = X[i * D + k] - r->xmean[k];
            r->Xc[i * D + k] = v;
            tr += v * v;
        }
    r->lam = reg * (tr > 0 ? tr / D : 1.0);
    if (r->dual) /* F (n, n) = Xc (n, D) . Xc^T (D, n) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, D, 1.0, r->Xc, D, r->Xc, D, 0.0, r->F, (int)n);
    else /* F (D, D) = Xc^T (D, n) . Xc (n, D) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, D, (int)n, 1.0, r->Xc, D, r->Xc, D, 0.0, r->F, D);
    for (int64_t k = 0; k < m; k++) r->F[k * m + k] += r->lam;
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)m, r->F, (lapack_int)m) != 0) {
        rc = pr_err(err, PR_E_NUMERIC, "mapper: ridge system is not positive definite");
        goto fail;
    }
    *out = r;
    return 0;
fail:
    pr_ridge_free(r);
    return rc;
}

int pr_ridge_solve(const pr_ridge *r, const float *Y, int dy, float *W, float *xmean, float *ymean,
                   pr_error *err) {
    int64_t n = r->n, m = r->dual ? n : r->D;
    int D = r->D, rc = 0;
    double *Yc = pr_malloc((size_t)n * dy, sizeof *Yc), *B = pr_malloc((size_t)m * dy, sizeof *B);
    double *ym = pr_calloc((size_t)dy, sizeof *ym);
    if (!Yc || !B || !ym) { rc = pr_err(err, PR_E_NOMEM, "mapper: solve"); goto done; }
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < dy; k++) ym[k] += Y[i * dy + k];
    for (int k = 0; k < dy; k++) ym[k] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < dy; k++) Yc[i * dy + k] = Y[i * dy + k] - ym[k];
    if (r->dual) {
        memcpy(B, Yc, (size_t)n * dy * sizeof *B); /* A = (Xc Xc^T + lam I)^-1 Yc (n, dy) */
    } else {
        /* B (D, dy) = Xc^T (D, n) . Yc (n, dy) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, dy, (int)n, 1.0, r->Xc, D, Yc, dy, 0.0, B, dy);
    }
    if (LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', (lapack_int)m, dy, r->F, (lapack_int)m, B, dy) != 0) {
        rc = pr_err(err, PR_E_NUMERIC, "mapper: ridge solve failed");
        goto done;
    }
    if (r->dual) { /* W (D, dy) = Xc^T (D, n) . A (n, dy), reusing Yc as output */
        double *Wd = pr_malloc((size_t)D * dy, sizeof *Wd);
        if (!Wd) { rc = pr_err(err, PR_E_NOMEM, "mapper: solve"); goto done; }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, dy, (int)n, 1.0, r->Xc, D, B, dy, 0.0, Wd, dy);
        for (int64_t k = 0; k < (int64_t)D * dy; k++) W[k] = (float)Wd[k];
        free(Wd);
    } else {
        for (int64_t k = 0; k < (int64_t)D * dy; k++) W[k] = (float)B[k];
    }
    for (int64_t k = 0; k < (int64_t)D * dy; k++)
        if (!isfinite(W[k])) { rc = pr_err(err, PR_E_NUMERIC, "mapper: non-finite weights"); goto done; }
    for (int k = 0; k < D; k++) xmean[k] = (float)r->xmean[k];
    for (int k = 0; k < dy; k++) ymean[k] = (float)ym[k];
done:
    free(Yc);
    free(B);
    free(ym);
    return rc;
}


/* ---- the tower --------------------------------------------------------------- */

static void mapper_free(pr_tower *base) {
    mapper_tower *t = (mapper_tower *)base;
    if (!t) return;
    free(t->xmean);
    free(t->ymean);
    free(t->W);
    pr_params_deinit(&t->P);
    free(t);
}

static mapper_tower *mapper_alloc(int kind, int n_mod, const int *dims, char names[][32], int d, int has_bias) {
    mapper_tower *t = pr_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->base.ops = &pr_mapper_tower_ops;
    t->base.d = d;
    t->base.n_mod = n_mod;
    for (int m = 0; m < n_mod; m++) {
        t->base.dims[m] = dims[m];
        t->D += dims[m];
        snprintf(t->base.names[m], sizeof t->base.names[m], "%s", names[m]);
    }
    t->kind = kind;
    t->base.part_flags = PR_PARTS_ID | PR_PARTS_BASE | (kind == PR_MAPPER_MLP ? PR_PARTS_SHAPLEY : 0);
    t->has_bias = has_bias;
    t->dout = d + (has_bias != 0);
    t->scale = 1.0f;
    t->y_scale = 1.0f;
    pr_params_init(&t->P);
    t->xmean = pr_calloc((size_t)t->D, sizeof *t->xmean);
    t->ymean = pr_calloc((size_t)t->dout, sizeof *t->ymean);
    if (kind == PR_MAPPER_RIDGE) t->W = pr_calloc((size_t)t->D * t->dout, sizeof *t->W);
    if (!t->xmean || !t->ymean || (kind == PR_MAPPER_RIDGE && !t->W)) {
        mapper_free(&t->base);
        return NULL;
    }
    return t;
}

static int mlp_layout(mapper_tower *t, pr_error *err) {
    int dims[3] = {t->D, t->hidden, t->dout};
    pr_act relu = {PR_ACT_RELU, 0}, none = {PR_ACT_NONE, 0};
    int rc = pr_mlp_init(&t->mlp, &t->P, "mapper", 2, dims, relu, none, 0.0f, err);
    return rc ? rc : pr_params_alloc(&t->P, err);
}

/* Y (n, dout) from centred inputs Xc (n, D); act scratch for the MLP
 * (pr_mlp_act_size(n) floats, may be NULL for ridge). */
static void mapper_predict(const mapper_tower *t, const float *Xc, int n, float *act, float *Y) {
    if (t->kind == PR_MAPPER_RIDGE) {
        /* Y (n, dout) = Xc (n, D) . W (D, dout) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, t->dout, t->D, 1.0f, Xc, t->D, t->W, t->dout, 0.0f, Y, t->dout);
    } else {
        const float *y = pr_mlp_forward(&t->mlp, t->P.w, Xc, act, n, 0, NULL);
        for (int64_t k = 0; k < (int64_t)n * t->dout; k++) Y[k] = y[k] * t->y_scale;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < t->dout; k++) Y[(int64_t)i * t->dout + k] += t->ymean[k];
}

/* xc (D) = blockwise centred input; a missing block is 0 (its mean). */
static void centre_input(const mapper_tower *t, const float *const *x, float *xc) {
    int off = 0;
    for (int m = 0; m < t->base.n_mod; m++) {
        int dm = t->base.dims[m];
        for (int k = 0; k < dm; k++) xc[off + k] = x[m] ? x[m][k] - t->xmean[off + k] : 0.0f;
        off += dm;
    }
}

static int mapper_encode(const pr_tower *base, const float *const *x, float *v, float *bias, pr_error *err) {
    const mapper_tower *t = (const mapper_tower *)base;
    int64_t na = t->kind == PR_MAPPER_MLP ? pr_mlp_act_size(&t->mlp, 1) : 0;
    float *buf = pr_malloc((size_t)(t->D + t->dout + na), sizeof *buf);
    if (!buf) return pr_err(err, PR_E_NOMEM, "mapper encode");
    float *xc = buf, *y = buf + t->D, *act = na ? y + t->dout : NULL;
    centre_input(t, x, xc);
    mapper_predict(t, xc, 1, act, y);
    int rc = 0;
    for (int k = 0; k < t->dout && rc == 0; k++)
        if (!isfinite(y[k])) rc = pr_err(err, PR_E_NUMERIC, "mapper: non-finite output");
    if (rc == 0) {
        for (int k = 0; k < base->d; k++) v[k] = t->scale * y[k];
        *bias = t->has_bias ? y[base->d] : 0.0f;
    }
    free(buf);
    return rc;
}

/* Share of |v| due to each modality block (ridge: |xc_m W_m|, normalised). */
static int mapper_weights(const pr_tower *base, const float *const *x, float *w, pr_error *err) {
    const mapper_tower *t = (const mapper_tower *)base;
    if (t->kind != PR_MAPPER_RIDGE) return pr_err(err, PR_E_STATE, "mapper: per-modality shares need the ridge mapper");
    float *xc = pr_malloc((size_t)t->D, sizeof *xc);
    if (!xc) return pr_err(err, PR_E_NOMEM, "mapper weights");
    centre_input(t, x, xc);
    double tot = 0;
    int off = 0;
    w[0] = 0.0f;
    for (int m = 0; m < base->n_mod; m++) {
        double nrm = 0;
        for (int j = 0; j < base->d; j++) {
            double s = 0;
            for (int k = 0; k < base->dims[m]; k++) s += (double)xc[off + k] * t->W[(int64_t)(off + k) * t->dout + j];
            nrm += s * s;
        }
        w[m + 1] = (float)sqrt(nrm);
        tot += w[m + 1];
        off += base->dims[m];
    }
    for (int m = 0; m < base->n_mod; m++) w[m + 1] = tot > 0 ? (float)(w[m + 1] / tot) : 0.0f;
    free(xc);
    return 0;
}

/* encode's result split by part (models/parts.h). The centred input is a
 * sum of modality blocks, xc = sum_m xc_m (a missing block is 0). Ridge:
 * y = sum_m xc_m W_m + ymean, so part m = xc_m W_m and "base" = ymean,
 * exactly. MLP: g(S) = MLP(xc with the blocks outside S zeroed) y_scale +
 * ymean is split by Shapley values over the modalities (2^M passes), g(none)
 * the base. Vector parts are scaled by `scale` as v is; the ID part is 0. */
static int mapper_parts(const pr_tower *base, const float *const *x, float *P, float *pb, pr_error *err) {
    const mapper_tower *t = (const mapper_tower *)base;
    int M = base->n_mod, d = base->d, dout = t->dout, np = M + 2, D = t->D, rc = 0;
    int ns = t->kind == PR_MAPPER_MLP ? 1 << PR_MIN(M, PR_SHAPLEY_MAX) : 1;
    if (t->kind == PR_MAPPER_MLP && M > PR_SHAPLEY_MAX)
        return pr_err(err, PR_E_RANGE, "mapper: %d modalities; a Shapley split takes at most %d", M, PR_SHAPLEY_MAX);
    int64_t na = t->kind == PR_MAPPER_MLP ? pr_mlp_act_size(&t->mlp, ns) : 0;
    float *xc = pr_malloc((size_t)D * (ns + 1), sizeof *xc), *F = pr_malloc((size_t)(ns + M) * dout, sizeof *F);
    float *act = na ? pr_malloc((size_t)na, sizeof *act) : NULL;
    if (!xc || !F || (na && !act)) {
        rc = pr_err(err, PR_E_NOMEM, "mapper parts");
        goto done;
    }
    float *phi = F + (int64_t)ns * dout;  /* (M, dout) the parts before scaling */
    float *full = xc + (int64_t)ns * D;   /* (D) the centred input */
    centre_input(t, x, full);
    if (t->kind == PR_MAPPER_RIDGE) {
        int off = 0;
        for (int m = 0; m < M; m++) { /* phi_m (dout) = xc_m (D_m) . W[rows of m] (D_m, dout) */
            for (int j = 0; j < dout; j++) {
                double s = 0;
                for (int k = 0; k < base->dims[m]; k++) s += (double)full[off + k] * t->W[(int64_t)(off + k) * dout + j];
                phi[(int64_t)m * dout + j] = (float)s;
            }
            off += base->dims[m];
        }
        memcpy(F, t->ymean, (size_t)dout * sizeof *F);
    } else {
        for (int s = 0; s < ns; s++) { /* row s (D): the blocks of the modalities in s */
            float *row = xc + (int64_t)s * D;
            for (int m = 0, off = 0; m < M; off += base->dims[m++]) {
                if (s >> m & 1) memcpy(row + off, full + off, (size_t)base->dims[m] * sizeof *row);
                else memset(row + off, 0, (size_t)base->dims[m] * sizeof *row);
            }
        }
        mapper_predict(t, xc, ns, act, F); /* F (ns, dout) = g of every coalition */
        pr_shapley(M, F, dout, phi);
    }
    for (int q = 0; q < np; q++) { /* 0 the ID (none), 1 + m modality m, M + 1 the base */
        const float *y = q == 0 ? NULL : q <= M ? phi + (int64_t)(q - 1) * dout : F;
        for (int k = 0; k < d; k++) P[(int64_t)q * d + k] = y ? t->scale * y[k] : 0.0f;
        pb[q] = y && t->has_bias ? y[d] : 0.0f;
    }
    for (int k = 0; k < np * d && rc == 0; k++)
        if (!isfinite(P[k])) rc = pr_err(err, PR_E_NUMERIC, "mapper: non-finite part");
done:
    free(xc);
    free(F);
    free(act);
    return rc;
}

int pr_mapper_save(const pr_tower *base, pr_buf *b) {
    const mapper_tower *t = (const mapper_tower *)base;
    pr_buf_put_str(b, "mapper");
    pr_buf_put_u32(b, MAPPER_VERSION);
    pr_buf_put_u32(b, (uint32_t)t->kind);
    pr_buf_put_u32(b, (uint32_t)base->n_mod);
    for (int m = 0; m < base->n_mod; m++) {
        pr_buf_put_str(b, base->names[m]);
        pr_buf_put_u32(b, (uint32_t)base->dims[m]);
    }
    pr_buf_put_u32(b, (uint32_t)base->d);
    pr_buf_put_u32(b, (uint32_t)t->has_bias);
    pr_buf_put_f32(b, t->scale);
    pr_buf_put_f32s(b, t->xmean, t->D);
    pr_buf_put_f32s(b, t->ymean, t->dout);
    if (t->kind == PR_MAPPER_RIDGE) {
        pr_buf_put_f32s(b, t->W, (int64_t)t->D * t->dout);
    } else {
        pr_buf_put_u32(b, (uint32_t)t->hidden);
        pr_buf_put_f32(b, t->y_scale);
        pr_params_save(&t->P, b);
    }
    return b->oom ? PR_E_NOMEM : 0;
}

/* Read n floats into dst, which must be exactly n long. */
static int get_exact(pr_cur *c, float *dst, int64_t n, pr_error *err) {
    float *x = NULL;
    int64_t got;
    int rc = pr_cur_get_f32s(c, &x, &got, err);
    if (rc) return rc;
    if (got != n) rc = pr_err(err, PR_E_FORMAT, "%s: mapper array has %lld values, expected %lld", c->what, (long long)got, (long long)n);
    else memcpy(dst, x, (size_t)n * sizeof *x);
    free(x);
    return rc;
}

static int mapper_load(pr_tower **out, pr_cur *c, pr_error *err) {
    uint32_t ver, kind, n_mod, d, has_bias, dim;
    int dims[PR_MAX_MODALITIES];
    char names[PR_MAX_MODALITIES][32];
    int rc;
    if ((rc = pr_cur_get_u32(c, &ver, err)) || (rc = pr_cur_get_u32(c, &kind, err)) ||
        (rc = pr_cur_get_u32(c, &n_mod, err)))
        return rc;
    if (ver != MAPPER_VERSION || (kind != PR_MAPPER_RIDGE && kind != PR_MAPPER_MLP) || n_mod < 1 ||
        n_mod > PR_MAX_MODALITIES)
        return pr_err(err, PR_E_FORMAT, "%s: mapper header is corrupt", c->what);
    int64_t D = 0;
    for (uint32_t m = 0; m < n_mod; m++) {
        char *name = NULL;
        if ((rc = pr_cur_get_str(c, &name, 31, err))) return rc;
        snprintf(names[m], sizeof names[m], "%s", name);
        free(name);
        if ((rc = pr_cur_get_u32(c, &dim, err))) return rc;
        if (dim < 1 || dim > (1u << 24)) return pr_err(err, PR_E_FORMAT, "%s: mapper modality dim %u", c->what, dim);
        dims[m] = (int)dim;
        D += dim;
    }
    if ((rc = pr_cur_get_u32(c, &d, err)) || (rc = pr_cur_get_u32(c, &has_bias, err))) return rc;
    if (d < 1 || d > 100000 || has_bias > 1 || D > (1 << 24))
        return pr_err(err, PR_E_FORMAT, "%s: mapper output header is corrupt", c->what);
    mapper_tower *t = mapper_alloc((int)kind, (int)n_mod, dims, names, (int)d, (int)has_bias);
    if (!t) return pr_err(err, PR_E_NOMEM, "mapper load");
    if ((rc = pr_cur_get_f32(c, &t->scale, err)) || (rc = get_exact(c, t->xmean, t->D, err)) ||
        (rc = get_exact(c, t->ymean, t->dout, err)))
        goto fail;
    if (kind == PR_MAPPER_RIDGE) {
        if ((rc = get_exact(c, t->W, (int64_t)t->D * t->dout, err))) goto fail;
    } else {
        uint32_t hidden;
        if ((rc = pr_cur_get_u32(c, &hidden, err)) || (rc = pr_cur_get_f32(c, &t->y_scale, err))) goto fail;
        if (hidden < 1 || hidden > 65536) { rc = pr_err(err, PR_E_FORMAT, "%s: mapper hidden width %u", c->what, hidden); goto fail; }
        t->hidden = (int)hidden;
        if ((rc = mlp_layout(t, err)) || (rc = pr_params_load(&t->P, c, err))) goto fail;
    }
    if (!isfinite(t->scale)) { rc = pr_err(err, PR_E_FORMAT, "%s: mapper scale is not finite", c->what); goto fail; }
    *out = &t->base;
    return 0;
fail:
    mapper_free(&t->base);
    return rc;
}

const pr_tower_ops pr_mapper_tower_ops = {
    .name = "mapper",
    .load = mapper_load,
    .encode = mapper_encode,
    .weights = mapper_weights,
    .parts = mapper_parts,
    .free = mapper_free,
};

void pr_mapper_set_scale(pr_tower *base, float scale) { ((mapper_tower *)base)->scale = scale; }

float pr_mapper_scale(const pr_tower *t) { return ((const mapper_tower *)t)->scale; }

double pr_tower_norm_ratio(const pr_tower *t, const pr_features *f, const pr_snapshot *s,
                           const int32_t *rows, int64_t n) {
    float *v = pr_malloc((size_t)t->d, sizeof *v), bias;
    double learned = 0, mapped = 0;
    int64_t cnt = 0;
    for (int64_t r = 0; v && r < n; r++) {
        const float *x[PR_MAX_MODALITIES];
        if (pr_features_row(f, rows[r], x) == 0 || t->ops->encode(t, x, v, &bias, NULL)) continue;
        learned += sqrt(pr_sqnorm(s->V + (int64_t)rows[r] * s->d, s->d));
        mapped += sqrt(pr_sqnorm(v, t->d));
        cnt++;
    }
    free(v);
    return cnt && mapped > 0 ? learned / mapped : NAN;
}

/* ---- fitting ----------------------------------------------------------------- */

/* Y (n, dout) = the rows' V (and b) of the snapshot. */
static void gather_targets(const pr_snapshot *s, const int32_t *rows, int64_t n, float *Y) {
    int dout = s->d + (s->b != NULL);
    for (int64_t r = 0; r < n; r++) {
        memcpy(Y + r * dout, s->V + (int64_t)rows[r] * s->d, (size_t)s->d * sizeof *Y);
        if (s->b) Y[r * dout + s->d] = s->b[rows[r]];
    }
}

/* MLP on centred inputs Xc (n, D) to centred targets Yc (n, dout) (scaled by
 * y_scale inside), mean squared error, Adam, early stopping on 10%. */
static int mlp_fit(mapper_tower *t, const float *Xc, const float *Yc, int64_t n, const pr_mapper_opts *o,
                   pr_error *err) {
    int D = t->D, dout = t->dout, rc;
    double ss = 0;
    for (int64_t k = 0; k < n * dout; k++) ss += (double)Yc[k] * Yc[k];
    t->y_scale = ss > 0 ? (float)sqrt(ss / (double)(n * dout)) : 1.0f;
    t->hidden = o->hidden;
    if ((rc = mlp_layout(t, err))) return rc;
    pr_rng r;
    pr_rng_init(&r, o->seed, 0x6d6170ULL);
    pr_mlp_init_params(&t->mlp, &t->P, &r);
    pr_optim opt = {0};
    pr_optim_cfg oc;
    pr_optim_cfg_defaults(&oc, PR_OPT_ADAM);
    oc.lr = o->lr;
    oc.weight_decay = o->wd;
    int64_t n_val = n >= 20 ? n / 10 : 0, n_tr = n - n_val;
    int B = (int)PR_MIN((int64_t)128, n_tr), Bmax = (int)PR_MAX((int64_t)B, n_val);
    int64_t *perm = pr_malloc((size_t)n, sizeof *perm);
    float *xb = pr_malloc((size_t)Bmax * D, sizeof *xb), *yb = pr_malloc((size_t)Bmax * dout, sizeof *yb);
    float *dy = pr_malloc((size_t)Bmax * dout, sizeof *dy);
    float *act = pr_malloc((size_t)pr_mlp_act_size(&t->mlp, Bmax), sizeof *act);
    float *best = pr_malloc((size_t)t->P.n_params, sizeof *best);
    if (!perm || !xb || !yb || !dy || !act || !best) { rc = pr_err(err, PR_E_NOMEM, "mapper mlp"); goto done; }
    if ((rc = pr_optim_init_params(&opt, &oc, &t->P, err))) goto done;
    for (int64_t k = 0; k < n; k++) perm[k] = k;
    for (int64_t k = n - 1; k > 0; k--) { /* the last n_val rows of perm validate */
        int64_t j = pr_rng_below(&r, (uint32_t)(k + 1)), tmp = perm[k];
        perm[k] = perm[j];
        perm[j] = tmp;
    }
    double best_val = INFINITY;
    int bad = 0;
    memcpy(best, t->P.w, (size_t)t->P.n_params * sizeof *best);
    for (int ep = 0; ep < o->epochs; ep++) {
        for (int64_t k = n_tr - 1; k > 0; k--) {
            int64_t j = pr_rng_below(&r, (uint32_t)(k + 1)), tmp = perm[k];
            perm[k] = perm[j];
            perm[j] = tmp;
        }
        for (int64_t s0 = 0; s0 < n_tr; s0 += B) {
            int nb = (int)PR_MIN((int64_t)B, n_tr - s0);
            for (int q = 0; q < nb; q++) {
                memcpy(xb + (int64_t)q * D, Xc + perm[s0 + q] * D, (size_t)D * sizeof *xb);
                for (int k = 0; k < dout; k++) yb[q * dout + k] = Yc[perm[s0 + q] * dout + k] / t->y_scale;
            }
            const float *y = pr_mlp_forward(&t->mlp, t->P.w, xb, act, nb, 1, NULL);
            /* L = 1/nb sum_q |y_q - t_q|^2  ->  dL/dy = 2 (y - t) / nb */
            for (int64_t k = 0; k < (int64_t)nb * dout; k++) dy[k] = 2.0f * (y[k] - yb[k]) / (float)nb;
            pr_params_zero_grad(&t->P);
            pr_mlp_backward(&t->mlp, t->P.w, t->P.g, xb, act, dy, NULL, nb);
            pr_optim_step_params(&opt, &t->P);
        }
        if (n_val == 0) continue;
        for (int64_t q = 0; q < n_val; q++) {
            memcpy(xb + q * D, Xc + perm[n_tr + q] * D, (size_t)D * sizeof *xb);
            for (int k = 0; k < dout; k++) yb[q * dout + k] = Yc[perm[n_tr + q] * dout + k] / t->y_scale;
        }
        const float *y = pr_mlp_forward(&t->mlp, t->P.w, xb, act, (int)n_val, 0, NULL);
        double mse = 0;
        for (int64_t k = 0; k < n_val * dout; k++) mse += (double)(y[k] - yb[k]) * (y[k] - yb[k]);
        mse /= (double)n_val;
        if (mse < best_val) {
            best_val = mse;
            bad = 0;
            memcpy(best, t->P.w, (size_t)t->P.n_params * sizeof *best);
        } else if (++bad >= 20) {
            break;
        }
    }
    memcpy(t->P.w, best, (size_t)t->P.n_params * sizeof *best);
done:
    pr_optim_deinit(&opt);
    free(perm);
    free(xb);
    free(yb);
    free(dy);
    free(act);
    free(best);
    return rc;
}

int pr_mapper_fit(const pr_features *f, const pr_snapshot *s, const int32_t *rows, int64_t n,
                  const pr_mapper_opts *o, pr_pool *pool, pr_tower **out, pr_error *err) {
    if (!f || f->n_mod == 0) return pr_err(err, PR_E_ARG, "mapper: the model has no item content (--features or --items)");
    if (!s->V) return pr_err(err, PR_E_ARG, "mapper: the model has no item vectors");
    if (o->kind != PR_MAPPER_RIDGE && o->kind != PR_MAPPER_MLP) return pr_err(err, PR_E_ARG, "mapper: unknown kind %d", o->kind);
    int dims[PR_MAX_MODALITIES];
    char names[PR_MAX_MODALITIES][32];
    for (int m = 0; m < f->n_mod; m++) {
        dims[m] = f->mod[m].dim;
        snprintf(names[m], sizeof names[m], "%s", f->mod[m].name);
    }
    mapper_tower *t = mapper_alloc(o->kind, f->n_mod, dims, names, s->d, s->b != NULL);
    pr_ridge *rg = NULL;
    int D = content_dim(f), dout = s->d + (s->b != NULL), rc = 0;
    float *X = pr_malloc((size_t)n * D, sizeof *X), *Y = pr_malloc((size_t)n * dout, sizeof *Y);
    if (!t || !X || !Y) { rc = pr_err(err, PR_E_NOMEM, "mapper: %lld items x %d", (long long)n, D); goto done; }
    if ((rc = content_rows(f, rows, n, X, err))) goto done;
    gather_targets(s, rows, n, Y);
    if (o->kind == PR_MAPPER_RIDGE) {
        if ((rc = pr_ridge_new(X, n, D, o->reg, &rg, err)) || (rc = pr_ridge_solve(rg, Y, dout, t->W, t->xmean, t->ymean, err)))
            goto done;
    } else {
        if (n < 2) { rc = pr_err(err, PR_E_ARG, "mapper: need at least 2 items with content"); goto done; }
        for (int64_t i = 0; i < n; i++) /* means, then centre in place */
            for (int k = 0; k < D; k++) t->xmean[k] += X[i * D + k] / (float)n;
        for (int64_t i = 0; i < n; i++)
            for (int k = 0; k < dout; k++) t->ymean[k] += Y[i * dout + k] / (float)n;
        for (int64_t i = 0; i < n; i++) {
            for (int k = 0; k < D; k++) X[i * D + k] -= t->xmean[k];
            for (int k = 0; k < dout; k++) Y[i * dout + k] -= t->ymean[k];
        }
        if ((rc = mlp_fit(t, X, Y, n, o, err))) goto done;
    }
    t->scale = 1.0f;
    if (o->scale > 0) {
        t->scale = o->scale;
    } else {
        double ratio = pr_tower_norm_ratio(&t->base, f, s, rows, n);
        if (ratio == ratio && ratio > 0) t->scale = (float)ratio;
    }
    *out = &t->base;
    t = NULL;
done:
    if (t) mapper_free(&t->base);
    pr_ridge_free(rg);
    free(X);
    free(Y);
    return rc;
}

/* ---- any tower --------------------------------------------------------------- */

int pr_tower_from_model(const pr_model *m, pr_tower **out, pr_error *err) {
    const pr_tower_ops *to = pr_tower_find(m->ops->name);
    if (!m->ops->tower_save || !to) return pr_err(err, PR_E_NOTFOUND, "%s: model has no item tower", m->ops->name);
    pr_buf b;
    pr_buf_init(&b);
    int rc = m->ops->tower_save(m, &b);
    if (rc == 0 && b.oom) rc = PR_E_NOMEM;
    if (rc) {
        pr_buf_free(&b);
        return pr_err(err, rc, "%s: saving the item tower", m->ops->name);
    }
    pr_cur c;
    pr_cur_init(&c, b.data, b.len, "tower");
    if ((rc = to->load(out, &c, err)) == 0) (*out)->ops = to;
    pr_buf_free(&b);
    return rc;
}

/* The placed rows' parts too (models/parts.h), when s has parts; a tower
 * without a matching split (or one with too many parts for a Shapley split)
 * drops them: they would no longer sum to V. */
static int place_parts(const pr_tower *t, const pr_features *f, const uint8_t *which, pr_snapshot *s,
                       pr_error *err) {
    if (!s->parts) return 0;
    int rc = PR_E_RANGE;
    if (t->ops->parts && pr_tower_n_parts(t) == s->parts->n_parts) rc = pr_tower_parts_rows(t, f, which, s->parts, err);
    if (rc != PR_E_RANGE) return rc;
    pr_parts_free(s->parts);
    s->parts = NULL;
    return 0;
}

int pr_tower_place(const pr_tower *t, const pr_features *f, const uint8_t *which, pr_snapshot *s,
                   int32_t *n_placed, pr_error *err) {
    if (!f || f->n_mod != t->n_mod) return pr_err(err, PR_E_ARG, "item tower: expects %d modalities, features have %d", t->n_mod, f ? f->n_mod : 0);
    for (int m = 0; m < t->n_mod; m++)
        if (f->mod[m].dim != t->dims[m])
            return pr_err(err, PR_E_ARG, "item tower: modality %d ('%s') has %d dims, tower expects %d", m,
                          f->mod[m].name, f->mod[m].dim, t->dims[m]);
    if (s->d != t->d) return pr_err(err, PR_E_ARG, "item tower: outputs d=%d, snapshot has d=%d", t->d, s->d);
    int32_t placed = 0;
    for (int32_t i = 0; i < s->n_items; i++) {
        if (!which[i]) continue;
        const float *x[PR_MAX_MODALITIES];
        float *v = s->V + (int64_t)i * s->d, bias = 0.0f;
        if (pr_features_row(f, i, x) == 0) {
            memset(v, 0, (size_t)s->d * sizeof *v);
        } else {
            int rc = t->ops->encode(t, x, v, &bias, err);
            if (rc) return pr_err_wrap(err, "item %d: ", i);
            placed++;
        }
        if (s->b) s->b[i] = bias;
    }
    if (n_placed) *n_placed = placed;
    return place_parts(t, f, which, s, err);
}

/* ---- training-time placement ------------------------------------------------- */

typedef struct {
    pr_model base;
    pr_model *inner;     /* owned */
    pr_model_ops ops;    /* inner's ops with snapshot and free replaced */
    int own;             /* place through inner's own tower, not a ridge mapper */
    /* own mode: the tower of every snapshot handed out, keyed by the
     * checksum of that snapshot's V, so the tower of the snapshot that
     * training kept (the best epoch) can be found afterwards */
    struct { uint32_t crc; pr_buf blob; } *hist;
    int n_hist, cap_hist;
    size_t hist_bytes;
    pr_mapper_opts o;
    pr_ridge *ridge;     /* warm items' content, factorised at the first snapshot */
    int32_t *warm;       /* (n_warm) */
    int64_t n_warm;
    uint8_t *cold;       /* (n_items) items to place */
} mapped;

#define INNER(m) (((mapped *)(m))->inner)
static double mapped_forward(pr_model *m, const pr_batch *b) { return INNER(m)->ops->forward(INNER(m), b); }
static void mapped_backward(pr_model *m, const pr_batch *b) { INNER(m)->ops->backward(INNER(m), b); }
static void mapped_step(pr_model *m, const pr_batch *b) { INNER(m)->ops->step(INNER(m), b); }
static int mapped_run_epoch(pr_model *m, const struct pr_epoch_plan *p, double *loss) {
    return INNER(m)->ops->run_epoch(INNER(m), p, loss);
}
static int mapped_epoch_begin(pr_model *m, int e, pr_error *err) { return INNER(m)->ops->epoch_begin(INNER(m), e, err); }
static int mapped_fit(pr_model *m, pr_error *err) { return INNER(m)->ops->fit(INNER(m), err); }
static void mapped_dense_grad(pr_model *m, float *g) { INNER(m)->ops->dense_grad(INNER(m), g); }
static int mapped_tower_save(const pr_model *m, pr_buf *b) { return INNER(m)->ops->tower_save(INNER(m), b); }

static void mapped_free(pr_model *base) {
    mapped *w = (mapped *)base;
    if (!w) return;
    for (int k = 0; k < w->n_hist; k++) pr_buf_free(&w->hist[k].blob);
    free(w->hist);
    if (w->inner) w->inner->ops->free(w->inner);
    pr_ridge_free(w->ridge);
    free(w->warm);
    free(w->cold);
    free(w);
}

static int mapped_prepare(mapped *w, pr_error *err) {
    const pr_features *f = w->inner->feat;
    int D = content_dim(f), rc;
    float *X = pr_malloc((size_t)w->n_warm * D, sizeof *X);
    if (!X) return pr_err(err, PR_E_NOMEM, "mapper");
    if ((rc = content_rows(f, w->warm, w->n_warm, X, err)) == 0)
        rc = pr_ridge_new(X, w->n_warm, D, w->o.reg, &w->ridge, err);
    free(X);
    return rc;
}

/* Keep (crc of V, tower blob) for this snapshot; the oldest entries go when
 * the history passes HIST_BYTES (then an old best epoch's tower is lost and
 * pr_tower_model_best says so). */
enum { HIST_BYTES = 256 << 20 };

static int own_snapshot(mapped *w, pr_snapshot *out, pr_error *err) {
    const pr_tower_ops *to = pr_tower_find(w->inner->ops->name);
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
    if ((rc = pr_tower_place(t, w->inner->feat, w->cold, out, NULL, err))) goto done;
    while (w->n_hist > 0 && w->hist_bytes + b.len > HIST_BYTES) {
        w->hist_bytes -= w->hist[0].blob.len;
        pr_buf_free(&w->hist[0].blob);
        memmove(w->hist, w->hist + 1, (size_t)--w->n_hist * sizeof *w->hist);
    }
    if (w->n_hist == w->cap_hist) {
        int cap = w->cap_hist ? 2 * w->cap_hist : 16;
        void *h = pr_realloc(w->hist, (size_t)cap, sizeof *w->hist);
        if (!h) { rc = pr_err(err, PR_E_NOMEM, "tower history"); goto done; }
        w->hist = h;
        w->cap_hist = cap;
    }
    w->hist[w->n_hist].crc = pr_crc32c(0, out->V, (size_t)out->n_items * out->d * sizeof *out->V);
    w->hist[w->n_hist++].blob = b;
    w->hist_bytes += b.len;
    pr_buf_init(&b);
done:
    if (t) t->ops->free(t);
    pr_buf_free(&b);
    return rc;
}

static int mapped_snapshot(pr_model *base, pr_snapshot *out, pr_error *err) {
    mapped *w = (mapped *)base;
    int rc = w->inner->ops->snapshot(w->inner, out, err);
    if (rc || !out->V) return rc;
    if (w->own) return own_snapshot(w, out, err);
    if (!w->ridge && (rc = mapped_prepare(w, err))) return rc;
    const pr_features *f = w->inner->feat;
    int dims[PR_MAX_MODALITIES], dout = out->d + (out->b != NULL);
    char names[PR_MAX_MODALITIES][32];
    for (int m = 0; m < f->n_mod; m++) {
        dims[m] = f->mod[m].dim;
        snprintf(names[m], sizeof names[m], "%s", f->mod[m].name);
    }
    mapper_tower *t = mapper_alloc(PR_MAPPER_RIDGE, f->n_mod, dims, names, out->d, out->b != NULL);
    float *Y = pr_malloc((size_t)w->n_warm * dout, sizeof *Y);
    if (!t || !Y) { rc = pr_err(err, PR_E_NOMEM, "mapper"); goto done; }
    gather_targets(out, w->warm, w->n_warm, Y);
    if ((rc = pr_ridge_solve(w->ridge, Y, dout, t->W, t->xmean, t->ymean, err))) goto done;
    t->scale = 1.0f;
    if (w->o.scale > 0) {
        t->scale = w->o.scale;
    } else {
        double ratio = pr_tower_norm_ratio(&t->base, f, out, w->warm, w->n_warm);
        if (ratio == ratio && ratio > 0) t->scale = (float)ratio;
    }
    rc = pr_tower_place(&t->base, f, w->cold, out, NULL, err);
done:
    if (t) mapper_free(&t->base);
    free(Y);
    return rc;
}

/* Own mode: the inner model's split, with the cold items' rows through the
 * current tower, as own_snapshot placed their V rows (the state is the one
 * that gave s: the loop calls this right after the snapshot). */
static int mapped_parts(pr_model *base, pr_snapshot *s, pr_error *err) {
    mapped *w = (mapped *)base;
    int rc = w->inner->ops->parts(w->inner, s, err);
    if (rc || !s->parts) return rc;
    pr_tower *t = NULL;
    if ((rc = pr_tower_from_model(w->inner, &t, err)) == 0) rc = place_parts(t, w->inner->feat, w->cold, s, err);
    if (t) t->ops->free(t);
    return rc;
}

static int wrap(pr_model *inner, const pr_mapper_opts *o, int own, pr_model **out, pr_error *err);

int pr_tower_model_best(const pr_model *m, const pr_snapshot *best, pr_buf *section, pr_error *err) {
    const mapped *w = (const mapped *)m;
    if (m->ops->free != mapped_free || !w->own) return pr_err(err, PR_E_ARG, "not a tower-placing model");
    uint32_t crc = best->V ? pr_crc32c(0, best->V, (size_t)best->n_items * best->d * sizeof *best->V) : 0;
    for (int k = w->n_hist - 1; k >= 0; k--) {
        if (w->hist[k].crc != crc) continue;
        pr_buf_put_str(section, w->inner->ops->name);
        pr_buf_put(section, w->hist[k].blob.data, w->hist[k].blob.len);
        return section->oom ? pr_err(err, PR_E_NOMEM, "tower") : 0;
    }
    return pr_err(err, PR_E_NOTFOUND, "%s: the item tower of the kept epoch is no longer known", m->ops->name);
}

int pr_mapper_model_new(pr_model *inner, const pr_mapper_opts *o, pr_model **out, pr_error *err) {
    return wrap(inner, o, 0, out, err);
}

int pr_tower_model_new(pr_model *inner, pr_model **out, pr_error *err) {
    pr_mapper_opts o;
    pr_mapper_opts_default(&o);
    if (!inner->ops->tower_save || !pr_tower_find(inner->ops->name)) {
        int rc = pr_err(err, PR_E_ARG, "%s: model has no item tower", inner->ops->name);
        inner->ops->free(inner);
        return rc;
    }
    return wrap(inner, &o, 1, out, err);
}

static int wrap(pr_model *inner, const pr_mapper_opts *o, int own, pr_model **out, pr_error *err) {
    mapped *w = pr_calloc(1, sizeof *w);
    const pr_dataset *d = inner->data;
    if (!w) {
        inner->ops->free(inner);
        return pr_err(err, PR_E_NOMEM, "mapper");
    }
    w->inner = inner;
    w->own = own;
    w->o = *o;
    w->base = *inner;
    w->ops = *inner->ops;
    w->ops.forward = inner->ops->forward ? mapped_forward : NULL;
    w->ops.backward = inner->ops->backward ? mapped_backward : NULL;
    w->ops.step = inner->ops->step ? mapped_step : NULL;
    w->ops.run_epoch = inner->ops->run_epoch ? mapped_run_epoch : NULL;
    w->ops.epoch_begin = inner->ops->epoch_begin ? mapped_epoch_begin : NULL;
    w->ops.fit = inner->ops->fit ? mapped_fit : NULL;
    w->ops.dense_grad = inner->ops->dense_grad ? mapped_dense_grad : NULL;
    w->ops.snapshot = mapped_snapshot;
    w->ops.parts = own && inner->ops->parts ? mapped_parts : NULL; /* mapper mode: fit splits after placing */
    w->ops.tower_save = own ? mapped_tower_save : NULL; /* else the caller saves the final mapper */
    w->ops.free = mapped_free;
    w->base.ops = &w->ops;
    int rc = 0;
    if (!inner->ops->snapshot || inner->ops->score) { rc = pr_err(err, PR_E_ARG, "mapper: %s has no item vectors to map to", inner->ops->name); goto fail; }
    if (!inner->feat || inner->feat->n_mod == 0) { rc = pr_err(err, PR_E_ARG, "mapper: no item content"); goto fail; }
    w->warm = pr_malloc((size_t)d->n_items, sizeof *w->warm);
    w->cold = pr_calloc((size_t)d->n_items, 1);
    if (!w->warm || !w->cold) { rc = pr_err(err, PR_E_NOMEM, "mapper"); goto fail; }
    for (int32_t i = 0; i < d->n_items; i++) w->cold[i] = 1;
    for (int64_t k = 0; k < d->train->nnz; k++) w->cold[d->train->indices[k]] = 0;
    const float *x[PR_MAX_MODALITIES];
    for (int32_t i = 0; i < d->n_items; i++)
        if (!w->cold[i] && pr_features_row(inner->feat, i, x) > 0) w->warm[w->n_warm++] = i;
    *out = &w->base;
    return 0;
fail:
    mapped_free(&w->base);
    return rc;
}
