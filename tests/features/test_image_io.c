/* tests/features/test_image_io.c: decoding, limits, corruption, resampling, PNG writing.
 *
 * Fixtures are made here: PNG through pr_png_encode and libpng's simplified
 * writer (grey, grey+alpha, RGBA), JPEG through libjpeg, WebP through libwebp.
 * The fuzz-style test truncates each valid file at many lengths and flips
 * bytes at random: every call must return an error or a well-formed image,
 * never crash (run under ASan+UBSan by `make test`). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>
#include <zlib.h>

#include "core/rng.h"
#include "features/image_io.h"
#include "t.h"

/* ---------- fixtures ---------- */

/* A smooth test card (h, w, 3) with a few sharp edges, deterministic. */
static uint8_t *make_card(int w, int h) {
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + 3 * (y * w + x);
            q[0] = (uint8_t)(x * 255 / (w - 1));
            q[1] = (uint8_t)(y * 255 / (h - 1));
            q[2] = (uint8_t)(((x / 8 + y / 8) & 1) ? 200 : 40);
        }
    return p;
}

static uint8_t *jpeg_encode(const uint8_t *pix, int w, int h, int comps, int quality, int progressive,
                            size_t *n) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *out = NULL;
    unsigned long size = 0;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &size);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    c.comp_info[0].h_samp_factor = c.comp_info[0].v_samp_factor = 1; /* 4:4:4: no chroma smear */
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(pix + (size_t)c.next_scanline * w * comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *n = size;
    return out; /* malloc'd by libjpeg's mem dest: free() */
}

static uint8_t *png_encode_fmt(const uint8_t *pix, int w, int h, int format, size_t *n) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = (png_uint_32)format;
    png_alloc_size_t size = 0;
    png_image_write_to_memory(&img, NULL, &size, 0, pix, 0, NULL);
    uint8_t *buf = malloc(size);
    png_image_write_to_memory(&img, buf, &size, 0, pix, 0, NULL);
    *n = size;
    return buf;
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
    return s / (double)n;
}

static int write_bytes(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t k = fwrite(p, 1, n, f);
    fclose(f);
    return k == n ? 0 : -1;
}

/* ---------- round trips ---------- */

TEST(test_png_round_trip_exact) {
    int w = 37, h = 23;
    uint8_t *card = make_card(w, h);
    pr_error err;
    const char *path = "build/test_image_io_card.png";
    CHECK_EQ_INT(pr_png_write(path, card, w, h, &err), 0);
    pr_image im;
    CHECK_EQ_INT(pr_image_read(path, &im, &err), 0);
    CHECK_EQ_INT(im.w, w);
    CHECK_EQ_INT(im.h, h);
    CHECK(im.rgb && memcmp(im.rgb, card, (size_t)w * h * 3) == 0);
    pr_image_free(&im);
    /* in-memory encoder gives the same pixels back too */
    uint8_t *buf = NULL;
    size_t n = 0;
    CHECK_EQ_INT(pr_png_encode(card, w, h, &buf, &n, &err), 0);
    CHECK_EQ_INT(pr_image_format(buf, n), PR_IMG_PNG);
    CHECK_EQ_INT(pr_image_decode(buf, n, "mem.png", &im, &err), 0);
    CHECK(im.rgb && memcmp(im.rgb, card, (size_t)w * h * 3) == 0);
    pr_image_free(&im);
    free(buf);
    /* a bad size is refused before anything is written */
    CHECK_EQ_INT(pr_png_write("build/test_image_io_bad.png", card, 0, h, &err), PR_E_FORMAT);
    CHECK(access("build/test_image_io_bad.png", F_OK) != 0);
    unlink(path);
    free(card);
}

