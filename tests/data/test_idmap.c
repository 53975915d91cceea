/* tests/data/test_idmap.c: string ids <-> dense indices: add/find, growth,
 * limits, save/load round trip and corrupt blobs. */
#include <stdio.h>
#include <string.h>

#include "data/idmap.h"
#include "t.h"

TEST(test_idmap_add_find) {
    pr_idmap *m = pr_idmap_new();
    CHECK(m != NULL);
    CHECK_EQ_INT(pr_idmap_add(m, "alice", 5), 0);
    CHECK_EQ_INT(pr_idmap_add(m, "bob", 3), 1);
    CHECK_EQ_INT(pr_idmap_add(m, "alice", 5), 0); /* existing: same index, no growth */
    CHECK_EQ_INT(m->n, 2);
    /* ids need not be NUL-terminated: a prefix of a longer buffer */
    CHECK_EQ_INT(pr_idmap_add(m, "carolXYZ", 5), 2);
    CHECK_STR(pr_idmap_name(m, 2), "carol");
    CHECK_EQ_INT(pr_idmap_find(m, "carolXYZ", 5), 2);
    CHECK_EQ_INT(pr_idmap_find(m, "caro", 4), -1); /* prefixes are different ids */
    CHECK_EQ_INT(pr_idmap_get(m, "bob"), 1);
    CHECK_EQ_INT(pr_idmap_get(m, "dave"), -1);
    /* UTF-8 and the empty-looking but distinct ids */
    CHECK_EQ_INT(pr_idmap_add(m, "Amélie ✓", strlen("Amélie ✓")), 3);
    CHECK_EQ_INT(pr_idmap_get(m, "Amélie ✓"), 3);
    CHECK_EQ_INT(pr_idmap_add(m, "", 0), 4);
    CHECK_EQ_INT(pr_idmap_get(m, ""), 4);
    pr_idmap_free(m);
    pr_idmap_free(NULL);
}

