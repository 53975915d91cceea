/* tests/demo/test_demo.c: the demo's claims, checked from its outputs.
 *
 * Runs a small version of `make demo` (scripts/demo.sh with fewer items,
 * shoppers and epochs; the CLI from $POLYREC, the demo programs from
 * build/demo) and checks, from the files it leaves:
 *   - the shop: deterministic from the seed, the story planted (the newest item
 *     is the red floral summer dress, maya bought red floral dresses before),
 *     new items only in cold.tsv, photos that decode and are red where red;
 *   - the story: the new dress reaches maya's top 10 under the multimodal model
 *     the story is told with, and not under ID-only BPR-MF;
 *   - cold recall of every multimodal model far above BPR-MF's, which has no
 *     way to place a new item: among all items (Recall@20), and among the new
 *     items (Recall@10 against chance, BPR-MF's level);
 *   - the report: well-formed HTML (tests/demo/htmlcheck.h, which is itself
 *     checked on broken pages), no script, every image it shows exists;
 *   - where chromium is installed, the report renders headless to a PNG of the
 *     requested size that is not blank (skipped otherwise).
 * It trains BPR-MF, VBPR, concatenation and attention fusion (the graph
 * models are left to their own tests, to keep this one short); under
 * sanitizers a smaller shop with BPR-MF and attention only. The claims about
 * multimodal models are skipped when the build has none. */
#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fileio.h"
#include "features/image_io.h"
#include "demo/htmlcheck.h"
#include "t.h"

#define TD "build/tdemo"

static char out[1 << 16];

/* Run a shell command, stdout+stderr into out; returns the exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[4096], full[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *path) {
    char *t = NULL;
    return pr_read_file(path, &t, NULL, NULL) == 0 ? t : NULL;
}

/* value of key=... in a key=value file, as a number (NAN when absent) */
static double kv_num(const char *path, const char *key) {
    char *t = slurp(path);
    double v = NAN;
    size_t kl = strlen(key);
    for (char *p = t; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, key, kl) && p[kl] == '=') v = atof(p + kl + 1);
    free(t);
    return v;
}

static int tools_present(void) {
    return access("build/demo/shopgen", X_OK) == 0 && access("build/demo/shopeval", X_OK) == 0 &&
           access("build/demo/report", X_OK) == 0;
}

static const char *cli(void) { return getenv("POLYREC") ? getenv("POLYREC") : "build/polyrec"; }

/* ---- the HTML checker can fail ------------------------------------------------ */

TEST(test_html_checker) {
    char src[8][256];
    hc_result r = {.src = src, .max_src = 8};
    const char *good = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>a &amp; b</title>"
                       "<style>p>b{color:red}</style></head>\n<body><p>x &lt; y &#8212; &#x2014;<img src=\"a/b.png\" alt=\"\">"
                       "<br></p><svg width=\"10\"><rect x=\"1\"/><text>t</text></svg></body></html>\n";
    CHECK_EQ_INT(html_check(good, &r), 0);
    CHECK_EQ_INT(r.n_src, 1);
    CHECK_STR(r.src[0], "a/b.png");
    CHECK_EQ_INT(r.n_svg, 1);
    static const struct { const char *html, *why; } bad[] = {
        {"<!DOCTYPE html><html><head></head><body><p><b>x</p></b></body></html>", "does not close"},
        {"<!DOCTYPE html><html><head></head><body><div></body></html>", "does not close"},
        {"<!DOCTYPE html><html><head></head><body><p class=x>y</p></body></html>", "not double-quoted"},
        {"<!DOCTYPE html><html><head></head><body>fish & chips</body></html>", "entity"},
        {"<!DOCTYPE html><html><head></head><body>1 < 2</body></html>", "does not start a tag"},
        {"<!DOCTYPE html><html><head></head><body><img src=\"a\"></img></body></html>", "does not close"},
        {"<!DOCTYPE html><html><head></head><body><script>x()</script></body></html>", "script"},
        {"<html><head></head><body></body></html>", "DOCTYPE"},
        {"<!DOCTYPE html><html><head></head><body><p>", "never closed"},
        {"<!DOCTYPE html><html><head></head><body></body></html><body></body>", "once each"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int rc = html_check(bad[k].html, &r);
        CHECK_EQ_INT(rc, -1);
        CHECK_CONTAINS(r.msg, bad[k].why);
    }
}

/* ---- the shop ------------------------------------------------------------------- */

/* count rows of a TSV file whose column col equals val (col < 0: all data rows) */
static int count_rows(const char *path, int col, const char *val) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    int n = 0, first = 1;
    while (fgets(line, sizeof line, f)) {
        if (first) { first = 0; continue; }
        line[strcspn(line, "\r\n")] = '\0';
        char *fld = line;
        for (int c = 0; c < col && fld; c++) {
            fld = strchr(fld, '\t');
            if (fld) fld++;
        }
        if (col < 0 || (fld && !strncmp(fld, val, strlen(val)) && (fld[strlen(val)] == '\t' || !fld[strlen(val)]))) n++;
    }
    fclose(f);
    return n;
}

