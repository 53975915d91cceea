/* demo/shopgen.c: the demo's fashion shop, generated deterministically from a seed.
 *
 *   build/demo/shopgen [--out DIR] [--seed S] [--items N] [--users U]
 *                      [--new-share F%] [--size PX] [--threads T] [--mnist DIR]
 *
 * Garments are real: 28x28 silhouettes from Fashion-MNIST (Xiao et al. 2017,
 * MIT; Debian's dataset-fashion-mnist), ten classes from T-shirt to ankle
 * boot. Each catalogue item takes one silhouette, gets a colour (12) and a
 * pattern (plain, stripes, dots, checks, floral) painted inside it -- the
 * silhouette's intensity is both the mask and the shading -- is upscaled to
 * PX x PX and written as a PNG, and gets a description generated from its
 * attributes with natural variation ("scarlet flowery summer dress",
 * "navy striped cotton shirt"). Its hidden popularity is log-normal.
 *
 * Shoppers have hidden tastes over the same attributes: a set of colours,
 * patterns and categories, and weights saying how much each matters (colour
 * lovers, category shoppers, pattern fans, all-rounders -- "fine-grained
 * preference"). A shopper picks item i with probability proportional to
 *     pop_i * exp(beta * (w_col [col_i in C] + w_pat [pat_i in P] + w_cat [cat_i in K])),
 * plus 10% of picks by popularity alone, without repeats.
 *
 * Time: items arrive in id order over 150 days; the newest share (--new-share,
 * default 10%) arrives after the cut at day 180 and is the cold set: events
 * on them go to cold.tsv, the rest to warm.tsv (what models train on).
 * The story is planted: shopper "maya" likes red floral dresses (her warm
 * history holds 6 of the shop's 8 warm red floral dresses; 5% of shoppers
 * share her style) and the newest
 * item is a brand-new "red floral summer dress" she later buys.
 *
 * Output in DIR (ITEMS and interaction formats of docs/formats.md):
 *   images/iNNNNN.png   the catalogue photos
 *   items.tsv           item, image, text, category, colour, pattern, new, arrival
 *   interactions.tsv    user, item, timestamp: every event
 *   warm.tsv, cold.tsv  events on items sold before / arriving after the cut
 *   users.tsv           each shopper's hidden taste (for reading, not training)
 *   shop.txt            key=value: the parameters, counts, shopper, dress
 * Cost: one pass over the first ~N Fashion-MNIST images (gzip), N PNGs
 * (about 0.3 ms each at 96x96, threaded), U*N exponentials for the tastes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/err.h"
#include "core/fileio.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/rng.h"
#include "features/image_io.h"
#include "util.h"

#define N_CAT 10
#define N_COL 12
#define N_PAT 5
#define MNIST_SIDE 28
#define MNIST_PIX (MNIST_SIDE * MNIST_SIDE)
#define DAY 86400LL
#define T_START 1704067200LL /* 2024-01-01 */
#define T_CUT (T_START + 180 * DAY)
#define T_END (T_CUT + 30 * DAY)
#define SHOPGEN_VERSION 3 /* bump when the same seed gives another shop: demo.sh regenerates */
#define STORY_CAT 3 /* dress */
#define STORY_COL 0 /* red */
#define STORY_PAT 4 /* floral */
#define STORY_WARM 8 /* warm red floral dresses in the shop */
#define STORY_HISTORY 6 /* of which maya bought */
#define STORY_STYLE_SHARE 0.05f /* shoppers who share her style, besides the uniform draw */

/* ---- attributes and words ------------------------------------------------ */

/* Fashion-MNIST label order. */
static const char *const cat_name[N_CAT] = {"t-shirt", "trousers", "pullover", "dress", "coat",
                                            "sandals", "shirt", "sneakers", "bag", "ankle boots"};
static const char *const cat_words[N_CAT][3] = {
    {"t-shirt", "top", "tee"},       {"trousers", "pants", "chinos"}, {"pullover", "jumper", "sweater"},
    {"dress", "dress", "dress"},     {"coat", "jacket", "coat"},      {"sandals", "sandals", "flip-flops"},
    {"shirt", "blouse", "shirt"},    {"sneakers", "trainers", "sneakers"}, {"bag", "handbag", "tote bag"},
    {"ankle boots", "boots", "ankle boots"}};
static const char *const cat_extra[N_CAT][5] = {
    {"cotton", "casual", "basic", "relaxed", "summer"}, {"slim", "wide-leg", "cotton", "tailored", "cropped"},
    {"wool", "knit", "cosy", "chunky", "cashmere"},     {"summer", "midi", "wrap", "maxi", "party"},
    {"wool", "winter", "long", "rain", "quilted"},      {"summer", "flat", "strappy", "beach", "leather"},
    {"cotton", "linen", "oxford", "button-down", "slim-fit"}, {"canvas", "running", "classic", "low-top", "retro"},
    {"leather", "shoulder", "canvas", "mini", "weekend"}, {"leather", "suede", "chelsea", "heeled", "lace-up"}};

