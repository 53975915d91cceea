/* features/image_io.h: decode JPEG / PNG / WebP into 8-bit RGB, resize, write PNG.
 *
 * Catalogue images are untrusted input. The decoders detect the format from
 * the magic bytes (never the extension), refuse files larger than
 * PR_IMAGE_MAX_FILE bytes and images wider or taller than PR_IMAGE_MAX_SIDE or
 * with more than PR_IMAGE_MAX_PIXELS pixels before allocating any pixels, and
 * turn every decoder error (libjpeg/libpng longjmp, libjpeg's "premature end"
 * warnings, WebP status codes) into a PR_E_FORMAT naming the file. Grey images
 * become RGB; alpha is composited on white, since product photos are shown on
 * white pages. Decoding is reentrant: all state is on the caller's stack.
 *
 * Pixels are row-major, interleaved RGB: rgb[(y * w + x) * 3 + c]. */
#ifndef PR_FEATURES_IMAGE_IO_H
#define PR_FEATURES_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define PR_IMAGE_MAX_SIDE 16384
#define PR_IMAGE_MAX_PIXELS 50000000LL
#define PR_IMAGE_MAX_FILE (64u << 20)

enum { PR_IMG_UNKNOWN = 0, PR_IMG_JPEG = 1, PR_IMG_PNG = 2, PR_IMG_WEBP = 3 };

typedef struct pr_image {
    int w, h;
    uint8_t *rgb; /* (h, w, 3), owned; free with pr_image_free */
} pr_image;

/* PR_IMG_* from the first bytes of a file (n may be short). */
int pr_image_format(const uint8_t *data, size_t n);

/* Decode an in-memory file; name labels error messages ("shoe.jpg: ..."). On
 * success *out holds a new image owned by the caller; on error it is zeroed. */
int pr_image_decode(const uint8_t *data, size_t n, const char *name, pr_image *out,
                    pr_error *err);
/* Read and decode a file (at most PR_IMAGE_MAX_FILE bytes). */
int pr_image_read(const char *path, pr_image *out, pr_error *err);
void pr_image_free(pr_image *im); /* frees the pixels and zeroes *im; NULL is a no-op */

/* Resample src to (w, h): area averaging along an axis that shrinks, bilinear
 * (pixel-centre aligned, edges clamped) along an axis that grows. *out is a new
 * image owned by the caller. Cost O(w*h + src pixels) per axis pass. */
int pr_image_resize(const pr_image *src, int w, int h, pr_image *out, pr_error *err);

/* Same resampling straight into a float buffer dst (h, w, 3), values 0..255;
 * no allocation besides a row-sized scratch (tmp: src->h * w * 3 floats,
 * caller-provided so encoders can reuse it). */
void pr_image_resize_f32(const pr_image *src, int w, int h, float *tmp, float *dst);

/* Encode rgb (h, w, 3) as an 8-bit RGB PNG, written atomically to path. */
int pr_png_write(const char *path, const uint8_t *rgb, int w, int h, pr_error *err);
/* Encode to a new heap buffer (*out owned by the caller, *n bytes). */
int pr_png_encode(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *n, pr_error *err);

#endif
