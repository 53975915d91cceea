/* tests/features/test_image.c: the "image" descriptor encoder on generated product photos.
 *
 * Garments are drawn on white in a T-shirt or dress silhouette, with a base
 * colour and an optional white pattern (stripes, dots, flowers), plus pixel
 * noise. Colour queries: the cosine nearest neighbour of each item is the other
 * item of its colour, and perceptual orderings hold (red is nearer orange than
 * green). Pattern queries: same colour and silhouette, the nearest neighbour of
 * each item is the other item of its pattern. Then args, save/load, file
 * errors, thread safety and determinism. */
#include <stdint.h>
#include <unistd.h>

#include "core/pool.h"
#include "core/rng.h"
#include "features/image.h"
#include "t.h"

#define W 96
#define H 128

enum { PLAIN, STRIPES, DOTS, FLORAL };
enum { TSHIRT, DRESS };

typedef struct garment {
    int shape, pattern;
    uint8_t base[3], ink[3];
    int period;     /* stripes / dots spacing, pixels */
    int phase;      /* pattern offset */
    uint64_t seed;  /* noise and flower placement */
} garment;

static int in_shape(int shape, int x, int y) {
    if (shape == TSHIRT) {
        int body = x >= 28 && x < 68 && y >= 22 && y < 118;
        int sleeves = y >= 22 && y < 52 && x >= 10 && x < 86 && (y - 22) * 2 > abs(x - 48) - 38;
        int neck = (x - 48) * (x - 48) + (y - 18) * (y - 18) < 90;
        return (body || sleeves) && !neck;
    }
    /* dress: narrow top widening to a flared skirt */
    if (y < 14 || y >= 122) return 0;
    int half = 12 + (y - 14) * 30 / 108;
    return abs(x - 48) < half;
}

/* Flowers: 5 petals around a centre, 12 of them at seeded positions. */
static int in_flower(const garment *g, int x, int y) {
    pr_rng r;
    pr_rng_init(&r, g->seed, 99);
    for (int f = 0; f < 14; f++) {
        float cx = (float)pr_rng_below(&r, W), cy = (float)pr_rng_below(&r, H);
        float rot = pr_rng_float(&r) * 6.283f;
        for (int p = 0; p < 5; p++) {
            float a = rot + (float)p * 1.2566f;
            float px = cx + 5.0f * cosf(a), py = cy + 5.0f * sinf(a);
            if ((x - px) * (x - px) + (y - py) * (y - py) < 7.0f) return 1;
        }
    }
    return 0;
}

static int ink_at(const garment *g, int x, int y) {
    switch (g->pattern) {
    case STRIPES: return ((y + g->phase) / (g->period / 2)) % 2;
    case DOTS: {
        int dx = (x + g->phase) % g->period - g->period / 2, dy = (y + g->phase) % g->period - g->period / 2;
        return dx * dx + dy * dy <= 5;
    }
    case FLORAL: return in_flower(g, x, y);
    default: return 0;
    }
}

