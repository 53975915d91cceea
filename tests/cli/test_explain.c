/* tests/cli/test_explain.c: explanations through the model file and the
 * binary: part weights (models/partwts.h, the "partw" section, `explain
 * --item`) and the score split by part (models/parts.h, the "parts"
 * section, `recommend --explain`, `explain --user/--history --item`).
 *
 * The library half trains attention fusion on planted data with validation,
 * then trains a second copy for exactly the kept number of epochs without
 * validation: the weights the wrapper recorded for the kept snapshot must be
 * bit-identical to pr_fused_item_weights of that second model (one thread,
 * same seed), and the second model's U must equal the kept snapshot's (the
 * premise). The CLI half fits attention, VBPR, concat and BPR-MF with a
 * mapper through the binary ($POLYREC, default build/polyrec) on the same
 * data written to files and checks what explain and recommend --explain
 * print, text and JSON: every item's parts sum to its printed score, explain
 * prints the same split as recommend, items added by add-item get a split
 * and weights from the tower, a file without the section says the split is
 * unavailable and a malformed one is a clear error. */
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/synth_features.h"
#include "core/log.h"
#include "core/secfile.h"
#include "data/idmap.h"
#include "models/content.h"
#include "models/modelfile.h"
#include "models/partwts.h"
#include "t.h"
#include "train/loop.h"

