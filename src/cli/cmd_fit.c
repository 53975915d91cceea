/* cli/cmd_fit.c: `polyrec fit` — train a model, report validation and test
 * metrics of the best epoch, save the model file. One command reproduces a
 * table row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/fileio.h"
#include "core/log.h"
#include "core/pool.h"
#include "eval/cold.h"
#include "models/foldin.h"
#include "models/mapper.h"
#include "models/modelfile.h"
#include "models/partwts.h"
#include "models/parts.h"
#include "train/loop.h"

static const pr_flag flags[] = {
    PR_FLAGS_DATA,
    {"model", "NAME", "model to train (see `polyrec models`)", 0},
    {"features", "MOD=PATH", "item vectors for a modality (.npy rows = item ids 0..n-1, or delimited id,values)", 1},
    {"items", "ITEMS", "item content file (columns item, image, text, audio) to encode", 0},
    {"encoder", "MOD=NAME[:ARGS]", "encoder for a modality of --items (default: built-in)", 1},
    {"preproc", "MOD=SPEC", "preprocessing fitted on training items, e.g. l2, zscore,pca=64", 1},
    {"out", "MODEL", "where to write the model file", 0},
    {"dim", "D", "embedding size (default 64)", 0},
    {"epochs", "N", "maximum epochs (default 1000, with early stopping)", 0},
    {"lr", "LR", "learning rate (default 0.001)", 0},
    {"reg", "W", "L2 regularisation weight (default 1e-5)", 0},
    {"batch", "B", "samples per minibatch (default 2048)", 0},
    {"patience", "N", "validations without improvement before stopping (default 20)", 0},
    {"eval-every", "N", "validate every N epochs (default 1)", 0},
    {"stop-metric", "M", "validation metric for early stopping (default recall@20)", 0},
    {"optim", "NAME", "adam (row-sparse), adam-dense (as PyTorch), sgd (default adam)", 0},
    {"threads", "N", "worker threads (default: all cores)", 0},
    {"param", "KEY=VALUE", "model-specific hyper-parameter; also mapper=none|ridge|mlp, mapper_reg=R|auto, mapper_scale=S|norm|auto (content mapper for models without an item tower), cold_place=tower|model", 1},
    {"cold-users", "SHARE", "hold this share of users out of training and report fold-in metrics for k = 1, 3, 5 known items", 0},
    {"k", "LIST", "cut-offs to report (default 10,20)", 0},
    {"mask-valid", NULL, "also mask validation items when testing", 0},
    {"json", NULL, "print one JSON object instead of tables", 0},
    {"log-json", "PATH", "write the per-epoch log (loss, validation metric, seconds) as JSON Lines", 0},
    {"quiet", NULL, "no progress output", 0},
    {NULL, NULL, NULL, 0},
};

static const struct { const char *flag, *key; } hyper[] = {
    {"dim", "d"}, {"epochs", "epochs"}, {"lr", "lr"}, {"reg", "reg"}, {"batch", "batch"},
    {"patience", "patience"}, {"eval-every", "eval-every"}, {"stop-metric", "stop-metric"},
    {"optim", "optim"}, {"threads", "threads"}, {"seed", "seed"},
};

static int build_config(const pr_args *a, pr_config *c, pr_error *err) {
    pr_config_defaults(c);
    int rc;
    for (size_t k = 0; k < sizeof hyper / sizeof hyper[0]; k++) {
        const char *v = pr_args_get(a, hyper[k].flag, NULL);
        if (v && (rc = pr_config_set(c, hyper[k].key, v, err))) return pr_err_wrap(err, "--%s: ", hyper[k].flag);
    }
    for (int i = 0;; i++) {
        const char *kv = pr_args_nth(a, "param", i);
        if (!kv) break;
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv) return pr_err(err, PR_E_ARG, "--param '%s': expected KEY=VALUE", kv);
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
        if ((rc = pr_config_set(c, key, eq + 1, err))) return rc;
    }
    return 0;
}

/* The early-stopping metric's cut-off must be evaluated: add it to the
 * list (kept ascending) when --k leaves it out. */
static int stop_k(const pr_config *c, pr_eval_opts *eo, pr_error *err) {
    const char *at = strchr(c->stop_metric, '@');
    int k = at ? atoi(at + 1) : 0;
    if (!at || k < 1 || k > 1000) return pr_err(err, PR_E_ARG, "--stop-metric '%s': expected NAME@K", c->stop_metric);
    for (int q = 0; q < eo->n_k; q++)
        if (eo->ks[q] == k) return 0;
    if (eo->n_k >= PR_MAX_KS) return pr_err(err, PR_E_ARG, "--k: no room for the stop metric's cut-off %d", k);
    int q = eo->n_k++;
    for (; q > 0 && eo->ks[q - 1] > k; q--) eo->ks[q] = eo->ks[q - 1];
    eo->ks[q] = k;
    return 0;
}