static const struct {
    const char *name;
    uint8_t rgb[3];
    const char *alt[2];
} colours[N_COL] = {
    {"red", {200, 28, 40}, {"scarlet", "bright red"}},  {"navy", {28, 38, 92}, {"navy blue", "dark navy"}},
    {"black", {32, 32, 34}, {"jet black", "black"}},    {"white", {238, 238, 232}, {"off-white", "white"}},
    {"green", {40, 130, 64}, {"forest green", "emerald"}}, {"yellow", {236, 200, 40}, {"mustard", "lemon yellow"}},
    {"pink", {236, 128, 170}, {"rose pink", "blush pink"}}, {"grey", {128, 128, 134}, {"charcoal grey", "light grey"}},
    {"beige", {212, 186, 150}, {"sand beige", "camel"}}, {"blue", {48, 110, 210}, {"sky blue", "royal blue"}},
    {"orange", {236, 120, 30}, {"burnt orange", "tangerine"}}, {"purple", {122, 50, 150}, {"plum", "violet"}}};

static const char *const pat_name[N_PAT] = {"plain", "stripes", "dots", "checks", "floral"};
static const char *const pat_words[N_PAT][3] = {{"", "plain", "solid"},
                                                {"striped", "stripy", "striped"},
                                                {"polka-dot", "dotted", "spotted"},
                                                {"checked", "plaid", "gingham"},
                                                {"floral", "flowery", "flower-print"}};
/* Share of each pattern in the catalogue (plain is the commonest). */
static const float pat_share[N_PAT] = {0.40f, 0.15f, 0.15f, 0.15f, 0.15f};

enum { KIND_COLOUR, KIND_CATEGORY, KIND_PATTERN, KIND_ALL, KIND_STORY, N_KIND };
static const char *const kind_name[N_KIND] = {"colour-lover", "category-shopper", "pattern-fan", "all-rounder", "story"};
/* weights (colour, pattern, category) by kind, before jitter */
static const float kind_w[N_KIND][3] = {{0.70f, 0.15f, 0.15f}, {0.15f, 0.15f, 0.70f},
                                        {0.15f, 0.70f, 0.15f}, {0.34f, 0.33f, 0.33f}, {0.34f, 0.33f, 0.33f}};

typedef struct item {
    int32_t src;       /* Fashion-MNIST image index */
    uint8_t cat, col, pat, is_new;
    float pop;         /* hidden popularity */
    int64_t arrival;   /* unix seconds */
    char text[112];
} item;

typedef struct user {
    char id[16];
    int kind;
    float w[3];        /* colour, pattern, category */
    uint16_t cols, pats, cats; /* bit sets */
    int n_events;
} user;

typedef struct event {
    int32_t user, item;
    int64_t ts;
} event;

typedef struct shop {
    uint64_t seed;
    int n_items, n_new, n_users, size;
    item *items;       /* (n_items) */
    uint8_t *masks;    /* (n_items, 28, 28) silhouettes */
    user *users;       /* (n_users), users[0] is maya */
    event *ev;         /* (n_ev) */
    int64_t n_ev, cap_ev;
    int32_t dress;     /* index of the story's new dress */
} shop;

static uint32_t pick_weighted(pr_rng *r, const float *w, int n) {
    float tot = 0;
    for (int k = 0; k < n; k++) tot += w[k];
    float x = pr_rng_float(r) * tot;
    for (int k = 0; k < n; k++) {
        if (x < w[k]) return (uint32_t)k;
        x -= w[k];
    }
    return (uint32_t)(n - 1);
}

/* ---- Fashion-MNIST (IDX inside gzip) ----------------------------------------- */

static int gz_read_exact(gzFile g, void *buf, unsigned n, const char *path, pr_error *err) {
    int got = gzread(g, buf, n);
    if (got != (int)n) return pr_err(err, PR_E_FORMAT, "%s: truncated IDX file", path);
    return 0;
}

