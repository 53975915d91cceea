/* demo/report.c: the demo's results as text on the terminal and as one HTML page.
 *
 *   build/demo/report [--out DIR] [--html PATH] [--quiet]
 *
 * Reads what scripts/demo.sh left in DIR (default demo-out):
 *   shop/            the shop (shop.txt, items.tsv, interactions.tsv, images/)
 *   results/models.txt   one line per model: name, kind (id|content|graph), status
 *   results/run.txt      key=value: timings of the run
 *   results/M/fit.json   `polyrec fit --json`: warm test metrics, timings
 *   results/M/epochs.jsonl   `fit --log-json`: loss and validation metric per epoch
 *   results/M/cold.txt   build/demo/shopeval: cold metrics, the dress's rank
 *   results/M/weights.tsv    shopeval: the item tower's modality weights
 *   results/M/explain.tsv    `polyrec explain --item --json` per item: trained part weights
 *   results/M/before.json, after.json   `polyrec recommend --json` for the shopper
 *   results/M/add-item.txt   what `polyrec add-item` printed (or why it was not used)
 * and writes DIR/report.html: a self-contained page (inline CSS and SVG, no
 * script, no network; the photos are the shop's PNGs by relative path) with
 * the shopper's history, each model's top 10 before and after the new dress
 * (new items marked), the metrics as a table and a bar chart, the training
 * curves, and per-item modality weights. stdout gets the comparison table and
 * the story in text. A model whose files are missing is shown as absent, so
 * the page works with whatever models the build has. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/fileio.h"
#include "data/idmap.h"
#include "util.h"

#define MAX_MODELS 16
#define TOP 10
#define MAX_HISTORY 64

static const char *const palette[] = {"#8c8c8c", "#d62839", "#1f77b4", "#2a9d8f", "#e9a23b",
                                      "#6a4c93", "#3d5a80", "#f4845f", "#43aa8b", "#b5838d"};

typedef struct model_res {
    char name[32], kind[16], status[256];
    int trained, has_cold, tower, epochs, best_epoch, dress_rank, n_before, n_after, n_ep;
    double warm_r20, warm_n20, warm_r10, cold_all_r20, cold_new_r20, cold_all_n20, train_s;
    char before[TOP][32], after[TOP][32];
    double *ep_loss, *ep_valid; /* (n_ep) */
    int *ep_no;
    dm_table weights;           /* item, id, modality... ; n_cols 0 when absent */
    dm_table explain;           /* item, json of `polyrec explain --item`: trained part weights */
    char add_item[512];
} model_res;

typedef struct report {
    const char *out;
    dm_table items;             /* shop/items.tsv */
    pr_idmap *item_idx;         /* id -> row */
    int c_image, c_text, c_cat, c_col, c_pat, c_new;
    char *shop_txt, *run_txt;
    char shopper[64], dress[64];
    char history[MAX_HISTORY][32];
    int n_history;
    char *train_list;           /* ",id,id,...," the shopper's training items, or NULL */
    model_res m[MAX_MODELS];
    int n_models;
} report;

/* ---- reading ---------------------------------------------------------------- */

static int read_optional(const char *path, char **out) {
    *out = NULL;
    if (!dm_exists(path)) return 0;
    return pr_read_file(path, out, NULL, NULL);
}

static void parse_fit(model_res *m, const char *json) {
    const char *test = strstr(json, "\"test\": ");
    m->warm_r10 = dm_json_num(test, "recall@10");
    m->warm_r20 = dm_json_num(test, "recall@20");
    m->warm_n20 = dm_json_num(test, "ndcg@20");
    m->train_s = dm_json_num(json, "train_seconds");
    double e = dm_json_num(json, "epochs"), b = dm_json_num(json, "best_epoch");
    m->epochs = isfinite(e) ? (int)e : 0;
    m->best_epoch = isfinite(b) ? (int)b : 0;
}

static int parse_epochs(model_res *m, const char *text) {
    int n = 0;
    for (const char *p = text; *p; p++) n += *p == '\n';
    m->ep_loss = pr_malloc((size_t)n + 1, sizeof *m->ep_loss);
    m->ep_valid = pr_malloc((size_t)n + 1, sizeof *m->ep_valid);
    m->ep_no = pr_malloc((size_t)n + 1, sizeof *m->ep_no);
    if (!m->ep_loss || !m->ep_valid || !m->ep_no) return PR_E_NOMEM;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        double e = dm_json_num(p, "epoch");
        if (!isfinite(e)) continue;
        const char *nl = strchr(p, '\n');
        char line[512];
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len >= sizeof line) len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        m->ep_no[m->n_ep] = (int)e;
        m->ep_loss[m->n_ep] = dm_json_num(line, "loss");
        m->ep_valid[m->n_ep] = dm_json_num(line, "valid");
        m->n_ep++;
    }
    return 0;
}

static int parse_list(const char *json, char list[TOP][32]) {
    int n = 0;
    const char *p = json;
    while (p && n < TOP && (p = dm_json_str(p, "item", list[n], sizeof list[0]))) n++;
    return n;
}

