/* tests/features/test_items.c: ITEMS files: TSV and CSV with quotes, column
 * picking by header name, joined text columns, relative paths, errors with
 * line numbers, and the real catalogues when present. */
#include <unistd.h>

#include "features/items.h"
#include "t.h"

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

TEST(test_tsv) {
    write_file("build/test_items.tsv",
               "item\tmovieId\timage\ttext\n"
               "0\t1\t../posters/1.jpg\tToy Story (1995). Animation\n"
               "\n"
               "1\t3\t\tGrumpier Old Men\r\n"
               "2\t6\t/abs/6.jpg\t\n");
    pr_items *it = NULL;
    pr_error err = {0};
    CHECK_EQ_INT(pr_items_read("build/test_items.tsv", NULL, &it, &err), 0);
    if (!it) return;
    CHECK_EQ_INT(it->n, 3);
    CHECK(it->has_image && it->has_text && !it->has_audio);
    CHECK_STR(it->id[0], "0");
    CHECK_STR(it->image[0], "build/../posters/1.jpg");
    CHECK_STR(it->text[0], "Toy Story (1995). Animation");
    CHECK(it->image[1] == NULL);
    CHECK_STR(it->text[1], "Grumpier Old Men");
    CHECK_STR(it->image[2], "/abs/6.jpg");
    CHECK(it->text[2] == NULL && it->audio[2] == NULL);
    pr_items_free(it);
}

TEST(test_csv_quotes_and_joins) {
    write_file("build/test_items.csv",
               "\xef\xbb\xbf" "id,Title,productDisplayName,year,Description,audio,filename\r\n"
               "a1,\"Heat, the movie\",,1995,\"He said \"\"go\"\"\",a1.wav,x.txt\r\n"
               "b2,Plain,Nike Men Shoes,2012,\"two\nlines\",,y.txt\r\n"
               "c3,,,,,,\r\n");
    pr_items *it = NULL;
    pr_error err = {0};
    CHECK_EQ_INT(pr_items_read("build/test_items.csv", NULL, &it, &err), 0);
    if (!it) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    CHECK_EQ_INT(it->n, 3);
    CHECK(!it->has_image && it->has_text && it->has_audio);
    CHECK_STR(it->text[0], "Heat, the movie. He said \"go\"");
    CHECK_STR(it->text[1], "Plain. Nike Men Shoes. two\nlines");
    CHECK(it->text[2] == NULL);
    CHECK_STR(it->audio[0], "build/a1.wav");
    CHECK(it->audio[1] == NULL);
    pr_items_free(it);
    it = NULL;
    /* explicit columns */
    pr_items_opts o = {"ID", "-", "-", "Description,year"};
    CHECK_EQ_INT(pr_items_read("build/test_items.csv", &o, &it, &err), 0);
    if (it) {
        CHECK_STR(it->id[0], "a1");
        CHECK_STR(it->text[0], "He said \"go\". 1995");
        CHECK(!it->has_audio && it->audio[0] == NULL);
    }
    pr_items_free(it);
    it = NULL;
    pr_items_opts bad = {NULL, NULL, NULL, "Title,nope"};
    CHECK_EQ_INT(pr_items_read("build/test_items.csv", &bad, &it, &err), PR_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "no column 'nope'");
}

TEST(test_errors) {
    struct { const char *text, *msg; } cases[] = {
        {"item,text\na,\"x\ny\"\nb,1,2\n", "bad.csv:4: 3 fields, the header has 2"},
        {"item,text\na,x\nb,\"never closed\n\n", "bad.csv:3: unterminated quote in field 2"},
        {"item,text\na,\"x\"y\n", "bad.csv:2: field 2: text after a closing quote"},
        {"item\ttext\na\tx\n\na\ty\n", "bad.tsv:4: item 'a' repeated (first on line 2)"},
        {"item,text\n ,x\n", "bad.csv:2: empty item id"},
        {"name,text\na,x\n", "no item id column"},
        {"", "empty file"},
        {"\n\n", "empty file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = strstr(cases[i].msg, "bad.tsv") ? "build/bad.tsv" : "build/bad.csv";
        write_file(path, cases[i].text);
        pr_items *it = NULL;
        pr_error err = {0};
        CHECK(pr_items_read(path, NULL, &it, &err) < 0);
        CHECK(it == NULL);
        CHECK_CONTAINS(err.msg, cases[i].msg);
    }
    pr_items *it = NULL;
    pr_error err = {0};
    CHECK_EQ_INT(pr_items_read("build/does-not-exist.tsv", NULL, &it, &err), PR_E_IO);
    CHECK_CONTAINS(err.msg, "does-not-exist.tsv");
}

TEST(test_shared_catalogues) {
    char buf[512], b2[512];
    const char *p = t_shared("mls/items.tsv", buf, sizeof buf);
    const char *q = t_shared("fashion-products/styles.csv", b2, sizeof b2);
    if (!p && !q) T_SKIP("shared data mls/items.tsv and fashion-products/styles.csv absent");
    pr_error err = {0};
    pr_items *it = NULL;
    if (p) {
        CHECK_EQ_INT(pr_items_read(p, NULL, &it, &err), 0);
        if (it) {
            CHECK_EQ_INT(it->n, 1955);
            int with_image = 0, readable = 0, with_text = 0;
            for (int64_t i = 0; i < it->n; i++) {
                with_text += it->text[i] != NULL;
                if (!it->image[i]) continue;
                with_image++;
                if (i < 50) readable += access(it->image[i], R_OK) == 0;
            }
            CHECK_EQ_INT(with_image, 1955 - 834);
            CHECK_EQ_INT(with_text, 1955);
            CHECK(readable >= 40); /* relative to the items file: ../ml-posters/N.jpg */
            CHECK_STR(it->id[0], "0");
            CHECK(strncmp(it->text[0], "Toy Story (1995). Adventure", 27) == 0);
        }
        pr_items_free(it);
        it = NULL;
    }
    if (q) {
        CHECK_EQ_INT(pr_items_read(q, NULL, &it, &err), 0);
        if (it) {
            CHECK_EQ_INT(it->n, 999);
            CHECK(!it->has_image);
            CHECK_STR(it->id[0], "20099");
            CHECK_STR(it->text[0], "Diva Women Embroided Green Kurta"); /* productDisplayName only */
        }
        pr_items_free(it);
    }
}

int main(void) {
    RUN(test_tsv);
    RUN(test_csv_quotes_and_joins);
    RUN(test_errors);
    RUN(test_shared_catalogues);
    return t_done();
}
