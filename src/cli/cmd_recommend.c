/* cli/cmd_recommend.c: `polyrec recommend` and `polyrec similar` — top items
 * for a known user, for a history of items (a new user or an anonymous
 * session: the user vector is folded in, models/foldin.h), or the items most
 * similar to an item.
 *
 * recommend --explain splits each item's score by part (models/parts.h, the
 * model file's "parts" section): the ID embedding's and each modality's
 * contribution u . h_part(i) + its bias, which sum to the printed score,
 * with the user vector that scored it (a row of U, or the folded-in user).
 * Exact where the model is additive over its parts, Shapley values for the
 * terms that are not (concat's MLP, the MLP mapper), as the legend says.
 * Where fit recorded part weights (the share of each part in the item
 * vector: attention and concatenation fusion) they are printed too, labelled
 * as weights. Items added by add-item carry both, from the item tower. A
 * file without the section (older, or a model with no split) says so. */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/split.h"
#include "models/foldin.h"
#include "models/modelfile.h"

static const pr_flag rec_flags[] = {
    {"model", "MODEL", "model file written by fit", 0},
    {"user", "ID", "user id as in the training data", 0},
    {"history", "ID,ID,...", "instead of --user: items a new user (or a session) interacted with", 0},
    {"foldin-reg", "R", "fold-in ridge weight for --history (default: the model's, else 0.1)", 0},
    {"k", "N", "how many items (default 10)", 0},
    {"explain", NULL, "also split each item's score by part (ID, each modality) and print its part weights", 0},
    {"json", NULL, "print JSON", 0},
    {NULL, NULL, NULL, 0},
};

static const pr_flag sim_flags[] = {
    {"model", "MODEL", "model file written by fit", 0},
    {"item", "ID", "item id as in the training data", 0},
    {"k", "N", "how many items (default 10)", 0},
    {"json", NULL, "print JSON", 0},
    {NULL, NULL, NULL, 0},
};

static int parse_k(const pr_args *a, int *k, pr_error *err) {
    const char *s = pr_args_get(a, "k", "10");
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > 100000) return pr_err(err, PR_E_ARG, "--k: '%s' is not a count in [1, 100000]", s);
    *k = (int)v;
    return 0;
}

/* Item i's part weights: JSON object or "name 0.42  name 0.31" (pw NULL or
 * the item unknown to it: null / "unknown"). */
static void print_parts(const pr_part_weights *pw, int32_t i, int json) {
    if (!pw || i >= pw->n_items) {
        printf(json ? "null" : "unknown");
        return;
    }
    if (json) printf("{");
    for (int q = 0; q < pw->n_parts; q++) {
        float w = pw->w[(int64_t)i * pw->n_parts + q];
        if (json) {
            printf("%s", q ? ", " : "");
            cli_json_str(stdout, pw->names[q]);
            printf(": %.6g", w);
        } else {
            printf("%s%s %.2f", q ? "  " : "", pw->names[q], w);
        }
    }
    if (json) printf("}");
}

/* What --explain adds: the split (sp) for the user vector u, the weights (pw NULL: none). */
typedef struct {
    int on;
    const cli_split *sp;
    const float *u;
    const pr_part_weights *pw;
} explain_ctx;

/* Item i's split: JSON value or text; *rc set on an error other than "no split". */
static void print_split(const pr_recsys *r, const explain_ctx *x, int32_t i, int json, int *rc) {
    double c[PR_MAX_PARTS];
    int got = x->sp->ok && x->u ? cli_split_item(r, x->sp, x->u, i, c) : PR_E_NOTFOUND;
    if (got == 0) cli_split_print(stdout, x->sp, c, json);
    else printf(json ? "null" : x->sp->ok ? "split unknown (added without one)" : "-");
    if (got && got != PR_E_NOTFOUND) *rc = got;
}

static int print_list(const pr_recsys *r, const char *key, const char *id, const int32_t *idx,
                      const float *val, int n, int json, const explain_ctx *x) {
    int rc = 0;
    if (json) {
        printf("{\"%s\": ", key);
        cli_json_str(stdout, id);
        if (x->on && x->sp->ok) printf(", \"split\": \"%s\"", cli_split_method(x->sp));
        else if (x->on) {
            printf(", \"split\": null, \"split_reason\": ");
            cli_json_str(stdout, x->sp->why);
        }
        printf(", \"items\": [");
        for (int j = 0; j < n; j++) {
            printf("%s{\"item\": ", j ? ", " : "");
            cli_json_str(stdout, pr_idmap_name(r->items, idx[j]));
            printf(", \"score\": %.6g", val[j]);
            if (x->on) {
                printf(", \"parts\": ");
                print_split(r, x, idx[j], 1, &rc);
                printf(", \"part_weights\": ");
                print_parts(x->pw, idx[j], 1);
            }
            printf("}");
        }
        printf("]}\n");
        return rc;
    }
    if (x->on) {
        cli_split_legend(stdout, x->sp, r->model);
        if (x->pw) printf("(weights: shares of each part in the item vector, not a split of the score)\n");
    }
    printf("%-5s %-24s %-10s%s\n", "rank", "item", "score", x->on ? " score by part" : "");
    for (int j = 0; j < n; j++) {
        printf("%-5d %-24s %-10.5g", j + 1, pr_idmap_name(r->items, idx[j]), val[j]);
        if (x->on) {
            printf(" ");
            print_split(r, x, idx[j], 0, &rc);
            if (x->pw) {
                printf("  | weights ");
                print_parts(x->pw, idx[j], 0);
            }
        }
        printf("\n");
    }
    return rc;
}

