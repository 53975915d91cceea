/* tests/models/test_multimodal.c: VBPR, concatenation fusion and attention fusion.
 *
 * For every content model: central-difference gradient checks over all
 * parameters of a tiny instance (several key settings, modality dropout
 * included), the snapshot agrees with the loss the model trains on, the
 * saved tower maps each item's content to its row of V, bit-identical
 * single-thread runs, and quality on planted data: where content determines
 * preference every model beats BPR-MF, where content is noise it stays close. */
#include <math.h>

#include "common/synth.h"
#include "common/synth_features.h"
#include "core/log.h"
#include "core/rng.h"
#include "models/content.h"
#include "nn/gradcheck.h"
#include "models/model.h"
#include "t.h"
#include "train/loop.h"

static const char *const content_models[] = {"vbpr", "concat", "attention", NULL};

static pr_model *make(const char *name, const pr_dataset *d, const pr_features *f, pr_config *c,
                      pr_pool *pool, pr_error *err) {
    pr_model *m = NULL;
    const pr_model_ops *ops = pr_model_find(name);
    if (!ops) return NULL;
    if (pr_model_new(ops, d, f, c, pool, &m, err) != 0) return NULL;
    return m;
}

static void set(pr_config *c, const char *k, const char *v) {
    pr_error err;
    if (pr_config_set(c, k, v, &err)) fprintf(stderr, "config %s=%s: %s\n", k, v, err.msg);
}

/* ---- gradient checks ------------------------------------------------------ */

static double softplus_d(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

typedef struct {
    pr_model *m;
    const pr_batch *b;
} loss_ctx;

static double loss_at(void *ctx) {
    loss_ctx *L = ctx;
    return L->m->ops->forward(L->m, L->b);
}

/* Fourth-order central differences (nn/gradcheck.h) over every parameter
 * against dense_grad of one backward; float forward, so h = 1e-2 and a
 * tolerance of 2e-3 on the relative error (floor 1e-2: gradients below it
 * are held to 2e-5 absolute). */
static double gradcheck(pr_model *m, const pr_batch *b) {
    m->ops->forward(m, b);
    m->ops->backward(m, b);
    float *g = malloc((size_t)m->n_params * sizeof *g);
    m->ops->dense_grad(m, g);
    pr_gradcheck_cfg cfg;
    pr_gradcheck_defaults(&cfg, PR_GRADCHECK_F32);
    cfg.eps = 1e-2;
    cfg.order = 4;
    cfg.tol = 2e-3;
    cfg.floor = 1e-2; /* float loss noise ~3e-6 in the numeric derivative */
    pr_gradcheck_result res;
    pr_error err;
    loss_ctx L = {m, b};
    int rc = pr_gradcheck(m->params, g, m->n_params, NULL, loss_at, &L, &cfg, &res, &err);
    if (rc) fprintf(stderr, "  %s: %s\n", m->ops->name, err.msg);
    CHECK(res.n_checked == m->n_params);
    free(g);
    return rc ? res.worst_rel : 0.0;
}

static void gradcheck_model(const char *name, const char *const *kv) {
    synth_mm_opts o;
    synth_mm_defaults(&o);
    o.n_users = 6;
    o.n_items = 9;
    o.n_clusters = 2;
    o.per_user = 4;
    o.dims[0] = 5;
    o.dims[1] = 3;
    o.p_missing = 0.3;
    synth_mm s;
    CHECK(synth_mm_make(&o, &s) == 0);
    pr_config c;
    pr_config_defaults(&c);
    c.d = 3;
    c.batch = 6;
    c.reg = 0.05f;
    for (int k = 0; kv && kv[k]; k += 2) set(&c, kv[k], kv[k + 1]);
    pr_error err;
    pr_model *m = make(name, s.d, s.f, &c, NULL, &err);
    CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "  %s: %s\n", name, err.msg);
        synth_mm_free(&s);
        return;
    }
    pr_rng r;
    pr_rng_init(&r, 1, 2);
    for (int64_t k = 0; k < m->n_params; k++) m->params[k] = 0.5f * pr_rng_normal(&r);
    int32_t bu[] = {0, 1, 2, 0, 5, 3}, bi[] = {1, 2, 3, 1, 7, 8}, bj[] = {4, 0, 7, 6, 1, 2};
    pr_batch b = {6, 1, bu, bi, bj, 0};
    double worst = gradcheck(m, &b);
    CHECK(worst < 2e-3);
    m->ops->free(m);
    synth_mm_free(&s);
}

