/* tests/features/test_audio.c: FFT, WAV decoding, log-mel / MFCC, the "audio-mfcc" encoder.
 *
 * The FFT is checked against a naive DFT; the features against numpy
 * (tests/fixtures/audio/make_reference.py wrote ref_16k.wav, ref_22k_f32.wav
 * and expected.txt); WAV against hand-built files of every supported encoding
 * and a corpus of corrupt ones; the encoder against sounds whose similarity is
 * known (two close tones near, tone / noise / chirp far, volume irrelevant). */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/pool.h"
#include "core/rng.h"
#include "features/audio.h"
#include "features/fft.h"
#include "t.h"

#define FIX "tests/fixtures/audio/"

/* ---------- helpers ---------- */

static float *tone(int rate, double seconds, double hz, double amp, int64_t *n) {
    *n = (int64_t)(rate * seconds);
    float *x = malloc((size_t)*n * sizeof *x);
    for (int64_t i = 0; i < *n; i++) x[i] = (float)(amp * sin(2 * M_PI * hz * (double)i / rate));
    return x;
}

static float *chirp(int rate, double seconds, double f0, double f1, int64_t *n) {
    *n = (int64_t)(rate * seconds);
    float *x = malloc((size_t)*n * sizeof *x);
    double k = (f1 - f0) / seconds;
    for (int64_t i = 0; i < *n; i++) {
        double t = (double)i / rate;
        x[i] = (float)(0.4 * sin(2 * M_PI * (f0 * t + 0.5 * k * t * t)));
    }
    return x;
}

static float *noise(int rate, double seconds, uint64_t seed, int64_t *n) {
    *n = (int64_t)(rate * seconds);
    float *x = malloc((size_t)*n * sizeof *x);
    pr_rng r;
    pr_rng_init(&r, seed, 0);
    for (int64_t i = 0; i < *n; i++) x[i] = 0.6f * (pr_rng_float(&r) - 0.5f);
    return x;
}

/* Read "name dim v..." from expected.txt into v (at most cap); returns dim or -1. */
static int expected(const char *name, double *v, int cap) {
    FILE *f = fopen(FIX "expected.txt", "r");
    if (!f) return -1;
    char key[128];
    int dim, found = -1;
    while (fscanf(f, "%127s %d", key, &dim) == 2) {
        int match = strcmp(key, name) == 0 && dim <= cap;
        for (int i = 0; i < dim; i++) {
            double x;
            if (fscanf(f, "%lf", &x) != 1) { fclose(f); return -1; }
            if (match) v[i] = x;
        }
        if (match) { found = dim; break; }
    }
    fclose(f);
    return found;
}

/* max |a - b| / (1 + |b|) */
static double max_rel_err(const float *a, const double *b, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]) / (1.0 + fabs(b[i]));
        if (e > m) m = e;
    }
    return m;
}

static double dist(const float *a, const float *b, int d) {
    double s = 0;
    for (int k = 0; k < d; k++) s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return sqrt(s);
}

static double cosine(const float *a, const float *b, int d) {
    double ab = 0, aa = 0, bb = 0;
    for (int k = 0; k < d; k++) { ab += (double)a[k] * b[k]; aa += (double)a[k] * a[k]; bb += (double)b[k] * b[k]; }
    return ab / sqrt(aa * bb);
}

/* Add a -66 dB noise floor (as any recording has) and scale by gain. */
static void dither(float *x, int64_t n, double gain, uint64_t seed) {
    pr_rng r;
    pr_rng_init(&r, seed, 5);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(gain * (x[i] + 1e-3 * (pr_rng_double(&r) - 0.5)));
}

static pr_encoder *make_enc(const char *args) {
    pr_encoder *e = NULL;
    pr_error err;
    if (pr_audio_encoder_ops.create(&e, args, &err) < 0) fprintf(stderr, "  create(%s): %s\n", args, err.msg);
    return e;
}

static void describe(const pr_encoder *e, float *x, int64_t n, int rate, float *out) {
    pr_audio a = {rate, 1, n, x};
    pr_error err;
    int rc = pr_audio_describe(e, &a, out, &err);
    if (rc < 0) fprintf(stderr, "  describe: %s\n", err.msg);
    CHECK_EQ_INT(rc, 0);
}

/* ---------- FFT ---------- */