TEST(test_idmap_growth) {
    /* 50,000 ids: the slot table doubles many times and every id must survive */
    pr_idmap *m = pr_idmap_new();
    char buf[32];
    int bad = 0;
    for (int i = 0; i < 50000; i++) {
        int n = snprintf(buf, sizeof buf, "id-%d", i * 7919);
        if (pr_idmap_add(m, buf, (size_t)n) != i) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(m->n, 50000);
    CHECK(m->n_slots >= 100000);
    for (int i = 0; i < 50000; i += 7) {
        snprintf(buf, sizeof buf, "id-%d", i * 7919);
        if (pr_idmap_get(m, buf) != i || strcmp(pr_idmap_name(m, i), buf) != 0) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(pr_idmap_get(m, "id-1"), -1);
    pr_idmap_free(m);
}

TEST(test_idmap_limits) {
    pr_idmap *m = pr_idmap_new();
    static char big[PR_ID_MAX_LEN + 2];
    memset(big, 'x', sizeof big);
    CHECK_EQ_INT(pr_idmap_add(m, big, PR_ID_MAX_LEN), 0);       /* exactly the limit: ok */
    CHECK_EQ_INT(pr_idmap_add(m, big, PR_ID_MAX_LEN + 1), PR_E_RANGE);
    CHECK_EQ_INT(pr_idmap_add(m, "a\0b", 3), PR_E_PARSE);       /* NUL inside an id */
    CHECK_EQ_INT(m->n, 1);
    pr_idmap_free(m);
}

TEST(test_idmap_save_load) {
    pr_idmap *m = pr_idmap_new();
    const char *ids[] = {"u1", "Zoë", "", "a b,c\"d", "42"};
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(pr_idmap_add(m, ids[i], strlen(ids[i])), i);
    pr_buf b;
    pr_buf_init(&b);
    CHECK_EQ_INT(pr_idmap_save(m, &b), 0);
    pr_buf_put_u32(&b, 0xdeadbeef); /* whatever follows must stay unread */
    pr_cur c;
    pr_cur_init(&c, b.data, b.len, "users");
    pr_idmap *l = NULL;
    pr_error err = {0};
    CHECK_EQ_INT(pr_idmap_load(&l, &c, &err), 0);
    CHECK(l != NULL);
    if (l) {
        CHECK_EQ_INT(l->n, 5);
        for (int i = 0; i < 5; i++) {
            CHECK_STR(pr_idmap_name(l, i), ids[i]);
            CHECK_EQ_INT(pr_idmap_get(l, ids[i]), i);
        }
        /* the loaded map keeps working as a map */
        CHECK_EQ_INT(pr_idmap_add(l, "new", 3), 5);
    }
    uint32_t tail = 0;
    CHECK_EQ_INT(pr_cur_get_u32(&c, &tail, &err), 0);
    CHECK(tail == 0xdeadbeef);
    pr_idmap_free(l);
    pr_idmap_free(m);
    pr_buf_free(&b);
}

/* A blob of n ids and the given name bytes. */
static void blob(pr_buf *b, uint32_t n, const char *chars, int64_t len, int64_t real_len) {
    pr_buf_init(b);
    pr_buf_put_u32(b, n);
    pr_buf_put_i64(b, len);
    pr_buf_put(b, chars, (size_t)real_len);
}

static int load_err(pr_buf *b, pr_error *err) {
    pr_cur c;
    pr_cur_init(&c, b->data, b->len, "items");
    pr_idmap *l = NULL;
    int rc = pr_idmap_load(&l, &c, err);
    pr_idmap_free(l);
    pr_buf_free(b);
    return rc;
}

TEST(test_idmap_corrupt) {
    pr_buf b;
    pr_error err = {0};
    /* more ids announced than names present */
    blob(&b, 3, "a\0b\0", 4, 4);
    CHECK_EQ_INT(load_err(&b, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, "items");
    CHECK_CONTAINS(err.msg, "entry 2");
    /* names length beyond the blob (truncated file) */
    blob(&b, 2, "a\0b\0", 400, 4);
    CHECK_EQ_INT(load_err(&b, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, "truncated or corrupt");
    /* negative length */
    blob(&b, 1, "a\0", -2, 2);
    CHECK_EQ_INT(load_err(&b, &err), PR_E_FORMAT);
    /* a duplicated id would give two names one index */
    blob(&b, 2, "a\0a\0", 4, 4);
    CHECK_EQ_INT(load_err(&b, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, "entry 1");
    /* last name without its NUL */
    blob(&b, 2, "a\0bc", 4, 4);
    CHECK_EQ_INT(load_err(&b, &err), PR_E_FORMAT);
    /* header cut short */
    pr_buf_init(&b);
    pr_buf_put_u32(&b, 1);
    CHECK(load_err(&b, &err) < 0);
    /* absurd count */
    blob(&b, 0xffffffffu, "a\0", 2, 2);
    CHECK_EQ_INT(load_err(&b, &err), PR_E_FORMAT);
    /* every truncation of a valid blob fails cleanly */
    pr_idmap *m = pr_idmap_new();
    pr_idmap_add(m, "one", 3);
    pr_idmap_add(m, "two", 3);
    pr_buf ok;
    pr_buf_init(&ok);
    pr_idmap_save(m, &ok);
    int fails = 0;
    for (size_t cut = 0; cut < ok.len; cut++) {
        pr_cur c;
        pr_cur_init(&c, ok.data, cut, "items");
        pr_idmap *l = NULL;
        fails += pr_idmap_load(&l, &c, &err) < 0;
        pr_idmap_free(l);
    }
    CHECK_EQ_INT(fails, (int)ok.len);
    pr_buf_free(&ok);
    pr_idmap_free(m);
}

int main(void) {
    RUN(test_idmap_add_find);
    RUN(test_idmap_growth);
    RUN(test_idmap_limits);
    RUN(test_idmap_save_load);
    RUN(test_idmap_corrupt);
    return t_done();
}