/* Content: --features, --items, --encoder, --preproc. */
static int build_content(const pr_args *a, const pr_dataset *d, const pr_config *cfg, pr_pool *pool,
                         pr_pipeline *pipe, pr_features **feat, pr_error *err) {
    pr_pipeline_spec s = {.items = pr_args_get(a, "items", NULL), .seed = cfg->seed};
    const char *v;
    for (int i = 0; (v = pr_args_nth(a, "features", i)) && s.n_features < PR_MAX_MODALITIES; i++) s.features[s.n_features++] = v;
    for (int i = 0; (v = pr_args_nth(a, "encoder", i)) && s.n_encoders < PR_MAX_MODALITIES; i++) s.encoders[s.n_encoders++] = v;
    for (int i = 0; (v = pr_args_nth(a, "preproc", i)) && s.n_preproc < PR_MAX_MODALITIES; i++) s.preproc[s.n_preproc++] = v;
    if (!s.items && s.n_features == 0) {
        if (s.n_encoders || s.n_preproc) return pr_err(err, PR_E_ARG, "--encoder and --preproc need --items or --features");
        memset(pipe, 0, sizeof *pipe);
        *feat = NULL;
        return 0;
    }
    return pr_pipeline_build(&s, d, pool, pipe, feat, err);
}

/* ---- cold start: the content mapper, placement of cold items, protocols --- */

typedef struct cold_state {
    int active;              /* a tower places the items without training interactions */
    int mapper;              /* the tower is the content mapper (else the model's own) */
    int own;                 /* the model is wrapped to place cold items through its own tower */
    pr_buf section;          /* the "tower" section to save (empty: the model's current tower) */
    pr_mapper_opts mo;
    int reg_auto, scale_auto;
    pr_tower *tower;         /* owned */
    int32_t placed;
    uint8_t *cold;           /* (n_items) no training interaction */
    int has_cold_targets;    /* some valid/test row is on a cold item */
    pr_cold_report valid_r, test_r;
    /* cold users */
    double cu_share;
    pr_cold_users cu;
    pr_foldin_opts fo;
    int has_prior;
    int cu_users;
    pr_metrics cu_k[3], cu_pop;
} cold_state;

static const int COLD_KS[3] = {1, 3, 5};

static void cold_free(cold_state *c) {
    pr_buf_free(&c->section);
    if (c->tower) c->tower->ops->free(c->tower);
    free(c->cold);
    pr_cold_users_free(&c->cu);
}

static int any_on(const pr_csr *m, const uint8_t *which) {
    for (int64_t k = 0; k < m->nnz; k++)
        if (which[m->indices[k]]) return 1;
    return 0;
}

/* Decide before training: which tower places cold items; wrap ID-only
 * models so validation sees mapped cold items. */
static int cold_setup(cold_state *c, const pr_dataset *d, const pr_features *feat, const pr_config *cfg,
                      pr_model **m, pr_error *err) {
    int rc;
    if (!(c->cold = pr_cold_items(d->train))) return pr_err(err, PR_E_NOMEM, "fit");
    c->has_cold_targets = any_on(d->valid, c->cold) || any_on(d->test, c->cold);
    pr_mapper_opts_default(&c->mo);
    if ((rc = pr_mapper_opts_from_config(cfg, &c->mo, &c->reg_auto, &c->scale_auto, err))) return rc;
    const pr_model_ops *ops = (*m)->ops;
    int vectors = ops->snapshot && !ops->score;
    if (!feat || feat->n_mod == 0 || !vectors) {
        if (pr_config_s(cfg, "mapper", NULL) && c->mo.kind != PR_MAPPER_NONE)
            return pr_err(err, PR_E_ARG, "--param mapper: needs item content (--features/--items) and a model with item vectors");
        return 0;
    }
    /* an explicit --param mapper=ridge|mlp replaces a model's own tower (FREEDOM's
     * gives a new item only the item-graph part of its vector, see freedom.c) */
    int explicit_mapper = pr_config_s(cfg, "mapper", NULL) && c->mo.kind != PR_MAPPER_NONE;
    if (ops->tower_save && !explicit_mapper) {
        /* wrapped even without cold items: the saved tower must be the kept epoch's */
        c->active = 1;
        if (!strcmp(pr_config_s(cfg, "cold_place", "tower"), "model")) return 0;
        if (c->has_cold_targets) pr_log("cold items: %s places them through its item tower during validation", ops->name);
        c->own = 1;
        return pr_tower_model_new(*m, m, err);
    }
    if (c->mo.kind == PR_MAPPER_NONE) return 0;
    c->active = c->mapper = 1;
    /* without cold validation rows there is nothing to tune on */
    if (!any_on(d->valid, c->cold)) c->reg_auto = c->scale_auto = 0;
    if (!pr_config_s(cfg, "mapper_reg", NULL) && any_on(d->valid, c->cold)) c->reg_auto = 1;
    if (!c->has_cold_targets) return 0;
    pr_log("cold items: %s places them through the content mapper (%s) during validation", ops->name,
           c->mo.kind == PR_MAPPER_MLP ? "mlp; ridge while training" : "ridge");
    pr_mapper_opts train_mo = c->mo;
    train_mo.kind = PR_MAPPER_RIDGE;
    return pr_mapper_model_new(*m, &train_mo, m, err);
}

