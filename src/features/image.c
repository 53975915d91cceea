/* features/image.c: the "image" descriptor encoder (see image.h for the parts).
 *
 * Pipeline for one image (S = size):
 *   decode -> area-resample to (S, S) RGB floats -> CIELab (D65) planes L, A, B
 *   -> background: median Lab of the border ring; if most of the ring is
 *      within DELTA_E of it, flood-fill from the border through pixels within
 *      DELTA_E; the rest, closed along rows and columns into a solid
 *      silhouette, is foreground (fall back to the whole image when the
 *      border is not plain or the foreground is tiny)
 *   -> colour weight = foreground x Gaussian centre weight (models and props
 *      sit at the edges; the product sits in the middle)
 *   -> gradients of L (central differences) -> the parts, each into its own
 *      slice of out[], normalised to unit length, times its weight.
 * Histograms use soft (linear) assignment to neighbouring bins so a small
 * change of colour or angle moves mass smoothly instead of jumping a bin.
 * Scalars (moments, cell colours) are embedded as soft-binned unit vectors, so
 * the dot product of two embeddings is a kernel on their difference: equal
 * values score 1 whatever the value (a centred linear code would give two grey
 * items similarity 0). Texture blocks carry one extra "flatness" bin with a
 * fixed floor value, so a plain image normalises to that bin instead of
 * amplifying JPEG noise into a fake pattern.
 *
 * Thread safety: the encoder is read-only after create(); encode() allocates
 * one scratch block per call (no allocation in the pixel loops).
 * Cost: O(S^2) per part; Gabor is separable (complex 1-D row then column
 * kernels), 3 scales x 4 orientations on a pyramid. */
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_PARTS 8
enum { P_HIST, P_MOMENTS, P_HOG, P_LBP, P_GABOR, P_SHAPE, P_EDGES, P_CGRID };
static const char *const part_name[N_PARTS] = {"hist",  "moments", "hog",   "lbp",
                                               "gabor", "shape",   "edges", "cgrid"};
#define ALL_PARTS ((1u << N_PARTS) - 1)
static const struct {
    const char *name;
    unsigned mask;
} part_group[] = {
    {"color", 1u << P_HIST | 1u << P_MOMENTS},
    {"colour", 1u << P_HIST | 1u << P_MOMENTS},
    {"texture", 1u << P_HOG | 1u << P_LBP | 1u << P_GABOR},
    {"layout", 1u << P_SHAPE | 1u << P_EDGES | 1u << P_CGRID},
    {"all", ALL_PARTS},
};

/* block sizes */
#define HIST_ACH 6    /* achromatic lightness bins, centres 0, 20, ..., 100 */
#define HIST_HUE 12   /* hue bins of 30 degrees */
#define HIST_LV 3     /* chromatic lightness bins, centres 25, 50, 75 */
#define MOM_BINS 6    /* soft bins per embedded moment */
#define HOG_G 8       /* HOG grid: cells of S/8 pixels (8 at S = 64, as Dalal-Triggs) */
#define HOG_O 12      /* signed orientations of 30 degrees */
#define GAB_S 3       /* Gabor scales: S, S/2, S/4 */
#define GAB_O 4       /* Gabor orientations: 0, 45, 90, 135 degrees */
#define GAB_G 4       /* Gabor grid */
#define GAB_PER (GAB_S * GAB_O + 1) /* per grid cell: energies + flatness */
#define GAB_R 7       /* kernel radius: 3 sigma */
#define SHAPE_G 8
#define EDGE_G 4
#define CGRID_G 4
#define CGRID_BINS 5
static const int part_dim[N_PARTS] = {
    HIST_ACH + HIST_HUE * HIST_LV,      /* hist     42 */
    9 * MOM_BINS,                       /* moments  54 */
    HOG_G * HOG_G * (HOG_O + 1),        /* hog     832 */
    59,                                 /* lbp      59 */
    GAB_G * GAB_G * GAB_PER,            /* gabor   208 */
    SHAPE_G * SHAPE_G,                  /* shape    64 */
    EDGE_G * EDGE_G + 1,                /* edges    17 */
    CGRID_G * CGRID_G * 3 * CGRID_BINS, /* cgrid   240 */
};

/* fixed constants of the method (not tuned per item) */
#define DELTA_E 10.0f     /* background tolerance, CIE76 units (~4 just-noticeable steps) */
#define BG_RING_FRAC 0.6f /* share of the border that must match for a plain background */
#define FG_MIN_FRAC 0.02f /* smaller foregrounds are masking failures: use the whole image */
#define CHROMA_LO 4.0f    /* below: achromatic (grey); ~2 just-noticeable differences */
#define CHROMA_HI 12.0f   /* above: chromatic; linear blend between */
#define LBP_TAU 1.0f      /* LBP comparison margin in L units: flat stays flat under noise */
#define HOG_FLOOR 2.0f    /* per pixel, L units (central difference of a 1-unit step) */
#define GAB_FLOOR 0.5f    /* mean |response| of a flat JPEG region, L units */
#define GAB_LAMBDA 4.0f   /* wavelength at the finest scale, pixels */
#define GAB_SIGMA 2.25f   /* one-octave bandwidth at that wavelength */
#define EDGE_TAU 10.0f    /* gradient magnitude counted as a full edge */
#define EDGE_FLOOR 0.1f   /* flatness bin of the edge grid */

