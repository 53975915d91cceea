/* demo/shopeval.c: what a trained model does with the shop's new items.
 *
 *   build/demo/shopeval --model M.model --shop DIR --out RESULTS_DIR [--threads T]
 *                       [--after-json PATH] [--weights-for IDS]
 *
 * The shop's newest items (new=1 in items.tsv) arrived after training, so the
 * model file does not know them. This program places each of them the way
 * `polyrec add-item` does -- the model's own content pipeline (encoders and
 * preprocessing stored in the file) turns the photo and the description into
 * feature vectors, and the model's item tower turns those into a row of V and
 * a bias -- then measures, with the library's full-ranking evaluator:
 *   cold.all   the purchases of new items (cold.tsv), every new item ranked
 *              among the whole catalogue (warm + new), training items masked:
 *              the realistic case, where a new item competes with the bestsellers;
 *   cold.new   the same, ranked among the new items only (CLCRec's protocol).
 * A model without an item tower (ID-only BPR-MF) has no way to place a new
 * item: its new items score 0 (no bias), which is reported as such.
 *
 * It also writes, for the story: the shopper's rank of the new dress when only
 * that dress is added (story.dress_rank), her training items (story.train:
 * the rest of her history was held out for validation and test), and the item tower's per-modality
 * weights (tower->weights: the ID part, then one per modality) for the
 * shopper's history, her current top 50, every new item and the items listed
 * in the file IDS (one id per line: the script lists every model's top 10). With
 * --after-json it writes her top 10 after the dress is added, in the format
 * of `polyrec recommend --json` (the script's stand-in when the CLI has no
 * add-item).
 *
 * Output in RESULTS_DIR: cold.txt (key=value), weights.tsv (item, id,
 * <modality>...). Cost: one pipeline encode per new item (about 0.5 ms for
 * image + text) and two evaluations, each one GEMM per block of users. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csr.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/pool.h"
#include "core/topk.h"
#include "eval/evaluator.h"
#include "features/items.h"
#include "models/modelfile.h"
#include "util.h"

#define STORY_TOP 50

typedef struct ctx {
    pr_recsys r;
    pr_items *items;            /* items.tsv content (all items) */
    pr_idmap *item_rows;        /* item id -> row of items */
    dm_table shop;              /* items.tsv as a table (for the new flag) */
    int32_t n_new;              /* new items, not in the model */
    int32_t *new_row;           /* (n_new) row in items */
    float *V, *b;               /* (n_items + n_new, d), (n_items + n_new): model rows then new rows */
    int has_tower, n_mod;
    char shopper[64], dress[64];
    int32_t dress_col;          /* column of the dress in V, or -1 */
} ctx;

/* Content vectors of one item through the pipeline, then the tower: v (d),
 * bias, and the weights w (n_mod + 1) when wanted (w may be NULL). */
static int place_item(const ctx *c, int64_t row, float *v, float *bias, float *w, float **xbuf, pr_error *err) {
    const pr_recsys *r = &c->r;
    pr_item_content content = {.image = c->items->image[row], .text = c->items->text[row], .audio = c->items->audio[row]};
    uint8_t present[PR_MAX_MODALITIES] = {0};
    int rc = pr_pipeline_encode_item(&r->pipe, &content, xbuf, present, err);
    if (rc) return pr_err_wrap(err, "item %s: ", c->items->id[row]);
    const float *x[PR_MAX_MODALITIES] = {0};
    for (int m = 0; m < r->pipe.n_mod; m++) x[m] = present[m] ? xbuf[m] : NULL;
    if ((rc = r->tower->ops->encode(r->tower, x, v, bias, err))) return pr_err_wrap(err, "item %s: ", c->items->id[row]);
    if (w && r->tower->ops->weights && (rc = r->tower->ops->weights(r->tower, x, w, err)))
        return pr_err_wrap(err, "item %s: ", c->items->id[row]);
    return 0;
}

