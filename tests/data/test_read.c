/* tests/data/test_read.c: reading interaction files: quoting, headers, line
 * endings, MovieLens and MMRec layouts, every error naming file/line/field,
 * skip_bad, and a corpus of broken files that must never crash. */
#include <stdint.h>

#include "core/rng.h"
#include "data/dataset.h"
#include "t.h"
#include "tdata.h"

static const char *uname(const pr_interactions *x, int64_t k) { return pr_idmap_name(x->users, x->user[k]); }
static const char *iname(const pr_interactions *x, int64_t k) { return pr_idmap_name(x->items, x->item[k]); }

TEST(test_quoted_csv) {
    /* quoted ids and an extra quoted column with commas, "" quotes, a tab, a
     * newline and UTF-8; the record with the newline spans lines 3-4 */
    const char *text =
        "userId,movieId,title,rating,timestamp\n"
        "1,10,\"Toy Story (1995)\",4.0,100\n"
        "\"u,2\",\"Amélie, \"\"Le fabuleux\"\"\tdestin\",\"multi\nline, title\",3.5,200\n"
        "\"Zoë\",10,\"Café \"\"Noir\"\" ☕\",5,300\n"
        "\"\"\"q\"\"\",\"\",\"\",1,400\n";
    pr_interactions *x;
    pr_error err;
    /* the last row's item is "" (empty): an error on line 6, after the
     * two-line record */
    CHECK_EQ_INT(t_read_text("quoted.csv", text, NULL, &x, &err), PR_E_PARSE);
    CHECK_CONTAINS(err.msg, "quoted.csv:6: field 'item': empty id");
    text = "userId,movieId,title,rating,timestamp\n"
           "1,10,\"Toy Story (1995)\",4.0,100\n"
           "\"u,2\",\"Amélie, \"\"Le fabuleux\"\"\tdestin\",\"multi\nline, title\",3.5,200\n"
           "\"Zoë\",10,\"Café \"\"Noir\"\" ☕\",5,300\n"
           "\"\"\"q\"\"\",\"x\"\"\",\"\",1,400\n";
    err.msg[0] = 0;
    CHECK_EQ_INT(t_read_text("quoted.csv", text, NULL, &x, &err), 0);
    if (!x) return;
    CHECK_EQ_INT(x->n, 4);
    CHECK_EQ_INT(x->header, 1);
    CHECK_EQ_INT(x->delim, ',');
    CHECK_EQ_INT(x->format, PR_FMT_CSV);
    CHECK_STR(uname(x, 1), "u,2");
    CHECK_STR(iname(x, 1), "Amélie, \"Le fabuleux\"\tdestin");
    CHECK_STR(uname(x, 2), "Zoë");
    CHECK_STR(uname(x, 3), "\"q\"");
    CHECK_STR(iname(x, 3), "x\"");
    CHECK_EQ_INT(x->item[0], x->item[2]); /* "10" twice: one item */
    CHECK_EQ_INT(x->users->n, 4);
    CHECK_EQ_INT(x->items->n, 3);
    CHECK(x->rating && x->ts && !x->label);
    if (x->rating && x->ts) {
        CHECK_NEAR(x->rating[0], 4.0, 0);
        CHECK_NEAR(x->rating[1], 3.5, 0);
        CHECK_NEAR(x->rating[2], 5.0, 0);
        CHECK_EQ_INT(x->ts[1], 200);
        CHECK_EQ_INT(x->ts[3], 400);
    }
    pr_interactions_free(x);
    /* line numbers count the newline inside the quotes: the bad rating of the
     * record after the multi-line one is on line 5 */
    text = "user,item,note,rating\n"
           "a,b,\"one\ntwo\nthree\",1\n"
           "c,d,x,bad\n";
    CHECK(t_read_text("lines.csv", text, NULL, &x, &err) < 0);
    CHECK_CONTAINS(err.msg, "lines.csv:5: field 'rating'");
}