TEST(test_fft_matches_naive_dft) {
    pr_rng r;
    pr_rng_init(&r, 11, 0);
    pr_error err;
    for (int n = 2; n <= 2048; n *= 2) {
        pr_fft f;
        CHECK_EQ_INT(pr_fft_init(&f, n, &err), 0);
        double *re = malloc((size_t)n * sizeof *re), *im = malloc((size_t)n * sizeof *im);
        double *xr = malloc((size_t)n * sizeof *xr), *xi = malloc((size_t)n * sizeof *xi);
        for (int i = 0; i < n; i++) {
            re[i] = pr_rng_double(&r) - 0.5;
            im[i] = pr_rng_double(&r) - 0.5;
            xr[i] = re[i];
            xi[i] = im[i];
        }
        pr_fft_forward(&f, re, im);
        double maxerr = 0, scale = sqrt((double)n);
        for (int k = 0; k < n; k++) {
            double sr = 0, si = 0;
            for (int j = 0; j < n; j++) {
                double a = -2 * M_PI * (double)((int64_t)k * j % n) / n;
                sr += xr[j] * cos(a) - xi[j] * sin(a);
                si += xr[j] * sin(a) + xi[j] * cos(a);
            }
            double e = hypot(re[k] - sr, im[k] - si) / scale;
            if (e > maxerr) maxerr = e;
        }
        if (maxerr > 1e-12) fprintf(stderr, "  n=%d: max error %.3g\n", n, maxerr);
        CHECK(maxerr < 1e-12);
        free(re); free(im); free(xr); free(xi);
        pr_fft_deinit(&f);
    }
    /* an impulse has a flat spectrum; a cosine at bin 3 puts n/2 in bins 3 and n-3 */
    pr_fft f;
    CHECK_EQ_INT(pr_fft_init(&f, 16, &err), 0);
    double re[16] = {1}, im[16] = {0};
    pr_fft_forward(&f, re, im);
    for (int k = 0; k < 16; k++) { CHECK_NEAR(re[k], 1, 1e-14); CHECK_NEAR(im[k], 0, 1e-14); }
    for (int i = 0; i < 16; i++) { re[i] = cos(2 * M_PI * 3 * i / 16); im[i] = 0; }
    pr_fft_forward(&f, re, im);
    CHECK_NEAR(re[3], 8, 1e-12);
    CHECK_NEAR(re[13], 8, 1e-12);
    CHECK_NEAR(re[4], 0, 1e-12);
    pr_fft_deinit(&f);
    int bad[] = {0, 1, 3, 12, 1 << 21};
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(pr_fft_init(&f, bad[i], &err), PR_E_ARG);
    CHECK_EQ_INT(pr_fft_size_for(400), 512);
    CHECK_EQ_INT(pr_fft_size_for(512), 512);
    CHECK_EQ_INT(pr_fft_size_for(1103), 2048);
}

/* ---------- spectra ---------- */

TEST(test_tone_power_peak_and_mel_band) {
    pr_error err;
    struct { int rate; double hz; int n_fft, bin; } cases[] = {
        {16000, 440, 512, 14},   /* 440 * 512 / 16000 = 14.08 */
        {16000, 1000, 512, 32},  /* exactly bin 32 */
        {44100, 440, 2048, 20},  /* win 1103 -> n_fft 2048; 20.43 */
        {8000, 3000, 256, 96},   /* win 200 -> 256; 96 */
    };
    for (int c = 0; c < 4; c++) {
        pr_melspec m;
        CHECK_EQ_INT(pr_melspec_init(&m, cases[c].rate, 40, 0, 8000, &err), 0);
        CHECK_EQ_INT(m.n_fft, cases[c].n_fft);
        CHECK_EQ_INT(m.win, (25 * cases[c].rate + 500) / 1000);
        CHECK_EQ_INT(m.hop, (10 * cases[c].rate + 500) / 1000);
        int64_t n;
        float *x = tone(cases[c].rate, 1.0, cases[c].hz, 0.5, &n);
        CHECK_EQ_INT(pr_melspec_frames(&m, n), 1 + (n - m.win) / m.hop);
        double *scratch = malloc((size_t)(2 * m.n_fft + m.n_bins) * sizeof *scratch);
        double *pw = malloc((size_t)m.n_bins * sizeof *pw);
        pr_melspec_power(&m, x, n, 50, scratch, pw);
        int best = 0;
        for (int k = 1; k < m.n_bins; k++) if (pw[k] > pw[best]) best = k;
        CHECK_EQ_INT(best, cases[c].bin);
        /* Parseval-ish: the peak holds (amp * sum(window) / 2)^2 to within the leakage */
        double sw = 0;
        for (int i = 0; i < m.win; i++) sw += m.window[i];
        double want = pow(0.5 * sw / 2, 2);
        int64_t frames = pr_melspec_frames(&m, n);
        float *lm = malloc((size_t)frames * m.n_mels * sizeof *lm);
        pr_melspec_logmel(&m, x, n, scratch, lm);
        /* the loudest band of a middle frame is the one whose centre is nearest the tone */
        int bb = 0;
        for (int j = 1; j < m.n_mels; j++) if (lm[50 * m.n_mels + j] > lm[50 * m.n_mels + bb]) bb = j;
        double mlo = 0, mhi = 2595 * log10(1 + m.fmax / 700.0), mt = 2595 * log10(1 + cases[c].hz / 700.0);
        int near = (int)lround(mt / ((mhi - mlo) / (m.n_mels + 1))) - 1;
        CHECK(abs(bb - near) <= 1);
        if (c == 1) CHECK(pw[best] > 0.9 * want && pw[best] < 1.1 * want); /* on-bin: no leakage */
        free(lm); free(scratch); free(pw); free(x);
        pr_melspec_deinit(&m);
    }
    /* fmax is clipped to Nyquist; fmin must stay below it */
    pr_melspec m;
    CHECK_EQ_INT(pr_melspec_init(&m, 8000, 40, 0, 8000, &err), 0);
    CHECK_NEAR(m.fmax, 4000, 1e-3);
    pr_melspec_deinit(&m);
    CHECK_EQ_INT(pr_melspec_init(&m, 8000, 40, 5000, 8000, &err), PR_E_ARG);
    CHECK_CONTAINS(err.msg, "fmin");
}