/* Warm items with some content: the mapper's training rows. */
static int32_t *warm_rows(const cold_state *c, const pr_features *f, int32_t n_items, int64_t *n) {
    int32_t *rows = pr_malloc((size_t)n_items + 1, sizeof *rows);
    const float *x[PR_MAX_MODALITIES];
    *n = 0;
    for (int32_t i = 0; rows && i < n_items; i++)
        if (!c->cold[i] && pr_features_row(f, i, x) > 0) rows[(*n)++] = i;
    return rows;
}

/* Fit the mapper with the current options, place cold items into snap and
 * return the validation stop metric (or NAN without validation rows). */
static int mapper_try(cold_state *c, const pr_model *m, pr_snapshot *snap, const pr_csr *valid,
                      const pr_eval_opts *eo, const int32_t *rows, int64_t n, double *score, pr_error *err) {
    if (c->tower) c->tower->ops->free(c->tower);
    c->tower = NULL;
    int rc = pr_mapper_fit(m->feat, snap, rows, n, &c->mo, m->pool, &c->tower, err);
    if (rc || (rc = pr_tower_place(c->tower, m->feat, c->cold, snap, &c->placed, err))) return rc;
    *score = NAN;
    if (valid->nnz == 0) return 0;
    pr_scorer sc;
    pr_metrics met;
    pr_model_scorer(m, snap, &sc);
    if ((rc = pr_evaluate(&sc, valid, eo, m->pool, &met, err))) return rc;
    *score = pr_metrics_get(&met, m->cfg->stop_metric);
    return 0;
}

/* After training: the final tower, hyper-parameters on validation only, the
 * cold items of snap placed. */
static int cold_place(cold_state *c, const pr_model *m, pr_snapshot *snap, const pr_csr *valid,
                      const pr_eval_opts *eo, pr_error *err) {
    if (!c->active || !snap->V) return 0;
    int rc = 0;
    if (!c->mapper) {
        if (!c->own) return 0; /* cold_place=model: the model's own snapshot and current tower */
        for (int32_t i = 0; i < snap->n_items; i++) c->placed += c->cold[i] != 0;
        if (pr_tower_model_best(m, snap, &c->section, err) == 0) return 0; /* placed by the kept epoch's tower */
        pr_log("warning: %s; saving the last epoch's tower", err->msg);
        pr_buf_free(&c->section);
        pr_buf_init(&c->section);
        if ((rc = pr_tower_from_model(m, &c->tower, err)) ||
            (rc = pr_tower_place(c->tower, m->feat, c->cold, snap, &c->placed, err)))
            return rc;
        return 0;
    }
    int64_t n;
    int32_t *rows = warm_rows(c, m->feat, snap->n_items, &n);
    if (!rows) return pr_err(err, PR_E_NOMEM, "fit");
    double score, best = -INFINITY;
    if (c->reg_auto) { /* relative ridge weight on validation */
        static const double grid[] = {0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30};
        int kind = c->mo.kind;
        double pick = c->mo.reg;
        c->mo.kind = PR_MAPPER_RIDGE;
        for (size_t g = 0; g < sizeof grid / sizeof grid[0]; g++) {
            c->mo.reg = grid[g];
            if ((rc = mapper_try(c, m, snap, valid, eo, rows, n, &score, err))) goto done;
            pr_log("mapper: reg %g -> valid %s %.4f", grid[g], m->cfg->stop_metric, score);
            if (score > best) best = score, pick = grid[g];
        }
        c->mo.reg = pick;
        c->mo.kind = kind;
    }
    if (c->scale_auto) { /* norm calibration of mapped vectors, on validation */
        static const float grid[] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f}; /* 0: norm matching */
        float pick = c->mo.scale;
        best = -INFINITY;
        for (size_t g = 0; g < sizeof grid / sizeof grid[0]; g++) {
            c->mo.scale = grid[g];
            if ((rc = mapper_try(c, m, snap, valid, eo, rows, n, &score, err))) goto done;
            pr_log("mapper: scale %g -> valid %s %.4f", grid[g], m->cfg->stop_metric, score);
            if (score > best) best = score, pick = grid[g];
        }
        c->mo.scale = pick;
    }
    if ((rc = mapper_try(c, m, snap, valid, eo, rows, n, &score, err))) goto done;
    c->mo.scale = pr_mapper_scale(c->tower);
    pr_log("mapper: %s (reg %g, scale %g) fitted on %lld warm items, placed %d cold items",
           c->mo.kind == PR_MAPPER_MLP ? "mlp" : "ridge", c->mo.reg, c->mo.scale, (long long)n, c->placed);
