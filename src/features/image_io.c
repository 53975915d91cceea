/* features/image_io.c: JPEG / PNG / WebP decoding, resampling, PNG writing (see image_io.h).
 *
 * Error handling per library:
 *  - libjpeg reports fatal errors through error_exit, which must not return:
 *    ours formats the message and longjmps back to decode_jpeg. Warnings
 *    about corrupt or missing entropy-coded data (libjpeg pads a truncated
 *    file with an EOI marker and says "Premature end of JPEG file") are made
 *    fatal too, so a truncated file is an error, not a half-grey image.
 *  - libpng's simplified API (png_image_*) keeps its own setjmp inside and
 *    returns 0 with a message; it composites alpha on the background we give.
 *  - libwebp returns status codes; it never longjmps.
 * Every variable that lives across a setjmp and changes after it is volatile
 * or is only read after a normal return (C11 7.13.2.1). */
#include "image_io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <webp/decode.h>

#include "core/fileio.h"

/* ---------- format detection and limits ---------- */

int pr_image_format(const uint8_t *d, size_t n) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) return PR_IMG_JPEG;
    if (n >= 8 && memcmp(d, png_sig, 8) == 0) return PR_IMG_PNG;
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) return PR_IMG_WEBP;
    return PR_IMG_UNKNOWN;
}

static int check_dims(const char *name, long long w, long long h, pr_error *err) {
    if (w <= 0 || h <= 0)
        return pr_err(err, PR_E_FORMAT, "%s: bad image size %lldx%lld", name, w, h);
    if (w > PR_IMAGE_MAX_SIDE || h > PR_IMAGE_MAX_SIDE || w * h > PR_IMAGE_MAX_PIXELS)
        return pr_err(err, PR_E_RANGE, "%s: image %lldx%lld exceeds the limit (side %d, %lld pixels)",
                      name, w, h, PR_IMAGE_MAX_SIDE, PR_IMAGE_MAX_PIXELS);
    return 0;
}

static int alloc_image(pr_image *im, int w, int h, const char *name, pr_error *err) {
    im->rgb = pr_malloc((size_t)w * (size_t)h, 3);
    if (!im->rgb) return pr_err(err, PR_E_NOMEM, "%s: %dx%d pixels", name, w, h);
    im->w = w;
    im->h = h;
    return 0;
}

void pr_image_free(pr_image *im) {
    if (!im) return;
    free(im->rgb);
    memset(im, 0, sizeof *im);
}

/* ---------- JPEG ---------- */

typedef struct jpeg_guard {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jpeg_guard;

static void jpeg_fail(j_common_ptr c) {
    jpeg_guard *g = (jpeg_guard *)c->err;
    c->err->format_message(c, g->msg);
    longjmp(g->jb, 1);
}

/* Warnings (level -1) that mean pixels are missing or garbage become fatal;
 * benign ones (unknown JFIF revision, junk before a marker) are ignored.
 * Trace messages (level >= 0) are ignored. Never prints. */
static void jpeg_message(j_common_ptr c, int level) {
    if (level >= 0) return;
    switch (c->err->msg_code) {
    case JWRN_JPEG_EOF: case JWRN_HIT_MARKER: case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE: case JWRN_MUST_RESYNC: case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
        jpeg_fail(c);
        break;
    default:
        c->err->num_warnings++;
    }
}

/* A progressive JPEG may hold thousands of tiny scans, each a full pass over
 * the coefficients: a few kilobytes that take minutes. Stop after 500 scans
 * (libjpeg-turbo 3's TJPARAM_SCANLIMIT default). */
#define JPEG_MAX_SCANS 500

static void jpeg_progress(j_common_ptr c) {
    if (!c->is_decompressor || ((j_decompress_ptr)c)->input_scan_number <= JPEG_MAX_SCANS) return;
    jpeg_guard *g = (jpeg_guard *)c->err;
    snprintf(g->msg, sizeof g->msg, "more than %d progressive scans", JPEG_MAX_SCANS);
    longjmp(g->jb, 1);
}

/* Adobe CMYK JPEGs store inverted ink values: R = C*K/255 on stored bytes. */
static void cmyk_row_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int w) {
    for (int x = 0; x < w; x++) {
        unsigned k = cmyk[4 * x + 3];
        for (int c = 0; c < 3; c++) rgb[3 * x + c] = (uint8_t)((cmyk[4 * x + c] * k + 127) / 255);
    }
}