static int load(ctx *c, const char *model, const char *shop, pr_error *err) {
    char path[1200], buf[64];
    int rc;
    if ((rc = pr_recsys_open(&c->r, model, err))) return rc;
    if (!c->r.V) return pr_err(err, PR_E_STATE, "%s: a %s model has no item vectors to place new items beside", model, c->r.model);
    snprintf(path, sizeof path, "%s/items.tsv", shop);
    if ((rc = pr_items_read(path, NULL, &c->items, err)) || (rc = dm_table_read(path, &c->shop, err))) return rc;
    if (c->shop.n_rows != c->items->n) return pr_err(err, PR_E_PARSE, "%s: rows disagree between readers", path);
    int col_new = dm_table_col(&c->shop, "new");
    if (col_new < 0) return pr_err(err, PR_E_PARSE, "%s: no 'new' column (not a shop written by shopgen)", path);
    char *txt = NULL;
    snprintf(path, sizeof path, "%s/shop.txt", shop);
    if ((rc = pr_read_file(path, &txt, NULL, err))) return rc;
    snprintf(c->shopper, sizeof c->shopper, "%s", dm_kv(txt, "shopper", buf, sizeof buf) ? buf : "");
    snprintf(c->dress, sizeof c->dress, "%s", dm_kv(txt, "dress", buf, sizeof buf) ? buf : "");
    free(txt);
    if (!(c->item_rows = pr_idmap_new()) || !(c->new_row = pr_malloc((size_t)c->items->n, sizeof *c->new_row)))
        return pr_err(err, PR_E_NOMEM, "shopeval");
    for (int64_t i = 0; i < c->items->n; i++) {
        if (pr_idmap_add(c->item_rows, c->items->id[i], strlen(c->items->id[i])) < 0) return pr_err(err, PR_E_NOMEM, "ids");
        if (strcmp(dm_cell(&c->shop, i, col_new), "1") != 0) continue;
        if (pr_idmap_get(c->r.items, c->items->id[i]) >= 0)
            return pr_err(err, PR_E_STATE, "%s/items.tsv: new item %s is already in %s: train on warm.tsv only",
                          shop, c->items->id[i], model);
        c->new_row[c->n_new++] = (int32_t)i;
    }
    c->has_tower = c->r.tower != NULL;
    c->n_mod = c->r.pipe.n_mod;
    return 0;
}

/* V and b for the model's items followed by the new ones. */
static int place_new(ctx *c, pr_error *err) {
    const pr_recsys *r = &c->r;
    int64_t n_all = (int64_t)r->n_items + c->n_new;
    int d = r->d, rc = 0;
    float *xbuf[PR_MAX_MODALITIES] = {0};
    c->V = pr_calloc((size_t)n_all * d, sizeof *c->V);
    c->b = pr_calloc((size_t)n_all, sizeof *c->b);
    if (!c->V || !c->b) return pr_err(err, PR_E_NOMEM, "new items");
    memcpy(c->V, r->V, (size_t)r->n_items * d * sizeof *c->V);
    if (r->b) memcpy(c->b, r->b, (size_t)r->n_items * sizeof *c->b);
    c->dress_col = -1;
    for (int m = 0; m < c->n_mod; m++)
        if (!(xbuf[m] = pr_malloc((size_t)r->pipe.mod[m].dim, sizeof *xbuf[m]))) { rc = pr_err(err, PR_E_NOMEM, "new items"); goto done; }
    for (int32_t k = 0; k < c->n_new; k++) {
        int64_t col = r->n_items + k;
        if (!strcmp(c->items->id[c->new_row[k]], c->dress)) c->dress_col = (int32_t)col;
        if (c->has_tower && (rc = place_item(c, c->new_row[k], c->V + col * d, c->b + col, NULL, xbuf, err))) goto done;
    }
done:
    for (int m = 0; m < c->n_mod; m++) free(xbuf[m]);
    return rc;
}