done:
    free(rows);
    return rc;
}

/* Models whose item vectors are learned per item and read no content
 * (BPR-MF, LightGCN; not the closed-form ones) split wholly into the ID
 * part, laid out for the content mapper when one will place cold items
 * (its modalities and base): cold_place then splits the placed rows
 * through it (models/parts.h). Call before cold_place. */
static int id_parts(const cold_state *c, const pr_model *m, const pr_features *feat, pr_snapshot *snap,
                    pr_error *err) {
    const pr_model_ops *ops = m->ops;
    if (!snap->V || snap->parts || ops->parts || ops->needs_features || ops->fit || ops->score) return 0;
    char names[PR_MAX_MODALITIES][32];
    int n_mod = c->mapper && feat ? feat->n_mod : 0, pflags = 0;
    for (int q = 0; q < n_mod; q++) snprintf(names[q], sizeof names[q], "%s", feat->mod[q].name);
    if (c->mapper) pflags = PR_PARTS_BASE | (c->mo.kind == PR_MAPPER_MLP ? PR_PARTS_SHAPLEY : 0);
    return pr_parts_set_id(snap, n_mod, (const char(*)[32])names, pflags, err);
}

/* Cold users: fold-in from k = 1, 3, 5 items, lambda chosen on their validation rows. */
static int cold_users_eval(cold_state *c, const pr_model *m, const pr_snapshot *snap, const pr_eval_opts *eo0,
                           pr_error *err) {
    const int kmax = COLD_KS[2];
    int32_t nu = snap->n_users, ni = snap->n_items;
    int d = snap->d, rc = 0;
    pr_csr *target = NULL, *vtarget = NULL, *hist = NULL;
    float *U = pr_calloc((size_t)nu * d, sizeof *U), *pop = pr_calloc((size_t)ni, sizeof *pop);
    float *ones = pr_malloc((size_t)nu, sizeof *ones), *prior = pr_malloc((size_t)d, sizeof *prior);
    pr_eval_opts eo = *eo0;
    eo.mask[0] = c->cu.train;
    eo.mask[1] = NULL;
    if (!U || !pop || !ones || !prior) { rc = pr_err(err, PR_E_NOMEM, "cold users"); goto done; }
    pr_cold_users vc = c->cu; /* validation targets: the same users' valid rows */
    vc.test = c->cu.valid;
    if ((rc = pr_cold_users_target(&c->cu, kmax, &target, err)) || (rc = pr_cold_users_target(&vc, kmax, &vtarget, err)))
        goto done;
    for (int32_t u = 0; u < nu; u++) c->cu_users += pr_csr_row_len(target, u) > 0;
    pr_scorer sc = {nu, ni, d, U, snap->V, snap->b, NULL, NULL};
    pr_foldin_opts_default(&c->fo);
    c->fo.target = pr_foldin_target(snap->U, snap->V, d, m->data->train);
    if (!(c->fo.target > 0)) c->fo.target = 1.0; /* a model whose positives score <= 0 on average */
    pr_foldin_prior(snap->U, nu, d, m->data->train, prior);
    c->fo.prior = prior; /* the default without validation rows */
    if (vtarget->nnz > 0) { /* form, lambda and prior on validation, with the middle history size */
        static const struct { int bpr, prior; double lambda; } grid[] = {
            {0, 0, 1}, {0, 0, 10}, {0, 0, 100}, {0, 1, 0.1}, {0, 1, 1}, {0, 1, 10},
            {1, 1, 1e-4}, {1, 1, 1e-3}, {1, 1, 1e-2}, {1, 1, 1e-1}};
        double best = -INFINITY;
        size_t pick = 0;
        if ((rc = pr_cold_users_history(&c->cu, COLD_KS[1], kmax, m->cfg->seed, &hist, err))) goto done;
        for (size_t g = 0; g < sizeof grid / sizeof grid[0]; g++) {
            pr_metrics met;
            c->fo.bpr = grid[g].bpr;
            c->fo.lambda = grid[g].lambda;
            c->fo.prior = grid[g].prior ? prior : NULL;
            if ((rc = pr_foldin_rows(snap->V, ni, d, hist, &c->fo, m->pool, U, err)) ||
                (rc = pr_evaluate(&sc, vtarget, &eo, m->pool, &met, err)))
                goto done;
            double v = pr_metrics_get(&met, m->cfg->stop_metric);
            pr_log("fold-in: %s, reg %g, prior %d -> valid %s %.4f", grid[g].bpr ? "bpr" : "ridge", grid[g].lambda,
                   grid[g].prior, m->cfg->stop_metric, v);
            if (v > best) best = v, pick = g;
        }
        c->fo.bpr = grid[pick].bpr;
        c->fo.lambda = grid[pick].lambda;
        c->fo.prior = grid[pick].prior ? prior : NULL;
        pr_csr_free(hist);
        hist = NULL;
    }
    for (int q = 0; q < 3; q++) {
        if ((rc = pr_cold_users_history(&c->cu, COLD_KS[q], kmax, m->cfg->seed, &hist, err)) ||
            (rc = pr_foldin_rows(snap->V, ni, d, hist, &c->fo, m->pool, U, err)) ||
            (rc = pr_evaluate(&sc, target, &eo, m->pool, &c->cu_k[q], err)))
            goto done;
        pr_csr_free(hist);
        hist = NULL;
    }
    const pr_csr *t = m->data->train; /* MostPop on the same users, for reference */
    for (int64_t k = 0; k < t->nnz; k++) pop[t->indices[k]] += 1.0f;
    for (int32_t u = 0; u < nu; u++) ones[u] = 1.0f;
    pr_scorer ps = {nu, ni, 1, ones, pop, NULL, NULL, NULL};
    rc = pr_evaluate(&ps, target, &eo, m->pool, &c->cu_pop, err);
    c->has_prior = c->fo.prior != NULL;
done:
    pr_csr_free(target);
    pr_csr_free(vtarget);
    pr_csr_free(hist);
    free(U);
    free(pop);
    free(ones);
    free(prior);
    c->fo.prior = NULL; /* borrowed from prior, now freed; the choice is kept in has_prior */
    return rc;
}

