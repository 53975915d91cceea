/* tests/models/test_parts.c: item vectors split by part (models/parts.h).
 *
 * Shapley values on hand-computed games (efficiency, additive games, null
 * players); for every model that splits (VBPR concat and separate, concat
 * fusion with and without the residual, attention, content-kNN, BPR-MF with
 * a ridge or MLP mapper) a model trained on planted data whose kept snapshot's
 * parts sum to every V row and bias and split every user's score to 1e-4;
 * towers whose parts sum to what encode gives (ID part zero, a missing
 * modality exactly zero) and, where the function is affine (a linear
 * concat fusion, the ridge mapper), equal part m = f(m alone) - f(none); the
 * model file's "parts" section read back, add-items appending split rows,
 * an old file without the section, and malformed sections. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "common/synth_features.h"
#include "core/log.h"
#include "core/secfile.h"
#include "models/content.h"
#include "models/mapper.h"
#include "models/modelfile.h"
#include "models/parts.h"
#include "t.h"
#include "train/loop.h"

static const char *PATH = "build/test_parts.model";

/* ---- Shapley values --------------------------------------------------------- */

TEST(test_shapley_hand_cases) {
    /* two players: v(0) = 0, v(a) = 1, v(b) = 2, v(ab) = 5:
     * phi_a = (1 - 0)/2 + (5 - 2)/2 = 2, phi_b = (2 - 0)/2 + (5 - 1)/2 = 3 */
    float F2[4] = {0, 1, 2, 5}, phi[16];
    CHECK_EQ_INT(pr_shapley(2, F2, 1, phi), 0);
    CHECK_NEAR(phi[0], 2.0, 1e-6);
    CHECK_NEAR(phi[1], 3.0, 1e-6);
    /* an additive game c + sum_{q in S} a_q: phi_q = a_q exactly, per coordinate */
    float a[3][2] = {{1.5f, -2}, {0.25f, 3}, {-4, 0.5f}}, c[2] = {7, -1}, F3[8 * 2];
    for (int s = 0; s < 8; s++)
        for (int j = 0; j < 2; j++) {
            F3[s * 2 + j] = c[j];
            for (int q = 0; q < 3; q++)
                if (s >> q & 1) F3[s * 2 + j] += a[q][j];
        }
    CHECK_EQ_INT(pr_shapley(3, F3, 2, phi), 0);
    for (int q = 0; q < 3; q++)
        for (int j = 0; j < 2; j++) CHECK_NEAR(phi[q * 2 + j], a[q][j], 1e-6);
    /* v(S) = |S|^2 over 3 symmetric players: each gets 9/3 = 3 */
    float F9[8];
    for (int s = 0; s < 8; s++) F9[s] = (float)(__builtin_popcount((unsigned)s) * __builtin_popcount((unsigned)s));
    CHECK_EQ_INT(pr_shapley(3, F9, 1, phi), 0);
    for (int q = 0; q < 3; q++) CHECK_NEAR(phi[q], 3.0, 1e-6);
    /* efficiency on a random game of 4 players, and a null player (q = 2) gets exactly 0 */
    pr_rng r;
    pr_rng_init(&r, 3, 1);
    float F4[16 * 3];
    for (int s = 0; s < 16; s++)
        for (int j = 0; j < 3; j++) F4[s * 3 + j] = (s & 4) ? F4[(s & ~4) * 3 + j] : pr_rng_normal(&r);
    CHECK_EQ_INT(pr_shapley(4, F4, 3, phi), 0);
    for (int j = 0; j < 3; j++) {
        double sum = 0;
        for (int q = 0; q < 4; q++) sum += phi[q * 3 + j];
        CHECK_NEAR(sum, F4[15 * 3 + j] - F4[j], 1e-5);
        CHECK(phi[2 * 3 + j] == 0.0f);
    }
    CHECK_EQ_INT(pr_shapley(0, F2, 1, phi), PR_E_RANGE);
    CHECK_EQ_INT(pr_shapley(PR_SHAPLEY_MAX + 1, F2, 1, phi), PR_E_RANGE);
}

/* ---- trained models ----------------------------------------------------------- */