TEST(test_vbpr_gradcheck) {
    gradcheck_model("vbpr", NULL);
    const char *sep[] = {"fuse", "separate", "bias", "1", "wd", "0.1", NULL};
    gradcheck_model("vbpr", sep);
    const char *drop[] = {"drop_id", "0.5", "drop_mod", "0.4", "bias", "1", NULL};
    gradcheck_model("vbpr", drop);
}

/* smooth activations: a ReLU kink within eps of a pre-activation breaks central differences */
TEST(test_concat_gradcheck) {
    const char *lin[] = {"layers", "1", "residual", "0", NULL};
    gradcheck_model("concat", lin);
    const char *deep[] = {"layers", "3", "hidden", "5", "act", "tanh", "residual", "0", NULL};
    gradcheck_model("concat", deep);
    const char *drop[] = {"act", "gelu", "dropout", "0.3", "drop_id", "0.5", "drop_mod", "0.4", NULL};
    gradcheck_model("concat", drop);
    const char *res[] = {"act", "tanh", "residual", "1", "drop_id", "0.5", NULL};
    gradcheck_model("concat", res);
    const char *wide[] = {"act", "tanh", "out", "5", "residual", "0", NULL};
    gradcheck_model("concat", wide);
}

TEST(test_attention_gradcheck) {
    gradcheck_model("attention", NULL);
    const char *drop[] = {"att_k", "2", "drop_id", "0.5", "drop_mod", "0.4", NULL};
    gradcheck_model("attention", drop);
}

/* ---- the snapshot scores what the model trains on -------------------------- */

/* With reg = 0, the loss of a batch equals the BPR loss of snapshot scores. */
static void snapshot_matches_loss(const char *name, const char *const *kv) {
    synth_mm_opts o;
    synth_mm_defaults(&o);
    o.n_users = 20;
    o.n_items = 30;
    o.n_clusters = 3;
    o.per_user = 5;
    synth_mm s;
    synth_mm_make(&o, &s);
    pr_config c;
    pr_config_defaults(&c);
    c.d = 4;
    c.batch = 8;
    c.reg = 0;
    set(&c, "drop_mod", "0"); /* training draws modality dropout; the snapshot keeps everything */
    for (int k = 0; kv && kv[k]; k += 2) set(&c, kv[k], kv[k + 1]);
    pr_error err;
    pr_model *m = make(name, s.d, s.f, &c, NULL, &err);
    CHECK(m != NULL);
    if (!m) return;
    pr_rng r;
    pr_rng_init(&r, 3, 4);
    for (int64_t k = 0; k < m->n_params; k++) m->params[k] = 0.3f * pr_rng_normal(&r);
    int32_t bu[8], bi[8], bj[8];
    for (int k = 0; k < 8; k++) {
        bu[k] = (int32_t)pr_rng_below(&r, 20);
        bi[k] = (int32_t)pr_rng_below(&r, 30);
        bj[k] = (int32_t)pr_rng_below(&r, 30);
    }
    pr_batch b = {8, 1, bu, bi, bj, 0};
    double loss = m->ops->forward(m, &b);
    pr_snapshot snap;
    CHECK_EQ_INT(m->ops->snapshot(m, &snap, &err), 0);
    double ref = 0;
    for (int k = 0; k < 8; k++) {
        const float *u = snap.U + (int64_t)bu[k] * snap.d;
        double si = snap.b ? snap.b[bi[k]] : 0, sj = snap.b ? snap.b[bj[k]] : 0;
        for (int q = 0; q < snap.d; q++) {
            si += (double)u[q] * snap.V[(int64_t)bi[k] * snap.d + q];
            sj += (double)u[q] * snap.V[(int64_t)bj[k] * snap.d + q];
        }
        ref += softplus_d(-(si - sj));
    }
    CHECK_NEAR(loss, ref / 8, 1e-5);
    pr_snapshot_free(&snap);
    m->ops->free(m);
    synth_mm_free(&s);
}

TEST(test_snapshot_matches_loss) {
    snapshot_matches_loss("vbpr", NULL);
    const char *sep[] = {"fuse", "separate", "bias", "1", NULL};
    snapshot_matches_loss("vbpr", sep);
    const char *gelu[] = {"act", "gelu", NULL};
    snapshot_matches_loss("concat", gelu);
    snapshot_matches_loss("attention", NULL);
}

/* ---- towers ----------------------------------------------------------------- */