static void print_cold_json(const cold_state *c) {
    if (c->has_cold_targets) {
        const pr_cold_report *r = &c->test_r;
        printf(", \"cold_items\": %d, \"cold_placed\": %d", r->n_cold_items, c->placed);
        printf(", \"cold_all\": ");
        cli_json_metrics(stdout, &r->cold_all);
        printf(", \"cold_only\": ");
        cli_json_metrics(stdout, &r->cold_only);
        printf(", \"cold_only_candidates\": %d", r->n_cold_targets);
        for (int k = 0; k < r->cold_all.n_k; k++) printf(", \"cold_share@%d\": %.6f", r->cold_all.ks[k], r->cold_share[k]);
        printf(", \"warm\": ");
        cli_json_metrics(stdout, &r->warm);
        printf(", \"all\": ");
        cli_json_metrics(stdout, &r->all);
        printf(", \"valid_cold_all\": ");
        cli_json_metrics(stdout, &c->valid_r.cold_all);
        printf(", \"valid_cold_only\": ");
        cli_json_metrics(stdout, &c->valid_r.cold_only);
    }
    if (c->mapper && c->tower)
        printf(", \"mapper\": {\"kind\": \"%s\", \"reg\": %g, \"scale\": %g}", c->mo.kind == PR_MAPPER_MLP ? "mlp" : "ridge",
               c->mo.reg, c->mo.scale);
    if (c->cu_share > 0) {
        printf(", \"cold_users\": {\"held_out\": %d, \"users\": %d, \"foldin\": \"%s\", \"foldin_reg\": %g, \"foldin_prior\": %d, "
               "\"foldin_target\": %g", c->cu.n, c->cu_users, c->fo.bpr ? "bpr" : "ridge", c->fo.lambda, c->has_prior, c->fo.target);
        for (int q = 0; q < 3; q++) {
            printf(", \"k%d\": ", COLD_KS[q]);
            cli_json_metrics(stdout, &c->cu_k[q]);
        }
        printf(", \"mostpop\": ");
        cli_json_metrics(stdout, &c->cu_pop);
        printf("}");
    }
}