TEST(test_png_grey_and_alpha_composite_on_white) {
    pr_error err;
    pr_image im;
    /* grey: v -> (v, v, v) */
    uint8_t grey[4] = {0, 85, 170, 255};
    size_t n;
    uint8_t *png = png_encode_fmt(grey, 2, 2, PNG_FORMAT_GRAY, &n);
    CHECK_EQ_INT(pr_image_decode(png, n, "grey.png", &im, &err), 0);
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 3; c++) CHECK_EQ_INT(im.rgb[3 * i + c], grey[i]);
    pr_image_free(&im);
    free(png);
    /* RGBA: opaque red stays red; transparent anything becomes white;
     * half-transparent black is mid-grey (libpng composites in linear light,
     * so the sRGB value is ~188, not 128) */
    uint8_t rgba[16] = {255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 0, 128, 0, 0, 255, 255};
    png = png_encode_fmt(rgba, 2, 2, PNG_FORMAT_RGBA, &n);
    CHECK_EQ_INT(pr_image_decode(png, n, "rgba.png", &im, &err), 0);
    CHECK(im.rgb[0] == 255 && im.rgb[1] == 0 && im.rgb[2] == 0);
    CHECK(im.rgb[3] == 255 && im.rgb[4] == 255 && im.rgb[5] == 255);
    CHECK(im.rgb[6] > 120 && im.rgb[6] < 200 && im.rgb[6] == im.rgb[7] && im.rgb[7] == im.rgb[8]);
    CHECK(im.rgb[9] == 0 && im.rgb[10] == 0 && im.rgb[11] == 255);
    pr_image_free(&im);
    free(png);
    /* grey + alpha */
    uint8_t ga[4] = {0, 255, 0, 0};
    png = png_encode_fmt(ga, 2, 1, PNG_FORMAT_GA, &n);
    CHECK_EQ_INT(pr_image_decode(png, n, "ga.png", &im, &err), 0);
    CHECK(im.rgb[0] == 0 && im.rgb[3] == 255 && im.rgb[5] == 255);
    pr_image_free(&im);
    free(png);
}

TEST(test_jpeg_decode_rgb_grey_progressive) {
    int w = 48, h = 32;
    uint8_t *card = make_card(w, h);
    pr_error err;
    pr_image im;
    for (int prog = 0; prog < 2; prog++) {
        size_t n;
        uint8_t *jpg = jpeg_encode(card, w, h, 3, 95, prog, &n);
        CHECK_EQ_INT(pr_image_format(jpg, n), PR_IMG_JPEG);
        CHECK_EQ_INT(pr_image_decode(jpg, n, "card.jpg", &im, &err), 0);
        CHECK_EQ_INT(im.w, w);
        CHECK_EQ_INT(im.h, h);
        double mad = im.rgb ? mean_abs_diff(im.rgb, card, (size_t)w * h * 3) : 999;
        fprintf(stderr, "  jpeg q95 progressive=%d: mean |error| %.2f\n", prog, mad);
        CHECK(mad < 1.5);
        pr_image_free(&im);
        free(jpg);
    }
    /* greyscale JPEG decodes to three equal channels */
    uint8_t g[64 * 16];
    for (int i = 0; i < 64 * 16; i++) g[i] = (uint8_t)(i % 64 * 4);
    size_t n;
    uint8_t *jpg = jpeg_encode(g, 64, 16, 1, 95, 0, &n);
    CHECK_EQ_INT(pr_image_decode(jpg, n, "grey.jpg", &im, &err), 0);
    int equal = 1;
    for (int i = 0; i < 64 * 16; i++) equal &= im.rgb[3 * i] == im.rgb[3 * i + 1] && im.rgb[3 * i] == im.rgb[3 * i + 2];
    CHECK(equal);
    CHECK(abs((int)im.rgb[3 * 40] - (int)g[40]) <= 4);
    pr_image_free(&im);
    free(jpg);
    free(card);
}

TEST(test_webp_lossless_and_lossy) {
    int w = 40, h = 30;
    uint8_t *card = make_card(w, h), *out = NULL;
    pr_error err;
    pr_image im;
    size_t n = WebPEncodeLosslessRGB(card, w, h, w * 3, &out);
    CHECK(n > 0);
    CHECK_EQ_INT(pr_image_format(out, n), PR_IMG_WEBP);
    CHECK_EQ_INT(pr_image_decode(out, n, "card.webp", &im, &err), 0);
    CHECK(im.w == w && im.h == h && memcmp(im.rgb, card, (size_t)w * h * 3) == 0);
    pr_image_free(&im);
    WebPFree(out);
    n = WebPEncodeRGB(card, w, h, w * 3, 90, &out);
    CHECK_EQ_INT(pr_image_decode(out, n, "lossy.webp", &im, &err), 0);
    CHECK(im.w == w && mean_abs_diff(im.rgb, card, (size_t)w * h * 3) < 8.0);
    pr_image_free(&im);
    WebPFree(out);
    /* RGBA WebP: transparent pixels become white */
    uint8_t rgba[4 * 4 * 4];
    for (int i = 0; i < 16; i++) {
        rgba[4 * i] = 10; rgba[4 * i + 1] = 20; rgba[4 * i + 2] = 30;
        rgba[4 * i + 3] = i < 8 ? 255 : 0;
    }
    n = WebPEncodeLosslessRGBA(rgba, 4, 4, 16, &out);
    CHECK_EQ_INT(pr_image_decode(out, n, "a.webp", &im, &err), 0);
    CHECK(im.rgb[0] == 10 && im.rgb[1] == 20 && im.rgb[2] == 30);
    CHECK(im.rgb[3 * 15] == 255 && im.rgb[3 * 15 + 1] == 255 && im.rgb[3 * 15 + 2] == 255);
    pr_image_free(&im);
    WebPFree(out);
    free(card);
}

