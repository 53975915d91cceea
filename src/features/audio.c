/* features/audio.c: WAV decoding, log-mel / MFCC analysis, the "audio-mfcc" encoder.
 *
 * See audio.h for the exact definitions (window, mel scale, DCT, deltas, the
 * vector layout) and the WAV rules. tests/fixtures/audio/make_reference.py
 * recomputes the same pipeline in numpy; tests/features/test_audio.c checks
 * this file against it.
 *
 * Costs: one double-precision FFT of n_fft (512 at 16 kHz) per 10 ms frame,
 * an (n_mels x band-width) filter sum and a (K x M) DCT: ~0.8 ms of CPU per
 * second of 16 kHz audio, decoding included. Memory: the decoded clip plus
 * the log-mel, MFCC and delta matrices of the analysed part, (frames x (M + 2K))
 * floats with frames <= 100 max_s. */
#include "audio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"

/* ---------- little-endian readers ---------- */

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---------- WAV decoding ---------- */

typedef struct wav_fmt {
    int tag, channels, bits, block;
    long rate;
} wav_fmt;

enum { TAG_PCM = 1, TAG_FLOAT = 3, TAG_EXTENSIBLE = 0xfffe };

static int parse_fmt(const uint8_t *p, uint32_t size, const char *name, wav_fmt *f, pr_error *err) {
    if (size < 16) return pr_err(err, PR_E_FORMAT, "%s: 'fmt ' chunk of %u bytes (need 16)", name, size);
    f->tag = le16(p);
    f->channels = le16(p + 2);
    f->rate = (long)le32(p + 4);
    f->block = le16(p + 12);
    f->bits = le16(p + 14);
    if (f->tag == TAG_EXTENSIBLE) {
        if (size < 40)
            return pr_err(err, PR_E_FORMAT, "%s: extensible 'fmt ' chunk of %u bytes (need 40)", name, size);
        f->tag = le16(p + 24); /* first two bytes of the sub-format GUID */
    }
    if (f->channels == 0) return pr_err(err, PR_E_FORMAT, "%s: zero channels", name);
    if (f->channels > PR_WAV_MAX_CHANNELS)
        return pr_err(err, PR_E_RANGE, "%s: %d channels (at most %d)", name, f->channels, PR_WAV_MAX_CHANNELS);
    if (f->rate < PR_WAV_MIN_RATE || f->rate > PR_WAV_MAX_RATE)
        return pr_err(err, PR_E_RANGE, "%s: sample rate %ld Hz outside %d..%d", name, f->rate,
                      PR_WAV_MIN_RATE, PR_WAV_MAX_RATE);
    int ok = (f->tag == TAG_PCM && (f->bits == 8 || f->bits == 16 || f->bits == 24 || f->bits == 32)) ||
             (f->tag == TAG_FLOAT && (f->bits == 32 || f->bits == 64));
    if (!ok)
        return pr_err(err, PR_E_FORMAT, "%s: unsupported encoding (format tag %d, %d bits)", name, f->tag, f->bits);
    if (f->block != f->channels * (f->bits / 8))
        return pr_err(err, PR_E_FORMAT, "%s: block_align %d but %d channels x %d bits", name, f->block,
                      f->channels, f->bits);
    return 0;
}

/* One sample at p in the file's encoding, as full scale +-1. */
static double sample_at(const uint8_t *p, const wav_fmt *f) {
    if (f->tag == TAG_FLOAT) {
        if (f->bits == 32) { float v; memcpy(&v, p, 4); return v; }
        double v; memcpy(&v, p, 8); return v;
    }
    switch (f->bits) {
    case 8: return ((int)p[0] - 128) / 128.0;
    case 16: return (int16_t)le16(p) / 32768.0;
    case 24: { int32_t v = (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24);
               return (v >> 8) / 8388608.0; }
    default: return (int32_t)le32(p) / 2147483648.0;
    }
}

