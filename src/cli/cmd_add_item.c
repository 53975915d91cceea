/* cli/cmd_add_item.c: `polyrec add-item` — put a new item into a trained
 * model from its content alone, without retraining.
 *
 * The raw content (image file, text, audio file, or given vectors) is encoded
 * with the encoders and preprocessing stored in the model file (pipeline
 * section), the item tower (the model's own, or the content mapper fitted by
 * fit) turns the vectors into a row of V and a bias, and the item is appended
 * to the model file atomically (models/modelfile.h), with its split by part
 * and its part weights where the file keeps them for the trained items (the
 * tower's parts() and weights(), models/parts.h), so explanations cover it.
 * From then on recommend and similar rank it like any other item. --items adds every row of an
 * ITEMS file in one write (all or nothing). Bad content (a corrupt image, an
 * empty text, a vector of the wrong length or with NaN) is an error naming
 * the item and the modality, and the model file is left unchanged. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/log.h"
#include "features/items.h"
#include "models/modelfile.h"
#include "models/parts.h"

static const pr_flag flags[] = {
    {"model", "MODEL", "model file written by fit (it is updated in place, atomically)", 0},
    {"id", "ID", "id of the new item", 0},
    {"image", "PATH", "the item's image (JPEG, PNG, WebP)", 0},
    {"text", "TEXT", "the item's text (title, description, ...)", 0},
    {"audio", "PATH", "the item's audio file", 0},
    {"features", "MOD=v1,v2,...", "raw vector of a modality the model was given as vectors", 1},
    {"items", "ITEMS", "add every row of an ITEMS file (columns item, image, text, audio) in one write", 0},
    {"json", NULL, "print JSON", 0},
    {"quiet", NULL, "no progress output", 0},
    {NULL, NULL, NULL, 0},
};

/* Per-item scratch: the preprocessed vector of every modality. */
typedef struct {
    float *buf;                       /* owned */
    float *x[PR_MAX_MODALITIES];      /* views into buf */
    uint8_t present[PR_MAX_MODALITIES];
    float *raw[PR_MAX_MODALITIES];    /* parsed --features values, owned */
} item_vecs;

static void vecs_free(item_vecs *v) {
    free(v->buf);
    for (int m = 0; m < PR_MAX_MODALITIES; m++) free(v->raw[m]);
    memset(v, 0, sizeof *v);
}

static int vecs_init(item_vecs *v, const pr_pipeline *p, pr_error *err) {
    memset(v, 0, sizeof *v);
    int64_t tot = 0;
    for (int m = 0; m < p->n_mod; m++) tot += p->mod[m].dim;
    if (!(v->buf = pr_malloc((size_t)tot + 1, sizeof *v->buf))) return pr_err(err, PR_E_NOMEM, "add-item");
    tot = 0;
    for (int m = 0; m < p->n_mod; m++) {
        v->x[m] = v->buf + tot;
        tot += p->mod[m].dim;
    }
    return 0;
}

static int find_mod(const pr_pipeline *p, const char *name, size_t len) {
    for (int m = 0; m < p->n_mod; m++)
        if (strlen(p->mod[m].name) == len && !strncmp(p->mod[m].name, name, len)) return m;
    return -1;
}

static void mod_list(const pr_pipeline *p, char *buf, size_t n) {
    buf[0] = '\0';
    for (int m = 0; m < p->n_mod; m++) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s", m ? ", " : "", p->mod[m].name);
    }
}