TEST(test_shop_generator) {
    if (!tools_present()) T_SKIP("build/demo tools not built (make)");
    CHECK_EQ_INT(sh("rm -rf " TD "/shopA " TD "/shopB " TD "/shopC && mkdir -p " TD), 0);
    const char *flags = "--items 200 --users 60 --size 48 --threads 2 --quiet";
    CHECK_EQ_INT(sh("build/demo/shopgen --out " TD "/shopA --seed 3 %s", flags), 0);
    CHECK_CONTAINS(out, "200 items (20 arriving after the cut), 60 shoppers");
    CHECK_EQ_INT(sh("build/demo/shopgen --out " TD "/shopB --seed 3 %s", flags), 0);
    CHECK_EQ_INT(sh("build/demo/shopgen --out " TD "/shopC --seed 4 %s", flags), 0);
    /* same seed, same shop, photos included; another seed, another shop */
    CHECK_EQ_INT(sh("cmp " TD "/shopA/items.tsv " TD "/shopB/items.tsv && cmp " TD "/shopA/interactions.tsv " TD
                    "/shopB/interactions.tsv && cmp " TD "/shopA/images/i00077.png " TD "/shopB/images/i00077.png"), 0);
    CHECK(sh("cmp -s " TD "/shopA/interactions.tsv " TD "/shopC/interactions.tsv") != 0);
    /* the planted story */
    const char *items = TD "/shopA/items.tsv";
    CHECK_EQ_INT(count_rows(items, -1, NULL), 200);
    CHECK_EQ_INT(count_rows(items, 6, "1"), 20);
    CHECK_EQ_INT(sh("awk -F'\\t' '$4==\"dress\" && $5==\"red\" && $6==\"floral\" && $7==\"0\"' %s | wc -l | tr -d ' \\n'", items), 0);
    CHECK_STR(out, "8");
    CHECK_EQ_INT(sh("tail -n 1 %s | cut -f1,3,7", items), 0);
    CHECK_STR(out, "i00200\tred floral summer dress\t1\n");
    CHECK_NEAR(kv_num(TD "/shopA/shop.txt", "items"), 200, 0);
    /* maya: 6 warm red floral dresses, then the new dress, only in cold.tsv */
    CHECK_EQ_INT(sh("awk -F'\\t' 'NR==FNR { k[$1] = $4 \"/\" $5 \"/\" $6; next } $1 == \"maya\" && k[$2] == \"dress/red/floral\"' "
                    "%s " TD "/shopA/warm.tsv | wc -l | tr -d ' \\n'", items), 0);
    CHECK_STR(out, "6");
    CHECK_EQ_INT(count_rows(TD "/shopA/cold.tsv", 1, "i00200") >= 1, 1);
    CHECK_EQ_INT(sh("grep -c 'maya	i00200' " TD "/shopA/cold.tsv | tr -d '\\n'"), 0);
    CHECK_STR(out, "1");
    /* warm.tsv has no new item, cold.tsv nothing else; together they are the whole log */
    CHECK_EQ_INT(sh("awk -F'\\t' 'NR==FNR { n[$1] = $7; next } FNR > 1 && n[$2] != \"0\"' %s " TD "/shopA/warm.tsv | wc -l | tr -d ' \\n'", items), 0);
    CHECK_STR(out, "0");
    CHECK_EQ_INT(sh("awk -F'\\t' 'NR==FNR { n[$1] = $7; next } FNR > 1 && n[$2] != \"1\"' %s " TD "/shopA/cold.tsv | wc -l | tr -d ' \\n'", items), 0);
    CHECK_STR(out, "0");
    int all = count_rows(TD "/shopA/interactions.tsv", -1, NULL);
    CHECK_EQ_INT(all, count_rows(TD "/shopA/warm.tsv", -1, NULL) + count_rows(TD "/shopA/cold.tsv", -1, NULL));
    CHECK_NEAR(kv_num(TD "/shopA/shop.txt", "events"), all, 0);
    /* the dress's photo decodes, at the requested size, and is red where painted */
    pr_image im = {0};
    pr_error err = {0};
    CHECK_EQ_INT(pr_image_read(TD "/shopA/images/i00200.png", &im, &err), 0);
    CHECK_EQ_INT(im.w, 48);
    CHECK_EQ_INT(im.h, 48);
    long painted = 0, red = 0, other = 0; /* petals are white and gold: count hues that dominate */
    for (int k = 0; im.rgb && k < im.w * im.h; k++) {
        const uint8_t *px = im.rgb + 3 * k;
        if (px[0] > 235 && px[1] > 235 && px[2] > 235) continue; /* white ground */
        painted++;
        red += px[0] > px[1] + 60 && px[0] > px[2] + 60;
        other += (px[1] > px[0] + 40 && px[1] > px[2]) || (px[2] > px[0] + 40 && px[2] > px[1]);
    }
    CHECK(painted > 200);
    CHECK(red > painted / 3);
    CHECK(red > 10 * other);
    pr_image_free(&im);
    /* errors are clear */
    CHECK_EQ_INT(sh("build/demo/shopgen --out " TD "/shopX --mnist " TD "/nowhere --items 100 --quiet"), 1);
    CHECK_CONTAINS(out, TD "/nowhere/train-labels-idx1-ubyte.gz");
    CHECK_CONTAINS(out, "dataset-fashion-mnist");
    CHECK_EQ_INT(sh("build/demo/shopgen --items 5"), 2);
    CHECK_CONTAINS(out, "--items: '5' is not an integer in [100, 20000]");
    CHECK_EQ_INT(sh("build/demo/shopgen --colour red"), 2);
    CHECK_CONTAINS(out, "unknown flag '--colour'");
}