TEST(test_header_detection) {
    pr_interactions *x;
    pr_error err;
    /* header by name, columns in another order, RecBole-style suffixes */
    CHECK_EQ_INT(t_read_text("h1.csv", "timestamp,rating:float,item_id:token,user_id:token\n"
                                       "100,4.5,i1,u1\n200,2,i2,u1\n", NULL, &x, &err), 0);
    if (x) {
        CHECK_EQ_INT(x->header, 1);
        CHECK_EQ_INT(x->n, 2);
        CHECK_STR(uname(x, 0), "u1");
        CHECK_STR(iname(x, 1), "i2");
        CHECK_NEAR(x->rating[0], 4.5, 0);
        CHECK_EQ_INT(x->ts[1], 200);
        pr_interactions_free(x);
    }
    /* synonyms: userID / itemID, customer / product, reviewerID / asin */
    const char *hdrs[] = {"userID\titemID\n", "customer_id\tproduct_id\n", "reviewerID\tasin\n",
                          "UserId\tMovieId\n"};
    for (int k = 0; k < 4; k++) {
        char text[128];
        snprintf(text, sizeof text, "%s7\t8\n", hdrs[k]);
        CHECK_EQ_INT(t_read_text("h2.tsv", text, NULL, &x, &err), 0);
        if (!x) continue;
        CHECK_EQ_INT(x->header, 1);
        CHECK_EQ_INT(x->n, 1);
        CHECK_STR(uname(x, 0), "7");
        CHECK(x->rating == NULL && x->ts == NULL);
        pr_interactions_free(x);
    }
    /* no header: positional user,item,rating,timestamp; the first line is data */
    CHECK_EQ_INT(t_read_text("h3.csv", "1,2,3.5,100\n1,3,4,101\n", NULL, &x, &err), 0);
    if (x) {
        CHECK_EQ_INT(x->header, 0);
        CHECK_EQ_INT(x->n, 2);
        CHECK_STR(uname(x, 0), "1");
        CHECK_STR(iname(x, 0), "2");
        CHECK_NEAR(x->rating[0], 3.5, 0);
        CHECK_EQ_INT(x->ts[1], 101);
        pr_interactions_free(x);
    }
    /* no header, two columns: ids that look like words stay data */
    CHECK_EQ_INT(t_read_text("h4.csv", "alice,book1\nbob,book2\n", NULL, &x, &err), 0);
    if (x) {
        CHECK_EQ_INT(x->header, 0);
        CHECK_EQ_INT(x->n, 2);
        CHECK(x->rating == NULL);
        pr_interactions_free(x);
    }
    /* unknown names but a non-numeric rating position: a header, positional columns */
    CHECK_EQ_INT(t_read_text("h5.csv", "who,what,stars_given,when_seen\nu,i,2,5\n", NULL, &x, &err), 0);
    if (x) {
        CHECK_EQ_INT(x->header, 1);
        CHECK_EQ_INT(x->n, 1);
        CHECK_NEAR(x->rating[0], 2, 0);
        CHECK_EQ_INT(x->ts[0], 5);
        pr_interactions_free(x);
    }
    /* forced: header = -1 reads a named-looking first line as data ... */
    pr_read_opts o = {.header = -1};
    CHECK_EQ_INT(t_read_text("h6.csv", "user,item\nu,i\n", &o, &x, &err), 0);
    if (x) {
        CHECK_EQ_INT(x->n, 2);
        CHECK_STR(uname(x, 0), "user");
        pr_interactions_free(x);
    }
    /* ... and header = 1 drops a numeric first line */
    o.header = 1;
    CHECK_EQ_INT(t_read_text("h7.csv", "1,2\n3,4\n", &o, &x, &err), 0);
    if (x) {
        CHECK_EQ_INT(x->n, 1);
        CHECK_STR(uname(x, 0), "3");
        pr_interactions_free(x);
    }
}

