/* cli/cmd_eval.c: `polyrec eval` — full-ranking evaluation of a saved model
 * on a dataset's test (or validation) rows. The dataset is read and split
 * with the same flags as at training time; its ids are mapped onto the
 * model's by name (rows with unknown users or items are counted and left out). */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/log.h"
#include "eval/evaluator.h"
#include "models/modelfile.h"

static const pr_flag flags[] = {
    {"model", "MODEL", "model file written by fit", 0},
    PR_FLAGS_DATA,
    {"on", "SET", "test (default) or valid", 0},
    {"k", "LIST", "cut-offs (default 10,20)", 0},
    {"mask-valid", NULL, "also mask validation items when testing", 0},
    {"no-auc", NULL, "skip AUC", 0},
    {"threads", "N", "worker threads (default: all cores)", 0},
    {"json", NULL, "print one JSON object", 0},
    {"quiet", NULL, "no progress output", 0},
    {NULL, NULL, NULL, 0},
};

/* Re-index a dataset matrix into the model's id space. */
static int remap(const pr_csr *m, const pr_dataset *d, const pr_recsys *r, pr_csr **out,
                 int64_t *dropped, pr_error *err) {
    int32_t *ru = pr_malloc((size_t)m->nnz + 1, sizeof *ru), *ri = pr_malloc((size_t)m->nnz + 1, sizeof *ri);
    int32_t *umap = pr_malloc((size_t)d->n_users + 1, sizeof *umap), *imap = pr_malloc((size_t)d->n_items + 1, sizeof *imap);
    int rc = 0;
    int64_t n = 0;
    if (!ru || !ri || !umap || !imap) { rc = pr_err(err, PR_E_NOMEM, "eval"); goto done; }
    for (int32_t u = 0; u < d->n_users; u++) umap[u] = pr_idmap_get(r->users, pr_idmap_name(d->users, u));
    for (int32_t i = 0; i < d->n_items; i++) imap[i] = pr_idmap_get(r->items, pr_idmap_name(d->items, i));
    for (int32_t u = 0; u < m->n_rows; u++)
        for (int64_t k = m->indptr[u]; k < m->indptr[u + 1]; k++) {
            int32_t mu = umap[u], mi = imap[m->indices[k]];
            if (mu < 0 || mi < 0) { (*dropped)++; continue; }
            ru[n] = mu;
            ri[n++] = mi;
        }
    rc = pr_csr_from_coo(r->n_users, r->n_items, n, ru, ri, NULL, out, err);
done:
    free(ru); free(ri); free(umap); free(imap);
    return rc;
}

int cmd_eval(int argc, char **argv, pr_error *err) {
    pr_args a;
    int rc = pr_args_parse(&a, flags, argc, argv, err);
    if (rc) return rc;
    if (a.help) {
        pr_args_usage("eval", "--model MODEL --data PATH [flags]", flags);
        return 0;
    }
    if (pr_args_has(&a, "quiet")) pr_log_set_level(PR_LOG_QUIET);
    const char *path = pr_args_get(&a, "model", NULL), *on = pr_args_get(&a, "on", "test");
    if (!path) return pr_err(err, PR_E_ARG, "--model MODEL is required");
    if (strcmp(on, "test") && strcmp(on, "valid")) return pr_err(err, PR_E_ARG, "--on: expected test or valid");
    pr_eval_opts eo;
    pr_eval_opts_default(&eo);
    int n_k = cli_ks(&a, "10,20", eo.ks, err);
    if (n_k < 0) return n_k;
    eo.n_k = n_k;
    eo.auc = !pr_args_has(&a, "no-auc");
    int threads = atoi(pr_args_get(&a, "threads", "0"));

    pr_recsys r;
    pr_dataset *d = NULL;
    pr_csr *target = NULL, *train = NULL, *valid = NULL;
    pr_pool *pool = NULL;
    float *pop = NULL;
    int64_t dropped = 0;
    if ((rc = pr_recsys_open(&r, path, err))) return rc;
    if ((rc = cli_load_dataset(&a, &d, err))) goto done;
    if ((rc = remap(!strcmp(on, "test") ? d->test : d->valid, d, &r, &target, &dropped, err)) ||
        (rc = remap(d->train, d, &r, &train, &dropped, err)) ||
        (rc = remap(d->valid, d, &r, &valid, &dropped, err)))
        goto done;
    if (dropped) pr_log("eval: %lld interactions name users or items the model does not know; left out", (long long)dropped);
    if (!(pool = pr_pool_new(threads)) || !(pop = pr_calloc((size_t)r.n_items, sizeof *pop))) {
        rc = pr_err(err, PR_E_NOMEM, "eval");
        goto done;
    }
    for (int64_t k = 0; k < r.train->nnz; k++) pop[r.train->indices[k]] += 1;
    eo.popularity = pop;
    eo.mask[0] = train;
    if (!strcmp(on, "test") && pr_args_has(&a, "mask-valid")) eo.mask[1] = valid;
    pr_metrics m;
    double t0 = pr_now();
    if ((rc = pr_evaluate(&r.scorer, target, &eo, pool, &m, err))) goto done;
    double secs = pr_now() - t0;
    if (pr_args_has(&a, "json")) {
        cli_json_metrics(stdout, &m);
        printf("\n");
    } else {
        cli_print_metrics(stdout, on, &m);
        printf("  %.3fs, %.0f users/s\n", secs, secs > 0 ? (double)m.users / secs : 0.0);
    }
done:
    pr_recsys_close(&r);
    pr_dataset_free(d);
    pr_csr_free(target);
    pr_csr_free(train);
    pr_csr_free(valid);
    pr_pool_free(pool);
    free(pop);
    return rc;
}
