/* cli/cmd_explain.c: `polyrec explain` — why an item is (or is not)
 * recommended to a user or to a history of items.
 *
 * Prints the item's score (dot product and bias), its rank among the items
 * the user has not interacted with, whether it was added after training (so
 * placed from its content alone), and the history items that account for the
 * score. For a history (new user, session) the account is exact: the fold-in
 * is linear in the history (models/foldin.h, pr_foldin_explain). For a known
 * user it is the same decomposition of the user refitted from her training
 * items, shown next to the model's own score. For ItemKNN it is exact: the
 * similarity of each history item to the item.
 *
 * It also splits the score by part (models/parts.h, the "parts" section):
 * the ID embedding's and each modality's contribution u . h_part(i) + its
 * bias, summing to the score, for the same user vector (the user's row of U,
 * or the folded-in history), as recommend --explain prints it.
 *
 * With --item alone it says which part drives the item: the share of the ID
 * embedding and of each modality in the item's vector, as fit recorded them
 * for the kept (best) epoch (models/partwts.h, the "partw" section) and
 * add-item from the item tower. Models without part weights say so. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/split.h"
#include "models/foldin.h"
#include "models/modelfile.h"

static const pr_flag flags[] = {
    {"model", "MODEL", "model file written by fit", 0},
    {"user", "ID", "a user of the model", 0},
    {"history", "ID,ID,...", "instead of --user: the items of a new user or a session", 0},
    {"item", "ID", "the item to explain; alone: which modality drives it", 0},
    {"k", "N", "how many history items to show (default 5)", 0},
    {"json", NULL, "print JSON", 0},
    {NULL, NULL, NULL, 0},
};

/* 1 when id is in the model file's "added" section. */
static int was_added(const pr_recsys *r, const char *id) {
    const void *p;
    size_t n;
    if (pr_secfile_get(&r->file, "added", &p, &n)) return 0;
    pr_cur c;
    uint32_t cnt;
    pr_cur_init(&c, p, n, "added");
    if (pr_cur_get_u32(&c, &cnt, NULL)) return 0;
    for (uint32_t k = 0; k < cnt; k++) {
        char *s = NULL;
        int64_t t;
        if (pr_cur_get_str(&c, &s, 4096, NULL) || pr_cur_get_i64(&c, &t, NULL)) return 0;
        int hit = !strcmp(s, id);
        free(s);
        if (hit) return 1;
    }
    return 0;
}

static int parse_ids(const pr_recsys *r, const char *s, int32_t **out, int *n, pr_error *err) {
    int cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int32_t *h = pr_malloc((size_t)cap, sizeof *h);
    if (!h) return pr_err(err, PR_E_NOMEM, "explain");
    *n = 0;
    for (const char *p = s; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int32_t i = len ? pr_idmap_find(r->items, p, len) : -1;
        if (len && i < 0) {
            free(h);
            return pr_err(err, PR_E_NOTFOUND, "--history: '%.*s' is not an item of the model", (int)PR_MIN(len, 200), p);
        }
        if (len) h[(*n)++] = i;
        p = e ? e + 1 : p + len;
    }
    if (*n == 0) {
        free(h);
        return pr_err(err, PR_E_ARG, "--history: no item ids given");
    }
    *out = h;
    return 0;
}

typedef struct {
    int32_t item;
    float c;
} part;

static int by_contrib(const void *a, const void *b) {
    float x = ((const part *)a)->c, y = ((const part *)b)->c;
    return (x < y) - (x > y);
}

/* Which part (ID or modality) drives item i: its part weights, if known. */
static int explain_item(const pr_recsys *r, const char *item, int32_t i, int json, pr_error *err) {
    pr_part_weights pw;
    int rc = pr_recsys_part_weights(r, &pw, err);
    const char *why = NULL;
    if (rc == PR_E_NOTFOUND) why = "the model has no part weights (only concat and attention fusion record them)";
    else if (rc) return rc;
    else if (i >= pw.n_items) why = "added without part weights (by a tool that did not record them)";
    if (json) {
        printf("{\"item\": ");
        cli_json_str(stdout, item);
        printf(", \"model\": ");
        cli_json_str(stdout, r->model);
        if (why) {
            printf(", \"weights\": null, \"reason\": ");
            cli_json_str(stdout, why);
        }
    } else {
        printf("item '%s' (%s): ", item, r->model);
        if (why) printf("%s\n", why);
    }
    if (!why) {
        const float *w = pw.w + (int64_t)i * pw.n_parts;
        int top = 0;
        for (int q = 1; q < pw.n_parts; q++) top = w[q] > w[top] ? q : top;
        printf(json ? ", \"weights\": {" : "part weights");
        for (int q = 0; q < pw.n_parts; q++) {
            if (json) {
                printf("%s", q ? ", " : "");
                cli_json_str(stdout, pw.names[q]);
                printf(": %.6g", w[q]);
            } else {
                printf("  %s %.2f", pw.names[q], w[q]);
            }
        }
        if (json) {
            printf("}, \"dominant\": ");
            cli_json_str(stdout, pw.names[top]);
        } else {
            printf("\ndominant part: %s (%.0f%% of the item vector)\n", pw.names[top], 100.0 * w[top]);
        }
    }
    if (json) printf("}\n");
    pr_part_weights_free(&pw);
    return 0;
}