static int load_model(report *r, model_res *m, pr_error *err) {
    char path[1200], *t = NULL, buf[64];
    int rc = 0;
#define RES(file) (snprintf(path, sizeof path, "%s/results/%s/%s", r->out, m->name, file), path)
    if ((rc = read_optional(RES("fit.json"), &t))) return pr_err(err, rc, "%s: unreadable", path);
    if (t) {
        parse_fit(m, t);
        m->trained = isfinite(m->warm_r20);
        free(t);
    }
    if ((rc = read_optional(RES("epochs.jsonl"), &t))) return pr_err(err, rc, "%s: unreadable", path);
    if (t) {
        rc = parse_epochs(m, t);
        free(t);
        if (rc) return pr_err(err, rc, "%s", path);
    }
    if ((rc = read_optional(RES("cold.txt"), &t))) return pr_err(err, rc, "%s: unreadable", path);
    if (t) {
        m->has_cold = dm_kv(t, "cold.all.recall@20", buf, sizeof buf) != NULL;
        m->cold_all_r20 = m->has_cold ? atof(buf) : NAN;
        m->cold_new_r20 = dm_kv(t, "cold.new.recall@20", buf, sizeof buf) ? atof(buf) : NAN;
        m->cold_all_n20 = dm_kv(t, "cold.all.ndcg@20", buf, sizeof buf) ? atof(buf) : NAN;
        m->tower = dm_kv(t, "tower", buf, sizeof buf) ? atoi(buf) : 0;
        m->dress_rank = dm_kv(t, "story.dress_rank", buf, sizeof buf) ? atoi(buf) : 0;
        const char *tl = strstr(t, "\nstory.train=");
        if (tl && !r->train_list) { /* the same split for every model: keep the first */
            tl += 13;
            size_t len = strcspn(tl, "\n");
            if ((r->train_list = pr_malloc(len + 3, 1))) {
                r->train_list[0] = ',';
                memcpy(r->train_list + 1, tl, len);
                memcpy(r->train_list + 1 + len, ",", 2);
            }
        }
        free(t);
    }
    if ((rc = read_optional(RES("before.json"), &t))) return pr_err(err, rc, "%s: unreadable", path);
    if (t) m->n_before = parse_list(t, m->before), free(t);
    if ((rc = read_optional(RES("after.json"), &t))) return pr_err(err, rc, "%s: unreadable", path);
    if (t) m->n_after = parse_list(t, m->after), free(t);
    if ((rc = read_optional(RES("add-item.txt"), &t))) return pr_err(err, rc, "%s: unreadable", path);
    if (t) {
        size_t len = strlen(t);
        while (len && (t[len - 1] == '\n' || t[len - 1] == ' ')) t[--len] = '\0';
        snprintf(m->add_item, sizeof m->add_item, "%s", t);
        free(t);
    }
    if (dm_exists(RES("weights.tsv")) && (rc = dm_table_read(path, &m->weights, err))) return rc;
    if (dm_exists(RES("explain.tsv")) && (rc = dm_table_read(path, &m->explain, err))) return rc;
#undef RES
    return 0;
}

static int load(report *r, pr_error *err) {
    char path[1200], *models = NULL;
    int rc;
    snprintf(path, sizeof path, "%s/shop/items.tsv", r->out);
    if ((rc = dm_table_read(path, &r->items, err))) return rc;
    r->c_image = dm_table_col(&r->items, "image"), r->c_text = dm_table_col(&r->items, "text");
    r->c_cat = dm_table_col(&r->items, "category"), r->c_col = dm_table_col(&r->items, "colour");
    r->c_pat = dm_table_col(&r->items, "pattern"), r->c_new = dm_table_col(&r->items, "new");
    if (dm_table_col(&r->items, "item") != 0 || r->c_image < 0 || r->c_text < 0 || r->c_new < 0)
        return pr_err(err, PR_E_PARSE, "%s: expected the columns item, image, text, ..., new of shopgen", path);
    if (!(r->item_idx = pr_idmap_new())) return pr_err(err, PR_E_NOMEM, "report");
    for (int64_t i = 0; i < r->items.n_rows; i++)
        if (pr_idmap_add(r->item_idx, dm_cell(&r->items, i, 0), strlen(dm_cell(&r->items, i, 0))) != (int32_t)i)
            return pr_err(err, PR_E_PARSE, "%s:%lld: item listed twice", path, (long long)i + 2);
    snprintf(path, sizeof path, "%s/shop/shop.txt", r->out);
    if ((rc = pr_read_file(path, &r->shop_txt, NULL, err))) return rc;
    if (!dm_kv(r->shop_txt, "shopper", r->shopper, sizeof r->shopper) || !dm_kv(r->shop_txt, "dress", r->dress, sizeof r->dress))
        return pr_err(err, PR_E_PARSE, "%s: no shopper= or dress= line", path);
    snprintf(path, sizeof path, "%s/results/run.txt", r->out);
    read_optional(path, &r->run_txt);
    /* the shopper's history: her warm events, in time order */
    dm_table ev;
    snprintf(path, sizeof path, "%s/shop/warm.tsv", r->out);
    if ((rc = dm_table_read(path, &ev, err))) return rc;
    for (int64_t k = 0; k < ev.n_rows && r->n_history < MAX_HISTORY; k++)
        if (!strcmp(dm_cell(&ev, k, 0), r->shopper))
            snprintf(r->history[r->n_history++], sizeof r->history[0], "%s", dm_cell(&ev, k, 1));
    dm_table_free(&ev);
    snprintf(path, sizeof path, "%s/results/models.txt", r->out);
    if ((rc = pr_read_file(path, &models, NULL, err))) return rc;
    for (char *line = strtok(models, "\n"); line && r->n_models < MAX_MODELS; line = strtok(NULL, "\n")) {
        model_res *m = &r->m[r->n_models++];
        char *f[3] = {line, "", ""};
        for (int k = 1; k < 3; k++) {
            char *tab = strchr(f[k - 1], '\t');
            if (!tab) break;
            *tab = '\0';
            f[k] = tab + 1;
        }
        snprintf(m->name, sizeof m->name, "%s", f[0]);
        snprintf(m->kind, sizeof m->kind, "%s", f[1]);
        snprintf(m->status, sizeof m->status, "%s", f[2]);
        if ((rc = load_model(r, m, err))) break;
    }
    free(models);
    return rc;
}