int pr_wav_decode(const uint8_t *data, size_t n, const char *name, pr_audio *out, pr_error *err) {
    memset(out, 0, sizeof *out);
    if (!name) name = "(wav)";
    if (n < 12) return pr_err(err, PR_E_FORMAT, "%s: %zu bytes: too short for a RIFF header", name, n);
    if (memcmp(data, "RIFF", 4) != 0 || memcmp(data + 8, "WAVE", 4) != 0)
        return pr_err(err, PR_E_FORMAT, "%s: not a RIFF/WAVE file", name);
    uint32_t riff = le32(data + 4);
    uint64_t end = riff == 0 || riff == 0xffffffffu ? n : (uint64_t)riff + 8; /* 0, ~0: streamed */
    if (end > n)
        return pr_err(err, PR_E_FORMAT, "%s: RIFF size %llu past the end of the file (%zu bytes)", name,
                      (unsigned long long)end - 8, n);
    wav_fmt f = {0, 0, 0, 0, 0};
    int have_fmt = 0, rc;
    const uint8_t *pcm = NULL;
    uint32_t pcm_size = 0;
    uint64_t pos = 12;
    while (pos + 8 <= end) { /* walk the chunks */
        const uint8_t *h = data + pos;
        uint32_t size = le32(h + 4);
        uint64_t body = pos + 8;
        if (size == 0xffffffffu && memcmp(h, "data", 4) == 0) /* streamed: data runs to the end */
            size = (uint32_t)PR_MIN(end - body, (uint64_t)0xfffffffeu);
        if (size > end - body)
            return pr_err(err, PR_E_FORMAT, "%s: chunk '%.4s' at offset %llu: size %u past the end of the file "
                          "(%llu bytes left)", name, (const char *)h, (unsigned long long)pos, size,
                          (unsigned long long)(end - body));
        if (memcmp(h, "fmt ", 4) == 0) {
            if (have_fmt++) return pr_err(err, PR_E_FORMAT, "%s: two 'fmt ' chunks", name);
            if ((rc = parse_fmt(data + body, size, name, &f, err)) < 0) return rc;
        } else if (memcmp(h, "data", 4) == 0) {
            if (pcm) return pr_err(err, PR_E_FORMAT, "%s: two 'data' chunks", name);
            pcm = data + body;
            pcm_size = size;
        }
        pos = body + size + (size & 1u); /* chunks are padded to even sizes */
    }
    if (!have_fmt) return pr_err(err, PR_E_FORMAT, "%s: no 'fmt ' chunk", name);
    if (!pcm) return pr_err(err, PR_E_FORMAT, "%s: no 'data' chunk", name);
    int64_t frames = pcm_size / (uint32_t)f.block; /* a trailing partial frame is ignored */
    if (frames == 0) return pr_err(err, PR_E_FORMAT, "%s: no samples", name);
    float *x = pr_malloc((size_t)frames, sizeof(float));
    if (!x) return pr_err(err, PR_E_NOMEM, "%s: %lld samples", name, (long long)frames);
    int bytes = f.bits / 8;
    for (int64_t t = 0; t < frames; t++) {
        const uint8_t *p = pcm + t * f.block;
        double s = 0;
        for (int c = 0; c < f.channels; c++) s += sample_at(p + c * bytes, &f);
        s /= f.channels;
        if (!isfinite(s) || fabs(s) > 1e6) {
            free(x);
            return pr_err(err, PR_E_NUMERIC, "%s: sample %lld is not a finite value in range", name, (long long)t);
        }
        x[t] = (float)s;
    }
    out->rate = (int)f.rate;
    out->channels = f.channels;
    out->n = frames;
    out->x = x;
    return 0;
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
        rc = pr_err(err, PR_E_RANGE, "%s: %lld bytes exceeds the %zu-byte limit", path, (long long)st.st_size, cap);
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

int pr_wav_read(const char *path, pr_audio *out, pr_error *err) {
    memset(out, 0, sizeof *out);
    uint8_t *data = NULL;
    size_t n = 0;
    int rc = read_capped(path, PR_WAV_MAX_FILE, &data, &n, err);
    if (rc == 0) rc = pr_wav_decode(data, n, path, out, err);
    free(data);
    return rc;
}

void pr_audio_free(pr_audio *a) {
    if (!a) return;
    free(a->x);
    memset(a, 0, sizeof *a);
}

/* ---------- WAV encoding ---------- */

static void put16(pr_buf *b, unsigned v) {
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    pr_buf_put(b, p, 2);
}

int pr_wav_encode(pr_buf *b, const float *x, int64_t frames, int channels, int rate, int format,
                  pr_error *err) {
    if (format != PR_WAV_PCM16 && format != PR_WAV_FLOAT32)
        return pr_err(err, PR_E_ARG, "wav: unknown format %d", format);
    if (channels < 1 || channels > PR_WAV_MAX_CHANNELS || rate < PR_WAV_MIN_RATE || rate > PR_WAV_MAX_RATE)
        return pr_err(err, PR_E_ARG, "wav: %d channels at %d Hz", channels, rate);
    int bytes = format == PR_WAV_PCM16 ? 2 : 4, fmt_size = format == PR_WAV_PCM16 ? 16 : 18;
    uint64_t data_size = (uint64_t)frames * (uint64_t)channels * (uint64_t)bytes;
    uint64_t riff = 4 + (8 + fmt_size) + (format == PR_WAV_FLOAT32 ? 12 : 0) + 8 + data_size + (data_size & 1);
    if (frames < 0 || riff > 0xffffffffu) return pr_err(err, PR_E_RANGE, "wav: %lld frames do not fit", (long long)frames);
    pr_buf_put(b, "RIFF", 4);
    pr_buf_put_u32(b, (uint32_t)riff);
    pr_buf_put(b, "WAVEfmt ", 8);
    pr_buf_put_u32(b, (uint32_t)fmt_size);
    put16(b, (unsigned)format);
    put16(b, (unsigned)channels);
    pr_buf_put_u32(b, (uint32_t)rate);
    pr_buf_put_u32(b, (uint32_t)(rate * channels * bytes));
    put16(b, (unsigned)(channels * bytes));
    put16(b, (unsigned)(bytes * 8));
    if (format == PR_WAV_FLOAT32) {
        put16(b, 0); /* cbSize */
        pr_buf_put(b, "fact", 4);
        pr_buf_put_u32(b, 4);
        pr_buf_put_u32(b, (uint32_t)frames);
    }
    pr_buf_put(b, "data", 4);
    pr_buf_put_u32(b, (uint32_t)data_size);
    for (int64_t i = 0; i < frames * channels; i++) {
        if (format == PR_WAV_FLOAT32) {
            pr_buf_put(b, &x[i], 4);
        } else {
            double v = floor((double)x[i] * 32768.0 + 0.5);
            v = v < -32768 ? -32768 : v > 32767 ? 32767 : v;
            put16(b, (unsigned)(uint16_t)(int16_t)v);
        }
    }
    if (data_size & 1) pr_buf_put(b, "", 1);
    return b->oom ? pr_err(err, PR_E_NOMEM, "wav: %llu bytes", (unsigned long long)riff) : 0;
}

int pr_wav_write(const char *path, const float *x, int64_t frames, int channels, int rate, int format,
                 pr_error *err) {
    pr_buf b;
    pr_buf_init(&b);
    int rc = pr_wav_encode(&b, x, frames, channels, rate, format, err);
    if (rc == 0) {
        pr_atomic a;
        if ((rc = pr_atomic_open(&a, path, err)) == 0) {
            if (fwrite(b.data, 1, b.len, a.f) != b.len) {
                rc = pr_err(err, PR_E_IO, "%s: write failed", path);
                pr_atomic_abort(&a);
            } else {
                rc = pr_atomic_commit(&a, err);
            }
        }
    }
    pr_buf_free(&b);
    return rc;
}

/* ---------- log-mel ---------- */

static double hz_to_mel(double f) { return 2595.0 * log10(1.0 + f / 700.0); }
static double mel_to_hz(double m) { return 700.0 * (pow(10.0, m / 2595.0) - 1.0); }

int pr_melspec_init(pr_melspec *m, int rate, int n_mels, float fmin, float fmax, pr_error *err) {
    memset(m, 0, sizeof *m);
    if (rate < PR_WAV_MIN_RATE || rate > PR_WAV_MAX_RATE || n_mels < 1 || n_mels > 512)
        return pr_err(err, PR_E_ARG, "melspec: rate %d, %d mel bands", rate, n_mels);
    if (fmax > 0.5f * (float)rate) fmax = 0.5f * (float)rate;
    if (!(fmin >= 0 && fmin < fmax))
        return pr_err(err, PR_E_ARG, "melspec: fmin %g Hz must be below fmax %g Hz (Nyquist of %d Hz is %g)",
                      (double)fmin, (double)fmax, rate, 0.5 * rate);
    m->rate = rate;
    m->n_mels = n_mels;
    m->fmin = fmin;
    m->fmax = fmax;
    m->win = (int)(((int64_t)rate * 25 + 500) / 1000); /* 25 ms, half up, in exact integers */
    m->hop = (int)(((int64_t)rate * 10 + 500) / 1000); /* 10 ms */
    m->n_fft = pr_fft_size_for(m->win);
    m->n_bins = m->n_fft / 2 + 1;
    int rc = pr_fft_init(&m->fft, m->n_fft, err);
    if (rc < 0) return rc;
    m->window = pr_malloc((size_t)m->win, sizeof(double));
    m->fb = pr_calloc((size_t)n_mels * m->n_bins, sizeof(float));
    m->lo = pr_malloc((size_t)n_mels, sizeof(int));
    m->hi = pr_malloc((size_t)n_mels, sizeof(int));
    if (!m->window || !m->fb || !m->lo || !m->hi) {
        pr_melspec_deinit(m);
        return pr_err(err, PR_E_NOMEM, "melspec");
    }
    for (int i = 0; i < m->win; i++) m->window[i] = 0.5 - 0.5 * cos(2.0 * M_PI * i / m->win);
    /* filter j rises from edge j to its centre j+1 and falls to edge j+2 (Hz) */
    double mlo = hz_to_mel(fmin), mhi = hz_to_mel(fmax);
    for (int j = 0; j < n_mels; j++) {
        double f0 = mel_to_hz(mlo + (mhi - mlo) * j / (n_mels + 1));
        double f1 = mel_to_hz(mlo + (mhi - mlo) * (j + 1) / (n_mels + 1));
        double f2 = mel_to_hz(mlo + (mhi - mlo) * (j + 2) / (n_mels + 1));
        m->lo[j] = m->n_bins;
        m->hi[j] = 0;
        for (int k = 0; k < m->n_bins; k++) {
            double f = (double)k * rate / m->n_fft, w = 0;
            if (f > f0 && f <= f1) w = (f - f0) / (f1 - f0);
            else if (f > f1 && f < f2) w = (f2 - f) / (f2 - f1);
            if (w <= 0) continue;
            m->fb[(size_t)j * m->n_bins + k] = (float)w;
            if (k < m->lo[j]) m->lo[j] = k;
            m->hi[j] = k + 1;
        }
        if (m->hi[j] == 0) m->lo[j] = 0; /* a filter narrower than a bin: always empty */
    }
    return 0;
}

void pr_melspec_deinit(pr_melspec *m) {
    pr_fft_deinit(&m->fft);
    free(m->window);
    free(m->fb);
    free(m->lo);
    free(m->hi);
    memset(m, 0, sizeof *m);
}

int64_t pr_melspec_frames(const pr_melspec *m, int64_t n) {
    return n < m->win ? 1 : 1 + (n - m->win) / m->hop;
}

void pr_melspec_power(const pr_melspec *m, const float *x, int64_t n, int64_t t, double *scratch,
                      double *pow) {
    double *re = scratch, *im = scratch + m->n_fft;
    int64_t s0 = t * m->hop;
    for (int i = 0; i < m->n_fft; i++) {
        re[i] = i < m->win && s0 + i < n ? m->window[i] * x[s0 + i] : 0.0;
        im[i] = 0.0;
    }
    pr_fft_forward(&m->fft, re, im);
    for (int k = 0; k < m->n_bins; k++) pow[k] = re[k] * re[k] + im[k] * im[k];
}

void pr_melspec_logmel(const pr_melspec *m, const float *x, int64_t n, double *scratch, float *logmel) {
    int64_t frames = pr_melspec_frames(m, n);
    double *pow = scratch + 2 * m->n_fft;
    for (int64_t t = 0; t < frames; t++) {
        pr_melspec_power(m, x, n, t, scratch, pow);
        for (int j = 0; j < m->n_mels; j++) {
            const float *w = m->fb + (size_t)j * m->n_bins;
            double e = 0;
            for (int k = m->lo[j]; k < m->hi[j]; k++) e += w[k] * pow[k];
            logmel[t * m->n_mels + j] = (float)log(e > 1e-10 ? e : 1e-10);
        }
    }
}

void pr_dct_basis(int n_out, int n_in, float *D) {
    for (int k = 0; k < n_out; k++) {
        double s = k == 0 ? sqrt(1.0 / n_in) : sqrt(2.0 / n_in);
        for (int m = 0; m < n_in; m++) D[k * n_in + m] = (float)(s * cos(M_PI * k * (m + 0.5) / n_in));
    }
}

void pr_mfcc(const float *logmel, int64_t frames, int n_mels, const float *D, int n_mfcc, float *mfcc) {
    for (int64_t t = 0; t < frames; t++)
        for (int k = 0; k < n_mfcc; k++) {
            double s = 0;
            for (int m = 0; m < n_mels; m++) s += (double)D[k * n_mels + m] * logmel[t * n_mels + m];
            mfcc[t * n_mfcc + k] = (float)s;
        }
}

void pr_deltas(const float *c, int64_t frames, int k, float *d) {
    /* d_t = sum_{j=1,2} j (c_{t+j} - c_{t-j}) / (2 (1 + 4)), indices clamped */
    for (int64_t t = 0; t < frames; t++)
        for (int i = 0; i < k; i++) {
            double s = 0;
            for (int j = 1; j <= 2; j++) {
                int64_t a = t + j < frames ? t + j : frames - 1, b = t - j >= 0 ? t - j : 0;
                s += j * ((double)c[a * k + i] - c[b * k + i]);
            }
            d[t * k + i] = (float)(s / 10.0);
        }
}

/* ---------- the encoder ---------- */

typedef struct audio_enc {
    pr_encoder base;
    int n_mels, n_mfcc, var, bands;
    float fmin, fmax, max_s;
    int dim;
    float *D; /* (n_mfcc, n_mels) DCT basis */
    char args[256];
} audio_enc;

/* column mean and spread (std or variance) of X (frames, k), columns from c0 */
static void col_stats(const float *X, int64_t frames, int k, int var, double *mean, double *spread) {
    for (int i = 0; i < k; i++) {
        double s = 0, s2 = 0;
        for (int64_t t = 0; t < frames; t++) s += X[t * k + i];
        double mu = s / (double)frames;
        for (int64_t t = 0; t < frames; t++) {
            double d = X[t * k + i] - mu;
            s2 += d * d;
        }
        mean[i] = mu;
        spread[i] = var ? s2 / (double)frames : sqrt(s2 / (double)frames);
    }
}

int pr_audio_describe(const pr_encoder *enc, const pr_audio *a, float *out, pr_error *err) {
    const audio_enc *e = (const audio_enc *)enc;
    if (!a->x || a->n <= 0) return pr_err(err, PR_E_ARG, "audio-mfcc: no samples");
    pr_melspec m;
    int rc = pr_melspec_init(&m, a->rate, e->n_mels, e->fmin, e->fmax, err);
    if (rc < 0) return rc;
    int64_t n = a->n, cap = (int64_t)((double)e->max_s * a->rate);
    if (n > cap) n = cap > 0 ? cap : 1;
    int64_t frames = pr_melspec_frames(&m, n);
    int M = e->n_mels, K = e->n_mfcc;
    float *logmel = pr_malloc((size_t)frames, (size_t)(M + 2 * K) * sizeof(float));
    double *scratch = pr_malloc((size_t)(2 * m.n_fft + m.n_bins), sizeof(double));
    double *st = pr_malloc((size_t)(4 * K + 2 * M), sizeof(double));
    if (!logmel || !scratch || !st) { rc = pr_err(err, PR_E_NOMEM, "audio-mfcc: %lld frames", (long long)frames); goto done; }
    float *mfcc = logmel + (size_t)frames * M, *delta = mfcc + (size_t)frames * K;
    pr_melspec_logmel(&m, a->x, n, scratch, logmel);  /* (frames, M) */
    pr_mfcc(logmel, frames, M, e->D, K, mfcc);         /* (frames, K) */
    pr_deltas(mfcc, frames, K, delta);                 /* (frames, K) */
    double *cm = st, *cs = cm + K, *dm = cs + K, *ds = dm + K, *bm = ds + K, *bs = bm + M;
    col_stats(mfcc, frames, K, e->var, cm, cs);
    col_stats(delta, frames, K, e->var, dm, ds);
    int o = 0;
    for (int k = 1; k < K; k++) out[o++] = (float)cm[k]; /* c0's mean is the gain */
    for (int k = 0; k < K; k++) out[o++] = (float)cs[k];
    for (int k = 0; k < K; k++) out[o++] = (float)dm[k];
    for (int k = 0; k < K; k++) out[o++] = (float)ds[k];
    if (e->bands) {
        col_stats(logmel, frames, M, 0, bm, bs);
        double mu = 0;
        for (int j = 0; j < M; j++) mu += bm[j];
        mu /= M;
        for (int j = 0; j < M; j++) out[o++] = (float)(bm[j] - mu);
    }
    for (int k = 0; k < o; k++)
        if (!isfinite(out[k])) { rc = pr_err(err, PR_E_NUMERIC, "audio-mfcc: non-finite feature"); goto done; }
done:
    free(logmel);
    free(scratch);
    free(st);
    pr_melspec_deinit(&m);
    return rc;
}

static int parse_num(const char *v, double lo, double hi, double *out) {
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= lo && d <= hi)) return -1;
    *out = d;
    return 0;
}