static void data_opts(synth_mm_opts *o) {
    synth_mm_defaults(o);
    o->n_users = 40;
    o->n_items = 36;
    o->n_clusters = 3;
    o->per_user = 7;
    o->dims[0] = 6;
    o->dims[1] = 5;
    o->p_missing = 0.25;
    o->seed = 11;
}

static void config(pr_config *c, int epochs, const char *const *kv) {
    pr_error err;
    pr_config_defaults(c);
    c->d = 6;
    c->epochs = epochs;
    c->batch = 32;
    c->lr = 0.02f;
    c->threads = 1;
    c->patience = 100;
    pr_config_set(c, "stop_metric", "recall@10", &err);
    for (int k = 0; kv && kv[k]; k += 2)
        if (pr_config_set(c, kv[k], kv[k + 1], &err)) fprintf(stderr, "  config %s: %s\n", kv[k], err.msg);
}

static int train(pr_model *m, const pr_csr *valid, pr_train_result *res) {
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.ks[0] = 10;
    o.n_k = 1;
    o.mask[0] = m->data->train;
    pr_error err;
    int rc = pr_train(m, valid, &o, res, &err);
    if (rc) fprintf(stderr, "  train: %s\n", err.msg);
    return rc;
}

/* Every score of s splits by part: max over users and items of
 * |sum_q c_q - (U.V + b)| / (sum_q |c_q| + 1e-6). */
static double split_error(const pr_snapshot *s) {
    const pr_parts *p = s->parts;
    double worst = 0, c[PR_MAX_PARTS];
    for (int32_t u = 0; u < s->n_users; u++)
        for (int32_t i = 0; i < s->n_items; i++) {
            const float *pu = s->U + (int64_t)u * s->d, *v = s->V + (int64_t)i * s->d;
            double score = s->b ? s->b[i] : 0, tot = 0, sum = 0;
            for (int k = 0; k < s->d; k++) score += (double)pu[k] * v[k];
            pr_parts_split(p->n_parts, p->d, pr_parts_row(p, i), p->pb ? p->pb + (int64_t)i * p->n_parts : NULL, pu, c);
            for (int q = 0; q < p->n_parts; q++) sum += c[q], tot += fabs(c[q]);
            worst = fmax(worst, fabs(sum - score) / (tot + 1e-6));
        }
    return worst;
}

/* Largest |value| of part q over the items lacking modality m (text). */
static double missing_part(const pr_parts *p, const pr_features *f, int m, int *n_missing) {
    double worst = 0;
    *n_missing = 0;
    for (int32_t i = 0; i < p->n_items; i++) {
        if (!f->mod[m].missing[i]) continue;
        (*n_missing)++;
        const float *h = pr_parts_row(p, i) + (int64_t)(1 + m) * p->d;
        for (int k = 0; k < p->d; k++) worst = fmax(worst, fabs(h[k]));
        if (p->pb) worst = fmax(worst, fabs(p->pb[(int64_t)i * p->n_parts + 1 + m]));
    }
    return worst;
}