static uint32_t be32(const uint8_t *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Open an IDX file and check its header: magic 0x00000801 (labels, 1 dim) or
 * 0x00000803 (images, 3 dims: n, 28, 28). *n gets the item count. */
static int idx_open(const char *path, uint32_t magic, gzFile *out, uint32_t *n, pr_error *err) {
    gzFile g = gzopen(path, "rb");
    if (!g)
        return pr_err(err, PR_E_IO, "%s: cannot open (%s); install Debian's dataset-fashion-mnist "
                      "(scripts/bootstrap.sh does)", path, strerror(errno));
    uint8_t h[16];
    int rc, dims = magic == 0x803 ? 3 : 1;
    if ((rc = gz_read_exact(g, h, 4u * (1 + dims), path, err))) goto fail;
    if (be32(h) != magic) {
        rc = pr_err(err, PR_E_FORMAT, "%s: not an IDX %s file (magic 0x%08x)", path,
                    dims == 3 ? "image" : "label", be32(h));
        goto fail;
    }
    *n = be32(h + 4);
    if (dims == 3 && (be32(h + 8) != MNIST_SIDE || be32(h + 12) != MNIST_SIDE)) {
        rc = pr_err(err, PR_E_FORMAT, "%s: images are %ux%u, expected 28x28", path, be32(h + 8), be32(h + 12));
        goto fail;
    }
    *out = g;
    return 0;
fail:
    gzclose(g);
    return rc;
}

/* Give every item a silhouette of its category: the k-th item of category c
 * takes the k-th image labelled c in file order (the file's order is already
 * shuffled), so only the first ~n_items images are decompressed. */
static int load_silhouettes(shop *s, const char *dir, pr_error *err) {
    char lpath[1024], ipath[1024];
    snprintf(lpath, sizeof lpath, "%s/train-labels-idx1-ubyte.gz", dir);
    snprintf(ipath, sizeof ipath, "%s/train-images-idx3-ubyte.gz", dir);
    gzFile gl = NULL, gi = NULL;
    uint32_t nl = 0, ni = 0;
    int rc;
    int32_t need[N_CAT] = {0}, *queue[N_CAT] = {0}, qn[N_CAT] = {0};
    uint8_t *labels = NULL;
    if ((rc = idx_open(lpath, 0x801, &gl, &nl, err)) || (rc = idx_open(ipath, 0x803, &gi, &ni, err))) goto done;
    if (nl != ni || nl == 0 || nl > 1000000) {
        rc = pr_err(err, PR_E_FORMAT, "%s: %u labels for %u images", lpath, nl, ni);
        goto done;
    }
    if (!(labels = pr_malloc(nl, 1))) { rc = pr_err(err, PR_E_NOMEM, "labels"); goto done; }
    if ((rc = gz_read_exact(gl, labels, nl, lpath, err))) goto done;
    for (int i = 0; i < s->n_items; i++) need[s->items[i].cat]++;
    for (int c = 0; c < N_CAT; c++)
        if (!(queue[c] = pr_malloc((size_t)need[c] + 1, sizeof *queue[c]))) { rc = pr_err(err, PR_E_NOMEM, "queue"); goto done; }
    /* items of each category in id order */
    for (int i = 0; i < s->n_items; i++) queue[s->items[i].cat][qn[s->items[i].cat]++] = i;
    int32_t got[N_CAT] = {0}, left = s->n_items;
    uint8_t px[MNIST_PIX];
    for (uint32_t k = 0; k < nl && left > 0; k++) {
        if ((rc = gz_read_exact(gi, px, MNIST_PIX, ipath, err))) goto done;
        int c = labels[k];
        if (c >= N_CAT) { rc = pr_err(err, PR_E_FORMAT, "%s: label %d of image %u out of range", lpath, c, k); goto done; }
        if (got[c] >= need[c]) continue;
        int32_t it = queue[c][got[c]++];
        s->items[it].src = (int32_t)k;
        memcpy(s->masks + (size_t)it * MNIST_PIX, px, MNIST_PIX);
        left--;
    }
    if (left > 0) rc = pr_err(err, PR_E_RANGE, "%s: not enough images for %d items", ipath, s->n_items);
done:
    if (gl) gzclose(gl);
    if (gi) gzclose(gi);
    for (int c = 0; c < N_CAT; c++) free(queue[c]);
    free(labels);
    return rc;
}

/* ---- the catalogue --------------------------------------------------------- */

static void describe(item *it, pr_rng *r) {
    const char *col = pr_rng_float(r) < 0.75f ? colours[it->col].name : colours[it->col].alt[pr_rng_below(r, 2)];
    const char *pat = pat_words[it->pat][pr_rng_float(r) < 0.7f ? 0 : 1 + pr_rng_below(r, 2)];
    const char *cat = cat_words[it->cat][pr_rng_below(r, 3)];
    const char *extra = pr_rng_float(r) < 0.7f ? cat_extra[it->cat][pr_rng_below(r, 5)] : "";
    char a[3][40] = {{0}};
    int n = 0;
    if (pr_rng_float(r) < 0.8f) { /* colour pattern extra category */
        snprintf(a[n++], sizeof a[0], "%s", col);
        if (*pat) snprintf(a[n++], sizeof a[0], "%s", pat);
        if (*extra) snprintf(a[n++], sizeof a[0], "%s", extra);
    } else { /* extra colour pattern category */
        if (*extra) snprintf(a[n++], sizeof a[0], "%s", extra);
        snprintf(a[n++], sizeof a[0], "%s", col);
        if (*pat) snprintf(a[n++], sizeof a[0], "%s", pat);
    }
    int len = 0;
    for (int k = 0; k < n; k++) len += snprintf(it->text + len, sizeof it->text - (size_t)len, "%s ", a[k]);
    snprintf(it->text + len, sizeof it->text - (size_t)len, "%s", cat);
}

/* Attributes, arrival and popularity of every item, then the planted story:
 * exactly STORY_WARM warm red floral dresses, and the newest item the only
 * new one, with a fixed description. */
static int make_items(shop *s, pr_error *err) {
    int n = s->n_items, n_warm = n - s->n_new;
    for (int i = 0; i < n; i++) {
        pr_rng r;
        pr_rng_init(&r, s->seed, 1000 + (uint64_t)i);
        item *it = &s->items[i];
        it->cat = (uint8_t)(i % N_CAT);
        it->col = (uint8_t)pr_rng_below(&r, N_COL);
        it->pat = (uint8_t)pick_weighted(&r, pat_share, N_PAT);
        it->pop = expf(0.9f * pr_rng_normal(&r));
        it->is_new = i >= n_warm;
        it->arrival = it->is_new ? T_CUT + (int64_t)(i - n_warm + 1) * 7 * DAY / s->n_new
                                 : T_START + (int64_t)i * 150 * DAY / n_warm;
    }
    /* category by a seeded shuffle of a balanced list, so ids are not periodic */
    pr_rng r;
    pr_rng_init(&r, s->seed, 1);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)pr_rng_below(&r, (uint32_t)i + 1);
        uint8_t t = s->items[i].cat;
        s->items[i].cat = s->items[j].cat;
        s->items[j].cat = t;
    }
    /* no natural red floral dresses; then STORY_WARM warm dresses drawn at random become ones */
    s->dress = n - 1;
    int32_t *dresses = pr_malloc((size_t)n, sizeof *dresses), n_dress = 0;
    if (!dresses) return pr_err(err, PR_E_NOMEM, "items");
    for (int i = 0; i < n; i++) {
        item *it = &s->items[i];
        if (it->cat == STORY_CAT && it->col == STORY_COL && it->pat == STORY_PAT) it->pat = 0;
        if (it->cat == STORY_CAT && !it->is_new) dresses[n_dress++] = i;
    }
    for (int k = 0; k < STORY_WARM && k < n_dress; k++) {
        int j = k + (int)pr_rng_below(&r, (uint32_t)(n_dress - k));
        int32_t t = dresses[k];
        dresses[k] = dresses[j], dresses[j] = t;
        s->items[dresses[k]].col = STORY_COL, s->items[dresses[k]].pat = STORY_PAT;
    }
    free(dresses);
    item *dr = &s->items[s->dress];
    dr->cat = STORY_CAT, dr->col = STORY_COL, dr->pat = STORY_PAT;
    for (int i = 0; i < n; i++) {
        pr_rng tr;
        pr_rng_init(&tr, s->seed, 500000 + (uint64_t)i);
        describe(&s->items[i], &tr);
    }
    snprintf(s->items[s->dress].text, sizeof s->items[0].text, "red floral summer dress");
    return 0;
}

