/* tests/nn/test_param.c: the flat parameter layout: offsets and alignment,
 * sticky declaration errors, initialisers, save/load round trip by name,
 * and refusal of every corrupt or truncated blob without touching w. */
#include "nn/param.h"
#include "t.h"

TEST(test_layout) {
    pr_params P;
    pr_params_init(&P);
    int64_t a = pr_params_add(&P, "a.W", 3, 5);
    int64_t b = pr_params_add_ex(&P, "a.b", 1, 3, PR_PARAM_NO_DECAY);
    int64_t e = pr_params_add_ex(&P, "emb", 10, 4, PR_PARAM_SPARSE);
    CHECK_EQ_INT(a, 0);
    CHECK_EQ_INT(b, 16); /* 15 floats, padded to 64 bytes */
    CHECK_EQ_INT(e, 32);
    CHECK_EQ_INT(P.n_params, 72);
    CHECK_EQ_INT(P.dense_lo, 0);
    CHECK_EQ_INT(P.dense_hi, 19);
    CHECK_EQ_INT(pr_params_alloc(&P, NULL), 0);
    CHECK(((uintptr_t)(P.w + b) & 63) == 0 && ((uintptr_t)(P.g + e) & 63) == 0);
    CHECK(P.w[71] == 0.0f && P.g[0] == 0.0f);
    CHECK_STR(pr_params_find(&P, "a.b")->name, "a.b");
    CHECK(pr_params_find(&P, "nope") == NULL);
    CHECK_STR(pr_params_at(&P, 14)->name, "a.W");
    CHECK(pr_params_at(&P, 15) == NULL); /* padding */
    CHECK_STR(pr_params_at(&P, 18)->name, "a.b");
    CHECK_STR(pr_params_at(&P, 71)->name, "emb");
    CHECK(pr_params_at(&P, 72) == NULL);
    CHECK_EQ_INT(pr_param_size(pr_params_find(&P, "emb")), 40);
    pr_params_deinit(&P);
    CHECK(P.w == NULL && P.n == 0);
}