/* Train name with kv; the kept snapshot has parts summing to it. */
static void check_model(const char *name, const char *const *kv, int n_parts, const char *last) {
    synth_mm_opts o;
    data_opts(&o);
    synth_mm s;
    CHECK(synth_mm_make(&o, &s) == 0);
    pr_pool *pool = pr_pool_new(1);
    pr_config c;
    config(&c, 12, kv);
    pr_error err;
    pr_model *m = NULL;
    pr_train_result res = {0};
    CHECK_EQ_INT(pr_model_new(pr_model_find(name), s.d, s.f, &c, pool, &m, &err), 0);
    CHECK_EQ_INT(train(m, s.d->valid, &res), 0);
    const pr_parts *p = res.best.parts;
    CHECK(p != NULL);
    if (p) {
        double e = pr_parts_error(p, res.best.V, res.best.b), se = split_error(&res.best);
        int n_missing;
        double miss = missing_part(p, s.f, 1, &n_missing);
        printf("  %-10s kept epoch %2d of %2d: parts %d, error %.2g, split error %.2g, text part of %d items lacking it %.2g\n",
               name, res.best_epoch, res.epochs_run, p->n_parts, e, se, n_missing, miss);
        CHECK_EQ_INT(p->n_parts, n_parts);
        CHECK_STR(p->names[1], "image");
        CHECK_STR(p->names[2], "text");
        CHECK_STR(p->names[n_parts - 1], last);
        CHECK(e < 1e-5);
        CHECK(se < 1e-4);
        CHECK(n_missing > 0);
        CHECK(miss == 0); /* a missing modality is no part of the score */
        CHECK((p->pb != NULL) == (res.best.b != NULL));
        /* the parts are not degenerate: content and ID both carry something */
        double nid = 0, nimg = 0;
        for (int32_t i = 0; i < p->n_items; i++)
            for (int k = 0; k < p->d; k++) {
                nid += fabs(pr_parts_row(p, i)[k]);
                nimg += fabs(pr_parts_row(p, i)[p->d + k]);
            }
        CHECK((nid > 0) == ((p->flags & PR_PARTS_ID) != 0));
        CHECK(nimg > 0);
        /* a copied snapshot carries its own copy */
        pr_snapshot cp;
        CHECK_EQ_INT(pr_snapshot_copy(&cp, &res.best), 0);
        CHECK(cp.parts && cp.parts != p && memcmp(cp.parts->P, p->P, (size_t)p->n_items * p->n_parts * p->d * 4) == 0);
        pr_snapshot_free(&cp);
    }
    pr_train_result_free(&res);
    if (m) m->ops->free(m);
    pr_pool_free(pool);
    synth_mm_free(&s);
}

TEST(test_trained_models_split_exactly) {
    int level = pr_log_level();
    pr_log_set_level(PR_LOG_QUIET);
    check_model("vbpr", NULL, 3, "text");
    const char *sep[] = {"fuse", "separate", "bias", "1", NULL};
    check_model("vbpr", sep, 3, "text");
    check_model("attention", NULL, 3, "text");
    const char *res1[] = {"residual", "1", NULL};
    check_model("concat", res1, 4, "base");
    const char *res0[] = {"residual", "0", "layers", "2", "act", "tanh", NULL};
    check_model("concat", res0, 4, "base");
    const char *drop[] = {"residual", "1", "drop_id", "0.3", "drop_mod", "0.3", NULL};
    check_model("concat", drop, 4, "base");
    check_model("contentknn", NULL, 3, "text");
    pr_log_set_level(level);
}

/* ---- towers --------------------------------------------------------------------- */

/* encode == sum of parts for every item's content (ID part 0, a missing
 * modality 0); with affine = 1 also part m == f({m}) - f({}) and base == f({}). */
static void check_tower(const pr_tower *t, const pr_features *f, int affine, const char *what) {
    int np = pr_tower_n_parts(t), d = t->d, n_items = f->mod[0].n_items, n_cmp = 0;
    float *P = malloc((size_t)np * d * sizeof *P), *v = malloc((size_t)d * sizeof *v), *v0 = malloc((size_t)d * sizeof *v0);
    float pb[PR_MAX_PARTS], b, b0;
    double worst = 0, worst_aff = 0, zero = 0;
    pr_error err;
    const float *none[PR_MAX_MODALITIES] = {0};
    CHECK(t->ops->parts != NULL);
    if (affine) CHECK_EQ_INT(t->ops->encode(t, none, v0, &b0, &err), 0);
    for (int32_t i = 0; i < n_items && t->ops->parts; i++) {
        const float *x[PR_MAX_MODALITIES];
        pr_features_row(f, i, x);
        CHECK_EQ_INT(t->ops->encode(t, x, v, &b, &err), 0);
        CHECK_EQ_INT(t->ops->parts(t, x, P, pb, &err), 0);
        double sb = 0;
        for (int q = 0; q < np; q++) sb += pb[q];
        worst = fmax(worst, fabs(sb - b) / (fabs(b) + 1e-3));
        for (int k = 0; k < d; k++) {
            double s = 0, a = fabs(v[k]) + 1e-3;
            for (int q = 0; q < np; q++) s += P[q * d + k], a += fabs(P[q * d + k]);
            worst = fmax(worst, fabs(s - v[k]) / a);
            zero = fmax(zero, fabs(P[k]));
            for (int m = 0; m < t->n_mod; m++)
                if (!x[m]) zero = fmax(zero, fabs(P[(1 + m) * d + k]));
        }
        if (!affine) continue;
        for (int m = 0; m < t->n_mod; m++) { /* part m == f(m alone) - f(none) */
            if (!x[m]) continue;
            const float *only[PR_MAX_MODALITIES] = {0};
            only[m] = x[m];
            float vm[64], bm;
            CHECK_EQ_INT(t->ops->encode(t, only, vm, &bm, &err), 0);
            for (int k = 0; k < d; k++)
                worst_aff = fmax(worst_aff, fabs(P[(1 + m) * d + k] - (vm[k] - v0[k])) / (fabs(vm[k]) + fabs(v0[k]) + 1e-3));
            worst_aff = fmax(worst_aff, fabs(pb[1 + m] - (bm - b0)) / (fabs(bm) + fabs(b0) + 1e-3));
            n_cmp++;
        }
        if (t->part_flags & PR_PARTS_BASE)
            for (int k = 0; k < d; k++) worst_aff = fmax(worst_aff, fabs(P[(np - 1) * d + k] - v0[k]) / (fabs(v0[k]) + 1e-3));
    }
    printf("  %-22s parts %d: sum error %.2g, ID/missing parts %.2g, affine check %.2g over %d parts\n", what, np, worst,
           zero, worst_aff, n_cmp);
    CHECK(worst < 1e-4);
    CHECK(zero == 0);
    CHECK(worst_aff < 1e-4);
    CHECK(!affine || n_cmp > 0);
    free(P);
    free(v);
    free(v0);
}