TEST(test_line_endings_and_delimiters) {
    pr_interactions *x;
    pr_error err;
    /* CRLF, a UTF-8 BOM, blank lines (also whitespace-only), no final newline */
    CHECK_EQ_INT(t_read_text("crlf.csv", "\xEF\xBB\xBFuserId,movieId,rating\r\n\r\n1,2,3\r\n  \r\n"
                                         "4,5,\"6\"\r\n\n7,8,9", NULL, &x, &err), 0);
    if (x) {
        CHECK_EQ_INT(x->n, 3);
        CHECK_STR(uname(x, 0), "1");
        CHECK_STR(iname(x, 2), "8");
        CHECK_NEAR(x->rating[1], 6, 0);
        CHECK_NEAR(x->rating[2], 9, 0);
        pr_interactions_free(x);
    }
    /* spaces around quoted fields, as hand-written CSV has them */
    CHECK_EQ_INT(t_read_text("spaces.csv", "user, item, rating\n1, \"a, b\" , 4\n", NULL, &x, &err), 0);
    if (x) {
        CHECK_STR(iname(x, 0), "a, b");
        CHECK_NEAR(x->rating[0], 4, 0);
        pr_interactions_free(x);
    }
    /* CRLF with a quoted last field */
    CHECK_EQ_INT(t_read_text("crlf2.csv", "a,\"b\"\r\nc,\"d\"\r\n", NULL, &x, &err), 0);
    if (x) {
        CHECK_EQ_INT(x->n, 2);
        CHECK_STR(iname(x, 1), "d");
        pr_interactions_free(x);
    }
    /* semicolon (decimal points stay), pipe, runs of spaces, MovieLens-1M "::" */
    const char *texts[] = {"u;i;r\n1;2;3.5\n", "1|2|3.5\n", "  1   2  3.5  \n", "1::2::3.5::978300760\n"};
    const char delims[] = {';', '|', ' ', ':'};
    for (int k = 0; k < 4; k++) {
        CHECK_EQ_INT(t_read_text("delim.txt", texts[k], NULL, &x, &err), 0);
        if (!x) continue;
        CHECK_EQ_INT(x->delim, delims[k]);
        CHECK_EQ_INT(x->n, 1);
        CHECK_STR(uname(x, 0), "1");
        CHECK_STR(iname(x, 0), "2");
        CHECK_NEAR(x->rating[0], 3.5, 0);
        pr_interactions_free(x);
    }
    /* an explicit delimiter wins over detection */
    pr_read_opts o = {.delim = ','};
    CHECK_EQ_INT(t_read_text("forced.txt", "a b,c d\n", &o, &x, &err), 0);
    if (x) {
        CHECK_STR(uname(x, 0), "a b");
        pr_interactions_free(x);
    }
}

TEST(test_movielens_udata) {
    pr_interactions *x;
    pr_error err;
    const char *udata = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"
                        "196\t377\t4\t881251000\n";
    mkdir("build/test-data/ml-100k", 0755);
    CHECK_EQ_INT(t_read_text("ml-100k/u.data", udata, NULL, &x, &err), 0);
    if (x) {
        CHECK_EQ_INT(x->format, PR_FMT_MOVIELENS);
        CHECK_EQ_INT(x->header, 0);
        CHECK_EQ_INT(x->delim, '\t');
        CHECK_EQ_INT(x->n, 4);
        CHECK_EQ_INT(x->users->n, 3);
        CHECK_EQ_INT(x->items->n, 3);
        CHECK_EQ_INT(x->user[3], 0);
        CHECK_EQ_INT(x->item[3], 2);
        CHECK_NEAR(x->rating[3], 4, 0);
        CHECK_EQ_INT(x->ts[0], 881250949);
        pr_interactions_free(x);
    }
    /* the same content under another name is found by content */
    pr_read_opts o = {.format = PR_FMT_MOVIELENS};
    CHECK_EQ_INT(t_read_text("udata-copy", udata, &o, &x, &err), 0);
    if (x) {
        CHECK_EQ_INT(x->n, 4);
        CHECK_EQ_INT(x->ts[3], 881251000);
        pr_interactions_free(x);
    }
    CHECK_EQ_INT(t_read_text("udata-copy", udata, NULL, &x, &err), 0);
    if (x) {
        CHECK_EQ_INT(x->format, PR_FMT_TSV);
        CHECK_EQ_INT(x->n, 4);
        pr_interactions_free(x);
    }
}