/* ---- the small demo ------------------------------------------------------------------ */

static int demo_ran;

static int model_trained(const char *name) {
    char line[512];
    FILE *f = fopen(TD "/out/results/models.txt", "r");
    int ok = 0;
    while (f && fgets(line, sizeof line, f)) {
        size_t n = strlen(name);
        if (!strncmp(line, name, n) && line[n] == '\t' && strstr(line, "\ttrained")) ok = 1;
    }
    if (f) fclose(f);
    return ok;
}

/* rank (1-based) of item in the top list of a `recommend --json` file, 0 when absent */
static int rank_in(const char *path, const char *item) {
    char *t = slurp(path), pat[64];
    int rank = 0, k = 0;
    snprintf(pat, sizeof pat, "\"item\": \"%s\"", item);
    for (char *p = t; p && (p = strstr(p, "\"item\": \"")); p++) {
        k++;
        if (!strncmp(p, pat, strlen(pat))) {
            rank = k;
            break;
        }
    }
    free(t);
    return rank;
}

TEST(test_small_demo_claims) {
    if (!tools_present()) T_SKIP("build/demo tools not built (make)");
    if (access(cli(), X_OK) != 0) T_SKIP("polyrec CLI not built");
    int san = t_sanitized();
    int rc = sh("rm -rf " TD "/out && POLYREC=%s DEMO_OUT=" TD "/out DEMO_ITEMS=%d DEMO_USERS=%d DEMO_EPOCHS=%d "
                "DEMO_PATIENCE=6 DEMO_THREADS=2 DEMO_MODELS='%s' scripts/demo.sh > " TD "/demo.log",
                cli(), san ? 400 : 600, san ? 150 : 200, san ? 25 : 40,
                san ? "bprmf attention" : "bprmf vbpr concat attention");
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "%s\n", out);
        return;
    }
    demo_ran = 1;
    char *log = slurp(TD "/demo.log");
    CHECK_CONTAINS(log, "== comparison");
    CHECK_CONTAINS(log, "== the story: maya likes red floral dresses");
    free(log);
    CHECK(model_trained("bprmf"));
    const char *R = TD "/out/results";
    char path[512];
    /* BPR-MF cannot place a new item: the dress is not in her top 10, and cold recall among all items is ~0 */
    double bpr_all = kv_num(TD "/out/results/bprmf/cold.txt", "cold.all.recall@20");
    double bpr_new = kv_num(TD "/out/results/bprmf/cold.txt", "cold.new.recall@10");
    double chance = 10.0 / kv_num(TD "/out/shop/shop.txt", "new_items");
    CHECK(bpr_all < 0.02);
    static const char *const mm[] = {"attention", "concat", "vbpr"};
    int n_mm = 0, story_checked = 0;
    for (size_t k = 0; k < sizeof mm / sizeof mm[0]; k++) {
        if (!model_trained(mm[k])) continue;
        n_mm++;
        snprintf(path, sizeof path, "%s/%s/cold.txt", R, mm[k]);
        double all = kv_num(path, "cold.all.recall@20"), nw = kv_num(path, "cold.new.recall@10");
        fprintf(stderr, "  %s: cold recall@20 among all items %.4f, recall@10 among new %.4f (bprmf %.4f, %.4f; chance %.4f)\n",
                mm[k], all, nw, bpr_all, bpr_new, chance);
        /* "far above": among all items, where BPR-MF's new items score 0 and never reach a
         * top 20, every multimodal model by 0.03 and the story's model by 0.1; among the new
         * items, Recall@10 at least 1.5x chance (10 / new items: BPR-MF's level, whose order
         * of the tied new items is arbitrary) */
        CHECK(all > bpr_all + 0.03);
        CHECK(nw > 1.5 * chance);
        if (!story_checked) { /* the story is told with the first of attention, concat, vbpr */
            story_checked = 1;
            CHECK(all > bpr_all + 0.1);
            char dress[16];
            snprintf(dress, sizeof dress, "i%05d", san ? 400 : 600);
            snprintf(path, sizeof path, "%s/%s/after.json", R, mm[k]);
            int at = rank_in(path, dress);
            fprintf(stderr, "  %s: the new dress is #%d in maya's top 10\n", mm[k], at);
            CHECK(at >= 1 && at <= 10);
            snprintf(path, sizeof path, "%s/%s/before.json", R, mm[k]);
            CHECK_EQ_INT(rank_in(path, dress), 0);
            CHECK_EQ_INT(rank_in(TD "/out/results/bprmf/after.json", dress), 0);
        }
    }
    if (!n_mm) T_SKIP("no multimodal model in this build: the cold claims are not checked");
}