/* What the tower must give for each trained item's content (no ID part):
 * VBPR: the snapshot row with its ID block zeroed and b (bias=0); fused
 * models: the engine's own fused vector with the ID part masked. */
static void expected_cold(const char *name, pr_model *m, const pr_snapshot *snap, float *V, float *b) {
    int32_t n = snap->n_items;
    pr_error err;
    if (!strcmp(name, "vbpr")) {
        memcpy(V, snap->V, (size_t)n * snap->d * sizeof *V);
        for (int32_t i = 0; i < n; i++) {
            memset(V + (int64_t)i * snap->d, 0, (size_t)m->cfg->d * sizeof *V);
            b[i] = snap->b[i];
        }
        return;
    }
    int32_t *all = malloc((size_t)n * sizeof *all);
    for (int32_t i = 0; i < n; i++) all[i] = i;
    CHECK_EQ_INT(pr_fused_item_vectors(m, all, n, 0, V, &err), 0);
    memset(b, 0, (size_t)n * sizeof *b);
    free(all);
}

/* Save the tower, load it through the registry, and check that each item's
 * content gives what the trained model computes from that content alone;
 * pr_content_cold_snapshot (the same path for the whole catalogue) agrees. */
static void tower_round_trip(const char *name, const char *const *kv) {
    synth_mm_opts o;
    synth_mm_defaults(&o);
    o.n_users = 20;
    o.n_items = 30;
    o.n_clusters = 3;
    o.per_user = 5;
    o.p_missing = 0.3;
    synth_mm s;
    synth_mm_make(&o, &s);
    pr_config c;
    pr_config_defaults(&c);
    c.d = 4;
    c.batch = 8; /* several blocks of the engine's catalogue pass */
    for (int k = 0; kv && kv[k]; k += 2) set(&c, kv[k], kv[k + 1]);
    pr_error err;
    pr_model *m = make(name, s.d, s.f, &c, NULL, &err);
    CHECK(m != NULL);
    if (!m) return;
    pr_rng r;
    pr_rng_init(&r, 3, 4);
    for (int64_t k = 0; k < m->n_params; k++) m->params[k] = 0.3f * pr_rng_normal(&r);
    pr_snapshot snap, cold;
    CHECK_EQ_INT(m->ops->snapshot(m, &snap, &err), 0);
    float *Vx = malloc((size_t)o.n_items * snap.d * sizeof *Vx), *bx = malloc((size_t)o.n_items * sizeof *bx);
    expected_cold(name, m, &snap, Vx, bx);
    pr_buf buf;
    pr_buf_init(&buf);
    CHECK(m->ops->tower_save != NULL);
    CHECK_EQ_INT(m->ops->tower_save(m, &buf), 0);
    const pr_tower_ops *tops = pr_tower_find(name);
    CHECK(tops != NULL);
    pr_tower *t = NULL;
    pr_cur cur;
    pr_cur_init(&cur, buf.data, buf.len, "tower");
    CHECK_EQ_INT(tops->load(&t, &cur, &err), 0);
    CHECK(t && t->d == snap.d && t->n_mod == 2 && t->dims[0] == o.dims[0]);
    CHECK_STR(t ? t->names[1] : NULL, "text");
    double worst = 0, worst_cold = 0, vnorm = 0;
    float *v = malloc((size_t)snap.d * sizeof *v), w[3];
    CHECK_EQ_INT(pr_content_cold_snapshot(m, &cold, &err), 0);
    for (int32_t i = 0; t && i < o.n_items; i++) {
        const float *x[2] = {s.f->mod[0].X + (int64_t)i * o.dims[0],
                             s.f->mod[1].missing[i] ? NULL : s.f->mod[1].X + (int64_t)i * o.dims[1]};
        float bias;
        CHECK_EQ_INT(tops->encode(t, x, v, &bias, &err), 0);
        for (int q = 0; q < snap.d; q++) {
            float e = Vx[(int64_t)i * snap.d + q];
            worst = fmax(worst, fabs(v[q] - e));
            worst_cold = fmax(worst_cold, fabs(cold.V[(int64_t)i * snap.d + q] - e));
            vnorm = fmax(vnorm, fabs(e));
        }
        worst = fmax(worst, fabs(bias - bx[i]));
        CHECK_EQ_INT(tops->weights(t, x, w, &err), 0);
        CHECK_NEAR(w[0], 0, 0); /* a new item has no ID part */
        CHECK_NEAR(w[1] + w[2], 1, 1e-5);
        if (!x[1]) CHECK_NEAR(w[2], 0, 0);
    }
    CHECK(vnorm > 0.01); /* the comparison is not between zeros */
    CHECK(worst < 1e-5);
    CHECK(worst_cold < 1e-5);
    /* bad input: a non-finite value is refused, naming the modality */
    if (t) {
        float bad[64] = {0}, bias;
        bad[2] = NAN;
        const float *x[2] = {bad, NULL};
        CHECK_EQ_INT(tops->encode(t, x, v, &bias, &err), PR_E_NUMERIC);
        CHECK_CONTAINS(err.msg, "image");
        tops->free(t);
    }
    /* every truncation of the blob is an error, never a crash */
    int bad_ok = 1;
    for (size_t n = 0; n < buf.len; n += 1 + buf.len / 97) {
        pr_tower *t2 = NULL;
        pr_cur_init(&cur, buf.data, n, "tower");
        if (tops->load(&t2, &cur, &err) == 0) {
            bad_ok = 0;
            tops->free(t2);
        }
    }
    CHECK(bad_ok);
    /* a blob of another model is refused by name */
    const char *other = strcmp(name, "vbpr") ? "vbpr" : "concat";
    pr_tower *t2 = NULL;
    pr_cur_init(&cur, buf.data, buf.len, "tower");
    CHECK(pr_tower_find(other)->load(&t2, &cur, &err) == PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, name);
    free(v);
    free(Vx);
    free(bx);
    pr_buf_free(&buf);
    pr_snapshot_free(&snap);
    pr_snapshot_free(&cold);
    m->ops->free(m);
    synth_mm_free(&s);
}