/* ---------- numpy reference ---------- */

TEST(test_mfcc_against_numpy_reference) {
    pr_error err;
    pr_audio a;
    double ref[256];
    if (access(FIX "expected.txt", R_OK) != 0) { CHECK(!"fixture missing"); return; }
    CHECK_EQ_INT(pr_wav_read(FIX "ref_16k.wav", &a, &err), 0);
    CHECK_EQ_INT(a.rate, 16000);
    CHECK_EQ_INT(a.channels, 1);
    CHECK_EQ_INT(a.n, 8000);
    /* one frame of log-mel and MFCC */
    pr_melspec m;
    CHECK_EQ_INT(pr_melspec_init(&m, 16000, 40, 0, 8000, &err), 0);
    int64_t frames = pr_melspec_frames(&m, a.n);
    CHECK_EQ_INT(frames, 48); /* 1 + (8000 - 400) / 160 */
    float *lm = malloc((size_t)frames * 40 * sizeof *lm);
    double *scratch = malloc((size_t)(2 * 512 + 257) * sizeof *scratch);
    float D[13 * 40], mf[13];
    pr_melspec_logmel(&m, a.x, a.n, scratch, lm);
    CHECK_EQ_INT(expected("logmel_16k_frame5", ref, 256), 40);
    double e1 = max_rel_err(lm + 5 * 40, ref, 40);
    pr_dct_basis(13, 40, D);
    pr_mfcc(lm + 5 * 40, 1, 40, D, 13, mf);
    CHECK_EQ_INT(expected("mfcc_16k_frame5", ref, 256), 13);
    double e2 = max_rel_err(mf, ref, 13);
    /* the encoder vector, two configurations */
    pr_encoder *e = make_enc(""), *e64 = make_enc("mels=64,mfcc=20,spread=var,bands=0");
    float v[256];
    CHECK_EQ_INT(expected("default_16k", ref, 256), 91);
    CHECK_EQ_INT(e->ops->dim(e), 91);
    CHECK_EQ_INT(e->ops->encode(e, FIX "ref_16k.wav", v, &err), 0);
    double e3 = max_rel_err(v, ref, 91);
    CHECK_EQ_INT(expected("mels64_mfcc20_var_nobands_16k", ref, 256), 79);
    CHECK_EQ_INT(e64->ops->dim(e64), 79);
    CHECK_EQ_INT(e64->ops->encode(e64, FIX "ref_16k.wav", v, &err), 0);
    double e4 = max_rel_err(v, ref, 79);
    /* 22.05 kHz stereo float32, WAVE_FORMAT_EXTENSIBLE, odd junk chunk: filters at 22.05 kHz */
    pr_audio b;
    CHECK_EQ_INT(pr_wav_read(FIX "ref_22k_f32.wav", &b, &err), 0);
    CHECK_EQ_INT(b.rate, 22050);
    CHECK_EQ_INT(b.channels, 2);
    CHECK_EQ_INT(b.n, 4410);
    CHECK_EQ_INT(expected("default_22k", ref, 256), 91);
    CHECK_EQ_INT(pr_audio_describe(e, &b, v, &err), 0);
    double e5 = max_rel_err(v, ref, 91);
    fprintf(stderr, "  max relative error vs numpy: logmel %.2g, mfcc %.2g, vector %.2g, mels64 %.2g, 22k %.2g\n",
            e1, e2, e3, e4, e5);
    CHECK(e1 < 1e-6);
    CHECK(e2 < 1e-6);
    CHECK(e3 < 1e-5);
    CHECK(e4 < 1e-5);
    CHECK(e5 < 1e-5);
    e->ops->free(e);
    e64->ops->free(e64);
    free(lm);
    free(scratch);
    pr_melspec_deinit(&m);
    pr_audio_free(&a);
    pr_audio_free(&b);
}

