/* tests/cli/test_cold_cli.c: cold start through the polyrec binary ($POLYREC,
 * default build/polyrec), on a tiny synthetic shop built here: product photos
 * drawn with pr_png_write (dresses and boots in four colours, floral or
 * plain), descriptions, and shoppers whose taste is a colour and an article.
 *
 * The story: BPR-MF is trained with the shop's photos and texts (polyrec's
 * own encoders; fit saves the content mapper as the model's item tower). A new
 * red floral dress, never seen in training, is added with add-item from its
 * photo and description; a shopper who bought red floral dresses finds it in
 * her top 10, a shopper of black boots does not. Also: bad content is a clear
 * error that leaves the model byte-identical; sessions and new users get
 * recommendations from a history; fit reports the cold protocols. */
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/rng.h"
#include "features/image_io.h"
#include "t.h"

static char out[1 << 16];
static const char *DIR_ = "build/cold_story";

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

static double json_num(const char *text, const char *after, const char *key) {
    const char *p = after ? strstr(text, after) : text;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    p = p ? strstr(p, pat) : NULL;
    return p ? atof(p + strlen(pat)) : NAN;
}

/* Rank (1-based) of item id in a recommend --json list, 0 when absent. */
static int rank_of(const char *json, const char *id) {
    char pat[128];
    snprintf(pat, sizeof pat, "{\"item\": \"%s\"", id);
    const char *hit = strstr(json, pat);
    if (!hit) return 0;
    int r = 1;
    for (const char *p = strstr(json, "{\"item\": "); p && p < hit; p = strstr(p + 1, "{\"item\": ")) r++;
    return r;
}

static const char *COLOUR[4] = {"red", "black", "blue", "green"};
static const uint8_t RGB[4][3] = {{200, 30, 35}, {25, 25, 25}, {35, 60, 200}, {40, 160, 60}};
static const char *ARTICLE[2] = {"dress", "boots"};

/* A 48x64 product photo on white: a dress (trapezoid) or boots (an L),
 * floral ones strewn with small pale flowers. */
static int draw(const char *path, int colour, int article, int floral, pr_rng *r) {
    enum { W = 48, H = 64 };
    static uint8_t px[W * H * 3];
    memset(px, 255, sizeof px);
    int jit = (int)pr_rng_below(r, 5);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int in;
            if (article == 0) { /* dress: narrow shoulders, wide hem */
                int half = 6 + (y - 6) * (14 + jit) / (H - 12);
                in = y >= 6 && y < H - 6 && abs(x - W / 2) <= half;
            } else { /* boot: shaft and foot */
                in = (x >= 14 && x < 26 && y >= 8 && y < H - 8) || (x >= 14 && x < 40 - jit && y >= H - 20 && y < H - 8);
            }
            if (!in) continue;
            uint8_t *p = px + (y * W + x) * 3;
            for (int c = 0; c < 3; c++) p[c] = (uint8_t)PR_MAX(0, PR_MIN(255, RGB[colour][c] + (int)pr_rng_below(r, 21) - 10));
        }
    for (int f = 0; floral && f < 14; f++) { /* flowers: pale yellow blobs inside the shape */
        int cx = 12 + (int)pr_rng_below(r, 24), cy = 12 + (int)pr_rng_below(r, 40);
        for (int dy = -2; dy <= 2; dy++)
            for (int dx = -2; dx <= 2; dx++) {
                uint8_t *p = px + ((cy + dy) * W + cx + dx) * 3;
                if (dx * dx + dy * dy <= 5 && !(p[0] == 255 && p[1] == 255 && p[2] == 255)) p[0] = 250, p[1] = 230, p[2] = 120;
            }
    }
    pr_error err;
    return pr_png_write(path, px, W, H, &err);
}

static const char *FILL[6] = {"classic", "new season", "comfortable", "women", "elegant", "everyday"};

static void item_text(char *buf, size_t n, int colour, int article, int floral, pr_rng *r) {
    snprintf(buf, n, "%s %s %s, %s", COLOUR[colour], floral ? "floral" : "plain", ARTICLE[article], FILL[pr_rng_below(r, 6)]);
}

/* The shop: 4 colours x 2 articles x (5 floral + 5 plain) = 80 items; 8 taste
 * groups x 8 shoppers, 8 purchases each (7 in the taste group); shopper
 * "alice" bought only red floral dresses, "bob" only black boots. */