/* ---- painting ---------------------------------------------------------------- */

typedef struct paint_job {
    const shop *s;
    const char *dir;
    int failed;
    pr_error err;
    pr_progress prog;
    int64_t done;
} paint_job;

static float dist2(float x, float y, float cx, float cy) { return (x - cx) * (x - cx) + (y - cy) * (y - cy); }

/* The floral print: flowers on a jittered grid of period P, one per cell,
 * five petals around a centre; jitter and rotation come from the item's salt
 * and the cell. Laid out once per item, then looked up per pixel. */
#define FLORAL_MAX_CELLS 20
typedef struct floral {
    float P, pr2, cr2;   /* period, squared petal and centre radii */
    int n;               /* cells per side, covering [-P, size + P) */
    float cx[FLORAL_MAX_CELLS][FLORAL_MAX_CELLS], cy[FLORAL_MAX_CELLS][FLORAL_MAX_CELLS];
    float px[FLORAL_MAX_CELLS][FLORAL_MAX_CELLS][5], py[FLORAL_MAX_CELLS][FLORAL_MAX_CELLS][5];
} floral;

static void floral_layout(floral *f, int size, uint64_t salt) {
    float P = 16 * size / 64.0f, pd = 0.22f * P;
    f->P = P, f->pr2 = (0.17f * P) * (0.17f * P), f->cr2 = (0.10f * P) * (0.10f * P);
    f->n = (int)(size / P) + 3;
    if (f->n > FLORAL_MAX_CELLS) f->n = FLORAL_MAX_CELLS;
    pr_rng r;
    pr_rng_init(&r, salt, 77);
    for (int gy = 0; gy < f->n; gy++)
        for (int gx = 0; gx < f->n; gx++) {
            float x = (gx - 1 + 0.5f + 0.4f * (pr_rng_float(&r) - 0.5f)) * P;
            float y = (gy - 1 + 0.5f + 0.4f * (pr_rng_float(&r) - 0.5f)) * P, rot = 6.2831853f * pr_rng_float(&r);
            f->cx[gy][gx] = x, f->cy[gy][gx] = y;
            for (int k = 0; k < 5; k++) {
                f->px[gy][gx][k] = x + pd * cosf(rot + 1.2566371f * k);
                f->py[gy][gx][k] = y + pd * sinf(rot + 1.2566371f * k);
            }
        }
}

/* 2 inside a flower centre, 1 inside a petal, 0 outside. */
static int floral_at(const floral *f, float x, float y) {
    int gx = (int)(x / f->P) + 1, gy = (int)(y / f->P) + 1, hit = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            int cx = gx + dx, cy = gy + dy;
            if (cx < 0 || cy < 0 || cx >= f->n || cy >= f->n) continue;
            if (dist2(x, y, f->cx[cy][cx], f->cy[cy][cx]) < f->cr2) return 2;
            for (int k = 0; k < 5 && !hit; k++) hit = dist2(x, y, f->px[cy][cx][k], f->py[cy][cx][k]) < f->pr2;
        }
    return hit;
}

/* The pattern's colour at (x, y) of a size x size image. */
static void pattern_rgb(const item *it, int x, int y, int size, uint64_t salt, const floral *fl, float out[3]) {
    const uint8_t *base = colours[it->col].rgb;
    float lum = 0.3f * base[0] + 0.59f * base[1] + 0.11f * base[2];
    static const float light[3] = {250, 250, 246}, dark[3] = {30, 40, 92}, gold[3] = {246, 196, 40},
                       rust[3] = {200, 80, 30};
    const float *sec = lum < 150 ? light : dark;
    float s = size / 64.0f, mix = 0;
    const float *other = sec;
    switch (it->pat) {
    case 1: { /* stripes: horizontal, or vertical for a third of the items */
        int v = (salt >> 7) % 3 == 0, c = v ? x : y;
        mix = fmodf(c + (float)(salt % 16), 10 * s) < 4 * s ? 1.0f : 0.0f;
        break;
    }
    case 2: { /* dots on a hexagonal grid */
        float P = 12 * s, row = floorf(y / P), off = fmodf(row, 2) * P / 2;
        float cx = floorf((x - off) / P) * P + off + P / 2, cy = row * P + P / 2;
        mix = dist2((float)x, (float)y, cx, cy) < (2.6f * s) * (2.6f * s) ? 1.0f : 0.0f;
        break;
    }
    case 3: { /* gingham: bands both ways, darker where they cross */
        float P = 12 * s;
        int hb = fmodf((float)y, P) < P / 2, vb = fmodf((float)x, P) < P / 2;
        mix = hb && vb ? 0.85f : hb || vb ? 0.45f : 0.0f;
        break;
    }
    case 4: { /* floral */
        int f = floral_at(fl, (float)x, (float)y);
        if (f == 2) other = lum > 180 && base[2] < 100 ? rust : gold;
        mix = f ? 1.0f : 0.0f;
        break;
    }
    default: break;
    }
    for (int c = 0; c < 3; c++) out[c] = base[c] * (1 - mix) + other[c] * mix;
}