static int decode_jpeg(const uint8_t *data, size_t n, const char *name, pr_image *out,
                       pr_error *err) {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr prog = {.progress_monitor = jpeg_progress};
    jpeg_guard g;
    /* changed after setjmp and read after a longjmp: volatile */
    uint8_t *volatile pix = NULL, *volatile row4 = NULL;
    volatile int rc = 0;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&g.pub);
    g.pub.error_exit = jpeg_fail;
    g.pub.emit_message = jpeg_message;
    g.msg[0] = '\0';
    if (setjmp(g.jb)) {
        rc = pr_err(err, PR_E_FORMAT, "%s: corrupt JPEG: %s", name, g.msg);
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = 512L << 20;
    cinfo.progress = &prog;
    if (n > (size_t)0xffffffffu) { rc = pr_err(err, PR_E_RANGE, "%s: file too large", name); goto done; }
    jpeg_mem_src(&cinfo, data, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    if ((rc = check_dims(name, cinfo.image_width, cinfo.image_height, err)) < 0) goto done;
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    if ((rc = check_dims(name, w, h, err)) < 0) goto done;
    if (cinfo.output_components != (cmyk ? 4 : 3)) {
        rc = pr_err(err, PR_E_FORMAT, "%s: JPEG with %d components", name, cinfo.output_components);
        goto done;
    }
    pix = pr_malloc((size_t)w * (size_t)h, 3);
    if (cmyk) row4 = pr_malloc((size_t)w, 4);
    if (!pix || (cmyk && !row4)) { rc = pr_err(err, PR_E_NOMEM, "%s: %dx%d pixels", name, w, h); goto done; }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = pix + (size_t)cinfo.output_scanline * (size_t)w * 3;
        JSAMPROW row = cmyk ? row4 : dst;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            rc = pr_err(err, PR_E_FORMAT, "%s: corrupt JPEG: no scanline data", name);
            goto done;
        }
        if (cmyk) cmyk_row_to_rgb(row4, dst, w);
    }
    jpeg_finish_decompress(&cinfo);
    out->w = w;
    out->h = h;
    out->rgb = pix;
    pix = NULL;
done:
    jpeg_destroy_decompress(&cinfo); /* safe on a partly set-up object */
    free(pix);
    free(row4);
    return rc;
}

/* ---------- PNG ---------- */

static int decode_png(const uint8_t *data, size_t n, const char *name, pr_image *out,
                      pr_error *err) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    int rc = 0;
    uint8_t *pix = NULL;
    if (!png_image_begin_read_from_memory(&img, data, n)) {
        rc = pr_err(err, PR_E_FORMAT, "%s: corrupt PNG: %s", name, img.message);
        goto done;
    }
    if ((rc = check_dims(name, img.width, img.height, err)) < 0) goto done;
    img.format = PNG_FORMAT_RGB; /* grey expanded; alpha composited on `white` */
    png_color white = {255, 255, 255};
    if ((rc = alloc_image(out, (int)img.width, (int)img.height, name, err)) < 0) goto done;
    pix = out->rgb;
    if (!png_image_finish_read(&img, &white, pix, 0, NULL)) {
        rc = pr_err(err, PR_E_FORMAT, "%s: corrupt PNG: %s", name, img.message);
        goto done;
    }
    pix = NULL;
done:
    png_image_free(&img);
    if (pix) pr_image_free(out);
    return rc;
}

/* ---------- WebP ---------- */