static void report_free(report *r) {
    dm_table_free(&r->items);
    pr_idmap_free(r->item_idx);
    free(r->shop_txt);
    free(r->run_txt);
    free(r->train_list);
    for (int k = 0; k < r->n_models; k++) {
        free(r->m[k].ep_loss);
        free(r->m[k].ep_valid);
        free(r->m[k].ep_no);
        dm_table_free(&r->m[k].weights);
        dm_table_free(&r->m[k].explain);
    }
}

static const char *item_field(const report *r, const char *id, int col) {
    int32_t i = pr_idmap_get(r->item_idx, id);
    return i < 0 ? "" : dm_cell(&r->items, i, col);
}

static int item_is_new(const report *r, const char *id) { return !strcmp(item_field(r, id, r->c_new), "1"); }

/* A history item the models did not train on (held out for validation or test). */
static int held_out(const report *r, const char *id) {
    char pat[40];
    snprintf(pat, sizeof pat, ",%s,", id);
    return r->train_list && !strstr(r->train_list, pat);
}

/* The multimodal model the story is told with: attention, concat, vbpr, then any with a tower. */
static const model_res *story_model(const report *r) {
    static const char *const pref[] = {"attention", "concat", "vbpr", "freedom"};
    for (size_t p = 0; p < sizeof pref / sizeof pref[0]; p++)
        for (int k = 0; k < r->n_models; k++)
            if (!strcmp(r->m[k].name, pref[p]) && r->m[k].trained && r->m[k].n_after) return &r->m[k];
    for (int k = 0; k < r->n_models; k++)
        if (r->m[k].tower && r->m[k].n_after) return &r->m[k];
    return NULL;
}

static int list_has(const char (*list)[32], int n, const char *id) {
    for (int k = 0; k < n; k++)
        if (!strcmp(list[k], id)) return k + 1;
    return 0;
}

static const float *weights_of(const model_res *m, const char *id, int *n) {
    static float w[16];
    *n = 0;
    for (int64_t k = 0; k < m->weights.n_rows; k++) {
        if (strcmp(dm_cell(&m->weights, k, 0), id) != 0) continue;
        for (int c = 1; c < m->weights.n_cols && c <= 16; c++) w[(*n)++] = (float)atof(dm_cell(&m->weights, k, c));
        return w;
    }
    return NULL;
}

/* Trained part weights of id (from `explain`), in the order of the weights.tsv
 * columns (id, then the modalities); NULL when unknown. */
static const float *trained_weights_of(const model_res *m, const char *id, int *n) {
    static float w[16];
    *n = 0;
    if (m->weights.n_cols < 2) return NULL;
    for (int64_t k = 0; k < m->explain.n_rows; k++) {
        if (strcmp(dm_cell(&m->explain, k, 0), id) != 0) continue;
        const char *json = strstr(dm_cell(&m->explain, k, 1), "\"weights\": {");
        for (int c = 1; json && c < m->weights.n_cols && c <= 16; c++) {
            double v = dm_json_num(json, m->weights.head[c]);
            if (!isfinite(v)) return NULL;
            w[(*n)++] = (float)v;
        }
        return json ? w : NULL;
    }
    return NULL;
}

/* ---- text on the terminal ------------------------------------------------------- */

static void fmt(char *buf, size_t n, double v) {
    if (isfinite(v)) snprintf(buf, n, "%.4f", v);
    else snprintf(buf, n, "-");
}

