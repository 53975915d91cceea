/* tests/models/test_cold_file.c: adding items to a model file (round trip,
 * bad input leaves the file unchanged, a kill during the write leaves a
 * loadable model, concurrent writers lose nothing) and recommendations from
 * an item history (fold-in, ItemKNN). */
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/synth.h"
#include "core/log.h"
#include "models/foldin.h"
#include "models/modelfile.h"
#include "t.h"
#include "train/loop.h"

static const char *PATH = "build/test_cold_file.model";

/* A small trained BPR-MF (with biases) saved at path. */
static void make_model(const char *path, const char *name) {
    pr_dataset *d = synth_clusters(30, 25, 3, 8, 0.9, 4);
    pr_config c;
    pr_config_defaults(&c);
    c.epochs = 2;
    c.d = 8;
    c.batch = 64;
    pr_error err;
    pr_config_set(&c, "bias", "1", &err);
    pr_model *m = NULL;
    pr_train_result res;
    pr_eval_opts o;
    pr_eval_opts_default(&o);
    o.mask[0] = d->train;
    if (pr_model_new(pr_model_find(name), d, NULL, &c, NULL, &m, &err) || pr_train(m, d->valid, &o, &res, &err) ||
        pr_modelfile_save(path, m, &res.best, NULL, NULL, &err))
        fprintf(stderr, "make_model: %s\n", err.msg);
    pr_train_result_free(&res);
    m->ops->free(m);
    synth_free(d);
}

static char *slurp(const char *path, size_t *n) {
    char *b = NULL;
    pr_error err;
    if (pr_read_file(path, &b, n, &err)) return NULL;
    return b;
}

static void remove_temps(const char *dir, const char *prefix) {
    DIR *dp = opendir(dir);
    struct dirent *e;
    char full[512];
    while (dp && (e = readdir(dp)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)) && strstr(e->d_name, ".tmp.")) {
            snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
            unlink(full);
        }
    if (dp) closedir(dp);
}

TEST(test_add_items_round_trip) {
    make_model(PATH, "bprmf");
    pr_recsys r;
    pr_error err;
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    int32_t n0 = r.n_items;
    int d = r.d;
    float V[2 * 8], b[2] = {0.5f, -0.25f};
    for (int k = 0; k < d; k++) { /* item A along user 0, item B against it */
        V[k] = 10.0f * r.U[k];
        V[d + k] = -10.0f * r.U[k];
    }
    float u0[8];
    memcpy(u0, r.U, sizeof u0);
    pr_recsys_close(&r);
    const char *ids[2] = {"new-A", "new-B"};
    CHECK_EQ_INT(pr_modelfile_add_items(PATH, 2, ids, V, b, &err), 0);
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    CHECK_EQ_INT(r.n_items, n0 + 2);
    CHECK_EQ_INT(pr_idmap_get(r.items, "new-A"), n0);
    CHECK_EQ_INT(pr_idmap_get(r.items, "new-B"), n0 + 1);
    CHECK(memcmp(r.V + (int64_t)n0 * d, V, sizeof V) == 0);
    CHECK(memcmp(r.U, u0, sizeof u0) == 0);
    CHECK(r.b && r.b[n0] == 0.5f && r.b[n0 + 1] == -0.25f);
    CHECK_EQ_INT(r.train->n_cols, n0 + 2);
    char buf[64];
    CHECK_STR(pr_recsys_meta(&r, "added_items", buf, sizeof buf), "2");
    CHECK_EQ_INT(atoi(pr_recsys_meta(&r, "n_items", buf, sizeof buf)), n0 + 2);
    CHECK_STR(pr_recsys_meta(&r, "model", buf, sizeof buf), "bprmf");
    int32_t idx[3];
    float val[3];
    CHECK_EQ_INT(pr_recsys_recommend(&r, 0, 3, idx, val), 3);
    CHECK_EQ_INT(idx[0], n0); /* user 0 now prefers new-A */
    CHECK_EQ_INT(pr_recsys_similar(&r, n0, 1, idx, val), 1);
    CHECK(idx[0] != n0 + 1); /* B is A's opposite */
    pr_recsys_close(&r);
    /* a second add appends to the "added" log */
    const char *id3 = "new-C";
    CHECK_EQ_INT(pr_modelfile_add_items(PATH, 1, &id3, V, NULL, &err), 0);
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    CHECK_EQ_INT(r.n_items, n0 + 3);
    CHECK_STR(pr_recsys_meta(&r, "added_items", buf, sizeof buf), "3");
    CHECK(r.b[n0 + 2] == 0.0f);
    const void *p;
    size_t sz;
    CHECK_EQ_INT(pr_secfile_get(&r.file, "added", &p, &sz), 0);
    uint32_t cnt;
    memcpy(&cnt, p, 4);
    CHECK_EQ_INT(cnt, 3);
    pr_recsys_close(&r);
}