/* "MOD=v1,v2,..." -> v->raw[m] (d_raw values exactly). */
static int parse_features(const pr_pipeline *p, const char *spec, item_vecs *v, pr_error *err) {
    const char *eq = strchr(spec, '=');
    char mods[512];
    if (!eq || eq == spec) return pr_err(err, PR_E_ARG, "--features '%.40s': expected MOD=v1,v2,...", spec);
    int m = find_mod(p, spec, (size_t)(eq - spec));
    mod_list(p, mods, sizeof mods);
    if (m < 0) return pr_err(err, PR_E_ARG, "--features: the model has no modality '%.*s' (it has: %s)", (int)(eq - spec), spec, mods);
    const pr_pipeline_mod *pm = &p->mod[m];
    if (pm->enc) return pr_err(err, PR_E_ARG, "--features %s: this modality is encoded from raw content; give --image, --text or --audio", pm->name);
    if (v->raw[m]) return pr_err(err, PR_E_ARG, "--features %s given twice", pm->name);
    if (!(v->raw[m] = pr_malloc((size_t)pm->d_raw, sizeof(float)))) return pr_err(err, PR_E_NOMEM, "add-item");
    const char *s = eq + 1;
    int n = 0;
    while (*s) {
        char *end;
        errno = 0;
        float x = strtof(s, &end);
        if (end == s) return pr_err(err, PR_E_ARG, "--features %s: value %d is not a number ('%.20s')", pm->name, n + 1, s);
        if (n >= pm->d_raw) return pr_err(err, PR_E_ARG, "--features %s: more than the %d values the model expects", pm->name, pm->d_raw);
        v->raw[m][n++] = x;
        s = end;
        while (isspace((unsigned char)*s)) s++;
        if (*s == ',') s++;
        else if (*s) return pr_err(err, PR_E_ARG, "--features %s: unexpected '%c' after value %d", pm->name, *s, n);
    }
    if (n != pm->d_raw) return pr_err(err, PR_E_ARG, "--features %s: %d values, the model expects %d", pm->name, n, pm->d_raw);
    return 0;
}