static void print_text(const report *r) {
    printf("\n== comparison: test Recall@20 and NDCG@20, full ranking over the catalogue\n");
    char nb[32];
    printf("   warm: held-out purchases of known items; cold: purchases of the %s new items, ranked\n",
           dm_kv(r->shop_txt, "new_items", nb, sizeof nb) ? nb : "?");
    printf("   among all items (they compete with the bestsellers) or among the new items only\n\n");
    printf("%-10s %-8s %9s %9s %11s %11s %7s %8s\n", "model", "kind", "warm R@20", "warm N@20", "cold R@20",
           "cold R@20", "epochs", "train s");
    printf("%-10s %-8s %9s %9s %11s %11s %7s %8s\n", "", "", "", "", "(all items)", "(new only)", "", "");
    for (int k = 0; k < r->n_models; k++) {
        const model_res *m = &r->m[k];
        if (!m->trained) {
            printf("%-10s %-8s %s\n", m->name, m->kind, m->status[0] ? m->status : "absent");
            continue;
        }
        char a[16], b[16], c[16], d[16];
        fmt(a, sizeof a, m->warm_r20), fmt(b, sizeof b, m->warm_n20), fmt(c, sizeof c, m->cold_all_r20),
            fmt(d, sizeof d, m->cold_new_r20);
        printf("%-10s %-8s %9s %9s %11s %11s %7d %8.1f\n", m->name, m->kind, a, b, c, d, m->epochs, m->train_s);
    }
    printf("\n== the story: %s likes red floral dresses\n", r->shopper);
    printf("her history (%d purchases):\n", r->n_history);
    for (int k = 0; k < r->n_history; k++)
        printf("   %s  %s%s\n", r->history[k], item_field(r, r->history[k], r->c_text),
               held_out(r, r->history[k]) ? "   (held out to test the models)" : "");
    const model_res *sm = story_model(r);
    if (!sm) {
        printf("(no multimodal model with an item tower was trained: the story needs one)\n");
        return;
    }
    printf("\nher top %d under %s before the new items arrive:\n", TOP, sm->name);
    for (int k = 0; k < sm->n_before; k++)
        printf("  %2d. %s  %s\n", k + 1, sm->before[k], item_field(r, sm->before[k], r->c_text));
    printf("\nthe new %s \"%s\" is added with polyrec add-item; her top %d after:\n", r->dress,
           item_field(r, r->dress, r->c_text), TOP);
    for (int k = 0; k < sm->n_after; k++)
        printf("  %2d. %s  %s%s\n", k + 1, sm->after[k], item_field(r, sm->after[k], r->c_text),
               item_is_new(r, sm->after[k]) ? "   <- NEW" : "");
    int at = list_has(sm->after, sm->n_after, r->dress);
    if (at) printf("=> the new dress is #%d for her under %s\n", at, sm->name);
    else printf("=> the new dress is NOT in her top %d under %s\n", TOP, sm->name);
    int nw;
    const float *w = weights_of(sm, r->dress, &nw);
    if (w) {
        printf("why: %s's weights for the new dress:", sm->name);
        for (int c = 0; c < nw; c++) printf("  %s %.2f", sm->weights.head[c + 1], w[c]);
        printf("  (a new item has no ID embedding)\n");
    }
    for (int k = 0; k < r->n_models; k++) {
        const model_res *m = &r->m[k];
        if (m == sm || !m->trained || !m->n_after) continue;
        int a = list_has(m->after, m->n_after, r->dress);
        if (a) printf("   %-10s the new dress is #%d in her top 10\n", m->name, a);
        else if (m->dress_rank) printf("   %-10s not in her top 10 (rank %d of the catalogue)%s\n", m->name, m->dress_rank,
                                       m->tower ? "" : ": no item tower, a new item has no vector");
    }
}

/* ---- HTML ------------------------------------------------------------------------- */

