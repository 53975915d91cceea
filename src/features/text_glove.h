/* features/text_glove.h: the "text-glove" encoder: weighted pooling of
 * pretrained word vectors (GloVe text format: `word v1 ... vN` per line).
 *
 * Fit (on the catalogue's texts; NULL texts skipped):
 *   1. tokenize (features/tokenize.h; stop words kept by default), count
 *      per token its collection frequency cf and document frequency df;
 *   2. read the vectors file once, keeping only the vectors of catalogue
 *      tokens; each file word is passed through the same tokenizer (with
 *      hyphens joined), so "Café" in the file serves the token "cafe" (the first line wins when
 *      two words fold together);
 *   3. a weight per kept word:
 *        sif:   a / (a + p(w)), p(w) = cf(w) / tokens in the catalogue
 *               (Arora, Liang, Ma, "A simple but tough-to-beat baseline for
 *               sentence embeddings", ICLR 2017), a = 1e-3;
 *        tfidf: idf(w) = ln((1 + N) / (1 + df)) + 1 (a token occurring tf
 *               times in a text counts tf times);
 *   4. sif (or pc=1): the first principal component u of the catalogue's
 *      pooled vectors (uncentred, as in the paper; LAPACKE ssyevd of the
 *      d x d Gram matrix).
 * Encode: v = mean over the text's tokens that have a saved vector of
 * weight(w) vec(w); with pc, v -= (u . v) u; then L2-normalised. A text with
 * no such token encodes to zeros.
 *
 * Only the vectors of the fitted vocabulary (catalogue tokens found in the
 * file) are saved with the encoder, so encoding later needs no external
 * file; a word of a new item outside that subset counts as unknown (it is
 * skipped), even if the original vectors file has it.
 *
 * Args: vectors=PATH (required to fit), weight=sif|tfidf, a=0.001,
 * pc=0|1 (default 1 with sif, 0 with tfidf), and the tokenizer's stop=0,
 * bigrams=0, num=keep|token|drop, min_len=1. */
#ifndef PR_FEATURES_TEXT_GLOVE_H
#define PR_FEATURES_TEXT_GLOVE_H

#include "features/encoder.h"

extern const pr_encoder_ops pr_text_glove_ops;

/* Inspection (fitted encoder): saved words, and a word's weight (or NAN). */
int pr_text_glove_vocab_size(const pr_encoder *e);
float pr_text_glove_weight(const pr_encoder *e, const char *word);

#endif
