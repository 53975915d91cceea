/* nn/gradcheck.c: central finite differences against analytic gradients
 * (see gradcheck.h). */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/rng.h"

void pr_gradcheck_defaults(pr_gradcheck_cfg *c, int precision) {
    memset(c, 0, sizeof *c);
    c->order = 4;
    c->seed = 1;
    if (precision == PR_GRADCHECK_F64) {
        c->eps = 1e-3;
        c->tol = 1e-4;
        c->floor = 1e-5;
    } else {
        c->eps = 3e-2;
        c->tol = 1e-2;
        c->floor = 1e-3;
    }
}

double pr_gradcheck_rel(double ga, double gn, double floor) {
    double den = fabs(ga) + fabs(gn);
    return fabs(ga - gn) / (den > floor ? den : floor);
}

typedef struct gc_state {
    float *w;
    const float *g;
    const pr_params *names;
    pr_gradcheck_fn f;
    void *ctx;
    const pr_gradcheck_cfg *cfg;
    pr_gradcheck_result r;
    int nonfinite;
} gc_state;

/* f with w[i] set to v (as a float), w[i] left at v. */
static double eval_at(gc_state *s, int64_t i, double v) {
    s->w[i] = (float)v;
    double y = s->f(s->ctx);
    if (!isfinite(y)) s->nonfinite = 1;
    return y;
}

/* Derivative at 0 of the polynomial through (x[k], f[k]), k < n: the sum of
 * f[k] L_k'(0) over the Lagrange basis. With x = {h, -h, 2h, -2h} this is
 * the classic (8 (f1 - f-1) - (f2 - f-2)) / 12h; with the float-rounded
 * steps actually taken it stays exact for cubics. */
static double lagrange_slope0(const double *x, const double *f, int n) {
    double g = 0.0;
    for (int k = 0; k < n; k++) {
        double dk = 0.0;
        for (int m = 0; m < n; m++) {
            if (m == k) continue;
            double term = 1.0 / (x[k] - x[m]);
            for (int l = 0; l < n; l++)
                if (l != k && l != m) term *= -x[l] / (x[k] - x[l]);
            dk += term;
        }
        g += f[k] * dk;
    }
    return g;
}

static double numeric_grad(gc_state *s, int64_t i) {
    const float orig = s->w[i];
    const double h = s->cfg->eps, steps[4] = {h, -h, 2 * h, -2 * h};
    const int n = s->cfg->order == 2 ? 2 : 4;
    double x[4], f[4];
    for (int k = 0; k < n; k++) {
        float v = (float)(orig + steps[k]);
        x[k] = (double)v - orig; /* the step actually taken, exact in double */
        f[k] = eval_at(s, i, v);
    }
    s->w[i] = orig;
    return lagrange_slope0(x, f, n);
}

static void name_entry(const gc_state *s, int64_t i, char *out, size_t n) {
    const pr_param *t = s->names ? pr_params_at(s->names, i) : NULL;
    if (!t) {
        snprintf(out, n, "[%lld]", (long long)i);
        return;
    }
    int64_t k = i - t->off;
    snprintf(out, n, "%s[%lld,%lld]", t->name, (long long)(k / t->cols), (long long)(k % t->cols));
}

static void check_entry(gc_state *s, int64_t i) {
    double ga = s->g[i], gn = numeric_grad(s, i);
    double rel = pr_gradcheck_rel(ga, gn, s->cfg->floor);
    if (!isfinite(gn) || !isfinite(ga)) rel = INFINITY;
    s->r.n_checked++;
    if (rel > s->cfg->tol) s->r.n_bad++;
    if (s->r.n_checked == 1 || rel > s->r.worst_rel) {
        s->r.worst_rel = rel;
        s->r.worst_idx = i;
        s->r.worst_analytic = ga;
        s->r.worst_numeric = gn;
        name_entry(s, i, s->r.worst_name, sizeof s->r.worst_name);
    }
}

/* Entries [off, off + size): all of them, or `limit` random ones. */
static void check_span(gc_state *s, pr_rng *rng, int64_t off, int64_t size, int64_t limit) {
    if (limit <= 0 || size <= limit) {
        for (int64_t k = 0; k < size; k++) check_entry(s, off + k);
        return;
    }
    for (int64_t c = 0; c < limit; c++) {
        int64_t k = size <= UINT32_MAX ? (int64_t)pr_rng_below(rng, (uint32_t)size)
                                       : (int64_t)(pr_rng_double(rng) * (double)size);
        check_entry(s, off + k);
    }
}

int pr_gradcheck(float *w, const float *g, int64_t n, const pr_params *names, pr_gradcheck_fn f,
                 void *ctx, const pr_gradcheck_cfg *cfg, pr_gradcheck_result *res, pr_error *err) {
    pr_gradcheck_cfg dflt;
    if (!cfg) {
        pr_gradcheck_defaults(&dflt, PR_GRADCHECK_F32);
        cfg = &dflt;
    }
    if (!(cfg->eps > 0.0) || (cfg->order != 2 && cfg->order != 4) || !(cfg->tol > 0.0) ||
        !(cfg->floor > 0.0))
        return pr_err(err, PR_E_ARG, "gradcheck: eps %g, order %d, tol %g, floor %g", cfg->eps,
                      cfg->order, cfg->tol, cfg->floor);
    if (names && names->n_params > n)
        return pr_err(err, PR_E_ARG, "gradcheck: layout of %lld floats over a block of %lld",
                      (long long)names->n_params, (long long)n);
    gc_state s = {w, g, names, f, ctx, cfg, {0}, 0};
    pr_rng rng;
    pr_rng_init(&rng, cfg->seed, 0x9c);
    if (names)
        for (int t = 0; t < names->n; t++)
            check_span(&s, &rng, names->t[t].off, pr_param_size(&names->t[t]), cfg->per_tensor);
    else
        check_span(&s, &rng, 0, n, cfg->max_checks);
    f(ctx); /* leave the callback's caches at the unperturbed values */
    if (res) *res = s.r;
    if (s.nonfinite)
        return pr_err(err, PR_E_NUMERIC, "gradcheck: loss not finite near %s", s.r.worst_name);
    if (s.r.n_bad)
        return pr_err(err, PR_E_NUMERIC,
                      "gradcheck: %lld of %lld entries off; worst %s: analytic %.6g, numeric "
                      "%.6g, rel %.3g > tol %.3g",
                      (long long)s.r.n_bad, (long long)s.r.n_checked, s.r.worst_name,
                      s.r.worst_analytic, s.r.worst_numeric, s.r.worst_rel, cfg->tol);
    return 0;
}
