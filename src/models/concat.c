/* models/concat.c: concatenation (early) fusion of the ID embedding and the content.
 *
 *   h_0 = e_id(i),  h_m = W_m x_m(i)               W_m (d, D_m), m = 1..M
 *   e_i = MLP([h_0, h_1, ..., h_M])                ((M+1) d -> hidden ... -> d)
 *   s(u,i) = p_u . e_i
 * trained with BPR by the fused-tower engine of models/content.h (loss,
 * threading, modality dropout, snapshot, tower). A dropped or missing part
 * enters the MLP as zeros; with drop_id > 0 the MLP learns to place an item
 * from its content alone, which is what the tower does for a new item.
 * Early fusion lets the MLP mix modalities feature by feature (unlike
 * attention, which only weighs whole parts), at the price of one dense layer
 * over (M+1) d inputs per item and batch: R (M+1) d hidden flops x 2, small
 * next to the projections when features are wide.
 *
 * residual=1: e_i = [h_0 .. h_M] + MLP([h_0 .. h_M]) with out = (M+1) d and
 * the MLP's last layer starting at zero: the model starts as VBPR with one
 * projection per modality (no visual bias) and the MLP adds cross-modal
 * interactions on top.
 *
 * Keys: layers (2; 1 = a linear fusion), hidden (d), act (relu | leaky_relu |
 * tanh | sigmoid | gelu | none; leaky_relu), dropout (0, after hidden
 * layers), residual (1), out (width of e_i and p_u: (M+1) d with residual,
 * else d), plus the engine's drop_id (0), drop_mod (0) and wd (0.03). Chosen
 * on mls validation (docs/models-multimodal.md): a plain MLP fusion (residual=0)
 * overfits through the MLP and stays near Recall@20 0.24; the residual over
 * the parts with weight decay on the dense weights reaches 0.255. The weights op reports
 * each part's share as its norm |h_m| over the sum (a proxy: the MLP mixes).
 * parts() splits e_i for explanations: each residual block exactly, the MLP
 * term by Shapley values over the parts, MLP(0) as "base" (models/parts.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mat.h"
#include "models/content.h"
#include "models/parts.h"

static const char *const act_names[] = {"leaky_relu", "relu", "tanh", "sigmoid", "gelu", "none", NULL};

static int concat_keys(pr_fusion *f, const pr_config *c, pr_error *err) {
    int rc, act, residual;
    if ((rc = pr_key_int(c, "concat", "layers", 2, 1, PR_MLP_MAX_LAYERS, &f->arch.layers, err)) ||
        (rc = pr_key_int(c, "concat", "hidden", c->d, 1, 65536, &f->arch.hidden, err)) ||
        (rc = pr_key_choice(c, "concat", "act", act_names, &act, err)) ||
        (rc = pr_key_float(c, "concat", "dropout", 0, 0, 0.95, &f->arch.dropout, err)) ||
        (rc = pr_key_int(c, "concat", "residual", 1, 0, 1, &residual, err)) ||
        (rc = pr_key_int(c, "concat", "out", residual ? f->M1 * c->d : c->d, 1, PR_EMBED_MAX_D, &f->dout, err)))
        return rc;
    if (residual && f->dout != f->M1 * f->d)
        return pr_err(err, PR_E_ARG, "concat: residual=1 needs out = (modalities + 1) d = %d, not %d",
                      f->M1 * f->d, f->dout);
    f->arch.act = pr_act_parse(act_names[act]);
    f->arch.residual = residual;
    return 0;
}

static int concat_declare(pr_fusion *f, pr_params *p, pr_error *err) {
    int dims[PR_MLP_MAX_LAYERS + 1], L = f->arch.layers;
    dims[0] = f->M1 * f->d;
    for (int l = 1; l < L; l++) dims[l] = f->arch.hidden;
    dims[L] = f->dout;
    pr_act act = {f->arch.act, 0.01f}, none = {PR_ACT_NONE, 0.0f};
    return pr_mlp_init(&f->mlp, p, "fuse", L, dims, act, none, f->arch.dropout, err);
}

static void concat_init_params(const pr_fusion *f, pr_params *p, pr_rng *r) {
    pr_mlp_init_params(&f->mlp, p, r);
    if (f->arch.residual) { /* residual: start as e_i = [h_0 .. h_M] (VBPR with one E per modality) */
        const pr_linear *last = &f->mlp.lin[f->mlp.n_layers - 1];
        pr_params_zeros(p, last->W);
    }
}

static int64_t concat_act_size(const pr_fusion *f, int R) { return pr_mlp_act_size(&f->mlp, R); }

/* The engine zeroes masked parts, so the MLP reads H as is: E = MLP(H (R, M1 d)). */
static void concat_forward(const pr_fusion *f, const float *w, const float *H, const uint8_t *mask,
                           float *E, float *act, int R, int train, pr_rng *r) {
    const float *y = pr_mlp_forward(&f->mlp, w, H, act, R, train, r);
    memcpy(E, y, (size_t)R * f->dout * sizeof *E);
    if (f->arch.residual) /* + [h_0 .. h_M] (masked parts are zero) */
        pr_axpy(1.0f, H, E, R * f->dout);
}

static void concat_backward(const pr_fusion *f, const float *w, float *g, const float *H,
                            const uint8_t *mask, float *act, const float *dE, float *dH, int R) {
    pr_mlp_backward(&f->mlp, w, g, H, act, dE, dH, R);
    if (f->arch.residual) pr_axpy(1.0f, dE, dH, R * f->dout);
}