static char out[1 << 16];
static const char *DIR_ = "build/explain_story";

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
    char cmd[4096], full[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    const char *bin = getenv("POLYREC") ? getenv("POLYREC") : "build/polyrec";
    snprintf(full, sizeof full, "%s %s 2>&1", bin, cmd);
    FILE *p = popen(full, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void data_opts(synth_mm_opts *o) {
    synth_mm_defaults(o);
    o->n_users = 60;
    o->n_items = 40;
    o->n_clusters = 3;
    o->per_user = 8;
    o->dims[0] = 6;
    o->dims[1] = 5;
    o->p_missing = 0.25;
    o->seed = 7;
}

static void config(pr_config *c, int epochs) {
    pr_error err;
    pr_config_defaults(c);
    c->d = 8;
    c->epochs = epochs;
    c->batch = 64;
    c->lr = 0.01f;
    c->threads = 1;
    c->patience = 100;
    pr_config_set(c, "stop_metric", "recall@10", &err);
}

static int train(pr_model *m, const pr_csr *valid, pr_train_result *res) {
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.mask[0] = m->data->train;
    pr_error err;
    int rc = pr_train(m, valid, &o, res, &err);
    if (rc) fprintf(stderr, "  train: %s\n", err.msg);
    return rc;
}

TEST(test_weights_of_the_kept_epoch) {
    synth_mm_opts o;
    data_opts(&o);
    synth_mm s;
    CHECK(synth_mm_make(&o, &s) == 0);
    pr_pool *pool = pr_pool_new(1);
    int level = pr_log_level();
    pr_log_set_level(PR_LOG_QUIET);
    pr_config c;
    config(&c, 25);
    pr_error err;
    pr_model *m = NULL, *m2 = NULL;
    pr_train_result res = {0}, res2 = {0};
    float *wts = NULL, *ref = NULL;
    int32_t ni = s.d->n_items, *all = pr_malloc((size_t)ni, sizeof *all);
    for (int32_t i = 0; i < ni; i++) all[i] = i;
    CHECK_EQ_INT(pr_model_new(pr_model_find("attention"), s.d, s.f, &c, pool, &m, &err), 0);
    CHECK_EQ_INT(pr_partw_model_new(m, &m, &err), 0);
    CHECK(pr_partw_model_is(m));
    CHECK_EQ_INT(train(m, s.d->valid, &res), 0);
    int n_parts = 0;
    char names[PR_MAX_MODALITIES + 1][32];
    CHECK_EQ_INT(pr_partw_model_best(m, &res.best, &wts, &n_parts, names, &err), 0);
    CHECK_EQ_INT(n_parts, 3);
    CHECK_STR(names[0], "id");
    CHECK_STR(names[1], "image");
    CHECK_STR(names[2], "text");
    printf("  kept epoch %d of %d\n", res.best_epoch, res.epochs_run);
    CHECK(res.best_epoch >= 1);
    /* the model as it was at the kept epoch */
    pr_config c2;
    config(&c2, res.best_epoch);
    CHECK_EQ_INT(pr_model_new(pr_model_find("attention"), s.d, s.f, &c2, pool, &m2, &err), 0);
    CHECK_EQ_INT(train(m2, NULL, &res2), 0);
    CHECK(res2.best.U && memcmp(res2.best.U, res.best.U, (size_t)s.d->n_users * res.best.d * sizeof(float)) == 0);
    ref = pr_malloc((size_t)ni * 3, sizeof *ref);
    CHECK_EQ_INT(pr_fused_item_weights(m2, all, ni, ref, &err), 0);
    double maxd = 0, maxsum = 0;
    for (int64_t k = 0; k < (int64_t)ni * 3; k++) maxd = fmax(maxd, fabs(ref[k] - wts[k]));
    for (int32_t i = 0; i < ni; i++) maxsum = fmax(maxsum, fabs(wts[3 * i] + wts[3 * i + 1] + wts[3 * i + 2] - 1.0));
    CHECK(maxd == 0);
    CHECK_NEAR(maxsum, 0, 1e-5);
    /* the test only means something when training went on past the kept epoch */
    CHECK(res.best_epoch < res.epochs_run);
    /* a model without part weights is left alone */
    pr_model *v = NULL, *v2 = NULL;
    CHECK_EQ_INT(pr_model_new(pr_model_find("vbpr"), s.d, s.f, &c, pool, &v, &err), 0);
    CHECK_EQ_INT(pr_partw_model_new(v, &v2, &err), 0);
    CHECK(v2 == v && !pr_partw_model_is(v2));
    CHECK_EQ_INT(pr_partw_model_best(v2, &res.best, &wts, &n_parts, names, &err), PR_E_ARG);
    if (v2) v2->ops->free(v2);
    free(wts);
    free(ref);
    free(all);
    pr_train_result_free(&res);
    pr_train_result_free(&res2);
    if (m) m->ops->free(m);
    if (m2) m2->ops->free(m2);
    pr_pool_free(pool);
    pr_log_set_level(level);
    synth_mm_free(&s);
}

/* ---- through the binary ------------------------------------------------------ */

static int write_story(const synth_mm *s) {
    char path[512];
    mkdir(DIR_, 0755);
    snprintf(path, sizeof path, "%s/inter.csv", DIR_);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "user,item\n");
    const pr_csr *parts[3] = {s->d->train, s->d->valid, s->d->test};
    for (int p = 0; p < 3; p++)
        for (int32_t u = 0; u < s->d->n_users; u++)
            for (int64_t k = parts[p]->indptr[u]; k < parts[p]->indptr[u + 1]; k++)
                fprintf(f, "%s,%s\n", pr_idmap_name(s->d->users, u), pr_idmap_name(s->d->items, parts[p]->indices[k]));
    fclose(f);
    for (int m = 0; m < s->f->n_mod; m++) {
        const pr_modality *md = &s->f->mod[m];
        snprintf(path, sizeof path, "%s/%s.tsv", DIR_, md->name);
        if (!(f = fopen(path, "w"))) return -1;
        for (int32_t i = 0; i < s->d->n_items; i++) {
            if (md->missing && md->missing[i]) continue;
            fprintf(f, "%s\t", pr_idmap_name(s->d->items, i));
            for (int q = 0; q < md->dim; q++) fprintf(f, "%s%.7g", q ? "," : "", md->X[(int64_t)i * md->dim + q]);
            fprintf(f, "\n");
        }
        fclose(f);
    }
    return 0;
}

static double json_num(const char *text, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(text, pat);
    return p ? atof(p + strlen(pat)) : NAN;
}

/* recommend FLAG ID --k K --explain --json on path: every item's parts sum
 * to its score (1e-4 of the sum of |parts|), the split method is `method`,
 * "base" among the parts iff base. Returns how many items were listed. */
static int check_splits(const char *path, const char *flag, const char *id, int k, const char *method, int base) {
    if (run("recommend --model %s %s %s --k %d --explain --json", path, flag, id, k) != 0) {
        fprintf(stderr, "  recommend: %s\n", out);
        return -1;
    }
    char pat[64];
    snprintf(pat, sizeof pat, "\"split\": \"%s\"", method);
    CHECK_CONTAINS(out, pat);
    int good = 0, listed = 0;
    double worst = 0;
    for (const char *p = strstr(out, "{\"item\": \""); p; p = strstr(p + 1, "{\"item\": \"")) {
        const char *q = strstr(p, "\"parts\": {"), *e = q ? strchr(q, '}') : NULL;
        listed++;
        if (!q || !e) continue;
        double score = json_num(p, "score"), sum = 0, tot = 0;
        for (const char *v = strchr(q + 10, ':'); v && v < e; v = strchr(v + 1, ':')) {
            double c = atof(v + 1);
            sum += c;
            tot += fabs(c);
        }
        int has_base = strstr(q, "\"base\": ") && strstr(q, "\"base\": ") < e;
        double err = fabs(sum - score) / (tot + 1e-6);
        worst = fmax(worst, err);
        good += err < 1e-4 && has_base == base;
    }
    printf("  %s %s %s: %d of %d items, parts sum to the score within %.2g\n", path, flag, id, good, listed, worst);
    CHECK_EQ_INT(good, listed);
    return listed;
}

TEST(test_explain_item_cli) {
    synth_mm_opts o;
    data_opts(&o);
    synth_mm s;
    CHECK(synth_mm_make(&o, &s) == 0);
    CHECK_EQ_INT(write_story(&s), 0);
    const char *feats = "--features image=build/explain_story/image.tsv --features text=build/explain_story/text.tsv";
    CHECK_EQ_INT(run("fit --data %s/inter.csv %s --model attention --dim 8 --epochs 15 --lr 0.01 --threads 1 --quiet "
                     "--out %s/att.model", DIR_, feats, DIR_), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/att.model", DIR_);
    pr_recsys r;
    pr_error err;
    pr_part_weights pw = {0};
    CHECK_EQ_INT(pr_recsys_open(&r, path, &err), 0);
    CHECK_EQ_INT(pr_recsys_part_weights(&r, &pw, &err), 0);
    CHECK_EQ_INT(pw.n_items, r.n_items);
    CHECK_EQ_INT(pw.n_parts, 3);
    int32_t it = r.n_items / 2;
    char id[64], user[64];
    snprintf(id, sizeof id, "%s", pr_idmap_name(r.items, it));
    snprintf(user, sizeof user, "%s", pr_idmap_name(r.users, 0));
    const float *w = pw.w + (int64_t)it * 3;
    CHECK_NEAR(w[0] + w[1] + w[2], 1.0, 1e-5);
    float w1 = w[1];
    int top = w[1] > w[0] ? 1 : 0;
    top = w[2] > w[top] ? 2 : top;
    /* JSON: the stored numbers, the dominant part */
    CHECK_EQ_INT(run("explain --model %s --item %s --json", path, id), 0);
    CHECK_NEAR(json_num(out, "id"), w[0], 1e-5);
    CHECK_NEAR(json_num(out, "image"), w[1], 1e-5);
    CHECK_NEAR(json_num(out, "text"), w[2], 1e-5);
    char pat[96];
    snprintf(pat, sizeof pat, "\"dominant\": \"%s\"", pw.names[top]);
    CHECK_CONTAINS(out, pat);
    /* text */
    CHECK_EQ_INT(run("explain --model %s --item %s", path, id), 0);
    CHECK_CONTAINS(out, "part weights  id ");
    snprintf(pat, sizeof pat, "dominant part: %s", pw.names[top]);
    CHECK_CONTAINS(out, pat);
    /* recommend --explain: every listed item carries its stored weights */
    CHECK_EQ_INT(run("recommend --model %s --user %s --k 5 --explain --json", path, user), 0);
    int n_items = 0;
    for (const char *p = strstr(out, "{\"item\": \""); p; p = strstr(p + 1, "{\"item\": \"")) {
        char name[64];
        CHECK(sscanf(p, "{\"item\": \"%63[^\"]\"", name) == 1);
        int32_t j = pr_idmap_get(r.items, name);
        CHECK(j >= 0);
        const char *q = strstr(p, "\"part_weights\": {");
        CHECK(q != NULL);
        if (j < 0 || !q) break;
        CHECK_NEAR(json_num(q, "id"), pw.w[(int64_t)j * 3], 1e-5);
        CHECK_NEAR(json_num(q, "text"), pw.w[(int64_t)j * 3 + 2], 1e-5);
        n_items++;
    }
    CHECK_EQ_INT(n_items, 5);
    CHECK_EQ_INT(run("recommend --model %s --user %s --k 3 --explain", path, user), 0);
    CHECK_CONTAINS(out, "not a split of the score");
    CHECK_CONTAINS(out, "they sum to the score");
    CHECK_CONTAINS(out, "| weights id 0.");
    CHECK_EQ_INT(check_splits(path, "--user", user, 40, "exact", 0), 34); /* 40 less her 6 training items */
    pr_part_weights_free(&pw);
    pr_recsys_close(&r);
    /* explain prints the split recommend prints */
    CHECK_EQ_INT(run("recommend --model %s --user %s --k 1 --explain --json", path, user), 0);
    char best[64], rec_parts[512];
    CHECK(sscanf(strstr(out, "{\"item\": \""), "{\"item\": \"%63[^\"]\"", best) == 1);
    snprintf(rec_parts, sizeof rec_parts, "%.*s", (int)(strchr(strstr(out, "\"parts\": {"), '}') - strstr(out, "\"parts\": {") + 1),
             strstr(out, "\"parts\": {"));
    CHECK_EQ_INT(run("explain --model %s --user %s --item %s --json", path, user, best), 0);
    CHECK_CONTAINS(out, rec_parts);
    CHECK_CONTAINS(out, "\"split\": \"exact\"");
    CHECK_EQ_INT(run("explain --model %s --user %s --item %s", path, user, best), 0);
    CHECK_CONTAINS(out, "score by part (they sum to the score): id ");
    /* an item added after training: its split and weights come from the tower */
    CHECK_EQ_INT(run("add-item --model %s --id new1 --features image=0.5,0.1,0.3,0.5,0.4,0.3 "
                     "--features text=0.1,0.2,0.3,0.4,0.5 --quiet", path), 0);
    CHECK_EQ_INT(run("explain --model %s --item new1 --json", path), 0);
    CHECK_NEAR(json_num(out, "id"), 0, 0);
    CHECK_NEAR(json_num(out, "image") + json_num(out, "text"), 1, 1e-5);
    CHECK_EQ_INT(run("explain --model %s --item %s --json", path, id), 0);
    CHECK_NEAR(json_num(out, "image"), w1, 1e-5); /* the trained items' weights unchanged */
    CHECK_EQ_INT(run("recommend --model %s --user %s --k 41 --explain --json", path, user), 0);
    CHECK_CONTAINS(out, "{\"item\": \"new1\", \"score\": ");
    const char *nw = strstr(out, "\"new1\"");
    CHECK(nw && strstr(nw, "\"parts\": {\"id\": 0, ") == strstr(nw, "\"parts\": "));
    CHECK(nw && strstr(nw, "\"part_weights\": {\"id\": 0, ") == strstr(nw, "\"part_weights\": "));
    CHECK_EQ_INT(check_splits(path, "--user", user, 41, "exact", 0), 35);
    CHECK_EQ_INT(run("explain --model %s --user %s --item new1", path, user), 0);
    CHECK_CONTAINS(out, "score by part (they sum to the score): id +0 (0%)  image ");
    /* a history (folded-in user) splits the same way */
    CHECK_EQ_INT(check_splits(path, "--history", "i1,i2,i3", 20, "exact", 0), 20);
    /* VBPR: an exact split, with biases, and no part weights */
    CHECK_EQ_INT(run("fit --data %s/inter.csv %s --model vbpr --dim 8 --epochs 2 --threads 1 --quiet --out %s/vbpr.model",
                     DIR_, feats, DIR_), 0);
    CHECK_EQ_INT(run("explain --model %s/vbpr.model --item %s", DIR_, id), 0);
    CHECK_CONTAINS(out, "has no part weights");
    CHECK_EQ_INT(run("explain --model %s/vbpr.model --item %s --json", DIR_, id), 0);
    CHECK_CONTAINS(out, "\"weights\": null");
    CHECK_EQ_INT(run("recommend --model %s/vbpr.model --user %s --explain --json", DIR_, user), 0);
    CHECK_CONTAINS(out, "\"part_weights\": null");
    snprintf(path, sizeof path, "%s/vbpr.model", DIR_);
    CHECK_EQ_INT(check_splits(path, "--user", user, 40, "exact", 0), 34); /* 40 less her 6 training items */
    CHECK_EQ_INT(run("explain --model %s/vbpr.model --item no-such-item", DIR_), 1);
    /* concat: the MLP term by Shapley values, MLP(0) as "base" */
    CHECK_EQ_INT(run("fit --data %s/inter.csv %s --model concat --dim 8 --epochs 4 --lr 0.01 --threads 1 --quiet --out %s/concat.model",
                     DIR_, feats, DIR_), 0);
    snprintf(path, sizeof path, "%s/concat.model", DIR_);
    CHECK_EQ_INT(check_splits(path, "--user", user, 40, "shapley", 1), 34);
    CHECK_EQ_INT(run("recommend --model %s --user %s --k 2 --explain", path, user), 0);
    CHECK_CONTAINS(out, "split by Shapley values");
    CHECK_CONTAINS(out, "  base ");
    synth_mm_free(&s);
}

/* Rewrite the model file src as dst with section "parts" dropped (blob
 * NULL: a file from before the split) or replaced by blob (n bytes). */
static int rewrite(const char *src, const char *dst, const void *blob, size_t n) {
    pr_secfile f;
    pr_secwriter w;
    pr_error err;
    int rc = pr_secfile_open(&f, src, &err);
    if (rc) return rc;
    pr_secwriter_init(&w);
    for (uint32_t k = 0; k < f.n && rc == 0; k++) {
        char name[PR_SEC_NAME + 1] = {0};
        memcpy(name, f.table + (size_t)k * (PR_SEC_NAME + 24), PR_SEC_NAME);
        const void *p;
        size_t sz;
        pr_secfile_get(&f, name, &p, &sz);
        if (strcmp(name, "parts")) rc = pr_secwriter_add(&w, name, p, sz, 1);
        else if (blob) rc = pr_secwriter_add(&w, name, blob, n, 1);
    }
    if (rc == 0) rc = pr_secwriter_write(&w, dst, &err);
    pr_secwriter_deinit(&w);
    pr_secfile_close(&f);
    return rc;
}

/* Old files (no section) keep working; a malformed section is a clear error
 * for --explain and nothing else. */
TEST(test_old_and_malformed_files_cli) {
    char src[512], old[512], bad[512], user[] = "u0";
    snprintf(src, sizeof src, "%s/att.model", DIR_);
    snprintf(old, sizeof old, "%s/old.model", DIR_);
    snprintf(bad, sizeof bad, "%s/bad.model", DIR_);
    CHECK_EQ_INT(rewrite(src, old, NULL, 0), 0);
    CHECK_EQ_INT(run("recommend --model %s --user %s --k 3 --explain", old, user), 0);
    CHECK_CONTAINS(out, "split by part unavailable: the model file has no 'parts' section");
    CHECK_CONTAINS(out, "| weights id 0."); /* the weights are still there */
    CHECK_EQ_INT(run("recommend --model %s --user %s --k 3 --explain --json", old, user), 0);
    CHECK_CONTAINS(out, "\"split\": null, \"split_reason\": ");
    CHECK_CONTAINS(out, "\"parts\": null");
    CHECK_EQ_INT(run("explain --model %s --user %s --item i3 --json", old, user), 0);
    CHECK_CONTAINS(out, "\"parts\": null");
    uint32_t blob[8] = {1, 100000, 3, 8, 1, 0, 0, 0}; /* 100000 items in a model of ~40 */
    CHECK_EQ_INT(rewrite(src, bad, blob, sizeof blob), 0);
    CHECK_EQ_INT(run("recommend --model %s --user %s --k 3", bad, user), 0);
    CHECK_EQ_INT(run("recommend --model %s --user %s --k 3 --explain", bad, user), 1);
    CHECK_CONTAINS(out, "section 'parts': 100000 items, the model has");
    CHECK_EQ_INT(run("explain --model %s --user %s --item i3", bad, user), 1);
    CHECK_CONTAINS(out, "section 'parts'");
}

/* BPR-MF with the ridge mapper on a cold split: warm items are wholly ID,
 * cold and added items split over their modalities and the mapper's base. */
TEST(test_bprmf_mapper_cli) {
    char path[512];
    snprintf(path, sizeof path, "%s/bpr.model", DIR_);
    CHECK_EQ_INT(run("fit --data %s/inter.csv --features image=%s/image.tsv --features text=%s/text.tsv "
                     "--split cold-items:0.2 --model bprmf --param mapper=ridge --dim 8 --epochs 10 --lr 0.01 --threads 1 "
                     "--quiet --out %s", DIR_, DIR_, DIR_, path), 0);
    CHECK_EQ_INT(run("add-item --model %s --id new2 --features image=0.5,0.1,0.3,0.5,0.4,0.3 --quiet", path), 0);
    CHECK(check_splits(path, "--user", "u1", 41, "exact", 1) >= 30);
    pr_recsys r;
    pr_error err;
    CHECK_EQ_INT(pr_recsys_open(&r, path, &err), 0);
    uint8_t *warm = pr_calloc((size_t)r.n_items, 1);
    for (int64_t k = 0; k < r.train->nnz; k++) warm[r.train->indices[k]] = 1;
    CHECK_EQ_INT(run("recommend --model %s --user u1 --k 41 --explain --json", path), 0);
    int n_warm = 0, n_cold = 0, warm_total = 0, cold_total = 0;
    for (const char *p = strstr(out, "{\"item\": \""); p; p = strstr(p + 1, "{\"item\": \"")) {
        char name[64];
        if (sscanf(p, "{\"item\": \"%63[^\"]\"", name) != 1) break;
        int32_t j = pr_idmap_get(r.items, name);
        const char *q = strstr(p, "\"parts\": {");
        if (j < 0 || !q) continue;
        warm_total += warm[j];
        cold_total += !warm[j];
        double id = json_num(q, "id"), other = fabs(json_num(q, "image")) + fabs(json_num(q, "text")) + fabs(json_num(q, "base"));
        if (warm[j]) n_warm += other == 0 && fabs(id - json_num(p, "score")) <= 1e-5 * (fabs(id) + 1e-6);
        else n_cold += id == 0 && other > 0;
    }
    printf("  bprmf + mapper: %d of %d warm items wholly ID, %d of %d cold or added items wholly content\n", n_warm,
           warm_total, n_cold, cold_total);
    CHECK_EQ_INT(n_warm, warm_total);
    CHECK_EQ_INT(n_cold, cold_total);
    CHECK(warm_total >= 20);
    CHECK(n_cold >= 5);
    free(warm);
    pr_recsys_close(&r);
}

/* Items without training interactions are placed by the kept epoch's tower:
 * their stored weights are that tower's weights() of their content (ID 0). */
TEST(test_cold_items_weights_from_the_tower) {
    synth_mm_opts o;
    data_opts(&o);
    synth_mm s;
    CHECK(synth_mm_make(&o, &s) == 0);
    CHECK_EQ_INT(write_story(&s), 0);
    CHECK_EQ_INT(run("fit --data %s/inter.csv --features image=%s/image.tsv --features text=%s/text.tsv "
                     "--split cold-items:0.2 --model attention --dim 8 --epochs 15 --lr 0.01 --threads 1 --quiet "
                     "--out %s/cold.model", DIR_, DIR_, DIR_, DIR_), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/cold.model", DIR_);
    pr_recsys r;
    pr_error err;
    pr_part_weights pw = {0};
    CHECK_EQ_INT(pr_recsys_open(&r, path, &err), 0);
    CHECK_EQ_INT(pr_recsys_part_weights(&r, &pw, &err), 0);
    CHECK(r.tower != NULL && r.tower->ops->weights != NULL);
    uint8_t *warm = pr_calloc((size_t)r.n_items, 1);
    for (int64_t k = 0; k < r.train->nnz; k++) warm[r.train->indices[k]] = 1;
    int n_cold = 0, n_warm_id = 0, n_warm = 0;
    double maxd = 0;
    for (int32_t i = 0; i < r.n_items && r.tower; i++) {
        const float *w = pw.w + (int64_t)i * 3;
        if (warm[i]) {
            n_warm++;
            n_warm_id += w[0] > 0;
            continue;
        }
        int32_t j = pr_idmap_get(s.d->items, pr_idmap_name(r.items, i)); /* the synthetic item */
        CHECK(j >= 0);
        if (j < 0) continue;
        const float *x[2];
        for (int m = 0; m < 2; m++) {
            const pr_modality *md = &s.f->mod[m];
            x[m] = md->missing[j] ? NULL : md->X + (int64_t)j * md->dim;
        }
        float ref[3];
        CHECK_EQ_INT(r.tower->ops->weights(r.tower, x, ref, &err), 0);
        for (int q = 0; q < 3; q++) maxd = fmax(maxd, fabs(ref[q] - w[q]));
        CHECK(w[0] == 0);
        n_cold++;
    }
    printf("  %d cold items, %d of %d warm items with an ID part\n", n_cold, n_warm_id, n_warm);
    CHECK(n_cold >= 4);
    CHECK_EQ_INT(n_warm_id, n_warm);
    CHECK_NEAR(maxd, 0, 1e-6);
    /* their split, too, is the kept tower's: no ID part, and it sums to the score */
    CHECK(check_splits(path, "--user", "u0", 40, "exact", 0) >= 25);
    int cold_listed = 0, cold_no_id = 0;
    for (const char *p = strstr(out, "{\"item\": \""); p; p = strstr(p + 1, "{\"item\": \"")) {
        char name[64];
        if (sscanf(p, "{\"item\": \"%63[^\"]\"", name) != 1) break;
        int32_t j = pr_idmap_get(r.items, name);
        if (j < 0 || warm[j]) continue;
        cold_listed++;
        cold_no_id += json_num(strstr(p, "\"parts\": {"), "id") == 0;
    }
    CHECK(cold_listed >= 4);
    CHECK_EQ_INT(cold_no_id, cold_listed);
    free(warm);
    pr_part_weights_free(&pw);
    pr_recsys_close(&r);
    synth_mm_free(&s);
}

int main(void) {
    RUN(test_weights_of_the_kept_epoch);
    RUN(test_explain_item_cli);
    RUN(test_cold_items_weights_from_the_tower);
    RUN(test_old_and_malformed_files_cli);
    RUN(test_bprmf_mapper_cli);
    return t_done();
}