static void print_cold_text(const cold_state *c) {
    if (c->has_cold_targets) {
        const pr_cold_report *r = &c->test_r;
        printf("cold items: %d without training interactions, %d placed from content\n", r->n_cold_items, c->placed);
        cli_print_metrics(stdout, "test cold_all (cold targets ranked among all items)", &r->cold_all);
        for (int k = 0; k < r->cold_all.n_k; k++)
            printf("  share of cold items in the top %d: %.4f\n", r->cold_all.ks[k], r->cold_share[k]);
        char title[96];
        snprintf(title, sizeof title, "test cold_only (ranked among the %d cold test items)", r->n_cold_targets);
        cli_print_metrics(stdout, title, &r->cold_only);
        if (r->n_warm_rows) cli_print_metrics(stdout, "test warm (ranked among warm items)", &r->warm);
        if (r->n_warm_rows) cli_print_metrics(stdout, "test all", &r->all);
    }
    if (c->cu_share > 0) {
        printf("cold users: %d held out, %d measured, %s fold-in, reg %g, %s prior, target %.3g\n", c->cu.n, c->cu_users,
               c->fo.bpr ? "BPR" : "ridge", c->fo.lambda, c->has_prior ? "average-user" : "no", c->fo.target);
        for (int q = 0; q < 3; q++) {
            char title[64];
            snprintf(title, sizeof title, "cold users, k=%d known items", COLD_KS[q]);
            cli_print_metrics(stdout, title, &c->cu_k[q]);
        }
        cli_print_metrics(stdout, "cold users, MostPop", &c->cu_pop);
    }
}

static int cold_users_flag(const pr_args *a, double *share, pr_error *err) {
    const char *s = pr_args_get(a, "cold-users", NULL);
    *share = 0;
    if (!s) return 0;
    char *end;
    *share = strtod(s, &end);
    if (end == s || *end || !(*share > 0 && *share <= 0.9))
        return pr_err(err, PR_E_ARG, "--cold-users: '%s' is not a share in (0, 0.9]", s);
    return 0;
}

static void print_json(const pr_model *m, const pr_train_result *res, const pr_metrics *valid,
                       const pr_metrics *test, double test_secs, const char *out, const cold_state *cold) {
    printf("{\"model\": ");
    cli_json_str(stdout, m->ops->name);
    printf(", \"out\": ");
    cli_json_str(stdout, out);
    printf(", \"best_epoch\": %d, \"epochs\": %d, \"train_seconds\": %.3f, \"seconds_per_epoch\": %.4f, "
           "\"eval_seconds\": %.3f, \"test_eval_seconds\": %.4f, \"peak_rss_mib\": %.1f, \"valid\": ",
           res->best_epoch, res->epochs_run, res->train_seconds,
           res->epochs_run ? res->train_seconds / res->epochs_run : 0.0, res->eval_seconds, test_secs,
           pr_peak_rss_mib());
    cli_json_metrics(stdout, valid);
    printf(", \"test\": ");
    cli_json_metrics(stdout, test);
    print_cold_json(cold);
    printf("}\n");
}

static void json_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fputs("null", f);
}

/* --log-json PATH: one object per epoch, e.g. {"epoch": 3, "loss": 0.41,
 * "valid_metric": "recall@20", "valid": 0.083, "seconds": 0.12,
 * "samples_per_s": 1.9e+06}; null where not measured. Written atomically. */
