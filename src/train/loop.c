/* train/loop.c: epochs, validation, early stopping (see loop.h). */
#include "loop.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "train/sampler.h"

static int model_score_cb(const void *ctx, const int32_t *users, int n, float *out) {
    const pr_model *m = ctx;
    return m->ops->score(m, users, n, out);
}

void pr_model_scorer(const pr_model *m, const pr_snapshot *snap, pr_scorer *out) {
    memset(out, 0, sizeof *out);
    out->n_users = m->data->n_users;
    out->n_items = m->data->n_items;
    if (snap && snap->U) {
        out->d = snap->d;
        out->U = snap->U;
        out->V = snap->V;
        out->b = snap->b;
    } else {
        out->score = model_score_cb;
        out->ctx = m;
    }
}

void pr_train_result_free(pr_train_result *r) {
    pr_snapshot_free(&r->best);
    free(r->log);
    memset(r, 0, sizeof *r);
}

static int log_epoch(pr_train_result *res, const pr_epoch_log *e) {
    pr_epoch_log *l = pr_realloc(res->log, (size_t)res->n_log + 1, sizeof *l);
    if (!l) return PR_E_NOMEM;
    res->log = l;
    l[res->n_log++] = *e;
    return 0;
}

/* Validate the model as it is now; *snap receives its snapshot (owned). */
static int validate(pr_model *m, const pr_csr *valid, const pr_eval_opts *opts, pr_snapshot *snap,
                    pr_metrics *out, double *secs, pr_error *err) {
    double t0 = pr_now();
    int rc = 0;
    memset(snap, 0, sizeof *snap);
    if (m->ops->snapshot && (rc = m->ops->snapshot(m, snap, err))) return rc;
    if (valid && valid->nnz > 0) {
        pr_scorer sc;
        pr_model_scorer(m, snap, &sc);
        /* AUC ranks every item of every user: skip it unless it is the stop metric */
        pr_eval_opts o = *opts;
        o.auc = o.auc && !strcmp(m->cfg->stop_metric, "auc");
        rc = pr_evaluate(&sc, valid, &o, m->pool, out, err);
    }
    *secs += pr_now() - t0;
    return rc;
}

/* Split the kept snapshot by part (models/parts.h) with the model in the
 * state that gave it. */
static int best_parts(pr_model *m, pr_snapshot *s, pr_error *err) {
    return m->ops->parts && s->V ? m->ops->parts(m, s, err) : 0;
}

/* The parameters of the kept epoch, so that its snapshot is split once
 * training is over: a copy at each new best costs one memcpy of the flat
 * block, where a split at each new best would cost the split (concat: 2^M1
 * MLP passes over the catalogue, as much as an epoch of mls). Models without
 * a flat block are split at once. */
typedef struct {
    float *w; /* (n_params) owned */
    int saved;
} kept_params;

static int keep_best(pr_model *m, pr_snapshot *s, kept_params *k, pr_error *err) {
    if (!m->ops->parts || !s->V) return 0;
    if (!m->params || m->n_params <= 0) return best_parts(m, s, err);
    if (!k->w && !(k->w = pr_malloc((size_t)m->n_params, sizeof *k->w)))
        return pr_err(err, PR_E_NOMEM, "%s: copy of the kept epoch's parameters", m->ops->name);
    memcpy(k->w, m->params, (size_t)m->n_params * sizeof *k->w);
    k->saved = 1;
    return 0;
}