TEST(test_mmrec_inter) {
    pr_interactions *x;
    pr_error err;
    const char *text = "userID:token\titemID:token\trating:float\ttimestamp:float\tx_label:token\n"
                       "0\t5\t1\t0\t0\n0\t6\t1\t0\t1\n1\t5\t1\t0\t2\n1\t7\t1\t0\t0\n";
    CHECK_EQ_INT(t_read_text("toy.inter", text, NULL, &x, &err), 0);
    if (!x) return;
    CHECK_EQ_INT(x->format, PR_FMT_MMREC);
    CHECK_EQ_INT(x->n, 4);
    CHECK(x->label != NULL);
    if (x->label) {
        CHECK_EQ_INT(x->label[0], PR_LABEL_TRAIN);
        CHECK_EQ_INT(x->label[1], PR_LABEL_VALID);
        CHECK_EQ_INT(x->label[2], PR_LABEL_TEST);
        CHECK_EQ_INT(x->label[3], PR_LABEL_TRAIN);
    }
    pr_interactions_free(x);
    /* a headerless .inter takes x_label by position */
    CHECK_EQ_INT(t_read_text("nohdr.inter", "0\t5\t1\t0\t2\n", NULL, &x, &err), 0);
    if (x) {
        CHECK(x->label && x->label[0] == PR_LABEL_TEST);
        pr_interactions_free(x);
    }
    /* without x_label the labels are absent, not invented */
    CHECK_EQ_INT(t_read_text("nolabel.inter", "userID\titemID\n0\t5\n", NULL, &x, &err), 0);
    if (x) {
        CHECK(x->label == NULL);
        pr_interactions_free(x);
    }
}

/* Read text, expect failure with code and every needle in the message. */
static void expect_error(const char *name, const char *text, size_t n, const pr_read_opts *o,
                         int code, const char *needle) {
    pr_interactions *x = NULL;
    pr_error err = {0};
    int rc = pr_interactions_read(t_write_n(name, text, n), o, &x, &err);
    if (rc != code) fprintf(stderr, "  %s: rc %d (%s), message: %s\n", name, rc, pr_err_name(rc), err.msg);
    CHECK_EQ_INT(rc, code);
    CHECK(x == NULL);
    CHECK_CONTAINS(err.msg, needle);
    pr_interactions_free(x);
}
#define EXPECT_ERROR(name, text, o, code, needle) expect_error(name, text, strlen(text), o, code, needle)