TEST(test_towers) {
    tower_round_trip("vbpr", NULL);
    const char *sep[] = {"fuse", "separate", NULL};
    tower_round_trip("vbpr", sep);
    const char *deep[] = {"layers", "3", "act", "tanh", "dropout", "0.2", "residual", "0", NULL};
    tower_round_trip("concat", deep);
    const char *res[] = {"residual", "1", NULL};
    tower_round_trip("concat", res);
    const char *wide[] = {"out", "7", "layers", "1", "residual", "0", NULL};
    tower_round_trip("concat", wide);
    tower_round_trip("attention", NULL);
}

/* Part weights of trained items (for explanations), concat and attention:
 * each row sums to 1, the ID part is present, a missing modality gets 0. */
TEST(test_item_weights) {
    synth_mm_opts o;
    synth_mm_defaults(&o);
    o.n_users = 20;
    o.n_items = 30;
    o.n_clusters = 3;
    o.per_user = 5;
    o.p_missing = 0.3;
    synth_mm s;
    synth_mm_make(&o, &s);
    int32_t items[30];
    for (int i = 0; i < 30; i++) items[i] = i;
    float w[30 * 3];
    for (int k = 1; content_models[k]; k++) {
        pr_config c;
        pr_config_defaults(&c);
        c.d = 4;
        pr_error err;
        pr_model *m = make(content_models[k], s.d, s.f, &c, NULL, &err);
        CHECK(m != NULL);
        if (!m) continue;
        CHECK_EQ_INT(pr_fused_item_weights(m, items, 30, w, &err), 0);
        int n_missing = 0;
        for (int i = 0; i < 30; i++) {
            CHECK_NEAR(w[3 * i] + w[3 * i + 1] + w[3 * i + 2], 1, 1e-5);
            CHECK(w[3 * i] > 0);
            if (s.f->mod[1].missing[i]) {
                CHECK_NEAR(w[3 * i + 2], 0, 0);
                n_missing++;
            }
        }
        CHECK(n_missing > 0);
        int32_t bad = 30;
        CHECK_EQ_INT(pr_fused_item_weights(m, &bad, 1, w, &err), PR_E_RANGE);
        m->ops->free(m);
    }
    /* VBPR is not a fused model */
    pr_config c;
    pr_config_defaults(&c);
    pr_error err;
    pr_model *v = make("vbpr", s.d, s.f, &c, NULL, &err);
    CHECK(v && pr_fused_item_weights(v, items, 1, w, &err) == PR_E_ARG);
    if (v) v->ops->free(v);
    synth_mm_free(&s);
}

/* ---- bad configurations ------------------------------------------------------ */