typedef struct image_enc {
    pr_encoder base;
    int size, bg;
    float center;
    unsigned parts;
    float w[N_PARTS];
    int dim, off[N_PARTS];
    uint8_t lbp_map[256];
    float srgb_lin[256];              /* sRGB byte value -> linear light */
    /* Gabor 1-D kernels, (GAB_O, 2R+1): row kernel x, column kernel y, complex */
    float kxr[GAB_O][2 * GAB_R + 1], kxi[GAB_O][2 * GAB_R + 1];
    float kyr[GAB_O][2 * GAB_R + 1], kyi[GAB_O][2 * GAB_R + 1];
    float gk[2 * GAB_R + 1];          /* envelope, for the DC correction */
    float dcr[GAB_O], dci[GAB_O];     /* DC gain of each kernel, relative to the envelope */
    char args[384];
} image_enc;

/* ---------- small numeric helpers ---------- */

static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Add weight w to bins b0 and b0+1 of h (n bins, clamped at the ends) at
 * fractional position t in [0, n-1]. */
static inline void soft_add(float *h, int n, float t, float w) {
    t = clampf(t, 0.0f, (float)(n - 1));
    int b = (int)t;
    if (b >= n - 1) { h[n - 1] += w; return; }
    float f = t - (float)b;
    h[b] += w * (1.0f - f);
    h[b + 1] += w * f;
}

/* Soft-bin scalar x over [lo, hi] into n bins as a unit vector. */
static void embed_scalar(float x, float lo, float hi, int n, float *out) {
    memset(out, 0, (size_t)n * sizeof *out);
    soft_add(out, n, (x - lo) / (hi - lo) * (float)(n - 1), 1.0f);
    float s = 0;
    for (int i = 0; i < n; i++) s += out[i] * out[i];
    s = 1.0f / sqrtf(s);
    for (int i = 0; i < n; i++) out[i] *= s;
}

static void l2_scale(float *v, int n, float w) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)v[i] * v[i];
    float k = s > 0 ? w / (float)sqrt(s) : 0.0f;
    for (int i = 0; i < n; i++) v[i] *= k;
}

static void sqrt_all(float *v, int n) {
    for (int i = 0; i < n; i++) v[i] = v[i] > 0 ? sqrtf(v[i]) : 0.0f;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* ---------- per-call working planes ---------- */

typedef struct view {
    int S;
    float *L, *A, *B;  /* (S, S) CIELab */
    float *fg;         /* (S, S) 1 foreground, 0 background */
    float *wc;         /* (S, S) colour weight: fg x centre weight */
    float *mag, *ori;  /* (S, S) gradient magnitude and direction in [0, 2 pi) of L */
    float *scratch;    /* Gabor pyramid + level scratch; also the border sort */
    int32_t *queue;    /* (S * S) flood-fill queue */
    uint8_t *isbg;     /* (S * S) */
    int has_bg;
} view;

static float srgb_to_linear(float v) { /* v in 0..255 */
    float c = v / 255.0f;
    return c <= 0.04045f ? c / 12.92f : powf((c + 0.055f) / 1.055f, 2.4f);
}

static inline float lab_f(float t) {
    const float e = 216.0f / 24389.0f, k = 24389.0f / 27.0f;
    return t > e ? cbrtf(t) : (k * t + 16.0f) / 116.0f;
}

/* rgb (S, S, 3) 0..255 -> L, A, B planes (D65, CIE 1976). */
static void to_lab(view *v, const float *srgb_lin, const float *rgb) {
    int n = v->S * v->S;
    for (int i = 0; i < n; i++) {
        float lin[3];
        for (int c = 0; c < 3; c++) {
            float x = clampf(rgb[3 * i + c], 0.0f, 255.0f);
            int b = (int)x;
            float t = x - (float)b;
            lin[c] = b >= 255 ? srgb_lin[255] : srgb_lin[b] + t * (srgb_lin[b + 1] - srgb_lin[b]);
        }
        float X = (0.4124f * lin[0] + 0.3576f * lin[1] + 0.1805f * lin[2]) / 0.95047f;
        float Y = 0.2126f * lin[0] + 0.7152f * lin[1] + 0.0722f * lin[2];
        float Z = (0.0193f * lin[0] + 0.1192f * lin[1] + 0.9505f * lin[2]) / 1.08883f;
        float fx = lab_f(X), fy = lab_f(Y), fz = lab_f(Z);
        v->L[i] = 116.0f * fy - 16.0f;
        v->A[i] = 500.0f * (fx - fy);
        v->B[i] = 200.0f * (fy - fz);
    }
}

static inline float delta_e(const view *v, int i, const float bg[3]) {
    float dl = v->L[i] - bg[0], da = v->A[i] - bg[1], db = v->B[i] - bg[2];
    return sqrtf(dl * dl + da * da + db * db);
}

/* fg = orthogonally convex closure of the pixels not flooded (isbg == 0): a
 * pixel is foreground when foreground lies on both sides of it along its row
 * AND along its column. This puts back the parts of a white product that the
 * flood fill took for white background (it leaks through the gaps of a faint
 * outline), at the cost of filling concavities such as a bag handle's hole. */
static void fill_silhouette(view *v) {
    int S = v->S;
    int32_t *rlo = v->queue, *rhi = rlo + S, *clo = rhi + S, *chi = clo + S; /* 4S <= S*S */
    for (int k = 0; k < S; k++) { rlo[k] = clo[k] = S; rhi[k] = chi[k] = -1; }
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            if (!v->isbg[y * S + x]) {
                rlo[y] = PR_MIN(rlo[y], x); rhi[y] = PR_MAX(rhi[y], x);
                clo[x] = PR_MIN(clo[x], y); chi[x] = PR_MAX(chi[x], y);
            }
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            v->fg[y * S + x] = x >= rlo[y] && x <= rhi[y] && y >= clo[x] && y <= chi[x] ? 1.0f : 0.0f;
}

/* Foreground mask by flood fill from a plain border; see the file comment. */
static void mask_background(view *v, int use_bg) {
    int S = v->S, n = S * S, ring = S / 32 > 1 ? S / 32 : 1;
    for (int i = 0; i < n; i++) v->fg[i] = 1.0f;
    v->has_bg = 0;
    if (!use_bg) return;
    /* border ring pixels -> per-channel median */
    int nb = 0;
    float *vals = v->scratch; /* 3 lists of up to 4*S*ring values */
    int cap = 4 * S * ring;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            if (x >= ring && x < S - ring && y >= ring && y < S - ring) continue;
            int i = y * S + x;
            vals[nb] = v->L[i];
            vals[cap + nb] = v->A[i];
            vals[2 * cap + nb] = v->B[i];
            nb++;
        }
    float bg[3];
    for (int c = 0; c < 3; c++) {
        qsort(vals + c * cap, (size_t)nb, sizeof(float), cmp_float);
        bg[c] = vals[c * cap + nb / 2];
    }
    /* plain border? then flood fill from every matching border pixel */
    memset(v->isbg, 0, (size_t)n);
    int head = 0, tail = 0, match = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            if (x >= ring && x < S - ring && y >= ring && y < S - ring) continue;
            int i = y * S + x;
            if (delta_e(v, i, bg) < DELTA_E) {
                match++;
                v->isbg[i] = 1;
                v->queue[tail++] = i;
            }
        }
    if ((float)match < BG_RING_FRAC * (float)nb) return;
    while (head < tail) {
        int i = v->queue[head++], x = i % S, y = i / S;
        int nbr[4] = {x > 0 ? i - 1 : -1, x < S - 1 ? i + 1 : -1, y > 0 ? i - S : -1,
                      y < S - 1 ? i + S : -1};
        for (int k = 0; k < 4; k++) {
            int j = nbr[k];
            if (j < 0 || v->isbg[j] || delta_e(v, j, bg) >= DELTA_E) continue;
            v->isbg[j] = 1;
            v->queue[tail++] = j;
        }
    }
    if ((float)(n - tail) < FG_MIN_FRAC * (float)n) return; /* foreground too small */
    fill_silhouette(v);
    v->has_bg = 1;
}