static int write_epoch_log(const char *path, const pr_train_result *res, const char *metric,
                           pr_error *err) {
    pr_atomic at;
    int rc = pr_atomic_open(&at, path, err);
    if (rc) return rc;
    for (int k = 0; k < res->n_log; k++) {
        const pr_epoch_log *e = &res->log[k];
        fprintf(at.f, "{\"epoch\": %d, \"loss\": ", e->epoch);
        json_num(at.f, e->loss);
        fprintf(at.f, ", \"valid_metric\": ");
        cli_json_str(at.f, metric);
        fprintf(at.f, ", \"valid\": ");
        json_num(at.f, e->valid);
        fprintf(at.f, ", \"seconds\": ");
        json_num(at.f, e->seconds);
        fprintf(at.f, ", \"samples_per_s\": ");
        json_num(at.f, e->samples_per_s);
        fprintf(at.f, "}\n");
    }
    return pr_atomic_commit(&at, err);
}

int cmd_fit(int argc, char **argv, pr_error *err) {
    pr_args a;
    int rc = pr_args_parse(&a, flags, argc, argv, err);
    if (rc) return rc;
    if (a.help) {
        pr_args_usage("fit", "--data PATH --model NAME --out MODEL [flags]", flags);
        return 0;
    }
    if (pr_args_has(&a, "quiet")) pr_log_set_level(PR_LOG_QUIET);
    const char *name = pr_args_get(&a, "model", NULL), *out = pr_args_get(&a, "out", NULL);
    if (!name) return pr_err(err, PR_E_ARG, "--model NAME is required (see `polyrec models`)");
    if (!out) return pr_err(err, PR_E_ARG, "--out MODEL is required");
    const pr_model_ops *ops = pr_model_find(name);
    if (!ops) return pr_err(err, PR_E_NOTFOUND, "--model: no model named '%s' (see `polyrec models`)", name);
    pr_config cfg;
    pr_eval_opts eo;
    pr_eval_opts_default(&eo);
    if ((rc = build_config(&a, &cfg, err))) return rc;
    int n_k = cli_ks(&a, "10,20", eo.ks, err);
    if (n_k < 0) return n_k;
    eo.n_k = n_k;
    if ((rc = stop_k(&cfg, &eo, err))) return rc;

    pr_dataset *d = NULL;
    pr_pool *pool = NULL;
    pr_model *m = NULL;
    pr_train_result res = {0};
    pr_pipeline pipe = {0};
    pr_features *feat = NULL;
    float *pop = NULL;
    cold_state cold = {0};
    pr_buf parts;
    pr_buf_init(&parts);
    pr_buf_init(&cold.section);
    if ((rc = cold_users_flag(&a, &cold.cu_share, err))) return rc;
    if ((rc = cli_load_dataset(&a, &d, err))) goto done;
    if (cold.cu_share > 0) {
        if ((rc = pr_cold_users_hold_out(d, cold.cu_share, cfg.seed, &cold.cu, err))) goto done;
        pr_log("cold users: %d users held out of training", cold.cu.n);
    }
    if (!(pool = pr_pool_new(cfg.threads))) { rc = pr_err(err, PR_E_NOMEM, "thread pool"); goto done; }
    if ((rc = build_content(&a, d, &cfg, pool, &pipe, &feat, err))) goto done;
    if ((rc = pr_model_new(ops, d, feat, &cfg, pool, &m, err))) goto done;
    /* fused models: record the part weights of every snapshot (models/partwts.h) */
    if ((rc = pr_partw_model_new(m, &m, err))) goto done;
    pr_model *pw = pr_partw_model_is(m) ? m : NULL; /* borrowed: cold_setup may wrap it */
    if ((rc = cold_setup(&cold, d, feat, &cfg, &m, err))) goto done;
    pr_partw_model_cold_by_tower(pw, cold.own); /* cold items' weights: the tower's, as their V rows */
    if (!(pop = pr_calloc((size_t)d->n_items, sizeof *pop))) { rc = pr_err(err, PR_E_NOMEM, "fit"); goto done; }
    for (int64_t k = 0; k < d->train->nnz; k++) pop[d->train->indices[k]] += 1;
    eo.popularity = pop;
    eo.mask[0] = d->train;
    pr_log("training %s (d=%d, lr=%g, reg=%g, batch=%d, %s, %d threads)", ops->name, cfg.d, cfg.lr,
           cfg.reg, cfg.batch, cfg.optim, pr_pool_size(pool));
    if ((rc = pr_train(m, d->valid, &eo, &res, err))) goto done;
    if ((rc = id_parts(&cold, m, feat, &res.best, err)) || (rc = cold_place(&cold, m, &res.best, d->valid, &eo, err)))
        goto done;

    pr_scorer sc;
    pr_model_scorer(m, &res.best, &sc);
    pr_metrics valid = res.best_metrics, test;
    if (d->valid->nnz == 0) pr_metrics_init(&valid, eo.ks, eo.n_k);
    else if ((cold.active || eo.auc) && (rc = pr_evaluate(&sc, d->valid, &eo, pool, &valid, err))) goto done;
    if (cold.has_cold_targets && (rc = pr_cold_evaluate(&sc, d->valid, cold.cold, &eo, pool, &cold.valid_r, err)))
        goto done;
    if (pr_args_has(&a, "mask-valid")) eo.mask[1] = d->valid;
    double t0 = pr_now();
    if ((rc = pr_evaluate(&sc, d->test, &eo, pool, &test, err))) goto done;
    double test_secs = pr_now() - t0;
    if (cold.has_cold_targets && (rc = pr_cold_evaluate(&sc, d->test, cold.cold, &eo, pool, &cold.test_r, err)))
        goto done;
    if (cold.cu_share > 0 && res.best.V && (rc = cold_users_eval(&cold, m, &res.best, &eo, err))) goto done;

    char meta[1024];
    int len = snprintf(meta, sizeof meta,
             "data=%s\nsplit=%s\nbest_epoch=%d\nepochs_run=%d\ntrain_seconds=%.3f\n"
             "valid_recall@20=%.6f\ntest_recall@20=%.6f\ntest_ndcg@20=%.6f\n",
             pr_args_get(&a, "data", ""), pr_args_get(&a, "split", "default"), res.best_epoch,
             res.epochs_run, res.train_seconds, pr_metrics_get(&valid, "recall@20"),
             pr_metrics_get(&test, "recall@20"), pr_metrics_get(&test, "ndcg@20"));
    if (cold.has_cold_targets)
        len += snprintf(meta + len, sizeof meta - (size_t)len, "test_cold_all_recall@20=%.6f\ntest_cold_only_recall@20=%.6f\n",
                        pr_metrics_get(&cold.test_r.cold_all, "recall@20"), pr_metrics_get(&cold.test_r.cold_only, "recall@20"));
    if (cold.mapper && cold.tower)
        len += snprintf(meta + len, sizeof meta - (size_t)len, "mapper=%s\nmapper_reg=%g\nmapper_scale=%g\n",
                        cold.mo.kind == PR_MAPPER_MLP ? "mlp" : "ridge", cold.mo.reg, cold.mo.scale);
    if (cold.cu_share > 0)
        snprintf(meta + len, sizeof meta - (size_t)len, "foldin=%s\nfoldin_reg=%g\nfoldin_prior=%d\nfoldin_target=%g\n",
                 cold.fo.bpr ? "bpr" : "ridge", cold.fo.lambda, cold.has_prior, cold.fo.target);
    if (cold.mapper && cold.tower && (rc = pr_mapper_save(cold.tower, &cold.section))) { rc = pr_err(err, rc, "saving the mapper"); goto done; }
    if (pw && res.best.U) {
        float *wts = NULL;
        int n_parts = 0;
        char names[PR_MAX_MODALITIES + 1][32];
        if (pr_partw_model_best(pw, &res.best, &wts, &n_parts, names, err) == 0)
            pr_part_weights_save(&parts, res.best.n_items, n_parts, (const char(*)[32])names, wts);
        else
            pr_log("warning: %s; the model file gets no part weights", err->msg);
        free(wts);
    }
    if ((rc = pr_modelfile_save_ex(out, m, &res.best, &pipe, meta, cold.section.len ? &cold.section : NULL,
                                   parts.len ? &parts : NULL, err)))
        goto done;
    const char *log_path = pr_args_get(&a, "log-json", NULL);
    if (log_path && (rc = write_epoch_log(log_path, &res, cfg.stop_metric, err))) goto done;

    if (pr_args_has(&a, "json")) {
        print_json(m, &res, &valid, &test, test_secs, out, &cold);
    } else {
        printf("%s: best epoch %d of %d, %.2fs training (%.3fs/epoch), wrote %s\n", ops->name,
               res.best_epoch, res.epochs_run, res.train_seconds,
               res.epochs_run ? res.train_seconds / res.epochs_run : 0.0, out);
        cli_print_metrics(stdout, "valid", &valid);
        cli_print_metrics(stdout, "test", &test);
        print_cold_text(&cold);
    }
done:
    pr_buf_free(&parts);
    cold_free(&cold);
    pr_train_result_free(&res);
    if (m) m->ops->free(m);
    pr_pipeline_deinit(&pipe);
    pr_features_free(feat);
    pr_dataset_free(d);
    pr_pool_free(pool);
    free(pop);
    return rc;
}
