/* models/config.c: hyper-parameters and snapshots shared by every model. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/model.h"
#include "models/parts.h"

void pr_config_defaults(pr_config *c) {
    memset(c, 0, sizeof *c);
    c->d = 64;
    c->epochs = 1000;
    c->batch = 2048;
    c->lr = 1e-3f;
    c->reg = 1e-5f;
    c->patience = 20;
    c->eval_every = 1;
    c->threads = 0;
    c->seed = 999;
    snprintf(c->optim, sizeof c->optim, "adam");
    snprintf(c->stop_metric, sizeof c->stop_metric, "recall@20");
}

static int parse_long(const char *key, const char *val, long lo, long hi, long *out, pr_error *err) {
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (end == val || *end || errno || v < lo || v > hi)
        return pr_err(err, PR_E_ARG, "%s: '%s' is not an integer in [%ld, %ld]", key, val, lo, hi);
    *out = v;
    return 0;
}

static int parse_float(const char *key, const char *val, double lo, double hi, float *out,
                       pr_error *err) {
    char *end;
    double v = strtod(val, &end);
    if (end == val || *end || !isfinite(v) || v < lo || v > hi)
        return pr_err(err, PR_E_ARG, "%s: '%s' is not a number in [%g, %g]", key, val, lo, hi);
    *out = (float)v;
    return 0;
}

int pr_config_set(pr_config *c, const char *key, const char *val, pr_error *err) {
    long v = 0;
    int rc;
    if (!strcmp(key, "d") || !strcmp(key, "dim")) {
        if ((rc = parse_long(key, val, 1, 1024, &v, err))) return rc;
        c->d = (int)v;
    } else if (!strcmp(key, "epochs")) {
        if ((rc = parse_long(key, val, 0, 1000000, &v, err))) return rc;
        c->epochs = (int)v;
    } else if (!strcmp(key, "batch")) {
        if ((rc = parse_long(key, val, 1, 1 << 24, &v, err))) return rc;
        c->batch = (int)v;
    } else if (!strcmp(key, "patience")) {
        if ((rc = parse_long(key, val, 0, 1000000, &v, err))) return rc;
        c->patience = (int)v;
    } else if (!strcmp(key, "eval-every") || !strcmp(key, "eval_every")) {
        if ((rc = parse_long(key, val, 1, 1000000, &v, err))) return rc;
        c->eval_every = (int)v;
    } else if (!strcmp(key, "threads")) {
        if ((rc = parse_long(key, val, 0, 256, &v, err))) return rc;
        c->threads = (int)v;
    } else if (!strcmp(key, "seed")) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(val, &end, 10);
        if (end == val || *end || errno) return pr_err(err, PR_E_ARG, "seed: '%s' is not an integer", val);
        c->seed = s;
    } else if (!strcmp(key, "lr")) {
        return parse_float(key, val, 0, 100, &c->lr, err);
    } else if (!strcmp(key, "reg")) {
        return parse_float(key, val, 0, 1e6, &c->reg, err);
    } else if (!strcmp(key, "optim")) {
        if (strcmp(val, "adam") && strcmp(val, "sgd") && strcmp(val, "adam-dense"))
            return pr_err(err, PR_E_ARG, "optim: '%s' is not one of adam, adam-dense, sgd", val);
        snprintf(c->optim, sizeof c->optim, "%s", val);
    } else if (!strcmp(key, "stop-metric") || !strcmp(key, "stop_metric")) {
        if (!strchr(val, '@') && strcmp(val, "auc"))
            return pr_err(err, PR_E_ARG, "stop-metric: '%s' should look like recall@20", val);
        snprintf(c->stop_metric, sizeof c->stop_metric, "%s", val);
    } else {
        if (strlen(key) >= sizeof c->kv[0].key || strlen(val) >= sizeof c->kv[0].val)
            return pr_err(err, PR_E_ARG, "option '%s': key or value too long", key);
        for (int i = 0; i < c->n_kv; i++)
            if (!strcmp(c->kv[i].key, key)) {
                snprintf(c->kv[i].val, sizeof c->kv[i].val, "%s", val);
                return 0;
            }
        if (c->n_kv >= PR_CONFIG_MAX_KV) return pr_err(err, PR_E_ARG, "too many options");
        snprintf(c->kv[c->n_kv].key, sizeof c->kv[0].key, "%s", key);
        snprintf(c->kv[c->n_kv].val, sizeof c->kv[0].val, "%s", val);
        c->n_kv++;
    }
    return 0;
}

const char *pr_config_s(const pr_config *c, const char *key, const char *dflt) {
    for (int i = 0; i < c->n_kv; i++)
        if (!strcmp(c->kv[i].key, key)) return c->kv[i].val;
    return dflt;
}

double pr_config_f(const pr_config *c, const char *key, double dflt) {
    const char *s = pr_config_s(c, key, NULL);
    return s ? strtod(s, NULL) : dflt;
}

long pr_config_i(const pr_config *c, const char *key, long dflt) {
    const char *s = pr_config_s(c, key, NULL);
    return s ? strtol(s, NULL, 10) : dflt;
}

int pr_snapshot_alloc(pr_snapshot *s, int32_t n_users, int32_t n_items, int d, int with_bias) {
    memset(s, 0, sizeof *s);
    s->n_users = n_users;
    s->n_items = n_items;
    s->d = d;
    s->U = pr_alloc_aligned((size_t)n_users * d, sizeof *s->U);
    s->V = pr_alloc_aligned((size_t)n_items * d, sizeof *s->V);
    s->b = with_bias ? pr_alloc_aligned((size_t)n_items, sizeof *s->b) : NULL;
    if (!s->U || !s->V || (with_bias && !s->b)) {
        pr_snapshot_free(s);
        return PR_E_NOMEM;
    }
    return 0;
}

void pr_snapshot_free(pr_snapshot *s) {
    pr_parts_free(s->parts);
    pr_free_aligned(s->U);
    pr_free_aligned(s->V);
    pr_free_aligned(s->b);
    memset(s, 0, sizeof *s);
}

int pr_snapshot_copy(pr_snapshot *dst, const pr_snapshot *src) {
    int rc = pr_snapshot_alloc(dst, src->n_users, src->n_items, src->d, src->b != NULL);
    if (rc) return rc;
    memcpy(dst->U, src->U, (size_t)src->n_users * src->d * sizeof *dst->U);
    memcpy(dst->V, src->V, (size_t)src->n_items * src->d * sizeof *dst->V);
    if (src->b) memcpy(dst->b, src->b, (size_t)src->n_items * sizeof *dst->b);
    if (src->parts && !(dst->parts = pr_parts_copy(src->parts))) {
        pr_snapshot_free(dst);
        return PR_E_NOMEM;
    }
    return 0;
}