static void colour_weights(view *v, float center) {
    int S = v->S;
    float c = 0.5f * (float)(S - 1), s = center * (float)S;
    float k = s > 0 ? -0.5f / (s * s) : 0.0f;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float dx = (float)x - c, dy = (float)y - c;
            v->wc[y * S + x] = v->fg[y * S + x] * expf(k * (dx * dx + dy * dy));
        }
}

static void gradients(view *v) {
    int S = v->S;
    const float *L = v->L;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int xl = x > 0 ? x - 1 : x, xr = x < S - 1 ? x + 1 : x;
            int yu = y > 0 ? y - 1 : y, yd = y < S - 1 ? y + 1 : y;
            float gx = L[y * S + xr] - L[y * S + xl], gy = L[yd * S + x] - L[yu * S + x];
            float a = atan2f(gy, gx);
            if (a < 0) a += 2.0f * (float)M_PI; /* [0, 2 pi): signed direction */
            if (a >= 2.0f * (float)M_PI) a = 0;
            v->mag[y * S + x] = sqrtf(gx * gx + gy * gy);
            v->ori[y * S + x] = a;
        }
}

/* ---------- parts ---------- */

static void part_hist(const view *v, float *h) {
    const int nd = HIST_ACH + HIST_HUE * HIST_LV;
    memset(h, 0, nd * sizeof *h);
    float *ach = h, *chr = h + HIST_ACH; /* chr (HIST_HUE, HIST_LV) */
    double tot = 0;
    for (int i = 0; i < v->S * v->S; i++) {
        float w = v->wc[i];
        if (w <= 0) continue;
        tot += w;
        float L = v->L[i], a = v->A[i], b = v->B[i], C = sqrtf(a * a + b * b);
        float wa = clampf((CHROMA_HI - C) / (CHROMA_HI - CHROMA_LO), 0.0f, 1.0f);
        if (wa > 0) soft_add(ach, HIST_ACH, L / 100.0f * (HIST_ACH - 1), w * wa);
        if (wa >= 1) continue;
        float hue = atan2f(b, a) / (2.0f * (float)M_PI); /* -0.5..0.5 turns */
        float th = hue * HIST_HUE - 0.5f;                 /* bin j centred at j + 0.5 */
        th -= floorf(th / HIST_HUE) * HIST_HUE;
        int h0 = (int)th % HIST_HUE, h1 = (h0 + 1) % HIST_HUE;
        float fh = th - floorf(th);
        float tl = clampf(L / (100.0f / (HIST_LV + 1)) - 1.0f, 0.0f, (float)(HIST_LV - 1));
        int l0 = (int)tl < HIST_LV - 1 ? (int)tl : HIST_LV - 2;
        float fl = tl - (float)l0, wc = w * (1.0f - wa);
        chr[h0 * HIST_LV + l0] += wc * (1 - fh) * (1 - fl);
        chr[h0 * HIST_LV + l0 + 1] += wc * (1 - fh) * fl;
        chr[h1 * HIST_LV + l0] += wc * fh * (1 - fl);
        chr[h1 * HIST_LV + l0 + 1] += wc * fh * fl;
    }
    if (tot > 0)
        for (int k = 0; k < nd; k++) h[k] = (float)(h[k] / tot);
    sqrt_all(h, nd); /* Hellinger: a distribution of sum 1 becomes a unit vector */
}

