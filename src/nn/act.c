/* nn/act.c: elementwise activations (see act.h). */
#include "act.h"

#include <math.h>
#include <string.h>

#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

static const char *const act_names[] = {"none", "relu", "leaky_relu", "tanh", "sigmoid", "gelu"};

int pr_act_parse(const char *name) {
    for (int k = 0; k < (int)(sizeof act_names / sizeof *act_names); k++)
        if (strcmp(name, act_names[k]) == 0) return k;
    return -1;
}

const char *pr_act_name(int kind) {
    if (kind < 0 || kind >= (int)(sizeof act_names / sizeof *act_names)) return "?";
    return act_names[kind];
}

float pr_sigmoidf(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

double pr_softplus(double x) { return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x))); }

void pr_act_forward(pr_act a, const float *x, float *y, int64_t n) {
    switch (a.kind) {
    case PR_ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case PR_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : a.alpha * x[i];
        break;
    case PR_ACT_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    case PR_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) y[i] = pr_sigmoidf(x[i]);
        break;
    case PR_ACT_GELU:
        for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * INV_SQRT2));
        break;
    default:
        if (y != x) memcpy(y, x, (size_t)n * sizeof *y);
        break;
    }
}

static double act_f64(pr_act a, double x) {
    switch (a.kind) {
    case PR_ACT_RELU:
        return x > 0.0 ? x : 0.0;
    case PR_ACT_LEAKY_RELU:
        return x > 0.0 ? x : (double)a.alpha * x;
    case PR_ACT_TANH:
        return tanh(x);
    case PR_ACT_SIGMOID:
        return x >= 0.0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
    case PR_ACT_GELU:
        return 0.5 * x * (1.0 + erf(x * 0.70710678118654752440));
    default:
        return x;
    }
}

void pr_act_forward_f64(pr_act a, const double *x, double *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = act_f64(a, x[i]);
}

void pr_act_backward(pr_act a, const float *x, const float *y, const float *dy, float *dx,
                     int64_t n) {
    switch (a.kind) {
    case PR_ACT_RELU:
        for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case PR_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : a.alpha * dy[i];
        break;
    case PR_ACT_TANH:
        for (int64_t i = 0; i < n; i++) dx[i] = (1.0f - y[i] * y[i]) * dy[i];
        break;
    case PR_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) dx[i] = y[i] * (1.0f - y[i]) * dy[i];
        break;
    case PR_ACT_GELU:
        for (int64_t i = 0; i < n; i++) {
            float cdf = 0.5f * (1.0f + erff(x[i] * INV_SQRT2));
            float pdf = INV_SQRT_2PI * expf(-0.5f * x[i] * x[i]);
            dx[i] = (cdf + x[i] * pdf) * dy[i];
        }
        break;
    default:
        if (dx != dy) memcpy(dx, dy, (size_t)n * sizeof *dx);
        break;
    }
}