/* The format comes from the bytes, not the name. */
TEST(test_format_by_magic_not_extension) {
    uint8_t *card = make_card(16, 16), *png = NULL;
    size_t n;
    pr_error err;
    CHECK_EQ_INT(pr_png_encode(card, 16, 16, &png, &n, &err), 0);
    const char *path = "build/test_image_io_really_png.jpg";
    CHECK_EQ_INT(write_bytes(path, png, n), 0);
    pr_image im;
    CHECK_EQ_INT(pr_image_read(path, &im, &err), 0);
    CHECK(im.w == 16 && memcmp(im.rgb, card, 16 * 16 * 3) == 0);
    pr_image_free(&im);
    /* unknown format, empty file, missing file: errors naming the path */
    CHECK_EQ_INT(write_bytes(path, (const uint8_t *)"GIF89a........", 14), 0);
    CHECK_EQ_INT(pr_image_read(path, &im, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, path);
    CHECK(im.rgb == NULL);
    CHECK_EQ_INT(write_bytes(path, (const uint8_t *)"", 0), 0);
    CHECK_EQ_INT(pr_image_read(path, &im, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, path);
    CHECK_EQ_INT(pr_image_read("build/no/such/image.png", &im, &err), PR_E_IO);
    CHECK_CONTAINS(err.msg, "build/no/such/image.png");
    CHECK_EQ_INT(pr_image_read("build", &im, &err), PR_E_IO); /* a directory */
    unlink(path);
    free(png);
    free(card);
}

/* ---------- limits: refused before allocation ---------- */

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

TEST(test_huge_dimensions_refused) {
    uint8_t *card = make_card(16, 16), *png = NULL;
    size_t n;
    pr_error err;
    pr_image im;
    CHECK_EQ_INT(pr_png_encode(card, 16, 16, &png, &n, &err), 0);
    /* IHDR at offset 8: length, "IHDR", width, height, ..., CRC over type+data */
    CHECK(memcmp(png + 12, "IHDR", 4) == 0);
    uint32_t sizes[][2] = {{20000, 16}, {16, 16385}, {10000, 9000}}; /* side, side, 90 Mpixel */
    for (int t = 0; t < 3; t++) {
        put_be32(png + 16, sizes[t][0]);
        put_be32(png + 20, sizes[t][1]);
        put_be32(png + 29, (uint32_t)crc32(0, png + 12, 17));
        CHECK_EQ_INT(pr_image_decode(png, n, "huge.png", &im, &err), PR_E_RANGE);
        CHECK_CONTAINS(err.msg, "huge.png");
        CHECK_CONTAINS(err.msg, "exceeds");
    }
    free(png);
    /* JPEG: patch the SOF0 frame size to 60000 x 60000 */
    size_t nj;
    uint8_t *jpg = jpeg_encode(card, 16, 16, 3, 90, 0, &nj);
    size_t sof = 0;
    for (size_t i = 2; i + 9 < nj; i++)
        if (jpg[i] == 0xff && jpg[i + 1] == 0xc0) { sof = i; break; }
    CHECK(sof > 0);
    jpg[sof + 5] = 0xea; jpg[sof + 6] = 0x60; /* height 60000 */
    jpg[sof + 7] = 0xea; jpg[sof + 8] = 0x60; /* width 60000 */
    CHECK_EQ_INT(pr_image_decode(jpg, nj, "huge.jpg", &im, &err), PR_E_RANGE);
    CHECK_CONTAINS(err.msg, "60000x60000");
    free(jpg);
    free(card);
    /* a file over the size cap is refused from its size alone (sparse file) */
    const char *path = "build/test_image_io_big.png";
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)PR_IMAGE_MAX_FILE + 1) == 0);
    close(fd);
    CHECK_EQ_INT(pr_image_read(path, &im, &err), PR_E_RANGE);
    CHECK_CONTAINS(err.msg, path);
    unlink(path);
}

/* A valid progressive JPEG of 631 scans (each AC coefficient alone, in 10 bit
 * planes) is refused: such files are tiny but cost a pass per scan. A normal
 * progressive file (10 scans) decodes. */