/* Bad input: an error, and the file byte-identical (same inode too). */
TEST(test_add_items_bad_input_leaves_file) {
    make_model(PATH, "bprmf");
    size_t n0, n1;
    char *before = slurp(PATH, &n0);
    struct stat st0, st1;
    stat(PATH, &st0);
    float V[16] = {0};
    pr_error err;
    const char *dup[1] = {"i3"}, *twice[2] = {"x", "x"}, *empty[1] = {""}, *ok[1] = {"fine"};
    CHECK_EQ_INT(pr_modelfile_add_items(PATH, 1, dup, V, NULL, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "'i3': already an item");
    CHECK_EQ_INT(pr_modelfile_add_items(PATH, 2, twice, V, NULL, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "repeated");
    CHECK_EQ_INT(pr_modelfile_add_items(PATH, 1, empty, V, NULL, &err), PR_E_ARG);
    V[3] = NAN;
    CHECK_EQ_INT(pr_modelfile_add_items(PATH, 1, ok, V, NULL, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "not finite");
    V[3] = 0;
    float inf_b = INFINITY;
    CHECK_EQ_INT(pr_modelfile_add_items(PATH, 1, ok, V, &inf_b, &err), PR_E_ARG);
    CHECK_EQ_INT(pr_modelfile_add_items("build/no-such.model", 1, ok, V, NULL, &err), PR_E_IO);
    char *after = slurp(PATH, &n1);
    stat(PATH, &st1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0);
    CHECK(st0.st_ino == st1.st_ino);
    free(before);
    free(after);
    /* ItemKNN has no item vectors */
    make_model("build/test_cold_file.knn", "itemknn");
    CHECK_EQ_INT(pr_modelfile_add_items("build/test_cold_file.knn", 1, ok, V, NULL, &err), PR_E_STATE);
    CHECK_CONTAINS(err.msg, "no item vectors");
    unlink("build/test_cold_file.knn");
}

/* A writer killed at any moment leaves a model that loads (the old one or
 * the new one, never a torn file); a stale temporary file is harmless. */
TEST(test_add_items_killed_writer) {
    make_model(PATH, "bprmf");
    pr_error err;
    pr_recsys r;
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    int32_t n0 = r.n_items;
    pr_recsys_close(&r);
    FILE *f = fopen("build/test_cold_file.model.tmp.AbCdEf", "wb"); /* a crash's leftover */
    fputs("POLYREC half a file", f);
    fclose(f);
    int rounds = t_sanitized() ? 4 : 8, loadable = 1;
    int32_t last = n0;
    for (int round = 0; round < rounds; round++) {
        pid_t pid = fork();
        if (pid == 0) { /* child: add items as fast as it can until killed */
            float V[8] = {1, 2, 3, 4, 5, 6, 7, 8};
            for (int k = 0; k < 100000; k++) {
                char id[64];
                snprintf(id, sizeof id, "kill-%d-%d", round, k);
                const char *ids[1] = {id};
                pr_modelfile_add_items(PATH, 1, ids, V, NULL, NULL);
            }
            _exit(0);
        }
        struct timespec ts = {0, (long)(1 + 3 * round) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        if (pr_recsys_open(&r, PATH, &err) != 0) {
            fprintf(stderr, "  round %d: %s\n", round, err.msg);
            loadable = 0;
            continue;
        }
        if (r.n_items < last) loadable = 0; /* never goes back */
        last = r.n_items;
        pr_recsys_close(&r);
    }
    CHECK(loadable);
    fprintf(stderr, "  %d items added across %d killed writers\n", last - n0, rounds);
    const char *id = "after-the-kills"; /* and the file is still writable */
    float V[8] = {0};
    CHECK_EQ_INT(pr_modelfile_add_items(PATH, 1, &id, V, NULL, &err), 0);
    remove_temps("build", "test_cold_file.model");
}

/* Two writers at once: the flock serialises them, no item is lost. */
TEST(test_add_items_concurrent_writers) {
    make_model(PATH, "bprmf");
    pr_error err;
    pr_recsys r;
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    int32_t n0 = r.n_items;
    pr_recsys_close(&r);
    enum { EACH = 15 };
    pid_t pid[2];
    for (int w = 0; w < 2; w++) {
        if ((pid[w] = fork()) == 0) {
            float V[8] = {(float)w};
            int bad = 0;
            for (int k = 0; k < EACH; k++) {
                char id[32];
                snprintf(id, sizeof id, "w%d-%d", w, k);
                const char *ids[1] = {id};
                bad |= pr_modelfile_add_items(PATH, 1, ids, V, NULL, NULL) != 0;
            }
            _exit(bad);
        }
    }
    int st[2];
    for (int w = 0; w < 2; w++) waitpid(pid[w], &st[w], 0);
    CHECK(WIFEXITED(st[0]) && WEXITSTATUS(st[0]) == 0 && WIFEXITED(st[1]) && WEXITSTATUS(st[1]) == 0);
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    CHECK_EQ_INT(r.n_items, n0 + 2 * EACH);
    CHECK(pr_idmap_get(r.items, "w0-14") >= 0 && pr_idmap_get(r.items, "w1-14") >= 0);
    pr_recsys_close(&r);
}

/* History recommendations: the folded-in vector's scores, history excluded;
 * ItemKNN sums the history's similarity rows. */
TEST(test_recommend_history) {
    make_model(PATH, "bprmf");
    pr_recsys r;
    pr_error err;
    CHECK_EQ_INT(pr_recsys_open(&r, PATH, &err), 0);
    int32_t hist[3] = {2, 7, 11}, idx[5];
    float val[5], u[8], prior[8];
    CHECK_EQ_INT(pr_recsys_recommend_history(&r, hist, 3, 5, NULL, idx, val, &err), 5);
    pr_foldin_opts o;
    pr_recsys_foldin_opts(&r, &o, prior); /* no meta: lambda 0.1, target 1, the average user as prior */
    CHECK(o.prior == prior && o.lambda == 0.1 && o.target == 1.0);
    for (int k = 0; k < 8; k++) {
        double s = 0;
        int cnt = 0;
        for (int32_t a = 0; a < r.n_users; a++)
            if (pr_csr_row_len(r.train, a)) s += r.U[a * 8 + k], cnt++;
        CHECK_NEAR(prior[k], s / cnt, 1e-5);
    }
    CHECK_EQ_INT(pr_foldin(r.V, r.n_items, r.d, hist, 3, &o, u, &err), 0);
    double best = -1e30;
    int32_t arg = -1;
    for (int32_t i = 0; i < r.n_items; i++) {
        if (i == 2 || i == 7 || i == 11) continue;
        double s = r.b[i];
        for (int k = 0; k < r.d; k++) s += (double)u[k] * r.V[i * r.d + k];
        if (s > best) best = s, arg = i;
    }
    CHECK_EQ_INT(idx[0], arg);
    CHECK_NEAR(val[0], best, 1e-4);
    for (int j = 0; j < 5; j++) CHECK(idx[j] != 2 && idx[j] != 7 && idx[j] != 11);
    CHECK_EQ_INT(pr_recsys_recommend_history(&r, hist, 0, 5, NULL, idx, val, &err), PR_E_ARG);
    /* explicit options win over the file's */
    pr_foldin_opts_default(&o);
    o.lambda = 5;
    float val2[5];
    int32_t idx2[5];
    CHECK_EQ_INT(pr_recsys_recommend_history(&r, hist, 3, 5, &o, idx2, val2, &err), 5);
    CHECK_EQ_INT(pr_foldin(r.V, r.n_items, r.d, hist, 3, &o, u, &err), 0);
    double s2 = r.b[idx2[0]];
    for (int k = 0; k < r.d; k++) s2 += (double)u[k] * r.V[idx2[0] * r.d + k];
    CHECK_NEAR(val2[0], s2, 1e-4);
    /* the target: mean training score */
    double t = 0;
    for (int32_t a = 0; a < r.n_users; a++)
        for (int64_t p = r.train->indptr[a]; p < r.train->indptr[a + 1]; p++)
            for (int k = 0; k < r.d; k++) t += (double)r.U[a * r.d + k] * r.V[r.train->indices[p] * r.d + k];
    CHECK_NEAR(pr_foldin_target(r.U, r.V, r.d, r.train), t / r.train->nnz, 1e-6);
    pr_recsys_close(&r);
    make_model("build/test_cold_file.knn", "itemknn");
    CHECK_EQ_INT(pr_recsys_open(&r, "build/test_cold_file.knn", &err), 0);
    CHECK_EQ_INT(pr_recsys_recommend_history(&r, hist, 2, 3, NULL, idx, val, &err), 3);
    double s0 = 0;
    for (int q = 0; q < 2; q++)
        for (int64_t p = r.knn->indptr[hist[q]]; p < r.knn->indptr[hist[q] + 1]; p++)
            if (r.knn->indices[p] == idx[0]) s0 += r.knn->val[p];
    CHECK_NEAR(val[0], s0, 1e-5);
    pr_recsys_close(&r);
    unlink("build/test_cold_file.knn");
}

int main(void) {
    pr_log_set_level(0);
    RUN(test_add_items_round_trip);
    RUN(test_add_items_bad_input_leaves_file);
    RUN(test_add_items_killed_writer);
    RUN(test_add_items_concurrent_writers);
    RUN(test_recommend_history);
    unlink(PATH);
    return t_done();
}