/* ---- the report ------------------------------------------------------------------------ */

TEST(test_report_well_formed) {
    if (!demo_ran) T_SKIP("the small demo did not run");
    char *html = slurp(TD "/out/report.html");
    CHECK(html != NULL);
    if (!html) return;
    static char src[256][256];
    hc_result r = {.src = src, .max_src = 256};
    int rc = html_check(html, &r);
    CHECK_EQ_INT(rc, 0);
    if (rc) fprintf(stderr, "  report.html: %s\n", r.msg);
    CHECK(r.n_svg >= 3); /* metrics, two curves (plus weight bars) */
    CHECK(r.n_img >= 20);
    CHECK_EQ_INT(r.n_src, r.n_img);
    int missing = 0;
    for (int k = 0; k < r.n_src; k++) {
        char path[512];
        snprintf(path, sizeof path, TD "/out/%.255s", src[k]);
        CHECK(strncmp(src[k], "http", 4) != 0 && src[k][0] != '/');
        if (access(path, R_OK) != 0 && missing++ < 3) fprintf(stderr, "  missing image %s\n", path);
    }
    CHECK_EQ_INT(missing, 0);
    CHECK_CONTAINS(html, "maya");
    CHECK_CONTAINS(html, "red floral summer dress");
    CHECK_CONTAINS(html, "validation Recall@20");
    CHECK(strstr(html, "http://") == NULL && strstr(html, "https://") == NULL); /* no network */
    free(html);
}