TEST(test_jpeg_scan_limit) {
    enum { N = 16 };
    uint8_t g[N * N];
    for (int i = 0; i < N * N; i++) g[i] = (uint8_t)(i * 7);
    static jpeg_scan_info scans[1 + 63 * 10];
    int ns = 0;
    scans[ns++] = (jpeg_scan_info){1, {0}, 0, 0, 0, 0};
    for (int b = 1; b < 64; b++) {
        scans[ns++] = (jpeg_scan_info){1, {0}, b, b, 0, 9};
        for (int a = 9; a >= 1; a--) scans[ns++] = (jpeg_scan_info){1, {0}, b, b, a, a - 1};
    }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *out = NULL;
    unsigned long size = 0;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &size);
    c.image_width = c.image_height = N;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    c.scan_info = scans;
    c.num_scans = ns;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = g + c.next_scanline * N;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    pr_image im;
    pr_error err;
    CHECK_EQ_INT(ns, 631);
    CHECK_EQ_INT(pr_image_decode(out, size, "scans.jpg", &im, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, "progressive scans");
    CHECK(im.rgb == NULL);
    free(out);
    size_t n;
    out = jpeg_encode(g, N, N, 1, 90, 1, &n);
    CHECK_EQ_INT(pr_image_decode(out, n, "prog.jpg", &im, &err), 0);
    pr_image_free(&im);
    free(out);
}

/* Helper: decode must fail, or succeed with a well-formed image. */
static int decode_ok_or_error(const uint8_t *p, size_t n, int *n_err) {
    pr_image im;
    pr_error err;
    err.msg[0] = '\0';
    int rc = pr_image_decode(p, n, "fuzz.img", &im, &err);
    if (rc < 0) {
        (*n_err)++;
        return im.rgb == NULL && im.w == 0 && strstr(err.msg, "fuzz.img") != NULL;
    }
    int good = im.rgb && im.w > 0 && im.h > 0 && im.w <= PR_IMAGE_MAX_SIDE && im.h <= PR_IMAGE_MAX_SIDE;
    if (good) { /* touch every byte so ASan sees the whole buffer */
        unsigned s = 0;
        for (size_t i = 0; i < (size_t)im.w * im.h * 3; i++) s += im.rgb[i];
        good = s < 0xffffffffu;
    }
    pr_image_free(&im);
    return good;
}

TEST(test_truncated_and_corrupted_never_crash) {
    int w = 64, h = 48;
    uint8_t *card = make_card(w, h);
    pr_error err;
    size_t n[4];
    uint8_t *file[4];
    file[0] = jpeg_encode(card, w, h, 3, 85, 0, &n[0]);
    file[1] = jpeg_encode(card, w, h, 3, 85, 1, &n[1]);
    CHECK_EQ_INT(pr_png_encode(card, w, h, &file[2], &n[2], &err), 0);
    uint8_t *webp = NULL;
    n[3] = WebPEncodeRGB(card, w, h, w * 3, 80, &webp);
    file[3] = malloc(n[3]);
    memcpy(file[3], webp, n[3]);
    WebPFree(webp);
    const char *kind[4] = {"jpeg", "progressive jpeg", "png", "webp"};
    int flips = t_sanitized() ? 150 : 1500;
    pr_rng r;
    pr_rng_init(&r, 2024, 7);
    for (int f = 0; f < 4; f++) {
        int all_good = 1, n_err = 0, n_trunc = 0;
        /* every strict prefix is incomplete, so it must be an error; except that a
         * PNG cut inside its 12-byte IEND trailer still holds every pixel, and
         * libpng (like every browser) accepts it */
        size_t step = n[f] / 97 + 1, end = f == 2 ? n[f] - 12 : n[f];
        for (size_t len = 0; len < end; len += step) {
            uint8_t *p = malloc(len ? len : 1); /* exact-size copy: ASan catches over-reads */
            memcpy(p, file[f], len);
            int before = n_err;
            all_good &= decode_ok_or_error(p, len, &n_err);
            n_trunc++;
            if (n_err == before) fprintf(stderr, "  %s truncated to %zu of %zu bytes decoded\n", kind[f], len, n[f]);
            free(p);
        }
        CHECK_EQ_INT(n_err, n_trunc);
        /* random byte flips (1-4 bytes): error or a valid image */
        uint8_t *p = malloc(n[f]);
        n_err = 0;
        for (int t = 0; t < flips; t++) {
            memcpy(p, file[f], n[f]);
            int k = 1 + (int)pr_rng_below(&r, 4);
            for (int j = 0; j < k; j++) p[pr_rng_below(&r, (uint32_t)n[f])] = (uint8_t)pr_rng_u32(&r);
            all_good &= decode_ok_or_error(p, n[f], &n_err);
        }
        CHECK(all_good);
        CHECK(n_err > 0); /* some flips must be detected as corruption */
        free(p);
        free(file[f]);
    }
    free(card);
}