/* Paint item it into rgb (size, size, 3): upscale the silhouette, use it as
 * the alpha mask (soft edge) and as shading, composite on white. tmp and up
 * are scratch of 28*size*3 and size*size*3 floats. */
static void paint(const item *it, const uint8_t *mask, int size, uint64_t salt, float *tmp, float *up,
                  uint8_t *rgb) {
    uint8_t grey[MNIST_PIX * 3];
    for (int k = 0; k < MNIST_PIX; k++) grey[3 * k] = grey[3 * k + 1] = grey[3 * k + 2] = mask[k];
    pr_image src = {MNIST_SIDE, MNIST_SIDE, grey};
    pr_image_resize_f32(&src, size, size, tmp, up);
    floral fl = {0};
    if (it->pat == 4) floral_layout(&fl, size, salt);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float m = up[(y * size + x) * 3] / 255.0f;
            float alpha = fminf(1.0f, fmaxf(0.0f, (m - 0.04f) / 0.22f));
            float shade = 0.5f + 0.5f * powf(m, 0.7f), p[3];
            pattern_rgb(it, x, y, size, salt, &fl, p);
            for (int c = 0; c < 3; c++) {
                float v = alpha * p[c] * shade + (1 - alpha) * 255.0f;
                rgb[(y * size + x) * 3 + c] = (uint8_t)fminf(255.0f, fmaxf(0.0f, v + 0.5f));
            }
        }
}

/* ---- PNG ------------------------------------------------------------------ */

/* The catalogue's PNGs are written here rather than with pr_png_write: libpng's
 * simplified API compresses at its slowest setting and pr_png_write fsyncs
 * every file, which together took 3-4 ms per photo -- most of the shop's
 * generation time. This writer emits 8-bit RGB, "Sub" filter on every row,
 * one IDAT chunk deflated at level 6 through zlib (about 0.3 ms per 96x96
 * photo). shop.txt, written last, marks a complete shop. The test decodes
 * the files with pr_image_read. scratch: (3w + 1) h bytes. */
static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static int png_chunk(FILE *f, const char *type, const uint8_t *data, uint32_t n) {
    uint8_t h[8], c[4];
    put_be32(h, n);
    memcpy(h + 4, type, 4);
    uLong crc = crc32(crc32(0L, h + 4, 4), data, n);
    put_be32(c, (uint32_t)crc);
    return fwrite(h, 1, 8, f) == 8 && (n == 0 || fwrite(data, 1, n, f) == n) && fwrite(c, 1, 4, f) == 4 ? 0 : -1;
}

static int write_png(const char *path, const uint8_t *rgb, int w, int h, uint8_t *raw, uint8_t *z, size_t zcap,
                     pr_error *err) {
    size_t stride = (size_t)w * 3 + 1;
    for (int y = 0; y < h; y++) {
        uint8_t *o = raw + y * stride;
        const uint8_t *in = rgb + (size_t)y * w * 3;
        o[0] = 1; /* Sub: each byte minus the byte one pixel to the left */
        for (int k = 0; k < w * 3; k++) o[1 + k] = (uint8_t)(in[k] - (k >= 3 ? in[k - 3] : 0));
    }
    uLongf zn = (uLongf)zcap;
    if (compress2(z, &zn, raw, (uLong)(stride * h), 6) != Z_OK) return pr_err(err, PR_E_NOMEM, "%s: deflate", path);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    uint8_t ihdr[13];
    put_be32(ihdr, (uint32_t)w);
    put_be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8, ihdr[9] = 2, ihdr[10] = ihdr[11] = ihdr[12] = 0; /* 8-bit RGB, deflate, no interlace */
    FILE *f = fopen(path, "wb");
    if (!f) return pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno));
    int bad = fwrite(sig, 1, 8, f) != 8 || png_chunk(f, "IHDR", ihdr, 13) || png_chunk(f, "IDAT", z, (uint32_t)zn) ||
              png_chunk(f, "IEND", NULL, 0);
    if (fclose(f) != 0) bad = 1;
    return bad ? pr_err(err, PR_E_IO, "%s: write failed: %s", path, strerror(errno)) : 0;
}