/* "ID,ID,..." -> item indices (*hist owned by the caller). Unknown ids are errors. */
static int parse_history(const pr_recsys *r, const char *s, const char *path, int32_t **hist, int *n,
                         pr_error *err) {
    int cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int32_t *h = pr_malloc((size_t)cap, sizeof *h);
    if (!h) return pr_err(err, PR_E_NOMEM, "recommend");
    *n = 0;
    for (const char *p = s; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > 0) {
            int32_t i = pr_idmap_find(r->items, p, len);
            if (i < 0) {
                free(h);
                return pr_err(err, PR_E_NOTFOUND, "--history: '%.*s' is not an item of %s", (int)PR_MIN(len, 200), p, path);
            }
            h[(*n)++] = i;
        }
        p = e ? e + 1 : p + len;
    }
    if (*n == 0) {
        free(h);
        return pr_err(err, PR_E_ARG, "--history: no item ids given");
    }
    *hist = h;
    return 0;
}

static int run(int argc, char **argv, const pr_flag *flags, const char *cmd, const char *key,
               pr_error *err) {
    pr_args a;
    int rc = pr_args_parse(&a, flags, argc, argv, err), k = 10;
    if (rc) return rc;
    if (a.help) {
        pr_args_usage(cmd, !strcmp(key, "user") ? "--model MODEL (--user ID | --history ID,ID,...) [--k N] [--explain] [--json]"
                                                : "--model MODEL --item ID [--k N] [--json]", flags);
        return 0;
    }
    const char *path = pr_args_get(&a, "model", NULL), *id = pr_args_get(&a, key, NULL);
    const char *history = !strcmp(key, "user") ? pr_args_get(&a, "history", NULL) : NULL;
    if (!path) return pr_err(err, PR_E_ARG, "--model MODEL is required");
    if (history && id) return pr_err(err, PR_E_ARG, "give --user or --history, not both");
    if (history) key = "history", id = history;
    if (!id) return pr_err(err, PR_E_ARG, !strcmp(key, "user") ? "--user ID or --history ID,ID,... is required" : "--%s ID is required", key);
    pr_foldin_opts fo, *fop = NULL;
    const char *fr = pr_args_get(&a, "foldin-reg", NULL);
    if (fr) {
        char *end;
        pr_foldin_opts_default(&fo);
        fo.lambda = strtod(fr, &end);
        if (end == fr || *end || !(fo.lambda > 0 && fo.lambda < 1e9)) return pr_err(err, PR_E_ARG, "--foldin-reg: '%s' is not a positive number", fr);
        fop = &fo;
    }
    if ((rc = parse_k(&a, &k, err))) return rc;
    pr_recsys r;
    if ((rc = pr_recsys_open(&r, path, err))) return rc;
    pr_part_weights pw = {0};
    cli_split sp = {0};
    explain_ctx x = {pr_args_has(&a, "explain"), &sp, NULL, NULL};
    float *uvec = NULL;
    int32_t *idx = pr_malloc((size_t)k, sizeof *idx);
    float *val = pr_malloc((size_t)k, sizeof *val);
    if (!idx || !val) { rc = pr_err(err, PR_E_NOMEM, "%s", cmd); goto done; }
    int n;
    int32_t *hist = NULL;
    int n_hist = 0;
    if (x.on && (rc = cli_split_open(&r, &sp, err))) goto done;
    if (!strcmp(key, "history")) {
        if ((rc = parse_history(&r, id, path, &hist, &n_hist, err))) goto done;
        n = pr_recsys_recommend_history(&r, hist, n_hist, k, fop, idx, val, err);
        /* the folded-in user that scored them, for the split */
        if (n >= 0 && sp.ok && (uvec = pr_malloc((size_t)r.d, sizeof *uvec)) &&
            (rc = pr_recsys_history_user(&r, hist, n_hist, fop, uvec, err)))
            n = rc;
        x.u = uvec;
        free(hist);
        if (n < 0) { rc = n; goto done; }
    } else if (!strcmp(key, "user")) {
        int32_t u = pr_idmap_get(r.users, id);
        if (u < 0) { rc = pr_err(err, PR_E_NOTFOUND, "--user: '%s' is not a user of %s", id, path); goto done; }
        n = pr_recsys_recommend(&r, u, k, idx, val);
        if (r.U) x.u = r.U + (int64_t)u * r.d;
    } else {
        int32_t i = pr_idmap_get(r.items, id);
        if (i < 0) { rc = pr_err(err, PR_E_NOTFOUND, "--item: '%s' is not an item of %s", id, path); goto done; }
        n = pr_recsys_similar(&r, i, k, idx, val);
    }
    if (n < 0) { rc = pr_err(err, n, "%s: out of memory", cmd); goto done; }
    if (x.on) {
        rc = pr_recsys_part_weights(&r, &pw, err);
        if (rc && rc != PR_E_NOTFOUND) goto done;
        x.pw = rc == 0 ? &pw : NULL;
        rc = 0;
    }
    if ((rc = print_list(&r, key, id, idx, val, n, pr_args_has(&a, "json"), &x)))
        rc = pr_err(err, rc, "%s: splitting scores by part", cmd);
done:
    free(uvec);
    pr_part_weights_free(&pw);
    free(idx);
    free(val);
    pr_recsys_close(&r);
    return rc;
}

int cmd_recommend(int argc, char **argv, pr_error *err) { return run(argc, argv, rec_flags, "recommend", "user", err); }
int cmd_similar(int argc, char **argv, pr_error *err) { return run(argc, argv, sim_flags, "similar", "item", err); }