/* ---------- resampling ---------- */

TEST(test_resize_area_and_bilinear_hand_computed) {
    pr_error err;
    pr_image src = {3, 1, (uint8_t[]){0, 0, 0, 90, 90, 90, 180, 180, 180}}, out;
    /* 3 -> 2: out0 covers [0, 1.5): (0 + 0.5 * 90) / 1.5 = 30; out1 = (0.5 * 90 + 180) / 1.5 = 150 */
    CHECK_EQ_INT(pr_image_resize(&src, 2, 1, &out, &err), 0);
    CHECK_EQ_INT(out.rgb[0], 30);
    CHECK_EQ_INT(out.rgb[3], 150);
    pr_image_free(&out);
    /* 2 -> 4 bilinear at centres (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 (clamped) */
    pr_image two = {2, 1, (uint8_t[]){0, 0, 0, 200, 200, 200}};
    CHECK_EQ_INT(pr_image_resize(&two, 4, 1, &out, &err), 0);
    CHECK_EQ_INT(out.rgb[0], 0);
    CHECK_EQ_INT(out.rgb[3], 50);
    CHECK_EQ_INT(out.rgb[6], 150);
    CHECK_EQ_INT(out.rgb[9], 200);
    pr_image_free(&out);
    /* 4x4 -> 2x2: block means; also a constant image stays constant at any size */
    uint8_t px[4 * 4 * 3];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            for (int c = 0; c < 3; c++) px[(y * 4 + x) * 3 + c] = (uint8_t)(10 * (y * 4 + x) + c);
    pr_image sq = {4, 4, px};
    CHECK_EQ_INT(pr_image_resize(&sq, 2, 2, &out, &err), 0);
    /* top-left block: pixels 0, 1, 4, 5 -> mean 25 (+c) */
    CHECK_EQ_INT(out.rgb[0], 25);
    CHECK_EQ_INT(out.rgb[2], 27);
    CHECK_EQ_INT(out.rgb[3 * 3], 10 * (10 + 11 + 14 + 15) / 4);
    pr_image_free(&out);
    uint8_t flat[5 * 7 * 3];
    memset(flat, 77, sizeof flat);
    pr_image fl = {5, 7, flat};
    int sizes[][2] = {{1, 1}, {3, 11}, {13, 2}, {64, 64}};
    for (int t = 0; t < 4; t++) {
        CHECK_EQ_INT(pr_image_resize(&fl, sizes[t][0], sizes[t][1], &out, &err), 0);
        int same = 1;
        for (int i = 0; i < out.w * out.h * 3; i++) same &= out.rgb[i] == 77;
        CHECK(same);
        pr_image_free(&out);
    }
    CHECK_EQ_INT(pr_image_resize(&fl, 0, 4, &out, &err), PR_E_FORMAT);
    CHECK_EQ_INT(pr_image_resize(&fl, 20000, 4, &out, &err), PR_E_RANGE);
    /* area averaging preserves the mean of the card */
    uint8_t *card = make_card(60, 80);
    pr_image c = {60, 80, card};
    CHECK_EQ_INT(pr_image_resize(&c, 16, 16, &out, &err), 0);
    double m0 = 0, m1 = 0;
    for (int i = 0; i < 60 * 80 * 3; i++) m0 += card[i];
    for (int i = 0; i < 16 * 16 * 3; i++) m1 += out.rgb[i];
    CHECK_NEAR(m0 / (60 * 80 * 3), m1 / (16 * 16 * 3), 1.0);
    pr_image_free(&out);
    free(card);
}

int main(void) {
    RUN(test_png_round_trip_exact);
    RUN(test_png_grey_and_alpha_composite_on_white);
    RUN(test_jpeg_decode_rgb_grey_progressive);
    RUN(test_webp_lossless_and_lossy);
    RUN(test_format_by_magic_not_extension);
    RUN(test_huge_dimensions_refused);
    RUN(test_jpeg_scan_limit);
    RUN(test_truncated_and_corrupted_never_crash);
    RUN(test_resize_area_and_bilinear_hand_computed);
    return t_done();
}