/* cold.tsv rows -> target (n_users, n_all), new items only. */
static int cold_target(const ctx *c, const char *shop, pr_csr **out, int64_t *skipped, pr_error *err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/cold.tsv", shop);
    dm_table t;
    int rc = dm_table_read(path, &t, err);
    if (rc) return rc;
    int cu = dm_table_col(&t, "user"), ci = dm_table_col(&t, "item");
    int32_t *rows = pr_malloc((size_t)t.n_rows + 1, sizeof *rows), *cols = pr_malloc((size_t)t.n_rows + 1, sizeof *cols);
    int64_t n = 0;
    *skipped = 0;
    if (cu < 0 || ci < 0) { rc = pr_err(err, PR_E_PARSE, "%s: needs 'user' and 'item' columns", path); goto done; }
    if (!rows || !cols) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
    for (int64_t k = 0; k < t.n_rows; k++) {
        int32_t u = pr_idmap_get(c->r.users, dm_cell(&t, k, cu));
        int32_t row = pr_idmap_get(c->item_rows, dm_cell(&t, k, ci)), col = -1;
        for (int32_t j = 0; row >= 0 && j < c->n_new && col < 0; j++)
            if (c->new_row[j] == row) col = c->r.n_items + j;
        if (u < 0 || col < 0) {
            ++*skipped; /* a shopper the model never saw, or not a new item */
            continue;
        }
        rows[n] = u, cols[n] = col, n++;
    }
    rc = pr_csr_from_coo(c->r.n_users, c->r.n_items + c->n_new, n, rows, cols, NULL, out, err);
done:
    free(rows);
    free(cols);
    dm_table_free(&t);
    return rc;
}