static void tower_of(const char *name, const char *label, const char *const *kv, int affine) {
    synth_mm_opts o;
    data_opts(&o);
    synth_mm s;
    CHECK(synth_mm_make(&o, &s) == 0);
    pr_config c;
    config(&c, 3, kv);
    pr_error err;
    pr_model *m = NULL;
    pr_train_result res = {0};
    pr_tower *t = NULL;
    CHECK_EQ_INT(pr_model_new(pr_model_find(name), s.d, s.f, &c, NULL, &m, &err), 0);
    CHECK_EQ_INT(train(m, NULL, &res), 0);
    CHECK_EQ_INT(pr_tower_from_model(m, &t, &err), 0);
    if (t) check_tower(t, s.f, affine, label);
    if (t) t->ops->free(t);
    pr_train_result_free(&res);
    if (m) m->ops->free(m);
    synth_mm_free(&s);
}

TEST(test_towers_split_what_they_encode) {
    int level = pr_log_level();
    pr_log_set_level(PR_LOG_QUIET);
    tower_of("vbpr", "vbpr", NULL, 1);
    const char *sep[] = {"fuse", "separate", NULL};
    tower_of("vbpr", "vbpr separate", sep, 1);
    tower_of("attention", "attention", NULL, 0);
    const char *res1[] = {"residual", "1", NULL};
    tower_of("concat", "concat residual", res1, 0);
    /* a linear fusion (one layer, no residual) is affine: Shapley gives its exact terms */
    const char *lin[] = {"layers", "1", "residual", "0", NULL};
    tower_of("concat", "concat linear", lin, 1);
    tower_of("contentknn", "contentknn", NULL, 0);
    pr_log_set_level(level);
}