static int build_shop(void) {
    char path[256], text[128];
    mkdir("build", 0755);
    mkdir(DIR_, 0755);
    pr_rng r;
    pr_rng_init(&r, 2024, 1);
    snprintf(path, sizeof path, "%s/items.tsv", DIR_);
    FILE *it = fopen(path, "w");
    snprintf(path, sizeof path, "%s/inter.csv", DIR_);
    FILE *in = fopen(path, "w");
    if (!it || !in) return -1;
    fprintf(it, "item\timage\ttext\n");
    fprintf(in, "user,item\n");
    for (int c = 0; c < 4; c++)
        for (int a = 0; a < 2; a++)
            for (int k = 0; k < 10; k++) {
                int floral = k < 5;
                snprintf(path, sizeof path, "%s/%s-%s-%d.png", DIR_, COLOUR[c], ARTICLE[a], k);
                if (draw(path, c, a, floral, &r)) return -1;
                item_text(text, sizeof text, c, a, floral, &r);
                fprintf(it, "%s-%s-%d\t%s-%s-%d.png\t%s\n", COLOUR[c], ARTICLE[a], k, COLOUR[c], ARTICLE[a], k, text);
            }
    for (int g = 0; g < 8; g++)
        for (int s = 0; s < 8; s++) {
            uint8_t taken[10] = {0};
            for (int k = 0; k < 7; k++) { /* 7 of the group's 10 items */
                int j;
                do j = (int)pr_rng_below(&r, 10); while (taken[j]);
                taken[j] = 1;
                fprintf(in, "s%d-%d,%s-%s-%d\n", g, s, COLOUR[g / 2], ARTICLE[g % 2], j);
            }
            int og = (g + 1 + (int)pr_rng_below(&r, 7)) % 8; /* one item elsewhere */
            fprintf(in, "s%d-%d,%s-%s-%d\n", g, s, COLOUR[og / 2], ARTICLE[og % 2], (int)pr_rng_below(&r, 10));
        }
    for (int k = 0; k < 5; k++) { /* alice: red floral dresses (0..4); bob: black boots */
        fprintf(in, "alice,red-dress-%d\n", k);
        fprintf(in, "bob,black-boots-%d\n", k);
    }
    /* the new dress: a photo the model has never seen */
    snprintf(path, sizeof path, "%s/new-red-floral-dress.png", DIR_);
    if (draw(path, 0, 0, 1, &r)) return -1;
    snprintf(path, sizeof path, "%s/corrupt.png", DIR_);
    FILE *bad = fopen(path, "wb");
    fputs("\x89PNG\r\n\x1a\n this is not a png at all", bad);
    fclose(bad);
    fclose(it);
    fclose(in);
    return 0;
}

static char *slurp(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)*n + 1);
    *n = (long)fread(b, 1, (size_t)*n, f);
    fclose(f);
    return b;
}

static const char *MODEL = "build/cold_story/shop.model";

TEST(test_story_new_dress_reaches_the_right_shopper) {
    if (build_shop()) T_SKIP("cannot write build/cold_story");
    CHECK_EQ_INT(run("fit --data %s/inter.csv --items %s/items.tsv --model bprmf --dim 16 --epochs 60 --lr 0.02 "
                     "--threads 1 --param mapper=ridge --json --quiet --out %s", DIR_, DIR_, MODEL), 0);
    CHECK_CONTAINS(out, "\"mapper\": {\"kind\": \"ridge\"");
    CHECK_EQ_INT(run("info --model %s", MODEL), 0);
    CHECK_CONTAINS(out, "mapper=ridge");
    CHECK_EQ_INT(run("add-item --model %s --id new-red-floral-dress --image %s/new-red-floral-dress.png "
                     "--text \"red floral dress with roses, summer\"", MODEL, DIR_), 0);
    CHECK_CONTAINS(out, "added 'new-red-floral-dress'");
    CHECK_EQ_INT(run("recommend --model %s --user alice --k 10 --json", MODEL), 0);
    int ra = rank_of(out, "new-red-floral-dress");
    fprintf(stderr, "  alice ranks the new dress %d; ", ra);
    CHECK(ra >= 1 && ra <= 10);
    CHECK_EQ_INT(run("recommend --model %s --user bob --k 10 --json", MODEL), 0);
    int rb = rank_of(out, "new-red-floral-dress");
    fprintf(stderr, "bob: %s\n", rb ? "in his top 10" : "not in his top 10");
    CHECK_EQ_INT(rb, 0);
    CHECK_EQ_INT(rank_of(out, "black-boots-7") || rank_of(out, "black-boots-8") || rank_of(out, "black-boots-9"), 1);
    /* explain: placed from content, and her red dresses account for it */
    CHECK_EQ_INT(run("explain --model %s --user alice --item new-red-floral-dress --k 1 --json", MODEL), 0);
    CHECK_CONTAINS(out, "\"added\": true");
    CHECK_CONTAINS(out, "\"because\": [{\"item\": \"red-dress-");
    CHECK_EQ_INT(json_num(out, NULL, "rank"), ra);
    CHECK_EQ_INT(run("explain --model %s --history red-dress-0 --item nosuch", MODEL), 1);
    CHECK_CONTAINS(out, "'nosuch' is not an item");
    /* the new dress looks like the red dresses */
    CHECK_EQ_INT(run("similar --model %s --item new-red-floral-dress --k 5 --json", MODEL), 0);
    int red_dresses = 0;
    for (int k = 0; k < 10; k++) {
        char id[32];
        snprintf(id, sizeof id, "red-dress-%d", k);
        red_dresses += rank_of(out, id) > 0;
    }
    CHECK(red_dresses >= 3);
}