static int parse_args(audio_enc *e, const char *args, pr_error *err) {
    char buf[256], *save = NULL;
    if (!args) args = "";
    if (strlen(args) >= sizeof buf) return pr_err(err, PR_E_ARG, "audio-mfcc: args too long");
    strcpy(buf, args);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        for (size_t k = strlen(tok); k > 0 && tok[k - 1] == ' '; k--) tok[k - 1] = '\0';
        if (!*tok) continue;
        char *eq = strchr(tok, '=');
        if (!eq) return pr_err(err, PR_E_ARG, "audio-mfcc: '%s' is not key=value", tok);
        *eq = '\0';
        const char *k = tok, *v = eq + 1;
        double d;
        if (strcmp(k, "mels") == 0) {
            if (parse_num(v, 8, 128, &d) < 0 || d != floor(d))
                return pr_err(err, PR_E_ARG, "audio-mfcc: mels '%s' must be an integer in 8..128", v);
            e->n_mels = (int)d;
        } else if (strcmp(k, "mfcc") == 0) {
            if (parse_num(v, 2, 128, &d) < 0 || d != floor(d))
                return pr_err(err, PR_E_ARG, "audio-mfcc: mfcc '%s' must be an integer in 2..128", v);
            e->n_mfcc = (int)d;
        } else if (strcmp(k, "fmin") == 0) {
            if (parse_num(v, 0, 192000, &d) < 0)
                return pr_err(err, PR_E_ARG, "audio-mfcc: fmin '%s' must be a frequency in 0..192000 Hz", v);
            e->fmin = (float)d;
        } else if (strcmp(k, "fmax") == 0) {
            if (parse_num(v, 1, 192000, &d) < 0)
                return pr_err(err, PR_E_ARG, "audio-mfcc: fmax '%s' must be a frequency in 1..192000 Hz", v);
            e->fmax = (float)d;
        } else if (strcmp(k, "spread") == 0) {
            if (strcmp(v, "std") == 0) e->var = 0;
            else if (strcmp(v, "var") == 0) e->var = 1;
            else return pr_err(err, PR_E_ARG, "audio-mfcc: spread '%s' must be std or var", v);
        } else if (strcmp(k, "bands") == 0) {
            if (strcmp(v, "0") && strcmp(v, "1")) return pr_err(err, PR_E_ARG, "audio-mfcc: bands '%s' must be 0 or 1", v);
            e->bands = v[0] == '1';
        } else if (strcmp(k, "max_s") == 0) {
            if (parse_num(v, 0.01, 86400, &d) < 0)
                return pr_err(err, PR_E_ARG, "audio-mfcc: max_s '%s' must be seconds in 0.01..86400", v);
            e->max_s = (float)d;
        } else {
            return pr_err(err, PR_E_ARG, "audio-mfcc: unknown key '%s' (keys: mels mfcc fmin fmax spread bands max_s)", k);
        }
    }
    if (e->n_mfcc > e->n_mels)
        return pr_err(err, PR_E_ARG, "audio-mfcc: mfcc %d exceeds mels %d", e->n_mfcc, e->n_mels);
    if (e->fmin >= e->fmax)
        return pr_err(err, PR_E_ARG, "audio-mfcc: fmin %g must be below fmax %g", (double)e->fmin, (double)e->fmax);
    return 0;
}