/* BPR-MF: its items are wholly ID; a mapper places some items and splits them. */
static void check_mapper(int kind) {
    synth_mm_opts o;
    data_opts(&o);
    synth_mm s;
    CHECK(synth_mm_make(&o, &s) == 0);
    pr_config c;
    const char *kv[] = {"bias", "1", NULL};
    config(&c, 8, kv);
    pr_error err;
    pr_model *m = NULL;
    pr_train_result res = {0};
    pr_tower *t = NULL;
    int32_t ni = s.d->n_items, rows[64], n = 0;
    uint8_t which[64] = {0};
    CHECK_EQ_INT(pr_model_new(pr_model_find("bprmf"), s.d, s.f, &c, NULL, &m, &err), 0);
    CHECK_EQ_INT(train(m, s.d->valid, &res), 0);
    CHECK(res.best.parts == NULL); /* BPR-MF has no parts op: fit sets the ID split */
    char names[2][32] = {"image", "text"};
    CHECK_EQ_INT(pr_parts_set_id(&res.best, 2, (const char(*)[32])names, PR_PARTS_BASE, &err), 0);
    CHECK(pr_parts_error(res.best.parts, res.best.V, res.best.b) == 0);
    for (int32_t i = 0; i < ni; i++) {
        if (i % 4 == 0) which[i] = 1;
        else rows[n++] = i;
    }
    pr_mapper_opts mo;
    pr_mapper_opts_default(&mo);
    mo.kind = kind;
    mo.hidden = 8;
    mo.epochs = 30;
    CHECK_EQ_INT(pr_mapper_fit(s.f, &res.best, rows, n, &mo, NULL, &t, &err), 0);
    if (!t) goto done;
    CHECK_EQ_INT(pr_tower_n_parts(t), 4);
    check_tower(t, s.f, kind == PR_MAPPER_RIDGE, kind == PR_MAPPER_RIDGE ? "mapper ridge" : "mapper mlp");
    CHECK_EQ_INT(pr_tower_place(t, s.f, which, &res.best, NULL, &err), 0);
    const pr_parts *p = res.best.parts;
    CHECK(p != NULL);
    if (!p) goto done;
    double e = pr_parts_error(p, res.best.V, res.best.b), se = split_error(&res.best), id_placed = 0, rest_warm = 0;
    for (int32_t i = 0; i < ni; i++) {
        const float *row = pr_parts_row(p, i);
        for (int k = 0; k < p->d; k++) {
            if (which[i]) id_placed = fmax(id_placed, fabs(row[k]));
            else for (int q = 1; q < 4; q++) rest_warm = fmax(rest_warm, fabs(row[q * p->d + k]));
        }
        if (!which[i]) CHECK(memcmp(row, res.best.V + (int64_t)i * p->d, (size_t)p->d * 4) == 0);
    }
    printf("  bprmf + %s mapper: error %.2g, split error %.2g, placed items' ID part %.2g, warm items' other parts %.2g\n",
           kind == PR_MAPPER_RIDGE ? "ridge" : "mlp", e, se, id_placed, rest_warm);
    CHECK(e < 1e-5);
    CHECK(se < 1e-4);
    CHECK(id_placed == 0);
    CHECK(rest_warm == 0);
    CHECK(((p->flags & PR_PARTS_SHAPLEY) != 0) == (kind == PR_MAPPER_MLP));
done:
    if (t) t->ops->free(t);
    pr_train_result_free(&res);
    if (m) m->ops->free(m);
    synth_mm_free(&s);
}

TEST(test_bprmf_mapper_split) {
    int level = pr_log_level();
    pr_log_set_level(PR_LOG_QUIET);
    check_mapper(PR_MAPPER_RIDGE);
    check_mapper(PR_MAPPER_MLP);
    pr_log_set_level(level);
}

/* ---- the model file ------------------------------------------------------------- */

/* An attention model trained and saved at path (with or without its parts). */
static int save_model(const char *path, const char *name, int with_parts, synth_mm *s, pr_model **mout,
                      pr_train_result *res) {
    synth_mm_opts o;
    data_opts(&o);
    if (synth_mm_make(&o, s)) return -1;
    static pr_config c;
    config(&c, 6, NULL);
    pr_error err;
    int rc = pr_model_new(pr_model_find(name), s->d, s->f, &c, NULL, mout, &err);
    if (rc == 0) rc = train(*mout, s->d->valid, res);
    if (rc == 0 && !with_parts) {
        pr_parts_free(res->best.parts);
        res->best.parts = NULL;
    }
    if (rc == 0 && (rc = pr_modelfile_save(path, *mout, &res->best, NULL, NULL, &err))) fprintf(stderr, "  save: %s\n", err.msg);
    return rc;
}