static void part_moments(const view *v, float *out) {
    const float *ch[3] = {v->L, v->A, v->B};
    /* ranges: mean L 0..100, mean a/b -60..60, std 0..40, cbrt(3rd moment) -40..40 */
    static const float lo[3][3] = {{0, 0, -40}, {-60, 0, -40}, {-60, 0, -40}};
    static const float hi[3][3] = {{100, 40, 40}, {60, 40, 40}, {60, 40, 40}};
    double sw = 0;
    for (int i = 0; i < v->S * v->S; i++) sw += v->wc[i];
    for (int c = 0; c < 3; c++) {
        double m1 = 0, m2 = 0, m3 = 0;
        for (int i = 0; i < v->S * v->S; i++) m1 += v->wc[i] * ch[c][i];
        m1 = sw > 0 ? m1 / sw : 0;
        for (int i = 0; i < v->S * v->S; i++) {
            double d = ch[c][i] - m1;
            m2 += v->wc[i] * d * d;
            m3 += v->wc[i] * d * d * d;
        }
        if (sw > 0) { m2 /= sw; m3 /= sw; }
        float m[3] = {(float)m1, (float)sqrt(m2), (float)cbrt(m3)};
        for (int k = 0; k < 3; k++)
            embed_scalar(m[k], lo[c][k], hi[c][k], MOM_BINS, out + (c * 3 + k) * MOM_BINS);
    }
    l2_scale(out, 9 * MOM_BINS, 1.0f);
}

static void part_hog(const view *v, float *out) {
    int S = v->S, cs = S / HOG_G;
    const int per = HOG_O + 1, nd = HOG_G * HOG_G * per;
    memset(out, 0, nd * sizeof *out);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float t = v->ori[y * S + x] / (2.0f * (float)M_PI) * HOG_O - 0.5f; /* circular */
            if (t < 0) t += HOG_O;
            int b0 = (int)t % HOG_O, b1 = (b0 + 1) % HOG_O;
            float f = t - floorf(t), m = v->mag[y * S + x];
            /* bilinear between cell centres */
            float fy = ((float)y + 0.5f) / (float)cs - 0.5f, fx = ((float)x + 0.5f) / (float)cs - 0.5f;
            int cy0 = (int)floorf(fy), cx0 = (int)floorf(fx);
            float ty = fy - (float)cy0, tx = fx - (float)cx0;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    int cy = cy0 + dy, cx = cx0 + dx;
                    if (cy < 0 || cy >= HOG_G || cx < 0 || cx >= HOG_G) continue;
                    float ws = (dy ? ty : 1 - ty) * (dx ? tx : 1 - tx) * m;
                    float *cell = out + (cy * HOG_G + cx) * per;
                    cell[b0] += ws * (1 - f);
                    cell[b1] += ws * f;
                }
        }
    for (int c = 0; c < HOG_G * HOG_G; c++) out[c * per + HOG_O] = HOG_FLOOR * (float)(cs * cs);
    sqrt_all(out, nd);
    l2_scale(out, nd, 1.0f);
}

static void part_lbp(const image_enc *e, const view *v, float *out) {
    int S = v->S;
    static const int dx[8] = {1, 1, 0, -1, -1, -1, 0, 1}, dy[8] = {0, 1, 1, 1, 0, -1, -1, -1};
    memset(out, 0, 59 * sizeof *out);
    double tot = 0;
    for (int y = 1; y < S - 1; y++)
        for (int x = 1; x < S - 1; x++) {
            float w = v->fg[y * S + x];
            if (w <= 0) continue;
            float c = v->L[y * S + x] + LBP_TAU;
            unsigned code = 0;
            for (int k = 0; k < 8; k++) code |= (unsigned)(v->L[(y + dy[k]) * S + x + dx[k]] >= c) << k;
            out[e->lbp_map[code]] += w;
            tot += w;
        }
    if (tot > 0)
        for (int k = 0; k < 59; k++) out[k] = (float)(out[k] / tot);
    sqrt_all(out, 59);
    l2_scale(out, 59, 1.0f);
}

/* Halve a (n, n) plane by 2x2 averaging into (n/2, n/2). */
static void halve(const float *src, int n, float *dst) {
    int m = n / 2;
    for (int y = 0; y < m; y++)
        for (int x = 0; x < m; x++) {
            const float *p = src + 2 * y * n + 2 * x;
            dst[y * m + x] = 0.25f * (p[0] + p[1] + p[n] + p[n + 1]);
        }
}

/* Gabor scratch floats for a level of side n: the row-padded plane (n, n+2R)
 * and five column-padded row-pass planes (n+2R, n). */
#define GAB_LEVEL_SCRATCH(n) (6 * ((n) + 2 * GAB_R) * (n))