TEST(test_errors) {
    EXPECT_ERROR("empty.csv", "", NULL, PR_E_PARSE, "empty.csv: empty file");
    EXPECT_ERROR("blank.csv", "\n\r\n  \n", NULL, PR_E_PARSE, "blank.csv: empty file");
    EXPECT_ERROR("hdronly.csv", "userId,movieId,rating\n", NULL, PR_E_PARSE, "hdronly.csv: header only");
    EXPECT_ERROR("hdronly2.inter", "userID\titemID\tx_label\n\n\n", NULL, PR_E_PARSE, "header only");
    EXPECT_ERROR("nocol.csv", "userId,rating\n1,2\n", NULL, PR_E_PARSE,
                 "nocol.csv:1: missing column 'item' (header: userId,rating)");
    EXPECT_ERROR("nocol2.csv", "movieId,title\n1,x\n", NULL, PR_E_PARSE, "nocol2.csv:1: missing column 'user'");
    EXPECT_ERROR("onecol.csv", "1\n2\n", NULL, PR_E_PARSE, "onecol.csv:1: missing column 'item'");
    EXPECT_ERROR("nan.csv", "u,i,r\n1,2,3\n1,3,nan\n", NULL, PR_E_NUMERIC,
                 "nan.csv:3: field 'rating': not a finite number ('nan')");
    EXPECT_ERROR("inf.csv", "u,i,r\n1,2,-inf\n", NULL, PR_E_NUMERIC, "inf.csv:2: field 'rating'");
    EXPECT_ERROR("x4.csv", "userId,movieId,rating\n1,2,3\n\n1,3,x4\n", NULL, PR_E_PARSE,
                 "x4.csv:4: field 'rating': not a number ('x4')");
    EXPECT_ERROR("absurd.csv", "u,i,r\n1,2,2e6\n", NULL, PR_E_RANGE, "absurd.csv:2: field 'rating': absurd");
    EXPECT_ERROR("absurd2.csv", "u,i,r\n1,2,-1000001\n", NULL, PR_E_RANGE, "absurd2.csv:2: field 'rating'");
    EXPECT_ERROR("label.inter", "userID\titemID\tx_label\n1\t2\t0\n1\t3\t3\n", NULL, PR_E_PARSE,
                 "label.inter:3: field 'x_label': not 0, 1 or 2");
    EXPECT_ERROR("label2.inter", "userID\titemID\tx_label\n1\t2\ttrain\n", NULL, PR_E_PARSE,
                 "label2.inter:2: field 'x_label'");
    EXPECT_ERROR("ts.csv", "user,item,rating,timestamp\n1,2,3,12.5\n", NULL, PR_E_PARSE,
                 "ts.csv:2: field 'timestamp': not an integer ('12.5')");
    EXPECT_ERROR("ts2.csv", "user,item,rating,timestamp\n1,2,3,2020-01-01\n", NULL, PR_E_PARSE,
                 "ts2.csv:2: field 'timestamp': not an integer ('2020-01-01')");
    EXPECT_ERROR("ts3.csv", "user,item,timestamp\n1,2,99999999999999999999\n", NULL, PR_E_PARSE,
                 "ts3.csv:2: field 'timestamp'");
    EXPECT_ERROR("short.csv", "user,item,rating\n1,2,3\n4,5\n", NULL, PR_E_PARSE,
                 "short.csv:3: field 'rating': missing (line has 2 fields");
    EXPECT_ERROR("emptyid.csv", "user,item\n1,\n", NULL, PR_E_PARSE, "emptyid.csv:2: field 'item': empty id");
    EXPECT_ERROR("quote.csv", "user,item\n1,\"abc\n2,3\n", NULL, PR_E_PARSE,
                 "quote.csv:2: unterminated quoted field");
    EXPECT_ERROR("quote2.csv", "user,item\n1,\"ab\"c\n", NULL, PR_E_PARSE, "quote2.csv:2: text after a closing quote");
    expect_error("nul.csv", "user,item\n1,a\0b\n", 16, NULL, PR_E_PARSE, "nul.csv:2: field 'item': id contains a NUL");
    /* an id one byte over the limit; at the limit it is fine */
    static char text[2 * PR_ID_MAX_LEN + 64];
    int n = snprintf(text, sizeof text, "user,item\n%0*d,1\n", PR_ID_MAX_LEN + 1, 7);
    expect_error("longid.csv", text, (size_t)n, NULL, PR_E_RANGE, "longid.csv:2: field 'user': id longer than 1024");
    n = snprintf(text, sizeof text, "user,item\n1,\"%0*d\"\"\"\n", PR_ID_MAX_LEN, 7); /* quoted, escaped */
    expect_error("longid2.csv", text, (size_t)n, NULL, PR_E_RANGE, "longid2.csv:2: field 'item': id longer");
    snprintf(text, sizeof text, "user,item\n%0*d,1\n", PR_ID_MAX_LEN, 7);
    pr_interactions *x = NULL;
    pr_error err;
    CHECK_EQ_INT(t_read_text("maxid.csv", text, NULL, &x, &err), 0);
    pr_interactions_free(x);
    /* more distinct ids than allowed is an error even under skip_bad */
    pr_read_opts o = {.max_ids = 2, .skip_bad = 1};
    EXPECT_ERROR("manyids.csv", "user,item\n1,a\n2,a\n1,b\n3,a\n", &o, PR_E_RANGE,
                 "manyids.csv:5: field 'user': more than 2 distinct users");
    EXPECT_ERROR("manyitems.csv", "user,item\n1,a\n1,b\n1,c\n", &o, PR_E_RANGE, "manyitems.csv:4: field 'item'");
    /* files that are not there, or not files */
    pr_interactions *y = NULL;
    CHECK_EQ_INT(pr_interactions_read("build/test-data/does-not-exist.csv", NULL, &y, &err), PR_E_IO);
    CHECK_CONTAINS(err.msg, "does-not-exist.csv");
    CHECK_EQ_INT(pr_interactions_read("build/test-data", NULL, &y, &err), PR_E_IO);
    CHECK(y == NULL);
}