static void swap_params(float *a, float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

/* Split s with the kept parameters swapped in, then swap the last ones back. */
static int split_kept(pr_model *m, pr_snapshot *s, kept_params *k, pr_error *err) {
    if (!k->saved) return 0;
    swap_params(m->params, k->w, m->n_params);
    int rc = best_parts(m, s, err);
    swap_params(m->params, k->w, m->n_params);
    return rc;
}

static int run_closed_form(pr_model *m, const pr_csr *valid, const pr_eval_opts *opts,
                           pr_train_result *res, pr_error *err) {
    double t0 = pr_now();
    int rc = m->ops->fit(m, err);
    if (rc) return rc;
    res->train_seconds = pr_now() - t0;
    res->epochs_run = res->best_epoch = 1;
    if ((rc = validate(m, valid, opts, &res->best, &res->best_metrics, &res->eval_seconds, err)) ||
        (rc = best_parts(m, &res->best, err)))
        return rc;
    res->best_valid = pr_metrics_get(&res->best_metrics, m->cfg->stop_metric);
    pr_epoch_log e = {1, NAN, res->best_valid, res->train_seconds, 0};
    if (log_epoch(res, &e)) return pr_err(err, PR_E_NOMEM, "train log");
    pr_log("%s: fitted in %.2fs, valid %s %.4f", m->ops->name, res->train_seconds,
           m->cfg->stop_metric, res->best_valid);
    return 0;
}

int pr_train(pr_model *m, const pr_csr *valid, const pr_eval_opts *opts, pr_train_result *res,
             pr_error *err) {
    const pr_config *c = m->cfg;
    memset(res, 0, sizeof *res);
    res->best_valid = -INFINITY;
    if (m->ops->fit) return run_closed_form(m, valid, opts, res, err);
    if (!m->ops->forward || !m->ops->backward || !m->ops->step)
        return pr_err(err, PR_E_STATE, "%s: model has neither fit nor forward/backward/step", m->ops->name);

    pr_sampler smp;
    int rc = pr_sampler_init(&smp, m->data->train, c->batch, (int)pr_config_i(c, "n_neg", 1), c->seed,
                             NULL, err);
    if (rc) return rc;
    int has_valid = valid && valid->nnz > 0, bad = 0;
    pr_snapshot cur = {0};
    kept_params kept = {0};
    pr_metrics met;
    for (int epoch = 1; epoch <= c->epochs; epoch++) {
        double t0 = pr_now(), loss = 0;
        if (m->ops->epoch_begin && (rc = m->ops->epoch_begin(m, epoch, err))) goto done;
        int64_t n_batches = pr_sampler_epoch(&smp, epoch);
        pr_epoch_plan plan;
        pr_sampler_plan(&smp, &plan);
        if (m->ops->run_epoch && m->ops->run_epoch(m, &plan, &loss)) {
            if (!isfinite(loss)) {
                rc = pr_err(err, PR_E_NUMERIC, "%s: loss is %g at epoch %d (try a smaller lr)", m->ops->name,
                            loss, epoch);
                goto done;
            }
            n_batches = 0;
        }
        pr_progress prog;
        pr_progress_init(&prog, "  batches", n_batches);
        for (int64_t b = 0; b < n_batches; b++) {
            pr_batch bt;
            pr_sampler_batch(&smp, b, m->pool, &bt);
            double l = m->ops->forward(m, &bt);
            if (!isfinite(l)) {
                rc = pr_err(err, PR_E_NUMERIC, "%s: loss is %g at epoch %d, batch %lld (try a smaller lr)",
                            m->ops->name, l, epoch, (long long)b);
                goto done;
            }
            m->ops->backward(m, &bt);
            m->ops->step(m, &bt);
            loss += l;
            pr_progress_update(&prog, b + 1);
        }
        pr_progress_end(&prog);
        double secs = pr_now() - t0;
        res->train_seconds += secs;
        res->epochs_run = epoch;
        pr_epoch_log e = {epoch, n_batches ? loss / (double)n_batches : loss, NAN, secs, (double)smp.n / secs};
        int last = epoch == c->epochs;
        if (has_valid && (epoch % c->eval_every == 0 || last)) {
            if ((rc = validate(m, valid, opts, &cur, &met, &res->eval_seconds, err))) goto done;
            e.valid = pr_metrics_get(&met, c->stop_metric);
            if (e.valid > res->best_valid) {
                res->best_valid = e.valid;
                res->best_epoch = epoch;
                res->best_metrics = met;
                pr_snapshot_free(&res->best);
                res->best = cur; /* ownership moves */
                memset(&cur, 0, sizeof cur);
                bad = 0;
                if ((rc = keep_best(m, &res->best, &kept, err))) goto done;
            } else {
                pr_snapshot_free(&cur);
                bad++;
            }
        }
        if (log_epoch(res, &e)) { rc = pr_err(err, PR_E_NOMEM, "train log"); goto done; }
        char vbuf[96] = "";
        if (has_valid && e.valid == e.valid)
            snprintf(vbuf, sizeof vbuf, "  valid %s %.4f (best %.4f @ %d)", c->stop_metric, e.valid,
                     res->best_valid, res->best_epoch);
        pr_log("epoch %4d  loss %.5f  %6.2fs  %6.2fM samples/s%s", epoch, e.loss, secs,
               e.samples_per_s / 1e6, vbuf);
        if (has_valid && c->patience > 0 && bad >= c->patience) {
            pr_log("early stop: no improvement in %d validations", bad);
            break;
        }
    }
    if (!has_valid) { /* keep the last epoch */
        res->best_epoch = res->epochs_run;
        if (m->ops->snapshot && ((rc = m->ops->snapshot(m, &res->best, err)) || (rc = best_parts(m, &res->best, err))))
            goto done;
    }
    rc = split_kept(m, &res->best, &kept, err);
done:
    free(kept.w);
    pr_snapshot_free(&cur);
    pr_sampler_deinit(&smp);
    return rc;
}