/* Mean Gabor magnitude per grid cell of one pyramid level (plane, mask (n, n)),
 * into res[cell * GAB_PER + o] for the 4 orientations 0, 45, 90, 135 degrees.
 * With separable kernels the 2-D response is a row pass then a column pass;
 * init_gabor makes the kernels share row passes: 0 and 45 degrees need their
 * own complex row pass, 90 degrees rows are the plain envelope (also needed
 * for the DC correction), and 135 degrees rows are the conjugate of 45's
 * (the input is real). Borders replicate, by padding, so the inner loops are
 * branch-free. */
static void gabor_level(const image_enc *e, const float *plane, const float *mask, int n, float *sc,
                        float *res) {
    _Static_assert(GAB_O == 4, "gabor_level is written for 4 orientations");
    const int R = GAB_R, K = 2 * R + 1, w = n + 2 * R;
    float *pp = sc;                                /* (n, w) */
    float *G = pp + (size_t)n * w;                 /* (w, n) envelope rows */
    float *Ar = G + (size_t)w * n, *Ai = Ar + (size_t)w * n; /* 0 degrees rows */
    float *Br = Ai + (size_t)w * n, *Bi = Br + (size_t)w * n; /* 45 degrees rows */
    for (int y = 0; y < n; y++)
        for (int x = 0; x < w; x++) pp[y * w + x] = plane[y * n + PR_MIN(PR_MAX(x - R, 0), n - 1)];
    const float *g = e->gk, *ar = e->kxr[0], *ai = e->kxi[0], *br = e->kxr[1], *bi = e->kxi[1];
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            const float *p = pp + y * w + x; /* p[k] = plane at x + k - R */
            float sg = 0, sar = 0, sai = 0, sbr = 0, sbi = 0;
            for (int k = 0; k < K; k++) {
                sg += g[k] * p[k];
                sar += ar[k] * p[k];
                sai += ai[k] * p[k];
                sbr += br[k] * p[k];
                sbi += bi[k] * p[k];
            }
            size_t j = (size_t)(y + R) * n + x;
            G[j] = sg; Ar[j] = sar; Ai[j] = sai; Br[j] = sbr; Bi[j] = sbi;
        }
    float *rows[5] = {G, Ar, Ai, Br, Bi};
    for (int q = 0; q < 5; q++) /* replicate the first and last rows into the padding */
        for (int r = 0; r < R; r++) {
            memcpy(rows[q] + (size_t)r * n, rows[q] + (size_t)R * n, (size_t)n * sizeof(float));
            memcpy(rows[q] + (size_t)(R + n + r) * n, rows[q] + (size_t)(R + n - 1) * n, (size_t)n * sizeof(float));
        }
    double msum[GAB_G * GAB_G] = {0}, acc[GAB_O][GAB_G * GAB_G];
    memset(acc, 0, sizeof acc);
    int cs = n / GAB_G; /* n % GAB_G == 0: size is a multiple of 16 */
    const float *y1r = e->kyr[1], *y1i = e->kyi[1], *y2r = e->kyr[2], *y2i = e->kyi[2];
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            float gl = 0, z0r = 0, z0i = 0, z1r = 0, z1i = 0, z2r = 0, z2i = 0, z3r = 0, z3i = 0;
            for (int k = 0; k < K; k++) {
                size_t j = (size_t)(y + k) * n + x;
                float gv = G[j], a_r = Ar[j], a_i = Ai[j], b_r = Br[j], b_i = Bi[j];
                gl += g[k] * gv;
                z0r += g[k] * a_r;                 /* 0: column kernel is the envelope */
                z0i += g[k] * a_i;
                z1r += y1r[k] * b_r - y1i[k] * b_i; /* 45 */
                z1i += y1r[k] * b_i + y1i[k] * b_r;
                z2r += y2r[k] * gv;                /* 90: rows are the envelope */
                z2i += y2i[k] * gv;
                z3r += y1r[k] * b_r + y1i[k] * b_i; /* 135: conj(45 rows), 45's columns */
                z3i += y1i[k] * b_r - y1r[k] * b_i;
            }
            float zr[4] = {z0r, z1r, z2r, z3r}, zi[4] = {z0i, z1i, z2i, z3i};
            int c = (y / cs) * GAB_G + x / cs;
            float mv = mask[y * n + x];
            msum[c] += mv;
            for (int o = 0; o < GAB_O; o++) {
                float r = zr[o] - e->dcr[o] * gl, i = zi[o] - e->dci[o] * gl;
                acc[o][c] += mv * sqrtf(r * r + i * i);
            }
        }
    for (int c = 0; c < GAB_G * GAB_G; c++)
        for (int o = 0; o < GAB_O; o++)
            res[c * GAB_PER + o] = msum[c] > 0 ? (float)(acc[o][c] / msum[c]) : 0.0f;
}

static void part_gabor(const image_enc *e, const view *v, float *out) {
    int S = v->S, n = S;
    float *P = v->scratch, *M = P + S * S, *P2 = M + S * S, *M2 = P2 + S * S, *sc = M2 + S * S;
    memcpy(P, v->L, (size_t)S * S * sizeof *P);
    memcpy(M, v->fg, (size_t)S * S * sizeof *M);
    for (int s = 0; s < GAB_S; s++) {
        gabor_level(e, P, M, n, sc, out + s * GAB_O);
        if (s + 1 < GAB_S) {
            halve(P, n, P2);
            halve(M, n, M2);
            n /= 2;
            memcpy(P, P2, (size_t)n * n * sizeof *P);
            memcpy(M, M2, (size_t)n * n * sizeof *M);
        }
    }
    for (int c = 0; c < GAB_G * GAB_G; c++) out[c * GAB_PER + GAB_S * GAB_O] = GAB_FLOOR;
    sqrt_all(out, GAB_G * GAB_G * GAB_PER);
    l2_scale(out, GAB_G * GAB_G * GAB_PER, 1.0f);
}