static int blank(const char *s) {
    for (; *s; s++)
        if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

/* What the file keeps of each item for explanations, filled by place_item:
 * its split by part and its part weights (models/parts.h, modelfile.h). */
typedef struct {
    int n_parts, n_w;  /* 0: the file has no such section, or the tower cannot give it */
    float *P, *pb, *w; /* (n, n_parts, d), (n, n_parts), (n, n_w) owned */
} item_extra;

/* Content -> tower input -> (v, bias), and row q of ex. id names the item in errors. */
static int place_item(const pr_recsys *r, const char *id, const pr_item_content *c, item_vecs *iv, float *v,
                      float *bias, item_extra *ex, int q, pr_error *err) {
    const pr_pipeline *p = &r->pipe;
    static const char *kinds[3] = {"image", "text", "audio"};
    const char *given[3] = {c->image, c->text, c->audio};
    int rc;
    for (int k = 0; k < 3; k++) {
        if (!given[k]) continue;
        int has = 0, as_vec = 0;
        for (int m = 0; m < p->n_mod; m++) {
            has |= p->mod[m].enc && p->mod[m].kind == k;
            as_vec |= !p->mod[m].enc && !strcmp(p->mod[m].name, kinds[k]);
        }
        if (!has && as_vec)
            return pr_err(err, PR_E_ARG, "item '%s': the model was trained on given %s vectors, not raw %s; use --features %s=v1,v2,...",
                          id, kinds[k], kinds[k], kinds[k]);
        if (!has) return pr_err(err, PR_E_ARG, "item '%s': the model has no %s modality", id, kinds[k]);
    }
    if (c->text && blank(c->text)) return pr_err(err, PR_E_ARG, "item '%s': text is empty", id);
    if ((rc = pr_pipeline_encode_item(p, c, iv->x, iv->present, err))) return pr_err_wrap(err, "item '%s': ", id);
    const float *x[PR_MAX_MODALITIES];
    int n_present = 0;
    for (int m = 0; m < p->n_mod; m++) {
        x[m] = iv->present[m] ? iv->x[m] : NULL;
        n_present += iv->present[m];
    }
    if (n_present == 0) return pr_err(err, PR_E_ARG, "item '%s': no content given (the model reads %d modalities)", id, p->n_mod);
    if ((rc = r->tower->ops->encode(r->tower, x, v, bias, err))) return pr_err_wrap(err, "item '%s': ", id);
    if (ex->n_parts && (rc = r->tower->ops->parts(r->tower, x, ex->P + (int64_t)q * ex->n_parts * r->d,
                                                  ex->pb + (int64_t)q * ex->n_parts, err)))
        return pr_err_wrap(err, "item '%s': splitting by part: ", id);
    if (ex->n_w && (rc = r->tower->ops->weights(r->tower, x, ex->w + (int64_t)q * ex->n_w, err)))
        return pr_err_wrap(err, "item '%s': part weights: ", id);
    return 0;
}

/* Which of the split and the part weights the file keeps and the tower gives. */
static int extra_init(const pr_recsys *r, int n, item_extra *ex, pr_error *err) {
    const void *p;
    size_t sz;
    memset(ex, 0, sizeof *ex);
    if (r->tower->ops->parts && pr_secfile_get(&r->file, "parts", &p, &sz) == 0) ex->n_parts = pr_tower_n_parts(r->tower);
    if (r->tower->ops->weights && pr_secfile_get(&r->file, "partw", &p, &sz) == 0) ex->n_w = 1 + r->tower->n_mod;
    ex->P = pr_malloc((size_t)n * ex->n_parts * r->d + 1, sizeof *ex->P);
    ex->pb = pr_malloc((size_t)n * ex->n_parts + 1, sizeof *ex->pb);
    ex->w = pr_malloc((size_t)n * ex->n_w + 1, sizeof *ex->w);
    return ex->P && ex->pb && ex->w ? 0 : pr_err(err, PR_E_NOMEM, "add-item");
}

static void extra_free(item_extra *ex) {
    free(ex->P);
    free(ex->pb);
    free(ex->w);
}

/* The tower must read exactly the pipeline's vectors. */
static int check_model(const pr_recsys *r, const char *path, pr_error *err) {
    if (!r->V) return pr_err(err, PR_E_STATE, "%s: model '%s' has no item vectors; items cannot be added", path, r->model);
    if (!r->tower || r->pipe.n_mod == 0)
        return pr_err(err, PR_E_STATE, "%s: the model has no item tower; train it with content (--features or --items) "
                                       "so that fit saves one (a content model, or the mapper of --param mapper=ridge)", path);
    if (r->tower->n_mod != r->pipe.n_mod || r->tower->d != r->d)
        return pr_err(err, PR_E_FORMAT, "%s: item tower and content pipeline disagree", path);
    for (int m = 0; m < r->pipe.n_mod; m++)
        if (r->tower->dims[m] != r->pipe.mod[m].dim)
            return pr_err(err, PR_E_FORMAT, "%s: item tower expects %d dims for '%s', pipeline gives %d", path,
                          r->tower->dims[m], r->pipe.mod[m].name, r->pipe.mod[m].dim);
    return 0;
}

int cmd_add_item(int argc, char **argv, pr_error *err) {
    pr_args a;
    int rc = pr_args_parse(&a, flags, argc, argv, err);
    if (rc) return rc;
    if (a.help) {
        pr_args_usage("add-item", "--model MODEL --id ID [--image PATH] [--text TEXT] [--audio PATH] [--features MOD=v,...] | --items ITEMS", flags);
        return 0;
    }
    if (pr_args_has(&a, "quiet")) pr_log_set_level(PR_LOG_QUIET);
    const char *path = pr_args_get(&a, "model", NULL), *id = pr_args_get(&a, "id", NULL);
    const char *items_path = pr_args_get(&a, "items", NULL);
    if (!path) return pr_err(err, PR_E_ARG, "--model MODEL is required");
    if (!id == !items_path) return pr_err(err, PR_E_ARG, "give either --id ID (with its content) or --items ITEMS");
    if (items_path && (pr_args_has(&a, "image") || pr_args_has(&a, "text") || pr_args_has(&a, "audio") || pr_args_has(&a, "features")))
        return pr_err(err, PR_E_ARG, "--items takes the content from the file; --image/--text/--audio/--features go with --id");
    double t0 = pr_now();
    pr_recsys r;
    if ((rc = pr_recsys_open(&r, path, err))) return rc;
    item_vecs iv = {0};
    item_extra ex = {0};
    pr_items *it = NULL;
    float *V = NULL, *b = NULL;
    const char **ids = NULL;
    int n = 1;
    if ((rc = check_model(&r, path, err)) || (rc = vecs_init(&iv, &r.pipe, err))) goto done;
    if (items_path) {
        if ((rc = pr_items_read(items_path, NULL, &it, err))) goto done;
        if (it->n < 1 || it->n > (1 << 24)) { rc = pr_err(err, PR_E_ARG, "%s: no items", items_path); goto done; }
        n = (int)it->n;
    }
    V = pr_malloc((size_t)n * r.d, sizeof *V);
    b = pr_malloc((size_t)n, sizeof *b);
    ids = pr_malloc((size_t)n, sizeof *ids);
    if (!V || !b || !ids) { rc = pr_err(err, PR_E_NOMEM, "add-item"); goto done; }
    if ((rc = extra_init(&r, n, &ex, err))) goto done;
    if (!items_path) {
        pr_item_content c = {pr_args_get(&a, "image", NULL), pr_args_get(&a, "text", NULL), pr_args_get(&a, "audio", NULL), {0}};
        const char *f;
        for (int q = 0; (f = pr_args_nth(&a, "features", q)); q++)
            if ((rc = parse_features(&r.pipe, f, &iv, err))) goto done;
        for (int m = 0; m < r.pipe.n_mod; m++) c.vec[m] = iv.raw[m];
        ids[0] = id;
        if ((rc = place_item(&r, id, &c, &iv, V, b, &ex, 0, err))) goto done;
    } else {
        for (int q = 0; q < n; q++) {
            pr_item_content c = {it->image[q], it->text[q], it->audio[q], {0}};
            ids[q] = it->id[q];
            if ((rc = place_item(&r, it->id[q], &c, &iv, V + (int64_t)q * r.d, b + q, &ex, q, err))) {
                pr_err_wrap(err, "%s: ", items_path);
                goto done;
            }
        }
    }
    int has_bias = r.b != NULL;
    int32_t n_before = r.n_items;
    pr_added_parts x = {ex.n_parts, r.tower->part_flags, ex.n_parts ? ex.P : NULL, ex.n_parts && has_bias ? ex.pb : NULL,
                        ex.n_w, ex.n_w ? ex.w : NULL};
    pr_recsys_close(&r); /* the writer reopens the file under its lock */
    double t1 = pr_now();
    if ((rc = pr_modelfile_add_items_ex(path, n, ids, V, has_bias ? b : NULL, &x, err))) goto done;
    double t2 = pr_now();
    if (pr_args_has(&a, "json")) {
        printf("{\"model\": ");
        cli_json_str(stdout, path);
        printf(", \"added\": %d, \"n_items\": %d, \"encode_ms\": %.3f, \"write_ms\": %.3f, \"items\": [", n, n_before + n,
               (t1 - t0) * 1e3, (t2 - t1) * 1e3);
        for (int q = 0; q < n && q < 1000; q++) {
            printf("%s", q ? ", " : "");
            cli_json_str(stdout, ids[q]);
        }
        printf("]}\n");
    } else {
        if (n == 1) printf("added '%s' to %s: item %d of %d", ids[0], path, n_before + 1, n_before + 1);
        else printf("added %d items to %s: now %d items", n, path, n_before + n);
        printf(" (%.1f ms encoding, %.1f ms writing)\n", (t1 - t0) * 1e3, (t2 - t1) * 1e3);
    }
done:
    pr_recsys_close(&r);
    vecs_free(&iv);
    extra_free(&ex);
    pr_items_free(it);
    free(V);
    free(b);
    free(ids);
    return rc;
}