/* ---------- WAV ---------- */

TEST(test_wav_round_trips) {
    pr_error err;
    pr_audio a;
    /* PCM16: multiples of 1/32768 come back exactly; others within half a step; clipping */
    float x[8] = {0.0f, 0.5f, -0.5f, -1.0f, 1.0f / 32768, 0.123456f, 1.7f, -3.0f};
    const char *path = "build/test_audio_rt.wav";
    CHECK_EQ_INT(pr_wav_write(path, x, 8, 1, 16000, PR_WAV_PCM16, &err), 0);
    CHECK_EQ_INT(pr_wav_read(path, &a, &err), 0);
    CHECK(a.n == 8 && a.rate == 16000 && a.channels == 1);
    for (int i = 0; i < 5; i++) CHECK(a.x[i] == x[i]);
    CHECK_NEAR(a.x[5], x[5], 0.5 / 32768 + 1e-9);
    CHECK_NEAR(a.x[6], 32767.0 / 32768, 1e-9);
    CHECK_NEAR(a.x[7], -1.0, 1e-9);
    pr_audio_free(&a);
    /* float32 stereo: exact, averaged to mono */
    float st[6] = {0.25f, 0.75f, -0.1f, 0.3f, 1.5f, -0.5f};
    CHECK_EQ_INT(pr_wav_write(path, st, 3, 2, 44100, PR_WAV_FLOAT32, &err), 0);
    CHECK_EQ_INT(pr_wav_read(path, &a, &err), 0);
    CHECK(a.n == 3 && a.rate == 44100 && a.channels == 2);
    CHECK(a.x[0] == 0.5f);
    CHECK(a.x[1] == (float)((-0.1f + (double)0.3f) / 2));
    CHECK(a.x[2] == 0.5f);
    pr_audio_free(&a);
    /* a long random float clip survives exactly */
    int64_t n;
    float *z = noise(8000, 0.5, 5, &n);
    CHECK_EQ_INT(pr_wav_write(path, z, n, 1, 8000, PR_WAV_FLOAT32, &err), 0);
    CHECK_EQ_INT(pr_wav_read(path, &a, &err), 0);
    CHECK(a.n == n && memcmp(a.x, z, (size_t)n * sizeof *z) == 0);
    pr_audio_free(&a);
    free(z);
    CHECK_EQ_INT(pr_wav_write(path, x, 8, 0, 16000, PR_WAV_PCM16, &err), PR_E_ARG);
    CHECK_EQ_INT(pr_wav_write(path, x, 8, 1, 16000, 7, &err), PR_E_ARG);
    unlink(path);
}

/* Build a WAV by hand: fmt fields given, then the data bytes. */
static size_t build_wav(uint8_t *buf, int tag, int ch, uint32_t rate, int block, int bits, const void *data,
                        uint32_t dsize) {
    size_t o = 0;
#define PUT(p, n) (memcpy(buf + o, p, n), o += n)
#define U32(v) do { uint32_t t_ = (v); PUT(&t_, 4); } while (0)
#define U16(v) do { uint16_t t_ = (uint16_t)(v); PUT(&t_, 2); } while (0)
    PUT("RIFF", 4); U32(0); PUT("WAVE", 4);
    PUT("LIST", 4); U32(5); PUT("abcde\0", 6); /* odd unknown chunk + pad byte */
    PUT("fmt ", 4); U32(16); U16(tag); U16(ch); U32(rate); U32(rate * (uint32_t)block); U16(block); U16(bits);
    PUT("data", 4); U32(dsize); PUT(data, dsize);
    if (dsize & 1) buf[o++] = 0;
    uint32_t riff = (uint32_t)(o - 8);
    memcpy(buf + 4, &riff, 4);
#undef PUT
#undef U32
#undef U16
    return o;
}