static void paint_slice(void *ctx, int ith, int nth) {
    paint_job *J = ctx;
    const shop *s = J->s;
    int S = s->size;
    float *tmp = pr_malloc((size_t)MNIST_SIDE * S * 3, sizeof *tmp), *up = pr_malloc((size_t)S * S * 3, sizeof *up);
    uint8_t *rgb = pr_malloc((size_t)S * S * 3, 1), *raw = pr_malloc((size_t)S * (3 * S + 1), 1);
    size_t zcap = compressBound((uLong)S * (3 * S + 1));
    uint8_t *z = pr_malloc(zcap, 1);
    int64_t b, e;
    pr_split(s->n_items, ith, nth, &b, &e);
    if (!tmp || !up || !rgb || !raw || !z) {
        J->failed = 1;
        goto done;
    }
    for (int64_t i = b; i < e && !J->failed; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/images/i%05lld.png", J->dir, (long long)i + 1);
        paint(&s->items[i], s->masks + i * MNIST_PIX, S, s->seed * 7919 + (uint64_t)i, tmp, up, rgb);
        pr_error e1 = {0};
        if (write_png(path, rgb, S, S, raw, z, zcap, &e1) != 0) {
            if (!J->failed) J->err = e1;
            J->failed = 1;
        }
        int64_t d = __atomic_add_fetch(&J->done, 1, __ATOMIC_RELAXED);
        if (ith == 0) pr_progress_update(&J->prog, d);
    }
done:
    free(tmp);
    free(up);
    free(rgb);
    free(raw);
    free(z);
}

/* ---- shoppers and their events ---------------------------------------------- */

static uint16_t pick_set(pr_rng *r, int n, int lo, int hi, const float *share) {
    int k = lo + (int)pr_rng_below(r, (uint32_t)(hi - lo + 1));
    uint16_t set = 0;
    while (__builtin_popcount(set) < k) set |= (uint16_t)(1u << (share ? pick_weighted(r, share, n) : pr_rng_below(r, (uint32_t)n)));
    return set;
}

/* Tastes come from N_STYLES shared styles (a colour set, a pattern set, a
 * category set; style 0 is the story's red floral dresses), each shopper
 * taking one style, with probability STYLE_TWEAK one of its three sets
 * replaced by her own. Shared styles are what collaborative filtering can
 * learn from purchases; the attributes are what content models can see. */
#define N_STYLES 40
#define STYLE_TWEAK 0.3f
static void make_users(shop *s) {
    static const float kind_share[4] = {0.30f, 0.30f, 0.15f, 0.25f};
    uint16_t style[N_STYLES][3];
    pr_rng sr;
    pr_rng_init(&sr, s->seed, 2);
    for (int k = 0; k < N_STYLES; k++) {
        style[k][0] = pick_set(&sr, N_COL, 1, 2, NULL);
        style[k][1] = pick_set(&sr, N_PAT, 1, 2, pat_share);
        style[k][2] = pick_set(&sr, N_CAT, 1, 3, NULL);
    }
    style[0][0] = 1u << STORY_COL, style[0][1] = 1u << STORY_PAT, style[0][2] = 1u << STORY_CAT;
    for (int u = 0; u < s->n_users; u++) {
        user *us = &s->users[u];
        pr_rng r;
        pr_rng_init(&r, s->seed, 2000000 + (uint64_t)u);
        us->kind = u == 0 ? KIND_STORY : (int)pick_weighted(&r, kind_share, 4);
        float tot = 0;
        for (int k = 0; k < 3; k++) tot += us->w[k] = kind_w[us->kind][k] * (0.8f + 0.4f * pr_rng_float(&r));
        for (int k = 0; k < 3; k++) us->w[k] /= tot;
        int st = u == 0 || pr_rng_float(&r) < STORY_STYLE_SHARE ? 0 : (int)pr_rng_below(&r, N_STYLES);
        us->cols = style[st][0], us->pats = style[st][1], us->cats = style[st][2];
        if (u > 0 && pr_rng_float(&r) < STYLE_TWEAK) {
            switch (pr_rng_below(&r, 3)) {
            case 0: us->cols = pick_set(&r, N_COL, 1, 2, NULL); break;
            case 1: us->pats = pick_set(&r, N_PAT, 1, 2, pat_share); break;
            default: us->cats = pick_set(&r, N_CAT, 1, 3, NULL); break;
            }
        }
        us->n_events = 10 + (int)(18.0f * expf(0.5f * pr_rng_normal(&r)));
        if (us->n_events > 80) us->n_events = 80;
        snprintf(us->id, sizeof us->id, "u%04d", u);
        if (u == 0) {
            snprintf(us->id, sizeof us->id, "maya");
            us->n_events = 16;
        }
    }
}

static int push_event(shop *s, int32_t u, int32_t i, pr_rng *r) {
    if (s->n_ev == s->cap_ev) {
        int64_t cap = s->cap_ev ? 2 * s->cap_ev : 1 << 16;
        event *ev = pr_realloc(s->ev, (size_t)cap, sizeof *ev);
        if (!ev) return PR_E_NOMEM;
        s->ev = ev, s->cap_ev = cap;
    }
    const item *it = &s->items[i];
    int64_t end = it->is_new ? T_END : T_CUT;
    s->ev[s->n_ev++] = (event){u, i, it->arrival + (int64_t)(pr_rng_double(r) * (double)(end - it->arrival - 1))};
    return 0;
}