TEST(test_content_models_refuse_bad_input) {
    synth_mm_opts o;
    synth_mm_defaults(&o);
    o.n_users = 10;
    o.n_items = 12;
    o.n_clusters = 2;
    o.per_user = 4;
    synth_mm s;
    synth_mm_make(&o, &s);
    for (int k = 0; content_models[k]; k++) {
        const char *name = content_models[k];
        pr_config c;
        pr_config_defaults(&c);
        pr_error err;
        pr_model *m = NULL;
        CHECK_EQ_INT(pr_model_new(pr_model_find(name), s.d, NULL, &c, NULL, &m, &err), PR_E_ARG);
        CHECK_CONTAINS(err.msg, "features");
        set(&c, "drop_id", "1.5");
        CHECK(make(name, s.d, s.f, &c, NULL, &err) == NULL);
        CHECK_CONTAINS(err.msg, "drop_id");
        pr_config_defaults(&c);
        set(&c, "drop_mod", "x");
        CHECK(make(name, s.d, s.f, &c, NULL, &err) == NULL);
        CHECK_CONTAINS(err.msg, "drop_mod");
        /* features with the wrong number of rows */
        pr_config_defaults(&c);
        s.f->mod[1].n_items = 11;
        CHECK(make(name, s.d, s.f, &c, NULL, &err) == NULL);
        CHECK_CONTAINS(err.msg, "text");
        s.f->mod[1].n_items = 12;
    }
    synth_mm_free(&s);
}

/* ---- training: quality and determinism ---------------------------------------- */

static double fit_eval(const char *name, const synth_mm *s, pr_config *c, pr_pool *pool,
                       pr_snapshot *keep) {
    pr_error err;
    pr_model *m = make(name, s->d, s->f, c, pool, &err);
    if (!m) {
        fprintf(stderr, "  %s: %s\n", name, err.msg);
        return NAN;
    }
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.mask[0] = s->d->train;
    pr_train_result res;
    double v = NAN;
    if (pr_train(m, s->d->valid, &o, &res, &err) == 0) {
        pr_scorer sc;
        pr_model_scorer(m, &res.best, &sc);
        pr_metrics met;
        if (pr_evaluate(&sc, s->d->test, &o, pool, &met, &err) == 0) v = pr_metrics_get(&met, "recall@20");
        if (keep) pr_snapshot_copy(keep, &res.best);
    } else {
        fprintf(stderr, "  %s: %s\n", name, err.msg);
    }
    pr_train_result_free(&res);
    m->ops->free(m);
    return v;
}

static void quality_config(pr_config *c, int small) {
    pr_config_defaults(c);
    c->d = 16;
    c->epochs = small ? 15 : 30;
    c->batch = 256;
    c->lr = 0.01f;
    c->patience = 50;
    c->eval_every = small ? 5 : 3;
}

TEST(test_content_beats_bprmf_when_content_matters) {
    int small = t_sanitized();
    synth_mm_opts o;
    synth_mm_defaults(&o); /* 40 groups of ~15 items, ~2 training interactions per item */
    o.n_users = 200;
    o.per_user = 8;
    synth_mm s;
    synth_mm_make(&o, &s);
    pr_pool *pool = pr_pool_new(2);
    pr_config c;
    quality_config(&c, small);
    double bpr = fit_eval("bprmf", &s, &c, pool, NULL);
    for (int k = 0; content_models[k]; k++) {
        double v = fit_eval(content_models[k], &s, &c, pool, NULL);
        fprintf(stderr, "  planted content, recall@20: bprmf %.4f %s %.4f\n", bpr, content_models[k], v);
        CHECK(v > 1.2 * bpr);
    }
    synth_mm_free(&s);
    pr_pool_free(pool);
}

TEST(test_content_close_to_bprmf_when_content_is_noise) {
    int small = t_sanitized();
    synth_mm_opts o;
    synth_mm_defaults(&o);
    o.signal = 0; /* features independent of the groups */
    o.noise = 1;
    o.n_clusters = 10;
    o.per_user = 20;
    synth_mm s;
    synth_mm_make(&o, &s);
    pr_pool *pool = pr_pool_new(2);
    pr_config c;
    quality_config(&c, small);
    double bpr = fit_eval("bprmf", &s, &c, pool, NULL);
    for (int k = 0; content_models[k]; k++) {
        double v = fit_eval(content_models[k], &s, &c, pool, NULL);
        fprintf(stderr, "  noise content, recall@20: bprmf %.4f %s %.4f\n", bpr, content_models[k], v);
        CHECK(v > 0.8 * bpr);
    }
    synth_mm_free(&s);
    pr_pool_free(pool);
}