TEST(test_wav_encodings_by_hand) {
    uint8_t buf[512];
    pr_error err;
    pr_audio a;
    /* 8-bit unsigned: 0, 64, 128, 255 -> -1, -0.5, 0, 127/128 */
    uint8_t u8[4] = {0, 64, 128, 255};
    size_t n = build_wav(buf, 1, 1, 8000, 1, 8, u8, 4);
    CHECK_EQ_INT(pr_wav_decode(buf, n, "u8.wav", &a, &err), 0);
    CHECK(a.n == 4 && a.x[0] == -1.0f && a.x[1] == -0.5f && a.x[2] == 0.0f && a.x[3] == 127.0f / 128);
    pr_audio_free(&a);
    /* 24-bit: 0x400000 = 0.5, 0xC00000 = -0.5, 0x7FFFFF, 0x800000 = -1; stereo -> mean */
    uint8_t s24[12] = {0x00, 0x00, 0x40, 0x00, 0x00, 0xC0, 0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x80};
    n = build_wav(buf, 1, 2, 48000, 6, 24, s24, 12);
    CHECK_EQ_INT(pr_wav_decode(buf, n, "s24.wav", &a, &err), 0);
    CHECK(a.n == 2 && a.channels == 2);
    CHECK_NEAR(a.x[0], 0.0, 1e-9);
    CHECK_NEAR(a.x[1], (8388607.0 / 8388608 - 1) / 2, 1e-7);
    pr_audio_free(&a);
    /* 32-bit PCM and float64 */
    int32_t s32[2] = {1 << 30, -(1 << 29)};
    n = build_wav(buf, 1, 1, 8000, 4, 32, s32, 8);
    CHECK_EQ_INT(pr_wav_decode(buf, n, "s32.wav", &a, &err), 0);
    CHECK(a.n == 2 && a.x[0] == 0.5f && a.x[1] == -0.25f);
    pr_audio_free(&a);
    double f64[3] = {0.125, -0.75, 0.5};
    n = build_wav(buf, 3, 1, 8000, 8, 64, f64, 24);
    CHECK_EQ_INT(pr_wav_decode(buf, n, "f64.wav", &a, &err), 0);
    CHECK(a.n == 3 && a.x[0] == 0.125f && a.x[1] == -0.75f);
    pr_audio_free(&a);
    /* odd-sized data (3 bytes of 16-bit mono): the partial frame is dropped */
    uint8_t odd[3] = {0x00, 0x40, 0x11};
    n = build_wav(buf, 1, 1, 8000, 2, 16, odd, 3);
    CHECK_EQ_INT(pr_wav_decode(buf, n, "odd.wav", &a, &err), 0);
    CHECK(a.n == 1 && a.x[0] == 0.5f);
    pr_audio_free(&a);
}