static void part_shape(const view *v, float *out) {
    int S = v->S, cs = S / SHAPE_G;
    memset(out, 0, SHAPE_G * SHAPE_G * sizeof *out);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) out[(y / cs) * SHAPE_G + x / cs] += v->fg[y * S + x];
    l2_scale(out, SHAPE_G * SHAPE_G, 1.0f);
}

static void part_edges(const view *v, float *out) {
    int S = v->S, cs = S / EDGE_G;
    memset(out, 0, (EDGE_G * EDGE_G + 1) * sizeof *out);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            out[(y / cs) * EDGE_G + x / cs] += PR_MIN(v->mag[y * S + x] / EDGE_TAU, 1.0f);
    for (int c = 0; c < EDGE_G * EDGE_G; c++) out[c] /= (float)(cs * cs);
    out[EDGE_G * EDGE_G] = EDGE_FLOOR;
    l2_scale(out, EDGE_G * EDGE_G + 1, 1.0f);
}

static void part_cgrid(const view *v, float *out) {
    int S = v->S, cs = S / CGRID_G;
    const int per = 3 * CGRID_BINS;
    memset(out, 0, (size_t)CGRID_G * CGRID_G * per * sizeof *out);
    for (int cy = 0; cy < CGRID_G; cy++)
        for (int cx = 0; cx < CGRID_G; cx++) {
            double s = 0, m[3] = {0, 0, 0};
            for (int y = cy * cs; y < (cy + 1) * cs; y++)
                for (int x = cx * cs; x < (cx + 1) * cs; x++) {
                    int i = y * S + x;
                    float w = v->fg[i];
                    s += w;
                    m[0] += w * v->L[i];
                    m[1] += w * v->A[i];
                    m[2] += w * v->B[i];
                }
            if (s <= 0) continue; /* empty cell: no vote */
            float *o = out + (cy * CGRID_G + cx) * per;
            embed_scalar((float)(m[0] / s), 0, 100, CGRID_BINS, o);
            embed_scalar((float)(m[1] / s), -60, 60, CGRID_BINS, o + CGRID_BINS);
            embed_scalar((float)(m[2] / s), -60, 60, CGRID_BINS, o + 2 * CGRID_BINS);
        }
    l2_scale(out, CGRID_G * CGRID_G * per, 1.0f);
}

/* ---------- describe ---------- */

int pr_image_describe(const pr_encoder *enc, const pr_image *im, float *out, pr_error *err) {
    const image_enc *e = (const image_enc *)enc;
    if (!im->rgb || im->w <= 0 || im->h <= 0) return pr_err(err, PR_E_ARG, "image: empty image");
    int S = e->size, rc = 0;
    size_t plane = (size_t)S * S;
    /* floats: resize tmp (h, S, 3) + rgb (S, S, 3) + 8 view planes + scratch:
     * 4 Gabor pyramid planes and one level's scratch (also >= the border sort's 12 S ring) */
    size_t nf = (size_t)im->h * S * 3 + plane * 3 + plane * 8 + plane * 4 + GAB_LEVEL_SCRATCH((size_t)S);
    float *blk = pr_malloc(nf, sizeof(float));
    int32_t *queue = pr_malloc(plane, sizeof(int32_t));
    uint8_t *isbg = malloc(plane);
    if (!blk || !queue || !isbg) { rc = pr_err(err, PR_E_NOMEM, "image: %dx%d scratch", S, S); goto done; }
    float *tmp = blk, *rgb = tmp + (size_t)im->h * S * 3, *pl = rgb + plane * 3;
    view v = {.S = S, .L = pl, .A = pl + plane, .B = pl + 2 * plane, .fg = pl + 3 * plane,
              .wc = pl + 4 * plane, .mag = pl + 5 * plane, .ori = pl + 6 * plane,
              .scratch = pl + 8 * plane, .queue = queue, .isbg = isbg};
    pr_image_resize_f32(im, S, S, tmp, rgb);
    to_lab(&v, e->srgb_lin, rgb);
    mask_background(&v, e->bg);
    colour_weights(&v, e->center);
    gradients(&v);
    memset(out, 0, (size_t)e->dim * sizeof *out);
    for (int p = 0; p < N_PARTS; p++) {
        if (!(e->parts & (1u << p))) continue;
        float *o = out + e->off[p];
        switch (p) {
        case P_HIST: part_hist(&v, o); break;
        case P_MOMENTS: part_moments(&v, o); break;
        case P_HOG: part_hog(&v, o); break;
        case P_LBP: part_lbp(e, &v, o); break;
        case P_GABOR: part_gabor(e, &v, o); break;
        case P_SHAPE: part_shape(&v, o); break;
        case P_EDGES: part_edges(&v, o); break;
        case P_CGRID: part_cgrid(&v, o); break;
        }
        l2_scale(o, part_dim[p], e->w[p]);
    }
    for (int k = 0; k < e->dim; k++)
        if (!isfinite(out[k])) { rc = pr_err(err, PR_E_NUMERIC, "image: non-finite descriptor"); goto done; }
done:
    free(blk);
    free(queue);
    free(isbg);
    return rc;
}

/* ---------- args ---------- */

