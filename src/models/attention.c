/* models/attention.c: attention fusion of the ID embedding and the content.
 *
 *   h_0 = e_id(i),  h_m = W_m x_m(i)               W_m (d, D_m), m = 1..M
 *   a(i) = softmax over present parts of q . tanh(A h_m + c)   (nn/attn.h)
 *   e_i = sum_m a_m(i) h_m,   s(u,i) = p_u . e_i
 * The weights come from the item's own vectors, so they are the same for
 * every user and part of the item's row of V: retrieval stays one GEMM. A
 * missing or dropped modality is masked out of the softmax (never a zero
 * vector with weight), so an item without text spreads its weight over the
 * ID and the image, and a new item (no ID) over its content. Where content
 * is weak the model can put its weight on the ID part and behave as BPR-MF.
 *
 * Trained by the fused-tower engine of models/content.h. weights() returns
 * a(i) for a new item (the ID part 0); pr_fused_item_weights gives it for
 * trained items, ID included: which modality drives an item. parts() splits
 * e_i exactly into its terms a_m(i) h_m, so p_u . a_m h_m is modality m's
 * share of the score (models/parts.h).
 * Keys: att_k (width of the scoring layer, d), plus drop_id (0), drop_mod
 * (0.5) and wd (0.01): without weight decay on the projections and modality
 * dropout, the content parts overfit and drown the ID part (mls validation
 * Recall@20 0.18 instead of 0.27; docs/models-multimodal.md). */
#include <string.h>

#include "models/content.h"
#include "models/parts.h"

static int attn_keys(pr_fusion *f, const pr_config *c, pr_error *err) {
    f->dout = f->d; /* e_i is a weighted mean of the parts */
    return pr_key_int(c, "attention", "att_k", c->d, 1, 4096, &f->arch.k, err);
}

static int attn_declare(pr_fusion *f, pr_params *p, pr_error *err) {
    f->arch.layers = 1; /* unused by attention; saved for a uniform tower blob */
    int rc = pr_attn_init(&f->attn, p, "attn", f->M1, f->d, f->arch.k);
    if (rc && err) *err = p->first_err;
    return rc;
}

static void attn_init_params(const pr_fusion *f, pr_params *p, pr_rng *r) {
    pr_attn_init_params(&f->attn, p, r);
}

static int64_t attn_act_size(const pr_fusion *f, int R) { return pr_attn_act_size(&f->attn, R); }

static void attn_forward(const pr_fusion *f, const float *w, const float *H, const uint8_t *mask,
                         float *E, float *act, int R, int train, pr_rng *r) {
    pr_attn_forward(&f->attn, w, H, mask, E, act, R);
}

static void attn_backward(const pr_fusion *f, const float *w, float *g, const float *H,
                          const uint8_t *mask, float *act, const float *dE, float *dH, int R) {
    pr_attn_backward(&f->attn, w, g, H, mask, act, dE, dH, R);
}

static void attn_weights(const pr_fusion *f, const float *H, const uint8_t *mask, const float *act,
                         int R, float *wts) {
    memcpy(wts, pr_attn_weights(&f->attn, act, R), (size_t)R * f->M1 * sizeof *wts);
}

/* part m = a_m(i) h_m: the terms of e_i itself (exact) */
static int attn_parts(const pr_fusion *f, const float *w, const float *H, const uint8_t *mask, float *E,
                      float *act, int R, float *P, pr_error *err) {
    (void)err;
    int M1 = f->M1, d = f->d;
    pr_attn_forward(&f->attn, w, H, mask, E, act, R);
    const float *a = pr_attn_weights(&f->attn, act, R);
    for (int64_t r = 0; r < (int64_t)R * M1; r++) {
        float *p = P + r * d;
        const float *h = H + r * d;
        if (mask && !mask[r]) memset(p, 0, (size_t)d * sizeof *p);
        else for (int k = 0; k < d; k++) p[k] = a[r] * h[k];
    }
    return 0;
}

static const pr_fusion_ops attn_fusion = {
    .name = "attention",
    .fixed_out = 1,
    .wd = 0.01f,      /* mls validation: 0.1767 without, 0.2576 with, 0.2679 with drop_mod too */
    .drop_mod = 0.5f,
    .keys = attn_keys,
    .declare = attn_declare,
    .init_params = attn_init_params,
    .act_size = attn_act_size,
    .forward = attn_forward,
    .backward = attn_backward,
    .weights = attn_weights,
    .parts = attn_parts,
    .part_flags = 0,
};

static int attn_init(pr_model **out, const pr_dataset *d, const pr_features *f, const pr_config *c,
                     pr_pool *pool, pr_error *err) {
    return pr_fused_init(out, &attn_fusion, d, f, c, pool, err);
}

extern const pr_tower_ops pr_attention_tower_ops;

static int attn_tower_load(pr_tower **out, pr_cur *c, pr_error *err) {
    return pr_fused_tower_load(out, c, &pr_attention_tower_ops, &attn_fusion, err);
}

const pr_tower_ops pr_attention_tower_ops = {
    .name = "attention",
    .load = attn_tower_load,
    .encode = pr_fused_tower_encode,
    .weights = pr_fused_tower_weights,
    .parts = pr_fused_tower_parts,
    .free = pr_fused_tower_free,
};

const pr_model_ops pr_attention_ops = {
    .name = "attention",
    .help = "attention fusion e_i = sum_m a_m(i) h_m over ID and content parts; keys: att_k, "
            "drop_id, drop_mod, wd",
    .needs_features = 1,
    .init = attn_init,
    .forward = pr_fused_forward,
    .backward = pr_fused_backward,
    .step = pr_fused_step,
    .dense_grad = pr_fused_dense_grad,
    .snapshot = pr_fused_snapshot,
    .parts = pr_fused_parts,
    .tower_save = pr_fused_tower_save,
    .free = pr_fused_free,
};
