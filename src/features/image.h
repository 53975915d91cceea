/* features/image.h: the built-in "image" encoder, a hand-made product-photo descriptor.
 *
 * Deterministic, no download, about 0.4 ms per 64x64 working image. The image
 * is resampled to size x size, converted to CIELab, and its background is
 * estimated from the border (product photos sit on white or plain grounds) and
 * masked out by a flood fill; colour statistics are taken on the foreground,
 * weighted toward the centre. Parts (each its own block, normalised to unit
 * length, then scaled by its weight so cosine similarity of two vectors is the
 * weight-averaged cosine of their blocks):
 *
 *   hist     colour histogram in CIELCh: 6 lightness bins for achromatic pixels,
 *            12 hue x 3 lightness bins for chromatic ones, soft-assigned, Hellinger
 *   moments  mean, standard deviation and skew of L, a, b, each soft-binned
 *   hog      4x4 grid x 9 orientation gradient histograms (with a flatness bin)
 *   lbp      uniform LBP (8 neighbours, 59 codes) over the foreground, Hellinger
 *   gabor    Gabor magnitude at 3 scales x 4 orientations (with a flatness bin)
 *   shape    8x8 grid of foreground occupancy
 *   edges    4x4 grid of edge density
 *   cgrid    4x4 grid of the mean L, a, b of the foreground, soft-binned
 *
 * Args ("key=value,..."; a bare word continues the list before it):
 *   parts=LIST  parts or groups: color (hist, moments), texture (hog, lbp, gabor),
 *               layout (shape, edges, cgrid), all.              default all
 *   size=N      working size, multiple of 8 in 16..256           default 64
 *   bg=auto|none  mask a plain border-coloured background        default auto
 *   center=F    sigma of the centre weighting of colour, as a fraction of
 *               the size; 0 = none                                default 0.5
 *   w_PART=F    weight of a part or group (0..100)               default 1
 * Example: "parts=color,texture,layout,size=64". dim() is fixed by the args;
 * save() stores the args in canonical form (every key explicit). */
#ifndef PR_FEATURES_IMAGE_H
#define PR_FEATURES_IMAGE_H

#include "features/encoder.h"
#include "features/image_io.h"

extern const pr_encoder_ops pr_image_encoder_ops;

/* Describe an already decoded image with an "image" encoder into out[dim]. */
int pr_image_describe(const pr_encoder *e, const pr_image *im, float *out, pr_error *err);

/* Canonical args of an "image" encoder (for logs and tests); borrowed string. */
const char *pr_image_encoder_args(const pr_encoder *e);

#endif