static int find_part(const char *s, size_t n, unsigned *mask) {
    for (int p = 0; p < N_PARTS; p++)
        if (strlen(part_name[p]) == n && strncmp(s, part_name[p], n) == 0) { *mask = 1u << p; return 0; }
    for (size_t g = 0; g < sizeof part_group / sizeof part_group[0]; g++)
        if (strlen(part_group[g].name) == n && strncmp(s, part_group[g].name, n) == 0) {
            *mask = part_group[g].mask;
            return 0;
        }
    return -1;
}

static int parse_float(const char *v, float lo, float hi, float *out) {
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= lo && d <= hi)) return -1;
    *out = (float)d;
    return 0;
}

/* "key=value,key=value"; a token without '=' extends the parts= list before it. */
static int parse_args(image_enc *e, const char *args, pr_error *err) {
    char buf[512], *save = NULL;
    if (!args) args = "";
    if (strlen(args) >= sizeof buf) return pr_err(err, PR_E_ARG, "image: args too long");
    strcpy(buf, args);
    int in_parts = 0, parts_given = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        for (size_t k = strlen(tok); k > 0 && tok[k - 1] == ' '; k--) tok[k - 1] = '\0';
        if (!*tok) continue;
        char *eq = strchr(tok, '=');
        const char *key = tok, *val = eq ? eq + 1 : tok;
        if (eq) *eq = '\0';
        if (!eq && !in_parts) return pr_err(err, PR_E_ARG, "image: '%s' is not key=value", tok);
        in_parts = 0;
        unsigned m;
        if (!eq || strcmp(key, "parts") == 0) {
            if (!parts_given++) e->parts = 0;
            if (find_part(val, strlen(val), &m) < 0)
                return pr_err(err, PR_E_ARG, "image: unknown part '%s' (parts: hist moments hog lbp gabor "
                              "shape edges cgrid; groups: color texture layout all)", val);
            e->parts |= m;
            in_parts = 1;
        } else if (strcmp(key, "size") == 0) {
            char *end;
            long s = strtol(val, &end, 10);
            if (end == val || *end || s < 16 || s > 256 || s % 16) /* grids divide S/4 evenly */
                return pr_err(err, PR_E_ARG, "image: size '%s' must be a multiple of 16 in 16..256", val);
            e->size = (int)s;
        } else if (strcmp(key, "bg") == 0) {
            if (strcmp(val, "auto") == 0) e->bg = 1;
            else if (strcmp(val, "none") == 0) e->bg = 0;
            else return pr_err(err, PR_E_ARG, "image: bg '%s' must be auto or none", val);
        } else if (strcmp(key, "center") == 0 || strcmp(key, "centre") == 0) {
            if (parse_float(val, 0, 10, &e->center) < 0)
                return pr_err(err, PR_E_ARG, "image: center '%s' must be a number in 0..10", val);
        } else if (strncmp(key, "w_", 2) == 0) {
            float w;
            if (find_part(key + 2, strlen(key + 2), &m) < 0)
                return pr_err(err, PR_E_ARG, "image: unknown part '%s' in '%s'", key + 2, key);
            if (parse_float(val, 0, 100, &w) < 0)
                return pr_err(err, PR_E_ARG, "image: weight %s='%s' must be a number in 0..100", key, val);
            for (int p = 0; p < N_PARTS; p++)
                if (m & (1u << p)) e->w[p] = w;
        } else {
            return pr_err(err, PR_E_ARG, "image: unknown key '%s' (keys: parts size bg center w_PART)", key);
        }
    }
    if (!e->parts) return pr_err(err, PR_E_ARG, "image: no parts selected");
    int any = 0;
    for (int p = 0; p < N_PARTS; p++) any |= (e->parts & (1u << p)) && e->w[p] > 0;
    if (!any) return pr_err(err, PR_E_ARG, "image: every selected part has weight 0");
    return 0;
}

static void canonical_args(image_enc *e) {
    size_t n = 0, cap = sizeof e->args;
    n += (size_t)snprintf(e->args + n, cap - n, "parts=");
    const char *sep = "";
    for (int p = 0; p < N_PARTS; p++)
        if (e->parts & (1u << p)) {
            n += (size_t)snprintf(e->args + n, cap - n, "%s%s", sep, part_name[p]);
            sep = ",";
        }
    n += (size_t)snprintf(e->args + n, cap - n, ",size=%d,bg=%s,center=%.9g", e->size,
                          e->bg ? "auto" : "none", (double)e->center);
    for (int p = 0; p < N_PARTS; p++)
        if (e->parts & (1u << p)) n += (size_t)snprintf(e->args + n, cap - n, ",w_%s=%.9g", part_name[p], (double)e->w[p]);
}

/* Gabor kernels: complex 1-D factors of g(x)g(y) exp(i k (x cos t + y sin t)),
 * each normalised by the envelope sum so a cosine of amplitude A at the tuned
 * frequency answers about A/2; dc* is the DC gain, subtracted via the envelope. */
