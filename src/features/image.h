/* features/image.h: the built-in "image" encoder, a hand-made product-photo descriptor.
 *
 * Deterministic, no download, ~2 ms per image on one core at the default
 * size. The image is area-resampled to size x size, converted to CIELab, and
 * its background is estimated from the border (product photos sit on white or
 * plain grounds): a flood fill from the border through pixels near the
 * border's median colour, whose complement is closed row- and column-wise into
 * a solid silhouette (so a white shirt on white keeps its body). Colour is
 * measured on that foreground, weighted toward the centre. Parts (each its own
 * block, normalised to unit length, then scaled by its weight, so the cosine of
 * two vectors is the weight^2-averaged cosine of their blocks):
 *
 *   part     dim  what
 *   hist      42  colour histogram in CIELCh: 6 lightness bins for achromatic
 *                 pixels, 12 hues x 3 lightnesses for chromatic ones (chroma
 *                 4..12 blends the two), soft-assigned, Hellinger (sqrt)
 *   moments   54  mean, standard deviation, cube-root skew of L, a, b, each
 *                 embedded as a soft-binned unit vector
 *   hog      832  8x8 cells x 12 signed gradient orientations + a flatness bin,
 *                 bilinear in space and angle, power- and L2-normalised
 *   lbp       59  uniform LBP codes (8 neighbours, radius 1) over the foreground
 *   gabor    208  4x4 grid x Gabor magnitude at 3 scales x 4 orientations + a
 *                 flatness bin (GIST-like), power- and L2-normalised
 *   shape     64  8x8 grid of foreground occupancy
 *   edges     17  4x4 grid of edge density + a flatness bin
 *   cgrid    240  4x4 grid of the foreground's mean L, a, b, soft-binned
 *
 * Args ("key=value,..."; a bare word continues the parts= list before it):
 *   parts=LIST  parts or groups: color (hist, moments), texture (hog, lbp, gabor),
 *               layout (shape, edges, cgrid), all              default all (dim 1516)
 *   size=N      working size, a multiple of 16 in 16..256      default 64
 *   bg=auto|none  mask a plain border-coloured background      default auto
 *   center=F    sigma of the centre weighting of colour, as a fraction of
 *               the size; 0 = none                              default 0.5
 *   w_PART=F    weight of a part or group (0..100)             default 1, except
 *               w_hog = sqrt 2 (HOG is both texture and layout) and 0.5 for the
 *               two derived summaries: moments (nine numbers summarising the
 *               distribution hist holds) and cgrid (hist's colours on shape's grid)
 * Example: "parts=color,texture,layout,size=64". dim() is fixed by the args;
 * save() stores the args in canonical form (every key explicit), so a loaded
 * encoder encodes exactly as the saved one even if defaults change.
 * docs/encoders-media.md has the measurements behind these choices. */
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