TEST(test_skip_bad) {
    const char *text = "userId,movieId,rating,timestamp\n"
                       "1,10,4,100\n"
                       "2,11,x4,101\n"         /* bad rating */
                       "bad_user_only\n"       /* missing fields */
                       "3,12,nan,102\n"        /* NaN */
                       "4,13,5,1.5\n"          /* bad timestamp */
                       "1,\"unterminated\n"    /* broken quotes: this line only */
                       "5,14,3,103\n"
                       "6,15,3e9,104\n"        /* absurd */
                       "1,11,2,105\n";
    pr_interactions *x;
    pr_error err;
    CHECK(t_read_text("skip.csv", text, NULL, &x, &err) < 0);
    CHECK_CONTAINS(err.msg, "skip.csv:3: field 'rating'");
    pr_read_opts o = {.skip_bad = 1};
    CHECK_EQ_INT(t_read_text("skip.csv", text, &o, &x, &err), 0);
    if (!x) return;
    CHECK_EQ_INT(x->n, 3);
    CHECK_EQ_INT(x->skipped, 6);
    /* skipped lines add no ids: users 1, 5; items 10, 14, 11 */
    CHECK_EQ_INT(x->users->n, 2);
    CHECK_EQ_INT(x->items->n, 3);
    CHECK_STR(uname(x, 1), "5");
    CHECK_STR(iname(x, 2), "11");
    CHECK_EQ_INT(x->ts[2], 105);
    pr_interactions_free(x);
    /* nothing valid at all */
    o.skip_bad = 1;
    CHECK(t_read_text("allbad.csv", "u,i,r\n1,2,x\n3,4,y\n", &o, &x, &err) < 0);
    CHECK_CONTAINS(err.msg, "allbad.csv: no valid interactions (2 malformed lines skipped)");
}

TEST(test_push_and_names) {
    pr_interactions *x = pr_interactions_new();
    pr_error err;
    CHECK_EQ_INT(pr_interactions_push(x, "u", "i", 1, 0, 0, &err), 0);
    /* adding a rating column later fills earlier rows with 1 */
    CHECK_EQ_INT(pr_interactions_reserve(x, 1, 1, 1, 1), 0);
    for (int k = 0; k < 200; k++) {
        char it[16];
        snprintf(it, sizeof it, "i%d", k % 50);
        CHECK_EQ_INT(pr_interactions_push(x, k % 2 ? "u" : "v", it, (float)k, k, k % 3, &err), 0);
    }
    CHECK_EQ_INT(x->n, 201);
    CHECK(x->cap >= 201);
    CHECK_NEAR(x->rating[0], 1, 0);
    CHECK_EQ_INT(x->label[0], 0);
    CHECK_NEAR(x->rating[200], 199, 0);
    CHECK_EQ_INT(x->label[200], 199 % 3);
    CHECK_EQ_INT(x->users->n, 2);
    CHECK_EQ_INT(x->items->n, 51);
    CHECK_EQ_INT(pr_interactions_push(x, "u", "i", 1, 0, 7, &err), PR_E_ARG);
    pr_interactions_free(x);
    CHECK_EQ_INT(pr_format_parse("mmrec"), PR_FMT_MMREC);
    CHECK_EQ_INT(pr_format_parse("auto"), PR_FMT_AUTO);
    CHECK_EQ_INT(pr_format_parse("xml"), -1);
    CHECK_STR(pr_format_name(PR_FMT_MOVIELENS), "movielens");
}