static int decode_webp(const uint8_t *data, size_t n, const char *name, pr_image *out,
                       pr_error *err) {
    WebPBitstreamFeatures f;
    int st = WebPGetFeatures(data, n, &f);
    if (st != VP8_STATUS_OK) return pr_err(err, PR_E_FORMAT, "%s: corrupt WebP (status %d)", name, st);
    if (f.has_animation) return pr_err(err, PR_E_FORMAT, "%s: animated WebP is not supported", name);
    int rc = check_dims(name, f.width, f.height, err);
    if (rc < 0) return rc;
    size_t np = (size_t)f.width * (size_t)f.height;
    uint8_t *rgba = pr_malloc(np, 4);
    if (!rgba) return pr_err(err, PR_E_NOMEM, "%s: %dx%d pixels", name, f.width, f.height);
    if (!WebPDecodeRGBAInto(data, n, rgba, np * 4, f.width * 4)) {
        rc = pr_err(err, PR_E_FORMAT, "%s: corrupt WebP: decoding failed", name);
        goto done;
    }
    if ((rc = alloc_image(out, f.width, f.height, name, err)) < 0) goto done;
    for (size_t i = 0; i < np; i++) { /* composite on white */
        unsigned a = rgba[4 * i + 3];
        for (int c = 0; c < 3; c++)
            out->rgb[3 * i + c] = (uint8_t)((rgba[4 * i + c] * a + 255u * (255u - a) + 127u) / 255u);
    }
done:
    free(rgba);
    return rc;
}

/* ---------- entry points ---------- */

int pr_image_decode(const uint8_t *data, size_t n, const char *name, pr_image *out,
                    pr_error *err) {
    memset(out, 0, sizeof *out);
    if (!name) name = "(image)";
    if (n > PR_IMAGE_MAX_FILE)
        return pr_err(err, PR_E_RANGE, "%s: %zu bytes exceeds the %u-byte limit", name, n,
                      PR_IMAGE_MAX_FILE);
    switch (pr_image_format(data, n)) {
    case PR_IMG_JPEG: return decode_jpeg(data, n, name, out, err);
    case PR_IMG_PNG: return decode_png(data, n, name, out, err);
    case PR_IMG_WEBP: return decode_webp(data, n, name, out, err);
    default:
        return pr_err(err, PR_E_FORMAT, "%s: not a JPEG, PNG or WebP file (%zu bytes)", name, n);
    }
}

/* Read a regular file of at most cap bytes into a new buffer (owned by the caller). */
static int read_capped(const char *path, size_t cap, uint8_t **out, size_t *n, pr_error *err) {
    int rc = 0, fd = open(path, O_RDONLY);
    uint8_t *buf = NULL;
    if (fd < 0) return pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) { rc = pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno)); goto done; }
    if (!S_ISREG(st.st_mode)) { rc = pr_err(err, PR_E_IO, "%s: not a regular file", path); goto done; }
    if ((unsigned long long)st.st_size > cap) {
        rc = pr_err(err, PR_E_RANGE, "%s: %lld bytes exceeds the %zu-byte limit", path,
                    (long long)st.st_size, cap);
        goto done;
    }
    size_t want = (size_t)st.st_size, got = 0;
    if (!(buf = malloc(want ? want : 1))) { rc = pr_err(err, PR_E_NOMEM, "%s", path); goto done; }
    while (got < want) { /* the file may shrink while we read: stop at EOF */
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { rc = pr_err(err, PR_E_IO, "%s: %s", path, strerror(errno)); goto done; }
        if (r == 0) break;
        got += (size_t)r;
    }
    *out = buf;
    *n = got;
    buf = NULL;
done:
    free(buf);
    close(fd);
    return rc;
}

int pr_image_read(const char *path, pr_image *out, pr_error *err) {
    memset(out, 0, sizeof *out);
    uint8_t *data = NULL;
    size_t n = 0;
    int rc = read_capped(path, PR_IMAGE_MAX_FILE, &data, &n, err);
    if (rc == 0) rc = pr_image_decode(data, n, path, out, err);
    free(data);
    return rc;
}

/* ---------- resampling ---------- */

/* Resample one line of n_in samples (stride s_in, from u8 or float input) into
 * n_out samples (stride s_out). Shrinking: each output averages the input
 * interval [o*r, (o+1)*r) with fractional end weights, r = n_in / n_out.
 * Growing: bilinear at the output pixel centre mapped back, clamped. */