TEST(test_parts_section_round_trip_and_add_items) {
    int level = pr_log_level();
    pr_log_set_level(PR_LOG_QUIET);
    synth_mm s;
    pr_model *m = NULL;
    pr_train_result res = {0};
    mkdir("build", 0755);
    CHECK_EQ_INT(save_model(PATH, "vbpr", 1, &s, &m, &res), 0);
    pr_recsys r;
    pr_error err;
    pr_parts_view v;
    const pr_parts *p = res.best.parts;
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    CHECK_EQ_INT(pr_recsys_parts(&r, &v, &err), 0);
    CHECK_EQ_INT(v.n_items, r.n_items);
    CHECK_EQ_INT(v.n_parts, 3);
    CHECK_EQ_INT(v.has_bias, 1);
    CHECK_EQ_INT(v.flags, PR_PARTS_ID);
    CHECK_STR(v.names[0], "id");
    CHECK_STR(v.names[2], "text");
    int np = v.n_parts, d = v.d;
    float *P = malloc((size_t)np * d * sizeof *P), pb[PR_MAX_PARTS];
    double worst = 0, worst_split = 0, c[PR_MAX_PARTS];
    for (int32_t i = 0; i < r.n_items; i++) {
        CHECK_EQ_INT(pr_parts_view_item(&v, i, r.V + (int64_t)i * d, r.b[i], P, pb), 0);
        const float *ref = pr_parts_row(p, i);
        CHECK(memcmp(P + d, ref + d, (size_t)(np - 1) * d * sizeof *P) == 0); /* stored bit for bit */
        for (int k = 0; k < d; k++) worst = fmax(worst, fabs(P[k] - ref[k]));
        worst = fmax(worst, fabs(pb[0] - p->pb[(int64_t)i * np]));
        for (int32_t u = 0; u < r.n_users; u += 7) { /* the stored split of the file's own scores */
            const float *pu = r.U + (int64_t)u * d;
            double score = r.b[i], sum = 0, tot = 0;
            for (int k = 0; k < d; k++) score += (double)pu[k] * r.V[(int64_t)i * d + k];
            CHECK_EQ_INT(pr_recsys_split(&r, &v, pu, i, c), 0);
            for (int q = 0; q < np; q++) sum += c[q], tot += fabs(c[q]);
            worst_split = fmax(worst_split, fabs(sum - score) / (tot + 1e-6));
        }
    }
    printf("  file: derived ID part within %.2g of the model's, split error %.2g\n", worst, worst_split);
    CHECK(worst < 1e-5);
    CHECK(worst_split < 1e-5);
    CHECK_EQ_INT(pr_recsys_split(&r, &v, r.U, r.n_items, c), PR_E_NOTFOUND);
    /* add two items through the file's tower, with their split */
    int32_t n0 = r.n_items;
    float V[2 * 64], b[2], P2[2 * 3 * 64], pb2[2 * 3];
    const float *x0[PR_MAX_MODALITIES], *x1[PR_MAX_MODALITIES];
    pr_features_row(s.f, 1, x0);
    x1[0] = x0[0];
    x1[1] = NULL; /* the second one lacks text */
    CHECK(r.tower && r.tower->ops->parts && pr_tower_n_parts(r.tower) == 3);
    CHECK_EQ_INT(r.tower->ops->encode(r.tower, x0, V, &b[0], &err), 0);
    CHECK_EQ_INT(r.tower->ops->encode(r.tower, x1, V + d, &b[1], &err), 0);
    CHECK_EQ_INT(r.tower->ops->parts(r.tower, x0, P2, pb2, &err), 0);
    CHECK_EQ_INT(r.tower->ops->parts(r.tower, x1, P2 + 3 * d, pb2 + 3, &err), 0);
    int tflags = r.tower->part_flags;
    pr_recsys_close(&r);
    const char *ids[2] = {"new-a", "new-b"};
    pr_added_parts bad = {3, tflags, P2, pb2, 0, NULL};
    float keep = P2[d];
    P2[d] += 1.0f; /* parts that do not sum to the vector: refused, file unchanged */
    CHECK_EQ_INT(pr_modelfile_add_items_ex(PATH, 2, ids, V, b, &bad, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "new-a");
    P2[d] = keep;
    pr_added_parts wrong = {4, tflags, P2, pb2, 0, NULL};
    CHECK_EQ_INT(pr_modelfile_add_items_ex(PATH, 2, ids, V, b, &wrong, &err), PR_E_STATE);
    pr_added_parts x = {3, tflags, P2, pb2, 0, NULL};
    CHECK_EQ_INT(pr_modelfile_add_items_ex(PATH, 2, ids, V, b, &x, &err), 0);
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    CHECK_EQ_INT(r.n_items, n0 + 2);
    CHECK_EQ_INT(pr_recsys_parts(&r, &v, &err), 0);
    CHECK_EQ_INT(v.n_items, n0 + 2);
    for (int q = 0; q < 2; q++) {
        int32_t i = n0 + q;
        CHECK_EQ_INT(pr_parts_view_item(&v, i, r.V + (int64_t)i * d, r.b[i], P, pb), 0);
        double e0 = 0, sum = 0, tot = 0, score = r.b[i];
        for (int k = 0; k < d; k++) e0 = fmax(e0, fabs(P[k]));
        CHECK(e0 == 0); /* a new item has no ID part */
        CHECK(memcmp(P + d, P2 + (3 * q + 1) * d, (size_t)2 * d * sizeof *P) == 0);
        for (int k = 0; k < d; k++) score += (double)r.U[k] * r.V[(int64_t)i * d + k];
        CHECK_EQ_INT(pr_recsys_split(&r, &v, r.U, i, c), 0);
        for (int p2 = 0; p2 < 3; p2++) sum += c[p2], tot += fabs(c[p2]);
        CHECK_NEAR(sum, score, 1e-4 * (tot + 1e-6));
        if (q == 1) CHECK(c[2] == 0.0); /* no text, no text part */
    }
    pr_recsys_close(&r);
    /* added without a split: the section stays, the new item has none; later items neither */
    const char *id3 = "new-c", *id4 = "new-d";
    CHECK_EQ_INT(pr_modelfile_add_items(PATH, 1, &id3, V, b, &err), 0);
    pr_added_parts x1p = {3, tflags, P2, pb2, 0, NULL};
    CHECK_EQ_INT(pr_modelfile_add_items_ex(PATH, 1, &id4, V, b, &x1p, &err), 0);
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    CHECK_EQ_INT(pr_recsys_parts(&r, &v, &err), 0);
    CHECK_EQ_INT(v.n_items, n0 + 2);
    CHECK_EQ_INT(r.n_items, n0 + 4);
    CHECK_EQ_INT(pr_recsys_split(&r, &v, r.U, n0 + 2, c), PR_E_NOTFOUND);
    CHECK_EQ_INT(pr_recsys_split(&r, &v, r.U, n0 + 3, c), PR_E_NOTFOUND);
    pr_recsys_close(&r);
    free(P);
    pr_train_result_free(&res);
    if (m) m->ops->free(m);
    synth_mm_free(&s);
    pr_log_set_level(level);
}

/* Rewrite path with section "parts" replaced by blob (n bytes). */
static int replace_parts(const char *path, const char *out, const void *blob, size_t n) {
    pr_secfile f;
    pr_secwriter w;
    pr_error err;
    int rc = pr_secfile_open(&f, path, &err);
    if (rc) return rc;
    pr_secwriter_init(&w);
    for (uint32_t k = 0; k < f.n && rc == 0; k++) {
        char name[PR_SEC_NAME + 1] = {0};
        memcpy(name, f.table + (size_t)k * (PR_SEC_NAME + 24), PR_SEC_NAME);
        const void *p;
        size_t sz;
        pr_secfile_get(&f, name, &p, &sz);
        if (!strcmp(name, "parts")) rc = pr_secwriter_add(&w, name, blob, n, 1);
        else rc = pr_secwriter_add(&w, name, p, sz, 1);
    }
    if (rc == 0) rc = pr_secwriter_write(&w, out, &err);
    pr_secwriter_deinit(&w);
    pr_secfile_close(&f);
    return rc;
}

TEST(test_old_and_malformed_sections) {
    int level = pr_log_level();
    pr_log_set_level(PR_LOG_QUIET);
    synth_mm s;
    pr_model *m = NULL;
    pr_train_result res = {0};
    pr_recsys r;
    pr_error err;
    pr_parts_view v;
    /* a file without the section (as before the split): it loads, the split is unavailable */
    CHECK_EQ_INT(save_model(PATH, "attention", 0, &s, &m, &res), 0);
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    CHECK_EQ_INT(pr_recsys_parts(&r, &v, &err), PR_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "no 'parts' section");
    int32_t idx[3];
    float val[3];
    CHECK_EQ_INT(pr_recsys_recommend(&r, 0, 3, idx, val), 3);
    pr_recsys_close(&r);
    /* parts that do not sum to V are left out of the file */
    pr_snapshot bad;
    CHECK_EQ_INT(pr_snapshot_copy(&bad, &res.best), 0);
    char names[2][32] = {"image", "text"};
    CHECK_EQ_INT(pr_parts_set_id(&bad, 2, (const char(*)[32])names, 0, &err), 0);
    bad.parts->P[3] += 0.5f;
    CHECK_EQ_INT(pr_modelfile_save(PATH, m, &bad, NULL, NULL, &err), 0);
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    CHECK_EQ_INT(pr_recsys_parts(&r, &v, &err), PR_E_NOTFOUND);
    pr_recsys_close(&r);
    pr_snapshot_free(&bad);
    /* a good file, then its section malformed field by field */
    pr_train_result_free(&res);
    m->ops->free(m);
    synth_mm_free(&s);
    CHECK_EQ_INT(save_model(PATH, "attention", 1, &s, &m, &res), 0);
    pr_buf good;
    pr_buf_init(&good);
    CHECK_EQ_INT(pr_parts_save(res.best.parts, &good), 0);
    const char *out = "build/test_parts_bad.model";
    struct { size_t off; uint32_t val; const char *msg; } cases[] = {
        {0, 2, "version 2"},                  /* version */
        {4, 100000, "100000 items"},          /* more items than the model */
        {8, 0, "0 parts"},                    /* no parts */
        {12, 7, "width 7"},                   /* another width */
        {16, 64, "unknown flags"},            /* flags */
        {20, 1, "has_bias 1"},                /* biases the model lacks */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint8_t *blob = malloc(good.len);
        memcpy(blob, good.data, good.len);
        memcpy(blob + cases[k].off, &cases[k].val, 4);
        CHECK_EQ_INT(replace_parts(PATH, out, blob, good.len), 0);
        CHECK_EQ_INT(pr_recsys_open(&r, out, &err), 0);
        CHECK_EQ_INT(pr_recsys_parts(&r, &v, &err), PR_E_FORMAT);
        CHECK_CONTAINS(err.msg, "section 'parts'");
        CHECK_CONTAINS(err.msg, cases[k].msg);
        pr_recsys_close(&r);
        free(blob);
    }
    /* every truncation is a format error, never a crash */
    int clean = 1;
    for (size_t cut = 0; cut < good.len; cut += 1 + cut / 8) {
        CHECK_EQ_INT(replace_parts(PATH, out, good.data, cut), 0);
        if (pr_recsys_open(&r, out, &err)) { clean = 0; continue; }
        if (pr_recsys_parts(&r, &v, &err) != PR_E_FORMAT) clean = 0;
        pr_recsys_close(&r);
    }
    CHECK(clean);
    /* a flipped byte in the section's payload: the checksum names it */
    CHECK_EQ_INT(replace_parts(PATH, out, good.data, good.len), 0);
    size_t n;
    char *bytes = NULL;
    CHECK_EQ_INT(pr_read_file(out, &bytes, &n, &err), 0);
    pr_secfile f;
    CHECK_EQ_INT(pr_secfile_open(&f, out, &err), 0);
    const void *p;
    size_t sz;
    CHECK_EQ_INT(pr_secfile_get(&f, "parts", &p, &sz), 0);
    size_t at = (size_t)((const char *)p - (const char *)f.map.data) + sz - 3;
    pr_secfile_close(&f);
    bytes[at] ^= 0x40;
    FILE *fp = fopen(out, "wb");
    fwrite(bytes, 1, n, fp);
    fclose(fp);
    CHECK_EQ_INT(pr_recsys_open(&r, out, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, "section 'parts' checksum mismatch");
    free(bytes);
    pr_buf_free(&good);
    pr_train_result_free(&res);
    if (m) m->ops->free(m);
    synth_mm_free(&s);
    pr_log_set_level(level);
}

int main(void) {
    RUN(test_shapley_hand_cases);
    RUN(test_trained_models_split_exactly);
    RUN(test_towers_split_what_they_encode);
    RUN(test_bprmf_mapper_split);
    RUN(test_parts_section_round_trip_and_add_items);
    RUN(test_old_and_malformed_sections);
    return t_done();
}