static void esc(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static const char css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;background:#f6f5f2;color:#222}"
    "main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}"
    "h1{font-size:28px;margin:8px 0 4px}h2{font-size:21px;margin:34px 0 10px;border-bottom:2px solid #ddd;padding-bottom:4px}"
    "h3{font-size:16px;margin:18px 0 8px}p{line-height:1.45;max-width:900px}"
    ".lede{font-size:16px;color:#444}.muted{color:#777;font-size:13px}"
    ".strip{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}"
    ".item{position:relative;margin:0;width:104px;background:#fff;border:1px solid #e2e0db;border-radius:6px;padding:4px;text-align:center}"
    ".item img{width:96px;height:96px;display:block;margin:0 auto;image-rendering:auto}"
    ".item figcaption{font-size:11px;line-height:1.25;color:#333;height:42px;overflow:hidden;margin-top:3px}"
    ".item .rank{position:absolute;top:3px;right:5px;font-size:11px;color:#666}"
    ".item.new{border:2px solid #d62839;padding:3px}"
    ".item.sm{width:84px}.item.sm img{width:72px;height:72px}.item.sm figcaption{font-size:10px;height:37px}"
    ".item .badge{position:absolute;top:4px;left:4px;background:#d62839;color:#fff;font-size:10px;font-weight:700;padding:1px 5px;border-radius:3px}"
    ".item .badge.test{background:#777}.item.held img{opacity:.75}"
    ".model{background:#fff;border:1px solid #e2e0db;border-radius:8px;padding:10px 14px;margin:12px 0}"
    ".model h3{margin:4px 0 8px}.row{display:flex;gap:10px;align-items:center;margin:6px 0}"
    ".row .lab{width:92px;font-size:12px;color:#555;flex:none}"
    ".verdict{font-weight:600}.ok{color:#1b7f3b}.no{color:#a33}"
    "table{border-collapse:collapse;font-size:14px;background:#fff}th,td{border:1px solid #ddd;padding:5px 10px;text-align:right}"
    "th{background:#efede8}td:first-child,th:first-child,td:nth-child(2),th:nth-child(2){text-align:left}td.note{text-align:left;color:#777}"
    ".charts{display:flex;flex-wrap:wrap;gap:18px}.chart{background:#fff;border:1px solid #e2e0db;border-radius:8px;padding:8px}"
    ".hero{display:flex;gap:18px;align-items:center;background:#fff;border:1px solid #e2e0db;border-radius:8px;padding:12px 16px}"
    ".hero img{width:144px;height:144px}"
    "code{background:#ecebe6;padding:1px 4px;border-radius:3px;font-size:13px}"
    "footer{margin-top:40px;color:#888;font-size:12px}";

static void html_item(FILE *f, const report *r, const char *id, int rank, const char *extra_class) {
    int is_new = item_is_new(r, id);
    fprintf(f, "<figure class=\"item%s%s%s\">", is_new ? " new" : "", extra_class ? " " : "", extra_class ? extra_class : "");
    int px = extra_class && !strcmp(extra_class, "sm") ? 72 : 96;
    fprintf(f, "<img src=\"shop/");
    esc(f, item_field(r, id, r->c_image));
    fprintf(f, "\" alt=\"");
    esc(f, item_field(r, id, r->c_text));
    fprintf(f, "\" width=\"%d\" height=\"%d\">", px, px);
    if (is_new) fprintf(f, "<span class=\"badge\">NEW</span>");
    else if (extra_class && !strcmp(extra_class, "held")) fprintf(f, "<span class=\"badge test\">HELD OUT</span>");
    if (rank) fprintf(f, "<span class=\"rank\">#%d</span>", rank);
    fprintf(f, "<figcaption>");
    esc(f, item_field(r, id, r->c_text));
    fprintf(f, "</figcaption></figure>\n");
}

/* A stacked horizontal bar of weights w (n), with the part names. */
static void svg_weights(FILE *f, const float *w, int n, char *const *names, int width) {
    static const char *const wc[] = {"#9e9e9e", "#e76f51", "#2a9d8f", "#6a4c93", "#e9c46a"};
    fprintf(f, "<svg width=\"%d\" height=\"18\" viewBox=\"0 0 %d 18\" role=\"img\">", width, width);
    double x = 0, tot = 0;
    for (int k = 0; k < n; k++) tot += w[k] > 0 ? w[k] : 0;
    for (int k = 0; k < n && tot > 0; k++) {
        double ww = (w[k] > 0 ? w[k] : 0) / tot * width;
        fprintf(f, "<rect x=\"%.1f\" y=\"1\" width=\"%.1f\" height=\"16\" fill=\"%s\"><title>", x, ww, wc[k % 5]);
        esc(f, names[k]);
        fprintf(f, " %.2f</title></rect>", w[k]);
        if (ww > 6.0 * (strlen(names[k]) + 5)) { /* room for "name 0.00" at 10 px */
            fprintf(f, "<text x=\"%.1f\" y=\"13\" font-size=\"10\" fill=\"#fff\">", x + 3);
            esc(f, names[k]);
            fprintf(f, " %.2f</text>", w[k]);
        }
        x += ww;
    }
    fprintf(f, "</svg>");
}

/* Round step for about n ticks over [0, hi]. */
static double nice_step(double hi, int n) {
    double raw = hi / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Grouped bars: per model, warm R@20, cold R@20 (all), cold R@20 (new only). */
static void svg_metrics(FILE *f, const report *r) {
    static const char *const series[] = {"warm Recall@20", "cold Recall@20 (among all items)", "cold Recall@20 (among new items)"};
    static const char *const sc[] = {"#3d5a80", "#d62839", "#f4a261"};
    int n = 0;
    double hi = 0.01;
    for (int k = 0; k < r->n_models; k++) {
        const model_res *m = &r->m[k];
        if (!m->trained) continue;
        n++;
        double v[3] = {m->warm_r20, m->cold_all_r20, m->cold_new_r20};
        for (int s = 0; s < 3; s++)
            if (isfinite(v[s]) && v[s] > hi) hi = v[s];
    }
    double step = nice_step(hi, 5);
    hi = ceil(hi / step) * step;
    int W = 720, H = 320, L = 52, R = 16, T = 34, B = 42, gw = n ? (W - L - R) / n : 1;
    fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" font-family=\"system-ui,sans-serif\">\n", W, H, W, H);
    fprintf(f, "<title>Recall@20 per model, warm and cold</title>\n");
    for (double y = 0; y <= hi + 1e-12; y += step) {
        double py = T + (H - T - B) * (1 - y / hi);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>", L, py, W - R, py);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">%.2f</text>\n", L - 6, py + 4, y);
    }
    int g = 0;
    for (int k = 0; k < r->n_models; k++) {
        const model_res *m = &r->m[k];
        if (!m->trained) continue;
        double v[3] = {m->warm_r20, m->cold_all_r20, m->cold_new_r20}, bw = (gw - 18) / 3.0;
        for (int s = 0; s < 3; s++) {
            if (!isfinite(v[s])) continue;
            double x = L + g * gw + 9 + s * bw, h = (H - T - B) * v[s] / hi, y = H - B - h;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>", x, y, bw - 2, h, sc[s]);
            esc(f, m->name);
            fprintf(f, " %s %.4f</title></rect>", series[s], v[s]);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" fill=\"#333\">%.3f</text>\n",
                    x + (bw - 2) / 2, y - 3, v[s]);
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222\">", L + g * gw + gw / 2.0, H - B + 18);
        esc(f, m->name);
        fprintf(f, "</text>\n");
        g++;
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", L, H - B, W - R, H - B);
    for (int s = 0; s < 3; s++) {
        int x = L + s * 220;
        fprintf(f, "<rect x=\"%d\" y=\"10\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"20\" font-size=\"12\" fill=\"#333\">%s</text>\n",
                x, sc[s], x + 16, series[s]);
    }
    fprintf(f, "</svg>\n");
}

/* One line per model of y (loss or validation metric) against the epoch. */
static void svg_curves(FILE *f, const report *r, int which, const char *title) {
    int W = 540, H = 300, L = 50, R = 112, T = 30, B = 40, max_ep = 1;
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < r->n_models; k++) {
        const model_res *m = &r->m[k];
        for (int e = 0; e < m->n_ep; e++) {
            double v = which ? m->ep_valid[e] : m->ep_loss[e];
            if (!isfinite(v)) continue;
            lo = fmin(lo, v), hi = fmax(hi, v);
            if (m->ep_no[e] > max_ep) max_ep = m->ep_no[e];
        }
    }
    fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" font-family=\"system-ui,sans-serif\">\n", W, H, W, H);
    fprintf(f, "<title>%s</title><text x=\"%d\" y=\"18\" font-size=\"13\" font-weight=\"600\" fill=\"#222\">%s</text>\n", title, L, title);
    if (!isfinite(lo)) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\" fill=\"#777\">no per-epoch log</text></svg>\n", L, H / 2);
        return;
    }
    lo = 0;
    if (hi <= lo) hi = lo + 1;
    double step = nice_step(hi, 5);
    hi = ceil(hi / step) * step;
    for (double y = 0; y <= hi + 1e-12; y += step) {
        double py = T + (H - T - B) * (1 - y / hi);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>", L, py, W - R, py);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">%.*f</text>\n", L - 6, py + 4,
                step < 0.01 ? 3 : 2, y);
    }
    double xs = nice_step(max_ep, 6);
    for (double e = 0; e <= max_ep + 1e-9; e += xs) {
        double px = L + (W - L - R) * e / max_ep;
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">%.0f</text>", px, H - B + 16, e);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" fill=\"#555\">epoch</text>\n", (L + W - R) / 2, H - 6);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", L, H - B, W - R, H - B);
    int legend = 0;
    for (int k = 0; k < r->n_models; k++) {
        const model_res *m = &r->m[k];
        if (!m->n_ep) continue;
        const char *c = palette[k % 10];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", c);
        for (int e = 0; e < m->n_ep; e++) {
            double v = which ? m->ep_valid[e] : m->ep_loss[e];
            if (!isfinite(v)) continue;
            fprintf(f, "%.1f,%.1f ", L + (W - L - R) * (double)m->ep_no[e] / max_ep, T + (H - T - B) * (1 - v / hi));
        }
        fprintf(f, "\"/>\n");
        for (int e = 0; which && e < m->n_ep; e++)
            if (m->ep_no[e] == m->best_epoch && isfinite(m->ep_valid[e]))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>%s best epoch %d</title></circle>\n",
                        L + (W - L - R) * (double)m->ep_no[e] / max_ep, T + (H - T - B) * (1 - m->ep_valid[e] / hi), c, m->name,
                        m->best_epoch);
        int lx = W - R + 12, ly = T + 6 + 16 * legend++;
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/><text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#333\">",
                lx, ly, lx + 18, ly, c, lx + 24, ly + 4);
        esc(f, m->name);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg>\n");
}