static void concat_weights(const pr_fusion *f, const float *H, const uint8_t *mask, const float *act,
                           int R, float *wts) {
    int M1 = f->M1, d = f->d;
    for (int r = 0; r < R; r++) {
        float *w = wts + (int64_t)r * M1;
        double sum = 0;
        for (int m = 0; m < M1; m++) {
            w[m] = mask[(int64_t)r * M1 + m] ? sqrtf(pr_dot(H + ((int64_t)r * M1 + m) * d, H + ((int64_t)r * M1 + m) * d, d)) : 0.0f;
            sum += w[m];
        }
        for (int m = 0; m < M1 && sum > 0; m++) w[m] = (float)(w[m] / sum);
    }
}

/* e_i split by part: the residual block of part q is h_q itself (exact);
 * the MLP term g(S) = MLP(H with the parts outside S zeroed) is split by
 * Shapley values over the M1 parts, g(none) = MLP(0) going to "base"
 * (models/parts.h). 2^M1 MLP passes over the R rows; a masked part is zero
 * in every coalition, so it gets exactly 0. */
static int concat_parts(const pr_fusion *f, const float *w, const float *H, const uint8_t *mask, float *E,
                        float *act, int R, float *P, pr_error *err) {
    (void)mask;
    (void)E;
    int M1 = f->M1, d = f->d, dout = f->dout, np = M1 + 1, ns = 1 << M1, rc = 0;
    if (M1 > PR_SHAPLEY_MAX)
        return pr_err(err, PR_E_RANGE, "concat: %d parts; a Shapley split takes at most %d", M1, PR_SHAPLEY_MAX);
    int64_t in = (int64_t)M1 * d;
    float *Hs = pr_malloc((size_t)(R * in), sizeof *Hs);
    float *F = pr_malloc((size_t)R * ns * dout, sizeof *F), *phi = pr_malloc((size_t)M1 * dout, sizeof *phi);
    if (!Hs || !F || !phi) {
        rc = pr_err(err, PR_E_NOMEM, "concat: parts of %d items", R);
        goto done;
    }
    for (int s = 0; s < ns; s++) {
        /* F[:, s] (R, dout) = MLP(H with the parts outside s zeroed) */
        for (int64_t r = 0; r < R; r++)
            for (int q = 0; q < M1; q++) {
                float *dst = Hs + r * in + (int64_t)q * d;
                if (s >> q & 1) memcpy(dst, H + r * in + (int64_t)q * d, (size_t)d * sizeof *dst);
                else memset(dst, 0, (size_t)d * sizeof *dst);
            }
        const float *y = pr_mlp_forward(&f->mlp, w, Hs, act, R, 0, NULL);
        for (int64_t r = 0; r < R; r++)
            memcpy(F + (r * ns + s) * dout, y + r * dout, (size_t)dout * sizeof *F);
    }
    for (int64_t r = 0; r < R; r++) {
        const float *Fr = F + r * ns * dout;
        float *Pr = P + r * np * dout;
        pr_shapley(M1, Fr, dout, phi);
        memcpy(Pr, phi, (size_t)M1 * dout * sizeof *Pr);
        for (int q = 0; q < M1 && f->arch.residual; q++) /* block q of e_i += h_q */
            pr_axpy(1.0f, H + r * in + (int64_t)q * d, Pr + (int64_t)q * dout + (int64_t)q * d, d);
        memcpy(Pr + (int64_t)M1 * dout, Fr, (size_t)dout * sizeof *Pr); /* base: MLP(0) */
    }
done:
    free(Hs);
    free(F);
    free(phi);
    return rc;
}

static const pr_fusion_ops concat_fusion = {
    .name = "concat",
    .wd = 0.03f, /* mls validation Recall@20: 0.2318 without, 0.2551 with (residual=1) */
    .drop_mod = 0.0f,
    .keys = concat_keys,
    .declare = concat_declare,
    .init_params = concat_init_params,
    .act_size = concat_act_size,
    .forward = concat_forward,
    .backward = concat_backward,
    .weights = concat_weights,
    .parts = concat_parts,
    .part_flags = PR_PARTS_BASE | PR_PARTS_SHAPLEY,
};

static int concat_init(pr_model **out, const pr_dataset *d, const pr_features *f, const pr_config *c,
                       pr_pool *pool, pr_error *err) {
    return pr_fused_init(out, &concat_fusion, d, f, c, pool, err);
}

extern const pr_tower_ops pr_concat_tower_ops;

static int concat_tower_load(pr_tower **out, pr_cur *c, pr_error *err) {
    return pr_fused_tower_load(out, c, &pr_concat_tower_ops, &concat_fusion, err);
}

const pr_tower_ops pr_concat_tower_ops = {
    .name = "concat",
    .load = concat_tower_load,
    .encode = pr_fused_tower_encode,
    .weights = pr_fused_tower_weights,
    .parts = pr_fused_tower_parts,
    .free = pr_fused_tower_free,
};

const pr_model_ops pr_concat_ops = {
    .name = "concat",
    .help = "concatenation fusion e_i = MLP([e_id, W_m x_m ..]); keys: layers, hidden, act, dropout, "
            "drop_id, drop_mod, wd",
    .needs_features = 1,
    .init = concat_init,
    .forward = pr_fused_forward,
    .backward = pr_fused_backward,
    .step = pr_fused_step,
    .dense_grad = pr_fused_dense_grad,
    .snapshot = pr_fused_snapshot,
    .parts = pr_fused_parts,
    .tower_save = pr_fused_tower_save,
    .free = pr_fused_free,
};
