/* nn/mlp.c: Linear + activation stacks (see mlp.h).
 *
 * Activation buffer layout, layer by layer (n = B dims[l+1]):
 *   z_l (n) | h_l (n, only when the layer has an activation; else h_l = z_l)
 *   | mask_l (n), x_{l+1} (n)   (only for hidden layers when dropout > 0)
 * followed by two backward scratch areas of B max(dims[1..L]) floats each. */
#include "mlp.h"

#include <assert.h>
#include <stdio.h>

#include "nn/dropout.h"

typedef struct layer_offs {
    int64_t z, h, mask, out; /* float offsets; mask = -1 without dropout */
} layer_offs;
typedef struct layer_bufs {
    float *z, *h, *mask, *out; /* out: the next layer's input (h or dropped h) */
} layer_bufs;

static pr_act layer_act(const pr_mlp *m, int l) {
    return l == m->n_layers - 1 ? m->out_act : m->act;
}
static int layer_drops(const pr_mlp *m, int l) { return l < m->n_layers - 1 && m->dropout > 0.0f; }

/* Offsets of layer l inside the buffer; for l == n_layers, .z is the start
 * of the backward scratch (the forward part's size). */
static layer_offs offs_of(const pr_mlp *m, int B, int l) {
    layer_offs o = {0, 0, -1, 0};
    int64_t p = 0;
    for (int k = 0; k <= l && k < m->n_layers; k++) {
        int64_t n = (int64_t)B * m->dims[k + 1];
        o.z = o.h = p;
        p += n;
        if (layer_act(m, k).kind != PR_ACT_NONE) {
            o.h = p;
            p += n;
        }
        o.mask = -1;
        o.out = o.h;
        if (layer_drops(m, k)) {
            o.mask = p;
            o.out = p + n;
            p += 2 * n;
        }
    }
    if (l == m->n_layers) o.z = p;
    return o;
}

static layer_bufs bufs_of(const pr_mlp *m, float *act, int B, int l) {
    layer_offs o = offs_of(m, B, l);
    layer_bufs lb = {act + o.z, act + o.h, o.mask >= 0 ? act + o.mask : NULL, act + o.out};
    return lb;
}

static int max_width(const pr_mlp *m) {
    int w = 1;
    for (int l = 1; l <= m->n_layers; l++) w = PR_MAX(w, m->dims[l]);
    return w;
}

int pr_mlp_init(pr_mlp *m, pr_params *p, const char *name, int n_layers, const int *dims,
                pr_act act, pr_act out_act, float dropout, pr_error *err) {
    if (n_layers < 1 || n_layers > PR_MLP_MAX_LAYERS)
        return pr_err(err, PR_E_ARG, "mlp '%s': %d layers (1..%d)", name, n_layers,
                      PR_MLP_MAX_LAYERS);
    if (!(dropout >= 0.0f && dropout < 1.0f))
        return pr_err(err, PR_E_ARG, "mlp '%s': dropout %g not in [0, 1)", name, dropout);
    for (int l = 0; l <= n_layers; l++)
        if (dims[l] < 1)
            return pr_err(err, PR_E_ARG, "mlp '%s': width %d of layer %d", name, dims[l], l);
    m->n_layers = n_layers;
    for (int l = 0; l <= n_layers; l++) m->dims[l] = dims[l];
    m->act = act;
    m->out_act = out_act;
    m->dropout = dropout;
    for (int l = 0; l < n_layers; l++) {
        char nm[PR_PARAM_NAME_MAX + 16];
        snprintf(nm, sizeof nm, "%s.%d", name, l);
        int rc = pr_linear_init(&m->lin[l], p, nm, dims[l], dims[l + 1], 1);
        if (rc < 0) {
            if (err) *err = p->first_err; /* the sticky tensor error */
            return rc;
        }
    }
    return 0;
}

void pr_mlp_init_params(const pr_mlp *m, pr_params *p, pr_rng *r) {
    for (int l = 0; l < m->n_layers; l++) pr_linear_init_params(&m->lin[l], p, r);
}

int64_t pr_mlp_act_size(const pr_mlp *m, int B) {
    return offs_of(m, B, m->n_layers).z + 2 * (int64_t)B * max_width(m);
}

const float *pr_mlp_forward(const pr_mlp *m, const float *w, const float *x, float *act, int B,
                            int train, pr_rng *r) {
    assert(r || !train || m->dropout == 0.0f); /* dropout needs an rng */
    const float *in = x;
    layer_bufs lb = {0};
    for (int l = 0; l < m->n_layers; l++) {
        int64_t n = (int64_t)B * m->dims[l + 1];
        lb = bufs_of(m, act, B, l);
        pr_linear_forward(&m->lin[l], w, in, lb.z, B);  /* z (B, dims[l+1]) */
        pr_act_forward(layer_act(m, l), lb.z, lb.h, n); /* h = act(z), h may be z */
        if (lb.mask) pr_dropout_forward(m->dropout, train, r, lb.h, lb.out, lb.mask, n);
        in = lb.out;
    }
    return lb.out;
}

int64_t pr_mlp_ref_size(const pr_mlp *m, int B) { return 3 * (int64_t)B * max_width(m); }

void pr_mlp_forward_f64(const pr_mlp *m, const float *w, const double *x, double *y,
                        double *scratch, int B, int train, pr_rng *r) {
    const int64_t cap = (int64_t)B * max_width(m);
    double *buf[2] = {scratch, scratch + cap}, *mask = scratch + 2 * cap;
    const double *in = x;
    for (int l = 0; l < m->n_layers; l++) {
        int64_t n = (int64_t)B * m->dims[l + 1];
        double *z = l == m->n_layers - 1 ? y : buf[l & 1];
        pr_linear_forward_f64(&m->lin[l], w, in, z, B);
        pr_act_forward_f64(layer_act(m, l), z, z, n);
        if (layer_drops(m, l)) pr_dropout_forward_f64(m->dropout, train, r, z, z, mask, n);
        in = z;
    }
}

void pr_mlp_backward(const pr_mlp *m, const float *w, float *g, const float *x, float *act,
                     const float *dy, float *dx, int B) {
    float *s0 = bufs_of(m, act, B, m->n_layers).z; /* dz of the current layer */
    float *s1 = s0 + (int64_t)B * max_width(m);    /* dx of the current layer */
    const float *cur = dy;                         /* d(output of layer l) */
    for (int l = m->n_layers - 1; l >= 0; l--) {
        int64_t n = (int64_t)B * m->dims[l + 1];
        layer_bufs lb = bufs_of(m, act, B, l);
        if (lb.mask)
            pr_dropout_backward(lb.mask, cur, s0, n); /* dh = dout * mask */
        else
            pr_act_backward((pr_act){PR_ACT_NONE, 0.0f}, NULL, NULL, cur, s0, n);
        pr_act_backward(layer_act(m, l), lb.z, lb.h, s0, s0, n); /* dz = act'(z) dh */
        const float *in = l == 0 ? x : bufs_of(m, act, B, l - 1).out;
        float *din = l == 0 ? dx : s1;
        pr_linear_backward(&m->lin[l], w, g, in, s0, din, B); /* din, dW, db */
        cur = s1;
    }
}