static int evaluate_cold(const ctx *c, const char *shop, pr_pool *pool, FILE *f, pr_error *err) {
    int32_t n_all = c->r.n_items + c->n_new;
    pr_csr *target = NULL;
    uint8_t *cand = NULL;
    int64_t skipped = 0;
    int rc = cold_target(c, shop, &target, &skipped, err);
    if (rc) return rc;
    pr_scorer sc = {.n_users = c->r.n_users, .n_items = n_all, .d = c->r.d, .U = c->r.U, .V = c->V, .b = c->b};
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.auc = 0;
    o.mask[0] = c->r.train;
    pr_metrics all, only;
    if ((rc = pr_evaluate(&sc, target, &o, pool, &all, err))) goto done;
    if (!(cand = pr_calloc((size_t)n_all, 1))) { rc = pr_err(err, PR_E_NOMEM, "candidates"); goto done; }
    memset(cand + c->r.n_items, 1, (size_t)c->n_new);
    o.candidates = cand;
    if ((rc = pr_evaluate(&sc, target, &o, pool, &only, err))) goto done;
    fprintf(f, "cold.users=%lld\ncold.events=%lld\ncold.skipped=%lld\n", (long long)all.users,
            (long long)target->nnz, (long long)skipped);
    static const char *const keys[] = {"recall@10", "recall@20", "ndcg@10", "ndcg@20", "hit@20"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        fprintf(f, "cold.all.%s=%.6f\ncold.new.%s=%.6f\n", keys[k], pr_metrics_get(&all, keys[k]), keys[k],
                pr_metrics_get(&only, keys[k]));
done:
    pr_csr_free(target);
    free(cand);
    return rc;
}

/* Scores of user u over the first n columns of V, training items at -inf. */
static void user_scores(const ctx *c, int32_t u, int32_t n, float *s) {
    const pr_recsys *r = &c->r;
    const float *uv = r->U + (int64_t)u * r->d;
    for (int32_t i = 0; i < n; i++) {
        const float *v = c->V + (int64_t)i * r->d;
        float acc = c->b[i];
        for (int k = 0; k < r->d; k++) acc += uv[k] * v[k];
        s[i] = acc;
    }
    for (int64_t k = r->train->indptr[u]; k < r->train->indptr[u + 1]; k++) s[r->train->indices[k]] = -INFINITY;
}

static const char *col_name(const ctx *c, int32_t col) {
    return col < c->r.n_items ? pr_idmap_name(c->r.items, col) : c->items->id[c->new_row[col - c->r.n_items]];
}

/* The shopper's rank for the dress with only the dress added; her top 10 then
 * (--after-json); the items whose weights the report shows. */
static int story(const ctx *c, FILE *f, const char *after_json, uint8_t *want, pr_error *err) {
    int32_t u = pr_idmap_get(c->r.users, c->shopper);
    if (u < 0 || c->dress_col < 0) {
        fprintf(f, "story=absent\n");
        return 0;
    }
    int32_t n = c->r.n_items;
    float *s = pr_malloc((size_t)n + 1, sizeof *s);
    int32_t idx[STORY_TOP];
    float val[STORY_TOP];
    if (!s) return pr_err(err, PR_E_NOMEM, "story");
    user_scores(c, u, n, s);
    int got = pr_topk(s, n, STORY_TOP, idx, val);
    for (int k = 0; k < got; k++) want[idx[k]] = 1;
    for (int64_t k = c->r.train->indptr[u]; k < c->r.train->indptr[u + 1]; k++) want[c->r.train->indices[k]] = 1;
    /* the dress alone appended: column n of the scores */
    const float *uv = c->r.U + (int64_t)u * c->r.d, *dv = c->V + (int64_t)c->dress_col * c->r.d;
    float ds = c->b[c->dress_col];
    for (int k = 0; k < c->r.d; k++) ds += uv[k] * dv[k];
    int64_t rank = 1;
    for (int32_t i = 0; i < n; i++) rank += s[i] > ds;
    fprintf(f, "story.shopper=%s\nstory.dress=%s\nstory.dress_score=%.6g\nstory.dress_rank=%lld\nstory.train=", c->shopper,
            c->dress, ds, (long long)rank);
    for (int64_t k = c->r.train->indptr[u]; k < c->r.train->indptr[u + 1]; k++)
        fprintf(f, "%s%s", k > c->r.train->indptr[u] ? "," : "", pr_idmap_name(c->r.items, c->r.train->indices[k]));
    fprintf(f, "\n");
    int rc = 0;
    if (after_json) {
        pr_atomic a;
        if ((rc = pr_atomic_open(&a, after_json, err))) goto done;
        fprintf(a.f, "{\"user\": \"%s\", \"items\": [", c->shopper);
        int printed = 0, dress_done = 0;
        for (int k = 0; k < got && printed < 10; k++) {
            if (!dress_done && ds >= val[k]) {
                fprintf(a.f, "%s{\"item\": \"%s\", \"score\": %.6g}", printed++ ? ", " : "", c->dress, ds);
                dress_done = 1;
                k--;
                continue;
            }
            fprintf(a.f, "%s{\"item\": \"%s\", \"score\": %.6g}", printed++ ? ", " : "", col_name(c, idx[k]), val[k]);
        }
        fprintf(a.f, "]}\n");
        rc = pr_atomic_commit(&a, err);
    }
done:
    free(s);
    return rc;
}

static int write_weights(const ctx *c, const char *path, const uint8_t *want, pr_error *err) {
    const pr_recsys *r = &c->r;
    if (!c->has_tower || !r->tower->ops->weights) return 0;
    int n_w = r->tower->n_mod + 1, rc;
    float *xbuf[PR_MAX_MODALITIES] = {0}, *v = pr_malloc((size_t)r->d, sizeof *v), w[PR_MAX_MODALITIES + 1], bias;
    pr_atomic a = {0};
    if (!v) return pr_err(err, PR_E_NOMEM, "weights");
    for (int m = 0; m < c->n_mod; m++)
        if (!(xbuf[m] = pr_malloc((size_t)r->pipe.mod[m].dim, sizeof *xbuf[m]))) { rc = pr_err(err, PR_E_NOMEM, "weights"); goto done; }
    if ((rc = pr_atomic_open(&a, path, err))) goto done;
    fprintf(a.f, "item\tid");
    for (int m = 0; m < r->tower->n_mod; m++) fprintf(a.f, "\t%s", r->tower->names[m]);
    fprintf(a.f, "\n");
    for (int32_t col = 0; col < r->n_items + c->n_new; col++) {
        if (col < r->n_items && !want[col]) continue;
        const char *id = col_name(c, col);
        int32_t row = pr_idmap_get(c->item_rows, id);
        if (row < 0) continue;
        if ((rc = place_item(c, row, v, &bias, w, xbuf, err))) goto done;
        fprintf(a.f, "%s", id);
        for (int k = 0; k < n_w; k++) fprintf(a.f, "\t%.4f", w[k]);
        fprintf(a.f, "\n");
    }
    rc = pr_atomic_commit(&a, err);
done:
    pr_atomic_abort(&a);
    for (int m = 0; m < c->n_mod; m++) free(xbuf[m]);
    free(v);
    return rc;
}

/* --weights-for PATH: one item id per line, marked in want (ids the model does not know are skipped). */
static int want_listed(const ctx *c, const char *path, uint8_t *want, pr_error *err) {
    char *t = NULL;
    int rc = pr_read_file(path, &t, NULL, err);
    if (rc) return rc;
    for (char *line = strtok(t, "\r\n"); line; line = strtok(NULL, "\r\n")) {
        int32_t i = pr_idmap_get(c->r.items, line);
        if (i >= 0) want[i] = 1;
    }
    free(t);
    return 0;
}

static int run(int argc, char **argv, pr_error *err) {
    static const char *const known[] = {"model", "shop", "out", "threads", "after-json", "weights-for", NULL};
    int rc = dm_args_check(argc, argv, known, NULL, err);
    if (rc) return rc;
    const char *model = dm_arg(argc, argv, "model", NULL), *shop = dm_arg(argc, argv, "shop", "demo-out/shop");
    const char *out = dm_arg(argc, argv, "out", NULL), *after = dm_arg(argc, argv, "after-json", NULL);
    long threads = 0;
    if (!model || !out) return pr_err(err, PR_E_ARG, "--model and --out are required");
    if ((rc = dm_arg_int(argc, argv, "threads", 0, 0, 256, &threads, err))) return rc;
    ctx c = {0};
    pr_pool *pool = NULL;
    uint8_t *want = NULL;
    pr_atomic a = {0};
    char path[1200];
    if ((rc = dm_mkdirs(out, err)) || (rc = load(&c, model, shop, err)) || (rc = place_new(&c, err))) goto done;
    if (!(pool = pr_pool_new((int)threads)) || !(want = pr_calloc((size_t)c.r.n_items + 1, 1))) {
        rc = pr_err(err, PR_E_NOMEM, "shopeval");
        goto done;
    }
    snprintf(path, sizeof path, "%s/cold.txt", out);
    if ((rc = pr_atomic_open(&a, path, err))) goto done;
    fprintf(a.f, "model=%s\ntower=%d\nnew_items=%d\n", c.r.model, c.has_tower, c.n_new);
    if ((rc = evaluate_cold(&c, shop, pool, a.f, err)) || (rc = story(&c, a.f, after, want, err))) goto done;
    if ((rc = pr_atomic_commit(&a, err))) goto done;
    const char *listed = dm_arg(argc, argv, "weights-for", NULL);
    if (listed && (rc = want_listed(&c, listed, want, err))) goto done;
    snprintf(path, sizeof path, "%s/weights.tsv", out);
    rc = write_weights(&c, path, want, err);
done:
    pr_atomic_abort(&a);
    pr_recsys_close(&c.r);
    pr_items_free(c.items);
    pr_idmap_free(c.item_rows);
    dm_table_free(&c.shop);
    free(c.new_row);
    free(c.V);
    free(c.b);
    free(want);
    pr_pool_free(pool);
    return rc;
}

int main(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: shopeval --model M.model --shop DIR --out RESULTS_DIR [--threads T] [--after-json PATH]\n"
               "                [--weights-for IDS]\n"
               "Places the shop's new items with the model's item tower and measures cold Recall/NDCG\n"
               "(see demo/shopeval.c).\n");
        return 0;
    }
    pr_error err = {0};
    int rc = run(argc, argv, &err);
    if (rc == 0) return 0;
    fprintf(stderr, "shopeval: %s\n", err.msg[0] ? err.msg : pr_err_name(rc));
    return rc == PR_E_ARG ? 2 : 1;
}