static int cmp_event(const void *a, const void *b) {
    const event *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

/* Draw every shopper's events from her taste (see the file comment). maya's
 * history is planted: 6 warm red floral dresses, the rest from her taste
 * among warm items, and the new dress after the cut. */
static int make_events(shop *s, pr_error *err) {
    int n = s->n_items, rc = 0;
    double *cum = pr_malloc((size_t)n, sizeof *cum), *cum_pop = pr_malloc((size_t)n, sizeof *cum_pop);
    uint8_t *taken = pr_calloc((size_t)n, 1);
    if (!cum || !cum_pop || !taken) { rc = pr_err(err, PR_E_NOMEM, "events"); goto done; }
    double acc = 0;
    for (int i = 0; i < n; i++) cum_pop[i] = acc += s->items[i].pop;
    for (int u = 0; u < s->n_users; u++) {
        const user *us = &s->users[u];
        pr_rng r;
        pr_rng_init(&r, s->seed, 3000000 + (uint64_t)u);
        int story = us->kind == KIND_STORY;
        float beta = story ? 9.0f : 5.0f;
        acc = 0;
        for (int i = 0; i < n; i++) {
            const item *it = &s->items[i];
            float a = us->w[0] * !!(us->cols >> it->col & 1) + us->w[1] * !!(us->pats >> it->pat & 1) +
                      us->w[2] * !!(us->cats >> it->cat & 1);
            /* maya's red floral dresses and her new purchase are planted */
            int allowed = !story || (!it->is_new && a < 0.999f);
            cum[i] = acc += allowed ? it->pop * exp(beta * a) : 0.0;
        }
        memset(taken, 0, (size_t)n);
        int got = 0;
        if (story) {
            for (int i = 0; i < n && got < STORY_HISTORY; i++)
                if (!s->items[i].is_new && s->items[i].cat == STORY_CAT && s->items[i].col == STORY_COL &&
                    s->items[i].pat == STORY_PAT) {
                    taken[i] = 1, got++;
                    if ((rc = push_event(s, u, i, &r))) goto oom;
                }
            taken[s->dress] = 1;
            if ((rc = push_event(s, u, s->dress, &r))) goto oom;
        }
        for (int tries = 0; got < us->n_events && tries < 50 * us->n_events; tries++) {
            int noise = !story && pr_rng_float(&r) < 0.10f;
            const double *c = noise ? cum_pop : cum;
            double x = pr_rng_double(&r) * c[n - 1];
            int lo = 0, hi = n - 1;
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (c[mid] > x) hi = mid;
                else lo = mid + 1;
            }
            if (taken[lo]) continue;
            taken[lo] = 1, got++;
            if ((rc = push_event(s, u, lo, &r))) goto oom;
        }
    }
    qsort(s->ev, (size_t)s->n_ev, sizeof *s->ev, cmp_event);
    goto done;
oom:
    rc = pr_err(err, PR_E_NOMEM, "events");
done:
    free(cum);
    free(cum_pop);
    free(taken);
    return rc;
}

/* ---- output ------------------------------------------------------------------ */

static void set_names(char *out, size_t n, uint16_t set, const char *const *names, int count) {
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; k < count; k++)
        if (set >> k & 1) len += (size_t)snprintf(out + len, n - len, "%s%s", len ? "," : "", names[k]);
}

static int write_items(const shop *s, const char *dir, pr_error *err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/items.tsv", dir);
    pr_atomic a;
    int rc = pr_atomic_open(&a, path, err);
    if (rc) return rc;
    fprintf(a.f, "item\timage\ttext\tcategory\tcolour\tpattern\tnew\tarrival\n");
    for (int i = 0; i < s->n_items; i++) {
        const item *it = &s->items[i];
        fprintf(a.f, "i%05d\timages/i%05d.png\t%s\t%s\t%s\t%s\t%d\t%lld\n", i + 1, i + 1, it->text,
                cat_name[it->cat], colours[it->col].name, pat_name[it->pat], it->is_new, (long long)it->arrival);
    }
    return pr_atomic_commit(&a, err);
}

/* which: 0 all events, 1 warm items only, 2 new items only */
static int write_events(const shop *s, const char *dir, const char *name, int which, int64_t *count,
                        pr_error *err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    pr_atomic a;
    int rc = pr_atomic_open(&a, path, err);
    if (rc) return rc;
    fprintf(a.f, "user\titem\ttimestamp\n");
    *count = 0;
    for (int64_t k = 0; k < s->n_ev; k++) {
        const event *e = &s->ev[k];
        int is_new = s->items[e->item].is_new;
        if ((which == 1 && is_new) || (which == 2 && !is_new)) continue;
        fprintf(a.f, "%s\ti%05d\t%lld\n", s->users[e->user].id, e->item + 1, (long long)e->ts);
        ++*count;
    }
    return pr_atomic_commit(&a, err);
}

static int write_users(const shop *s, const char *dir, pr_error *err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/users.tsv", dir);
    pr_atomic a;
    int rc = pr_atomic_open(&a, path, err);
    if (rc) return rc;
    const char *cn[N_COL];
    for (int k = 0; k < N_COL; k++) cn[k] = colours[k].name;
    fprintf(a.f, "user\tkind\tw_colour\tw_pattern\tw_category\tcolours\tpatterns\tcategories\n");
    for (int u = 0; u < s->n_users; u++) {
        const user *us = &s->users[u];
        char c[160], p[160], k[200];
        set_names(c, sizeof c, us->cols, cn, N_COL);
        set_names(p, sizeof p, us->pats, pat_name, N_PAT);
        set_names(k, sizeof k, us->cats, cat_name, N_CAT);
        fprintf(a.f, "%s\t%s\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\n", us->id, kind_name[us->kind], us->w[0],
                us->w[1], us->w[2], c, p, k);
    }
    return pr_atomic_commit(&a, err);
}

