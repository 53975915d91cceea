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
#include "models/modelfile.h"
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
    {"param", "KEY=VALUE", "model-specific hyper-parameter", 1},
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

static void print_json(const pr_model *m, const pr_train_result *res, const pr_metrics *valid,
                       const pr_metrics *test, double test_secs, const char *out) {
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

    pr_dataset *d = NULL;
    pr_pool *pool = NULL;
    pr_model *m = NULL;
    pr_train_result res = {0};
    pr_pipeline pipe = {0};
    pr_features *feat = NULL;
    float *pop = NULL;
    if ((rc = cli_load_dataset(&a, &d, err))) goto done;
    if (!(pool = pr_pool_new(cfg.threads))) { rc = pr_err(err, PR_E_NOMEM, "thread pool"); goto done; }
    if ((rc = build_content(&a, d, &cfg, pool, &pipe, &feat, err))) goto done;
    if ((rc = pr_model_new(ops, d, feat, &cfg, pool, &m, err))) goto done;
    if (!(pop = pr_calloc((size_t)d->n_items, sizeof *pop))) { rc = pr_err(err, PR_E_NOMEM, "fit"); goto done; }
    for (int64_t k = 0; k < d->train->nnz; k++) pop[d->train->indices[k]] += 1;
    eo.popularity = pop;
    eo.mask[0] = d->train;
    pr_log("training %s (d=%d, lr=%g, reg=%g, batch=%d, %s, %d threads)", ops->name, cfg.d, cfg.lr,
           cfg.reg, cfg.batch, cfg.optim, pr_pool_size(pool));
    if ((rc = pr_train(m, d->valid, &eo, &res, err))) goto done;

    pr_scorer sc;
    pr_model_scorer(m, &res.best, &sc);
    pr_metrics valid = res.best_metrics, test;
    if (d->valid->nnz == 0) pr_metrics_init(&valid, eo.ks, eo.n_k);
    if (pr_args_has(&a, "mask-valid")) eo.mask[1] = d->valid;
    double t0 = pr_now();
    if ((rc = pr_evaluate(&sc, d->test, &eo, pool, &test, err))) goto done;
    double test_secs = pr_now() - t0;

    char meta[512];
    snprintf(meta, sizeof meta,
             "data=%s\nsplit=%s\nbest_epoch=%d\nepochs_run=%d\ntrain_seconds=%.3f\n"
             "valid_recall@20=%.6f\ntest_recall@20=%.6f\ntest_ndcg@20=%.6f\n",
             pr_args_get(&a, "data", ""), pr_args_get(&a, "split", "default"), res.best_epoch,
             res.epochs_run, res.train_seconds, pr_metrics_get(&valid, "recall@20"),
             pr_metrics_get(&test, "recall@20"), pr_metrics_get(&test, "ndcg@20"));
    if ((rc = pr_modelfile_save(out, m, &res.best, &pipe, meta, err))) goto done;
    const char *log_path = pr_args_get(&a, "log-json", NULL);
    if (log_path && (rc = write_epoch_log(log_path, &res, cfg.stop_metric, err))) goto done;

    if (pr_args_has(&a, "json")) {
        print_json(m, &res, &valid, &test, test_secs, out);
    } else {
        printf("%s: best epoch %d of %d, %.2fs training (%.3fs/epoch), wrote %s\n", ops->name,
               res.best_epoch, res.epochs_run, res.train_seconds,
               res.epochs_run ? res.train_seconds / res.epochs_run : 0.0, out);
        cli_print_metrics(stdout, "valid", &valid);
        cli_print_metrics(stdout, "test", &test);
    }
done:
    pr_train_result_free(&res);
    if (m) m->ops->free(m);
    pr_pipeline_deinit(&pipe);
    pr_features_free(feat);
    pr_dataset_free(d);
    pr_pool_free(pool);
    free(pop);
    return rc;
}