static int audio_create(pr_encoder **out, const char *args, pr_error *err) {
    *out = NULL;
    audio_enc *e = calloc(1, sizeof *e);
    if (!e) return pr_err(err, PR_E_NOMEM, "audio-mfcc encoder");
    e->base.ops = &pr_audio_encoder_ops;
    e->n_mels = 40;
    e->n_mfcc = 13;
    e->fmin = 0;
    e->fmax = 8000;
    e->bands = 1;
    e->max_s = 600;
    int rc = parse_args(e, args, err);
    if (rc < 0) { free(e); return rc; }
    e->dim = 4 * e->n_mfcc - 1 + (e->bands ? e->n_mels : 0);
    e->D = pr_malloc((size_t)e->n_mfcc * e->n_mels, sizeof(float));
    if (!e->D) { free(e); return pr_err(err, PR_E_NOMEM, "audio-mfcc encoder"); }
    pr_dct_basis(e->n_mfcc, e->n_mels, e->D);
    snprintf(e->args, sizeof e->args, "mels=%d,mfcc=%d,fmin=%.9g,fmax=%.9g,spread=%s,bands=%d,max_s=%.9g",
             e->n_mels, e->n_mfcc, (double)e->fmin, (double)e->fmax, e->var ? "var" : "std", e->bands,
             (double)e->max_s);
    *out = &e->base;
    return 0;
}