/* A corpus of broken files: truncations at every byte and random damage of a
 * valid file. Reading must return 0 or an error with a message, never crash
 * (ASan run), and a successful read must be internally consistent. */
TEST(test_never_crash) {
    const char *good = "userId,movieId,title,rating,timestamp\r\n"
                       "1,10,\"A, \"\"b\"\"\",4.5,100\r\n"
                       "\"2\",11,\"x\ny\",3,101\r\n"
                       "2,10,plain,1e2,102\r\n";
    size_t n = strlen(good);
    char buf[256];
    pr_rng r;
    pr_rng_init(&r, 5, 0);
    const char junk[] = {'"', ',', '\n', '\r', '\t', '\0', 'x', '9', '.', '-', ' ', ':', '\xff'};
    int bad = 0, ok = 0;
    int rounds = t_sanitized() ? 300 : 1500;
    for (int t = 0; t < rounds; t++) {
        size_t len = n;
        memcpy(buf, good, n);
        if (t < (int)n) {
            len = (size_t)t; /* every truncation */
        } else {
            int hits = 1 + (int)pr_rng_below(&r, 4);
            for (int h = 0; h < hits; h++) buf[pr_rng_below(&r, (uint32_t)n)] = junk[pr_rng_below(&r, sizeof junk)];
        }
        pr_read_opts o = {.skip_bad = t & 1};
        pr_interactions *x = NULL;
        pr_error err = {0};
        int rc = pr_interactions_read(t_write_n("fuzz.csv", buf, len), &o, &x, &err);
        if (rc < 0) {
            bad += x != NULL || err.msg[0] == '\0';
            continue;
        }
        ok++;
        if (!x || x->n < 1) { bad++; continue; }
        for (int64_t k = 0; k < x->n; k++) {
            if (x->user[k] < 0 || x->user[k] >= x->users->n || x->item[k] < 0 || x->item[k] >= x->items->n) bad++;
            if (x->rating && !isfinite(x->rating[k])) bad++;
        }
        pr_interactions_free(x);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(ok > 10); /* the damage is not so heavy that nothing ever reads */
}

/* Files of exactly one page that end mid-field: a scanner reading one byte
 * past the end of the mapping would fault here. */
TEST(test_page_end) {
    static char buf[4096];
    const char *tails[] = {",\"abc", ",4.", ",", "\r", "\"", ":", ",\"a\"\"", "::", " "};
    int bad = 0;
    for (int t = 0; t < (int)(sizeof tails / sizeof *tails); t++) {
        size_t tl = strlen(tails[t]), w = 0;
        while (w + 12 + tl < sizeof buf) w += (size_t)snprintf(buf + w, sizeof buf - w, "u%d,i%d,3\n", (int)(w % 97), (int)(w % 89));
        memset(buf + w, 'x', sizeof buf - w - tl);
        memcpy(buf + sizeof buf - tl, tails[t], tl);
        for (int skip = 0; skip < 2; skip++) {
            pr_read_opts o = {.skip_bad = skip};
            pr_interactions *x = NULL;
            pr_error err = {0};
            int rc = pr_interactions_read(t_write_n("page.csv", buf, sizeof buf), &o, &x, &err);
            bad += rc == 0 ? x == NULL : err.msg[0] == '\0';
            pr_interactions_free(x);
        }
    }
    CHECK_EQ_INT(bad, 0);
}

int main(void) {
    RUN(test_quoted_csv);
    RUN(test_header_detection);
    RUN(test_line_endings_and_delimiters);
    RUN(test_movielens_udata);
    RUN(test_mmrec_inter);
    RUN(test_errors);
    RUN(test_skip_bad);
    RUN(test_push_and_names);
    RUN(test_never_crash);
    RUN(test_page_end);
    return t_done();
}