/* One model's card: her top 10 before and after the dress, and the verdict. */
static void html_model_lists(FILE *f, const report *r, const model_res *m) {
    int at = list_has(m->after, m->n_after, r->dress);
    fprintf(f, "<div class=\"model\"><h3>%s <span class=\"muted\">(%s)</span> &mdash; <span class=\"verdict %s\">", m->name,
            m->kind, at ? "ok" : "no");
    if (at) fprintf(f, "the new dress is #%d", at);
    else if (m->dress_rank) fprintf(f, "the new dress ranks #%d, outside her top %d%s", m->dress_rank, TOP,
                                    m->tower ? "" : " (no item tower: a new item has no vector)");
    else fprintf(f, "the new dress is not in her top %d", TOP);
    fprintf(f, "</span></h3>\n<div class=\"row\"><span class=\"lab\">before</span><div class=\"strip\">\n");
    for (int j = 0; j < m->n_before; j++) html_item(f, r, m->before[j], j + 1, "sm");
    fprintf(f, "</div></div>\n<div class=\"row\"><span class=\"lab\">after add-item</span><div class=\"strip\">\n");
    for (int j = 0; j < m->n_after; j++) html_item(f, r, m->after[j], j + 1, "sm");
    fprintf(f, "</div></div>\n");
    if (m->add_item[0] && !(r->run_txt && strstr(r->run_txt, "add_item=0"))) {
        fprintf(f, "<p class=\"muted\">add-item: ");
        esc(f, m->add_item);
        fprintf(f, "</p>\n");
    }
    fprintf(f, "</div>\n");
}

static void html_story(FILE *f, const report *r) {
    const model_res *sm = story_model(r);
    fprintf(f, "<h2 id=\"story\">The story: %s likes red floral dresses</h2>\n", r->shopper);
    fprintf(f, "<h3>Her history (%d purchases, all before the new items arrived; the models trained on those "
               "not marked <i>held out</i>)</h3>\n<div class=\"strip\">\n", r->n_history);
    for (int k = 0; k < r->n_history; k++) html_item(f, r, r->history[k], 0, held_out(r, r->history[k]) ? "held" : NULL);
    fprintf(f, "</div>\n");
    fprintf(f, "<h3>A new dress arrives</h3>\n<div class=\"hero\"><img src=\"shop/");
    esc(f, item_field(r, r->dress, r->c_image));
    fprintf(f, "\" alt=\"the new dress\" width=\"144\" height=\"144\"><div><p><b>%s</b> &ldquo;", r->dress);
    esc(f, item_field(r, r->dress, r->c_text));
    fprintf(f, "&rdquo; has never been bought: no model saw it in training. It is added to each trained model file with "
               "<code>polyrec add-item --model M --id %s --image shop/", r->dress);
    esc(f, item_field(r, r->dress, r->c_image));
    fprintf(f, " --text &quot;");
    esc(f, item_field(r, r->dress, r->c_text));
    fprintf(f, "&quot;</code>: the model's own encoders and item tower turn the photo and the words into a vector.</p>\n");
    if (sm) {
        int nw, at = list_has(sm->after, sm->n_after, r->dress);
        const float *w = weights_of(sm, r->dress, &nw);
        fprintf(f, "<p class=\"verdict %s\">Under %s the new dress is %s%d in her top %d.</p>\n", at ? "ok" : "no", sm->name,
                at ? "#" : "not ", at ? at : TOP, TOP);
        if (w) {
            fprintf(f, "<p>Why: the %s weights of its parts (a new item has no ID embedding, so its ID weight is 0):<br>", sm->name);
            svg_weights(f, w, nw, sm->weights.head + 1, 360);
            fprintf(f, "</p>\n");
        }
    }
    fprintf(f, "</div></div>\n<h3>Her top %d, model by model, before and after the new dress</h3>\n", TOP);
    if (r->run_txt && strstr(r->run_txt, "add_item=0"))
        fprintf(f, "<p class=\"muted\">This polyrec has no <code>add-item</code> command yet: build/demo/shopeval placed "
                   "the dress in-process, through the same content pipeline and item tower.</p>\n");
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < r->n_models; k++) {
            const model_res *m = &r->m[k];
            if (!m->trained || !m->n_before || (pass == 0) != (m == sm)) continue;
            html_model_lists(f, r, m);
        }
}