TEST(test_corrupt_wav_corpus) {
    uint8_t good[256], buf[256];
    int16_t pcm[16];
    for (int i = 0; i < 16; i++) pcm[i] = (int16_t)(i * 1000 - 8000);
    size_t n = build_wav(good, 1, 1, 16000, 2, 16, pcm, 32);
    pr_error err;
    pr_audio a;
    CHECK_EQ_INT(pr_wav_decode(good, n, "good.wav", &a, &err), 0);
    pr_audio_free(&a);
    /* offsets in build_wav's layout: fmt body at 12 + 14 + 8 = 34; data header at 34 + 16 = 50 */
    const size_t FMT = 34, DATA = 50;
    struct { size_t off; int width; uint32_t val; const char *msg; } cases[] = {
        {0, 4, 0x46464952u + 1, "not a RIFF"},         /* "RIFG" */
        {8, 1, 'X', "not a RIFF"},                     /* "XAVE" */
        {4, 4, 100000, "RIFF size"},                   /* past EOF */
        {16, 4, 0xfffffff0u, "size 4294967280 past the end"}, /* LIST chunk size */
        {DATA + 4, 4, 1000, "chunk 'data'"},           /* data size past EOF */
        {FMT + 2, 2, 0, "zero channels"},
        {FMT + 2, 2, 65, "65 channels"},
        {FMT + 4, 4, 0, "sample rate 0"},
        {FMT + 4, 4, 1000000000u, "sample rate 1000000000"},
        {FMT + 14, 2, 12, "unsupported encoding"},     /* 12-bit */
        {FMT, 2, 2, "format tag 2"},                   /* ADPCM */
        {FMT + 12, 2, 4, "block_align 4"},
        {FMT - 4, 4, 10, "'fmt ' chunk of 10 bytes"},
        {FMT - 8, 4, 0x6b6e756au, "no 'fmt '"},        /* rename fmt -> "junk" */
        {DATA, 4, 0x6b6e756au, "no 'data'"},           /* rename data -> "junk" */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(buf, good, n);
        memcpy(buf + cases[c].off, &cases[c].val, (size_t)cases[c].width);
        int rc = pr_wav_decode(buf, n, "bad.wav", &a, &err);
        CHECK(rc < 0);
        CHECK(a.x == NULL && a.n == 0);
        CHECK_CONTAINS(err.msg, "bad.wav");
        CHECK_CONTAINS(err.msg, cases[c].msg);
    }
    size_t n1 = build_wav(buf, 1, 1, 16000, 2, 16, pcm, 1); /* 1 byte of 16-bit audio */
    CHECK_EQ_INT(pr_wav_decode(buf, n1, "one.wav", &a, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, "no samples");
    /* streamed files: RIFF size 0 or ~0 and data size ~0 mean "to the end" */
    uint32_t marks[3][2] = {{0, 32}, {0xffffffffu, 32}, {0xffffffffu, 0xffffffffu}};
    for (int m = 0; m < 3; m++) {
        memcpy(buf, good, n);
        memcpy(buf + 4, &marks[m][0], 4);
        memcpy(buf + DATA + 4, &marks[m][1], 4);
        CHECK_EQ_INT(pr_wav_decode(buf, n, "stream.wav", &a, &err), 0);
        CHECK(a.n == 16 && a.x[15] == pcm[15] / 32768.0f);
        pr_audio_free(&a);
    }
    /* every truncation is an error (the RIFF size then runs past the end) */
    int all = 1;
    for (size_t len = 0; len < n; len++) {
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, good, len);
        all &= pr_wav_decode(p, len, "cut.wav", &a, &err) < 0 && strstr(err.msg, "cut.wav") != NULL;
        free(p);
    }
    CHECK(all);
    /* a NaN float sample is an error */
    float fl[2] = {0.5f, NAN};
    size_t nf = build_wav(buf, 3, 1, 8000, 4, 32, fl, 8);
    CHECK_EQ_INT(pr_wav_decode(buf, nf, "nan.wav", &a, &err), PR_E_NUMERIC);
    CHECK_CONTAINS(err.msg, "sample 1");
    /* random corruption: error or a valid clip, never a crash */
    pr_rng r;
    pr_rng_init(&r, 77, 1);
    int good_or_err = 1;
    for (int t = 0; t < (t_sanitized() ? 500 : 5000); t++) {
        memcpy(buf, good, n);
        int k = 1 + (int)pr_rng_below(&r, 3);
        for (int j = 0; j < k; j++) buf[pr_rng_below(&r, (uint32_t)n)] = (uint8_t)pr_rng_u32(&r);
        uint8_t *p = malloc(n);
        memcpy(p, buf, n);
        int rc = pr_wav_decode(p, n, "fuzz.wav", &a, &err);
        good_or_err &= rc < 0 ? a.x == NULL : (a.n > 0 && a.x && a.rate >= PR_WAV_MIN_RATE);
        pr_audio_free(&a);
        free(p);
    }
    CHECK(good_or_err);
    /* files: missing, directory, not a WAV */
    CHECK_EQ_INT(pr_wav_read("build/no_such.wav", &a, &err), PR_E_IO);
    CHECK_CONTAINS(err.msg, "build/no_such.wav");
    CHECK_EQ_INT(pr_wav_read("build", &a, &err), PR_E_IO);
    CHECK(pr_wav_read(FIX "make_reference.py", &a, &err) < 0);
    CHECK_CONTAINS(err.msg, "make_reference.py");
}

/* ---------- the encoder ---------- */

