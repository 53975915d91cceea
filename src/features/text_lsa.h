/* features/text_lsa.h: the "text-lsa" encoder: TF-IDF or BM25 weighted bag of
 * words, reduced by latent semantic analysis (Deerwester et al. 1990).
 *
 * Fit (on the catalogue's texts; NULL texts are skipped):
 *   1. tokenize (features/tokenize.h), count document frequencies df(t);
 *   2. vocabulary: terms with min_df <= df <= max_df, then the max_features
 *      most frequent (ties by term), columns in byte order of the terms;
 *   3. weights of a document d, term t with count tf:
 *        tfidf: w = (sublinear ? 1 + ln tf : tf) * idf,
 *               idf = ln((1 + N) / (1 + df)) + 1          (smooth idf)
 *        bm25:  w = idf * tf (k1 + 1) / (tf + k1 (1 - b + b |d| / avgdl)),
 *               idf = ln(1 + (N - df + 0.5) / (df + 0.5)), k1 1.2, b 0.75,
 *               |d| = the document's in-vocabulary tokens
 *      then the row is L2-normalised;
 *   4. randomized truncated SVD (features/svd.h) of the sparse (N, V)
 *      document-term matrix to k = min(dim, N, V): only sparse products, the
 *      matrix is never densified. The basis V_k (V, k) is kept.
 * Encode (the same path for catalogue items and new items): weights x of the
 * text with the stored vocabulary, idf and avgdl, then y = x V_k (the
 * "x V" fold-in, i.e. U S for a training document, not x V S^-1: dimensions
 * keep their singular-value scale, which is what cosine similarity wants),
 * L2-normalised. A text with no vocabulary term encodes to the zero vector.
 *
 * Args: dim=128, weight=tfidf|bm25, sublinear=1, min_df=1, max_df=1.0
 * (an integer is a count, a number with '.' a fraction of documents),
 * max_features=0 (no limit), power=3 (power iterations), oversample=10,
 * seed=1, k1=1.2, b=0.75, and the tokenizer's stop=1, stem=1 (plurals),
 * hyphen=both ("t-shirt" -> t, shirt, tshirt), bigrams=0,
 * num=keep|token|drop, min_len=1.
 *
 * Costs: fit is one tokenizing pass (threaded), a serial vocabulary pass,
 * and (2 + 2 power) sparse products with k + oversample columns plus as many
 * tall QRs; memory O(nnz + (N + V)(k + oversample)). Encode is
 * O(tokens + terms * k) per text. */
#ifndef PR_FEATURES_TEXT_LSA_H
#define PR_FEATURES_TEXT_LSA_H

#include "features/encoder.h"

extern const pr_encoder_ops pr_text_lsa_ops;

/* Inspection, for tests and tools (e must be a fitted text-lsa encoder). */
int pr_text_lsa_vocab_size(const pr_encoder *e);
/* Column of a term, or -1. */
int pr_text_lsa_term_index(const pr_encoder *e, const char *term);
/* x (V) = the L2-normalised weighted term vector of text, dense. */
int pr_text_lsa_weights(const pr_encoder *e, const char *text, float *x, pr_error *err);
/* Singular values (k) of the fitted LSA. */
const float *pr_text_lsa_singular_values(const pr_encoder *e, int *k);

#endif