/* Test recall of the cold snapshot (every V row from the tower, content
 * alone) after training with the given ID dropout. */
static double cold_recall(const char *name, const synth_mm *s, pr_config *c, pr_pool *pool) {
    pr_error err;
    pr_model *m = make(name, s->d, s->f, c, pool, &err);
    if (!m) return NAN;
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.mask[0] = s->d->train;
    pr_train_result res;
    double v = NAN;
    pr_snapshot cold;
    if (pr_train(m, NULL, &o, &res, &err) == 0 && pr_content_cold_snapshot(m, &cold, &err) == 0) {
        pr_scorer sc;
        pr_metrics met;
        pr_model_scorer(m, &cold, &sc);
        if (pr_evaluate(&sc, s->d->test, &o, pool, &met, &err) == 0) v = pr_metrics_get(&met, "recall@20");
        pr_snapshot_free(&cold);
    }
    pr_train_result_free(&res);
    m->ops->free(m);
    return v;
}

/* Modality dropout is what makes the tower stand on content alone: with the
 * ID dropped half the time in training, items scored from their content only
 * (what a new item gets) rank much better than without it (VBPR, concat). */
TEST(test_id_dropout_trains_the_tower) {
    synth_mm_opts o;
    synth_mm_defaults(&o); /* dense enough that the IDs alone carry the groups */
    o.n_clusters = 10;
    o.per_user = 20;
    o.noise = 1.5;
    synth_mm s;
    synth_mm_make(&o, &s);
    pr_pool *pool = pr_pool_new(2);
    for (int k = 0; content_models[k]; k++) {
        pr_config c;
        quality_config(&c, 0);
        c.epochs = 20; /* the tower needs these epochs to learn from dropped IDs, ASan or not */
        set(&c, "drop_id", "0");
        double plain = cold_recall(content_models[k], &s, &c, pool);
        set(&c, "drop_id", "0.5");
        double drop = cold_recall(content_models[k], &s, &c, pool);
        fprintf(stderr, "  content-only recall@20, %s: drop_id 0 %.4f, drop_id 0.5 %.4f\n", content_models[k], plain, drop);
        /* attention renormalises over the parts present, so a cold item's
         * content already gets all the weight: dropout must not hurt it */
        if (!strcmp(content_models[k], "attention")) CHECK(drop > 0.95 * plain);
        else CHECK(drop > 1.2 * plain);
    }
    synth_mm_free(&s);
    pr_pool_free(pool);
}

TEST(test_content_models_bit_identical) {
    synth_mm_opts o;
    synth_mm_defaults(&o);
    o.n_users = 80;
    o.n_items = 100;
    synth_mm s;
    synth_mm_make(&o, &s);
    pr_pool *p1 = pr_pool_new(1);
    for (int k = 0; content_models[k]; k++) {
        pr_config c;
        pr_config_defaults(&c);
        c.d = 8;
        c.epochs = 2;
        c.batch = 64;
        c.lr = 0.01f;
        set(&c, "drop_id", "0.3");
        set(&c, "drop_mod", "0.2");
        pr_snapshot a, b, other;
        fit_eval(content_models[k], &s, &c, p1, &a);
        fit_eval(content_models[k], &s, &c, p1, &b);
        c.seed = 1000;
        fit_eval(content_models[k], &s, &c, p1, &other);
        size_t nu = (size_t)a.n_users * a.d * sizeof(float), ni = (size_t)a.n_items * a.d * sizeof(float);
        CHECK(a.U && b.U && memcmp(a.U, b.U, nu) == 0 && memcmp(a.V, b.V, ni) == 0);
        CHECK(a.U && other.U && memcmp(a.V, other.V, ni) != 0);
        pr_snapshot_free(&a);
        pr_snapshot_free(&b);
        pr_snapshot_free(&other);
    }
    pr_pool_free(p1);
    synth_mm_free(&s);
}

int main(void) {
    pr_log_set_level(0);
    RUN(test_vbpr_gradcheck);
    RUN(test_concat_gradcheck);
    RUN(test_attention_gradcheck);
    RUN(test_snapshot_matches_loss);
    RUN(test_towers);
    RUN(test_item_weights);
    RUN(test_content_models_refuse_bad_input);
    RUN(test_content_beats_bprmf_when_content_matters);
    RUN(test_content_close_to_bprmf_when_content_is_noise);
    RUN(test_id_dropout_trains_the_tower);
    RUN(test_content_models_bit_identical);
    return t_done();
}