static void resample_line(const uint8_t *in8, const float *inf, ptrdiff_t s_in, int n_in,
                          float *out, ptrdiff_t s_out, int n_out) {
    double r = (double)n_in / n_out;
    for (int o = 0; o < n_out; o++) {
        double acc = 0;
        if (n_in > n_out) {
            double a = o * r, b = a + r;
            int i0 = (int)a, i1 = (int)ceil(b);
            if (i1 > n_in) i1 = n_in;
            for (int i = i0; i < i1; i++) {
                double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
                acc += (hi - lo) * (in8 ? in8[i * s_in] : inf[i * s_in]);
            }
            acc /= r;
        } else {
            double f = (o + 0.5) * r - 0.5;
            if (f < 0) f = 0;
            int i0 = (int)f, i1 = i0 + 1 < n_in ? i0 + 1 : n_in - 1;
            double t = f - i0;
            double v0 = in8 ? in8[i0 * s_in] : inf[i0 * s_in];
            double v1 = in8 ? in8[i1 * s_in] : inf[i1 * s_in];
            acc = v0 + t * (v1 - v0);
        }
        out[o * s_out] = (float)acc;
    }
}

void pr_image_resize_f32(const pr_image *src, int w, int h, float *tmp, float *dst) {
    int sw = src->w, sh = src->h;
    /* tmp (sh, w, 3) = rows resampled horizontally */
    for (int y = 0; y < sh; y++)
        for (int c = 0; c < 3; c++)
            resample_line(src->rgb + (size_t)y * sw * 3 + c, NULL, 3, sw,
                          tmp + (size_t)y * w * 3 + c, 3, w);
    /* dst (h, w, 3) = columns of tmp resampled vertically */
    for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++)
            resample_line(NULL, tmp + (size_t)x * 3 + c, (ptrdiff_t)w * 3, sh,
                          dst + (size_t)x * 3 + c, (ptrdiff_t)w * 3, h);
}

int pr_image_resize(const pr_image *src, int w, int h, pr_image *out, pr_error *err) {
    memset(out, 0, sizeof *out);
    int rc = check_dims("resize", w, h, err);
    if (rc < 0) return rc;
    if (!src->rgb || src->w <= 0 || src->h <= 0) return pr_err(err, PR_E_ARG, "resize: empty source image");
    float *tmp = pr_malloc((size_t)src->h * (size_t)w * 3, sizeof(float));
    float *dst = pr_malloc((size_t)h * (size_t)w * 3, sizeof(float));
    if (!tmp || !dst) { rc = pr_err(err, PR_E_NOMEM, "resize to %dx%d", w, h); goto done; }
    if ((rc = alloc_image(out, w, h, "resize", err)) < 0) goto done;
    pr_image_resize_f32(src, w, h, tmp, dst);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        float v = dst[i] + 0.5f;
        out->rgb[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
done:
    free(tmp);
    free(dst);
    return rc;
}

/* ---------- PNG writing ---------- */

static int png_setup(png_image *img, const uint8_t *rgb, int w, int h, const char *name,
                     pr_error *err) {
    memset(img, 0, sizeof *img);
    img->version = PNG_IMAGE_VERSION;
    img->format = PNG_FORMAT_RGB;
    if (!rgb) return pr_err(err, PR_E_ARG, "%s: no pixels", name);
    int rc = check_dims(name, w, h, err);
    img->width = (png_uint_32)w;
    img->height = (png_uint_32)h;
    return rc;
}

int pr_png_write(const char *path, const uint8_t *rgb, int w, int h, pr_error *err) {
    png_image img;
    int rc = png_setup(&img, rgb, w, h, path, err);
    if (rc < 0) return rc;
    pr_atomic a;
    if ((rc = pr_atomic_open(&a, path, err)) < 0) return rc;
    if (!png_image_write_to_stdio(&img, a.f, 0, rgb, w * 3, NULL)) {
        rc = pr_err(err, PR_E_IO, "%s: PNG write failed: %s", path, img.message);
        png_image_free(&img);
        pr_atomic_abort(&a);
        return rc;
    }
    return pr_atomic_commit(&a, err);
}

int pr_png_encode(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *n, pr_error *err) {
    png_image img;
    int rc = png_setup(&img, rgb, w, h, "png", err);
    if (rc < 0) return rc;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&img, NULL, &size, 0, rgb, w * 3, NULL))
        return pr_err(err, PR_E_FORMAT, "png: encode failed: %s", img.message);
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return pr_err(err, PR_E_NOMEM, "png: %zu bytes", (size_t)size);
    if (!png_image_write_to_memory(&img, buf, &size, 0, rgb, w * 3, NULL)) {
        free(buf);
        return pr_err(err, PR_E_FORMAT, "png: encode failed: %s", img.message);
    }
    *out = buf;
    *n = size;
    return 0;
}