TEST(test_bad_content_leaves_model_unchanged) {
    long n0, n1;
    char *before = slurp(MODEL, &n0);
    if (!before) T_SKIP("no model from the story");
    CHECK_EQ_INT(run("add-item --model %s --id bad1 --image %s/corrupt.png --text \"red dress\"", MODEL, DIR_), 1);
    CHECK_CONTAINS(out, "corrupt.png");
    CHECK_CONTAINS(out, "bad1");
    CHECK_EQ_INT(run("add-item --model %s --id bad2 --image %s/missing.png", MODEL, DIR_), 1);
    CHECK_CONTAINS(out, "missing.png");
    CHECK_EQ_INT(run("add-item --model %s --id bad3 --text \"   \"", MODEL), 2);
    CHECK_CONTAINS(out, "text is empty");
    CHECK_EQ_INT(run("add-item --model %s --id bad4", MODEL), 2);
    CHECK_CONTAINS(out, "no content given");
    CHECK_EQ_INT(run("add-item --model %s --id bad5 --features image=1,2,3", MODEL), 2);
    CHECK_CONTAINS(out, "encoded from raw content");
    CHECK_EQ_INT(run("add-item --model %s --id bad6 --features colour=1,2", MODEL), 2);
    CHECK_CONTAINS(out, "no modality 'colour'");
    CHECK_EQ_INT(run("add-item --model %s --id red-dress-1 --text \"red dress\"", MODEL), 2);
    CHECK_CONTAINS(out, "already an item");
    CHECK_EQ_INT(run("add-item --model %s --id x --audio %s/a.wav", MODEL, DIR_), 2);
    CHECK_CONTAINS(out, "no audio modality");
    CHECK_EQ_INT(run("add-item --model %s", MODEL), 2);
    CHECK_CONTAINS(out, "--id ID");
    char *after = slurp(MODEL, &n1);
    CHECK(after && n0 == n1 && memcmp(before, after, (size_t)n0) == 0);
    free(before);
    free(after);
    /* a model without content cannot place items */
    CHECK_EQ_INT(run("fit --data %s/inter.csv --model bprmf --dim 8 --epochs 2 --quiet --out %s/plain.model", DIR_, DIR_), 0);
    CHECK_EQ_INT(run("add-item --model %s/plain.model --id z --text \"red dress\"", DIR_), 1);
    CHECK_CONTAINS(out, "no item tower");
}

TEST(test_batch_add_and_history) {
    if (access(MODEL, R_OK) != 0) T_SKIP("no model from the story");
    char path[256];
    snprintf(path, sizeof path, "%s/more.tsv", DIR_);
    FILE *f = fopen(path, "w");
    fprintf(f, "item\timage\ttext\nbatch-1\tnew-red-floral-dress.png\tred floral dress\nbatch-2\t\tblack plain boots\n");
    fclose(f);
    CHECK_EQ_INT(run("add-item --model %s --items %s --json", MODEL, path), 0);
    CHECK_EQ_INT(json_num(out, NULL, "added"), 2);
    /* a batch with one bad row adds nothing */
    f = fopen(path, "w");
    fprintf(f, "item\timage\ttext\nbatch-3\t\tblue dress\nbatch-4\tcorrupt.png\tred dress\n");
    fclose(f);
    CHECK_EQ_INT(run("add-item --model %s --items %s", MODEL, path), 1);
    CHECK_CONTAINS(out, "batch-4");
    CHECK_EQ_INT(run("similar --model %s --item batch-3", MODEL), 1);
    /* an anonymous session of black boots gets boots */
    CHECK_EQ_INT(run("recommend --model %s --history black-boots-0,black-boots-1,black-boots-2 --k 3 --json", MODEL), 0);
    CHECK_CONTAINS(out, "\"history\": \"black-boots-0,black-boots-1,black-boots-2\"");
    int boots = 0;
    for (int k = 3; k < 10; k++) {
        char id[32];
        snprintf(id, sizeof id, "black-boots-%d", k);
        boots += rank_of(out, id) > 0;
    }
    boots += rank_of(out, "batch-2") > 0;
    CHECK(boots >= 2);
    CHECK_EQ_INT(rank_of(out, "black-boots-0"), 0); /* history excluded */
    CHECK_EQ_INT(run("recommend --model %s --history nosuch", MODEL), 1);
    CHECK_CONTAINS(out, "'nosuch' is not an item");
    CHECK_EQ_INT(run("recommend --model %s --user alice --history red-dress-0", MODEL), 2);
}