static int write_summary(const shop *s, const char *dir, int64_t n_warm, int64_t n_cold, pr_error *err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/shop.txt", dir);
    pr_atomic a;
    int rc = pr_atomic_open(&a, path, err);
    if (rc) return rc;
    fprintf(a.f,
            "generator=%d\nseed=%llu\nitems=%d\nnew_items=%d\nusers=%d\nsize=%d\nevents=%lld\nwarm_events=%lld\n"
            "cold_events=%lld\ncut=%lld\nshopper=%s\ndress=i%05d\ndress_text=%s\n",
            SHOPGEN_VERSION, (unsigned long long)s->seed, s->n_items, s->n_new, s->n_users, s->size, (long long)s->n_ev,
            (long long)n_warm, (long long)n_cold, (long long)T_CUT, s->users[0].id, s->dress + 1,
            s->items[s->dress].text);
    return pr_atomic_commit(&a, err);
}

/* ---- main --------------------------------------------------------------------- */

static int run(int argc, char **argv, pr_error *err) {
    static const char *const known[] = {"out", "seed", "items", "users", "new-share", "size", "threads", "mnist", NULL};
    static const char *const bools[] = {"quiet", NULL};
    int rc = dm_args_check(argc, argv, known, bools, err);
    if (rc) return rc;
    long seed, n_items, n_users, share, size, threads;
    if ((rc = dm_arg_int(argc, argv, "seed", 7, 0, 1L << 30, &seed, err)) ||
        (rc = dm_arg_int(argc, argv, "items", 3000, 100, 20000, &n_items, err)) ||
        (rc = dm_arg_int(argc, argv, "users", 1000, 20, 100000, &n_users, err)) ||
        (rc = dm_arg_int(argc, argv, "new-share", 10, 1, 50, &share, err)) ||
        (rc = dm_arg_int(argc, argv, "size", 96, 32, 256, &size, err)) ||
        (rc = dm_arg_int(argc, argv, "threads", 0, 0, 256, &threads, err)))
        return rc;
    if (dm_flag(argc, argv, "quiet")) pr_log_set_level(PR_LOG_QUIET);
    const char *dir = dm_arg(argc, argv, "out", "demo-out/shop");
    const char *mnist = dm_arg(argc, argv, "mnist", "/usr/share/datasets/fashion-mnist");
    shop s = {.seed = (uint64_t)seed, .n_items = (int)n_items, .n_users = (int)n_users, .size = (int)size};
    s.n_new = (int)(n_items * share / 100);
    if (s.n_new < 1) s.n_new = 1;
    char img_dir[1200];
    snprintf(img_dir, sizeof img_dir, "%s/images", dir);
    pr_pool *pool = NULL;
    int64_t n_warm = 0, n_cold = 0, n_all = 0;
    double t0 = pr_now();
    s.items = pr_calloc((size_t)n_items, sizeof *s.items);
    s.masks = pr_malloc((size_t)n_items, MNIST_PIX);
    s.users = pr_calloc((size_t)n_users, sizeof *s.users);
    if (!s.items || !s.masks || !s.users || !(pool = pr_pool_new((int)threads))) {
        rc = pr_err(err, PR_E_NOMEM, "shop");
        goto done;
    }
    if ((rc = dm_mkdirs(img_dir, err))) goto done;
    char marker[1200];
    snprintf(marker, sizeof marker, "%s/shop.txt", dir);
    unlink(marker); /* written last: a shop without it is incomplete */
    if ((rc = make_items(&s, err))) goto done;
    if ((rc = load_silhouettes(&s, mnist, err))) goto done;
    paint_job job = {.s = &s, .dir = dir};
    pr_progress_init(&job.prog, "painting items", s.n_items);
    pr_pool_run(pool, paint_slice, &job);
    pr_progress_end(&job.prog);
    if (job.failed) {
        rc = job.err.code ? pr_err(err, job.err.code, "%s", job.err.msg) : pr_err(err, PR_E_NOMEM, "painting");
        goto done;
    }
    make_users(&s);
    if ((rc = make_events(&s, err))) goto done;
    if ((rc = write_items(&s, dir, err)) || (rc = write_users(&s, dir, err)) ||
        (rc = write_events(&s, dir, "interactions.tsv", 0, &n_all, err)) ||
        (rc = write_events(&s, dir, "warm.tsv", 1, &n_warm, err)) ||
        (rc = write_events(&s, dir, "cold.tsv", 2, &n_cold, err)) ||
        (rc = write_summary(&s, dir, n_warm, n_cold, err)))
        goto done;
    printf("shopgen: %d items (%d arriving after the cut), %d shoppers, %lld events (%lld warm, %lld on new "
           "items), %dx%d photos; %.1fs; wrote %s\n",
           s.n_items, s.n_new, s.n_users, (long long)n_all, (long long)n_warm, (long long)n_cold, s.size, s.size,
           pr_now() - t0, dir);
done:
    free(s.items);
    free(s.masks);
    free(s.users);
    free(s.ev);
    pr_pool_free(pool);
    return rc;
}

int main(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: shopgen [--out DIR] [--seed S] [--items N] [--users U] [--new-share PERCENT]\n"
               "               [--size PX] [--threads T] [--mnist DIR] [--quiet]\n"
               "Generates the demo's fashion shop (see demo/shopgen.c and docs/demo.md).\n");
        return 0;
    }
    pr_error err = {0};
    int rc = run(argc, argv, &err);
    if (rc == 0) return 0;
    fprintf(stderr, "shopgen: %s\n", err.msg[0] ? err.msg : pr_err_name(rc));
    return rc == PR_E_ARG ? 2 : 1;
}