static void html_metrics(FILE *f, const report *r) {
    char nb[32];
    fprintf(f, "<h2 id=\"metrics\">Warm and cold accuracy</h2>\n<p>Full ranking over the whole catalogue, training items "
               "excluded. <b>Warm</b>: held-out purchases of items the models were trained on (a random 10%% of each "
               "shopper's history). <b>Cold</b>: purchases of the %s items that arrived after training, placed by each "
               "model's item tower from their photo and description alone, ranked among all items (they compete with "
               "the bestsellers) or among the new items only.</p>\n",
            dm_kv(r->shop_txt, "new_items", nb, sizeof nb) ? nb : "?");
    fprintf(f, "<div class=\"chart\">\n");
    svg_metrics(f, r);
    fprintf(f, "</div>\n<table>\n<tr><th>model</th><th>kind</th><th>warm Recall@20</th><th>warm NDCG@20</th>"
               "<th>cold Recall@20<br>(all items)</th><th>cold NDCG@20<br>(all items)</th><th>cold Recall@20<br>(new items)</th>"
               "<th>epochs (best)</th><th>training s</th></tr>\n");
    for (int k = 0; k < r->n_models; k++) {
        const model_res *m = &r->m[k];
        fprintf(f, "<tr><td>");
        esc(f, m->name);
        fprintf(f, "</td><td>%s</td>", m->kind);
        if (!m->trained) {
            fprintf(f, "<td class=\"note\" colspan=\"7\">");
            esc(f, m->status[0] ? m->status : "absent from this build");
            fprintf(f, "</td></tr>\n");
            continue;
        }
        double v[5] = {m->warm_r20, m->warm_n20, m->cold_all_r20, m->cold_all_n20, m->cold_new_r20};
        for (int j = 0; j < 5; j++) {
            char b[16];
            fmt(b, sizeof b, v[j]);
            fprintf(f, "<td>%s</td>", b);
        }
        fprintf(f, "<td>%d (%d)</td><td>%.1f</td></tr>\n", m->epochs, m->best_epoch, m->train_s);
    }
    fprintf(f, "</table>\n");
}