/* fit on a cold-items split reports the protocols; --cold-users the fold-in. */
TEST(test_fit_cold_reports) {
    if (access(MODEL, R_OK) != 0) T_SKIP("no shop");
    CHECK_EQ_INT(run("fit --data %s/inter.csv --items %s/items.tsv --split cold-items:0.2 --model bprmf --dim 16 "
                     "--epochs 30 --lr 0.02 --threads 1 --k 5 --json --quiet --out %s/cold.model", DIR_, DIR_, DIR_), 0);
    CHECK_EQ_INT(json_num(out, NULL, "cold_items"), 16);
    CHECK_EQ_INT(json_num(out, NULL, "cold_placed"), 16);
    double ca = json_num(out, "\"cold_all\"", "recall@5"), co = json_num(out, "\"cold_only\"", "recall@5");
    double cand = json_num(out, NULL, "cold_only_candidates");
    fprintf(stderr, "  cold_all recall@5 %.3f, cold_only %.3f (random %.3f)\n", ca, co, 5.0 / cand);
    CHECK(co > 5.0 / cand + 0.15);
    CHECK(ca >= 0 && ca <= co + 1e-9);
    /* a model with its own tower uses it, unless a mapper is asked for by name */
    CHECK_EQ_INT(run("fit --data %s/inter.csv --items %s/items.tsv --split cold-items:0.2 --model vbpr --dim 8 "
                     "--epochs 3 --threads 1 --k 5 --json --quiet --out %s/cold.model", DIR_, DIR_, DIR_), 0);
    CHECK(strstr(out, "\"mapper\": {") == NULL);
    CHECK_EQ_INT(json_num(out, NULL, "cold_placed"), 16);
    CHECK_EQ_INT(run("fit --data %s/inter.csv --items %s/items.tsv --split cold-items:0.2 --model vbpr --dim 8 "
                     "--epochs 3 --threads 1 --k 5 --param mapper=ridge --json --quiet --out %s/cold.model", DIR_, DIR_,
                     DIR_), 0);
    CHECK_CONTAINS(out, "\"mapper\": {\"kind\": \"ridge\"");
    CHECK_EQ_INT(json_num(out, NULL, "cold_placed"), 16);
    CHECK_EQ_INT(run("info --model %s/cold.model", DIR_), 0);
    CHECK_CONTAINS(out, "mapper_scale="); /* the saved tower is the mapper */
    CHECK_EQ_INT(run("fit --data %s/inter.csv --model bprmf --dim 16 --epochs 30 --lr 0.02 --threads 1 --cold-users 0.25 "
                     "--json --quiet --out %s/cu.model", DIR_, DIR_), 0);
    CHECK_CONTAINS(out, "\"cold_users\": {\"held_out\": 17");
    double k1 = json_num(out, "\"k1\"", "recall@20"), k5 = json_num(out, "\"k5\"", "recall@20");
    fprintf(stderr, "  cold users recall@20: k=1 %.3f, k=5 %.3f\n", k1, k5);
    CHECK(k1 >= 0 && k1 <= 1 && k5 >= 0 && k5 <= 1);
    CHECK_EQ_INT(run("info --model %s/cu.model", DIR_), 0);
    CHECK_CONTAINS(out, "foldin_reg=");
    CHECK_EQ_INT(run("fit --data %s/inter.csv --model bprmf --cold-users 2 --out %s/x.model", DIR_, DIR_), 2);
    CHECK_EQ_INT(run("fit --data %s/inter.csv --model bprmf --param mapper=ridge --out %s/x.model", DIR_, DIR_), 2);
    CHECK_CONTAINS(out, "needs item content");
}

int main(void) {
    RUN(test_story_new_dress_reaches_the_right_shopper);
    RUN(test_bad_content_leaves_model_unchanged);
    RUN(test_batch_add_and_history);
    RUN(test_fit_cold_reports);
    return t_done();
}