static int audio_dim(const pr_encoder *e) { return ((const audio_enc *)e)->dim; }

static int audio_encode(const pr_encoder *e, const char *input, float *out, pr_error *err) {
    if (!input) return pr_err(err, PR_E_ARG, "audio-mfcc: no input path");
    pr_audio a;
    int rc = pr_wav_read(input, &a, err);
    if (rc == 0 && (rc = pr_audio_describe(e, &a, out, err)) < 0) pr_err_wrap(err, "%s: ", input);
    pr_audio_free(&a);
    return rc;
}

#define AUDIO_STATE_VERSION 1u

static int audio_save(const pr_encoder *enc, pr_buf *b) {
    const audio_enc *e = (const audio_enc *)enc;
    pr_buf_put_u32(b, AUDIO_STATE_VERSION);
    pr_buf_put_str(b, e->args);
    return b->oom ? PR_E_NOMEM : 0;
}

static int audio_load(pr_encoder **out, pr_cur *c, pr_error *err) {
    uint32_t ver;
    char *args = NULL;
    *out = NULL;
    int rc = pr_cur_get_u32(c, &ver, err);
    if (rc < 0) return rc;
    if (ver != AUDIO_STATE_VERSION)
        return pr_err(err, PR_E_FORMAT, "audio-mfcc state: version %u, expected %u", ver, AUDIO_STATE_VERSION);
    if ((rc = pr_cur_get_str(c, &args, 250, err)) < 0) return rc;
    rc = audio_create(out, args, err);
    free(args);
    return rc;
}

static void audio_free(pr_encoder *enc) {
    audio_enc *e = (audio_enc *)enc;
    if (!e) return;
    free(e->D);
    free(e);
}

const pr_encoder_ops pr_audio_encoder_ops = {
    .name = "audio-mfcc",
    .modality = PR_MOD_AUDIO,
    .help = "WAV -> log-mel (HTK mel, 25/10 ms) -> MFCC: mean, spread of MFCCs and deltas, band means; "
            "args mels=40,mfcc=13,fmin=0,fmax=8000,spread=std|var,bands=1,max_s=600",
    .create = audio_create,
    .fit = NULL,
    .dim = audio_dim,
    .encode = audio_encode,
    .save = audio_save,
    .load = audio_load,
    .free = audio_free,
};