int cmd_explain(int argc, char **argv, pr_error *err) {
    pr_args a;
    int rc = pr_args_parse(&a, flags, argc, argv, err);
    if (rc) return rc;
    if (a.help) {
        pr_args_usage("explain", "--model MODEL [--user ID | --history ID,ID,...] --item ID [--k N] [--json]", flags);
        return 0;
    }
    const char *path = pr_args_get(&a, "model", NULL), *user = pr_args_get(&a, "user", NULL);
    const char *history = pr_args_get(&a, "history", NULL), *item = pr_args_get(&a, "item", NULL);
    long k = strtol(pr_args_get(&a, "k", "5"), NULL, 10);
    if (!path || !item) return pr_err(err, PR_E_ARG, "--model MODEL and --item ID are required");
    if (user && history) return pr_err(err, PR_E_ARG, "give --user ID or --history ID,ID,..., not both");
    if (k < 1 || k > 1000) return pr_err(err, PR_E_ARG, "--k: expected a count in [1, 1000]");
    pr_recsys r;
    if ((rc = pr_recsys_open(&r, path, err))) return rc;
    int32_t *hist = NULL, u = -1, i = pr_idmap_get(r.items, item);
    int n = 0;
    float *row = NULL, *contrib = NULL, *uvec = NULL;
    part *parts = NULL;
    if (i < 0) { rc = pr_err(err, PR_E_NOTFOUND, "--item: '%s' is not an item of %s", item, path); goto done; }
    if (!user && !history) {
        rc = explain_item(&r, item, i, pr_args_has(&a, "json"), err);
        goto done;
    }
    if (user) {
        if ((u = pr_idmap_get(r.users, user)) < 0) { rc = pr_err(err, PR_E_NOTFOUND, "--user: '%s' is not a user of %s", user, path); goto done; }
        n = (int)pr_csr_row_len(r.train, u);
        if (!(hist = pr_malloc((size_t)n + 1, sizeof *hist))) { rc = pr_err(err, PR_E_NOMEM, "explain"); goto done; }
        memcpy(hist, r.train->indices + r.train->indptr[u], (size_t)n * sizeof *hist);
    } else if ((rc = parse_ids(&r, history, &hist, &n, err))) {
        goto done;
    }
    row = pr_malloc((size_t)r.n_items, sizeof *row);
    contrib = pr_calloc((size_t)n + 1, sizeof *contrib);
    parts = pr_malloc((size_t)n + 1, sizeof *parts);
    uvec = pr_malloc((size_t)(r.d > 0 ? 2 * r.d : 1), sizeof *uvec);
    if (!row || !contrib || !parts || !uvec) { rc = pr_err(err, PR_E_NOMEM, "explain"); goto done; }
    /* scores of every item, for the rank */
    float fold_score = NAN, prior_part = 0;
    pr_foldin_opts fo;
    pr_recsys_foldin_opts(&r, &fo, uvec + (r.d > 0 ? r.d : 0));
    if (u >= 0) {
        if (pr_scorer_score(&r.scorer, &u, 1, uvec, row)) { rc = pr_err(err, PR_E_NOMEM, "explain"); goto done; }
    } else {
        if (r.knn) {
            for (int32_t j = 0; j < r.n_items; j++) row[j] = 0;
            for (int q = 0; q < n; q++)
                for (int64_t p = r.knn->indptr[hist[q]]; p < r.knn->indptr[hist[q] + 1]; p++)
                    row[r.knn->indices[p]] += r.knn->val[p];
        } else {
            if ((rc = pr_foldin(r.V, r.n_items, r.d, hist, n, &fo, uvec, err))) goto done;
            for (int32_t j = 0; j < r.n_items; j++) {
                double s = r.b ? r.b[j] : 0;
                for (int q = 0; q < r.d; q++) s += (double)uvec[q] * r.V[(int64_t)j * r.d + q];
                row[j] = (float)s;
            }
        }
    }
    /* each history item's part of the score */
    if (n > 0 && r.knn) {
        for (int q = 0; q < n; q++)
            for (int64_t p = r.knn->indptr[hist[q]]; p < r.knn->indptr[hist[q] + 1]; p++)
                if (r.knn->indices[p] == i) contrib[q] = r.knn->val[p];
    } else if (n > 0 && (rc = pr_foldin_explain(r.V, r.n_items, r.d, hist, n, &fo, i, contrib, &prior_part, err))) {
        goto done;
    }
    if (n > 0 && !r.knn) {
        double s = (r.b ? r.b[i] : 0) + prior_part;
        for (int q = 0; q < n; q++) s += contrib[q];
        fold_score = (float)s;
    }
    uint8_t *seen = pr_calloc((size_t)r.n_items, 1);
    if (!seen) { rc = pr_err(err, PR_E_NOMEM, "explain"); goto done; }
    for (int q = 0; q < n; q++) seen[hist[q]] = 1;
    int32_t rank = 1, unseen = 0;
    for (int32_t j = 0; j < r.n_items; j++) {
        if (seen[j]) continue;
        unseen++;
        rank += j != i && row[j] > row[i];
    }
    int in_hist = seen[i];
    free(seen);
    for (int q = 0; q < n; q++) parts[q] = (part){hist[q], contrib[q]};
    qsort(parts, (size_t)n, sizeof *parts, by_contrib);
    int show = (int)PR_MIN((long)n, k), added = was_added(&r, item);
    float bias = r.b ? r.b[i] : 0.0f;
    /* the score split by part, with the user vector that gave row[i] */
    cli_split sp;
    double sc[PR_MAX_PARTS];
    const float *su = u >= 0 ? (r.U ? r.U + (int64_t)u * r.d : NULL) : (r.knn ? NULL : uvec);
    if ((rc = cli_split_open(&r, &sp, err))) goto done;
    int split = su && sp.ok ? cli_split_item(&r, &sp, su, i, sc) : PR_E_NOTFOUND;
    if (split && split != PR_E_NOTFOUND) { rc = pr_err(err, split, "explain: splitting the score"); goto done; }
    if (split && sp.ok) snprintf(sp.why, sizeof sp.why, "the item has no stored split (added without one)");
    if (pr_args_has(&a, "json")) {
        printf("{\"item\": ");
        cli_json_str(stdout, item);
        printf(", \"score\": %.6g, \"bias\": %.6g, \"rank\": %d, \"unseen\": %d, \"in_history\": %s, \"added\": %s",
               row[i], bias, in_hist ? 0 : rank, unseen, in_hist ? "true" : "false", added ? "true" : "false");
        if (fold_score == fold_score) printf(", \"history_score\": %.6g, \"prior_part\": %.6g", fold_score, prior_part);
        if (split == 0) {
            printf(", \"split\": \"%s\", \"parts\": ", cli_split_method(&sp));
            cli_split_print(stdout, &sp, sc, 1);
        } else {
            printf(", \"split\": null, \"parts\": null, \"split_reason\": ");
            cli_json_str(stdout, sp.why);
        }
        printf(", \"because\": [");
        for (int q = 0; q < show; q++) {
            printf("%s{\"item\": ", q ? ", " : "");
            cli_json_str(stdout, pr_idmap_name(r.items, parts[q].item));
            printf(", \"part\": %.6g}", parts[q].c);
        }
        printf("]}\n");
    } else {
        printf("item '%s' for %s '%s': score %.4g", item, user ? "user" : "history", user ? user : history, row[i]);
        if (r.b) printf(" (bias %.4g)", bias);
        if (in_hist) printf(", already in the history\n");
        else printf(", rank %d of %d unseen items\n", rank, unseen);
        if (added) printf("added after training: placed from its content by the item tower\n");
        if (split == 0) {
            printf("score by part (they sum to the score): ");
            cli_split_print(stdout, &sp, sc, 0);
            printf("\n");
            cli_split_shapley_note(stdout, &sp, r.model);
        } else {
            printf("(%s)\n", sp.why);
        }
        if (n == 0) printf("the user has no training items\n");
        else if (r.knn) printf("similarity to the history items (they sum to the score):\n");
        else if (user) printf("parts of the score of the user refitted from her %d items (they sum to %.4g%s):\n", n,
                              fold_score, r.b ? " with the bias" : "");
        else printf("parts of the score due to each history item (they sum to the score%s):\n", r.b ? " with the bias" : "");
        if (fo.prior && !r.knn && n > 0) printf("  %-24s %+.4g\n", "(the average user)", prior_part);
        for (int q = 0; q < show; q++) printf("  %-24s %+.4g\n", pr_idmap_name(r.items, parts[q].item), parts[q].c);
    }
done:
    free(hist);
    free(row);
    free(contrib);
    free(parts);
    free(uvec);
    pr_recsys_close(&r);
    return rc;
}