TEST(test_sounds_near_and_far) {
    pr_encoder *e = make_enc("");
    if (!e) { CHECK(0); return; }
    int d = e->ops->dim(e), rate = 16000;
    int64_t n;
    float *v[6];
    for (int i = 0; i < 6; i++) v[i] = malloc((size_t)d * sizeof(float));
    /* each sound with the same -66 dB noise floor; v[2] is v[0] played 20 dB quieter */
    float *x = tone(rate, 1.0, 440, 0.5, &n); dither(x, n, 1, 1);   describe(e, x, n, rate, v[0]); free(x);
    x = tone(rate, 1.0, 446, 0.5, &n);        dither(x, n, 1, 2);   describe(e, x, n, rate, v[1]); free(x);
    x = tone(rate, 1.0, 440, 0.5, &n);        dither(x, n, 0.1, 1); describe(e, x, n, rate, v[2]); free(x);
    x = noise(rate, 1.0, 9, &n);              dither(x, n, 1, 3);   describe(e, x, n, rate, v[3]); free(x);
    x = chirp(rate, 1.0, 200, 4000, &n);      dither(x, n, 1, 4);   describe(e, x, n, rate, v[4]); free(x);
    x = tone(rate, 1.0, 1760, 0.5, &n);       dither(x, n, 1, 5);   describe(e, x, n, rate, v[5]); free(x);
    double close = dist(v[0], v[1], d), gain = dist(v[0], v[2], d);
    double tn = dist(v[0], v[3], d), tc = dist(v[0], v[4], d), nc = dist(v[3], v[4], d), oct = dist(v[0], v[5], d);
    fprintf(stderr, "  distance: 440~446 Hz %.2f, 440~440 at -20 dB %.3f, 440~1760 %.2f, tone~noise %.2f, "
            "tone~chirp %.2f, noise~chirp %.2f\n", close, gain, oct, tn, tc, nc);
    double far = PR_MIN(tn, PR_MIN(tc, nc));
    CHECK(close < 0.2 * far);
    CHECK(close < oct);
    CHECK(gain < 0.01 * far); /* volume does not matter */
    CHECK(cosine(v[0], v[1], d) > cosine(v[0], v[3], d));
    CHECK(cosine(v[0], v[1], d) > cosine(v[0], v[4], d));
    CHECK(cosine(v[0], v[1], d) > 0.98);
    /* a chirp moves: its delta spread (block 3) is larger than the tone's */
    int K = 13;
    double ds_tone = 0, ds_chirp = 0;
    for (int k = 0; k < K; k++) { ds_tone += v[0][(K - 1) + K + K + k]; ds_chirp += v[4][(K - 1) + K + K + k]; }
    CHECK(ds_chirp > 3 * ds_tone);
    for (int i = 0; i < 6; i++) free(v[i]);
    e->ops->free(e);
}

TEST(test_args_save_load_files) {
    pr_error err;
    pr_encoder *e = NULL;
    const pr_encoder_ops *ops = &pr_audio_encoder_ops;
    CHECK_STR(ops->name, "audio-mfcc");
    CHECK_EQ_INT(ops->modality, PR_MOD_AUDIO);
    struct { const char *args, *msg; } bad[] = {
        {"mels=7", "mels '7'"}, {"mels=40.5", "mels '40.5'"}, {"mfcc=1", "mfcc '1'"},
        {"mfcc=41", "mfcc 41 exceeds mels 40"}, {"fmin=-3", "fmin '-3'"}, {"fmax=0", "fmax '0'"},
        {"fmin=9000", "fmin 9000 must be below fmax 8000"}, {"spread=mad", "spread 'mad'"},
        {"bands=2", "bands '2'"}, {"max_s=0", "max_s '0'"}, {"foo=1", "unknown key 'foo'"}, {"mels", "not key=value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(ops->create(&e, bad[i].args, &err), PR_E_ARG);
        CHECK(e == NULL);
        CHECK_CONTAINS(err.msg, "audio-mfcc");
        CHECK_CONTAINS(err.msg, bad[i].msg);
    }
    struct { const char *args; int dim; } dims[] = {
        {NULL, 91}, {"", 91}, {"bands=0", 51}, {"mels=64,mfcc=20", 143}, {"mels=64, mfcc=20 ,bands=0", 79},
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        CHECK_EQ_INT(ops->create(&e, dims[i].args, &err), 0);
        if (e) { CHECK_EQ_INT(ops->dim(e), dims[i].dim); ops->free(e); }
    }
    /* save/load: same encoder, same vector */
    e = make_enc("mels=32,mfcc=16,fmin=50,fmax=6000,spread=var,max_s=0.6");
    pr_buf b;
    pr_buf_init(&b);
    CHECK_EQ_INT(e->ops->save(e, &b), 0);
    pr_cur c;
    pr_cur_init(&c, b.data, b.len, "audio state");
    pr_encoder *e2 = NULL;
    CHECK_EQ_INT(ops->load(&e2, &c, &err), 0);
    int d = e->ops->dim(e);
    CHECK(e2 && e2->ops->dim(e2) == d);
    int64_t n;
    float *x = chirp(16000, 1.0, 300, 3000, &n);
    const char *path = "build/test_audio_chirp.wav";
    CHECK_EQ_INT(pr_wav_write(path, x, n, 1, 16000, PR_WAV_FLOAT32, &err), 0);
    float *v1 = calloc((size_t)d, sizeof *v1), *v2 = calloc((size_t)d, sizeof *v2);
    CHECK_EQ_INT(e->ops->encode(e, path, v1, &err), 0);
    CHECK_EQ_INT(e2->ops->encode(e2, path, v2, &err), 0);
    CHECK(memcmp(v1, v2, (size_t)d * sizeof *v1) == 0);
    /* max_s=0.6 analyses only the first 0.6 s */
    describe(e, x, 9600, 16000, v2);
    CHECK(memcmp(v1, v2, (size_t)d * sizeof *v1) == 0);
    describe(e, x, 9519, 16000, v2); /* one frame fewer */
    CHECK(memcmp(v1, v2, (size_t)d * sizeof *v1) != 0);
    for (size_t len = 0; len < b.len; len++) { /* truncated state: an error */
        pr_cur_init(&c, b.data, len, "audio state");
        pr_encoder *e3 = NULL;
        CHECK(ops->load(&e3, &c, &err) < 0 && e3 == NULL);
    }
    /* a clip shorter than one window still encodes (zero-padded frame) */
    describe(e, x, 10, 16000, v2);
    /* file errors name the path */
    CHECK_EQ_INT(e->ops->encode(e, "build/missing.wav", v1, &err), PR_E_IO);
    CHECK_CONTAINS(err.msg, "build/missing.wav");
    FILE *f = fopen(path, "r+b");
    fseek(f, 22, SEEK_SET);
    fputc(0, f); /* zero channels */
    fputc(0, f);
    fclose(f);
    CHECK_EQ_INT(e->ops->encode(e, path, v1, &err), PR_E_FORMAT);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, "zero channels");
    unlink(path);
    free(x); free(v1); free(v2);
    pr_buf_free(&b);
    e->ops->free(e);
    e2->ops->free(e2);
}