TEST(test_sticky_errors) {
    pr_params P;
    pr_error err;
    pr_params_init(&P);
    pr_params_add(&P, "W", 2, 2);
    CHECK_EQ_INT(pr_params_add(&P, "W", 2, 2), PR_E_ARG); /* duplicate */
    CHECK_EQ_INT(pr_params_add(&P, "V", 0, 2), PR_E_ARG); /* later error: first one kept */
    CHECK_EQ_INT(pr_params_alloc(&P, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "'W'");
    CHECK_CONTAINS(err.msg, "duplicate");
    pr_params_deinit(&P);

    pr_params_init(&P);
    char longname[100];
    memset(longname, 'x', 99);
    longname[99] = 0;
    CHECK_EQ_INT(pr_params_add(&P, longname, 1, 1), PR_E_ARG);
    CHECK_EQ_INT(pr_params_alloc(&P, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "name");
    pr_params_deinit(&P);

    pr_params_init(&P);
    pr_params_add(&P, "W", 2, 2);
    CHECK_EQ_INT(pr_params_alloc(&P, &err), 0);
    CHECK_EQ_INT(pr_params_add(&P, "late", 1, 1), PR_E_STATE);
    pr_params_deinit(&P);
}

TEST(test_init) {
    pr_params P, Q;
    pr_rng r1, r2;
    pr_params_init(&P);
    pr_params_init(&Q);
    int64_t W = pr_params_add(&P, "W", 200, 100), v = pr_params_add(&P, "v", 1, 5000);
    pr_params_add(&Q, "W", 200, 100);
    pr_params_add(&Q, "v", 1, 5000);
    CHECK_EQ_INT(pr_params_alloc(&P, NULL), 0);
    CHECK_EQ_INT(pr_params_alloc(&Q, NULL), 0);
    pr_rng_init(&r1, 99, 0);
    pr_rng_init(&r2, 99, 0);
    pr_params_xavier(&P, W, &r1);
    pr_params_normal(&P, v, 0.1f, &r1);
    pr_params_xavier(&Q, W, &r2);
    pr_params_normal(&Q, v, 0.1f, &r2);
    CHECK(memcmp(P.w, Q.w, (size_t)P.n_params * sizeof *P.w) == 0); /* same seed, same bits */
    double a = sqrt(6.0 / 300.0), mx = 0, s = 0, s2 = 0;
    for (int i = 0; i < 20000; i++) {
        mx = fmax(mx, fabs(P.w[W + i]));
        s += P.w[W + i];
        s2 += (double)P.w[W + i] * P.w[W + i];
    }
    CHECK(mx <= a && mx > 0.99 * a);
    CHECK_NEAR(s / 20000, 0.0, 0.01 * a);
    CHECK_NEAR(s2 / 20000, a * a / 3, 0.03 * a * a / 3); /* variance of U(-a, a) */
    s2 = 0;
    for (int i = 0; i < 5000; i++) s2 += (double)P.w[v + i] * P.w[v + i];
    CHECK_NEAR(sqrt(s2 / 5000), 0.1, 0.005);
    pr_params_zeros(&P, v);
    CHECK(P.w[v] == 0.0f && P.w[v + 4999] == 0.0f);
    pr_params_deinit(&P);
    pr_params_deinit(&Q);
}

/* A layout "W" (3, 4), "b" (1, 3), "emb" (5, 2) filled with i * 0.5. */
static void make_layout(pr_params *P, int reorder, int64_t b_cols) {
    pr_params_init(P);
    if (reorder) {
        pr_params_add_ex(P, "emb", 5, 2, PR_PARAM_SPARSE);
        pr_params_add(P, "b", 1, b_cols);
        pr_params_add(P, "W", 3, 4);
    } else {
        pr_params_add(P, "W", 3, 4);
        pr_params_add(P, "b", 1, b_cols);
        pr_params_add_ex(P, "emb", 5, 2, PR_PARAM_SPARSE);
    }
    pr_params_alloc(P, NULL);
}

TEST(test_save_load) {
    pr_params A, B, C;
    make_layout(&A, 0, 3);
    for (int i = 0; i < A.n; i++)
        for (int64_t k = 0; k < pr_param_size(&A.t[i]); k++)
            A.w[A.t[i].off + k] = (float)(i * 100 + k) * 0.5f;
    pr_buf buf;
    pr_buf_init(&buf);
    CHECK_EQ_INT(pr_params_save(&A, &buf), 0);

    /* round trip into a layout declared in another order: matched by name */
    make_layout(&B, 1, 3);
    pr_cur cur;
    pr_cur_init(&cur, buf.data, buf.len, "model.bin: params");
    CHECK_EQ_INT(pr_params_load(&B, &cur, NULL), 0);
    CHECK_EQ_INT(pr_cur_left(&cur), 0);
    for (int i = 0; i < A.n; i++) {
        const pr_param *tb = pr_params_find(&B, A.t[i].name);
        CHECK(memcmp(A.w + A.t[i].off, B.w + tb->off, (size_t)pr_param_size(tb) * sizeof(float)) ==
              0);
    }

    /* a changed shape is refused, naming the tensor and both shapes */
    pr_error err;
    make_layout(&C, 0, 4);
    C.w[0] = 42.0f;
    pr_cur_init(&cur, buf.data, buf.len, "model.bin: params");
    CHECK_EQ_INT(pr_params_load(&C, &cur, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, "model.bin: params");
    CHECK_CONTAINS(err.msg, "'b'");
    CHECK_CONTAINS(err.msg, "(1, 3)");
    CHECK_CONTAINS(err.msg, "(1, 4)");
    CHECK(C.w[0] == 42.0f); /* W came first in the blob but was not copied */
    pr_params_deinit(&C);

    /* every truncation fails cleanly and leaves B untouched */
    float before = B.w[pr_params_find(&B, "W")->off + 1];
    int all_fail = 1;
    for (size_t n = 0; n < buf.len; n++) {
        pr_cur_init(&cur, buf.data, n, "p");
        all_fail &= pr_params_load(&B, &cur, n % 2 ? &err : NULL) == PR_E_FORMAT;
    }
    CHECK(all_fail);
    CHECK(B.w[pr_params_find(&B, "W")->off + 1] == before);

    /* corrupt bytes: magic, tensor count, a name, a shape */
    uint8_t *bad = malloc(buf.len);
    const struct {
        size_t at;
        uint8_t v;
        const char *msg;
    } cases[] = {
        {0, 'X', "not a parameter blob"},
        {8, 7, "7 tensors"},
        {12 + 4, 'Q', "unknown tensor 'Q'"}, /* first name "W" -> "Q" */
        {12 + 4 + 1, 9, "shape (9, 4)"},     /* rows of W */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        memcpy(bad, buf.data, buf.len);
        bad[cases[c].at] = cases[c].v;
        pr_cur_init(&cur, bad, buf.len, "p");
        CHECK_EQ_INT(pr_params_load(&B, &cur, &err), PR_E_FORMAT);
        CHECK_CONTAINS(err.msg, cases[c].msg);
    }
    free(bad);

    pr_params none;
    pr_params_init(&none);
    pr_params_add(&none, "W", 3, 4);
    pr_cur_init(&cur, buf.data, buf.len, "p");
    CHECK_EQ_INT(pr_params_load(&none, &cur, &err), PR_E_STATE); /* not allocated */
    pr_params_deinit(&none);
    pr_buf_free(&buf);
    pr_params_deinit(&A);
    pr_params_deinit(&B);
}

int main(void) {
    RUN(test_layout);
    RUN(test_sticky_errors);
    RUN(test_init);
    RUN(test_save_load);
    return t_done();
}