static const char *find_chromium(void) {
    static const char *const names[] = {"chromium", "chromium-browser", "google-chrome", NULL};
    static char path[512];
    const char *env = getenv("PATH");
    for (int k = 0; names[k]; k++) {
        char dirs[4096];
        snprintf(dirs, sizeof dirs, "%s", env ? env : "/usr/bin:/bin");
        for (char *d = strtok(dirs, ":"); d; d = strtok(NULL, ":")) {
            snprintf(path, sizeof path, "%s/%s", d, names[k]);
            if (access(path, X_OK) == 0) return path;
        }
    }
    return NULL;
}

TEST(test_report_renders_in_chromium) {
    if (!demo_ran) T_SKIP("the small demo did not run");
    const char *chrome = find_chromium();
    if (!chrome) T_SKIP("chromium is not installed");
    char profile[] = "/tmp/polyrec-chromium-XXXXXX", shot[512], page[600], cwd[400];
    if (!mkdtemp(profile) || !getcwd(cwd, sizeof cwd)) T_SKIP("no temporary profile directory");
    snprintf(shot, sizeof shot, "%s/" TD "/report.png", cwd);
    snprintf(page, sizeof page, "file://%s/" TD "/out/report.html", cwd);
    unlink(shot);
    int rc = sh("timeout 60 %s --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                "--disable-background-networking --disable-component-update --disable-sync --hide-scrollbars "
                "--user-data-dir=%s --screenshot=%s --window-size=1200,1600 %s",
                chrome, profile, shot, page);
    char chrome_out[512];
    snprintf(chrome_out, sizeof chrome_out, "%.500s", out);
    sh("rm -rf %s", profile);
    if (rc != 0 && access(shot, R_OK) != 0) { /* a browser that cannot start here is not the report's fault */
        fprintf(stderr, "  chromium exited %d: %s\n", rc, chrome_out);
        T_SKIP("chromium is installed but could not run headless");
    }
    CHECK_EQ_INT(rc, 0);
    pr_image im = {0};
    pr_error err = {0};
    CHECK_EQ_INT(pr_image_read(shot, &im, &err), 0);
    CHECK_EQ_INT(im.w, 1200);
    CHECK_EQ_INT(im.h, 1600);
    /* not blank: many colours, and the red of the dresses somewhere */
    long red = 0, nonbg = 0;
    static uint8_t seen[1 << 15];
    memset(seen, 0, sizeof seen);
    int colours = 0;
    for (long k = 0; im.rgb && k < (long)im.w * im.h; k++) {
        const uint8_t *px = im.rgb + 3 * k;
        int q = (px[0] >> 3) << 10 | (px[1] >> 3) << 5 | (px[2] >> 3);
        colours += !seen[q]++;
        nonbg += abs(px[0] - 246) + abs(px[1] - 245) + abs(px[2] - 242) > 30;
        red += px[0] > 150 && px[1] < 80 && px[2] < 90;
    }
    fprintf(stderr, "  screenshot: %d colours, %.1f%% not background, %ld red pixels\n", colours,
            100.0 * nonbg / ((double)im.w * im.h + 1), red);
    CHECK(colours > 200);
    CHECK(nonbg > (long)im.w * im.h / 20);
    CHECK(red > 500);
    pr_image_free(&im);
}

int main(void) {
    RUN(test_html_checker);
    RUN(test_shop_generator);
    RUN(test_small_demo_claims);
    RUN(test_report_well_formed);
    RUN(test_report_renders_in_chromium);
    return t_done();
}