typedef struct mt_job {
    const pr_encoder *e;
    const char *path;
    float *X;
    int dim;
} mt_job;

static void mt_rows(void *ctx, int ith, int nth) {
    mt_job *J = ctx;
    pr_error err;
    for (int rep = 0; rep < 4; rep++) J->e->ops->encode(J->e, J->path, J->X + (size_t)(ith * 4 + rep) * J->dim, &err);
    (void)nth;
}

TEST(test_thread_safe_and_speed) {
    pr_encoder *e = make_enc("");
    pr_error err;
    int64_t n;
    float *x = chirp(16000, 1.0, 100, 6000, &n);
    const char *path = "build/test_audio_mt.wav";
    CHECK_EQ_INT(pr_wav_write(path, x, n, 1, 16000, PR_WAV_PCM16, &err), 0);
    mt_job J = {e, path, NULL, e->ops->dim(e)};
    J.X = calloc((size_t)16 * J.dim, sizeof *J.X);
    pr_pool *pool = pr_pool_new(4);
    pr_pool_run(pool, mt_rows, &J);
    pr_pool_free(pool);
    int same = 1;
    for (int r = 1; r < 16; r++) same &= memcmp(J.X, J.X + (size_t)r * J.dim, (size_t)J.dim * sizeof *J.X) == 0;
    CHECK(same);
    /* speed: 1 s clips at 16 kHz, decode + features, one thread */
    int reps = t_sanitized() ? 5 : 200;
    double t0 = pr_now();
    clock_t c0 = clock();
    for (int r = 0; r < reps; r++) CHECK_EQ_INT(e->ops->encode(e, path, J.X, &err), 0);
    fprintf(stderr, "  %.0f clips/s (1 s at 16 kHz, one thread; %.2f ms CPU per clip)\n",
            reps / (pr_now() - t0), 1e3 * (double)(clock() - c0) / CLOCKS_PER_SEC / reps);
    unlink(path);
    free(J.X);
    free(x);
    e->ops->free(e);
}

int main(void) {
    RUN(test_fft_matches_naive_dft);
    RUN(test_tone_power_peak_and_mel_band);
    RUN(test_mfcc_against_numpy_reference);
    RUN(test_wav_round_trips);
    RUN(test_wav_encodings_by_hand);
    RUN(test_corrupt_wav_corpus);
    RUN(test_sounds_near_and_far);
    RUN(test_args_save_load_files);
    RUN(test_thread_safe_and_speed);
    return t_done();
}