static void init_gabor(image_enc *e) {
    const int R = GAB_R;
    float gs = 0, k = 2.0f * (float)M_PI / GAB_LAMBDA;
    for (int i = -R; i <= R; i++) gs += (e->gk[i + R] = expf(-0.5f * (float)(i * i) / (GAB_SIGMA * GAB_SIGMA)));
    for (int i = 0; i <= 2 * R; i++) e->gk[i] /= gs;
    for (int o = 0; o < GAB_O; o++) {
        float t = (float)M_PI * (float)o / GAB_O, kx = k * cosf(t), ky = k * sinf(t);
        double sxr = 0, sxi = 0, syr = 0, syi = 0;
        for (int i = -R; i <= R; i++) {
            float g = e->gk[i + R];
            e->kxr[o][i + R] = g * cosf(kx * (float)i);
            e->kxi[o][i + R] = g * sinf(kx * (float)i);
            e->kyr[o][i + R] = g * cosf(ky * (float)i);
            e->kyi[o][i + R] = g * sinf(ky * (float)i);
        }
        for (int i = 0; i <= 2 * R; i++) { /* exact sharing for gabor_level's fast path */
            if (o == 0) { e->kyr[0][i] = e->gk[i]; e->kyi[0][i] = 0; }
            if (o == 2) { e->kxr[2][i] = e->gk[i]; e->kxi[2][i] = 0; }
            if (o == 3) {
                e->kxr[3][i] = e->kxr[1][i]; e->kxi[3][i] = -e->kxi[1][i];
                e->kyr[3][i] = e->kyr[1][i]; e->kyi[3][i] = e->kyi[1][i];
            }
            sxr += e->kxr[o][i]; sxi += e->kxi[o][i];
            syr += e->kyr[o][i]; syi += e->kyi[o][i];
        }
        /* DC gain of the 2-D kernel = (sum kx)(sum ky); envelope sum is 1 */
        e->dcr[o] = (float)(sxr * syr - sxi * syi);
        e->dci[o] = (float)(sxr * syi + sxi * syr);
    }
}

/* Uniform LBP: codes with at most 2 circular 0/1 transitions get bins 0..57 in
 * increasing code order; every other code shares bin 58. */
static void init_lbp(image_enc *e) {
    int next = 0;
    for (int c = 0; c < 256; c++) {
        int tr = 0;
        for (int k = 0; k < 8; k++) tr += ((c >> k) & 1) != ((c >> ((k + 1) & 7)) & 1);
        e->lbp_map[c] = (uint8_t)(tr <= 2 ? next++ : 58);
    }
}

/* ---------- ops ---------- */

static int image_create(pr_encoder **out, const char *args, pr_error *err) {
    *out = NULL;
    image_enc *e = calloc(1, sizeof *e);
    if (!e) return pr_err(err, PR_E_NOMEM, "image encoder");
    e->base.ops = &pr_image_encoder_ops;
    e->size = 64;
    e->bg = 1;
    e->center = 0.5f;
    e->parts = ALL_PARTS;
    for (int p = 0; p < N_PARTS; p++) e->w[p] = 1.0f;
    e->w[P_HOG] = sqrtf(2.0f);  /* HOG serves two families, texture and layout */
    e->w[P_MOMENTS] = 0.5f;     /* derived summaries: moments of the distribution hist */
    e->w[P_CGRID] = 0.5f;       /* holds; cgrid = hist's colours x shape's grid, coarse */
    int rc = parse_args(e, args, err);
    if (rc < 0) { free(e); return rc; }
    for (int p = 0; p < N_PARTS; p++) {
        e->off[p] = e->dim;
        if (e->parts & (1u << p)) e->dim += part_dim[p];
    }
    canonical_args(e);
    init_gabor(e);
    init_lbp(e);
    for (int i = 0; i < 256; i++) e->srgb_lin[i] = srgb_to_linear((float)i);
    *out = &e->base;
    return 0;
}

static int image_dim(const pr_encoder *e) { return ((const image_enc *)e)->dim; }

static int image_encode(const pr_encoder *e, const char *input, float *out, pr_error *err) {
    pr_image im;
    if (!input) return pr_err(err, PR_E_ARG, "image: no input path");
    int rc = pr_image_read(input, &im, err);
    if (rc == 0) {
        rc = pr_image_describe(e, &im, out, err);
        if (rc < 0) pr_err_wrap(err, "%s: ", input);
    }
    pr_image_free(&im);
    return rc;
}

#define IMAGE_STATE_VERSION 1u

static int image_save(const pr_encoder *enc, pr_buf *b) {
    const image_enc *e = (const image_enc *)enc;
    pr_buf_put_u32(b, IMAGE_STATE_VERSION);
    pr_buf_put_str(b, e->args);
    return b->oom ? PR_E_NOMEM : 0;
}

static int image_load(pr_encoder **out, pr_cur *c, pr_error *err) {
    uint32_t ver;
    char *args = NULL;
    *out = NULL;
    int rc = pr_cur_get_u32(c, &ver, err);
    if (rc < 0) return rc;
    if (ver != IMAGE_STATE_VERSION)
        return pr_err(err, PR_E_FORMAT, "image encoder state: version %u, expected %u", ver, IMAGE_STATE_VERSION);
    if ((rc = pr_cur_get_str(c, &args, 500, err)) < 0) return rc;
    rc = image_create(out, args, err);
    free(args);
    return rc;
}

static void image_free(pr_encoder *e) { free(e); }

const char *pr_image_encoder_args(const pr_encoder *e) { return ((const image_enc *)e)->args; }

const pr_encoder_ops pr_image_encoder_ops = {
    .name = "image",
    .modality = PR_MOD_IMAGE,
    .help = "product-photo descriptor: foreground colour (CIELCh histogram, moments), texture "
            "(HOG, LBP, Gabor), layout grids; args parts=,size=64,bg=auto,center=0.5,w_PART=",
    .create = image_create,
    .fit = NULL,
    .dim = image_dim,
    .encode = image_encode,
    .save = image_save,
    .load = image_load,
    .free = image_free,
};