/* Render into a new image: white ground, darker 1-pixel outline, noise +-6. */
static pr_image draw(const garment *g) {
    pr_image im = {W, H, malloc(W * H * 3)};
    pr_rng r;
    pr_rng_init(&r, g->seed, 1);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = im.rgb + 3 * (y * W + x);
            int in = in_shape(g->shape, x, y);
            int edge = in && (!in_shape(g->shape, x - 1, y) || !in_shape(g->shape, x + 1, y) ||
                              !in_shape(g->shape, x, y - 1) || !in_shape(g->shape, x, y + 1));
            for (int c = 0; c < 3; c++) {
                int v = 255;
                if (in) {
                    v = ink_at(g, x, y) ? g->ink[c] : g->base[c];
                    v += (int)pr_rng_below(&r, 13) - 6;
                    if (edge) v = v * 3 / 4;
                }
                p[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    return im;
}

static float cosine(const float *a, const float *b, int d) {
    double ab = 0, aa = 0, bb = 0;
    for (int k = 0; k < d; k++) {
        ab += (double)a[k] * b[k];
        aa += (double)a[k] * a[k];
        bb += (double)b[k] * b[k];
    }
    return (float)(ab / sqrt(aa * bb));
}

/* Encode n garments with args; X (n, dim) new, owned by the caller. */
static float *encode_all(const char *args, const garment *g, int n, int *dim) {
    pr_encoder *e = NULL;
    pr_error err;
    if (pr_image_encoder_ops.create(&e, args, &err) < 0) {
        fprintf(stderr, "  create(%s): %s\n", args, err.msg);
        return NULL;
    }
    *dim = e->ops->dim(e);
    float *X = calloc((size_t)n * *dim, sizeof *X);
    for (int i = 0; i < n; i++) {
        pr_image im = draw(&g[i]);
        CHECK_EQ_INT(pr_image_describe(e, &im, X + (size_t)i * *dim, &err), 0);
        pr_image_free(&im);
    }
    e->ops->free(e);
    return X;
}

static int nearest(const float *X, int n, int dim, int i) {
    int best = -1;
    float bs = -2;
    for (int j = 0; j < n; j++) {
        if (j == i) continue;
        float s = cosine(X + (size_t)i * dim, X + (size_t)j * dim, dim);
        if (s > bs) { bs = s; best = j; }
    }
    return best;
}

#define RGB(r, g, b) {r, g, b}

TEST(test_colour_queries) {
    /* 3 colours x 2 shades, same silhouette; pattern-free */
    garment g[6] = {
        {TSHIRT, PLAIN, RGB(200, 30, 30), RGB(0, 0, 0), 0, 0, 1},
        {TSHIRT, PLAIN, RGB(180, 40, 35), RGB(0, 0, 0), 0, 0, 2},
        {TSHIRT, PLAIN, RGB(30, 60, 190), RGB(0, 0, 0), 0, 0, 3},
        {TSHIRT, PLAIN, RGB(45, 70, 170), RGB(0, 0, 0), 0, 0, 4},
        {TSHIRT, PLAIN, RGB(30, 150, 50), RGB(0, 0, 0), 0, 0, 5},
        {TSHIRT, PLAIN, RGB(50, 135, 60), RGB(0, 0, 0), 0, 0, 6},
    };
    const char *specs[] = {"", "parts=color", "parts=hist", "parts=moments"};
    for (int s = 0; s < 4; s++) {
        int dim;
        float *X = encode_all(specs[s], g, 6, &dim);
        if (!X) { CHECK(0); continue; }
        for (int i = 0; i < 6; i++) {
            int nn = nearest(X, 6, dim, i);
            if (nn / 2 != i / 2) fprintf(stderr, "  spec '%s': item %d nearest %d\n", specs[s], i, nn);
            CHECK_EQ_INT(nn / 2, i / 2);
        }
        free(X);
    }
    /* Colour parts ignore the silhouette: same colours drawn as dresses still
     * find their colour, and perceptual orderings hold. */
    garment h[7] = {
        {TSHIRT, PLAIN, RGB(200, 30, 30), RGB(0, 0, 0), 0, 0, 11}, /* 0 red */
        {DRESS, PLAIN, RGB(190, 35, 30), RGB(0, 0, 0), 0, 0, 12},  /* 1 red dress */
        {DRESS, PLAIN, RGB(230, 120, 20), RGB(0, 0, 0), 0, 0, 13}, /* 2 orange */
        {DRESS, PLAIN, RGB(30, 150, 50), RGB(0, 0, 0), 0, 0, 14},  /* 3 green */
        {DRESS, PLAIN, RGB(20, 30, 90), RGB(0, 0, 0), 0, 0, 15},   /* 4 navy */
        {TSHIRT, PLAIN, RGB(40, 80, 200), RGB(0, 0, 0), 0, 0, 16}, /* 5 blue */
        {TSHIRT, PLAIN, RGB(230, 210, 40), RGB(0, 0, 0), 0, 0, 17},/* 6 yellow */
    };
    int dim;
    float *X = encode_all("parts=color", h, 7, &dim);
#define C(i, j) cosine(X + (size_t)(i) * dim, X + (size_t)(j) * dim, dim)
    CHECK_EQ_INT(nearest(X, 7, dim, 0), 1);
    CHECK(C(0, 1) > C(0, 2)); /* red: red > orange > green, blue */
    CHECK(C(0, 2) > C(0, 3));
    CHECK(C(0, 2) > C(0, 5));
    CHECK(C(4, 5) > C(4, 6)); /* navy: nearer blue than yellow */
    CHECK(C(2, 6) > C(2, 5)); /* orange: nearer yellow than blue */
    fprintf(stderr, "  cos red~red %.3f red~orange %.3f red~green %.3f navy~blue %.3f navy~yellow %.3f\n",
            C(0, 1), C(0, 2), C(0, 3), C(4, 5), C(4, 6));
    free(X);
    /* white on white: the background mask must not swallow a white garment */
    garment wgb[4] = {
        {TSHIRT, PLAIN, RGB(238, 238, 236), RGB(0, 0, 0), 0, 0, 21}, /* off-white */
        {DRESS, PLAIN, RGB(242, 240, 240), RGB(0, 0, 0), 0, 0, 22},  /* off-white */
        {TSHIRT, PLAIN, RGB(128, 128, 130), RGB(0, 0, 0), 0, 0, 23}, /* grey */
        {DRESS, PLAIN, RGB(25, 25, 28), RGB(0, 0, 0), 0, 0, 24},     /* black */
    };
    X = encode_all("parts=color", wgb, 4, &dim);
    CHECK_EQ_INT(nearest(X, 4, dim, 0), 1);
    CHECK(C(0, 2) > C(0, 3));
    free(X);
#undef C
}

TEST(test_pattern_queries) {
    /* navy garments with white patterns, two of each kind, same silhouette */
    garment g[8];
    int kinds[8] = {PLAIN, PLAIN, STRIPES, STRIPES, DOTS, DOTS, FLORAL, FLORAL};
    for (int i = 0; i < 8; i++)
        g[i] = (garment){TSHIRT, kinds[i], RGB(35, 45, 120), RGB(235, 235, 235),
                         i % 2 ? 10 : 8, i % 2 ? 3 : 0, (uint64_t)(100 + i)};
    /* (LBP alone, a micro-texture code, confuses small dots with small flowers) */
    const char *specs[] = {"", "parts=texture", "parts=hog", "parts=gabor",
                           "parts=color,texture,layout,size=64", "size=128"};
    for (int s = 0; s < 6; s++) {
        int dim;
        float *X = encode_all(specs[s], g, 8, &dim);
        if (!X) { CHECK(0); continue; }
        for (int i = 0; i < 8; i++) {
            int nn = nearest(X, 8, dim, i);
            if (nn / 2 != i / 2) fprintf(stderr, "  spec '%s': item %d nearest %d\n", specs[s], i, nn);
            CHECK_EQ_INT(nn / 2, i / 2);
        }
        if (s == 0) {
#define C(i, j) cosine(X + (size_t)(i) * dim, X + (size_t)(j) * dim, dim)
            CHECK(C(2, 3) > C(2, 4)); /* stripes nearer stripes than dots */
            CHECK(C(2, 3) > C(2, 6)); /* ... or flowers */
            CHECK(C(0, 1) > C(0, 4)); /* plain nearer plain than dots */
            CHECK(C(6, 7) > C(6, 2)); /* flowers nearer flowers than stripes */
            CHECK(C(4, 5) > C(4, 0)); /* dots nearer dots than plain */
            fprintf(stderr, "  cos stripes~stripes %.3f stripes~dots %.3f plain~plain %.3f plain~dots %.3f\n",
                    C(2, 3), C(2, 4), C(0, 1), C(0, 4));
#undef C
        }
        free(X);
    }
}

TEST(test_args_dims_and_errors) {
    pr_encoder *e = NULL;
    pr_error err;
    const pr_encoder_ops *ops = &pr_image_encoder_ops;
    CHECK_STR(ops->name, "image");
    CHECK_EQ_INT(ops->modality, PR_MOD_IMAGE);
    struct { const char *args, *msg; } bad[] = {
        {"parts=colr", "unknown part 'colr'"},
        {"parts=color,textur", "unknown part 'textur'"},
        {"size=17", "size '17'"},
        {"size=1024", "size '1024'"},
        {"size=abc", "size 'abc'"},
        {"bg=maybe", "bg 'maybe'"},
        {"center=-1", "center '-1'"},
        {"w_hist=-1", "w_hist='-1'"},
        {"w_colr=1", "unknown part 'colr'"},
        {"colour", "is not key=value"},
        {"foo=1", "unknown key 'foo'"},
        {"parts=hist,w_hist=0", "weight 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(ops->create(&e, bad[i].args, &err) == PR_E_ARG);
        CHECK(e == NULL);
        CHECK_CONTAINS(err.msg, bad[i].msg);
    }
    /* dims: fixed by the args; groups expand to their parts */
    struct { const char *args; int dim; } dims[] = {
        {"parts=hist", 42}, {"parts=moments", 54}, {"parts=hog", 832}, {"parts=lbp", 59},
        {"parts=gabor", 208}, {"parts=shape", 64}, {"parts=edges", 17}, {"parts=cgrid", 240},
        {"parts=color", 96}, {"parts=texture", 1099}, {"parts=layout", 321},
        {"parts=color,texture,layout,size=64", 1516}, {"", 1516}, {NULL, 1516}, {"size=32,bg=none", 1516},
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        CHECK_EQ_INT(ops->create(&e, dims[i].args, &err), 0);
        if (!e) continue;
        CHECK_EQ_INT(ops->dim(e), dims[i].dim);
        ops->free(e);
    }
    CHECK_EQ_INT(ops->create(&e, " parts=hist , moments,size=32,w_color=2,center=0", &err), 0);
    if (!e) return;
    CHECK_STR(pr_image_encoder_args(e), "parts=hist,moments,size=32,bg=auto,center=0,w_hist=2,w_moments=2");
    ops->free(e);
}

TEST(test_block_norms_and_weights) {
    garment g = {DRESS, STRIPES, RGB(150, 40, 90), RGB(240, 240, 240), 8, 0, 5};
    pr_image im = draw(&g);
    pr_encoder *e = NULL;
    pr_error err;
    CHECK_EQ_INT(pr_image_encoder_ops.create(&e, "parts=hist,hog,shape,w_hist=2,w_shape=0.5,w_hog=1", &err), 0);
    float out[42 + 832 + 64];
    CHECK_EQ_INT(pr_image_describe(e, &im, out, &err), 0);
    double n[3] = {0, 0, 0};
    for (int k = 0; k < 42; k++) n[0] += (double)out[k] * out[k];
    for (int k = 42; k < 42 + 832; k++) n[1] += (double)out[k] * out[k];
    for (int k = 42 + 832; k < 42 + 832 + 64; k++) n[2] += (double)out[k] * out[k];
    CHECK_NEAR(sqrt(n[0]), 2.0, 1e-5); /* each block: unit length times its weight */
    CHECK_NEAR(sqrt(n[1]), 1.0, 1e-5);
    CHECK_NEAR(sqrt(n[2]), 0.5, 1e-5);
    int nonneg = 1;
    for (int k = 0; k < 42 + 832 + 64; k++) nonneg &= out[k] >= 0;
    CHECK(nonneg);
    e->ops->free(e);
    /* the same photo at twice the resolution describes (almost) the same */
    pr_image big;
    CHECK_EQ_INT(pr_image_resize(&im, 2 * W, 2 * H, &big, &err), 0);
    CHECK_EQ_INT(pr_image_encoder_ops.create(&e, "", &err), 0);
    int d = e->ops->dim(e);
    float *a = malloc((size_t)d * sizeof *a), *b = malloc((size_t)d * sizeof *b);
    CHECK_EQ_INT(pr_image_describe(e, &im, a, &err), 0);
    CHECK_EQ_INT(pr_image_describe(e, &big, b, &err), 0);
    CHECK(cosine(a, b, d) > 0.97f);
    /* a photo without a plain background (noise everywhere) still encodes */
    pr_rng r;
    pr_rng_init(&r, 3, 3);
    for (int i = 0; i < W * H * 3; i++) big.rgb[i] = (uint8_t)pr_rng_u32(&r);
    big.w = W; big.h = H;
    CHECK_EQ_INT(pr_image_describe(e, &big, b, &err), 0);
    int finite = 1;
    for (int k = 0; k < d; k++) finite &= isfinite(b[k]);
    CHECK(finite);
    /* a 1x1 image works too */
    pr_image dot = {1, 1, (uint8_t[]){10, 200, 30}};
    CHECK_EQ_INT(pr_image_describe(e, &dot, b, &err), 0);
    free(a);
    free(b);
    pr_image_free(&big);
    pr_image_free(&im);
    e->ops->free(e);
}

TEST(test_encode_files_save_load) {
    garment g = {TSHIRT, DOTS, RGB(30, 120, 60), RGB(250, 250, 250), 9, 1, 8};
    pr_image im = draw(&g);
    pr_error err;
    const char *path = "build/test_image_garment.png";
    CHECK_EQ_INT(pr_png_write(path, im.rgb, im.w, im.h, &err), 0);
    pr_encoder *e = NULL, *e2 = NULL;
    CHECK_EQ_INT(pr_image_encoder_ops.create(&e, "parts=color,texture,size=48,center=0.3,w_lbp=0.5", &err), 0);
    int d = e->ops->dim(e);
    float *a = calloc((size_t)d, sizeof *a), *b = calloc((size_t)d, sizeof *b), *c = calloc((size_t)d, sizeof *c);
    CHECK_EQ_INT(e->ops->encode(e, path, a, &err), 0);
    CHECK_EQ_INT(pr_image_describe(e, &im, b, &err), 0);
    CHECK(memcmp(a, b, (size_t)d * sizeof *a) == 0); /* PNG is lossless */
    /* save/load restores the same encoder */
    pr_buf buf;
    pr_buf_init(&buf);
    CHECK_EQ_INT(e->ops->save(e, &buf), 0);
    pr_cur cur;
    pr_cur_init(&cur, buf.data, buf.len, "image state");
    CHECK_EQ_INT(pr_image_encoder_ops.load(&e2, &cur, &err), 0);
    CHECK(e2 && e2->ops->dim(e2) == d);
    CHECK_STR(pr_image_encoder_args(e2), pr_image_encoder_args(e));
    CHECK_EQ_INT(e2->ops->encode(e2, path, c, &err), 0);
    CHECK(memcmp(a, c, (size_t)d * sizeof *a) == 0);
    e2->ops->free(e2);
    /* truncated state is an error, never a crash */
    for (size_t len = 0; len < buf.len; len++) {
        pr_cur_init(&cur, buf.data, len, "image state");
        e2 = NULL;
        CHECK(pr_image_encoder_ops.load(&e2, &cur, &err) < 0);
        CHECK(e2 == NULL);
    }
    pr_buf_free(&buf);
    /* missing and corrupt files: errors naming the path */
    CHECK_EQ_INT(e->ops->encode(e, "build/no_such_garment.png", a, &err), PR_E_IO);
    CHECK_CONTAINS(err.msg, "build/no_such_garment.png");
    FILE *f = fopen(path, "r+b");
    fseek(f, 40, SEEK_SET);
    fputs("garbage garbage garbage", f);
    fclose(f);
    CHECK(e->ops->encode(e, path, a, &err) < 0);
    CHECK_CONTAINS(err.msg, path);
    unlink(path);
    free(a); free(b); free(c);
    pr_image_free(&im);
    e->ops->free(e);
}

/* encode() from 4 threads at once gives the single-thread bytes */
typedef struct mt_job {
    const pr_encoder *e;
    const char *paths[8];
    float *X;
    int dim;
} mt_job;

static void mt_rows(void *ctx, int ith, int nth) {
    mt_job *J = ctx;
    for (int rep = 0; rep < 3; rep++)
        for (int i = ith; i < 8; i += nth) {
            pr_error err;
            J->e->ops->encode(J->e, J->paths[i], J->X + (size_t)i * J->dim, &err);
        }
}

TEST(test_thread_safe_and_deterministic) {
    char names[8][64];
    mt_job J = {0};
    pr_error err;
    for (int i = 0; i < 8; i++) {
        garment g = {i % 2 ? DRESS : TSHIRT, i % 4, RGB((uint8_t)(30 * i), 90, (uint8_t)(200 - 20 * i)),
                     RGB(240, 240, 240), 8 + i % 3, i, (uint64_t)(300 + i)};
        pr_image im = draw(&g);
        snprintf(names[i], sizeof names[i], "build/test_image_mt_%d.png", i);
        CHECK_EQ_INT(pr_png_write(names[i], im.rgb, im.w, im.h, &err), 0);
        J.paths[i] = names[i];
        pr_image_free(&im);
    }
    pr_encoder *e = NULL;
    CHECK_EQ_INT(pr_image_encoder_ops.create(&e, "", &err), 0);
    J.e = e;
    J.dim = e->ops->dim(e);
    float *ref = calloc((size_t)8 * J.dim, sizeof *ref);
    J.X = calloc((size_t)8 * J.dim, sizeof *J.X);
    for (int i = 0; i < 8; i++) CHECK_EQ_INT(e->ops->encode(e, names[i], ref + (size_t)i * J.dim, &err), 0);
    pr_pool *pool = pr_pool_new(4);
    pr_pool_run(pool, mt_rows, &J);
    pr_pool_free(pool);
    CHECK(memcmp(ref, J.X, (size_t)8 * J.dim * sizeof *ref) == 0);
    for (int i = 0; i < 8; i++) unlink(names[i]);
    free(ref);
    free(J.X);
    e->ops->free(e);
}

int main(void) {
    RUN(test_colour_queries);
    RUN(test_pattern_queries);
    RUN(test_args_dims_and_errors);
    RUN(test_block_norms_and_weights);
    RUN(test_encode_files_save_load);
    RUN(test_thread_safe_and_deterministic);
    return t_done();
}
