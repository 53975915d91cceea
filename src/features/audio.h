/* features/audio.h: WAV decoding, log-mel spectrograms, MFCCs, and the "audio-mfcc" encoder.
 *
 * WAV (RIFF/WAVE): PCM 8/16/24/32-bit and IEEE float 32/64-bit, also inside
 * WAVE_FORMAT_EXTENSIBLE; any channel count 1..64 (averaged to mono); any
 * rate 1000..384000 Hz (the mel filters are built for the file's own rate, no
 * resampling). Chunks are walked by their sizes: unknown chunks are skipped,
 * odd sizes take their pad byte; the "unknown length" markers of streamed
 * files (RIFF size 0 or 0xFFFFFFFF, data size 0xFFFFFFFF) mean "to the end of
 * the file". Any other size running past the end of the file,
 * a missing or malformed 'fmt ', zero channels, an absurd rate, or a
 * block_align that disagrees with the format is an error naming the file,
 * never a crash. Files are read whole, at most PR_WAV_MAX_FILE bytes.
 *
 * Features (per clip):
 *   frames   25 ms periodic-Hann windows every 10 ms: win = (25 rate + 500) div
 *            1000 samples, hop = (10 rate + 500) div 1000 (half rounds up), no centring: frame t covers samples
 *            [t*hop, t*hop + win); a clip shorter than a window is zero-padded
 *            to one frame. No pre-emphasis, no dither.
 *   power    |FFT|^2 with n_fft the next power of two >= win (512 at 16 kHz).
 *   log-mel  n_mels triangular filters, unit peak, equally spaced on the HTK mel
 *            scale mel(f) = 2595 log10(1 + f / 700) between fmin and fmax
 *            (fmax clipped to Nyquist); log-mel = ln(max(energy, 1e-10)).
 *   MFCC     orthonormal DCT-II of each log-mel frame, first n_mfcc coefficients.
 *   deltas   HTK regression over +-2 frames, edge frames repeated.
 *
 * Encoder "audio-mfcc" args: mels=40 (8..128), mfcc=13 (2..mels), fmin=0,
 * fmax=8000, spread=std|var (default std), bands=1|0, max_s=600 (analyse at
 * most the first max_s seconds). Vector, with K = mfcc and M = mels:
 *   [ mean MFCC 1..K-1 | spread MFCC 0..K-1 | mean delta 0..K-1 |
 *     spread delta 0..K-1 | (bands=1) mean log-mel per band minus the mean
 *     over bands ]                                  dim = 4K - 1 (+ M)
 * The mean of c0 is left out and the band means are centred because a gain
 * change g multiplies power by g^2, which adds the constant 2 ln g to every
 * log-mel value: with an orthonormal DCT that moves only c0's mean. So the
 * vector does not depend on playback volume (until clipping or the floor). */
#ifndef PR_FEATURES_AUDIO_H
#define PR_FEATURES_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "features/encoder.h"
#include "features/fft.h"

#define PR_WAV_MAX_FILE (256u << 20)
#define PR_WAV_MAX_CHANNELS 64
#define PR_WAV_MIN_RATE 1000
#define PR_WAV_MAX_RATE 384000

typedef struct pr_audio {
    int rate;      /* samples per second */
    int channels;  /* of the file (the samples are already mono) */
    int64_t n;     /* samples */
    float *x;      /* (n) mono, full scale +-1, owned; free with pr_audio_free */
} pr_audio;

enum { PR_WAV_PCM16 = 1, PR_WAV_FLOAT32 = 3 };

/* Decode an in-memory WAV file; name labels errors. *out is zeroed on error. */
int pr_wav_decode(const uint8_t *data, size_t n, const char *name, pr_audio *out, pr_error *err);
int pr_wav_read(const char *path, pr_audio *out, pr_error *err);
void pr_audio_free(pr_audio *a); /* NULL is a no-op */

/* Append a WAV file to b: x (frames, channels) interleaved, full scale +-1;
 * PCM16 rounds and clips, FLOAT32 writes a fmt of 18 bytes and a 'fact' chunk. */
int pr_wav_encode(pr_buf *b, const float *x, int64_t frames, int channels, int rate, int format,
                  pr_error *err);
/* The same, written atomically to path. */
int pr_wav_write(const char *path, const float *x, int64_t frames, int channels, int rate,
                 int format, pr_error *err);

/* A log-mel analyser for one sample rate; read-only after init (thread-safe). */
typedef struct pr_melspec {
    int rate, win, hop, n_fft, n_bins, n_mels;
    float fmin, fmax;
    pr_fft fft;
    double *window; /* (win) periodic Hann */
    float *fb;     /* (n_mels, n_bins) filter weights */
    int *lo, *hi;  /* (n_mels) first and one-past-last nonzero bin of each filter */
} pr_melspec;

int pr_melspec_init(pr_melspec *m, int rate, int n_mels, float fmin, float fmax, pr_error *err);
void pr_melspec_deinit(pr_melspec *m);
/* Frames for n samples: 1 + (n - win) / hop, or 1 when n < win. */
int64_t pr_melspec_frames(const pr_melspec *m, int64_t n);
/* Power spectrum of one frame of x starting at sample t*hop: pow (n_bins);
 * scratch (2 * n_fft doubles). */
void pr_melspec_power(const pr_melspec *m, const float *x, int64_t n, int64_t t, double *scratch,
                      double *pow);
/* logmel (frames, n_mels) of x (n); scratch (2 * n_fft + n_bins doubles). */
void pr_melspec_logmel(const pr_melspec *m, const float *x, int64_t n, double *scratch, float *logmel);

/* Orthonormal DCT-II basis D (n_out, n_in): D[k][m] = s_k cos(pi k (m + 1/2) / n_in). */
void pr_dct_basis(int n_out, int n_in, float *D);
/* mfcc (frames, n_mfcc) = logmel (frames, n_mels) . D^T */
void pr_mfcc(const float *logmel, int64_t frames, int n_mels, const float *D, int n_mfcc, float *mfcc);
/* HTK deltas over +-2 frames: d (frames, k) from c (frames, k). */
void pr_deltas(const float *c, int64_t frames, int k, float *d);

extern const pr_encoder_ops pr_audio_encoder_ops;

/* Encode already decoded audio into out[dim]. */
int pr_audio_describe(const pr_encoder *e, const pr_audio *a, float *out, pr_error *err);

#endif