static void html_weights(FILE *f, const report *r) {
    const model_res *sm = story_model(r), *cols[MAX_MODELS + 1];
    int trained[MAX_MODELS + 1], n_cols = 0;
    if (sm && sm->explain.n_rows) cols[n_cols] = sm, trained[n_cols++] = 1;
    for (int k = 0; k < r->n_models && n_cols < MAX_MODELS; k++)
        if (r->m[k].trained && r->m[k].weights.n_cols >= 2) cols[n_cols] = &r->m[k], trained[n_cols++] = 0;
    if (!n_cols) return;
    fprintf(f, "<h2 id=\"weights\">Which modality drives each item</h2>\n<p>The share of an item's vector that comes from "
               "its ID embedding and from each modality. <i>As trained</i>: the weights %s learned for the items it "
               "was trained on (<code>polyrec explain --item</code>). <i>Content alone</i>: what each model's item "
               "tower gives an item from its photo and description, as it does for a new item, so the ID share is 0. "
               "Shown for her history, the new dress and her new top %d under %s.</p>\n"
               "<table>\n<tr><th>item</th><th>description</th>",
            sm ? sm->name : "the model", TOP, sm ? sm->name : "the story's model");
    for (int c = 0; c < n_cols; c++) fprintf(f, "<th>%s<br>%s</th>", cols[c]->name, trained[c] ? "as trained" : "content alone");
    fprintf(f, "</tr>\n");
    const char *ids[MAX_HISTORY + TOP + 1];
    int n = 0;
    ids[n++] = r->dress;
    for (int j = 0; j < r->n_history; j++) ids[n++] = r->history[j];
    for (int j = 0; sm && j < sm->n_after; j++) ids[n++] = sm->after[j];
    for (int j = 0; j < n; j++) {
        int dup = 0;
        for (int s = 0; s < j; s++) dup |= !strcmp(ids[s], ids[j]);
        if (dup) continue;
        fprintf(f, "<tr><td><img src=\"shop/");
        esc(f, item_field(r, ids[j], r->c_image));
        fprintf(f, "\" alt=\"\" width=\"40\" height=\"40\"> ");
        esc(f, ids[j]);
        fprintf(f, "%s</td><td>", item_is_new(r, ids[j]) ? " <b>(new)</b>" : "");
        esc(f, item_field(r, ids[j], r->c_text));
        fprintf(f, "</td>");
        for (int c = 0; c < n_cols; c++) {
            int nw;
            const float *w = trained[c] ? trained_weights_of(cols[c], ids[j], &nw) : weights_of(cols[c], ids[j], &nw);
            fprintf(f, "<td>");
            if (w) svg_weights(f, w, nw, cols[c]->weights.head + 1, 150);
            else if (trained[c]) fprintf(f, "<span class=\"muted\">%s</span>", item_is_new(r, ids[j]) ? "not trained on" : "");
            fprintf(f, "</td>");
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
}

static void html_shop(FILE *f, const report *r) {
    char a[32], b[32], c[32], d[32], e[32];
    fprintf(f, "<h2 id=\"shop\">The shop</h2>\n<p>%s garments (%s of them arriving after training), %s shoppers, %s purchases "
               "(%s of new items), generated from seed %s by <code>build/demo/shopgen</code>. Silhouettes are real product "
               "images from Fashion-MNIST (Zalando, MIT licence); each item got a colour and a pattern painted inside its "
               "silhouette and a description written from them. Shoppers have hidden tastes over colour, pattern and "
               "category, some caring mostly about one of them.</p>\n<div class=\"strip\">\n",
            dm_kv(r->shop_txt, "items", a, sizeof a) ? a : "?", dm_kv(r->shop_txt, "new_items", b, sizeof b) ? b : "?",
            dm_kv(r->shop_txt, "users", c, sizeof c) ? c : "?", dm_kv(r->shop_txt, "events", d, sizeof d) ? d : "?",
            dm_kv(r->shop_txt, "cold_events", e, sizeof e) ? e : "?", dm_kv(r->shop_txt, "seed", a, sizeof a) ? a : "?");
    int64_t n = r->items.n_rows, step = n / 20 > 0 ? n / 20 : 1;
    for (int64_t i = 0, shown = 0; i < n && shown < 20; i += step, shown++) html_item(f, r, dm_cell(&r->items, i, 0), 0, NULL);
    fprintf(f, "</div>\n");
}

static int write_html(const report *r, const char *path, pr_error *err) {
    pr_atomic a;
    int rc = pr_atomic_open(&a, path, err);
    if (rc) return rc;
    FILE *f = a.f;
    char buf[64];
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>polyrec demo: a fashion shop</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", css);
    fprintf(f, "<h1>polyrec &mdash; the fashion-shop demo</h1>\n<p class=\"lede\">A new dress has a photo and a "
               "description but no purchases. An ID-only recommender (BPR-MF) cannot show it to anyone; a multimodal "
               "one places it from how it looks and what it says, and the shopper who loves red floral dresses sees it "
               "at once.</p>\n");
    html_story(f, r);
    html_metrics(f, r);
    fprintf(f, "<h2 id=\"curves\">Training</h2>\n<p>Mean BPR loss per epoch and validation Recall@20 (held-out warm "
               "purchases) per epoch; a dot marks the epoch each model keeps (early stopping).</p>\n<div class=\"charts\">"
               "<div class=\"chart\">\n");
    svg_curves(f, r, 0, "training loss");
    fprintf(f, "</div><div class=\"chart\">\n");
    svg_curves(f, r, 1, "validation Recall@20");
    fprintf(f, "</div></div>\n");
    html_weights(f, r);
    html_shop(f, r);
    fprintf(f, "<footer>Written by <code>build/demo/report</code> from <code>");
    esc(f, r->out);
    fprintf(f, "/results</code>");
    if (r->run_txt && dm_kv(r->run_txt, "seconds", buf, sizeof buf)) fprintf(f, "; the run took %s s", buf);
    if (r->run_txt && dm_kv(r->run_txt, "threads", buf, sizeof buf)) fprintf(f, " on %s threads", buf);
    fprintf(f, ". Regenerate with <code>make demo</code>.</footer>\n</main>\n</body>\n</html>\n");
    return pr_atomic_commit(&a, err);
}

static int run(int argc, char **argv, pr_error *err) {
    static const char *const known[] = {"out", "html", NULL};
    static const char *const bools[] = {"quiet", NULL};
    int rc = dm_args_check(argc, argv, known, bools, err);
    if (rc) return rc;
    report r = {.out = dm_arg(argc, argv, "out", "demo-out")};
    char html[1200];
    snprintf(html, sizeof html, "%s/report.html", r.out);
    const char *path = dm_arg(argc, argv, "html", html);
    if ((rc = load(&r, err)) == 0) {
        if (!dm_flag(argc, argv, "quiet")) print_text(&r);
        rc = write_html(&r, path, err);
    }
    report_free(&r);
    return rc;
}

int main(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: report [--out DEMO_OUT] [--html PATH] [--quiet]\n"
               "Prints the demo's comparison and story, writes DEMO_OUT/report.html (see demo/report.c).\n");
        return 0;
    }
    pr_error err = {0};
    int rc = run(argc, argv, &err);
    if (rc == 0) return 0;
    fprintf(stderr, "report: %s\n", err.msg[0] ? err.msg : pr_err_name(rc));
    return rc == PR_E_ARG ? 2 : 1;
}
